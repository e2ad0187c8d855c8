/* Unit tests for meta.c: record parsing, writing, order, comparison. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gz.h"
#include "meta.h"
#include "tap.h"

static char err[256];

static int
parse(const char *text, struct rec *r)
{
	return meta_parse(text, strlen(text), r, err, sizeof err);
}

static int
refused(const char *text, const char *why)
{
	struct rec r = { 0 };
	int rv;

	rv = parse(text, &r) == -1 && strstr(err, why) != NULL;
	if (!rv)
		printf("# error was: %s\n", err);
	rec_free(&r);
	return rv;
}

/* Write recs to a pipe-backed file through gzw (level), read back. */
static int
roundtrip(const char *text, int level)
{
	char path[] = "/tmp/unit-meta.XXXXXX", *line;
	struct rec r = { 0 }, *back;
	struct meta_reader *m;
	int fd, ok1;
	struct gzw *w;
	size_t len;

	(void)line; (void)len;
	if ((fd = mkstemp(path)) == -1 || parse(text, &r) == -1)
		return 0;
	w = gzw_open(fd, level);
	meta_write(w, &r);
	meta_write(w, &r);
	if (gzw_close(w, 0) == -1)
		return 0;
	m = meta_open(gzr_open(open(path, O_RDONLY), level > 0));
	ok1 = meta_next(m, &back) == 1 && rec_same(back, &r) &&
	    strcmp(back->sha1, r.sha1) == 0 && back->pathlen == r.pathlen &&
	    memcmp(back->path, r.path, r.pathlen) == 0;
	ok1 = ok1 && meta_next(m, &back) == 1 && meta_next(m, &back) == 0;
	meta_close(m);
	unlink(path);
	rec_free(&r);
	return ok1;
}

