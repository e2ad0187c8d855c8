#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prefetch.h"
#include "xalloc.h"

#define QLEN	16
#define MAXT	8

struct job {
	int	 dirfd;
	char	 name[256];	/* a file name: at most 255 bytes (NAME_MAX) */
};

static struct job	 q[QLEN];
static size_t		 head, count;
static int		 stopping, nthreads;
static pthread_t	 threads[MAXT];
static pthread_mutex_t	 mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 cv = PTHREAD_COND_INITIALIZER;

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

void
prefetch_file(int dirfd, const char *name)
{
	struct job *j;
	size_t len = strlen(name);
	int fd;

	if (nthreads == 0 || len >= sizeof q[0].name)
		return;
	pthread_mutex_lock(&mu);
	if (count < QLEN && (fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0)) != -1) {
		j = &q[(head + count) % QLEN];
		j->dirfd = fd;
		memcpy(j->name, name, len + 1);
		count++;
		pthread_cond_signal(&cv);
	}
	pthread_mutex_unlock(&mu);
}

void
prefetch_stop(void)
{
	int i;

	pthread_mutex_lock(&mu);
	stopping = 1;
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
