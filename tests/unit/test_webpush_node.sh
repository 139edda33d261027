#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Interoperability with the npm web-push library (the most used Web Push sender): its aes128gcm
# encryption (RFC 8291) decrypts with libsmswake's decryptor (ece-tool), and its VAPID headers
# (RFC 8292) verify with the server's verifier (vapid-tool), which refuses them for another
# origin or after they expire. Needs Node and web-push in a test-local folder: `make
# webpush-deps` (npm install --prefix build/node web-push@3.6.7). Without them it prints a SKIP
# line, which tests/run-tests.sh counts as skipped, not passed.
set -u
BUILD=${SMSWAKE_BUILD:-build}
NODE_DIR=${SMSWAKE_NODE_DIR:-build/node}
ECE=$BUILD/tests/unit/ece-tool
VAPID=$BUILD/tests/unit/vapid-tool
failures=0
ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; failures=$((failures + 1)); }

if ! command -v node >/dev/null 2>&1 || [ ! -f "$NODE_DIR/node_modules/web-push/package.json" ]; then
	echo "SKIP test_webpush_node.sh: node or the npm web-push package is missing (apt-get install nodejs; make webpush-deps)"
	exit 0
fi
export NODE_PATH="$NODE_DIR/node_modules"
echo "# web-push $(node -p 'require("web-push/package.json").version')"

# web-push encrypts to a device key made by libsmswake; libsmswake decrypts.
set -- $("$ECE" keygen)
priv=$1 pub=$2 auth=$3
for text in "hello from web-push" "" "caf$(printf '\303\251') $(head -c 3000 /dev/zero | tr '\0' x)"; do
	body=$(TEXT="$text" node -e '
		const wp = require("web-push");
		const r = wp.encrypt(process.argv[1], process.argv[2], process.env.TEXT, "aes128gcm");
		process.stdout.write(r.cipherText.toString("base64url"));' "$pub" "$auth")
	got=$(printf '%s' "$body" | "$ECE" decrypt "$priv" "$pub" "$auth")
	if [ "$got" = "$text" ]; then
		ok "web-push aes128gcm (${#text} characters) decrypts with libsmswake"
	else
		not_ok "web-push aes128gcm (${#text} characters) decrypts with libsmswake"
	fi
done
# The same ciphertext for another device's key does not.
set -- $("$ECE" keygen)
body=$(node -e '
	const wp = require("web-push");
	process.stdout.write(wp.encrypt(process.argv[1], process.argv[2], "x", "aes128gcm").cipherText.toString("base64url"));' \
	"$pub" "$auth")
if printf '%s' "$body" | "$ECE" decrypt "$1" "$2" "$3" >/dev/null 2>&1; then
	not_ok "a message for another device is refused"
else
	ok "a message for another device is refused"
fi

# web-push's VAPID header verifies for its audience, and not for another or once expired.
hdr=$(node -e '
	const wp = require("web-push");
	const k = wp.generateVAPIDKeys();
	const exp = Math.floor(Date.now() / 1000) + 3600;
	const h = wp.getVapidHeaders("https://push.example.net", "mailto:ops@example.net", k.publicKey,
		k.privateKey, "aes128gcm", exp);
	process.stdout.write(h.Authorization + "\n" + exp);')
auth_hdr=$(printf '%s\n' "$hdr" | sed -n 1p)
exp=$(printf '%s\n' "$hdr" | sed -n 2p)
out=$(printf '%s' "$auth_hdr" | "$VAPID" https://push.example.net)
if [ "$out" = "sub=mailto:ops@example.net exp=$exp" ]; then
	ok "web-push VAPID header verifies (sub and exp read)"
else
	not_ok "web-push VAPID header verifies: $out"
fi
if printf '%s' "$auth_hdr" | "$VAPID" https://push.example.org >/dev/null; then
	not_ok "web-push VAPID header refused for another origin"
else
	ok "web-push VAPID header refused for another origin"
fi
if printf '%s' "$auth_hdr" | "$VAPID" https://push.example.net $((exp + 1)) >/dev/null; then
	not_ok "web-push VAPID header refused after exp"
else
	ok "web-push VAPID header refused after exp"
fi
[ "$failures" -eq 0 ]
