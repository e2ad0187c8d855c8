#!/bin/sh
# Run every test: C unit tests ($UNIT/*), shell tests (tests/*.t) and
# mandoc -Tlint on each man page.  Prints one TAP stream, numbered
# across all files, and a closing "N passed, N failed, N skipped".
# Shell tests run JOBS at a time (default: the online CPUs), largest
# file first; each file's lines are relayed whole, in the order the
# files started.  Tests keep to their own scratch directory, port and
# user, so they do not see each other.
# Usage: BIN=build/musl/bin UNIT=build/musl/tests sh tests/run.sh [file.t ...]
set -u
: "${BIN:=build/musl/bin}" "${UNIT:=build/musl/tests}"
: "${JOBS:=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)}"
export BIN
n=0 pass=0 fail=0 skipped=0
out=$(mktemp -d) || exit 111
trap 'rm -rf "$out"' EXIT
trap 'exit 111' INT TERM

# relay NAME FILE RC: FILE's TAP lines, renumbered and prefixed with NAME.
relay() {
	name=$1 rc=$3
	seen=0
	while IFS= read -r line; do
		case $line in
		"ok "*|"not ok "*)
			n=$((n + 1)) seen=$((seen + 1))
			case $line in
			"not ok "*) fail=$((fail + 1)) st="not ok" ;;
			*"# SKIP"*) skipped=$((skipped + 1)) st="ok" ;;
			*) pass=$((pass + 1)) st="ok" ;;
			esac
			desc=$(printf '%s\n' "$line" | sed 's/^\(not \)\{0,1\}ok [0-9]* *-\{0,1\} *//')
			echo "$st $n - $name: $desc" ;;
		"#"*) echo "$line" ;;
		*[0-9]" passed, "*|"1.."*) ;;
		*) echo "# $line" ;;
		esac
	done <"$2"
	# A file that died, or failed without saying which test, is a failure.
	if [ "$rc" -ne 0 ] && ! grep -q '^not ok' "$2"; then
		n=$((n + 1)) fail=$((fail + 1))
		echo "not ok $n - $name: exited $rc after $seen tests"
	fi
}

# run NAME CMD...: run CMD now and relay its lines.
run() {
	name=$1; shift
	"$@" >"$out/run" 2>&1
	relay "$name" "$out/run" $?
}

# Shell test i runs in the background into $out/i, its status in
# $out/i.rc when it ends; started counts those begun, shown those relayed.
started=0 shown=0
start() {
	started=$((started + 1))
	eval "name_$started=\$1"
	(sh "$1" >"$out/$started" 2>&1; echo $? >"$out/$started.tmp" &&
	    mv "$out/$started.tmp" "$out/$started.rc") &
}
# show_done: relay the tests that have ended, in the order they began.
show_done() {
	while [ "$shown" -lt "$started" ] && [ -f "$out/$((shown + 1)).rc" ]; do
		shown=$((shown + 1))
		eval "f=\$name_$shown"
		relay "${f##*/}" "$out/$shown" "$(cat "$out/$shown.rc")"
	done
}
running() {
	r=0 i=$shown
	while [ "$i" -lt "$started" ]; do
		i=$((i + 1))
		[ -f "$out/$i.rc" ] || r=$((r + 1))
	done
	echo "$r"
}

if [ $# -eq 0 ]; then
	for u in "$UNIT"/*; do
		[ -x "$u" ] && run "unit/${u##*/}" "$u"
	done
	# largest first: the long ones start early and the short fill in
	set -- $(ls -S tests/*.t)
	for page in */*.[15]; do
		[ -f "$page" ] || continue
		run "$page" sh -c 'if mandoc -Tlint -Wwarning "$1"; then
			echo "ok 1 - mandoc -Tlint clean"
		else
			echo "not ok 1 - mandoc -Tlint"; exit 1
		fi' sh "$page"
	done
fi
for f; do
	while [ "$(running)" -ge "$JOBS" ]; do
		show_done
		sleep 0.2
	done
	start "$f"
	show_done
done
while [ "$shown" -lt "$started" ]; do
	show_done
	[ "$shown" -lt "$started" ] && sleep 0.2
done
wait
echo "1..$n"
echo "$pass passed, $fail failed, $skipped skipped"
[ "$fail" -eq 0 ]
