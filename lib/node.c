#define _GNU_SOURCE	/* O_PATH, AT_EMPTY_PATH: Linux, not POSIX */
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "io.h"
#include "meta.h"
#include "node.h"
#include "pathname.h"

#define TRIES	1000	/* taken temp names skipped before giving up */

static mode_t
type_mode(const struct rec *r)
{
	switch (r->type) {
	case RT_FIFO:
		return S_IFIFO;
	case RT_SOCK:
		return S_IFSOCK;
	case RT_DEV:
		return r->devtype == 'b' ? S_IFBLK : S_IFCHR;
	default:
		return 0;
	}
}

/*
 * Open the node just made at dirfd/name without following it, and check
 * that it is that node: of type `type`, ours, with no other name.
 * Anything else was put there by someone else, which counts as a name
 * taken (EEXIST), so node_tmp goes on with another name.
 */
static int
open_made(int dirfd, const char *name, mode_t type)
{
	struct stat st;
	int fd;

	if ((fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &st) == -1 || (st.st_mode & S_IFMT) != type ||
	    st.st_uid != geteuid() || st.st_nlink != 1) {
		close(fd);
		errno = EEXIST;
		return -1;
	}
	return fd;
}

int
node_make(int dirfd, const char *name, const struct rec *r, int flags)
{
	struct stat st;
	int fd;

	switch (r->type) {
	case RT_REG:
		return openat(dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
	case RT_DIR:
		if (mkdirat(dirfd, name, 0700) == -1)
			return -1;
		fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (fd != -1 && (fstat(fd, &st) == -1 || st.st_uid != geteuid())) {
			close(fd);
			errno = EEXIST;
			return -1;
		}
		return fd;
	case RT_SYM:
		if (symlinkat(r->symdata, dirfd, name) == -1)
			return -1;
		return open_made(dirfd, name, S_IFLNK);
	default:
		if (mknodat(dirfd, name, type_mode(r) | 0600, r->type == RT_DEV ?
		    makedev(r->major, r->minor) : 0) == 0)
			return open_made(dirfd, name, type_mode(r));
		if (errno != EPERM || !(flags & NODE_FILE_IF_EPERM))
			return -1;
		return openat(dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
	}
}

int
node_tmp(int dirfd, const struct rec *r, int flags, char **tmp)
{
	int fd, i;

	*tmp = NULL;
	for (i = 0; i < TRIES; i++) {
		free(*tmp);
		*tmp = tmp_name();
		if ((fd = node_make(dirfd, *tmp, r, flags)) != -1 ||
		    errno != EEXIST)
			return fd;
	}
	return -1;
}

int
link_tmp(int srcdir, const char *srcname, int dirfd, char **tmp)
{
	int i;

	*tmp = NULL;
	for (i = 0; i < TRIES; i++) {
		free(*tmp);
		*tmp = tmp_name();
		if (linkat(srcdir, srcname, dirfd, *tmp, 0) == 0)
			return 0;
		if (errno != EEXIST)
			return -1;
	}
	return -1;
}

int
node_place(int dirfd, const char *tmp, const char *name, int fd)
{
	struct stat a, b;

	if (renameat(dirfd, tmp, dirfd, name) == -1) {
		if ((errno != EISDIR && errno != ENOTEMPTY && errno != EEXIST) ||
		    rmtree_at(dirfd, name) == -1 ||
		    renameat(dirfd, tmp, dirfd, name) == -1)
			return -1;
	}
	if (fd == -1)
		return 0;
	if (fstat(fd, &a) == -1 || fstatat(dirfd, name, &b,
	    AT_SYMLINK_NOFOLLOW) == -1)
		return -1;
	if (a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
		errno = ESTALE;
		return -1;
	}
	return 0;
}

/* fchmod, also on an O_PATH descriptor (through its /proc link). */
static int
fd_chmod(int fd, mode_t mode)
{
	char proc[32];

	if (fchmod(fd, mode) == 0)
		return 0;
	if (errno != EBADF)
		return -1;
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	return chmod(proc, mode);
}

/* futimens, also on an O_PATH descriptor (through its /proc link). */
static int
fd_utimens(int fd, const struct timespec ts[2])
{
	char proc[32];

	if (futimens(fd, ts) == 0)
		return 0;
	if (errno != EBADF)
		return -1;
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	return utimensat(AT_FDCWD, proc, ts, 0);
}

int
node_attrs(int fd, const struct rec *r, int flags, uid_t uid, gid_t gid,
    const char **what)
{
	struct stat st;
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { 0, 0 } };
	mode_t mode = r->perms & 07777, type;
	int saved = 0;

	*what = NULL;
	if (fstat(fd, &st) == -1) {
		*what = "stat";
		return -1;
	}
	type = st.st_mode & S_IFMT;
	if (flags & ATTR_KEEPREAD)
		mode |= type == S_IFDIR ? 0700 : 0600;
	if ((flags & ATTR_OWNER) && (!(flags & ATTR_CHANGED) ||
	    st.st_uid != uid || st.st_gid != gid)) {
		if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH) == -1) {
			saved = errno;
			*what = "chown";
		}
		st.st_mode = type;	/* a chown may have cleared setuid */
	}
	if (type == S_IFLNK)
		goto out;
	if ((!(flags & ATTR_CHANGED) || (st.st_mode & 07777) != mode) &&
	    fd_chmod(fd, mode) == -1 && *what == NULL) {
		saved = errno;
		*what = "chmod";
	}
	ts[1].tv_sec = (time_t)r->mtime;
	if (r->has_mtime && (!(flags & ATTR_CHANGED) ||
	    st.st_mtim.tv_sec != ts[1].tv_sec || st.st_mtim.tv_nsec != 0) &&
	    fd_utimens(fd, ts) == -1 && *what == NULL) {
		saved = errno;
		*what = "set mtime of";
	}
out:
	errno = saved;
	return *what == NULL ? 0 : -1;
}
