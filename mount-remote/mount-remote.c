/*
 * mount-remote: mount a remote directory read-only over SFTP through the
 * OpenSSH ssh client.
 */
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "exitcode.h"
#include "fusemount.h"
#include "io.h"
#include "mr.h"
#include "number.h"
#include "sshdest.h"
#include "xalloc.h"

extern char **environ;

#define SSH_SNDBUF	(4 << 20)	/* ssh's side of the connection */

struct args {
	char	**v;
	size_t	  n, cap;
};

static int verbose;
static volatile sig_atomic_t ev_dead;
static int errpipe_done;
static pthread_mutex_t errpipe_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t errpipe_cond = PTHREAD_COND_INITIALIZER;

static void
usage(void)
{
	fprintf(stderr,
	    "usage: mount-remote [-fv] [-A socket [-K keyfile]] [-F ssh_config] "
	    "[-i identity]\n"
	    "                    [-o ssh_option] [-p port] [-S command] "
	    "[-t timeout]\n"
	    "                    [user@]host:[path] MOUNTPOINT "
	    "[-- command ...]\n"
	    "       mount-remote -u MOUNTPOINT\n");
	exit(EXIT_USAGE);
}

static void
args_add(struct args *a, const char *s)
{
	if (a->n + 2 > a->cap) {
		a->cap = a->cap ? a->cap * 2 : 32;
		a->v = xreallocarray(a->v, a->cap, sizeof(*a->v));
	}
	a->v[a->n++] = xstrdup(s);
	a->v[a->n] = NULL;
}

static void
args_addf(struct args *a, const char *pfx, const char *s)
{
	char *t = xmalloc(strlen(pfx) + strlen(s) + 1);

	strcpy(t, pfx);
	strcat(t, s);
	args_add(a, t);
	free(t);
}

static long
number(const char *s, long min, long max, const char *what)
{
	long long v;

	if (number_in(s, min, max, &v) == -1)
		errx(EXIT_USAGE, "%s %s: must be a number from %ld to %ld",
		    what, s, min, max);
	return (long)v;
}

/* fm_absolute(path), or an exit. */
char *
absolute(const char *path)
{
	char *p;

	if ((p = fm_absolute(path)) == NULL)
		err(EXIT_TEMP, "getcwd");
	return p;
}

/* Copy ssh's standard error to ours (which is /dev/null once detached). */
static void *
errcopy(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[1024];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		(void)write_full(2, buf, (size_t)n);
	}
	close(fd);
	pthread_mutex_lock(&errpipe_lock);
	errpipe_done = 1;
	pthread_cond_broadcast(&errpipe_cond);
	pthread_mutex_unlock(&errpipe_lock);
	return NULL;
}

/* Let ssh's last words reach stderr before we exit (at most 2 seconds). */
static void
errcopy_drain(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 2;
	pthread_mutex_lock(&errpipe_lock);
	while (!errpipe_done)
		if (pthread_cond_timedwait(&errpipe_cond, &errpipe_lock,
		    &ts) != 0)
			break;
	pthread_mutex_unlock(&errpipe_lock);
}

/*
 * Run ssh (or the -S command) with a socket as its stdin and stdout and a
 * pipe as its stderr, in its own process group so that a terminal's ^C
 * reaches the command of `--` mode but not the connection.
 */
static pid_t
spawn_ssh(struct args *a, int *sock)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t sa;
	pthread_t t;
	int sv[2], ep[2], e, sndbuf = SSH_SNDBUF;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		err(EXIT_TEMP, "socketpair");
	if (pipe2(ep, O_CLOEXEC) == -1)
		err(EXIT_TEMP, "pipe");
	/*
	 * Room for ssh to hand over all it has at once: with the default
	 * (about 200 KiB) it keeps megabytes of replies in its own buffer
	 * and moves them down with memmove after every partial write, 30 %
	 * more CPU per GiB.  Beyond net.core.wmem_max only for root.
	 */
	if (setsockopt(sv[1], SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf,
	    sizeof sndbuf) == -1)
		(void)setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sndbuf,
		    sizeof sndbuf);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, sv[1], 0);
	posix_spawn_file_actions_adddup2(&fa, sv[1], 1);
	posix_spawn_file_actions_adddup2(&fa, ep[1], 2);
	fm_spawn_attr(&sa);
	posix_spawnattr_setpgroup(&sa, 0);
	posix_spawnattr_setflags(&sa, POSIX_SPAWN_SETSIGMASK |
	    POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
	e = posix_spawnp(&pid, a->v[0], &fa, &sa, a->v, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&sa);
	if (e != 0) {
		errno = e;
		err(EXIT_TEMP, "run %s", a->v[0]);
	}
	close(sv[1]);
	close(ep[1]);
	if ((e = pthread_create(&t, NULL, errcopy, (void *)(intptr_t)ep[0])) !=
	    0) {
		errno = e;
		err(EXIT_TEMP, "pthread_create");
	}
	pthread_detach(t);
	*sock = sv[0];
	return pid;
}

