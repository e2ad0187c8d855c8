# mount-remote against servers that lie, and files that change under it.
# Servers run through -S: OpenSSH's sftp-server directly, or behind
# tests/helpers/sftp-proxy.py, which relays to it and misbehaves in one
# chosen way.  Whatever the server says, mount-remote gives errors (never
# duplicates, endless memory or libfuse's own complaints) and one line of
# its own on stderr.
. tests/harness.sh
. tests/lib/mounts.sh

MR=$BIN/mount-remote
SFTP=/usr/lib/openssh/sftp-server
PY=/usr/bin/python3
PROXY=$(pwd)/tests/helpers/sftp-proxy.py

if [ "$(id -u)" != 0 ] || [ ! -c /dev/fuse ]; then
	skip "mount-remote against hostile servers" "needs root and /dev/fuse"
	t_done
fi
sh mk/need.sh $SFTP:openssh-sftp-server $PY:python3-minimal \
    fusermount3:fuse3 timeout:coreutils || exit 111

D=$T/data M=$T/mnt
MRPID=
mkdir -p "$D/d" "$D/e" "$D/big" "$D/shrink" "$D/blk" "$M"
printf 'hi\n' >"$D/d/small"
printf 'x' >"$D/e/other"
ln -s small "$D/d/lnk"

cleanup() {
	[ -n "$MRPID" ] && kill -9 "$MRPID" 2>/dev/null
	umount_all
}
trap 'cleanup' EXIT
trap 'exit 111' INT TERM HUP

# serve SERVER: mount $D on $M in the foreground, in the background,
# with SERVER as the -S command; stderr goes to $T/mr.err.  Its address
# space is capped at 2 GiB, so a mount-remote that does grow without
# bound fails the test instead of taking the machine's memory.
serve() {
	[ -n "$MRPID" ] && kill -9 "$MRPID" 2>/dev/null
	(ulimit -v 2097152 && exec "$MR" -f -S "$1" "x:$D" "$M") \
	    2>"$T/mr.err" &
	MRPID=$!
	i=0
	until in_mounts "$M"; do
		[ $i -ge 100 ] && return 1
		kill -0 "$MRPID" 2>/dev/null || return 1
		sleep 0.1
		i=$((i + 1))
	done
	ls "$M" >/dev/null	# waits for FUSE_INIT
}

# hostile MODE ARG...: serve through the proxy in MODE.
hostile() {
	serve "$PY $PROXY $* -- $SFTP"
}

# unserve: unmount, and the process ends within 10 seconds.
unserve() {
	"$MR" -u "$M" || { kill -9 "$MRPID"; return 1; }
	i=0
	while kill -0 "$MRPID" 2>/dev/null; do
		[ $i -ge 100 ] && { kill -9 "$MRPID"; return 1; }
		sleep 0.1
		i=$((i + 1))
	done
	wait "$MRPID"
	MRPID=
}

# fails_with MSG CMD...: CMD fails and its stderr says MSG.
fails_with() {
	_m=$1; shift
	if "$@" >/dev/null 2>"$T/cmd.err"; then
		echo "succeeded"
		return 1
	fi
	cat "$T/cmd.err"
	grep -q "$_m" "$T/cmd.err"
}

# own_lines: mount-remote's stderr has only its own lines, none of
# libfuse's ("fuse: writing device: ...").
own_lines() {
	cat "$T/mr.err"
	! grep -v '^mount-remote: ' "$T/mr.err"
}

# says PATTERN: exactly one stderr line matches PATTERN.
says() {
	cat "$T/mr.err"
	[ "$(grep -c -- "$1" "$T/mr.err")" = 1 ]
}

# says_some PATTERN: stderr lines match PATTERN (a listing that fails
# again, e.g. when prefetched first and then asked for, says it again).
says_some() {
	cat "$T/mr.err"
	grep -q -- "$1" "$T/mr.err"
}

# --- A name listed twice (once as a file, once as a directory) is a
# malformed listing: EIO for that directory, never both entries.
t "mount through a server that lists d/small twice" hostile dup small
t "a listing with a name twice fails with EIO" \
    fails_with 'Input/output error' ls "$M/d"
