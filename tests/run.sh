#!/bin/sh
# Run every test: C unit tests ($UNIT/*), shell tests (tests/*.t) and
# mandoc -Tlint on each man page.  Prints one TAP stream, numbered
# across all files, and a closing "N passed, N failed, N skipped".
# Usage: BIN=build/musl/bin UNIT=build/musl/tests sh tests/run.sh [file.t ...]
set -u
: "${BIN:=build/musl/bin}" "${UNIT:=build/musl/tests}"
export BIN
n=0 pass=0 fail=0 skipped=0
out=$(mktemp) || exit 111
trap 'rm -f "$out"' EXIT

# run NAME CMD...: relay CMD's TAP lines, renumbered and prefixed with NAME.
run() {
	name=$1; shift
	"$@" >"$out" 2>&1
	rc=$?
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
	done <"$out"
	# A file that died, or failed without saying which test, is a failure.
	if [ "$rc" -ne 0 ] && ! grep -q '^not ok' "$out"; then
		n=$((n + 1)) fail=$((fail + 1))
		echo "not ok $n - $name: exited $rc after $seen tests"
	fi
}

if [ $# -eq 0 ]; then
	for u in "$UNIT"/*; do
		[ -x "$u" ] && run "unit/${u##*/}" "$u"
	done
	set -- tests/*.t
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
	run "${f##*/}" sh "$f"
done
echo "1..$n"
echo "$pass passed, $fail failed, $skipped skipped"
[ "$fail" -eq 0 ]
