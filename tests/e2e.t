# The seed's routine end to end: a "remote host" in a network namespace
# of its own runs sshd with a backup account and a read-only sftp-server;
# the backup side runs examples/backup.sh (mount-remote + snap + unmount)
# like cron would, twice with changes and 20 days between, then restores
# "now" and "10D"; a run whose sshd session dies leaves no mount and a
# repository the next run continues.
. tests/harness.sh
. tests/lib/history.sh
. tests/lib/sshd.sh
export LC_ALL=C
SUM=$HELP/treesum
TOP=$(pwd)

if [ "$(id -u)" != 0 ] || [ ! -e /dev/fuse ]; then
	skip "end-to-end backup over a network namespace" "needs root and /dev/fuse"
	t_done
fi
sh mk/need.sh ip:iproute2 sshd:openssh-server ssh:openssh-client \
    fusermount3:fuse3 flock:util-linux mountpoint:util-linux || exit 111

NS=bk-e2e-$$
ADDR=10.199.$(($$ % 200 + 20)).2
cleanup() {
	for m in $(grep " $T/" /proc/mounts | cut -d' ' -f2); do
		umount -l "$m" 2>/dev/null
	done
	sshd_stop
	ip netns del "$NS" 2>/dev/null
	ip link del "veth-$$" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 111' INT TERM

# the remote host: its own network namespace, reached over a veth pair
ip netns add "$NS" &&
ip link add "veth-$$" type veth peer name "veth-$$r" &&
ip link set "veth-$$r" netns "$NS" &&
ip addr add "${ADDR%.2}.1/30" dev "veth-$$" &&
ip link set "veth-$$" up &&
ip netns exec "$NS" ip addr add "$ADDR/30" dev "veth-$$r" &&
ip netns exec "$NS" ip link set "veth-$$r" up &&
ip netns exec "$NS" ip link set lo up || { echo "# netns setup failed"; exit 111; }
SSHD_NETNS=$NS SSHD_ADDR=$ADDR SSHD_SFTP_FLAGS=-R
chmod 755 "$T"	# sshd reads the keys as the login user
t "sshd runs in the remote namespace with a read-only sftp-server" \
    sshd_start "$T/ssh"

# what the remote host serves: readable by the backup account
DATA=$T/remote/srv/data
mkdir -p "$DATA" && make_flat "$DATA" 120 && mkdir "$DATA/odd" &&
    printf 'x\n' >"$DATA/odd/new
line" && printf 'y\n' >"$DATA/odd/sp ace" && ln -s ../d1 "$DATA/odd/link"
chmod -R a+rX "$T/remote" && chmod 755 "$T"
export BACKUP_ROOT=$T/backup MNT_ROOT=$T/mnt BK_BIN=$BIN
export MOUNT_OPTS="-F $SSHD_CONFIG -t 5"
TARGET=$SSHD_USER@$SSHD_HOST:$DATA
REPO=$BACKUP_ROOT/$SSHD_HOST/${DATA#/}
MNT=$MNT_ROOT/$SSHD_HOST/${DATA#/}
BK="sh $TOP/examples/backup.sh -A $SSHD_AGENT_SOCK"
no_mount() { ! grep -q " $MNT " /proc/mounts; }
cd "$T" || exit 111

# first run, as cron would: no SSH_AUTH_SOCK, nothing on stdin, 20 days ago
$SUM "$DATA" >sum.1
SNAP_OPTS="--current-time $(($(date +%s) - 20 * 86400))" \
    env -u SSH_AUTH_SOCK $BK "$TARGET" </dev/null >run1.out 2>&1
t_out "first backup.sh run exits 0" 0 echo $?
t_out "  ... saying once that SFTP carries no xattrs or ACLs, nothing else" \
    "1 1" sh -c "echo \$(wc -l <run1.out) \$(grep -c 'no extended attributes: no xattrs, capabilities or ACLs are recorded' run1.out)"
t_out "  ... and records no xattr or ACL file for the session" "" \
    sh -c "ls '$REPO/rdiff-backup-data' | grep -E '^(extended_attr|access_con)'"
t "  ... leaves no mount behind" no_mount
t "  ... the tree is in the repository" test -d "$REPO/odd"

churn 1 "$DATA" && echo "changed later" >>"$DATA/odd/sp ace"
chmod -R a+rX "$DATA"
$SUM "$DATA" >sum.2
env -u SSH_AUTH_SOCK $BK -P 1Y "$TARGET" </dev/null >run2.out 2>&1
t_out "second run (with a prune policy) exits 0, quietly" "0:" \
    sh -c "echo $?:\$(cat run2.out)"
t "  ... leaves no mount behind" no_mount

# what came over SFTP: no hard links, no owners' names to compare
strip() { sed 's/ link=.*//'; }
t_exit 0 "restore -r now" $BIN/restore -r now "$REPO" now
t "  ... is the second run's tree" sh -c "$SUM now | cmp -s - sum.2"
t_exit 0 "restore -r 10D" $BIN/restore -r 10D "$REPO" tendays
t "  ... is the first run's tree" sh -c "$SUM tendays | cmp -s - sum.1"

# overlapping runs: the second leaves at once
( flock 9; sleep 3 ) 9>"$BACKUP_ROOT/.backup.sh.lock" &
holder=$!
sleep 0.5
env -u SSH_AUTH_SOCK $BK "$TARGET" </dev/null >overlap.out 2>&1
t_out "an overlapping run exits 111" 111 echo $?
t "  ... saying why" grep -q "another backup.sh is running" overlap.out
wait $holder

# the remote session dies in the middle of a run
head -c 400M /dev/urandom >"$DATA/big" && churn 2 "$DATA" && chmod -R a+rX "$DATA"
env -u SSH_AUTH_SOCK $BK "$TARGET" </dev/null >run3.out 2>&1 &
bk=$!
# kill the session while snap copies the big file into the repository
i=0
while [ $i -lt 400 ] && ! ls "$REPO"/rdiff-backup.tmp.* >/dev/null 2>&1; do
	sleep 0.05
	i=$((i + 1))
done
for p in $(sshd_session_pids); do kill -9 "$p"; done
wait $bk
rc=$?
t "a run whose sshd session was killed exits non-zero ($rc)" [ "$rc" != 0 ]
t "  ... says so on stderr" grep -q "backup.sh: .*$SSHD_HOST" run3.out
t "  ... in a few lines, not one per file ($(wc -l <run3.out))" \
    [ "$(wc -l <run3.out)" -le 10 ]
sed 's/^/# stderr: /' run3.out
t "  ... and leaves no mount behind" no_mount
t_exit 111 "  ... restore waits for the interrupted session's rollback" \
    $BIN/restore -r 10D "$REPO" after.1
$SUM "$DATA" >sum.4
env -u SSH_AUTH_SOCK $BK "$TARGET" </dev/null >run4.out 2>&1
t_out "the next run succeeds" 0 echo $?
t "  ... and restores the current tree" sh -c \
    "$BIN/restore $REPO final && $SUM final | cmp -s - sum.4"
t "  ... and still the one of 10 days ago" sh -c \
    "$BIN/restore -r 10D $REPO after.1 && $SUM after.1 | cmp -s - sum.1"
t_exit 0 "  ... every file of every session verifies" sh -c \
    "for s in \$($BIN/restore -l $REPO | cut -d' ' -f1); do
	$BIN/restore -c -r \$s $REPO || exit 1
     done"

# a fleet: -j 3 backs up three targets at once, a fourth fails; one
# summary line each, the worst status.  A snap wrapper logs when each
# run starts and ends, and dawdles, so the order shows the overlap.
mkdir -p fleetbin && ln -s "$BIN/mount-remote" "$BIN/prune" fleetbin/ &&
printf '#!/bin/sh\necho start >>"%s"\n"%s" "$@"\nrc=$?\nsleep 1\necho end >>"%s"\nexit $rc\n' \
    "$T/fleet.log" "$BIN/snap" "$T/fleet.log" >fleetbin/snap &&
chmod 755 fleetbin/snap
for i in 1 2 3; do
	mkdir -p "$T/remote/srv/f$i" && make_flat "$T/remote/srv/f$i" 20
done
chmod -R a+rX "$T/remote"
F=$SSHD_USER@$SSHD_HOST:$T/remote/srv
env -u SSH_AUTH_SOCK BK_BIN="$T/fleetbin" $BK -j 3 -v "$F/f1" "$F/f2" \
    "$F/nothere" "$F/f3" </dev/null >fleet.out 2>fleet.err
t_out "backup.sh -j 3 with a target that is not there exits 100, the worst" \
    100 echo $?
t_out "  ... the three others ran at once" "start start start " sh -c \
    "head -n 3 fleet.log | tr '\n' ' '"
t_out "  ... one summary line per target, on stdout" \
    "$F/f1: ok
$F/f2: ok
$F/f3: ok
$F/nothere: failed" sh -c "sed 's/, [0-9]* s\$//; s/ (exit .*//' fleet.out | sort"
t "  ... the failure on stderr" grep -q "backup.sh: $F/nothere: backup" fleet.err
t "  ... and the three backups restore" sh -c \
    "for i in 1 2 3; do rm -rf fr; $BIN/restore '$BACKUP_ROOT/$SSHD_HOST$T/remote/srv/f'\$i fr &&
	diff -r fr '$T/remote/srv/f'\$i || exit 1; done"
t "  ... leaving no mount" sh -c "! grep -q ' $MNT_ROOT' /proc/mounts"

# make demo: the same routine through a local sftp-server, in seconds
t_exit 0 "make demo's script runs the remote routine" sh -c \
    "cd '$TOP' && BIN='$BIN' TMPDIR='$T' sh tests/demo.sh >'$T/demo.out' 2>&1"
t "... through backup.sh and a mount, twice, leaving none" sh -c \
    "grep -q 'served over SFTP' '$T/demo.out' &&
     [ \$(grep -c '^\\$ sh .*backup.sh demo@demohost:' '$T/demo.out') = 2 ] &&
     grep -q 'mounts left under .*: 0' '$T/demo.out' &&
     tail -n 1 '$T/demo.out' | grep -qx 'demo: done'"
t "... and restores yesterday's tree" grep -q '^< first draft' "$T/demo.out"
t_done
