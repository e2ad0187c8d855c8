/*
 * snap's internal interface between the session driver (snap.c) and the
 * tree merge that updates mirror, increments and metadata (tree.c).
 */
#ifndef SNAP_H
#define SNAP_H

#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

struct gzw;
struct nodeext;
struct recfile;
struct select;
struct walk_ent;

struct stats {
	uint64_t	srcfiles, srcsize;
	uint64_t	mirrorfiles, mirrorsize;
	uint64_t	newfiles, newsize;
	uint64_t	delfiles, delsize;
	uint64_t	chgfiles, chgsrcsize, chgmirrorsize;
	uint64_t	incfiles, incsize;
	uint64_t	bytesread, byteswritten;
	uint64_t	errors;
};

struct session {
	const char	*src;		/* source root as given */
	int		 repofd;	/* repository root */
	int		 datafd;	/* rdiff-backup-data */
	int		 first;		/* no earlier session */
	int64_t		 now;		/* this session's time */
	int64_t		 prev;		/* the previous session's time */
	int		 style;		/* how the repository spells times in
					   file names: enum tstyle */
	struct gzw	*snap;		/* new metadata snapshot */
	struct gzw	*diff;		/* reverse diff for prev, or NULL */
	int		 eas, acls;	/* extended attributes, ACLs recorded */
	int		 neverdrop;	/* --never-drop-acls: no ACLs is fatal */
	struct gzw	*eaw, *aclw;	/* ... into these files, or NULL */
	struct recfile	*oldea, *oldacl; /* the previous session's, or NULL */
	int64_t		 attrs_since;	/* unchanged entries changed (ctime)
					   before this keep their records */
	int		 eawarned;	/* said once: an entry's could not be read */
	int		 oldmeta;	/* previous snapshot, or -1 */
	int		 oldmeta_gz;	/* ... named .gz */
	int		 errfd;		/* error log */
	int		 lockfd;	/* repository lock */
	int		 root;		/* running as root: owners are kept */
	struct select	*sel;		/* include/exclude rules */
	struct select	*scoutsel;	/* the same, for the prefetch scout;
					   NULL: no scout (a local source) */
	int		 verbose;
	int		 eio_streak;	/* I/O errors since a file was read whole */
	int		 nosync;	/* --no-fsync */
	int		 fuse;		/* the source is FUSE (SFTP, most likely) */
	int		 agent;		/* the source is host:path (remote.c) */
	uint64_t	 wrapped;	/* times it could not carry */
	dev_t		 srcdev;	/* the source root's filesystem */
	dev_t		 repodev;	/* never back up the repository itself */
	ino_t		 repoino;
	struct stats	 st;
};

struct repo;

/* Roll back the interrupted session of a repository (regress.c). */
void	regress(struct session *, struct repo *, const char *);
/*
 * attrs.c: open this session's extended attribute and ACL files and the
 * previous session's; write and close them.
 */
void	attrs_begin(struct session *);
void	attrs_commit(struct session *);
/*
 * The records of path (pathlen bytes) of the new snapshot, of type
 * rtype: read from source entry e, or copied from the previous session
 * when e is NULL (its new state could not be read) or when e, not fresh,
 * has not changed (ctime) since the previous session began.  As root, returns
 * what to set on the mirror entry when its extended attributes or ACLs
 * differ from the previous session's, or when fresh (the mirror entry
 * was made anew) and it has any or inherit (its mirror directory has a
 * default ACL, which the new node took); else NULL.  *dflt says whether
 * the entry has, or its mirror copy still has, a default ACL.
 */
struct nodeext	*attrs_entry(struct session *, const char *, size_t, int,
	    struct walk_ent *, int, int, int *);
/* Merge the source walk with the old metadata; 0, or -1 when fatal. */
int	tree_run(struct session *);
/* server.c: snap --server [--root DIR], the agent on the source host. */
int	server_main(const char *);
/*
 * remote.c: a source [user@]host:path walked by the agent over ssh.
 */
struct walk_ent;
/* Is the source given [user@]host:path? */
int	remote_spec(const char *);
#define REMOTE_TIMEOUT	120	/* seconds the host may say nothing */
/*
 * Run the schema's command for host and greet it; exits on failure,
 * also when it says nothing for timeout seconds.
 */
int	remote_start(struct session *, const char *, const char *, int);
/* Ask for the tree (after the repository is open: links since its last). */
void	remote_list(void);
/* The walk of the remote tree (entries with dirfd -1). */
struct walk *remote_walk(void);
/*
 * A descriptor holding e's content now, or -1 with errno.  When it
 * comes as a delta against the mirror's copy, *dr is set and the
 * descriptor is only to look at: remote_patch applies the delta as it
 * arrives, or remote_drop gives it up.
 */
struct req;
int	remote_open(struct walk_ent *, struct req **);
/*
 * Apply e's delta to the mirror's copy as it comes, writing the new
 * version to out: its size and SHA-1 in *cr, and in *rev the delta back
 * to the mirror's copy (the increment).  0, or -1 with errno.  Takes
 * the request.
 */
struct copyres;
struct sigmaker;
int	remote_patch(struct walk_ent *, struct req *, int, struct copyres *,
	    struct sigmaker **);
/*
 * Or, when e's delta leaves the mirror copy's bytes where they are
 * (patch_scan_still) and that copy has one link and 1 MiB or more: read
 * it whole without writing, the new version's size and SHA-1 in *cr, the
 * way back in *rev and the delta, from its start, in *dfd, for
 * patch_in_place once the increment is safe.  0; 1 when not so (the
 * request is then as remote_open left it, for remote_patch); -1 with
 * errno (the request taken).
 */
int	remote_patch_still(struct walk_ent *, struct req *, struct copyres *,
	    struct sigmaker **, int *);
void	remote_drop(struct req *);
/* e's symlink target into buf (no NUL): its length, or -1 with errno. */
ssize_t	remote_readlink(struct walk_ent *, char *, size_t);
/* The root's errno of reading xattrs and its ACL (0, ENOTSUP ...). */
void	remote_root_attrs(int *, int *);
/* The root's stat (exits when it cannot be walked). */
void	remote_root_stat(struct stat *);
void	remote_stop(void);
/* Exit 111 with "what path: strerror" (snap.c). */
void	snap_fatal(const char *, const char *) __attribute__((__noreturn__));
/* Report a failed source entry: stderr and the error log (snap.c). */
void	report(struct session *, const char *, const char *, int);

#endif
