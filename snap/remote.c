#define _GNU_SOURCE	/* memfd_create, O_TMPFILE, pipe2: Linux, not POSIX */
/*
 * snap [user@]host:path REPO: the source is walked by `snap --server` on
 * the host (server.c), reached through ssh (--remote-schema), with the
 * protocol of lib/agent.h.  The entries it streams feed snap's walk
 * (walk_open_feed); a file snap will read is asked for as soon as its
 * entry arrives, as an rsync delta against the mirror's copy when that
 * is worth it, so many are in flight while snap works through the tree.
 * Content lands in unnamed temporary files in the repository and is
 * handed to snap as a descriptor, as a local source file would be.
 *
 * A reader thread takes the server's frames: entries into a queue no
 * longer than the credit given (so the server can always be read), and
 * content into the requests' files.  Everything else runs in snap's
 * thread, which alone writes to the server.
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "bsig.h"
#include "buf.h"
#include "copy.h"
#include "delta.h"
#include "exitcode.h"
#include "gz.h"
#include "io.h"
#include "pathname.h"
#include "sshdest.h"
#include "walk.h"
#include "xalloc.h"

#include "snap.h"
#include "tree.h"

#define CREDIT		4096		/* entries the server may send ahead */
#define INFLIGHT	256		/* content requests at a time */
#define INFLIGHT_BYTES	((uint64_t)64 << 20)
#define DELTA_MIN	1024		/* smaller files come whole */
#define STILL_MIN	((off_t)1 << 20)	/* patched in place from */
#define MEMFILE_MAX	(8 << 20)	/* larger content lands on disk */

extern char **environ;

struct req {
	struct req	*next;
	uint32_t	 id;
	int		 kind;		/* AG_FILE, AG_LINK */
	char		*path;
	int		 fd;		/* what came: content, delta, target */
	int		 delta;
	unsigned char	*sig;		/* the mirror copy's, sent (bsig.h) */
	size_t		 siglen;
	int		 done, err;
	int		 abandoned;	/* snap went past it */
	int		 streaming;	/* a delta patched as it comes */
	uint64_t	 off;		/* ... read that far */
	uint64_t	 size;		/* the entry's, for the bound */
	uint64_t	 got, limit;	/* bytes come, and the most taken */
};

