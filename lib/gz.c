#include <sys/stat.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "atomic.h"
#include "buf.h"
#include "gz.h"
#include "io.h"
#include "xalloc.h"

#define BUFSZ	65536
#define CHUNK	(256 * 1024)	/* handed between threads in background mode */

/*
 * Seekable files (gzw_seekable): a member holds at least MEMBER_MIN
 * bytes, or a 512th of what came before it; the index of members is at
 * most INDEX_MAX bytes (later members go unlisted) and lists only keys
 * of at most KEY_MAX bytes.
 */
#define MEMBER_MIN	(64 * 1024)
#define INDEX_MAX	60000
#define KEY_MAX		1024
#define IX_VERSION	1

/*
 * Background mode: a second thread does the (de)compression while the
 * caller works on the other of two chunks.
 */
struct bg {
	pthread_t	 t;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	char		*buf[2];	/* the caller's and the thread's */
	size_t		 len;		/* of the thread's chunk */
	int		 busy;		/* the thread holds its chunk */
	int		 stop, err;
	int		 done;		/* reader: the thread has ended */
	ssize_t		 got;		/* reader: bytes decoded, -1 error */
	int		 cut;		/* writer: a member starts after the chunk */
	struct wbuf	 key;		/* ... with this first key */
};

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
	size_t		 carry;		/* gzr_record: the next record's first
					   bytes, a prefix of its lead */
	struct bg	*bg;
};

