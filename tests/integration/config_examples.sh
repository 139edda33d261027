#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Every shipped configuration example is accepted by its program's -n, as shipped and with every
# commented line "# key = value" (and "# [section]") uncommented, the way an operator edits it.
# The files the examples name (keys, certificates, the token file, modem devices) are provided
# under a staging root and the example's paths are moved there. Then the comment rule of
# smswake.conf(5): '#' or ';' after a blank starts a comment in every configuration file, and a
# '#' inside a value stays.
. tests/integration/lib_tap.sh
BUILD=${SMSWAKE_BUILD:-build}
T=$(mktemp -d "${TMPDIR:-/tmp}/smswake-config.XXXXXX")
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP PIPE
R=$T/root

mkdir -p "$R/etc/smswake" "$R/var/lib/smswake" "$R/dev/serial/by-id"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
	-keyout "$R/etc/smswake/server.key" -out "$R/etc/smswake/server.crt" >/dev/null 2>&1 ||
	not_ok "a test certificate"
for n in public internal; do
	cp "$R/etc/smswake/server.key" "$R/etc/smswake/$n.key"
	cp "$R/etc/smswake/server.crt" "$R/etc/smswake/$n.crt"
done
cp "$R/etc/smswake/server.crt" "$R/etc/smswake/ca.pem"
(umask 077 && echo swg_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG >"$R/etc/smswake/gateway.token" &&
	echo kannel-password >"$R/etc/smswake/kannel.password")

# stage FILE: the file with its system paths moved under the staging root; each modem device it
# names becomes a link to a character device there.
stage()
{
	sed -e "s|/etc/smswake/|$R/etc/smswake/|g" -e "s|/var/lib/smswake|$R/var/lib/smswake|g" \
		-e "s|/dev/serial/by-id/|$R/dev/serial/by-id/|g" "$1"
	for d in $(sed -n 's|^[#; ]*device *= */dev/serial/by-id/\([^ ]*\).*|\1|p' "$1"); do
		ln -sf /dev/null "$R/dev/serial/by-id/$d"
	done
}
# uncomment: every commented "key = value" and "[section]" line, as an operator would.
uncomment()
{
	sed -e 's/^[#;][ 	]*\([A-Za-z_][A-Za-z0-9_]*[ 	]*=\)/\1/' \
		-e 's/^[#;][ 	]*\(\[[A-Za-z][A-Za-z0-9 _-]*\][ 	]*\)$/\1/'
}

# (check() takes the variable "name": the loop uses "ex_name".)
for ex in docs/*.example; do
	ex_name=$(basename "$ex")
	case "$ex_name" in
	smswake.conf.example) prog=smswake-server ;;
	gateway.conf.example) prog=smswake-gateway ;;
	*) not_ok "$ex_name: no program known to check it (add it to this test)"; continue ;;
	esac
	stage "$ex" >"$T/$ex_name"
	"$BUILD/$prog" -n -c "$T/$ex_name" >"$T/out" 2>&1
	rc=$?
	sed 's/^/# /' "$T/out"
	check "$ex_name as shipped: $prog -n accepts it" test "$rc" -eq 0
	uncomment <"$T/$ex_name" >"$T/$ex_name.all"
	n=$(diff "$T/$ex_name" "$T/$ex_name.all" | grep -c '^>')
	check "$ex_name: there are commented lines to uncomment ($n)" test "$n" -ge 5
	"$BUILD/$prog" -n -c "$T/$ex_name.all" >"$T/out" 2>&1
	rc=$?
	sed 's/^/# /' "$T/out"
	check "$ex_name with every commented line uncommented: $prog -n accepts it" test "$rc" -eq 0
done

# The comment rule, program by program.
quiet() { "$@" >/dev/null 2>&1; }
printf '[server]\nlisten = 127.0.0.1:0   # a comment\ndata_dir = %s/sms#1\n[scheduler]\nper_hour = 10\t# tab\nper_day = 50 ; semicolon\n' \
	"$T" >"$T/s.conf"
check_rc "server: '#' after a blank is a comment, after a tab too, ';' as well" 0 \
	quiet "$BUILD/smswake-server" -n -c "$T/s.conf"
"$BUILD/smswakectl" -c "$T/s.conf" provider list >/dev/null 2>"$T/ctl.err"
check "server: a '#' with no blank before it stays in the value (data_dir sms#1)" test -f "$T/sms#1/smswake.db"
printf '[server]\nlisten = 127.0.0.1:0\n[scheduler]\nper_hour = 10#5\n' >"$T/bad.conf"
check_rc "server: '10#5' is a value, and an invalid one" 1 quiet "$BUILD/smswake-server" -n -c "$T/bad.conf"
printf '[gateway]\nserver = http://127.0.0.1:9   # the server\ntoken = swg_x   # token\n[modems]\nhealth_interval = 60s # x\n[modem a]\ndevice = /dev/null # the modem\nper_minute = 10   # per minute\n' \
	>"$T/g.conf"
check_rc "gateway: inline comments in [gateway], [modems] and [modem NAME]" 0 \
	quiet "$BUILD/smswake-gateway" -n -c "$T/g.conf"
key=$(head -c 32 /dev/zero | base64)
printf '[client]\nserver = http://127.0.0.1:9 # x\ndevice_id = 1 # x\ntoken = swd_x # x\nwake_key = %s # x\nstate_file = %s/c.state # x\npoll_interval = 900 ; x\n[modem]\ndevice = /dev/null # x\nconnection = at # x\n' \
	"$key" "$T" >"$T/c.conf"
chmod 600 "$T/c.conf"
check_rc "client: inline comments in [client] and [modem]" 0 quiet "$BUILD/smswake-client" -n -c "$T/c.conf"
printf '[defaults]\nloss = 0   # none\ndup = 0 ; none\n[modem +15550000001]\ncsq = 20   # signal\n' >"$T/sim.conf"
check_rc "simulator: inline comments" 0 quiet "$BUILD/smswake-modem-sim" -n -c "$T/sim.conf" -d "$T/simrun"
finish
