# Trust (issue 12): no call on a name in a directory that others can
# write follows a symlink; temp names never collide with real entries;
# rollbacks that cannot finish stop and can be retried; a source that
# changes or lies never half-records an entry; bounded work on hostile
# input; exit codes and messages that name what failed.
. tests/harness.sh
. tests/lib/history.sh
sh mk/need.sh rdiff-backup:rdiff-backup strace:strace || exit 111
export LC_ALL=C TZ=UTC
SNAP=$BIN/snap RESTORE=$BIN/restore PRUNE=$BIN/prune SUM=$HELP/treesum
RB="rdiff-backup --terminal-verbosity 1"
cd "$T" || exit 111
T1=1700000000 T2=1700086400 T3=1700172800 T4=1700259200

# --- 1. restore as root never changes a node through a swapped temp name
if [ "$(id -u)" = 0 ]; then
	mkdir fifos
	(cd fifos && seq -f p%g 0 3999 | xargs mkfifo -m 666)
	$SNAP --current-time $T1 fifos fiforepo >/dev/null 2>&1
	echo secret >victim && chmod 600 victim
	mkdir target && chmod 777 target
	$HELP/racer "$T/target" rdiff-backup.tmp "$T/victim" 60 >racer.out 2>racer.err &
	rpid=$!
	while ! grep -q ready racer.out 2>/dev/null; do sleep 0.1; done
	$RESTORE fiforepo target >restore.out 2>&1
	rc=$?
	kill $rpid; wait $rpid 2>/dev/null
	cat racer.err >>"$T_LOG"
	t_out "racer: the victim keeps its mode (restore exited $rc)" 600 \
	    stat -c %a victim
	t "  ... and the racer did swap temps" grep -q '[1-9][0-9]* swaps' racer.err
	# every fifo is a fifo, or restore said which one it could not make
	bad=0
	i=0
	while [ $i -lt 4000 ]; do
		if [ ! -p target/p$i ] && ! grep -q " p$i:" restore.out; then
			bad=$((bad + 1))
		fi
		i=$((i + 1))
	done
	t_out "  ... no fifo silently replaced by something else" 0 echo $bad
	t "  ... exit 0, or 1 naming what was disturbed" \
	    sh -c "[ $rc = 0 ] || { [ $rc = 1 ] && [ -s restore.out ]; }"
else
	skip "restore racer" "needs root"
fi

# --- 2. a rollback on a disk that is still full stops and keeps everything
if [ "$(id -u)" = 0 ] && mkdir full && mount -t tmpfs -o size=80m tmpfs full; then
	mkdir full/src
	i=10
	while [ $i -lt 40 ]; do
		head -c 1000000 /dev/urandom >full/src/f$i
		i=$((i + 1))
	done
	$SNAP --current-time $T1 full/src full/repo
	$SUM full/src >full.s1
	# 25 files change a little (their new versions replace the mirror's
	# at once), then a new file too big for the disk stops the session
	i=10
	while [ $i -lt 35 ]; do
		head -c 4096 /dev/urandom |
		    dd of=full/src/f$i conv=notrunc 2>/dev/null
		i=$((i + 1))
	done
	mv full/src /dev/shm/trust-src.$$
	head -c 30000000 /dev/urandom >/dev/shm/trust-src.$$/zz
	# room for the 25 changes, not for zz
	used=$(df -k --output=used full | tail -1)
	mount -o remount,size=$((used + 20000))k full
	$SNAP --current-time $T2 /dev/shm/trust-src.$$ full/repo 2>snap2.err
	t_out "full disk: the incremental snap exits 111" 111 echo $?
	# still full: less room than one file the rollback rebuilds (the
	# room left when snap stopped varies with how far its background
	# writer got: with the same 12 MB for both, 1 rollback in 8 fit)
	used=$(df -k --output=used full | tail -1)
	mount -o remount,size=$((used + 400))k full
	$SNAP -R full/repo 2>rec.err
	t_out "  ... the rollback on the still full disk exits 111" 111 echo $?
	cat rec.err >>"$T_LOG"
	t "  ... saying what failed and that it stays interrupted" \
	    grep -q "recover: .*stays interrupted.*No space left on device" rec.err
	t_out "  ... the repository is still interrupted" \
	    "interrupted session: yes (the next snap rolls it back)" \
	    sh -c "$SNAP -s full/repo | grep '^interrupted session'"
	mount -o remount,size=80m full
	t_exit 0 "  ... once there is space, snap -R finishes" $SNAP -R full/repo
	t_exit 0 "  ... and the last complete session restores" \
	    $RESTORE full/repo full/out
	t "  ... byte-exact" sh -c "$SUM full/out | cmp -s - full.s1"
	rm -rf /dev/shm/trust-src.$$
	umount full
