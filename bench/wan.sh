# The backup routine over slow links, sourced by bench/run.sh (POSIX sh)
# after the remote setup (bench/remote.sh): every way a user would back
# up a remote tree, in the same run, through bench/delay-relay as the ssh
# ProxyCommand adding delay and a bandwidth cap and counting the bytes
# each way.  Each tool keeps its own repository (or mirror) across the
# runs of one link; all see the same changes of the source.
#
#   sshfs + rdiff-backup     sshfs -o ro, rdiff-backup backup, fusermount3 -u
#   mount-remote + snap      mount-remote HOST:PATH MNT -- snap MNT REPO
#   snap agent               snap HOST:PATH REPO (snap --server on the
#                            host, through ssh -C)
#   rdiff-backup native      rdiff-backup backup HOST::PATH REPO (ssh -C)
#   rsync -a                 rsync -a --delete HOST:PATH/ MIRROR (ssh, no -z)
#   rsync -a --fsync         the same, each file written to disk before
#                            rsync ends, as snap and rdiff-backup do
#
# Workloads, per link:
#   initial      the tree, into a fresh repository (each run)
#   unchanged    the tree again
#   churn        bench/corpus.sh's churn of the tree (1% modified ...)
#   big file     WAN_BIG_MIB MiB of random bytes, 1 MiB of it rewritten
#   log append   a WAN_LOG_MIB MiB text log, 1 MiB of new text appended
# The big file and the log are backed up once locally first (the same
# repository a remote first run would make, minutes sooner on slow links).
# After the last run of a workload each tool's newest backup is restored
# and compared with the source (diff -r --no-dereference).

# wan_tree ROOT: WAN_FILES files (1..8192 bytes) in 1,515 directories
# three levels deep (15 x 10 x 10), and a symlink for about every fifth
# file, some to a name in the same directory, some up a level.
wan_tree() {
	{ [ -f "$W/pool" ] && [ "$(wc -c <"$W/pool")" -ge 1081344 ]; } || mk_pool
	mkdir -p "$1"
	awk -v root="$1" -v n="$WAN_FILES" -v pool="$W/pool" 'BEGIN {
		getline p <pool
		L = length(p)
		srand(15)
		nd = 0
		for (a = 0; a < 15; a++) {
			d[nd++] = sprintf("%s/a%02d", root, a)
			for (b = 0; b < 10; b++) {
				d[nd++] = sprintf("%s/a%02d/b%d", root, a, b)
				for (c = 0; c < 9; c++)
					d[nd++] = sprintf("%s/a%02d/b%d/c%d", root, a, b, c)
			}
		}
		for (i = 0; i < nd; i++)
			print d[i] >(root "/.dirs")
		close(root "/.dirs")
		system("xargs mkdir -p <\"" root "/.dirs\"")
		for (i = 0; i < n; i++) {
			s = int(rand() * 8192) + 1
			f = sprintf("%s/f%05d", d[i % nd], i)
			printf "%s", substr(p, int(rand() * (L - s)) + 1, s) >f
			close(f)
			if (rand() < 0.19) {
				if (rand() < 0.7)
					printf "f%05d\t%s/l%05d\n", i, d[i % nd], i >(root "/.links")
				else
					printf "../f%05d\t%s/l%05d\n", i, d[i % nd], i >(root "/.links")
			}
		}
		close(root "/.links")
	}'
	perl -ne 'chomp; my ($t, $l) = split /\t/; symlink($t, $l) or die "symlink $l: $!\n"' \
	    "$1/.links" || die "cannot make the symlinks of $1"
	rm -f "$1/.dirs" "$1/.links"
}

