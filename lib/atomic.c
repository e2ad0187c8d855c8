#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomic.h"
#include "io.h"
#include "xalloc.h"

static int nosync;

void
atomic_nosync(int off)
{
	nosync = off;
}

int
sync_fd(int fd)
{
	if (nosync)
		return 0;
	/* Some filesystems refuse fsync on directories; that is not a failure. */
	if (fsync(fd) == -1 && errno != EINVAL && errno != EROFS)
		return -1;
	return 0;
}

/*
 * Start replacing dirfd/name: creates (truncating a leftover) the temp
 * file "<name>.tmp" with the given mode.  Returns 0 or -1 with errno set.
 */
int
atomic_open(struct atomic *a, int dirfd, const char *name, mode_t mode)
{
	size_t n = strlen(name);

	a->dirfd = dirfd;
	a->name = xstrdup(name);
	a->tmp = xmalloc(n + sizeof ".tmp");
	memcpy(a->tmp, name, n);
	memcpy(a->tmp + n, ".tmp", sizeof ".tmp");
	a->fd = openat(dirfd, a->tmp,
	    O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
	if (a->fd == -1) {
		int saved = errno;

		free(a->name);
		free(a->tmp);
		a->name = a->tmp = NULL;
		errno = saved;
		return -1;
	}
	return 0;
}

/* Make the temp file durable and rename it into place; frees a. */
int
atomic_commit(struct atomic *a)
{
	int saved;

	if (sync_fd(a->fd) == -1)
		goto fail;
	if (close(a->fd) == -1) {
		a->fd = -1;
		goto fail;
	}
	a->fd = -1;
	if (renameat(a->dirfd, a->tmp, a->dirfd, a->name) == -1)
		goto fail;
	free(a->name);
	free(a->tmp);
	a->name = a->tmp = NULL;
	return sync_fd(a->dirfd);
fail:
	saved = errno;
	atomic_abort(a);
	errno = saved;
	return -1;
}

void
atomic_abort(struct atomic *a)
{
	int saved = errno;

	if (a->fd != -1)
		close(a->fd);
	if (a->tmp != NULL)
		unlinkat(a->dirfd, a->tmp, 0);
	free(a->name);
	free(a->tmp);
	a->fd = -1;
	a->name = a->tmp = NULL;
	errno = saved;
}

int
atomic_write(int dirfd, const char *name, const void *buf, size_t len,
    mode_t mode)
{
	struct atomic a;

	if (atomic_open(&a, dirfd, name, mode) == -1)
		return -1;
	if (write_full(a.fd, buf, len) == -1) {
		atomic_abort(&a);
		return -1;
	}
	return atomic_commit(&a);
}
