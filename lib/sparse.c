#define _GNU_SOURCE	/* sync_file_range: Linux, not POSIX */
#include <fcntl.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "sparse.h"

#define WRITEBACK	((off_t)8 << 20)

static int writeback;

void
sparse_writeback(int on)
{
	writeback = on;
}

/*
 * Start writing back what was written since the last call.  Errors are
 * the final fsync's to report.
 */
static void
start_writeback(struct sparse *s)
{
#ifdef SYNC_FILE_RANGE_WRITE
	if (s->written - s->started >= WRITEBACK) {
		(void)sync_file_range(s->fd, s->started,
		    s->written - s->started, SYNC_FILE_RANGE_WRITE);
		s->started = s->written;
	}
#else
	(void)s;
#endif
}

static int
allzero(const char *p, size_t n)
{
	static const char zero[4096];
	size_t k;

	while (n > 0) {
		k = n < sizeof zero ? n : sizeof zero;
		if (memcmp(p, zero, k) != 0)
			return 0;
		p += k;
		n -= k;
	}
	return 1;
}

void
sparse_init(struct sparse *s, int fd)
{
	s->fd = fd;
	s->pos = s->written = lseek(fd, 0, SEEK_CUR);
	if (s->pos == -1)
		s->pos = s->written = 0;
	s->started = s->pos;
}

int
sparse_write(struct sparse *s, const void *p, size_t n)
{
	const char *b = p;
	ssize_t w;

	if (n >= 512 && allzero(p, n)) {
		s->pos += (off_t)n;
		return 0;
	}
	while (n > 0) {
		w = pwrite(s->fd, b, n, s->pos);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		b += w;
		n -= (size_t)w;
		s->pos += w;
	}
	s->written = s->pos;
	if (writeback)
		start_writeback(s);
	return 0;
}

int
sparse_finish(struct sparse *s)
{
	if (s->pos > s->written && ftruncate(s->fd, s->pos) == -1)
		return -1;
	return lseek(s->fd, s->pos, SEEK_SET) == -1 ? -1 : 0;
}

int
sparse_pwrite(int fd, const void *p, size_t n, off_t off)
{
#ifdef FALLOC_FL_PUNCH_HOLE
	if (n >= 512 && allzero(p, n) && fallocate(fd, FALLOC_FL_PUNCH_HOLE |
	    FALLOC_FL_KEEP_SIZE, off, (off_t)n) == 0)
		return 0;
#endif
	return pwrite_full(fd, p, n, off);
}
