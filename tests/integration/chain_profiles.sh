#!/bin/sh
# smswake-server and smswake-gateway sending wakeups through each modem profile of the simulator
# (3gpp, gsm-only, sim800, quectel, huawei, tc35), one gateway run per profile: the gateway's
# modem becomes healthy, the wakeup reaches the device's modem as an 8-bit SMS to the wakeup port,
# and the provider sees wake_sent.
. tests/integration/lib_chain.sh

PROFILES="3gpp gsm-only sim800 quectel huawei tc35"

# The simulator with one gateway modem per profile (+1555000020N) and one 3GPP device modem per
# profile (+1555000030N).
args=""
pidx=1
for p in $PROFILES; do
	args="$args -p $p -m +1555000020$pidx -p 3gpp -m +1555000030$pidx"
	pidx=$((pidx + 1))
done
# shellcheck disable=SC2086
"$BUILD/smswake-modem-sim" -d "$RUN" $args >"$T/sim.log" 2>&1 &
SIM_PID=$!
wait_for 10 test -f "$RUN/pid" || { not_ok "simulator starts"; exit 1; }

server_start "lease_time = 30
[scheduler]
batch_window = 1
grace = 600
retry_base = 600
max_retries = 1
tick_ms = 50"

# gprs_metric_is MODEM WANT: the gateway's metrics show the modem's GPRS capability as WANT.
gprs_metric_is() { [ "$(gateway_metric "smswake_modem_capability{modem=\"$1\",capability=\"gprs\"}")" = "$2" ]; }

# (Names of our own: the helpers set i, n and name.)
pidx=1
for p in $PROFILES; do
	gw=+1555000020$pidx
	dev=+1555000030$pidx
	gwname=gw${gw#+}
	: >"$T/gateway.log"
	GW_HEALTH=1s gateway_start "$gw"
	check "$p: the gateway's modem becomes healthy" wait_for 90 grep -q "modem $gwname: healthy" "$T/gateway.log"
	device_add "$dev"
	M=$(submit "$DEV_ID" high "through $p")
	check "$p: the wakeup reaches the device's modem" wait_for 90 received_at_least "$dev" 1
	check "$p: an 8-bit SMS to the wakeup port" sh -c \
		"'$BUILD/smswake-modem-sim' --ctl '$RUN' received $dev | grep -q 'peer=$gw .* dcs=0x04 .* dport=16537 '"
	check "$p: the provider sees wake_sent" wait_for 30 sh -c \
		"curl -s -H 'Authorization: Bearer $PROVIDER_KEY' '$URL/v1/messages/$M' | grep -q wake_sent"
	case $p in
	gsm-only | tc35)
		check "$p: the gateway says the modem lacks GPRS" grep -q "modem $gwname: .*lacks=gprs" "$T/gateway.log"
		check "$p: the gateway's metrics say it lacks GPRS" wait_for 10 gprs_metric_is "$gwname" 0
		;;
	*)
		check "$p: the gateway says the modem answers GPRS" grep -q "modem $gwname: supports=gprs," "$T/gateway.log"
		check "$p: the gateway's metrics say it answers GPRS" wait_for 10 gprs_metric_is "$gwname" 1
		;;
	esac
	check "$p: no worker was killed" sh -c "! grep -q 'killed' '$T/gateway.log'"
	cp "$T/gateway.log" "$T/gateway-$p.log"
	gateway_stop
	pidx=$((pidx + 1))
done

finish
