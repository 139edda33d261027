#!/bin/sh
# Wakeup latency: time from the provider's 201 to the SMS arriving at the simulated device
# modem (zero send duration), through smswake (server, scheduler, gateway, modem worker) and
# through gammu-smsd fed by gammu-smsd-inject on the same simulator, with its default settings
# and tuned (CommTimeout = 1, LoopSleep = 1, ReceiveFrequency = 1). smswake's time is also split
# per hop, from the server's and the gateway's debug log lines and the simulator's listings.
set -eu
O=${O:-build}
N=${BENCH_LATENCY_N:-25}
SMSWAKE_BUILD=$O
export SMSWAKE_BUILD
. tests/integration/lib_chain.sh
trap '[ -n "${KEEP_LOG:-}" ] && cp "$T"/*.log "$KEEP_LOG"/ 2>/dev/null; chain_cleanup; [ -n "${SMSD_PID:-}" ] && kill $SMSD_PID 2>/dev/null; true' EXIT

GW=+15550000001
DEV=+15550000009
now_ms() { date +%s%3N; }
# arrival_ms NUMBER K: simulator time of the K-th SMS received by a modem (1-based).
arrival_ms() { ctl received "$1" | grep 'pdu=' | sed -n "${2}p" | sed 's/^time=\([0-9]*\)\.\([0-9]*\).*/\1\2/'; }
pct() { sort -n "$1" | awk -v p="$2" '{a[NR]=$1} END {i=int(NR*p/100+0.5); if (i<1) i=1; if (i>NR) i=NR; print a[i]}'; }

sim_start $GW $DEV
# Nothing reads the device modem: room for every SMS of both runs.
ctl set $DEV storage_size 255 >/dev/null
server_start "log_level = debug
[scheduler]
tick_ms = 50
per_hour = 0
per_day = 0"
GW_HEALTH=60s gateway_start $GW
wait_for 30 grep -q "healthy" "$T/gateway.log" || { echo "gateway did not come up" >&2; exit 1; }
device_add $DEV
: >"$T/smswake.ms"
: >"$T/t201"
# One warm-up message first (the gateway's first lease and the modem's first send are not
# steady state), then N measured ones.
for k in $(seq 0 "$N"); do
	idx=$((k + 1))
	# The 201's time: when curl started plus its own total time (curl's exit is later).
	tb=$(now_ms)
	took=$(api -o /dev/null -w '%{time_total}' -H 'Urgency: high' -d "m$k" "$URL/v1/devices/$DEV_ID/messages")
	t0=$(awk -v b="$tb" -v t="$took" 'BEGIN{printf "%.0f", b + t * 1000}')
	echo "$t0" >>"$T/t201"
	wait_for 30 received_at_least $DEV "$idx" || { echo "smswake: SMS $idx did not arrive" >&2; exit 1; }
	[ "$k" = 0 ] || echo $(($(arrival_ms $DEV "$idx") - t0)) >>"$T/smswake.ms"
	# The device answers its wakeup, so the next message is not held back as "in flight".
	curl -s -o /dev/null -H "Authorization: Bearer $DEV_TOKEN" "$URL/v1/device/messages"
	sleep 0.3
done
gateway_stop TERM
sleep 1

# Per hop and message: the times the debug lines and the simulator give, matched by job (the
# K-th wake job is the K-th message's: one wakeup each, the device fetches in between).
log_ms() { sed -n "$2" "$1" | head -n 1 | awk '{
	split($1, d, /[-T:.Z]/)
	cmd = "date -u -d " d[1] "-" d[2] "-" d[3] " +%s"; cmd | getline day; close(cmd)
	printf "%.0f\n", ((day + d[4] * 3600 + d[5] * 60 + d[6]) * 1000 + d[7])
}'; }
sent_ms() { ctl sent "$1" | grep 'pdu=' | sed -n "${2}p" | sed 's/^time=\([0-9]*\)\.\([0-9]*\).*/\1\2/'; }
: >"$T/hops"
for idx in $(seq 2 $((N + 1))); do
	job=$(sed -n 's/.*\[debug\] device [0-9]*: wake job \([0-9]*\) .*/\1/p' "$T/server.log" | sed -n "${idx}p")
	tjob=$(log_ms "$T/server.log" "/\[debug\] device [0-9]*: wake job $job /p")
	tlease=$(log_ms "$T/gateway.log" "/\[debug\] job $job leased\$/p")
	thand=$(log_ms "$T/gateway.log" "/: job $job handed to the worker as /p")
	sv=$(sed -n "s/.*: job $job handed to the worker as \([0-9]*\)\$/\1/p" "$T/gateway.log" | head -n 1)
	tstart=$(log_ms "$T/gateway.log" "/: job $sv: sending\$/p")
	tret=$(log_ms "$T/gateway.log" "/: job $sv: handed to the modem\$/p")
	tans=$(log_ms "$T/gateway.log" "/: job $sv: the modem answered/p")
	tsent=$(sent_ms $GW "$idx")
	tarr=$(arrival_ms $DEV "$idx")
	t0=$(sed -n "${idx}p" "$T/t201")
	echo "$((tjob - t0)) $((tlease - tjob)) $((thand - tlease)) $((tstart - thand)) $((tret - tstart)) $((tans - tret)) $((tsent - tstart)) $((tarr - tsent))" >>"$T/hops"
