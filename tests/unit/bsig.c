/*
 * bsig.c: block signatures (the agent's wire) and the deltas
 * sig_delta_file makes from them.  For each way a file changes (nothing,
 * bytes overwritten, inserted, deleted, appended, cut, moved, repeated
 * blocks, everything), in one thread and in two: the delta patches the
 * old version into the new, carries little more than what changed, and
 * the way back (patch_apply_rev with the signature's sums) gives the old
 * version again.  Malformed signatures are refused, never read past.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bsig.h"
#include "delta.h"
#include "files.h"
#include "gz.h"
#include "tap.h"
#include "xalloc.h"


static int
to_fd(void *arg, const char *p, size_t n)
{
	int *fd = arg;

	return write(*fd, p, n) == (ssize_t)n ? 0 : -1;
}

static ssize_t
fd_read(void *arg, void *buf, size_t n)
{
	return read(*(int *)arg, buf, n);
}

static void
fill(unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(random() >> 8);
}

/*
 * Apply the delta in dfd (from its start) to ofd with patch_apply_rev,
 * into a new temp file *o: does it give want[0..n)?  The way back in
 * *rev.
 */
static int
patched(int ofd, int dfd, const unsigned char *want, size_t n,
    struct sigmaker **rev, int *o)
{
	unsigned char *got;
	size_t gn;
	int rv;

	lseek(dfd, 0, SEEK_SET);
	*o = tmpfd(NULL, 0);
	rv = patch_apply_rev(ofd, fd_read, &dfd, *o, UINT64_MAX, NULL, NULL,
	    rev);
	got = slurp(*o, &gn);
	rv = rv == 0 && gn == n && memcmp(got, want, n) == 0;
	free(got);
	return rv;
}

/*
 * Sign old, diff nw against it, patch: the output must be nw, the delta
 * at most lim bytes, and the way back must give old.
 */
static void
roundtrip(const char *what, const unsigned char *old, size_t on,
    const unsigned char *nw, size_t nn, size_t lim)
{
	struct sigmaker *rev = NULL;
	unsigned char *sig, *got;
	struct gzw *w;
	struct gzr *r;
	size_t siglen, gn;
	off_t dn;
	int ofd, nfd, dfd, o, rfd, back, rv;

	ofd = tmpfd(old, on);
	nfd = tmpfd(nw, nn);
	dfd = tmpfd(NULL, 0);
	sig = bsig_file(ofd, on, &siglen);
	ok(sig != NULL && sig_delta_file(sig, siglen, nfd, to_fd, &dfd) == 0,
	    "%s: signed and diffed", what);
	dn = lseek(dfd, 0, SEEK_END);
	ok(dn <= (off_t)lim, "%s: a delta of %lld bytes (at most %zu)", what,
	    (long long)dn, lim);
	ok(patched(ofd, dfd, nw, nn, &rev, &o),
	    "%s: the patch gives the new version", what);
	ok(rev != NULL && rev_basis_sig(rev, sig, siglen) == 0,
	    "%s: the way back takes the signature's sums", what);
	rfd = tmpfd(NULL, 0);
	w = gzw_open(dup(rfd), 0);
	ok(rev != NULL && sig_delta(rev, ofd, w) == 0 && gzw_close(w, 0) == 0,
	    "%s: the way back is written", what);
	lseek(rfd, 0, SEEK_SET);
	back = tmpfd(NULL, 0);
	r = gzr_open(rfd, 0);
	rv = patch_apply(o, r, back, UINT64_MAX, NULL, NULL);
	gzr_close(r);
	got = slurp(back, &gn);
	ok(rv == 0 && gn == on && memcmp(got, old, on) == 0,
	    "%s: ... and gives the old version", what);
	free(got);
	sig_free(rev);
	free(sig);
	close(back);
	close(o);
	close(dfd);
	close(nfd);
	close(ofd);
}

