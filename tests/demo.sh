#!/bin/sh
# make demo: the main job on a built-in example, no remote needed: back up
# a sample tree, change it, back it up again, list the sessions, restore
# the older one and show the difference.
set -u
: "${BIN:=build/musl/bin}"
case $BIN in /*) ;; *) BIN=$(pwd)/$BIN ;; esac
D=$(mktemp -d "${TMPDIR:-/tmp}/bk-demo.XXXXXX") || exit 111
trap 'rm -rf "$D"' EXIT
cd "$D" || exit 111
step() { printf '\n$ %s\n' "$*"; "$@"; }

mkdir -p src/etc src/home/alice
printf 'hostname=demo\n' >src/etc/config
printf 'first draft\n' >src/home/alice/notes.txt
seq 1 20000 >src/home/alice/numbers
echo "demo: a sample tree in $D/src, the repository in $D/repo"
step "$BIN/snap" -v --current-time "$(($(date +%s) - 86400))" src repo || exit
printf 'second draft\n' >src/home/alice/notes.txt
sed -i 's/^5000$/five thousand/' src/home/alice/numbers
rm src/etc/config
echo "changed notes.txt and numbers, deleted etc/config"
step "$BIN/snap" -v src repo || exit
step "$BIN/restore" -l repo || exit
step "$BIN/restore" -v -r 1B repo yesterday || exit
printf '\n$ diff -r yesterday src\n'
diff -r yesterday src
step "$BIN/restore" -c repo || exit
step du -sh repo/rdiff-backup-data/increments
if command -v rdiff-backup >/dev/null; then
	step rdiff-backup --terminal-verbosity 1 list increments repo || exit
fi
echo
echo "demo: done"

