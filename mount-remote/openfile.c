/*
 * Open files: read in chunks on a grid of the server's read size, with a
 * read-ahead window that op_read grows while reads are sequential, all
 * chunks within RA_GLOBAL bytes.  A kernel read waits on the chunks it
 * needs; a file the kernel holds whole is opened on the server only when
 * a read misses its cache (lazy), and a prefetched one never is.
 */
#include <sys/uio.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "mr.h"
#include "xalloc.h"

#define RA_GLOBAL	(64u << 20)	/* chunk memory over all files */

enum { CH_PENDING, CH_DONE, CH_ERR };

struct chunk {
	struct chunk	*next;
	uint64_t	 off;
	uint32_t	 len, got;
	int		 state, err, inflight;
	int		 pooled;	/* data is a readlen buffer of the pool */
	unsigned char	*data;
};

/*
 * Freed chunk buffers of the read size, kept for the next chunks: a
 * large allocation is a mmap and a munmap, and its pages fault in anew,
 * which cost more than the copy itself on a long sequential read.
 */
#define POOL_MAX	64

static size_t ra_bytes;
static unsigned char *pool[POOL_MAX];
static size_t npool;

static void rd_cb(void *, struct sftp_reply *);

/*
 * A read of of ended before its size: the file shrank since it was
 * listed.  Said once the kernel's reads of it are answered: the short
 * answers set the size the kernel keeps only when no notice that the
 * attributes are out of date came before them.
 */
void
of_shrunk(struct ofile *of)
{
	if (of->shrunk || of->eof >= of->size || of->waiters != NULL)
		return;
	of->shrunk = 1;
	node_stale(of->path, of->pathlen);
	pf_stale(of->path, of->pathlen);
}

struct ofile *
of_new(const char *path, size_t len, uint64_t size)
{
	struct ofile *of = xcalloc(1, sizeof(*of));

	of->path = xmemdup(path, len + 1);
	of->pathlen = len;
	of->size = size;
	of->eof = UINT64_MAX;
	return of;
}

/* An open file without a remote handle holding data[0..got) (taken). */
struct ofile *
of_from_buf(const char *path, size_t len, uint64_t size, unsigned char *data,
    size_t got)
{
	struct ofile *of = of_new(path, len, size);
	struct chunk *c;

	if (got > 0) {
		c = xcalloc(1, sizeof(*c));
		c->off = 0;
		c->len = c->got = (uint32_t)got;
		c->state = CH_DONE;
		c->data = data;
		ra_bytes += got;
		of->chunks = c;
	}
	of->eof = got;
	return of;
}

static void
chunk_free(struct ofile *of, struct chunk **pp)
{
	struct chunk *c = *pp;

	*pp = c->next;
	ra_bytes -= c->len;
	if (c->pooled && npool < POOL_MAX)
		pool[npool++] = c->data;
	else
		free(c->data);
	free(c);
}

void
of_free(struct ofile *of)
{
	while (of->chunks != NULL)
		chunk_free(of, &of->chunks);
	free(of->path);
	free(of);
}

void
of_reply_open(struct ofile *of, fuse_req_t req, struct fuse_file_info *fi)
{
	fi->fh = (uint64_t)(uintptr_t)of;
	fi->keep_cache = 1;
	fi->noflush = 1;
	if (fuse_reply_open(req, fi) != 0) {
		if (of->has_handle)
			conn_close_handle(of->h, of->hlen);
		of->released = 1;
		if (of->inflight == 0)
			of_free(of);
	}
}

static void
of_open_cb(void *arg, struct sftp_reply *r)
{
	struct ofile *of = arg;
	fuse_req_t req = of->open_req;

	of->open_req = NULL;
	if (r == NULL)
		fuse_reply_err(req, EIO);
	else if (r->type == SSH_FXP_STATUS)
		fuse_reply_err(req, sftp_errno(r->code) ? sftp_errno(r->code) :
		    EIO);
	else if (r->type == SSH_FXP_HANDLE) {
		memcpy(of->h, r->data, r->datalen);
		of->hlen = r->datalen;
		of->has_handle = 1;
		of_reply_open(of, req, &of->open_fi);
		return;
	} else {
		bad(r, "OPEN");
		fuse_reply_err(req, EIO);
	}
	of_free(of);
}

