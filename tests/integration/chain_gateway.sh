#!/bin/sh
# smswake-server, smswake-gateway and smswake-modem-sim together, through Gammu's real AT
# driver: wakeups reach the device's simulated modem exactly as the scheduler decided, verify
# with the device's wake key, survive a killed gateway, and avoid a failing modem.
. tests/integration/lib_chain.sh

GW1=+15550000001
GW2=+15550000002
DEV_A=+15550000011
DEV_B=+15550000012
DEV_C=+15550000013
DEV_D=+15550000014
DEV_E=+15550000015

sim_start $GW1 $GW2 $DEV_A $DEV_B $DEV_C $DEV_D $DEV_E +15550000016
server_start "lease_time = 4
[scheduler]
batch_window = 1
grace = 20
retry_base = 20
max_retries = 1
tick_ms = 50"
gateway_start $GW1 $GW2
wait_for 30 grep -q "healthy" "$T/gateway.log" || not_ok "gateway modems come up"

# A device with its client configuration, to check what arrives.
client_for()
{
	"$BUILD/smswake-client" provision --server "$URL" --state "$T/state-$1" --handler "$T/handler.sh" \
		<"$T/dev-$1.json" >"$T/client-$1.conf"
}
cat >"$T/handler.sh" <<'H'
#!/bin/sh
cat >>"$HANDLER_OUT"
echo >>"$HANDLER_OUT"
H
chmod +x "$T/handler.sh"

# 1. One high message: exactly one wakeup at the device's modem, which verifies with its key.
device_add $DEV_A && client_for $DEV_A
M=$(submit "$DEV_ID" high "open valve 3")
check "high message: a wakeup reaches the device modem" wait_for 30 received_at_least $DEV_A 1
sleep 2
check "high message: exactly one wakeup" test "$(received_count $DEV_A)" -eq 1
PDU=$(last_received_pdu $DEV_A)
ctl received $DEV_A | grep -q " pid=0x00 dcs=0x04 .* dport=16537 " && ok "wakeup: PID 0, 8-bit data, to port 16537" || not_ok "wakeup: PID 0, 8-bit data, to port 16537"
export HANDLER_OUT="$T/out-a"
check "the wakeup verifies with the device's key and the client fetches" \
	sh -c "echo $PDU | '$BUILD/smswake-client' -c '$T/client-$DEV_A.conf' sms"
check "the handler got the message" grep -q "open valve 3" "$T/out-a"
check "the message is acked" test "$(message_state "$M")" = acked
api "$URL/v1/messages/$M" | grep -q wake_sent && ok "the message's events show the wakeup" || not_ok "the message's events show the wakeup"
# A byte-for-byte replay of the same SMS is refused and fetches nothing.
echo "$PDU" | "$BUILD/smswake-client" -c "$T/client-$DEV_A.conf" sms >/dev/null 2>&1
check "a replayed wakeup is rejected" test $? -ne 0

# 2. A burst of 50 normal messages shares one SMS.
device_add $DEV_B
# All 50 on one connection: one curl per message can take longer than the scheduler's 20 s grace
# on a loaded machine, and a second wakeup after the grace is then right.
for i in $(seq 50); do
	[ "$i" -eq 1 ] || printf 'next\n'
	printf 'url = "%s/v1/devices/%s/messages"\nheader = "Authorization: Bearer %s"\n' "$URL" "$DEV_ID" "$PROVIDER_KEY"
	printf 'header = "Urgency: normal"\nheader = "Content-Type: text/plain"\ndata = "m%s"\n' "$i"
	printf 'silent\noutput = /dev/null\nwrite-out = "%%{http_code}\\n"\n'
done >"$T/burst.curl"
check "burst of 50: every submit is accepted" sh -c "[ \$(curl -K '$T/burst.curl' | grep -c '^201\$') -eq 50 ]"
check "burst of 50: a wakeup arrives" wait_for 30 received_at_least $DEV_B 1
sleep 4
check "burst of 50: exactly one SMS" test "$(received_count $DEV_B)" -eq 1
n=$(curl -s -H "Authorization: Bearer $DEV_TOKEN" "$URL/v1/device/messages?max=100" | grep -o '"seq"' | wc -l)
check "burst of 50: one fetch returns all 50" test "$n" -eq 50

# 3. low and very-low messages send no SMS.
device_add $DEV_C
submit "$DEV_ID" low >/dev/null
submit "$DEV_ID" very-low >/dev/null
sleep 5
check "low urgency: no SMS" test "$(received_count $DEV_C)" -eq 0

# 4. A failing modem's jobs go out through the other modem.
ctl set $GW1 cms_error 1000 >/dev/null
ctl set $GW2 cms_error 0 >/dev/null
device_add $DEV_D
DEV_D_ID=$DEV_ID
before2=$(sent_count $GW2)
M_D=$(submit "$DEV_ID" high)
check "failing modem: the wakeup still arrives" wait_for 40 received_at_least $DEV_D 1
check "failing modem: it left through the other modem" test "$(sent_count $GW2)" -gt "$before2"
ctl set $GW1 cms_error 0 >/dev/null

# 5. A killed gateway's leased jobs are sent after it restarts.
ctl set $GW1 send_duration 8000 >/dev/null
ctl set $GW2 send_duration 8000 >/dev/null
device_add $DEV_E
M=$(submit "$DEV_ID" high)
wait_for 20 sh -c "curl -s '$URL/metrics' | grep -q 'smswake_wake_jobs{state=\"leased\"} 1'"
check "gateway holds a leased job" sh -c "curl -s '$URL/metrics' | grep -q 'smswake_wake_jobs{state=\"leased\"} 1'"
gateway_stop KILL
sleep 1
ctl set $GW1 send_duration 0 >/dev/null
ctl set $GW2 send_duration 0 >/dev/null
gateway_start $GW1 $GW2
check "killed gateway: the job is sent after restart" wait_for 60 received_at_least $DEV_E 1
sent_or_delivered() { state_is "$1" wake_sent || state_is "$1" sms_delivered; }
check "killed gateway: the provider sees wake_sent" wait_for 20 sent_or_delivered "$M"

# 6. Device D never fetched: it got the configured retries (max_retries = 1: two SMS in all,
# grace and retry_base 20 s), and then no more; once the last one has had its time (a retry's
# 32-48 s), it is marked unreachable and left to its polls.
check "never-fetching device: status reports (on by default) show the SMS delivered" \
	wait_for 40 state_is "$M_D" sms_delivered
check "never-fetching device: marked unreachable" wait_for 90 sh -c \
	"curl -s -H 'Authorization: Bearer $PROVIDER_KEY' '$URL/v1/devices/$DEV_D_ID' | grep -q '\"wake_state\":\"unreachable\"'"
sleep 3
check "never-fetching device: exactly 1 + max_retries SMS" test "$(received_count $DEV_D)" -eq 2

# 7. The gateway's metrics show its modems, and it survives a server restart.
gateway_metrics >"$T/gw-metrics" 2>/dev/null
check "gateway metrics: modems healthy" grep -q "smswake_modem_healthy{modem=\"gw15550000002\"} 1" "$T/gw-metrics"
check "gateway metrics: SMS sent are counted" grep -q 'smswake_modem_sms_total{modem="gw1555000000[12]",outcome="sent"} [1-9]' "$T/gw-metrics"
server_stop
sleep 2
server_start
device_add +15550000016
M=$(submit "$DEV_ID" high)
check "server restart: the gateway reconnects and sends the next wakeup" wait_for 60 received_at_least +15550000016 1

finish
