#include <err.h>
#include <pthread.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exitcode.h"
#include "xalloc.h"

int
size_add(size_t *r, size_t a, size_t b)
{
	if (a > SIZE_MAX - b) {
		errno = EOVERFLOW;
		return -1;
	}
	*r = a + b;
	return 0;
}

int
size_mul(size_t *r, size_t a, size_t b)
{
	if (b != 0 && a > SIZE_MAX / b) {
		errno = EOVERFLOW;
		return -1;
	}
	*r = a * b;
	return 0;
}

void *
xmalloc(size_t n)
{
	void *p;

	if ((p = malloc(n ? n : 1)) == NULL)
		err(EXIT_TEMP, "malloc %zu bytes", n);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p;

	if ((p = calloc(n ? n : 1, size ? size : 1)) == NULL)
		err(EXIT_TEMP, "calloc %zu x %zu bytes", n, size);
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n ? n : 1)) == NULL)
		err(EXIT_TEMP, "realloc %zu bytes", n);
	return p;
}

void *
xreallocarray(void *p, size_t n, size_t size)
{
	size_t total;

	if (size_mul(&total, n, size) == -1)
		errx(EXIT_TEMP, "reallocarray %zu x %zu bytes: overflow", n, size);
	return xrealloc(p, total);
}

char *
xstrdup(const char *s)
{
	return xmemdup(s, strlen(s) + 1);
}

char *
xmemdup(const void *s, size_t n)
{
	char *p;

	p = xmalloc(n);
	memcpy(p, s, n);
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char *p;

	if (n == SIZE_MAX)
		abort();
	p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

#define NKEEP	16

static struct {
	void	*p;
	size_t	 n;
} kept[NKEEP];
static pthread_mutex_t kept_mu = PTHREAD_MUTEX_INITIALIZER;

void *
xbuf_get(size_t n)
{
	void *p = NULL;
	int i;

	pthread_mutex_lock(&kept_mu);
	for (i = 0; i < NKEEP; i++)
		if (kept[i].p != NULL && kept[i].n == n) {
			p = kept[i].p;
			kept[i].p = NULL;
			break;
		}
	pthread_mutex_unlock(&kept_mu);
	return p != NULL ? p : xmalloc(n);
}

void
xbuf_put(void *p, size_t n)
{
	int i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&kept_mu);
	for (i = 0; i < NKEEP; i++)
		if (kept[i].p == NULL) {
			kept[i].p = p;
			kept[i].n = n;
			p = NULL;
			break;
		}
	pthread_mutex_unlock(&kept_mu);
	free(p);
}
