/*
 * SFTP codec: framing, reply decoding (well-formed and malformed),
 * attributes, NAME iteration, extensions, and the request encoders.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "sftp.h"
#include "tap.h"

/* Build a packet body (no length) in w from a type, an id and fields. */
static void
start(struct wbuf *w, uint8_t type, uint32_t id)
{
	w->len = 0;
	buf_put_u8(w, type);
	buf_put_u32(w, id);
}

static void
put_attrs(struct wbuf *w, uint32_t flags)
{
	buf_put_u32(w, flags);
	if (flags & SSH_FILEXFER_ATTR_SIZE)
		buf_put_u64(w, 1234567890123ULL);
	if (flags & SSH_FILEXFER_ATTR_UIDGID) {
		buf_put_u32(w, 1000);
		buf_put_u32(w, 100);
	}
	if (flags & SSH_FILEXFER_ATTR_PERMISSIONS)
		buf_put_u32(w, 0100644);
	if (flags & SSH_FILEXFER_ATTR_ACMODTIME) {
		buf_put_u32(w, 1);
		buf_put_u32(w, 1700000000);
	}
}

/*
 * Every proper prefix of a valid packet must be rejected, except where
 * the format allows it: a STATUS without message or without language tag
 * (old servers), and the open-ended VERSION, EXTENDED_REPLY and NAME
 * (whose entries are checked one by one).
 */
static int
prefixes_fail(const struct wbuf *w)
{
	struct sftp_reply r;
	size_t n;

	for (n = 0; n < w->len; n++)
		if (sftp_parse(w->p, n, &r) == 0 && r.type != SSH_FXP_VERSION &&
		    r.type != SSH_FXP_EXTENDED_REPLY &&
		    !(r.type == SSH_FXP_STATUS &&
		    (n == 9 || n == w->len - 4)) &&
		    !(r.type == SSH_FXP_NAME))
			return 0;
	return 1;
}

