/*
 * SFTP connection over ssh's stdin/stdout: request ids, the writer,
 * the reply demultiplexer and the watchdog.
 */
#include <sys/socket.h>
#include <sys/wait.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "io.h"
#include "xalloc.h"

#define IDX_BITS	20
#define IDX_MASK	((1u << IDX_BITS) - 1)
#define RBUF_SIZE	(1024 * 1024)
#define CORK_BYTES	16384		/* a batch this large goes at once */
#define CORK_MIN	5000000L	/* how long requests may wait for company: */
#define CORK_MAX	25000000L	/* an eighth of the round trip, within these */
#define RTT_WINDOW	2.0		/* seconds over which the fastest reply counts */

pthread_mutex_t mr_lock = PTHREAD_MUTEX_INITIALIZER;
struct conn_info conn_info;
int conn_batch;

struct slot {
	conn_cb		*cb;
	void		*arg;
	struct timespec	 queued;
	uint32_t	 gen;
	int		 used;
	uint32_t	 nextfree;
};

static int fd = -1;
static pid_t sshpid = -1;
static int timeout;
static void (*on_dead)(void);
static int dead, versioned;
static char reason[256];

static struct slot *slots;
static uint32_t nslots, freehead = UINT32_MAX;
static size_t npending;
static struct timespec last_rx, busy_since;

static struct wbuf out, spare;
static int urgent;			/* out holds a request someone awaits */
static int stopping, writing;		/* conn_stop waits for the writer */
static pthread_cond_t drained = PTHREAD_COND_INITIALIZER;
static int corking;			/* out is not empty ... */
static struct timespec out_since;	/* ... since then */
static long cork_nsec = CORK_MIN;
static unsigned long out_gen;		/* batches written so far */
static double rtt_min = 1e9;		/* fastest reply in this window */
static struct timespec rtt_since;	/* the window's start */
static pthread_cond_t wcond = PTHREAD_COND_INITIALIZER; /* see conn_start */
static pthread_cond_t dogcond = PTHREAD_COND_INITIALIZER;
static pthread_cond_t synccond = PTHREAD_COND_INITIALIZER;

/* The packet being dispatched, for the synchronous calls. */
static const unsigned char *cur_pkt;
static size_t cur_len;

static void
now(struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
}

