/*
 * delta.c: patch_apply against deltas librsync made and deltas built by
 * hand (overlapping, repeated and reordered copies; every malformed form
 * refused with EIO), and patch_apply_rev's way back: the delta it gives
 * turns the output into the basis again, is no bigger than what the
 * forward delta did not copy, and refuses another basis (ESTALE).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "delta.h"
#include "files.h"
#include "gz.h"
#include "tap.h"
#include "xalloc.h"

#define BASIS	300000

static unsigned char *basis;

static ssize_t
gz_read(void *r, void *buf, size_t n)
{
	return gzr_read(r, buf, n);
}

/* A delta under construction. */
struct d {
	unsigned char	 p[1 << 20];
	size_t		 n;
};

static void
put(struct d *d, uint64_t v, unsigned w)
{
	while (w-- > 0)
		d->p[d->n++] = (unsigned char)(v >> (8 * w));
}

static void
d_init(struct d *d)
{
	d->n = 0;
	put(d, 0x72730236, 4);
}

static void
d_copy(struct d *d, uint64_t off, uint64_t len)
{
	d->p[d->n++] = 0x45 + 4 * 3 + 3;	/* 8-byte offset and length */
	put(d, off, 8);
	put(d, len, 8);
}

static void
d_lit(struct d *d, const void *p, size_t len)
{
	d->p[d->n++] = 0x43;			/* 4-byte length */
	put(d, len, 4);
	memcpy(d->p + d->n, p, len);
	d->n += len;
}

/*
 * Apply the delta in dfd (from its start; closed) to basis: two tests,
 * that it applies (said applies) and that it gives want[0..wn) (said
 * gives).
 */
static void
applied(int basis, int dfd, const unsigned char *want, size_t wn,
    const char *applies, const char *gives)
{
	struct gzr *r;
	unsigned char *got;
	size_t gn;
	int o = tmpfd(NULL, 0);

	lseek(dfd, 0, SEEK_SET);
	r = gzr_open(dfd, 0);
	ok(patch_apply(basis, r, o, UINT64_MAX, NULL, NULL) == 0, "%s",
	    applies);
	gzr_close(r);
	got = slurp(o, &gn);
	ok(gn == wn && memcmp(got, want, wn) == 0, "%s", gives);
	free(got);
	close(o);
}

/*
 * Patch delta d onto the basis with patch_apply_rev; the output must be
 * want[0..wn).  Then the way back must give the basis from the output,
 * in at most lim bytes of delta.  Returns patch_apply_rev's result
 * (errno kept) when it fails.
 */
static int
roundtrip(const char *what, const void *dp, size_t dn,
    const unsigned char *want, size_t wn, size_t lim)
{
	struct sigmaker *rev;
	struct gzw *w;
	struct gzr *r;
	unsigned char *got;
	size_t gn, revn;
	char m1[200], m2[200];
	int b, o, dfd, rfd, e;

	b = tmpfd(basis, BASIS);
	o = tmpfd(NULL, 0);
	dfd = tmpfd(dp, dn);
	r = gzr_open(dfd, 0);
	if (patch_apply_rev(b, gz_read, r, o, UINT64_MAX, NULL, NULL, &rev) == -1) {
		e = errno;
		gzr_close(r);
		close(b);
		close(o);
		errno = e;
		return -1;
	}
	gzr_close(r);
	got = slurp(o, &gn);
	ok(gn == wn && memcmp(got, want, wn) == 0, "%s: the output", what);
	rfd = tmpfd(NULL, 0);
	w = gzw_open(dup(rfd), 0);
	ok(sig_delta(rev, b, w) == 0 && gzw_close(w, 0) == 0,
	    "%s: the way back is written", what);
	revn = (size_t)lseek(rfd, 0, SEEK_END);
	ok(revn <= lim, "%s: it takes %zu bytes (at most %zu)", what, revn,
	    lim);
	snprintf(m1, sizeof m1, "%s: the way back applies", what);
	snprintf(m2, sizeof m2, "%s: ... and gives the basis", what);
	applied(o, rfd, basis, BASIS, m1, m2);
	sig_free(rev);
	free(got);
	close(b);
	close(o);
	return 0;
}