int
main(void)
{
	struct rec r = { 0 }, s = { 0 };
	static const char reg[] =
	    "File dir1/big.bin\n  Type reg\n  Size 20000\n"
	    "  SHA1Digest 2cbe80a4a470a379e03546b5ed50465014bbe830\n"
	    "  ModTime 1795691922\n  Uid 0\n  Uname root\n  Gid 0\n"
	    "  Gname root\n  Permissions 420\n";
	static const char sym[] =
	    "File new\\nline\\\\x\n  Type sym\n  SymData target\\nwith\\\\nl\n"
	    "  Uid 1000\n  Uname :\n  Gid 1000\n  Gname :\n  Permissions 511\n";

	ok(parse(reg, &r) == 0 && r.type == RT_REG && r.size == 20000 &&
	    r.mtime == 1795691922 && r.perms == 0644 &&
	    strcmp(r.uname, "root") == 0 && strcmp(r.path, "dir1/big.bin") == 0 &&
	    strcmp(r.sha1, "2cbe80a4a470a379e03546b5ed50465014bbe830") == 0,
	    "regular file record");
	ok(parse(sym, &r) == 0 && r.type == RT_SYM &&
	    strcmp(r.path, "new\nline\\x") == 0 &&
	    strcmp(r.symdata, "target\nwith\\nl") == 0 && r.uname == NULL,
	    "symlink record: quoting undone, \":\" names absent");
	ok(parse("File .\n  Type dir\n  ModTime -5\n  Uid 0\n  Gid 0\n"
	    "  Permissions 1023\n  Future 1\n", &r) == 0 && r.pathlen == 0 &&
	    r.mtime == -5 && r.perms == 01777, "root, negative mtime, unknown field ignored");
	ok(parse("File a\n  Type None\n", &r) == 0 && r.type == RT_NONE, "Type None");
	ok(parse("File b\n  Type dev\n  DeviceNum b 7 0\n  Uid 0\n  Gid 0\n"
	    "  Permissions 420\n", &r) == 0 && r.devtype == 'b' && r.major == 7,
	    "device record");
	ok(parse("File x\n  Type reg\n  Size 1\n  NumHardLinks 2\n  Inode 42\n"
	    "  DeviceLoc 7\n  ModTime 1\n  Uid 0\n  Gid 0\n  Permissions 420\n"
	    "  AlternateIncrementName 3\n", &r) == 0 && r.nlink == 2 &&
	    r.ino == 42 && r.devloc == 7 && strcmp(r.altinc, "3") == 0,
	    "hard link fields and long-name field");

	ok(refused("File ../etc/passwd\n  Type reg\n  Size 1\n", "unsafe path"), "\"..\" refused");
	ok(refused("File /etc/passwd\n  Type reg\n  Size 1\n", "unsafe path"), "absolute path refused");
	ok(refused("File a//b\n  Type dir\n", "unsafe path"), "empty component refused");
	ok(refused("File a/./b\n  Type dir\n", "unsafe path"), "\".\" component refused");
	ok(refused("File a\\tb\n  Type dir\n", "backslash"), "unknown escape refused");
	ok(refused("File a\n  Type blob\n", "unknown type"), "unknown type refused");
	ok(refused("File a\n  Type reg\n", "no Size"), "regular file without Size refused");
	ok(refused("File a\n  Size 1\n", "no Type"), "record without Type refused");
	ok(refused("File a\n  Type reg\n  Size 18446744073709551616\n", "bad number"),
	    "size overflow refused");
	ok(refused("File a\n  Type reg\n  Size -1\n", "bad number"), "negative size refused");
	ok(refused("File a\n  Type reg\n  Size 1\n  Permissions 10000\n", "bad number"),
	    "permissions out of range refused");
	ok(refused("File a\n  Type reg\n  Size 1\n  SHA1Digest abc\n", "SHA1"),
	    "short digest refused");
	ok(refused("File a\n  Type reg\n  Size 1\n  SHA1Digest "
	    "2cbe80a4a470a379e03546b5ed50465014bbe83g\n", "SHA1"),
	    "digest with a non-hex digit refused");
	ok(refused("File a\n  Type reg\n  Size 1\n  SHA1Digest "
	    "2cbe80a4a470a379e03546b5ed5046501:bbe830\n", "SHA1"),
	    "digest with a colon (a digit + 10) refused");
	{
		struct rec u = { 0 };
		char e[200];

		ok(meta_parse("File a\n  Type reg\n  Size 1\n  SHA1Digest "
		    "2CBE80A4A470A379E03546B5ED50465014BBE830\n", 81, &u, e,
		    sizeof e) == 0 && strcmp(u.sha1,
		    "2cbe80a4a470a379e03546b5ed50465014bbe830") == 0,
		    "an upper-case digest is read in lower case");
		rec_free(&u);
	}
	ok(refused("File a\n  Type dev\n  DeviceNum x 1 2\n", "DeviceNum"), "bad device refused");
	ok(refused("Fil a\n", "File"), "text without File refused");

	ok(roundtrip(reg, 6) && roundtrip(sym, 0) &&
	    roundtrip("File \xff\xfe tab\there\n  Type fifo\n  ModTime 0\n  Uid 5\n"
	    "  Uname u\n  Gid 6\n  Gname g\n  Permissions 4095\n", 1),
	    "records survive write and read, gzip and plain");

	ok(pathcmp("", 0, "A", 1) < 0 && pathcmp("a", 1, "a/b", 3) < 0 &&
	    pathcmp("a/b", 3, "a b", 3) < 0 && pathcmp("a/b", 3, "a-b", 3) < 0 &&
	    pathcmp("a/z", 3, "a.b", 3) < 0 && pathcmp("\xe9", 1, "new", 3) > 0 &&
	    pathcmp("a/b", 3, "a/b", 3) == 0 && pathcmp("ab", 2, "a", 1) > 0,
	    "pathcmp orders by components, bytewise unsigned");

	parse(reg, &r);
	rec_copy(&s, &r);
	ok(rec_same(&r, &s), "rec_copy makes an equal record");
	s.mtime++;
	ok(!rec_same(&r, &s), "mtime change detected");
	s.mtime--;
	free(s.uname);
	s.uname = NULL;
	ok(rec_same(&r, &s), "an absent user name does not count as a change");
	s.perms = 0600;
	ok(!rec_same(&r, &s), "permission change detected");
	rec_free(&r);
	rec_free(&s);
	return tap_done();
}