static double
since(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) +
	    (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

int
conn_dead(void)
{
	return dead;
}

const char *
conn_reason(void)
{
	return reason;
}

pid_t
conn_pid(void)
{
	return sshpid;
}

/*
 * Mark the connection dead: shut the socket so ssh and both threads see
 * the end, then run every pending callback with a NULL reply.
 */
void
conn_fail(const char *fmt, ...)
{
	va_list ap;
	uint32_t i;

	if (dead)
		return;
	dead = 1;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (fd != -1)
		shutdown(fd, SHUT_RDWR);
	if (sshpid > 0)
		kill(-sshpid, SIGTERM);	/* its own process group */
	pthread_cond_broadcast(&wcond);
	pthread_cond_broadcast(&dogcond);
	pthread_cond_broadcast(&synccond);
	pthread_cond_broadcast(&drained);
	for (i = 0; i < nslots; i++) {
		if (!slots[i].used)
			continue;
		slots[i].used = 0;
		npending--;
		slots[i].cb(slots[i].arg, NULL);
	}
	if (on_dead != NULL)
		on_dead();
}

/* Allocate a request id for cb; -1 (EIO) when dead. */
static int
newid(conn_cb *cb, void *arg, uint32_t *id)
{
	uint32_t i;

	if (dead) {
		errno = EIO;
		return -1;
	}
	if (freehead == UINT32_MAX) {
		uint32_t n = nslots ? nslots * 2 : 256;

		if (n > IDX_MASK + 1) {
			errno = EAGAIN;
			return -1;
		}
		slots = xreallocarray(slots, n, sizeof(*slots));
		for (i = nslots; i < n; i++) {
			memset(&slots[i], 0, sizeof(slots[i]));
			slots[i].nextfree = i + 1 < n ? i + 1 : freehead;
		}
		freehead = nslots;
		nslots = n;
	}
	i = freehead;
	freehead = slots[i].nextfree;
	slots[i].cb = cb;
	slots[i].arg = arg;
	slots[i].used = 1;
	slots[i].gen = (slots[i].gen + 1) & (UINT32_MAX >> IDX_BITS);
	now(&slots[i].queued);
	if (npending++ == 0)
		now(&busy_since);
	*id = slots[i].gen << IDX_BITS | i;
	return 0;
}

static void
freeid(uint32_t id)
{
	uint32_t i = id & IDX_MASK;

	slots[i].used = 0;
	slots[i].nextfree = freehead;
	freehead = i;
	npending--;
}

/*
 * After a packet was appended to out (or failed to be): wake the writer
 * when the packet is awaited, the batch is large, or it starts a batch
 * (the writer then sends it after cork_nsec, with what joined it).
 */
static int
queued(uint32_t id, int rc)
{
	if (rc == -1) {
		int e = errno;

		freeid(id);
		errno = e;
		return -1;
	}
	if (!conn_batch || out.len >= CORK_BYTES)
		urgent = 1;
	else if (corking)
		return 0;	/* the writer knows of the batch already */
	if (!corking) {
		corking = 1;
		now(&out_since);
	}
	pthread_cond_signal(&wcond);
	return 0;
}

unsigned long
conn_gen(void)
{
	return out_gen;
}

void
conn_flush(void)
{
	if (out.len > 0 && !urgent) {
		urgent = 1;
		pthread_cond_signal(&wcond);
	}
}

int
conn_path(uint8_t type, const char *path, size_t len, conn_cb *cb, void *arg)
{
	uint32_t id;

	if (newid(cb, arg, &id) == -1)
		return -1;
	return queued(id, sftp_put_path(&out, type, id, path, len));
}

int
conn_handle(uint8_t type, const void *h, size_t hlen, conn_cb *cb, void *arg)
{
	uint32_t id;

	if (newid(cb, arg, &id) == -1)
		return -1;
	return queued(id, sftp_put_handle(&out, type, id, h, hlen));
}

int
conn_open(const char *path, size_t len, conn_cb *cb, void *arg)
{
	uint32_t id;

	if (newid(cb, arg, &id) == -1)
		return -1;
	return queued(id, sftp_put_open(&out, id, path, len));
}

int
conn_read(const void *h, size_t hlen, uint64_t off, uint32_t len, conn_cb *cb,
    void *arg)
{
	uint32_t id;

	if (newid(cb, arg, &id) == -1)
		return -1;
	return queued(id, sftp_put_read(&out, id, h, hlen, off, len));
}

int
conn_ext(const char *name, const char *path, size_t len, conn_cb *cb,
    void *arg)
{
	uint32_t id;

	if (newid(cb, arg, &id) == -1)
		return -1;
	return queued(id, sftp_put_extended(&out, id, name, path, len));
}

static void
ignore_cb(void *arg, struct sftp_reply *r)
{
	(void)arg;
	(void)r;
}

void
conn_close_handle(const void *h, size_t hlen)
{
	int batch = conn_batch;

	conn_batch = 1;
	(void)conn_handle(SSH_FXP_CLOSE, h, hlen, ignore_cb, NULL);
	conn_batch = batch;
}

/*
 * A reply came for a request queued at q.  The fastest reply of each
 * RTT_WINDOW seconds stands for the round trip, and requests nobody
 * awaits wait an eighth of it for company: on a slow link the pipeline
 * is deep and the wait costs nothing, while every batch saves an ssh
 * packet and a compression flush each way.
 */
static void
rtt_sample(const struct timespec *q)
{
	struct timespec t;
	double d, r;

	now(&t);
	d = since(q, &t);
	if (d < rtt_min)
		rtt_min = d;
	if (since(&rtt_since, &t) < RTT_WINDOW)
		return;
	r = rtt_min * 1e9 / 8;
	cork_nsec = r < CORK_MIN ? CORK_MIN : r > CORK_MAX ? CORK_MAX :
	    (long)r;
	rtt_min = 1e9;
	rtt_since = t;
}

/* Match one reply to its request and run the callback. */
static void
dispatch(const unsigned char *pkt, size_t len)
{
	struct sftp_reply r;
	struct slot *s;
	uint32_t i;

	if (sftp_parse(pkt, len, &r) == -1) {
		conn_fail("malformed reply from the server");
		return;
	}
	if (!versioned) {
		if (r.type != SSH_FXP_VERSION) {
			conn_fail("server did not start with SFTP VERSION");
			return;
		}
		versioned = 1;
		r.id = nslots > 0 ? slots[0].gen << IDX_BITS : 0; /* INIT's */
	} else if (r.type == SSH_FXP_VERSION) {
		conn_fail("unexpected SFTP VERSION");
		return;
	}
	i = r.id & IDX_MASK;
	if (i >= nslots || !slots[i].used ||
	    slots[i].gen != r.id >> IDX_BITS) {
		conn_fail("reply to an unknown request (id %u)", r.id);
		return;
	}
	s = &slots[i];
	freeid(r.id);
	rtt_sample(&s->queued);
	cur_pkt = pkt;
	cur_len = len;
	s->cb(s->arg, &r);
	cur_pkt = NULL;
}

static void *
reader(void *unused)
{
	unsigned char *buf = xmalloc(RBUF_SIZE);
	size_t have = 0, off, total;
	ssize_t n;
	int rc;

	for (;;) {
		n = read(fd, buf + have, RBUF_SIZE - have);
		if (n == -1 && errno == EINTR)
			continue;
		pthread_mutex_lock(&mr_lock);
		if (n <= 0) {
			if (n == 0 || errno == ECONNRESET)
				conn_fail("connection closed");
			else
				conn_fail("read: %s", strerror(errno));
			pthread_mutex_unlock(&mr_lock);
			break;
		}
		now(&last_rx);
		have += (size_t)n;
		off = 0;
		while (!dead && (rc = sftp_frame(buf + off, have - off,
		    SFTP_MAX_PACKET, &total)) != 0) {
			if (rc == -1) {
				conn_fail("oversized or malformed packet");
				break;
			}
			dispatch(buf + off + 4, total - 4);
			off += total;
		}
		rc = dead;
		pthread_mutex_unlock(&mr_lock);
		if (rc)
			break;
		memmove(buf, buf + off, have - off);
		have -= off;
	}
	free(buf);
	return NULL;
}

static void *
writer(void *unused)
{
	struct timespec deadline;
	struct wbuf t;

	pthread_mutex_lock(&mr_lock);
	for (;;) {
		while (!dead) {
			if (out.len == 0)
				pthread_cond_wait(&wcond, &mr_lock);
			else if (urgent || stopping)
				break;
			else {
				deadline = out_since;
				deadline.tv_nsec += cork_nsec;
				if (deadline.tv_nsec >= 1000000000) {
					deadline.tv_sec++;
					deadline.tv_nsec -= 1000000000;
				}
				if (pthread_cond_timedwait(&wcond, &mr_lock,
				    &deadline) == ETIMEDOUT)
					break;
			}
		}
		if (dead)
			break;
		urgent = corking = 0;
		out_gen++;
		t = out;
		out = spare;
		spare = t;
		writing = 1;
		pthread_mutex_unlock(&mr_lock);
		if (write_full(fd, spare.p, spare.len) == -1) {
			int e = errno;

			pthread_mutex_lock(&mr_lock);
			writing = 0;
			conn_fail("write: %s", strerror(e));
			break;
		}
		spare.len = 0;
		pthread_mutex_lock(&mr_lock);
		writing = 0;
		pthread_cond_broadcast(&drained);
	}
	pthread_mutex_unlock(&mr_lock);
	return NULL;
}

/* Fail the connection when requests wait and nothing arrives in time. */
static void *
watchdog(void *unused)
{
	struct timespec t, deadline;
	const struct timespec *ref;

	pthread_mutex_lock(&mr_lock);
	while (!dead) {
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_nsec += 250 * 1000 * 1000;
		if (deadline.tv_nsec >= 1000000000) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&dogcond, &mr_lock, &deadline);
		if (dead || npending == 0)
			continue;
		now(&t);
		ref = since(&busy_since, &last_rx) > 0 ? &last_rx : &busy_since;
		if (since(ref, &t) >= timeout)
			conn_fail("no reply from the server for %d seconds",
			    timeout);
	}
	pthread_mutex_unlock(&mr_lock);
	return NULL;
}

