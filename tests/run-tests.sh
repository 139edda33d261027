#!/bin/sh
# Runs every test program, script and fuzz target given as arguments and prints one closing line,
# "N passed, N failed" (and ", N skipped" when any were). cmocka programs and TAP-style scripts
# ("ok - ...", "not ok - ...") count each of their cases; anything else counts as one case decided
# by its exit status. A test that exits 0 after a line "SKIP name: reason" (something it needs is
# not installed) and passes nothing counts as skipped, never as passed.
# T=substring runs only the tests whose file name contains it. TEST_JOBS (default 3) tests run
# at a time: most integration tests spend their time waiting on timers, and every test uses
# its own directories and ephemeral ports. Exits non-zero on any failure, and when T matches no
# test. Each test's output goes to $O/test-logs/NAME.log.
set -u
passed=0
failed=0
skipped=0
failures=""
logdir="${O:-build}/test-logs"
mkdir -p "$logdir"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export SMSWAKE_BUILD="${O:-build}"
fuzz_seconds="${FUZZ_SECONDS:-5}"
jobs_max="${TEST_JOBS:-3}"

# run_one TEST LOG: runs one test, its exit status into LOG.rc.
run_one()
{
	t=$1
	log=$2
	name=$(basename "$t")
	case "$t" in
	*.sh) timeout -k 10 900 sh "$t" >"$log" 2>&1 ;;
	*/fuzz/*)
		corpus="$logdir/$name.corpus"
		mkdir -p "$corpus"
		seeds=tests/fuzz/corpus/${name#fuzz-}
		[ -d "$seeds" ] || seeds=
		timeout -k 10 300 "$t" -max_total_time="$fuzz_seconds" -rss_limit_mb=1024 \
			-artifact_prefix="$logdir/$name-" "$corpus" $seeds >"$log" 2>&1 ;;
	*) timeout -k 10 900 "$t" >"$log" 2>&1 ;;
	esac
	echo $? >"$log.rc"
}

# A test is running until its .rc file appears (dash's `jobs` cannot be counted in a subshell).
selected=""
running=""
for t in "$@"; do
	name=$(basename "$t")
	case "$name" in *"${T:-}"*) ;; *) continue ;; esac
	selected="$selected $t"
	rm -f "$logdir/$name.log.rc"
	run_one "$t" "$logdir/$name.log" &
	running="$running $logdir/$name.log"
	while :; do
		still=""
		n=0
		for l in $running; do
			[ -f "$l.rc" ] && continue
			still="$still $l"
			n=$((n + 1))
		done
		running=$still
		[ "$n" -lt "$jobs_max" ] && break
		sleep 0.2
	done
done
wait

# A T= that matches nothing is a mistake (a typo, an old name): say so and list the names.
if [ -z "$selected" ]; then
	echo "no test name contains '${T:-}'; the tests are:"
	for t in "$@"; do basename "$t"; done | sort | sed 's/^/  /'
	exit 1
fi

for t in $selected; do
	name=$(basename "$t")
	log="$logdir/$name.log"
	rc=$(cat "$log.rc" 2>/dev/null || echo 1)
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
	tp=$(grep -c '^ok ' "$log")
	tf=$(grep -c '^not ok ' "$log")
	p=$((p + tp))
	f=$((f + tf))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && grep -q '^SKIP ' "$log"; then
		skipped=$((skipped + 1))
		echo "skip $name: $(sed -n 's/^SKIP [^:]*: *//p' "$log" | head -1)"
		continue
	fi
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then p=1; fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" -ne 0 ]; then
		echo "FAIL $name ($f failed, exit $rc); log: $log"
		grep -E '^not ok |^\[  FAILED  \]|^\[  ERROR   \]|ERROR: AddressSanitizer|runtime error' "$log" | head -20 | sed 's/^/    /'
		tail -n 15 "$log" | sed 's/^/    | /'
		failures="$failures $name"
	else
		echo "ok   $name ($p)"
	fi
done
echo
[ -n "$failures" ] && echo "failed:$failures"
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
