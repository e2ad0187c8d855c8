# FUSE mounts in tests (POSIX sh, sourced after tests/harness.sh).
#   in_mounts DIR     DIR is a mount point now
#   umount_all        lazily unmount every mount below $T, innermost first
#                     (for cleanup traps: a test that failed halfway)

in_mounts() {
	awk -v m="$1" '$2 == m { f = 1 } END { exit !f }' /proc/mounts
}

umount_all() {
	awk -v t="$T" '$2 ~ "^"t { print $2 }' /proc/mounts | sort -r |
	    while read -r _m; do umount -l "$_m" 2>/dev/null; done
}
