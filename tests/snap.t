# snap and restore round trip over a seven-session history, and two-way
# compatibility with rdiff-backup 2.2 (the oracle) on the same history.
. tests/harness.sh
. tests/lib/history.sh
sh mk/need.sh rdiff-backup:rdiff-backup || exit 111
export LC_ALL=C TZ=UTC
SNAP=$BIN/snap RESTORE=$BIN/restore SUM=$HELP/treesum
RB="rdiff-backup --terminal-verbosity 1"
cd "$T" || exit 111

N=7
time_of() { echo $((1700000000 + ($1 - 1) * 86400)); }

# the mirror (the repository without rdiff-backup-data) is the source
mirror_is() {
	$SUM repo | grep -v '^rdiff-backup-data' >mirror.sum
	cmp -s mirror.sum "$1" || { diff "$1" mirror.sum | head -20; return 1; }
}

make_tree src
for k in $(seq 1 $N); do
	[ "$k" -gt 1 ] && mutate "$k" src
	$SUM src >"sum.$k"
	cp src/dir/middle "middle.$k" 2>/dev/null
	t_exit 0 "snap session $k" $SNAP --current-time "$(time_of "$k")" src repo
	t "  ... leaves a mirror equal to the source ($k)" mirror_is "sum.$k"
	t_exit 0 "rdiff-backup session $k (for the reverse check)" \
	    $RB --current-time "$(time_of "$k")" backup src rrepo
done

same_tree() {	# same_tree DIR SUMFILE
	$SUM "$1" >"$1.sum" && cmp -s "$1.sum" "$2" || {
		diff "$2" "$1.sum" | head -20
		return 1
	}
}

for k in $(seq 1 $N); do
	tk=$(time_of "$k")
	t "restore -r session $k reproduces the tree" \
	    sh -c "$RESTORE -r $tk repo out.$k && true" &&
	    t "  ... byte for byte, with modes, owners, times, links ($k)" \
	    same_tree "out.$k" "sum.$k"
	t "rdiff-backup restores session $k of the snap repository" \
	    $RB restore --at "$tk" repo "rb.$k"
	t "  ... to the same tree ($k)" same_tree "rb.$k" "sum.$k"
	t "rdiff-backup verify --at session $k accepts it" \
	    $RB verify --at "$tk" repo
	t "restore reads session $k of rdiff-backup's repository" \
	    $RESTORE -r "$tk" rrepo "rr.$k"
	t "  ... to the same tree ($k)" same_tree "rr.$k" "sum.$k"
done

# list increments: one line per older session in which something changed
# (the last session changed nothing, so rdiff-backup lists 5 of 6)
t_out "rdiff-backup list increments counts the sessions" "5" \
    sh -c "$RB list increments repo | grep -c '^ *increments\\.'"
t_out "restore -l lists all seven sessions" "7" \
    sh -c "$RESTORE -l repo | grep -c '^20..-..-..T..:..:..Z'"
t_out "restore -l agrees with rdiff-backup's repository" \
    "$($RESTORE -l rrepo)" $RESTORE -l repo
t_exit 0 "restore -c verifies the current session" $RESTORE -c repo
t_exit 0 "restore -c -r 3B verifies an old session" $RESTORE -c -r 3B repo
# (rdiff-backup prints raw newlines and replaces non-UTF-8 bytes; restore
# escapes control bytes: compare the plain names)
rb_plain() { $RB list files --at "$1" repo | grep -a -v -e '[^ -~]' -e '^new$' -e '^line$'; }
our_plain() { $RESTORE -L -r "$1" repo | grep -a -v -e '[^ -~]' -e '\\[0-7][0-7][0-7]'; }
t_out "restore -L lists the files of a session like rdiff-backup" \
    "$(rb_plain "$(time_of 3)")" our_plain "$(time_of 3)"
our_newline() { $RESTORE -L repo | grep -a '^new\\012'; }
t_out "restore -L escapes a newline in a name" 'new\012line' our_newline

# rdiff-backup continues the snap repository, and snap continues after it
mutate 5 src 2>/dev/null
echo "added by the rdiff-backup session" >src/rb-added
$SUM src >sum.8
t_exit 0 "rdiff-backup backup onto the snap repository" \
    $RB --current-time "$(time_of 8)" backup src repo
echo "added by snap after rdiff-backup" >src/snap-added
rm src/rb-added
$SUM src >sum.9
t_exit 0 "snap continues after rdiff-backup" \
    $SNAP --current-time "$(time_of 9)" src repo
for k in 1 4 8 9; do
	t "restore -r session $k after the mixed history" \
	    $RESTORE -r "$(time_of "$k")" repo "mix.$k"
	t "  ... gives the same tree ($k)" same_tree "mix.$k" "sum.$k"
done
t "rdiff-backup verify accepts the mixed history" \
    $RB verify --at "$(time_of 8)" repo

# one path, by time spec
t "restore one file as of 7B" $RESTORE -r 7B repo/dir/middle one-file
t "  ... has its content of session 2" cmp one-file middle.2
t "restore one directory" $RESTORE -r "$(time_of 2)" repo/dir one-dir
t "  ... with its subtree of session 2" test -f one-dir/sub/created

# refusals
mkdir full && echo x >full/x
t_exit 100 "restore into a non-empty directory without -f exits 100" \
    $RESTORE repo full
t_exit 0 "restore -f into a non-empty directory" $RESTORE -f repo full
t_exit 100 "snap with a session time not after the last exits 100" \
    $SNAP --current-time "$(time_of 2)" src repo
t_exit 100 "snap into a non-empty directory that is no repository exits 100" \
    $SNAP src full
t_exit 100 "restore of a path not in the session exits 100" \
    $RESTORE repo/no/such/path nowhere
t_exit 100 "restore with a bad time exits 100" $RESTORE -r yesterday repo x
t_exit 100 "restore outside any repository exits 100" $RESTORE src x
t_exit 100 "snap of a missing source exits 100" $SNAP no-such-dir repo2

# a repository below a missing directory: a permanent error, or created
# with --create-full-path (rdiff-backup's option)
t_exit 100 "snap into a repository whose parent is missing exits 100" \
    $SNAP src no/such/repo
t_out "  ... with one line that names the option" \
    "snap: no/such/repo: parent directory does not exist (use --create-full-path)" \
    sh -c "$SNAP src no/such/repo 2>&1"
t "  ... and creates nothing" test ! -e no
t_exit 100 "snap into a repository below a regular file exits 100" \
    $SNAP src full/x/repo
t_exit 0 "snap --create-full-path creates the missing parents" \
    $SNAP --create-full-path src made/full/path/repo
t_out "  ... mode 0700, as rdiff-backup makes them" "700 700 700" \
    sh -c "echo \$(stat -c %a made made/full made/full/path)"
t "  ... and a repository there that restore verifies" \
    $RESTORE -c made/full/path/repo
t_exit 0 "snap --create-full-path into an existing repository" \
    $SNAP --create-full-path src made/full/path/repo
t_exit 100 "snap --create-full-path below a regular file exits 100" \
    $SNAP --create-full-path src full/x/repo
t_exit 100 "snap -s --create-full-path is a usage error" \
    $SNAP -s --create-full-path repo
t_done
