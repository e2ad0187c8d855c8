/*
 * Extended attributes of filesystem entries, read and written without
 * following a symlink in the last component: through the *xattrat
 * system calls (Linux 6.13) on a directory descriptor and a name, or on
 * older kernels through /proc/self/fd/N/name.  POSIX ACLs are the
 * system.posix_acl_access and system.posix_acl_default attributes; their
 * binary form (acl(5), linux/posix_acl_xattr.h) is converted here to and
 * from a list of entries.
 */
#ifndef XATTR_H
#define XATTR_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#define ACL_ACCESS_XATTR	"system.posix_acl_access"
#define ACL_DEFAULT_XATTR	"system.posix_acl_default"

struct xattr {
	char		*name;
	unsigned char	*val;
	size_t		 len;
};

/* The attributes of one entry, sorted by name (strcmp). */
struct xattrs {
	struct xattr	*a;
	size_t		 n;
};

/*
 * Read every attribute of dirfd/name (name "" or NULL: dirfd itself)
 * into x, sorted.  0, or -1 with errno set: ENOTSUP when the filesystem
 * has no extended attributes, ENOENT when the entry is gone.  An
 * attribute removed between listing and reading is left out.
 */
int	xattrs_read(int, const char *, struct xattrs *);
void	xattrs_free(struct xattrs *);
/*
 * From now on use the /proc paths, as on a kernel without the *xattrat
 * calls (tests run both ways).
 */
void	xattr_use_proc(void);
/* Keep only the attributes of x whose names start with prefix. */
void	xattrs_only(struct xattrs *, const char *);
/* The attribute called name in x, or NULL. */
const struct xattr *xattrs_find(const struct xattrs *, const char *);
/* Add (or replace) name = val[0..len) in x, keeping it sorted. */
void	xattrs_put(struct xattrs *, const char *, const void *, size_t);

/*
 * Set or remove attribute name of dirfd/name as xattrs_read finds it.
 * 0, or -1 with errno set.
 */
int	xattr_set(int, const char *, const char *, const void *, size_t);
/* getxattr of one attribute into buf: its length, or -1 with errno. */
ssize_t	xattr_get(int, const char *, const char *, void *, size_t);
int	xattr_remove(int, const char *, const char *);

/* ACL entry tags, as the kernel numbers them. */
#define ACLT_USER_OBJ	0x01
#define ACLT_USER	0x02
#define ACLT_GROUP_OBJ	0x04
#define ACLT_GROUP	0x08
#define ACLT_MASK	0x10
#define ACLT_OTHER	0x20

struct aclent {
	unsigned	 tag;
	unsigned	 perm;		/* 4 read, 2 write, 1 execute */
	uint32_t	 id;		/* uid or gid for USER and GROUP */
};

struct acl {
	struct aclent	*e;
	size_t		 n;
};

/*
 * Parse the binary value of an ACL attribute: 0, or -1 with EINVAL when
 * it is malformed (wrong version, a size not a whole number of entries,
 * an unknown tag).
 */
int	acl_decode(const unsigned char *, size_t, struct acl *);
/* The binary value of a, in a new buffer; its length in *len. */
unsigned char *acl_encode(const struct acl *, size_t *);
/*
 * Sort a's entries as the kernel wants them (by tag, then id) and check
 * that it is valid: one each of USER_OBJ, GROUP_OBJ and OTHER, a MASK
 * when there are named entries, no id twice.  0, or -1 with EINVAL.
 */
int	acl_check(struct acl *);
void	acl_free(struct acl *);

#endif
