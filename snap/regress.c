/*
 * Rolling back an interrupted session, so the repository is exactly as
 * after the last complete one.  A session writes its marker first and
 * stamps every increment it makes with the previous session's time R, so
 * two markers tell precisely what to undo: make sure a full metadata
 * snapshot for R exists, drop every data-dir file of the failed session,
 * bring the mirror back to the state that snapshot describes (rebuilding
 * the files the failed session touched from their R-stamped increments,
 * removing what it added, temp files included), delete every increment
 * stamped R, and only then the failed session's marker.  Each step can be
 * repeated: a rollback killed half-way is finished by the next one.
 */
#define _GNU_SOURCE	/* syncfs: Linux, not POSIX */
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"
#include "copy.h"
#include "dirstack.h"
#include "earec.h"
#include "exitcode.h"
#include "gz.h"
#include "hlink.h"
#include "idmap.h"
#include "io.h"
#include "meta.h"
#include "node.h"
#include "pathname.h"
#include "rebuild.h"
#include "repo.h"
#include "snap.h"
#include "timespec.h"
#include "walk.h"
#include "xalloc.h"

struct rframe {
	struct dirframe	 d;
	int		 mfd;		/* mirror directory */
	struct incdir	 incs;		/* and its increments */
	struct rec	 rec;
	struct nodeext	*ext;		/* its xattrs and ACLs at R, or NULL */
};

static struct session	*S;
static struct dirstack	 dirs = DIRSTACK_INIT(struct rframe);
static int64_t		 R;		/* the session rolled back to */
static struct longincs	 longincs = LONGINCS_INIT;
static struct hlinks	 groups;		/* hard-link groups met */
static struct recfile	*eaf, *aclf;	/* R's xattr and ACL records */
static struct idmap	*ids;		/* their named ACL entries */

static struct nodeext	*ext_at_r(const struct rec *);

static void
fatal(const char *what, const char *path)
{
	err(EXIT_TEMP, "recover: %s %s", what, shown(path));
}

static struct rframe *
top(void)
{
	return ds_top(&dirs);
}

static void
push(const struct rec *r, int mfd)
{
	struct rframe *f, *parent;
	const char *name = r->pathlen ? (strrchr(r->path, '/') ?
	    strrchr(r->path, '/') + 1 : r->path) : NULL;

	f = ds_push(&dirs, r->path, r->pathlen);
	parent = dirs.depth > 1 ? ds_at(&dirs, dirs.depth - 2) : NULL;
	f->mfd = mfd;
	rec_copy(&f->rec, r);
	f->ext = ext_at_r(r);
	if (incdir_open(parent == NULL ? subdir(S->datafd, INCDIR) :
	    subdir(parent->incs.fd, name), &f->incs) == -1)
		fatal("list increments of", r->path);
}

static void mirror_attrs(int, const struct rec *, const char *);
static void mirror_ext(int, const char *, struct nodeext *, const char *);

static void
pop(void)
{
	struct rframe *f = top();

	mirror_attrs(f->mfd, &f->rec, f->d.path);
	mirror_ext(f->mfd, NULL, f->ext, f->d.path);
	if (dirs.depth > 1)
		close(f->mfd);
	incdir_close(&f->incs);
	rec_free(&f->rec);
	ds_drop(&dirs);
}

/*
 * The extended attributes and ACLs of r at R, or NULL when R has no
 * such records (they are then left as they are) or snap is not root.
 */
static struct nodeext *
ext_at_r(const struct rec *r)
{
	struct nodeext *ext;
	size_t damaged = 0, dropped = 0;

	if (earec_ext(eaf, aclf, r, ids, &ext, &damaged, &dropped) == -1)
		fatal("read extended attributes or ACLs of", r->path);
	return ext;
}

