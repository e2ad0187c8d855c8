/*
 * Hard-link groups, by the device and inode numbers a stat or the
 * metadata gives: where the first member went (for the later members
 * to be linked to it) and its SHA-1 digest (which rdiff-backup records
 * with the first member only).  The table grows with the number of
 * groups.
 */
#ifndef HLINK_H
#define HLINK_H

#include <stdint.h>

struct hlink {
	struct hlink	*next;
	uint64_t	 dev, ino;
	char		*path;		/* the first member's path, or NULL */
	char		*sha1;		/* the group's digest, or NULL */
};

struct hlinks;

struct hlinks	*hl_new(void);
/* The group of dev:ino, or NULL. */
struct hlink	*hl_find(struct hlinks *, uint64_t, uint64_t);
/* The group of dev:ino, made (path and sha1 NULL) if there is none. */
struct hlink	*hl_get(struct hlinks *, uint64_t, uint64_t);
void		 hl_free(struct hlinks *);

#endif
