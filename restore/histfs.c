/*
 * restore -m: the repository's sessions as a read-only FUSE file system.
 * The root holds a directory per complete session, named as restore -l
 * prints its time, and "current", a symlink to the newest.  A session
 * directory is that session's tree as restore -r would write it: its
 * index (the merged metadata: records, each directory's children in
 * name order, hard-link groups) is built when first needed, and only
 * the few most recently used sessions' indexes are kept.  A regular
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
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FUSE_USE_VERSION 34
#include <fuse3/fuse_lowlevel.h>

#include "copy.h"
#include "earec.h"
#include "exitcode.h"
#include "fusemount.h"
#include "histfs.h"
#include "idmap.h"
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
#define MAX_LOADED	4		/* session indexes kept */
#define CACHE_FILES	64		/* rebuilt files kept after release */
#define CACHE_BYTES	(256u << 20)
#define TTL_SESSION	3600.0		/* sessions never change */
#define TTL_ROOT	1.0
#define RESCAN_SECS	1.0
#define OFF_FIRST	3		/* readdir offsets 1, 2: ".", ".." */

struct hnode {
	struct rec	 r;
	uint32_t	 kids;		/* first child in the session's kids[] */
	uint32_t	 nkids;
	uint32_t	 group;		/* hard-link group's first member */
	uint32_t	 links;		/* the group's members in the session */
};

/* A record's extended attributes, ACLs among them in their binary form. */
struct hxattrs {
	uint32_t	 idx;
	struct xattrs	 x;
};

struct session {
	int64_t		 t;
	int		 gone;		/* no longer in the repository */
	struct hnode	*n;		/* the index; NULL: not loaded */
	size_t		 nn;
	uint32_t	*kids;
	struct hxattrs	*xa;		/* by idx; only records that have some */
	size_t		 nxa;
	unsigned long	 used;		/* for choosing what to unload */
};

/* A rebuilt regular file: open ones and the last few released. */
struct cfile {
	uint64_t	 ino;
	int		 fd;
	uint64_t	 size;
	int		 refs;
	struct cfile	*next;
};

static struct repo	 R;
static struct session	*slots;		/* [0] unused: the root's */
static size_t		 nslots = 1;
static uint64_t		 newest;	/* slot of the newest session, 0: none */
static struct timespec	 lastscan;
static int		 tmpdirfd = -1;
static struct longincs	 longincs = LONGINCS_INIT;
static struct cfile	*cfiles;
static unsigned long	 clock_use;
static struct idmap	*ids;		/* ACL entries' names to local ids */

/* The last '/' of r's path, or NULL (a name in the root). */
static const char *
last_slash(const struct rec *r)
{
	size_t i;

	for (i = r->pathlen; i > 0; i--)
		if (r->path[i - 1] == '/')
			return r->path + i - 1;
	return NULL;
}

static void
unload(struct session *s)
{
	size_t i;

	for (i = 0; i < s->nn; i++)
		rec_free(&s->n[i].r);
	for (i = 0; i < s->nxa; i++)
		xattrs_free(&s->xa[i].x);
	free(s->n);
	free(s->kids);
	free(s->xa);
	s->n = NULL;
	s->kids = NULL;
	s->xa = NULL;
	s->nn = s->nxa = 0;
}

/*
 * Read the repository's data dir again and bring the slots up to date:
 * complete sessions are those at or before the oldest current_mirror
 * marker (a newer one is a session still being written).
 */
