#!/bin/sh
# deps.sh - build zlib, librsync, libfuse3 and nettle as static musl
# libraries from Debian's source packages (recipe: static-build.md).
#
# Usage: sh mk/deps.sh      (run from the repository root; no arguments)
#
# Output:  build/deps/prefix/{include,lib}   headers and lib*.a
#          build/deps/kinc/                  kernel header symlinks for musl-gcc
#          build/deps/prefix/.stamp          written last; holds the cksum of
#                                            this script
# Cache:   build/deps/dl/    the .orig.tar.* tarballs (kept across rebuilds)
#          build/deps/apt/   private apt state (source index)
# Logs:    build/deps/log/<name>.log
#
# When the stamp matches this script and the prefix is complete, the script
# exits 0 at once, silently and without network. Otherwise it rebuilds all
# four libraries; it is quiet on success and on failure prints the tail of
# the failing log.
set -eu

[ -f mk/deps.sh ] || { echo "deps.sh: run from the repository root" >&2; exit 2; }

TOP=$(pwd)
B=$TOP/build/deps
P=$B/prefix
KINC=$B/kinc
STAMP=$P/.stamp
PKGS="zlib librsync fuse3 nettle"
FILES="lib/libz.a lib/librsync.a lib/libfuse3.a lib/libnettle.a
	include/zlib.h include/librsync.h include/librsync_export.h
	include/fuse3/fuse.h include/nettle/sha1.h"

# Fast path: nothing to do when the stamp matches this script's checksum.
sum=$(cksum <mk/deps.sh)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$sum" ] && [ -d "$KINC/linux" ]; then
	ok=1
	for f in $FILES; do
		[ -f "$P/$f" ] || { ok=0; break; }
	done
	if [ $ok = 1 ]; then
		# Same content but newer mtime (e.g. after a checkout): refresh
		# the stamp so make considers it up to date.
		[ -z "$(find mk/deps.sh -newer "$STAMP")" ] || touch "$STAMP"
		exit 0
	fi
fi

sh mk/need.sh musl-gcc:musl-tools gcc:gcc make:make cmake:cmake \
	meson:meson ninja:ninja-build pkg-config:pkg-config m4:m4 \
	tar:tar xz:xz-utils gzip:gzip bzip2:bzip2 apt-get:apt \
	/usr/include/linux/fuse.h:linux-libc-dev \
	/usr/share/keyrings/debian-archive-keyring.gpg:debian-archive-keyring

LOG=$B/log
mkdir -p "$LOG" "$B/dl"

# run NAME CMD...: run CMD with output appended to $LOG/NAME.log; on
# failure show the log's tail and stop.
run() {
	_log=$LOG/$1.log
	shift
	echo "+ $*" >>"$_log"
	if ! "$@" >>"$_log" 2>&1; then
		tail -n 30 "$_log" >&2
		echo "deps.sh: failed: $*" >&2
		echo "deps.sh: full log: $_log" >&2
		exit 1
	fi
}

# tarball PKG: the cached orig tarball of source package PKG, or nothing.
tarball() {
	for _t in "$B/dl/$1"_*.orig.tar.gz "$B/dl/$1"_*.orig.tar.xz \
		"$B/dl/$1"_*.orig.tar.bz2; do
		[ -f "$_t" ] && { echo "$_t"; return 0; }
	done
	return 0
}

# --- sources ---------------------------------------------------------------
want=
for p in $PKGS; do
	[ -n "$(tarball "$p")" ] || want="$want $p"
