/*
 * A read-only FUSE mount's life cycle, shared by mount-remote and
 * restore -m.  See fusemount.h.
 */
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FUSE_USE_VERSION 34
#include <fuse3/fuse_lowlevel.h>

#include "fusemount.h"
#include "io.h"
#include "xalloc.h"

extern char **environ;

static pthread_t main_thread;
static volatile sig_atomic_t loopdone;

void
fm_block_signals(sigset_t *set)
{
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGCHLD);
	sigaddset(set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	main_thread = pthread_self();
}

void
fm_wake(void)
{
	pthread_kill(main_thread, SIGUSR1);
}

static int
cloexec_pipe(int p[2])
{
	if (pipe(p) == -1)
		return -1;
	(void)fcntl(p[0], F_SETFD, FD_CLOEXEC);
	(void)fcntl(p[1], F_SETFD, FD_CLOEXEC);
	return 0;
}

int
fm_daemon_fork(int *status)
{
	int p[2], st;
	char c;
	pid_t pid;

	if (cloexec_pipe(p) == -1)
		return -1;
	if ((pid = fork()) == -1) {
		int e = errno;

		close(p[0]);
		close(p[1]);
		errno = e;
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		return p[1];
	}
	close(p[1]);
	if (read_full(p[0], &c, 1) == 1) {
		*status = 0;
		return -2;
	}
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return -1;
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : 111;
	return -2;
}

void
fm_detach(int fd)
{
	int null;

	(void)write_full(fd, "", 1);
	close(fd);
	setsid();
	(void)chdir("/");
	if ((null = open("/dev/null", O_RDWR)) != -1) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
}

void
fm_spawn_attr(posix_spawnattr_t *sa)
{
	sigset_t none, def;

	sigemptyset(&none);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	sigaddset(&def, SIGINT);
	sigaddset(&def, SIGTERM);
	sigaddset(&def, SIGHUP);
	sigaddset(&def, SIGCHLD);
	sigaddset(&def, SIGUSR1);
	posix_spawnattr_init(sa);
	posix_spawnattr_setsigmask(sa, &none);
	posix_spawnattr_setsigdefault(sa, &def);
	posix_spawnattr_setflags(sa, POSIX_SPAWN_SETSIGMASK |
	    POSIX_SPAWN_SETSIGDEF);
}

int
fm_spawn_wait(char *const argv[], posix_spawn_file_actions_t *fa)
{
	posix_spawnattr_t sa;
	pid_t pid;
	int st, e;

	fm_spawn_attr(&sa);
	e = posix_spawnp(&pid, argv[0], fa, &sa, argv, environ);
	posix_spawnattr_destroy(&sa);
	if (e != 0) {
		errno = e;
		return -1;
	}
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

char *
fm_optescape(const char *s)
{
	char *o = xmalloc(strlen(s) * 2 + 1), *p = o;

	for (; *s != '\0'; s++) {
		if (*s == ',' || *s == '\\')
			*p++ = '\\';
		*p++ = *s;
	}
	*p = '\0';
	return o;
}

char *
fm_absolute(const char *path)
{
	char *cwd = NULL, *in, *out, *p, *save = NULL;
	size_t len, o = 0;

	if (path[0] != '/') {
		if ((cwd = getcwd(NULL, 0)) == NULL)
			return NULL;
		in = xmalloc(strlen(cwd) + strlen(path) + 2);
		sprintf(in, "%s/%s", cwd, path);
		free(cwd);
	} else
		in = xstrdup(path);
	len = strlen(in);
	out = xmalloc(len + 2);
	for (p = strtok_r(in, "/", &save); p != NULL;
	    p = strtok_r(NULL, "/", &save)) {
		if (strcmp(p, ".") == 0)
			continue;
		if (strcmp(p, "..") == 0) {
			while (o > 0 && out[--o] != '/')
				;
			continue;
		}
		out[o++] = '/';
		memcpy(out + o, p, strlen(p));
		o += strlen(p);
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	free(in);
	return out;
}

/* Undo the octal escapes of /proc/self/mountinfo fields, in place. */
static void
unescape(char *s)
{
	char *o = s;

	for (; *s != '\0'; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
			    (s[3] - '0'));
			s += 3;
		} else
			*o++ = *s;
	}
	*o = '\0';
}

