#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The demo shows what it runs: with DEMO_KEEP=1 (in a private DEMO_DIR), every "$ " line it printed
# is pasted into a fresh shell that has only a standard PATH and the "export" lines the demo
# printed, from another directory, and works. Lines that create something named (a provider, a
# gateway, a device's number) cannot work twice: their second run must be refused by the running
# demo as a duplicate ("exists already", HTTP 409), which shows that they reach it with its
# configuration and credentials. Every shown curl fails on an HTTP error (-f), so that "works"
# means the server said yes. A second demo in the same directory refuses to start and leaves
# the first one alone; the printed stop command leaves nothing running; and without DEMO_KEEP the
# demo stops everything itself.
. tests/integration/lib_tap.sh
BUILD=${SMSWAKE_BUILD:-build}
T=$(mktemp -d "${TMPDIR:-/tmp}/smswake-demo.XXXXXX")
cleanup()
{
	DEMO_DIR=$T/demo sh tests/demo.sh stop >/dev/null 2>&1
	DEMO_DIR=$T/demo2 sh tests/demo.sh stop >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE

# left DIR: the processes whose command line names DIR (none once a demo is stopped).
left() { pgrep -f -- "$1" || true; }

DEMO_KEEP=1 DEMO_DIR=$T/demo O=$BUILD timeout 600 sh tests/demo.sh >"$T/out" 2>&1
rc=$?
check "DEMO_KEEP=1: the demo runs to the end" test "$rc" -eq 0
[ "$rc" -eq 0 ] || sed 's/^/# /' "$T/out"

# The environment as printed (the last value of each variable wins) and every shown command.
sed -n 's/^  export /export /p' "$T/out" >"$T/env.sh"
sed -n 's/^  \$ //p' "$T/out" >"$T/lines"
# env_complete: the printed environment sets PATH (with the build), DEMO, URL and KEY.
env_complete()
{
	grep -qF 'PATH="/' "$T/env.sh" && grep -qF "DEMO='/" "$T/env.sh" &&
		grep -qF "URL='http://" "$T/env.sh" && grep -qF "KEY='swp_" "$T/env.sh"
}
check "the demo prints the environment (PATH, DEMO, URL, KEY)" env_complete
check "the demo points to the API description, which exists" sh -c \
	"grep -q 'docs/openapi.yaml' '$T/out' && test -s docs/openapi.yaml"
n=$(wc -l <"$T/lines")
check "the demo shows commands ($n)" test "$n" -ge 30
mkdir -p "$T/elsewhere"
i=0
while IFS= read -r line; do
	i=$((i + 1))
	# A curl without -f exits 0 on a 401 or 404: such a line would "work" unseen.
	if printf '%s\n' "$line" | grep -q '^curl ' && ! printf '%s\n' "$line" | grep -qE '^curl (-[a-zA-Z]*f|--fail)'; then
		not_ok "shown line $i fails on HTTP errors (curl -f): $line"
	fi
	(cd "$T/elsewhere" && env -i HOME="$T" PATH=/usr/local/bin:/usr/bin:/bin sh -c ". '$T/env.sh' && $line") \
		</dev/null >"$T/paste.out" 2>"$T/paste.err"
	prc=$?
	if [ "$prc" -eq 0 ]; then
		ok "pasted line $i works: $line"
		continue
	fi
	case "$line" in
	*" provider add "* | *" gateway add "*)
		check "pasted line $i is refused as a duplicate: $line" grep -q 'exists already' "$T/paste.err" ;;
	*"/v1/devices\"" | *"/v1/devices")
		check "pasted line $i is refused as a duplicate (409): $line" grep -q '409' "$T/paste.err" ;;
	*)
		not_ok "pasted line $i works: $line (exit $prc)"
		sed 's/^/# /' "$T/paste.err" ;;
	esac
done <"$T/lines"
check "a refused registration keeps the device's registration file" grep -q '"token":"swd_' "$T/demo/reg1.json"

# A second demo in the same directory while the first is kept running.
pids_before=$(cat "$T/demo/pids")
DEMO_DIR=$T/demo O=$BUILD timeout 60 sh tests/demo.sh >"$T/second" 2>&1
rc=$?
sed 's/^/# /' "$T/second"
check "a second demo in the same directory refuses to start" test "$rc" -ne 0
check "... and says why" grep -q 'still running' "$T/second"
alive=0
for p in $pids_before; do kill -0 "$p" 2>/dev/null && alive=$((alive + 1)); done
check "... and the first demo's processes still run ($alive of $(echo $pids_before | wc -w))" \
	test "$alive" -eq "$(echo $pids_before | wc -w)"
check "... and its data is still there" test -s "$T/demo/data/smswake.db"
(. "$T/env.sh" && curl -fsS "$URL/healthz" >/dev/null)
check "... and its server still answers" test $? -eq 0

# The printed stop command.
stop=$(sed -n 's/^To stop it all: //p' "$T/out")
check "the demo prints how to stop it" test -n "$stop"
(cd "$T/elsewhere" && env -i HOME="$T" PATH=/usr/local/bin:/usr/bin:/bin sh -c "$stop") >/dev/null 2>&1
check "the stop command works" test $? -eq 0
wait_for 30 sh -c "[ -z \"\$(pgrep -f -- '$T/demo')\" ]"
check "nothing of the kept demo is left running" test -z "$(left "$T/demo")"
left "$T/demo" | sed 's/^/# left: /'

# Without DEMO_KEEP everything stops when the demo ends.
DEMO_DIR=$T/demo2 O=$BUILD timeout 600 sh tests/demo.sh >"$T/out2" 2>&1
rc=$?
check "without DEMO_KEEP: the demo runs to the end" test "$rc" -eq 0
[ "$rc" -eq 0 ] || sed 's/^/# /' "$T/out2"
check "without DEMO_KEEP: nothing is left running" test -z "$(left "$T/demo2")"
check "without DEMO_KEEP: no pid list is left behind" test ! -e "$T/demo2/pids"
finish
