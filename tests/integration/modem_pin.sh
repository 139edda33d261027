#!/bin/sh
# SIM PIN handling of the modem layer against the simulator: a wrong PIN is tried exactly once,
# the modem is stopped and says so loudly, and nothing retries it (a retry could burn the PUK);
# the right PIN unlocks the SIM; a SIM that wants a PIN when none is configured also stops.
. "$(dirname "$0")/modem_lib.sh"

sim_start -m "$A" -m "$B"
ctl set "$A" pin 4321 >/dev/null

modem_ini 1111
# Short back-off: if anything retried, it would within the test's wait.
cli wrong -m a -t 30 -o backoff_min=200ms -o backoff_max=400ms status
check "wrong PIN: the command fails as permanent" test "$rc" -eq 1
check "wrong PIN: the modem is stopped" has wrong.out '^modem=a state=stopped .*PIN'
check "wrong PIN: logged as an error" has cliwrong.err 'error\] modem a STOPPED: .*PIN'
check "wrong PIN: the PIN itself is not logged" sh -c "! grep -q 1111 '$TMP/cliwrong.err' '$TMP/wrong.out'"
check "wrong PIN: tried exactly once" test "$(grep -c 'AT+CPIN="1111"' "$TMP/sim.log")" -eq 1
check "wrong PIN: the SIM is not blocked" sh -c "'$SIM' --ctl '$RUN' list | grep -q '^$A .*pin=sim-pin'"

modem_ini
cli nopin -m a -t 30 status
check "no PIN configured: stopped, not retried" has nopin.out '^modem=a state=stopped .*PIN required'
check "no PIN configured: nothing entered" test "$(grep -c 'AT+CPIN="' "$TMP/sim.log")" -eq 1

modem_ini 4321
cli right -m a -t 60 status
check "right PIN: the SIM is unlocked" has right.out '^modem=a sim=ready registration=home'
check "right PIN: exit status 0" test "$rc" -eq 0
cli send -m a -t 60 send "$B" --port 9200 --hex 2a
check "right PIN: sending works" has send.out '^sent modem=a'

finish
