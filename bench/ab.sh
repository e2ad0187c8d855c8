#!/bin/sh
# A/B of two builds of our tools on corpus R: is a change that should not
# change speed within noise?  Both builds run on the same copy, on a tmpfs
# (the disk of a shared VM drifts more than any refactoring), in
# alternating order, ROUNDS times; the table gives each workload's median
# in ms for A and B and B's median as a fraction of A's.
#
#   sh bench/ab.sh A_BIN B_BIN        e.g. /work/old/build/musl/bin build/musl/bin
#
# Knobs (environment): ROUNDS (5), R_SRC ("/usr/share /usr/include"),
# AB_DIR (/mnt/bk-ab: a tmpfs is mounted there as root, else a plain
# directory is used and the table says so).
# Exit status: 0 table printed, 1 a run failed (named), 100 usage.
set -u
[ $# = 2 ] || { echo "usage: sh bench/ab.sh A_BIN B_BIN" >&2; exit 100; }
A=$(cd "$1" && pwd) && B=$(cd "$2" && pwd) || exit 100
: "${ROUNDS:=5}" "${R_SRC:=/usr/share /usr/include}" "${AB_DIR:=/mnt/bk-ab}"
[ -e "$AB_DIR" ] && { echo "ab: $AB_DIR exists; remove it or set AB_DIR" >&2; exit 100; }
mkdir -p "$AB_DIR" || exit 1
fs="a plain directory"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=16g tmpfs "$AB_DIR"; then
	fs=tmpfs
fi
M=$AB_DIR
cleanup() {
	[ "$fs" = tmpfs ] && umount "$M"
	rm -rf "$M"
}
trap cleanup EXIT
trap 'exit 111' INT TERM
mkdir "$M/src" && cp -a $R_SRC "$M/src/" || exit 1
times=$M/times
: >"$times"

# run LABEL SIDE CMD...: time CMD in ms into $times; a failure stops.
run() {
	label=$1 side=$2
	shift 2
	s=$(date +%s%N)
	"$@" >/dev/null 2>"$M/err"
	rc=$?
	e=$(date +%s%N)
	if [ $rc != 0 ] && [ $rc != 1 ]; then
		echo "ab: $label ($side) exited $rc: $(head -n 1 "$M/err")" >&2
		exit 1
	fi
	echo "$label $side $(( (e - s) / 1000000 ))" >>"$times"
}

# Session times are real (a time in the past would make every file newer
# than the last session, and re-read); a second apart, so none repeats.
round=1
while [ $round -le "$ROUNDS" ]; do
	if [ $((round % 2)) = 1 ]; then order="A B"; else order="B A"; fi
	for side in $order; do
		[ $side = A ] && bin=$A || bin=$B
		rm -rf "$M/r.$side"
		run initial $side "$bin/snap" "$M/src" "$M/r.$side"
		sleep 1
		run unchanged $side "$bin/snap" "$M/src" "$M/r.$side"
		sleep 1
	done
	# 1 % of the files grow a line
	find "$M/src" -type f | awk -v r=$round 'NR % 100 == r' |
	    while IFS= read -r f; do echo "churn $round" >>"$f"; done
	for side in $order; do
		[ $side = A ] && bin=$A || bin=$B
		run churn $side "$bin/snap" "$M/src" "$M/r.$side"
		run "restore-1B" $side "$bin/restore" -r 1B \
		    "$M/r.$side" "$M/o.$side"
		rm -rf "$M/o.$side"
		run verify $side "$bin/restore" -c "$M/r.$side"
	done
	echo "ab: round $round of $ROUNDS done" >&2
	round=$((round + 1))
done

med() {
	awk -v l="$1" -v s="$2" '$1 == l && $2 == s { print $3 }' "$times" |
	    sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
echo "A: $A"
echo "B: $B"
echo "corpus R ($R_SRC) on $fs, $ROUNDS rounds, alternating order; medians in ms"
echo
echo "| workload | A | B | B ÷ A |"
echo "|---|--:|--:|--:|"
for l in initial unchanged churn restore-1B verify; do
	a=$(med $l A) b=$(med $l B)
	echo "| $l | $a | $b | $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b / a }') |"
done
