#!/bin/sh
# How many idle device long-polls one server holds, and the server's memory per waiting
# long-poll (plain HTTP): N long-polls wait at once; the server's resident memory is read
# before and while they wait.
set -eu
O=${O:-build}
N=${BENCH_LONGPOLLS:-10000}
dir=$(mktemp -d)
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT

cat >"$dir/smswake.conf" <<CONF
[server]
listen = 127.0.0.1:0
data_dir = $dir/data
log_level = warn
connection_limit = $((N + 200))
per_ip_longpoll_limit = 0
per_ip_connection_limit = 0
max_wait = 300
[scheduler]
enabled = no
CONF
key=$("$O/smswakectl" -c "$dir/smswake.conf" provider add bench)
"$O/smswake-server" -c "$dir/smswake.conf" 2>"$dir/server.log" &
srv=$!
pids="$pids $srv"
for i in $(seq 100); do [ -s "$dir/data/ports" ] && break; sleep 0.05; done
port=$(awk '{print $2; exit}' "$dir/data/ports")
base="http://127.0.0.1:$port"
for i in $(seq 100); do curl -fs "$base/healthz" >/dev/null && break; sleep 0.05; done
tok=$(curl -fs -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
	-d '{"msisdn":"+15550100000","poll_interval":900}' "$base/v1/devices" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
# Warm up threads and the store, then the baseline.
for i in $(seq 50); do curl -fs -o /dev/null -H "Authorization: Bearer $tok" "$base/v1/device/messages"; done
rss() { awk '/^VmRSS/ {print $2}' "/proc/$srv/status"; }
before=$(rss)
"$O/bench/longpolls" "$port" "$tok" "$N" 120 60 >"$dir/opened" &
pids="$! $pids"
waiting=0
for i in $(seq 600); do
	waiting=$(curl -fs "$base/metrics" | sed -n 's/^smswake_longpoll_waiting{api="device"} \([0-9]*\)$/\1/p')
	[ "${waiting:-0}" -ge "$N" ] && break
	sleep 0.1
done
after=$(rss)
curl -fs "$base/metrics" | grep -E "^smswake_connections|^smswake_longpoll" >&2 || true
echo "opened by the client: $(cat "$dir/opened")" >&2
per=$(( (after - before) * 1024 / (waiting > 0 ? waiting : 1) ))
echo "long-polls waiting: $waiting of $N; server RSS ${before} kB -> ${after} kB; ${per} octets each" >&2
printf 'idle device long-polls held by one server (fd limit %s)\t%s\tpolls\t>= %s\t%s\n' "$(ulimit -Hn)" "$waiting" "$N" \
	"$([ "$waiting" -ge "$N" ] && echo yes || echo no)" >>"$BENCH_RESULTS"
printf 'server memory per waiting long-poll (plain HTTP)\t%s\toctets\t< 65536\t%s\n' "$per" \
	"$([ "$per" -lt 65536 ] && echo yes || echo no)" >>"$BENCH_RESULTS"
