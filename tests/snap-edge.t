# snap and restore at the edges: paths longer than PATH_MAX and 255-byte
# names, unreadable sources (exit 1, old version kept), include/exclude
# rules against rdiff-backup's selection.
. tests/harness.sh
sh mk/need.sh rdiff-backup:rdiff-backup setpriv:util-linux || exit 111
export LC_ALL=C TZ=UTC
SNAP=$BIN/snap RESTORE=$BIN/restore SUM=$HELP/treesum
RB="rdiff-backup --terminal-verbosity 1"
cd "$T" || exit 111

# -- deep paths: 20 levels of 250-byte names (over 5000 bytes) --------
n250=$(printf '%0250d' 0 | tr 0 d)
n255=$(printf '%0255d' 0 | tr 0 f)
bottom() {	# run a command at the bottom of the deep tree
	(cd deep && for i in $(seq 1 20); do cd -P "$n250" || exit 1; done && "$@")
}
mkdir deep && (cd deep && for i in $(seq 1 20); do
	mkdir "$n250" && cd -P "$n250" || exit 1
done && echo "at the bottom" >"$n255" && ln -s "$n255" link) || exit 111
t "the deep tree is deeper than PATH_MAX" sh -c \
    "$SUM deep | awk '{ if (length(\$1) > 4096) n++ } END { exit !n }'"
t_exit 0 "snap a tree with paths over PATH_MAX" \
    $SNAP --current-time 1700000000 deep deeprepo
bottom sh -c "echo changed >>$n255"
$SUM deep >deep.2
t_exit 0 "snap it again after a change at the bottom" \
    $SNAP --current-time 1700000100 deep deeprepo
t_exit 0 "restore the old session of the deep tree" \
    $RESTORE -r 1700000000 deeprepo deep.out1
t_exit 0 "restore the new session of the deep tree" \
    $RESTORE deeprepo deep.out2
t "  ... is the same tree" sh -c "$SUM deep.out2 | cmp -s - deep.2"
t "  ... and the old one differs only at the bottom" sh -c \
    "$SUM deep.out1 | diff - deep.2 | grep -c '^[<>]' | grep -qx 2"
t_exit 0 "restore -c verifies the deep repository" $RESTORE -c -r 1B deeprepo

# -- unreadable files and directories (as an ordinary user) -----------
mkdir -p u/src/locked u/src/open && echo v1 >u/src/secret &&
    echo inside >u/src/locked/inner && echo ok >u/src/open/f
