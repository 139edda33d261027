#!/bin/sh
# smswake-server with its APIs split over two listeners, and its configuration checks.
. tests/integration/lib_chain.sh

cat >"$T/split.conf" <<CONF
[server]
data_dir = $T/data
[listener public]
listen = 127.0.0.1:0
apis = device
[listener internal]
listen = 127.0.0.1:0
apis = provider, gateway
[listener webpush]
listen = 127.0.0.1:0
apis = push
CONF
check "-n accepts the split configuration" "$BUILD/smswake-server" -n -c "$T/split.conf"
KEY=$("$BUILD/smswakectl" -c "$T/split.conf" provider add split)
"$BUILD/smswake-server" -c "$T/split.conf" 2>>"$T/server.log" &
SRV_PID=$!
wait_for 10 test -s "$T/data/ports" || { not_ok "server starts"; finish; }
PUB=http://127.0.0.1:$(awk '$1 == "public" {print $2}' "$T/data/ports")
INT=http://127.0.0.1:$(awk '$1 == "internal" {print $2}' "$T/data/ports")
PUSH=http://127.0.0.1:$(awk '$1 == "webpush" {print $2}' "$T/data/ports")
check "two listeners are written to the ports file" test "$PUB" != "$INT"
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
reg=$(curl -s -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' -d '{"msisdn":"+15550000777"}' "$INT/v1/devices")
tok=$(echo "$reg" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
check "provider API on the internal listener" test -n "$tok"
check "no provider API on the public listener (404)" test "$(code -H "Authorization: Bearer $KEY" "$PUB/v1/devices")" = 404
check "device API on the public listener" test "$(code -H "Authorization: Bearer $tok" "$PUB/v1/device/messages")" = 204
check "no device API on the internal listener (404)" test "$(code -H "Authorization: Bearer $tok" "$INT/v1/device/messages")" = 404
check "health on every listener" test "$(code "$PUB/healthz")$(code "$INT/healthz")" = 200200
# The Web Push endpoint only where "push" is listed (all, the default, includes it): elsewhere
# there is no such route; where it is, the handler answers for this unknown subscription.
check "no push endpoint on a listener without push" sh -c \
	"curl -s -X POST '$PUB/push/AAAAAAAAAAAAAAAAAAAAAA' | grep -q 'no such route'"
check "the push endpoint on the listener with push" sh -c \
	"curl -s -X POST '$PUSH/push/AAAAAAAAAAAAAAAAAAAAAA' | grep -q 'no such push subscription'"
server_stop

# Configuration errors name the problem and exit 1.
printf '[server]\nlisten = 127.0.0.1:0\nlisen = x\n' >"$T/typo.conf"
"$BUILD/smswake-server" -n -c "$T/typo.conf" 2>"$T/err"
check_rc "unknown key: exit 1" 1 "$BUILD/smswake-server" -n -c "$T/typo.conf"
check "unknown key: the message names the file, line and key" grep -q "typo.conf:3: unknown key 'lisen'" "$T/err"
printf '[server]\nlisten = 127.0.0.1:99999\n' >"$T/port.conf"
check_rc "bad port: exit 1" 1 "$BUILD/smswake-server" -n -c "$T/port.conf"
printf '[server]\nlisten = 127.0.0.1:0\n[scheduler]\nbatch_window = soon\n' >"$T/dur.conf"
check_rc "bad duration: exit 1" 1 "$BUILD/smswake-server" -n -c "$T/dur.conf"
check_rc "missing file: exit 1" 1 "$BUILD/smswake-server" -n -c "$T/nope.conf"
finish
