/*
 * snap: back up SRC into the rdiff-backup repository REPO, keeping the
 * newest tree as a plain mirror and the older ones as reverse increments.
 * This file drives a session: it checks the repository, writes the
 * session markers and metadata files in rdiff-backup's order, and leaves
 * the tree itself to tree.c.
 */
#define _GNU_SOURCE	/* syncfs: Linux, not POSIX */
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>		/* statfs: Linux */

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
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"
#include "exitcode.h"
#include "gz.h"
#include "io.h"
#include "journal.h"
#include "number.h"
#include "pathname.h"
#include "prefetch.h"
#include "progress.h"
#include "repo.h"
#include "select.h"
#include "snap.h"
#include "sparse.h"
#include "timespec.h"
#include "xalloc.h"

static void
usage(void)
{
	fprintf(stderr, "usage: snap [-vwx] [--create-full-path] "
	    "[--current-time SECS]\n"
	    "            [--never-drop-acls] [--no-acls] [--no-eas] "
	    "[--no-fsync]\n"
	    "            [-E NAME] [-e GLOB] [-i GLOB] [RULE ...]\n"
	    "            [--remote-schema CMD] [--timeout SECS] "
	    "SRC|[user@]host:path REPO\n"
	    "       snap --server [--root DIR]\n"
	    "       snap -R [-vw] REPO\n"
	    "       snap -s [--parsable-output] REPO\n");
	exit(EXIT_USAGE);
}

/* The live counter's line on a terminal's standard error (NULL: erase). */
static void
show_progress(const char *line)
{
	fprintf(stderr, "\r%s\033[K", line != NULL ? line : "");
}

void
snap_fatal(const char *what, const char *path)
{
	err(EXIT_TEMP, "%s %s", what, shown(path));
}

/*
 * Can the source root still be listed, and is it still the filesystem
 * the session started on?  A dead mount that unmounted itself leaves
 * the directory under it, which lists fine.  Its stat and listing may
 * come from caches; statvfs goes to the filesystem (mount-remote asks
 * the server), so a mount whose connection died says so there.
 */
static int
source_gone(const struct session *s)
{
	struct statvfs sv;
	struct stat st;
	DIR *d;
	int gone;

	if (stat(s->src, &st) == -1 || st.st_dev != s->srcdev ||
	    statvfs(s->src, &sv) == -1)
		return 1;
	if ((d = opendir(s->src)) == NULL)
		return 1;
	errno = 0;
	gone = readdir(d) == NULL && errno != 0;
	closedir(d);
	return gone;
}

/*
 * Report a failed source entry on stderr and in the error log, counted
 * as an error of the session.
 */
void
report(struct session *s, const char *what, const char *path, int e)
{
	char line[512];

	/*
	 * An I/O error may mean the whole source went away (a dead mount):
	 * then stop with one line, leaving the session to be rolled back,
	 * rather than report every remaining file.
	 */
	/* (the agent's connection ends the session when it dies) */
	if (!s->agent && (e == EIO || e == ENOTCONN || e == ESTALE) &&
	    (++s->eio_streak >= 5 || source_gone(s))) {
		progress_clear();
		errx(EXIT_TEMP, "%s: source no longer readable (%s); session "
		    "abandoned, the next run rolls it back", s->src, strerror(e));
	}
	s->st.errors++;
	progress_clear();
	warnx("%s %s: %s", what, shown(path), strerror(e));
	snprintf(line, sizeof line, "UpdateError %s %s: %s\n", what, shown(path),
	    strerror(e));
	if (s->errfd != -1)
		write_full(s->errfd, line, strlen(line));
}

/*
 * Create a session-stamped file in the data dir, its time spelt as the
 * repository spells them; exits on failure.
 */
static int
create_stamped(struct session *s, const char *prefix, int64_t t, int type,
    int gz)
{
	char *name = incname_make(prefix, t, type, gz, s->style);
	int fd;

	fd = openat(s->datafd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600);
	if (fd == -1)
		err(EXIT_TEMP, "create %s/%s", DATADIR, name);
	free(name);
	return fd;
}

