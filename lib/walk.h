/*
 * Tree walk over openat/fdopendir/fstatat that never follows symlinks,
 * takes names with any bytes and paths of any length, and yields entries
 * in rdiff-backup's metadata order: preorder, siblings sorted bytewise,
 * so a directory's children come right after it.  Memory is bounded by
 * directory width times depth, not by the number of files.
 */
#ifndef WALK_H
#define WALK_H

#include <sys/stat.h>
#include <stddef.h>

struct walk;
struct xattrs;

struct walk_ent {
	const char	*path;		/* relative to the root; "" is the root */
	size_t		 pathlen;
	const char	*name;		/* use with dirfd: openat(dirfd, name) */
	int		 dirfd;		/* directory holding name */
	int		 depth;		/* 0 for the root */
	int		 error;		/* errno when lstat (or listing) failed */
	int		 listerr;	/* 1: error is about listing directory path */
	struct stat	 st;		/* valid unless error && !listerr */
	/* from a feed (dirfd -1): what a remote walker read for us */
	const char	*link;		/* a symlink's target, if sent */
	const struct xattrs *xattrs;	/* extended attributes, or NULL */
	int		 xerr;		/* errno of reading them, or 0 */
};

/*
 * Entries from elsewhere (snap's agent): next(arg, e) fills e as
 * walk_next would (strings valid until the next call, dirfd -1) and
 * returns 1, or 0 at the end.  walk_skip then drops what lies below the
 * directory just returned; walk_peek sees nothing ahead.
 */
struct walk_feed {
	int	(*next)(void *, struct walk_ent *);
	void	*arg;
};

struct walk	*walk_open_feed(const struct walk_feed *);

/* Start walking root; returns NULL with errno set on failure. */
struct walk	*walk_open(const char *);
/*
 * Next entry: 1 with *ent set (valid until the next call), 0 at the end.
 * An entry with error set is reported and the walk goes on.
 */
int		 walk_next(struct walk *, struct walk_ent **);
/*
 * The k-th name after the entry just returned, in the same directory
 * (k = 0: the next one), and that directory's descriptor; NULL when
 * there is none.  For reading ahead: the walk itself does not move.
 */
const char	*walk_peek(struct walk *, size_t, int *);
/* Do not descend into the directory walk_next just returned. */
void		 walk_skip(struct walk *);
void		 walk_close(struct walk *);

#endif
