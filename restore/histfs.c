/*
 * restore -m: the repository's sessions as a read-only FUSE file system.
 * The root holds a directory per complete session, named as restore -l
 * prints its time, and "current", a symlink to the newest.  A session
 * directory is that session's tree as restore -r would write it: its
 * index (the merged metadata: fixed-size records, each directory's
 * children in name order, hard-link groups, names and attributes) is
 * built when first needed into two unlinked temp files read with pread,
 * so memory does not grow with the files or the sessions; the indexes of
 * the 64 sessions used last are kept.  A regular
 * file is rebuilt whole from the mirror and the increments when opened,
 * into an unlinked temp file, and checked against the SHA-1 that the
 * metadata records: a damaged repository gives EIO, never wrong bytes.
 *
 * Inode numbers are a session's slot (its place in the order sessions
 * were first seen, never reused) in the top bits and its record's index
 * plus one in the rest; hard links of a session share their group's
 * first member's.  The repository is reread (at most once a second) when
 * the root is looked at, so sessions completed meanwhile appear and
 * removed ones go; no lock is held, so snap and prune run as usual.
 * One thread serves everything.
 */
#define _GNU_SOURCE	/* O_TMPFILE: Linux, not POSIX */
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define FUSE_USE_VERSION 34
#include <fuse3/fuse_lowlevel.h>

#include "copy.h"
#include "earec.h"
#include "exitcode.h"
#include "fusemount.h"
#include "hash.h"
#include "histfs.h"
#include "idmap.h"
#include "io.h"
#include "journal.h"
#include "meta.h"
#include "node.h"
#include "pathname.h"
#include "rebuild.h"
#include "repo.h"
#include "timespec.h"
#include "xalloc.h"
#include "xattr.h"

#define SLOT_SHIFT	40
#define IDX_MASK	((UINT64_C(1) << SLOT_SHIFT) - 1)
#define MAX_SLOTS	(UINT64_C(1) << (64 - SLOT_SHIFT))
#define CURRENT_INO	2
#define MAX_LOADED	64		/* session indexes kept (2 files each) */
#define CACHE_FILES	64		/* rebuilt files kept after release */
#define CACHE_BYTES	(256u << 20)
#define TTL_SESSION	3600.0		/* sessions never change */
#define TTL_ROOT	1.0
#define RESCAN_SECS	1.0
#define OFF_FIRST	3		/* readdir offsets 1, 2: ".", ".." */
#define XA_MAX		(64u << 20)	/* one entry's attributes, at most */
#define WB_SIZE		(256u << 10)

/*
 * One record of a session's index, at idx * sizeof(struct ient) in the
 * session's index file.  Its strings (name, symlink target, alternate
 * mirror and increment names, attributes) follow one another at str in
 * the strings file, which ends with the children of every directory.
 */
struct ient {
	uint64_t	 size;		/* a regular file's */
	int64_t		 mtime;
	uint64_t	 str;
	uint32_t	 namelen, symlen, altmlen, altilen, xalen;
	uint32_t	 mode;		/* S_IFMT and permission bits */
	uint32_t	 uid, gid;
	uint32_t	 major, minor;
	uint32_t	 parent;
	uint32_t	 kids, nkids;	/* a directory's children, in name order */
	uint32_t	 group, links;	/* hard-link group's first member, size */
	uint8_t		 sha1[20];
	uint8_t		 has_sha1, has_mtime;
	uint8_t		 unread;	/* lazy: a directory not read yet */
};

/* Open addressing from two keys to a record index (lazy sessions). */
struct itab {
	struct islot {
		uint64_t	 a, b;
		uint32_t	 idx;	/* + 1; 0: empty */
	}		*v;
	size_t		 n, cap;
};

/*
 * A session's index.  Built whole by load() from the metadata, or, when
 * every metadata file of its chain has a member index (gz.h) and it has
 * no extended attributes or ACLs, lazily: the root first, a directory's
 * subtree when it is listed, one entry when it is looked up in a
 * directory not listed yet (struct itab made).  Records are then in the
 * order they were read, and since their numbers are inode numbers the
 * kernel holds, a lazy session unloaded is retired (see load).
 */
struct session {
	int64_t		 t;
	int		 gone;		/* no longer in the repository */
	int		 efd, sfd;	/* index and strings files; -1: unloaded */
	uint32_t	 nn;		/* records */
	uint64_t	 kidsoff;	/* where the children start in sfd */
	unsigned long	 used;		/* for choosing what to unload */
	int		 lazy;
	int		 retired;	/* unloaded lazy: gone for good */
	uint64_t	 slen;		/* lazy: bytes in sfd */
	struct itab	 made;		/* lazy: (parent, name hash) of entries
					   looked up before their directory
					   was read */
	struct itab	 links;		/* lazy: (device, inode): the first
					   member of a hard-link group read */
};

/*
 * A checked content: a mirror file or a rebuilt temp file, known by its
 * version (the file that holds it: inode, device, change time) and
 * digest, so that sessions sharing a version share it.  Open ones and
 * the last few released are kept.
 */
struct cfile {
	int		 fd;
	uint64_t	 size;
	ino_t		 vino;
	dev_t		 vdev;
	struct timespec	 vctime;
	uint8_t		 sha1[20];
	int		 rebuilt;	/* a temp file, counted in CACHE_BYTES */
	int		 refs;
	struct cfile	*next;
};

/* A buffered writer to a temp file. */
struct ixw {
	int		 fd;
	unsigned char	*p;
	size_t		 len;
	uint64_t	 off;		/* bytes written or buffered */
	int		 err;
};

static struct repo	 R;
static struct session	*slots;		/* [0] unused: the root's */
static size_t		 nslots = 1;
static uint64_t		 newest;	/* slot of the newest session, 0: none */
static struct timespec	 lastscan;
static struct timespec	 rootmtime;	/* when the sessions last changed */
static int		 tmpdirfd = -1;
static struct longincs	 longincs = LONGINCS_INIT;
static struct cfile	*cfiles;
static unsigned long	 clock_use;
static struct idmap	*ids;		/* ACL entries' names to local ids */

static fuse_ino_t file_ino(struct session *, uint32_t, const struct ient *);
static int ient_get(struct session *, uint32_t, struct ient *);
static char *path_of(struct session *, uint32_t);

static void rc_clear(void);

static int detached;		/* standard error is /dev/null: use syslog */

/* warnx(3), and once in the background syslog(3) instead. */
static void
hwarnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (detached)
		vsyslog(LOG_ERR, fmt, ap);
	else
		vwarnx(fmt, ap);
	va_end(ap);
}

/* warn(3), the same way. */
static void
hwarn(const char *fmt, ...)
{
	va_list ap;
	char *msg;
	int e = errno, n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	msg = xmalloc(n < 0 ? 1 : (size_t)n + 1);
	va_start(ap, fmt);
	if (n < 0 || vsnprintf(msg, (size_t)n + 1, fmt, ap) < 0)
		msg[0] = '\0';
	va_end(ap);
	hwarnx("%s: %s", msg, strerror(e));
	free(msg);
	errno = e;
}

static void
itab_free(struct itab *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}

static size_t
itab_home(const struct itab *t, uint64_t a, uint64_t b)
{
	uint64_t h = (a * 0x9e3779b97f4a7c15ULL) ^ b;

	return (size_t)(h ^ h >> 31) & (t->cap - 1);
}

/*
 * The index stored under (a, b), or -1.  With at, the search starts
 * there (itab_home at first) and *at is where the next one goes on.
 */
static int64_t
itab_get(const struct itab *t, uint64_t a, uint64_t b, size_t *at)
{
	size_t i;

	if (t->cap == 0)
		return -1;
	for (i = at != NULL ? *at : itab_home(t, a, b); t->v[i].idx != 0;
	    i = (i + 1) & (t->cap - 1))
		if (t->v[i].a == a && t->v[i].b == b) {
			if (at != NULL)
				*at = (i + 1) & (t->cap - 1);
			return t->v[i].idx - 1;
		}
	return -1;
}

static void
itab_put(struct itab *t, uint64_t a, uint64_t b, uint32_t idx)
{
	struct itab old = *t;
	size_t i;

	if (2 * (t->n + 1) > t->cap) {
		t->cap = t->cap ? 2 * t->cap : 64;
		t->v = xcalloc(t->cap, sizeof(*t->v));
		t->n = 0;
		for (i = 0; i < old.cap; i++)
			if (old.v[i].idx != 0)
				itab_put(t, old.v[i].a, old.v[i].b,
				    old.v[i].idx - 1);
		free(old.v);
	}
	for (i = itab_home(t, a, b); t->v[i].idx != 0;
	    i = (i + 1) & (t->cap - 1))
		;
	t->v[i].a = a;
	t->v[i].b = b;
	t->v[i].idx = idx + 1;
	t->n++;
}

static void
unload(struct session *s)
{
	rc_clear();
	if (s->efd != -1)
		close(s->efd);
	if (s->sfd != -1)
		close(s->sfd);
	s->efd = s->sfd = -1;
	s->nn = 0;
	s->lazy = 0;
	s->slen = 0;
	itab_free(&s->made);
	itab_free(&s->links);
}

/*
 * Read the repository's data dir again and bring the slots up to date:
 * complete sessions are those at or before the oldest current_mirror
 * marker (a newer one is a session still being written).
 */
static void
scan(void)
{
	int64_t last, hold;
	size_t i, j;
	int found, changed = 0;

	if (repo_scan(&R) == -1) {
		hwarn("read %s", DATADIR);
		return;
	}
	incdir_close(&longincs.incs);
	longincs.tried = 0;
	last = R.nmarkers > 0 ? R.markers[0] : INT64_MIN;
	/* an interrupted prune's merge leaves those up to the removed one
	 * half done */
	if (journal_pending(R.datafd, NULL, &hold) != 1)
		hold = INT64_MIN;
	for (j = 1; j < nslots; j++) {
		found = 0;
		for (i = 0; i < R.ntimes && !found; i++)
			found = R.times[i] == slots[j].t &&
			    R.times[i] <= last && R.times[i] > hold;
		if (!found && !slots[j].gone) {
			slots[j].gone = 1;
			unload(&slots[j]);
			changed = 1;
		}
	}
	newest = 0;
	for (i = 0; i < R.ntimes && R.times[i] <= last; i++) {
		if (R.times[i] <= hold)
			continue;
		for (j = 1; j < nslots && (slots[j].t != R.times[i] ||
		    slots[j].retired); j++)
			;
		if (j == nslots) {
			if (nslots == MAX_SLOTS)
				break;
			slots = xreallocarray(slots, nslots + 1,
			    sizeof(*slots));
			memset(&slots[j], 0, sizeof(*slots));
			slots[j].t = R.times[i];
			slots[j].efd = slots[j].sfd = -1;
			nslots++;
			changed = 1;
		}
		if (slots[j].gone)
			changed = 1;
		slots[j].gone = 0;
		newest = j;
	}
	/* the kernel keeps the root's listing while its mtime stays */
	if (changed && rootmtime.tv_sec == 0 && newest != 0)
		rootmtime.tv_sec = (time_t)slots[newest].t;
	else if (changed)
		clock_gettime(CLOCK_REALTIME, &rootmtime);
}

