/*
 * restore: restore a path of an rdiff-backup repository as it was at a
 * time, list its sessions or the files of a session, or verify it.
 * The metadata of the chosen session drives everything: entries are
 * created from their records, regular files rebuilt from the mirror and
 * the reverse increments.  Nothing is written outside TARGET: every name
 * comes from a checked metadata path and is created with *at() calls
 * relative to directories opened without following symlinks.
 */
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "copy.h"
#include "attrs.h"
#include "compare.h"
#include "dirstack.h"
#include "exitcode.h"
#include "fusemount.h"
#include "histfs.h"
#include "hlink.h"
#include "idmap.h"
#include "io.h"
#include "journal.h"
#include "meta.h"
#include "node.h"
#include "number.h"
#include "pathname.h"
#include "progress.h"
#include "select.h"
#include "rebuild.h"
#include "repo.h"
#include "timespec.h"
#include "xalloc.h"

enum verb { RESTORE, LIST_SESSIONS, LIST_FILES, VERIFY, MOUNT, UNMOUNT,
	COMPARE };

struct dir {
	struct dirframe	 d;		/* repository path; NULL: the base */
	int		 tfd;		/* target directory, -1 when not made */
	int		 mfd;		/* mirror directory, -1 when none */
	struct incdir	 incs;		/* increments, fd -1 when none */
	struct rec	 rec;
	int		 made;		/* created (or reused) in the target */
	int		 fresh;		/* created empty by this run */
	struct nodeext	*ext;		/* xattrs and ACLs to set, or NULL */
	char		**tmpnamed;	/* children restored with temp-like names */
	size_t		 ntmpnamed;
};

static struct repo	 R;
static int64_t		 at;		/* the session restored */
static int		 force, verbose, isroot;
static int		 rval = EXIT_OK;
static struct dirstack	 dirs = DIRSTACK_INIT(struct dir);
static struct longincs	 longincs = LONGINCS_INIT;
static int		 tmpdirfd = -1;	/* intermediate versions while verifying */
static int		 verifying;
/*
 * Verifying every session, newest first: the next newer session (just
 * verified) and a cursor in its metadata; counts for the summary; the
 * paths found bad in it.
 */
static struct {
	int64_t		 newer;		/* INT64_MIN: none */
	struct meta_at	*m;
	struct rec	*r;		/* the cursor's record, NULL at the end */
	uint64_t	 checked, rebuilt;
	char		**bad, **nbad;	/* sorted, in the newer; this one */
	size_t		 nbadn, nnbad;
} va = { INT64_MIN, NULL, NULL, 0, 0, NULL, NULL, 0, 0 };
static int		 eas = 1, acls = 1;	/* --no-eas, --no-acls */
static struct select	*sel;		/* what to restore; NULL: all */
static const char	*target_arg;	/* TARGET, for messages */
static struct idmap	*ids;		/* owners recorded -> local */

static struct hlinks	 links;		/* hard-link groups: first member's
					   target path and digest */

static void usage(void);

/* One verb per run: a second, different one is a usage error. */
static void
set_verb(enum verb *verb, enum verb v)
{
	if (*verb != RESTORE && *verb != v)
		usage();
	*verb = v;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: restore [-fv] [--never-drop-acls] [--no-acls] [--no-eas] "
	    "[--preserve-numerical-ids]\n"
	    "               [--user-mapping-file FILE] "
	    "[--group-mapping-file FILE]\n"
	    "               [-r TIME] [RULE ...] REPO[/PATH] TARGET\n"
	    "       restore -l [--parsable-output] [--size] REPO\n"
	    "       restore -L [-v] [--changed-since TIME] [--null-separator] "
	    "[-r TIME]\n"
	    "                  REPO[/PATH]\n"
	    "       restore -c [-v] [-r TIME] REPO\n"
	    "       restore --compare [--method meta|hash|full] "
	    "[--parsable-output] [-r TIME]\n"
	    "                  REPO[/PATH] DIR\n"
	    "       restore -m [-f] REPO MOUNTPOINT [-- command [arg ...]]\n"
	    "       restore -u MOUNTPOINT\n");
	exit(EXIT_USAGE);
}

/* The live counter's line on a terminal's standard error (NULL: erase). */
static void
show_progress(const char *line)
{
	fprintf(stderr, "\r%s\033[K", line != NULL ? line : "");
}

/* A damaged or unrestorable entry: named, counted, and the run goes on. */
static void
bad(const char *what, const char *path, const char *why)
{
	progress_clear();
	warnx("%s %s: %s", what, shown(path), why);
	rval = EXIT_PARTIAL;
	if (verifying > 1) {
		va.nbad = xreallocarray(va.nbad, va.nnbad + 1, sizeof *va.nbad);
		va.nbad[va.nnbad++] = xstrdup(path);
	}
}

static int
strp_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Verifying every session: is the content of record r (name's increments
 * incs[0..n)) at session `at` the version the newer session has, with
 * the same digest and size, which was verified a moment ago?  It is
 * when no increment falls between the two sessions: the same chain
 * rebuilds both.  Bad there, it is reported again here.
 */
static int
same_as_newer(const struct rec *r, const struct incent *incs, size_t n)
{
	size_t i;
	int c = 1;

	if (va.m == NULL || r->sha1[0] == '\0')
		return 0;
	for (i = 0; i < n; i++)
		if (incs[i].t >= at && incs[i].t < va.newer)
			return 0;
	while (va.r != NULL && (c = pathcmp(va.r->path, va.r->pathlen, r->path,
	    r->pathlen)) < 0)
		if (meta_at_next(va.m, &va.r) != 1)
			va.r = NULL;
	if (va.r == NULL || c != 0 || va.r->type != RT_REG ||
	    va.r->size != r->size || strcmp(va.r->sha1, r->sha1) != 0)
		return 0;
	if (va.nbadn > 0 && bsearch(&r->path, va.bad, va.nbadn, sizeof *va.bad,
	    strp_cmp) != NULL)
		bad("verify", r->path, "SHA1 digest does not match the metadata "
		    "(the same version as in the newer session)");
	return 1;
}

