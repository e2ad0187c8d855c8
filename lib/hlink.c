#include <stdlib.h>

#include "hlink.h"
#include "meta.h"
#include "xalloc.h"

static size_t
bucket(const struct hlinks *t, uint64_t dev, uint64_t ino)
{
	return (size_t)((ino * 0x9e3779b97f4a7c15ULL ^ dev) >> 20) & (t->nb - 1);
}

struct hlink *
hl_find(const struct hlinks *t, uint64_t dev, uint64_t ino)
{
	struct hlink *h;

	if (t->nb == 0)
		return NULL;
	for (h = t->b[bucket(t, dev, ino)]; h != NULL; h = h->next)
		if (h->dev == dev && h->ino == ino)
			return h;
	return NULL;
}

/*
 * Twice the buckets, once there are twice as many groups as buckets;
 * 256 for the first group.
 */
static void
grow(struct hlinks *t)
{
	struct hlink **old = t->b, *h, *next;
	size_t i, oldn = t->nb, k;

	t->nb = oldn ? oldn * 2 : 256;
	t->b = xcalloc(t->nb, sizeof *t->b);
	for (i = 0; i < oldn; i++)
		for (h = old[i]; h != NULL; h = next) {
			next = h->next;
			k = bucket(t, h->dev, h->ino);
			h->next = t->b[k];
			t->b[k] = h;
		}
	free(old);
}

struct hlink *
hl_get(struct hlinks *t, uint64_t dev, uint64_t ino)
{
	struct hlink *h;
	size_t k;

	if ((h = hl_find(t, dev, ino)) != NULL)
		return h;
	if (t->nb == 0 || t->n >= t->nb * 2)
		grow(t);
	h = xcalloc(1, sizeof *h);
	h->dev = dev;
	h->ino = ino;
	k = bucket(t, dev, ino);
	h->next = t->b[k];
	t->b[k] = h;
	t->n++;
	return h;
}

void
hl_free(struct hlinks *t)
{
	struct hlink *h, *next;
	size_t i;

	for (i = 0; i < t->nb; i++)
		for (h = t->b[i]; h != NULL; h = next) {
			next = h->next;
			free(h->path);
			free(h->sha1);
			free(h);
		}
	free(t->b);
	t->b = NULL;
	t->nb = t->n = 0;
}

struct hlink *
hl_join(struct hlinks *t, uint64_t dev, uint64_t ino, const char *sha1)
{
	struct hlink *h = hl_get(t, dev, ino);

	if (h->sha1 == NULL)
		h->sha1 = xstrdup(sha1);
	return h;
}

const char *
hl_digest(struct hlinks *h, const struct rec *r)
{
	struct hlink *l;

	if (r->nlink <= 1)
		return r->sha1;
	l = hl_join(h, r->devloc, r->ino, r->sha1[0] ? r->sha1 : NULL);
	return r->sha1[0] ? r->sha1 : l->sha1 ? l->sha1 : "";
}