void
conn_start(int sock, pid_t pid, int secs, void (*hook)(void))
{
	pthread_t t;
	int i;
	void *(*fn[])(void *) = { reader, writer, watchdog };
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&wcond, &ca);
	pthread_condattr_destroy(&ca);
	fd = sock;
	sshpid = pid;
	timeout = secs;
	on_dead = hook;
	now(&last_rx);
	for (i = 0; i < 3; i++) {
		if ((errno = pthread_create(&t, NULL, fn[i], NULL)) != 0) {
			pthread_mutex_lock(&mr_lock);
			conn_fail("pthread_create: %s", strerror(errno));
			pthread_mutex_unlock(&mr_lock);
			return;
		}
		pthread_detach(t);
	}
}

struct sync {
	int		 done;
	unsigned char	*pkt;
	size_t		 len;
};

static void
sync_cb(void *arg, struct sftp_reply *r)
{
	struct sync *s = arg;

	s->done = 1;
	if (r != NULL)
		s->pkt = (unsigned char *)xmemdup(cur_pkt, cur_len), s->len = cur_len;
	pthread_cond_broadcast(&synccond);
}

/* Wait for a synchronous request queued with mr_lock held. */
static unsigned char *
sync_wait(struct sync *s, int rc, struct sftp_reply *r)
{
	if (rc == -1) {
		pthread_mutex_unlock(&mr_lock);
		return NULL;
	}
	while (!s->done)
		pthread_cond_wait(&synccond, &mr_lock);
	pthread_mutex_unlock(&mr_lock);
	if (s->pkt == NULL) {
		errno = EIO;
		return NULL;
	}
	if (sftp_parse(s->pkt, s->len, r) == -1) {	/* cannot happen */
		free(s->pkt);
		errno = EIO;
		return NULL;
	}
	return s->pkt;
}