int
main(void)
{
	struct wbuf w = { 0 };
	struct sftp_reply r;
	struct sftp_name nm;
	struct sftp_limits lim;
	struct sftp_statvfs sv;
	struct rbuf rb;
	const unsigned char *n, *d;
	unsigned char big[8];
	size_t nl, dl, total;
	uint32_t u32;
	uint64_t u64;
	int i, rc;

	/* buf */
	rbuf_init(&rb, "\x01\x02\x03", 3);
	ok(buf_get_u32(&rb, &u32) == -1 && rb.off == 0,
	    "buf_get_u32 with 3 bytes fails and consumes nothing");
	memcpy(big, "\x00\x00\x00\x05" "abc", 7);
	rbuf_init(&rb, big, 7);
	ok(buf_get_string(&rb, &n, &nl) == -1 && rb.off == 0,
	    "string longer than the buffer fails");
	memcpy(big, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	rbuf_init(&rb, big, 8);
	ok(buf_get_u64(&rb, &u64) == 0 && u64 == 0x0102030405060708ULL,
	    "buf_get_u64 is big-endian");

	/* framing */
	ok(sftp_frame((const unsigned char *)"\0\0", 2, 1000, &total) == 0,
	    "frame: partial length needs more");
	ok(sftp_frame((const unsigned char *)"\0\0\0\0", 4, 1000, &total) == -1,
	    "frame: zero length is malformed");
	ok(sftp_frame((const unsigned char *)"\0\x10\0\0", 4, 262144,
	    &total) == -1, "frame: 1 MiB packet is oversized");
	ok(sftp_frame((const unsigned char *)"\0\0\0\x02\x65", 5, 1000,
	    &total) == 0, "frame: incomplete body needs more");
	ok(sftp_frame((const unsigned char *)"\0\0\0\x01\x65\x66", 6, 1000,
	    &total) == 1 && total == 5, "frame: complete packet");

	/* STATUS */
	start(&w, SSH_FXP_STATUS, 7);
	buf_put_u32(&w, SSH_FX_NO_SUCH_FILE);
	buf_put_string(&w, "No such file", 12);
	buf_put_string(&w, "", 0);
	ok(sftp_parse(w.p, w.len, &r) == 0 && r.type == SSH_FXP_STATUS &&
	    r.id == 7 && r.code == 2 && r.msglen == 12,
	    "STATUS decodes");
	ok(sftp_errno(r.code) == ENOENT, "NO_SUCH_FILE is ENOENT");
	ok(sftp_errno(SSH_FX_FAILURE) == EIO, "FAILURE is EIO, not EPERM");
	ok(sftp_errno(SSH_FX_PERMISSION_DENIED) == EACCES, "EACCES");
	ok(sftp_errno(99) == EIO, "unknown code is EIO");
	ok(prefixes_fail(&w), "every truncated STATUS fails");

	/* HANDLE */
	start(&w, SSH_FXP_HANDLE, 1);
	buf_put_string(&w, "\0\0\0\1", 4);
	ok(sftp_parse(w.p, w.len, &r) == 0 && r.datalen == 4, "HANDLE decodes");
	ok(prefixes_fail(&w), "every truncated HANDLE fails");
	start(&w, SSH_FXP_HANDLE, 1);
	buf_put_u32(&w, 257);
	for (i = 0; i < 257; i++)
		buf_put_u8(&w, 'h');
	ok(sftp_parse(w.p, w.len, &r) == -1, "a 257-byte handle is refused");

	/* DATA */
	start(&w, SSH_FXP_DATA, 3);
	buf_put_string(&w, "hello", 5);
	ok(sftp_parse(w.p, w.len, &r) == 0 && r.datalen == 5 &&
	    memcmp(r.data, "hello", 5) == 0, "DATA decodes");
	start(&w, SSH_FXP_DATA, 3);
	buf_put_u32(&w, 0xffffffff);
	buf_put_bytes(&w, "abc", 3);
	ok(sftp_parse(w.p, w.len, &r) == -1, "DATA claiming 4 GiB fails");
	start(&w, SSH_FXP_DATA, 3);
	buf_put_string(&w, "hello", 5);
	buf_put_u8(&w, 0);
	ok(sftp_parse(w.p, w.len, &r) == -1, "DATA with trailing bytes fails");

	/* ATTRS */
	start(&w, SSH_FXP_ATTRS, 4);
	put_attrs(&w, 0xf);
	ok(sftp_parse(w.p, w.len, &r) == 0 && r.attrs.size == 1234567890123ULL &&
	    r.attrs.uid == 1000 && r.attrs.gid == 100 &&
	    r.attrs.mode == 0100644 && r.attrs.mtime == 1700000000,
	    "ATTRS with every field decodes");
	ok(prefixes_fail(&w), "every truncated ATTRS fails");
	start(&w, SSH_FXP_ATTRS, 4);
	put_attrs(&w, SSH_FILEXFER_ATTR_EXTENDED | SSH_FILEXFER_ATTR_SIZE);
	buf_put_u32(&w, 1);
	buf_put_string(&w, "t", 1);
	buf_put_string(&w, "d", 1);
	ok(sftp_parse(w.p, w.len, &r) == 0, "extended attribute pairs skip");
	start(&w, SSH_FXP_ATTRS, 4);
	buf_put_u32(&w, SSH_FILEXFER_ATTR_EXTENDED);
	buf_put_u32(&w, 0x7fffffff);
	ok(sftp_parse(w.p, w.len, &r) == -1,
	    "2^31 extended pairs in a tiny packet fail at once");

	/* NAME */
	start(&w, SSH_FXP_NAME, 5);
	buf_put_u32(&w, 2);
	for (i = 0; i < 2; i++) {
		buf_put_string(&w, i ? "b" : "a", 1);
		buf_put_string(&w, "long", 4);
		put_attrs(&w, 0xf);
	}
	ok(sftp_parse(w.p, w.len, &r) == 0 && r.count == 2, "NAME decodes");
	ok(sftp_name_next(&r, &nm) == 1 && nm.namelen == 1 &&
	    nm.name[0] == 'a' && nm.attrs.mode == 0100644, "first entry");
	ok(sftp_name_next(&r, &nm) == 1 && nm.name[0] == 'b', "second entry");
	ok(sftp_name_next(&r, &nm) == 0, "then the end");
	w.len -= 3;
	ok(sftp_parse(w.p, w.len, &r) == 0 &&
	    sftp_name_next(&r, &nm) == 1 && sftp_name_next(&r, &nm) == -1,
	    "a truncated last entry is an error");
	start(&w, SSH_FXP_NAME, 5);
	buf_put_u32(&w, 1000000);
	buf_put_string(&w, "a", 1);
	ok(sftp_parse(w.p, w.len, &r) == -1,
	    "a count the packet cannot hold fails");
	start(&w, SSH_FXP_NAME, 5);
	buf_put_u32(&w, 0);
	buf_put_u32(&w, 0);
	ok(sftp_parse(w.p, w.len, &r) == 0 && sftp_name_next(&r, &nm) == -1,
	    "bytes after the last entry are an error");

	/* VERSION */
	start(&w, SSH_FXP_VERSION, 3);
	buf_put_string(&w, "limits@openssh.com", 18);
	buf_put_string(&w, "1", 1);
	ok(sftp_parse(w.p, w.len, &r) == 0 && r.id == 3, "VERSION decodes");
	rc = sftp_ext_next(&r, &n, &nl, &d, &dl);
	ok(rc == 1 && nl == 18 && dl == 1, "extension pair");
	ok(sftp_ext_next(&r, &n, &nl, &d, &dl) == 0, "then the end");
	start(&w, SSH_FXP_VERSION, 3);
	buf_put_string(&w, "x", 1);
	ok(sftp_parse(w.p, w.len, &r) == 0 &&
	    sftp_ext_next(&r, &n, &nl, &d, &dl) == -1,
	    "an extension without data is an error");

	/* EXTENDED_REPLY */
	start(&w, SSH_FXP_EXTENDED_REPLY, 9);
	buf_put_u64(&w, 262144);
	buf_put_u64(&w, 261120);
	buf_put_u64(&w, 261120);
	buf_put_u64(&w, 1019);
	ok(sftp_parse(w.p, w.len, &r) == 0 &&
	    sftp_parse_limits(&r, &lim) == 0 && lim.read == 261120 &&
	    lim.handles == 1019, "limits@openssh.com decodes");
	w.len -= 1;
	ok(sftp_parse(w.p, w.len, &r) == 0 &&
	    sftp_parse_limits(&r, &lim) == -1, "short limits reply fails");
	ok(sftp_parse_statvfs(&r, &sv) == -1, "short statvfs reply fails");

	/* unknown types and garbage */
	start(&w, 42, 1);
	ok(sftp_parse(w.p, w.len, &r) == -1, "unknown reply type fails");
	start(&w, SSH_FXP_OPEN, 1);
	ok(sftp_parse(w.p, w.len, &r) == -1, "a request type as reply fails");
	ok(sftp_parse(w.p, 0, &r) == -1, "empty packet fails");

	/* encoders */
	w.len = 0;
	ok(sftp_put_path(&w, SSH_FXP_LSTAT, 9, "/a", 2) == 0 && w.len == 15 &&
	    memcmp(w.p, "\0\0\0\x0b\x07\0\0\0\x09\0\0\0\x02/a", 15) == 0,
	    "LSTAT encodes");
	w.len = 0;
	ok(sftp_put_open(&w, 1, "/f", 2) == 0 && w.len == 23 &&
	    memcmp(w.p + 15, "\0\0\0\x01\0\0\0\0", 8) == 0,
	    "OPEN asks for READ only, with no attributes");
	w.len = 0;
	errno = 0;
	ok(sftp_put_path(&w, 13, 1, "/f", 2) == -1 && errno == EINVAL &&
	    w.len == 0, "REMOVE cannot be encoded");
	ok(sftp_put_path(&w, 18, 1, "/f", 2) == -1, "RENAME cannot be encoded");
	ok(sftp_put_handle(&w, 10, 1, "h", 1) == -1,
	    "FSETSTAT cannot be encoded");
	ok(sftp_put_extended(&w, 1, "posix-rename@openssh.com", "a", 1) == -1,
	    "posix-rename cannot be encoded");
	ok(sftp_put_extended(&w, 1, "statvfs@openssh.com", "/", 1) == 0,
	    "statvfs encodes");
	w.len = 0;
	ok(sftp_put_read(&w, 2, "h", 1, 1ULL << 40, 32768) == 0 &&
	    w.len == 26, "READ encodes");
	{
		char *p = malloc(SFTP_MAX_PATH + 1);

		memset(p, 'a', SFTP_MAX_PATH + 1);
		ok(sftp_put_path(&w, SSH_FXP_STAT, 1, p, SFTP_MAX_PATH + 1) ==
		    -1 && errno == ENAMETOOLONG, "overlong path is refused");
		free(p);
	}
	wbuf_free(&w);
	return tap_done();
}
