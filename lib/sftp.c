#include <errno.h>
#include <string.h>

#include "sftp.h"

int
sftp_frame(const unsigned char *p, size_t len, size_t max, size_t *total)
{
	struct rbuf b;
	uint32_t n;

	rbuf_init(&b, p, len);
	if (buf_get_u32(&b, &n) == -1)
		return 0;
	if (n == 0 || n > max)
		return -1;
	if (len - 4 < n)
		return 0;
	*total = (size_t)n + 4;
	return 1;
}

int
sftp_parse_attrs(struct rbuf *b, struct sftp_attrs *a)
{
	uint32_t n, i;
	const unsigned char *s;
	size_t sl;

	memset(a, 0, sizeof(*a));
	if (buf_get_u32(b, &a->flags) == -1)
		return -1;
	if (a->flags & SSH_FILEXFER_ATTR_SIZE &&
	    buf_get_u64(b, &a->size) == -1)
		return -1;
	if (a->flags & SSH_FILEXFER_ATTR_UIDGID &&
	    (buf_get_u32(b, &a->uid) == -1 || buf_get_u32(b, &a->gid) == -1))
		return -1;
	if (a->flags & SSH_FILEXFER_ATTR_PERMISSIONS &&
	    buf_get_u32(b, &a->mode) == -1)
		return -1;
	if (a->flags & SSH_FILEXFER_ATTR_ACMODTIME &&
	    (buf_get_u32(b, &a->atime) == -1 ||
	    buf_get_u32(b, &a->mtime) == -1))
		return -1;
	if (a->flags & SSH_FILEXFER_ATTR_EXTENDED) {
		if (buf_get_u32(b, &n) == -1)
			return -1;
		/* Each pair takes at least 8 bytes: no loop of 2^32 on a tiny packet. */
		if (n > rbuf_left(b) / 8)
			return -1;
		for (i = 0; i < n; i++)
			if (buf_get_string(b, &s, &sl) == -1 ||
			    buf_get_string(b, &s, &sl) == -1)
				return -1;
	}
	return 0;
}

int
sftp_parse(const unsigned char *p, size_t len, struct sftp_reply *r)
{
	struct rbuf b;
	const unsigned char *lang;
	size_t langlen;

	memset(r, 0, sizeof(*r));
	rbuf_init(&b, p, len);
	if (buf_get_u8(&b, &r->type) == -1 || buf_get_u32(&b, &r->id) == -1)
		return -1;
	switch (r->type) {
	case SSH_FXP_VERSION:
		r->rest = b;
		return 0;
	case SSH_FXP_STATUS:
		if (buf_get_u32(&b, &r->code) == -1)
			return -1;
		/* Message and language tag are optional in some old servers. */
		if (rbuf_left(&b) == 0)
			return 0;
		if (buf_get_string(&b, &r->msg, &r->msglen) == -1)
			return -1;
		if (rbuf_left(&b) == 0)
			return 0;
		return buf_get_string(&b, &lang, &langlen);
	case SSH_FXP_HANDLE:
		if (buf_get_string(&b, &r->data, &r->datalen) == -1 ||
		    r->datalen > SFTP_MAX_HANDLE)
			return -1;
		return rbuf_left(&b) == 0 ? 0 : -1;
	case SSH_FXP_DATA:
		if (buf_get_string(&b, &r->data, &r->datalen) == -1)
			return -1;
		return rbuf_left(&b) == 0 ? 0 : -1;
	case SSH_FXP_ATTRS:
		if (sftp_parse_attrs(&b, &r->attrs) == -1)
			return -1;
		return rbuf_left(&b) == 0 ? 0 : -1;
	case SSH_FXP_NAME:
		if (buf_get_u32(&b, &r->count) == -1)
			return -1;
		/* An entry takes at least 12 bytes (two strings, attr flags). */
		if (r->count > rbuf_left(&b) / 12)
			return -1;
		r->rest = b;
		return 0;
	case SSH_FXP_EXTENDED_REPLY:
		r->data = b.p + b.off;
		r->datalen = rbuf_left(&b);
		return 0;
	default:
		return -1;
	}
}

int
sftp_name_next(struct sftp_reply *r, struct sftp_name *n)
{
	const unsigned char *ln;
	size_t lnlen;

	if (r->type != SSH_FXP_NAME)
		return -1;
	if (r->count == 0)
		return rbuf_left(&r->rest) == 0 ? 0 : -1;
	if (buf_get_string(&r->rest, &n->name, &n->namelen) == -1 ||
	    buf_get_string(&r->rest, &ln, &lnlen) == -1 ||
	    sftp_parse_attrs(&r->rest, &n->attrs) == -1)
		return -1;
	r->count--;
	return 1;
}

int
sftp_ext_next(struct sftp_reply *r, const unsigned char **name,
    size_t *namelen, const unsigned char **data, size_t *datalen)
{
	if (r->type != SSH_FXP_VERSION)
		return -1;
	if (rbuf_left(&r->rest) == 0)
		return 0;
	if (buf_get_string(&r->rest, name, namelen) == -1 ||
	    buf_get_string(&r->rest, data, datalen) == -1)
		return -1;
	return 1;
}

int
sftp_parse_limits(const struct sftp_reply *r, struct sftp_limits *l)
{
	struct rbuf b;

	if (r->type != SSH_FXP_EXTENDED_REPLY)
		return -1;
	rbuf_init(&b, r->data, r->datalen);
	if (buf_get_u64(&b, &l->packet) == -1 ||
	    buf_get_u64(&b, &l->read) == -1 ||
	    buf_get_u64(&b, &l->write) == -1 ||
	    buf_get_u64(&b, &l->handles) == -1)
		return -1;
	return 0;
}

