#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# smswake-client against a real smswake-server: a provisioned device receives each wakeup the
# scheduler builds (taken from the gateway API) in every form a device's SMS stack hands over -
# hex user data with its header, a full SMS-DELIVER PDU, the text form, and a gammu-smsd inbox
# file - and its handler gets every message exactly once, in order. Replayed and forged wakeups
# are dropped with their exit codes and cause no fetch.
. "$(dirname "$0")/client_lib.sh"

# batch_window 0: each submit is due at once; no rate limit over the dozen wakeups below.
srv_start '[scheduler]
batch_window = 0s
per_hour = 0
per_day = 0'

cat >"$TMP/handler" <<EOF
#!/bin/sh
printf '%s %s %s\n' "\$SMSWAKE_SEQ" "\$(cat)" "\$SMSWAKE_REDELIVERED" >>"$TMP/got"
EOF
chmod +x "$TMP/handler"
: >"$TMP/got"

device_add dev '{"msisdn":"+15550000002","poll_interval":3600}' "$TMP/handler"
check "provision writes a configuration that loads (-n)" client "$TMP/dev.conf" -n
id=$DEV_ID
mkdir -p "$TMP/inbox"
echo "smsd_inbox = $TMP/inbox" >>"$TMP/dev.conf"

# got_is LINES...: the handler's record is exactly these lines.
got_is() { printf '%s\n' "$@" | cmp -s - "$TMP/got"; }

# (a) hex user data starting with the port header, as an SMS stack that splits UDH/UD gives it.
submit "$id" m1 >/dev/null
check "a wake job is leased for the first message" lease_job
UD_A=$(port_udh)$JOB_PAYLOAD
check "binary job: 16-bit port and payload" test "$JOB_PORT" -gt 0 -a -n "$JOB_PAYLOAD"
check_rc "hex user data with UDH on stdin: accepted and fetched" 0 \
	sh -c "echo '$UD_A' | '$BUILD/smswake-client' -c '$TMP/dev.conf' sms 2>>'$TMP/client.log'"
check "handler got m1" got_is "1 m1 0"

# (b) a complete SMS-DELIVER PDU (empty SMSC field) in hex.
submit "$id" m2 >/dev/null
check "a wake job is leased for the second message" lease_job
PDU_B=$(deliver_pdu "$(port_udh)" "$JOB_PAYLOAD")
check_rc "SMS-DELIVER PDU hex on stdin: accepted and fetched" 0 \
	sh -c "echo '$PDU_B' | '$BUILD/smswake-client' -c '$TMP/dev.conf' sms 2>>'$TMP/client.log'"
check "handler got m2" got_is "1 m1 0" "2 m2 0"

# (c) the text form, for modems that cannot route ports: the device is switched to text.
api PATCH "/v1/devices/$id" "$PK" '{"sms_format":"text"}' >/dev/null
submit "$id" m3 >/dev/null
check "a text wake job is leased" lease_job
check "text job carries SMSWAKE:..." sh -c "case '$JOB_TEXT' in SMSWAKE:*) true;; *) false;; esac"
TEXT_C=$JOB_TEXT
check_rc "text form on stdin: accepted and fetched" 0 \
	sh -c "echo '$TEXT_C' | '$BUILD/smswake-client' -c '$TMP/dev.conf' sms 2>>'$TMP/client.log'"
check "handler got m3" got_is "1 m1 0" "2 m2 0" "3 m3 0"
api PATCH "/v1/devices/$id" "$PK" '{"sms_format":"binary"}' >/dev/null

