# common/: helpers shared by every part (logging, clocks, codecs, crypto wrappers).
# common/wire/ (MIT): the wire formats libsmswake compiles in (wakeup codec, SMS PDU codec, hex and
# base64, HMAC and key derivation). common/ (GPL): the daemons' helpers (logging, clocks and
# parsing, INI files, JSON numbers, the version). libcommon.a carries both for the daemons.
COMMON_SRCS := $(wildcard common/*.c) $(wildcard common/wire/*.c)
COMMON_OBJS := $(COMMON_SRCS:%.c=$(O)/%.o)
EXTRA_CFLAGS_common := $(call pc_cflags,libcrypto inih)

$(O)/libcommon.a: $(COMMON_OBJS)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

# Only version.o carries the release (a new VERSION rebuilds it alone).
$(O)/common/version.o: VERSION
$(O)/common/version.o: CFLAGS += -DSMSWAKE_VERSION='"$(SMSWAKE_VERSION)"'

# --- tests of common/wire/: the wakeup codec and the SMS PDU codec ---
WAKE_OBJS := $(O)/common/wire/wake.o $(O)/common/wire/crypto.o $(O)/common/wire/encode.o

TEST_PROGRAMS += $(O)/tests/unit/test_wake
$(O)/tests/unit/test_wake: $(O)/tests/unit/test_wake.o $(WAKE_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(call pc_libs,libcrypto)

TEST_PROGRAMS += $(O)/tests/test_pdu
$(O)/tests/test_pdu: $(O)/tests/unit/test_pdu.o $(O)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(call pc_libs,libcrypto)

FUZZERS += $(O)/fuzz/fuzz-wake
$(O)/fuzz/fuzz-wake: tests/fuzz/fuzz_wake.c common/wire/wake.c common/wire/crypto.c common/wire/encode.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $^ $(call pc_libs,libcrypto)

FUZZERS += $(O)/fuzz/fuzz-pdu
$(O)/fuzz/fuzz-pdu: tests/fuzz/fuzz_pdu.c common/wire/pdu.c common/wire/pdu.h common/wire/encode.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_pdu.c common/wire/pdu.c common/wire/encode.c
