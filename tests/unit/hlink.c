/* Unit tests for hlink.c: groups found by device and inode, growth. */
#include <stdint.h>
#include <string.h>

#include "hlink.h"
#include "tap.h"
#include "xalloc.h"

int
main(void)
{
	struct hlinks *t = hl_new();
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
	return tap_done();
}
