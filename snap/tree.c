/*
 * The heart of snap: one pass that merges the sorted source walk with the
 * previous metadata snapshot (the index of the mirror), and for every path
 * updates the mirror, writes the reverse increment stamped with the
 * previous session's time, and streams the new metadata snapshot and the
 * reverse metadata diff.  The mirror is not stat'ed: unchanged files
 * (by type, size, mtime, mode, owner, links) are not touched at all; only
 * a symlink's mirror entry is, for the time the format does not keep
 * (link_unchanged), which spares reading the source link.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "delta.h"
#include "exitcode.h"
#include "gz.h"
#include "hlink.h"
#include "incq.h"
#include "io.h"
#include "node.h"
#include "pathname.h"
#include "prefetch.h"
#include "progress.h"
#include "repo.h"
#include "select.h"
#include "snap.h"
#include "tree.h"
#include "walk.h"
#include "xalloc.h"

#define LONGNAME	205	/* longer names get AlternateIncrementName */

char *
idname(uint64_t id, int group)
{
	static struct { uint64_t id; int group; char *name; } cache[64];
	static size_t n;
	const char *name = NULL;
	struct passwd *pw;
	struct group *gr;
	size_t i;
	const unsigned char *p;

	for (i = 0; i < n; i++)
		if (cache[i].id == id && cache[i].group == group)
			return cache[i].name;
	if (group) {
		if ((gr = getgrgid((gid_t)id)) != NULL)
			name = gr->gr_name;
	} else if ((pw = getpwuid((uid_t)id)) != NULL)
		name = pw->pw_name;
	/* the format needs a printable ASCII word; anything else is ":" */
	for (p = (const unsigned char *)name; p && *p; p++)
		if (*p <= ' ' || *p > '~')
			name = NULL;
	if (name != NULL && *name == '\0')
		name = NULL;
	if (n == sizeof cache / sizeof cache[0])
		n = 0;
	i = n++;
	free(cache[i].name);
	cache[i].id = id;
	cache[i].group = group;
	cache[i].name = name ? xstrdup(name) : NULL;
	return cache[i].name;
}

