#!/bin/sh
# The real gammu CLI against smswake-modem-sim: identify, send text, Unicode and binary
# port-addressed SMS, read and delete them, status reports, replaying a captured PDU, and a
# clean shutdown.
. "$(dirname "$0")/lib_sim.sh"

A=+15550000001
B=+15550000002
sim_start -m "$A" -m "$B"

check "pid file, links and control socket exist" \
	test -f "$RUN/pid" -a -L "$RUN/modem-$A" -a -L "$RUN/modem-$B" -a -S "$RUN/control"
check "list shows both modems" sh -c "'$SIM' --ctl '$RUN' list | grep -c '^+1555000000[12] pty=/dev/pts/' | grep -qx 2"

gammu_on "$A" identify
check "gammu identify succeeds" test $? -eq 0
check "identify reports the manufacturer" grep -q 'Manufacturer *: smswake' "$TMP/out"
check "identify reports the IMEI" grep -Eq 'IMEI *: [0-9]{15}' "$TMP/out"
check "identify reports the IMSI" grep -q 'SIM IMSI *: 00101' "$TMP/out"

gammu_on "$A" sendsms TEXT "$B" -text "hello world"
check "gammu sendsms TEXT succeeds" test $? -eq 0
check "7-bit text arrives at the destination" wait_for 5 received_has "$B" "oa=$A .*dcs=0x00 coding=7bit.*text=\"hello world\""
check "sender history shows it delivered" sent_has "$A" "peer=$B mr=0 status=delivered .*type=submit"

gammu_on "$A" sendsms TEXT "$B" -unicode -text "Привет"
check "gammu sendsms -unicode succeeds" test $? -eq 0
check "UCS2 text arrives byte for byte" wait_for 5 received_has "$B" "coding=ucs2 .*ud=041F04400438043204350442 "

# A binary port-addressed SMS: gammu's WAP push indicator (8-bit, ports 2948/9200). What gammu
# says it encodes (displaysms) must be exactly what the destination receives.
gammu_on "$A" displaysms WAPINDICATOR "$B" http://example.com/w Wake
data=$(sed -n 's/^Data PDU *: //p' "$TMP/out")
check "gammu displaysms shows the binary payload" test -n "$data"
gammu_on "$A" sendsms WAPINDICATOR "$B" http://example.com/w Wake
check "gammu sendsms WAPINDICATOR succeeds" test $? -eq 0
check "binary SMS arrives with 16-bit ports" wait_for 5 received_has "$B" "dcs=0xF5 coding=8bit .*udh=0B05040B8423F00003[0-9A-F]*0101 dport=2948 sport=9200 "
check "binary payload arrives byte for byte" received_has "$B" "dport=2948 sport=9200 concat=[0-9]*/1/1 ud=$data\$"

gammu_on "$B" getallsms
check "gammu getallsms on the receiver succeeds" test $? -eq 0
check "getallsms shows the text message" grep -q '^hello world' "$TMP/out"
check "getallsms shows the sender" grep -q "Remote number *: \"$A\"" "$TMP/out"
check "getallsms finds three messages" grep -q '^3 SMS parts in 3 SMS sequences' "$TMP/out"

gammu_on "$B" deleteallsms 1
check "gammu deleteallsms succeeds" test $? -eq 0
check "receiver storage is empty afterwards" sh -c "'$SIM' --ctl '$RUN' list | grep -q '^$B .*storage=SM:0/'"

gammu_on "$A" sendsms TEXT "$B" -report -text "report me"
check "gammu sendsms -report succeeds" test $? -eq 0
check "the SUBMIT asked for a report" sent_has "$A" "srr=1 .*text=\"report me\""
check "a delivered status report reaches the sender" wait_for 5 received_has "$A" "type=status-report .*ra=$B st=0x00"
gammu_on "$A" getallsms
check "gammu reads the status report" grep -q 'Delivery status *: Delivered' "$TMP/out"

# Replay: a DELIVER captured from the history, injected into the other modem as hex.
pdu=$(ctl received "$B" | grep 'text="hello world"' | head -n 1 | sed 's/.* pdu=\([0-9A-F]*\) .*/\1/')
check "inject of a captured PDU is accepted" sh -c "'$SIM' --ctl '$RUN' inject '$A' '$pdu' | grep -q '^stored:SM:'"
gammu_on "$A" getallsms
check "gammu reads the injected message" grep -q '^hello world' "$TMP/out"

# Gammu disconnected and reconnected for every command above; it still works.
gammu_on "$B" identify
check "modem answers after many reconnects" test $? -eq 0

sim_stop
check "simulator exits 0 on SIGTERM" test $? -eq 0
check "links, socket and pid file are removed" \
	test ! -e "$RUN/modem-$A" -a ! -e "$RUN/modem-$B" -a ! -e "$RUN/control" -a ! -e "$RUN/pid"
finish
