#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "select.h"
#include "xalloc.h"

struct rule {
	int	 kind;
	char	*glob;		/* pattern without "ignorecase:" */
	size_t	 len;
	int	 icase;
	int	 plain;		/* no special characters: a path prefix */
	size_t	 scanlen;	/* the glob up to and including its first "**" */
};

struct select {
	char		*root;
	size_t		 rootlen;
	dev_t		 dev;
	struct rule	*r;
	size_t		 n;
	char		*buf;		/* root + "/" + rel */
	size_t		 bufcap;
};

static int
lower(int c, int icase)
{
	return icase && c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/*
 * Match a bracket expression at g (after "["); returns 1/0 and sets *end
 * past the "]", or -1 when there is no closing bracket (a literal "[").
 */
static int
bracket(const char *g, const char *gend, int c, int icase, const char **end)
{
	const char *p = g;
	int neg = 0, hit = 0, lo, hi;

	if (p < gend && (*p == '!' || *p == '^')) {
		neg = 1;
		p++;
	}
	if (p < gend && *p == ']')
		p++;
	while (p < gend && *p != ']')
		p++;
	if (p >= gend)
		return -1;
	*end = p + 1;
	p = g + neg;
	c = lower(c, icase);
	while (p < *end - 1) {
		lo = lower((unsigned char)*p, icase);
		if (p + 2 < *end - 1 && p[1] == '-') {
			hi = lower((unsigned char)p[2], icase);
			if (c >= lo && c <= hi)
				hit = 1;
			p += 3;
		} else {
			if (c == lo)
				hit = 1;
			p++;
		}
	}
	return hit != neg;
}

/* Shell-glob match of all of s: "*" and "?" stop at "/", "**" does not. */
int
glob_match(const char *g, size_t glen, const char *s, size_t slen, int icase)
{
	const char *gend = g + glen, *send = s + slen, *end;
	int r;

	while (g < gend) {
		if (*g == '*') {
			int deep = g + 1 < gend && g[1] == '*';

			g += deep ? 2 : 1;
			for (;;) {
				if (glob_match(g, (size_t)(gend - g), s,
				    (size_t)(send - s), icase))
					return 1;
				if (s == send || (!deep && *s == '/'))
					return 0;
				s++;
			}
		}
		if (s == send)
			return 0;
		if (*g == '?') {
			if (*s == '/')
				return 0;
		} else if (*g == '[' && (r = bracket(g + 1, gend,
		    (unsigned char)*s, icase, &end)) != -1) {
			if (!r || *s == '/')
				return 0;
			g = end;
			s++;
			continue;
		} else {
			if (*g == '\\' && g + 1 < gend)
				g++;
			if (lower((unsigned char)*g, icase) !=
			    lower((unsigned char)*s, icase))
				return 0;
		}
		g++;
		s++;
	}
	return s == send;
}

/* The glob matches path or a directory above it ("^glob($|/)"). */
static int
match_or_below(const struct rule *r, const char *p, size_t n)
{
	size_t k;

	for (k = 0; k <= n; k++)
		if ((k == n || p[k] == '/') && glob_match(r->glob, r->len, p, k,
		    r->icase))
			return 1;
	return 0;
}

/* path is a directory on the way to something the glob may match. */
static int
scan_prefix(const struct rule *r, const char *p, size_t n)
{
	size_t k;

	if (n == 0)
		return 0;
	/* each prefix of the glob's components, "/"-rooted ones with "/" */
	for (k = 0; k <= r->scanlen; k++) {
		if (k < r->scanlen && r->glob[k] != '/')
			continue;
		if (k == 0) {
			if (r->glob[0] == '/' && n == 1 && p[0] == '/')
				return 1;
			continue;
		}
		if (glob_match(r->glob, k, p, n, r->icase))
			return 1;
	}
	return 0;
}

struct select *
select_new(const char *root, dev_t dev)
{
	struct select *s = xcalloc(1, sizeof *s);
	size_t n = strlen(root);

	while (n > 1 && root[n - 1] == '/')
		n--;
	s->root = xmemdup(root, n + 1);
	s->root[n] = '\0';
	s->rootlen = n;
	s->dev = dev;
	return s;
}

int
select_any(const struct select *s)
{
	return s->n > 0;
}

static int
test_rule(struct select *s, const struct rule *r, const char *full, size_t n,
    int isdir, dev_t dev, int dirfd, const char *name)
{
	struct stat st;
	char *probe;
	int hit;

	switch (r->kind) {
	case SEL_EXCLUDE_OTHERFS:
		return dev != s->dev ? 0 : -1;
	case SEL_EXCLUDE_PRESENT:
		if (!isdir)
			return -1;
		probe = xmalloc(strlen(name) + r->len + 2);
		sprintf(probe, "%s/%s", name, r->glob);
		hit = fstatat(dirfd, probe, &st, AT_SYMLINK_NOFOLLOW) == 0;
		free(probe);
		return hit ? 0 : -1;
	}
	if (r->len == 2 && memcmp(r->glob, "**", 2) == 0)
		return r->kind == SEL_INCLUDE;
	if (r->plain) {
		/* a plain path: itself and what is below; includes its parents */
		if (n >= r->len && memcmp(full, r->glob, r->len) == 0 &&
		    (n == r->len || full[r->len] == '/'))
			return r->kind == SEL_INCLUDE;
		if (r->kind == SEL_INCLUDE && r->len > n &&
		    memcmp(full, r->glob, n) == 0 && r->glob[n] == '/')
			return 1;
		return -1;
	}
	if (match_or_below(r, full, n))
		return r->kind == SEL_INCLUDE;
	if (r->kind == SEL_INCLUDE && scan_prefix(r, full, n))
		return 2;
	return -1;
}

int
select_add(struct select *s, int kind, const char *glob, char *err,
    size_t errlen)
{
	struct rule r;
	const char *g = glob;
	size_t i, n;
	int save;

	memset(&r, 0, sizeof r);
	r.kind = kind;
	if ((kind == SEL_INCLUDE || kind == SEL_EXCLUDE) &&
	    strncasecmp(g, "ignorecase:", 11) == 0) {
		r.icase = 1;
		g += 11;
	}
	n = strlen(g);
	if (kind == SEL_EXCLUDE_PRESENT && (n == 0 || strchr(g, '/') ||
	    strcmp(g, ".") == 0 || strcmp(g, "..") == 0)) {
		snprintf(err, errlen, "%s: not a file name", glob);
		return -1;
	}
	while ((kind == SEL_INCLUDE || kind == SEL_EXCLUDE) && n > 1 &&
	    g[n - 1] == '/')
		n--;
	r.glob = xmemdup(g, n + 1);
	r.glob[n] = '\0';
	r.len = n;
	r.plain = strpbrk(r.glob, "*?[\\") == NULL && !r.icase;
	r.scanlen = n;
	for (i = 0; i + 1 < n; i++)
		if (r.glob[i] == '*' && r.glob[i + 1] == '*') {
			r.scanlen = i + 2;
			break;
		}
	if (kind == SEL_INCLUDE || kind == SEL_EXCLUDE) {
		if (strstr(r.glob + 1, "//") != NULL) {
			snprintf(err, errlen, "%s: consecutive slashes", glob);
			free(r.glob);
			return -1;
		}
		/* like rdiff-backup: a pattern must be able to reach the root */
		save = r.kind;
		r.kind = SEL_INCLUDE;
		if (!(r.len == 2 && memcmp(r.glob, "**", 2) == 0) &&
		    test_rule(s, &r, s->root, s->rootlen, 1, s->dev, -1, "") == -1) {
			snprintf(err, errlen, "%s: cannot match anything below %s "
			    "(patterns are matched against the source path as "
			    "given, e.g. %s/dir or **/dir)", glob, s->root, s->root);
			free(r.glob);
			return -1;
		}
		r.kind = save;
	}
	s->r = xreallocarray(s->r, s->n + 1, sizeof *s->r);
	s->r[s->n++] = r;
	return 0;
}

int
select_test(struct select *s, const char *rel, size_t rlen, int isdir,
    dev_t dev, int dirfd, const char *name)
{
	size_t i, n;
	int scanned = 0, v;

	if (s->n == 0 || rlen == 0)
		return 1;
	if (s->rootlen + rlen + 2 > s->bufcap) {
		s->bufcap = (s->rootlen + rlen + 2) * 2;
		s->buf = xrealloc(s->buf, s->bufcap);
	}
	memcpy(s->buf, s->root, s->rootlen);
	n = s->rootlen;
	if (n == 0 || s->buf[n - 1] != '/')
		s->buf[n++] = '/';
	memcpy(s->buf + n, rel, rlen);
	n += rlen;
	s->buf[n] = '\0';
	for (i = 0; i < s->n; i++) {
		v = test_rule(s, &s->r[i], s->buf, n, isdir, dev, dirfd, name);
		if (v == 1)
			return 1;
		if (v == 0)
			return scanned && isdir;
		if (v == 2)
			scanned = 1;
	}
	/* nothing matched; a directory only scanned is still entered */
	return 1;
}
