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
#include "journal.h"
#include "meta.h"
#include "number.h"
#include "pathname.h"
#include "prune.h"
#include "repo.h"
#include "retain.h"
#include "timespec.h"
#include "xalloc.h"

static int	 verbose;
static uint64_t	 nfiles, nbytes;

static void
usage(void)
{
	fprintf(stderr, "usage: prune [-nvw] TIME REPO\n"
	    "       prune [-nvw] -k N REPO\n"
	    "       prune [-nvw] [--keep-last N] [--keep-hourly N] "
	    "[--keep-daily N]\n"
	    "             [--keep-weekly N] [--keep-monthly N] "
	    "[--keep-yearly N]\n"
	    "             [--keep-within DURATION] [--max-size SIZE] [TIME] "
	    "REPO\n"
	    "       prune [-nvw] --session TIME [--session TIME ...] REPO\n");
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

void
dirs_add(const char *path, size_t len)
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
int
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
	dirs_add("", 0);
	while ((rv = meta_next(m, &r)) == 1)
		for (i = 0; i < r->pathlen; i++)
			if (r->path[i] == '/')
				dirs_add(r->path, i);
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
int
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
					dirs_add(path, i);
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

char **
dirs_take(size_t *n)
{
	char **v = dirs;
	size_t i, k = 0;

	if (ndirs > 0)
		qsort(dirs, ndirs, sizeof *dirs, cmpstr);
	for (i = 0; i < ndirs; i++)
		if (k > 0 && strcmp(v[k - 1], v[i]) == 0)
			free(v[i]);
		else
			v[k++] = v[i];
	*n = k;
	dirs = NULL;
	ndirs = capdirs = 0;
	return v;
}

/*
 * Delete the increments stamped before cut in the collected directories,
 * deepest first so that directories left empty go too.
 */
static void
sweep_dirs(int incfd, int64_t cut)
{
	const char *base;
	char **v;
	size_t i, n;
	int pfd, fd;

	v = dirs_take(&n);
	for (i = n; i-- > 0; ) {
		if (v[i][0] == '\0')
			sweep(incfd, cut, DATADIR "/" INCDIR, 0);
		else if ((pfd = open_parent(incfd, v[i], &base)) != -1) {
			if ((fd = subdir(pfd, base)) != -1) {
				if (sweep(fd, cut, v[i], 0))
					unlinkat(pfd, base, AT_REMOVEDIR);
				close(fd);
			}
			close(pfd);
		}
		free(v[i]);
	}
	free(v);
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

char *
path_join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *p = xmalloc(la + lb + 2);

	if (la == 0 || lb == 0) {
		memcpy(p, la ? a : b, la + lb + 1);
		return p;
	}
	memcpy(p, a, la);
	p[la] = '/';
	memcpy(p + la + 1, b, lb + 1);
	return p;
}

/* Add every directory below increments/ (when the diffs cannot say). */
static void
dirs_below(int fd, const char *path)
{
	DIR *d;
	struct dirent *de;
	struct stat st;
	char *sub;
	int cfd;

	dirs_add(path, strlen(path));
	if ((d = dir_list(fd)) == NULL)
		err(EXIT_TEMP, "list %s/%s/%s", DATADIR, INCDIR, path);
	while ((de = dir_next(d)) != NULL) {
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISDIR(st.st_mode))
			continue;
		if ((cfd = subdir(fd, de->d_name)) == -1)
			err(EXIT_TEMP, "open %s/%s/%s/%s", DATADIR, INCDIR,
			    path, de->d_name);
		sub = path_join(path, de->d_name);
		dirs_below(cfd, sub);
		free(sub);
		close(cfd);
	}
	closedir(d);
}

void
dirs_all(int datafd)
{
	int fd;

	if ((fd = subdir(datafd, INCDIR)) == -1)
		return;
	dirs_below(fd, "");
	close(fd);
}

struct sizeof_t {
	int		 dirfd;
	int64_t		 t;
	uint64_t	 bytes;
};

static int
size_one(void *arg, const struct stampent *e)
{
	struct sizeof_t *z = arg;
	struct stat st;

	if (e->stamped && e->t == z->t && !incname_is(e->name, e->base,
	    MARKER) && fstatat(z->dirfd, e->name, &st,
	    AT_SYMLINK_NOFOLLOW) == 0)
		z->bytes += inc_bytes(&st);
	return 0;
}

