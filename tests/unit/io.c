/* Unit tests for io.c, atomic.c and the size helpers of xalloc.c. */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomic.h"
#include "io.h"
#include "tap.h"
#include "xalloc.h"

static char dir[] = "/tmp/unit-io.XXXXXX";

static void
test_full(void)
{
	int p[2];
	char big[200000], back[200000 + 10];
	size_t i;
	pid_t pid;

	for (i = 0; i < sizeof big; i++)
		big[i] = (char)(i * 7);
	if (pipe(p) == -1)
		return;
	/* A pipe holds 64 KiB: the writer must loop over short writes. */
	if ((pid = fork()) == 0) {
		close(p[0]);
		_exit(write_full(p[1], big, sizeof big) == 0 ? 0 : 1);
	}
	close(p[1]);
	ok(read_full(p[0], back, sizeof back) == (ssize_t)sizeof big,
	    "read_full returns the whole count, short only at end of file");
	ok(memcmp(big, back, sizeof big) == 0, "read_full/write_full keep the bytes");
	close(p[0]);
	waitpid(pid, NULL, 0);
	ok(write_full(-1, "x", 1) == -1 && errno == EBADF,
	    "write_full reports errors");
}

static void
test_atomic(void)
{
	int dfd;
	char *buf = NULL;
	size_t len;
	struct atomic a;
	struct stat st;

	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	ok(atomic_write(dfd, "f", "one\n", 4, 0600) == 0, "atomic_write creates");
	ok(read_file_at(dfd, "f", &buf, &len, 100) == 0 && len == 4 &&
	    strcmp(buf, "one\n") == 0, "read_file_at reads it back");
	free(buf);
	ok(atomic_open(&a, dfd, "f", 0600) == 0, "atomic_open over an existing file");
	write_full(a.fd, "two", 3);
	ok(read_file_at(dfd, "f", &buf, &len, 100) == 0 &&
	    strcmp(buf, "one\n") == 0, "old content stays until commit");
	free(buf);
	ok(atomic_commit(&a) == 0, "atomic_commit");
	ok(read_file_at(dfd, "f", &buf, &len, 100) == 0 &&
	    strcmp(buf, "two") == 0, "new content after commit");
	free(buf);
	ok(fstatat(dfd, "f.tmp", &st, 0) == -1 && errno == ENOENT,
	    "no temp file left after commit");
	atomic_open(&a, dfd, "f", 0600);
	write_full(a.fd, "three", 5);
	atomic_abort(&a);
	ok(read_file_at(dfd, "f", &buf, &len, 100) == 0 &&
	    strcmp(buf, "two") == 0 && fstatat(dfd, "f.tmp", &st, 0) == -1,
	    "atomic_abort keeps the old file and removes the temp file");
	free(buf);
	buf = NULL;
	ok(read_file_at(dfd, "f", &buf, &len, 2) == -1 && errno == EFBIG && buf == NULL,
	    "read_file_at refuses a file over its limit");
	symlinkat("f", dfd, "lnk");
	ok(read_file_at(dfd, "lnk", &buf, &len, 100) == -1 && errno == ELOOP,
	    "read_file_at does not follow symlinks");
	ok(atomic_write(dfd, "nodir/x", "", 0, 0600) == -1 && errno == ENOENT,
	    "atomic_write reports a missing directory");
	close(dfd);
}

static void
test_size(void)
{
	size_t r;

	ok(size_add(&r, SIZE_MAX - 1, 1) == 0 && r == SIZE_MAX, "size_add at the edge");
	ok(size_add(&r, SIZE_MAX, 1) == -1 && errno == EOVERFLOW, "size_add overflow");
	ok(size_mul(&r, SIZE_MAX / 2, 2) == 0, "size_mul at the edge");
	ok(size_mul(&r, SIZE_MAX / 2 + 1, 2) == -1, "size_mul overflow");
	ok(size_mul(&r, 0, SIZE_MAX) == 0 && r == 0, "size_mul by zero");
}

/* mkdir_parents: the directories above a path, never the path itself. */
static void
test_parents(void)
{
	struct stat st;
	char *p;
	size_t n;

	n = strlen(dir) + 64;
	p = xmalloc(n);
	snprintf(p, n, "%s/m//a/b/repo/", dir);
	ok(mkdir_parents(p, 0700) == 0, "mkdir_parents of %s", p);
	snprintf(p, n, "%s/m/a/b", dir);
	ok(stat(p, &st) == 0 && S_ISDIR(st.st_mode) &&
	    (st.st_mode & 0777) == 0700, "  ... made the parents, mode 0700");
	snprintf(p, n, "%s/m/a/b/repo", dir);
	ok(stat(p, &st) == -1 && errno == ENOENT, "  ... but not the path");
	snprintf(p, n, "%s/m/a/b/x/y", dir);
	ok(mkdir_parents(p, 0700) == 0, "existing parents are no error");
	snprintf(p, n, "%s/f", dir);
	close(open(p, O_WRONLY | O_CREAT, 0600));
	snprintf(p, n, "%s/f/a/b", dir);
	ok(mkdir_parents(p, 0700) == -1 && errno == ENOTDIR,
	    "a regular file on the way: ENOTDIR");
	ok(mkdir_parents("plain", 0700) == 0, "a bare name has no parents");
	free(p);
}

int
main(void)
{
	if (mkdtemp(dir) == NULL)
		return 111;
	test_full();
	test_atomic();
	test_size();
	test_parents();
	if (!tap_failed) {
		char cmd[64];

		snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
		if (system(cmd) != 0)
			return 111;
	} else
		printf("# kept %s\n", dir);
	return tap_done();
}
