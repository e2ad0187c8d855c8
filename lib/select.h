/*
 * rdiff-backup's selection rules: globs, regular expressions, file
 * lists, file types and sizes, if-present files and other filesystems,
 * matched in order against the full path (the root as given + the
 * relative path); the first rule that says something wins, everything
 * else is included.  A rule may only "scan" a directory: it is kept
 * only if something below it is.
 */
#ifndef SELECT_H
#define SELECT_H

#include <sys/types.h>
#include <getopt.h>
#include <stddef.h>
#include <stdint.h>

enum {
	SEL_INCLUDE, SEL_EXCLUDE,		/* a glob */
	SEL_INCLUDE_PRESENT, SEL_EXCLUDE_PRESENT,
	SEL_EXCLUDE_OTHERFS,
	SEL_INCLUDE_REGEXP, SEL_EXCLUDE_REGEXP,
	SEL_INCLUDE_SPECIAL, SEL_EXCLUDE_SPECIAL,
	SEL_INCLUDE_SYMLINKS, SEL_EXCLUDE_SYMLINKS,
	SEL_EXCLUDE_DEVICES, SEL_EXCLUDE_SOCKETS, SEL_EXCLUDE_FIFOS,
	SEL_MAX_SIZE, SEL_MIN_SIZE,
	SEL_INCLUDE_FILELIST, SEL_EXCLUDE_FILELIST,
	SEL_INCLUDE_GLOBLIST, SEL_EXCLUDE_GLOBLIST,
	SEL_NKINDS
};

/* What select_test says. */
enum { SEL_NO = 0, SEL_YES = 1, SEL_SCAN = 2 };

/*
 * The long options (rdiff-backup's names) of every rule, for
 * getopt_long; an option's val is SELOPT + its index here.  The
 * --null-separator option is among them.
 */
#define SELOPT	0x1000
extern const struct option select_options[];
/* A tool's own long options followed by select_options, to free. */
struct option	*select_longopts(const struct option *);

/* Rules as given on a command line, file lists read. */
struct selrule {
	int	 kind;
	char	*arg;		/* the pattern, or the list's name */
	char	*data;		/* a list's content */
	size_t	 len;
};
struct selrules {
	struct selrule	*r;
	size_t		 n;
	int		 nul;	/* lists are NUL-separated */
};

/*
 * Take option opt (an val of select_options) with its argument; a file
 * list is read now (the -stdin forms: standard input).  0, or -1 with a
 * message in err.
 */
int		 selrules_opt(struct selrules *, int, const char *, char *,
		    size_t);
/* A rule of kind with its argument (a file list by name). */
int		 selrules_add(struct selrules *, int, const char *, char *,
		    size_t);
/* Is there a rule of kind? */
int		 selrules_has(const struct selrules *, int);
void		 selrules_free(struct selrules *);

struct select;

/* Rules for the tree rooted at root (as given), whose device is dev. */
struct select	*select_new(const char *, dev_t);
/*
 * Add rules; -1 with a message in err for one that cannot match, a bad
 * regular expression or size, or a last rule that only includes.
 */
int		 select_load(struct select *, const struct selrules *, char *,
		    size_t);
/* Add one rule (no list kinds); -1 with a message in err. */
int		 select_add(struct select *, int, const char *, char *, size_t);
void		 select_free(struct select *);
/* Any rules at all? */
int		 select_any(const struct select *);
/*
 * SEL_YES to keep the entry at relative path rel (of type and size as
 * in mode and size, on device dev, named name in dirfd; dirfd -1: its
 * directory cannot be looked into), SEL_NO to leave it and what is
 * below, SEL_SCAN (a directory) to keep it only if something below is
 * kept.
 */
int		 select_test(struct select *, const char *, size_t, mode_t,
		    uint64_t, dev_t, int, const char *);
/* Glob matching alone (for tests): does glob match all of s? */
int		 glob_match(const char *, size_t, const char *, size_t, int);
/* A message about lines of a list that were left out, or NULL. */
const char	*select_warning(struct select *);

#endif
