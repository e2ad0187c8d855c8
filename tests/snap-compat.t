# Reading what rdiff-backup writes in its other forms: time zones in file
# names (also when snap continues such a repository), uncompressed
# increments, long metadata diff chains (a snapshot every 9 sessions);
# and snap's own promises beyond rdiff-backup: a file rewritten within
# the second of the last session is not missed, and an unchanged re-run
# reads no source file.
. tests/harness.sh
. tests/lib/history.sh
sh mk/need.sh rdiff-backup:rdiff-backup strace:strace || exit 111
export LC_ALL=C
SNAP=$BIN/snap RESTORE=$BIN/restore SUM=$HELP/treesum
RB="rdiff-backup --terminal-verbosity 1"
cd "$T" || exit 111

# -- twelve rdiff-backup sessions in three time zones, half uncompressed --
mkdir src && echo 0 >src/counter && blob 7 40 >src/big
zones="UTC Europe/Berlin America/New_York Asia/Kolkata"
for k in $(seq 1 12); do
	echo "$k" >src/counter
	printf 'session %s\n' "$k" | dd of=src/big bs=1 seek=$((k * 1000)) conv=notrunc 2>/dev/null
	[ $((k % 3)) = 0 ] && echo "file of $k" >"src/f$k"
	[ $((k % 4)) = 0 ] && rm -f "src/f$((k - 1))"
	# distinct mtimes: rdiff-backup misses same-second, same-size changes
	touch -d @$((1600000000 + k)) src/*
	$SUM src >"sum.$k"
	z=$(echo $zones | cut -d' ' -f$((k % 4 + 1)))
	comp=; [ $((k % 2)) = 0 ] && comp=--no-compression
	TZ=$z $RB --current-time $((1700000000 + k * 3600)) backup $comp src rrepo ||
	    exit 111
done
t "rdiff-backup wrote names in several time zones" sh -c \
    "ls rrepo/rdiff-backup-data | grep -q '+01:00' && ls rrepo/rdiff-backup-data | grep -q '05:00'"
t "rdiff-backup wrote a snapshot inside the diff chain" sh -c \
    "[ \$(ls rrepo/rdiff-backup-data | grep -c 'mirror_metadata.*snapshot') -ge 2 ]"
for k in $(seq 1 12); do
	t "restore session $k of rdiff-backup's mixed repository" \
	    $RESTORE -r $((1700000000 + k * 3600)) rrepo "out.$k"
	t "  ... same tree ($k)" sh -c "$SUM out.$k | cmp -s - sum.$k"
done
t_exit 0 "restore -c verifies every file of session 1" $RESTORE -c -r 1700003600 rrepo

# snap continues a repository whose last session rdiff-backup wrote in
# another zone: the previous marker is found by its time, not its name
mkdir zsrc && echo 1 >zsrc/f
TZ=Europe/Berlin $RB --current-time 1700000000 backup zsrc zrepo || exit 111
echo 2 >>zsrc/f && touch -d @1600000001 zsrc/f
t_exit 0 "snap continues a repository last written in TZ=Europe/Berlin" \
    $SNAP --current-time 1700000100 zsrc zrepo
t_out "  ... and removes the +01:00 marker" \
    "current_mirror.2023-11-14T22:15:00Z.data" \
    sh -c "ls zrepo/rdiff-backup-data | grep '^current_mirror'"
t_out "  ... restore -l lists both sessions" \
    "2023-11-14T22:13:20Z 2023-11-14T22:15:00Z" \
    sh -c "$RESTORE -l zrepo | cut -d' ' -f1 | tr '\n' ' ' | sed 's/ \$//'"
t_exit 0 "  ... rdiff-backup verifies the old session" \
    $RB verify --at 1700000000 zrepo

# -- snap keeps the chain rule too: 11 sessions, then rdiff-backup reads all --
rm -rf src2 && mkdir src2 && echo a >src2/f
for k in $(seq 1 11); do
	echo "$k" >>src2/f
	touch -d @$((1600000000 + k)) src2/f
	$SUM src2 >"s2.$k"
	$SNAP --current-time $((1700000000 + k * 60)) src2 chain || exit 111
done
t_out "snap keeps a full snapshot every 9 sessions" "2" sh -c \
    "ls chain/rdiff-backup-data | grep -c 'mirror_metadata.*snapshot'"
for k in 1 5 9 10 11; do
	t "rdiff-backup restores session $k across snap's chain" \
	    $RB restore --at $((1700000000 + k * 60)) chain "rc.$k"
	t "  ... same tree ($k)" sh -c "$SUM rc.$k | cmp -s - s2.$k"
done

# -- racy: same size, same mtime second as the last session's start ------
mkdir racy && printf 'AAAA\n' >racy/f && touch -d @1700000000 racy/f
$SNAP --current-time 1700000000 racy racyrepo
printf 'BBBB\n' >racy/f && touch -d @1700000000 racy/f
t_exit 0 "snap after a same-second, same-size rewrite" \
    $SNAP --current-time 1700000001 racy racyrepo
t_out "  ... has the new content" "BBBB" cat racyrepo/f
$RESTORE -r 1700000000 racyrepo/f racy.old
t_out "  ... and keeps the old one as an increment" "AAAA" cat racy.old
printf 'CCCC\n' >racy/f && chmod 600 racy/f && touch -d @1700000001 racy/f
t_exit 0 "snap after a same-second rewrite that also changed the mode" \
    $SNAP --current-time 1700000002 racy racyrepo
t_out "  ... has the new content" "CCCC" cat racyrepo/f
t_out "  ... and the new mode" "600" stat -c %a racyrepo/f
chmod 644 racy/f
t_exit 0 "snap after a change of mode only" $SNAP --current-time 1700000003 racy racyrepo
t_out "  ... keeps the content" "CCCC" cat racyrepo/f
$RESTORE -r 1700000002 racyrepo/f racy.600
t_out "  ... and restores the old mode from its increment" "600 CCCC" \
    sh -c "echo \$(stat -c %a racy.600) \$(cat racy.600)"

# -- files that are gzip themselves: their increments are stored plain,
# and only the name says so (the content starts with gzip's magic)
mkdir gzsrc && seq 1 3000 | gzip >gzsrc/data.gz && cp gzsrc/data.gz gz.1 &&
    printf 'x' >>gzsrc/gone.gz && seq 1 10 | gzip >gzsrc/gone.gz && cp gzsrc/gone.gz gone.1
$SNAP --current-time 1700000000 gzsrc gzrepo
seq 1 3001 | gzip >gzsrc/data.gz && rm gzsrc/gone.gz
$SNAP --current-time 1700000100 gzsrc gzrepo
t "a .gz file's increment is plain, not compressed again" sh -c \
    "ls gzrepo/rdiff-backup-data/increments | grep -q 'gone.gz.*snapshot\$'"
t_exit 0 "restore the old versions of .gz files" $RESTORE -r 1700000000 gzrepo gz.out
t "  ... byte for byte (changed and deleted)" sh -c \
    "cmp -s gz.out/data.gz gz.1 && cmp -s gz.out/gone.gz gone.1"
t "rdiff-backup restores them the same" sh -c \
    "$RB restore --at 1700000000 gzrepo gz.rb && cmp -s gz.rb/data.gz gz.1 && cmp -s gz.rb/gone.gz gone.1"

# -- an unchanged re-run opens no source file -----------------------------
mkdir quiet && for i in 1 2 3 4 5; do echo "$i" >"quiet/file$i"; done
touch -d @1600000000 quiet/* quiet
$SNAP --current-time 1700000000 quiet quietrepo
zcat quietrepo/rdiff-backup-data/mirror_metadata.*.snapshot.gz >meta.1
strace -f -e trace=open,openat -o trace.out $SNAP --current-time 1700000100 \
    quiet quietrepo >/dev/null 2>&1
t "an unchanged re-run opens no source file" sh -c \
    "! grep -q 'quiet/file\\|\"file[0-9]' trace.out"
t "  ... nor any mirror file" sh -c "! grep -q 'quietrepo/file' trace.out"
t "  ... and writes the same metadata again" sh -c \
    "zcat quietrepo/rdiff-backup-data/mirror_metadata.*.snapshot.gz | cmp -s - meta.1"
# records rdiff-backup wrote are kept as they are, fields and all
$RB --current-time 1700000000 backup quiet rbquiet
zcat -f rbquiet/rdiff-backup-data/mirror_metadata.*.snapshot* >meta.rb
echo 6 >quiet/file6 && touch -d @1600000000 quiet/file6 quiet
$SNAP --current-time 1700000100 quiet rbquiet
t "snap after rdiff-backup keeps its unchanged records as written" sh -c \
    "zcat -f rbquiet/rdiff-backup-data/mirror_metadata.*.snapshot* | awk '/^File /{n=\$2!=\"file6\"} n' | cmp -s - meta.rb"

# two runs in the same second: the second waits, both are sessions
mkdir twice && echo 1 >twice/f
t "two snaps in a row (same second) both succeed" sh -c \
    "$SNAP twice twicerepo && $SNAP twice twicerepo && $SNAP twice twicerepo"
t_out "  ... as three sessions" 3 sh -c "$RESTORE -l twicerepo | wc -l"

# quiet when not on a terminal (cron); a live counter on one
mkdir big && truncate -s 2G big/sparse && echo data >big/a
$SNAP --current-time 1700000000 big bigrepo 2>quiet.err
t_out "snap prints nothing on success off a terminal" "" cat quiet.err
if command -v script >/dev/null; then
	script -qc "$RESTORE -c bigrepo" /dev/null >tty.out 2>&1
	t "restore -c shows a live counter on a terminal" grep -q 'restore: .* files, .*/s' tty.out
else
	skip "restore -c shows a live counter on a terminal" "no script(1)"
fi
t_done
