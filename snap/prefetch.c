#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "meta.h"
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
static char		*s_src;
static int		(*s_keep)(struct walk_ent *, void *);
static int		(*s_want)(struct walk_ent *, void *);
static void		*s_arg;
static uint64_t		 s_queued, s_passed, s_qbytes, s_pbytes;
static char		*s_pos;		/* the entry the scout is at */
static size_t		 s_poslen, s_poscap;
static int		 s_done, s_blocked, s_behind;
static pthread_cond_t	 moved = PTHREAD_COND_INITIALIZER; /* scout went on */

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
	struct walk *w;
	struct walk_ent *e;
	int go = 1, behind;

	(void)arg;
	if ((w = walk_open(s_src)) == NULL)
		goto out;
	while (go && walk_next(w, &e) == 1) {
		pthread_mutex_lock(&mu);
		if (s_poscap < e->pathlen + 1) {
			s_poscap = 2 * (e->pathlen + 1);
			s_pos = xrealloc(s_pos, s_poscap);
		}
		memcpy(s_pos, e->path, e->pathlen + 1);
		s_poslen = e->pathlen;
		if (s_behind)
			pthread_cond_broadcast(&moved);
		pthread_mutex_unlock(&mu);
		if (e->error)
			continue;
		if (!s_keep(e, s_arg)) {
			if (S_ISDIR(e->st.st_mode))
				walk_skip(w);
			continue;
		}
		if (!s_want(e, s_arg))
			continue;
		pthread_mutex_lock(&mu);
		while (!stopping && (s_queued >= s_passed + ahead_files ||
		    s_qbytes >= s_pbytes + AHEAD_BYTES)) {
			s_blocked = 1;		/* snap must not wait for it */
			pthread_cond_broadcast(&moved);
			pthread_cond_wait(&room, &mu);
		}
		s_blocked = 0;
		/* a file snap has passed already is not worth reading */
		behind = s_queued < s_passed;
		s_queued++;
		s_qbytes += (uint64_t)e->st.st_size;
		go = !stopping;
		pthread_mutex_unlock(&mu);
		if (go && !behind)
			go = enqueue(e->dirfd, e->name, 1);
	}
	walk_close(w);
out:
	pthread_mutex_lock(&mu);
	s_done = 1;
	pthread_cond_broadcast(&moved);
	pthread_mutex_unlock(&mu);
	return NULL;
}

/*
 * Wait, before snap lists the directory path, until the scout has listed
 * it (it is past it), unless the scout waits for snap or is done.  On a
 * mount-remote source the kernel then gives snap the listing it kept
 * (cache_readdir) instead of both walks taking every listing from the
 * daemon, entry by entry: that halves the time of an unchanged run.
 */
void
prefetch_behind(const char *path, size_t len)
{
	if (!scouting)
		return;
	pthread_mutex_lock(&mu);
	while (!stopping && !s_done && !s_blocked &&
	    (s_pos == NULL || pathcmp(s_pos, s_poslen, path, len) <= 0)) {
		s_behind = 1;
		pthread_cond_wait(&moved, &mu);
	}
	s_behind = 0;
	pthread_mutex_unlock(&mu);
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
	if (nthreads == 0 && !hinting)
		return 0;
	s_src = xstrdup(src);
	s_keep = keep;
	s_want = want;
	s_arg = arg;
	scouting = pthread_create(&scout, NULL, scout_main, NULL) == 0;
	return scouting;
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
	pthread_cond_broadcast(&moved);
	pthread_mutex_unlock(&mu);
	if (scouting) {
		pthread_join(scout, NULL);
		scouting = 0;
		free(s_src);
		free(s_pos);
		s_pos = NULL;
	}
	pthread_mutex_lock(&mu);
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
