#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "earec.h"
#include "gz.h"
#include "idmap.h"
#include "meta.h"
#include "node.h"
#include "repo.h"
#include "xalloc.h"

#define MAXLINE	(1 << 20)	/* a 64 KiB value is 87,384 base64 bytes */

/* A growing string. */
struct str {
	char	*s;
	size_t	 len, cap;
};

static void
add(struct str *b, const char *p, size_t n)
{
	if (b->cap - b->len <= n) {
		/* xreallocarray dies on a size that overflows */
		b->s = xreallocarray(b->s, 2, b->cap + n / 2 + 32);
		b->cap = 2 * (b->cap + n / 2 + 32);
	}
	memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void
adds(struct str *b, const char *s)
{
	add(b, s, strlen(s));
}

/* getfacl quotes whitespace, controls, "=", "\\" and bytes >= 0x7f. */
static int
needs_quote(unsigned char c)
{
	return c <= 0x20 || c == '=' || c == '\\' || c >= 0x7f;
}

char *
acl_quote(const char *s, size_t len)
{
	struct str b = { NULL, 0, 0 };
	char oct[5];
	size_t i;

	add(&b, "", 0);
	for (i = 0; i < len; i++)
		if (needs_quote((unsigned char)s[i])) {
			snprintf(oct, sizeof oct, "\\%03o", (unsigned char)s[i]);
			add(&b, oct, 4);
		} else
			add(&b, s + i, 1);
	return b.s;
}

static int
isoct(char c)
{
	return c >= '0' && c <= '7';
}

char *
acl_unquote(const char *s, size_t *len)
{
	size_t n = strlen(s), i, j;
	char *d = xmalloc(n + 1);

	for (i = j = 0; i < n; i++)
		if (s[i] == '\\' && i + 3 < n + 1 && isoct(s[i + 1]) &&
		    isoct(s[i + 2]) && isoct(s[i + 3])) {
			d[j++] = (char)(((s[i + 1] - '0') << 6 |
			    (s[i + 2] - '0') << 3 | (s[i + 3] - '0')) & 0xff);
			i += 3;
		} else
			d[j++] = s[i];
	d[j] = '\0';
	*len = j;
	return d;
}

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void
add_base64(struct str *b, const unsigned char *p, size_t n)
{
	char q[4];
	uint32_t v;
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		q[0] = b64[v >> 18];
		q[1] = b64[(v >> 12) & 63];
		q[2] = b64[(v >> 6) & 63];
		q[3] = b64[v & 63];
		add(b, q, 4);
	}
	if (i < n) {
		v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
		q[0] = b64[v >> 18];
		q[1] = b64[(v >> 12) & 63];
		q[2] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		q[3] = '=';
		add(b, q, 4);
	}
}

static int
b64val(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;

	return p ? (int)(p - b64) : -1;
}

