/*
 * The directories open during a walk in metadata (sorted path) order:
 * a stack whose frames each tool defines, with a struct dirframe as
 * their first member.  An entry's parents are on the stack when it is
 * reached; the frames that do not hold it are finished and popped first.
 */
#ifndef DIRSTACK_H
#define DIRSTACK_H

#include <stddef.h>

struct dirframe {
	char	*path;		/* relative path, "" for the root; NULL for
				   a base frame that holds every path */
	size_t	 len;
};

struct dirstack {
	unsigned char	*frames;
	size_t		 size;		/* of one frame */
	size_t		 depth, cap;
};

#define DIRSTACK_INIT(type)	{ NULL, sizeof(type), 0, 0 }

/*
 * A zeroed frame on top with a copy of path[0..len) (path NULL: a base
 * frame).  Frames may move: pointers to others are stale afterwards.
 */
void	*ds_push(struct dirstack *, const char *, size_t);
/* The frame i from the bottom, or NULL past the top. */
void	*ds_at(const struct dirstack *, size_t);
/* The frame on top, or NULL. */
void	*ds_top(const struct dirstack *);
/*
 * The frame on top when it does not hold path[0..len) and more than keep
 * frames are open, else NULL: the caller finishes it and calls ds_drop,
 * until this returns NULL.
 */
void	*ds_leaving(const struct dirstack *, const char *, size_t, size_t);
/* Pop the top frame, freeing its path (the rest is the caller's). */
void	 ds_drop(struct dirstack *);
/* Free the storage of an emptied stack. */
void	 ds_free(struct dirstack *);

#endif
