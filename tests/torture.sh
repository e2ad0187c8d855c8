# make torture: kill -9 snap, snap's own recovery and prune (removing
# the oldest sessions or thinning the middle) at random moments, with
# churn between runs, KILLS times (default 300).  After every kill the next run must go on by itself (no manual step): a
# repository that a plain `snap` cannot continue is stuck.  At the end
# every session that completed restores byte-exactly and rdiff-backup
# verifies it.  Prints TAP and the counts.
. tests/harness.sh
. tests/lib/history.sh
sh mk/need.sh rdiff-backup:rdiff-backup strace:strace setfattr:attr \
    setfacl:acl || exit 111
export LC_ALL=C
SNAP=$BIN/snap RESTORE=$BIN/restore PRUNE=$BIN/prune SUM=$HELP/treesum
RB="rdiff-backup --terminal-verbosity 1"
: "${KILLS:=300}"
cd "$T" || exit 111

make_flat src 200
blob 7 2000 >src/big
# extended attributes and ACLs on some files, changed by the churn too
xattrs=no
if isroot && setfattr -n user.t -v 0 src/big 2>/dev/null; then
	xattrs=yes
	for f in $(ls src | head -20); do
		setfattr -n user.t -v "$f" "src/$f"
	done
	setfacl -m u:4242:r-- src/big
fi
t=1700000000
$SNAP --current-time $t src repo || exit 111
$SUM src >"sum.$t"
[ $xattrs = yes ] && xsum src >"xa.$t"
done_times=$t
# syscalls to die at, and the tools to kill
calls="openat write renameat unlinkat close read fchmod newfstatat pwrite64 \
getdents64 syncfs fsync mkdirat linkat"
kills=0 snapkills=0 reckills=0 prunekills=0 stuck=0 manual=0 runs=0
i=0
rand() { od -An -N2 -tu2 /dev/urandom | tr -d ' '; }
while [ "$kills" -lt "$KILLS" ]; do
	i=$((i + 1))
	churn "$i" src
	if [ $xattrs = yes ]; then
		f=$(ls src | sed -n "$(( $(rand) % 50 + 1 ))p")
		[ -f "src/$f" ] && setfattr -n user.t -v "$i" "src/$f"
		[ $((i % 5)) = 0 ] && [ -f "src/$f" ] &&
		    setfacl -m "u:$((4000 + i)):r--" "src/$f"
	fi
	sc=$(echo $calls | tr ' ' '\n' | sed -n "$(( $(rand) % 14 + 1 ))p")
	k=$(( $(rand) % 40 + 1 ))
	t=$((t + 60))
	case $(( $(rand) % 4 )) in
	0|1)	tool=snap
		set -- $SNAP --current-time $t src repo ;;
	2)	tool=rec
		# an interrupted session first, then kill its rollback
		strace -f -qq -o /dev/null -e trace=syncfs \
		    -e inject=syncfs:signal=KILL $SNAP --current-time $t src repo \
		    >/dev/null 2>&1
		t=$((t + 60))
		set -- $SNAP -R repo ;;
	3)	tool=prune
		# from the oldest end, or thinning the middle by the hour
		if [ $(( $(rand) % 2 )) = 0 ]; then
			set -- $PRUNE -k 5 repo
		else
			set -- $PRUNE --keep-last 3 --keep-hourly 3 repo
		fi ;;
	esac
	strace -f -qq -o /dev/null -e trace="$sc" \
	    -e inject="$sc:signal=KILL:when=$k" "$@" >/dev/null 2>&1
	rc=$?
	runs=$((runs + 1))
	if [ "$rc" = 137 ]; then
		kills=$((kills + 1))
		case $tool in
		snap) snapkills=$((snapkills + 1)) ;;
		rec) reckills=$((reckills + 1)) ;;
		prune) prunekills=$((prunekills + 1)) ;;
		esac
	fi
	# whatever happened, the next plain snap must complete
	t=$((t + 60))
	if ! $SNAP --current-time $t src repo >"next.$i" 2>&1; then
		stuck=$((stuck + 1))
		echo "# stuck after $tool killed at $sc #$k:" \
		    "$(head -1 "next.$i")"
		manual=$((manual + 1))
		rm -rf repo && cp -a "good" repo 2>/dev/null
		continue
	fi
	$SUM src >"sum.$t"
	[ $xattrs = yes ] && xsum src >"xa.$t"
	done_times="$done_times $t"
	# sessions that prune removed are no longer expected
	kept=
	listed=$($RESTORE -l repo 2>/dev/null | cut -d' ' -f1)
	for d in $done_times; do
		s=$(date -u -d @"$d" +%Y-%m-%dT%H:%M:%SZ)
		case $listed in *"$s"*) kept="$kept $d" ;; esac
	done
	done_times=$kept
	rm -rf good && cp -a repo good
done
t_out "$kills kills ($snapkills snap, $reckills rollback, $prunekills prune) in $runs runs: stuck repositories" 0 echo $stuck
t_out "  ... manual steps" 0 echo $manual
bad=0 n=0
for d in $done_times; do
	n=$((n + 1))
	rm -rf out
	if ! $RESTORE -r "$d" repo out >/dev/null 2>&1 ||
	    ! $SUM out | cmp -s - "sum.$d" || { [ $xattrs = yes ] &&
	    ! xsum out | cmp -s - "xa.$d"; }; then
		bad=$((bad + 1))
		echo "# session $d does not restore exactly"
	fi
	$RB verify --at "$d" repo >/dev/null 2>&1 || {
		bad=$((bad + 1)); echo "# rdiff-backup verify fails at $d"; }
done
t_out "  ... every completed session still held ($n) restores exactly (xattrs and ACLs: $xattrs) and verifies" 0 echo $bad
t_done
