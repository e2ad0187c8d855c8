#include <errno.h>
#include <stdlib.h>

#include "number.h"

int
number_in(const char *s, long long lo, long long hi, long long *v)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || n < lo || n > hi)
		return -1;
	*v = n;
	return 0;
}
