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

#define EAFILE	"extended_attributes"
#define ACLFILE	"access_control_lists"

static struct recfile	*eaf, *aclf;	/* the session's files, or NULL */
static int		 eas, acls;	/* still set on the target */
static int		 root;
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
rattrs_open(int datafd, int64_t t, int want_eas, int want_acls, int isroot,
    int verbose, struct idmap *map)
{
	root = isroot;
	ids = map;
	if (want_eas)
		eaf = open_one(datafd, t, EAFILE, verbose);
	if (want_acls)
		aclf = open_one(datafd, t, ACLFILE, verbose);
	eas = eaf != NULL;
	acls = aclf != NULL;
}

/* Named ACL entries follow the owners' map; a name it lacks goes. */
static int
idfn(const char *name, uint32_t num, int group, uint32_t *id)
{
	uint64_t v;

	if (idmap_get(ids, name, name == NULL ? num : IDMAP_NONE, group,
	    &v) == -1)
		return -1;
	*id = (uint32_t)v;
	return 0;
}

/* r's record in f: 1 with its body, 0 when none; a read error stops. */
static int
find(struct recfile *f, const struct rec *r, const char *what,
    const char **body, size_t *len)
{
	int rv;

	if ((rv = recfile_find(f, r->path, r->pathlen, body, len)) == -1)
		err(EXIT_TEMP, "read %s/%s", DATADIR, what);
	return rv;
}

/* Only root may set trusted.* and security.* (file capabilities). */
static void
drop_privileged(struct xattrs *x)
{
	size_t i, j;

	for (i = j = 0; i < x->n; i++)
		if (strncmp(x->a[i].name, "trusted.", 8) == 0 ||
		    strncmp(x->a[i].name, "security.", 9) == 0) {
			free(x->a[i].name);
			free(x->a[i].val);
		} else
			x->a[j++] = x->a[i];
	x->n = j;
}

struct nodeext *
rattrs_of(const struct rec *r)
{
	struct nodeext *a;
	const char *body;
	size_t len;

	if (!eas && !acls)
		return NULL;
	a = nodeext_new();
	if (eas) {
		/* no record: no attributes, and any there are go */
		if (find(eaf, r, EAFILE, &body, &len) == 1 &&
		    ea_parse(body, len, &a->x) == -1)
			damaged++;
		if (!root)
			drop_privileged(&a->x);
		a->eas = 1;
	}
	if (acls) {
		if (find(aclf, r, ACLFILE, &body, &len) == 1 &&
		    acl_parse(body, len, idfn, &a->acl, &a->dacl, &dropped) == -1)
			damaged++;
		a->acls = 1;
	}
	return a;
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
