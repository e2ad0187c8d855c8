#define _GNU_SOURCE	/* O_PATH: Linux, not POSIX */
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "delta.h"
#include "exitcode.h"
#include "gz.h"
#include "incq.h"
#include "io.h"
#include "meta.h"
#include "node.h"
#include "pathname.h"
#include "xalloc.h"

#define QLEN	16
#define BUFSZ	65536

enum { J_INC, J_DIR, J_RMDIR, J_EXT };

struct job {
	int		 kind;
	int		 in, fd, gz;	/* J_INC */
	struct sigmaker	*sig;
	int64_t		 mtime;
	int		 dirfd;		/* the mirror directory (owned) */
	char		*tmp, *name;
	char		*path;		/* for messages, as shown() made it */
	struct rec	 r;		/* J_DIR; J_INC in place: the new one */
	int		 root;
	int		 still;		/* J_INC: the delta to apply in place */
	int		 idirfd;	/* ... and the increment's directory */
	struct nodeext	*ext;		/* J_EXT */
};

static struct job	 q[QLEN];
static size_t		 head, count;
static int		 busy, stopping, running;
static pthread_t	 thread;
static pthread_mutex_t	 mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 more = PTHREAD_COND_INITIALIZER;	/* a job queued */
static pthread_cond_t	 room = PTHREAD_COND_INITIALIZER;	/* a job done */
static char		*failure;
static uint64_t		 written;
static char		*extfailure;	/* the first J_EXT failure */
static int		 exterrno;	/* ... its errno */
static uint64_t		 extfailed;

int
mirror_fix(int fd, const struct rec *r, int root)
{
	const char *what;

	/* as non-root the backup user must keep reading its own mirror */
	if (node_attrs(fd, r, ATTR_CHANGED | (root ? ATTR_OWNER :
	    ATTR_KEEPREAD), (uid_t)r->uid, (gid_t)r->gid, NULL, &what) == -1 &&
	    strcmp(what, "stat") == 0)
		return -1;
	return 0;
}

/* Copy (or delta) the old version into the increment; -1 with errno. */
static int
write_inc(const struct job *j, const char **what)
{
	struct gzw *w;
	char *buf;
	ssize_t n;
	int dfd;

	*what = "write increment for";
	if ((dfd = dup(j->fd)) == -1 || (w = gzw_open(dfd, j->gz)) == NULL)
		return -1;
	if (j->sig != NULL) {
		if (sig_delta(j->sig, j->in, w) == -1) {
			gzw_close(w, 0);
			return -1;
		}
	} else {
		buf = xbuf_get(BUFSZ);
		while ((n = read_full(j->in, buf, BUFSZ)) > 0)
			if (gzw_write(w, buf, (size_t)n) == -1)
				break;
		xbuf_put(buf, BUFSZ);
		if (n != 0) {
			if (n == -1)
				*what = "read mirror file";
			gzw_close(w, 0);
			return -1;
		}
	}
	if (gzw_close(w, 0) == -1)
		return -1;
	*what = "replace mirror file";
	return 0;
}

/* The delta kept in fd, from its start: patch_in_place's reader. */
struct fdread {
	int	 fd;
	off_t	 off;
};

static ssize_t
fd_read(void *arg, void *buf, size_t n)
{
	struct fdread *r = arg;
	ssize_t k;

	while ((k = pread(r->fd, buf, n, r->off)) == -1 && errno == EINTR)
		;
	if (k > 0)
		r->off += k;
	return k;
}

/*
 * The increment of job j is written: make it durable (the way back from
 * any mix of old and new bytes), then patch the mirror file in place
 * and give it the new version's attributes.  A crash from here on is
 * rolled back from that increment, by snap or by rdiff-backup (the
 * file's time differs from its record).
 */
