#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# `smswake-client run` listening on the device's own modem: smswake-modem-sim simulates the GSM
# network with two modems (+15550000001, a sender; +15550000002, the device's), the client's
# [modem] section points at the device's pty, and its modem supervisor runs smswake-modem-worker
# (libgammu's AT driver) on it. Wakeups from a real server arrive as an SMS-DELIVER injected into
# the device's modem and as SMS sent over the simulated network from the other modem (binary with
# ports, and the text form); the handler gets every message once, and a replayed SMS fetches
# nothing.
. "$(dirname "$0")/client_lib.sh"

need smswake-modem-sim smswake-modem-worker smswake-modem
SIM=$BUILD/smswake-modem-sim
RUN=$TMP/run
SENDER=+15550000001
DEVICE=+15550000002

srv_start '[scheduler]
batch_window = 0s
per_hour = 0
per_day = 0'

"$SIM" -d "$RUN" -m "$SENDER" -m "$DEVICE" >>"$TMP/sim.log" 2>&1 &
BG_PIDS="$BG_PIDS $!"
if ! wait_for 10 test -e "$RUN/modem-$DEVICE"; then
	not_ok "the simulator creates the device's modem"
	exit 1
fi
ctl() { "$SIM" --ctl "$RUN" "$@" >>"$TMP/sim.log" 2>&1; }
# modem_send ARGS...: the modem CLI on the sender's modem, through its own supervisor and worker.
modem_send()
{
	echo "send $DEVICE $*" >>"$TMP/modem.log"
	timeout 60 "$BUILD/smswake-modem" -d "$RUN/modem-$SENDER" send "$DEVICE" "$@" \
		>>"$TMP/modem.log" 2>&1
}

cat >"$TMP/handler" <<EOF
#!/bin/sh
printf '%s %s\n' "\$SMSWAKE_SEQ" "\$(cat)" >>"$TMP/got"
EOF
chmod +x "$TMP/handler"
: >"$TMP/got"
got_is() { printf '%s\n' "$@" | cmp -s - "$TMP/got"; }

device_add dev "{\"msisdn\":\"$DEVICE\",\"poll_interval\":3600}" "$TMP/handler"
id=$DEV_ID
cat >>"$TMP/dev.conf" <<EOF

[modem]
device = $RUN/modem-$DEVICE
connection = at
model = at
logfile = $TMP/gammu.log
incoming_poll = 2s
EOF
check "the configuration with a [modem] section loads (-n)" client "$TMP/dev.conf" -n

"$BUILD/smswake-client" -v -c "$TMP/dev.conf" run 2>>"$TMP/client.log" &
CL=$!
BG_PIDS="$CL $BG_PIDS"
check "run polls once at start" wait_for 10 grep -q 'fetched 0 new' "$TMP/client.log"
check "the modem worker opens the device's modem" wait_for 30 grep -qi 'modem sms: ready' "$TMP/client.log"

# (1) A binary wakeup injected into the device's modem as the network would deliver it.
submit "$id" m1 >/dev/null
check "a wake job is leased" lease_job
TPDU=$(deliver_pdu "$(port_udh)" "$JOB_PAYLOAD" | sed 's/^00//')
check "the simulator takes the SMS-DELIVER for the device" ctl inject "$DEVICE" "$TPDU"
check "the handler gets m1 from the injected wakeup" wait_for 20 got_is "1 m1"

# (2) A binary wakeup sent from the other modem over the simulated network (port header).
submit "$id" m2 >/dev/null
check "a second wake job is leased" lease_job
check "the sender modem sends the binary wakeup" \
	modem_send --hex "$JOB_PAYLOAD" --port "$JOB_PORT" --src-port "$JOB_PORT"
check "the handler gets m2 from the sent wakeup" wait_for 20 got_is "1 m1" "2 m2"

# (3) The text form, for a device whose modem cannot route ports, sent as an ordinary SMS.
api PATCH "/v1/devices/$id" "$PK" '{"sms_format":"text"}' >/dev/null
submit "$id" m3 >/dev/null
check "a text wake job is leased" lease_job
check "the sender modem sends the text wakeup" modem_send --text "$JOB_TEXT"
check "the handler gets m3 from the text wakeup" wait_for 20 got_is "1 m1" "2 m2" "3 m3"

# (4) The first wakeup again (a network duplicate): stale, nothing fetched.
before=$(fetches)
handled=$(wc -l <"$TMP/got")
check "the simulator takes the replayed SMS" ctl inject "$DEVICE" "$TPDU"
check "the client drops the replay as stale" wait_for 20 grep -q 'already seen' "$TMP/client.log"
check "no fetch after the replay, the handler got nothing more" \
	test "$(fetches)" = "$before" -a "$(wc -l <"$TMP/got")" -eq "$handled"

# Stopping the client stops its modem worker too.
worker=$(ps -o pid= --ppid "$CL" 2>/dev/null | tr -d ' ' | head -n 1)
kill -TERM "$CL"
wait "$CL"
check "run stops cleanly on SIGTERM (exit 0)" test $? -eq 0
BG_PIDS=$(echo "$BG_PIDS" | sed "s/^$CL //")
check "its modem worker is gone" sh -c "[ -n '$worker' ] && ! kill -0 '$worker' 2>/dev/null"

finish
