#!/bin/sh
# Three smswake-servers on one PostgreSQL database (a throw-away cluster of the test's own):
# they start together on an empty database, share providers and devices, a long-poll on one is
# answered by a submit on another, an empty poll is one store read, and a burst of submits
# through all three while one is SIGKILLed and restarted reaches the device exactly once and in
# order.
. tests/integration/lib_tap.sh

BUILD=${SMSWAKE_BUILD:-build}
if ! sh tests/lib/pgtmp.sh available; then
	echo "SKIP multi_server_pg.sh: PostgreSQL is not installed (Debian: postgresql)"
	exit 0
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/smswake-multi.XXXXXX")
chmod 755 "$T" # the cluster's owner (postgres when run as root) must reach its directory
PIDS=""
cleanup()
{
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	for p in $PIDS; do wait "$p" 2>/dev/null; done
	sh tests/lib/pgtmp.sh stop "$T/pg"
	if [ "$failures" -ne 0 ]; then
		for f in "$T"/*.log; do
			echo "# --- $f (tail)"
			tail -n 20 "$f" | sed 's/^/# /'
		done
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

DSN=$(sh tests/lib/pgtmp.sh start "$T/pg") || { not_ok "PostgreSQL test cluster starts"; exit 1; }
head -c 32 /dev/urandom >"$T/master.key"
chmod 600 "$T/master.key"
for s in a b c; do
	mkdir -p "$T/$s"
	printf '[server]\nlisten = 127.0.0.1:0\ndata_dir = %s/%s\nmaster_key_file = %s/master.key\n[scheduler]\nenabled = no\n[store]\nbackend = postgresql\ndsn = %s\n' \
		"$T" "$s" "$T" "$DSN" >"$T/$s.conf"
done

# server_start NAME: starts it (on its earlier port if it had one); sets PID_NAME and URL_NAME.
. tests/integration/lib_servers.sh

# 1. Three servers at once on an empty database: one applies the schema, all three serve.
for s in a b c; do server_start $s; done
for s in a b c; do check "server $s starts on the shared database" server_ready $s; done
check "the schema was applied once" sh -c "[ \"\$(cat '$T'/server-*.log | grep -c 'schema migrated to version 1')\" -eq 1 ]"

# 2. A provider made with smswakectl is known to every server; a device added through one is
# found through another.
KEY=$("$BUILD/smswakectl" -c "$T/a.conf" provider add multi) || not_ok "smswakectl provider add on PostgreSQL"
api() { curl -sS -H "Authorization: Bearer $KEY" "$@"; }
api -H 'Content-Type: application/json' -d '{"msisdn":"+15550009001","poll_interval":3600}' \
	"$URL_a/v1/devices" >"$T/dev.json"
DEV=$(sed -n 's/.*"id":\([0-9]*\).*/\1/p' "$T/dev.json")
TOK=$(sed -n 's/.*"token":"\([^"]*\)".*/\1/p' "$T/dev.json")
check "a device added on server a" test -n "$DEV"
check "server c knows it" sh -c "curl -sS -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer $KEY' '$URL_c/v1/devices/$DEV' | grep -qx 200"

# 3. A device long-polling server b is answered by a submit on server c.
curl -sS -o "$T/poll.json" -w '%{http_code}' -H "Authorization: Bearer $TOK" \
	"$URL_b/v1/device/messages?after=0&wait=30" >"$T/poll.code" &
POLL=$!
sleep 1
t0=$(date +%s%N)
code=$(api -o /dev/null -w '%{http_code}' -d 'across servers' "$URL_c/v1/devices/$DEV/messages")
wait $POLL
t1=$(date +%s%N)
check "the submit on server c is accepted" test "$code" = 201
check "the long-poll on server b gets it" grep -qx 200 "$T/poll.code"
ms=$(((t1 - t0) / 1000000))
echo "# long-poll on b answered ${ms} ms after the submit on c"
check "long-poll answered long before its wait ran out (${ms} ms)" test "$ms" -lt 10000
curl -sS -o /dev/null -H "Authorization: Bearer $TOK" -H 'Content-Type: application/json' -d '{"seq": 1}' "$URL_a/v1/device/ack"

# 3b. A device poll is one store read on PostgreSQL too (its token, its device and whether anything
# waits, in one statement), as on SQLite (test_http's test_fetch_store_reads). /metrics' own reads
# are measured between two answers and taken out; background work (webhook deliveries) only adds
# reads, so the least of three measurements is the poll's cost.
reads() { curl -fs "$1/metrics" | awk '$1 == "smswake_store_reads_total" {print $2}'; }
least=
for i in 1 2 3; do
	r0=$(reads "$URL_a")
	r1=$(reads "$URL_a")
	code=$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOK" "$URL_a/v1/device/messages?after=1")
	r2=$(reads "$URL_a")
	[ "$code" = 204 ] || not_ok "an empty poll on PostgreSQL answers 204 (got $code)"
	cost=$(((r2 - r1) - (r1 - r0)))
	if [ -z "$least" ] || [ "$cost" -lt "$least" ]; then least=$cost; fi
done
check "an empty poll is one store read on PostgreSQL ($least)" test "$least" -eq 1

# 4. A burst through all three while b is SIGKILLed and restarted.
: >"$T/accepted"
for s in a b c; do
	(
		i=0
		while [ $i -lt 150 ]; do
			i=$((i + 1))
			u=$(eval echo "\$URL_$s")
			code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KEY" \
				-d "burst-$s-$i" "$u/v1/devices/$DEV/messages")
			[ "$code" = 201 ] && echo "burst-$s-$i" >>"$T/accepted"
		done
	) &
	eval "LOOP_$s=$!"
done
wait_for 30 sh -c "[ \$(wc -l <'$T/accepted') -ge 60 ]"
kill -9 "$PID_b"
wait "$PID_b" 2>/dev/null
server_start b
check "server b restarts after SIGKILL" server_ready b
wait "$LOOP_a" "$LOOP_b" "$LOOP_c" 2>/dev/null
n=$(wc -l <"$T/accepted")
check "burst: submits were accepted ($n)" test "$n" -gt 300

# The device fetches everything (through server b) page by page and acks.
after=1
: >"$T/got"
i=0
while [ $i -lt 100 ]; do
	i=$((i + 1))
	code=$(curl -sS -o "$T/page.json" -w '%{http_code}' -H "Authorization: Bearer $TOK" \
		"$URL_b/v1/device/messages?after=$after&max=100")
	[ "$code" = 200 ] || break
	python3 -c '
import base64, json, sys
for m in json.load(open(sys.argv[1]))["messages"]:
    print(m["seq"], base64.b64decode(m["body"]).decode())' "$T/page.json" >>"$T/got"
	after=$(tail -n 1 "$T/got" | awk '{print $1}')
	curl -sS -o /dev/null -H "Authorization: Bearer $TOK" -H 'Content-Type: application/json' \
		-d "{\"seq\": $after}" "$URL_b/v1/device/ack"
done
awk '{print $2}' "$T/got" | sort >"$T/handled"
sort "$T/accepted" >"$T/accepted.sorted"
check "burst: every message answered 201 reached the device" sh -c "[ -z \"\$(comm -23 '$T/accepted.sorted' '$T/handled')\" ]"
check "burst: none reached it twice" sh -c "[ -z \"\$(uniq -d '$T/handled')\" ]"
check "burst: sequence numbers 2..N without a gap, in order" \
	sh -c "awk 'NR + 1 != \$1 {bad = 1} END {exit bad}' '$T/got'"
for s in a b c; do
	u=$(eval echo "\$URL_$s")
	check "server $s is healthy at the end" curl -fs -o /dev/null "$u/healthz"
done
finish
