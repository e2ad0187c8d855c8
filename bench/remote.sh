# Remote workloads, sourced by bench/run.sh (POSIX sh): mount-remote
# against sshfs -o ro, both talking to a loopback sshd this script starts
# (recipe: ../shared/docs/sftp-readonly-notes.md section 6), directly and
# through bench/delay-relay (a ProxyCommand adding RTT/2 ms each way; this
# kernel has no netem).  `ssh host cat FILE` and friends are the floors.
# Everything started here is recorded in $W/pids and ended by
# cleanup_remote (called from run.sh's trap).

SSHD_PID= AGENT_PID= FS_PID= FS_KIND= USER_MADE=

# free_port FROM: the first port >= FROM nobody listens on (20 tries).
free_port() {
	_fp=$1
	while [ "$_fp" -lt $(($1 + 20)) ]; do
		if [ -z "$(ss -Hltn "sport = :$_fp" 2>/dev/null)" ]; then
			echo "$_fp"
			return 0
		fi
		_fp=$((_fp + 1))
	done
	return 1
}

# setup_remote: login user, keys, sshd on 127.0.0.1:$PORT, ssh-agent,
# the delay relay, an ssh_config with one Host per RTT, and the data.
setup_remote() {
	_s=$W/ssh
	mkdir -p "$_s" "$W/remote" "$W/mnt" "$W/bin"
	if ! id "$BENCH_USER" >/dev/null 2>&1; then
		useradd -M -d "$W/remote" -s /bin/sh "$BENCH_USER" ||
		    die "cannot create user $BENCH_USER"
		usermod -p '*' "$BENCH_USER"	# locked accounts cannot log in
		USER_MADE=1
	fi
	PORT=$(free_port "$BENCH_PORT") ||
	    die "no free port in $BENCH_PORT..$((BENCH_PORT + 19))"
	mkdir -p /run/sshd	# sshd's privilege separation dir; left in place
	ssh-keygen -q -t ed25519 -N '' -C bench-host -f "$_s/host_key" || die "ssh-keygen failed"
	ssh-keygen -q -t ed25519 -N '' -C bench-user -f "$_s/id_ed25519" || die "ssh-keygen failed"
	cp "$_s/id_ed25519.pub" "$_s/authorized_keys"
	chmod 644 "$_s/authorized_keys"
	echo "[127.0.0.1]:$PORT $(cut -d' ' -f1,2 "$_s/host_key.pub")" >"$_s/known_hosts"
	cat >"$_s/sshd_config" <<-EOF
	Port $PORT
	ListenAddress 127.0.0.1
	HostKey $_s/host_key
	PidFile $_s/sshd.pid
	AuthorizedKeysFile $_s/authorized_keys
	StrictModes no
	PubkeyAuthentication yes
	PasswordAuthentication no
	KbdInteractiveAuthentication no
	UsePAM no
	PermitRootLogin no
	AllowUsers $BENCH_USER
	MaxStartups 50
	Subsystem sftp /usr/lib/openssh/sftp-server
	LogLevel INFO
	EOF
	/usr/sbin/sshd -t -f "$_s/sshd_config" || die "sshd -t rejects $_s/sshd_config"
	/usr/sbin/sshd -D -f "$_s/sshd_config" -E "$W/log/sshd.log" &
	SSHD_PID=$!
	echo "$SSHD_PID sshd" >>"$W/pids"

	ssh-agent -a "$_s/agent.sock" -s >"$_s/agent.env" || die "ssh-agent failed"
	AGENT_PID=$(sed -n 's/^SSH_AGENT_PID=\([0-9]*\);.*/\1/p' "$_s/agent.env")
	echo "$AGENT_PID ssh-agent" >>"$W/pids"
	SSH_AUTH_SOCK=$_s/agent.sock timeout 10 ssh-add -q "$_s/id_ed25519" ||
	    die "ssh-add failed"

	cc -O2 -o "$W/bin/delay-relay" "$BENCH_SRC/delay-relay.c" ||
	    die "cannot compile bench/delay-relay.c"
	: >"$_s/config"
	for _r in 0 $RTT; do	# bkb-0 (loopback) always: the login check uses it
		grep -q "^Host bkb-$_r\$" "$_s/config" && continue
		{
			echo "Host bkb-$_r"
			echo "  HostName 127.0.0.1"
			echo "  Port $PORT"
			echo "  User $BENCH_USER"
			echo "  BatchMode yes"
			echo "  StrictHostKeyChecking yes"
			echo "  UserKnownHostsFile $_s/known_hosts"
			echo "  GlobalKnownHostsFile /dev/null"
			echo "  HostKeyAlias [127.0.0.1]:$PORT"
			echo "  IdentityAgent $_s/agent.sock"
			echo "  IdentitiesOnly no"
			echo "  ControlMaster no"
			echo "  ServerAliveInterval 15"
			echo "  ServerAliveCountMax 3"
			echo "  ConnectTimeout 10"
			if [ "$_r" -gt 0 ]; then
				echo "  ProxyCommand $_s/relay-$_r"
			fi
		} >>"$_s/config"
		# A relay script without spaces, for mount-remote's -o.
		printf '#!/bin/sh\nexec %s %d %d\n' "$W/bin/delay-relay" \
		    $((_r / 2)) "$PORT" >"$_s/relay-$_r"
		chmod 755 "$_s/relay-$_r"
	done
	wait_until 15 ssh -F "$_s/config" bkb-0 true ||
	    die "cannot log in to the bench sshd (see $W/log/sshd.log)"

	[ -s "$W/pool" ] || mk_pool
	[ "$BENCH" = wan ] && return 0
	say "remote data: $BIG_MIB MiB file, $REMOTE_FILES files in $REMOTE_DIRS dirs"
	_d=$W/remote/data
	mkdir -p "$_d/probe/sub"
	printf 'one\n' >"$_d/probe/a"
	printf 'two\n' >"$_d/probe/sub/b"
	head -c 300000 "$W/pool" >"$_d/probe/c"
	head -c $((BIG_MIB * 1048576)) /dev/urandom >"$_d/big.bin"
	mk_files "$_d/tree" "$REMOTE_FILES" $((REMOTE_FILES / REMOTE_DIRS)) -8192 42
	chown -R "$BENCH_USER" "$W/remote"
	chmod 755 "$W" "$W/remote"
}