chmod 0755 "$T"
chown -R nobody u
runas() { setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"; }
t_exit 0 "snap as an ordinary user" runas $SNAP --current-time 1700000000 u/src u/repo
echo v2 >u/src/secret && chmod 000 u/src/secret u/src/locked
touch u/src/open/new
runas $SNAP --current-time 1700000100 u/src u/repo 2>u/err1
t_out "snap with an unreadable file and directory exits 1" 1 echo $?
t "  ... and names the file on stderr" grep -q "open secret: Permission denied" u/err1
t "  ... and the directory" grep -q "list locked: Permission denied" u/err1
runas $SNAP --current-time 1700000200 u/src u/repo 2>u/err
t "the error log of the session names both" sh -c \
    "grep -q secret u/repo/rdiff-backup-data/error_log.2023-11-14T22:16:40Z.data &&
     grep -q locked u/repo/rdiff-backup-data/error_log.2023-11-14T22:16:40Z.data"
t_exit 0 "restore of the newest session still works" $RESTORE u/repo u/out
t_out "  ... with the last readable version of the file" "v1" cat u/out/secret
t_out "  ... and the unlistable directory's old contents" "inside" cat u/out/locked/inner
t "  ... and the new file that could be read" test -f u/out/open/new
chmod 755 u/src/locked && chmod 644 u/src/secret
# a hard link whose first member's directory the restoring user cannot
# open (mode 000, set when that directory was left): the later member
# is an error of its own, the run goes on (found by clang's
# -Wsometimes-uninitialized: the name to free was never set)
mkdir -p hl/src/a hl/src/b && echo data >hl/src/a/x && ln hl/src/a/x hl/src/b/y &&
    echo z >hl/src/b/z && chmod 000 hl/src/a
$SNAP hl/src hl/repo && chmod -R a+rX hl/repo && mkdir hl/out && chown nobody hl/out
runas $RESTORE hl/repo hl/out/r 2>hl/err
t_out "restore as a user: a link into an unopenable directory exits 1" 1 echo $?
t "  ... and says so" grep -q "link b/y: Permission denied" hl/err
t_out "  ... the rest is restored" z cat hl/out/r/b/z
chmod 755 hl/src/a

# -- a hard-link group rewritten in place with the same size and
# modification second as the last run (racy): every member's mirror
# copy gets the new content, not only the one that records the SHA-1
# (later members record none, so "same digest as before" proved nothing)
mkdir hlr && printf 'one' >hlr/a && ln hlr/a hlr/b && touch -d @1700000000 hlr/a
$SNAP --current-time 1690000000 hlr hlrrepo
printf 'two' >hlr/a && touch -d @1700000000 hlr/a
t_exit 0 "snap a hard-link pair rewritten within the recorded second" \
    $SNAP --current-time 1690000100 hlr hlrrepo
t "  ... both mirror copies have the new content" sh -c \
    "cmp hlr/a hlrrepo/a && cmp hlr/b hlrrepo/b"
t "  ... rdiff-backup verifies it" $RB verify hlrrepo
rm hlr/a
$SNAP --current-time 1690000200 hlr hlrrepo
t_out "  ... and the member left alone restores the new content" two \
    sh -c "$RESTORE -r 1690000100 hlrrepo hlr.out >/dev/null 2>&1; cat hlr.out/b"
t_out "  ... also after the group split" two \
    sh -c "$RESTORE hlrrepo hlr.out2 >/dev/null 2>&1; cat hlr.out2/b"

# -- sparse files stay sparse: mirror, restore, and an old version ------
mkdir sparse && truncate -s 200M sparse/big && echo "in the middle" |
    dd of=sparse/big bs=1 seek=100000000 conv=notrunc 2>/dev/null
kib() { du -k "$1" | cut -f1; }
t_exit 0 "snap a 200 MiB file with one block of data" \
    $SNAP --current-time 1700000000 sparse sparserepo
t "  ... the mirror copy keeps the holes ($(kib sparserepo/big) KiB)" \
    [ "$(kib sparserepo/big)" -lt 1024 ]
echo "changed" | dd of=sparse/big bs=1 seek=100000000 conv=notrunc 2>/dev/null
$SNAP --current-time 1700000100 sparse sparserepo
t_exit 0 "restore the old version of the sparse file" \
    $RESTORE -r 1700000000 sparserepo sparse.old
t "  ... sparse too ($(kib sparse.old/big 2>/dev/null) KiB)" sh -c \
    "[ \$(du -k sparse.old/big | cut -f1) -lt 1024 ]"
t "  ... with the old content" sh -c \
    "dd if=sparse.old/big bs=1 skip=100000000 count=13 2>/dev/null | grep -q 'in the middle'"
t_exit 0 "restore the new version" $RESTORE sparserepo sparse.new
t "  ... identical and sparse" sh -c \
    "cmp -s sparse/big sparse.new/big && [ \$(du -k sparse.new/big | cut -f1) -lt 1024 ]"

# -- include / exclude against rdiff-backup ------------------------------
mkdir -p sel/a/b sel/c/d sel/keep/x sel/skip && for f in sel/a/b/f.c sel/a/b/f.o \
    sel/c/d/g.c sel/keep/x/y.c sel/keep/x/y.h sel/skip/z sel/top.o sel/Cache; do
	echo "$f" >"$f"
done
touch sel/skip/.nobackup
rules1="-e sel/c -e **/*.o -E .nobackup"
rules2="-i sel/keep/**.c -e sel/keep -e ignorecase:sel/cache"
rules3="-i sel/a/b/*.c -e **"
k=0
for rules in "$rules1" "$rules2" "$rules3"; do
	k=$((k + 1))
	set -f
	set -- $rules
	rb=
	while [ $# -gt 0 ]; do
		case $1 in
		-e) rb="$rb --exclude $2" ;;
		-i) rb="$rb --include $2" ;;
		-E) rb="$rb --exclude-if-present $2" ;;
		esac
		shift 2
	done
	t_exit 0 "snap with rules $k ($rules)" $SNAP $rules sel "sel.$k"
	$RB backup $rb sel "rsel.$k" >/dev/null 2>&1
	set +f
	t_out "  ... backs up the same paths as rdiff-backup" \
	    "$($RESTORE -L "rsel.$k")" $RESTORE -L "sel.$k"
done
t_exit 100 "an exclude pattern that cannot match is a usage error" \
    $SNAP -e nothere sel sel.bad
t_done
