#!/bin/sh
# make demo: the main job on a built-in example (no remote needed).
set -u
: "${BIN:=build/musl/bin}"
echo "demo: snap and restore are not implemented yet; the tools built in $BIN:"
for t in snap restore prune mount-remote; do
	"$BIN/$t" -V || exit 111
done
