/*
 * Directory listings: read whole with several READDIRs in flight, bounded
 * against a server that never ends one, indexed by name, and kept for the
 * cache timeout (unused ones go oldest first past DL_MAX_ENTS entries).
 * The subdirectories of a directory the kernel opens are listed ahead.
 * Below a walk root (dl_walk: snap is about to walk the tree) every
 * listing that arrives queues its subdirectories at once, breadth first
 * with many listings in flight, and asks for its symlinks' targets, so
 * that the whole tree costs about two round trips per level.
 */
#include <err.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "mr.h"
#include "pathname.h"
#include "xalloc.h"

#define DL_MAX_ENTS	(256 * 1024)	/* cached directory entries */
#define DL_PREFETCH	256		/* directory listings loading ahead */
#define DL_QUEUE	16384		/* directories waiting to be prefetched */
#define DL_FRESH_ENTS	(DL_MAX_ENTS / 2) /* listed ahead, not yet opened */
#define DL_LINK_BYTES	((size_t)32 << 20) /* symlink targets listed ahead */
#define DL_WALKS	8		/* walk roots remembered */
#define DL_READDIRS	4		/* READDIRs in flight per listing */

/*
 * Bounds on one directory listing, so that a server that never ends one
 * costs an EIO rather than all memory and readers stuck for good: far
 * above any real directory, yet reached within seconds by a fast server.
 * The time runs from OPENDIR and is checked as replies arrive (silence
 * is the -t watchdog's business).
 */
#define DL_LIST_ENTS	(2u << 20)		/* 2,097,152 entries */
#define DL_LIST_BYTES	((size_t)256 << 20)	/* names + a struct dent each */
#define DL_LIST_SECS	600			/* or DL_LIST_TIMEOUTS x -t */
#define DL_LIST_TIMEOUTS 10

/* A READLINK from the kernel waiting for the one asked with the listing. */
struct lwait {
	struct lwait	*next;
	fuse_req_t	 req;
	char		*path;
};

struct dwait {
	struct dwait	*next;
	fuse_req_t	 req;
	int		 kind;		/* 0 opendir, 1 readdir, 2 readdirplus */
	size_t		 size;
	off_t		 off;
	struct fuse_file_info fi;
};

struct dlq {
	char	*path;
	int	 walk;
};

/*
 * Unused finished listings, oldest first: the LRU of those the kernel
 * has opened, and those listed ahead that it has not opened yet (fresh),
 * which go only after all of the LRU.
 */
struct dring {
	struct dlist	*head, *tail;
};

static struct htab dlists;
static size_t dl_ents, dl_fresh_ents, dl_pf_inflight, dl_link_bytes;
static struct dlq dl_queue[DL_QUEUE];
static size_t dlq_head, dlq_len;
static struct dring dl_lru, dl_fresh;
static struct lwait *dl_lwaits;
/* Where a walk was announced, and from which time its links are wanted. */
static struct walkroot {
	char		*path;
	size_t		 len;
	uint64_t	 since;
} dl_walks[DL_WALKS];

static void dl_serve(struct dlist *);
static void dl_pump(void);
static void dl_readdir_cb(void *, struct sftp_reply *);
static struct walkroot *dl_below_walk(const char *, size_t);
static void dl_queue_children(struct dlist *, int);
static void dl_links(struct dlist *);

struct dlist *
dl_find(const char *path, size_t len)
{
	return (struct dlist *)ht_find(&dlists, path, len, hash(path, len));
}

static void
lru_del(struct dlist *d)
{
	struct dring *r = d->fresh ? &dl_fresh : &dl_lru;

	if (d->prev != NULL)
		d->prev->next = d->next;
	else if (r->head == d)
		r->head = d->next;
	else
		return;		/* not in the list */
	if (d->next != NULL)
		d->next->prev = d->prev;
	else
		r->tail = d->prev;
	d->prev = d->next = NULL;
}

static void
lru_add(struct dlist *d)
{
	struct dring *r = d->fresh ? &dl_fresh : &dl_lru;

	d->prev = r->tail;
	d->next = NULL;
	if (r->tail != NULL)
		r->tail->next = d;
	else
		r->head = d;
	r->tail = d;
}

/* d is opened (or goes): it no longer counts as listed ahead. */
static void
dl_used(struct dlist *d)
{
	d->ahead = 0;
	if (!d->fresh)
		return;
	lru_del(d);
	d->fresh = 0;
	dl_fresh_ents -= d->n;
}

