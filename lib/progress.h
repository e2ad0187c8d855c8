/*
 * A one-line live counter on standard error (files, bytes, rate), shown
 * only when standard error is a terminal: nothing of the kind in cron.
 * Tools count entries, copy_fd counts bytes as they pass.
 */
#ifndef PROGRESS_H
#define PROGRESS_H

#include <stdint.h>

void	progress_init(const char *);
/* Add to the totals; redraws at most five times a second. */
void	progress_add(uint64_t, uint64_t);
/* Erase the line (before a message, and at the end). */
void	progress_clear(void);

#endif