static void
write_marker(struct session *s, int64_t t)
{
	char line[32];
	int fd;

	fd = create_stamped(s, MARKER, t, INC_DATA, 0);
	snprintf(line, sizeof line, "PID %ld\n", (long)getpid());
	if (write_full(fd, line, strlen(line)) == -1 || sync_fd(fd) == -1 ||
	    close(fd) == -1 || sync_fd(s->datafd) == -1)
		err(EXIT_TEMP, "write %s/current_mirror marker", DATADIR);
}

/*
 * Remove the data-dir files stamped t of a kind, found by time and not
 * by name: an older session's may be spelt in another style or zone.
 */
static void
unlink_stamped(int datafd, const char *prefix, int64_t t, int type)
{
	char ts[TIMESTR_LEN];

	if (stamped_unlink(datafd, prefix, t, type) == -1) {
		timestr_format(t, ts);
		err(EXIT_TEMP, "remove %s/%s.%s.%s", DATADIR, prefix, ts,
		    inctype_name(type));
	}
}

static void
empty_stamped(struct session *s, const char *prefix, int64_t t, int type)
{
	close(create_stamped(s, prefix, t, type, 0));
}

/*
 * Is path on a network or FUSE filesystem, where every open costs a round
 * trip?  Then snap reads ahead across directories (the scout).  2 for
 * FUSE (an SFTP mount, most likely), 1 for the others, else 0.
 */
static int
remote_fs(const char *path)
{
	static const unsigned long magic[] = {
		0x65735546,	/* FUSE: mount-remote, sshfs */
		0x6969,		/* NFS */
		0xff534d42,	/* CIFS */
		0xfe534d42,	/* SMB2 */
		0x517b,		/* SMB */
		0x00c36400,	/* Ceph */
		0x01021997,	/* 9P */
	};
	struct statfs sf;
	size_t i;

	if (statfs(path, &sf) == -1)
		return 0;
	for (i = 0; i < sizeof magic / sizeof magic[0]; i++)
		if ((unsigned long)sf.f_type == magic[i])
			return i == 0 ? 2 : 1;
	return 0;
}

/* session_statistics.<T>.data in rdiff-backup's layout. */
static void
write_stats(struct session *s, double end)
{
	struct stats *t = &s->st;
	char buf[2048], h[9][32], tb[64];
	time_t start = (time_t)s->now, e = (time_t)end;
	int fd, n;

	fd = create_stamped(s, "session_statistics", s->now, INC_DATA, 0);
	strftime(tb, sizeof tb, "%a %b %e %H:%M:%S %Y", localtime(&start));
	n = snprintf(buf, sizeof buf, "StartTime %" PRId64 ".00 (%s)\n", s->now, tb);
	strftime(tb, sizeof tb, "%a %b %e %H:%M:%S %Y", localtime(&e));
	n += snprintf(buf + n, sizeof buf - (size_t)n,
	    "EndTime %.2f (%s)\n"
	    "ElapsedTime %.2f (%.2f seconds)\n"
	    "SourceFiles %" PRIu64 "\n"
	    "SourceFileSize %" PRIu64 " (%s)\n"
	    "MirrorFiles %" PRIu64 "\n"
	    "MirrorFileSize %" PRIu64 " (%s)\n"
	    "NewFiles %" PRIu64 "\n"
	    "NewFileSize %" PRIu64 " (%s)\n"
	    "DeletedFiles %" PRIu64 "\n"
	    "DeletedFileSize %" PRIu64 " (%s)\n"
	    "ChangedFiles %" PRIu64 "\n"
	    "ChangedSourceSize %" PRIu64 " (%s)\n"
	    "ChangedMirrorSize %" PRIu64 " (%s)\n"
	    "IncrementFiles %" PRIu64 "\n"
	    "IncrementFileSize %" PRIu64 " (%s)\n"
	    "TotalDestinationSizeChange %" PRId64 " (%s)\n"
	    "Errors %" PRIu64 "\n",
	    end, tb, end - (double)s->now, end - (double)s->now,
	    t->srcfiles, t->srcsize, number_human(t->srcsize, h[0], 32),
	    t->mirrorfiles, t->mirrorsize, number_human(t->mirrorsize, h[1], 32),
	    t->newfiles, t->newsize, number_human(t->newsize, h[2], 32),
	    t->delfiles, t->delsize, number_human(t->delsize, h[3], 32),
	    t->chgfiles, t->chgsrcsize, number_human(t->chgsrcsize, h[4], 32),
	    t->chgmirrorsize, number_human(t->chgmirrorsize, h[5], 32),
	    t->incfiles, t->incsize, number_human(t->incsize, h[6], 32),
	    (int64_t)(t->newsize + t->chgsrcsize + t->incsize) -
	    (int64_t)(t->delsize + t->chgmirrorsize),
	    number_human(t->newsize + t->chgsrcsize + t->incsize, h[7], 32),
	    t->errors);
	if (n >= (int)sizeof buf || write_full(fd, buf, (size_t)n) == -1 ||
	    close(fd) == -1)
		err(EXIT_TEMP, "write %s/session_statistics", DATADIR);
}

