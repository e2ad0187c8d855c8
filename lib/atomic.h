/*
 * Atomic file replacement: data goes to "<name>.tmp" in the same
 * directory, is fsync'ed, renamed over <name>, and the directory is
 * fsync'ed, so a crash leaves either the old or the new file.
 */
#ifndef ATOMIC_H
#define ATOMIC_H

#include <sys/types.h>

struct atomic {
	int	 dirfd;
	int	 fd;		/* write the new content here */
	char	*name;
	char	*tmp;
};

/* Turn fsync off (1) or on (0) for every later atomic operation. */
void	atomic_nosync(int);
int	atomic_open(struct atomic *, int, const char *, mode_t);
int	atomic_commit(struct atomic *);
void	atomic_abort(struct atomic *);
int	atomic_write(int, const char *, const void *, size_t, mode_t);
/* fsync a file or directory descriptor unless fsync is turned off. */
int	sync_fd(int);

#endif