t "  ... again on a second try (a failed listing is not kept)" \
    fails_with 'Input/output error' ls -l "$M/d"
t "  ... the other directories still list" ls "$M/e"
t "  ... a line for each failure names the directory" \
    sh -c "cat '$T/mr.err'; [ \$(grep -c '^mount-remote: list $D/d: ' \
    '$T/mr.err') -ge 2 ]"
t "  ... and nothing else is printed" own_lines
t "  ... unmounts cleanly" unserve

# --- A listing that never ends is cut off (entries, bytes; the time
# bound is 10 minutes) with EIO, and its memory is given back.
t "mount through a server whose listing of big/ never ends" \
    hostile endless big
s0=$(date +%s)
t "an endless listing fails with EIO" \
    fails_with 'Input/output error' timeout 20 ls "$M/big"
took=$(( $(date +%s) - s0 ))
t "  ... within seconds (took ${took}s)" [ "$took" -le 20 ]
t "  ... saying why" says_some "^mount-remote: list $D/big: more than 2097152 entries"
# rss PID: resident KiB.
rss() { awk '/^VmRSS:/ { print $2 }' /proc/"$1"/status; }
t "  ... the memory is given back (RSS $(rss "$MRPID") KiB)" \
    [ "$(rss "$MRPID")" -lt 65536 ]
t "  ... the mount still works" cat "$M/d/small"
t "  ... nothing else is printed" own_lines
t "  ... unmounts cleanly" unserve
t "mount through a server whose never-ending names are long" \
    hostile endless big 255
t "an endless listing of long names fails with EIO" \
    fails_with 'Input/output error' timeout 20 ls "$M/big"
t "  ... at the byte limit" says_some "^mount-remote: list $D/big: more than 256 MiB"
t "  ... unmounts cleanly" unserve

# --- Replies bigger than the kernel takes: a link target of 4096 bytes
# or more, a name of more than 255 bytes.  Errors, no libfuse lines.
t "mount through a server with a 100000-byte link target" \
    hostile longlink lnk 100000
t "readlink of a 100000-byte target fails with ENAMETOOLONG" \
    fails_with 'File name too long' readlink -v "$M/d/lnk"
t "  ... saying so in one line" says "^mount-remote: readlink $D/d/lnk: "
t "  ... without a line from libfuse" own_lines
t "  ... unmounts cleanly" unserve
t "mount through a server with a 4095-byte link target" \
    hostile longlink lnk 4095
t_out "a 4095-byte target is returned whole" 4095 \
    sh -c "readlink '$M/d/lnk' | tr -d '\n' | wc -c"
t "  ... unmounts cleanly" unserve
t "mount through a server with a 4096-byte link target" \
    hostile longlink lnk 4096
t "a 4096-byte target fails with ENAMETOOLONG" \
    fails_with 'File name too long' readlink -v "$M/d/lnk"
t "  ... without a line from libfuse" own_lines
t "  ... unmounts cleanly" unserve
for n in 256 5000; do
	t "mount through a server that lists a $n-byte name" \
	    hostile longname small $n
	t "a listing with a $n-byte name fails with EIO" \
	    fails_with 'Input/output error' ls "$M/d"
	t "  ... saying so" says_some "^mount-remote: list $D/d: "
	t "  ... without a line from libfuse" own_lines
	t "  ... unmounts cleanly" unserve
done

# --- A file that shrinks while it is read: once a read ends early, the
# next stat, listing and open see the new size, not the cached one.
head -c 20000000 /dev/urandom >"$D/shrink/f"
head -c 300000 /dev/urandom >"$D/shrink/g"
cat >"$T/shrink.sh" <<'EOS'
M=$1 D=$2
ls -l "$M/shrink" >/dev/null	# the listing and attributes are cached
exec 3<"$M/shrink/f"
dd bs=4096 count=1 <&3 >/dev/null 2>&1
truncate -s 1000 "$D/shrink/f"
cat <&3 >/dev/null
exec 3<&-
EOS
t "mount with sftp-server" serve "$SFTP"
t "a file shrinks while it is read" sh "$T/shrink.sh" "$M" "$D"
t_out "  ... stat then shows its new size" 1000 stat -c %s "$M/shrink/f"
t_out "  ... so does a listing" 1000 sh -c \
    "ls -l '$M/shrink' | awk '\$NF == \"f\" { print \$5 }'"