/* Rescan when the root is looked at and the last scan is old. */
static void
maybe_scan(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if ((double)(now.tv_sec - lastscan.tv_sec) +
	    (double)(now.tv_nsec - lastscan.tv_nsec) / 1e9 < RESCAN_SECS)
		return;
	lastscan = now;
	scan();
}

/* An unlinked temp file: its descriptor, or -1 with errno. */
static int
tmp_open(void)
{
	return openat(tmpdirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
}

static void
wb_flush(struct ixw *w)
{
	if (w->len > 0 && !w->err && pwrite_full(w->fd, w->p, w->len,
	    w->off - w->len) == -1)
		w->err = errno;
	w->len = 0;
}

static void
wb_put(struct ixw *w, const void *p, size_t n)
{
	const unsigned char *c = p;
	size_t k;

	while (n > 0) {
		if (w->len == WB_SIZE)
			wb_flush(w);
		k = WB_SIZE - w->len < n ? WB_SIZE - w->len : n;
		memcpy(w->p + w->len, c, k);
		w->len += k;
		w->off += k;
		c += k;
		n -= k;
	}
}

static void
wb_u32(struct ixw *w, uint32_t v)
{
	wb_put(w, &v, sizeof v);
}

/*
 * A few blocks of the index files, which never change once written:
 * lookups, listings and stats read small pieces, mostly next to the
 * last ones.  Direct-mapped by descriptor and block; emptied whenever a
 * session's files are closed (their descriptors may be reused).
 */
#define RC_BLOCK	8192
#define RC_SLOTS	512

static struct rcblock {
	int		 fd;		/* -1: empty */
	uint64_t	 blk;
	size_t		 len;
	unsigned char	*p;
} rcache[RC_SLOTS];

static void
rc_clear(void)
{
	int i;

	for (i = 0; i < RC_SLOTS; i++)
		rcache[i].fd = -1;
}

/* Bytes [off, off + n) of fd into p: 0, or -1 with EIO. */
static int
readat(int fd, void *p, size_t n, uint64_t off)
{
	struct rcblock *b;
	uint64_t blk, in;
	size_t k;
	ssize_t r;

	while (n > 0) {
		blk = off / RC_BLOCK;
		in = off % RC_BLOCK;
		b = &rcache[((blk ^ (uint64_t)fd << 40) *
		    UINT64_C(0x9e3779b97f4a7c15)) >> 55];
		if (b->p == NULL)
			b->p = xmalloc(RC_BLOCK);
		if (b->fd != fd || b->blk != blk) {
			b->fd = -1;
			do
				r = pread(fd, b->p, RC_BLOCK,
				    (off_t)(blk * RC_BLOCK));
			while (r == -1 && errno == EINTR);
			if (r <= 0) {
				errno = EIO;
				return -1;
			}
			b->fd = fd;
			b->blk = blk;
			b->len = (size_t)r;
		}
		if (in >= b->len) {
			errno = EIO;
			return -1;
		}
		k = b->len - in < n ? b->len - (size_t)in : n;
		memcpy(p, b->p + in, k);
		p = (char *)p + k;
		off += k;
		n -= k;
	}
	return 0;
}

/*
 * A recorded SHA-1 in hex into 20 bytes: 1, or 0 when it is none.  The
 * metadata parser has checked that it is 40 hex digits (or empty), so
 * the digits are converted without branches: one per record, where
 * mispredicted branches cost most of the load.
 */
static int
sha1_bin(const char *hex, uint8_t *b)
{
	const unsigned char *h = (const unsigned char *)hex;
	int i;

	if (strlen(hex) != 40)
		return 0;
	for (i = 0; i < 20; i++)
		b[i] = (uint8_t)(((h[2 * i] & 15) + 9 * (h[2 * i] >> 6)) << 4 |
		    ((h[2 * i + 1] & 15) + 9 * (h[2 * i + 1] >> 6)));
	return 1;
}

/* Add the ACL a as attribute name to x, when it says more than the mode. */
static void
put_acl(struct xattrs *x, const char *name, const struct acl *a, size_t min)
{
	unsigned char *b;
	size_t len;

	if (a->n <= min)
		return;
	b = acl_encode(a, &len);
	xattrs_put(x, name, b, len);
	free(b);
}

/*
 * Record r's extended attributes and ACLs from the session's files (eaf,
 * aclf; NULL: none), as restore -r would set them, appended to w as
 * [count] then [name length][name][value length][value] each: the
 * bytes written.
 */
static uint32_t
put_xattrs(struct ixw *w, const struct rec *r, struct recfile *eaf,
    struct recfile *aclf, size_t *damaged)
{
	struct nodeext *ext;
	struct xattrs x = { NULL, 0 };
	size_t dropped = 0, i, n;
	uint64_t start = w->off;

	if (earec_ext(eaf, aclf, r, ids, &ext, damaged, &dropped) == -1) {
		(*damaged)++;
		return 0;
	}
	if (ext == NULL)
		return 0;
	if (ext->eas)
		for (i = 0; i < ext->x.n; i++)
			xattrs_put(&x, ext->x.a[i].name, ext->x.a[i].val,
			    ext->x.a[i].len);
	if (ext->acls && r->type != RT_SYM) {
		put_acl(&x, ACL_ACCESS_XATTR, &ext->acl, 3);
		if (r->type == RT_DIR)
			put_acl(&x, ACL_DEFAULT_XATTR, &ext->dacl, 0);
	}
	nodeext_free(ext);
	if (x.n > 0) {
		wb_u32(w, (uint32_t)x.n);
		for (i = 0; i < x.n; i++) {
			n = strlen(x.a[i].name);
			wb_u32(w, (uint32_t)n);
			wb_put(w, x.a[i].name, n);
			wb_u32(w, (uint32_t)x.a[i].len);
			wb_put(w, x.a[i].val, x.a[i].len);
		}
	}
	xattrs_free(&x);
	return w->off - start > XA_MAX ? 0 : (uint32_t)(w->off - start);
}

/* A directory open during the load: its index and path. */
struct ldir {
	uint32_t	 idx;
	char		*path;
	size_t		 len;
};

/*
 * Record r as entry idx, a child of parent named b[0..blen): *e, its
 * strings (name, symlink target, alternate names) appended to sw.
 */
static void
ient_make(struct ient *e, const struct rec *r, const char *b, size_t blen,
    uint32_t parent, uint32_t idx, struct ixw *sw)
{
	memset(e, 0, sizeof(*e));
	e->size = r->type == RT_REG ? r->size : 0;
	e->mtime = r->mtime;
	e->has_mtime = r->has_mtime != 0;
	e->mode = (uint32_t)rec_mode(r);
	e->uid = r->uid > UINT32_MAX - 1 ? 65534 : (uint32_t)r->uid;
	e->gid = r->gid > UINT32_MAX - 1 ? 65534 : (uint32_t)r->gid;
	e->major = (uint32_t)r->major;
	e->minor = (uint32_t)r->minor;
	e->parent = parent;
	e->group = idx;
	e->links = 1;
	e->has_sha1 = (uint8_t)sha1_bin(r->sha1, e->sha1);
	e->str = sw->off;
	e->namelen = (uint32_t)blen;
	wb_put(sw, b, blen);
	if (r->type == RT_SYM && r->symdata != NULL) {
		e->symlen = (uint32_t)r->symlen;
		wb_put(sw, r->symdata, r->symlen);
	}
	if (r->altmirror != NULL) {
		e->altmlen = (uint32_t)strlen(r->altmirror);
		wb_put(sw, r->altmirror, e->altmlen);
	}
	if (r->altinc != NULL) {
		e->altilen = (uint32_t)strlen(r->altinc);
		wb_put(sw, r->altinc, e->altilen);
	}
}

/*
 * The name of record r in directory dir (dlen bytes, "" the root) that
 * it is below, into *b and *blen, and r's path kept in *prev (*prevcap
 * bytes) for the next: 0, or -1 after saying (for session ts) why r is
 * no new entry of that directory (deeper, "." or "..", the last again).
 */
static int
entry_name(const struct rec *r, const char *dir, size_t dlen, const char *ts,
    const char **b, size_t *blen, char **prev, size_t *prevcap)
{
	*b = r->path + (dlen > 0 ? dlen + 1 : 0);
	*blen = *b > r->path + r->pathlen ? 0 :
	    r->pathlen - (size_t)(*b - r->path);
	if (*blen == 0 || memchr(*b, '/', *blen) != NULL ||
	    (*blen == 1 && (*b)[0] == '.') ||
	    (*blen == 2 && (*b)[0] == '.' && (*b)[1] == '.') ||
	    (*prev != NULL && strcmp(*prev, r->path) == 0)) {
		hwarnx("metadata of session %s: %s: not a new entry of a "
		    "directory of the session; left out", ts, shown(r->path));
		return -1;
	}
	if (r->pathlen + 1 > *prevcap) {
		*prevcap = (r->pathlen + 1) * 2;
		*prev = xrealloc(*prev, *prevcap);
	}
	memcpy(*prev, r->path, r->pathlen + 1);
	return 0;
}

/* Hard-link members met during the load, by device and inode. */
struct lmember {
	uint64_t	 devloc, ino;
	uint32_t	 idx;
};

static int
lmember_cmp(const void *a, const void *b)
{
	const struct lmember *x = a, *y = b;

	if (x->devloc != y->devloc)
		return x->devloc < y->devloc ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Set fields of record idx already written (the index file is flushed). */
static int
patch(struct session *s, uint32_t idx, size_t field, const void *v,
    size_t n)
{
	return pwrite_full(s->efd, v, n, (off_t)idx * sizeof(struct ient) +
	    (off_t)field);
}

/*
 * Session s's children lists and hard-link groups, from parent[] and
 * the members, written to its files.  0, or -1 with errno.
 */
static int
finish(struct session *s, struct ixw *sw, const uint32_t *parent,
    struct lmember *lm, size_t nlm)
{
	uint32_t *count, *kids, *fill, pair[2];
	size_t i, j, k;
	uint64_t sum = 0;

	count = xcalloc(s->nn, sizeof(*count));
	for (i = 1; i < s->nn; i++)
		count[parent[i]]++;
	fill = xcalloc(s->nn, sizeof(*fill));
	for (i = 0; i < s->nn; i++) {
		fill[i] = (uint32_t)sum;
		sum += count[i];
	}
	kids = xreallocarray(NULL, s->nn, sizeof(*kids));
	for (i = 1; i < s->nn; i++)
		kids[fill[parent[i]]++] = (uint32_t)i;
	s->kidsoff = sw->off;
	wb_put(sw, kids, (size_t)(s->nn - 1) * sizeof(*kids));
	wb_flush(sw);
	free(kids);
	for (i = 0; i < s->nn && !sw->err; i++) {
		if (count[i] == 0)
			continue;
		pair[0] = fill[i] - count[i];
		pair[1] = count[i];
		if (patch(s, (uint32_t)i, offsetof(struct ient, kids), pair,
		    sizeof pair) == -1)
			sw->err = errno;
	}
	free(count);
	free(fill);
	qsort(lm, nlm, sizeof(*lm), lmember_cmp);
	for (i = 0; i < nlm && !sw->err; i = j) {
		for (j = i + 1; j < nlm && lm[j].devloc == lm[i].devloc &&
		    lm[j].ino == lm[i].ino; j++)
			;
		pair[0] = lm[i].idx;
		pair[1] = (uint32_t)(j - i);
		for (k = i; k < j; k++)
			if (patch(s, lm[k].idx, offsetof(struct ient, group),
			    pair, sizeof pair) == -1)
				sw->err = errno;
	}
	if (sw->err) {
		errno = sw->err;
		return -1;
	}
	return 0;
}

/*
 * Lazy sessions.  Records go to the ends of the session's files: ew and
 * sw write there, and the block cache forgets what it holds of them.
 */
static void
lazy_open(struct session *s, struct ixw *ew, struct ixw *sw)
{
	ew->fd = s->efd;
	ew->off = (uint64_t)s->nn * sizeof(struct ient);
	sw->fd = s->sfd;
	sw->off = s->slen;
	ew->p = xmalloc(WB_SIZE);
	sw->p = xmalloc(WB_SIZE);
	ew->len = sw->len = 0;
	ew->err = sw->err = 0;
}

/* Flush ew and sw: 0, or -1 with errno (the new records then unread). */
static int
lazy_close(struct session *s, struct ixw *ew, struct ixw *sw, uint32_t nn)
{
	int e;

	wb_flush(ew);
	wb_flush(sw);
	free(ew->p);
	free(sw->p);
	rc_clear();
	if ((e = ew->err ? ew->err : sw->err) != 0) {
		errno = e;
		return -1;
	}
	s->nn = nn;
	s->slen = sw->off;
	return 0;
}

/*
 * Append record r, named b[0..blen), a child of parent, as entry nn
 * (then nn + 1).  A directory is unread; a file with links joins the
 * group of the first member read, and counts the links it recorded.
 */
static void
lazy_add(struct session *s, struct ixw *ew, struct ixw *sw,
    const struct rec *r, const char *b, size_t blen, uint32_t parent,
    uint32_t *nn)
{
	struct ient e;
	int64_t g;

	ient_make(&e, r, b, blen, parent, *nn, sw);
	e.unread = r->type == RT_DIR;
	if (r->type == RT_REG && r->nlink > 1) {
		if ((g = itab_get(&s->links, r->devloc, r->ino, NULL)) != -1)
			e.group = (uint32_t)g;
		else
			itab_put(&s->links, r->devloc, r->ino, *nn);
		e.links = r->nlink > UINT32_MAX ? UINT32_MAX :
		    (uint32_t)r->nlink;
	}
	wb_put(ew, &e, sizeof(e));
	(*nn)++;
}

/*
 * Is session s half merged by a prune (its journal pending, s at or
 * before the session it removes)?  Its metadata files are then a mix of
 * old and new: nothing of it is read until the merge is finished.
 */
static int
merging(const struct session *s)
{
	int64_t hold;

	return journal_pending(R.datafd, NULL, &hold) == 1 && s->t <= hold;
}

/*
 * Session s's metadata from about path on (meta_at_seek; NULL: all),
 * its files opened while the data dir did not change and no merge was
 * pending, so that they are of one state of the repository.  A file of
 * the chain may have gone meanwhile (snap made the snapshot a diff,
 * prune merged): the list of metadata files is read again (not the
 * sessions: scan() may move the slots callers point into).  A chain
 * that cannot be read in parts any more (rdiff-backup wrote to it) is
 * read from its start.
 * NULL with errno ESTALE (the session is gone or half merged) or EIO.
 */
static struct meta_at *
lazy_seek(struct session *s, const char *path, size_t len, int bg)
{
	struct meta_at *m;
	struct stat a, b;
	int tries;

	for (tries = 0; tries < 4; tries++) {
		if (merging(s)) {
			errno = ENOENT;
			break;
		}
		if (fstat(R.datafd, &a) == -1)
			break;
		if ((m = meta_at_seek(&R, s->t, path, len, bg)) == NULL &&
		    (errno == ENOTSUP || errno == EBADMSG))
			m = meta_at_open(&R, s->t);
		if (m != NULL) {
			if (fstat(R.datafd, &b) == 0 && !merging(s) &&
			    a.st_mtim.tv_sec == b.st_mtim.tv_sec &&
			    a.st_mtim.tv_nsec == b.st_mtim.tv_nsec)
				return m;
			meta_at_close(m);	/* changed meanwhile: again */
			errno = EAGAIN;
		} else if (errno != ENOENT)
			break;
		if (repo_scan(&R) == -1)
			break;
	}
	/* ENOENT: the session has gone */
	errno = errno == ENOENT ? ESTALE : EIO;
	return NULL;
}

/* An entry looked up by name in unread directory parent, or -1. */
static int64_t
lazy_made(struct session *s, uint32_t parent, const char *name, size_t len)
{
	struct ient k;
	char b[NAME_MAX + 1];
	uint64_t h = fnv1a(FNV1A_INIT, name, len);
	size_t at;
	int64_t i;

	if (s->made.cap == 0)
		return -1;
	at = itab_home(&s->made, parent, h);
	while ((i = itab_get(&s->made, parent, h, &at)) != -1)
		if (ient_get(s, (uint32_t)i, &k) == 0 && k.namelen == len &&
		    len <= NAME_MAX && readat(s->sfd, b, len, k.str) == 0 &&
		    memcmp(b, name, len) == 0)
			return i;
	return -1;
}

/*
 * Start session s lazily: its root as entry 0.  0, or -1 with errno
 * (ENOTSUP: the session cannot be read in parts; nothing was written).
 */
static int
lazy_start(struct session *s)
{
	struct ixw ew, sw;
	struct meta_at *m;
	struct rec *r;
	struct stat st;
	const char *kinds[2] = { EAFILE, ACLFILE };
	struct recfile *f;
	char *fname;
	uint32_t nn = 0;
	int i, rv;

	for (i = 0; i < 2; i++) {
		f = recfile_at(R.datafd, kinds[i], s->t, &fname);
		rv = f == NULL ? (errno == ENOENT ? 0 : -1) :
		    fstatat(R.datafd, fname, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    st.st_size == 0 ? 0 : -1;
		if (f != NULL)
			recfile_close(f);
		free(fname);
		if (rv == -1) {
			errno = ENOTSUP;
			return -1;
		}
	}
	if ((m = meta_at_seek(&R, s->t, "", 0, 0)) == NULL)
		return -1;
	rv = meta_at_next(m, &r);
	if (rv != 1 || r->pathlen != 0 || r->type != RT_DIR) {
		meta_at_close(m);
		errno = ENOTSUP;	/* the whole load says what is wrong */
		return -1;
	}
	lazy_open(s, &ew, &sw);
	lazy_add(s, &ew, &sw, r, "", 0, 0, &nn);
	meta_at_close(m);
	if (lazy_close(s, &ew, &sw, nn) == -1)
		return -1;
	s->kidsoff = 0;		/* children lists are where entries say */
	s->lazy = 1;
	return 0;
}

/*
 * Look up name in directory didx of lazy session s, which is unread:
 * its record alone, from where the metadata has it.  1 with *idxp, 0
 * when there is none, -1 with errno.
 */
static int
lazy_lookup(struct session *s, uint32_t didx, const char *name,
    uint32_t *idxp)
{
	struct ixw ew, sw;
	struct meta_at *m;
	struct rec *r;
	char ts[TIMESTR_LEN], *dir, *path;
	size_t nlen = strlen(name), plen;
	uint32_t nn = s->nn;
	int64_t i;
	int rv, c = 1;

	if ((i = lazy_made(s, didx, name, nlen)) != -1) {
		*idxp = (uint32_t)i;
		return 1;
	}
	if ((dir = path_of(s, didx)) == NULL)
		return -1;
	path = xmalloc(strlen(dir) + nlen + 2);
	sprintf(path, "%s%s%s", dir, dir[0] ? "/" : "", name);
	free(dir);
	plen = strlen(path);
	if ((m = lazy_seek(s, path, plen, 0)) == NULL) {
		free(path);
		return -1;
	}
	while ((rv = meta_at_next(m, &r)) == 1 &&
	    (c = pathcmp(r->path, r->pathlen, path, plen)) < 0)
		;
	if (rv == 1 && c == 0) {
		lazy_open(s, &ew, &sw);
		lazy_add(s, &ew, &sw, r, name, nlen, didx, &nn);
		if (lazy_close(s, &ew, &sw, nn) == -1)
			rv = -1;
		else {
			itab_put(&s->made, didx, fnv1a(FNV1A_INIT, name, nlen),
			    nn - 1);
			*idxp = nn - 1;
		}
	} else if (rv == 1 || rv == 0)
		rv = 0;
	else {
		timestr_format(s->t, ts);
		hwarnx("metadata of session %s: %s", ts, meta_at_error(m));
		errno = EIO;
	}
	meta_at_close(m);
	free(path);
	return rv;
}

/* A directory being read by lazy_read, and its children so far. */
struct rdir {
	uint32_t	 idx;
	char		*path;
	size_t		 len;
	uint32_t	*kids;
	size_t		 nkids, cap;
};

/*
 * Write d's children (in the order read: by name) and mark it read, in
 * the records written so far (ew flushed first).
 */
static int
rdir_done(struct session *s, struct ixw *ew, struct ixw *sw, struct rdir *d)
{
	uint32_t pair[2];
	uint8_t zero = 0;

	wb_flush(ew);
	if (ew->err) {
		errno = ew->err;
		return -1;
	}
	while (sw->off % sizeof(uint32_t) != 0)
		wb_put(sw, &zero, 1);
	if (sw->off / sizeof(uint32_t) > UINT32_MAX) {
		errno = EFBIG;
		return -1;
	}
	pair[0] = (uint32_t)(sw->off / sizeof(uint32_t));
	pair[1] = (uint32_t)d->nkids;
	wb_put(sw, d->kids, d->nkids * sizeof(*d->kids));
	wb_flush(sw);
	free(d->kids);
	free(d->path);
	d->kids = NULL;
	d->path = NULL;
	if (sw->err) {
		errno = sw->err;
		return -1;
	}
	if (patch(s, d->idx, offsetof(struct ient, kids), pair,
	    sizeof pair) == -1 || patch(s, d->idx, offsetof(struct ient,
	    unread), &zero, 1) == -1)
		return -1;
	return 0;
}

/*
 * Read the subtree of directory didx of lazy session s: every entry
 * below it not read yet, every unread directory in it listed.  Entries
 * looked up before are taken as they are; directories read before are
 * passed over.  0, or -1 with errno.
 */
static int
lazy_read(struct session *s, uint32_t didx)
{
	struct ixw ew, sw;
	struct meta_at *m;
	struct rec *r;
	struct rdir *st = NULL;
	struct ient k;
	char ts[TIMESTR_LEN], *top, *skip = NULL, *prev = NULL;
	size_t depth = 0, cap = 0, skiplen = 0, topl, blen, prevcap = 0;
	uint32_t nn = s->nn, idx;
	const char *b;
	int64_t had;
	int rv, c, err = 0;

	rc_clear();
	timestr_format(s->t, ts);
	if ((top = path_of(s, didx)) == NULL)
		return -1;
	topl = strlen(top);
	if ((m = lazy_seek(s, top, topl, 2)) == NULL) {
		free(top);
		return -1;
	}
	lazy_open(s, &ew, &sw);
	cap = 16;
	st = xcalloc(cap, sizeof(*st));
	st[0].idx = didx;
	st[0].path = top;
	st[0].len = topl;
	depth = 1;
	while ((rv = meta_at_next(m, &r)) != 0) {
		if (rv == -1) {
			hwarnx("metadata of session %s: %s", ts,
			    meta_at_error(m));
			if (meta_at_failed(m)) {
				err = EIO;
				break;
			}
			continue;
		}
		if ((c = pathcmp(r->path, r->pathlen, top, topl)) <= 0)
			continue;
		if (!path_below(r->path, r->pathlen, top, topl))
			break;
		if (skip != NULL && path_below(r->path, r->pathlen, skip,
		    skiplen))
			continue;
		while (depth > 1 && !path_below(r->path, r->pathlen,
		    st[depth - 1].path, st[depth - 1].len)) {
			if (rdir_done(s, &ew, &sw, &st[--depth]) == -1) {
				err = errno;
				break;
			}
		}
		if (err)
			break;
		if (entry_name(r, st[depth - 1].path, st[depth - 1].len, ts,
		    &b, &blen, &prev, &prevcap) == -1)
			continue;
		if ((had = lazy_made(s, st[depth - 1].idx, b, blen)) != -1) {
			idx = (uint32_t)had;
			if (ient_get(s, idx, &k) == -1) {
				err = errno;
				break;
			}
		} else {
			if (nn == UINT32_MAX - 1) {
				err = EFBIG;
				break;
			}
			idx = nn;
			lazy_add(s, &ew, &sw, r, b, blen, st[depth - 1].idx,
			    &nn);
			k.unread = r->type == RT_DIR;
			k.mode = (uint32_t)rec_mode(r);
		}
		if (st[depth - 1].nkids == st[depth - 1].cap) {
			st[depth - 1].cap = st[depth - 1].cap ?
			    2 * st[depth - 1].cap : 16;
			st[depth - 1].kids = xreallocarray(st[depth - 1].kids,
			    st[depth - 1].cap, sizeof(uint32_t));
		}
		st[depth - 1].kids[st[depth - 1].nkids++] = idx;
		if (!S_ISDIR(k.mode) || r->type != RT_DIR)
			continue;
		if (!k.unread) {
			/* read before, with all below it */
			free(skip);
			skip = xmemdup(r->path, r->pathlen + 1);
			skiplen = r->pathlen;
			continue;
		}
		if (depth == cap) {
			cap *= 2;
			st = xreallocarray(st, cap, sizeof(*st));
		}
		memset(&st[depth], 0, sizeof(*st));
		st[depth].idx = idx;
		st[depth].path = xmemdup(r->path, r->pathlen + 1);
		st[depth++].len = r->pathlen;
	}
	if (rv == -1 && err == 0 && meta_at_failed(m))
		err = EIO;
	meta_at_close(m);
	free(skip);
	free(prev);
	/* the records first: the children lists name them */
	wb_flush(&ew);
	if (err == 0 && ew.err)
		err = ew.err;
	if (err == 0)
		s->nn = nn;
	while (depth > 0) {
		depth--;
		if (err == 0 && rdir_done(s, &ew, &sw, &st[depth]) == -1)
			err = errno;
		free(st[depth].kids);
		free(st[depth].path);
	}
	free(st);
	if (lazy_close(s, &ew, &sw, nn) == -1 && err == 0)
		err = errno;
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}

/*
 * Build session s's index from its metadata, into two temp files.
 * Damaged records are reported and left out, as restore leaves them
 * out; 0, or -1 (EIO) when the metadata cannot be read or has no root.
 */
static int
load(struct session *s)
{
	struct meta_at *m;
	struct rec *r;
	struct recfile *eaf, *aclf;
	struct ixw ew = { -1, NULL, 0, 0, 0 }, sw = { -1, NULL, 0, 0, 0 };
	struct ldir *stack = NULL;
	struct lmember *lm = NULL;
	struct ient e;
	uint32_t *parent = NULL;
	size_t depth = 0, scap = 0, pcap = 0, nlm = 0, lcap = 0, i, loaded = 0;
	size_t oldest = 0, damaged = 0, blen;
	char ts[TIMESTR_LEN], *fname, *prev = NULL;
	size_t prevcap = 0;
	const char *b;
	int rv, bad = 0;

	s->used = ++clock_use;
	if (s->efd != -1)
		return 0;
	for (i = 1; i < nslots; i++)
		if (slots[i].efd != -1) {
			loaded++;
			if (oldest == 0 || slots[i].used < slots[oldest].used)
				oldest = i;
		}
	if (loaded >= MAX_LOADED) {
		/*
		 * A lazy session's entry numbers cannot be made again: its
		 * slot is retired (what the kernel still holds of it is
		 * stale) and the next look at the root gives the session a
		 * new one.
		 */
		if (slots[oldest].lazy) {
			slots[oldest].gone = slots[oldest].retired = 1;
			lastscan.tv_sec = 0;
			lastscan.tv_nsec = 0;
		}
		unload(&slots[oldest]);
	}
	timestr_format(s->t, ts);
	if ((s->efd = tmp_open()) == -1 || (s->sfd = tmp_open()) == -1) {
		hwarn("session %s: index file in %s", ts, "TMPDIR");
		unload(s);
		errno = EIO;
		return -1;
	}
	if (merging(s)) {
		unload(s);
		errno = ESTALE;
		return -1;
	}
	if (getenv("RESTORE_M_WHOLE") == NULL && lazy_start(s) == 0)
		return 0;
	if ((m = lazy_seek(s, NULL, 0, 1)) == NULL) {
		hwarn("metadata of session %s", ts);
		unload(s);
		errno = EIO;
		return -1;
	}
	eaf = recfile_at(R.datafd, EAFILE, s->t, &fname);
	if (eaf == NULL && errno != ENOENT)
		hwarn("session %s: open %s", ts, fname);
	free(fname);
	aclf = recfile_at(R.datafd, ACLFILE, s->t, &fname);
	if (aclf == NULL && errno != ENOENT)
		hwarn("session %s: open %s", ts, fname);
	free(fname);
	ew.fd = s->efd;
	sw.fd = s->sfd;
	ew.p = xmalloc(WB_SIZE);
	sw.p = xmalloc(WB_SIZE);
	s->nn = 0;
	while ((rv = meta_at_next(m, &r)) != 0) {
		if (rv == -1) {
			hwarnx("metadata of session %s: %s", ts,
			    meta_at_error(m));
			if (meta_at_failed(m))
				break;
			continue;
		}
		if (s->nn == 0 && (r->pathlen != 0 || r->type != RT_DIR))
			break;		/* no root: nothing to show */
		b = r->path;
		blen = r->pathlen;
		if (s->nn > 0) {
			while (depth > 1 && !path_below(r->path, r->pathlen,
			    stack[depth - 1].path, stack[depth - 1].len))
				depth--;
			if (entry_name(r, stack[depth - 1].path,
			    stack[depth - 1].len, ts, &b, &blen, &prev,
			    &prevcap) == -1)
				continue;
		}
		if (s->nn == UINT32_MAX - 1)
			break;
		ient_make(&e, r, b, blen, depth > 0 ? stack[depth - 1].idx : 0,
		    s->nn, &sw);
		if (eaf != NULL || aclf != NULL)
			e.xalen = put_xattrs(&sw, r, eaf, aclf, &damaged);
		wb_put(&ew, &e, sizeof(e));
		if (s->nn == pcap) {
			pcap = pcap ? pcap * 2 : 1024;
			parent = xreallocarray(parent, pcap, sizeof(*parent));
		}
		parent[s->nn] = e.parent;
		if (r->type == RT_REG && r->nlink > 1) {
			if (nlm == lcap) {
				lcap = lcap ? lcap * 2 : 64;
				lm = xreallocarray(lm, lcap, sizeof(*lm));
			}
			lm[nlm].devloc = r->devloc;
			lm[nlm].ino = r->ino;
			lm[nlm++].idx = s->nn;
		}
		if (r->type == RT_DIR) {
			if (depth == scap) {
				scap = scap ? scap * 2 : 64;
				stack = xreallocarray(stack, scap,
				    sizeof(*stack));
				memset(stack + depth, 0,
				    (scap - depth) * sizeof(*stack));
			}
			free(stack[depth].path);
			stack[depth].path = xmemdup(r->path, r->pathlen + 1);
			stack[depth].len = r->pathlen;
			stack[depth++].idx = s->nn;
		}
		s->nn++;
	}
	bad = meta_at_failed(m) || s->nn == 0;
	meta_at_close(m);
	if (eaf != NULL)
		recfile_close(eaf);
	if (aclf != NULL)
		recfile_close(aclf);
	if (damaged > 0)
		hwarnx("session %s: %zu damaged records in %s or %s; those "
		    "entries show none of that kind", ts, damaged, EAFILE,
		    ACLFILE);
	for (i = 0; i < scap; i++)
		free(stack[i].path);
	free(stack);
	free(prev);
	wb_flush(&ew);
	if (!bad && (ew.err || finish(s, &sw, parent, lm, nlm) == -1)) {
		errno = ew.err ? ew.err : errno;
		hwarn("session %s: index file", ts);
		bad = 1;
	}
	free(ew.p);
	free(sw.p);
	free(parent);
	free(lm);
	if (bad) {
		hwarnx("session %s: metadata unreadable or without its root",
		    ts);
		unload(s);
		errno = EIO;
		return -1;
	}
	return 0;
}

/* Record idx of session s into *e: 0, or -1 with errno. */
static int
ient_get(struct session *s, uint32_t idx, struct ient *e)
{
	if (idx >= s->nn) {
		errno = ESTALE;
		return -1;
	}
	return readat(s->efd, e, sizeof(*e), (uint64_t)idx * sizeof(*e));
}

/* n bytes of e's strings from skip on, as a new string; NULL: EIO. */
static char *
ient_str(struct session *s, const struct ient *e, uint64_t skip, size_t n)
{
	char *p = xmalloc(n + 1);

	if (readat(s->sfd, p, n, e->str + skip) == -1) {
		free(p);
		return NULL;
	}
	p[n] = '\0';
	return p;
}

/* The session and record of inode ino into *sp and *e: 0, or -1 (errno). */
static int
node_of(fuse_ino_t ino, struct session **sp, uint32_t *idxp, struct ient *e)
{
	uint64_t slot = ino >> SLOT_SHIFT, idx = ino & IDX_MASK;
	struct session *s;

	if (slot == 0 || slot >= nslots || idx == 0 || slots[slot].gone) {
		errno = ESTALE;
		return -1;
	}
	s = &slots[slot];
	if (load(s) == -1 || idx - 1 >= s->nn ||
	    ient_get(s, (uint32_t)(idx - 1), e) == -1) {
		if (errno != EIO)
			errno = ESTALE;
		return -1;
	}
	*sp = s;
	*idxp = (uint32_t)(idx - 1);
	return 0;
}

static fuse_ino_t
ino_of(const struct session *s, const struct ient *e)
{
	return (fuse_ino_t)((uint64_t)(s - slots) << SLOT_SHIFT |
	    (uint64_t)(e->group + 1));
}

static void
fill_stat(struct stat *st, const struct session *s, const struct ient *e)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino_of(s, e);
	st->st_mode = e->mode;
	if (S_ISCHR(e->mode) || S_ISBLK(e->mode))
		st->st_rdev = makedev(e->major, e->minor);
	st->st_nlink = S_ISDIR(e->mode) ? 2 : e->links;
	st->st_uid = e->uid;
	st->st_gid = e->gid;
	if (S_ISREG(e->mode))
		st->st_size = e->size > INT64_MAX ? INT64_MAX : (off_t)e->size;
	else if (S_ISLNK(e->mode))
		st->st_size = (off_t)e->symlen;
	else if (S_ISDIR(e->mode))
		st->st_size = 4096;
	st->st_blksize = 4096;
	st->st_blocks = (st->st_size + 511) / 512;
	st->st_mtim.tv_sec = (time_t)(e->has_mtime ? e->mtime : s->t);
	st->st_atim = st->st_mtim;
	st->st_ctim = st->st_mtim;
}

static void
root_stat(struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = FUSE_ROOT_ID;
	st->st_mode = S_IFDIR | 0555;
	st->st_nlink = 2;
	st->st_uid = getuid();
	st->st_gid = getgid();
	st->st_size = 4096;
	st->st_blksize = 4096;
	st->st_mtim = rootmtime;
	st->st_atim = st->st_mtim;
	st->st_ctim = st->st_mtim;
}

static void
current_stat(struct stat *st)
{
	char ts[TIMESTR_LEN];

	root_stat(st);
	st->st_ino = CURRENT_INO;
	st->st_mode = S_IFLNK | 0777;
	st->st_nlink = 1;
	timestr_format(slots[newest].t, ts);
	st->st_size = (off_t)strlen(ts);
	st->st_blocks = 0;
}

/* The slot of the session named name (as restore -l prints it), or 0. */
static size_t
session_named(const char *name)
{
	char ts[TIMESTR_LEN];
	size_t j;

	for (j = 1; j < nslots; j++) {
		if (slots[j].gone)
			continue;
		timestr_format(slots[j].t, ts);
		if (strcmp(ts, name) == 0)
			return j;
	}
	return 0;
}

/* Child j of directory d: its index into *idx and record into *k. */
static int
kid(struct session *s, const struct ient *d, uint32_t j, uint32_t *idx,
    struct ient *k)
{
	if (readat(s->sfd, idx, sizeof(*idx), s->kidsoff +
	    ((uint64_t)d->kids + j) * sizeof(*idx)) == -1)
		return -1;
	return ient_get(s, *idx, k);
}

/*
 * The child named name of directory d into *k and its index into *idxp:
 * 1, 0 when there is none, -1 with errno.
 */
static int
child_named(struct session *s, uint32_t didx, const struct ient *d,
    const char *name, struct ient *k, uint32_t *idxp)
{
	uint32_t lo = 0, hi = d->nkids, mid, idx;
	size_t nlen = strlen(name);
	char b[NAME_MAX + 1];
	int c;

	if (d->unread) {
		if ((c = lazy_lookup(s, didx, name, idxp)) == 1 &&
		    ient_get(s, *idxp, k) == -1)
			return -1;
		return c;
	}
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (kid(s, d, mid, &idx, k) == -1)
			return -1;
		if (k->namelen > NAME_MAX)
			return 0;	/* names out of order: not there */
		if (readat(s->sfd, b, k->namelen, k->str) == -1)
			return -1;
		c = memcmp(b, name, k->namelen < nlen ? k->namelen : nlen);
		if (c == 0)
			c = k->namelen < nlen ? -1 : k->namelen > nlen;
		if (c == 0) {
			*idxp = idx;
			return 1;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/*
 * Who stats what they list.  READDIRPLUS makes the kernel build an inode
 * for every entry it returns with attributes, which costs it more than
 * the listing: worth it for ls -l, tar or diff -r, a waste for find,
 * which needs only names and types.  So a process gets attributes for
 * its first two listings and then only if it has looked up a file in a
 * directory it listed (the kernel had no inode for it: a listing without
 * attributes); else names only, directories still with theirs (they are
 * looked up to be entered).  Whoever stats what it lists shows it by the
 * third directory at the latest and gets attributes from then on.  A few
 * processes are remembered, the least recently seen forgotten.
 */
#define LISTERS	16
#define QUIET	2	/* listings with attributes before any look-up */

static struct lister {
	pid_t		 pid;
	fuse_ino_t	 dir;		/* its last listing */
	int		 listings;
	int		 stats;		/* has looked up a file it listed */
	uint64_t	 seen;
} listers[LISTERS];
static uint64_t lister_clock;

static struct lister *
lister_of(pid_t pid, int make)
{
	struct lister *l, *old = &listers[0];

	if (pid == 0)		/* from another pid namespace: unknown */
		return NULL;
	for (l = listers; l < listers + LISTERS; l++) {
		if (l->pid == pid && pid != 0) {
			l->seen = ++lister_clock;
			return l;
		}
		if (l->seen < old->seen)
			old = l;
	}
	if (!make)
		return NULL;
	memset(old, 0, sizeof(*old));
	old->pid = pid;
	old->seen = ++lister_clock;
	return old;
}

static void
hf_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	struct lister *who;
	struct session *s;
	struct ient d, k;
	uint32_t idx;
	size_t j;
	int rv;

	memset(&e, 0, sizeof(e));
	if (parent == FUSE_ROOT_ID) {
		maybe_scan();
		e.attr_timeout = e.entry_timeout = TTL_ROOT;
		if (strcmp(name, "current") == 0 && newest != 0) {
			current_stat(&e.attr);
		} else if ((j = session_named(name)) != 0) {
			s = &slots[j];
			if (load(s) == -1 || ient_get(s, 0, &d) == -1) {
				fuse_reply_err(req, EIO);
				return;
			}
			fill_stat(&e.attr, s, &d);
			e.attr_timeout = TTL_SESSION;
		} else {
			fuse_reply_entry(req, &e);	/* negative, briefly */
			return;
		}
		e.ino = e.attr.st_ino;
		fuse_reply_entry(req, &e);
		return;
	}
	if (node_of(parent, &s, &idx, &d) == -1) {
		fuse_reply_err(req, errno);
		return;
	}
	e.attr_timeout = e.entry_timeout = TTL_SESSION;
	if (!S_ISDIR(d.mode) || (rv = child_named(s, idx, &d, name, &k, &idx)) ==
	    0) {
		fuse_reply_entry(req, &e);
		return;
	}
	if (rv == -1) {
		fuse_reply_err(req, errno);
		return;
	}
	if (!S_ISDIR(k.mode) &&
	    (who = lister_of(fuse_req_ctx(req)->pid, 0)) != NULL &&
	    who->dir == parent)
		who->stats = 1;
	fill_stat(&e.attr, s, &k);
	e.ino = e.attr.st_ino;		/* the node: its group's record */
	e.attr.st_ino = file_ino(s, idx, &k);
	fuse_reply_entry(req, &e);
}

static void
hf_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct session *s;
	struct ient e;
	struct stat st;
	uint32_t idx;

	if (ino == FUSE_ROOT_ID) {
		maybe_scan();
		root_stat(&st);
		fuse_reply_attr(req, &st, TTL_ROOT);
		return;
	}
	if (ino == CURRENT_INO) {
		maybe_scan();
		if (newest == 0) {
			fuse_reply_err(req, ENOENT);
			return;
		}
		current_stat(&st);
		fuse_reply_attr(req, &st, TTL_ROOT);
		return;
	}
	if (node_of(ino, &s, &idx, &e) == -1) {
		fuse_reply_err(req, errno);
		return;
	}
	fill_stat(&st, s, &e);
	st.st_ino = file_ino(s, idx, &e);
	fuse_reply_attr(req, &st, TTL_SESSION);
}

static void
hf_readlink(fuse_req_t req, fuse_ino_t ino)
{
	char ts[TIMESTR_LEN], *t;
	struct session *s;
	struct ient e;
	uint32_t idx;

	if (ino == CURRENT_INO) {
		if (newest == 0) {
			fuse_reply_err(req, ENOENT);
			return;
		}
		timestr_format(slots[newest].t, ts);
		fuse_reply_readlink(req, ts);
		return;
	}
	if (node_of(ino, &s, &idx, &e) == -1) {
		fuse_reply_err(req, errno);
		return;
	}
	if (!S_ISLNK(e.mode) || e.symlen == 0 || e.symlen > PATH_MAX) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if ((t = ient_str(s, &e, e.namelen, e.symlen)) == NULL) {
		fuse_reply_err(req, EIO);
		return;
	}
	fuse_reply_readlink(req, t);
	free(t);
}

/* A buffer for a readdir reply of size bytes (at most 1 MiB), reused. */
static char *
reply_buf(size_t size)
{
	static char *buf;
	static size_t cap;

	if (size > cap) {
		free(buf);
		buf = xmalloc(size);
		cap = size;
	}
	return buf;
}

static void
cf_drop(struct cfile **pp)
{
	struct cfile *c = *pp;

	*pp = c->next;
	close(c->fd);
	free(c);
}

/*
 * Keep at most CACHE_FILES released files and CACHE_BYTES in all.  Files
 * being read are held: by their opens, or without opens by struct nref.
 */
static void
cf_trim(void)
{
	struct cfile **pp, **victim;
	uint64_t bytes;
	size_t files;

	for (;;) {
		bytes = 0;
		files = 0;
		victim = NULL;
		for (pp = &cfiles; *pp != NULL; pp = &(*pp)->next) {
			if ((*pp)->rebuilt)
				bytes += (*pp)->size;
			if ((*pp)->refs == 0) {
				files++;
				victim = pp;	/* the last: least recent */
			}
		}
		if (victim == NULL ||
		    (files <= CACHE_FILES && bytes <= CACHE_BYTES))
			return;
		cf_drop(victim);
	}
}

/* The path of record idx of session s (a new string), or NULL (EIO). */
static char *
path_of(struct session *s, uint32_t idx)
{
	struct ient e;
	char *p = xstrdup(""), *n, *q;
	unsigned depth = 0;

	while (idx != 0) {
		if (ient_get(s, idx, &e) == -1 || ++depth > s->nn ||
		    (n = ient_str(s, &e, 0, e.namelen)) == NULL) {
			free(p);
			errno = EIO;
			return NULL;
		}
		q = xmalloc(strlen(n) + strlen(p) + 2);
		sprintf(q, "%s%s%s", n, p[0] ? "/" : "", p);
		free(n);
		free(p);
		p = q;
		idx = e.parent;
	}
	return p;
}

/*
 * The listing of the increments of directory dir ("" : the root), or
 * NULL with errno.  The last one is kept while its directory's mtime
 * says nothing was added (a file after file of one directory lists it
 * once); a missing directory is looked for again each time.
 */
static struct incdir *
incs_of(const char *dir)
{
	static struct incdir incs = INCDIR_INIT;
	static char *cdir;
	static struct timespec cmtime;
	struct stat st;
	char *idir;
	int fd;

	if (cdir != NULL && strcmp(cdir, dir) == 0 && incs.fd != -1 &&
	    fstat(incs.fd, &st) == 0 && st.st_mtim.tv_sec == cmtime.tv_sec &&
	    st.st_mtim.tv_nsec == cmtime.tv_nsec)
		return &incs;
	incdir_close(&incs);
	free(cdir);
	cdir = NULL;
	idir = xmalloc(strlen(INCDIR) + strlen(dir) + 2);
	sprintf(idir, "%s%s%s", INCDIR, dir[0] ? "/" : "", dir);
	fd = open_below(R.datafd, idir, O_RDONLY | O_DIRECTORY);
	free(idir);
	if (fd != -1 && fstat(fd, &st) == 0)
		cmtime = st.st_mtim;
	else if (fd != -1) {
		close(fd);
		fd = -1;
	}
	if (incdir_open(fd, &incs) == -1) {
		incdir_close(&incs);
		return NULL;
	}
	cdir = xstrdup(dir);
	return &incs;
}

/*
 * The mirror's directory dir ("": the root), opened below the repository
 * without following symlinks, or -1 with errno.  The last one is kept
 * while it is still linked; the caller does not close it.
 */
static int
mirror_dir(const char *dir)
{
	static char *cdir;
	static int cfd = -1;
	struct stat st;

	if (cdir != NULL && strcmp(cdir, dir) == 0 && fstat(cfd, &st) == 0 &&
	    st.st_nlink > 0)
		return cfd;
	if (cfd != -1)
		close(cfd);
	free(cdir);
	cdir = NULL;
	cfd = dir[0] == '\0' ? dup(R.fd) :
	    open_below(R.fd, dir, O_RDONLY | O_DIRECTORY);
	if (cfd != -1)
		cdir = xstrdup(dir);
	return cfd;
}

/* Where a regular file record's content is found in the repository. */
struct where {
	char		*path;		/* "a/b/c" */
	char		*dir;		/* "a/b", "" in the root */
	const char	*name;		/* "c" */
	char		*altm, *alti;	/* long-name references, or NULL */
	int		 mdirfd;	/* the mirror's directory, or -1 */
	int		 mfd;		/* where the mirror file is (mdirfd, or
					   long_filename_data's) */
	const char	*mname;
	const struct incent *incs;	/* its increments, oldest first */
	size_t		 n;
	int		 idirfd;
	char		 ts[TIMESTR_LEN];	/* the session, for messages */
};

static void
where_free(struct where *w)
{
	free(w->path);
	free(w->dir);
	free(w->altm);
	free(w->alti);
}

/*
 * Fill w for record e (index idx) of session s: 0, or -1 after saying
 * why (EIO).
 */
static int
where_of(struct session *s, uint32_t idx, const struct ient *e,
    struct where *w)
{
	struct incdir *incs;
	char *slash;

	memset(w, 0, sizeof(*w));
	timestr_format(s->t, w->ts);
	if ((w->path = path_of(s, idx)) == NULL ||
	    (e->altmlen > 0 && (w->altm = ient_str(s, e,
	    (uint64_t)e->namelen + e->symlen, e->altmlen)) == NULL) ||
	    (e->altilen > 0 && (w->alti = ient_str(s, e,
	    (uint64_t)e->namelen + e->symlen + e->altmlen,
	    e->altilen)) == NULL)) {
		hwarnx("session %s: index file unreadable", w->ts);
		where_free(w);
		errno = EIO;
		return -1;
	}
	if ((slash = strrchr(w->path, '/')) != NULL) {
		w->dir = xstrndup(w->path, (size_t)(slash - w->path));
		w->name = slash + 1;
	} else {
		w->dir = xstrdup("");
		w->name = w->path;
	}
	if ((incs = incs_of(w->dir)) == NULL) {
		hwarn("session %s: %s: list increments", w->ts, shown(w->path));
		where_free(w);
		errno = EIO;
		return -1;
	}
	w->incs = incs_find(R.datafd, &longincs, w->altm ? w->altm : w->alti,
	    incs, w->name, &w->n, &w->idirfd);
	w->mdirfd = mirror_dir(w->dir);
	w->mfd = w->altm != NULL ? longincs.incs.fd : w->mdirfd;
	w->mname = w->altm != NULL ? w->altm : w->name;
	return 0;
}

/*
 * Which file holds session s's version of w's content: the first of its
 * increments at or after s (the chain from there on makes it), or the
 * mirror file.  Sessions whose versions are the same file (same inode
 * and change time) have the same content.  0 with *mirror and *st, or
 * -1 with errno.
 */
static int
version(struct session *s, const struct where *w, int *mirror,
    struct stat *st)
{
	size_t first;

	for (first = 0; first < w->n && w->incs[first].t < s->t; first++)
		;
	*mirror = first == w->n;
	if (*mirror)
		return w->mfd == -1 ? -1 : fstatat(w->mfd, w->mname, st,
		    AT_SYMLINK_NOFOLLOW);
	return fstatat(w->idirfd, w->incs[first].name, st,
	    AT_SYMLINK_NOFOLLOW);
}

/*
 * The inode number of regular file record e named name in directory dir
 * of session s, when it has no hard links: one made from its path and
 * its content (the SHA-1 and size the metadata records), so that a file
 * with the same content in two sessions shows the same inode in both and
 * diff -r need not read it.  Without a recorded SHA-1, its version
 * stands for the content: the time of its first increment at or after
 * s, or the mirror (dir's increments listed, once per directory).
 * Others, and files with long-name references, keep their node's, node.
 */
static fuse_ino_t
ver_ino(struct session *s, const char *dir, const char *name,
    const struct ient *e, fuse_ino_t node)
{
	const struct incent *ie;
	struct incdir *incs;
	size_t n, first;
	unsigned char v[8];
	uint64_t t, h;
	int i;

	if (!S_ISREG(e->mode) || e->links != 1 || e->altmlen > 0 ||
	    e->altilen > 0)
		return node;
	h = fnv1a(FNV1A_INIT, dir, strlen(dir));
	h = fnv1a(h, "/", 1);
	h = fnv1a(h, name, strlen(name));
	if (e->has_sha1) {
		t = e->size;
		h = fnv1a(h, e->sha1, sizeof e->sha1);
	} else {
		if ((incs = incs_of(dir)) == NULL)
			return node;
		ie = incdir_find(incs, name, strlen(name), &n);
		for (first = 0; first < n && ie[first].t < s->t; first++)
			;
		t = (uint64_t)(first < n ? ie[first].t : INT64_MAX);
	}
	for (i = 0; i < 8; i++)
		v[i] = (unsigned char)(t >> (8 * i));
	h = fnv1a(h, v, sizeof v);
	return (fuse_ino_t)(UINT64_C(1) << 63 | (h >> 1));
}

/* ver_ino of record idx, its path found from the index. */
static fuse_ino_t
file_ino(struct session *s, uint32_t idx, const struct ient *e)
{
	fuse_ino_t ino = ino_of(s, e);
	char *path, *slash;

	if (!S_ISREG(e->mode) || e->links != 1 ||
	    (path = path_of(s, idx)) == NULL)
		return ino;
	if ((slash = strrchr(path, '/')) != NULL) {
		*slash = '\0';
		ino = ver_ino(s, path, slash + 1, e, ino);
	} else
		ino = ver_ino(s, "", path, e, ino);
	free(path);
	return ino;
}

/* Is c (verified content) session s's version of a file with record e? */
static int
cf_is(const struct cfile *c, const struct stat *st, const struct ient *e)
{
	return c->vino == st->st_ino && c->vdev == st->st_dev &&
	    c->vctime.tv_sec == st->st_ctim.tv_sec &&
	    c->vctime.tv_nsec == st->st_ctim.tv_nsec && c->size == e->size &&
	    (!e->has_sha1 || memcmp(c->sha1, e->sha1, 20) == 0);
}

/* Set while a first try may fail without a word (cf_get). */
static int quiet;

/* Content read as res against record e: 0, or -1 after saying what is wrong. */
static int
check(const struct where *w, const struct ient *e, const struct copyres *res)
{
	uint8_t got[20];

	if (e->has_sha1 && (!sha1_bin(res->sha1, got) ||
	    memcmp(got, e->sha1, sizeof got) != 0)) {
		if (!quiet)
			hwarnx("session %s: %s: SHA1 digest does not match the metadata "
		    "(damaged increment or mirror file)", w->ts, shown(w->path));
		return -1;
	}
	if (res->bytes != e->size) {
		if (!quiet)
			hwarnx("session %s: %s: size does not match the "
			    "metadata", w->ts, shown(w->path));
		return -1;
	}
	return 0;
}

/*
 * Session s's content of regular file record e (index idx), checked
 * against its recorded SHA-1 and size: a mirror file as it is, or one
 * rebuilt into an unlinked temp file.  Its descriptor, or -1 after
 * saying why.
 */
static int
content_fd(struct session *s, const struct where *w, const struct ient *e,
    int mirror)
{
	struct copyres res;
	const char *why;
	int fd, werr;

	if (mirror) {
		if (w->mfd == -1 || (fd = openat(w->mfd, w->mname, O_RDONLY |
		    O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) == -1) {
			if (!quiet)
				hwarn("session %s: %s: open mirror file",
				    w->ts, shown(w->path));
			return -1;
		}
		if (copy_fd(fd, -1, NULL, NULL, &res, &werr) == -1) {
			if (!quiet)
				hwarn("session %s: %s: read mirror file",
				    w->ts, shown(w->path));
			close(fd);
			return -1;
		}
	} else {
		if ((fd = tmp_open()) == -1) {
			hwarn("session %s: %s: temp file", w->ts, shown(w->path));
			return -1;
		}
		/*
		 * There is an increment at or after s: apply the chain from
		 * there to whatever mirror is there now, even when a session
		 * completed since the last rescan (repo_current would say
		 * the mirror is s's own).
		 */
		if (rebuild(w->mfd, w->mname, w->idirfd, w->incs, w->n, s->t,
		    INT64_MAX, tmpdirfd, fd, e->size, &res, &why) == -1) {
			if (!quiet)
				hwarn("session %s: %s: %s", w->ts,
				    shown(w->path), why);
			close(fd);
			return -1;
		}
	}
	if (check(w, e, &res) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * The verified content of node ino, at the front of the cache (found
 * there or made): NULL with *err set (after saying why, for EIO).
 */
static struct cfile *
cf_get(fuse_ino_t ino, int *err)
{
	struct session *s;
	struct ient e;
	struct cfile *c, **pp;
	struct where w;
	struct stat st, st2;
	uint32_t idx;
	int mirror, fd;

	*err = EIO;
	if (node_of(ino, &s, &idx, &e) == -1) {
		*err = errno;
		return NULL;
	}
	if (!S_ISREG(e.mode)) {
		*err = EACCES;
		return NULL;
	}
	/* a hard link's content is its group's first member's */
	if (e.group != idx) {
		idx = e.group;
		if (ient_get(s, idx, &e) == -1)
			return NULL;
	}
	if (where_of(s, idx, &e, &w) == -1)
		return NULL;
	if (version(s, &w, &mirror, &st) == -1) {
		hwarn("session %s: %s: %s", w.ts, shown(w.path), mirror ?
		    "mirror file" : "increment");
		where_free(&w);
		return NULL;
	}
	for (pp = &cfiles; *pp != NULL && !cf_is(*pp, &st, &e);
	    pp = &(*pp)->next)
		;
	if ((c = *pp) != NULL)
		*pp = c->next;		/* to the front */
	else {
		/*
		 * A snap may be writing the increment of the newest session
		 * that version() found while the mirror file still holds
		 * that session's content: try the mirror before failing, and
		 * say what failed only after both (a second, speaking try).
		 */
		quiet = 1;
		fd = content_fd(s, &w, &e, mirror);
		if (fd == -1 && !mirror && w.mfd != -1 && fstatat(w.mfd,
		    w.mname, &st2, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st2.st_mode) && (uint64_t)st2.st_size == e.size &&
		    (fd = content_fd(s, &w, &e, 1)) != -1) {
			mirror = 1;
			st = st2;
		}
		quiet = 0;
		if (fd == -1)
			fd = content_fd(s, &w, &e, mirror);
		if (fd == -1 ||
		    (mirror && (fstat(fd, &st2) == -1 ||
		    st2.st_ino != st.st_ino || st2.st_dev != st.st_dev))) {
			if (fd != -1) {
				hwarnx("session %s: %s: the mirror file changed "
				    "while opened", w.ts, shown(w.path));
				close(fd);
			}
			where_free(&w);
			return NULL;
		}
		c = xcalloc(1, sizeof(*c));
		c->fd = fd;
		c->size = e.size;
		c->vino = st.st_ino;
		c->vdev = st.st_dev;
		c->vctime = st.st_ctim;
		memcpy(c->sha1, e.sha1, 20);
		c->rebuilt = !mirror;
	}
	where_free(&w);
	c->next = cfiles;
	cfiles = c;
	return c;
}

/*
 * With zero-message opens (no_open) the kernel sends no OPEN or RELEASE
 * once the first OPEN is answered ENOSYS: reading a small file is then
 * one request instead of three, and each READ finds its content by node
 * (cf_get).  Without, an open holds its content until released.
 */
static int no_open, no_opendir;

static void
hf_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct cfile *c;
	int e;

	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (no_open) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	if ((c = cf_get(ino, &e)) == NULL) {
		fuse_reply_err(req, e);
		return;
	}
	c->refs++;
	fi->fh = (uint64_t)(uintptr_t)c;
	fi->keep_cache = 1;
	if (fuse_reply_open(req, fi) == -ENOENT)
		c->refs--;	/* interrupted */
	cf_trim();
}

/*
 * Without opens, what holds a file's content while it is read: the
 * nodes read last, each with a reference to its content until NREF_IDLE
 * seconds pass without a read of it (or NREFS newer nodes push it out).
 * A read in progress then goes on from the content it started with,
 * as an open file does, when snap or prune changes the repository
 * meanwhile; and large versions read together are not rebuilt again.
 */
#define NREFS		16
#define NREF_IDLE	5

static struct nref {
	fuse_ino_t	 ino;
	struct cfile	*c;
	time_t		 last;
} nrefs[NREFS];

static time_t
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* The content of node ino for a read without an open; NULL with *err. */
static struct cfile *
cf_node(fuse_ino_t ino, int *err)
{
	struct nref *n, *slot = &nrefs[0];
	struct cfile *c;
	time_t now = now_s();

	for (n = nrefs; n < nrefs + NREFS; n++) {
		if (n->c != NULL && n->ino == ino) {
			n->last = now;
			return n->c;
		}
		if (n->c != NULL && now - n->last > NREF_IDLE) {
			n->c->refs--;
			n->c = NULL;
		}
		if (slot->c != NULL && (n->c == NULL || n->last < slot->last))
			slot = n;
	}
	if ((c = cf_get(ino, err)) == NULL)
		return NULL;
	if (slot->c != NULL)
		slot->c->refs--;
	slot->ino = ino;
	slot->c = c;
	slot->last = now;
	c->refs++;
	return c;
}

static void
hf_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	static char *rbuf;
	static size_t rcap;
	struct cfile *c = (struct cfile *)(uintptr_t)fi->fh;
	struct stat st;
	ssize_t n;
	int e, tries = 0;

again:
	if (c == NULL && (c = cf_node(ino, &e)) == NULL) {
		fuse_reply_err(req, e);
		return;
	}
	/*
	 * Read into a buffer kept from one read to the next: libfuse's
	 * way with a descriptor (no splice here) allocates one per read,
	 * and musl gives its page back each time (madvise), which cost
	 * more than the read of a small file.
	 */
	if (size > rcap) {
		free(rbuf);
		rbuf = xmalloc(size);
		rcap = size;
	}
	while ((n = pread(c->fd, rbuf, size, off)) == -1 && errno == EINTR)
		;
	/*
	 * snap patches a mirror file in place once its increment is made:
	 * bytes read since are not this version's.  A write changes the
	 * change time before any byte.  Without an open, the node is
	 * looked up again (the increment now gives the version); an open
	 * file's content is gone.
	 */
	if (n != -1 && !c->rebuilt && (fstat(c->fd, &st) == -1 ||
	    st.st_ctim.tv_sec != c->vctime.tv_sec ||
	    st.st_ctim.tv_nsec != c->vctime.tv_nsec)) {
		if (fi->fh == 0 && tries++ < 3) {
			c = NULL;
			goto again;
		}
		hwarnx("a mirror file changed while open (snap patched it "
		    "in place): open it again");
		n = -1;
		errno = EIO;
	}
	if (n == -1)
		fuse_reply_err(req, errno);
	else
		fuse_reply_buf(req, rbuf, (size_t)n);
	if (fi->fh == 0)
		cf_trim();
}

static void
hf_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct cfile *c = (struct cfile *)(uintptr_t)fi->fh;

	if (c != NULL) {
		c->refs--;
		cf_trim();
	}
	fuse_reply_err(req, 0);
}

/*
 * Zero-message opens where the kernel has them (no_open, no_opendir: it
 * then keeps every listing, which never changes), and READDIRPLUS for
 * every part of a listing, not only the first, so that a walk gets its
 * directories' attributes with their names and looks none of them up.
 */
static void
hf_init(void *u, struct fuse_conn_info *conn)
{
	(void)u;
	no_open = (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT) != 0 &&
	    getenv("RESTORE_M_OPEN") == NULL;
	no_opendir = (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT) != 0 &&
	    getenv("RESTORE_M_OPEN") == NULL;
	conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
}

static void
hf_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;

	if (fstatvfs(R.fd, &sv) == -1) {
		fuse_reply_err(req, errno);
		return;
	}
	fuse_reply_statfs(req, &sv);
}

/*
 * Record e's attributes, parsed from its strings: 0 with *x (empty when
 * it has none), or -1 with errno.
 */
static int
xattrs_of(struct session *s, const struct ient *e, struct xattrs *x)
{
	unsigned char *b;
	uint32_t n, i, len, vlen;
	size_t at = 4;
	char *name;

	x->a = NULL;
	x->n = 0;
	if (e->xalen == 0)
		return 0;
	if ((b = (unsigned char *)ient_str(s, e, (uint64_t)e->namelen +
	    e->symlen + e->altmlen + e->altilen, e->xalen)) == NULL)
		return -1;
	memcpy(&n, b, 4);
	for (i = 0; i < n; i++) {
		if (e->xalen - at < 4)
			goto bad;
		memcpy(&len, b + at, 4);
		at += 4;
		if (e->xalen - at < len || e->xalen - at - len < 4)
			goto bad;
		name = xstrndup((char *)b + at, len);
		at += len;
		memcpy(&vlen, b + at, 4);
		at += 4;
		if (e->xalen - at < vlen) {
			free(name);
			goto bad;
		}
		xattrs_put(x, name, b + at, vlen);
		free(name);
		at += vlen;
	}
	free(b);
	return 0;
bad:
	free(b);
	xattrs_free(x);
	errno = EIO;
	return -1;
}

static void
hf_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct xattrs x;
	const struct xattr *a;
	struct session *s;
	struct ient e;
	uint32_t idx;

	if (ino == FUSE_ROOT_ID || ino == CURRENT_INO) {
		fuse_reply_err(req, ENODATA);
		return;
	}
	if (node_of(ino, &s, &idx, &e) == -1 || xattrs_of(s, &e, &x) == -1) {
		fuse_reply_err(req, errno);
		return;
	}
	if ((a = xattrs_find(&x, name)) == NULL)
		fuse_reply_err(req, ENODATA);
	else if (size == 0)
		fuse_reply_xattr(req, a->len);
	else if (size < a->len)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, (const char *)a->val, a->len);
	xattrs_free(&x);
}