/*
 * Split REPO[/PATH]: the repository is the longest prefix that holds an
 * rdiff-backup-data directory; the rest is the path inside it.
 */
static void
split_repo(const char *arg, char **repo, char **path)
{
	char *s = xstrdup(arg), *slash, *probe;
	size_t n = strlen(s);
	struct stat st;

	while (n > 1 && s[n - 1] == '/')
		s[--n] = '\0';
	for (;;) {
		probe = xmalloc(strlen(s) + sizeof "/" DATADIR);
		sprintf(probe, "%s/%s", s, DATADIR);
		if (stat(probe, &st) == 0 && S_ISDIR(st.st_mode)) {
			free(probe);
			break;
		}
		free(probe);
		if ((slash = strrchr(s, '/')) == NULL || slash == s)
			errx(EXIT_PERM, "%s: not in an rdiff-backup repository", arg);
		*slash = '\0';
	}
	*repo = s;
	n = strlen(s);
	*path = xstrdup(arg[n] == '/' ? arg + n + 1 : arg + n);
	n = strlen(*path);
	while (n > 0 && (*path)[n - 1] == '/')
		(*path)[--n] = '\0';
}

static void
open_repo(const char *path)
{
	if (repo_open(&R, path) == -1)
		err(errno == ENOENT ? EXIT_PERM : EXIT_TEMP, "%s", path);
	if (R.quoted)
		warnx("%s: uses file name quoting, which restore does not undo",
		    path);
	/* readers share the lock; a running snap or prune holds it alone */
	if (repo_lock(R.datafd, 0, 0, "restore") == -1)
		errx(EXIT_TEMP, "lock %s: %s", path, repo_lock_error(errno));
	if (R.nmarkers == 0)
		errx(EXIT_PERM, "%s: no complete session (no current_mirror marker)",
		    path);
	if (R.nmarkers > 1)
		errx(EXIT_TEMP, "%s: the last session was interrupted; run snap "
		    "to roll it back first", path);
	if (R.dupmeta)
		errx(EXIT_PERM, "%s: two metadata files for one session in %s",
		    path, DATADIR);
}

static int64_t
resolve(const char *spec)
{
	int64_t t, o;
	char ts[TIMESTR_LEN];

	if (spec == NULL)
		spec = "now";
	if (timespec_parse(spec, (int64_t)time(NULL), R.times, R.ntimes, &t) == -1)
		errx(EXIT_USAGE, "bad time \"%s\" (now, 10D, 2h30m, 3B, 2023-11-15, "
		    "2023-11-15T22:13:20Z, epoch seconds)", spec);
	t = repo_at(&R, t);
	/* an interrupted merge leaves the sessions up to the removed one
	 * half done: the next prune finishes it */
	if (journal_pending(R.datafd, NULL, &o) == 1 && t <= o) {
		timestr_format(o, ts);
		errx(EXIT_TEMP, "a prune was interrupted while removing session "
		    "%s: the next prune or snap finishes it", ts);
	}
	if (verbose || isatty(STDERR_FILENO)) {
		timestr_format(t, ts);
		fprintf(stderr, "restore: session %s\n", ts);
	}
	return t;
}

static struct dir *
top(void)
{
	return ds_top(&dirs);
}

/* Owner for a record, as the id map says (lib/idmap.h). */
static void
owner_of(const struct rec *r, uid_t *uid, gid_t *gid)
{
	uint64_t u, g;

	idmap_get(ids, r->uname, r->uid, 0, &u);
	idmap_get(ids, r->gname, r->gid, 1, &g);
	*uid = (uid_t)u;
	*gid = (gid_t)g;
}

/*
 * chown (root only) -> xattrs -> chmod -> ACLs -> mtime, on an open
 * descriptor; ext (may be NULL) holds the xattrs and ACLs.
 */
static void
set_attrs(int fd, const struct rec *r, const char *path,
    const struct nodeext *ext)
{
	const char *what;
	uid_t uid = 0;
	gid_t gid = 0;

	if (isroot)
		owner_of(r, &uid, &gid);
	if (node_attrs(fd, r, isroot ? ATTR_OWNER : 0, uid, gid, ext,
	    &what) == -1 && !rattrs_unsupported(what, errno, target_arg))
		bad(what, path, strerror(errno));
}

/*
 * The entry being written (dirfd/name): removed when restore is stopped
 * by a signal or a full disk, so no partial file is left behind.
 */
static volatile sig_atomic_t partial_fd = -1;
static char partial[NAME_MAX + 1];

static void
partial_set(int dirfd, const char *name)
{
	partial_fd = -1;
	snprintf(partial, sizeof partial, "%s", name);
	partial_fd = dirfd;
}

/*
 * The stop signals are held from a temp entry's creation until it is
 * tracked (or placed): one arriving in between would leave it behind.
 */
static sigset_t stopsigs;

static void
hold_stops(int on)
{
	(void)sigprocmask(on ? SIG_BLOCK : SIG_UNBLOCK, &stopsigs, NULL);
}

static void
partial_drop(void)
{
	if (partial_fd != -1)
		unlinkat(partial_fd, partial, 0);
	partial_fd = -1;
}

static void
on_signal(int sig)
{
	static const char msg[] = "restore: interrupted; the entry being "
	    "written was removed\n";

	if (partial_fd != -1)
		unlinkat(partial_fd, partial, 0);
	write(STDERR_FILENO, msg, sizeof msg - 1);
	_exit(EXIT_TEMP);
}

static void
stop_target(const char *what, const char *path, int e)
{
	partial_drop();
	progress_clear();
	errx(EXIT_TEMP, "%s %s: %s", what, shown(path), strerror(e));
}

/*
 * Put temp entry tmp (node fd) in place of name in dirfd, whatever is
 * there, and report when it did not work.  Returns 0 or -1.
 */
