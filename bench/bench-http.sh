#!/bin/sh
# HTTP throughput on one machine, all with wrk (2 threads, 64 keep-alive connections):
# durable message submits, empty device polls (204), and a libmicrohttpd hello-world baseline.
set -eu
O=${O:-build}
DUR=${BENCH_SECONDS:-5}
dir=$(mktemp -d)
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT

cat >"$dir/smswake.conf" <<CONF
[server]
listen = 127.0.0.1:0
data_dir = $dir/data
log_level = warn
[scheduler]
enabled = no
CONF
key=$("$O/smswakectl" -c "$dir/smswake.conf" provider add bench)
"$O/smswake-server" -c "$dir/smswake.conf" 2>"$dir/server.log" &
pids="$pids $!"
for i in $(seq 100); do [ -s "$dir/data/ports" ] && break; sleep 0.05; done
port=$(awk '{print $2; exit}' "$dir/data/ports")
base="http://127.0.0.1:$port"
for i in $(seq 100); do curl -fs "$base/healthz" >/dev/null && break; sleep 0.05; done
reg=$(curl -fs -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
	-d '{"msisdn":"+15550100000","poll_interval":900}' "$base/v1/devices")
dev=$(echo "$reg" | sed -n 's/.*"id":\([0-9]*\).*/\1/p')
tok=$(echo "$reg" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
# A second device, never sent anything, for empty polls.
reg2=$(curl -fs -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
	-d '{"msisdn":"+15550100001","poll_interval":900}' "$base/v1/devices")
tok2=$(echo "$reg2" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')

cat >"$dir/post.lua" <<LUA
wrk.method = "POST"
wrk.body = "meter reading request 0123456789"
wrk.headers["Authorization"] = "Bearer $key"
wrk.headers["Content-Type"] = "text/plain"
LUA
cat >"$dir/poll.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $tok2"
LUA

rps() { sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$1"; }
non2xx() { sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' "$1"; }

wrk -t2 -c64 -d"${DUR}s" -s "$dir/post.lua" "$base/v1/devices/$dev/messages" >"$dir/post.txt"
wrk -t2 -c64 -d"${DUR}s" -s "$dir/poll.lua" "$base/v1/device/messages" >"$dir/poll.txt"
kill $pids; wait $pids 2>/dev/null || true
pids=""

# The baseline is the better of a 2-thread pool and the server's own 8: the stricter ratio.
hello=0
for threads in 2 8; do
	rm -f "$dir/hello.port"
	"$O/bench/hello" "$threads" >"$dir/hello.port" &
	pids="$!"
	for i in $(seq 100); do [ -s "$dir/hello.port" ] && break; sleep 0.05; done
	wrk -t2 -c64 -d"${DUR}s" "http://127.0.0.1:$(cat "$dir/hello.port")/" >"$dir/hello.txt"
	kill $pids; wait $pids 2>/dev/null || true
	pids=""
	hello=$(awk -v a="$hello" -v b="$(rps "$dir/hello.txt")" 'BEGIN{print (b>a)?b:a}')
done

post=$(rps "$dir/post.txt"); poll=$(rps "$dir/poll.txt")
bad_post=$(non2xx "$dir/post.txt"); bad_poll=$(non2xx "$dir/poll.txt")
# Every submit must have been a 201 and every poll a 204 for the figures to count.
[ -z "$bad_post" ] || echo "warning: $bad_post submits were not 2xx" >&2
[ -z "$bad_poll" ] || echo "warning: $bad_poll polls were not 2xx" >&2
r_post=$(awk -v a="$post" -v b="$hello" 'BEGIN{printf "%.2f", a/b}')
r_poll=$(awk -v a="$poll" -v b="$hello" 'BEGIN{printf "%.2f", a/b}')
met() { awk -v r="$1" -v g="$2" 'BEGIN{print (r>=g)?"yes":"no"}'; }
{
	printf 'HTTP hello-world baseline (libmicrohttpd, best of 2 and 8 threads)\t%.0f\treq/s\t-\t-\n' "$hello"
	printf 'durable submits POST /v1/devices/{id}/messages\t%.0f\treq/s\t-\t-\n' "$post"
	printf 'durable submits / hello-world\t%s\tratio\t>= 0.25\t%s\n' "$r_post" "$(met "$r_post" 0.25)"
	printf 'empty device polls (204)\t%.0f\treq/s\t-\t-\n' "$poll"
	printf 'empty polls / hello-world\t%s\tratio\t>= 0.6\t%s\n' "$r_poll" "$(met "$r_poll" 0.6)"
} >>"${BENCH_RESULTS:-/dev/stdout}"
