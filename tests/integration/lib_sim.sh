# Shared by tests/integration/sim_*.sh (sourced, not run): TAP helpers, a private simulator in
# a temporary directory, Gammu configuration files, and an AT chat over a modem's pty.
# Everything started here is stopped by the EXIT trap.
. "$(dirname "$0")/lib_tap.sh"

BUILD=${SMSWAKE_BUILD:-build}
SIM=$BUILD/smswake-modem-sim
TMP=$(mktemp -d "${TMPDIR:-/tmp}/smswake-sim.XXXXXX")
RUN=$TMP/run
SIM_PID=
SMSD_PID=

sim_cleanup()
{
	if [ -n "$SMSD_PID" ]; then
		kill "$SMSD_PID" 2>/dev/null
		wait "$SMSD_PID" 2>/dev/null
	fi
	if [ -n "$SIM_PID" ]; then
		kill "$SIM_PID" 2>/dev/null
		wait "$SIM_PID" 2>/dev/null
	fi
	if [ "$failures" -ne 0 ] && [ -f "$TMP/sim.log" ]; then
		echo "# simulator log (tail):"
		tail -n 40 "$TMP/sim.log" | sed 's/^/# /'
	fi
	rm -rf "$TMP"
}
trap sim_cleanup EXIT
trap 'exit 1' INT TERM HUP


# sim_start ARGS...: starts the simulator on $RUN and waits for its pid file.
sim_start()
{
	if [ ! -x "$SIM" ]; then
		not_ok "simulator binary $SIM exists"
		exit 1
	fi
	"$SIM" -d "$RUN" -v "$@" >"$TMP/sim.log" 2>&1 &
	SIM_PID=$!
	if ! wait_for 10 test -f "$RUN/pid"; then
		not_ok "simulator starts"
		exit 1
	fi
}

# sim_stop: SIGTERM, then the exit status of the simulator.
sim_stop()
{
	kill -TERM "$SIM_PID" 2>/dev/null
	wait "$SIM_PID"
	rc=$?
	SIM_PID=
	return $rc
}

ctl() { "$SIM" --ctl "$RUN" "$@"; }

# gammurc NUMBER: writes a Gammu configuration for one simulated modem, prints its path.
gammurc()
{
	f=$TMP/gammurc$1
	if [ ! -f "$f" ]; then
		cat >"$f" <<EOT
[gammu]
device = $RUN/modem-$1
connection = at
model = at
logfile = $TMP/gammu$1.log
logformat = textall
EOT
	fi
	echo "$f"
}

# gammu_on NUMBER ARGS...: runs the real gammu CLI against a modem, output in $TMP/out.
gammu_on()
{
	n=$1
	shift
	timeout 90 gammu -c "$(gammurc "$n")" "$@" >"$TMP/out" 2>&1
}

# at NUMBER COMMAND [SECONDS]: one AT command line over the pty, the raw answer on stdout.
at_cmd()
{
	link=$RUN/modem-$1
	exec 3<>"$link"
	stty -F "$link" raw -echo 2>/dev/null
	printf '%s\r' "$2" >&3
	timeout "${3:-0.5}" cat <&3
	exec 3>&-
}

# at_send NUMBER PDUHEX: AT+CMGS with the TPDU length computed, then the PDU and Ctrl-Z.
# The PDU must start with the SMSC field "00".
at_send()
{
	link=$RUN/modem-$1
	len=$(((${#2} - 2) / 2))
	exec 3<>"$link"
	stty -F "$link" raw -echo 2>/dev/null
	printf 'AT+CMGS=%d\r' "$len" >&3
	sleep 0.2
	printf '%s\032' "$2" >&3
	timeout "${3:-1}" cat <&3
	exec 3>&-
}

# received_has NUMBER PATTERN: the destination's history has a line matching PATTERN.
received_has() { ctl received "$1" | grep -q -- "$2"; }
sent_has() { ctl sent "$1" | grep -q -- "$2"; }
received_count() { ctl received "$1" | grep -c -- "${2:-.}"; }
