#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idmap.h"
#include "xalloc.h"

#define NCACHE	64

struct rule {
	char		*name;		/* NULL: a rule for the number */
	uint64_t	 id;
	uint64_t	 to;
	int		 group;
};

struct idmap {
	int		 numeric;
	struct rule	*r;
	size_t		 n;
	struct {
		char		*name;
		int		 group;
		uint64_t	 id;	/* IDMAP_NONE: no such local name */
	} cache[NCACHE];
	size_t		 next;
};

struct idmap *
idmap_new(int numeric)
{
	struct idmap *m = xcalloc(1, sizeof *m);

	m->numeric = numeric;
	return m;
}

/* The id of a local name, cached: names repeat on nearly every record. */
static uint64_t
local(struct idmap *m, const char *name, int group)
{
	struct passwd *pw;
	struct group *gr;
	size_t i;

	for (i = 0; i < NCACHE; i++)
		if (m->cache[i].name != NULL && m->cache[i].group == group &&
		    strcmp(m->cache[i].name, name) == 0)
			return m->cache[i].id;
	i = m->next++ % NCACHE;
	free(m->cache[i].name);
	m->cache[i].name = xstrdup(name);
	m->cache[i].group = group;
	m->cache[i].id = IDMAP_NONE;
	if (group && (gr = getgrnam(name)) != NULL)
		m->cache[i].id = gr->gr_gid;
	else if (!group && (pw = getpwnam(name)) != NULL)
		m->cache[i].id = pw->pw_uid;
	return m->cache[i].id;
}

/* A decimal number below 2^32 - 1: 0 with *v, else -1. */
static int
number(const char *s, uint64_t *v)
{
	char *end;
	unsigned long long n;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || n >= UINT32_MAX)
		return -1;
	*v = n;
	return 0;
}

/* s without blanks at both ends, in place. */
static char *
trim(char *s)
{
	char *e = s + strlen(s);

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
	    e[-1] == '\n'))
		*--e = '\0';
	return s;
}

int
idmap_load(struct idmap *m, const char *path, int group, size_t *line)
{
	FILE *f;
	char *buf = NULL, *s, *colon;
	size_t cap = 0;
	struct rule r;
	int saved = 0;

	*line = 0;
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	while (getline(&buf, &cap, f) != -1) {
		++*line;
		s = trim(buf);
		if (*s == '\0')
			continue;
		if ((colon = strchr(s, ':')) == NULL ||
		    strchr(colon + 1, ':') != NULL) {
			saved = EINVAL;
			break;
		}
		*colon = '\0';
		memset(&r, 0, sizeof r);
		r.group = group;
		if (*trim(s) == '\0' || *trim(colon + 1) == '\0') {
			saved = EINVAL;
			break;
		}
		if (number(trim(s), &r.id) == -1)
			r.name = xstrdup(trim(s));
		if (number(trim(colon + 1), &r.to) == -1 &&
		    (r.to = local(m, trim(colon + 1), group)) == IDMAP_NONE) {
			free(r.name);
			saved = EINVAL;
			break;
		}
		m->r = xreallocarray(m->r, m->n + 1, sizeof *m->r);
		m->r[m->n++] = r;
	}
	if (saved == 0 && ferror(f))
		saved = errno;
	else if (saved == 0)
		*line = 0;
	free(buf);
	fclose(f);
	errno = saved;
	return saved ? -1 : 0;
}

int
idmap_get(struct idmap *m, const char *name, uint64_t id, int group,
    uint64_t *out)
{
	size_t i;

	if (!m->numeric && name != NULL) {
		for (i = 0; i < m->n; i++)
			if (m->r[i].group == group && m->r[i].name != NULL &&
			    strcmp(m->r[i].name, name) == 0) {
				*out = m->r[i].to;
				return 0;
			}
		if ((*out = local(m, name, group)) != IDMAP_NONE)
			return 0;
	}
	if (id == IDMAP_NONE)
		return -1;
	for (i = 0; !m->numeric && i < m->n; i++)
		if (m->r[i].group == group && m->r[i].name == NULL &&
		    m->r[i].id == id) {
			*out = m->r[i].to;
			return 0;
		}
	*out = id;
	return 0;
}

void
idmap_free(struct idmap *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n; i++)
		free(m->r[i].name);
	for (i = 0; i < NCACHE; i++)
		free(m->cache[i].name);
	free(m->r);
	free(m);
}
