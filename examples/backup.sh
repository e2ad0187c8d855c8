#!/bin/sh
# backup.sh: the daily routine of "rdiff-backup with sshfs", with the
# static tools.  For each user@host:/path given (or listed in a file, one
# per line, # comments allowed), mount it read-only with mount-remote,
# snap it into $BACKUP_ROOT/host/path, unmount whatever happens, and
# optionally prune old sessions.  Quiet on success; one line per failure
# on stderr (cron mails it) and a non-zero exit; -l also logs to syslog.
# With -a, no mount: snap walks the host through its agent (snap
# user@host:/path, with the static snap binary on the host; see
# "Remote sources" in snap(1)), sending changed files as deltas.
#
#   backup.sh [-al] [-A agent-socket] [-P prune-time] [-f hosts-file]
#             [user@host:/path ...]
#
# Environment: BACKUP_ROOT (default ~/backup), MNT_ROOT (default ~/mnt),
# BK_BIN (where snap, prune and mount-remote are; default: PATH),
# MOUNT_OPTS (more mount-remote options, e.g. "-p 2222 -t 60"),
# SNAP_OPTS (more snap options, e.g. "-e **/.cache").
# Exit: 0 all done, 1 some targets failed or were partial, 100 usage,
# 111 another backup.sh is running.
set -u

usage() {
	echo "usage: backup.sh [-al] [-A agent-socket] [-P prune-time]" \
	    "[-f hosts-file] [user@host:/path ...]" >&2
	exit 100
}

BACKUP_ROOT=${BACKUP_ROOT:-$HOME/backup}
MNT_ROOT=${MNT_ROOT:-$HOME/mnt}
bin() { if [ -n "${BK_BIN:-}" ]; then echo "$BK_BIN/$1"; else echo "$1"; fi; }
syslog=0 agent= prune= list= direct=0
while getopts alA:P:f: opt; do
	case $opt in
	a) direct=1 ;;
	l) syslog=1 ;;
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

rc=0
for target in "$@"; do
	case $target in
	*:/*) ;;
	*) say "$target: expected user@host:/path"; rc=1; continue ;;
	esac
	hostpart=${target%%:*}
	host=${hostpart#*@}
	path=${target#*:}
	rel=$(printf '%s' "$path" | sed 's|^/*||; s|/*$||')
	[ -n "$rel" ] || rel=ROOT
	repo=$BACKUP_ROOT/$host/$rel
	mnt=$MNT_ROOT/$host/$rel
	mkdir -p "$mnt" "$(dirname "$repo")" || { say "$target: cannot create $mnt"; rc=1; continue; }
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
	1) say "$target: partial backup into $repo (see the messages above)"; rc=1 ;;
	*) say "$target: backup into $repo failed (exit $st)"; rc=1; continue ;;
	esac
	if [ -n "$prune" ] && ! $(bin prune) "$prune" "$repo"; then
		say "$target: prune $prune of $repo failed"
		rc=1
	fi
done
exit "$rc"
