# The seed's routine end to end, sourced by bench/run.sh (POSIX sh), after
# the remote setup: examples/backup.sh (mount-remote, snap, unmount)
# against sshfs -o ro + rdiff-backup + fusermount -u, on the remote tree,
# each run an incremental backup after the same churn of that tree.  The
# first sessions are made locally from the same tree (through a mount the
# peer would take tens of minutes), then each tool does one untimed run
# through its mount so that the timed runs see only the churn.

# wf_scripts DIR RTT: the two routines as scripts in DIR.
wf_scripts() {
	cat >"$1/ours.sh" <<-EOF
	#!/bin/sh
	BK_BIN=$BIN BACKUP_ROOT=$1/root MNT_ROOT=$1/mnts \\
	MOUNT_OPTS="-p $PORT $(sshopts "$2")" \\
	    exec sh $BENCH_SRC/../examples/backup.sh $BENCH_USER@127.0.0.1:$W/remote/data/tree
	EOF
	cat >"$1/theirs.sh" <<-EOF
	#!/bin/sh
	sshfs -F $W/ssh/config bkb-$2:$W/remote/data/tree $1/mnt -o ro || exit 111
	rdiff-backup --terminal-verbosity 1 backup $1/mnt $1/rb
	rc=\$?
	fusermount3 -u $1/mnt || exit 111
	exit \$rc
	EOF
}

# bench_workflow RTT
bench_workflow() {
	_wr=$1
	_ws="workflow: $_wr ms RTT (delay relay)"
	[ "$_wr" -eq 0 ] && _ws="workflow: loopback sshd"
	_wd=$W/wf-$_wr
	_wt=$W/remote/data/tree
	_wrepo=$_wd/root/127.0.0.1/${_wt#/}
	mkdir -p "$_wd/mnt" "$(dirname "$_wrepo")"
	wf_scripts "$_wd" "$_wr"
	grep -q "^snap$TAB" "$W/probes" || probe_local
	printf 'corpus\t%s\t%s\n' "$_ws" "incremental backup of the remote tree ($(find "$_wt" | wc -l) entries) after churn (bench/corpus.sh: 1% modified, 0.5% deleted, 0.5% created, 1% touched); time of the whole routine, mount and unmount included" >>"$RES"
	if ! available snap || ! available mount-remote; then
		record_na "$_ws" "incremental run" "backup.sh (mount-remote + snap)" "not available (probe failed)"
	elif ! "$BIN/snap" "$_wt" "$_wrepo" >>"$W/log/workflow.log" 2>&1 ||
	    ! sh "$_wd/ours.sh" >>"$W/log/workflow.log" 2>&1; then
		record_na "$_ws" "incremental run" "backup.sh (mount-remote + snap)" "first sessions failed (see log/workflow.log)"
	fi
	if ! $RB --terminal-verbosity 1 backup "$_wt" "$_wd/rb" >>"$W/log/workflow.log" 2>&1 ||
	    ! sh "$_wd/theirs.sh" >>"$W/log/workflow.log" 2>&1; then
		record_na "$_ws" "incremental run" "sshfs + rdiff-backup" "first sessions failed (see log/workflow.log)"
		return
	fi
	for _wi in $(seq "$RUNS"); do
		churn "$_wt" $((_wr * 100 + _wi)) || return
		chown -R "$BENCH_USER" "$_wt"
		# alternate who goes first, for the server's page cache
		for _wk in $( [ $((_wi % 2)) = 1 ] && echo theirs ours || echo ours theirs); do
			case $_wk in
			theirs)	failed "$_ws" "incremental run" "sshfs + rdiff-backup" ||
				    timed "$_ws" "incremental run" "sshfs + rdiff-backup" \
				    sh "$_wd/theirs.sh" ;;
			ours)	grep -q "^na$TAB$_ws$TAB" "$RES" ||
				    failed "$_ws" "incremental run" "backup.sh (mount-remote + snap)" ||
				    timed "$_ws" "incremental run" "backup.sh (mount-remote + snap)" \
				    sh "$_wd/ours.sh" ;;
			esac
		done
	done
	# what ours backed up last is the tree as it is now
	if ! grep -q "$TAB$_ws$TAB.*backup.sh" "$RES" || failed "$_ws" "incremental run" "backup.sh (mount-remote + snap)"; then
		:
	elif ! "$BIN/restore" "$_wrepo" "$_wd/check" >>"$W/log/workflow.log" 2>&1 ||
	    ! diff -r "$_wt" "$_wd/check" >>"$W/log/workflow.log" 2>&1; then
		printf 'fail\t%s\t%s\t%s\t%s\n' "$_ws" "incremental run" \
		    "backup.sh (mount-remote + snap)" "restore of the last session differs from the tree" >>"$RES"
	fi
	rm -rf "$_wd"
}

# bench_workflows: BENCH=workflow, the routine alone at each RTT.
bench_workflows() {
	setup_remote
	probe_mount
	for _r in $RTT; do
		bench_workflow "$_r"
	done
}
