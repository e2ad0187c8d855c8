/*
 * The records of rdiff-backup's extended_attributes.<T> and
 * access_control_lists.<T> files: one "# file: <path>" line (the path
 * in getfacl's quoting, "." for the root) and the attribute or ACL
 * lines of that path.  Records come in metadata order and name only
 * paths of the same session's metadata.
 *
 * Attribute lines are "name=0s<base64>"; an empty value is the bare
 * name.  rdiff-backup quotes the name only before "=", and its reader
 * unquotes no name; here a line with "=" has its name unquoted and a
 * bare name is taken as it is, the exact inverse of that writer.  An
 * empty value whose name needs quoting is written "name=0s", which both
 * readers take, instead of a bare line that could break the file.
 */
#ifndef EAREC_H
#define EAREC_H

#include <stddef.h>
#include <stdint.h>

#include "xattr.h"

struct gzr;
struct idmap;
struct nodeext;
struct rec;

/* getfacl's quoting of s[0..len): a new string. */
char	*acl_quote(const char *, size_t);
/* Its inverse: a new string of *len bytes (NUL-terminated as well). */
char	*acl_unquote(const char *, size_t *);

/*
 * The extended_attributes record of path (unquoted, "" for the root)
 * with the attributes of x that rdiff-backup stores (all but system.*),
 * in a new string; NULL when there are none.
 */
char	*ea_record(const char *, const struct xattrs *);
/*
 * The attributes of a record's body (the lines after "# file:") into x,
 * sorted.  0, or -1 with EINVAL on a line that is not an attribute.
 */
int	 ea_parse(const char *, size_t, struct xattrs *);

/* Names of ids for ACL text: a user (group 0) or group name, or NULL. */
typedef const char *(*acl_namefn)(uint32_t, int);

/*
 * The access_control_lists record of path: access ACL a (NULL: the
 * three entries of mode's permission bits) and default ACL d (NULL or
 * empty: none), named entries by name where namefn knows one.  NULL when
 * rdiff-backup writes no record: a has at most three entries and there
 * is no default ACL.
 */
char	*acl_record(const char *, const struct acl *, const struct acl *,
	    unsigned, acl_namefn);
/*
 * The ACLs of a record's body into a (access) and d (default; n 0 when
 * none), sorted as the kernel wants them.  Named entries take the local
 * id ids gives the name or number written (ids NULL: numbers as they
 * are, names dropped); an entry it cannot map is dropped and counted in
 * *dropped.  0, or -1 with EINVAL on a
 * malformed line.
 */
int	 acl_parse(const char *, size_t, struct idmap *, struct acl *,
	    struct acl *, size_t *);
/* A reader of a records file. */
struct recfile;

/* Reads records from r (which it then owns). */
struct recfile	*recfile_open(struct gzr *);
/*
 * The file <prefix>.<t>.snapshot[.gz] of data directory datafd, found by
 * its time whatever its spelling, opened: NULL with errno set (ENOENT
 * when the session has none); *name (to free) names it either way.
 */
struct recfile	*recfile_at(int, const char *, int64_t, char **);
/*
 * The next record: 1 with *path (unquoted, "" for the root) and *body,
 * *bodylen (its lines, each ending in "\n"), valid until the next call;
 * 0 at the end; -1 with errno set on a read error or a file that does
 * not start with "# file:" (EINVAL).
 */
int		 recfile_next(struct recfile *, const char **, const char **,
		    size_t *);
/*
 * The record of path (len bytes): 1 with *body and *bodylen, valid
 * until the next call; 0 when there is none.  Records before path are
 * passed over and a later one is kept, so paths are asked in metadata
 * order.  -1 with errno set as recfile_next.
 */
int		 recfile_find(struct recfile *, const char *, size_t,
		    const char **, size_t *);
int		 recfile_close(struct recfile *);

/*
 * What record r's entry gets from records files ea and acl (each NULL:
 * that kind is left as it is), named ACL entries mapped through ids: a
 * new nodeext in *ext, NULL when both files are NULL.  An entry without
 * a record gets none of that kind (any it has goes).  A record that
 * cannot be parsed adds to *damaged and leaves its kind as it is; ACL
 * entries that cannot be mapped add to *dropped.  0, or -1 with errno
 * set on a read error.
 */
int		 earec_ext(struct recfile *, struct recfile *,
		    const struct rec *, struct idmap *, struct nodeext **,
		    size_t *, size_t *);

#endif
