/* Unit tests for number.c: decimal integers in a range, all of the text. */
#include <limits.h>
#include <string.h>

#include "number.h"
#include "tap.h"

static int
is(const char *s, long long lo, long long hi, long long want)
{
	long long v = -12345;

	return number_in(s, lo, hi, &v) == 0 && v == want;
}

static int
bad(const char *s, long long lo, long long hi)
{
	long long v = -12345;

	return number_in(s, lo, hi, &v) == -1 && v == -12345;
}

static int
size_is(const char *s, uint64_t want)
{
	uint64_t v = 12345;

	return number_size(s, &v) == 0 && v == want;
}

static int
size_bad(const char *s)
{
	uint64_t v = 12345;

	return number_size(s, &v) == -1 && v == 12345;
}

int
main(void)
{
	char h[32];

	ok(is("1", 1, 86400, 1), "the lowest");
	ok(is("86400", 1, 86400, 86400), "the highest");
	ok(is("-5", -10, 10, -5), "a negative number");
	ok(is("9223372036854775807", 0, LLONG_MAX, LLONG_MAX), "LLONG_MAX");
	ok(bad("0", 1, 86400), "below the range");
	ok(bad("86401", 1, 86400), "above it");
	ok(bad("", 0, 10), "nothing");
	ok(bad("-", 0, 10), "a sign alone");
	ok(bad("5x", 0, 10), "trailing text");
	ok(bad("x5", 0, 10), "leading text");
	ok(bad("9223372036854775808", 0, LLONG_MAX), "out of range of the type");
	ok(size_is("0", 0), "size: nothing");
	ok(size_is("1500", 1500), "size: bytes");
	ok(size_is("2K", 2048) && size_is("2kib", 2048) && size_is("2KB", 2048),
	    "size: K, kib, KB");
	ok(size_is("3G", 3ULL << 30), "size: G");
	ok(size_is("16777215T", 16777215ULL << 40), "size: the most T");
	ok(size_bad("16777216T"), "size: past 64 bits");
	ok(size_bad("18446744073709551616"), "size: past 64 bits, no unit");
	ok(size_bad("") && size_bad("M") && size_bad("-1M") && size_bad("1X") &&
	    size_bad("1MM") && size_bad(" 1M"), "size: junk");
	ok(strcmp(number_human(117, h, sizeof h), "117 bytes") == 0 &&
	    strcmp(number_human(65536, h, sizeof h), "64.0 KB") == 0 &&
	    strcmp(number_human(3ULL << 30, h, sizeof h), "3.0 GB") == 0,
	    "human: bytes, KB, GB");
	return tap_done();
}
