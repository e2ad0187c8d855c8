/*
 * Unlinked temp files for unit tests: tmpfd(p, n) holds p[0..n) and is
 * at offset 0; slurp(fd, &n) is the whole content (malloc'd).  Exit 1
 * when the system fails them.
 */
#ifndef FILES_H
#define FILES_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "xalloc.h"

static inline int
tmpfd(const void *p, size_t n)
{
	char path[] = "/tmp/unit-test.XXXXXX";
	int fd = mkstemp(path);

	if (fd == -1) {
		perror("mkstemp");
		exit(1);
	}
	unlink(path);
	if (n > 0 && write(fd, p, n) != (ssize_t)n) {
		perror("write");
		exit(1);
	}
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static inline unsigned char *
slurp(int fd, size_t *n)
{
	off_t end = lseek(fd, 0, SEEK_END);
	unsigned char *p = xmalloc(end > 0 ? (size_t)end : 1);

	*n = (size_t)end;
	if (pread(fd, p, *n, 0) != (ssize_t)*n) {
		perror("pread");
		exit(1);
	}
	return p;
}

#endif