else
	skip "full disk rollback" "needs root and tmpfs"
fi

# --- 7. a source entry named like a temp never blocks a backup
mkdir tsrc
for n in 1 2 3 4 5; do echo "mine $n" >tsrc/rdiff-backup.tmp.$n; done
echo a >tsrc/a
$SNAP --current-time $T1 tsrc trepo
$SUM tsrc >t.s1
echo b >>tsrc/a
echo new >tsrc/b
t_exit 0 "source files named rdiff-backup.tmp.N: the next snap succeeds" \
    $SNAP --current-time $T2 tsrc trepo
$SUM tsrc >t.s2
t "  ... and both sessions restore exactly" sh -c "$RESTORE -r $T1 trepo t1 &&
    $SUM t1 | cmp -s - t.s1 && $RESTORE trepo t2 && $SUM t2 | cmp -s - t.s2"

# --- 6. a rollback killed at its rename is finished by the next one
mkdir ksrc
blob 1 1000 >ksrc/f
$SNAP --current-time $T1 ksrc krepo && $SUM ksrc >k.s1
blob 2 1000 >ksrc/f
$SNAP --current-time $T2 ksrc krepo && $SUM ksrc >k.s2
blob 3 1000 >ksrc/f
strace -f -qq -o /dev/null -e trace=syncfs -e inject=syncfs:signal=KILL \
    $SNAP --current-time $T3 ksrc krepo >/dev/null 2>&1
t_out "snap killed at its syncfs" 137 echo $?
strace -f -qq -o /dev/null -e trace=rename,renameat,renameat2 \
    -e inject=rename,renameat,renameat2:signal=KILL $SNAP -R krepo >/dev/null 2>&1
t_out "  ... its rollback killed at its rename" 137 echo $?
t_exit 0 "  ... the next rollback finishes" $SNAP -R krepo
t "  ... and both sessions restore exactly" sh -c "$RESTORE -r $T1 krepo k1 &&
    $SUM k1 | cmp -s - k.s1 && $RESTORE krepo k2 && $SUM k2 | cmp -s - k.s2"

# --- 8. an interrupted restore -f can be redone, and leaves no temps
mkdir rsrc rsrc/d
i=0
while [ $i -lt 60 ]; do blob $i 8 >rsrc/d/f$i; i=$((i + 1)); done
$SNAP --current-time $T1 rsrc rrepo && $SUM rsrc >r.s1
$RESTORE rrepo rt
strace -f -qq -o /dev/null -e trace=openat -e inject=openat:signal=KILL:when=40 \
    $RESTORE -f rrepo rt >/dev/null 2>&1
t_out "restore -f killed half-way" 137 echo $?
t_exit 0 "  ... restore -f again succeeds" $RESTORE -f rrepo rt
t "  ... with the tree exact" sh -c "$SUM rt | cmp -s - r.s1"
strace -f -qq -o /dev/null -e trace=openat -e inject=openat:signal=TERM:when=40 \
    $RESTORE -f rrepo rt >/dev/null 2>rterm.err
t_out "restore -f stopped by SIGTERM exits 111" 111 echo $?
t_out "  ... leaving no temp entry behind" "" sh -c "ls rt/d | grep -v '^f[0-9]*$'"
# a signal that comes as a temp entry is created (strace delivers it at
# the openat that makes it) at every point of a run: none is left
left=
for w in $(seq 20 55); do
	strace -f -qq -o /dev/null -e trace=openat \
	    -e inject=openat:signal=TERM:when=$w $RESTORE -f rrepo rt >/dev/null 2>&1
	ls rt/d | grep -qv '^f[0-9]*$' && left="$left $w" && rm -f rt/d/rdiff-backup.tmp.*