# sshopts RTT: the ssh options mount-remote gets for that RTT (-o each).
sshopts() {
	printf -- '-o UserKnownHostsFile=%s -o GlobalKnownHostsFile=/dev/null' "$W/ssh/known_hosts"
	printf -- ' -o HostKeyAlias=[127.0.0.1]:%s -o IdentityAgent=%s' "$PORT" "$W/ssh/agent.sock"
	printf -- ' -o StrictHostKeyChecking=yes -o BatchMode=yes'
	[ "$1" -gt 0 ] && printf -- ' -o ProxyCommand=%s' "$W/ssh/relay-$1"
	echo
}

is_mounted() {
	awk -v m="$1" '$2 == m { f = 1 } END { exit !f }' /proc/self/mounts
}

gone() {
	! kill -0 "$1" 2>/dev/null
}

# fs_mount KIND RTT PATH: mount remote PATH (under the data dir) on
# $W/mnt with sshfs or mount-remote, in the foreground as a background
# job (FS_PID is the daemon), and wait (bounded) until it serves.
fs_mount() {
	FS_KIND=$1
	case $1 in
	sshfs)
		sshfs -f -F "$W/ssh/config" "bkb-$2:$W/remote/data/$3" "$W/mnt" \
		    -o ro >>"$W/log/fs.log" 2>&1 & ;;
	mount-remote)
		$(our_cmd "$MOUNT_CMD" port="$PORT" sshopts="$(sshopts "$2")" \
		    remote="$BENCH_USER@127.0.0.1:$W/remote/data/$3" \
		    sshcfg="$W/ssh/config" host="bkb-$2" mnt="$W/mnt") \
		    >>"$W/log/fs.log" 2>&1 & ;;
	esac
	FS_PID=$!
	echo "$FS_PID $1" >>"$W/pids"
	if ! wait_until 20 is_mounted "$W/mnt" ||
	    ! timeout 20 ls "$W/mnt" >/dev/null 2>&1; then
		fs_umount
		return 1
	fi
}

# fs_umount: unmount $W/mnt and make sure the daemon is gone (bounded).
fs_umount() {
	if is_mounted "$W/mnt"; then
		case $FS_KIND in
		mount-remote) timeout 20 $(our_cmd "$UMOUNT_CMD" mnt="$W/mnt") >>"$W/log/fs.log" 2>&1 ;;
		*) timeout 20 fusermount3 -u "$W/mnt" >>"$W/log/fs.log" 2>&1 ;;
		esac
		is_mounted "$W/mnt" && umount -l "$W/mnt"
	fi
	if [ -n "$FS_PID" ]; then
		wait_until 10 gone "$FS_PID" || kill "$FS_PID" 2>/dev/null
		wait_until 5 gone "$FS_PID" || kill -9 "$FS_PID" 2>/dev/null
		wait "$FS_PID" 2>/dev/null
	fi
	FS_PID=
}

