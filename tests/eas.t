# Extended attributes and POSIX ACLs (issue 14, item 1): snap records
# them as rdiff-backup does, so both tools restore every session with
# the same xattrs (system.posix_acl_* included) as the source had; the
# mask case (group::--- with mask::r--) keeps the group out.
. tests/harness.sh
. tests/lib/history.sh
sh mk/need.sh rdiff-backup:rdiff-backup setfacl:acl setfattr:attr \
    setcap:libcap2-bin || exit 111
export LC_ALL=C
SNAP=$BIN/snap RESTORE=$BIN/restore SUM=$HELP/treesum
RB="rdiff-backup --terminal-verbosity 1"
cd "$T" || exit 111
T1=1700000000 T2=1700086400 T3=1700172800

if ! isroot; then
	skip "extended attributes and ACLs" "needs root (trusted.*, setcap)"
	t_done
fi

# -- session 1: every kind of attribute --
mkdir -p src/d/sub src/plain
echo data >src/f && echo more >src/g && echo x >src/d/sub/h && echo k >src/d/k
setfattr -n user.text -v hello src/f
setfattr -n user.bin -v 0x00ff10 src/f
setfattr -n user.empty src/f
setfattr -n user.big -v "$(blob 3 3 | tr -d '\n' | cut -c1-3000)" src/g
setfattr -n trusted.t1 -v secret src/g
setfattr -n user.root -v r src
setfacl -m u:1234:rw-,g::---,m::r-- src/f
setfacl -m g:4343:rwx src/g
setfacl -d -m u:4242:r-x,g::r-x src/d
cp /bin/true src/cap && setcap cap_net_raw+ep src/cap
ln -s f src/link && setfattr -h -n trusted.sym -v 1 src/link
mkfifo src/fifo && setfacl -m u:1234:r-- src/fifo
xsum src >x.1 && $SUM src >s.1
$SNAP --current-time $T1 src repo 2>err.1
t_out "snap of a tree with xattrs and ACLs exits 0" 0 echo $?
t_out "  ... and says nothing" "" cat err.1
t "  ... recording the capability" sh -c \
    "zcat repo/rdiff-backup-data/extended_attributes.*.snapshot.gz |
    grep -qx 'security.capability=0sAQAAAgAgAAAAAAAAAAAAAAAAAAA='"
t "  ... and the mask case" sh -c \
    "zcat repo/rdiff-backup-data/access_control_lists.*.snapshot.gz |
    grep -A3 -x '# file: f' | grep -qx 'group::---'"
$RB restore --at $T1 repo rb.1
xsum rb.1 >y.1
t_exit 0 "rdiff-backup restores session 1 with every xattr and ACL" \
    diff x.1 y.1
t_exit 0 "  ... and the same contents and modes" sh -c "$SUM rb.1 | diff s.1 -"
t_out "  ... the owning group stays out (group::--- under mask::r--)" \
    "group::---" sh -c "getfacl -cp rb.1/f 2>/dev/null | grep '^group::'"
xsum repo | grep -v '^# file: rdiff-backup-data' >m.1
t_exit 0 "the mirror has the source's xattrs and ACLs, as rdiff-backup's" \
    diff x.1 m.1
t_exit 0 "rdiff-backup verifies it" $RB verify repo
t_exit 0 "rdiff-backup compare finds no difference" \
    $RB compare --at $T1 src repo

# -- session 2: xattr-only and ACL-only changes, removals --
setfattr -n user.text -v changed src/f
setfattr -x trusted.t1 src/g
setfacl -b src/g
setfacl -k src/d
setfacl -d -m u:4242:rwx src/d/sub
setfattr -n user.new -v 1 src/plain
# a new version in the mirror must not keep the default ACL of its
# directory, which the source file (made before it) does not have
echo changed >src/d/k && touch -d @$T1 src/d/k
xsum src >x.2 && $SUM src >s.2
$SNAP --current-time $T2 src repo 2>err.2
t_out "snap after xattr- and ACL-only changes exits 0" 0 echo $?
xsum repo | grep -v '^# file: rdiff-backup-data' >m.2
t_exit 0 "  ... and the mirror follows them, removals too" diff x.2 m.2
for k in 1 2; do
	eval at=\$T$k
	rm -rf out
	$RB restore --at $at repo out
	xsum out >y.$k
	t_exit 0 "rdiff-backup restores session $k's xattrs and ACLs" \
	    diff x.$k y.$k
