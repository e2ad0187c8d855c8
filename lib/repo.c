#include <sys/file.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gz.h"
#include "io.h"
#include "meta.h"
#include "pathname.h"
#include "repo.h"
#include "timespec.h"
#include "xalloc.h"

static const char *incnames[] = { "snapshot", "diff", "missing", "dir", "data" };

const char *
inctype_name(int t)
{
	return t >= 0 && t <= INC_DATA ? incnames[t] : "?";
}

int
incname_parse(const char *s, size_t n, size_t *baselen, int64_t *t,
    int *type, int *gz)
{
	const char *dot1, *dot2;
	size_t tlen;
	int i;

	*gz = n > 3 && memcmp(s + n - 3, ".gz", 3) == 0;
	if (*gz)
		n -= 3;
	/* type: after the last dot */
	for (dot2 = s + n; dot2 > s && dot2[-1] != '.'; dot2--)
		;
	if (dot2 == s)
		return -1;
	for (i = 0; i <= INC_DATA; i++)
		if (strlen(incnames[i]) == (size_t)(s + n - dot2) &&
		    memcmp(dot2, incnames[i], (size_t)(s + n - dot2)) == 0)
			break;
	if (i > INC_DATA)
		return -1;
	dot2--;				/* the dot before the type */
	for (dot1 = dot2; dot1 > s && dot1[-1] != '.'; dot1--)
		;
	if (dot1 == s)
		return -1;		/* no dot before the time */
	tlen = (size_t)(dot2 - dot1);
	if (timestr_parse(dot1, tlen, t) == -1)
		return -1;
	*baselen = (size_t)(dot1 - 1 - s);
	*type = i;
	return 0;
}

int
incname_is(const char *name, size_t len, const char *base)
{
	return strlen(base) == len && memcmp(name, base, len) == 0;
}

int
stamped_each(int dirfd, int (*fn)(void *, const struct stampent *), void *arg)
{
	DIR *d;
	struct dirent *de;
	struct stampent e;
	int rv = 0, saved;

	if ((d = dir_list(dirfd)) == NULL)
		return -1;
	while (rv == 0 && (de = dir_next(d)) != NULL) {
		memset(&e, 0, sizeof e);
		e.name = de->d_name;
		e.stamped = incname_parse(de->d_name, strlen(de->d_name),
		    &e.base, &e.t, &e.type, &e.gz) == 0;
		rv = fn(arg, &e);
	}
	saved = errno;
	closedir(d);
	if (rv == 0 && saved != 0) {
		errno = saved;
		return -1;
	}
	return rv;
}

struct stampkey {
	const char	*base;
	int64_t		 t;
	int		 type;
	int		 dirfd;
	int		 unlink;	/* 0: find the first */
	char		*found;
	int		 err;		/* why an unlink failed */
};

static int
stamped_match(void *arg, const struct stampent *e)
{
	struct stampkey *k = arg;

	if (!e->stamped || e->t != k->t || e->type != k->type ||
	    !incname_is(e->name, e->base, k->base))
		return 0;
	if (!k->unlink) {
		k->found = xstrdup(e->name);
		return 1;
	}
	if (unlinkat(k->dirfd, e->name, 0) == -1 && errno != ENOENT) {
		k->err = errno;
		return -1;
	}
	return 0;
}

char *
stamped_find(int dirfd, const char *base, int64_t t, int type)
{
	struct stampkey k = { base, t, type, dirfd, 0, NULL, 0 };

	if (stamped_each(dirfd, stamped_match, &k) == -1)
		return NULL;
	if (k.found == NULL)
		errno = ENOENT;
	return k.found;
}

int
stamped_unlink(int dirfd, const char *base, int64_t t, int type)
{
	struct stampkey k = { base, t, type, dirfd, 1, NULL, 0 };

	if (stamped_each(dirfd, stamped_match, &k) == 0)
		return 0;
	if (k.err != 0)
		errno = k.err;
	return -1;
}

