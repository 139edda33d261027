#!/bin/sh
# Recovery of the modem layer from the simulator's faults: +CMS ERROR (retryable and permanent),
# loss of registration, a modem that stops answering (deadline -> worker killed and restarted ->
# job failed-retryable -> later sends succeed), a reset of the modem under a running worker, and
# our own soft reset.
. "$(dirname "$0")/modem_lib.sh"

sim_start -m "$A" -m "$B"
modem_ini

# +CMS ERROR: 500 once: retryable, and the next send goes through.
ctl set "$A" cms_error 1 >/dev/null
cli cms -m a -t 60 send "$B" --port 9200 --hex 0102 --repeat 2 --interval 0
check "cms 500: first send fails retryable" has cms.out '^failed modem=a status=modem error class=retry error=+CMS ERROR: 500'
check "cms 500: the second send succeeds" has cms.out '^sent modem=a'
check "cms 500: exit status says retry" test "$rc" -eq 75

# +CMS ERROR: 1 (unassigned number): permanent.
ctl set "$A" cms_error "1 1" >/dev/null
cli cms1 -m a -t 60 send "$B" --port 9200 --hex 0102
check "cms 1: permanent failure" has cms1.out 'class=permanent error=+CMS ERROR: 1$'
check "cms 1: exit status 1" test "$rc" -eq 1

# No registration: the modem is unhealthy, the send waits; registration back: it goes out.
ctl set "$A" registered 0 >/dev/null
cli_bg reg -m a -t 90 send "$B" --port 9200 --hex 0a0b0c
check "registration lost: the modem is marked unhealthy" \
	wait_for 30 grep -q 'modem a: .*network not-registered' "$TMP/clireg.err"
check "registration lost: nothing sent meanwhile" sh -c "! grep -q '^sent' '$TMP/reg.out'"
ctl set "$A" registered 1 >/dev/null
check "registration back: the send goes out" wait_for 60 grep -q '^sent modem=a' "$TMP/reg.out"
wait "$BG"
check "registration back: exit status 0" test $? -eq 0
check "registration back: it arrived" wait_for 10 received_has "$B" 'ud=0A0B0C$'

# The modem stops answering in the middle of a series of sends.
cli_bg hang -m a -t 60 send "$B" --port 9200 --hex 0d0e0f --repeat 100 --interval 2000
check "hang: first send succeeds" wait_for 60 grep -q '^sent' "$TMP/hang.out"
ctl set "$A" hang on >/dev/null
check "hang: the deadline kills the worker and the send fails retryable" \
	wait_for 60 grep -q '^failed modem=a .*class=retry error=.*worker [0-9]* killed' "$TMP/hang.out"
check "hang: the worker is restarted" wait_for 30 grep -q 'modem a: worker restarted' "$TMP/clihang.err"
ctl set "$A" hang off >/dev/null
check "hang: sends succeed again after the restart" wait_for 90 sh -c \
	"sed -n '/^failed/,\$p' '$TMP/hang.out' | grep -q '^sent modem=a'"
kill "$BG" 2>/dev/null
wait "$BG" 2>/dev/null

# The modem resets under a running worker (the line drops, the pty comes back).
cli_bg rst -m a -t 60 send "$B" --port 9200 --hex 1a1b --repeat 100 --interval 2000
check "reset: first send succeeds" wait_for 60 grep -q '^sent' "$TMP/rst.out"
ctl set "$A" reset 1 >/dev/null
n_before=$(grep -c '^sent' "$TMP/rst.out")
check "reset: sends succeed after the modem came back" wait_for 90 sh -c \
	"test \$(grep -c '^sent' '$TMP/rst.out') -gt $((n_before + 1))"
kill "$BG" 2>/dev/null
wait "$BG" 2>/dev/null
check "reset: the simulator saw it" sh -c "'$SIM' --ctl '$RUN' stats | grep -q 'resets=1'"

# Our soft reset (AT+CFUN=1,1), then the modem is usable again.
cli softreset -m a -t 60 reset
check "soft reset: done" has softreset.out '^reset modem=a'
cli after -m a -t 90 status
check "soft reset: the modem answers again" has after.out '^modem=a sim=ready registration=home'

finish