/* patch_apply of a malformed delta: -1 with EIO, nothing else. */
static void
refused(const char *what, const void *dp, size_t dn, int want)
{
	struct sigmaker *rev = (struct sigmaker *)1;
	struct gzr *r;
	int b = tmpfd(basis, BASIS), dfd = tmpfd(dp, dn), rv;

	r = gzr_open(dfd, 0);
	errno = 0;
	rv = patch_apply_rev(b, gz_read, r, -1, 1 << 20, NULL, NULL, &rev);
	ok(rv == -1 && errno == want && rev == NULL, "%s: refused (%s)", what,
	    strerror(want));
	gzr_close(r);
	close(b);
}

static int
to_fd(void *arg, const char *p, size_t n)
{
	int *fd = arg;

	return write(*fd, p, n) == (ssize_t)n ? 0 : -1;
}

/*
 * Files large enough for two threads: sig_delta_file's delta against a
 * librsync signature (its segments joined)
 * patches the old version into the new, with data moved across the
 * middle, changed in two places, appended, and all shifted.
 */
static void
big_files(void)
{
	size_t size = 40u << 20, i, len1 = 0, nn;
	unsigned char *old = xmalloc(size), *nw = xmalloc(size + 100000);
	const unsigned char *p1;
	struct sigmaker *a;
	int ofd, nfd, dfd, outfd;

	for (i = 0; i < size; i++)
		old[i] = (unsigned char)(random() >> 8);
	memcpy(nw, old, size);
	memset(nw + 1000000, 'x', 300000);		/* first half */
	memcpy(nw + 30000000, old + 5000000, 2000000);	/* moved across */
	memset(nw + 39000000, 'y', 10);			/* second half */
	for (i = 0; i < 100000; i++)			/* appended */
		nw[size + i] = (unsigned char)random();
	nn = size + 100000;
	ofd = tmpfd(old, size);
	nfd = tmpfd(nw, nn);

	a = sig_begin_strong(size, 16);
	sig_update(a, old, size);
	p1 = a ? sig_stream(a, &len1) : NULL;
	ok(p1 != NULL, "a librsync signature of %zu bytes", len1);

	dfd = tmpfd(NULL, 0);
	ok(p1 != NULL && sig_delta_file(p1, len1, nfd, to_fd, &dfd) == 0,
	    "sig_delta_file in two threads");
	ok(lseek(dfd, 0, SEEK_END) < 512 << 10,
	    "... a delta of the changes only (%lld bytes)",
	    (long long)lseek(dfd, 0, SEEK_END));
	applied(ofd, dfd, nw, nn, "... which applies",
	    "... and gives the new version");
	close(dfd);
	close(nfd);

	/*
	 * Everything moved by a few bytes (an insertion at the front): each
	 * cut between segments may cost two blocks of literal data, no more.
	 */
	nw[0] = 'z';
	nw[1] = 'z';
	nw[2] = 'z';
	memcpy(nw + 3, old, size);
	nfd = tmpfd(nw, size + 3);
	dfd = tmpfd(NULL, 0);
	ok(p1 != NULL && sig_delta_file(p1, len1, nfd, to_fd, &dfd) == 0,
	    "sig_delta_file of the file shifted by 3 bytes");
	ok(lseek(dfd, 0, SEEK_END) < 256 << 10,
	    "... a delta of %lld bytes (at most 2 blocks a cut)",
	    (long long)lseek(dfd, 0, SEEK_END));
	applied(ofd, dfd, nw, size + 3, "... which applies",
	    "... and gives the new version");
	close(dfd);

	outfd = tmpfd(NULL, 0);
	errno = 0;
	ok(sig_delta_file("rs", 2, nfd, to_fd, &outfd) == -1,
	    "sig_delta_file of a bad signature fails");
	close(outfd);
	close(nfd);
	free(nw);

	/* all new: the second half's delta outgrows what it may hold */
	nn = 80u << 20;
	nw = xmalloc(nn);
	for (i = 0; i < nn; i++)
		nw[i] = (unsigned char)(random() >> 8);
	nfd = tmpfd(nw, nn);
	dfd = tmpfd(NULL, 0);
	ok(p1 != NULL && sig_delta_file(p1, len1, nfd, to_fd, &dfd) == 0,
	    "sig_delta_file of %zu new bytes", nn);
	applied(ofd, dfd, nw, nn, "... which applies",
	    "... and gives them in order");
	sig_free(a);
	free(old);
	free(nw);
	close(ofd);
	close(nfd);
}