static void
scan(void)
{
	int64_t last;
	size_t i, j;
	int found;

	if (repo_scan(&R) == -1) {
		warn("read %s", DATADIR);
		return;
	}
	incdir_close(&longincs.incs);
	longincs.tried = 0;
	last = R.nmarkers > 0 ? R.markers[0] : INT64_MIN;
	for (j = 1; j < nslots; j++) {
		found = 0;
		for (i = 0; i < R.ntimes && !found; i++)
			found = R.times[i] == slots[j].t && R.times[i] <= last;
		if (!found && !slots[j].gone) {
			slots[j].gone = 1;
			unload(&slots[j]);
		}
	}
	newest = 0;
	for (i = 0; i < R.ntimes && R.times[i] <= last; i++) {
		for (j = 1; j < nslots && slots[j].t != R.times[i]; j++)
			;
		if (j == nslots) {
			if (nslots == MAX_SLOTS)
				break;
			slots = xreallocarray(slots, nslots + 1,
			    sizeof(*slots));
			memset(&slots[j], 0, sizeof(*slots));
			slots[j].t = R.times[i];
			nslots++;
		}
		slots[j].gone = 0;
		newest = j;
	}
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

/* Is record r a direct child of record d (a directory)? */
static int
child_of(const struct rec *r, const struct rec *d)
{
	const char *slash;
	size_t plen;

	slash = last_slash(r);
	plen = slash != NULL ? (size_t)(slash - r->path) : 0;
	return d->type == RT_DIR && plen == d->pathlen &&
	    memcmp(r->path, d->path, plen) == 0 && r->pathlen > 0;
}

struct hkey {
	uint64_t	 devloc, ino;
	uint32_t	 idx;
	int		 used;
};

/* Group the session's hard links: members share their first's index. */
static void
link_groups(struct session *s)
{
	struct hkey *h;
	size_t cap = 64, i, k;
	uint64_t x;

	while (cap < s->nn * 2)
		cap *= 2;
	h = xcalloc(cap, sizeof(*h));
	for (i = 0; i < s->nn; i++) {
		struct rec *r = &s->n[i].r;

		s->n[i].group = (uint32_t)i;
		s->n[i].links = 1;
		if (r->type != RT_REG || r->nlink < 2)
			continue;
		x = (r->ino * UINT64_C(0x9e3779b97f4a7c15)) ^ r->devloc;
		for (k = (size_t)(x ^ (x >> 29)) & (cap - 1); h[k].used &&
		    (h[k].ino != r->ino || h[k].devloc != r->devloc);
		    k = (k + 1) & (cap - 1))
			;
		if (h[k].used) {
			s->n[i].group = h[k].idx;
			s->n[h[k].idx].links++;
		} else {
			h[k].used = 1;
			h[k].ino = r->ino;
			h[k].devloc = r->devloc;
			h[k].idx = (uint32_t)i;
		}
	}
	for (i = 0; i < s->nn; i++)
		s->n[i].links = s->n[s->n[i].group].links;
	free(h);
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
 * Record idx's extended attributes and ACLs from the session's files
 * (eaf, aclf; NULL: none), as restore -r would set them.
 */
static void
add_xattrs(struct session *s, uint32_t idx, struct recfile *eaf,
    struct recfile *aclf, const char *ts, size_t *damaged)
{
	struct nodeext *ext;
	struct xattrs x = { NULL, 0 };
	size_t dropped = 0, i;

	if (earec_ext(eaf, aclf, &s->n[idx].r, ids, &ext, damaged,
	    &dropped) == -1) {
		warn("session %s: read %s or %s", ts, EAFILE, ACLFILE);
		(*damaged)++;
		return;
	}
	if (ext == NULL)
		return;
	if (ext->eas)
		for (i = 0; i < ext->x.n; i++)
			xattrs_put(&x, ext->x.a[i].name, ext->x.a[i].val,
			    ext->x.a[i].len);
	if (ext->acls && s->n[idx].r.type != RT_SYM) {
		put_acl(&x, ACL_ACCESS_XATTR, &ext->acl, 3);
		if (s->n[idx].r.type == RT_DIR)
			put_acl(&x, ACL_DEFAULT_XATTR, &ext->dacl, 0);
	}
	nodeext_free(ext);
	if (x.n == 0)
		return;
	s->xa = xreallocarray(s->xa, s->nxa + 1, sizeof(*s->xa));
	s->xa[s->nxa].idx = idx;
	s->xa[s->nxa++].x = x;
}

/* Record idx's attributes, or NULL when it has none. */
static const struct xattrs *
xattrs_of(const struct session *s, uint32_t idx)
{
	size_t lo = 0, hi = s->nxa, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (s->xa[mid].idx == idx)
			return &s->xa[mid].x;
		if (s->xa[mid].idx < idx)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/*
 * Build session s's index from its metadata.  Damaged records are
 * reported and left out, as restore leaves them out; 0, or -1 (EIO) when
 * the metadata cannot be read or has no root.
 */
static int
load(struct session *s)
{
	struct meta_at *m;
	struct rec *r;
	struct recfile *eaf, *aclf;
	uint32_t *stack = NULL, *parent = NULL, *fill;
	size_t depth = 0, cap = 0, scap = 0, i, loaded = 0, oldest = 0, sum;
	size_t damaged = 0;
	char ts[TIMESTR_LEN], *fname;
	int rv;

	s->used = ++clock_use;
	if (s->n != NULL)
		return 0;
	for (i = 1; i < nslots; i++)
		if (slots[i].n != NULL) {
			loaded++;
			if (oldest == 0 || slots[i].used < slots[oldest].used)
				oldest = i;
		}
	if (loaded >= MAX_LOADED)
		unload(&slots[oldest]);
	timestr_format(s->t, ts);
	if ((m = meta_at_open(&R, s->t)) == NULL) {
		warn("metadata of session %s", ts);
		return -1;
	}
	eaf = recfile_at(R.datafd, EAFILE, s->t, &fname);
	if (eaf == NULL && errno != ENOENT)
		warn("session %s: open %s", ts, fname);
	free(fname);
	aclf = recfile_at(R.datafd, ACLFILE, s->t, &fname);
	if (aclf == NULL && errno != ENOENT)
		warn("session %s: open %s", ts, fname);
	free(fname);
	while ((rv = meta_at_next(m, &r)) != 0) {
		if (rv == -1) {
			warnx("metadata of session %s: %s", ts,
			    meta_at_error(m));
			if (meta_at_failed(m))
				break;
			continue;
		}
		if (s->nn == 0 && (r->pathlen != 0 || r->type != RT_DIR))
			break;		/* no root: nothing to show */
		if (s->nn > 0) {
			while (depth > 1 && !path_below(r->path, r->pathlen,
			    s->n[stack[depth - 1]].r.path,
			    s->n[stack[depth - 1]].r.pathlen))
				depth--;
			if (!child_of(r, &s->n[stack[depth - 1]].r)) {
				warnx("metadata of session %s: %s: its parent "
				    "is no directory of the session; left out",
				    ts, shown(r->path));
				continue;
			}
		}
		if (s->nn == UINT32_MAX - 1)
			break;
		if (s->nn == cap) {
			cap = cap ? cap * 2 : 1024;
			s->n = xreallocarray(s->n, cap, sizeof(*s->n));
			parent = xreallocarray(parent, cap, sizeof(*parent));
		}
		memset(&s->n[s->nn], 0, sizeof(s->n[s->nn]));
		rec_copy(&s->n[s->nn].r, r);
		if (eaf != NULL || aclf != NULL)
			add_xattrs(s, (uint32_t)s->nn, eaf, aclf, ts, &damaged);
		parent[s->nn] = depth > 0 ? stack[depth - 1] : UINT32_MAX;
		if (r->type == RT_DIR) {
			if (depth == scap) {
				scap = scap ? scap * 2 : 64;
				stack = xreallocarray(stack, scap,
				    sizeof(*stack));
			}
			stack[depth++] = (uint32_t)s->nn;
		}
		s->nn++;
	}
	rv = meta_at_failed(m) || s->nn == 0 ? -1 : 0;
	meta_at_close(m);
	if (eaf != NULL)
		recfile_close(eaf);
	if (aclf != NULL)
		recfile_close(aclf);
	if (damaged > 0)
		warnx("session %s: %zu damaged records in %s or %s; those "
		    "entries show none of that kind", ts, damaged, EAFILE,
		    ACLFILE);
	free(stack);
	if (rv == -1) {
		warnx("metadata of session %s: unreadable or without its "
		    "root", ts);
		free(parent);
		unload(s);
		errno = EIO;
		return -1;
	}
	/* children in metadata order, which is name order */
	s->kids = xreallocarray(NULL, s->nn, sizeof(*s->kids));
	for (i = 1; i < s->nn; i++)
		s->n[parent[i]].nkids++;
	for (i = 0, sum = 0; i < s->nn; i++) {
		s->n[i].kids = (uint32_t)sum;
		sum += s->n[i].nkids;
	}
	fill = xcalloc(s->nn, sizeof(*fill));
	for (i = 1; i < s->nn; i++)
		s->kids[s->n[parent[i]].kids + fill[parent[i]]++] =
		    (uint32_t)i;
	free(fill);
	free(parent);
	link_groups(s);
	return 0;
}

/* The session and record of inode ino; NULL with errno when none. */
static struct hnode *
node_of(fuse_ino_t ino, struct session **sp)
{
	uint64_t slot = ino >> SLOT_SHIFT, idx = ino & IDX_MASK;
	struct session *s;

	if (slot == 0 || slot >= nslots || idx == 0 || slots[slot].gone) {
		errno = ESTALE;
		return NULL;
	}
	s = &slots[slot];
	if (load(s) == -1)
		return NULL;
	if (idx - 1 >= s->nn) {
		errno = ESTALE;
		return NULL;
	}
	*sp = s;
	return &s->n[idx - 1];
}

static fuse_ino_t
ino_of(const struct session *s, uint32_t idx)
{
	return (fuse_ino_t)((uint64_t)(s - slots) << SLOT_SHIFT |
	    (uint64_t)(s->n[idx].group + 1));
}

static const char *
base_of(const struct rec *r, size_t *len)
{
	const char *slash = last_slash(r);
	const char *b = slash != NULL ? slash + 1 : r->path;

	*len = r->pathlen - (size_t)(b - r->path);
	return b;
}

static mode_t
type_bits(int type)
{
	switch (type) {
	case RT_DIR:
		return S_IFDIR;
	case RT_SYM:
		return S_IFLNK;
	case RT_FIFO:
		return S_IFIFO;
	case RT_SOCK:
		return S_IFSOCK;
	case RT_DEV:
		return 0;	/* by devtype */
	default:
		return S_IFREG;
	}
}

static void
fill_stat(struct stat *st, const struct session *s, const struct hnode *h)
{
	const struct rec *r = &s->n[h->group].r;

	memset(st, 0, sizeof(*st));
	st->st_ino = ino_of(s, (uint32_t)(h - s->n));
	st->st_mode = (type_bits(r->type) | (r->perms & 07777));
	if (r->type == RT_DEV) {
		st->st_mode |= r->devtype == 'b' ? S_IFBLK : S_IFCHR;
		st->st_rdev = makedev((unsigned)r->major, (unsigned)r->minor);
	}
	st->st_nlink = r->type == RT_DIR ? 2 : h->links;
	st->st_uid = r->uid > UINT32_MAX - 1 ? 65534 : (uid_t)r->uid;
	st->st_gid = r->gid > UINT32_MAX - 1 ? 65534 : (gid_t)r->gid;
	if (r->type == RT_REG)
		st->st_size = r->size > INT64_MAX ? INT64_MAX : (off_t)r->size;
	else if (r->type == RT_SYM)
		st->st_size = (off_t)r->symlen;
	else if (r->type == RT_DIR)
		st->st_size = 4096;
	st->st_blksize = 4096;
	st->st_blocks = (st->st_size + 511) / 512;
	st->st_mtim.tv_sec = (time_t)(r->has_mtime ? r->mtime : s->t);
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
	if (newest != 0)
		st->st_mtim.tv_sec = (time_t)slots[newest].t;
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

/* The child named name of directory h, or NULL. */
static struct hnode *
child_named(struct session *s, struct hnode *h, const char *name)
{
	size_t lo = 0, hi = h->nkids, mid, blen, nlen = strlen(name);
	const char *b;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		b = base_of(&s->n[s->kids[h->kids + mid]].r, &blen);
		c = memcmp(b, name, blen < nlen ? blen : nlen);
		if (c == 0)
			c = blen < nlen ? -1 : blen > nlen;
		if (c == 0)
			return &s->n[s->kids[h->kids + mid]];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void
hf_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	struct session *s;
	struct hnode *h, *k;
	size_t j;

	memset(&e, 0, sizeof(e));
	if (parent == FUSE_ROOT_ID) {
		maybe_scan();
		e.attr_timeout = e.entry_timeout = TTL_ROOT;
		if (strcmp(name, "current") == 0 && newest != 0) {
			current_stat(&e.attr);
		} else if ((j = session_named(name)) != 0) {
			s = &slots[j];
			if (load(s) == -1) {
				fuse_reply_err(req, EIO);
				return;
			}
			fill_stat(&e.attr, s, &s->n[0]);
			e.attr_timeout = TTL_SESSION;
		} else {
			fuse_reply_entry(req, &e);	/* negative, briefly */
			return;
		}
		e.ino = e.attr.st_ino;
		fuse_reply_entry(req, &e);
		return;
	}
	if ((h = node_of(parent, &s)) == NULL) {
		fuse_reply_err(req, errno);
		return;
	}
	e.attr_timeout = e.entry_timeout = TTL_SESSION;
	if (s->n[h->group].r.type != RT_DIR ||
	    (k = child_named(s, h, name)) == NULL) {
		fuse_reply_entry(req, &e);
		return;
	}
	fill_stat(&e.attr, s, k);
	e.ino = e.attr.st_ino;
	fuse_reply_entry(req, &e);
}

static void
hf_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct session *s;
	struct hnode *h;
	struct stat st;

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
	if ((h = node_of(ino, &s)) == NULL) {
		fuse_reply_err(req, errno);
		return;
	}
	fill_stat(&st, s, h);
	fuse_reply_attr(req, &st, TTL_SESSION);
}

static void
hf_readlink(fuse_req_t req, fuse_ino_t ino)
{
	char ts[TIMESTR_LEN], *t;
	struct session *s;
	struct hnode *h;

	if (ino == CURRENT_INO) {
		if (newest == 0) {
			fuse_reply_err(req, ENOENT);
			return;
		}
		timestr_format(slots[newest].t, ts);
		fuse_reply_readlink(req, ts);
		return;
	}
	if ((h = node_of(ino, &s)) == NULL) {
		fuse_reply_err(req, errno);
		return;
	}
	if (h->r.type != RT_SYM || h->r.symdata == NULL) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	t = xmalloc(h->r.symlen + 1);
	memcpy(t, h->r.symdata, h->r.symlen);
	t[h->r.symlen] = '\0';
	fuse_reply_readlink(req, t);
	free(t);
}

/* Add one entry to a readdir reply; 0 when the buffer is full. */
static int
add_entry(fuse_req_t req, char *buf, size_t size, size_t *used,
    const char *name, mode_t mode, fuse_ino_t ino, off_t next)
{
	struct stat st;
	size_t n;

	memset(&st, 0, sizeof(st));
	st.st_ino = ino;
	st.st_mode = mode;
	n = fuse_add_direntry(req, buf + *used, size - *used, name, &st, next);
	if (n > size - *used)
		return 0;
	*used += n;
	return 1;
}

static void
hf_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	char *buf, ts[TIMESTR_LEN], *name;
	struct session *s = NULL;
	struct hnode *h = NULL, *k;
	size_t used = 0, j, blen;
	const char *b;
	struct stat st;
	int rc;

	if (ino != FUSE_ROOT_ID && (h = node_of(ino, &s)) == NULL) {
		fuse_reply_err(req, errno);
		return;
	}
	if (h != NULL && s->n[h->group].r.type != RT_DIR) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	if (size > 1 << 20)
		size = 1 << 20;
	buf = xmalloc(size);
	if (off < 1 && !add_entry(req, buf, size, &used, ".", S_IFDIR, ino, 1))
		goto out;
	if (off < 2 && !add_entry(req, buf, size, &used, "..", S_IFDIR,
	    FUSE_ROOT_ID, 2))
		goto out;
	if (h == NULL) {
		maybe_scan();
		if (off < OFF_FIRST && newest != 0 && !add_entry(req, buf, size,
		    &used, "current", S_IFLNK, CURRENT_INO, OFF_FIRST))
			goto out;
		for (j = off < OFF_FIRST ? 1 : (size_t)off - OFF_FIRST + 1;
		    j < nslots; j++) {
			if (slots[j].gone)
				continue;
			timestr_format(slots[j].t, ts);
			if (!add_entry(req, buf, size, &used, ts, S_IFDIR,
			    (fuse_ino_t)j << SLOT_SHIFT | 1,
			    (off_t)(j + OFF_FIRST)))
				break;
		}
		goto out;
	}
	for (j = off < OFF_FIRST ? 0 : (size_t)off - OFF_FIRST + 1;
	    j < h->nkids; j++) {
		k = &s->n[s->kids[h->kids + j]];
		fill_stat(&st, s, k);
		b = base_of(&k->r, &blen);
		name = xstrndup(b, blen);
		rc = add_entry(req, buf, size, &used, name, st.st_mode,
		    st.st_ino, (off_t)(j + OFF_FIRST));
		free(name);
		if (!rc)
			break;
	}
out:
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void
cf_drop(struct cfile **pp)
{
	struct cfile *c = *pp;

	*pp = c->next;
	close(c->fd);
	free(c);
}

/* Keep at most CACHE_FILES released files and CACHE_BYTES in all. */
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

/*
 * The content of regular file h of session s, rebuilt and checked,
 * in an unlinked temp file: its descriptor, or -1 with errno.
 */
static int
rebuild_file(struct session *s, struct hnode *h)
{
	const struct rec *r = &s->n[h->group].r;
	struct incdir incs = INCDIR_INIT;
	const struct incent *e;
	struct copyres res;
	const char *name, *why, *slash;
	char *dir = NULL, *idir, ts[TIMESTR_LEN];
	size_t n, blen;
	int mdirfd = -1, ifd, idirfd, out, rc;

	timestr_format(s->t, ts);
	name = base_of(r, &blen);
	slash = last_slash(r);
	if (slash != NULL)
		dir = xstrndup(r->path, (size_t)(slash - r->path));
	if (dir == NULL)
		mdirfd = dup(R.fd);
	else
		mdirfd = open_below(R.fd, dir, O_RDONLY | O_DIRECTORY);
	idir = xmalloc(strlen(INCDIR) + (dir ? strlen(dir) : 0) + 2);
	sprintf(idir, "%s%s%s", INCDIR, dir ? "/" : "", dir ? dir : "");
	ifd = open_below(R.datafd, idir, O_RDONLY | O_DIRECTORY);
	free(idir);
	free(dir);
	out = -1;
	rc = -1;
	if (incdir_open(ifd, &incs) == -1)
		warn("session %s: %s: list increments", ts, shown(r->path));
	else if ((out = openat(tmpdirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC,
	    0600)) == -1)
		warn("session %s: %s: temp file", ts, shown(r->path));
	else {
		e = incs_find(R.datafd, &longincs, r->altmirror ?
		    r->altmirror : r->altinc, &incs, name, &n, &idirfd);
		rc = rebuild(r->altmirror != NULL ? longincs.incs.fd : mdirfd,
		    r->altmirror != NULL ? r->altmirror : name, idirfd, e, n,
		    s->t, repo_current(&R), tmpdirfd, out, r->size, &res, &why);
		if (rc == -1)
			warn("session %s: %s: %s", ts, shown(r->path), why);
		else if (r->sha1[0] != '\0' && strcmp(r->sha1, res.sha1) != 0) {
			warnx("session %s: %s: SHA1 digest does not match the "
			    "metadata (damaged increment or mirror file)", ts,
			    shown(r->path));
			rc = -1;
		} else if (res.bytes != r->size) {
			warnx("session %s: %s: size does not match the "
			    "metadata", ts, shown(r->path));
			rc = -1;
		}
	}
	incdir_close(&incs);
	if (mdirfd != -1)
		close(mdirfd);
	if (rc == -1) {
		if (out != -1)
			close(out);
		errno = EIO;	/* the reason went to standard error */
		return -1;
	}
	return out;
}

static void
hf_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct session *s;
	struct hnode *h;
	struct cfile *c, **pp;

	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if ((h = node_of(ino, &s)) == NULL) {
		fuse_reply_err(req, errno);
		return;
	}
	if (s->n[h->group].r.type != RT_REG) {
		fuse_reply_err(req, EACCES);
		return;
	}
	ino = ino_of(s, (uint32_t)(h - s->n));
	for (pp = &cfiles; *pp != NULL && (*pp)->ino != ino;
	    pp = &(*pp)->next)
		;
	if ((c = *pp) != NULL)
		*pp = c->next;		/* to the front */
	else {
		c = xcalloc(1, sizeof(*c));
		c->ino = ino;
		c->size = s->n[h->group].r.size;
		if ((c->fd = rebuild_file(s, h)) == -1) {
			fuse_reply_err(req, errno);
			free(c);
			return;
		}
	}
	c->next = cfiles;
	cfiles = c;
	c->refs++;
	fi->fh = (uint64_t)(uintptr_t)c;
	fi->keep_cache = 1;
	if (fuse_reply_open(req, fi) == -ENOENT)
		c->refs--;	/* interrupted */
	cf_trim();
}

static void
hf_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct cfile *c = (struct cfile *)(uintptr_t)fi->fh;
	struct fuse_bufvec bv = FUSE_BUFVEC_INIT(size);

	bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	bv.buf[0].fd = c->fd;
	bv.buf[0].pos = off;
	fuse_reply_data(req, &bv, FUSE_BUF_SPLICE_MOVE);
}

static void
hf_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct cfile *c = (struct cfile *)(uintptr_t)fi->fh;

	c->refs--;
	cf_trim();
	fuse_reply_err(req, 0);
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

static void
hf_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	const struct xattrs *x;
	const struct xattr *a;
	struct session *s;
	struct hnode *h;

	if (ino == FUSE_ROOT_ID || ino == CURRENT_INO) {
		fuse_reply_err(req, ENODATA);
		return;
	}
	if ((h = node_of(ino, &s)) == NULL) {
		fuse_reply_err(req, errno);
		return;
	}
	if ((x = xattrs_of(s, h->group)) == NULL ||
	    (a = xattrs_find(x, name)) == NULL)
		fuse_reply_err(req, ENODATA);
	else if (size == 0)
		fuse_reply_xattr(req, a->len);
	else if (size < a->len)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, (const char *)a->val, a->len);
}

