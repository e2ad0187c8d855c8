#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

const char *
number_human(uint64_t n, char *buf, size_t len)
{
	static const char *unit[] = { "bytes", "KB", "MB", "GB", "TB", "PB" };
	double v = (double)n;
	int i = 0;

	while (v >= 1024 && i < 5) {
		v /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(buf, len, "%" PRIu64 " bytes", n);
	else
		snprintf(buf, len, "%.1f %s", v, unit[i]);
	return buf;
}

int
number_size(const char *s, uint64_t *v)
{
	static const char units[] = "kmgt";
	const char *u;
	char *end;
	unsigned long long n;
	int shift = 0;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	if (*end != '\0') {
		if ((u = strchr(units, end[0] | 0x20)) == NULL)
			return -1;
		shift = 10 * (int)(u - units + 1);
		end++;
		if ((end[0] | 0x20) == 'i')
			end++;
		if ((end[0] | 0x20) == 'b')
			end++;
		if (*end != '\0')
			return -1;
	}
	if (shift > 0 && n > (UINT64_MAX >> shift))
		return -1;
	*v = (uint64_t)n << shift;
	return 0;
}
