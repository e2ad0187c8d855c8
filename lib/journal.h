/*
 * The journal of a prune that removes a session from the middle of the
 * history: the renames and unlinks that put its merged increments in
 * place, written whole before the first of them (the commit point), so
 * that a run killed while applying them can be finished by the next
 * one.  Applying is idempotent: a rename whose source is gone was done,
 * an unlink of nothing was done.  Paths are relative to the data dir.
 */
#ifndef JOURNAL_H
#define JOURNAL_H

#include <stdint.h>

#define JOURNAL		"prune.journal"	/* in rdiff-backup-data */
#define STAGING		"prune.staging"	/* what a merge writes first */

struct journal;

/* A new journal for merging session s into the older session o. */
struct journal	*journal_new(int64_t, int64_t);
void		 journal_rename(struct journal *, const char *, const char *);
void		 journal_unlink(struct journal *, const char *);
/* Ops so far. */
size_t		 journal_len(const struct journal *);
/*
 * Write the journal to datafd/JOURNAL, synced, and free it.  0, or -1
 * with errno (then nothing was committed).
 */
int		 journal_commit(struct journal *, int);
void		 journal_free(struct journal *);
/*
 * Is a journal pending in datafd?  1 with the sessions it merges (*o
 * older, *s removed; either may be NULL), 0 when none, -1 with errno
 * (EBADMSG: damaged).
 */
int		 journal_pending(int, int64_t *, int64_t *);
/*
 * Apply the pending journal, sync what it changed, then remove the
 * staging directory and the journal.  0 (also when there was none), or
 * -1 with errno and *why naming the step.
 */
int		 journal_apply(int, const char **);
/* Remove a staging directory no journal refers to; 0 or -1. */
int		 journal_clean(int);

#endif