/* Bytes of the files in dirfd stamped t. */
static uint64_t
size_in(int dirfd, int64_t t)
{
	struct sizeof_t z = { dirfd, t, 0 };

	if (dirfd != -1)
		(void)stamped_each(dirfd, size_one, &z);
	return z.bytes;
}

/*
 * The bytes of the files stamped with session k (increments, metadata
 * and the rest): what removing it from the oldest end frees, and about
 * what removing it from the middle does.
 */
static uint64_t
session_bytes(struct repo *r, size_t k)
{
	char **v;
	size_t i, n;
	uint64_t sum;
	int64_t t = r->times[k];
	int full = 0, fd, incfd;

	for (i = 0; i < r->nmeta; i++)
		if (r->meta[i].t == t && collect_dirs(r->datafd,
		    &r->meta[i]) == -1)
			full = 1;
	if (collect_attr_dirs(r->datafd, t) == -1 || (k + 1 < r->ntimes &&
	    collect_attr_dirs(r->datafd, r->times[k + 1]) == -1))
		full = 1;
	if (full)
		dirs_all(r->datafd);
	v = dirs_take(&n);
	incfd = subdir(r->datafd, INCDIR);
	sum = size_in(r->datafd, t);
	for (i = 0; i < n; i++) {
		fd = v[i][0] == '\0' ? -1 : open_below(incfd, v[i],
		    O_RDONLY | O_DIRECTORY);
		sum += size_in(v[i][0] == '\0' ? incfd : fd, t);
		if (fd != -1)
			close(fd);
		free(v[i]);
	}
	free(v);
	if (incfd != -1)
		close(incfd);
	fd = subdir(r->datafd, LONGDIR);
	sum += size_in(fd, t);
	if (fd != -1)
		close(fd);
	return sum;
}

/*
 * What session k takes in the history: its increments, as the
 * statistics of the session after it record them (found by a look into
 * the directories when none do), and its files in the data dir.
 */
static uint64_t
history_bytes(struct repo *r, size_t k)
{
	uint64_t inc;

	if (k + 1 == r->ntimes)
		return size_in(r->datafd, r->times[k]);
	if (repo_stat(r, r->times[k + 1], "IncrementFileSize", &inc) == -1)
		return session_bytes(r, k);
	return inc + size_in(r->datafd, r->times[k]);
}

static long long
number(const char *s, long long lo, long long hi)
{
	long long v;

	if (number_in(s, lo, hi, &v) == -1)
		errx(EXIT_USAGE, "%s: not a number from %lld to %lld", s, lo, hi);
	return v;
}

/* A time argument: the time it names, among the sessions r has. */
static int64_t
when(const struct repo *r, const char *arg, int64_t now)
{
	int64_t t;

	if (timespec_parse(arg, now, r->times, r->ntimes, &t) == -1)
		errx(EXIT_USAGE, "bad time \"%s\" (30D, 1Y, 2023-11-15, "
		    "2023-11-15T22:13:20Z, epoch seconds, 3B)", arg);
	return t;
}

/*
 * Remove the oldest sessions, those before oldest, as rdiff-backup's
 * remove increments does: they disappear oldest first (metadata and
 * root marker), then their increments and their other files go.
 */
