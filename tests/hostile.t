# Damaged and hostile repositories: restore and verify name each damaged
# path, go on with the rest and exit 1; never crash; never write outside
# TARGET, whatever the metadata says.
. tests/harness.sh
. tests/lib/history.sh
export LC_ALL=C TZ=UTC
SNAP=$BIN/snap RESTORE=$BIN/restore SUM=$HELP/treesum
cd "$T" || exit 111

T1=1700000000 T2=1700086400 T3=1700172800
mkdir src && blob 1 20 >src/a && echo keep >src/c && blob 2 5 >src/b
$SNAP --current-time $T1 src repo && $SUM src >s1
blob 3 20 >src/a && echo more >>src/b
$SNAP --current-time $T2 src repo && $SUM src >s2
blob 4 20 >src/a && rm src/b
$SNAP --current-time $T3 src repo && $SUM src >s3
D=rdiff-backup-data
inc() { ls repo/$D/increments/"$1".* ; }

fresh() { rm -rf bad out && cp -a repo bad; }
# the rest of the tree: everything but the damaged path restored exactly
rest_ok() { grep -v "^$1 " "$2" >want.rest; $SUM out | grep -v "^$1 " | cmp -s - want.rest; }

fresh
f=$(ls bad/$D/increments/a.2023-11-14*.diff.gz)
head -c 30 "$f" >x && mv x "$f"
$RESTORE -r $T1 bad out 2>err
t_out "truncated .diff.gz: restore exits 1" 1 echo $?
t "  ... naming the file" grep -q "restore a:" err
t "  ... and restores the rest" rest_ok a s1
t_exit 1 "  ... verify of that session exits 1" $RESTORE -c -r $T1 bad
t_exit 0 "  ... the newest session is untouched" $RESTORE -c bad

fresh
f=$(ls bad/$D/increments/a.2023-11-15*.diff.gz)
zcat "$f" >plain && printf 'XXXXXXXXXXXXXXXX' | dd of=plain bs=1 seek=6 conv=notrunc 2>/dev/null
gzip -c plain >"$f"
$RESTORE -r $T2 bad out 2>err
t_out "garbled delta: restore exits 1" 1 echo $?
t "  ... naming the file" grep -q "restore a:" err
t "  ... and restores the rest" rest_ok a s2

fresh
f=$(ls bad/$D/increments/b.*.snapshot.gz)
head -c 20 "$f" >x && mv x "$f"
$RESTORE -r $T2 bad out 2>err
t_out "truncated snapshot increment: restore exits 1" 1 echo $?
t "  ... naming the file" grep -q "restore b:" err
t "  ... and restores the rest" rest_ok b s2

fresh
f=$(ls bad/$D/mirror_metadata.*snapshot.gz)
zcat "$f" | sed 's/^  Size 5$/  Size five/' | gzip >x && mv x "$f"
$RESTORE bad out 2>err
t_out "a garbled metadata record: restore exits 1" 1 echo $?
t "  ... naming the bad line" grep -q "Size five" err
t "  ... restoring the other records" sh -c "cmp -s out/a src/a && ! test -e out/c"

fresh
f=$(ls bad/$D/mirror_metadata.*snapshot.gz)
head -c 100 "$f" >x && mv x "$f"
$RESTORE bad out 2>err
rc=$?
t_out "truncated metadata: restore exits 1" 1 echo $rc
t "  ... saying so" grep -q "metadata" err

fresh
rm bad/$D/mirror_metadata.2023-11-15*
$RESTORE -r $T2 bad out 2>err
t_out "missing metadata for a session: restore at it exits 100" 100 echo $?
t "  ... naming the session" grep -q "2023-11-15T22:13:20Z" err
$RESTORE -r $T1 bad out 2>err
t_out "  ... and refuses the older session whose chain it breaks" 100 echo $?

fresh
: >bad/$D/unknown-file && mkdir bad/$D/junk && echo x >bad/$D/junk/y
: >bad/$D/mirror_metadata.not-a-time.snapshot
: >bad/$D/increments/a.2023-99-99T00:00:00Z.diff
t_exit 0 "unknown files in the data dir are ignored" $RESTORE -r $T1 bad out
t "  ... the session restores exactly" sh -c "$SUM out | cmp -s - s1"

# hostile metadata: paths out of the tree, through a symlink
fresh
mkdir outside
f=$(ls bad/$D/mirror_metadata.*snapshot.gz)
{ zcat "$f"
  printf 'File ../outside/evil\n  Type reg\n  Size 0\n  ModTime 0\n  Uid 0\n  Gid 0\n  Permissions 420\n'
  printf 'File /abs/evil\n  Type reg\n  Size 0\n  ModTime 0\n  Uid 0\n  Gid 0\n  Permissions 420\n'
  printf 'File d\\\\..\n  Type dir\n  ModTime 0\n  Uid 0\n  Gid 0\n  Permissions 493\n'
  printf 'File zlink\n  Type sym\n  SymData %s/outside\n  Uid 0\n  Gid 0\n  Permissions 511\n' "$T"
  printf 'File zlink/evil2\n  Type reg\n  Size 0\n  ModTime 0\n  Uid 0\n  Gid 0\n  Permissions 420\n'
} | gzip >x && mv x "$f"
$RESTORE bad out 2>err
t_out "hostile metadata: restore exits 1" 1 echo $?
t "  ... names the .. path" grep -q 'File \.\./outside/evil: unsafe path' err
t "  ... names the absolute path" grep -q 'File /abs/evil: unsafe path' err
t "  ... names the path below a symlink" grep -q 'zlink/evil2: its parent is no directory' err
t "  ... writes nothing outside TARGET" sh -c \
    "[ -z \"\$(ls outside)\" ] && [ ! -e /abs/evil ] && [ ! -e out/evil2 ]"
t "  ... restores the good entries" sh -c "cmp -s out/a src/a && [ -L out/zlink ]"

# a symlink already in TARGET is replaced, not followed (-f)
rm -rf out && mkdir out && ln -s "$T/outside" out/a
t_exit 0 "restore -f over a symlink in TARGET" $RESTORE -f repo out
t "  ... replaced the symlink and left its target alone" sh -c \
    "[ ! -L out/a ] && cmp -s out/a src/a && [ -z \"\$(ls outside)\" ]"
t_done
