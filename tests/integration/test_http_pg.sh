#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# test_http, the provider, device and gateway APIs case by case, with every server it starts on
# PostgreSQL: a throw-away cluster of the test's own, a database per server (tests/lib/testsrv.c,
# SMSWAKE_TEST_PG_DSN).
set -u
if ! sh tests/lib/pgtmp.sh available; then
	echo "SKIP test_http_pg.sh: PostgreSQL is not installed (Debian: postgresql)"
	exit 0
fi
B=${SMSWAKE_BUILD:-build}
dir=$(mktemp -d "${TMPDIR:-/tmp}/smswake-http-pg.XXXXXX")
chmod 755 "$dir"
trap 'sh tests/lib/pgtmp.sh stop "$dir/pg"; rm -rf "$dir"' EXIT INT TERM
dsn=$(sh tests/lib/pgtmp.sh start "$dir/pg") || { echo "test_http_pg.sh: no PostgreSQL cluster"; exit 1; }
SMSWAKE_TEST_PG_DSN=$dsn "$B/tests/test_http"
