/*
 * Unit tests for repo.c's names: both spellings of the time (colons, and
 * rdiff-backup --use-compatible-timestamps' dashes) are read, written on
 * request, found and removed by time, and a repository's spelling is its
 * last complete session's.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "repo.h"
#include "tap.h"
#include "timespec.h"
#include "xalloc.h"

static char dir[] = "/tmp/unit-repo.XXXXXX";

static void
touch(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd != -1)
		close(fd);
}

static int
exists(int dfd, const char *name)
{
	struct stat st;

	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static void
test_names(void)
{
	char *s;
	size_t base;
	int64_t t;
	int type, gz;

	s = incname_make("f", 1700000000, INC_DIFF, 1, TS_COLONS);
	ok(strcmp(s, "f.2023-11-14T22:13:20Z.diff.gz") == 0, "colons: %s", s);
	free(s);
	s = incname_make("a.b", 1700000000, INC_DIR, 0, TS_DASHES);
	ok(strcmp(s, "a.b.2023-11-14T22-13-20Z.dir") == 0, "dashes: %s", s);
	ok(incname_parse(s, strlen(s), &base, &t, &type, &gz) == 0 &&
	    base == 3 && t == 1700000000 && type == INC_DIR && !gz,
	    "a dashed name parses to the same time");
	ok(timestr_style(s + base + 1) == TS_DASHES, "and its style is dashes");
	free(s);
}

static void
test_stamped(int dfd)
{
	char *s;

	touch(dfd, "current_mirror.2023-11-14T22-13-20Z.data");
	touch(dfd, "session_statistics.2023-11-14T23:13:20+01:00.data");
	touch(dfd, "mirror_metadata.2023-11-14T22-13-20Z.diff.gz");
	touch(dfd, "mirror_metadata.2023-11-14T22:13:20Z.diff");
	touch(dfd, "mirror_metadata.2023-11-14T22-13-20Z.snapshot.gz");
	s = stamped_find(dfd, "session_statistics", 1700000000, INC_DATA);
	ok(s != NULL && strcmp(s, "session_statistics.2023-11-14T23:13:20+01:00.data")
	    == 0, "stamped_find finds a file by time, in another zone");
	free(s);
	errno = 0;
	ok(stamped_find(dfd, "session_statistics", 1700000001, INC_DATA) == NULL &&
	    errno == ENOENT, "stamped_find: ENOENT for another time");
	ok(stamped_unlink(dfd, MARKER, 1700000000, INC_DATA) == 0 &&
	    !exists(dfd, "current_mirror.2023-11-14T22-13-20Z.data"),
	    "stamped_unlink removes a dashed marker by time");
	ok(stamped_unlink(dfd, METADATA, 1700000000, INC_DIFF) == 0 &&
	    !exists(dfd, "mirror_metadata.2023-11-14T22-13-20Z.diff.gz") &&
	    !exists(dfd, "mirror_metadata.2023-11-14T22:13:20Z.diff") &&
	    exists(dfd, "mirror_metadata.2023-11-14T22-13-20Z.snapshot.gz"),
	    "stamped_unlink removes every spelling and compression of one "
	    "kind, nothing else");
	ok(stamped_unlink(dfd, MARKER, 1700000000, INC_DATA) == 0,
	    "stamped_unlink of nothing succeeds");
}

static void
test_style(int dfd)
{
	struct repo r;
	int d;

	mkdirat(dfd, "repo", 0700);
	d = openat(dfd, "repo", O_RDONLY | O_DIRECTORY);
	mkdirat(d, DATADIR, 0700);
	ok(repo_open(&r, dir) == -1, "no data dir: repo_open fails");
	ok(chdir(dir) == 0 && repo_open(&r, "repo") == 0 &&
	    r.style == TS_COLONS, "no marker: colons, as a new repository");
	repo_close(&r);
	close(d);
	d = openat(dfd, "repo/" DATADIR, O_RDONLY | O_DIRECTORY);
	/* the last complete session (the older marker) decides */
	touch(d, "current_mirror.2023-11-14T22-13-20Z.data");
	touch(d, "current_mirror.2023-11-15T22:13:20Z.data");
	ok(repo_open(&r, "repo") == 0 && r.style == TS_DASHES &&
	    r.nmarkers == 2, "the older of two markers sets the style: dashes");
	repo_close(&r);
	unlinkat(d, "current_mirror.2023-11-14T22-13-20Z.data", 0);
	touch(d, "current_mirror.2023-11-16T22-13-20Z.data");
	ok(repo_open(&r, "repo") == 0 && r.style == TS_COLONS,
	    "... and colons when that one has colons");
	repo_close(&r);
	close(d);
}

int
main(void)
{
	int dfd;

	if (mkdtemp(dir) == NULL || (dfd = open(dir, O_RDONLY |
	    O_DIRECTORY)) == -1) {
		perror(dir);
		return 1;
	}
	test_names();
	test_stamped(dfd);
	test_style(dfd);
	close(dfd);
	rmtree_at(AT_FDCWD, dir);
	return tap_done();
}
