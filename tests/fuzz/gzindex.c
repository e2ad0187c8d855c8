/*
 * libFuzzer target: the member index at the end of a metadata file
 * (gz.h), which restore -m reads from repositories others may write.
 * Whatever the file holds, gzindex_read never crashes; an index it
 * accepts has offsets rising from 0 inside the file, and reading from
 * any member it lists ends cleanly or with an error.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gz.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char	 path[] = "/tmp/fuzz-gzindex.XXXXXX";
static int	 made;

static void
cleanup(void)
{
	unlink(path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gzindex *ix;
	struct gzr *r;
	const char *key;
	char *rec;
	size_t i, n, kl, len;
	unsigned long lines;
	uint64_t off, last = 0;
	int fd, k;

	if (!made) {
		if ((fd = mkstemp(path)) == -1)
			abort();
		close(fd);
		made = 1;
		atexit(cleanup);
	}
	if ((fd = open(path, O_RDWR | O_TRUNC)) == -1 ||
	    (size > 0 && write(fd, data, size) != (ssize_t)size))
		abort();
	if ((ix = gzindex_read(fd)) != NULL) {
		n = gzindex_count(ix);
		for (i = 0; i < n; i++) {
			gzindex_entry(ix, i, &off, &key, &kl);
			if ((i == 0 && off != 0) || (i > 0 && off <= last) ||
			    off >= size || (kl > 0 && key == NULL))
				abort();
			last = off;
		}
		for (i = 0; i < n; i += 1 + n / 3) {
			gzindex_entry(ix, i, &off, &key, &kl);
			if ((r = gzr_open_at(dup(fd), 1, (off_t)off)) == NULL)
				continue;
			for (k = 0; k < 10000 && gzr_record(r, "File ", &rec,
			    &len, 1 << 16, &lines) == 1; k++)
				;
			gzr_close(r);
		}
		gzindex_free(ix);
	}
	close(fd);
	return 0;
}