static void
hf_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct xattrs x = { NULL, 0 };
	struct session *s;
	struct ient e;
	size_t len = 0, i, n;
	uint32_t idx;
	char *buf;

	if (ino != FUSE_ROOT_ID && ino != CURRENT_INO &&
	    (node_of(ino, &s, &idx, &e) == -1 || xattrs_of(s, &e, &x) == -1)) {
		fuse_reply_err(req, errno);
		return;
	}
	for (i = 0; i < x.n; i++)
		len += strlen(x.a[i].name) + 1;
	if (size == 0)
		fuse_reply_xattr(req, len);
	else if (size < len)
		fuse_reply_err(req, ERANGE);
	else {
		buf = xmalloc(len + 1);
		for (i = 0, len = 0; i < x.n; i++) {
			n = strlen(x.a[i].name) + 1;
			memcpy(buf + len, x.a[i].name, n);
			len += n;
		}
		fuse_reply_buf(req, buf, len);
		free(buf);
	}
	xattrs_free(&x);
}

/* A READDIR or READDIRPLUS reply being filled. */
struct listing {
	fuse_req_t	 req;
	int		 plus;
	char		*buf;
	size_t		 size, used;
};

/*
 * Add an entry at offset next: for READDIRPLUS with ep's attributes
 * (none when ep->ino is 0), else its name, inode number and type from
 * ep->attr.  0 when the buffer is full.
 */