/* Before the mount goes: no more cache invalidations through it. */
static void
quiesce(void)
{
	fs_session(NULL);
}

static void
on_dead(void)
{
	ev_dead = 1;
	fm_wake();
}

/* The remote root: REALPATH of path, which must be a directory (STAT). */
static char *
remote_root(const char *spec, const char *path, struct sftp_attrs *attrs)
{
	struct sftp_reply r;
	struct sftp_name nm;
	unsigned char *pkt;
	char *root;

	if (*path == '\0')
		path = ".";
	if ((pkt = conn_call_path(SSH_FXP_REALPATH, path, strlen(path),
	    &r)) == NULL)
		return NULL;
	if (r.type == SSH_FXP_STATUS) {
		errno = sftp_errno(r.code) ? sftp_errno(r.code) : EIO;
		free(pkt);
		errx(EXIT_PERM, "mount %s: %s", spec, strerror(errno));
	}
	if (r.type != SSH_FXP_NAME || r.count != 1 ||
	    sftp_name_next(&r, &nm) != 1 || nm.namelen == 0 ||
	    nm.name[0] != '/' || memchr(nm.name, '\0', nm.namelen) != NULL) {
		free(pkt);
		errx(EXIT_TEMP, "mount %s: bad REALPATH reply", spec);
	}
	root = xmalloc(nm.namelen + 1);
	memcpy(root, nm.name, nm.namelen);
	root[nm.namelen] = '\0';
	while (strlen(root) > 1 && root[strlen(root) - 1] == '/')
		root[strlen(root) - 1] = '\0';
	free(pkt);
	if ((pkt = conn_call_path(SSH_FXP_STAT, root, strlen(root), &r)) ==
	    NULL)
		return NULL;
	if (r.type == SSH_FXP_STATUS) {
		errno = sftp_errno(r.code) ? sftp_errno(r.code) : EIO;
		free(pkt);
		errx(EXIT_PERM, "mount %s: %s", spec, strerror(errno));
	}
	if (r.type != SSH_FXP_ATTRS) {
		free(pkt);
		errx(EXIT_TEMP, "mount %s: bad STAT reply", spec);
	}
	*attrs = r.attrs;
	free(pkt);
	if (!(attrs->flags & SSH_FILEXFER_ATTR_PERMISSIONS) ||
	    !S_ISDIR(attrs->mode))
		errx(EXIT_PERM, "mount %s: %s", spec, strerror(ENOTDIR));
	return root;
}

/* What the command line asks for. */
struct conf {
	const char	*agent, *key, *cfg, *ident, *cmd, *port;
	struct args	 useropts;
	int		 timeout, fg;
	char		*spec, *host, *path, *mnt;
	char		**command;	/* after --, or NULL */
};

/*
 * The ssh command line (or sh -c for -S).  The user's -o options come
 * before our defaults, so they win (ssh keeps the first value it sees);
 * BatchMode=yes comes first of all, so it cannot be undone.  Compression
 * is on unless ssh would reach this machine directly (ssh -G, so an alias
 * of 127.0.0.1 counts): listings shrink about sixfold, text files twofold
 * or more, and on loopback zlib would only cost CPU.
 */
