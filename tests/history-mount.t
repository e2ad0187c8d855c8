# restore -m: every session of a repository as a read-only file system.
# Histories written by snap, by rdiff-backup, and both; each session
# directory compared with restore -r's output of that session; a damaged
# increment and damaged metadata; snap and prune while mounted; kill -9
# of the mount, -u, and the command form.
. tests/harness.sh
. tests/lib/history.sh
. tests/lib/mounts.sh
sh mk/need.sh rdiff-backup:rdiff-backup fusermount3:fuse3 setfacl:acl \
    setfattr:attr || exit 111
export LC_ALL=C TZ=UTC
SNAP=$BIN/snap RESTORE=$BIN/restore PRUNE=$BIN/prune SUM=$HELP/treesum
RB="rdiff-backup --terminal-verbosity 1"
cd "$T" || exit 111
trap 'umount_all' EXIT

day() { echo $((1700000000 + $1 * 86400)); }
name() { date -u -d "@$(day "$1")" +%FT%TZ; }

# state N of the source (1..8): make_tree, mutate 2..7, then a sparse file
state() {
	case $1 in
	1) make_tree src ;;
	8) truncate -s 3M src/sparse && printf tail >>src/sparse &&
	    printf 'XX' | dd of=src/big bs=1 seek=1000 conv=notrunc 2>/dev/null ;;
	*) mutate "$1" src ;;
	esac
}

# history KIND REPO: sessions 1..8 of the source; KIND says who writes
# each: snap, rdiff-backup, or mixed (rdiff-backup 1..4, then snap).
history() {
	rm -rf src
	for i in 1 2 3 4 5 6 7 8; do
		state "$i"
		case $1:$i in
		rb:*|mixed:[1-4]) $RB --current-time "$(day "$i")" backup src "$2" ;;
		*) $SNAP --current-time "$(day "$i")" src "$2" ;;
		esac || return 1
	done
}

# same REPO MNT: every session of the mount equals restore -r's output
same() {
	for i in 1 2 3 4 5 6 7 8; do
		rm -rf "out.$i"
		$RESTORE -r "$(day "$i")" "$1" "out.$i" 2>/dev/null ||
		    { echo "restore -r session $i failed"; return 1; }
		$SUM "out.$i" >"want.$i" || return 1
		(cd "$2/$(name "$i")" && $SUM .) >"got.$i" ||
		    { echo "session $i: treesum of the mount failed"; return 1; }
		# treesum prints paths below its argument: compare below both
		sed 's|^out\.'"$i"'||' "want.$i" >"want.$i.n"
		sed 's|^\.||' "got.$i" >"got.$i.n"
		cmp -s "want.$i.n" "got.$i.n" ||
		    { echo "session $i differs:"; diff "want.$i.n" "got.$i.n" | head; return 1; }
	done
}

t "a history of 8 sessions by snap" history snap repo
t "a history of 8 sessions by rdiff-backup" history rb rbrepo
t "a history of 8 sessions by rdiff-backup, then snap" history mixed mixrepo
mkdir mnt
t_exit 0 "restore -m returns once mounted" $RESTORE -m repo mnt
t "  ... it is a read-only restore mount" sh -c \
    "grep ' $T/mnt fuse.restore ro,nosuid,nodev' /proc/mounts"
t_out "  ... the root lists every session and current" \
    "$(for i in 1 2 3 4 5 6 7 8; do name "$i"; done; echo current)" \
    sh -c "ls mnt"
t_out "  ... current is the newest" "$(name 8)" readlink mnt/current
t "  ... each session equals restore -r's output (snap's history)" \
    same repo mnt
cp want.2.n keep.2 && cp want.4.n keep.4
ino() { stat -c %i "mnt/$(name "$1")/$2"; }
t_out "  ... a file unchanged between sessions keeps its inode number" \
    "$(ino 7 a.txt)" ino 8 a.txt
t "  ... a changed one does not" sh -c "[ '$(ino 7 big)' != '$(ino 8 big)' ]"
t "  ... nor do two files of one session" sh -c \
    "[ '$(ino 8 a.txt)' != '$(ino 8 empty)' ]"
