#!/bin/sh
# make bench: our four tools against their peers on the same data, in one
# run, as Markdown.  See bench/README for what is measured and how.
#
# Knobs (make variables or environment; `make bench BENCH=local N=10000`):
#   BENCH      all | local | remote | workflow | wan | history | thin  (all)
#   CORPUS     local corpora: R (real files) and/or S (small files) ("R S")
#   R_SRC      trees copied for corpus R      ("/usr/share /usr/include")
#   N          sizes of corpus S, files of 1 KiB ("10000 200000 1000000")
#   RUNS       runs per row (median, min, max)                     (3)
#   RTT        remote round trips in ms, 0 = plain loopback      ("0 10")
#   BIG_MIB    size of the big remote file in MiB                (512)
#   REMOTE_FILES / REMOTE_DIRS   remote tree                (20000 / 400)
#   WAN_LINKS  RTT_ms:kbit links of the wan rows (0 kbit: uncapped)
#                                   ("10:0 50:100000 100:10000")
#   WAN_TOOLS  "sshfs mr agent rbnative rsync rsyncfs" (see bench/wan.sh)
#   WAN_FILES / WAN_BIG_MIB / WAN_LOG_MIB     (20000 / 256 / 64)
#   WAN_LIMIT  seconds one wan run may take                     (900)
#   HIST_FILES / HIST_SESSIONS  the restore -m history     (200000 / 30)
#   THIN_SESSIONS  the history of corpus R that prune thins      (30)
#   CACHE      warm | cold (drop the page cache before every timed run)
#   TIMEOUT    seconds any one timed command may take           (7200)
#   BENCH_DIR  scratch directory, created and removed  (/var/tmp/bk-bench)
#   KEEP=1     keep BENCH_DIR (results, logs) at the end
#   OUT        also write the report to this file (e.g. docs/benchmarks.md)
#   BENCH_PORT first port tried for the bench sshd                (22460)
#   BENCH_USER login user of the bench sshd (made and removed) (bkbench)
#
# Exit status: 0 report printed (rows that failed say so), 1 the bench
# could not run (missing peer, no space, not root), 111 interrupted.
set -u

# Our tools' command lines, as templates: {key} is replaced, the first
# word is a program in $BIN.  Adjust here when the interfaces settle.
SNAP_CMD=${SNAP_CMD:-'snap {src} {repo}'}
RESTORE_CMD=${RESTORE_CMD:-'restore -r {time} {repo} {target}'}
VERIFY_CMD=${VERIFY_CMD:-'restore -c {repo}'}
LIST_CMD=${LIST_CMD:-'restore -l {repo}'}	# not timed yet
PRUNE_CMD=${PRUNE_CMD:-'prune {time} {repo}'}	# removes sessions older than {time}
MOUNT_CMD=${MOUNT_CMD:-'mount-remote -f -p {port} {sshopts} {remote} {mnt}'}
UMOUNT_CMD=${UMOUNT_CMD:-'mount-remote -u {mnt}'}
# Other keys: {sshcfg} {host} (an ssh_config and its Host for the RTT),
# e.g. MOUNT_CMD='mount-remote -f -F {sshcfg} {host}:{remote} {mnt}' would
# need {remote} as a path; {remote} is user@127.0.0.1:/path today.

: "${BIN:=build/musl/bin}"
: "${BENCH:=all}" "${CORPUS:=R S}" "${R_SRC:=/usr/share /usr/include}"
: "${N:=10000 200000 1000000}" "${RUNS:=3}" "${RTT:=0 10}"
: "${BIG_MIB:=512}" "${REMOTE_FILES:=20000}" "${REMOTE_DIRS:=400}"
: "${CACHE:=warm}" "${TIMEOUT:=7200}" "${BENCH_DIR:=/var/tmp/bk-bench}"
: "${KEEP:=}" "${OUT:=}" "${BENCH_PORT:=22460}" "${BENCH_USER:=bkbench}"
: "${WAN_LINKS:=10:0 50:100000 100:10000}" "${WAN_TOOLS:=sshfs mr agent rbnative rsync rsyncfs}"
: "${WAN_FILES:=20000}" "${WAN_BIG_MIB:=256}" "${WAN_LOG_MIB:=64}" "${WAN_LIMIT:=900}"
: "${HIST_FILES:=200000}" "${HIST_SESSIONS:=30}" "${THIN_SESSIONS:=30}"
RESTORE_OLD=2B
export TZ=UTC LC_ALL=C

