/*
 * Removing the sessions S1..Sk between two kept ones, an older O and a
 * newer N: their increments merge into those stamped with O, so that
 * these take N's state straight back to O's (docs/thinning-design.md),
 * in one pass however many sessions go.  New files are written to a staging
 * directory first; the journal of the renames and unlinks that put
 * them in place is the commit point (lib/journal.h), so a kill at any
 * point leaves the repository as it was or a journal the next run
 * finishes.
 */
#define _GNU_SOURCE	/* syncfs: Linux, not POSIX */
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"
#include "copy.h"
#include "delta.h"
#include "exitcode.h"
#include "gz.h"
#include "hlink.h"
#include "io.h"
#include "journal.h"
#include "meta.h"
#include "number.h"
#include "pathname.h"
#include "prune.h"
#include "rebuild.h"
#include "repo.h"
#include "timespec.h"
#include "xalloc.h"

/* One increment file. */
struct inc {
	char	*name;		/* NULL: none */
	int64_t	 t;
	int	 type;		/* enum inctype */
	int	 gz;
	uint64_t size;
};

/* The increments of one path stamped O and those of removed sessions. */
struct group {
	char	*dir;		/* their directory below the data dir */
	char	*base;		/* their names' base */
	char	*path;		/* the record's path; NULL in LONGDIR */
	struct inc io;		/* stamped O */
	struct inc *is;		/* stamped S1..Sk, oldest first */
	size_t	 nis;
	int	 done;		/* decided */
};

struct merge {
	struct repo	*r;
	int64_t		 o, n, cur;	/* removed: o < t < n */
	int64_t		 s;		/* the newest removed */
	int		 stfd;		/* the staging directory */
	unsigned	 nstaged;
	struct group	*g;		/* to rebuild, sorted by path */
	size_t		 ng, capg;
	struct group	*lg;		/* to rebuild, in LONGDIR */
	size_t		 nlg, caplg;
	struct journal	*j;
	struct hlinks	 lo, ln;	/* digests of hard-link groups */
	uint64_t	 incfiles, incbytes;	/* stamped O, merged */
	char		*ldir;		/* the directory listed in l */
	struct incdir	 l;		/* the last one a rebuild needed */
	char		 ots[TIMESTR_LEN];
};

static int	staging_fd = -1;	/* removed at exit until committed */
static int	staging_datafd = -1;

static void
unstage(void)
{
	if (staging_fd != -1)
		(void)journal_clean(staging_datafd);
}

static void
add_group(struct group **v, size_t *n, size_t *cap, const struct group *g)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		*v = xreallocarray(*v, *cap, sizeof **v);
	}
	(*v)[(*n)++] = *g;
}

static void	remake(struct merge *, struct group *, const struct rec *,
		    const char *, const struct rec *, const char *);

static void
drop(struct merge *m, const struct group *g, const struct inc *i)
{
	char *from;

	if (i->name == NULL)
		return;
	from = path_join(g->dir, i->name);
	journal_unlink(m->j, from);
	free(from);
}

/*
 * Decide what becomes of one path's increment io (stamped O) and those
 * of the removed sessions, by the design's table, knowing its records
 * at O and at N (NULL: absent): journal what needs no rebuild, rebuild
 * the rest.  Returns whether the path keeps an increment stamped O.
 */
