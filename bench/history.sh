# restore -m (issue 16), sourced by bench/run.sh (POSIX sh): a history of
# HIST_SESSIONS sessions of a HIST_FILES-file tree (corpus S's 1 KiB
# files, bench/corpus.sh's churn between sessions, made with snap
# --current-time, one day apart), then what a user does with the mount
# against doing the same with restore -r:
#   mount ready          restore -m, then ls of the root
#   find, 2 back         find over the session 2 back (its index built on
#                        the way) / find over restore -r's output of it;
#                        again with the index built and the kernel's
#                        dentries and listings dropped (root only)
#   ls -l one directory  in a fresh mount (index built on the way, or
#                        the part read), and in one whose session index
#                        is built
#   one file in every session  ls -l MNT/*/DIR/FILE in a fresh mount
#   read whole session   tar cf - | wc -c through the mount / restore -r
#   diff adjacent        diff -r of sessions 2 and 1 back through the mount
#                        / restore -r of both and diff -r
# Mount rows record the mount daemon's VmHWM as their peak RSS.

# hist_mount REPO MNT: mount, and say the daemon's pid in $HIST_PID.
hist_mount() {
	"$BIN/restore" -m "$1" "$2" || return 1
	HIST_PID=$(pgrep -f -n "restore -m $1 $2")
	[ -n "$HIST_PID" ]
}

hist_umount() {
	"$BIN/restore" -u "$1" >/dev/null 2>&1
	wait_until 10 sh -c "! grep -q ' $1 ' /proc/self/mounts"
}

bench_history() {
	_hs="history: $HIST_FILES files, $HIST_SESSIONS sessions"
	_hd=$W/hist
	_hr=$_hd/repo
	_hm=$_hd/mnt
	mkdir -p "$_hd/mnt"
	{ [ -f "$W/pool" ] && [ "$(wc -c <"$W/pool")" -ge 1081344 ]; } || mk_pool
	say "history: $HIST_FILES files, $HIST_SESSIONS sessions"
	mk_files "$_hd/src" "$HIST_FILES" 100 1024 7
	_t0=1700000000
	for _i in $(seq "$HIST_SESSIONS"); do
		[ "$_i" -gt 1 ] && churn "$_hd/src" "$_i"
		"$BIN/snap" --current-time $((_t0 + _i * 86400)) "$_hd/src" \
		    "$_hr" >>"$W/log/history.log" 2>&1 ||
		    { record_na "$_hs" "history" "snap" "making the history failed (log/history.log)"; return; }
	done
	rm -rf "$_hd/src"
	_old=$(date -u -d "@$((_t0 + (HIST_SESSIONS - 2) * 86400))" +%FT%TZ)
	_prev=$(date -u -d "@$((_t0 + (HIST_SESSIONS - 1) * 86400))" +%FT%TZ)
	_hdir=$(printf "d%04d" $((HIST_FILES / 200)))
	printf 'corpus\t%s\t%s files of 1 KiB in 100-file directories, %s sessions after churn (repository %s MiB); the old session is 2 back (%s)\n' \
	    "$_hs" "$HIST_FILES" "$HIST_SESSIONS" \
	    "$(du -sm "$_hr" | cut -f1)" "$_old" >>"$RES"
	"$BIN/restore" -r "$_old" "$_hr" "$_hd/old" >>"$W/log/history.log" 2>&1 ||
	    { record_na "$_hs" "history" "restore -r" "restore -r failed"; return; }

	for _i in $(seq "$RUNS"); do
		timed "$_hs" "mount ready" "restore -m, ls of the root" \
		    sh -c '"$1" -m "$2" "$3" && ls "$3" >/dev/null' sh \
		    "$BIN/restore" "$_hr" "$_hm"
		hist_umount "$_hm"
	done
	for _i in $(seq "$RUNS"); do
		timed "$_hs" "find, 2 back" "find over restore -r output (floor)" \
		    sh -c 'find "$1" >/dev/null' sh "$_hd/old"
		hist_mount "$_hr" "$_hm" || break
		RSS_PID=$HIST_PID timed "$_hs" "find, 2 back" "find through restore -m" \
		    sh -c 'find "$1" >/dev/null' sh "$_hm/$_old"
		timed "$_hs" "ls -l one directory" "ls -l over restore -r output (floor)" \
		    sh -c 'ls -l "$1" >/dev/null' sh "$_hd/old/$_hdir"
		RSS_PID=$HIST_PID timed "$_hs" "ls -l one directory" "restore -m, index built" \
		    sh -c 'ls -l "$1" >/dev/null' sh "$_hm/$_old/$_hdir"
		# the find again, the session's index built: what FUSE's two
		# requests per directory cost alone (last: the drop would
		# make the ls -l rows cold)
		if sync && echo 2 >/proc/sys/vm/drop_caches 2>/dev/null; then
			timed "$_hs" "find, 2 back" "restore -m, index built, kernel caches dropped" \
			    sh -c 'find "$1" >/dev/null' sh "$_hm/$_old"
			find "$_hd/old" >/dev/null	# the floor rows warm again
		fi
		hist_umount "$_hm"
		hist_mount "$_hr" "$_hm" || break
		RSS_PID=$HIST_PID timed "$_hs" "ls -l one directory" "restore -m, fresh mount" \
		    sh -c 'ls -l "$1" >/dev/null' sh "$_hm/$_old/$_hdir"
		hist_umount "$_hm"
		hist_mount "$_hr" "$_hm" || break
		RSS_PID=$HIST_PID timed "$_hs" "one file in every session" "ls -l MNT/*/FILE, fresh mount" \
		    sh -c 'ls -l "$1"/*/"$2"/f0000 >/dev/null' sh "$_hm" "$_hdir"
		hist_umount "$_hm"
	done
	for _i in $(seq "$RUNS"); do
		rm -rf "$_hd/t"
		timed "$_hs" "read whole old session" "restore -r" \
		    "$BIN/restore" -r "$_old" "$_hr" "$_hd/t"
		rm -rf "$_hd/t"
		hist_mount "$_hr" "$_hm" || break
		RSS_PID=$HIST_PID timed "$_hs" "read whole old session" "tar through restore -m" \
		    sh -c 'cd "$1" && tar cf - . | wc -c >/dev/null' sh "$_hm/$_old"
		hist_umount "$_hm"
	done
	for _i in $(seq "$RUNS"); do
		rm -rf "$_hd/a" "$_hd/b"
		timed "$_hs" "diff adjacent sessions" "restore -r both, diff -r" \
		    sh -c '"$1" -r "$2" "$4" "$5/a" && "$1" -r "$3" "$4" "$5/b" &&
		    { diff -r "$5/a" "$5/b" >/dev/null; [ $? -le 1 ]; }' sh \
		    "$BIN/restore" "$_old" "$_prev" "$_hr" "$_hd"
		rm -rf "$_hd/a" "$_hd/b"
		hist_mount "$_hr" "$_hm" || break
		RSS_PID=$HIST_PID timed "$_hs" "diff adjacent sessions" "diff -r through restore -m" \
		    sh -c '{ diff -r "$1" "$2" >/dev/null; [ $? -le 1 ]; }' sh \
		    "$_hm/$_old" "$_hm/$_prev"
		hist_umount "$_hm"
	done
	rm -rf "$_hd"
}