# dino A B DIR: entries of DIR whose inode number as a listing gives it
# (d_ino, no stat) differs from what lstat then says, and the count of
# entries.  A and B are listed first without a look at their files: a
# process's third such listing comes without attributes.
dino() {
	python3 -c 'import os, sys
for d in sys.argv[1:3]:
	list(os.scandir(d))
n = 0
for e in os.scandir(sys.argv[3]):
	n += 1
	if e.inode() != os.lstat(e.path).st_ino:
		print("differs:", repr(e.name))
print(n, "entries")' "$@"
}
t_out "  ... a listing without attributes gives the inode numbers stat does" \
    "$(find "mnt/$(name 6)" -mindepth 1 -maxdepth 1 -printf x | wc -c) entries" \
    dino "mnt/$(name 1)" "mnt/$(name 2)" "mnt/$(name 6)"
names_then_same() {
	find mnt >/dev/null && find mnt >/dev/null && same repo mnt
}
t "  ... after walks that list names only, each session still equals restore -r's output" \
    names_then_same
# dr DIR A B: diff -r of A and B in DIR, their names made A and B
# (devices left out: diff compares device nodes differently on a nodev
# mount; treesum compared them above)
dr() {
	(cd "$1" && diff -r -x blk -x chr "$2" "$3" 2>&1 |
	    sed "s|$2|A|g; s|$3|B|g")
}
t_out "  ... so diff -r of two sessions says what restore -r's outputs say" \
    "$(dr "$T" out.2 out.3)" dr mnt "$(name 2)" "$(name 3)"
t "  ... writing is refused" sh -c \
    "(echo x >mnt/current/a.txt) 2>err; grep -q 'Read-only file system' err"
t "  ... so is making a file" sh -c \
    "(: >mnt/current/newfile) 2>err; grep -q 'Read-only file system' err"
t_exit 0 "restore -u unmounts" $RESTORE -u mnt
t "  ... it is gone" sh -c "! in_mounts $T/mnt"

# snap's metadata files end with an index of their gzip members, so a
# session is read in parts: a name looked up before its directory is
# listed, a directory listed before its parent, hard links met one by one
indexed() {
	for f in repo/rdiff-backup-data/mirror_metadata.*.gz; do
		[ "$(tail -c 18 "$f" | head -c 2)" = Bz ] ||
		    { echo "$f: no member index"; return 1; }
	done
}
t "snap's metadata files end with a member index" indexed
parts() {
	s=mnt/$(name 3)
	[ "$(stat -c %i "$s/hard-big")" = "$(stat -c %i "$s/big")" ] ||
	    { echo "session 3: hard-big and big differ"; return 1; }
	[ "$(stat -c %h "$s/big")" = 2 ] || { echo "big: links"; return 1; }
	cmp "$s/dir/middle" out.3/dir/middle ||
	    { echo "dir/middle looked up alone"; return 1; }
	i=$(stat -c %i "$s/dir/middle")
	ls -l "$s/dir/sub" >/dev/null && ls "$s/dir" >/dev/null &&
	    stat "$s/a.txt" "$s/dir/sub" >/dev/null || return 1
	[ "$(stat -c %i "$s/dir/middle")" = "$i" ] ||
	    { echo "dir/middle: another inode once dir was listed"; return 1; }
	i=$(stat -c %i "$s/dir")
	ls "$s" >/dev/null
	[ "$(stat -c %i "$s/dir")" = "$i" ] ||
	    { echo "dir: another inode once the session was listed"; return 1; }
	[ "$(stat -c %i "$s/big")" = "$(stat -c %i "$s/hard-big")" ] ||
	    { echo "session 3: big and hard-big differ"; return 1; }
	s=mnt/$(name 2)
	[ "$(stat -c %i "$s/a.txt")" = "$(stat -c %i "$s/hard-a")" ] ||
	    { echo "session 2: a.txt and hard-a differ"; return 1; }
	same repo mnt
}
parts_then_same() {
	$RESTORE -m repo mnt || return 1
	parts
	rv=$?
	$RESTORE -u mnt
	return $rv
}
t "  ... a session looked at in parts, then whole, equals restore -r's output" \
    parts_then_same
t_exit 0 "restore -m reading each session whole (RESTORE_M_WHOLE)" \
    env RESTORE_M_WHOLE=1 $RESTORE -m repo mnt
t "  ... each session equals restore -r's output" same repo mnt
$RESTORE -u mnt