# wan_hosts: one ssh_config Host per link, bkw-RTT-KBIT, its relay
# counting into $W/wire.
wan_hosts() {
	for _l in $WAN_LINKS; do
		_rt=${_l%%:*} _kb=${_l#*:}
		_h=bkw-$_rt-$_kb
		grep -q "^Host $_h\$" "$W/ssh/config" && continue
		printf '#!/bin/sh\nexec %s %d %d %d %s\n' "$W/bin/delay-relay" \
		    $((_rt / 2)) "$PORT" "$_kb" "$W/wire" >"$W/ssh/relay-$_h"
		chmod 755 "$W/ssh/relay-$_h"
		sed -n '/^Host bkb-0$/,/^Host /p' "$W/ssh/config" |
		    sed -e '/^Host /d' -e '/ProxyCommand/d' >"$W/ssh/host.tmp"
		{
			echo "Host $_h"
			cat "$W/ssh/host.tmp"
			echo "  ProxyCommand $W/ssh/relay-$_h"
		} >>"$W/ssh/config"
	done
}

# wan_scripts DIR HOST: one script per tool in DIR, each taking SRC (a
# remote path) and its repository or mirror: the routine a user runs.
wan_scripts() {
	_cf=$W/ssh/config
	cat >"$1/sshfs.sh" <<-EOF
	#!/bin/sh
	sshfs -F $_cf $2:\$1 $1/mnt -o ro || exit 111
	rdiff-backup --terminal-verbosity 1 backup $1/mnt \$2
	rc=\$?
	fusermount3 -u $1/mnt || exit 111
	exit \$rc
	EOF
	cat >"$1/mr.sh" <<-EOF
	#!/bin/sh
	exec $BIN/mount-remote -F $_cf $2:\$1 $1/mnt -- $BIN/snap $1/mnt \$2
	EOF
	cat >"$1/agent.sh" <<-EOF
	#!/bin/sh
	exec $BIN/snap --remote-schema "ssh -F $_cf -C {h} $BIN/snap --server" $2:\$1 \$2
	EOF
	cat >"$1/rbnative.sh" <<-EOF
	#!/bin/sh
	exec rdiff-backup --terminal-verbosity 1 \\
	    --remote-schema "ssh -F $_cf -C {h} rdiff-backup server" \\
	    backup $2::\$1 \$2
	EOF
	cat >"$1/rsync.sh" <<-EOF
	#!/bin/sh
	exec rsync -a --delete -e "ssh -F $_cf" $2:\$1/ \$2/
	EOF
	cat >"$1/rsyncfs.sh" <<-EOF
	#!/bin/sh
	exec rsync -a --fsync --delete -e "ssh -F $_cf" $2:\$1/ \$2/
	EOF
}

wan_name() {
	case $1 in
	sshfs) echo "sshfs + rdiff-backup" ;;
	mr) echo "mount-remote + snap" ;;
	agent) echo "snap agent" ;;
	rbnative) echo "rdiff-backup native" ;;
	rsync) echo "rsync -a" ;;
	rsyncfs) echo "rsync -a --fsync" ;;
	esac
}

# wan_seed TOOL SRC DEST: DEST as that tool's first run over the link
# would have left it, made locally.
wan_seed() {
	rm -rf "$3"
	case $1 in
	sshfs|rbnative) rdiff-backup --terminal-verbosity 1 backup "$2" "$3" ;;
	mr|agent) "$BIN/snap" "$2" "$3" ;;
	rsync|rsyncfs) mkdir -p "$3" && rsync -a "$2/" "$3/" ;;
	esac >>"$W/log/wan.log" 2>&1
}

# wan_run SECTION WORKLOAD TOOL DIR SRC: one timed run; its wire bytes
# are recorded after the relay has written them.
wan_run() {
	_ws=$1 _ww=$2 _wk=$3 _wd=$4 _wsrc=$5
	_wn=$(wan_name "$_wk")
	failed "$_ws" "$_ww" "$_wn" && return 1
	grep -q "^na$TAB$_ws$TAB$_ww$TAB$_wn$TAB" "$RES" && return 1
	: >"$W/wire"
	# no tool pays for another's dirty pages (snap ends with syncfs)
	sync
	TIMEOUT=$WAN_LIMIT timed "$_ws" "$_ww" "$_wn" \
	    sh "$_wd/$_wk.sh" "$_wsrc" "$_wd/repo-$_wk"
	_wrc=$?
	wait_until 10 test -s "$W/wire"
	awk -v s="$_ws" -v w="$_ww" -v t="$_wn" -v rc="$_wrc" '
	    { up += $1; down += $2 }
	    END { if (NR) printf "wire\t%s\t%s\t%s\t%d\t%d\t%s\n", s, w, t, up, down, rc }' \
	    "$W/wire" >>"$RES"
	return "$_wrc"
}

# wan_check SECTION WORKLOAD TOOL DIR SRC: the newest backup, restored,
# equals SRC.
wan_check() {
	_cn=$(wan_name "$3")
	failed "$1" "$2" "$_cn" && return
	grep -q "^run$TAB$1$TAB$2$TAB$_cn$TAB" "$RES" || return
	rm -rf "$4/check"
	case $3 in
	sshfs|rbnative) rdiff-backup --terminal-verbosity 1 restore --at now \
	    "$4/repo-$3" "$4/check" ;;
	mr|agent) "$BIN/restore" "$4/repo-$3" "$4/check" ;;
	rsync|rsyncfs) cp -a "$4/repo-$3" "$4/check" ;;
	esac >>"$W/log/wan.log" 2>&1
	if ! diff -r --no-dereference "$5" "$4/check" >>"$W/log/wan.log" 2>&1; then
		printf 'fail\t%s\t%s\t%s\t%s\n' "$1" "$2" "$_cn" \
		    "the restored backup differs from the source (log/wan.log)" >>"$RES"
	fi
	rm -rf "$4/check"
}

