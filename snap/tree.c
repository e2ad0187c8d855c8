/*
 * The heart of snap: one pass that merges the sorted source walk with the
 * previous metadata snapshot (the index of the mirror), and for every path
 * updates the mirror, writes the reverse increment stamped with the
 * previous session's time, and streams the new metadata snapshot and the
 * reverse metadata diff.  The mirror is never stat'ed: unchanged files
 * (by type, size, mtime, mode, owner, links) are not touched at all.
 */
#define _GNU_SOURCE	/* O_NOATIME: Linux, not POSIX */
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"
#include "copy.h"
#include "delta.h"
#include "exitcode.h"
#include "gz.h"
#include "hlink.h"
#include "io.h"
#include "meta.h"
#include "node.h"
#include "pathname.h"
#include "incq.h"
#include "prefetch.h"
#include "progress.h"
#include "repo.h"
#include "select.h"
#include "snap.h"
#include "walk.h"
#include "xalloc.h"

#define LONGNAME	205	/* longer names get AlternateIncrementName */

struct frame {
	char		*path;		/* relative path, "" for the root */
	size_t		 pathlen;
	const char	*name;		/* last component, inside path */
	int		 mfd;		/* mirror directory */
	int		 ifd;		/* increments directory, -1 until needed */
	int		 own;		/* own increment written, or not needed */
	int		 deleted;	/* the directory goes away at pop */
	int		 keepold;	/* listing failed: keep the old children */
	int		 has_old, has_new;
	struct rec	 old, new;
	char		*pending;	/* new entry to rename over the dir */
	int		 queued;	/* background work changes the dir */
	int		 fresh;		/* created empty by this session */
};

/* One session's merge: everything tree_run's functions share. */
struct tree {
	struct session	*s;
	struct meta_reader *old;	/* the previous snapshot */
	struct walk	*walk;		/* the source walk, to look ahead in */
	int		 scouting;	/* the prefetch scout runs */
	struct frame	*stack;		/* the directories open, root first */
	size_t		 depth, stackcap;
	struct hlinks	*links;		/* mirror paths of hard-link groups */
	int		 longfd;	/* long_filename_data, or -1 */
	uint64_t	 nextfree;	/* its next number; 0: not read yet */
	int		 nextfree_dirty;
	int		 la_fd;		/* read-ahead queued up to la_name */
	char		*la_name;	/* ... in la_fd */
	char		*last;		/* the last old record's path */
	size_t		 lastlen, lastcap;
};

#define LOOKAHEAD	256	/* names looked at ahead in the directory */
#define INFLIGHT	8	/* files queued per look */

static void
fatal(const char *what, const char *path)
{
	err(EXIT_TEMP, "%s %s", what, shown(path));
}

/* User and group names, cached; NULL for ids without a usable name. */
static char *
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

/* Records equal in every field, as rdiff-backup compares them for diffs. */
static int
identical(const struct rec *a, const struct rec *b)
{
	return rec_same(a, b) && strcmp(a->sha1, b->sha1) == 0 &&
	    (a->uname == NULL) == (b->uname == NULL) &&
	    (a->gname == NULL) == (b->gname == NULL) &&
	    (a->altinc == NULL ? b->altinc == NULL :
	    b->altinc != NULL && strcmp(a->altinc, b->altinc) == 0);
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
		rv = gzw_write(t->s->snap, text, len);
	else
		rv = meta_write(t->s->snap, r);
	if (rv == -1)
		fatal("write", "mirror_metadata snapshot");
}

/* The reverse diff for the previous session: old record where changed. */
static void
put_diff(struct tree *t, const struct rec *old, const struct rec *new,
    const char *path,
    size_t pathlen)
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
	} else if (new != NULL && identical(old, new))
		return;
	if (meta_write(t->s->diff, old) == -1)
		fatal("write", "mirror_metadata diff");
}

/* Names ending in these are stored uncompressed, as rdiff-backup does. */
static int
compressible(const char *name)
{
	static const char *ext[] = {
		"7z", "aac", "arj", "asc", "avi", "bik", "bz", "bz2", "deb",
		"docx", "flac", "flv", "gif", "gpg", "gz", "jp2", "jpeg", "jpg",
		"jsonlz4", "lharc", "lz4", "lzh", "lzma", "lzo", "m4a", "m4v",
		"mdf", "mkv", "mov", "mozlz4", "mp3", "mp4", "mpeg", "mpg", "oga",
		"ogg", "ogm", "ogv", "opus", "pgp", "pk3", "png", "rar", "rm",
		"rpm", "rz", "shn", "tgz", "tzst", "vob", "webm", "webp", "wma",
		"wmv", "xlsx", "xz", "z", "zip", "zoo", "zst",
	};
	const char *dot = strrchr(name, '.');
	size_t i;

	if (dot == NULL)
		return 1;
	for (i = 0; i < sizeof ext / sizeof ext[0]; i++)
		if (strcasecmp(dot + 1, ext[i]) == 0)
			return 0;
	return 1;
}

