#include <stdlib.h>
#include <string.h>

#include "dirstack.h"
#include "pathname.h"
#include "xalloc.h"

void *
ds_push(struct dirstack *s, const char *path, size_t len)
{
	struct dirframe *f;

	if (s->depth == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 32;
		s->frames = xreallocarray(s->frames, s->cap, s->size);
	}
	f = (struct dirframe *)(s->frames + s->depth++ * s->size);
	memset(f, 0, s->size);
	if (path != NULL) {
		f->path = xmalloc(len + 1);
		memcpy(f->path, path, len);
		f->path[len] = '\0';
		f->len = len;
	}
	return f;
}

void *
ds_at(const struct dirstack *s, size_t i)
{
	return i < s->depth ? s->frames + i * s->size : NULL;
}

void *
ds_top(const struct dirstack *s)
{
	return s->depth ? s->frames + (s->depth - 1) * s->size : NULL;
}

void *
ds_leaving(const struct dirstack *s, const char *path, size_t len,
    size_t keep)
{
	struct dirframe *f;

	if (s->depth <= keep)
		return NULL;
	f = ds_top(s);
	if (f->path == NULL || path_below(path, len, f->path, f->len))
		return NULL;
	return f;
}

void
ds_drop(struct dirstack *s)
{
	struct dirframe *f = ds_top(s);

	free(f->path);
	s->depth--;
}

void
ds_free(struct dirstack *s)
{
	free(s->frames);
	s->frames = NULL;
	s->depth = s->cap = 0;
}
