#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "meta.h"
#include "number.h"
#include "pathname.h"
#include "select.h"
#include "xalloc.h"

#define LIST_MAX	(256u << 20)	/* a file list, at most */

/* Past the kinds: the -stdin forms of the four lists, the separator. */
#define OPT_STDIN(kind)	(SELOPT + SEL_NKINDS + (kind) - SEL_INCLUDE_FILELIST)
#define OPT_NUL		(SELOPT + SEL_NKINDS + 4)
#define K(kind)		(SELOPT + (kind))
#define ARG		required_argument
#define NOARG		no_argument

const struct option select_options[] = {
	{ "include", ARG, NULL, K(SEL_INCLUDE) },
	{ "exclude", ARG, NULL, K(SEL_EXCLUDE) },
	{ "include-if-present", ARG, NULL, K(SEL_INCLUDE_PRESENT) },
	{ "exclude-if-present", ARG, NULL, K(SEL_EXCLUDE_PRESENT) },
	{ "exclude-other-filesystems", NOARG, NULL, K(SEL_EXCLUDE_OTHERFS) },
	{ "include-regexp", ARG, NULL, K(SEL_INCLUDE_REGEXP) },
	{ "exclude-regexp", ARG, NULL, K(SEL_EXCLUDE_REGEXP) },
	{ "include-special-files", NOARG, NULL, K(SEL_INCLUDE_SPECIAL) },
	{ "exclude-special-files", NOARG, NULL, K(SEL_EXCLUDE_SPECIAL) },
	{ "include-symbolic-links", NOARG, NULL, K(SEL_INCLUDE_SYMLINKS) },
	{ "exclude-symbolic-links", NOARG, NULL, K(SEL_EXCLUDE_SYMLINKS) },
	{ "exclude-device-files", NOARG, NULL, K(SEL_EXCLUDE_DEVICES) },
	{ "exclude-sockets", NOARG, NULL, K(SEL_EXCLUDE_SOCKETS) },
	{ "exclude-fifos", NOARG, NULL, K(SEL_EXCLUDE_FIFOS) },
	{ "max-file-size", ARG, NULL, K(SEL_MAX_SIZE) },
	{ "min-file-size", ARG, NULL, K(SEL_MIN_SIZE) },
	{ "include-filelist", ARG, NULL, K(SEL_INCLUDE_FILELIST) },
	{ "exclude-filelist", ARG, NULL, K(SEL_EXCLUDE_FILELIST) },
	{ "include-globbing-filelist", ARG, NULL, K(SEL_INCLUDE_GLOBLIST) },
	{ "exclude-globbing-filelist", ARG, NULL, K(SEL_EXCLUDE_GLOBLIST) },
	/* the -stdin forms of the four lists, then the separator */
	{ "include-filelist-stdin", NOARG, NULL, OPT_STDIN(SEL_INCLUDE_FILELIST) },
	{ "exclude-filelist-stdin", NOARG, NULL, OPT_STDIN(SEL_EXCLUDE_FILELIST) },
	{ "include-globbing-filelist-stdin", NOARG, NULL,
	    OPT_STDIN(SEL_INCLUDE_GLOBLIST) },
	{ "exclude-globbing-filelist-stdin", NOARG, NULL,
	    OPT_STDIN(SEL_EXCLUDE_GLOBLIST) },
	{ "null-separator", NOARG, NULL, OPT_NUL },
	{ NULL, 0, NULL, 0 }
};
#undef K
#undef ARG
#undef NOARG

struct option *
select_longopts(const struct option *own)
{
	struct option *o;
	size_t n, k;

	for (n = 0; own[n].name != NULL; n++)
		;
	for (k = 0; select_options[k].name != NULL; k++)
		;
	o = xreallocarray(NULL, n + k + 1, sizeof *o);
	memcpy(o, own, n * sizeof *o);
	memcpy(o + n, select_options, (k + 1) * sizeof *o);
	return o;
}

/* One line of a file list: a relative path and what it says. */
struct entry {
	char	*rel;
	size_t	 len;
	int	 include;
};

struct rule {
	int	 kind;
	char	*glob;		/* pattern without "ignorecase:"; or a name */
	size_t	 len;
	int	 icase;
	int	 plain;		/* no special characters: a path prefix */
	size_t	 scanlen;	/* the glob up to and including its first "**" */
	regex_t	 re;
	uint64_t size;
	struct entry *list;	/* a file list, sorted */
	size_t	 nlist;
	int	 excludes;	/* may exclude something */
};

