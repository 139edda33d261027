#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# client_poll.sh with the server's store on PostgreSQL (a throw-away cluster of the test's own).
if ! sh tests/lib/pgtmp.sh available; then
	echo "SKIP client_poll_pg.sh: PostgreSQL is not installed (Debian: postgresql)"
	exit 0
fi
SMSWAKE_TEST_STORE=postgresql exec sh tests/integration/client_poll.sh