# probe_mount: mount-remote mounts the probe directory, serves exactly
# its content (diff -r), and unmounts.
probe_mount() {
	echo "+ mount-remote probe" >"$W/log/probe-mount-remote.log"
	if ! fs_mount mount-remote 0 probe; then
		sed 's/^/  /' "$W/log/fs.log" >>"$W/log/probe-mount-remote.log"
		probe_fail mount-remote "mount-remote did not mount a 3-file dir"
	elif ! probe mount-remote diff -r "$W/remote/data/probe" "$W/mnt"; then
		fs_umount
		probe_fail mount-remote "the mounted tree differs from the source"
	else
		fs_umount
		if is_mounted "$W/mnt"; then
			probe_fail mount-remote "unmount failed"
		else
			probe_ok mount-remote
		fi
	fi
	: >"$W/log/fs.log"
}

# measure_rtt HOST: median round trip in ms of 100 one-line echoes
# through `ssh HOST cat` (the SSH channel, relay included), bounded.
measure_rtt() {
	rm -f "$W/rtt.in" "$W/rtt.out"
	mkfifo "$W/rtt.in" "$W/rtt.out"
	timeout 60 ssh -F "$W/ssh/config" "$1" cat <"$W/rtt.in" >"$W/rtt.out" &
	_mp=$!
	exec 3>"$W/rtt.in" 4<"$W/rtt.out"
	echo warm >&3 && read -r _l <&4	# login done
	for _mi in $(seq 100); do
		_m0=$(now_us)
		echo "$_mi" >&3
		read -r _l <&4 || break
		echo $(($(now_us) - _m0))
	done | sort -n | awk '{ a[NR] = $1 } END { if (NR) printf "%.2f\n", a[int((NR + 1) / 2)] / 1000 }'
	exec 3>&- 4<&-
	wait "$_mp" 2>/dev/null
	rm -f "$W/rtt.in" "$W/rtt.out"
}

CLK_TCK=$(getconf CLK_TCK)

# tree_cpu PID: "pid:ticks" of user and system time of PID and its
# children (a FUSE daemon and its ssh), and of orphaned ssh processes of
# its process group (sshfs's ssh is reparented to init).
tree_cpu() {
	awk -v p="$1" 'FNR == 1 && $1 == p { pg = $5 }
	    { s[$1] = $0 }
	    END {
		for (i in s) {
			split(s[i], f, " ")
			if (f[1] == p || f[4] == p ||
			    (f[4] == 1 && f[2] == "(ssh)" && f[5] == pg))
				printf "%s:%d ", f[1], f[14] + f[15]
		}
	    }' "/proc/$1/stat" /proc/[0-9]*/stat 2>/dev/null
}

# cpu_us BEFORE AFTER: microseconds of CPU between two tree_cpu readings
# (processes gone by AFTER are not counted).
cpu_us() {
	echo "$1 / $2" | awk -v hz="$CLK_TCK" -v RS=' ' -F: '
	    $0 == "/" { after = 1; next }
	    NF == 2 { if (after) { t += $2 - b[$1] } else b[$1] = $2 }
	    END { printf "%d\n", t * 1000000 / hz }'
}

# remote_row SECTION WORKLOAD KIND RTT CMD...: RUNS timed runs of CMD on a
# fresh mount each (client caches cold, the server's page cache warm),
# with the CPU time the daemon and its ssh spent during CMD.
remote_row() {
	_rs=$1 _rw=$2 _rk=$3 _rr=$4; shift 4
	_rt=$_rk
	[ "$_rk" = sshfs ] && _rt="sshfs -o ro"
	if [ "$_rk" = mount-remote ] && ! available mount-remote; then
		record_na "$_rs" "$_rw" "$_rt" "not available (probe failed)"
		return
	fi
	for _ri in $(seq "$RUNS"); do
		if ! fs_mount "$_rk" "$_rr" ""; then
			printf 'fail\t%s\t%s\t%s\t%s\n' "$_rs" "$_rw" "$_rt" \
			    "mount failed" >>"$RES"
			tail -n 5 "$W/log/fs.log" | sed 's/^/bench:   /' >&2
			return
		fi
		_c0=$(tree_cpu "$FS_PID")
		RSS_PID=$FS_PID timed "$_rs" "$_rw" "$_rt" "$@"
		_rc=$?
		_c1=$(tree_cpu "$FS_PID")
		[ "$_rc" -eq 0 ] && printf 'cpu\t%s\t%s\t%s\t%s\n' "$_rs" "$_rw" \
		    "$_rt" "$(cpu_us "$_c0" "$_c1")" >>"$RES"
		fs_umount
		[ "$_rc" -eq 0 ] || return
	done
}

