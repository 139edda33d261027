#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# `make install` into a staging directory (DESTDIR, PREFIX=/usr): every program, library, header,
# manual page and document lands where it should, the library's pkg-config file is usable, and a
# device maker's program (client/examples/minimal.c) builds and runs against the installed copy
# only. The build under test is installed as it is (install-files: no rebuild).
. tests/integration/lib_tap.sh
BUILD=${SMSWAKE_BUILD:-build}
T=$(mktemp -d "${TMPDIR:-/tmp}/smswake-install.XXXXXX")
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP
D=$T/root

check "make install-files DESTDIR=... PREFIX=/usr" \
	make --no-print-directory -s O="$BUILD" DESTDIR="$D" PREFIX=/usr install-files
for p in sbin/smswake-server sbin/smswakectl sbin/smswake-gateway bin/smswake-client \
	bin/smswake-modem-worker bin/smswake-modem-sim; do
	check "$p installed and executable" test -x "$D/usr/$p" -a -f "$D/usr/$p"
done
for f in include/smswake.h lib/libsmswake.a lib/libsmswake.so.1 share/man/man1/smswake-client.1 \
	share/man/man5/smswake.conf.5 share/man/man8/smswake-server.8 share/man/man8/smswakectl.8 \
	share/man/man8/smswake-gateway.8 share/doc/smswake/client.md share/doc/smswake/protocol.md \
	share/doc/smswake/api.md share/doc/smswake/operations.md share/doc/smswake/smswake.conf.example; do
	check "$f installed" test -s "$D/usr/$f"
done
check "libsmswake.so links to libsmswake.so.1" test "$(readlink "$D/usr/lib/libsmswake.so")" = libsmswake.so.1
check "the header is not executable" test ! -x "$D/usr/include/smswake.h"

pc() { PKG_CONFIG_PATH=$D/usr/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$D pkg-config "$@"; }
check "pkg-config knows smswake" pc --exists smswake
check "pkg-config gives the installed include directory" \
	sh -c "PKG_CONFIG_PATH='$D/usr/lib/pkgconfig' PKG_CONFIG_SYSROOT_DIR='$D' pkg-config --cflags smswake | grep -q -- '-I$D/usr/include'"
check "pkg-config links -lsmswake from the installed library directory" \
	sh -c "PKG_CONFIG_PATH='$D/usr/lib/pkgconfig' PKG_CONFIG_SYSROOT_DIR='$D' pkg-config --libs smswake | grep -q -- '-L$D/usr/lib -lsmswake'"
check "static linking brings OpenSSL and jansson (Requires.private)" \
	sh -c "PKG_CONFIG_PATH='$D/usr/lib/pkgconfig' PKG_CONFIG_SYSROOT_DIR='$D' pkg-config --static --libs smswake | grep -q -- '-lssl.*-ljansson\|-ljansson.*-lssl'"

# The example, built from a copy outside the tree so only the installed header can be found. The
# library under test may carry the sanitizers (make check builds it so): build the program the
# same way, or its runtime would not come first.
san=
nm -D "$D/usr/lib/libsmswake.so.1" 2>/dev/null | grep -q __asan_ && san="-fsanitize=address,undefined"
cp client/examples/minimal.c "$T/minimal.c"
# shellcheck disable=SC2046,SC2086
check "minimal.c builds against the installed shared library" \
	cc $san -o "$T/minimal" "$T/minimal.c" $(pc --cflags --libs smswake)
# shellcheck disable=SC2046,SC2086
check "minimal.c builds against the installed static library" \
	cc $san -o "$T/minimal-static" "$T/minimal.c" $(pc --cflags smswake) "$D/usr/lib/libsmswake.a" \
	$(pc --static --libs smswake | sed 's/-lsmswake//')
check "the program uses the installed libsmswake.so.1" \
	sh -c "LD_LIBRARY_PATH='$D/usr/lib' ldd '$T/minimal' | grep -q '$D/usr/lib/libsmswake.so.1'"
# A forged wakeup: the library verifies and drops it without any network traffic (exit 0, and
# the reason on stderr).
for prog in minimal minimal-static; do
	LD_LIBRARY_PATH=$D/usr/lib "$T/$prog" SMSWAKE:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA \
		>"$T/$prog.out" 2>"$T/$prog.err"
	rc=$?
	check "$prog runs and drops a forged wakeup" test "$rc" -eq 0
	check "$prog says why" grep -q '^dropped: ' "$T/$prog.err"
done
finish
