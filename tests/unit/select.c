/* Unit tests for select.c: rdiff-backup's glob rules. */
#include <string.h>
#include <sys/stat.h>

#include "select.h"
#include "tap.h"

static int
gm(const char *g, const char *s)
{
	return glob_match(g, strlen(g), s, strlen(s), 0);
}

static int
sel(struct select *s, const char *rel, int isdir)
{
	return select_test(s, rel, strlen(rel), isdir, 1, -1, "");
}

int
main(void)
{
	struct select *s;
	char err[512];

	ok(gm("a*c", "abc") && gm("a*c", "ac") && !gm("a*c", "a/c"),
	    "* matches within a component");
	ok(gm("a**c", "a/b/c") && gm("**", "x/y") && gm("/src/**/x", "/src/a/b/x"),
	    "** crosses slashes");
	ok(gm("a?c", "abc") && !gm("a?c", "a/c") && !gm("a?c", "ac"), "?");
	ok(gm("[abc]x", "bx") && !gm("[!abc]x", "bx") && gm("[a-c]x", "cx") &&
	    gm("[^a]x", "zx"), "bracket expressions, ranges, negation");
	ok(gm("a[x", "a[x") && gm("a\\*b", "a*b") && !gm("a\\*b", "axb"),
	    "unclosed bracket and backslash are literal");
	ok(glob_match("*.JPG", 5, "x.jpg", 5, 1) && !gm("*.JPG", "x.jpg"),
	    "ignorecase");
	ok(gm("lat\351n", "lat\351n") && gm("*", "\377\376"), "any bytes");

	s = select_new("/src/", 1);
	ok(select_add(s, SEL_EXCLUDE, "tmp", err, sizeof err) == -1 &&
	    strstr(err, "cannot match") != NULL,
	    "a pattern that cannot reach the source root is refused");
	ok(select_add(s, SEL_EXCLUDE, "/src/a//b", err, sizeof err) == -1,
	    "consecutive slashes refused");
	ok(select_add(s, SEL_EXCLUDE_PRESENT, "a/b", err, sizeof err) == -1,
	    "exclude-if-present takes a file name");
	ok(select_add(s, SEL_INCLUDE, "/src/keep/**.c", err, sizeof err) == 0 &&
	    select_add(s, SEL_EXCLUDE, "/src/keep", err, sizeof err) == 0 &&
	    select_add(s, SEL_EXCLUDE, "**/*.o", err, sizeof err) == 0 &&
	    select_add(s, SEL_EXCLUDE, "ignorecase:/src/CACHE", err, sizeof err) == 0,
	    "rules added");
	ok(sel(s, "keep/x/y.c", 0) == 1, "first match wins: include before exclude");
	ok(sel(s, "keep/x/y.h", 0) == 0, "the later exclude takes the rest of keep/");
	ok(sel(s, "keep/x", 1) == 1, "a directory on the way to an include is entered");
	ok(sel(s, "a/b.o", 0) == 0 && sel(s, "b.o", 0) == 0, "**/*.o");
	ok(sel(s, "cache/z", 0) == 0 && sel(s, "Cache", 1) == 0,
	    "ignorecase excludes the directory and its contents");
	ok(sel(s, "other", 0) == 1, "no match: included");

	s = select_new("/src", 7);
	select_add(s, SEL_EXCLUDE_OTHERFS, "", err, sizeof err);
	ok(select_test(s, "mnt", 3, 1, 8, -1, "") == 0 &&
	    select_test(s, "dir", 3, 1, 7, -1, "") == 1,
	    "other filesystems excluded");
	return tap_done();
}