done
t_exit 0 "rdiff-backup compare finds no difference" \
    $RB compare src repo

# -- rdiff-backup's options, and a source that has no xattrs --
mkdir nsrc && echo 1 >nsrc/a && setfattr -n user.x -v 1 nsrc/a
$SNAP --no-eas --no-acls --current-time $T1 nsrc nrepo 2>n.err
t_out "--no-eas --no-acls: no extended_attributes or ACL file" "" \
    sh -c "ls nrepo/rdiff-backup-data | grep -E '^(extended_attr|access_con)'"
t_out "  ... and nothing said" "" cat n.err

# -- our restore, of our history and of rdiff-backup's --
for k in 1 2; do
	eval at=\$T$k
	rm -rf out
	$RESTORE -r $at repo out
	xsum out >z.$k
	t_exit 0 "restore -r session $k: every xattr and ACL as the source had" \
	    diff x.$k z.$k
	$SUM out >w.$k
	t_exit 0 "  ... and the same contents and modes" diff s.$k w.$k
done
t_out "  ... the owning group stays out (group::--- under mask::r--)" \
    "group::---" sh -c "getfacl -cp out/f 2>/dev/null | grep '^group::'"
cp -a src rsrc && xsum rsrc >xr.1
$RB --current-time $T1 backup rsrc rbrepo
setfattr -n user.text -v third rsrc/f && setfacl -m u:4242:r-- rsrc/g
xsum rsrc >xr.2
$RB --current-time $T2 backup rsrc rbrepo
rm -rf out && $RESTORE -r $T1 rbrepo out
xsum out >zr.1
t_exit 0 "restore of rdiff-backup's session 1: its xattrs and ACLs" \
    diff xr.1 zr.1
rm -rf out && $RESTORE rbrepo out
xsum out >zr.2
t_exit 0 "  ... and of its session 2" diff xr.2 zr.2
setfattr -n user.text -v fourth rsrc/f && setfacl -b rsrc/f
xsum rsrc >xr.3
$SNAP --current-time $T3 rsrc rbrepo
t_out "snap continues rdiff-backup's history" 0 echo $?
for k in 1 2 3; do
	eval at=\$T$k
	want=xr.$k
	rm -rf out && $RESTORE -r $at rbrepo out && xsum out >zz
	t_exit 0 "  ... restore -r session $k of it is exact" diff $want zz
	rm -rf out && $RB restore --at $at rbrepo out && xsum out >zz
	t_exit 0 "  ... rdiff-backup's restore of session $k too" diff $want zz
done

# -- names that need quoting, stale attributes, a target without them --
mkdir qsrc && echo 1 >qsrc/a
setfattr -n "user.a b=c" -v sp qsrc/a
setfattr -n "user.e=q" qsrc/a
setfattr -n "$(printf 'user.n\n# file: zz')" qsrc/a
xsum qsrc >xq
$SNAP --current-time $T1 qsrc qrepo
rm -rf out && $RESTORE qrepo out && xsum out >zq
t_exit 0 "names with a blank, '=' or a newline come back as they were" \
    diff xq zq
t_exit 0 "  ... and the file stays readable to rdiff-backup" $RB verify qrepo
setfattr -n user.stale -v 1 out/a
setfacl -m u:4242:rwx out/a
$RESTORE -f qrepo out
xsum out >zq
t_exit 0 "restore -f removes xattrs and ACLs the session did not have" \
    diff xq zq
