#!/bin/sh
# The modem layer against the simulator: a port-addressed binary SMS sent through the supervisor
# and its worker arrives byte for byte, is received and deleted through the modem layer at the
# destination, and its status report comes back matched to the send. Text SMS and the length
# limit too.
. "$(dirname "$0")/modem_lib.sh"

sim_start -m "$A" -m "$B"
modem_ini

P=$(payload 133)
cli send -m a -t 60 send "$B" --port 9200 --src-port 4660 --hex "$P" --validity 60 --wait-report
check "send: exit status 0" test "$rc" -eq 0
check "send: a message reference is returned" has send.out '^sent modem=a job=[0-9]* reference=[0-9]'
check "send: status report matched to the send" has send.out '^report modem=a .*recipient=+15550000002 status=0x00 outcome=delivered matched=yes'
check "network: the destination got the 133 octets byte for byte" \
	received_has "$B" "udh=06050423F01234 dport=9200 sport=4660 ud=$P\$"
check "network: the submit asked for a status report" sent_has "$A" "srr=1 .*ud=$P\$"
check "network: validity of 60 minutes" sent_has "$A" "vp=relative:3600 .*ud=$P\$"

PL=$(echo "$P" | lower)
cli recv -m b -t 60 listen --count 1
check "receive: listen exits 0" test "$rc" -eq 0
check "receive: ports and payload through the modem layer" \
	has recv.out "^sms modem=b from=$A dst_port=9200 src_port=4660 udh=06050423f01234 hex=$PL\$"
check "receive: the message was deleted from the modem" sh -c \
	"'$SIM' --ctl '$RUN' list | grep -q '^$B .*storage=SM:0/'"

cli text -m a -t 60 send "$B" --text "wake up, 42"
check "text: sent" test "$rc" -eq 0
cli textrecv -m b -t 60 listen --count 1
check "text: received as text" has textrecv.out "^sms modem=b from=$A text=wake up, 42\$"

before=$(ctl sent "$A" | wc -l)
cli long -m a -t 60 send "$B" --port 9200 --hex "$(payload 134)"
check "134 octets: refused as permanent" test "$rc" -eq 1
check "134 octets: says too long" has long.out 'too long'
check "134 octets: nothing reached the modem" test "$(ctl sent "$A" | wc -l)" -eq "$before"

cli status -m b -t 60 status
check "status: SIM ready and registered" has status.out '^modem=b sim=ready registration=home signal=[0-9]*% storage=0/'
cli ident -m a -t 60 identify
check "identify: manufacturer and model" has ident.out '^modem=a manufacturer=smswake model=smswake-modem-sim'

finish
