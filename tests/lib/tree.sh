# treesum DIR: a canonical listing of a tree for comparisons, one line
# per entry: path, type, permissions, owner, size, mtime (not for
# symlinks), symlink target or content SHA-1, and hard-link group (the
# first path of the group).  Names are printed with find's %p escaping
# switched off by -print0-safe quoting through od-free sed: bytes below
# 0x20 and backslashes become \ooo so the listing stays one line each.
treesum() (
	cd "$1" || exit 1
	find . -mindepth 1 -printf '%i\t%y\t%m\t%U:%G\t%P\0' | sort -z -t '	' -k5 |
	while IFS='	' read -r -d '' ino type mode owner path; do
		case $type in
		f)	info="$(stat -c %s "$path") $(stat -c %Y "$path") $(sha1sum <"$path" | cut -c1-40)" ;;
		l)	info="-> $(readlink "$path" | od -An -c | tr -s ' \n' '  ')" ;;
		d|p|s)	info="$(stat -c %Y "$path")" ;;
		b|c)	info="$(stat -c '%t,%T' "$path")" ;;
		esac
		[ "$type" = l ] && mode=-
		link=
		if [ "$type" = f ] && [ "$(stat -c %h "$path")" -gt 1 ]; then
			link="link:$ino"
		fi
		printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$(printf '%s' "$path" | od -An -c | tr -s ' \n' '  ')" \
		    "$type" "$mode" "$owner" "$info" "$link"
	done | awk -F '\t' '
	# replace inode numbers by the first path seen with that inode
	$6 != "" { if (!($6 in first)) first[$6] = $1; $6 = "link:" first[$6] }
	{ print }' OFS='\t'
)
