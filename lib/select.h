/*
 * rdiff-backup's selection rules: --include/--exclude globs, matched in
 * order against the full path (source root as given + relative path),
 * first match wins, everything else included; plus exclude-if-present
 * and exclude-other-filesystems at their place in the order.
 */
#ifndef SELECT_H
#define SELECT_H

#include <sys/types.h>
#include <stddef.h>

enum { SEL_INCLUDE, SEL_EXCLUDE, SEL_EXCLUDE_PRESENT, SEL_EXCLUDE_OTHERFS };

struct select;

/* Rules for the tree rooted at root (as given), whose device is dev. */
struct select	*select_new(const char *, dev_t);
/* Add a rule; -1 with a message in err for a glob that cannot match. */
int		 select_add(struct select *, int, const char *, char *, size_t);
/* Any rules at all? */
int		 select_any(const struct select *);
/*
 * 1 to back up the entry at relative path rel (a directory if isdir, on
 * device dev, named name in dirfd), 0 to leave it (and what is below).
 */
int		 select_test(struct select *, const char *, size_t, int, dev_t,
		    int, const char *);
/* Glob matching alone (for tests): does glob match all of s? */
int		 glob_match(const char *, size_t, const char *, size_t, int);

#endif
