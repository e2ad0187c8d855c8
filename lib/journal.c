#define _GNU_SOURCE	/* syncfs: Linux, not POSIX */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomic.h"
#include "io.h"
#include "journal.h"
#include "pathname.h"
#include "xalloc.h"

#define MAGIC		"bk prune journal 1"
#define MAXJOURNAL	((size_t)1 << 30)

/*
 * On disk: a line "bk prune journal 1 O S", then the ops, each a letter
 * and its paths, NUL-terminated ("R" from to, "U" path), then "E": a
 * journal without its end is damaged, never half applied.
 */
struct journal {
	char	*buf;
	size_t	 len, cap, n;
};

static void
put(struct journal *j, const char *s, size_t n)
{
	if (j->cap - j->len < n) {
		while (j->cap - j->len < n)
			j->cap = j->cap ? j->cap * 2 : 4096;
		j->buf = xrealloc(j->buf, j->cap);
	}
	memcpy(j->buf + j->len, s, n);
	j->len += n;
}

struct journal *
journal_new(int64_t o, int64_t s)
{
	struct journal *j = xcalloc(1, sizeof *j);
	char head[96];

	snprintf(head, sizeof head, MAGIC " %" PRId64 " %" PRId64 "\n", o, s);
	put(j, head, strlen(head));
	return j;
}

void
journal_rename(struct journal *j, const char *from, const char *to)
{
	put(j, "R", 2);
	put(j, from, strlen(from) + 1);
	put(j, to, strlen(to) + 1);
	j->n++;
}

void
journal_unlink(struct journal *j, const char *path)
{
	put(j, "U", 2);
	put(j, path, strlen(path) + 1);
	j->n++;
}

size_t
journal_len(const struct journal *j)
{
	return j->n;
}

void
journal_free(struct journal *j)
{
	if (j == NULL)
		return;
	free(j->buf);
	free(j);
}

int
journal_commit(struct journal *j, int datafd)
{
	int rv;

	put(j, "E", 2);
	rv = atomic_write(datafd, JOURNAL, j->buf, j->len, 0600);
	journal_free(j);
	return rv;
}

/* Parse the head of a journal text; its ops start at *ops.  0 or -1. */
static int
head(const char *buf, size_t len, int64_t *o, int64_t *s, size_t *ops)
{
	const char *nl = memchr(buf, '\n', len);
	long long a, b;
	int n = 0;

	if (nl == NULL || (size_t)(nl - buf) > 80 || strncmp(buf, MAGIC " ",
	    strlen(MAGIC " ")) != 0 || sscanf(buf + strlen(MAGIC " "),
	    "%lld %lld%n", &a, &b, &n) != 2 ||
	    buf + strlen(MAGIC " ") + n != nl || a >= b)
		return -1;
	*o = a;
	*s = b;
	*ops = (size_t)(nl - buf) + 1;
	return 0;
}

/*
 * A path a journal may name: relative, below the data dir, every
 * component a plain name (no "..", ".", or empty one), so that a journal
 * planted in a repository others can write reaches nothing outside it.
 */
static int
path_ok(const char *p)
{
	const char *c, *e;

	if (*p == '\0' || *p == '/')
		return 0;
	for (c = p; ; c = e + 1) {
		e = strchr(c, '/');
		if (e == NULL)
			e = c + strlen(c);
		if (e == c || (e - c == 1 && c[0] == '.') ||
		    (e - c == 2 && c[0] == '.' && c[1] == '.'))
			return 0;
		if (*e == '\0')
			return 1;
	}
}

/* The journal's text, checked whole: 0, or -1 with errno. */
static int
load(int datafd, char **buf, size_t *len, int64_t *o, int64_t *s,
    size_t *ops)
{
	size_t i, k, nargs;

	if (read_file_at(datafd, JOURNAL, buf, len, MAXJOURNAL) == -1)
		return -1;
	if (head(*buf, *len, o, s, ops) == -1)
		goto bad;
	for (i = *ops; i < *len; ) {
		if (strcmp(*buf + i, "E") == 0 && i + 2 == *len)
			return 0;
		if (strcmp(*buf + i, "R") == 0)
			nargs = 2;
		else if (strcmp(*buf + i, "U") == 0)
			nargs = 1;
		else
			goto bad;
		i += 2;
		for (k = 0; k < nargs; k++) {
			const char *p = memchr(*buf + i, '\0', *len - i);

			if (p == NULL || !path_ok(*buf + i))
				goto bad;
			i = (size_t)(p - *buf) + 1;
		}
	}
bad:
	free(*buf);
	*buf = NULL;
	errno = EBADMSG;
	return -1;
}

int
journal_pending(int datafd, int64_t *o, int64_t *s)
{
	char *buf;
	size_t len, ops;
	int64_t a, b;

	if (load(datafd, &buf, &len, &a, &b, &ops) == -1)
		return errno == ENOENT ? 0 : -1;
	free(buf);
	if (o != NULL)
		*o = a;
	if (s != NULL)
		*s = b;
	return 1;
}

/* One op; 0, or -1 with errno. */
static int
apply_one(int datafd, const char *op, const char *a, const char *b)
{
	const char *an, *bn;
	int afd, bfd, rv;

	if ((afd = open_parent(datafd, a, &an)) == -1)
		return errno == ENOENT ? 0 : -1;
	if (op[0] == 'U') {
		rv = unlinkat(afd, an, 0) == -1 && errno != ENOENT ? -1 : 0;
		close(afd);
		return rv;
	}
	if ((bfd = open_parent(datafd, b, &bn)) == -1) {
		close(afd);
		return -1;
	}
	rv = renameat(afd, an, bfd, bn) == -1 && errno != ENOENT ? -1 : 0;
	close(afd);
	close(bfd);
	return rv;
}

int
journal_apply(int datafd, const char **why)
{
	char *buf;
	size_t len, ops, i;
	int64_t o, s;
	int saved;

	*why = "read " JOURNAL;
	if (load(datafd, &buf, &len, &o, &s, &ops) == -1)
		return errno == ENOENT ? journal_clean(datafd) : -1;
	*why = "apply " JOURNAL;
	for (i = ops; strcmp(buf + i, "E") != 0; ) {
		const char *op = buf + i, *a = op + 2, *b = a + strlen(a) + 1;

		if (apply_one(datafd, op, a, b) == -1) {
			saved = errno;
			free(buf);
			errno = saved;
			return -1;
		}
		i = (size_t)((op[0] == 'R' ? b + strlen(b) : a + strlen(a)) -
		    buf) + 1;
	}
	free(buf);
	/*
	 * every change on disk before the journal goes: one syncfs for
	 * the renames in all their directories (an fsync of each took
	 * most of a merge's time)
	 */
	*why = "sync the merged directories";
	if (syncfs(datafd) == -1)
		return -1;
	*why = "remove " JOURNAL;
	if (unlinkat(datafd, JOURNAL, 0) == -1 || sync_fd(datafd) == -1)
		return -1;
	*why = "remove " STAGING;
	return journal_clean(datafd);
}

int
journal_clean(int datafd)
{
	struct stat st;

	if (fstatat(datafd, STAGING, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return errno == ENOENT ? 0 : -1;
	return rmtree_at(datafd, STAGING);
}
