#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# make demo: the whole chain on loopback with the embedded defaults. smswake-server (SQLite in a
# fresh data directory), smswake-modem-sim with one gateway modem and three device modems,
# smswake-gateway on the gateway modem, and three `smswake-client run` devices on theirs. A
# provider and the devices are registered as a user would (smswakectl, curl), messages of
# different urgency go in, and the output shows each wakeup SMS crossing the simulated network,
# each device's fetch, and the provider's view. Device 3's modem loses its network, so its
# message arrives by polling.
#
# Every line shown after "$ " is the command that runs, character for character: run() prints a
# command and hands the same string to a fresh sh whose environment is only what the demo prints
# as "export" lines, so the lines paste into another shell and work. Every claim the demo prints
# is checked against the system (message events, metrics, the simulator's records) first; a
# claim that does not hold stops the demo with an error.
#
# DEMO_DIR (default ./demo-data) holds the data, logs and pid list. DEMO_KEEP=1 leaves everything
# running; `sh tests/demo.sh stop` (make demo-stop) stops it. A demo refuses to start while
# another one runs in the same DEMO_DIR.
set -eu
O=${O:-build}
SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
DEMO=${DEMO_DIR:-$(pwd)/demo-data}
case "$DEMO" in /*) ;; *) DEMO=$(pwd)/$DEMO ;; esac
PIDS_FILE=$DEMO/pids

# alive PID: the process exists and is one of ours (a recycled pid is someone else's).
alive()
{
	kill -0 "$1" 2>/dev/null && grep -q smswake "/proc/$1/cmdline" 2>/dev/null
}

# stop_all: TERM to every recorded process, then wait for them (they are not always our
# children: a kept demo's processes outlive the shell that started them).
stop_all()
{
	[ -f "$PIDS_FILE" ] || return 0
	pids=$(cat "$PIDS_FILE")
	for p in $pids; do alive "$p" && kill "$p" 2>/dev/null; done
	_tries=0
	while [ $_tries -lt 100 ]; do
		left=""
		for p in $pids; do alive "$p" && left="$left $p"; done
		[ -z "$left" ] && break
		sleep 0.2
		_tries=$((_tries + 1))
	done
	for p in $left; do kill -9 "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
	rm -f "$PIDS_FILE"
}

if [ "${1:-}" = stop ]; then
	if [ ! -f "$PIDS_FILE" ]; then
		echo "no demo is running in $DEMO"
		exit 0
	fi
	stop_all
	echo "stopped the demo in $DEMO (its data and logs stay there)"
	exit 0
fi

if [ -f "$PIDS_FILE" ]; then
	for p in $(cat "$PIDS_FILE"); do
		if alive "$p"; then
			echo "a demo is still running in $DEMO (pid $p among $(tr '\n' ' ' <"$PIDS_FILE")):" >&2
			echo "stop it first with 'make demo-stop' (or: DEMO_DIR='$DEMO' sh '$SELF' stop)" >&2
			exit 1
		fi
	done
fi
rm -rf "$DEMO"
mkdir -p "$DEMO"
: >"$PIDS_FILE"

done_ok=0
cleanup()
{
	if [ "$done_ok" = 1 ] && [ "${DEMO_KEEP:-0}" = 1 ]; then return; fi
	stop_all
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE

# The environment of every shown command, and what the demo prints for the user to export.
BIN=$(cd "$O" && pwd)
PATH=$BIN:$PATH
URL=
KEY=
export PATH

bold() { printf '\n\033[1m%s\033[0m\n' "$*"; }
say() { printf '  %s\n' "$*"; }
fail()
{
	printf '\n  demo: %s\n' "$*" >&2
	exit 1
}
# spawn LOG COMMAND...: a background process that outlives a kept demo; output to LOG only.
spawn()
{
	log=$1
	shift
	"$@" </dev/null >>"$log" 2>&1 &
	echo $! >>"$PIDS_FILE"
}
wait_for()
{
	_tries=$(($1 * 5))
	shift
	while [ "$_tries" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
		_tries=$((_tries - 1))
	done
	return 1
}
# run COMMAND: prints "$ COMMAND" and runs exactly that string in a fresh sh with the printed
# environment only. Its output is in $OUT (and $ERR); a failure stops the demo.
OUT=$DEMO/.out
ERR=$DEMO/.err
run()
{
	printf '  $ %s\n' "$1"
	if ! env -i HOME="${HOME:-/}" PATH="$PATH" DEMO="$DEMO" URL="$URL" KEY="$KEY" sh -c "$1" >"$OUT" 2>"$ERR"; then
		sed 's/^/    /' "$ERR" >&2
		fail "that command failed"
	fi
}
show() { awk '{print "    " $0}' "$OUT"; }
exports()
{
	say "export PATH=\"$BIN:\$PATH\" DEMO='$DEMO'"
	[ -n "$URL" ] && say "export URL='$URL'"
	[ -n "$KEY" ] && say "export KEY='$KEY'"
	return 0
}
ctl() { smswake-modem-sim --ctl "$DEMO/sim" "$@"; }
count_received() { ctl received "$1" | grep -c 'pdu=' || true; }
count_sent_to() { ctl sent "$GW" | grep 'pdu=' | grep -c "peer=$1 " || true; }
# message_json ID, message_state ID, has_event ID EVENT [DETAIL]: the provider's view of a message.
message_json() { curl -fsS -H "Authorization: Bearer $KEY" "$URL/v1/messages/$1"; }
message_state() { message_json "$1" | sed -n 's/^{"id":[0-9]*,[^{]*"state":"\([a-z_]*\)".*/\1/p'; }
has_event() { message_json "$1" | tr '{' '\n' | grep "\"event\":\"$2\"" | grep -q "${3:-}"; }
state_is() { [ "$(message_state "$1")" = "$2" ]; }
fetched_at() { message_json "$1" | tr '{' '\n' | sed -n 's/^"at":"\([^"]*\)","event":"fetched".*/\1/p'; }
# events: the events of the message JSON in $OUT, one a line, with their detail in parentheses.
events()
{
	tr '{' '\n' <"$OUT" | grep '"event":' |
		sed 's/^"at":"\([^"]*\)","event":"\([a-z_]*\)"\(.*"detail":"\([^"]*\)"\)\{0,1\}.*/    \1  \2 (\4)/; s/ ()$//'
}

