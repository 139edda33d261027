#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# smswake-server and smswake-gateway sending through Kannel: bearerbox, smsbox and Kannel's test
# SMSC fakesmsc on loopback, configured by the fakesmsc block of docs/operations.md (ports and
# log paths changed). From what fakesmsc receives: the destination, the UDH with port 16537 and
# the 36-octet payload, which verifies with the device's key and leads to its fetch; Kannel's
# delivery reports reach the message history; with Kannel down the job is retried with
# back-off, not lost and not sent in a burst: one SMS for the device once Kannel is back; the
# same when Kannel throttles (its queue full: 503); the text form goes as plain text; and modems
# and Kannel in one gateway route by number prefix, with failover to the modem when Kannel is
# down. The server's grace and retry_base (20 s) are longer than the test's checks for a single SMS.
. tests/integration/lib_chain.sh

SINK=$BUILD/tests/http-sink
BEARERBOX=$(command -v bearerbox || echo /usr/sbin/bearerbox)
SMSBOX=$(command -v smsbox || echo /usr/sbin/smsbox)
FAKESMSC=/usr/lib/kannel/test/fakesmsc
KANNEL_PIDS=
DEV_A=+4915550000011
DEV_B=+4915550000012
DEV_C=+4915550000013
DEV_D=+4915550000014
DEV_E=+4915550000015

for p in "$BEARERBOX" "$SMSBOX" "$FAKESMSC" "$SINK"; do
	[ -x "$p" ] || { not_ok "$p exists (Debian packages kannel and kannel-extras)"; exit 1; }
done

kannel_stop()
{
	for p in $KANNEL_PIDS; do kill "$p" 2>/dev/null; done
	for p in $KANNEL_PIDS; do wait "$p" 2>/dev/null; done
	KANNEL_PIDS=
}
cleanup()
{
	kannel_stop
	if [ "$failures" -ne 0 ]; then
		for f in "$T"/bearerbox.log "$T"/smsbox.log "$T"/fakesmsc.out; do
			[ -f "$f" ] && { echo "# --- $f (tail)"; tail -n 20 "$f" | sed 's/^/# /'; }
		done
	fi
	chain_cleanup
}
trap cleanup EXIT

# The documented fakesmsc configuration, on free ports.
# shellcheck disable=SC2046
set -- $("$SINK" --ports 4)
ADMIN_PORT=$1 BOX_PORT=$2 SEND_PORT=$3 FAKE_PORT=$4
awk '/^```text kannel-fakesmsc$/ {on = 1; next} on && /^```$/ {exit} on' docs/operations.md |
	sed -e "s/= 13000\$/= $ADMIN_PORT/" -e "s/= 13001\$/= $BOX_PORT/" -e "s/= 13013\$/= $SEND_PORT/" \
		-e "s/= 10000\$/= $FAKE_PORT/" -e "s|/var/log/kannel|$T|" >"$T/kannel.conf"
check "docs/operations.md has the fakesmsc configuration" grep -q "smsc = fake" "$T/kannel.conf"
PASSWORD=$(sed -n 's/^password = //p' "$T/kannel.conf")
SENDER=$(sed -n 's/^global-sender = "\(.*\)"$/\1/p' "$T/kannel.conf")

# kannel_start [CONF] [nofake]: bearerbox, then smsbox once it listens, then fakesmsc (unless
# nofake); fakesmsc's output in $T/fakesmsc.out (appended to across restarts).
kannel_start()
{
	"$BEARERBOX" "${1:-$T/kannel.conf}" >>"$T/bearerbox.out" 2>&1 &
	KANNEL_PIDS="$KANNEL_PIDS $!"
	wait_for 30 sh -c "ss -ltn | grep -q ':$BOX_PORT '" || return 1
	"$SMSBOX" "${1:-$T/kannel.conf}" >>"$T/smsbox.out" 2>&1 &
	KANNEL_PIDS="$KANNEL_PIDS $!"
	[ "${2:-}" = nofake ] || fakesmsc_start
	wait_for 30 sh -c "curl -s 'http://127.0.0.1:$SEND_PORT/cgi-bin/sendsms' | grep -qi 'authorization\|user'"
}
fakesmsc_start()
{
	"$FAKESMSC" -H 127.0.0.1 -r "$FAKE_PORT" -i 3600 -m 0 "1 2 text nop" >>"$T/fakesmsc.out" 2>&1 &
	KANNEL_PIDS="$KANNEL_PIDS $!"
}
check "Kannel starts (bearerbox, smsbox, fakesmsc)" kannel_start

