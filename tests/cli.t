# Command-line contract of every tool: -V, usage = man page SYNOPSIS,
# exit 100 on bad usage, and the static-binary promises.
. tests/harness.sh

version=$(sed -n 's/^VERSION *= *//p' mk/config.mk)

# synopsis PAGE: the SYNOPSIS section rendered, whitespace folded.
synopsis() {
	mandoc -Tascii -O width=1000 "$1" | col -b |
	    sed -n '/^SYNOPSIS/,/^[A-Z]/{/^[A-Z]/d;p;}' | tr -s ' \n' '  ' |
	    sed 's/^ *//; s/ *$//'
}

# usage_of TOOL: the usage message, "usage:" dropped, whitespace folded.
usage_of() {
	"$BIN/$1" --no-such-option 2>&1 | sed -n '/^usage:/,$p' | sed 's/^usage://' |
	    tr -s ' \n' '  ' | sed 's/^ *//; s/ *$//'
}

static=no
case $(file -L "$BIN/snap" 2>/dev/null) in *"statically linked"*|*"static-pie linked"*) static=yes ;; esac

mkdir "$T/vsrc" && echo x >"$T/vsrc/x" && "$BIN/snap" "$T/vsrc" "$T/vrepo"
t_exit 100 "restore -l -c (two verbs) exits 100" "$BIN/restore" -l -c "$T/vrepo"
t_exit 100 "restore -L --verify (two verbs) exits 100" \
    "$BIN/restore" -L --verify "$T/vrepo"

# A tool's own header is a prerequisite of exactly the files that include
# it (make -n -W: as if it had changed, without touching it).
O=${BIN%/bin} && O=${O#"$(pwd)"/}
for h in snap/*.h mount-remote/*.h; do
	want=$(grep -l "#include \"${h#*/}\"" "${h%/*}"/*.c | sort | tr '\n' ' ')
	t_out "touching $h rebuilds exactly its includers" "$want" sh -c \
	    "make -n -W $h O=$O all 2>/dev/null | grep -o '[a-z/-]*\.c ' |
	    sort | tr -d ' ' | tr '\n' ' '"
done

for tool in snap restore prune mount-remote; do
	t_out "$tool -V prints its version" "$tool $version" "$BIN/$tool" -V
	t_exit 100 "$tool with an unknown option exits 100" "$BIN/$tool" --no-such-option
	t_exit 100 "$tool without operands exits 100" "$BIN/$tool"
	t_out "$tool usage matches its man page SYNOPSIS" \
	    "$(synopsis "$tool/$tool.1")" usage_of "$tool"
	if [ "$static" = no ]; then
		skip "$tool is a static executable" "not the static musl build"
		continue
	fi
	t "$tool is a static executable" sh -c \
	    'file -L "$1" | grep -q "statically linked" && ! grep -q GLIBC "$1"' sh "$BIN/$tool"
	strip -o "$T/$tool.stripped" "$BIN/$tool"
	size=$(wc -c <"$T/$tool.stripped")
	t "$tool is under 1.5 MB stripped ($size bytes)" [ "$size" -lt 1572864 ]
	if [ "$(id -u)" = 0 ]; then
		mkdir -p "$T/root-$tool"
		cp "$T/$tool.stripped" "$T/root-$tool/$tool"
		t_out "$tool -V runs in an empty chroot" "$tool $version" \
		    chroot "$T/root-$tool" "/$tool" -V
	else
		skip "$tool -V runs in an empty chroot" "needs root"
	fi
done

if [ "$static" = yes ]; then
	t "make install PREFIX=/usr DESTDIR=... installs binaries and pages" sh -c \
	    "make -s install PREFIX=/usr DESTDIR=$T/inst >/dev/null &&
	     for x in snap restore prune mount-remote; do
		test -x $T/inst/usr/bin/\$x && test -f $T/inst/usr/share/man/man1/\$x.1 || exit 1
	     done && test -f $T/inst/usr/share/man/man5/bk-repository.5"
	t "  ... stripped" sh -c "file $T/inst/usr/bin/snap | grep -q ', stripped'"
	t "make dist makes a tarball of the static binaries" sh -c \
	    "tar tzf \$(make -s dist | tail -n 1) | grep -q 'bin/snap\$'"
fi
t_done
