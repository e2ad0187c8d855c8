#include <sys/stat.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <librsync.h>

#include "bsig.h"
#include "buf.h"
#include "delta.h"
#include "gz.h"
#include "io.h"
#include "sparse.h"
#include "xalloc.h"

#define CHUNK	65536

static uint64_t chunks;		/* read, for delta_progress */

void
delta_tick(void)
{
	__atomic_add_fetch(&chunks, 1, __ATOMIC_RELAXED);
}

uint64_t
delta_progress(void)
{
	return __atomic_load_n(&chunks, __ATOMIC_RELAXED);
}

/* librsync would print its own errors; ours name the file instead. */
static void
quiet(rs_loglevel level, char const *msg)
{
	(void)level;
	(void)msg;
}

static void
setup(void)
{
	static int done;

	if (!done) {
		rs_trace_to(quiet);
		done = 1;
	}
}

struct revdelta;

struct sigmaker {
	rs_job_t	*job;
	struct wbuf	 sig;		/* the signature stream */
	rs_signature_t	*sums;
	int		 failed;
	struct revdelta	*rev;		/* or a delta known from a patch */
};

static int	rev_delta(struct revdelta *, int,
		    int (*)(void *, const char *, size_t), void *);
static void	rev_free(struct revdelta *);

/* Run job over in[0..n) (eof: no more input); output goes to out(). */
static int
drive(rs_job_t *job, const void *in, size_t n, int eof,
    int (*out)(void *, const char *, size_t), void *arg)
{
	rs_buffers_t b;
	rs_result r;
	char buf[CHUNK];
	size_t before;
	int stuck = 0;

	memset(&b, 0, sizeof b);
	b.next_in = (char *)(uintptr_t)in;
	b.avail_in = n;
	b.eof_in = eof;
	for (;;) {
		b.next_out = buf;
		b.avail_out = sizeof buf;
		before = b.avail_in;
		r = rs_job_iter(job, &b);
		if (b.avail_out < sizeof buf &&
		    out(arg, buf, sizeof buf - b.avail_out) == -1)
			return -1;
		if (r == RS_DONE)
			return 0;
		if (r != RS_BLOCKED) {
			errno = r == RS_IO_ERROR ? EIO : r == RS_MEM_ERROR ?
			    ENOMEM : EIO;
			return -1;
		}
		/* blocked: done when all input is taken and no output is due */
		if (b.avail_in == 0 && b.avail_out > 0 && !eof)
			return 0;
		/* never spin on a job that takes no input and gives no output */
		if (b.avail_in == before && b.avail_out == sizeof buf &&
		    ++stuck > 3) {
			errno = EIO;
			return -1;
		}
	}
}

static int
sig_out(void *arg, const char *p, size_t n)
{
	struct sigmaker *s = arg;

	buf_put_bytes(&s->sig, p, n);
	return 0;
}

struct sigmaker *
sig_begin(uint64_t size)
{
	return sig_begin_strong(size, RS_MAX_STRONG_SUM_LENGTH);
}

