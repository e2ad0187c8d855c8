#include <sys/uio.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "io.h"
#include "xalloc.h"

#define NO_LINK		UINT32_MAX	/* in the link length: not sent */
#define MAX_XATTRS	65536		/* per entry, as the kernel allows */

void
agent_put_ent(struct wbuf *b, const char *path, size_t len, int error,
    int listerr, const struct stat *st, const char *link, size_t linklen,
    int xerr, int aclerr, const struct xattrs *x)
{
	size_t i;

	buf_put_string(b, path, len);
	buf_put_u32(b, (uint32_t)error);
	buf_put_u8(b, listerr != 0);
	buf_put_u32(b, (uint32_t)st->st_mode);
	buf_put_u32(b, (uint32_t)st->st_uid);
	buf_put_u32(b, (uint32_t)st->st_gid);
	buf_put_u64(b, (uint64_t)st->st_nlink);
	buf_put_u64(b, (uint64_t)st->st_ino);
	buf_put_u64(b, (uint64_t)st->st_dev);
	buf_put_u64(b, (uint64_t)st->st_rdev);
	buf_put_u64(b, (uint64_t)st->st_size);
	buf_put_u64(b, (uint64_t)st->st_mtim.tv_sec);
	buf_put_u32(b, (uint32_t)st->st_mtim.tv_nsec);
	buf_put_u64(b, (uint64_t)st->st_ctim.tv_sec);
	buf_put_u32(b, (uint32_t)st->st_ctim.tv_nsec);
	if (link != NULL)
		buf_put_string(b, link, linklen);
	else
		buf_put_u32(b, NO_LINK);
	buf_put_u32(b, (uint32_t)xerr);
	buf_put_u32(b, (uint32_t)aclerr);
	buf_put_u32(b, x != NULL ? (uint32_t)x->n : 0);
	for (i = 0; x != NULL && i < x->n; i++) {
		buf_put_string(b, x->a[i].name, strlen(x->a[i].name));
		buf_put_string(b, x->a[i].val, x->a[i].len);
	}
}

/* A string of the frame as a new NUL-terminated one, refusing NULs. */
static char *
getstr(struct rbuf *b, size_t *len)
{
	const unsigned char *s;
	char *r;

	if (buf_get_string(b, &s, len) == -1 || memchr(s, '\0', *len) != NULL)
		return NULL;
	r = xmalloc(*len + 1);
	memcpy(r, s, *len);
	r[*len] = '\0';
	return r;
}

