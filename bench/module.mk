# bench/: benchmark programs; bench/run-bench.sh runs them all and prints one table.
BENCHES += $(O)/bench/hello
all: $(BENCHES)
$(O)/bench/hello: bench/hello.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(call pc_cflags,libmicrohttpd) -o $@ $< $(call pc_libs,libmicrohttpd) $(LDFLAGS)
