#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Scale-out on one PostgreSQL database: three smswake-servers, every one running its wake
# scheduler, two gateways (each with a simulated modem and a token of its own) leasing from two
# of them. (1) A provider's daily SMS budget holds across the three schedulers deciding at once
# (a budget raised while nine devices wait for it): the modems send exactly that many wakeups. (2) A burst of submits through all three servers
# while the server one gateway leases from is SIGKILLed (holding that gateway's leased jobs)
# and restarted: one wakeup per device, no job sent twice, the jobs leased through the killed
# server are reported after its restart, and every message answered 201 reaches its device
# exactly once and in order.
. tests/integration/lib_chain.sh

if ! sh tests/lib/pgtmp.sh available || ! command -v psql >/dev/null 2>&1; then
	echo "SKIP chain_scaleout_pg.sh: PostgreSQL is not installed (Debian: postgresql)"
	exit 0
fi
chmod 755 "$T" # the cluster's owner (postgres when run as root) must reach its directory
DSN=$(sh tests/lib/pgtmp.sh start "$T/pg") || { not_ok "PostgreSQL test cluster starts"; exit 1; }
sql() { psql -X -q -A -t -d "$DSN" -c "$1"; }
head -c 32 /dev/urandom >"$T/master.key"
chmod 600 "$T/master.key"
for s in a b c; do
	mkdir -p "$T/$s"
	# Leases long enough that a report held back by the SIGKILL comes before they run out;
	# retries later than the test lasts, so every SMS a device gets is a decision's first.
	printf '[server]\nlisten = 127.0.0.1:0\ndata_dir = %s/%s\nmaster_key_file = %s/master.key\nlease_time = 60\nlog_level = debug\n' \
		"$T" "$s" "$T" >"$T/$s.conf"
	printf '[scheduler]\nbatch_window = 1\ngrace = 300\nretry_base = 600\nper_hour = 0\nper_day = 0\ntick_ms = 50\n' \
		>>"$T/$s.conf"
	printf '[store]\nbackend = postgresql\ndsn = %s\n' "$DSN" >>"$T/$s.conf"
done
ctl_a() { "$BUILD/smswakectl" -c "$T/a.conf" "$@"; }
BUDGET_KEY=$(ctl_a provider add budgeted) || { not_ok "provider key"; exit 1; }
BURST_KEY=$(ctl_a provider add burst) || { not_ok "provider key"; exit 1; }
GW1_TOKEN=$(ctl_a gateway add gw1) || { not_ok "gateway token"; exit 1; }
GW2_TOKEN=$(ctl_a gateway add gw2) || { not_ok "gateway token"; exit 1; }
K=5
ctl_a provider budget budgeted 1 || { not_ok "provider budget"; exit 1; }

# server_start NAME: starts it, on its earlier port if it had one (the gateway keeps its URL).
. tests/integration/lib_servers.sh
for s in a b c; do server_start $s; done
for s in a b c; do server_ready $s 60 || { not_ok "server $s starts"; exit 1; }; done
ok "three servers with their schedulers on one database"

GW1=+15550000501
GW2=+15550000502
BDEVS="+15550000511 +15550000512 +15550000513 +15550000514 +15550000515 +15550000516 +15550000517 +15550000518 +15550000519 +15550000520"
DEVS="+15550000531 +15550000532 +15550000533 +15550000534 +15550000535 +15550000536"
# shellcheck disable=SC2086
sim_start $GW1 $GW2 $BDEVS $DEVS

