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
 * to only hash.  Holes of the input (SEEK_HOLE) are not read and stay
 * holes, as do all-zero stretches.  Returns 0 or -1 with errno set; *werr
 * tells whether the failure was on the write side (1) or the read side.
 */
int	copy_fd(int, int, struct sigmaker *, struct copyres *, int *);
void	sha1_hex(struct sha1_ctx *, char *);

/* Writing a file front to back, leaving holes where the data is zero. */
struct sparse {
	int	fd;
	off_t	pos;		/* where the next byte goes */
	off_t	written;	/* end of the last real write */
};

void	sparse_init(struct sparse *, int);
int	sparse_write(struct sparse *, const void *, size_t);
/* Set the final size (a trailing hole); 0 or -1. */
int	sparse_finish(struct sparse *);

#endif
