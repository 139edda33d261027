#!/bin/sh
# Outages without SMS bursts, through the whole chain (server, gateway, modem workers, simulator):
# devices waiting through a gateway outage longer than the whole retry schedule get exactly one
# wakeup each when a gateway comes back, and none is declared unreachable; the server says that
# no gateway is taking jobs meanwhile. The same when the gateway runs but its only modem is
# unhealthy. A modem that refuses sends is not hammered: attempts are seconds apart.
. tests/integration/lib_chain.sh

GW1=+15550000001
DEVS_A="+15550000021 +15550000022 +15550000023"
DEVS_B="+15550000031 +15550000032"
DEV_C=+15550000041

sim_start $GW1 $DEVS_A $DEVS_B $DEV_C
# The whole retry schedule (a wakeup, max_retries = 1 retry after 6-7.2 s, then unreachable)
# fits in 10 s; each outage below lasts longer than that.
server_start "lease_time = 20
[scheduler]
batch_window = 1
grace = 6
retry_base = 6
max_retries = 1
tick_ms = 50"

# add_devices NUMBER...: registers each device and queues one high message for it; the ids,
# tokens and message ids go to $T/ids-NUMBER.
add_devices()
{
	for n in "$@"; do
		device_add "$n" || { not_ok "device $n registered"; continue; }
		m=$(submit "$DEV_ID" high "urgent for $n")
		echo "$DEV_ID $DEV_TOKEN $m" >"$T/ids-$n"
	done
}
dev_id() { awk '{print $1}' "$T/ids-$1"; }
dev_token() { awk '{print $2}' "$T/ids-$1"; }
dev_msg() { awk '{print $3}' "$T/ids-$1"; }

# answer_wakeups NUMBER...: in the background, each device fetches as soon as its modem has the
# wakeup, as a device does (stopped with answer_stop).
answer_wakeups()
{
	(
		while :; do
			for n in "$@"; do
				[ -f "$T/answered-$n" ] && continue
				if [ "$(received_count "$n")" -ge 1 ]; then
					device_fetch "$(dev_token "$n")" >/dev/null && touch "$T/answered-$n"
				fi
			done
			sleep 0.2
		done
	) &
	ANSWER_PID=$!
	PIDS="$PIDS $ANSWER_PID"
}
answer_stop() { kill "$ANSWER_PID" 2>/dev/null; wait "$ANSWER_PID" 2>/dev/null; }

modem_healthy_is() { [ "$(gateway_metric 'smswake_modem_healthy{modem="gw15550000001"}')" = "$1" ]; }
none_unreachable()
{
	for n in "$@"; do
		[ "$(wake_state "$(dev_id "$n")")" != unreachable ] || return 1
	done
}
received_all() { for n in $2; do received_at_least "$n" "$1" || return 1; done; }
received_exactly()
{
	for n in $2; do
		c=$(received_count "$n")
		[ "$c" -eq "$1" ] || { echo "# $n received $c SMS" >&2; return 1; }
	done
}
# once_each EVENT NUMBER...: every device's message shows EVENT exactly once.
once_each()
{
	ev=$1
	shift
	for n in "$@"; do
		[ "$(message_events "$(dev_msg "$n")" | grep -c "^$ev ")" -eq 1 ] && continue
		message_events "$(dev_msg "$n")" | sed "s/^/# $n: /"
		return 1
	done
}

# A. No gateway at all, for longer than the whole retry schedule.
add_devices $DEVS_A
check "no gateway: the server says so (metric)" wait_for 30 metric_is smswake_wake_no_gateway 1
check "no gateway: the server says so (/healthz detail, still 200)" \
	sh -c "curl -fs '$URL/healthz' | grep -q '\"gateways\":\"none_taking_jobs\"'"
check "no gateway: the server says so (log)" grep -q "no gateway is taking wake jobs" "$T/server.log"
sleep 12
check "no gateway: one wake job per device, however long" metric_is 'smswake_wake_jobs{state="queued"}' 3
check "no gateway: no device declared unreachable" none_unreachable $DEVS_A
check "no gateway: the messages say their wakeup is delayed" once_each wake_delayed $DEVS_A

