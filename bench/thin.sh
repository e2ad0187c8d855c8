# Thinning the history (issue 17), sourced by bench/run.sh (POSIX sh): a
# history of THIN_SESSIONS sessions of corpus R (a copy of R_SRC), with
# bench/corpus.sh's churn between sessions, made with snap
# --current-time one day apart; then, on a fresh copy for each run:
#   one churn snap       a churn round, then snap (the unit of the target)
#   thin 10 in the middle  prune with ten --session options: the sessions
#                        in the middle (11 to 20 of 30), one command
#   restore the changed files  for each of the ten, restore -r of the files
#                        that changed in it (its increments name them),
#                        selected by a file list: the peer of the target
#   restore one of them  restore -r of the oldest of the ten, for scale
#   verify every session restore -c -r all, against rdiff-backup verify
#                        --at for each session (once: it is slow)
# Targets: thinning costs at most 3x one churn snap, and at most what
# restoring the changed files costs; verifying every session in one run
# is at least 5x faster than rdiff-backup verifying them one by one
# (issue 18).

bench_thin() {
	_ts="thinning: corpus R, $THIN_SESSIONS sessions"
	_td=$W/thin
	mkdir -p "$_td"
	{ [ -f "$W/pool" ] && [ "$(wc -c <"$W/pool")" -ge 1081344 ]; } || mk_pool
	say "thinning: corpus R, $THIN_SESSIONS sessions"
	mk_r_corpus "$_td/src" || { record_na "$_ts" "history" "snap" "copying R_SRC failed"; return; }
	_t0=1700000000
	for _i in $(seq "$THIN_SESSIONS"); do
		[ "$_i" -gt 1 ] && churn "$_td/src" "$((_i + 100))"
		"$BIN/snap" --current-time $((_t0 + _i * 86400)) "$_td/src" \
		    "$_td/repo" >>"$W/log/thin.log" 2>&1 ||
		    { record_na "$_ts" "history" "snap" "making the history failed (log/thin.log)"; return; }
	done
	_lo=$(( (THIN_SESSIONS - 10) / 2 + 1 ))
	_hi=$((_lo + 9))
	printf 'corpus\t%s\t%s files (%s MiB), %s sessions after churn (repository %s MiB); sessions %s to %s are thinned\n' \
	    "$_ts" "$(find "$_td/src" -type f | wc -l)" \
	    "$(du -sm "$_td/src" | cut -f1)" "$THIN_SESSIONS" \
	    "$(du -sm "$_td/repo" | cut -f1)" "$_lo" "$_hi" >>"$RES"
	# the files each of the ten changed: the increments stamped with it
	for _i in $(seq "$_lo" "$_hi"); do
		_st=$(TZ=UTC date -d "@$((_t0 + _i * 86400))" +%Y-%m-%dT%H:%M:%S)
		(cd "$_td/repo/rdiff-backup-data/increments" &&
		    find . -name "*.$_st*" ! -name '*.dir' | sed -e 's|^\./||' \
		    -e "s|\.$_st[^/]*\$||" -e "s|^|$_td/c/|") >"$_td/changed.$_i"
	done
	_last=$THIN_SESSIONS
	for _i in $(seq "$RUNS"); do
		rm -rf "$_td/r"
		cp -a "$_td/repo" "$_td/r"
		_last=$((_last + 1))
		churn "$_td/src" "$((_last + 100))" >/dev/null 2>&1
		timed "$_ts" "one churn snap" "snap after a churn round" \
		    "$BIN/snap" --current-time $((_t0 + _last * 86400)) "$_td/src" "$_td/r"
		rm -rf "$_td/r"
		cp -a "$_td/repo" "$_td/r"
		timed "$_ts" "thin 10 in the middle" "prune, 10 --session options" \
		    sh -c 'b=$1 r=$5; shift
			for i in $(seq "$1" "$2"); do
				set -- "$@" --session "$(($3 + i * 86400))"
			done
			shift 4
			exec "$b/prune" "$@" "$r"' sh "$BIN" "$_lo" "$_hi" "$_t0" "$_td/r"
		rm -rf "$_td/c"
		timed "$_ts" "restore the changed files" \
		    "restore -r with a file list, each of the 10" \
		    sh -c 'for i in $(seq "$2" "$3"); do
			rm -rf "$5/c"
			"$1/restore" -r "$(($4 + i * 86400))" --include-filelist \
			    "$5/changed.$i" --exclude "**" "$5/repo" "$5/c" ||
			    exit 1
		    done' sh "$BIN" "$_lo" "$_hi" "$_t0" "$_td"
		rm -rf "$_td/out"
		timed "$_ts" "restore one of them" "restore -r (for scale)" \
		    "$BIN/restore" -r "$((_t0 + _lo * 86400))" "$_td/repo" "$_td/out"
	done
	for _i in $(seq "$RUNS"); do
		timed "$_ts" "verify every session" "restore -c -r all" \
		    "$BIN/restore" -c -r all "$_td/repo"
	done
	if command -v rdiff-backup >/dev/null; then
		timed "$_ts" "verify every session" \
		    "rdiff-backup verify --at, each session" \
		    sh -c 'for t in $(rdiff-backup --parsable-output list \
			increments "$1" | cut -d" " -f1); do
			rdiff-backup verify --at "$t" "$1" >/dev/null || exit 1
		    done' sh "$_td/repo"
	fi
	# the thinned copy of the last run must still restore its sessions
	for _i in 1 $((_lo - 1)) $((_hi + 1)) "$THIN_SESSIONS"; do
		rm -rf "$_td/a" "$_td/b"
		"$BIN/restore" -r "$((_t0 + _i * 86400))" "$_td/repo" "$_td/a" \
		    >/dev/null 2>&1 &&
		"$BIN/restore" -r "$((_t0 + _i * 86400))" "$_td/r" "$_td/b" \
		    >/dev/null 2>&1 && diff -r --no-dereference "$_td/a" "$_td/b" \
		    >/dev/null 2>&1 ||
		    printf 'fail\t%s\t%s\t%s\t%s\n' "$_ts" "thin 10 in the middle" \
		    "prune, 10 --session options" "session $_i differs after thinning" >>"$RES"
	done
	rm -rf "$_td"
}
