#!/bin/sh
# HTTP throughput on one machine, all with wrk (2 threads, 64 keep-alive connections):
# durable message submits, empty device polls (204), and a libmicrohttpd hello-world baseline
# that keeps its connections open as smswake-server does.
#
# The machine's own speed drifts by a third within minutes, so a ratio is taken only between
# runs made back to back: the benchmark goes in rounds (BENCH_ROUNDS, 5), each measuring the
# hello-world (2 and 8 threads, the better counts), then submits, then polls, BENCH_SECONDS (3)
# each. Each round gives its own two ratios; the median round's is the figure, and every round's
# is printed beside it.
#
# Each round also measures the hello-world built as smswake-server builds a durable write: each
# request suspended once read, and resumed from a second thread in groups after this disk's
# sync latency (dd oflag=dsync of 8 KiB here), with no work and no write. Its ratio to the plain
# hello-world is the ceiling of that design on this machine; submits are also given against it.
#
# A figure counts only if it was measured over kept-alive connections with every answer 2xx.
# Before each wrk run the subject is asked twice over one connection (curl): an answer with
# "Connection: close", a second request that needed a new connection, or a non-2xx status
# stops the benchmark with an error. After the run, any non-2xx answer or socket error does
# too. A short second run through bench/tcpcount counts TCP connections opened against
# requests answered, printed as a row of its own.
set -eu
O=${O:-build}
. bench/lib_http.sh
DUR=${BENCH_SECONDS:-3}
ROUNDS=${BENCH_ROUNDS:-5}
dir=$(mktemp -d)
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT
out() { printf '%s\n' "$1" >>"${BENCH_RESULTS:-/dev/stdout}"; }

# keepalive_check NAME URL [CURL ARGS...]: two requests on one connection, both 2xx, the
# second on the first's connection, and no "Connection: close" in either answer.
keepalive_check() {
	name=$1 url=$2
	shift 2
	curl -s -D "$dir/ka.hdr" -o /dev/null -o /dev/null -w '%{http_code} %{num_connects}\n' "$@" "$url" "$url" >"$dir/ka.txt" ||
		die "$name: request failed"
	if grep -qi '^connection: *close' "$dir/ka.hdr"; then
		die "$name answers 'Connection: close': a figure over new connections is no keep-alive figure"
	fi
	awk -v n="$name" '
		$1 !~ /^2/ { print "bench-http: " n " answers HTTP " $1 " (not 2xx)"; bad = 1 }
		NR == 2 && $2 != 0 { print "bench-http: " n " needed a new connection for its second request"; bad = 1 }
		END { if (NR != 2) { print "bench-http: " n ": expected two answers"; bad = 1 } exit bad }' "$dir/ka.txt" >&2 ||
		exit 1
}

# conns_per_request NAME PORT PATH [LUA]: 2 s of wrk (16 connections) through bench/tcpcount;
# wrk opens one more connection before its run to check the address, so 17 is all kept alive;
# sets cpr_conns and cpr_reqs.
conns_per_request() {
	name=$1 port=$2 path=$3 lua=${4:-}
	rm -f "$dir/tc.port" "$dir/tc.stats"
	"$O/bench/tcpcount" "$port" "$dir/tc.port" "$dir/tc.stats" &
	tcpid=$!
	pids="$pids $tcpid"
	for i in $(seq 100); do [ -s "$dir/tc.port" ] && break; sleep 0.05; done
	[ -s "$dir/tc.port" ] || die "tcpcount did not start"
	if [ -n "$lua" ]; then
		wrk_checked "$name (through tcpcount)" "$dir/tc.txt" -t2 -c16 -d2s -s "$lua" "http://127.0.0.1:$(cat "$dir/tc.port")$path"
	else
		wrk_checked "$name (through tcpcount)" "$dir/tc.txt" -t2 -c16 -d2s "http://127.0.0.1:$(cat "$dir/tc.port")$path"
	fi
	kill "$tcpid"
	wait "$tcpid" 2>/dev/null || true
	pids=$(echo "$pids" | sed "s/ $tcpid\$//")
	cpr_conns=$(awk '{print $4}' "$dir/tc.stats")
	cpr_reqs=$(reqs "$dir/tc.txt")
}

