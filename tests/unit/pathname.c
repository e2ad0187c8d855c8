/*
 * Unit tests for pathname.c: path_below, tmp_named, shown, and listing
 * a directory with dir_list/dir_next/dir_empty.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pathname.h"
#include "tap.h"

static int
below(const char *p, const char *d)
{
	return path_below(p, strlen(p), d, strlen(d));
}

/* Entries of fd listed by dir_list/dir_next, -1 on error. */
static int
count(int fd)
{
	DIR *d = dir_list(fd);
	int n = 0;

	if (d == NULL)
		return -1;
	while (dir_next(d) != NULL)
		n++;
	if (errno != 0)
		n = -1;
	closedir(d);
	return n;
}

static void
listing(void)
{
	char dir[] = "/tmp/pathname-unit.XXXXXX", cmd[64];
	int fd, i;
	DIR *d;

	if (mkdtemp(dir) == NULL || (fd = open(dir, O_RDONLY |
	    O_DIRECTORY)) == -1) {
		ok(0, "make a scratch directory");
		return;
	}
	ok(dir_empty(fd) == 1 && count(fd) == 0,
	    "an empty directory: no entries, not even . and ..");
	for (i = 0; i < 3; i++) {
		snprintf(cmd, sizeof cmd, "f%d", i);
		close(openat(fd, cmd, O_CREAT | O_WRONLY, 0600));
	}
	/* move the shared offset to the end, as an earlier listing does */
	d = dir_list(fd);
	while (dir_next(d) != NULL)
		;
	ok(count(fd) == 3 && count(fd) == 3 && dir_empty(fd) == 0,
	    "dir_list starts at the first entry, wherever fd's offset is");
	closedir(d);
	ok(fcntl(fd, F_GETFD) != -1, "the caller's descriptor stays open");
	ok(dir_list(-1) == NULL && errno == EBADF && dir_empty(-1) == -1,
	    "a bad descriptor is an error, not an empty listing");
	close(fd);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		ok(0, "remove the scratch directory");
}

int
main(void)
{
	ok(below("a", "") && below("a/b", "") && !below("", ""),
	    "the root holds every path but itself");
	ok(below("a/b", "a") && below("a/b/c", "a") && !below("a", "a"),
	    "a directory holds what is below it, not itself");
	ok(!below("ab", "a") && !below("a-b/c", "a") && !below("b/a", "a"),
	    "a shared prefix without a slash is not below");
	ok(!below("a", "a/b"), "a parent is not below its child");
	ok(tmp_named("rdiff-backup.tmp.12") && !tmp_named("rdiff-backup.tmp.") &&
	    !tmp_named("rdiff-backup.tmp.1 ") && !tmp_named("x"),
	    "tmp_named: the prefix and digits only");
	ok(strcmp(shown("a\nb"), "a\\012b") == 0 && strcmp(shown(""), ".") == 0,
	    "shown: control bytes in octal, the root as .");
	listing();
	return tap_done();
}
