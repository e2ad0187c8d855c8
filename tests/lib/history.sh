# A deterministic history of a source tree for backup tests (sourced).
#   make_tree DIR        the first state: every file type, odd names
#   mutate N DIR         turn state N-1 into state N (N = 2..7)
# Names cover newline, backslash, tab, space, non-UTF-8 bytes, "File x",
# a 250-byte name (rdiff-backup's long-name increments); as root also
# devices, other owners and owners without names.

isroot() { [ "$(id -u)" = 0 ]; }

# xsum DIR: every path's xattrs (ACLs too), one line a path, sorted
xsum() (
	cd "$1" && getfattr -R -h -d -m - -e base64 . 2>/dev/null |
	    awk '/^# file: / { if (rec != "") print rec; rec = $0; next }
		/./ { rec = rec " | " $0 } END { if (rec != "") print rec }' |
	    sort
)


# blob SEED KIB: KIB kibibytes of reproducible bytes
blob() {
	awk -v s="$1" -v n="$2" 'BEGIN {
		for (i = 0; i < n * 16; i++) {
			line = ""
			for (j = 0; j < 63; j++) {
				s = (s * 1103515245 + 12345) % 2147483648
				line = line sprintf("%c", 97 + s % 26)
			}
			print line
		}
	}'
}

make_tree() {
	d=$1
	mkdir -p "$d/dir/sub" "$d/sticky" "$d/empty-dir"
	blob 1 64 >"$d/big"
	blob 2 3 >"$d/dir/middle"
	echo hello >"$d/a.txt"
	ln "$d/a.txt" "$d/hard-a"
	: >"$d/empty"
	echo grow >"$d/shrink-me"
	: >"$d/grow-me"
	echo "will be deleted" >"$d/dir/sub/gone"
	echo "type change" >"$d/file-to-dir"
	mkdir "$d/dir-to-file" && echo inner >"$d/dir-to-file/inner"
	echo "link me" >"$d/file-to-link"
	ln -s a.txt "$d/link-to-file"
	ln -s a.txt "$d/link"
	ln -s /nonexistent/target "$d/dangling"
	mkfifo "$d/fifo"
	printf 'nl\n' >"$d/new
line"
	printf 'bs\n' >"$d/back\\slash"
	printf 'tab\n' >"$d/tab	x"
	printf 'sp\n' >"$d/trailing "
	printf 'latin\n' >"$d/lat$(printf '\351')n"
	printf 'ff\n' >"$d/$(printf '\377\376')"
	printf 'file x\n' >"$d/File x"
	long=$(printf '%0250d' 0 | tr 0 L)
	printf 'long\n' >"$d/$long"
	echo setuid >"$d/setuid" && chmod 4755 "$d/setuid"
	chmod 1777 "$d/sticky"
	chmod 0700 "$d/dir/sub"
	chmod 0444 "$d/dir/middle"
	if isroot; then
		mknod "$d/chr" c 1 3
		mknod "$d/blk" b 7 0
		chown 1234:5678 "$d/a.txt"
		chown nobody:nogroup "$d/dir"
		chown -h 4321:4321 "$d/link"
	fi
	if command -v python3 >/dev/null; then
		python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$d/sock"
	fi
	touch -d @1600000000 "$d/big" "$d/a.txt"
}

mutate() {
	d=$2
	case $1 in
	2)	# content: middle, append, truncate, grow; delete, create;
		# mode only, mtime only
		printf 'XXXXXXXX' | dd of="$d/big" bs=1 seek=30000 conv=notrunc 2>/dev/null
		echo appended >>"$d/dir/middle" 2>/dev/null ||
		    { chmod u+w "$d/dir/middle"; echo appended >>"$d/dir/middle"; chmod 0444 "$d/dir/middle"; }
		: >"$d/shrink-me"
		blob 3 2 >"$d/grow-me"
		rm "$d/dir/sub/gone"
		echo new >"$d/dir/sub/created"
		chmod 0600 "$d/setuid"
		touch -d @1650000000 "$d/empty" ;;
	3)	# type changes; a hard link added
		rm "$d/file-to-dir" && mkdir "$d/file-to-dir" &&
		    echo child >"$d/file-to-dir/child"
		rm -r "$d/dir-to-file" && echo "now a file" >"$d/dir-to-file"
		rm "$d/file-to-link" && ln -s big "$d/file-to-link"
		rm "$d/link-to-file" && echo "was a link" >"$d/link-to-file"
		ln "$d/big" "$d/hard-big" ;;
	4)	# hard link removed; a tree deleted, a tree created
		rm "$d/hard-a"
		rm -r "$d/dir/sub"
		mkdir -p "$d/newtree/x/y" && echo deep >"$d/newtree/x/y/z" &&
		    echo top >"$d/newtree/t" ;;
	5)	# symlink retargeted, directory mode, owner, odd names changed
		rm "$d/link" && ln -s big "$d/link"
		chmod 0750 "$d/dir"
		echo more >>"$d/new
line"
		long=$(printf '%0250d' 0 | tr 0 L)
		echo more >>"$d/$long"
		if isroot; then chown 2000:2000 "$d/big"; fi
		rm "$d/fifo" && echo "fifo is a file now" >"$d/fifo" ;;
	6)	# back again: dir to file, file to dir, nothing else
		rm -r "$d/file-to-dir" && echo "file again" >"$d/file-to-dir"
		rm "$d/dir-to-file" && mkdir "$d/dir-to-file" ;;
	7)	# nothing changed at all
		: ;;
	esac
}

# make_flat DIR N: N small files in a few directories
make_flat() {
	for i in $(seq 1 "$2"); do
		sub=$1/d$((i % 7))/e$((i % 3))
		mkdir -p "$sub"
		blob "$i" 1 | head -c $((i * 37 % 3000 + 1)) >"$sub/f$i"
	done
}

# churn SEED DIR: a reproducible round of changes to about a tenth of the
# files: appends, rewrites, deletions, new files and directories, modes
churn() {
	seed=$1
	find "$2" -type f | sort | awk -v s="$seed" '{
		s = (s * 1103515245 + 12345) % 2147483648
		r = s % 40
		if (r == 0) print "rm", $0
		else if (r == 1) print "append", $0
		else if (r == 2) print "rewrite", $0
		else if (r == 3) print "chmod", $0
	}' | while read -r op f; do
		case $op in
		rm) rm -f "$f" ;;
		append) echo "append $seed" >>"$f" ;;
		rewrite) blob "$seed" 2 >"$f" ;;
		chmod) chmod 0600 "$f" ;;
		esac
	done
	mkdir -p "$2/new$seed/sub"
	echo "new $seed" >"$2/new$seed/sub/f"
	echo "top $seed" >"$2/top$seed"
	[ -d "$2/new$((seed - 3))" ] && rm -r "$2/new$((seed - 3))"
	true
}
