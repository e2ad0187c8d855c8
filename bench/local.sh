# Local workloads, sourced by bench/run.sh (POSIX sh): snap, restore and
# prune against rdiff-backup on the same data, with cp -a and a find stat
# walk as floors.  Our tools are timed only after a correctness probe
# passed (probe_local); rdiff-backup is the oracle of the probes.

RB=rdiff-backup

# our_cmd TEMPLATE KEY=VALUE...: the command line of one of our tools,
# from a template at the top of run.sh, with $BIN/ in front.
our_cmd() {
	_oc=$(fill "$@")
	printf '%s/%s\n' "$BIN" "$_oc"
}

# increments REPO: the times (epoch seconds) of the sessions rdiff-backup
# lists increments for, oldest first.  "Prune the oldest session" removes
# everything older than the second of them.  rdiff-backup reads snap's
# repos too (that is a requirement), so both repos are listed the same way.
increments() {
	$RB --parsable-output list increments "$1" 2>/dev/null |
	    awk '$1 ~ /^[0-9]+$/ { print $1 }' | sort -n
}

# probe NAME CMD...: run one probe step, bounded; log it.
probe() {
	_pn=$1; shift
	echo "+ $*" >>"$W/log/probe-$_pn.log"
	timeout -k 5 60 "$@" >>"$W/log/probe-$_pn.log" 2>&1
}

# probe_fail NAME WHY: remember why a probe failed (shown in the report).
probe_fail() {
	_why="$2"
	_last=$(grep -v '^+ ' "$W/log/probe-$1.log" 2>/dev/null | tail -n 1)
	[ -n "$_last" ] && _why="$_why: $_last"
	printf '%s\t%s\n' "$1" "$_why" >>"$W/probes"
	say "probe $1: not available ($_why)"
	return 1
}

probe_ok() {
	printf '%s\tok\n' "$1" >>"$W/probes"
	say "probe $1: ok"
}

available() {
	grep -q "^$1${TAB}ok\$" "$W/probes"
}

# probe_local: tiny correctness checks of snap, restore, verify and prune.
# Each tool is checked on its own, against rdiff-backup:
#   snap     two sessions; rdiff-backup restores both exactly (diff -r)
#   restore  restores both sessions of a repo rdiff-backup made
#   verify   exit 0 on that repo, 1 after a mirror file changed
#   prune    on a 3-session rdiff-backup repo, removes exactly the oldest
#            session (rdiff-backup list increments) and keeps it verifiable
probe_local() {
	_p=$W/probe
	rm -rf "$_p"
	mkdir -p "$_p/src/sub"
	printf 'one\n' >"$_p/src/a"
	printf 'two\n' >"$_p/src/sub/b"
	: >"$_p/src/empty"
	ln -s a "$_p/src/link"
	cp -a "$_p/src" "$_p/gen1"

	# Reference repo: rdiff-backup, sessions gen1, gen2, gen3.
	probe rb $RB backup "$_p/src" "$_p/rb" || die "rdiff-backup fails on a 3-file tree (see $W/log/probe-rb.log)"
	sleep 1
	printf 'one, changed\n' >"$_p/src/a"
	printf 'three\n' >"$_p/src/sub/c"
	cp -a "$_p/src" "$_p/gen2"
	probe rb $RB backup "$_p/src" "$_p/rb" || die "rdiff-backup fails"

	# snap
	if ! probe snap $(our_cmd "$SNAP_CMD" src="$_p/gen1" repo="$_p/snap"); then
		probe_fail snap "snap of a 3-file tree failed"
	else
		sleep 1
		if ! probe snap $(our_cmd "$SNAP_CMD" src="$_p/gen2" repo="$_p/snap"); then
			probe_fail snap "second snap session failed"
		elif ! probe snap $RB restore --at now "$_p/snap" "$_p/t-snap-now" ||
		    ! probe snap diff -r "$_p/gen2" "$_p/t-snap-now"; then
			probe_fail snap "rdiff-backup does not restore snap's newest session"
		elif ! probe snap $RB restore --at 1B "$_p/snap" "$_p/t-snap-1B" ||
		    ! probe snap diff -r "$_p/gen1" "$_p/t-snap-1B"; then
			probe_fail snap "rdiff-backup does not restore snap's older session"
		else
			probe_ok snap
		fi
	fi

	# restore
	if ! probe restore $(our_cmd "$RESTORE_CMD" time=now repo="$_p/rb" target="$_p/t-now") ||
	    ! probe restore diff -r "$_p/gen2" "$_p/t-now"; then
		probe_fail restore "restore of the newest session failed or differs"
	elif ! probe restore $(our_cmd "$RESTORE_CMD" time=1B repo="$_p/rb" target="$_p/t-1B") ||
	    ! probe restore diff -r "$_p/gen1" "$_p/t-1B"; then
		probe_fail restore "restore of the older session failed or differs"
	else
		probe_ok restore
	fi

	# verify
	cp -a "$_p/rb" "$_p/rb-v"
	if ! probe verify $(our_cmd "$VERIFY_CMD" repo="$_p/rb-v"); then
		probe_fail verify "verify of a clean repo failed"
	else
		printf 'ONE\n' >"$_p/rb-v/a"	# same size, other content
		probe verify $(our_cmd "$VERIFY_CMD" repo="$_p/rb-v")
		if [ $? -ne 1 ]; then
			probe_fail verify "verify did not exit 1 for a changed mirror file"
		else
			probe_ok verify
		fi
	fi

	# prune
	sleep 1
	printf 'four\n' >"$_p/src/sub/d"
	probe rb $RB backup "$_p/src" "$_p/rb" || die "rdiff-backup fails"
	_t=$(increments "$_p/rb" | sed -n 2p)
	_n0=$(increments "$_p/rb" | wc -l)
	if ! probe prune $(our_cmd "$PRUNE_CMD" time="$_t" repo="$_p/rb"); then
		probe_fail prune "prune failed"
	elif [ "$(increments "$_p/rb" | wc -l)" -ne $((_n0 - 1)) ]; then
		probe_fail prune "prune did not remove exactly the oldest session"
	elif ! probe prune $RB verify "$_p/rb"; then
		probe_fail prune "rdiff-backup verify fails after prune"
	else
		probe_ok prune
	fi
	rm -rf "$_p"
}

