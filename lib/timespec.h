/*
 * Times as rdiff-backup writes and reads them: the W3C strings in file
 * names, and the time specifications users give (now, 10D, 3B, dates).
 */
#ifndef TIMESPEC_H
#define TIMESPEC_H

#include <stddef.h>
#include <stdint.h>

#define TIMESTR_LEN	32	/* enough for timestr_format's output + NUL */

/*
 * Parse a W3C time string of n bytes ("2023-11-14T22:13:20Z", with an
 * offset "+01:00", or with "-" separators).  Returns 0 or -1.
 */
int	timestr_parse(const char *, size_t, int64_t *);
/* Format t as "YYYY-MM-DDTHH:MM:SSZ" (UTC). */
void	timestr_format(int64_t, char *);
/*
 * How a repository spells times in its file names: W3C, or with "-" for
 * ":" as rdiff-backup --use-compatible-timestamps writes them.
 */
enum tstyle { TS_COLONS, TS_DASHES };
/* Format t in a file-name style: TS_DASHES gives "YYYY-MM-DDTHH-MM-SSZ". */
void	timestr_stamp(int64_t, int, char *);
/* The style of a string that timestr_parse accepted. */
int	timestr_style(const char *);
/*
 * Parse a user's time specification, in rdiff-backup's order of forms.
 * now: the reference time; sessions: ascending session times (for "nB").
 * Returns 0, or -1 for a string that is no time at all.
 */
int	timespec_parse(const char *, int64_t, const int64_t *, size_t,
	    int64_t *);
/* The days since 1970-01-01 of a proleptic Gregorian date. */
int64_t	days_from_civil(int64_t, unsigned, unsigned);

#endif