/* Give mirror entry dirfd/name (NULL: dirfd itself) ext, and free it. */
static void
mirror_ext(int dirfd, const char *name, struct nodeext *ext, const char *path)
{
	struct stat st;
	const char *what;
	char msg[64];
	int fd;

	if (ext == NULL)
		return;
	fd = name == NULL ? dup(dirfd) : openat(dirfd, name, O_PATH |
	    O_NOFOLLOW | O_CLOEXEC);
	if (fd != -1 && fstat(fd, &st) == 0 && node_ext(fd, st.st_mode &
	    S_IFMT, ext, &what) == -1) {
		snprintf(msg, sizeof msg, "recover: %s", what);
		report(S, msg, path, errno);
	}
	if (fd != -1)
		close(fd);
	nodeext_free(ext);
}

/* Give mirror entry fd record r's attributes, reporting what failed. */
static void
mirror_attrs(int fd, const struct rec *r, const char *path)
{
	const char *what;
	char msg[64];

	if (node_attrs(fd, r, ATTR_CHANGED | (S->root ? ATTR_OWNER :
	    ATTR_KEEPREAD), (uid_t)r->uid, (gid_t)r->gid, NULL, &what) == -1) {
		snprintf(msg, sizeof msg, "recover: %s", what);
		report(S, msg, path, errno);
	}
}

/*
 * Put the new node tmp (open at fd, -1 for a hard link) in place of
 * mirror entry name; exits when it cannot.
 */
static void
put(const char *tmp, const char *name, int fd, const char *path)
{
	if (node_place(top()->mfd, tmp, name, fd) == -1)
		fatal(errno == ESTALE ? "replaced while made:" : "rename", path);
}

/* A new node for r in the directory on top, under a temp name. */
static int
make_tmp(const struct rec *r, char **tmp)
{
	int fd;

	if ((fd = node_tmp(top()->mfd, r, NODE_FILE_IF_EPERM, tmp)) == -1)
		err(EXIT_TEMP, "recover: create %s for %s", *tmp ? *tmp :
		    "temp entry", shown(r->path));
	return fd;
}

/*
 * Is mirror entry name (present: of r's type) already r's regular file?
 * With a digest, by content; without, by size and mtime.
 */
