/*
 * The hash table every cache keys by remote path, the helpers the file
 * system's files share, and the nodes: one per remote path the kernel
 * knows, its address being the inode number the kernel sees.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conn.h"
#include "hash.h"
#include "mr.h"
#include "xalloc.h"

struct mr_opts fs_opts;
static struct fuse_session *session;	/* for notifications; NULL at the end */
static struct node rootnode;
static struct htab nodes;

double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The table hash and the stable inode number. */
uint64_t
hash(const char *s, size_t n)
{
	return fnv1a(FNV1A_INIT, s, n);
}

struct hent *
ht_find(struct htab *t, const char *key, size_t klen, uint64_t h)
{
	struct hent *e;

	if (t->nb == 0)
		return NULL;
	for (e = t->b[h & (t->nb - 1)]; e != NULL; e = e->next)
		if (e->h == h && e->klen == klen &&
		    memcmp(e->key, key, klen) == 0)
			return e;
	return NULL;
}

void
ht_add(struct htab *t, struct hent *e)
{
	struct hent **nb, *x, *next;
	size_t i, n;

	if (t->n >= t->nb) {
		n = t->nb ? t->nb * 2 : 1024;
		nb = xcalloc(n, sizeof(*nb));
		for (i = 0; i < t->nb; i++)
			for (x = t->b[i]; x != NULL; x = next) {
				next = x->next;
				x->next = nb[x->h & (n - 1)];
				nb[x->h & (n - 1)] = x;
			}
		free(t->b);
		t->b = nb;
		t->nb = n;
	}
	e->next = t->b[e->h & (t->nb - 1)];
	t->b[e->h & (t->nb - 1)] = e;
	t->n++;
}

void
ht_del(struct htab *t, struct hent *e)
{
	struct hent **pp;

	for (pp = &t->b[e->h & (t->nb - 1)]; *pp != NULL; pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			t->n--;
			return;
		}
}

void
he_init(struct hent *e, char *key, size_t klen)
{
	e->key = key;
	e->klen = klen;
	e->h = hash(key, klen);
}

/* dir + "/" + name as a new NUL-terminated string. */
char *
join(const char *dir, size_t dl, const char *name, size_t nl, size_t *len)
{
	char *p;
	size_t n;

	if (dl == 1 && dir[0] == '/')
		dl = 0;
	if (size_add(&n, dl, nl) == -1 || size_add(&n, n, 2) == -1)
		n = SIZE_MAX;		/* xmalloc dies */
	p = xmalloc(n);
	memcpy(p, dir, dl);
	p[dl] = '/';
	memcpy(p + dl + 1, name, nl);
	p[dl + 1 + nl] = '\0';
	*len = dl + 1 + nl;
	return p;
}

void
attr_to_stat(const struct sftp_attrs *a, const char *path, size_t len,
    struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = hash(path, len);
	if (st->st_ino <= 1)
		st->st_ino += 2;
	st->st_mode = a->flags & SSH_FILEXFER_ATTR_PERMISSIONS ?
	    (mode_t)a->mode : S_IFREG | 0444;
	if ((st->st_mode & S_IFMT) == 0)
		st->st_mode |= S_IFREG;
	st->st_nlink = 1;
	if (a->flags & SSH_FILEXFER_ATTR_UIDGID) {
		st->st_uid = a->uid;
		st->st_gid = a->gid;
	}
	if (a->flags & SSH_FILEXFER_ATTR_SIZE)
		st->st_size = a->size > INT64_MAX ? INT64_MAX : (off_t)a->size;
	if (a->flags & SSH_FILEXFER_ATTR_ACMODTIME) {
		st->st_atime = a->atime;
		st->st_mtime = a->mtime;
		st->st_ctime = a->mtime;
	}
	st->st_blksize = 4096;
	/* SFTP has no block count: size in 4 KiB blocks, as most disks use. */
	st->st_blocks = (st->st_size / 4096 + (st->st_size % 4096 != 0)) * 8;
}

int
a_isdir(const struct sftp_attrs *a)
{
	return a->flags & SSH_FILEXFER_ATTR_PERMISSIONS && S_ISDIR(a->mode);
}

