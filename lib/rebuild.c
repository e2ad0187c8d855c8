#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "copy.h"
#include "delta.h"
#include "gz.h"
#include "io.h"
#include "pathname.h"
#include "rebuild.h"
#include "repo.h"
#include "xalloc.h"

static int
entcmp(const void *a, const void *b)
{
	const struct incent *x = a, *y = b;
	size_t n = x->baselen < y->baselen ? x->baselen : y->baselen;
	int c = memcmp(x->name, y->name, n);

	if (c != 0)
		return c;
	if (x->baselen != y->baselen)
		return x->baselen < y->baselen ? -1 : 1;
	return x->t < y->t ? -1 : x->t > y->t;
}

int
incdir_open(int fd, struct incdir *d)
{
	DIR *dir;
	struct dirent *de;
	struct incent e;
	int saved;

	d->e = NULL;
	d->n = 0;
	d->fd = fd;
	if (fd == -1)
		return 0;
	if ((dir = dir_list(fd)) == NULL)
		return -1;
	while ((de = dir_next(dir)) != NULL) {
		if (incname_parse(de->d_name, strlen(de->d_name), &e.baselen,
		    &e.t, &e.type, &e.gz) == -1 || e.type == INC_DATA)
			continue;
		e.name = xstrdup(de->d_name);
		d->e = xreallocarray(d->e, d->n + 1, sizeof *d->e);
		d->e[d->n++] = e;
	}
	saved = errno;
	closedir(dir);
	if (d->n > 0)
		qsort(d->e, d->n, sizeof *d->e, entcmp);
	errno = saved;
	return saved != 0 ? -1 : 0;
}

void
incdir_close(struct incdir *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		free(d->e[i].name);
	free(d->e);
	d->e = NULL;
	d->n = 0;
	if (d->fd != -1)
		close(d->fd);
	d->fd = -1;
}

