/*
 * Which local user or group a recorded owner becomes on restore, as
 * rdiff-backup decides it: a rule of a mapping file for the name, else
 * the local id of the name, else a rule for the number, else the number
 * recorded.  --preserve-numerical-ids skips the names: the number
 * recorded, always.  Mapping files (rdiff-backup's --user-mapping-file
 * and --group-mapping-file) hold "old:new" lines: old a name or a
 * number, new a local name or a number; blank lines are skipped.
 */
#ifndef IDMAP_H
#define IDMAP_H

#include <stddef.h>
#include <stdint.h>

struct idmap;

/* A map that follows names (numeric: keep numbers), no rules yet. */
struct idmap	*idmap_new(int);
/*
 * Read the rules of file path for users (group 0) or groups.  0, or -1
 * with errno set, or with EINVAL and the line's number in *line when a
 * line is malformed or names an unknown local user or group.
 */
int		 idmap_load(struct idmap *, const char *, int, size_t *);
#define IDMAP_NONE	UINT64_MAX	/* no number recorded */

/*
 * The local id of the user (group 0) or group recorded as name (NULL:
 * none) and id (IDMAP_NONE: none): 0 with *out, or -1 when nothing maps
 * it (a named ACL entry, which has no number, is then dropped).
 */
int		 idmap_get(struct idmap *, const char *, uint64_t, int,
		    uint64_t *);
void		 idmap_free(struct idmap *);

#endif
