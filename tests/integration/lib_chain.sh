# Shared by the whole-chain tests (sourced): a private directory with a simulated GSM network,
# smswake-server, smswake-gateway and devices, all on loopback and ephemeral ports, and TAP
# helpers. Everything started here is stopped by the EXIT trap.
. tests/integration/lib_tap.sh

BUILD=${SMSWAKE_BUILD:-build}
T=$(mktemp -d "${TMPDIR:-/tmp}/smswake-chain.XXXXXX")
RUN=$T/sim
PIDS=""
GW_PID=
SRV_PID=
SIM_PID=

chain_cleanup()
{
	for p in $GW_PID $PIDS $SRV_PID $SIM_PID; do kill "$p" 2>/dev/null; done
	for p in $GW_PID $PIDS $SRV_PID $SIM_PID; do wait "$p" 2>/dev/null; done
	[ -d "$T/pg" ] && sh tests/lib/pgtmp.sh stop "$T/pg"
	if [ "$failures" -ne 0 ]; then
		for f in "$T"/*.log; do
			[ -f "$f" ] || continue
			echo "# --- $f (tail)"
			tail -n 25 "$f" | sed 's/^/# /'
		done
	fi
	if [ -n "${SMSWAKE_KEEP_TEST_DIRS:-}" ]; then echo "# kept $T"; else rm -rf "$T"; fi
}
trap chain_cleanup EXIT
trap 'exit 1' INT TERM HUP


# sim_start NUMBER...: the simulated network with one modem per number.
sim_start()
{
	args=""
	for n in "$@"; do args="$args -m $n"; done
	# shellcheck disable=SC2086
	"$BUILD/smswake-modem-sim" -d "$RUN" $args >"$T/sim.log" 2>&1 &
	SIM_PID=$!
	wait_for 10 test -f "$RUN/pid" || { not_ok "simulator starts"; exit 1; }
}
ctl() { "$BUILD/smswake-modem-sim" --ctl "$RUN" "$@"; }
received_count() { ctl received "$1" | grep -c 'pdu=' ; }
sent_count() { ctl sent "$1" | grep -c 'pdu=' ; }
# received_at_least NUMBER N / sent_more_than NUMBER N: for wait_for, evaluated at each try.
received_at_least() { [ "$(received_count "$1")" -ge "$2" ]; }
sent_more_than() { [ "$(sent_count "$1")" -gt "$2" ]; }
state_is() { [ "$(message_state "$1")" = "$2" ]; }
# last_received_pdu NUMBER: the TPDU (hex) of the newest SMS that reached a modem.
last_received_pdu() { ctl received "$1" | grep 'pdu=' | tail -n 1 | sed 's/.* pdu=\([0-9A-Fa-f]*\).*/\1/'; }

# server_start [EXTRA CONFIG LINES]: smswake-server with a fresh data directory; sets URL,
# PROVIDER_KEY and GATEWAY_TOKEN. Extra lines may open other sections.
# SMSWAKE_TEST_STORE=postgresql: the server's store is a throw-away PostgreSQL cluster of the
# test's own (its [store] section comes first, so that lines a test appends stay in its last one).
server_start()
{
	if [ ! -f "$T/server.conf" ]; then
		store=
		if [ "${SMSWAKE_TEST_STORE:-}" = postgresql ]; then
			chmod 755 "$T" # the cluster's owner (postgres when run as root) must reach its directory
			dsn=$(sh tests/lib/pgtmp.sh start "$T/pg") || { not_ok "PostgreSQL test cluster starts"; exit 1; }
			store=$(printf '[store]\nbackend = postgresql\ndsn = %s' "$dsn")
		fi
		printf '%s\n[server]\nlisten = 127.0.0.1:0\ndata_dir = %s/data\n%s\n' "$store" "$T" "${1:-}" >"$T/server.conf"
		PROVIDER_KEY=$("$BUILD/smswakectl" -c "$T/server.conf" provider add chain) || { not_ok "provider key"; exit 1; }
		GATEWAY_TOKEN=$("$BUILD/smswakectl" -c "$T/server.conf" gateway add chain) || { not_ok "gateway token"; exit 1; }
	fi
	# A restart keeps the port, so clients configured with the URL find the server again.
	if [ -n "${SRV_PORT:-}" ]; then
		sed "s/^listen = 127.0.0.1:0\$/listen = 127.0.0.1:$SRV_PORT/" "$T/server.conf" >"$T/server.conf.new"
		mv "$T/server.conf.new" "$T/server.conf"
	fi
	rm -f "$T/data/ports"
	"$BUILD/smswake-server" -c "$T/server.conf" 2>>"$T/server.log" &
	SRV_PID=$!
	wait_for 10 test -s "$T/data/ports" || { not_ok "server starts"; exit 1; }
	SRV_PORT=$(awk '{print $2; exit}' "$T/data/ports")
	URL="http://127.0.0.1:$SRV_PORT"
	wait_for 10 curl -fs "$URL/healthz" || { not_ok "server answers"; exit 1; }
}
server_stop() { kill "${1:--TERM}" "$SRV_PID" 2>/dev/null; wait "$SRV_PID" 2>/dev/null; SRV_PID=; }

# gateway_start MODEM_NUMBER...: smswake-gateway with one [modem] section per number.
# GW_MODEMS_EXTRA: more lines for its [modems] section.
gateway_start()
{
	{
		printf '[gateway]\nserver = %s\ntoken = %s\nlease_wait = 5s\nlog_level = debug\nmetrics_listen = 127.0.0.1:0\n' \
			"$URL" "$GATEWAY_TOKEN"
		printf '[modems]\nhealth_interval = %s\nsend_timeout = 20s\n' "${GW_HEALTH:-2s}"
		[ -z "${GW_MODEMS_EXTRA:-}" ] || printf '%s\n' "$GW_MODEMS_EXTRA"
		for n in "$@"; do
			printf '[modem gw%s]\ndevice = %s/modem-%s\nconnection = at\nmodel = at\n' "${n#+}" "$RUN" "$n"
		done
	} >"$T/gateway.conf"
	"$BUILD/smswake-gateway" -c "$T/gateway.conf" 2>>"$T/gateway.log" &
	GW_PID=$!
}
# gateway_metrics: the gateway's /metrics text (its port is in its log).
gateway_metrics()
{
	port=$(sed -n 's/.*metrics on 127.0.0.1:\([0-9]*\)\/metrics.*/\1/p' "$T/gateway.log" | tail -n 1)
	[ -n "$port" ] && curl -fsS "http://127.0.0.1:$port/metrics"
}
gateway_stop() { kill "-${1:-TERM}" "$GW_PID" 2>/dev/null; wait "$GW_PID" 2>/dev/null; GW_PID=; }

api() { curl -sS -H "Authorization: Bearer $PROVIDER_KEY" "$@"; }

# device_add MSISDN [JSON FIELDS]: registers a device; the registration JSON is kept in
# $T/dev-MSISDN.json, and DEV_ID / DEV_TOKEN are set.
device_add()
{
	case "${2:-}" in *poll_interval*) fields=${2:-} ;; *) fields="\"poll_interval\":3600${2:+,$2}" ;; esac
	api -H 'Content-Type: application/json' -d "{\"msisdn\":\"$1\",$fields}" \
		"$URL/v1/devices" >"$T/dev-$1.json"
	DEV_ID=$(sed -n 's/.*"id":\([0-9]*\).*/\1/p' "$T/dev-$1.json")
	DEV_TOKEN=$(sed -n 's/.*"token":"\([^"]*\)".*/\1/p' "$T/dev-$1.json")
	[ -n "$DEV_ID" ]
}

