# mount-remote end to end: a real sshd and ssh-agent on 127.0.0.1, real
# FUSE mounts.  Content and attributes against the source tree, EROFS for
# every write, `--` mode cleanup, fault handling (stalled and killed
# sessions, killed daemon), the agent options and ssh's error messages.
. tests/harness.sh
. tests/lib/mounts.sh
. tests/lib/sshd.sh

MR=$BIN/mount-remote

if [ "$(id -u)" != 0 ] || [ ! -c /dev/fuse ]; then
	skip "mount-remote end to end" "needs root and /dev/fuse"
	t_done
fi
sh mk/need.sh /usr/sbin/sshd:openssh-server ssh:openssh-client \
    ssh-agent:openssh-client /usr/lib/openssh/sftp-server:openssh-sftp-server \
    fusermount3:fuse3 pgrep:procps timeout:coreutils || exit 111

M=$T/mnt
PIDS=
chmod 755 "$T"
mkdir -p "$M"

cleanup() {
	for p in $PIDS; do
		kill -CONT "$p" 2>/dev/null
		kill -9 "$p" 2>/dev/null
	done
	for s in $(sshd_session_pids); do
		kill -CONT "$s" 2>/dev/null
	done
	umount_all
	for a in $(pgrep -f "ssh-agent -a $T/" 2>/dev/null); do
		kill "$a" 2>/dev/null
	done
	sshd_stop
}
trap 'cleanup' EXIT
trap 'exit 111' INT TERM HUP

if ! sshd_start "$T/ssh" >"$T/sshd.out" 2>&1; then
	cat "$T/sshd.out" >>"$T_LOG"
	t_notok "loopback sshd and agent start"
	t_done
fi
t_ok "loopback sshd and agent start (port $SSHD_PORT)"
U=$SSHD_USER
REMOTE=$SSHD_HOST
SSHF="-F $SSHD_CONFIG"

# --- the source tree: every file type, odd names, sizes around chunks
S=$T/data/src
mkdir -p "$S/dir/sub/deep" "$S/many" "$S/empty dir"
printf 'hello\n' >"$S/small"
: >"$S/empty"
head -c 300000 /dev/urandom >"$S/medium"
head -c 5000000 /dev/urandom >"$S/big"
head -c 9000000 /dev/urandom >"$S/big2"
head -c 4096 /dev/urandom >"$S/dir/page"
printf 'x' >"$S/dir/sub/deep/one"
printf 'sp' >"$S/with space"
printf 'nl' >"$S/new
line"
printf 'dash' >"$S/-dash"
printf 'bs' >"$S/back\\slash"
printf 'utf' >"$S/ümlaut-日本"
printf 'star' >"$S/*star?"
long=$(printf '%0255d' 0 | tr 0 L)
printf 'long' >"$S/$long"
ln -s small "$S/link"
ln -s /etc/passwd "$S/abslink"
ln -s does-not-exist "$S/dangling"
ln -s dir "$S/dirlink"
ln "$S/small" "$S/hardlink"
mkfifo "$S/fifo"
mknod "$S/chardev" c 1 3
i=0
while [ $i -lt 250 ]; do
	printf '%d' $i >"$S/many/f$i"
	i=$((i + 1))
done
chmod 600 "$S/medium"
chmod 751 "$S/dir"
chmod 4755 "$S/dir/page"
touch -h -d '2001-02-03 04:05:06' "$S/link" "$S/small"
chown -R "$U" "$T/data"
# Sub-second parts of times do not survive SFTP v3; start with none.
find "$S" -exec touch -h -d @1700000000 {} +

# manifest DIR: everything but inode, link count and sub-second times.
manifest() {
	(cd "$1" && find . -printf '%P|%y|%m|%s|%U|%G|%l|%T@\0' |
	    sort -z | tr '\0' '\n' | sed 's/\.[0-9]*$//')
}

