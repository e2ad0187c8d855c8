/*
 * Making an entry of a given record type in a directory that others may
 * be able to write (a mirror or a restore target copies the source's
 * permissions), and giving it a record's attributes.  A new node is
 * made under a temp name that never takes a real entry's place (a taken
 * name is retried with the next one) and is changed afterwards only
 * through a descriptor checked to be the node just made, never through
 * its name: a name swapped for a symlink or a hard link between two
 * calls redirects nothing.
 */
#ifndef NODE_H
#define NODE_H

#include <sys/types.h>

#include "xattr.h"

struct rec;

/* Flags of node_make and node_tmp. */
#define NODE_FILE_IF_EPERM	1	/* no right to mknod: a plain file */

/*
 * Make dirfd/name as record r's type says (a regular file, directory,
 * symlink to r->symdata, device, FIFO or socket), failing with EEXIST
 * when the name is taken.  Returns a descriptor on the new node: read
 * and write for a regular file, O_DIRECTORY for a directory, O_PATH for
 * the others; -1 with errno set.
 */
int	node_make(int, const char *, const struct rec *, int);
/*
 * node_make under a new temp name, returned in *tmp (to free, also on
 * failure: then the last name tried).
 */
int	node_tmp(int, const struct rec *, int, char **);
/*
 * A new hard link to srcdir/srcname under a new temp name in dirfd,
 * returned in *tmp as by node_tmp.  0, or -1 with errno set.
 */
int	link_tmp(int, const char *, int, char **);

/*
 * Rename dirfd/tmp over name, removing a directory tree that has the
 * name.  With fd not -1, check afterwards that the entry now named is
 * the node open at fd: -1 with ESTALE when someone put another entry
 * under tmp after it was made (it has the name now).  0, or -1 with
 * errno set.
 */
int	node_place(int, const char *, const char *, int);

/* Flags of node_attrs. */
#define ATTR_OWNER	1	/* chown to uid, gid */
#define ATTR_KEEPREAD	2	/* owner keeps rw (rwx for a directory) */
#define ATTR_CHANGED	4	/* touch only what differs */

/* Extended attributes and ACLs for node_attrs, owning their storage. */
struct nodeext {
	int		 eas;		/* make the attributes besides system.*
					   those of x (others are removed) */
	struct xattrs	 x;
	int		 acls;		/* set these ACLs (no entries: none, so
					   any there is removed) */
	struct acl	 acl;		/* access ACL */
	struct acl	 dacl;		/* default ACL, for a directory */
};

/* A new, empty nodeext (nothing set), and freeing one (NULL too). */
struct nodeext	*nodeext_new(void);
void		 nodeext_free(struct nodeext *);
/*
 * Only ext's part of node_attrs on the node open at fd, of type (the
 * S_IFMT bits): 0, or -1 with errno and *what.
 */
int	node_ext(int, mode_t, const struct nodeext *, const char **);

/*
 * Give the node open at fd record r's permissions and mtime, and with
 * ATTR_OWNER the owner uid:gid, and ext's attributes (ext may be NULL),
 * in rdiff-backup's order: chown (it clears setuid bits and file
 * capabilities), extended attributes, chmod, ACLs, mtime.  A symlink
 * takes only the owner and the extended attributes.  Every step is
 * tried; returns 0, or -1 with errno and *what ("chown", "set extended
 * attributes of", "chmod", "set ACL of", "set mtime of") of the first
 * that failed.
 */
int	node_attrs(int, const struct rec *, int, uid_t, gid_t,
	    const struct nodeext *, const char **);

#endif
