/*
 * Which sessions a retention policy keeps: restic's forget rules (the
 * newest session of each of the last N hours, days, ISO weeks, months
 * and years that have one, the last N, those within a time of the
 * newest) over rdiff-backup session times, in local time.
 */
#ifndef RETAIN_H
#define RETAIN_H

#include <stddef.h>
#include <stdint.h>

enum { RET_LAST, RET_HOURLY, RET_DAILY, RET_WEEKLY, RET_MONTHLY,
	RET_YEARLY, RET_NRULES };

struct retain {
	long long	 n[RET_NRULES];	/* -1: rule not given */
	int64_t		 since;		/* keep all at or after; INT64_MIN: no */
	const char	*since_why;	/* the reason it gives (NULL: "since") */
};

void	retain_init(struct retain *);
/* Is any rule given? */
int	retain_any(const struct retain *);
/*
 * For the session times t[0..n) (ascending): keep[i] 1 or 0, and with
 * why not NULL, why[i] the rules that keep it ("daily 2, monthly 1": the
 * second day counted back, the first month), a new string, or NULL.
 * The newest session is always kept.
 */
void	retain_apply(const struct retain *, const int64_t *, size_t, int *,
	    char **);

#endif
