/* Unit tests for select.c: rdiff-backup's selection rules. */
#include <stdlib.h>
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
	return select_test(s, rel, strlen(rel), isdir ? S_IFDIR : S_IFREG, 0,
	    1, -1, "");
}

/* A select on /src with rules from text: "kind arg" lines. */
static struct select *
rules(const char *listname, const char *list, int kind, char *err,
    size_t errlen, int *rv)
{
	struct selrules rs = { NULL, 0, 0 };
	struct select *s = select_new("/src", 1);

	rs.r = calloc(2, sizeof *rs.r);
	rs.r[0].kind = kind;
	rs.r[0].arg = strdup(listname);
	rs.r[0].data = strdup(list);
	rs.r[0].len = strlen(list);
	rs.r[1].kind = SEL_EXCLUDE;
	rs.r[1].arg = strdup("**");
	rs.n = 2;
	*rv = select_load(s, &rs, err, errlen);
	selrules_free(&rs);
	return s;
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
	ok(sel(s, "keep/x", 1) == SEL_SCAN,
	    "a directory on the way to an include is only scanned");
	ok(sel(s, "a/b.o", 0) == 0 && sel(s, "b.o", 0) == 0, "**/*.o");
	ok(sel(s, "cache/z", 0) == 0 && sel(s, "Cache", 1) == 0,
	    "ignorecase excludes the directory and its contents");
	ok(sel(s, "other", 0) == 1, "no match: included");

	s = select_new("/src", 7);
	select_add(s, SEL_EXCLUDE_OTHERFS, "", err, sizeof err);
	ok(select_test(s, "mnt", 3, S_IFDIR, 0, 8, -1, "") == 0 &&
	    select_test(s, "dir", 3, S_IFDIR, 0, 7, -1, "") == 1,
	    "other filesystems excluded");

	/* file lists, as rdiff-backup's sorted walk through them reads */
	{
		int rv;

		s = rules("l", "/src/a/b/c\n- /src/a/x\n\nsrc/d/\r\n/elsewhere/q\n",
		    SEL_INCLUDE_FILELIST, err, sizeof err, &rv);
		ok(rv == 0 && select_warning(s) != NULL,
		    "a list loads; a line outside the root is left out");
		ok(sel(s, "a", 1) == 1 && sel(s, "a/b", 1) == 1 &&
		    sel(s, "a/b/c", 0) == 1, "a listed path and its parents");
		ok(sel(s, "a/b/c/deep", 0) == 0 && sel(s, "a/b/z", 0) == 0,
		    "nothing else, not even below a listed one");
		ok(sel(s, "a/x", 1) == 0 && sel(s, "a/x/y", 0) == 0,
		    "\"- \" excludes a path and what is below it");
		ok(sel(s, "d", 1) == 1, "slashes and \\r at the end do not count");
		s = rules("l", "/src/a/x/1\n/src/a/y\n", SEL_EXCLUDE_FILELIST,
		    err, sizeof err, &rv);
		ok(rv == 0 && sel(s, "a/x/1", 0) == 0 && sel(s, "a/x", 1) == 0 &&
		    sel(s, "a/y/z", 0) == 0,
		    "an exclude list excludes below; the **-rule the rest");
		s = rules("l", "- /src/a/b/x\n+ /src/a/b/y\n",
		    SEL_INCLUDE_FILELIST, err, sizeof err, &rv);
		ok(rv == 0 && sel(s, "a/b", 1) == 0,
		    "the first line after a path decides its parents "
		    "(rdiff-backup's order)");
		s = rules("l", "+ /src/k/**.c\n- /src/k\n",
		    SEL_INCLUDE_GLOBLIST, err, sizeof err, &rv);
		ok(rv == 0 && sel(s, "k/x/y.c", 0) == 1 && sel(s, "k/x/y.h", 0) == 0 &&
		    sel(s, "k/x", 1) == SEL_SCAN, "a globbing list is globs in order");
		s = rules("l", "/src/a\n", SEL_INCLUDE_GLOBLIST, err, sizeof err, &rv);
		ok(rv == 0, "a list then an exclude loads");
	}
	{
		struct selrules rs = { NULL, 0, 0 };

		s = select_new("/src", 1);
		selrules_add(&rs, SEL_INCLUDE, "/src/a", err, sizeof err);
		ok(select_load(s, &rs, err, sizeof err) == -1 &&
		    strstr(err, "only includes") != NULL,
		    "a last rule that only includes is refused");
		selrules_free(&rs);
	}
	s = select_new("/src", 1);
	ok(select_add(s, SEL_EXCLUDE_REGEXP, "\\.(o|tmp)$", err, sizeof err) == 0 &&
	    select_add(s, SEL_EXCLUDE_REGEXP, "/cache[0-9]\\d/", err,
	    sizeof err) == 0 && select_add(s, SEL_INCLUDE_REGEXP, "^/src/k\\w+$",
	    err, sizeof err) == 0, "regular expressions compile");
	ok(sel(s, "a/b.o", 0) == 0 && sel(s, "x.tmp", 0) == 0 &&
	    sel(s, "x.tmpl", 0) == 1, "a regular expression searches the path");
	ok(sel(s, "cache12/f", 0) == 0 && sel(s, "cache1/f", 0) == 1,
	    "\\d is a digit");
	ok(select_add(s, SEL_EXCLUDE_REGEXP, "a(?=b)", err, sizeof err) == -1 &&
	    select_add(s, SEL_EXCLUDE_REGEXP, "a*?", err, sizeof err) == -1 &&
	    select_add(s, SEL_EXCLUDE_REGEXP, "(a", err, sizeof err) == -1,
	    "what POSIX cannot say, and bad ones, are refused");
	s = select_new("/src", 1);
	ok(select_add(s, SEL_MAX_SIZE, "100", err, sizeof err) == 0 &&
	    select_add(s, SEL_MIN_SIZE, "10", err, sizeof err) == 0 &&
	    select_add(s, SEL_MIN_SIZE, "0", err, sizeof err) == -1 &&
	    select_add(s, SEL_MIN_SIZE, "1k", err, sizeof err) == -1,
	    "sizes are positive numbers of bytes");
	ok(select_test(s, "f", 1, S_IFREG, 100, 1, -1, "") == 1 &&
	    select_test(s, "f", 1, S_IFREG, 101, 1, -1, "") == 0 &&
	    select_test(s, "f", 1, S_IFREG, 9, 1, -1, "") == 0 &&
	    select_test(s, "d", 1, S_IFDIR, 0, 1, -1, "") == 1,
	    "--max-file-size and --min-file-size bound regular files only");
	s = select_new("/src", 1);
	select_add(s, SEL_INCLUDE_SYMLINKS, "", err, sizeof err);
	select_add(s, SEL_EXCLUDE_SPECIAL, "", err, sizeof err);
	ok(select_test(s, "l", 1, S_IFLNK, 0, 1, -1, "") == 1 &&
	    select_test(s, "p", 1, S_IFIFO, 0, 1, -1, "") == 0 &&
	    select_test(s, "c", 1, S_IFCHR, 0, 1, -1, "") == 0 &&
	    select_test(s, "f", 1, S_IFREG, 0, 1, -1, "") == 1,
	    "file types, in order");
	return tap_done();
}