GW=+15550000001
D1=+15550000101
D2=+15550000102
D3=+15550000103
D4=+15550000104

bold "1. A simulated GSM network: gateway modem $GW, device modems $D1 $D2 $D3 $D4"
spawn "$DEMO/sim.log" smswake-modem-sim -d "$DEMO/sim" -m $GW -m $D1 -m $D2 -m $D3 -m $D4
wait_for 10 test -f "$DEMO/sim/pid" || fail "the simulator did not start (see $DEMO/sim.log)"
run "smswake-modem-sim --ctl \"\$DEMO/sim\" list"
for m in $GW $D1 $D2 $D3 $D4; do grep -q "^$m .*registered=1" "$OUT" || fail "modem $m is not on the network"; done
sed -n 's/^\(+[0-9]*\) pty=\([^ ]*\) .*state=\([a-z]*\) registered=\([01]\).*/    \1 on \2: \3, registered \4/p' "$OUT"
say "Like a real network it takes its time: what the gateway modem sends arrives 2 s later."
run "smswake-modem-sim --ctl \"\$DEMO/sim\" set $GW delay 2000"

bold "2. smswake-server: the embedded defaults but for these lines"
cat >"$DEMO/smswake.conf" <<CONF
[server]
listen = 127.0.0.1:0       # a free port, written to data_dir/ports
data_dir = $DEMO/data
[scheduler]
tick_ms = 100              # look for due wakeups every 100 ms (default 200)
status_report = yes        # ask the network for SMS status reports (the default): sms_delivered
CONF
run "cat \"\$DEMO/smswake.conf\""
show
say "A provider key and a gateway token, each printed once:"
run "smswakectl -c \"\$DEMO/smswake.conf\" provider add demo"
KEY=$(cat "$OUT")
case "$KEY" in swp_*) show ;; *) fail "no provider key" ;; esac
run "smswakectl -c \"\$DEMO/smswake.conf\" gateway add gw1"
GWTOKEN=$(cat "$OUT")
case "$GWTOKEN" in swg_*) show ;; *) fail "no gateway token" ;; esac
spawn "$DEMO/server.log" smswake-server -c "$DEMO/smswake.conf"
wait_for 20 test -s "$DEMO/data/ports" || fail "the server did not start (see $DEMO/server.log)"
URL="http://127.0.0.1:$(awk '{print $2; exit}' "$DEMO/data/ports")"
wait_for 20 curl -fs "$URL/healthz" || fail "the server does not answer on $URL (see $DEMO/server.log)"
say "smswake-server -c \$DEMO/smswake.conf is running (log \$DEMO/server.log):"
run "curl -fsS \"\$URL/healthz\""
show
say "The commands shown use this environment; to follow along in another shell, paste:"
exports

