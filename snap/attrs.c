/*
 * Extended attributes and POSIX ACLs of the session: each path of the
 * new snapshot that has any gets a record in extended_attributes.<T> and
 * access_control_lists.<T>, in metadata order, as rdiff-backup writes
 * them (lib/earec.h), and as root the mirror copies get them too.  A
 * source without extended attributes (a FUSE or SFTP mount) is said once
 * and gets no such files: the session has none recorded, rather than
 * none.
 */
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "earec.h"
#include "exitcode.h"
#include "gz.h"
#include "io.h"
#include "meta.h"
#include "node.h"
#include "pathname.h"
#include "repo.h"
#include "snap.h"
#include "tree.h"
#include "walk.h"
#include "xalloc.h"
#include "xattr.h"


static const char *
namefn(uint32_t id, int group)
{
	return idname(id, group);
}

/*
 * The previous session's file of a kind, or NULL when it has none; its
 * birth time goes into *since when earlier (INT64_MIN: unknown).
 */
static struct recfile *
old_open(struct session *s, const char *prefix, int64_t *since)
{
	struct recfile *f;
	char *name;
	int64_t born;

	if (s->first) {
		*since = INT64_MIN;
		return NULL;
	}
	if ((f = recfile_at(s->datafd, prefix, s->prev, &name)) == NULL &&
	    errno != ENOENT)
		err(EXIT_TEMP, "open %s/%s", DATADIR, name);
	if (f == NULL || birth_time(s->datafd, name, &born) == -1)
		*since = INT64_MIN;
	else if (born < *since)
		*since = born;
	free(name);
	return f;
}

/*
 * The previous session's record of path, or NULL.  A file that cannot
 * be read stops the session: what it holds would be lost for the paths
 * whose state is copied.
 */
static const char *
old_body(struct recfile *f, const char *path, size_t len, size_t *n,
    const char *what)
{
	const char *body;
	int r;

	if ((r = recfile_find(f, path, len, &body, n)) == -1)
		err(EXIT_TEMP, "read %s/%s of the previous session", DATADIR,
		    what);
	return r == 1 ? body : NULL;
}

/*
 * Did the previous session record a file of this kind?  Then a source
 * that cannot give one now is news; else it was said before (a nightly
 * run from the same mount stays quiet).
 */
static int
news(struct session *s, const char *prefix)
{
	char *name;

	if (s->first)
		return 1;
	if ((name = stamped_find(s->datafd, prefix, s->prev,
	    INC_SNAPSHOT)) == NULL)
		return 0;
	free(name);
	return 1;
}

/* A source without ACLs stops the session under --never-drop-acls. */
static void
refuse_no_acls(struct session *s)
{
	if (s->neverdrop)
		errx(EXIT_PERM, "%s: the filesystem has no POSIX ACLs "
		    "(--never-drop-acls)", s->src);
}

/*
 * Does the source root's filesystem keep extended attributes and ACLs?
 * One that does not is said in the first session and whenever the
 * previous session recorded them.
 */
static void
probe(struct session *s)
{
	struct xattrs x;
	unsigned char b[4];

	int xerr = 0, aclerr = 0;

	if (s->agent)
		remote_root_attrs(&xerr, &aclerr);
	if (s->eas || s->acls) {
		if (s->agent)
			errno = xerr;
		if ((s->agent ? xerr != 0 : xattrs_read(AT_FDCWD, s->src,
		    &x) == -1) && (errno == ENOTSUP || errno == ENOSYS)) {
			if (s->acls)
				refuse_no_acls(s);
			if (news(s, EAFILE))
				warnx("%s: the filesystem has no extended "
				    "attributes: no xattrs, capabilities or "
				    "ACLs are recorded", s->src);
			s->eas = s->acls = 0;
			return;
		}
		if (!s->agent)
			xattrs_free(&x);
	}
	/* ENODATA: no ACL here, but the filesystem can hold one */
	if (s->agent)
		errno = aclerr;
	if (s->acls && (s->agent ? aclerr != 0 : xattr_get(AT_FDCWD, s->src,
	    ACL_ACCESS_XATTR, b, sizeof b) == -1) && errno == ENOTSUP) {
		refuse_no_acls(s);
		if (news(s, ACLFILE))
			warnx("%s: the filesystem has no POSIX ACLs: none are "
			    "recorded", s->src);
		s->acls = 0;
	}
}

static struct gzw *
new_file(struct session *s, const char *prefix)
{
	char *name = incname_make(prefix, s->now, INC_SNAPSHOT, 1, s->style);
	struct gzw *w;
	int fd;

	fd = openat(s->datafd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600);
	if (fd == -1 || (w = gzw_open(fd, 6)) == NULL)
		err(EXIT_TEMP, "create %s/%s", DATADIR, name);
	free(name);
	return w;
}

