# Crash safety, locking and status: snap killed at 25+ points of a run
# under churn is rolled back by the next snap; rdiff-backup can roll back
# what snap left; a full disk stops snap cleanly and loses nothing; two
# snaps at once: one runs, the other exits 111 at once.
. tests/harness.sh
. tests/lib/history.sh
sh mk/need.sh rdiff-backup:rdiff-backup strace:strace || exit 111
export LC_ALL=C
SNAP=$BIN/snap RESTORE=$BIN/restore SUM=$HELP/treesum
RB="rdiff-backup --terminal-verbosity 1"
cd "$T" || exit 111

make_flat src 150
t=1700000000
$SNAP --current-time $t src repo || exit 111
$SUM src >"sum.$t"
done_times=$t

# kill snap at the k-th call of one syscall, rotating syscalls and k
calls="openat write renameat unlinkat close read fchmod newfstatat utimensat getdents64"
kills=0 survived=0 rolled=0
: "${CRASH_ROUNDS:=12}"	# make torture kills snap 300 times at random
for i in $(seq 1 "$CRASH_ROUNDS"); do
	churn "$i" src
	sc=$(echo $calls | cut -d' ' -f$((i % 10 + 1)))
	k=$((1 + (i * 7) % 23))
	t=$((t + 60))
	strace -f -qq -o /dev/null -e trace="$sc" -e inject="$sc:signal=KILL:when=$k" \
	    $SNAP --current-time $t src repo >/dev/null 2>&1
	rc=$?
	if [ "$rc" = 0 ]; then
		survived=$((survived + 1))	# the k-th call never came
		$SUM src >"sum.$t"
		done_times="$done_times $t"
		continue
	fi
	kills=$((kills + 1))
	# the killed session may have finished before the kill
	if $RESTORE -l repo 2>/dev/null | grep -q "^$(date -u -d @$t +%Y-%m-%dT%H:%M:%SZ)"; then
		$SUM src >"sum.$t"
		done_times="$done_times $t"
	else
		rolled=$((rolled + 1))
	fi
	t=$((t + 60))
	if ! $SNAP --current-time $t src repo >"next.$i" 2>&1; then
		t_notok "snap after a kill at call $k of $sc (round $i) succeeds"
		cat "next.$i" | sed 's/^/#   /'
		continue
	fi
	$SUM src >"sum.$t"
	done_times="$done_times $t"
done
t "snap was killed at $((CRASH_ROUNDS * 2 / 3)) or more points ($kills kills, $rolled rolled back, $survived runs untouched)" \
    [ "$kills" -ge $((CRASH_ROUNDS * 2 / 3)) ]
t "  ... and many kills hit the middle of a session ($rolled)" \
    [ "$rolled" -ge $((CRASH_ROUNDS * 2 / 5)) ]
bad=
for t in $done_times; do
	rm -rf out
	if ! $RESTORE -r "$t" repo out >/dev/null 2>&1 || ! $SUM out | cmp -s - "sum.$t"; then
		bad="$bad $t"
	fi
done
t "every completed session restores byte-exactly (${bad:-all of $(echo $done_times | wc -w)})" [ -z "$bad" ]
bad=
for t in $done_times; do
	$RB verify --at "$t" repo >/dev/null 2>&1 || bad="$bad $t"
done
t "rdiff-backup verify passes at every session (${bad:-all})" [ -z "$bad" ]

# rdiff-backup rolls back what snap left
cp -a repo rbrepo
churn 99 src
strace -f -qq -o /dev/null -e trace=renameat -e inject=renameat:signal=KILL:when=1 \
    $SNAP --current-time $((t + 60)) src rbrepo >/dev/null 2>&1
t_out "a killed snap leaves two markers" 2 sh -c "ls rbrepo/rdiff-backup-data | grep -c current_mirror"
t_exit 111 "restore refuses the interrupted repository" $RESTORE rbrepo rbout
t_exit 1 "snap -s reports the interrupted session" $SNAP -s rbrepo
t_out "... --parsable-output says result interrupted" "result interrupted" \
    sh -c "$SNAP -s --parsable-output rbrepo | grep '^result '"
# (rdiff-backup exits 2 when it printed warnings; it always warns here)
rb_regress() { $RB regress rbrepo; [ $? -le 2 ]; }
t "rdiff-backup regress rolls back snap's interrupted session" rb_regress
t_out "  ... leaving one marker" 1 sh -c "ls rbrepo/rdiff-backup-data | grep -c current_mirror"
t_exit 0 "restore reads the rolled-back repository" $RESTORE rbrepo rbout
t "  ... as of the last complete session" sh -c "$SUM rbout | cmp -s - sum.$t"
t_exit 0 "snap continues after rdiff-backup's regress" \
    $SNAP --current-time $((t + 120)) src rbrepo

# Files in directories a session creates are written under their final
# names (no temp name): a kill there is undone like any other.  Old
# mtimes: no file is re-read as racy, so the n-th pwrite is the n-th new
# file.
old_mtimes() { find "$1" -exec touch -h -d @1690000000 {} +; }
make_flat first 150 && old_mtimes first
$SUM first >first.sum1
strace -f -qq -o /dev/null -e trace=pwrite64 -e inject=pwrite64:signal=KILL:when=40 \
    $SNAP --current-time 1700000000 first firstrepo >/dev/null 2>&1