t_exit 0 "restore -m of rdiff-backup's history" $RESTORE -m rbrepo mnt
t "  ... each session equals restore -r's output" same rbrepo mnt
$RESTORE -u mnt
t_exit 0 "restore -m of a mixed history" $RESTORE -m mixrepo mnt
t "  ... each session equals restore -r's output" same mixrepo mnt
$RESTORE -u mnt
# opens sent and checked one by one, as kernels without zero-message
# opens do (this one has them: each read finds its file instead)
t_exit 0 "restore -m with every open sent (RESTORE_M_OPEN)" \
    env RESTORE_M_OPEN=1 $RESTORE -m mixrepo mnt
t "  ... each session equals restore -r's output" same mixrepo mnt
t_out "  ... and diff -r of two sessions says what restore -r's outputs say" \
    "$(dr "$T" out.4 out.5)" dr mnt "$(name 4)" "$(name 5)"
$RESTORE -u mnt

# snap and prune go on while the repository is mounted
$RESTORE -m repo mnt
ls mnt >/dev/null	# the kernel may keep this listing
echo nine >src/nine
# from inside session 8 nothing looks at the root, so the mount has not
# seen session 9 when a.txt is read: its increment must still be used
t_out "snap runs while the repository is mounted and read from" "hello" \
    sh -c "cd 'mnt/$(name 8)' && echo changed >'$T/src/a.txt' &&
    $SNAP --current-time $(day 9) '$T/src' '$T/repo' && cat a.txt"
sleep 2.2
t_out "  ... the new session appears, and current follows" "$(name 9)" \
    readlink mnt/current
t_out "  ... with its content" "nine" cat "mnt/$(name 9)/nine"
t "  ... and in the root's listing" sh -c "ls mnt | grep -qx '$(name 9)'"
t_out "  ... and an older session is still right" "$(cat keep.2)" \
    sh -c "cd 'mnt/$(name 2)' && $SUM . | sed 's|^\\.||'"
t_exit 0 "prune runs while mounted" $PRUNE "$(day 3)" repo
sleep 2.2
t "  ... the pruned sessions are gone from the root" sh -c \
    "! ls mnt | grep -e '$(name 1)' -e '$(name 2)'"
t_exit 1 "  ... and no longer open" cat "mnt/$(name 1)/a.txt"
t_out "  ... the kept ones still read right" "$(cat keep.4)" \
    sh -c "cd 'mnt/$(name 4)' && $SUM . | sed 's|^\\.||'"
$RESTORE -u mnt

# a file read from an old session while prune removes that session goes
# on reading what it started with, as an open file does (with
# zero-message opens nothing holds it but the reads themselves)
mkdir pr && head -c 25165824 /dev/urandom >pr/f
$SNAP --current-time "$(day 1)" pr prrepo
printf AAAA | dd of=pr/f bs=1 seek=1000 conv=notrunc 2>/dev/null
$SNAP --current-time "$(day 2)" pr prrepo
printf BBBB | dd of=pr/f bs=1 seek=2000 conv=notrunc 2>/dev/null
$SNAP --current-time "$(day 3)" pr prrepo
$RESTORE -r "$(day 2)" prrepo/f pr.want
read_across_prune() {
	exec 3<"mnt/$(name 2)/f" &&
	dd bs=128k count=1 <&3 >pr.got 2>/dev/null &&
	$PRUNE "$(day 3)" prrepo &&
	cat <&3 >>pr.got
	rc=$?
	exec 3<&-
	[ $rc = 0 ] && cmp -s pr.got pr.want
}
$RESTORE -m prrepo mnt
t "a file of a session being pruned reads to its end, unchanged" \
    read_across_prune
$RESTORE -u mnt
# snap writing the newest session's increment of f (as it does before
# it replaces the mirror file, here cut short) and its marker: f of that
# session still reads, from the mirror file, which still holds it
mkdir -p prrepo/rdiff-backup-data/increments	# prune took it, empty
printf 'not yet' >"prrepo/rdiff-backup-data/increments/f.$(name 3).diff.gz"
echo "PID 1" >"prrepo/rdiff-backup-data/current_mirror.$(name 4).data"
$RESTORE -m prrepo mnt
t "a file whose increment snap is still writing reads from the mirror" \
    cmp -s "mnt/$(name 3)/f" pr/f
t_out "  ... and the session being written is not shown" "$(name 3)
current" ls mnt
$RESTORE -u mnt