t_out "  ... and a lookup after the kernel forgot it" 1000 sh -c \
    "echo 2 >/proc/sys/vm/drop_caches; stat -c %s '$M/shrink/f'"
t_out "  ... a new open reads the new end" 1000 sh -c "cat '$M/shrink/f' | wc -c"
# A file read whole is re-opened without the server while its pages are
# cached; once a read of it ends early, that shortcut goes too.
t_out "a file read whole" 300000 sh -c "cat '$M/shrink/g' | wc -c"
truncate -s 2000 "$D/shrink/g"
t_out "  ... shrinks, and the kernel drops its pages: a new read ends early" \
    2000 sh -c "echo 1 >/proc/sys/vm/drop_caches; cat '$M/shrink/g' | wc -c"
t_out "  ... stat shows the new size" 2000 stat -c %s "$M/shrink/g"
t_out "  ... so does a listing" 2000 sh -c \
    "ls -l '$M/shrink' | awk '\$NF == \"g\" { print \$5 }'"
t_out "  ... and the next open reads it" 2000 sh -c "cat '$M/shrink/g' | wc -c"
t "  ... nothing is printed" sh -c "cat '$T/mr.err'; ! [ -s '$T/mr.err' ]"
t "  ... unmounts cleanly" unserve

# --- Symbolic links: the server is asked about a listed link only with
# LSTAT and READLINK, never to follow it (OPEN, OPENDIR, STAT); the
# kernel resolves links.  Paths are resolved by the server, though: a
# directory swapped for a link after it was listed is followed there.
mkdir -p "$D/sw/real" "$D/sw/other"
printf 'real' >"$D/sw/real/f"
printf 'swap' >"$D/sw/other/f"
ln -s real "$D/sw/dirlnk"
: >"$T/req.log"
t "mount through a logging server" hostile log "$T/req.log"
t "reading through links works" sh -c \
    "cat '$M/d/lnk' && ls '$M/sw/dirlnk/' && stat -L '$M/sw/dirlnk/f'"
t "  ... and no request but LSTAT and READLINK names a link" sh -c \
    "grep -E '/(lnk|dirlnk)(/|\$)' '$T/req.log' | grep -Ev '^(LSTAT|READLINK) '; [ \$? = 1 ]"
t "  ... and nothing is ever STATed after the mount" sh -c \
    "[ \$(grep -c '^STAT ' '$T/req.log') = 1 ]"
t_out "a listed directory" f ls "$M/sw/real"
mv "$D/sw/real" "$D/sw/real.old" && ln -s other "$D/sw/real"
t_out "  ... swapped for a link on the server is followed there" swap \
    cat "$M/sw/real/f"
t "  ... unmounts cleanly" unserve

# --- Disk usage: st_blocks is the size rounded up to 4 KiB, as most
# remote file systems allocate, so du is not below the truth.
for n in 0 1 100 511 512 4095 4096 4097 10000 65537; do
	head -c $n /dev/urandom >"$D/blk/f$n"
done
t "mount with sftp-server" serve "$SFTP"
t "every file's blocks are its size rounded up to 4 KiB" sh -c \
    "find '$M/blk' -type f -printf '%s %b\n' | awk '
	{ w = int((\$1 + 4095) / 4096) * 8; print \$1, \$2, w; if (\$2 != w) bad = 1 }
	END { exit bad }'"
want=$(find "$D/blk" -type f -printf '%s\n' |
    awk '{ s += int(($1 + 4095) / 4096) * 4096 } END { print s }')
t "du is at least the size rounded up per file ($want bytes)" sh -c \
    "got=\$(du -s -B1 '$M/blk' | cut -f1); echo \$got; [ \$got -ge $want ]"
t "  ... unmounts cleanly" unserve

t_done
