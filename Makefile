# smswake: one GNU Makefile. Parts add their sources, programs and tests in <part>/module.mk.
#
#   make            build everything into $(O) (default build/)
#   make check      build with AddressSanitizer + UndefinedBehaviorSanitizer into $(O)/asan and run
#                   every test (unit, integration, brief fuzzing); T=substring runs a subset
#   make demo       install what is missing, build, run the system on its embedded defaults
#   make bench      run the benchmarks and print one table
#   make fuzz-report  run every fuzz target FUZZ_SECONDS (default 10) from its seed corpus and print
#                   per target executions per second, coverage (cov, ft) and corpus size
#   make deps       install the Debian packages that are missing (idempotent, no prompt)
#   make help       every target and variable

O ?= build
PREFIX ?= /usr/local
DESTDIR ?=
# systemd's own directories under PREFIX: /usr/lib/... for PREFIX=/usr, /usr/local/lib/... for
# the default; systemd searches both (docs/operations.md, "systemd units").
SYSTEMD_UNIT_DIR ?= $(PREFIX)/lib/systemd/system
SYSUSERS_DIR ?= $(PREFIX)/lib/sysusers.d
TMPFILES_DIR ?= $(PREFIX)/lib/tmpfiles.d
SANITIZE ?=
T ?=
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

# The release every program reports with --version and the pkg-config file carries: one place.
SMSWAKE_VERSION := $(shell cat VERSION)

CC ?= cc
PKG_CONFIG ?= pkg-config
PKGS_ALL := libmicrohttpd jansson inih sqlite3 libcrypto libcurl gammu cmocka

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 $(WARN) -MMD -MP
LDFLAGS ?=
ifeq ($(SANITIZE),1)
CFLAGS += -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

# Build floors (docs/architecture.md, "Floors"): each part sees its own headers and those of the
# floors below it, nothing above, so a part reaching up fails to compile. FLOOR_<dir> is looked up
# for a source's directory (client/lib: FLOOR_client_lib), then for its part (FLOOR_client).
FLOOR_common_wire := -Icommon/wire
FLOOR_common := -Icommon -Icommon/wire
FLOOR_store := -Istore -Icommon -Icommon/wire
# A backend sees its own headers and the seam (store/backend.h), not the other backend's.
FLOOR_store_sqlite := -Istore/sqlite -Istore -Icommon -Icommon/wire
FLOOR_store_pg := -Istore/pg -Istore -Icommon -Icommon/wire
FLOOR_modem := -Imodem -Icommon -Icommon/wire
FLOOR_modem_sim := -Imodem/sim -Icommon -Icommon/wire
FLOOR_client_lib := -Iclient/lib -Iclient/include -Icommon/wire
FLOOR_client_examples := -Iclient/include
FLOOR_client := -Iclient -Iclient/include -Icommon -Icommon/wire
FLOOR_fetch-server := -Ifetch-server -Istore -Icommon -Icommon/wire
FLOOR_gateway := -Igateway -Imodem -Icommon -Icommon/wire
# Tests and benchmarks look at every floor.
FLOOR_ALL := -Icommon -Icommon/wire -Istore -Iclient/include
FLOOR_tests := $(FLOOR_ALL)
FLOOR_bench := $(FLOOR_ALL)
floor = $(or $(FLOOR_$(subst /,_,$(patsubst %/,%,$(dir $(1))))),$(FLOOR_$(firstword $(subst /, ,$(1)))))

pc_cflags = $(shell $(PKG_CONFIG) --cflags $(1) 2>/dev/null)
# Fuzz targets are built by clang with libFuzzer straight from their sources.
FUZZ_CC ?= clang
FUZZ_CFLAGS := -g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined $(FLOOR_ALL) \
	-DSMSWAKE_VERSION='"$(SMSWAKE_VERSION)"'
pc_libs = $(shell $(PKG_CONFIG) --libs $(1) 2>/dev/null)

# Filled in by module.mk files.
PROGRAMS :=
TEST_PROGRAMS :=
TEST_SCRIPTS :=
FUZZERS :=
MANPAGES :=
INSTALL_PC :=
INSTALL_EXAMPLES :=
BENCHES :=

.PHONY: print-floor all check run-tests demo demo-stop bench deps lint format install install-files clean fuzz asan fuzz-report help webpush-deps
all:

