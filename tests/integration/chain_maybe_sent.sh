#!/bin/sh
# A wakeup whose send got no answer after the SMS was handed to the modem (the network took it,
# the modem's answer was lost) is counted as sent by the gateway: the server records the send,
# and the device gets one SMS, not a second one for the same wakeup.
. tests/integration/lib_chain.sh

GW1=+15550000001
DEV=+15550000021

sim_start $GW1 $DEV
server_start "lease_time = 60
[scheduler]
batch_window = 1
grace = 600
retry_base = 600
max_retries = 1
tick_ms = 50"

GW_MODEMS_EXTRA="send_timeout = 4s" gateway_start $GW1
check "the gateway's modem becomes healthy" wait_for 90 grep -q "modem gw${GW1#+}: healthy" "$T/gateway.log"

# The modem's next send reaches the network but its answer never comes back.
ctl set $GW1 drop_answer 1 >/dev/null
device_add "$DEV"
M=$(submit "$DEV_ID" high "answer lost")
check "the wakeup reaches the device's modem" wait_for 90 received_at_least "$DEV" 1
check "the gateway says the outcome is unknown and counts it as sent" \
	wait_for 60 grep -q "outcome unknown .*counted as sent" "$T/gateway.log"
check "the provider sees wake_sent" wait_for 30 sh -c \
	"curl -s -H 'Authorization: Bearer $PROVIDER_KEY' '$URL/v1/messages/$M' | grep -q wake_sent"
# Long enough for a resend to have happened (send timeout 4 s, the gateway's back-off).
sleep 8
check "the device got exactly one SMS" test "$(received_count "$DEV")" -eq 1
check "the gateway's modem sent exactly one SMS" test "$(sent_count "$GW1")" -eq 1

finish