static int
patch_still(const struct job *j, const char **what)
{
	struct fdread rd = { j->still, 0 };
	struct stat a, b;
	int fd, rv, e;

	*what = "sync increment for";
	if (fsync(j->fd) == -1 || fsync(j->idirfd) == -1)
		return -1;
	*what = "patch mirror file in place";
	if ((fd = openat(j->dirfd, j->name, O_WRONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &a) == -1 || fstat(j->in, &b) == -1 ||
	    a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
		close(fd);
		errno = ESTALE;		/* not the file the increment is of */
		return -1;
	}
	rv = patch_in_place(fd, fd_read, &rd, UINT64_MAX);
	if (rv == 0) {
		*what = "set attributes of mirror file";
		rv = mirror_fix(fd, &j->r, j->root);
	}
	e = errno;
	if (close(fd) == -1 && rv == 0) {
		*what = "patch mirror file in place";
		return -1;
	}
	errno = e;
	return rv;
}

/* One job; -1 with errno and *what on failure. */
static int
do_job(struct job *j, const char **what)
{
	struct stat st;
	int fd, rv, e;

	switch (j->kind) {
	case J_INC:
		if (write_inc(j, what) == -1)
			return -1;
		futimens(j->fd, (struct timespec[2]){ { 0, UTIME_NOW },
		    { (time_t)j->mtime, 0 } });
		if (fstat(j->fd, &st) == 0) {
			pthread_mutex_lock(&mu);
			written += (uint64_t)st.st_size;
			pthread_mutex_unlock(&mu);
		}
		if (j->name == NULL)
			return 0;
		if (j->still != -1)
			return patch_still(j, what);
		if (j->tmp != NULL)
			return renameat(j->dirfd, j->tmp, j->dirfd, j->name);
		*what = "remove mirror file";
		if (unlinkat(j->dirfd, j->name, 0) == -1 && errno != ENOENT)
			return -1;
		return 0;
	case J_DIR:
		*what = "set attributes of mirror directory";
		return mirror_fix(j->dirfd, &j->r, j->root);
	case J_EXT:
		*what = "open mirror entry";
		if ((fd = openat(j->dirfd, j->name, O_PATH | O_NOFOLLOW |
		    O_CLOEXEC)) == -1)
			return -1;
		rv = fstat(fd, &st) == -1 ? -1 : node_ext(fd, st.st_mode &
		    S_IFMT, j->ext, what);
		e = errno;
		close(fd);
		errno = e;
		return rv;
	default:
		*what = "remove mirror directory";
		if (unlinkat(j->dirfd, j->name, AT_REMOVEDIR) == -1 &&
		    rmtree_at(j->dirfd, j->name) == -1)
			return -1;
		*what = "rename into mirror";
		if (j->tmp != NULL &&
		    renameat(j->dirfd, j->tmp, j->dirfd, j->name) == -1)
			return -1;
		return 0;
	}
}

static void
run(struct job *j)
{
	const char *what;
	char *msg;
	size_t len;
	int e;

	pthread_mutex_lock(&mu);
	e = failure != NULL;
	pthread_mutex_unlock(&mu);
	if (!e && do_job(j, &what) == -1) {
		e = errno;
		len = strlen(what) + strlen(j->path) + strlen(strerror(e)) + 4;
		msg = xmalloc(len);
		snprintf(msg, len, "%s %s: %s", what, j->path, strerror(e));
		pthread_mutex_lock(&mu);
		/* the mirror's xattrs are a copy: a failure is said, not fatal */
		if (j->kind == J_EXT) {
			if (extfailed++ == 0) {
				extfailure = msg;
				exterrno = e;
				msg = NULL;
			}
		} else if (failure == NULL) {
			failure = msg;
			msg = NULL;
		}
		pthread_mutex_unlock(&mu);
		free(msg);
	}
	sig_free(j->sig);
	if (j->in != -1)
		close(j->in);
	if (j->fd != -1)
		close(j->fd);
	if (j->dirfd != -1)
		close(j->dirfd);
	if (j->still != -1)
		close(j->still);
	if (j->idirfd != -1)
		close(j->idirfd);
	free(j->tmp);
	free(j->name);
	free(j->path);
	rec_free(&j->r);
	nodeext_free(j->ext);
}

static void *
worker(void *arg)
{
	struct job j;

	(void)arg;
	pthread_mutex_lock(&mu);
	for (;;) {
		while (count == 0 && !stopping)
			pthread_cond_wait(&more, &mu);
		if (count == 0)
			break;
		j = q[head];
		head = (head + 1) % QLEN;
		count--;
		busy = 1;
		pthread_mutex_unlock(&mu);
		run(&j);
		pthread_mutex_lock(&mu);
		busy = 0;
		pthread_cond_broadcast(&room);
	}
	pthread_mutex_unlock(&mu);
	return NULL;
}

void
incq_start(void)
{
	pthread_attr_t a;

	if (running)
		return;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 512 << 10);	/* librsync's buffers */
	running = pthread_create(&thread, &a, worker, NULL) == 0;
	pthread_attr_destroy(&a);
}