static char *
dupnull(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

struct frame *
top(struct tree *t)
{
	return ds_top(&t->dirs);
}

struct frame *
up(struct tree *t, struct frame *f)
{
	return f == ds_at(&t->dirs, 0) ? NULL : f - 1;
}

/*
 * A record of the new snapshot.  The old record, unchanged, is copied as
 * it was read: most records of most runs, and formatting them again
 * cost more than parsing them.
 */
static void
put_snap(struct tree *t, const struct rec *r)
{
	const char *text;
	size_t len;
	int rv;

	if (t->old != NULL && (text = meta_text(t->old, r, &len)) != NULL)
		rv = gzw_mark(t->s->snap, r->path, r->pathlen) == -1 ? -1 :
		    gzw_write(t->s->snap, text, len);
	else
		rv = meta_write(t->s->snap, r);
	if (rv == -1)
		snap_fatal("write", "mirror_metadata snapshot");
}

/* The reverse diff for the previous session: old record where changed. */
static void
put_diff(struct tree *t, const struct rec *old, const struct rec *new,
    const char *path, size_t pathlen)
{
	struct rec none;

	if (t->s->diff == NULL)
		return;
	if (old == NULL) {
		memset(&none, 0, sizeof none);
		none.path = (char *)path;
		none.pathlen = pathlen;
		none.type = RT_NONE;
		old = &none;
	} else if (new != NULL && rec_identical(old, new))
		return;
	if (meta_write(t->s->diff, old) == -1)
		snap_fatal("write", "mirror_metadata diff");
}

static void
push(struct tree *t, const char *path, size_t pathlen, const struct rec *o,
    const struct rec *n)
{
	struct frame *f, *parent;

	f = ds_push(&t->dirs, path, pathlen);
	parent = up(t, f);
	f->name = strrchr(f->d.path, '/') ? strrchr(f->d.path, '/') + 1 : f->d.path;
	f->mfd = parent == NULL ? t->s->repofd : -1;
	f->ifd = -1;
	f->keepold = parent ? parent->keepold : 0;
	if ((f->has_old = o != NULL))
		rec_copy(&f->old, o);
	if ((f->has_new = n != NULL))
		rec_copy(&f->new, n);
	/* a directory that did not exist, or was no directory, has its
	 * increment (.missing, .snapshot) already */
	f->own = o == NULL || o->type != RT_DIR;
	f->fresh = parent == NULL ? t->s->first : n != NULL && (o == NULL ||
	    o->type != RT_DIR);
}

/* Finish the directory on top: attributes after children, or removal. */
static void
pop(struct tree *t)
{
	struct frame *f = top(t), *parent = up(t, f);

	if (f->has_old && (!f->has_new || f->deleted || !rec_same(&f->old,
	    &f->new)))
		ensure_own(t, f);
	/* after work queued on its entries, the directory's turn is queued */
	if (f->deleted) {
		if (f->mfd != -1)
			close(f->mfd);
		if (f->queued) {
			incq_rmdir(mdir(t, parent), f->name, f->pending,
			    f->d.path);
			parent->queued = 1;
		} else {
			if (unlinkat(mdir(t, parent), f->name,
			    AT_REMOVEDIR) == -1 &&
			    rmtree_at(mdir(t, parent), f->name) == -1)
				snap_fatal("remove mirror directory", f->d.path);
			if (f->pending != NULL && renameat(mdir(t, parent),
			    f->pending, mdir(t, parent), f->name) == -1)
				snap_fatal("rename into mirror", f->d.path);
		}
	} else {
		/* untouched and unchanged: its attributes are right already */
		if (f->has_new && f->queued)
			incq_dir(mdir(t, f), &f->new, t->s->root);
		else if (f->has_new && (f->mfd != -1 || !f->has_old ||
		    !rec_same(&f->old, &f->new)))
			mirror_attrs(t, mdir(t, f), &f->new);
		if (f->ext != NULL) {
			incq_ext(parent != NULL ? mdir(t, parent) : t->s->repofd,
			    parent != NULL ? f->name : ".", f->ext, f->d.path);
			f->ext = NULL;
		}
		if (parent != NULL && f->mfd != -1)
			close(f->mfd);
	}
	nodeext_free(f->ext);
	if (f->ifd != -1)
		close(f->ifd);
	free(f->pending);
	rec_free(&f->old);
	rec_free(&f->new);
	ds_drop(&t->dirs);
}

/* Pop every directory that is not an ancestor of path. */
static void
unwind(struct tree *t, const char *path, size_t len)
{
	while (ds_leaving(&t->dirs, path, len, 0) != NULL)
		pop(t);
}

/* The new record of source entry e, with names and long-name number. */
static void
make_new(struct tree *t, struct rec *n, struct walk_ent *e, const struct rec *o)
{
	const char *name = e->pathlen ? e->name : "";

	rec_free(n);
	n->path = xmemdup(e->path, e->pathlen + 1);
	n->pathlen = e->pathlen;
	rec_from_stat(n, &e->st);
	n->uname = dupnull(idname(n->uid, 0));
	n->gname = dupnull(idname(n->gid, 1));
	if (n->type == RT_SYM) {
		/* the target is read when needed; compare by old one for now */
		n->symdata = xstrdup("");
		n->symlen = 0;
	}
	if (o != NULL && o->altinc != NULL)
		n->altinc = xstrdup(o->altinc);
	else if (strlen(name) > LONGNAME)
		n->altinc = new_altname(t);
}

/* 0, or -1 with *gone set when the symlink was deleted since listed. */
static int
read_symlink(struct tree *t, struct walk_ent *e, struct rec *n, int *gone)
{
	char *target = xmalloc((size_t)e->st.st_size + 2);
	ssize_t len;

	len = e->dirfd == -1 ? remote_readlink(e, target,
	    (size_t)e->st.st_size + 1) : readlinkat(e->dirfd, e->name, target,
	    (size_t)e->st.st_size + 1);
	if (len == -1 || len > e->st.st_size) {
		if (len == -1 && errno == ENOENT)
			*gone = 1;
		else
			report(t->s, "readlink", e->path, len == -1 ? errno :
			    ESTALE);
		free(target);
		return -1;
	}
	target[len] = '\0';
	free(n->symdata);
	n->symdata = target;
	n->symlen = (size_t)len;
	return 0;
}

/*
 * A regular file whose content is what the mirror holds: the mirror file
 * only takes the new attributes, and the increment is a trivial diff.
 */
static const struct rec *
same_content(struct tree *t, struct frame *f, const char *name,
    const char *path, const struct rec *o, struct rec *n)
{
	int fd;

	t->s->st.chgfiles++;
	fd = openat(mdir(t, f), name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1) {
		report(t->s, "mirror file missing", path, errno);
		return o;
	}
	inc_trivial(t, f, name, o);
	mirror_attrs(t, fd, n);
	close(fd);
	return n;
}

/*
 * Path o is gone from the source: keep its last version as an increment
 * and take it out of the mirror (a directory at pop, after its
 * contents).  Returns NULL, the new snapshot's record for it.
 */
static const struct rec *
gone_from_source(struct tree *t, struct frame *f, const char *name,
    const struct rec *o)
{
	if (o == NULL)
		return NULL;
	t->s->st.delfiles++;
	if (o->type == RT_REG)
		t->s->st.delsize += o->size;
	if (o->type == RT_DIR) {
		push(t, o->path, o->pathlen, o, NULL);
		top(t)->deleted = 1;
		return NULL;
	}
	replace_old(t, f, name, o, NULL, o->path);
	return NULL;
}

/*
 * The new state of a path could not be read (reported): its old record
 * stays, and for a directory, everything below it, in the metadata as
 * in the mirror, so no later session finds one without the other.
 */
static const struct rec *
keep_old(struct tree *t, const struct rec *o)
{
	t->kept = 1;
	if (o != NULL && o->type == RT_DIR) {
		push(t, o->path, o->pathlen, o, o);
		top(t)->keepold = 1;
	}
	return o;
}

/*
 * Source entry e was deleted between its listing and its reading: that
 * is its state now, as if it had not been listed (quiet but for -v).
 */
static const struct rec *
vanished(struct tree *t, struct frame *f, const char *name, struct walk_ent *e,
    const struct rec *o, const struct rec *n)
{
	if (t->s->verbose) {
		progress_clear();
		fprintf(stderr, "snap: %s: deleted during the backup\n",
		    shown(e->path));
	}
	t->s->st.srcfiles--;
	if (n->type == RT_REG)
		t->s->st.srcsize -= n->size;
	return gone_from_source(t, f, name, o);
}

/*
 * Source entry e is a directory that was not one, or not the same one,
 * in the last session (old record o, NULL if new): the mirror gets it
 * now, its attributes at pop.
 */
static const struct rec *
new_dir(struct tree *t, struct frame *f, const char *name, struct walk_ent *e,
    const struct rec *o, struct rec *n)
{
	if (o != NULL && o->type == RT_DIR) {
		/* attributes changed: the increment is made at pop */
		t->s->st.chgfiles++;
		push(t, e->path, e->pathlen, o, n);
		return n;
	}
	if (o == NULL) {
		inc_missing(t, f, name, n->altinc);
		t->s->st.newfiles++;
	} else {
		replace_old(t, f, name, o, NULL, e->path);
		t->s->st.chgfiles++;
		if (f->queued)
			incq_drain();	/* the name must be free now */
	}
	if (mkdirat(mdir(t, f), name, 0700) == -1)
		snap_fatal("create mirror directory", e->path);
	push(t, e->path, e->pathlen, o, n);
	return n;
}

/*
 * The new version of a changed non-directory (at temp name tmp, or its
 * own name when direct) replaces the old one o (NULL if new), whose
 * last version becomes the increment: a delta against sig for a file
 * that stays a file, else a snapshot.  sig and tmp are taken.
 */
static const struct rec *
replace(struct tree *t, struct frame *f, const char *name, const char *path,
    const struct rec *o, struct rec *n, char *tmp, struct sigmaker *sig,
    int direct, int still)
{
	if (o == NULL) {
		t->s->st.newfiles++;
		t->s->st.newsize += n->size;
		inc_missing(t, f, name, n->altinc);
		sig_free(sig);
		if (!direct)
			replace_now(t, f, name, tmp, path);
		free(tmp);
		return n;
	}
	t->s->st.chgfiles++;
	t->s->st.chgsrcsize += n->size;
	if (o->type == RT_REG)
		t->s->st.chgmirrorsize += o->size;
	if (o->type == RT_DIR) {
		/* the directory and its contents go first, at pop */
		push(t, path, strlen(path), o, NULL);
		top(t)->deleted = 1;
		top(t)->pending = tmp;
		sig_free(sig);
		return n;
	}
	if (o->type == RT_REG && n->type == RT_REG) {
		if (sig == NULL)
			sig = sig_of(t, f, tmp, n->size);
		replace_diff(t, f, name, o, sig, tmp, path, still, n);
	} else {
		sig_free(sig);
		replace_old(t, f, name, o, tmp, path);
	}
	free(tmp);
	return n;
}

/* Are dirfd/a and dirfd/b the same file (two hard links)? */
static int
same_node(int dirfd, const char *a, const char *b)
{
	struct stat x, y;

	return fstatat(dirfd, a, &x, AT_SYMLINK_NOFOLLOW) == 0 &&
	    fstatat(dirfd, b, &y, AT_SYMLINK_NOFOLLOW) == 0 &&
	    x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

/* A new version not kept: its temp file, or a delta kept to apply. */
static void
discard(struct tree *t, struct frame *f, const char *tmp, int still)
{
	if (still != -1)
		close(still);	/* the mirror file was not touched */
	else
		unlinkat(mdir(t, f), tmp, 0);
}

/*
 * Source entry e, a non-directory, may have a new version (old record
 * o, NULL if new; racy: o's mtime is too recent to trust): bring it
 * into the mirror, then keep it or, when its content turns out the
 * same, only its attributes.
 */
static const struct rec *
new_version(struct tree *t, struct frame *f, const char *name,
    struct walk_ent *e, const struct rec *o, struct rec *n, int racy)
{
	struct sigmaker *sig = NULL;
	char *tmp;
	int direct, gone = 0, still = -1;

	/* the new version goes to a temp name first, or straight to its
	 * name in a directory this session made */
	direct = o == NULL && f->fresh;
	if (n->type == RT_REG)
		tmp = bring_reg(t, f, e, n, &sig, o != NULL &&
		    o->type == RT_REG, &direct, &gone, &still);
	else
		tmp = bring_node(t, f, e, n, &direct);
	if (tmp == NULL)
		return gone ? vanished(t, f, name, e, o, n) : keep_old(t, o);
	if (!direct && o != NULL && o->type == RT_REG && n->type == RT_REG &&
	    n->nlink > 1 && same_node(mdir(t, f), tmp, name)) {
		/* linked to its group's copy, which its mirror file is
		 * already (renaming one link over the other does nothing) */
		unlinkat(mdir(t, f), tmp, 0);
		sig_free(sig);
		free(tmp);
		return rec_same(o, n) ? o : same_content(t, f, name, e->path,
		    o, n);
	}
	if (racy && rec_same(o, n) && o->sha1[0] != '\0' &&
	    strcmp(o->sha1, n->sha1) == 0) {
		/* rewritten in the same second as the last run, but the
		 * same (a later hard-link member records no digest: its
		 * new copy is its group's, so it always replaces) */
		discard(t, f, tmp, still);
		sig_free(sig);
		free(tmp);
		if (o->nlink > 1 && hfind(t, o->devloc, o->ino) == NULL)
			hadd(t, o->devloc, o->ino, e->path);
		return o;
	}
	if (o != NULL && o->type == RT_REG && n->type == RT_REG &&
	    o->nlink <= 1 && n->nlink <= 1 && o->size == n->size &&
	    o->sha1[0] != '\0' && strcmp(o->sha1, n->sha1) == 0) {
		/* touched, or rewritten with the same bytes: keep the copy */
		discard(t, f, tmp, still);
		free(tmp);
		return same_content(t, f, name, e->path, o, n);
	}
	if (n->type == RT_REG && n->nlink > 1 && hfind(t, n->devloc,
	    n->ino) == NULL)
		hadd(t, n->devloc, n->ino, e->path);
	return replace(t, f, name, e->path, o, n, tmp, sig, direct, still);
}

/*
 * One path: old record o (NULL if new), source entry e (NULL if gone).
 * Returns the record for the new snapshot (NULL: the path is gone).
 */
static const struct rec *
process(struct tree *t, const struct rec *o, struct walk_ent *e, struct rec *n)
{
	struct frame *f = top(t);
	const char *name = e ? e->name : (o->pathlen ? strrchr(o->path, '/') ?
	    strrchr(o->path, '/') + 1 : o->path : "");
	int racy, gone = 0, stamped = 0;

	if (e == NULL) {
		/* gone from the source (or excluded now) */
		if (f != NULL && f->keepold)
			return keep_old(t, o);
		return gone_from_source(t, f, name, o);
	}
	make_new(t, n, e, o);
	/*
	 * SFTP version 3 carries times as 32 unsigned bits: a time before
	 * 1970 arrives 2^32 s late (after 2038).  The time recorded before
	 * for the same 32 bits is the real one.
	 */
	if (t->s->fuse && n->mtime > INT32_MAX) {
		t->s->wrapped++;
		if (o != NULL && o->has_mtime && o->mtime < 0 &&
		    (uint32_t)o->mtime == (uint32_t)n->mtime)
			n->mtime = o->mtime;
	}
	t->s->st.srcfiles++;
	if (e->pathlen == 0) {
		/* the root: always a directory (checked before) */
		push(t, "", 0, o, n);
		if (o != NULL && !rec_same(o, n))
			t->s->st.chgfiles++;
		return n;
	}
	if (n->type == RT_REG)
		t->s->st.srcsize += n->size;
	if (n->type == RT_SYM && link_unchanged(t, f, name, e, o, &stamped)) {
		free(n->symdata);
		n->symdata = xstrdup(o->symdata);
		n->symlen = o->symlen;
	} else if (n->type == RT_SYM) {
		if (read_symlink(t, e, n, &gone) == -1)
			return gone ? vanished(t, f, name, e, o, n) :
			    keep_old(t, o);
		/* the same link as before: stamp it for the next session */
		if (!stamped && o != NULL && o->type == RT_SYM &&
		    o->symlen == n->symlen &&
		    memcmp(o->symdata, n->symdata, n->symlen) == 0)
			link_stamp(mdir(t, f), name, &e->st);
	}

	/* modified in or after the last session's first second: re-read */
	racy = o != NULL && o->type == RT_REG && o->mtime >= t->s->prev;
	if (o != NULL && rec_same(o, n) && !racy) {
		if (o->type == RT_DIR)
			push(t, e->path, e->pathlen, o, o);
		else if (o->type == RT_REG && o->nlink > 1 &&
		    hfind(t, o->devloc, o->ino) == NULL)
			hadd(t, o->devloc, o->ino, e->path);
		return o;
	}
	if (n->type == RT_DIR)
		return new_dir(t, f, name, e, o, n);
	/*
	 * Only permissions or owner changed (same size and mtime, not racy,
	 * no hard links): the content is not read, the mirror file keeps it.
	 */
	if (o != NULL && o->type == RT_REG && n->type == RT_REG && !racy &&
	    o->nlink <= 1 && n->nlink <= 1 && o->size == n->size &&
	    o->mtime == n->mtime) {
		memcpy(n->sha1, o->sha1, sizeof n->sha1);
		return same_content(t, f, name, e->path, o, n);
	}
	return new_version(t, f, name, e, o, n, racy);
}

/*
 * The extended attributes and ACLs of r (read from e, NULL: copied):
 * the session's records, and as root the mirror entry's, queued after
 * the work already queued that may replace that entry; a directory's
 * wait for its pop, after its entries are made (a default ACL set
 * before would be taken by them).
 */
static void
entry_attrs(struct tree *t, const struct rec *r, struct walk_ent *e,
    int fresh)
{
	struct frame *f = top(t), *dir = NULL;
	struct nodeext *ext;
	const char *name;
	int dflt;

	/* a directory just entered is on top: its parent holds it */
	if (r->type == RT_DIR && f != NULL && f->d.len == r->pathlen &&
	    !f->deleted) {
		dir = f;
		f = up(t, f);
	}
	ext = attrs_entry(t->s, r->path, r->pathlen, r->type, e, fresh,
	    f != NULL && f->dacl, &dflt);
	if (dir != NULL) {
		dir->dacl = dflt;
		dir->ext = ext;
		return;
	}
	if (ext == NULL)
		return;
	name = strrchr(r->path, '/') ? strrchr(r->path, '/') + 1 : r->path;
	incq_ext(mdir(t, f), name, ext, r->path);
}

/*
 * Is source entry e backed up (SEL_YES, SEL_NO, SEL_SCAN)?  Never
 * rdiff-backup-data nor the repository.
 */
static int
backed_up(struct session *s, struct walk_ent *e, struct select *sel)
{
	if (e->depth == 1 && strcmp(e->name, DATADIR) == 0)
		return SEL_NO;
	if (S_ISDIR(e->st.st_mode) && e->st.st_dev == s->repodev &&
	    e->st.st_ino == s->repoino)
		return SEL_NO;
	return select_test(sel, e->path, e->pathlen, e->st.st_mode,
	    S_ISREG(e->st.st_mode) ? (uint64_t)e->st.st_size : 0,
	    e->st.st_dev, e->dirfd, e->name);
}

/* The scout's test, with its own copy of the rules; it enters scanned
 * directories too. */
static int
scout_keep(struct walk_ent *e, void *arg)
{
	struct session *s = arg;

	return backed_up(s, e, s->scoutsel) != SEL_NO;
}

/*
 * Will snap read the source file rel, whose stat is st?  A small regular
 * file, in a first session, or unless the mirror holds a file of its
 * size and modification time (what snap compares, through the previous
 * metadata) from before the last session (racy in process()).
 */
int
snap_wants(struct session *s, const char *rel, const struct stat *st)
{
	struct stat mst;

	if (!S_ISREG(st->st_mode) || st->st_size > PREFETCH_MAX)
		return 0;
	if (s->first || rel[0] == '\0')
		return 1;
	return fstatat(s->repofd, rel, &mst, AT_SYMLINK_NOFOLLOW) == -1 ||
	    !S_ISREG(mst.st_mode) || mst.st_size != st->st_size ||
	    mst.st_mtime != st->st_mtime || (int64_t)mst.st_mtime >= s->prev;
}

/* The scout's and snap's own test of e: snap_wants. */
static int
scout_want(struct walk_ent *e, void *arg)
{
	return snap_wants(arg, e->path, &e->st);
}

static void
pend_free(struct pending *p)
{
	free(p->path);
	free(p->name);
	free(p->link);
	xattrs_free(&p->xa);
}

/* Remember directory e, which a rule only scans. */
static void
pend_push(struct tree *t, const struct walk_ent *e)
{
	struct pending *p;
	size_t i;

	if (t->npend == t->cappend) {
		t->cappend = t->cappend ? t->cappend * 2 : 8;
		t->pend = xreallocarray(t->pend, t->cappend, sizeof *t->pend);
	}
	p = &t->pend[t->npend++];
	memset(p, 0, sizeof *p);
	p->path = xmemdup(e->path, e->pathlen + 1);
	p->pathlen = e->pathlen;
	p->name = xstrdup(e->name);
	p->link = e->link ? xstrdup(e->link) : NULL;
	p->dirfd = e->dirfd;
	p->depth = e->depth;
	p->st = e->st;
	p->xerr = e->xerr;
	if ((p->hasxa = e->xattrs != NULL))
		for (i = 0; i < e->xattrs->n; i++)
			xattrs_put(&p->xa, e->xattrs->a[i].name,
			    e->xattrs->a[i].val, e->xattrs->a[i].len);
}

/*
 * e, once the scanned directories above it are handed out (in t->pe,
 * one per call): something below them is backed up after all.
 */
static struct walk_ent *
hand_out(struct tree *t, struct walk_ent *e)
{
	struct pending *p;

	if (t->held == NULL && t->npend == 0)
		return e;
	t->held = e;
	if (t->pendout == t->npend) {
		while (t->npend > 0)
			pend_free(&t->pend[--t->npend]);
		t->pendout = 0;
		t->held = NULL;
		return e;
	}
	p = &t->pend[t->pendout++];
	memset(&t->pe, 0, sizeof t->pe);
	t->pe.path = p->path;
	t->pe.pathlen = p->pathlen;
	t->pe.name = p->name;
	t->pe.link = p->link;
	t->pe.dirfd = p->dirfd;
	t->pe.depth = p->depth;
	t->pe.st = p->st;
	t->pe.xattrs = p->hasxa ? &p->xa : NULL;
	t->pe.xerr = p->xerr;
	return &t->pe;
}

/* Is path below the handed-out directory that could not be entered? */
static int
skipped(struct tree *t, const char *path, size_t len)
{
	if (t->skip == NULL)
		return 0;
	if (len > t->skiplen && memcmp(path, t->skip, t->skiplen) == 0 &&
	    path[t->skiplen] == '/')
		return 1;
	free(t->skip);
	t->skip = NULL;
	return 0;
}

static struct walk_ent *
next_src(struct tree *t, struct walk *w)
{
	struct walk_ent *e;
	struct frame *f;
	int v;

	for (;;) {
		if (t->held != NULL) {
			e = hand_out(t, t->held);
			if (e == &t->pe || !skipped(t, e->path, e->pathlen))
				return e;
			if (S_ISDIR(e->st.st_mode))
				walk_skip(w);
			continue;
		}
		if (walk_next(w, &e) != 1)
			return NULL;
		/* scanned directories left with nothing kept below */
		while (t->npend > 0 && !path_below(e->path, e->pathlen,
		    t->pend[t->npend - 1].path, t->pend[t->npend - 1].pathlen))
			pend_free(&t->pend[--t->npend]);
		if (skipped(t, e->path, e->pathlen)) {
			if (S_ISDIR(e->st.st_mode))
				walk_skip(w);
			continue;
		}
		if (e->listerr && e->error == ENOENT)
			continue;	/* deleted since: nothing below */
		if (e->listerr) {
			report(t->s, "list", e->path, e->error);
			if ((f = top(t)) != NULL && f->d.len == e->pathlen &&
			    memcmp(f->d.path, e->path, e->pathlen) == 0)
				f->keepold = 1;
			continue;
		}
		if (e->error == ENOENT && e->pathlen > 0)
			continue;	/* deleted since it was listed */
		if (e->error) {
			/* reported, and merged: an old version is kept */
			report(t->s, "stat", e->path, e->error);
			if (e->pathlen == 0)
				return NULL;
			return hand_out(t, e);
		}
		if ((v = backed_up(t->s, e, t->s->sel)) == SEL_NO) {
			walk_skip(w);
			continue;
		}
		/* its rules are a copy of these: never, but never silently */
		if (S_ISDIR(e->st.st_mode) && prefetch_fed_skipped())
			errx(EXIT_TEMP, "%s: the scout passed over a directory "
			    "snap backs up", e->path);
		if (v == SEL_SCAN) {
			pend_push(t, e);
			continue;
		}
		return hand_out(t, e);
	}
}

/*
 * The record after prev (NULL at the start) in the previous metadata, or
 * NULL at its end.  A record out of order, such as a second record for a
 * path (an earlier snap let a server's duplicate names through), is
 * passed over: merged twice it would delete the path from the mirror
 * while the metadata kept it.
 */
static struct rec *
next_old(struct tree *t, struct meta_reader *m, struct rec *prev)
{
	struct rec *o;
	int r;

	if (prev != NULL) {
		if (t->lastcap < prev->pathlen + 1) {
			t->lastcap = prev->pathlen + 1;
			t->last = xrealloc(t->last, t->lastcap);
		}
		memcpy(t->last, prev->path, prev->pathlen + 1);
		t->lastlen = prev->pathlen;
	}
	for (;;) {
		if ((r = meta_next(m, &o)) == -1)
			errx(EXIT_PERM, "previous metadata: %s", meta_error(m));
		if (r == 0)
			return NULL;
		if (prev == NULL || pathcmp(o->path, o->pathlen, t->last,
		    t->lastlen) > 0)
			return o;
		if (t->s->verbose)
			warnx("previous metadata: %s listed twice or out of "
			    "order; the first record is kept", shown(o->path));
	}
}

int
tree_run(struct session *s)
{
	struct walk *w;
	struct walk_ent *e;
	struct meta_reader *m = NULL;
	struct rec *o = NULL, n;
	const struct rec *out;
	const char *msg;
	uint64_t nfailed;
	struct tree tree = { .s = s, .longfd = -1, .la_fd = -1,
	    .dirs = DIRSTACK_INIT(struct frame) }, *t = &tree;
	int c;

	memset(&n, 0, sizeof n);
	if (s->scoutsel != NULL)
		t->scouting = prefetch_scout(s->src, scout_keep, scout_want,
		    s);
	if (s->agent)
		w = remote_walk();
	else if ((w = prefetch_feed()) == NULL)
		w = walk_open(s->src);
	if (w == NULL)
		err(EXIT_TEMP, "walk %s", s->src);
	t->walk = w;
	e = next_src(t, w);
	if (e == NULL || e->pathlen != 0 || !S_ISDIR(e->st.st_mode))
		errx(EXIT_PERM, "%s: not a readable directory", s->src);
	s->srcdev = e->st.st_dev;
	if (s->oldmeta != -1) {
		struct gzr *in = gzr_open(s->oldmeta, s->oldmeta_gz);

		if (in == NULL)
			err(EXIT_TEMP, "read previous metadata");
		gzr_background(in);
		t->old = m = meta_open(in);
		o = next_old(t, m, NULL);
	}
	incq_start();
	while (e != NULL || o != NULL) {
		if ((msg = incq_error()) != NULL)
			errx(EXIT_TEMP, "%s", msg);
		if (e == NULL)
			c = 1;
		else if (o == NULL)
			c = -1;
		else
			c = pathcmp(e->path, e->pathlen, o->path, o->pathlen);
		if (c <= 0)
			unwind(t, e->path, e->pathlen);
		else
			unwind(t, o->path, o->pathlen);
		if (c > 0 && t->dirs.depth == 0)
			errx(EXIT_PERM, "previous metadata: %s outside the tree",
			    shown(o->path));
		if (c <= 0 && e->error) {
			/* unreadable now (a dying mount, a race): keep it */
			if (c == 0) {
				put_snap(t, keep_old(t, o));
				entry_attrs(t, o, NULL, 0);
				o = next_old(t, m, o);
			}
			e = next_src(t, w);
			continue;
		}
		if (c <= 0 && t->scouting && scout_want(e, s))
			prefetch_passed(&e->st);
		t->kept = 0;
		out = process(t, c >= 0 ? o : NULL, c <= 0 ? e : NULL, &n);
		if (c <= 0 && S_ISDIR(e->st.st_mode) && (top(t) == NULL ||
		    top(t)->d.len != e->pathlen || top(t)->deleted)) {
			if (e != &t->pe)
				walk_skip(w);
			else if (t->skip == NULL) {
				/* what is below it was walked into already */
				t->skip = xmemdup(e->path, e->pathlen + 1);
				t->skiplen = e->pathlen;
			}
		}
		if (out != NULL) {
			put_snap(t, out);
			entry_attrs(t, out, c <= 0 && !t->kept ? e : NULL,
			    c < 0 || out != o);
		}
		progress_add(1, 0);
		put_diff(t, c >= 0 ? o : NULL, out, c <= 0 ? e->path : o->path,
		    c <= 0 ? e->pathlen : o->pathlen);
		if (c <= 0)
			e = next_src(t, w);
		if (c >= 0)
			o = next_old(t, m, o);
	}
	while (t->dirs.depth > 0)
		pop(t);
	t->s->st.incsize += incq_finish();
	if ((msg = incq_error()) != NULL)
		errx(EXIT_TEMP, "%s", msg);
	if (s->wrapped > 0)
		warnx("%s: %" PRIu64 " entries have times after 2038, which is "
		    "how SFTP shows times before 1970; those recorded so before "
		    "are kept, the others recorded as shown", s->src,
		    s->wrapped);
	if ((msg = incq_ext_error(&nfailed, &c)) != NULL && c == ENOTSUP)
		warnx("the repository's filesystem cannot hold extended "
		    "attributes or ACLs: the mirror copies have none, the "
		    "records of the session keep them");
	else if (msg != NULL)
		warnx("%" PRIu64 " mirror entries kept old extended attributes "
		    "or ACLs (the records of the session have them right); "
		    "the first: %s", nfailed, msg);
	progress_clear();
	finish_longnames(t);
	walk_close(w);
	meta_close(m);
	rec_free(&n);
	ds_free(&t->dirs);
	hl_free(&t->links);
	free(t->la_name);
	free(t->last);
	if (t->longfd != -1)
		close(t->longfd);
	return 0;
}
