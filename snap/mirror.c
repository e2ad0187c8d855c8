/*
 * New versions into the mirror: a regular file copied from the source
 * once (hashed, and signed when an old version is to be diffed), or
 * linked to an earlier member of its hard-link group; other entries
 * made as nodes; always under a temp name that never takes a real
 * entry's place, or straight under its name in a directory the session
 * made.  Also the mirror's directories, opened when first needed.
 */
#define _GNU_SOURCE	/* O_NOATIME: Linux, not POSIX */
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "copy.h"
#include "delta.h"
#include "exitcode.h"
#include "hlink.h"
#include "incq.h"
#include "meta.h"
#include "node.h"
#include "pathname.h"
#include "prefetch.h"
#include "snap.h"
#include "tree.h"
#include "walk.h"
#include "xalloc.h"

#define LOOKAHEAD	256	/* names looked at ahead in the directory */
#define INFLIGHT	8	/* files queued per look */
#define HINTED		64	/* ... when the mount fetches them */

/* The signature of the new version, read back from its temp copy. */
struct sigmaker *
sig_of(struct tree *t, struct frame *f, const char *tmp, uint64_t size)
{
	struct sigmaker *sig = sig_begin(size);
	struct copyres cr;
	int fd, werr;

	fd = openat(mdir(t, f), tmp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 || copy_fd(fd, -1, sig_tap, sig, &cr, &werr) == -1)
		snap_fatal("read back mirror copy", tmp);
	close(fd);
	return sig;
}

/* Mirror attributes of an entry (not a symlink), what differs only. */
void
mirror_attrs(struct tree *t, int fd, const struct rec *n)
{
	if (mirror_fix(fd, n, t->s->root) == -1)
		snap_fatal("stat mirror entry of", n->path);
}

struct hlink *
hfind(struct tree *t, uint64_t dev, uint64_t ino)
{
	return hl_find(&t->links, dev, ino);
}

/* Remember path as the mirror copy of hard-link group dev:ino. */
void
hadd(struct tree *t, uint64_t dev, uint64_t ino, const char *path)
{
	struct hlink *h;

	h = hl_get(&t->links, dev, ino);
	free(h->path);
	h->path = xstrdup(path);
}

/*
 * Before reading source file e, queue the next files of its directory
 * that snap will read too (snap_wants: unchanged files are never read,
 * so never prefetched).  Their attributes are cached by then on a remote
 * mount, so looking far ahead costs no round trips.  Without the scout,
 * this is all the reading ahead there is; with a mount that takes hints
 * it covers what the scout has not reached yet.
 */
static void
lookahead(struct tree *t, struct walk_ent *e)
{
	struct stat st;
	const char *name;
	size_t k, dirlen, len;
	char *rel = NULL;
	int dfd, queued = 0, most = prefetch_hinting() ? HINTED : INFLIGHT;

	dirlen = e->pathlen - strlen(e->name);
	for (k = 0; k < LOOKAHEAD && queued < most &&
	    (name = walk_peek(t->walk, k, &dfd)) != NULL; k++) {
		if (dfd != e->dirfd)
			break;
		if (dfd == t->la_fd && strcmp(name, t->la_name) <= 0)
			continue;	/* looked at already */
		free(t->la_name);
		t->la_name = xstrdup(name);
		t->la_fd = dfd;
		len = strlen(name);
		rel = xrealloc(rel, dirlen + len + 1);
		memcpy(rel, e->path, dirlen);
		memcpy(rel + dirlen, name, len + 1);
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    snap_wants(t->s, rel, &st)) {
			prefetch_file(dfd, name);
			queued++;
		}
	}
	free(rel);
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
    const struct rec *n, int *direct, int *fd)
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
    const char *base, int *direct)
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

/* What was read is what is recorded; a later change shows by mtime. */
static void
took(struct tree *t, struct rec *n, const struct stat *st,
    const struct copyres *cr)
{
	rec_from_stat(n, st);
	n->size = cr->bytes;
	memcpy(n->sha1, cr->sha1, sizeof n->sha1);
	t->s->st.bytesread += cr->bytes;
	t->s->st.byteswritten += cr->bytes;
	t->s->eio_streak = 0;
}

/*
 * Bring a new version of regular file S into the mirror of frame f: read
 * from the source once (hashing), or linked to the mirror copy of an
 * earlier member of its hard-link group (then with the signature an old
 * version is diffed against).  Fills n (size, SHA1).  Returns the name
 * it has in the mirror (see new_entry), or NULL when the source failed
 * (reported).  A delta that leaves the mirror copy's bytes in place is
 * only read (remote_patch_still): then the name returned is the mirror
 * file's own, untouched yet, and *still holds the delta, to be applied
 * once the increment is made (replace_diff), or closed.
 */
char *
bring_reg(struct tree *t, struct frame *f, struct walk_ent *e, struct rec *n,
    struct sigmaker **sigp, int wantsig, int *direct, int *gone, int *still)
{
	struct copyres cr;
	struct hlink *h = NULL;
	struct stat st;
	const char *base;
	char *tmp;
	int in, out, werr, pfd, rv;
	struct req *dreq = NULL;

