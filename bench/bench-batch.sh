#!/bin/sh
# A batch to a fleet: one POST /v1/messages {"to": {"tag": ...}} to N devices (default 100,000).
# Figures: time to the 202 (every device's message committed), the server's resident memory
# before and after, and the time until every device has its wake job. The fleet is written
# straight into a fresh store with sqlite3 (registering 100,000 devices over HTTP would measure
# registration instead); the scheduler runs with its per-device limits off.
set -eu
O=${O:-build}
N=${BENCH_BATCH_DEVICES:-100000}
dir=$(mktemp -d)
srv=
cleanup() { [ -n "$srv" ] && { kill "$srv" 2>/dev/null || true; wait "$srv" 2>/dev/null || true; }; rm -rf "$dir"; }
trap cleanup EXIT
[ -n "${BENCH_KEEP:-}" ] && trap - EXIT
now_ms() { date +%s%3N; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

{
	printf '[server]\nlisten = 127.0.0.1:0\ndata_dir = %s/data\nlog_level = warn\n' "$dir"
	printf '[scheduler]\nbatch_window = 0\nper_hour = 0\nper_day = 0\n'
} >"$dir/smswake.conf"
key=$("$O/smswakectl" -c "$dir/smswake.conf" provider add bench)
sqlite3 "$dir/data/smswake.db" <<SQL
PRAGMA journal_mode=WAL;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $N)
INSERT INTO devices(provider_id, msisdn, name, token_hash, sms_format, poll_interval_s, created_ms)
SELECT 1, '+1555' || printf('%07d', i), '', randomblob(32), 0, 86400, 0 FROM n;
INSERT INTO device_tags(tag, device_id) SELECT 'bench', id FROM devices;
COMMIT;
SQL
"$O/smswake-server" -c "$dir/smswake.conf" 2>"$dir/server.log" &
srv=$!
for i in $(seq 100); do [ -s "$dir/data/ports" ] && break; sleep 0.05; done
base=http://127.0.0.1:$(awk '{print $2; exit}' "$dir/data/ports")
for i in $(seq 100); do curl -fs "$base/healthz" >/dev/null && break; sleep 0.05; done
rss0=$(rss_kb "$srv")
t0=$(now_ms)
out=$(curl -fsS -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
	-d '{"to":{"tag":"bench"},"body":"aGVsbG8=","urgency":"high","ttl":86400}' "$base/v1/messages")
t1=$(now_ms)
made=$(echo "$out" | sed -n 's/.*"messages":\([0-9]*\).*/\1/p')
rss1=$(rss_kb "$srv")
# Every device's wake job (the scheduler creates them as it walks the devices with pending
# messages); wake_jobs_created counts them.
jobs=0
until [ "$jobs" -ge "$N" ]; do
	jobs=$(curl -fs "$base/metrics" | awk '$1 == "smswake_wake_jobs_created_total" {print $2}')
	[ $(($(now_ms) - t1)) -lt 600000 ] || break
	sleep 0.2
done
t2=$(now_ms)
rss2=$(rss_kb "$srv")
echo "batch to $N devices: $made messages, 202 after $((t1 - t0)) ms, jobs $jobs after $((t2 - t1)) ms more; RSS ${rss0} -> ${rss1} -> ${rss2} kB" >&2
met() { [ "$1" -le "$2" ] && echo yes || echo no; }
{
	printf 'batch to %s devices: time to 202\t%s\tms\t<= 30000\t%s\n' "$N" "$((t1 - t0))" "$(met $((t1 - t0)) 30000)"
	printf 'batch to %s devices: server RSS growth at 202\t%s\tkB\t<= 65536\t%s\n' "$N" "$((rss1 - rss0))" "$(met $((rss1 - rss0)) 65536)"
	printf 'batch to %s devices: every wake job exists after the 202\t%s\tms\t<= 120000\t%s\n' "$N" "$((t2 - t1))" \
		"$([ "$jobs" -ge "$N" ] && met $((t2 - t1)) 120000 || echo no)"
} >>"${BENCH_RESULTS:-/dev/stdout}"
[ "$made" = "$N" ]
