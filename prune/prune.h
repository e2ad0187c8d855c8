/* prune's parts: where increments are (prune.c), merging (merge.c). */
#ifndef PRUNE_H
#define PRUNE_H

#include <stddef.h>
#include <stdint.h>

struct metafile;
struct repo;

/* a/b in a new string, or the one of them that is not empty. */
char	*path_join(const char *, const char *);
/* Remember a directory (a path of the source tree) to look into. */
void	dirs_add(const char *, size_t);
/* The directories remembered, sorted, duplicates gone; the set empties. */
char	**dirs_take(size_t *);
/*
 * Add the directories of the paths metadata file mf names (-1: it names
 * no usable set: a snapshot, or damage), or the attribute files of
 * session t name (-1: one cannot be read).
 */
int	collect_dirs(int, const struct metafile *);
int	collect_attr_dirs(int, int64_t);
/* Add every directory of the increments tree below data dir datafd. */
void	dirs_all(int);

/*
 * Remove every session between sessions o and n (at least one), merging
 * their increments into o's.  Exits on failure, with the repository as
 * it was or a journal the next prune finishes.
 */
void	merge_run(struct repo *, int64_t, int64_t, int);

#endif
