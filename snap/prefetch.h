/*
 * Reading ahead of snap: a few threads open the files snap will copy
 * next and read them into the page cache, so that a high-latency source
 * (a remote mount) has several files in flight while snap works through
 * them in order.  Memory stays bounded: a fixed queue, small stacks, and
 * only files up to PREFETCH_MAX bytes (larger ones stream on their own).
 */
#ifndef PREFETCH_H
#define PREFETCH_H

#define PREFETCH_MAX	(16 << 20)

void	prefetch_start(int);
/* Queue dirfd/name (the descriptor is duplicated); dropped when full. */
void	prefetch_file(int, const char *);
void	prefetch_stop(void);

#endif
