#!/bin/sh
# The event stream (api.md, "Event stream"): GET /v1/events as Server-Sent Events with id lines,
# heartbeats, resumption by Last-Event-ID, one provider's events only.
. tests/integration/lib_chain.sh

server_start '[server]
sweep_interval = 1s
[webhooks]
heartbeat = 1s'
OTHER_KEY=$("$BUILD/smswakectl" -c "$T/server.conf" provider add other)

code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $PROVIDER_KEY" "$URL/v1/events")
check "without Accept: text/event-stream it is 406" test "$code" = 406
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $PROVIDER_KEY" -H 'Accept: text/event-stream' -H 'Last-Event-ID: x' "$URL/v1/events")
check "a malformed Last-Event-ID is 400" test "$code" = 400
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept: text/event-stream' "$URL/v1/events")
check "without a token it is 401" test "$code" = 401

python3 tests/integration/sse_read.py "$URL/v1/events" "$PROVIDER_KEY" - 60 "$T/s1" &
S1=$!
PIDS="$PIDS $S1"
python3 tests/integration/sse_read.py "$URL/v1/events" "$OTHER_KEY" - 60 "$T/s2" &
PIDS="$PIDS $!"
wait_for 10 grep -q '^retry: ' "$T/s1" || not_ok "stream opens"
check "the answer is 200 text/event-stream" sh -c "grep -qi '^HTTP/1.1 200' '$T/s1' && grep -qi '^content-type: text/event-stream' '$T/s1'"
check "a heartbeat comment comes while nothing happens" wait_for 10 grep -q '^: heartbeat' "$T/s1"

device_add +15550000201
msg=$(submit "$DEV_ID" high one)
curl -s -o /dev/null -H "Authorization: Bearer $DEV_TOKEN" "$URL/v1/device/messages"
check "message.fetched arrives on the stream" wait_for 20 grep -q '^event: message.fetched' "$T/s1"
check "its data is the event object" grep -q "^data: {\"type\":\"message.fetched\",\"timestamp\":\"[^\"]*Z\",\"data\":{\"message_id\":$msg,\"device_id\":$DEV_ID,\"seq\":1,\"state\":\"fetched\"}}" "$T/s1"
FID=$(awk '/^id: /{id=$2} /^event: message.fetched/{print id; exit}' "$T/s1")
check "it has an id line" test -n "$FID"
kill "$S1" 2>/dev/null

# While no stream listens: the ack, then a message that expires (TTL 0).
curl -s -o /dev/null -H "Authorization: Bearer $DEV_TOKEN" -H 'Content-Type: application/json' -d '{"seq":1}' "$URL/v1/device/ack"
msg2=$(api -H 'TTL: 0' -H 'Content-Type: text/plain' -d two "$URL/v1/devices/$DEV_ID/messages" | sed -n 's/^{"id":\([0-9]*\).*/\1/p')
check "the TTL 0 message expires" wait_for 20 state_is "$msg2" expired

python3 tests/integration/sse_read.py "$URL/v1/events" "$PROVIDER_KEY" "$FID" 8 "$T/s3" &
PIDS="$PIDS $!"
check "resumed with Last-Event-ID: the ack that came meanwhile" wait_for 20 grep -q '^event: message.acked' "$T/s3"
check "resumed: and the expiry" wait_for 20 grep -q '^event: message.expired' "$T/s3"
check "resumed: nothing at or before Last-Event-ID again" sh -c "! grep -q '^event: message.fetched' '$T/s3'"
check "ids increase" sh -c "awk '/^id: /{if (\$2 <= last) exit 1; last = \$2}' '$T/s3'"
check "another provider's stream saw none of it" sh -c "! grep -q '^event: ' '$T/s2'"
check "another provider's stream had heartbeats" grep -q '^: heartbeat' "$T/s2"
server_stop
finish
