# prune thinning the middle of the history: a 42-session history over
# three simulated months (every file type, content, metadata-only and
# type changes, deletions and re-creations, hard links, a long name),
# thinned by a calendar policy; every kept session restores byte-exact
# with restore and with rdiff-backup, which verifies each and lists
# exactly the kept ones.  Then single merges by --session, damage that
# stops a merge before it changes anything, and a thinning prune killed
# at THIN_KILLS points (make torture: more) whose survivors always
# restore right or are refused until the next prune finishes.
. tests/harness.sh
. tests/lib/history.sh
sh mk/need.sh rdiff-backup:rdiff-backup strace:strace || exit 111
export LC_ALL=C TZ=UTC
SNAP=$BIN/snap RESTORE=$BIN/restore PRUNE=$BIN/prune SUM=$HELP/treesum
RB="rdiff-backup --terminal-verbosity 1"
: "${THIN_KILLS:=4}"
cd "$T" || exit 111

# session i: daily for two weeks from 2023-01-01 02:00, then every 3 days
at() {
	if [ "$1" -le 14 ]; then d=$1; else d=$((14 + ($1 - 14) * 3)); fi
	echo $((1672538400 + (d - 1) * 86400))
}
stamp() { date -u -d "@$(at "$1")" +%FT%TZ; }
long=$(printf '%0250d' 0 | tr 0 L)
N=42
make_tree src
make_flat src/flat 80
for i in $(seq 1 $N); do
	if [ "$i" -ge 2 ] && [ "$i" -le 7 ]; then
		mutate "$i" src
	elif [ "$i" -gt 7 ]; then
		case $((i % 4)) in
		0) mutate 3 src 2>/dev/null ;;		# file <-> dir <-> link
		2) mutate 6 src ;;
		esac
		[ $((i % 2)) = 1 ] && echo "$i" >>"src/$long"
		[ $((i % 3)) = 0 ] && printf 'X%s' "$i" |
		    dd of=src/big bs=1 seek=$((i * 100)) conv=notrunc 2>/dev/null
		[ $((i % 5)) = 0 ] && chmod $((600 + i % 2 * 44)) src/a.txt
		echo "$i" >>src/every	# a diff in every session
	fi
	[ "$i" -ge 2 ] && churn "$i" src/flat
	$SUM src >"sum.$i"
	$SNAP --current-time "$(at "$i")" src repo || exit 111
done
cp -a repo base

sessions() { $RESTORE -l "$1" | cut -d' ' -f1; }
# whole REPO I...: sessions I restore exactly with restore
whole() {
	r=$1; shift
	for i in "$@"; do
		rm -rf "w.$i"
		$RESTORE -r "$(at "$i")" "$r" "w.$i" >/dev/null 2>&1 &&
		    $SUM "w.$i" | cmp -s - "sum.$i" || { echo "session $i"; return 1; }
	done
}

# What restic's rules keep (newest per distinct day, ISO week and month,
# counted back from the newest), from date(1)'s calendar.
expect() {
	for i in $(seq $N -1 1); do
		t=$(at "$i")
		echo "$i $(date -u -d "@$t" '+%F %G-%V %Y-%m')"
	done | awk -v d=7 -v w=4 -v m=3 '{
		keep = NR == 1
		if (d > 0 && $2 != ld) { keep = 1; ld = $2; d-- }
		if (w > 0 && $3 != lw) { keep = 1; lw = $3; w-- }
		if (m > 0 && $4 != lm) { keep = 1; lm = $4; m-- }
		if (keep) print $1
	}' | sort -n
}
kept=$(expect)
t "the policy keeps some and removes some ($(echo $kept | wc -w) of $N)" \
    [ "$(echo $kept | wc -w)" -gt 8 -a "$(echo $kept | wc -w)" -lt 20 ]
t_out "prune -n plans to keep what restic's rules keep" \
    "$(for i in $kept; do stamp "$i"; done)" sh -c \
    "$PRUNE -n --keep-daily 7 --keep-weekly 4 --keep-monthly 3 repo |
     sed -n 's/^keep \(.*Z\): .*/\1/p'"
t_out "... saying why each stays" "keep $(stamp $N): daily 1, weekly 1, monthly 1" \
    sh -c "$PRUNE -n --keep-daily 7 --keep-weekly 4 --keep-monthly 3 repo | tail -1"
