#!/bin/sh
# Webhooks (api.md, "Webhooks"): endpoints, the outbox, signed deliveries checked by an
# independent receiver (webhook_receiver.py), retries, 410, and the address guard.
. tests/integration/lib_chain.sh

R=$T/recv
mkdir -p "$R"
python3 tests/integration/webhook_receiver.py "$R" 2>"$T/receiver.log" &
PIDS="$PIDS $!"
wait_for 10 test -s "$R/port" || { not_ok "receiver starts"; exit 1; }
RPORT=$(cat "$R/port")

# The first run allows no internal address: the receiver on loopback must not be reached.
server_start '[webhooks]
retry_base = 1s
retry_for = 1d'
code() { curl -s -o "$T/out" -w '%{http_code}' -H "Authorization: Bearer $PROVIDER_KEY" -H 'Content-Type: application/json' "$@"; }
json() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"; }
# jcheck FILE EXPR: succeeds when EXPR (over the JSON d) holds.
jcheck() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' "$@"; }

check "a URL that is not http(s) is 400" test "$(code -d '{"url":"ftp://x/","events":["message.acked"]}' "$URL/v1/webhooks")" = 400
check "an unknown event type is 400" test "$(code -d '{"url":"https://example.com/h","events":["message.eaten"]}' "$URL/v1/webhooks")" = 400
check "no events is 400" test "$(code -d '{"url":"https://example.com/h","events":[]}' "$URL/v1/webhooks")" = 400
check "an unknown field is 400" test "$(code -d '{"url":"https://example.com/h","events":["message.acked"],"x":1}' "$URL/v1/webhooks")" = 400

all='["message.wake_sent","message.sms_delivered","message.fetched","message.acked","message.expired","message.undeliverable","device.unreachable"]'
check "POST /v1/webhooks is 201" test "$(code -d "{\"url\":\"http://localhost:$RPORT/hook\",\"events\":$all}" "$URL/v1/webhooks")" = 201
WH=$(json "$T/out" 'd["id"]')
[ -n "$WH" ] || { not_ok "no endpoint to test"; exit 1; }
json "$T/out" 'd["secret"]' >"$R/secret"
check "the secret is whsec_ and base64 of 32 octets" python3 -c '
import base64,sys; s=open(sys.argv[1]).read().strip(); assert s.startswith("whsec_"); assert len(base64.b64decode(s[6:], validate=True)) == 32' "$R/secret"
code "$URL/v1/webhooks" >/dev/null
check "the list has the endpoint and no secret" jcheck "$T/out" 'd["webhooks"][0]["id"] == '"$WH"' and "secret" not in d["webhooks"][0]'

device_add +15550000101
msg=$(submit "$DEV_ID" high one)
curl -s -o /dev/null -H "Authorization: Bearer $DEV_TOKEN" "$URL/v1/device/messages"
check "fetched" state_is "$msg" fetched
refused() { code "$URL/v1/webhooks/$WH" >/dev/null && jcheck "$T/out" '"not allowed" in (d["last_error"] or "")'; }
check "a name resolving to loopback is refused at connect time" wait_for 20 refused
check "the refusal is in /metrics" test "$(server_metric 'smswake_webhook_attempts_total{result="address_refused"}')" -ge 1
check "nothing reached the receiver" test ! -s "$R/deliveries"
code "$URL/v1/webhooks/$WH" >/dev/null
check "the endpoint shows its backlog" jcheck "$T/out" 'd["backlog"] >= 1'
server_stop

# The operator opens loopback: the waiting events arrive, signed, in order.
printf 'allow = 127.0.0.0/8, ::1\n' >>"$T/server.conf"
echo 500 >"$R/status" # before the start: the waiting events are due at once
server_start
wait_for 30 test -s "$R/deliveries"
check "a 500 is retried later" wait_for 30 sh -c "grep -c '\"status\": 500' '$R/deliveries' | grep -qv '^[01]$'"
code "$URL/v1/webhooks/$WH" >/dev/null
check "the endpoint shows the last status 500 and failures" jcheck "$T/out" 'd["last_status"] == 500 and d["failures"] >= 2'
check "failures are in /metrics" test "$(server_metric 'smswake_webhook_attempts_total{result="failed"}')" -ge 2
echo 200 >"$R/status"
curl -s -o /dev/null -H "Authorization: Bearer $DEV_TOKEN" -H 'Content-Type: application/json' -d '{"seq":1}' "$URL/v1/device/ack"
delivered() { grep '"status": 200' "$R/deliveries" | grep -q "\"type\": \"$1\""; }
check "message.fetched is delivered" wait_for 60 delivered message.fetched
check "message.acked is delivered" wait_for 60 delivered message.acked
check "every delivery's signature verifies (Standard Webhooks, checked independently)" \
	python3 -c 'import json,sys; l=[json.loads(x) for x in open(sys.argv[1])]; sys.exit(0 if l and all(x["verified"] for x in l) else 1)' "$R/deliveries"
check "the body carries the message, device, seq and state" python3 -c '
import json,sys
l=[json.loads(x)["event"] for x in open(sys.argv[1]) if "\"status\": 200" in x]
a=[e for e in l if e["type"]=="message.acked"][0]
assert a["data"]=={"message_id":int(sys.argv[2]),"device_id":int(sys.argv[3]),"seq":1,"state":"acked"}, a
assert a["timestamp"].endswith("Z")' "$R/deliveries" "$msg" "$DEV_ID"
check "one message's events arrive in order (fetched before acked)" python3 -c '
import json,sys
t=[json.loads(x)["event"]["type"] for x in open(sys.argv[1]) if "\"status\": 200" in x]
assert t.index("message.fetched") < t.index("message.acked"), t' "$R/deliveries"
check "the same event keeps its webhook-id across retries" python3 -c '
import json,sys
l=[json.loads(x) for x in open(sys.argv[1])]
ids={}
[ids.setdefault(x["event"]["type"],set()).add(x["id"]) for x in l]
assert all(len(v)==1 for v in ids.values()), ids' "$R/deliveries"
code "$URL/v1/webhooks/$WH" >/dev/null
check "the backlog drains" wait_for 30 sh -c "curl -s -H 'Authorization: Bearer $PROVIDER_KEY' $URL/v1/webhooks/$WH | grep -q '\"backlog\":0'"

# 410 Gone disables the endpoint.
echo 410 >"$R/status"
msg2=$(submit "$DEV_ID" high two)
curl -s -o /dev/null -H "Authorization: Bearer $DEV_TOKEN" "$URL/v1/device/messages"
disabled() { code "$URL/v1/webhooks/$WH" >/dev/null && jcheck "$T/out" 'd["state"] == "disabled" and d["last_status"] == 410'; }
check "a 410 disables the endpoint" wait_for 30 disabled
check "the disabling is in /metrics" test "$(server_metric smswake_webhook_endpoints_disabled_total)" = 1
check "DELETE /v1/webhooks/ID is 204" test "$(code -X DELETE "$URL/v1/webhooks/$WH")" = 204
check "then it is 404" test "$(code "$URL/v1/webhooks/$WH")" = 404
server_stop
finish
