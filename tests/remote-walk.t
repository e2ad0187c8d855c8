# snap through mount-remote asks the server for what it needs, once: the
# whole tree listed ahead on snap's walk hint, the targets of new symlinks
# with the listings (an unchanged link is not read: the mirror link has
# its time), exactly the files snap reads fetched (never one twice, none
# unchanged), compression for hosts that are not this machine.  Requests
# are counted by tests/helpers/sftp-proxy.py's log mode between
# mount-remote (-S) and OpenSSH's sftp-server.
. tests/harness.sh
. tests/lib/mounts.sh

MR=$BIN/mount-remote
SFTP=/usr/lib/openssh/sftp-server
PY=/usr/bin/python3
PROXY=$(pwd)/tests/helpers/sftp-proxy.py
NOXAT=$(pwd)/tests/helpers/no-xattrat.py

if [ "$(id -u)" != 0 ] || [ ! -c /dev/fuse ]; then
	skip "snap through mount-remote, requests counted" "needs root and /dev/fuse"
	t_done
fi
sh mk/need.sh $SFTP:openssh-sftp-server $PY:python3-minimal \
    fusermount3:fuse3 diff:diffutils strace:strace || exit 111

D=$T/data M=$T/mnt R=$T/repo L=$T/log
MRPID=
mkdir -p "$M"
# 3 levels, 2 x 3 x 4 directories, files of 1 byte to 1 MiB, and a
# 5 MiB one (larger than a whole-file fetch: streamed), symlinks.
for a in a b; do
	for b in 0 1 2; do
		for c in x y z w; do
			mkdir -p "$D/$a/$b/$c"
			for f in 1 2 3; do
				head -c $((f * 997 + ${#c})) /dev/urandom >"$D/$a/$b/$c/f$f"
			done
			ln -s f1 "$D/$a/$b/$c/l1"
			ln -s "../$c/f2" "$D/$a/$b/$c/l2"
		done
	done
done
head -c 1048576 /dev/urandom >"$D/a/mid"
head -c 5242880 /dev/urandom >"$D/b/large"
printf '' >"$D/empty"
ln -s /nonexistent/target "$D/dangling"
# Times well before the first session: snap reads again any file changed
# in the second a session started, as it may have changed once more.
find "$D" -exec touch -h -d '2020-01-01 00:00' {} +

cleanup() {
	[ -n "$MRPID" ] && kill -9 "$MRPID" 2>/dev/null
	umount_all
}
trap 'cleanup' EXIT
trap 'exit 111' INT TERM HUP

# serve: a fresh mount of $D on $M whose requests go to $L (emptied).
serve() {
	: >"$L"
	"$MR" -f -S "$PY $PROXY log $L -- $SFTP" "x:$D" "$M" 2>"$T/mr.err" &
	MRPID=$!
	i=0
	until in_mounts "$M"; do
		[ $i -ge 100 ] && return 1
		kill -0 "$MRPID" 2>/dev/null || return 1
		sleep 0.1
		i=$((i + 1))
	done
	ls "$M" >/dev/null
}

unserve() {
	"$MR" -u "$M" || { kill -9 "$MRPID"; return 1; }
	wait "$MRPID"
	MRPID=
}

# asked TYPE: the paths of TYPE requests, relative to $D, sorted.
asked() {
	awk -v t="$1" '$1 == t { sub(/^[A-Z]+ /, ""); print }' "$L" |
	    sed "s|^$D/*||" | LC_ALL=C sort
}

# twice TYPE: paths asked for more than once (nothing, when all is well).
twice() {
	asked "$1" | uniq -d
}

# same_as_source: the newest session of $R, restored, is $D.
same_as_source() {
	rm -rf "$T/out"
	"$BIN/restore" "$R" "$T/out" && diff -r --no-dereference "$D" "$T/out"
}

# --- initial backup: every file fetched once, every link read once
t "mount" serve
t_exit 0 "initial snap through the mount" "$BIN/snap" "$M" "$R"
t "unmount" unserve
t "the backup is the source" same_as_source
t_out "no file is fetched twice" "" twice OPEN
t_out "no symlink target is asked twice" "" twice READLINK
t_out "no directory is listed twice" "" twice OPENDIR
t_out "every file snap copies is fetched" \
    "$(cd "$D" && find . -type f | sed 's|^\./||' | LC_ALL=C sort)" asked OPEN
t_out "every symlink's target is asked once" \
    "$(cd "$D" && find . -type l | sed 's|^\./||' | LC_ALL=C sort)" asked READLINK

# --- unchanged: listings only
t "mount again" serve
t_exit 0 "unchanged snap" "$BIN/snap" "$M" "$R"
t "unmount" unserve
t_out "an unchanged run opens no file" "" asked OPEN
t_out "... reads no symlink's target" "" asked READLINK
t_out "... and lists each directory once" "" twice OPENDIR

# --- churn: exactly the changed files
printf 'changed\n' >>"$D/a/1/y/f2"
head -c 3000 /dev/urandom >"$D/b/2/w/f3"
printf 'new\n' >"$D/a/0/x/new"
touch -d '2001-01-01' "$D/b/0/z/f1"
ln -sfn f3 "$D/a/2/z/l1"	# the same length as before
ln -s f2 "$D/b/1/x/l3"
# older than the session: a file changed in its own second is read again
# by the run after it (its mtime is too recent to trust), which the
# delayed-hints run below would count as a second fetch
touch -h -d "@$(($(date +%s) - 2))" "$D/a/1/y/f2" "$D/b/2/w/f3" "$D/a/0/x/new"
t "mount again" serve
t_exit 0 "snap after changes" "$BIN/snap" "$M" "$R"
t "unmount" unserve
t "the new backup is the source" same_as_source
t_out "only the changed files are fetched" \
    "$(printf '%s\n' a/0/x/new a/1/y/f2 b/0/z/f1 b/2/w/f3)" asked OPEN
t_out "only the new links' targets are read" \
    "$(printf '%s\n' a/2/z/l1 b/1/x/l3)" asked READLINK

# --- each file's fetch hint reaches the mount before snap opens it: a
# hint that comes later, while snap holds the file, fetches it again
# (seen in CI).  The hints are delayed here: strace, on the /proc path
# that a kernel without getxattrat (before 6.13) makes snap take.
# late_hints NAME...: the NAMEs snap opened with no fetch hint on them
# answered before.
late_hints() {
	awk -v names=" $* " '
	/lgetxattr\(.*"user\.mount-remote\.fetch"/ {
		match($0, /"[^"]*"/)
		p = substr($0, RSTART + 1, RLENGTH - 2)
		sub(/.*\//, "", p)
		if ($0 ~ /unfinished/)
			pend[$1] = p
		else
			hinted[p] = 1
		next
	}
	/<\.\.\. lgetxattr resumed>/ {
		if ($1 in pend)
			hinted[pend[$1]] = 1
		delete pend[$1]
		next
	}
	/openat\(.*O_NOATIME/ {
		match($0, /, "[^"]*"/)
		n = substr($0, RSTART + 3, RLENGTH - 4)
		if (index(names, " " n " ") && !(n in hinted))
			print n
	}' "$T/hints.strace" | LC_ALL=C sort -u
}
printf 'again\n' >>"$D/a/1/y/f2"
head -c 2000 /dev/urandom >"$D/b/2/w/f3"
t "mount again" serve
t_exit 0 "snap with its hints delayed (no getxattrat)" strace -f -qq \
    -o "$T/hints.strace" -e trace=lgetxattr,openat \
    -e inject=lgetxattr:delay_enter=300000 \
    $PY "$NOXAT" "$BIN/snap" "$M" "$R"
t "unmount" unserve
t "the newest backup is the source" same_as_source
t_out "every file was hinted before snap opened it" "" late_hints f2 f3
t_out "... and fetched once" "$(printf '%s\n' a/1/y/f2 b/2/w/f3)" asked OPEN

# --- without snap's hints (an interactive reader), still nothing twice
t "mount again" serve
t "read every file in walk order" sh -c "find '$M' -type f -exec cat {} + >/dev/null"
t "and again" sh -c "find '$M' -type f -exec cat {} + >/dev/null"
t "unmount" unserve
t_out "a reader's neighbours are fetched once at most" "" twice OPEN

# --- the hints themselves
xattr() {
	$PY -c 'import os, sys
try:
    v = os.getxattr(sys.argv[1], sys.argv[2], follow_symlinks=False)
    print("value", repr(v))
except OSError as e:
    print("error", os.strerror(e.errno))' "$@"
}
t "mount again" serve
t_out "the walk hint on a directory answers empty" "value b''" \
    xattr "$M/a" user.mount-remote.walk
t_out "the fetch hint on a file answers empty" "value b''" \
    xattr "$M/a/mid" user.mount-remote.fetch
t_out "the fetch hint on a directory is not supported" \
    "error Operation not supported" xattr "$M/a" user.mount-remote.fetch
t_out "other attributes are not supported" \
    "error Operation not supported" xattr "$M/a/mid" user.other
t "a hinted file reads right" cmp "$M/a/mid" "$D/a/mid"
t "unmount" unserve
t_out "a hinted file is fetched once" "a/mid" asked OPEN

# --- snap walks through the scout's walk: every directory listed once,
# each with a duplicate descriptor while its entries wait (a quarter of
# the descriptor limit: 100 under ulimit -n 400, so the scout waits for
# snap), some excluded (-e, -E); a wide and a deep tree.  The backup must
# be the one a local snap with the same rules makes.
W=$T/wide
for i in $(seq 1 300); do
	mkdir -p "$W/d$i"
	printf '%s' "$i" >"$W/d$i/f"
done
deep=$W/deep
for i in $(seq 1 150); do
	deep=$deep/n$i
done
mkdir -p "$deep" "$W/skipme/sub" "$W/d7/tagged/sub"
printf 'bottom' >"$deep/f"
printf 'x' >"$W/skipme/sub/f"
printf 'x' >"$W/d7/tagged/.nobackup"
printf 'x' >"$W/d7/tagged/sub/f"
find "$W" -exec touch -h -d '2020-01-01 00:00' {} +
D0=$D
D=$W
t "mount the wide tree" serve
t_exit 0 "snap through the mount, with rules, 400 descriptors" sh -c \
    "ulimit -n 400 && exec '$BIN/snap' -e '$M/skipme' -E .nobackup '$M' '$T/wrepo'"
t "unmount" unserve
D=$D0
t_exit 0 "a local snap of it, with the same rules" "$BIN/snap" \
    -e "$W/skipme" -E .nobackup "$W" "$T/wlocal"
t "both restore the same tree" sh -c "rm -rf '$T/w1' '$T/w2' &&
    '$BIN/restore' '$T/wrepo' '$T/w1' && '$BIN/restore' '$T/wlocal' '$T/w2' &&
    diff -r --no-dereference '$T/w1' '$T/w2'"
t "... which has the deepest file and not the excluded ones" sh -c \
    "cmp '$deep/f' '$T/w1/${deep#$W/}/f' && [ -f '$T/w1/d300/f' ] &&
     [ ! -e '$T/w1/skipme' ] && [ ! -e '$T/w1/d7/tagged' ]"
t_out "every directory was listed once" "" twice OPENDIR

# --- compression: on unless the host is this machine
mkdir -p "$T/fake"
cat >"$T/fake/ssh" <<EOF
#!/bin/sh
case " \$* " in *" -G "*) exec /usr/bin/ssh "\$@";; esac
printf '%s\n' "\$*" >>"$T/ssh.args"
exec $SFTP
EOF
chmod 755 "$T/fake/ssh"
cat >"$T/aliases" <<EOF
Host near
  HostName 127.0.0.1
Host near6
  HostName ::1
Host relayed
  HostName 127.0.0.1
  ProxyCommand nc %h %p
Host jumped
  HostName localhost
  ProxyJump far.example
Host farther
  HostName far.example
EOF
t "a remote host gets compression" sh -c \
    "PATH=$T/fake:\$PATH '$MR' backup@far.example:$D '$M' -- true &&
     grep -q -- '-oCompression=yes' '$T/ssh.args'"
: >"$T/ssh.args"
t "127.0.0.1 does not" sh -c \
    "PATH=$T/fake:\$PATH '$MR' backup@127.0.0.1:$D '$M' -- true &&
     ! grep -q -- 'Compression' '$T/ssh.args'"
: >"$T/ssh.args"
t "localhost does not" sh -c \
    "PATH=$T/fake:\$PATH '$MR' localhost:$D '$M' -- true &&
     ! grep -q -- 'Compression' '$T/ssh.args'"
: >"$T/ssh.args"
for h in near near6; do
	: >"$T/ssh.args"
	t "an ssh_config alias ($h) of this machine does not" sh -c \
	    "PATH=$T/fake:\$PATH '$MR' -F '$T/aliases' $h:$D '$M' -- true &&
	     grep -q -- ' $h ' '$T/ssh.args' &&
	     ! grep -q -- 'Compression' '$T/ssh.args'"
done
for h in relayed jumped farther; do
	: >"$T/ssh.args"
	t "an alias ($h) that leaves this machine does" sh -c \
	    "PATH=$T/fake:\$PATH '$MR' -F '$T/aliases' $h:$D '$M' -- true &&
	     grep -q -- '-oCompression=yes' '$T/ssh.args'"
done
: >"$T/ssh.args"
t "-o Compression=no comes first, so it wins" sh -c \
    "PATH=$T/fake:\$PATH '$MR' -o Compression=no far.example:$D '$M' -- true &&
     grep -q -- '-oCompression=no .*-oCompression=yes' '$T/ssh.args'"

t_done