/* Free the entries (a failed listing serves none: at once). */
static void
dl_drop_ents(struct dlist *d)
{
	size_t i;

	dl_used(d);
	for (i = 0; i < d->n; i++) {
		free(d->ents[i].name);
		if (d->ents[i].link != NULL) {
			dl_link_bytes -= strlen(d->ents[i].link) + 1;
			free(d->ents[i].link);
		}
	}
	dl_ents -= d->n;
	free(d->ents);
	free(d->idx);
	d->ents = NULL;
	d->idx = NULL;
	d->n = d->cap = d->idxsize = 0;
}

static void
dl_free(struct dlist *d)
{
	lru_del(d);
	if (d->hashed)
		ht_del(&dlists, &d->he);
	dl_drop_ents(d);
	free(d->he.key);
	free(d);
}

void
dl_unhash(struct dlist *d)
{
	if (!d->hashed)
		return;
	ht_del(&dlists, &d->he);
	d->hashed = 0;
	if (d->refs == 0 && !d->loading)
		dl_free(d);
}

static void
dl_evict(void)
{
	while (dl_ents > DL_MAX_ENTS && dl_lru.head != NULL)
		dl_free(dl_lru.head);
	while (dl_ents > DL_MAX_ENTS && dl_fresh.head != NULL)
		dl_free(dl_fresh.head);
}

/* Drop a use; an unused finished listing goes to the LRU or away. */
void
dl_unref(struct dlist *d)
{
	if (d->refs > 0)
		d->refs--;
	if (d->refs > 0 || d->loading)
		return;
	if (!d->hashed || d->state != DL_DONE) {
		dl_free(d);
		return;
	}
	if (d->ahead) {
		d->fresh = 1;
		dl_fresh_ents += d->n;
	}
	lru_add(d);
	dl_evict();
}

void
dl_ref(struct dlist *d)
{
	lru_del(d);
	dl_used(d);
	d->refs++;
}

/*
 * Index the names of a complete listing.  Returns 0, or -1 when a name
 * is listed twice (*dup: its second entry), which no directory can hold.
 */
static int
dl_index(struct dlist *d, size_t *dup)
{
	size_t i, j, size = 16;
	struct dent *e, *o;

	while (size < d->n * 2)
		size *= 2;
	d->idx = xcalloc(size, sizeof(*d->idx));
	d->idxsize = size;
	for (i = 0; i < d->n; i++) {
		e = &d->ents[i];
		j = hash(e->name, e->namelen) & (size - 1);
		for (; d->idx[j] != 0; j = (j + 1) & (size - 1)) {
			o = &d->ents[d->idx[j] - 1];
			if (o->namelen == e->namelen &&
			    memcmp(o->name, e->name, e->namelen) == 0) {
				*dup = i;
				return -1;
			}
		}
		d->idx[j] = (uint32_t)i + 1;
	}
	return 0;
}

