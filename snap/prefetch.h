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

#include <sys/stat.h>
#include <stdint.h>

struct walk;
struct walk_ent;

void	prefetch_start(int);
/*
 * A mount-remote source lists (with the targets of symlinks changed
 * since the time given) and fetches on the scout's hints: 1.
 */
int	prefetch_hints(const char *, int64_t);
/* Has prefetch_hints succeeded? */
int	prefetch_hinting(void);
/* Queue dirfd/name (the descriptor is duplicated); dropped when full. */
void	prefetch_file(int, const char *);
/*
 * Start the scout over src: keep() says which entries snap backs up
 * (directories it refuses are not entered); files that want() says snap
 * will read are queued ahead.  1 when it runs.  snap calls
 * prefetch_passed for each wanted file it reaches (by the same want()),
 * which lets the scout go on.
 */
int	prefetch_scout(const char *, int (*)(struct walk_ent *, void *),
	    int (*)(struct walk_ent *, void *), void *);
void	prefetch_passed(const struct stat *);
/*
 * With a hinting mount, the scout's walk as snap's (a walk feed): NULL
 * when there is none.
 */
struct walk	*prefetch_feed(void);
/* Did the scout pass over the directory the feed gave last?  (0: no feed) */
int	prefetch_fed_skipped(void);
void	prefetch_stop(void);

#endif
