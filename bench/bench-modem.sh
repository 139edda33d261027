#!/bin/sh
# Modem-layer throughput on the simulated network (zero send duration): SMS per minute through
# one modem for a bare GSM_SendSMS loop on one Gammu state machine (bench/modem-raw) and for the
# modem layer (bench/modem-layer: supervisor, worker process, queue, deadlines), their ratio
# (goal >= 0.9: the layer adds almost nothing to Gammu's own cost), and for 4 modems in parallel
# through the layer (goal >= 3.6x one modem). Gammu's AT driver sleeps about 0.7 s per send, so
# expect about 85 SMS/min per modem. A figure counts only if the simulator saw every message go
# out and arrive; otherwise its row says "failed".
#
# BENCH_MODEM_N: messages per modem and run (default 20, about 15 s a run).
set -eu
O=${O:-build}
N=${BENCH_MODEM_N:-20}
SIM=$O/smswake-modem-sim
RAW=$O/bench/modem-raw
LAYER=$O/bench/modem-layer
DEST=+15550000001
S1=+15550000002
S2=+15550000003
S3=+15550000004
S4=+15550000005
PORT=2948

for p in "$SIM" "$RAW" "$LAYER" "$O/smswake-modem-worker"; do
	[ -x "$p" ] || { echo "bench-modem: $p missing (make O=$O all)" >&2; exit 1; }
done
# The destination keeps every message (nothing reads it): 6 N must fit its 255 slots.
if [ "$N" -lt 1 ] || [ $((6 * N)) -gt 255 ]; then
	echo "bench-modem: BENCH_MODEM_N must be 1..42" >&2
	exit 1
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/smswake-bench-modem.XXXXXX")
sim_pid=
cleanup()
{
	if [ -n "$sim_pid" ]; then
		kill "$sim_pid" 2>/dev/null || true
		wait "$sim_pid" 2>/dev/null || true
	fi
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

cat >"$dir/sim.ini" <<CONF
[defaults]
send_duration = 0
storage_size = 255
CONF
"$SIM" -d "$dir/run" -c "$dir/sim.ini" -m $DEST -m $S1 -m $S2 -m $S3 -m $S4 >"$dir/sim.log" 2>&1 &
sim_pid=$!
i=0
while [ ! -f "$dir/run/pid" ]; do
	i=$((i + 1))
	[ "$i" -le 100 ] || { echo "bench-modem: simulator did not start" >&2; cat "$dir/sim.log" >&2; exit 1; }
	sleep 0.1
done
ctl() { "$SIM" --ctl "$dir/run" "$@"; }
dev() { echo "$dir/run/modem-$1"; }

# run_tag RUN: how the payload of that run starts in the simulator's ud= field (2 octets).
run_tag() { printf '%04X' "$1"; }
# sent_ok NUMBER RUN: distinct messages of the run the modem sent and the network accepted.
sent_ok()
{
	ctl sent "$1" | grep -E 'status=(accepted|pending|delivered) ' |
		grep -o "ud=$(run_tag "$2")[0-9A-F]*" | sort -u | wc -l
}
# received_ok RUN: distinct messages of the run stored at the destination, on our port.
received_ok()
{
	ctl received $DEST | grep "dport=$PORT " | grep -o "ud=$(run_tag "$1")[0-9A-F]*" | sort -u | wc -l
}
# verify RUN SENDER...: every sender sent N messages of the run and all N x senders arrived.
verify()
{
	run=$1
	shift
	want=$((N * $#))
	for s in "$@"; do
		got=$(sent_ok "$s" "$run")
		if [ "$got" -ne "$N" ]; then
			echo "bench-modem: run $run: $s sent $got of $N" >&2
			return 1
		fi
	done
	# Zero delay: delivery follows acceptance at once; allow for a busy machine.
	i=0
	while [ "$(received_ok "$run")" -lt "$want" ] && [ "$i" -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	got=$(received_ok "$run")
	if [ "$got" -ne "$want" ]; then
		echo "bench-modem: run $run: $DEST received $got of $want" >&2
		return 1
	fi
}
# rate FILE: the sms_per_min field of a modem-raw/modem-layer result line.
rate() { sed -n 's/.* sms_per_min=\([0-9.]*\).*/\1/p' "$1"; }

# measure RUN OUT SENDERS COMMAND...: runs one benchmark, checks it on the simulator, writes the
# SMS/min to OUT or "failed".
measure()
{
	run=$1
	out=$2
	senders=$3
	shift 3
	ctl forget all >/dev/null
	echo "bench-modem: run $run: $*" >&2
	if "$@" >"$dir/run$run.txt" 2>"$dir/run$run.err" && verify "$run" $senders; then
		cat "$dir/run$run.txt" >&2
		rate "$dir/run$run.txt" >"$out"
	else
		cat "$dir/run$run.txt" "$dir/run$run.err" >&2
		echo failed >"$out"
	fi
}

measure 1 "$dir/raw" "$S1" "$RAW" -d "$(dev $S1)" -t $DEST -n "$N" -p $PORT -r 1
measure 2 "$dir/one" "$S1" "$LAYER" -t $DEST -n "$N" -p $PORT -r 2 -W "$O/smswake-modem-worker" "$(dev $S1)"
measure 3 "$dir/four" "$S1 $S2 $S3 $S4" "$LAYER" -t $DEST -n "$N" -p $PORT -r 3 \
	-W "$O/smswake-modem-worker" "$(dev $S1)" "$(dev $S2)" "$(dev $S3)" "$(dev $S4)"

raw=$(cat "$dir/raw")
one=$(cat "$dir/one")
four=$(cat "$dir/four")
# ratio A B GOAL: "value<TAB>met", or "failed<TAB>no" when either figure is missing.
ratio()
{
	case "$1$2" in
	*failed*) printf 'failed\tno' ;;
	*) awk -v a="$1" -v b="$2" -v g="$3" 'BEGIN{r=a/b; printf "%.2f\t%s", r, (r>=g)?"yes":"no"}' ;;
	esac
}
num() { case "$1" in failed) printf 'failed' ;; *) printf '%.1f' "$1" ;; esac; }
{
	printf 'modem: bare GSM_SendSMS loop, 1 modem (N=%s)\t%s\tSMS/min\t-\t-\n' "$N" "$(num "$raw")"
	printf 'modem: layer (supervisor+worker), 1 modem\t%s\tSMS/min\t-\t-\n' "$(num "$one")"
	printf 'modem: layer / bare Gammu loop\t%s\n' "$(ratio "$one" "$raw" 0.9 | awk -F'\t' '{printf "%s\tratio\t>= 0.9\t%s", $1, $2}')"
	printf 'modem: layer, 4 modems in parallel\t%s\tSMS/min\t-\t-\n' "$(num "$four")"
	printf 'modem: 4 modems / 1 modem\t%s\n' "$(ratio "$four" "$one" 3.6 | awk -F'\t' '{printf "%s\tratio\t>= 3.6\t%s", $1, $2}')"
} >>"${BENCH_RESULTS:-/dev/stdout}"