/* Say on stderr, in one line, why the server's listing d is refused. */
static void
dl_warn(struct dlist *d, const char *fmt, ...)
{
	char why[1200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	warnx("list %s: %s", shown(d->he.key), why);
}

/* Index of name in a finished listing, or -1. */
long
dl_lookup(struct dlist *d, const char *name, size_t len)
{
	size_t j;
	struct dent *e;

	if (d->idx == NULL)
		return -1;
	j = hash(name, len) & (d->idxsize - 1);
	for (; d->idx[j] != 0; j = (j + 1) & (d->idxsize - 1)) {
		e = &d->ents[d->idx[j] - 1];
		if (e->namelen == len && memcmp(e->name, name, len) == 0)
			return (long)d->idx[j] - 1;
	}
	return -1;
}

/*
 * Loading is over (done or failed): answer the waiters, release the
 * handle.  A complete listing that names an entry twice fails with EIO.
 */
static void
dl_finish(struct dlist *d, int state, int err)
{
	size_t dup;

	if (d->loading == 0)
		return;
	if (d->state == DL_DONE || d->state == DL_FAILED)
		return;
	if (state == DL_DONE && dl_index(d, &dup) == -1) {
		dl_warn(d, "\"%s\" listed twice", shown(d->ents[dup].name));
		state = DL_FAILED;
		err = EIO;
	}
	d->state = state;
	d->err = err;
	if (state == DL_DONE)
		d->loaded = mono();
	else
		dl_drop_ents(d);
	if (d->prefetch) {
		d->prefetch = 0;
		dl_pf_inflight--;
	}
	dl_serve(d);
	if (state == DL_FAILED)
		dl_unhash(d);
	else if (d->walk || dl_below_walk(d->he.key, d->he.klen) != NULL) {
		d->walk = 1;
		dl_queue_children(d, 1);
		dl_links(d);
	} else if (d->kernel)
		dl_prefetch_children(d);
	dl_pump();
}

/* The last READDIR (or OPENDIR) came back: close and drop the loading use. */
static void
dl_settle(struct dlist *d)
{
	if (d->reads > 0 || !d->loading)
		return;
	if (d->hlen > 0 && !conn_dead())
		conn_close_handle(d->h, d->hlen);
	d->loading = 0;
	d->refs++;
	dl_unref(d);
}

static void
dl_send_readdir(struct dlist *d)
{
	if (conn_handle(SSH_FXP_READDIR, d->h, d->hlen, dl_readdir_cb, d) ==
	    -1) {
		dl_finish(d, DL_FAILED, errno);
		return;
	}
	d->reads++;
}

/*
 * Add entry nm to listing d.  Returns 0; 1 when d failed instead (a name
 * longer than NAME_MAX, or grown past a bound); -1 for an entry no server
 * may send (empty name, '/' or NUL in it), after which the connection is
 * not trusted.
 */
static int
dl_add(struct dlist *d, struct sftp_name *nm)
{
	struct dent *e;
	size_t cost = sizeof(*e) + nm->namelen + 1;

	if (nm->namelen == 0 || memchr(nm->name, '/', nm->namelen) != NULL ||
	    memchr(nm->name, '\0', nm->namelen) != NULL)
		return -1;
	if ((nm->namelen == 1 && nm->name[0] == '.') ||
	    (nm->namelen == 2 && nm->name[0] == '.' && nm->name[1] == '.'))
		return 0;
	if (nm->namelen > NAME_MAX || d->n >= DL_LIST_ENTS ||
	    d->bytes + cost > DL_LIST_BYTES) {
		if (nm->namelen > NAME_MAX)
			dl_warn(d, "a name of %zu bytes, more than %d",
			    nm->namelen, NAME_MAX);
		else if (d->n >= DL_LIST_ENTS)
			dl_warn(d, "more than %u entries", DL_LIST_ENTS);
		else
			dl_warn(d, "more than %zu MiB of entries",
			    DL_LIST_BYTES >> 20);
		dl_finish(d, DL_FAILED, EIO);
		return 1;
	}
	d->bytes += cost;
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 64;
		d->ents = xreallocarray(d->ents, d->cap, sizeof(*d->ents));
	}
	e = &d->ents[d->n++];
	e->name = xmalloc(nm->namelen + 1);
	memcpy(e->name, nm->name, nm->namelen);
	e->name[nm->namelen] = '\0';
	e->namelen = nm->namelen;
	e->a = nm->attrs;
	e->link = NULL;
	e->link_asked = 0;
	dl_ents++;
	return 0;
}

/* Has listing d taken longer than any may?  Then it failed: 1. */
static int
dl_overdue(struct dlist *d)
{
	double limit = DL_LIST_TIMEOUTS * (double)fs_opts.timeout;

	if (limit < DL_LIST_SECS)
		limit = DL_LIST_SECS;
	if (mono() - d->started <= limit)
		return 0;
	dl_warn(d, "not complete after %.0f seconds", limit);
	dl_finish(d, DL_FAILED, EIO);
	return 1;
}

static void
dl_readdir_cb(void *arg, struct sftp_reply *r)
{
	struct dlist *d = arg;
	struct sftp_name nm;
	int rc;

	d->reads--;
	if (r == NULL)
		dl_finish(d, DL_FAILED, EIO);
	else if (d->state != DL_READING)
		;	/* already failed: just collect the replies */
	else if (r->type == SSH_FXP_STATUS) {
		if (r->code == SSH_FX_EOF) {
			d->eof = 1;
			if (d->reads == 0)
				dl_finish(d, DL_DONE, 0);
		} else
			dl_finish(d, DL_FAILED, sftp_errno(r->code) ?
			    sftp_errno(r->code) : EIO);
	} else if (r->type == SSH_FXP_NAME) {
		while ((rc = sftp_name_next(r, &nm)) == 1 &&
		    (rc = dl_add(d, &nm)) == 0)
			;
		if (rc == -1) {
			conn_fail("malformed directory entry in NAME reply");
			dl_finish(d, DL_FAILED, EIO);
		} else if (rc == 1 || dl_overdue(d))
			;	/* failed: more than a listing may be */
		else if (!d->eof)
			dl_send_readdir(d);
		else if (d->reads == 0)
			dl_finish(d, DL_DONE, 0);
	} else {
		bad(r, "READDIR");
		dl_finish(d, DL_FAILED, EIO);
	}
	dl_settle(d);
}

