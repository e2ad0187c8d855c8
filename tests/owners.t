# Owners on restore (issue 14, item 2): by name by default, by number
# with --preserve-numerical-ids (a backup pulled over mount-remote,
# restored onto its own host), and through rdiff-backup's mapping files;
# named ACL entries follow the same map.  rdiff-backup's restore with
# the same options is the oracle.
. tests/harness.sh
. tests/lib/history.sh
sh mk/need.sh rdiff-backup:rdiff-backup setfacl:acl || exit 111
export LC_ALL=C
SNAP=$BIN/snap RESTORE=$BIN/restore
RB="rdiff-backup --terminal-verbosity 1"
cd "$T" || exit 111

if ! isroot; then
	skip "owners on restore" "needs root (chown)"
	t_done
fi

# owners DIR: "path uid gid" lines, and the named ACL entries of f
owners() (
	cd "$1" && find . -mindepth 1 -printf '%P %U %G\n' | sort
	getfacl -cpn f 2>/dev/null | grep -E '^(user|group):[^:]'
)

mkdir src && echo 1 >src/f && echo 2 >src/g && echo 3 >src/h
chown 1:1 src/f && chown 4321:4321 src/g
setfacl -m u:daemon:r--,g:daemon:r-- src/f
$SNAP --current-time 1700000000 src repo
# as if pulled from a host whose daemon is 4321: the recorded number
# differs from this machine's number for the recorded name
for m in repo/rdiff-backup-data/mirror_metadata.*.snapshot.gz; do
	zcat "$m" | awk '/^File f$/ { f = 1 } /^File [^f]/ { f = 0 }
	    f && /^  (Uid|Gid) 1$/ { sub(/ 1$/, " 4321") } { print }' |
	    gzip >m.gz && mv m.gz "$m"
done

# same OPTS...: our restore and rdiff-backup's give the same owners
same() {
	rm -rf ours theirs
	$RESTORE "$@" repo ours 2>ours.err
	rc=$?
	$RB restore "$@" repo theirs 2>/dev/null
	owners ours >o.ours; owners theirs >o.theirs
	[ $rc = 0 ] && diff o.theirs o.ours
}
t_exit 0 "by name: as rdiff-backup restores" same
t_out "  ... f belongs to this machine's daemon, g keeps its number" \
    "f 1 1
g 4321 4321" sh -c "grep -E '^(f|g) ' o.ours"
t_exit 0 "--preserve-numerical-ids: as rdiff-backup restores" \
    same --preserve-numerical-ids
t_out "  ... f gets the recorded number" "f 4321 4321" \
    sh -c "grep '^f ' o.ours"
t_out "  ... and the ACL entries recorded by name are dropped" "" \
    sh -c "grep : o.ours"
printf 'daemon:bin\n4321:sys\n' >umap
printf 'daemon:2\n' >gmap
t_exit 0 "mapping files: as rdiff-backup restores" \
    same --user-mapping-file umap --group-mapping-file gmap
t_out "  ... a rule for the name, a rule for the number" "f 2 2
g 3 4321" sh -c "grep -E '^(f|g) ' o.ours"
t_out "  ... and the named ACL entries follow them" "user:2:r--
group:2:r--" sh -c "grep : o.ours | cut -f1"
# an ACL entry whose name this machine does not know
for a in repo/rdiff-backup-data/access_control_lists.*.snapshot.gz; do
	zcat "$a" | sed 's/^user:daemon:/user:no-such-user-xq:/' | gzip >a.gz &&
	    mv a.gz "$a"
done
rm -rf out4
$RESTORE repo out4 2>drop.err
t_out "an ACL entry of an unknown name is dropped: exit 0" 0 echo $?
t "  ... said in one line" grep -q "1 ACL entries named users or groups unknown here" drop.err
rm -rf out5
$RESTORE --never-drop-acls repo out5 2>drop.err
t_out "--never-drop-acls: exit 100 instead" 100 echo $?
t "  ... naming the entry" grep -q "^restore: restore f: an ACL entry names" drop.err
t_out "  ... leaving no partial file" "" sh -c "ls out5 | grep -v '^[gh]\$'"
printf 'daemon:bin:x\n' >bad
$RESTORE --user-mapping-file bad repo out2 2>bad.err
t_out "a malformed mapping file is a usage error" 100 echo $?
t "  ... naming the file and line" grep -q "^restore: bad:1: " bad.err
t_exit 100 "numerical ids with a mapping file: a usage error" \
    $RESTORE --preserve-numerical-ids --user-mapping-file umap repo out3

t_done