include common/module.mk
include store/module.mk
include fetch-server/module.mk
include modem/module.mk
include modem/worker.mk
include gateway/module.mk
include client/module.mk
include tests/module.mk
include bench/module.mk

all: $(PROGRAMS) $(TEST_PROGRAMS) $(BENCHES)

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(call floor,$<) $(EXTRA_CFLAGS_$(firstword $(subst /, ,$<))) -c $< -o $@

# Tests run against sanitizer builds. ASAN_OPTIONS make leaks and errors fatal.
check:
	@$(MAKE) --no-print-directory -j$(JOBS) SANITIZE=1 O=$(O)/asan all fuzz
	@$(MAKE) --no-print-directory SANITIZE=1 O=$(O)/asan run-tests

asan: check

run-tests: all fuzz
	@O=$(O) T='$(T)' FUZZ_SECONDS=$${FUZZ_SECONDS:-5} sh tests/run-tests.sh $(TEST_PROGRAMS) $(TEST_SCRIPTS) $(FUZZERS)

demo: deps
	@$(MAKE) --no-print-directory -j$(JOBS) all
	@O=$(O) sh tests/demo.sh

demo-stop:
	@sh tests/demo.sh stop

bench: deps
	@$(MAKE) --no-print-directory -j$(JOBS) all
	@O=$(O) sh bench/run-bench.sh

DEB_PACKAGES := build-essential pkg-config clang libclang-rt-14-dev libmicrohttpd-dev libjansson-dev \
	libinih-dev libsqlite3-dev sqlite3 libssl-dev libcurl4-openssl-dev libgammu-dev gammu gammu-smsd \
	libcmocka-dev curl wrk cppcheck clang-format openssl time procps python3 python3-yaml python3-jsonschema \
	python3-cryptography nodejs systemd kannel kannel-extras libpq-dev postgresql

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

LINT_SRCS = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
# The npm web-push library for tests/unit/test_webpush_node.sh, in a test-local folder (needs
# nodejs and npm, and the npm registry; CI without it reports that test as skipped).
NODE_DIR ?= build/node
webpush-deps:
	npm install --no-audit --no-fund --fetch-retries=1 --fetch-timeout=20000 --prefix $(NODE_DIR) web-push@3.6.7

lint:
	clang-format --dry-run --Werror $(LINT_SRCS)
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability --inline-suppr \
	  --suppress=missingIncludeSystem --suppress=unknownMacro \
	  --suppress=constStatement:tests/unit/test_modem_supervisor.c \
	  -I common -I common/wire -I store -I client/include $(LINT_SRCS)

format:
	clang-format -i $(LINT_SRCS)

# install-files copies what `all` built (tests/integration/install.sh runs it on its own).
install: all
	@$(MAKE) --no-print-directory install-files

