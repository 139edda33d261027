#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# make fuzz-report's script (tests/fuzz/report.sh) on the device side's fuzz targets, one second
# each: a row per target with its seed count (each has a real seed corpus), executions per second
# and libFuzzer's coverage counters; a target that was not built is reported as such and fails it.
. "$(dirname "$0")/lib_tap.sh"
BUILD=${SMSWAKE_BUILD:-build}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

O=$TMP FUZZ_SECONDS=1 sh tests/fuzz/report.sh "$BUILD/fuzz/fuzz-wake" "$BUILD/fuzz/fuzz-pdu" \
	"$BUILD/fuzz/fuzz-client" "$BUILD/fuzz/fuzz-none" >"$TMP/out" 2>&1
rc=$?
sed 's/^/# /' "$TMP/out"

# row NAME: the report's line for a target.
row() { awk -v n="$1" '$1 == n' "$TMP/out"; }
for t in fuzz-wake fuzz-pdu fuzz-client; do
	r=$(row "$t")
	check "$t: a row" test -n "$r"
	# target seeds secs execs exec/s cov0 -> cov1 ft0 -> ft1 corpus new result
	set -- $r
	check "$t: a seed corpus of 20 inputs or more ($2)" test "${2:-0}" -ge 20
	check "$t: executions per second ($5)" test "${5:-0}" -gt 0
	check "$t: coverage after the seeds and at the end ($6 -> $8)" \
		test "${6:-0}" -gt 0 -a "${8:-0}" -ge "${6:-0}"
	check "$t: corpus size (${12:-})" test "${12:-0}" -gt 0
	check "$t: ran cleanly" test "${14:-}" = ok
	check "$t: its work files stay in O" test -d "$TMP/fuzz-report/$t"
done
check "a target that was not built is reported" test -n "$(row fuzz-none | grep 'not built')"
check "and fails the report" test "$rc" -ne 0
[ "$failures" -eq 0 ]