static struct {
	pid_t		 pid;
	int		 to, from;
	pthread_t	 reader;
	int		 reading;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	struct agent_ent q[CREDIT];
	size_t		 qhead, qlen;
	uint64_t	 qseq;		/* sequence number of q[qhead] */
	uint64_t	 scanned;	/* entries looked at for requests */
	int		 ended;		/* END came */
	int		 enderr;
	char		*dead;		/* why the connection is gone */
	int		 fatal;		/* the server refused: permanent */
	uint32_t	 given;		/* credit granted, not yet used up */
	uint32_t	 taken;		/* entries taken since the last MORE */
	struct agent_ent cur;		/* the entry snap holds */
	struct req	*reqs, *last;
	uint32_t	 nextid;
	size_t		 inflight;
	uint64_t	 inbytes;
	struct session	*s;
	char		*spec;		/* host:path, for messages */
	char		*path;		/* the path on the host */
	int		 timeout;	/* seconds of silence allowed */
} ag = { .pid = -1, .to = -1, .from = -1,
	.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

/* Is src [user@]host:path rather than a local path? */
int
remote_spec(const char *src)
{
	const char *colon = strchr(src, ':'), *slash = strchr(src, '/');

	return colon != NULL && colon != src && src[0] != '.' &&
	    (slash == NULL || colon < slash) && colon[1] != '\0';
}

/* The connection is gone (mu held): say why once, wake everyone. */
static void
die_locked(const char *why)
{
	if (ag.dead == NULL)
		ag.dead = xstrdup(why);
	pthread_cond_broadcast(&ag.cv);
}

static struct req *
find_req(uint32_t id)
{
	struct req *r;

	for (r = ag.reqs; r != NULL; r = r->next)
		if (r->id == id)
			return r;
	return NULL;
}

static void
req_free(struct req *r)
{
	if (r->fd != -1)
		close(r->fd);
	free(r->sig);
	free(r->path);
	free(r);
}

/* Unlink r from the list (mu held). */
static void
req_unlink(struct req *r)
{
	struct req **pp, *prev = NULL;

	for (pp = &ag.reqs; *pp != NULL; prev = *pp, pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			if (ag.last == r)
				ag.last = prev;
			return;
		}
}

/*
 * The directories open in the server's walk (the last one entered on
 * top), each with the last name seen in it: what the next entry may be.
 */
static struct {
	struct vdir {
		char	*path;
		char	*last;		/* the last child's name, "" none yet */
	} *v;
	size_t	 n, cap;
	int	 started;
} vs;

static void
vs_push(const char *path)
{
	if (vs.n == vs.cap) {
		vs.cap = vs.cap ? vs.cap * 2 : 16;
		vs.v = xreallocarray(vs.v, vs.cap, sizeof *vs.v);
	}
	vs.v[vs.n].path = xstrdup(path);
	vs.v[vs.n].last = xstrdup("");
	vs.n++;
}

static void
vs_pop(void)
{
	vs.n--;
	free(vs.v[vs.n].path);
	free(vs.v[vs.n].last);
}

/*
 * Is e where the walk can be next?  The root first; then a name (no
 * slash, not "." or "..") in a directory the walk is in, after its
 * siblings so far (bytewise), or a directory again with the error of
 * listing it.  A server that says otherwise could make snap write
 * outside the mirror, or read outside it for a signature: it is not
 * believed.
 */
static int
ent_ok(const struct agent_ent *e)
{
	const char *name, *slash = strrchr(e->path, '/');
	size_t dlen;

	if (!vs.started) {
		if (e->path[0] != '\0' || e->listerr)
			return 0;
		vs.started = 1;
		if (!e->error && S_ISDIR(e->st.st_mode))
			vs_push("");
		return 1;
	}
	if (e->listerr) {
		/* the directory just entered could not be listed */
		if (vs.n == 0 || strcmp(vs.v[vs.n - 1].path, e->path) != 0 ||
		    vs.v[vs.n - 1].last[0] != '\0')
			return 0;
		vs_pop();
		return 1;
	}
	name = slash != NULL ? slash + 1 : e->path;
	dlen = slash != NULL ? (size_t)(slash - e->path) : 0;
	if (name[0] == '\0' || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0 || strlen(name) > NAME_MAX)
		return 0;
	while (vs.n > 0 && (strlen(vs.v[vs.n - 1].path) != dlen ||
	    memcmp(vs.v[vs.n - 1].path, e->path, dlen) != 0))
		vs_pop();
	if (vs.n == 0 || strcmp(name, vs.v[vs.n - 1].last) <= 0)
		return 0;
	free(vs.v[vs.n - 1].last);
	vs.v[vs.n - 1].last = xstrdup(name);
	if (!e->error && S_ISDIR(e->st.st_mode))
		vs_push(e->path);
	return 1;
}

/*
 * Wait until fd has something to read; 0 after timeout seconds of
 * silence (the server says ALIVE every AG_TICK while it works), with
 * the connection declared dead.
 */
static int
heard(int fd, int timeout)
{
	struct pollfd pfd;
	char msg[128];
	int r;

	pfd.fd = fd;
	pfd.events = POLLIN;
	while ((r = poll(&pfd, 1, timeout * 1000)) == -1 && errno == EINTR)
		;
	if (r != 0)
		return 1;
	snprintf(msg, sizeof msg, "no word from the host for %d seconds "
	    "(--timeout)", timeout);
	(void)kill(-ag.pid, SIGTERM);	/* the command's process group */
	pthread_mutex_lock(&ag.mu);
	die_locked(msg);
	pthread_mutex_unlock(&ag.mu);
	return 0;
}

/* The server's frames, until it ends or lies. */
static void *
reader(void *arg)
{
	unsigned char *p;
	struct rbuf rb;
	struct agent_ent e;
	struct req *r;
	uint32_t id, err;
	uint8_t type;
	size_t len;
	char msg[512];

	(void)arg;
	while (heard(ag.from, ag.timeout) &&
	    (p = agent_recv(ag.from, &type, &len)) != NULL) {
		rbuf_init(&rb, p, len);
		pthread_mutex_lock(&ag.mu);
		switch (type) {
		case AG_ALIVE:
			break;
		case AG_ENT:
			if (ag.given == 0 || ag.qlen == CREDIT || ag.ended ||
			    agent_get_ent(&rb, &e) == -1) {
				die_locked("a malformed or unasked-for entry");
				break;
			}
			if (!ent_ok(&e)) {
				snprintf(msg, sizeof msg, "an entry out of place "
				    "in the walk: %.300s", e.path);
				agent_ent_free(&e);
				die_locked(msg);
				break;
			}
			ag.given--;
			ag.q[(ag.qhead + ag.qlen) % CREDIT] = e;
			ag.qlen++;
			pthread_cond_broadcast(&ag.cv);
			break;
		case AG_END:
			if (buf_get_u32(&rb, &err) == -1 || err > INT_MAX) {
				die_locked("a malformed END");
				break;
			}
			ag.ended = 1;
			ag.enderr = (int)err;
			pthread_cond_broadcast(&ag.cv);
			break;
		case AG_DATA:
		case AG_DELTA:
			if (buf_get_u32(&rb, &id) == -1 ||
			    (r = find_req(id)) == NULL || r->done ||
			    (type == AG_DELTA) != r->delta) {
				die_locked("content nobody asked for");
				break;
			}
			r->got += rbuf_left(&rb);
			if (r->got > r->limit && r->err == 0)
				r->err = EFBIG;	/* more than the file can be */
			if (!r->abandoned && r->err == 0 &&
			    write_full(r->fd, rb.p + rb.off, rbuf_left(&rb)) ==
			    -1)
				r->err = errno;
			if (r->streaming)
				pthread_cond_broadcast(&ag.cv);
			break;
		case AG_DONE:
			if (buf_get_u32(&rb, &id) == -1 ||
			    buf_get_u32(&rb, &err) == -1 || err > INT_MAX ||
			    (r = find_req(id)) == NULL || r->done) {
				die_locked("a malformed DONE");
				break;
			}
			r->done = 1;
			if (r->err == 0)
				r->err = (int)err;
			ag.inflight--;
			ag.inbytes -= r->size;
			if (r->abandoned) {
				req_unlink(r);
				req_free(r);
			}
			pthread_cond_broadcast(&ag.cv);
			break;
		case AG_FATAL:
			{
				const unsigned char *m;
				size_t ml;

				if (buf_get_string(&rb, &m, &ml) == -1)
					ml = 0;
				snprintf(msg, sizeof msg, "the server stopped: %.*s",
				    (int)(ml > 400 ? 400 : ml), ml ? (const char *)m : "");
				ag.fatal = 1;
				die_locked(msg);
			}
			break;
		default:
			die_locked("a frame of an unknown type");
		}
		free(p);
		if (ag.dead != NULL) {
			pthread_mutex_unlock(&ag.mu);
			return NULL;
		}
		pthread_mutex_unlock(&ag.mu);
	}
	pthread_mutex_lock(&ag.mu);
	if (errno == 0 && ag.ended)
		die_locked("the server closed the connection");
	else if (errno == 0)
		die_locked("the connection closed");
	else {
		snprintf(msg, sizeof msg, "reading from the server: %s",
		    errno == EPROTO ? "a malformed frame" : strerror(errno));
		die_locked(msg);
	}
	pthread_mutex_unlock(&ag.mu);
	return NULL;
}

/* The connection is gone, for why: end snap (permanent if refused). */
static void
gone(const char *why)
{
	errx(ag.fatal ? EXIT_PERM : EXIT_TEMP, "%s: %s", ag.spec, why);
}

/* Wait (mu held) until r is done; when the connection goes first, gone. */
static void
wait_done(struct req *r)
{
	while (!r->done && ag.dead == NULL)
		pthread_cond_wait(&ag.cv, &ag.mu);
	if (!r->done) {
		pthread_mutex_unlock(&ag.mu);
		gone(ag.dead);
	}
}

/* A request or credit to the server; a failure ends snap (temporary). */
static void
send_frame(uint8_t type, const void *p, size_t len, const void *q,
    size_t qlen)
{
	if (agent_send(ag.to, type, p, len, q, qlen) == -1) {
		pthread_mutex_lock(&ag.mu);
		if (ag.dead == NULL)
			ag.dead = xstrdup(strerror(errno));
		pthread_mutex_unlock(&ag.mu);
		gone(ag.dead);
	}
}

static void
more(uint32_t n)
{
	struct wbuf b = { 0 };

	buf_put_u32(&b, n);
	pthread_mutex_lock(&ag.mu);
	ag.given += n;
	pthread_mutex_unlock(&ag.mu);
	send_frame(AG_MORE, b.p, b.len, NULL, 0);
	wbuf_free(&b);
}

/*
 * An unnamed file for what comes (read and write): in memory for up to
 * size bytes of MEMFILE_MAX or less (a file in the repository costs a
 * journal entry, the better part of a millisecond), else in the
 * repository.
 */
static int
tmpfile_in_repo(uint64_t size)
{
	char name[64];
	int fd, i;

	if (size <= MEMFILE_MAX &&
	    (fd = memfd_create("snap-agent", MFD_CLOEXEC)) != -1)
		return fd;
	if ((fd = openat(ag.s->datafd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC,
	    0600)) != -1 || (errno != EOPNOTSUPP && errno != EISDIR &&
	    errno != EINVAL))
		goto out;
	for (i = 0; i < 100; i++) {
		snprintf(name, sizeof name, ".agent.%ld.%d", (long)getpid(), i);
		if ((fd = openat(ag.s->datafd, name, O_CREAT | O_EXCL |
		    O_RDWR | O_CLOEXEC, 0600)) != -1) {
			unlinkat(ag.s->datafd, name, 0);
			break;
		}
		if (errno != EEXIST)
			break;
	}
out:
	if (fd == -1)
		err(EXIT_TEMP, "temporary file in %s", "rdiff-backup-data");
	return fd;
}

/*
 * The most a file listed at size may be by the time it is read (it may
 * grow meanwhile), and what a delta may make of it: more is refused,
 * so a server cannot fill the repository's disk.
 */
static uint64_t
grown(uint64_t size)
{
	if (size <= MEMFILE_MAX)	/* it is in memory: not 64 MiB each */
		return 2 * MEMFILE_MAX;
	return size > (UINT64_MAX >> 2) ? UINT64_MAX : size + size / 2 +
	    ((uint64_t)64 << 20);
}

/*
 * Ask for path (kind AG_FILE or AG_LINK): whole, or as a delta against
 * the mirror's copy when that is a regular file of DELTA_MIN bytes or
 * more.  The request joins the list (in order).
 */
static struct req *
ask(const char *path, int kind, uint64_t size)
{
	unsigned char *sig = NULL;
	struct wbuf b = { 0 };
	struct stat st;
	struct req *r;
	size_t siglen = 0, off, k;
	int mfd;

	r = xcalloc(1, sizeof *r);
	r->id = ag.nextid++;
	r->kind = kind;
	r->path = xstrdup(path);
	r->fd = tmpfile_in_repo(kind == AG_LINK ? 0 : size);
	r->size = size;
	r->limit = kind == AG_LINK ? PATH_MAX : grown(size);
	/* the mirror may still hold a symlink where a directory is now */
	if (kind == AG_FILE && !ag.s->first &&
	    (mfd = open_below(ag.s->repofd, path, O_RDONLY | O_NONBLOCK |
	    O_CLOEXEC)) != -1) {
		if (fstat(mfd, &st) == 0 && S_ISREG(st.st_mode) &&
		    st.st_size >= DELTA_MIN &&
		    (sig = bsig_file(mfd, (uint64_t)st.st_size,
		    &siglen)) != NULL && siglen > AG_SIGMAX) {
			free(sig);
			sig = NULL;
			siglen = 0;
		}
		close(mfd);
	}
	r->delta = sig != NULL;
	buf_put_u32(&b, r->id);
	buf_put_string(&b, path, strlen(path));
	buf_put_u8(&b, (uint8_t)kind);
	buf_put_u32(&b, (uint32_t)siglen);
	pthread_mutex_lock(&ag.mu);
	if (ag.last != NULL)
		ag.last->next = r;
	else
		ag.reqs = r;
	ag.last = r;
	ag.inflight++;
	ag.inbytes += size;
	pthread_mutex_unlock(&ag.mu);
	send_frame(AG_GET, b.p, b.len, NULL, 0);
	for (off = 0; off < siglen; off += k) {
		k = siglen - off < AG_DATAMAX ? siglen - off : AG_DATAMAX;
		b.len = 0;
		buf_put_u32(&b, r->id);
		send_frame(AG_SIG, b.p, b.len, sig + off, k);
	}
	r->sig = sig;	/* for the way back (rev_basis_sig) */
	r->siglen = siglen;
	wbuf_free(&b);
	return r;
}

/*
 * Ask for the files of the entries that arrived since the last look,
 * while there is room: those snap will read (snap_wants).
 */
static void
ask_ahead(void)
{
	struct agent_ent *e;
	uint64_t seq;

	for (;;) {
		pthread_mutex_lock(&ag.mu);
		if (ag.scanned < ag.qseq)
			ag.scanned = ag.qseq;
		seq = ag.scanned;
		if (seq >= ag.qseq + ag.qlen || ag.inflight >= INFLIGHT ||
		    ag.inbytes >= INFLIGHT_BYTES) {
			pthread_mutex_unlock(&ag.mu);
			return;
		}
		e = &ag.q[(ag.qhead + (seq - ag.qseq)) % CREDIT];
		ag.scanned++;
		pthread_mutex_unlock(&ag.mu);
		/* the queue's slot stays while not taken; only snap takes */
		if (!e->error && e->path[0] != '\0' &&
		    snap_wants(ag.s, e->path, &e->st))
			(void)ask(e->path, AG_FILE, (uint64_t)e->st.st_size);
	}
}

/* The feed: the next entry, as the walk hands it to snap. */
static int
feed(void *arg, struct walk_ent *w)
{
	const char *slash;
	int depth;

	(void)arg;
	agent_ent_free(&ag.cur);
	ask_ahead();
	pthread_mutex_lock(&ag.mu);
	while (ag.qlen == 0 && !ag.ended && ag.dead == NULL)
		pthread_cond_wait(&ag.cv, &ag.mu);
	if (ag.qlen == 0) {
		pthread_mutex_unlock(&ag.mu);
		if (ag.dead != NULL && !ag.ended)
			gone(ag.dead);
		if (ag.enderr != 0)
			errx(ag.enderr == ENOENT || ag.enderr == ENOTDIR ||
			    ag.enderr == EACCES ? EXIT_PERM : EXIT_TEMP,
			    "%s: %s", ag.spec, strerror(ag.enderr));
		return 0;
	}
	ag.cur = ag.q[ag.qhead];
	memset(&ag.q[ag.qhead], 0, sizeof ag.q[ag.qhead]);
	ag.qhead = (ag.qhead + 1) % CREDIT;
	ag.qlen--;
	ag.qseq++;
	pthread_mutex_unlock(&ag.mu);
	if (++ag.taken >= CREDIT / 4) {
		more(ag.taken);
		ag.taken = 0;
	}
	memset(w, 0, sizeof *w);
	w->path = ag.cur.path;
	w->pathlen = strlen(ag.cur.path);
	slash = strrchr(ag.cur.path, '/');
	w->name = w->pathlen == 0 ? ag.s->src : slash ? slash + 1 :
	    ag.cur.path;
	for (depth = w->pathlen > 0, slash = ag.cur.path;
	    (slash = strchr(slash, '/')) != NULL; slash++)
		depth++;
	w->depth = depth;
	w->dirfd = -1;
	w->error = ag.cur.error;
	w->listerr = ag.cur.listerr;
	w->st = ag.cur.st;
	w->link = ag.cur.link;
	w->xattrs = &ag.cur.x;
	w->xerr = ag.cur.xerr;
	return 1;
}

/*
 * Take request r once it is done: its file (content, delta or target)
 * at offset 0, or -1 with errno from the server.
 */
static int
take(struct req *r)
{
	int fd;

	pthread_mutex_lock(&ag.mu);
	wait_done(r);
	req_unlink(r);
	pthread_mutex_unlock(&ag.mu);
	fd = r->fd;
	r->fd = -1;
	if (r->err != 0 || lseek(fd, 0, SEEK_SET) == -1) {
		errno = r->err ? r->err : errno;
		close(fd);
		fd = -1;
	}
	req_free(r);
	return fd;
}

/*
 * The request for path, asked ahead or now; the ones before it that
 * snap went past are abandoned (their content is thrown away).
 */
static struct req *
request_for(const char *path, int kind, uint64_t size)
{
	struct req *r, *next;

	pthread_mutex_lock(&ag.mu);
	for (r = ag.reqs; r != NULL; r = next) {
		next = r->next;
		if (r->abandoned)
			continue;
		if (r->kind == kind && strcmp(r->path, path) == 0)
			break;
		if (kind != AG_FILE || r->kind != AG_FILE)
			continue;
		/* a file asked for ahead that snap did not read */
		r->abandoned = 1;
		if (r->done) {
			req_unlink(r);
			req_free(r);
		}
	}
	pthread_mutex_unlock(&ag.mu);
	return r != NULL ? r : ask(path, kind, size);
}

int
remote_open(struct walk_ent *e, struct req **dr)
{
	struct req *r;
	int fd;

	*dr = NULL;
	r = request_for(e->path, AG_FILE, (uint64_t)e->st.st_size);
	if (!r->delta)
		return take(r);
	/* a delta is patched as it comes: wait for its start only */
	pthread_mutex_lock(&ag.mu);
	r->streaming = 1;
	while (r->got == 0 && !r->done && ag.dead == NULL)
		pthread_cond_wait(&ag.cv, &ag.mu);
	if (r->got == 0 || r->err != 0) {
		pthread_mutex_unlock(&ag.mu);
		/* its error, the connection's, or a delta of no bytes */
		if ((fd = take(r)) != -1) {
			close(fd);
			errno = EIO;
			fd = -1;
		}
		return fd;
	}
	pthread_mutex_unlock(&ag.mu);
	*dr = r;
	return r->fd;
}

void
remote_drop(struct req *r)
{
	pthread_mutex_lock(&ag.mu);
	if (r->done) {
		req_unlink(r);
		req_free(r);
	} else
		r->abandoned = 1;	/* the reader frees it when done */
	pthread_mutex_unlock(&ag.mu);
}

/* The delta of request r as it comes: patch_apply_rev's reader. */
static ssize_t
stream_read(void *arg, void *buf, size_t n)
{
	struct req *r = arg;
	uint64_t got;
	ssize_t k;
	int err, done;

	pthread_mutex_lock(&ag.mu);
	while (r->off >= r->got && !r->done && r->err == 0 && ag.dead == NULL)
		pthread_cond_wait(&ag.cv, &ag.mu);
	got = r->got;
	done = r->done;
	err = r->err;
	pthread_mutex_unlock(&ag.mu);
	if (err != 0) {
		errno = err;
		return -1;
	}
	if (r->off >= got) {
		if (done)
			return 0;
		gone(ag.dead);
	}
	if (n > got - r->off)
		n = (size_t)(got - r->off);
	while ((k = pread(r->fd, buf, n, (off_t)r->off)) == -1 &&
	    errno == EINTR)
		;
	if (k == 0) {
		errno = EIO;
		return -1;
	}
	if (k > 0)
		r->off += (uint64_t)k;
	return k;
}

/*
 * remote_patch, or with dfd remote_patch_still: 1 there when the delta
 * cannot be applied in place.
 */
static int
patch_req(struct walk_ent *e, struct req *r, int out, struct copyres *cr,
    struct sigmaker **rev, int *dfd)
{
	struct hashtap h;
	struct stat st;
	uint64_t limit = grown((uint64_t)e->st.st_size);
	int basis, saved, rv;

	*rev = NULL;
	if ((basis = open_below(ag.s->repofd, e->path, O_RDONLY |
	    O_CLOEXEC)) == -1) {
		saved = errno;
		remote_drop(r);
		errno = saved;
		return -1;
	}
	/* in place: a hard-linked copy would change under its other names */
	if (dfd != NULL && (fstat(basis, &st) == -1 || st.st_nlink != 1 ||
	    st.st_size < STILL_MIN)) {
		close(basis);
		return 1;
	}
	hashtap_init(&h, 1);
	if (e->st.st_size >= HASH_THREAD_MIN)
		hashtap_thread(&h);
	errno = 0;
	rv = dfd != NULL ? patch_scan_still(basis, stream_read, r, limit,
	    hashtap, &h, rev) : patch_apply_rev(basis, stream_read, r, out,
	    limit, hashtap, &h, rev);
	saved = errno ? errno : EIO;
	close(basis);
	if (rv == -1 && dfd != NULL && saved == EXDEV) {
		/* data moved: patch a new file, reading the delta again */
		hashtap_end(&h, NULL);
		r->off = 0;
		return 1;
	}
	if (rv == 0 && r->sig != NULL)
		(void)rev_basis_sig(*rev, r->sig, r->siglen);
	if (rv == 0) {
		/* the END came: the rest, and the server's word on it */
		pthread_mutex_lock(&ag.mu);
		wait_done(r);
		if (r->err != 0) {
			saved = r->err;
			rv = -1;
		}
		pthread_mutex_unlock(&ag.mu);
	}
	if (rv == 0 && dfd != NULL &&
	    (*dfd = fcntl(r->fd, F_DUPFD_CLOEXEC, 0)) == -1) {
		saved = errno;
		rv = -1;
	}
	remote_drop(r);
	if (rv == -1) {
		hashtap_end(&h, NULL);
		sig_free(*rev);
		*rev = NULL;
		errno = saved;
		return -1;
	}
	hashtap_end(&h, cr);
	return 0;
}

int
remote_patch(struct walk_ent *e, struct req *r, int out, struct copyres *cr,
    struct sigmaker **rev)
{
	return patch_req(e, r, out, cr, rev, NULL);
}

int
remote_patch_still(struct walk_ent *e, struct req *r, struct copyres *cr,
    struct sigmaker **rev, int *dfd)
{
	*dfd = -1;
	return patch_req(e, r, -1, cr, rev, dfd);
}

ssize_t
remote_readlink(struct walk_ent *e, char *buf, size_t size)
{
	struct req *r;
	ssize_t n;
	int fd;

	if (e->link != NULL) {
		n = (ssize_t)strlen(e->link);
		if ((size_t)n > size)
			n = (ssize_t)size;
		memcpy(buf, e->link, (size_t)n);
		return n;
	}
	r = request_for(e->path, AG_LINK, 0);
	if ((fd = take(r)) == -1)
		return -1;
	n = read_full(fd, buf, size);
	close(fd);
	return n;
}

/*
 * The root entry, before the walk takes it: wait for it; exit when the
 * tree cannot be walked.
 */
static struct agent_ent *
root_ent(void)
{
	struct agent_ent *e;

	pthread_mutex_lock(&ag.mu);
	while (ag.qlen == 0 && !ag.ended && ag.dead == NULL)
		pthread_cond_wait(&ag.cv, &ag.mu);
	e = ag.qlen > 0 && ag.qseq == 0 ? &ag.q[ag.qhead] : NULL;
	pthread_mutex_unlock(&ag.mu);
	if (e == NULL && ag.enderr != 0)
		errx(ag.enderr == ENOENT || ag.enderr == ENOTDIR ||
		    ag.enderr == EACCES ? EXIT_PERM : EXIT_TEMP, "%s: %s",
		    ag.spec, strerror(ag.enderr));
	if (e == NULL)
		gone(ag.dead ? ag.dead : "no entries");
	if (e->error != 0)
		errx(e->error == ENOENT || e->error == ENOTDIR ||
		    e->error == EACCES ? EXIT_PERM : EXIT_TEMP, "%s: %s",
		    ag.spec, strerror(e->error));
	return e;
}

void
remote_root_stat(struct stat *st)
{
	*st = root_ent()->st;
}

void
remote_root_attrs(int *xerr, int *aclerr)
{
	struct agent_ent *e = root_ent();

	*xerr = e->xerr;
	*aclerr = e->aclerr;
}

/* The schema with {h} replaced by host, single-quoted for sh. */
static char *
command(const char *schema, const char *host)
{
	struct wbuf b = { 0 };
	const char *p, *c, *h;

	for (p = schema; (c = strstr(p, "{h}")) != NULL; p = c + 3) {
		buf_put_bytes(&b, p, (size_t)(c - p));
		buf_put_u8(&b, '\'');
		for (h = host; *h != '\0'; h++) {
			if (*h == '\'')
				buf_put_bytes(&b, "'\\''", 4);
			else
				buf_put_u8(&b, (uint8_t)*h);
		}
		buf_put_u8(&b, '\'');
	}
	buf_put_bytes(&b, p, strlen(p) + 1);
	return (char *)b.p;
}

int
remote_start(struct session *s, const char *spec, const char *schema,
    int timeout)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t sa;
	struct wbuf b = { 0 };
	unsigned char *p;
	uint8_t type;
	size_t len;
	char *host, *path, *cmd, *argv[4], *gv[5];
	const char *colon = strchr(spec, ':');
	struct rbuf rb;
	uint32_t v = 0;
	int in[2], out[2], rc;

	ag.s = s;
	ag.spec = xstrdup(spec);
	ag.timeout = timeout;
	host = xmemdup(spec, (size_t)(colon - spec) + 1);
	host[colon - spec] = '\0';
	path = xstrdup(colon + 1);
	gv[0] = "ssh";
	gv[1] = "-oBatchMode=yes";
	gv[2] = "--";
	gv[3] = host;
	gv[4] = NULL;
	if (schema == NULL)
		schema = sshdest_loopback(gv) ?
		    "ssh -x -a -T -oBatchMode=yes {h} snap --server" :
		    "ssh -x -a -T -oBatchMode=yes -C {h} snap --server";
	if (strstr(schema, "{h}") == NULL)
		errx(EXIT_USAGE, "--remote-schema: no {h} for the host in %s",
		    schema);
	cmd = command(schema, host);
	if (pipe2(in, O_CLOEXEC) == -1 || pipe2(out, O_CLOEXEC) == -1)
		err(EXIT_TEMP, "pipe");
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
	argv[0] = "sh";
	argv[1] = "-c";
	argv[2] = cmd;
	argv[3] = NULL;
	/* its own process group: a timeout ends all of it */
	posix_spawnattr_init(&sa);
	posix_spawnattr_setpgroup(&sa, 0);
	posix_spawnattr_setflags(&sa, POSIX_SPAWN_SETPGROUP);
	rc = posix_spawn(&ag.pid, "/bin/sh", &fa, &sa, argv, environ);
	posix_spawnattr_destroy(&sa);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		errno = rc;
		err(EXIT_TEMP, "run %s", cmd);
	}
	close(in[0]);
	close(out[1]);
	ag.to = in[1];
	ag.from = out[0];
	signal(SIGPIPE, SIG_IGN);

	buf_put_u32(&b, AG_VERSION);
	send_frame(AG_HELLO, b.p, b.len, NULL, 0);
	if (!heard(ag.from, ag.timeout))
		errx(EXIT_TEMP, "%s: %s", spec, ag.dead);
	if ((p = agent_recv(ag.from, &type, &len)) == NULL)
		errx(EXIT_TEMP, "%s: no answer from snap --server (%s)", spec,
		    errno ? strerror(errno) : "the command ended");
	if (type != AG_SHELLO || len != 4)
		errx(EXIT_TEMP, "%s: the command does not speak snap's "
		    "protocol: %s", spec, cmd);
	rbuf_init(&rb, p, len);
	if (buf_get_u32(&rb, &v) == -1 || v != AG_VERSION)
		errx(EXIT_PERM, "%s: the host's snap speaks protocol %lu, this "
		    "one %d: install the same snap there", spec,
		    (unsigned long)v, AG_VERSION);
	free(p);
	wbuf_free(&b);
	ag.path = path;
	free(host);
	free(cmd);
	return 0;
}

