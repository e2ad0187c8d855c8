# prune: by time and by count, a dry run, rdiff-backup's view afterwards,
# and a prune killed at 20+ points leaving every remaining session whole.
. tests/harness.sh
. tests/lib/history.sh
sh mk/need.sh rdiff-backup:rdiff-backup strace:strace || exit 111
export LC_ALL=C TZ=UTC
SNAP=$BIN/snap RESTORE=$BIN/restore PRUNE=$BIN/prune SUM=$HELP/treesum
RB="rdiff-backup --terminal-verbosity 1"
cd "$T" || exit 111

day() { echo $((1700000000 + $1 * 86400)); }
make_flat src 60
for i in $(seq 1 8); do
	churn "$i" src
	$SUM src >"sum.$i"
	$SNAP --current-time "$(day "$i")" src repo || exit 111
done
cp -a repo base

sessions() { $RESTORE -l "$1" | wc -l; }
whole() {	# whole REPO FIRST LAST: sessions FIRST..LAST restore exactly
	for i in $(seq "$2" "$3"); do
		rm -rf "w.$i"
		$RESTORE -r "$(day "$i")" "$1" "w.$i" >/dev/null 2>&1 &&
		    $SUM "w.$i" | cmp -s - "sum.$i" || { echo "session $i"; return 1; }
	done
}

plan() { $PRUNE -n "$@" | sed 's/: [0-9]* bytes$//'; }
t_out "prune -n lists what would go, and why the rest stays" \
    "would remove $(date -u -d @"$(day 1)" +%FT%TZ)
would remove $(date -u -d @"$(day 2)" +%FT%TZ)
$(for i in 3 4 5 6 7 8; do echo "keep $(date -u -d @"$(day $i)" +%FT%TZ): since"; done)" \
    plan "$(day 3)" repo
t_out "  ... with the bytes each removal frees" \
    "$(du -bc repo/rdiff-backup-data/*.2023-11-15T* $(find repo/rdiff-backup-data/increments \
	-name '*.2023-11-15T*') | tail -1 | cut -f1)" \
    sh -c "$PRUNE -n '$(day 3)' repo | sed -n '1s/.*: \\([0-9]*\\) bytes$/\\1/p'"
t_out "  ... and changes nothing" 8 sessions repo
t_out "prune TIME is quiet" "" $PRUNE "$(day 3)" repo
t_out "  ... and removes the sessions before TIME" 6 sessions repo
t "  ... the others restore exactly" whole repo 3 8
t "  ... no file of the removed sessions is left" sh -c \
    "! find repo/rdiff-backup-data | grep -e '2023-11-15T' -e '2023-11-16T'"
t "rdiff-backup list increments accepts the pruned repository" \
    $RB list increments repo
for i in 3 5 8; do
	t "rdiff-backup verify --at session $i" $RB verify --at "$(day "$i")" repo
	t "rdiff-backup restore --at session $i" sh -c \
	    "$RB restore --at $(day "$i") repo rb.$i && $SUM rb.$i | cmp -s - sum.$i"
done
t_exit 0 "prune -k 2" $PRUNE -k 2 repo
t_out "  ... keeps two sessions" 2 sessions repo
t "  ... both restore" whole repo 7 8
t_exit 0 "prune now never removes the current mirror" $PRUNE now repo
t_out "  ... one session left" 1 sessions repo
t "  ... and it restores" whole repo 8 8
t_exit 0 "snap goes on after pruning everything" \
    $SNAP --current-time "$(day 9)" src repo
t_exit 100 "prune with a bad time exits 100" $PRUNE yesterday repo
t_exit 100 "prune -k 0 exits 100" $PRUNE -k 0 repo
t_exit 100 "prune of something that is no repository exits 100" $PRUNE 1D src

# rdiff-backup's own repository can be pruned as well
for i in 1 2 3; do
	$RB --current-time "$(day "$i")" backup "w.8" rbrepo >/dev/null 2>&1
done
t_exit 0 "prune of a repository rdiff-backup made" $PRUNE -k 1 rbrepo
t "  ... rdiff-backup still verifies it" $RB verify rbrepo

# the work follows what is removed: a session that changed one file costs
# a look into that file's directories, not into the whole history
rm -rf wide && mkdir wide && for d in $(seq 1 60); do mkdir wide/d$d && echo 0 >wide/d$d/f; done
$SNAP --current-time "$(day 1)" wide widerepo
echo 1 >wide/d7/f
$SNAP --current-time "$(day 2)" wide widerepo
for d in $(seq 1 60); do echo 2 >wide/d$d/f; done
$SNAP --current-time "$(day 3)" wide widerepo
strace -f -e trace=openat -o prune.trace $PRUNE "$(day 2)" widerepo
n=$(grep -c 'openat(.*"d[0-9]*",' prune.trace)
t "pruning a one-file session opens its directory, not all 60 ($n)" [ "$n" -le 2 ]
t "  ... and removes its increments" sh -c \
    "! ls widerepo/rdiff-backup-data/increments/d7 | grep -q 2023-11-15T"
t "  ... the rest restores" sh -c "$RESTORE -r $(day 2) widerepo wide.2 && grep -qx 1 wide.2/d7/f"

# killed at many points: what remains is always whole
kills=0 bad=
calls="unlinkat getdents64 openat newfstatat fsync close"
for i in $(seq 1 24); do
	rm -rf k && cp -a base k
	sc=$(echo $calls | cut -d' ' -f$((i % 6 + 1)))
	n=$((1 + (i * 5) % 29))
	strace -f -qq -o /dev/null -e trace="$sc" -e inject="$sc:signal=KILL:when=$n" \
	    $PRUNE -k 3 k >/dev/null 2>&1 && continue
	kills=$((kills + 1))
	first=$((9 - $(sessions k)))
	whole k "$first" 8 >/dev/null || bad="$bad $sc@$n"
	$PRUNE -k 3 k >/dev/null 2>&1 || bad="$bad rerun-$sc@$n"
	[ "$(sessions k)" = 3 ] || bad="$bad count-$sc@$n"
	find k/rdiff-backup-data | grep -q -e '2023-11-1[5-9]T' && bad="$bad leftovers-$sc@$n"
done
t "prune was killed at 20 or more points ($kills)" [ "$kills" -ge 20 ]
t "every remaining session restored after each kill; a rerun finished (${bad:-clean})" \
    [ -z "$bad" ]
t_done
