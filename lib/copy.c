#define _GNU_SOURCE	/* SEEK_DATA, SEEK_HOLE: Linux, not POSIX */
#include <sys/stat.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "copy.h"
#include "io.h"
#include "progress.h"
#include "sparse.h"
#include "xalloc.h"

#define BLOCK	(128 * 1024)

void
sha1_hex(struct sha1_ctx *c, char *out)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t d[SHA1_DIGEST_SIZE];
	int i;

	sha1_digest(c, sizeof d, d);
	for (i = 0; i < SHA1_DIGEST_SIZE; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[40] = '\0';
}

/*
 * The hashing thread's queue: a ring of SLOTS buffers that hashtap fills
 * in order and the thread hashes in order.  full counts the slots handed
 * over and not yet hashed (the one being hashed included), so the slot
 * at head is free whenever full < SLOTS.
 */
#define SLOTS		4
#define SLOTSIZE	(256 * 1024)

struct hashq {
	pthread_t	 th;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	unsigned char	*buf;
	size_t		 len[SLOTS];
	unsigned	 head, tail, full;
	size_t		 fill;		/* bytes in the slot at head */
	int		 done;
};

static void *
hashq_main(void *arg)
{
	struct hashtap *t = arg;
	struct hashq *q = t->q;
	unsigned i;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (q->full == 0 && !q->done)
			pthread_cond_wait(&q->cv, &q->mu);
		if (q->full == 0)
			break;
		i = q->tail;
		pthread_mutex_unlock(&q->mu);
		sha1_update(&t->c, q->len[i], q->buf + (size_t)i * SLOTSIZE);
		pthread_mutex_lock(&q->mu);
		q->tail = (i + 1) % SLOTS;
		q->full--;
		pthread_cond_broadcast(&q->cv);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

/* Hand the slot at head to the thread; waits while every slot is full. */
static void
hashq_push(struct hashq *q)
{
	pthread_mutex_lock(&q->mu);
	q->len[q->head] = q->fill;
	q->head = (q->head + 1) % SLOTS;
	q->full++;
	q->fill = 0;
	pthread_cond_broadcast(&q->cv);
	while (q->full == SLOTS)
		pthread_cond_wait(&q->cv, &q->mu);
	pthread_mutex_unlock(&q->mu);
}

void
hashtap_init(struct hashtap *t, int progress)
{
	sha1_init(&t->c);
	t->bytes = 0;
	t->progress = progress;
	t->q = NULL;
}

void
hashtap_thread(struct hashtap *t)
{
	struct hashq *q = xcalloc(1, sizeof *q);

	q->buf = xmalloc((size_t)SLOTS * SLOTSIZE);
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	t->q = q;
	if (pthread_create(&q->th, NULL, hashq_main, t) != 0) {
		t->q = NULL;
		pthread_cond_destroy(&q->cv);
		pthread_mutex_destroy(&q->mu);
		free(q->buf);
		free(q);
	}
}

void
hashtap(void *arg, const void *p, size_t n)
{
	struct hashtap *t = arg;
	struct hashq *q = t->q;
	const unsigned char *b = p;
	size_t k;

	t->bytes += n;
	if (t->progress)
		progress_add(0, n);
	if (q == NULL) {
		sha1_update(&t->c, n, b);
		return;
	}
	while (n > 0) {
		k = SLOTSIZE - q->fill;
		if (k > n)
			k = n;
		memcpy(q->buf + (size_t)q->head * SLOTSIZE + q->fill, b, k);
		q->fill += k;
		b += k;
		n -= k;
		if (q->fill == SLOTSIZE)
			hashq_push(q);
	}
}

void
hashtap_end(struct hashtap *t, struct copyres *res)
{
	struct hashq *q = t->q;

	if (q != NULL) {
		if (q->fill > 0)
			hashq_push(q);
		pthread_mutex_lock(&q->mu);
		q->done = 1;
		pthread_cond_broadcast(&q->cv);
		pthread_mutex_unlock(&q->mu);
		pthread_join(q->th, NULL);
		pthread_cond_destroy(&q->cv);
		pthread_mutex_destroy(&q->mu);
		free(q->buf);
		free(q);
		t->q = NULL;
	}
	if (res != NULL) {
		sha1_hex(&t->c, res->sha1);
		res->bytes = t->bytes;
	}
}

/* Account for n zero bytes of a hole: hashed and signed, never read. */
static int
zeros(struct sha1_ctx *c, copy_tap *tap, void *arg, struct sparse *out,
    uint64_t n)
{
	static const char zero[65536];
	size_t k;

	if (out != NULL)
		out->pos += (off_t)n;
	while (n > 0) {
		k = n < sizeof zero ? (size_t)n : sizeof zero;
		progress_add(0, k);
		sha1_update(c, k, (const uint8_t *)zero);
		if (tap != NULL && tap(arg, zero, k) == -1)
			return -1;
		n -= k;
	}
	return 0;
}

/*
 * Does the file hold size bytes?  A size that a FUSE server or a sysfs
 * file only claims has no byte at size - 1: reading stops short.
 */
static int
holds(int fd, off_t size)
{
	char c;

	return pread(fd, &c, 1, size - 1) == 1;
}

int
copy_fd(int in, int out, copy_tap *tap, void *arg, struct copyres *res,
    int *werr)
{
	static char *buf;
	struct sha1_ctx c;
	struct sparse sp;
	struct stat st;
	off_t pos, data, hole, end = -1;
	ssize_t n;
	size_t want;

	if (buf == NULL)
		buf = xmalloc(BLOCK);
	*werr = 0;
	sha1_init(&c);
	res->bytes = 0;
	if (out != -1)
		sparse_init(&sp, out);
	/*
	 * Where a regular file has fewer blocks than bytes, ask the
	 * filesystem for its holes and skip them; others are read through.
	 */
	pos = 0;
	if (fstat(in, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_blocks < st.st_size / 512 &&
	    (pos = lseek(in, 0, SEEK_CUR)) != -1)
		end = st.st_size;
	for (;;) {
		hole = -1;
		if (end != -1 && pos < end) {
			data = lseek(in, pos, SEEK_DATA);
			if (data == -1 && errno == ENXIO) {
				/* no data after pos: a hole up to the end, if
				 * the file holds that size at all */
				if (!holds(in, end))
					break;
				data = end;
			}
			if (data > pos) {
				if (data > end)
					data = end;
				if (zeros(&c, tap, arg, out != -1 ? &sp : NULL,
				    (uint64_t)(data - pos)) == -1) {
					*werr = 1;
					return -1;
				}
				res->bytes += (uint64_t)(data - pos);
				pos = data;
			}
			if (data != -1)
				hole = lseek(in, pos, SEEK_HOLE);
			if (data == -1 || hole == -1)
				end = -1;	/* no SEEK_DATA here: read it all */
			if (lseek(in, pos, SEEK_SET) == -1)
				return -1;
		}
		want = BLOCK;
		if (hole > pos && (off_t)want > hole - pos)
			want = (size_t)(hole - pos);
		if ((n = read_full(in, buf, want)) == -1)
			return -1;
		if (n == 0)
			break;		/* the real end, whatever the size said */
		sha1_update(&c, (size_t)n, (uint8_t *)buf);
		if (tap != NULL && tap(arg, buf, (size_t)n) == -1) {
			*werr = 1;
			return -1;
		}
		res->bytes += (uint64_t)n;
		pos += n;
		progress_add(0, (uint64_t)n);
		if (out != -1 && sparse_write(&sp, buf, (size_t)n) == -1) {
			*werr = 1;
			return -1;
		}
		if (end != -1 && pos >= end)
			end = -1;	/* past the size seen: read to the real end */
	}
	if (out != -1 && sparse_finish(&sp) == -1) {
		*werr = 1;
		return -1;
	}
	sha1_hex(&c, res->sha1);
	return 0;
}