bold "3. smswake-gateway on the gateway modem (Gammu's AT driver)"
cat >"$DEMO/gateway.conf" <<CONF
[gateway]
server = $URL
token = $GWTOKEN
lease_wait = 10s
[modem gw1]
device = $DEMO/sim/modem-$GW
connection = at
model = at
per_minute = 20
CONF
spawn "$DEMO/gateway.log" smswake-gateway -c "$DEMO/gateway.conf"
wait_for 90 grep -q 'modem gw1: ready, healthy' "$DEMO/gateway.log" ||
	fail "the gateway's modem did not become healthy in 90 s (see $DEMO/gateway.log)"
say "smswake-gateway -c \$DEMO/gateway.conf is running; its modem gw1 is healthy (log \$DEMO/gateway.log)"

bold "4. Four devices, registered with curl; devices 1 to 3 run smswake-client on their modems"
cat >"$DEMO/handler.sh" <<'H'
#!/bin/sh
# The devices' message handler: one line per message into the device's file.
printf '%s: message %s (seq %s, %s): %s\n' "$DEMO_DEVICE" "$SMSWAKE_MESSAGE_ID" "$SMSWAKE_SEQ" \
	"$SMSWAKE_URGENCY" "$(cat)" >>"$DEMO_HANDLED"
H
chmod +x "$DEMO/handler.sh"
# start_client N: device N's smswake-client run on its modem.
start_client()
{
	spawn "$DEMO/client$1.log" env DEMO_DEVICE="device $1" DEMO_HANDLED="$DEMO/device$1.handled" \
		smswake-client -c "$DEMO/client$1.conf" run
}
n=0
for d in $D1 $D2 $D3 $D4; do
	n=$((n + 1))
	poll=3600
	[ "$d" = "$D3" ] && poll=20
	run "curl -fsS -o \"\$DEMO/reg$n.json\" -H \"Authorization: Bearer \$KEY\" -H 'Content-Type: application/json' -d '{\"msisdn\":\"$d\",\"name\":\"device $n\",\"poll_interval\":$poll}' \"\$URL/v1/devices\""
	id=$(sed -n 's/^{"id":\([0-9]*\),.*/\1/p' "$DEMO/reg$n.json")
	[ -n "$id" ] && grep -q '"token":"swd_' "$DEMO/reg$n.json" && grep -q '"wake_key":"' "$DEMO/reg$n.json" &&
		grep -q "\"poll_interval\":$poll," "$DEMO/reg$n.json" ||
		fail "device $n: no id, token, wake key or poll interval $poll in $DEMO/reg$n.json"
	eval "ID$n=$id"
	smswake-client provision --server "$URL" --state "$DEMO/client$n.state" --handler "$DEMO/handler.sh" \
		<"$DEMO/reg$n.json" >"$DEMO/client$n.conf" || fail "smswake-client provision failed"
	printf '[modem]\ndevice = %s/sim/modem-%s\nconnection = at\nmodel = at\n' "$DEMO" "$d" >>"$DEMO/client$n.conf"
	: >"$DEMO/device$n.handled"
	say "  -> device $n: id $id, polls every $poll s; \$DEMO/reg$n.json holds its token and wake key"
	if [ $n -le 3 ]; then start_client $n; fi