static struct frame *
top(struct tree *t)
{
	return t->depth ? &t->stack[t->depth - 1] : NULL;
}

static int	ensure_incdir(struct tree *, struct frame *);
static int	mdir(struct tree *, struct frame *);
static void	set_mtime(int, const struct rec *);
static void	open_longdir(struct tree *);

/*
 * A directory's own increment: "<name>.<prev>.dir" in its parent's
 * increments directory (for the root, rdiff-backup-data/increments.<prev>.dir),
 * carrying the old directory's permissions, mtime and owner.
 */
static void
ensure_own(struct tree *t, struct frame *f)
{
	struct frame *parent;
	char *name;
	int fd, dirfd;

	if (f->own)
		return;
	f->own = 1;
	if (f == t->stack) {
		dirfd = t->s->datafd;
		name = incname_make(INCDIR, t->s->prev, INC_DIR, 0);
	} else {
		parent = f - 1;
		if (f->old.altinc != NULL) {
			ensure_own(t, parent);
			open_longdir(t);
			dirfd = t->longfd;
			name = incname_make(f->old.altinc, t->s->prev, INC_DIR,
			    0);
		} else {
			ensure_incdir(t, parent);
			dirfd = parent->ifd;
			name = incname_make(f->name, t->s->prev, INC_DIR, 0);
		}
	}
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1)
		fatal("create increment for", f->path);
	fchmod(fd, f->old.perms & 0777);
	if (t->s->root)
		fchown(fd, (uid_t)f->old.uid, (gid_t)f->old.gid);
	set_mtime(fd, &f->old);
	close(fd);
	free(name);
	t->s->st.incfiles++;
}

