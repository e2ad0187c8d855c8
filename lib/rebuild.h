/*
 * Rebuilding a regular file as it was at a session from the mirror and
 * its increments (rdiff-backup's restore rule), and reading the listing
 * of an increments directory to find a path's increments.
 */
#ifndef REBUILD_H
#define REBUILD_H

#include <stddef.h>
#include <stdint.h>

struct copyres;

struct incent {
	char	*name;		/* file name in its directory */
	size_t	 baselen;	/* the path's own name is name[0..baselen) */
	int64_t	 t;
	int	 type;		/* enum inctype */
	int	 gz;
};

/* An increments directory and its listing. */
struct incdir {
	struct incent	*e;	/* sorted by base, then time */
	size_t		 n;
	int		 fd;	/* the directory, -1 when none */
};
#define INCDIR_INIT	{ NULL, 0, -1 }

/*
 * List the increments in directory fd (-1: none), which d owns from now
 * on, failure or not.  0 or -1.
 */
int	incdir_open(int, struct incdir *);
/* Free the listing and close the directory. */
void	incdir_close(struct incdir *);
/* The entries whose base is name: returns the first, *count of them. */
const struct incent *incdir_find(const struct incdir *, const char *, size_t,
	    size_t *);

/* long_filename_data's increments, listed when first needed. */
struct longincs {
	int		 tried;		/* opened and listed, or tried to */
	struct incdir	 incs;		/* fd -1 until opened, or when absent */
};
#define LONGINCS_INIT	{ 0, INCDIR_INIT }

/*
 * Where a record's increments are: with alt (its alternate name) not
 * NULL, in long_filename_data below datafd, listed into l on first use;
 * else those of name in directory listing d (NULL: none).  Returns the first (NULL when none), their count
 * in *n and their directory in *incfd.  A long-name directory that
 * cannot be listed gives NULL with errno set and l->tried 0; one that
 * does not exist has no increments.
 */
const struct incent *incs_find(int, struct longincs *, const char *,
	    const struct incdir *, const char *, size_t *, int *);

/*
 * Rebuild the content at session t of a regular file whose mirror copy
 * is mdirfd/mname (mdirfd -1 or the file missing: no mirror copy) and
 * whose increments, in idirfd, are incs[0..n).  cur is the mirror's
 * time; intermediate versions go to unlinked temp files in tmpdirfd.
 * The result is written to outfd (-1: only hashed) and described in res;
 * a last delta that makes more than limit bytes (the recorded size) is
 * stopped with EFBIG.  Returns 0, or -1 with errno set and *why naming
 * the failing step.
 */
int	rebuild(int, const char *, int, const struct incent *, size_t,
	    int64_t, int64_t, int, int, uint64_t, struct copyres *,
	    const char **);

#endif
