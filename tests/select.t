# Selection as rdiff-backup 2.2 does it (issue 18): file lists, globbing
# lists, their -stdin forms and --null-separator, regular expressions,
# file types, sizes and if-present files, on an /etc-like tree with odd
# names and every file type.  Each rule set goes to snap and to
# rdiff-backup with the same options; the backed-up paths must be the
# same.  Then restore with rules: only what matches is written, as
# rdiff-backup restore writes it.
. tests/harness.sh
. tests/lib/history.sh
sh mk/need.sh rdiff-backup:rdiff-backup || exit 111
export LC_ALL=C TZ=UTC
SNAP=$BIN/snap RESTORE=$BIN/restore
RB="rdiff-backup --terminal-verbosity 1"
cd "$T" || exit 111

make_tree src
mkdir -p src/etc/ssh src/etc/apt/sources.list.d src/etc/cron.d \
    src/var/cache/a src/var/cache/b src/var/log src/home/u/.cache \
    src/home/u/docs "src/home/u/odd [dir]" src/home/v src/srv/empty
for f in etc/passwd etc/ssh/sshd_config etc/ssh/ssh_host_key \
    etc/apt/sources.list.d/x.list etc/apt/apt.conf etc/cron.d/job \
    etc/resolv.conf var/cache/a/1 var/cache/b/2 var/log/syslog \
    home/u/.cache/x home/u/docs/report.txt home/u/docs/secret \
    "home/u/odd [dir]/star*name" "home/u/odd [dir]/q?" home/v/notes \
    "home/v/trailing " "home/v/-dash"; do
	echo "$f" >"src/$f"
done
blob 3 8 >src/var/log/syslog.1.gz
blob 4 2 >src/home/v/two-k
: >src/home/u/.nobackup
ln -s ../passwd src/etc/ssh/link

cat >excl.list <<'EOF'
src/etc/ssh
src/var/cache/a

- src/home/u/docs/secret
src/home/v/trailing 
/elsewhere/x
EOF
printf '%s\n' src/etc/passwd src/home/u/docs "- src/home/u/docs/secret" \
    "src/home/u/odd [dir]/star*name" src/dir/sub/gone >incl.list
printf '%s\n' 'src/etc/**.conf' '- src/etc/ssh' 'src/var/log/*.gz' \
    '+ src/home/*/docs' >incl.glob
printf '%s\n' '**/.cache' 'src/var/cache/?' '- src/home/u/odd \[dir\]' \
    >excl.glob
printf 'src/etc/cron.d/job\0src/home/v/trailing \0src/new\nline\0' >nul.list

# name|options (one per line; NAME-free options refer to files here)
cat >rules <<'EOF'
exclude filelist|--exclude-filelist excl.list
include filelist|--include-filelist incl.list --exclude **
include globbing filelist|--include-globbing-filelist incl.glob --exclude **
exclude globbing filelist|--exclude-globbing-filelist excl.glob
regular expressions|--exclude-regexp \.gz$ --exclude-regexp /\.cache(/|$) --include-regexp etc/.*\.d(/|$) --exclude-regexp ^src/etc/
digits and words|--exclude-regexp cache/\w$ --exclude-regexp (^|/)\d$
special files|--exclude-special-files
devices, fifos, sockets|--exclude-device-files --exclude-fifos --exclude-sockets
symbolic links|--exclude-symbolic-links
special files kept, the rest not|--include-special-files --exclude **
symbolic links kept below etc|--include-symbolic-links --include src/etc --exclude **
sizes|--max-file-size 1500 --min-file-size 2
if present|--exclude-if-present .nobackup --include-if-present notes --exclude src/home/v
directories only scanned|--include src/**.conf --include src/home/**/report.txt --exclude **
null separator|--null-separator --include-filelist nul.list --exclude **
EOF

