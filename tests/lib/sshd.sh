# Loopback sshd + ssh-agent for end-to-end tests (POSIX sh, sourced).
#
#   . tests/lib/sshd.sh
#   sshd_start DIR        start everything under DIR (absolute, created);
#                         returns non-zero when it cannot
#   sshd_stop             stop the agent and sshd (by PID; idempotent) and
#                         remove the login user if sshd_start created it
#   sshd_session_pids     PIDs of the "sshd: USER@notty" session processes
#
# After sshd_start:
#   SSHD_HOST     the ssh_config Host alias to connect to ("bk-loop")
#   SSHD_CONFIG   client ssh_config file (pass with ssh -F / mount-remote -F)
#   SSHD_USER     the login user: "bkt" and the shell's PID when root
#                 (made for the test, so that tests running at once do not
#                 remove each other's), else the current user
#   SSHD_PORT     the random loopback port sshd listens on
#   SSHD_PID SSHD_AGENT_PID SSHD_AGENT_SOCK SSHD_KEY (user private key)
# Only 127.0.0.1 is used, unless the caller sets SSHD_NETNS (a network
# namespace it made) and SSHD_ADDR (an address there) before sshd_start;
# SSHD_SFTP_FLAGS are given to sftp-server (e.g. -R: read-only).  Needs
# openssh-server and openssh-client; the caller installs them (sh
# mk/need.sh).  Call sshd_stop from a trap.

SSHD_PID= SSHD_AGENT_PID= SSHD_MADE_USER=

sshd_start() {
	_d=$1
	mkdir -p "$_d/sshd" "$_d/client" || return 1
	chmod 755 "$_d" "$_d/sshd" "$_d/client"
	if [ "$(id -u)" = 0 ]; then
		SSHD_USER=bkt$$
		# one left by a test killed before its clean-up
		id "$SSHD_USER" >/dev/null 2>&1 && userdel -r "$SSHD_USER" 2>/dev/null
		useradd -m -s /bin/sh "$SSHD_USER" || return 1
		SSHD_MADE_USER=1
		# useradd leaves the account locked ('!'); sshd refuses those.
		usermod -p '*' "$SSHD_USER" || return 1
		mkdir -p /run/sshd && chmod 755 /run/sshd
	else
		SSHD_USER=$(id -un)
	fi
	rm -f "$_d/sshd/host_key" "$_d/sshd/host_key.pub" \
	    "$_d/client/id_ed25519" "$_d/client/id_ed25519.pub"
	ssh-keygen -q -t ed25519 -N '' -C bk-host -f "$_d/sshd/host_key" ||
	    return 1
	ssh-keygen -q -t ed25519 -N '' -C bk-user -f "$_d/client/id_ed25519" ||
	    return 1
	SSHD_KEY=$_d/client/id_ed25519
	cp "$_d/client/id_ed25519.pub" "$_d/sshd/authorized_keys"
	chmod 644 "$_d/sshd/authorized_keys"
	_tries=0
	while :; do
		_tries=$((_tries + 1))
		[ "$_tries" -gt 10 ] && { echo "sshd: no free port" >&2; return 1; }
		# A random port from 20000-59999 (od: no $RANDOM in POSIX sh).
		SSHD_PORT=$(( $(od -An -N2 -tu2 /dev/urandom) % 40000 + 20000 ))
		cat >"$_d/sshd/sshd_config" <<-EOC
		Port $SSHD_PORT
		ListenAddress ${SSHD_ADDR:-127.0.0.1}
		HostKey $_d/sshd/host_key
		PidFile $_d/sshd/sshd.pid
		AuthorizedKeysFile $_d/sshd/authorized_keys
		StrictModes no
		PubkeyAuthentication yes
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		UsePAM no
		PermitRootLogin no
		AllowUsers $SSHD_USER
		Subsystem sftp /usr/lib/openssh/sftp-server ${SSHD_SFTP_FLAGS:-}
		LogLevel INFO
		MaxStartups 100
		EOC
		/usr/sbin/sshd -t -f "$_d/sshd/sshd_config" || return 1
		: >"$_d/sshd/sshd.log"
		${SSHD_NETNS:+ip netns exec "$SSHD_NETNS"} \
		    /usr/sbin/sshd -D -f "$_d/sshd/sshd_config" -E "$_d/sshd/sshd.log" &
		SSHD_PID=$!
		_i=0
		while [ $_i -lt 50 ]; do
			grep -q 'Server listening' "$_d/sshd/sshd.log" && break
			kill -0 "$SSHD_PID" 2>/dev/null || break
			sleep 0.1
			_i=$((_i + 1))
		done
		grep -q 'Server listening' "$_d/sshd/sshd.log" && break
		kill "$SSHD_PID" 2>/dev/null
		wait "$SSHD_PID" 2>/dev/null
		SSHD_PID=
	done
	echo "[${SSHD_ADDR:-127.0.0.1}]:$SSHD_PORT $(cut -d' ' -f1,2 "$_d/sshd/host_key.pub")" \
	    >"$_d/client/known_hosts"
	SSHD_AGENT_SOCK=$_d/client/agent.sock
	rm -f "$SSHD_AGENT_SOCK"
	SSHD_CONFIG=$_d/client/ssh_config
	SSHD_HOST=bk-loop
	cat >"$SSHD_CONFIG" <<-EOC
	Host $SSHD_HOST
	  HostName ${SSHD_ADDR:-127.0.0.1}
	  Port $SSHD_PORT
	  User $SSHD_USER
	  BatchMode yes
	  StrictHostKeyChecking yes
	  UserKnownHostsFile $_d/client/known_hosts
	  GlobalKnownHostsFile /dev/null
	  IdentityAgent $SSHD_AGENT_SOCK
	  IdentitiesOnly no
	  ConnectTimeout 10
	EOC
	eval "$(ssh-agent -a "$SSHD_AGENT_SOCK" -s)" >/dev/null || return 1
	SSHD_AGENT_PID=$SSH_AGENT_PID
	unset SSH_AGENT_PID SSH_AUTH_SOCK
	SSH_AUTH_SOCK=$SSHD_AGENT_SOCK ssh-add -q "$SSHD_KEY" </dev/null ||
	    return 1
	# The recipe must work before anything relies on it.
	timeout 20 ssh -F "$SSHD_CONFIG" "$SSHD_HOST" true </dev/null
}

# PIDs of the per-connection "sshd: USER@notty" processes under our sshd.
sshd_session_pids() {
	[ -n "$SSHD_PID" ] || return 0
	for _p in $(pgrep -P "$SSHD_PID"); do
		for _c in $(pgrep -P "$_p"); do
			case $(cat /proc/"$_c"/cmdline 2>/dev/null | tr '\0' ' ') in
			*@notty*) echo "$_c" ;;
			esac
		done
	done
}

sshd_stop() {
	if [ -n "$SSHD_AGENT_PID" ]; then
		kill "$SSHD_AGENT_PID" 2>/dev/null
		SSHD_AGENT_PID=
	fi
	if [ -n "$SSHD_PID" ]; then
		# Sessions outlive the listener: end them first (by PID).
		for _s in $(pgrep -P "$SSHD_PID"); do
			kill -CONT "$_s" 2>/dev/null
			kill "$_s" 2>/dev/null
		done
		kill "$SSHD_PID" 2>/dev/null
		wait "$SSHD_PID" 2>/dev/null
		SSHD_PID=
	fi
	if [ -n "$SSHD_MADE_USER" ]; then
		userdel -r "$SSHD_USER" 2>/dev/null
		SSHD_MADE_USER=
	fi
}
