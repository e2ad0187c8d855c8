/*
 * Whole-file prefetch.  Files snap says it will read (the fetch hint,
 * pf_want) are read whole, with all their READs in flight at once, in
 * the order asked.  Without hints, when a file is opened, the small
 * regular files that follow it in its directory's listing (and at the
 * start of the next sibling directories) are read whole, unless the
 * kernel already holds them.  Either way their opens and reads are then
 * answered without a round trip.  A copy serves an open within the cache
 * timeout; finished, unused ones go oldest first past PF_MAX_BYTES.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "mr.h"
#include "xalloc.h"

#define PF_AHEAD	32		/* small files prefetched after an open */
#define PF_INFLIGHT	256		/* files being fetched */
#define PF_MAX_BYTES	(64u << 20)
#define PF_WANT_MAX	(4u << 20)	/* larger wanted files stream */
#define PF_WANTQ	4096		/* wanted files waiting for room */
#define PF_HINT_SECS	60		/* no guessing this long after a hint */

enum { PF_OPENING, PF_READING, PF_DONE, PF_FAILED };

struct pfile {
	struct hent	 he;
	int		 state;
	int		 stale;		/* the file changed: do not hand out */
	unsigned char	 h[SFTP_MAX_HANDLE];
	size_t		 hlen;
	uint64_t	 size;
	uint32_t	 mtime;
	unsigned char	*data;
	size_t		 got;
	uint64_t	 eof_at;	/* where the server said the file ends */
	int		 reads;		/* READs in flight */
	unsigned long	 gen;		/* conn_gen() at its last request */
	int		 failed;
	double		 when;
	fuse_req_t	 open_req;
	struct fuse_file_info open_fi;
	struct pfile	*prev, *next;	/* LRU of finished, unused ones */
};

/* One READ of a prefetch: bytes [off, off + len) of p. */
struct pread {
	struct pfile	*p;
	uint64_t	 off;
	uint32_t	 len;
};

static struct htab pfiles;
static size_t pf_inflight, pf_bytes;
static struct pfile *pf_lru_head, *pf_lru_tail;
static char *pf_wantq[PF_WANTQ];
static size_t pwq_head, pwq_len;
static double pf_hint_time = -1e9;

static void pf_pump(void);

static void
pf_lru_del(struct pfile *p)
{
	if (p->prev != NULL)
		p->prev->next = p->next;
	else if (pf_lru_head == p)
		pf_lru_head = p->next;
	else
		return;
	if (p->next != NULL)
		p->next->prev = p->prev;
	else
		pf_lru_tail = p->prev;
	p->prev = p->next = NULL;
}

static void
pf_free(struct pfile *p)
{
	pf_lru_del(p);
	ht_del(&pfiles, &p->he);
	if (p->data != NULL)
		pf_bytes -= p->size;
	free(p->data);
	free(p->he.key);
	free(p);
}

/* A prefetched file becomes an open file without a remote handle. */
static struct ofile *
pf_take(struct pfile *p)
{
	struct ofile *of;

	of = of_from_buf(p->he.key, p->he.klen, p->size, p->data, p->got);
	if (p->got > 0) {
		pf_bytes -= p->size;
		p->data = NULL;
	}
	return of;
}

/* Prefetch finished (done or failed): hand it to a waiting open. */
static void
pf_end(struct pfile *p, int state)
{
	fuse_req_t req = p->open_req;
	struct fuse_file_info fi = p->open_fi;
	struct node *n;

	if (p->hlen > 0 && !conn_dead())
		conn_close_handle(p->h, p->hlen);
	p->hlen = 0;
	if (p->stale)
		state = PF_FAILED;	/* a waiting open asks the server */
	p->state = state;
	pf_inflight--;
	if (req == NULL) {
		if (state == PF_DONE) {
			p->prev = pf_lru_tail;
			p->next = NULL;
			if (pf_lru_tail != NULL)
				pf_lru_tail->next = p;
			else
				pf_lru_head = p;
			pf_lru_tail = p;
			while (pf_bytes > PF_MAX_BYTES && pf_lru_head != NULL)
				pf_free(pf_lru_head);
		} else
			pf_free(p);
		pf_pump();
		return;
	}
	p->open_req = NULL;
	if (state == PF_DONE) {
		of_reply_open(pf_take(p), req, &fi);
		pf_free(p);
		pf_pump();
		return;
	}
	n = node_find(p->he.key, p->he.klen, p->he.h);
	pf_free(p);
	if (conn_dead() || n == NULL)
		fuse_reply_err(req, EIO);
	else
		of_start_open(req, &fi, n);
	pf_pump();
}

/* The last READ of p came back: it is done, or failed. */
static void
pf_settle(struct pfile *p)
{
	if (p->reads > 0)
		return;
	if (p->failed) {
		pf_end(p, PF_FAILED);
		return;
	}
	p->got = p->eof_at < p->size ? (size_t)p->eof_at : (size_t)p->size;
	if (p->got < p->size)
		node_stale(p->he.key, p->he.klen);	/* it shrank */
	pf_end(p, PF_DONE);
}

