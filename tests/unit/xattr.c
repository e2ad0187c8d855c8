/*
 * Unit tests for xattr.c on a scratch directory in /tmp: attributes
 * read sorted, binary values, a symlink not followed, set and remove
 * by directory and name or by an O_PATH descriptor, both through the
 * *xattrat calls and the /proc fallback; the ACL binary form decoded,
 * checked and encoded back byte for byte.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "xattr.h"

static char	dir[] = "/tmp/xattr-unit.XXXXXX";
static int	dfd;

static int
sh(const char *fmt, const char *arg)
{
	char cmd[512];

	snprintf(cmd, sizeof cmd, fmt, arg);
	return system(cmd);
}

/* The attribute tests, once per way of reaching the kernel. */
static void
attrs(const char *how)
{
	static const unsigned char bin[] = { 'a', 0, 0xff, '\n', 'z' };
	struct xattrs x;
	const struct xattr *v;
	int fd;

	ok(xattr_set(dfd, "f", "user.b", bin, sizeof bin) == 0 &&
	    xattr_set(dfd, "f", "user.a", "", 0) == 0,
	    "%s: set a binary and an empty value", how);
	ok(xattrs_read(dfd, "f", &x) == 0 && x.n == 2 &&
	    strcmp(x.a[0].name, "user.a") == 0 && x.a[0].len == 0 &&
	    strcmp(x.a[1].name, "user.b") == 0 && x.a[1].len == sizeof bin &&
	    memcmp(x.a[1].val, bin, sizeof bin) == 0,
	    "%s: read back sorted, byte for byte", how);
	xattrs_free(&x);
	ok(xattrs_read(dfd, "l", &x) == 0 && x.n == 0,
	    "%s: a symlink to the file is not followed", how);
	xattrs_free(&x);
	ok(xattr_remove(dfd, "f", "user.a") == 0 && xattrs_read(dfd, "f", &x)
	    == 0 && x.n == 1 && xattr_remove(dfd, "f", "user.a") == -1 &&
	    errno == ENODATA, "%s: remove, and remove again is ENODATA", how);
	xattrs_free(&x);
	fd = openat(dfd, "f", O_PATH | O_NOFOLLOW);
	ok(fd != -1 && xattr_set(fd, "", "user.c", "x", 1) == 0 &&
	    xattrs_read(fd, NULL, &x) == 0 && x.n == 2 &&
	    (v = xattrs_find(&x, "user.c")) != NULL && v->len == 1,
	    "%s: by an O_PATH descriptor", how);
	xattrs_free(&x);
	xattr_remove(fd, NULL, "user.c");
	close(fd);
	ok(xattrs_read(dfd, "gone", &x) == -1 && errno == ENOENT,
	    "%s: a missing entry is ENOENT", how);
}

static void
acls(void)
{
	struct xattrs x;
	const struct xattr *v;
	struct acl a;
	unsigned char *b;
	size_t len;
	int good = 0;

	if (sh("setfacl -m u:1234:rw-,g::---,m::r-- %s/f 2>/dev/null", dir) != 0) {
		tap_skip("no setfacl or no ACLs on /tmp", "ACLs");
		return;
	}
	if (xattrs_read(dfd, "f", &x) == 0 &&
	    (v = xattrs_find(&x, ACL_ACCESS_XATTR)) != NULL &&
	    acl_decode(v->val, v->len, &a) == 0) {
		good = a.n == 5 && a.e[1].tag == ACLT_USER && a.e[1].id == 1234 &&
		    a.e[1].perm == 6 && a.e[2].tag == ACLT_GROUP_OBJ &&
		    a.e[2].perm == 0 && a.e[3].tag == ACLT_MASK &&
		    a.e[3].perm == 4;
		ok(good, "an ACL's entries decoded: named user, group::---, "
		    "mask::r--");
		b = acl_encode(&a, &len);
		ok(len == v->len && memcmp(b, v->val, len) == 0,
		    "encoded back byte for byte");
		free(b);
		a.e[0].tag = ACLT_OTHER;
		ok(acl_check(&a) == -1 && errno == EINVAL,
		    "two OTHER entries and no USER_OBJ: invalid");
		acl_free(&a);
		sh("setfacl -b %s/f", dir);
	} else
		ok(0, "read and decode an ACL");
	xattrs_free(&x);
	ok(acl_decode((const unsigned char *)"\1\0\0\0", 4, &a) == -1 &&
	    acl_decode((const unsigned char *)"\2\0\0\0\1\0", 6, &a) == -1,
	    "a wrong version or a partial entry is malformed");
}

int
main(void)
{
	if (mkdtemp(dir) == NULL || (dfd = open(dir, O_RDONLY |
	    O_DIRECTORY)) == -1)
		return 1;
	close(openat(dfd, "f", O_CREAT | O_WRONLY, 0600));
	symlinkat("f", dfd, "l");
	attrs("xattrat");
	acls();
	xattr_use_proc();
	attrs("/proc");
	close(dfd);
	sh("rm -rf %s", dir);
	return tap_done();
}
