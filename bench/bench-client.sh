#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The device side: stripped sizes of smswake-client and libsmswake, peak RSS of smswake-client
# fetching 100 messages, and octets on the wire (TCP payload both ways, counted by the
# bench/tcpcount relay between client and server) for an empty poll and for a wakeup followed by
# the fetch and ack of one 100-octet message, over HTTP and HTTPS.
set -eu
O=${O:-build}
dir=$(mktemp -d)
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT
out=${BENCH_RESULTS:-/dev/stdout}
met() { awk -v v="$1" -v g="$2" 'BEGIN{print (v < g) ? "yes" : "no"}'; }

# --- sizes ---
size_of() { stat -c %s "$1"; }
strip --strip-unneeded -o "$dir/client" "$O/smswake-client"
strip --strip-unneeded -o "$dir/lib.so" "$O/libsmswake.so.1"
# An archive keeps its symbol table and relocations (a linker needs them): what a device pays for
# it is the code and data a static link adds (text + data of its one object), shown with the goal;
# the file without debug information is shown for reference.
strip --strip-debug -o "$dir/lib.a" "$O/libsmswake.a"
c=$(size_of "$dir/client"); so=$(size_of "$dir/lib.so"); a=$(size_of "$dir/lib.a")
static=$(size "$O/client/libsmswake-all.o" | awk 'NR == 2 {print $1 + $2}')
{
	printf 'smswake-client stripped\t%d\tKiB\t-\t-\n' $((c / 1024))
	printf 'libsmswake.so stripped\t%d\tKiB\t< 100 KiB\t%s\n' $((so / 1024)) "$(met "$so" 102400)"
	printf 'libsmswake.a: code and data a static link adds\t%d\tKiB\t< 100 KiB\t%s\n' $((static / 1024)) \
		"$(met "$static" 102400)"
	printf 'libsmswake.a file without debug information\t%d\tKiB\t-\t-\n' $((a / 1024))
} >>"$out"

# --- a server with a test CA, plain and TLS listeners ---
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$dir/ca.key" \
	-out "$dir/ca.pem" -days 2 -subj '/CN=bench CA' >/dev/null 2>&1
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$dir/srv.key" \
	-out "$dir/srv.csr" -subj '/CN=127.0.0.1' >/dev/null 2>&1
printf 'subjectAltName = IP:127.0.0.1\n' >"$dir/ext"
openssl x509 -req -in "$dir/srv.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -set_serial 1 -days 2 \
	-extfile "$dir/ext" -out "$dir/srv.pem" >/dev/null 2>&1

cat >"$dir/smswake.conf" <<CONF
[server]
data_dir = $dir/data
log_level = warn
synchronous = normal
[listener plain]
listen = 127.0.0.1:0
apis = provider, device, gateway
[listener tls]
listen = 127.0.0.1:0
apis = device
tls_cert = $dir/srv.pem
tls_key = $dir/srv.key
[scheduler]
batch_window = 0s
per_hour = 0
per_day = 0
CONF
key=$("$O/smswakectl" -c "$dir/smswake.conf" provider add bench)
gw=$("$O/smswakectl" -c "$dir/smswake.conf" gateway add bench)
"$O/smswake-server" -c "$dir/smswake.conf" 2>"$dir/server.log" &
pids="$pids $!"
for i in $(seq 100); do grep -q '^tls ' "$dir/data/ports" 2>/dev/null && break; sleep 0.05; done
plain=$(sed -n 's/^plain \([0-9]*\)$/\1/p' "$dir/data/ports")
tls=$(sed -n 's/^tls \([0-9]*\)$/\1/p' "$dir/data/ports")
base="http://127.0.0.1:$plain"
for i in $(seq 100); do curl -fs "$base/healthz" >/dev/null && break; sleep 0.05; done

# relay NAME PORT: a counting relay in front of PORT, its own port in NAME.port.
relay()
{
	"$O/bench/tcpcount" "$2" "$dir/$1.port" "$dir/$1.stats" >/dev/null &
	pids="$pids $!"
	for i in $(seq 100); do [ -s "$dir/$1.port" ] && break; sleep 0.05; done
}
# octets NAME CONNS: waits until the relay saw CONNS connections close, prints up + down.
octets()
{
	for i in $(seq 100); do
		[ "$(cut -d' ' -f1 "$dir/$1.stats")" -ge "$2" ] && break
		sleep 0.05
	done
	awk '{print $2 + $3}' "$dir/$1.stats"
}
relay plain "$plain"
relay tls "$tls"
rp=$(cat "$dir/plain.port")
rt=$(cat "$dir/tls.port")

