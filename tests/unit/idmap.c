/*
 * Unit tests for idmap.c: rdiff-backup's order (a rule for the name, the
 * local name, a rule for the number, the number), numeric mode, and
 * mapping files with malformed lines.  Uses root/0 and the absence of
 * the names it makes up.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "idmap.h"
#include "tap.h"

static const char *
file(const char *text)
{
	static char path[64];
	FILE *f;

	snprintf(path, sizeof path, "/tmp/idmap-unit.%ld", (long)getpid());
	if ((f = fopen(path, "w")) == NULL)
		return path;
	fputs(text, f);
	fclose(f);
	return path;
}

int
main(void)
{
	struct idmap *m = idmap_new(0), *n = idmap_new(1);
	uint64_t v = 7;
	size_t line;

	ok(idmap_get(m, "root", 1234, 0, &v) == 0 && v == 0,
	    "a local name wins over the number recorded");
	ok(idmap_get(m, "no-such-user-xq", 1234, 0, &v) == 0 && v == 1234,
	    "an unknown name: the number recorded");
	ok(idmap_get(m, "no-such-user-xq", IDMAP_NONE, 0, &v) == -1,
	    "an unknown name without a number maps to nothing");
	ok(idmap_get(n, "root", 1234, 0, &v) == 0 && v == 1234 &&
	    idmap_get(n, "root", IDMAP_NONE, 0, &v) == -1,
	    "numeric: the number, and a name alone maps to nothing");
	ok(idmap_load(m, file("  no-such-user-xq : 77\n\n4242:root\n"
	    "root:99\n"), 0, &line) == 0,
	    "a mapping file with blanks and an empty line loads");
	ok(idmap_get(m, "no-such-user-xq", 5, 0, &v) == 0 && v == 77,
	    "a rule for the name");
	ok(idmap_get(m, "root", 5, 0, &v) == 0 && v == 99,
	    "a rule for a name beats the local name");
	ok(idmap_get(m, "nobody-else-xq", 4242, 0, &v) == 0 && v == 0,
	    "a rule for the number, to a local name");
	ok(idmap_get(m, "no-such-user-xq", 5, 1, &v) == 0 && v == 5,
	    "user rules do not apply to groups");
	ok(idmap_load(m, file("a:1\nb:c:d\n"), 0, &line) == -1 && line == 2,
	    "two colons: malformed, at line 2");
	ok(idmap_load(m, file("a:no-such-user-xq\n"), 0, &line) == -1 &&
	    line == 1, "an unknown local name to map to: an error");
	ok(idmap_load(m, "/nonexistent/x", 0, &line) == -1 && line == 0,
	    "a missing file: an error with no line");
	unlink(file(""));
	idmap_free(m);
	idmap_free(n);
	return tap_done();
}