t_out "a first session killed midway exits by the signal" 137 echo $?
t_exit 0 "  ... the next snap starts the repository afresh" \
    $SNAP --current-time 1700000060 first firstrepo
t_exit 0 "  ... and it restores exactly" sh -c \
    "$RESTORE firstrepo first.out && $SUM first.out | cmp -s - first.sum1"
mkdir first/newdir && for n in $(seq 1 30); do blob "$n" 3 >"first/newdir/f$n"; done
old_mtimes first
$SUM first >first.sum2
strace -f -qq -o /dev/null -e trace=pwrite64 -e inject=pwrite64:signal=KILL:when=20 \
    $SNAP --current-time 1700000120 first firstrepo >/dev/null 2>&1
t_out "a session killed inside a new directory exits by the signal" 137 echo $?
cp -a firstrepo rbfirst
t "  ... with part of the new directory in the mirror, under final names" sh -c \
    "n=\$(ls firstrepo/newdir 2>/dev/null | grep -c '^f[0-9]*\$'); [ \$n -ge 15 ] && [ \$n -lt 30 ] &&
     ! ls firstrepo/newdir | grep -qv '^f[0-9]*\$'"
t "  ... rdiff-backup regress rolls it back" sh -c \
    "$RB regress rbfirst; [ \$? -le 2 ] && $RESTORE rbfirst first.rb &&
     $SUM first.rb | cmp -s - first.sum1"
t_exit 0 "  ... the next snap rolls it back and completes" \
    $SNAP --current-time 1700000180 first firstrepo
t_exit 0 "  ... the new directory restores exactly" sh -c \
    "$RESTORE firstrepo first.out2 && $SUM first.out2 | cmp -s - first.sum2"
t_exit 0 "  ... and so does the session before it" sh -c \
    "$RESTORE -r 1700000060 firstrepo first.out3 && $SUM first.out3 | cmp -s - first.sum1"

# locking: one of two snaps runs, the other is refused at once
cp -a repo lockrepo
churn 100 src
mkfifo gate
( strace -f -qq -o /dev/null -e trace=renameat -e inject=renameat:delay_enter=3000000:when=1 \
    $SNAP --current-time $((t + 600)) src lockrepo ) &
slow=$!
sleep 1
start=$(date +%s%N)
$SNAP --current-time $((t + 700)) src lockrepo 2>lock.err
rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
t_out "a second snap on a locked repository exits 111" 111 echo "$rc"
t "  ... in under a second (${ms} ms)" [ "$ms" -lt 1000 ]
t "  ... saying the repository is busy" grep -q "repository busy" lock.err
t_exit 0 "the first snap completes" wait "$slow"
t_exit 0 "restore runs while nothing holds the lock" $RESTORE -c lockrepo
t_exit 0 "snap -s of a healthy repository exits 0" $SNAP -s lockrepo
t "snap -s names the last session" sh -c "$SNAP -s lockrepo | grep -q '^last session: 20'"
# the parsable form: fixed keys in a fixed order, numbers from the statistics
t_out "snap -s --parsable-output: its keys, in order" \
    "last_session last_session_time age_seconds sessions result files bytes changed new deleted increment_bytes duration errors" \
    sh -c "$SNAP -s --parsable-output lockrepo | cut -d' ' -f1 | tr '\n' ' ' | sed 's/ \$//'"
st=$(ls lockrepo/rdiff-backup-data/session_statistics.* | sort | tail -1)
t_out "... with the last session's numbers" \
    "ok $(awk '$1 == "SourceFiles" { f = $2 } $1 == "SourceFileSize" { b = $2 } END { print f, b }' "$st")" \
    sh -c "$SNAP -s --parsable-output lockrepo | awk '\$1 == \"result\" { r = \$2 } \$1 == \"files\" { f = \$2 } \$1 == \"bytes\" { b = \$2 } END { print r, f, b }'"

# a full disk: snap stops with 111 and one line; after space is freed
# the next snap recovers; nothing is lost
if [ "$(id -u)" = 0 ] && mkdir small && mount -t tmpfs -o size=1200k tmpfs small 2>/dev/null; then
	mkdir full-src && blob 5 200 >full-src/a && $SUM full-src >full.1
	$SNAP --current-time 1700000000 full-src small/repo
	blob 6 1100 >full-src/b
	$SNAP --current-time 1700000100 full-src small/repo 2>full.err
	t_out "snap on a full disk exits 111" 111 echo $?
	t "  ... with one clear line" sh -c \
	    "[ \$(wc -l <full.err) = 1 ] && grep -q 'No space left on device' full.err"
	t_exit 0 "restore after the full disk gives the last good session" \
	    sh -c "$SNAP -R small/repo && $RESTORE small/repo full.out"
	t "  ... unchanged" sh -c "$SUM full.out | cmp -s - full.1"
	rm full-src/b && blob 6 100 >full-src/b && $SUM full-src >full.2
	t_exit 0 "once space is free the next snap succeeds" \
	    $SNAP --current-time 1700000200 full-src small/repo
	t_exit 0 "  ... and both sessions restore" sh -c \
	    "$RESTORE -r 1700000000 small/repo f1 && $RESTORE small/repo f2 &&
	     $SUM f1 | cmp -s - full.1 && $SUM f2 | cmp -s - full.2"
	umount small
else
	skip "full disk on a small tmpfs" "needs root and tmpfs"
fi
t_done