static int
place(int dirfd, const char *tmp, const char *name, int fd, const char *path)
{
	if (node_place(dirfd, tmp, name, fd) == 0)
		return 0;
	if (errno == ESTALE)
		bad("restore", path, "its temp entry was replaced by someone "
		    "else; left as found");
	else if (errno_transient(errno))
		stop_target("rename", tmp, errno);
	else
		bad("rename", tmp, strerror(errno));
	return -1;
}

/* Report a temp entry that could not be made for path. */
static void
bad_tmp(const char *tmp, const char *path, int e)
{
	char *what;

	if (errno_transient(e))
		stop_target("create", tmp ? tmp : "temp entry", e);
	what = xmalloc(strlen(tmp ? tmp : "temp entry") + 16);
	sprintf(what, "create %s for", tmp ? tmp : "temp entry");
	bad(what, path, strerror(e));
	free(what);
}

/*
 * The content of regular file r as of `at` into outfd (-1: hash only),
 * checked against its SHA-1; intermediate versions go to tmpfd.
 * Returns 0, or -1 after reporting.
 */
static int
content(const struct rec *r, const char *name, int outfd, int tmpfd,
    const char *what)
{
	struct copyres res;
	const struct incent *incs;
	const char *why, *mname = r->altmirror ? r->altmirror : name;
	const char *want = r->sha1;
	struct hlink *l;
	size_t n;
	int idirfd, mdirfd;

	incs = incs_find(R.datafd, &longincs, r->altmirror ? r->altmirror :
	    r->altinc, top() ? &top()->incs : NULL, name, &n, &idirfd);
	va.checked++;
	if (outfd == -1 && same_as_newer(r, incs, n))
		return 0;
	va.rebuilt++;
	if (r->altmirror != NULL)
		mdirfd = longincs.incs.fd;
	else
		mdirfd = top() ? top()->mfd : -1;
	if (rebuild(mdirfd, mname, idirfd, incs, n, at, repo_current(&R),
	    tmpfd, outfd, r->size, &res, &why) == -1) {
		if (errno_transient(errno))
			stop_target(why, r->path, errno);
		bad(what, r->path, errno == EBADMSG || errno == EFBIG ? why :
		    strerror(errno));
		return -1;
	}
	if (want[0] == '\0' && r->nlink > 1 &&
	    (l = hl_find(&links, r->devloc, r->ino)) != NULL)
		want = l->sha1;
	if (want[0] == '\0') {
		if (verbose)
			warnx("%s %s: no SHA1 digest recorded", what, shown(r->path));
		return 0;
	}
	if (strcmp(want, res.sha1) != 0) {
		bad(what, r->path, "SHA1 digest does not match the metadata "
		    "(damaged increment or mirror file)");
		return -1;
	}
	if (res.bytes != r->size) {
		bad(what, r->path, "size does not match the metadata");
		return -1;
	}
	return 0;
}

static void
push(const struct rec *r, int tfd, int mfd, int ifd)
{
	struct dir *d;

	d = ds_push(&dirs, r ? r->path : NULL, r ? r->pathlen : 0);
	if (r != NULL)
		rec_copy(&d->rec, r);
	d->tfd = tfd;
	d->mfd = mfd;
	if (incdir_open(ifd, &d->incs) == -1 && r != NULL)
		bad("list increments of", r->path, strerror(errno));
}

/*
 * With -f, remove what an interrupted restore left in directory d: temp
 * entries that are not the session's own.
 */
static void
drop_stale(struct dir *d)
{
	DIR *dir;
	struct dirent *de;
	struct stat st;
	size_t i;

	if ((dir = dir_list(d->tfd)) == NULL)
		return;
	while ((de = dir_next(dir)) != NULL) {
		if (!tmp_named(de->d_name) || fstatat(d->tfd, de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) == -1 || S_ISDIR(st.st_mode))
			continue;
		for (i = 0; i < d->ntmpnamed; i++)
			if (strcmp(d->tmpnamed[i], de->d_name) == 0)
				break;
		if (i == d->ntmpnamed)
			unlinkat(d->tfd, de->d_name, 0);
	}
	closedir(dir);
}

/* Finish the directory on top: its attributes come after its contents. */
static void
pop(void)
{
	struct dir *d = top();
	size_t i;

	/* not the base frame: that is TARGET's parent, not ours */
	if (force && d->tfd != -1 && !d->fresh && d->d.path != NULL)
		drop_stale(d);
	for (i = 0; i < d->ntmpnamed; i++)
		free(d->tmpnamed[i]);
	free(d->tmpnamed);

	if (d->tfd != -1 && d->d.path != NULL)
		set_attrs(d->tfd, &d->rec, d->d.path, d->ext);
	nodeext_free(d->ext);
	if (d->tfd != -1)
		close(d->tfd);
	if (d->mfd != -1)
		close(d->mfd);
	incdir_close(&d->incs);
	rec_free(&d->rec);
	ds_drop(&dirs);
}

/* --never-drop-acls: an ACL entry of r names no local user or group. */
static void
refuse_acl(const struct rec *r)
{
	progress_clear();
	errx(EXIT_PERM, "restore %s: an ACL entry names a user or group "
	    "unknown here (--never-drop-acls)", shown(r->path));
}

/*
 * Create the entry for record r, named name in the target directory tfd
 * (-1 when only verifying).  tpath is its path relative to the base.
 */
