/*
 * Copying file data the way a backup wants it: one pass that writes the
 * copy (sparse: all-zero blocks become holes), computes its SHA-1 and
 * optionally hands every byte to a tap (a librsync signature).
 */
#ifndef COPY_H
#define COPY_H

#include <sys/types.h>

#include <stdint.h>
#include <nettle/sha1.h>

struct copyres {
	uint64_t	bytes;
	char		sha1[41];	/* lowercase hex */
};

/* Called with every byte copy_fd reads (holes as zeros); 0 or -1. */
typedef int	 copy_tap(void *, const void *, size_t);

/*
 * Copy infd (from its offset to end of file) to outfd, which may be -1
 * to only hash, handing the bytes to tap(arg, ...) when tap is not NULL.
 * Holes of the input (SEEK_HOLE) are not read and stay holes, as do
 * all-zero stretches.  Returns 0 or -1 with errno set; *werr tells
 * whether the failure was on the write side (a failing tap included) or
 * the read side.  Reads into a static buffer: one thread only.
 */
int	copy_fd(int, int, copy_tap *, void *, struct copyres *, int *);
void	sha1_hex(struct sha1_ctx *, char *);

/*
 * What copy_fd computes, for bytes that come some other way (a patch's
 * tap, delta.h): hashtap_init, hashtap(t, p, n) for each piece, then
 * hashtap_end fills the copyres (or, with NULL, only frees: call it on
 * every path).  With progress, the bytes are also counted in
 * progress_add, as copy_fd counts them.  hashtap_thread moves the
 * hashing to a thread of its own, the bytes copied to it: for large
 * files, so that SHA-1 runs beside the writing (stays inline if no
 * thread can be made).
 */
struct hashq;

/* Below this many bytes a thread costs more than it saves. */
#define HASH_THREAD_MIN	((off_t)4 << 20)

struct hashtap {
	struct sha1_ctx	 c;
	uint64_t	 bytes;
	int		 progress;
	struct hashq	*q;
};

void	hashtap_init(struct hashtap *, int);
void	hashtap_thread(struct hashtap *);
void	hashtap(void *, const void *, size_t);
void	hashtap_end(struct hashtap *, struct copyres *);

#endif
