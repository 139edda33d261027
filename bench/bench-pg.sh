#!/bin/sh
# Durable submits and empty polls with 1, 2 and 3 smswake-servers on one PostgreSQL (a cluster
# of the benchmark's own, fsync on), wrk against every server at once (64 connections in all).
# On a 2-core machine the servers and PostgreSQL share the cores: the rows show the cost of
# more servers, not a speed-up. bench-http.sh has the same figures on SQLite.
set -eu
O=${O:-build}
. bench/lib_http.sh
DUR=${BENCH_SECONDS:-5}
if ! sh tests/lib/pgtmp.sh available; then
	printf 'PostgreSQL submits\tskipped\t-\t-\t-\n' >>"${BENCH_RESULTS:-/dev/stdout}"
	exit 0
fi
dir=$(mktemp -d)
chmod 755 "$dir"
pids=""
cleanup()
{
	for p in $pids; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	sh tests/lib/pgtmp.sh stop "$dir/pg"
	rm -rf "$dir"
}
trap cleanup EXIT
dsn=$(PGTMP_FSYNC=on sh tests/lib/pgtmp.sh start "$dir/pg")
head -c 32 /dev/urandom >"$dir/master.key"
chmod 600 "$dir/master.key"
for s in 1 2 3; do
	mkdir -p "$dir/s$s"
	printf '[server]\nlisten = 127.0.0.1:0\ndata_dir = %s/s%s\nmaster_key_file = %s/master.key\nlog_level = warn\nmax_pending = 0\n[scheduler]\nenabled = no\n[store]\nbackend = postgresql\ndsn = %s\n' \
		"$dir" "$s" "$dir" "$dsn" >"$dir/s$s.conf"
done
key=$("$O/smswakectl" -c "$dir/s1.conf" provider add bench)

start()
{
	"$O/smswake-server" -c "$dir/s$1.conf" 2>"$dir/server-$1.log" &
	pids="$pids $!"
	for i in $(seq 200); do [ -s "$dir/s$1/ports" ] && break; sleep 0.05; done
	eval "base$1=http://127.0.0.1:$(awk '{print $2; exit}' "$dir/s$1/ports")"
}
start 1
http_fixture "$base1" "$key" "$dir"

# metric N NAME: the sum of a /metrics counter over the first N servers.
metric()
{
	sum=0
	for s in $(seq "$1"); do
		b=$(eval echo "\$base$s")
		v=$(curl -fs "$b/metrics" | awk -v m="$2" '$1 == m {print $2}')
		sum=$(awk -v a="$sum" -v b="${v:-0}" 'BEGIN{print a + b}')
	done
	echo "$sum"
}

# run N SCRIPT PATH: wrk on each of the first N servers at once; prints the summed req/s.
run()
{
	n=$1
	conns=$((64 / n))
	wp=""
	for s in $(seq "$n"); do
		b=$(eval echo "\$base$s")
		wrk -t1 -c"$conns" -d"${DUR}s" -s "$dir/$2" "$b$3" >"$dir/wrk-$s.txt" &
		wp="$wp $!"
	done
	wait $wp
	total=0
	for s in $(seq "$n"); do
		total=$(awk -v a="$total" -v b="$(rps "$dir/wrk-$s.txt")" 'BEGIN{print a + b}')
		if grep -q 'Non-2xx' "$dir/wrk-$s.txt"; then echo "warning: non-2xx answers on server $s" >&2; fi
	done
	echo "$total"
}
for n in 1 2 3; do
	[ "$n" -eq 1 ] || start "$n"
	c0=$(metric "$n" smswake_store_commits_total)
	o0=$(metric "$n" smswake_store_committed_ops_total)
	post=$(run "$n" post.lua "/v1/devices/$dev/messages")
	c1=$(metric "$n" smswake_store_commits_total)
	o1=$(metric "$n" smswake_store_committed_ops_total)
	# The submits' mean group: operations committed per COMMIT while wrk ran.
	group=$(awk -v c="$((c1 - c0))" -v o="$((o1 - o0))" 'BEGIN{printf "%.1f", (c > 0 ? o / c : 0)}')
	poll=$(run "$n" poll.lua "/v1/device/messages")
	{
		printf 'PostgreSQL, %d server(s): durable submits\t%.0f\treq/s\t-\t-\n' "$n" "$post"
		printf 'PostgreSQL, %d server(s): submits per commit (mean)\t%s\tops\t-\t-\n' "$n" "$group"
		printf 'PostgreSQL, %d server(s): empty device polls (204)\t%.0f\treq/s\t-\t-\n' "$n" "$poll"
	} >>"${BENCH_RESULTS:-/dev/stdout}"
done