t_out "... and changing nothing" $N sh -c "$RESTORE -l repo | wc -l"
t_exit 0 "prune --keep-daily 7 --keep-weekly 4 --keep-monthly 3" \
    $PRUNE --keep-daily 7 --keep-weekly 4 --keep-monthly 3 repo
t_out "... leaves exactly those sessions" \
    "$(for i in $kept; do stamp "$i"; done)" sessions repo
t_out "... which rdiff-backup lists too" \
    "$(for i in $kept; do at "$i"; done)" sh -c \
    "$RB --parsable-output list increments repo | cut -d' ' -f1 | sort -n"
t "... every one restores exactly" whole repo $kept
bad=
for i in $kept; do
	rm -rf rb
	$RB restore --at "$(at "$i")" repo rb >/dev/null 2>&1 &&
	    $SUM rb | cmp -s - "sum.$i" || bad="$bad restore@$i"
	$RB verify --at "$(at "$i")" repo >/dev/null 2>&1 || bad="$bad verify@$i"
done
t "... and restores the same with rdiff-backup, which verifies each (${bad:-all})" \
    [ -z "$bad" ]
left=
for i in $(seq 1 $N); do
	case " $(echo $kept) " in *" $i "*) continue ;; esac
	ts=$(date -u -d "@$(at "$i")" +%FT%T)
	find repo -name "*$ts*" | grep -q . && left="$left $i"
done
t "... no file of a removed session is left (${left:-none})" [ -z "$left" ]
t "... nor the staging directory or journal" sh -c \
    "! ls repo/rdiff-backup-data | grep -q prune"
# incsize T NEXT: what the statistics of NEXT say T's increments take, and
# what they do take (regular files and symlinks stamped T)
incsize() {
	d=repo/rdiff-backup-data
	echo "$(sed -n 's/^IncrementFileSize \([0-9]*\) .*/\1/p' \
	    "$d/session_statistics.$2.data")" \
	    "$(find "$d/increments" "$d/long_filename_data" \( -type f -o -type l \) \
	    -name "*.$1.*" -printf '%s\n' | awk '{ n += $1 } END { print n + 0 }')"
}
bad=
prev=
for s in $(sessions repo); do
	[ -n "$prev" ] && set -- $(incsize "$prev" "$s") && [ "$1" != "$2" ] &&
	    bad="$bad $prev:$1/$2"
	prev=$s
done
t "... each kept session's statistics give its merged increments' size (${bad:-all})" \
    [ -z "$bad" ]
t "restore -l --size shows them, the current mirror's total last" sh -c \
    "$RESTORE -l --size repo | tail -1 | grep -q 'KB  (current mirror)\$' &&
     test \$($RESTORE -l --size repo | grep -c ' bytes  ') -ge 1"
# sizes_agree REPO: rdiff-backup's list increments --size and ours name the
# same sizes, ours also counting the increments of long names (in
# long_filename_data, which rdiff-backup's walk leaves out)
yaml_sizes() { awk '/^- size:/ { s = $3 } /^  time:/ { print $2, s }'; }
sizes_agree() {
	rdiff-backup --parsable-output list increments --size "$1" |
	    yaml_sizes >rb.sizes &&
	$RESTORE -l --size --parsable-output "$1" | yaml_sizes >our.sizes &&
	[ "$(wc -l <rb.sizes)" = "$(sessions "$1" | wc -l)" ] &&
	[ "$(join rb.sizes our.sizes | wc -l)" = "$(wc -l <rb.sizes)" ] &&
	join rb.sizes our.sizes | {
		bad=0
		while read -r tm a b; do
			l=$(find "$1/rdiff-backup-data/long_filename_data" -type f \
			    -name "*.$(date -u -d "@$tm" +%FT%TZ).*" -printf '%s\n' |
			    awk '{ n += $1 } END { print n + 0 }')
			[ $((a + l)) = "$b" ] ||
			    { echo "$tm: rdiff-backup $a + long names $l, ours $b"; bad=1; }
		done
		exit $bad
	}
}
t "restore -l --size --parsable-output agrees with rdiff-backup's, thinned" \
    sizes_agree repo
