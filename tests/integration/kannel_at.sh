#!/bin/sh
# A second AT client on the simulator: Kannel's bearerbox with an `smsc = at` group on a simulated
# modem, and its smsbox. A text SMS and an 8-bit port-addressed SMS sent through smsbox's sendsms
# interface reach the other modem byte for byte, the status report of the 8-bit one comes back
# to the dlr-url, and SMS sent to Kannel's modem reach an sms-service get-url. Kannel's AT
# dialect drives the simulator through ATZ, AT&F, ATE0, ATI, AT+IFC=2,2, AT+CSMS=1, direct
# delivery (+CMT, +CDS) and AT+CNMA. Everything on loopback; the ports Kannel needs in its
# configuration are picked free at run time.
. "$(dirname "$0")/lib_sim.sh"

K=+15550000001 # Kannel's modem
P=+15550000002 # the other end
SINK=$BUILD/tests/http-sink
BEARERBOX=$(command -v bearerbox || echo /usr/sbin/bearerbox)
SMSBOX=$(command -v smsbox || echo /usr/sbin/smsbox)
KANNEL_PIDS=

if [ ! -x "$BEARERBOX" ] || [ ! -x "$SMSBOX" ]; then
	not_ok "Kannel is installed (bearerbox and smsbox from the Debian package kannel: apt-get install kannel)"
	exit 1
fi
if [ ! -x "$SINK" ]; then
	not_ok "test helper $SINK exists"
	exit 1
fi

kannel_cleanup()
{
	for p in $KANNEL_PIDS; do kill "$p" 2>/dev/null; done
	for p in $KANNEL_PIDS; do wait "$p" 2>/dev/null; done
	if [ "$failures" -ne 0 ]; then
		for f in "$TMP"/bearerbox.log "$TMP"/smsbox.log "$TMP"/sink.log; do
			[ -f "$f" ] || continue
			echo "# $f (tail):"
			tail -n 40 "$f" | sed 's/^/# /'
		done
	fi
	sim_cleanup
}
trap kannel_cleanup EXIT

sim_start -m $K -m $P

"$SINK" "$TMP/sink.port" "$TMP/sink.log" &
KANNEL_PIDS="$KANNEL_PIDS $!"
wait_for 10 test -s "$TMP/sink.port" || { not_ok "http-sink starts"; exit 1; }
SINK_PORT=$(cat "$TMP/sink.port")
# shellcheck disable=SC2046
set -- $("$SINK" --ports 3)
ADMIN_PORT=$1 BOX_PORT=$2 SEND_PORT=$3

cat >"$TMP/kannel.conf" <<EOT
group = core
admin-port = $ADMIN_PORT
admin-interface = 127.0.0.1
admin-password = test
admin-allow-ip = "127.0.0.1"
smsbox-port = $BOX_PORT
smsbox-interface = 127.0.0.1
box-allow-ip = "127.0.0.1"
log-file = "$TMP/bearerbox.log"
log-level = 0
dlr-storage = internal

group = smsc
smsc = at
smsc-id = sim
modemtype = auto
speed = 115200
device = $RUN/modem-$K
my-number = "$K"
keepalive = 30
max-error-count = 5

group = modems
id = smswake
name = "smswake-modem-sim"
detect-string = "smswake"

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = $BOX_PORT
sendsms-port = $SEND_PORT
sendsms-interface = 127.0.0.1
global-sender = "$K"
log-file = "$TMP/smsbox.log"
log-level = 0

group = sendsms-user
username = test
password = test

group = sms-service
keyword = default
catch-all = true
max-messages = 0
get-url = "http://127.0.0.1:$SINK_PORT/mo?from=%p&to=%P&text=%a&udh=%u&coding=%c&bin=%b"
EOT

