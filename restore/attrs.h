/*
 * restore's side of extended attributes and POSIX ACLs: the records of
 * the session restored (extended_attributes.<T>, access_control_lists.<T>
 * in the repository), made into what node_attrs sets on each entry.
 */
#ifndef RESTORE_ATTRS_H
#define RESTORE_ATTRS_H

#include <stdint.h>

struct idmap;
struct nodeext;
struct rec;

/* Flags of rattrs_open. */
#define RA_EAS		1	/* restore extended attributes */
#define RA_ACLS		2	/* restore ACLs */
#define RA_ROOT		4	/* running as root */
#define RA_VERBOSE	8
#define RA_NEVERDROP	16	/* an ACL entry that cannot be mapped is fatal */

/*
 * Open session t's files in data directory datafd, for what flags
 * want.  Not as root, trusted.* and security.* attributes are not set
 * (only root may).  A session without such a file leaves those
 * attributes of the entries as they are made (said with RA_VERBOSE).
 * Named ACL entries are mapped through the owners' map ids.
 */
void	 rattrs_open(int, int64_t, int, struct idmap *);
/*
 * What to set on record r's entry besides its stat attributes, or NULL
 * for nothing; records are asked in metadata order.  Free with
 * nodeext_free.
 */
struct nodeext	*rattrs_of(const struct rec *);
/* 1 when an ACL entry was dropped under RA_NEVERDROP: restore stops. */
int	 rattrs_refused(void);
/*
 * After node_attrs failed at step what with errno e: 1 when that is the
 * target filesystem lacking extended attributes or ACLs (said once,
 * and those are not set from now on), else 0.
 */
int	 rattrs_unsupported(const char *, int, const char *);
/*
 * Say what was dropped, and close the files; 1 when a record could not
 * be read (its entry got no such attributes), else 0.
 */
int	 rattrs_close(void);

#endif
