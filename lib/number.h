/*
 * Numbers given on a command line.
 */
#ifndef NUMBER_H
#define NUMBER_H

#include <stddef.h>
#include <stdint.h>

/*
 * s, all of it, as a decimal integer from lo to hi: 0 with *v set, or -1
 * (the caller says what was wanted).
 */
int	number_in(const char *, long long, long long, long long *);
/*
 * n bytes as rdiff-backup's statistics write them: "117 bytes", "64.0
 * KB", "1.2 GB" (units of 1024), into buf; returns buf.
 */
const char *number_human(uint64_t, char *, size_t);
/*
 * A size: bytes, or with a suffix K, M, G, T (KiB ... TiB; "KB", "KiB"
 * and lower case too).  0 with *v, or -1.
 */
int	number_size(const char *, uint64_t *);

#endif