static void
dl_opendir_cb(void *arg, struct sftp_reply *r)
{
	struct dlist *d = arg;
	int i;

	d->reads--;
	if (r == NULL)
		dl_finish(d, DL_FAILED, EIO);
	else if (r->type == SSH_FXP_STATUS)
		dl_finish(d, DL_FAILED, sftp_errno(r->code) ?
		    sftp_errno(r->code) : EIO);
	else if (r->type == SSH_FXP_HANDLE) {
		memcpy(d->h, r->data, r->datalen);
		d->hlen = r->datalen;
		d->state = DL_READING;
		for (i = 0; i < DL_READDIRS && d->state == DL_READING; i++)
			dl_send_readdir(d);
		dl_serve(d);	/* opendir can be answered now */
	} else {
		bad(r, "OPENDIR");
		dl_finish(d, DL_FAILED, EIO);
	}
	dl_settle(d);
}

/* Start loading the listing of path (ownership taken); NULL with errno. */
static struct dlist *
dl_load(char *path, size_t len, int prefetch)
{
	struct dlist *d = xcalloc(1, sizeof(*d));

	he_init(&d->he, path, len);
	d->state = DL_OPENING;
	d->started = mono();
	if (conn_path(SSH_FXP_OPENDIR, path, len, dl_opendir_cb, d) == -1) {
		int e = errno;

		free(d->he.key);
		free(d);
		errno = e;
		return NULL;
	}
	d->reads = 1;
	d->loading = 1;
	d->hashed = 1;
	ht_add(&dlists, &d->he);
	if (prefetch) {
		d->prefetch = 1;
		d->ahead = 1;
		dl_pf_inflight++;
	}
	return d;
}

/* A usable listing for path: cached and fresh, loading, or started now. */
struct dlist *
dl_get(const char *path, size_t len)
{
	struct dlist *d = dl_find(path, len);

	if (d != NULL && d->state == DL_DONE &&
	    mono() - d->loaded > fs_opts.cache_timeout) {
		dl_unhash(d);
		d = NULL;
	}
	if (d != NULL)
		return d;
	return dl_load(xmemdup(path, len + 1), len, 0);
}

static void
dl_pump(void)
{
	struct dlist *d;
	struct dlq q;
	size_t len;

	while (dlq_len > 0 && dl_pf_inflight < DL_PREFETCH &&
	    dl_fresh_ents < DL_FRESH_ENTS && !conn_dead()) {
		q = dl_queue[dlq_head];
		dlq_head = (dlq_head + 1) % DL_QUEUE;
		dlq_len--;
		len = strlen(q.path);
		if (dl_find(q.path, len) != NULL) {
			free(q.path);
			continue;
		}
		if ((d = dl_load(q.path, len, 1)) != NULL)
			d->walk = q.walk;
	}
}

/*
 * Queue the subdirectories of d that are not listed yet, to be listed
 * ahead (below a walk root with walk set: theirs too, and so on).
 */
static void
dl_queue_children(struct dlist *d, int walk)
{
	size_t i, len;
	char *p;

	for (i = 0; i < d->n && dlq_len < DL_QUEUE; i++) {
		if (!a_isdir(&d->ents[i].a))
			continue;
		p = join(d->he.key, d->he.klen, d->ents[i].name,
		    d->ents[i].namelen, &len);
		if (dl_find(p, len) != NULL) {
			free(p);
			continue;
		}
		dl_queue[(dlq_head + dlq_len) % DL_QUEUE].path = p;
		dl_queue[(dlq_head + dlq_len) % DL_QUEUE].walk = walk;
		dlq_len++;
	}
}

/* The kernel opened d: list its subdirectories ahead of time. */
void
dl_prefetch_children(struct dlist *d)
{
	if (d->prefetched || d->state != DL_DONE)
		return;
	d->prefetched = 1;
	dl_queue_children(d, d->walk);
	dl_pump();
}