static void
add(struct job *j)
{
	if (!running) {
		run(j);
		return;
	}
	pthread_mutex_lock(&mu);
	while (count == QLEN)
		pthread_cond_wait(&room, &mu);
	q[(head + count) % QLEN] = *j;
	count++;
	pthread_cond_signal(&more);
	pthread_mutex_unlock(&mu);
}

static int
dupdir(int fd)
{
	int d = fcntl(fd, F_DUPFD_CLOEXEC, 0);

	if (d == -1)
		err(EXIT_TEMP, "dup");
	return d;
}

void
incq_ext(int dirfd, const char *name, struct nodeext *ext, const char *path)
{
	struct job j;

	memset(&j, 0, sizeof j);
	j.still = j.idirfd = -1;
	j.kind = J_EXT;
	j.in = j.fd = -1;
	j.dirfd = dupdir(dirfd);
	j.name = xstrdup(name);
	j.ext = ext;
	j.path = xstrdup(shown(path));
	add(&j);
}

const char *
incq_ext_error(uint64_t *n, int *e)
{
	const char *msg;

	pthread_mutex_lock(&mu);
	*n = extfailed;
	*e = exterrno;
	msg = extfailure;
	pthread_mutex_unlock(&mu);
	return msg;
}

/* An increment job, of kind J_INC (see incq_inc). */
static void
inc_job(struct job *j, int in, int fd, int gz, struct sigmaker *sig,
    int64_t mtime, int dirfd, const char *tmp, const char *name,
    const char *path)
{
	memset(j, 0, sizeof *j);
	j->still = j->idirfd = -1;
	j->kind = J_INC;
	j->in = in;
	j->fd = fd;
	j->gz = gz;
	j->sig = sig;
	j->mtime = mtime;
	j->dirfd = name != NULL ? dupdir(dirfd) : -1;
	j->tmp = tmp ? xstrdup(tmp) : NULL;
	j->name = name ? xstrdup(name) : NULL;
	j->path = xstrdup(shown(path));
}

void
incq_inc(int in, int fd, int gz, struct sigmaker *sig, int64_t mtime,
    int dirfd, const char *tmp, const char *name, const char *path)
{
	struct job j;

	inc_job(&j, in, fd, gz, sig, mtime, dirfd, tmp, name, path);
	add(&j);
}

void
incq_inc_still(int in, int fd, int gz, struct sigmaker *sig, int64_t mtime,
    int idirfd, int dirfd, const char *name, const char *path, int still,
    const struct rec *n, int root)
{
	struct job j;

	inc_job(&j, in, fd, gz, sig, mtime, dirfd, NULL, name, path);
	j.idirfd = dupdir(idirfd);
	j.still = still;
	rec_copy(&j.r, n);
	j.root = root;
	add(&j);
}

void
incq_dir(int dirfd, const struct rec *r, int root)
{
	struct job j;

	memset(&j, 0, sizeof j);
	j.still = j.idirfd = -1;
	j.kind = J_DIR;
	j.in = j.fd = -1;
	j.dirfd = dupdir(dirfd);
	rec_copy(&j.r, r);
	j.root = root;
	j.path = xstrdup(shown(r->path));
	add(&j);
}

void
incq_rmdir(int dirfd, const char *name, const char *tmp, const char *path)
{
	struct job j;

	memset(&j, 0, sizeof j);
	j.still = j.idirfd = -1;
	j.kind = J_RMDIR;
	j.in = j.fd = -1;
	j.dirfd = dupdir(dirfd);
	j.name = xstrdup(name);
	j.tmp = tmp ? xstrdup(tmp) : NULL;
	j.path = xstrdup(shown(path));
	add(&j);
}

void
incq_drain(void)
{
	pthread_mutex_lock(&mu);
	while (count > 0 || busy)
		pthread_cond_wait(&room, &mu);
	pthread_mutex_unlock(&mu);
}

const char *
incq_error(void)
{
	const char *s;

	pthread_mutex_lock(&mu);
	s = failure;
	pthread_mutex_unlock(&mu);
	return s;
}

uint64_t
incq_finish(void)
{
	if (running) {
		pthread_mutex_lock(&mu);
		stopping = 1;
		pthread_cond_broadcast(&more);
		pthread_mutex_unlock(&mu);
		pthread_join(thread, NULL);
		running = stopping = 0;
	}
	return written;
}
