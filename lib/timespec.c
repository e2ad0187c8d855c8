#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timespec.h"

int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

void
timestr_format(int64_t t, char *buf)
{
	timestr_stamp(t, TS_COLONS, buf);
}

void
timestr_stamp(int64_t t, int style, char *buf)
{
	int64_t days = t / 86400, secs = t % 86400, y;
	unsigned m, d;
	char sep = style == TS_DASHES ? '-' : ':';

	if (secs < 0) {
		secs += 86400;
		days--;
	}
	civil_from_days(days, &y, &m, &d);
	snprintf(buf, TIMESTR_LEN, "%04lld-%02u-%02uT%02d%c%02d%c%02dZ",
	    (long long)y, m, d, (int)(secs / 3600), sep, (int)(secs / 60 % 60),
	    sep, (int)(secs % 60));
}

int
timestr_style(const char *s)
{
	/* the separator between hours and minutes */
	return s[13] == '-' ? TS_DASHES : TS_COLONS;
}

/* n digits at s as a number; -1 if any is not a digit. */
static int
digits(const char *s, size_t n)
{
	int v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/*
 * The fixed-width "YYYY-MM-DDTHH:MM:SS" part (":" or "-" as separators)
 * into broken-down fields, with rdiff-backup's ranges.
 */
static int
parse_fields(const char *s, size_t n, int f[6])
{
	static const int pos[6] = { 0, 5, 8, 11, 14, 17 };
	static const int len[6] = { 4, 2, 2, 2, 2, 2 };
	int i;

	if (n < 19 || (s[4] != '-' && s[4] != ':') || (s[7] != '-' &&
	    s[7] != ':') || s[10] != 'T' || (s[13] != ':' && s[13] != '-') ||
	    (s[16] != ':' && s[16] != '-'))
		return -1;
	for (i = 0; i < 6; i++)
		if ((f[i] = digits(s + pos[i], (size_t)len[i])) == -1)
			return -1;
	if (f[0] <= 1900 || f[0] >= 2100 || f[1] < 1 || f[1] > 12 ||
	    f[2] < 1 || f[2] > 31 || f[3] > 23 || f[4] > 59 || f[5] > 61)
		return -1;
	return 0;
}

int
timestr_parse(const char *s, size_t n, int64_t *t)
{
	int f[6], hh, mm;
	int64_t off = 0;

	if (parse_fields(s, n, f) == -1)
		return -1;
	s += 19;
	n -= 19;
	if (n == 1 && s[0] == 'Z')
		off = 0;
	else if (n == 6 && (s[0] == '+' || s[0] == '-') &&
	    (s[3] == ':' || s[3] == '-') && (hh = digits(s + 1, 2)) != -1 &&
	    (mm = digits(s + 4, 2)) != -1) {
		off = (int64_t)hh * 3600 + mm * 60;
		if (s[0] == '-')
			off = -off;
	} else
		return -1;
	*t = days_from_civil(f[0], (unsigned)f[1], (unsigned)f[2]) * 86400 +
	    f[3] * 3600 + f[4] * 60 + f[5] - off;
	return 0;
}

static int64_t
local_time(int y, int mon, int d, int h, int m, int s)
{
	struct tm tm;

	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = m;
	tm.tm_sec = s;
	tm.tm_isdst = -1;
	return (int64_t)mktime(&tm);
}

/* "Wed Nov 15 22:13:20 2023", as time.strptime() reads it: local time. */
static int
parse_ctime(const char *s, int64_t *t)
{
	static const char *mons = "JanFebMarAprMayJunJulAugSepOctNovDec";
	static const char *days = "MonTueWedThuFriSatSun";
	char wd[4], mn[4];
	int d, h, m, sec, y, n = 0, i;
	const char *p;

	if (sscanf(s, "%3s %3s %d %d:%d:%d %d%n", wd, mn, &d, &h, &m, &sec,
	    &y, &n) != 7 || s[n] != '\0')
		return -1;
	if (strlen(wd) != 3 || (p = strstr(days, wd)) == NULL ||
	    (p - days) % 3 != 0)
		return -1;
	if (strlen(mn) != 3 || (p = strstr(mons, mn)) == NULL ||
	    (p - mons) % 3 != 0)
		return -1;
	i = (int)(p - mons) / 3 + 1;
	if (d < 1 || d > 31 || h < 0 || h > 23 || m < 0 || m > 59 ||
	    sec < 0 || sec > 61 || y < 1900 || y > 9999)
		return -1;
	*t = local_time(y, i, d, h, m, sec);
	return 0;
}

/* "3D64s": pairs of digits and a unit, at least two characters. */
static int
parse_interval(const char *s, int64_t *secs)
{
	int64_t total = 0, num, unit;
	const char *p = s;

	if (strlen(s) < 2)
		return -1;
	while (*p != '\0') {
		if (*p < '0' || *p > '9')
			return -1;
		for (num = 0; *p >= '0' && *p <= '9'; p++) {
			if (num > (INT64_MAX - 9) / 10)
				return -1;
			num = num * 10 + (*p - '0');
		}
		switch (*p++) {
		case 's': unit = 1; break;
		case 'm': unit = 60; break;
		case 'h': unit = 3600; break;
		case 'D': unit = 86400; break;
		case 'W': unit = 7 * 86400; break;
		case 'M': unit = 30 * 86400; break;
		case 'Y': unit = 365 * 86400; break;
		default: return -1;
		}
		if (num > (INT64_MAX - total) / unit)
			return -1;
		total += num * unit;
	}
	*secs = total;
	return 0;
}

/* 2023-11-15, 2023/1/5, 11/15/2023, 11-15-2023: local midnight. */
static int
parse_date(const char *s, int64_t *t)
{
	int a, b, c, n = 0;
	char s1, s2;

	if (sscanf(s, "%d%c%d%c%d%n", &a, &s1, &b, &s2, &c, &n) != 5 ||
	    s[n] != '\0' || (s1 != '-' && s1 != '/') || (s2 != '-' && s2 != '/'))
		return -1;
	if (s[0] < '0' || s[0] > '9' || strchr(s, '+') || strchr(s, ' '))
		return -1;
	if (strcspn(s, "-/") == 4) {		/* year first */
		if (b < 1 || b > 12 || c < 1 || c > 31 || strlen(s) > 10)
			return -1;
		*t = local_time(a, b, c, 0, 0, 0);
	} else {				/* month first */
		if (strcspn(s, "-/") > 2 || strlen(strrchr(s, s2) + 1) != 4 ||
		    a < 1 || a > 12 || b < 1 || b > 31)
			return -1;
		*t = local_time(c, a, b, 0, 0, 0);
	}
	if ((strcspn(s, "-/") == 4 && (a <= 1900 || a >= 2100)) ||
	    (strcspn(s, "-/") != 4 && (c <= 1900 || c >= 2100)))
		return -1;
	return 0;
}

int
timespec_parse(const char *s, int64_t now, const int64_t *sessions,
    size_t nsessions, int64_t *t)
{
	size_t n = strlen(s), i;
	int64_t v;
	int f[6];

	if (strcmp(s, "now") == 0) {
		*t = now;
		return 0;
	}
	if (n > 0 && strspn(s, "0123456789") == n) {
		for (v = 0, i = 0; i < n; i++) {
			if (v > (INT64_MAX - 9) / 10)
				return -1;
			v = v * 10 + (s[i] - '0');
		}
		*t = v;
		return 0;
	}
	if (timestr_parse(s, n, t) == 0)
		return 0;
	if (n == 19 && parse_fields(s, n, f) == 0) {
		*t = local_time(f[0], f[1], f[2], f[3], f[4], f[5]);
		return 0;
	}
	if (n >= 2 && s[n - 1] == 'B' && strspn(s, "0123456789") == n - 1) {
		if (nsessions == 0)
			return -1;
		for (v = 0, i = 0; i < n - 1; i++) {
			v = v * 10 + (s[i] - '0');
			if (v >= (int64_t)nsessions) {
				*t = sessions[0];
				return 0;
			}
		}
		*t = sessions[nsessions - 1 - (size_t)v];
		return 0;
	}
	if (parse_ctime(s, t) == 0)
		return 0;
	if (parse_interval(s, &v) == 0) {
		*t = now - v;
		return 0;
	}
	return parse_date(s, t);
}