/*
 * A basis whose blocks repeat (zeros, as in a disk image; a pattern some
 * blocks long), grown by new data: the forward delta copies every block
 * from one of the equal ones, so most of the basis is copied from
 * nowhere.  Given the basis's signature, the way back copies those
 * stretches from the output too instead of carrying them literally.
 * With lie, it is given the signature of zeros for a basis that is not:
 * the way back must still give the basis.
 */
static void
repeated_blocks(const char *what, int zeros, int lie)
{
	size_t size = 8u << 20, grow = 100000, nn, blen, slen, i;
	unsigned char *old = xmalloc(size), *nw = xmalloc(size + grow);
	char m1[200], m2[200];
	const unsigned char *sp;
	struct sigmaker *sig, *rev, *zsig;
	const unsigned char *hp;
	struct gzw *w;
	struct gzr *r;
	size_t hlen;
	off_t revn;
	int ofd, nfd, dfd, rfd;

	sig = sig_begin_strong(size, 16);
	memset(old, 0, size);
	sig_update(sig, old, size);
	sp = sig_stream(sig, &slen);
	blen = (size_t)sp[4] << 24 | (size_t)sp[5] << 16 | sp[6] << 8 | sp[7];
	zsig = sig;
	if (!zeros) {
		for (i = 0; i < 37 * blen; i++)
			old[i] = (unsigned char)(random() >> 8);
		for (; i < size; i++)
			old[i] = old[i - 37 * blen];
		sig = sig_begin_strong(size, 16);
		sig_update(sig, old, size);
		sp = sig_stream(sig, &slen);
	}
	memcpy(nw, old, size);
	for (i = 0; i < grow; i++)
		nw[size + i] = (unsigned char)random();
	nn = size + grow;
	ofd = tmpfd(old, size);
	nfd = tmpfd(nw, nn);
	dfd = tmpfd(NULL, 0);
	ok(sig_delta_file(sp, slen, nfd, to_fd, &dfd) == 0, "%s: a delta",
	    what);
	lseek(dfd, 0, SEEK_SET);
	r = gzr_open(dfd, 0);
	ok(patch_apply_rev(ofd, gz_read, r, -1, UINT64_MAX, NULL, NULL,
	    &rev) == 0, "%s: ... applied", what);
	gzr_close(r);
	hp = lie ? sig_stream(zsig, &hlen) : sp;
	if (!lie)
		hlen = slen;
	ok(rev_basis_sig(rev, hp, hlen) == 0, "%s: the basis's signature "
	    "taken", what);
	rfd = tmpfd(NULL, 0);
	w = gzw_open(dup(rfd), 0);
	ok(sig_delta(rev, ofd, w) == 0 && gzw_close(w, 0) == 0,
	    "%s: the way back is written", what);
	revn = lseek(rfd, 0, SEEK_END);
	ok(lie || revn <= (off_t)(size / 64), "%s: it takes %lld bytes for %zu (at "
	    "most 1/64)", what, (long long)revn, size);
	snprintf(m1, sizeof m1, "%s: the way back applies", what);
	snprintf(m2, sizeof m2, "%s: ... and gives the basis", what);
	applied(nfd, rfd, old, size, m1, m2);
	if (zsig != sig)
		sig_free(zsig);
	sig_free(sig);
	sig_free(rev);
	free(old);
	free(nw);
	close(ofd);
	close(nfd);
}

struct memread {
	const unsigned char	*p;
	size_t			 n, off;
};

static ssize_t
mem_read(void *arg, void *buf, size_t n)
{
	struct memread *m = arg;

	if (n > m->n - m->off)
		n = m->n - m->off;
	memcpy(buf, m->p + m->off, n);
	m->off += n;
	return (ssize_t)n;
}