cat >"$dir/smswake.conf" <<CONF
[server]
listen = 127.0.0.1:0
data_dir = $dir/data
log_level = warn
# One device takes every submit: no cap on what waits for it (max_pending).
max_pending = 0
# Every client of this benchmark is 127.0.0.1: room for wrk's 256 connections.
per_ip_connection_limit = 1024
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
http_fixture "$base" "$key" "$dir"

post_url="$base/v1/devices/$dev/messages"
poll_url="$base/v1/device/messages"
keepalive_check "durable submit" "$post_url" -H "Authorization: Bearer $key" -H 'Content-Type: text/plain' -d 'keep-alive check'
keepalive_check "empty poll" "$poll_url" -H "Authorization: Bearer $tok2"

# The baselines run beside the server, each in its own process, idle between their rounds.
for threads in 2 8; do
	"$O/bench/hello" "$threads" >"$dir/hello$threads.port" &
	pids="$pids $!"
	for i in $(seq 100); do [ -s "$dir/hello$threads.port" ] && break; sleep 0.05; done
	[ -s "$dir/hello$threads.port" ] || die "hello-world ($threads threads) did not start"
	keepalive_check "hello-world ($threads threads)" "http://127.0.0.1:$(cat "$dir/hello$threads.port")/"
done
hport=$(cat "$dir/hello2.port")

# This disk's sync latency: 200 writes of 8 KiB, each with O_DSYNC, beside the server's data.
sync_us=$(LC_ALL=C dd if=/dev/zero of="$dir/dsync" bs=8k count=200 oflag=dsync 2>&1 |
	sed -n 's/.* copied, \([0-9.e+-]*\) s,.*/\1/p' | awk '{printf "%d", $1 * 1000000 / 200}')
rm -f "$dir/dsync"
[ "${sync_us:-0}" -gt 0 ] || die "cannot measure the disk's sync latency with dd"
"$O/bench/hello" 8 "$sync_us" >"$dir/hellog.port" &
pids="$pids $!"
for i in $(seq 100); do [ -s "$dir/hellog.port" ] && break; sleep 0.05; done
[ -s "$dir/hellog.port" ] || die "hello-world in groups did not start"
hgurl="http://127.0.0.1:$(cat "$dir/hellog.port")/"
keepalive_check "hello-world in groups" "$hgurl" -d 'keep-alive check'

# One round per line of $dir/rounds: hello-world (the better of 2 and 8 threads), submits, polls.
: >"$dir/rounds"
for r in $(seq "$ROUNDS"); do
	for threads in 2 8; do
		wrk_checked "hello-world ($threads threads)" "$dir/hello$threads.txt" -t2 -c64 -d"${DUR}s" \
			"http://127.0.0.1:$(cat "$dir/hello$threads.port")/"
	done
	wrk_checked "durable submits" "$dir/post.txt" -t2 -c64 -d"${DUR}s" --latency -s "$dir/post.lua" "$post_url"
	wrk_checked "empty polls" "$dir/poll.txt" -t2 -c64 -d"${DUR}s" --latency -s "$dir/poll.lua" "$poll_url"
	wrk_checked "hello-world in groups" "$dir/hellog.txt" -t2 -c64 -d"${DUR}s" -s "$dir/post.lua" "$hgurl"
	echo "$(rps "$dir/hello2.txt") $(rps "$dir/hello8.txt") $(rps "$dir/post.txt") $(rps "$dir/poll.txt")" \
		"$(rps "$dir/hellog.txt")" >>"$dir/rounds"
done
# Submits at 1, 8, 64 and 256 connections: throughput and p99 (wrk's latency distribution).
for c in 1 8 64 256; do
	t=2
	[ "$c" -ge 2 ] || t=1
	wrk_checked "durable submits, $c connections" "$dir/post$c.txt" -t$t -c$c -d"${SCALE_SECONDS:-3}s" --latency -s "$dir/post.lua" "$post_url"