# contents SRC MNT: every regular file of SRC has the same bytes in MNT.
contents() {
	(cd "$1" && find . -type f -exec sh -c '
		m=$1; shift
		for f; do cmp "$f" "$m/$f" || exit 1; done' sh "$2" {} +)
}

# gone DIR: no mount on DIR within 10 seconds.
gone() {
	i=0
	while in_mounts "$1"; do
		[ $i -ge 100 ] && return 1
		sleep 0.1
		i=$((i + 1))
	done
}

# erofs CMD...: fails with "Read-only file system".
erofs() {
	if "$@" 2>"$T/erofs.err"; then
		echo "succeeded"
		return 1
	fi
	cat "$T/erofs.err"
	grep -q 'Read-only file system' "$T/erofs.err"
}

t_exit 0 "mount in the background" timeout 30 "$MR" $SSHF "$REMOTE:$S" "$M"
t "it is a mount-remote mount, ro,nosuid,nodev" sh -c \
    "grep ' $M fuse.mount-remote ro,nosuid,nodev' /proc/mounts"
manifest "$S" >"$T/want"
manifest "$M" >"$T/got"
t "every name, type, mode, size, owner, link target and mtime match" \
    diff "$T/want" "$T/got"
t "every regular file's content matches" contents "$S" "$M"
t_out "250-entry directory lists completely" 250 sh -c "ls '$M/many' | wc -l"
t_out "link count is 1 everywhere" 1 sh -c \
    "find '$M' -printf '%n\n' | sort -u"
t_out "symlink target is returned as is" /etc/passwd readlink "$M/abslink"
t_out "dangling symlink stays dangling" does-not-exist readlink "$M/dangling"
t "hard links are separate files (no link count over SFTP v3)" sh -c \
    "[ \$(stat -c %i '$M/small') != \$(stat -c %i '$M/hardlink') ]"
t_exit 1 "a missing name is ENOENT" stat "$M/no-such-file"
t "reading a directory is EISDIR" sh -c \
    "cat '$M/dir' 2>&1 | grep -q 'Is a directory'"
t "a 4 KiB read at an offset in a big file" sh -c \
    "dd if='$M/big2' bs=4096 skip=1000 count=1 2>/dev/null | cmp - \
    '$S/big2' -i 0:4096000 -n 4096"
t "df works (statvfs@openssh.com)" df "$M"
# A file read to the end is opened again without asking the server (its
# pages are cached); the server is asked when a read misses them.
t "a file read again is the same" sh -c \
    "cat '$M/medium' >/dev/null && cmp '$M/medium' '$S/medium'"
t "  ... and after the kernel dropped its pages" sh -c \
    "sync && echo 3 >/proc/sys/vm/drop_caches && cmp '$M/medium' '$S/medium'"
mkdir -p "$T/lz" "$T/m3" && cp "$S/medium" "$T/lz/f" && chmod -R a+rX "$T/lz"
cat >"$T/lazy.sh" <<'EOS'
cat "$1/f" >/dev/null && rm "$2/f" && sync && echo 3 >/proc/sys/vm/drop_caches &&
    ! cat "$1/f" >/dev/null 2>&1
EOS
t "  ... but not once the server's file is gone (an error, not old data)" \
    timeout 60 "$MR" $SSHF "$REMOTE:$T/lz" "$T/m3" -- sh "$T/lazy.sh" "$T/m3" "$T/lz"
# Random reads (odd sizes and offsets) and parallel readers on a second,
# fresh mount, so nothing comes from the page cache.
cat >"$T/reads.sh" <<'EOS'
m=$1 s=$2
for o in 8999999 0 4500000 123 7777777 262143 262144 1048575 3 8000000; do
	for n in 1 4097 300000; do
		a=$(dd if="$m/big2" bs=4097 iflag=skip_bytes,count_bytes \
		    skip=$o count=$n 2>/dev/null | md5sum)
		b=$(dd if="$s/big2" bs=4097 iflag=skip_bytes,count_bytes \
		    skip=$o count=$n 2>/dev/null | md5sum)
		[ "$a" = "$b" ] || { echo "differs at $o+$n"; exit 1; }
	done
done
cat "$m/big" >"$m.p1" & cat "$m/big2" >"$m.p2" &
cat "$m/medium" >"$m.p3" & cat "$m/many/f7" >"$m.p4" & wait
cmp "$m.p1" "$s/big" && cmp "$m.p2" "$s/big2" && cmp "$m.p3" "$s/medium" &&
    cmp "$m.p4" "$s/many/f7"
EOS
mkdir -p "$T/m2"
t "random reads and parallel readers match the source" timeout 120 \
    "$MR" $SSHF "$REMOTE:$S" "$T/m2" -- sh "$T/reads.sh" "$T/m2" "$S"

ino1=$(stat -c %i "$M/dir/sub/deep/one")
t "write gets EROFS" erofs sh -c "echo x >'$M/small'"
t "append gets EROFS" erofs sh -c "echo x >>'$M/small'"
t "create gets EROFS" erofs touch "$M/newfile"
t "unlink gets EROFS" erofs rm -f "$M/small"
t "chmod gets EROFS" erofs chmod 777 "$M/small"
t "rename gets EROFS" erofs mv "$M/small" "$M/small2"
t "truncate gets EROFS" erofs truncate -s 0 "$M/small"
t "mkdir gets EROFS" erofs mkdir "$M/newdir"
t "rmdir gets EROFS" erofs rmdir "$M/empty dir"
t "symlink gets EROFS" erofs ln -s x "$M/newlink"
t "utimes gets EROFS" erofs touch -d @1 "$M/small"
t "the source is untouched" sh -c \
    "[ \"\$(cat '$S/small')\" = hello ] && [ ! -e '$S/newfile' ] && \
    [ -d '$S/empty dir' ]"
daemon=$(pgrep -f "^$MR .*$M\$")
t_exit 0 "-u unmounts" "$MR" -u "$M"
t "the mount is gone" gone "$M"
t "the background process ends" sh -c \
    "i=0; while kill -0 $daemon 2>/dev/null; do [ \$i -ge 50 ] && exit 1; \
    sleep 0.1; i=\$((i + 1)); done"
t_exit 100 "-u on a directory that is not a mount-remote mount" \
    "$MR" -u "$M"

t_exit 0 "inode numbers are stable across remounts" timeout 30 \
    "$MR" $SSHF "$REMOTE:$S" "$M" -- sh -c \
    "[ \$(stat -c %i '$M/dir/sub/deep/one') = $ino1 ]"
t_exit 0 "-- command: success" timeout 30 "$MR" $SSHF "$REMOTE:$S" "$M" -- \
    cmp "$M/big" "$S/big"
t "-- command: no mount left" sh -c "! grep -q ' $M ' /proc/mounts"
t_exit 7 "-- command: its exit status is returned" timeout 30 \
    "$MR" $SSHF "$REMOTE:$S" "$M" -- sh -c 'exit 7'
t "-- failed command: no mount left" sh -c "! grep -q ' $M ' /proc/mounts"
t_exit 137 "-- command killed by SIGKILL: 128+9" timeout 30 \
    "$MR" $SSHF "$REMOTE:$S" "$M" -- sh -c 'kill -9 $$'
t "-- killed command: no mount left" sh -c "! grep -q ' $M ' /proc/mounts"
t_exit 127 "-- command not found: 127" timeout 30 \
    "$MR" $SSHF "$REMOTE:$S" "$M" -- /no/such/command
t "-- missing command: no mount left" sh -c "! grep -q ' $M ' /proc/mounts"
t_exit 143 "-- SIGTERM to mount-remote reaches the command" timeout 30 \
    sh -c "'$MR' $SSHF '$REMOTE:$S' '$M' -- sleep 20 & p=\$!; sleep 2; \
    kill \$p; wait \$p"
t "-- terminated command: no mount left" sh -c \
    "! grep -q ' $M ' /proc/mounts"
s0=$(date +%s)
t_exit 3 "-- command leaving a process inside the mount" timeout 30 \
    "$MR" $SSHF "$REMOTE:$S" "$M" -- sh -c \
    "cd '$M' && (sleep 6 </dev/null >/dev/null 2>&1 &); exit 3"
took=$(( $(date +%s) - s0 ))
t "-- busy mount: detached anyway, no mount left" sh -c \
    "! grep -q ' $M ' /proc/mounts"
t "-- busy mount: mount-remote did not wait for the user (${took}s)" \
    [ "$took" -le 5 ]

# --- relative remote paths start at the login directory
home=$(getent passwd "$U" | cut -d: -f6)
printf 'h' >"$home/mr-home-marker" && chown "$U" "$home/mr-home-marker"
t_exit 0 "host: mounts the login directory" timeout 30 \
    "$MR" $SSHF "$REMOTE:" "$M" -- test -f "$M/mr-home-marker"
rm -f "$home/mr-home-marker"

# --- errors
t_exit 100 "operand without a colon" "$MR" "$REMOTE" "$M"
t_exit 100 "host starting with -" "$MR" "-oProxyCommand=x:/" "$M"
t_exit 100 "missing remote directory" timeout 30 "$MR" $SSHF \
    "$REMOTE:$S/nope" "$M"
t_exit 100 "remote path that is a file" timeout 30 "$MR" $SSHF \
    "$REMOTE:$S/small" "$M"
timeout 30 "$MR" $SSHF -o UserKnownHostsFile=/dev/null "$REMOTE:$S" "$M" \
    2>"$T/hostkey.err"
t_out "unknown host key: exit 111" 111 echo $?
t "unknown host key: ssh's own message reaches stderr" \
    grep -q 'Host key verification failed' "$T/hostkey.err"
timeout 30 "$MR" $SSHF -o IdentityAgent=none "$REMOTE:$S" "$M" \
    2>"$T/noagent.err"
t_out "no key in the agent: exit 111" 111 echo $?
t "no key in the agent: ssh's 'Permission denied' reaches stderr" \
    grep -q 'Permission denied' "$T/noagent.err"
t "failed mounts leave no mount" sh -c "! grep -q ' $M ' /proc/mounts"

# --- servers that misbehave (-S runs them instead of ssh)
t_exit 111 "a zero-length packet is refused" timeout 20 \
    "$MR" -S 'head -c 4 /dev/zero; sleep 20' "x:$S" "$M"
t_exit 111 "a 4 GiB packet length is refused" timeout 20 \
    "$MR" -S "printf '\\377\\377\\377\\377\\002'; sleep 20" "x:$S" "$M"
t_exit 111 "a server that says SFTP version 6 is refused" timeout 20 \
    "$MR" -S "printf '\\0\\0\\0\\005\\002\\0\\0\\0\\006'; sleep 20" \
    "x:$S" "$M"
s0=$(date +%s)
timeout 20 "$MR" -t 2 -S 'exec sleep 20' "x:$S" "$M" 2>"$T/silent.err"
rc=$?
took=$(( $(date +%s) - s0 ))
t_out "a silent server: exit 111" 111 echo $rc
t "a silent server: given up after the 2 s timeout (took ${took}s)" \
    [ "$took" -le 5 ]
t "a silent server: says so" grep -q 'no reply from the server' \
    "$T/silent.err"
t "misbehaving servers leave no mount" sh -c "! grep -q ' $M ' /proc/mounts"
t_exit 0 "-S runs sftp-server directly" timeout 20 \
    "$MR" -S /usr/lib/openssh/sftp-server "x:$S" "$M" -- cmp "$M/big" "$S/big"

# --- agent options: -A socket, -K starts an agent and loads the key
A2=$T/ssh/agent2.sock
t_exit 0 "-A/-K start an agent, load the key, mount" timeout 30 \
    "$MR" $SSHF -A "$A2" -K "$SSHD_KEY" "$REMOTE:$S" "$M" -- \
    test -f "$M/small" </dev/null
t "the agent stays alive with the key loaded" sh -c \
    "SSH_AUTH_SOCK='$A2' ssh-add -l | grep -q bk-user"
t_exit 0 "-A alone reuses the live agent" timeout 30 \
    "$MR" $SSHF -A "$A2" "$REMOTE:$S" "$M" -- test -f "$M/small" </dev/null
ssh-keygen -q -t ed25519 -N secret-pass -C pw-key -f "$T/ssh/pwkey"
cat "$T/ssh/pwkey.pub" >>"$T/ssh/sshd/authorized_keys"
timeout 30 "$MR" $SSHF -A "$T/ssh/agent3.sock" -K "$T/ssh/pwkey" \
    "$REMOTE:$S" "$M" -- true </dev/null 2>"$T/pw.err"
t_out "-K with a passphrase and no terminal: exit 111" 111 echo $?
t "-K without a terminal says why" grep -q 'no terminal' "$T/pw.err"
t "-K without a terminal: no mount" sh -c "! grep -q ' $M ' /proc/mounts"
for a in $(pgrep -f "ssh-agent -a $T/ssh/agent[23]"); do kill "$a"; done

# --- a ProxyCommand (a jump host, a relay): quiet when the mount ends.
# ssh used to get SIGTERM with its process group, proxy included, and
# then complain on stderr that it could not say goodbye through it.
cat >"$T/proxy.py" <<'EOF'
import os, socket, sys, threading
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
def up():
    while True:
        b = os.read(0, 65536)
        if not b:
            s.shutdown(socket.SHUT_WR)
            return
        s.sendall(b)
threading.Thread(target=up, daemon=True).start()
while True:
    b = s.recv(65536)
    if not b:
        break
    os.write(1, b)
EOF
: >"$T/proxy.err"
i=0
while [ $i -lt 5 ]; do
	timeout 30 "$MR" $SSHF -o "ProxyCommand=/usr/bin/python3 $T/proxy.py %p" \
	    "$REMOTE:$S" "$M" -- sh -c "find '$M' -type f -exec cat {} + >/dev/null" \
	    </dev/null 2>>"$T/proxy.err" || echo "exit $?" >>"$T/proxy.err"
	i=$((i + 1))
done
t_out "through a ProxyCommand: 5 mounts, nothing on stderr" "" cat "$T/proxy.err"

# --- faults.  waitgone PID SECONDS: the process ended within the time.
waitgone() {
	i=0
	while kill -0 "$1" 2>/dev/null; do
		[ $i -ge $(($2 * 10)) ] && return 1
		sleep 0.1
		i=$((i + 1))
	done
}

# mount_fg [options]: mount in the foreground in the background; sets MRPID.
mount_fg() {
	"$MR" -f $SSHF "$@" "$REMOTE:$S" "$M" 2>"$T/fg.err" &
	MRPID=$!
	PIDS="$PIDS $MRPID"
	i=0
	until in_mounts "$M" && [ -n "$(sshd_session_pids)" ]; do
		[ $i -ge 100 ] && return 1
		sleep 0.1
		i=$((i + 1))
	done
	# The first access waits for FUSE_INIT.
	ls "$M" >/dev/null
}

# elapsed CMD...: run, print seconds taken and CMD's stderr; status = CMD's.
elapsed() {
	s=$(date +%s)
	"$@" 2>"$T/el.err"
	rc=$?
	echo "took $(( $(date +%s) - s ))s: $(cat "$T/el.err")"
	return $rc
}

# 1. stalled server: reads fail with EIO within the timeout, mount gone.
t "mount for the stall test (-t 3)" mount_fg -t 3
sess=$(sshd_session_pids)
kill -STOP $sess
PIDS="$PIDS $sess"
t "stalled session: a read fails within 3+3 s" sh -c \
    "out=\$(timeout 20 sh -c 's=\$(date +%s); cat \"$M/big2\" >/dev/null 2>\"$T/st.err\"; \
    echo \$? \$((\$(date +%s) - s))'); echo \"\$out\"; cat '$T/st.err'; \
    set -- \$out; [ \$1 -ne 0 ] && [ \$2 -le 6 ]"
t "stalled session: the error is EIO" grep -q 'Input/output error' "$T/st.err"
t "stalled session: mount-remote exits" waitgone "$MRPID" 10
wait "$MRPID"
t_out "stalled session: exit status 111" 111 echo $?
t "stalled session: the mount is gone" gone "$M"
t "stalled session: the reason is reported" grep -q 'no reply' "$T/fg.err"
kill -CONT $sess 2>/dev/null
kill $sess 2>/dev/null

# 2. killed session, with a read pending: EIO at once, not after the timeout.
t "mount for the kill test (-t 20)" mount_fg -t 20
sess=$(sshd_session_pids)
kill -STOP $sess
PIDS="$PIDS $sess"
s0=$(date +%s)
timeout 30 cat "$M/big" >/dev/null 2>"$T/kill.err" &
catpid=$!
sleep 1
kill -9 $sess
wait $catpid
catrc=$?
took=$(( $(date +%s) - s0 ))
t_out "killed session: the pending read fails" 1 echo $catrc
t "killed session: with EIO" grep -q 'Input/output error' "$T/kill.err"
t "killed session: long before the 20 s timeout (took ${took}s)" \
    [ "$took" -le 8 ]
t "killed session: mount-remote exits" waitgone "$MRPID" 10
wait "$MRPID"
t_out "killed session: exit status 111" 111 echo $?
t "killed session: the mount is gone" gone "$M"

# 3. killed mount-remote: the stale mount is cleared by -u.
t "mount for the daemon kill test" mount_fg
kill -9 "$MRPID"
wait "$MRPID" 2>/dev/null
t "killed daemon: the mount is stale" sh -c \
    "ls '$M' 2>&1 | grep -q 'not connected'"
t_exit 0 "killed daemon: -u clears it" "$MR" -u "$M"
t "killed daemon: the mount is gone" gone "$M"
t "killed daemon: the mount point is usable again" ls "$M"

# 4. -- mode with the session killed during the command: EIO, non-zero.
cat >"$T/killsess.sh" <<EOS
. "$(pwd)/tests/lib/sshd.sh"
SSHD_PID=$SSHD_PID
kill -9 \$(sshd_session_pids)
sleep 1
cat "$M/big" >/dev/null
EOS
timeout 30 "$MR" $SSHF "$REMOTE:$S" "$M" -- sh "$T/killsess.sh" 2>"$T/cmd.err"
rc=$?
t "-- with the connection lost: non-zero exit ($rc)" [ "$rc" -ne 0 ]
t "-- with the connection lost: the command saw EIO" \
    grep -q 'Input/output error' "$T/cmd.err"
t "-- with the connection lost: no mount left" sh -c \
    "! grep -q ' $M ' /proc/mounts"

# 5. a time before 1970 arrives wrapped (SFTP v3: 32 unsigned bits); snap
#    keeps the time recorded before for a file that did not change.
W=$T/data/wrap
mkdir -p "$W" && printf 'old' >"$W/old" && printf 'x' >"$W/plain"
touch -d @-86400 "$W/old" && touch -d @1600000000 "$W/plain"
chown -R "$U" "$W"
"$BIN/snap" --current-time 1700000000 "$W" "$T/wrepo"
timeout 60 "$MR" $SSHF "$REMOTE:$W" "$M" -- sh -c "stat -c %Y '$M/old' \
    >'$T/w.stat'; '$BIN/snap' --current-time 1700086400 '$M' '$T/wrepo'" \
    2>"$T/w.err"
t_out "a time before 1970 is shown wrapped, after 2038" \
    $((4294967296 - 86400)) cat "$T/w.stat"
t_out "  ... snap through the mount exits 0" 0 echo $?
t_out "  ... saying so in one line" 1 sh -c \
    "grep -c 'times after 2038, which is how SFTP shows times before 1970' '$T/w.err'"
rm -rf "$T/wout"
"$BIN/restore" "$T/wrepo" "$T/wout"
t_out "  ... and keeping the time recorded before" "-86400 1600000000" \
    sh -c "echo \$(stat -c %Y '$T/wout/old' '$T/wout/plain')"

t_done
