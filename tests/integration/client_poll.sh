#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# `smswake-client run` against a real smswake-server with no SMS at all: messages arrive by
# polling within one poll interval; a handler that fails leaves its message unacknowledged and it
# comes again next round; a client killed (SIGKILL) in the middle of a fetch loses nothing and
# hands nothing over twice once restarted, and flags the message it was handling as redelivered.
. "$(dirname "$0")/client_lib.sh"

srv_start '[scheduler]
batch_window = 0s'

# The handler records "SEQ BODY REDELIVERED" once it has done its work. "bad" fails the first
# time; "slow" hangs the first time (recording its pid so the test can kill it).
cat >"$TMP/handler" <<EOF
#!/bin/sh
body=\$(cat)
echo "\$SMSWAKE_SEQ \$body" >>"$TMP/attempts"
case \$body in
bad)
	if [ ! -e "$TMP/bad.done" ]; then : >"$TMP/bad.done"; exit 1; fi ;;
slow)
	if [ ! -e "$TMP/slow.done" ]; then
		: >"$TMP/slow.done"
		echo \$\$ >"$TMP/handler.pid"
		exec sleep 60
	fi ;;
esac
printf '%s %s %s\n' "\$SMSWAKE_SEQ" "\$body" "\$SMSWAKE_REDELIVERED" >>"$TMP/got"
EOF
chmod +x "$TMP/handler"
: >"$TMP/got"
: >"$TMP/attempts"

device_add dev '{"msisdn":"+15550000002","poll_interval":2}' "$TMP/handler"
check "provision accepts the registration's poll_interval 2" client "$TMP/dev.conf" -n
id=$DEV_ID

run_client()
{
	"$BUILD/smswake-client" -c "$TMP/dev.conf" run 2>>"$TMP/client.log" &
	CL=$!
	BG_PIDS="$BG_PIDS $CL"
}

got_has() { grep -qx "$1" "$TMP/got"; }
got_is() { printf '%s\n' "$@" | cmp -s - "$TMP/got"; }

run_client
# Let the first poll (at start, nothing queued) happen, then submit.
check "run polls at start" wait_for 5 grep -q 'fetched 0 new' "$TMP/client.log"
id1=$(submit "$id" m1)
check "a message arrives by polling within one interval (2 s, +2 s slack)" wait_for 4 got_has "1 m1 0"
check "the polled message is acknowledged" wait_for 3 state_is "$id1" acked
check "no wakeup SMS for a device that polls within the margin" no_job 1

# A failing handler: the message stays queued and is handed over again on the next poll, flagged
# as possibly seen (the handler did see it, and may have done part of its work).
id2=$(submit "$id" bad)
check "a message whose handler failed comes again next round, flagged redelivered" \
	wait_for 8 got_has "2 bad 1"
check "the handler ran twice for it, failing once" \
	test "$(grep -c '^2 bad$' "$TMP/attempts")" -eq 2
check "it is acknowledged once the handler accepted it" wait_for 3 state_is "$id2" acked

# SIGKILL in the middle of a fetch: the handler of "slow" hangs; the client and the handler are
# killed as by a power cut, and the client is started again.
submit "$id" s1 >/dev/null
submit "$id" slow >/dev/null
id5=$(submit "$id" s3)
if wait_for 10 test -s "$TMP/handler.pid"; then
	kill -9 "$CL"
	wait "$CL" 2>/dev/null
	kill -9 "$(cat "$TMP/handler.pid")" 2>/dev/null
	rm -f "$TMP/handler.pid"
	ok "the client is killed while its handler runs"
else
	not_ok "the client is killed while its handler runs (handler never hung)"
fi
check "before the restart: s1 handled, slow not" got_is "1 m1 0" "2 bad 1" "3 s1 0"
check "slow and s3 are not acknowledged" test "$(msg_state "$id5")" != acked
run_client
check "after the restart the rest arrives" wait_for 8 got_has "5 s3 0"
check "nothing lost, nothing handed over twice; the interrupted one flagged redelivered" \
	got_is "1 m1 0" "2 bad 1" "3 s1 0" "4 slow 1" "5 s3 0"
check "everything is acknowledged" wait_for 3 state_is "$id5" acked

kill -TERM "$CL"
wait "$CL"
check "run stops cleanly on SIGTERM (exit 0)" test $? -eq 0
BG_PIDS=

finish
