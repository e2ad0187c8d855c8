/*
 * Paths in messages, and paths walked with *at() calls: a directory
 * opened below another without following symlinks, the directory that
 * holds a relative path of any length, and the temp names that a
 * rollback recognises as leftovers.
 */
#ifndef PATHNAME_H
#define PATHNAME_H

#include <dirent.h>

/*
 * A path for messages: control bytes as \ooo, the root "" as ".".  The
 * result is a static buffer, valid until the next call: one thread only
 * (the tools' main thread), and never twice in one printf.
 */
const char	*shown(const char *);
/*
 * 1 when relative path[0..len) lies below directory dir[0..dlen) (the
 * root "" holds every other path), else 0: what a stack of open
 * directories, walked in metadata order, keeps or pops.
 */
int		 path_below(const char *, size_t, const char *, size_t);
/* openat(fd, name) as a directory, never through a symlink; fd -1: -1. */
int		 subdir(int, const char *);
/*
 * The directory holding relative path below root (opened component by
 * component, so any length works); *base is the last component.
 */
int		 open_parent(int, const char *, const char **);
/*
 * openat(root, path, flags | O_NOFOLLOW) through no symlink at all, its
 * directories opened as open_parent does: never outside root.
 */
int		 open_below(int, const char *, int);
/*
 * A stream that lists directory fd from its first entry.  fd stays open
 * and the caller's: the stream reads a duplicate (which shares fd's
 * offset).  NULL with errno set on failure.
 */
DIR		*dir_list(int);
/*
 * The next entry of d but "." and "..", or NULL: at the end with errno
 * 0, after an error (the listing is incomplete) with errno set.
 */
struct dirent	*dir_next(DIR *);
/* 1 when directory fd holds no entries, 0 when it does, -1 on error. */
int		 dir_empty(int);
/*
 * A new name "rdiff-backup.tmp.<n>", unique within this process (a
 * static counter: one thread only).
 */
char		*tmp_name(void);
/* 1 when name is of the form tmp_name() makes, else 0. */
int		 tmp_named(const char *);

#endif