int
sftp_parse_statvfs(const struct sftp_reply *r, struct sftp_statvfs *s)
{
	struct rbuf b;
	uint64_t *f[] = { &s->bsize, &s->frsize, &s->blocks, &s->bfree,
	    &s->bavail, &s->files, &s->ffree, &s->favail, &s->fsid, &s->flag,
	    &s->namemax };
	size_t i;

	if (r->type != SSH_FXP_EXTENDED_REPLY)
		return -1;
	rbuf_init(&b, r->data, r->datalen);
	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (buf_get_u64(&b, f[i]) == -1)
			return -1;
	return 0;
}

int
sftp_errno(uint32_t code)
{
	switch (code) {
	case SSH_FX_OK:
		return 0;
	case SSH_FX_NO_SUCH_FILE:
		return ENOENT;
	case SSH_FX_PERMISSION_DENIED:
		return EACCES;
	case SSH_FX_BAD_MESSAGE:
		return EINVAL;
	case SSH_FX_NO_CONNECTION:
		return ENOTCONN;
	case SSH_FX_OP_UNSUPPORTED:
		return EOPNOTSUPP;
	default:
		return EIO;
	}
}

const char *
sftp_type_name(uint8_t type)
{
	switch (type) {
	case SSH_FXP_VERSION:	return "VERSION";
	case SSH_FXP_STATUS:	return "STATUS";
	case SSH_FXP_HANDLE:	return "HANDLE";
	case SSH_FXP_DATA:	return "DATA";
	case SSH_FXP_NAME:	return "NAME";
	case SSH_FXP_ATTRS:	return "ATTRS";
	case SSH_FXP_EXTENDED_REPLY: return "EXTENDED_REPLY";
	default:		return "unknown";
	}
}

/* Start a packet: room for the length, the type and the id. */
static size_t
begin(struct wbuf *b, uint8_t type, uint32_t id)
{
	size_t start = b->len;

	buf_put_u32(b, 0);
	buf_put_u8(b, type);
	buf_put_u32(b, id);
	return start;
}

static void
end(struct wbuf *b, size_t start)
{
	buf_set_u32(b, start, (uint32_t)(b->len - start - 4));
}

void
sftp_put_init(struct wbuf *b)
{
	end(b, begin(b, SSH_FXP_INIT, SFTP_VERSION));
}

int
sftp_put_path(struct wbuf *b, uint8_t type, uint32_t id, const char *path,
    size_t len)
{
	size_t s;

	switch (type) {
	case SSH_FXP_LSTAT:
	case SSH_FXP_STAT:
	case SSH_FXP_OPENDIR:
	case SSH_FXP_REALPATH:
	case SSH_FXP_READLINK:
		break;
	default:
		errno = EINVAL;
		return -1;
	}
	if (len > SFTP_MAX_PATH) {
		errno = ENAMETOOLONG;
		return -1;
	}
	s = begin(b, type, id);
	buf_put_string(b, path, len);
	end(b, s);
	return 0;
}

int
sftp_put_handle(struct wbuf *b, uint8_t type, uint32_t id, const void *h,
    size_t len)
{
	size_t s;

	switch (type) {
	case SSH_FXP_CLOSE:
	case SSH_FXP_READDIR:
	case SSH_FXP_FSTAT:
		break;
	default:
		errno = EINVAL;
		return -1;
	}
	if (len > SFTP_MAX_HANDLE) {
		errno = ENAMETOOLONG;
		return -1;
	}
	s = begin(b, type, id);
	buf_put_string(b, h, len);
	end(b, s);
	return 0;
}

/* OPEN for reading only: the flags are fixed, no attributes are sent. */
int
sftp_put_open(struct wbuf *b, uint32_t id, const char *path, size_t len)
{
	size_t s;

	if (len > SFTP_MAX_PATH) {
		errno = ENAMETOOLONG;
		return -1;
	}
	s = begin(b, SSH_FXP_OPEN, id);
	buf_put_string(b, path, len);
	buf_put_u32(b, SSH_FXF_READ);
	buf_put_u32(b, 0);
	end(b, s);
	return 0;
}

int
sftp_put_read(struct wbuf *b, uint32_t id, const void *h, size_t hlen,
    uint64_t off, uint32_t len)
{
	size_t s;

	if (hlen > SFTP_MAX_HANDLE) {
		errno = ENAMETOOLONG;
		return -1;
	}
	s = begin(b, SSH_FXP_READ, id);
	buf_put_string(b, h, hlen);
	buf_put_u64(b, off);
	buf_put_u32(b, len);
	end(b, s);
	return 0;
}

/*
 * EXTENDED request with an optional path argument (arg may be NULL).
 * Only the read-only extensions are accepted: EINVAL for any other name.
 */
int
sftp_put_extended(struct wbuf *b, uint32_t id, const char *name,
    const char *arg, size_t arglen)
{
	size_t s;

	if (strcmp(name, "limits@openssh.com") != 0 &&
	    strcmp(name, "statvfs@openssh.com") != 0) {
		errno = EINVAL;
		return -1;
	}
	if (arglen > SFTP_MAX_PATH) {
		errno = ENAMETOOLONG;
		return -1;
	}
	s = begin(b, SSH_FXP_EXTENDED, id);
	buf_put_string(b, name, strlen(name));
	if (arg != NULL)
		buf_put_string(b, arg, arglen);
	end(b, s);
	return 0;
}