# a damaged repository: EIO for what is damaged, the rest reads
cp -a rbrepo bad
inc=$(ls bad/rdiff-backup-data/increments/big.*.diff.gz | head -n 1)
t "a diff increment of big is truncated" sh -c \
    "head -c 100 '$inc' >x && cat x >'$inc'"
incname=$(basename "$inc")
at=$(echo "$incname" | sed 's/^big\.\(.*\)\.diff\.gz$/\1/')
t_exit 0 "restore -m of the damaged repository" $RESTORE -m bad mnt
t_exit 1 "  ... reading big of the damaged session fails" \
    cat "mnt/$at/big"
t_out "  ... other files of that session read" "hello" \
    cat "mnt/$at/a.txt"
t_out "  ... and big of the current session" \
    "$(sha1sum <rbrepo/big)" sh -c "sha1sum <mnt/current/big"
$RESTORE -u mnt
env RESTORE_M_OPEN=1 $RESTORE -m bad mnt
t_exit 1 "  ... opening it fails where every open is sent (RESTORE_M_OPEN)" \
    dd if="mnt/$at/big" of=/dev/null count=0 status=none
$RESTORE -u mnt
t "  ... naming it on standard error (the command form)" sh -c \
    "$RESTORE -m bad mnt -- cat 'mnt/$at/big' 2>&1 >/dev/null |
    grep 'session $at: big: '"
cp -a rbrepo bad2
meta=$(ls bad2/rdiff-backup-data/mirror_metadata.*.diff.gz | head -n 1)
mt=$(basename "$meta" | sed 's/^mirror_metadata\.\(.*\)\.diff\.gz$/\1/')
printf 'garbage' >"$meta"
t_exit 0 "restore -m of a repository with damaged metadata" \
    $RESTORE -m bad2 mnt
t_exit 2 "  ... the session whose metadata is damaged gives an error" \
    ls "mnt/$mt"
t "  ... and the mount still answers" ls mnt/current/a.txt
$RESTORE -u mnt

# member indexes (snap's metadata) that lie or lead into damage: a
# session whose index names the wrong members is read from the start of
# its files instead, and one cut short gives EIO where it is cut
mkdir -p isrc
for d in 0 1 2 3 4 5 6 7 8 9; do
	mkdir isrc/d$d
	for f in $(seq 100); do echo "$d $f" >isrc/d$d/f$f; done
done
$SNAP isrc irepo >/dev/null 2>&1
imeta=$(ls irepo/rdiff-backup-data/mirror_metadata.*.snapshot.gz)
# swapidx FILE: the offsets of index entries 1 and 2 exchanged
swapidx() {
	python3 - "$1" <<-'PYEOF'
	import struct, sys
	d = bytearray(open(sys.argv[1], 'rb').read())
	total = struct.unpack('>I', d[-14:-10])[0]
	p = len(d) - total + 16 + 5
	offs = []
	for i in range(3):
	    offs.append(p)
	    p += 12 + struct.unpack('>I', d[p + 8:p + 12])[0]
	a, b = d[offs[1]:offs[1] + 8], d[offs[2]:offs[2] + 8]
	d[offs[1]:offs[1] + 8], d[offs[2]:offs[2] + 8] = b, a
	open(sys.argv[1], 'wb').write(d)
	PYEOF
}
t "a snapshot of 1,000 files has several members, and their offsets swapped" \
    swapidx "$imeta"
$RESTORE -r now irepo iout >/dev/null 2>&1
t_exit 0 "restore -m of it" $RESTORE -m irepo mnt
t_out "  ... each directory lists as restore -r's output" \
    "$(cd iout && for d in d*; do ls -l "$d" | grep -v ^total; done)" \
    sh -c 'cd mnt/current && for d in d*; do ls -l "$d" | grep -v ^total; done'
