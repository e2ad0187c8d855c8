#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pathname.h"
#include "xalloc.h"

const char *
shown(const char *path)
{
	static char *buf;
	static size_t cap;
	size_t n = strlen(path), i, j;
	const unsigned char *p = (const unsigned char *)path;

	if (n == 0)
		return ".";
	if (cap < n * 4 + 1) {
		cap = n * 4 + 1;
		buf = xrealloc(buf, cap);
	}
	for (i = j = 0; i < n; i++) {
		if (p[i] < ' ' || p[i] == 0x7f) {
			snprintf(buf + j, 5, "\\%03o", p[i]);
			j += 4;
		} else
			buf[j++] = (char)p[i];
	}
	buf[j] = '\0';
	return buf;
}

int
subdir(int fd, const char *name)
{
	if (fd == -1)
		return -1;
	return openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

int
open_parent(int root, const char *path, const char **base)
{
	const char *p, *slash;
	char *comp;
	int fd, next;

	if ((fd = dup(root)) == -1)
		return -1;
	for (p = path; (slash = strchr(p, '/')) != NULL; p = slash + 1) {
		comp = xmemdup(p, (size_t)(slash - p) + 1);
		comp[slash - p] = '\0';
		next = subdir(fd, comp);
		free(comp);
		close(fd);
		if ((fd = next) == -1)
			return -1;
	}
	*base = p;
	return fd;
}

int
open_below(int root, const char *path, int flags)
{
	const char *base;
	int pfd, fd, saved;

	if ((pfd = open_parent(root, path, &base)) == -1)
		return -1;
	fd = openat(pfd, base, flags | O_NOFOLLOW);
	saved = errno;
	close(pfd);
	errno = saved;
	return fd;
}

DIR *
dir_list(int fd)
{
	DIR *d;
	int dfd, saved;

	if ((dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) == -1)
		return NULL;
	if ((d = fdopendir(dfd)) == NULL) {
		saved = errno;
		close(dfd);
		errno = saved;
		return NULL;
	}
	rewinddir(d);
	return d;
}

struct dirent *
dir_next(DIR *d)
{
	struct dirent *de;

	do {
		errno = 0;
		de = readdir(d);
	} while (de != NULL && de->d_name[0] == '.' &&
	    (de->d_name[1] == '\0' ||
	    (de->d_name[1] == '.' && de->d_name[2] == '\0')));
	return de;
}

int
dir_empty(int fd)
{
	DIR *d;
	int empty, saved;

	if ((d = dir_list(fd)) == NULL)
		return -1;
	empty = dir_next(d) == NULL;
	saved = empty ? errno : 0;
	closedir(d);
	if (saved != 0) {
		errno = saved;
		return -1;
	}
	return empty;
}

char *
tmp_name(void)
{
	static unsigned n;
	char *s = xmalloc(40);

	snprintf(s, 40, "rdiff-backup.tmp.%u", ++n);
	return s;
}

int
tmp_named(const char *name)
{
	static const char prefix[] = "rdiff-backup.tmp.";
	const char *p;

	if (strncmp(name, prefix, sizeof prefix - 1) != 0)
		return 0;
	p = name + sizeof prefix - 1;
	if (*p == '\0')
		return 0;
	while (*p >= '0' && *p <= '9')
		p++;
	return *p == '\0';
}

int
path_below(const char *path, size_t len, const char *dir, size_t dlen)
{
	if (dlen == 0)
		return len > 0;
	return len > dlen && path[dlen] == '/' && memcmp(path, dir, dlen) == 0;
}
