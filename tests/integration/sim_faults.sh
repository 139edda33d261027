#!/bin/sh
# Faults injected through the control socket, as the real gammu CLI sees them: CMS errors,
# lost registration, a SIM PIN, full storage, a hung modem, a reset, delays, loss, duplicates
# and the send duration.
. "$(dirname "$0")/lib_sim.sh"

A=+15550000001
B=+15550000002
sim_start -m "$A" -m "$B" -s 42

# +CMS ERROR on the next send only.
ctl set "$A" cms_error 1 >/dev/null
gammu_on "$A" sendsms TEXT "$B" -text "first"
check "cms_error 1: gammu sendsms fails" test $? -ne 0
check "cms_error 1: gammu sees error 500" grep -q 'error 500' "$TMP/out"
check "cms_error 1: the failure is recorded" sent_has "$A" "status=error:500 .*text=\"first\""
gammu_on "$A" sendsms TEXT "$B" -text "second"
check "cms_error 1: the next send succeeds" test $? -eq 0
check "cms_error 1: the second message arrives" wait_for 5 received_has "$B" 'text="second"'
check "cms_error 1: the failed one never arrives" sh -c \
	"! '$SIM' --ctl '$RUN' received '$B' | grep -q 'text=\"first\"'"

# No registration: sends fail with +CMS ERROR: 331, incoming waits at the service centre.
ctl set "$A" registered 0 >/dev/null
gammu_on "$A" sendsms TEXT "$B" -text "unregistered"
check "registered 0: gammu sendsms fails with 331" grep -q 'error 331' "$TMP/out"
check "registered 0: list shows it" sh -c "'$SIM' --ctl '$RUN' list | grep -q '^$A .*registered=0'"
gammu_on "$B" sendsms TEXT "$A" -text "waits for registration"
check "registered 0: message to it is accepted by the network" test $? -eq 0
sleep 1
check "registered 0: nothing is delivered while unregistered" sh -c \
	"! '$SIM' --ctl '$RUN' received '$A' | grep -q 'waits for registration'"
check "registered 0: sender sees it pending" sent_has "$B" 'status=pending .*waits for registration'
ctl set "$A" registered 1 >/dev/null
check "registered 1: the held message is delivered" wait_for 5 received_has "$A" 'text="waits for registration"'
check "registered 1: sender sees it delivered" sent_has "$B" 'status=delivered .*waits for registration'

# SIM PIN required.
ctl set "$A" pin 4321 >/dev/null
gammu_on "$A" getsecuritystatus
check "pin: gammu sees the SIM waiting for its PIN" grep -q 'Waiting for PIN' "$TMP/out"
gammu_on "$A" sendsms TEXT "$B" -text "no pin"
check "pin: gammu sendsms fails" test $? -ne 0
gammu_on "$A" entersecuritycode PIN 1111
check "pin: a wrong PIN is refused" test $? -ne 0
gammu_on "$A" entersecuritycode PIN 4321
check "pin: the right PIN is accepted" test $? -eq 0
gammu_on "$A" getsecuritystatus
check "pin: nothing more to enter" grep -q 'Nothing to enter' "$TMP/out"

# Full storage: incoming is not stored, the network keeps it until there is room.
ctl set "$B" storage_full on >/dev/null
gammu_on "$A" sendsms TEXT "$B" -text "no room"
check "storage_full: the send itself succeeds" test $? -eq 0
sleep 1
check "storage_full: nothing is stored" sh -c "! '$SIM' --ctl '$RUN' received '$B' | grep -q 'no room'"
check "storage_full: the network holds it" sh -c "'$SIM' --ctl '$RUN' stats | grep -q '^network pending=1'"
ctl set "$B" storage_full off >/dev/null
check "storage_full off: it arrives" wait_for 5 received_has "$B" 'text="no room"'

# Delay, loss, duplicates, send duration.
ctl set "$A" delay 5000 >/dev/null
gammu_on "$A" sendsms TEXT "$B" -text "slow"
check "delay: not there at once" sh -c "! '$SIM' --ctl '$RUN' received '$B' | grep -q 'text=\"slow\"'"
check "delay: there after the delay" wait_for 8 received_has "$B" 'text="slow"'
ctl clear "$A" >/dev/null
ctl set "$A" loss 1 >/dev/null
gammu_on "$A" sendsms TEXT "$B" -text "lost"
check "loss 1: gammu still gets a message reference" test $? -eq 0
check "loss 1: the sender history says lost" sent_has "$A" 'status=lost .*text="lost"'
ctl set "$A" loss 0 >/dev/null
ctl set "$A" dup 1 >/dev/null
gammu_on "$A" sendsms TEXT "$B" -text "twice"
check "dup 1: two copies arrive" wait_for 5 sh -c "[ \$('$SIM' --ctl '$RUN' received '$B' | grep -c 'text=\"twice\"') -eq 2 ]"
check "loss: nothing called lost ever arrived" sh -c "! '$SIM' --ctl '$RUN' received '$B' | grep -q 'text=\"lost\"'"
ctl clear "$A" >/dev/null
ctl set "$A" send_duration 4s >/dev/null
start=$(date +%s)
gammu_on "$A" sendsms TEXT "$B" -text "slow send"
end=$(date +%s)
check "send_duration: gammu waits for the answer" test $((end - start)) -ge 4
check "send_duration: the send succeeds" grep -q 'OK, message reference' "$TMP/out"
ctl clear "$A" >/dev/null

# Reset: the link goes away and comes back; gammu works again afterwards.
ctl set "$A" reset >/dev/null
check "reset: the link is gone at once" test ! -e "$RUN/modem-$A"
check "reset: the link comes back" wait_for 5 test -L "$RUN/modem-$A"
gammu_on "$A" identify
check "reset: gammu identify works after it" test $? -eq 0
check "reset: counted" sh -c "'$SIM' --ctl '$RUN' stats | grep -q '^$A .*resets=1'"

# Hang: the modem stops answering; gammu times out, then works again once cleared.
ctl set "$A" hang on >/dev/null
gammu_on "$A" identify
check "hang on: gammu identify fails" test $? -ne 0
check "hang on: gammu reports a timeout" grep -qi 'timeout' "$TMP/out"
ctl set "$A" hang off >/dev/null
gammu_on "$A" identify
check "hang off: gammu identify works again" test $? -eq 0

sim_stop
check "simulator exits 0" test $? -eq 0
finish
