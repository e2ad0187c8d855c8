#!/bin/sh
# report.sh RESULTS PROBES: Markdown tables from bench records (see
# bench/lib.sh).  One table per section, rows in the order first measured:
# median, min and max wall time of the runs, peak RSS (largest of the
# runs), the ratio of the median to the workload's first row (the floor
# or the peer), and for remote sections the throughput.  Then the targets
# of issues 4, 5 and 7, computed from medians of this same run.
set -u
awk -F '\t' -v probes="$2" '
function fmt_s(us) { return sprintf("%.3f", us / 1e6) }
function median(key,   n, i, j, v, a) {
	n = split(times[key], a, " ")
	for (i = 2; i <= n; i++) {	# insertion sort, n is small
		v = a[i] + 0
		for (j = i - 1; j >= 1 && a[j] + 0 > v; j--)
			a[j + 1] = a[j]
		a[j + 1] = v
	}
	lo[key] = a[1]; hi[key] = a[n]
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function addrow(s, w, t,   k) {
	if (!((s, w) in wseen)) {
		wseen[s, w] = 1
		works[s] = works[s] SUBSEP2 w
	}
	k = s SUBSEP w SUBSEP t
	if (!(k in rseen)) {
		rseen[k] = 1
		rows[s, w] = rows[s, w] SUBSEP2 t
	}
	if (!(s in sseen)) { sseen[s] = 1; sects[++ns] = s }
	return k
}
BEGIN { SUBSEP2 = "\034" }
$1 == "corpus" { if (!($2 in sseen)) { sseen[$2] = 1; sects[++ns] = $2 }; desc[$2] = $3; next }
$1 == "run" {
	k = addrow($2, $3, $4)
	times[k] = times[k] " " $5
	nruns[k]++
	if ($6 != "-" && $6 + 0 > rss[k] + 0) rss[k] = $6
	if ($7 != "-") bytes[k] = $7
	next
}
$1 == "fail" || $1 == "na" { k = addrow($2, $3, $4); msg[k] = $5; next }
$1 == "wire" { k = $2 SUBSEP $3 SUBSEP $4; wire[k] = wire[k] " " ($5 + $6); next }
$1 == "ref" { ref[$2, $3] = $4; next }
$1 == "cpu" { k = $2 SUBSEP $3 SUBSEP $4; cpus[k] = cpus[k] " " $5; next }
END {
	while ((getline line < probes) > 0) {
		split(line, p, "\t")
		probe[p[1]] = p[2]
	}
	print "Our tools are timed only after a correctness probe passed:"
	print ""
	nt = split("snap restore verify prune mount-remote", tl, " ")
	for (i = 1; i <= nt; i++)
		if (tl[i] in probe)
			printf "- %s: %s\n", tl[i], probe[tl[i]] == "ok" ? "available" : "not available (" probe[tl[i]] ")"
	for (i = 1; i <= ns; i++) {
		s = sects[i]
		remote = s ~ /^remote/
		printf "\n### %s\n\n", s
		if (s in desc) printf "%s.\n\n", desc[s]
		if (s ~ /^wan/) {
			wan_table(s)
			continue
		}
		if (remote) {
			print "| workload | tool | median s | min s | max s | MiB/s | × first row | peak RSS MiB | client CPU s |"
			print "|---|---|--:|--:|--:|--:|--:|--:|--:|"
		} else {
			print "| workload | tool | median s | min s | max s | × first row | peak RSS MiB |"
			print "|---|---|--:|--:|--:|--:|--:|"
		}
		nw = split(substr(works[s], 2), wl, SUBSEP2)
		for (j = 1; j <= nw; j++) {
			w = wl[j]
			nr = split(substr(rows[s, w], 2), rl, SUBSEP2)
			first = ""
			for (r = 1; r <= nr; r++) {
				t = rl[r]
				k = s SUBSEP w SUBSEP t
				if (k in msg && !(k in times)) {
					printf "| %s | %s | %s |%s\n", w, t, msg[k], remote ? " | | | | | |" : " | | | |"
					continue
				}
				m = median(k)
				med[s, w, t] = m
				if (first == "") first = m
				ratio = first > 0 ? sprintf("%.2f", m / first) : "–"
				mib = rss[k] != "" ? sprintf("%.1f", rss[k] / 1024) : "–"
				note = (k in msg) ? " (" msg[k] " after " nruns[k] " runs)" : ""
				if (remote) {
					tput = (k in bytes) ? sprintf("%.1f", bytes[k] / 1048576 / (m / 1e6)) : ""
					cpu = ""
					if (k in cpus) {
						times[k SUBSEP "cpu"] = cpus[k]
						medcpu[s, w, t] = median(k SUBSEP "cpu")
						cpu = fmt_s(medcpu[s, w, t])
					}
					printf "| %s | %s%s | %s | %s | %s | %s | %s | %s | %s |\n", w, t, note, fmt_s(m), fmt_s(lo[k]), fmt_s(hi[k]), tput, ratio, mib, cpu
				} else
					printf "| %s | %s%s | %s | %s | %s | %s | %s |\n", w, t, note, fmt_s(m), fmt_s(lo[k]), fmt_s(hi[k]), ratio, mib
				medrss[s, w, t] = mib
			}
		}
	}

	# Targets (issues 4, 5 and 7), from this run.
	print "\n### Targets (issues 4, 5, 7, 15, 16, 17 and 18), ratios of medians from this run\n"
	print "| section | target | value | met |"
	print "|---|---|--:|:-:|"
	for (i = 1; i <= ns; i++) {
		s = sects[i]
		if (s ~ /^workflow/) {
			if (s ~ /RTT/)
				target(s, "incremental run: sshfs + rdiff-backup ÷ backup.sh", med[s, "incremental run", "sshfs + rdiff-backup"], med[s, "incremental run", "backup.sh (mount-remote + snap)"], 5, ">=")
			continue
		}
		if (s ~ /^wan/) {
			wan_targets(s)
			continue
		}
		if (s ~ /^thinning/) {
			target(s, "thinning 10 sessions in the middle ÷ one churn snap", med[s, "thin 10 in the middle", "prune, 10 --session options"], med[s, "one churn snap", "snap after a churn round"], 3, "<=")
			target(s, "thinning ÷ restoring the files the 10 changed", med[s, "thin 10 in the middle", "prune, 10 --session options"], med[s, "restore the changed files", "restore -r with a file list, each of the 10"], 1, "<=")
			target(s, "rdiff-backup verify of each session ÷ restore -c -r all", med[s, "verify every session", "rdiff-backup verify --at, each session"], med[s, "verify every session", "restore -c -r all"], 5, ">=")
			continue
		}
		if (s ~ /^history/) {
			target(s, "mount ready, seconds", med[s, "mount ready", "restore -m, ls of the root"], 1e6, 1, "<=")
			target(s, "find through the mount ÷ find over restore -r output", med[s, "find, 2 back", "find through restore -m"], med[s, "find, 2 back", "find over restore -r output (floor)"], 2, "<=")
			if ((s, "find, 2 back", "restore -m, index built, kernel caches dropped") in med)
				target(s, "find, index built (FUSE requests alone) ÷ find over restore -r output", med[s, "find, 2 back", "restore -m, index built, kernel caches dropped"], med[s, "find, 2 back", "find over restore -r output (floor)"], 2, "<=")
			# the harness (time, timeout, sh) costs ~20 ms itself: the
			# floor row says how much; both rows are shown
			target(s, "ls -l of a directory, index built, seconds", med[s, "ls -l one directory", "restore -m, index built"], 1e6, 0.02, "<=")
			if ((s, "ls -l one directory", "ls -l over restore -r output (floor)") in med)
				target(s, "ls -l of a directory, index built, seconds beyond the floor row", med[s, "ls -l one directory", "restore -m, index built"] - med[s, "ls -l one directory", "ls -l over restore -r output (floor)"], 1e6, 0.02, "<=")
			target(s, "ls -l of a directory, fresh mount, seconds", med[s, "ls -l one directory", "restore -m, fresh mount"], 1e6, 0.02, "<=")
			if ((s, "ls -l one directory", "ls -l over restore -r output (floor)") in med)
				target(s, "ls -l of a directory, fresh mount, seconds beyond the floor row", med[s, "ls -l one directory", "restore -m, fresh mount"] - med[s, "ls -l one directory", "ls -l over restore -r output (floor)"], 1e6, 0.02, "<=")
			target(s, "tar through the mount ÷ restore -r", med[s, "read whole old session", "tar through restore -m"], med[s, "read whole old session", "restore -r"], 1.3, "<=")
			target(s, "restore both + diff ÷ diff through the mount", med[s, "diff adjacent sessions", "restore -r both, diff -r"], med[s, "diff adjacent sessions", "diff -r through restore -m"], 5, ">=")
			target(s, "mount daemon peak RSS, MiB (64 at 1M files)", medrss[s, "read whole old session", "tar through restore -m"], 1, 64, "<=")
			continue
		}
		if (s ~ /^remote/) {
			rtt = s ~ /RTT/
			nw = split(substr(works[s], 2), wl, SUBSEP2)
			for (j = 1; j <= nw; j++) {
				w = wl[j]
				if (w ~ /^read [0-9]+ MiB/) {
					target(s, "mount-remote speed ÷ sshfs, " w, med[s, w, "sshfs -o ro"], med[s, w, "mount-remote"], rtt ? 5 : 1.2, ">=")
					if (!rtt)
						target(s, "mount-remote client CPU ÷ sshfs, " w, medcpu[s, w, "mount-remote"], medcpu[s, w, "sshfs -o ro"], 1, "<=")
				}
				else if (w ~ /^find/)
					target(s, "mount-remote time ÷ sshfs, " w, med[s, w, "mount-remote"], med[s, w, "sshfs -o ro"], 0.5, "<=")
				else if (w ~ /^read all/)
					target(s, "mount-remote time ÷ sshfs, " w, med[s, w, "mount-remote"], med[s, w, "sshfs -o ro"], 0.6, "<=")
			}
			continue
		}
		target(s, "initial snap ÷ cp -a", med[s, "initial backup", "snap"], med[s, "initial backup", "cp -a (floor)"], 1.3, "<=")
		target(s, "unchanged snap ÷ find stat walk", med[s, "unchanged re-run", "snap"], med[s, "unchanged re-run", "find stat walk (floor)"], 3, "<=")
		target(s, "churn re-run: rdiff-backup ÷ snap", med[s, "re-run after churn", "rdiff-backup"], med[s, "re-run after churn", "snap"], 10, ">=")
		ow = ""
		nw = split(substr(works[s], 2), wl, SUBSEP2)
		for (j = 1; j <= nw; j++) if (wl[j] ~ /\(older\)$/) ow = wl[j]
		if (ow != "")
			target(s, ow " (restore) ÷ cp -a", (s, ow, "restore") in med ? med[s, ow, "restore"] : med[s, ow, "restore (on rdiff-backup\047s repo)"], med[s, "initial backup", "cp -a (floor)"], 1.5, "<=")
		m = ""
		for (j = 1; j <= nw; j++)
			if ((s, wl[j], "snap") in medrss && medrss[s, wl[j], "snap"] + 0 > m + 0)
				m = medrss[s, wl[j], "snap"]
		printf "| %s | snap peak RSS MiB (all workloads) ≤ 32 | %s | %s |\n", s, m == "" ? "n/a" : m, m == "" ? "–" : (m + 0 <= 32 ? "yes" : "no")
		if (s ~ /^S: /) {
			nsz++
			if (m != "") {
				if (rmin == "" || m + 0 < rmin + 0) { rmin = m; smin = s }
				if (rmax == "" || m + 0 > rmax + 0) { rmax = m; smax = s }
			}
		}
	}
	if (nsz > 1) {
		if (rmin == "")
			print "| S, all sizes | snap peak RSS, largest ÷ smallest over the sizes ≤ 1.1 (equal) | n/a | – |"
		else
			printf "| S, all sizes | snap peak RSS, largest ÷ smallest over the sizes ≤ 1.1 (equal) | %.2f | %s |\n", rmax / rmin, rmax / rmin <= 1.1 ? "yes" : "no"
	}
}
# The median of the space-separated numbers in list.
function lmedian(list,   n, i, j, v, a) {
	n = split(list, a, " ")
	if (n == 0) return ""
	for (i = 2; i <= n; i++) {
		v = a[i] + 0
		for (j = i - 1; j >= 1 && a[j] + 0 > v; j--)
			a[j + 1] = a[j]
		a[j + 1] = v
	}
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function wan_table(s,   nw, wl, j, w, nr, rl, r, t, k, m, b, rt, rb, note, mb, xt, xb) {
	print "| workload | tool | median s | min s | max s | wire MB | × rsync time | × rsync bytes |"
	print "|---|---|--:|--:|--:|--:|--:|--:|"
	nw = split(substr(works[s], 2), wl, SUBSEP2)
	for (j = 1; j <= nw; j++) {
		w = wl[j]
		nr = split(substr(rows[s, w], 2), rl, SUBSEP2)
		rt = rb = ""
		k = s SUBSEP w SUBSEP "rsync -a"
		if (k in times) { rt = median(k); rb = lmedian(wire[k]) }
		for (r = 1; r <= nr; r++) {
			t = rl[r]
			k = s SUBSEP w SUBSEP t
			b = lmedian(wire[k])
			wbytes[s, w, t] = b
			if (k in msg && !(k in times)) {
				printf "| %s | %s | %s | | | %s | | |\n", w, t, msg[k], b == "" ? "" : sprintf("%.2f", b / 1e6)
				continue
			}
			m = median(k)
			med[s, w, t] = m
			note = ""
			if (k in msg) note = " (" msg[k] " after " nruns[k] " runs)"
			mb = b == "" ? "–" : sprintf("%.2f", b / 1e6)
			xt = rt > 0 ? sprintf("%.2f", m / rt) : "–"
			xb = rb > 0 && b != "" ? sprintf("%.2f", b / rb) : "–"
			printf "| %s | %s%s | %s | %s | %s | %s | %s | %s |\n", w, t,
			    note, fmt_s(m), fmt_s(lo[k]), fmt_s(hi[k]), mb, xt, xb
		}
	}
}
# The targets of issue 15 for one wan section.
function wan_targets(s,   mr, ag, rs, rn) {
	mr = "mount-remote + snap"; ag = "snap agent"; rs = "rsync -a"; rn = "rdiff-backup native"
	target(s, "unchanged: mount-remote + snap time ÷ rsync", med[s, "unchanged", mr], med[s, "unchanged", rs], 2, "<=")
	target(s, "churn: mount-remote + snap time ÷ rsync", med[s, "churn", mr], med[s, "churn", rs], 2, "<=")
	target(s, "churn: mount-remote bytes ÷ (changed files + gzipped listing)", wbytes[s, "churn", mr], ref[s, "churn"], 2, "<=")
	target(s, "initial: mount-remote bytes ÷ content", wbytes[s, "initial", mr], ref[s, "initial"], 1.05, "<=")
	target(s, "initial: mount-remote bytes ÷ rdiff-backup native", wbytes[s, "initial", mr], wbytes[s, "initial", rn], 1, "<=")
	target(s, "big file: agent bytes ÷ rsync", wbytes[s, "big file, 1 MiB changed", ag], wbytes[s, "big file, 1 MiB changed", rs], 1.5, "<=")
	target(s, "big file: agent time ÷ rsync", med[s, "big file, 1 MiB changed", ag], med[s, "big file, 1 MiB changed", rs], 1.5, "<=")
	target(s, "log: agent bytes ÷ rsync", wbytes[s, "log, 1 MiB appended", ag], wbytes[s, "log, 1 MiB appended", rs], 1.5, "<=")
	target(s, "log: agent time ÷ rsync", med[s, "log, 1 MiB appended", ag], med[s, "log, 1 MiB appended", rs], 1.5, "<=")
	# the same with rsync making its files durable, as snap does
	if ((s, "big file, 1 MiB changed", rs " --fsync") in med) {
		target(s, "big file: agent time ÷ rsync --fsync", med[s, "big file, 1 MiB changed", ag], med[s, "big file, 1 MiB changed", rs " --fsync"], 1.5, "<=")
		target(s, "log: agent time ÷ rsync --fsync", med[s, "log, 1 MiB appended", ag], med[s, "log, 1 MiB appended", rs " --fsync"], 1.5, "<=")
	}
	target(s, "unchanged: agent time ÷ rsync", med[s, "unchanged", ag], med[s, "unchanged", rs], 1.5, "<=")
}
function target(s, what, a, b, lim, op,   v, ok) {
	if (a == "" || b == "" || b + 0 == 0) {
		printf "| %s | %s %s %s | n/a | – |\n", s, what, op == "<=" ? "≤" : "≥", lim
		return
	}
	v = a / b
	ok = op == "<=" ? v <= lim : v >= lim
	printf "| %s | %s %s %s | %.2f | %s |\n", s, what, op == "<=" ? "≤" : "≥", lim, v, ok ? "yes" : "no"
}
' "$1"
