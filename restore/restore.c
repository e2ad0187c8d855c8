/*
 * restore: restore a path of an rdiff-backup repository as it was at a
 * time, list its sessions, or verify it.
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "exitcode.h"

static void
usage(void)
{
	fprintf(stderr, "usage: restore [-v] REPO TARGET\n");
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
			printf("restore %s\n", VERSION);
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
	errx(EXIT_PERM, "restoring is not implemented yet");
}
