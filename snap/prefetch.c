#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prefetch.h"
#include "walk.h"
#include "xalloc.h"
#include "xattr.h"

#define QLEN	32
#define MAXT	16
#define AHEAD_FILES	128		/* the scout's lead over snap */
#define AHEAD_BYTES	(256 << 20)
#define HINT_FILES	2048		/* its lead when the mount fetches */
#define HINT_NAME	"user.mount-remote.fetch"

struct job {
	int	 dirfd;
	char	 name[256];	/* a file name: at most 255 bytes (NAME_MAX) */
};

static struct job	 q[QLEN];
static size_t		 head, count;
static int		 stopping, nthreads, hinting;
static uint64_t		 ahead_files = AHEAD_FILES;
static pthread_t	 threads[MAXT];
static pthread_mutex_t	 mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 cv = PTHREAD_COND_INITIALIZER;	/* a job queued */
static pthread_cond_t	 room = PTHREAD_COND_INITIALIZER; /* a job taken, or
						    snap passed a file */

/* The scout, when there is one. */
static pthread_t	 scout;
static int		 scouting;
static int		(*s_keep)(struct walk_ent *, void *);
static int		(*s_want)(struct walk_ent *, void *);
static void		*s_arg;
static uint64_t		 s_queued, s_passed, s_qbytes, s_pbytes;
static struct walk	*s_walk;

/*
 * With a hinting mount the scout's walk is also snap's (a feed): the
 * entries it walked wait here, each with its directory's descriptor (a
 * duplicate, shared by the entries of one directory and closed after the
 * last), so every listing and lstat crosses FUSE once.
 */
#define FEEDQ	65536		/* entries walked ahead of snap */
#define FDIRS_MIN	64	/* directories open for them: a quarter */
#define FDIRS_MAX	8192	/* of RLIMIT_NOFILE, within these */

struct fdir {
	int		 fd;
	unsigned	 refs;
};

struct fent {
	char		*path;		/* and the name, at nameoff */
	size_t		 pathlen, nameoff;
	struct fdir	*dir;		/* NULL: AT_FDCWD (the root) */
	struct stat	 st;
	int		 depth, error, listerr, skipped;
};

static struct fent	 feedq[FEEDQ];
static size_t		 fhead, fcount, nfdirs, fdirs_max = FDIRS_MIN;
static int		 feeding, s_done;
static struct fent	 fcur;		/* the entry snap holds */
static pthread_cond_t	 fed = PTHREAD_COND_INITIALIZER;	/* an entry */
static pthread_cond_t	 taken = PTHREAD_COND_INITIALIZER; /* room */

static void
fdir_unref(struct fdir *d)
{
	if (d != NULL && --d->refs == 0) {
		close(d->fd);
		free(d);
		nfdirs--;
		pthread_cond_broadcast(&taken);
	}
}

/* Let go of an entry (mu held). */
static void
fent_free(struct fent *f)
{
	free(f->path);
	fdir_unref(f->dir);
	memset(f, 0, sizeof *f);
}

/*
 * Fill the feed's next slot with e (waiting for room), for feed_publish
 * to hand to snap; skipped: the scout does not enter it.  cur is the
 * directory of the last entry put (the scout holds a reference), reused
 * while the entries come from the same descriptor: the walk's
 * descriptors change with every directory change (the directory's own
 * entry comes between).  0 when stopping (nothing filled), 2 when the
 * entry goes with an error of its own (no descriptor for it).
 */
static int
feed_put(struct walk_ent *e, int skipped, struct fdir **cur, int *curfd)
{
	struct fent *f;
	struct fdir *d = NULL;
	int fd = -1, err = 0;

	pthread_mutex_lock(&mu);
	if (e->dirfd != AT_FDCWD) {
		if (*cur != NULL && *curfd == e->dirfd)
			d = *cur;
		else {
			while (!stopping && nfdirs >= fdirs_max)
				pthread_cond_wait(&taken, &mu);
			if ((fd = fcntl(e->dirfd, F_DUPFD_CLOEXEC, 0)) == -1)
				err = errno;
			else {
				d = xcalloc(1, sizeof *d);
				d->fd = fd;
				d->refs = 1;	/* the scout's, while current */
				nfdirs++;
			}
			fdir_unref(*cur);
			*cur = d;
			*curfd = e->dirfd;
		}
	}
	while (!stopping && fcount == FEEDQ)
		pthread_cond_wait(&taken, &mu);
	if (stopping) {
		pthread_mutex_unlock(&mu);
		return 0;
	}
	f = &feedq[(fhead + fcount) % FEEDQ];
	memset(f, 0, sizeof *f);
	f->path = xmalloc(e->pathlen + 1 + (e->pathlen == 0 ?
	    strlen(e->name) + 1 : 0));
	memcpy(f->path, e->path, e->pathlen + 1);
	f->pathlen = e->pathlen;
	if (e->pathlen == 0) {		/* the root: its name is the source */
		f->nameoff = 1;
		strcpy(f->path + 1, e->name);
	} else		/* the path ends with the name */
		f->nameoff = e->pathlen - strlen(e->name);
	f->st = e->st;
	f->depth = e->depth;
	f->error = e->error;
	f->listerr = e->listerr;
	f->skipped = skipped;
	if (e->dirfd != AT_FDCWD && d == NULL && !e->error) {
		f->error = err;		/* reported; the old version is kept */
		f->listerr = 0;
		f->skipped = 0;
	}
	if ((f->dir = d) != NULL)
		d->refs++;
	pthread_mutex_unlock(&mu);
	return f->error && !e->error ? 2 : 1;
}