const struct incent *
incdir_find(const struct incdir *d, const char *name, size_t len, size_t *count)
{
	size_t lo = 0, hi = d->n, mid, end;
	struct incent key;

	key.name = (char *)name;
	key.baselen = len;
	key.t = INT64_MIN;
	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (entcmp(&d->e[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (end = lo; end < d->n && d->e[end].baselen == len &&
	    memcmp(d->e[end].name, name, len) == 0; end++)
		;
	*count = end - lo;
	return lo < d->n ? &d->e[lo] : NULL;
}

const struct incent *
incs_find(int datafd, struct longincs *l, const char *alt,
    const struct incdir *d, const char *name, size_t *n, int *incfd)
{
	int fd;

	*n = 0;
	*incfd = -1;
	if (alt != NULL) {
		if (!l->tried) {
			l->tried = 1;
			fd = subdir(datafd, LONGDIR);
			if (fd == -1 && errno != ENOENT) {
				l->tried = 0;
				return NULL;
			}
			if (incdir_open(fd, &l->incs) == -1) {
				incdir_close(&l->incs);
				l->tried = 0;
				return NULL;
			}
		}
		*incfd = l->incs.fd;
		return incdir_find(&l->incs, alt, strlen(alt), n);
	}
	if (d == NULL)
		return NULL;
	*incfd = d->fd;
	return incdir_find(d, name, strlen(name), n);
}

/* An unlinked temp file in dirfd. */
static int
tmpfile_at(int dirfd)
{
	static unsigned n;
	char name[64];
	int fd;

#ifdef O_TMPFILE
	if ((fd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) != -1)
		return fd;
#endif
	for (;;) {
		snprintf(name, sizeof name, ".rebuild.%ld.%u", (long)getpid(), ++n);
		fd = openat(dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd != -1 || errno != EEXIST)
			break;
	}
	if (fd != -1)
		unlinkat(dirfd, name, 0);
	return fd;
}

/*
 * Open the mirror copy of a regular file.  An entry of another type is a
 * damaged repository (EBADMSG), and *why says which type it is.
 */
static int
open_mirror_file(int dirfd, const char *name, const char **why)
{
	struct stat st;
	int fd;

	if ((fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) == -1) {
		if (errno == ELOOP) {
			*why = "mirror entry is a symlink, not a file";
			errno = EBADMSG;
		}
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		*why = S_ISDIR(st.st_mode) ? "mirror entry is a directory, "
		    "not a file" : "mirror entry is not a regular file";
		close(fd);
		errno = EBADMSG;
		return -1;
	}
	return fd;
}

/* Decompress increment file idirfd/name (a snapshot) into a temp file. */
static int
unpack(int idirfd, const struct incent *e, int tmpdirfd)
{
	struct gzr *r;
	char buf[65536];
	ssize_t n;
	int in, out, saved;

	if ((in = openat(idirfd, e->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return -1;
	if ((out = tmpfile_at(tmpdirfd)) == -1) {
		close(in);
		return -1;
	}
	r = gzr_open(in, e->gz);
	while (r != NULL && (n = gzr_read(r, buf, sizeof buf)) > 0)
		if (write_full(out, buf, (size_t)n) == -1)
			break;
	if (r == NULL || n != 0) {
		saved = errno;
		gzr_close(r);
		close(out);
		errno = saved;
		return -1;
	}
	gzr_close(r);
	if (lseek(out, 0, SEEK_SET) == -1) {
		close(out);
		return -1;
	}
	return out;
}

int
rebuild(int mdirfd, const char *mname, int idirfd, const struct incent *incs,
    size_t n, int64_t t, int64_t cur, int tmpdirfd, int outfd, uint64_t limit,
    struct copyres *res, const char **why)
{
	size_t first, last, i;
	int basis = -1, next, dfd, werr, last_step;
	struct gzr *d;
	struct hashtap tap;

	*why = "rebuild";
	/* the increments at or after t, oldest first: diffs up to a stop */
	for (first = 0; first < n && incs[first].t < t; first++)
		;
	for (last = first; last < n && t < cur && incs[last].type == INC_DIFF;
	    last++)
		;
	if (t >= cur || last == n) {
		*why = "open mirror file";
		if (mdirfd == -1) {
			errno = ENOENT;
			return -1;
		}
		basis = open_mirror_file(mdirfd, mname, why);
	} else if (incs[last].type == INC_SNAPSHOT) {
		*why = "read snapshot increment";
		basis = unpack(idirfd, &incs[last], tmpdirfd);
	} else {
		*why = "increments inconsistent (missing or dir where data was due)";
		errno = EBADMSG;
		return -1;
	}
	if (basis == -1)
		return -1;
	if (t >= cur)
		last = first;		/* no diffs to apply */
	if (last == first) {
		*why = "copy";
		if (copy_fd(basis, outfd, NULL, NULL, res, &werr) == -1) {
			*why = werr ? "write" : "read";
			close(basis);
			return -1;
		}
		close(basis);
		return 0;
	}
	/* apply the diffs from the newest to the oldest */
	for (i = last; i-- > first; ) {
		last_step = i == first;
		*why = "read diff increment";
		if ((dfd = openat(idirfd, incs[i].name, O_RDONLY | O_NOFOLLOW |
		    O_CLOEXEC)) == -1)
			goto fail;
		if (last_step)
			next = outfd;
		else if ((next = tmpfile_at(tmpdirfd)) == -1) {
			*why = "create temp file";
			close(dfd);
			goto fail;
		}
		hashtap_init(&tap, 0);
		/* the result's SHA-1 beside its writing, for large files */
		if (last_step && limit != UINT64_MAX &&
		    limit >= (uint64_t)HASH_THREAD_MIN)
			hashtap_thread(&tap);
		d = gzr_open(dfd, incs[i].gz);
		*why = "apply diff increment";
		if (d == NULL || patch_apply(basis, d, next,
		    last_step ? limit : UINT64_MAX,
		    last_step ? hashtap : NULL, &tap) == -1) {
			int saved = errno;

			hashtap_end(&tap, NULL);
			if (saved == EFBIG)
				*why = "diff increment makes more than the "
				    "recorded size (damaged)";
			gzr_close(d);
			if (!last_step)
				close(next);
			errno = saved;
			goto fail;
		}
		gzr_close(d);
		close(basis);
		basis = -1;
		if (!last_step) {
			basis = next;
			if (lseek(basis, 0, SEEK_SET) == -1)
				goto fail;
		}
	}
	hashtap_end(&tap, res);
	return 0;
fail:
	if (basis != -1)
		close(basis);
	return -1;
}