static int
same_file(const struct rec *r, const char *name, const char *want)
{
	struct copyres res;
	struct stat st;
	int in, werr, same;

	if (want[0] == '\0')
		return fstatat(top()->mfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    (uint64_t)st.st_size == r->size && st.st_mtime == r->mtime;
	in = openat(top()->mfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in == -1 || copy_fd(in, -1, NULL, NULL, &res, &werr) == -1)
		fatal("read mirror file", r->path);
	same = strcmp(res.sha1, want) == 0 && res.bytes == r->size;
	if (same)
		/* the crash came before the new version was in place */
		mirror_attrs(in, r, r->path);
	close(in);
	return same;
}

/*
 * Rebuild regular file r as of R into the mirror entry name.  A failure
 * of the system (a full disk, an I/O error) stops the rollback: the
 * repository stays interrupted, with every increment, and the next run
 * tries again.  Only a damaged increment, which no retry can mend, is
 * reported and passed over.
 */
static void
rebuild_file(const struct rec *r, const char *name, int present,
    const struct incent *incs, size_t n, int idirfd, const char *want)
{
	struct copyres res;
	const char *why;
	char *tmp;
	int fd, e;

	fd = make_tmp(r, &tmp);
	errno = EBADMSG;
	if (rebuild(present ? top()->mfd : -1, name, idirfd, incs, n, R, R + 1,
	    top()->mfd, fd, r->size, &res, &why) == -1 || (want[0] != '\0' &&
	    strcmp(res.sha1, want) != 0 && (errno = EBADMSG))) {
		e = errno;
		close(fd);
		unlinkat(top()->mfd, tmp, 0);
		free(tmp);
		if (errno_transient(e)) {
			errno = e;
			err(EXIT_TEMP, "recover: %s %s (the repository stays "
			    "interrupted; run again once that is fixed)", why,
			    shown(r->path));
		}
		report(S, "recover: cannot rebuild", r->path, e);
		return;
	}
	mirror_attrs(fd, r, r->path);
	put(tmp, name, fd, r->path);
	close(fd);
	free(tmp);
}

/*
 * Make the mirror entry `name` (in the directory on top) what record r
 * says it was at R.  present: the mirror holds an entry of the same type.
 */
static void
settle(const struct rec *r, const char *name, int present)
{
	struct rframe *f = top();
	const struct incent *incs;
	struct hlink *g = NULL;
	struct stat st, gst;
	const char *want = r->sha1, *gbase;
	char *tmp, *target;
	size_t n;
	ssize_t len;
	int idirfd, fd, gfd;

	switch (r->type) {
	case RT_REG:
		if (r->nlink > 1) {
			g = hl_join(&groups, r->devloc, r->ino, r->sha1);
			if (want[0] == '\0')
				want = g->sha1;
		}
		/* a later member: linked to the first one, as snap made it */
		if (g != NULL && g->path != NULL) {
			if ((gfd = open_parent(S->repofd, g->path, &gbase)) == -1 ||
			    fstatat(gfd, gbase, &gst, AT_SYMLINK_NOFOLLOW) == -1)
				fatal("find first hard link of", r->path);
			if (present && fstatat(f->mfd, name, &st,
			    AT_SYMLINK_NOFOLLOW) == 0 && st.st_ino == gst.st_ino &&
			    st.st_dev == gst.st_dev) {
				close(gfd);
				return;
			}
			if (link_tmp(gfd, gbase, f->mfd, &tmp) == -1)
				fatal("relink", r->path);
			put(tmp, name, -1, r->path);
			close(gfd);
			free(tmp);
			return;
		}
		incs = incs_find(S->datafd, &longincs, r->altinc, &f->incs,
		    name, &n, &idirfd);
		if (r->altinc != NULL && !longincs.tried)
			fatal("list", DATADIR "/" LONGDIR);
		/* untouched by the failed session, or not replaced yet */
		if (!present || (n > 0 && !same_file(r, name, want)))
			rebuild_file(r, name, present, incs, n, idirfd, want);
		if (g != NULL && g->path == NULL)
			g->path = xstrdup(r->path);
		return;
	case RT_SYM:
		if (present) {
			target = xmalloc(r->symlen + 2);
			len = readlinkat(f->mfd, name, target, r->symlen + 1);
			if (len == (ssize_t)r->symlen &&
			    memcmp(target, r->symdata, r->symlen) == 0) {
				free(target);
				return;
			}
			free(target);
		}
		break;
	default:
		if (present && (fd = openat(f->mfd, name, O_PATH | O_NOFOLLOW |
		    O_CLOEXEC)) != -1) {
			if (fstat(fd, &st) == 0 && rtype_of_mode(st.st_mode) ==
			    r->type && (r->type != RT_DEV ||
			    (major(st.st_rdev) == r->major &&
			    minor(st.st_rdev) == r->minor))) {
				mirror_attrs(fd, r, r->path);
				close(fd);
				return;
			}
			close(fd);
		}
		break;
	}
	fd = make_tmp(r, &tmp);
	mirror_attrs(fd, r, r->path);
	put(tmp, name, fd, r->path);
	close(fd);
	free(tmp);
}

/* The next mirror entry, past the data dir; NULL at the end. */
static struct walk_ent *
next_entry(struct walk *w)
{
	struct walk_ent *e;

	for (;;) {
		if (walk_next(w, &e) != 1)
			return NULL;
		if (e->listerr)
			fatal("list", e->path);
		if (e->error)
			fatal("stat", e->path);
		if (e->depth == 1 && strcmp(e->name, DATADIR) == 0) {
			walk_skip(w);
			continue;
		}
		return e;
	}
}

static struct rec *
next_record(struct meta_reader *m)
{
	struct rec *o;
	int r;

	if ((r = meta_next(m, &o)) == -1)
		errx(EXIT_PERM, "recover: metadata of the last complete session: %s",
		    meta_error(m));
	return r == 1 ? o : NULL;
}

/*
 * Bring the mirror to the state the snapshot at R describes: one merged
 * pass over the mirror tree and the snapshot's records.
 */
static void
reconcile(const char *repopath, int snapfd, int gz)
{
	struct walk *w;
	struct walk_ent *e;
	struct meta_reader *m;
	struct rec *o;
	const char *name;
	int c, fd;

	if ((w = walk_open(repopath)) == NULL)
		fatal("walk", repopath);
	m = meta_open(gzr_open(snapfd, gz));
	o = next_record(m);
	if (walk_next(w, &e) != 1 || e->error || o == NULL || o->pathlen != 0)
		errx(EXIT_PERM, "recover: %s: unusable mirror or metadata", repopath);
	push(o, S->repofd);
	e = next_entry(w);
	o = next_record(m);
	while (e != NULL || o != NULL) {
		c = e == NULL ? 1 : o == NULL ? -1 :
		    pathcmp(e->path, e->pathlen, o->path, o->pathlen);
		while (ds_leaving(&dirs, c <= 0 ? e->path : o->path,
		    c <= 0 ? e->pathlen : o->pathlen, 0) != NULL)
			pop();
		if (c < 0 || (c == 0 && rtype_of_mode(e->st.st_mode) != o->type)) {
			/* added by the failed session, a temp file, or the wrong
			 * type now: remove it */
			if (S_ISDIR(e->st.st_mode))
				walk_skip(w);
			if (rmtree_at(e->dirfd, e->name) == -1)
				fatal("remove", e->path);
			e = next_entry(w);
			continue;	/* the record, if any, is met again */
		}
		name = strrchr(o->path, '/') ? strrchr(o->path, '/') + 1 : o->path;
		if (o->type == RT_DIR) {
			if (c > 0 && mkdirat(top()->mfd, name, 0700) == -1)
				fatal("mkdir", o->path);
			if ((fd = subdir(top()->mfd, name)) == -1)
				fatal("open", o->path);
			push(o, fd);
		} else {
			settle(o, name, c == 0);
			mirror_ext(top()->mfd, name, ext_at_r(o), o->path);
		}
		/* a new directory has no mirror entries: the walk skips it */
		if (c == 0)
			e = next_entry(w);
		o = next_record(m);
	}
	while (dirs.depth > 0)
		pop();
	ds_free(&dirs);
	walk_close(w);
	meta_close(m);
}

static void	drop_incs(int, const char *);

static int
drop_inc(void *arg, const struct stampent *e)
{
	int dirfd = *(int *)arg, sub;

	if (e->stamped && e->type != INC_DATA && e->t >= R) {
		if (rmtree_at(dirfd, e->name) == -1)
			fatal("remove increment", e->name);
	} else if ((sub = subdir(dirfd, e->name)) != -1) {
		drop_incs(sub, e->name);
		close(sub);
	}
	return 0;
}

/* Remove every increment stamped at or after R below dirfd. */
static void
drop_incs(int dirfd, const char *what)
{
	if (stamped_each(dirfd, drop_inc, &dirfd) == -1)
		fatal("list", what);
}

/* A data-dir file of the failed session(s), or R's diff or dir increment. */
static int
drop_session_file(void *arg, const struct stampent *e)
{
	(void)arg;
	if (!e->stamped || incname_is(e->name, e->base, MARKER))
		return 0;	/* markers go last */
	if (e->t > R || (e->t == R && ((incname_is(e->name, e->base, INCDIR) &&
	    e->type == INC_DIR) || (incname_is(e->name, e->base, METADATA) &&
	    e->type == INC_DIFF))))
		if (unlinkat(S->datafd, e->name, 0) == -1)
			fatal("remove", e->name);
	return 0;
}

/*
 * Make sure mirror_metadata.<R>.snapshot exists: the failed session may
 * already have turned it into a diff against its own (complete) snapshot.
 */
static int
snapshot_at_r(struct repo *r, int *gz)
{
	struct meta_at *m;
	struct rec *rec;
	struct atomic a;
	struct gzw *w;
	char *name;
	size_t i;
	int rv, fd;

	for (i = 0; i < r->nmeta; i++)
		if (r->meta[i].t == R && r->meta[i].snapshot) {
			*gz = r->meta[i].gz;
			return openat(S->datafd, r->meta[i].name, O_RDONLY |
			    O_NOFOLLOW | O_CLOEXEC);
		}
	*gz = 1;
	if ((m = meta_at_open(r, R)) == NULL)
		errx(EXIT_PERM, "recover: no metadata for the last complete session");
	name = incname_make(METADATA, R, INC_SNAPSHOT, 1, r->style);
	if (atomic_open(&a, S->datafd, name, 0600) == -1)
		fatal("create", name);
	w = gzw_open(dup(a.fd), 6);
	gzw_seekable(w);
	while ((rv = meta_at_next(m, &rec)) != 0) {
		if (rv == -1)
			errx(EXIT_PERM, "recover: metadata: %s", meta_at_error(m));
		if (meta_write(w, rec) == -1)
			fatal("write", name);
	}
	meta_at_close(m);
	if (gzw_close(w, 1) == -1 || atomic_commit(&a) == -1)
		fatal("write", name);
	fd = openat(S->datafd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	free(name);
	return fd;
}

/*
 * R's extended attribute and ACL records, which the mirror's copies are
 * given back (as root, as snap gave them); none when R has none.
 */
static void
open_attrs(void)
{
	char *name;

	if (!S->root)
		return;
	ids = idmap_new(0);
	if ((eaf = recfile_at(S->datafd, EAFILE, R, &name)) == NULL &&
	    errno != ENOENT)
		fatal("open", name);
	free(name);
	if ((aclf = recfile_at(S->datafd, ACLFILE, R, &name)) == NULL &&
	    errno != ENOENT)
		fatal("open", name);
	free(name);
}

/*
 * Undo the interrupted session of repository r (two markers or more).
 * Exits on failures that leave nothing sensible to do.
 */
void
regress(struct session *s, struct repo *r, const char *repopath)
{
	char ts[TIMESTR_LEN];
	size_t i;
	int snapfd, gz;

	S = s;
	R = r->markers[0];
	if (s->verbose) {
		timestr_format(R, ts);
		fprintf(stderr, "snap: rolling back to session %s\n", ts);
	}
	if ((snapfd = snapshot_at_r(r, &gz)) == -1)
		fatal("open metadata of", "the last complete session");
	if (stamped_each(S->datafd, drop_session_file, NULL) == -1)
		fatal("list", DATADIR);
	open_attrs();
	reconcile(repopath, snapfd, gz);
	recfile_close(eaf);
	recfile_close(aclf);
	idmap_free(ids);
	eaf = aclf = NULL;
	if ((snapfd = subdir(S->datafd, INCDIR)) != -1) {
		drop_incs(snapfd, DATADIR "/" INCDIR);
		close(snapfd);
	}
	if ((snapfd = subdir(S->datafd, LONGDIR)) != -1) {
		drop_incs(snapfd, DATADIR "/" LONGDIR);
		close(snapfd);
	}
	if (syncfs(S->repofd) == -1)
		fatal("sync", repopath);
	/* by time, not name: a marker may be spelt in any style or zone */
	for (i = 1; i < r->nmarkers; i++)
		if (stamped_unlink(S->datafd, MARKER, r->markers[i],
		    INC_DATA) == -1) {
			timestr_format(r->markers[i], ts);
			fatal("remove the marker of", ts);
		}
	if (sync_fd(S->datafd) == -1)
		fatal("sync", DATADIR);
	if (repo_scan(r) == -1)
		fatal("read", DATADIR);
}
