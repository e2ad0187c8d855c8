# snap [user@]host:path REPO: the agent (snap --server) on the far side
# of a real sshd on 127.0.0.1.  The repository it makes restores to what
# a local snap of the same tree restores to (content, types, modes,
# owners, times, link targets, extended attributes, ACLs), changed files
# come as deltas, unchanged ones not at all, the server opens nothing
# for writing and keeps to --root, and failures leave the repository as
# it was with the documented exit codes.
. tests/harness.sh
. tests/lib/sshd.sh

PY=/usr/bin/python3
if [ "$(id -u)" != 0 ]; then
	skip "snap's agent over ssh" "needs root (a login user for sshd)"
	t_done
fi
sh mk/need.sh /usr/sbin/sshd:openssh-server ssh:openssh-client \
    ssh-agent:openssh-client $PY:python3-minimal strace:strace \
    setfacl:acl rdiff-backup:rdiff-backup || exit 111

cleanup() {
	sshd_stop
}
trap 'cleanup' EXIT
trap 'exit 111' INT TERM HUP

chmod 755 "$T"
if ! sshd_start "$T/ssh" >"$T/sshd.out" 2>&1; then
	cat "$T/sshd.out" >>"$T_LOG"
	t_notok "loopback sshd starts"
	t_done
fi
t_ok "loopback sshd starts (port $SSHD_PORT)"

# The source belongs to the login user, who runs the agent.
S=$T/src
mkdir -p "$S/d/e" "$S/empty"
printf 'hello\n' >"$S/d/small"
head -c 300000 /dev/urandom >"$S/d/big"
seq 1 20000 >"$S/log"
# files a delta takes apart in different ways (see the second session)
mkdir -p "$S/dl"
for f in shrink grow swap repeat zeros drop other; do
	head -c 240000 /dev/urandom >"$S/dl/$f"
done
head -c 2000 /dev/urandom >"$S/dl/tiny"
head -c 20000000 /dev/urandom >"$S/dl/large"	# signed in halves, diffed in segments
head -c 3000000 /dev/zero >"$S/dl/image"	# every block the same
ln -s small "$S/d/lnk"
ln -s /nowhere "$S/dangling"
ln "$S/d/small" "$S/d/hard"
mkfifo "$S/fifo"
printf 'x' >"$S/d/e/mode"
chmod 640 "$S/d/e/mode"
$PY -c 'import os, sys; os.setxattr(sys.argv[1], "user.note", b"kept")' "$S/d/small"
setfacl -m u:1:r "$S/d/big"
chown -R "$SSHD_USER" "$S"
touch -d '2020-01-02 03:04:05' "$S/d/small" "$S/log"
chmod 755 "$S"

SCHEMA="ssh -F $SSHD_CONFIG {h} $BIN/snap --server"
TR=$T/trace	# strace logs of the agent, which runs as the login user
mkdir -p "$TR" && chown "$SSHD_USER" "$TR"
A=$T/agent L=$T/local

# manifest DIR: one line per entry: path, type, mode, owner, size, mtime
# (not of directories or links), target, xattrs.
manifest() {
	$PY - "$1" <<'EOF'
import os, sys
top = sys.argv[1]
for dp, dn, fn in sorted(os.walk(top)):
    dn.sort()
    for n in sorted(dn + fn) + ([] if dp != top else [""]):
        p = os.path.join(dp, n) if n else dp
        st = os.lstat(p)
        rel = os.path.relpath(p, top)
        t = "%o" % st.st_mode
        # no directory's time (set last) and no link's (not kept)
        mt = "" if os.path.isdir(p) or os.path.islink(p) else int(st.st_mtime)
        tgt = os.readlink(p) if os.path.islink(p) else ""
        xa = []
        if not os.path.islink(p):
            for a in sorted(os.listxattr(p)):
                xa.append("%s=%s" % (a, os.getxattr(p, a).hex()))
        size = st.st_size if not os.path.isdir(p) else 0
        print(rel, t, st.st_uid, st.st_gid, size, mt, tgt, " ".join(xa))
EOF
}

# same RESTORED_A RESTORED_B: equal manifests and contents.
same() {
	manifest "$1" >"$T/m1" && manifest "$2" >"$T/m2" &&
	    diff "$T/m1" "$T/m2" && diff -r --no-dereference -x fifo "$1" "$2"
}

