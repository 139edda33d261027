#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# `make install` into a staging directory (DESTDIR, PREFIX=/usr): every program, library, header,
# manual page and document lands where it should, the library's pkg-config file is usable, the
# installed example (share/doc/smswake/examples/minimal.c) builds and runs against the installed
# copy only, shared and static as docs/client.md says, and the systemd units, sysusers and
# tmpfiles files name the programs where they were installed (systemd-analyze verify on the
# staging root). Then the same for the default PREFIX=/usr/local. The build under test is
# installed as it is (install-files: no rebuild).
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
	share/doc/smswake/api.md share/doc/smswake/operations.md share/doc/smswake/smswake.conf.example \
	share/doc/smswake/examples/minimal.c share/doc/smswake/examples/handler.sh \
	lib/systemd/system/smswake-server.service lib/systemd/system/smswake-gateway.service \
	lib/systemd/system/smswake-client.service lib/sysusers.d/smswake.conf lib/tmpfiles.d/smswake.conf; do
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
cp "$D/usr/share/doc/smswake/examples/minimal.c" "$T/minimal.c"
# The two link lines of docs/client.md ("Using the library"), word for word but for $san.
# shellcheck disable=SC2046,SC2086
check "the installed minimal.c builds against the installed shared library" \
	cc $san -o "$T/minimal" "$T/minimal.c" $(pc --cflags --libs smswake)
# shellcheck disable=SC2046,SC2086
check "the installed minimal.c builds against the installed static library" \
	cc $san -o "$T/minimal-static" "$T/minimal.c" $(pc --cflags smswake) \
	$(pc --libs --static smswake | sed 's/-lsmswake/-l:libsmswake.a/')
check "client.md shows those link lines" \
	grep -qF "\$(pkg-config --libs --static smswake | sed 's/-lsmswake/-l:libsmswake.a/')" docs/client.md
check "the program uses the installed libsmswake.so.1" \
	sh -c "LD_LIBRARY_PATH='$D/usr/lib' ldd '$T/minimal' | grep -q '$D/usr/lib/libsmswake.so.1'"
check "the static program needs no libsmswake.so" \
	sh -c "readelf -d '$T/minimal-static' | grep -q NEEDED && ! readelf -d '$T/minimal-static' | grep -q 'NEEDED.*smswake'"
# A forged wakeup: the library verifies and drops it without any network traffic (exit 0, and
# the reason on stderr).
for prog in minimal minimal-static; do
	LD_LIBRARY_PATH=$D/usr/lib "$T/$prog" SMSWAKE:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA \
		>"$T/$prog.out" 2>"$T/$prog.err"
	rc=$?
	check "$prog runs and drops a forged wakeup" test "$rc" -eq 0
	check "$prog says why" grep -q '^dropped: ' "$T/$prog.err"
done

# systemd: units, users and the state directory, checked on a staging root that holds the
# installed tree and the host's own units (sysinit.target and the like, which verify loads).
# verify_root ROOT PREFIX: one set of checks for an installation with that PREFIX.
# execs_under UNIT PREFIX: the unit has an ExecStart, and every Exec line runs PREFIX/bin or sbin.
execs_under()
{
	grep -q '^ExecStart=' "$1" && ! grep '^Exec' "$1" | grep -v "^Exec[A-Za-z]*=$2/s\{0,1\}bin/" | grep -q .
}
verify_root()
{
	r=$1
	p=$2
	u=$r$p/lib/systemd/system
	for unit in smswake-server smswake-gateway smswake-client; do
		check "$p: $unit.service starts programs under $p" execs_under "$u/$unit.service" "$p"
	done
	if ! command -v systemd-analyze >/dev/null; then
		not_ok "$p: systemd-analyze is installed (apt-get install systemd)"
		return
	fi
	mkdir -p "$r/etc" "$r/lib/systemd/system"
	cp -an /lib/systemd/system/. "$r/lib/systemd/system/"
	systemd-analyze verify --man=no --root="$r" smswake-server.service smswake-gateway.service \
		smswake-client.service >"$T/verify.out" 2>&1
	rc=$?
	sed 's/^/# /' "$T/verify.out"
	check "$p: systemd-analyze verify passes the units" test "$rc" -eq 0
	check "$p: ... with nothing to say about them" test ! -s "$T/verify.out"
	check "$p: systemd-sysusers creates the users" \
		sh -c "systemd-sysusers --root='$r' smswake.conf >/dev/null 2>&1 && grep -q '^smswake:' '$r/etc/passwd' && grep -q '^smswake-gw:' '$r/etc/passwd' && grep -q '^smswake-client:' '$r/etc/passwd'"
	check "$p: systemd-tmpfiles creates the state directories" \
		systemd-tmpfiles --root="$r" --create smswake.conf
	uid=$(awk -F: '$1 == "smswake" {print $3}' "$r/etc/passwd")
	check "$p: /var/lib/smswake is 0700 and the server's" test "$(stat -c '%a %u' "$r/var/lib/smswake")" = "700 $uid"
}
verify_root "$D" /usr
check "make install-files DESTDIR=... (PREFIX=/usr/local)" \
	make --no-print-directory -s O="$BUILD" DESTDIR="$T/local" install-files
check "PREFIX=/usr/local: units in /usr/local/lib/systemd/system, where systemd looks" \
	test -f "$T/local/usr/local/lib/systemd/system/smswake-server.service"
verify_root "$T/local" /usr/local
# A unit that names a program that is not there must fail verify: the check above means it.
sed -i 's|^ExecStart=/usr/local/sbin/|ExecStart=/usr/sbin/|' "$T/local/usr/local/lib/systemd/system/smswake-server.service"
check "verify refuses a unit whose program is missing" \
	sh -c "! systemd-analyze verify --man=no --root='$T/local' smswake-server.service >/dev/null 2>&1"
finish
