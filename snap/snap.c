/*
 * snap: back up SRC into the rdiff-backup repository REPO, keeping the
 * newest tree as a plain mirror and the older ones as reverse increments.
 * This file drives a session: it checks the repository, writes the
 * session markers and metadata files in rdiff-backup's order, and leaves
 * the tree itself to tree.c.
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
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"
#include "exitcode.h"
#include "gz.h"
#include "io.h"
#include "repo.h"
#include "select.h"
#include "snap.h"
#include "timespec.h"
#include "xalloc.h"

static void
usage(void)
{
	fprintf(stderr, "usage: snap [-vx] [--current-time SECS] [-E NAME] "
	    "[-e GLOB] [-i GLOB] SRC REPO\n");
	exit(EXIT_USAGE);
}

/* Create a session-stamped file in the data dir; exits on failure. */
static int
create_stamped(int datafd, const char *prefix, int64_t t, int type, int gz)
{
	char *name = incname_make(prefix, t, type, gz);
	int fd;

	fd = openat(datafd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1)
		err(EXIT_TEMP, "create %s/%s", DATADIR, name);
	free(name);
	return fd;
}

static void
write_marker(int datafd, int64_t t)
{
	char line[32];
	int fd;

	fd = create_stamped(datafd, "current_mirror", t, INC_DATA, 0);
	snprintf(line, sizeof line, "PID %ld\n", (long)getpid());
	if (write_full(fd, line, strlen(line)) == -1 || sync_fd(fd) == -1 ||
	    close(fd) == -1 || sync_fd(datafd) == -1)
		err(EXIT_TEMP, "write %s/current_mirror marker", DATADIR);
}

static void
unlink_stamped(int datafd, const char *prefix, int64_t t, int type, int gz)
{
	char *name = incname_make(prefix, t, type, gz);

	if (unlinkat(datafd, name, 0) == -1 && errno != ENOENT)
		err(EXIT_TEMP, "remove %s/%s", DATADIR, name);
	free(name);
}

static void
empty_stamped(int datafd, const char *prefix, int64_t t, int type)
{
	close(create_stamped(datafd, prefix, t, type, 0));
}

static const char *
human(uint64_t n, char *buf, size_t len)
{
	static const char *unit[] = { "bytes", "KB", "MB", "GB", "TB", "PB" };
	double v = (double)n;
	int i = 0;

	while (v >= 1024 && i < 5) {
		v /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(buf, len, "%" PRIu64 " bytes", n);
	else
		snprintf(buf, len, "%.1f %s", v, unit[i]);
	return buf;
}

/* session_statistics.<T>.data in rdiff-backup's layout. */
static void
write_stats(struct session *s, double end)
{
	struct stats *t = &s->st;
	char buf[2048], h[9][32], tb[64];
	time_t start = (time_t)s->now, e = (time_t)end;
	int fd, n;

	fd = create_stamped(s->datafd, "session_statistics", s->now, INC_DATA, 0);
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
	    t->srcfiles, t->srcsize, human(t->srcsize, h[0], 32),
	    t->mirrorfiles, t->mirrorsize, human(t->mirrorsize, h[1], 32),
	    t->newfiles, t->newsize, human(t->newsize, h[2], 32),
	    t->delfiles, t->delsize, human(t->delsize, h[3], 32),
	    t->chgfiles, t->chgsrcsize, human(t->chgsrcsize, h[4], 32),
	    t->chgmirrorsize, human(t->chgmirrorsize, h[5], 32),
	    t->incfiles, t->incsize, human(t->incsize, h[6], 32),
	    (int64_t)(t->newsize + t->chgsrcsize + t->incsize) -
	    (int64_t)(t->delsize + t->chgmirrorsize),
	    human(t->newsize + t->chgsrcsize + t->incsize, h[7], 32),
	    t->errors);
	if (n >= (int)sizeof buf || write_full(fd, buf, (size_t)n) == -1 ||
	    close(fd) == -1)
		err(EXIT_TEMP, "write %s/session_statistics", DATADIR);
}

static int64_t
parse_time(const char *s)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0)
		errx(EXIT_USAGE, "--current-time %s: not a number of seconds", s);
	return v;
}

/*
 * Open or create the repository; fills s and, for a later session, the
 * file descriptor of the previous metadata snapshot and the decision
 * whether to turn it into a diff.
 */