restored() {
	rm -rf "$T/r-$1" && "$BIN/restore" ${2:+-r "$2"} "$T/$1" "$T/r-$1"
}

# --- a first session, and the same tree backed up locally
t_exit 0 "snap through the agent" "$BIN/snap" --remote-schema "$SCHEMA" \
    "$SSHD_HOST:$S" "$A"
t_exit 0 "snap of the same tree, locally" "$BIN/snap" "$S" "$L"
restored agent && restored local
t "the agent's repository restores like the local one" same "$T/r-agent" "$T/r-local"
t "... and like the source" same "$S" "$T/r-agent"
t "rdiff-backup verifies the agent's repository" \
    rdiff-backup --terminal-verbosity 1 verify "$A"

# --- changes: deltas for the big file and the log, whole for the rest
cp -a "$S" "$T/before"
ino_image=$(stat -c %i "$A/dl/image") ino_large=$(stat -c %i "$A/dl/large")
printf 'CHANGED' | dd of="$S/d/big" bs=1 seek=150000 conv=notrunc status=none
seq 20001 20100 >>"$S/log"
cut3() {	# cut3 FILE: FILE's thirds as $1.a, $1.b, $1.c
	head -c 80000 "$1" >"$1.a"
	tail -c +80001 "$1" | head -c 80000 >"$1.b"
	tail -c +160001 "$1" >"$1.c"
}
for f in swap repeat drop; do cut3 "$S/dl/$f"; done
cat "$S/dl/swap.c" "$S/dl/swap.b" "$S/dl/swap.a" >"$S/dl/swap"
cat "$S/dl/repeat.b" "$S/dl/repeat.a" "$S/dl/repeat.b" "$S/dl/repeat.b" \
    >"$S/dl/repeat"
