#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# smswake-client over HTTPS: a test CA and a server certificate for 127.0.0.1 made with openssl,
# the server's listener on tls_cert/tls_key. A client with the CA (ca_file) polls and follows a
# wakeup; one without it, or with a pinned key that does not match, refuses the server and
# fetches nothing.
. "$(dirname "$0")/client_lib.sh"

if ! command -v openssl >/dev/null 2>&1; then
	not_ok "openssl is installed"
	exit 1
fi
# P-256 keys: quick to make, and every TLS library the server or libcurl may use knows them.
EC='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes'
# shellcheck disable=SC2086
openssl req -x509 $EC -keyout "$TMP/ca.key" -out "$TMP/ca.pem" -days 2 \
	-subj '/CN=smswake test CA' >/dev/null 2>&1 &&
	openssl req $EC -keyout "$TMP/server.key" -out "$TMP/server.csr" -subj '/CN=127.0.0.1' \
		>/dev/null 2>&1 &&
	printf 'subjectAltName = IP:127.0.0.1\nbasicConstraints = CA:FALSE\n' >"$TMP/ext" &&
	openssl x509 -req -in "$TMP/server.csr" -CA "$TMP/ca.pem" -CAkey "$TMP/ca.key" -set_serial 1 \
		-days 2 -extfile "$TMP/ext" -out "$TMP/server.pem" >/dev/null 2>&1
check "openssl makes a test CA and a server certificate" test -s "$TMP/server.pem"

SCHEME=https
CURL_TLS="--cacert $TMP/ca.pem"
srv_start "tls_cert = $TMP/server.pem
tls_key = $TMP/server.key
[scheduler]
batch_window = 0s"
check "the server answers over HTTPS (curl with the test CA)" wait_for 1 api GET /healthz

cat >"$TMP/handler" <<EOF
#!/bin/sh
printf '%s %s\n' "\$SMSWAKE_SEQ" "\$(cat)" >>"$TMP/got"
EOF
chmod +x "$TMP/handler"
: >"$TMP/got"

device_add dev '{"msisdn":"+15550000002","poll_interval":3600}' "$TMP/handler"
id=$DEV_ID
# Without the CA: the system trust store does not know the test CA. No retries: a certificate
# failure is not retried anyway, and this keeps the test quick if that ever changes.
cp "$TMP/dev.conf" "$TMP/noca.conf"
echo 'retries = 0' >>"$TMP/noca.conf"
echo "ca_file = $TMP/ca.pem" >>"$TMP/dev.conf"
# Pinned to the server's own key, and to some other key.
pin=$(openssl pkey -in "$TMP/server.key" -pubout -outform der 2>/dev/null |
	openssl dgst -sha256 -binary | base64)
cp "$TMP/dev.conf" "$TMP/pinned.conf"
echo "pinned_pubkey = sha256//$pin" >>"$TMP/pinned.conf"
cp "$TMP/dev.conf" "$TMP/wrongpin.conf"
echo 'pinned_pubkey = sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=' >>"$TMP/wrongpin.conf"
echo 'retries = 0' >>"$TMP/wrongpin.conf"
# The certificate names the address 127.0.0.1 only: the same server reached as "localhost" is not
# the server the certificate is for.
sed 's|^server = https://127.0.0.1:|server = https://localhost:|' "$TMP/noca.conf" >"$TMP/wrongname.conf"
echo "ca_file = $TMP/ca.pem" >>"$TMP/wrongname.conf"
# Pins as files: the server's public key in PEM, and some other key.
openssl pkey -in "$TMP/server.key" -pubout -out "$TMP/server.pub" 2>/dev/null
openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:prime256v1 2>/dev/null |
	openssl pkey -pubout -out "$TMP/other.pub" 2>/dev/null
cp "$TMP/dev.conf" "$TMP/pinfile.conf"
echo "pinned_pubkey = $TMP/server.pub" >>"$TMP/pinfile.conf"
cp "$TMP/dev.conf" "$TMP/wrongpinfile.conf"
printf 'pinned_pubkey = %s\nretries = 0\n' "$TMP/other.pub" >>"$TMP/wrongpinfile.conf"

id1=$(submit "$id" m1)
check_rc "a client without the CA refuses the server (exit 6)" 6 client "$TMP/noca.conf" poll
check_rc "a client pinned to another key refuses the server (exit 6)" 6 \
	client "$TMP/wrongpin.conf" poll
check "the configuration names the server localhost" grep -q '^server = https://localhost:' "$TMP/wrongname.conf"
check_rc "a client reaching it as localhost refuses a certificate for 127.0.0.1 (exit 6)" 6 \
	client "$TMP/wrongname.conf" poll
check "... because of the certificate's name" \
	sh -c "tail -n 1 '$TMP/client.log' | grep -q 'certificate of localhost:[0-9]* not accepted: .*mismatch'"
check_rc "a client pinned to another key's PEM file refuses the server (exit 6)" 6 \
	client "$TMP/wrongpinfile.conf" poll
check "... because of the pin" sh -c "tail -n 1 '$TMP/client.log' | grep -q 'does not match pinned_pubkey'"
check "nothing was fetched by them (the message is still queued)" \
	test ! -s "$TMP/got" -a "$(msg_state "$id1")" = queued
check "the refusal names the certificate or the pin" \
	grep -qi 'certificate\|SSL\|pinned\|public key' "$TMP/client.log"
check_rc "a client with the CA polls over HTTPS" 0 client "$TMP/dev.conf" poll
check "its handler got the message" grep -qx "1 m1" "$TMP/got"
submit "$id" m1b >/dev/null
check_rc "a client pinned to the server's PEM public key file polls" 0 client "$TMP/pinfile.conf" poll
check "its handler got that message" grep -qx "2 m1b" "$TMP/got"

# A wakeup over HTTPS, with the key pinned as well as the CA.
submit "$id" m2 >/dev/null
check "a wake job is leased" lease_job
check_rc "a wakeup followed by a fetch over HTTPS (pinned key)" 0 \
	sh -c "echo '$(port_udh)$JOB_PAYLOAD' | '$BUILD/smswake-client' -c '$TMP/pinned.conf' sms 2>>'$TMP/client.log'"
check "its handler got the third message, after the others" \
	sh -c "printf '1 m1\n2 m1b\n3 m2\n' | cmp -s - '$TMP/got'"

finish
