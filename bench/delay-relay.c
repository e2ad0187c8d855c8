/*
 * delay-relay MS PORT [KBIT [COUNTFILE]]: an ssh ProxyCommand that
 * connects to 127.0.0.1:PORT and relays stdin -> socket and socket ->
 * stdout, holding every chunk MS milliseconds before passing it on (a
 * delay line per direction, so the round trip grows by 2*MS).  With KBIT
 * (> 0) each direction is also a link of KBIT kbit/s: a chunk leaves when
 * the link has sent the ones before it, and the relay buffers little more
 * than the link holds (bandwidth x round trip), as a router would.  With
 * COUNTFILE, the bytes relayed each way are appended to it at the end as
 * "UP DOWN UPREADS DOWNREADS\n" (client -> server first; the reads tell
 * roughly how many ssh packets went each way on an uncapped link), also
 * when ssh ends the relay with SIGHUP or SIGTERM.
 *
 * Exists because this kernel has no sch_netem; only loopback is reachable
 * by design.  TCP_NODELAY is set: without it Nagle adds ~40 ms per request.
 * Each direction buffers at most MAXQ bytes; beyond that it stops reading
 * (TCP and pipe back-pressure do the rest).  Exits 0 when both directions
 * have seen EOF and drained, 111 on any error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK	65536
#define MAXQ	(64L * 1024 * 1024)
#define LINKCHUNK 4096		/* read size on a capped link */

struct chunk {
	struct chunk	*next;
	int64_t		 due;	/* monotonic ms when it may be written */
	size_t		 len, off;
	char		 data[];
};

struct dir {
	int		 in, out;
	int		 eof;		/* input ended */
	int		 done;		/* output shut after draining */
	long		 queued;
	int64_t		 free_us;	/* when the link has sent all queued */
	uint64_t	 total;
	uint64_t	 reads;
	struct chunk	*head, *tail;
};

static long kbit, maxq = MAXQ;
static volatile sig_atomic_t stop;

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
onsig(int sig)
{
	(void)sig;
	stop = 1;
}

static void
die(const char *what)
{
	fprintf(stderr, "delay-relay: %s: %s\n", what, strerror(errno));
	exit(111);
}

static void
nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		die("fcntl");
}

/*
 * Read what is available into a new chunk due at now + delay, or on a
 * capped link once the link has sent it (after the chunks before it),
 * plus the delay.
 */
static void
pull(struct dir *d, int64_t delay)
{
	struct chunk *c;
	ssize_t n;
	int64_t t;

	if ((c = malloc(sizeof(*c) + CHUNK)) == NULL)
		die("malloc");
	n = read(d->in, c->data, kbit > 0 ? LINKCHUNK : CHUNK);
	if (n <= 0) {
		free(c);
		if (n == 0)
			d->eof = 1;
		else if (errno != EAGAIN && errno != EINTR)
			die("read");
		return;
	}
	t = now_us();
	c->next = NULL;
	if (kbit > 0) {
		if (d->free_us < t)
			d->free_us = t;
		d->free_us += (int64_t)n * 8000 / kbit;
		t = d->free_us;
	}
	c->due = t + delay * 1000;
	d->total += n;
	d->reads++;
	c->len = n;
	c->off = 0;
	if (d->tail)
		d->tail->next = c;
	else
		d->head = c;
	d->tail = c;
	d->queued += n;
}

/* Write every chunk that is due; stop at the first that is not. */
static void
push(struct dir *d, int64_t t)
{
	struct chunk *c;
	ssize_t n;

	while ((c = d->head) != NULL && c->due <= t) {
		n = write(d->out, c->data + c->off, c->len - c->off);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			die("write");
		}
		c->off += n;
		if (c->off < c->len)
			return;
		d->queued -= c->len;
		d->head = c->next;
		if (d->head == NULL)
			d->tail = NULL;
		free(c);
	}
}

