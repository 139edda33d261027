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