done
if [ -n "$want" ]; then
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	[ -n "$codename" ] || { echo "deps.sh: no VERSION_CODENAME in /etc/os-release" >&2; exit 1; }
	# Take the mirror URI (and keyring) of the host's main suite from its
	# own apt sources: deb822 files first, then one-line sources.list.
	src=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk -v s="$codename" '
		function flush() {
			if (!found && ty ~ /(^| )deb(-src)?( |$)/ && (" " su " ") ~ (" " s " ") && ur != "") {
				split(ur, u, " "); print u[1] " " (sb ~ /^\// ? sb : ""); found = 1
			}
			ty = ur = su = sb = ""
		}
		/^[ \t]*#/ { next }
		/^[ \t]*$/ { flush(); next }
		/^[A-Za-z-]+:/ {
			k = tolower($1); v = $0; sub(/^[^:]*:[ \t]*/, "", v)
			if (k == "types:") ty = v
			else if (k == "uris:") ur = v
			else if (k == "suites:") su = v
			else if (k == "signed-by:") sb = v
		}
		END { flush() }')
	if [ -z "$src" ]; then
		src=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk -v s="$codename" '
			$1 != "deb" && $1 != "deb-src" { next }
			{ i = 2; if ($i ~ /^\[/) { while (i < NF && $i !~ /\]$/) i++; i++ } }
			$(i + 1) == s { print $i; exit }')
	fi
	uri=${src%% *}
	key=${src#* }
	[ "$key" != "$src" ] && [ -n "$key" ] || key=/usr/share/keyrings/debian-archive-keyring.gpg
	[ -n "$uri" ] || { echo "deps.sh: no Debian mirror for $codename in /etc/apt sources" >&2; exit 1; }

	D=$B/apt
	rm -rf "$D/get"
	mkdir -p "$D/lists/partial" "$D/cache/archives/partial" "$D/get"
	printf 'Types: deb-src\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: %s\n' \
		"$uri" "$codename" "$key" >"$D/src.sources"
	# Private state: the system's sources, lists and cache stay untouched.
	# The sandbox user is root so apt can write into our folders.
	set -- -q -o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$D" \
		-o "Dir::State::Lists=$D/lists" -o "Dir::Cache=$D/cache" \
		-o APT::Sandbox::User=root
	[ "$(id -u)" = 0 ] || set -- "$@" -o Debug::NoLocking=1
	run apt apt-get "$@" update
	# apt-get may fail on a side file (e.g. a 404 on a Debian patch tarball)
	# although the orig tarball arrived: check the files, not the status.
	(cd "$D/get" && apt-get "$@" source --download-only $want) >>"$LOG/apt.log" 2>&1 || :
	for p in $want; do
		for t in "$D/get/$p"_*.orig.tar.*; do
			case $t in *.asc | *\*) continue ;; esac
			mv "$t" "$B/dl/"
		done
		if [ -z "$(tarball "$p")" ]; then
			tail -n 30 "$LOG/apt.log" >&2
			echo "deps.sh: no orig tarball for source package $p" >&2
			echo "deps.sh: full log: $LOG/apt.log" >&2
			exit 1
		fi
	done
	rm -rf "$D/get"
fi

# --- build -----------------------------------------------------------------
# Drop the stamp first: it must exist only after all four libraries built.
rm -rf "$P" "$B/work" "$B/stage" "$KINC"
mkdir -p "$P/lib" "$P/include" "$B/work" "$KINC"
for p in $PKGS; do
	: >"$LOG/$p.log"
done

# musl-gcc does not search /usr/include: expose just the kernel headers.
ma=$(gcc -print-multiarch)
ln -s /usr/include/linux "$KINC/linux"
ln -s /usr/include/asm-generic "$KINC/asm-generic"
if [ -n "$ma" ] && [ -d "/usr/include/$ma/asm" ]; then
	ln -s "/usr/include/$ma/asm" "$KINC/asm"
else
	ln -s /usr/include/asm "$KINC/asm"
fi

JOBS=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
export CC=musl-gcc
export CFLAGS="-O2"

# unpack PKG: extract the orig tarball into $B/work/PKG, cd into its top folder.
unpack() {
	_t=$(tarball "$1")
	mkdir "$B/work/$1"
	case $_t in
	*.xz)	run "$1" sh -c 'xz -dc "$1" | tar -xf - -C "$2"' sh "$_t" "$B/work/$1" ;;
	*.bz2)	run "$1" sh -c 'bzip2 -dc "$1" | tar -xf - -C "$2"' sh "$_t" "$B/work/$1" ;;
	*)	run "$1" sh -c 'gzip -dc "$1" | tar -xf - -C "$2"' sh "$_t" "$B/work/$1" ;;
	esac
	cd "$B/work/$1"/*/
}

unpack zlib
run zlib ./configure --static --prefix="$P" --libdir="$P/lib"
run zlib make -j"$JOBS" libz.a
run zlib make install

unpack librsync
mkdir b && cd b
# Keep cmake from finding the host's glibc zlib/bzip2/popt/libb2: their
# -I/usr/include would pull glibc headers into the musl build.
run librsync cmake -DBUILD_SHARED_LIBS=OFF -DBUILD_RDIFF=OFF \
	-DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" \
	-DCMAKE_INSTALL_PREFIX="$P" -DCMAKE_INSTALL_LIBDIR=lib \
	-DCMAKE_DISABLE_FIND_PACKAGE_ZLIB=ON -DCMAKE_DISABLE_FIND_PACKAGE_BZip2=ON \
	-DCMAKE_DISABLE_FIND_PACKAGE_POPT=ON -DCMAKE_DISABLE_FIND_PACKAGE_libb2=ON ..
run librsync make -j"$JOBS" rsync
run librsync cmake --install .

# fuse3 compiles FUSERMOUNT_DIR in from prefix/bindir: configure for /usr so
# the library finds /usr/bin/fusermount3 without PATH, install via DESTDIR.
unpack fuse3
run fuse3 env CFLAGS="$CFLAGS -I$KINC" meson setup b --prefix=/usr \
	--bindir=bin --libdir=lib --includedir=include --buildtype=plain \
	--default-library=static -Dutils=false -Dexamples=false -Dtests=false
run fuse3 ninja -C b -j"$JOBS"
run fuse3 env DESTDIR="$B/stage" meson install -C b --no-rebuild
cp "$B/stage/usr/lib/libfuse3.a" "$P/lib/"
cp -R "$B/stage/usr/include/fuse3" "$P/include/"
grep -q /usr/bin/fusermount3 "$P/lib/libfuse3.a" || {
	echo "deps.sh: libfuse3.a lacks the /usr/bin fusermount path" >&2
	exit 1
}

# nettle: fat build picks SHA-NI etc. at run time; --libdir avoids lib64.
unpack nettle
run nettle ./configure --prefix="$P" --libdir="$P/lib" --disable-shared \
	--disable-public-key --disable-documentation --enable-fat --disable-openssl
# configure appends -ggdb3 to CFLAGS; override it on the make command line.
run nettle make -j"$JOBS" libnettle.a CFLAGS="$CFLAGS"
run nettle make install-headers install-static

cd "$TOP"
rm -rf "$B/work" "$B/stage" "$P/share" "$P/bin"
for f in $FILES; do
	[ -f "$P/$f" ] || { echo "deps.sh: $P/$f was not installed" >&2; exit 1; }
done
echo "$sum" >"$STAMP"