static void
ssh_argv(struct args *ssh, const struct conf *c)
{
	size_t i;
	char o[64];
	int loop;

	if (c->cmd != NULL) {
		args_add(ssh, "/bin/sh");
		args_add(ssh, "-c");
		args_add(ssh, c->cmd);
		return;
	}
	args_add(ssh, "ssh");
	args_add(ssh, "-x");
	args_add(ssh, "-a");
	args_add(ssh, "-T");
	args_add(ssh, "-oClearAllForwardings=yes");
	args_add(ssh, "-oBatchMode=yes");
	if (c->port != NULL)
		args_addf(ssh, "-oPort=", c->port);
	if (c->cfg != NULL) {
		args_add(ssh, "-F");
		args_add(ssh, absolute(c->cfg));
	}
	if (c->ident != NULL) {
		args_add(ssh, "-i");
		args_add(ssh, absolute(c->ident));
	}
	if (c->agent != NULL)
		args_addf(ssh, "-oIdentityAgent=", c->agent);
	for (i = 0; i < c->useropts.n; i++)
		args_addf(ssh, "-o", c->useropts.v[i]);
	args_add(ssh, "-oServerAliveInterval=15");
	args_add(ssh, "-oServerAliveCountMax=3");
	args_add(ssh, "-oControlMaster=no");
	args_add(ssh, "--");
	args_add(ssh, c->host);
	loop = sshdest_loopback(ssh->v);
	free(ssh->v[--ssh->n]);
	free(ssh->v[--ssh->n]);
	ssh->v[ssh->n] = NULL;
	if (!loop)
		args_add(ssh, "-oCompression=yes");
	snprintf(o, sizeof(o), "-oConnectTimeout=%d", c->timeout);
	args_add(ssh, o);
	args_add(ssh, "-s");
	args_add(ssh, "--");
	args_add(ssh, c->host);
	args_add(ssh, "sftp");
}

/*
 * Connect, mount and serve until unmounted, the connection dies or the
 * command ends; never returns.  In the background case the parent of
 * fm_daemon_fork() exits once the mount is usable.
 */
