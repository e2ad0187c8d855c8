/*
 * Hard-link groups, by the device and inode numbers a stat or the
 * metadata gives: where the first member went (for the later members
 * to be linked to it) and its SHA-1 digest (which rdiff-backup records
 * with the first member only).  A zeroed table is empty; it grows with
 * the number of groups.
 */
#ifndef HLINK_H
#define HLINK_H

#include <stdint.h>

struct rec;

struct hlink {
	struct hlink	*next;
	uint64_t	 dev, ino;
	char		*path;		/* the first member's path, or NULL */
	char		*sha1;		/* the group's digest, or NULL */
};

struct hlinks {
	struct hlink	**b;
	size_t		 nb, n;		/* buckets (0 or a power of 2), groups */
};

/* The group of dev:ino, or NULL. */
struct hlink	*hl_find(const struct hlinks *, uint64_t, uint64_t);
/* The group of dev:ino, made (path and sha1 NULL) if there is none. */
struct hlink	*hl_get(struct hlinks *, uint64_t, uint64_t);
/*
 * The group of a member with digest sha1, made if there is none: a new
 * group takes sha1 as the group's digest, as the first member's.
 */
struct hlink	*hl_join(struct hlinks *, uint64_t, uint64_t, const char *);
/*
 * The digest of regular-file record r: its own, or, for a later member of
 * a hard-link group (rdiff-backup records it with the first only), the
 * group's; "" when none is known.  Joins r to its group.
 */
const char	*hl_digest(struct hlinks *, const struct rec *);
/* Free the groups; the table is empty again. */
void		 hl_free(struct hlinks *);

#endif