# submit DEVICE_ID URGENCY [BODY]: prints the message id.
submit()
{
	api -H "Urgency: $2" -H 'Content-Type: text/plain' -d "${3:-hello}" "$URL/v1/devices/$1/messages" |
		sed -n 's/^{"id":\([0-9]*\).*/\1/p'
}
message_state() { api "$URL/v1/messages/$1" | sed -n 's/^[^[]*"state":"\([a-z_]*\)".*/\1/p'; }
# message_events ID: the message's events, one "EVENT TIME_MS" line each, in the order given.
message_events()
{
	{ api "$URL/v1/messages/$1" && echo; } | tr '{' '\n' | sed -n 's/.*"at":"\([^"]*\)".*"event":"\([a-z_]*\)".*/\2 \1/p' |
		while read -r ev at; do
			printf '%s %s\n' "$ev" "$(($(date -u -d "$(echo "$at" | sed 's/\.[0-9]*Z$/Z/')" +%s) * 1000 +
				$(echo "$at" | sed 's/.*\.\([0-9]*\)Z$/\1/' | sed 's/^0*//;s/^$/0/')))"
		done
}
# wake_state DEVICE_ID: idle, in_flight or unreachable.
wake_state() { api "$URL/v1/devices/$1" | sed -n 's/.*"wake_state":"\([a-z_]*\)".*/\1/p'; }
# server_metric NAME: the value of one line of the server's /metrics (NAME with its labels).
server_metric() { curl -s "$URL/metrics" | awk -v n="$1" '$1 == n {print $2; exit}'; }
# gateway_metric NAME: the same on the gateway.
gateway_metric() { gateway_metrics | awk -v n="$1" '$1 == n {print $2; exit}'; }
metric_is() { [ "$(server_metric "$1")" = "$2" ]; }
# device_fetch TOKEN: one fetch as the device (GET /v1/device/messages), as after a wakeup.
device_fetch() { curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $1" "$URL/v1/device/messages"; }

# client_setup MSISDN: provisions smswake-client for a registered device (device_add first);
# its handler appends "ID SEQ BODY" lines to $T/got-MSISDN. Extra config lines may follow.
client_setup()
{
	cat >"$T/handler.sh" <<'H'
#!/bin/sh
printf '%s %s %s\n' "$SMSWAKE_MESSAGE_ID" "$SMSWAKE_SEQ" "$(cat)" >>"$HANDLER_OUT"
H
	chmod +x "$T/handler.sh"
	"$BUILD/smswake-client" provision --server "$URL" --state "$T/state-$1" --handler "$T/handler.sh" \
		<"$T/dev-$1.json" >"$T/client-$1.conf" || return 1
	[ -z "${2:-}" ] || printf '%s\n' "$2" >>"$T/client-$1.conf"
}
# client_poll MSISDN: one `smswake-client poll` for the device.
client_poll() { HANDLER_OUT="$T/got-$1" "$BUILD/smswake-client" -c "$T/client-$1.conf" poll >>"$T/client-$1.log" 2>&1; }
# client_run MSISDN: the client daemon in the background (stopped by the EXIT trap).
client_run()
{
	HANDLER_OUT="$T/got-$1" "$BUILD/smswake-client" -c "$T/client-$1.conf" run >>"$T/client-$1.log" 2>&1 &
	PIDS="$PIDS $!"
}
got_count() { [ -f "$T/got-$1" ] && wc -l <"$T/got-$1" || echo 0; }
got_at_least() { [ "$(got_count "$1")" -ge "$2" ]; }