static int
list_add(struct listing *l, const char *name,
    const struct fuse_entry_param *ep, off_t next)
{
	size_t n, room = l->size - l->used;

	if (l->plus)
		n = fuse_add_direntry_plus(l->req, l->buf + l->used, room,
		    name, ep, next);
	else
		n = fuse_add_direntry(l->req, l->buf + l->used, room, name,
		    &ep->attr, next);
	if (n > room)
		return 0;
	l->used += n;
	return 1;
}

/* An entry by name, inode number and type only. */
static int
list_name(struct listing *l, const char *name, mode_t mode, fuse_ino_t ino,
    off_t next)
{
	struct fuse_entry_param ep;

	memset(&ep, 0, sizeof(ep));
	ep.attr.st_ino = ino;
	ep.attr.st_mode = mode;
	return list_add(l, name, &ep, next);
}

/*
 * READDIR and READDIRPLUS of directory ino: ".", "..", then the root's
 * "current" and sessions (names only: a session's index is built when it
 * is looked up) or a session directory's children, at offsets OFF_FIRST
 * on.  READDIRPLUS gives the children's attributes to a process that
 * stats what it lists (struct lister), so that ls -l needs no lookup per
 * entry; inode numbers are the same either way.
 */
static void
list_dir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, int plus)
{
	struct listing l = { req, plus, NULL, 0, 0 };
	struct fuse_entry_param ep;
	struct session *s = NULL;
	struct lister *who;
	struct ient d, k;
	char ts[TIMESTR_LEN], name[NAME_MAX + 1], *dir = NULL;
	size_t j;
	uint32_t idx;
	int attrs = 0;

	if (ino != FUSE_ROOT_ID) {
		if (node_of(ino, &s, &idx, &d) == -1) {
			fuse_reply_err(req, errno);
			return;
		}
		if (!S_ISDIR(d.mode)) {
			fuse_reply_err(req, ENOTDIR);
			return;
		}
		if (d.unread && (lazy_read(s, idx) == -1 ||
		    ient_get(s, idx, &d) == -1)) {
			fuse_reply_err(req, EIO);
			return;
		}
		if ((dir = path_of(s, idx)) == NULL) {
			fuse_reply_err(req, EIO);
			return;
		}
		attrs = 1;
		if (plus && (who = lister_of(fuse_req_ctx(req)->pid, 1)) !=
		    NULL) {
			if ((off < OFF_FIRST || who->dir != ino) &&
			    who->listings <= QUIET)
				who->listings++;	/* a new listing */
			who->dir = ino;
			attrs = who->stats || who->listings <= QUIET;
		}
	}
	l.size = size > 1 << 20 ? 1 << 20 : size;
	l.buf = reply_buf(l.size);
	if ((off < 1 && !list_name(&l, ".", S_IFDIR, ino, 1)) ||
	    (off < 2 && !list_name(&l, "..", S_IFDIR, FUSE_ROOT_ID, 2)))
		goto out;
	if (s == NULL) {
		maybe_scan();
		if (off < OFF_FIRST && newest != 0 && !list_name(&l, "current",
		    S_IFLNK, CURRENT_INO, OFF_FIRST))
			goto out;
		for (j = off < OFF_FIRST ? 1 : (size_t)off - OFF_FIRST + 1;
		    j < nslots; j++) {
			if (slots[j].gone)
				continue;
			timestr_format(slots[j].t, ts);
			if (!list_name(&l, ts, S_IFDIR,
			    (fuse_ino_t)j << SLOT_SHIFT | 1,
			    (off_t)(j + OFF_FIRST)))
				break;
		}
		goto out;
	}
	memset(&ep, 0, sizeof(ep));
	ep.attr_timeout = ep.entry_timeout = TTL_SESSION;
	for (j = off < OFF_FIRST ? 0 : (size_t)off - OFF_FIRST + 1;
	    j < d.nkids; j++) {
		if (kid(s, &d, (uint32_t)j, &idx, &k) == -1) {
			if (l.used == 0) {
				fuse_reply_err(req, EIO);
				free(dir);
				return;
			}
			break;
		}
		if (k.namelen > NAME_MAX ||
		    readat(s->sfd, name, k.namelen, k.str) == -1)
			continue;	/* a name no lookup could find */
		name[k.namelen] = '\0';
		fill_stat(&ep.attr, s, &k);
		/* 0: a name only */
		ep.ino = attrs || S_ISDIR(k.mode) ? ep.attr.st_ino : 0;
		ep.attr.st_ino = ver_ino(s, dir, name, &k, ep.attr.st_ino);
		if (!list_add(&l, name, &ep, (off_t)(j + OFF_FIRST)))
			break;
	}
out:
	fuse_reply_buf(req, l.buf, l.used);
	free(dir);
}