if mkdir rf && mount -t ramfs ramfs rf; then
	$RESTORE repo rf/out 2>rf.err
	t_out "a target without xattrs or ACLs: restore exits 0" 0 echo $?
	t_out "  ... saying so once for each" 2 sh -c "wc -l <rf.err"
	$SUM rf/out >w.rf
	t_exit 0 "  ... with contents and modes intact" diff s.2 w.rf
	umount rf
else
	skip "a target without xattrs" "cannot mount a ramfs"
fi

# -- a source whose filesystem has no ACLs (ramfs): said once, no file --
if mkdir rsf && mount -t ramfs ramfs rsf; then
	echo 1 >rsf/a
	$SNAP --current-time $T1 rsf rsrepo 2>rs.1
	t_out "a source without ACLs: the first session exits 0" 0 echo $?
	t_out "  ... saying so in one line" 1 sh -c "grep -c 'no POSIX ACLs' rs.1"
	t_out "  ... and writing no access_control_lists file" "" \
	    sh -c "ls rsrepo/rdiff-backup-data | grep '^access_con'"
	echo 2 >rsf/a && touch -d @$T1 rsf/a
	$SNAP --current-time $T2 rsf rsrepo 2>rs.2
	t_out "  ... the next session from it is quiet" "0:" \
	    sh -c "echo $?:\$(cat rs.2)"
	t_exit 0 "  ... and rdiff-backup restores it" $RB restore rsrepo rsout
	$SNAP --never-drop-acls --current-time $T3 rsf rsrepo 2>rs.3
	t_out "  ... with --never-drop-acls, snap stops instead" 100 echo $?
	t "  ... saying why" grep -q "no POSIX ACLs (--never-drop-acls)" rs.3
	umount rsf
else
	skip "a source without ACLs" "cannot mount a ramfs"
fi

# -- prune after xattr-only and ACL-only changes: as rdiff-backup removes --
PRUNE=$BIN/prune
mkdir -p psrc/d/e && echo 1 >psrc/d/f && echo 2 >psrc/d/e/g && echo 3 >psrc/h
setfattr -n user.a -v 1 psrc/d/f
$RB --current-time $T1 backup psrc prepo
setfattr -n user.a -v 2 psrc/d/f
setfacl -m u:4242:r-- psrc/d/e/g
$RB --current-time $T2 backup psrc prepo
setfattr -x user.a psrc/d/f
$RB --current-time $T3 backup psrc prepo
t "rdiff-backup wrote increments for the attribute-only changes" \
    sh -c "ls prepo/rdiff-backup-data/increments/d | grep -q '^f\.'"
cp -a prepo prepo.rb
$PRUNE $T3 prepo
t_out "prune of the two older sessions exits 0" 0 echo $?
$RB --force remove increments --older-than $T3 prepo.rb >/dev/null 2>&1
# lsrepo REPO: every path under it but logs and the lock
lsrepo() (cd "$1" && find . | grep -v -e '^./rdiff-backup-data/[a-z]*\.log' \
    -e 'lock.yml' | sort)
lsrepo prepo >p.ours && lsrepo prepo.rb >p.theirs
t_exit 0 "  ... leaves exactly the files rdiff-backup's remove leaves" \
    diff p.theirs p.ours
t_exit 0 "  ... and rdiff-backup verifies what is left" $RB verify prepo

