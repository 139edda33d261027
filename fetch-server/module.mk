# fetch-server/: smswake-server (HTTP APIs, wake scheduler) and smswakectl (administration).
SERVER_SRCS := $(filter-out fetch-server/smswakectl.c,$(wildcard fetch-server/*.c))
SERVER_OBJS := $(SERVER_SRCS:%.c=$(O)/%.o)
EXTRA_CFLAGS_fetch-server := $(call pc_cflags,libmicrohttpd jansson inih libcrypto libcurl) -Ifetch-server
SERVER_LIBS := $(call pc_libs,libmicrohttpd jansson inih libcrypto libcurl) -lpthread

# Objects the admin tool shares with the server (configuration and token helpers).
CTL_OBJS := $(O)/fetch-server/smswakectl.o $(O)/fetch-server/config.o $(O)/fetch-server/keys.o

PROGRAMS += $(O)/smswake-server $(O)/smswakectl
INSTALL_SBIN += smswake-server smswakectl
MANPAGES += docs/man/smswake-server.8 docs/man/smswake.conf.5 docs/man/smswakectl.8
INSTALL_DOC += docs/smswake.conf.example docs/gateway.conf.example docs/api.md docs/operations.md \
	docs/architecture.md docs/security.md docs/modems.md

$(O)/smswake-server: $(SERVER_OBJS) $(O)/libstore.a $(O)/libcommon.a
	$(CC) $(LDFLAGS) -o $@ $^ $(SERVER_LIBS) $(STORE_LIBS)

$(O)/smswakectl: $(CTL_OBJS) $(O)/libstore.a $(O)/libcommon.a
	$(CC) $(LDFLAGS) -o $@ $^ $(SERVER_LIBS) $(STORE_LIBS)

# libFuzzer target on request handling: the server's objects (without main) in process.
FUZZERS += $(O)/fuzz/fuzz-http
FUZZ_HTTP_SRCS := $(filter-out fetch-server/main.c fetch-server/smswakectl.c,$(wildcard fetch-server/*.c)) \
	$(wildcard store/*.c store/sqlite/*.c store/pg/*.c) $(wildcard common/*.c) $(wildcard common/wire/*.c)
$(O)/fuzz/fuzz-http: tests/fuzz/fuzz_http.c $(FUZZ_HTTP_SRCS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Ifetch-server $(call pc_cflags,libmicrohttpd jansson inih sqlite3 libpq) -o $@ $^ \
		$(SERVER_LIBS) $(STORE_LIBS)

# VAPID verification as pure functions, against tokens signed by Python's cryptography.
TEST_PROGRAMS += $(O)/tests/unit/test_vapid
$(O)/tests/unit/test_vapid: $(O)/tests/unit/test_vapid.o $(O)/fetch-server/vapid.o $(O)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(call pc_libs,jansson libcrypto)

FUZZERS += $(O)/fuzz/fuzz-vapid
$(O)/fuzz/fuzz-vapid: tests/fuzz/fuzz_vapid.c fetch-server/vapid.c common/wire/ece.c common/wire/crypto.c common/wire/encode.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Ifetch-server $(call pc_cflags,jansson) -o $@ $^ $(call pc_libs,jansson libcrypto)

# vapid-tool: vapid_verify from the command line for test_webpush_node.sh. Not installed.
PROGRAMS += $(O)/tests/unit/vapid-tool
$(O)/tests/unit/vapid-tool: $(O)/tests/unit/vapid_tool.o $(O)/fetch-server/vapid.o $(O)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pc_libs,jansson libcrypto)
TEST_SCRIPTS += tests/unit/test_webpush_node.sh
