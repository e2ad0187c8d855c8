/*
 * Unit tests for earec.c against text rdiff-backup 2.2 wrote (see the
 * format notes): getfacl quoting, attribute lines and their inverse,
 * ACL records (the mask case, default entries, names and numbers), and
 * reading a records file record by record.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "earec.h"
#include "gz.h"
#include "idmap.h"
#include "tap.h"

/* Names as a machine with daemon (1) would give them. */
static const char *
namefn(uint32_t id, int group)
{
	(void)group;
	return id == 1 ? "daemon" : NULL;
}

static int
same(const char *got, const char *want, const char *what)
{
	int r = got != NULL && strcmp(got, want) == 0;

	if (!r)
		printf("# %s:\n#  got:  %s\n#  want: %s\n", what,
		    got ? got : "(null)", want);
	return r;
}

static void
quoting(void)
{
	char *q;
	size_t n;

	q = acl_quote("a b=c\\d\n\xc3\xa9~", 11);
	ok(same(q, "a\\040b\\075c\\134d\\012\\303\\251~", "quote"),
	    "getfacl quoting: blanks, =, \\, controls and high bytes");
	free(q);
	q = acl_unquote("a\\040b\\12\\777\\", &n);
	ok(n == 8 && memcmp(q, "a b\\12\xff\\", 8) == 0,
	    "unquoting takes exactly three octal digits, the rest as is");
	free(q);
}

static void
eas(void)
{
	static const unsigned char bin[] = { 0, 0xff, 0x10 };
	struct xattrs x = { NULL, 0 }, y;
	const char *body;
	char *r, big[4000];

	xattrs_put(&x, "user.text", "hello", 5);
	xattrs_put(&x, "user.bin", bin, 3);
	xattrs_put(&x, "user.empty", "", 0);
	xattrs_put(&x, "user.nulend", "ab", 3);
	xattrs_put(&x, "system.posix_acl_access", "\2\0\0\0", 4);
	r = ea_record("x_user", &x);
	ok(same(r, "# file: x_user\nuser.bin=0sAP8Q\nuser.empty\n"
	    "user.nulend=0sYWIA\nuser.text=0saGVsbG8=\n", "record"),
	    "an EA record as rdiff-backup writes it, system.* left out");
	ok(ea_parse(strchr(r, '\n') + 1, strlen(strchr(r, '\n') + 1), &y) == 0 &&
	    y.n == 4 && y.a[0].len == 3 && memcmp(y.a[0].val, bin, 3) == 0 &&
	    y.a[1].len == 0 && y.a[2].len == 3,
	    "parsed back, binary and empty values included");
	free(r);
	xattrs_free(&y);
	xattrs_free(&x);

	xattrs_put(&x, "user.a b", "sp", 2);
	xattrs_put(&x, "user.e=q", "", 0);
	xattrs_put(&x, "user.n\n# file: zzz", "", 0);
	memset(big, 'A', sizeof big);
	xattrs_put(&x, "user.big", big, sizeof big);
	r = ea_record("", &x);
	ok(strncmp(r, "# file: .\n", 10) == 0 &&
	    strstr(r, "user.a\\040b=0sc3A=\n") != NULL &&
	    strstr(r, "user.e\\075q=0s\n") != NULL &&
	    strstr(r, "user.n\\012#\\040file:\\040zzz=0s\n") != NULL,
	    "the root is \".\"; an empty value whose name needs quoting is "
	    "name=0s, never a bare line that breaks the file");
	ok(ea_parse(r + 10, strlen(r + 10), &y) == 0 && y.n == 4 &&
	    xattrs_find(&y, "user.a b") != NULL &&
	    xattrs_find(&y, "user.e=q") != NULL &&
	    xattrs_find(&y, "user.n\n# file: zzz") != NULL &&
	    xattrs_find(&y, "user.big")->len == sizeof big,
	    "... and every name and value comes back");
	free(r);
	xattrs_free(&y);
	xattrs_free(&x);
	body = "user.empty sp\n  user.x=0sMQ==  \n\n";
	ok(ea_parse(body, strlen(body), &y) == 0 &&
	    y.n == 2 && xattrs_find(&y, "user.empty sp") != NULL,
	    "a bare name (rdiff-backup's empty value) is taken as it is");
	xattrs_free(&y);
	ok(ea_parse("user.q=eq\n", 10, &y) == -1 &&
	    ea_parse("user.q=0sMQ=\n", 13, &y) == -1 &&
	    ea_parse("# file: x\n", 10, &y) == -1,
	    "no 0s, bad base64 or a stray header: the record is malformed");
}

