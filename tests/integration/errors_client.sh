#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# smswake-client says what went wrong and where: a handler that is not there is named with the
# system's reason ("No such file or directory"), not reported as its exit status 127, and its
# message stays queued; a state file deleted after use is named in a warning (the wake counter
# and cursor start again from 0), while a first run, with no state yet, warns of nothing.
. "$(dirname "$0")/client_lib.sh"
. "$(dirname "$0")/lib_messages.sh"

srv_start
printf '#!/bin/sh\ncat >/dev/null\n' >"$TMP/handler"
chmod +x "$TMP/handler"
device_add dev '{"msisdn":"+15550000002","poll_interval":3600}' "$TMP/nohandler"
check "provisioned" test -s "$TMP/dev.conf"

# --- a handler that is not there ---
m1=$(submit "$DEV_ID" "first")
: >"$TMP/client.log"
client "$TMP/dev.conf" poll
rc=$?
cat "$TMP/client.log" >>"$TMP/messages"
check "poll fails when the handler cannot run" test "$rc" -ne 0
check "the handler is named with the reason and what to do" \
	grep -qF "handler: cannot run $TMP/nohandler: No such file or directory (not found" "$TMP/client.log"
check "it is not reported as an exit status 127" sh -c "! grep -q 'exited with 127' '$TMP/client.log'"
st=$(msg_state "$m1")
check "the message is not acknowledged ($st)" test "$st" != acked
check "the first run warns of no missing state file" sh -c "! grep -q 'state file' '$TMP/client.log'"

# --- with a handler that works, then the state file deleted ---
sed "s|^handler = .*|handler = $TMP/handler|" "$TMP/dev.conf" >"$TMP/dev2.conf"
chmod 600 "$TMP/dev2.conf"
client "$TMP/dev2.conf" poll
check "poll delivers once the handler is there" test $? -eq 0
check "the message is acknowledged" wait_for 5 state_is "$m1" acked
check "the state file exists after use" test -f "$TMP/dev.state"
rm -f "$TMP/dev.state"
: >"$TMP/client.log"
client "$TMP/dev2.conf" poll
check "poll still works without its state file" test $? -eq 0
cat "$TMP/client.log" >>"$TMP/messages"
check "a deleted state file is named in a warning" \
	grep -qF "state file $TMP/dev.state is missing but was in use" "$TMP/client.log"
: >"$TMP/client.log"
client "$TMP/dev2.conf" poll
check "once written again, no more warning" sh -c "! grep -q 'is missing' '$TMP/client.log'"
messages_listed "$TMP/messages" >"$TMP/listed"
cat "$TMP/listed"
failures=$((failures + $(grep -c '^not ok' "$TMP/listed")))
finish