static void
entry(const struct rec *r, const char *rname, const char *name, int tfd,
    const char *tpath, int base, int isroot_entry)
{
	struct dir *parent = top();
	struct nodeext *ext;
	struct hlink *l = NULL;
	const char *lname;
	char *tmp = NULL;
	int fd, mfd, ifd, lfd, made = 0, direct;

	if (r->type == RT_DIR) {
		if (r->pathlen == 0) {
			mfd = dup(R.fd);
			ifd = subdir(R.datafd, INCDIR);
		} else {
			mfd = subdir(parent->mfd, rname);
			/* older sessions may have had a directory there */
			if (mfd == -1 && (errno == ENOTDIR || errno == ELOOP) &&
			    at == repo_current(&R))
				bad(verifying ? "verify" : "restore", r->path,
				    "mirror entry is not a directory (damaged "
				    "repository)");
			ifd = subdir(parent->incs.fd, rname);
		}
		fd = -1;
		if (tfd != -1) {
			if ((fd = node_make(tfd, name, r, 0)) != -1) {
				made = 1;
			} else if (errno != EEXIST) {
				bad("mkdir", r->path, strerror(errno));
			} else if ((fd = subdir(tfd, name)) == -1 &&
			    (!force && !isroot_entry)) {
				bad("mkdir", r->path, "exists and is no directory");
			} else if (fd == -1 && (rmtree_at(tfd, name) == -1 ||
			    mkdirat(tfd, name, 0700) == -1 ||
			    (fd = subdir(tfd, name)) == -1))
				bad("mkdir", r->path, strerror(errno));
		}
		push(r, fd, mfd, ifd);
		if (fd != -1)
			top()->ext = rattrs_of(r);
		if (rattrs_refused())
			refuse_acl(r);
		/* a checked empty target is as good as a new one */
		top()->fresh = fd != -1 && (made || (isroot_entry && !force));
		return;
	}
	if (r->type == RT_REG && r->nlink > 1) {
		/* the group's digest is its first member's, as recorded */
		l = hl_join(&links, r->devloc, r->ino, r->sha1);
		if (l->path != NULL && tfd != -1) {
			/* a later member of a restored group: link it */
			if ((lfd = open_parent(base, l->path, &lname)) == -1)
				bad("link", r->path, strerror(errno));
			else {
				hold_stops(1);
				if (link_tmp(lfd, lname, tfd, &tmp) == -1)
					bad_tmp(tmp, r->path, errno);
				else
					place(tfd, tmp, name, -1, r->path);
				hold_stops(0);
			}
			if (lfd != -1)
				close(lfd);
			free(tmp);
			return;
		}
	}
	if (tfd == -1) {
		/* verifying; or restoring below a directory that failed */
		if (verifying && r->type == RT_REG)
			content(r, rname, -1, tmpdirfd, "verify");
		return;
	}
	/* in a directory made by this run, a file needs no temp name */
	tmp = NULL;
	fd = -1;
	hold_stops(1);
	if ((direct = r->type == RT_REG && parent != NULL && parent->fresh &&
	    tfd == parent->tfd) && (fd = node_make(tfd, name, r, 0)) == -1)
		direct = 0;	/* e.g. a name twice in the metadata */
	if (!direct && (fd = node_tmp(tfd, r, 0, &tmp)) == -1) {
		hold_stops(0);
		bad_tmp(tmp, r->path, errno);
		free(tmp);
		return;
	}
	partial_set(tfd, direct ? name : tmp);
	hold_stops(0);
	if (r->type == RT_REG && content(r, rname, fd, tfd, "restore") == -1) {
		close(fd);
		partial_drop();
		free(tmp);
		return;
	}
	ext = rattrs_of(r);
	if (rattrs_refused()) {
		close(fd);
		partial_drop();
		refuse_acl(r);
	}
	set_attrs(fd, r, r->path, ext);
	nodeext_free(ext);
	if (direct || place(tfd, tmp, name, fd, r->path) == 0) {
		if (l != NULL)
			l->path = xstrdup(tpath);
	}
	partial_fd = -1;
	close(fd);
	free(tmp);
}

/* Is path inside (or equal to) prefix, in rdiff-backup's path terms? */
static int
within(const char *path, size_t len, const char *prefix, size_t plen)
{
	if (plen == 0)
		return 1;
	return len >= plen && memcmp(path, prefix, plen) == 0 &&
	    (len == plen || path[plen] == '/');
}

/* Is r directly inside the directory on top of the stack? */
static int
child_of_top(const struct rec *r)
{
	const char *slash = strrchr(r->path, '/');
	size_t plen = slash ? (size_t)(slash - r->path) : 0;
	struct dir *d = top();

	return d->d.path != NULL && d->d.len == plen &&
	    memcmp(d->d.path, r->path, plen) == 0;
}

/* The parent directories of prefix in mirror and increments. */
static void
push_base(const char *prefix, int tfd)
{
	char *p, *slash, *comp;
	int mfd, ifd, next;

	push(NULL, tfd, -1, -1);
	if (prefix[0] == '\0')
		return;
	mfd = dup(R.fd);
	ifd = subdir(R.datafd, INCDIR);
	p = xstrdup(prefix);
	for (comp = p; (slash = strchr(comp, '/')) != NULL; comp = slash + 1) {
		*slash = '\0';
		next = subdir(mfd, comp);
		if (mfd != -1)
			close(mfd);
		mfd = next;
		next = subdir(ifd, comp);
		if (ifd != -1)
			close(ifd);
		ifd = next;
	}
	free(p);
	top()->mfd = mfd;
	if (incdir_open(ifd, &top()->incs) == -1)
		bad("list increments of", prefix, strerror(errno));
}

/* The next good record (1) or the end (0); damaged ones are reported. */
static int
next_record(struct meta_at *m, struct rec **r)
{
	int rv;

	while ((rv = meta_at_next(m, r)) == -1) {
		bad("metadata", "", meta_at_error(m));
		if (meta_at_failed(m))
			return 0;
	}
	return rv;
}

/* The metadata of session `at`, or an exit naming what is wrong. */
static struct meta_at *
open_meta(void)
{
	struct meta_at *m;
	char ts[TIMESTR_LEN];

	if ((m = meta_at_open(&R, at)) != NULL)
		return m;
	timestr_format(at, ts);
	if (errno == ENOENT)
		errx(EXIT_PERM, "no metadata for session %s (mirror_metadata "
		    "file missing)", ts);
	if (errno == EBADMSG)
		errx(EXIT_PERM, "metadata of session %s: a mirror_metadata file "
		    "of the chain up to the next snapshot is missing", ts);
	err(EXIT_TEMP, "metadata of session %s", ts);
}

