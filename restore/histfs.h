/*
 * restore -m: every session of a repository as a read-only file system.
 */
#ifndef HISTFS_H
#define HISTFS_H

/*
 * Mount the repository at repo on mnt (absolute) and serve it: in the
 * background once usable, in the foreground with fg, or around command
 * (NULL: none).  Returns the exit status for restore; exits on setup
 * errors.
 */
int	histfs_main(const char *, const char *, int, char **);

#endif
