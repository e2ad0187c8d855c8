#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "sparse.h"

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
	return 0;
}

int
sparse_finish(struct sparse *s)
{
	if (s->pos > s->written && ftruncate(s->fd, s->pos) == -1)
		return -1;
	return lseek(s->fd, s->pos, SEEK_SET) == -1 ? -1 : 0;
}