static void pf_read_cb(void *, struct sftp_reply *);

/* Ask for bytes [off, off + len) of p; 0, or -1 when that failed. */
static int
pf_read(struct pfile *p, uint64_t off, uint32_t len)
{
	struct pread *rd = xmalloc(sizeof(*rd));
	int rc;

	rd->p = p;
	rd->off = off;
	rd->len = len;
	conn_batch = p->open_req == NULL;
	rc = conn_read(p->h, p->hlen, off, len, pf_read_cb, rd);
	conn_batch = 0;
	p->gen = conn_gen();
	if (rc == -1) {
		free(rd);
		p->failed = 1;
		return -1;
	}
	p->reads++;
	return 0;
}

static void
pf_read_cb(void *arg, struct sftp_reply *r)
{
	struct pread *rd = arg;
	struct pfile *p = rd->p;

	p->reads--;
	if (r == NULL)
		p->failed = 1;
	else if (p->failed)
		;	/* just collect the replies */
	else if (r->type == SSH_FXP_STATUS) {
		if (r->code != SSH_FX_EOF)
			p->failed = 1;
		else if (rd->off < p->eof_at)
			p->eof_at = rd->off;
	} else if (r->type == SSH_FXP_DATA) {
		if (r->datalen > rd->len) {
			conn_fail("DATA reply longer than requested");
			p->failed = 1;
		} else if (r->datalen == 0) {
			if (rd->off < p->eof_at)
				p->eof_at = rd->off;
		} else {
			memcpy(p->data + rd->off, r->data, r->datalen);
			if (r->datalen < rd->len)	/* a short read: the rest */
				(void)pf_read(p, rd->off + r->datalen,
				    rd->len - (uint32_t)r->datalen);
		}
	} else {
		bad(r, "READ");
		p->failed = 1;
	}
	free(rd);
	pf_settle(p);
}

static void
pf_open_cb(void *arg, struct sftp_reply *r)
{
	struct pfile *p = arg;
	uint64_t off;
	uint32_t len;

	if (r == NULL || r->type == SSH_FXP_STATUS)
		pf_end(p, PF_FAILED);
	else if (r->type == SSH_FXP_HANDLE) {
		memcpy(p->h, r->data, r->datalen);
		p->hlen = r->datalen;
		p->state = PF_READING;
		for (off = 0; off < p->size && !p->failed; off += len) {
			len = p->size - off < conn_info.readlen ?
			    (uint32_t)(p->size - off) : conn_info.readlen;
			(void)pf_read(p, off, len);
		}
		pf_settle(p);
	} else {
		bad(r, "OPEN");
		pf_end(p, PF_FAILED);
	}
}

/* Fetch the file at path (taken) whose attributes are a. */
static void
pf_start(char *path, size_t len, uint64_t size, uint32_t mtime)
{
	struct pfile *p = xcalloc(1, sizeof(*p));
	int rc;

	he_init(&p->he, path, len);
	p->size = size;
	p->eof_at = size;
	p->mtime = mtime;
	p->when = mono();
	if (p->size > 0)
		p->data = xmalloc(p->size);
	conn_batch = 1;
	rc = conn_open(path, len, pf_open_cb, p);
	conn_batch = 0;
	p->gen = conn_gen();
	if (rc == -1) {
		free(p->data);
		free(path);
		free(p);
		return;
	}
	pf_bytes += p->size;
	pf_inflight++;
	ht_add(&pfiles, &p->he);
}

/* Does the kernel hold all of node n as it is now (keep_cache)? */
static int
pf_held(struct node *n)
{
	return n != NULL && n->cached > 0 && n->st_time > 0 &&
	    mono() - n->cached <= fs_opts.cache_timeout &&
	    n->csize == n->st.st_size && n->cmtime == n->st.st_mtime;
}

/* Start the wanted files there is room for, in the order asked. */
static void
pf_pump(void)
{
	struct node *n;
	char *path;
	size_t len;
	uint64_t h;

	while (pwq_len > 0 && pf_inflight < PF_INFLIGHT && !conn_dead()) {
		path = pf_wantq[pwq_head];
		len = strlen(path);
		h = hash(path, len);
		n = node_find(path, len, h);
		if (n != NULL && n->st_time > 0 &&
		    pf_bytes + (uint64_t)n->st.st_size > PF_MAX_BYTES &&
		    pf_bytes > 0)
			return;		/* wait for room */
		pwq_head = (pwq_head + 1) % PF_WANTQ;
		pwq_len--;
		if (n == NULL || n->st_time <= 0 || !S_ISREG(n->st.st_mode) ||
		    ht_find(&pfiles, path, len, h) != NULL || pf_held(n)) {
			free(path);
			continue;
		}
		pf_start(path, len, (uint64_t)n->st.st_size,
		    (uint32_t)n->st.st_mtime);
	}
}

