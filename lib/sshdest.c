#include <string.h>

#include "sshdest.h"

int
sshdest_loopback(const char *dest)
{
	const char *h = strrchr(dest, '@');

	h = h != NULL ? h + 1 : dest;
	return strcmp(h, "localhost") == 0 || strncmp(h, "127.", 4) == 0 ||
	    strcmp(h, "::1") == 0 || strcmp(h, "[::1]") == 0;
}
