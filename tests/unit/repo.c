/*
 * Unit tests for repo.c's names: session-stamped files are found and
 * removed by their time, whatever its spelling.
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

int
main(void)
{
	int dfd;

	if (mkdtemp(dir) == NULL || (dfd = open(dir, O_RDONLY |
	    O_DIRECTORY)) == -1) {
		perror(dir);
		return 1;
	}
	test_stamped(dfd);
	close(dfd);
	rmtree_at(AT_FDCWD, dir);
	return tap_done();
}
