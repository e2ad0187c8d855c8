#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "copy.h"
#include "delta.h"
#include "io.h"
#include "xalloc.h"

#define BLOCK	(128 * 1024)

void
sha1_hex(struct sha1_ctx *c, char *out)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t d[SHA1_DIGEST_SIZE];
	int i;

	sha1_digest(c, sizeof d, d);
	for (i = 0; i < SHA1_DIGEST_SIZE; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[40] = '\0';
}

static int
allzero(const char *p, size_t n)
{
	static const char zero[4096];
	size_t k;

	while (n > 0) {
		k = n < sizeof zero ? n : sizeof zero;
		if (memcmp(p, zero, k) != 0)
			return 0;
		p += k;
		n -= k;
	}
	return 1;
}

int
copy_fd(int in, int out, struct sigmaker *sig, struct copyres *res, int *werr)
{
	static char *buf;
	struct sha1_ctx c;
	ssize_t n;
	off_t pos = 0;
	int hole = 0;

	if (buf == NULL)
		buf = xmalloc(BLOCK);
	*werr = 0;
	sha1_init(&c);
	res->bytes = 0;
	for (;;) {
		if ((n = read_full(in, buf, BLOCK)) == -1)
			return -1;
		if (n == 0)
			break;
		sha1_update(&c, (size_t)n, (uint8_t *)buf);
		if (sig != NULL && sig_update(sig, buf, (size_t)n) == -1) {
			*werr = 1;
			return -1;
		}
		res->bytes += (uint64_t)n;
		pos += n;
		if (out == -1)
			continue;
		if (n == BLOCK && allzero(buf, BLOCK)) {
			if (lseek(out, BLOCK, SEEK_CUR) == -1)
				goto wfail;
			hole = 1;
			continue;
		}
		if (write_full(out, buf, (size_t)n) == -1)
			goto wfail;
		hole = 0;
	}
	/* a trailing hole needs the size set explicitly */
	if (out != -1 && hole && ftruncate(out, pos) == -1)
		goto wfail;
	sha1_hex(&c, res->sha1);
	return 0;
wfail:
	*werr = 1;
	return -1;
}
