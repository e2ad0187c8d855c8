/*
 * restore --compare: the live tree of a directory walked beside a
 * session's metadata, in path order, as rdiff-backup compare does it:
 * "new" (only in the directory), "deleted" (only in the session),
 * "changed" (the metadata differs); with the hash method regular files
 * are also hashed and checked against the recorded digest, with the full
 * method against the session's content rebuilt from the repository.
 */
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compare.h"
#include "copy.h"
#include "exitcode.h"
#include "hlink.h"
#include "meta.h"
#include "pathname.h"
#include "rebuild.h"
#include "repo.h"
#include "walk.h"
#include "xalloc.h"

struct cmp {
	struct repo	*r;
	int64_t		 t;
	int		 method, parsable, tmpfd;
	int		 found;		/* a difference, or something unread */
	int		 listed;	/* a difference printed */
	struct hlinks	 links;
	struct longincs	 longincs;
};

/* One difference: a line, or a YAML entry. */
static void
report(struct cmp *c, const char *why, const char *path)
{
	const char *p = path[0] ? path : ".", *s;
	int plain = 1;

	if (c->parsable && !c->listed)
		printf("---\n");
	c->found = c->listed = 1;
	if (!c->parsable) {
		printf("%s: %s\n", why, shown(p));
		return;
	}
	for (s = p; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr("._/-", *s) != NULL))
			plain = 0;
	if (!plain) {
		/* quoted as YAML single-quoted scalars: '' for a quote */
		fputs("- path: '", stdout);
		for (s = p; *s != '\0'; s++)
			*s == '\'' ? fputs("''", stdout) : putchar(*s);
		printf("'\n  reason: %s\n", why);
	} else
		printf("- path: %s\n  reason: %s\n", p, why);
}

/* The live entry e as a record (no names, no digest). */
static int
live_rec(const struct walk_ent *e, struct rec *l, char *link, size_t len)
{
	ssize_t n;

	memset(l, 0, sizeof *l);
	rec_from_stat(l, &e->st);
	if (l->type == RT_SYM) {
		if ((n = readlinkat(e->dirfd, e->name, link, len)) == -1)
			return -1;
		if ((size_t)n == len) {
			errno = ENAMETOOLONG;
			return -1;
		}
		l->symdata = link;
		l->symlen = (size_t)n;
	}
	return 0;
}

/* SHA-1 of the session's content of regular file r, rebuilt; -1: why. */
static int
rebuilt_sha1(struct cmp *c, const struct rec *r, char *sha1,
    const char **why)
{
	struct incdir l = INCDIR_INIT;
	const struct incent *incs;
	struct copyres res;
	const char *base = r->path, *slash;
	char *incpath;
	size_t n;
	int mdirfd, ifd = -1, idirfd, rv;

	if (r->altmirror != NULL) {
		mdirfd = subdir(c->r->datafd, LONGDIR);
		base = r->altmirror;
	} else
		mdirfd = open_parent(c->r->fd, r->path, &base);
	slash = strrchr(r->path, '/');
	incpath = xmalloc(strlen(INCDIR) + r->pathlen + 2);
	sprintf(incpath, "%s%s%.*s", INCDIR, slash ? "/" : "",
	    slash ? (int)(slash - r->path) : 0, r->path);
	if ((ifd = open_below(c->r->datafd, incpath, O_RDONLY |
	    O_DIRECTORY)) != -1)
		(void)incdir_open(ifd, &l);
	free(incpath);
	incs = incs_find(c->r->datafd, &c->longincs, r->altmirror ?
	    r->altmirror : r->altinc, &l, r->altmirror ? r->altmirror : base,
	    &n, &idirfd);
	rv = rebuild(mdirfd, base, idirfd, incs, n, c->t, repo_current(c->r),
	    c->tmpfd, -1, r->size, &res, why);
	if (rv == 0)
		memcpy(sha1, res.sha1, sizeof res.sha1);
	incdir_close(&l);
	if (mdirfd != -1)
		close(mdirfd);
	return rv;
}

/*
 * Does live regular file e hold other data than the session's file r?
 * By the recorded digest (hash), or the rebuilt content (full).
 */
