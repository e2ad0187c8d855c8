/*
 * The FUSE low-level operations, mr_ops.  Those that read take mr_lock,
 * answer from the caches (nodes, listings, prefetched and open files)
 * when they can, else queue SFTP requests and return: the reply
 * callbacks answer the kernel.  Every write-class operation gets EROFS.
 */
#include <sys/statvfs.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "mr.h"
#include "pathname.h"
#include "xalloc.h"

#define RA_MAX		(8u << 20)	/* read-ahead per file */

/*
 * What the kernel takes back (more makes it refuse the reply and libfuse
 * complain on stderr): a link target of a page less its NUL, a name in a
 * listing of NAME_MAX bytes (longer ones could never be looked up).
 */
#define LINK_MAX_TARGET	(PATH_MAX - 1)

static void
reply_entry(fuse_req_t req, struct node *n)
{
	struct fuse_entry_param e;

	memset(&e, 0, sizeof(e));
	e.ino = node_ino(n);
	e.attr = n->st;
	e.attr_timeout = e.entry_timeout = fs_opts.cache_timeout;
	n->nlookup++;
	if (fuse_reply_entry(req, &e) != 0)
		node_unref(n, 1);
}

static void
reply_noent(fuse_req_t req)
{
	struct fuse_entry_param e;

	memset(&e, 0, sizeof(e));
	e.entry_timeout = fs_opts.neg_timeout;
	fuse_reply_entry(req, &e);
}

/*
 * LOOKUP and GETATTR through LSTAT.
 */
struct lk {
	fuse_req_t	 req;
	char		*path;
	size_t		 len;
	struct node	*node;		/* GETATTR: the node to refresh */
};

static void
lstat_cb(void *arg, struct sftp_reply *r)
{
	struct lk *lk = arg;
	struct node *n;
	int e;

	if (r == NULL)
		fuse_reply_err(lk->req, EIO);
	else if (r->type == SSH_FXP_STATUS) {
		e = sftp_errno(r->code);
		if (e == 0)
			e = EIO;
		if (e == ENOENT && lk->node == NULL)
			reply_noent(lk->req);
		else
			fuse_reply_err(lk->req, e);
	} else if (r->type == SSH_FXP_ATTRS) {
		if (lk->node != NULL) {
			node_fresh(lk->node, &r->attrs);
			fuse_reply_attr(lk->req, &lk->node->st,
			    fs_opts.cache_timeout);
		} else {
			n = node_get(lk->path, lk->len);
			lk->path = NULL;
			node_fresh(n, &r->attrs);
			reply_entry(lk->req, n);
		}
	} else {
		bad(r, "LSTAT");
		fuse_reply_err(lk->req, EIO);
	}
	free(lk->path);
	free(lk);
}

static void
send_lstat(fuse_req_t req, char *path, size_t len, struct node *n)
{
	struct lk *lk = xcalloc(1, sizeof(*lk));

	lk->req = req;
	lk->path = path;
	lk->len = len;
	lk->node = n;
	if (conn_path(SSH_FXP_LSTAT, n ? n->he.key : path, n ? n->he.klen : len,
	    lstat_cb, lk) == -1) {
		fuse_reply_err(req, errno);
		free(lk->path);
		free(lk);
	}
}

/*
 * Operations.
 */
static void
op_init(void *data, struct fuse_conn_info *conn)
{
	conn->want |= FUSE_CAP_READDIRPLUS | FUSE_CAP_ASYNC_READ;
	conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
	if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
		conn->want |= FUSE_CAP_CACHE_SYMLINKS;
	conn->want &= ~(FUSE_CAP_WRITEBACK_CACHE | FUSE_CAP_POSIX_LOCKS |
	    FUSE_CAP_FLOCK_LOCKS);
	conn->time_gran = 1000000000;
	conn->max_background = 64;
	conn->congestion_threshold = 48;
}

