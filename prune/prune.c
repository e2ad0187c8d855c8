/*
 * prune: remove the sessions of an rdiff-backup repository that are
 * older than a time, or all but the newest N.  The sessions are first made
 * invisible (their metadata and root increment markers go, oldest first,
 * so every session still listed keeps all it needs), then their increments
 * and the rest of their files are deleted.  A prune killed at any point
 * leaves every remaining session restorable; the next prune sweeps what
 * the killed one left behind.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"
#include "earec.h"
#include "exitcode.h"
#include "gz.h"
#include "io.h"
#include "meta.h"
#include "number.h"
#include "pathname.h"
#include "repo.h"
#include "timespec.h"
#include "xalloc.h"

static int	 verbose;
static uint64_t	 nfiles, nbytes;

static void
usage(void)
{
	fprintf(stderr, "usage: prune [-nvw] TIME REPO\n"
	    "       prune [-nvw] -k N REPO\n");
	exit(EXIT_USAGE);
}

static void
gone(int dirfd, const char *name)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode))
		nbytes += (uint64_t)st.st_size;
	if (unlinkat(dirfd, name, 0) == -1 && errno != ENOENT)
		err(EXIT_TEMP, "remove %s", name);
	nfiles++;
}

struct sweep {
	int		 dirfd;
	int64_t		 cut;
	const char	*what;		/* dirfd's path, for messages */
	int		 deep;		/* also below dirfd */
	int		 left;		/* something stays in dirfd */
};

static int	sweep(int, int64_t, const char *, int);

static int
sweep_one(void *arg, const struct stampent *e)
{
	struct sweep *s = arg;
	struct stat st;
	int sub;

	if (s->deep) {
		if (fstatat(s->dirfd, e->name, &st, AT_SYMLINK_NOFOLLOW) == -1)
			err(EXIT_TEMP, "stat %s/%s", s->what, e->name);
		if (S_ISDIR(st.st_mode)) {
			if ((sub = subdir(s->dirfd, e->name)) == -1)
				err(EXIT_TEMP, "open %s/%s", s->what, e->name);
			if (!sweep(sub, s->cut, e->name, 1) ||
			    unlinkat(s->dirfd, e->name, AT_REMOVEDIR) == -1)
				s->left = 1;
			close(sub);
			return 0;
		}
	}
	if (e->stamped && e->type != INC_DATA && e->t < s->cut)
		gone(s->dirfd, e->name);
	else
		s->left = 1;
	return 0;
}

/*
 * Delete every increment in dirfd stamped before cut, and with deep,
 * below it too, with the directories left empty.  Returns 1 when dirfd
 * itself is now empty.
 */
static int
sweep(int dirfd, int64_t cut, const char *what, int deep)
{
	struct sweep s = { dirfd, cut, what, deep, 0 };

	if (stamped_each(dirfd, sweep_one, &s) == -1)
		err(EXIT_TEMP, "list %s", what);
	return !s.left;
}

struct drop {
	int		 datafd;
	int64_t		 cut;
	const char	**prefixes;
};

static int
drop_one(void *arg, const struct stampent *e)
{
	struct drop *d = arg;
	size_t i;

	if (!e->stamped || e->t >= d->cut)
		return 0;
	for (i = 0; d->prefixes[i] != NULL; i++)
		if (incname_is(e->name, e->base, d->prefixes[i])) {
			gone(d->datafd, e->name);
			break;
		}
	return 0;
}

/* Data-dir files of removed sessions (one kind, by prefix) before cut. */
static void
drop_data(int datafd, int64_t cut, const char **prefixes)
{
	struct drop d = { datafd, cut, prefixes };

	if (stamped_each(datafd, drop_one, &d) == -1)
		err(EXIT_TEMP, "list %s", DATADIR);
}

/* Directories of the increments tree that removed sessions touched. */
static char	**dirs;
static size_t	  ndirs, capdirs;

static void
add_dir(const char *path, size_t len)
{
	if (ndirs == capdirs) {
		capdirs = capdirs ? capdirs * 2 : 64;
		dirs = xreallocarray(dirs, capdirs, sizeof *dirs);
	}
	dirs[ndirs] = xmalloc(len + 1);
	memcpy(dirs[ndirs], path, len);
	dirs[ndirs++][len] = '\0';
}

/*
 * The reverse metadata diff of a session names every path whose state
 * at that session differs from the next: exactly the paths with an
 * increment stamped with it.  Collect their directories (and all above,
 * for the directory increments).  Returns -1 when the session has no
 * usable diff (a snapshot, or damage): then the whole tree is swept.
 */
