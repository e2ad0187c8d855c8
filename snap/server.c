/*
 * snap --server [--root DIR]: the agent, run on the source host by ssh
 * with the protocol of lib/agent.h on its standard input and output.
 * One thread reads the client's frames, one walks the tree asked for
 * and sends its entries (as far as the client's credit goes), one sends
 * the files asked for, whole or as a delta against the client's
 * signature.  Everything is opened read-only; nothing is created.  With
 * --root, only DIR and what is below it can be asked for (for a forced
 * command in authorized_keys), and no path leads out of the tree listed
 * through a symlink or "..".
 */
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "buf.h"
#include "delta.h"
#include "exitcode.h"
#include "io.h"
#include "pathname.h"
#include "walk.h"
#include "xalloc.h"
#include "xattr.h"

#include "snap.h"

#define BATCH		(64u << 10)	/* entries gathered per write */
#define GETQ		1024		/* content requests waiting */

struct get {
	uint32_t	 id;
	int		 kind;		/* AG_FILE, AG_LINK */
	char		*path;
	unsigned char	*sig;
	size_t		 siglen, sigwant;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;	/* credit, a GET */
static pthread_mutex_t outmu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t credit;
static int stopping, outfailed;
static struct get *getq[GETQ];
static size_t gq_head, gq_len;
static struct get *sigget;		/* the GET whose signature comes */
static char *root, *listroot;
static int listfd = -1;
static uint64_t links_since;
static uint64_t work;			/* steps of the walk and reads */
static int walking, waiting, getting;	/* under mu: what goes on */

/* Send one frame (with mu not held); a broken output stops everything. */
static int
out(uint8_t type, const void *p, size_t len, const void *q, size_t qlen)
{
	int rv;

	pthread_mutex_lock(&outmu);
	rv = outfailed ? -1 : agent_send(STDOUT_FILENO, type, p, len, q, qlen);
	if (rv == -1)
		outfailed = 1;
	pthread_mutex_unlock(&outmu);
	return rv;
}

/* Write the frames gathered in b (already framed) at once. */
static int
flush(struct wbuf *b)
{
	int rv = 0;

	if (b->len == 0)
		return 0;
	pthread_mutex_lock(&outmu);
	if (outfailed || write_full(STDOUT_FILENO, b->p, b->len) == -1) {
		outfailed = 1;
		rv = -1;
	}
	pthread_mutex_unlock(&outmu);
	b->len = 0;
	return rv;
}

static void	fatal(const char *, const char *) __attribute__((__noreturn__));

static void
fatal(const char *fmt, const char *arg)
{
	char msg[PATH_MAX + 128];
	struct wbuf b = { 0 };

	snprintf(msg, sizeof msg, fmt, arg);
	buf_put_string(&b, msg, strlen(msg));
	(void)out(AG_FATAL, b.p, b.len, NULL, 0);
	wbuf_free(&b);
	errx(EXIT_PERM, "%s", msg);
}

/* Wait for credit for one more entry; 0 when stopping instead. */
static int
take_credit(void)
{
	int ok;

	pthread_mutex_lock(&mu);
	waiting = 1;
	while (credit == 0 && !stopping)
		pthread_cond_wait(&cv, &mu);
	waiting = 0;
	ok = !stopping;
	if (ok)
		credit--;
	pthread_mutex_unlock(&mu);
	return ok;
}

/* The tree at listroot, entry by entry, each framed into b. */
static void *
walker(void *arg)
{
	struct wbuf b = { 0 };
	struct walk *w;
	struct walk_ent *e;
	struct xattrs x;
	char link[PATH_MAX];
	ssize_t ll;
	size_t start;
	unsigned char acl[4];
	int xerr, aclerr;
	uint32_t err = 0;

	(void)arg;
	if ((w = walk_open(listroot)) == NULL)
		err = (uint32_t)errno;
	while (w != NULL && walk_next(w, &e) == 1) {
		__atomic_add_fetch(&work, 1, __ATOMIC_RELAXED);
		if (b.len >= BATCH && flush(&b) == -1)
			break;
		if (!take_credit())
			break;
		ll = -1;
		if (!e->error && S_ISLNK(e->st.st_mode) &&
		    (uint64_t)e->st.st_mtime >= links_since)
			ll = readlinkat(e->dirfd, e->name, link, sizeof link);
		memset(&x, 0, sizeof x);
		xerr = 0;
		if (!e->error && xattrs_read(e->dirfd, e->name, &x) == -1)
			xerr = errno;
		aclerr = 0;
		if (e->pathlen == 0 && xattr_get(e->dirfd, e->name,
		    ACL_ACCESS_XATTR, acl, sizeof acl) == -1)
			aclerr = errno;
		start = b.len;
		buf_put_u32(&b, 0);
		buf_put_u8(&b, AG_ENT);
		agent_put_ent(&b, e->path, e->pathlen, e->error, e->listerr,
		    &e->st, ll > 0 && (size_t)ll < sizeof link ? link : NULL,
		    ll > 0 ? (size_t)ll : 0, xerr, aclerr, &x);
		buf_set_u32(&b, start, (uint32_t)(b.len - start - 4));
		xattrs_free(&x);
		/* the client wants what it waits for: send when credit ends */
		pthread_mutex_lock(&mu);
		if (credit == 0) {
			pthread_mutex_unlock(&mu);
			if (flush(&b) == -1)
				break;
		} else
			pthread_mutex_unlock(&mu);
	}
	if (w != NULL)
		walk_close(w);
	if (flush(&b) == 0) {
		buf_put_u32(&b, err);
		(void)out(AG_END, b.p, b.len, NULL, 0);
	}
	wbuf_free(&b);
	pthread_mutex_lock(&mu);
	walking = 0;
	pthread_mutex_unlock(&mu);
	return NULL;
}

/*
 * Open path (relative to the listed tree) for reading, through no
 * symlink and nowhere outside it: no empty, "." or ".." component, and
 * every directory on the way opened with O_NOFOLLOW (open_below).
 */
static int
open_beneath(const char *path, int dir)
{
	const char *p, *slash;

	for (p = path; *p != '\0'; p = slash + 1) {
		if ((slash = strchr(p, '/')) == NULL)
			slash = p + strlen(p);
		if (slash == p || (slash - p == 1 && p[0] == '.') ||
		    (slash - p == 2 && p[0] == '.' && p[1] == '.')) {
			errno = EINVAL;
			return -1;
		}
		if (*slash == '\0')
			break;
	}
	return open_below(listfd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC | (dir ? O_DIRECTORY : 0));
}

/* AG_LINK: send the target of the symlink at path; 0 or an errno. */
static uint32_t
read_link(char *path, const struct wbuf *id)
{
	char target[PATH_MAX], *slash;
	ssize_t n;
	int dfd;

	if ((slash = strrchr(path, '/')) != NULL) {
		*slash = '\0';
		dfd = open_beneath(path, 1);
		*slash = '/';
		slash++;
	} else {
		dfd = dup(listfd);
		slash = path;
	}
	if (dfd == -1)
		return (uint32_t)errno;
	n = readlinkat(dfd, slash, target, sizeof target);
	close(dfd);
	if (n == -1)
		return (uint32_t)errno;
	if ((size_t)n >= sizeof target || n == 0)
		return ENAMETOOLONG;
	return out(AG_DATA, id->p, id->len, target, (size_t)n) == -1 ? EIO : 0;
}

/* sig_delta_to's output: DELTA frames after the request's id (arg). */
static int
delta_out(void *arg, const char *p, size_t n)
{
	const struct wbuf *id = arg;
	size_t k;

	for (; n > 0; p += k, n -= k) {
		k = n < AG_DATAMAX ? n : AG_DATAMAX;
		if (out(AG_DELTA, id->p, id->len, p, k) == -1)
			return -1;
	}
	return 0;
}

/* Send g's file, whole or as a delta; then DONE with its errno. */
static void
serve_get(struct get *g)
{
	struct wbuf id = { 0 };
	struct stat st;
	unsigned char *buf = NULL;
	ssize_t n;
	uint32_t err = 0;
	int fd = -1;

	buf_put_u32(&id, g->id);
	if (g->kind == AG_LINK) {
		err = read_link(g->path, &id);
		goto done;
	}
	if ((fd = open_beneath(g->path, 0)) == -1 || fstat(fd, &st) == -1) {
		err = (uint32_t)errno;
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		err = EINVAL;
		goto done;
	}
	if (g->siglen > 0) {
		if (sig_delta_file(g->sig, g->siglen, fd, delta_out, &id) ==
		    -1)
			err = errno ? (uint32_t)errno : EIO;
		goto done;
	}
	buf = xmalloc(AG_DATAMAX);
	while ((n = read(fd, buf, AG_DATAMAX)) != 0) {
		__atomic_add_fetch(&work, 1, __ATOMIC_RELAXED);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			err = (uint32_t)errno;
			break;
		}
		if (out(AG_DATA, id.p, id.len, buf, (size_t)n) == -1)
			break;
	}
done:
	if (fd != -1)
		close(fd);
	free(buf);
	buf_put_u32(&id, err);		/* DONE: the id, then the errno */
	(void)out(AG_DONE, id.p, id.len, NULL, 0);
	wbuf_free(&id);
}

