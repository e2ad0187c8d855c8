/*
 * Unit tests for the increment listings of rebuild.c: incdir_open owns
 * its descriptor, sorts by name then time and skips what is no
 * increment; incs_find looks in a directory listing or, for an
 * alternate name, in long_filename_data, which may be absent.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rebuild.h"
#include "repo.h"
#include "tap.h"

static void
touch(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT, 0600);

	if (fd != -1)
		close(fd);
}

int
main(void)
{
	char dir[] = "/tmp/rebuild-unit.XXXXXX", cmd[64];
	struct incdir d = INCDIR_INIT;
	struct longincs l = LONGINCS_INIT;
	const struct incent *e;
	size_t n;
	int fd, ifd, datafd, incfd;

	if (mkdtemp(dir) == NULL)
		return 1;
	datafd = open(dir, O_RDONLY | O_DIRECTORY);
	mkdirat(datafd, "inc", 0700);
	ifd = openat(datafd, "inc", O_RDONLY | O_DIRECTORY);
	touch(ifd, "b.2020-01-02T00:00:00Z.diff.gz");
	touch(ifd, "b.2020-01-01T00:00:00Z.snapshot.gz");
	touch(ifd, "a.b.2019-01-01T00:00:00Z.missing");
	touch(ifd, "b.not-a-time.diff");
	touch(ifd, "b");

	fd = dup(ifd);
	ok(incdir_open(fd, &d) == 0 && d.fd == fd && d.n == 3,
	    "incdir_open lists increments only, and keeps the descriptor");
	e = incdir_find(&d, "b", 1, &n);
	ok(e != NULL && n == 2 && e[0].t < e[1].t &&
	    strncmp(e[0].name, "b.2020-01-01", 12) == 0,
	    "a name's increments, oldest first");
	e = incdir_find(&d, "a.b", 3, &n);
	ok(e != NULL && n == 1 && e->type == INC_MISSING,
	    "a name with a dot is told from its prefix");
	incdir_find(&d, "a", 1, &n);
	ok(n == 0, "a prefix of a name has no increments of its own");
	e = incs_find(datafd, &l, NULL, &d, "b", &n, &incfd);
	ok(e != NULL && n == 2 && incfd == fd,
	    "incs_find without an alternate name: the directory listing");
	e = incs_find(datafd, &l, "7", &d, "b", &n, &incfd);
	ok(e == NULL && n == 0 && l.tried && l.incs.fd == -1,
	    "an absent long_filename_data holds no increments");
	incdir_close(&d);
	ok(d.fd == -1 && d.n == 0 && fcntl(fd, F_GETFD) == -1,
	    "incdir_close closes the directory");
	ok(incdir_open(-1, &d) == 0 && d.n == 0 && d.fd == -1,
	    "no directory: no increments");

	l.tried = 0;
	mkdirat(datafd, LONGDIR, 0700);
	fd = openat(datafd, LONGDIR, O_RDONLY | O_DIRECTORY);
	touch(fd, "7.2020-01-01T00:00:00Z.snapshot.gz");
	close(fd);
	e = incs_find(datafd, &l, "7", NULL, "b", &n, &incfd);
	ok(e != NULL && n == 1 && incfd == l.incs.fd && incfd != -1,
	    "an alternate name's increments are in long_filename_data");
	incdir_close(&l.incs);
	close(ifd);
	close(datafd);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return tap_done();
}
