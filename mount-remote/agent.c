/*
 * The ssh-agent set-up of -A and -K, for unattended runs (cron has no
 * SSH_AUTH_SOCK): one agent at a fixed socket, started when none answers
 * there, holding the key.
 */
#include <sys/stat.h>
#include <err.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <unistd.h>

#include "exitcode.h"
#include "fusemount.h"
#include "mr.h"

/* ssh-add -l against the agent: 0 keys loaded, 1 none, 2 no agent. */
static int
agent_state(void)
{
	char *argv[] = { "ssh-add", "-l", NULL };
	posix_spawn_file_actions_t fa;
	int rc;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	rc = fm_spawn_wait(argv, &fa);
	posix_spawn_file_actions_destroy(&fa);
	if (rc == -1)
		err(EXIT_TEMP, "run ssh-add");
	return rc;
}

/*
 * -A SOCKET -K KEY: make sure an agent listens on SOCKET (starting a
 * persistent ssh-agent when none does) and holds a key (loading KEY,
 * asking for its passphrase only when there is a terminal).
 */
void
agent_prepare(const char *sock, const char *key)
{
	char *agent[] = { "ssh-agent", "-a", (char *)sock, NULL };
	char *add[] = { "ssh-add", "-q", (char *)key, NULL };
	posix_spawn_file_actions_t fa;
	struct stat st;
	int rc, tty = isatty(0);

	if ((rc = agent_state()) == 2) {
		if (lstat(sock, &st) == 0 && S_ISSOCK(st.st_mode))
			(void)unlink(sock);	/* a dead agent's socket */
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null",
		    O_RDONLY, 0);
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null",
		    O_WRONLY, 0);
		rc = fm_spawn_wait(agent, &fa);
		posix_spawn_file_actions_destroy(&fa);
		if (rc != 0)
			errx(EXIT_TEMP, "start ssh-agent -a %s: failed", sock);
		rc = agent_state();
	}
	if (rc == 0)
		return;
	if (rc != 1)
		errx(EXIT_TEMP, "agent %s: not reachable", sock);
	posix_spawn_file_actions_init(&fa);
	if (!tty) {
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null",
		    O_RDONLY, 0);
		setenv("SSH_ASKPASS_REQUIRE", "never", 1);
	}
	rc = fm_spawn_wait(add, &fa);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		if (!tty)
			errx(EXIT_TEMP, "load key %s: failed, and there is no "
			    "terminal to ask for a passphrase on", key);
		errx(EXIT_TEMP, "load key %s: ssh-add failed", key);
	}
}