struct gzw {
	int		 fd;
	int		 gzip;
	int		 err;
	z_stream	 z;
	unsigned char	*buf;
	size_t		 buflen;
	off_t		 count;
	struct bg	*bg;
	size_t		 curlen;	/* filled part of bg->buf[0] */
	/* seekable: members begin at marks; their index ends the file */
	int		 seekable;
	int		 marked;	/* a member has been begun at a mark */
	off_t		 mstart;	/* count where the last began */
	uint64_t	 zout;		/* compressed bytes written */
	struct wbuf	 idx;		/* per member: u64 offset, string key */
	uint32_t	 nidx;
	int		 idxfull;
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

struct gzr *
gzr_open_at(int fd, int gzip, off_t off)
{
	if (lseek(fd, off, SEEK_SET) == -1) {
		close(fd);
		return NULL;
	}
	return gzr_open(fd, gzip);
}

struct gzindex {
	unsigned char	*blob;		/* the "Bx" subfield's data */
	uint32_t	 n;
	size_t		*at;		/* each entry's place in blob */
};

/* Little-endian 16 bits at p. */
static size_t
le16(const unsigned char *p)
{
	return (size_t)p[0] | (size_t)p[1] << 8;
}

struct gzindex *
gzindex_read(int fd)
{
	static const unsigned char tail[10] = { 3, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	unsigned char end[18], *m = NULL;
	struct gzindex *ix = NULL;
	struct rbuf b;
	struct stat st;
	uint64_t off, last = 0;
	uint32_t total, n, i;
	const unsigned char *key;
	size_t xlen, bx, klen;
	uint8_t ver;

	if (fstat(fd, &st) == -1)
		return NULL;
	/* the file ends with "Bz" (the member's length), then tail */
	if (st.st_size < 12 + 8 + 10 + 9 ||
	    pread_full(fd, end, sizeof end, st.st_size - sizeof end) !=
	    (ssize_t)sizeof end)
		goto none;
	if (memcmp(end + 8, tail, sizeof tail) != 0 || end[0] != 'B' ||
	    end[1] != 'z' || end[2] != 4 || end[3] != 0)
		goto none;
	rbuf_init(&b, end + 4, 4);
	buf_get_u32(&b, &total);
	if (total < 12 + 8 + 10 + 9 || total > 12 + 65535 + 10 ||
	    (off_t)total > st.st_size)
		goto bad;
	m = xmalloc(total);
	if (pread_full(fd, m, total, st.st_size - total) != (ssize_t)total)
		goto bad;
	xlen = le16(m + 10);
	if (m[0] != 0x1f || m[1] != 0x8b || m[2] != 8 || m[3] != 4 ||
	    xlen != total - 22 || m[12] != 'B' || m[13] != 'x' ||
	    (bx = le16(m + 14)) != xlen - 12)
		goto bad;
	ix = xcalloc(1, sizeof *ix);
	ix->blob = (unsigned char *)xmemdup(m + 16, bx);
	rbuf_init(&b, ix->blob, bx);
	if (buf_get_u8(&b, &ver) == -1 || ver != IX_VERSION ||
	    buf_get_u32(&b, &n) == -1 || n == 0 || n > bx / 12)
		goto bad;
	ix->at = xreallocarray(NULL, n, sizeof *ix->at);
	for (i = 0; i < n; i++) {
		ix->at[i] = b.off;
		if (buf_get_u64(&b, &off) == -1 ||
		    buf_get_string(&b, &key, &klen) == -1 ||
		    (i == 0 ? off != 0 : off <= last) ||
		    off >= (uint64_t)st.st_size - total)
			goto bad;
		last = off;
	}
	if (rbuf_left(&b) != 0)
		goto bad;
	ix->n = n;
	free(m);
	return ix;
none:
	errno = ENOENT;
	return NULL;
bad:
	free(m);
	gzindex_free(ix);
	errno = EBADMSG;
	return NULL;
}

size_t
gzindex_count(const struct gzindex *ix)
{
	return ix->n;
}

void
gzindex_entry(const struct gzindex *ix, size_t i, uint64_t *off,
    const char **key, size_t *keylen)
{
	struct rbuf b;
	const unsigned char *k;

	rbuf_init(&b, ix->blob, SIZE_MAX);
	b.off = ix->at[i];
	buf_get_u64(&b, off);
	buf_get_string(&b, &k, keylen);
	*key = (const char *)k;
}

void
gzindex_free(struct gzindex *ix)
{
	if (ix == NULL)
		return;
	free(ix->blob);
	free(ix->at);
	free(ix);
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

static void
bg_init(struct bg *b)
{
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->cv, NULL);
	b->buf[0] = xbuf_get(CHUNK);
	b->buf[1] = xbuf_get(CHUNK);
}

static void
bg_free(struct bg *b)
{
	pthread_mutex_destroy(&b->mu);
	pthread_cond_destroy(&b->cv);
	xbuf_put(b->buf[0], CHUNK);
	xbuf_put(b->buf[1], CHUNK);
	wbuf_free(&b->key);
	free(b);
}

/* Reader thread: decode a chunk whenever the caller gave one back. */
static void *
bg_reader(void *arg)
{
	struct gzr *r = arg;
	struct bg *b = r->bg;
	size_t len;
	ssize_t n;
	int e = 0;

	pthread_mutex_lock(&b->mu);
	for (;;) {
		while (b->busy == 0 && !b->stop)
			pthread_cond_wait(&b->cv, &b->mu);
		if (b->stop)
			break;
		pthread_mutex_unlock(&b->mu);
		len = 0;
		do {
			n = gzr_read(r, b->buf[1] + len, CHUNK - len);
			if (n > 0)
				len += (size_t)n;
		} while (n > 0 && len < CHUNK);
		if (n == -1)
			e = errno;
		pthread_mutex_lock(&b->mu);
		b->got = n == -1 && len == 0 ? -1 : (ssize_t)len;
		b->err = n == -1 ? e : 0;
		b->done = n <= 0;
		b->busy = 0;	/* filled: the caller's to take */
		pthread_cond_broadcast(&b->cv);
		if (n <= 0)
			break;	/* end or error: nothing more to decode */
	}
	pthread_mutex_unlock(&b->mu);
	return NULL;
}

/*
 * The next decoded chunk becomes r->out; the one read gives the thread
 * room.  An error after some bytes is reported at the following call.
 */
static ssize_t
bg_take(struct gzr *r)
{
	struct bg *b = r->bg;
	ssize_t got;
	char *t;

	pthread_mutex_lock(&b->mu);
	while (b->busy)
		pthread_cond_wait(&b->cv, &b->mu);
	got = b->got;
	if (got > 0) {
		t = b->buf[1];
		b->buf[1] = r->out;
		r->out = t;
		if (b->done)
			b->got = b->err ? -1 : 0;	/* for the next call */
		else {
			b->got = 0;
			b->busy = 1;
			pthread_cond_broadcast(&b->cv);
		}
	} else if (got == -1) {
		errno = b->err ? b->err : EIO;
	}
	pthread_mutex_unlock(&b->mu);
	return got;
}

int
gzr_background(struct gzr *r)
{
	struct bg *b = xcalloc(1, sizeof *b);

	bg_init(b);
	/* gzr_line's buffer takes the size of a chunk */
	xbuf_put(r->out, BUFSZ);
	r->out = b->buf[0];
	b->buf[0] = NULL;
	b->busy = 1;
	r->bg = b;
	if (pthread_create(&b->t, NULL, bg_reader, r) != 0) {
		r->bg = NULL;
		b->buf[0] = r->out;
		r->out = xbuf_get(BUFSZ);
		bg_free(b);
		return -1;
	}
	return 0;
}

/* The next decoded chunk into r->out: its length, 0 at the end, -1. */
static ssize_t
refill(struct gzr *r)
{
	ssize_t n;

	if ((n = r->bg ? bg_take(r) : gzr_read(r, r->out, BUFSZ)) == -1)
		return -1;
	r->outpos = 0;
	r->outlen = (size_t)n;
	return n;
}

/* Append p[0..n) to r->line, which holds len bytes. */
static void
line_add(struct gzr *r, size_t *len, const char *p, size_t n)
{
	if (*len + n + 1 > r->linecap) {
		r->linecap = (*len + n + 1) * 2;
		r->line = xrealloc(r->line, r->linecap);
	}
	memcpy(r->line + *len, p, n);
	*len += n;
}

int
gzr_line(struct gzr *r, char **linep, size_t *lenp, size_t max)
{
	size_t len = 0, take;
	ssize_t n;
	char *nl;

	for (;;) {
		if (r->outpos == r->outlen) {
			if ((n = refill(r)) == -1)
				return -1;
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
		line_add(r, &len, r->out + r->outpos, take);
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

/*
 * Where in p[from..n) a line starting with lead (ll bytes) begins: the
 * index of the "\n" before it (FOUND), else NOTFOUND with *next = n, or
 * UNDECIDED with *next at a "\n" followed by too few bytes to tell.
 * Each "\n" decided on is counted in *lines.
 */
#define FOUND		1
#define NOTFOUND	0
#define UNDECIDED	2

static int
boundary(const char *p, size_t from, size_t n, const char *lead, size_t ll,
    unsigned long *lines, size_t *next)
{
	const char *q;
	size_t i = from, qi;

	while ((q = memchr(p + i, '\n', n - i)) != NULL) {
		qi = (size_t)(q - p);
		if (qi + 1 + ll > n &&
		    memcmp(p + qi + 1, lead, n - qi - 1) == 0) {
			*next = qi;
			return UNDECIDED;
		}
		(*lines)++;
		if (qi + 1 + ll <= n && memcmp(p + qi + 1, lead, ll) == 0) {
			*next = qi;
			return FOUND;
		}
		i = qi + 1;
	}
	*next = n;
	return NOTFOUND;
}

int
gzr_record(struct gzr *r, const char *lead, char **recp, size_t *lenp,
    size_t max, unsigned long *lines)
{
	size_t ll = strlen(lead), len = 0, scan = 0, old, from, next;
	ssize_t n;
	int f;

	*lines = 0;
	if (r->carry > 0) {
		line_add(r, &len, lead, r->carry);
		r->carry = 0;
	} else {
		if (r->outpos == r->outlen && (n = refill(r)) <= 0)
			return (int)n;
		/* most records lie whole in the chunk: handed out in place */
		f = boundary(r->out, r->outpos, r->outlen, lead, ll, lines,
		    &next);
		if (f == FOUND) {
			if (next + 1 - r->outpos > max)
				goto big;
			*recp = r->out + r->outpos;
			*lenp = next + 1 - r->outpos;
			r->outpos = next + 1;
			return 1;
		}
		line_add(r, &len, r->out + r->outpos, r->outlen - r->outpos);
		scan = next - r->outpos;
		r->outpos = r->outlen;
	}
	for (;;) {
		/* what is decided to be this record's already: too much? */
		if (scan > max)
			goto big;
		if (r->outpos == r->outlen) {
			if ((n = refill(r)) == -1)
				return -1;
			if (n == 0) {
				/* the last record; a "\n" left undecided counts */
				if (boundary(r->line, scan, len, lead, ll,
				    lines, &next) == UNDECIDED)
					(*lines)++;
				if (len == 0)
					return 0;
				if (len > max)
					goto big;
				if (r->line[len - 1] != '\n')
					line_add(r, &len, "\n", 1);
				*recp = r->line;
				*lenp = len;
				return 1;
			}
		}
		old = len;
		from = r->outpos;
		line_add(r, &len, r->out + from, r->outlen - from);
		r->outpos = r->outlen;
		if ((f = boundary(r->line, scan, len, lead, ll, lines,
		    &next)) == FOUND) {
			if (next + 1 > max)
				goto big;
			if (next + 1 >= old)	/* the rest stays in r->out */
				r->outpos = from + (next + 1 - old);
			else {
				/* the lead began in r->line: keep its start */
				r->carry = old - (next + 1);
				r->outpos = from;
			}
			*recp = r->line;
			*lenp = next + 1;
			return 1;
		}
		scan = next;
	}
big:
	errno = EFBIG;
	return -1;
}

int
gzr_close(struct gzr *r)
{
	int rv = 0;

	if (r == NULL)
		return 0;
	if (r->bg != NULL) {
		pthread_mutex_lock(&r->bg->mu);
		r->bg->stop = 1;
		pthread_cond_broadcast(&r->bg->cv);
		pthread_mutex_unlock(&r->bg->mu);
		pthread_join(r->bg->t, NULL);
		r->bg->buf[0] = r->out;
		r->out = NULL;
		bg_free(r->bg);
	}
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
		w->zout += BUFSZ - w->z.avail_out;
	} while (w->z.avail_out == 0 || (flush == Z_FINISH && zr != Z_STREAM_END));
	return 0;
}

/* Compress p into the stream (not in background mode). */
static int
deflate_in(struct gzw *w, const void *p, size_t n)
{
	while (n > 0) {
		uInt chunk = n > UINT32_MAX ? UINT32_MAX : (uInt)n;

		w->z.next_in = (unsigned char *)(uintptr_t)p;
		w->z.avail_in = chunk;
		if (deflate_out(w, Z_NO_FLUSH) == -1)
			return -1;
		p = (const char *)p + chunk;
		n -= chunk;
	}
	return 0;
}

/*
 * Begin a member whose first record has key: end the one being written
 * (if it holds anything) and list the new one while the index has room.
 */
static int
member_cut(struct gzw *w, const void *key, size_t keylen)
{
	if (w->idxfull || w->idx.len + 12 + keylen > INDEX_MAX) {
		w->idxfull = 1;		/* the member goes on */
		return 0;
	}
	if (w->zout > 0 || w->z.total_in > 0) {
		w->z.next_in = NULL;
		w->z.avail_in = 0;
		if (deflate_out(w, Z_FINISH) == -1)
			return -1;
		if (deflateReset(&w->z) != Z_OK) {
			errno = EIO;
			return -1;
		}
	}
	buf_put_u64(&w->idx, w->zout);
	buf_put_string(&w->idx, key, keylen);
	w->nidx++;
	return 0;
}

/* Writer thread: compress each chunk the caller hands over. */
static void *
bg_writer(void *arg)
{
	struct gzw *w = arg;
	struct bg *b = w->bg;
	int e;

	pthread_mutex_lock(&b->mu);
	for (;;) {
		while (!b->busy && !b->stop)
			pthread_cond_wait(&b->cv, &b->mu);
		if (!b->busy)
			break;
		pthread_mutex_unlock(&b->mu);
		e = b->err == 0 && deflate_in(w, b->buf[1], b->len) == -1 ?
		    errno : 0;
		if (e == 0 && b->err == 0 && b->cut &&
		    member_cut(w, b->key.p, b->key.len) == -1)
			e = errno;
		b->cut = 0;
		pthread_mutex_lock(&b->mu);
		if (e && b->err == 0)
			b->err = e;
		b->busy = 0;
		pthread_cond_broadcast(&b->cv);
	}
	pthread_mutex_unlock(&b->mu);
	return NULL;
}

/*
 * Hand the filled chunk to the thread once it is free, and with key a
 * member to begin after it; -1 on the thread's error.
 */
static int
bg_hand(struct gzw *w, const void *key, size_t keylen)
{
	struct bg *b = w->bg;
	char *t;
	int e;

	pthread_mutex_lock(&b->mu);
	while (b->busy)
		pthread_cond_wait(&b->cv, &b->mu);
	if ((e = b->err) == 0 && (w->curlen > 0 || key != NULL)) {
		t = b->buf[1];
		b->buf[1] = b->buf[0];
		b->buf[0] = t;
		b->len = w->curlen;
		w->curlen = 0;
		if (key != NULL) {
			b->cut = 1;
			b->key.len = 0;
			buf_put_bytes(&b->key, key, keylen);
		}
		b->busy = 1;
		pthread_cond_broadcast(&b->cv);
	}
	pthread_mutex_unlock(&b->mu);
	if (e) {
		errno = e;
		return -1;
	}
	return 0;
}

int
gzw_background(struct gzw *w)
{
	struct bg *b;

	if (!w->gzip)
		return 0;	/* nothing to take off the caller */
	b = xcalloc(1, sizeof *b);
	bg_init(b);
	w->bg = b;
	if (pthread_create(&b->t, NULL, bg_writer, w) != 0) {
		w->bg = NULL;
		bg_free(b);
		return -1;
	}
	return 0;
}

/* Stop the thread after the last chunk; -1 with errno on its error. */
static int
bg_stop(struct gzw *w)
{
	struct bg *b = w->bg;
	int rv;

	rv = bg_hand(w, NULL, 0);
	pthread_mutex_lock(&b->mu);
	b->stop = 1;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
	pthread_join(b->t, NULL);
	if (rv == 0 && b->err) {
		errno = b->err;
		rv = -1;
	}
	w->bg = NULL;
	bg_free(b);
	return rv;
}

int
gzw_write(struct gzw *w, const void *p, size_t n)
{
	size_t k;

	if (w->err) {
		errno = w->err;
		return -1;
	}
	w->count += (off_t)n;
	if (w->bg != NULL) {
		while (n > 0) {
			k = CHUNK - w->curlen < n ? CHUNK - w->curlen : n;
			memcpy(w->bg->buf[0] + w->curlen, p, k);
			w->curlen += k;
			p = (const char *)p + k;
			n -= k;
			if (w->curlen == CHUNK && bg_hand(w, NULL, 0) == -1)
				goto fail;
		}
		return 0;
	}
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
	if (deflate_in(w, p, n) == -1)
		goto fail;
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

void
gzw_seekable(struct gzw *w)
{
	w->seekable = w->gzip;
}

int
gzw_mark(struct gzw *w, const void *key, size_t keylen)
{
	off_t least = w->count / 512 > MEMBER_MIN ? w->count / 512 :
	    MEMBER_MIN;

	if (w->err) {
		errno = w->err;
		return -1;
	}
	if (!w->seekable || keylen > KEY_MAX ||
	    (w->marked && w->count - w->mstart < least))
		return 0;
	w->marked = 1;
	w->mstart = w->count;
	if ((w->bg != NULL ? bg_hand(w, key, keylen) :
	    member_cut(w, key, keylen)) == -1) {
		w->err = errno;
		return -1;
	}
	return 0;
}

/*
 * The last member of a seekable file: empty, its extra field holding
 * the index ("Bx": version, count, then per member its offset and first
 * key) and the member's own length ("Bz", last, so that a reader finds
 * it from the file's end).
 */
static int
write_index(struct gzw *w)
{
	static const unsigned char head[10] = { 0x1f, 0x8b, 8, 4, 0, 0, 0, 0,
	    0, 255 };
	static const unsigned char tail[10] = { 3, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	struct wbuf m = { 0 };
	size_t bx = 5 + w->idx.len, xlen = 4 + bx + 8, total;
	int rv;

	total = sizeof head + 2 + xlen + sizeof tail;
	buf_put_bytes(&m, head, sizeof head);
	buf_put_u8(&m, xlen & 0xff);
	buf_put_u8(&m, xlen >> 8);
	buf_put_u8(&m, 'B');
	buf_put_u8(&m, 'x');
	buf_put_u8(&m, bx & 0xff);
	buf_put_u8(&m, bx >> 8);
	buf_put_u8(&m, IX_VERSION);
	buf_put_u32(&m, w->nidx);
	buf_put_bytes(&m, w->idx.p, w->idx.len);
	buf_put_u8(&m, 'B');
	buf_put_u8(&m, 'z');
	buf_put_u8(&m, 4);
	buf_put_u8(&m, 0);
	buf_put_u32(&m, (uint32_t)total);
	buf_put_bytes(&m, tail, sizeof tail);
	rv = write_full(w->fd, m.p, m.len);
	wbuf_free(&m);
	return rv;
}

int
gzw_close(struct gzw *w, int sync)
{
	int rv = 0, saved = 0;

	if (w->bg != NULL && bg_stop(w) == -1 && !w->err)
		w->err = errno;
	if (w->err) {
		saved = w->err;
		rv = -1;
	} else if (w->gzip) {
		w->z.next_in = NULL;
		w->z.avail_in = 0;
		if (deflate_out(w, Z_FINISH) == -1 ||
		    (w->nidx > 0 && write_index(w) == -1))
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
	wbuf_free(&w->idx);
	free(w);
	if (rv == -1)
		errno = saved;
	return rv;
}
