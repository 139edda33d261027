# tests/: unit tests live in tests/unit, integration scripts in tests/integration, fuzz targets
# in tests/fuzz. Each part's module.mk adds its own; this file holds the shared pieces.
CMOCKA_LIBS := $(call pc_libs,cmocka)

# Integration test harness (real server processes) and the HTTP API tests.
TESTLIB_OBJS := $(O)/tests/lib/testsrv.o
EXTRA_CFLAGS_tests += $(call pc_cflags,libcurl jansson cmocka) -Itests/lib -Ifetch-server
TESTLIB_LIBS := $(call pc_libs,libcurl jansson) $(CMOCKA_LIBS)

TEST_PROGRAMS += $(O)/tests/test_http
$(O)/tests/test_http: $(O)/tests/integration/test_http.o $(TESTLIB_OBJS) $(O)/libstore.a $(O)/libcommon.a | $(O)/smswake-server $(O)/smswakectl
	$(CC) $(LDFLAGS) -o $@ $^ $(TESTLIB_LIBS) $(STORE_LIBS) $(call pc_libs,libcrypto) -lpthread

TEST_PROGRAMS += $(O)/tests/test_crash
$(O)/tests/test_crash: $(O)/tests/integration/test_crash.o $(TESTLIB_OBJS) | $(O)/smswake-server $(O)/smswakectl
	$(CC) $(LDFLAGS) -o $@ $^ $(TESTLIB_LIBS) -lpthread

TEST_PROGRAMS += $(O)/tests/test_policy
$(O)/tests/test_policy: $(O)/tests/unit/test_policy.o $(O)/fetch-server/policy.o $(O)/fetch-server/config.o $(O)/libcommon.a
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(call pc_libs,inih libcrypto)

# The long-poll registry alone, with libmicrohttpd's suspend and resume replaced by counters.
TEST_PROGRAMS += $(O)/tests/test_longpoll
$(O)/tests/test_longpoll: $(O)/tests/unit/test_longpoll.o $(O)/fetch-server/longpoll.o $(O)/libcommon.a
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) -lpthread

# The route table's unit test links the server's objects (without main) for the real handlers.
TEST_PROGRAMS += $(O)/tests/test_routes
$(O)/tests/test_routes: $(O)/tests/unit/test_routes.o $(filter-out $(O)/fetch-server/main.o,$(SERVER_OBJS)) \
		$(O)/libstore.a $(O)/libcommon.a
	$(CC) $(LDFLAGS) -o $@ $^ $(SERVER_LIBS) $(STORE_LIBS) $(CMOCKA_LIBS)

TEST_PROGRAMS += $(O)/tests/test_webhooks
$(O)/tests/test_webhooks: $(O)/tests/unit/test_webhooks.o $(filter-out $(O)/fetch-server/main.o,$(SERVER_OBJS)) \
		$(O)/libstore.a $(O)/libcommon.a
	$(CC) $(LDFLAGS) -o $@ $^ $(SERVER_LIBS) $(STORE_LIBS) $(CMOCKA_LIBS)

TEST_PROGRAMS += $(O)/tests/test_scheduler
$(O)/tests/test_scheduler: $(O)/tests/integration/test_scheduler.o $(TESTLIB_OBJS) $(O)/libcommon.a | $(O)/smswake-server $(O)/smswakectl
	$(CC) $(LDFLAGS) -o $@ $^ $(TESTLIB_LIBS) $(call pc_libs,libcrypto) -lpthread

# Whole-chain tests: server, gateway, modem workers and the simulator together.
TEST_SCRIPTS += tests/integration/chain_gateway.sh
TEST_SCRIPTS += tests/integration/chain_outage.sh
TEST_SCRIPTS += tests/integration/chain_maybe_sent.sh
TEST_SCRIPTS += tests/integration/chain_kannel.sh
TEST_SCRIPTS += tests/integration/chain_multi_pg.sh
# Several servers on one PostgreSQL: budgets across schedulers, a server SIGKILLed holding leases.
TEST_SCRIPTS += tests/integration/chain_scaleout_pg.sh
TEST_SCRIPTS += tests/integration/e2e_store.sh
TEST_SCRIPTS += tests/integration/multi_server_pg.sh
TEST_SCRIPTS += tests/integration/migrate_pg.sh
# The provider and device APIs main added (webhooks, events, fleets, the poll path) on PostgreSQL.
TEST_SCRIPTS += tests/integration/webhooks_pg.sh tests/integration/events_pg.sh tests/integration/fleets_pg.sh \
	tests/integration/client_poll_pg.sh
# test_http's cases (every route, limits, long-polls, store reads) with its servers on PostgreSQL.
TEST_SCRIPTS += tests/integration/test_http_pg.sh
TEST_SCRIPTS += tests/integration/e2e_radio.sh
TEST_SCRIPTS += tests/integration/server_listeners.sh
TEST_SCRIPTS += tests/integration/webhooks.sh
TEST_SCRIPTS += tests/integration/events.sh
TEST_SCRIPTS += tests/integration/fleets.sh
# docs/openapi.yaml and the route table agree; the document is valid OpenAPI 3.1.
TEST_SCRIPTS += tests/integration/openapi.sh
TEST_SCRIPTS += tests/integration/openapi_meta.sh
# The provider examples of docs/examples/ run against a live server.
TEST_SCRIPTS += tests/integration/examples.sh
TEST_SCRIPTS += tests/integration/server_tls.sh
TEST_SCRIPTS += tests/integration/server_files.sh
TEST_SCRIPTS += tests/integration/install.sh

TEST_PROGRAMS += $(O)/tests/test_hostile
$(O)/tests/test_hostile: $(O)/tests/integration/test_hostile.o $(TESTLIB_OBJS) | $(O)/smswake-server $(O)/smswakectl
	$(CC) $(LDFLAGS) -o $@ $^ $(TESTLIB_LIBS) -lpthread

# The build enforces the floors of docs/architecture.md.
TEST_SCRIPTS += tests/integration/build_floors.sh
# What a user is shown works as typed: the build's help and test selection, journald priorities.
TEST_SCRIPTS += tests/integration/make_help.sh
# Every installed program answers --help and --version, and names what it did not understand.
TEST_SCRIPTS += tests/integration/programs_help.sh
# Error messages name what is at fault and what to do; -n checks what a start needs; the table of
# messages in docs/operations.md lists them (lib_messages.sh is sourced, not run).
TEST_SCRIPTS += tests/integration/errors_config.sh tests/integration/errors_client.sh \
	tests/integration/errors_gateway.sh
TEST_SCRIPTS += tests/integration/log_journal.sh
TEST_SCRIPTS += tests/integration/config_examples.sh
# make demo with DEMO_KEEP=1: every command it shows pastes and works (about 90 s).
TEST_SCRIPTS += tests/integration/demo_paste.sh
# The marked examples of docs/api.md, client.md and operations.md run against a live server.
TEST_SCRIPTS += tests/integration/doc_examples.sh