static int64_t
parse_time(const char *s)
{
	long long v;

	if (number_in(s, 0, LLONG_MAX, &v) == -1)
		errx(EXIT_USAGE, "--current-time %s: not a number of seconds", s);
	return v;
}

static int
is_marker(void *arg, const struct stampent *e)
{
	(void)arg;
	return e->stamped && e->type == INC_DATA &&
	    incname_is(e->name, e->base, MARKER);
}

/*
 * Remove everything in the repository but the lock file.  The data
 * directory is listed once more first: a finished session found now
 * (a listing that lied the first time) stops the wipe.
 */
static void
wipe(struct session *s, const char *path)
{
	DIR *d;
	struct dirent *de;
	int i, dirfd;

	if ((i = stamped_each(s->datafd, is_marker, NULL)) == -1)
		err(EXIT_TEMP, "list %s/%s", path, DATADIR);
	if (i != 0)
		errx(EXIT_TEMP, "%s: a finished session appeared in a second "
		    "listing of %s; nothing removed", path, DATADIR);
	for (i = 0; i < 2; i++) {
		dirfd = i == 0 ? s->repofd : s->datafd;
		if ((d = dir_list(dirfd)) == NULL)
			err(EXIT_TEMP, "list %s", path);
		while ((de = dir_next(d)) != NULL) {
			if ((i == 0 && !strcmp(de->d_name, DATADIR)) ||
			    (i == 1 && !strcmp(de->d_name, "lock.yml")))
				continue;
			if (rmtree_at(dirfd, de->d_name) == -1)
				err(EXIT_TEMP, "remove %s/%s", path, de->d_name);
		}
		if (errno != 0)
			err(EXIT_TEMP, "list %s", path);
		closedir(d);
	}
}

/* The files of a repository without a session yet. */
static void
init_repo(struct session *s, const char *path)
{
	static const char *empty[] = { "chars_to_quote", "special_escapes" };
	size_t i;
	int fd;

	if (mkdirat(s->datafd, INCDIR, 0700) == -1 && errno != EEXIST)
		err(EXIT_TEMP, "create %s/%s/increments", path, DATADIR);
	for (i = 0; i < 2; i++) {
		fd = openat(s->datafd, empty[i], O_WRONLY | O_CREAT | O_TRUNC |
		    O_CLOEXEC, 0600);
		if (fd == -1)
			err(EXIT_TEMP, "create %s/%s/%s", path, DATADIR, empty[i]);
		close(fd);
	}
	s->first = 1;
	s->oldmeta = -1;
}

/*
 * The repository's directory, made if missing (with fullpath, its
 * missing parents too, 0700 as rdiff-backup makes them).  A missing or
 * non-directory parent is an error of the operand: no retry mends it.
 */
static void
make_repo_dir(const char *path, int fullpath)
{
	if (fullpath && mkdir_parents(path, 0700) == -1)
		err(errno == ENOTDIR ? EXIT_PERM : EXIT_TEMP, "create parents "
		    "of %s", path);
	if (mkdir(path, 0700) == 0 || errno == EEXIST)
		return;
	if (errno == ENOENT)
		errx(EXIT_PERM, "%s: parent directory does not exist (use "
		    "--create-full-path)", path);
	err(errno == ENOTDIR ? EXIT_PERM : EXIT_TEMP, "mkdir %s", path);
}

