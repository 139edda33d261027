#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Master-key rotation end to end: smswakectl key rotate creates key 2 and marks the device; after
# a server restart loads it, the device's next fetch carries its new wake key, the device stores
# it and names it in its ack; until then wakeups stay under key 1, after it they come under key 2
# and the device verifies them with the stored key. A second rotation (key 3) keeps key 2 working
# until it completes. Devices registered later start on the newest key.
. "$(dirname "$0")/client_lib.sh"

srv_start "[scheduler]
batch_window = 0s
per_hour = 0
per_day = 0"

printf '#!/bin/sh\nprintf "%%s %%s\\n" "$SMSWAKE_SEQ" "$(cat)" >>"%s/got"\n' "$TMP" >"$TMP/handler"
chmod +x "$TMP/handler"
: >"$TMP/got"
ctl() { "$BUILD/smswakectl" -c "$TMP/server.conf" "$@" 2>>"$TMP/server.log"; }
# The payload's third octet is its key id.
job_key_id() { echo "$JOB_PAYLOAD" | cut -c5-6; }
wake() { echo "$(port_udh)$JOB_PAYLOAD" | client "$TMP/dev.conf" sms; }
got_is() { printf "$1" | cmp -s - "$TMP/got"; }
key_list_has() { ctl key list >"$TMP/keys" && grep -q "$1" "$TMP/keys"; }

device_add dev '{"msisdn":"+15550000007","poll_interval":3600}' "$TMP/handler"
id=$DEV_ID
check "registration hands out key id 1" grep -q '"key_id":1' "$TMP/dev.reg.json"

submit "$id" m1 >/dev/null
check "a wake job is leased" lease_job
check "it is made with key 1" test "$(job_key_id)" = 01
check_rc "the device takes the wakeup and fetches" 0 wake
check "its handler got m1" got_is '1 m1\n'

check "smswakectl key rotate creates key 2 and marks the one device" \
	sh -c "'$BUILD/smswakectl' -c '$TMP/server.conf' key rotate | grep -q 'master key 2 created.*; 1 devices will move'"
check "the key file is there, mode 0600" test "$(stat -c %a "$TMP/data/master.key.2" 2>/dev/null)" = 600
device_keys_are() { api GET "/v1/devices/$id" "$PK" | grep -q "\"key_id\":$1,\"key_next\":$2"; }
check "the provider sees the move coming (key_id 1, key_next 2)" device_keys_are 1 2
check "key list: key 1 holds the device" key_list_has '^key 1 .*devices 1, moving to it 0$'
check "key list: key 2 is the newest, the device moves to it" \
	key_list_has '^key 2 .*devices 0, moving to it 1 (newest'
check_rc "the running server has not loaded key 2: a poll" 0 client "$TMP/dev.conf" poll
check "... hands over no key" sh -c "! grep -q 'key_id' '$TMP/dev.state'"

# restart: a restart loads new keys. The port changes with it: the device follows.
restart()
{
	kill "$SRV_PID"
	wait "$SRV_PID" 2>/dev/null
	rm -f "$TMP/data/ports"
	"$BUILD/smswake-server" -c "$TMP/server.conf" 2>>"$TMP/server.log" &
	SRV_PID=$!
	check "the server restarts" wait_for 20 grep -q '^main ' "$TMP/data/ports"
	PORT=$(sed -n 's/^main \([0-9]*\)$/\1/p' "$TMP/data/ports")
	URL=http://127.0.0.1:$PORT
	sed -i "s|^server = .*|server = $URL|" "$TMP/dev.conf"
	check "it answers" wait_for 20 api GET /healthz
}
restart

submit "$id" m2 >/dev/null
check "a second wake job is leased" lease_job
check "it is still made with key 1 (the device has not confirmed key 2)" test "$(job_key_id)" = 01
check_rc "the device takes it and fetches" 0 wake
check "its handler got m2" got_is '1 m1\n2 m2\n'
check "the device stored key 2 and the server confirmed it (no move pending)" \
	sh -c "grep -qx 'key_id 2' '$TMP/dev.state' && ! grep -q '^next_key_id' '$TMP/dev.state'"
check "the state file stays private (0600)" test "$(stat -c %a "$TMP/dev.state")" = 600
check "key list: the device is on key 2 now" key_list_has '^key 2 .*devices 1, moving to it 0'
check "key list: nobody on key 1" key_list_has '^key 1 .*devices 0, moving to it 0$'
check_rc "an empty poll after the move" 0 client "$TMP/dev.conf" poll
check "the provider sees it done (key_id 2, key_next null)" device_keys_are 2 null

submit "$id" m3 >/dev/null
check "a third wake job is leased" lease_job
check "it is made with key 2" test "$(job_key_id)" = 02
check_rc "the device verifies it with the stored key and fetches" 0 wake
check "its handler got m3, after the others" got_is '1 m1\n2 m2\n3 m3\n'

# The device API's side of it: an ack may only name one of the device's keys.
tok=$(json_str token <"$TMP/dev.reg.json")
ack_code() { curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" \
	-H 'Content-Type: application/json' --data-binary "$1" "$URL/v1/device/ack"; }
check "an ack naming key 2 (its key) is taken" test "$(ack_code '{"seq":0,"key_id":2}')" = 204
check "an ack naming key 1 (no longer its key) is refused with 409" test "$(ack_code '{"seq":0,"key_id":1}')" = 409
check "an ack naming key 0 is refused with 400" test "$(ack_code '{"seq":0,"key_id":0}')" = 400
check "an ack naming key 256 is refused with 400" test "$(ack_code '{"seq":0,"key_id":256}')" = 400
# A second rotation: the device keeps key 2 (still in use) while it moves to key 3, and never
# goes back to key 1.
check "smswakectl key rotate creates key 3" \
	sh -c "'$BUILD/smswakectl' -c '$TMP/server.conf' key rotate | grep -q 'master key 3 created'"
restart
submit "$id" m4 >/dev/null
check "a fourth wake job is leased" lease_job
check "it is made with key 2 (the device has not confirmed key 3)" test "$(job_key_id)" = 02
check_rc "the device verifies it with key 2 and fetches" 0 wake
check "the device is on key 3 now, nothing pending" \
	sh -c "grep -qx 'key_id 3' '$TMP/dev.state' && ! grep -q '^next_key_id' '$TMP/dev.state'"
submit "$id" m5 >/dev/null
check "a fifth wake job is leased" lease_job
check "it is made with key 3" test "$(job_key_id)" = 03
check_rc "the device verifies it and fetches" 0 wake
check "its handler got every message once, in order" got_is '1 m1\n2 m2\n3 m3\n4 m4\n5 m5\n'

device_add dev2 '{"msisdn":"+15550000008","poll_interval":3600}'
check "a device registered now gets the newest key, 3" grep -q '"key_id":3' "$TMP/dev2.reg.json"

# A key file removed while a device still uses it: no wakeup (and no counter spent), one warning,
# and the device's poll still gets its messages.
mv "$TMP/data/master.key.3" "$TMP/master.key.3.away"
restart
submit "$id" m6 >/dev/null
check "no wake job for a device whose master key is missing" no_job 3
check "the server says why, once" test "$(grep -c 'its master key is not loaded' "$TMP/server.log")" -eq 1
check "key list marks key 3 missing, with its two devices" key_list_has '^key 3 *MISSING *devices 2'
check_rc "the device's poll still fetches" 0 client "$TMP/dev.conf" poll
check "its handler got m6" got_is '1 m1\n2 m2\n3 m3\n4 m4\n5 m5\n6 m6\n'
finish
