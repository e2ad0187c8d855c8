/*
 * Unit tests for dirstack.c: frames of the caller's size, paths copied,
 * and ds_leaving walking a sorted path list as snap, regress and restore
 * do, with and without a base frame that stays.
 */
#include <string.h>

#include "dirstack.h"
#include "tap.h"

struct fr {
	struct dirframe	 d;
	int		 mark;
	char		 pad[200];	/* frames larger than the header */
};

static struct dirstack	 s = DIRSTACK_INIT(struct fr);
static char		 popped[256];

static void
visit(const char *path, int isdir, size_t keep)
{
	struct fr *f;

	while ((f = ds_leaving(&s, path, strlen(path), keep)) != NULL) {
		strcat(popped, f->d.path ? f->d.path : "(base)");
		strcat(popped, " ");
		ds_drop(&s);
	}
	if (isdir)
		ds_push(&s, path, strlen(path));
}

int
main(void)
{
	struct fr *f, *g;
	char buf[] = "a/bcd";
	int i, same = 1;

	f = ds_push(&s, buf, 3);
	buf[0] = 'x';
	ok(f->d.path != buf && strcmp(f->d.path, "a/b") == 0 && f->d.len == 3 &&
	    f->mark == 0, "push copies path[0..len) and zeroes the rest");
	f->mark = 7;
	for (i = 0; i < 100; i++)
		((struct fr *)ds_push(&s, "p", 1))->mark = i;
	g = ds_at(&s, 0);
	for (i = 0; i < 100; i++)
		same &= ((struct fr *)ds_at(&s, (size_t)i + 1))->mark == i;
	ok(s.depth == 101 && g->mark == 7 && same && ds_at(&s, 101) == NULL &&
	    ds_top(&s) == ds_at(&s, 100),
	    "frames keep their contents as the stack grows");
	while (s.depth > 0)
		ds_drop(&s);
	ok(ds_top(&s) == NULL && ds_leaving(&s, "a", 1, 0) == NULL,
	    "an empty stack has no top and nothing to leave");

	popped[0] = '\0';
	visit("", 1, 0);
	visit("a", 1, 0);
	visit("a/b", 1, 0);
	visit("a/b/f", 0, 0);
	visit("a/c", 0, 0);
	visit("ab", 1, 0);
	visit("b", 0, 0);
	ok(strcmp(popped, "a/b a ab ") == 0 && s.depth == 1,
	    "a sorted walk leaves each directory once, before its next "
	    "sibling (got \"%s\")", popped);
	while (s.depth > 0)
		ds_drop(&s);

	popped[0] = '\0';
	ds_push(&s, NULL, 0);
	visit("a", 1, 1);
	visit("b", 0, 1);
	visit("c", 1, 1);
	ok(strcmp(popped, "a ") == 0 && s.depth == 2 &&
	    ds_leaving(&s, "z", 1, 2) == NULL,
	    "keep: the base frame stays, whatever comes");
	while (s.depth > 0)
		ds_drop(&s);
	ds_free(&s);
	ok(s.frames == NULL && s.cap == 0, "ds_free empties the storage");
	return tap_done();
}
