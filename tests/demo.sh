#!/bin/sh
# make demo: runs smswake on loopback with its embedded defaults (SQLite in a fresh data
# directory) and shows a message going in and coming out, as a user would drive it with curl.
# DEMO_KEEP=1 leaves the server running and prints how to stop it.
set -eu
O=${O:-build}
DEMO=${DEMO_DIR:-$(pwd)/demo-data}
rm -rf "$DEMO"
mkdir -p "$DEMO"
pids=""
cleanup() {
	[ "${DEMO_KEEP:-0}" = 1 ] && return
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; }

cat >"$DEMO/smswake.conf" <<CONF
[server]
listen = 127.0.0.1:0
data_dir = $DEMO/data
CONF

say "Creating a provider key with smswakectl"
show "smswakectl -c $DEMO/smswake.conf provider add demo"
KEY=$("$O/smswakectl" -c "$DEMO/smswake.conf" provider add demo)
echo "provider key: ${KEY%"${KEY#????????}"}... (printed once, stored hashed)"

say "Starting smswake-server (log: $DEMO/server.log)"
"$O/smswake-server" -c "$DEMO/smswake.conf" 2>"$DEMO/server.log" &
pids="$pids $!"
for i in $(seq 100); do [ -s "$DEMO/data/ports" ] && break; sleep 0.05; done
PORT=$(awk '{print $2; exit}' "$DEMO/data/ports")
URL="http://127.0.0.1:$PORT"
for i in $(seq 100); do curl -fs "$URL/healthz" >/dev/null && break; sleep 0.05; done
echo "listening on $URL"

say "Registering a device"
show "curl -H 'Authorization: Bearer \$KEY' -d '{\"msisdn\":\"+15550000001\",\"poll_interval\":900}' $URL/v1/devices"
REG=$(curl -fsS -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
	-d '{"msisdn":"+15550000001","name":"demo meter","poll_interval":900}' "$URL/v1/devices")
echo "$REG" | sed 's/"token":"[^"]*"/"token":"swd_..."/; s/"wake_key":"[^"]*"/"wake_key":"..."/'
DEV=$(echo "$REG" | sed -n 's/.*"id":\([0-9]*\).*/\1/p')
TOK=$(echo "$REG" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')

say "Submitting two messages"
show "curl -H 'Urgency: high' -H 'Content-Type: text/plain' -d 'open valve 3' $URL/v1/devices/$DEV/messages"
M1=$(curl -fsS -H "Authorization: Bearer $KEY" -H 'Urgency: high' -H 'Content-Type: text/plain' \
	-d 'open valve 3' "$URL/v1/devices/$DEV/messages")
echo "$M1"
show "curl -H 'Urgency: low' -H 'Topic: tariff' -d 'tariff 2027' $URL/v1/devices/$DEV/messages"
curl -fsS -H "Authorization: Bearer $KEY" -H 'Urgency: low' -H 'Topic: tariff' -H 'Content-Type: text/plain' \
	-d 'tariff 2027' "$URL/v1/devices/$DEV/messages"
echo
MID=$(echo "$M1" | sed -n 's/.*"id":\([0-9]*\).*/\1/p')

say "The device fetches everything queued for it"
show "curl -H 'Authorization: Bearer \$DEVICE_TOKEN' $URL/v1/device/messages?after=0"
curl -fsS -H "Authorization: Bearer $TOK" "$URL/v1/device/messages?after=0"
echo
say "... and acknowledges up to sequence 2"
show "curl -H 'Authorization: Bearer \$DEVICE_TOKEN' -d '{\"seq\":2}' $URL/v1/device/ack"
curl -fsS -o /dev/null -w 'HTTP %{http_code}\n' -H "Authorization: Bearer $TOK" -H 'Content-Type: application/json' \
	-d '{"seq":2}' "$URL/v1/device/ack"
show "curl -H 'Authorization: Bearer \$DEVICE_TOKEN' $URL/v1/device/messages?after=2"
curl -sS -o /dev/null -w 'HTTP %{http_code} (nothing pending, no body)\n' -H "Authorization: Bearer $TOK" \
	"$URL/v1/device/messages?after=2"

say "The provider's view of the first message"
show "curl -H 'Authorization: Bearer \$KEY' $URL/v1/messages/$MID"
curl -fsS -H "Authorization: Bearer $KEY" "$URL/v1/messages/$MID"
echo

say "Done"
if [ "${DEMO_KEEP:-0}" = 1 ]; then
	echo "The server keeps running (pid$pids). Try:"
	echo "  export KEY=$KEY"
	echo "  curl -H \"Authorization: Bearer \$KEY\" -d 'hello' $URL/v1/devices/$DEV/messages"
	echo "  kill$pids    # to stop it"
else
	echo "Next: DEMO_KEEP=1 make demo keeps the server running; the API is in docs/api.md;"
	echo "the server's log is $DEMO/server.log."
fi
