#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attrs.h"
#include "earec.h"
#include "exitcode.h"
#include "gz.h"
#include "idmap.h"
#include "meta.h"
#include "node.h"
#include "pathname.h"
#include "repo.h"
#include "xalloc.h"
#include "xattr.h"


static struct recfile	*eaf, *aclf;	/* the session's files, or NULL */
static int		 eas, acls;	/* still set on the target */
static int		 root, neverdrop;
static struct idmap	*ids;
static size_t		 dropped;	/* ACL entries of unknown names */
static size_t		 damaged;	/* records that could not be parsed */

static struct recfile *
open_one(int datafd, int64_t t, const char *prefix, int verbose)
{
	struct recfile *f;
	char *name;

	if ((f = recfile_at(datafd, prefix, t, &name)) == NULL) {
		if (errno != ENOENT)
			err(EXIT_TEMP, "open %s/%s", DATADIR, name);
		if (verbose)
			warnx("%s/%s for the session: none, so none restored",
			    DATADIR, prefix);
	}
	free(name);
	return f;
}

void
rattrs_open(int datafd, int64_t t, int flags, struct idmap *map)
{
	root = (flags & RA_ROOT) != 0;
	neverdrop = (flags & RA_NEVERDROP) != 0;
	ids = map;
	if (flags & RA_EAS)
		eaf = open_one(datafd, t, EAFILE, flags & RA_VERBOSE);
	if (flags & RA_ACLS)
		aclf = open_one(datafd, t, ACLFILE, flags & RA_VERBOSE);
	eas = eaf != NULL;
	acls = aclf != NULL;
}

struct nodeext *
rattrs_of(const struct rec *r)
{
	struct nodeext *a;

	if (earec_ext(eas ? eaf : NULL, acls ? aclf : NULL, r, ids, &a,
	    &damaged, &dropped) == -1)
		err(EXIT_TEMP, "read %s/%s", DATADIR, EAFILE " or " ACLFILE);
	/* only root may set trusted.* and security.* (file capabilities) */
	if (a != NULL && !root)
		xattrs_only(&a->x, "user.");
	return a;
}

int
rattrs_refused(void)
{
	return neverdrop && dropped > 0;
}

int
rattrs_unsupported(const char *what, int e, const char *target)
{
	if (e != ENOTSUP)
		return 0;
	/* entries asked for before the first failure fail the same way */
	if (strcmp(what, "set extended attributes of") == 0) {
		if (eas)
			warnx("%s: the filesystem has no extended attributes: "
			    "none are restored", target);
		eas = 0;
		return 1;
	}
	if (strcmp(what, "set ACL of") == 0) {
		if (acls)
			warnx("%s: the filesystem has no POSIX ACLs: none are "
			    "restored", target);
		acls = 0;
		return 1;
	}
	return 0;
}

int
rattrs_close(void)
{
	int rv = damaged > 0;

	if (dropped > 0)
		warnx("%zu ACL entries named users or groups unknown here: "
		    "dropped", dropped);
	if (damaged > 0)
		warnx("%zu extended attribute or ACL records could not be "
		    "read: those entries got none", damaged);
	recfile_close(eaf);
	recfile_close(aclf);
	eaf = aclf = NULL;
	eas = acls = 0;
	return rv;
}
