#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"

static const char	*prog;
static int		 on, shown;
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
progress_init(const char *name)
{
	prog = name;
	on = isatty(STDERR_FILENO);
	start = last = now();
}

void
progress_add(uint64_t f, uint64_t b)
{
	static const char *unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double t, v, rate;
	int u = 0;

	files += f;
	bytes += b;
	if (!on || (t = now()) - last < 0.2)
		return;
	last = t;
	rate = (double)bytes / (t - start) / (1 << 20);
	for (v = (double)bytes; v >= 1024 && u < 4; u++)
		v /= 1024;
	fprintf(stderr, "\r%s: %llu files, %.1f %s, %.1f MiB/s\033[K", prog,
	    (unsigned long long)files, v, unit[u], rate);
	shown = 1;
}

void
progress_clear(void)
{
	if (shown) {
		fprintf(stderr, "\r\033[K");
		shown = 0;
	}
}
