/*
 * prune: remove the sessions of an rdiff-backup repository that are older
 * than a time.
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "exitcode.h"

static void
usage(void)
{
	fprintf(stderr, "usage: prune [-v] TIME REPO\n");
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
			printf("prune %s\n", VERSION);
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
	errx(EXIT_PERM, "pruning is not implemented yet");
}