static int
collect_dirs(int datafd, const struct metafile *mf)
{
	struct meta_reader *m;
	struct rec *r;
	size_t i;
	int fd, rv;

	if (mf->snapshot)
		return -1;
	if ((fd = openat(datafd, mf->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return -1;
	m = meta_open(gzr_open(fd, mf->gz));
	add_dir("", 0);
	while ((rv = meta_next(m, &r)) == 1)
		for (i = 0; i < r->pathlen; i++)
			if (r->path[i] == '/')
				add_dir(r->path, i);
	meta_close(m);
	return rv;
}

/*
 * rdiff-backup also writes an increment stamped t for a path whose
 * extended attributes or ACL alone changed between session t and the
 * next, which no metadata diff names: such a path has a record in the
 * extended_attributes or access_control_lists file of t or of the next
 * session.  Collect those paths' directories too; -1 when a file that
 * exists cannot be read (then the whole tree is swept).
 */
static int
collect_attr_dirs(int datafd, int64_t t)
{
	static const char *prefixes[] = { EAFILE, ACLFILE };
	struct recfile *f;
	const char *path, *body;
	char *name;
	size_t i, k, n;
	int rv;

	for (k = 0; k < 2; k++) {
		if ((f = recfile_at(datafd, prefixes[k], t, &name)) == NULL) {
			free(name);
			if (errno == ENOENT)
				continue;
			return -1;
		}
		free(name);
		while ((rv = recfile_next(f, &path, &body, &n)) == 1)
			for (i = 0; path[i] != '\0'; i++)
				if (path[i] == '/')
					add_dir(path, i);
		recfile_close(f);
		if (rv == -1)
			return -1;
	}
	return 0;
}

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Delete the increments stamped before cut in the collected directories,
 * deepest first so that directories left empty go too.
 */
static void
sweep_dirs(int incfd, int64_t cut)
{
	const char *base;
	size_t i;
	int pfd, fd;

	if (ndirs == 0)
		return;
	qsort(dirs, ndirs, sizeof *dirs, cmpstr);
	for (i = ndirs; i-- > 0; ) {
		if (i + 1 < ndirs && strcmp(dirs[i], dirs[i + 1]) == 0)
			continue;
		if (dirs[i][0] == '\0') {
			sweep(incfd, cut, DATADIR "/" INCDIR, 0);
			continue;
		}
		if ((pfd = open_parent(incfd, dirs[i], &base)) == -1)
			continue;	/* gone already */
		if ((fd = subdir(pfd, base)) != -1) {
			if (sweep(fd, cut, dirs[i], 0))
				unlinkat(pfd, base, AT_REMOVEDIR);
			close(fd);
		}
		close(pfd);
	}
}

static int
orphan(void *arg, const struct stampent *e)
{
	return e->stamped && e->t < *(int64_t *)arg &&
	    !incname_is(e->name, e->base, MARKER);
}

/* Leftovers of a killed prune: data-dir files older than every session. */
static int
has_orphans(int datafd, int64_t oldest)
{
	int rv;

	if ((rv = stamped_each(datafd, orphan, &oldest)) == -1)
		err(EXIT_TEMP, "list %s", DATADIR);
	return rv;
}

static long long
number(const char *s, long long lo, long long hi)
{
	long long v;

	if (number_in(s, lo, hi, &v) == -1)
		errx(EXIT_USAGE, "%s: not a number from %lld to %lld", s, lo, hi);
	return v;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "dry-run",	no_argument,		NULL,	'n' },
		{ "keep",	required_argument,	NULL,	'k' },
		{ "verbose",	no_argument,		NULL,	'v' },
		{ "version",	no_argument,		NULL,	'V' },
		{ "wait",	no_argument,		NULL,	'w' },
		{ NULL,		0,			NULL,	0 }
	};
	static const char *incmark[] = { INCDIR, NULL };
	static const char *metamark[] = { METADATA, NULL };
	static const char *rest[] = { "error_log", "session_statistics",
	    "file_statistics", EAFILE, ACLFILE,
	    "win_access_control_lists", NULL };
	struct repo r;
	char ts[TIMESTR_LEN], ts2[TIMESTR_LEN];
	const char *repo;
	long long keep = -1;
	int64_t cut, oldest;
	size_t i, nrm;
	int ch, dry = 0, wait = 0, lock, fd, orphans, fullsweep = 0;

	while ((ch = getopt_long(argc, argv, "k:nVvw", longopts, NULL)) != -1) {
		switch (ch) {
		case 'k':
			keep = number(optarg, 1, INT_MAX);
			break;
		case 'n':
			dry = 1;
			break;
		case 'V':
			printf("prune %s\n", VERSION);
			return EXIT_OK;
		case 'v':
			verbose++;
			break;
		case 'w':
			wait = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != (keep > 0 ? 1 : 2))
		usage();
	repo = argv[argc - 1];
	if (repo_open(&r, repo) == -1)
		err(errno == ENOENT || errno == ENOTDIR ? EXIT_PERM : EXIT_TEMP,
		    "%s", repo);
	if ((lock = repo_lock(r.datafd, 1, wait, "prune")) == -1)
		errx(EXIT_TEMP, "lock %s: %s", repo, repo_lock_error(errno));
	if (repo_scan(&r) == -1)
		err(EXIT_TEMP, "%s/%s", repo, DATADIR);
	if (r.nmarkers == 0)
		errx(EXIT_PERM, "%s: no complete session", repo);
	if (r.nmarkers > 1)
		errx(EXIT_TEMP, "%s: the last session was interrupted; run snap "
		    "to roll it back first", repo);

	if (keep > 0)
		cut = (size_t)keep >= r.ntimes ? INT64_MIN :
		    r.times[r.ntimes - (size_t)keep];
	else if (timespec_parse(argv[0], (int64_t)time(NULL), r.times, r.ntimes,
	    &cut) == -1)
		errx(EXIT_USAGE, "bad time \"%s\" (30D, 1Y, 2023-11-15, "
		    "2023-11-15T22:13:20Z, epoch seconds, 3B)", argv[0]);
	/* the current mirror is never removed */
	if (cut > repo_current(&r))
		cut = repo_current(&r);
	for (nrm = 0; nrm < r.ntimes && r.times[nrm] < cut; nrm++)
		;
	oldest = nrm < r.ntimes ? r.times[nrm] : repo_current(&r);
	if (dry || verbose)
		for (i = 0; i < nrm; i++) {
			timestr_format(r.times[i], ts);
			printf("%s %s\n", dry ? "would remove" : "removing", ts);
		}
	if (dry) {
		repo_unlock(lock);
		return EXIT_OK;
	}

	orphans = has_orphans(r.datafd, r.ntimes ? r.times[0] : oldest);
	if (nrm == 0 && !orphans) {
		repo_unlock(lock);
		return EXIT_OK;
	}

	/*
	 * where their increments are: from their metadata diffs, and the
	 * attribute files of each and of the session after it
	 */
	for (i = 0; i < r.nmeta && r.meta[i].t < oldest && !fullsweep; i++)
		if (collect_dirs(r.datafd, &r.meta[i]) == -1 ||
		    collect_attr_dirs(r.datafd, r.meta[i].t) == -1 ||
		    (i + 1 < r.nmeta &&
		    collect_attr_dirs(r.datafd, r.meta[i + 1].t) == -1))
			fullsweep = 1;
	if (orphans)
		fullsweep = 1;	/* a killed prune: where things are is unknown */

	/*
	 * 1: the sessions disappear, oldest first; a session is listed while
	 * its metadata exists, so that goes last
	 */
	for (i = 0; i < nrm; i++) {
		drop_data(r.datafd, r.times[i] + 1, incmark);
		drop_data(r.datafd, r.times[i] + 1, metamark);
		if (sync_fd(r.datafd) == -1)
			err(EXIT_TEMP, "sync %s", DATADIR);
	}
	/* 2: their increments */
	if ((fd = subdir(r.datafd, INCDIR)) != -1) {
		if (fullsweep)
			sweep(fd, oldest, DATADIR "/" INCDIR, 1);
		else
			sweep_dirs(fd, oldest);
		close(fd);
		/* left empty, it goes, as rdiff-backup's remove does */
		(void)unlinkat(r.datafd, INCDIR, AT_REMOVEDIR);
	}
	if ((fd = openat(r.datafd, LONGDIR, O_RDONLY |
	    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) != -1) {
		sweep(fd, oldest, DATADIR "/" LONGDIR, 1);
		close(fd);
	}
	/* 3: the rest of their files, last: they mark an unfinished prune */
	drop_data(r.datafd, oldest, rest);
	if (sync_fd(r.datafd) == -1)
		err(EXIT_TEMP, "sync %s", DATADIR);
	if (verbose) {
		timestr_format(oldest, ts2);
		fprintf(stderr, "prune: %zu sessions removed, %" PRIu64 " files, %"
		    PRIu64 " bytes; oldest session now %s\n", nrm, nfiles, nbytes,
		    ts2);
	}
	repo_unlock(lock);
	repo_close(&r);
	return EXIT_OK;
}