t "... and on the untouched history" sizes_agree base
cp -a repo maxs
t_exit 0 "prune --max-size 4K" $PRUNE --max-size 4K maxs
# the history that stays: its increments (from the statistics) and files
hist() {
	d=$1/rdiff-backup-data
	set -- $(sessions "$1")
	n=0
	while [ $# -gt 1 ]; do
		n=$((n + $(sed -n 's/^IncrementFileSize \([0-9]*\) .*/\1/p' \
		    "$d/session_statistics.$2.data") + $(find "$d" -maxdepth 1 \
		    -type f -name "*.$1.*" -printf '%s\n' | awk '{ n += $1 } END { print n + 0 }')))
		shift
	done
	echo "$n"
}
t "... removes the oldest until the history fits ($(hist repo) -> $(hist maxs) bytes)" sh -c \
    "[ $(hist maxs) -le 4096 ] && [ $(hist repo) -gt 4096 ] &&
     [ \"\$($RESTORE -l repo | tail -$(sessions maxs | wc -l))\" = \"\$($RESTORE -l maxs)\" ]"
t_exit 100 "prune --max-size with no size exits 100" $PRUNE --max-size lots maxs

t_exit 0 "snap goes on after thinning" $SNAP --current-time "$(($(at $N) + 86400))" src repo
t_exit 0 "... and rdiff-backup backs up after it" \
    $RB --current-time "$(($(at $N) + 2 * 86400))" backup src repo
t "... and verifies the newest" $RB verify repo

# restore -c -r all: every session verified in one run, one line each
t_out "restore -c -r all verifies every session, newest first" \
    "$(sessions base | sort -r | sed 's/$/  verified/')" sh -c \
    "$RESTORE -c -r all base | sed 's/: .*//; s/  verified\$//; s/\$/  verified/'"
t "... rebuilding only what changed after the newest (not even a third)" sh -c \
    "$RESTORE -c -r all base | awk 'NR > 1 { r += \$5; n += \$3 } END { exit !(r * 3 < n) }'"
rm -rf va && cp -a base va
f=va/rdiff-backup-data/increments/every.$(stamp 30).diff.gz
printf 'garbage' >"$f"
t_exit 1 "... and with a damaged diff exits 1" sh -c "$RESTORE -c -r all va >va.out 2>va.err"
for s in $(sessions va); do
	$RESTORE -c -r "$s" va >/dev/null 2>&1 || echo "$s"
done | sort -r >want.va
want=$(cat want.va)
t_out "... naming the sessions that session by session verify fails" "$want" \
    sh -c "grep DAMAGED va.out | cut -d' ' -f1"
t "... which are those rdiff-backup verify fails (sessions 8 to 30 have the file)" sh -c \
    "! $RB verify --at $(at 30) va >/dev/null 2>&1 && ! $RB verify --at $(at 8) va >/dev/null 2>&1 &&
     $RB verify --at $(at 31) va >/dev/null 2>&1 && $RB verify --at $(at 7) va >/dev/null 2>&1 &&
     [ \$(wc -l <want.va) = 23 ] && grep -qx $(stamp 30) want.va && grep -qx $(stamp 8) want.va"

# restore -L --changed-since: rdiff-backup's list files --changed-since
plain_names() { LC_ALL=C grep -a -E '^[A-Za-z0-9._/-]+$'; }
plain() { LC_ALL=C grep -a -E '^(new|changed|deleted) +[A-Za-z0-9._/-]+$'; }
ours_since() { $RESTORE -L "$@" base | plain; }
ours_nul() { $RESTORE -L --null-separator "$@" base | tr '\0' '\n' | plain_names; }
for k in 10 30 41; do
	t_out "restore -L --changed-since session $k: what rdiff-backup lists" \
	    "$(rdiff-backup list files --changed-since "$(at $k)" base | plain)" \
	    ours_since --changed-since "$(at $k)"
done
t "... with -v, what changed: a file's content, a type" sh -c \
    "$RESTORE -v -L --changed-since $(at 41) base >since.v &&
     grep -Eqx 'changed every \\(content(, mtime)?\\)' since.v &&
     grep -Eq '^changed [a-z-]+ \\(type [a-z]+ to [a-z]+\\)\$' since.v"
t_out "... with -r, between two sessions; --null-separator: paths only" \
    "$($RESTORE -L --changed-since "$(at 20)" -r "$(at 21)" base | sed 's/^[a-z]* *//' | plain_names)" \
    ours_nul --changed-since "$(at 20)" -r "$(at 21)"
t "... which names something" sh -c \
    "$RESTORE -L --null-separator --changed-since $(at 20) -r $(at 21) base | grep -qa ."

# --session: one middle session, of each kind of change
for k in 3 4 6 9 12 30; do
	rm -rf s && cp -a base s
	o=$((k - 1)) n=$((k + 1))
	t_exit 0 "prune --session $(stamp $k) (session $k)" $PRUNE --session "$(at $k)" s
	t "... its neighbours and the oldest and newest restore exactly" \
	    whole s 1 $o $n $N
	t "... rdiff-backup verifies and restores the older one" sh -c \
	    "$RB verify --at $(at $o) s >/dev/null 2>&1 && rm -rf rb &&
	     $RB restore --at $(at $o) s rb >/dev/null 2>&1 && $SUM rb | cmp -s - sum.$o"
done
t_out "prune --session of a time with no session exits 100" 100 sh -c \
    "$PRUNE --session 2020-01-01 s 2>/dev/null; echo \$?"
# several at once: runs of neighbours merge in one pass each
rm -rf s && cp -a base s
t_exit 0 "prune --session of sessions 5, 6, 7, 8 and 12 in one command" \
    $PRUNE --session "$(at 6)" --session "$(at 5)" --session "$(at 12)" \
    --session "$(at 8)" --session "$(at 7)" s
t_out "... leaves the others" \
    "$(sessions base | grep -v -e "^$(stamp 5)" -e "^$(stamp 6)" -e "^$(stamp 7)" \
    -e "^$(stamp 8)" -e "^$(stamp 12)")" sessions s
t "... the sessions around them restore exactly" whole s 1 4 9 11 13 $N
t "... rdiff-backup verifies and restores session 4" sh -c \
    "$RB verify --at $(at 4) s >/dev/null 2>&1 && rm -rf rb &&
     $RB restore --at $(at 4) s rb >/dev/null 2>&1 && $SUM rb | cmp -s - sum.4"
t_out "prune --session of the newest with another exits 100" 100 sh -c \
    "$PRUNE --session $(at 3) --session now s 2>err.multi; echo \$?"
t "... saying to undo it on its own" grep -q 'undo it with --session alone' err.multi
# undo the last backup: the mirror goes back to the session before
rm -rf u && cp -a base u
t_out "prune -n --session of the newest says it would undo it" \
    "would undo the newest session: the mirror goes back to $(stamp $((N - 1)))" \
    $PRUNE -n --session now u
t_exit 0 "prune --session of the newest (undo the last backup)" \
    env PATH=/nonexistent $PRUNE --session now u
t_out "... leaves the sessions before it" \
    "$(sessions base | sed '$d')" sessions u
t "... the mirror is the one before, the others restore exactly" \
    whole u $((N - 1)) $((N - 2)) 1
t "... rdiff-backup verifies it" $RB verify u
t_exit 0 "... and snap goes on" $SNAP --current-time "$(($(at $N) + 3600))" src u
t "... with the source as it is" sh -c \
    "$RESTORE u u.now >/dev/null 2>&1 && $SUM u.now | cmp -s - sum.$N"
cp -a base u1 && $PRUNE -k 1 u1
t_out "prune --session of the only session exits 100" 100 sh -c \
    "$PRUNE --session now u1 2>/dev/null; echo \$?"

# damage found while merging stops it before anything changes
rm -rf d && cp -a base d
f=d/rdiff-backup-data/increments/every.$(date -u -d "@$(at 20)" +%FT%TZ).diff.gz
t "a diff of the older neighbour to damage" [ -f "$f" ]
printf 'garbage' >"$f"
find d -type f ! -name lock.yml -exec sha1sum {} + | sort >d.before
t_exit 100 "prune --session over a damaged increment exits 100" \
    $PRUNE --session "$(at 21)" d
t "... and leaves the repository as it was" sh -c \
    "find d -type f ! -name lock.yml -exec sha1sum {} + | sort | cmp -s - d.before &&
     ! ls d/rdiff-backup-data | grep -q prune"

# a journal left by a kill: snap finishes it before its own session
rm -rf j && cp -a base j
sh -c "strace -f -qq -o /dev/null -e trace=renameat \
    -e inject=renameat:signal=KILL:when=2 $PRUNE --session $(at 30) j" 2>/dev/null
t "a merge killed after its journal was written leaves the journal" \
    test -f j/rdiff-backup-data/prune.journal
t_out "... restore refuses the sessions up to the removed one" 111 sh -c \
    "$RESTORE -r $(at 29) j j.29 2>/dev/null; echo \$?"
t "... and restores the newer ones" whole j 31 $N
if [ "$(id -u)" = 0 ] && [ -c /dev/fuse ]; then
	mkdir -p jm
	t_out "... restore -m shows the newer sessions only" \
	    "$(sessions j | awk -v s="$(stamp 30)" '$1 > s'; echo current)" \
	    $RESTORE -m j jm -- ls jm
else
	skip "restore -m with a journal waiting" "needs root and /dev/fuse"
fi
t_exit 0 "... snap finishes the merge, then backs up" \
    $SNAP --current-time "$(($(at $N) + 3600))" src j
t "... no journal or staging is left, session 30 is gone" sh -c \
    "! ls j/rdiff-backup-data | grep -q prune &&
     ! $RESTORE -l j | grep -q $(stamp 30)"
t "... and the older sessions restore exactly" whole j 1 28 29

# a journal planted in a repository others can write never reaches
# outside it: prune and snap refuse it as damaged
rm -rf h && cp -a base h && echo precious >victim
printf 'bk prune journal 1 %s %s\nU\000../../victim\000E\000' \
    "$(at 29)" "$(at 30)" >h/rdiff-backup-data/prune.journal
t_exit 100 "prune with a journal that names ../../victim exits 100" \
    $PRUNE --session "$(at 20)" h
t_exit 100 "... and so does snap" $SNAP --current-time "$(($(at $N) + 3600))" src h
t_out "... the file outside is untouched" precious cat victim
printf 'bk prune journal 1 %s %s\nR\000increments/../../../victim\000x\000E\000' \
    "$(at 29)" "$(at 30)" >h/rdiff-backup-data/prune.journal
t_exit 100 "... nor a rename through increments/.." $PRUNE --session "$(at 20)" h
t_out "... the file is still there" precious cat victim

# killed at many points: every session restores, or is refused until the
# next prune finishes; then all is right
for x in $(seq 1 $N); do echo "$(stamp "$x") $x"; done >idx
index() { awk -v s="$1" '$1 == s { print $2 }' idx; }
# sessions 37..42 stay, with the monthly ones; the rest of 14..36 goes
# from the middle
set -- --keep-last 6 --keep-monthly 3
rm -rf ref && cp -a base ref && $PRUNE "$@" ref || exit 111
want=$(sessions ref)
calls="openat write fsync renameat unlinkat close mkdirat read getdents64"
kills=0 refused=0 bad=
j=0
while [ $kills -lt "$THIN_KILLS" ] && [ $j -lt $((THIN_KILLS * 4)) ]; do
	j=$((j + 1))
	rm -rf k && cp -a base k
	sc=$(echo $calls | cut -d' ' -f$((j % 9 + 1)))
	nth=$((1 + (j * 37) % 301))
	if [ $((j % 4)) = 0 ]; then
		# at a moment, not a call: 5 to 245 ms in (the prune takes
		# about 250 ms here)
		sc=timer nth=$(( ($(od -An -N2 -tu2 /dev/urandom) % 49 + 1) * 5 ))
		$PRUNE "$@" k >/dev/null 2>&1 &
		pid=$!
		sleep "$(printf '0.%03d' $nth)"
		kill -9 $pid 2>/dev/null
		{ wait $pid; } 2>/dev/null && continue
	else
		strace -f -qq -o /dev/null -e trace="$sc" \
		    -e inject="$sc:signal=KILL:when=$nth" $PRUNE "$@" k \
		    >/dev/null 2>&1 && continue
	fi
	kills=$((kills + 1))
	for s in $(sessions k); do
		n=$(index "$s")
		rm -rf kw
		if $RESTORE -r "$(at "$n")" k kw >/dev/null 2>k.err; then
			$SUM kw | cmp -s - "sum.$n" || bad="$bad $sc@$nth:$n"
		elif grep -q 'the next prune or snap finishes it' k.err; then
			refused=$((refused + 1))
		else
			bad="$bad $sc@$nth:$n-failed"
		fi
	done
	$PRUNE "$@" k >/dev/null 2>&1 || bad="$bad rerun-$sc@$nth"
	[ "$(sessions k)" = "$want" ] || bad="$bad count-$sc@$nth"
	ls k/rdiff-backup-data | grep -q prune && bad="$bad leftover-$sc@$nth"
	[ $((kills % 6)) = 0 ] && { whole k $(for s in $want; do index "$s"; done) \
	    >/dev/null || bad="$bad after-$sc@$nth"; }
done
t "a thinning prune was killed $THIN_KILLS times ($kills in $j runs, $refused refusals)" \
    [ $kills -ge "$THIN_KILLS" ]
t "every session restored right or was refused; each rerun finished (${bad:-clean})" \
    [ -z "$bad" ]
t_done
