# SPDX-License-Identifier: GPL-2.0-or-later
# TAP helpers shared by every integration script (sourced through lib_sim.sh, client_lib.sh or
# lib_chain.sh): one "ok - NAME" or "not ok - NAME" line per check, and finish's exit status.

failures=0

ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; failures=$((failures + 1)); }

# check NAME COMMAND...: one TAP line from a command's exit status.
check()
{
	name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}

# check_rc NAME WANT COMMAND...: one TAP line, passing when the command exits with WANT.
check_rc()
{
	name=$1
	want=$2
	shift 2
	"$@"
	rc=$?
	if [ "$rc" -eq "$want" ]; then ok "$name"; else not_ok "$name (exit $rc, want $want)"; fi
}

# wait_for SECONDS COMMAND...: polls every 0.1 s until the command succeeds.
wait_for()
{
	limit=$(($1 * 10))
	shift
	i=0
	while [ "$i" -lt "$limit" ]; do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

finish()
{
	[ "$failures" -eq 0 ]
	exit $?
}