static void
acls(void)
{
	struct aclent gm[] = { { ACLT_USER_OBJ, 6, UINT32_MAX },
	    { ACLT_GROUP_OBJ, 0, UINT32_MAX }, { ACLT_MASK, 4, UINT32_MAX },
	    { ACLT_OTHER, 0, UINT32_MAX } };
	struct aclent dd[] = { { ACLT_USER_OBJ, 7, UINT32_MAX },
	    { ACLT_USER, 5, 4242 }, { ACLT_GROUP_OBJ, 5, UINT32_MAX },
	    { ACLT_GROUP, 7, 1 }, { ACLT_MASK, 7, UINT32_MAX },
	    { ACLT_OTHER, 5, UINT32_MAX } };
	struct acl a = { gm, 4 }, d = { dd, 6 }, three = { gm, 3 }, pa, pd;
	struct idmap *ids = idmap_new(0);
	const char *body;
	size_t dropped = 0;
	char *r;

	r = acl_record("f_gmask", &a, NULL, 0640, namefn);
	ok(same(r, "# file: f_gmask\nuser::rw-\ngroup::---\nmask::r--\n"
	    "other::---\n", "gmask"),
	    "group::--- with mask::r-- is recorded (the mask case)");
	free(r);
	ok(acl_record("f", &three, NULL, 0644, namefn) == NULL &&
	    acl_record("f", NULL, NULL, 0644, namefn) == NULL,
	    "a basic ACL gets no record");
	r = acl_record("d_def", NULL, &d, 0755, namefn);
	ok(same(r, "# file: d_def\nuser::rwx\ngroup::r-x\nother::r-x\n"
	    "default:user::rwx\ndefault:user:4242:r-x\ndefault:group::r-x\n"
	    "default:group:daemon:rwx\ndefault:mask::rwx\n"
	    "default:other::r-x\n", "d_def"),
	    "only a default ACL: the three access entries from the mode, "
	    "names where known, numbers else");
	body = strchr(r, '\n') + 1;
	ok(acl_parse(body, strlen(body), ids, &pa, &pd, &dropped) == 0 &&
	    pa.n == 3 && pd.n == 6 && pd.e[1].id == 4242 &&
	    pd.e[3].id == 1 && pd.e[3].perm == 7 && dropped == 0,
	    "parsed back, names mapped to this machine's ids");
	acl_free(&pa);
	acl_free(&pd);
	free(r);
	body = "user::rw-\nuser:no-such-user-xq:r--\ngroup::r--  #effective:r--\n"
	    "mask::r--\nother::---\n";
	ok(acl_parse(body, strlen(body), ids, &pa, &pd, &dropped) == 0 &&
	    pa.n == 4 && dropped == 1 && pd.n == 0,
	    "an unknown name drops its entry and is counted; comments go");
	acl_free(&pa);
	body = "user::rw-\nuser:1:r--\ngroup::r--\nother::---\n";
	ok(acl_parse(body, strlen(body), ids, &pa, &pd, &dropped) == -1,
	    "a named entry without a mask is malformed");
	body = "user::rw-\nbogus::r--\ngroup::r--\nother::---\n";
	ok(acl_parse(body, strlen(body), ids, &pa, &pd, &dropped) == -1,
	    "an unknown tag is malformed");
	idmap_free(ids);
}

static void
records(void)
{
	static const char text[] = "# file: .\nuser.root=0scg==\n"
	    "# file: a\\040b\nuser.o=0sMQ==\nuser.e\n# file: c\nuser.o=0sMQ==\n";
	char tmp[] = "/tmp/earec-unit.XXXXXX";
	struct recfile *f;
	const char *path, *body;
	size_t len;
	int fd, n = 0, good = 1;

	if ((fd = mkstemp(tmp)) == -1)
		return;
	unlink(tmp);
	if (write(fd, text, sizeof text - 1) != (ssize_t)sizeof text - 1)
		return;
	lseek(fd, 0, SEEK_SET);
	f = recfile_open(gzr_open(fd, 0));
	while (recfile_next(f, &path, &body, &len) == 1) {
		n++;
		if (n == 1)
			good &= strcmp(path, "") == 0 &&
			    strcmp(body, "user.root=0scg==\n") == 0;
		if (n == 2)
			good &= strcmp(path, "a b") == 0 &&
			    strcmp(body, "user.o=0sMQ==\nuser.e\n") == 0;
		if (n == 3)
			good &= strcmp(path, "c") == 0 && len == 14;
		if (!good)
			printf("# record %d: path '%s' body '%s'\n", n, path, body);
	}
	ok(n == 3 && good, "a records file read record by record, paths "
	    "unquoted, the root as \"\"");
	recfile_close(f);
}

int
main(void)
{
	quoting();
	eas();
	acls();
	records();
	return tap_done();
}