/* Someone will read all of n soon: fetch it, unless it is large. */
void
pf_want(struct node *n)
{
	if (n->st.st_size > (off_t)PF_WANT_MAX || pwq_len == PF_WANTQ ||
	    ht_find(&pfiles, n->he.key, n->he.klen, n->he.h) != NULL ||
	    pf_held(n))
		return;
	pf_wantq[(pwq_head + pwq_len) % PF_WANTQ] =
	    xmemdup(n->he.key, n->he.klen + 1);
	pwq_len++;
	pf_pump();
}

/* A hint came: for a while the files wanted are known, not guessed. */
void
pf_hinted(void)
{
	pf_hint_time = mono();
}

/*
 * Open n for req: from its prefetched copy when that matches n's
 * attributes and is fresh (once it has loaded, if it is loading), else
 * from the server.
 */
void
pf_open(fuse_req_t req, struct fuse_file_info *fi, struct node *n)
{
	struct pfile *p;

	p = (struct pfile *)ht_find(&pfiles, n->he.key, n->he.klen, n->he.h);
	if (p != NULL && (p->size != (uint64_t)n->st.st_size ||
	    p->mtime != (uint32_t)n->st.st_mtime ||
	    mono() - p->when > fs_opts.cache_timeout || p->open_req != NULL)) {
		if (p->state == PF_DONE)
			pf_free(p);
		p = NULL;
	}
	if (p == NULL)
		of_start_open(req, fi, n);
	else if (p->state == PF_DONE) {
		of_reply_open(pf_take(p), req, fi);
		pf_free(p);
	} else {
		p->open_req = req;
		p->open_fi = *fi;
		if (p->gen == conn_gen())
			conn_flush();	/* its last request waits for company */
	}
}

/*
 * Make sure the small regular files of listing d from index i on are
 * being fetched, until *ahead of them have been seen.
 */
static void
pf_dir(struct dlist *d, long i, long *ahead)
{
	struct dent *e;
	size_t plen;
	long j;
	char *p;

	for (j = i; j < (long)d->n && *ahead < PF_AHEAD &&
	    j - i < 4 * PF_AHEAD; j++) {
		e = &d->ents[j];
		if (!a_isreg(&e->a) || !(e->a.flags & SSH_FILEXFER_ATTR_SIZE) ||
		    e->a.size > conn_info.readlen)
			continue;
		(*ahead)++;
		p = join(d->he.key, d->he.klen, e->name, e->namelen, &plen);
		if (ht_find(&pfiles, p, plen, hash(p, plen)) != NULL ||
		    pf_inflight >= PF_INFLIGHT ||
		    pf_bytes + e->a.size > PF_MAX_BYTES ||
		    pf_held(node_find(p, plen, hash(p, plen)))) {
			free(p);
			continue;
		}
		pf_start(p, plen, e->a.size, e->a.mtime);
	}
}

/*
 * The file at path was opened: make sure the small regular files that
 * follow it in its directory's listing are being fetched, and near the
 * end of the directory those at the start of the next sibling
 * directories (the order in which find(1) and tar(1) walk).
 */
void
pf_after(const char *path, size_t len)
{
	struct dlist *d, *pd, *sd;
	const char *name;
	size_t namelen, plen;
	long i, k, dirs, ahead = 0;
	char *p;

	if (mono() - pf_hint_time < PF_HINT_SECS ||
	    (d = dl_parent(path, len, &name, &namelen)) == NULL ||
	    (i = dl_lookup(d, name, namelen)) == -1)
		return;
	pf_dir(d, i + 1, &ahead);
	if (ahead >= PF_AHEAD ||
	    (pd = dl_parent(d->he.key, d->he.klen, &name, &namelen)) == NULL ||
	    (i = dl_lookup(pd, name, namelen)) == -1)
		return;
	for (k = i + 1, dirs = 0; k < (long)pd->n && ahead < PF_AHEAD &&
	    dirs < 4; k++) {
		if (!a_isdir(&pd->ents[k].a))
			continue;
		dirs++;
		p = join(pd->he.key, pd->he.klen, pd->ents[k].name,
		    pd->ents[k].namelen, &plen);
		sd = dl_find(p, plen);
		free(p);
		if (sd != NULL && sd->state == DL_DONE)
			pf_dir(sd, 0, &ahead);
	}
}

/* Path changed: its prefetched copy goes (one still loading is not used). */
void
pf_stale(const char *path, size_t len)
{
	struct pfile *p;

	p = (struct pfile *)ht_find(&pfiles, path, len, hash(path, len));
	if (p == NULL)
		return;
	if (p->state == PF_DONE)
		pf_free(p);
	else
		p->stale = 1;
}
