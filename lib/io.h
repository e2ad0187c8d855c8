/*
 * Full read and write loops over file descriptors: they retry on EINTR
 * and short transfers, so callers see either the whole count or an error.
 * Also removing a tree, making the directories above a path, telling
 * passing errors from lasting ones, and a file's birth time.
 */
#ifndef IO_H
#define IO_H

#include <sys/types.h>

#include <stdint.h>

/* Read up to n bytes; returns the count (< n only at end of file) or -1. */
ssize_t	read_full(int, void *, size_t);
/* The same at offset off (>= 0) with pread. */
ssize_t	pread_full(int, void *, size_t, off_t);
/* Write all n bytes; returns 0 or -1 (errno set). */
int	write_full(int, const void *, size_t);
/* The same at offset off (pwrite). */
int	pwrite_full(int, const void *, size_t, off_t);
/*
 * Read all fd holds, at most max bytes (else EFBIG), into a new
 * NUL-terminated buffer: 0, or -1 with errno.
 */
int	read_fd(int, char **, size_t *, size_t);
/* read_fd of the file dirfd/path, not following a final symlink. */
int	read_file_at(int, const char *, char **, size_t *, size_t);
/*
 * Remove dirfd/name and, if it is a directory, everything below it,
 * never following symlinks.  Returns 0 or -1 with errno set.
 */
int	rmtree_at(int, const char *);
/*
 * Create the missing directories above path (not path itself) with
 * mode, as mkdir -p does for its parent.  Returns 0 or -1 with errno set
 * (ENOTDIR: a component is no directory).
 */
int	mkdir_parents(const char *, mode_t);

/*
 * Is e a failure of the system that a later retry may cure (a full disk
 * or quota, a read-only filesystem, no memory or descriptors), rather
 * than one of the data?
 */
int	errno_transient(int);
/*
 * The birth time of dirfd/name (not following a symlink), in seconds:
 * 0 with *t, or -1 with errno set (ENOTSUP: the filesystem keeps none).
 */
int	birth_time(int, const char *, int64_t *);

#endif
