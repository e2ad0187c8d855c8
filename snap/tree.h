/*
 * snap's merge of one session, shared by the files that do it: tree.c
 * (the merged walk of source and old metadata, path by path), incs.c
 * (the increments it writes) and mirror.c (new versions brought into
 * the mirror).  struct tree is the whole state of the merge, passed to
 * every function that uses it.
 */
#ifndef TREE_H
#define TREE_H

#include <stddef.h>
#include <stdint.h>

#include "dirstack.h"
#include "hlink.h"
#include "meta.h"
#include "walk.h"
#include "xattr.h"

struct nodeext;
struct sigmaker;
struct walk_ent;

struct frame {
	struct dirframe	 d;		/* relative path, "" for the root */
	const char	*name;		/* last component, inside path */
	int		 mfd;		/* mirror directory */
	int		 ifd;		/* increments directory, -1 until needed */
	int		 own;		/* own increment written, or not needed */
	int		 deleted;	/* the directory goes away at pop */
	int		 keepold;	/* listing failed: keep the old children */
	int		 has_old, has_new;
	struct rec	 old, new;
	char		*pending;	/* new entry to rename over the dir */
	int		 queued;	/* background work changes the dir */
	int		 fresh;		/* created empty by this session */
	int		 dacl;		/* the source has a default ACL */
	struct nodeext	*ext;		/* xattrs and ACLs to set at pop */
};

/* One session's merge: everything tree_run's functions share. */
/* A directory met while walking, copied: its entry is gone since. */
struct pending {
	char		*path, *name, *link;
	size_t		 pathlen;
	int		 dirfd, depth;
	struct stat	 st;
	struct xattrs	 xa;
	int		 hasxa, xerr;
};

struct tree {
	struct session	*s;
	struct meta_reader *old;	/* the previous snapshot */
	struct walk	*walk;		/* the source walk, to look ahead in */
	int		 scouting;	/* the prefetch scout runs */
	struct dirstack	 dirs;		/* of struct frame, root first */
	int		 kept;		/* process() kept the old record */
	struct hlinks	 links;		/* mirror paths of hard-link groups */
	int		 longfd;	/* long_filename_data, or -1 */
	uint64_t	 nextfree;	/* its next number; 0: not read yet */
	int		 nextfree_dirty;
	int		 la_fd;		/* read-ahead queued up to la_name */
	char		*la_name;	/* ... in la_fd */
	char		*last;		/* the last old record's path */
	size_t		 lastlen, lastcap;
	/* directories a rule only scans: kept once something below is */
	struct pending	*pend;
	size_t		 npend, cappend, pendout;
	struct walk_ent	 pe;		/* a pending one handed out */
	struct walk_ent	*held;		/* the entry behind them */
	char		*skip;		/* a handed-out one not entered */
	size_t		 skiplen;
};

/* tree.c */
/* The directory on top of the stack, or NULL. */
struct frame	*top(struct tree *);
/* Will snap read source file rel (stat st)?  Unless the mirror has it. */
int		 snap_wants(struct session *, const char *, const struct stat *);
/* User and group names, cached; NULL for ids without a usable name. */
char		*idname(uint64_t, int);
/* The directory that holds f, or NULL for the root. */
struct frame	*up(struct tree *, struct frame *);

/* incs.c */
/* The directory's own .dir increment, written once. */
void	 ensure_own(struct tree *, struct frame *);
/* A new AlternateIncrementName number; saved by finish_longnames. */
char	*new_altname(struct tree *);
void	 finish_longnames(struct tree *);
/* The .missing increment of a path that is new in this session. */
void	 inc_missing(struct tree *, struct frame *, const char *,
	    const char *);
/* Put tmp in place of mirror entry name, or remove it (tmp NULL). */
void	 replace_now(struct tree *, struct frame *, const char *,
	    const char *, const char *);
void	 replace_old(struct tree *, struct frame *, const char *,
	    const struct rec *, const char *, const char *);
/*
 * The old version o of name becomes a delta increment against sig, and
 * tmp replaces it; or with still (a delta fd, taken) the mirror file is
 * patched in place to n once the increment is durable.
 */
void	 replace_diff(struct tree *, struct frame *, const char *,
	    const struct rec *, struct sigmaker *, const char *, const char *,
	    int, const struct rec *);
void	 inc_trivial(struct tree *, struct frame *, const char *,
	    const struct rec *);

/* mirror.c */
/* The mirror directory of frame f, opened on first use. */
int	 mdir(struct tree *, struct frame *);
void	 mirror_attrs(struct tree *, int, const struct rec *);
struct sigmaker	*sig_of(struct tree *, struct frame *, const char *, uint64_t);
struct hlink	*hfind(struct tree *, uint64_t, uint64_t);
void	 hadd(struct tree *, uint64_t, uint64_t, const char *);
char	*bring_reg(struct tree *, struct frame *, struct walk_ent *,
	    struct rec *, struct sigmaker **, int, int *, int *, int *);
/* The mirror symlink at dirfd/name gets the source link's mtime. */
void	 link_stamp(int, const char *, const struct stat *);
/* Is source link e what the mirror holds, by size and time?  (mirror.c) */
int	 link_unchanged(struct tree *, struct frame *, const char *,
	    const struct walk_ent *, const struct rec *, int *);
char	*bring_node(struct tree *, struct frame *, struct walk_ent *,
	    struct rec *, int *);

#endif