/* The block length bsig_file takes for a file of size bytes. */
static size_t
blen_for(size_t size)
{
	unsigned char *old = xcalloc(1, size), *sig;
	size_t siglen, blen = 0;
	int fd = tmpfd(old, size);

	if ((sig = bsig_file(fd, size, &siglen)) != NULL)
		blen = (size_t)sig[4] << 24 | (size_t)sig[5] << 16 |
		    (size_t)sig[6] << 8 | sig[7];
	free(sig);
	free(old);
	close(fd);
	return blen;
}

/* The changes, in a file of size bytes, one by one (or a few). */
static void
changes(const char *tag, size_t size, int few)
{
	size_t blen = blen_for(size);
	unsigned char *old = xmalloc(size), *nw = xmalloc(size + 3 * blen);
	char what[100];
	size_t mid = size / 2;
	/* each cut between two threads' segments: two blocks more at most */
	size_t cuts = size >= 16 << 20 ? 2 * blen * (size / (8 << 20)) : 0;

	fill(old, size);
	ok(blen >= 64, "%s: blocks of %zu bytes", tag, blen);
#define CASE(s)	snprintf(what, sizeof what, "%s: %s", tag, s)
	CASE("unchanged");
	roundtrip(what, old, size, old, size, 64 + size / blen);
	memcpy(nw, old, size);
	memset(nw + mid, 'x', 100);
	CASE("100 bytes overwritten");
	roundtrip(what, old, size, nw, size, 2 * blen + 200);
	memcpy(nw, old, mid);
	memcpy(nw + mid, "inserted", 8);
	memcpy(nw + mid + 8, old + mid, size - mid);
	CASE("8 bytes inserted");
	roundtrip(what, old, size, nw, size + 8, 2 * blen + 200 + cuts);
	memcpy(nw, old, mid);
	memcpy(nw + mid, old + mid + 5, size - mid - 5);
	if (few)
		goto all_new;
	CASE("5 bytes deleted");
	roundtrip(what, old, size, nw, size - 5, 2 * blen + 200 + cuts);
	memcpy(nw, old, size);
	fill(nw + size, 3 * blen);
	CASE("3 blocks appended");
	roundtrip(what, old, size, nw, size + 3 * blen, 5 * blen + 200);
	CASE("cut in the middle");
	roundtrip(what, old, size, old, mid + 1, 200 + mid / blen * 20);
	memcpy(nw, old + mid, size - mid);
	memcpy(nw + size - mid, old, mid);
	CASE("halves swapped");
	roundtrip(what, old, size, nw, size, 4 * blen + 200 + cuts +
	    size / blen * 20);
	memset(nw, 0, size);
	memcpy(nw + mid, old, size - mid);
	CASE("zeros, then the old start");
	roundtrip(what, old, size, nw, size, mid + 2 * blen + 200 + cuts +
	    size / blen * 20);
	memset(old, 0, size);
	memcpy(nw, old, size);
	nw[mid] = 1;
	CASE("all zeros, one byte set");
	roundtrip(what, old, size, nw, size, 2 * blen + 200 + size / blen * 20);
all_new:
	fill(nw, size);
	CASE("all new");
	roundtrip(what, old, size, nw, size, size + size / 1000 + 200);
#undef CASE
	free(old);
	free(nw);
}

