/*
 * SFTP version 3, the read-only subset: encoders for the requests a
 * read-only client sends (there are none for writing, removing,
 * renaming or setting attributes) and a decoder for server replies that
 * checks every length against the bytes actually received.
 */
#ifndef SFTP_H
#define SFTP_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define SFTP_VERSION		3

#define SSH_FXP_INIT		1
#define SSH_FXP_VERSION		2
#define SSH_FXP_OPEN		3
#define SSH_FXP_CLOSE		4
#define SSH_FXP_READ		5
#define SSH_FXP_LSTAT		7
#define SSH_FXP_FSTAT		8
#define SSH_FXP_OPENDIR		11
#define SSH_FXP_READDIR		12
#define SSH_FXP_REALPATH	16
#define SSH_FXP_STAT		17
#define SSH_FXP_READLINK	19
#define SSH_FXP_STATUS		101
#define SSH_FXP_HANDLE		102
#define SSH_FXP_DATA		103
#define SSH_FXP_NAME		104
#define SSH_FXP_ATTRS		105
#define SSH_FXP_EXTENDED	200
#define SSH_FXP_EXTENDED_REPLY	201

#define SSH_FX_OK		0
#define SSH_FX_EOF		1
#define SSH_FX_NO_SUCH_FILE	2
#define SSH_FX_PERMISSION_DENIED 3
#define SSH_FX_FAILURE		4
#define SSH_FX_BAD_MESSAGE	5
#define SSH_FX_NO_CONNECTION	6
#define SSH_FX_CONNECTION_LOST	7
#define SSH_FX_OP_UNSUPPORTED	8

#define SSH_FILEXFER_ATTR_SIZE		0x00000001
#define SSH_FILEXFER_ATTR_UIDGID	0x00000002
#define SSH_FILEXFER_ATTR_PERMISSIONS	0x00000004
#define SSH_FILEXFER_ATTR_ACMODTIME	0x00000008
#define SSH_FILEXFER_ATTR_EXTENDED	0x80000000

#define SSH_FXF_READ		0x00000001

/* Largest packet either side may send (OpenSSH's limit), and handle size. */
#define SFTP_MAX_PACKET		(256 * 1024)
#define SFTP_MAX_HANDLE		256
/* Longest path we put in a request: keeps every request far below the limit. */
#define SFTP_MAX_PATH		(64 * 1024)

struct sftp_attrs {
	uint32_t	flags;
	uint64_t	size;
	uint32_t	uid, gid;
	uint32_t	mode;
	uint32_t	atime, mtime;
};

struct sftp_reply {
	uint8_t		 type;
	uint32_t	 id;		/* the version for SSH_FXP_VERSION */
	/* STATUS */
	uint32_t	 code;
	const unsigned char *msg;
	size_t		 msglen;
	/* HANDLE and DATA: the string; EXTENDED_REPLY: the rest of the packet */
	const unsigned char *data;
	size_t		 datalen;
	/* ATTRS */
	struct sftp_attrs attrs;
	/* NAME: count and the entries, read with sftp_name_next() */
	uint32_t	 count;
	struct rbuf	 rest;		/* NAME entries; VERSION extensions */
};

struct sftp_name {
	const unsigned char *name;
	size_t		 namelen;
	struct sftp_attrs attrs;
};

/* Limits a server announces with limits@openssh.com (0: not stated). */
struct sftp_limits {
	uint64_t	packet, read, write, handles;
};

struct sftp_statvfs {
	uint64_t	bsize, frsize, blocks, bfree, bavail;
	uint64_t	files, ffree, favail, fsid, flag, namemax;
};

/*
 * Framing: given the bytes received so far, returns 1 and sets *total to
 * the length of the first packet including its 4-byte length when it is
 * complete, 0 when more bytes are needed, -1 when the length field is
 * impossible (0, or larger than max).
 */
int	sftp_frame(const unsigned char *, size_t, size_t, size_t *);
/*
 * Decode one packet (without its length field) into *r; pointers in *r
 * point into the packet.  Returns -1 on any malformed or truncated
 * packet, or a handle longer than SFTP_MAX_HANDLE.
 */
int	sftp_parse(const unsigned char *, size_t, struct sftp_reply *);
int	sftp_parse_attrs(struct rbuf *, struct sftp_attrs *);
/* Next NAME entry: 1 with *n set, 0 after the last, -1 if malformed. */
int	sftp_name_next(struct sftp_reply *, struct sftp_name *);
/* Next VERSION extension pair: 1, 0 at the end, -1 if malformed. */
int	sftp_ext_next(struct sftp_reply *, const unsigned char **, size_t *,
	    const unsigned char **, size_t *);
/* Decode an EXTENDED_REPLY's data: 0 or -1. */
int	sftp_parse_limits(const struct sftp_reply *, struct sftp_limits *);
int	sftp_parse_statvfs(const struct sftp_reply *, struct sftp_statvfs *);
/* The errno for a STATUS code (0 for OK). */
int	sftp_errno(uint32_t);
/* A readable name for a packet type, for error messages. */
const char *sftp_type_name(uint8_t);

/*
 * Encoders: each appends one complete packet to the buffer.  They return
 * 0, or -1 with errno ENAMETOOLONG when a path or handle is too long.
 */
void	sftp_put_init(struct wbuf *);
int	sftp_put_path(struct wbuf *, uint8_t, uint32_t, const char *, size_t);
int	sftp_put_handle(struct wbuf *, uint8_t, uint32_t, const void *, size_t);
int	sftp_put_open(struct wbuf *, uint32_t, const char *, size_t);
int	sftp_put_read(struct wbuf *, uint32_t, const void *, size_t, uint64_t,
	    uint32_t);
int	sftp_put_extended(struct wbuf *, uint32_t, const char *, const char *,
	    size_t);

#endif
