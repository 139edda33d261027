#!/bin/sh
# Every file smswake-server and smswakectl create is the owner's alone (0600), whatever the
# umask and the data directory's mode; a master key others can read is refused.
. tests/integration/lib_chain.sh

mode() { stat -c %a "$1"; }
umask 022
mkdir -m 0755 "$T/data"
printf '[server]\nlisten = 127.0.0.1:0\ndata_dir = %s/data\n[scheduler]\nenabled = no\n' "$T" >"$T/s.conf"
# smswakectl creates the database before the server ever runs.
KEY=$("$BUILD/smswakectl" -c "$T/s.conf" provider add files)
check "smswakectl: smswake.db is 0600" test "$(mode "$T/data/smswake.db")" = 600
start()
{
	rm -f "$T/data/ports"
	"$BUILD/smswake-server" -c "$T/s.conf" 2>>"$T/server.log" &
	SRV_PID=$!
	wait_for 10 test -s "$T/data/ports" || return 1
	URL=http://127.0.0.1:$(awk '{print $2; exit}' "$T/data/ports")
	wait_for 10 curl -fs "$URL/healthz"
}
check "server starts" start
# A device and a message: the database, its WAL and shared memory hold bodies and token hashes.
curl -s -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' -d '{"msisdn":"+15550190000"}' \
	"$URL/v1/devices" >"$T/dev.json"
ID=$(sed -n 's/.*"id":\([0-9]*\).*/\1/p' "$T/dev.json")
curl -s -o /dev/null -H "Authorization: Bearer $KEY" -d 'secret body' "$URL/v1/devices/$ID/messages"
for f in smswake.db smswake.db-wal smswake.db-shm master.key ports; do
	check "$f exists" test -f "$T/data/$f"
	check "$f is 0600" test "$(mode "$T/data/$f")" = 600
done
server_stop

# Files an older version left readable by others are made private at the next start.
chmod 0644 "$T/data/smswake.db"
check "server starts with a loose database file" start
check "smswake.db made 0600" test "$(mode "$T/data/smswake.db")" = 600
check "smswake.db-wal is 0600" test "$(mode "$T/data/smswake.db-wal")" = 600
server_stop

# A master key group or others can read is refused, with a clear message.
chmod 0640 "$T/data/master.key"
"$BUILD/smswake-server" -c "$T/s.conf" 2>"$T/refused.log"
check "loose master key: exit 1" test $? -eq 1
check "loose master key: the message says why" grep -q "master key is readable by group or others" "$T/refused.log"
chmod 0600 "$T/data/master.key"
check "server starts again once the key is private" start
server_stop
finish
