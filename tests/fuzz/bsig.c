/*
 * libFuzzer target: a block signature as snap --server receives it from
 * a client (lib/bsig.h), loaded and scanned against data.  The first two
 * bytes give the signature's length; the rest after it is the data.
 */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "bsig.h"
#include "io.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
none(void *arg, uint64_t off, uint64_t len)
{
	(void)arg;
	(void)off;
	(void)len;
	return 0;
}

static int
lit(void *arg, const char *p, size_t n)
{
	(void)p;
	*(size_t *)arg += n;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[] = "/tmp/fuzz-bsig.XXXXXX";
	struct bsig *b;
	size_t split, n = 0;
	struct bsig_out o = { none, lit, &n };
	int fd;

	if (size < 2)
		return 0;
	split = (size_t)data[0] << 8 | data[1];
	if (split > size - 2)
		split = size - 2;
	if ((b = bsig_load(data + 2, split)) == NULL)
		return 0;
	if ((fd = mkstemp(path)) == -1)
		abort();
	unlink(path);
	write_full(fd, data + 2 + split, size - 2 - split);
	if (bsig_scan(b, fd, 0, 0, &o) == -1)
		abort();
	bsig_free(b);
	close(fd);
	return 0;
}