done
t "  ... at any of 36 points (${left:-none left})" [ -z "$left" ]
echo mine >rdiff-backup.tmp.7
t "  ... and -f removes none outside TARGET" sh -c "$RESTORE -f rrepo rt &&
    grep -q mine rdiff-backup.tmp.7"

# --- 3. a directory whose new state cannot be read keeps its subtree
mkdir dsrc dsrc/d dsrc/e
echo 1 >dsrc/d/x && echo 2 >dsrc/d/y && echo 3 >dsrc/e/z
$SNAP --current-time $T1 dsrc drepo && $SUM dsrc >d.s1
rm -rf dsrc/d && ln -s e dsrc/d
strace -f -qq -o /dev/null -e trace=readlink,readlinkat \
    -e inject=readlink,readlinkat:error=EINVAL \
    $SNAP --current-time $T2 dsrc drepo 2>d.err
t_out "a symlink whose readlink fails: snap exits 1" 1 echo $?
t "  ... naming it" grep -q "readlink d: Invalid argument" d.err
t_out "  ... the session keeps the directory's files" "d
d/x
d/y" sh -c "$RESTORE -L drepo/d"
echo 4 >dsrc/e/z
$SNAP --current-time $T3 dsrc drepo && $SUM dsrc >d.s3
t_exit 0 "  ... the next session goes on" $RESTORE -c drepo
for at in $T1 $T2 $T3; do
	t_exit 0 "  ... rdiff-backup verifies session $at" \
	    $RB verify --at $at drepo
	t_exit 0 "  ... restore -c verifies session $at" $RESTORE -c -r $at drepo
done
t "  ... sessions 1 and 3 restore exactly" sh -c "$RESTORE -r $T1 drepo d1 &&
    $SUM d1 | cmp -s - d.s1 && $RESTORE drepo d3 && $SUM d3 | cmp -s - d.s3"

# --- 4. a path listed twice in the previous metadata does not lose it
mkdir usrc && echo a >usrc/a && echo b >usrc/b && echo c >usrc/c
$SNAP --current-time $T1 usrc urepo
m=$(ls urepo/rdiff-backup-data/mirror_metadata.*.snapshot.gz)
zcat "$m" | awk '/^File b$/ { dup = 1 } dup && /^File c$/ { printf "%s", rec; dup = 0 }
    dup { rec = rec $0 "\n" } { print }' | gzip >m.gz && mv m.gz "$m"
t_out "(the metadata lists b twice)" 2 sh -c "zcat $m | grep -c '^File b$'"
echo cc >usrc/c
t_exit 0 "a duplicate record: the next snap succeeds" \
    $SNAP --current-time $T2 usrc urepo
t "  ... b stays in the mirror" test -f urepo/b
$SUM usrc >u.s2
t "  ... and in the newest session" sh -c "$RESTORE urepo u2 && $SUM u2 | cmp -s - u.s2"
t_exit 0 "  ... rdiff-backup verifies it" $RB verify urepo

# --- 5. a live source: deletions during a run are deletions, not errors
# churn_live DIR SWAPS: change DIR until $T/churning is removed; with
# SWAPS also turn a directory into a symlink and back
churn_live() {
	k=0
	while [ -e "$T/churning" ]; do
		k=$((k + 1))
		for i in 0 1 2 3 4 5 6 7; do
			rm -f "$1/a/f$i"
			echo "$k" >"$1/a/f$i"
		done
		rm -rf "$1/b"
		mkdir "$1/b" && echo "$k" >"$1/b/x" && echo "$k" >"$1/b/y"
		if [ -n "$2" ]; then
			rm -rf "$1/c"
			if [ $((k % 2)) = 0 ]; then
				ln -s a "$1/c"
			else
				mkdir "$1/c" && echo "$k" >"$1/c/z"
			fi
		fi
	done
}
mkdir lsrc lsrc/a lsrc/b lsrc/s
i=0
while [ $i -lt 300 ]; do echo "$i" >lsrc/s/f$i; i=$((i + 1)); done
: >churning
churn_live lsrc "" &
cpid=$!
t=$T1 fails=0 times=
for n in $(seq 1 12); do
	$SNAP --current-time $t lsrc lrepo 2>>live.err || fails=$((fails + 1))
	times="$times $t" t=$((t + 60))
