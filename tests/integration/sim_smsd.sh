#!/bin/sh
# gammu-smsd, unmodified, with the files backend on a simulated modem: outgoing text and
# wakeup-shaped binary SMS from its outbox, incoming text and binary SMS into its inbox.
. "$(dirname "$0")/lib_sim.sh"

A=+15550000001
D=+15550000002
sim_start -m "$A" -m "$D"

S=$TMP/smsd
mkdir -p "$S/inbox" "$S/outbox" "$S/sent" "$S/error"
cat >"$TMP/smsdrc" <<EOT
[gammu]
device = $RUN/modem-$D
connection = at
model = at
[smsd]
service = files
inboxpath = $S/inbox/
outboxpath = $S/outbox/
sentsmspath = $S/sent/
errorsmspath = $S/error/
inboxformat = detail
logfile = $S/log
debuglevel = 1
commtimeout = 1
sendtimeout = 30
receivefrequency = 1
statusfrequency = 0
checksecurity = 0
checkbattery = 0
checksignal = 0
resetfrequency = 0
hardresetfrequency = 0
loopsleep = 1
phoneid = sim
EOT

gammu-smsd -c "$TMP/smsdrc" -p "$S/pid" >"$TMP/smsd.out" 2>&1 &
SMSD_PID=$!
check "gammu-smsd starts and writes its pid file" wait_for 20 test -s "$S/pid"
check "gammu-smsd initialises the modem" wait_for 30 grep -q 'Starting phone communication' "$S/log"

gammu-smsd-inject -c "$TMP/smsdrc" TEXT "$A" -text "hi from smsd" >"$TMP/inject.out" 2>&1
check "gammu-smsd-inject writes an outbox file" test $? -eq 0
check "the outbox message arrives at the destination" \
	wait_for 40 received_has "$A" "oa=$D .*text=\"hi from smsd\""
check "gammu-smsd moves it to sent" wait_for 10 sh -c "ls '$S/sent' | grep -q ."

# The shape of a wakeup: 8-bit, a 7-octet UDH with 16-bit ports, binary payload.
cat >"$S/outbox/OUTA20260101_000000_00_${A}_wake.smsbackup.part" <<EOT
[SMSBackup000]
PDU = Submit
Number = "$A"
Coding = 8bit
UDH = 06050423F01234
Text00 = 0100FF7E1B0D0A8000
Length = 9
Class = -1
EOT
mv "$S/outbox/OUTA20260101_000000_00_${A}_wake.smsbackup.part" \
	"$S/outbox/OUTA20260101_000000_00_${A}_wake.smsbackup"
check "wakeup-shaped SMS arrives with its header byte for byte" \
	wait_for 40 received_has "$A" "dcs=0x04 coding=8bit class=-1 udh=06050423F01234 dport=9200 sport=4660 ud=0100FF7E1B0D0A8000\$"

gammu_on "$A" sendsms TEXT "$D" -text "hello smsd"
check "gammu sendsms to the smsd modem succeeds" test $? -eq 0
check "gammu-smsd stores the text in its inbox" \
	wait_for 30 sh -c "grep -l 'hello smsd' '$S/inbox/'* >/dev/null 2>&1"

# A binary port-addressed DELIVER injected as hex (as a captured wakeup would be replayed).
ctl inject "$D" 440B915155000000F10004621162607555000A06050423F01234C0FFEE >/dev/null
check "inject to the smsd modem is accepted" test $? -eq 0
check "gammu-smsd stores the binary SMS with its UDH" \
	wait_for 30 sh -c "grep -l 'UDH = 06050423F01234' '$S/inbox/'* >/dev/null 2>&1"
check "gammu-smsd stores the binary payload" \
	sh -c "grep -l 'Text00 = C0FFEE' '$S/inbox/'* >/dev/null 2>&1"
check "gammu-smsd deleted what it read from the modem" \
	wait_for 10 sh -c "'$SIM' --ctl '$RUN' list | grep -q '^$D .*storage=SM:0/'"

kill "$SMSD_PID"
wait "$SMSD_PID"
check "gammu-smsd stops on SIGTERM" test $? -eq 0
SMSD_PID=
check "no message ended in the error folder" sh -c "! ls '$S/error' | grep -q ."

sim_stop
check "simulator exits 0" test $? -eq 0
finish
