/*
 * mount-remote's internal map: one section per file, saying what the file
 * provides to the others.  Everything not declared here is static in its
 * file.  The connection (conn.c) has its own header, conn.h.
 *
 * The file system is a node per remote path the kernel knows, directory
 * listings read whole and kept for the cache timeout (their attributes
 * answer READDIRPLUS and LOOKUP without a round trip), per-file
 * read-ahead in chunks, and prefetching of the small files that follow
 * an opened one in its directory.  Every operation queues SFTP requests
 * and returns; replies arrive on the connection's reader thread, which
 * answers the kernel.  All of that state, static in nodes.c, listing.c,
 * prefetch.c and openfile.c, is guarded by mr_lock (conn.h): the
 * operations take it, and the reply callbacks run with it held.
 */
#ifndef MR_H
#define MR_H

#include <sys/stat.h>
#include <signal.h>
#include <spawn.h>
#include <stddef.h>
#include <stdint.h>

#define FUSE_USE_VERSION 34
#include <fuse3/fuse_lowlevel.h>

#include "sftp.h"

/*
 * mount-remote.c: options, the ssh command line, the mount's life cycle
 * (connect, mount, serve until unmounted or the connection dies).
 */

/* An absolute, lexically normalised path (no symlinks resolved). */
char	*absolute(const char *);

/*
 * agent.c: -A/-K, an ssh-agent listening on a fixed socket and holding
 * a key, for jobs (cron) that have no SSH_AUTH_SOCK of their own.
 */

/* Start an agent on the socket unless one answers there; load the key. */
void	agent_prepare(const char *, const char *);

/*
 * nodes.c: the hash table that every cache keys by remote path, helpers
 * shared by the file system's files, and the nodes: one per path the
 * kernel holds, its address being the inode number the kernel sees.
 */
struct mr_opts {
	const char	*root;		/* absolute remote path of the mount root */
	double		 cache_timeout;	/* entry and attribute validity, seconds */
	double		 neg_timeout;	/* validity of "no such file" answers */
	int		 timeout;	/* -t: seconds of silence that kill */
};

/*
 * The one global the file system's files share.  Written once by fs_init
 * before the FUSE session exists, then only read (by the operations and
 * their reply callbacks), so it needs no lock.
 */
extern struct mr_opts fs_opts;

struct hent {
	struct hent	*next;
	uint64_t	 h;
	char		*key;		/* NUL-terminated remote path */
	size_t		 klen;
};

struct htab {
	struct hent	**b;
	size_t		  nb, n;
};

struct node {
	struct hent	 he;
	uint64_t	 nlookup;
	struct stat	 st;
	double		 st_time;	/* when st was fetched */
	double		 cached;	/* when the kernel last read all of it */
	off_t		 csize;		/* its size and mtime then */
	time_t		 cmtime;
};

/* Seconds on the monotonic clock. */
double	 mono(void);
/* FNV-1a, 64 bits: the table hash and the stable inode number. */
uint64_t hash(const char *, size_t);
struct hent *ht_find(struct htab *, const char *, size_t, uint64_t);
void	 ht_add(struct htab *, struct hent *);
void	 ht_del(struct htab *, struct hent *);
/* Key an entry by path (taken), hashing it. */
void	 he_init(struct hent *, char *, size_t);
/* dir + "/" + name as a new NUL-terminated string; its length in *len. */
char	*join(const char *, size_t, const char *, size_t, size_t *);
/* Turn SFTP attributes into a struct stat for path. */
void	 attr_to_stat(const struct sftp_attrs *, const char *, size_t,
	    struct stat *);
int	 a_isdir(const struct sftp_attrs *);
int	 a_isreg(const struct sftp_attrs *);
int	 a_islnk(const struct sftp_attrs *);
/* A reply of a type the request cannot get: the peer is not trusted again. */
void	 bad(struct sftp_reply *, const char *);

/* Set up the node table for the remote root whose attributes are given. */
void	fs_init(const struct mr_opts *, const struct sftp_attrs *);
/* The session to notify the kernel through; NULL before it goes away. */
void	fs_session(struct fuse_session *);
struct node *ino_node(fuse_ino_t);
fuse_ino_t node_ino(struct node *);
/* The node for path (taking ownership of path), new or existing. */
struct node *node_get(char *, size_t);
/* The node for path with hash h, or NULL. */
struct node *node_find(const char *, size_t, uint64_t);
/* The kernel forgets count lookups; the node goes at none. */
void	node_unref(struct node *, uint64_t);
/* Attributes of n from a listing or the server. */
void	node_set(struct node *, const struct sftp_attrs *);
/* Attributes of n fresh from the server, also put in its cached listing. */
void	node_fresh(struct node *, const struct sftp_attrs *);
/* What we knew of path (size, listing) is wrong: forget it. */
void	node_stale(const char *, size_t);

/*
 * listing.c: directory listings, read whole (several READDIRs in flight),
 * bounded, indexed by name and kept for the cache timeout; the
 * subdirectories of one the kernel opens are listed ahead (dl_*).
 */
enum { DL_OPENING, DL_READING, DL_DONE, DL_FAILED };

struct dent {
	char		*name;
	size_t		 namelen;
	struct sftp_attrs a;
	char		*link;		/* a symlink's target, when known */
	int		 link_asked;	/* ... and when on its way */
};