static int
decide(struct merge *m, struct group *g, const struct rec *ro,
    const char *wo, const struct rec *rn, const char *wn)
{
	char *from, *to, *name;
	const char *what = g->path ? shown(g->path) : g->base;
	const struct inc *first = g->nis > 0 ? &g->is[0] : NULL;
	size_t i, k = 0;

	g->done = 1;
	if (ro == NULL && rn == NULL) {
		/* absent at O and at N: nothing to keep (a .missing of an
		 * earlier merge, or a snapshot of a short-lived file) */
		if (g->io.name != NULL && g->io.type != INC_MISSING)
			errx(EXIT_PERM, "%s: a %s increment stamped %s for a "
			    "path not then in the metadata: the repository is "
			    "damaged; nothing was changed", what,
			    inctype_name(g->io.type), m->ots);
		drop(m, g, &g->io);
		for (i = 0; i < g->nis; i++)
			drop(m, g, &g->is[i]);
		return 0;
	}
	m->incfiles++;
	if (first == NULL) {
		m->incbytes += g->io.size;
		return 1;	/* O's increment stays as it is */
	}
	if (g->io.name == NULL && (g->nis == 1 || first->type != INC_DIFF)) {
		/* O's state is the oldest removed one's, which stands on
		 * its own or against N's: that increment becomes O's */
		m->incbytes += first->size;
		from = path_join(g->dir, first->name);
		name = incname_make(g->base, m->o, first->type, first->gz,
		    m->r->style);
		to = path_join(g->dir, name);
		journal_rename(m->j, from, to);
		free(name);
		free(to);
		free(from);
		k = 1;
	} else if (g->io.name != NULL && g->io.type != INC_DIFF)
		/* missing, snapshot, dir: O's state stands on its own */
		m->incbytes += g->io.size;
	else if ((first->type == INC_DIFF || first->type == INC_SNAPSHOT) &&
	    ro != NULL && ro->type == RT_REG)
		remake(m, g, ro, wo, rn, wn);	/* counts itself */
	else
		errx(EXIT_PERM, "%s: a diff stamped %s over a %s increment "
		    "or no file: the repository is damaged; nothing was "
		    "changed", what, g->io.name ? m->ots : "a removed session",
		    inctype_name(first->type));
	for (; k < g->nis; k++)
		drop(m, g, &g->is[k]);
	return 1;
}

/* A directory below the data dir ("": the data dir itself), opened. */
static int
incdir_fd(struct merge *m, const char *dir)
{
	return dir[0] == '\0' ? dup(m->r->datafd) :
	    open_below(m->r->datafd, dir, O_RDONLY | O_DIRECTORY);
}

/* The size of increment dirfd/name, as the statistics count it. */
static uint64_t
fsize(int dirfd, const char *name)
{
	struct stat st;

	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ?
	    inc_bytes(&st) : 0;
}

/*
 * The increments stamped O or S in the listing l of directory dir
 * (below the data dir), for paths below src ("" the root, NULL in
 * LONGDIR); only base when it is not NULL.
 */
static void
gather_list(struct merge *m, const struct incdir *l, const char *dir,
    const char *src, const char *only)
{
	struct group g;
	struct inc *in;
	size_t i, k;

	for (i = 0; i < l->n; i = k) {
		const struct incent *e = &l->e[i];

		for (k = i + 1; k < l->n && l->e[k].baselen == e->baselen &&
		    memcmp(l->e[k].name, e->name, e->baselen) == 0; k++)
			;
		if (only != NULL && (strlen(only) != e->baselen ||
		    memcmp(only, e->name, e->baselen) != 0))
			continue;
		memset(&g, 0, sizeof g);
		for (; i < k; i++) {
			e = &l->e[i];
			if (e->t < m->o || e->t >= m->n)
				continue;
			if ((e->t == m->o && g.io.name != NULL) || (e->t >
			    m->o && g.nis > 0 && g.is[g.nis - 1].t == e->t))
				errx(EXIT_PERM, "%s/%s: two increments stamped "
				    "alike: the repository is damaged; nothing "
				    "was changed", DATADIR, shown(e->name));
			if (e->t == m->o)
				in = &g.io;
			else {
				/* the listing is in time order */
				g.is = xreallocarray(g.is, g.nis + 1,
				    sizeof *g.is);
				in = &g.is[g.nis++];
			}
			in->name = xstrdup(e->name);
			in->t = e->t;
			in->type = e->type;
			in->gz = e->gz;
			in->size = fsize(l->fd, e->name);
		}
		if (g.io.name == NULL && g.nis == 0)
			continue;
		e = &l->e[k - 1];
		g.dir = xstrdup(dir);
		g.base = xstrndup(e->name, e->baselen);
		if (src != NULL) {
			g.path = only != NULL ? xstrdup("") : path_join(src, g.base);
			add_group(&m->g, &m->ng, &m->capg, &g);
		} else
			add_group(&m->lg, &m->nlg, &m->caplg, &g);
	}
}

