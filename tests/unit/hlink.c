/*
 * Unit tests for hlink.c: a zeroed table, groups found by device and
 * inode, growth, the first member's digest, and reuse after hl_free.
 */
#include <stdint.h>
#include <string.h>

#include "hlink.h"
#include "tap.h"
#include "xalloc.h"

int
main(void)
{
	struct hlinks table = { NULL, 0, 0 }, *t = &table;
	struct hlink *h;
	uint64_t i;
	int all = 1;

	ok(hl_find(t, 1, 2) == NULL, "an empty table finds nothing");
	h = hl_get(t, 1, 2);
	ok(h != NULL && h->path == NULL && h->sha1 == NULL,
	    "hl_get makes a group with no path or digest");
	h->path = xstrdup("a/b");
	ok(hl_get(t, 1, 2) == h, "hl_get finds the group it made");
	ok(hl_find(t, 2, 1) == NULL, "device and inode are not interchangeable");
	for (i = 0; i < 100000; i++)
		hl_get(t, i % 7, i)->sha1 = xstrdup("x");
	for (i = 0; i < 100000; i++)
		if ((h = hl_find(t, i % 7, i)) == NULL || strcmp(h->sha1, "x"))
			all = 0;
	ok(all, "100000 groups, each found after the table grew");
	ok(hl_find(t, 1, 2) != NULL && strcmp(hl_find(t, 1, 2)->path, "a/b") == 0,
	    "the first group keeps its path");
	ok(hl_find(t, 8, 100001) == NULL, "an absent group is not found");
	hl_free(t);
	ok(hl_find(t, 1, 2) == NULL && t->n == 0,
	    "hl_free leaves an empty table");
	h = hl_join(t, 3, 4, "");
	ok(h->sha1 != NULL && h->sha1[0] == '\0' &&
	    hl_join(t, 3, 4, "abc") == h && h->sha1[0] == '\0',
	    "hl_join: the digest is the first member's, even when empty");
	h = hl_join(t, 5, 6, "abc");
	ok(strcmp(hl_join(t, 5, 6, "")->sha1, "abc") == 0,
	    "hl_join: a later member does not change it");
	hl_free(t);
	return tap_done();
}