done

# Bytes this server process caused to be written to disk per accepted message (/proc/PID/io
# write_bytes: what reaches the block layer, WAL and checkpoints included), and what it passed
# to write(2) (wchar), over a 64-connection run.
spid=$(echo $pids | awk '{print $1}')
io() { awk -v k="$1" '$1 == k":" {print $2}' "/proc/$spid/io"; }
wb0=$(io write_bytes) wc0=$(io wchar)
wrk_checked "durable submits (I/O)" "$dir/postio.txt" -t2 -c64 -d"${SCALE_SECONDS:-3}s" -s "$dir/post.lua" "$post_url"
sleep 1 # let the last group's pages reach the block layer
wb1=$(io write_bytes) wc1=$(io wchar)
io_reqs=$(reqs "$dir/postio.txt")

# fsync(2) and fdatasync(2) per accepted message, counted by strace over a short 64-connection
# run (strace slows the server down: this run's rate is not a throughput figure).
fsyncs=-
if command -v strace >/dev/null 2>&1; then
	strace -f -c -o "$dir/strace.txt" -e trace=fsync,fdatasync -p "$spid" 2>/dev/null &
	stpid=$!
	pids="$pids $stpid"
	sleep 1
	wrk_checked "durable submits (strace)" "$dir/poststrace.txt" -t2 -c64 -d2s -s "$dir/post.lua" "$post_url"
	kill -INT "$stpid"
	wait "$stpid" 2>/dev/null || true
	pids=$(echo "$pids" | sed "s/ $stpid\$//")
	nsync=$(awk '$NF == "fsync" || $NF == "fdatasync" {n += $4} END {print n + 0}' "$dir/strace.txt")
	fsyncs=$(awk -v a="$nsync" -v b="$(reqs "$dir/poststrace.txt")" 'BEGIN{printf "%.3f", a/b}')
fi
groups=$(curl -fs "$base/metrics" | awk '$1 == "smswake_store_commits_total" {c = $2} $1 == "smswake_store_committed_ops_total" {o = $2} END {printf "%.1f", o / c}')

conns_per_request "durable submits" "$port" "/v1/devices/$dev/messages" "$dir/post.lua"
post_conns=$cpr_conns post_reqs=$cpr_reqs
conns_per_request "empty polls" "$port" "/v1/device/messages" "$dir/poll.lua"
poll_conns=$cpr_conns poll_reqs=$cpr_reqs
conns_per_request "hello-world" "$hport" "/"
hello_conns=$cpr_conns hello_reqs=$cpr_reqs
kill $pids
wait $pids 2>/dev/null || true
pids=""

# Per round: the baseline (better of 2 and 8 threads) and both ratios; then the median round's
# figures (by each ratio) and every round's ratio in order.
awk '{ h = ($1 > $2) ? $1 : $2; printf "%.0f %.0f %.0f %.4f %.4f %.0f %.4f %.4f\n", h, $3, $4, $3 / h, $4 / h, $5, $5 / h, $3 / $5 }' \
	"$dir/rounds" >"$dir/ratios"
