#!/bin/sh
# smswake-modem-sim at the AT level and through its control socket: exact framing, errors,
# PIN handling, storage commands, unsolicited results, validity expiry, unknown
# destinations, reordering, malformed and oversized input, resets and the config file.
. "$(dirname "$0")/lib_sim.sh"

A=+15550000001
B=+15550000002
CR=$(printf '\r')
hexof() { od -An -tx1 | tr -d ' \n'; }
sim_start -m "$A" -m "$B"

check "AT is echoed and answered OK exactly" test "$(at_cmd "$A" AT | hexof)" = 41540d0d0a4f4b0d0a
check "an unknown command answers ERROR" test "$(at_cmd "$A" 'AT+CPROT=?' | hexof)" = 41542b4350524f543d3f0d0d0a4552524f520d0a
at_cmd "$A" ATE0 >/dev/null
check "ATE0 turns echo off" test "$(at_cmd "$A" AT | hexof)" = 0d0a4f4b0d0a
at_cmd "$A" ATE1 >/dev/null
check "ATE1 turns echo back on" test "$(at_cmd "$A" AT | hexof)" = 41540d0d0a4f4b0d0a
out=$(at_cmd "$A" 'AT+CSCS=?')
case "$out" in *'+CSCS: ("GSM","UCS2","IRA")'*) ok "AT+CSCS=? lists GSM, UCS2, IRA" ;; *) not_ok "AT+CSCS=? lists GSM, UCS2, IRA" ;; esac
out=$(at_cmd "$A" 'AT+CMEE=0;+CMGF=1')
case "$out" in *"${CR}
ERROR${CR}"*) ok "text mode refused with ERROR when CMEE=0" ;; *) not_ok "text mode refused with ERROR when CMEE=0" ;; esac
out=$(at_cmd "$A" 'AT+CMEE=1;+CMGF=1')
case "$out" in *'+CMS ERROR: 303'*) ok "text mode refused with +CMS ERROR: 303 when CMEE=1" ;; *) not_ok "text mode refused with +CMS ERROR: 303 when CMEE=1" ;; esac
p=$(at_cmd "$A" 'AT+CMGS=10' | hexof)
case "$p" in *0d0a3e20) ok "AT+CMGS prompt ends with CR LF '> '" ;; *) not_ok "AT+CMGS prompt ends with CR LF '> ' (got $p)" ;; esac
out=$(printf '\033' | { exec 3<>"$RUN/modem-$A"; cat >&3; timeout 0.5 cat <&3; exec 3>&-; })
case "$out" in *OK*) ok "ESC cancels the prompt" ;; *) not_ok "ESC cancels the prompt" ;; esac
check "nothing was sent by the cancelled prompt" sh -c "[ -z \"\$('$SIM' --ctl '$RUN' sent '$A')\" ]"
check "the modem answers after the cancel" test "$(at_cmd "$A" AT | hexof)" = 41540d0d0a4f4b0d0a

# Sending raw PDUs: a good one, a malformed one, a wrong length, an oversized one.
out=$(at_send "$A" 0001000B915155000000F20004036F6E65)
case "$out" in *'+CMGS: '[0-9]*OK*) ok "a raw SUBMIT is answered +CMGS and OK" ;; *) not_ok "a raw SUBMIT is answered +CMGS and OK" ;; esac
check "the raw 8-bit SUBMIT arrives" wait_for 5 received_has "$B" "oa=$A .*coding=8bit .*ud=6F6E65\$"
out=$(at_send "$A" 0001000B915155000000F20004056F6E65)
case "$out" in *'+CMS ERROR: 304'*) ok "a SUBMIT with a bad UDL is refused with 304" ;; *) not_ok "a SUBMIT with a bad UDL is refused with 304" ;; esac
check "the malformed SUBMIT is recorded as rejected" sent_has "$A" 'status=rejected:13 pdu=0001000B915155000000F20004056F6E65 error='
check "stats count the rejection" sh -c "'$SIM' --ctl '$RUN' stats | grep -q '^$A .*rejected=1 '"
out=$({ exec 3<>"$RUN/modem-$A"; printf 'AT+CMGS=18\r' >&3; sleep 0.2; printf '0001000B915155000000F20004036F6E65\032' >&3; timeout 1 cat <&3; exec 3>&-; })
case "$out" in *'+CMS ERROR: 304'*) ok "a length that disagrees with AT+CMGS is refused" ;; *) not_ok "a length that disagrees with AT+CMGS is refused" ;; esac
big=$(head -c 600 /dev/zero | tr '\0' 'A')
out=$({ exec 3<>"$RUN/modem-$A"; printf 'AT+CMGS=100\r' >&3; sleep 0.2; printf '00%s\032' "$big" >&3; timeout 1 cat <&3; exec 3>&-; })
case "$out" in *'+CMS ERROR: 304'*) ok "an oversized PDU is refused" ;; *) not_ok "an oversized PDU is refused" ;; esac
out=$(at_cmd "$A" "AT$(head -c 700 /dev/zero | tr '\0' 'E')")
case "$out" in *ERROR*) ok "an over-long command line answers ERROR" ;; *) not_ok "an over-long command line answers ERROR" ;; esac
head -c 20000 /dev/urandom >"$TMP/noise"
{ exec 3<>"$RUN/modem-$A"; cat "$TMP/noise" >&3; sleep 0.5; timeout 0.5 cat <&3 >/dev/null; printf '\033\r' >&3; timeout 0.5 cat <&3 >/dev/null; exec 3>&-; }
check "random bytes on the line do not kill the modem" test "$(at_cmd "$A" 'ATE1' | tail -c 4 | hexof)" = 4f4b0d0a
check "the simulator is still alive after the noise" kill -0 "$SIM_PID"