/*
 * Reading every entry's attributes costs a system call each, a third
 * of an unchanged run; so an entry whose stat is unchanged and whose
 * change time (which every xattr or ACL change sets) is before the
 * previous session began keeps that session's records.  When it began:
 * its time, or the birth of its files if earlier (a session time given
 * in the future), less 2 s for coarse clocks.  Not on a network or FUSE
 * source (another machine's clock), nor when the clock is now before
 * that birth (it was set back).
 */
void
attrs_begin(struct session *s)
{
	int64_t since = s->prev;

	probe(s);
	if (s->eas) {
		s->eaw = new_file(s, EAFILE);
		s->oldea = old_open(s, EAFILE, &since);
	}
	if (s->acls) {
		s->aclw = new_file(s, ACLFILE);
		s->oldacl = old_open(s, ACLFILE, &since);
	}
	s->attrs_since = INT64_MIN;
	/* not through a mount or the agent: the host's clock is not ours */
	if (since != INT64_MIN && s->scoutsel == NULL && !s->agent &&
	    (s->eas || s->acls) &&
	    (int64_t)time(NULL) >= since)
		s->attrs_since = since - 2;
}

/*
 * Close w; rdiff-backup writes a file with no record as a plain 0-byte
 * "<prefix>.<T>.snapshot", without .gz.
 */
static void
finish(struct session *s, struct gzw *w, const char *prefix)
{
	char *name;
	int empty = gzw_count(w) == 0, fd;

	if (gzw_close(w, 0) == -1)
		err(EXIT_TEMP, "write %s/%s", DATADIR, prefix);
	if (!empty)
		return;
	name = incname_make(prefix, s->now, INC_SNAPSHOT, 1, s->style);
	if (unlinkat(s->datafd, name, 0) == -1)
		err(EXIT_TEMP, "remove %s/%s", DATADIR, name);
	free(name);
	name = incname_make(prefix, s->now, INC_SNAPSHOT, 0, s->style);
	fd = openat(s->datafd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600);
	if (fd == -1)
		err(EXIT_TEMP, "create %s/%s", DATADIR, name);
	close(fd);
	free(name);
}

void
attrs_commit(struct session *s)
{
	if (s->eaw != NULL)
		finish(s, s->eaw, EAFILE);
	if (s->aclw != NULL)
		finish(s, s->aclw, ACLFILE);
	s->eaw = s->aclw = NULL;
	recfile_close(s->oldea);
	recfile_close(s->oldacl);
	s->oldea = s->oldacl = NULL;
}

static void
put(struct gzw *w, const char *text, const char *what)
{
	if (text != NULL && gzw_puts(w, text) == -1)
		err(EXIT_TEMP, "write %s/%s", DATADIR, what);
}

/* The previous record of path, copied as it was ("# file:" line too). */
static void
copy_old(struct recfile *o, struct gzw *w, const char *path, size_t len,
    const char *what)
{
	const char *body;
	char *q;
	size_t n;

	if (o == NULL || (body = old_body(o, path, len, &n, what)) == NULL)
		return;
	q = acl_quote(path, len);
	put(w, "# file: ", what);
	put(w, len == 0 ? "." : q, what);
	put(w, "\n", what);
	if (gzw_write(w, body, n) == -1)
		err(EXIT_TEMP, "write %s/%s", DATADIR, what);
	free(q);
}

/* An ACL attribute of x decoded into a, or a left empty. */
static int
acl_of(const struct xattrs *x, const char *name, struct acl *a)
{
	const struct xattr *v = xattrs_find(x, name);

	a->e = NULL;
	a->n = 0;
	if (v == NULL)
		return 0;
	return acl_decode(v->val, v->len, a);
}

/*
 * Is record text (NULL: none) other than the previous session's body
 * (NULL: none)?
 */
static int
differs(const char *text, const char *old, size_t oldlen)
{
	const char *body = text != NULL ? strchr(text, '\n') + 1 : "";
	size_t n = strlen(body);

	if (old == NULL)
		return n != 0;
	return n != oldlen || memcmp(body, old, n) != 0;
}

/* Write text (NULL: no record) to w; 1 when it differs from old's. */
static int
record(struct session *s, struct gzw *w, struct recfile *old, char *text,
    const char *path, size_t len, const char *what)
{
	const char *body = NULL;
	size_t n = 0;
	int changed;

	if (old != NULL)
		body = old_body(old, path, len, &n, what);
	changed = differs(text, body, n) || (s->root && old == NULL &&
	    !s->first && text != NULL);
	put(w, text, what);
	free(text);
	return changed;
}

