# bench/: benchmark programs; bench/run-bench.sh runs them all and prints one table.
BENCHES += $(O)/bench/hello
EXTRA_CFLAGS_bench := -Ifetch-server $(call pc_cflags,sqlite3)
$(O)/bench/hello: bench/hello.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(call pc_cflags,libmicrohttpd) -o $@ $< $(call pc_libs,libmicrohttpd) $(LDFLAGS)

BENCHES += $(O)/bench/policy_sim
$(O)/bench/policy_sim: $(O)/bench/policy_sim.o $(O)/fetch-server/policy.o $(O)/fetch-server/config.o $(O)/libcommon.a
	$(CC) $(LDFLAGS) -o $@ $^ $(call pc_libs,inih libcrypto)

# Byte-counting TCP relay for bench/bench-client.sh (wire octets of the client's exchanges).
BENCHES += $(O)/bench/tcpcount
$(O)/bench/tcpcount: $(O)/bench/tcpcount.o
	$(CC) $(LDFLAGS) -o $@ $^

# Many waiting device long-polls for bench/bench-longpoll.sh.
BENCHES += $(O)/bench/longpolls
$(O)/bench/longpolls: $(O)/bench/longpolls.o
	$(CC) $(LDFLAGS) -o $@ $^ $(call pc_libs,libssl libcrypto)

# Fills a store through its own write verbs for bench/bench-scale.sh, prints the hot query plans.
BENCHES += $(O)/bench/storegen
$(O)/bench/storegen: $(O)/bench/storegen.o $(O)/libstore.a $(O)/libcommon.a
	$(CC) $(LDFLAGS) -o $@ $^ $(STORE_LIBS)
