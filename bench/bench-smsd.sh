#!/bin/sh
# Wakeup-to-RunOnReceive latency of gammu-smsd on the simulated network, with its default
# ReceiveFrequency (15 s) and with the setting docs/client.md recommends (1 s): how long a device
# that takes its SMS through gammu-smsd waits before smswake-client even hears of a wakeup.
# gammu-smsd reads new SMS only on its ReceiveFrequency tick (it ignores +CMTI for them), so the
# latency is spread over the whole tick. Each sample waits a different fraction of the tick
# before the wakeup is injected (a seeded random point), so samples are not phase-locked to the
# loop.
#
#   O=build sh bench/bench-smsd.sh          (SAMPLES=20 SAMPLES_DEFAULT=6 by default)
#
# Appends rows to $BENCH_RESULTS when run by bench/run-bench.sh, else prints them.
set -u
O=${O:-build}
SIM=$O/smswake-modem-sim
SAMPLES=${SAMPLES:-20}
SAMPLES_DEFAULT=${SAMPLES_DEFAULT:-6}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/smswake-bench-smsd.XXXXXX")
SIM_PID=
SMSD_PID=
D=+15550000002

cleanup()
{
	[ -n "$SMSD_PID" ] && kill "$SMSD_PID" 2>/dev/null && wait "$SMSD_PID" 2>/dev/null
	[ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null && wait "$SIM_PID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE

row()
{
	if [ -n "${BENCH_RESULTS:-}" ]; then
		printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$BENCH_RESULTS"
	else
		printf '%-58s %10s %-4s %-12s %s\n' "$@"
	fi
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }

if [ ! -x "$SIM" ] || ! command -v gammu-smsd >/dev/null; then
	echo "bench-smsd: needs $SIM and gammu-smsd" >&2
	exit 1
fi
"$SIM" -d "$TMP/run" -m +15550000001 -m "$D" >"$TMP/sim.log" 2>&1 &
SIM_PID=$!
i=0
while [ ! -f "$TMP/run/pid" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done

cat >"$TMP/onreceive.sh" <<'EOT'
#!/bin/sh
echo $(($(date +%s%N) / 1000000)) >>"$(dirname "$0")/received"
EOT
chmod +x "$TMP/onreceive.sh"

# measure NAME RECEIVEFREQUENCY N: N samples, prints "p50 max" in ms.
measure()
{
	S=$TMP/smsd-$1
	mkdir -p "$S/inbox" "$S/outbox" "$S/sent" "$S/error"
	rf_line=""
	[ "$2" = default ] || rf_line="receivefrequency = $2"
	cat >"$S/smsdrc" <<EOT
[gammu]
device = $TMP/run/modem-$D
connection = at
model = at
[smsd]
service = files
inboxpath = $S/inbox/
outboxpath = $S/outbox/
sentsmspath = $S/sent/
errorsmspath = $S/error/
inboxformat = detail
logfile = $S/log
runonreceive = $TMP/onreceive.sh
$rf_line
EOT
	: >"$TMP/received"
	gammu-smsd -c "$S/smsdrc" -p "$S/pid" >"$S/out" 2>&1 &
	SMSD_PID=$!
	i=0
	while ! grep -q 'Starting phone communication' "$S/log" 2>/dev/null && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	sleep 2
	tick=${2#default}
	tick=${tick:-15}
	: >"$TMP/lat"
	n=0
	while [ $n -lt "$3" ]; do
		n=$((n + 1))
		# A random point of the tick (seeded: the same points on every run).
		sleep "$(awk -v n=$n -v t="$tick" 'BEGIN { srand(n); printf "%.2f", rand() * t }')"
		t0=$(now_ms)
		"$SIM" --ctl "$TMP/run" inject "$D" 440B915155000000F10004621162607555000A06050423F01234C0FFEE >/dev/null
		i=0
		while [ "$(wc -l <"$TMP/received")" -lt $n ] && [ $i -lt 600 ]; do
			sleep 0.05
			i=$((i + 1))
		done
		t1=$(sed -n "${n}p" "$TMP/received")
		[ -n "$t1" ] && echo $((t1 - t0)) >>"$TMP/lat"
	done
	kill "$SMSD_PID" 2>/dev/null
	wait "$SMSD_PID" 2>/dev/null
	SMSD_PID=
	echo "# samples (ms): $(tr "\n" " " <"$TMP/lat")" >&2
	sort -n "$TMP/lat" | awk '{ v[NR] = $1 } END { if (NR == 0) print "- - -"; else print v[int((NR + 1) / 2)], v[int(NR * 0.9 + 0.5)], v[NR] }'
}

# shellcheck disable=SC2046
set -- $(measure recommended 1 "$SAMPLES")
row "gammu-smsd wakeup to RunOnReceive, ReceiveFrequency=1, p50" "$1" ms "< 2000" "$([ "$1" != - ] && [ "$1" -lt 2000 ] && echo yes || echo no)"
row "gammu-smsd wakeup to RunOnReceive, ReceiveFrequency=1, p90" "$2" ms "-" "-"
row "gammu-smsd wakeup to RunOnReceive, ReceiveFrequency=1, max" "$3" ms "-" "-"
if [ "$SAMPLES_DEFAULT" -gt 0 ]; then
	# shellcheck disable=SC2046
	set -- $(measure default default "$SAMPLES_DEFAULT")
	row "gammu-smsd wakeup to RunOnReceive, default (15 s), p50" "$1" ms "-" "-"
	row "gammu-smsd wakeup to RunOnReceive, default (15 s), max" "$3" ms "-" "-"
fi