# floor_row SECTION WORKLOAD TOOL CMD...: RUNS timed runs of a plain ssh
# command (login included, as for a mount).
floor_row() {
	for _fi in $(seq "$RUNS"); do
		timed "$@" || return
	done
}

bench_remote() {
	setup_remote
	probe_mount
	_big=$((BIG_MIB * 1048576))
	for _r in $RTT; do
		if [ "$_r" -eq 0 ]; then
			_sec="remote: loopback sshd"
		else
			_sec="remote: $_r ms RTT (delay relay)"
		fi
		_h="bkb-$_r"
		_m=$W/mnt
		_rd=$W/remote/data
		_rtt=$(measure_rtt "$_h")
		say "$_sec: measured round trip ${_rtt:-?} ms"
		printf 'corpus\t%s\t%s MiB file; %s files in %s dirs, 1..8192 bytes; measured round trip %s ms (median of 100 line echoes through ssh cat)\n' \
		    "$_sec" "$BIG_MIB" "$REMOTE_FILES" "$REMOTE_DIRS" "${_rtt:-?}" >>"$RES"

		# Login cost, included in every floor below.
		floor_row "$_sec" "ssh login" "ssh host true" \
		    ssh -F "$W/ssh/config" "$_h" true

		_wl="read ${BIG_MIB} MiB file"
		BYTES=$_big
		floor_row "$_sec" "$_wl" "ssh host cat FILE (floor)" \
		    sh -c 'ssh -F "$1" "$2" cat "$3" >/dev/null' sh "$W/ssh/config" "$_h" "$_rd/big.bin"
		for _k in sshfs mount-remote; do
			remote_row "$_sec" "$_wl" "$_k" "$_r" \
			    dd if="$_m/big.bin" of=/dev/null bs=1M status=none
		done
		BYTES=

		_wl="find $REMOTE_FILES files"
		# The remote shell turns %s\ %T@\\n into find's "%s %T@\n".
		floor_row "$_sec" "$_wl" "ssh host find (floor)" \
		    sh -c 'ssh -F "$1" "$2" find "$3" -printf "%s\ %T@\\\\n" >/dev/null' sh "$W/ssh/config" "$_h" "$_rd/tree"
		for _k in sshfs mount-remote; do
			remote_row "$_sec" "$_wl" "$_k" "$_r" \
			    sh -c 'find "$1" -printf "%s %T@\n" >/dev/null' sh "$_m/tree"
		done

		_wl="read all $REMOTE_FILES files"
		floor_row "$_sec" "$_wl" "ssh host tar c (floor)" \
		    sh -c 'ssh -F "$1" "$2" tar -cf - -C "$3" tree >/dev/null' sh "$W/ssh/config" "$_h" "$_rd"
		for _k in sshfs mount-remote; do
			remote_row "$_sec" "$_wl" "$_k" "$_r" \
			    sh -c 'find "$1" -type f -exec cat {} + >/dev/null' sh "$_m/tree"
		done

		bench_workflow "$_r"	# changes the tree: last
	done
}

# cleanup_remote: unmount, stop what we started (by PID), remove the user
# if we made it.  Bounded; safe to call twice.
cleanup_remote() {
	if [ -d "$W/mnt" ] && is_mounted "$W/mnt"; then
		fusermount3 -u "$W/mnt" 2>/dev/null || umount -l "$W/mnt" 2>/dev/null
	fi
	if [ -f "$W/pids" ]; then
		while read -r _pid _what; do
			gone "$_pid" && continue
			kill "$_pid" 2>/dev/null
			wait_until 5 gone "$_pid" || kill -9 "$_pid" 2>/dev/null
		done <"$W/pids"
		: >"$W/pids"
	fi
	if [ -n "$USER_MADE" ]; then
		# sshd sessions end with their clients; give them a moment.
		wait_until 10 sh -c '! ps -u "$1" >/dev/null 2>&1' sh "$BENCH_USER" ||
		    say "processes of $BENCH_USER still running: $(ps -o pid= -u "$BENCH_USER" | tr '\n' ' ')"
		userdel "$BENCH_USER" 2>/dev/null ||
		    say "could not remove user $BENCH_USER"
		USER_MADE=
	fi
}