void
remote_list(void)
{
	struct wbuf b = { 0 };
	int rc;

	buf_put_string(&b, ag.path, strlen(ag.path));
	buf_put_u64(&b, ag.s->first || ag.s->prev < 0 ? 0 :
	    (uint64_t)ag.s->prev);
	send_frame(AG_LIST, b.p, b.len, NULL, 0);
	wbuf_free(&b);
	more(CREDIT);
	if ((rc = pthread_create(&ag.reader, NULL, reader, NULL)) != 0) {
		errno = rc;
		err(EXIT_TEMP, "pthread_create");
	}
	ag.reading = 1;
}

struct walk *
remote_walk(void)
{
	struct walk_feed f = { feed, NULL };

	return walk_open_feed(&f);
}

/* Close the connection: the server ends with our input. */
void
remote_stop(void)
{
	struct req *r;
	int st;

	if (ag.to != -1)
		close(ag.to);
	ag.to = -1;
	if (ag.reading)
		pthread_join(ag.reader, NULL);
	ag.reading = 0;
	if (ag.from != -1)
		close(ag.from);
	ag.from = -1;
	while ((r = ag.reqs) != NULL) {
		ag.reqs = r->next;
		req_free(r);
	}
	ag.last = NULL;
	agent_ent_free(&ag.cur);
	while (vs.n > 0)
		vs_pop();
	free(vs.v);
	vs.v = NULL;
	vs.cap = 0;
	while (ag.qlen > 0) {
		agent_ent_free(&ag.q[ag.qhead]);
		ag.qhead = (ag.qhead + 1) % CREDIT;
		ag.qlen--;
	}
	if (ag.pid > 0)
		while (waitpid(ag.pid, &st, 0) == -1 && errno == EINTR)
			;
	ag.pid = -1;
}
