#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "atomic.h"
#include "gz.h"
#include "io.h"
#include "xalloc.h"

#define BUFSZ	65536

struct gzr {
	int		 fd;
	int		 gzip;		/* 1: inflate, 0: plain */
	int		 eof;		/* input exhausted */
	int		 done;		/* gzip: final stream ended, no more output */
	z_stream	 z;
	unsigned char	*in;		/* raw input */
	char		*out;		/* decoded bytes for gzr_line */
	size_t		 outpos, outlen;
	char		*line;
	size_t		 linecap;
};

struct gzw {
	int		 fd;
	int		 gzip;
	int		 err;
	z_stream	 z;
	unsigned char	*buf;
	size_t		 buflen;
	off_t		 count;
};

/*
 * zlib's allocator: its 64 KiB windows and tables come from the reuse
 * cache.  A header keeps the size, which zfree is not told.
 */
static void *
z_get(void *opaque, uInt items, uInt size)
{
	size_t n;
	char *p;

	(void)opaque;
	if (size_mul(&n, items, size) == -1 || size_add(&n, n, 16) == -1)
		return NULL;
	p = xbuf_get(n);
	memcpy(p, &n, sizeof n);
	return p + 16;
}

static void
z_put(void *opaque, void *p)
{
	size_t n;

	(void)opaque;
	memcpy(&n, (char *)p - 16, sizeof n);
	xbuf_put((char *)p - 16, n);
}

static int
fill(struct gzr *r)
{
	ssize_t n;

	if (r->eof)
		return 0;
	n = read_full(r->fd, r->in, BUFSZ);
	if (n == -1)
		return -1;
	if (n == 0)
		r->eof = 1;
	r->z.next_in = r->in;
	r->z.avail_in = (uInt)n;
	return 0;
}

struct gzr *
gzr_open(int fd, int gzip)
{
	struct gzr *r;

	r = xcalloc(1, sizeof *r);
	r->fd = fd;
	r->in = xbuf_get(BUFSZ);
	r->out = xbuf_get(BUFSZ);
	r->z.zalloc = z_get;
	r->z.zfree = z_put;
	if (fill(r) == -1) {
		gzr_close(r);
		return NULL;
	}
	r->gzip = gzip;
	/* 15 + 32: gzip or zlib header, detected automatically */
	if (r->gzip && inflateInit2(&r->z, 15 + 32) != Z_OK) {
		r->gzip = 0;
		gzr_close(r);
		errno = ENOMEM;
		return NULL;
	}
	return r;
}

/*
 * Decode into buf.  Concatenated gzip members are read as one stream,
 * as gzip(1) does; anything but a clean end of a member is EIO.
 */
ssize_t
gzr_read(struct gzr *r, void *buf, size_t n)
{
	size_t got;
	int zr;

	if (!r->gzip) {
		got = r->z.avail_in < n ? r->z.avail_in : n;
		if (got > 0) {
			memcpy(buf, r->z.next_in, got);
			r->z.next_in += got;
			r->z.avail_in -= (uInt)got;
			return (ssize_t)got;
		}
		if (r->eof)
			return 0;
		return read_full(r->fd, buf, n);
	}
	if (n > UINT32_MAX)
		n = UINT32_MAX;
	r->z.next_out = buf;
	r->z.avail_out = (uInt)n;
	while (r->z.avail_out == n && !r->done) {
		if (r->z.avail_in == 0) {
			if (fill(r) == -1)
				return -1;
			if (r->eof && r->z.avail_in == 0) {
				/* truncated: hand out what came, then fail */
				if (r->z.avail_out < n)
					break;
				errno = EIO;
				return -1;
			}
		}
		zr = inflate(&r->z, Z_NO_FLUSH);
		if (zr == Z_STREAM_END) {
			if (r->z.avail_in == 0 && fill(r) == -1)
				return -1;
			if (r->z.avail_in == 0)
				r->done = 1;
			else if (inflateReset(&r->z) != Z_OK) {
				errno = EIO;
				return -1;
			}
		} else if (zr != Z_OK && zr != Z_BUF_ERROR) {
			if (r->z.avail_out < n)
				break;
			errno = EIO;
			return -1;
		}
	}
	return (ssize_t)(n - r->z.avail_out);
}

