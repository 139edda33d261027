#!/bin/sh
# Where smswake-server's time goes under `wrk -t2 -c64` keep-alive: durable submits and empty
# polls, each profiled with `perf record -g` for the length of its wrk run. Prints the top of
# each `perf report` (self time, no children). Not part of `make bench`: run it by hand against
# the release build (`make`), e.g. `sh bench/profile-http.sh`. Needs perf (Debian linux-perf).
# PROFILE_CHILDREN=--children shows inclusive time instead, which needs a build that keeps frame
# pointers (CFLAGS="-O2 -g -fno-omit-frame-pointer" make O=DIR, then O=DIR); PROFILE_ONLY=submit
# or poll profiles one; PROFILE_TOP=N lines.
set -eu
O=${O:-build}
. bench/lib_http.sh
DUR=${BENCH_SECONDS:-5}
TOP=${PROFILE_TOP:-25}
dir=$(mktemp -d)
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT

cat >"$dir/smswake.conf" <<CONF
[server]
listen = 127.0.0.1:0
data_dir = $dir/data
log_level = warn
# One device takes every submit: no cap on what waits for it (max_pending).
max_pending = 0
[scheduler]
enabled = no
CONF
key=$("$O/smswakectl" -c "$dir/smswake.conf" provider add bench)
"$O/smswake-server" -c "$dir/smswake.conf" 2>"$dir/server.log" &
spid=$!
pids="$pids $spid"
for i in $(seq 100); do [ -s "$dir/data/ports" ] && break; sleep 0.05; done
port=$(awk '{print $2; exit}' "$dir/data/ports")
base="http://127.0.0.1:$port"
for i in $(seq 100); do curl -fs "$base/healthz" >/dev/null && break; sleep 0.05; done
http_fixture "$base" "$key" "$dir"

# profile NAME LUA URL
profile() {
	perf record -q -g -o "$dir/$1.data" -p "$spid" -- sleep "$DUR" 2>/dev/null &
	ppid=$!
	wrk -t2 -c64 -d"${DUR}s" -s "$2" "$3" >"$dir/$1.wrk"
	wait "$ppid" || true
	echo "== $1: $(sed -n 's/^Requests\/sec: *//p' "$dir/$1.wrk") req/s (wrk -t2 -c64 -d${DUR}s, under perf)"
	perf report -i "$dir/$1.data" ${PROFILE_CHILDREN:---no-children} --sort dso,symbol --stdio ${PROFILE_REPORT_ARGS:-} 2>/dev/null |
		grep -E '^ +[0-9.]+%' | head -n "$TOP"
}
[ -n "${PROFILE_ONLY:-}" ] && [ "$PROFILE_ONLY" != submit ] || profile submit "$dir/post.lua" "$base/v1/devices/$dev/messages"
[ -n "${PROFILE_ONLY:-}" ] && [ "$PROFILE_ONLY" != poll ] || profile poll "$dir/poll.lua" "$base/v1/device/messages"
