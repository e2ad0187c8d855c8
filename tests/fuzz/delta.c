/*
 * libFuzzer target: applying a delta (rdiff-backup's .diff increments,
 * plain or gzip) to a basis.  The first byte splits the input into the
 * basis and the delta and says whether the delta is gzip.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "delta.h"
#include "gz.h"
#include "io.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
count(void *arg, const void *p, size_t n)
{
	(void)p;
	*(size_t *)arg += n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char bpath[] = "/tmp/fuzz-basis.XXXXXX", dpath[] = "/tmp/fuzz-delta.XXXXXX";
	size_t split, out = 0;
	int b, d;
	struct gzr *r;

	if (size < 1)
		return 0;
	/* low 7 bits: the basis length; the top bit: the delta is gzip */
	split = (data[0] & 0x7f) < size - 1 ? (data[0] & 0x7f) : size - 1;
	if ((b = mkstemp(bpath)) == -1 || (d = mkstemp(dpath)) == -1)
		abort();
	unlink(bpath);
	unlink(dpath);
	write_full(b, data + 1, split);
	write_full(d, data + 1 + split, size - 1 - split);
	lseek(d, 0, SEEK_SET);
	if ((r = gzr_open(d, data[0] >> 7)) != NULL) {
		patch_apply(b, r, -1, UINT64_MAX, count, &out);
		gzr_close(r);
	} else
		close(d);
	close(b);
	return 0;
}