$RESTORE -u mnt
# damage FILE: 64 bytes of garbage in the middle of its last data member
damage() {
	python3 - "$1" <<-'PYEOF'
	import struct, sys
	d = bytearray(open(sys.argv[1], 'rb').read())
	total = struct.unpack('>I', d[-14:-10])[0]
	end = len(d) - total
	p = len(d) - total + 16 + 5
	n = struct.unpack('>I', d[p - 4:p])[0]
	for i in range(n):
	    last = struct.unpack('>Q', d[p:p + 8])[0]
	    p += 12 + struct.unpack('>I', d[p + 8:p + 12])[0]
	at = (last + end) // 2
	d[at:at + 64] = b'\xa5' * 64
	open(sys.argv[1], 'wb').write(d)
	PYEOF
}
swapidx "$imeta"	# back as it was
# liekey FILE: index entry 1's first path made to name a directory one
# before its own (d3/... -> d2/...): a member that does not begin with
# the record its index names
liekey() {
	python3 - "$1" <<-'PYEOF'
	import struct, sys
	d = bytearray(open(sys.argv[1], 'rb').read())
	total = struct.unpack('>I', d[-14:-10])[0]
	p = len(d) - total + 16 + 5
	p += 12 + struct.unpack('>I', d[p + 8:p + 12])[0]
	k = p + 12
	assert d[k:k + 1] == b'd' and d[k + 1] > ord('0')
	d[k + 1] -= 1
	open(sys.argv[1], 'wb').write(d)
	PYEOF
}
cp "$imeta" imeta.orig
t "  ... an index whose second member's first path is made an earlier one" \
    liekey "$imeta"
t_exit 0 "restore -m of it" $RESTORE -m irepo mnt
t_out "  ... every file is found by its name, none listed before" \
    "$(cd iout && ls -d d*/* | wc -l)" \
    sh -c "cd iout && ls -d d*/* | sed 's|^|$T/mnt/current/|' |
    xargs stat -c %n 2>/dev/null | wc -l"
$RESTORE -u mnt
cp imeta.orig "$imeta"
t "  ... the snapshot damaged in its last member, its index kept" \
    damage "$imeta"
t_exit 0 "restore -m of that" $RESTORE -m irepo mnt
t_out "  ... its first directory still lists" "$(ls iout/d0)" ls mnt/current/d0
t_exit 2 "  ... its last one gives an error" ls mnt/current/d9
t "  ... and the mount still answers" ls mnt/current/d0/f1
$RESTORE -u mnt

# more sessions read in parts than are kept: the least used is retired
# (what the kernel holds of it is stale, never another file's) and comes
# back under a new inode number
mkdir -p msrc
for i in $(seq 66); do
	echo "a$i" >msrc/a && echo "b$i" >msrc/b
	$SNAP --current-time "$(day "$i")" msrc mrepo >/dev/null 2>&1 || break
done
# evict: a of the first session, a of every other (the first is
# retired), then b and a of the first again at once, through what the
# kernel holds: b1 in place of a1 would be another file's content
cat >evict.sh <<'EOF2'
s() { date -u -d "@$((1700000000 + $1 * 86400))" +%FT%TZ; }
cat "mnt/$(s 1)/a"
for i in $(seq 2 66); do cat "mnt/$(s "$i")/a"; done
cat "mnt/$(s 1)/b" 2>/dev/null
dd if="mnt/$(s 1)/a" iflag=nocache count=0 2>/dev/null	# not from the cache
cat "mnt/$(s 1)/a" 2>/dev/null
exit 0
EOF2
t_exit 0 "restore -m of 66 sessions" $RESTORE -m mrepo mnt
sh evict.sh >evict.out
t_out "  ... each session's file, read one session after another" \
    "$(for i in $(seq 66); do echo "a$i"; done)" head -n 66 evict.out
t "  ... the first session, retired meanwhile, gives no other file's content" \
    sh -c "! tail -n +67 evict.out | grep -v -x -e b1 -e a1 >/dev/null &&
    ! tail -n 1 evict.out | grep -q b1"
sleep 1.2
t_out "  ... looked up again, it reads right" "a1" cat "mnt/$(name 1)/a"
$RESTORE -u mnt

# a session read in parts while a prune merging it is killed half way
# (its journal pending): what is read of it is refused or right, before
# and after the merge is finished, never a mix of old and new files
rm -rf jsrc jrepo jout && mkdir -p jsrc/d1 jsrc/d2 jsrc/d3
for i in 1 2 3 4; do
	for d in 1 2 3; do echo "$i.$d" >"jsrc/d$d/f$i"; echo "$i" >"jsrc/d$d/same"; done
	rm -f "jsrc/d2/f$((i - 1))"
	$SNAP --current-time "$(day "$i")" jsrc jrepo >/dev/null 2>&1 || break