int
gzr_line(struct gzr *r, char **linep, size_t *lenp, size_t max)
{
	size_t len = 0, take;
	ssize_t n;
	char *nl;

	for (;;) {
		if (r->outpos == r->outlen) {
			if ((n = gzr_read(r, r->out, BUFSZ)) == -1)
				return -1;
			r->outpos = 0;
			r->outlen = (size_t)n;
			if (n == 0) {
				if (len == 0)
					return 0;
				break;		/* last line without "\n" */
			}
		}
		nl = memchr(r->out + r->outpos, '\n', r->outlen - r->outpos);
		take = nl ? (size_t)(nl - (r->out + r->outpos)) :
		    r->outlen - r->outpos;
		if (len + take > max) {
			errno = EFBIG;
			return -1;
		}
		if (nl != NULL && len == 0) {
			/* whole in the buffer: handed out in place */
			*nl = '\0';
			*linep = r->out + r->outpos;
			*lenp = take;
			r->outpos += take + 1;
			return 1;
		}
		if (len + take + 1 > r->linecap) {
			r->linecap = (len + take + 1) * 2;
			r->line = xrealloc(r->line, r->linecap);
		}
		memcpy(r->line + len, r->out + r->outpos, take);
		len += take;
		r->outpos += take;
		if (nl) {
			r->outpos++;
			break;
		}
	}
	r->line[len] = '\0';
	*linep = r->line;
	*lenp = len;
	return 1;
}

int
gzr_close(struct gzr *r)
{
	int rv = 0;

	if (r == NULL)
		return 0;
	if (r->gzip)
		inflateEnd(&r->z);
	if (r->fd != -1 && close(r->fd) == -1)
		rv = -1;
	xbuf_put(r->in, BUFSZ);
	xbuf_put(r->out, BUFSZ);
	free(r->line);
	free(r);
	return rv;
}

struct gzw *
gzw_open(int fd, int level)
{
	struct gzw *w;

	w = xcalloc(1, sizeof *w);
	w->fd = fd;
	w->buf = xbuf_get(BUFSZ);
	w->z.zalloc = z_get;
	w->z.zfree = z_put;
	if (level > 0) {
		w->gzip = 1;
		/* 15 + 16: gzip wrapper */
		if (deflateInit2(&w->z, level, Z_DEFLATED, 15 + 16, 8,
		    Z_DEFAULT_STRATEGY) != Z_OK) {
			xbuf_put(w->buf, BUFSZ);
			free(w);
			errno = ENOMEM;
			return NULL;
		}
	}
	return w;
}

static int
deflate_out(struct gzw *w, int flush)
{
	int zr;

	do {
		w->z.next_out = w->buf;
		w->z.avail_out = BUFSZ;
		zr = deflate(&w->z, flush);
		if (zr == Z_STREAM_ERROR) {
			errno = EIO;
			return -1;
		}
		if (write_full(w->fd, w->buf, BUFSZ - w->z.avail_out) == -1)
			return -1;
	} while (w->z.avail_out == 0 || (flush == Z_FINISH && zr != Z_STREAM_END));
	return 0;
}

int
gzw_write(struct gzw *w, const void *p, size_t n)
{
	if (w->err) {
		errno = w->err;
		return -1;
	}
	w->count += (off_t)n;
	if (!w->gzip) {
		if (n >= BUFSZ - w->buflen) {
			if (write_full(w->fd, w->buf, w->buflen) == -1 ||
			    write_full(w->fd, p, n) == -1)
				goto fail;
			w->buflen = 0;
			return 0;
		}
		memcpy(w->buf + w->buflen, p, n);
		w->buflen += n;
		return 0;
	}
	while (n > 0) {
		uInt chunk = n > UINT32_MAX ? UINT32_MAX : (uInt)n;

		w->z.next_in = (unsigned char *)(uintptr_t)p;
		w->z.avail_in = chunk;
		if (deflate_out(w, Z_NO_FLUSH) == -1)
			goto fail;
		p = (const char *)p + chunk;
		n -= chunk;
	}
	return 0;
fail:
	w->err = errno;
	return -1;
}

int
gzw_puts(struct gzw *w, const char *s)
{
	return gzw_write(w, s, strlen(s));
}

off_t
gzw_count(struct gzw *w)
{
	return w->count;
}

int
gzw_close(struct gzw *w, int sync)
{
	int rv = 0, saved = 0;

	if (w->err) {
		saved = w->err;
		rv = -1;
	} else if (w->gzip) {
		w->z.next_in = NULL;
		w->z.avail_in = 0;
		if (deflate_out(w, Z_FINISH) == -1)
			rv = -1, saved = errno;
	} else if (write_full(w->fd, w->buf, w->buflen) == -1)
		rv = -1, saved = errno;
	if (w->gzip)
		deflateEnd(&w->z);
	if (rv == 0 && sync && sync_fd(w->fd) == -1)
		rv = -1, saved = errno;
	if (close(w->fd) == -1 && rv == 0)
		rv = -1, saved = errno;
	xbuf_put(w->buf, BUFSZ);
	free(w);
	if (rv == -1)
		errno = saved;
	return rv;
}
