#!/bin/sh
# End-to-end through the store: what the provider was told (201) is what the device's handler
# gets, exactly once, across a SIGKILLed server, a full disk, expiry, recall and Topic
# replacement.
. tests/integration/lib_chain.sh

DEV=+15550000201
server_start "sweep_interval = 1
[scheduler]
enabled = no"
device_add $DEV && client_setup $DEV
DEV1_ID=$DEV_ID

# 1. SIGKILL of the server during a burst of submits.
: >"$T/accepted"
(
	i=0
	while [ $i -lt 4000 ]; do
		i=$((i + 1))
		code=$(curl -s -o "$T/resp" -w '%{http_code}' -H "Authorization: Bearer $PROVIDER_KEY" \
			-d "burst-$i" "$URL/v1/devices/$DEV1_ID/messages") || break
		[ "$code" = 201 ] && echo "burst-$i" >>"$T/accepted"
	done
) &
LOOP=$!
# Killed once a good number were accepted (however slow the machine), while the loop goes on.
accepted_over() { [ "$(wc -l <"$T/accepted")" -gt "$1" ]; }
wait_for 120 accepted_over 30
server_stop -KILL
wait $LOOP 2>/dev/null
n=$(wc -l <"$T/accepted")
check "burst: some submits were accepted before the kill ($n)" test "$n" -gt 20
server_start
i=0
while [ $i -lt 20 ]; do client_poll $DEV; i=$((i + 1)); done
sort "$T/got-$DEV" | awk '{print $3}' | sort >"$T/handled"
sort "$T/accepted" >"$T/accepted.sorted"
check "burst: every message answered 201 reached the handler" \
	sh -c "[ -z \"\$(comm -23 '$T/accepted.sorted' '$T/handled')\" ]"
check "burst: no message reached the handler twice" \
	sh -c "[ -z \"\$(uniq -d '$T/handled')\" ]"
seqs_ok=$(awk '{print $2}' "$T/got-$DEV" | awk 'NR != $1 {bad=1} END {print bad ? "no" : "yes"}')
check "burst: the handler saw sequence numbers 1..N in order" test "$seqs_ok" = yes

# 2. Expiry: a message whose TTL ends before the device makes contact is never delivered.
M=$(api -H 'TTL: 1' -H 'Urgency: low' -d 'stale soon' "$URL/v1/devices/$DEV1_ID/messages" | sed -n 's/^{"id":\([0-9]*\).*/\1/p')
check "expiry: the provider sees expired" wait_for 10 state_is "$M" expired
before=$(got_count $DEV)
client_poll $DEV
check "expiry: the device never gets it" test "$(got_count $DEV)" -eq "$before"

# 3. Recall and Topic replacement: the handler sees neither the recalled nor the replaced one.
R=$(submit "$DEV1_ID" low "recalled")
check "recall: 204" test "$(api -o /dev/null -w '%{http_code}' -X DELETE "$URL/v1/messages/$R")" = 204
A=$(api -H 'Topic: price' -H 'Urgency: low' -d 'price 1' "$URL/v1/devices/$DEV1_ID/messages" | sed -n 's/^{"id":\([0-9]*\).*/\1/p')
B=$(api -H 'Topic: price' -H 'Urgency: low' -d 'price 2' "$URL/v1/devices/$DEV1_ID/messages" | sed -n 's/^{"id":\([0-9]*\).*/\1/p')
check "topic: the first becomes replaced" state_is "$A" replaced
client_poll $DEV
check "recall and topic: the handler got only the newest" sh -c "tail -n 1 '$T/got-$DEV' | grep -q ' price 2\$'"
check "recall: the recalled message never reached the handler" sh -c "! grep -q ' recalled\$' '$T/got-$DEV'"
check "topic: the replaced message never reached the handler" sh -c "! grep -q ' price 1\$' '$T/got-$DEV'"
check "the last one is acked" state_is "$B" acked
check "the recalled one stays cancelled" state_is "$R" cancelled

# 4. Disk full: the store lives on a 4 MiB tmpfs in a private mount namespace.
server_stop
DISK=$T/disk
mkdir -p "$DISK"
printf '[server]\nlisten = 127.0.0.1:0\ndata_dir = %s/data\n[scheduler]\nenabled = no\n' "$DISK" >"$T/disk.conf"
if ! unshare -m --propagation private true 2>/dev/null; then
	not_ok "disk full: this machine cannot make a mount namespace (unshare -m)"
	finish
fi
# The provider key is made on the tmpfs too, inside the namespace, before the server starts.
unshare -m --propagation private sh -c "
	mount -t tmpfs -o size=4m tmpfs '$DISK' || exit 97
	'$BUILD/smswakectl' -c '$T/disk.conf' provider add disk >'$T/disk.key' || exit 98
	exec '$BUILD/smswake-server' -c '$T/disk.conf'" 2>>"$T/server.log" &
SRV_PID=$!
in_ns() { nsenter -t "$SRV_PID" -m "$@"; }
wait_for 10 in_ns test -s "$DISK/data/ports" || { not_ok "disk full: server starts on the tmpfs"; finish; }
URL="http://127.0.0.1:$(in_ns awk '{print $2; exit}' "$DISK/data/ports")"
PROVIDER_KEY=$(cat "$T/disk.key")
device_add +15550000202
DISK_DEV=$DEV_ID
head -c 4000 /dev/zero | tr '\0' 'x' >"$T/body"
: >"$T/disk-accepted"
full=0
i=0
while [ $i -lt 3000 ]; do
	i=$((i + 1))
	code=$(api -o /dev/null -w '%{http_code}' -H 'Urgency: low' -H "Idempotency-Key: fill-$i" \
		--data-binary @"$T/body" "$URL/v1/devices/$DISK_DEV/messages")
	if [ "$code" = 201 ]; then echo "$i" >>"$T/disk-accepted"; fi
	if [ "$code" = 503 ]; then full=$((full + 1)); [ $full -ge 5 ] && break; fi
done
accepted=$(wc -l <"$T/disk-accepted")
check "disk full: submits answer 503 once the disk is full (after $accepted accepted)" test $full -ge 5
check "disk full: the server still answers health checks or reports the store" \
	sh -c "code=\$(curl -s -o /dev/null -w '%{http_code}' '$URL/healthz'); [ \"\$code\" = 200 ] || [ \"\$code\" = 503 ]"
in_ns mount -o remount,size=64m "$DISK"
code=$(api -o /dev/null -w '%{http_code}' -H 'Urgency: low' -d 'after' "$URL/v1/devices/$DISK_DEV/messages")
check "disk full: submits succeed again once space returns" test "$code" = 201
total=$(api "$URL/v1/devices/$DISK_DEV" | sed -n 's/.*"last_seq":\([0-9]*\).*/\1/p')
check "disk full: sequence numbers count exactly the accepted messages ($accepted + 1, last_seq $total)" \
	test "$total" -eq $((accepted + 1))
n=0
after=0
while :; do
	page=$(curl -s -H "Authorization: Bearer $DEV_TOKEN" "$URL/v1/device/messages?after=$after&max=100")
	[ -n "$page" ] || break
	k=$(echo "$page" | grep -o '"seq":' | wc -l)
	n=$((n + k))
	after=$(echo "$page" | grep -o '"seq":[0-9]*' | tail -n 1 | cut -d: -f2)
	echo "$page" | grep -q '"more":true' || break
done
check "disk full: the device fetches every accepted message ($n)" test "$n" -eq $((accepted + 1))
server_stop
finish
