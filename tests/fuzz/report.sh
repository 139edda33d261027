#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Fuzzing summary (`make fuzz-report`): runs each libFuzzer target given as an argument for
# FUZZ_SECONDS seconds (default 10), one after the other, from its seed corpus
# tests/fuzz/corpus/NAME (NAME without "fuzz-"), and prints one line per target:
#   seeds     files in the seed corpus
#   exec/s    executions per second over the run (libFuzzer's stat::average_exec_per_sec)
#   cov, ft   libFuzzer's coverage counters (code edges, and edges with hit-count buckets) once
#             the seeds are loaded, then at the end: what the seeds reach and what the run added
#   corpus    inputs in the corpus at the end (the seeds that add coverage, and new ones)
#   new       inputs the run found that add coverage
# Work files go to $O/fuzz-report (new inputs, logs, any crash artifact); nothing to /tmp.
# Exits non-zero if a target is missing, crashed or did not finish.
set -u
O=${O:-build}
secs=${FUZZ_SECONDS:-10}
work="$O/fuzz-report"
rm -rf "$work"
mkdir -p "$work"
status=0

# field NAME LINE: the number after "NAME:" (or "NAME" followed by spaces) in LINE.
field() { printf '%s\n' "$2" | sed -n "s/.*$1:* *\([0-9][0-9]*\).*/\1/p"; }

printf '%-14s %6s %5s %10s %9s %17s %17s %7s %5s  %s\n' target seeds secs execs exec/s \
	"cov seeds->end" "ft seeds->end" corpus new result
for t in "$@"; do
	name=$(basename "$t")
	seeds=tests/fuzz/corpus/${name#fuzz-}
	nseeds=0
	if [ -d "$seeds" ]; then
		nseeds=$(find "$seeds" -type f | wc -l)
	else
		seeds=
	fi
	if [ ! -x "$t" ]; then
		printf '%-14s %6s %5s %10s %9s %17s %17s %7s %5s  %s\n' "$name" "$nseeds" - - - - - - - "not built"
		status=1
		continue
	fi
	mkdir -p "$work/$name"
	log="$work/$name.log"
	# The seed corpus is read only: new inputs go to the work directory, listed first.
	timeout -k 10 $((secs + 300)) "$t" -max_total_time="$secs" -print_final_stats=1 -rss_limit_mb=2048 \
		-artifact_prefix="$work/$name-" "$work/$name" $seeds >"$log" 2>&1
	rc=$?
	inited=$(grep -E '^#[0-9]+[[:space:]]+INITED' "$log" | tail -n 1)
	done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1)
	[ -n "$done_line" ] || done_line=$(grep -E '^#[0-9]+[[:space:]]' "$log" | tail -n 1)
	execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log")
	eps=$(sed -n 's/^stat::average_exec_per_sec: *\([0-9]*\).*/\1/p' "$log")
	newu=$(sed -n 's/^stat::new_units_added: *\([0-9]*\).*/\1/p' "$log")
	cov0=$(field cov "$inited")
	ft0=$(field ft "$inited")
	cov1=$(field cov "$done_line")
	ft1=$(field ft "$done_line")
	corp=$(printf '%s\n' "$done_line" | sed -n 's/.*corp: *\([0-9]*\)\/.*/\1/p')
	if [ "$rc" -eq 0 ]; then
		result=ok
	elif ls "$work/$name"-crash-* "$work/$name"-leak-* "$work/$name"-timeout-* "$work/$name"-oom-* \
		>/dev/null 2>&1; then
		result="FAILED, artifact in $work ($log)"
		status=1
	else
		result="FAILED, exit $rc ($log)"
		status=1
	fi
	printf '%-14s %6s %5s %10s %9s %17s %17s %7s %5s  %s\n' "$name" "$nseeds" "$secs" "${execs:--}" \
		"${eps:--}" "${cov0:--} -> ${cov1:--}" "${ft0:--} -> ${ft1:--}" "${corp:--}" "${newu:--}" "$result"
done
exit $status
