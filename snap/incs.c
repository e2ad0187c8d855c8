/*
 * The increments of a session, in increments/ and long_filename_data/:
 * each stamped with the previous session's time and carrying the old
 * entry's attributes; a directory's own .dir increment; and the mirror
 * entries they replace or remove.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "atomic.h"
#include "delta.h"
#include "gz.h"
#include "incq.h"
#include "io.h"
#include "node.h"
#include "repo.h"
#include "snap.h"
#include "tree.h"
#include "xalloc.h"

static int	ensure_incdir(struct tree *, struct frame *);
static void	set_mtime(int, const struct rec *);
static void	open_longdir(struct tree *);
static void	inc_attrs(struct tree *, int, const struct rec *);

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

/*
 * A directory's own increment: "<name>.<prev>.dir" in its parent's
 * increments directory (for the root, rdiff-backup-data/increments.<prev>.dir),
 * carrying the old directory's permissions, mtime and owner.
 */
void
ensure_own(struct tree *t, struct frame *f)
{
	struct frame *parent;
	char *name;
	int fd, dirfd;

	if (f->own)
		return;
	f->own = 1;
	if ((parent = up(t, f)) == NULL) {
		dirfd = t->s->datafd;
		name = incname_make(INCDIR, t->s->prev, INC_DIR, 0,
		    t->s->style);
	} else {
		if (f->old.altinc != NULL) {
			ensure_own(t, parent);
			open_longdir(t);
			dirfd = t->longfd;
			name = incname_make(f->old.altinc, t->s->prev, INC_DIR,
			    0, t->s->style);
		} else {
			ensure_incdir(t, parent);
			dirfd = parent->ifd;
			name = incname_make(f->name, t->s->prev, INC_DIR, 0,
			    t->s->style);
		}
	}
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1)
		snap_fatal("create increment for", f->d.path);
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
	if ((parent = up(t, f)) == NULL) {
		if (mkdirat(t->s->datafd, INCDIR, 0700) == -1 &&
		    errno != EEXIST)
			snap_fatal("mkdir", DATADIR "/" INCDIR);
		f->ifd = openat(t->s->datafd, INCDIR,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	} else {
		ensure_incdir(t, parent);
		if (mkdirat(parent->ifd, f->name, 0700) == -1 &&
		    errno != EEXIST)
			snap_fatal("mkdir increments for", f->d.path);
		f->ifd = openat(parent->ifd, f->name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (f->ifd == -1)
		snap_fatal("open increments for", f->d.path);
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
		snap_fatal("mkdir", DATADIR "/" LONGDIR);
	t->longfd = openat(t->s->datafd, LONGDIR, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC);
	if (t->longfd == -1)
		snap_fatal("open", DATADIR "/" LONGDIR);
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
char *
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
void
finish_longnames(struct tree *t)
{
	char num[32];

	if (!t->nextfree_dirty)
		return;
	snprintf(num, sizeof num, "%llu", (unsigned long long)t->nextfree);
	if (atomic_write(t->longfd, "next_free", num, strlen(num), 0600) == -1)
		snap_fatal("write", DATADIR "/" LONGDIR "/next_free");
}

/*
 * Open the new increment file dirfd/fname, with old record o's owner and
 * permissions (o NULL: none).  Exits when it cannot.
 */
static int
inc_open(struct tree *t, int dirfd, const char *fname, const struct rec *o)
{
	int fd;

	fd = openat(dirfd, fname, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600);
	if (fd == -1)
		snap_fatal("create increment", fname);
	if (o != NULL)
		inc_attrs(t, fd, o);
	return fd;
}

/*
 * Create the increment of child `name` of f (stamped with the previous
 * session): returns its directory and file name, or -1 with errno set.
 */
static int
inc_create(struct tree *t, struct frame *f, const char *name,
    const char *altinc, int type, int gz, char **fname)
{
	if (altinc != NULL) {
		ensure_own(t, f);
		open_longdir(t);
		*fname = incname_make(altinc, t->s->prev, type, gz,
		    t->s->style);
		return t->longfd;
	}
	ensure_incdir(t, f);
	*fname = incname_make(name, t->s->prev, type, gz, t->s->style);
	return f->ifd;
}

static void
count_inc(struct tree *t, int dirfd, const char *fname)
{
	struct stat st;

	t->s->st.incfiles++;
	if (fstatat(dirfd, fname, &st, AT_SYMLINK_NOFOLLOW) == 0)
		t->s->st.incsize += inc_bytes(&st);
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

void
inc_missing(struct tree *t, struct frame *f, const char *name,
    const char *altinc)
{
	char *fname;
	int dirfd;

	if (t->s->first)
		return;		/* the first session has no history to keep */
	dirfd = inc_create(t, f, name, altinc, INC_MISSING, 0, &fname);
	close(inc_open(t, dirfd, fname, NULL));
	count_inc(t, dirfd, fname);
	free(fname);
}

/* Put tmp in place of mirror entry name, or remove name (tmp NULL). */
void
replace_now(struct tree *t, struct frame *f, const char *name, const char *tmp,
    const char *path)
{
	if (tmp != NULL) {
		if (renameat(mdir(t, f), tmp, mdir(t, f), name) == -1)
			snap_fatal("rename into mirror", path);
	} else if (unlinkat(mdir(t, f), name, 0) == -1 && errno != ENOENT)
		snap_fatal("remove mirror entry", path);
}

/*
 * Keep the old mirror entry `name` (a non-directory, record o) as a
 * snapshot increment, regular files as their (gzip) content, others
 * recreated as nodes; then replace it by tmp, or remove it (tmp NULL).
 * A regular file's increment is written in the background, and the
 * replacement follows it there.
 */
void
replace_old(struct tree *t, struct frame *f, const char *name,
    const struct rec *o, const char *tmp, const char *path)
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
		fd = inc_open(t, dirfd, fname, o);
		incq_inc(in, fd, gz ? 6 : 0, NULL, o->mtime, mdir(t, f), tmp,
		    name, path);
		f->queued = 1;
		t->s->st.incfiles++;
		free(fname);
		return;
	default:
		/* as non-root a device cannot be made: an empty file */
		if ((fd = node_make(dirfd, fname, o, NODE_FILE_IF_EPERM)) == -1)
			snap_fatal("create increment", fname);
		node_attrs(fd, o, t->s->root ? ATTR_OWNER : 0, (uid_t)o->uid,
		    (gid_t)o->gid, NULL, &what);
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
void
replace_diff(struct tree *t, struct frame *f, const char *name,
    const struct rec *o,
    struct sigmaker *sig, const char *tmp, const char *path, int still,
    const struct rec *n)
{
	char *fname;
	int dirfd, fd, in, gz = compressible(name);

	in = openat(mdir(t, f), name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in == -1 && still != -1)
		snap_fatal("open mirror file", path);
	if (in == -1) {
		report(t->s, "mirror file missing", path, errno);
		sig_free(sig);
		replace_now(t, f, name, tmp, path);
		return;
	}
	dirfd = inc_create(t, f, name, o->altinc, INC_DIFF, gz, &fname);
	fd = inc_open(t, dirfd, fname, o);
	if (still != -1)
		incq_inc_still(in, fd, gz ? 6 : 0, sig, o->mtime, dirfd,
		    mdir(t, f), name, path, still, n, t->s->root);
	else
		incq_inc(in, fd, gz ? 6 : 0, sig, o->mtime, mdir(t, f), tmp,
		    name, path);
	f->queued = 1;
	t->s->st.incfiles++;
	free(fname);
}

static int
gz_out(void *g, const char *p, size_t n)
{
	return gzw_write(g, p, n);
}

/*
 * The diff increment of a file whose content did not change: a librsync
 * delta that copies all of the newer version (as rdiff-backup writes for
 * a change of attributes only).
 */
void
inc_trivial(struct tree *t, struct frame *f, const char *name,
    const struct rec *o)
{
	char *fname;
	int dirfd, fd, gz = compressible(name);
	struct gzw *g;

	dirfd = inc_create(t, f, name, o->altinc, INC_DIFF, gz, &fname);
	fd = inc_open(t, dirfd, fname, o);
	g = gzw_open(dup(fd), gz ? 6 : 0);
	if (delta_copy_all(o->size, gz_out, g) == -1 || gzw_close(g, 0) == -1)
		snap_fatal("write increment", fname);
	set_mtime(fd, o);
	close(fd);
	count_inc(t, dirfd, fname);
	free(fname);
}