answer_wakeups $DEVS_A
GW_MODEMS_EXTRA="backoff_max = 10s" # a modem's recovery ladder retries within seconds here
gateway_start $GW1
check "gateway back: every waiting device gets its wakeup" wait_for 60 received_all 1 "$DEVS_A"
check "gateway back: every device answered" wait_for 20 sh -c \
	"for n in $DEVS_A; do [ -f '$T'/answered-\$n ] || exit 1; done"
sleep 10 # longer than a retry would wait
answer_stop
check "gateway back: exactly one SMS per waiting device" received_exactly 1 "$DEVS_A"
check "gateway back: no device unreachable" none_unreachable $DEVS_A
check "gateway back: no device was ever declared unreachable" metric_is smswake_wake_unreachable_total 0
check "gateway back: the gateway sent exactly 3" test "$(gateway_metric 'smswake_modem_sms_total{modem="gw15550000001",outcome="sent"}')" = 3
check "gateway back: the server no longer reports the outage" wait_for 10 metric_is smswake_wake_no_gateway 0
check "gateway back: each message shows its wakeup once" once_each wake_sent $DEVS_A
# The devices fetched within a fraction of a second of the SMS, often before the gateway's
# report: the history is still in the order things happened, times never going back.
in_order()
{
	for n in "$@"; do
		message_events "$(dev_msg "$n")" | awk '
			{ if ($2 < last) bad = 1; last = $2 }
			$1 == "wake_sent" && !fetched { sent = 1 }
			$1 == "fetched" { fetched = 1 }
			END { exit bad || !sent || !fetched }' || return 1
	done
}
check "gateway back: wake_sent comes before fetched, in time order" in_order $DEVS_A

# B. The gateway runs, but its only modem is unhealthy (not registered) for longer than the
# schedule: it leases nothing, the devices wait, and get one wakeup each once the modem is back.
ctl set $GW1 registered 0 >/dev/null
check "unhealthy modem: the gateway sees it" wait_for 60 modem_healthy_is 0
sleep 7 # the lease request in flight when it turned unhealthy has ended (lease_wait = 5 s)
add_devices $DEVS_B
check "unhealthy modem: the server says no gateway takes jobs" wait_for 30 metric_is smswake_wake_no_gateway 1
sleep 12
check "unhealthy modem: nothing sent meanwhile" received_exactly 0 "$DEVS_B"
check "unhealthy modem: no device declared unreachable" none_unreachable $DEVS_B
answer_wakeups $DEVS_B
ctl set $GW1 registered 1 >/dev/null
check "modem back: every waiting device gets its wakeup" wait_for 120 received_all 1 "$DEVS_B"
check "modem back: every device answered" wait_for 20 sh -c \
	"for n in $DEVS_B; do [ -f '$T'/answered-\$n ] || exit 1; done"
sleep 10
answer_stop
check "modem back: exactly one SMS per waiting device" received_exactly 1 "$DEVS_B"
check "modem back: no device unreachable" none_unreachable $DEVS_B
check "modem back: no device was ever declared unreachable" metric_is smswake_wake_unreachable_total 0

# C. A modem that refuses the next two sends: the job is tried again seconds later, not in a
# loop, and the third attempt goes out.
ctl set $GW1 cms_error 2 >/dev/null
add_devices $DEV_C
check "refusing modem: the wakeup goes out in the end" wait_for 90 received_at_least $DEV_C 1
has_event() { message_events "$1" | grep -q "^$2 "; }
wait_for 20 has_event "$(dev_msg $DEV_C)" wake_sent
message_events "$(dev_msg $DEV_C)" >"$T/events-c"
check "refusing modem: two failed attempts recorded" test "$(grep -c '^wake_failed ' "$T/events-c")" -eq 2
check "refusing modem: the attempts were at least 3 s apart" awk '
	$1 == "wake_failed" || $1 == "wake_sent" { if (prev && $2 - prev < 3000) bad = 1; prev = $2 }
	END { exit bad }' "$T/events-c"
sed 's/^/# /' "$T/events-c"

finish
