/*
 * Counting the work as it passes, for a one-line live counter (files,
 * bytes, rate): tools count entries, copy_fd counts bytes.  lib/ never
 * prints: the line goes to the function the tool gives, at most five
 * times a second, and only when the tool turned the counter on (on a
 * terminal: nothing of the kind in cron).
 */
#ifndef PROGRESS_H
#define PROGRESS_H

#include <stdint.h>

/*
 * Start counting for program prog; show (NULL: off) is called with each
 * new line, and with NULL to erase the line shown.
 */
void	progress_init(const char *, void (*)(const char *));
/* Add to the totals; a new line is due at most five times a second. */
void	progress_add(uint64_t, uint64_t);
/* Erase the line (before a message, and at the end). */
void	progress_clear(void);

#endif