k=0
while IFS='|' read -r name opts; do
	k=$((k + 1))
	set -f
	# shellcheck disable=SC2086
	t_exit 0 "snap: $name" $SNAP $opts src "s.$k"
	# rdiff-backup takes --null-separator before the action
	g=
	case $opts in --null-separator*) g=--null-separator ;; esac
	# shellcheck disable=SC2086
	$RB $g backup ${opts#$g} src "r.$k" >"rb.$k.log" 2>&1 ||
	    echo "rdiff-backup failed: $(cat "rb.$k.log")" >>"$T_LOG"
	set +f
	t_out "... the paths rdiff-backup backs up" "$($RESTORE -L "r.$k")" \
	    $RESTORE -L "s.$k"
done <rules

# restore with the same rules (matched against the target as given, so
# the target is named src here): the paths snap backed up with them, and
# where rdiff-backup restore can (it fails on rules that scan), its paths
$SNAP src full >/dev/null 2>&1 && $RB backup src rfull >/dev/null 2>&1
# listed DIR: what restore -L says a backup of DIR holds
# (a tree that is not there says so: two missing trees do not agree)
listed() {
	[ -d "$1" ] || { echo "no tree at $1"; return 1; }
	rm -rf "$1.r" && $SNAP "$1" "$1.r" >/dev/null 2>&1 && $RESTORE -L "$1.r"
}
k=0
while IFS='|' read -r name opts; do
	k=$((k + 1))
	case $opts in *if-present*) continue ;; esac
	mkdir "o.$k" && cp ./*.list ./*.glob "o.$k/"
	set -f
	# shellcheck disable=SC2086
	t_exit 0 "restore: $name" sh -c 'cd "$1" && shift && exec "$@"' sh "o.$k" \
	    $RESTORE $opts ../full src
	set +f
	t_out "... what snap backed up with them" "$($RESTORE -L "s.$k")" \
	    listed "o.$k/src"
	# rdiff-backup restore stops at rules that scan, and enters
	# excluded directories again where a rule includes a subdirectory
	# (its restore walks the repository per directory); where it does
	# neither, it writes what its backup selects
	case $name in
	exclude*filelist|include\ filelist|special\ files|sizes)
		mkdir "ro.$k" && cp ./*.list ./*.glob "ro.$k/"
		set -f
		# shellcheck disable=SC2086
		(cd "ro.$k" && $RB restore $opts ../rfull src >/dev/null 2>&1)
		set +f
		t_out "... what rdiff-backup restore writes" \
		    "$(listed "ro.$k/src")" listed "o.$k/src"
		;;
	esac
done <rules
t_exit 100 "restore refuses --exclude-if-present (it looks at a source)" \
    $RESTORE --exclude-if-present x --exclude '**' full o.bad
t_exit 100 "restore refuses rules with a path in the repository" \
    $RESTORE --exclude o.bad/x full/etc o.bad
t "... and wrote nothing" [ ! -e o.bad ]

# restore --compare: a live tree against a session, as rdiff-backup compare
t_exit 0 "restore --compare of the tree backed up: nothing differs" \
    sh -c "$RESTORE --compare full src >cmp.0 && [ ! -s cmp.0 ]"
# a copy: its hard links are other inodes, changed for both tools
cp -a src live
# same size and mtime, other bytes; mode only; gone; new; retargeted; a type
printf 'ETC/PASSWD\n' >live/etc/passwd.x && touch -r live/etc/passwd live/etc/passwd.x &&
    mv live/etc/passwd.x live/etc/passwd
chmod 600 live/etc/resolv.conf && rm live/etc/cron.d/job && echo n >live/etc/new &&
    ln -sfn ../resolv.conf live/etc/ssh/link && rm live/var/log/syslog &&
    mkdir live/var/log/syslog && touch -r live/var/log live/var/log/syslog
plain() { LC_ALL=C grep -a -E '^[a-z ,]+: [A-Za-z0-9._/-]+$'; }
ours_cmp() { $RESTORE --compare "$@" full live | plain; }
for m in meta hash full; do
	t_out "restore --compare --method $m: what rdiff-backup compare says" \
	    "$(cd live && $RB compare --method $m . ../rfull 2>/dev/null | plain)" \
	    ours_cmp --method $m
done
t "... the hash method finds same-size, same-mtime new bytes" \
    sh -c "$RESTORE --compare --method hash full live | grep -qx 'metadata the same, data changed: etc/passwd'"
t_exit 1 "... and exits 1 when something differs" $RESTORE --compare full live
# (API 201 does not see the copied hard links as changed, nor does it
# print only YAML: those lines are left out of the comparison)
yaml_plain() {
	awk '/^- path: / { keep = $0 ~ /^- path: [A-Za-z0-9._\/-]+$/ &&
		$3 != "a.txt" && $3 != "hard-a" }
	    /^(---|\.\.\.)$/ { print; next } /^- path: |^  reason: / && keep'
}
ours_yaml() { $RESTORE --compare --parsable-output full live | yaml_plain; }
t_out "--parsable-output: rdiff-backup's YAML (API 201)" \
    "$(cd live && $RB --api-version 201 --parsable-output compare . ../rfull 2>/dev/null | yaml_plain)" \
    ours_yaml

# the -stdin forms read the list from standard input
t_exit 0 "snap --include-filelist-stdin" sh -c \
    "$SNAP --include-filelist-stdin --exclude '**' src s.stdin <incl.list"
$RB backup --include-filelist-stdin --exclude '**' src r.stdin <incl.list \
    >/dev/null 2>&1
t_out "... the paths rdiff-backup backs up" "$($RESTORE -L r.stdin)" \
    $RESTORE -L s.stdin
t_exit 0 "snap --exclude-globbing-filelist-stdin" sh -c \
    "$SNAP --exclude-globbing-filelist-stdin src s.gstdin <excl.glob"
$RB backup --exclude-globbing-filelist-stdin src r.gstdin <excl.glob \
    >/dev/null 2>&1
t_out "... the paths rdiff-backup backs up" "$($RESTORE -L r.gstdin)" \
    $RESTORE -L s.gstdin

# what rdiff-backup refuses, snap refuses (exit 100, one line)
t_exit 100 "a last rule that only includes is refused" sh -c \
    "$SNAP --include src/etc src s.bad 2>err.1"
t "... saying why, in one line" sh -c \
    "grep -q 'only includes' err.1 && [ \$(wc -l <err.1) = 1 ]"
t_exit 100 "a regular expression POSIX cannot say is refused" \
    $SNAP --exclude-regexp 'a(?!b)' src s.bad
t_exit 100 "a size that is not a positive number is refused" \
    $SNAP --max-file-size 0 src s.bad
t_exit 100 "a list that cannot be read is refused" sh -c \
    "$SNAP --exclude-filelist nothere src s.bad 2>err.2"
t "... naming it" grep -q "snap: read nothere: No such file" err.2
t "nothing was written by the refused runs" [ ! -e s.bad ]

t_done
