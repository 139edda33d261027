# store/: the storage layer behind store.h: SQLite (store/sqlite/: WAL, one group-committing writer
# thread, per-thread readers) or PostgreSQL (store/pg/: libpq, several servers on one database).
STORE_SRCS := $(wildcard store/*.c store/sqlite/*.c store/pg/*.c)
STORE_OBJS := $(STORE_SRCS:%.c=$(O)/%.o)
EXTRA_CFLAGS_store := $(call pc_cflags,sqlite3) $(call pc_cflags,libpq)
STORE_LIBS := $(call pc_libs,sqlite3) $(call pc_libs,libpq) -lpthread

$(O)/libstore.a: $(STORE_OBJS)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

# Unit tests of the store (tests/unit/test_store.c). They also use sqlite3 directly (to build
# old, newer and damaged databases, and to check query plans), and libpq to make a database per
# case in the PostgreSQL test cluster.
EXTRA_CFLAGS_tests += $(call pc_cflags,sqlite3) $(call pc_cflags,libpq) $(call pc_cflags,cmocka)
TEST_PROGRAMS += $(O)/tests/test_store

$(O)/tests/test_store: $(O)/tests/unit/test_store.o $(O)/libstore.a $(O)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(STORE_LIBS) $(CMOCKA_LIBS) $(call pc_libs,libcrypto)
