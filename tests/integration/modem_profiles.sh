#!/bin/sh
# The modem layer (supervisor, worker, Gammu's AT driver) through every modem profile of the
# simulator: each modem opens, passes its health check on what sending needs, says what it lacks,
# sends a port-addressed SMS that arrives byte for byte with its status report matched, and
# receives one; while calls ring in the middle of the conversation.
. "$(dirname "$0")/modem_lib.sh"

PROFILES="3gpp gsm-only sim800 quectel huawei tc35"
# One modem per profile (+1555000010N), and a strict 3GPP peer.
PEER=+15550000100
args=""
ini_modems=""
i=1
for p in $PROFILES; do
	args="$args -p $p -m +1555000010$i"
	ini_modems="$ini_modems
[modem $p]
device = $RUN/modem-+1555000010$i"
	i=$((i + 1))
done
# shellcheck disable=SC2086
sim_start $args -p 3gpp -m $PEER
cat >"$INI" <<EOT
[modems]
health_interval = 1s
send_timeout = 20s
op_timeout = 20s
init_timeout = 30s
queue_timeout = 60s
backoff_min = 500ms
backoff_max = 2s
reset_wait = 1s
incoming_poll = 1s
$ini_modems
EOT

number_of() { echo "+1555000010$(echo "$PROFILES" | tr ' ' '\n' | grep -nx "$1" | cut -d: -f1)"; }

# run_profile PROFILE: identify, send with a status report, receive; exit statuses in $TMP/P.rc.
run_profile()
{
	p=$1
	n=$(number_of "$p")
	: >"$TMP/$p.rc"
	cli "$p-ident" -m "$p" -t 120 identify
	echo "ident $rc" >>"$TMP/$p.rc"
	# Calls ring now and then during the send and the receive.
	ctl ring "$n" +15557770001 20 >/dev/null
	cli "$p-send" -m "$p" -t 120 send "$PEER" --port 9200 --src-port 4660 --hex "$(payload_for "$p")" --wait-report
	echo "send $rc" >>"$TMP/$p.rc"
	# An SMS-DELIVER from the peer: ports 9200/4660, 0x01 and the same seven octets.
	ctl inject "$n" "440B915155000001F00004621162607555000F06050423F0123401$(payload_for "$p")" >/dev/null
	cli "$p-recv" -m "$p" -t 120 listen --count 1
	echo "recv $rc" >>"$TMP/$p.rc"
}
# payload_for PROFILE: seven octets that differ per profile.
payload_for() { printf 'C0FFEE%08X' "$(echo "$1" | cksum | cut -d' ' -f1)" | cut -c1-14; }

pids=""
for p in $PROFILES; do
	run_profile "$p" &
	pids="$pids $!"
done
for pid in $pids; do wait "$pid"; done

for p in $PROFILES; do
	n=$(number_of "$p")
	want=$(payload_for "$p")
	check "$p: identify succeeds" grep -qx 'ident 0' "$TMP/$p.rc"
	check "$p: send exits 0" grep -qx 'send 0' "$TMP/$p.rc"
	check "$p: the status report is matched and says delivered" \
		has "$p-send.out" "^report modem=$p .*recipient=$PEER status=0x00 outcome=delivered matched=yes"
	check "$p: the SMS reached the peer byte for byte" \
		received_has "$PEER" "peer=$n .*udh=06050423F01234 dport=9200 sport=4660 ud=$want\$"
	check "$p: receive exits 0" grep -qx 'recv 0' "$TMP/$p.rc"
	check "$p: the received SMS through the modem layer" has "$p-recv.out" \
		"^sms modem=$p from=+15550000100 dst_port=9200 src_port=4660 udh=06050423f01234 hex=01$(echo "$want" | lower)\$"
	check "$p: the modem never missed a deadline" sh -c "! grep -q 'killed' '$TMP/cli$p-send.err' '$TMP/cli$p-recv.err'"
done

# What each profile lacks shows in identify.
check "3gpp: answers everything optional" has 3gpp-ident.out \
	'^modem=3gpp manufacturer=smswake model=smswake-modem-sim .* supports=gprs,registration,network-name,signal,storage,sim-status,imsi,imei,firmware,sms-notify$'
check "gsm-only: lacks GPRS, registration read by +CREG" has gsm-only-ident.out \
	'^modem=gsm-only .* supports=registration,.* lacks=gprs$'
check "tc35: identified, lacks GPRS" has tc35-ident.out '^modem=tc35 manufacturer=Siemens model=TC35 .* lacks=gprs$'
check "huawei: identified" has huawei-ident.out '^modem=huawei manufacturer=Huawei model=E3372 firmware=22.329.63.00.74 '
check "sim800: identified" has sim800-ident.out '^modem=sim800 manufacturer=SIMCOM_Ltd model=SIMCOM_SIM800 '
check "quectel: identified" has quectel-ident.out '^modem=quectel manufacturer=Quectel model=EC25 '
check "gsm-only: healthy on registration alone" grep -q 'modem gsm-only: healthy (home' "$TMP/cligsm-only-send.err"
finish