# gateway NAME SERVER_URL TOKEN MODEM: a gateway leasing from one server, with one modem.
gateway()
{
	{
		printf '[gateway]\nserver = %s\ntoken = %s\nlease_wait = 5s\nlog_level = debug\nmetrics_listen = 127.0.0.1:0\n' \
			"$2" "$3"
		printf '[modems]\nhealth_interval = 2s\nsend_timeout = 30s\n'
		printf '[modem %s]\ndevice = %s/modem-%s\nconnection = at\nmodel = at\n' "$1" "$RUN" "$4"
	} >"$T/$1.conf"
	"$BUILD/smswake-gateway" -c "$T/$1.conf" 2>>"$T/$1.log" &
	eval "PID_$1=$!"
	PIDS="$PIDS $!"
}
gateway gw1 "$URL_b" "$GW1_TOKEN" $GW1
gateway gw2 "$URL_a" "$GW2_TOKEN" $GW2
check "both gateways' modems become healthy" wait_for 120 sh -c \
	"grep -q 'modem gw1: healthy' '$T/gw1.log' && grep -q 'modem gw2: healthy' '$T/gw2.log'"

# register KEY MSISDN: the device's id and token, "ID TOKEN".
register()
{
	curl -fsS -H "Authorization: Bearer $1" -H 'Content-Type: application/json' \
		-d "{\"msisdn\":\"$2\",\"poll_interval\":3600}" "$URL_a/v1/devices" |
		sed -n 's/.*"id":\([0-9]*\).*"token":"\([^"]*\)".*/\1 \2/p'
}
metric_sum()
{
	sum=0
	for s in a b c; do
		v=$(curl -s "$(eval echo "\$URL_$s")/metrics" | awk -v n="$1" '$1 == n {print $2; exit}')
		sum=$((sum + ${v:-0}))
	done
	echo $sum
}
metric_each_at_least()
{
	for s in a b c; do
		v=$(curl -s "$(eval echo "\$URL_$s")/metrics" | awk -v n="$1" '$1 == n {print $2; exit}')
		[ "${v:-0}" -ge "$2" ] || return 1
	done
}
received_sum() { n=0; for d in $1; do n=$((n + $(received_count "$d"))); done; echo $n; }
received_sum_at_least() { [ "$(received_sum "$1")" -ge "$2" ]; }
# none_unsent: no wake job is queued or leased.
none_unsent() { [ "$(sql 'SELECT count(*) FROM wake_jobs WHERE state IN (0,1)')" -eq 0 ]; }
# gw1_leased_more N: gw1 has logged more than N leased jobs.
gw1_leased_more() { [ "$(grep -c 'job [0-9]* leased' "$T/gw1.log")" -gt "$1" ]; }

# 1. The budget: ten devices of a provider allowed one wakeup a day, an urgent message for each
# through the three servers at once. One device gets the wakeup; once every server holds the
# other nine back for the budget, it is raised to K: every scheduler's next view has nine devices
# due and K - 1 wakeups left, all at the same moment.
bids=""
for d in $BDEVS; do bids="$bids $(register "$BUDGET_KEY" "$d" | awk '{print $1}')"; done
check "ten devices of the budgeted provider" test "$(echo $bids | wc -w)" -eq 10
n=0
for id in $bids; do
	case $((n % 3)) in 0) url=$URL_a ;; 1) url=$URL_b ;; *) url=$URL_c ;; esac
	[ "$n" -eq 0 ] || printf 'next\n'
	printf 'url = "%s/v1/devices/%s/messages"\nheader = "Authorization: Bearer %s"\n' "$url" "$id" "$BUDGET_KEY"
	printf 'header = "Urgency: high"\nheader = "Content-Type: text/plain"\ndata = "b%s"\nsilent\noutput = /dev/null\n' "$n"
	printf 'write-out = "%%{http_code}\\n"\n'
	n=$((n + 1))
done >"$T/budget.curl"
check "ten urgent submits through three servers are accepted" \
	sh -c "[ \$(curl -K '$T/budget.curl' | grep -c '^201\$') -eq 10 ]"
check "budget: every server holds nine devices back for the budget of 1" \
	wait_for 60 metric_each_at_least 'smswake_wake_suppressed_total{reason="provider_budget"}' 9
