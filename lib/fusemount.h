/*
 * The life of a read-only FUSE mount as our tools run it (mount-remote,
 * restore -m): in the background once usable, in the foreground, or
 * around a command; detached when it ends; -u MOUNTPOINT checked against
 * /proc/self/mountinfo.  Nothing here exits: the tool decides.
 */
#ifndef FUSEMOUNT_H
#define FUSEMOUNT_H

#include <signal.h>
#include <spawn.h>

struct fuse_session;

/*
 * Block the signals the serving thread waits for (INT, TERM, HUP, CHLD,
 * USR1) in the calling thread, which becomes the one fm_wake() wakes;
 * call it before any thread starts.  The set is stored in *set.
 */
void	fm_block_signals(sigset_t *);
/* Wake the serving thread (from any thread): a flag it checks changed. */
void	fm_wake(void);

/*
 * Go to the background: the child returns a descriptor to pass to
 * fm_detach once the mount is usable.  The parent waits for that, or
 * for the child to exit, and returns -2 with *status: what to exit with.
 * -1 with errno when the fork or its pipe failed.
 */
int	fm_daemon_fork(int *);
/* Tell the waiting parent all is well; leave the terminal and cwd. */
void	fm_detach(int);

/*
 * Can this user mount at all?  For root, yes.  Otherwise /dev/fuse must
 * be readable and writable and fusermount3 setuid root: 0, or -1 with
 * what a sysadmin needs to do about it in msg.
 */
int	fm_usable(char *, size_t);

/* Attributes for children: no blocked signals, ours at their default. */
void	fm_spawn_attr(posix_spawnattr_t *);
/* Run argv and wait: its exit status, 128 + signal, or -1 (errno). */
int	fm_spawn_wait(char *const [], posix_spawn_file_actions_t *);

/*
 * An absolute, lexically normalised form of path in a new string (no
 * symlinks resolved, so a dead FUSE mount point is never touched); NULL
 * with errno when the working directory is unknown.
 */
char	*fm_absolute(const char *);
/* s with commas and backslashes escaped for a libfuse -o value (new). */
char	*fm_optescape(const char *);

/*
 * Unmount the mount at absolute path mnt if its type is type ("fuse.X"):
 * 0, or -1 with errno (EINVAL: no mount of that type there).
 */
int	fm_unmount(const char *, const char *);

/*
 * Serve session se, mounted on mnt, until it is unmounted, a signal
 * asks, *dead becomes true (dead may be NULL), or command (NULL: none)
 * exits; then call quiesce (NULL: none; it stops the tool's own use of
 * se, e.g. cache invalidations) and detach the mount.  notify (-1: none)
 * is fm_daemon_fork's descriptor.  Returns the command's exit status
 * (128 + signal), 0 when unmounted or signalled, -1 when *dead ended it,
 * or -2 with errno when the command or the serving thread could not
 * start.
 */
int	fm_serve(struct fuse_session *, const char *, char *const *, int,
	    const sigset_t *, volatile sig_atomic_t *, void (*)(void));

#endif
