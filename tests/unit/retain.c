/* Unit tests for retain.c: restic's forget rules over session times. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "retain.h"
#include "timespec.h"
#include "tap.h"

/* Seconds since the epoch of a UTC date and hour (no time zone needed). */
static int64_t
utc(int y, int m, int d, int h)
{
	return days_from_civil(y, (unsigned)m, (unsigned)d) * 86400 + h * 3600;
}

/* keep[] as "1 0 1 ...", oldest first. */
static const char *
kept(const struct retain *r, const int64_t *t, size_t n)
{
	static char buf[256];
	int keep[32];
	size_t i;

	retain_apply(r, t, n, keep, NULL);
	buf[0] = '\0';
	for (i = 0; i < n; i++)
		strcat(buf, keep[i] ? (i ? " 1" : "1") : (i ? " 0" : "0"));
	return buf;
}

static void
check(const struct retain *r, const int64_t *t, size_t n, const char *want,
    const char *what)
{
	const char *got = kept(r, t, n);

	if (!ok(strcmp(got, want) == 0, "%s", what))
		printf("#   got %s, want %s\n", got, want);
}

int
main(void)
{
	struct retain r;
	char *why[4];
	int keep[4];
	int64_t t[8];

	setenv("TZ", "UTC0", 1);
	tzset();

	/* ISO weeks: 2020-12-28 (Mon) and 2021-01-03 (Sun) are 2020-W53,
	 * 2021-01-04 starts 2021-W01 */
	retain_init(&r);
	r.n[RET_WEEKLY] = 5;
	t[0] = utc(2020, 12, 28, 2);
	t[1] = utc(2021, 1, 3, 2);
	t[2] = utc(2021, 1, 4, 2);
	check(&r, t, 3, "0 1 1", "weekly: the week that spans a new year");
	/* 2024-12-29 (Sun) is 2024-W52; 2024-12-30 (Mon) is 2025-W01 */
	t[0] = utc(2024, 12, 29, 2);
	t[1] = utc(2024, 12, 30, 2);
	t[2] = utc(2025, 1, 5, 2);
	check(&r, t, 3, "1 0 1", "weekly: a year whose week 1 starts in December");

	/* restic: the count is of periods that have a session, newest first */
	retain_init(&r);
	r.n[RET_DAILY] = 2;
	t[0] = utc(2023, 1, 1, 1);
	t[1] = utc(2023, 1, 1, 23);
	t[2] = utc(2023, 1, 5, 1);	/* a gap: days without sessions */
	t[3] = utc(2023, 1, 5, 2);
	check(&r, t, 4, "0 1 0 1", "daily 2: the newest of each of two days");
	r.n[RET_DAILY] = 0;
	check(&r, t, 4, "0 0 0 1", "daily 0: the newest alone stays");
	retain_init(&r);
	r.n[RET_LAST] = 2;
	r.n[RET_MONTHLY] = 2;
	t[0] = utc(2022, 11, 30, 2);
	t[1] = utc(2022, 12, 31, 2);
	t[2] = utc(2023, 1, 1, 2);
	t[3] = utc(2023, 1, 2, 2);
	check(&r, t, 4, "0 1 1 1", "last 2 and monthly 2 overlap");
	retain_init(&r);
	r.n[RET_YEARLY] = 3;
	r.n[RET_HOURLY] = 1;
	check(&r, t, 4, "0 1 0 1", "yearly 3: the newest of each of two years");
	retain_init(&r);
	r.since = utc(2023, 1, 1, 2);
	check(&r, t, 4, "0 0 1 1", "since: at or after");

	/* the reasons, with each rule's count */
	retain_init(&r);
	r.n[RET_DAILY] = 2;
	r.n[RET_MONTHLY] = 1;
	retain_apply(&r, t, 4, keep, why);
	ok(why[0] == NULL && why[1] == NULL, "no reason for the removed");
	ok(why[2] != NULL && strcmp(why[2], "daily 2") == 0,
	    "the second day: \"%s\"", why[2] ? why[2] : "(null)");
	ok(why[3] != NULL && strcmp(why[3], "daily 1, monthly 1") == 0,
	    "the newest: \"%s\"", why[3] ? why[3] : "(null)");
	free(why[2]);
	free(why[3]);
	retain_init(&r);
	r.n[RET_DAILY] = 0;
	retain_apply(&r, t, 1, keep, why);
	ok(keep[0] && why[0] != NULL && strcmp(why[0], "newest") == 0,
	    "a lone newest session: kept as the newest");
	free(why[0]);

	/* days are local: 2023-01-02T03:00Z is still January 1st at UTC-5 */
	retain_init(&r);
	r.n[RET_DAILY] = 2;
	t[0] = utc(2023, 1, 1, 12);
	t[1] = utc(2023, 1, 2, 3);
	t[2] = utc(2023, 1, 2, 12);
	check(&r, t, 3, "1 0 1", "daily in UTC");
	setenv("TZ", "EST5", 1);
	tzset();
	check(&r, t, 3, "0 1 1", "daily in UTC-5");
	return tap_done();
}