"$BEARERBOX" "$TMP/kannel.conf" >"$TMP/bearerbox.out" 2>&1 &
KANNEL_PIDS="$KANNEL_PIDS $!"
check "bearerbox opens the AT modem" wait_for 60 grep -q 'AT SMSC successfully opened' "$TMP/bearerbox.log"
check "Kannel's init: ATZ, AT&F, ATE0, ATI (modem detected), AT+IFC=2,2 accepted" sh -c \
	"grep -q 'using modem definition <smswake-modem-sim>' '$TMP/bearerbox.log' &&
	 ! grep -q 'cannot enable hardware handshake\|Wrong or no answer\|No answer to' '$TMP/bearerbox.log'"
# smsbox only once bearerbox listens for it (it gives up at once otherwise).
"$SMSBOX" "$TMP/kannel.conf" >"$TMP/smsbox.out" 2>&1 &
KANNEL_PIDS="$KANNEL_PIDS $!"
check "smsbox connects" wait_for 30 grep -q 'Connected to bearerbox' "$TMP/smsbox.log"
check "sendsms answers" wait_for 30 sh -c "curl -s 'http://127.0.0.1:$SEND_PORT/cgi-bin/sendsms' | grep -qi 'authorization\|user'"

sendsms() { curl -fsS -o "$TMP/sendsms.out" "http://127.0.0.1:$SEND_PORT/cgi-bin/sendsms?username=test&password=test&to=%2B${P#+}&$1"; }

# A text SMS.
check "sendsms accepts a text SMS" sendsms "text=hello+from+kannel"
check "the text SMS reaches the other modem" wait_for 60 received_has $P "peer=$K .*coding=7bit"
check "its text is intact" sh -c "'$SIM' --ctl '$RUN' received $P | grep 'coding=7bit' | grep -q 'hello from kannel'"

# An 8-bit SMS to an application port, with a delivery report.
DLR_URL=$(printf 'http://127.0.0.1:%s/dlr?type=%%d&ts=%%T' "$SINK_PORT" | sed 's/%/%25/g; s/&/%26/g; s/?/%3F/g; s/:/%3A/g; s/\//%2F/g')
check "sendsms accepts an 8-bit port SMS with dlr-url" \
	sendsms "text=%01%02%FE%FF%00%7F&udh=%06%05%04%23%F0%12%34&coding=1&dlr-mask=3&dlr-url=$DLR_URL"
check "the 8-bit SMS reaches the other modem byte for byte" \
	wait_for 60 received_has $P "peer=$K .*coding=8bit .*udh=06050423F01234 dport=9200 sport=4660 ud=0102FEFF007F\$"
check "Kannel asked for a status report" sent_has $K "srr=1 .*ud=0102FEFF007F\$"
check "the delivery report reaches the dlr-url (delivered to phone)" wait_for 60 grep -q '^GET /dlr?type=1&' "$TMP/sink.log"

# SMS to Kannel's modem go to the sms-service: text, and 8-bit with ports (shown with +CMT and
# acknowledged by AT+CNMA).
ctl inject $K 040B915155000000F200006211626075550005E8329BFD06 >/dev/null
check "a text SMS to Kannel's modem reaches the get-url" \
	wait_for 60 grep -q '^GET /mo?from=%2B15550000002&to=%2B15550000001&text=hello' "$TMP/sink.log"
ctl inject $K 440B915155000000F20004621162607555000B06050423F01234C0FFEE00 >/dev/null
check "an 8-bit port SMS to Kannel's modem reaches the get-url with its UDH and bytes" \
	wait_for 60 grep -q '^GET /mo?.*udh=%06%05%04%23%F0%124&coding=1&bin=%C0%FF%EE%00' "$TMP/sink.log"
check "Kannel acknowledged every +CMT and +CDS (no +CMS ERROR 340)" sh -c "! grep -q 'CMS ERROR' '$TMP/bearerbox.log'"
check "the simulator kept nothing for Kannel's modem (direct delivery)" sh -c \
	"'$SIM' --ctl '$RUN' list | grep -q '^$K .*storage=SM:0/'"

finish
