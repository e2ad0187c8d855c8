#include <sys/stat.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <librsync.h>
#include <nettle/umac.h>

#include "bsig.h"
#include "buf.h"
#include "delta.h"
#include "xalloc.h"

#define SUMLEN		(4 + BSIG_STRONG)
#define BLEN_MIN	64
#define BLEN_MAX	((uint32_t)16 << 20)
#define READ_SIZE	((size_t)256 << 10)
#define PROBES		64	/* blocks of one weak sum tried at a place */

/*
 * The weak sum of n bytes: sum of p[i] * M^(n-1-i), mod 2^32.  Eight
 * bytes a step, so that the multiplications do not wait for each other.
 */
#define M1	0x08104225u
#define M2	((uint32_t)(M1 * M1))
#define M3	((uint32_t)(M2 * M1))
#define M4	((uint32_t)(M3 * M1))
#define M5	((uint32_t)(M4 * M1))
#define M6	((uint32_t)(M5 * M1))
#define M7	((uint32_t)(M6 * M1))
#define M8	((uint32_t)(M7 * M1))

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static uint32_t
weak(const unsigned char *p, size_t n)
{
	uint32_t h = 0;
	size_t i = 0;

	for (; i + 8 <= n; i += 8, p += 8)
		h = h * M8 + p[0] * M7 + p[1] * M6 + p[2] * M5 + p[3] * M4 +
		    p[4] * M3 + p[5] * M2 + p[6] * M1 + p[7];
	for (; i < n; i++)
		h = h * M1 + *p++;
	return h;
}

/* UMAC-128 under the signature's key, the nonce fixed: a keyed hash. */
static void
strong(struct umac128_ctx *u, const unsigned char *p, size_t n,
    unsigned char *sum)
{
	static const uint8_t nonce[16];

	umac128_set_nonce(u, sizeof nonce, nonce);
	umac128_update(u, n, p);
	umac128_digest(u, BSIG_STRONG, sum);
}

static uint32_t
block_len(uint64_t size)
{
	rs_magic_number magic = RS_RK_BLAKE2_SIG_MAGIC;
	size_t block = 0, slen = (size_t)-1;

	if (rs_sig_args((rs_long_t)(size > INT64_MAX ? INT64_MAX : size),
	    &magic, &block, &slen) != RS_DONE || block < BLEN_MIN)
		block = BLEN_MIN;
	if (block > BLEN_MAX)
		block = BLEN_MAX;
	return (uint32_t)block;
}

/* Blocks [from, to) of a signature being made. */
struct part {
	int		 fd;
	const uint8_t	*key;
	uint32_t	 blen;
	uint64_t	 size, from, to;
	unsigned char	*sums;		/* block from's */
	int		 err;
};

static void *
sign_part(void *arg)
{
	struct part *pt = arg;
	struct umac128_ctx u;
	unsigned char *buf, *s = pt->sums;
	size_t bufsz, k, off, n;
	uint64_t at, end;
	ssize_t got;

	bufsz = READ_SIZE / pt->blen * pt->blen;
	if (bufsz == 0)
		bufsz = pt->blen;
	buf = xmalloc(bufsz);
	umac128_set_key(&u, pt->key);
	end = pt->to * pt->blen < pt->size ? pt->to * pt->blen : pt->size;
	for (at = pt->from * pt->blen; at < end; at += k) {
		k = end - at < bufsz ? (size_t)(end - at) : bufsz;
		for (off = 0; off < k; off += (size_t)got) {
			got = pread(pt->fd, buf + off, k - off,
			    (off_t)(at + off));
			if (got == -1 && errno == EINTR) {
				got = 0;
				continue;
			}
			if (got <= 0) {
				pt->err = got == 0 ? ESTALE : errno;
				free(buf);
				return NULL;
			}
		}
		delta_tick();
		for (off = 0; off < k; off += n, s += SUMLEN) {
			n = k - off < pt->blen ? k - off : pt->blen;
			put32(s, weak(buf + off, n));
			strong(&u, buf + off, n, s + 4);
		}
	}
	free(buf);
	return NULL;
}