/*
 * Open or create the repository and lock it; finish a killed prune's
 * merge, roll back an interrupted session.  For a later session fills the previous session's time, the
 * descriptor of its metadata snapshot, and whether to keep that snapshot
 * (rdiff-backup keeps one every 9 sessions).
 */
static void
open_repo(struct session *s, const char *path, struct repo *r, int *keep,
    int wait, int recover, int fullpath)
{
	const char *why;
	size_t i, k, diffs;

	if (recover) {
		if ((s->repofd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
			err(errno == ENOENT || errno == ENOTDIR ? EXIT_PERM :
			    EXIT_TEMP, "%s", path);
	} else {
		make_repo_dir(path, fullpath);
		if ((s->repofd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
			err(errno == ENOTDIR ? EXIT_PERM : EXIT_TEMP, "%s", path);
	}
	s->datafd = openat(s->repofd, DATADIR, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC);
	if (s->datafd == -1) {
		if (errno != ENOENT)
			err(EXIT_TEMP, "open %s/%s", path, DATADIR);
		/* a new repository goes only into an empty directory */
		if (recover || dir_empty(s->repofd) != 1)
			errx(EXIT_PERM, "%s: not a repository (no %s)%s", path,
			    DATADIR, recover ? "" : " and not empty");
		if ((mkdirat(s->repofd, DATADIR, 0700) == -1 && errno != EEXIST) ||
		    (s->datafd = openat(s->repofd, DATADIR, O_RDONLY |
		    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1)
			err(EXIT_TEMP, "create %s/%s", path, DATADIR);
	}
	s->lockfd = repo_lock(s->datafd, 1, wait, "snap");
	if (s->lockfd == -1)
		errx(EXIT_TEMP, "lock %s: %s", path, repo_lock_error(errno));
	r->fd = s->repofd;
	r->datafd = s->datafd;
	/* a merge a killed prune committed: finish it, as prune would */
	if (journal_apply(s->datafd, &why) == -1) {
		if (errno == EBADMSG)
			errx(EXIT_PERM, "%s/%s/%s: not a journal prune wrote "
			    "(damaged, or put there): nothing was changed; "
			    "remove it to go on", path, DATADIR, JOURNAL);
		err(EXIT_TEMP, "%s: %s", path, why);
	}
	if (repo_scan(r) == -1)
		err(EXIT_TEMP, "%s/%s", path, DATADIR);
	/* new names follow the last complete session's (colons when new) */
	s->style = r->style;
	if (r->quoted)
		errx(EXIT_PERM, "%s: uses file name quoting (chars_to_quote), "
		    "which snap does not write", path);
	if (r->nmarkers == 0) {
		/* nothing yet, or a first session that did not finish */
		if (r->nmeta > 1)
			errx(EXIT_PERM, "%s: no current_mirror marker but several "
			    "sessions of metadata: not a repository snap can use",
			    path);
		if (r->nmeta == 1 && s->verbose)
			fprintf(stderr, "snap: removing an unfinished first session\n");
		if (r->nmeta == 1 || !recover)
			wipe(s, path);
		if (!recover)
			init_repo(s, path);
		return;
	}
	if (r->nmarkers > 1)
		regress(s, r, path);
	if (recover)
		return;
	if (r->dupmeta)
		errx(EXIT_PERM, "%s: two metadata files for one session in %s",
		    path, DATADIR);
	s->first = 0;
	s->prev = r->markers[0];
	for (i = 0; i < r->nmeta && r->meta[i].t != s->prev; i++)
		;
	if (i == r->nmeta || !r->meta[i].snapshot)
		errx(EXIT_PERM, "%s: no metadata snapshot for the last session",
		    path);
	s->oldmeta_gz = r->meta[i].gz;
	if ((s->oldmeta = openat(s->datafd, r->meta[i].name, O_RDONLY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1)
		err(EXIT_TEMP, "open %s/%s", DATADIR, r->meta[i].name);
	for (diffs = 0, k = i; k > 0 && !r->meta[k - 1].snapshot; k--)
		diffs++;
	*keep = diffs >= 8;
}

/*
 * The session's time: --current-time, or now; a run in the same second
 * as the last session waits for the next.  It must come after the last.
 */
static void
session_time(struct session *s, int64_t settime, struct timespec *t0)
{
	s->now = settime >= 0 ? settime : (int64_t)t0->tv_sec;
	/* a run in the same second as the last one waits for the next */
	if (!s->first && settime < 0 && s->now == s->prev) {
		struct timespec rest = { 0, 1000000000L - t0->tv_nsec };

		nanosleep(&rest, NULL);
		clock_gettime(CLOCK_REALTIME, t0);
		s->now = (int64_t)t0->tv_sec;
	}
	if (!s->first && s->now <= s->prev) {
		char a[TIMESTR_LEN], b[TIMESTR_LEN];

		timestr_format(s->now, a);
		timestr_format(s->prev, b);
		errx(EXIT_PERM, "session time %s is not after the last session %s",
		    a, b);
	}
}

/*
 * Start writing the session: its error log, its current_mirror marker
 * (from now on the session counts as interrupted until commit), and the
 * new metadata snapshot and the reverse diff for the previous session
 * (none when keep: that snapshot stays as it is).
 */
static void
begin(struct session *s, int keep)
{
	int fd;

	s->errfd = create_stamped(s, "error_log", s->now, INC_DATA, 0);
	if (!s->first)
		write_marker(s, s->now);
	fd = create_stamped(s, METADATA, s->now, INC_SNAPSHOT, 1);
	s->snap = gzw_open(fd, 1);	/* rewritten every run: speed first */
	gzw_seekable(s->snap);		/* restore -m reads parts of it */
	gzw_background(s->snap);
	if (!s->first && !keep) {
		fd = create_stamped(s, METADATA, s->prev, INC_DIFF, 1);
		s->diff = gzw_open(fd, 1);
		gzw_seekable(s->diff);
		gzw_background(s->diff);
	}
	attrs_begin(s);
}

/*
 * Mark the session complete, in an order that a crash at any point
 * leaves either the previous state or this one, or a repository that
 * the next run rolls back (two markers):
 *   1. finish the metadata snapshot and the diff (a 0-byte file for an
 *      empty diff, as rdiff-backup writes), and the empty extended
 *      attribute and ACL files;
 *   2. syncfs: everything the session wrote is on disk;
 *   3. a first session writes its marker only now; a later one removes
 *      the previous session's snapshot when the diff replaced it, then
 *      the previous session's marker, and syncs the data dir.
 */
static void
commit(struct session *s, struct repo *r, const char *path)
{
	int dropold = 0;

	if (gzw_close(s->snap, 1) == -1)
		err(EXIT_TEMP, "write %s/mirror_metadata snapshot", DATADIR);
	if (s->diff != NULL) {
		int empty = gzw_count(s->diff) == 0;

		if (gzw_close(s->diff, 1) == -1)
			err(EXIT_TEMP, "write %s/mirror_metadata diff", DATADIR);
		/* rdiff-backup writes an empty diff as a plain 0-byte file */
		if (empty) {
			unlink_stamped(s->datafd, METADATA, s->prev, INC_DIFF);
			empty_stamped(s, METADATA, s->prev, INC_DIFF);
		}
		dropold = 1;
	}
	attrs_commit(s);
	/* everything this session wrote, before it is marked complete */
	if (!s->nosync && syncfs(s->repofd) == -1)
		err(EXIT_TEMP, "sync %s", path);
	if (s->first)
		write_marker(s, s->now);
	else {
		/* the old snapshot is now the diff: drop whichever name it has */
		if (dropold) {
			size_t i;

			for (i = 0; i < r->nmeta; i++)
				if (r->meta[i].t == s->prev && unlinkat(s->datafd,
				    r->meta[i].name, 0) == -1)
					err(EXIT_TEMP, "remove %s/%s", DATADIR,
					    r->meta[i].name);
		}
		unlink_stamped(s->datafd, MARKER, s->prev, INC_DATA);
		if (sync_fd(s->datafd) == -1)
			err(EXIT_TEMP, "sync %s", DATADIR);
	}
}

/* A number of session statistics buf (NULL: none), or -1 if absent. */
static double
stat_of(const char *buf, const char *key)
{
	const char *p = buf ? stats_field(buf, key) : NULL;

	return p != NULL ? strtod(p, NULL) : -1;
}

/*
 * snap -s: the state of the last session, for cron and monitoring, in
 * lines of "key: value" (parsable: "key value" with bare numbers), keys
 * in a fixed order that later versions only add to.
 */
static int
status(const char *path, int parsable)
{
	static const struct { const char *key, *stat; } nums[] = {
		{ "files", "SourceFiles" }, { "bytes", "SourceFileSize" },
		{ "changed", "ChangedFiles" }, { "new", "NewFiles" },
		{ "deleted", "DeletedFiles" },
		{ "increment_bytes", "IncrementFileSize" },
		{ "duration", "ElapsedTime" }, { "errors", "Errors" },
	};
	struct repo r;
	char ts[TIMESTR_LEN], *buf, h[32];
	const char *result;
	double v;
	int64_t last, age, errors;
	size_t i;
	int interrupted, rv = EXIT_OK;

	if (repo_open(&r, path) == -1)
		err(errno == ENOENT || errno == ENOTDIR ? EXIT_PERM : EXIT_TEMP,
		    "%s", path);
	if (r.nmarkers == 0)
		errx(EXIT_TEMP, "%s: no complete session", path);
	interrupted = r.nmarkers > 1;
	last = r.markers[0];
	timestr_format(last, ts);
	age = (int64_t)time(NULL) - last;
	buf = repo_stats(&r, last);
	errors = (int64_t)stat_of(buf, "Errors");
	result = interrupted ? "interrupted" : errors < 0 ? "unknown" :
	    errors > 0 ? "partial" : "ok";
	if (parsable) {
		printf("last_session %" PRId64 "\nlast_session_time %s\n"
		    "age_seconds %" PRId64 "\nsessions %zu\nresult %s\n",
		    last, ts, age, r.ntimes - (size_t)interrupted, result);
		for (i = 0; i < sizeof nums / sizeof nums[0]; i++)
			if ((v = stat_of(buf, nums[i].stat)) < 0)
				printf("%s unknown\n", nums[i].key);
			else if (strcmp(nums[i].key, "duration") == 0)
				printf("%s %.2f\n", nums[i].key, v);
			else
				printf("%s %.0f\n", nums[i].key, v);
	} else {
		printf("last session: %s (%" PRId64 "d %02" PRId64 "h %02"
		    PRId64 "m ago)\n", ts, age / 86400, age % 86400 / 3600,
		    age % 3600 / 60);
		printf("sessions: %zu\n", r.ntimes - (size_t)interrupted);
		printf("interrupted session: %s\n", interrupted ?
		    "yes (the next snap rolls it back)" : "no");
		if (errors >= 0)
			printf("errors in last session: %" PRId64 "\n", errors);
		else
			printf("errors in last session: unknown (no "
			    "statistics)\n");
		printf("result: %s\n", result);
		if ((v = stat_of(buf, "SourceFiles")) >= 0)
			printf("files: %.0f, %s, %.0f changed, %.0f new, %.0f "
			    "deleted, in %.1f s\n", v, number_human((uint64_t)
			    stat_of(buf, "SourceFileSize"), h, sizeof h),
			    stat_of(buf, "ChangedFiles"), stat_of(buf,
			    "NewFiles"), stat_of(buf, "DeletedFiles"),
			    stat_of(buf, "ElapsedTime"));
	}
	if (interrupted || errors != 0)
		rv = EXIT_PARTIAL;
	free(buf);
	repo_close(&r);
	if (fflush(stdout) == EOF)
		err(EXIT_TEMP, "stdout");
	return rv;
}

int
main(int argc, char *argv[])
{
	static const struct option ownopts[] = {
		{ "create-full-path",	no_argument,		NULL,	'C' },
		{ "current-time",	required_argument,	NULL,	'T' },
		{ "never-drop-acls",	no_argument,		NULL,	'D' },
		{ "no-acls",		no_argument,		NULL,	'A' },
		{ "no-eas",		no_argument,		NULL,	'X' },
		{ "no-fsync",		no_argument,		NULL,	'F' },
		{ "parsable-output",	no_argument,		NULL,	'P' },
		{ "recover",		no_argument,		NULL,	'R' },
		{ "remote-schema",	required_argument,	NULL,	'M' },
		{ "root",		required_argument,	NULL,	'r' },
		{ "server",		no_argument,		NULL,	'S' },
		{ "status",		no_argument,		NULL,	's' },
		{ "timeout",		required_argument,	NULL,	't' },
		{ "wait",		no_argument,		NULL,	'w' },
		{ "verbose",		no_argument,		NULL,	'v' },
		{ "version",		no_argument,		NULL,	'V' },
		{ NULL,			0,			NULL,	0 }
	};
	struct option *longopts;
	struct selrules rules = { NULL, 0, 0 };
	struct session s;
	struct repo r;
	struct stat st;
	struct timespec t0, t1;
	struct rlimit rl;
	char h1[32], h2[32], msg[512];
	int ch, keep = 0, wait = 0, recover = 0, stat = 0, parsable = 0;
	int fullpath = 0, remote, server = 0, timeout = -1;
	long long l;
	const char *serveroot = NULL, *schema = NULL;
	size_t nrules;
	int64_t settime = -1;

	longopts = select_longopts(ownopts);
	memset(&s, 0, sizeof s);
	memset(&r, 0, sizeof r);
	s.errfd = -1;
	s.eas = s.acls = 1;
	while ((ch = getopt_long(argc, argv, "E:e:i:RsVvwx", longopts, NULL)) != -1) {
		switch (ch) {
		case 'C':
			fullpath = 1;
			break;
		case 'A':
			s.acls = 0;
			break;
		case 'D':
			s.neverdrop = 1;
			break;
		case 'X':
			s.eas = 0;
			break;
		case 'F':
			s.nosync = 1;
			break;
		case 'P':
			parsable = 1;
			break;
		case 'R':
			recover = 1;
			break;
		case 'r':
			serveroot = optarg;
			break;
		case 'M':
			schema = optarg;
			break;
		case 't':
			if (number_in(optarg, 1, 86400, &l) == -1)
				errx(EXIT_USAGE, "--timeout: not a number of "
				    "seconds from 1 to 86400: %s", optarg);
			timeout = (int)l;
			break;
		case 'S':
			server = 1;
			break;
		case 's':
			stat = 1;
			break;
		case 'w':
			wait = 1;
			break;
		case 'E':
		case 'e':
		case 'i':
		case 'x':
			/* rules apply in the order given */
			ch = SELOPT + (ch == 'E' ? SEL_EXCLUDE_PRESENT : ch == 'e' ?
			    SEL_EXCLUDE : ch == 'i' ? SEL_INCLUDE :
			    SEL_EXCLUDE_OTHERFS);
			if (selrules_opt(&rules, ch, optarg, msg, sizeof msg) == -1)
				errx(EXIT_USAGE, "%s", msg);
			break;
		case 'T':
			settime = parse_time(optarg);
			break;
		case 'V':
			printf("snap %s\n", VERSION);
			return EXIT_OK;
		case 'v':
			s.verbose++;
			break;
		default:
			if (ch < SELOPT)
				usage();
			if (selrules_opt(&rules, ch, optarg, msg, sizeof msg) == -1)
				errx(EXIT_USAGE, "%s", msg);
		}
	}
	argc -= optind;
	argv += optind;
	nrules = rules.n;
	if (server || serveroot != NULL) {
		if (!server || argc != 0 || stat || recover || nrules ||
		    settime >= 0 || fullpath || wait)
			usage();
		return server_main(serveroot);
	}
	if (stat + recover > 1 || argc != (stat || recover ? 1 : 2) ||
	    ((stat || recover) && (nrules || settime >= 0 || fullpath)) ||
	    (stat && wait))
		usage();
	if (parsable && !stat)
		usage();
	if (stat)
		return status(argv[0], parsable);
	umask(077);
	if (s.nosync)
		atomic_nosync(1);
	else
		sparse_writeback(1);
	if (recover) {
		s.root = geteuid() == 0;
		s.errfd = -1;
		open_repo(&s, argv[0], &r, &keep, wait, 1, 0);
		repo_unlock(s.lockfd);
		return s.st.errors ? EXIT_PARTIAL : EXIT_OK;
	}
	s.src = argv[0];
	s.root = geteuid() == 0;
	/* deep trees hold one descriptor per level */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	clock_gettime(CLOCK_REALTIME, &t0);
	s.agent = remote_spec(s.src) && lstat(s.src, &st) == -1;
	if (s.agent && (selrules_has(&rules, SEL_EXCLUDE_PRESENT) ||
	    selrules_has(&rules, SEL_INCLUDE_PRESENT)))
		errx(EXIT_USAGE, "--exclude-if-present, --include-if-present: "
		    "not with a remote source (%s)", s.src);
	if (s.agent) {
		/* a host that cannot be reached leaves no repository behind */
		remote_start(&s, s.src, schema, timeout > 0 ? timeout :
		    REMOTE_TIMEOUT);
		open_repo(&s, argv[1], &r, &keep, wait, 0, fullpath);
		remote_list();
		remote_root_stat(&st);
	} else if (lstat(s.src, &st) == -1)
		err(errno == ENOENT || errno == ENOTDIR ? EXIT_PERM : EXIT_TEMP,
		    "%s", s.src);
	if (!S_ISDIR(st.st_mode))
		errx(EXIT_PERM, "%s: not a directory", s.src);
	s.sel = select_new(s.src, st.st_dev);
	if (select_load(s.sel, &rules, msg, sizeof msg) == -1)
		errx(EXIT_USAGE, "%s", msg);
	if (select_warning(s.sel) != NULL)
		warnx("%s", select_warning(s.sel));
	s.fuse = (remote = s.agent ? 0 : remote_fs(s.src)) == 2;
	if (remote) {
		s.scoutsel = select_new(s.src, st.st_dev);
		(void)select_load(s.scoutsel, &rules, msg, sizeof msg);
	}
	selrules_free(&rules);

	if (!s.agent)
		open_repo(&s, argv[1], &r, &keep, wait, 0, fullpath);
	if (fstat(s.repofd, &st) == -1)
		err(EXIT_TEMP, "stat %s", argv[1]);
	s.repodev = st.st_dev;
	s.repoino = st.st_ino;
	session_time(&s, settime, &t0);

	begin(&s, keep);

	progress_init("snap", isatty(STDERR_FILENO) ? show_progress : NULL);
	/*
	 * On a remote mount many small files in flight hide the latency;
	 * mount-remote keeps them in flight itself when told which.
	 */
	if (s.fuse && prefetch_hints(s.src, s.first ? 0 : s.prev))
		prefetch_start(0);
	else
		prefetch_start(s.agent ? 0 : s.scoutsel != NULL ? 16 : 4);
	tree_run(&s);
	prefetch_stop();
	if (s.agent)
		remote_stop();

	commit(&s, &r, argv[1]);
	clock_gettime(CLOCK_REALTIME, &t1);
	write_stats(&s, (double)t1.tv_sec + t1.tv_nsec / 1e9);
	close(s.errfd);
	repo_unlock(s.lockfd);
	if (s.verbose)
		fprintf(stderr, "snap: %" PRIu64 " files, %" PRIu64 " changed, %"
		    PRIu64 " new, %" PRIu64 " deleted, %s read, increments %s, "
		    "%" PRIu64 " errors, %.1f s\n", s.st.srcfiles, s.st.chgfiles,
		    s.st.newfiles, s.st.delfiles, number_human(s.st.bytesread, h1, 32),
		    number_human(s.st.incsize, h2, 32), s.st.errors,
		    (double)(t1.tv_sec - t0.tv_sec) +
		    (t1.tv_nsec - t0.tv_nsec) / 1e9);
	return s.st.errors ? EXIT_PARTIAL : EXIT_OK;
}