struct sigmaker *
sig_begin_strong(uint64_t size, size_t minstrong)
{
	struct sigmaker *s;
	rs_magic_number magic = RS_RK_BLAKE2_SIG_MAGIC;
	size_t block = 0, strong = (size_t)-1;	/* the least that is safe */

	if (rs_sig_args((rs_long_t)(size > INT64_MAX ? INT64_MAX : size),
	    &magic, &block, &strong) != RS_DONE) {
		block = RS_DEFAULT_BLOCK_LEN;
		strong = RS_MAX_STRONG_SUM_LENGTH;
	}
	if (strong < minstrong)
		strong = minstrong;
	if (strong > RS_MAX_STRONG_SUM_LENGTH)
		strong = RS_MAX_STRONG_SUM_LENGTH;
	setup();
	s = xcalloc(1, sizeof *s);
	if ((s->job = rs_sig_begin(block, strong, magic)) == NULL) {
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	return s;
}

int
sig_update(struct sigmaker *s, const void *p, size_t n)
{
	if (s->failed || s->rev != NULL) {
		errno = EINVAL;
		return -1;
	}
	if (drive(s->job, p, n, 0, sig_out, s) == -1) {
		s->failed = 1;
		return -1;
	}
	return 0;
}

int
sig_tap(void *s, const void *p, size_t n)
{
	return sig_update(s, p, n);
}

/* Finish the signature stream and load it into a hash table. */
static int
sig_finish(struct sigmaker *s)
{
	rs_job_t *load;
	int rv;

	if (s->sums != NULL)
		return 0;
	if (s->failed || (s->job != NULL &&
	    drive(s->job, NULL, 0, 1, sig_out, s) == -1))
		return -1;
	if (s->job != NULL)
		rs_job_free(s->job);
	s->job = NULL;
	if ((load = rs_loadsig_begin(&s->sums)) == NULL)
		return -1;
	rv = drive(load, s->sig.p, s->sig.len, 1, sig_out, s);
	rs_job_free(load);
	wbuf_free(&s->sig);
	if (rv == -1 || rs_build_hash_table(s->sums) != RS_DONE) {
		errno = EIO;
		return -1;
	}
	return 0;
}

static int
gzw_out(void *arg, const char *p, size_t n)
{
	return gzw_write(arg, p, n);
}

int
sig_delta(struct sigmaker *s, int fd, struct gzw *w)
{
	return sig_delta_to(s, fd, gzw_out, w);
}

int
sig_delta_to(struct sigmaker *s, int fd,
    int (*out)(void *, const char *, size_t), void *arg)
{
	rs_job_t *job;
	char *buf;
	ssize_t n;
	int rv = -1;

	if (s->rev != NULL)
		return rev_delta(s->rev, fd, out, arg);
	if (sig_finish(s) == -1)
		return -1;
	if ((job = rs_delta_begin(s->sums)) == NULL)
		return -1;
	buf = xbuf_get(CHUNK);
	for (;;) {
		delta_tick();
		if ((n = read_full(fd, buf, CHUNK)) == -1)
			goto out;
		if (drive(job, buf, (size_t)n, n == 0, out, arg) == -1)
			goto out;
		if (n == 0)
			break;
	}
	rv = 0;
out:
	xbuf_put(buf, CHUNK);
	rs_job_free(job);
	return rv;
}

const void *
sig_stream(struct sigmaker *s, size_t *len)
{
	if (s->sums != NULL || s->failed || s->rev != NULL ||
	    (s->job != NULL && drive(s->job, NULL, 0, 1, sig_out, s) == -1)) {
		errno = EINVAL;
		return NULL;
	}
	if (s->job != NULL) {
		rs_job_free(s->job);
		s->job = NULL;
	}
	*len = s->sig.len;
	return s->sig.p;
}

struct sigmaker *
sig_load(const void *p, size_t len)
{
	struct sigmaker *s;

	setup();
	s = xcalloc(1, sizeof *s);
	buf_put_bytes(&s->sig, p, len);
	if (sig_finish(s) == -1) {
		sig_free(s);
		errno = EINVAL;
		return NULL;
	}
	return s;
}

void
sig_free(struct sigmaker *s)
{
	if (s == NULL)
		return;
	if (s->job != NULL)
		rs_job_free(s->job);
	if (s->sums != NULL)
		rs_free_sumset(s->sums);
	rev_free(s->rev);
	wbuf_free(&s->sig);
	free(s);
}

/*
 * The delta format (librsync's): a magic number, then commands, each an
 * opcode and big-endian integers: 0 ends; 0x01-0x40 are literals of that
 * many bytes; 0x41-0x44 literals whose length follows in 1, 2, 4 or 8
 * bytes; 0x45-0x54 copies from the basis, offset and length in 1, 2, 4
 * or 8 bytes each (offset width major).  Everything else is reserved.
 */
#define OP_LIT_N1	0x41
#define OP_COPY		0x45
#define OP_RESERVED	0x55

static const unsigned widths[4] = { 1, 2, 4, 8 };

/* A copy command as applied: new[newoff..+len) = basis[oldoff..+len). */
struct span {
	uint64_t	 oldoff, newoff, len;
};

/* The delta back, from the copies a patch made (see patch_apply_rev). */
struct revdelta {
	struct span	*v;
	size_t		 n, cap;
	dev_t		 dev;		/* the basis, which it refers to */
	ino_t		 ino;
	off_t		 size;
	unsigned char	*sums;		/* the basis's block sums (weak and */
	size_t		 nsums, sumlen;	/* strong), from rev_basis_sig */
	size_t		 blen;
};

struct patchctx {
	delta_read	*rd;		/* the delta's bytes */
	void		*rdarg;
	unsigned char	 in[CHUNK];	/* delta bytes read ahead */
	size_t		 inoff, inlen;
	int		 basis;
	int		 out;
	struct sparse	 sp;		/* the output, with holes for zeros */
	uint64_t	 pos;		/* output so far */
	uint64_t	 left;		/* output allowed before EFBIG */
	patch_tap	*tap;
	void		*arg;
	struct revdelta	*rev;
	int		 still;		/* copies may not move data (EXDEV) */
	int		 wfd;		/* in place: literals written here */
};

/* Make at least one delta byte available; 0 at its end, -1 on error. */
static int
fill(struct patchctx *c)
{
	ssize_t n;

	if (c->inoff < c->inlen)
		return 1;
	if ((n = c->rd(c->rdarg, c->in, sizeof c->in)) == -1)
		return -1;
	c->inoff = 0;
	c->inlen = (size_t)n;
	return n > 0;
}

/* The next w-byte big-endian integer of the delta; -1 (EIO) if cut. */
static int
getint(struct patchctx *c, unsigned w, uint64_t *v)
{
	int r;

	*v = 0;
	while (w-- > 0) {
		if ((r = fill(c)) != 1) {
			if (r == 0)
				errno = EIO;
			return -1;
		}
		*v = *v << 8 | c->in[c->inoff++];
	}
	return 0;
}

static int
emit(struct patchctx *c, const void *p, size_t n)
{
	if (n > c->left) {
		errno = EFBIG;
		return -1;
	}
	c->left -= n;
	if (c->wfd != -1 && sparse_pwrite(c->wfd, p, n, (off_t)c->pos) == -1)
		return -1;
	c->pos += n;
	if (c->tap != NULL)
		c->tap(c->arg, p, n);
	return c->out == -1 ? 0 : sparse_write(&c->sp, p, n);
}

static int
literal(struct patchctx *c, uint64_t len)
{
	size_t k;
	int r;

	while (len > 0) {
		if ((r = fill(c)) != 1) {
			if (r == 0)
				errno = EIO;
			return -1;
		}
		k = c->inlen - c->inoff;
		if (k > len)
			k = (size_t)len;
		if (emit(c, c->in + c->inoff, k) == -1)
			return -1;
		c->inoff += k;
		len -= k;
	}
	return 0;
}

/* Remember a copy, joined to the last one when it continues it. */
static void
record(struct revdelta *r, uint64_t oldoff, uint64_t newoff, uint64_t len)
{
	struct span *l = r->n > 0 ? &r->v[r->n - 1] : NULL;

	if (l != NULL && l->oldoff + l->len == oldoff &&
	    l->newoff + l->len == newoff) {
		l->len += len;
		return;
	}
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->v = xreallocarray(r->v, r->cap, sizeof *r->v);
	}
	r->v[r->n].oldoff = oldoff;
	r->v[r->n].newoff = newoff;
	r->v[r->n].len = len;
	r->n++;
}