/* The innermost walk root at or above path, or NULL. */
static struct walkroot *
dl_below_walk(const char *path, size_t len)
{
	struct walkroot *w, *best = NULL;
	size_t i, rl;

	for (i = 0; i < DL_WALKS && dl_walks[i].path != NULL; i++) {
		w = &dl_walks[i];
		rl = w->len;
		if (len >= rl && memcmp(path, w->path, rl) == 0 &&
		    (len == rl || path[rl] == '/' || rl == 1) &&
		    (best == NULL || rl > best->len))
			best = w;
	}
	return best;
}

/*
 * Someone will walk the tree at path, and read the targets of its
 * symlinks modified at or after since: remember it as a walk root (the
 * oldest of DL_WALKS goes) and list it, breadth first from here on.
 */
void
dl_walk(const char *path, size_t len, uint64_t since)
{
	struct walkroot *w;
	struct dlist *d;
	size_t i;

	if ((w = dl_below_walk(path, len)) == NULL || w->len != len) {
		free(dl_walks[DL_WALKS - 1].path);
		for (i = DL_WALKS - 1; i > 0; i--)
			dl_walks[i] = dl_walks[i - 1];
		w = &dl_walks[0];
		w->path = xmemdup(path, len + 1);
		w->len = len;
	}
	w->since = since;
	if ((d = dl_get(path, len)) == NULL)
		return;
	d->walk = 1;
	if (d->state == DL_DONE) {
		dl_queue_children(d, 1);
		dl_links(d);
		dl_pump();
	}
}

/*
 * A symlink's target, asked for with its listing, has come: keep it in
 * the listing and answer the kernel's READLINKs of it that wait (with
 * anything but a plain target they ask the server themselves, which
 * says what is wrong).
 */
static void
dl_link_cb(void *arg, struct sftp_reply *r)
{
	char *path = arg, *t = NULL;
	struct sftp_name nm;
	struct lwait *w, **pp;
	struct dlist *d;
	const char *name;
	size_t namelen, len = strlen(path);
	long i = -1;

	if (r != NULL && r->type == SSH_FXP_NAME && r->count == 1 &&
	    sftp_name_next(r, &nm) == 1 && nm.namelen > 0 &&
	    nm.namelen <= PATH_MAX - 1 &&
	    memchr(nm.name, '\0', nm.namelen) == NULL) {
		t = xmalloc(nm.namelen + 1);
		memcpy(t, nm.name, nm.namelen);
		t[nm.namelen] = '\0';
	}
	for (pp = &dl_lwaits; (w = *pp) != NULL; ) {
		if (strcmp(w->path, path) != 0) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		if (t != NULL)
			fuse_reply_readlink(w->req, t);
		else
			readlink_send(w->req, path, len);
		free(w->path);
		free(w);
	}
	if ((d = dl_parent(path, len, &name, &namelen)) != NULL &&
	    (i = dl_lookup(d, name, namelen)) != -1)
		d->ents[i].link_asked = 0;
	if (t == NULL || d == NULL || i == -1 || !a_islnk(&d->ents[i].a) ||
	    d->ents[i].link != NULL ||
	    dl_link_bytes + nm.namelen + 1 > DL_LINK_BYTES) {
		free(t);
		free(path);
		return;
	}
	d->ents[i].link = t;
	dl_link_bytes += nm.namelen + 1;
	free(path);
}

/*
 * Ask for the targets of d's symlinks (once): those modified at or after
 * the walk's time (the others the walker knows already).
 */
static void
dl_links(struct dlist *d)
{
	struct walkroot *w;
	struct sftp_attrs *a;
	uint64_t since;
	size_t i, len;
	char *p;

	if (d->links_asked || d->state != DL_DONE)
		return;
	d->links_asked = 1;
	w = dl_below_walk(d->he.key, d->he.klen);
	since = w != NULL ? w->since : 0;
	for (i = 0; i < d->n && dl_link_bytes < DL_LINK_BYTES; i++) {
		a = &d->ents[i].a;
		if (!a_islnk(a) || (a->flags & SSH_FILEXFER_ATTR_ACMODTIME &&
		    a->mtime < since))
			continue;
		p = join(d->he.key, d->he.klen, d->ents[i].name,
		    d->ents[i].namelen, &len);
		if (conn_path(SSH_FXP_READLINK, p, len, dl_link_cb, p) == -1) {
			free(p);
			return;
		}
		d->ents[i].link_asked = 1;
	}
}

/*
 * Answer the kernel's READLINK of path from a fresh listing: 1 when
 * answered, or queued to be when the target asked with the listing
 * comes; 0 when the server must be asked.
 */