/*
 * Restore (or verify) record r of the walk below the prefix (plen
 * bytes) into the target named tname in directory base.
 */
static void
one(const struct rec *r, size_t plen, const char *tname, int base)
{
	size_t skip;
	char *tpath;

	progress_add(1, 0);
	/* the base frame stays */
	while (ds_leaving(&dirs, r->path, r->pathlen, 1) != NULL)
		pop();
	if (r->pathlen > plen && !child_of_top(r)) {
		/* e.g. a path below a symlink or a file: never follow it */
		bad("metadata", r->path, "its parent is no directory of the "
		    "session; skipped");
		return;
	}
	skip = plen == 0 ? 0 : plen + 1;
	if (r->pathlen == plen) {
		tpath = xstrdup(tname != NULL ? tname : "");
	} else {
		tpath = xmalloc(strlen(tname ? tname : "") + r->pathlen + 2);
		sprintf(tpath, "%s/%s", tname ? tname : "", r->path + skip);
	}
	if (force && r->pathlen > plen &&
	    tmp_named(strrchr(tpath, '/') + 1)) {
		struct dir *d = top();

		d->tmpnamed = xreallocarray(d->tmpnamed,
		    d->ntmpnamed + 1, sizeof *d->tmpnamed);
		d->tmpnamed[d->ntmpnamed++] =
		    xstrdup(strrchr(tpath, '/') + 1);
	}
	entry(r, r->pathlen == 0 ? "" : strrchr(r->path, '/') ?
	    strrchr(r->path, '/') + 1 : r->path,
	    r->pathlen == plen ? (tname ? tname : "") :
	    strrchr(tpath, '/') + 1, top()->tfd, tpath, base,
	    r->pathlen == plen);
	free(tpath);
}

/*
 * The rules of a restore, matched as rdiff-backup matches them: against
 * the target's path as given, e.g. --include TARGET/etc --exclude '**'.
 */
static void
select_target(struct selrules *rules, const char *path, const char *target)
{
	char msg[512];

	if (path[0] != '\0')
		errx(EXIT_USAGE, "selection rules and a path in the repository "
		    "do not go together (as in rdiff-backup): restore the "
		    "session with rules such as --include %s/PATH --exclude "
		    "'**'", target);
	if (selrules_has(rules, SEL_INCLUDE_PRESENT) ||
	    selrules_has(rules, SEL_EXCLUDE_PRESENT) ||
	    selrules_has(rules, SEL_EXCLUDE_OTHERFS))
		errx(EXIT_USAGE, "--include-if-present, --exclude-if-present "
		    "and --exclude-other-filesystems look at a source: they "
		    "are for snap");
	sel = select_new(target, 0);
	if (select_load(sel, rules, msg, sizeof msg) == -1)
		errx(EXIT_USAGE, "%s", msg);
	if (select_warning(sel) != NULL)
		warnx("%s", select_warning(sel));
	selrules_free(rules);
}

/*
 * Walk the metadata of session `at` below prefix; restore into target
 * (NULL: verify only).  Returns the number of entries seen.
 */
