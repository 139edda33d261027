#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The whole chain with three smswake-servers on one PostgreSQL database, every one running its
# wake scheduler, and two gateways leasing from two different servers, each with a simulated
# modem: a burst of submits to six devices through all three servers gives each device exactly
# one wakeup SMS, no job is leased twice (the two modems together send six), and every message
# shows its wakeup.
. tests/integration/lib_chain.sh

if ! sh tests/lib/pgtmp.sh available; then
	echo "SKIP chain_multi_pg.sh: PostgreSQL is not installed (Debian: postgresql)"
	exit 0
fi
chmod 755 "$T" # the cluster's owner (postgres when run as root) must reach its directory
DSN=$(sh tests/lib/pgtmp.sh start "$T/pg") || { not_ok "PostgreSQL test cluster starts"; exit 1; }
head -c 32 /dev/urandom >"$T/master.key"
chmod 600 "$T/master.key"
for s in a b c; do
	mkdir -p "$T/$s"
	printf '[server]\nlisten = 127.0.0.1:0\ndata_dir = %s/%s\nmaster_key_file = %s/master.key\nlease_time = 10\n' \
		"$T" "$s" "$T" >"$T/$s.conf"
	printf '[scheduler]\nbatch_window = 1\ngrace = 60\nretry_base = 60\nper_hour = 0\nper_day = 0\ntick_ms = 50\n' \
		>>"$T/$s.conf"
	printf '[store]\nbackend = postgresql\ndsn = %s\n' "$DSN" >>"$T/$s.conf"
done
PROVIDER_KEY=$("$BUILD/smswakectl" -c "$T/a.conf" provider add multi) || { not_ok "provider key"; exit 1; }
GATEWAY_TOKEN=$("$BUILD/smswakectl" -c "$T/a.conf" gateway add multi) || { not_ok "gateway token"; exit 1; }
for s in a b c; do
	"$BUILD/smswake-server" -c "$T/$s.conf" 2>>"$T/server-$s.log" &
	PIDS="$PIDS $!"
done
for s in a b c; do
	wait_for 20 test -s "$T/$s/ports" || { not_ok "server $s starts"; exit 1; }
	eval "URL_$s=http://127.0.0.1:$(awk '{print $2; exit}' "$T/$s/ports")"
done
check "three servers answer" sh -c "curl -fso /dev/null '$URL_a/healthz' && curl -fso /dev/null '$URL_b/healthz' &&
	curl -fso /dev/null '$URL_c/healthz'"

GW1=+15550000401
GW2=+15550000402
DEVS="+15550000411 +15550000412 +15550000413 +15550000414 +15550000415 +15550000416"
# shellcheck disable=SC2086
sim_start $GW1 $GW2 $DEVS

# gateway NAME SERVER_URL MODEM: a gateway leasing from one server, with one modem.
gateway()
{
	printf '[gateway]\nserver = %s\ntoken = %s\nlease_wait = 5s\nlog_level = debug\n[modems]\nhealth_interval = 2s\n' \
		"$2" "$GATEWAY_TOKEN" >"$T/$1.conf"
	printf '[modem gw%s]\ndevice = %s/modem-%s\nconnection = at\nmodel = at\n' "${3#+}" "$RUN" "$3" >>"$T/$1.conf"
	"$BUILD/smswake-gateway" -c "$T/$1.conf" 2>>"$T/$1.log" &
	PIDS="$PIDS $!"
}
gateway gw1 "$URL_a" $GW1
gateway gw2 "$URL_b" $GW2
check "both gateways' modems become healthy" wait_for 90 sh -c \
	"grep -q 'modem gw${GW1#+}: healthy' '$T/gw1.log' && grep -q 'modem gw${GW2#+}: healthy' '$T/gw2.log'"

# Six devices registered through the third server, then five messages each, spread over the
# three servers, all sent before any wakeup can have gone (batch window 1 s).
ids=""
for d in $DEVS; do
	id=$(curl -fsS -H "Authorization: Bearer $PROVIDER_KEY" -H 'Content-Type: application/json' \
		-d "{\"msisdn\":\"$d\",\"poll_interval\":3600}" "$URL_c/v1/devices" | sed -n 's/.*"id":\([0-9]*\).*/\1/p')
	ids="$ids $id"
done
check "six devices registered" test "$(echo $ids | wc -w)" -eq 6
n=0
for i in 1 2 3 4 5; do
	for id in $ids; do
		case $((n % 3)) in 0) url=$URL_a ;; 1) url=$URL_b ;; *) url=$URL_c ;; esac
		[ "$n" -eq 0 ] || printf 'next\n'
		printf 'url = "%s/v1/devices/%s/messages"\nheader = "Authorization: Bearer %s"\n' "$url" "$id" "$PROVIDER_KEY"
		printf 'header = "Content-Type: text/plain"\ndata = "m%s"\nsilent\noutput = /dev/null\n' "$n"
		printf 'write-out = "%%{http_code}\\n"\n'
		n=$((n + 1))
	done
done >"$T/burst.curl"
check "30 submits through three servers are accepted" sh -c "[ \$(curl -K '$T/burst.curl' | grep -c '^201\$') -eq 30 ]"

all_woken()
{
	for d in $DEVS; do [ "$(received_count "$d")" -ge 1 ] || return 1; done
}
check "every device gets a wakeup" wait_for 60 all_woken
sleep 5
counts=$(for d in $DEVS; do printf '%s ' "$(received_count "$d")"; done)
check "exactly one wakeup per device ($counts)" test "$counts" = "1 1 1 1 1 1 "
check "the two modems sent six SMS in all, no job twice" \
	test "$(($(sent_count $GW1) + $(sent_count $GW2)))" -eq 6
# No device was declared unreachable, whichever server decided for it.
woke=0
for id in $ids; do
	curl -fs -H "Authorization: Bearer $PROVIDER_KEY" "$URL_b/v1/devices/$id" | grep -q '"wake_state":"in_flight"\|"wake_state":"idle"' &&
		woke=$((woke + 1))
done
check "no device is unreachable" test "$woke" -eq 6
finish