install-files:
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/man/man1 \
	  $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man8 \
	  $(DESTDIR)$(PREFIX)/share/doc/smswake $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include
	for p in $(INSTALL_SBIN); do install -m 0755 $(O)/$$p $(DESTDIR)$(PREFIX)/sbin/; done
	for p in $(INSTALL_BIN); do install -m 0755 $(O)/$$p $(DESTDIR)$(PREFIX)/bin/; done
	for m in $(MANPAGES); do s=$${m##*.}; install -m 0644 $$m $(DESTDIR)$(PREFIX)/share/man/man$$s/; done
	for f in $(INSTALL_DOC); do install -m 0644 $$f $(DESTDIR)$(PREFIX)/share/doc/smswake/; done
	for f in $(INSTALL_LIB); do install -m 0644 $(O)/$$f $(DESTDIR)$(PREFIX)/lib/; \
	  case $$f in *.so.*) ln -sf $$f $(DESTDIR)$(PREFIX)/lib/$${f%%.so.*}.so;; esac; done
	for f in $(INSTALL_PC); do sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(SMSWAKE_VERSION)|' $$f \
	  >$(DESTDIR)$(PREFIX)/lib/pkgconfig/$$(basename $$f .in); done
	for f in $(INSTALL_INCLUDE); do install -m 0644 $$f $(DESTDIR)$(PREFIX)/include/; done
	install -d $(DESTDIR)$(PREFIX)/share/doc/smswake/examples $(DESTDIR)$(SYSTEMD_UNIT_DIR) \
	  $(DESTDIR)$(SYSUSERS_DIR) $(DESTDIR)$(TMPFILES_DIR)
	for f in $(INSTALL_EXAMPLES); do install -m 0644 $$f $(DESTDIR)$(PREFIX)/share/doc/smswake/examples/; done
	for f in contrib/systemd/*.service.in; do \
	  sed -e 's|@bindir@|$(PREFIX)/bin|g' -e 's|@sbindir@|$(PREFIX)/sbin|g' $$f \
	    >$(DESTDIR)$(SYSTEMD_UNIT_DIR)/$$(basename $$f .in) && chmod 0644 $(DESTDIR)$(SYSTEMD_UNIT_DIR)/$$(basename $$f .in); done
	install -m 0644 contrib/systemd/smswake.sysusers $(DESTDIR)$(SYSUSERS_DIR)/smswake.conf
	install -m 0644 contrib/systemd/smswake.tmpfiles $(DESTDIR)$(TMPFILES_DIR)/smswake.conf

clean:
	rm -rf $(O)

help:
	@echo 'Targets:'
	@echo '  all (default)  build every program, library and test into O'
	@echo '  check          build with ASan+UBSan into O/asan and run every test; logs in O/asan/test-logs/'
	@echo '  run-tests      run the tests of the build in O as it is (check runs it on O/asan)'
	@echo '  demo           install missing packages, build, run the whole system on loopback'
	@echo '  demo-stop      stop a demo kept running with DEMO_KEEP=1'
	@echo '  bench          run the benchmarks and print one table'
	@echo '  fuzz           build the libFuzzer targets'
	@echo '  fuzz-report    run each fuzz target FUZZ_SECONDS from its corpus; speed, coverage, corpus size'
	@echo '  lint           clang-format --dry-run and cppcheck on the sources'
	@echo '  format         clang-format the sources in place'
	@echo '  install        build, then install into DESTDIR/PREFIX'
	@echo '  install-files  install what is built, without building'
	@echo '  deps           install the Debian packages that are missing'
	@echo '  print-floor    SRC=path: the include paths (build floor) a source there gets'
	@echo '  webpush-deps   npm install web-push into NODE_DIR (default build/node) for its interop test'
	@echo '  clean          remove O'
	@echo 'Variables:'
	@echo '  O=DIR          build directory (default build)'
	@echo '  T=SUBSTRING    check/run-tests: only the tests whose file name contains it'
	@echo '  TEST_JOBS=N    tests run at a time (default 3; the suite is checked at 4 on 2 cores)'
	@echo '  B=SUBSTRING    bench: only the benchmarks whose file name contains it'
	@echo '  FUZZ_SECONDS=N how long each fuzz target runs (check: default 5, fuzz-report: 10)'
	@echo '  JOBS=N         parallel compile jobs (default: number of CPUs)'
	@echo '  SANITIZE=1     build with ASan+UBSan (check sets it)'
	@echo '  PREFIX=DIR     install prefix (default /usr/local)'
	@echo '  DESTDIR=DIR    stage the install under DIR (for packaging)'
	@echo '  SYSTEMD_UNIT_DIR=, SYSUSERS_DIR=, TMPFILES_DIR='
	@echo '                 default PREFIX/lib/systemd/system, PREFIX/lib/sysusers.d, PREFIX/lib/tmpfiles.d'
	@echo '  DEMO_KEEP=1    demo: leave everything running (make demo-stop stops it)'
	@echo '  DEMO_DIR=DIR   demo: where its data and logs go (default demo-data)'

fuzz: $(FUZZERS)

# make print-floor SRC=gateway/x.c: the include paths a source there gets (tests/integration/build_floors.sh).
print-floor:
	@echo $(call floor,$(SRC))

# Built as for `make check` (a target that does not build is reported, not skipped).
fuzz-report:
	@$(MAKE) --no-print-directory -k -j$(JOBS) SANITIZE=1 O=$(O)/asan fuzz || true
	@O=$(O)/asan FUZZ_SECONDS=$${FUZZ_SECONDS:-10} sh tests/fuzz/report.sh $(patsubst $(O)/%,$(O)/asan/%,$(FUZZERS))

-include $(shell find $(O) -name '*.d' -type f 2>/dev/null)
