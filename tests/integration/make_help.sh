#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The build explains itself: `make help` lists the targets and variables, and a T= that matches no
# test fails and lists the test names instead of reporting "0 passed, 0 failed".
. tests/integration/lib_tap.sh
T=$(mktemp -d "${TMPDIR:-/tmp}/smswake-help.XXXXXX")
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP PIPE

make --no-print-directory -s help >"$T/help"
check "make help exits 0" test $? -eq 0
for word in check run-tests demo demo-stop bench install install-files lint fuzz fuzz-report deps webpush-deps clean \
	'O=' 'T=' 'TEST_JOBS=' 'FUZZ_SECONDS=' 'PREFIX=' 'DESTDIR=' 'DEMO_KEEP=' 'DEMO_DIR=' 'SANITIZE=' 'JOBS='; do
	check "make help names $word" grep -q "^  $word" "$T/help"
done
check "make help says where test logs go" grep -q 'test-logs' "$T/help"
check "README says where test logs go" grep -q 'build/asan/test-logs/' README.md

# One naming convention for test programs: test_NAME.
printf 'print-tests:\n\t@echo $(TEST_PROGRAMS)\n' | make -s --no-print-directory -f Makefile -f - print-tests >"$T/tests"
check "the Makefile lists test programs" test -s "$T/tests"
for t in $(cat "$T/tests"); do
	case "$(basename "$t")" in
	test_*) ;;
	*) not_ok "test program $(basename "$t") is named test_NAME" ;;
	esac
done
check "every test program is named test_NAME" sh -c "! tr ' ' '\n' <'$T/tests' | sed 's|.*/||' | grep -v '^test_' | grep -q ."

# Two stand-in tests that pass: the runner with a T= that selects one, none, and all.
mkdir -p "$T/logs" "$T/t"
printf 'echo "ok - fine"\n' >"$T/t/alpha_one.sh"
printf 'echo "ok - fine"\n' >"$T/t/beta_two.sh"
O=$T/logs T=beta sh tests/run-tests.sh "$T/t/alpha_one.sh" "$T/t/beta_two.sh" >"$T/one" 2>&1
check "T=beta runs one test and passes" grep -q '^1 passed, 0 failed' "$T/one"
# A test that skips (something it needs is missing) is counted as skipped, never as passed.
printf 'echo "SKIP gamma_three.sh: needs a thing"\n' >"$T/t/gamma_three.sh"
O=$T/logs T=gamma sh tests/run-tests.sh "$T/t/gamma_three.sh" >"$T/skip" 2>&1
check "a SKIP line counts as skipped" grep -q '^0 passed, 0 failed, 1 skipped' "$T/skip"
check "the skip says why" grep -q '^skip gamma_three.sh: needs a thing' "$T/skip"
O=$T/logs T=nomatch sh tests/run-tests.sh "$T/t/alpha_one.sh" "$T/t/beta_two.sh" >"$T/none" 2>&1
check "T=nomatch exits 1" test $? -eq 1
sed 's/^/# /' "$T/none"
check "T=nomatch says that nothing matched" grep -q "no test name contains 'nomatch'" "$T/none"
check "T=nomatch lists the tests" sh -c "grep -q '^  alpha_one.sh' '$T/none' && grep -q '^  beta_two.sh' '$T/none'"
check "T=nomatch does not report a pass" sh -c "! grep -q 'passed' '$T/none'"
finish
