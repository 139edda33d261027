#!/bin/sh
# How a device's poll and fetch cost grow with the store: for each size, a store filled by
# bench/storegen through the store's own write verbs (devices, then 32-octet messages spread
# over them), then smswake-server on it, a fresh device with nothing queued (empty polls, 204)
# and one with one message (fetches, 200; the message stays deliverable until acknowledged, so
# each fetch goes through the writer) measured with wrk (1 thread, 4 keep-alive connections),
# p50 and p99, and the database's size. The query plans of the hot queries are printed for the
# largest store: each is an index search, so its cost grows with log(rows), not rows.
#
# Sizes: 10k devices with 100k messages by default; BENCH_FULL=1 adds 100k devices with 1M
# messages and 1M devices with 10M messages (generating them takes a long while: tens of
# minutes on a small machine).
set -eu
O=${O:-build}
DUR=${BENCH_SECONDS:-3}
dir=$(mktemp -d)
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT
out() { printf '%s\n' "$1" >>"${BENCH_RESULTS:-/dev/stdout}"; }
die() { echo "bench-scale: $*" >&2; exit 1; }

sizes="10000:100000"
if [ "${BENCH_FULL:-0}" = 1 ]; then
	sizes="$sizes 100000:1000000 1000000:10000000"
else
	echo "bench-scale: 10k devices / 100k messages only; BENCH_FULL=1 adds 100k / 1M and 1M / 10M" >&2
	out "$(printf 'store scaling: larger stores (100k devices / 1M messages, 1M / 10M) need BENCH_FULL=1\t-\t-\t-\t-')"
fi

lat() { sed -n "s/^ *$2% *\\([0-9.]*[a-z]*\\).*/\\1/p" "$1"; }
for size in $sizes; do
	ndev=${size%%:*} nmsg=${size#*:}
	d="$dir/$ndev"
	mkdir -p "$d/data"
	cat >"$d/smswake.conf" <<CONF
[server]
listen = 127.0.0.1:0
data_dir = $d/data
log_level = warn
# One device takes every submit: no cap on what waits for it (max_pending).
max_pending = 0
[scheduler]
enabled = no
CONF
	key=$("$O/smswakectl" -c "$d/smswake.conf" provider add bench)
	"$O/bench/storegen" "$d/data/smswake.db" 1 "$ndev" "$nmsg" >"$d/gen.txt" || die "storegen failed"
	echo "bench-scale: $(head -n 1 "$d/gen.txt")" >&2
	"$O/smswake-server" -c "$d/smswake.conf" 2>"$d/server.log" &
	pids="$pids $!"
	for i in $(seq 200); do [ -s "$d/data/ports" ] && break; sleep 0.05; done
	port=$(awk '{print $2; exit}' "$d/data/ports")
	base="http://127.0.0.1:$port"
	for i in $(seq 200); do curl -fs "$base/healthz" >/dev/null && break; sleep 0.05; done
	probe() {
		curl -fs -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
			-d "{\"msisdn\":\"$1\",\"poll_interval\":900}" "$base/v1/devices"
	}
	empty_tok=$(probe +19990000001 | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
	reg=$(probe +19990000002)
	full_id=$(echo "$reg" | sed -n 's/.*"id":\([0-9]*\).*/\1/p')
	full_tok=$(echo "$reg" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
	curl -fs -o /dev/null -H "Authorization: Bearer $key" -H 'Content-Type: text/plain' \
		-d 'meter reading request 0123456789' "$base/v1/devices/$full_id/messages" || die "submit failed"
	printf 'wrk.headers["Authorization"] = "Bearer %s"\n' "$empty_tok" >"$d/empty.lua"
	printf 'wrk.headers["Authorization"] = "Bearer %s"\n' "$full_tok" >"$d/full.lua"
	wrk -t1 -c4 -d"${DUR}s" --latency -s "$d/empty.lua" "$base/v1/device/messages" >"$d/empty.txt"
	wrk -t1 -c4 -d"${DUR}s" --latency -s "$d/full.lua" "$base/v1/device/messages" >"$d/full.txt"
	for f in empty full; do
		if grep -q 'Non-2xx\|Socket errors' "$d/$f.txt"; then
			cat "$d/$f.txt" >&2
			die "$f polls: errors or non-2xx answers"
		fi
	done
	kill $pids
	wait $pids 2>/dev/null || true
	pids=""
	kb=$(du -sk "$d/data" | awk '{print $1}')
	label="$ndev devices, $nmsg messages"
	out "$(printf 'empty poll latency p50 / p99 (%s)\t%s / %s\tlatency\t-\t-' "$label" "$(lat "$d/empty.txt" 50)" "$(lat "$d/empty.txt" 99)")"
	out "$(printf 'fetch of 1 message latency p50 / p99 (%s)\t%s / %s\tlatency\t-\t-' "$label" "$(lat "$d/full.txt" 50)" "$(lat "$d/full.txt" 99)")"
	out "$(printf 'database size (%s)\t%.1f\tMiB\t-\t-' "$label" "$(awk -v k="$kb" 'BEGIN{print k/1024}')")"
	last="$d/gen.txt"
done
# The plans, as SQLite chose them on the largest store.
sed -n 's/^plan \([^:]*\): \(.*\)/\1\t\2/p' "$last" | while IFS='	' read -r name p; do
	out "$(printf 'query plan: %s\t%s\tplan\tindex search\t%s' "$name" "$p" "$(case "$p" in *SCAN*) echo no ;; *) echo yes ;; esac)")"
done
