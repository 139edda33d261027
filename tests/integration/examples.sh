#!/bin/sh
# The provider examples of docs/examples/ against a live server: each submits a message, gets
# its webhooks (signatures checked) and its event stream, while this script plays the device.
. tests/integration/lib_chain.sh

server_start '[webhooks]
allow = 127.0.0.0/8'
device_add +15550000401

# run_example NAME COMMAND...: the example runs; the device fetches and acks what it sent.
run_example()
{
	ex_name=$1
	shift
	"$@" --url "$URL" --key "$PROVIDER_KEY" --device "$DEV_ID" --listen 127.0.0.1:0 --timeout 60 \
		>"$T/$ex_name.log" 2>&1 &
	ex=$!
	PIDS="$PIDS $ex"
	if ! wait_for 20 grep -q '^submitted message' "$T/$ex_name.log"; then
		not_ok "$ex_name: submits"
		return
	fi
	ok "$ex_name: submits"
	seq=$(sed -n 's/^submitted message [0-9]* (seq \([0-9]*\))/\1/p' "$T/$ex_name.log")
	curl -s -o /dev/null -H "Authorization: Bearer $DEV_TOKEN" "$URL/v1/device/messages?after=$((seq - 1))"
	curl -s -o /dev/null -H "Authorization: Bearer $DEV_TOKEN" -H 'Content-Type: application/json' \
		-d "{\"seq\":$seq}" "$URL/v1/device/ack"
	wait "$ex"
	rc=$?
	check "$ex_name: exits 0 once the ack came both ways" test "$rc" = 0
	check "$ex_name: a verified webhook told of the ack" grep -q '^webhook message.acked' "$T/$ex_name.log"
	check "$ex_name: the stream told of the ack" grep -q '^stream message.acked' "$T/$ex_name.log"
	check "$ex_name: no webhook was refused" sh -c "! grep -q 'bad signature' '$T/$ex_name.log'"
}

run_example python python3 docs/examples/provider.py
run_example node node docs/examples/provider.js
server_stop
finish