static void
hf_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	const struct xattrs *x = NULL;
	struct session *s;
	struct hnode *h;
	size_t len = 0, i, n;
	char *buf;

	if (ino != FUSE_ROOT_ID && ino != CURRENT_INO) {
		if ((h = node_of(ino, &s)) == NULL) {
			fuse_reply_err(req, errno);
			return;
		}
		x = xattrs_of(s, h->group);
	}
	for (i = 0; x != NULL && i < x->n; i++)
		len += strlen(x->a[i].name) + 1;
	if (size == 0) {
		fuse_reply_xattr(req, len);
		return;
	}
	if (size < len) {
		fuse_reply_err(req, ERANGE);
		return;
	}
	buf = xmalloc(len + 1);
	for (i = 0, len = 0; x != NULL && i < x->n; i++) {
		n = strlen(x->a[i].name) + 1;
		memcpy(buf + len, x->a[i].name, n);
		len += n;
	}
	fuse_reply_buf(req, buf, len);
	free(buf);
}

static const struct fuse_lowlevel_ops hf_ops = {
	.lookup = hf_lookup,
	.getattr = hf_getattr,
	.readlink = hf_readlink,
	.open = hf_open,
	.read = hf_read,
	.release = hf_release,
	.readdir = hf_readdir,
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
	char *o, *fsname;
	int notify = -1, rc;

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
