#!/bin/sh
# backup.sh: the daily routine of "rdiff-backup with sshfs", with the
# static tools.  For each user@host:/path given (or listed in a file, one
# per line, # comments allowed), mount it read-only with mount-remote,
# snap it into $BACKUP_ROOT/host/path, unmount whatever happens, and
# optionally prune old sessions.  Quiet on success; one line per failure
# on stderr (cron mails it) and a non-zero exit; -l also logs to syslog,
# -v prints one summary line per target on stdout.  With -a, no mount:
# snap walks the host through its agent (snap user@host:/path, with the
# static snap binary on the host; see "Remote sources" in snap(1)),
# sending changed files as deltas.  With -j N, N targets at a time (each
# repository is still locked by snap on its own), each target's messages
# kept together.
#
#   backup.sh [-alv] [-j N] [-A agent-socket] [-P prune-time]
#             [-f hosts-file] [user@host:/path ...]
#
# A fleet: one hosts file per backup server (or one crontab line per
# host), each server's cron running backup.sh -j N -f its-hosts-file; a
# host listed on two servers is simply backed up twice, into two
# repositories.
#
# Environment: BACKUP_ROOT (default ~/backup), MNT_ROOT (default ~/mnt),
# BK_BIN (where snap, prune and mount-remote are; default: PATH),
# MOUNT_OPTS (more mount-remote options, e.g. "-p 2222 -t 60"),
# SNAP_OPTS (more snap options, e.g. "-e **/.cache").
# Exit: the worst of the targets': 0 all done, 1 some were partial,
# 111 some failed for a reason that may pass (a host down, a full disk),
# 100 some failed for good (a bad target or repository); 100 usage,
# 111 another backup.sh is running.
set -u

usage() {
	echo "usage: backup.sh [-alv] [-j N] [-A agent-socket] [-P prune-time]" \
	    "[-f hosts-file] [user@host:/path ...]" >&2
	exit 100
}

BACKUP_ROOT=${BACKUP_ROOT:-$HOME/backup}
MNT_ROOT=${MNT_ROOT:-$HOME/mnt}
bin() { if [ -n "${BK_BIN:-}" ]; then echo "$BK_BIN/$1"; else echo "$1"; fi; }
syslog=0 agent= prune= list= direct=0 verbose=0 jobs=1
while getopts alvj:A:P:f: opt; do
	case $opt in
	a) direct=1 ;;
	l) syslog=1 ;;
	v) verbose=1 ;;
	j) jobs=$OPTARG
	   case $jobs in ''|*[!0-9]*|0) usage ;; esac ;;
	A) agent=$OPTARG ;;
	P) prune=$OPTARG ;;
	f) list=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
if [ -n "$list" ]; then
	[ -r "$list" ] || { echo "backup.sh: cannot read $list" >&2; exit 100; }
	set -- "$@" $(sed 's/#.*//' "$list")
fi
[ $# -gt 0 ] || usage

say() {
	echo "backup.sh: $*" >&2
	[ "$syslog" = 1 ] && logger -t backup.sh -- "$*"
	return 0
}

# One run at a time: an overlapping cron run leaves at once.
mkdir -p "$BACKUP_ROOT" "$MNT_ROOT" || exit 111
exec 9>"$BACKUP_ROOT/.backup.sh.lock"
if ! flock -n 9; then
	say "another backup.sh is running (lock $BACKUP_ROOT/.backup.sh.lock)"
	exit 111
fi

# The worse of two exit statuses: 0, 1 (partial), 111, 100.
worse() {
	for _w in 100 111 1; do
		if [ "$1" = "$_w" ] || [ "$2" = "$_w" ]; then echo "$_w"; return; fi
	done
	[ "$1" = 0 ] && [ "$2" = 0 ] && { echo 0; return; }
	echo 111	# something else went wrong (a signal)
}

# Back up one target; its status is the exit status.
one() {
	target=$1
	case $target in
	*:/*) ;;
	*) say "$target: expected user@host:/path"; return 100 ;;
	esac
	hostpart=${target%%:*}
	host=${hostpart#*@}
	path=${target#*:}
	rel=$(printf '%s' "$path" | sed 's|^/*||; s|/*$||')
	[ -n "$rel" ] || rel=ROOT
	repo=$BACKUP_ROOT/$host/$rel
	mnt=$MNT_ROOT/$host/$rel
	mkdir -p "$mnt" "$(dirname "$repo")" || { say "$target: cannot create $mnt"; return 111; }
	if [ "$direct" = 1 ]; then
		# the host's snap walks it; ssh finds the key through the agent
		if [ -n "$agent" ]; then
			SSH_AUTH_SOCK=$agent $(bin snap) ${SNAP_OPTS:-} "$target" "$repo"
		else
			$(bin snap) ${SNAP_OPTS:-} "$target" "$repo"
		fi
	else
		# mount-remote's -- mode unmounts whatever happens to the command
		$(bin mount-remote) ${agent:+-A "$agent"} ${MOUNT_OPTS:-} "$target" "$mnt" \
		    -- $(bin snap) ${SNAP_OPTS:-} "$mnt" "$repo"
	fi
	st=$?
	case $st in
	0) ;;
	1) say "$target: partial backup into $repo (see the messages above)" ;;
	*) say "$target: backup into $repo failed (exit $st)"; return "$st" ;;
	esac
	if [ -n "$prune" ] && ! $(bin prune) "$prune" "$repo"; then
		say "$target: prune $prune of $repo failed"
		return 111
	fi
	return "$st"
}

# one, timed, with its summary line (-v) and its status in file $2.
run_one() {
	t0=$(date +%s)
	one "$1"
	st=$?
	if [ "$verbose" = 1 ]; then
		case $st in
		0) what=ok ;;
		1) what=partial ;;
		*) what="failed (exit $st)" ;;
		esac
		echo "$1: $what, $(($(date +%s) - t0)) s"
	fi
	echo "$st" >"$2"
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/backup.sh.XXXXXX") || exit 111
trap 'rm -rf "$tmp"' EXIT
k=0
if [ "$jobs" -gt 1 ]; then
	# a pool of N tokens: a target takes one to start, gives it back
	# when done, and prints what it said as one block
	mkfifo "$tmp/pool" && exec 8<>"$tmp/pool" || exit 111
	i=0
	while [ "$i" -lt "$jobs" ]; do echo >&8; i=$((i + 1)); done
fi
for target in "$@"; do
	k=$((k + 1))
	if [ "$jobs" -gt 1 ]; then
		read -r _ <&8
		(
			run_one "$target" "$tmp/st.$k" >"$tmp/out.$k" \
			    2>"$tmp/err.$k"
			cat "$tmp/err.$k" >&2
			cat "$tmp/out.$k"
			echo >&8
		) &
	else
		run_one "$target" "$tmp/st.$k"
	fi
done
wait
rc=0
i=0
while [ "$i" -lt "$k" ]; do
	i=$((i + 1))
	rc=$(worse "$rc" "$(cat "$tmp/st.$i" 2>/dev/null || echo 111)")
done
exit "$rc"