# Storage commands.
at_cmd "$B" 'AT+CMEE=1' >/dev/null
out=$(at_cmd "$B" 'AT+CPMS="SM","SM","SM"')
case "$out" in *'+CPMS: 1,20,1,20,1,20'*) ok "AT+CPMS selects SM and counts one message" ;; *) not_ok "AT+CPMS selects SM and counts one message" ;; esac
out=$(at_cmd "$B" 'AT+CMGL=4')
case "$out" in *'+CMGL: 1,0,,22'*'07915155999999F9040B915155000000F10004'*) ok "AT+CMGL=4 lists the unread message with SMSC and TPDU length" ;; *) not_ok "AT+CMGL=4 lists the unread message" ;; esac
out=$(at_cmd "$B" 'AT+CMGR=1')
case "$out" in *'+CMGR: 1,,22'*'07915155999999F9040B915155000000F10004'*) ok "AT+CMGR shows it read after the listing" ;; *) not_ok "AT+CMGR shows it read after the listing" ;; esac
at_cmd "$B" 'AT+CMGD=1' >/dev/null
out=$(at_cmd "$B" 'AT+CMGR=1')
case "$out" in *'+CMS ERROR: 321'*) ok "AT+CMGD deletes; reading the empty slot gives 321" ;; *) not_ok "AT+CMGD deletes; reading the empty slot gives 321" ;; esac

# Unsolicited results: +CMTI for a stored SMS, +CDSI for a stored status report, +CDS direct.
at_cmd "$B" 'AT+CNMI=2,1,0,2,0' >/dev/null
at_cmd "$A" 'AT+CNMI=2,1,0,2,0' >/dev/null
timeout 3 cat "$RUN/modem-$B" >"$TMP/urc-b" 2>/dev/null &
urc_b=$!
timeout 3 cat "$RUN/modem-$A" >"$TMP/urc-a" 2>/dev/null &
urc_a=$!
sleep 0.3
{ exec 4<>"$RUN/modem-$A"; printf 'AT+CMGS=16\r' >&4; sleep 0.2; printf '0021000B915155000000F20004036F6E65\032' >&4; sleep 0.5; exec 4>&-; }
wait "$urc_b" "$urc_a"
check "+CMTI announces the stored SMS" grep -q '+CMTI: "SM",1' "$TMP/urc-b"
check "+CDSI announces the stored status report" grep -q '+CDSI: "SM",[0-9]' "$TMP/urc-a"
at_cmd "$A" 'AT+CNMI=2,1,0,1,0' >/dev/null
timeout 3 cat "$RUN/modem-$A" >"$TMP/urc-a2" 2>/dev/null &
urc_a=$!
sleep 0.3
{ exec 4<>"$RUN/modem-$A"; printf 'AT+CMGS=16\r' >&4; sleep 0.2; printf '0021000B915155000000F20004036F6E65\032' >&4; sleep 0.5; exec 4>&-; }
wait "$urc_a"
check "+CDS carries the status report directly" grep -q '^+CDS: 25' "$TMP/urc-a2"

# Validity period: an enhanced VP of 2 s to an unregistered modem expires with a report.
ctl set "$B" registered 0 >/dev/null
at_send "$A" 0029000B915155000000F2000002020000000000027638 >/dev/null
check "an expired message sends a status report with 0x46" wait_for 8 received_has "$A" "type=status-report .*ra=$B st=0x46"
check "the expired message is marked failed" sent_has "$A" 'status=failed:expired .*vp=enhanced:2 '
ctl set "$B" registered 1 >/dev/null
check "the expired message is never delivered" sh -c "! '$SIM' --ctl '$RUN' received '$B' | grep -q 'text=\"vp\"'"

# Unknown destination.
at_send "$A" 0021000B915155990900F00000027638 >/dev/null
check "an unknown destination gives a 0x43 report" wait_for 5 received_has "$A" 'type=status-report .*ra=+15559990000 st=0x43'
check "and the send is marked failed" sent_has "$A" 'status=failed:unknown-destination'