static void
op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct node *p = ino_node(parent), *n;
	struct dlist *d;
	char *path;
	size_t len, nl = strlen(name);
	long i;

	pthread_mutex_lock(&mr_lock);
	path = join(p->he.key, p->he.klen, name, nl, &len);
	d = dl_find(p->he.key, p->he.klen);
	if (d != NULL && d->state == DL_DONE &&
	    mono() - d->loaded <= fs_opts.cache_timeout) {
		if ((i = dl_lookup(d, name, nl)) == -1) {
			free(path);
			reply_noent(req);
		} else {
			n = node_get(path, len);
			node_set(n, &d->ents[i].a);
			reply_entry(req, n);
		}
	} else
		send_lstat(req, path, len, NULL);
	pthread_mutex_unlock(&mr_lock);
}

static void
op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	pthread_mutex_lock(&mr_lock);
	node_unref(ino_node(ino), nlookup);
	pthread_mutex_unlock(&mr_lock);
	fuse_reply_none(req);
}

static void
op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *f)
{
	size_t i;

	pthread_mutex_lock(&mr_lock);
	for (i = 0; i < count; i++)
		node_unref(ino_node(f[i].ino), f[i].nlookup);
	pthread_mutex_unlock(&mr_lock);
	fuse_reply_none(req);
}

static void
op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct node *n = ino_node(ino);

	pthread_mutex_lock(&mr_lock);
	if (n->st_time > 0 && mono() - n->st_time <= fs_opts.cache_timeout)
		fuse_reply_attr(req, &n->st, fs_opts.cache_timeout);
	else
		send_lstat(req, NULL, 0, n);
	pthread_mutex_unlock(&mr_lock);
}

struct rl {
	fuse_req_t	 req;
	char		*path;		/* for the message */
};

static void
readlink_cb(void *arg, struct sftp_reply *r)
{
	struct rl *rl = arg;
	fuse_req_t req = rl->req;
	struct sftp_name nm;
	char *s;

	if (r == NULL)
		fuse_reply_err(req, EIO);
	else if (r->type == SSH_FXP_STATUS)
		fuse_reply_err(req, sftp_errno(r->code) ? sftp_errno(r->code) :
		    EIO);
	else if (r->type == SSH_FXP_NAME && r->count == 1 &&
	    sftp_name_next(r, &nm) == 1 && nm.namelen > 0 &&
	    memchr(nm.name, '\0', nm.namelen) == NULL) {
		if (nm.namelen > LINK_MAX_TARGET) {
			warnx("readlink %s: target of %zu bytes, more than %d",
			    shown(rl->path), nm.namelen, LINK_MAX_TARGET);
			fuse_reply_err(req, ENAMETOOLONG);
		} else {
			s = xmalloc(nm.namelen + 1);
			memcpy(s, nm.name, nm.namelen);
			s[nm.namelen] = '\0';
			fuse_reply_readlink(req, s);
			free(s);
		}
	} else {
		bad(r, "READLINK");
		fuse_reply_err(req, EIO);
	}
	free(rl->path);
	free(rl);
}

/* Ask the server for the target of the symlink at path (mr_lock held). */
void
readlink_send(fuse_req_t req, const char *path, size_t len)
{
	struct rl *rl = xmalloc(sizeof(*rl));

	rl->req = req;
	rl->path = xmemdup(path, len + 1);
	if (conn_path(SSH_FXP_READLINK, path, len, readlink_cb, rl) == -1) {
		fuse_reply_err(req, errno);
		free(rl->path);
		free(rl);
	}
}

static void
op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct node *n = ino_node(ino);

	pthread_mutex_lock(&mr_lock);
	if (!dl_readlink(req, n->he.key, n->he.klen))
		readlink_send(req, n->he.key, n->he.klen);
	pthread_mutex_unlock(&mr_lock);
}