static int
data_changed(struct cmp *c, const struct walk_ent *e, const struct rec *r)
{
	struct copyres live;
	const char *want = hl_digest(&c->links, r), *why;
	char rebuilt[41];
	int fd, werr;

	if (c->method == CMP_HASH && want[0] == '\0') {
		warnx("%s: the metadata has no digest, its data cannot be "
		    "compared", shown(r->path));
		return 0;
	}
	if ((uint64_t)e->st.st_size != r->size)
		return 1;
	if ((fd = openat(e->dirfd, e->name, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1 || copy_fd(fd, -1, NULL, NULL, &live,
	    &werr) == -1) {
		warn("read %s", shown(r->path));
		if (fd != -1)
			close(fd);
		return 1;	/* not the same if it cannot be read */
	}
	close(fd);
	if (c->method == CMP_FULL) {
		if (rebuilt_sha1(c, r, rebuilt, &why) == -1) {
			warnx("%s of %s: %s", why, shown(r->path),
			    strerror(errno));
			return 1;
		}
		want = rebuilt;
	}
	return strcmp(live.sha1, want) != 0;
}

int
compare_tree(struct repo *r, int64_t t, const char *prefix, const char *dir,
    int method, int parsable)
{
	struct cmp c;
	struct meta_at *m;
	struct walk *w;
	struct walk_ent *e;
	struct rec *rec = NULL, l;
	const char *tmp, *rel;
	char link[4096], what[256], full[256], *path;
	size_t plen = strlen(prefix), rlen;
	int hm, he, k, rv, mchanged;

	memset(&c, 0, sizeof c);
	c.r = r;
	c.t = t;
	c.method = method;
	c.parsable = parsable;
	c.longincs = (struct longincs)LONGINCS_INIT;
	if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
		tmp = "/tmp";
	if ((c.tmpfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		err(EXIT_TEMP, "%s", tmp);
	if ((m = meta_at_open(r, t)) == NULL)
		err(errno == ENOENT || errno == EBADMSG ? EXIT_PERM : EXIT_TEMP,
		    "metadata of the session");
	if ((w = walk_open(dir)) == NULL)
		err(errno == ENOENT || errno == ENOTDIR ? EXIT_PERM : EXIT_TEMP,
		    "%s", dir);
	/* the session's records below prefix, made relative to it */
	do
		hm = meta_at_next(m, &rec);
	while (hm == 1 && !(rec->pathlen >= plen && memcmp(rec->path, prefix,
	    plen) == 0 && (plen == 0 || rec->pathlen == plen ||
	    rec->path[plen] == '/')) && (plen == 0 || pathcmp(rec->path,
	    rec->pathlen, prefix, plen) < 0));
	he = walk_next(w, &e);
	for (;;) {
		if (hm == 1 && !(rec->pathlen >= plen && memcmp(rec->path,
		    prefix, plen) == 0 && (plen == 0 || rec->pathlen == plen ||
		    rec->path[plen] == '/')))
			hm = 0;		/* past the prefix */
		if (hm == -1)
			errx(EXIT_PERM, "metadata: %s", meta_at_error(m));
		if (hm != 1 && he != 1)
			break;
		if (he == 1 && e->listerr) {
			warnx("list %s/%s: %s", dir, shown(e->path),
			    strerror(e->error));
			c.found = 1;
			he = walk_next(w, &e);
			continue;
		}
		rel = NULL;
		rlen = 0;
		if (hm == 1) {
			rel = rec->path + plen + (plen > 0 && rec->pathlen > plen);
			rlen = rec->pathlen - (size_t)(rel - rec->path);
		}
		k = hm != 1 ? 1 : he != 1 ? -1 : pathcmp(rel, rlen, e->path,
		    e->pathlen);
		if (k > 0 && e->error && !e->listerr) {
			warnx("%s/%s: %s", dir, shown(e->path),
			    strerror(e->error));
			c.found = 1;
			he = walk_next(w, &e);
			continue;
		}
		path = k > 0 ? xmemdup(e->path, e->pathlen + 1) :
		    xstrndup(rel, rlen);
		if (k < 0)
			report(&c, "deleted", path);
		else if (k > 0)
			report(&c, "new", path);
		else if (e->error) {
			warnx("%s/%s: %s", dir, shown(e->path),
			    strerror(e->error));
			c.found = 1;
		} else if (live_rec(e, &l, link, sizeof link) == -1) {
			warn("readlink %s/%s", dir, shown(e->path));
			c.found = 1;
		} else {
			rec_changes(rec, &l, what, sizeof what);
			mchanged = what[0] != '\0';
			if (method != CMP_META && rec->type == RT_REG &&
			    l.type == RT_REG) {
				rv = data_changed(&c, e, rec);
				if (mchanged || rv) {
					snprintf(full, sizeof full, "metadata "
					    "%s, data %s", mchanged ? "changed" :
					    "the same", rv ? "changed" :
					    "the same");
					report(&c, full, path);
				}
			} else if (mchanged)
				report(&c, "changed", path);
		}
		free(path);
		if (k <= 0)
			hm = meta_at_next(m, &rec);
		if (k >= 0)
			he = walk_next(w, &e);
	}
	if (parsable)
		printf(c.listed ? "...\n\n" : "--- []\n...\n\n");
	walk_close(w);
	meta_at_close(m);
	hl_free(&c.links);
	incdir_close(&c.longincs.incs);
	close(c.tmpfd);
	if (fflush(stdout) == EOF)
		err(EXIT_TEMP, "stdout");
	return c.found ? 1 : 0;
}
