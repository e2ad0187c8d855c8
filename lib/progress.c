#include <stdio.h>
#include <time.h>

#include "progress.h"

static const char	*prog;
static void		(*show)(const char *);
static int		 shown;
static double		 start, last;
static uint64_t		 files, bytes;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void
progress_init(const char *name, void (*fn)(const char *))
{
	prog = name;
	show = fn;
	start = last = now();
}

void
progress_add(uint64_t f, uint64_t b)
{
	static const char *unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	char line[160];
	double t, v, rate;
	int u = 0;

	files += f;
	bytes += b;
	if (show == NULL || (t = now()) - last < 0.2)
		return;
	last = t;
	rate = (double)bytes / (t - start) / (1 << 20);
	for (v = (double)bytes; v >= 1024 && u < 4; u++)
		v /= 1024;
	snprintf(line, sizeof line, "%s: %llu files, %.1f %s, %.1f MiB/s", prog,
	    (unsigned long long)files, v, unit[u], rate);
	show(line);
	shown = 1;
}

void
progress_clear(void)
{
	if (shown) {
		show(NULL);
		shown = 0;
	}
}
