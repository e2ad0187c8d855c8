/*
 * Unmounting: -u MOUNTPOINT, which checks in /proc/self/mountinfo that it
 * is ours, and the lazy detach of our own mount when serving ends; both
 * through fusermount3, or umount2 as root.
 */
#include <sys/mount.h>
#include <err.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exitcode.h"
#include "mr.h"

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

/* Is mnt (absolute) a mount-remote mount?  Reads /proc/self/mountinfo. */
static int
is_our_mount(const char *mnt)
{
	FILE *f;
	char *line = NULL, *fld[12], *p, *save;
	size_t cap = 0;
	int n, found = 0;

	if ((f = fopen("/proc/self/mountinfo", "re")) == NULL)
		err(EXIT_TEMP, "open /proc/self/mountinfo");
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
		if (n < 11 && strcmp(fld[n + 1], "fuse.mount-remote") == 0)
			found = 1;
	}
	free(line);
	fclose(f);
	return found;
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
do_unmount(const char *arg)
{
	char *mnt = absolute(arg);
	char *fm[] = { fusermount(), "-u", "-z", "--", mnt, NULL };
	int rc;

	if (!is_our_mount(mnt))
		errx(EXIT_PERM, "unmount %s: not a mount-remote mount", mnt);
	if (geteuid() == 0) {
		if (umount2(mnt, 0) == -1 && umount2(mnt, MNT_DETACH) == -1)
			err(EXIT_TEMP, "unmount %s", mnt);
		free(mnt);
		return EXIT_OK;
	}
	if ((rc = spawn_wait(fm, NULL)) != 0) {
		if (rc == -1)
			err(EXIT_TEMP, "unmount %s: fusermount3", mnt);
		errx(EXIT_TEMP, "unmount %s: fusermount3 exited %d", mnt, rc);
	}
	free(mnt);
	return EXIT_OK;
}

/*
 * Detach the mount and give the FUSE loop up to 2 seconds to see it go
 * before its descriptor is closed (closing first makes libfuse complain,
 * and a lazy unmount lets a busy mount go without waiting for its users).
 */
void
unmount_and_wait(struct fuse_session *se, const char *mnt, sigset_t *set,
    volatile sig_atomic_t *loopdone)
{
	char *fm[] = { fusermount(), "-u", "-q", "-z", "--", (char *)mnt,
	    NULL };
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	int i, done = 0;

	if (!*loopdone) {
		if (geteuid() == 0)
			done = umount2(mnt, MNT_DETACH) == 0;
		else
			done = spawn_wait(fm, NULL) == 0;
		for (i = 0; i < 20 && !*loopdone; i++)
			(void)sigtimedwait(set, NULL, &ts);
	}
	/* Still in use after the detach: exiting closes the descriptor. */
	if (!done)
		fuse_session_unmount(se);
}