done
n=0
for d in $D1 $D2 $D3; do
	n=$((n + 1))
	wait_for 90 grep -q 'modem sms: healthy' "$DEMO/client$n.log" ||
		fail "device $n's modem did not become healthy in 90 s (see $DEMO/client$n.log)"
done
say "smswake-client provision turned each answer into \$DEMO/clientN.conf (plus a [modem] section);"
say "devices 1 to 3 run smswake-client, reading SMS from their modems (logs \$DEMO/clientN.log)."
say "Device 4's modem is on the network but its application is not running yet: it starts in step 9."

bold "5. Device 3's modem loses its network: SMS to it will not arrive"
run "smswake-modem-sim --ctl \"\$DEMO/sim\" set $D3 registered 0"
ctl list | grep -q "^$D3 .*registered=0" || fail "modem $D3 is still registered"
say "  -> $D3 registered=0: the network keeps SMS for it until their validity runs out"

bold "6. The provider submits messages"
# submit DEVICE_NUMBER URGENCY BODY: one shown submit and its answer.
submit()
{
	run "curl -fsS -H \"Authorization: Bearer \$KEY\" -H 'Urgency: $2' -H 'Content-Type: text/plain' -d '$3' \"\$URL/v1/devices/$(eval echo \$ID$1)/messages\""
	sed -n 's/^{"id":\([0-9]*\),.*"seq":\([0-9]*\),.*"state":"\([a-z_]*\)".*/    -> accepted: message \1, seq \2, \3/p' "$OUT" | grep . ||
		fail "no message in the answer"
}
submit 1 high "open valve 3"
submit 2 low "tariff 2027"
wait_for 30 has_event 2 wake_suppressed low_urgency || fail "message 2 has no wake_suppressed (low_urgency) event"
say "Low urgency sends no SMS: message 2 waits for the device's next contact."
run "curl -fsS -H \"Authorization: Bearer \$KEY\" \"\$URL/v1/messages/2\""
events
submit 2 normal "new schedule"
submit 3 high "reboot at 02:00"
submit 4 high "read meter"

bold "7. Wakeup SMS on the simulated network"
wait_for 60 sh -c "[ \$(smswake-modem-sim --ctl '$DEMO/sim' sent $GW | grep -c pdu=) -ge 4 ]" ||
	fail "the gateway modem did not send four SMS in 60 s (see $DEMO/gateway.log)"
for d in $D1 $D2 $D4; do
	wait_for 60 sh -c "[ \$(smswake-modem-sim --ctl '$DEMO/sim' received $d | grep -c pdu=) -ge 1 ]" ||
		fail "$d did not receive its SMS in 60 s"
done
run "smswake-modem-sim --ctl \"\$DEMO/sim\" sent $GW"
sed -n 's/^time=[0-9.]* peer=\([^ ]*\) .* dport=\([0-9]*\) .*/    gateway modem -> \1: 8-bit SMS to port \2/p' "$OUT"
for d in $D1 $D2 $D3 $D4; do
	run "smswake-modem-sim --ctl \"\$DEMO/sim\" received $d"
	say "  -> $(grep -c 'pdu=' "$OUT" || true) SMS"
done
wait_for 60 state_is 3 acked && state_is 2 acked || fail "device 2 did not acknowledge both messages in 60 s"
grep -q 'wakeup [0-9]* accepted' "$DEMO/client2.log" || fail "device 2 accepted no wakeup (see $DEMO/client2.log)"
[ -n "$(fetched_at 2)" ] && [ "$(fetched_at 2)" = "$(fetched_at 3)" ] || fail "messages 2 and 3 were not fetched together"
say "Device 2's low-urgency message asked for no SMS of its own; it reached the device in the"
say "same fetch as message 3, whose wakeup woke the device."
[ "$(count_sent_to $D3)" -ge 1 ] && [ "$(count_received $D3)" -eq 0 ] ||
	fail "device 3 should have been sent an SMS and received none"
say "The SMS to device 3 left the gateway, but the network holds it: device 3 is off the network."