void
of_start_open(fuse_req_t req, struct fuse_file_info *fi, struct node *n)
{
	struct ofile *of;

	of = of_new(n->he.key, n->he.klen, (uint64_t)n->st.st_size);
	of->open_req = req;
	of->open_fi = *fi;
	if (conn_open(of->path, of->pathlen, of_open_cb, of) == -1) {
		fuse_reply_err(req, errno);
		of_free(of);
	}
}

struct rd {
	struct ofile	*of;
	struct chunk	*c;
	uint32_t	 len;
};

/* After a reply for of: free it once released and idle, else go on. */
static void
of_continue(struct ofile *of)
{
	if (of->released) {
		of_shrunk(of);
		if (of->inflight == 0)
			of_free(of);
		return;
	}
	of_progress(of);
	of_shrunk(of);
}

/* Ask for the rest of chunk c. */
static void
chunk_send(struct ofile *of, struct chunk *c)
{
	struct rd *rd = xmalloc(sizeof(*rd));

	rd->of = of;
	rd->c = c;
	rd->len = c->len - c->got;
	if (conn_read(of->h, of->hlen, c->off + c->got, rd->len, rd_cb, rd) ==
	    -1) {
		c->state = CH_ERR;
		c->err = errno;
		free(rd);
		return;
	}
	c->inflight++;
	of->inflight++;
}

static void
rd_cb(void *arg, struct sftp_reply *r)
{
	struct rd *rd = arg;
	struct ofile *of = rd->of;
	struct chunk *c = rd->c;

	free(rd);
	c->inflight--;
	of->inflight--;
	if (r == NULL) {
		c->state = CH_ERR;
		c->err = EIO;
	} else if (r->type == SSH_FXP_STATUS) {
		if (r->code == SSH_FX_EOF) {
			c->state = CH_DONE;
			if (c->off + c->got < of->eof)
				of->eof = c->off + c->got;
		} else {
			c->state = CH_ERR;
			c->err = sftp_errno(r->code) ? sftp_errno(r->code) : EIO;
		}
	} else if (r->type == SSH_FXP_DATA) {
		if (r->datalen > c->len - c->got) {
			conn_fail("DATA reply longer than requested");
			c->state = CH_ERR;
			c->err = EIO;
		} else {
			memcpy(c->data + c->got, r->data, r->datalen);
			c->got += (uint32_t)r->datalen;
			if (c->got == c->len)
				c->state = CH_DONE;
			else if (r->datalen == 0) {
				c->state = CH_DONE;
				if (c->off + c->got < of->eof)
					of->eof = c->off + c->got;
			} else if (!of->released)
				chunk_send(of, c);
		}
	} else {
		bad(r, "READ");
		c->state = CH_ERR;
		c->err = EIO;
	}
	of_continue(of);
}

static void
lazy_cb(void *arg, struct sftp_reply *r)
{
	struct ofile *of = arg;

	of->opening = 0;
	of->inflight--;
	if (r != NULL && r->type == SSH_FXP_HANDLE) {
		memcpy(of->h, r->data, r->datalen);
		of->hlen = r->datalen;
		of->has_handle = 1;
		if (of->released && !conn_dead())
			conn_close_handle(of->h, of->hlen);
	} else if (r != NULL && r->type == SSH_FXP_STATUS)
		of->lazy_err = sftp_errno(r->code) ? sftp_errno(r->code) : EIO;
	else {
		if (r != NULL)
			bad(r, "OPEN");
		of->lazy_err = EIO;
	}
	of_continue(of);
}

/* A read the kernel's cache could not answer: get the handle now. */
static void
lazy_open(struct ofile *of)
{
	if (of->opening || of->lazy_err)
		return;
	if (conn_open(of->path, of->pathlen, lazy_cb, of) == -1) {
		of->lazy_err = errno ? errno : EIO;
		return;
	}
	of->opening = 1;
	of->inflight++;
}