static void
hf_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	list_dir(req, ino, size, off, 0);
}

static void
hf_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	list_dir(req, ino, size, off, 1);
}

/*
 * A session's directories never change: with no_opendir the kernel
 * keeps every listing (a process reading one stats each entry it wants
 * with a LOOKUP, ~100 of them for ls -l after find, fewer requests than
 * an OPENDIR and a RELEASEDIR per directory of every walk).  Without,
 * it keeps only those made with attributes (struct lister).
 */
static void
hf_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct lister *who;

	if (no_opendir) {
		fuse_reply_err(req, ENOSYS);
		return;
	}

	if (ino != FUSE_ROOT_ID &&
	    ((who = lister_of(fuse_req_ctx(req)->pid, 0)) == NULL ||
	    who->stats || who->listings < QUIET)) {
		fi->cache_readdir = 1;
		fi->keep_cache = 1;
	}
	fuse_reply_open(req, fi);
}

static const struct fuse_lowlevel_ops hf_ops = {
	.init = hf_init,
	.lookup = hf_lookup,
	.getattr = hf_getattr,
	.readlink = hf_readlink,
	.open = hf_open,
	.read = hf_read,
	.release = hf_release,
	.opendir = hf_opendir,
	.readdir = hf_readdir,
	.readdirplus = hf_readdirplus,
	.statfs = hf_statfs,
	.getxattr = hf_getxattr,
	.listxattr = hf_listxattr,
};