struct select {
	char		*root;
	size_t		 rootlen;
	dev_t		 dev;
	struct rule	*r;
	size_t		 n;
	char		*buf;		/* root + "/" + rel */
	size_t		 bufcap;
	size_t		 badlines;	/* list lines outside the root */
	char		 warning[256];
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

/*
 * Python's regular expressions as POSIX extended ones: \d, \w, \s and
 * their capitals become classes, \n and \t characters; what POSIX has
 * no way to say (lookaround, lazy quantifiers, \b, backreferences) is
 * refused rather than matched differently.  NULL with a message in err.
 */
static char *
re_posix(const char *py, char *err, size_t errlen)
{
	size_t n = strlen(py), i, o = 0;
	char *out = xmalloc(n * 14 + 1);
	int inbr = 0, c;
	const char *cls;

	for (i = 0; i < n; i++) {
		c = (unsigned char)py[i];
		if (inbr && c == ']') {
			inbr = 0;
			out[o++] = ']';
			continue;
		}
		if (inbr) {
			if (c != '\\') {
				out[o++] = (char)c;
				continue;
			}
			c = (unsigned char)py[++i];
			cls = c == 'd' ? "0-9" : c == 'w' ? "[:alnum:]_" :
			    c == 's' ? "[:space:]" : NULL;
			if (cls != NULL) {
				memcpy(out + o, cls, strlen(cls));
				o += strlen(cls);
			} else if (c == 'n' || c == 't')
				out[o++] = c == 'n' ? '\n' : '\t';
			else if (c != '\0' && strchr("]^-\\", c) == NULL &&
			    !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') &&
			    !(c >= '0' && c <= '9'))
				out[o++] = (char)c;
			else
				goto unsupported;
			continue;
		}
		if (c == '[') {
			/* "[", "[^", then a "]" first is a member */
			inbr = 1;
			out[o++] = '[';
			if (py[i + 1] == '^')
				out[o++] = py[++i];
			if (py[i + 1] == ']')
				out[o++] = py[++i];
			continue;
		}
		if (c == '(' && py[i + 1] == '?')
			goto unsupported;
		if ((c == '*' || c == '+' || c == '?' || c == '}') &&
		    py[i + 1] == '?')
			goto unsupported;
		if (c != '\\') {
			out[o++] = (char)c;
			continue;
		}
		c = (unsigned char)py[++i];
		cls = c == 'd' ? "[0-9]" : c == 'D' ? "[^0-9]" :
		    c == 'w' ? "[[:alnum:]_]" : c == 'W' ? "[^[:alnum:]_]" :
		    c == 's' ? "[[:space:]]" : c == 'S' ? "[^[:space:]]" : NULL;
		if (cls != NULL) {
			memcpy(out + o, cls, strlen(cls));
			o += strlen(cls);
		} else if (c == 'n' || c == 't')
			out[o++] = c == 'n' ? '\n' : '\t';
		else if (c != '\0' && !(c >= 'a' && c <= 'z') &&
		    !(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9')) {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else
			goto unsupported;
	}
	out[o] = '\0';
	return out;
unsupported:
	snprintf(err, errlen, "%s: a regular expression POSIX cannot say "
	    "(lookaround, lazy quantifiers, \\b, backreferences)", py);
	free(out);
	return NULL;
}

/* Relative components of line below the root, "/"-joined; NULL: outside. */
static char *
list_rel(const struct select *s, const char *line, size_t n, size_t *len)
{
	const char *r = s->root, *rend = s->root + s->rootlen, *p = line,
	    *end = line + n, *c;
	size_t k;
	char *out;

	/* the root's components first, as they are given */
	for (;;) {
		while (r < rend && *r == '/')
			r++;
		while (p < end && *p == '/')
			p++;
		if (r == rend)
			break;
		for (k = 0; r + k < rend && r[k] != '/'; k++)
			;
		if ((size_t)(end - p) < k || memcmp(r, p, k) != 0 ||
		    (p + k < end && p[k] != '/'))
			return NULL;
		r += k;
		p += k;
	}
	out = xmalloc((size_t)(end - p) + 1);
	*len = 0;
	while (p < end) {
		for (c = p; c < end && *c != '/'; c++)
			;
		if (c > p) {
			if (*len > 0)
				out[(*len)++] = '/';
			memcpy(out + *len, p, (size_t)(c - p));
			*len += (size_t)(c - p);
		}
		p = c;
		while (p < end && *p == '/')
			p++;
	}
	out[*len] = '\0';
	return out;
}

static int
entcmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = pathcmp(x->rel, x->len, y->rel, y->len);

	return c != 0 ? c : x->include - y->include;
}

/*
 * The next line of a list at *p (before end) that is not blank: into
 * line and n, carriage returns at its end and a "+ " or "- " prefix cut
 * off, *inc set by that prefix (else left as it is).  0 at the end.
 */
static int
next_line(const char **p, const char *end, int nul, const char **line,
    size_t *n, int *inc)
{
	const char *e;

	for (; *p < end; *p = e + 1) {
		if ((e = memchr(*p, nul ? '\0' : '\n', (size_t)(end - *p))) == NULL)
			e = end;
		*line = *p;
		*n = (size_t)(e - *p);
		while (*n > 0 && (*line)[*n - 1] == '\r')
			(*n)--;
		if (*n == 0)
			continue;
		if (*n >= 2 && ((*line)[0] == '+' || (*line)[0] == '-') &&
		    (*line)[1] == ' ') {
			*inc = (*line)[0] == '+';
			*line += 2;
			*n -= 2;
		}
		*p = e + 1;
		return 1;
	}
	return 0;
}

/* Parse file list data into rule r, as rdiff-backup reads one. */
static void
list_parse(struct select *s, struct rule *r, const char *data, size_t len,
    int nul, int include)
{
	const char *p = data, *end = data + len, *line;
	size_t n, rl;
	char *rel;
	int inc;

	while (inc = include, next_line(&p, end, nul, &line, &n, &inc)) {
		if ((rel = list_rel(s, line, n, &rl)) == NULL)
			s->badlines++;
		else if (rl == 0)
			free(rel);	/* the root: never tested */
		else {
			r->list = xreallocarray(r->list, r->nlist + 1,
			    sizeof *r->list);
			r->list[r->nlist].rel = rel;
			r->list[r->nlist].len = rl;
			r->list[r->nlist++].include = inc;
			if (!inc)
				r->excludes = 1;
		}
	}
	if (r->nlist > 1)
		qsort(r->list, r->nlist, sizeof *r->list, entcmp);
}


/*
 * A file list's say about rel, as rdiff-backup's sorted walk through it
 * would give it: an exclusion of rel or a directory above it excludes;
 * else the first line at or after rel includes rel if it names rel or
 * something below it; else nothing (-1).
 */
static int
list_test(const struct rule *r, const char *rel, size_t n)
{
	struct entry key;
	size_t lo, hi, mid, k;

	for (k = 0; k <= n; k++) {
		if (k < n && rel[k] != '/')
			continue;
		key.rel = (char *)rel;
		key.len = k;
		key.include = 0;
		lo = 0;
		hi = r->nlist;
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			if (entcmp(&r->list[mid], &key) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (k < n && lo < r->nlist && !r->list[lo].include &&
		    r->list[lo].len == k && memcmp(r->list[lo].rel, rel, k) == 0)
			return 0;
		if (k == n) {
			if (lo == r->nlist)
				return -1;
			if (!r->list[lo].include)
				return r->list[lo].len == n &&
				    memcmp(r->list[lo].rel, rel, n) == 0 ? 0 : -1;
			return (r->list[lo].len == n && memcmp(r->list[lo].rel,
			    rel, n) == 0) || path_below(r->list[lo].rel,
			    r->list[lo].len, rel, n) ? 1 : -1;
		}
	}
	return -1;
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

void
select_free(struct select *s)
{
	size_t i, k;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++) {
		free(s->r[i].glob);
		if (s->r[i].kind == SEL_INCLUDE_REGEXP ||
		    s->r[i].kind == SEL_EXCLUDE_REGEXP)
			regfree(&s->r[i].re);
		for (k = 0; k < s->r[i].nlist; k++)
			free(s->r[i].list[k].rel);
		free(s->r[i].list);
	}
	free(s->r);
	free(s->buf);
	free(s->root);
	free(s);
}

int
select_any(const struct select *s)
{
	return s->n > 0;
}

/* Is there a file name in directory dirfd/name (dirfd itself: "")? */
static int
present(int dirfd, const char *name, const char *file)
{
	struct stat st;
	char *probe;
	int hit;

	if (dirfd == -1)
		return 0;
	probe = xmalloc(strlen(name) + strlen(file) + 2);
	sprintf(probe, "%s%s%s", name, name[0] ? "/" : "", file);
	hit = fstatat(dirfd, probe, &st, AT_SYMLINK_NOFOLLOW) == 0;
	free(probe);
	return hit;
}

/* A rule's say: 1 include, 0 exclude, 2 scan, -1 nothing. */
static int
test_rule(struct select *s, const struct rule *r, const char *full, size_t n,
    const char *rel, size_t rlen, mode_t mode, uint64_t size, dev_t dev,
    int dirfd, const char *name)
{
	int inc = r->kind == SEL_INCLUDE || r->kind == SEL_INCLUDE_REGEXP ||
	    r->kind == SEL_INCLUDE_PRESENT || r->kind == SEL_INCLUDE_SPECIAL ||
	    r->kind == SEL_INCLUDE_SYMLINKS;

	switch (r->kind) {
	case SEL_EXCLUDE_OTHERFS:
		return dev != s->dev ? 0 : -1;
	case SEL_INCLUDE_PRESENT:
	case SEL_EXCLUDE_PRESENT:
		if (S_ISDIR(mode))
			return present(dirfd, name, r->glob) ? inc : -1;
		return inc && present(dirfd, "", r->glob) ? 1 : -1;
	case SEL_INCLUDE_REGEXP:
	case SEL_EXCLUDE_REGEXP:
		return regexec(&r->re, full, 0, NULL, 0) == 0 ? inc : -1;
	case SEL_INCLUDE_SPECIAL:
	case SEL_EXCLUDE_SPECIAL:
		return S_ISLNK(mode) || S_ISSOCK(mode) || S_ISFIFO(mode) ||
		    S_ISCHR(mode) || S_ISBLK(mode) ? inc : -1;
	case SEL_INCLUDE_SYMLINKS:
	case SEL_EXCLUDE_SYMLINKS:
		return S_ISLNK(mode) ? inc : -1;
	case SEL_EXCLUDE_DEVICES:
		return S_ISCHR(mode) || S_ISBLK(mode) ? 0 : -1;
	case SEL_EXCLUDE_SOCKETS:
		return S_ISSOCK(mode) ? 0 : -1;
	case SEL_EXCLUDE_FIFOS:
		return S_ISFIFO(mode) ? 0 : -1;
	case SEL_MAX_SIZE:
		return S_ISREG(mode) && size > r->size ? 0 : -1;
	case SEL_MIN_SIZE:
		return S_ISREG(mode) && size < r->size ? 0 : -1;
	case SEL_INCLUDE_FILELIST:
	case SEL_EXCLUDE_FILELIST:
		return list_test(r, rel, rlen);
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

/* A glob rule (kind SEL_INCLUDE or SEL_EXCLUDE) into r. */
static int
glob_rule(struct select *s, struct rule *r, const char *glob, size_t n,
    char *err, size_t errlen)
{
	const char *g = glob;
	size_t i;

	if (n >= 11 && strncasecmp(g, "ignorecase:", 11) == 0) {
		r->icase = 1;
		g += 11;
		n -= 11;
	}
	while (n > 1 && g[n - 1] == '/')
		n--;
	r->glob = xmemdup(g, n + 1);
	r->glob[n] = '\0';
	r->len = n;
	r->plain = strpbrk(r->glob, "*?[\\") == NULL && !r->icase;
	r->scanlen = n;
	for (i = 0; i + 1 < n; i++)
		if (r->glob[i] == '*' && r->glob[i + 1] == '*') {
			r->scanlen = i + 2;
			break;
		}
	if (n > 1 && strstr(r->glob + 1, "//") != NULL) {
		snprintf(err, errlen, "%.*s: consecutive slashes", (int)n, glob);
		return -1;
	}
	/* like rdiff-backup: a pattern must be able to reach the root */
	if (!(r->len == 2 && memcmp(r->glob, "**", 2) == 0) &&
	    test_rule(s, &(struct rule){ .kind = SEL_INCLUDE, .glob = r->glob,
	    .len = r->len, .icase = r->icase, .plain = r->plain,
	    .scanlen = r->scanlen }, s->root, s->rootlen, "", 0, S_IFDIR, 0,
	    s->dev, -1, "") == -1) {
		snprintf(err, errlen, "%.*s: cannot match anything below %s "
		    "(patterns are matched against the source path as "
		    "given, e.g. %s/dir or **/dir)", (int)n, glob, s->root,
		    s->root);
		return -1;
	}
	r->excludes = r->kind == SEL_EXCLUDE;
	return 0;
}

static void
push_rule(struct select *s, const struct rule *r)
{
	s->r = xreallocarray(s->r, s->n + 1, sizeof *s->r);
	s->r[s->n++] = *r;
}

int
select_add(struct select *s, int kind, const char *arg, char *err,
    size_t errlen)
{
	struct rule r;
	char *re;
	long long v;
	int e;

	memset(&r, 0, sizeof r);
	r.kind = kind;
	switch (kind) {
	case SEL_INCLUDE:
	case SEL_EXCLUDE:
		if (glob_rule(s, &r, arg, strlen(arg), err, errlen) == -1) {
			free(r.glob);
			return -1;
		}
		break;
	case SEL_INCLUDE_PRESENT:
	case SEL_EXCLUDE_PRESENT:
		if (arg[0] == '\0' || strchr(arg, '/') || strcmp(arg, ".") == 0 ||
		    strcmp(arg, "..") == 0) {
			snprintf(err, errlen, "%s: not a file name", arg);
			return -1;
		}
		r.glob = xstrdup(arg);
		r.excludes = kind == SEL_EXCLUDE_PRESENT;
		break;
	case SEL_INCLUDE_REGEXP:
	case SEL_EXCLUDE_REGEXP:
		if ((re = re_posix(arg, err, errlen)) == NULL)
			return -1;
		if ((e = regcomp(&r.re, re, REG_EXTENDED | REG_NOSUB)) != 0) {
			char why[128];

			regerror(e, &r.re, why, sizeof why);
			snprintf(err, errlen, "%s: bad regular expression: %s",
			    arg, why);
			free(re);
			return -1;
		}
		free(re);
		r.excludes = kind == SEL_EXCLUDE_REGEXP;
		break;
	case SEL_MAX_SIZE:
	case SEL_MIN_SIZE:
		if (number_in(arg, 1, LLONG_MAX, &v) == -1) {
			snprintf(err, errlen, "%s: a file size must be a "
			    "positive number of bytes", arg);
			return -1;
		}
		r.size = (uint64_t)v;
		r.excludes = 1;
		break;
	case SEL_INCLUDE_FILELIST:
	case SEL_EXCLUDE_FILELIST:
	case SEL_INCLUDE_GLOBLIST:
	case SEL_EXCLUDE_GLOBLIST:
		snprintf(err, errlen, "a file list goes through select_load");
		return -1;
	default:
		r.excludes = kind != SEL_INCLUDE_SPECIAL &&
		    kind != SEL_INCLUDE_SYMLINKS;
		break;
	}
	push_rule(s, &r);
	return 0;
}

/* The lines of a globbing file list, each a glob rule. */
static int
globlist_add(struct select *s, const struct selrule *sr, int nul,
    char *err, size_t errlen)
{
	const char *p = sr->data, *end = sr->data + sr->len, *line;
	struct rule r;
	size_t n;
	int inc;

	while (inc = sr->kind == SEL_INCLUDE_GLOBLIST,
	    next_line(&p, end, nul, &line, &n, &inc)) {
		memset(&r, 0, sizeof r);
		r.kind = inc ? SEL_INCLUDE : SEL_EXCLUDE;
		if (glob_rule(s, &r, line, n, err, errlen) == -1) {
			free(r.glob);
			return -1;
		}
		push_rule(s, &r);
	}
	return 0;
}

int
select_load(struct select *s, const struct selrules *rs, char *err,
    size_t errlen)
{
	const struct selrule *sr;
	struct rule r;
	size_t i;

	for (i = 0; i < rs->n; i++) {
		sr = &rs->r[i];
		switch (sr->kind) {
		case SEL_INCLUDE_FILELIST:
		case SEL_EXCLUDE_FILELIST:
			memset(&r, 0, sizeof r);
			r.kind = sr->kind;
			r.excludes = sr->kind == SEL_EXCLUDE_FILELIST;
			list_parse(s, &r, sr->data, sr->len, rs->nul,
			    sr->kind == SEL_INCLUDE_FILELIST);
			push_rule(s, &r);
			if (s->badlines > 0 && s->warning[0] == '\0')
				snprintf(s->warning, sizeof s->warning,
				    "%s: lines not below %s left out",
				    sr->arg, s->root);
			break;
		case SEL_INCLUDE_GLOBLIST:
		case SEL_EXCLUDE_GLOBLIST:
			if (globlist_add(s, sr, rs->nul, err, errlen) == -1)
				return -1;
			break;
		default:
			if (select_add(s, sr->kind, sr->arg, err, errlen) == -1)
				return -1;
		}
	}
	if (s->n > 0 && !s->r[s->n - 1].excludes) {
		snprintf(err, errlen, "the last selection rule only includes: "
		    "everything is included anyway (end with an exclude, such "
		    "as --exclude '**')");
		return -1;
	}
	return 0;
}

const char *
select_warning(struct select *s)
{
	return s->warning[0] ? s->warning : NULL;
}

int
select_test(struct select *s, const char *rel, size_t rlen, mode_t mode,
    uint64_t size, dev_t dev, int dirfd, const char *name)
{
	size_t i, n;
	int scanned = 0, v;

	if (s->n == 0 || rlen == 0)
		return SEL_YES;
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
		v = test_rule(s, &s->r[i], s->buf, n, rel, rlen, mode, size,
		    dev, dirfd, name);
		if (v == 1)
			return SEL_YES;
		if (v == 0)
			return scanned && S_ISDIR(mode) ? SEL_SCAN : SEL_NO;
		if (v == 2)
			scanned = 1;
	}
	return SEL_YES;
}

/* Rules of the command line */

int
selrules_add(struct selrules *rs, int kind, const char *arg, char *err,
    size_t errlen)
{
	struct selrule *r;
	int fd = -1;

	rs->r = xreallocarray(rs->r, rs->n + 1, sizeof *rs->r);
	r = &rs->r[rs->n];
	memset(r, 0, sizeof *r);
	r->kind = kind;
	r->arg = xstrdup(arg ? arg : "standard input");
	if (kind == SEL_INCLUDE_FILELIST || kind == SEL_EXCLUDE_FILELIST ||
	    kind == SEL_INCLUDE_GLOBLIST || kind == SEL_EXCLUDE_GLOBLIST) {
		fd = arg ? open(arg, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
		if (fd == -1 || read_fd(fd, &r->data, &r->len, LIST_MAX) == -1) {
			snprintf(err, errlen, "read %s: %s", r->arg,
			    strerror(errno));
			if (fd > STDIN_FILENO)
				close(fd);
			free(r->arg);
			return -1;
		}
		if (fd > STDIN_FILENO)
			close(fd);
	}
	rs->n++;
	return 0;
}

int
selrules_opt(struct selrules *rs, int opt, const char *arg, char *err,
    size_t errlen)
{
	int k = opt - SELOPT;

	if (opt == OPT_NUL) {
		rs->nul = 1;
		return 0;
	}
	if (opt >= OPT_STDIN(SEL_INCLUDE_FILELIST) &&
	    opt <= OPT_STDIN(SEL_EXCLUDE_GLOBLIST))
		return selrules_add(rs, SEL_INCLUDE_FILELIST + opt -
		    OPT_STDIN(SEL_INCLUDE_FILELIST), NULL, err, errlen);
	if (k < 0 || k >= SEL_NKINDS) {
		snprintf(err, errlen, "not a selection option");
		return -1;
	}
	return selrules_add(rs, k, arg ? arg : "", err, errlen);
}

int
selrules_has(const struct selrules *rs, int kind)
{
	size_t i;

	for (i = 0; i < rs->n; i++)
		if (rs->r[i].kind == kind)
			return 1;
	return 0;
}

void
selrules_free(struct selrules *rs)
{
	size_t i;

	for (i = 0; i < rs->n; i++) {
		free(rs->r[i].arg);
		free(rs->r[i].data);
	}
	free(rs->r);
	rs->r = NULL;
	rs->n = 0;
}