/* Is there a mount of type at mnt?  1, 0, or -1 with errno. */
static int
mounted(const char *mnt, const char *type)
{
	FILE *f;
	char *line = NULL, *fld[12], *p, *save;
	size_t cap = 0;
	int n, found = 0;

	if ((f = fopen("/proc/self/mountinfo", "re")) == NULL)
		return -1;
	while (getline(&line, &cap, f) != -1) {
		n = 0;
		save = NULL;
		for (p = strtok_r(line, " \n", &save); p != NULL && n < 12;
		    p = strtok_r(NULL, " \n", &save))
			fld[n++] = p;
		/* id parent maj:min root mountpoint opts [optional...] - type src */
		if (n < 7)
			continue;
		unescape(fld[4]);
		if (strcmp(fld[4], mnt) != 0)
			continue;
		for (n = 5; n < 11 && strcmp(fld[n], "-") != 0; n++)
			;
		if (n < 11 && strcmp(fld[n + 1], type) == 0)
			found = 1;
	}
	free(line);
	fclose(f);
	return found;
}

static char *fusermount(void);

/* Is the calling user in group gid (primary or supplementary)? */
static int
in_group(gid_t gid)
{
	gid_t g[NGROUPS_MAX];
	int n, i;

	if (getegid() == gid)
		return 1;
	n = getgroups(NGROUPS_MAX, g);
	for (i = 0; i < n; i++)
		if (g[i] == gid)
			return 1;
	return 0;
}

int
fm_usable(char *msg, size_t len)
{
	struct stat st;
	struct group *gr;
	struct passwd *pw;
	const char *fm = fusermount(), *gname, *uname;
	char gbuf[32], ubuf[32];

	if (geteuid() == 0)
		return 0;
	if (stat("/dev/fuse", &st) == -1) {
		snprintf(msg, len, "/dev/fuse: %s: load the fuse module "
		    "(modprobe fuse), or in a container pass the device in",
		    strerror(errno));
		return -1;
	}
	if (access("/dev/fuse", R_OK | W_OK) == -1) {
		gr = getgrgid(st.st_gid);
		pw = getpwuid(st.st_uid);
		snprintf(gbuf, sizeof gbuf, "%u", (unsigned)st.st_gid);
		snprintf(ubuf, sizeof ubuf, "%u", (unsigned)st.st_uid);
		gname = gr ? gr->gr_name : gbuf;
		uname = pw ? pw->pw_name : ubuf;
		if ((st.st_mode & 060) == 060 && !in_group(st.st_gid))
			snprintf(msg, len, "/dev/fuse is %04o %s:%s and you are "
			    "not in group %s: add yourself to it (usermod -aG "
			    "%s USER, then log in again)", (unsigned)(st.st_mode &
			    07777), uname, gname, gname, gname);
		else
			snprintf(msg, len, "/dev/fuse is %04o %s:%s, so only "
			    "root can mount: make it 0666 (as Debian's fuse3 "
			    "does), or 0660 with a group you add yourself to",
			    (unsigned)(st.st_mode & 07777), uname, gname);
		return -1;
	}
	if (fm[0] != '/' || stat(fm, &st) == -1) {
		snprintf(msg, len, "fusermount3 is missing: install fuse3 "
		    "(a user mounts through it)");
		return -1;
	}
	if (st.st_uid != 0 || !(st.st_mode & S_ISUID)) {
		snprintf(msg, len, "%s is not setuid root: a user cannot mount "
		    "through it (reinstall fuse3)", fm);
		return -1;
	}
	return 0;
}