char *
incname_make(const char *base, int64_t t, int type, int gz, int style)
{
	char ts[TIMESTR_LEN], *s;
	size_t n;

	timestr_stamp(t, style, ts);
	n = strlen(base) + strlen(ts) + 16;
	s = xmalloc(n);
	snprintf(s, n, "%s.%s.%s%s", base, ts, inctype_name(type), gz ? ".gz" : "");
	return s;
}

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int
metacmp(const void *a, const void *b)
{
	const struct metafile *x = a, *y = b;

	return x->t < y->t ? -1 : x->t > y->t;
}

static void
push64(int64_t **v, size_t *n, int64_t t)
{
	*v = xreallocarray(*v, *n + 1, sizeof **v);
	(*v)[(*n)++] = t;
}

/* Sort and drop repeated values. */
static void
uniq64(int64_t *v, size_t *n)
{
	size_t i, j;

	if (*n == 0)
		return;
	qsort(v, *n, sizeof *v, cmp64);
	for (i = j = 0; i < *n; i++)
		if (j == 0 || v[j - 1] != v[i])
			v[j++] = v[i];
	*n = j;
}

static void
repo_clear(struct repo *r)
{
	size_t i;

	for (i = 0; i < r->nmeta; i++)
		free(r->meta[i].name);
	free(r->meta);
	free(r->times);
	free(r->markers);
	free(r->incdirs);
	r->meta = NULL;
	r->times = r->markers = r->incdirs = NULL;
	r->nmeta = r->ntimes = r->nmarkers = r->nincdirs = 0;
}

int
repo_scan(struct repo *r)
{
	DIR *d;
	struct dirent *de;
	struct stat st;
	size_t n, base, i;
	int64_t t, oldest = 0;
	int type, gz, saved;

	repo_clear(r);
	r->style = TS_COLONS;
	if ((d = dir_list(r->datafd)) == NULL)
		return -1;
	while ((de = dir_next(d)) != NULL) {
		n = strlen(de->d_name);
		if (incname_parse(de->d_name, n, &base, &t, &type, &gz) == -1)
			continue;
		if (incname_is(de->d_name, base, MARKER) && type == INC_DATA) {
			/* the spelling of the oldest marker, the last complete */
			if (r->nmarkers == 0 || t < oldest) {
				oldest = t;
				r->style = timestr_style(de->d_name + base + 1);
			}
			push64(&r->markers, &r->nmarkers, t);
		} else if (incname_is(de->d_name, base, INCDIR) && type == INC_DIR)
			push64(&r->incdirs, &r->nincdirs, t);
		else if (incname_is(de->d_name, base, METADATA) &&
		    (type == INC_SNAPSHOT || type == INC_DIFF)) {
			r->meta = xreallocarray(r->meta, r->nmeta + 1, sizeof *r->meta);
			r->meta[r->nmeta].t = t;
			r->meta[r->nmeta].snapshot = type == INC_SNAPSHOT;
			r->meta[r->nmeta].gz = gz;
			r->meta[r->nmeta++].name = xstrdup(de->d_name);
		}
	}
	saved = errno;
	closedir(d);
	if (saved != 0) {
		repo_clear(r);
		errno = saved;
		return -1;
	}
	if (r->nmarkers > 0)
		qsort(r->markers, r->nmarkers, sizeof *r->markers, cmp64);
	if (r->nincdirs > 0)
		qsort(r->incdirs, r->nincdirs, sizeof *r->incdirs, cmp64);
	if (r->nmeta > 0)
		qsort(r->meta, r->nmeta, sizeof *r->meta, metacmp);
	r->dupmeta = 0;
	for (i = 1; i < r->nmeta; i++)
		if (r->meta[i].t == r->meta[i - 1].t)
			r->dupmeta = 1;
	for (i = 0; i < r->nmarkers; i++)
		push64(&r->times, &r->ntimes, r->markers[i]);
	for (i = 0; i < r->nincdirs; i++)
		push64(&r->times, &r->ntimes, r->incdirs[i]);
	for (i = 0; i < r->nmeta; i++)
		push64(&r->times, &r->ntimes, r->meta[i].t);
	uniq64(r->times, &r->ntimes);
	r->quoted = fstatat(r->datafd, "chars_to_quote", &st, 0) == 0 &&
	    st.st_size > 0;
	return 0;
}