unsigned char *
conn_call_path(uint8_t type, const char *path, size_t len,
    struct sftp_reply *r)
{
	struct sync s = { 0, NULL, 0 };

	pthread_mutex_lock(&mr_lock);
	return sync_wait(&s, conn_path(type, path, len, sync_cb, &s), r);
}

unsigned char *
conn_call_ext(const char *name, const char *path, size_t len,
    struct sftp_reply *r)
{
	struct sync s = { 0, NULL, 0 };

	pthread_mutex_lock(&mr_lock);
	return sync_wait(&s, conn_ext(name, path, len, sync_cb, &s), r);
}

static int
ext_is(const unsigned char *n, size_t nl, const unsigned char *d, size_t dl,
    const char *name, const char *data)
{
	return nl == strlen(name) && memcmp(n, name, nl) == 0 &&
	    dl == strlen(data) && memcmp(d, data, dl) == 0;
}

/*
 * INIT, VERSION (which must say 3) and, when offered, limits@openssh.com
 * to size READs.  Returns 0, or -1 with the reason in conn_reason().
 */
int
conn_handshake(void)
{
	struct sync s = { 0, NULL, 0 };
	struct sftp_reply r;
	const unsigned char *n, *d;
	size_t nl, dl;
	unsigned char *pkt;
	uint32_t id;
	int rc, has_limits = 0;

	pthread_mutex_lock(&mr_lock);
	if (newid(sync_cb, &s, &id) == -1) {
		pthread_mutex_unlock(&mr_lock);
		return -1;
	}
	/* VERSION carries no id: the reader hands it to slot 0. */
	if ((id & IDX_MASK) != 0) {
		conn_fail("internal error: INIT is not the first request");
		pthread_mutex_unlock(&mr_lock);
		return -1;
	}
	sftp_put_init(&out);
	pthread_cond_signal(&wcond);
	if ((pkt = sync_wait(&s, 0, &r)) == NULL)
		return -1;
	if (r.id != SFTP_VERSION) {
		pthread_mutex_lock(&mr_lock);
		conn_fail("server speaks SFTP version %u, not 3", r.id);
		pthread_mutex_unlock(&mr_lock);
		free(pkt);
		return -1;
	}
	while ((rc = sftp_ext_next(&r, &n, &nl, &d, &dl)) == 1) {
		if (ext_is(n, nl, d, dl, "limits@openssh.com", "1"))
			has_limits = 1;
		if (ext_is(n, nl, d, dl, "statvfs@openssh.com", "2"))
			conn_info.has_statvfs = 1;
	}
	free(pkt);
	if (rc == -1) {
		pthread_mutex_lock(&mr_lock);
		conn_fail("malformed SFTP VERSION");
		pthread_mutex_unlock(&mr_lock);
		return -1;
	}
	conn_info.readlen = 32768;
	if (has_limits) {
		if ((pkt = conn_call_ext("limits@openssh.com", NULL, 0, &r)) ==
		    NULL)
			return -1;
		if (sftp_parse_limits(&r, &conn_info.limits) == 0) {
			conn_info.has_limits = 1;
			/* Never below 32 KiB: short DATA is asked again. */
			if (conn_info.limits.read > conn_info.readlen)
				conn_info.readlen = conn_info.limits.read;
			if (conn_info.readlen > SFTP_MAX_PACKET - 1024)
				conn_info.readlen = SFTP_MAX_PACKET - 1024;
			if (conn_info.limits.packet > 32768 + 1024 &&
			    conn_info.readlen > conn_info.limits.packet - 1024)
				conn_info.readlen = conn_info.limits.packet -
				    1024;
		}
		free(pkt);
	}
	return 0;
}

