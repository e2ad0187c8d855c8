/* libFuzzer target: the mirror_metadata record parser and writer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "gz.h"
#include "meta.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rec r = { 0 }, c = { 0 };
	char err[256];
	int fd[2];
	struct gzw *w;

	if (meta_parse((const char *)data, size, &r, err, sizeof err) == 0) {
		rec_copy(&c, &r);
		if (!rec_same(&r, &c))
			abort();
		/* what parses must also be writable */
		if ((fd[1] = open("/dev/null", 1)) != -1) {
			w = gzw_open(fd[1], 1);
			meta_write(w, &r);
			gzw_close(w, 0);
		}
	} else if (strlen(err) == 0)
		abort();
	rec_free(&r);
	rec_free(&c);
	(void)fd[0];
	return 0;
}
