/*
 * Unit tests for walk.c: rdiff-backup's component order, odd names,
 * symlinks not followed, paths longer than PATH_MAX, walk_skip.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "walk.h"
#include "xalloc.h"

static char dir[] = "/tmp/unit-walk.XXXXXX";

/* The order given in the format reference, section 5.4. */
static const char *expect[] = {
	"", "A", "File x", "a", "a/b", "a b", "a-b", "a.b", "a0",
	"back\\slash", "lat\xe9n", "new\nline", "sp ", "tab\tx", "weirdlink",
	"\xff\xfe",
};

static void
mk(int dfd, const char *name, int isdir)
{
	int fd;

	if (isdir)
		mkdirat(dfd, name, 0755);
	else if ((fd = openat(dfd, name, O_WRONLY | O_CREAT, 0644)) != -1)
		close(fd);
}

static void
test_order(void)
{
	struct walk *w;
	struct walk_ent *e;
	int dfd, i = 0, good = 1, r, sawlink = 0;
	size_t n = sizeof expect / sizeof expect[0];

	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	mkdirat(dfd, "o", 0755);
	dfd = openat(dfd, "o", O_RDONLY | O_DIRECTORY);
	mk(dfd, "a", 1);
	mk(dfd, "a/b", 0);
	for (i = 1; i < (int)n; i++)
		if (strcmp(expect[i], "a") && strcmp(expect[i], "a/b") &&
		    strcmp(expect[i], "weirdlink"))
			mk(dfd, expect[i], 0);
	symlinkat("a", dfd, "weirdlink");
	close(dfd);

	if (chdir(dir) == -1)
		return;
	w = walk_open("o");
	for (i = 0; (r = walk_next(w, &e)) == 1; i++) {
		if (i >= (int)n || strcmp(e->path, expect[i]) != 0 ||
		    e->pathlen != strlen(expect[i]) || e->error) {
			good = 0;
			printf("# entry %d: got \"%s\"\n", i, e->path);
		}
		if (strcmp(e->path, "weirdlink") == 0)
			sawlink = S_ISLNK(e->st.st_mode);
	}
	ok(good && i == (int)n && r == 0,
	    "walk yields rdiff-backup's component order (%d entries)", i);
	ok(sawlink, "a symlink to a directory is reported as a symlink, not followed");
	walk_close(w);

	w = walk_open("o");
	for (i = 0; walk_next(w, &e) == 1; i++) {
		if (strcmp(e->path, "a") == 0)
			walk_skip(w);
		if (strcmp(e->path, "a/b") == 0)
			good = 0;
	}
	ok(good && i == (int)n - 1, "walk_skip leaves out a directory's children");
	walk_close(w);
}

/* Directories of 250-byte names nested past PATH_MAX, and a 255-byte name. */
static void
test_long(void)
{
	struct walk *w;
	struct walk_ent *e;
	char name[256];
	int dfd, fd, i, levels = PATH_MAX / 250 + 3, maxdepth = 0;
	size_t maxlen = 0;
	int found255 = 0;

	memset(name, 'n', 250);
	name[250] = '\0';
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	mkdirat(dfd, "l", 0755);
	fd = openat(dfd, "l", O_RDONLY | O_DIRECTORY);
	close(dfd);
	for (i = 0; i < levels; i++) {
		mkdirat(fd, name, 0755);
		dfd = openat(fd, name, O_RDONLY | O_DIRECTORY);
		close(fd);
		fd = dfd;
	}
	memset(name, 'x', 255);
	name[255] = '\0';
	mk(fd, name, 0);
	close(fd);

	w = walk_open("l");
	while (walk_next(w, &e) == 1) {
		if (e->error)
			printf("# error %s at depth %d\n", strerror(e->error), e->depth);
		if (e->pathlen > maxlen)
			maxlen = e->pathlen;
		if (e->depth > maxdepth)
			maxdepth = e->depth;
		if (S_ISREG(e->st.st_mode) && strlen(e->name) == 255 &&
		    e->pathlen == strlen(e->path))
			found255 = 1;
	}
	walk_close(w);
	ok(maxlen > PATH_MAX && maxdepth == levels + 1,
	    "paths longer than PATH_MAX are walked (%zu bytes)", maxlen);
	ok(found255, "a 255-byte name deep below PATH_MAX is found and stat'ed");
}

static void
test_errors(void)
{
	struct walk *w;
	struct walk_ent *e;
	int r, n = 0, listerr = 0, status;
	pid_t pid;

	w = walk_open("does-not-exist");
	r = walk_next(w, &e);
	ok(r == 1 && e->error == ENOENT && !e->listerr,
	    "a missing root is one entry with ENOENT");
	ok(walk_next(w, &e) == 0, "and then the end");
	walk_close(w);

	/* As root, look at the tree as nobody, who cannot list locked/. */
	mkdir("u", 0755);
	mkdir("u/locked", 0);
	mkdir("u/open", 0755);
	chmod(".", 0755);
	if ((pid = fork()) == 0) {
		if (geteuid() == 0 && (setgid(65534) == -1 || setuid(65534) == -1))
			_exit(2);
		w = walk_open("u");
		while (walk_next(w, &e) == 1) {
			n++;
			if (e->listerr && strcmp(e->path, "locked") == 0 &&
			    e->error == EACCES)
				listerr = 1;
		}
		walk_close(w);
		_exit(listerr && n == 4 ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	chmod("u/locked", 0755);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "an unreadable directory is reported and the walk goes on");
}

int
main(void)
{
	char cmd[64];

	if (mkdtemp(dir) == NULL)
		return 111;
	test_order();
	test_long();
	test_errors();
	if (chdir("/") == -1)
		return 111;
	if (!tap_failed) {
		snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
		if (system(cmd) != 0)
			return 111;
	} else
		printf("# kept %s\n", dir);
	return tap_done();
}
