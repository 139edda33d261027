#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Every installed program explains itself: --help prints its usage on stdout and exits 0,
# --version prints "NAME VERSION" (the VERSION file) and exits 0, and an option, argument or
# subcommand it does not understand is named on stderr with exit status 2.
. tests/integration/lib_tap.sh
BUILD=${SMSWAKE_BUILD:-build}
T=$(mktemp -d "${TMPDIR:-/tmp}/smswake-progs.XXXXXX")
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP PIPE

version=$(cat VERSION)
# The installed programs, as the Makefile lists them (a new one is checked without editing this).
programs=$(printf 'print-programs:\n\t@echo $(INSTALL_SBIN) $(INSTALL_BIN)\n' |
	make -s --no-print-directory -f Makefile -f - print-programs)
check "the Makefile lists the installed programs" test -n "$programs"
check "VERSION holds one version" sh -c "echo '$version' | grep -Eq '^[0-9]+\.[0-9]+\.[0-9]+$'"
check "the pkg-config file takes its version from VERSION" grep -q '^Version: @VERSION@$' client/smswake.pc.in

# run NAME ARGS...: the program's stdout, stderr and exit status into $T/out, $T/err, $rc.
run()
{
	p=$1
	shift
	"$BUILD/$p" "$@" >"$T/out" 2>"$T/err" </dev/null
	rc=$?
}

# names_word NAME WHAT WORD ARGS...: ARGS are refused with 2 and WORD is named on stderr.
names_word()
{
	p=$1
	what=$2
	word=$3
	shift 3
	run "$p" "$@"
	if [ "$rc" -eq 2 ] && grep -qF -- "$word" "$T/err"; then
		ok "$p: $what '$word' is named, exit 2"
	else
		not_ok "$p: $what '$word' is named, exit 2 (exit $rc)"
		sed 's/^/# /' "$T/err"
	fi
}

for p in $programs; do
	run "$p" --help
	check "$p --help exits 0" test "$rc" -eq 0
	check "$p --help prints its usage on stdout" grep -q "^usage: $p" "$T/out"
	check "$p --help writes nothing on stderr" test ! -s "$T/err"
	run "$p" -h
	check "$p -h exits 0 with the usage" sh -c "[ $rc -eq 0 ] && grep -q '^usage: $p' '$T/out'"
	run "$p" --version
	check "$p --version exits 0" test "$rc" -eq 0
	check "$p --version prints '$p $version'" test "$(cat "$T/out")" = "$p $version"
	names_word "$p" "option" "--no-such-option" --no-such-option
	names_word "$p" "option" "'Z'" -Z
done

# Stray arguments and unknown subcommands, before any file is opened (so a typo is not answered
# with a configuration error).
names_word smswake-server "argument" "stray" -c "$T/none.conf" stray
names_word smswake-gateway "argument" "stray" -c "$T/none.conf" stray
names_word smswake-modem-worker "argument" "stray" stray
names_word smswake-modem-sim "argument" "stray" -d "$T/run" stray
names_word smswakectl "command" "frob" -c "$T/none.conf" frob
names_word smswakectl "subcommand" "frob" -c "$T/none.conf" provider frob
names_word smswakectl "subcommand" "budget" -c "$T/none.conf" gateway budget gw1 5
names_word smswake-modem "command" "frob" -d "$T/ttyNONE" frob
names_word smswake-client "command" "frob" -c "$T/none.conf" frob
finish