# got_for NUMBER: the SMS fakesmsc received for a number.
got_for() { grep "Got message [0-9]*: <[^ ]* $1 " "$T/fakesmsc.out"; }
got_count() { got_for "$1" | wc -l; }
got_at_least() { [ "$(got_count "$1")" -ge "$2" ]; }
# unurl: the bytes of a fakesmsc field (URL-encoded, a space as "+"), as hex.
unurl() { python3 -c 'import sys, urllib.parse; print(urllib.parse.unquote_to_bytes(sys.argv[1].replace("+", " ")).hex().upper())' "$1"; }

server_start "lease_time = 6
[scheduler]
batch_window = 0
grace = 20
retry_base = 20
max_retries = 10
per_hour = 0
per_day = 0
tick_ms = 50"

umask 077
printf '%s\n' "$PASSWORD" >"$T/kannel.password"
cat >"$T/gateway.conf" <<EOF
[gateway]
server = $URL
token = $GATEWAY_TOKEN
lease_wait = 5s
log_level = debug
[kannel]
url = http://127.0.0.1:$SEND_PORT/cgi-bin/sendsms
username = smswake
password_file = $T/kannel.password
concurrency = 4
timeout = 5s
EOF
check "the configuration loads (-n)" "$BUILD/smswake-gateway" -n -c "$T/gateway.conf"
chmod 644 "$T/kannel.password"
check_rc "a password file others can read is refused" 1 "$BUILD/smswake-gateway" -n -c "$T/gateway.conf"
chmod 600 "$T/kannel.password"
"$BUILD/smswake-gateway" -c "$T/gateway.conf" 2>>"$T/gateway.log" &
GW_PID=$!
check "the gateway starts its Kannel channel" wait_for 20 grep -q "kannel: delivery reports on 127.0.0.1:" "$T/gateway.log"

# 1. One wakeup through Kannel, as a modem would send it.
device_add $DEV_A && client_setup $DEV_A
M=$(submit "$DEV_ID" high "open valve 3")
check "a wakeup reaches fakesmsc" wait_for 30 got_at_least $DEV_A 1
LINE=$(got_for $DEV_A | tail -n 1)
UDH=$(echo "$LINE" | sed -n 's/.* udh \([^ ]*\) data .*/\1/p')
DATA=$(echo "$LINE" | sed -n 's/.* data \([^ >]*\)>$/\1/p')
# The line goes to grep as an argument, never inside quotes: a payload octet may be a quote.
check "to the device's number, from the configured sender" sh -c 'printf "%s\n" "$1" | grep -qF "$2"' - \
	"$LINE" "<$SENDER $DEV_A udh "
check "UDH: 16-bit application port 16537" test "$(unurl "$UDH")" = 06050440994099
check "payload: 36 octets" test "$(unurl "$DATA" | wc -c)" -eq 73
check "the wakeup verifies with the device's key and the client fetches" \
	sh -c "echo '$(unurl "$UDH")$(unurl "$DATA")' | HANDLER_OUT='$T/got-$DEV_A' '$BUILD/smswake-client' -c '$T/client-$DEV_A.conf' sms"
check "the handler got the message" grep -q "open valve 3" "$T/got-$DEV_A"
check "the message is acked" test "$(message_state "$M")" = acked
check "the history shows the wakeup sent" sh -c "curl -s -H 'Authorization: Bearer $PROVIDER_KEY' '$URL/v1/messages/$M' | grep -q wake_sent"
check "Kannel's delivery report reaches the history" \
	wait_for 20 sh -c "curl -s -H 'Authorization: Bearer $PROVIDER_KEY' '$URL/v1/messages/$M' | grep -q sms_delivered"
