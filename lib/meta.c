#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gz.h"
#include "meta.h"
#include "xalloc.h"

#define MAXREC	(16 << 20)	/* bytes of one record */

struct meta_reader {
	struct gzr	*in;
	char		*text;		/* the record's text (in m->in) */
	size_t		 textlen;
	unsigned long	 lineno, recline;
	int		 eof, ioerr;
	struct rec	 rec;
	char		 err[256];
};

static const char *typenames[] = {
	"None", "reg", "dir", "sym", "dev", "fifo", "sock"
};

const char *
rtype_name(int t)
{
	return t >= 0 && t <= RT_SOCK ? typenames[t] : "?";
}

void
rec_free(struct rec *r)
{
	free(r->path);
	free(r->uname);
	free(r->gname);
	free(r->symdata);
	free(r->altmirror);
	free(r->altinc);
	memset(r, 0, sizeof *r);
}

static char *
dupnul(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

void
rec_copy(struct rec *dst, const struct rec *src)
{
	rec_free(dst);
	*dst = *src;
	dst->path = xmemdup(src->path, src->pathlen + 1);
	dst->pathcap = src->pathlen + 1;
	dst->uname = dupnul(src->uname);
	dst->gname = dupnul(src->gname);
	dst->symdata = src->symdata ? xmemdup(src->symdata, src->symlen + 1) : NULL;
	dst->altmirror = dupnul(src->altmirror);
	dst->altinc = dupnul(src->altinc);
}

int
pathcmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t i, n = alen < blen ? alen : blen;
	int ca, cb;

	for (i = 0; i < n; i++) {
		if (a[i] == b[i])
			continue;
		/* "/" ends a component: it sorts before every other byte */
		ca = a[i] == '/' ? -1 : (unsigned char)a[i];
		cb = b[i] == '/' ? -1 : (unsigned char)b[i];
		return ca < cb ? -1 : 1;
	}
	return alen < blen ? -1 : alen > blen;
}

static int
strsame(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return 1;	/* names only count when both are known */
	return strcmp(a, b) == 0;
}

int
rec_same(const struct rec *a, const struct rec *b)
{
	if (a->type != b->type || a->perms != b->perms || a->uid != b->uid ||
	    a->gid != b->gid || !strsame(a->uname, b->uname) ||
	    !strsame(a->gname, b->gname))
		return 0;
	switch (a->type) {
	case RT_REG:
		if (a->size != b->size || a->nlink != b->nlink)
			return 0;
		if (a->nlink > 1 && (a->ino != b->ino || a->devloc != b->devloc))
			return 0;
		break;
	case RT_SYM:
		return a->symlen == b->symlen &&
		    memcmp(a->symdata, b->symdata, a->symlen) == 0;
	case RT_DEV:
		return a->devtype == b->devtype && a->major == b->major &&
		    a->minor == b->minor;
	}
	return a->has_mtime == b->has_mtime && a->mtime == b->mtime;
}

int
rec_identical(const struct rec *a, const struct rec *b)
{
	return rec_same(a, b) && strcmp(a->sha1, b->sha1) == 0 &&
	    (a->uname == NULL) == (b->uname == NULL) &&
	    (a->gname == NULL) == (b->gname == NULL) &&
	    (a->altinc == NULL ? b->altinc == NULL :
	    b->altinc != NULL && strcmp(a->altinc, b->altinc) == 0);
}

int
rtype_of_mode(mode_t m)
{
	return S_ISREG(m) ? RT_REG : S_ISDIR(m) ? RT_DIR : S_ISLNK(m) ? RT_SYM :
	    S_ISFIFO(m) ? RT_FIFO : S_ISSOCK(m) ? RT_SOCK : RT_DEV;
}

