#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pathname.h"
#include "walk.h"
#include "xalloc.h"

struct frame {
	int	 fd;
	char	*names;		/* NUL-separated child names */
	char	**sorted;	/* pointers into names, in order */
	size_t	 n, next;
	size_t	 pathlen;	/* length of this directory's path */
};

struct walk {
	char		*root;
	struct frame	*stack;
	size_t		 depth, cap;
	char		*path;
	size_t		 pathcap;
	struct walk_ent	 ent;
	int		 started;
	int		 descend;	/* last entry is a directory to enter */
	struct walk_feed feed;		/* entries from elsewhere, if next */
	char		*skip;		/* a feed: drop what is below this */
	size_t		 skiplen;
};

static int
namecmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Read the names in directory fd (without "." and "..") and sort them.
 * Returns 0 or -1 with errno set; f->fd is left to the caller.
 */
static int
frame_fill(struct frame *f)
{
	DIR *d;
	struct dirent *de;
	size_t len = 0, cap = 0, nlen, i, j, off;
	int saved;

	f->names = NULL;
	f->sorted = NULL;
	f->n = f->next = 0;
	if ((d = dir_list(f->fd)) == NULL)
		return -1;
	while ((de = dir_next(d)) != NULL) {
		nlen = strlen(de->d_name) + 1;
		while (cap - len < nlen) {
			cap = cap ? cap * 2 : 1024;
			f->names = xrealloc(f->names, cap);
		}
		memcpy(f->names + len, de->d_name, nlen);
		len += nlen;
		f->n++;
	}
	saved = errno;
	closedir(d);
	if (saved != 0) {
		free(f->names);
		f->names = NULL;
		f->n = 0;
		errno = saved;
		return -1;
	}
	f->sorted = xreallocarray(NULL, f->n, sizeof *f->sorted);
	for (i = 0, off = 0; i < f->n; i++) {
		f->sorted[i] = f->names + off;
		off += strlen(f->names + off) + 1;
	}
	qsort(f->sorted, f->n, sizeof *f->sorted, namecmp);
	/* a name listed twice (a lying server) is one entry */
	for (i = j = 0; i < f->n; i++)
		if (j == 0 || strcmp(f->sorted[i], f->sorted[j - 1]) != 0)
			f->sorted[j++] = f->sorted[i];
	f->n = j;
	return 0;
}

/*
 * Enter the directory just returned.  It is opened without following
 * symlinks and must still be the object that was stat'ed.
 */
static int
push(struct walk *w)
{
	struct walk_ent *e = &w->ent;
	struct frame *f;
	struct stat st;
	int fd, saved;

	fd = openat(e->dirfd, e->name,
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1 || st.st_dev != e->st.st_dev ||
	    st.st_ino != e->st.st_ino) {
		saved = errno ? errno : ESTALE;
		close(fd);
		errno = saved;
		return -1;
	}
	if (w->depth == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 16;
		w->stack = xreallocarray(w->stack, w->cap, sizeof *w->stack);
	}
	f = &w->stack[w->depth];
	f->fd = fd;
	f->pathlen = e->pathlen;
	if (frame_fill(f) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	w->depth++;
	return 0;
}

static void
pop(struct walk *w)
{
	struct frame *f = &w->stack[--w->depth];

	close(f->fd);
	free(f->names);
	free(f->sorted);
}

struct walk *
walk_open(const char *root)
{
	struct walk *w;

	w = xcalloc(1, sizeof *w);
	w->root = xstrdup(root);
	w->pathcap = 256;
	w->path = xmalloc(w->pathcap);
	w->path[0] = '\0';
	return w;
}

struct walk *
walk_open_feed(const struct walk_feed *feed)
{
	struct walk *w;

	w = xcalloc(1, sizeof *w);
	w->feed = *feed;
	return w;
}

/* walk_next from a feed: its entries, less those below a skipped one. */
static int
feed_next(struct walk *w, struct walk_ent *e)
{
	for (;;) {
		if (w->feed.next(w->feed.arg, e) != 1)
			return 0;
		if (w->skip == NULL)
			break;
		if (e->pathlen > w->skiplen && (w->skiplen == 0 ||
		    (memcmp(e->path, w->skip, w->skiplen) == 0 &&
		    e->path[w->skiplen] == '/')))
			continue;
		free(w->skip);
		w->skip = NULL;
		break;
	}
	w->descend = !e->error && S_ISDIR(e->st.st_mode);
	w->started = 1;
	return 1;
}

int
walk_next(struct walk *w, struct walk_ent **entp)
{
	struct walk_ent *e = &w->ent;
	struct frame *f;
	size_t nlen, need;

	*entp = e;
	if (w->feed.next != NULL)
		return feed_next(w, e);
	if (!w->started) {
		w->started = 1;
		memset(e, 0, sizeof *e);
		e->path = w->path;
		e->name = w->root;
		e->dirfd = AT_FDCWD;
		if (fstatat(AT_FDCWD, w->root, &e->st, AT_SYMLINK_NOFOLLOW) == -1)
			e->error = errno;
		else
			w->descend = S_ISDIR(e->st.st_mode);
		return 1;
	}
	if (w->descend) {
		w->descend = 0;
		if (push(w) == -1) {
			e->error = errno;
			e->listerr = 1;
			return 1;
		}
	}
	for (;;) {
		if (w->depth == 0)
			return 0;
		f = &w->stack[w->depth - 1];
		if (f->next < f->n)
			break;
		pop(w);
	}
	e->name = f->sorted[f->next++];
	nlen = strlen(e->name);
	/* path = dir path + "/" + name; the root's children have no slash */
	need = f->pathlen + 1 + nlen + 1;
	if (need > w->pathcap) {
		while (need > w->pathcap)
			w->pathcap *= 2;
		w->path = xrealloc(w->path, w->pathcap);
	}
	e->pathlen = f->pathlen;
	if (e->pathlen > 0)
		w->path[e->pathlen++] = '/';
	memcpy(w->path + e->pathlen, e->name, nlen + 1);
	e->pathlen += nlen;
	e->path = w->path;
	e->dirfd = f->fd;
	e->depth = (int)w->depth;
	e->error = e->listerr = 0;
	if (fstatat(f->fd, e->name, &e->st, AT_SYMLINK_NOFOLLOW) == -1) {
		e->error = errno;
		memset(&e->st, 0, sizeof e->st);
	} else
		w->descend = S_ISDIR(e->st.st_mode);
	return 1;
}

const char *
walk_peek(struct walk *w, size_t k, int *dirfd)
{
	struct frame *f;

	if (w->depth == 0)
		return NULL;
	f = &w->stack[w->depth - 1];
	if (k >= f->n - f->next)
		return NULL;
	*dirfd = f->fd;
	return f->sorted[f->next + k];
}

void
walk_skip(struct walk *w)
{
	if (w->feed.next != NULL && w->descend && w->skip == NULL) {
		w->skip = xmemdup(w->ent.path, w->ent.pathlen + 1);
		w->skiplen = w->ent.pathlen;
	}
	w->descend = 0;
}

void
walk_close(struct walk *w)
{
	if (w == NULL)
		return;
	while (w->depth > 0)
		pop(w);
	free(w->stack);
	free(w->path);
	free(w->root);
	free(w->skip);
	free(w);
}