# device NAME URL: registers a device and writes NAME.conf for it, output to /dev/null.
device()
{
	curl -fs -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
		-d "{\"msisdn\":\"+1555010$(printf '%04d' "$3")\",\"poll_interval\":3600}" \
		"$base/v1/devices" >"$dir/$1.json"
	"$O/smswake-client" provision --server "$2" --state "$dir/$1.state" \
		<"$dir/$1.json" >"$dir/$1.conf"
	printf 'ca_file = %s\n' "$dir/ca.pem" >>"$dir/$1.conf"
	sed -n 's/.*"id":\([0-9]*\).*/\1/p' "$dir/$1.json"
}
submit() { curl -fs -o /dev/null -H "Authorization: Bearer $key" -H 'Content-Type: application/octet-stream' --data-binary "@$2" "$base/v1/devices/$1/messages"; }
# wakeup [N]: the next wake job's SMS (for the device with MSISDN number N if given, leaving
# other devices' jobs aside) as port header + payload in hex.
wakeup()
{
	for i in $(seq 20); do
		curl -fs -H "Authorization: Bearer $gw" -H 'Content-Type: application/json' \
			-d '{"max":1,"wait":10}' "$base/v1/gateway/lease" >"$dir/lease.json"
		[ $# -eq 0 ] || grep -q "\"msisdn\":\"+1555010$(printf '%04d' "$1")\"" "$dir/lease.json" && break
	done
	p=$(sed -n 's/.*"payload":"\([0-9a-fA-F]*\)".*/\1/p' "$dir/lease.json")
	port=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$dir/lease.json")
	printf '060504%04X%04X%s\n' "$port" "$port" "$p"
}
head -c 100 /dev/zero | tr '\0' 'x' >"$dir/msg100"

# --- wire octets: empty poll, then wakeup + fetch + ack of one 100-octet message ---
n=1
for scheme in http https; do
	if [ "$scheme" = http ]; then r=plain; url="http://127.0.0.1:$rp"; else r=tls; url="https://127.0.0.1:$rt"; fi
	id=$(device "$scheme" "$url" $n)
	n=$((n + 1))
	conns=$(cut -d' ' -f1 "$dir/$r.stats")
	before=$(octets $r "$conns")
	"$O/smswake-client" -c "$dir/$scheme.conf" poll >/dev/null
	conns=$((conns + 1))
	empty=$(($(octets $r $conns) - before))
	submit "$id" "$dir/msg100"
	w=$(wakeup)
	before=$(octets $r $conns)
	echo "$w" | "$O/smswake-client" -c "$dir/$scheme.conf" sms >/dev/null
	conns=$((conns + 1))
	fetch=$(($(octets $r $conns) - before))
	if [ "$scheme" = http ]; then
		printf 'empty poll over HTTP (request + 204)\t%d\toctets\t< 300\t%s\n' "$empty" "$(met "$empty" 300)" >>"$out"
	else
		printf 'empty poll over HTTPS (TLS handshake included)\t%d\toctets\t-\t-\n' "$empty" >>"$out"
	fi
	printf 'wakeup -> fetch + ack of one 100-octet message, %s\t%d\toctets\t-\t-\n' \
		"$(echo $scheme | tr a-z A-Z)" "$fetch" >>"$out"
done

# --- peak RSS of one fetch of 100 messages (printed as JSON lines, no handler process), over
# plain HTTP and over HTTPS (TLS handshake, certificate verification) ---
n=100
for scheme in http https; do
	if [ "$scheme" = http ]; then url=$base; else url="https://127.0.0.1:$tls"; fi
	id=$(device "rss$scheme" "$url" $n)
	for i in $(seq 100); do submit "$id" "$dir/msg100"; done
	/usr/bin/time -v -o "$dir/time.txt" "$O/smswake-client" -c "$dir/rss$scheme.conf" poll >"$dir/rss.out"
	got=$(wc -l <"$dir/rss.out")
	[ "$got" -eq 100 ] || echo "warning: fetched $got messages over $scheme, not 100" >&2
	rss=$(sed -n 's/.*Maximum resident set size (kbytes): *\([0-9]*\).*/\1/p' "$dir/time.txt")
	printf 'smswake-client peak RSS, fetch of 100 messages over %s\t%d\tKiB\t< 8192 KiB\t%s\n' \
		"$(echo $scheme | tr a-z A-Z)" "$rss" "$(met "$rss" 8192)" >>"$out"
	# The same after a wakeup SMS: verification (HKDF, HMAC) adds its share.
	for i in $(seq 100); do submit "$id" "$dir/msg100"; done
	w=$(wakeup $n)
	n=$((n + 1))
	echo "$w" | /usr/bin/time -f '%M' -o "$dir/time.txt" "$O/smswake-client" -c "$dir/rss$scheme.conf" sms >"$dir/rss.out"
	got=$(wc -l <"$dir/rss.out")
	[ "$got" -eq 100 ] || echo "warning: fetched $got messages after a wakeup over $scheme, not 100" >&2
	rss=$(cat "$dir/time.txt")
	printf 'smswake-client peak RSS, wakeup SMS + fetch of 100 over %s\t%d\tKiB\t< 8192 KiB\t%s\n' \
		"$(echo $scheme | tr a-z A-Z)" "$rss" "$(met "$rss" 8192)" >>"$out"
done
# The floor under those figures: the same program only loading its shared libraries and the file.
/usr/bin/time -f '%M' -o "$dir/time0.txt" "$O/smswake-client" -c "$dir/rsshttp.conf" -n
printf 'smswake-client peak RSS, only loading (-n)\t%d\tKiB\t-\t-\n' "$(cat "$dir/time0.txt")" >>"$out"
