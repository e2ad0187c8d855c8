/*
 * restore --compare: a live directory against a session, as
 * rdiff-backup compare does it.
 */
#ifndef COMPARE_H
#define COMPARE_H

#include <stdint.h>

struct repo;

enum { CMP_META, CMP_HASH, CMP_FULL };

/*
 * Compare directory dir with session t of repository r below the path
 * prefix ("" the root) by method (CMP_*), printing a line per difference
 * ("reason: path"), or rdiff-backup's YAML with parsable.  Returns 0
 * when nothing differs, 1 when something does or could not be read;
 * exits on errors that stop the comparison.
 */
int	compare_tree(struct repo *, int64_t, const char *, const char *, int,
	    int);

#endif
