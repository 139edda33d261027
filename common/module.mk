# common/: helpers shared by every part (logging, clocks, codecs, crypto wrappers).
COMMON_SRCS := $(wildcard common/*.c)
COMMON_OBJS := $(COMMON_SRCS:%.c=$(O)/%.o)
EXTRA_CFLAGS_common := $(call pc_cflags,libcrypto inih)

$(O)/libcommon.a: $(COMMON_OBJS)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

# Only version.o carries the release (a new VERSION rebuilds it alone).
$(O)/common/version.o: VERSION
$(O)/common/version.o: CFLAGS += -DSMSWAKE_VERSION='"$(SMSWAKE_VERSION)"'