static void
remove_oldest(struct repo *r, int64_t oldest)
{
	static const char *incmark[] = { INCDIR, NULL };
	static const char *metamark[] = { METADATA, NULL };
	static const char *rest[] = { "error_log", "session_statistics",
	    "file_statistics", EAFILE, ACLFILE,
	    "win_access_control_lists", NULL };
	char **v;
	size_t i, n, nrm;
	int fd, orphans, fullsweep = 0;

	for (nrm = 0; nrm < r->ntimes && r->times[nrm] < oldest; nrm++)
		;
	orphans = has_orphans(r->datafd, r->ntimes ? r->times[0] : oldest);
	if (nrm == 0 && !orphans)
		return;

	/*
	 * where their increments are: from their metadata diffs, and the
	 * attribute files of each and of the session after it
	 */
	for (i = 0; i < r->nmeta && r->meta[i].t < oldest && !fullsweep; i++)
		if (collect_dirs(r->datafd, &r->meta[i]) == -1 ||
		    collect_attr_dirs(r->datafd, r->meta[i].t) == -1 ||
		    (i + 1 < r->nmeta &&
		    collect_attr_dirs(r->datafd, r->meta[i + 1].t) == -1))
			fullsweep = 1;
	if (orphans)
		fullsweep = 1;	/* a killed prune: where things are is unknown */

	/*
	 * 1: the sessions disappear, oldest first; a session is listed while
	 * its metadata exists, so that goes last
	 */
	for (i = 0; i < nrm; i++) {
		drop_data(r->datafd, r->times[i] + 1, incmark);
		drop_data(r->datafd, r->times[i] + 1, metamark);
		if (sync_fd(r->datafd) == -1)
			err(EXIT_TEMP, "sync %s", DATADIR);
	}
	/* 2: their increments */
	if ((fd = subdir(r->datafd, INCDIR)) != -1) {
		if (fullsweep)
			sweep(fd, oldest, DATADIR "/" INCDIR, 1);
		else
			sweep_dirs(fd, oldest);
		close(fd);
		/* left empty, it goes, as rdiff-backup's remove does */
		(void)unlinkat(r->datafd, INCDIR, AT_REMOVEDIR);
	}
	v = dirs_take(&n);	/* a full sweep left them unused */
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
	if ((fd = openat(r->datafd, LONGDIR, O_RDONLY |
	    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) != -1) {
		sweep(fd, oldest, DATADIR "/" LONGDIR, 1);
		close(fd);
	}
	/* 3: the rest of their files, last: they mark an unfinished prune */
	drop_data(r->datafd, oldest, rest);
	if (sync_fd(r->datafd) == -1)
		err(EXIT_TEMP, "sync %s", DATADIR);
}

/* Finish a merge a killed prune committed but did not apply. */
static void
roll_forward(struct repo *r, const char *repo)
{
	const char *why;

	if (journal_apply(r->datafd, &why) == -1)
		err(errno == EBADMSG ? EXIT_PERM : EXIT_TEMP, "%s: %s", repo,
		    why);
	if (repo_scan(r) == -1)
		err(EXIT_TEMP, "%s/%s", repo, DATADIR);
}

/*
 * Undo the newest session: a marker of the session before it makes the
 * repository look as if the newest had been interrupted (that marker,
 * written and synced, is the point of no return), and snap's rollback,
 * which a kill cannot break either, takes the mirror back.  snap is
 * looked for beside this program, then in PATH.
 */
static void
undo_newest(struct repo *r, const char *repo, int lock, int verbose)
{
	char line[32], *name, self[PATH_MAX], *sl;
	const char *args[] = { "snap", "-R", "-w", NULL, NULL, NULL };
	ssize_t n;

	name = incname_make(MARKER, r->times[r->ntimes - 2], INC_DATA, 0,
	    r->style);
	snprintf(line, sizeof line, "PID %ld\n", (long)getpid());
	if (atomic_write(r->datafd, name, line, strlen(line), 0600) == -1)
		err(EXIT_TEMP, "write %s/%s", DATADIR, name);
	free(name);
	repo_unlock(lock);
	args[3] = verbose ? "-v" : repo;
	args[4] = verbose ? repo : NULL;
	if ((n = readlink("/proc/self/exe", self, sizeof self - 8)) > 0) {
		self[n] = '\0';
		if ((sl = strrchr(self, '/')) != NULL) {
			strcpy(sl + 1, "snap");
			execv(self, (char *const *)args);
		}
	}
	execvp("snap", (char *const *)args);
	errx(EXIT_TEMP, "%s: the newest session is marked for rollback, but "
	    "snap cannot be run (%s): run snap -R %s to finish", repo,
	    strerror(errno), repo);
}

enum { OPT_LAST = 256, OPT_HOURLY, OPT_DAILY, OPT_WEEKLY, OPT_MONTHLY,
	OPT_YEARLY, OPT_WITHIN, OPT_SESSION, OPT_MAXSIZE };

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "dry-run",	no_argument,		NULL,	'n' },
		{ "keep",	required_argument,	NULL,	'k' },
		{ "keep-last",	required_argument,	NULL,	OPT_LAST },
		{ "keep-hourly", required_argument,	NULL,	OPT_HOURLY },
		{ "keep-daily",	required_argument,	NULL,	OPT_DAILY },
		{ "keep-weekly", required_argument,	NULL,	OPT_WEEKLY },
		{ "keep-monthly", required_argument,	NULL,	OPT_MONTHLY },
		{ "keep-yearly", required_argument,	NULL,	OPT_YEARLY },
		{ "keep-within", required_argument,	NULL,	OPT_WITHIN },
		{ "max-size",	required_argument,	NULL,	OPT_MAXSIZE },
		{ "session",	required_argument,	NULL,	OPT_SESSION },
		{ "verbose",	no_argument,		NULL,	'v' },
		{ "version",	no_argument,		NULL,	'V' },
		{ "wait",	no_argument,		NULL,	'w' },
		{ NULL,		0,			NULL,	0 }
	};
	struct retain pol;
	struct repo r;
	char ts[TIMESTR_LEN], **why;
	const char *repo, *within = NULL, **session = NULL;
	int64_t now = (int64_t)time(NULL), t, oldest, *run;
	size_t i, k, nrm, nmid, nrun, nsession = 0;
	uint64_t maxsize = 0;
	int ch, dry = 0, wait = 0, lock, *keep, pending, limit = 0;

	retain_init(&pol);
	while ((ch = getopt_long(argc, argv, "k:nVvw", longopts, NULL)) != -1) {
		switch (ch) {
		case 'k':
			pol.n[RET_LAST] = number(optarg, 1, INT_MAX);
			break;
		case OPT_LAST:
		case OPT_HOURLY:
		case OPT_DAILY:
		case OPT_WEEKLY:
		case OPT_MONTHLY:
		case OPT_YEARLY:
			pol.n[RET_LAST + ch - OPT_LAST] = number(optarg, 0,
			    INT_MAX);
			break;
		case OPT_WITHIN:
			within = optarg;
			break;
		case OPT_SESSION:
			session = xreallocarray(session, nsession + 1,
			    sizeof *session);
			session[nsession++] = optarg;
			break;
		case OPT_MAXSIZE:
			if (number_size(optarg, &maxsize) == -1)
				errx(EXIT_USAGE, "%s: not a size (500M, 2G, "
				    "bytes)", optarg);
			limit = 1;
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
	if (session != NULL ? argc != 1 || retain_any(&pol) || within ||
	    limit : argc != 2 && (argc != 1 || (!retain_any(&pol) &&
	    !within && !limit)))
		usage();
	repo = argv[argc - 1];
	if (repo_open(&r, repo) == -1)
		err(errno == ENOENT || errno == ENOTDIR ? EXIT_PERM : EXIT_TEMP,
		    "%s", repo);
	if ((lock = repo_lock(r.datafd, 1, wait, "prune")) == -1)
		errx(EXIT_TEMP, "lock %s: %s", repo, repo_lock_error(errno));
	if (repo_scan(&r) == -1)
		err(EXIT_TEMP, "%s/%s", repo, DATADIR);
	if ((pending = journal_pending(r.datafd, NULL, NULL)) == -1 &&
	    errno == EBADMSG)
		errx(EXIT_PERM, "%s/%s/%s: not a journal prune wrote (damaged, "
		    "or put there): nothing was changed; remove it to go on",
		    repo, DATADIR, JOURNAL);
	if (pending == -1)
		err(EXIT_TEMP, "%s/%s/%s", repo, DATADIR, JOURNAL);
	if (pending && dry)
		printf("an interrupted merge is pending: prune will finish "
		    "it\n");
	else
		roll_forward(&r, repo);
	if (r.nmarkers == 0)
		errx(EXIT_PERM, "%s: no complete session", repo);
	if (r.nmarkers > 1)
		errx(EXIT_TEMP, "%s: the last session was interrupted; run snap "
		    "to roll it back first", repo);

	/* which sessions stay */
	keep = xcalloc(r.ntimes, sizeof *keep);
	why = xcalloc(r.ntimes, sizeof *why);
	if (session != NULL) {
		for (i = 0; i < r.ntimes; i++)
			keep[i] = 1;
		for (k = 0; k < nsession; k++) {
			/* a session's own time (or now, 0B, 3B): never a
			 * guess */
			t = strcmp(session[k], "now") == 0 && r.ntimes > 0 ?
			    r.times[r.ntimes - 1] : when(&r, session[k], now);
			for (i = 0; i < r.ntimes && r.times[i] != t; i++)
				;
			if (i == r.ntimes)
				errx(EXIT_USAGE, "%s: no session at %s (restore "
				    "-l lists them; 0B is the newest, 1B the "
				    "one before)", repo, session[k]);
			if (r.ntimes == 1)
				errx(EXIT_USAGE, "%s: %s is the only session; "
				    "it is never removed", repo, session[k]);
			if (i == r.ntimes - 1 && nsession > 1)
				errx(EXIT_USAGE, "%s: %s is the newest session: "
				    "undo it with --session alone", repo,
				    session[k]);
			keep[i] = 0;
		}
		if (!keep[r.ntimes - 1]) {
			timestr_format(r.times[r.ntimes - 2], ts);
			if (dry) {
				printf("would undo the newest session: the "
				    "mirror goes back to %s\n", ts);
				return EXIT_OK;
			}
			undo_newest(&r, repo, lock, verbose);
		}
		free(session);
	} else {
		if (argc == 2)
			pol.since = when(&r, argv[0], now);
		if (within != NULL) {
			t = when(&r, within, r.ntimes ?
			    r.times[r.ntimes - 1] : now);
			if (pol.since == INT64_MIN || t < pol.since) {
				pol.since = t;
				pol.since_why = "within";
			}
		}
		if (argc == 2 || within != NULL || retain_any(&pol))
			retain_apply(&pol, r.times, r.ntimes, keep, why);
		else
			for (i = 0; i < r.ntimes; i++)
				keep[i] = 1;
	}
	if (limit) {
		/* then the oldest go until the history fits */
		uint64_t *hb = xcalloc(r.ntimes + 1, sizeof *hb), total = 0;

		for (i = 0; i + 1 < r.ntimes; i++)
			if (keep[i])
				total += hb[i] = history_bytes(&r, i);
		for (i = 0; i + 1 < r.ntimes && total > maxsize; i++)
			if (keep[i]) {
				keep[i] = 0;
				total -= hb[i];
				free(why[i]);
				why[i] = NULL;
			}
		free(hb);
	}
	for (nrm = 0; nrm < r.ntimes && !keep[nrm]; nrm++)
		;
	oldest = nrm < r.ntimes ? r.times[nrm] : repo_current(&r);
	if (dry || verbose)
		for (i = 0; i < r.ntimes; i++) {
			timestr_format(r.times[i], ts);
			if (keep[i] && dry)
				printf("keep %s%s%s\n", ts, why[i] ? ": " : "",
				    why[i] ? why[i] : "");
			else if (!keep[i])
				printf("%s %s: %" PRIu64 " bytes\n", dry ?
				    "would remove" : "removing", ts,
				    session_bytes(&r, i));
		}
	for (i = 0; i < r.ntimes; i++)
		free(why[i]);
	free(why);
	if (dry) {
		free(keep);
		repo_unlock(lock);
		return EXIT_OK;
	}

	/* the oldest ones as rdiff-backup removes them, then each run of
	 * removed sessions in the middle, in one merge, newest first: the
	 * kept sessions around it in run[2k], run[2k + 1] */
	run = xcalloc(2 * r.ntimes + 2, sizeof *run);
	for (i = r.ntimes, nrun = nmid = 0; i-- > nrm; ) {
		nmid += !keep[i];
		if (!keep[i] && i + 1 < r.ntimes && keep[i + 1]) {
			run[2 * nrun + 1] = r.times[i + 1];
			for (k = i; !keep[k]; k--)
				;
			run[2 * nrun++] = r.times[k];
		}
	}
	free(keep);
	remove_oldest(&r, oldest);
	for (k = 0; k < nrun; k++) {
		if (repo_scan(&r) == -1)
			err(EXIT_TEMP, "%s/%s", repo, DATADIR);
		merge_run(&r, run[2 * k], run[2 * k + 1], verbose);
	}
	free(run);
	if (verbose) {
		timestr_format(oldest, ts);
		fprintf(stderr, "prune: %zu sessions removed, %" PRIu64 " files, %"
		    PRIu64 " bytes; oldest session now %s\n", nrm + nmid, nfiles,
		    nbytes, ts);
	}
	repo_unlock(lock);
	repo_close(&r);
	return EXIT_OK;
}
