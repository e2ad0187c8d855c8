#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "sshdest.h"
#include "xalloc.h"

extern char **environ;

#define G_MAX	(256 * 1024)	/* ssh -G prints a few KiB */

static int
loopback_name(const char *h)
{
	return strcmp(h, "localhost") == 0 || strncmp(h, "127.", 4) == 0 ||
	    strcmp(h, "::1") == 0 || strcmp(h, "[::1]") == 0;
}

/* Run argv with -G after argv[0]; its output, or NULL. */
static char *
ssh_g(char *const argv[])
{
	posix_spawn_file_actions_t fa;
	char **v, *out;
	size_t n;
	ssize_t r;
	pid_t pid;
	int p[2], st, rc;

	for (n = 0; argv[n] != NULL; n++)
		;
	v = xcalloc(n + 2, sizeof(*v));
	v[0] = argv[0];
	v[1] = "-G";
	memcpy(v + 2, argv + 1, n * sizeof(*v));
	if (pipe2(p, O_CLOEXEC) == -1) {
		free(v);
		return NULL;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	rc = posix_spawnp(&pid, v[0], &fa, NULL, v, environ);
	posix_spawn_file_actions_destroy(&fa);
	free(v);
	close(p[1]);
	if (rc != 0) {
		close(p[0]);
		return NULL;
	}
	out = xmalloc(G_MAX + 1);
	r = read_full(p[0], out, G_MAX);
	close(p[0]);
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	if (r == -1 || r == G_MAX || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		free(out);
		return NULL;
	}
	out[r] = '\0';
	return out;
}

int
sshdest_loopback(char *const argv[])
{
	char *out, *line, *next, *val;
	const char *dest, *h;
	size_t n;
	int host = 0, proxy = 0;

	for (n = 0; argv[n] != NULL; n++)
		;
	if (n < 2)
		return 0;
	if ((out = ssh_g(argv)) == NULL) {
		dest = argv[n - 1];
		h = strrchr(dest, '@');
		return loopback_name(h != NULL ? h + 1 : dest);
	}
	for (line = out; *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		else
			next = line + strlen(line);
		if ((val = strchr(line, ' ')) == NULL)
			continue;
		*val++ = '\0';
		if (strcmp(line, "hostname") == 0)
			host = loopback_name(val);
		else if ((strcmp(line, "proxycommand") == 0 ||
		    strcmp(line, "proxyjump") == 0) && strcmp(val, "none") != 0)
			proxy = 1;
	}
	free(out);
	return host && !proxy;
}
