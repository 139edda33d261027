#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Wakeups per second through smswake-gateway into Kannel: smswake-server with N devices, one
# high message each, the gateway with only a [kannel] section, and bearerbox + smsbox +
# fakesmsc (the fakesmsc configuration of docs/operations.md) on loopback. The clock runs from
# the gateway's start (with every device's wake job due) to the last wakeup fakesmsc received; a figure counts only if every device
# got exactly one. Printed next to the modem pool's SMS per minute (bench-modem.sh's figure of
# one modem through the layer, when it ran before).
#
# BENCH_KANNEL_N: devices (default 300). BENCH_KANNEL_CONCURRENCY: [kannel] concurrency (16).
set -eu
O=${O:-build}
N=${BENCH_KANNEL_N:-300}
CONC=${BENCH_KANNEL_CONCURRENCY:-16}
SINK=$O/tests/http-sink
FAKESMSC=/usr/lib/kannel/test/fakesmsc
BEARERBOX=$(command -v bearerbox || echo /usr/sbin/bearerbox)
SMSBOX=$(command -v smsbox || echo /usr/sbin/smsbox)
RESULTS=${BENCH_RESULTS:-/dev/stdout}

for p in "$O/smswake-server" "$O/smswakectl" "$O/smswake-gateway" "$SINK" "$FAKESMSC" "$BEARERBOX" "$SMSBOX"; do
	[ -x "$p" ] || { echo "bench-sms-kannel: $p missing (make all; Debian packages kannel, kannel-extras)" >&2; exit 1; }
done

dir=$(mktemp -d "${TMPDIR:-/tmp}/smswake-bench-kannel.XXXXXX")
pids=
cleanup()
{
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
fail()
{
	echo "bench-sms-kannel: $*" >&2
	printf 'kannel: wakeups through the gateway into fakesmsc\tfailed\twakeups/s\t-\tno\n' >>"$RESULTS"
	exit 0
}
wait_for()
{
	n=$(($1 * 10))
	shift
	while [ "$n" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

# shellcheck disable=SC2046
set -- $("$SINK" --ports 4)
awk '/^```text kannel-fakesmsc$/ {on = 1; next} on && /^```$/ {exit} on' docs/operations.md |
	sed -e "s/= 13000\$/= $1/" -e "s/= 13001\$/= $2/" -e "s/= 13013\$/= $3/" -e "s/= 10000\$/= $4/" \
		-e "s|/var/log/kannel|$dir|" -e 's/^log-level = 0$/log-level = 2/' >"$dir/kannel.conf"
BOX_PORT=$2 SEND_PORT=$3 FAKE_PORT=$4
"$BEARERBOX" "$dir/kannel.conf" >/dev/null 2>&1 &
pids="$pids $!"
wait_for 30 sh -c "ss -ltn | grep -q ':$BOX_PORT '" || fail "bearerbox does not start"
"$SMSBOX" "$dir/kannel.conf" >/dev/null 2>&1 &
pids="$pids $!"
"$FAKESMSC" -H 127.0.0.1 -r "$FAKE_PORT" -i 3600 -m 0 "1 2 text nop" >"$dir/fakesmsc.out" 2>&1 &
pids="$pids $!"
wait_for 30 sh -c "curl -s 'http://127.0.0.1:$SEND_PORT/cgi-bin/sendsms' | grep -qi authorization" || fail "smsbox does not start"

printf '[server]\nlisten = 127.0.0.1:0\ndata_dir = %s/data\n[scheduler]\nbatch_window = 0\nper_hour = 0\nper_day = 0\ntick_ms = 50\n' \
	"$dir" >"$dir/server.conf"
KEY=$("$O/smswakectl" -c "$dir/server.conf" provider add bench)
GW=$("$O/smswakectl" -c "$dir/server.conf" gateway add bench)
"$O/smswake-server" -c "$dir/server.conf" 2>"$dir/server.log" &
pids="$pids $!"
wait_for 20 test -s "$dir/data/ports" || fail "server does not start"
URL=http://127.0.0.1:$(awk '{print $2; exit}' "$dir/data/ports")

ids=
i=0
while [ "$i" -lt "$N" ]; do
	id=$(curl -sS -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
		-d "{\"msisdn\":\"+49155$(printf '%07d' "$i")\",\"poll_interval\":86400}" "$URL/v1/devices" |
		sed -n 's/.*"id":\([0-9]*\).*/\1/p')
	[ -n "$id" ] || fail "device registration"
	ids="$ids $id"
	i=$((i + 1))
done

(umask 077 && sed -n 's/^password = //p' "$dir/kannel.conf" >"$dir/kannel.password")
cat >"$dir/gateway.conf" <<EOF
[gateway]
server = $URL
token = $GW
lease_wait = 5s
log_level = warn
[kannel]
url = http://127.0.0.1:$SEND_PORT/cgi-bin/sendsms
username = smswake
password_file = $dir/kannel.password
concurrency = $CONC
EOF
got() { grep -c 'Got message' "$dir/fakesmsc.out" || true; }
# Submits 8 at a time before the gateway starts; only the curls are waited for, not the
# servers this shell started.
subs=
for id in $ids; do
	curl -sS -o /dev/null -H "Authorization: Bearer $KEY" -H 'Urgency: high' -H 'Content-Type: text/plain' \
		-d "bench" "$URL/v1/devices/$id/messages" &
	subs="$subs $!"
	if [ $((id % 8)) -eq 0 ]; then
		for p in $subs; do wait "$p" || true; done
		subs=
	fi
done
for p in $subs; do wait "$p" || true; done
# Every device now has a due wake job waiting for a gateway: the clock runs from the gateway's
# start.
start=$(date +%s%N)
"$O/smswake-gateway" -c "$dir/gateway.conf" 2>"$dir/gateway.log" &
pids="$pids $!"
wait_for 300 sh -c "[ \$(grep -c 'Got message' '$dir/fakesmsc.out') -ge $N ]" || fail "only $(got) of $N wakeups arrived"
end=$(date +%s%N)
sleep 2
[ "$(got)" -eq "$N" ] || fail "$(got) wakeups for $N devices"
dups=$(sed -n 's/.*Got message [0-9]*: <[^ ]* \([^ ]*\) .*/\1/p' "$dir/fakesmsc.out" | sort | uniq -d | wc -l)
[ "$dups" -eq 0 ] || fail "$dups devices got more than one wakeup"

rate=$(awk -v n="$N" -v ns=$((end - start)) 'BEGIN{printf "%.1f", n / (ns / 1e9)}')
modem=
[ ! -f "$RESULTS" ] || modem=$(awk -F'\t' '$1 == "modem: layer (supervisor+worker), 1 modem" {print $2}' "$RESULTS" | tail -n 1)
{
	printf 'kannel: wakeups through the gateway into fakesmsc (N=%s, concurrency %s)\t%s\twakeups/s\t-\t-\n' \
		"$N" "$CONC" "$rate"
	printf 'kannel: the same in SMS per minute\t%s\tSMS/min\t-\t-\n' \
		"$(awk -v r="$rate" 'BEGIN{printf "%.0f", r * 60}')"
	case "$modem" in
	'' | failed) printf 'kannel / one modem through the layer\tn/a\tratio\t-\t-\n' ;;
	*) printf 'kannel / one modem through the layer (%s SMS/min)\t%s\tratio\t-\t-\n' "$modem" \
		"$(awk -v r="$rate" -v m="$modem" 'BEGIN{printf "%.0f", r * 60 / m}')" ;;
	esac
} >>"$RESULTS"
