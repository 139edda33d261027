# SPDX-License-Identifier: GPL-2.0-or-later
# Shared by tests/integration/client_*.sh (sourced, not run): TAP helpers, a private
# smswake-server on an ephemeral port, device registration and provisioning, message submission,
# and wake jobs taken from the gateway API as a gateway would. POSIX sh; curl and sed only.
# Everything started here is stopped by the EXIT trap; everything written is under $TMP.
. "$(dirname "$0")/lib_tap.sh"

BUILD=${SMSWAKE_BUILD:-build}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/smswake-client.XXXXXX")
SRV_PID=
BG_PIDS=
SCHEME=http
CURL_TLS=

cl_cleanup()
{
	# Background clients, then any handler they left sleeping (handlers record their pid).
	for p in $BG_PIDS; do
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	for f in "$TMP"/*.pid; do
		[ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
	done
	if [ -n "$SRV_PID" ]; then
		kill "$SRV_PID" 2>/dev/null
		wait "$SRV_PID" 2>/dev/null
	fi
	[ -d "$TMP/pg" ] && sh tests/lib/pgtmp.sh stop "$TMP/pg"
	if [ "$failures" -ne 0 ]; then
		for log in "$TMP"/*.log; do
			[ -f "$log" ] || continue
			echo "# $(basename "$log") (tail):"
			tail -n 25 "$log" | sed 's/^/# /'
		done
	fi
	rm -rf "$TMP"
}
trap cl_cleanup EXIT
trap 'exit 1' INT TERM HUP


need()
{
	for b in "$@"; do
		if [ ! -x "$BUILD/$b" ]; then
			not_ok "$BUILD/$b is built"
			exit 1
		fi
	done
}

# srv_start [CONFIG LINES]: writes the server configuration (extra lines go to the end, so they
# may open sections), creates a provider and a gateway, starts the server and waits for /healthz.
# Sets PORT, URL, PK (provider key), GK (gateway key).
# SMSWAKE_TEST_STORE=postgresql: the server's store is a throw-away PostgreSQL cluster of the
# test's own ([store] first, so that the caller's lines stay in [server] or its own sections).
srv_start()
{
	need smswake-server smswakectl smswake-client
	mkdir -p "$TMP/data"
	store=
	if [ "${SMSWAKE_TEST_STORE:-}" = postgresql ]; then
		chmod 755 "$TMP" # the cluster's owner (postgres when run as root) must reach its directory
		dsn=$(sh tests/lib/pgtmp.sh start "$TMP/pg") || { not_ok "PostgreSQL test cluster starts"; exit 1; }
		store=$(printf '[store]\nbackend = postgresql\ndsn = %s' "$dsn")
	fi
	cat >"$TMP/server.conf" <<EOF
$store
[server]
listen = 127.0.0.1:0
data_dir = $TMP/data
synchronous = normal
${1:-}
EOF
	PK=$("$BUILD/smswakectl" -c "$TMP/server.conf" provider add test-provider 2>>"$TMP/server.log") &&
		GK=$("$BUILD/smswakectl" -c "$TMP/server.conf" gateway add test-gateway 2>>"$TMP/server.log")
	if [ -z "$PK" ] || [ -z "$GK" ]; then
		not_ok "smswakectl creates a provider and a gateway"
		exit 1
	fi
	"$BUILD/smswake-server" -c "$TMP/server.conf" 2>>"$TMP/server.log" &
	SRV_PID=$!
	if ! wait_for 20 grep -q '^main ' "$TMP/data/ports"; then
		not_ok "server writes its port"
		exit 1
	fi
	PORT=$(sed -n 's/^main \([0-9]*\)$/\1/p' "$TMP/data/ports")
	URL=$SCHEME://127.0.0.1:$PORT
	if ! wait_for 20 api GET /healthz; then
		not_ok "server answers /healthz"
		exit 1
	fi
}

# api METHOD PATH [TOKEN] [BODY] [CURL ARGS...]: one request; the body on stdout, failing on
# HTTP errors. JSON bodies get their Content-Type.
api()
{
	m=$1
	p=$2
	tok=${3:-}
	body=${4:-}
	shift 2
	[ $# -gt 0 ] && shift
	[ $# -gt 0 ] && shift
	set -- -sS -f --max-time 30 -X "$m" "$@"
	[ -n "$tok" ] && set -- "$@" -H "Authorization: Bearer $tok"
	[ -n "$body" ] && set -- "$@" -H 'Content-Type: application/json' --data-binary "$body"
	# shellcheck disable=SC2086
	curl $CURL_TLS "$@" "$URL$p"
}

# json_str KEY / json_num KEY: a top-level or first-found value from compact JSON on stdin.
json_str() { sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p" | head -n 1; }
json_num() { sed -n "s/.*\"$1\":\\([0-9][0-9]*\\).*/\\1/p" | head -n 1; }

# device_add NAME JSON [HANDLER]: registers a device, provisions the client configuration
# $TMP/NAME.conf with state $TMP/NAME.state. Sets DEV_ID.
device_add()
{
	name=$1
	handler=${3:-}
	if ! api POST /v1/devices "$PK" "$2" >"$TMP/$name.reg.json"; then
		not_ok "register device $name"
		exit 1
	fi
	DEV_ID=$(json_num id <"$TMP/$name.reg.json")
	set -- --server "$URL" --state "$TMP/$name.state"
	[ -n "$handler" ] && set -- "$@" --handler "$handler"
	"$BUILD/smswake-client" provision "$@" <"$TMP/$name.reg.json" >"$TMP/$name.conf" \
		2>>"$TMP/client.log"
}

# submit DEVICE_ID BODY [HEADER...]: submits a text/plain message, prints its id.
submit()
{
	dev=$1
	b=$2
	shift 2
	for h in "$@"; do set -- "$@" -H "$h"; shift; done
	# shellcheck disable=SC2086
	curl $CURL_TLS -sS -f --max-time 30 -X POST -H "Authorization: Bearer $PK" \
		-H 'Content-Type: text/plain' "$@" --data-binary "$b" \
		"$URL/v1/devices/$dev/messages" | json_num id
}

msg_state() { api GET "/v1/messages/$1" "$PK" | json_str state; }
state_is() { [ "$(msg_state "$1")" = "$2" ]; }

# lease_job: takes one wake job from the gateway API (waiting up to 15 s), reports it submitted
# as a gateway would after its modem sent it, and sets JOB, JOB_PORT, JOB_PAYLOAD (hex) or
# JOB_TEXT. Fails when no job came.
lease_job()
{
	api POST /v1/gateway/lease "$GK" '{"max":1,"wait":15}' --max-time 30 >"$TMP/lease.json" ||
		return 1
	{ cat "$TMP/lease.json"; echo; } >>"$TMP/lease.log"
	JOB=$(json_num job <"$TMP/lease.json")
	[ -n "$JOB" ] || return 1
	JOB_PORT=$(json_num port <"$TMP/lease.json")
	JOB_PAYLOAD=$(json_str payload <"$TMP/lease.json")
	JOB_TEXT=$(json_str text <"$TMP/lease.json")
	api POST /v1/gateway/report "$GK" "{\"job\":$JOB,\"outcome\":\"submitted\",\"reference\":1}" \
		>/dev/null
}

# no_job SECONDS: true when the gateway API offers no wake job within that time.
no_job()
{
	api POST /v1/gateway/lease "$GK" "{\"max\":1,\"wait\":$1}" --max-time 30 >"$TMP/lease.json" &&
		! grep -q '"job"' "$TMP/lease.json"
}

# The user data header a binary wakeup carries: 16-bit application ports, both JOB_PORT.
port_udh() { printf '060504%04X%04X' "$JOB_PORT" "$JOB_PORT"; }

# deliver_pdu UDH_HEX UD_HEX: an SMS-DELIVER TPDU in hex as a modem prints it in PDU mode
# (AT+CMGR, +CMT): empty SMSC field, TP-MMS and TP-UDHI set, originator +15550000001, PID 0,
# DCS 0x04 (8-bit), a service centre time stamp, UDL, then the header and the data.
deliver_pdu()
{
	udl=$(((${#1} + ${#2}) / 2))
	printf '00440B915155000000F10004%s%02X%s%s' 42116210500040 "$udl" "$1" "$2"
}

# fetches: device fetch requests the server has answered so far (200 and 204).
fetches()
{
	api GET /metrics | sed -n 's/^smswake_http_requests_total{route="device_fetch",status="20[04]"} \([0-9]*\)$/\1/p' |
		awk '{s += $1} END {print s + 0}'
}

# client CONF ARGS...: runs smswake-client, appending its messages to client.log.
client() { c=$1; shift; "$BUILD/smswake-client" -c "$c" "$@" 2>>"$TMP/client.log"; }