done
$RESTORE -r "$(day 1)" jrepo jout >/dev/null 2>&1
jls() { ls -l "$1/d2" | grep -v ^total; ls -l "$1/d3" | grep -v ^total; }
# the rename after the one that puts session 1's new metadata diff in
# place (the old one of session 2 is still there): counted on a copy
cp -a jrepo jcopy
strace -f -qq -o jtrace -e trace=renameat $PRUNE --session "$(day 2)" jcopy
kill_at=$(grep renameat jtrace | grep -n 'mirror_metadata' | cut -d: -f1)
kill_at=$((kill_at + 1))
$RESTORE -m jrepo mnt
stat "mnt/$(name 1)/d1" >/dev/null
sh -c "strace -f -qq -o /dev/null -e trace=renameat \
    -e inject=renameat:signal=KILL:when=$kill_at $PRUNE --session $(day 2) jrepo" 2>/dev/null
t "a prune merging session 2 into 1 is killed after session 1's new metadata went in" \
    sh -c "test -f jrepo/rdiff-backup-data/prune.journal &&
    ls jrepo/rdiff-backup-data | grep -q 'mirror_metadata.$(name 2).diff'"
t "... session 1, read in part before, gives an error or its own listing" \
    sh -c "! out=\$(cd mnt/$(name 1) 2>/dev/null && { ls -l d2; ls -l d3; } | grep -v ^total) ||
    [ \"\$out\" = \"$(jls jout)\" ]"
$SNAP --current-time "$(day 5)" jsrc jrepo >/dev/null 2>&1
sleep 1.2
t_out "... once snap has finished the merge, its listing is right" \
    "$(jls jout)" jls "mnt/$(name 1)"
$RESTORE -u mnt

# extended attributes and ACLs, as restore -r sets them
if isroot && command -v setfacl >/dev/null && command -v setfattr >/dev/null
then
	mkdir -p xsrc/d
	echo data >xsrc/f && echo x >xsrc/d/g && ln -s f xsrc/link
	setfattr -n user.text -v hello xsrc/f
	setfattr -n user.bin -v 0x00ff10 xsrc/f
	setfattr -n trusted.t -v secret xsrc/d/g
	setfattr -h -n trusted.sym -v 1 xsrc/link
	setfacl -m u:1234:rw-,g::---,m::r-- xsrc/f
	setfacl -d -m u:4242:r-x,g::r-x xsrc/d
	$SNAP --current-time "$(day 1)" xsrc xrepo
	setfattr -n user.text -v changed xsrc/f
	setfattr -x user.bin xsrc/f
	setfacl -b xsrc/d
	$RB --current-time "$(day 2)" backup xsrc xrepo
	$RESTORE -m xrepo mnt
	for i in 1 2; do
		rm -rf "xout.$i"
		$RESTORE -r "$(day "$i")" xrepo "xout.$i" 2>/dev/null
		t_out "xattrs and ACLs of session $i equal restore -r's" \
		    "$(xsum "xout.$i")" xsum "mnt/$(name "$i")"
	done
	t_out "  ... the first session's user.text" "hello" \
	    getfattr -n user.text --only-values "mnt/$(name 1)/f"
	t_out "  ... the second's" "changed" \
	    getfattr -n user.text --only-values "mnt/current/f"
	$RESTORE -u mnt
else
	skip "xattrs and ACLs" "needs root, setfacl and setfattr"
fi

# the command form, kill -9, usage
t_exit 7 "restore -m REPO MNT -- command: the command's status" \
    $RESTORE -m repo mnt -- sh -c "test -f mnt/current/a.txt && exit 7"
t "  ... and the mount is gone" sh -c "! in_mounts $T/mnt"
$RESTORE -m "$T/repo" "$T/mnt"
pid=$(pgrep -f "restore -m $T/repo $T/mnt" | head -n 1)
t "kill -9 of the mount" kill -9 "$pid"
t_exit 2 "  ... leaves a dead mount point" ls mnt
t_exit 0 "  ... which restore -u detaches" $RESTORE -u mnt
t "  ... it is gone" sh -c "! in_mounts $T/mnt"
t_exit 100 "restore -u of what is no restore mount exits 100" \
    $RESTORE -u mnt
t_exit 100 "restore -m without a mount point exits 100" $RESTORE -m repo
t_exit 100 "restore -m of a path inside the repository exits 100" \
    $RESTORE -m repo/dir mnt
t_exit 100 "restore -m of no repository exits 100" $RESTORE -m src mnt
t_done