median_of() { sort -n -k"$1" "$dir/ratios" | awk -v n="$ROUNDS" 'NR == int((n + 1) / 2)'; }
hello=$(median_of 4 | awk '{print $1}')
post=$(median_of 4 | awk '{print $2}')
r_post=$(median_of 4 | awk '{printf "%.2f", $4}')
poll=$(median_of 5 | awk '{print $3}')
r_poll=$(median_of 5 | awk '{printf "%.2f", $5}')
hello_poll=$(median_of 5 | awk '{print $1}')
rounds_post=$(awk '{printf "%s%.2f", (NR > 1 ? " " : ""), $4}' "$dir/ratios")
rounds_poll=$(awk '{printf "%s%.2f", (NR > 1 ? " " : ""), $5}' "$dir/ratios")
r_group=$(median_of 7 | awk '{printf "%.2f", $7}')
rounds_group=$(awk '{printf "%s%.2f", (NR > 1 ? " " : ""), $7}' "$dir/ratios")
r_post_group=$(median_of 8 | awk '{printf "%.2f", $8}')
rounds_post_group=$(awk '{printf "%s%.2f", (NR > 1 ? " " : ""), $8}' "$dir/ratios")
p99() { sed -n 's/^ *99% *\([0-9.]*[a-z]*\).*/\1/p' "$1"; }
met() { awk -v r="$1" -v g="$2" 'BEGIN{print (r>=g)?"yes":"no"}'; }
cpr() { awk -v c="$1" -v r="$2" 'BEGIN{printf "%d/%d", c, r}'; }
out "$(printf 'HTTP hello-world baseline (keep-alive, better of 2 and 8 threads; median round)\t%.0f\treq/s\t-\t-' "$hello")"
out "$(printf 'durable submits POST /v1/devices/{id}/messages (median round; p99 %s in the last round)\t%.0f\treq/s\t-\t-' "$(p99 "$dir/post.txt")" "$post")"
out "$(printf 'durable submits / keep-alive hello-world, same round (median of %s)\t%s\tratio\t>= 0.35 (aim 0.5)\t%s' "$rounds_post" "$r_post" "$(met "$r_post" 0.35)")"
out "$(printf 'empty device polls 204 (median round, baseline %.0f; p99 %s in the last round)\t%.0f\treq/s\t-\t-' "$hello_poll" "$(p99 "$dir/poll.txt")" "$poll")"
out "$(printf 'empty polls / keep-alive hello-world, same round (median of %s)\t%s\tratio\t>= 0.7 (aim 0.8)\t%s' "$rounds_poll" "$r_poll" "$(met "$r_poll" 0.7)")"
out "$(printf 'hello-world suspended and resumed in groups after %s us (disk sync) / hello-world, same round (median of %s)\t%s\tratio\t-\t-' "$sync_us" "$rounds_group" "$r_group")"
out "$(printf 'durable submits / that suspended hello-world, same round (median of %s)\t%s\tratio\t-\t-' "$rounds_post_group" "$r_post_group")"
for c in 1 8 64 256; do
	out "$(printf 'durable submits at %d connections (p99 %s)\t%.0f\treq/s\t-\t-' "$c" "$(p99 "$dir/post$c.txt")" "$(rps "$dir/post$c.txt")")"
done
out "$(printf 'disk writes per accepted message (/proc/PID/io write_bytes)\t%.0f\toctets\t-\t-' "$(awk -v a="$wb0" -v b="$wb1" -v n="$io_reqs" 'BEGIN{print (b-a)/n}')")"
out "$(printf 'write(2) octets per accepted message (/proc/PID/io wchar)\t%.0f\toctets\t-\t-' "$(awk -v a="$wc0" -v b="$wc1" -v n="$io_reqs" 'BEGIN{print (b-a)/n}')")"
out "$(printf 'fsync+fdatasync calls per accepted message (strace, 64 conns)\t%s\tcalls\t-\t-' "$fsyncs")"
out "$(printf 'mean operations per group commit (whole run)\t%s\tops\t-\t-' "$groups")"
out "$(printf 'TCP connections opened / requests, hello-world (wrk -c16)\t%s\tconn/req\t<= 17/N\t%s' "$(cpr "$hello_conns" "$hello_reqs")" "$([ "$hello_conns" -le 17 ] && echo yes || echo no)")"
out "$(printf 'TCP connections opened / requests, submits (wrk -c16)\t%s\tconn/req\t<= 17/N\t%s' "$(cpr "$post_conns" "$post_reqs")" "$([ "$post_conns" -le 17 ] && echo yes || echo no)")"
out "$(printf 'TCP connections opened / requests, empty polls (wrk -c16)\t%s\tconn/req\t<= 17/N\t%s' "$(cpr "$poll_conns" "$poll_reqs")" "$([ "$poll_conns" -le 17 ] && echo yes || echo no)")"
