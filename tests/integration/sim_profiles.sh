#!/bin/sh
# The simulator's modem profiles at the AT level: what each family answers to ATI and AT+CGMM,
# what it lacks, how it reports errors, its SMS prompt, its unsolicited lines (also between a
# command's echo and its answer), its storage indexes; and the commands a strict 3GPP modem
# accepts that the simulator used to refuse (AT+IFC, AT+CNMA, AT+CLIP, AT+CRC, echo after ATZ).
. "$(dirname "$0")/lib_sim.sh"

A=+15550000001 # 3gpp
B=+15550000002 # gsm-only
C=+15550000003 # sim800
D=+15550000004 # quectel
E=+15550000005 # huawei
F=+15550000006 # tc35

sim_start -m $A -p gsm-only -m $B -p sim800 -m $C -p quectel -m $D -p huawei -m $E -p tc35 -m $F

# at_text NUMBER COMMAND [SECONDS]: the answer to one command line, spaces dropped and CR and LF
# written as \r and \n (od -c), so that patterns can see line ends.
at_text() { at_cmd "$1" "$2" "${3:-1}" | od -An -c | tr -d ' \n'; }
# at_has / at_lacks NUMBER COMMAND PATTERN [SECONDS]: the answer matches PATTERN (grep -E), or not.
at_has() { at_text "$1" "$2" "${4:-1}" >"$TMP/at.out" && grep -Eq -- "$3" "$TMP/at.out"; }
at_lacks() { at_text "$1" "$2" "${4:-1}" >"$TMP/at.out" && ! grep -Eq -- "$3" "$TMP/at.out"; }
# leave_prompt NUMBER: ESC out of the SMS prompt and read what follows.
leave_prompt() { printf '\033' >"$RUN/modem-$1"; sleep 0.3; at_cmd "$1" 'AT' >/dev/null; }

check "list shows each modem's profile" sh -c "'$SIM' --ctl '$RUN' list | grep -q '^$E .* profile=huawei '"

# --- 3gpp: the default, and what a strict modem accepts ---
check "3gpp: AT+IFC=2,2 is accepted" at_has $A 'AT+IFC=2,2' '\\r\\nOK\\r\\n$'
check "3gpp: AT+IFC? shows it" at_has $A 'AT+IFC?' '\+IFC:2,2\\r\\n\\r\\nOK'
check "3gpp: AT+CLIP=1 is accepted" at_has $A 'AT+CLIP=1' '\\r\\nOK\\r\\n$'
check "3gpp: AT+CRC=1 is accepted" at_has $A 'AT+CRC=1' '\\r\\nOK\\r\\n$'
check "3gpp: AT+CNMA=? is answered" at_has $A 'AT+CNMA=?' '\+CNMA:\(0-2\)'
at_cmd $A 'AT+CMEE=1' >/dev/null
check "3gpp: AT+CNMA with nothing to acknowledge is +CMS ERROR: 340" at_has $A 'AT+CNMA' 'CMSERROR:340'
at_cmd $A 'AT+CSMS=1;+CNMI=1,2,0,0,0' >/dev/null
ctl inject $A 440B915155000000F20004621162607555000A06050423F01234C0FFEE >/dev/null
check "3gpp: with AT+CSMS=1 a +CMT is shown and AT+CNMA acknowledges it" at_has $A 'AT+CNMA' '\+CMT:.*OK'
check "3gpp: a second AT+CNMA has nothing left to acknowledge" at_has $A 'AT+CNMA' 'CMSERROR:340'
at_cmd $A 'ATE0' >/dev/null
check "3gpp: ATE0 stops the echo" at_lacks $A 'AT+CGMI' 'AT\+CGMI'
at_cmd $A 'ATZ' >/dev/null
check "3gpp: ATZ restores the echo" at_has $A 'AT+CGMI' '^AT\+CGMI\\r'
at_cmd $A 'ATE0' >/dev/null
at_cmd $A 'AT&F' >/dev/null
check "3gpp: AT&F restores the echo" at_has $A 'AT+CGMI' '^AT\+CGMI\\r'
check "3gpp: ATZ left AT+CMEE at its default (plain ERROR)" at_has $A 'AT+CPIN=1234' '\\r\\nERROR\\r\\n$'
check "3gpp: unknown commands answer ERROR" at_has $A 'AT+MODE=2' '\\r\\nERROR\\r\\n$'
check "3gpp: the SMS prompt is CR LF > space" at_has $A 'AT+CMGS=10' '^AT\+CMGS=10\\r\\r\\n>$'
leave_prompt $A
at_cmd $A 'AT+CRC=0;+CLIP=1' >/dev/null
ctl ring $A +15557770001 1 >/dev/null
check "3gpp: RING and +CLIP with the caller" at_has $A 'AT' 'RING\\r\\n\\r\\n\+CLIP:"\+15557770001",145'
at_cmd $A 'AT+CRC=1' >/dev/null
ctl ring $A +15557770001 1 >/dev/null
check "3gpp: +CRING: VOICE with AT+CRC=1" at_has $A 'AT' '\+CRING:VOICE'
check "3gpp: ATH answers a call" at_has $A 'ATH' '\\r\\nOK\\r\\n$'

