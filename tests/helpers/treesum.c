/*
 * treesum DIR: print a canonical description of a tree, one line per
 * entry, for comparing a restored tree with the one that was backed up:
 * path, type, permissions, owner, size, mtime (not for symlinks and
 * devices, which rdiff-backup does not keep), SHA-1 or symlink target or
 * device numbers, and the hard-link group (first path of the group).
 * Paths and targets are printed with bytes outside printable ASCII and
 * the backslash as \ooo, so any name fits on one line.
 */
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <err.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "copy.h"
#include "walk.h"
#include "xalloc.h"

struct seen {
	dev_t	 dev;
	ino_t	 ino;
	char	*path;
};

static void
esc(const char *s, size_t n)
{
	size_t i;
	unsigned char c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c <= ' ' || c > '~' || c == '\\')
			printf("\\%03o", c);
		else
			putchar(c);
	}
}

int
main(int argc, char *argv[])
{
	struct walk *w;
	struct walk_ent *e;
	struct seen *seen = NULL;
	struct copyres cr;
	size_t nseen = 0, i;
	char *target;
	ssize_t len;
	int fd, werr;

	if (argc != 2)
		errx(100, "usage: treesum DIR");
	if ((w = walk_open(argv[1])) == NULL)
		err(111, "%s", argv[1]);
	while (walk_next(w, &e) == 1) {
		if (e->error)
			errx(111, "%s: %s", e->path, strerror(e->error));
		if (e->depth == 0)
			continue;	/* the root's own name and times vary */
		esc(e->path, e->pathlen);
		printf(" %04o %u:%u", (unsigned)(e->st.st_mode & 07777),
		    (unsigned)e->st.st_uid, (unsigned)e->st.st_gid);
		switch (e->st.st_mode & S_IFMT) {
		case S_IFREG:
			fd = openat(e->dirfd, e->name, O_RDONLY | O_NOFOLLOW);
			if (fd == -1 || copy_fd(fd, -1, NULL, NULL, &cr, &werr) == -1)
				err(111, "read %s", e->path);
			close(fd);
			printf(" reg %lld %lld %s", (long long)e->st.st_size,
			    (long long)e->st.st_mtime, cr.sha1);
			if (e->st.st_nlink > 1) {
				for (i = 0; i < nseen; i++)
					if (seen[i].dev == e->st.st_dev &&
					    seen[i].ino == e->st.st_ino)
						break;
				if (i == nseen) {
					seen = xreallocarray(seen, nseen + 1, sizeof *seen);
					seen[nseen].dev = e->st.st_dev;
					seen[nseen].ino = e->st.st_ino;
					seen[nseen++].path = xstrdup(e->path);
				}
				printf(" link=");
				esc(seen[i].path, strlen(seen[i].path));
			}
			break;
		case S_IFDIR:
			printf(" dir %lld", (long long)e->st.st_mtime);
			break;
		case S_IFLNK:
			target = xmalloc((size_t)e->st.st_size + 1);
			len = readlinkat(e->dirfd, e->name, target,
			    (size_t)e->st.st_size + 1);
			if (len == -1)
				err(111, "readlink %s", e->path);
			printf(" sym -> ");
			esc(target, (size_t)len);
			free(target);
			break;
		case S_IFIFO:
			printf(" fifo %lld", (long long)e->st.st_mtime);
			break;
		case S_IFSOCK:
			printf(" sock %lld", (long long)e->st.st_mtime);
			break;
		default:
			printf(" %s %u,%u", S_ISCHR(e->st.st_mode) ? "chr" : "blk",
			    major(e->st.st_rdev), minor(e->st.st_rdev));
			break;
		}
		putchar('\n');
	}
	walk_close(w);
	return fflush(stdout) == EOF ? 111 : 0;
}
