#!/bin/sh
# make demo: the seed's routine on a built-in example.  A sample "remote
# host" directory is served by a local sftp-server (what ssh would start
# on the host; mount-remote -S runs it instead of ssh, so no sshd is
# needed) and backed up by examples/backup.sh: mount it read-only, snap
# it, unmount.  Then the host changes, the next backup runs, the
# sessions are listed, yesterday's tree is restored and compared, and
# the repository is verified.  Without FUSE (no /dev/fuse, or not root
# and no fusermount3) the same job runs on the local tree.
set -u
: "${BIN:=build/musl/bin}"
case $BIN in /*) ;; *) BIN=$(pwd)/$BIN ;; esac
EX=$(pwd)/examples/backup.sh
SFTP=/usr/lib/openssh/sftp-server
D=$(mktemp -d "${TMPDIR:-/tmp}/bk-demo.XXXXXX") || exit 111
trap 'fusermount3 -u "$D/mnt/demohost$D/host" 2>/dev/null; rm -rf "$D"' EXIT
cd "$D" || exit 111
step() { printf '\n$ %s\n' "$*"; "$@"; }

remote=1
if [ ! -c /dev/fuse ] || { [ "$(id -u)" != 0 ] &&
    ! command -v fusermount3 >/dev/null; }; then
	echo "demo: no FUSE here: the local tree is backed up instead of a mount"
	remote=0
elif ! sh "$OLDPWD/mk/need.sh" "$SFTP:openssh-sftp-server"; then
	echo "demo: no sftp-server: the local tree is backed up instead of a mount"
	remote=0
fi

mkdir -p host/etc host/home/alice
printf 'hostname=demo\n' >host/etc/config
printf 'first draft\n' >host/home/alice/notes.txt
seq 1 20000 >host/home/alice/numbers
export BACKUP_ROOT="$D/backup" MNT_ROOT="$D/mnt" BK_BIN="$BIN"
if [ "$remote" = 1 ]; then
	repo=$BACKUP_ROOT/demohost/${D#/}/host
	export MOUNT_OPTS="-S $SFTP"
	echo "demo: the host's files in $D/host, served over SFTP by $SFTP;"
	echo "demo: backup.sh mounts them at $MNT_ROOT/demohost$D/host,"
	echo "demo: snaps them into $repo and unmounts"
	export SNAP_OPTS="-v --current-time $(($(date +%s) - 86400))"
	step sh "$EX" "demo@demohost:$D/host" || exit
else
	repo=$D/repo
	step "$BIN/snap" -v --current-time "$(($(date +%s) - 86400))" host \
	    "$repo" || exit
fi
printf 'second draft\n' >host/home/alice/notes.txt
sed -i 's/^5000$/five thousand/' host/home/alice/numbers
rm host/etc/config
echo
echo "demo: a day later: changed notes.txt and numbers, deleted etc/config"
if [ "$remote" = 1 ]; then
	export SNAP_OPTS=-v
	step sh "$EX" "demo@demohost:$D/host" || exit
	echo "demo: mounts left under $MNT_ROOT: $(grep -c " $MNT_ROOT" /proc/mounts)"
else
	step "$BIN/snap" -v host "$repo" || exit
fi
step "$BIN/restore" -l "$repo" || exit
step "$BIN/restore" -v -r 1B "$repo" yesterday || exit
printf '\n$ diff -r yesterday host\n'
diff -r yesterday host
step "$BIN/restore" -c "$repo" || exit
step du -sh "$repo/rdiff-backup-data/increments"
if command -v rdiff-backup >/dev/null; then
	step rdiff-backup --terminal-verbosity 1 list increments "$repo" || exit
fi
echo
echo "demo: done"