int
main(int argc, char *argv[])
{
	struct sockaddr_in sa;
	struct dir d[2];
	struct pollfd p[4];
	struct sigaction sa_sig;
	const char *countfile = NULL;
	char *end;
	long ms, port;
	int s, one = 1, i, timeout;
	int64_t t;
	FILE *f;

	if (argc < 3 || argc > 5) {
		fprintf(stderr, "usage: delay-relay MS PORT [KBIT [COUNTFILE]]\n");
		return 100;
	}
	ms = strtol(argv[1], &end, 10);
	if (*argv[1] == '\0' || *end != '\0' || ms < 0 || ms > 10000) {
		fprintf(stderr, "delay-relay: bad delay: %s\n", argv[1]);
		return 100;
	}
	port = strtol(argv[2], &end, 10);
	if (*argv[2] == '\0' || *end != '\0' || port < 1 || port > 65535) {
		fprintf(stderr, "delay-relay: bad port: %s\n", argv[2]);
		return 100;
	}
	if (argc > 3) {
		kbit = strtol(argv[3], &end, 10);
		if (*argv[3] == '\0' || *end != '\0' || kbit < 0 ||
		    kbit > 100000000) {
			fprintf(stderr, "delay-relay: bad rate: %s\n", argv[3]);
			return 100;
		}
		/* bandwidth x round trip, at least 64 KiB */
		if (kbit > 0)
			maxq = kbit * 2 * (ms + 1) / 8 + 65536;
	}
	if (argc > 4)
		countfile = argv[4];
	memset(&sa_sig, 0, sizeof(sa_sig));
	sa_sig.sa_handler = onsig;
	sigaction(SIGHUP, &sa_sig, NULL);
	sigaction(SIGTERM, &sa_sig, NULL);
	sigaction(SIGINT, &sa_sig, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((s = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		die("socket");
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) == -1)
		die("connect 127.0.0.1");
	if (setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == -1)
		die("setsockopt TCP_NODELAY");
	nonblock(0);
	nonblock(1);
	nonblock(s);
	memset(d, 0, sizeof(d));
	d[0].in = 0, d[0].out = s;	/* client -> server */
	d[1].in = s, d[1].out = 1;	/* server -> client */

	while ((!d[0].done || !d[1].done) && !stop) {
		t = now_us();
		timeout = -1;
		for (i = 0; i < 2; i++) {
			push(&d[i], t);
			if (d[i].eof && d[i].head == NULL && !d[i].done) {
				if (i == 0)
					shutdown(s, SHUT_WR);
				else
					close(1);
				d[i].done = 1;
			}
			p[2 * i].fd = !d[i].eof && d[i].queued < maxq ?
			    d[i].in : -1;
			p[2 * i].events = POLLIN;
			p[2 * i + 1].fd = -1;
			p[2 * i + 1].events = POLLOUT;
			if (d[i].head != NULL) {
				if (d[i].head->due <= t)
					p[2 * i + 1].fd = d[i].out;
				else if (timeout < 0 ||
				    (d[i].head->due - t + 999) / 1000 < timeout)
					timeout = (d[i].head->due - t + 999) / 1000;
			}
		}
		if (d[0].done && d[1].done)
			break;
		if (poll(p, 4, timeout) == -1 && errno != EINTR)
			die("poll");
		for (i = 0; i < 2; i++)
			if (p[2 * i].fd >= 0 && p[2 * i].revents)
				pull(&d[i], ms);
	}
	if (countfile != NULL) {
		if ((f = fopen(countfile, "a")) == NULL)
			die(countfile);
		fprintf(f, "%llu %llu %llu %llu\n",
		    (unsigned long long)d[0].total,
		    (unsigned long long)d[1].total,
		    (unsigned long long)d[0].reads,
		    (unsigned long long)d[1].reads);
		if (fclose(f) == EOF)
			die(countfile);
	}
	return 0;
}