check "budget: one wakeup reaches a device" wait_for 120 received_sum_at_least "$BDEVS" 1
ctl_a provider budget budgeted $K || not_ok "provider budget raised"
check "budget: $K wakeups reach the devices" wait_for 120 received_sum_at_least "$BDEVS" $K
check "budget: no job waits unsent" wait_for 60 none_unsent
jobs=$(sql "SELECT count(*) FROM wake_jobs j JOIN providers p ON p.id = j.provider_id WHERE p.name = 'budgeted'")
check "budget: the store holds $K wake jobs for the provider ($jobs)" test "$jobs" -eq $K
got=$(received_sum "$BDEVS")
check "budget: the devices got exactly $K wakeup SMS ($got)" test "$got" -eq $K
sent=$(($(sent_count $GW1) + $(sent_count $GW2)))
check "budget: the modems sent exactly $K ($sent)" test "$sent" -eq $K
echo "# stale decisions refused by the store during the budget phase: $(metric_sum 'smswake_wake_suppressed_total{reason="stale"}')"

# 2. A burst through the three servers while b, which gw1 leases from, is SIGKILLed holding gw1's
# leases. gw2 is stopped for the start, so that the burst's jobs go through b; gw1's modem takes
# 2 s per SMS, so gw1 still holds them when b dies.
kill "$PID_gw2" && wait "$PID_gw2" 2>/dev/null
ctl set $GW1 send_duration 2000 >/dev/null
sent0_gw1=$(sent_count $GW1)
sent0_gw2=$(sent_count $GW2)
: >"$T/devs"
for d in $DEVS; do echo "$d $(register "$BURST_KEY" "$d")" >>"$T/devs"; done
check "six devices of the burst provider" test "$(awk 'NF == 3' "$T/devs" | wc -l)" -eq 6
ids=$(awk '{print $2}' "$T/devs")
leased0=$(grep -c 'job [0-9]* leased' "$T/gw1.log")
: >"$T/accepted"
for s in a b c; do
	(
		i=0
		while [ $i -lt 90 ]; do
			i=$((i + 1))
			id=$(echo $ids | awk -v k=$((i % 6 + 1)) '{print $k}')
			u=$(eval echo "\$URL_$s")
			code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $BURST_KEY" \
				-H 'Content-Type: text/plain' -d "$s-$i" "$u/v1/devices/$id/messages")
			[ "$code" = 201 ] && echo "$id $s-$i" >>"$T/accepted"
		done
	) &
	eval "LOOP_$s=$!"
done
check "burst: gw1 leases wake jobs through b" wait_for 60 gw1_leased_more "$leased0"
kill -9 "$PID_b"
wait "$PID_b" 2>/dev/null
held=$(grep 'job [0-9]* leased' "$T/gw1.log" | tail -n +$((leased0 + 1)) | sed 's/.*job \([0-9]*\) leased.*/\1/' | sort -u)
echo "# b SIGKILLed while gw1 held jobs $(echo $held)"
# b stays down until gw1 has sent what it held: its reports must wait for the restart.
held_sent() { for j in $held; do grep -q "job $j sent to" "$T/gw1.log" || return 1; done; }
check "burst: gw1 sends the jobs it held while b is down" wait_for 60 held_sent
server_start b
check "b restarts after SIGKILL" server_ready b 60
gateway gw2 "$URL_a" "$GW2_TOKEN" $GW2
wait "$LOOP_a" "$LOOP_b" "$LOOP_c" 2>/dev/null
n=$(wc -l <"$T/accepted")
check "burst: submits were accepted ($n)" test "$n" -gt 200

woken() { for d in $DEVS; do [ "$(received_count "$d")" -ge 1 ] || return 1; done; }
check "burst: every device gets a wakeup" wait_for 120 woken
check "burst: every wake job is finished (none queued or leased)" wait_for 120 none_unsent
burst_jobs="SELECT j.id FROM wake_jobs j JOIN providers p ON p.id = j.provider_id WHERE p.name = 'burst'"
check "burst: one wake job per device" test "$(sql "SELECT count(DISTINCT device_id) || ' ' || count(*) FROM wake_jobs j
	JOIN providers p ON p.id = j.provider_id WHERE p.name = 'burst'")" = "6 6"
