/* Unit tests for number.c: decimal integers in a range, all of the text. */
#include <limits.h>

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

int
main(void)
{
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
	return tap_done();
}