/* Signatures that are not what they say: refused, nothing read past. */
static void
malformed(void)
{
	unsigned char *old = xmalloc(100000), *sig, *bad;
	size_t siglen;
	int ofd, dfd;

	fill(old, 100000);
	ofd = tmpfd(old, 100000);
	sig = bsig_file(ofd, 100000, &siglen);
	ok(sig != NULL && siglen == BSIG_HEAD + (100000 + 255) / 256 * 20,
	    "a signature of 100000 bytes: %zu bytes, 256-byte blocks", siglen);
	ok(bsig_load(sig, siglen - 1) == NULL && errno == EINVAL,
	    "one byte short: EINVAL");
	ok(bsig_load(sig, siglen - 20) == NULL && errno == EINVAL,
	    "a block short: EINVAL");
	ok(bsig_load(sig, 20) == NULL && errno == EINVAL,
	    "a cut header: EINVAL");
	bad = (unsigned char *)xmemdup(sig, siglen);
	bad[0] ^= 1;
	ok(bsig_load(bad, siglen) == NULL, "another magic number: refused");
	memcpy(bad, sig, siglen);
	bad[11] = 8;
	ok(bsig_load(bad, siglen) == NULL, "strong sums of 8 bytes: refused");
	memcpy(bad, sig, siglen);
	bad[6] = 0;
	bad[7] = 32;
	ok(bsig_load(bad, siglen) == NULL, "32-byte blocks: refused");
	memcpy(bad, sig, siglen);
	bad[28] = 0x80;
	ok(bsig_load(bad, siglen) == NULL, "a size past 2^63: refused");
	memcpy(bad, sig, siglen);
	bad[33] ^= 0x01;	/* 65536 bytes more or less */
	ok(bsig_load(bad, siglen) == NULL,
	    "a size that needs other block counts: refused");
	dfd = tmpfd(NULL, 0);
	ok(sig_delta_file(bad, siglen, ofd, to_fd, &dfd) == -1,
	    "sig_delta_file of it fails");
	errno = 0;
	ok(bsig_file(ofd, 100001, &siglen) == NULL && errno == ESTALE,
	    "bsig_file of a file shorter than said: ESTALE");
	free(bad);
	free(sig);
	free(old);
	close(dfd);
	close(ofd);
}

/*
 * A signature whose blocks all share one weak sum (any client can send
 * one): the scan tries a bounded number of them at each place, and the
 * delta is still right (all literal).
 */
static void
one_weak_sum(void)
{
	size_t size = 1 << 20, siglen, i;
	unsigned char *old = xmalloc(size), *nw = xmalloc(size), *sig;
	struct sigmaker *rev = NULL;
	int ofd, nfd, dfd, o;

	fill(old, size);
	fill(nw, size);
	ofd = tmpfd(old, size);
	nfd = tmpfd(nw, size);
	sig = bsig_file(ofd, size, &siglen);
	for (i = BSIG_HEAD; sig != NULL && i < siglen; i += 20)
		memset(sig + i, 0, 4);
	dfd = tmpfd(NULL, 0);
	ok(sig != NULL && sig_delta_file(sig, siglen, nfd, to_fd, &dfd) == 0,
	    "every weak sum 0: diffed");
	ok(patched(ofd, dfd, nw, size, &rev, &o),
	    "... and the delta gives the new file");
	sig_free(rev);
	free(sig);
	free(old);
	free(nw);
	close(o);
	close(dfd);
	close(nfd);
	close(ofd);
}

/* Two signatures of one file differ (each has its own key). */
static void
keys(void)
{
	unsigned char *a, *b, old[4096];
	size_t la, lb;
	int fd;

	fill(old, sizeof old);
	fd = tmpfd(old, sizeof old);
	a = bsig_file(fd, sizeof old, &la);
	b = bsig_file(fd, sizeof old, &lb);
	ok(a != NULL && b != NULL && la == lb &&
	    memcmp(a + 12, b + 12, 16) != 0 &&
	    memcmp(a + BSIG_HEAD + 4, b + BSIG_HEAD + 4, 16) != 0,
	    "each signature has its own key, and other strong sums");
	free(a);
	free(b);
	close(fd);
}

int
main(void)
{
	srandom(7);
	changes("300000 bytes", 300000, 0);
	changes("1 MiB + 3", (1 << 20) + 3, 0);
	/* two threads sign and diff: 16 MiB and more */
	changes("20 MiB", 20u << 20, 1);
	malformed();
	one_weak_sum();
	keys();
	return tap_done();
}