check "burst: every job was sent (submitted or delivered)" \
	test "$(sql "SELECT count(*) FROM wake_jobs WHERE id IN ($burst_jobs) AND state IN (2,3)")" -eq 6
# A lease b committed but was killed before answering is held by nobody: its job is leased again
# once lease_time runs out (and still sent once, checked below).
again=$(sql "SELECT string_agg(id::text, ' ') FROM wake_jobs WHERE id IN ($burst_jobs) AND attempts > 1")
echo "# burst jobs leased again after their lease ran out: ${again:-none}"
lost=0
for j in $held; do
	st=$(sql "SELECT state FROM wake_jobs WHERE id = $j")
	case "$st" in 2 | 3) ;; *) lost=$((lost + 1)) ;; esac
done
check "burst: the jobs gw1 held when b died were reported, none lost ($(echo $held | wc -w) held)" \
	test -n "$held" -a "$lost" -eq 0
check "burst: gw1's reports waited for b's restart" sh -c \
	"port=\$(sed -n 's/.*metrics on 127.0.0.1:\([0-9]*\)\/metrics.*/\1/p' '$T/gw1.log' | tail -n 1);
	curl -fsS http://127.0.0.1:\$port/metrics | awk '\$1 == \"smswake_gateway_report_failures_total\" {exit !(\$2 > 0)}'"
counts=$(for d in $DEVS; do printf '%s ' "$(received_count "$d")"; done)
check "burst: exactly one wakeup per device ($counts)" test "$counts" = "1 1 1 1 1 1 "
sent=$(($(sent_count $GW1) - sent0_gw1 + $(sent_count $GW2) - sent0_gw2))
check "burst: the modems sent six SMS, no job twice ($sent)" test "$sent" -eq 6

# Each device fetches everything (through c) page by page and acks, as after its wakeup.
while read -r msisdn id tok; do
	after=0
	: >"$T/got-$id"
	i=0
	while [ $i -lt 50 ]; do
		i=$((i + 1))
		code=$(curl -sS -o "$T/page.json" -w '%{http_code}' -H "Authorization: Bearer $tok" \
			"$URL_c/v1/device/messages?after=$after&max=100")
		[ "$code" = 200 ] || break
		python3 -c '
import base64, json, sys
for m in json.load(open(sys.argv[1]))["messages"]:
    print(m["seq"], base64.b64decode(m["body"]).decode())' "$T/page.json" >>"$T/got-$id"
		last=$(tail -n 1 "$T/got-$id" | awk '{print $1}')
		[ -n "$last" ] && [ "$last" != "$after" ] || break
		after=$last
		curl -sS -o /dev/null -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
			-d "{\"seq\": $after}" "$URL_c/v1/device/ack"
	done
done <"$T/devs"
bad=""
for id in $ids; do
	awk -v id="$id" '$1 == id {print $2}' "$T/accepted" | sort >"$T/acc-$id"
	awk '{print $2}' "$T/got-$id" | sort >"$T/handled-$id"
	[ -z "$(comm -23 "$T/acc-$id" "$T/handled-$id")" ] || bad="$bad missing:$id"
	[ -z "$(uniq -d "$T/handled-$id")" ] || bad="$bad twice:$id"
	awk 'NR != $1 {bad = 1} END {exit bad}' "$T/got-$id" || bad="$bad seq:$id"
	# One server's submits to one device were made one after another: their order holds.
	awk '{split($2, p, "-"); if (p[1] in last && p[2] + 0 <= last[p[1]]) bad = 1; last[p[1]] = p[2] + 0}
		END {exit bad}' "$T/got-$id" || bad="$bad order:$id"
done
check "burst: every message answered 201 reached its device once, in order${bad:+ ($bad)}" test -z "$bad"
for s in a b c; do
	check "server $s is healthy at the end" curl -fs -o /dev/null "$(eval echo "\$URL_$s")/healthz"
done
finish