bench_wan() {
	[ -n "${PORT:-}" ] || setup_remote
	wan_hosts
	_wt=$W/wan/src/tree
	_wb=$W/wan/src/big
	_wl=$W/wan/src/log
	if [ ! -d "$_wt" ]; then
		say "wan data: $WAN_FILES files, a $WAN_BIG_MIB MiB file, a $WAN_LOG_MIB MiB log"
		wan_tree "$_wt"
		mkdir -p "$_wb" "$_wl"
		head -c $((WAN_BIG_MIB * 1048576)) /dev/urandom >"$_wb/big.bin"
		_wi=0
		while [ $_wi -lt "$WAN_LOG_MIB" ]; do
			cat "$W/pool"
			_wi=$((_wi + 1))
		done | head -c $((WAN_LOG_MIB * 1048576)) >"$_wl/app.log"
		chown -R "$BENCH_USER" "$W/wan/src"
		chmod 755 "$W/wan" "$W/wan/src"
	fi
	_wdesc="$(find "$_wt" -type f | wc -l) files ($(du -sk --apparent-size "$_wt" | cut -f1) KiB), $(find "$_wt" -type d | wc -l) directories, $(find "$_wt" -type l | wc -l) symlinks; a $WAN_BIG_MIB MiB random file; a $WAN_LOG_MIB MiB log"
	for _l in $WAN_LINKS; do
		_rt=${_l%%:*} _kb=${_l#*:}
		_h=bkw-$_rt-$_kb
		if [ "$_kb" -gt 0 ]; then
			_s="wan: $_rt ms RTT, $((_kb / 1000)) Mbit/s"
		else
			_s="wan: $_rt ms RTT, no bandwidth cap"
		fi
		_d=$W/wan/$_h
		mkdir -p "$_d/mnt"
		wan_scripts "$_d" "$_h"
		printf 'corpus\t%s\t%s; measured round trip %s ms; bytes are both directions through the relay (ssh framing included)\n' \
		    "$_s" "$_wdesc" "$(measure_rtt "$_h")" >>"$RES"
		for _k in $WAN_TOOLS; do
			case $_k in
			agent) "$BIN/snap" 2>&1 | grep -q 'host:path' ||
			    for _w in initial unchanged churn "big file, 1 MiB changed" "log, 1 MiB appended"; do
				record_na "$_s" "$_w" "$(wan_name agent)" "not built yet"
			    done ;;
			esac
		done

		for _i in $(seq "$RUNS"); do
			for _k in $WAN_TOOLS; do
				rm -rf "$_d/repo-$_k"
				case $_k in rsync*) mkdir -p "$_d/repo-$_k" ;; esac
				wan_run "$_s" initial "$_k" "$_d" "$_wt"
			done
		done
		for _i in $(seq "$RUNS"); do
			for _k in $WAN_TOOLS; do
				wan_run "$_s" unchanged "$_k" "$_d" "$_wt"
			done
		done
		printf 'ref\t%s\tinitial\t%s\n' "$_s" "$(find "$_wt" \( -type f -o -type l \) -printf '%s\n' |
		    awk '{ s += $1 } END { print s }')" >>"$RES"
		for _i in $(seq "$RUNS"); do
			churn "$_wt" $((_rt * 100 + _i)) || return
			chown -R "$BENCH_USER" "$_wt"
			# what must cross: the changed files whole, and the listing
			_rn=$((_rt * 100 + _i))
			printf 'ref\t%s\tchurn\t%s\n' "$_s" "$( (while IFS= read -r _cl; do
				_f=${_cl#?}
				case $_cl in
				C*) stat -c %s "$_f.new$_rn" ;;
				[MAT]*) stat -c %s "$_f" ;;
				esac
			    done <"$W/churn.plan"
			    find "$_wt" -printf '%P %s %T@ %m %u %g\n' | gzip -c | wc -c) |
			    awk '{ s += $1 } END { print s }')" >>"$RES"
			for _k in $WAN_TOOLS; do
				wan_run "$_s" churn "$_k" "$_d" "$_wt"
			done
		done
		for _k in $WAN_TOOLS; do
			wan_check "$_s" churn "$_k" "$_d" "$_wt"
		done

		for _c in big log; do
			eval "_src=\$_w$(echo $_c | cut -c1)"
			if [ "$_c" = big ]; then
				_ww="big file, 1 MiB changed"
			else
				_ww="log, 1 MiB appended"
			fi
			for _k in $WAN_TOOLS; do
				wan_seed "$_k" "$_src" "$_d/repo-$_k"
			done
			for _i in $(seq "$RUNS"); do
				if [ "$_c" = big ]; then
					head -c 1048576 /dev/urandom | dd of="$_src/big.bin" bs=1M \
					    seek=$((_i * 37 % WAN_BIG_MIB)) conv=notrunc status=none
				else	# new text, unlike anything before
					head -c 786432 /dev/urandom | base64 -w 76 \
					    >>"$_src/app.log"
				fi
				for _k in $WAN_TOOLS; do
					wan_run "$_s" "$_ww" "$_k" "$_d" "$_src"
				done
			done
			for _k in $WAN_TOOLS; do
				wan_check "$_s" "$_ww" "$_k" "$_d" "$_src"
			done
		done
		rm -rf "$_d"
	done
}