sleep 1
check "exactly one SMS for the device" test "$(got_count $DEV_A)" -eq 1

# 1b. A device configured for the text form gets it through Kannel as plain text (no UDH), and it
# verifies as typed into the client.
device_add $DEV_E '"sms_format":"text"' && client_setup $DEV_E
ME=$(submit "$DEV_ID" high "text form")
check "text form: a wakeup reaches fakesmsc" wait_for 30 got_at_least $DEV_E 1
LINE=$(got_for $DEV_E | tail -n 1)
TEXT=$(echo "$LINE" | sed -n 's/.* text \([^ >]*\)>$/\1/p')
check "text form: sent as text, without a UDH" sh -c 'printf "%s\n" "$1" | grep -qF "$2"' - "$LINE" "<$SENDER $DEV_E text "
TEXT=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.unquote_plus(sys.argv[1]))' "$TEXT")
check "text form: the text verifies with the device's key and the client fetches" \
	sh -c 'printf "%s" "$1" | HANDLER_OUT="$2" "$3" -c "$4" sms' - "$TEXT" "$T/got-$DEV_E" "$BUILD/smswake-client" \
	"$T/client-$DEV_E.conf"
check "text form: the handler got the message" grep -q "text form" "$T/got-$DEV_E"
check "text form: the message is acked" test "$(message_state "$ME")" = acked

# 2. A delivery report without the gateway's key is refused.
DLR_PORT=$(sed -n 's/.*kannel: delivery reports on 127.0.0.1:\([0-9]*\).*/\1/p' "$T/gateway.log" | tail -n 1)
check "a forged delivery report is refused (403)" \
	test "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$DLR_PORT/dlr?id=$M&t=2&k=00")" = 403
check "a malformed delivery report is refused (400)" \
	test "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$DLR_PORT/dlr?id=x")" = 400

# 3. Kannel down: the job fails, rests and is retried; once Kannel is back, one SMS.
kannel_stop
device_add $DEV_B && client_setup $DEV_B
MB=$(submit "$DEV_ID" high "while kannel is down")
check "sends fail while Kannel is down" wait_for 20 grep -q "smsbox unreachable" "$T/gateway.log"
sleep 6
TRIES=$(grep -c "job [0-9]* failed on kannel" "$T/gateway.log")
check "retried with back-off, not in a loop ($TRIES tries in about 8 s)" test "$TRIES" -ge 1 -a "$TRIES" -le 6
check "the message is not lost" sh -c "[ \"\$(curl -s -H 'Authorization: Bearer $PROVIDER_KEY' '$URL/v1/messages/$MB' | sed -n 's/^[^[]*\"state\":\"\([a-z_]*\)\".*/\1/p')\" = queued ]"
check "Kannel starts again" kannel_start
check "the device gets its wakeup once Kannel is back" wait_for 90 got_at_least $DEV_B 1
sleep 4
check "one SMS for the device after the outage, not a burst" test "$(got_count $DEV_B)" -eq 1
check "the wakeup after the outage shows in the history" \
	wait_for 20 sh -c "curl -s -H 'Authorization: Bearer $PROVIDER_KEY' '$URL/v1/messages/$MB' | grep -q wake_sent"

