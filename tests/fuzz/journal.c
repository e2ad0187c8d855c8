/*
 * libFuzzer target: a prune journal read from a repository others may
 * write.  Whatever it holds, reading and applying it never crashes and
 * never touches anything outside the data dir: a file beside the data
 * dir (its parent's, as ../ would reach) survives every input.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "journal.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char	 top[64];
static int	 datafd = -1, topfd = -1;

static void
cleanup(void)
{
	(void)rmtree_at(AT_FDCWD, top);
}

static void
setup(void)
{
	strcpy(top, "/tmp/fuzz-journal.XXXXXX");
	if (mkdtemp(top) == NULL || (topfd = open(top, O_RDONLY |
	    O_DIRECTORY)) == -1 || mkdirat(topfd, "data", 0700) == -1 ||
	    (datafd = openat(topfd, "data", O_RDONLY | O_DIRECTORY)) == -1)
		abort();
	atexit(cleanup);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why;
	struct stat st;
	int64_t o, s;
	int fd;

	if (datafd == -1)
		setup();
	/* the victim beside the data dir, and things inside to move */
	if ((fd = openat(topfd, "victim", O_WRONLY | O_CREAT | O_TRUNC,
	    0600)) == -1 || write(fd, "v", 1) != 1 || close(fd) == -1)
		abort();
	(void)mkdirat(datafd, "increments", 0700);
	close(openat(datafd, "increments/a", O_WRONLY | O_CREAT, 0600));
	if ((fd = openat(datafd, JOURNAL, O_WRONLY | O_CREAT | O_TRUNC,
	    0600)) == -1 || (size > 0 && write(fd, data, size) !=
	    (ssize_t)size) || close(fd) == -1)
		abort();
	if (journal_pending(datafd, &o, &s) == 1 && o >= s)
		abort();
	(void)journal_apply(datafd, &why);
	if (fstatat(topfd, "victim", &st, 0) == -1 || st.st_size != 1)
		abort();
	(void)unlinkat(datafd, JOURNAL, 0);
	return 0;
}