/* gather_list of the directory dir below the data dir. */
static void
gather_dir(struct merge *m, const char *dir, const char *src,
    const char *only)
{
	struct incdir l = INCDIR_INIT;
	int fd;

	fd = incdir_fd(m, dir);
	if (fd == -1 && errno == ENOENT)
		return;
	if (fd == -1 || incdir_open(fd, &l) == -1)
		err(EXIT_TEMP, "list %s/%s", DATADIR, dir);
	gather_list(m, &l, dir, src, only);
	incdir_close(&l);
}

static int
gcmp(const void *a, const void *b)
{
	const struct group *x = a, *y = b;

	return pathcmp(x->path, strlen(x->path), y->path, strlen(y->path));
}

/*
 * Pass 1: the increments stamped O or a removed session, in the
 * directories the metadata diffs of O and the removed sessions and the
 * attribute files of all of those and N name (every directory when one
 * of them cannot say).
 */
static void
gather(struct merge *m)
{
	char **dirs, *inc;
	size_t nd, i, k;
	int full = 0;

	for (k = 0; k < m->r->nmeta; k++)
		if (m->r->meta[k].t >= m->o && m->r->meta[k].t < m->n &&
		    collect_dirs(m->r->datafd, &m->r->meta[k]) == -1)
			full = 1;
	for (k = 0; k < m->r->ntimes; k++)
		if (m->r->times[k] >= m->o && m->r->times[k] <= m->n &&
		    collect_attr_dirs(m->r->datafd, m->r->times[k]) == -1)
			full = 1;
	if (full)
		dirs_all(m->r->datafd);
	dirs = dirs_take(&nd);
	gather_dir(m, "", "", INCDIR);		/* the root's own */
	for (i = 0; i < nd; i++) {
		inc = path_join(INCDIR, dirs[i]);
		gather_dir(m, inc, dirs[i], NULL);
		free(inc);
		free(dirs[i]);
	}
	free(dirs);
	gather_dir(m, LONGDIR, NULL, NULL);
	if (m->ng > 1)
		qsort(m->g, m->ng, sizeof *m->g, gcmp);
}

/* A new file in the staging directory: its descriptor, its name in *name. */
static int
stage_file(struct merge *m, char **name)
{
	char num[32];
	int fd;

	snprintf(num, sizeof num, "%u", m->nstaged++);
	*name = path_join(STAGING, num);
	fd = openat(m->stfd, num, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd == -1)
		err(EXIT_TEMP, "create %s/%s", DATADIR, *name);
	return fd;
}

/*
 * The content of record r's file at session t into outfd, checked
 * against the digest (want; "" when none is recorded).  mdirfd/mname is
 * the mirror copy, incs[0..n) in idirfd its increments.
 */
static void
content_at(struct merge *m, const struct rec *r, const char *want,
    int mdirfd, const char *mname, int idirfd, const struct incent *incs,
    size_t n, int64_t t, int outfd)
{
	struct copyres cr;
	const char *why;
	char ts[TIMESTR_LEN];

	timestr_format(t, ts);
	if (rebuild(mdirfd, mname, idirfd, incs, n, t, m->cur, m->stfd, outfd,
	    r->size, &cr, &why) == -1)
		err(errno_transient(errno) ? EXIT_TEMP : EXIT_PERM,
		    "%s of %s at %s; nothing was changed", why, shown(r->path),
		    ts);
	if ((want[0] != '\0' && strcmp(want, cr.sha1) != 0) ||
	    cr.bytes != r->size)
		errx(EXIT_PERM, "%s at %s: the rebuilt content does not match "
		    "the metadata (a damaged increment or mirror file); "
		    "nothing was changed", shown(r->path), ts);
}