struct dwait;

struct dlist {
	struct hent	 he;
	int		 hashed, state, err;
	unsigned char	 h[SFTP_MAX_HANDLE];
	size_t		 hlen;
	struct dent	*ents;
	size_t		 n, cap;
	size_t		 bytes;		/* what the entries take, for the bound */
	double		 started;	/* when OPENDIR was sent */
	uint32_t	*idx;		/* open addressing: entry index + 1 */
	size_t		 idxsize;
	int		 reads, eof, refs, loading, kernel, prefetched, prefetch;
	int		 walk;		/* at or below a walk root */
	int		 ahead;		/* listed ahead, not opened yet */
	int		 fresh;		/* ... and on the fresh ring */
	int		 links_asked;
	double		 loaded;
	struct dwait	*waiters;
	struct dlist	*prev, *next;	/* LRU of unused finished listings */
};

/* The listing of path if one is cached or loading, else NULL. */
struct dlist *dl_find(const char *, size_t);
/* A usable listing for path: cached and fresh, loading, or started now. */
struct dlist *dl_get(const char *, size_t);
void	dl_ref(struct dlist *);
/* Drop a use; an unused finished listing goes to the LRU or away. */
void	dl_unref(struct dlist *);
/* Nobody finds d again; it goes once unused. */
void	dl_unhash(struct dlist *);
/* Index of name in a finished listing, or -1. */
long	dl_lookup(struct dlist *, const char *, size_t);
/* The finished listing of the directory holding path, or NULL. */
struct dlist *dl_parent(const char *, size_t, const char **, size_t *);
/* Answer req (0 opendir, 1 readdir, 2 readdirplus) once d has loaded. */
void	dl_wait(struct dlist *, fuse_req_t, int, size_t, off_t,
	    struct fuse_file_info *);
/* Fill one READDIR(PLUS) answer from a finished listing. */
void	dl_fill(struct dlist *, fuse_req_t, size_t, off_t, int);
/* The kernel opened d: list its subdirectories ahead of time. */
void	dl_prefetch_children(struct dlist *);
/*
 * The tree at path will be walked: list all of it ahead, breadth first,
 * with the targets of symlinks modified at or after the time given.
 */
void	dl_walk(const char *, size_t, uint64_t);
/* READLINK answered (or to be) from a listing: 1; else 0. */
int	dl_readlink(fuse_req_t, const char *, size_t);

/*
 * prefetch.c: files read whole ahead of their open: those snap says it
 * wants, else the small regular files that follow an opened one in its
 * directory (pf_*).
 */

/* Open n for req: from its prefetched copy if fresh, else from the server. */
void	pf_open(fuse_req_t, struct fuse_file_info *, struct node *);
/* The file at path was opened: prefetch the small files after it. */
void	pf_after(const char *, size_t);
/* Path changed: its prefetched copy is not handed out. */
void	pf_stale(const char *, size_t);
/* The fetch hint: n will be read whole soon. */
void	pf_want(struct node *);
/* A hint came: no guessing which files are wanted for a while. */
void	pf_hinted(void);

/*
 * openfile.c: open files, read in chunks on a grid of the server's read
 * size, read ahead in a window that grows while reads are sequential;
 * the kernel's reads wait on the chunks they need (of_*).
 */
struct chunk;

struct kread {
	struct kread	*next;
	fuse_req_t	 req;
	uint64_t	 off;
	size_t		 size;
};

struct ofile {
	char		*path;
	size_t		 pathlen;
	int		 has_handle, released, inflight;
	int		 lazy, opening, lazy_err;	/* opened on first miss */
	int		 shrunk;		/* a read ended before size */
	unsigned char	 h[SFTP_MAX_HANDLE];
	size_t		 hlen;
	uint64_t	 size, eof, ra_end, window, last_end;
	struct chunk	*chunks;
	struct kread	*waiters;
	fuse_req_t	 open_req;
	struct fuse_file_info open_fi;
};

struct ofile *of_new(const char *, size_t, uint64_t);
/* An open file without a remote handle holding data[0..got) (taken). */
struct ofile *of_from_buf(const char *, size_t, uint64_t, unsigned char *,
	    size_t);
void	of_free(struct ofile *);
/* Hand of to the kernel as the answer to req's OPEN. */
void	of_reply_open(struct ofile *, fuse_req_t, struct fuse_file_info *);
/* Open n on the server, answering req when the handle comes. */
void	of_start_open(fuse_req_t, struct fuse_file_info *, struct node *);
/* Answer a kernel read from the chunks: 1 when answered, 0 to wait. */
int	of_try(struct ofile *, fuse_req_t, uint64_t, size_t);
/* Answer the reads that can be, free what is behind them, read ahead. */
void	of_progress(struct ofile *);
/* A read of of ended before its size: say that the file shrank. */
void	of_shrunk(struct ofile *);

/*
 * fuseops.c: the FUSE low-level operations; those that read take mr_lock,
 * every write-class one answers EROFS.
 */
extern const struct fuse_lowlevel_ops mr_ops;
/* Ask the server for the target of the symlink at path, answering req. */
void	readlink_send(fuse_req_t, const char *, size_t);

#endif