# (d) gammu-smsd, files backend with InboxFormat = detail: RunOnReceive passes the inbox file
# name; the file is Gammu's SMS backup format as smsd writes it for a binary SMS.
submit "$id" m4 >/dev/null
check "a wake job is leased for the fourth message" lease_job
INBOX=IN20261126_070544_00_+15550000001_00.txt
{
	printf '; This file format was designed by Gammu and is compatible with Gammu+\r\n'
	printf '; See <https://wammu.eu/> for more info\r\n'
	printf '; Saved 20261126T070544\r\n\r\n[SMSBackup000]\r\n'
	printf 'SMSC = "+447785016005"\r\nSMSCUnicode = 002B003400340037003700380035003000310036003000300035\r\n'
	printf 'Sent = 20261126T070544Z\r\nState = UnRead\r\nNumber = "+15550000001"\r\n'
	printf 'NumberUnicode = 002B00310035003500350030003000300030003000300031\r\n'
	printf 'Name = ""\r\nNameUnicode = ""\r\nUDH = %s\r\n' "$(port_udh)"
	printf 'Text00 = %s\r\n' "$JOB_PAYLOAD"
	printf 'Coding = 8bit\r\nFolder = 1\r\nLength = %d\r\nClass = -1\r\n' $((${#JOB_PAYLOAD} / 2))
	printf 'ReplySMSC = False\r\nRejectDuplicates = False\r\nReplaceMessage = 0\r\n'
	printf 'MessageReference = 0\r\n\r\n'
} >"$TMP/inbox/$INBOX"
check_rc "smsd with the inbox file name (RunOnReceive): accepted and fetched" 0 \
	client "$TMP/dev.conf" smsd "$INBOX"
check "handler got m4" got_is "1 m1 0" "2 m2 0" "3 m3 0" "4 m4 0"

# A text SMS from a person in the same inbox is not a wakeup: dropped, nothing fetched.
printf '[SMSBackup000]\r\nNumber = "+15550000009"\r\nText00 = 00680069\r\nCoding = Default_No_Compression\r\n' \
	>"$TMP/inbox/IN_other.txt"
before=$(fetches)
check_rc "an ordinary SMS in the smsd inbox is rejected (exit 4)" 4 \
	client "$TMP/dev.conf" smsd IN_other.txt

# Replays of every accepted wakeup: stale (exit 5), and no fetch at all.
check_rc "replayed hex user data: stale (exit 5)" 5 \
	sh -c "echo '$UD_A' | '$BUILD/smswake-client' -c '$TMP/dev.conf' sms 2>>'$TMP/client.log'"
check_rc "replayed PDU: stale (exit 5)" 5 \
	sh -c "echo '$PDU_B' | '$BUILD/smswake-client' -c '$TMP/dev.conf' sms 2>>'$TMP/client.log'"
check_rc "replayed text form: stale (exit 5)" 5 \
	sh -c "echo '$TEXT_C' | '$BUILD/smswake-client' -c '$TMP/dev.conf' sms 2>>'$TMP/client.log'"
check_rc "replayed smsd file: stale (exit 5)" 5 client "$TMP/dev.conf" smsd "$INBOX"
check "no fetch after rejected and replayed SMS (device_fetch metric unchanged)" \
	test "$(fetches)" = "$before" -a "$before" -gt 0

# A forged wakeup (one bit of the tag flipped) for a pending message: rejected, no fetch, the
# message stays queued, and the genuine SMS still works afterwards (no counter was burnt).
id5=$(submit "$id" m5)
check "a wake job is leased for the fifth message" lease_job
last=$(printf '%s' "$JOB_PAYLOAD" | sed 's/.*\(..\)$/\1/')
flipped=$(printf '%02X' $((0x$last ^ 0x01)))
FORGED=$(port_udh)$(printf '%s' "$JOB_PAYLOAD" | sed 's/..$//')$flipped
check_rc "forged wakeup (one bit flipped): rejected (exit 4)" 4 \
	sh -c "echo '$FORGED' | '$BUILD/smswake-client' -c '$TMP/dev.conf' sms 2>>'$TMP/client.log'"
FORGED_PDU=$(deliver_pdu "$(port_udh)" "$(printf '%s' "$JOB_PAYLOAD" | sed 's/..$//')$flipped")
check_rc "forged wakeup as a PDU: rejected (exit 4)" 4 \
	sh -c "echo '$FORGED_PDU' | '$BUILD/smswake-client' -c '$TMP/dev.conf' sms 2>>'$TMP/client.log'"
check "no fetch after the forged SMS, the message is still pending" \
	test "$(fetches)" = "$before" -a "$(msg_state "$id5")" = wake_sent
check_rc "the genuine wakeup is accepted after the forgery" 0 \
	sh -c "echo '$(port_udh)$JOB_PAYLOAD' | '$BUILD/smswake-client' -c '$TMP/dev.conf' sms 2>>'$TMP/client.log'"
check "every message reached the handler exactly once, in order" \
	got_is "1 m1 0" "2 m2 0" "3 m3 0" "4 m4 0" "5 m5 0"
check "the server has every message acknowledged" test "$(msg_state "$id5")" = acked
check "the client's state holds the last counter and cursor 5" \
	sh -c "'$BUILD/smswake-client' -c '$TMP/dev.conf' state | grep -qx 'cursor 5'"

finish
