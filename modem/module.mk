# modem/: see the part's README section in docs/architecture.md.

# --- simulator ---
# smswake-modem-sim: simulated GSM network and AT modems on pseudo-terminals (modem/sim/),
# plus its tests (the PDU codec it is built on, common/wire/pdu.c, is tested in common/module.mk).
SIM_SRCS := $(wildcard modem/sim/*.c)
SIM_OBJS := $(SIM_SRCS:%.c=$(O)/%.o)
PROGRAMS += $(O)/smswake-modem-sim
INSTALL_BIN += smswake-modem-sim
MANPAGES += docs/man/smswake-modem-sim.1

$(SIM_OBJS): CFLAGS += -Imodem/sim $(call pc_cflags,inih)

$(O)/smswake-modem-sim: $(SIM_OBJS) $(O)/libcommon.a
	$(CC) $(LDFLAGS) -o $@ $^ $(call pc_libs,inih) -lutil

TEST_SCRIPTS += tests/integration/sim_gammu.sh tests/integration/sim_control.sh \
	tests/integration/sim_faults.sh tests/integration/sim_smsd.sh tests/integration/sim_profiles.sh

# A loopback HTTP listener that logs the callbacks of programs under test (kannel_at.sh: Kannel's
# get-url and dlr-url), and finds free ports for their configuration files. Not installed.
PROGRAMS += $(O)/tests/http-sink
$(O)/tests/http-sink: tests/integration/http_sink.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $<

TEST_SCRIPTS += tests/integration/kannel_at.sh

# --- end simulator ---