static void
collect(void *arg, const void *p, size_t n)
{
	struct d *d = arg;

	memcpy(d->p + d->n, p, n);
	d->n += n;
}

/* Does the delta in rfd (plain) turn the content of f into the basis? */
static int
gives_basis(int f, int rfd)
{
	unsigned char *got;
	struct gzr *r;
	size_t gn;
	int o = tmpfd(NULL, 0), rv;

	lseek(rfd, 0, SEEK_SET);
	r = gzr_open(dup(rfd), 0);
	rv = patch_apply(f, r, o, UINT64_MAX, NULL, NULL) == 0;
	gzr_close(r);
	got = slurp(o, &gn);
	rv = rv && gn == BASIS && memcmp(got, basis, BASIS) == 0;
	free(got);
	close(o);
	return rv;
}

/*
 * A delta that leaves copied bytes in place (d, giving want[0..wn)):
 * patch_scan_still gives the output to its tap and the way back without
 * writing; patch_in_place turns a copy of the basis into the output;
 * the way back gives the basis from it, and from the basis with only
 * the first literal (at lit1, n1 bytes) written: a patch killed midway.
 */
static void
still(const char *what, const struct d *d, const unsigned char *want,
    size_t wn, size_t lit1, size_t n1)
{
	struct memread m = { d->p, d->n, 0 };
	struct sigmaker *rev = NULL;
	struct d *out = xmalloc(sizeof *out);
	unsigned char *got;
	struct gzw *w;
	size_t gn;
	int b, f, rfd;

	out->n = 0;
	b = tmpfd(basis, BASIS);
	ok(patch_scan_still(b, mem_read, &m, UINT64_MAX, collect, out,
	    &rev) == 0 && out->n == wn && memcmp(out->p, want, wn) == 0,
	    "%s: patch_scan_still hands the output to its tap", what);
	ok(lseek(b, 0, SEEK_END) == BASIS, "%s: ... writing nothing", what);
	rfd = tmpfd(NULL, 0);
	w = gzw_open(dup(rfd), 0);
	ok(rev != NULL && sig_delta(rev, b, w) == 0 && gzw_close(w, 0) == 0,
	    "%s: the way back is written", what);
	f = tmpfd(basis, BASIS);
	m.off = 0;
	ok(patch_in_place(f, mem_read, &m, UINT64_MAX) == 0,
	    "%s: patch_in_place", what);
	got = slurp(f, &gn);
	ok(gn == wn && memcmp(got, want, wn) == 0,
	    "%s: ... makes the basis the output", what);
	free(got);
	ok(gives_basis(f, rfd),
	    "%s: the way back gives the basis from the output", what);
	close(f);
	f = tmpfd(basis, BASIS);
	if (pwrite(f, want + lit1, n1, (off_t)lit1) != (ssize_t)n1)
		exit(1);
	ok(gives_basis(f, rfd), "%s: ... and from the basis half patched",
	    what);
	close(f);
	close(rfd);
	close(b);
	sig_free(rev);
	free(out);
}

