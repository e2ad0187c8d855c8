# Repositories written with rdiff-backup --use-compatible-timestamps,
# whose file names spell times with "-" for ":" (2023-11-14T22-13-20Z):
# snap continues them in that spelling (markers, metadata, statistics,
# increments at every depth, long-name increments), restore lists,
# restores and verifies every session, prune removes the oldest, snap's
# rollback of a killed session keeps the spelling, and rdiff-backup
# still lists, restores, verifies and continues them after snap.
. tests/harness.sh
. tests/lib/history.sh
sh mk/need.sh rdiff-backup:rdiff-backup strace:strace || exit 111
export LC_ALL=C TZ=UTC
SNAP=$BIN/snap RESTORE=$BIN/restore PRUNE=$BIN/prune SUM=$HELP/treesum
RB="rdiff-backup --terminal-verbosity 1"
RBC="$RB --use-compatible-timestamps"
cd "$T" || exit 111

time_of() { echo $((1700000000 + ($1 - 1) * 86400)); }
# the file-name spelling of session k's time, and the listing's one
dashed() { date -u -d @"$(time_of "$1")" +%Y-%m-%dT%H-%M-%SZ; }
listed() { date -u -d @"$(time_of "$1")" +%Y-%m-%dT%H:%M:%SZ; }

same_tree() {	# same_tree DIR SUMFILE
	$SUM "$1" >"$1.sum" && cmp -s "$1.sum" "$2" || {
		diff "$2" "$1.sum" | head -20
		return 1
	}
}
# no file or directory in the data dir has a time spelt with colons
no_colons() {
	n=$(find "$1/rdiff-backup-data" -name '*T[0-9][0-9]:[0-9][0-9]:*' | wc -l)
	[ "$n" = 0 ] || { find "$1/rdiff-backup-data" -name '*T[0-9][0-9]:*' | head; return 1; }
}
# the only marker is session k's, with dashes
marker_is() {
	ls "$1/rdiff-backup-data" | grep '^current_mirror\.' >markers
	echo "current_mirror.$(dashed "$2").data" | cmp -s - markers || {
		cat markers
		return 1
	}
}
# restore and rdiff-backup both give back session k of repository r
check_session() {	# check_session REPO K
	r=$1 k=$2 tk=$(time_of "$2")
	rm -rf "$r.out.$k" "$r.rb.$k"
	t "restore -r session $k of $r" $RESTORE -r "$tk" "$r" "$r.out.$k"
	t "  ... byte for byte ($r, $k)" same_tree "$r.out.$k" "sum.$k"
	t "  ... restore -c verifies it ($r, $k)" $RESTORE -c -r "$tk" "$r"
	t "rdiff-backup restore --at session $k of $r" \
	    $RB restore --at "$tk" "$r" "$r.rb.$k"
	t "  ... byte for byte ($r, $k)" same_tree "$r.rb.$k" "sum.$k"
	t "  ... rdiff-backup verify --at it ($r, $k)" $RB verify --at "$tk" "$r"
}
listing() {	# listing K...: what restore -l prints first on each line
	for k; do listed "$k"; done
}

# -- three sessions by rdiff-backup with compatible timestamps --------
make_tree src
for k in 1 2 3; do
	[ "$k" -gt 1 ] && mutate "$k" src
	$SUM src >"sum.$k"
	$RBC --current-time "$(time_of "$k")" backup src repo || exit 111
done
t "rdiff-backup wrote every time with dashes" no_colons repo
t "  ... in increments/ too" sh -c \
    "ls repo/rdiff-backup-data/increments | grep -q '^dir\\.$(dashed 1)\\.dir\$'"
t "  ... and its marker" marker_is repo 3

# -- snap continues it for two sessions --------------------------------
for k in 4 5; do
	mutate "$k" src
	$SUM src >"sum.$k"
	t_exit 0 "snap continues the compatible-timestamps repository ($k)" \
	    $SNAP --current-time "$(time_of "$k")" src repo
	t "  ... leaves one marker, spelt with dashes ($k)" marker_is repo "$k"
	t "  ... and writes no time with colons ($k)" no_colons repo
done
t "snap wrote its increments with dashes at depth" sh -c \
    "ls repo/rdiff-backup-data/increments/dir | grep -q '^sub\\.$(dashed 3)\\.dir\$'"
t "snap wrote long-name increments with dashes" sh -c \
    "ls repo/rdiff-backup-data/long_filename_data | grep -q '\\.$(dashed 4)\\.'"
