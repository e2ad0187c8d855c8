/* libFuzzer target: session-stamped file names (increments, data dir). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "repo.h"
#include "timespec.h"
#include "xalloc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, *again;
	size_t base;
	int64_t t;
	int type, gz, style;

	s = xmalloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	/* file names hold no NUL: only those can be written back */
	if (incname_parse(s, size, &base, &t, &type, &gz) == 0 &&
	    memchr(s, '\0', size) == NULL) {
		if (base > size || type < INC_SNAPSHOT || type > INC_DATA)
			abort();
		/*
		 * what parses can be written again in its own spelling
		 * (colons or dashes), and reads back the same
		 */
		style = timestr_style(s + base + 1);
		s[base] = '\0';
		again = incname_make(s, t, type, gz, style);
		{
			size_t b2;
			int64_t t2;
			int ty2, gz2;

			if (incname_parse(again, strlen(again), &b2, &t2, &ty2,
			    &gz2) != 0 || b2 != base || t2 != t || ty2 != type ||
			    gz2 != gz || timestr_style(again + b2 + 1) != style)
				abort();
		}
		free(again);
	}
	free(s);
	return 0;
}