/* Snap may take the slot feed_put filled. */
static void
feed_publish(void)
{
	pthread_mutex_lock(&mu);
	fcount++;
	pthread_cond_signal(&fed);
	pthread_mutex_unlock(&mu);
}

/* The feed's next: the scout's next entry, as walk_next gives it. */
static int
feed_get(void *arg, struct walk_ent *e)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	fent_free(&fcur);
	while (fcount == 0 && !s_done && !stopping)
		pthread_cond_wait(&fed, &mu);
	if (fcount == 0) {
		pthread_mutex_unlock(&mu);
		return 0;
	}
	fcur = feedq[fhead];
	fhead = (fhead + 1) % FEEDQ;
	fcount--;
	pthread_cond_signal(&taken);
	if (fcount == 0)
		pthread_cond_broadcast(&room);	/* a waiting scout goes on */
	pthread_mutex_unlock(&mu);
	memset(e, 0, sizeof *e);
	e->path = fcur.path;
	e->pathlen = fcur.pathlen;
	e->name = fcur.path + fcur.nameoff;
	e->dirfd = fcur.dir != NULL ? fcur.dir->fd : AT_FDCWD;
	e->depth = fcur.depth;
	e->error = fcur.error;
	e->listerr = fcur.listerr;
	e->st = fcur.st;
	return 1;
}

/*
 * Did the scout pass over (not enter) the directory the feed just gave?
 * Never without a feed.
 */
int
prefetch_fed_skipped(void)
{
	return fcur.skipped;
}

/* Read one file to the end, only for the page cache's sake. */
static void
warm(const struct job *j, char *buf, size_t len)
{
	struct stat st;
	ssize_t n;
	int fd;

	fd = openat(j->dirfd, j->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_NOCTTY | O_CLOEXEC);
	if (fd == -1)
		return;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_size <= PREFETCH_MAX)
		while ((n = read(fd, buf, len)) > 0 || (n == -1 && errno == EINTR))
			;
	close(fd);
}

static void *
worker(void *arg)
{
	struct job j;
	char *buf = xmalloc(65536);

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&mu);
		while (count == 0 && !stopping)
			pthread_cond_wait(&cv, &mu);
		if (count == 0) {
			pthread_mutex_unlock(&mu);
			break;
		}
		j = q[head];
		head = (head + 1) % QLEN;
		count--;
		pthread_cond_broadcast(&room);
		pthread_mutex_unlock(&mu);
		warm(&j, buf, 65536);
		close(j.dirfd);
	}
	free(buf);
	return NULL;
}

void
prefetch_start(int n)
{
	pthread_attr_t a;
	int i;

	if (n > MAXT)
		n = MAXT;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 64 << 10);
	for (i = 0; i < n; i++)
		if (pthread_create(&threads[nthreads], &a, worker, NULL) == 0)
			nthreads++;
	pthread_attr_destroy(&a);
}

/*
 * Queue dirfd/name for a worker.  With wait, wait for room, else drop
 * the job when the queue is full.  0 when stopping, else 1.
 */
static int
enqueue(int dirfd, const char *name, int wait)
{
	size_t len = strlen(name);
	int fd;

	if (hinting) {
		int go;

		/* the mount fetches it; snap's own open waits if need be */
		(void)xattr_get(dirfd, name, HINT_NAME, NULL, 0);
		pthread_mutex_lock(&mu);
		go = !stopping;
		pthread_mutex_unlock(&mu);
		return go;
	}
	if (nthreads == 0 || len >= sizeof q[0].name)
		return 1;
	pthread_mutex_lock(&mu);
	while (wait && count == QLEN && !stopping)
		pthread_cond_wait(&room, &mu);
	if (!stopping && count < QLEN &&
	    (fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0)) != -1) {
		q[(head + count) % QLEN].dirfd = fd;
		memcpy(q[(head + count) % QLEN].name, name, len + 1);
		count++;
		pthread_cond_signal(&cv);
	}
	pthread_mutex_unlock(&mu);
	return !stopping;
}

void
prefetch_file(int dirfd, const char *name)
{
	enqueue(dirfd, name, 0);
}

/*
 * The scout walks the source on its own, in snap's order, and queues
 * every file snap will likely read, staying at most AHEAD_FILES files
 * and AHEAD_BYTES ahead of the files snap has passed.  On a remote mount
 * that keeps many files in flight across directories, where a look
 * ahead within one directory finds one or two.  Errors are snap's to
 * report: the scout just goes on.
 */