static int
gz_tap(void *g, const void *p, size_t n)
{
	return gzw_write(g, p, n);
}

/*
 * Pass 2 for one path: its content at O (record ro) rebuilt, made an
 * increment against N's content (record rn; the snapshot itself when
 * the newest removed increment is not a diff), staged and journaled in
 * place of O's.  The removed sessions' increments are left to decide.
 */
static void
remake(struct merge *m, struct group *g, const struct rec *ro,
    const char *wo, const struct rec *rn, const char *wn)
{
	const struct incent *incs;
	const struct inc *like = g->io.name ? &g->io : &g->is[0];
	struct sigmaker *sig;
	struct copyres cr;
	struct stat st;
	struct gzw *w;
	const char *mname, *base;
	char *sname, *final, *to, *from, *alt;
	size_t n;
	int mdirfd, idirfd, ofd, nfd, sfd, werr, type;

	alt = ro->altmirror ? ro->altmirror : NULL;
	if (alt != NULL) {
		mdirfd = subdir(m->r->datafd, LONGDIR);
		mname = alt;
	} else if ((mdirfd = open_parent(m->r->fd, ro->path, &base)) != -1)
		mname = base;
	else
		mname = NULL;
	if (mdirfd == -1 && errno != ENOENT)
		err(EXIT_TEMP, "open mirror of %s", shown(ro->path));
	/* paths come in order: a directory's are listed once */
	if (m->ldir == NULL || strcmp(m->ldir, g->dir) != 0) {
		incdir_close(&m->l);
		free(m->ldir);
		m->ldir = xstrdup(g->dir);
		if ((idirfd = incdir_fd(m, g->dir)) == -1 ||
		    incdir_open(idirfd, &m->l) == -1)
			err(EXIT_TEMP, "list %s/%s", DATADIR, g->dir);
	}
	incs = incdir_find(&m->l, g->base, strlen(g->base), &n);

	/* O's content, checked, in a work file */
	if ((ofd = openat(m->stfd, "o", O_RDWR | O_CREAT | O_TRUNC |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1)
		err(EXIT_TEMP, "create %s/%s/o", DATADIR, STAGING);
	content_at(m, ro, wo, mdirfd, mname, m->l.fd, incs, n, m->o, ofd);

	sfd = stage_file(m, &sname);
	w = gzw_open(dup(sfd), like->gz ? 6 : 0);
	if (g->is[g->nis - 1].type == INC_DIFF) {
		if (rn == NULL || rn->type != RT_REG)
			errx(EXIT_PERM, "%s: a diff stamped with a removed "
			    "session, but no file in the next one: the "
			    "repository is damaged; nothing was changed",
			    shown(ro->path));
		if (m->n == m->cur) {
			nfd = mdirfd == -1 ? -1 : openat(mdirfd, mname,
			    O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			if (nfd == -1)
				err(EXIT_PERM, "open mirror file %s",
				    shown(ro->path));
		} else {
			if ((nfd = openat(m->stfd, "n", O_RDWR | O_CREAT |
			    O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600)) == -1)
				err(EXIT_TEMP, "create %s/%s/n", DATADIR,
				    STAGING);
			content_at(m, rn, wn, mdirfd, mname, m->l.fd, incs, n,
			    m->n, nfd);
			if (lseek(nfd, 0, SEEK_SET) == -1)
				err(EXIT_TEMP, "seek");
		}
		sig = sig_begin(rn->size);
		if (copy_fd(nfd, -1, sig_tap, sig, &cr, &werr) == -1)
			err(EXIT_TEMP, "read the next version of %s",
			    shown(ro->path));
		close(nfd);
		if (lseek(ofd, 0, SEEK_SET) == -1 ||
		    sig_delta(sig, ofd, w) == -1)
			err(EXIT_TEMP, "write the merged increment of %s",
			    shown(ro->path));
		sig_free(sig);
		type = INC_DIFF;
	} else {
		if (lseek(ofd, 0, SEEK_SET) == -1 ||
		    copy_fd(ofd, -1, gz_tap, w, &cr, &werr) == -1)
			err(EXIT_TEMP, "write the merged increment of %s",
			    shown(ro->path));
		type = INC_SNAPSHOT;
	}
	if (gzw_close(w, 0) == -1)
		err(EXIT_TEMP, "write %s/%s", DATADIR, sname);
	close(ofd);
	if (fstat(sfd, &st) == 0)
		m->incbytes += (uint64_t)st.st_size;
	/* the attributes O's increment had */
	if (fstatat(m->l.fd, like->name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		(void)fchmod(sfd, st.st_mode & 07777);
		if (geteuid() == 0)
			(void)fchown(sfd, st.st_uid, st.st_gid);
		(void)futimens(sfd, (struct timespec[2]){ st.st_atim,
		    st.st_mtim });
	}
	close(sfd);
	final = incname_make(g->base, m->o, type, like->gz, m->r->style);
	to = path_join(g->dir, final);
	journal_rename(m->j, sname, to);
	if (g->io.name != NULL && strcmp(final, g->io.name) != 0) {
		from = path_join(g->dir, g->io.name);
		journal_unlink(m->j, from);
		free(from);
	}
	free(to);
	free(final);
	free(sname);
	if (mdirfd != -1)
		close(mdirfd);
}

/* The long-name group of record r (at O or N), if not decided yet. */
static struct group *
long_group(struct merge *m, const struct rec *r)
{
	const char *alt = r->altmirror ? r->altmirror : r->altinc;
	size_t i;

	if (alt != NULL)
		for (i = 0; i < m->nlg; i++)
			if (!m->lg[i].done && strcmp(m->lg[i].base, alt) == 0)
				return &m->lg[i];
	return NULL;
}

/* Records equal in every field a reader of the diff would see. */
static int
same(const struct rec *a, const struct rec *b)
{
	return rec_identical(a, b) && (a->altmirror == NULL ?
	    b->altmirror == NULL : b->altmirror != NULL &&
	    strcmp(a->altmirror, b->altmirror) == 0);
}

static struct meta_at *
meta_or_die(struct merge *m, int64_t t)
{
	struct meta_at *a;
	char ts[TIMESTR_LEN];

	if ((a = meta_at_open(m->r, t)) != NULL)
		return a;
	timestr_format(t, ts);
	err(errno == ENOENT || errno == EBADMSG ? EXIT_PERM : EXIT_TEMP,
	    "metadata of session %s", ts);
}

static int
next_or_die(struct meta_at *a, struct rec **r)
{
	int rv;

	if ((rv = meta_at_next(a, r)) == -1)
		errx(EXIT_PERM, "metadata: %s; nothing was changed",
		    meta_at_error(a));
	return rv;
}

static int
cmp3(const struct rec *ro, const struct rec *rn, const struct group *g,
    const char **path, size_t *len)
{
	const char *p = NULL;
	size_t n = 0;

	if (ro != NULL) {
		p = ro->path;
		n = ro->pathlen;
	}
	if (rn != NULL && (p == NULL || pathcmp(rn->path, rn->pathlen, p,
	    n) < 0)) {
		p = rn->path;
		n = rn->pathlen;
	}
	if (g != NULL && (p == NULL || pathcmp(g->path, strlen(g->path), p,
	    n) < 0)) {
		p = g->path;
		n = strlen(g->path);
	}
	*path = p;
	*len = n;
	return p != NULL;
}

/*
 * Pass 2: the states at O and N and the paths with increments stamped O
 * or S, side by side, in path order.  O's new metadata diff (when O has
 * a diff, not a snapshot) gets O's record (a Type None one when absent)
 * wherever the two states differ and wherever an increment stamped O
 * stays, so that the diff names every such path; each path's
 * increments are decided on the way (rebuilt when need be).
 */
static void
walk_meta(struct merge *m, struct gzw *w)
{
	struct meta_at *ao, *an;
	struct rec *ro = NULL, *rn = NULL, none;
	struct group *g, *lg;
	const char *wo, *wn, *p;
	size_t at = 0, i, len;
	int ho, hn, keepinc, inO, inN;

	ao = meta_or_die(m, m->o);
	an = meta_or_die(m, m->n);
	ho = next_or_die(ao, &ro);
	hn = next_or_die(an, &rn);
	while (cmp3(ho ? ro : NULL, hn ? rn : NULL, at < m->ng ? &m->g[at] :
	    NULL, &p, &len)) {
		inO = ho && pathcmp(ro->path, ro->pathlen, p, len) == 0;
		inN = hn && pathcmp(rn->path, rn->pathlen, p, len) == 0;
		g = at < m->ng && pathcmp(m->g[at].path, strlen(m->g[at].path),
		    p, len) == 0 ? &m->g[at++] : NULL;
		wo = inO && ro->type == RT_REG ? hl_digest(&m->lo, ro) : "";
		wn = inN && rn->type == RT_REG ? hl_digest(&m->ln, rn) : "";
		keepinc = 0;
		if (g != NULL)
			keepinc |= decide(m, g, inO ? ro : NULL, wo,
			    inN ? rn : NULL, wn);
		if ((inO && (lg = long_group(m, ro)) != NULL) ||
		    (inN && (lg = long_group(m, rn)) != NULL))
			keepinc |= decide(m, lg, inO ? ro : NULL, wo,
			    inN ? rn : NULL, wn);
		if (w != NULL && inO && (!inN || keepinc || !same(ro, rn))) {
			if (meta_write(w, ro) == -1)
				err(EXIT_TEMP, "write the merged metadata");
		} else if (w != NULL && !inO && (inN || keepinc)) {
			memset(&none, 0, sizeof none);
			none.path = (char *)p;
			none.pathlen = len;
			none.type = RT_NONE;
			if (meta_write(w, &none) == -1)
				err(EXIT_TEMP, "write the merged metadata");
		}
		if (inO)
			ho = next_or_die(ao, &ro);
		if (inN)
			hn = next_or_die(an, &rn);
	}
	meta_at_close(ao);
	meta_at_close(an);
	/* long names in neither state: absent at O and N both */
	for (i = 0; i < m->nlg; i++)
		if (!m->lg[i].done)
			(void)decide(m, &m->lg[i], NULL, "", NULL, "");
}

/*
 * N's session statistics describe the increments its run wrote, which
 * are now those stamped O: their count and size become the merged ones.
 * Staged and journaled; a session without statistics gets none.
 */
static void
restat(struct merge *m)
{
	char *name, *buf, *sname, *line, *nl, h[32];
	size_t len, k;
	int fd;

	if ((name = stamped_find(m->r->datafd, "session_statistics", m->n,
	    INC_DATA)) == NULL) {
		if (errno == ENOENT)
			return;
		err(EXIT_TEMP, "find the statistics of the next session");
	}
	if (read_file_at(m->r->datafd, name, &buf, &len, 1 << 20) == -1)
		err(EXIT_TEMP, "read %s/%s", DATADIR, name);
	fd = stage_file(m, &sname);
	for (line = buf; *line != '\0'; line = nl) {
		nl = strchr(line, '\n');
		nl = nl ? nl + 1 : line + strlen(line);
		k = (size_t)(nl - line);
		if (strncmp(line, "IncrementFiles ", 15) == 0)
			dprintf(fd, "IncrementFiles %llu\n",
			    (unsigned long long)m->incfiles);
		else if (strncmp(line, "IncrementFileSize ", 18) == 0)
			dprintf(fd, "IncrementFileSize %llu (%s)\n",
			    (unsigned long long)m->incbytes,
			    number_human(m->incbytes, h, sizeof h));
		else if (write_full(fd, line, k) == -1)
			err(EXIT_TEMP, "write %s/%s", DATADIR, sname);
	}
	if (close(fd) == -1)
		err(EXIT_TEMP, "write %s/%s", DATADIR, sname);
	journal_rename(m->j, sname, name);
	free(sname);
	free(name);
	free(buf);
}

static int
unlink_s(void *arg, const struct stampent *e)
{
	struct merge *m = arg;

	if (e->stamped && e->t > m->o && e->t < m->n &&
	    !incname_is(e->name, e->base, MARKER))
		journal_unlink(m->j, e->name);
	return 0;
}

void
merge_run(struct repo *r, int64_t o, int64_t n, int verbose)
{
	struct merge m;
	struct gzw *w = NULL;
	const struct metafile *mo = NULL;
	const char *why;
	char *mname = NULL, *final;
	size_t i;
	int fd;

	memset(&m, 0, sizeof m);
	m.l.fd = -1;
	m.r = r;
	m.cur = repo_current(r);
	for (i = 0; i < r->ntimes && r->times[i] != o; i++)
		;
	if (i + 2 >= r->ntimes || r->times[i + 1] >= n)
		errx(EXIT_USAGE, "merge: no session in the middle there");
	m.o = o;
	m.n = n;
	for (i++; i < r->ntimes && r->times[i] < n; i++)
		m.s = r->times[i];
	if (i == r->ntimes || r->times[i] != n)
		errx(EXIT_USAGE, "merge: no session in the middle there");
	timestr_format(m.o, m.ots);
	if (r->quoted)
		errx(EXIT_PERM, "removing a session from the middle of a "
		    "repository with chars_to_quote is not supported");
	for (i = 0; i < r->nmeta; i++)
		if (r->meta[i].t == m.o)
			mo = &r->meta[i];
	if (mo == NULL)
		errx(EXIT_PERM, "session %s has no metadata file", m.ots);

	if (journal_clean(r->datafd) == -1 ||
	    (mkdirat(r->datafd, STAGING, 0700) == -1) ||
	    (m.stfd = subdir(r->datafd, STAGING)) == -1)
		err(EXIT_TEMP, "make %s/%s", DATADIR, STAGING);
	staging_fd = m.stfd;
	staging_datafd = r->datafd;
	atexit(unstage);
	m.j = journal_new(m.o, m.s);

	gather(&m);
	if (!mo->snapshot) {
		fd = stage_file(&m, &mname);
		w = gzw_open(fd, 6);
		gzw_seekable(w);
	}
	walk_meta(&m, w);
	if (w != NULL) {
		if (gzw_close(w, 0) == -1)
			err(EXIT_TEMP, "write %s/%s", DATADIR, mname);
		final = incname_make(METADATA, m.o, INC_DIFF, 1, r->style);
		journal_rename(m.j, mname, final);
		if (strcmp(final, mo->name) != 0)
			journal_unlink(m.j, mo->name);
		free(final);
		free(mname);
	}
	restat(&m);
	/* S's own files, its metadata last but one, its marker never */
	if (stamped_each(r->datafd, unlink_s, &m) == -1)
		err(EXIT_TEMP, "list %s", DATADIR);
	(void)unlinkat(m.stfd, "o", 0);
	(void)unlinkat(m.stfd, "n", 0);
	/* the staged files on disk before the journal names them */
	if (syncfs(m.stfd) == -1)
		err(EXIT_TEMP, "sync %s/%s", DATADIR, STAGING);
	if (verbose)
		warnx("merging %zu increments into %s", journal_len(m.j),
		    m.ots);
	if (journal_commit(m.j, r->datafd) == -1)
		err(EXIT_TEMP, "write %s/%s", DATADIR, JOURNAL);
	staging_fd = -1;	/* committed: the journal owns it now */
	if (journal_apply(r->datafd, &why) == -1)
		err(EXIT_TEMP, "%s (run prune again to finish)", why);
	close(m.stfd);
	incdir_close(&m.l);
	free(m.ldir);
	free(m.g);
	free(m.lg);
	hl_free(&m.lo);
	hl_free(&m.ln);
}
