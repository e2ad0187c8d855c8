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

# xsum DIR: every path's xattrs (ACLs too), one line a path, sorted
xsum() (
	cd "$1" && getfattr -R -h -d -m - -e base64 . 2>/dev/null |
	    awk '/^# file: / { if (rec != "") print rec; rec = $0; next }
		/./ { rec = rec " | " $0 } END { if (rec != "") print rec }' |
	    sort
)

# -- session 1: every kind of attribute --
mkdir -p src/d/sub src/plain
echo data >src/f && echo more >src/g && echo x >src/d/sub/h
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
xsum src >x.2 && $SUM src >s.2
$SNAP --current-time $T2 src repo 2>err.2
t_out "snap after xattr- and ACL-only changes exits 0" 0 echo $?
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

t_done