static void
open_repo(struct session *s, const char *path, struct repo *r, int *keep)
{
	struct stat st;
	size_t i, k, diffs;
	int fd;

	if (mkdir(path, 0700) == 0)
		s->first = 1;
	else if (errno != EEXIST)
		err(EXIT_TEMP, "mkdir %s", path);
	if ((s->repofd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		err(errno == ENOTDIR ? EXIT_PERM : EXIT_TEMP, "open %s", path);
	s->datafd = openat(s->repofd, DATADIR, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC);
	if (s->datafd == -1) {
		if (errno != ENOENT)
			err(EXIT_TEMP, "open %s/%s", path, DATADIR);
		/* a new repository goes only into an empty directory */
		if (!s->first) {
			int dfd = dup(s->repofd);
			DIR *d = fdopendir(dfd);
			struct dirent *de;

			while (d != NULL && (de = readdir(d)) != NULL)
				if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
					errx(EXIT_PERM, "%s: not empty and not a "
					    "repository (no %s)", path, DATADIR);
			if (d != NULL)
				closedir(d);
		}
		s->first = 1;
		if (mkdirat(s->repofd, DATADIR, 0700) == -1 ||
		    (s->datafd = openat(s->repofd, DATADIR, O_RDONLY |
		    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1 ||
		    mkdirat(s->datafd, "increments", 0700) == -1)
			err(EXIT_TEMP, "create %s/%s", path, DATADIR);
		if ((fd = openat(s->datafd, "chars_to_quote", O_WRONLY | O_CREAT |
		    O_TRUNC | O_CLOEXEC, 0600)) == -1)
			err(EXIT_TEMP, "create %s/chars_to_quote", DATADIR);
		close(fd);
		if ((fd = openat(s->datafd, "special_escapes", O_WRONLY | O_CREAT |
		    O_TRUNC | O_CLOEXEC, 0600)) == -1)
			err(EXIT_TEMP, "create %s/special_escapes", DATADIR);
		close(fd);
		s->oldmeta = -1;
		return;
	}
	s->first = 0;
	r->fd = s->repofd;
	r->datafd = s->datafd;
	if (repo_scan(r) == -1)
		err(EXIT_TEMP, "%s/%s", path, DATADIR);
	if (r->quoted)
		errx(EXIT_PERM, "%s: uses file name quoting (chars_to_quote), "
		    "which snap does not write", path);
	if (r->nmarkers == 0)
		errx(EXIT_PERM, "%s: no complete session (no current_mirror "
		    "marker): the first backup did not finish", path);
	if (r->nmarkers > 1)
		errx(EXIT_TEMP, "%s: the last session was interrupted and must "
		    "be rolled back first", path);
	if (r->dupmeta)
		errx(EXIT_PERM, "%s: two metadata files for one session in %s",
		    path, DATADIR);
	s->prev = r->markers[0];
	for (i = 0; i < r->nmeta && r->meta[i].t != s->prev; i++)
		;
	if (i == r->nmeta || !r->meta[i].snapshot)
		errx(EXIT_PERM, "%s: no metadata snapshot for the last session",
		    path);
	if ((s->oldmeta = openat(s->datafd, r->meta[i].name, O_RDONLY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1)
		err(EXIT_TEMP, "open %s/%s", DATADIR, r->meta[i].name);
	/* rdiff-backup keeps a full snapshot every 9 sessions */
	for (diffs = 0, k = i; k > 0 && !r->meta[k - 1].snapshot; k--)
		diffs++;
	*keep = diffs >= 8;
	if (fstat(s->repofd, &st) == -1)
		err(EXIT_TEMP, "stat %s", path);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "current-time",	required_argument,	NULL,	'T' },
		{ "exclude",		required_argument,	NULL,	'e' },
		{ "exclude-if-present",	required_argument,	NULL,	'E' },
		{ "exclude-other-filesystems", no_argument,	NULL,	'x' },
		{ "include",		required_argument,	NULL,	'i' },
		{ "verbose",		no_argument,		NULL,	'v' },
		{ "version",		no_argument,		NULL,	'V' },
		{ NULL,			0,			NULL,	0 }
	};
	struct session s;
	struct repo r;
	struct stat st;
	struct timespec t0, t1;
	struct rlimit rl;
	char *oldname = NULL, h1[32], h2[32], msg[512];
	int ch, keep = 0, fd, *kinds = NULL;
	char **pats = NULL;
	size_t nrules = 0, i;
	int64_t settime = -1;

	memset(&s, 0, sizeof s);
	memset(&r, 0, sizeof r);
	s.errfd = -1;
	while ((ch = getopt_long(argc, argv, "E:e:i:Vvx", longopts, NULL)) != -1) {
		switch (ch) {
		case 'E':
		case 'e':
		case 'i':
		case 'x':
			/* rules apply in the order given */
			kinds = xreallocarray(kinds, nrules + 1, sizeof *kinds);
			pats = xreallocarray(pats, nrules + 1, sizeof *pats);
			kinds[nrules] = ch == 'E' ? SEL_EXCLUDE_PRESENT : ch == 'e' ?
			    SEL_EXCLUDE : ch == 'i' ? SEL_INCLUDE : SEL_EXCLUDE_OTHERFS;
			pats[nrules++] = ch == 'x' ? "" : optarg;
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
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2)
		usage();
	s.src = argv[0];
	umask(077);
	s.root = geteuid() == 0;
	/* deep trees hold one descriptor per level */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	clock_gettime(CLOCK_REALTIME, &t0);
	if (lstat(s.src, &st) == -1)
		err(errno == ENOENT || errno == ENOTDIR ? EXIT_PERM : EXIT_TEMP,
		    "%s", s.src);
	if (!S_ISDIR(st.st_mode))
		errx(EXIT_PERM, "%s: not a directory", s.src);
	s.sel = select_new(s.src, st.st_dev);
	for (i = 0; i < nrules; i++)
		if (select_add(s.sel, kinds[i], pats[i], msg, sizeof msg) == -1)
			errx(EXIT_USAGE, "%s", msg);

	open_repo(&s, argv[1], &r, &keep);
	if (fstat(s.repofd, &st) == -1)
		err(EXIT_TEMP, "stat %s", argv[1]);
	s.repodev = st.st_dev;
	s.repoino = st.st_ino;
	s.now = settime >= 0 ? settime : (int64_t)t0.tv_sec;
	if (!s.first && s.now <= s.prev) {
		char a[TIMESTR_LEN], b[TIMESTR_LEN];

		timestr_format(s.now, a);
		timestr_format(s.prev, b);
		errx(EXIT_PERM, "session time %s is not after the last session %s",
		    a, b);
	}

	s.errfd = create_stamped(s.datafd, "error_log", s.now, INC_DATA, 0);
	if (!s.first)
		write_marker(s.datafd, s.now);
	fd = create_stamped(s.datafd, "mirror_metadata", s.now, INC_SNAPSHOT, 1);
	s.snap = gzw_open(fd, 6);
	if (!s.first && !keep) {
		fd = create_stamped(s.datafd, "mirror_metadata", s.prev, INC_DIFF, 1);
		s.diff = gzw_open(fd, 6);
	}

	tree_run(&s);

	if (gzw_close(s.snap, 1) == -1)
		err(EXIT_TEMP, "write %s/mirror_metadata snapshot", DATADIR);
	if (s.diff != NULL) {
		int empty = gzw_count(s.diff) == 0;

		if (gzw_close(s.diff, 1) == -1)
			err(EXIT_TEMP, "write %s/mirror_metadata diff", DATADIR);
		/* rdiff-backup writes an empty diff as a plain 0-byte file */
		if (empty) {
			unlink_stamped(s.datafd, "mirror_metadata", s.prev,
			    INC_DIFF, 1);
			empty_stamped(s.datafd, "mirror_metadata", s.prev, INC_DIFF);
		}
		oldname = incname_make("mirror_metadata", s.prev, INC_SNAPSHOT, 1);
	}
	empty_stamped(s.datafd, "extended_attributes", s.now, INC_SNAPSHOT);
	empty_stamped(s.datafd, "access_control_lists", s.now, INC_SNAPSHOT);
	sync();
	if (s.first)
		write_marker(s.datafd, s.now);
	else {
		/* the old snapshot is now the diff: drop whichever name it has */
		if (oldname != NULL) {
			size_t i;

			for (i = 0; i < r.nmeta; i++)
				if (r.meta[i].t == s.prev && unlinkat(s.datafd,
				    r.meta[i].name, 0) == -1)
					err(EXIT_TEMP, "remove %s/%s", DATADIR,
					    r.meta[i].name);
		}
		unlink_stamped(s.datafd, "current_mirror", s.prev, INC_DATA, 0);
		if (sync_fd(s.datafd) == -1)
			err(EXIT_TEMP, "sync %s", DATADIR);
	}
	free(oldname);
	clock_gettime(CLOCK_REALTIME, &t1);
	write_stats(&s, (double)t1.tv_sec + t1.tv_nsec / 1e9);
	close(s.errfd);
	if (s.verbose)
		fprintf(stderr, "snap: %" PRIu64 " files, %" PRIu64 " changed, %"
		    PRIu64 " new, %" PRIu64 " deleted, %s read, increments %s, "
		    "%" PRIu64 " errors, %.1f s\n", s.st.srcfiles, s.st.chgfiles,
		    s.st.newfiles, s.st.delfiles, human(s.st.bytesread, h1, 32),
		    human(s.st.incsize, h2, 32), s.st.errors,
		    (double)(t1.tv_sec - t0.tv_sec) +
		    (t1.tv_nsec - t0.tv_nsec) / 1e9);
	return s.st.errors ? EXIT_PARTIAL : EXIT_OK;
}