BENCH_SRC=$(cd "$(dirname "$0")" && pwd)
case $BIN in /*) ;; *) BIN=$(pwd)/$BIN ;; esac
W=$BENCH_DIR
RES=$W/results
. "$BENCH_SRC/lib.sh"
. "$BENCH_SRC/corpus.sh"
. "$BENCH_SRC/local.sh"
. "$BENCH_SRC/remote.sh"
. "$BENCH_SRC/workflow.sh"
. "$BENCH_SRC/wan.sh"
. "$BENCH_SRC/history.sh"
. "$BENCH_SRC/thin.sh"

# ---- knobs ----------------------------------------------------------
isnum() {
	case $1 in ''|*[!0-9]*) return 1 ;; esac
}
case $BENCH in all|local|remote|workflow|wan|history|thin) ;; *) die "BENCH must be all, local, remote, workflow, wan, history or thin, not '$BENCH'" ;; esac
case $CACHE in warm|cold) ;; *) die "CACHE must be warm or cold" ;; esac
for _v in RUNS BIG_MIB REMOTE_FILES REMOTE_DIRS TIMEOUT BENCH_PORT WAN_FILES WAN_BIG_MIB WAN_LOG_MIB WAN_LIMIT HIST_FILES HIST_SESSIONS; do
	eval "_x=\$$_v"
	isnum "$_x" && [ "$_x" -gt 0 ] || die "$_v must be a positive number, not '$_x'"
done
for _x in $N $RTT; do
	isnum "$_x" || die "N and RTT take numbers, not '$_x'"
done
for _x in $WAN_LINKS; do
	isnum "${_x%%:*}" && isnum "${_x#*:}" && [ "${_x%%:*}" -gt 0 ] ||
	    die "WAN_LINKS takes RTT:KBIT pairs (RTT > 0), not '$_x'"
done
for _x in $WAN_TOOLS; do
	case $_x in sshfs|mr|agent|rbnative|rsync|rsyncfs) ;; *) die "WAN_TOOLS: unknown tool '$_x'" ;; esac
done
[ $((REMOTE_FILES % REMOTE_DIRS)) -eq 0 ] || die "REMOTE_FILES must be a multiple of REMOTE_DIRS"
case $W in
/*/*) ;;
*) die "BENCH_DIR must be an absolute path below a directory, not '$W'" ;;
esac
case $W in *[!A-Za-z0-9/._-]*) die "BENCH_DIR may hold only [A-Za-z0-9/._-]: '$W'" ;; esac
case $BENCH in remote|workflow|wan|history|thin) CORPUS= ;; esac
[ "$HIST_SESSIONS" -ge 3 ] || die "HIST_SESSIONS must be 3 or more"
for _t in snap restore prune mount-remote; do
	[ -x "$BIN/$_t" ] || die "$BIN/$_t missing: run make first"
done

# ---- peers: present or installed, else a clear failure ---------------
[ "$(id -u)" = 0 ] || die "run as root: the bench starts sshd, mounts FUSE and may drop caches"
_need="rdiff-backup:rdiff-backup /usr/bin/time:time timeout:coreutils cp:coreutils"
_need="$_need find:findutils awk:mawk xargs:findutils"
case $BENCH in all|remote|workflow|wan)
	_need="$_need rsync:rsync perl:perl-base diff:diffutils"
	_need="$_need sshfs:sshfs fusermount3:fuse3 /usr/sbin/sshd:openssh-server"
	_need="$_need ssh:openssh-client ssh-agent:openssh-client ss:iproute2"
	_need="$_need cc:gcc useradd:passwd" ;;
esac
# shellcheck disable=SC2086
sh "$BENCH_SRC/../mk/need.sh" $_need ||
    die "a peer or tool is missing and could not be installed (see above)"
