#!/bin/sh
# smswake-server's HTTPS listeners: TLS 1.2 and 1.3 with forward-secret AEAD suites by default,
# older protocols and static-RSA or CBC suites refused, and the priority string configurable
# per listener. The handshakes are made with openssl s_client against a throw-away certificate.
. tests/integration/lib_chain.sh

if ! command -v openssl >/dev/null 2>&1; then
	not_ok "openssl is installed"
	finish
fi
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" -days 2 \
	-subj '/CN=127.0.0.1' >/dev/null 2>&1 || { not_ok "test certificate"; finish; }
cat >"$T/tls.conf" <<CONF
[server]
data_dir = $T/data
[listener public]
listen = 127.0.0.1:0
tls_cert = $T/cert.pem
tls_key = $T/key.pem
[listener legacy]
listen = 127.0.0.1:0
tls_cert = $T/cert.pem
tls_key = $T/key.pem
tls_priorities = NORMAL:-VERS-ALL:+VERS-TLS1.2
CONF
"$BUILD/smswake-server" -c "$T/tls.conf" 2>>"$T/server.log" &
SRV_PID=$!
wait_for 10 test -s "$T/data/ports" || { not_ok "server starts"; finish; }
PUB=$(awk '$1 == "public" {print $2}' "$T/data/ports")
LEG=$(awk '$1 == "legacy" {print $2}' "$T/data/ports")
wait_for 10 curl -fsk "https://127.0.0.1:$PUB/healthz" || { not_ok "server answers over TLS"; finish; }

# handshake PORT ARGS...: succeeds when openssl completes a handshake with these options.
# SECLEVEL=0 lets this client offer what a careless client would; the server must refuse it.
handshake()
{
	port=$1
	shift
	echo | timeout 10 openssl s_client -connect "127.0.0.1:$port" -servername 127.0.0.1 "$@" \
		>"$T/s_client.out" 2>&1 || return 1
	grep -q 'Cipher is [A-Z0-9]' "$T/s_client.out"
}
refused() { ! handshake "$@"; }

check "TLS 1.0 refused" refused "$PUB" -tls1 -cipher 'DEFAULT:@SECLEVEL=0'
check "TLS 1.1 refused" refused "$PUB" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'
check "TLS 1.2 static RSA with AES-CBC refused" refused "$PUB" -tls1_2 -cipher 'AES128-SHA:@SECLEVEL=0'
check "TLS 1.2 static RSA with AES-GCM refused" refused "$PUB" -tls1_2 -cipher 'AES128-GCM-SHA256:@SECLEVEL=0'
check "TLS 1.2 ECDHE with AES-CBC refused" refused "$PUB" -tls1_2 -cipher 'ECDHE-RSA-AES128-SHA:@SECLEVEL=0'
check "TLS 1.2 ECDHE-RSA-AES128-GCM-SHA256 accepted" handshake "$PUB" -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256
check "TLS 1.2 ECDHE-RSA-CHACHA20-POLY1305 accepted" handshake "$PUB" -tls1_2 -cipher ECDHE-RSA-CHACHA20-POLY1305
check "TLS 1.3 accepted" handshake "$PUB" -tls1_3
check "HTTP over TLS 1.3" test "$(curl -sk --tlsv1.3 -o /dev/null -w '%{http_code}' "https://127.0.0.1:$PUB/healthz")" = 200
# A listener's own priority string: this one allows TLS 1.2 only.
check "tls_priorities per listener: TLS 1.3 refused there" refused "$LEG" -tls1_3
check "tls_priorities per listener: TLS 1.2 accepted there" handshake "$LEG" -tls1_2
server_stop

# A priority string GnuTLS does not understand stops the start with a clear message.
sed 's/^tls_priorities = .*/tls_priorities = NORMAL:+NO-SUCH-THING/' "$T/tls.conf" >"$T/bad.conf"
"$BUILD/smswake-server" -c "$T/bad.conf" 2>"$T/bad.log"
check "bad tls_priorities: exit 1" test $? -eq 1
check "bad tls_priorities: the message names the listener and the setting" \
	grep -q "listener 'legacy'.*tls_priorities" "$T/bad.log"
finish