# -- real session times: an unchanged entry keeps its records unread --
mkdir csrc && echo 1 >csrc/a && echo 2 >csrc/b
setfattr -n user.v -v 1 csrc/a && setfattr -n user.v -v 1 csrc/b
setfacl -m u:4242:r-- csrc/b
sleep 3		# the change times are now before the first session
$SNAP csrc crepo && xsum csrc >xc.1
sleep 1
setfattr -n user.v -v 2 csrc/a		# changes ctime, not the stat snap compares
setfacl -x u:4242 csrc/b
xsum csrc >xc.2
sleep 3		# ... and these before the second
$SNAP csrc crepo
t_out "a second session in real time exits 0" 0 echo $?
rm -rf out && $RESTORE -r 1B crepo out && xsum out >zc.1
t_exit 0 "  ... its previous session restores as it was" diff xc.1 zc.1
rm -rf out && $RESTORE crepo out && xsum out >zc.2
t_exit 0 "  ... and the new one with the xattr and ACL changes" diff xc.2 zc.2
sleep 1
# listxattrat is syscall 465 (0x1d1): strace may not know its name
strace -f -qq -o c.trace $SNAP csrc crepo
t_out "  ... a third, nothing changed since: exits 0" 0 echo $?
# (strace shows listxattrat, syscall 465, as syscall_0x1d1 with the
# directory descriptor first: AT_FDCWD, 8 hex digits, is the root)
t_out "  ... and asks no entry below the root for attributes" "" sh -c \
    "grep -E 'syscall_0x1d1\\(0x[0-9a-f]{1,7},|xattr\\(\"/proc/self/fd/[0-9]+/' c.trace"
rm -rf out && $RESTORE crepo out && xsum out >zc.3
t_exit 0 "  ... yet records them as they are" diff xc.2 zc.3

# -- a rolled-back session gives the mirror's copies R's attributes back --
mkdir -p gsrc/d && echo 1 >gsrc/f
setfattr -n user.v -v 1 gsrc/f && setfacl -m u:4242:r-- gsrc/f
setfacl -d -m u:4242:r-x gsrc/d
$SNAP --current-time $T1 gsrc grepo && xsum gsrc >xg.1
setfattr -n user.v -v 2 gsrc/f && setfattr -n user.w -v 3 gsrc/f
setfacl -b gsrc/f && setfacl -k gsrc/d
$SNAP --current-time $T2 gsrc grepo
# as if killed before it removed the old marker: two markers
printf 'PID 1\n' >grepo/rdiff-backup-data/current_mirror.2023-11-14T22:13:20Z.data
$SNAP -R grepo
t_out "snap -R of a session with xattr and ACL changes exits 0" 0 echo $?
xsum grepo | grep -v '^# file: rdiff-backup-data' >mg.1
t_exit 0 "  ... and the mirror has session 1's xattrs and ACLs again" \
    diff xg.1 mg.1
rm -rf out && $RESTORE grepo out && xsum out >zg.1
t_exit 0 "  ... as restore has them" diff xg.1 zg.1

# -- not as root: the mirror copies get the user.* attributes only --
if command -v setpriv >/dev/null 2>&1; then
	mkdir -p usrc urep && echo 1 >usrc/f
	setfattr -n user.v -v 1 usrc/f && setfattr -n trusted.t -v 1 usrc/f
	setfacl -m u:4242:r-- usrc/f
	chmod 711 . && chmod -R a+rX usrc && chown nobody urep
	setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
	    $SNAP --current-time $T1 usrc urep/r 2>u.err
	t_out "snap not as root exits 0, quietly" "0:" sh -c "echo $?:\$(cat u.err)"
	t_out "  ... the mirror copy has user.v only" "user.v" \
	    sh -c "getfattr -d -m - --absolute-names urep/r/f | grep -o '^[a-z]*\.[a-z]*'"
	t_out "  ... and the owner can still read it" 1 \
	    setpriv --reuid=nobody --regid=nogroup --clear-groups -- cat urep/r/f
else
	skip "snap not as root" "no setpriv"
fi

# -- a repository on a filesystem without xattrs (ramfs) --
if mkdir rr && mount -t ramfs ramfs rr; then
	$SNAP --current-time $T1 src rr/repo 2>rr.err
	t_out "a repository without xattrs: snap exits 0" 0 echo $?
	t_out "  ... saying so once" 1 sh -c \
	    "grep -c 'cannot hold extended attributes or ACLs' rr.err"
	rm -rf out && $RESTORE rr/repo out && xsum out >zrr
	t_exit 0 "  ... and its records restore every attribute" diff x.2 zrr
	umount rr
else
	skip "a repository without xattrs" "cannot mount a ramfs"
fi

t_done