t "snap wrote its metadata diff and statistics with dashes" sh -c \
    "ls repo/rdiff-backup-data | grep -q '^mirror_metadata\\.$(dashed 4)\\.diff' &&
     ls repo/rdiff-backup-data | grep -q '^session_statistics\\.$(dashed 5)\\.data\$'"
t_exit 0 "snap -s finds the session's statistics (healthy)" $SNAP -s repo
t_out "restore -l lists the five sessions" "$(listing 1 2 3 4 5)" \
    sh -c "$RESTORE -l repo | cut -d' ' -f1"
t_out "rdiff-backup list increments sees four increments" 4 \
    sh -c "$RB list increments repo | grep -c '^ *increments\\.'"
for k in 1 2 3 4 5; do
	check_session repo "$k"
done
t "restore -r takes a time spelt as in the file names" \
    $RESTORE -r "$(dashed 2)" repo out.dashed
t "  ... and restores that session" same_tree out.dashed sum.2

# -- rdiff-backup continues after snap ---------------------------------
cp -a repo repo.before-rb
mutate 6 src
$SUM src >sum.6
t_exit 0 "rdiff-backup continues the repository after snap" \
    $RBC --current-time "$(time_of 6)" backup src repo
t "  ... still one marker with dashes" marker_is repo 6
t "  ... and no time with colons" no_colons repo
check_session repo 6
check_session repo 4

# -- prune of the oldest session ---------------------------------------
t_exit 0 "prune removes the oldest session" $PRUNE -k 5 repo
t_out "  ... no file of it is left" "" sh -c \
    "find repo/rdiff-backup-data -name '*$(dashed 1)*'"
t_out "  ... restore -l lists the five others" "$(listing 2 3 4 5 6)" \
    sh -c "$RESTORE -l repo | cut -d' ' -f1"
t_out "  ... rdiff-backup lists four increments" 4 \
    sh -c "$RB list increments repo | grep -c '^ *increments\\.'"
for k in 2 5; do
	check_session repo "$k"
done

# -- a snap killed mid-session, rolled back by the next snap -----------
cp -a repo.before-rb crash
echo "changed before the kill" >>src/a.txt
mkdir -p src/crashdir/deeper && echo x >src/crashdir/deeper/f
rm -r src/newtree/x
touch -d @1650000001 src/a.txt
strace -f -qq -o /dev/null -e trace=renameat,rename -e inject=renameat:signal=KILL:when=2 \
    $SNAP --current-time "$(time_of 6)" src crash >/dev/null 2>&1
t "a killed snap leaves two markers, both with dashes" sh -c \
    "[ \$(ls crash/rdiff-backup-data | grep -c '^current_mirror\\.') = 2 ]" &&
    t "  ... the new one with dashes too" no_colons crash
t_exit 111 "restore refuses the interrupted repository" $RESTORE -l crash
$SUM src >sum.7
t_exit 0 "the next snap rolls it back and runs a session" \
    $SNAP --current-time "$(time_of 7)" src crash
t "  ... one marker, with dashes" marker_is crash 7
t "  ... and no time with colons" no_colons crash
t_out "  ... the killed session is gone, the others listed" \
    "$(listing 1 2 3 4 5 7)" sh -c "$RESTORE -l crash | cut -d' ' -f1"
for k in 1 3 5 7; do
	check_session crash "$k"
done

# the same kill, rolled back on request (snap -R), then by rdiff-backup's
# continuation
cp -a repo.before-rb crash2
strace -f -qq -o /dev/null -e trace=renameat,rename -e inject=renameat:signal=KILL:when=2 \
    $SNAP --current-time "$(time_of 6)" src crash2 >/dev/null 2>&1
t_exit 0 "snap -R rolls back the killed session" $SNAP -R crash2
t "  ... to the last complete session's marker" marker_is crash2 5
t "  ... and no time with colons" no_colons crash2
check_session crash2 5
t_exit 0 "rdiff-backup continues after the rollback" \
    $RBC --current-time "$(time_of 7)" backup src crash2
check_session crash2 7

# -- a new repository still gets colons, as rdiff-backup writes by default
mkdir fresh && echo f >fresh/f
t_exit 0 "snap makes a new repository" $SNAP --current-time 1700000000 fresh newrepo
t "  ... with colons in its times" test -f \
    newrepo/rdiff-backup-data/current_mirror.2023-11-14T22:13:20Z.data
t_done
