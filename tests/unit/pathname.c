/*
 * Unit tests for pathname.c: path_below, tmp_named, shown, listing a
 * directory with dir_list/dir_next/dir_empty, and open_below.
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

/* open_below never leaves root: not through a symlink at any level. */
static void
below_only(void)
{
	char dir[] = "/tmp/pathname-unit.XXXXXX", out[] = "/tmp/pathname-out.XXXXXX";
	char cmd[512];
	int root, fd, n;

	if (mkdtemp(dir) == NULL || mkdtemp(out) == NULL) {
		ok(0, "make scratch directories");
		return;
	}
	n = snprintf(cmd, sizeof cmd, "mkdir %s/d && echo in >%s/d/f && "
	    "echo out >%s/f && ln -s %s %s/link && ln -s f %s/d/lf", dir, dir,
	    out, out, dir, dir);
	root = open(dir, O_RDONLY | O_DIRECTORY);
	if (n < 0 || (size_t)n >= sizeof cmd || system(cmd) != 0 ||
	    root == -1) {
		ok(0, "fill the scratch directories");
		return;
	}
	fd = open_below(root, "d/f", O_RDONLY);
	ok(fd != -1, "open_below opens a file below the root");
	if (fd != -1)
		close(fd);
	ok(open_below(root, "link/f", O_RDONLY) == -1,
	    "... not through a symlink to a directory outside");
	ok(open_below(root, "d/lf", O_RDONLY) == -1 && errno == ELOOP,
	    "... nor a symlink as the last component");
	ok(open_below(root, "d/nothing", O_RDONLY) == -1 && errno == ENOENT,
	    "... and says ENOENT for what is not there");
	close(root);
	snprintf(cmd, sizeof cmd, "rm -rf %s %s", dir, out);
	if (system(cmd) != 0)
		ok(0, "remove the scratch directories");
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
	below_only();
	return tap_done();
}
