/*
 * libFuzzer target: selection rules from file lists and regular
 * expressions a user or a script hands snap and restore.  The first
 * byte picks the kind of list (and the separator), the rest is the
 * list; loading and testing paths against it never crashes, and what a
 * list says about a path does not depend on the order paths are tested
 * in (rdiff-backup reads lists in its sorted walk).
 */
#include <sys/stat.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "select.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *paths[] = { "a", "a/b", "a/b/c", "a/x", "b", "src",
    "src/a", "z/y/x", "a b", "a/b c" };
#define NPATHS	(sizeof paths / sizeof paths[0])

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int kinds[] = { SEL_INCLUDE_FILELIST, SEL_EXCLUDE_FILELIST,
	    SEL_INCLUDE_GLOBLIST, SEL_EXCLUDE_GLOBLIST, SEL_EXCLUDE_REGEXP };
	struct selrules rs = { NULL, 0, 0 };
	struct select *s;
	char err[512];
	int fwd[NPATHS], v;
	size_t i;

	if (size < 1)
		return 0;
	rs.nul = data[0] & 0x80;
	rs.r = calloc(2, sizeof *rs.r);
	rs.r[0].kind = kinds[(data[0] & 0x7f) % 5];
	rs.r[0].arg = strdup("fuzz");
	rs.r[0].data = malloc(size);
	memcpy(rs.r[0].data, data + 1, size - 1);
	rs.r[0].data[size - 1] = '\0';
	rs.r[0].len = size - 1;
	rs.r[1].kind = SEL_EXCLUDE;
	rs.r[1].arg = strdup("**");
	rs.n = 2;
	s = select_new("/src", 1);
	if (rs.r[0].kind == SEL_EXCLUDE_REGEXP) {
		/* a regular expression: the data up to its first NUL */
		(void)select_add(s, SEL_EXCLUDE_REGEXP, rs.r[0].data, err,
		    sizeof err);
	} else if (select_load(s, &rs, err, sizeof err) == -1) {
		select_free(s);
		selrules_free(&rs);
		return 0;
	}
	for (i = 0; i < NPATHS; i++)
		fwd[i] = select_test(s, paths[i], strlen(paths[i]),
		    i % 2 ? S_IFDIR : S_IFREG, i, 1, -1, "");
	for (i = NPATHS; i-- > 0; ) {
		v = select_test(s, paths[i], strlen(paths[i]),
		    i % 2 ? S_IFDIR : S_IFREG, i, 1, -1, "");
		if (v != fwd[i])
			abort();
	}
	select_free(s);
	selrules_free(&rs);
	return 0;
}
