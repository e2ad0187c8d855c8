#include <stdio.h>
#include <string.h>
#include <time.h>

#include "retain.h"
#include "xalloc.h"

static const char *names[RET_NRULES] = { "last", "hourly", "daily",
	"weekly", "monthly", "yearly" };

void
retain_init(struct retain *r)
{
	int k;

	for (k = 0; k < RET_NRULES; k++)
		r->n[k] = -1;
	r->since = INT64_MIN;
	r->since_why = NULL;
}

int
retain_any(const struct retain *r)
{
	int k;

	for (k = 0; k < RET_NRULES; k++)
		if (r->n[k] >= 0)
			return 1;
	return r->since != INT64_MIN;
}

static int
ydays(long long y)
{
	return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) ? 366 : 365;
}

/* The period of rule k that local time t falls in, as a number. */
static long long
bucket(int k, int64_t t, size_t rank)
{
	struct tm tm;
	time_t tt = (time_t)t;
	long long y;
	int wday, yday, week;

	if (k == RET_LAST)
		return (long long)rank;
	if (localtime_r(&tt, &tm) == NULL)
		return (long long)rank;		/* unrepresentable: its own */
	y = (long long)tm.tm_year + 1900;
	switch (k) {
	case RET_HOURLY:
		return ((y * 100 + tm.tm_mon) * 100 + tm.tm_mday) * 100 +
		    tm.tm_hour;
	case RET_DAILY:
		return (y * 100 + tm.tm_mon) * 100 + tm.tm_mday;
	case RET_WEEKLY:
		/* ISO 8601: weeks start on Monday; week 1 holds a Thursday */
		wday = (tm.tm_wday + 6) % 7;
		yday = tm.tm_yday - wday + 3;	/* this week's Thursday */
		if (yday < 0)
			yday += ydays(--y);
		else if (yday >= ydays(y))
			yday -= ydays(y++);
		week = yday / 7 + 1;
		return y * 100 + week;
	case RET_MONTHLY:
		return y * 100 + tm.tm_mon;
	default:
		return y;
	}
}

void
retain_apply(const struct retain *r, const int64_t *t, size_t n, int *keep,
    char **why)
{
	long long left[RET_NRULES], last[RET_NRULES], v;
	char buf[256];
	size_t i, rank, len;
	int k, have[RET_NRULES];

	for (k = 0; k < RET_NRULES; k++) {
		left[k] = r->n[k];
		have[k] = 0;
		last[k] = 0;
	}
	for (rank = 0; rank < n; rank++) {
		i = n - 1 - rank;		/* newest first */
		keep[i] = rank == 0;
		len = 0;
		buf[0] = '\0';
		if (r->since != INT64_MIN && t[i] >= r->since) {
			keep[i] = 1;
			len += (size_t)snprintf(buf + len, sizeof buf - len,
			    "%s", r->since_why ? r->since_why : "since");
		}
		for (k = 0; k < RET_NRULES; k++) {
			if (left[k] <= 0)
				continue;
			v = bucket(k, t[i], rank);
			if (have[k] && v == last[k])
				continue;
			have[k] = 1;
			last[k] = v;
			left[k]--;
			keep[i] = 1;
			if (len < sizeof buf)
				len += (size_t)snprintf(buf + len, sizeof buf -
				    len, "%s%s %lld", len ? ", " : "", names[k],
				    r->n[k] - left[k]);
		}
		if (why != NULL)
			why[i] = buf[0] ? xstrdup(buf) : rank == 0 ?
			    xstrdup("newest") : NULL;
	}
}
