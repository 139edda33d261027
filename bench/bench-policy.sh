#!/bin/sh
# Wake policy simulation (virtual clock, no real time): bench/policy_sim.c.
set -eu
O=${O:-build}
"$O/bench/policy_sim" >&2
"$O/bench/policy_sim" -t >>"${BENCH_RESULTS:-/dev/stdout}"
