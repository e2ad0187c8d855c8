# Corpora and churn, sourced by bench/run.sh (POSIX sh).  Everything is
# deterministic for a given machine: file contents come from $W/pool,
# 1 MiB of pseudo-random base64 text made by awk from a fixed seed
# (Debian's mawk), and the churn plan from the sorted file list and the
# round number.

# mk_pool: the byte pool every generated file is cut from.
mk_pool() {
	awk 'BEGIN {
		srand(42)
		c = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
		for (i = 0; i < 1081344 / 64; i++) {
			s = ""
			for (j = 0; j < 64; j++)
				s = s substr(c, int(rand() * 64) + 1, 1)
			printf "%s", s
		}
	}' >"$W/pool"
}

# mk_files ROOT NFILES PERDIR SIZE SEED: NFILES files in directories of
# PERDIR files (ROOT/d0000/f0000 ...).  SIZE is a byte count, or -N for
# sizes uniformly random in 1..N.
mk_files() {
	{ [ -f "$W/pool" ] && [ "$(wc -c <"$W/pool")" -ge 1081344 ]; } ||
	    die "no byte pool $W/pool: mk_pool first"
	_ndirs=$((($2 + $3 - 1) / $3))
	mkdir -p "$1"
	seq -f "$1/d%04g" 0 $((_ndirs - 1)) | xargs mkdir
	awk -v root="$1" -v n="$2" -v per="$3" -v size="$4" -v seed="$5" \
	    -v pool="$W/pool" 'BEGIN {
		getline p <pool
		L = length(p)
		srand(seed)
		for (i = 0; i < n; i++) {
			s = size > 0 ? size : int(rand() * -size) + 1
			f = sprintf("%s/d%04d/f%04d", root, int(i / per), i % per)
			printf "%s", substr(p, int(rand() * (L - s)) + 1, s) >f
			close(f)
		}
	}'
}

# mk_r_corpus DIR: a copy of the real trees in $R_SRC (default /usr/share
# and /usr/include) under DIR, with owners, modes, times and links.
mk_r_corpus() {
	mkdir -p "$1"
	for _d in $R_SRC; do
		cp -a "$_d" "$1/" || return 1
	done
}

# churn DIR ROUND: deterministic change of about 3% of the regular files
# of DIR: 0.5% modified in the middle (10 bytes overwritten at size/2),
# 0.5% appended to, 0.5% deleted, 0.5% new files (2 KiB) created next to
# existing ones, 1% touched without change.  The same DIR and ROUND
# always give the same result.
churn() {
	find "$1" -type f -print | LC_ALL=C sort >"$W/churn.list"
	awk -v seed="$2" 'BEGIN { srand(1000 + seed) }
	{
		r = rand()
		if (r < 0.005) print "M" $0
		else if (r < 0.010) print "A" $0
		else if (r < 0.015) print "D" $0
		else if (r < 0.020) print "C" $0
		else if (r < 0.030) print "T" $0
	}' "$W/churn.list" >"$W/churn.plan"
	while IFS= read -r _l; do
		_f=${_l#?}
		case $_l in
		M*)	_sz=$(stat -c %s "$_f")
			printf 'churn%05d' "$2" |
			    dd of="$_f" bs=1 seek=$((_sz / 2)) conv=notrunc \
			    status=none ;;
		A*)	printf 'bench churn round %d\n' "$2" >>"$_f" ;;
		C*)	tail -c +$(($2 * 4096 + 1)) "$W/pool" | head -c 2048 \
			    >"$_f.new$2" ;;
		esac
	done <"$W/churn.plan"
	sed -n 's/^D//p' "$W/churn.plan" | xargs -r -d '\n' rm -f
	sed -n 's/^T//p' "$W/churn.plan" | xargs -r -d '\n' touch
	say "churn round $2: $(grep -c '^M' "$W/churn.plan") modified," \
	    "$(grep -c '^A' "$W/churn.plan") appended," \
	    "$(grep -c '^D' "$W/churn.plan") deleted," \
	    "$(grep -c '^C' "$W/churn.plan") created," \
	    "$(grep -c '^T' "$W/churn.plan") touched"
}