_rbv=$(rdiff-backup --version 2>&1 | awk '{ print $2 }')
[ "$_rbv" = 2.2.2 ] || say "warning: rdiff-backup is $_rbv, the targets assume 2.2.2"
if [ "$BENCH" != local ]; then
	_sfv=$(sshfs --version 2>&1 | awk '/^SSHFS version/ { print $3 }')
	[ "$_sfv" = 3.7.3 ] || say "warning: sshfs is $_sfv, the targets assume 3.7.3"
fi

# ---- scratch directory and space ---------------------------------------
# Local: source + rdiff-backup repo + snap repo + one copy or restore at a
# time, about 4.5 times the largest corpus.  Remote: the data, once.
_need_kib=0 _need_ino=0
for _k in $CORPUS; do
	case $_k in
	R)	_kib=$(du -sk $R_SRC 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
		_ino=$(find $R_SRC 2>/dev/null | wc -l)
		[ $((_kib * 9 / 2)) -gt "$_need_kib" ] && _need_kib=$((_kib * 9 / 2))
		[ $((_ino * 5)) -gt "$_need_ino" ] && _need_ino=$((_ino * 5)) ;;
	S)	for _n in $N; do
			[ $((_n * 18)) -gt "$_need_kib" ] && _need_kib=$((_n * 18))
			[ $((_n * 5)) -gt "$_need_ino" ] && _need_ino=$((_n * 5))
		done ;;
	esac
done
case $BENCH in all|remote|workflow)
	_need_kib=$((_need_kib + BIG_MIB * 1024 + REMOTE_FILES * 8 + 4096)) ;;
esac
# wan: the data, and per tool a repository and a restore of it
case $BENCH in all|remote|wan)
	_need_kib=$((_need_kib + (WAN_BIG_MIB + WAN_LOG_MIB + 8) * 1024 * 12 + WAN_FILES * 8 * 12)) ;;
esac
# history: the source, the repository, three restores of a session
case $BENCH in all|history)
	_need_kib=$((_need_kib + HIST_FILES * 5 * 5)) ;;
esac
# thin: corpus R, its repository and two copies of it
case $BENCH in all|thin)
	_need_kib=$((_need_kib + $(du -sk $R_SRC 2>/dev/null | awk '{ n += $1 } END { print n + 0 }') * 6)) ;;
esac
_need_kib=$((_need_kib + 1048576))	# 1 GiB to spare
_parent=$(dirname "$W")
[ -d "$_parent" ] || die "$_parent does not exist"
_free_kib=$(df -Pk "$_parent" | awk 'NR == 2 { print $4 }')
_free_ino=$(df -Pi "$_parent" | awk 'NR == 2 { print $4 }')
[ "$_free_kib" -ge "$_need_kib" ] ||
    die "not enough space in $_parent: $((_free_kib / 1048576)) GiB free, $((_need_kib / 1048576 + 1)) GiB needed for CORPUS='$CORPUS' N='$N'"
isnum "$_free_ino" && [ "$_free_ino" -gt 0 ] && [ "$_free_ino" -lt "$_need_ino" ] &&
    die "not enough inodes in $_parent: $_free_ino free, $_need_ino needed"
mkdir "$W" 2>/dev/null ||
    die "cannot create $W (another bench running, or left over: check for mounts under it, then remove it)"
chmod 755 "$W"
mkdir "$W/log"
: >"$RES"
: >"$W/probes"
: >"$W/pids"

cleanup() {
	trap - EXIT INT TERM HUP
	cleanup_remote
	grep -q " $W/hist/mnt " /proc/self/mounts && hist_umount "$W/hist/mnt"
	if [ -n "$KEEP" ]; then
		say "kept $W"
	elif grep -q " $W" /proc/self/mounts; then
		say "something is still mounted under $W; not removing it"
	else
		rm -rf "$W"
	fi
}
trap cleanup EXIT
trap 'say interrupted; exit 111' INT TERM HUP

