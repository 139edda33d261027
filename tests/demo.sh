#!/bin/sh
# make demo: the whole chain on loopback with the embedded defaults. smswake-server (SQLite in a
# fresh data directory), smswake-modem-sim with one gateway modem and three device modems,
# smswake-gateway on the gateway modem, and three `smswake-client run` devices on theirs. A
# provider and the devices are registered as a user would (smswakectl, curl), messages of
# different urgency go in, and the output shows each wakeup SMS crossing the simulated network,
# each device's fetch, and the provider's view. Device 3's modem loses its network, so its
# message arrives by polling. DEMO_KEEP=1 leaves everything running.
set -eu
O=${O:-build}
DEMO=${DEMO_DIR:-$(pwd)/demo-data}
rm -rf "$DEMO"
mkdir -p "$DEMO"
SIM_RUN=$DEMO/sim
pids=""
cleanup() {
	[ "${DEMO_KEEP:-0}" = 1 ] && return
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bold() { printf '\n\033[1m%s\033[0m\n' "$*"; }
show() { printf '  $ %s\n' "$*"; }
wait_for() { n=$(($1 * 5)); shift; while [ "$n" -gt 0 ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; n=$((n - 1)); done; return 1; }
ctl() { "$O/smswake-modem-sim" --ctl "$SIM_RUN" "$@"; }
received() { ctl received "$1" | grep -c 'pdu=' || true; }

GW=+15550000001
D1=+15550000101
D2=+15550000102
D3=+15550000103

bold "1. A simulated GSM network: gateway modem $GW, device modems $D1 $D2 $D3"
"$O/smswake-modem-sim" -d "$SIM_RUN" -m $GW -m $D1 -m $D2 -m $D3 >"$DEMO/sim.log" 2>&1 &
pids="$pids $!"
wait_for 10 test -f "$SIM_RUN/pid"
ctl list | grep -v '^OK' | sed 's/^/  /' | cut -c1-100

bold "2. smswake-server with its defaults (SQLite in $DEMO/data)"
cat >"$DEMO/smswake.conf" <<CONF
[server]
listen = 127.0.0.1:0
data_dir = $DEMO/data
[scheduler]
tick_ms = 100
CONF
show "smswakectl provider add demo; smswakectl gateway add gw1"
KEY=$("$O/smswakectl" -c "$DEMO/smswake.conf" provider add demo)
GWTOKEN=$("$O/smswakectl" -c "$DEMO/smswake.conf" gateway add gw1)
"$O/smswake-server" -c "$DEMO/smswake.conf" 2>"$DEMO/server.log" &
pids="$pids $!"
wait_for 10 test -s "$DEMO/data/ports"
URL="http://127.0.0.1:$(awk '{print $2; exit}' "$DEMO/data/ports")"
wait_for 10 curl -fs "$URL/healthz"
echo "  listening on $URL"

bold "3. smswake-gateway on the gateway modem (Gammu's AT driver)"
cat >"$DEMO/gateway.conf" <<CONF
[gateway]
server = $URL
token = $GWTOKEN
lease_wait = 10s
[modem gw1]
device = $SIM_RUN/modem-$GW
connection = at
model = at
per_minute = 20
CONF
"$O/smswake-gateway" -c "$DEMO/gateway.conf" 2>"$DEMO/gateway.log" &
pids="$pids $!"

bold "4. Registering three devices (curl), each with smswake-client on its own modem"
cat >"$DEMO/handler.sh" <<'H'
#!/bin/sh
printf '  \033[32m[%s] handler got message %s (seq %s, %s): %s\033[0m\n' "$DEMO_DEVICE" \
	"$SMSWAKE_MESSAGE_ID" "$SMSWAKE_SEQ" "$SMSWAKE_URGENCY" "$(cat)"
H
chmod +x "$DEMO/handler.sh"
n=0
for d in $D1 $D2 $D3; do
	n=$((n + 1))
	poll=3600
	[ "$d" = "$D3" ] && poll=20
	[ "$n" = 1 ] && show "curl -H 'Authorization: Bearer \$KEY' -d '{\"msisdn\":\"$d\",\"poll_interval\":$poll}' $URL/v1/devices"
	curl -fsS -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
		-d "{\"msisdn\":\"$d\",\"name\":\"device $n\",\"poll_interval\":$poll}" "$URL/v1/devices" >"$DEMO/reg$n.json"
	eval "ID$n=\$(sed -n 's/.*\"id\":\\([0-9]*\\).*/\\1/p' \"$DEMO/reg$n.json\")"
	"$O/smswake-client" provision --server "$URL" --state "$DEMO/client$n.state" --handler "$DEMO/handler.sh" \
		<"$DEMO/reg$n.json" >"$DEMO/client$n.conf"
	printf '[modem]\ndevice = %s/modem-%s\nconnection = at\nmodel = at\n' "$SIM_RUN" "$d" >>"$DEMO/client$n.conf"
	DEMO_DEVICE="device $n" "$O/smswake-client" -c "$DEMO/client$n.conf" run 2>"$DEMO/client$n.log" &
	pids="$pids $!"
	echo "  device $n: $d, id $(eval echo \$ID$n), polls every ${poll}s; smswake-client run (log $DEMO/client$n.log)"
done
wait_for 30 grep -q "healthy" "$DEMO/gateway.log" || echo "  (the gateway modem is slow to come up)"
sleep 4 # let the device modems open

bold "5. Device 3's modem loses its network: SMS to it will not arrive"
show "smswake-modem-sim --ctl $SIM_RUN set $D3 registered 0"
ctl set $D3 registered 0 >/dev/null

bold "6. The provider submits messages"
submit() {
	show "curl -H 'Urgency: $2' -d '$3' $URL/v1/devices/$1/messages"
	curl -fsS -H "Authorization: Bearer $KEY" -H "Urgency: $2" -H 'Content-Type: text/plain' -d "$3" \
		"$URL/v1/devices/$1/messages" | sed -n 's/^{"id":\([0-9]*\).*"seq":\([0-9]*\).*"state":"\([a-z_]*\)".*/    -> 201 Created: message \1, seq \2, \3/p'
	echo
}
submit "$ID1" high "open valve 3"
submit "$ID2" low "tariff 2027 (waits for the next fetch)"
submit "$ID2" normal "new schedule"
submit "$ID3" high "reboot at 02:00"

bold "7. Wakeup SMS on the simulated network"
wait_for 30 test "$(received $D2)" -ge 1 || true
sleep 3
ctl sent $GW | grep 'pdu=' | sed 's/^time=[0-9.]* peer=\([^ ]*\) .* dport=\([0-9]*\) .*/  gateway modem -> \1: 8-bit SMS to port \2, 36-octet authenticated payload/'
for d in $D1 $D2 $D3; do echo "  $d received $(received $d) SMS"; done

bold "8. Devices 1 and 2 woke on their SMS, verified it, fetched and acknowledged"
echo "  Device 3 got no SMS; its own poll (every 20 s) fetches the message instead:"
wait_for 40 sh -c "curl -fsS -H 'Authorization: Bearer $KEY' $URL/v1/devices/$ID3 | grep -q '\"pending\":0'" &&
	echo "  device 3's message is acknowledged" || echo "  device 3 has not polled yet"
echo "  The low-urgency message to device 2 sent no SMS of its own: it came with device 2's fetch."

bold "9. The provider's view"
for n in 1 2 3; do
	id=$(eval echo \$ID$n)
	show "curl -H 'Authorization: Bearer \$KEY' $URL/v1/devices/$id"
	curl -fsS -H "Authorization: Bearer $KEY" "$URL/v1/devices/$id" |
		sed 's/.*"msisdn":"\([^"]*\)".*"pending":\([0-9]*\).*"acked_seq":\([0-9]*\).*"wake_state":"\([a-z_]*\)".*/    \1: pending \2, acked up to seq \3, wake state \4/'
	echo
done
show "curl -H 'Authorization: Bearer \$KEY' $URL/v1/messages/1"
curl -fsS -H "Authorization: Bearer $KEY" "$URL/v1/messages/1" | tr '{' '\n' | grep '"event"' |
	sed 's/.*"at":"\([^"]*\)","event":"\([a-z_]*\)".*/    \1  \2/'

bold "Done"
if [ "${DEMO_KEEP:-0}" = 1 ]; then
	echo "Everything keeps running (pids$pids). Try:"
	echo "  curl -H 'Authorization: Bearer $KEY' -H 'Urgency: high' -d hello $URL/v1/devices/$ID1/messages"
	echo "  $O/smswake-modem-sim --ctl $SIM_RUN received $D1"
	echo "  kill$pids    # to stop"
else
	echo "Next: DEMO_KEEP=1 make demo keeps it all running so you can submit your own messages."
	echo "Logs are in $DEMO/*.log; the API is in docs/api.md, operations in docs/operations.md."
fi