# Reordering: the first message is held back, the second overtakes it. The hold is long enough
# for the second send to get through a loaded machine first.
ctl forget "$B" >/dev/null
ctl set "$A" reorder 1 >/dev/null
ctl set "$A" reorder_delay 6000 >/dev/null
at_send "$A" 0001000B915155000000F20004036F6E65 >/dev/null
ctl set "$A" reorder 0 >/dev/null
at_send "$A" 0001000B915155000000F200040374776F >/dev/null
check "both reordered messages arrive" wait_for 15 sh -c "[ \$('$SIM' --ctl '$RUN' received '$B' | grep -c 'coding=8bit') -eq 2 ]"
check "the second overtook the first" sh -c "'$SIM' --ctl '$RUN' received '$B' | head -n 1 | grep -q 'ud=74776F\$'"

# PIN at the AT level: three wrong tries lock the SIM behind the PUK.
ctl set "$A" pin 1234 >/dev/null
out=$(at_cmd "$A" 'AT+CPIN?')
case "$out" in *'+CPIN: SIM PIN'*) ok "AT+CPIN? says SIM PIN" ;; *) not_ok "AT+CPIN? says SIM PIN" ;; esac
out=$(at_cmd "$A" 'AT+CMEE=1;+CMGL=4')
case "$out" in *'+CMS ERROR: 311'*) ok "SMS commands need the PIN (311)" ;; *) not_ok "SMS commands need the PIN (311)" ;; esac
for i in 1 2 3; do out=$(at_cmd "$A" 'AT+CPIN="0000"'); done
case "$out" in *'+CME ERROR: 16'*) ok "a wrong PIN is +CME ERROR: 16" ;; *) not_ok "a wrong PIN is +CME ERROR: 16" ;; esac
out=$(at_cmd "$A" 'AT+CPIN?')
case "$out" in *'+CPIN: SIM PUK'*) ok "three wrong PINs ask for the PUK" ;; *) not_ok "three wrong PINs ask for the PUK" ;; esac
at_cmd "$A" 'AT+CPIN="12345678","2468"' >/dev/null
out=$(at_cmd "$A" 'AT+CPIN?')
case "$out" in *'+CPIN: READY'*) ok "the PUK and a new PIN make it ready" ;; *) not_ok "the PUK and a new PIN make it ready" ;; esac

# AT+CFUN=1,1 answers OK, drops the link and brings it back.
out=$(at_cmd "$A" 'AT+CFUN=1,1' 0.3)
case "$out" in *OK*) ok "AT+CFUN=1,1 answers OK" ;; *) not_ok "AT+CFUN=1,1 answers OK" ;; esac
check "the link drops after the reset" wait_for 2 sh -c "test ! -e '$RUN/modem-$A'"
check "the link comes back" wait_for 5 test -L "$RUN/modem-$A"
check "the modem answers after coming back" wait_for 3 sh -c "'$SIM' --ctl '$RUN' list | grep -q '^$A .*state=ready'"

# Control protocol errors.
check "unknown control command is an error" sh -c "! '$SIM' --ctl '$RUN' frobnicate 2>/dev/null"
check "unknown modem is an error" sh -c "'$SIM' --ctl '$RUN' sent +19999 2>&1 | grep -q '^ERROR unknown modem'"
check "unknown key is an error" sh -c "'$SIM' --ctl '$RUN' set '$A' colour red 2>&1 | grep -q '^ERROR unknown key'"
check "bad value is an error" sh -c "'$SIM' --ctl '$RUN' set '$A' loss 1.5 2>&1 | grep -q '^ERROR bad value'"
check "bad hex to inject is an error" sh -c "'$SIM' --ctl '$RUN' inject '$A' 0G 2>&1 | grep -q '^ERROR bad hex'"
check "a malformed DELIVER to inject is an error" sh -c "! '$SIM' --ctl '$RUN' inject '$A' 0400 2>/dev/null"
check "set all applies to every modem" sh -c "'$SIM' --ctl '$RUN' set all csq 7 && '$SIM' --ctl '$RUN' clear all"
check "help answers OK" sh -c "'$SIM' --ctl '$RUN' help | grep -q '^list'"
long=$(head -c 1500 /dev/zero | tr '\0' 'x')
check "an over-long control line is refused" sh -c "'$SIM' --ctl '$RUN' '$long' 2>&1 | grep -q '^ERROR line too long'"
check "the control socket works after that" sh -c "'$SIM' --ctl '$RUN' list >/dev/null"
ctl forget all >/dev/null
check "forget empties the histories" sh -c "[ -z \"\$('$SIM' --ctl '$RUN' received '$B')\" ]"

# Configuration file: checked with -n, bad keys refused.
cat >"$TMP/good.ini" <<EOT
[network]
seed = 5
smsc = +4915550000
validity = 2h
[defaults]
storage_size = 10
[modem +15550000007]
imsi = 001010000000007
pin = 1111
delay = 100-200
loss = 10%
EOT
check "a good config passes -n" sh -c "'$SIM' -n -c '$TMP/good.ini' | grep -q 'configuration OK: 1 modem'"
printf '[modem +1555]\nwarp = 9\n' >"$TMP/bad.ini"
check "a bad config fails -n" sh -c "! '$SIM' -n -c '$TMP/bad.ini' 2>/dev/null"
check "a bad number fails" sh -c "! '$SIM' -n -m 12ab 2>/dev/null"

sim_stop
check "simulator exits 0" test $? -eq 0
finish