# --- gsm-only: no packet domain ---
check "gsm-only: AT+CGREG=2 answers ERROR" at_has $B 'AT+CGREG=2' '\\r\\nERROR\\r\\n$'
check "gsm-only: AT+CGATT? answers ERROR" at_has $B 'AT+CGATT?' '\\r\\nERROR\\r\\n$'
check "gsm-only: AT+CREG? tells the registration" at_has $B 'AT+CREG?' '\+CREG:0,1\\r\\n\\r\\nOK'

# --- SIMCom SIM800 ---
check "sim800: ATI is the product line" at_has $C 'ATI' 'SIM800R14\.18\\r\\n\\r\\nOK'
check "sim800: AT+CGMM" at_has $C 'AT+CGMM' 'SIMCOM_SIM800'
at_cmd $C 'AT+CREG=2' >/dev/null
check "sim800: with AT+CREG=2, cell changes come as +CREG: lines" at_has $C 'AT' '\+CREG:1,"00A1","[0-9A-F]{4}"' 6

# --- Quectel ---
check "quectel: AT+CGMI and AT+CGMM" at_has $D 'AT+CGMI;+CGMM' 'Quectel\\r\\nEC25'
check "quectel: numeric +CME ERROR from power-on" at_has $D 'AT+CPIN=1234' '\+CMEERROR:3\\r\\n$'

# --- Huawei E3372 ---
check "huawei: unknown commands answer COMMAND NOT SUPPORT" at_has $E 'AT+MODE=2' 'COMMANDNOTSUPPORT'
check "huawei: no AT+IFC on a USB stick" at_has $E 'AT+IFC=2,2' 'COMMANDNOTSUPPORT'
check "huawei: verbose +CME ERROR from power-on" at_has $E 'AT+CPIN=1234' 'CMEERROR:operationnotallowed'
check "huawei: ATI in labelled lines" at_has $E 'ATI' 'Manufacturer:huawei\\r\\nModel:E3372'
check "huawei: ^RSSI/^HCSQ/^MODE lines come unasked" at_has $E 'AT' '\^(RSSI|HCSQ|MODE):' 6
at_cmd $E 'AT^CURC=0' >/dev/null
check "huawei: AT^CURC=0 stops them" at_lacks $E 'AT' '\^(RSSI|HCSQ|MODE):' 5
check "huawei: AT^PORTSEL=1 (Gammu's init for these sticks)" at_has $E 'AT^PORTSEL=1' '\\r\\nOK\\r\\n$'
at_cmd $E 'AT+CNMI=2,1,0,0,0' >/dev/null
ctl inject $E 440B915155000000F20004621162607555000A06050423F01234C0FFEE >/dev/null
check "huawei: storage indexes start at 0 (+CMTI)" at_has $E 'AT' '\+CMTI:"SM",0'
check "huawei: AT+CMGR=0 reads the first message" at_has $E 'AT+CMGR=0' '\+CMGR:0,,[0-9]+\\r\\n[0-9A-F]+C0FFEE'
check "huawei: AT+CMGD=0 deletes it" at_has $E 'AT+CMGD=0' '\\r\\nOK\\r\\n$'
check "huawei: the storage is empty again" sh -c "! '$SIM' --ctl '$RUN' storage $E | grep -q SM"

# --- Siemens TC35 ---
check "tc35: ATI" at_has $F 'ATI' 'SIEMENS\\r\\nTC35\\r\\nREVISION04\.00'
check "tc35: GSM only, AT+CGREG? answers ERROR" at_has $F 'AT+CGREG?' '\\r\\nERROR\\r\\n$'
check "tc35: AT\\Q3 flow control" at_has $F 'AT\Q3' '\\r\\nOK\\r\\n$'
check "tc35: the SMS prompt comes straight after the echo" at_has $F 'AT+CMGS=10' '^AT\+CMGS=10\\r>$'
leave_prompt $F
# An unsolicited line between a command's echo and its answer: a long answer delay opens the
# window, a call rings inside it.
ctl set $F answer_delay 1500 >/dev/null
link=$RUN/modem-$F
exec 3<>"$link"
stty -F "$link" raw -echo 2>/dev/null
printf 'AT+CSQ\r' >&3
sleep 0.5
ctl ring $F +15557770001 1 >/dev/null
timeout 3 cat <&3 | od -An -c | tr -d ' \n' >"$TMP/mid.out"
exec 3>&-
ctl set $F answer_delay profile >/dev/null
check "tc35: RING between the echo of AT+CSQ and its answer" \
	grep -Eq '^AT\+CSQ\\r\\r\\nRING\\r\\n\\r\\n\+CSQ:[0-9]+,99\\r\\n\\r\\nOK' "$TMP/mid.out"

check "profile can be set at run time" ctl set $A profile tc35
check "unknown profile refused" sh -c "! '$SIM' --ctl '$RUN' set $A profile nokia 2>/dev/null"
check "-p with an unknown profile is refused" sh -c "! '$SIM' -d '$TMP/x' -p nokia -m $A -n 2>/dev/null"
check "simulator stops cleanly" sim_stop
finish
