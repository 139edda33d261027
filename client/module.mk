# client/: libsmswake (the device library, MIT: client/include, client/lib and the MIT common/wire/
# files it compiles in) and smswake-client (the CLI, GPL-2.0-or-later). The wakeup codec's own
# tests are in common/module.mk.
EXTRA_CFLAGS_client := $(call pc_cflags,libssl jansson libcrypto inih)
OBJCOPY ?= objcopy

CLIENT_LIB_SRCS := $(wildcard client/lib/*.c)
# libsmswake depends on OpenSSL (libssl, libcrypto) and jansson only: no libgammu, no common/log.c.
# common/wire/pdu.c (MIT, libc only) decodes the SMS-DELIVER TPDU.
# common/wire/ece.c (MIT) decrypts end-to-end encrypted (aes128gcm, Web Push) message bodies.
CLIENT_COMMON_SRCS := common/wire/wake.c common/wire/crypto.c common/wire/encode.c common/wire/pdu.c common/wire/ece.c
CLIENT_LIB_OBJS := $(CLIENT_LIB_SRCS:%.c=$(O)/%.o) $(CLIENT_COMMON_SRCS:%.c=$(O)/%.o)
CLIENT_LIB_LIBS := $(call pc_libs,libssl jansson libcrypto)
CLIENT_CLI_SRCS := client/smswake-client.c $(wildcard client/cli_*.c)
# The CLI is GPL and may use the daemon helpers: common/log.c for its messages, and for its own
# modem (client/cli_source_modem.c) the modem supervisor, which runs smswake-modem-worker per
# modem. Only the supervisor's objects are linked, not libmodem.a: smswake-client itself never
# links libgammu; the worker process does.
CLIENT_MODEM_OBJS := $(SUPERVISOR_OBJS) $(O)/modem/worker_proto.o $(O)/modem/modem_util.o \
	$(O)/modem/modem_ini.o $(O)/common/util.o $(O)/common/inifile.o $(O)/common/wire/pdu.o $(O)/common/wire/encode.o
CLIENT_CLI_OBJS := $(CLIENT_CLI_SRCS:%.c=$(O)/%.o) $(O)/common/log.o $(O)/common/version.o $(CLIENT_MODEM_OBJS)
$(O)/client/cli_source_modem.o: CFLAGS += -Imodem

# The installed archive holds one relocatable object in which every global symbol but the
# smswake_* API is made local, so the common/ helpers it carries (crypto_*, enc_*, wake_*) cannot
# clash with an embedding application's symbols. Tests link the plain objects instead.
$(O)/client/libsmswake-all.o: $(CLIENT_LIB_OBJS)
	$(LD) -r -o $@ $^
	$(OBJCOPY) -w --keep-global-symbol='smswake_*' $@

$(O)/libsmswake.a: $(O)/client/libsmswake-all.o
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $^

$(O)/client/libsmswake-internal.a: $(CLIENT_LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $^

# Shared library from position-independent objects of the same sources.
$(O)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC $(call floor,$<) $(EXTRA_CFLAGS_$(firstword $(subst /, ,$<))) -c $< -o $@

$(O)/libsmswake.so.1: client/lib/libsmswake.map $(CLIENT_LIB_SRCS:%.c=$(O)/pic/%.o) $(CLIENT_COMMON_SRCS:%.c=$(O)/pic/%.o)
	$(CC) -shared -Wl,-soname,libsmswake.so.1 -Wl,--no-undefined -Wl,--version-script=client/lib/libsmswake.map $(LDFLAGS) -o $@ $(filter %.o,$^) $(CLIENT_LIB_LIBS)

$(O)/libsmswake.so: $(O)/libsmswake.so.1
	ln -sf libsmswake.so.1 $@

$(O)/smswake-client: $(CLIENT_CLI_OBJS) $(O)/libsmswake.a | $(O)/smswake-modem-worker
	$(CC) $(LDFLAGS) -o $@ $^ $(call pc_libs,inih) $(CLIENT_LIB_LIBS)

$(O)/client/examples/minimal: $(O)/client/examples/minimal.o $(O)/libsmswake.a
	$(CC) $(LDFLAGS) -o $@ $^ $(CLIENT_LIB_LIBS)

PROGRAMS += $(O)/smswake-client $(O)/libsmswake.a $(O)/libsmswake.so $(O)/client/examples/minimal
INSTALL_BIN += smswake-client
INSTALL_LIB += libsmswake.a libsmswake.so.1
INSTALL_INCLUDE += client/include/smswake.h
INSTALL_PC += client/smswake.pc.in
MANPAGES += docs/man/smswake-client.1
INSTALL_DOC += docs/client.md docs/protocol.md docs/webpush.md
INSTALL_EXAMPLES += client/examples/minimal.c client/examples/handler.sh

# --- tests ---
# In-test HTTP server for the device API: libmicrohttpd.
TEST_CLIENT_LIBS = $(CMOCKA_LIBS) $(call pc_libs,libmicrohttpd) $(CLIENT_LIB_LIBS)

$(O)/tests/unit/test_client: $(O)/tests/unit/test_client.o $(O)/tests/unit/test_client_server.o $(O)/client/libsmswake-internal.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(TEST_CLIENT_LIBS)

$(O)/tests/unit/test_client_fetch: $(O)/tests/unit/test_client_fetch.o $(O)/tests/unit/test_client_server.o \
	$(O)/common/wire/ece_encrypt.o $(O)/client/libsmswake-internal.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(TEST_CLIENT_LIBS)

# HTTP framing and connection handling against a scripted raw TCP server: no libmicrohttpd.
$(O)/tests/unit/test_client_http: $(O)/tests/unit/test_client_http.o $(O)/client/libsmswake-internal.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(CLIENT_LIB_LIBS) -lpthread

$(O)/tests/unit/test_client.o $(O)/tests/unit/test_client_fetch.o $(O)/tests/unit/test_client_server.o \
	$(O)/tests/unit/test_client_http.o: EXTRA_CFLAGS_tests += $(call pc_cflags,libmicrohttpd jansson) -Iclient/lib

$(O)/fuzz/fuzz-client: tests/fuzz/fuzz_client.c $(CLIENT_LIB_SRCS) $(CLIENT_COMMON_SRCS) client/cli_provision.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Iclient/lib -Iclient $(call pc_cflags,jansson) -o $@ $^ $(CLIENT_LIB_LIBS)

# The test vectors of docs/protocol.md, read out of the document (run from the source tree).
$(O)/tests/unit/test_client_vectors: $(O)/tests/unit/test_client_vectors.o $(O)/client/libsmswake-internal.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(CLIENT_LIB_LIBS)

$(O)/tests/unit/test_client_vectors.o: EXTRA_CFLAGS_tests += -Iclient/lib

TEST_PROGRAMS += $(O)/tests/unit/test_client $(O)/tests/unit/test_client_fetch $(O)/tests/unit/test_client_http \
	$(O)/tests/unit/test_client_vectors
FUZZERS += $(O)/fuzz/fuzz-client

# --- integration tests (tests/integration/client_lib.sh is sourced by them, not run) ---
# The same vectors checked by an implementation written from the document alone (Python 3,
# standard library only).
TEST_SCRIPTS += tests/unit/test_protocol.py
# make fuzz-report's script on the device side's fuzz targets (built by make check).
TEST_SCRIPTS += tests/integration/client_fuzz_report.sh
TEST_SCRIPTS += tests/integration/client_sms.sh tests/integration/client_poll.sh \
	tests/integration/client_tls.sh tests/integration/client_modem.sh tests/integration/client_rekey.sh \
	tests/integration/client_encrypted.sh tests/integration/client_webpush_node.sh

# --- aes128gcm and Web Push encryption (common/wire/ece.c, the test encryptor common/wire/ece_encrypt.c) ---
ECE_OBJS := $(O)/common/wire/ece.o $(O)/common/wire/ece_encrypt.o $(O)/common/wire/crypto.o $(O)/common/wire/encode.o

$(O)/tests/unit/test-ece: $(O)/tests/unit/test_ece.o $(ECE_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(call pc_libs,libcrypto)

# ece-tool: the same code from the command line, for test_ece_python.py (an independent
# implementation over Python's cryptography package). Built with the programs; not installed.
PROGRAMS += $(O)/tests/unit/ece-tool
$(O)/tests/unit/ece-tool: $(O)/tests/unit/ece_tool.o $(ECE_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pc_libs,libcrypto)

$(O)/tests/unit/test_ece.o $(O)/tests/unit/ece_tool.o: EXTRA_CFLAGS_tests += -Icommon

TEST_PROGRAMS += $(O)/tests/unit/test-ece
TEST_SCRIPTS += tests/unit/test_ece_python.py

$(O)/fuzz/fuzz-ece: tests/fuzz/fuzz_ece.c common/wire/ece.c common/wire/crypto.c common/wire/encode.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $^ $(call pc_libs,libcrypto)

FUZZERS += $(O)/fuzz/fuzz-ece