cat "$S/dl/drop.a" "$S/dl/drop.c" >"$S/dl/drop"
rm "$S"/dl/*.[abc]
truncate -s 100000 "$S/dl/shrink"
{ head -c 5000 /dev/urandom; cat "$S/dl/grow"; head -c 3 /dev/urandom; } \
    >"$S/dl/grow.new" && mv "$S/dl/grow.new" "$S/dl/grow"
head -c 240000 /dev/zero >"$S/dl/zeros"
head -c 240000 /dev/urandom >"$S/dl/other"
head -c 500000 /dev/urandom >>"$S/dl/tiny"
head -c 5000 /dev/urandom >>"$S/dl/image"
# the large file: changed in both halves, a piece moved across the middle
printf 'first half' | dd of="$S/dl/large" bs=1 seek=1000 conv=notrunc status=none
dd if="$S/dl/large" of="$S/dl/large" bs=100000 skip=20 seek=150 count=10 \
    conv=notrunc status=none
printf 'second half' >>"$S/dl/large"
printf 'new\n' >"$S/d/new"
rm "$S/d/e/mode"
ln -sfn hard "$S/d/lnk"
$PY -c 'import os, sys; os.setxattr(sys.argv[1], "user.note", b"changed")' "$S/d/small"
chown -R "$SSHD_USER" "$S"
sleep 1
TRACE="strace -f -qq -e trace=open,openat,openat2,creat,unlink,unlinkat,rename,renameat,renameat2,mkdir,mkdirat,truncate,ftruncate"
t_exit 0 "a second session through the agent" "$BIN/snap" \
    --remote-schema "ssh -F $SSHD_CONFIG {h} $TRACE -o $TR/agent.strace $BIN/snap --server" \
    "$SSHD_HOST:$S" "$A"
t_exit 0 "... and locally" "$BIN/snap" "$S" "$L"
restored agent && restored local
t "the new session restores like the local one" same "$T/r-agent" "$T/r-local"
t "... and like the source" same "$S" "$T/r-agent"
restored agent 1B && restored local 1B
t "the first session still restores like the local one" same "$T/r-agent" "$T/r-local"
t "... and like the tree was then" same "$T/before" "$T/r-agent"
t "rdiff-backup restores the first session too" sh -c \
    "rm -rf '$T/rb' && rdiff-backup --terminal-verbosity 1 restore --at 1B '$A' '$T/rb' && diff -r --no-dereference -x fifo '$T/before' '$T/rb'"
t "rdiff-backup verifies every session" \
    rdiff-backup --terminal-verbosity 1 verify --at 1B "$A"
t "the large file's increment holds the overwritten MB, little more" sh -c \
    "n=\$(gzip -dc '$A'/rdiff-backup-data/increments/dl/large.*.diff.gz | wc -c) &&
     [ \$n -gt 1000000 ] && [ \$n -lt 1100000 ]"
for f in swap grow image; do
	t "the increment of a file whose blocks moved or repeat ($f) is small" sh -c \
	    "n=\$(gzip -dc '$A'/rdiff-backup-data/increments/dl/$f.*.diff.gz | wc -c) &&
	     [ \$n -lt 20000 ]"
done
t_out "a file only appended to is patched in place (the same mirror inode)" \
    "$ino_image" stat -c %i "$A/dl/image"
t "a file whose data moved gets a new mirror file" \
    [ "$(stat -c %i "$A/dl/large")" != "$ino_large" ]
t "the agent opened nothing for writing, created, moved or removed nothing" \
    sh -c "! grep -E 'O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|unlink|rename|mkdir|truncate' '$TR/agent.strace'"
t "the agent's strace saw its opens (the check can fail)" \
    grep -q 'O_RDONLY' "$TR/agent.strace"

# --- unchanged: no content asked for
t_exit 0 "an unchanged session through the agent" "$BIN/snap" \
    --remote-schema "ssh -F $SSHD_CONFIG {h} strace -f -qq -e trace=openat,openat2 -o $TR/agent2.strace $BIN/snap --server" \
    "$SSHD_HOST:$S" "$A"
t_out "... the agent opened no file of the tree" "" sh -c \
    "grep -E 'openat2?\\(' '$TR/agent2.strace' | grep -v -e O_DIRECTORY -e O_PATH | grep -F '$S' | grep -v ENOENT || true"

# --- in place: the increment is made durable first, so a patch killed
# half-way is rolled back from it, by snap -R and by rdiff-backup regress
P=$T/place
cp -a "$A" "$P"
head -c 3000000 /dev/urandom >"$S/dl/place"
chown "$SSHD_USER" "$S/dl/place"
t_exit 0 "a 3 MB file backed up" "$BIN/snap" --remote-schema "$SCHEMA" \
    "$SSHD_HOST:$S" "$P"
cp "$S/dl/place" "$T/place.old"
ino=$(stat -c %i "$P/dl/place")
head -c 400000 /dev/urandom | dd of="$S/dl/place" bs=1000 seek=1000 \
    conv=notrunc status=none
head -c 300000 /dev/urandom >>"$S/dl/place"
touch -d '2021-05-06 07:08:09' "$S/dl/place"
strace -f -qq -o /dev/null -e trace=pwrite64 \
    -e inject=pwrite64:signal=KILL:when=3 "$BIN/snap" \
    --remote-schema "$SCHEMA" "$SSHD_HOST:$S" "$P" 2>/dev/null
t_out "snap killed at its third write in place exits by the signal" 137 echo $?
t "... the mirror file is neither version, and the same inode" sh -c \
    "[ \$(stat -c %i '$P/dl/place') = $ino ] &&
     ! cmp -s '$P/dl/place' '$T/place.old' && ! cmp -s '$P/dl/place' '$S/dl/place'"
cp -a "$P" "$T/placerb"
t_exit 0 "... snap -R rolls it back" "$BIN/snap" -R "$P"
t "... to the old version" cmp "$P/dl/place" "$T/place.old"
ino=$(stat -c %i "$P/dl/place")		# a new file: rebuilt
t "... rdiff-backup regress rolls it back too" sh -c \
    "rdiff-backup --terminal-verbosity 1 regress '$T/placerb'; [ \$? -le 2 ] &&
     cmp '$T/placerb/dl/place' '$T/place.old'"
t_exit 0 "the next session patches it in place" "$BIN/snap" \
    --remote-schema "$SCHEMA" "$SSHD_HOST:$S" "$P"
t_out "... keeping the inode" "$ino" stat -c %i "$P/dl/place"
t "... the new version restores" sh -c \
    "rm -f '$T/pl.new' && '$BIN/restore' '$P/dl/place' '$T/pl.new' && cmp '$T/pl.new' '$S/dl/place'"
t "... and the old one, by snap and by rdiff-backup" sh -c \
    "rm -f '$T/pl.1' '$T/pl.rb' && '$BIN/restore' -r 1B '$P/dl/place' '$T/pl.1' &&
     cmp '$T/pl.1' '$T/place.old' &&
     rdiff-backup --terminal-verbosity 1 restore --at 1B '$P/dl/place' '$T/pl.rb' &&
     cmp '$T/pl.rb' '$T/place.old'"
t "rdiff-backup verifies it" rdiff-backup --terminal-verbosity 1 verify "$P"

# restore -m serves a session's mirror files from the mirror: one patched
# in place meanwhile must not give the new bytes as the old version's
cat >"$T/reader.py" <<-'EOF'
	import os, sys, time
	f, want, flag = sys.argv[1], sys.argv[2], sys.argv[3]
	fd = os.open(f, os.O_RDONLY)
	os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
	os.pread(fd, 1000, 0)
	open(flag + ".ready", "w").close()
	while not os.path.exists(flag + ".go"):
	    time.sleep(0.05)
	try:
	    got = os.pread(fd, 4096, 2500000)
	except OSError as e:
	    print("EIO" if e.errno == 5 else "error %d" % e.errno)
	    sys.exit(0)
	with open(want, "rb") as w:
	    w.seek(2500000)
	    print("old" if got == w.read(4096) else "not the old bytes")
	EOF
n=0
for mode in "" RESTORE_M_OPEN=1; do
	n=$((n + 1))
	mkdir -p "$T/mnt"
	cp "$S/dl/place" "$T/place.v$n"
	env $mode "$BIN/restore" -m "$P" "$T/mnt"
	rm -f "$T/flag$n".*
	$PY "$T/reader.py" "$T/mnt/current/dl/place" "$T/place.v$n" "$T/flag$n" \
	    >"$T/reader$n.out" 2>&1 &
	rpid=$!
	i=0
	while [ ! -e "$T/flag$n.ready" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	head -c 100000 /dev/urandom | dd of="$S/dl/place" bs=1000 seek=2450 \
	    conv=notrunc status=none
	touch -d "2021-05-0$n 07:08:09" "$S/dl/place"
	"$BIN/snap" --remote-schema "$SCHEMA" "$SSHD_HOST:$S" "$P"
	touch "$T/flag$n.go"
	wait $rpid
	# the old bytes, or EIO where they cannot be had (the session's
	# increments are listed again only when the root is looked at)
	t "restore -m ${mode:-(no opens)}: a file read while snap patched it in place gives the old bytes or EIO" \
	    grep -qx -e old -e EIO "$T/reader$n.out"
	t_out "... (it was patched in place)" "$ino" stat -c %i "$P/dl/place"
	"$BIN/restore" -u "$T/mnt"
done
rm -f "$S/dl/place"

# --- --root keeps a key to a tree
mkdir -p "$T/other"
chmod 755 "$T/other"
t_exit 100 "--root: a path outside is refused (exit 100)" "$BIN/snap" \
    --remote-schema "ssh -F $SSHD_CONFIG {h} $BIN/snap --server --root $S/d" \
    "$SSHD_HOST:$S" "$T/refused"
t "... and the client says why" sh -c \
    "'$BIN/snap' --remote-schema 'ssh -F $SSHD_CONFIG {h} $BIN/snap --server --root $S/d' '$SSHD_HOST:$S' '$T/refused2' 2>&1 | grep -q 'outside the tree this key may read'"
t_exit 0 "--root: the tree itself is served" "$BIN/snap" \
    --remote-schema "ssh -F $SSHD_CONFIG {h} $BIN/snap --server --root $S/d" \
    "$SSHD_HOST:$S/d" "$T/pinned"

# --- failures leave the repository as it was
cp -a "$A" "$T/A.before"
t_exit 111 "a command that is not there: exit 111" "$BIN/snap" \
    --remote-schema "ssh -F $SSHD_CONFIG {h} /nonexistent/snap --server" \
    "$SSHD_HOST:$S" "$A"
t_exit 111 "a host that cannot be reached, first session: exit 111" \
    "$BIN/snap" --remote-schema "ssh -F $SSHD_CONFIG -p 1 {h} snap --server" \
    "$SSHD_HOST:$S" "$T/never"
t "... and no repository is left behind" test ! -e "$T/never"
t_exit 111 "a command that is not snap: exit 111" "$BIN/snap" \
    --remote-schema "ssh -F $SSHD_CONFIG {h} cat" "$SSHD_HOST:$S" "$A"
t_exit 100 "a missing source: exit 100" "$BIN/snap" \
    --remote-schema "$SCHEMA" "$SSHD_HOST:$T/nonexistent" "$A"
t_exit 100 "--exclude-if-present is refused with a remote source" \
    "$BIN/snap" -E .nobackup --remote-schema "$SCHEMA" "$SSHD_HOST:$S" "$A"
t "the repository is as it was" diff -r --no-dereference -x fifo -x lock.yml "$T/A.before" "$A"
t_exit 0 "the next session goes on" "$BIN/snap" --remote-schema "$SCHEMA" \
    "$SSHD_HOST:$S" "$A"

# --- a server that lies: refused, and the repository is as it was
LIAR="$PY $(pwd)/tests/helpers/agent-liar.py"
for m in dotdot order underfile slash nocredit; do
	rm -rf "$T/lied" && cp -a "$A" "$T/lied"
	t_exit 111 "a lying server ($m): exit 111" "$BIN/snap" \
	    --remote-schema "$LIAR $m {h}" "x:/src" "$T/lied"
	t_exit 0 "... the next snap -R rolls the session back" "$BIN/snap" -R "$T/lied"
	t "... to what it was" diff -r --no-dereference -x fifo -x lock.yml "$A" "$T/lied"
done
t_exit 100 "a host's snap of another protocol version: exit 100" \
    "$BIN/snap" --remote-schema "$LIAR version {h}" "x:/src" "$T/lied3"
t "... which says to install the same snap there" sh -c \
    "'$BIN/snap' --remote-schema '$LIAR version {h}' x:/src '$T/lied4' 2>&1 |
     grep -q 'install the same snap there'"
t "a lie names the entry" sh -c "'$BIN/snap' --remote-schema '$LIAR dotdot {h}' \
    x:/src '$T/lied2' 2>&1 | grep -q 'out of place in the walk: ../escape'"
# --- a host that says nothing: --timeout, the command ended
for m in mutestart mute mutemid; do
	rm -rf "$T/lied" && cp -a "$A" "$T/lied"
	t0=$(date +%s)
	"$BIN/snap" --timeout 2 --remote-schema "$LIAR $m {h}" "x:/src" \
	    "$T/lied" 2>"$T/quiet.err"
	rc=$? t1=$(date +%s)
	t_out "a host that goes quiet ($m): exit 111" 111 echo $rc
	t "... within seconds ($((t1 - t0)) s)" [ $((t1 - t0)) -lt 15 ]
	t "... saying so" grep -q "no word from the host for 2 seconds" \
	    "$T/quiet.err"
	t_out "... and the command is ended" "" sh -c \
	    "for i in 1 2 3 4 5 6 7 8 9 10; do sleep 0.5; pgrep -f 'agent-liar[.]py $m x$' >/dev/null || exit 0; done; pgrep -f 'agent-liar[.]py $m x$'"
done
t "... the next snap -R rolls the session back" sh -c \
    "'$BIN/snap' -R '$T/lied' && diff -r --no-dereference -x fifo -x lock.yml '$A' '$T/lied'"
t_exit 100 "--timeout 0: a usage error" "$BIN/snap" --timeout 0 \
    --remote-schema "$SCHEMA" "$SSHD_HOST:$S" "$T/never"
# a host busy longer than --timeout, with nothing to send yet, is alive:
# every read of the large file's delta is slowed down to 0.1 s
cp -a "$A" "$T/slow"
printf 'third' | dd of="$S/dl/large" bs=1 seek=5000 conv=notrunc status=none
chown "$SSHD_USER" "$S/dl/large"
t_exit 0 "a host busy for longer than --timeout says it is alive" \
    "$BIN/snap" --timeout 2 --remote-schema "ssh -F $SSHD_CONFIG {h} strace -f -qq -o /dev/null -e trace=pread64 -e inject=pread64:delay_exit=100000 $BIN/snap --server" \
    "$SSHD_HOST:$S" "$T/slow"
t "... and the large file is backed up" sh -c \
    "'$BIN/restore' '$T/slow/dl/large' '$T/large.r' && cmp '$T/large.r' '$S/dl/large'"

# a delta that is no delta: that file fails, the mirror keeps its copy
t_exit 0 "a host's honest first session" "$BIN/snap" \
    --remote-schema "$LIAR whole2k {h}" "x:/src" "$T/bad"
for m in baddelta emptydelta cutdelta; do
	rm -rf "$T/lied" && cp -a "$T/bad" "$T/lied"
	t_exit 1 "a bad delta ($m): a partial session (exit 1)" \
	    "$BIN/snap" --remote-schema "$LIAR $m {h}" "x:/src" "$T/lied"
	t "... the mirror keeps the last good copy" sh -c \
	    "'$BIN/restore' '$T/lied/f' '$T/lied.f' && test \"\$(cat '$T/lied.f')\" = \"\$(cat '$T/bad/f')\"; rc=\$?; rm -f '$T/lied.f'; exit \$rc"
	t "... and rdiff-backup verifies it" \
	    rdiff-backup --terminal-verbosity 1 verify "$T/lied"
done

rm -rf "$T/lied" && cp -a "$A" "$T/lied"
t_exit 1 "content far beyond the size listed: a partial session (exit 1)" \
    "$BIN/snap" --remote-schema "$LIAR bigdata {h}" "x:/src" "$T/lied"
t "... nothing of it is kept" test ! -e "$T/lied/f"

# --- examples/backup.sh -a: the routine through the agent, no mount
mkdir -p "$T/bin"
cat >"$T/bin/ssh" <<EOF
#!/bin/sh
# the test's sshd, and the snap under test on the far side
for a; do shift; [ "\$a" = snap ] && a=$BIN/snap; set -- "\$@" "\$a"; done
exec /usr/bin/ssh -F $SSHD_CONFIG "\$@"
EOF
chmod 755 "$T/bin/ssh"
t_exit 0 "backup.sh -a backs the host up through the agent" env \
    PATH="$T/bin:$PATH" BK_BIN="$BIN" BACKUP_ROOT="$T/bk" MNT_ROOT="$T/mnts" \
    sh examples/backup.sh -a "$SSHD_HOST:$S"
t "... into a repository that restores to the source" sh -c \
    "rm -rf '$T/r-bk' && '$BIN/restore' '$T/bk/$SSHD_HOST/${S#/}' '$T/r-bk' &&
     diff -r --no-dereference -x fifo '$S' '$T/r-bk'"
t_out "... without mounting anything" "" sh -c \
    "grep ' $T/mnts' /proc/mounts || true"


# --- the default command: ssh -C unless ssh would reach this machine
# directly (ssh -G, so ssh_config aliases count; the fake ssh reads
# aliases as the user's ssh_config would and runs the agent here)
mkdir -p "$T/cbin"
cat >"$T/aliases" <<EOF
Host near
  HostName 127.0.0.1
Host relayed
  HostName 127.0.0.1
  ProxyCommand nc %h %p
EOF
cat >"$T/cbin/ssh" <<EOF
#!/bin/sh
case " \$* " in *" -G "*) exec /usr/bin/ssh -F $T/aliases "\$@";; esac
printf '%s\n' "\$*" >"$T/ssh.args"
while [ \$# -gt 0 ]; do case \$1 in -*) shift;; *) shift; break;; esac; done
[ "\$1" = snap ] && shift
exec $BIN/snap "\$@"
EOF
chmod 755 "$T/cbin/ssh"
for h in far.example:-C relayed:-C near: 127.0.0.1: localhost:; do
	c=${h#*:} h=${h%:*}
	rm -f "$T/ssh.args"
	t_exit 0 "default command to $h" env PATH="$T/cbin:$PATH" \
	    "$BIN/snap" "$h:$S" "$T/c-$h"
	if [ -n "$c" ]; then
		t "... compresses" grep -q -- " -C $h snap --server" "$T/ssh.args"
	else
		t "... does not compress" sh -c "grep -q ' $h snap --server' \
		    '$T/ssh.args' && ! grep -q -- ' -C ' '$T/ssh.args'"
	fi
done

t_done