/* Deltas that patch_scan_still and patch_in_place take, and one not. */
static void
still_cases(const unsigned char *lit)
{
	static unsigned char want[BASIS + 1000];
	struct d *d = xmalloc(sizeof *d);
	struct sigmaker *rev = (struct sigmaker *)1;
	struct memread m;
	int b;

	/* two stretches overwritten */
	d_init(d);
	d_copy(d, 0, 1000);
	d_lit(d, lit, 3000);
	d_copy(d, 4000, 196000);
	d_lit(d, lit + 3000, 500);
	d_copy(d, 200500, BASIS - 200500);
	d->p[d->n++] = 0;
	memcpy(want, basis, BASIS);
	memcpy(want + 1000, lit, 3000);
	memcpy(want + 200000, lit + 3000, 500);
	still("overwritten twice", d, want, BASIS, 1000, 3000);
	/* cut short, with new bytes at the end */
	d_init(d);
	d_copy(d, 0, 5000);
	d_lit(d, lit, 100);
	d->p[d->n++] = 0;
	memcpy(want, basis, 5000);
	memcpy(want + 5000, lit, 100);
	still("cut", d, want, 5100, 5000, 100);
	/* appended to */
	d_init(d);
	d_copy(d, 0, BASIS);
	d_lit(d, lit, 1000);
	d->p[d->n++] = 0;
	memcpy(want, basis, BASIS);
	memcpy(want + BASIS, lit, 1000);
	still("appended", d, want, BASIS + 1000, BASIS, 0);
	/* zeros written over data: a hole, as a new file would have */
	d_init(d);
	d_copy(d, 0, 65536);
	memset(want, 0, 65536);
	d_lit(d, want, 65536);
	d_copy(d, 131072, BASIS - 131072);
	d->p[d->n++] = 0;
	memcpy(want, basis, BASIS);
	memset(want + 65536, 0, 65536);
	still("zeros over data", d, want, BASIS, 65536, 65536);
	b = tmpfd(basis, BASIS);
	m.p = d->p;
	m.n = d->n;
	m.off = 0;
	/* (the literal comes in two pieces; the short one is written) */
	ok(patch_in_place(b, mem_read, &m, UINT64_MAX) == 0 &&
	    lseek(b, 65536, SEEK_HOLE) == 65536 &&
	    lseek(b, 65536, SEEK_DATA) >= 65536 + 49152,
	    "zeros over data: patch_in_place leaves a hole there");
	close(b);
	/* a copy that moves data */
	d_init(d);
	d_copy(d, 0, 1000);
	d_copy(d, 5000, 1000);
	d->p[d->n++] = 0;
	m.p = d->p;
	m.n = d->n;
	m.off = 0;
	b = tmpfd(basis, BASIS);
	errno = 0;
	ok(patch_scan_still(b, mem_read, &m, UINT64_MAX, NULL, NULL,
	    &rev) == -1 && errno == EXDEV && rev == NULL,
	    "a delta that moves data: patch_scan_still refuses it (EXDEV)");
	m.off = 0;
	errno = 0;
	ok(patch_in_place(b, mem_read, &m, UINT64_MAX) == -1 &&
	    errno == EXDEV && lseek(b, 0, SEEK_END) == BASIS,
	    "... and so does patch_in_place, the file untouched");
	close(b);
	free(d);
}

