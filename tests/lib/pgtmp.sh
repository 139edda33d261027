#!/bin/sh
# A throw-away PostgreSQL cluster for tests: Unix socket only (no TCP), in a private directory.
#   pgtmp.sh start DIR   initdb + start in DIR (created, must not exist); prints the libpq DSN
#                        of database "smswake" (user smswake, trust authentication); fsync is
#                        off unless PGTMP_FSYNC=on (benchmarks)
#   pgtmp.sh stop DIR    stops the cluster (immediate) and removes DIR
#   pgtmp.sh available   exit 0 when PostgreSQL's server programs are installed
# PostgreSQL refuses to run as root: as root, the cluster belongs to the postgres user.
set -eu

bindir=
for d in /usr/lib/postgresql/*/bin; do
	[ -x "$d/initdb" ] && bindir=$d
done
if [ -z "$bindir" ] && command -v initdb >/dev/null 2>&1; then
	bindir=$(dirname "$(command -v initdb)")
fi

as_owner()
{
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

case "${1:-}" in
available)
	[ -n "$bindir" ] || exit 1
	if [ "$(id -u)" = 0 ]; then id postgres >/dev/null 2>&1 || exit 1; fi
	exit 0
	;;
start)
	dir=$2
	[ -n "$bindir" ] || { echo "pgtmp: PostgreSQL server programs not found" >&2; exit 1; }
	mkdir -m 0700 "$dir"
	[ "$(id -u)" = 0 ] && chown postgres "$dir"
	as_owner "$bindir/initdb" -D "$dir/db" -U smswake --auth=trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; exit 1; }
	# The port only names the socket file in the private directory: any number will do.
	as_owner "$bindir/pg_ctl" -D "$dir/db" -l "$dir/server.log" -w -t 60 start \
		-o "-k $dir -p 5432 -c listen_addresses='' -c fsync=${PGTMP_FSYNC:-off} -c max_connections=200" >/dev/null ||
		{ cat "$dir/server.log" >&2; exit 1; }
	as_owner "$bindir/createdb" -h "$dir" -p 5432 -U smswake smswake
	echo "host=$dir port=5432 user=smswake dbname=smswake"
	;;
stop)
	dir=$2
	[ -d "$dir/db" ] && as_owner "$bindir/pg_ctl" -D "$dir/db" -m immediate -w stop >/dev/null 2>&1 || true
	rm -rf "$dir"
	;;
*)
	echo "usage: pgtmp.sh start DIR | stop DIR | available" >&2
	exit 2
	;;
esac