# ---- the machine -------------------------------------------------------
# load: load averages and I/O pressure; the machine may be shared, and
# this says how quiet it was.
load() {
	printf 'loadavg %s' "$(cut -d' ' -f1-3 /proc/loadavg)"
	[ -r /proc/pressure/io ] &&
	    awk '/^some/ { sub("avg60=", "", $3); printf ", I/O pressure (some, avg60) %s%%", $3 }' /proc/pressure/io
	echo
}

describe() {
	_cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	_mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
	_fs=$(df -PT "$W" | awk 'NR == 2 { print $2 " on " $1 }')
	_git=$(cd "$BENCH_SRC/.." && git describe --always --dirty 2>/dev/null || echo unknown)
	echo "# Benchmarks"
	echo
	echo "Generated by \`make bench\` (bench/run.sh) on $(date -u '+%Y-%m-%d %H:%M UTC'), tree $_git."
	echo
	echo "| | |"
	echo "|---|---|"
	echo "| CPU | $_cpu, $(nproc) cores |"
	echo "| RAM | $_mem |"
	echo "| kernel | $(uname -sr) |"
	echo "| OS | $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME") |"
	echo "| filesystem | $_fs ($W) |"
	echo "| rdiff-backup | $(rdiff-backup --version 2>&1 | head -n 1) |"
	if [ "$BENCH" != local ]; then
		echo "| sshfs | $(sshfs --version 2>&1 | awk '/^SSHFS/ { print $3 }'), FUSE library $(sshfs --version 2>&1 | awk '/^FUSE library/ { print $4 }') |"
		echo "| OpenSSH | $(ssh -V 2>&1) |"
		echo "| rsync | $(rsync --version | head -n 1) |"
	fi
	echo "| coreutils, findutils | $(cp --version | head -n 1), $(find --version | head -n 1) |"
	echo "| our tools | $("$BIN/snap" -V 2>&1 | head -n 1) from $BIN |"
	echo "| load at start | $(load) |"
	echo "| settings | BENCH=$BENCH RUNS=$RUNS CACHE=$CACHE CORPUS='$CORPUS' N='$N' RTT='$RTT' BIG_MIB=$BIG_MIB REMOTE_FILES=$REMOTE_FILES WAN_LINKS='$WAN_LINKS' WAN_FILES=$WAN_FILES WAN_BIG_MIB=$WAN_BIG_MIB WAN_LOG_MIB=$WAN_LOG_MIB HIST_FILES=$HIST_FILES HIST_SESSIONS=$HIST_SESSIONS THIN_SESSIONS=$THIN_SESSIONS |"
	echo
	if [ "$CACHE" = cold ]; then
		echo "Cache: cold. Before every timed run: \`sync; echo 3 > /proc/sys/vm/drop_caches\`."
	else
		echo "Cache: warm. Sources and repositories were just written or read, so they sit in the page cache; the remote rows use a fresh mount per run (client caches cold, the server's page cache warm)."
	fi
	echo "Times are wall-clock seconds of $RUNS runs. Peak RSS: GNU time %M of the command (largest process of its tree); remote rows: VmHWM of the FUSE daemon (sshfs or mount-remote), floors: the ssh client."
	echo "× first row: median ÷ the workload's first row (the floor, or rdiff-backup where there is no floor)."
}

# ---- run ------------------------------------------------------------
say "scratch $W; BENCH=$BENCH RUNS=$RUNS CACHE=$CACHE"
describe >"$W/head.md"
case $BENCH in all|local) bench_local ;; esac
case $BENCH in all|remote) bench_remote ;; workflow) bench_workflows ;; esac
case $BENCH in all|remote|wan) bench_wan ;; esac
case $BENCH in all|history) bench_history ;; esac
case $BENCH in all|thin) bench_thin ;; esac
cleanup_remote

{
	cat "$W/head.md"
	echo
	sh "$BENCH_SRC/report.sh" "$RES" "$W/probes"
	echo
	echo "Load at the end: $(load)."
} >"$W/report.md"
if [ -n "$OUT" ]; then
	cp "$W/report.md" "$OUT" || die "cannot write $OUT"
	say "report written to $OUT"
fi
cat "$W/report.md"