static void
op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct node *n = ino_node(ino);
	struct dlist *d;

	pthread_mutex_lock(&mr_lock);
	if ((d = dl_get(n->he.key, n->he.klen)) == NULL) {
		fuse_reply_err(req, errno);
		goto out;
	}
	dl_ref(d);
	d->kernel = 1;
	if (d->state == DL_OPENING)
		dl_wait(d, req, 0, 0, 0, fi);
	else if (d->state == DL_FAILED) {
		fuse_reply_err(req, d->err);
		dl_unref(d);
	} else {
		fi->fh = (uint64_t)(uintptr_t)d;
		/*
		 * The kernel may keep what it read of this listing: the next
		 * walk (snap's after its scout's) lists from its page cache.
		 */
		fi->cache_readdir = 1;
		fi->keep_cache = 1;
		if (fuse_reply_open(req, fi) != 0)
			dl_unref(d);
		else
			dl_prefetch_children(d);
	}
out:
	pthread_mutex_unlock(&mr_lock);
}

static void
readdir_any(fuse_req_t req, size_t size, off_t off, struct fuse_file_info *fi,
    int plus)
{
	struct dlist *d = (struct dlist *)(uintptr_t)fi->fh;

	pthread_mutex_lock(&mr_lock);
	if (d->state == DL_FAILED)
		fuse_reply_err(req, d->err);
	else if (d->state != DL_DONE)
		dl_wait(d, req, plus ? 2 : 1, size, off, NULL);
	else
		dl_fill(d, req, size, off, plus);
	pthread_mutex_unlock(&mr_lock);
}

static void
op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	readdir_any(req, size, off, fi, 0);
}

static void
op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	readdir_any(req, size, off, fi, 1);
}

static void
op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	pthread_mutex_lock(&mr_lock);
	dl_unref((struct dlist *)(uintptr_t)fi->fh);
	pthread_mutex_unlock(&mr_lock);
	fuse_reply_err(req, 0);
}

static void
op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct node *n = ino_node(ino);

	if ((fi->flags & O_ACCMODE) != O_RDONLY ||
	    fi->flags & (O_TRUNC | O_APPEND | O_CREAT)) {
		fuse_reply_err(req, EROFS);
		return;
	}
	pthread_mutex_lock(&mr_lock);
	if (n->st_time > 0 && !S_ISREG(n->st.st_mode)) {
		fuse_reply_err(req, S_ISDIR(n->st.st_mode) ? EISDIR : EACCES);
		goto out;
	}
	/*
	 * Read to the end since the attributes last changed: the kernel
	 * keeps the pages (keep_cache), so the remote open waits until a
	 * read misses them.  Saves a round trip per re-opened file, e.g.
	 * when snap opens a file its read-ahead threads just read.
	 */
	if (n->cached > 0 && n->st_time > 0 &&
	    mono() - n->cached <= fs_opts.cache_timeout &&
	    n->csize == n->st.st_size && n->cmtime == n->st.st_mtime) {
		struct ofile *of = of_new(n->he.key, n->he.klen,
		    (uint64_t)n->st.st_size);

		of->lazy = 1;
		of_reply_open(of, req, fi);
		goto out;
	}
	pf_open(req, fi, n);
	pf_after(n->he.key, n->he.klen);
out:
	pthread_mutex_unlock(&mr_lock);
}

static void
op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct ofile *of = (struct ofile *)(uintptr_t)fi->fh;
	struct kread *k, **kp;
	uint64_t o = (uint64_t)off, end = o + size;

	pthread_mutex_lock(&mr_lock);
	/* Sequential (within what was read ahead) grows the window. */
	if (o <= of->ra_end && end >= of->last_end) {
		if (o > 0 || of->last_end > 0 || size >= 65536)
			of->window = of->window ? of->window * 2 :
			    2 * (uint64_t)conn_info.readlen;
		if (of->window > RA_MAX)
			of->window = RA_MAX;
	} else if (end + RA_MAX < of->last_end || o > of->ra_end)
		of->window = 0;
	if (end > of->last_end || of->window == 0)
		of->last_end = end;
	if (!of_try(of, req, o, size)) {
		k = xmalloc(sizeof(*k));
		k->req = req;
		k->off = o;
		k->size = size;
		/* In offset order, so that a short answer comes first. */
		for (kp = &of->waiters; *kp != NULL && (*kp)->off < o;
		    kp = &(*kp)->next)
			;
		k->next = *kp;
		*kp = k;
	}
	of_progress(of);
	of_shrunk(of);
	pthread_mutex_unlock(&mr_lock);
}