/* Decode s[0..n) (padded base64) into a new buffer: -1 when malformed. */
static int
base64_decode(const char *s, size_t n, unsigned char **out, size_t *outlen)
{
	unsigned char *d;
	size_t i, j = 0, pad = 0;
	int v[4], k;

	if (n % 4 != 0)
		return -1;
	if (n > 0 && s[n - 1] == '=')
		pad = n > 1 && s[n - 2] == '=' ? 2 : 1;
	d = xmalloc(n / 4 * 3 + 1);
	for (i = 0; i < n; i += 4) {
		for (k = 0; k < 4; k++) {
			v[k] = b64val(s[i + k]);
			if (v[k] == -1 && !(i + 4 == n && k >= 4 - (int)pad)) {
				free(d);
				return -1;
			}
			if (v[k] == -1)
				v[k] = 0;
		}
		d[j++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		d[j++] = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
		d[j++] = (unsigned char)((v[2] & 3) << 6 | v[3]);
	}
	*outlen = j - pad;
	*out = d;
	return 0;
}

/* "# file: <path>\n", the root as ".". */
static void
add_head(struct str *b, const char *path)
{
	char *q;

	adds(b, "# file: ");
	if (path[0] == '\0')
		adds(b, ".");
	else {
		q = acl_quote(path, strlen(path));
		adds(b, q);
		free(q);
	}
	adds(b, "\n");
}

char *
ea_record(const char *path, const struct xattrs *x)
{
	struct str b = { NULL, 0, 0 };
	const struct xattr *v;
	char *q;
	size_t i;
	int any = 0;

	for (i = 0; i < x->n; i++) {
		v = &x->a[i];
		if (strncmp(v->name, "system.", 7) == 0)
			continue;
		if (!any++)
			add_head(&b, path);
		q = acl_quote(v->name, strlen(v->name));
		if (v->len == 0 && strcmp(q, v->name) == 0)
			adds(&b, v->name);
		else {
			adds(&b, q);
			adds(&b, "=0s");
			add_base64(&b, v->val, v->len);
		}
		adds(&b, "\n");
		free(q);
	}
	return b.s;
}

/* The next line of body[0..len) from *pos, ASCII blanks trimmed. */
static int
next_line(const char *body, size_t len, size_t *pos, const char **line,
    size_t *n)
{
	const char *p, *e, *nl;

	while (*pos < len) {
		p = body + *pos;
		nl = memchr(p, '\n', len - *pos);
		e = nl ? nl : body + len;
		*pos = (size_t)(e - body) + (nl != NULL);
		while (p < e && (*p == ' ' || *p == '\t' || *p == '\r'))
			p++;
		while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
			e--;
		if (e > p) {
			*line = p;
			*n = (size_t)(e - p);
			return 1;
		}
	}
	return 0;
}

int
ea_parse(const char *body, size_t len, struct xattrs *x)
{
	const char *line, *eq;
	unsigned char *val;
	size_t pos = 0, n, vlen, nlen;
	char *name, *raw;

	x->a = NULL;
	x->n = 0;
	while (next_line(body, len, &pos, &line, &n)) {
		if (line[0] == '#')
			goto bad;
		if ((eq = memchr(line, '=', n)) == NULL) {
			name = xmalloc(n + 1);
			memcpy(name, line, n);
			name[n] = '\0';
			xattrs_put(x, name, "", 0);
			free(name);
			continue;
		}
		if ((size_t)(line + n - eq) < 3 || eq[1] != '0' || eq[2] != 's')
			goto bad;
		if (base64_decode(eq + 3, (size_t)(line + n - eq - 3), &val,
		    &vlen) == -1)
			goto bad;
		raw = xmalloc((size_t)(eq - line) + 1);
		memcpy(raw, line, (size_t)(eq - line));
		raw[eq - line] = '\0';
		name = acl_unquote(raw, &nlen);
		free(raw);
		if (nlen == 0 || strlen(name) != nlen) {
			free(name);
			free(val);
			goto bad;
		}
		xattrs_put(x, name, val, vlen);
		free(name);
		free(val);
	}
	return 0;
bad:
	xattrs_free(x);
	errno = EINVAL;
	return -1;
}

static void
add_perm(struct str *b, unsigned perm)
{
	char p[4];

	p[0] = perm & 4 ? 'r' : '-';
	p[1] = perm & 2 ? 'w' : '-';
	p[2] = perm & 1 ? 'x' : '-';
	p[3] = '\0';
	adds(b, p);
}

static void
add_entry(struct str *b, const char *prefix, const struct aclent *e,
    acl_namefn namefn)
{
	const char *name = NULL;
	char num[16], *q;

	adds(b, prefix);
	switch (e->tag) {
	case ACLT_USER_OBJ:
	case ACLT_USER:
		adds(b, "user:");
		break;
	case ACLT_GROUP_OBJ:
	case ACLT_GROUP:
		adds(b, "group:");
		break;
	case ACLT_MASK:
		adds(b, "mask:");
		break;
	default:
		adds(b, "other:");
		break;
	}
	if (e->tag == ACLT_USER || e->tag == ACLT_GROUP) {
		if (namefn != NULL)
			name = namefn(e->id, e->tag == ACLT_GROUP);
		if (name != NULL) {
			q = acl_quote(name, strlen(name));
			adds(b, q);
			free(q);
		} else {
			snprintf(num, sizeof num, "%lu", (unsigned long)e->id);
			adds(b, num);
		}
	}
	adds(b, ":");
	add_perm(b, e->perm);
	adds(b, "\n");
}

char *
acl_record(const char *path, const struct acl *a, const struct acl *d,
    unsigned mode, acl_namefn namefn)
{
	struct str b = { NULL, 0, 0 };
	struct aclent base[3] = {
		{ ACLT_USER_OBJ, 0, UINT32_MAX },
		{ ACLT_GROUP_OBJ, 0, UINT32_MAX },
		{ ACLT_OTHER, 0, UINT32_MAX },
	};
	size_t i;

	if ((a == NULL || a->n <= 3) && (d == NULL || d->n == 0))
		return NULL;
	add_head(&b, path);
	if (a == NULL || a->n <= 3) {
		base[0].perm = (mode >> 6) & 7;
		base[1].perm = (mode >> 3) & 7;
		base[2].perm = mode & 7;
		for (i = 0; i < 3; i++)
			add_entry(&b, "", &base[i], namefn);
	} else
		for (i = 0; i < a->n; i++)
			add_entry(&b, "", &a->e[i], namefn);
	for (i = 0; d != NULL && i < d->n; i++)
		add_entry(&b, "default:", &d->e[i], namefn);
	return b.s;
}

/* One ACL text line (comment and blanks gone) into a or d. */
static int
parse_entry(const char *line, size_t n, struct idmap *ids, struct acl *a,
    struct acl *d, size_t *dropped)
{
	char *s = xmalloc(n + 1), *f[3], *p, *q, *name;
	struct acl *to = a;
	struct aclent e;
	unsigned long v;
	size_t k, nlen;
	uint64_t id;
	int rv = -1;

	memcpy(s, line, n);
	s[n] = '\0';
	p = s;
	if (strncmp(p, "default:", 8) == 0 || strncmp(p, "d:", 2) == 0) {
		to = d;
		p = strchr(p, ':') + 1;
	}
	for (k = 0; k < 3; k++) {
		f[k] = p;
		if ((q = strchr(p, ':')) == NULL)
			break;
		*q = '\0';
		p = q + 1;
	}
	if (k != 2)
		goto out;
	if (strlen(f[2]) > 3)
		goto out;
	e.perm = 0;
	for (q = f[2]; *q; q++)
		if (*q == 'r')
			e.perm |= 4;
		else if (*q == 'w')
			e.perm |= 2;
		else if (*q == 'x')
			e.perm |= 1;
		else if (*q != '-')
			goto out;
	e.id = UINT32_MAX;
	if (!strcmp(f[0], "user") || !strcmp(f[0], "u"))
		e.tag = f[1][0] ? ACLT_USER : ACLT_USER_OBJ;
	else if (!strcmp(f[0], "group") || !strcmp(f[0], "g"))
		e.tag = f[1][0] ? ACLT_GROUP : ACLT_GROUP_OBJ;
	else if (!strcmp(f[0], "mask") || !strcmp(f[0], "m"))
		e.tag = ACLT_MASK;
	else if (!strcmp(f[0], "other") || !strcmp(f[0], "o"))
		e.tag = ACLT_OTHER;
	else
		goto out;
	if ((e.tag == ACLT_MASK || e.tag == ACLT_OTHER) && f[1][0])
		goto out;
	if (e.tag == ACLT_USER || e.tag == ACLT_GROUP) {
		name = acl_unquote(f[1], &nlen);
		if (strspn(name, "0123456789") == nlen && nlen < 11) {
			v = strtoul(name, NULL, 10);
			if (v > UINT32_MAX - 1) {
				free(name);
				goto out;
			}
			e.id = (uint32_t)v;
			if (ids != NULL && idmap_get(ids, NULL, e.id,
			    e.tag == ACLT_GROUP, &id) == 0)
				e.id = (uint32_t)id;
		} else if (ids != NULL && strlen(name) == nlen &&
		    idmap_get(ids, name, IDMAP_NONE, e.tag == ACLT_GROUP,
		    &id) == 0 && id < UINT32_MAX)
			e.id = (uint32_t)id;
		else {
			(*dropped)++;
			free(name);
			rv = 0;
			goto out;
		}
		free(name);
	}
	to->e = xreallocarray(to->e, to->n + 1, sizeof *to->e);
	to->e[to->n++] = e;
	rv = 0;
out:
	free(s);
	return rv;
}

int
acl_parse(const char *body, size_t len, struct idmap *ids, struct acl *a,
    struct acl *d, size_t *dropped)
{
	const char *line, *hash;
	size_t pos = 0, n;

	a->e = d->e = NULL;
	a->n = d->n = 0;
	while (next_line(body, len, &pos, &line, &n)) {
		if ((hash = memchr(line, '#', n)) != NULL) {
			n = (size_t)(hash - line);
			while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
				n--;
			if (n == 0)
				continue;
		}
		if (parse_entry(line, n, ids, a, d, dropped) == -1)
			goto bad;
	}
	if (a->n == 0 || acl_check(a) == -1 || (d->n > 0 && acl_check(d) == -1))
		goto bad;
	return 0;
bad:
	acl_free(a);
	acl_free(d);
	errno = EINVAL;
	return -1;
}

struct recfile {
	struct gzr	*in;
	struct str	 path, body;
	char		*next;		/* the next "# file:" line, or NULL */
	int		 started, eof;
	int		 returned;	/* body was handed out: clear it */
	int		 have;		/* recfile_find holds a record */
	const char	*hpath, *hbody;
	size_t		 hlen;
};

struct recfile *
recfile_open(struct gzr *in)
{
	struct recfile *f = xcalloc(1, sizeof *f);

	f->in = in;
	return f;
}

struct recfile *
recfile_at(int datafd, const char *prefix, int64_t t, char **name)
{
	struct gzr *in;
	size_t n;
	int fd, saved;

	if ((*name = stamped_find(datafd, prefix, t, INC_SNAPSHOT)) == NULL) {
		saved = errno;
		*name = xstrdup(prefix);
		errno = saved;
		return NULL;
	}
	n = strlen(*name);
	fd = openat(datafd, *name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 || (in = gzr_open(fd, n > 3 &&
	    strcmp(*name + n - 3, ".gz") == 0)) == NULL) {
		saved = errno;
		if (fd != -1)
			close(fd);
		errno = saved;
		return NULL;
	}
	return recfile_open(in);
}

int
recfile_next(struct recfile *f, const char **path, const char **body,
    size_t *bodylen)
{
	char *line, *p;
	size_t len, plen;
	int r;

	if (f->returned) {
		f->body.len = 0;
		f->returned = 0;
	}
	for (;;) {
		if (f->eof)
			r = 0;
		else if ((r = gzr_line(f->in, &line, &len, MAXLINE)) == -1)
			return -1;
		if (r == 0)
			f->eof = 1;
		if (r == 1 && !f->started && len == 0)
			continue;
		if (r == 0 || (len >= 8 && memcmp(line, "# file: ", 8) == 0)) {
			if (f->next == NULL && !f->started) {
				if (r == 0)
					return 0;
				f->started = 1;
				f->next = xstrdup(line + 8);
				f->body.len = 0;
				continue;
			}
			if (f->next == NULL)
				return 0;
			/* the record in f->next and f->body is complete */
			free(f->path.s);
			f->path.s = NULL;
			f->path.len = f->path.cap = 0;
			if (strcmp(f->next, ".") == 0)
				p = xstrdup("");
			else
				p = acl_unquote(f->next, &plen);
			add(&f->path, "", 0);
			adds(&f->path, p);
			free(p);
			free(f->next);
			f->next = r == 1 ? xstrdup(line + 8) : NULL;
			*path = f->path.s;
			add(&f->body, "", 0);
			*body = f->body.s;
			*bodylen = f->body.len;
			f->returned = 1;
			return 1;
		}
		if (!f->started) {
			errno = EINVAL;
			return -1;
		}
		add(&f->body, line, len);
		add(&f->body, "\n", 1);
	}
}

int
recfile_find(struct recfile *f, const char *path, size_t len,
    const char **body, size_t *bodylen)
{
	int r, c;

	for (;;) {
		if (f->have) {
			c = pathcmp(f->hpath, strlen(f->hpath), path, len);
			if (c == 0) {
				*body = f->hbody;
				*bodylen = f->hlen;
				return 1;
			}
			if (c > 0)
				return 0;
			f->have = 0;
		}
		if ((r = recfile_next(f, &f->hpath, &f->hbody, &f->hlen)) != 1)
			return r;
		f->have = 1;
	}
}

int
earec_ext(struct recfile *ea, struct recfile *acl, const struct rec *r,
    struct idmap *ids, struct nodeext **ext, size_t *damaged,
    size_t *dropped)
{
	struct nodeext *x;
	const char *body;
	size_t len;
	int rv;

	*ext = NULL;
	if (ea == NULL && acl == NULL)
		return 0;
	x = nodeext_new();
	/* rdiff-backup records no xattrs of FIFOs and sockets */
	if (ea != NULL && r->type != RT_FIFO && r->type != RT_SOCK) {
		if ((rv = recfile_find(ea, r->path, r->pathlen, &body,
		    &len)) == -1)
			goto fail;
		if (rv == 1 && ea_parse(body, len, &x->x) == -1)
			++*damaged;
		else
			x->eas = 1;
	}
	/* ... and no ACLs of symlinks */
	if (acl != NULL && r->type != RT_SYM) {
		if ((rv = recfile_find(acl, r->path, r->pathlen, &body,
		    &len)) == -1)
			goto fail;
		if (rv == 1 && acl_parse(body, len, ids, &x->acl, &x->dacl,
		    dropped) == -1)
			++*damaged;
		else
			x->acls = 1;
	}
	*ext = x;
	return 0;
fail:
	rv = errno;
	nodeext_free(x);
	errno = rv;
	return -1;
}

int
recfile_close(struct recfile *f)
{
	int rv;

	if (f == NULL)
		return 0;
	rv = gzr_close(f->in);
	free(f->path.s);
	free(f->body.s);
	free(f->next);
	free(f);
	return rv;
}
