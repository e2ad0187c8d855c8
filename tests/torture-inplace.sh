# make torture, in place: kill -9 snap through the agent (snap --server
# run locally by --remote-schema, no ssh) while it patches mirror files in
# place, at random counts of the syscalls of that phase, INPLACE_KILLS
# times (default 100).  Every fifth killed repository is also rolled back
# by rdiff-backup's regress, on a copy, which must give the last complete
# session.  After every kill the next plain run must complete by itself;
# at the end every completed session restores byte-exactly, and
# rdiff-backup verifies every tenth and the last (its verify of an old
# session replays the whole chain: all would take most of an hour).
# Prints TAP and the counts.
. tests/harness.sh
sh mk/need.sh rdiff-backup:rdiff-backup strace:strace || exit 111
export LC_ALL=C
SNAP=$BIN/snap RESTORE=$BIN/restore
RB="rdiff-backup --terminal-verbosity 1"
: "${INPLACE_KILLS:=100}"
cd "$T" || exit 111

AGENT="env H={h} $SNAP --server"
snap_at() {
	$SNAP --current-time "$1" --remote-schema "$AGENT" "x:$T/src" repo
}
sums() { (cd "$1" && sha1sum a b z); }
rand() { od -An -N2 -tu2 /dev/urandom | tr -d ' '; }
# overwrite a few stretches of each file; now and then append, cut or
# zero 64 KiB (a hole in the mirror); dated in the past, each round anew
change() {
	for f in a b z; do
		n=$(( $(rand) % 3 + 1 ))
		while [ "$n" -gt 0 ]; do
			kb=$(( $(stat -c %s "src/$f") / 1000 ))
			head -c $(( ($(rand) % 64 + 1) * 1000 )) /dev/urandom |
			    dd of="src/$f" bs=1000 seek=$(( $(rand) % kb )) \
			    conv=notrunc status=none
			n=$((n - 1))
		done
		case $(( $(rand) % 6 )) in
		0) head -c $(( $(rand) % 50000 + 1 )) /dev/urandom >>"src/$f" ;;
		1) truncate -s -$(( $(rand) % 50000 + 1 )) "src/$f" ;;
		2) head -c 65536 /dev/zero | dd of="src/$f" bs=65536 \
		    seek=$(( $(rand) % 10 )) conv=notrunc status=none ;;
		esac
		touch -d @$(($1 - 30)) "src/$f"
	done
}

mkdir src
head -c 3000000 /dev/urandom >src/a
head -c 2000000 /dev/urandom >src/b
head -c 1500000 /dev/zero >src/z
t=1700000000
touch -d @$((t - 30)) src/*
snap_at $t >/dev/null || exit 111
sums src >"sum.$t"
done_times=$t last=$t
calls="pwrite64 fallocate ftruncate fsync fdatasync syncfs utimensat fchmod openat renameat"
ncalls=$(echo $calls | wc -w)
kills=0 failed=0 runs=0 stuck=0 still=0 regressed=0 rbbad=0 i=0
while [ "$kills" -lt "$INPLACE_KILLS" ] && [ "$i" -lt $((INPLACE_KILLS * 3)) ]; do
	i=$((i + 1))
	t=$((t + 60))
	change $t
	sc=$(echo $calls | tr ' ' '\n' | sed -n "$(( $(rand) % ncalls + 1 ))p")
	k=$(( $(rand) % 8 + 1 ))
	strace -f -qq -o /dev/null -e trace="$sc" \
	    -e inject="$sc:signal=KILL:when=$k" $SNAP --current-time $t \
	    --remote-schema "$AGENT" "x:$T/src" repo >/dev/null 2>&1
	rc=$?
	runs=$((runs + 1))
	case $rc in
	0)	sums src >"sum.$t"
		done_times="$done_times $t" last=$t ;;
	137)	kills=$((kills + 1))
		if [ $((kills % 5)) = 0 ]; then
			rm -rf rbrepo rbout && cp -a repo rbrepo
			$RB regress rbrepo >/dev/null 2>&1
			if [ $? -le 2 ] && $RESTORE rbrepo rbout >/dev/null 2>&1 &&
			    sums rbout | cmp -s - "sum.$last"; then
				regressed=$((regressed + 1))
			else
				rbbad=$((rbbad + 1))
				echo "# rdiff-backup regress after $sc #$k: not session $last"
			fi
		fi ;;
	*)	failed=$((failed + 1)) ;;	# the agent killed: a lost link
	esac
	# whatever happened, the next plain run completes, in place mostly
	t=$((t + 60))
	ino=$(stat -c %i repo/a)
	if ! snap_at $t >"next.$i" 2>&1; then
		stuck=$((stuck + 1))
		echo "# stuck after a kill at $sc #$k: $(head -1 "next.$i")"
		break
	fi
	[ "$(stat -c %i repo/a)" = "$ino" ] && still=$((still + 1))
	sums src >"sum.$t"
	done_times="$done_times $t" last=$t
done
t_out "$kills kills in place, $failed agent deaths, in $runs runs: stuck repositories" 0 echo $stuck
t "  ... the next run patched a's mirror file in place $still times" [ "$still" -gt 0 ]
t_out "  ... rdiff-backup regress gave the last session ($regressed times): failures" 0 echo $rbbad
bad=0 n=0
for d in $done_times; do
	n=$((n + 1))
	rm -rf out
	if ! $RESTORE -r "$d" repo out >/dev/null 2>&1 ||
	    ! sums out | cmp -s - "sum.$d"; then
		bad=$((bad + 1))
		echo "# session $d does not restore exactly"
	fi
	[ $((n % 10)) = 0 ] || [ "$d" = "$last" ] || continue
	$RB verify --at "$d" repo >/dev/null 2>&1 || {
		bad=$((bad + 1)); echo "# rdiff-backup verify fails at $d"; }
done
t_out "  ... every completed session ($n) restores exactly, a tenth verify" 0 echo $bad
t_done
