#!/bin/sh
# smswakectl on PostgreSQL, and `smswakectl migrate --to DSN`: an SQLite store copied online into
# an empty PostgreSQL database (a throw-away cluster of the test's own), with a backup first and
# counts compared; a second copy into the now non-empty database is refused; a server on the
# copy carries on where the SQLite one was.
. tests/integration/lib_tap.sh

BUILD=${SMSWAKE_BUILD:-build}
if ! sh tests/lib/pgtmp.sh available; then
	echo "SKIP migrate_pg.sh: PostgreSQL is not installed (Debian: postgresql)"
	exit 0
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/smswake-migrate.XXXXXX")
chmod 755 "$T" # the cluster's owner (postgres when run as root) must reach its directory
SRV=
cleanup()
{
	[ -z "$SRV" ] || { kill "$SRV" 2>/dev/null; wait "$SRV" 2>/dev/null; }
	sh tests/lib/pgtmp.sh stop "$T/pg"
	if [ "$failures" -ne 0 ]; then
		for f in "$T"/*.log "$T"/*.out; do
			[ -f "$f" ] || continue
			echo "# --- $f (tail)"
			tail -n 20 "$f" | sed 's/^/# /'
		done
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

DSN=$(sh tests/lib/pgtmp.sh start "$T/pg") || { not_ok "PostgreSQL test cluster starts"; exit 1; }
printf '[server]\nlisten = 127.0.0.1:0\ndata_dir = %s/data\n[scheduler]\nenabled = no\n' "$T" >"$T/sqlite.conf"
printf '[server]\nlisten = 127.0.0.1:0\ndata_dir = %s/data\n[scheduler]\nenabled = no\n[store]\nbackend = postgresql\ndsn = %s\n' \
	"$T" "$DSN" >"$T/pg.conf"

start()
{
	rm -f "$T/data/ports"
	"$BUILD/smswake-server" -c "$T/$1.conf" 2>>"$T/server.log" &
	SRV=$!
	wait_for 20 test -s "$T/data/ports" || return 1
	URL="http://127.0.0.1:$(awk '{print $2; exit}' "$T/data/ports")"
	wait_for 10 curl -fs "$URL/healthz"
}
stop() { kill "$SRV" 2>/dev/null; wait "$SRV" 2>/dev/null; SRV=; }
api() { curl -sS -H "Authorization: Bearer $KEY" "$@"; }
id_of() { sed -n 's/^{"id":\([0-9]*\).*/\1/p'; }

# The SQLite store, in use: a provider, a gateway, a device, messages (one fetched and acked).
KEY=$("$BUILD/smswakectl" -c "$T/sqlite.conf" provider add acme)
"$BUILD/smswakectl" -c "$T/sqlite.conf" gateway add gw1 >/dev/null
check "server on SQLite starts" start sqlite
api -H 'Content-Type: application/json' -d '{"msisdn":"+15550007001","poll_interval":3600}' "$URL/v1/devices" >"$T/dev.json"
DEV=$(sed -n 's/.*"id":\([0-9]*\).*/\1/p' "$T/dev.json")
TOK=$(sed -n 's/.*"token":"\([^"]*\)".*/\1/p' "$T/dev.json")
M1=$(api -d 'one' "$URL/v1/devices/$DEV/messages" | id_of)
curl -sS -o /dev/null -H "Authorization: Bearer $TOK" "$URL/v1/device/messages?after=0"
curl -sS -o /dev/null -H "Authorization: Bearer $TOK" -H 'Content-Type: application/json' -d '{"seq": 1}' "$URL/v1/device/ack"
M2=$(api -H 'Idempotency-Key: k-2' -d 'two' "$URL/v1/devices/$DEV/messages" | id_of)
M3=$(api -d 'three' "$URL/v1/devices/$DEV/messages" | id_of)
check "messages accepted on SQLite" test -n "$M1" -a -n "$M2" -a -n "$M3"

# Online: the SQLite server keeps running during the copy.
"$BUILD/smswakectl" -c "$T/sqlite.conf" migrate --to "$DSN" >"$T/migrate.out" 2>&1
check "migrate --to DSN succeeds" grep -q '^copied' "$T/migrate.out"
check "migrate made a backup first" sh -c "ls '$T'/data/smswake.db.migrate-* >/dev/null"
check "migrate reports equal counts" awk '/->/ && $2 != $4 {bad = 1} /->/ {n++} END {exit bad || n != 13}' "$T/migrate.out"
check "the messages table went over (3 rows)" grep -Eq '^messages +3 -> 3$' "$T/migrate.out"
check "the provider's events went over, as they were (no trigger made more)" grep -Eq '^events +[1-9][0-9]* -> ' "$T/migrate.out"
check "each message's queued event (SQLite's message row) became a row" grep -Eq '^queued events +3 added$' "$T/migrate.out"
check_rc "a second migrate into the non-empty database is refused" 1 \
	sh -c "'$BUILD/smswakectl' -c '$T/sqlite.conf' migrate --to '$DSN' >'$T/migrate2.out' 2>&1"
check "it says why" grep -q 'not empty' "$T/migrate2.out"
stop

# smswakectl on PostgreSQL sees what was copied.
check "smswakectl provider list on PostgreSQL" sh -c "'$BUILD/smswakectl' -c '$T/pg.conf' provider list | grep -q acme"
check "smswakectl gateway list on PostgreSQL" sh -c "'$BUILD/smswakectl' -c '$T/pg.conf' gateway list | grep -q gw1"

# A server on the copy carries on.
check "server on PostgreSQL starts" start pg
check "message 1 is still acked" sh -c "curl -sS -H 'Authorization: Bearer $KEY' '$URL/v1/messages/$M1' | grep -q '\"state\":\"acked\"'"
check "its history still begins with queued, once" sh -c "curl -sS -H 'Authorization: Bearer $KEY' '$URL/v1/messages/$M1' |
	grep -o '\"event\":\"[a-z_]*\"' | head -1 | grep -qx '\"event\":\"queued\"' &&
	[ \"\$(curl -sS -H 'Authorization: Bearer $KEY' '$URL/v1/messages/$M1' | grep -o '\"event\":\"queued\"' | wc -l)\" -eq 1 ]"
code=$(curl -sS -o "$T/fetch.json" -w '%{http_code}' -H "Authorization: Bearer $TOK" "$URL/v1/device/messages?after=1")
check "the device (its token copied) fetches the rest" test "$code" = 200
check "seq 2 and 3, as numbered on SQLite" sh -c "grep -q '\"seq\":2' '$T/fetch.json' && grep -q '\"seq\":3' '$T/fetch.json'"
R=$(api -H 'Idempotency-Key: k-2' -d 'two' "$URL/v1/devices/$DEV/messages" | id_of)
check "the idempotency key still names message $M2" test "$R" = "$M2"
M4=$(api -d 'four' "$URL/v1/devices/$DEV/messages")
check "a new message continues the ids and sequence numbers" \
	sh -c "echo '$M4' | grep -q '\"seq\":4' && [ \"\$(echo '$M4' | sed -n 's/^{\"id\":\\([0-9]*\\).*/\\1/p')\" -gt $M3 ]"
stop
finish
