# Unprivileged use, as the seed sets it up (a backup user in the fuse
# group): a test user mounts through fusermount3, snaps the mount into
# its own repository, restores, and mounts the history.  /dev/fuse is
# made group-accessible for the test and put back as it was afterwards;
# before that, each way a user cannot mount gets the message a sysadmin
# needs, exit 100.
. tests/harness.sh
export LC_ALL=C
SFTP=/usr/lib/openssh/sftp-server

if [ "$(id -u)" != 0 ] || [ ! -c /dev/fuse ]; then
	skip "unprivileged mounts" "needs root (to make a user) and /dev/fuse"
	t_done
fi
sh mk/need.sh fusermount3:fuse3 "$SFTP:openssh-sftp-server" \
    useradd:passwd su:util-linux || exit 111

U=bkunpriv$$ G=bkfuse$$
FMODE=$(stat -c %a /dev/fuse) FOWN=$(stat -c %u:%g /dev/fuse)
cleanup() {
	for m in $(grep " $T/" /proc/mounts | cut -d' ' -f2); do
		umount -l "$m" 2>/dev/null
	done
	chown "$FOWN" /dev/fuse && chmod "$FMODE" /dev/fuse
	userdel "$U" 2>/dev/null
	groupdel "$G" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 111' INT TERM
useradd -M -d "$T/home" -s /bin/sh "$U" && groupadd "$G" || exit 111
mkdir -p "$T/home" "$T/host/etc" "$T/bin" && chown "$U" "$T/home" &&
    chmod 755 "$T" || exit 111
# the tools where the user can run them
cp "$BIN/mount-remote" "$BIN/snap" "$BIN/restore" "$T/bin/" && chmod 755 "$T/bin"/*
printf 'host=h\n' >"$T/host/etc/conf" && seq 1 500 >"$T/host/numbers"
chmod -R a+rX "$T/host"
as_user() { su "$U" -s /bin/sh -c "cd $T/home && $*"; }
MR="$T/bin/mount-remote -S $SFTP x:$T/host $T/home/mnt"

# /dev/fuse for root only: a user is told so, in one line, exit 100
chown root:root /dev/fuse && chmod 600 /dev/fuse
as_user mkdir -p mnt
t_exit 100 "/dev/fuse 0600: mount-remote as a user exits 100" sh -c \
    "su $U -s /bin/sh -c 'cd $T/home && $MR -- true' 2>$T/err.1"
t "... saying /dev/fuse is 0600 and what to do, in one line" sh -c \
    "grep -q '/dev/fuse is 0600 root:root, so only root can mount: make it 0666' $T/err.1 &&
     [ \$(wc -l <$T/err.1) = 1 ]"
t_exit 100 "... and restore -m too" sh -c \
    "su $U -s /bin/sh -c 'cd $T/home && $T/bin/restore -m repo mnt' 2>$T/err.1b"
# group-accessible, but the user is not in the group
chgrp "$G" /dev/fuse && chmod 660 /dev/fuse
t_exit 100 "/dev/fuse 0660 of a group the user is not in: exit 100" sh -c \
    "su $U -s /bin/sh -c 'cd $T/home && $MR -- true' 2>$T/err.2"
t "... saying: add yourself to group $G" \
    grep -q "you are not in group $G: add yourself to it (usermod -aG $G USER" $T/err.2
t "... nothing stays mounted" sh -c "! grep -q ' $T/home/mnt ' /proc/mounts"

# in the group, as the seed sets it up: the whole routine as the user
usermod -aG "$G" "$U" || exit 111
t_exit 0 "in the group: mount-remote, snap, unmount, as the user" as_user \
    "$MR -- $T/bin/snap $T/home/mnt $T/home/repo"
t "... nothing stays mounted" sh -c "! grep -q ' $T/home/mnt ' /proc/mounts"
t "... the repository is the user's" sh -c \
    "[ \$(stat -c %U $T/home/repo/rdiff-backup-data) = $U ]"
echo more >>"$T/host/numbers"
t_exit 0 "a second run, in the background mode with -u to unmount" as_user \
    "$MR && $T/bin/snap $T/home/mnt $T/home/repo; rc=\$?; $T/bin/mount-remote -u $T/home/mnt; exit \$rc"
t "... unmounted" sh -c "! grep -q ' $T/home/mnt ' /proc/mounts"
t_exit 0 "restore as the user" as_user "$T/bin/restore $T/home/repo $T/home/out"
t "... the host's tree" diff -r "$T/host" "$T/home/out"
t_exit 0 "restore -r 1B as the user" as_user "$T/bin/restore -r 1B $T/home/repo $T/home/old"
t "... the first run's numbers" sh -c "[ \$(wc -l <$T/home/old/numbers) = 500 ]"
as_user mkdir -p hist
t_exit 0 "restore -m of the history as the user, around a command" as_user \
    "$T/bin/restore -m $T/home/repo $T/home/hist -- ls $T/home/hist/current/etc"
t "... unmounted after it" sh -c "! grep -q ' $T/home/hist ' /proc/mounts"
t_done