unsigned char *
bsig_file(int fd, uint64_t size, size_t *len)
{
	struct wbuf w = { 0 };
	struct part pt[2];
	unsigned char *p;
	uint8_t key[16];
	uint64_t nb;
	uint32_t blen;
	pthread_t t;
	int e, two;

	if (size > INT64_MAX) {
		errno = EFBIG;
		return NULL;
	}
	if (getentropy(key, sizeof key) == -1)
		return NULL;
	blen = block_len(size);
	nb = (size + blen - 1) / blen;
	if (nb > (SIZE_MAX - BSIG_HEAD) / SUMLEN) {
		errno = EFBIG;
		return NULL;
	}
	*len = BSIG_HEAD + (size_t)nb * SUMLEN;
	wbuf_reserve(&w, *len);
	buf_put_u32(&w, BSIG_MAGIC);
	buf_put_u32(&w, blen);
	buf_put_u32(&w, BSIG_STRONG);
	buf_put_bytes(&w, key, sizeof key);
	buf_put_u64(&w, size);
	p = w.p;
	memset(pt, 0, sizeof pt);
	pt[0].fd = pt[1].fd = fd;
	pt[0].key = pt[1].key = key;
	pt[0].blen = pt[1].blen = blen;
	pt[0].size = pt[1].size = size;
	two = delta_parallel(size);
	pt[0].to = pt[1].from = two ? nb / 2 : nb;
	pt[1].to = nb;
	pt[0].sums = p + BSIG_HEAD;
	pt[1].sums = p + BSIG_HEAD + (size_t)pt[1].from * SUMLEN;
	if (two && (e = pthread_create(&t, NULL, sign_part, &pt[1])) != 0) {
		free(p);
		errno = e;
		return NULL;
	}
	sign_part(&pt[0]);
	if (two)
		pthread_join(t, NULL);
	if (pt[0].err != 0 || pt[1].err != 0) {
		free(p);
		errno = pt[0].err != 0 ? pt[0].err : pt[1].err;
		return NULL;
	}
	return p;
}

/* A signature stream's header, checked against its length. */
struct sighead {
	uint32_t		 blen;
	const unsigned char	*key;
	uint64_t		 size;
	size_t			 nb;		/* blocks */
};

static int
sighead(const void *sig, size_t len, struct sighead *h)
{
	struct rbuf r;
	uint32_t magic, slen;

	rbuf_init(&r, sig, len);
	if (buf_get_u32(&r, &magic) == -1 || magic != BSIG_MAGIC ||
	    buf_get_u32(&r, &h->blen) == -1 || h->blen < BLEN_MIN ||
	    h->blen > BLEN_MAX || buf_get_u32(&r, &slen) == -1 ||
	    slen != BSIG_STRONG) {
		errno = EINVAL;
		return -1;
	}
	h->key = r.p + r.off;
	if (buf_skip(&r, 16) == -1 || buf_get_u64(&r, &h->size) == -1 ||
	    h->size > INT64_MAX || (len - BSIG_HEAD) % SUMLEN != 0 ||
	    (h->size + h->blen - 1) / h->blen != (len - BSIG_HEAD) / SUMLEN) {
		errno = EINVAL;
		return -1;
	}
	h->nb = (len - BSIG_HEAD) / SUMLEN;
	return 0;
}

int
bsig_sums(const void *sig, size_t len, uint32_t *blen, size_t *sumlen,
    const unsigned char **sums, size_t *nsums)
{
	struct sighead h;

	if (sighead(sig, len, &h) == -1)
		return -1;
	*blen = h.blen;
	*sumlen = SUMLEN;
	*sums = (const unsigned char *)sig + BSIG_HEAD;
	*nsums = h.nb;
	return 0;
}

struct bsig {
	uint32_t	 blen;
	uint64_t	 size;		/* of the basis */
	size_t		 nb, nfull;	/* blocks; whole ones */
	uint8_t		 key[16];
	unsigned char	*sums;
	uint32_t	*weak;
	uint32_t	*head;		/* whole blocks by weak sum: index + 1 */
	uint32_t	*next;		/* the next of the same bucket */
	unsigned	 bits;
	uint32_t	 out;		/* M1^(blen-1): a byte leaving */
};

static size_t
bucket(const struct bsig *b, uint32_t h)
{
	return (size_t)((h * 0x9e3779b1u) >> (32 - b->bits));
}

struct bsig *
bsig_load(const void *sig, size_t len)
{
	struct bsig *b;
	struct sighead h;
	size_t i, k;

	if (sighead(sig, len, &h) == -1 || (k = h.nb) > UINT32_MAX - 1) {
		errno = EINVAL;
		return NULL;
	}
	b = xcalloc(1, sizeof *b);
	b->blen = h.blen;
	b->size = h.size;
	b->nb = k;
	b->nfull = (size_t)(h.size / h.blen);
	memcpy(b->key, h.key, sizeof b->key);
	b->sums = xmalloc(k * SUMLEN + 1);
	memcpy(b->sums, (const unsigned char *)sig + BSIG_HEAD, k * SUMLEN);
	b->weak = xreallocarray(NULL, k ? k : 1, sizeof *b->weak);
	for (i = 0; i < k; i++)
		b->weak[i] = get32(b->sums + i * SUMLEN);
	for (b->bits = 4; b->bits < 31 && ((size_t)1 << b->bits) < 2 * k;
	    b->bits++)
		;
	b->head = xcalloc((size_t)1 << b->bits, sizeof *b->head);
	b->next = xcalloc(k ? k : 1, sizeof *b->next);
	/* chains in block order: the first of equal blocks is found first */
	for (i = b->nfull; i-- > 0;) {
		size_t bk = bucket(b, b->weak[i]);

		b->next[i] = b->head[bk];
		b->head[bk] = (uint32_t)i + 1;
	}
	b->out = 1;
	for (i = 1; i < h.blen; i++)
		b->out *= M1;
	return b;
}

