# gateway/: smswake-gateway (leases wake jobs from the server, sends them through the modems).
GATEWAY_SRCS := $(wildcard gateway/*.c)
GATEWAY_OBJS := $(GATEWAY_SRCS:%.c=$(O)/%.o)
EXTRA_CFLAGS_gateway := $(call pc_cflags,libcurl jansson inih libmicrohttpd) -Imodem
GATEWAY_LIBS := $(call pc_libs,libcurl jansson inih libmicrohttpd) -lpthread

PROGRAMS += $(O)/smswake-gateway
INSTALL_SBIN += smswake-gateway
MANPAGES += docs/man/smswake-gateway.8

$(O)/smswake-gateway: $(GATEWAY_OBJS) $(O)/libmodem.a $(O)/libcommon.a
	$(CC) $(LDFLAGS) -o $@ $^ $(GATEWAY_LIBS) $(MODEM_LIBS)

# The dispatcher against a scripted transport: no modems, no server.
TEST_PROGRAMS += $(O)/tests/test_dispatch
$(O)/tests/unit/test_dispatch.o: EXTRA_CFLAGS_tests += -Igateway -Imodem
$(O)/tests/test_dispatch: $(O)/tests/unit/test_dispatch.o $(O)/gateway/dispatch.o $(O)/gateway/report.o \
		$(O)/gateway/conn.o $(O)/libmodem.a $(O)/libcommon.a
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(GATEWAY_LIBS) $(MODEM_LIBS)

# libFuzzer target on the reading of lease answers (what the server sends the gateway).
FUZZERS += $(O)/fuzz/fuzz-lease
FUZZ_LEASE_SRCS := gateway/lease.c gateway/dispatch.c gateway/report.c gateway/conn.c modem/modem_util.c \
	common/log.c common/util.c common/wire/encode.c common/json_u64.c common/wire/pdu.c
$(O)/fuzz/fuzz-lease: tests/fuzz/fuzz_lease.c $(FUZZ_LEASE_SRCS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Igateway -Imodem $(call pc_cflags,libcurl jansson) -o $@ $^ \
		$(call pc_libs,libcurl jansson)

# sendsms queries, smsbox's answers and delivery-report callbacks (gateway/kannel_msg.c).
TEST_PROGRAMS += $(O)/tests/test_kannel
$(O)/tests/unit/test_kannel.o: EXTRA_CFLAGS_tests += -Igateway -Imodem
$(O)/tests/test_kannel: $(O)/tests/unit/test_kannel.o $(O)/gateway/kannel_msg.o $(O)/libmodem.a $(O)/libcommon.a
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(MODEM_LIBS)

# libFuzzer target on the delivery-report callbacks Kannel (or anyone on the listener) sends.
FUZZERS += $(O)/fuzz/fuzz-kannel-dlr
$(O)/fuzz/fuzz-kannel-dlr: tests/fuzz/fuzz_kannel_dlr.c gateway/kannel_msg.c modem/modem_util.c common/wire/pdu.c \
		common/log.c common/util.c common/wire/encode.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Igateway -Imodem -o $@ $^
