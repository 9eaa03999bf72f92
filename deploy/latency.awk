# latency.awk: per (op, status) count, median and p99 of latency_us in rxd
# log lines.  Usage: awk -f deploy/latency.awk rxd.log...  (deploy/rx latency)
{
	op = ""; st = ""; lat = ""
	for (i = 1; i <= NF; i++) {
		if ($i ~ /^op=/) op = substr($i, 4)
		else if ($i ~ /^status=/) st = substr($i, 8)
		else if ($i ~ /^latency_us=/) lat = substr($i, 12) + 0
	}
	if (op == "" || lat == "") next
	k = op " " st
	n[k]++
	v[k, n[k]] = lat
}
END {
	printf "%-10s %-18s %7s %9s %9s\n", "op", "status", "count", "p50_us", "p99_us"
	for (k in n) {
		m = n[k]
		# insertion sort: logs are small next to what awk can hold
		for (i = 2; i <= m; i++) {
			x = v[k, i]
			for (j = i - 1; j >= 1 && v[k, j] > x; j--) v[k, j + 1] = v[k, j]
			v[k, j + 1] = x
		}
		split(k, parts, " ")
		line[k] = sprintf("%-10s %-18s %7d %9d %9d", parts[1], parts[2], m,
		                  v[k, int((m - 1) * 0.50) + 1], v[k, int((m - 1) * 0.99) + 1])
	}
	c = 0
	for (k in line) keys[++c] = k
	for (i = 2; i <= c; i++) {
		x = keys[i]
		for (j = i - 1; j >= 1 && keys[j] > x; j--) keys[j + 1] = keys[j]
		keys[j + 1] = x
	}
	for (i = 1; i <= c; i++) print line[keys[i]]
}