void
bsig_free(struct bsig *b)
{
	if (b == NULL)
		return;
	free(b->sums);
	free(b->weak);
	free(b->head);
	free(b->next);
	free(b);
}

uint32_t
bsig_blen(const struct bsig *b)
{
	return b->blen;
}

/* Where a scan stands. */
struct scan {
	const struct bsig *b;
	struct umac128_ctx u;
	unsigned char	 sum[BSIG_STRONG];	/* of the window, when */
	int		 have;			/* computed */
};

static int
same(struct scan *sc, size_t j, const unsigned char *p, size_t n)
{
	if (!sc->have) {
		strong(&sc->u, p, n, sc->sum);
		sc->have = 1;
	}
	return memcmp(sc->sum, sc->b->sums + j * SUMLEN + 4, BSIG_STRONG) == 0;
}

/*
 * The whole block with weak sum h and the window p's content, preferring
 * block want (the one after the last found: data in place stays in
 * place, also where blocks repeat); -1: none.
 */
static ssize_t
find(struct scan *sc, uint32_t h, const unsigned char *p, size_t want)
{
	const struct bsig *b = sc->b;
	uint32_t k;
	int n;

	sc->have = 0;
	if (want < b->nfull && b->weak[want] == h && same(sc, want, p, b->blen))
		return (ssize_t)want;
	for (k = b->head[bucket(b, h)], n = 0; k != 0 && n < PROBES;
	    k = b->next[k - 1], n++)
		if (b->weak[k - 1] == h && k - 1 != want &&
		    same(sc, k - 1, p, b->blen))
			return (ssize_t)(k - 1);
	return -1;
}

int
bsig_scan(const struct bsig *b, int fd, uint64_t from, uint64_t to,
    const struct bsig_out *o)
{
	struct scan sc;
	unsigned char *buf;
	size_t cap, len = 0, i = 0, lit = 0, want = SIZE_MAX, n;
	uint64_t base = from, last;
	uint32_t h = 0;
	ssize_t got, j;
	int eof = 0, hv = 0, rv = -1;

	memset(&sc, 0, sizeof sc);
	sc.b = b;
	umac128_set_key(&sc.u, b->key);
	cap = 2 * (size_t)b->blen > READ_SIZE ? 2 * (size_t)b->blen :
	    READ_SIZE;
	buf = xmalloc(cap);
	for (;;) {
		if (len - i < b->blen && !eof) {
			/* out with the literal data; keep the window's start */
			if (i > lit && o->literal(o->arg, (char *)buf + lit,
			    i - lit) == -1)
				goto out;
			memmove(buf, buf + i, len - i);
			base += i;
			len -= i;
			i = lit = 0;
			n = cap - len;
			if (to != 0 && n > to - (base + len))
				n = (size_t)(to - (base + len));
			got = n == 0 ? 0 : pread(fd, buf + len, n,
			    (off_t)(base + len));
			if (got == -1) {
				if (errno == EINTR)
					continue;
				goto out;
			}
			delta_tick();
			if (got == 0)
				eof = 1;
			len += (size_t)got;
			continue;
		}
		if (len - i < b->blen)
			break;
		if (!hv) {
			h = weak(buf + i, b->blen);
			hv = 1;
		}
		if ((j = find(&sc, h, buf + i, want)) != -1) {
			if (i > lit && o->literal(o->arg, (char *)buf + lit,
			    i - lit) == -1)
				goto out;
			if (o->copy(o->arg, (uint64_t)j * b->blen, b->blen) == -1)
				goto out;
			i += b->blen;
			lit = i;
			want = (size_t)j + 1;
			hv = 0;
			continue;
		}
		if (len - i > b->blen)
			h = (h - buf[i] * b->out) * M1 + buf[i + b->blen];
		else
			hv = 0;
		i++;
	}
	/* the basis's short last block, where the data ends as it does */
	last = b->size - (uint64_t)b->nfull * b->blen;
	if (last > 0 && len - i == last &&
	    weak(buf + i, (size_t)last) == b->weak[b->nfull]) {
		sc.have = 0;
		if (same(&sc, b->nfull, buf + i, (size_t)last)) {
			if (i > lit && o->literal(o->arg, (char *)buf + lit,
			    i - lit) == -1)
				goto out;
			if (o->copy(o->arg, (uint64_t)b->nfull * b->blen,
			    last) == -1)
				goto out;
			lit = i = len;
		}
	}
	if (len > lit && o->literal(o->arg, (char *)buf + lit, len - lit) == -1)
		goto out;
	rv = 0;
out:
	free(buf);
	return rv;
}
