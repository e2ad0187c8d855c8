/*
 * Unit tests for node.c: every record type made and opened, temp names
 * that skip taken ones, attributes through the descriptor (also of a
 * fifo's O_PATH one), and a node swapped for a symlink refused.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "meta.h"
#include "node.h"
#include "pathname.h"
#include "tap.h"

static char dir[] = "/tmp/unit-node.XXXXXX";

int
main(void)
{
	struct rec r;
	struct stat st;
	const char *what;
	char *tmp, *tmp2, target[16];
	int dfd, fd, i;

	if (mkdtemp(dir) == NULL || (dfd = open(dir, O_RDONLY | O_DIRECTORY)) == -1)
		return 111;
	umask(0);
	memset(&r, 0, sizeof r);

	r.type = RT_REG;
	fd = node_make(dfd, "f", &r, 0);
	ok(fd != -1 && write(fd, "x", 1) == 1, "a regular file, writable");
	close(fd);
	ok(node_make(dfd, "f", &r, 0) == -1 && errno == EEXIST,
	    "a taken name fails with EEXIST");

	r.type = RT_DIR;
	fd = node_make(dfd, "d", &r, 0);
	ok(fd != -1 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode), "a directory");
	close(fd);

	r.type = RT_SYM;
	r.symdata = "f";
	fd = node_make(dfd, "s", &r, 0);
	ok(fd != -1 && readlinkat(dfd, "s", target, sizeof target) == 1,
	    "a symlink to its target");
	close(fd);

	r.type = RT_FIFO;
	r.perms = 04751;
	r.has_mtime = 1;
	r.mtime = 1000000000;
	fd = node_make(dfd, "p", &r, 0);
	ok(fd != -1, "a fifo");
	ok(node_attrs(fd, &r, 0, 0, 0, NULL, &what) == 0, "attributes set through its O_PATH descriptor");
	close(fd);
	ok(fstatat(dfd, "p", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISFIFO(st.st_mode) &&
	    (st.st_mode & 07777) == 04751 && st.st_mtime == 1000000000,
	    "  ... mode (setuid included) and mtime");

	/* the next temp names are taken: node_tmp skips them */
	r.type = RT_REG;
	fd = node_tmp(dfd, &r, 0, &tmp);
	close(fd);
	for (i = 1; i <= 5; i++) {
		char name[64];

		snprintf(name, sizeof name, "rdiff-backup.tmp.%d",
		    atoi(strrchr(tmp, '.') + 1) + i);
		symlinkat("/etc/passwd", dfd, name);
	}
	fd = node_tmp(dfd, &r, 0, &tmp2);
	ok(fd != -1 && atoi(strrchr(tmp2, '.') + 1) == atoi(strrchr(tmp, '.') + 1) + 6,
	    "node_tmp skips five taken temp names (%s after %s)", tmp2, tmp);
	ok(fstatat(dfd, tmp2, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode),
	    "  ... and makes its own file");
	close(fd);
	ok(tmp_named(tmp2) && !tmp_named("rdiff-backup.tmp.") &&
	    !tmp_named("rdiff-backup.tmp.1x"), "tmp_named knows its names");

	r.type = RT_DIR;
	r.perms = 0700;
	fd = openat(dfd, "d", O_RDONLY | O_DIRECTORY);
	ok(node_place(dfd, tmp2, "d", -1) == 0 &&
	    fstatat(dfd, "d", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode),
	    "node_place replaces a directory");
	close(fd);
	fd = node_tmp(dfd, &r, 0, &tmp);
	unlinkat(dfd, tmp, AT_REMOVEDIR);
	symlinkat(".", dfd, tmp);
	ok(node_place(dfd, tmp, "e", fd) == -1 && errno == ESTALE,
	    "node_place finds a temp swapped for a symlink");
	close(fd);
	close(dfd);
	rmtree_at(AT_FDCWD, dir);
	return tap_done();
}