int
agent_get_ent(struct rbuf *b, struct agent_ent *e)
{
	uint32_t mode, uid, gid, err, aerr, mns, cns, n, i;
	uint64_t nlink, ino, dev, rdev, size, ms, cs;
	const unsigned char *v;
	uint8_t le;
	size_t len, vlen;
	char *name;

	memset(e, 0, sizeof *e);
	if ((e->path = getstr(b, &len)) == NULL ||
	    buf_get_u32(b, &err) == -1 || buf_get_u8(b, &le) == -1 ||
	    buf_get_u32(b, &mode) == -1 || buf_get_u32(b, &uid) == -1 ||
	    buf_get_u32(b, &gid) == -1 || buf_get_u64(b, &nlink) == -1 ||
	    buf_get_u64(b, &ino) == -1 || buf_get_u64(b, &dev) == -1 ||
	    buf_get_u64(b, &rdev) == -1 || buf_get_u64(b, &size) == -1 ||
	    buf_get_u64(b, &ms) == -1 || buf_get_u32(b, &mns) == -1 ||
	    buf_get_u64(b, &cs) == -1 || buf_get_u32(b, &cns) == -1 ||
	    size > INT64_MAX || mns >= 1000000000 || cns >= 1000000000 ||
	    err > INT_MAX)
		goto bad;
	e->error = (int)err;
	e->listerr = le != 0;
	e->st.st_mode = (mode_t)mode;
	e->st.st_uid = (uid_t)uid;
	e->st.st_gid = (gid_t)gid;
	e->st.st_nlink = (nlink_t)nlink;
	e->st.st_ino = (ino_t)ino;
	e->st.st_dev = (dev_t)dev;
	e->st.st_rdev = (dev_t)rdev;
	e->st.st_size = (off_t)size;
	e->st.st_blocks = (blkcnt_t)((size + 511) / 512);
	e->st.st_mtim.tv_sec = (time_t)(int64_t)ms;
	e->st.st_mtim.tv_nsec = (long)mns;
	e->st.st_ctim.tv_sec = (time_t)(int64_t)cs;
	e->st.st_ctim.tv_nsec = (long)cns;
	e->st.st_atim = e->st.st_mtim;
	if (rbuf_left(b) < 4)
		goto bad;
	if (b->p[b->off] == 0xff && b->p[b->off + 1] == 0xff &&
	    b->p[b->off + 2] == 0xff && b->p[b->off + 3] == 0xff)
		b->off += 4;
	else if ((e->link = getstr(b, &len)) == NULL || len == 0 ||
	    len >= PATH_MAX)
		goto bad;
	if (buf_get_u32(b, &err) == -1 || err > INT_MAX ||
	    buf_get_u32(b, &aerr) == -1 || aerr > INT_MAX ||
	    buf_get_u32(b, &n) == -1 || n > MAX_XATTRS)
		goto bad;
	e->xerr = (int)err;
	e->aclerr = (int)aerr;
	for (i = 0; i < n; i++) {
		if ((name = getstr(b, &len)) == NULL || len == 0 ||
		    buf_get_string(b, &v, &vlen) == -1) {
			free(name);
			goto bad;
		}
		xattrs_put(&e->x, name, v, vlen);
		free(name);
	}
	if (rbuf_left(b) != 0)
		goto bad;
	return 0;
bad:
	agent_ent_free(e);
	return -1;
}

void
agent_ent_free(struct agent_ent *e)
{
	free(e->path);
	free(e->link);
	xattrs_free(&e->x);
	memset(e, 0, sizeof *e);
}

int
agent_send(int fd, uint8_t type, const void *p, size_t len, const void *q,
    size_t qlen)
{
	unsigned char h[5];
	struct iovec iov[3];
	size_t total = 1 + len + qlen, done = 0, i;
	ssize_t n;

	if (len + qlen > AG_MAXFRAME - 1) {
		errno = EMSGSIZE;
		return -1;
	}
	h[0] = (unsigned char)(total >> 24);
	h[1] = (unsigned char)(total >> 16);
	h[2] = (unsigned char)(total >> 8);
	h[3] = (unsigned char)total;
	h[4] = type;
	iov[0].iov_base = h;
	iov[0].iov_len = sizeof h;
	iov[1].iov_base = (void *)(uintptr_t)p;
	iov[1].iov_len = len;
	iov[2].iov_base = (void *)(uintptr_t)q;
	iov[2].iov_len = qlen;
	total += 4;
	while (done < total) {
		n = writev(fd, iov, 3);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		done += (size_t)n;
		for (i = 0; i < 3 && n > 0; i++) {
			if ((size_t)n >= iov[i].iov_len) {
				n -= (ssize_t)iov[i].iov_len;
				iov[i].iov_len = 0;
			} else {
				iov[i].iov_base = (char *)iov[i].iov_base + n;
				iov[i].iov_len -= (size_t)n;
				n = 0;
			}
		}
	}
	return 0;
}

unsigned char *
agent_recv(int fd, uint8_t *type, size_t *len)
{
	unsigned char h[5], *p;
	uint32_t total;
	ssize_t n;

	if ((n = read_full(fd, h, sizeof h)) != (ssize_t)sizeof h) {
		if (n == 0)
			errno = 0;
		else if (n > 0)
			errno = EPROTO;
		return NULL;
	}
	total = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 |
	    (uint32_t)h[2] << 8 | h[3];
	if (total < 1 || total > AG_MAXFRAME) {
		errno = EPROTO;
		return NULL;
	}
	*type = h[4];
	*len = total - 1;
	p = xmalloc(*len + 1);
	if ((n = read_full(fd, p, *len)) != (ssize_t)*len) {
		free(p);
		if (n >= 0)
			errno = EPROTO;
		return NULL;
	}
	p[*len] = '\0';
	return p;
}
