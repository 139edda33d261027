# modem/ worker library (libgammu) and supervisor: libmodem.a, smswake-modem-worker (one per
# modem), smswake-modem (operator and test CLI), their unit tests and integration scripts.
# The supervisor, by role: public API and event loop, job queues, worker processes, deadlines and
# the recovery ladder, health checks, incoming SMS and status reports, sends of unknown outcome.
SUPERVISOR_SRCS := modem/supervisor.c modem/supervisor_queue.c modem/supervisor_worker.c \
	modem/supervisor_ladder.c modem/supervisor_health.c modem/supervisor_reports.c \
	modem/supervisor_outcome.c
SUPERVISOR_OBJS := $(SUPERVISOR_SRCS:%.c=$(O)/%.o)
MODEM_SRCS := modem/modem_util.c modem/modem_gammu.c modem/worker_proto.c $(SUPERVISOR_SRCS) \
	modem/modem_ini.c
MODEM_OBJS := $(MODEM_SRCS:%.c=$(O)/%.o)
# Appended: the simulator's module.mk shares the "modem" folder key.
EXTRA_CFLAGS_modem += $(call pc_cflags,gammu) $(call pc_cflags,inih)
# Our tests and bench include modem headers only, but test_modem checks the Gammu error mapping.
$(O)/tests/unit/test_modem.o $(O)/tests/unit/test_modem_%.o $(O)/bench/modem_%.o: CFLAGS += -Imodem $(call pc_cflags,gammu)
MODEM_LIBS := $(call pc_libs,gammu) $(call pc_libs,inih)

$(O)/libmodem.a: $(MODEM_OBJS)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(O)/smswake-modem-worker: $(O)/modem/worker.o $(O)/libmodem.a $(O)/libcommon.a
	$(CC) $(LDFLAGS) -o $@ $^ $(MODEM_LIBS)

$(O)/smswake-modem: $(O)/modem/cli.o $(O)/libmodem.a $(O)/libcommon.a
	$(CC) $(LDFLAGS) -o $@ $^ $(MODEM_LIBS)

PROGRAMS += $(O)/smswake-modem-worker $(O)/smswake-modem
# The worker goes to bin: both the gateway (sbin) and smswake-client (bin) start it, from next
# to themselves or from PATH.
INSTALL_BIN += smswake-modem-worker
INSTALL_SBIN += smswake-modem
MANPAGES += docs/man/smswake-modem.8

MODEM_UNIT_TESTS := test_modem test_modem_proto test_modem_supervisor
$(foreach t,$(MODEM_UNIT_TESTS),$(eval $(O)/tests/unit/$(t): $(O)/tests/unit/$(t).o $(O)/libmodem.a $(O)/libcommon.a ; \
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(MODEM_LIBS) $$(CMOCKA_LIBS)))
TEST_PROGRAMS += $(MODEM_UNIT_TESTS:%=$(O)/tests/unit/%)
# The supervisor tests start the worker binary.
$(O)/tests/unit/test_modem_supervisor: | $(O)/smswake-modem-worker

TEST_SCRIPTS += $(filter-out %/modem_lib.sh,$(sort $(wildcard tests/integration/modem_*.sh)))
# The gateway through every simulator modem profile (needs the server and gateway as well).
TEST_SCRIPTS += tests/integration/chain_profiles.sh

# Modem-layer benchmark (bench/bench-modem.sh): a bare GSM_SendSMS loop on one state machine
# (modem-raw, here because only modem/ includes gammu.h) and the same sends through the
# supervisor and its workers (modem-layer, which starts $(O)/smswake-modem-worker).
$(O)/bench/modem-raw: $(O)/modem/bench_raw.o $(O)/libmodem.a $(O)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(MODEM_LIBS)

$(O)/bench/modem-layer: $(O)/modem/bench_layer.o $(O)/libmodem.a $(O)/libcommon.a | $(O)/smswake-modem-worker
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(MODEM_LIBS)

BENCHES += $(O)/bench/modem-raw $(O)/bench/modem-layer

# The worker's own parsers of modem answers (modem_util.c has no Gammu in it).
FUZZERS += $(O)/fuzz/fuzz-modem-at
$(O)/fuzz/fuzz-modem-at: tests/fuzz/fuzz_modem_at.c modem/modem_util.c modem/modem.h common/wire/pdu.c common/wire/encode.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Imodem -o $@ tests/fuzz/fuzz_modem_at.c modem/modem_util.c common/wire/pdu.c common/wire/encode.c
