#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Error messages name the file, path or device at fault with the system's reason, and -n checks
# what a start would need at once: a missing configuration file (every program), a missing modem
# device (at run time, and for -n of smswake-gateway, smswake-modem and smswake-client), a
# data_dir the server cannot write, a missing state directory and a missing handler of the client.
# Every message provoked here is listed in docs/operations.md's table of messages.
. tests/integration/lib_tap.sh
. tests/integration/lib_messages.sh
BUILD=${SMSWAKE_BUILD:-build}
T=$(mktemp -d "${TMPDIR:-/tmp}/smswake-errors.XXXXXX")
trap '[ -n "${SMSWAKE_KEEP_TEST_DIRS:-}" ] || rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP PIPE
MSGS=$T/messages

# run PROGRAM ARGS...: stderr into $T/err (and its lines into $MSGS for the table check), the exit
# status into $rc.
# run PROGRAM ARGS...: stderr into $T/err (its lines also into $MSGS, for the table check), the
# exit status into $rc.
run() { p=$1; shift; "$BUILD/$p" "$@" >"$T/out" 2>"$T/err" </dev/null; rc=$?; cat "$T/err" >>"$MSGS"; }
# says NAME TEXT...: the last run failed and its stderr holds every TEXT.
says()
{
	name=$1
	shift
	good=1
	[ "$rc" -ne 0 ] || good=0
	for t in "$@"; do grep -qF -- "$t" "$T/err" || good=0; done
	if [ "$good" -eq 1 ]; then
		ok "$name"
	else
		not_ok "$name (exit $rc)"
		sed 's/^/# /' "$T/err"
	fi
}

ENOENT="No such file or directory"
none=$T/none.conf

# --- a configuration file that is not there ---
run smswake-server -n -c "$none"
says "server: a missing configuration names the file and the reason" "$none: cannot open: $ENOENT" "-c FILE"
run smswakectl -c "$none" provider list
says "smswakectl: a missing configuration names the file and the reason" "$none: cannot open: $ENOENT"
run smswake-gateway -n -c "$none"
says "gateway: a missing configuration names the file and the reason" "$none: cannot open: $ENOENT" "-c FILE"
run smswake-modem -c "$none" status
says "smswake-modem: a missing configuration names the file and the reason" "$none: cannot open: $ENOENT"
run smswake-client -c "$none" poll
says "client: a missing configuration names the file and the reason" "$none: cannot open: $ENOENT" "-c FILE"

# --- a modem device that is not there ---
dev=$T/ttyNONE
# A generous deadline: under load the worker may take seconds to try the device. Of its messages
# only those about the device go to the table check (a slow start may add others).
"$BUILD/smswake-modem" -d "$dev" -t 10 status >"$T/out" 2>"$T/err" </dev/null
rc=$?
grep "device $dev" "$T/err" >>"$MSGS"
says "smswake-modem: a missing device is named with the reason and what to do" "device $dev: $ENOENT" \
	"plugged in"
run smswake-modem -n -d "$dev"
says "smswake-modem -n: a missing device fails, named" "device $dev: $ENOENT"
printf '[gateway]\nserver = http://127.0.0.1:9\ntoken = swg_x\n[modem m1]\ndevice = %s\nconnection = at\n' \
	"$dev" >"$T/gw.conf"
run smswake-gateway -n -c "$T/gw.conf"
says "gateway -n: a missing modem device fails, named" "modem m1: device $dev: $ENOENT"
: >"$T/tty"
sed "s|$dev|$T/tty|" "$T/gw.conf" >"$T/gw-ok.conf"
run smswake-gateway -n -c "$T/gw-ok.conf"
check "gateway -n: passes when the device is there" test "$rc" -eq 0

# --- the server's data_dir ---
: >"$T/file"
printf '[server]\nlisten = 127.0.0.1:0\ndata_dir = %s/file/data\n' "$T" >"$T/s-notdir.conf"
run smswake-server -n -c "$T/s-notdir.conf"
says "server -n: a data_dir under a file fails, named" "data_dir $T/file/data: Not a directory"
# Unwritable: as an ordinary user (root writes anywhere; then the check runs as nobody).
mkdir -p "$T/ro"
chmod 0555 "$T/ro"
printf '[server]\nlisten = 127.0.0.1:0\ndata_dir = %s/ro/data\n' "$T" >"$T/s-ro.conf"
chmod 0755 "$T"
chmod 0644 "$T/s-ro.conf"
as_user=
if [ "$(id -u)" -eq 0 ]; then
	if command -v setpriv >/dev/null 2>&1; then
		as_user="setpriv --reuid=65534 --regid=65534 --clear-groups"
	fi
fi
if [ "$(id -u)" -ne 0 ] || [ -n "$as_user" ]; then
	$as_user "$BUILD/smswake-server" -n -c "$T/s-ro.conf" >"$T/out" 2>"$T/err" </dev/null
	rc=$?
	cat "$T/err" >>"$MSGS"
	says "server -n: a data_dir it cannot create fails, named" "data_dir $T/ro/data: Permission denied"
else
	echo "ok - server -n: a data_dir it cannot create fails # SKIP root without setpriv"
fi
printf '[server]\nlisten = 127.0.0.1:0\ndata_dir = %s/new/data\n' "$T" >"$T/s-new.conf"
run smswake-server -n -c "$T/s-new.conf"
check "server -n: a data_dir still to be created in a writable place passes" test "$rc" -eq 0

# --- the client: state directory, handler, modem device ---
# A configuration as provision writes it (the key is 32 octets in hex).
client_conf()
{
	printf '[client]\nserver = http://127.0.0.1:9\ndevice_id = 7\ntoken = swd_x\n'
	printf 'wake_key = %s\nstate_file = %s\n' AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8= "$1"
	[ -z "${2:-}" ] || printf 'handler = %s\n' "$2"
	[ -z "${3:-}" ] || printf '[modem]\ndevice = %s\nconnection = at\n' "$3"
}
umask 077
client_conf "$T/state" >"$T/c-ok.conf"
run smswake-client -n -c "$T/c-ok.conf"
check "client -n: a sound configuration passes" test "$rc" -eq 0
client_conf "$T/nodir/state" >"$T/c-nodir.conf"
run smswake-client -n -c "$T/c-nodir.conf"
says "client -n: a missing state directory fails, named" "state_file $T/nodir/state: directory $T/nodir: $ENOENT"
client_conf "$T/state" "$T/nohandler" >"$T/c-handler.conf"
run smswake-client -n -c "$T/c-handler.conf"
says "client -n: a missing handler fails, named" "handler $T/nohandler: $ENOENT (not found"
client_conf "$T/state" "" "$dev" >"$T/c-modem.conf"
run smswake-client -n -c "$T/c-modem.conf"
says "client -n: a missing modem device fails, named" "device $dev: $ENOENT"

# --- docs/operations.md lists every message provoked above ---
messages_listed "$MSGS" >"$T/listed"
cat "$T/listed"
failures=$((failures + $(grep -c '^not ok' "$T/listed")))
finish
