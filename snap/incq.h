/*
 * Finishing changes in the background.  Compressing the old version of a
 * deleted file, or the delta of a changed one, is the costliest part of a
 * session after the walk itself, and needs nothing from the walk but the
 * old mirror file (held open) and the increment file (created and named
 * by the caller).  One thread takes those jobs from a short queue, in
 * order, and only after an increment is complete replaces or removes the
 * mirror file it keeps: a session killed at any point leaves every
 * replaced mirror file with its whole increment, as when all of it ran
 * in line.  Directory fix-ups that must follow such a job (attributes,
 * removal) go through the same queue.  Memory stays bounded.
 */
#ifndef INCQ_H
#define INCQ_H

#include <stdint.h>

struct nodeext;
struct rec;
struct sigmaker;

/* Start the worker (without one, every job runs at once, in the caller). */
void	incq_start(void);
/*
 * Write increment fd (gzip at level gz, or plain when 0) from the old
 * mirror file in: its content (sig NULL) or a delta against sig, which
 * the job frees.  The increment then gets mtime, both are closed, and
 * in mirror directory dirfd (duplicated here): tmp is renamed to name,
 * or without tmp, name is removed; neither when name is NULL.  path
 * names the file in messages.
 */
void	incq_inc(int in, int fd, int gz, struct sigmaker *sig, int64_t mtime,
	    int dirfd, const char *tmp, const char *name, const char *path);
/*
 * incq_inc of a mirror file that a delta leaves in place: once the
 * increment is written, it and its directory idirfd (duplicated) are
 * synced, then delta fd still (taken) is applied to name in place
 * (patch_in_place) and the file gets n's attributes.
 */
void	incq_inc_still(int in, int fd, int gz, struct sigmaker *sig,
	    int64_t mtime, int idirfd, int dirfd, const char *name,
	    const char *path, int still, const struct rec *n, int root);
/*
 * Give mirror entry name of dirfd (duplicated) ext's extended attributes
 * and ACLs (the job frees ext).  A failure does not stop the session:
 * incq_ext_error says the first (its errno in *e) and counts them in *n.
 */
void	incq_ext(int, const char *, struct nodeext *, const char *);
const char *incq_ext_error(uint64_t *, int *);
/* Give mirror directory dirfd (duplicated) r's attributes. */
void	incq_dir(int dirfd, const struct rec *r, int root);
/* Remove directory name of dirfd (duplicated), then rename tmp to it. */
void	incq_rmdir(int dirfd, const char *name, const char *tmp,
	    const char *path);
/* Wait until every job so far is done. */
void	incq_drain(void);
/* The first failure so far ("write increment X: No space left ..."). */
const char *incq_error(void);
/* Wait for every job and stop; returns the bytes written to increments. */
uint64_t incq_finish(void);

/*
 * Give mirror entry fd (not a symlink) r's attributes, changing only
 * what differs.  -1 when fd cannot be examined.
 */
int	mirror_fix(int fd, const struct rec *r, int root);

#endif