int
histfs_main(const char *repo, const char *mnt, int fg, char **command)
{
	struct fuse_args fa = FUSE_ARGS_INIT(0, NULL);
	struct fuse_session *se;
	sigset_t set;
	const char *tmp;
	char *o, *fsname, why[512];
	int notify = -1, rc;

	if (fm_usable(why, sizeof why) == -1)
		errx(EXIT_PERM, "mount %s on %s: %s", repo, mnt, why);
	if (repo_open(&R, repo) == -1)
		err(errno == ENOENT ? EXIT_PERM : EXIT_TEMP, "%s", repo);
	if (R.nmarkers == 0)
		errx(EXIT_PERM, "%s: no complete session (no current_mirror "
		    "marker)", repo);
	if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
		tmp = "/tmp";
	if ((tmpdirfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		err(EXIT_TEMP, "%s", tmp);
	slots = xcalloc(1, sizeof(*slots));
	ids = idmap_new(0);
	rc_clear();
	scan();
	clock_gettime(CLOCK_MONOTONIC, &lastscan);

	if (!fg && command == NULL && (notify = fm_daemon_fork(&rc)) < 0) {
		if (notify == -1)
			err(EXIT_TEMP, "fork");
		_exit(rc);
	}
	fm_block_signals(&set);
	fsname = fm_optescape(repo);
	o = xmalloc(strlen(fsname) + 64);
	sprintf(o, "ro,nosuid,nodev,subtype=restore,fsname=%s", fsname);
	free(fsname);
	if (fuse_opt_add_arg(&fa, "restore") == -1 ||
	    fuse_opt_add_arg(&fa, "-o") == -1 || fuse_opt_add_arg(&fa, o) == -1)
		errx(EXIT_TEMP, "out of memory");
	free(o);
	if ((se = fuse_session_new(&fa, &hf_ops, sizeof(hf_ops), NULL)) ==
	    NULL)
		errx(EXIT_TEMP, "mount %s: cannot start a FUSE session", repo);
	if (fuse_session_mount(se, mnt) != 0)
		errx(EXIT_TEMP, "mount %s on %s: failed", repo, mnt);
	if (notify != -1) {
		openlog("restore", LOG_PID, LOG_DAEMON);
		detached = 1;
	}
	rc = fm_serve(se, mnt, command, notify, &set, NULL, NULL);
	if (rc == -2) {
		if (command == NULL)
			err(EXIT_TEMP, "pthread_create");
		err(errno == ENOENT ? 127 : 126, "run %s", command[0]);
	}
	fuse_session_destroy(se);
	fuse_opt_free_args(&fa);
	return rc < 0 ? EXIT_TEMP : rc;
}
