/*
 * Allocation wrappers that end the program with EXIT_TEMP on failure.
 * They are the only functions in lib/ that may exit; everything else
 * returns -1 and sets errno.
 */
#ifndef XALLOC_H
#define XALLOC_H

#include <stddef.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xmemdup(const void *, size_t);
/* The first n bytes of s (no NUL among them) as a string. */
char	*xstrndup(const char *, size_t);

/*
 * Large scratch buffers, kept for reuse after xbuf_put: a few per size,
 * so the 64 KiB buffers of every copy, delta and gzip stream are not
 * mapped and unmapped again for each of thousands of small files.
 * Thread-safe.
 */
void	*xbuf_get(size_t);
void	 xbuf_put(void *, size_t);

/* Overflow-checked size arithmetic: 0 on success, -1 (errno EOVERFLOW). */
int	size_add(size_t *, size_t, size_t);
int	size_mul(size_t *, size_t, size_t);

#endif
