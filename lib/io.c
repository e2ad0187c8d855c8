#include <sys/stat.h>
#include <sys/syscall.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "pathname.h"
#include "xalloc.h"

/* read(2) (off < 0) or pread(2) at off until n bytes or the end. */
static ssize_t
fill_full(int fd, void *buf, size_t n, off_t off)
{
	char *p = buf;
	size_t done = 0;
	ssize_t r;

	while (done < n) {
		r = off < 0 ? read(fd, p + done, n - done) :
		    pread(fd, p + done, n - done, off + (off_t)done);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

ssize_t
read_full(int fd, void *buf, size_t n)
{
	return fill_full(fd, buf, n, -1);
}

ssize_t
pread_full(int fd, void *buf, size_t n, off_t off)
{
	return fill_full(fd, buf, n, off);
}

int
write_full(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	ssize_t r;

	while (n > 0) {
		r = write(fd, p, n);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int
pwrite_full(int fd, const void *buf, size_t n, off_t off)
{
	const char *p = buf;
	ssize_t r;

	while (n > 0) {
		r = pwrite(fd, p, n, off);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += r;
		off += r;
		n -= (size_t)r;
	}
	return 0;
}

/*
 * Read what fd holds to its end into a new NUL-terminated buffer.  Fails
 * with EFBIG when that is more than max bytes, so a hostile file cannot
 * make us allocate without bound.
 */
int
read_fd(int fd, char **bufp, size_t *lenp, size_t max)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	ssize_t r;

	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 4096;
			buf = xrealloc(buf, cap + 1);
		}
		r = read(fd, buf + len, cap - len);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			free(buf);
			return -1;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > max) {
			free(buf);
			errno = EFBIG;
			return -1;
		}
	}
	buf[len] = '\0';
	*bufp = buf;
	if (lenp != NULL)
		*lenp = len;
	return 0;
}

/* read_fd of the file dirfd/path, not following a final symlink. */
int
read_file_at(int dirfd, const char *path, char **bufp, size_t *lenp,
    size_t max)
{
	int fd, rv, saved;

	if ((fd = openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return -1;
	rv = read_fd(fd, bufp, lenp, max);
	saved = errno;
	close(fd);
	errno = saved;
	return rv;
}

int
rmtree_at(int at, const char *name)
{
	DIR *d;
	struct dirent *de;
	int fd, saved = 0;

	if (unlinkat(at, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -1;
	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return -1;
	/* the stream takes fd: one descriptor a level of a deep tree */
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((de = dir_next(d)) != NULL)
		if (rmtree_at(fd, de->d_name) == -1 && saved == 0)
			saved = errno;
	if (saved == 0)
		saved = errno;
	closedir(d);
	if (unlinkat(at, name, AT_REMOVEDIR) == -1)
		return -1;
	if (saved != 0) {
		errno = saved;
		return -1;
	}
	return 0;
}

int
mkdir_parents(const char *path, mode_t mode)
{
	char *p = xstrdup(path), *s;
	size_t n = strlen(p);
	int saved;

	while (n > 1 && p[n - 1] == '/')
		p[--n] = '\0';		/* "a/b/" names a/b */
	for (s = p; *s == '/'; s++)
		;
	/* each component that a slash ends, but the last */
	while ((s = strchr(s, '/')) != NULL) {
		*s = '\0';
		if (mkdir(p, mode) == -1 && errno != EEXIST) {
			saved = errno;
			free(p);
			errno = saved;
			return -1;
		}
		for (*s++ = '/'; *s == '/'; s++)
			;
	}
	free(p);
	return 0;
}

int
birth_time(int dirfd, const char *name, int64_t *t)
{
	/* struct statx, read by offset: the kernel's ABI, not musl's */
	unsigned char b[256];
	uint32_t mask;
	int64_t sec;

	memset(b, 0, sizeof b);
	if (syscall(SYS_statx, dirfd, name, AT_SYMLINK_NOFOLLOW, 0x800U,
	    b) == -1)
		return -1;
	memcpy(&mask, b, sizeof mask);
	if (!(mask & 0x800U)) {		/* STATX_BTIME */
		errno = ENOTSUP;
		return -1;
	}
	memcpy(&sec, b + 0x50, sizeof sec);
	*t = sec;
	return 0;
}

int
errno_transient(int e)
{
	return e == ENOSPC || e == EDQUOT || e == EROFS || e == ENOMEM ||
	    e == EMFILE || e == ENFILE;
}
