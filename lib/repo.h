/*
 * An rdiff-backup repository's data dir: session-stamped file names,
 * the session list, markers of complete and interrupted sessions, and
 * the metadata as of any session (snapshot plus reverse diff chain).
 */
#ifndef REPO_H
#define REPO_H

#include <stddef.h>
#include <stdint.h>

/* The names of the format: the data dir, and what it holds. */
#define DATADIR		"rdiff-backup-data"
#define INCDIR		"increments"		/* also increments.<T>.dir */
#define LONGDIR		"long_filename_data"
#define MARKER		"current_mirror"	/* current_mirror.<T>.data */
#define METADATA	"mirror_metadata"
#define EAFILE		"extended_attributes"	/* <T>.snapshot[.gz] */
#define ACLFILE		"access_control_lists"	/* <T>.snapshot[.gz] */

enum inctype { INC_SNAPSHOT, INC_DIFF, INC_MISSING, INC_DIR, INC_DATA };

struct metafile {
	int64_t	 t;
	int	 snapshot;	/* 1: snapshot, 0: diff */
	int	 gz;		/* the name ends in .gz */
	char	*name;
};

struct repo {
	int		 fd;		/* repository root */
	int		 datafd;	/* rdiff-backup-data */
	int64_t		*times;		/* session times, ascending */
	size_t		 ntimes;
	int64_t		*markers;	/* current_mirror times, ascending */
	size_t		 nmarkers;
	struct metafile	*meta;		/* mirror_metadata files, by time */
	size_t		 nmeta;
	int64_t		*incdirs;	/* increments.<T>.dir times */
	size_t		 nincdirs;
	int		 quoted;	/* chars_to_quote is not empty */
	int		 dupmeta;	/* two metadata files for one session */
	int		 style;		/* enum tstyle of the last complete
					   session's marker (colons if none):
					   the spelling new names follow */
};

/*
 * Parse "base.<time>.<type>[.gz]".  Returns 0 with the base length, time,
 * type and compression, or -1 when the name is no session-stamped file.
 */
int	incname_parse(const char *, size_t, size_t *, int64_t *, int *, int *);
const char *inctype_name(int);
/* Is the base of a parsed name (its first len bytes) the name base? */
int	incname_is(const char *, size_t, const char *);
/* "<base>.<time>.<type>[.gz]" in a new string, the time in style tstyle. */
char	*incname_make(const char *, int64_t, int, int, int);

/* A directory entry, parsed as a session-stamped file when it is one. */
struct stampent {
	const char	*name;
	int		 stamped;	/* 0: no stamp; the rest is unset */
	size_t		 base;		/* length of the name's base */
	int64_t		 t;
	int		 type;		/* enum inctype */
	int		 gz;
};

/*
 * Call fn(arg, &e) for each entry of directory dirfd but "." and "..".
 * Returns 0, -1 with errno when dirfd cannot be listed, or the first
 * non-zero value of fn, which stops the loop.
 */
int	stamped_each(int, int (*)(void *, const struct stampent *), void *);
/*
 * The files in directory dirfd stamped with base, time t and type, found
 * by their parsed names, so whatever their spelling (colons or dashes,
 * any zone) or compression.  stamped_find returns the name of the first
 * in a new string, or NULL with errno set (ENOENT: none); stamped_unlink
 * removes them all and returns 0, or -1 with errno set.
 */
char	*stamped_find(int, const char *, int64_t, int);
int	stamped_unlink(int, const char *, int64_t, int);

/*
 * Open the repository at path and read its data dir.  -1 with errno set
 * (ENOENT: no data dir).  Duplicate metadata times (an interrupted
 * session, or damage) only set dupmeta: callers decide.
 */
int	repo_open(struct repo *, const char *);
/* Read the data dir (again) into r; r->fd and r->datafd must be set. */
int	repo_scan(struct repo *);
void	repo_close(struct repo *);
/* The newest session at or before t, or the oldest if t predates all. */
int64_t	repo_at(const struct repo *, int64_t);
/* The mirror's time: the newest marker. */
int64_t	repo_current(const struct repo *);
/*
 * A number session t's session_statistics file records under key
 * ("IncrementFileSize"): 0 with *v, or -1 with errno (ENOENT: no file,
 * or no such key in it).
 */
int	repo_stat(const struct repo *, int64_t, const char *, uint64_t *);
struct stat;
/*
 * What an increment file of stat st counts for in the statistics, as
 * rdiff-backup counts it: a regular file's size, a symlink's target's
 * length, 0 for anything else.
 */
uint64_t inc_bytes(const struct stat *);
/* The text of session t's session_statistics file, or NULL (errno). */
char	*repo_stats(const struct repo *, int64_t);
/* What follows "key " on key's line of statistics text, or NULL. */
const char *stats_field(const char *, const char *);

/*
 * Lock the repository through rdiff-backup-data/lock.yml (the file
 * rdiff-backup's API 201 locks): exclusive for writers (creating it and
 * writing who holds it), shared for readers (only if it exists).  With
 * wait, block; else fail at once with EWOULDBLOCK.  Returns the lock's
 * descriptor (or -2 when a reader finds no lock file), -1 on error.
 */
int	repo_lock(int, int, int, const char *);
/* Why repo_lock failed with errno e, for "lock REPO: ..." messages. */
const char *repo_lock_error(int);
/* Release an exclusive lock: the file is emptied, not removed. */
void	repo_unlock(int);

struct meta_at;
struct rec;

/*
 * The metadata as of session t, merged from the snapshot at or after t
 * and the reverse diffs between; Type None records are left out.
 */
struct meta_at	*meta_at_open(struct repo *, int64_t);
/*
 * The same from about path on: each file is read from the member where
 * records at or after path begin (earlier records may come first: the
 * caller skips them).  NULL with errno ENOTSUP when a file of the chain
 * has no member index (see gz.h), EBADMSG when an index is wrong.
 * With bg 1, threads decode ahead (for reading much); with 2, only for
 * files where path and what is below it take several members.
 */
struct meta_at	*meta_at_seek(struct repo *, int64_t, const char *, size_t,
		    int);
/* 1 with *rec, 0 at the end, -1 on error: meta_at_error() says what. */
int		 meta_at_next(struct meta_at *, struct rec **);
const char	*meta_at_error(struct meta_at *);
/* 1 after a read error: the merge cannot go on. */
int		 meta_at_failed(struct meta_at *);
void		 meta_at_close(struct meta_at *);

#endif