int
dl_readlink(fuse_req_t req, const char *path, size_t len)
{
	struct lwait *w;
	struct dlist *d;
	const char *name;
	size_t namelen;
	long i;

	if ((d = dl_parent(path, len, &name, &namelen)) == NULL ||
	    mono() - d->loaded > fs_opts.cache_timeout ||
	    (i = dl_lookup(d, name, namelen)) == -1)
		return 0;
	if (d->ents[i].link != NULL) {
		fuse_reply_readlink(req, d->ents[i].link);
		return 1;
	}
	if (!d->ents[i].link_asked)
		return 0;
	w = xmalloc(sizeof(*w));
	w->req = req;
	w->path = xmemdup(path, len + 1);
	w->next = dl_lwaits;
	dl_lwaits = w;
	return 1;
}

/* Fill one READDIR(PLUS) answer from a finished listing. */
void
dl_fill(struct dlist *d, fuse_req_t req, size_t size, off_t off, int plus)
{
	struct fuse_entry_param e;
	struct node *n, *dn;
	char *buf, *path;
	const char *name;
	size_t pos = 0, sz, len;
	long i;

	buf = xmalloc(size);
	dn = node_find(d->he.key, d->he.klen, d->he.h);
	for (i = off; i < (long)d->n + 2; i++) {
		memset(&e, 0, sizeof(e));
		n = NULL;
		if (i < 2) {
			name = i == 0 ? "." : "..";
			e.attr.st_mode = S_IFDIR;
			e.attr.st_ino = i == 0 && dn ? dn->st.st_ino : 1;
		} else {
			name = d->ents[i - 2].name;
			if (plus) {
				path = join(d->he.key, d->he.klen, name,
				    d->ents[i - 2].namelen, &len);
				n = node_get(path, len);
				node_set(n, &d->ents[i - 2].a);
				e.ino = node_ino(n);
				e.attr = n->st;
				e.attr_timeout = e.entry_timeout =
				    fs_opts.cache_timeout;
			} else {
				path = join(d->he.key, d->he.klen, name,
				    d->ents[i - 2].namelen, &len);
				attr_to_stat(&d->ents[i - 2].a, path, len,
				    &e.attr);
				free(path);
			}
		}
		if (plus)
			sz = fuse_add_direntry_plus(req, buf + pos, size - pos,
			    name, &e, i + 1);
		else
			sz = fuse_add_direntry(req, buf + pos, size - pos,
			    name, &e.attr, i + 1);
		if (sz > size - pos) {
			if (n != NULL && n->nlookup == 0)
				node_unref(n, 0);
			break;
		}
		if (n != NULL)
			n->nlookup++;
		pos += sz;
	}
	fuse_reply_buf(req, buf, pos);
	free(buf);
}

static void
dl_serve(struct dlist *d)
{
	struct dwait *w, **pp = &d->waiters;

	while ((w = *pp) != NULL) {
		if (d->state == DL_OPENING ||
		    (w->kind != 0 && d->state == DL_READING)) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		if (d->state == DL_FAILED) {
			fuse_reply_err(w->req, d->err);
			if (w->kind == 0)
				dl_unref(d);
		} else if (w->kind == 0) {
			w->fi.fh = (uint64_t)(uintptr_t)d;
			/* a new listing: the kernel drops what it kept */
			w->fi.cache_readdir = 1;
			w->fi.keep_cache = 0;
			if (fuse_reply_open(w->req, &w->fi) != 0)
				dl_unref(d);
		} else
			dl_fill(d, w->req, w->size, w->off, w->kind == 2);
		free(w);
	}
}

void
dl_wait(struct dlist *d, fuse_req_t req, int kind, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct dwait *w = xcalloc(1, sizeof(*w));

	w->req = req;
	w->kind = kind;
	w->size = size;
	w->off = off;
	if (fi != NULL)
		w->fi = *fi;
	w->next = d->waiters;
	d->waiters = w;
}

/* The finished listing of the directory holding path[0..len), or NULL. */
struct dlist *
dl_parent(const char *path, size_t len, const char **name, size_t *namelen)
{
	const char *slash;
	struct dlist *d;

	for (slash = path + len; slash > path && slash[-1] != '/'; slash--)
		;
	if (slash == path)
		return NULL;
	*name = slash;
	*namelen = len - (size_t)(slash - path);
	slash--;
	d = dl_find(path, slash == path ? 1 : (size_t)(slash - path));
	return d != NULL && d->state == DL_DONE ? d : NULL;
}
