#!/bin/sh
# Fleets (api.md, "Fleets"): tags, finding devices by number or tag, the paged device list,
# unknown query parameters, batches to listed and tagged devices and their counts.
. tests/integration/lib_chain.sh

server_start
OTHER_KEY=$("$BUILD/smswakectl" -c "$T/server.conf" provider add other)
code() { curl -s -o "$T/out" -w '%{http_code}' -H "Authorization: Bearer $PROVIDER_KEY" -H 'Content-Type: application/json' "$@"; }
jcheck() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' "$@"; }

check "registration with tags is 201" test "$(code -d '{"msisdn":"+15550000301","tags":["zone-3","firmware-2.1"]}' "$URL/v1/devices")" = 201
check "the device shows its tags, sorted" jcheck "$T/out" 'd["tags"] == ["firmware-2.1", "zone-3"]'
D1=$(sed -n 's/.*"id":\([0-9]*\).*/\1/p' "$T/out")
T1=$(sed -n 's/.*"token":"\([^"]*\)".*/\1/p' "$T/out")
check "a bad tag is 400" test "$(code -d '{"msisdn":"+15550000399","tags":["zone 3"]}' "$URL/v1/devices")" = 400
check "tags that are not an array are 400" test "$(code -d '{"msisdn":"+15550000399","tags":"zone-3"}' "$URL/v1/devices")" = 400
for n in 2 3 4 5; do
	code -d "{\"msisdn\":\"+1555000030$n\",\"tags\":[\"zone-$((n % 2 + 3))\"]}" "$URL/v1/devices" >/dev/null
done
check "PATCH with tags only replaces them" test "$(code -X PATCH -d '{"tags":["zone-4"]}' "$URL/v1/devices/$D1")" = 200
check "the change shows" jcheck "$T/out" 'd["tags"] == ["zone-4"]'
code -X PATCH -d '{"tags":["zone-3","firmware-2.1"]}' "$URL/v1/devices/$D1" >/dev/null

check "find by number" test "$(code "$URL/v1/devices?msisdn=%2B15550000303")" = 200
check "exactly that device" jcheck "$T/out" '[x["msisdn"] for x in d["devices"]] == ["+15550000303"]'
code "$URL/v1/devices?tag=zone-3" >/dev/null
check "filter by tag" jcheck "$T/out" 'sorted(x["msisdn"] for x in d["devices"]) == ["+15550000301", "+15550000302", "+15550000304"]'
check "an unknown query parameter is 400 and named" sh -c "test \"\$(curl -s -o '$T/u' -w '%{http_code}' -H 'Authorization: Bearer $PROVIDER_KEY' '$URL/v1/devices?bogus=1')\" = 400 && grep -q bogus '$T/u'"
check "a bad limit is 400" test "$(code "$URL/v1/devices?limit=0")" = 400

# Pages of two: every device once, in id order, then no cursor.
seen=""
cursor=""
pages=0
while :; do
	code "$URL/v1/devices?limit=2${cursor:+&cursor=$cursor}" >/dev/null
	seen="$seen $(python3 -c 'import json,sys; print(" ".join(str(x["id"]) for x in json.load(open(sys.argv[1]))["devices"]))' "$T/out")"
	cursor=$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["next_cursor"]; print(c or "")' "$T/out")
	pages=$((pages + 1))
	[ -n "$cursor" ] && [ "$pages" -lt 10 ] || break
done
all=$(api "$URL/v1/devices?limit=1000" | python3 -c 'import json,sys; print(" ".join(str(x["id"]) for x in json.load(sys.stdin)["devices"]))')
check "paging by two gives every device once, in order" test "$(echo $seen)" = "$all"
check "five devices take three pages" test "$pages" = 3

# A batch to listed devices: each gets its own message with its own next seq.
body=$(printf 'hello fleet' | base64)
check "POST /v1/messages to devices is 202" test "$(code -d "{\"to\":{\"devices\":[$D1,$((D1 + 1))]},\"body\":\"$body\",\"urgency\":\"low\",\"ttl\":600}" "$URL/v1/messages")" = 202
B1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["batch"])' "$T/out")
check "it says how many messages" jcheck "$T/out" 'd["messages"] == 2'
code "$URL/v1/batches/$B1" >/dev/null
check "GET /v1/batches/ID counts them queued" jcheck "$T/out" 'd["messages"] == 2 and d["states"]["queued"] == 2'
curl -s -H "Authorization: Bearer $T1" "$URL/v1/device/messages" >"$T/f1"
check "the device fetches its own copy, seq 1, the body as sent" python3 -c '
import json,sys; m=json.load(open(sys.argv[1]))["messages"]; assert len(m)==1 and m[0]["seq"]==1, m' "$T/f1"
check "the device's copy is the body" grep -q "$body" "$T/f1"
code "$URL/v1/batches/$B1" >/dev/null
check "the batch counts the fetch" jcheck "$T/out" 'd["states"]["fetched"] == 1 and d["states"]["queued"] == 1'

# By tag: three devices; the first now gets seq 2. After a restart, so that the tag form is the
# first batch the store's writer runs.
server_stop
server_start
check "POST /v1/messages to a tag is 202" test "$(code -d "{\"to\":{\"tag\":\"zone-3\"},\"body\":\"$body\"}" "$URL/v1/messages")" = 202
check "three tagged devices, three messages" jcheck "$T/out" 'd["messages"] == 3'
check "the first device's next seq is 2" sh -c "curl -s -H 'Authorization: Bearer $T1' '$URL/v1/device/messages?after=1' | grep -q '\"seq\":2'"

# A device of another provider in the list: 404 and nothing made.
O=$(curl -s -H "Authorization: Bearer $OTHER_KEY" -H 'Content-Type: application/json' -d '{"msisdn":"+15550000309"}' "$URL/v1/devices" | sed -n 's/.*"id":\([0-9]*\).*/\1/p')
before=$(api "$URL/v1/devices/$D1" | sed -n 's/.*"last_seq":\([0-9]*\).*/\1/p')
check "another provider's device in the list is 404" test "$(code -d "{\"to\":{\"devices\":[$D1,$O]},\"body\":\"$body\"}" "$URL/v1/messages")" = 404
check "and nothing was sent to the others" test "$(api "$URL/v1/devices/$D1" | sed -n 's/.*"last_seq":\([0-9]*\).*/\1/p')" = "$before"
check "another provider cannot read the batch" test "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $OTHER_KEY" "$URL/v1/batches/$B1")" = 404
check "'to' with both forms is 400" test "$(code -d "{\"to\":{\"tag\":\"zone-3\",\"devices\":[1]},\"body\":\"$body\"}" "$URL/v1/messages")" = 400
check "a body that is not base64 is 400" test "$(code -d '{"to":{"tag":"zone-3"},"body":"***"}' "$URL/v1/messages")" = 400
server_stop
finish