int
main(void)
{
	static unsigned char want[1 << 20], lit[5000];
	struct sigmaker *sig, *rev;
	struct gzw *w;
	struct gzr *r;
	struct d *d = xmalloc(sizeof *d);
	size_t wn, i, k, off, len, dn;
	unsigned char *dp;
	int dfd, b, o, other;

	srandom(7);
	basis = xmalloc(BASIS);
	for (i = 0; i < BASIS; i++)
		basis[i] = (unsigned char)random();
	for (i = 0; i < sizeof lit; i++)
		lit[i] = (unsigned char)random();

	/* by hand: reordered, overlapping and repeated copies, literals */
	d_init(d);
	wn = 0;
	d_copy(d, 200000, 100000);
	memcpy(want + wn, basis + 200000, 100000), wn += 100000;
	d_lit(d, lit, 3000);
	memcpy(want + wn, lit, 3000), wn += 3000;
	d_copy(d, 0, 1000);
	memcpy(want + wn, basis, 1000), wn += 1000;
	d_copy(d, 500, 1500);		/* overlaps the last */
	memcpy(want + wn, basis + 500, 1500), wn += 1500;
	d_copy(d, 200000, 100000);	/* the same again */
	memcpy(want + wn, basis + 200000, 100000), wn += 100000;
	d_copy(d, 1000, 9000);		/* continues an earlier one */
	memcpy(want + wn, basis + 1000, 9000), wn += 9000;
	d->p[d->n++] = 5;		/* a 5-byte literal */
	memcpy(d->p + d->n, "hello", 5), d->n += 5;
	memcpy(want + wn, "hello", 5), wn += 5;
	d->p[d->n++] = 0;
	/* not copied: 10000..200000 */
	roundtrip("hand-made", d->p, d->n, want, wn, 190000 + 1000);
	d->p[d->n++] = 0x55;		/* after the end: ignored */
	roundtrip("trailing bytes after the end", d->p, d->n, want, wn,
	    190000 + 1000);

	d_init(d);
	d->p[d->n++] = 0;
	roundtrip("all new (empty output)", d->p, d->n, want, 0,
	    BASIS + 1000);

	/* deltas librsync made, of files built from pieces of the basis */
	for (k = 0; k < 20; k++) {
		wn = 0;
		while (wn < 400000) {
			off = (size_t)random() % BASIS;
			len = (size_t)random() % 40000;
			if (random() % 3 == 0) {
				len %= sizeof lit;
				memcpy(want + wn, lit, len);
			} else {
				if (len > BASIS - off)
					len = BASIS - off;
				memcpy(want + wn, basis + off, len);
			}
			wn += len;
		}
		sig = sig_begin(BASIS);
		sig_update(sig, basis, BASIS);
		o = tmpfd(want, wn);
		dfd = tmpfd(NULL, 0);
		w = gzw_open(dup(dfd), 0);
		if (sig_delta(sig, o, w) == -1 || gzw_close(w, 0) == -1) {
			ok(0, "librsync delta %zu", k);
			continue;
		}
		sig_free(sig);
		close(o);
		dp = slurp(dfd, &dn);
		close(dfd);
		roundtrip("a librsync delta", dp, dn, want, wn, BASIS + 1000);
		free(dp);
	}

	/* the way back refuses another file than the basis */
	d_init(d);
	d_copy(d, 0, 1000);
	d->p[d->n++] = 0;
	b = tmpfd(basis, BASIS);
	dfd = tmpfd(d->p, d->n);
	r = gzr_open(dfd, 0);
	ok(patch_apply_rev(b, gz_read, r, -1, UINT64_MAX, NULL, NULL, &rev) == 0,
	    "a delta for the ESTALE check");
	gzr_close(r);
	other = tmpfd(basis, BASIS);
	o = tmpfd(NULL, 0);
	w = gzw_open(dup(o), 0);
	errno = 0;
	ok(sig_delta(rev, other, w) == -1 && errno == ESTALE,
	    "the way back from another file than the basis: ESTALE");
	gzw_close(w, 0);
	sig_free(rev);
	close(b);
	close(o);
	close(other);

	/* malformed deltas */
	d_init(d);
	d_copy(d, BASIS - 10, 11);
	d->p[d->n++] = 0;
	refused("a copy past the basis's end", d->p, d->n, EIO);
	d_init(d);
	d_copy(d, 0, 0);
	d->p[d->n++] = 0;
	refused("a copy of nothing", d->p, d->n, EIO);
	d_init(d);
	d_copy(d, (uint64_t)1 << 63, 10);
	d->p[d->n++] = 0;
	refused("a copy from a negative offset", d->p, d->n, EIO);
	d_init(d);
	d->p[d->n++] = 0x41;
	d->p[d->n++] = 0;
	d->p[d->n++] = 0;
	refused("a literal of nothing", d->p, d->n, EIO);
	d_init(d);
	d->p[d->n++] = 0x55;
	refused("a reserved opcode", d->p, d->n, EIO);
	d_init(d);
	d_copy(d, 0, 100);
	refused("no end", d->p, d->n, EIO);
	d_init(d);
	d->p[d->n++] = 0x43;
	put(d, 100, 4);
	memcpy(d->p + d->n, lit, 50), d->n += 50;
	refused("a literal cut short", d->p, d->n, EIO);
	d_init(d);
	d->p[d->n++] = 0x4d;
	refused("a command cut short", d->p, d->n, EIO);
	d->n = 0;
	put(d, 0x72730136, 4);	/* a signature's magic */
	d->p[d->n++] = 0;
	refused("another magic number", d->p, d->n, EIO);
	refused("an empty delta", d->p, 0, EIO);
	d_init(d);
	for (i = 0; i < 5; i++)
		d_copy(d, 0, BASIS);
	d->p[d->n++] = 0;
	refused("output beyond the limit", d->p, d->n, EFBIG);
	free(d);
	big_files();
	repeated_blocks("a basis of zeros", 1, 0);
	repeated_blocks("a basis of a repeated pattern", 0, 0);
	repeated_blocks("a signature of zeros for a pattern", 0, 1);
	still_cases(lit);
	free(basis);
	return tap_done();
}
