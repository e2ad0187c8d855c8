#include <sys/syscall.h>
#include <sys/xattr.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xalloc.h"
#include "xattr.h"

/* The *xattrat calls of Linux 6.13, the same number on every arch. */
#ifndef SYS_setxattrat
#define SYS_setxattrat		463
#define SYS_getxattrat		464
#define SYS_listxattrat		465
#define SYS_removexattrat	466
#endif
#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH		0x1000
#endif

struct xattr_args {
	uint64_t	value;
	uint32_t	size;
	uint32_t	flags;
};

static int	no_at;		/* the kernel has no *xattrat calls */

/*
 * After a *xattrat call failed: go on through /proc?  Yes when the
 * kernel lacks the call, and for an O_PATH descriptor itself (the calls
 * refuse those with EBADF; the /proc link takes them).
 */
static int
fall_back(const char *name)
{
	if (errno == ENOSYS)
		no_at = 1;
	return no_at || (errno == EBADF && (name == NULL || name[0] == '\0'));
}

void
xattr_use_proc(void)
{
	no_at = 1;
}

/*
 * The /proc path of dirfd/name for the l*xattr calls (or, name empty,
 * of dirfd itself, to follow: the magic link leads to the node even
 * when it is a symlink opened with O_PATH).  *follow says which.
 */
static char *
procpath(int dirfd, const char *name, int *follow)
{
	char *p;
	size_t len = 32 + (name ? strlen(name) : 0);

	p = xmalloc(len);
	if (dirfd == AT_FDCWD && name != NULL && name[0] != '\0') {
		snprintf(p, len, "%s", name);
		*follow = 0;
	} else if (name == NULL || name[0] == '\0') {
		snprintf(p, len, "/proc/self/fd/%d", dirfd);
		*follow = 1;
	} else {
		snprintf(p, len, "/proc/self/fd/%d/%s", dirfd, name);
		*follow = 0;
	}
	return p;
}

static ssize_t
list_at(int dirfd, const char *name, char *buf, size_t size)
{
	ssize_t n;
	char *p;
	int follow, saved;

	if (!no_at) {
		n = syscall(SYS_listxattrat, dirfd, name ? name : "",
		    name && name[0] ? AT_SYMLINK_NOFOLLOW : AT_EMPTY_PATH, buf,
		    size);
		if (n >= 0 || !fall_back(name))
			return n;
	}
	p = procpath(dirfd, name, &follow);
	n = follow ? listxattr(p, buf, size) : llistxattr(p, buf, size);
	saved = errno;
	free(p);
	errno = saved;
	return n;
}

ssize_t
xattr_get(int dirfd, const char *name, const char *attr, void *buf, size_t size)
{
	struct xattr_args a;
	ssize_t n;
	char *p;
	int follow, saved;

	if (!no_at) {
		memset(&a, 0, sizeof a);
		a.value = (uint64_t)(uintptr_t)buf;
		a.size = size > UINT32_MAX ? UINT32_MAX : (uint32_t)size;
		n = syscall(SYS_getxattrat, dirfd, name ? name : "",
		    name && name[0] ? AT_SYMLINK_NOFOLLOW : AT_EMPTY_PATH, attr,
		    &a, sizeof a);
		if (n >= 0 || !fall_back(name))
			return n;
	}
	p = procpath(dirfd, name, &follow);
	n = follow ? getxattr(p, attr, buf, size) :
	    lgetxattr(p, attr, buf, size);
	saved = errno;
	free(p);
	errno = saved;
	return n;
}

static int
xattrcmp(const void *a, const void *b)
{
	return strcmp(((const struct xattr *)a)->name,
	    ((const struct xattr *)b)->name);
}

/*
 * One attribute's value into v; a value that grows between the size
 * query and the read is read again.  0, 1 when the attribute is gone,
 * or -1.
 */