done

# gammu-smsd on the same simulated modem, files backend: smsd_run NAME [SMSD SETTINGS...] writes
# NAME.ms. Run with its defaults, then tuned: CommTimeout = 1 and LoopSleep = 1 (its main loop's
# sleeps) and ReceiveFrequency = 1.
smsd_run() {
	name=$1
	shift
	mkdir -p "$T/$name/inbox" "$T/$name/outbox" "$T/$name/sent" "$T/$name/error"
	{
		printf '[gammu]\ndevice = %s\nconnection = at\nmodel = at\n[smsd]\nservice = files\n' "$RUN/modem-$GW"
		printf 'inboxpath = %s/\noutboxpath = %s/\n' "$T/$name/inbox" "$T/$name/outbox"
		printf 'sentsmspath = %s/\nerrorsmspath = %s/\nlogfile = %s\n' "$T/$name/sent" "$T/$name/error" "$T/$name.log"
		for setting in "$@"; do printf '%s\n' "$setting"; done
	} >"$T/$name.rc"
	gammu-smsd -c "$T/$name.rc" &
	SMSD_PID=$!
	sleep 6
	base=$(received_count $DEV)
	: >"$T/$name.ms"
	for k in $(seq "$N"); do
		gammu-smsd-inject -c "$T/$name.rc" TEXT "$DEV" -text "m$k" >/dev/null 2>&1
		t0=$(now_ms)
		wait_for 60 received_at_least $DEV $((base + k)) || { echo "gammu-smsd ($name): SMS $k did not arrive" >&2; exit 1; }
		echo $(($(arrival_ms $DEV $((base + k))) - t0)) >>"$T/$name.ms"
		sleep 0.3
	done
	kill $SMSD_PID
	wait $SMSD_PID 2>/dev/null || true
	SMSD_PID=
}
smsd_run smsd
smsd_run smsd-tuned 'CommTimeout = 1' 'LoopSleep = 1' 'ReceiveFrequency = 1'

echo "smswake samples (ms): $(tr "\n" " " <"$T/smswake.ms")" >&2
s50=$(pct "$T/smswake.ms" 50); s99=$(pct "$T/smswake.ms" 99)
g50=$(pct "$T/smsd.ms" 50); g99=$(pct "$T/smsd.ms" 99)
t50=$(pct "$T/smsd-tuned.ms" 50); t99=$(pct "$T/smsd-tuned.ms" 99)
echo "gammu-smsd tuned samples (ms): $(tr "\n" " " <"$T/smsd-tuned.ms")" >&2
# One row per hop: p50 / p99 of column COL of $T/hops.
hop_row() {
	awk -v c="$1" '{print $c}' "$T/hops" >"$T/hop.ms"
	printf 'smswake hop: %s, p50 / p99\t%s / %s\tms\t-\t-\n' "$2" "$(pct "$T/hop.ms" 50)" "$(pct "$T/hop.ms" 99)"
}
echo "smswake hops per message (ms; 201>job job>lease lease>worker worker>send send>returned returned>answer send>sim sent>arrival): $(tr "\n" "," <"$T/hops")" >&2
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", (b>0)?a/b:0}'; }
met() { awk -v r="$1" -v g="$2" 'BEGIN{print (r>=g)?"yes":"no"}'; }
ratio=$(ratio "$g50" "$s50")
r50=$(ratio "$t50" "$s50")
r99=$(ratio "$t99" "$s99")
{
	printf '201 -> PDU at device modem, smswake p50 / p99\t%s / %s\tms\t-\t-\n' "$s50" "$s99"
	printf '201 -> PDU at device modem, gammu-smsd defaults p50 / p99\t%s / %s\tms\t-\t-\n' "$g50" "$g99"
	printf 'wakeup latency p50, gammu-smsd defaults / smswake\t%s\tratio\t>= 3\t%s\n' "$ratio" "$(met "$ratio" 3)"
	printf '201 -> PDU at device modem, gammu-smsd tuned p50 / p99 (CommTimeout, LoopSleep, ReceiveFrequency = 1)\t%s / %s\tms\t-\t-\n' "$t50" "$t99"
	printf 'wakeup latency p50, gammu-smsd tuned / smswake\t%s\tratio\t>= 1.5\t%s\n' "$r50" "$(met "$r50" 1.5)"
	printf 'wakeup latency p99, gammu-smsd tuned / smswake\t%s\tratio\t>= 2\t%s\n' "$r99" "$(met "$r99" 2)"
	hop_row 1 '201 -> wake job created (scheduler)'
	hop_row 2 'job created -> leased by the gateway'
	hop_row 3 'leased -> handed to the modem worker'
	hop_row 4 'handed -> worker starts the send'
	hop_row 5 'worker start of send -> GSM_SendSMS returned'
	hop_row 6 'GSM_SendSMS returned -> modem answer (+CMGS)'
	hop_row 7 'worker start of send -> SMS at the simulated network'
	hop_row 8 'SMS sent -> arrival at the device modem (simulator)'
} >>"${BENCH_RESULTS:-/dev/stdout}"