static void *
scout_main(void *arg)
{
	struct walk_ent *e;
	struct fdir *cur = NULL;
	int go = 1, behind, curfd = -1, keep, r;

	(void)arg;
	while (go && walk_next(s_walk, &e) == 1) {
		keep = !e->error && s_keep(e, s_arg);
		r = 1;
		if (feeding && (r = feed_put(e, !keep &&
		    S_ISDIR(e->st.st_mode), &cur, &curfd)) == 0)
			break;
		/*
		 * A file is hinted before snap can take it from the feed:
		 * a hint that reaches the mount after snap's own open has
		 * the file fetched a second time.
		 */
		if (r == 1 && keep && s_want(e, s_arg)) {
			/* far enough ahead: wait, unless snap has taken
			 * all there is (it may never pass some it skips) */
			pthread_mutex_lock(&mu);
			while (!stopping && (!feeding || fcount > 0) &&
			    (s_queued >= s_passed + ahead_files ||
			    s_qbytes >= s_pbytes + AHEAD_BYTES))
				pthread_cond_wait(&room, &mu);
			/* a file snap has passed already is not worth reading */
			behind = s_queued < s_passed;
			s_queued++;
			s_qbytes += (uint64_t)e->st.st_size;
			go = !stopping;
			pthread_mutex_unlock(&mu);
			if (go && !behind)
				go = enqueue(e->dirfd, e->name, 1);
		}
		if (feeding)
			feed_publish();
		if (r == 2 || (!keep && !e->error && S_ISDIR(e->st.st_mode)))
			walk_skip(s_walk);	/* as snap will not enter it */
	}
	walk_close(s_walk);
	s_walk = NULL;
	pthread_mutex_lock(&mu);
	fdir_unref(cur);
	s_done = 1;
	pthread_cond_broadcast(&fed);
	pthread_mutex_unlock(&mu);
	return NULL;
}

/*
 * The source is a mount-remote mount that takes hints: tell it to list
 * the whole tree at src ahead, with the targets of the symlinks modified
 * since links_since (the others snap knows already), and let the scout
 * tell it which files to fetch instead of reading them in threads.  1
 * when the mount took it.
 */
int
prefetch_hints(const char *src, int64_t links_since)
{
	char name[64];

	snprintf(name, sizeof name, "user.mount-remote.walk.links-since.%lld",
	    (long long)(links_since > 0 ? links_since : 0));
	if (xattr_get(AT_FDCWD, src, name, NULL, 0) != 0 &&
	    xattr_get(AT_FDCWD, src, "user.mount-remote.walk", NULL, 0) != 0)
		return 0;
	hinting = 1;
	ahead_files = HINT_FILES;
	return 1;
}

int
prefetch_hinting(void)
{
	return hinting;
}

int
prefetch_scout(const char *src, int (*keep)(struct walk_ent *, void *),
    int (*want)(struct walk_ent *, void *), void *arg)
{
	struct rlimit rl;

	if (nthreads == 0 && !hinting)
		return 0;
	if ((s_walk = walk_open(src)) == NULL)
		return 0;	/* snap's own walk says why */
	s_keep = keep;
	s_want = want;
	s_arg = arg;
	feeding = hinting;
	/*
	 * The scout hints the files it finds ahead of snap; over a slow
	 * link it must be hundreds of directories ahead: a quarter of the
	 * descriptors (snap raised their limit to its hard maximum).
	 */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		fdirs_max = rl.rlim_cur == RLIM_INFINITY ||
		    rl.rlim_cur / 4 > FDIRS_MAX ? FDIRS_MAX :
		    rl.rlim_cur / 4 < FDIRS_MIN ? FDIRS_MIN : rl.rlim_cur / 4;
	if ((scouting = pthread_create(&scout, NULL, scout_main, NULL) == 0))
		return 1;
	walk_close(s_walk);
	s_walk = NULL;
	feeding = 0;
	return 0;
}

struct walk *
prefetch_feed(void)
{
	struct walk_feed f = { feed_get, NULL };

	return scouting && feeding ? walk_open_feed(&f) : NULL;
}

void
prefetch_passed(const struct stat *st)
{
	if (!scouting)
		return;
	pthread_mutex_lock(&mu);
	s_passed++;
	s_pbytes += (uint64_t)st->st_size;
	pthread_cond_broadcast(&room);
	pthread_mutex_unlock(&mu);
}

void
prefetch_stop(void)
{
	int i;

	pthread_mutex_lock(&mu);
	stopping = 1;
	pthread_cond_broadcast(&room);
	pthread_cond_broadcast(&taken);
	pthread_cond_broadcast(&fed);
	pthread_mutex_unlock(&mu);
	if (scouting) {
		pthread_join(scout, NULL);
		scouting = 0;
	}
	pthread_mutex_lock(&mu);
	fent_free(&fcur);
	while (fcount > 0) {
		fent_free(&feedq[fhead]);
		fhead = (fhead + 1) % FEEDQ;
		fcount--;
	}
	while (count > 0) {	/* what was not started is not needed now */
		close(q[head].dirfd);
		head = (head + 1) % QLEN;
		count--;
	}
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	for (i = 0; i < nthreads; i++)
		pthread_join(threads[i], NULL);
	nthreads = 0;
}
