#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Documentation that runs: every block fenced as "sh doctest" in docs/api.md, docs/client.md and
# docs/operations.md runs, in order and in one shell per document (bash, -e -o pipefail), against
# a fresh smswake-server of its own; each must succeed, and where the document shows what it prints
# (a following "... output" block) the output must have that shape (doc_compare.awk: the status
# line and headers of an HTTP response, the JSON keys of its body, text lines). A curl example
# that neither fails on an HTTP error (-f) nor shows its output is refused: nothing would check it.
# The blocks get the variables the documents name: URL (the server), KEY (a provider key), GW (a
# gateway token), CONF (the server's configuration), PREFIX (a staging installation of the
# library, with pkg-config pointed at it), and the programs on PATH. The test server's data
# directory reads as /var/lib/smswake in what they print, as in the documents.
# Then the one-machine set-up in docs/operations.md, which needs root and systemd: its order is
# checked, and its gateway-token line is run (sudo and system paths taken out) to see that it
# writes a working token file, and that when smswakectl fails it fails and writes nothing.
. tests/integration/lib_tap.sh
BUILD=${SMSWAKE_BUILD:-build}
BUILD_ABS=$(cd "$BUILD" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/smswake-docs.XXXXXX")
SRV_PID=
cleanup()
{
	[ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE
DOCS=${DOC_FILES:-docs/api.md docs/client.md docs/operations.md}

# server_start DIR: a fresh server with its data in DIR; sets URL, KEY, GW, CONF.
server_start()
{
	CONF=$1/smswake.conf
	printf '[server]\nlisten = 127.0.0.1:0\ndata_dir = %s/data\n' "$1" >"$CONF"
	KEY=$("$BUILD/smswakectl" -c "$CONF" provider add docs) || return 1
	GW=$("$BUILD/smswakectl" -c "$CONF" gateway add docs-gw) || return 1
	"$BUILD/smswake-server" -c "$CONF" 2>>"$1/server.log" &
	SRV_PID=$!
	wait_for 20 test -s "$1/data/ports" || return 1
	URL=http://127.0.0.1:$(awk '{print $2; exit}' "$1/data/ports")
	wait_for 20 curl -fs "$URL/healthz"
}
server_stop()
{
	[ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null
	SRV_PID=
}

# The comparison itself, on outputs that differ from what is shown the way a drifted document
# would: each must be caught, and an output of the right shape must pass.
# cmp_case NAME WANT(0|1) EXPECTED ACTUAL: the texts take printf escapes.
cmp_case()
{
	printf "$3" >"$T/cmp.want"
	printf "$4" >"$T/cmp.got"
	awk -f tests/integration/doc_compare.awk "$T/cmp.want" "$T/cmp.got" >/dev/null 2>&1
	check "doc_compare: $1" test $? -eq "$2"
}
resp='HTTP/1.1 201 Created\r\nDate: x\r\nContent-Type: application/json\r\nLocation: /v1/devices/7\r\n\r\n{"id":7,"token":"swd_abc"}'
cmp_case "the same shape passes (other ids, tokens, headers)" 0 \
	'HTTP/1.1 201 Created\nLocation: /v1/devices/1\n\n{"id": 1, "token": "swd_x"}\n' "$resp"
cmp_case "another status fails" 1 'HTTP/1.1 200 OK\n\n{"id": 1}\n' "$resp"
cmp_case "a missing header fails" 1 'HTTP/1.1 201 Created\nTTL: 5\n\n{"id": 1}\n' "$resp"
cmp_case "a header with another value fails" 1 'HTTP/1.1 201 Created\nLocation: /v1/messages/1\n\n{"id": 1}\n' "$resp"
cmp_case "a JSON key the body lacks fails" 1 'HTTP/1.1 201 Created\n\n{"id": 1, "wake_key": "k"}\n' "$resp"
cmp_case "a body where none is shown fails" 1 'HTTP/1.1 201 Created\n\n' "$resp"
cmp_case "text with other times and tokens passes" 0 'a 2026-01-01T00:00:00Z swp_x\n...\nz\n' 'a  2027-02-02T01:02:03.4Z swp_yz\nb\nc\nz\n'
cmp_case "text with another number fails" 1 '401\n' '200\n'
cmp_case "text with another word fails" 1 'key 1 present\n' 'key 1 MISSING\n'
cmp_case "text with a line too many fails" 1 'one\n' 'one\ntwo\n'

# The library as installed, for the examples that build against it. A sanitized library (make
# check builds one) needs its programs built the same way: a cc in front adds the flags.
check "a staging installation for the library examples" \
	make --no-print-directory -s O="$BUILD" DESTDIR="$T/root" PREFIX=/usr install-files
mkdir -p "$T/bin"
san=
nm -D "$T/root/usr/lib/libsmswake.so.1" 2>/dev/null | grep -q __asan_ && san="-fsanitize=address,undefined"
printf '#!/bin/sh\nexec /usr/bin/cc %s "$@"\n' "$san" >"$T/bin/cc"
chmod +x "$T/bin/cc"

for doc in $DOCS; do
	d=$(basename "$doc" .md)
	W=$T/$d
	mkdir -p "$W/blocks" "$W/out" "$W/cwd"
	check "$doc: its examples can be read" awk -v dir="$W/blocks" -f tests/integration/doc_blocks.awk "$doc"
	count=$(find "$W/blocks" -name '*.sh' | wc -l)
	check "$doc has runnable examples ($count)" test "$count" -gt 0
	server_start "$W" || { not_ok "$doc: a server for its examples"; continue; }
	{
		echo 'set -e -o pipefail'
		echo "export URL='$URL' KEY='$KEY' GW='$GW' CONF='$CONF' PREFIX='$T/root/usr'"
		echo "export PKG_CONFIG_PATH='$T/root/usr/lib/pkgconfig' PKG_CONFIG_SYSROOT_DIR='$T/root'"
		echo "export LD_LIBRARY_PATH='$T/root/usr/lib' PATH='$T/bin:$BUILD_ABS:$PATH'"
		echo "cd '$W/cwd'"
		i=1
		while [ "$i" -le "$count" ]; do
			echo "exec >'$W/out/$i' 2>'$W/out/$i.err'"
			cat "$W/blocks/$i.sh"
			echo "echo $i >>'$W/passed'"
			i=$((i + 1))
		done
	} >"$W/script.sh"
	: >"$W/passed"
	timeout 300 bash "$W/script.sh" </dev/null >/dev/null 2>"$W/script.err"
	rc=$?
	failed=
	i=1
	while [ "$i" -le "$count" ]; do
		where="$doc:$(cat "$W/blocks/$i.line")"
		if grep -qx "$i" "$W/passed"; then
			if [ -f "$W/blocks/$i.expect" ]; then
				# The server of the test keeps its data where the documents' keeps it.
				sed "s|$W/data|/var/lib/smswake|g" "$W/out/$i" >"$W/out/$i.doc"
				awk -f tests/integration/doc_compare.awk "$W/blocks/$i.expect" "$W/out/$i.doc" >"$W/why" 2>&1
				check "$where prints what the document shows" test $? -eq 0
				sed 's/^/#   /' "$W/why"
			elif grep -q 'curl ' "$W/blocks/$i.sh" && ! grep -q -- 'curl -[a-zA-Z]*f\|--fail' "$W/blocks/$i.sh"; then
				not_ok "$where: a curl example with neither -f nor its output shown"
			else
				ok "$where runs"
			fi
		elif [ -z "$failed" ]; then
			failed=$i
			not_ok "$where fails (exit $rc)"
			sed 's/^/#   /' "$W/blocks/$i.sh"
			echo "#   printed:"
			tail -n 20 "$W/out/$i" "$W/out/$i.err" "$W/script.err" 2>/dev/null | sed 's/^/#   | /'
		else
			not_ok "$where did not run (an earlier example failed)"
		fi
		i=$((i + 1))
	done
	server_stop
done

# The one-machine set-up of docs/operations.md: the first sh block under "### One machine".
awk '/^### One machine/ {on = 1} on && /^```sh$/ {code = 1; next} code && /^```/ {exit} code' \
	docs/operations.md >"$T/setup.sh"
check "operations.md: the one-machine set-up is there" test -s "$T/setup.sh"
check "operations.md: the one-machine set-up is valid shell" bash -n "$T/setup.sh"
# first PATTERN: the number of the first line of the set-up that matches.
first() { grep -n -- "$1" "$T/setup.sh" | head -n 1 | cut -d: -f1; }
check "operations.md: users before the state directory, that before the first smswakectl" \
	test "$(first systemd-sysusers)" -lt "$(first 'systemd-tmpfiles --create')" -a \
	"$(first 'systemd-tmpfiles --create')" -lt "$(first smswakectl)"
check "operations.md: /etc/smswake exists before files are installed in it" \
	test "$(first 'install -d .*/etc/smswake')" -lt "$(first 'install .*/etc/smswake/smswake.conf')"
# The gateway token line(s), with sudo and the system paths taken out.
awk '/gateway add gw1/ {on = 1} on {print} on && !/(&&|\\)$/ {exit}' "$T/setup.sh" >"$T/token-line"
sed 's/^/# /' "$T/token-line"
check "operations.md: the gateway token goes to /etc/smswake/gateway.token" \
	grep -q '/etc/smswake/gateway.token' "$T/token-line"
sed -e 's/sudo -u [a-z-]* //g' -e 's/sudo //g' -e 's/ -o smswake-gw / /' \
	-e 's|/etc/smswake/smswake.conf|"$CONF"|g' -e 's|/etc/smswake/gateway.token|"$S/gateway.token"|g' \
	"$T/token-line" >"$T/token-run.sh"
S=$T/setup
mkdir -p "$S"
if server_start "$S"; then
	PATH=$BUILD_ABS:$PATH CONF=$CONF S=$S bash "$T/token-run.sh" >"$S/out" 2>&1
	check "operations.md: the token line works" test $? -eq 0
	check "... and writes the token, mode 0600" \
		sh -c "grep -q '^swg_' '$S/gateway.token' && test \"\$(stat -c %a '$S/gateway.token')\" = 600"
	check "... which the gateway API takes" \
		test "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(cat "$S/gateway.token")" \
			-H 'Content-Type: application/json' -d '{"max":1,"wait":0}' "$URL/v1/gateway/lease")" = 200
	rm -f "$S/gateway.token"
	PATH=$BUILD_ABS:$PATH CONF=$CONF S=$S bash "$T/token-run.sh" >"$S/out" 2>&1
	check "operations.md: when smswakectl fails (gw1 taken), the token line fails" test $? -ne 0
	check "... and writes no token file" test ! -e "$S/gateway.token"
	server_stop
else
	not_ok "a server for the one-machine set-up"
fi
finish
