/*
 * snap: back up SRC into the rdiff-backup repository REPO, keeping the
 * newest tree as a plain mirror and the older ones as reverse increments.
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "exitcode.h"

static void
usage(void)
{
	fprintf(stderr, "usage: snap [-v] SRC REPO\n");
	exit(EXIT_USAGE);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "verbose",	no_argument,	NULL,	'v' },
		{ "version",	no_argument,	NULL,	'V' },
		{ NULL,		0,		NULL,	0 }
	};
	int ch, verbose = 0;

	while ((ch = getopt_long(argc, argv, "Vv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'V':
			printf("snap %s\n", VERSION);
			return EXIT_OK;
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2)
		usage();
	(void)verbose;
	errx(EXIT_PERM, "backing up is not implemented yet");
}
