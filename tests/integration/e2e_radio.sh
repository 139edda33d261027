#!/bin/sh
# End-to-end over the simulated radio: the provider submits, the gateway sends through Gammu,
# the devices' smswake-client receives on its own modem (through Gammu too), verifies, fetches
# and runs its handler. Faults on the way: lost, duplicated, delayed and reordered SMS, a
# replayed wakeup, a gateway modem that hangs, resets, loses registration, and a modem worker
# killed mid-send. Each case asserts what the device's handler saw.
. tests/integration/lib_chain.sh

GW1=+15550003001
GW2=+15550003002
DB=+15550000301   # binary wakeups
DT=+15550000302   # text wakeups
DP=+15550000303   # polls every 4 s

sim_start $GW1 $GW2 $DB $DT $DP
server_start "[scheduler]
batch_window = 1
grace = 6
retry_base = 6
max_retries = 3
per_hour = 0
per_day = 0
tick_ms = 50"
gateway_start $GW1 $GW2
sed -i 's/^send_timeout = 20s$/send_timeout = 8s/' "$T/gateway.conf"

start_device()
{
	device_add "$1" "$2" || { not_ok "register $1"; return; }
	eval "ID_$3=$DEV_ID"
	client_setup "$1" "[modem]
device = $RUN/modem-$1
connection = at
model = at"
	client_run "$1"
}
start_device $DB '"sms_format":"binary"' B
start_device $DT '"sms_format":"text"' T
start_device $DP '"poll_interval":4' P
wait_for 40 sh -c "grep -c 'healthy' '$T/gateway.log' | grep -q '^[2-9]'" || not_ok "gateway modems come up"
sleep 5 # the devices' modems open (Gammu init)

fetches() { curl -s "$URL/metrics" | sed -n 's/^smswake_http_requests_total{route="device_fetch",status="200"} \([0-9]*\)/\1/p'; }
expect_once() { [ "$(grep -c " $2\$" "$T/got-$1" 2>/dev/null)" -eq 1 ]; }
arrives() { wait_for "$3" sh -c "grep -q ' $2\$' '$T/got-$1' 2>/dev/null"; }

# Happy paths.
submit "$ID_B" high "b1" >/dev/null
check "binary wakeup: the handler gets the message" arrives $DB b1 30
submit "$ID_T" high "t1" >/dev/null
check "text wakeup: the handler gets the message" arrives $DT t1 30
check "text wakeup: the SMS was a 7-bit text" sh -c "'$BUILD/smswake-modem-sim' --ctl '$RUN' received $DT | grep -q 'text=\"SMSWAKE:'"

# A replayed wakeup (captured at the device modem, injected again) is rejected: no fetch.
PDU=$(last_received_pdu $DB)
f0=$(fetches)
ctl inject $DB "$PDU" >/dev/null
sleep 4
check "replayed wakeup: no fetch" test "$(fetches)" = "$f0"
check "replayed wakeup: the client says it was stale" grep -qi "stale\|replay\|counter" "$T/client-$DB.log"

# Duplicated SMS: both copies arrive, the handler sees the message once.
ctl set all dup 1 >/dev/null
before=$(received_count $DB)
submit "$ID_B" high "b-dup" >/dev/null
check "duplicated SMS: handled" arrives $DB b-dup 30
wait_for 10 received_at_least $DB $((before + 2))
check "duplicated SMS: two copies reached the modem" test "$(received_count $DB)" -ge $((before + 2))
sleep 2
check "duplicated SMS: the handler saw it once" expect_once $DB b-dup
ctl set all dup 0 >/dev/null

# Delayed and reordered: the first wakeup is held 12 s, its retry (6 s later) overtakes it.
ctl set all delay 12000 >/dev/null
submit "$ID_B" high "b-late" >/dev/null
wait_for 10 sh -c "'$BUILD/smswake-modem-sim' --ctl '$RUN' sent all | grep -q 'da=$DB'"
ctl set all delay 0 >/dev/null
check "reordered SMS: the retry arrives first and the message is handled" arrives $DB b-late 30
sleep 10
check "reordered SMS: the late original is refused, the handler saw the message once" expect_once $DB b-late

# Lost SMS: every wakeup dropped; the device's poll picks the message up.
ctl set all loss 1 >/dev/null
submit "$ID_P" high "p-lost" >/dev/null
check "lost SMS: the message arrives by polling" arrives $DP p-lost 20
ctl set all loss 0 >/dev/null

# A gateway modem loses registration: the other one sends.
ctl set $GW1 registered 0 >/dev/null
submit "$ID_B" high "b-noreg" >/dev/null
check "modem without registration: the message arrives" arrives $DB b-noreg 60
ctl set $GW1 registered 1 >/dev/null

# A gateway modem hangs: the worker is killed at its deadline, the job goes elsewhere.
ctl set $GW2 hang on >/dev/null
ctl set $GW1 hang on >/dev/null
submit "$ID_B" high "b-hang" >/dev/null
sleep 3
ctl set $GW1 hang off >/dev/null
check "hanging modem: the message arrives" arrives $DB b-hang 90
ctl set $GW2 hang off >/dev/null

# A modem resets (AT+CFUN=1,1 style: the link drops and comes back).
ctl set $GW1 reset >/dev/null
ctl set $GW2 reset >/dev/null
sleep 2
submit "$ID_B" high "b-reset" >/dev/null
check "modem reset: the message arrives" arrives $DB b-reset 90

# SIGKILL of the modem workers mid-send.
ctl set all send_duration 4000 >/dev/null
submit "$ID_B" high "b-kill" >/dev/null
sleep 2
pkill -KILL -f "smswake-modem-worker.*--name gw1555000300[12]" 2>/dev/null
ctl set all send_duration 0 >/dev/null
check "worker killed mid-send: the message arrives" arrives $DB b-kill 90
check "worker killed mid-send: the handler saw it once" expect_once $DB b-kill

for d in $DB $DT $DP; do
	check "$d: no message was handled twice" sh -c "[ -z \"\$(awk '{print \$1}' '$T/got-$d' | sort | uniq -d)\" ]"
done
finish
