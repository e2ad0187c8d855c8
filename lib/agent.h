/*
 * The agent protocol: snap on the backup server and `snap --server` on
 * the source host, over the standard input and output of ssh.  Frames
 * are a 4-byte big-endian length (of what follows), a type byte and a
 * payload of lib/buf.h's big-endian fields.
 *
 * The client says HELLO and the server answers HELLO; then the client
 * asks for the tree at a path (LIST) and grants the server credit for
 * MORE entries at a time; the server walks the tree in snap's order and
 * sends an ENT per entry (its stat, a symlink's target when the link is
 * new enough, its extended attributes), then END.  Meanwhile the client
 * asks for the content of files (GET): whole (DATA frames), or as an
 * rsync delta against a signature of the copy it has (DELTA frames),
 * each ended by DONE.  ENT frames never exceed the credit, so a client
 * that waits for content while its entry queue is full cannot deadlock.
 * Every AG_TICK seconds the server says ALIVE, as long as its work goes
 * on (or it has none): a client that hears nothing for longer than its
 * timeout knows the host, the link or the server is stuck.
 * The server opens nothing for writing.
 */
#ifndef AGENT_H
#define AGENT_H

#include <sys/stat.h>

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "xattr.h"

#define AG_VERSION	3	/* 3: block signatures (bsig.h) */
#define AG_TICK		1		/* seconds between ALIVEs */
#define AG_MAXFRAME	((1u << 20) + 4096)	/* type and payload */
#define AG_DATAMAX	(256u << 10)		/* content per DATA/DELTA/SIG */
#define AG_SIGMAX	(64u << 20)		/* a signature, in all */

enum {
	/* client to server */
	AG_HELLO = 1,		/* u32 version */
	AG_LIST = 2,		/* string path, u64 links_since */
	AG_MORE = 3,		/* u32 entries */
	AG_GET = 4,		/* u32 id, string path, u8 kind (AG_FILE,
				   AG_LINK), u32 signature length (0: the
				   whole file; a bsig.h signature) */
	AG_SIG = 5,		/* u32 id, signature bytes: after a GET, until
				   its length is sent */
	/* server to client */
	AG_SHELLO = 101,	/* u32 version */
	AG_ENT = 102,		/* an entry: agent_put_ent */
	AG_END = 103,		/* u32 errno of the walk's root (0: walked) */
	AG_DATA = 104,		/* u32 id, content */
	AG_DELTA = 105,		/* u32 id, delta */
	AG_DONE = 106,		/* u32 id, u32 errno (0: complete) */
	AG_FATAL = 107,		/* string message: the server stops */
	AG_ALIVE = 108		/* nothing: work goes on */
};

enum { AG_FILE = 0, AG_LINK = 1 };	/* what a GET asks for */

/* One entry of the server's walk, as the client receives it. */
struct agent_ent {
	char		*path;		/* relative to the root; "" the root */
	int		 error;		/* errno of lstat or listing, or 0 */
	int		 listerr;	/* error is about listing it */
	struct stat	 st;
	char		*link;		/* a symlink's target, or NULL: not sent */
	int		 xerr;		/* errno of reading xattrs, or 0 */
	int		 aclerr;	/* the root: errno of reading its ACL */
	struct xattrs	 x;
};

/*
 * Append ENT's payload: path, error, listerr, stat, link (or none),
 * xattrs' errno, the root's ACL errno (ENODATA: none, but supported),
 * xattrs.
 */
void	agent_put_ent(struct wbuf *, const char *, size_t, int, int,
	    const struct stat *, const char *, size_t, int, int,
	    const struct xattrs *);
/* Parse an ENT payload into e (owning its strings).  0, or -1: malformed. */
int	agent_get_ent(struct rbuf *, struct agent_ent *);
void	agent_ent_free(struct agent_ent *);

/*
 * Write one frame of type with payload p[0..len) (and a second part
 * q[0..qlen), for content) to fd.  0, or -1 with errno.
 */
int	agent_send(int, uint8_t, const void *, size_t, const void *, size_t);
/*
 * Read one frame from fd: its payload (malloc'd, NUL after it) and type.
 * NULL at a clean end of input (errno 0) or on error (errno set; EPROTO
 * for a frame longer than AG_MAXFRAME or cut short).
 */
unsigned char *agent_recv(int, uint8_t *, size_t *);

#endif