/* Has ACL record body b (n bytes) a default entry? */
static int
has_default(const char *b, size_t n)
{
	const char *p = b, *end = b + n;

	while (p != NULL && p < end) {
		if ((size_t)(end - p) >= 8 && strncmp(p, "default:", 8) == 0)
			return 1;
		if ((p = memchr(p, '\n', (size_t)(end - p))) != NULL)
			p++;
	}
	return 0;
}

struct nodeext *
attrs_entry(struct session *s, const char *path, size_t len, int rtype,
    struct walk_ent *e, int fresh, int inherit, int *dflt)
{
	struct nodeext *ext;
	struct xattrs x;
	struct acl a = { NULL, 0 }, d = { NULL, 0 };
	const char *old;
	char *text = NULL;
	size_t n, i;
	int changed = 0, any = 0;

	*dflt = 0;
	if (!s->eas && !s->acls)
		return NULL;
	if (e == NULL || (!fresh && (int64_t)e->st.st_ctim.tv_sec <
	    s->attrs_since)) {
		if (s->eas)
			copy_old(s->oldea, s->eaw, path, len, EAFILE);
		if (s->acls)
			copy_old(s->oldacl, s->aclw, path, len, ACLFILE);
		*dflt = rtype == RT_DIR && s->oldacl != NULL &&
		    (old = old_body(s->oldacl, path, len, &n, ACLFILE)) != NULL &&
		    has_default(old, n);
		return NULL;
	}
	if (e->dirfd == -1) {
		/* from the agent: as read on the host */
		memset(&x, 0, sizeof x);
		if (e->xerr != 0)
			errno = e->xerr;
		else if (e->xattrs != NULL)
			for (i = 0; i < e->xattrs->n; i++)
				xattrs_put(&x, e->xattrs->a[i].name,
				    e->xattrs->a[i].val, e->xattrs->a[i].len);
	}
	if (e->dirfd == -1 ? e->xerr != 0 : xattrs_read(e->dirfd, e->name,
	    &x) == -1) {
		if (errno != ENOENT && errno != ENOTSUP && errno != ENOSYS)
			report(s, "read extended attributes of", path, errno);
		/* keep the old readers in step with the walk */
		if (s->oldea != NULL)
			old_body(s->oldea, path, len, &(size_t){ 0 }, EAFILE);
		if (s->oldacl != NULL)
			old_body(s->oldacl, path, len, &(size_t){ 0 }, ACLFILE);
		return NULL;
	}
	/* rdiff-backup keeps no xattrs of FIFOs and sockets, but their ACLs */
	if (s->eas && rtype != RT_FIFO && rtype != RT_SOCK) {
		text = ea_record(path, &x);
		any |= text != NULL;
		changed |= record(s, s->eaw, s->oldea, text, path, len, EAFILE);
	}
	if (s->acls && rtype != RT_SYM) {
		if (acl_of(&x, ACL_ACCESS_XATTR, &a) == -1 ||
		    acl_of(&x, ACL_DEFAULT_XATTR, &d) == -1 ||
		    (a.n > 0 && acl_check(&a) == -1) ||
		    (d.n > 0 && acl_check(&d) == -1)) {
			report(s, "read ACL of", path, EINVAL);
			acl_free(&a);
			acl_free(&d);
		} else {
			text = acl_record(path, &a, &d, (unsigned)e->st.st_mode,
			    namefn);
			any |= text != NULL;
			changed |= record(s, s->aclw, s->oldacl, text, path, len,
			    ACLFILE);
		}
	}
	/* the mirror directory keeps the old default ACL until its pop */
	*dflt = d.n > 0 || (s->oldacl != NULL && rtype == RT_DIR &&
	    (old = old_body(s->oldacl, path, len, &n, ACLFILE)) != NULL &&
	    has_default(old, n));
	/* a new mirror node got the default ACL of its directory */
	if (!(changed || (fresh && (any || (s->root && inherit && s->acls &&
	    rtype != RT_SYM)))) || (!s->root && !s->eas)) {
		xattrs_free(&x);
		acl_free(&a);
		acl_free(&d);
		return NULL;
	}
	/*
	 * The mirror copy gets them too, as rdiff-backup's does.  Not as
	 * root: only user.* (only root may set the others), and no ACLs
	 * (one could take the backup user's own right to read its mirror).
	 */
	ext = nodeext_new();
	ext->eas = s->eas && rtype != RT_FIFO && rtype != RT_SOCK;
	ext->x = x;
	if (!s->root) {
		xattrs_only(&ext->x, "user.");
		acl_free(&a);
		acl_free(&d);
	} else {
		ext->acls = s->acls && rtype != RT_SYM;
		ext->acl = a;
		ext->dacl = d;
	}
	return ext;
}