static void
op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct ofile *of = (struct ofile *)(uintptr_t)fi->fh;
	struct node *n;

	pthread_mutex_lock(&mr_lock);
	of->released = 1;
	if (of->last_end >= of->size && of->eof >= of->size &&
	    (n = node_find(of->path, of->pathlen,
	    hash(of->path, of->pathlen))) != NULL && n->st_time > 0 &&
	    (uint64_t)n->st.st_size == of->size) {
		n->cached = mono();
		n->csize = n->st.st_size;
		n->cmtime = n->st.st_mtime;
	}
	if (of->has_handle && !conn_dead())
		conn_close_handle(of->h, of->hlen);
	while (of->waiters != NULL) {	/* cannot happen: reads finish first */
		struct kread *k = of->waiters;

		of->waiters = k->next;
		fuse_reply_err(k->req, EIO);
		free(k);
	}
	of_shrunk(of);
	if (of->inflight == 0)
		of_free(of);
	pthread_mutex_unlock(&mr_lock);
	fuse_reply_err(req, 0);
}

static void
statvfs_cb(void *arg, struct sftp_reply *r)
{
	fuse_req_t req = arg;
	struct sftp_statvfs s;
	struct statvfs st;

	if (r == NULL)
		fuse_reply_err(req, EIO);
	else if (r->type == SSH_FXP_STATUS)
		fuse_reply_err(req, sftp_errno(r->code) ? sftp_errno(r->code) :
		    EIO);
	else if (sftp_parse_statvfs(r, &s) == 0) {
		memset(&st, 0, sizeof(st));
		st.f_bsize = s.bsize;
		st.f_frsize = s.frsize;
		st.f_blocks = s.blocks;
		st.f_bfree = s.bfree;
		st.f_bavail = s.bavail;
		st.f_files = s.files;
		st.f_ffree = s.ffree;
		st.f_favail = s.favail;
		st.f_namemax = s.namemax;
		st.f_flag = ST_RDONLY | ST_NOSUID;
		fuse_reply_statfs(req, &st);
	} else {
		bad(r, "statvfs@openssh.com");
		fuse_reply_err(req, EIO);
	}
}

static void
op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct node *root = ino_node(FUSE_ROOT_ID);
	struct statvfs st;

	pthread_mutex_lock(&mr_lock);
	if (conn_info.has_statvfs) {
		if (conn_ext("statvfs@openssh.com", root->he.key,
		    root->he.klen, statvfs_cb, req) == -1)
			fuse_reply_err(req, errno);
	} else {
		memset(&st, 0, sizeof(st));
		st.f_bsize = st.f_frsize = 4096;
		st.f_namemax = 255;
		fuse_reply_statfs(req, &st);
	}
	pthread_mutex_unlock(&mr_lock);
}

/* Every write-class operation: the file system is read-only. */
static void
op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *st, int set,
    struct fuse_file_info *fi)
{
	fuse_reply_err(req, EROFS);
}

static void
op_mknod(fuse_req_t req, fuse_ino_t p, const char *name, mode_t m, dev_t d)
{
	fuse_reply_err(req, EROFS);
}

static void
op_mkdir(fuse_req_t req, fuse_ino_t p, const char *name, mode_t m)
{
	fuse_reply_err(req, EROFS);
}