int
repo_open(struct repo *r, const char *path)
{
	int saved;

	memset(r, 0, sizeof *r);
	r->datafd = -1;
	if ((r->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	r->datafd = openat(r->fd, DATADIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (r->datafd == -1 || repo_scan(r) == -1) {
		saved = errno;
		repo_close(r);
		errno = saved;
		return -1;
	}
	return 0;
}

void
repo_close(struct repo *r)
{
	if (r->datafd != -1)
		close(r->datafd);
	if (r->fd != -1)
		close(r->fd);
	repo_clear(r);
	r->fd = r->datafd = -1;
}

int64_t
repo_at(const struct repo *r, int64_t t)
{
	size_t i;
	int64_t best;

	if (r->ntimes == 0)
		return 0;
	best = r->times[0];
	for (i = 0; i < r->ntimes && r->times[i] <= t; i++)
		best = r->times[i];
	return best;
}

int64_t
repo_current(const struct repo *r)
{
	return r->nmarkers ? r->markers[r->nmarkers - 1] : 0;
}

struct meta_at {
	struct meta_reader	**rd;	/* oldest (time t) first */
	struct rec		**head;	/* current record per reader, NULL at end */
	unsigned char		 *adv;	/* reader to move on at the next call */
	size_t			  n;
	char			  err[320];
	char			**msgs;		/* bad records yet to be reported */
	size_t			  nmsgs, nextmsg;
	int			  fatal;
};

/*
 * Advance reader i to its next good record (NULL at the end).  Returns
 * -1 when a bad record was skipped on the way (m->err says which) or on
 * a read error, which also ends the whole merge.
 */
static int
advance(struct meta_at *m, size_t i)
{
	int r, bad = 0;

	for (;;) {
		r = meta_next(m->rd[i], &m->head[i]);
		if (r == 1)
			return bad ? -1 : 0;
		if (r == 0) {
			m->head[i] = NULL;
			return bad ? -1 : 0;
		}
		m->msgs = xreallocarray(m->msgs, m->nmsgs + 1, sizeof *m->msgs);
		m->msgs[m->nmsgs++] = xstrdup(meta_error(m->rd[i]));
		bad = 1;
		if (meta_ioerror(m->rd[i])) {
			m->head[i] = NULL;
			m->fatal = 1;
			return -1;
		}
	}
}

/*
 * A reader of metadata file fd from the member where records at or
 * after path begin, by the file's member index: NULL with errno ENOTSUP
 * when it has none (a plain file, or one rdiff-backup wrote).  *key
 * (*keylen) is the first path the reader must give, which the caller
 * checks; *span the members that path and what is below it take.
 */
static struct gzr *
seek_reader(int fd, int gz, const char *path, size_t len, char **key,
    size_t *keylen, size_t *span)
{
	struct gzindex *ix;
	struct stat st;
	uint64_t off = 0, o;
	const char *k;
	size_t lo, hi, mid, kl, first;
	struct gzr *g;

	*key = NULL;
	*span = 1;
	if (fstat(fd, &st) == 0 && st.st_size == 0)
		return gzr_open(fd, gz);	/* an empty diff: no records */
	if (!gz || (ix = gzindex_read(fd)) == NULL) {
		close(fd);
		errno = ENOTSUP;
		return NULL;
	}
	/* the last member whose first key is not after path */
	for (lo = 0, hi = gzindex_count(ix); lo < hi; ) {
		mid = lo + (hi - lo) / 2;
		gzindex_entry(ix, mid, &o, &k, &kl);
		if (pathcmp(k, kl, path, len) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo > 0) {
		gzindex_entry(ix, lo - 1, &off, &k, &kl);
		*key = xmemdup(k, kl + 1);
		(*key)[kl] = '\0';
		*keylen = kl;
	}
	/* the first member past path's subtree (keys below path follow it) */
	for (first = lo, hi = gzindex_count(ix); first < hi; ) {
		mid = first + (hi - first) / 2;
		gzindex_entry(ix, mid, &o, &k, &kl);
		if (pathcmp(k, kl, path, len) <= 0 ||
		    path_below(k, kl, path, len))
			first = mid + 1;
		else
			hi = mid;
	}
	*span = first - (lo > 0 ? lo - 1 : 0);
	gzindex_free(ix);
	if ((g = gzr_open_at(fd, 1, (off_t)off)) == NULL) {
		free(*key);
		*key = NULL;
	}
	return g;
}

/* Members of a path's records from which a thread decodes ahead. */
#define SPAN_BG	4

struct meta_at *
meta_at_open(struct repo *r, int64_t t)
{
	return meta_at_seek(r, t, NULL, 0, 0);
}

struct meta_at *
meta_at_seek(struct repo *r, int64_t t, const char *path, size_t len,
    int bg)
{
	struct meta_at *m;
	struct gzr *g;
	size_t i, k, first, keylen = 0, span = 0;
	char *key = NULL;
	int fd, saved;

	for (first = 0; first < r->nmeta && r->meta[first].t < t; first++)
		;
	if (first == r->nmeta || r->meta[first].t != t) {
		errno = ENOENT;		/* no metadata for that session */
		return NULL;
	}
	m = xcalloc(1, sizeof *m);
	for (i = first; i < r->nmeta; i++) {
		fd = openat(r->datafd, r->meta[i].name, O_RDONLY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (fd == -1) {
			meta_at_close(m);
			return NULL;
		}
		m->rd = xreallocarray(m->rd, m->n + 1, sizeof *m->rd);
		m->head = xreallocarray(m->head, m->n + 1, sizeof *m->head);
		m->adv = xreallocarray(m->adv, m->n + 1, sizeof *m->adv);
		m->adv[m->n] = 0;
		if (path == NULL)
			g = gzr_open(fd, r->meta[i].gz);
		else if ((g = seek_reader(fd, r->meta[i].gz, path, len, &key,
		    &keylen, &span)) == NULL) {
			saved = errno;
			meta_at_close(m);
			errno = saved;
			return NULL;
		}
		if (g != NULL && (bg == 1 || (bg == 2 && span >= SPAN_BG)))
			(void)gzr_background(g);	/* else in line */
		m->rd[m->n] = meta_open(g);
		m->head[m->n] = NULL;
		advance(m, m->n++);
		/* a member must begin with the record its index names */
		if (key != NULL && (m->head[m->n - 1] == NULL ||
		    pathcmp(m->head[m->n - 1]->path, m->head[m->n - 1]->pathlen,
		    key, keylen) != 0)) {
			free(key);
			meta_at_close(m);
			errno = EBADMSG;
			return NULL;
		}
		free(key);
		key = NULL;
		if (r->meta[i].snapshot)
			break;
	}
	if (!r->meta[m->n + first - 1].snapshot) {
		meta_at_close(m);
		errno = EBADMSG;	/* chain without a snapshot at its end */
		return NULL;
	}
	/* every session between t and the snapshot needs its link */
	for (i = 0, k = first; i < r->ntimes; i++) {
		if (r->times[i] < t || r->times[i] > r->meta[first + m->n - 1].t)
			continue;
		while (k < first + m->n && r->meta[k].t < r->times[i])
			k++;
		if (k == first + m->n || r->meta[k].t != r->times[i]) {
			meta_at_close(m);
			errno = EBADMSG;	/* a metadata file is missing */
			return NULL;
		}
	}
	return m;
}

int
meta_at_next(struct meta_at *m, struct rec **recp)
{
	struct rec *best;
	size_t i, bi;

	for (;;) {
		/* the readers at the path given last move on only now */
		for (i = 0; i < m->n; i++)
			if (m->adv[i]) {
				m->adv[i] = 0;
				advance(m, i);
			}
		/* each damaged record met while moving on is reported on its own */
		if (m->nextmsg < m->nmsgs) {
			snprintf(m->err, sizeof m->err, "%s", m->msgs[m->nextmsg++]);
			return -1;
		}
		if (m->fatal)
			return -1;
		best = NULL;
		bi = 0;
		for (i = 0; i < m->n; i++) {
			if (m->head[i] == NULL)
				continue;
			if (best == NULL || pathcmp(m->head[i]->path,
			    m->head[i]->pathlen, best->path, best->pathlen) < 0) {
				best = m->head[i];
				bi = i;
			}
		}
		if (best == NULL)
			return 0;
		/* every reader positioned at this path moves on (next call) */
		for (i = bi; i < m->n; i++)
			m->adv[i] = m->head[i] != NULL && (i == bi ||
			    pathcmp(m->head[i]->path, m->head[i]->pathlen,
			    best->path, best->pathlen) == 0);
		if (best->type == RT_NONE)
			continue;
		*recp = best;
		return 1;
	}
}

const char *
meta_at_error(struct meta_at *m)
{
	return m->err;
}

int
meta_at_failed(struct meta_at *m)
{
	return m->fatal && m->nextmsg == m->nmsgs;
}

void
meta_at_close(struct meta_at *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n; i++)
		meta_close(m->rd[i]);
	free(m->adv);
	for (i = 0; i < m->nmsgs; i++)
		free(m->msgs[i]);
	free(m->msgs);
	free(m->rd);
	free(m->head);
	free(m);
}

int
repo_lock(int datafd, int exclusive, int wait, const char *cmd)
{
	char buf[512], host[256], ts[TIMESTR_LEN];
	int fd, saved, n;

	fd = openat(datafd, "lock.yml", (exclusive ? O_RDWR | O_CREAT : O_RDONLY) |
	    O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1)
		return !exclusive && errno == ENOENT ? -2 : -1;
	if (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB)) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	if (exclusive) {
		if (gethostname(host, sizeof host) == -1)
			strcpy(host, "unknown");
		host[sizeof host - 1] = '\0';
		timestr_format((int64_t)time(NULL), ts);
		n = snprintf(buf, sizeof buf, "cmd: %s\nhostname: %s\npid: %ld\n"
		    "timestamp: '%s'\n", cmd, host, (long)getpid(), ts);
		/*
		 * Who holds the lock is only informative: on a full disk
		 * (when prune is most needed) the lock goes on without it.
		 */
		if ((ftruncate(fd, 0) == -1 || pwrite(fd, buf, (size_t)n, 0) != n) &&
		    errno != ENOSPC && errno != EDQUOT) {
			saved = errno;
			close(fd);
			errno = saved;
			return -1;
		}
	}
	return fd;
}

const char *
repo_lock_error(int e)
{
	if (e == EWOULDBLOCK || e == EAGAIN)
		return "repository busy (a snap or prune holds its lock)";
	return strerror(e);
}

void
repo_unlock(int fd)
{
	if (fd < 0)
		return;
	/* a stale text is harmless: the lock is the flock itself */
	(void)!ftruncate(fd, 0);
	close(fd);
}

uint64_t
inc_bytes(const struct stat *st)
{
	return S_ISREG(st->st_mode) || S_ISLNK(st->st_mode) ?
	    (uint64_t)st->st_size : 0;
}

char *
repo_stats(const struct repo *r, int64_t t)
{
	char *name, *buf;
	int rv, saved;

	if ((name = stamped_find(r->datafd, "session_statistics", t,
	    INC_DATA)) == NULL)
		return NULL;
	rv = read_file_at(r->datafd, name, &buf, NULL, 1 << 20);
	saved = errno;
	free(name);
	errno = saved;
	return rv == -1 ? NULL : buf;
}

const char *
stats_field(const char *text, const char *key)
{
	const char *p;
	size_t klen = strlen(key);

	for (p = text; p != NULL && *p != '\0'; p = strchr(p, '\n'),
	    p = p ? p + 1 : NULL)
		if (strncmp(p, key, klen) == 0 && p[klen] == ' ')
			return p + klen + 1;
	return NULL;
}

int
repo_stat(const struct repo *r, int64_t t, const char *key, uint64_t *v)
{
	const char *p;
	char *buf, *end;
	unsigned long long n;

	if ((buf = repo_stats(r, t)) == NULL)
		return -1;
	if ((p = stats_field(buf, key)) != NULL && *p >= '0' && *p <= '9') {
		errno = 0;
		n = strtoull(p, &end, 10);
		if (errno == 0 && (*end == ' ' || *end == '\n' ||
		    *end == '\0')) {
			free(buf);
			*v = n;
			return 0;
		}
	}
	free(buf);
	errno = ENOENT;
	return -1;
}