/* The directory in increments/ that holds f's children's increments. */
static int
ensure_incdir(struct tree *t, struct frame *f)
{
	struct frame *parent;

	if (f->ifd != -1)
		return 0;
	ensure_own(t, f);
	if (f == t->stack) {
		if (mkdirat(t->s->datafd, INCDIR, 0700) == -1 &&
		    errno != EEXIST)
			fatal("mkdir", DATADIR "/" INCDIR);
		f->ifd = openat(t->s->datafd, INCDIR,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	} else {
		parent = f - 1;
		ensure_incdir(t, parent);
		if (mkdirat(parent->ifd, f->name, 0700) == -1 &&
		    errno != EEXIST)
			fatal("mkdir increments for", f->path);
		f->ifd = openat(parent->ifd, f->name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (f->ifd == -1)
		fatal("open increments for", f->path);
	return 0;
}

static void
open_longdir(struct tree *t)
{
	char *buf;
	uint64_t v = 0;
	size_t i;

	if (t->longfd != -1)
		return;
	if (mkdirat(t->s->datafd, LONGDIR, 0700) == -1 && errno != EEXIST)
		fatal("mkdir", DATADIR "/" LONGDIR);
	t->longfd = openat(t->s->datafd, LONGDIR, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC);
	if (t->longfd == -1)
		fatal("open", DATADIR "/" LONGDIR);
	t->nextfree = 1;
	if (read_file_at(t->longfd, "next_free", &buf, NULL, 64) == 0) {
		for (i = 0; buf[i] >= '0' && buf[i] <= '9' &&
		    v < UINT64_MAX / 16; i++)
			v = v * 10 + (uint64_t)(buf[i] - '0');
		if (v > 0)
			t->nextfree = v;
		free(buf);
	}
}

/* A new AlternateIncrementName number for a name too long to stamp. */
static char *
new_altname(struct tree *t)
{
	char num[32];
	struct stat st;

	open_longdir(t);
	/* never reuse a number that something already uses */
	for (;;) {
		snprintf(num, sizeof num, "%llu",
		    (unsigned long long)t->nextfree++);
		if (fstatat(t->longfd, num, &st, AT_SYMLINK_NOFOLLOW) == -1)
			break;
	}
	t->nextfree_dirty = 1;
	return xstrdup(num);
}

/* Save the long-name counter if this session used it. */
static void
finish_longnames(struct tree *t)
{
	char num[32];

	if (!t->nextfree_dirty)
		return;
	snprintf(num, sizeof num, "%llu", (unsigned long long)t->nextfree);
	if (atomic_write(t->longfd, "next_free", num, strlen(num), 0600) == -1)
		fatal("write", DATADIR "/" LONGDIR "/next_free");
}

/*
 * Create the increment of child `name` of f (stamped with the previous
 * session): returns its directory and file name, or -1 with errno set.
 */
static int
inc_create(struct tree *t, struct frame *f, const char *name,
    const char *altinc, int type,
    int gz, char **fname)
{
	if (altinc != NULL) {
		ensure_own(t, f);
		open_longdir(t);
		*fname = incname_make(altinc, t->s->prev, type, gz);
		return t->longfd;
	}
	ensure_incdir(t, f);
	*fname = incname_make(name, t->s->prev, type, gz);
	return f->ifd;
}

static void
count_inc(struct tree *t, int dirfd, const char *fname)
{
	struct stat st;

	t->s->st.incfiles++;
	if (fstatat(dirfd, fname, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode))
		t->s->st.incsize += (uint64_t)st.st_size;
}

/* Increments carry the old entry's permissions, owner and mtime. */
static void
inc_attrs(struct tree *t, int fd, const struct rec *o)
{
	fchmod(fd, o->perms);
	if (t->s->root)
		fchown(fd, (uid_t)o->uid, (gid_t)o->gid);
}

static void
set_mtime(int fd, const struct rec *r)
{
	futimens(fd, (struct timespec[2]){ { 0, UTIME_NOW },
	    { (time_t)r->mtime, 0 } });
}

static void
inc_missing(struct tree *t, struct frame *f, const char *name,
    const char *altinc)
{
	char *fname;
	int dirfd, fd;

	if (t->s->first)
		return;		/* the first session has no history to keep */
	dirfd = inc_create(t, f, name, altinc, INC_MISSING, 0, &fname);
	fd = openat(dirfd, fname, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600);
	if (fd == -1)
		fatal("create increment", fname);
	close(fd);
	count_inc(t, dirfd, fname);
	free(fname);
}

/* Put tmp in place of mirror entry name, or remove name (tmp NULL). */
static void
replace_now(struct tree *t, struct frame *f, const char *name, const char *tmp,
    const char *path)
{
	if (tmp != NULL) {
		if (renameat(mdir(t, f), tmp, mdir(t, f), name) == -1)
			fatal("rename into mirror", path);
	} else if (unlinkat(mdir(t, f), name, 0) == -1 && errno != ENOENT)
		fatal("remove mirror entry", path);
}

/*
 * Keep the old mirror entry `name` (a non-directory, record o) as a
 * snapshot increment, regular files as their (gzip) content, others
 * recreated as nodes; then replace it by tmp, or remove it (tmp NULL).
 * A regular file's increment is written in the background, and the
 * replacement follows it there.
 */
static void
replace_old(struct tree *t, struct frame *f, const char *name,
    const struct rec *o,
    const char *tmp, const char *path)
{
	const char *what;
	char *fname;
	int dirfd, fd, in, gz = 0;

	if (o->type == RT_REG)
		gz = compressible(name);
	dirfd = inc_create(t, f, name, o->altinc, INC_SNAPSHOT, gz, &fname);
	switch (o->type) {
	case RT_REG:
		in = openat(mdir(t, f), name,
		    O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (in == -1) {
			/* the mirror lost it: nothing to keep, say so */
			report(t->s, "mirror file missing", path, errno);
			free(fname);
			replace_now(t, f, name, tmp, path);
			return;
		}
		fd = openat(dirfd, fname, O_WRONLY | O_CREAT | O_EXCL |
		    O_CLOEXEC, 0600);
		if (fd == -1)
			fatal("create increment", fname);
		inc_attrs(t, fd, o);
		incq_inc(in, fd, gz ? 6 : 0, NULL, o->mtime, mdir(t, f), tmp,
		    name,
		    path);
		f->queued = 1;
		t->s->st.incfiles++;
		free(fname);
		return;
	default:
		/* as non-root a device cannot be made: an empty file */
		if ((fd = node_make(dirfd, fname, o, NODE_FILE_IF_EPERM)) == -1)
			fatal("create increment", fname);
		node_attrs(fd, o, t->s->root ? ATTR_OWNER : 0, (uid_t)o->uid,
		    (gid_t)o->gid, &what);
		close(fd);
		break;
	}
	count_inc(t, dirfd, fname);
	free(fname);
	replace_now(t, f, name, tmp, path);
}

/*
 * Keep the old mirror file `name` as a delta against the new version
 * (signature sig, which this takes), then put tmp in its place: both in
 * the background.
 */
static void
replace_diff(struct tree *t, struct frame *f, const char *name,
    const struct rec *o,
    struct sigmaker *sig, const char *tmp, const char *path)
{
	char *fname;
	int dirfd, fd, in, gz = compressible(name);

	in = openat(mdir(t, f), name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in == -1) {
		report(t->s, "mirror file missing", path, errno);
		sig_free(sig);
		replace_now(t, f, name, tmp, path);
		return;
	}
	dirfd = inc_create(t, f, name, o->altinc, INC_DIFF, gz, &fname);
	fd = openat(dirfd, fname, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600);
	if (fd == -1)
		fatal("create increment", fname);
	inc_attrs(t, fd, o);
	incq_inc(in, fd, gz ? 6 : 0, sig, o->mtime, mdir(t, f), tmp, name,
	    path);
	f->queued = 1;
	t->s->st.incfiles++;
	free(fname);
}

/*
 * The diff increment of a file whose content did not change: a librsync
 * delta that copies all of the newer version (as rdiff-backup writes for
 * a change of attributes only).
 */
static void
inc_trivial(struct tree *t, struct frame *f, const char *name,
    const struct rec *o)
{
	unsigned char d[16] = { 'r', 's', 0x02, 0x36 };
	size_t len = 4, i, w;
	char *fname;
	int dirfd, fd, gz = compressible(name);
	struct gzw *g;

	if (o->size > 0) {
		/* COPY offset 0 (one byte), length in 1, 2, 4 or 8 bytes */
		w = o->size < 1ULL << 8 ? 1 : o->size < 1ULL << 16 ? 2 :
		    o->size < 1ULL << 32 ? 4 : 8;
		d[len++] = (unsigned char)(0x45 + (w == 1 ? 0 : w == 2 ? 1 :
		    w == 4 ? 2 : 3));
		d[len++] = 0;
		for (i = w; i-- > 0; )
			d[len++] = (unsigned char)(o->size >> (8 * i));
	}
	d[len++] = 0;
	dirfd = inc_create(t, f, name, o->altinc, INC_DIFF, gz, &fname);
	fd = openat(dirfd, fname, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600);
	if (fd == -1)
		fatal("create increment", fname);
	inc_attrs(t, fd, o);
	g = gzw_open(dup(fd), gz ? 6 : 0);
	if (gzw_write(g, d, len) == -1 || gzw_close(g, 0) == -1)
		fatal("write increment", fname);
	set_mtime(fd, o);
	close(fd);
	count_inc(t, dirfd, fname);
	free(fname);
}

/* The signature of the new version, read back from its temp copy. */
static struct sigmaker *
sig_of(struct tree *t, struct frame *f, const char *tmp, uint64_t size)
{
	struct sigmaker *sig = sig_begin(size);
	struct copyres cr;
	int fd, werr;

	fd = openat(mdir(t, f), tmp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 || copy_fd(fd, -1, sig_tap, sig, &cr, &werr) == -1)
		fatal("read back mirror copy", tmp);
	close(fd);
	return sig;
}

/* Mirror attributes of an entry (not a symlink), what differs only. */
static void
mirror_attrs(struct tree *t, int fd, const struct rec *n)
{
	if (mirror_fix(fd, n, t->s->root) == -1)
		fatal("stat mirror entry of", n->path);
}

static struct hlink *
hfind(struct tree *t, uint64_t dev, uint64_t ino)
{
	return t->links != NULL ? hl_find(t->links, dev, ino) : NULL;
}

/* Remember path as the mirror copy of hard-link group dev:ino. */
static void
hadd(struct tree *t, uint64_t dev, uint64_t ino, const char *path)
{
	struct hlink *h;

	if (t->links == NULL)
		t->links = hl_new();
	h = hl_get(t->links, dev, ino);
	free(h->path);
	h->path = xstrdup(path);
}

/*
 * Before reading a source file, queue the next files of its directory
 * that will likely be read too: all of them in a first session, else
 * those modified since the last one (unchanged files are never read, so
 * never prefetched).  Their attributes are cached by then on a remote
 * mount, so looking far ahead costs no round trips.
 */
static void
lookahead(struct tree *t)
{
	struct stat st;
	const char *name;
	size_t k;
	int dfd, queued = 0;

	for (k = 0; k < LOOKAHEAD && queued < INFLIGHT &&
	    (name = walk_peek(t->walk, k, &dfd)) != NULL; k++) {
		if (dfd == t->la_fd && strcmp(name, t->la_name) <= 0)
			continue;	/* looked at already */
		free(t->la_name);
		t->la_name = xstrdup(name);
		t->la_fd = dfd;
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode) && st.st_size <= PREFETCH_MAX &&
		    (t->s->first || (int64_t)st.st_mtime >= t->s->prev)) {
			prefetch_file(dfd, name);
			queued++;
		}
	}
}

/*
 * Make the new mirror entry for record n in frame f: under a temp name,
 * renamed over `name` later; or, when *direct is set (f was created by
 * this session, so nothing there can be lost and a crash is undone by
 * regress), under `name` itself, unless it is taken.  Returns the name
 * it has (to free) with a descriptor on it in *fd, or NULL with errno.
 */
static char *
new_entry(struct tree *t, struct frame *f, const char *name,
    const struct rec *n,
    int *direct, int *fd)
{
	char *tmp;

	if (*direct) {
		if ((*fd = node_make(mdir(t, f), name, n,
		    NODE_FILE_IF_EPERM)) != -1)
			return xstrdup(name);
		if (errno != EEXIST)
			return NULL;
		*direct = 0;
	}
	if ((*fd = node_tmp(mdir(t, f), n, NODE_FILE_IF_EPERM, &tmp)) != -1)
		return tmp;
	free(tmp);
	return NULL;
}

/* The same for a new hard link to pfd/base (see new_entry). */
static char *
new_link(struct tree *t, struct frame *f, const char *name, int pfd,
    const char *base,
    int *direct)
{
	char *tmp;

	if (*direct) {
		if (linkat(pfd, base, mdir(t, f), name, 0) == 0)
			return xstrdup(name);
		if (errno != EEXIST)
			return NULL;
		*direct = 0;
	}
	if (link_tmp(pfd, base, mdir(t, f), &tmp) == 0)
		return tmp;
	free(tmp);
	return NULL;
}

/*
 * Bring a new version of regular file S into the mirror of frame f: read
 * from the source once (hashing), or linked to the mirror copy of an
 * earlier member of its hard-link group (then with the signature an old
 * version is diffed against).  Fills n (size, SHA1).  Returns the name
 * it has in the mirror (see new_entry), or NULL when the source failed
 * (reported).
 */
static char *
bring_reg(struct tree *t, struct frame *f, struct walk_ent *e, struct rec *n,
    struct sigmaker **sigp, int wantsig, int *direct, int *gone)
{
	struct copyres cr;
	struct hlink *h = NULL;
	struct stat st;
	const char *base;
	char *tmp;
	int in, out, werr, pfd;

	*sigp = NULL;
	if (n->nlink > 1 && (h = hfind(t, n->devloc, n->ino)) != NULL) {
		incq_drain();	/* the first member may still be on its way */
		*sigp = wantsig ? sig_begin(n->size) : NULL;
		if ((pfd = open_parent(t->s->repofd, h->path, &base)) == -1 ||
		    (tmp = new_link(t, f, e->name, pfd, base, direct)) == NULL)
			fatal("link mirror file to", h->path);
		if (*sigp != NULL) {
			in = openat(pfd, base,
			    O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			if (in == -1 || copy_fd(in, -1, sig_tap, *sigp, &cr,
			    &werr) == -1)
				fatal("read mirror file", h->path);
			close(in);
		}
		close(pfd);
		n->sha1[0] = '\0';	/* only the first member has it */
		return tmp;
	}
	if (!t->scouting)
		lookahead(t);
	in = openat(e->dirfd, e->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_NOCTTY | O_CLOEXEC | O_NOATIME);
	if (in == -1 && errno == EPERM)
		in = openat(e->dirfd, e->name, O_RDONLY | O_NOFOLLOW |
		    O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (in == -1) {
		/* deleted since it was listed: a deletion, not an error */
		if (errno == ENOENT)
			*gone = 1;
		else
			report(t->s, "open", e->path, errno);
		return NULL;
	}
	/* replaced since: the file read now is the one recorded */
	if (fstat(in, &st) == -1 || !S_ISREG(st.st_mode)) {
		report(t->s, "open", e->path, errno ? errno : ESTALE);
		close(in);
		return NULL;
	}
	if ((tmp = new_entry(t, f, e->name, n, direct, &out)) == NULL)
		fatal("create mirror file for", e->path);
	if (copy_fd(in, out, *sigp ? sig_tap : NULL, *sigp, &cr,
	    &werr) == -1) {
		if (werr)
			fatal("write mirror file for", e->path);
		report(t->s, "read", e->path, errno);
		close(in);
		close(out);
		unlinkat(mdir(t, f), tmp, 0);
		free(tmp);
		return NULL;
	}
	close(in);
	/* what was read is what is recorded; a later change shows by mtime */
	rec_from_stat(n, &st);
	n->size = cr.bytes;
	memcpy(n->sha1, cr.sha1, sizeof n->sha1);
	t->s->st.bytesread += cr.bytes;
	t->s->st.byteswritten += cr.bytes;
	t->s->eio_streak = 0;
	mirror_attrs(t, out, n);
	if (close(out) == -1)
		fatal("write mirror file for", e->path);
	return tmp;
}

/* A new non-regular, non-directory entry in the mirror (see new_entry). */
static char *
bring_node(struct tree *t, struct frame *f, struct walk_ent *e, struct rec *n,
    int *direct)
{
	const char *what;
	char *tmp;
	int fd;

	if ((tmp = new_entry(t, f, e->name, n, direct, &fd)) == NULL)
		fatal(n->type == RT_SYM ? "create mirror symlink for" :
		    "create mirror node for", e->path);
	node_attrs(fd, n, t->s->root ? ATTR_OWNER : 0, (uid_t)n->uid,
	    (gid_t)n->gid, &what);
	close(fd);
	return tmp;
}

/*
 * The mirror directory of frame f, opened on first use: a directory in
 * which nothing changes is never opened.
 */
static int
mdir(struct tree *t, struct frame *f)
{
	if (f->mfd == -1) {
		f->mfd = openat(mdir(t, f - 1), f->name,
		    O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC);
		if (f->mfd == -1 && (errno == ENOTDIR || errno == ELOOP))
			errx(EXIT_PERM, "mirror entry %s is not a directory: "
			    "damaged repository", shown(f->path));
		if (f->mfd == -1)
			fatal("open mirror directory", f->path);
	}
	return f->mfd;
}

static void
push(struct tree *t, const char *path, size_t pathlen, const struct rec *o,
    const struct rec *n)
{
	struct frame *f, *parent = top(t);

	if (t->depth == t->stackcap) {
		t->stackcap = t->stackcap ? t->stackcap * 2 : 32;
		t->stack = xreallocarray(t->stack, t->stackcap,
		    sizeof *t->stack);
		parent = t->depth ? &t->stack[t->depth - 1] : NULL;
	}
	f = &t->stack[t->depth++];
	memset(f, 0, sizeof *f);
	f->path = xmemdup(path, pathlen + 1);
	f->pathlen = pathlen;
	f->name = strrchr(f->path, '/') ? strrchr(f->path, '/') + 1 : f->path;
	f->mfd = t->depth == 1 ? t->s->repofd : -1;
	f->ifd = -1;
	f->keepold = parent ? parent->keepold : 0;
	if ((f->has_old = o != NULL))
		rec_copy(&f->old, o);
	if ((f->has_new = n != NULL))
		rec_copy(&f->new, n);
	/* a directory that did not exist, or was no directory, has its
	 * increment (.missing, .snapshot) already */
	f->own = o == NULL || o->type != RT_DIR;
	f->fresh = t->depth == 1 ? t->s->first : n != NULL && (o == NULL ||
	    o->type != RT_DIR);
}

/* Finish the directory on top: attributes after children, or removal. */
static void
pop(struct tree *t)
{
	struct frame *f = &t->stack[t->depth - 1],
	    *parent = t->depth > 1 ? f - 1 : NULL;

	if (f->has_old && (!f->has_new || f->deleted || !rec_same(&f->old,
	    &f->new)))
		ensure_own(t, f);
	/* after work queued on its entries, the directory's turn is queued */
	if (f->deleted) {
		if (f->mfd != -1)
			close(f->mfd);
		if (f->queued) {
			incq_rmdir(mdir(t, parent), f->name, f->pending,
			    f->path);
			parent->queued = 1;
		} else {
			if (unlinkat(mdir(t, parent), f->name,
			    AT_REMOVEDIR) == -1 &&
			    rmtree_at(mdir(t, parent), f->name) == -1)
				fatal("remove mirror directory", f->path);
			if (f->pending != NULL && renameat(mdir(t, parent),
			    f->pending, mdir(t, parent), f->name) == -1)
				fatal("rename into mirror", f->path);
		}
	} else {
		/* untouched and unchanged: its attributes are right already */
		if (f->has_new && f->queued)
			incq_dir(mdir(t, f), &f->new, t->s->root);
		else if (f->has_new && (f->mfd != -1 || !f->has_old ||
		    !rec_same(&f->old, &f->new)))
			mirror_attrs(t, mdir(t, f), &f->new);
		if (parent != NULL && f->mfd != -1)
			close(f->mfd);
	}
	if (f->ifd != -1)
		close(f->ifd);
	free(f->path);
	free(f->pending);
	rec_free(&f->old);
	rec_free(&f->new);
	t->depth--;
}

/* Pop every directory that is not an ancestor of path. */
static void
unwind(struct tree *t, const char *path, size_t len)
{
	struct frame *f;

	while ((f = top(t)) != NULL) {
		if (f->pathlen == 0 || (len > f->pathlen &&
		    path[f->pathlen] == '/' &&
		    memcmp(path, f->path, f->pathlen) == 0))
			return;
		pop(t);
	}
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

	len = readlinkat(e->dirfd, e->name, target, (size_t)e->st.st_size + 1);
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
    const char *path,
    const struct rec *o, struct rec *n)
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
 * One path: old record o (NULL if new), source entry e (NULL if gone).
 * Returns the record for the new snapshot (NULL: the path is gone).
 */
static const struct rec *
process(struct tree *t, const struct rec *o, struct walk_ent *e, struct rec *n)
{
	struct frame *f = top(t);
	const char *name = e ? e->name : (o->pathlen ? strrchr(o->path, '/') ?
	    strrchr(o->path, '/') + 1 : o->path : "");
	const char *path = e ? e->path : o->path;
	size_t pathlen = e ? e->pathlen : o->pathlen;
	struct sigmaker *sig = NULL;
	char *tmp = NULL;
	int racy = 0, direct, gone = 0;

	if (e == NULL) {
		/* gone from the source (or excluded now) */
		if (f != NULL && f->keepold)
			return keep_old(t, o);
		return gone_from_source(t, f, name, o);
	}

	if (e->pathlen == 0) {
		/* the root: always a directory (checked before) */
		make_new(t, n, e, o);
		t->s->st.srcfiles++;
		push(t, "", 0, o, n);
		if (o != NULL && !rec_same(o, n))
			t->s->st.chgfiles++;
		return n;
	}

	make_new(t, n, e, o);
	t->s->st.srcfiles++;
	if (n->type == RT_REG)
		t->s->st.srcsize += n->size;
	if (n->type == RT_SYM && read_symlink(t, e, n, &gone) == -1)
		return gone ? vanished(t, f, name, e, o, n) : keep_old(t, o);

	/* modified in or after the last session's first second: re-read */
	racy = o != NULL && o->type == RT_REG && o->mtime >= t->s->prev;
	if (o != NULL && rec_same(o, n)) {
		if (!racy) {
			if (o->type == RT_DIR)
				push(t, path, pathlen, o, o);
			else if (o->type == RT_REG && o->nlink > 1 &&
			    hfind(t, o->devloc, o->ino) == NULL)
				hadd(t, o->devloc, o->ino, path);
			return o;
		}
	}

	if (n->type == RT_DIR) {
		if (o != NULL && o->type == RT_DIR) {
			/* attributes changed: the increment is made at pop */
			t->s->st.chgfiles++;
			push(t, path, pathlen, o, n);
			return n;
		}
		if (o == NULL) {
			inc_missing(t, f, name, n->altinc);
			t->s->st.newfiles++;
		} else {
			replace_old(t, f, name, o, NULL, path);
			t->s->st.chgfiles++;
			if (f->queued)
				incq_drain();	/* the name must be free now */
		}
		if (mkdirat(mdir(t, f), name, 0700) == -1)
			fatal("create mirror directory", path);
		push(t, path, pathlen, o, n);
		return n;
	}

	/*
	 * Only permissions or owner changed (same size and mtime, not racy,
	 * no hard t->links): the content is not read, the mirror file keeps it.
	 */
	if (o != NULL && o->type == RT_REG && n->type == RT_REG && !racy &&
	    o->nlink <= 1 && n->nlink <= 1 && o->size == n->size &&
	    o->mtime == n->mtime) {
		memcpy(n->sha1, o->sha1, sizeof n->sha1);
		return same_content(t, f, name, path, o, n);
	}

	/* a non-directory: the new version goes to a temp name first,
	 * or straight to its name in a directory this session made */
	direct = o == NULL && f->fresh;
	if (n->type == RT_REG)
		tmp = bring_reg(t, f, e, n, &sig, o != NULL &&
		    o->type == RT_REG,
		    &direct, &gone);
	else
		tmp = bring_node(t, f, e, n, &direct);
	if (tmp == NULL)
		return gone ? vanished(t, f, name, e, o, n) : keep_old(t, o);
	if (racy && rec_same(o, n) && strcmp(o->sha1, n->sha1) == 0) {
		/* rewritten in the same second as the last run, but the same */
		unlinkat(mdir(t, f), tmp, 0);
		sig_free(sig);
		free(tmp);
		if (o->nlink > 1 && hfind(t, o->devloc, o->ino) == NULL)
			hadd(t, o->devloc, o->ino, path);
		return o;
	}
	if (o != NULL && o->type == RT_REG && n->type == RT_REG &&
	    o->nlink <= 1 && n->nlink <= 1 && o->size == n->size &&
	    o->sha1[0] != '\0' && strcmp(o->sha1, n->sha1) == 0) {
		/* touched, or rewritten with the same bytes: keep the copy */
		unlinkat(mdir(t, f), tmp, 0);
		free(tmp);
		return same_content(t, f, name, path, o, n);
	}
	if (n->type == RT_REG && n->nlink > 1 && hfind(t, n->devloc,
	    n->ino) == NULL)
		hadd(t, n->devloc, n->ino, path);

	if (o == NULL) {
		t->s->st.newfiles++;
		t->s->st.newsize += n->size;
		inc_missing(t, f, name, n->altinc);
	} else {
		t->s->st.chgfiles++;
		t->s->st.chgsrcsize += n->size;
		if (o->type == RT_REG)
			t->s->st.chgmirrorsize += o->size;
		if (o->type == RT_DIR) {
			/* the directory and its contents go first, at pop */
			push(t, path, pathlen, o, NULL);
			top(t)->deleted = 1;
			top(t)->pending = tmp;
			sig_free(sig);
			return n;
		}
		if (o->type == RT_REG && n->type == RT_REG) {
			if (sig == NULL)
				sig = sig_of(t, f, tmp, n->size);
			replace_diff(t, f, name, o, sig, tmp, path);
		} else {
			sig_free(sig);
			replace_old(t, f, name, o, tmp, path);
		}
		free(tmp);
		return n;
	}
	sig_free(sig);
	if (!direct)
		replace_now(t, f, name, tmp, path);
	free(tmp);
	return n;
}

/* Is source entry e backed up?  Never rdiff-backup-data nor the repo. */
static int
backed_up(struct session *s, struct walk_ent *e, struct select *sel)
{
	if (e->depth == 1 && strcmp(e->name, DATADIR) == 0)
		return 0;
	if (S_ISDIR(e->st.st_mode) && e->st.st_dev == s->repodev &&
	    e->st.st_ino == s->repoino)
		return 0;
	return select_test(sel, e->path, e->pathlen, S_ISDIR(e->st.st_mode),
	    e->st.st_dev, e->dirfd, e->name);
}

/* The scout's test, with its own copy of the rules (they keep state). */
static int
scout_keep(struct walk_ent *e, void *arg)
{
	struct session *s = arg;

	return backed_up(s, e, s->scoutsel);
}

static struct walk_ent *
next_src(struct tree *t, struct walk *w)
{
	struct walk_ent *e;
	struct frame *f;

	for (;;) {
		if (walk_next(w, &e) != 1)
			return NULL;
		if (e->listerr && e->error == ENOENT)
			continue;	/* deleted since: nothing below */
		if (e->listerr) {
			report(t->s, "list", e->path, e->error);
			if ((f = top(t)) != NULL && f->pathlen == e->pathlen &&
			    memcmp(f->path, e->path, e->pathlen) == 0)
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
			return e;
		}
		if (!backed_up(t->s, e, t->s->sel)) {
			walk_skip(w);
			continue;
		}
		return e;
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
	struct tree tree = { .s = s, .longfd = -1, .la_fd = -1 }, *t = &tree;
	int c;

	memset(&n, 0, sizeof n);
	if ((w = walk_open(s->src)) == NULL)
		err(EXIT_TEMP, "walk %s", s->src);
	t->walk = w;
	e = next_src(t, w);
	if (e == NULL || e->pathlen != 0 || !S_ISDIR(e->st.st_mode))
		errx(EXIT_PERM, "%s: not a readable directory", s->src);
	if (s->oldmeta != -1) {
		struct gzr *in = gzr_open(s->oldmeta, s->oldmeta_gz);

		if (in == NULL)
			err(EXIT_TEMP, "read previous metadata");
		gzr_background(in);
		t->old = m = meta_open(in);
		o = next_old(t, m, NULL);
	}
	incq_start();
	if (s->scoutsel != NULL)
		t->scouting = prefetch_scout(s->src, scout_keep, s,
		    s->prev, s->first);
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
		if (c > 0 && t->depth == 0)
			errx(EXIT_PERM, "previous metadata: %s outside the tree",
			    shown(o->path));
		if (c <= 0 && e->error) {
			/* unreadable now (a dying mount, a race): keep it */
			if (c == 0) {
				put_snap(t, keep_old(t, o));
				o = next_old(t, m, o);
			}
			e = next_src(t, w);
			continue;
		}
		if (c <= 0 && t->scouting && prefetch_wanted(&e->st, s->prev,
		    s->first))
			prefetch_passed(&e->st);
		out = process(t, c >= 0 ? o : NULL, c <= 0 ? e : NULL, &n);
		if (c <= 0 && S_ISDIR(e->st.st_mode) && (top(t) == NULL ||
		    top(t)->pathlen != e->pathlen || top(t)->deleted))
			walk_skip(w);
		if (out != NULL)
			put_snap(t, out);
		progress_add(1, 0);
		put_diff(t, c >= 0 ? o : NULL, out, c <= 0 ? e->path : o->path,
		    c <= 0 ? e->pathlen : o->pathlen);
		if (c <= 0)
			e = next_src(t, w);
		if (c >= 0)
			o = next_old(t, m, o);
	}
	while (t->depth > 0)
		pop(t);
	t->s->st.incsize += incq_finish();
	if ((msg = incq_error()) != NULL)
		errx(EXIT_TEMP, "%s", msg);
	progress_clear();
	finish_longnames(t);
	walk_close(w);
	meta_close(m);
	rec_free(&n);
	free(t->stack);
	hl_free(t->links);
	free(t->la_name);
	free(t->last);
	if (t->longfd != -1)
		close(t->longfd);
	return 0;
}
