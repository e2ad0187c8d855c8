# Measurement helpers, sourced by bench/run.sh (POSIX sh).
# Every timed run appends one tab-separated record to $RES:
#   run  SECTION WORKLOAD TOOL MICROSECONDS PEAK_RSS_KIB BYTES
#   fail SECTION WORKLOAD TOOL MESSAGE
#   na   SECTION WORKLOAD TOOL MESSAGE
# bench/report.sh turns them into Markdown (median, min, max per row).

TAB=$(printf '\t')

say() {
	printf 'bench: %s\n' "$*" >&2
}

die() {
	printf 'bench: %s\n' "$*" >&2
	exit 1
}

# drop_caches: for CACHE=cold, flush dirty data and drop the page cache,
# dentries and inodes, so the next command reads from the disk.
drop_caches() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
}

now_us() {
	echo $(($(date +%s%N) / 1000))
}

# wait_until SECONDS CMD...: poll CMD every 0.1 s until it succeeds;
# returns 1 when SECONDS have passed without success.
wait_until() {
	_wu_n=$(($1 * 10)); shift
	while ! "$@" >/dev/null 2>&1; do
		_wu_n=$((_wu_n - 1))
		[ "$_wu_n" -le 0 ] && return 1
		sleep 0.1
	done
	return 0
}

# record_na SECTION WORKLOAD TOOL MESSAGE: a row we could not measure.
record_na() {
	printf 'na\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$RES"
}

# timed SECTION WORKLOAD TOOL CMD...: sync (or drop caches), run CMD once
# under GNU time and timeout(1), record wall time and peak RSS (the largest single process
# of CMD's tree, GNU time's %M).  With RSS_PID set, the peak RSS recorded
# is that process's VmHWM instead (a FUSE daemon serving CMD).  BYTES
# (optional, for throughput) comes from $BYTES.  The command's output goes
# to $W/log/last.log; on failure its tail is shown and a fail record is
# written.  Returns CMD's exit status.
timed() {
	_tm_s=$1 _tm_w=$2 _tm_t=$3; shift 3
	# Earlier steps' dirty pages must not be written back on our time.
	if [ "$CACHE" = cold ]; then drop_caches; else sync; fi
	_tm_t0=$(now_us)
	/usr/bin/time -f %M -o "$W/log/rss" \
	    timeout -k 10 "$TIMEOUT" "$@" >"$W/log/last.log" 2>&1
	_tm_rc=$?
	_tm_t1=$(now_us)
	if [ "$_tm_rc" -ne 0 ]; then
		case $_tm_rc in
		124|137) _tm_msg="timed out after ${TIMEOUT}s" ;;
		*) _tm_msg="failed (exit $_tm_rc)" ;;
		esac
		printf 'fail\t%s\t%s\t%s\t%s\n' "$_tm_s" "$_tm_w" "$_tm_t" "$_tm_msg" >>"$RES"
		say "$_tm_s / $_tm_w / $_tm_t: $_tm_msg: $*"
		tail -n 5 "$W/log/last.log" | sed 's/^/bench:   /' >&2
		return "$_tm_rc"
	fi
	if [ -n "${RSS_PID:-}" ]; then
		_tm_rss=$(awk '/^VmHWM:/ { print $2 }' "/proc/$RSS_PID/status" \
		    2>/dev/null)
	else
		_tm_rss=$(tail -n 1 "$W/log/rss")
	fi
	printf 'run\t%s\t%s\t%s\t%s\t%s\t%s\n' "$_tm_s" "$_tm_w" "$_tm_t" \
	    "$((_tm_t1 - _tm_t0))" "${_tm_rss:--}" "${BYTES:--}" >>"$RES"
	say "$_tm_s / $_tm_w / $_tm_t: $(((_tm_t1 - _tm_t0) / 1000)) ms"
	return 0
}

# failed SECTION WORKLOAD TOOL: true when an earlier run of that row failed
# (later runs of a failed row are skipped).
failed() {
	grep -q "^fail$TAB$1$TAB$2$TAB$3$TAB" "$RES"
}

# fill TEMPLATE KEY=VALUE...: replace each {KEY} in TEMPLATE.  Values must
# not contain '|' or '&' (they are paths under $W and plain words).
fill() {
	_f=$1; shift
	for _kv; do
		_f=$(printf '%s\n' "$_f" | sed "s|{${_kv%%=*}}|${_kv#*=}|g")
	done
	printf '%s\n' "$_f"
}
