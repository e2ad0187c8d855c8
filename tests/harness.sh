# Test helpers, sourced by every tests/*.t file (POSIX sh).
#   t "desc" cmd...              passes when cmd exits 0
#   t_exit N "desc" cmd...       passes when cmd exits N
#   t_out "desc" "expected" cmd... passes when cmd's stdout is expected
#   skip "desc" "reason"
#   t_done                       prints the summary, exits 1 on failure
# Each file gets a fresh scratch directory $T (kept and named on failure),
# and absolute $BIN (the tools) and $HELP (test helper programs).
# Command output goes to $T/.log; a failing test shows its tail.

: "${BIN:=build/musl/bin}" "${HELP:=build/musl/helpers}"
case $BIN in /*) ;; *) BIN=$(pwd)/$BIN ;; esac
case $HELP in /*) ;; *) HELP=$(pwd)/$HELP ;; esac
export BIN HELP
T_NUM=0 T_PASS=0 T_FAIL=0 T_SKIP=0
T=$(mktemp -d "${TMPDIR:-/tmp}/test.XXXXXX") || exit 111
T_LOG=$T/.log

t_ok() {
	T_NUM=$((T_NUM + 1)) T_PASS=$((T_PASS + 1))
	echo "ok $T_NUM - $1"
}

t_notok() {
	T_NUM=$((T_NUM + 1)) T_FAIL=$((T_FAIL + 1))
	echo "not ok $T_NUM - $1"
	[ -s "$T_LOG" ] && tail -n 15 "$T_LOG" | sed 's/^/#   /'
	: >"$T_LOG"
}

t() {
	_t_desc=$1; shift
	: >"$T_LOG"
	if "$@" >>"$T_LOG" 2>&1; then t_ok "$_t_desc"; else t_notok "$_t_desc"; fi
}

t_exit() {
	_t_n=$1 _t_desc=$2; shift 2
	: >"$T_LOG"
	"$@" >>"$T_LOG" 2>&1
	_t_rc=$?
	if [ "$_t_rc" -eq "$_t_n" ]; then
		t_ok "$_t_desc"
	else
		echo "exit $_t_rc, expected $_t_n" >>"$T_LOG"
		t_notok "$_t_desc"
	fi
}

t_out() {
	_t_desc=$1 _t_want=$2; shift 2
	: >"$T_LOG"
	_t_got=$("$@" 2>>"$T_LOG")
	if [ "$_t_got" = "$_t_want" ]; then
		t_ok "$_t_desc"
	else
		printf 'got:      %s\nexpected: %s\n' "$_t_got" "$_t_want" >>"$T_LOG"
		t_notok "$_t_desc"
	fi
}

skip() {
	T_NUM=$((T_NUM + 1)) T_SKIP=$((T_SKIP + 1))
	echo "ok $T_NUM - $1 # SKIP $2"
}

t_done() {
	echo "1..$T_NUM"
	echo "$T_PASS passed, $T_FAIL failed, $T_SKIP skipped"
	if [ "$T_FAIL" -gt 0 ]; then
		echo "# scratch directory kept: $T"
		exit 1
	fi
	rm -rf "$T"
	exit 0
}
