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
	off_t	started;	/* written back from here on: not asked yet */
};

void	sparse_init(struct sparse *, int);
int	sparse_write(struct sparse *, const void *, size_t);
/* Set the final size (a trailing hole); 0 or -1. */
int	sparse_finish(struct sparse *);
/*
 * Write p[0..n) at off over what the file holds there; zeros that
 * sparse_write would skip become a hole (punched), where the file
 * system can make one.  0 or -1.
 */
int	sparse_pwrite(int, const void *, size_t, off_t);
/*
 * With 1, every later sparse writer asks the kernel to start writing
 * back what it wrote every few MiB: for a process that syncs all it
 * wrote at the end, so that the disk works while it computes.
 */
void	sparse_writeback(int);

#endif
