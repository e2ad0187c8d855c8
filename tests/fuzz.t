# Replay every fuzz target's seed corpus (tests/fuzz/corpus/NAME/) through
# the normally built target: none may crash.
. tests/harness.sh
: "${FUZZBIN:=build/musl/fuzz}"
n=0
for src in tests/fuzz/*.c; do
	name=${src##*/}
	name=${name%.c}
	[ "$name" = replay ] && continue
	n=$((n + 1))
	set -- tests/fuzz/corpus/"$name"/*
	if [ ! -e "$1" ]; then
		t_notok "fuzz target $name has a seed corpus"
		continue
	fi
	t "fuzz target $name replays its $# seeds" "$FUZZBIN/$name" "$@"
done
[ "$n" -gt 0 ] || skip "fuzz corpora" "no fuzz targets yet"
t_done