static int
read_one(int dirfd, const char *name, const char *attr, struct xattr *v)
{
	ssize_t n, m;

	for (;;) {
		if ((n = xattr_get(dirfd, name, attr, NULL, 0)) == -1)
			return errno == ENODATA ? 1 : -1;
		v->val = xmalloc((size_t)n + 1);
		if ((m = xattr_get(dirfd, name, attr, v->val, (size_t)n)) >= 0) {
			v->len = (size_t)m;
			return 0;
		}
		free(v->val);
		v->val = NULL;
		if (errno != ERANGE)
			return errno == ENODATA ? 1 : -1;
	}
}

int
xattrs_read(int dirfd, const char *name, struct xattrs *x)
{
	char *list = NULL, *p;
	ssize_t n, m;
	int rv, saved;

	x->a = NULL;
	x->n = 0;
	for (;;) {
		if ((n = list_at(dirfd, name, NULL, 0)) <= 0)
			return n == 0 ? 0 : -1;
		list = xmalloc((size_t)n);
		if ((m = list_at(dirfd, name, list, (size_t)n)) >= 0)
			break;
		saved = errno;
		free(list);
		if (saved != ERANGE) {
			errno = saved;
			return -1;
		}
	}
	for (p = list; p < list + m; p += strlen(p) + 1) {
		if (*p == '\0' || memchr(p, '\0', (size_t)(list + m - p)) == NULL)
			break;
		x->a = xreallocarray(x->a, x->n + 1, sizeof *x->a);
		x->a[x->n].name = xstrdup(p);
		x->a[x->n].val = NULL;
		x->a[x->n].len = 0;
		if ((rv = read_one(dirfd, name, p, &x->a[x->n])) == -1) {
			saved = errno;
			free(x->a[x->n].name);
			free(list);
			xattrs_free(x);
			errno = saved;
			return -1;
		}
		if (rv == 1)
			free(x->a[x->n].name);
		else
			x->n++;
	}
	free(list);
	if (x->n > 1)
		qsort(x->a, x->n, sizeof *x->a, xattrcmp);
	return 0;
}

void
xattrs_free(struct xattrs *x)
{
	size_t i;

	for (i = 0; i < x->n; i++) {
		free(x->a[i].name);
		free(x->a[i].val);
	}
	free(x->a);
	x->a = NULL;
	x->n = 0;
}

void
xattrs_only(struct xattrs *x, const char *prefix)
{
	size_t i, j, n = strlen(prefix);

	for (i = j = 0; i < x->n; i++)
		if (strncmp(x->a[i].name, prefix, n) == 0)
			x->a[j++] = x->a[i];
		else {
			free(x->a[i].name);
			free(x->a[i].val);
		}
	x->n = j;
}

const struct xattr *
xattrs_find(const struct xattrs *x, const char *name)
{
	struct xattr key;

	if (x->n == 0)
		return NULL;
	key.name = (char *)name;
	return bsearch(&key, x->a, x->n, sizeof *x->a, xattrcmp);
}

void
xattrs_put(struct xattrs *x, const char *name, const void *val, size_t len)
{
	struct xattr *v = (struct xattr *)xattrs_find(x, name);
	size_t i;

	if (v == NULL) {
		x->a = xreallocarray(x->a, x->n + 1, sizeof *x->a);
		for (i = x->n; i > 0 && strcmp(x->a[i - 1].name, name) > 0; i--)
			x->a[i] = x->a[i - 1];
		v = &x->a[i];
		v->name = xstrdup(name);
		x->n++;
	} else
		free(v->val);
	v->val = xmalloc(len + 1);
	if (len > 0)
		memcpy(v->val, val, len);
	v->len = len;
}

int
xattr_set(int dirfd, const char *name, const char *attr, const void *val,
    size_t len)
{
	struct xattr_args a;
	char *p;
	int follow, rv, saved;

	if (!no_at) {
		memset(&a, 0, sizeof a);
		a.value = (uint64_t)(uintptr_t)val;
		a.size = (uint32_t)len;
		rv = (int)syscall(SYS_setxattrat, dirfd, name ? name : "",
		    name && name[0] ? AT_SYMLINK_NOFOLLOW : AT_EMPTY_PATH, attr,
		    &a, sizeof a);
		if (rv == 0 || !fall_back(name))
			return rv;
	}
	p = procpath(dirfd, name, &follow);
	rv = follow ? setxattr(p, attr, val, len, 0) :
	    lsetxattr(p, attr, val, len, 0);
	saved = errno;
	free(p);
	errno = saved;
	return rv;
}

