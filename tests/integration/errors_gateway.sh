#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# smswake-gateway says what is wrong with its server and what to do: a server URL that refuses
# connections is named with curl's reason at once, again at most once a minute while it lasts,
# and the recovery is logged; a token the server refuses (HTTP 401) is an error naming the token
# file and the smswakectl command that makes a good one, the gateway backs off and keeps running.
# Every message provoked is listed in docs/operations.md's table of messages.
. tests/integration/lib_chain.sh
. tests/integration/lib_messages.sh

GW1=+15550000001
sim_start $GW1
server_start
server_stop
# The server's port now refuses connections; the gateway is pointed at it.
printf '%s\n' "$GATEWAY_TOKEN" >"$T/gw.token"
# gw_conf TOKEN_FILE: a gateway configuration with the token from that file.
gw_conf()
{
	printf '[gateway]\nserver = %s\ntoken_file = %s\nlease_wait = 5s\n' "$URL" "$1"
	printf '[modem gw1]\ndevice = %s/modem-%s\nconnection = at\nmodel = at\n' "$RUN" "$GW1"
}
gw_conf "$T/gw.token" >"$T/gateway.conf"
"$BUILD/smswake-gateway" -c "$T/gateway.conf" 2>>"$T/gateway.log" &
GW_PID=$!

check "a refused server URL is named with the reason and what to do" \
	wait_for 30 grep -qF "server $URL: Couldn't connect to server; is smswake-server running" "$T/gateway.log"
check "it is said again while it lasts (at most once a minute)" \
	wait_for 80 grep -qF "server $URL: Couldn't connect to server; still, for" "$T/gateway.log"
n=$(grep -c "server $URL: Couldn't connect" "$T/gateway.log")
check "not at every attempt ($n lines)" test "$n" -le 3
server_start
check "the recovery is logged with the URL" wait_for 40 grep -qF "server $URL reachable again after" "$T/gateway.log"
gateway_stop

# A token the server does not know.
echo swg_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG >"$T/bad.token"
gw_conf "$T/bad.token" >"$T/gateway-bad.conf"
: >"$T/gateway-bad.log"
"$BUILD/smswake-gateway" -c "$T/gateway-bad.conf" 2>>"$T/gateway-bad.log" &
GW_PID=$!
check "a refused token is an error naming the token file" \
	wait_for 30 grep -qF "[error] server $URL refused token_file $T/bad.token (HTTP 401)" "$T/gateway-bad.log"
check "and says what to do" grep -qF 'smswakectl gateway add NAME' "$T/gateway-bad.log"
sleep 3
check "the gateway keeps running (and backs off)" kill -0 "$GW_PID"
n=$(grep -c 'refused token_file' "$T/gateway-bad.log")
check "the error is not repeated at every attempt ($n lines)" test "$n" -le 2
gateway_stop

grep -hE '\[(warn|error)\] server |\] server .* reachable again' "$T/gateway.log" "$T/gateway-bad.log" >"$T/messages"
messages_listed "$T/messages" >"$T/listed"
cat "$T/listed"
failures=$((failures + $(grep -c '^not ok' "$T/listed")))
finish
