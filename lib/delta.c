#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <librsync.h>

#include "delta.h"
#include "gz.h"
#include "io.h"
#include "sparse.h"
#include "xalloc.h"

#define CHUNK	65536

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

struct sigmaker {
	rs_job_t	*job;
	char		*sig;		/* the signature stream */
	size_t		 len, cap;
	rs_signature_t	*sums;
	int		 failed;
};

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

	if (s->cap - s->len < n) {
		s->cap = (s->len + n) * 2;
		s->sig = xrealloc(s->sig, s->cap);
	}
	memcpy(s->sig + s->len, p, n);
	s->len += n;
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
	if (s->failed)
		return -1;
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
	rv = drive(load, s->sig, s->len, 1, sig_out, s);
	rs_job_free(load);
	free(s->sig);
	s->sig = NULL;
	s->len = s->cap = 0;
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

	if (sig_finish(s) == -1)
		return -1;
	if ((job = rs_delta_begin(s->sums)) == NULL)
		return -1;
	buf = xbuf_get(CHUNK);
	for (;;) {
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
	if (s->sums != NULL || s->failed ||
	    (s->job != NULL && drive(s->job, NULL, 0, 1, sig_out, s) == -1)) {
		errno = EINVAL;
		return NULL;
	}
	if (s->job != NULL) {
		rs_job_free(s->job);
		s->job = NULL;
	}
	*len = s->len;
	return s->sig;
}

struct sigmaker *
sig_load(const void *p, size_t len)
{
	struct sigmaker *s;

	setup();
	s = xcalloc(1, sizeof *s);
	s->sig = xmalloc(len > 0 ? len : 1);
	memcpy(s->sig, p, len);
	s->len = s->cap = len;
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
	free(s->sig);
	free(s);
}

struct patchctx {
	int		 basis;
	int		 out;
	struct sparse	 sp;		/* the output, with holes for zeros */
	uint64_t	 left;		/* output allowed before EFBIG */
	patch_tap	*tap;
	void		*arg;
};

static rs_result
copy_cb(void *arg, rs_long_t pos, size_t *len, void **buf)
{
	struct patchctx *c = arg;
	ssize_t n;

	if (pos < 0)
		return RS_CORRUPT;
	for (;;) {
		n = pread(c->basis, *buf, *len, (off_t)pos);
		if (n == -1 && errno == EINTR)
			continue;
		break;
	}
	if (n == -1)
		return RS_IO_ERROR;
	if (n == 0)
		return RS_INPUT_ENDED;
	*len = (size_t)n;
	return RS_DONE;
}

static int
patch_out(void *arg, const char *p, size_t n)
{
	struct patchctx *c = arg;

	if (n > c->left) {
		errno = EFBIG;
		return -1;
	}
	c->left -= n;
	if (c->tap != NULL)
		c->tap(c->arg, p, n);
	return c->out == -1 ? 0 : sparse_write(&c->sp, p, n);
}

int
patch_apply(int basis, struct gzr *d, int out, uint64_t limit, patch_tap *tap,
    void *arg)
{
	struct patchctx c;
	rs_job_t *job;
	char *buf;
	ssize_t n;
	int rv = -1;

	setup();
	memset(&c, 0, sizeof c);
	c.basis = basis;
	c.out = out;
	c.left = limit;
	c.tap = tap;
	c.arg = arg;
	if (out != -1)
		sparse_init(&c.sp, out);
	if ((job = rs_patch_begin(copy_cb, &c)) == NULL)
		return -1;
	buf = xbuf_get(CHUNK);
	for (;;) {
		if ((n = gzr_read(d, buf, CHUNK)) == -1)
			goto out;
		if (drive(job, buf, (size_t)n, n == 0, patch_out, &c) == -1)
			goto out;
		if (n == 0)
			break;
	}
	rv = out == -1 ? 0 : sparse_finish(&c.sp);
out:
	xbuf_put(buf, CHUNK);
	rs_job_free(job);
	return rv;
}