	*sigp = NULL;
	*still = -1;
	if (n->nlink > 1 && (h = hfind(t, n->devloc, n->ino)) != NULL) {
		incq_drain();	/* the first member may still be on its way */
		*sigp = wantsig ? sig_begin(n->size) : NULL;
		if ((pfd = open_parent(t->s->repofd, h->path, &base)) == -1 ||
		    (tmp = new_link(t, f, e->name, pfd, base, direct)) == NULL)
			snap_fatal("link mirror file to", h->path);
		if (*sigp != NULL) {
			in = openat(pfd, base,
			    O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			if (in == -1 || copy_fd(in, -1, sig_tap, *sigp, &cr,
			    &werr) == -1)
				snap_fatal("read mirror file", h->path);
			close(in);
		}
		close(pfd);
		n->sha1[0] = '\0';	/* only the first member has it */
		return tmp;
	}
	in = -1;
	if (e->dirfd == -1)
		in = remote_open(e, &dreq);	/* asked for ahead, most likely */
	else if (!t->scouting || prefetch_hinting())
		lookahead(t, e);
	if (e->dirfd != -1)
		in = openat(e->dirfd, e->name, O_RDONLY | O_NOFOLLOW |
		    O_NONBLOCK | O_NOCTTY | O_CLOEXEC | O_NOATIME);
	if (in == -1 && errno == EPERM && e->dirfd != -1)
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
		if (dreq != NULL)
			remote_drop(dreq);
		else
			close(in);
		return NULL;
	}
	if (e->dirfd == -1)
		st = e->st;	/* what the server listed; the size is read */
	if (dreq != NULL && wantsig && n->nlink <= 1 && !*direct) {
		rv = remote_patch_still(e, dreq, &cr, sigp, still);
		if (rv == -1) {
			report(t->s, "read", e->path, errno);
			return NULL;
		}
		if (rv == 0) {
			took(t, n, &st, &cr);
			return xstrdup(e->name);
		}
	}
	if ((tmp = new_entry(t, f, e->name, n, direct, &out)) == NULL)
		snap_fatal("create mirror file for", e->path);
	if (dreq != NULL) {
		/* a delta: also the way back to the mirror's copy */
		werr = 0;
		rv = remote_patch(e, dreq, out, &cr, sigp);
		in = -1;
		if (rv == 0 && !wantsig) {
			sig_free(*sigp);
			*sigp = NULL;
		}
	} else
		rv = copy_fd(in, out, NULL, NULL, &cr, &werr);
	if (rv == -1) {
		if (werr)
			snap_fatal("write mirror file for", e->path);
		report(t->s, "read", e->path, errno);
		if (in != -1)
			close(in);
		close(out);
		unlinkat(mdir(t, f), tmp, 0);
		free(tmp);
		return NULL;
	}
	if (in != -1)
		close(in);
	took(t, n, &st, &cr);
	mirror_attrs(t, out, n);
	if (close(out) == -1)
		snap_fatal("write mirror file for", e->path);
	return tmp;
}

/* A new non-regular, non-directory entry in the mirror (see new_entry). */
char *
bring_node(struct tree *t, struct frame *f, struct walk_ent *e, struct rec *n,
    int *direct)
{
	const char *what;
	char *tmp;
	int fd;

	if ((tmp = new_entry(t, f, e->name, n, direct, &fd)) == NULL)
		snap_fatal(n->type == RT_SYM ? "create mirror symlink for" :
		    "create mirror node for", e->path);
	node_attrs(fd, n, t->s->root ? ATTR_OWNER : 0, (uid_t)n->uid,
	    (gid_t)n->gid, NULL, &what);
	close(fd);
	if (n->type == RT_SYM)
		link_stamp(mdir(t, f), tmp, &e->st);
	return tmp;
}

/*
 * Give the mirror symlink dirfd/name the source link's modification
 * time, which the format does not keep: the next session compares it
 * (link_unchanged) instead of reading the source link again.  Only a
 * hint: when it cannot be set, the link is read next time.
 */
void
link_stamp(int dirfd, const char *name, const struct stat *src)
{
	struct timespec ts[2];

	ts[0].tv_sec = 0;
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1] = src->st_mtim;
	(void)utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW);
}

/*
 * Is the source symlink e (old record o) the one the mirror holds?  Its
 * size (the target's length) and modification time, which the mirror
 * link got from it (link_stamp), are the same, and it is older than the
 * last session (a link replaced since has a newer time; one replaced in
 * that session's first second is read again).  Then its target is not
 * read: over a remote mount that is a round trip per link.  *stamped
 * says whether the mirror link carries the source's time.
 */
int
link_unchanged(struct tree *t, struct frame *f, const char *name,
    const struct walk_ent *e, const struct rec *o, int *stamped)
{
	struct stat mst;

	*stamped = 0;
	if (o == NULL || o->type != RT_SYM ||
	    fstatat(mdir(t, f), name, &mst, AT_SYMLINK_NOFOLLOW) == -1 ||
	    !S_ISLNK(mst.st_mode))
		return 0;
	*stamped = mst.st_mtime == e->st.st_mtime;
	return *stamped && (int64_t)e->st.st_mtime < t->s->prev &&
	    mst.st_size == e->st.st_size && (size_t)e->st.st_size == o->symlen;
}

/*
 * The mirror directory of frame f, opened on first use: a directory in
 * which nothing changes is never opened.
 */
int
mdir(struct tree *t, struct frame *f)
{
	if (f->mfd == -1) {
		f->mfd = openat(mdir(t, up(t, f)), f->name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (f->mfd == -1 && (errno == ENOTDIR || errno == ELOOP))
			errx(EXIT_PERM, "mirror entry %s is not a directory: "
			    "damaged repository", shown(f->d.path));
		if (f->mfd == -1)
			snap_fatal("open mirror directory", f->d.path);
	}
	return f->mfd;
}