void
conn_stop(void)
{
	struct timespec until;
	int i, st;

	if (sshpid <= 0)
		return;
	/*
	 * A live session ends as ssh expects: the end of its input, after
	 * which it closes the channel and exits.  Signals come only if it
	 * does not: a SIGTERM'd ssh may find its ProxyCommand gone first
	 * and complain of a broken pipe on stderr, which cron would mail.
	 */
	pthread_mutex_lock(&mr_lock);
	/* requests still gathering company go first (at most a second) */
	stopping = 1;
	pthread_cond_signal(&wcond);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec++;
	while (!dead && (out.len > 0 || writing) &&
	    pthread_cond_timedwait(&drained, &mr_lock, &until) == 0)
		;
	i = dead;
	if (!dead && fd != -1)
		shutdown(fd, SHUT_WR);
	pthread_mutex_unlock(&mr_lock);
	for (i = i ? 50 : 0; i < 50; i++) {
		if (waitpid(sshpid, &st, WNOHANG) != 0)
			return;
		usleep(20000);
	}
	kill(-sshpid, SIGTERM);	/* its own process group */
	for (i = 0; i < 50; i++) {
		if (waitpid(sshpid, &st, WNOHANG) != 0)
			return;
		usleep(20000);
	}
	kill(-sshpid, SIGKILL);
	waitpid(sshpid, &st, 0);
}
