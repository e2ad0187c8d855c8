/*
 * Copying file data the way a backup wants it: one pass that writes the
 * copy (sparse: all-zero blocks become holes), computes its SHA-1 and
 * optionally feeds a librsync signature.
 */
#ifndef COPY_H
#define COPY_H

#include <stdint.h>
#include <nettle/sha1.h>

struct sigmaker;

struct copyres {
	uint64_t	bytes;
	char		sha1[41];	/* lowercase hex */
};

/*
 * Copy infd (from its offset to end of file) to outfd, which may be -1
 * to only hash.  Returns 0 or -1 with errno set; *werr tells whether the
 * failure was on the write side (1) or the read side (0).
 */
int	copy_fd(int, int, struct sigmaker *, struct copyres *, int *);
void	sha1_hex(struct sha1_ctx *, char *);

#endif
