#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The npm web-push library sends to a device's subscription, as an application server would: it
# takes push_subscription from the provider API unchanged, encrypts (RFC 8291), signs with VAPID
# (RFC 8292) and posts over HTTPS to the push endpoint; smswake-client polls and its handler gets
# the plain text. Needs Node and `make webpush-deps` (web-push in build/node); without them it
# prints a SKIP line, which tests/run-tests.sh counts as skipped, not passed.
. "$(dirname "$0")/client_lib.sh"

NODE_DIR=${SMSWAKE_NODE_DIR:-build/node}
if ! command -v node >/dev/null 2>&1 || [ ! -f "$NODE_DIR/node_modules/web-push/package.json" ]; then
	echo "SKIP client_webpush_node.sh: node or the npm web-push package is missing (make webpush-deps)"
	exit 0
fi
NODE_PATH=$(cd "$NODE_DIR/node_modules" && pwd)
export NODE_PATH

EC='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes'
# shellcheck disable=SC2086
openssl req -x509 $EC -keyout "$TMP/ca.key" -out "$TMP/ca.pem" -days 2 -subj '/CN=smswake test CA' \
	>/dev/null 2>&1 &&
	openssl req $EC -keyout "$TMP/server.key" -out "$TMP/server.csr" -subj '/CN=127.0.0.1' >/dev/null 2>&1 &&
	printf 'subjectAltName = IP:127.0.0.1\nbasicConstraints = CA:FALSE\n' >"$TMP/ext" &&
	openssl x509 -req -in "$TMP/server.csr" -CA "$TMP/ca.pem" -CAkey "$TMP/ca.key" -set_serial 1 \
		-days 2 -extfile "$TMP/ext" -out "$TMP/server.pem" >/dev/null 2>&1
check "openssl makes a test CA and a server certificate" test -s "$TMP/server.pem"

# The push origin names the port senders use, so the port is chosen before the server starts.
P=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
SCHEME=https
CURL_TLS="--cacert $TMP/ca.pem"
srv_start "listen = 127.0.0.1:$P
push_origin = https://127.0.0.1:$P
log_level = debug
tls_cert = $TMP/server.pem
tls_key = $TMP/server.key
[scheduler]
batch_window = 0s"
check "the server listens on the chosen port" test "$PORT" = "$P"

printf '#!/bin/sh\nbody=$(cat)\nprintf "%%s %%s %%s\\n" "$SMSWAKE_SEQ" "$SMSWAKE_ENCRYPTED" "$body" >>"%s"\n' \
	"$TMP/got" >"$TMP/handler"
chmod +x "$TMP/handler"
: >"$TMP/got"
device_add dev '{"msisdn":"+15550000088"}' "$TMP/handler"
echo "ca_file = $TMP/ca.pem" >>"$TMP/dev.conf"
check "push-keys uploads the device's keys" client "$TMP/dev.conf" push-keys
api GET "/v1/devices/$DEV_ID" "$PK" >"$TMP/device.json"
check "the provider API shows the push subscription" grep -q "\"endpoint\":\"https://127.0.0.1:$P/push/" \
	"$TMP/device.json"

secret="sent by web-push $(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
# shellcheck disable=SC2016
SECRET=$secret NODE_EXTRA_CA_CERTS=$TMP/ca.pem node -e '
	const wp = require("web-push");
	const sub = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).push_subscription;
	const k = wp.generateVAPIDKeys();
	wp.setVapidDetails("mailto:ops@example.net", k.publicKey, k.privateKey);
	wp.sendNotification(sub, process.env.SECRET, {TTL: 600, urgency: "high"})
		.then(r => { console.log("status " + r.statusCode); })
		.catch(e => { console.log("error " + (e.statusCode || e.message) + " " + (e.body || "")); process.exit(1); });
	' "$TMP/device.json" >"$TMP/node.out" 2>&1
check "web-push sendNotification gets 201" grep -qx "status 201" "$TMP/node.out"
sed 's/^/# /' "$TMP/node.out"
check "poll exits 0" client "$TMP/dev.conf" poll
check "the handler got web-push's plain text, marked encrypted" grep -qxF "1 1 $secret" "$TMP/got"
kill "$SRV_PID" 2>/dev/null
wait "$SRV_PID" 2>/dev/null
SRV_PID=
check "the plain text is in no database file" sh -c '! cat "$1"/data/* | grep -aqF "sent by web-push"' - "$TMP"
check "nor in the server's log (debug level)" sh -c '! grep -aqF "sent by web-push" "$1"' - "$TMP/server.log"
finish
