/* Unit tests for pathname.c: path_below, tmp_named, shown. */
#include <string.h>

#include "pathname.h"
#include "tap.h"

static int
below(const char *p, const char *d)
{
	return path_below(p, strlen(p), d, strlen(d));
}

int
main(void)
{
	ok(below("a", "") && below("a/b", "") && !below("", ""),
	    "the root holds every path but itself");
	ok(below("a/b", "a") && below("a/b/c", "a") && !below("a", "a"),
	    "a directory holds what is below it, not itself");
	ok(!below("ab", "a") && !below("a-b/c", "a") && !below("b/a", "a"),
	    "a shared prefix without a slash is not below");
	ok(!below("a", "a/b"), "a parent is not below its child");
	ok(tmp_named("rdiff-backup.tmp.12") && !tmp_named("rdiff-backup.tmp.") &&
	    !tmp_named("rdiff-backup.tmp.1 ") && !tmp_named("x"),
	    "tmp_named: the prefix and digits only");
	ok(strcmp(shown("a\nb"), "a\\012b") == 0 && strcmp(shown(""), ".") == 0,
	    "shown: control bytes in octal, the root as .");
	return tap_done();
}
