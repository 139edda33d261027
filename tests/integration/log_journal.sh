#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Under systemd, when stderr is the journal (JOURNAL_STREAM names stderr's device and inode), every
# log line starts with its syslog priority, "<3>" for errors to "<7>" for debug (sd-daemon(3)),
# so `journalctl -p err` finds them; anywhere else lines keep their timestamp and no prefix.
. tests/integration/lib_tap.sh
BUILD=${SMSWAKE_BUILD:-build}
T=$(mktemp -d "${TMPDIR:-/tmp}/smswake-journal.XXXXXX")
SRV_PID=
cleanup()
{
	[ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE

# stream FILE: JOURNAL_STREAM's value for FILE ("DEV:INO", decimal, as systemd writes it).
stream() { stat -c '%d:%i' "$1"; }

: >"$T/err"
JOURNAL_STREAM=$(stream "$T/err") "$BUILD/smswake-server" -c "$T/missing.conf" 2>>"$T/err"
sed 's/^/# /' "$T/err"
check "an error is prefixed <3>" grep -q '^<3>smswake-server\[error\] .*missing.conf' "$T/err"
check "no timestamp under the journal (journald adds its own)" sh -c "! grep -q '^[0-9]' '$T/err'"

: >"$T/warn"
JOURNAL_STREAM=$(stream "$T/warn") "$BUILD/smswake-client" -c "$T/missing-client.conf" poll 2>>"$T/warn"
sed 's/^/# /' "$T/warn"
check "a warning is prefixed <4>" grep -q '^<4>smswake-client\[warn\] ' "$T/warn"

printf '[server]\nlisten = 127.0.0.1:0\ndata_dir = %s/data\nlog_level = debug\n' "$T" >"$T/server.conf"
: >"$T/server.log"
JOURNAL_STREAM=$(stream "$T/server.log") "$BUILD/smswake-server" -c "$T/server.conf" 2>>"$T/server.log" &
SRV_PID=$!
wait_for 20 grep -q 'ready' "$T/server.log"
check "information is prefixed <6>" grep -q '^<6>smswake-server\[info\] smswake-server ready' "$T/server.log"
# A wakeup decision is logged at debug level.
KEY=$("$BUILD/smswakectl" -c "$T/server.conf" provider add journal)
URL=http://127.0.0.1:$(awk '{print $2; exit}' "$T/data/ports")
curl -fsS -o "$T/reg" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
	-d '{"msisdn":"+15550000901"}' "$URL/v1/devices"
curl -fsS -o /dev/null -H "Authorization: Bearer $KEY" -H 'Urgency: high' -d hi "$URL/v1/devices/1/messages"
wait_for 20 grep -q '^<7>' "$T/server.log"
check "debug is prefixed <7>" grep -q '^<7>smswake-server\[debug\] ' "$T/server.log"
check "every line has a priority" sh -c "! grep -v '^<[3467]>' '$T/server.log' | grep -q ."
kill "$SRV_PID" && wait "$SRV_PID"
SRV_PID=

# JOURNAL_STREAM is inherited: a process whose stderr went elsewhere must not take it for the journal.
: >"$T/other"
JOURNAL_STREAM=$(stream "$T/other") "$BUILD/smswake-server" -c "$T/missing.conf" 2>"$T/err2"
check "stderr not the journal: no prefix, a timestamp" \
	grep -q '^[0-9-]*T[0-9:.]*Z smswake-server\[error\] ' "$T/err2"
JOURNAL_STREAM=junk "$BUILD/smswake-server" -c "$T/missing.conf" 2>"$T/err3"
check "a malformed JOURNAL_STREAM is ignored" grep -q '^[0-9-]*T[0-9:.]*Z smswake-server\[error\] ' "$T/err3"
: >"$T/err4"
JOURNAL_STREAM="$(stream "$T/err4")x" "$BUILD/smswake-server" -c "$T/missing.conf" 2>>"$T/err4"
check "trailing garbage is not a match" sh -c "! grep -q '^<' '$T/err4'"
finish