static void
op_unlink(fuse_req_t req, fuse_ino_t p, const char *name)
{
	fuse_reply_err(req, EROFS);
}

static void
op_symlink(fuse_req_t req, const char *link, fuse_ino_t p, const char *name)
{
	fuse_reply_err(req, EROFS);
}

static void
op_rename(fuse_req_t req, fuse_ino_t p, const char *name, fuse_ino_t np,
    const char *newname, unsigned int flags)
{
	fuse_reply_err(req, EROFS);
}

static void
op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t np, const char *name)
{
	fuse_reply_err(req, EROFS);
}

static void
op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
    off_t off, struct fuse_file_info *fi)
{
	fuse_reply_err(req, EROFS);
}

static void
op_create(fuse_req_t req, fuse_ino_t p, const char *name, mode_t m,
    struct fuse_file_info *fi)
{
	fuse_reply_err(req, EROFS);
}

/*
 * The hints snap gives (mount-remote(1), HINTS): "user.mount-remote.walk"
 * on a directory, or ".walk.links-since.TIME" (targets only of symlinks
 * modified at or after TIME), "user.mount-remote.fetch" on a regular
 * file.  Each answers at once with an empty value; every other name is
 * not supported (the remote file system's attributes do not cross SFTP).
 */
#define WALK_HINT	"user.mount-remote.walk"
#define WALK_SINCE	".links-since."

static void
op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct node *n = ino_node(ino);
	unsigned long long since = 0;
	char *end;
	int ok = 0, walk;

	walk = strcmp(name, WALK_HINT) == 0;
	if (strncmp(name, WALK_HINT WALK_SINCE, strlen(WALK_HINT WALK_SINCE)) ==
	    0) {
		name += strlen(WALK_HINT WALK_SINCE);
		errno = 0;
		since = strtoull(name, &end, 10);
		walk = *name >= '0' && *name <= '9' && *end == '\0' &&
		    errno == 0;
	}
	pthread_mutex_lock(&mr_lock);
	if (walk && n->st_time > 0 && S_ISDIR(n->st.st_mode)) {
		pf_hinted();
		dl_walk(n->he.key, n->he.klen, since);
		ok = 1;
	} else if (strcmp(name, "user.mount-remote.fetch") == 0 &&
	    n->st_time > 0 && S_ISREG(n->st.st_mode)) {
		pf_hinted();
		pf_want(n);
		ok = 1;
	}
	pthread_mutex_unlock(&mr_lock);
	if (!ok)
		fuse_reply_err(req, EOPNOTSUPP);
	else if (size == 0)
		fuse_reply_xattr(req, 0);
	else
		fuse_reply_buf(req, "", 0);
}

static void
op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
    const char *value, size_t size, int flags)
{
	fuse_reply_err(req, EROFS);
}

static void
op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
    struct fuse_file_info *fi)
{
	fuse_reply_err(req, EROFS);
}

const struct fuse_lowlevel_ops mr_ops = {
	.init		= op_init,
	.lookup		= op_lookup,
	.forget		= op_forget,
	.forget_multi	= op_forget_multi,
	.getattr	= op_getattr,
	.readlink	= op_readlink,
	.opendir	= op_opendir,
	.readdir	= op_readdir,
	.readdirplus	= op_readdirplus,
	.releasedir	= op_releasedir,
	.open		= op_open,
	.read		= op_read,
	.release	= op_release,
	.statfs		= op_statfs,
	.setattr	= op_setattr,
	.mknod		= op_mknod,
	.mkdir		= op_mkdir,
	.unlink		= op_unlink,
	.rmdir		= op_unlink,
	.symlink	= op_symlink,
	.rename		= op_rename,
	.link		= op_link,
	.write		= op_write,
	.create		= op_create,
	.setxattr	= op_setxattr,
	.getxattr	= op_getxattr,
	.removexattr	= op_unlink,
	.fallocate	= op_fallocate,
};
