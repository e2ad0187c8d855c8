/*
 * Replays fuzz inputs through a libFuzzer target without libFuzzer, so
 * `make check` can run every seed corpus with the normal (musl) build:
 * each argument is a file handed once to LLVMFuzzerTestOneInput.
 */
#include <err.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "io.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
main(int argc, char *argv[])
{
	char *buf;
	size_t len;
	int i;

	for (i = 1; i < argc; i++) {
		if (read_file_at(AT_FDCWD, argv[i], &buf, &len, 1 << 24) == -1)
			err(111, "read %s", argv[i]);
		LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
		free(buf);
	}
	printf("replayed %d inputs\n", argc - 1);
	return 0;
}
