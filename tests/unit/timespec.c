/* Unit tests for timespec.c: file-name times and user time specs. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tap.h"
#include "timespec.h"

static int64_t sess[] = { 1700000000, 1700086400, 1700172800 };
static const int64_t now = 1700200000;

static int
spec(const char *s, int64_t want)
{
	int64_t t;

	return timespec_parse(s, now, sess, 3, &t) == 0 && t == want;
}

static int
bad(const char *s)
{
	int64_t t;

	return timespec_parse(s, now, sess, 3, &t) == -1;
}

int
main(void)
{
	char buf[TIMESTR_LEN];
	int64_t t;

	setenv("TZ", "UTC", 1);
	timestr_format(1700000000, buf);
	ok(strcmp(buf, "2023-11-14T22:13:20Z") == 0, "format %s", buf);
	timestr_stamp(1700000000, TS_DASHES, buf);
	ok(strcmp(buf, "2023-11-14T22-13-20Z") == 0, "format with dashes %s", buf);
	ok(timestr_style(buf) == TS_DASHES, "its style is dashes");
	timestr_stamp(1700000000, TS_COLONS, buf);
	ok(strcmp(buf, "2023-11-14T22:13:20Z") == 0 && timestr_style(buf) ==
	    TS_COLONS, "format with colons, and its style");
	ok(timestr_style("2023-11-14T23:13:20+01:00") == TS_COLONS &&
	    timestr_style("2023-11-15T03-43-20+05-30") == TS_DASHES,
	    "the style of times with an offset");
	timestr_format(-1, buf);
	ok(strcmp(buf, "1969-12-31T23:59:59Z") == 0, "format before 1970: %s", buf);
	ok(timestr_parse("2023-11-14T22:13:20Z", 20, &t) == 0 && t == 1700000000,
	    "parse Z");
	ok(timestr_parse("2023-11-14T23:13:20+01:00", 25, &t) == 0 &&
	    t == 1700000000, "parse +01:00");
	ok(timestr_parse("2023-11-14T17:13:20-05:00", 25, &t) == 0 &&
	    t == 1700000000, "parse -05:00");
	ok(timestr_parse("2023-11-15T03-43-20+05-30", 25, &t) == 0 &&
	    t == 1700000000, "parse compatible timestamps with - separators");
	ok(timestr_parse("2023-11-14T22:13:20", 19, &t) == -1, "a file name time needs a zone");
	ok(timestr_parse("2023-13-14T22:13:20Z", 20, &t) == -1, "month 13 refused");
	ok(timestr_parse("2023-11-14T22:13:20+1:00", 24, &t) == -1, "short offset refused");
	ok(timestr_parse("2023-11-14T22:13", 16, &t) == -1, "truncated refused");

	ok(spec("now", now), "now");
	ok(spec("1700086400", 1700086400) && spec("10", 10), "epoch seconds (10 is not 10 sessions)");
	ok(spec("2023-11-15T22:13:20Z", 1700086400), "W3C with zone");
	ok(spec("2023-11-15T22:13:20", 1700086400), "W3C without zone (local, TZ=UTC)");
	ok(spec("0B", 1700172800) && spec("1B", 1700086400) && spec("2B", 1700000000),
	    "nB counts sessions back");
	ok(spec("3B", 1700000000) && spec("99999999999999999999B", 1700000000),
	    "nB beyond the oldest gives the oldest");
	ok(spec("Wed Nov 15 22:13:20 2023", 1700086400), "ctime-style date");
	ok(spec("10D", now - 864000) && spec("3D64s", now - 3 * 86400 - 64) &&
	    spec("2h30m", now - 9000) && spec("1W", now - 604800) &&
	    spec("1M", now - 2592000) && spec("1Y", now - 31536000) &&
	    spec("10m", now - 600) && spec("60s", now - 60), "intervals");
	ok(spec("2023-11-15", 1700006400) && spec("2023/11/15", 1700006400) &&
	    spec("11/15/2023", 1700006400) && spec("11-15-2023", 1700006400),
	    "dates at local midnight, month before day");
	ok(spec("2023-1-5", 1672876800), "date with one-digit month and day");
	ok(bad("2 days") && bad("1d") && bad("2h 30m") && bad("m10") &&
	    bad("D") && bad("1B2") && bad("") && bad("yesterday") &&
	    bad("2023-13-01") && bad("15/11/2023") && bad("-5D") &&
	    bad("99999999999999999999999") && bad("9999999999999999999999D"),
	    "malformed specs are refused");
	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	ok(spec("2023-11-15", 1700002800), "dates follow TZ (Europe/Berlin)");
	return tap_done();
}
