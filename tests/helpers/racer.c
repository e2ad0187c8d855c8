/*
 * racer DIR PREFIX VICTIM SECONDS: an attacker who can write DIR.  Every
 * entry created in DIR whose name starts with PREFIX is at once replaced
 * by a symlink to VICTIM, to catch a tool that changes a node it made
 * through its name.  Runs until killed or SECONDS pass; prints how many
 * swaps it made.
 */
#define _GNU_SOURCE
#include <sys/inotify.h>

#include <err.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void
onterm(int sig)
{
	(void)sig;
	stop = 1;
}

int
main(int argc, char *argv[])
{
	char buf[65536] __attribute__((aligned(8)));
	struct inotify_event *ev;
	struct pollfd p;
	time_t end;
	ssize_t n;
	size_t plen;
	long swaps = 0;
	int in, dfd;
	char *q;

	if (argc != 5)
		errx(2, "usage: racer DIR PREFIX VICTIM SECONDS");
	plen = strlen(argv[2]);
	end = time(NULL) + atoi(argv[4]);
	if ((dfd = open(argv[1], O_RDONLY | O_DIRECTORY)) == -1)
		err(2, "%s", argv[1]);
	if ((in = inotify_init1(IN_NONBLOCK)) == -1 ||
	    inotify_add_watch(in, argv[1], IN_CREATE) == -1)
		err(2, "inotify %s", argv[1]);
	signal(SIGTERM, onterm);
	printf("ready\n");
	fflush(stdout);
	p.fd = in;
	p.events = POLLIN;
	while (!stop && time(NULL) < end) {
		if (poll(&p, 1, 200) <= 0)
			continue;
		while ((n = read(in, buf, sizeof buf)) > 0)
			for (q = buf; q < buf + n; q += sizeof *ev + ev->len) {
				ev = (struct inotify_event *)q;
				if (ev->len == 0 ||
				    strncmp(ev->name, argv[2], plen) != 0)
					continue;
				unlinkat(dfd, ".racer", 0);
				if (symlinkat(argv[3], dfd, ".racer") == 0 &&
				    renameat(dfd, ".racer", dfd, ev->name) == 0)
					swaps++;
			}
	}
	fprintf(stderr, "racer: %ld swaps\n", swaps);
	return 0;
}
