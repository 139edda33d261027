#!/bin/sh
# A send that gets no answer after the SMS was handed to the modem is neither sent nor failed:
# its outcome is unknown (MODEM_E_MAYBE_SENT, class unknown, exit status 3), so nothing resends
# it at once. The supervisor then settles it where the modem can tell: the reference the modem
# gives its next send (one skipped: it went out; none: it did not), or a status report for its
# recipient. A send that failed before the SMS reached the modem stays an ordinary retryable
# failure.
. "$(dirname "$0")/modem_lib.sh"

sim_start -m "$A" -m "$B"
modem_ini

received_n() { ctl received "$B" | grep -c "ud=$1\$"; }

# 1. The network takes the 2nd SMS, its answer is lost; the 3rd send's reference shows a gap.
ctl set "$A" drop_answer 2 >/dev/null
cli gap -m a -t 60 send "$B" --port 9200 --hex 0A0B01 --repeat 3 --interval 500
check "lost answer: the first send succeeds" sh -c "sed -n 1p '$TMP/gap.out' | grep -q '^sent modem=a job=[0-9]* reference=0\$'"
check "lost answer: the second is maybe-sent, not failed" \
	sh -c "sed -n 2p '$TMP/gap.out' | grep -q '^maybe-sent modem=a job=[0-9]* class=unknown error=no answer'"
J2=$(sed -n 2p "$TMP/gap.out" | sed 's/.* job=\([0-9]*\) .*/\1/')
check "lost answer: the third send took reference 2" grep -q '^sent modem=a job=[0-9]* reference=2$' "$TMP/gap.out"
check "lost answer: the supervisor concludes the second went out, with reference 1" \
	grep -q "^outcome modem=a job=$J2 sent=yes reference=1 reason=reference 1 was used between 0 and 2" "$TMP/gap.out"
check "lost answer: the exit status says unknown (3), not retry" test "$rc" -eq 3
check "lost answer: three SMS reached the peer, none twice" test "$(received_n 0A0B01)" -eq 3
check "lost answer: no resend" test "$(ctl sent "$A" | grep -c 'ud=0A0B01$')" -eq 3

# 2. The 2nd PDU never reaches the network: the 3rd send takes the very next reference.
ctl set "$A" drop_submit 2 >/dev/null
cli lost -m a -t 60 send "$B" --port 9200 --hex 0A0B02 --repeat 3 --interval 500
J2=$(sed -n 2p "$TMP/lost.out" | sed 's/.* job=\([0-9]*\) .*/\1/')
check "lost submit: the second is maybe-sent" sh -c "sed -n 2p '$TMP/lost.out' | grep -q '^maybe-sent modem=a '"
check "lost submit: the supervisor concludes it was not sent (safe to send again)" \
	grep -q "^outcome modem=a job=$J2 sent=no reference=-1 reason=the modem's next send took reference 4, right after 3" "$TMP/lost.out"
check "lost submit: two SMS reached the peer" test "$(received_n 0A0B02)" -eq 2

# 3. A lost answer on a send that asked for a status report: the report settles it.
ctl set "$A" drop_answer 2 >/dev/null
cli rep -m a -t 60 send "$B" --port 9200 --hex 0A0B03 --repeat 2 --interval 500 --wait-report
J2=$(grep '^maybe-sent' "$TMP/rep.out" | sed 's/.* job=\([0-9]*\) .*/\1/')
check "report: the second send is maybe-sent" test -n "$J2"
R=$(sed -n 's/^sent modem=a job=[0-9]* reference=\([0-9]*\)$/\1/p' "$TMP/rep.out" | head -n 1)
R2=$((R + 1))
check "report: its status report says it went out, with the next reference" \
	grep -q "^outcome modem=a job=$J2 sent=yes reference=$R2 reason=a status report for its recipient came with reference $R2" "$TMP/rep.out"
check "report: and is matched to it" grep -q "^report modem=a reference=$R2 .*outcome=delivered matched=yes job=$J2\$" "$TMP/rep.out"
check "report: exit status 0 once the report said delivered" test "$rc" -eq 0

# 4. A modem that never gives the prompt: nothing reached it, an ordinary retryable failure.
ctl set "$A" no_prompt 1 >/dev/null
cli hang -m a -t 60 send "$B" --port 9200 --hex 0A0B04
check "no prompt: failed retryable, not maybe-sent" grep -q '^failed modem=a status=.* class=retry' "$TMP/hang.out"
check "no prompt: exit status 75" test "$rc" -eq 75
check "no prompt: nothing reached the peer" test "$(received_n 0A0B04)" -eq 0

finish
