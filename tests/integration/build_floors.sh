#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The build enforces the floors of docs/architecture.md: a source in each part is given the
# include paths of its own floor and those below, so a header from a floor above is not found
# (the compiler stops), while the headers of the floors below are. libsmswake (client/lib) sees
# only the MIT wire formats (common/wire/), not the GPL daemon helpers (common/).
. tests/integration/lib_tap.sh
CC=${CC:-cc}

# probe SRC HEADER: preprocesses '#include "HEADER"' with the flags a source at SRC gets; true when
# HEADER itself is found (a header it includes in turn may still be missing: that is not ours).
probe()
{
	# shellcheck disable=SC2046
	printf '#include "%s"\n' "$2" | $CC $(make -s --no-print-directory print-floor SRC="$1") -E -x c - \
		>/dev/null 2>"$T_ERR"
	! grep -q "$2: No such file" "$T_ERR"
}
T_ERR=$(mktemp "${TMPDIR:-/tmp}/smswake-floors.XXXXXX")
trap 'rm -f "$T_ERR"' EXIT
trap 'exit 1' INT TERM HUP PIPE

# floor SRC SEES... -- NOT...: each SEES header is found from SRC, no NOT header is.
floor()
{
	src=$1
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		check "$src sees $1" probe "$src" "$1"
		shift
	done
	[ $# -gt 0 ] && shift
	for h in "$@"; do
		if probe "$src" "$h"; then not_ok "$src cannot include $h"; else ok "$src cannot include $h"; fi
	done
}

floor common/wire/x.c wake.h pdu.h encode.h crypto.h -- log.h util.h store.h modem.h smswake.h
floor common/x.c log.h util.h inifile.h wake.h -- store.h modem.h smswake.h server.h
floor store/x.c store.h log.h util.h -- modem.h server.h gateway.h smswake.h
floor store/sqlite/x.c store_int.h backend.h store.h log.h -- pg_int.h modem.h server.h smswake.h
floor store/pg/x.c pg_int.h backend.h store.h log.h -- store_int.h modem.h server.h smswake.h
floor modem/x.c modem.h supervisor.h log.h pdu.h -- store.h server.h gateway.h smswake.h
floor modem/sim/x.c sim.h log.h pdu.h -- modem.h store.h smswake.h
floor client/lib/x.c smswake.h internal.h wake.h pdu.h -- log.h util.h inifile.h store.h modem.h
floor client/examples/x.c smswake.h -- internal.h wake.h log.h
floor client/x.c smswake.h cli.h log.h inifile.h -- internal.h store.h server.h gateway.h
floor fetch-server/x.c server.h store.h log.h wake.h -- modem.h gateway.h smswake.h internal.h
floor gateway/x.c gateway.h modem.h log.h -- store.h server.h smswake.h internal.h
finish
