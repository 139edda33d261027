#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# End-to-end encrypted messages through a real smswake-server: the device makes its Web Push keys
# and uploads them (smswake-client push-keys), a message encrypted to them (RFC 8291, by the test
# encryptor standing in for an application server) is submitted with Content-Encoding aes128gcm,
# and the handler receives the plain text marked SMSWAKE_ENCRYPTED=1. The server never holds a key
# that can decrypt: the plain text is nowhere in its database files or its log, while a plain
# message sent alongside is (the search itself works). A message encrypted to another key is
# acknowledged as undecryptable and never reaches the handler.
. "$(dirname "$0")/client_lib.sh"

need tests/unit/ece-tool
srv_start 'log_level = debug
[scheduler]
batch_window = 0s'

printf '#!/bin/sh\nbody=$(cat)\nprintf "%%s %%s %%s\\n" "$SMSWAKE_SEQ" "$SMSWAKE_ENCRYPTED" "$body" >>"%s"\n' \
	"$TMP/got" >"$TMP/handler"
chmod +x "$TMP/handler"
: >"$TMP/got"

# encrypt PUB AUTH OUT: stdin encrypted to the key as an application server would, binary in OUT.
encrypt()
{
	"$BUILD/tests/unit/ece-tool" encrypt "$1" "$2" | tr -- '-_' '+/' |
		awk '{ n = length($0) % 4; s = $0; if (n) s = s substr("==", 1, 4 - n); print s }' | base64 -d >"$3"
}
# send_enc FILE: submits FILE as an aes128gcm body; the answer on stdout.
send_enc()
{
	curl -sS -f --max-time 30 -X POST -H "Authorization: Bearer $PK" -H 'Content-Encoding: aes128gcm' \
		--data-binary "@$1" "$URL/v1/devices/$DEV_ID/messages"
}

device_add dev '{"msisdn":"+15550000077"}' "$TMP/handler"
check "push-keys makes and uploads the device's keys" \
	sh -c '"$1" -c "$2" push-keys >"$3" 2>>"$4"' - "$BUILD/smswake-client" "$TMP/dev.conf" "$TMP/keys.json" \
	"$TMP/client.log"
p256dh=$(json_str p256dh <"$TMP/keys.json")
auth=$(json_str auth <"$TMP/keys.json")
check "the keys are base64url of 65 and 16 octets" test "${#p256dh}" -eq 87 -a "${#auth}" -eq 22

secret="meet me at the old mill at nine $(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
plain="an ordinary plain message $(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s' "$secret" | encrypt "$p256dh" "$auth" "$TMP/secret.bin"
send_enc "$TMP/secret.bin" >"$TMP/sent.json"
check "an aes128gcm message is accepted" test -n "$(json_num id <"$TMP/sent.json")"
check "its record says content_encoding aes128gcm" grep -q '"content_encoding":"aes128gcm"' "$TMP/sent.json"
id2=$(submit "$DEV_ID" "$plain")
check "a plain message is accepted" test -n "$id2"

# A message for another device's key.
# shellcheck disable=SC2046
set -- $("$BUILD/tests/unit/ece-tool" keygen)
printf 'not for you' | encrypt "$2" "$3" "$TMP/other.bin"
send_enc "$TMP/other.bin" >"$TMP/other.json"
id3=$(json_num id <"$TMP/other.json")

check "poll exits 0" client "$TMP/dev.conf" poll
check "the handler got the plain text, marked encrypted" grep -qxF "1 1 $secret" "$TMP/got"
check "and the plain message, not marked" grep -qxF "2 0 $plain" "$TMP/got"
check "the message for another key never reached the handler" test "$(wc -l <"$TMP/got")" -eq 2
api GET "/v1/messages/$id3" "$PK" >"$TMP/other-state.json"
check "that one is acked with an undecryptable event" grep -q '"event":"undecryptable"' "$TMP/other-state.json"
check "every message is acked" state_is "$id3" acked

# The server's files: the plain message is there (the search works), the secret is not.
kill "$SRV_PID" 2>/dev/null
wait "$SRV_PID" 2>/dev/null
SRV_PID=
check "the search finds the plain message in the database files" sh -c 'cat "$1"/data/* | grep -aqF "$2"' - \
	"$TMP" "$plain"
check "the encrypted message's plain text is in no database file" sh -c '! cat "$1"/data/* | grep -aqF "old mill"' - \
	"$TMP"
check "nor in the server's log (debug level)" sh -c '! grep -aqF "old mill" "$1"' - "$TMP/server.log"
check "the state file holds the private key, mode 0600" \
	sh -c 'grep -q "^push_key " "$1" && test "$(stat -c %a "$1")" = 600' - "$TMP/dev.state"
finish