static void
serve(struct args *ssh, const struct conf *c)
{
	struct args fargs = { 0 };
	struct fuse_args fa;
	struct fuse_session *se;
	struct sftp_attrs rootattrs;
	struct mr_opts mo;
	sigset_t set;
	pid_t pid;
	char *root, *fsname, *o, why[512];
	int sock, notify = -1, rc;

	/* a user who cannot mount hears why at once, not after ssh */
	if (fm_usable(why, sizeof why) == -1)
		errx(EXIT_PERM, "mount %s on %s: %s", c->spec, c->mnt, why);
	if (!c->fg && c->command == NULL &&
	    (notify = fm_daemon_fork(&rc)) < 0) {
		if (notify == -1)
			err(EXIT_TEMP, "fork");
		_exit(rc);
	}
	fm_block_signals(&set);

	pid = spawn_ssh(ssh, &sock);
	conn_start(sock, pid, c->timeout, on_dead);
	if (conn_handshake() == -1 ||
	    (root = remote_root(c->spec, c->path, &rootattrs)) == NULL) {
		conn_stop();
		errcopy_drain();
		errx(EXIT_TEMP, "connect %s: %s", c->host, conn_reason());
	}
	if (verbose)
		fprintf(stderr, "mount-remote: remote root %s, %u-byte reads%s\n",
		    root, conn_info.readlen,
		    conn_info.has_statvfs ? ", statvfs" : "");

	mo.root = root;
	mo.cache_timeout = 60;
	mo.neg_timeout = 10;
	mo.timeout = c->timeout;
	fs_init(&mo, &rootattrs);
	args_add(&fargs, "mount-remote");
	args_add(&fargs, "-o");
	o = xmalloc(strlen(c->host) + strlen(root) + 2);
	sprintf(o, "%s:%s", c->host, root);
	fsname = fm_optescape(o);
	free(o);
	o = xmalloc(strlen(fsname) + 64);
	sprintf(o, "ro,nosuid,nodev,subtype=mount-remote,fsname=%s", fsname);
	args_add(&fargs, o);
	fa.argc = (int)fargs.n;
	fa.argv = fargs.v;
	fa.allocated = 0;
	if ((se = fuse_session_new(&fa, &mr_ops, sizeof(mr_ops), NULL)) ==
	    NULL) {
		conn_stop();
		errx(EXIT_TEMP, "mount %s: cannot start a FUSE session",
		    c->spec);
	}
	fs_session(se);
	if (fuse_session_mount(se, c->mnt) != 0) {
		conn_stop();
		errx(EXIT_TEMP, "mount %s on %s: failed", c->spec, c->mnt);
	}
	rc = fm_serve(se, c->mnt, c->command, notify, &set, &ev_dead,
	    quiesce);
	if (rc == -2) {
		rc = errno;
		conn_stop();
		if (c->command == NULL) {
			errno = rc;
			err(EXIT_TEMP, "pthread_create");
		}
		errno = rc;
		err(rc == ENOENT ? 127 : 126, "run %s", c->command[0]);
	}
	pthread_mutex_lock(&mr_lock);
	if (ev_dead) {
		warnx("connection to %s lost: %s", c->host, conn_reason());
		if (rc <= 0)
			rc = EXIT_TEMP;
	}
	pthread_mutex_unlock(&mr_lock);
	conn_stop();
	fflush(stdout);
	_exit(rc);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "agent",	required_argument, NULL, 'A' },
		{ "foreground",	no_argument,	   NULL, 'f' },
		{ "ssh-config",	required_argument, NULL, 'F' },
		{ "identity",	required_argument, NULL, 'i' },
		{ "agent-key",	required_argument, NULL, 'K' },
		{ "ssh-option",	required_argument, NULL, 'o' },
		{ "port",	required_argument, NULL, 'p' },
		{ "ssh-command", required_argument, NULL, 'S' },
		{ "timeout",	required_argument, NULL, 't' },
		{ "unmount",	required_argument, NULL, 'u' },
		{ "verbose",	no_argument,	   NULL, 'v' },
		{ "version",	no_argument,	   NULL, 'V' },
		{ NULL,		0,		   NULL, 0 }
	};
	struct conf c;
	struct args ssh = { 0 };
	const char *unmount = NULL;
	size_t i;
	int ch;

	memset(&c, 0, sizeof(c));
	c.timeout = 30;
	while ((ch = getopt_long(argc, argv, "+A:fF:i:K:o:p:S:t:u:Vv", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'A':
			c.agent = optarg;
			break;
		case 'f':
			c.fg = 1;
			break;
		case 'F':
			c.cfg = optarg;
			break;
		case 'i':
			c.ident = optarg;
			break;
		case 'K':
			c.key = optarg;
			break;
		case 'o':
			if (optarg[0] == '\0' || optarg[0] == '-')
				errx(EXIT_USAGE, "ssh option %s: not KEY=VALUE",
				    optarg);
			args_add(&c.useropts, optarg);
			break;
		case 'p':
			number(optarg, 1, 65535, "port");
			c.port = optarg;
			break;
		case 'S':
			c.cmd = optarg;
			break;
		case 't':
			c.timeout = (int)number(optarg, 1, 86400, "timeout");
			break;
		case 'u':
			unmount = optarg;
			break;
		case 'V':
			printf("mount-remote %s\n", VERSION);
			return EXIT_OK;
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (unmount != NULL) {
		if (argc != 0)
			usage();
		c.mnt = absolute(unmount);
		if (fm_unmount(c.mnt, "fuse.mount-remote") == -1) {
			if (errno == EINVAL)
				errx(EXIT_PERM, "unmount %s: not a mount-remote "
				    "mount", c.mnt);
			err(EXIT_TEMP, "unmount %s", c.mnt);
		}
		return EXIT_OK;
	}
	if (argc < 2 || (argc > 2 && strcmp(argv[2], "--") != 0) ||
	    argc == 3 || (c.key != NULL && c.agent == NULL))
		usage();
	if (argc > 3)
		c.command = argv + 3;
	c.spec = argv[0];
	c.host = xstrdup(c.spec);
	/* host:path, where host may be [IPv6] */
	c.path = c.host[0] == '[' ? strchr(c.host, ']') : c.host;
	if (c.path == NULL || (c.path = strchr(c.path, ':')) == NULL ||
	    c.path == c.host)
		errx(EXIT_USAGE, "mount %s: not [user@]host:[path]", c.spec);
	*c.path++ = '\0';
	if (c.host[0] == '-')
		errx(EXIT_USAGE, "mount %s: host may not start with -", c.spec);
	c.mnt = absolute(argv[1]);
	if (c.agent != NULL) {
		c.agent = absolute(c.agent);
		setenv("SSH_AUTH_SOCK", c.agent, 1);
		if (c.key != NULL)
			agent_prepare(c.agent, absolute(c.key));
	}
	ssh_argv(&ssh, &c);
	if (verbose) {
		fprintf(stderr, "mount-remote: running");
		for (i = 0; i < ssh.n; i++)
			fprintf(stderr, " %s", ssh.v[i]);
		fprintf(stderr, "\n");
	}
	serve(&ssh, &c);
	return EXIT_TEMP;	/* not reached */
}