/* fusermount3 where Debian installs it, so an empty PATH works as in libfuse. */
static char *
fusermount(void)
{
	if (access("/usr/bin/fusermount3", X_OK) == 0)
		return "/usr/bin/fusermount3";
	if (access("/bin/fusermount3", X_OK) == 0)
		return "/bin/fusermount3";
	return "fusermount3";
}

int
fm_unmount(const char *mnt, const char *type)
{
	char *fm[] = { fusermount(), "-u", "-z", "--", (char *)mnt, NULL };
	int rc;

	if ((rc = mounted(mnt, type)) != 1) {
		if (rc == 0)
			errno = EINVAL;
		return -1;
	}
	if (geteuid() == 0) {
		if (umount2(mnt, 0) == -1 && umount2(mnt, MNT_DETACH) == -1)
			return -1;
		return 0;
	}
	if ((rc = fm_spawn_wait(fm, NULL)) != 0) {
		if (rc != -1)
			errno = EPERM;	/* fusermount3 said why */
		return -1;
	}
	return 0;
}

/*
 * Detach the mount and give the FUSE loop up to 2 seconds to see it go
 * before its descriptor is closed (closing first makes libfuse complain,
 * and a lazy unmount lets a busy mount go without waiting for its users).
 */
static void
unmount_and_wait(struct fuse_session *se, const char *mnt,
    const sigset_t *set)
{
	char *fm[] = { fusermount(), "-u", "-q", "-z", "--", (char *)mnt,
	    NULL };
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	int i, done = 0;

	if (!loopdone) {
		if (geteuid() == 0)
			done = umount2(mnt, MNT_DETACH) == 0;
		else
			done = fm_spawn_wait(fm, NULL) == 0;
		for (i = 0; i < 20 && !loopdone; i++)
			(void)sigtimedwait(set, NULL, &ts);
	}
	/* Still in use after the detach: exiting closes the descriptor. */
	if (!done)
		fuse_session_unmount(se);
}

static void *
loop(void *arg)
{
	fuse_session_loop(arg);
	loopdone = 1;
	fm_wake();
	return NULL;
}

int
fm_serve(struct fuse_session *se, const char *mnt, char *const *command,
    int notify, const sigset_t *set, volatile sig_atomic_t *dead,
    void (*quiesce)(void))
{
	pthread_attr_t ta;
	pthread_t lt;
	pid_t cmdpid = -1;
	int rc, sig, st;

	pthread_attr_init(&ta);
	pthread_attr_setstacksize(&ta, 1 << 20);
	rc = pthread_create(&lt, &ta, loop, se);
	pthread_attr_destroy(&ta);
	if (rc != 0) {
		fuse_session_unmount(se);
		errno = rc;
		return -2;
	}
	if (command != NULL) {
		posix_spawnattr_t sa;

		fm_spawn_attr(&sa);
		rc = posix_spawnp(&cmdpid, command[0], NULL, &sa, command,
		    environ);
		posix_spawnattr_destroy(&sa);
		if (rc != 0) {
			if (quiesce != NULL)
				quiesce();
			unmount_and_wait(se, mnt, set);
			errno = rc;
			return -2;
		}
	} else if (notify != -1)
		fm_detach(notify);

	rc = -1;
	for (;;) {
		if (sigwait(set, &sig) != 0)
			continue;
		if (sig == SIGCHLD && cmdpid > 0) {
			if (waitpid(cmdpid, &st, WNOHANG) == cmdpid) {
				rc = WIFEXITED(st) ? WEXITSTATUS(st) :
				    128 + WTERMSIG(st);
				break;
			}
		} else if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) {
			if (cmdpid > 0)
				kill(cmdpid, sig);
			else {
				rc = 0;
				break;
			}
		}
		if (dead != NULL && *dead && cmdpid <= 0)
			break;
		if (loopdone && cmdpid <= 0) {
			rc = 0;
			break;
		}
	}
	if (quiesce != NULL)
		quiesce();
	unmount_and_wait(se, mnt, set);
	return rc;
}
