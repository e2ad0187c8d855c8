#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "xalloc.h"

void
rbuf_init(struct rbuf *b, const void *p, size_t len)
{
	b->p = p;
	b->len = len;
	b->off = 0;
}

size_t
rbuf_left(const struct rbuf *b)
{
	return b->len - b->off;
}

int
buf_get_u8(struct rbuf *b, uint8_t *v)
{
	if (rbuf_left(b) < 1)
		return -1;
	*v = b->p[b->off++];
	return 0;
}

int
buf_get_u32(struct rbuf *b, uint32_t *v)
{
	const unsigned char *p;

	if (rbuf_left(b) < 4)
		return -1;
	p = b->p + b->off;
	*v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
	b->off += 4;
	return 0;
}

int
buf_get_u64(struct rbuf *b, uint64_t *v)
{
	uint32_t hi, lo;

	if (rbuf_left(b) < 8)
		return -1;
	buf_get_u32(b, &hi);
	buf_get_u32(b, &lo);
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

int
buf_get_string(struct rbuf *b, const unsigned char **s, size_t *len)
{
	uint32_t n;
	size_t save = b->off;

	if (buf_get_u32(b, &n) == -1)
		return -1;
	if (rbuf_left(b) < n) {
		b->off = save;
		return -1;
	}
	*s = b->p + b->off;
	*len = n;
	b->off += n;
	return 0;
}

int
buf_skip(struct rbuf *b, size_t n)
{
	if (rbuf_left(b) < n)
		return -1;
	b->off += n;
	return 0;
}

void
wbuf_reserve(struct wbuf *b, size_t n)
{
	size_t need, cap;

	if (size_add(&need, b->len, n) == -1) {
		errno = ENOMEM;
		need = SIZE_MAX;	/* xrealloc below dies */
	}
	if (need <= b->cap)
		return;
	cap = b->cap ? b->cap : 256;
	while (cap < need && cap <= SIZE_MAX / 2)
		cap *= 2;
	if (cap < need)
		cap = need;
	b->p = xrealloc(b->p, cap);
	b->cap = cap;
}

void
buf_put_u8(struct wbuf *b, uint8_t v)
{
	wbuf_reserve(b, 1);
	b->p[b->len++] = v;
}

void
buf_set_u32(struct wbuf *b, size_t off, uint32_t v)
{
	b->p[off] = v >> 24;
	b->p[off + 1] = v >> 16;
	b->p[off + 2] = v >> 8;
	b->p[off + 3] = v;
}

void
buf_put_u32(struct wbuf *b, uint32_t v)
{
	wbuf_reserve(b, 4);
	b->len += 4;
	buf_set_u32(b, b->len - 4, v);
}

void
buf_put_u64(struct wbuf *b, uint64_t v)
{
	buf_put_u32(b, v >> 32);
	buf_put_u32(b, (uint32_t)v);
}

void
buf_put_bytes(struct wbuf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	wbuf_reserve(b, n);
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

void
buf_put_string(struct wbuf *b, const void *p, size_t n)
{
	buf_put_u32(b, (uint32_t)n);
	buf_put_bytes(b, p, n);
}

void
wbuf_free(struct wbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}