# Preparation steps run before a timed command (never timed).
fresh() {
	rm -rf "$@"
}

# session_gap: sessions are named by the second; two in the same second
# are refused by rdiff-backup, so wait for the next second.
session_gap() {
	sleep 1
}

# bench_corpus NAME SRC: every local workload on the tree SRC.
# Our repo is snap's, or when snap is not available but another of our
# tools is, a copy of rdiff-backup's repo (the row says so).
bench_corpus() {
	_c=$1 _src=$2 _d=$W/work
	rm -rf "$_d"
	mkdir -p "$_d"
	_files=$(find "$_src" | wc -l)
	_kib=$(du -sk "$_src" | cut -f1)
	printf 'corpus\t%s\t%s entries, %s MiB on disk\n' "$_c" "$_files" \
	    "$((_kib / 1024))" >>"$RES"
	if available snap; then
		_snap=snap _repo_note=
	else
		_snap= _repo_note=" (on rdiff-backup's repo)"
	fi

	# Initial backup: the floor (cp -a) and both tools take turns, so
	# that a disk whose speed drifts during the run (this VM's does)
	# weighs on all three alike.  Each starts right after a copy of the
	# corpus was removed: on a tmpfs, making 1M files right after 1M
	# others were made takes 15% longer than right after 1M were removed.
	# At most three copies exist at once (1M files fit a 20 GiB tmpfs).
	# The last run's repositories stay, so in it rdiff-backup follows
	# snap without a removal between them.
	[ -n "$_snap" ] || record_na "$_c" "initial backup" snap "not available (probe failed)"
	for _i in $(seq "$RUNS"); do
		fresh "$_d/rb"
		failed "$_c" "initial backup" "cp -a (floor)" ||
		    timed "$_c" "initial backup" "cp -a (floor)" cp -a "$_src" "$_d/cp"
		fresh "$_d/cp"
		if [ -n "$_snap" ] && ! failed "$_c" "initial backup" snap; then
			timed "$_c" "initial backup" snap $(our_cmd "$SNAP_CMD" src="$_src" repo="$_d/snap")
			[ "$_i" -lt "$RUNS" ] && fresh "$_d/snap"
		fi
		failed "$_c" "initial backup" rdiff-backup ||
		    timed "$_c" "initial backup" rdiff-backup $RB backup "$_src" "$_d/rb"
	done
	for _i in $(seq "$RUNS"); do
		timed "$_c" "unchanged re-run" "find stat walk (floor)" \
		    sh -c 'find "$1" -printf "%y %m %s %T@ %U %G\n" >/dev/null' sh "$_src" || break
	done

	# Unchanged re-runs: each run is one more session on the same repo.
	for _i in $(seq "$RUNS"); do
		session_gap
		failed "$_c" "unchanged re-run" rdiff-backup ||
		    timed "$_c" "unchanged re-run" rdiff-backup $RB backup "$_src" "$_d/rb"
		if [ -z "$_snap" ]; then
			record_na "$_c" "unchanged re-run" snap "not available (probe failed)"
		elif ! failed "$_c" "unchanged re-run" snap; then
			timed "$_c" "unchanged re-run" snap $(our_cmd "$SNAP_CMD" src="$_src" repo="$_d/snap")
		fi
	done

	# Re-runs after churn: round i changes the source, then both back it up.
	for _i in $(seq "$RUNS"); do
		churn "$_src" "$_i"
		session_gap
		failed "$_c" "re-run after churn" rdiff-backup ||
		    timed "$_c" "re-run after churn" rdiff-backup $RB backup "$_src" "$_d/rb"
		if [ -z "$_snap" ]; then
			record_na "$_c" "re-run after churn" snap "not available (probe failed)"
		elif ! failed "$_c" "re-run after churn" snap; then
			timed "$_c" "re-run after churn" snap $(our_cmd "$SNAP_CMD" src="$_src" repo="$_d/snap")
		fi
	done
	rm -rf "$_src"	# from here on only the repos are read

	_ours=$_d/snap
	if [ -z "$_snap" ] && { available restore || available verify || available prune; }; then
		cp -a "$_d/rb" "$_d/ours"
		_ours=$_d/ours
	fi

	# Restores: the newest session and two sessions back.
	for _at in now "$RESTORE_OLD"; do
		_wl="restore newest"
		[ "$_at" = now ] || _wl="restore $_at (older)"
		# taking turns, as for the initial backup
		available restore || record_na "$_c" "$_wl" restore "not available (probe failed)"
		for _i in $(seq "$RUNS"); do
			fresh "$_d/t"
			failed "$_c" "$_wl" rdiff-backup ||
			    timed "$_c" "$_wl" rdiff-backup $RB restore --at "$_at" "$_d/rb" "$_d/t"
			fresh "$_d/t"
			available restore && ! failed "$_c" "$_wl" "restore$_repo_note" &&
			    timed "$_c" "$_wl" "restore$_repo_note" $(our_cmd "$RESTORE_CMD" time="$_at" repo="$_ours" target="$_d/t")
		done
		fresh "$_d/t"
	done

	# Verify the newest session.
	for _i in $(seq "$RUNS"); do
		timed "$_c" "verify" rdiff-backup $RB verify "$_d/rb" || break
	done
	for _i in $(seq "$RUNS"); do
		available verify || { record_na "$_c" "verify" "restore (verify)" "not available (probe failed)"; break; }
		timed "$_c" "verify" "restore (verify)$_repo_note" $(our_cmd "$VERIFY_CMD" repo="$_ours") || break
	done

	# Prune: each run removes the oldest session with increments left
	# (everything older than the second oldest, see increments()).
	for _i in $(seq "$RUNS"); do
		_t=$(increments "$_d/rb" | sed -n 2p)
		[ -n "$_t" ] || break
		timed "$_c" "prune oldest session" rdiff-backup $RB remove increments --older-than "$_t" "$_d/rb" || break
	done
	for _i in $(seq "$RUNS"); do
		available prune || { record_na "$_c" "prune oldest session" prune "not available (probe failed)"; break; }
		_t=$(increments "$_ours" | sed -n 2p)
		[ -n "$_t" ] || break
		timed "$_c" "prune oldest session" "prune$_repo_note" $(our_cmd "$PRUNE_CMD" time="$_t" repo="$_ours") || break
	done
	rm -rf "$_d"
}

# bench_local: the corpora selected by $CORPUS, one after the other, each
# removed before the next is built.
bench_local() {
	probe_local
	mk_pool
	for _k in $CORPUS; do
		case $_k in
		R)	say "corpus R: copying $R_SRC"
			mk_r_corpus "$W/src" || die "cannot copy $R_SRC"
			bench_corpus "R: copy of $R_SRC" "$W/src" ;;
		S)	for _n in $N; do
				say "corpus S: $_n files of 1 KiB"
				mk_files "$W/src" "$_n" 1000 1024 7
				bench_corpus "S: $_n files of 1 KiB, 1000 per dir" "$W/src"
			done ;;
		*)	die "unknown corpus $_k (CORPUS takes R and S)" ;;
		esac
		rm -rf "$W/src"
	done
}