static size_t
run(const char *prefix, const char *target)
{
	struct meta_at *m;
	struct rec *r, *held = NULL;
	struct stat st;
	size_t plen = strlen(prefix), n = 0, nheld = 0, capheld = 0, i;
	char *tdir = NULL, *tname = NULL, *slash, *cut = NULL;
	int base = -1, exists, v;

	m = open_meta();
	if (target != NULL) {
		exists = lstat(target, &st) == 0;
		if (!exists && errno != ENOENT)
			err(EXIT_TEMP, "%s", target);
		if (exists && !force && !S_ISDIR(st.st_mode))
			errx(EXIT_PERM, "%s exists (use -f to overwrite)", target);
		if (exists && !force && S_ISDIR(st.st_mode)) {
			int fd = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

			if (fd != -1 && dir_empty(fd) == 0)
				errx(EXIT_PERM, "%s is not empty (use -f to "
				    "restore into it)", target);
			if (fd != -1)
				close(fd);
		}
		tdir = xstrdup(target);
		for (slash = tdir + strlen(tdir); slash > tdir + 1 &&
		    slash[-1] == '/'; )
			*--slash = '\0';
		if ((slash = strrchr(tdir, '/')) != NULL) {
			tname = xstrdup(slash + 1);
			if (slash == tdir)
				slash[1] = '\0';
			else
				*slash = '\0';
		} else {
			tname = tdir;
			tdir = xstrdup(".");
		}
		if (strcmp(tname, ".") == 0 || strcmp(tname, "..") == 0 ||
		    tname[0] == '\0')
			errx(EXIT_USAGE, "%s: name the target directory itself",
			    target);
		if ((base = open(tdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
			err(EXIT_TEMP, "%s", tdir);
	}
	push_base(prefix, base);
	while (next_record(m, &r)) {
		if (!within(r->path, r->pathlen, prefix, plen)) {
			if (pathcmp(r->path, r->pathlen, prefix, plen) > 0)
				break;
			continue;
		}
		if (sel != NULL && r->pathlen > plen) {
			/* what the rules leave out, and the directories they
			 * only scan until something below them is kept */
			if (cut != NULL && path_below(r->path, r->pathlen, cut,
			    strlen(cut)))
				continue;
			free(cut);
			cut = NULL;
			while (nheld > 0 && !path_below(r->path, r->pathlen,
			    held[nheld - 1].path, held[nheld - 1].pathlen))
				rec_free(&held[--nheld]);
			v = select_test(sel, r->path, r->pathlen, rec_mode(r),
			    r->type == RT_REG ? r->size : 0, 0, -1, "");
			if (v == SEL_NO || (v == SEL_SCAN && r->type != RT_DIR)) {
				cut = xmemdup(r->path, r->pathlen + 1);
				continue;
			}
			if (v == SEL_SCAN) {
				if (nheld == capheld) {
					capheld = capheld ? capheld * 2 : 8;
					held = xreallocarray(held, capheld,
					    sizeof *held);
				}
				memset(&held[nheld], 0, sizeof *held);
				rec_copy(&held[nheld++], r);
				continue;
			}
			for (i = 0; i < nheld; i++) {
				n++;
				one(&held[i], plen, tname, base);
				rec_free(&held[i]);
			}
			nheld = 0;
		}
		n++;
		one(r, plen, tname, base);
	}
	for (i = 0; i < nheld; i++)
		rec_free(&held[i]);
	free(held);
	free(cut);
	while (dirs.depth > 0)
		pop();
	ds_free(&dirs);
	progress_clear();
	meta_at_close(m);
	free(tdir);
	free(tname);
	return n;
}

/*
 * What the current mirror takes, as rdiff-backup's list increments
 * --size counts it: the size of every entry the metadata lists (a
 * symlink's is its target's length), a directory's as the mirror's
 * directory has it.  UINT64_MAX when the metadata cannot be read.
 */
static uint64_t
mirror_size(void)
{
	struct meta_at *m;
	struct rec *r;
	struct stat st;
	uint64_t total = 0;
	int rv;

	if ((m = meta_at_open(&R, repo_current(&R))) == NULL)
		return UINT64_MAX;
	while ((rv = meta_at_next(m, &r)) != 0) {
		if (rv == -1) {
			if (meta_at_failed(m))
				break;
			continue;
		}
		if (r->type == RT_REG)
			total += r->size;
		else if (r->type == RT_SYM)
			total += r->symlen;
		else if (r->type == RT_DIR && (r->pathlen == 0 ?
		    fstat(R.fd, &st) : fstatat(R.fd, r->path, &st,
		    AT_SYMLINK_NOFOLLOW)) == 0)
			total += (uint64_t)st.st_size;
	}
	rv = meta_at_failed(m);
	meta_at_close(m);
	return rv ? UINT64_MAX : total;
}

/*
 * The sessions, oldest first; with sizes, what each one's increments
 * take (from the statistics of the session that wrote them: the next
 * one) and the total from the current mirror back to it, as
 * rdiff-backup's list increments --size shows them.  "?" where no
 * statistics say.  parsable: rdiff-backup's --parsable-output forms.
 */
static void
list_sessions(int sizes, int parsable)
{
	char ts[TIMESTR_LEN], pretty[64], a[32], b[32];
	uint64_t *sz = NULL, *tot = NULL;
	time_t t;
	size_t i;
	int last;

	if (sizes) {
		sz = xcalloc(R.ntimes, sizeof *sz);
		tot = xcalloc(R.ntimes, sizeof *tot);
		for (i = R.ntimes; i-- > 0; ) {
			last = i + 1 == R.ntimes;
			if (last)
				sz[i] = mirror_size();
			else if (repo_stat(&R, R.times[i + 1],
			    "IncrementFileSize", &sz[i]) == -1)
				sz[i] = UINT64_MAX;
			tot[i] = sz[i] == UINT64_MAX || (!last &&
			    tot[i + 1] == UINT64_MAX) ? UINT64_MAX :
			    sz[i] + (last ? 0 : tot[i + 1]);
		}
	}
	if (parsable && sizes)
		printf("---\n");
	for (i = 0; i < R.ntimes; i++) {
		if (parsable && !sizes) {
			printf("%" PRId64 " directory\n", R.times[i]);
			continue;
		}
		if (parsable) {
			printf("- size: ");
			sz[i] == UINT64_MAX ? printf("null\n") :
			    printf("%" PRIu64 "\n", sz[i]);
			printf("  time: %" PRId64 "\n  total_size: ", R.times[i]);
			tot[i] == UINT64_MAX ? printf("null\n") :
			    printf("%" PRIu64 "\n", tot[i]);
			continue;
		}
		timestr_format(R.times[i], ts);
		t = (time_t)R.times[i];
		strftime(pretty, sizeof pretty, "%a %b %e %H:%M:%S %Y", localtime(&t));
		printf("%s  %s", ts, pretty);
		if (sizes)
			printf("  %12s  %12s", sz[i] == UINT64_MAX ? "?" :
			    number_human(sz[i], a, sizeof a),
			    tot[i] == UINT64_MAX ? "?" :
			    number_human(tot[i], b, sizeof b));
		printf("%s\n", R.times[i] == repo_current(&R) ?
		    "  (current mirror)" : "");
	}
	if (parsable && sizes)
		printf("...\n\n");
	free(sz);
	free(tot);
}

/* A path of a listing: shown, or as it is and NUL-terminated. */
static void
put_path(const struct rec *r, int nul)
{
	if (nul) {
		fwrite(r->pathlen ? r->path : ".", 1, r->pathlen ? r->pathlen :
		    1, stdout);
		putchar('\0');
	} else
		printf("%s\n", shown(r->path));
}

static void
list_files(const char *prefix, int nul)
{
	struct meta_at *m;
	struct rec *r;
	size_t plen = strlen(prefix);

	m = open_meta();
	while (next_record(m, &r)) {
		if (within(r->path, r->pathlen, prefix, plen))
			put_path(r, nul);
		else if (pathcmp(r->path, r->pathlen, prefix, plen) > 0)
			break;
	}
	meta_at_close(m);
	if (fflush(stdout) == EOF)
		err(EXIT_TEMP, "stdout");
}

/*
 * The paths below prefix that differ between sessions t1 and t2, as
 * rdiff-backup's list files --changed-since prints them (new, deleted,
 * changed), with what changed when detail is set.
 */
static void
diff_sessions(int64_t t1, int64_t t2, const char *prefix, int detail,
    int nul)
{
	struct meta_at *m1, *m2;
	struct rec *a = NULL, *b = NULL;
	char what[256];
	size_t plen = strlen(prefix);
	int ha, hb, c;

	at = t1;
	m1 = open_meta();
	at = t2;
	m2 = open_meta();
	ha = next_record(m1, &a);
	hb = next_record(m2, &b);
	while (ha || hb) {
		c = !ha ? 1 : !hb ? -1 : pathcmp(a->path, a->pathlen, b->path,
		    b->pathlen);
		const struct rec *r = c <= 0 ? a : b;

		if (within(r->path, r->pathlen, prefix, plen)) {
			if (c == 0)
				rec_changes(a, b, what, sizeof what);
			if ((c != 0 || what[0] != '\0') && nul)
				put_path(r, 1);
			else if (c != 0 || what[0] != '\0')
				printf("%-7s %s%s%s%s\n", c < 0 ? "deleted" :
				    c > 0 ? "new" : "changed", shown(r->path),
				    detail && c == 0 ? " (" : "",
				    detail && c == 0 ? what : "",
				    detail && c == 0 ? ")" : "");
		}
		if (c <= 0)
			ha = next_record(m1, &a);
		if (c >= 0)
			hb = next_record(m2, &b);
	}
	meta_at_close(m1);
	meta_at_close(m2);
	if (fflush(stdout) == EOF)
		err(EXIT_TEMP, "stdout");
}

/*
 * restore -c -r all: every session verified in one run, newest first.
 * A file whose version a newer session has (no increment between the
 * two) is not rebuilt again: the versions of all sessions are each
 * checked once, with memory that does not grow with the sessions.
 */
static void
verify_all(void)
{
	char ts[TIMESTR_LEN];
	size_t i, k;
	int before;

	verifying = 2;
	for (k = R.ntimes; k-- > 0; ) {
		at = R.times[k];
		timestr_format(at, ts);
		va.checked = va.rebuilt = 0;
		va.m = NULL;
		va.r = NULL;
		if (va.newer != INT64_MIN) {
			if ((va.m = meta_at_open(&R, va.newer)) != NULL &&
			    meta_at_next(va.m, &va.r) != 1)
				va.r = NULL;
		}
		before = rval;
		rval = EXIT_OK;
		hl_free(&links);
		run("", NULL);
		if (va.m != NULL)
			meta_at_close(va.m);
		printf("%s  %s: %" PRIu64 " files, %" PRIu64 " rebuilt or "
		    "read, %zu bad\n", ts, rval == EXIT_OK ? "verified" :
		    "DAMAGED", va.checked, va.rebuilt, va.nnbad);
		if (fflush(stdout) == EOF)
			err(EXIT_TEMP, "stdout");
		if (before != EXIT_OK)
			rval = before;
		for (i = 0; i < va.nbadn; i++)
			free(va.bad[i]);
		free(va.bad);
		va.bad = va.nbad;
		va.nbadn = va.nnbad;
		va.nbad = NULL;
		va.nnbad = 0;
		if (va.nbadn > 1)
			qsort(va.bad, va.nbadn, sizeof *va.bad, strp_cmp);
		va.newer = at;
	}
}

int
main(int argc, char *argv[])
{
	static const struct option ownopts[] = {
		{ "at",			required_argument,	NULL,	'r' },
		{ "changed-since",	required_argument,	NULL,	'C' },
		{ "compare",		no_argument,		NULL,	'K' },
		{ "method",		required_argument,	NULL,	'M' },
		{ "force",		no_argument,		NULL,	'f' },
		{ "list-files",		no_argument,		NULL,	'L' },
		{ "list-increments",	no_argument,		NULL,	'l' },
		{ "mount",		no_argument,		NULL,	'm' },
		{ "group-mapping-file",	required_argument,	NULL,	'G' },
		{ "never-drop-acls",	no_argument,		NULL,	'D' },
		{ "no-acls",		no_argument,		NULL,	'A' },
		{ "no-eas",		no_argument,		NULL,	'X' },
		{ "preserve-numerical-ids", no_argument,	NULL,	'N' },
		{ "user-mapping-file",	required_argument,	NULL,	'U' },
		{ "restore-as-of",	required_argument,	NULL,	'r' },
		{ "parsable-output",	no_argument,		NULL,	'P' },
		{ "size",		no_argument,		NULL,	'S' },
		{ "unmount",		no_argument,		NULL,	'u' },
		{ "verbose",		no_argument,		NULL,	'v' },
		{ "verify",		no_argument,		NULL,	'c' },
		{ "version",		no_argument,		NULL,	'V' },
		{ NULL,			0,			NULL,	0 }
	};
	struct option *longopts = select_longopts(ownopts);
	struct selrules rules = { NULL, 0, 0 };
	char msg[512];
	enum verb verb = RESTORE;
	const char *spec = NULL, *tmp, *umap = NULL, *gmap = NULL, *since = NULL;
	int numeric = 0, neverdrop = 0, sizes = 0, parsable = 0, all;
	int method = -1;
	size_t line;
	char *repo, *path, **command = NULL, *mnt;
	int ch, ncmd = 0;

	/* -m's command follows the first "--" (getopt moves what precedes) */
	for (ch = 1; ch < argc; ch++)
		if (strcmp(argv[ch], "--") == 0) {
			ncmd = argc - ch - 1;
			command = (char **)xmemdup(argv + ch + 1,
			    (size_t)(ncmd + 1) * sizeof(*argv));
			break;
		}
	while ((ch = getopt_long(argc, argv, "cfLlmr:uVv", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'A':
			acls = 0;
			break;
		case 'C':
			since = optarg;
			break;
		case 'K':
			set_verb(&verb, COMPARE);
			break;
		case 'M':
			method = strcmp(optarg, "meta") == 0 ? CMP_META :
			    strcmp(optarg, "hash") == 0 ? CMP_HASH :
			    strcmp(optarg, "full") == 0 ? CMP_FULL : -2;
			if (method == -2)
				errx(EXIT_USAGE, "--method: meta, hash or full, "
				    "not %s", optarg);
			break;
		case 'D':
			neverdrop = 1;
			break;
		case 'G':
			gmap = optarg;
			break;
		case 'N':
			numeric = 1;
			break;
		case 'P':
			parsable = 1;
			break;
		case 'S':
			sizes = 1;
			break;
		case 'U':
			umap = optarg;
			break;
		case 'X':
			eas = 0;
			break;
		case 'c':
			set_verb(&verb, VERIFY);
			break;
		case 'f':
			force = 1;
			break;
		case 'L':
			set_verb(&verb, LIST_FILES);
			break;
		case 'l':
			set_verb(&verb, LIST_SESSIONS);
			break;
		case 'm':
			set_verb(&verb, MOUNT);
			break;
		case 'u':
			set_verb(&verb, UNMOUNT);
			break;
		case 'r':
			spec = optarg;
			break;
		case 'V':
			printf("restore %s\n", VERSION);
			return EXIT_OK;
		case 'v':
			verbose++;
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
	free(longopts);
	all = verb == VERIFY && spec != NULL && strcmp(spec, "all") == 0;
	if ((rules.n > 0 && verb != RESTORE) || (rules.nul && verb != RESTORE &&
	    verb != LIST_FILES) || (sizes && verb != LIST_SESSIONS) ||
	    (parsable && verb != LIST_SESSIONS && verb != COMPARE) ||
	    (method != -1 && verb != COMPARE) || (since != NULL && verb !=
	    LIST_FILES))
		usage();
	if (verb == MOUNT) {
		/* -f: the foreground; no other option means anything here */
		if (argc - ncmd != 2 || (command != NULL && ncmd == 0) ||
		    spec != NULL || verbose)
			usage();
		if (ncmd == 0)
			command = NULL;
		split_repo(argv[0], &repo, &path);
		if (path[0] != '\0')
			errx(EXIT_USAGE, "%s: mount the whole repository, not "
			    "a path in it", argv[0]);
		if ((mnt = fm_absolute(argv[1])) == NULL ||
		    (repo = fm_absolute(repo)) == NULL)
			err(EXIT_TEMP, "getcwd");
		return histfs_main(repo, mnt, force, command);
	}
	if (verb == UNMOUNT) {
		if (argc != 1 || force || spec != NULL)
			usage();
		if ((mnt = fm_absolute(argv[0])) == NULL)
			err(EXIT_TEMP, "getcwd");
		if (fm_unmount(mnt, "fuse.restore") == -1) {
			if (errno == EINVAL)
				errx(EXIT_PERM, "unmount %s: not a restore -m "
				    "mount", mnt);
			err(EXIT_TEMP, "unmount %s", mnt);
		}
		return EXIT_OK;
	}
	if (argc != (verb == RESTORE || verb == COMPARE ? 2 : 1))
		usage();
	isroot = geteuid() == 0;
	if (numeric && (umap != NULL || gmap != NULL))
		usage();
	ids = idmap_new(numeric);
	for (ch = 0; ch < 2; ch++) {
		tmp = ch ? gmap : umap;
		if (tmp != NULL && idmap_load(ids, tmp, ch, &line) == -1) {
			if (errno == EINVAL)
				errx(EXIT_USAGE, "%s:%zu: not old:new with a "
				    "known local %s", tmp, line, ch ? "group" :
				    "user");
			err(EXIT_USAGE, "%s", tmp);
		}
	}
	progress_init("restore", isatty(STDERR_FILENO) ? show_progress :
	    NULL);
	split_repo(argv[0], &repo, &path);
	open_repo(repo);
	switch (verb) {
	case LIST_SESSIONS:
		if (path[0] != '\0' || spec != NULL)
			usage();
		list_sessions(sizes, parsable);
		if (fflush(stdout) == EOF)
			err(EXIT_TEMP, "stdout");
		break;
	case LIST_FILES:
		if (since != NULL) {
			int64_t t2 = resolve(spec);

			diff_sessions(resolve(since), t2, path, verbose,
			    rules.nul);
			break;
		}
		at = resolve(spec);
		list_files(path, rules.nul);
		break;
	case VERIFY:
		if (path[0] != '\0')
			usage();
		if (all) {
			int64_t o;

			if (journal_pending(R.datafd, NULL, &o) == 1)
				errx(EXIT_TEMP, "a prune was interrupted while "
				    "removing a session: the next prune or snap "
				    "finishes it");
		} else
			at = resolve(spec);
		verifying = 1;
		if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
			tmp = "/tmp";
		if ((tmpdirfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
			err(EXIT_TEMP, "%s", tmp);
		if (all) {
			verify_all();
			break;
		}
		run("", NULL);
		if (rval == EXIT_OK && verbose)
			fprintf(stderr, "restore: every file verified\n");
		break;
	case RESTORE:
		at = resolve(spec);
		umask(0);
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
		signal(SIGHUP, on_signal);
		sigemptyset(&stopsigs);
		sigaddset(&stopsigs, SIGINT);
		sigaddset(&stopsigs, SIGTERM);
		sigaddset(&stopsigs, SIGHUP);
		target_arg = argv[1];
		if (rules.n > 0)
			select_target(&rules, path, argv[1]);
		rattrs_open(R.datafd, at, (eas ? RA_EAS : 0) | (acls ? RA_ACLS :
		    0) | (isroot ? RA_ROOT : 0) | (verbose ? RA_VERBOSE : 0) |
		    (neverdrop ? RA_NEVERDROP : 0), ids);
		if (run(path, argv[1]) == 0 && rval == EXIT_OK)
			errx(EXIT_PERM, "%s: not in the session restored", shown(path));
		if (rattrs_close())
			rval = EXIT_PARTIAL;
		break;
	case COMPARE:
		at = resolve(spec);
		rval = compare_tree(&R, at, path, argv[1], method == -1 ?
		    CMP_META : method, parsable);
		break;
	case MOUNT:
	case UNMOUNT:
		break;		/* handled above */
	}
	repo_close(&R);
	return rval;
}