done
rm churning
wait $cpid
cat live.err >>"$T_LOG"
t_out "live source, 12 runs while files come and go: all exit 0" 0 echo $fails
: >churning
churn_live lsrc swaps &
cpid=$!
for n in $(seq 1 13); do
	$SNAP --current-time $t lsrc lrepo 2>>live.err
	times="$times $t" t=$((t + 60))
done
rm churning
wait $cpid
# ours checks every session; rdiff-backup (a second a call) every third
# and the last
some=$(echo $times | tr ' ' '\n' | awk 'NR % 3 == 0 { print } END { print }')
bad=0
for at in $times; do
	$RESTORE -c -r $at lrepo >>"$T_LOG" 2>&1 || bad=$((bad + 1))
done
for at in $some; do
	$RB verify --at $at lrepo >>"$T_LOG" 2>&1 || bad=$((bad + 1))
done
t_out "  ... and 13 more with swaps: every one of the 25 sessions verifies (ours; rdiff-backup's, $(echo $some | wc -w) of them)" 0 echo $bad
bad=0
for at in $some; do
	rm -rf l1 l2
	$RESTORE -r $at lrepo l1 >>"$T_LOG" 2>&1 &&
	    $RB restore --at $at lrepo l2 >>"$T_LOG" 2>&1 &&
	    $SUM l1 >l1.sum && $SUM l2 >l2.sum && cmp -s l1.sum l2.sum ||
	    bad=$((bad + 1))
done
t_out "  ... and restores the same as rdiff-backup's restore" 0 echo $bad

# --- 12. prune works on a full disk
if [ "$(id -u)" = 0 ] && mkdir pfull && mount -t tmpfs -o size=4m tmpfs pfull; then
	mkdir pfull/src && blob 1 100 >pfull/src/a
	$SNAP --current-time $T1 pfull/src pfull/repo
	blob 2 100 >pfull/src/a && $SNAP --current-time $T2 pfull/src pfull/repo
	blob 3 100 >pfull/src/a && $SNAP --current-time $T3 pfull/src pfull/repo
	: >pfull/repo/rdiff-backup-data/lock.yml
	dd if=/dev/zero of=pfull/fill bs=64k 2>/dev/null
	t_exit 0 "prune on a full disk succeeds" $PRUNE -k 1 pfull/repo
	t_out "  ... leaving one session" 1 sh -c "$RESTORE -l pfull/repo | wc -l"
	umount pfull
else
	skip "prune on a full disk" "needs root and tmpfs"
fi

# --- 10. a file that claims a size it does not hold is read to its end
if [ "$(id -u)" = 0 ] && [ -f /sys/kernel/uevent_seqnum ]; then
	mkdir ssrc && echo x >ssrc/a && : >ssrc/seq
	mount --bind /sys/kernel/uevent_seqnum ssrc/seq
	timeout 30 $SNAP --current-time $T1 ssrc srepo
	t_out "a sysfs file (size 4096, a few bytes of data): snap exits 0" 0 echo $?
	t "  ... recording what it read" sh -c "$RESTORE srepo sout &&
	    [ \$(wc -c <sout/seq) -lt 100 ] && [ \$(wc -c <sout/seq) -gt 0 ]"
	umount ssrc/seq
else
	skip "file with a claimed size" "needs root and sysfs"
fi

# --- 11. a delta that copies its basis over and over stops at the Size
mkdir bsrc && blob 5 1024 >bsrc/f
$SNAP --current-time $T1 bsrc brepo
echo more >>bsrc/f && $SNAP --current-time $T2 bsrc brepo
inc=$(ls brepo/rdiff-backup-data/increments/f.*.diff.gz)
# 20000 COPY commands of the whole 1 MiB basis: 20 GiB from 120 KiB
/usr/bin/python3 -c 'import struct, sys
sys.stdout.buffer.write(b"rs\x026" + struct.pack(">BBI", 0x47, 0, 1048576) * 20000 + b"\0")' |
    gzip >"$inc"
timeout 60 $RESTORE -c -r $T1 brepo 2>bomb.err
t_out "a delta bomb: restore -c exits 1 at once" 1 echo $?
t "  ... naming the file and the recorded size" \
    grep -q "verify f: .*recorded size" bomb.err
