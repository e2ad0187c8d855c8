/*
 * Numbers given on a command line.
 */
#ifndef NUMBER_H
#define NUMBER_H

/*
 * s, all of it, as a decimal integer from lo to hi: 0 with *v set, or -1
 * (the caller says what was wanted).
 */
int	number_in(const char *, long long, long long, long long *);

#endif