# 4. Kannel throttling: with its outgoing queue limited to one SMS and no SMSC link, smsbox
# queues the first wakeup ("3: Queued for later delivery") and refuses the next with 503. The
# refused one is retried with back-off; once the SMSC link is up each device has one SMS.
kannel_stop
sed 's/^dlr-storage = internal$/&\nsms-outgoing-queue-limit = 1/' "$T/kannel.conf" >"$T/kannel-limited.conf"
check "Kannel starts with a queue limit and no SMSC link" kannel_start "$T/kannel-limited.conf" nofake
device_add $DEV_C && DEV_C_ID=$DEV_ID
device_add $DEV_D && DEV_D_ID=$DEV_ID
MC=$(submit "$DEV_C_ID" high "queued in kannel")
check "the first wakeup is queued by Kannel" wait_for 20 grep -q "queued by Kannel (3: Queued for later delivery)" "$T/gateway.log"
MD=$(submit "$DEV_D_ID" high "throttled by kannel")
check "the next one is refused with 503 and rests the channel" \
	wait_for 20 grep -q "not taken (HTTP 503 Temporal failure" "$T/gateway.log"
check "no SMS while Kannel has no SMSC link" test "$(got_count $DEV_C)$(got_count $DEV_D)" = 00
fakesmsc_start
check "the queued wakeup leaves once the SMSC link is up" wait_for 30 got_at_least $DEV_C 1
check "the throttled wakeup is sent on a retry" wait_for 90 got_at_least $DEV_D 1
sleep 4
check "one SMS each, no loss and no burst" test "$(got_count $DEV_C) $(got_count $DEV_D)" = "1 1"
check "both show in the history" sh -c "curl -s -H 'Authorization: Bearer $PROVIDER_KEY' '$URL/v1/messages/$MC' | grep -q wake_sent &&
	curl -s -H 'Authorization: Bearer $PROVIDER_KEY' '$URL/v1/messages/$MD' | grep -q wake_sent"

# 4. Modems and Kannel in one gateway: +49 numbers go through Kannel, the rest through a modem;
# with Kannel down, a +49 device gets its wakeup through the modem instead (failover = yes).
GWM=+15550000201
DEV_F=+15550000301
DEV_G=+4915550000017
DEV_H=+4915550000018
sim_start $GWM $DEV_F $DEV_G $DEV_H
gateway_stop
: >"$T/gateway.log"
cat >"$T/gateway-mixed.conf" <<EOF
[gateway]
server = $URL
token = $GATEWAY_TOKEN
lease_wait = 5s
log_level = debug
route = prefix:+49 kannel
route = default modem
failover = yes
[modems]
health_interval = 2s
[modem gw${GWM#+}]
device = $RUN/modem-$GWM
connection = at
model = at
[kannel]
url = http://127.0.0.1:$SEND_PORT/cgi-bin/sendsms
username = smswake
password_file = $T/kannel.password
timeout = 5s
EOF
check "mixed: the configuration loads (-n)" "$BUILD/smswake-gateway" -n -c "$T/gateway-mixed.conf"
"$BUILD/smswake-gateway" -c "$T/gateway-mixed.conf" 2>>"$T/gateway.log" &
GW_PID=$!
check "mixed: the modem becomes healthy" wait_for 90 grep -q "modem gw${GWM#+}: healthy" "$T/gateway.log"
device_add $DEV_F && MF=$(submit "$DEV_ID" high "by modem")
device_add $DEV_G && MG=$(submit "$DEV_ID" high "by kannel")
check "mixed: the +1 device's wakeup goes by the modem" wait_for 60 received_at_least $DEV_F 1
check "mixed: the +49 device's wakeup goes by Kannel" wait_for 60 got_at_least $DEV_G 1
sleep 2
check "mixed: neither went the other way" test "$(got_count $DEV_F) $(received_count $DEV_G)" = "0 0"
kannel_stop
device_add $DEV_H && MH=$(submit "$DEV_ID" high "failover")
check "mixed: with Kannel down the +49 device gets its wakeup by the modem" wait_for 90 received_at_least $DEV_H 1
sleep 2
check "mixed: one SMS, and none through Kannel" test "$(received_count $DEV_H) $(got_count $DEV_H)" = "1 0"
check "mixed: all three show the wakeup sent" sh -c "for m in $MF $MG $MH; do
	curl -s -H 'Authorization: Bearer $PROVIDER_KEY' \"$URL/v1/messages/\$m\" | grep -q wake_sent || exit 1; done"

finish
