/*
 * Writing a file front to back, leaving holes where the data is zero:
 * what copies and rebuilt versions are written through.
 */
#ifndef SPARSE_H
#define SPARSE_H

#include <sys/types.h>
#include <stddef.h>

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
