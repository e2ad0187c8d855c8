#define _GNU_SOURCE	/* O_PATH, AT_EMPTY_PATH: Linux, not POSIX */
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "meta.h"
#include "node.h"
#include "pathname.h"
#include "xalloc.h"
#include "xattr.h"

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

/*
 * Make the attributes of fd besides system.* those of want.  One that
 * cannot be removed for want of the right (security.selinux, or
 * trusted.* not as root) is left: what the system keeps is not ours.
 */
static int
set_xattrs(int fd, const struct xattrs *want)
{
	struct xattrs have;
	const struct xattr *h;
	size_t i;
	int saved = 0;

	if (xattrs_read(fd, NULL, &have) == -1)
		return errno == ENOTSUP && want->n == 0 ? 0 : -1;
	for (i = 0; i < have.n; i++)
		if (strncmp(have.a[i].name, "system.", 7) != 0 &&
		    xattrs_find(want, have.a[i].name) == NULL &&
		    xattr_remove(fd, NULL, have.a[i].name) == -1 &&
		    errno != ENODATA && errno != EPERM && errno != EACCES &&
		    saved == 0)
			saved = errno;
	for (i = 0; i < want->n; i++) {
		if (strncmp(want->a[i].name, "system.", 7) == 0)
			continue;
		h = xattrs_find(&have, want->a[i].name);
		if (h != NULL && h->len == want->a[i].len && (h->len == 0 ||
		    memcmp(h->val, want->a[i].val, h->len) == 0))
			continue;
		if (xattr_set(fd, NULL, want->a[i].name, want->a[i].val,
		    want->a[i].len) == -1 && saved == 0)
			saved = errno;
	}
	xattrs_free(&have);
	errno = saved;
	return saved ? -1 : 0;
}

struct nodeext *
nodeext_new(void)
{
	return xcalloc(1, sizeof(struct nodeext));
}

void
nodeext_free(struct nodeext *e)
{
	if (e == NULL)
		return;
	xattrs_free(&e->x);
	acl_free(&e->acl);
	acl_free(&e->dacl);
	free(e);
}

/* Set (a NULL or empty: remove) ACL attribute name of fd. */
static int
set_acl(int fd, const char *name, const struct acl *a)
{
	static const unsigned char none[4] = { 2, 0, 0, 0 };
	unsigned char *b;
	size_t len;
	int rv;

	if (a == NULL || a->n == 0) {
		rv = xattr_set(fd, NULL, name, none, sizeof none);
		/* nothing to remove where there cannot be an ACL */
		return rv == -1 && errno == ENOTSUP ? 0 : rv;
	}
	b = acl_encode(a, &len);
	rv = xattr_set(fd, NULL, name, b, len);
	free(b);
	return rv;
}

int
node_ext(int fd, mode_t type, const struct nodeext *ext, const char **what)
{
	*what = NULL;
	if (ext->eas && set_xattrs(fd, &ext->x) == -1) {
		*what = "set extended attributes of";
		return -1;
	}
	if (type != S_IFLNK && ext->acls && (set_acl(fd, ACL_ACCESS_XATTR,
	    &ext->acl) == -1 || (type == S_IFDIR && set_acl(fd,
	    ACL_DEFAULT_XATTR, &ext->dacl) == -1))) {
		*what = "set ACL of";
		return -1;
	}
	return 0;
}

int
node_attrs(int fd, const struct rec *r, int flags, uid_t uid, gid_t gid,
    const struct nodeext *ext, const char **what)
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
	if (ext != NULL && ext->eas && set_xattrs(fd, &ext->x) == -1 &&
	    *what == NULL) {
		saved = errno;
		*what = "set extended attributes of";
	}
	if (type == S_IFLNK)
		goto out;
	if ((!(flags & ATTR_CHANGED) || (st.st_mode & 07777) != mode) &&
	    fd_chmod(fd, mode) == -1 && *what == NULL) {
		saved = errno;
		*what = "chmod";
	}
	if (ext != NULL && ext->acls && (set_acl(fd, ACL_ACCESS_XATTR,
	    &ext->acl) == -1 || (type == S_IFDIR && set_acl(fd,
	    ACL_DEFAULT_XATTR, &ext->dacl) == -1)) && *what == NULL) {
		saved = errno;
		*what = "set ACL of";
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