int
a_isreg(const struct sftp_attrs *a)
{
	return a->flags & SSH_FILEXFER_ATTR_PERMISSIONS && S_ISREG(a->mode);
}

int
a_islnk(const struct sftp_attrs *a)
{
	return a->flags & SSH_FILEXFER_ATTR_PERMISSIONS && S_ISLNK(a->mode);
}

/* A reply of a type the request cannot get: the peer is not trusted again. */
void
bad(struct sftp_reply *r, const char *req)
{
	conn_fail("unexpected %s reply to %s", sftp_type_name(r->type), req);
}

/*
 * Nodes.
 */

struct node *
ino_node(fuse_ino_t ino)
{
	return ino == FUSE_ROOT_ID ? &rootnode : (struct node *)(uintptr_t)ino;
}

fuse_ino_t
node_ino(struct node *n)
{
	return n == &rootnode ? FUSE_ROOT_ID : (fuse_ino_t)(uintptr_t)n;
}

/* The node for path (taking ownership of path), new or existing. */
struct node *
node_get(char *path, size_t len)
{
	struct node *n;
	struct hent *e;

	e = ht_find(&nodes, path, len, hash(path, len));
	if (e != NULL) {
		free(path);
		return (struct node *)e;
	}
	n = xcalloc(1, sizeof(*n));
	he_init(&n->he, path, len);
	ht_add(&nodes, &n->he);
	return n;
}

struct node *
node_find(const char *path, size_t len, uint64_t h)
{
	return (struct node *)ht_find(&nodes, path, len, h);
}

void
node_unref(struct node *n, uint64_t count)
{
	if (n == &rootnode)
		return;
	n->nlookup = count > n->nlookup ? 0 : n->nlookup - count;
	if (n->nlookup > 0)
		return;
	ht_del(&nodes, &n->he);
	free(n->he.key);
	free(n);
}

void
node_set(struct node *n, const struct sftp_attrs *a)
{
	attr_to_stat(a, n->he.key, n->he.klen, &n->st);
	n->st_time = mono();
}

void
fs_init(const struct mr_opts *o, const struct sftp_attrs *a)
{
	size_t len = strlen(o->root);

	fs_opts = *o;
	he_init(&rootnode.he, xstrdup(o->root), len);
	ht_add(&nodes, &rootnode.he);
	rootnode.nlookup = 1;
	node_set(&rootnode, a);
}

void
fs_session(struct fuse_session *se)
{
	pthread_mutex_lock(&mr_lock);
	session = se;
	pthread_mutex_unlock(&mr_lock);
}

/*
 * Fresh attributes of n from the server, also for its entry in a cached
 * listing of its directory, so that lookups and READDIRPLUS from that
 * listing agree with stat.
 */
void
node_fresh(struct node *n, const struct sftp_attrs *a)
{
	struct dlist *d;
	const char *name;
	size_t namelen;
	long i;

	node_set(n, a);
	if ((d = dl_parent(n->he.key, n->he.klen, &name, &namelen)) != NULL &&
	    (i = dl_lookup(d, name, namelen)) != -1)
		d->ents[i].a = *a;
}

/*
 * The size we knew of path is wrong (a read ended before it): forget its
 * attributes, here and in the kernel, that the kernel holds all of it,
 * and the listing of its directory, so that the next stat, listing and
 * open ask the server.  The kernel keeps its pages (offset -1 only marks
 * the attributes out of date), so this never waits for a read that only
 * we can answer.
 */
void
node_stale(const char *path, size_t len)
{
	struct node *n;
	struct dlist *d;
	const char *name;
	size_t namelen;

	n = (struct node *)ht_find(&nodes, path, len, hash(path, len));
	if (n != NULL) {
		n->st_time = 0;
		n->cached = 0;
		if (session != NULL && n->nlookup > 0)
			(void)fuse_lowlevel_notify_inval_inode(session,
			    node_ino(n), -1, 0);
	}
	if ((d = dl_parent(path, len, &name, &namelen)) != NULL)
		dl_unhash(d);
}
