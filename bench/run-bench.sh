#!/bin/sh
# Runs every benchmark of the project on this machine and prints one table: figure, value,
# goal and whether the goal is met. Each bench/bench-*.sh appends tab-separated rows
# (figure, value, unit, goal, met) to $BENCH_RESULTS.
set -u
O=${O:-build}
export O
BENCH_RESULTS=$(mktemp)
export BENCH_RESULTS
trap 'rm -f "$BENCH_RESULTS"' EXIT
for b in bench/bench-*.sh; do
	[ -n "${B:-}" ] && case "$b" in *"$B"*) ;; *) continue ;; esac
	echo "== $b" >&2
	sh "$b" || printf '%s\tfailed\t-\t-\tno\n' "$b" >>"$BENCH_RESULTS"
done
echo
printf '%-76s %14s %-8s %-22s %s\n' "figure" "value" "unit" "goal" "met"
printf '%-76s %14s %-8s %-22s %s\n' "------" "-----" "----" "----" "---"
while IFS='	' read -r fig val unit goal met; do
	printf '%-76s %14s %-8s %-22s %s\n' "$fig" "$val" "$unit" "$goal" "$met"
done <"$BENCH_RESULTS"
