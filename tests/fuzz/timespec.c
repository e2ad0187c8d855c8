/* libFuzzer target: user time specifications and file-name times. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "timespec.h"
#include "xalloc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int64_t sess[] = { 1700000000, 1700086400 };
	char *s, buf[TIMESTR_LEN];
	int64_t t;

	s = xmalloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	timespec_parse(s, 1700200000, sess, 2, &t);
	if (timestr_parse(s, size, &t) == 0) {
		timestr_format(t, buf);
		if (strlen(buf) >= TIMESTR_LEN)
			abort();
	}
	free(s);
	return 0;
}