int
xattr_remove(int dirfd, const char *name, const char *attr)
{
	char *p;
	int follow, rv, saved;

	if (!no_at) {
		rv = (int)syscall(SYS_removexattrat, dirfd, name ? name : "",
		    name && name[0] ? AT_SYMLINK_NOFOLLOW : AT_EMPTY_PATH, attr);
		if (rv == 0 || !fall_back(name))
			return rv;
	}
	p = procpath(dirfd, name, &follow);
	rv = follow ? removexattr(p, attr) : lremovexattr(p, attr);
	saved = errno;
	free(p);
	errno = saved;
	return rv;
}

static unsigned
le16(const unsigned char *p)
{
	return (unsigned)p[0] | (unsigned)p[1] << 8;
}

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static void
put16(unsigned char *p, unsigned v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
}

static void
put32(unsigned char *p, uint32_t v)
{
	put16(p, v & 0xffff);
	put16(p + 2, v >> 16);
}

int
acl_decode(const unsigned char *b, size_t len, struct acl *a)
{
	size_t i, n;
	unsigned tag;

	a->e = NULL;
	a->n = 0;
	if (len < 4 || (len - 4) % 8 != 0 || le32(b) != 2) {
		errno = EINVAL;
		return -1;
	}
	n = (len - 4) / 8;
	a->e = xreallocarray(NULL, n ? n : 1, sizeof *a->e);
	for (i = 0; i < n; i++) {
		tag = le16(b + 4 + i * 8);
		if (tag != ACLT_USER_OBJ && tag != ACLT_USER &&
		    tag != ACLT_GROUP_OBJ && tag != ACLT_GROUP &&
		    tag != ACLT_MASK && tag != ACLT_OTHER) {
			acl_free(a);
			errno = EINVAL;
			return -1;
		}
		a->e[i].tag = tag;
		a->e[i].perm = le16(b + 6 + i * 8) & 7;
		a->e[i].id = tag == ACLT_USER || tag == ACLT_GROUP ?
		    le32(b + 8 + i * 8) : UINT32_MAX;
	}
	a->n = n;
	return 0;
}

unsigned char *
acl_encode(const struct acl *a, size_t *len)
{
	unsigned char *b;
	size_t i;

	*len = 4 + a->n * 8;
	b = xmalloc(*len);
	put32(b, 2);
	for (i = 0; i < a->n; i++) {
		put16(b + 4 + i * 8, a->e[i].tag);
		put16(b + 6 + i * 8, a->e[i].perm & 7);
		put32(b + 8 + i * 8, a->e[i].tag == ACLT_USER ||
		    a->e[i].tag == ACLT_GROUP ? a->e[i].id : UINT32_MAX);
	}
	return b;
}

static int
entcmp(const void *x, const void *y)
{
	const struct aclent *a = x, *b = y;

	if (a->tag != b->tag)
		return a->tag < b->tag ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

int
acl_check(struct acl *a)
{
	size_t i, count[0x21] = { 0 };

	if (a->n > 1)
		qsort(a->e, a->n, sizeof *a->e, entcmp);
	for (i = 0; i < a->n; i++) {
		count[a->e[i].tag]++;
		if (i > 0 && a->e[i].tag == a->e[i - 1].tag &&
		    a->e[i].id == a->e[i - 1].id)
			goto bad;
	}
	if (count[ACLT_USER_OBJ] != 1 || count[ACLT_GROUP_OBJ] != 1 ||
	    count[ACLT_OTHER] != 1 || count[ACLT_MASK] > 1 ||
	    (count[ACLT_MASK] == 0 && count[ACLT_USER] + count[ACLT_GROUP] > 0))
		goto bad;
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

void
acl_free(struct acl *a)
{
	free(a->e);
	a->e = NULL;
	a->n = 0;
}
