#!/bin/sh
# How many idle device long-polls one server holds, and the server's memory per waiting
# long-poll, over plain HTTP and over TLS: N long-polls wait at once; the server's resident
# memory is read before and while they wait. Over plain HTTP, durable submits to another device
# are also measured (wrk -t2 -c64) before the long-polls and while they wait: what a submit
# costs must not grow with the number of devices waiting.
set -eu
. bench/lib_http.sh
O=${O:-build}
SECS=${BENCH_SECONDS:-3}
RESULTS=${BENCH_RESULTS:-/dev/stdout}
N=${BENCH_LONGPOLLS:-10000}
NTLS=${BENCH_LONGPOLLS_TLS:-2000}
dir=$(mktemp -d)
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/key.pem" -out "$dir/cert.pem" -days 2 \
	-subj '/CN=127.0.0.1' >/dev/null 2>&1

# submits DIR URL: durable submits (DIR/post.lua), wrk's report in DIR/wrk.out; stops the
# benchmark unless every answer was 2xx with no socket error.
submits()
{
	wrk_checked "durable submits" "$1/wrk.out" -t2 -c64 -d"${SECS}s" -s "$1/post.lua" "$2"
}

# run MODE COUNT: one server, COUNT long-polls; appends the figures.
run()
{
	mode=$1
	count=$2
	d=$dir/$mode
	mkdir -p "$d"
	{
		printf '[server]\nlisten = 127.0.0.1:0\ndata_dir = %s/data\nlog_level = warn\n' "$d"
		printf 'connection_limit = %s\nper_ip_connection_limit = 0\nper_ip_longpoll_limit = 0\n' $((count + 200))
		printf 'max_wait = 300\nrequest_timeout = 60\nmax_pending = 0\n'
		[ "$mode" = tls ] && printf 'tls_cert = %s/cert.pem\ntls_key = %s/key.pem\n' "$dir" "$dir"
		printf '[scheduler]\nenabled = no\n'
	} >"$d/smswake.conf"
	key=$("$O/smswakectl" -c "$d/smswake.conf" provider add bench)
	"$O/smswake-server" -c "$d/smswake.conf" 2>"$d/server.log" &
	srv=$!
	pids="$srv $pids"
	for i in $(seq 100); do [ -s "$d/data/ports" ] && break; sleep 0.05; done
	port=$(awk '{print $2; exit}' "$d/data/ports")
	scheme=http
	[ "$mode" = tls ] && scheme=https
	base="$scheme://127.0.0.1:$port"
	for i in $(seq 100); do curl -fsk "$base/healthz" >/dev/null && break; sleep 0.05; done
	if [ "$mode" = plain ]; then
		# A device to submit to, and the long-polls' device ($tok2).
		http_fixture "$base" "$key" "$d"
		tok=$tok2
		submits "$d" "$base/v1/devices/$dev/messages"
		sub0=$(rps "$d/wrk.out")
	else
		tok=$(curl -fsk -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
			-d '{"msisdn":"+15550100000","poll_interval":900}' "$base/v1/devices" |
			sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
	fi
	# Warm up threads and the store, then the baseline.
	for i in $(seq 50); do curl -fsk -o /dev/null -H "Authorization: Bearer $tok" "$base/v1/device/messages"; done
	before=$(awk '/^VmRSS/ {print $2}' "/proc/$srv/status")
	"$O/bench/longpolls" "$port" "$tok" "$count" 200 120 $([ "$mode" = tls ] && echo tls) >"$d/opened" &
	client=$!
	pids="$client $pids"
	waiting=0
	for i in $(seq 1200); do
		waiting=$(curl -fsk "$base/metrics" | sed -n 's/^smswake_longpoll_waiting{api="device"} \([0-9]*\)$/\1/p')
		[ "${waiting:-0}" -ge "$count" ] && break
		sleep 0.1
	done
	after=$(awk '/^VmRSS/ {print $2}' "/proc/$srv/status")
	per=$(((after - before) * 1024 / (waiting > 0 ? waiting : 1)))
	echo "$mode: long-polls waiting: $waiting of $count; server RSS $before kB -> $after kB; $per octets each" >&2
	if [ "$mode" = plain ]; then
		submits "$d" "$base/v1/devices/$dev/messages"
		sub1=$(rps "$d/wrk.out")
		still=$(curl -fs "$base/metrics" | sed -n 's/^smswake_longpoll_waiting{api="device"} \([0-9]*\)$/\1/p')
		echo "durable submits/s: $sub0 with no long-poll waiting, $sub1 with $still waiting" >&2
		printf 'durable submits while %s long-polls wait / with none (same server, wrk -t2 -c64)\t%s\tratio\t>= 0.5\t%s\n' \
			"$count" "$(awk -v a="$sub1" -v b="$sub0" 'BEGIN{printf "%.2f", (b > 0 ? a / b : 0)}')" \
			"$(awk -v a="$sub1" -v b="$sub0" -v w="${still:-0}" -v n="$count" \
				'BEGIN{print (b > 0 && a / b >= 0.5 && w >= n) ? "yes" : "no"}')" >>"$RESULTS"
	fi
	kill "$client" "$srv" 2>/dev/null || true
	wait "$client" "$srv" 2>/dev/null || true
	if [ "$mode" = plain ]; then
		printf 'idle device long-polls held by one server (fd limit %s)\t%s\tpolls\t>= %s\t%s\n' "$(ulimit -Hn)" \
			"$waiting" "$count" "$([ "$waiting" -ge "$count" ] && echo yes || echo no)" >>"$RESULTS"
	fi
	printf 'server memory per waiting long-poll (%s)\t%s\toctets\t< 65536\t%s\n' "$mode" "$per" \
		"$([ "$waiting" -ge "$count" ] && [ "$per" -lt 65536 ] && echo yes || echo no)" >>"$RESULTS"
}
run plain "$N"
run tls "$NTLS"
