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