timeout 60 $RESTORE -r $T1 brepo bout 2>bomb.err
t_out "  ... restore exits 1" 1 echo $?
t "  ... and writes no more than the file's size" \
    sh -c "[ \$(du -sk bout | cut -f1) -lt 2048 ]"

# --- 12. a damaged repository is permanent (100) and named as such
mkdir -p xsrc/d && echo 1 >xsrc/d/x && echo 2 >xsrc/f
$SNAP --current-time $T1 xsrc xrepo
mv xrepo/d xrepo/d.real && ln -s d.real xrepo/d
rm xrepo/f && ln -s d.real/x xrepo/f
$RESTORE -c xrepo 2>x.err
t_out "mirror entries replaced by symlinks: restore -c exits 1" 1 echo $?
t "  ... saying the file's entry is a symlink" \
    grep -q "verify f: mirror entry is a symlink, not a file" x.err
t "  ... and the directory's is no directory" \
    grep -q "verify d: mirror entry is not a directory" x.err
echo 3 >>xsrc/d/x
$SNAP --current-time $T2 xsrc xrepo 2>x.err
t_out "  ... snap exits 100" 100 echo $?
t "  ... calling the repository damaged" grep -q "damaged repository" x.err

# --- 12. restore into a full target is a temporary failure
if [ "$(id -u)" = 0 ] && mkdir tfull && mount -t tmpfs -o size=512k tmpfs tfull; then
	mkdir fsrc && blob 9 2048 >fsrc/big
	$SNAP --current-time $T1 fsrc frepo
	$RESTORE frepo tfull/out 2>tf.err
	t_out "restore into a full target exits 111" 111 echo $?
	t "  ... with one line" sh -c "[ \$(wc -l <tf.err) = 1 ]"
	t_out "  ... leaving no partial file" "" ls tfull/out
	umount tfull
else
	skip "restore into a full target" "needs root and tmpfs"
fi

# --- 13. a directory listing that fails or lies never shrinks the history
mkdir -p lssrc/d && echo 1 >lssrc/d/f
$SNAP --current-time $T1 lssrc lsrepo
echo 2 >>lssrc/d/f
cp -a lsrepo lsrepo.orig
strace -f -qq -o /dev/null -e trace=getdents64 \
    -e inject=getdents64:error=EIO:when=1 \
    $SNAP --current-time $T2 lssrc lsrepo 2>l.err
t_out "snap whose repository listing fails (EIO) exits 111" 111 echo $?
t "  ... saying so" grep -q "rdiff-backup-data: I/O error" l.err
t_exit 0 "  ... and keeps the repository as it was" \
    diff -r -x lock.yml lsrepo.orig lsrepo
strace -f -qq -o /dev/null -e trace=getdents64 \
    -e inject=getdents64:retval=0:when=1 \
    $SNAP --current-time $T2 lssrc lsrepo 2>l.err
t_out "snap whose first repository listing is empty (a lie) exits 111" 111 \
    echo $?
t "  ... naming the session the second listing found" \
    grep -q "a finished session appeared" l.err
t_exit 0 "  ... and keeps the repository as it was" \
    diff -r -x lock.yml lsrepo.orig lsrepo
strace -f -qq -o /dev/null -e trace=getdents64 \
    -e inject=getdents64:error=EIO:when=1 $RESTORE -l lsrepo >/dev/null 2>l.err
t_out "restore -l whose listing fails exits 111, not 'no session'" 111 echo $?
strace -f -qq -o /dev/null -P lsrepo/rdiff-backup-data/increments \
    -e trace=getdents64 -e inject=getdents64:error=EIO:when=1 \
    $RESTORE -c lsrepo 2>l.err
t_out "restore -c whose increments listing fails exits 1" 1 echo $?
t "  ... naming the listing" grep -q "list increments of .: I/O error" l.err
$SNAP --current-time $T2 lssrc lsrepo
t_out "  ... and the next snap makes the second session" 2 \
    sh -c "$RESTORE -l lsrepo | wc -l"
t_exit 0 "  ... which rdiff-backup verifies" $RB verify lsrepo

t_done