static int
copy(struct patchctx *c, uint64_t off, uint64_t len, char *buf)
{
	ssize_t n;
	size_t k;

	if (c->still && off != c->pos) {
		errno = EXDEV;
		return -1;
	}
	if (c->wfd != -1) {
		/* in place: the bytes are where they belong */
		if (len > c->left) {
			errno = EFBIG;
			return -1;
		}
		c->left -= len;
		c->pos += len;
		return 0;
	}
	while (len > 0) {
		k = len < CHUNK ? (size_t)len : CHUNK;
		if ((n = pread(c->basis, buf, k, (off_t)off)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {		/* beyond the basis: a bad delta */
			errno = EIO;
			return -1;
		}
		if (c->rev != NULL)
			record(c->rev, off, c->pos, (uint64_t)n);
		if (emit(c, buf, (size_t)n) == -1)
			return -1;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

/* Apply the delta; what is not valid is EIO, as librsync would refuse. */
static int
patch(struct patchctx *c)
{
	uint64_t magic, a, b;
	char *buf;
	int op, rv = -1;

	if (getint(c, 4, &magic) == -1)
		return -1;
	if (magic != RS_DELTA_MAGIC) {
		errno = EIO;
		return -1;
	}
	buf = xbuf_get(CHUNK);
	for (;;) {
		if ((op = fill(c)) != 1) {
			if (op == 0)
				errno = EIO;
			goto out;
		}
		op = c->in[c->inoff++];
		if (op == 0)
			break;
		if (op < OP_LIT_N1) {
			if (literal(c, (uint64_t)op) == -1)
				goto out;
		} else if (op < OP_COPY) {
			if (getint(c, widths[op - OP_LIT_N1], &a) == -1)
				goto out;
			if (a == 0 || a > INT64_MAX) {
				errno = EIO;
				goto out;
			}
			if (literal(c, a) == -1)
				goto out;
		} else if (op < OP_RESERVED) {
			if (getint(c, widths[(op - OP_COPY) / 4], &a) == -1 ||
			    getint(c, widths[(op - OP_COPY) % 4], &b) == -1)
				goto out;
			if (a > INT64_MAX || b == 0 || b > INT64_MAX) {
				errno = EIO;
				goto out;
			}
			if (copy(c, a, b, buf) == -1)
				goto out;
		} else {
			errno = EIO;
			goto out;
		}
	}
	rv = 0;
out:
	xbuf_put(buf, CHUNK);
	return rv;
}

static ssize_t
gz_read(void *d, void *buf, size_t n)
{
	return gzr_read(d, buf, n);
}

/*
 * Run a patch: to out (-1: none) and tap, recording copies in rev; with
 * still, copies may not move data; with wfd (not -1, and still), the
 * literals are written into wfd, the basis itself, which is then cut
 * where the output ends.
 */
static int
patch_run(int basis, delta_read *rd, void *rdarg, int out, uint64_t limit,
    patch_tap *tap, void *arg, struct revdelta *rev, int still, int wfd)
{
	struct patchctx *c;
	int rv;

	c = xcalloc(1, sizeof *c);
	c->still = still;
	c->wfd = wfd;
	c->rd = rd;
	c->rdarg = rdarg;
	c->basis = basis;
	c->out = out;
	c->left = limit;
	c->tap = tap;
	c->arg = arg;
	c->rev = rev;
	if (out != -1)
		sparse_init(&c->sp, out);
	rv = patch(c);
	if (rv == 0 && out != -1)
		rv = sparse_finish(&c->sp);
	if (rv == 0 && wfd != -1 && ftruncate(wfd, (off_t)c->pos) == -1)
		rv = -1;
	free(c);
	return rv;
}

int
patch_apply(int basis, struct gzr *d, int out, uint64_t limit, patch_tap *tap,
    void *arg)
{
	return patch_run(basis, gz_read, d, out, limit, tap, arg, NULL, 0, -1);
}

/* patch_apply_rev, and patch_scan_still when still. */
static int
patch_rev(int basis, delta_read *rd, void *rdarg, int out, uint64_t limit,
    patch_tap *tap, void *arg, struct sigmaker **revp, int still)
{
	struct revdelta *r;
	struct stat st;
	int saved;

	*revp = NULL;
	if (fstat(basis, &st) == -1)
		return -1;
	r = xcalloc(1, sizeof *r);
	r->dev = st.st_dev;
	r->ino = st.st_ino;
	r->size = st.st_size;
	if (patch_run(basis, rd, rdarg, out, limit, tap, arg, r, still, -1) ==
	    -1) {
		saved = errno;
		rev_free(r);
		errno = saved;
		return -1;
	}
	*revp = xcalloc(1, sizeof **revp);
	(*revp)->rev = r;
	return 0;
}

int
patch_apply_rev(int basis, delta_read *rd, void *rdarg, int out,
    uint64_t limit, patch_tap *tap, void *arg, struct sigmaker **revp)
{
	return patch_rev(basis, rd, rdarg, out, limit, tap, arg, revp, 0);
}

int
patch_scan_still(int basis, delta_read *rd, void *rdarg, uint64_t limit,
    patch_tap *tap, void *arg, struct sigmaker **revp)
{
	return patch_rev(basis, rd, rdarg, -1, limit, tap, arg, revp, 1);
}

int
patch_in_place(int fd, delta_read *rd, void *rdarg, uint64_t limit)
{
	return patch_run(-1, rd, rdarg, -1, limit, NULL, NULL, NULL, 1, fd);
}

#define BLEN_MAX	((size_t)16 << 20)	/* a block sums are taken for */

int
rev_basis_sig(struct sigmaker *s, const void *p, size_t n)
{
	struct revdelta *r = s != NULL ? s->rev : NULL;
	const unsigned char *sums;
	struct rbuf b;
	uint32_t magic, blen, slen;
	size_t sumlen, nsums;

	if (r != NULL && bsig_sums(p, n, &blen, &sumlen, &sums, &nsums) == 0) {
		free(r->sums);
		r->sumlen = sumlen;
		r->nsums = nsums;
		r->blen = blen;
		r->sums = (unsigned char *)xmemdup(sums, nsums * sumlen);
		return 0;
	}
	rbuf_init(&b, p, n);
	if (r == NULL || buf_get_u32(&b, &magic) == -1 ||
	    buf_get_u32(&b, &blen) == -1 || buf_get_u32(&b, &slen) == -1 ||
	    (magic != RS_MD4_SIG_MAGIC && magic != RS_BLAKE2_SIG_MAGIC &&
	    magic != RS_RK_MD4_SIG_MAGIC && magic != RS_RK_BLAKE2_SIG_MAGIC) ||
	    blen == 0 || blen > BLEN_MAX || slen == 0 ||
	    slen > RS_MAX_STRONG_SUM_LENGTH ||
	    rbuf_left(&b) % (4 + slen) != 0) {
		errno = EINVAL;
		return -1;
	}
	free(r->sums);
	r->sumlen = 4 + slen;
	r->nsums = rbuf_left(&b) / r->sumlen;
	r->blen = blen;
	r->sums = (unsigned char *)xmemdup(b.p + b.off, rbuf_left(&b));
	return 0;
}

static void
rev_free(struct revdelta *r)
{
	if (r != NULL) {
		free(r->v);
		free(r->sums);
		free(r);
	}
}

/*
 * The basis's blocks a patch copied, by their sums: where the output
 * holds each.  Open addressing, a bounded number of probes: a block not
 * found is only carried literally.
 */
#define PROBES	32

struct blkmap {
	const struct revdelta *r;
	size_t		*blk;		/* block number + 1; 0: empty */
	uint64_t	*at;		/* its offset in the output */
	size_t		 mask;
};

static size_t
blk_hash(const struct blkmap *m, size_t j)
{
	const unsigned char *p = m->r->sums + j * m->r->sumlen;
	uint64_t h = 0;
	size_t i;

	for (i = 0; i < m->r->sumlen && i < 12; i++)
		h = h * 0x100000001b3ULL ^ p[i];
	return (size_t)(h ^ h >> 29) & m->mask;
}

/* Slot of a block with the sums of block j, or of an empty one; -1: none. */
static ssize_t
blk_slot(const struct blkmap *m, size_t j)
{
	const struct revdelta *r = m->r;
	size_t h = blk_hash(m, j), i;

	for (i = 0; i < PROBES; i++, h = (h + 1) & m->mask)
		if (m->blk[h] == 0 || memcmp(r->sums + (m->blk[h] - 1) *
		    r->sumlen, r->sums + j * r->sumlen, r->sumlen) == 0)
			return (ssize_t)h;
	return -1;
}

/* The map of the whole blocks the copies (sorted by basis offset) took. */
static void
blk_map(struct blkmap *m, const struct revdelta *r)
{
	uint64_t j, last, n = 0;
	size_t i, cap;
	ssize_t h;

	memset(m, 0, sizeof *m);
	m->r = r;
	if (r->sums == NULL || r->nsums == 0)
		return;
	/* whole blocks only; a short last one is carried literally */
	last = (uint64_t)r->size / r->blen;
	if (last > r->nsums)
		last = r->nsums;
	for (i = 0; i < r->n; i++)
		n += r->v[i].len / r->blen + 1;
	if (n > last)
		n = last;
	for (cap = 64; cap < 2 * n; cap *= 2)
		;
	m->blk = xcalloc(cap, sizeof *m->blk);
	m->at = xcalloc(cap, sizeof *m->at);
	m->mask = cap - 1;
	for (i = 0; i < r->n; i++) {
		const struct span *s = &r->v[i];

		for (j = (s->oldoff + r->blen - 1) / r->blen;
		    j < last && (j + 1) * r->blen <= s->oldoff + s->len; j++)
			if ((h = blk_slot(m, (size_t)j)) != -1 &&
			    m->blk[h] == 0) {
				m->blk[h] = (size_t)j + 1;
				m->at[h] = s->newoff + j * r->blen - s->oldoff;
			}
	}
}

/*
 * Is the stretch of the basis at off (block-aligned, a whole block, read
 * into p) one the output holds, where a copy put an equal block?  Then
 * its offset there in *at.  Checked against the basis byte for byte:
 * equal sums are only a hint.
 */
static int
blk_find(const struct blkmap *m, int fd, uint64_t off, const char *p,
    char *tmp, uint64_t *at)
{
	const struct revdelta *r = m->r;
	size_t j;
	ssize_t h, got;

	if (m->blk == NULL || off % r->blen != 0 ||
	    (j = (size_t)(off / r->blen)) >= r->nsums ||
	    (h = blk_slot(m, j)) == -1 || m->blk[h] == 0)
		return 0;
	do
		got = pread(fd, tmp, r->blen, (off_t)((uint64_t)(m->blk[h] - 1) *
		    r->blen));
	while (got == -1 && errno == EINTR);
	if (got != (ssize_t)r->blen || memcmp(tmp, p, r->blen) != 0)
		return 0;
	*at = m->at[h];
	return 1;
}

static int
byold(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return x->oldoff < y->oldoff ? -1 : x->oldoff > y->oldoff;
}

/* Append an integer of w bytes, big-endian. */
static size_t
putint(unsigned char *p, uint64_t v, unsigned w)
{
	unsigned i;

	for (i = 0; i < w; i++)
		p[i] = (unsigned char)(v >> (8 * (w - 1 - i)));
	return w;
}

static unsigned
widthof(uint64_t v)
{
	return v < 1ULL << 8 ? 0 : v < 1ULL << 16 ? 1 : v < 1ULL << 32 ? 2 : 3;
}

/* A COPY command of len bytes from off, in the narrowest widths. */
static int
put_copy(uint64_t off, uint64_t len,
    int (*out)(void *, const char *, size_t), void *arg)
{
	unsigned char cmd[17];
	size_t n = 0;

	cmd[n++] = (unsigned char)(OP_COPY + 4 * widthof(off) + widthof(len));
	n += putint(cmd + n, off, widths[widthof(off)]);
	n += putint(cmd + n, len, widths[widthof(len)]);
	return out(arg, (char *)cmd, n);
}

/* A copy command being gathered: joined while copies continue it. */
struct pending {
	uint64_t	 off, len;
	int		 (*out)(void *, const char *, size_t);
	void		*arg;
};

static int
pend_flush(struct pending *c)
{
	int rv = 0;

	if (c->len > 0)
		rv = put_copy(c->off, c->len, c->out, c->arg);
	c->len = 0;
	return rv;
}

static int
pend_copy(struct pending *c, uint64_t off, uint64_t len)
{
	if (c->len > 0 && c->off + c->len == off) {
		c->len += len;
		return 0;
	}
	if (pend_flush(c) == -1)
		return -1;
	c->off = off;
	c->len = len;
	return 0;
}

int
delta_copy_all(uint64_t len, int (*out)(void *, const char *, size_t),
    void *arg)
{
	unsigned char cmd[4];

	putint(cmd, RS_DELTA_MAGIC, 4);
	if (out(arg, (char *)cmd, 4) == -1 ||
	    (len > 0 && put_copy(0, len, out, arg) == -1))
		return -1;
	cmd[0] = 0;
	return out(arg, (char *)cmd, 1);
}

/* A scan's findings (lib/bsig.c) as librsync's delta commands. */
static int
enc_copy(void *arg, uint64_t off, uint64_t len)
{
	return pend_copy(arg, off, len);
}

static int
enc_literal(void *arg, const char *p, size_t n)
{
	struct pending *pc = arg;
	unsigned char cmd[5];
	size_t k;

	if (pend_flush(pc) == -1)
		return -1;
	for (; n > 0; p += k, n -= k) {
		k = n > UINT32_MAX ? UINT32_MAX : n;
		cmd[0] = OP_LIT_N1 + 2;		/* 4-byte length */
		putint(cmd + 1, k, 4);
		if (pc->out(pc->arg, (char *)cmd, 5) == -1 ||
		    pc->out(pc->arg, p, k) == -1)
			return -1;
	}
	return 0;
}

/* The delta of fd's bytes [from, to) (to 0: its end) against b, to out. */
static int
bsig_delta(const struct bsig *b, int fd, uint64_t from, uint64_t to,
    int (*out)(void *, const char *, size_t), void *arg)
{
	struct pending pc = { 0, 0, out, arg };
	struct bsig_out o = { enc_copy, enc_literal, &pc };
	unsigned char cmd[4];

	putint(cmd, RS_DELTA_MAGIC, 4);
	if (out(arg, (char *)cmd, 4) == -1 ||
	    bsig_scan(b, fd, from, to, &o) == -1 || pend_flush(&pc) == -1)
		return -1;
	cmd[0] = 0;
	return out(arg, (char *)cmd, 1);
}

/*
 * The delta from a patch's output back to its basis fd: every stretch of
 * the basis that a copy put into the output is copied back from there,
 * and so is every whole block of the rest that equals one of those (by
 * the basis's signature, if given, then byte for byte); the rest is
 * literal, read from fd.  Exact, and no bigger than what the forward
 * delta did not copy.
 */
static int
rev_delta(struct revdelta *r, int fd, int (*out)(void *, const char *, size_t),
    void *arg)
{
	unsigned char cmd[8];
	struct pending pc = { 0, 0, out, arg };
	struct blkmap m;
	struct stat st;
	struct span *s;
	uint64_t cur = 0, end, start, k, at;
	size_t i, n, bufsz;
	ssize_t got;
	char *buf, *tmp = NULL;
	int rv = -1;

	if (fstat(fd, &st) == -1)
		return -1;
	if (st.st_dev != r->dev || st.st_ino != r->ino ||
	    st.st_size != r->size) {
		errno = ESTALE;	/* not the file the patch read */
		return -1;
	}
	qsort(r->v, r->n, sizeof *r->v, byold);
	blk_map(&m, r);
	bufsz = m.blk != NULL && r->blen > CHUNK ? r->blen : CHUNK;
	buf = bufsz == CHUNK ? xbuf_get(CHUNK) : xmalloc(bufsz);
	if (m.blk != NULL)
		tmp = xmalloc(r->blen);
	n = putint(cmd, RS_DELTA_MAGIC, 4);
	if (out(arg, (char *)cmd, n) == -1)
		goto fail;
	for (i = 0; i <= r->n; i++) {
		s = i < r->n ? &r->v[i] : NULL;
		end = s != NULL ? s->oldoff + s->len : (uint64_t)r->size;
		if (end <= cur)
			continue;
		start = s != NULL ? (s->oldoff > cur ? s->oldoff : cur) : end;
		while (cur < start) {		/* not copied by the patch */
			k = start - cur < bufsz ? start - cur : bufsz;
			if (m.blk != NULL) {
				if (cur % r->blen == 0 && k >= r->blen)
					k = r->blen;
				else if (r->blen - cur % r->blen < k)
					k = r->blen - cur % r->blen;
			}
			if ((got = pread(fd, buf, (size_t)k, (off_t)cur)) == -1 &&
			    errno == EINTR)
				continue;
			if (got <= 0) {
				if (got == 0)
					errno = ESTALE;
				goto fail;
			}
			k = (uint64_t)got;
			if (k == r->blen && blk_find(&m, fd, cur, buf, tmp, &at)) {
				if (pend_copy(&pc, at, k) == -1)
					goto fail;
				cur += k;
				continue;
			}
			if (pend_flush(&pc) == -1)
				goto fail;
			n = 0;
			cmd[n++] = OP_LIT_N1 + 2;	/* 4-byte length */
			n += putint(cmd + n, k, 4);
			if (out(arg, (char *)cmd, n) == -1 ||
			    out(arg, buf, (size_t)k) == -1)
				goto fail;
			cur += k;
		}
		if (s == NULL)
			break;
		if (pend_copy(&pc, s->newoff + (start - s->oldoff),
		    end - start) == -1)
			goto fail;
		cur = end;
	}
	if (pend_flush(&pc) == -1)
		goto fail;
	cmd[0] = 0;
	rv = out(arg, (char *)cmd, 1);
fail:
	if (bufsz == CHUNK)
		xbuf_put(buf, CHUNK);
	else
		free(buf);
	free(tmp);
	free(m.blk);
	free(m.at);
	return rv;
}

/*
 * Files of PAR_MIN bytes and more are diffed (segments, below) and
 * signed (lib/bsig.c) in two threads: on a machine whose other core is
 * idle (the far side of an agent waits for us and we for it) that
 * halves the time of the sums, the bulk of it.
 */
#define PAR_MIN		((uint64_t)16 << 20)

int
delta_parallel(uint64_t size)
{
	return size >= PAR_MIN && sysconf(_SC_NPROCESSORS_ONLN) > 1;
}

/*
 * A delta in pieces: the new data is cut into segments (whole blocks of
 * the signature, so that data in place matches across a cut), each
 * diffed by its own librsync job in one of two threads, and the pieces
 * go out in order as each is done.  The far side can apply the first
 * while the rest is scanned: librsync holds a run of matches back until
 * it ends, which without the cuts is the whole file when little changed.
 * A cut costs at most two blocks of literal data where data moved.  A
 * file that changes meanwhile gives what each read found, as one thread
 * reading it would.
 */
#define SEG_MIN		((uint64_t)8 << 20)
#define SEG_MAX		((uint64_t)16 << 20)
#define SEG_AHEAD	3	/* segments done or running, not yet out */

struct seg {
	uint64_t	 from, to;	/* to 0: the file's end, as it grows */
	struct wbuf	 out;
	int		 done;
};

struct segs {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	int		 fd;
	struct seg	*v;
	size_t		 n;
	size_t		 take;		/* the next segment to diff */
	size_t		 emit;		/* the next to go out */
	int		 (*out)(void *, const char *, size_t);
	void		*arg;
	int		 err;		/* the first failure: all stop */
	const struct bsig *bs;		/* a block signature's, or librsync's */
};

/* One segment's librsync output, kept to go out in order. */
static int
seg_out(void *arg, const char *b, size_t n)
{
	buf_put_bytes(arg, b, n);
	return 0;
}

/* Diff segment k against s; 0 or an errno. */
static int
seg_delta(struct segs *g, struct sigmaker *s, size_t k, char *buf)
{
	struct seg *sg = &g->v[k];
	uint64_t off = sg->from;
	rs_job_t *job;
	ssize_t n;
	size_t want;
	int e = 0;

	if (g->bs != NULL)
		return bsig_delta(g->bs, g->fd, sg->from, sg->to, seg_out,
		    &sg->out) == -1 ? (errno ? errno : EIO) : 0;
	if ((job = rs_delta_begin(s->sums)) == NULL)
		return ENOMEM;
	for (;;) {
		delta_tick();
		want = 4 * CHUNK;
		if (sg->to != 0 && sg->to - off < want)
			want = (size_t)(sg->to - off);
		if (want == 0)
			n = 0;
		else if ((n = pread(g->fd, buf, want, (off_t)off)) == -1) {
			if (errno == EINTR)
				continue;
			e = errno;
			break;
		}
		if (drive(job, buf, (size_t)n, n == 0, seg_out, &sg->out) ==
		    -1) {
			e = errno ? errno : EIO;
			break;
		}
		if (n == 0)
			break;
		off += (uint64_t)n;
	}
	rs_job_free(job);
	/* librsync's delta: a 4-byte magic number, commands, END (0) */
	if (e == 0 && (sg->out.len < 5 || sg->out.p[sg->out.len - 1] != 0))
		e = EIO;
	return e;
}

/*
 * Send the done segments that are next in order, each without what
 * joins it to its neighbours (the magic number but for the first, the
 * END but for the last).  Called locked; out() runs locked, one at a time.
 */
static void
seg_flush(struct segs *g)
{
	struct seg *sg;
	size_t a, b;

	while (g->err == 0 && g->emit < g->n && g->v[g->emit].done) {
		sg = &g->v[g->emit];
		a = g->emit == 0 ? 0 : 4;
		b = g->emit == g->n - 1 ? sg->out.len : sg->out.len - 1;
		if (b > a && g->out(g->arg, (char *)sg->out.p + a, b - a) == -1)
			g->err = errno ? errno : EIO;
		wbuf_free(&sg->out);
		g->emit++;
	}
}

/* A diffing thread: takes segments in order until none is left. */
static void
seg_work(struct segs *g, struct sigmaker *s)
{
	char *buf = xmalloc(4 * CHUNK);
	size_t k;
	int e;

	pthread_mutex_lock(&g->mu);
	for (;;) {
		while (g->err == 0 && g->take < g->n &&
		    g->take - g->emit >= SEG_AHEAD)
			pthread_cond_wait(&g->cv, &g->mu);
		if (g->err != 0 || g->take == g->n)
			break;
		k = g->take++;
		pthread_mutex_unlock(&g->mu);
		e = seg_delta(g, s, k, buf);
		pthread_mutex_lock(&g->mu);
		g->v[k].done = 1;
		if (e != 0 && g->err == 0)
			g->err = e;
		seg_flush(g);
		pthread_cond_broadcast(&g->cv);
	}
	pthread_mutex_unlock(&g->mu);
	free(buf);
}

struct segwork {
	struct segs	*g;
	struct sigmaker	*s;
};

static void *
seg_thread(void *arg)
{
	struct segwork *w = arg;

	seg_work(w->g, w->s);
	return NULL;
}

int
sig_delta_file(const void *sig, size_t siglen, int fd,
    int (*out)(void *, const char *, size_t), void *arg)
{
	struct sigmaker *s[2] = { NULL, NULL };
	struct bsig *bs = NULL;
	struct segwork w;
	struct segs g;
	struct rbuf b;
	uint32_t magic, bl;
	struct stat st;
	pthread_t t;
	uint64_t size, len, blen, off;
	size_t i;
	int e, rv;

	if (fstat(fd, &st) == -1)
		return -1;
	rbuf_init(&b, sig, siglen);
	if (buf_get_u32(&b, &magic) == 0 && magic == BSIG_MAGIC) {
		if ((bs = bsig_load(sig, siglen)) == NULL)
			return -1;
		bl = bsig_blen(bs);
	} else if ((s[0] = sig_load(sig, siglen)) == NULL)
		return -1;
	size = (uint64_t)st.st_size;
	if (!delta_parallel(size)) {
		if (bs != NULL)
			rv = bsig_delta(bs, fd, 0, 0, out, arg);
		else if (lseek(fd, 0, SEEK_SET) == -1)
			rv = -1;
		else
			rv = sig_delta_to(s[0], fd, out, arg);
		e = errno;
		sig_free(s[0]);
		bsig_free(bs);
		errno = e;
		return rv;
	}
	if (bs == NULL) {
		if ((s[1] = sig_load(sig, siglen)) == NULL) {
			sig_free(s[0]);
			return -1;
		}
		/* sig_load checked the header: magic, block length, strong */
		if (buf_get_u32(&b, &bl) == -1 || bl == 0)
			bl = 1;
	}
	blen = bl;
	len = size / 8 < SEG_MIN ? SEG_MIN : size / 8;
	if (len > SEG_MAX)
		len = SEG_MAX;
	len = len < blen ? blen : len / blen * blen;
	memset(&g, 0, sizeof g);
	g.bs = bs;
	g.n = (size_t)((size + len - 1) / len);
	g.v = xcalloc(g.n, sizeof *g.v);
	for (i = 0, off = 0; i < g.n; i++, off += len) {
		g.v[i].from = off;
		g.v[i].to = i == g.n - 1 ? 0 : off + len;	/* 0: to EOF */
	}
	g.fd = fd;
	g.out = out;
	g.arg = arg;
	pthread_mutex_init(&g.mu, NULL);
	pthread_cond_init(&g.cv, NULL);
	w.g = &g;
	w.s = s[1];
	e = pthread_create(&t, NULL, seg_thread, &w);
	seg_work(&g, s[0]);
	if (e == 0)
		pthread_join(t, NULL);
	e = g.err;
	for (i = 0; i < g.n; i++)
		wbuf_free(&g.v[i].out);
	free(g.v);
	pthread_mutex_destroy(&g.mu);
	pthread_cond_destroy(&g.cv);
	sig_free(s[0]);
	sig_free(s[1]);
	bsig_free(bs);
	if (e != 0) {
		errno = e;
		return -1;
	}
	return 0;
}
