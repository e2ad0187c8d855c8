#!/bin/sh
# need.sh WHAT:PACKAGE ...
# Make sure each WHAT exists: a command name, or an absolute path to a file.
# Missing ones are installed from Debian's PACKAGE when we are root on a
# Debian system; otherwise the script names the packages and fails.
set -u
missing=
for arg; do
	what=${arg%%:*}
	pkg=${arg#*:}
	case $what in
	/*)	[ -e "$what" ] && continue ;;
	*)	command -v "$what" >/dev/null 2>&1 && continue ;;
	esac
	case " $missing " in *" $pkg "*) ;; *) missing="$missing $pkg" ;; esac
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "need: installing$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	# A fresh machine may have empty package lists; update once, then retry.
	if ! apt-get install -y -q $missing >/dev/null 2>&1; then
		apt-get update -q >/dev/null 2>&1
		apt-get install -y -q $missing >/dev/null || {
			echo "need: apt-get install$missing failed" >&2
			exit 111
		}
	fi
	exit 0
fi
echo "need: missing packages:$missing (install them, e.g. apt-get install$missing)" >&2
exit 111
