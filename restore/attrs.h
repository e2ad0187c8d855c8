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

/*
 * Open session t's files in data directory datafd, for what is wanted
 * (eas, acls).  As non-root, trusted.* and security.* attributes are not
 * set (only root may).  A session without such a file leaves those
 * attributes of the entries as they are made (said with verbose).
 * Named ACL entries are mapped through the owners' map.
 */
void	 rattrs_open(int, int64_t, int, int, int, int, struct idmap *);
/*
 * What to set on record r's entry besides its stat attributes, or NULL
 * for nothing; records are asked in metadata order.  Free with
 * nodeext_free.
 */
struct nodeext	*rattrs_of(const struct rec *);
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
