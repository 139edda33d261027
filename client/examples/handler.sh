#!/bin/sh
# SPDX-License-Identifier: MIT
# Example smswake-client handler: called once per message, body on stdin, metadata in the
# environment. Exit 0 to accept (the message is then acknowledged); anything else leaves it queued
# for the next round. Set `handler = /path/to/handler.sh` in client.conf.
set -eu

# The spool directory: SPOOL_DIR from the client's environment (smswake-client passes its
# environment on, but for SMSWAKE_* names, which are its own), or /var/spool/smswake.
spool=${SPOOL_DIR:-/var/spool/smswake}
mkdir -p "$spool"

# SMSWAKE_REDELIVERED=1: a crash may have interrupted an earlier run of this handler for the same
# message. Make the effect idempotent: here the file name is the sequence number, so writing it
# again replaces the earlier copy instead of adding a second one.
out="$spool/$(printf '%020d' "$SMSWAKE_SEQ").msg"
tmp="$out.tmp"

cat > "$tmp"
{
	echo "id=$SMSWAKE_MESSAGE_ID"
	echo "seq=$SMSWAKE_SEQ"
	echo "content_type=$SMSWAKE_CONTENT_TYPE"
	echo "urgency=$SMSWAKE_URGENCY"
	echo "topic=${SMSWAKE_TOPIC-}"
	echo "redelivered=${SMSWAKE_REDELIVERED:-0}"
} > "$out.meta"
mv "$tmp" "$out"

# React to urgent messages at once; the rest waits for the application's next look at the spool.
if [ "$SMSWAKE_URGENCY" = high ]; then
	logger -t smswake "urgent message $SMSWAKE_SEQ${SMSWAKE_TOPIC:+ on $SMSWAKE_TOPIC}" || true
fi
exit 0