void
rec_from_stat(struct rec *r, const struct stat *st)
{
	r->type = rtype_of_mode(st->st_mode);
	r->perms = st->st_mode & 07777;
	r->uid = st->st_uid;
	r->gid = st->st_gid;
	r->has_mtime = r->type != RT_SYM && r->type != RT_DEV;
	r->mtime = r->has_mtime ? (int64_t)st->st_mtime : 0;
	r->size = r->type == RT_REG ? (uint64_t)st->st_size : 0;
	r->nlink = 0;
	if (r->type == RT_REG && st->st_nlink > 1) {
		r->nlink = st->st_nlink;
		r->ino = st->st_ino;
		r->devloc = st->st_dev;
	}
	if (r->type == RT_DEV) {
		r->devtype = S_ISCHR(st->st_mode) ? 'c' : 'b';
		r->major = major(st->st_rdev);
		r->minor = minor(st->st_rdev);
	}
}

/* Set by put() when a record would not fit in memory's size_t. */
static int put_overflow;

/* Append s[0..n) to a growing buffer. */
static void
put(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	size_t need;

	if (size_add(&need, *len, n) == -1 || size_add(&need, need, 1) == -1) {
		put_overflow = 1;
		return;
	}
	if (need > *cap) {
		*cap = need * 2;
		*buf = xrealloc(*buf, *cap);
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
}

/* Quote a path or link target: only "\n" and "\\" are escaped. */
static void
quote(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	size_t i, start = 0;

	for (i = 0; i < n; i++) {
		if (s[i] != '\n' && s[i] != '\\')
			continue;
		put(buf, len, cap, s + start, i - start);
		put(buf, len, cap, s[i] == '\n' ? "\\n" : "\\\\", 2);
		start = i + 1;
	}
	put(buf, len, cap, s + start, n - start);
}

/*
 * Uses a static buffer: call it from one thread only (the tools call it
 * from their main thread).
 */
int
meta_write(struct gzw *w, const struct rec *r)
{
	static char *buf;
	static size_t cap;
	size_t len = 0;
	char num[128];

	put_overflow = 0;

	put(&buf, &len, &cap, "File ", 5);
	if (r->pathlen == 0)
		put(&buf, &len, &cap, ".", 1);
	else
		quote(&buf, &len, &cap, r->path, r->pathlen);
	snprintf(num, sizeof num, "\n  Type %s\n", rtype_name(r->type));
	put(&buf, &len, &cap, num, strlen(num));
	if (r->type == RT_NONE)
		goto out;
	if (r->type == RT_REG) {
		snprintf(num, sizeof num, "  Size %" PRIu64 "\n", r->size);
		put(&buf, &len, &cap, num, strlen(num));
		if (r->nlink > 1) {
			snprintf(num, sizeof num, "  NumHardLinks %" PRIu64
			    "\n  Inode %" PRIu64 "\n  DeviceLoc %" PRIu64 "\n",
			    r->nlink, r->ino, r->devloc);
			put(&buf, &len, &cap, num, strlen(num));
		}
		if (r->sha1[0] != '\0') {
			snprintf(num, sizeof num, "  SHA1Digest %s\n", r->sha1);
			put(&buf, &len, &cap, num, strlen(num));
		}
	} else if (r->type == RT_SYM) {
		put(&buf, &len, &cap, "  SymData ", 10);
		quote(&buf, &len, &cap, r->symdata, r->symlen);
		put(&buf, &len, &cap, "\n", 1);
	} else if (r->type == RT_DEV) {
		snprintf(num, sizeof num, "  DeviceNum %c %" PRIu64 " %" PRIu64 "\n",
		    r->devtype, r->major, r->minor);
		put(&buf, &len, &cap, num, strlen(num));
	}
	if (r->type != RT_SYM && r->type != RT_DEV) {
		snprintf(num, sizeof num, "  ModTime %" PRId64 "\n", r->mtime);
		put(&buf, &len, &cap, num, strlen(num));
	}
	snprintf(num, sizeof num, "  Uid %" PRIu64 "\n  Uname ", r->uid);
	put(&buf, &len, &cap, num, strlen(num));
	put(&buf, &len, &cap, r->uname ? r->uname : ":", strlen(r->uname ? r->uname : ":"));
	snprintf(num, sizeof num, "\n  Gid %" PRIu64 "\n  Gname ", r->gid);
	put(&buf, &len, &cap, num, strlen(num));
	put(&buf, &len, &cap, r->gname ? r->gname : ":", strlen(r->gname ? r->gname : ":"));
	snprintf(num, sizeof num, "\n  Permissions %u\n", r->perms);
	put(&buf, &len, &cap, num, strlen(num));
	if (r->altmirror != NULL) {
		put(&buf, &len, &cap, "  AlternateMirrorName ", 22);
		put(&buf, &len, &cap, r->altmirror, strlen(r->altmirror));
		put(&buf, &len, &cap, "\n", 1);
	} else if (r->altinc != NULL) {
		put(&buf, &len, &cap, "  AlternateIncrementName ", 25);
		put(&buf, &len, &cap, r->altinc, strlen(r->altinc));
		put(&buf, &len, &cap, "\n", 1);
	}
out:
	if (put_overflow) {
		errno = EOVERFLOW;
		return -1;
	}
	if (gzw_mark(w, r->path, r->pathlen) == -1)
		return -1;
	return gzw_write(w, buf, len);
}

/* Strict unsigned decimal, no sign, no spaces. */
static int
parse_u64(const char *s, size_t n, uint64_t *v)
{
	uint64_t x = 0;
	size_t i;

	if (n == 0 || n > 20)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (x > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	*v = x;
	return 0;
}

static int
parse_i64(const char *s, size_t n, int64_t *v)
{
	uint64_t u;
	int neg = n > 0 && s[0] == '-';

	if (parse_u64(s + neg, n - neg, &u) == -1 ||
	    u > (uint64_t)INT64_MAX + neg)
		return -1;
	*v = neg ? (int64_t)(0 - u) : (int64_t)u;
	return 0;
}

/*
 * Unquote a path or link target into a new string.  For paths, refuse
 * anything that could leave the tree: empty, ".", ".." components, a
 * leading "/", or NUL bytes.  "." is the root, returned as "".
 */
static int
unquote(const char *s, size_t n, int ispath, char **out, size_t *cap,
    size_t *outlen, const char **why)
{
	char *p;
	size_t i, j, start;

	/* *out, *cap bytes, is reused when it is large enough */
	if (*out == NULL || *cap < n + 1) {
		free(*out);
		*cap = n + 1 < 64 ? 64 : n + 1;
		*out = xmalloc(*cap);
	}
	p = *out;
	if (ispath && n == 1 && s[0] == '.') {
		p[0] = '\0';
		*outlen = 0;
		return 0;
	}
	for (i = j = 0; i < n; i++) {
		if (s[i] == '\0') {
			*why = "NUL byte";
			goto bad;
		}
		if (s[i] != '\\') {
			p[j++] = s[i];
			continue;
		}
		if (i + 1 < n && s[i + 1] == 'n')
			p[j++] = '\n';
		else if (i + 1 < n && s[i + 1] == '\\')
			p[j++] = '\\';
		else {
			*why = "bad backslash escape";
			goto bad;
		}
		i++;
	}
	p[j] = '\0';
	if (ispath) {
		for (start = 0, i = 0; i <= j; i++) {
			if (i < j && p[i] != '/')
				continue;
			if (i == start || (i - start == 1 && p[start] == '.') ||
			    (i - start == 2 && p[start] == '.' && p[start + 1] == '.')) {
				*why = "unsafe path (empty, \".\" or \"..\" component)";
				goto bad;
			}
			start = i + 1;
		}
	}
	*outlen = j;
	return 0;
bad:
	p[0] = '\0';
	*outlen = 0;
	return -1;
}

static char *
dupn(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* ASCII classes without the locale's function calls: this is per byte. */
static int
alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' &&
	    (c | 0x20) <= 'z');
}

static int
hexdigit(unsigned char c)
{
	return ((unsigned)c - '0' < 10) | ((unsigned)(c | 0x20) - 'a' < 6);
}

static int
isfield(const char *f, size_t n, const char *name)
{
	return strlen(name) == n && memcmp(f, name, n) == 0;
}

/*
 * Uname or Gname value v into *np: the previous record's string (*keep)
 * when it is the same, as it mostly is, else a new one.
 */
static void
name_of(char **np, char **keep, const char *v, size_t vlen)
{
	free(*np);
	if (*keep != NULL && strlen(*keep) == vlen &&
	    memcmp(*keep, v, vlen) == 0) {
		*np = *keep;
		*keep = NULL;
	} else
		*np = dupn(v, vlen);
}

static int	parse(const char *, size_t, struct rec *, char *, size_t,
		    char **, char **);

/*
 * The record's path buffer and user and group names are kept for the
 * next record parsed into it: most records of a file have the same
 * names, and allocations were a tenth of the parse.
 */
int
meta_parse(const char *text, size_t len, struct rec *r, char *err, size_t errlen)
{
	char *path = r->pathcap > 0 ? r->path : NULL, *un = r->uname,
	    *gn = r->gname;
	size_t cap = r->pathcap;
	int rv;

	if (path == NULL)
		free(r->path);
	r->path = r->uname = r->gname = NULL;
	rec_free(r);
	r->path = path;
	r->pathcap = path != NULL ? cap : 0;
	rv = parse(text, len, r, err, errlen, &un, &gn);
	free(un);
	free(gn);
	return rv;
}

static int
parse(const char *text, size_t len, struct rec *r, char *err, size_t errlen,
    char **un, char **gn)
{
	const char *line, *end = text + len, *nl, *f, *v, *why = NULL;
	size_t flen, vlen, symcap;
	int havetype = 0, havesize = 0, i, bad;
	unsigned char c;
	uint64_t u;

	nl = memchr(text, '\n', len);
	if (nl == NULL)
		nl = end;
	if (len < 5 || memcmp(text, "File ", 5) != 0) {
		snprintf(err, errlen, "record does not start with \"File \"");
		return -1;
	}
	if (unquote(text + 5, (size_t)(nl - text - 5), 1, &r->path,
	    &r->pathcap, &r->pathlen, &why) == -1) {
		snprintf(err, errlen, "File %.*s: %s",
		    (int)(nl - text - 5 > 200 ? 200 : nl - text - 5), text + 5, why);
		return -1;
	}
	for (line = nl + (nl < end); line < end; line = nl + (nl < end)) {
		if ((nl = memchr(line, '\n', (size_t)(end - line))) == NULL)
			nl = end;
		f = line;
		while (f < nl && *f == ' ')
			f++;
		for (v = f; v < nl && alnum((unsigned char)*v); v++)
			;
		flen = (size_t)(v - f);
		/* like rdiff-backup, lines that are not "Field value" are ignored */
		if (flen == 0 || v >= nl || *v != ' ' || v + 1 >= nl)
			continue;
		v++;
		vlen = (size_t)(nl - v);
		why = "bad number";
		if (isfield(f, flen, "Type")) {
			for (i = 0; i <= RT_SOCK; i++)
				if (isfield(v, vlen, typenames[i]))
					break;
			if (i > RT_SOCK) {
				why = "unknown type";
				goto bad;
			}
			r->type = i;
			havetype = 1;
		} else if (isfield(f, flen, "Size")) {
			if (parse_u64(v, vlen, &r->size) == -1)
				goto bad;
			havesize = 1;
		} else if (isfield(f, flen, "NumHardLinks")) {
			if (parse_u64(v, vlen, &r->nlink) == -1)
				goto bad;
		} else if (isfield(f, flen, "Inode")) {
			if (parse_u64(v, vlen, &r->ino) == -1)
				goto bad;
		} else if (isfield(f, flen, "DeviceLoc")) {
			if (parse_u64(v, vlen, &r->devloc) == -1)
				goto bad;
		} else if (isfield(f, flen, "SHA1Digest")) {
			if (vlen == 4 && memcmp(v, "None", 4) == 0) {
				r->sha1[0] = '\0';
				continue;
			}
			why = "bad SHA1Digest";
			if (vlen != 40)
				goto bad;
			/*
			 * Without a branch per digit (they would mispredict
			 * half the time): all checked at once, lower-cased
			 * by bit 6 (set for letters, clear for digits).
			 */
			for (i = 0, bad = 0; i < 40; i++) {
				c = (unsigned char)v[i];
				bad |= !hexdigit(c);
				r->sha1[i] = (char)(c | (c & 0x40) >> 1);
			}
			if (bad)
				goto bad;
			r->sha1[40] = '\0';
		} else if (isfield(f, flen, "SymData")) {
			free(r->symdata);
			r->symdata = NULL;
			symcap = 0;
			if (unquote(v, vlen, 0, &r->symdata, &symcap, &r->symlen,
			    &why) == -1)
				goto bad;
		} else if (isfield(f, flen, "DeviceNum")) {
			const char *sp1, *sp2;

			why = "bad DeviceNum";
			if (vlen < 5 || (v[0] != 'c' && v[0] != 'b') || v[1] != ' ')
				goto bad;
			sp1 = v + 2;
			if ((sp2 = memchr(sp1, ' ', (size_t)(nl - sp1))) == NULL ||
			    parse_u64(sp1, (size_t)(sp2 - sp1), &r->major) == -1 ||
			    parse_u64(sp2 + 1, (size_t)(nl - sp2 - 1), &r->minor) == -1 ||
			    r->major > UINT32_MAX || r->minor > UINT32_MAX)
				goto bad;
			r->devtype = v[0];
		} else if (isfield(f, flen, "ModTime")) {
			if (parse_i64(v, vlen, &r->mtime) == -1)
				goto bad;
			r->has_mtime = 1;
		} else if (isfield(f, flen, "Uid")) {
			if (parse_u64(v, vlen, &r->uid) == -1 || r->uid > UINT32_MAX)
				goto bad;
		} else if (isfield(f, flen, "Gid")) {
			if (parse_u64(v, vlen, &r->gid) == -1 || r->gid > UINT32_MAX)
				goto bad;
		} else if (isfield(f, flen, "Uname") || isfield(f, flen, "Gname")) {
			char **np = f[0] == 'U' ? &r->uname : &r->gname;

			free(*np);
			*np = NULL;
			if ((vlen == 1 && v[0] == ':') ||
			    (vlen == 4 && memcmp(v, "None", 4) == 0))
				continue;
			name_of(np, f[0] == 'U' ? un : gn, v, vlen);
		} else if (isfield(f, flen, "Permissions")) {
			if (parse_u64(v, vlen, &u) == -1 || u > 07777)
				goto bad;
			r->perms = (unsigned)u;
		} else if (isfield(f, flen, "AlternateMirrorName") ||
		    isfield(f, flen, "AlternateIncrementName")) {
			char **np = flen == 19 ? &r->altmirror : &r->altinc;

			why = "bad alternate name";
			if (parse_u64(v, vlen, &u) == -1)
				goto bad;
			free(*np);
			*np = dupn(v, vlen);
		}
		/* other fields (ResourceFork, CarbonFile, future ones) ignored */
	}
	why = NULL;
	if (!havetype)
		why = "no Type";
	else if (r->type == RT_REG && !havesize)
		why = "no Size";
	else if (r->type == RT_SYM && r->symdata == NULL)
		why = "no SymData";
	else if (r->type == RT_DEV && r->devtype == 0)
		why = "no DeviceNum";
	if (why == NULL)
		return 0;
	line = NULL;
bad:
	if (line != NULL)
		snprintf(err, errlen, "%.*s: %s",
		    (int)(nl - line > 200 ? 200 : nl - line), line, why);
	else
		snprintf(err, errlen, "%s", why);
	return -1;
}

struct meta_reader *
meta_open(struct gzr *in)
{
	struct meta_reader *m;

	m = xcalloc(1, sizeof *m);
	m->in = in;
	return m;
}

const char *
meta_error(struct meta_reader *m)
{
	return m->err;
}

int
meta_next(struct meta_reader *m, struct rec **recp)
{
	unsigned long lines;
	char msg[200];
	int r;

	if (m->ioerr) {
		errno = m->ioerr;
		return -1;
	}
	m->textlen = 0;
	if (m->eof)
		return 0;
	r = gzr_record(m->in, "File ", &m->text, &m->textlen, MAXREC, &lines);
	if (r == -1) {
		m->ioerr = errno;
		m->textlen = 0;
		snprintf(m->err, sizeof m->err, "line %lu: %s",
		    m->lineno + 1, strerror(errno));
		return -1;
	}
	if (r == 0) {
		m->eof = 1;
		return 0;
	}
	m->recline = m->lineno + 1;
	m->lineno += lines;
	if (m->textlen < 5 || memcmp(m->text, "File ", 5) != 0) {
		m->textlen = 0;
		snprintf(m->err, sizeof m->err,
		    "line %lu: text outside a record", m->recline);
		return -1;
	}
	if (meta_parse(m->text, m->textlen, &m->rec, msg, sizeof msg) == -1) {
		snprintf(m->err, sizeof m->err, "record at line %lu: %s",
		    m->recline, msg);
		return -1;
	}
	*recp = &m->rec;
	return 1;
}

const char *
meta_text(struct meta_reader *m, const struct rec *r, size_t *len)
{
	if (r != &m->rec || m->textlen == 0)
		return NULL;
	*len = m->textlen;
	return m->text;
}

int
meta_ioerror(struct meta_reader *m)
{
	return m->ioerr != 0;
}

int
meta_close(struct meta_reader *m)
{
	int rv;

	if (m == NULL)
		return 0;
	rv = gzr_close(m->in);
	rec_free(&m->rec);
	free(m);
	return rv;
}

mode_t
rec_mode(const struct rec *r)
{
	mode_t m = r->perms & 07777;

	switch (r->type) {
	case RT_DIR:
		return m | S_IFDIR;
	case RT_SYM:
		return m | S_IFLNK;
	case RT_FIFO:
		return m | S_IFIFO;
	case RT_SOCK:
		return m | S_IFSOCK;
	case RT_DEV:
		return m | (r->devtype == 'b' ? S_IFBLK : S_IFCHR);
	default:
		return m | S_IFREG;
	}
}

void
rec_changes(const struct rec *a, const struct rec *b, char *buf, size_t len)
{
	static const char *name[] = { "none", "file", "directory", "symlink",
	    "device", "fifo", "socket" };
	int sym = a->type == RT_SYM;

	buf[0] = '\0';
#define ADD(w) snprintf(buf + strlen(buf), len - strlen(buf), "%s%s",	\
	    buf[0] != '\0' ? ", " : "", (w))
	if (a->type != b->type) {
		char w[64];

		snprintf(w, sizeof w, "type %s to %s", name[a->type],
		    name[b->type]);
		ADD(w);
		return;
	}
	if (a->type == RT_REG && (a->size != b->size ||
	    (a->sha1[0] && b->sha1[0] && strcmp(a->sha1, b->sha1) != 0)))
		ADD("content");
	if (sym && (a->symlen != b->symlen || memcmp(a->symdata, b->symdata,
	    a->symlen) != 0))
		ADD("target");
	if (a->type == RT_DEV && (a->devtype != b->devtype ||
	    a->major != b->major || a->minor != b->minor))
		ADD("device");
	if (a->perms != b->perms)
		ADD("mode");
	if (!sym && (a->uid != b->uid || a->gid != b->gid ||
	    (a->uname && b->uname && strcmp(a->uname, b->uname) != 0) ||
	    (a->gname && b->gname && strcmp(a->gname, b->gname) != 0)))
		ADD("owner");
	if (a->has_mtime && b->has_mtime && a->mtime != b->mtime)
		ADD("mtime");
	if (a->type == RT_REG && (a->nlink > 1 || b->nlink > 1) &&
	    (a->ino != b->ino || a->devloc != b->devloc))
		ADD("links");
#undef ADD
}