static void *
getter(void *arg)
{
	struct get *g;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&mu);
		while (gq_len == 0 && !stopping)
			pthread_cond_wait(&cv, &mu);
		if (gq_len == 0) {
			pthread_mutex_unlock(&mu);
			return NULL;
		}
		g = getq[gq_head];
		gq_head = (gq_head + 1) % GETQ;
		gq_len--;
		getting = 1;
		pthread_mutex_unlock(&mu);
		serve_get(g);
		pthread_mutex_lock(&mu);
		getting = 0;
		pthread_mutex_unlock(&mu);
		free(g->path);
		free(g->sig);
		free(g);
	}
}

static void
queue_get(struct get *g)
{
	pthread_mutex_lock(&mu);
	if (gq_len == GETQ) {
		pthread_mutex_unlock(&mu);
		fatal("more than %s content requests waiting", "1024");
	}
	getq[(gq_head + gq_len) % GETQ] = g;
	gq_len++;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

/* Is path (absolute, resolved) root or below it? */
static int
within(const char *path, const char *top)
{
	size_t n = strlen(top);

	if (strcmp(top, "/") == 0)
		return 1;
	return strncmp(path, top, n) == 0 && (path[n] == '\0' ||
	    path[n] == '/');
}

/* LIST: resolve the path, check it against --root, start the walk. */
static void
start_list(struct rbuf *r, pthread_t *wt)
{
	const unsigned char *p;
	size_t len;
	char *path;

	if (listroot != NULL || buf_get_string(r, &p, &len) == -1 ||
	    buf_get_u64(r, &links_since) == -1 || rbuf_left(r) != 0 ||
	    len == 0 || memchr(p, '\0', len) != NULL)
		fatal("%s", "bad LIST request");
	path = xmalloc(len + 1);
	memcpy(path, p, len);
	path[len] = '\0';
	if ((listroot = realpath(path, NULL)) == NULL)
		fatal("%s: cannot resolve it", path);
	if (root != NULL && !within(listroot, root))
		fatal("%s: outside the tree this key may read", path);
	if ((listfd = open(listroot, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1)
		fatal("%s: cannot open it", path);
	free(path);
	pthread_mutex_lock(&mu);
	walking = 1;
	pthread_mutex_unlock(&mu);
	if (pthread_create(wt, NULL, walker, NULL) != 0)
		fatal("%s", "cannot start the walk");
}

/* GET and its SIG frames: a content request, queued once complete. */
static void
take_get(uint8_t type, struct rbuf *r)
{
	const unsigned char *p;
	struct get *g;
	uint32_t id, siglen;
	uint8_t kind;
	size_t len;

	if (buf_get_u32(r, &id) == -1)
		fatal("%s", "bad content request");
	if (type == AG_SIG) {
		len = rbuf_left(r);
		if ((g = sigget) == NULL || g->id != id ||
		    len > g->sigwant - g->siglen)
			fatal("%s", "unexpected signature data");
		memcpy(g->sig + g->siglen, r->p + r->off, len);
		g->siglen += len;
	} else {
		if (sigget != NULL || listroot == NULL ||
		    buf_get_string(r, &p, &len) == -1 ||
		    buf_get_u8(r, &kind) == -1 || kind > AG_LINK ||
		    buf_get_u32(r, &siglen) == -1 || rbuf_left(r) != 0 ||
		    len == 0 || p[0] == '/' || memchr(p, '\0', len) != NULL ||
		    siglen > AG_SIGMAX || (kind == AG_LINK && siglen > 0))
			fatal("%s", "bad content request");
		g = xcalloc(1, sizeof *g);
		g->id = id;
		g->kind = kind;
		g->path = xmalloc(len + 1);
		memcpy(g->path, p, len);
		g->path[len] = '\0';
		g->sigwant = siglen;
		g->sig = siglen > 0 ? xmalloc(siglen) : NULL;
		sigget = g;
	}
	if (g->siglen == g->sigwant) {
		sigget = NULL;
		queue_get(g);
	}
}

/*
 * ALIVE every AG_TICK seconds while the walk or a read moved on since
 * the last one, or nothing is to be done: a thread stuck in a system
 * call (a hung network filesystem) lets the client's timeout run out.
 */
static void *
keepalive(void *arg)
{
	uint64_t seen = 0, now;
	int idle, stop;

	(void)arg;
	for (;;) {
		sleep(AG_TICK);
		pthread_mutex_lock(&mu);
		stop = stopping;
		idle = !getting && gq_len == 0 && (!walking || waiting);
		pthread_mutex_unlock(&mu);
		if (stop)
			return NULL;
		now = __atomic_load_n(&work, __ATOMIC_RELAXED) +
		    delta_progress();
		if ((idle || now != seen) &&
		    out(AG_ALIVE, NULL, 0, NULL, 0) == -1)
			return NULL;
		seen = now;
	}
}

int
server_main(const char *rootarg)
{
	pthread_t wt, gt, kt;
	struct rbuf r;
	struct wbuf hello = { 0 };
	unsigned char *p;
	uint32_t v;
	uint8_t type;
	size_t len;
	int listed = 0, e;

	signal(SIGPIPE, SIG_IGN);
	if (rootarg != NULL && (root = realpath(rootarg, NULL)) == NULL)
		err(EXIT_PERM, "--root %s", rootarg);
	if ((p = agent_recv(STDIN_FILENO, &type, &len)) == NULL)
		return errno == 0 ? EXIT_OK : EXIT_TEMP;
	rbuf_init(&r, p, len);
	if (type != AG_HELLO || buf_get_u32(&r, &v) == -1)
		fatal("%s", "no HELLO: is this snap talking?");
	/* a client of another version is told ours, and gives up */
	free(p);
	buf_put_u32(&hello, AG_VERSION);
	if (out(AG_SHELLO, hello.p, hello.len, NULL, 0) == -1)
		return EXIT_TEMP;
	wbuf_free(&hello);
	if (pthread_create(&gt, NULL, getter, NULL) != 0 ||
	    pthread_create(&kt, NULL, keepalive, NULL) != 0)
		err(EXIT_TEMP, "pthread_create");
	pthread_detach(kt);
	while ((p = agent_recv(STDIN_FILENO, &type, &len)) != NULL) {
		rbuf_init(&r, p, len);
		switch (type) {
		case AG_LIST:
			start_list(&r, &wt);
			listed = 1;
			break;
		case AG_MORE:
			if (buf_get_u32(&r, &v) == -1)
				fatal("%s", "bad MORE");
			pthread_mutex_lock(&mu);
			credit += v;
			pthread_cond_broadcast(&cv);
			pthread_mutex_unlock(&mu);
			break;
		case AG_GET:
		case AG_SIG:
			take_get(type, &r);
			break;
		default:
			fatal("%s", "unknown request");
		}
		free(p);
	}
	e = errno;
	/* the client is done (or gone): finish what is queued, then stop */
	pthread_mutex_lock(&mu);
	stopping = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	pthread_join(gt, NULL);
	if (listed)
		pthread_join(wt, NULL);
	if (e != 0)
		errx(EXIT_TEMP, "reading requests: %s", strerror(e));
	return outfailed ? EXIT_TEMP : EXIT_OK;
}