bold "8. Devices 1 and 2 woke on their SMS, verified it, fetched and acknowledged"
wait_for 60 state_is 1 acked || fail "message 1 was not acknowledged in 60 s"
wait_for 60 state_is 3 acked || fail "message 3 was not acknowledged in 60 s"
state_is 2 acked || fail "message 2 was not acknowledged with message 3"
for n in 1 2; do
	grep -q 'wakeup [0-9]* accepted' "$DEMO/client$n.log" || fail "device $n accepted no wakeup (see $DEMO/client$n.log)"
done
run "cat \"\$DEMO/device1.handled\" \"\$DEMO/device2.handled\""
show
say "The provider's record of message 1:"
run "curl -fsS -H \"Authorization: Bearer \$KEY\" \"\$URL/v1/messages/1\""
events

bold "9. Device 4: the network reports its SMS delivered; then its application starts and fetches"
wait_for 60 has_event 5 sms_delivered || fail "message 5 has no sms_delivered event (status report) after 60 s"
has_event 5 wake_sent || fail "message 5 has no wake_sent event"
state_is 5 sms_delivered || fail "message 5 is not in state sms_delivered"
say "The SMS reached device 4's modem and the network said so (a status report):"
run "curl -fsS -H \"Authorization: Bearer \$KEY\" \"\$URL/v1/messages/5\""
events
start_client 4
wait_for 60 state_is 5 acked || fail "device 4 did not fetch and acknowledge message 5 within 60 s"
say "smswake-client run starts on device 4; it fetches and acknowledges the message:"
run "cat \"\$DEMO/device4.handled\""
show

bold "10. Device 3 got no SMS; its own poll (every 20 s) fetches the message"
wait_for 60 state_is 4 acked || fail "device 3 did not fetch and acknowledge message 4 within 60 s"
[ "$(count_received $D3)" -eq 0 ] || fail "device 3 did receive an SMS"
if grep -q 'wakeup [0-9]* accepted' "$DEMO/client3.log"; then fail "device 3 accepted a wakeup"; fi
run "cat \"\$DEMO/device3.handled\""
show
run "curl -fsS -H \"Authorization: Bearer \$KEY\" \"\$URL/v1/messages/4\""
events

bold "11. The provider's view"
for n in 1 2 3 4; do
	run "curl -fsS -H \"Authorization: Bearer \$KEY\" \"\$URL/v1/devices/$(eval echo \$ID$n)\""
	sed -n 's/.*"msisdn":"\([^"]*\)".*"pending":\([0-9]*\).*"acked_seq":\([0-9]*\).*"wake_state":"\([a-z_]*\)".*/    -> \1: pending \2, acked up to seq \3, wake state \4/p' "$OUT" | awk 1
	grep -q '"pending":0' "$OUT" || fail "device $n still has pending messages"
done
run "curl -fsS \"\$URL/metrics\" | grep -E '^smswake_messages[{]|low_urgency'"
show
grep -q '^smswake_messages{state="acked"} 5$' "$OUT" || fail "the metrics do not count 5 acked messages"
grep -q '^smswake_wake_suppressed_total{reason="low_urgency"} [1-9]' "$OUT" || fail "no low_urgency suppression in the metrics"

bold "Done"
done_ok=1
if [ "${DEMO_KEEP:-0}" = 1 ]; then
	echo "Everything keeps running. In another shell, after"
	exports
	echo "every \$ line above works as shown; only the lines that create something (provider add,"
	echo "gateway add, the registrations) are refused a second time, as they should be."
	echo "Logs are in $DEMO/*.log. The whole API, every route and status, is described in"
	echo "docs/openapi.yaml (OpenAPI 3.1, for client generators and API tools); docs/api.md explains it."
	if [ -z "${DEMO_DIR:-}" ]; then
		echo "To stop it all: make demo-stop"
	else
		echo "To stop it all: DEMO_DIR='$DEMO' sh '$SELF' stop"
	fi
else
	echo "Everything is stopped. DEMO_KEEP=1 make demo keeps it all running so you can submit your own"
	echo "messages. Logs are in $DEMO/*.log; the API is in docs/api.md (and, machine-readable, in"
	echo "docs/openapi.yaml), operations in docs/operations.md."
fi
