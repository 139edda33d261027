# Shared by tests/integration/modem_*.sh (sourced, not run): the simulator helpers of lib_sim.sh,
# plus a modem-layer configuration for its modems and the smswake-modem CLI. Everything started
# here is stopped by the EXIT trap.
. "$(dirname "$0")/lib_sim.sh"

MODEM=$BUILD/smswake-modem
A=+15550000001
B=+15550000002
INI=$TMP/modem.ini
BG_PIDS=

modem_cleanup()
{
	for p in $BG_PIDS; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	if [ "$failures" -ne 0 ]; then
		for f in "$TMP"/cli*.err; do
			[ -f "$f" ] || continue
			echo "# $f (tail):"
			tail -n 30 "$f" | sed 's/^/# /'
		done
	fi
	sim_cleanup
}
trap modem_cleanup EXIT

# modem_ini [PIN_FOR_A]: short deadlines so that the recovery paths run within a test.
modem_ini()
{
	cat >"$INI" <<EOT
[modems]
health_interval = 1s
send_timeout = 6s
op_timeout = 6s
init_timeout = 12s
queue_timeout = 30s
backoff_min = 500ms
backoff_max = 2s
reset_wait = 1s
incoming_poll = 1s

[modem a]
device = $RUN/modem-$A
${1:+pin = $1}

[modem b]
device = $RUN/modem-$B
EOT
}

# cli NAME ARGS...: runs smswake-modem, stdout in $TMP/NAME.out, stderr in $TMP/cliNAME.err;
# the exit status is in $rc.
cli()
{
	name=$1
	shift
	timeout 120 "$MODEM" -c "$INI" -v "$@" >"$TMP/$name.out" 2>"$TMP/cli$name.err"
	rc=$?
}

# cli_bg NAME ARGS...: the same in the background; its pid is $BG.
cli_bg()
{
	name=$1
	shift
	"$MODEM" -c "$INI" -v "$@" >"$TMP/$name.out" 2>"$TMP/cli$name.err" &
	BG=$!
	BG_PIDS="$BG_PIDS $BG"
}

# payload N: N octets of a fixed pattern in upper-case hex (as the simulator prints them).
payload() { awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++) printf "%02X", (i * 37 + 11) % 256 }'; }
lower() { tr 'A-F' 'a-f'; }
has() { grep -q -- "$2" "$TMP/$1"; }