/* Make sure chunks cover [from, to); new ones are requested at once. */
static void
of_cover(struct ofile *of, uint64_t from, uint64_t to)
{
	struct chunk **pp = &of->chunks, *c;
	uint64_t p = from, cend, grid = conn_info.readlen;

	while (p < to) {
		while (*pp != NULL && (*pp)->off + (*pp)->len <= p)
			pp = &(*pp)->next;
		if (*pp != NULL && (*pp)->off <= p) {
			p = (*pp)->off + (*pp)->len;
			continue;
		}
		cend = (p / grid + 1) * grid;
		if (*pp != NULL && (*pp)->off < cend)
			cend = (*pp)->off;
		if (p < of->size && cend > of->size)
			cend = of->size;
		if (!of->has_handle && of->lazy) {
			lazy_open(of);
			return;
		}
		if (!of->has_handle) {
			/* A prefetched file: nothing exists beyond its content. */
			if (p < of->eof)
				of->eof = p;
			return;
		}
		c = xcalloc(1, sizeof(*c));
		c->off = p;
		c->len = (uint32_t)(cend - p);
		if (npool > 0)
			c->data = pool[--npool];
		else
			c->data = xmalloc(conn_info.readlen);
		c->pooled = 1;
		c->state = CH_PENDING;
		c->next = *pp;
		*pp = c;
		ra_bytes += c->len;
		chunk_send(of, c);
		p = cend;
	}
}

/*
 * Answer a kernel read from the chunks: 1 when answered (data, end of
 * file or error), 0 when it has to wait.
 */
int
of_try(struct ofile *of, fuse_req_t req, uint64_t off, size_t size)
{
	struct iovec *iov;
	struct chunk *c;
	uint64_t end, pos, avail;
	size_t n = 0, max;

	end = off + size;
	if (off < of->size && end > of->size)
		end = of->size;
	if (end > of->eof)
		end = of->eof;
	if (off >= end) {
		fuse_reply_buf(req, NULL, 0);
		return 1;
	}
	of_cover(of, off, end);
	if (of->lazy && !of->has_handle) {
		if (!of->lazy_err)
			return 0;
		fuse_reply_err(req, of->lazy_err);
		return 1;
	}
	if (end > of->eof)
		end = of->eof;
	max = 16;
	iov = xreallocarray(NULL, max, sizeof(*iov));
	pos = off;
	for (c = of->chunks; c != NULL && pos < end; c = c->next) {
		if (c->off + c->len <= pos)
			continue;
		if (c->off > pos)
			break;
		if (n == max) {
			max *= 2;
			iov = xreallocarray(iov, max, sizeof(*iov));
		}
		if (c->state == CH_ERR) {
			fuse_reply_err(req, c->err);
			free(iov);
			return 1;
		}
		if (c->state == CH_PENDING) {
			free(iov);
			return 0;
		}
		avail = c->off + c->got;
		if (avail > end)
			avail = end;
		if (pos < avail) {
			iov[n].iov_base = c->data + (pos - c->off);
			iov[n].iov_len = avail - pos;
			n++;
			pos = avail;
		}
		if (c->got < c->len)
			break;		/* end of file inside this chunk */
	}
	fuse_reply_iov(req, iov, (int)n);
	free(iov);
	return 1;
}

/* Answer the reads that can be, free what is behind them, read ahead. */
void
of_progress(struct ofile *of)
{
	struct kread *k, **kp = &of->waiters;
	struct chunk **pp;
	uint64_t low = of->last_end, target;

	while ((k = *kp) != NULL) {
		if (of_try(of, k->req, k->off, k->size)) {
			*kp = k->next;
			free(k);
		} else {
			if (k->off < low)
				low = k->off;
			kp = &k->next;
		}
	}
	for (pp = &of->chunks; *pp != NULL; ) {
		if ((*pp)->off + (*pp)->len <= low && (*pp)->inflight == 0 &&
		    (*pp)->state != CH_PENDING && (*pp)->off + (*pp)->len +
		    conn_info.readlen <= of->last_end)
			chunk_free(of, pp);
		else
			pp = &(*pp)->next;
	}
	if (of->window == 0 || !of->has_handle)
		return;
	target = of->last_end + of->window;
	if (target > of->size)
		target = of->size;
	if (target > of->eof)
		target = of->eof;
	if (of->ra_end < of->last_end)
		of->ra_end = of->last_end;
	while (of->ra_end < target && ra_bytes < RA_GLOBAL) {
		uint64_t to = of->ra_end + conn_info.readlen;

		if (to > target)
			to = target;
		of_cover(of, of->ra_end, to);
		of->ra_end = to;
	}
}
