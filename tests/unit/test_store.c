/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of the store, on SQLite and (most cases again) on PostgreSQL: schema and migrations,
 * every verb's semantics, group commit under concurrency (on PostgreSQL also across two servers,
 * with a deadlock, a lost connection and a close while writes wait), injected commit failures,
 * last-seen flushing, and the hot queries' plans. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "store.h"
#include "sqlite/store_int.h" /* only for the SQL text of the hot queries (plan test) */

#define T0 1700000000000LL /* a fixed clock: tests pass times explicitly */

struct fixture {
	char dir[PATH_MAX];
	char path[PATH_MAX + 64]; /* SQLite: the database file; PostgreSQL: the DSN */
	int pg;                   /* the PostgreSQL backend, on a database of its own */
	char pgdb[32];
	struct store *st;
	int64_t prov, prov2;
};

static void make_dir(char *dir, size_t size)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, size, "%s/test_store.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
}

static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[PATH_MAX];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

static void hash_of(uint8_t h[STORE_HASH_LEN], int seed)
{
	for (int i = 0; i < STORE_HASH_LEN; i++)
		h[i] = (uint8_t)(seed * 31 + i);
	memcpy(h, &seed, sizeof(seed)); /* distinct for every seed */
}

static struct store *open_at(const char *path, const char **err)
{
	struct store_options o = {.path = path, .synchronous_full = 1};
	struct store *st = NULL;

	if (store_open(&o, &st, err) != STORE_OK)
		return NULL;
	return st;
}

/* The PostgreSQL cases run when a cluster is there: SMSWAKE_TEST_PG_DSN, or one of our own that
 * main() starts with tests/lib/pgtmp.sh. Each case gets a fresh database. */
static const char *pg_dsn;
static int pg_serial;

static void pg_admin(const char *sql)
{
	PGconn *c = PQconnectdb(pg_dsn);
	PGresult *r;

	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("PostgreSQL: %s", PQerrorMessage(c));
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
}

/* The schema version the fixture's backend migrates to. */
static int schema_version(const struct fixture *f)
{
	return store_backend_schema_version(f->pg ? STORE_BACKEND_POSTGRESQL : STORE_BACKEND_SQLITE);
}

/* Opens the fixture's store again (after store_close). */
static struct store *reopen(struct fixture *f, const char **err)
{
	if (f->pg) {
		struct store_options o = {.backend = STORE_BACKEND_POSTGRESQL, .dsn = f->path};
		struct store *st = NULL;
		return store_open(&o, &st, err) == STORE_OK ? st : NULL;
	}
	return open_at(f->path, err);
}

static int setup_backend(void **state, int pg)
{
	struct fixture *f = calloc(1, sizeof(*f));
	uint8_t h[STORE_HASH_LEN];
	const char *err = NULL;

	assert_non_null(f);
	make_dir(f->dir, sizeof(f->dir));
	f->pg = pg;
	if (pg) {
		char sql[64];
		snprintf(f->pgdb, sizeof(f->pgdb), "t%d_%d", (int)getpid(), ++pg_serial);
		snprintf(sql, sizeof(sql), "CREATE DATABASE %s", f->pgdb);
		pg_admin(sql);
		snprintf(f->path, sizeof(f->path), "%s dbname=%s", pg_dsn, f->pgdb);
	} else {
		snprintf(f->path, sizeof(f->path), "%s/store.db", f->dir);
	}
	f->st = reopen(f, &err);
	assert_non_null(f->st);
	hash_of(h, 1);
	assert_int_equal(store_provider_add(f->st, "acme", h, T0, &f->prov), STORE_OK);
	hash_of(h, 2);
	assert_int_equal(store_provider_add(f->st, "other", h, T0, &f->prov2), STORE_OK);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_backend(state, 0);
}

static int setup_pg(void **state)
{
	return setup_backend(state, 1);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	store_close(f->st);
	if (f->pg) {
		char sql[96];
		snprintf(sql, sizeof(sql), "DROP DATABASE %s WITH (FORCE)", f->pgdb);
		pg_admin(sql);
	}
	remove_dir(f->dir);
	free(f);
	return 0;
}

static int64_t add_device(struct store *st, int64_t prov, const char *msisdn, int seed)
{
	struct store_device d;
	uint8_t h[STORE_HASH_LEN];

	memset(&d, 0, sizeof(d));
	d.provider_id = prov;
	snprintf(d.msisdn, sizeof(d.msisdn), "%s", msisdn);
	snprintf(d.name, sizeof(d.name), "dev-%d", seed);
	d.sms_format = SMS_FORMAT_BINARY;
	d.poll_interval_s = 3600;
	d.quiet_start_min = -1;
	d.quiet_end_min = -1;
	hash_of(h, 100 + seed);
	assert_int_equal(store_device_add(st, &d, h, T0), STORE_OK);
	assert_true(d.id > 0);
	assert_int_equal(d.created_ms, T0);
	return d.id;
}

static int put_full(struct store *st, int64_t prov, int64_t dev, const char *topic, const char *key, int64_t ttl_s,
		    int64_t now, struct store_message *out, int *replayed)
{
	struct store_message_in in = {
		.device_id = dev,
		.urgency = URG_NORMAL,
		.ttl_s = ttl_s,
		.topic = topic,
		.idempotency_key = key,
		.body = (const uint8_t *)"hello",
		.body_len = 5,
	};
	return store_message_put(st, prov, &in, now, out, replayed);
}

static int64_t put(struct store *st, int64_t prov, int64_t dev, int64_t now)
{
	struct store_message m;

	assert_int_equal(put_full(st, prov, dev, NULL, NULL, 3600, now, &m, NULL), STORE_OK);
	return m.id;
}

static int msg_state(struct store *st, int64_t id)
{
	struct store_message m;

	assert_int_equal(store_message_get(st, 0, id, &m, NULL, NULL), STORE_OK);
	return m.state;
}

/* ---- schema ---- */

static void test_open_reopen(void **state)
{
	struct fixture *f = *state;
	const char *err = NULL;

	assert_int_equal(store_user_version(f->st), schema_version(f));
	assert_true(schema_version(f) >= 1);
	assert_int_equal(store_ping(f->st), STORE_OK);
	store_close(f->st);
	f->st = reopen(f, &err);
	assert_non_null(f->st);
	assert_int_equal(store_user_version(f->st), schema_version(f));
	/* Data survived. */
	{
		struct store_principal p;
		uint8_t h[STORE_HASH_LEN];
		hash_of(h, 1);
		assert_int_equal(store_provider_auth(f->st, h, &p), STORE_OK);
		assert_string_equal(p.name, "acme");
	}
}

static void make_raw_db(const char *path, const char *sql)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static void test_migrate_v0(void **state)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];
	const char *err = NULL;
	struct store *st;
	int64_t id;
	uint8_t h[STORE_HASH_LEN];

	(void)state;
	make_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/v0.db", dir);
	/* A version-0 database: an SQLite file holding none of our tables. */
	make_raw_db(path, "CREATE TABLE unrelated(x); PRAGMA user_version=0;");
	st = open_at(path, &err);
	assert_non_null(st);
	assert_int_equal(store_user_version(st), store_schema_version());
	hash_of(h, 9);
	assert_int_equal(store_provider_add(st, "p", h, T0, &id), STORE_OK);
	store_close(st);
	remove_dir(dir);
}

static void test_newer_schema_refused(void **state)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];
	const char *err = NULL;
	struct store *st = (struct store *)1;

	(void)state;
	make_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/new.db", dir);
	make_raw_db(path, "PRAGMA user_version=999;");
	{
		struct store_options o = {.path = path, .synchronous_full = 1};
		assert_int_equal(store_open(&o, &st, &err), STORE_ERROR);
	}
	assert_null(st);
	assert_non_null(err);
	assert_non_null(strstr(err, "newer"));
	remove_dir(dir);
}

static void test_corrupt_refused(void **state)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];
	char junk[8192];
	const char *err = NULL;
	struct store *st;
	int fd;

	(void)state;
	make_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/junk.db", dir);

	/* Not a database at all. */
	memset(junk, 'x', sizeof(junk));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);
	st = open_at(path, &err);
	assert_null(st);
	assert_non_null(err);
	unlink(path);

	/* A real database whose b-tree pages are damaged: quick_check must refuse it. */
	st = open_at(path, &err);
	assert_non_null(st);
	{
		int64_t prov = 0, dev;
		uint8_t h[STORE_HASH_LEN];
		hash_of(h, 1);
		assert_int_equal(store_provider_add(st, "p", h, T0, &prov), STORE_OK);
		dev = add_device(st, prov, "+15550001", 1);
		for (int i = 0; i < 200; i++)
			put(st, prov, dev, T0);
	}
	store_close(st);
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	memset(junk, 0x5a, sizeof(junk));
	/* Pages 3-40: tables and indexes, not the header or the schema page. */
	for (off_t off = 2 * 4096; off < 40 * 4096; off += 4096)
		assert_int_equal(pwrite(fd, junk, 4096, off), 4096);
	close(fd);
	err = NULL;
	st = open_at(path, &err);
	assert_null(st);
	assert_non_null(err);
	remove_dir(dir);
}

static void test_bad_options(void **state)
{
	struct store_options o = {.path = NULL};
	struct store *st = NULL;
	const char *err = NULL;

	(void)state;
	assert_int_equal(store_open(&o, &st, &err), STORE_ERROR);
	assert_non_null(err);
	o.path = "/nonexistent-dir-for-smswake/x.db";
	assert_int_equal(store_open(&o, &st, &err), STORE_ERROR);
	assert_null(st);
	assert_int_equal(store_open(&o, &st, NULL), STORE_ERROR);
}

/* ---- principals ---- */

struct names {
	int n;
	char name[8][STORE_NAME_MAX + 1];
	int revoked[8];
};

static int collect_principal(void *arg, const struct store_principal *p)
{
	struct names *v = arg;

	if (v->n < 8) {
		snprintf(v->name[v->n], sizeof(v->name[0]), "%s", p->name);
		v->revoked[v->n] = p->revoked;
	}
	v->n++;
	return 0;
}

static void test_providers(void **state)
{
	struct fixture *f = *state;
	struct store_principal p;
	struct names v = {0};
	uint8_t h[STORE_HASH_LEN], h3[STORE_HASH_LEN];
	int64_t id;

	hash_of(h, 1);
	hash_of(h3, 3);
	assert_int_equal(store_provider_add(f->st, "acme", h3, T0, &id), STORE_CONFLICT);
	assert_int_equal(store_provider_add(f->st, "", h3, T0, &id), STORE_ERROR);
	assert_int_equal(store_provider_add(f->st, NULL, h3, T0, &id), STORE_ERROR);
	assert_int_equal(store_provider_auth(f->st, h, &p), STORE_OK);
	assert_int_equal(p.id, f->prov);
	assert_string_equal(p.name, "acme");
	assert_int_equal(p.created_ms, T0);
	assert_int_equal(p.revoked, 0);
	assert_int_equal(store_provider_auth(f->st, h3, &p), STORE_NOTFOUND);

	assert_int_equal(store_provider_set_budget(f->st, "acme", 50), STORE_OK);
	assert_int_equal(store_provider_set_budget(f->st, "nobody", 50), STORE_NOTFOUND);
	assert_int_equal(store_provider_set_budget(f->st, "acme", -1), STORE_ERROR);
	assert_int_equal(store_provider_auth(f->st, h, &p), STORE_OK);
	assert_int_equal(p.sms_budget_day, 50);

	assert_int_equal(store_provider_list(f->st, collect_principal, &v), STORE_OK);
	assert_int_equal(v.n, 2);
	assert_string_equal(v.name[0], "acme");
	assert_string_equal(v.name[1], "other");

	assert_int_equal(store_provider_revoke(f->st, "acme"), STORE_OK);
	assert_int_equal(store_provider_revoke(f->st, "acme"), STORE_NOTFOUND);
	assert_int_equal(store_provider_auth(f->st, h, &p), STORE_NOTFOUND);
	/* The name is free again once revoked. */
	assert_int_equal(store_provider_add(f->st, "acme", h3, T0, &id), STORE_OK);
	assert_true(id != f->prov);
	memset(&v, 0, sizeof(v));
	assert_int_equal(store_provider_list(f->st, collect_principal, &v), STORE_OK);
	assert_int_equal(v.n, 3);
	assert_int_equal(v.revoked[0], 1);
}

static uint64_t reads_of(struct store *st)
{
	struct store_stats s;

	assert_int_equal(store_stats(st, &s), STORE_OK);
	return s.reads;
}

/* A provider's key is remembered (no read once known), and forgotten at once when it changes:
 * in this store, and in another process's store on the same file (a second store stands for
 * smswakectl: another connection, whose commits the first store's writer sees). */
static void test_provider_keys_remembered(void **state)
{
	struct fixture *f = *state;
	struct store_principal p;
	struct store *ctl;
	const char *err = NULL;
	uint8_t h1[STORE_HASH_LEN], h2[STORE_HASH_LEN];
	uint64_t r0;
	int i;

	hash_of(h1, 1);
	hash_of(h2, 2);
	/* Known once the writer has made its first check (every 125 ms at the most). */
	for (i = 0; i < 100; i++) {
		uint64_t own;

		assert_int_equal(store_provider_auth(f->st, h1, &p), STORE_OK);
		r0 = reads_of(f->st);
		own = reads_of(f->st) - r0; /* store_stats' own reads */
		assert_int_equal(store_provider_auth(f->st, h1, &p), STORE_OK);
		if (reads_of(f->st) == r0 + 2 * own)
			break;
		usleep(20000);
	}
	assert_true(i < 100);
	assert_int_equal(p.id, f->prov);

	/* This store's own change. */
	assert_int_equal(store_provider_set_budget(f->st, "acme", 7), STORE_OK);
	assert_int_equal(store_provider_auth(f->st, h1, &p), STORE_OK);
	assert_int_equal(p.sms_budget_day, 7);

	/* Another process's changes: visible when its verb returns. */
	ctl = open_at(f->path, &err);
	assert_non_null(ctl);
	assert_int_equal(store_provider_auth(f->st, h2, &p), STORE_OK);
	assert_int_equal(store_provider_auth(f->st, h1, &p), STORE_OK);
	assert_int_equal(store_provider_set_budget(ctl, "acme", 9), STORE_OK);
	assert_int_equal(store_provider_auth(f->st, h1, &p), STORE_OK);
	assert_int_equal(p.sms_budget_day, 9);
	assert_int_equal(store_provider_revoke(ctl, "other"), STORE_OK);
	assert_int_equal(store_provider_auth(f->st, h2, &p), STORE_NOTFOUND);
	store_close(ctl);
	/* A key refused is never remembered as good. */
	assert_int_equal(store_provider_auth(f->st, h2, &p), STORE_NOTFOUND);
}

static void test_gateways(void **state)
{
	struct fixture *f = *state;
	struct store_principal p;
	struct names v = {0};
	uint8_t h[STORE_HASH_LEN];
	int64_t id, id2;

	hash_of(h, 50);
	assert_int_equal(store_gateway_add(f->st, "gw1", h, T0, &id), STORE_OK);
	assert_int_equal(store_gateway_add(f->st, "gw1", h, T0, &id2), STORE_CONFLICT);
	assert_int_equal(store_gateway_auth(f->st, h, &p), STORE_OK);
	assert_int_equal(p.id, id);
	assert_string_equal(p.name, "gw1");
	hash_of(h, 51);
	assert_int_equal(store_gateway_add(f->st, "gw2", h, T0, &id2), STORE_OK);
	assert_int_equal(store_gateway_list(f->st, collect_principal, &v), STORE_OK);
	assert_int_equal(v.n, 2);
	assert_int_equal(store_gateway_revoke(f->st, "gw2"), STORE_OK);
	assert_int_equal(store_gateway_auth(f->st, h, &p), STORE_NOTFOUND);
	assert_int_equal(store_gateway_revoke(f->st, "gw3"), STORE_NOTFOUND);
	/* A provider's token does not open the gateway API. */
	hash_of(h, 1);
	assert_int_equal(store_gateway_auth(f->st, h, &p), STORE_NOTFOUND);
}

/* ---- devices ---- */

static int count_device(void *arg, const struct store_device *d)
{
	(void)d;
	(*(int *)arg)++;
	return 0;
}

static void test_devices(void **state)
{
	struct fixture *f = *state;
	struct store_device d, bad;
	struct store_device_patch p;
	uint8_t h[STORE_HASH_LEN];
	int64_t dev, dev2, found;
	int n;

	dev = add_device(f->st, f->prov, "+15550001", 1);
	assert_int_equal(store_device_get(f->st, f->prov, dev, &d), STORE_OK);
	assert_string_equal(d.msisdn, "+15550001");
	assert_string_equal(d.name, "dev-1");
	assert_int_equal(d.provider_id, f->prov);
	assert_int_equal(d.poll_interval_s, 3600);
	assert_int_equal(d.last_seq, 0);
	assert_int_equal(d.wake_state, WAKE_IDLE);
	assert_int_equal(d.quiet_start_min, -1);
	assert_int_equal(store_device_get(f->st, 0, dev, &d), STORE_OK);
	assert_int_equal(store_device_get(f->st, f->prov2, dev, &d), STORE_NOTFOUND);
	assert_int_equal(store_device_get(f->st, f->prov, dev + 100, &d), STORE_NOTFOUND);

	/* Same msisdn: conflict for the same provider, fine for another. */
	memset(&bad, 0, sizeof(bad));
	bad.provider_id = f->prov;
	snprintf(bad.msisdn, sizeof(bad.msisdn), "+15550001");
	bad.quiet_start_min = bad.quiet_end_min = -1;
	hash_of(h, 300);
	assert_int_equal(store_device_add(f->st, &bad, h, T0), STORE_CONFLICT);
	bad.provider_id = 999;
	assert_int_equal(store_device_add(f->st, &bad, h, T0), STORE_NOTFOUND);
	bad.provider_id = f->prov;
	snprintf(bad.msisdn, sizeof(bad.msisdn), "12a");
	assert_int_equal(store_device_add(f->st, &bad, h, T0), STORE_ERROR);
	snprintf(bad.msisdn, sizeof(bad.msisdn), "+1555");
	bad.quiet_start_min = 2000;
	assert_int_equal(store_device_add(f->st, &bad, h, T0), STORE_ERROR);
	bad.quiet_start_min = -1;
	bad.sms_format = 7;
	assert_int_equal(store_device_add(f->st, &bad, h, T0), STORE_ERROR);
	dev2 = add_device(f->st, f->prov2, "+15550001", 2);

	assert_int_equal(store_device_auth(f->st, h, &found), STORE_NOTFOUND);
	hash_of(h, 101);
	assert_int_equal(store_device_auth(f->st, h, &found), STORE_OK);
	assert_int_equal(found, dev);

	memset(&p, 0, sizeof(p));
	p.set = STORE_PATCH_NAME | STORE_PATCH_QUIET | STORE_PATCH_POLL;
	snprintf(p.name, sizeof(p.name), "meter 7");
	p.quiet_start_min = 1320;
	p.quiet_end_min = 360;
	p.poll_interval_s = 0;
	assert_int_equal(store_device_update(f->st, f->prov, dev, &p), STORE_OK);
	assert_int_equal(store_device_update(f->st, f->prov2, dev, &p), STORE_NOTFOUND);
	assert_int_equal(store_device_get(f->st, f->prov, dev, &d), STORE_OK);
	assert_string_equal(d.name, "meter 7");
	assert_string_equal(d.msisdn, "+15550001"); /* not in the patch */
	assert_int_equal(d.quiet_start_min, 1320);
	assert_int_equal(d.quiet_end_min, 360);
	assert_int_equal(d.poll_interval_s, 0);
	p.set = STORE_PATCH_MSISDN;
	snprintf(p.msisdn, sizeof(p.msisdn), "bad");
	assert_int_equal(store_device_update(f->st, f->prov, dev, &p), STORE_ERROR);
	add_device(f->st, f->prov, "+15550002", 3);
	snprintf(p.msisdn, sizeof(p.msisdn), "+15550002");
	assert_int_equal(store_device_update(f->st, f->prov, dev, &p), STORE_CONFLICT);

	n = 0;
	assert_int_equal(store_device_list(f->st, f->prov, count_device, &n), STORE_OK);
	assert_int_equal(n, 2);
	n = 0;
	assert_int_equal(store_device_list(f->st, f->prov2, count_device, &n), STORE_OK);
	assert_int_equal(n, 1);
	n = 0;
	assert_int_equal(store_device_list(f->st, 0, count_device, &n), STORE_OK);
	assert_int_equal(n, 3);

	/* Delete takes the messages along. */
	{
		int64_t mid = put(f->st, f->prov, dev, T0);
		struct store_message m;
		assert_int_equal(store_device_delete(f->st, f->prov2, dev), STORE_NOTFOUND);
		assert_int_equal(store_device_delete(f->st, f->prov, dev), STORE_OK);
		assert_int_equal(store_device_get(f->st, 0, dev, &d), STORE_NOTFOUND);
		assert_int_equal(store_message_get(f->st, 0, mid, &m, NULL, NULL), STORE_NOTFOUND);
		assert_int_equal(store_device_delete(f->st, f->prov, dev), STORE_NOTFOUND);
	}
	assert_int_equal(store_device_get(f->st, f->prov2, dev2, &d), STORE_OK);
}

static void new_device(struct store_device_new *n, int64_t prov, const char *msisdn, int seed)
{
	memset(n, 0, sizeof(*n));
	n->d.provider_id = prov;
	snprintf(n->d.msisdn, sizeof(n->d.msisdn), "%s", msisdn);
	n->d.poll_interval_s = 60;
	n->d.quiet_start_min = n->d.quiet_end_min = -1;
	hash_of(n->token_hash, seed);
}

/* Bulk registration: every device and its tags in one commit, or none of them. */
static void test_device_add_many(void **state)
{
	struct fixture *f = *state;
	struct store_device_new n[4];
	struct store_device d;
	char tags[STORE_TAGS_MAX][STORE_TAG_MAX + 1];
	uint8_t h[STORE_HASH_LEN];
	int64_t found;
	int ntags;

	add_device(f->st, f->prov, "+15550001", 1);
	new_device(&n[0], f->prov, "+15551000", 500);
	new_device(&n[1], f->prov, "+15551001", 501);
	new_device(&n[2], f->prov, "+15550001", 502); /* taken */
	new_device(&n[3], f->prov, "+15551000", 503); /* repeats n[0] */
	snprintf(n[0].tags[0], sizeof(n[0].tags[0]), "site:a");
	n[0].ntags = 1;
	assert_int_equal(store_device_add_many(f->st, n, 4, T0), STORE_CONFLICT);
	assert_int_equal(n[0].conflict, 0);
	assert_int_equal(n[1].conflict, 0);
	assert_int_equal(n[2].conflict, 1);
	assert_int_equal(n[3].conflict, 1);
	/* Nothing of the failed call stayed: the first two are not there. */
	hash_of(h, 500);
	assert_int_equal(store_device_auth(f->st, h, &found), STORE_NOTFOUND);
	hash_of(h, 501);
	assert_int_equal(store_device_auth(f->st, h, &found), STORE_NOTFOUND);

	new_device(&n[2], f->prov, "+15551002", 502);
	snprintf(n[2].tags[0], sizeof(n[2].tags[0]), "site:a");
	snprintf(n[2].tags[1], sizeof(n[2].tags[1]), "v2");
	n[2].ntags = 2;
	n[1].d.sms_format = SMS_FORMAT_TEXT;
	assert_int_equal(store_device_add_many(f->st, n, 3, T0 + 5), STORE_OK);
	for (int i = 0; i < 3; i++) {
		assert_true(n[i].d.id > 0);
		assert_int_equal(n[i].d.created_ms, T0 + 5);
		assert_int_equal(n[i].conflict, 0);
		hash_of(h, 500 + i);
		assert_int_equal(store_device_auth(f->st, h, &found), STORE_OK);
		assert_int_equal(found, n[i].d.id);
	}
	assert_true(n[0].d.id < n[1].d.id && n[1].d.id < n[2].d.id);
	assert_int_equal(store_device_get(f->st, f->prov, n[1].d.id, &d), STORE_OK);
	assert_string_equal(d.msisdn, "+15551001");
	assert_int_equal(d.sms_format, SMS_FORMAT_TEXT);
	assert_int_equal(store_device_tags(f->st, n[2].d.id, tags, &ntags), STORE_OK);
	assert_int_equal(ntags, 2);
	assert_string_equal(tags[0], "site:a");
	assert_string_equal(tags[1], "v2");
	assert_int_equal(store_device_tags(f->st, n[1].d.id, tags, &ntags), STORE_OK);
	assert_int_equal(ntags, 0);

	/* Misuse is refused before anything is queued. */
	new_device(&n[0], f->prov, "+15552000", 600);
	new_device(&n[1], f->prov2, "+15552001", 601);
	assert_int_equal(store_device_add_many(f->st, n, 2, T0), STORE_ERROR);
	assert_int_equal(store_device_add_many(f->st, n, 0, T0), STORE_ERROR);
	assert_int_equal(store_device_add_many(f->st, n, STORE_DEVICE_ADD_MANY_MAX + 1, T0), STORE_ERROR);
	n[1].d.provider_id = f->prov;
	snprintf(n[1].tags[0], sizeof(n[1].tags[0]), "bad\ttag");
	n[1].ntags = 1;
	assert_int_equal(store_device_add_many(f->st, n, 2, T0), STORE_ERROR);
	n[0].d.provider_id = n[1].d.provider_id = 999;
	n[1].ntags = 0;
	assert_int_equal(store_device_add_many(f->st, n, 2, T0), STORE_NOTFOUND);
}

/* ---- messages ---- */

struct evlist {
	int n;
	struct store_event e[16];
};

static int collect_event(void *arg, const struct store_event *e)
{
	struct evlist *v = arg;

	if (v->n < 16)
		v->e[v->n] = *e;
	v->n++;
	return 0;
}

static void test_put_seq_topic_idempotency(void **state)
{
	struct fixture *f = *state;
	int64_t dev = add_device(f->st, f->prov, "+15550001", 1);
	int64_t dev2 = add_device(f->st, f->prov2, "+15550002", 2);
	struct store_message m, m1, m2;
	struct store_device d;
	struct evlist ev = {0};
	int replayed = -1;

	for (int i = 1; i <= 3; i++) {
		assert_int_equal(put_full(f->st, f->prov, dev, NULL, NULL, 60, T0 + i, &m, &replayed), STORE_OK);
		assert_int_equal(m.seq, (uint64_t)i);
		assert_int_equal(replayed, 0);
		assert_int_equal(m.state, MSG_QUEUED);
		assert_int_equal(m.expires_ms, T0 + i + 60000);
		assert_string_equal(m.content_type, "application/octet-stream");
		assert_null(m.body);
	}
	assert_int_equal(store_device_get(f->st, f->prov, dev, &d), STORE_OK);
	assert_int_equal(d.last_seq, 3);
	assert_int_equal(d.pending, 3);

	/* Another provider's device: not found, and no sequence number is used up. */
	assert_int_equal(put_full(f->st, f->prov, dev2, NULL, NULL, 60, T0, &m, NULL), STORE_NOTFOUND);
	assert_int_equal(put_full(f->st, f->prov2, dev2, NULL, NULL, 60, T0, &m, NULL), STORE_OK);
	assert_int_equal(m.seq, 1);

	/* Topic: the newer message replaces the pending one. */
	assert_int_equal(put_full(f->st, f->prov, dev, "battery", NULL, 60, T0 + 10, &m1, NULL), STORE_OK);
	assert_int_equal(put_full(f->st, f->prov, dev, "battery", NULL, 60, T0 + 11, &m2, NULL), STORE_OK);
	assert_string_equal(m2.topic, "battery");
	assert_int_equal(m2.seq, 5);
	assert_int_equal(msg_state(f->st, m1.id), MSG_REPLACED);
	assert_int_equal(msg_state(f->st, m2.id), MSG_QUEUED);
	assert_int_equal(store_message_get(f->st, f->prov, m1.id, &m, collect_event, &ev), STORE_OK);
	assert_int_equal(ev.n, 2);
	assert_string_equal(ev.e[0].what, "queued");
	assert_int_equal(ev.e[0].state, MSG_QUEUED);
	assert_string_equal(ev.e[1].what, "replaced");
	assert_int_equal(ev.e[1].state, MSG_REPLACED);
	assert_int_equal(ev.e[1].time_ms, T0 + 11);
	assert_non_null(strstr(ev.e[1].detail, "by message"));
	assert_int_equal(store_message_get(f->st, f->prov2, m1.id, &m, NULL, NULL), STORE_NOTFOUND);

	/* Idempotency: the replay returns the first message, even after its state changed. */
	assert_int_equal(put_full(f->st, f->prov, dev, NULL, "req-1", 60, T0 + 20, &m1, &replayed), STORE_OK);
	assert_int_equal(replayed, 0);
	assert_int_equal(store_message_cancel(f->st, f->prov, m1.id, T0 + 21), STORE_OK);
	assert_int_equal(put_full(f->st, f->prov, dev, NULL, "req-1", 60, T0 + 22, &m2, &replayed), STORE_OK);
	assert_int_equal(replayed, 1);
	assert_int_equal(m2.id, m1.id);
	assert_int_equal(m2.seq, m1.seq);
	assert_int_equal(m2.state, MSG_CANCELLED);
	assert_int_equal(store_device_get(f->st, f->prov, dev, &d), STORE_OK);
	assert_int_equal(d.last_seq, m1.seq);
	/* Keys are per provider. */
	assert_int_equal(put_full(f->st, f->prov2, dev2, NULL, "req-1", 60, T0 + 23, &m2, &replayed), STORE_OK);
	assert_int_equal(replayed, 0);
	assert_true(m2.id != m1.id);

	/* Misuse is refused before it reaches the database. */
	{
		static uint8_t big[STORE_BODY_MAX + 1];
		struct store_message_in in = {
			.device_id = dev, .urgency = URG_LOW, .ttl_s = 1, .body = big, .body_len = sizeof(big)};
		assert_int_equal(store_message_put(f->st, f->prov, &in, T0, &m, NULL), STORE_ERROR);
		in.body_len = STORE_BODY_MAX;
		assert_int_equal(store_message_put(f->st, f->prov, &in, T0, &m, NULL), STORE_OK);
		in.topic = "no spaces";
		assert_int_equal(store_message_put(f->st, f->prov, &in, T0, &m, NULL), STORE_ERROR);
		char long_topic[STORE_TOPIC_MAX + 2];
		memset(long_topic, 'a', sizeof(long_topic) - 1);
		long_topic[sizeof(long_topic) - 1] = '\0';
		in.topic = long_topic;
		assert_int_equal(store_message_put(f->st, f->prov, &in, T0, &m, NULL), STORE_ERROR);
		in.topic = NULL;
		in.urgency = URG_COUNT;
		assert_int_equal(store_message_put(f->st, f->prov, &in, T0, &m, NULL), STORE_ERROR);
		in.urgency = URG_HIGH;
		in.ttl_s = -1;
		assert_int_equal(store_message_put(f->st, f->prov, &in, T0, &m, NULL), STORE_ERROR);
		in.ttl_s = INT64_MAX;
		assert_int_equal(store_message_put(f->st, f->prov, &in, T0, &m, NULL), STORE_ERROR);
		in.ttl_s = 1;
		in.content_type = "text/plain\r\nX: y";
		assert_int_equal(store_message_put(f->st, f->prov, &in, T0, &m, NULL), STORE_ERROR);
		in.content_type = "text/plain";
		in.idempotency_key = "";
		assert_int_equal(store_message_put(f->st, f->prov, &in, T0, &m, NULL), STORE_ERROR);
		in.idempotency_key = NULL;
		in.body = NULL;
		assert_int_equal(store_message_put(f->st, f->prov, &in, T0, &m, NULL), STORE_ERROR);
		in.body_len = 0;
		assert_int_equal(store_message_put(f->st, f->prov, &in, T0, &m, NULL), STORE_OK);
		assert_string_equal(m.content_type, "text/plain");
	}
}

struct fetchlog {
	int n;
	uint64_t seq[64];
	int state[64];
	char body[64][8];
	int stop_after;
};

static int collect_msg(void *arg, const struct store_message *m)
{
	struct fetchlog *l = arg;

	if (l->n < 64) {
		l->seq[l->n] = m->seq;
		l->state[l->n] = m->state;
		snprintf(l->body[l->n], sizeof(l->body[0]), "%.*s", (int)m->body_len, (const char *)m->body);
	}
	l->n++;
	return l->stop_after && l->n >= l->stop_after;
}

/* max_pending: a device with that many deliverable messages takes no more (STORE_FULL) until it
 * fetches and acknowledges; expired or acknowledged ones do not count, another device is not
 * affected, and a cap of 0 is no cap. */
static void test_max_pending(void **state)
{
	struct fixture *f = *state;
	int64_t dev = add_device(f->st, f->prov, "+15550009001", 1);
	int64_t other = add_device(f->st, f->prov, "+15550009002", 2);
	struct store_message_in in = {
		.urgency = URG_NORMAL, .ttl_s = 3600, .body = (const uint8_t *)"x", .body_len = 1, .max_pending = 3};
	struct store_message m;
	struct fetchlog l = {0};
	int count = 0;

	in.device_id = dev;
	for (int i = 0; i < 3; i++)
		assert_int_equal(store_message_put(f->st, f->prov, &in, T0 + i, &m, NULL), STORE_OK);
	assert_int_equal(store_message_put(f->st, f->prov, &in, T0 + 3, &m, NULL), STORE_FULL);
	assert_string_equal(store_strerror(STORE_FULL), "too many messages waiting");
	in.device_id = other;
	assert_int_equal(store_message_put(f->st, f->prov, &in, T0 + 3, &m, NULL), STORE_OK);
	in.max_pending = 0;
	in.device_id = dev;
	assert_int_equal(store_message_put(f->st, f->prov, &in, T0 + 4, &m, NULL), STORE_OK); /* no cap */
	/* Fetching and acknowledging two makes room for two. */
	in.max_pending = 3;
	assert_int_equal(store_device_fetch(f->st, dev, 0, 2, T0 + 5, collect_msg, &l, &count), STORE_OK);
	assert_int_equal(count, 2);
	assert_int_equal(store_ack(f->st, dev, 2, 0, 0, T0 + 5, &count), STORE_OK);
	assert_int_equal(count, 2);
	assert_int_equal(store_message_put(f->st, f->prov, &in, T0 + 6, &m, NULL), STORE_OK);
	assert_int_equal(store_message_put(f->st, f->prov, &in, T0 + 7, &m, NULL), STORE_FULL);
	/* A wrong provider is still "not found", not "full". */
	assert_int_equal(store_message_put(f->st, f->prov2, &in, T0 + 8, &m, NULL), STORE_NOTFOUND);
}

/* A message's own event (store_message_in.event_what, the Web Push endpoint's "vapid"): stored
 * with the message, after its "queued" one, and not again on a replay; bad input refused. */
static void test_put_event(void **state)
{
	struct fixture *f = *state;
	int64_t dev = add_device(f->st, f->prov, "+15550001300", 1);
	struct store_message_in in = {.device_id = dev,
				      .urgency = URG_NORMAL,
				      .ttl_s = 60,
				      .idempotency_key = "k1",
				      .event_what = "vapid",
				      .event_detail = "mailto:ops@example.net"};
	struct store_message m, m2, got;
	struct evlist ev = {0};
	int replayed = -1, found = 0;

	assert_int_equal(store_message_put(f->st, f->prov, &in, T0, &m, &replayed), STORE_OK);
	assert_int_equal(replayed, 0);
	assert_int_equal(store_message_put(f->st, f->prov, &in, T0 + 1, &m2, &replayed), STORE_OK);
	assert_int_equal(replayed, 1);
	assert_int_equal(m2.id, m.id);
	assert_int_equal(store_message_get(f->st, 0, m.id, &got, collect_event, &ev), STORE_OK);
	for (int i = 0; i < ev.n && i < 16; i++)
		if (strcmp(ev.e[i].what, "vapid") == 0) {
			found++;
			assert_string_equal(ev.e[i].detail, "mailto:ops@example.net");
			assert_int_equal(ev.e[i].state, -1);
			assert_int_equal(ev.e[i].time_ms, T0);
			assert_true(i > 0); /* after "queued" */
		}
	assert_int_equal(found, 1);

	/* No detail is an empty one; a what that is no event name is refused, as is a long detail. */
	in.idempotency_key = NULL;
	in.event_detail = NULL;
	assert_int_equal(store_message_put(f->st, f->prov, &in, T0, &m, &replayed), STORE_OK);
	in.event_what = "";
	assert_int_equal(store_message_put(f->st, f->prov, &in, T0, &m, &replayed), STORE_ERROR);
	in.event_what = "bad\nname";
	assert_int_equal(store_message_put(f->st, f->prov, &in, T0, &m, &replayed), STORE_ERROR);
	in.event_what = "vapid";
	in.event_detail = "x"
			  "0123456789012345678901234567890123456789012345678901234567890123"
			  "0123456789012345678901234567890123456789012345678901234567890123";
	assert_int_equal(store_message_put(f->st, f->prov, &in, T0, &m, &replayed), STORE_ERROR);
}

static void test_fetch_ack(void **state)
{
	struct fixture *f = *state;
	int64_t dev = add_device(f->st, f->prov, "+15550001", 1);
	int64_t ids[3];
	struct fetchlog l = {0};
	struct store_device d;
	struct evlist ev = {0};
	struct store_message m;
	int count = -1;

	/* Nothing queued: an empty poll, and an unknown device. */
	assert_int_equal(store_device_fetch(f->st, dev, 0, 10, T0, collect_msg, &l, &count), STORE_OK);
	assert_int_equal(count, 0);
	assert_int_equal(store_device_fetch(f->st, dev + 99, 0, 10, T0, collect_msg, &l, &count), STORE_NOTFOUND);
	assert_int_equal(store_device_fetch(f->st, dev, 0, 0, T0, collect_msg, &l, &count), STORE_ERROR);

	for (int i = 0; i < 3; i++)
		ids[i] = put(f->st, f->prov, dev, T0);
	assert_int_equal(store_device_fetch(f->st, dev, 0, 2, T0 + 1, collect_msg, &l, &count), STORE_OK);
	assert_int_equal(count, 2);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.seq[0], 1);
	assert_int_equal(l.seq[1], 2);
	assert_int_equal(l.state[0], MSG_FETCHED);
	assert_string_equal(l.body[0], "hello");
	assert_int_equal(msg_state(f->st, ids[0]), MSG_FETCHED);
	assert_int_equal(msg_state(f->st, ids[2]), MSG_QUEUED);

	/* At-least-once: fetched but unacknowledged messages come again. */
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_device_fetch(f->st, dev, 0, 10, T0 + 2, collect_msg, &l, &count), STORE_OK);
	assert_int_equal(count, 3);
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_device_fetch(f->st, dev, 2, 10, T0 + 2, collect_msg, &l, &count), STORE_OK);
	assert_int_equal(count, 1);
	assert_int_equal(l.seq[0], 3);
	/* A callback that stops early. */
	memset(&l, 0, sizeof(l));
	l.stop_after = 1;
	assert_int_equal(store_device_fetch(f->st, dev, 0, 10, T0 + 2, collect_msg, &l, &count), STORE_OK);
	assert_int_equal(count, 1);

	assert_int_equal(store_ack(f->st, dev, 2, 7, 0, T0 + 3, &count), STORE_OK);
	assert_int_equal(count, 2);
	assert_int_equal(msg_state(f->st, ids[0]), MSG_ACKED);
	assert_int_equal(msg_state(f->st, ids[1]), MSG_ACKED);
	assert_int_equal(msg_state(f->st, ids[2]), MSG_FETCHED);
	assert_int_equal(store_device_get(f->st, 0, dev, &d), STORE_OK);
	assert_int_equal(d.acked_seq, 2);
	assert_int_equal(d.wake_ctr, 7);
	assert_int_equal(d.pending, 1);
	/* Counter only grows; ack beyond last_seq is clamped. */
	assert_int_equal(store_ack(f->st, dev, 99, 3, 0, T0 + 4, &count), STORE_OK);
	assert_int_equal(count, 1);
	assert_int_equal(store_device_get(f->st, 0, dev, &d), STORE_OK);
	assert_int_equal(d.acked_seq, 3);
	assert_int_equal(d.wake_ctr, 7);
	assert_int_equal(d.pending, 0);
	assert_int_equal(store_ack(f->st, dev + 99, 1, 0, 0, T0, &count), STORE_NOTFOUND);

	assert_int_equal(store_message_get(f->st, f->prov, ids[0], &m, collect_event, &ev), STORE_OK);
	assert_int_equal(ev.n, 3);
	assert_string_equal(ev.e[0].what, "queued");
	assert_string_equal(ev.e[1].what, "fetched");
	assert_int_equal(ev.e[1].time_ms, T0 + 1);
	assert_string_equal(ev.e[2].what, "acked");
	assert_int_equal(ev.e[2].state, MSG_ACKED);

	/* Queued but not fetched is not acknowledged. */
	{
		int64_t id4 = put(f->st, f->prov, dev, T0 + 5);
		assert_int_equal(store_ack(f->st, dev, 4, 0, 0, T0 + 6, &count), STORE_OK);
		assert_int_equal(count, 0);
		assert_int_equal(msg_state(f->st, id4), MSG_QUEUED);
	}
}

/* Master-key rotation: new devices take the key id they are given, a roll marks every other
 * device, and an ack naming the target key completes a device's move (any other key id does
 * not). A database from before the key columns gets key 1 for every device. */
static void test_key_rotation(void **state)
{
	struct fixture *f = *state;
	struct store_device d;
	const char *err = NULL;
	int64_t a, b, c;
	int count = -1;
	char sql[2048];

	a = add_device(f->st, f->prov, "+15550001001", 1);
	b = add_device(f->st, f->prov, "+15550001002", 2);
	assert_int_equal(store_device_get(f->st, 0, a, &d), STORE_OK);
	assert_int_equal(d.key_id, 1);
	assert_int_equal(d.key_next, 0);

	assert_int_equal(store_key_roll(f->st, 2, &count), STORE_OK);
	assert_int_equal(count, 2);
	assert_int_equal(store_key_roll(f->st, 2, &count), STORE_OK);
	assert_int_equal(count, 0); /* nothing changes twice */
	assert_int_equal(store_key_roll(f->st, 0, &count), STORE_ERROR);
	assert_int_equal(store_key_roll(f->st, 256, &count), STORE_ERROR);
	assert_int_equal(store_device_get(f->st, 0, b, &d), STORE_OK);
	assert_int_equal(d.key_id, 1);
	assert_int_equal(d.key_next, 2);

	/* A device registered under the new key is not moving anywhere. */
	memset(&d, 0, sizeof(d));
	d.provider_id = f->prov;
	snprintf(d.msisdn, sizeof(d.msisdn), "+15550001003");
	d.sms_format = SMS_FORMAT_BINARY;
	d.quiet_start_min = d.quiet_end_min = -1;
	d.key_id = 2;
	{
		uint8_t h[STORE_HASH_LEN];
		hash_of(h, 333);
		assert_int_equal(store_device_add(f->st, &d, h, T0), STORE_OK);
	}
	c = d.id;
	assert_int_equal(store_device_get(f->st, 0, c, &d), STORE_OK);
	assert_int_equal(d.key_id, 2);
	assert_int_equal(d.key_next, 0);
	d.key_id = 256;
	assert_int_equal(store_device_add(f->st, &d, (const uint8_t *)"01234567890123456789012345678901", T0),
			 STORE_ERROR);

	/* Acks: without a key id, with the wrong one, then with the target. */
	assert_int_equal(store_ack(f->st, a, 0, 0, 0, T0 + 1, &count), STORE_OK);
	assert_int_equal(store_ack(f->st, a, 0, 0, 3, T0 + 1, &count), STORE_OK);
	assert_int_equal(store_device_get(f->st, 0, a, &d), STORE_OK);
	assert_int_equal(d.key_id, 1);
	assert_int_equal(d.key_next, 2);
	assert_int_equal(store_ack(f->st, a, 0, 0, 2, T0 + 2, &count), STORE_OK);
	assert_int_equal(store_device_get(f->st, 0, a, &d), STORE_OK);
	assert_int_equal(d.key_id, 2);
	assert_int_equal(d.key_next, 0);
	assert_int_equal(store_ack(f->st, a, 0, 0, 2, T0 + 3, &count), STORE_OK); /* again: no change */
	assert_int_equal(store_device_get(f->st, 0, a, &d), STORE_OK);
	assert_int_equal(d.key_id, 2);
	assert_int_equal(d.key_next, 0);
	assert_int_equal(store_ack(f->st, a, 0, 0, 256, T0 + 3, &count), STORE_ERROR);
	/* A later roll back to key 1 moves a and c, and clears b's move (b is on key 1). */
	assert_int_equal(store_key_roll(f->st, 1, &count), STORE_OK);
	assert_int_equal(count, 3);
	assert_int_equal(store_device_get(f->st, 0, b, &d), STORE_OK);
	assert_int_equal(d.key_next, 0);
	assert_int_equal(store_device_get(f->st, 0, c, &d), STORE_OK);
	assert_int_equal(d.key_next, 1);

	/* The same database as version 1 left it: the key columns come back as key 1, no move. */
	if (f->pg)
		return; /* the PostgreSQL schema starts with the key columns */
	store_close(f->st);
	snprintf(sql, sizeof(sql),
		 "DROP TRIGGER device_push_gone; DROP TABLE push_tokens_gone; DROP TRIGGER message_event_out;"
		 " DROP TRIGGER device_unreachable_out; DROP TRIGGER event_outbox;"
		 " DROP TABLE webhook_outbox; DROP TABLE events; DROP TABLE webhooks; DROP TRIGGER device_tags_gone;"
		 " DROP TABLE device_tags; DROP TABLE batches; DROP INDEX messages_batch;"
		 " ALTER TABLE messages DROP COLUMN batch_id;"
		 " ALTER TABLE devices DROP COLUMN key_id; ALTER TABLE devices DROP COLUMN key_next;"
		 " DROP INDEX message_events_job; ALTER TABLE message_events DROP COLUMN job_id;"
		 " ALTER TABLE wake_jobs DROP COLUMN sent_ms; DROP INDEX devices_push_token;"
		 " ALTER TABLE devices DROP COLUMN push_p256dh; ALTER TABLE devices DROP COLUMN push_auth;"
		 " ALTER TABLE devices DROP COLUMN push_token; ALTER TABLE messages DROP COLUMN content_encoding;"
		 " ALTER TABLE devices DROP COLUMN push_server_key;"
		 " CREATE TRIGGER messages_count_ins AFTER INSERT ON messages BEGIN"
		 " UPDATE message_counts SET n = n + 1 WHERE state = new.state; END;"
		 " PRAGMA user_version=1;");
	make_raw_db(f->path, sql);
	f->st = reopen(f, &err);
	assert_non_null(f->st);
	assert_int_equal(store_user_version(f->st), store_schema_version());
	assert_int_equal(store_device_get(f->st, 0, c, &d), STORE_OK);
	assert_int_equal(d.key_id, 1);
	assert_int_equal(d.key_next, 0);
}

static void test_cancel(void **state)
{
	struct fixture *f = *state;
	int64_t dev = add_device(f->st, f->prov, "+15550001", 1);
	int64_t a = put(f->st, f->prov, dev, T0), b;
	struct fetchlog l = {0};
	int count;

	assert_int_equal(store_message_cancel(f->st, f->prov2, a, T0 + 1), STORE_NOTFOUND);
	assert_int_equal(store_message_cancel(f->st, f->prov, a + 99, T0 + 1), STORE_NOTFOUND);
	assert_int_equal(store_message_cancel(f->st, f->prov, a, T0 + 1), STORE_OK);
	assert_int_equal(msg_state(f->st, a), MSG_CANCELLED);
	assert_int_equal(store_message_cancel(f->st, f->prov, a, T0 + 2), STORE_CONFLICT);
	assert_int_equal(store_device_has_pending(f->st, dev, 0, T0 + 2), 0);

	b = put(f->st, f->prov, dev, T0 + 3);
	assert_int_equal(store_device_fetch(f->st, dev, 0, 10, T0 + 4, collect_msg, &l, &count), STORE_OK);
	assert_int_equal(count, 1);
	assert_int_equal(l.seq[0], 2);
	assert_int_equal(store_message_cancel(f->st, f->prov, b, T0 + 5), STORE_CONFLICT);
	assert_int_equal(msg_state(f->st, b), MSG_FETCHED);
}

static void test_has_pending_expire(void **state)
{
	struct fixture *f = *state;
	int64_t dev = add_device(f->st, f->prov, "+15550001", 1);
	struct store_message m;
	struct evlist ev = {0};
	int count = -1;

	assert_int_equal(store_device_has_pending(f->st, dev, 0, T0), 0);
	assert_int_equal(store_device_has_pending(f->st, dev + 5, 0, T0), 0);
	/* TTL 0: deliverable for one second only (for a device long-polling right now). */
	assert_int_equal(put_full(f->st, f->prov, dev, NULL, NULL, 0, T0, &m, NULL), STORE_OK);
	assert_int_equal(m.expires_ms, T0 + 1000);
	assert_int_equal(store_device_has_pending(f->st, dev, 0, T0), 1);
	assert_int_equal(store_device_has_pending(f->st, dev, 0, T0 + 1000), 1);
	assert_int_equal(store_device_has_pending(f->st, dev, 1, T0), 0);
	assert_int_equal(store_device_has_pending(f->st, dev, UINT64_MAX, T0), 0);
	assert_int_equal(store_device_has_pending(f->st, dev, 0, T0 + 1001), 0);

	{
		int64_t keep = put(f->st, f->prov, dev, T0); /* TTL one hour */
		assert_int_equal(store_expire(f->st, T0 + 1000, &count), STORE_OK);
		assert_int_equal(count, 0);
		assert_int_equal(store_expire(f->st, T0 + 1001, &count), STORE_OK);
		assert_int_equal(count, 1);
		assert_int_equal(msg_state(f->st, m.id), MSG_EXPIRED);
		assert_int_equal(msg_state(f->st, keep), MSG_QUEUED);
		assert_int_equal(store_device_has_pending(f->st, dev, 0, T0 + 1001), 1);
		assert_int_equal(store_device_has_pending(f->st, dev, 0, T0 + 3600 * 1000 + 1), 0);
		assert_int_equal(store_expire(f->st, T0 + 1002, &count), STORE_OK);
		assert_int_equal(count, 0);
	}
	assert_int_equal(store_message_get(f->st, f->prov, m.id, &m, collect_event, &ev), STORE_OK);
	assert_int_equal(ev.n, 2);
	assert_string_equal(ev.e[1].what, "expired");
	assert_int_equal(ev.e[1].state, MSG_EXPIRED);
}

static void test_expire_many(void **state)
{
	struct fixture *f = *state;
	int64_t dev = add_device(f->st, f->prov, "+15550001", 1);
	struct store_stats s;
	int count;

	/* More than one sweep chunk. */
	for (int i = 0; i < STORE_CHUNK + 50; i++) {
		struct store_message m;
		assert_int_equal(put_full(f->st, f->prov, dev, NULL, NULL, 1, T0, &m, NULL), STORE_OK);
	}
	assert_int_equal(store_expire(f->st, T0 + 5000, &count), STORE_OK);
	assert_int_equal(count, STORE_CHUNK + 50);
	assert_int_equal(store_stats(f->st, &s), STORE_OK);
	assert_int_equal(s.messages[MSG_EXPIRED], STORE_CHUNK + 50);
	assert_int_equal(s.messages[MSG_QUEUED], 0);
	assert_int_equal(store_purge(f->st, T0 + 5001, &count), STORE_OK);
	assert_int_equal(count, STORE_CHUNK + 50);
	assert_int_equal(store_stats(f->st, &s), STORE_OK);
	assert_int_equal(s.messages[MSG_EXPIRED], 0);
}

static void test_purge(void **state)
{
	struct fixture *f = *state;
	int64_t dev = add_device(f->st, f->prov, "+15550001", 1);
	struct store_message m, old_m;
	struct fetchlog l = {0};
	int count, replayed;
	int64_t acked, cancelled, queued, recent;

	assert_int_equal(put_full(f->st, f->prov, dev, NULL, "key-old", 3600, T0, &old_m, NULL), STORE_OK);
	acked = old_m.id;
	cancelled = put(f->st, f->prov, dev, T0);
	queued = put(f->st, f->prov, dev, T0);
	assert_int_equal(store_device_fetch(f->st, dev, 0, 1, T0 + 10, collect_msg, &l, &count), STORE_OK);
	assert_int_equal(store_ack(f->st, dev, 1, 0, 0, T0 + 10, &count), STORE_OK);
	assert_int_equal(store_message_cancel(f->st, f->prov, cancelled, T0 + 10), STORE_OK);
	recent = put(f->st, f->prov, dev, T0 + 100);
	assert_int_equal(store_message_cancel(f->st, f->prov, recent, T0 + 100), STORE_OK);

	assert_int_equal(store_purge(f->st, T0 + 50, &count), STORE_OK);
	assert_int_equal(count, 2);
	assert_int_equal(store_message_get(f->st, 0, acked, &m, NULL, NULL), STORE_NOTFOUND);
	assert_int_equal(store_message_get(f->st, 0, cancelled, &m, NULL, NULL), STORE_NOTFOUND);
	assert_int_equal(msg_state(f->st, queued), MSG_QUEUED);
	assert_int_equal(msg_state(f->st, recent), MSG_CANCELLED);
	/* The old idempotency key is gone: the same key makes a new message. */
	assert_int_equal(put_full(f->st, f->prov, dev, NULL, "key-old", 3600, T0 + 60, &m, &replayed), STORE_OK);
	assert_int_equal(replayed, 0);
	assert_true(m.id != old_m.id);
	assert_int_equal(m.seq, 5);
}

static void test_device_event(void **state)
{
	struct fixture *f = *state;
	int64_t dev = add_device(f->st, f->prov, "+15550001", 1);
	int64_t a = put(f->st, f->prov, dev, T0), b = put(f->st, f->prov, dev, T0);
	struct evlist ev = {0};
	struct store_message m;

	assert_int_equal(store_message_cancel(f->st, f->prov, b, T0), STORE_OK);
	assert_int_equal(store_device_event(f->st, dev, "wake_suppressed", "quiet hours", T0 + 5), STORE_OK);
	assert_int_equal(store_device_event(f->st, dev + 9, "x", NULL, T0), STORE_NOTFOUND);
	assert_int_equal(store_device_event(f->st, dev, "", NULL, T0), STORE_ERROR);
	assert_int_equal(store_message_get(f->st, f->prov, a, &m, collect_event, &ev), STORE_OK);
	assert_int_equal(ev.n, 2);
	assert_string_equal(ev.e[1].what, "wake_suppressed");
	assert_string_equal(ev.e[1].detail, "quiet hours");
	assert_int_equal(ev.e[1].state, -1);
	memset(&ev, 0, sizeof(ev));
	assert_int_equal(store_message_get(f->st, f->prov, b, &m, collect_event, &ev), STORE_OK);
	assert_int_equal(ev.n, 2); /* queued, cancelled: no note on a final message */
}

/* ---- wake jobs ---- */

static struct store_wake_job job_for(int64_t dev, uint64_t ctr, int64_t due)
{
	struct store_wake_job j;

	memset(&j, 0, sizeof(j));
	j.device_id = dev;
	j.sms_format = SMS_FORMAT_BINARY;
	j.port = 16537;
	j.ctr = ctr;
	memcpy(j.payload, "\x01\x02\x03", 3);
	j.payload_len = 3;
	j.validity_s = 600;
	j.due_ms = due;
	return j;
}

static int64_t gateway(struct store *st, const char *name, int seed)
{
	uint8_t h[STORE_HASH_LEN];
	int64_t id;

	hash_of(h, seed);
	assert_int_equal(store_gateway_add(st, name, h, T0, &id), STORE_OK);
	return id;
}

/* A wakeup for dev leased by gw at lease_ms and reported sent at sent_ms: returns the job id. */
static int64_t wake_sent(struct store *st, int64_t gw, int64_t dev, int64_t lease_ms, int64_t sent_ms)
{
	struct store_wake_job j, leased[4];
	uint64_t ctr;
	int n;

	assert_int_equal(store_wake_counter_next(st, dev, &ctr), STORE_OK);
	j = job_for(dev, ctr, lease_ms);
	assert_int_equal(store_wake_job_add(st, &j, lease_ms), STORE_OK);
	assert_int_equal(store_wake_lease(st, gw, 4, 60000, lease_ms, leased, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(leased[0].id, j.id);
	assert_int_equal(store_wake_report(st, gw, j.id, OUTCOME_SUBMITTED, 7, NULL, sent_ms,
					   sent_ms > lease_ms ? sent_ms : lease_ms + 1000),
			 STORE_OK);
	return j.id;
}

static void test_wake_jobs(void **state)
{
	struct fixture *f = *state;
	int64_t dev = add_device(f->st, f->prov, "+15550001", 1), dev2 = add_device(f->st, f->prov, "+15550002", 2);
	int64_t gw1 = gateway(f->st, "gw1", 60), gw2 = gateway(f->st, "gw2", 61);
	struct store_wake_job j = job_for(dev, 1, T0), leased[4], got;
	struct store_device d;
	struct store_message m;
	struct evlist ev = {0};
	int64_t a;
	int n;

	a = put(f->st, f->prov, dev, T0);
	put(f->st, f->prov, dev2, T0);

	assert_int_equal(store_wake_job_add(f->st, &j, T0), STORE_OK);
	assert_true(j.id > 0);
	assert_string_equal(j.msisdn, "+15550001"); /* filled from the device */
	/* A job is not an SMS: the device's wake state waits for a modem to accept one. */
	assert_int_equal(store_device_get(f->st, 0, dev, &d), STORE_OK);
	assert_int_equal(d.wake_state, WAKE_IDLE);
	assert_int_equal(d.wake_attempts, 0);
	assert_int_equal(d.wake_ctr, 1);
	assert_int_equal(d.wake_sent_ms, 0);
	/* One outstanding job per device. */
	{
		struct store_wake_job again = job_for(dev, 2, T0);
		assert_int_equal(store_wake_job_add(f->st, &again, T0 + 1), STORE_CONFLICT);
	}
	/* Counters come from store_wake_counter_next; one the device may have seen is refused. */
	{
		struct store_wake_job stale = job_for(dev2, 1, T0);
		uint64_t ctr = 0;
		assert_int_equal(store_wake_counter_next(f->st, dev2, &ctr), STORE_OK);
		assert_int_equal(ctr, 1);
		assert_int_equal(store_wake_counter_next(f->st, dev2, &ctr), STORE_OK);
		assert_int_equal(ctr, 2);
		assert_int_equal(store_wake_counter_next(f->st, dev2 + 50, &ctr), STORE_NOTFOUND);
		assert_int_equal(store_wake_job_add(f->st, &stale, T0), STORE_CONFLICT);
		stale.device_id = dev2 + 50;
		stale.ctr = 9;
		assert_int_equal(store_wake_job_add(f->st, &stale, T0), STORE_NOTFOUND);
		stale.payload_len = STORE_WAKE_PAYLOAD_MAX + 1;
		assert_int_equal(store_wake_job_add(f->st, &stale, T0), STORE_ERROR);
	}

	/* Not due yet, then due. */
	{
		struct store_wake_job later = job_for(dev2, 3, T0 + 60000);
		assert_int_equal(store_wake_job_add(f->st, &later, T0), STORE_OK);
	}
	assert_int_equal(store_wake_lease(f->st, gw1, 4, 30000, T0 - 1, leased, &n), STORE_OK);
	assert_int_equal(n, 0);
	assert_int_equal(store_wake_lease(f->st, gw1, 4, 30000, T0, leased, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(leased[0].id, j.id);
	assert_int_equal(leased[0].state, JOB_LEASED);
	assert_int_equal(leased[0].attempts, 1);
	assert_int_equal(leased[0].lease_until_ms, T0 + 30000);
	assert_int_equal(leased[0].payload_len, 3);
	assert_memory_equal(leased[0].payload, "\x01\x02\x03", 3);
	assert_int_equal(leased[0].port, 16537);
	assert_int_equal(leased[0].ctr, 1);
	assert_int_equal(leased[0].reference, -1);
	assert_int_equal(leased[0].validity_s, 600);
	assert_int_equal(store_wake_lease(f->st, gw2, 4, 30000, T0 + 1, leased, &n), STORE_OK);
	assert_int_equal(n, 0);

	/* Only the holder may report. */
	assert_int_equal(store_wake_report(f->st, gw2, j.id, OUTCOME_SUBMITTED, 34, NULL, 0, T0 + 2), STORE_NOTFOUND);
	assert_int_equal(store_wake_report(f->st, gw1, j.id + 99, OUTCOME_SUBMITTED, 34, NULL, 0, T0 + 2),
			 STORE_NOTFOUND);
	assert_int_equal(store_wake_report(f->st, gw1, j.id, 42, 34, NULL, 0, T0 + 2), STORE_ERROR);
	assert_int_equal(store_wake_report(f->st, gw1, j.id, OUTCOME_SUBMITTED, 34, NULL, -1, T0 + 2), STORE_ERROR);
	assert_int_equal(store_wake_report(f->st, gw1, j.id, OUTCOME_SUBMITTED, 34, NULL, 0, T0 + 2), STORE_OK);
	assert_int_equal(store_wake_report(f->st, gw1, j.id, OUTCOME_SUBMITTED, 34, NULL, 0, T0 + 3), STORE_OK);
	assert_int_equal(msg_state(f->st, a), MSG_WAKE_SENT);
	assert_int_equal(store_wake_job_get(f->st, j.id, &got), STORE_OK);
	assert_int_equal(got.state, JOB_SUBMITTED);
	assert_int_equal(got.reference, 34);
	/* Now the SMS is out: the device is in flight, once (the report said no time: its arrival). */
	assert_int_equal(store_device_get(f->st, 0, dev, &d), STORE_OK);
	assert_int_equal(d.wake_state, WAKE_IN_FLIGHT);
	assert_int_equal(d.wake_attempts, 1);
	assert_int_equal(d.wake_sent_ms, T0 + 2);

	assert_int_equal(store_wake_report(f->st, gw1, j.id, OUTCOME_DELIVERED, -1, NULL, 0, T0 + 4), STORE_OK);
	assert_int_equal(msg_state(f->st, a), MSG_SMS_DELIVERED);
	assert_int_equal(store_wake_job_get(f->st, j.id, &got), STORE_OK);
	assert_int_equal(got.state, JOB_DELIVERED);
	assert_int_equal(got.reference, 34);
	/* Final: repeats are harmless, and change nothing. */
	assert_int_equal(store_wake_report(f->st, gw1, j.id, OUTCOME_FAILED, -1, "late", 0, T0 + 5), STORE_OK);
	assert_int_equal(store_wake_job_get(f->st, j.id, &got), STORE_OK);
	assert_int_equal(got.state, JOB_DELIVERED);
	assert_int_equal(store_wake_report(f->st, gw2, j.id, OUTCOME_DELIVERED, -1, NULL, 0, T0 + 5), STORE_NOTFOUND);
	assert_int_equal(store_wake_report(f->st, gw1, j.id, OUTCOME_DELIVERED, -1, NULL, 0, T0 + 6), STORE_OK);

	assert_int_equal(store_message_get(f->st, f->prov, a, &m, collect_event, &ev), STORE_OK);
	assert_int_equal(ev.n, 3);
	assert_string_equal(ev.e[1].what, "wake_sent");
	assert_int_equal(ev.e[1].state, MSG_WAKE_SENT);
	assert_int_equal(ev.e[1].time_ms, T0 + 2);
	{
		char want[64];
		snprintf(want, sizeof(want), "job %lld ref 34", (long long)j.id);
		assert_string_equal(ev.e[1].detail, want);
		assert_string_equal(ev.e[2].detail, want);
	}
	assert_string_equal(ev.e[2].what, "sms_delivered");
	assert_int_equal(ev.e[2].state, MSG_SMS_DELIVERED);
	assert_int_equal(ev.e[2].time_ms, T0 + 4);

	/* A device's fetch still takes sms_delivered messages. */
	assert_int_equal(store_device_has_pending(f->st, dev, 0, T0 + 6), 1);
	{
		struct store_stats s;
		assert_int_equal(store_stats(f->st, &s), STORE_OK);
		assert_int_equal(s.jobs_queued, 1);
		assert_int_equal(s.jobs_leased, 0);
		assert_int_equal(s.messages[MSG_SMS_DELIVERED], 1);
	}
	/* A retry covers the same message: another wake_sent event, but no second transition. */
	wake_sent(f->st, gw1, dev, T0 + 100, T0 + 150);
	ev.n = 0;
	assert_int_equal(store_message_get(f->st, f->prov, a, &m, collect_event, &ev), STORE_OK);
	assert_int_equal(ev.n, 4);
	assert_string_equal(ev.e[3].what, "wake_sent");
	assert_int_equal(ev.e[3].state, -1);
	assert_int_equal(m.state, MSG_SMS_DELIVERED);
	assert_int_equal(store_device_get(f->st, 0, dev, &d), STORE_OK);
	assert_int_equal(d.wake_attempts, 2);
	assert_int_equal(d.wake_sent_ms, T0 + 150);
}

/* The device fetches before the gateway's report arrives (the SMS reached it in milliseconds):
 * the history still shows the wakeup, at the time the gateway sent it, before the fetch. */
static void test_wake_report_after_fetch(void **state)
{
	struct fixture *f = *state;
	int64_t dev = add_device(f->st, f->prov, "+15550001", 1), gw = gateway(f->st, "gw", 60);
	int64_t a = put(f->st, f->prov, dev, T0), b, late;
	struct store_wake_job j = job_for(dev, 1, T0), leased[2];
	struct fetchlog fl = {0};
	struct store_message m;
	struct store_device d;
	struct evlist ev = {0};
	int n, count;

	b = put(f->st, f->prov, dev, T0 + 1);
	assert_int_equal(store_wake_job_add(f->st, &j, T0 + 5), STORE_OK);
	assert_int_equal(store_wake_lease(f->st, gw, 2, 60000, T0 + 10, leased, &n), STORE_OK);
	assert_int_equal(n, 1);
	late = put(f->st, f->prov, dev, T0 + 25); /* after the SMS left: not covered by it */
	assert_int_equal(store_device_fetch(f->st, dev, 0, 1, T0 + 30, collect_msg, &fl, &count), STORE_OK);
	assert_int_equal(count, 1);
	assert_int_equal(store_ack(f->st, dev, 1, 0, 0, T0 + 40, &count), STORE_OK);
	store_device_touch(f->st, dev, T0 + 30);
	/* The report: sent at T0 + 20 by the gateway's clock, arriving at T0 + 50. */
	assert_int_equal(store_wake_report(f->st, gw, j.id, OUTCOME_SUBMITTED, 9, NULL, T0 + 20, T0 + 50), STORE_OK);

	assert_int_equal(store_message_get(f->st, f->prov, a, &m, collect_event, &ev), STORE_OK);
	assert_int_equal(m.state, MSG_ACKED); /* the state is the furthest reached */
	assert_int_equal(ev.n, 4);
	assert_string_equal(ev.e[0].what, "queued");
	assert_string_equal(ev.e[1].what, "wake_sent");
	assert_int_equal(ev.e[1].state, MSG_WAKE_SENT);
	assert_int_equal(ev.e[1].time_ms, T0 + 20);
	assert_string_equal(ev.e[2].what, "fetched");
	assert_string_equal(ev.e[3].what, "acked");
	/* b was pending (not fetched) when the SMS left: wake_sent, and now its state. */
	ev.n = 0;
	assert_int_equal(store_message_get(f->st, f->prov, b, &m, collect_event, &ev), STORE_OK);
	assert_int_equal(m.state, MSG_WAKE_SENT);
	assert_int_equal(ev.n, 2);
	assert_int_equal(ev.e[1].time_ms, T0 + 20);
	/* The message queued after the SMS left is not covered by it. */
	ev.n = 0;
	assert_int_equal(store_message_get(f->st, f->prov, late, &m, collect_event, &ev), STORE_OK);
	assert_int_equal(m.state, MSG_QUEUED);
	assert_int_equal(ev.n, 1);
	/* The device answered before the report: no unanswered wakeup is counted. */
	assert_int_equal(store_device_get(f->st, 0, dev, &d), STORE_OK);
	assert_int_equal(d.wake_state, WAKE_IDLE);
	assert_int_equal(d.wake_attempts, 0);

	/* The delivery report follows; recorded once, in time order, on the covered messages. */
	assert_int_equal(store_wake_report(f->st, gw, j.id, OUTCOME_DELIVERED, 9, NULL, T0 + 60, T0 + 70), STORE_OK);
	assert_int_equal(store_wake_report(f->st, gw, j.id, OUTCOME_DELIVERED, 9, NULL, T0 + 61, T0 + 71), STORE_OK);
	ev.n = 0;
	assert_int_equal(store_message_get(f->st, f->prov, a, &m, collect_event, &ev), STORE_OK);
	assert_int_equal(m.state, MSG_ACKED);
	assert_int_equal(ev.n, 5);
	assert_string_equal(ev.e[4].what, "sms_delivered");
	assert_int_equal(ev.e[4].time_ms, T0 + 60);
	ev.n = 0;
	assert_int_equal(store_message_get(f->st, f->prov, b, &m, collect_event, &ev), STORE_OK);
	assert_int_equal(m.state, MSG_SMS_DELIVERED);
	assert_int_equal(ev.n, 3);
	ev.n = 0;
	assert_int_equal(store_message_get(f->st, f->prov, late, &m, collect_event, &ev), STORE_OK);
	assert_int_equal(m.state, MSG_QUEUED);
	assert_int_equal(ev.n, 1);

	/* The gateway hears from its modem after the device has already fetched: the wakeup is
	 * placed just before that fetch, not after it. A message fetched before the lease is not covered. */
	{
		int64_t c = put(f->st, f->prov, dev, T0 + 100), e;
		struct store_wake_job k = job_for(dev, 2, T0 + 100);
		assert_int_equal(store_device_fetch(f->st, dev, 0, 10, T0 + 105, collect_msg, &fl, &count), STORE_OK);
		e = put(f->st, f->prov, dev, T0 + 106);
		assert_int_equal(store_wake_job_add(f->st, &k, T0 + 110), STORE_OK);
		assert_int_equal(store_wake_lease(f->st, gw, 2, 60000, T0 + 120, leased, &n), STORE_OK);
		assert_int_equal(n, 1);
		assert_int_equal(store_device_fetch(f->st, dev, 0, 10, T0 + 130, collect_msg, &fl, &count), STORE_OK);
		assert_int_equal(store_wake_report(f->st, gw, k.id, OUTCOME_SUBMITTED, 9, NULL, T0 + 140, T0 + 150),
				 STORE_OK);
		ev.n = 0;
		assert_int_equal(store_message_get(f->st, f->prov, e, &m, collect_event, &ev), STORE_OK);
		assert_int_equal(ev.n, 3);
		assert_string_equal(ev.e[1].what, "wake_sent");
		assert_int_equal(ev.e[1].time_ms, T0 + 129);
		assert_string_equal(ev.e[2].what, "fetched");
		ev.n = 0;
		assert_int_equal(store_message_get(f->st, f->prov, c, &m, collect_event, &ev), STORE_OK);
		assert_int_equal(ev.n, 2); /* queued, fetched (at T0 + 105, before the lease) */
	}
}

/* The gateway's clock is only believed between the lease and the report's arrival; without a
 * time (an older gateway) the arrival is the time. */
static void test_wake_report_times(void **state)
{
	struct fixture *f = *state;
	int64_t dev = add_device(f->st, f->prov, "+15550001", 1), gw = gateway(f->st, "gw", 60);
	int64_t a = put(f->st, f->prov, dev, T0);
	struct store_message m;
	struct evlist ev = {0};
	int64_t job;

	job = wake_sent(f->st, gw, dev, T0 + 100, T0 + 50); /* before its lease: the lease time */
	assert_int_equal(store_message_get(f->st, f->prov, a, &m, collect_event, &ev), STORE_OK);
	assert_int_equal(ev.e[1].time_ms, T0 + 100);
	/* Delivered "before" it was sent: the send time. An older gateway's submitted: now. */
	assert_int_equal(store_wake_report(f->st, gw, job, OUTCOME_DELIVERED, -1, NULL, T0 + 10, T0 + 300), STORE_OK);
	{
		struct store_wake_job j = job_for(dev, 99, T0 + 400), leased[2];
		int n;
		assert_int_equal(store_wake_job_add(f->st, &j, T0 + 400), STORE_OK);
		assert_int_equal(store_wake_lease(f->st, gw, 2, 60000, T0 + 400, leased, &n), STORE_OK);
		assert_int_equal(n, 1);
		assert_int_equal(store_wake_report(f->st, gw, j.id, OUTCOME_SUBMITTED, 1, NULL, 0, T0 + 500), STORE_OK);
		/* A time in the future: now. */
		struct store_wake_job k = job_for(dev, 100, T0 + 600);
		assert_int_equal(store_wake_job_add(f->st, &k, T0 + 600), STORE_OK);
		assert_int_equal(store_wake_lease(f->st, gw, 2, 60000, T0 + 600, leased, &n), STORE_OK);
		assert_int_equal(store_wake_report(f->st, gw, k.id, OUTCOME_SUBMITTED, 1, NULL, T0 + 99999, T0 + 700),
				 STORE_OK);
	}
	ev.n = 0;
	assert_int_equal(store_message_get(f->st, f->prov, a, &m, collect_event, &ev), STORE_OK);
	assert_int_equal(ev.n, 5);
	assert_string_equal(ev.e[2].what, "sms_delivered");
	assert_int_equal(ev.e[2].time_ms, T0 + 100);
	assert_int_equal(ev.e[3].time_ms, T0 + 500);
	assert_int_equal(ev.e[3].state, -1);
	assert_int_equal(ev.e[4].time_ms, T0 + 700);
}

/* Jobs wait for a gateway as long as they are needed: the lease drops the ones that are not,
 * and never hands out a validity longer than the content has left. */
static void test_wake_lease_drops_unneeded(void **state)
{
	struct fixture *f = *state;
	int64_t d1 = add_device(f->st, f->prov, "+15550001", 1), d2 = add_device(f->st, f->prov, "+15550002", 2);
	int64_t d3 = add_device(f->st, f->prov, "+15550003", 3), gw = gateway(f->st, "gw", 60);
	struct store_wake_job j1 = job_for(d1, 1, T0), j2 = job_for(d2, 1, T0), j3 = job_for(d3, 1, T0), leased[4];
	struct store_message m;
	struct fetchlog fl = {0};
	int n, count;

	assert_int_equal(put_full(f->st, f->prov, d1, NULL, NULL, 300, T0, &m, NULL), STORE_OK);
	put(f->st, f->prov, d2, T0);
	put(f->st, f->prov, d3, T0);
	assert_int_equal(store_wake_job_add(f->st, &j1, T0), STORE_OK);
	assert_int_equal(store_wake_job_add(f->st, &j2, T0), STORE_OK);
	assert_int_equal(store_wake_job_add(f->st, &j3, T0), STORE_OK);
	/* d2 polled meanwhile and has nothing left; d3 reported a counter above its job's. */
	assert_int_equal(store_device_fetch(f->st, d2, 0, 10, T0 + 1000, collect_msg, &fl, &count), STORE_OK);
	assert_int_equal(store_ack(f->st, d3, 0, 5, 0, T0 + 1000, &count), STORE_OK);
	/* 100 s later d1's message has 200 s left: the job says so. */
	assert_int_equal(store_wake_lease(f->st, gw, 4, 60000, T0 + 100000, leased, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(leased[0].id, j1.id);
	assert_int_equal(leased[0].validity_s, 200);
	{
		struct store_wake_job got;
		assert_int_equal(store_wake_job_get(f->st, j2.id, &got), STORE_NOTFOUND);
		assert_int_equal(store_wake_job_get(f->st, j3.id, &got), STORE_NOTFOUND);
	}
	/* A dropped job is no longer outstanding: the scheduler may build a fresh one. */
	{
		struct store_wake_job fresh = job_for(d3, 6, T0 + 100000);
		assert_int_equal(store_wake_job_add(f->st, &fresh, T0 + 100000), STORE_OK);
	}
	/* A device switched to the text form (or to a new number) while its job waited: the old
	 * payload no longer fits, the job is dropped. */
	{
		struct store_wake_job j4 = job_for(d1, 9, T0 + 100000);
		struct store_device_patch p = {.set = STORE_PATCH_FORMAT, .sms_format = SMS_FORMAT_TEXT};
		assert_int_equal(store_wake_report(f->st, gw, j1.id, OUTCOME_SUBMITTED, 1, NULL, 0, T0 + 100000),
				 STORE_OK);
		assert_int_equal(store_wake_job_add(f->st, &j4, T0 + 100000), STORE_OK);
		assert_int_equal(store_device_update(f->st, f->prov, d1, &p), STORE_OK);
		assert_int_equal(store_wake_lease(f->st, gw, 4, 60000, T0 + 100001, leased, &n), STORE_OK);
		assert_int_equal(n, 1); /* d3's fresh job only */
		assert_int_equal(leased[0].device_id, d3);
		assert_int_equal(store_wake_report(f->st, gw, leased[0].id, OUTCOME_SUBMITTED, 1, NULL, 0, T0 + 100002),
				 STORE_OK);
	}
	/* A device the network said cannot be reached gets no further SMS until it makes contact. */
	{
		struct store_wake_job j5 = job_for(d3, 7, T0 + 100003), got;
		assert_int_equal(store_wake_job_add(f->st, &j5, T0 + 100003), STORE_OK);
		assert_int_equal(store_device_set_wake_state(f->st, d3, WAKE_UNREACHABLE, T0 + 100003), STORE_OK);
		assert_int_equal(store_wake_lease(f->st, gw, 4, 60000, T0 + 100004, leased, &n), STORE_OK);
		assert_int_equal(n, 0);
		assert_int_equal(store_wake_job_get(f->st, j5.id, &got), STORE_NOTFOUND);
	}
}

static void test_wake_lease_expiry(void **state)
{
	struct fixture *f = *state;
	int64_t dev = add_device(f->st, f->prov, "+15550001", 1), gw1 = gateway(f->st, "gw1", 60);
	int64_t gw2 = gateway(f->st, "gw2", 61);
	struct store_wake_job j = job_for(dev, 5, T0), leased[2];
	int n;

	put(f->st, f->prov, dev, T0);
	assert_int_equal(store_wake_job_add(f->st, &j, T0), STORE_OK);
	assert_int_equal(store_wake_lease(f->st, gw1, 2, 1000, T0, leased, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(store_wake_lease(f->st, gw2, 2, 1000, T0 + 999, leased, &n), STORE_OK);
	assert_int_equal(n, 0);
	/* gw1 never reports; at expiry gw2 gets the job. */
	assert_int_equal(store_wake_lease(f->st, gw2, 2, 1000, T0 + 1000, leased, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(leased[0].id, j.id);
	assert_int_equal(leased[0].attempts, 2);
	assert_int_equal(store_wake_report(f->st, gw1, j.id, OUTCOME_SUBMITTED, 1, NULL, 0, T0 + 1001), STORE_NOTFOUND);
	assert_int_equal(store_wake_report(f->st, gw2, j.id, OUTCOME_SUBMITTED, 1, NULL, 0, T0 + 1001), STORE_OK);

	/* A job whose leases keep running out is given up. */
	{
		struct store_wake_job k = job_for(dev, 6, T0), got;
		struct store_device d;
		int64_t t = T0 + 2000;
		assert_int_equal(store_wake_job_add(f->st, &k, t), STORE_OK);
		for (int i = 1; i <= 5; i++, t += 1000) {
			assert_int_equal(store_wake_lease(f->st, gw1, 2, 1000, t, leased, &n), STORE_OK);
			assert_int_equal(n, 1);
			assert_int_equal(leased[0].attempts, i);
		}
		assert_int_equal(store_wake_lease(f->st, gw1, 2, 1000, t, leased, &n), STORE_OK);
		assert_int_equal(n, 0);
		assert_int_equal(store_wake_job_get(f->st, k.id, &got), STORE_OK);
		assert_int_equal(got.state, JOB_FAILED);
		assert_string_equal(got.error, "lease expired");
		assert_int_equal(store_device_get(f->st, 0, dev, &d), STORE_OK);
		assert_int_equal(d.wake_state, WAKE_IN_FLIGHT); /* from the first job; the policy decides */
		assert_int_equal(d.wake_attempts, 1);           /* expired leases are not SMS sent */
	}
}

/* The provider's event types, in order, joined by spaces (events of api.md, "Webhooks"). */
/* The verbs store.h gained with Web Push, fleets and the poll path, on either backend. */
static void test_poll_push_fleet(void **state)
{
	struct fixture *f = *state;
	int64_t dev = add_device(f->st, f->prov, "+15550001", 1), dev2 = add_device(f->st, f->prov, "+15550002", 2);
	int64_t other = add_device(f->st, f->prov2, "+15550003", 3), did = 0, pid = 0, batch = 0, count = 0;
	int64_t counts[MSG_STATE_COUNT], total = 0, created = 0;
	char key[STORE_P256DH_MAX + 1], tags[STORE_TAGS_MAX][STORE_TAG_MAX + 1];
	const char *const two[] = {"blue", "red"};
	struct store_message_in in = {.device_id = dev, .urgency = URG_NORMAL, .ttl_s = 60};
	struct store_message m;
	struct store_device d;
	struct fetchlog l = {0};
	struct evlist ev = {0};
	uint64_t last = 99, seqs[2];
	int pending = -1, n = -1, more = -1, replayed = 0;

	/* A poll: the device and whether anything is deliverable past after. */
	assert_int_equal(store_device_poll(f->st, dev, 0, T0, &d, &pending), STORE_OK);
	assert_int_equal(pending, 0);
	assert_int_equal(d.id, dev);
	assert_int_equal(store_device_poll(f->st, dev + 1000, 0, T0, &d, &pending), STORE_NOTFOUND);
	/* A poll is the device's contact: shown in what it answers, and recorded. */
	assert_int_equal(d.last_seen_ms, T0);
	assert_int_equal(store_device_get(f->st, f->prov, dev, &d), STORE_OK);
	assert_int_equal(d.last_seen_ms, T0);
	{
		uint8_t h2[STORE_HASH_LEN];

		hash_of(h2, 100 + 2);
		assert_int_equal(store_device_poll_token(f->st, h2, 0, T0 + 7, &d, &pending), STORE_OK);
		assert_int_equal(d.id, dev2);
		assert_int_equal(d.last_seen_ms, T0 + 7);
		assert_int_equal(store_device_get(f->st, f->prov, dev2, &d), STORE_OK);
		assert_int_equal(d.last_seen_ms, T0 + 7);
	}

	/* Web Push keys; the endpoint token is kept once made. */
	assert_int_equal(store_device_set_push_keys(f->st, dev, "pk1", "au1", NULL, "tok1", &last), STORE_OK);
	assert_int_equal(last, 0);
	assert_int_equal(store_device_set_push_keys(f->st, dev, "pk2", "au2", "srvkey", "tok2", &last), STORE_OK);
	assert_int_equal(store_device_get(f->st, f->prov, dev, &d), STORE_OK);
	assert_string_equal(d.push_p256dh, "pk2");
	assert_string_equal(d.push_auth, "au2");
	assert_string_equal(d.push_token, "tok1");
	assert_int_equal(store_device_by_push_token(f->st, "tok1", &did, &pid, key), STORE_OK);
	assert_int_equal(did, dev);
	assert_int_equal(pid, f->prov);
	assert_string_equal(key, "srvkey");
	assert_int_equal(store_device_by_push_token(f->st, "tok2", &did, &pid, key), STORE_NOTFOUND);
	assert_int_equal(store_device_set_push_keys(f->st, dev + 1000, "pk", "au", NULL, "t", &last), STORE_NOTFOUND);

	/* An encrypted message keeps its content coding; fetch_more says what remains. */
	in.content_encoding = "aes128gcm";
	in.body = (const uint8_t *)"e1";
	in.body_len = 2;
	assert_int_equal(store_message_put(f->st, f->prov, &in, T0, &m, &replayed), STORE_OK);
	assert_string_equal(m.content_encoding, "aes128gcm");
	in.content_encoding = NULL;
	in.body = (const uint8_t *)"p2";
	assert_int_equal(store_message_put(f->st, f->prov, &in, T0, &m, &replayed), STORE_OK);
	in.content_encoding = "gzip";
	assert_int_equal(store_message_put(f->st, f->prov, &in, T0, &m, &replayed), STORE_ERROR);
	assert_int_equal(store_message_get(f->st, f->prov, m.id - 1, &m, NULL, NULL), STORE_OK);
	assert_string_equal(m.content_encoding, "aes128gcm");
	assert_int_equal(store_device_poll(f->st, dev, 0, T0, &d, &pending), STORE_OK);
	assert_int_equal(pending, 1);
	assert_int_equal(store_device_fetch_more(f->st, dev, 0, 1, T0, collect_msg, &l, &n, &more), STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(more, 1);
	assert_string_equal(l.body[0], "e1");
	assert_int_equal(store_device_fetch_more(f->st, dev, 1, 5, T0, collect_msg, &l, &n, &more), STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(more, 0);

	/* Events on messages by sequence number; unknown numbers are skipped. */
	seqs[0] = 2;
	seqs[1] = 77;
	assert_int_equal(store_seq_event(f->st, dev, seqs, 2, "undecryptable", "bad tag", T0 + 1), STORE_OK);
	assert_int_equal(store_message_get(f->st, f->prov, m.id + 1, &m, collect_event, &ev), STORE_OK);
	assert_int_equal(m.seq, 2);
	assert_string_equal(ev.e[ev.n - 1].what, "undecryptable");
	assert_string_equal(ev.e[ev.n - 1].detail, "bad tag");

	/* Tags, queries and batches. */
	assert_int_equal(store_device_set_tags(f->st, f->prov, dev, two, 2), STORE_OK);
	assert_int_equal(store_device_set_tags(f->st, f->prov, dev2, two + 1, 1), STORE_OK);
	assert_int_equal(store_device_set_tags(f->st, f->prov2, dev, two, 1), STORE_NOTFOUND);
	assert_int_equal(store_device_tags(f->st, dev, tags, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_string_equal(tags[0], "blue");
	assert_string_equal(tags[1], "red");
	n = 0;
	assert_int_equal(store_device_query(f->st, &(struct store_device_query){.provider_id = f->prov, .tag = "red"},
					    count_device, &n),
			 STORE_OK);
	assert_int_equal(n, 2);
	n = 0;
	assert_int_equal(store_device_query(f->st,
					    &(struct store_device_query){.provider_id = f->prov, .msisdn = "+15550002"},
					    count_device, &n),
			 STORE_OK);
	assert_int_equal(n, 1);
	{
		struct store_batch_in b = {.tag = "red", .urgency = URG_NORMAL, .ttl_s = 60, .topic = "t"};
		int64_t list[] = {dev2, other};

		b.body = (const uint8_t *)"b";
		b.body_len = 1;
		assert_int_equal(store_batch_put(f->st, f->prov, &b, T0 + 2, &batch, &count), STORE_OK);
		assert_int_equal(count, 2);
		assert_int_equal(store_batch_put(f->st, f->prov, &b, T0 + 3, &batch, &count), STORE_OK);
		assert_int_equal(store_batch_get(f->st, f->prov, batch, counts, &total, &created), STORE_OK);
		assert_int_equal(total, 2);
		assert_int_equal(counts[MSG_QUEUED], 2);
		assert_int_equal(created, T0 + 3);
		assert_int_equal(store_batch_get(f->st, f->prov2, batch, counts, &total, &created), STORE_NOTFOUND);
		assert_int_equal(store_device_get(f->st, f->prov, dev2, &d), STORE_OK);
		assert_int_equal(d.last_seq, 2);
		assert_int_equal(d.pending, 1); /* the first batch's message was replaced (same topic) */
		b.tag = NULL;
		b.devices = list;
		b.ndevices = 2;
		assert_int_equal(store_batch_put(f->st, f->prov, &b, T0 + 4, &batch, &count), STORE_NOTFOUND);
		b.ndevices = 1;
		assert_int_equal(store_batch_put(f->st, f->prov, &b, T0 + 4, &batch, &count), STORE_OK);
		assert_int_equal(count, 1);
	}
	/* Deleting a device drops its tags. */
	assert_int_equal(store_device_delete(f->st, f->prov, dev2), STORE_OK);
	assert_int_equal(store_device_tags(f->st, dev2, tags, &n), STORE_OK);
	assert_int_equal(n, 0);
	/* Deleting a device with a push endpoint leaves the endpoint gone (410), not unknown (404). */
	assert_int_equal(store_device_delete(f->st, f->prov, dev), STORE_OK);
	assert_int_equal(store_device_by_push_token(f->st, "tok1", &did, &pid, key), STORE_GONE);
	assert_int_equal(store_device_by_push_token(f->st, "tok2", &did, &pid, key), STORE_NOTFOUND);
}

struct typelist {
	char s[1024];
};

static int collect_type(void *arg, const struct store_event_out *e)
{
	struct typelist *t = arg;
	size_t n = strlen(t->s);
	snprintf(t->s + n, sizeof(t->s) - n, "%s%s", n ? " " : "", e->type);
	return 0;
}

static void test_wake_failed_retry(void **state)
{
	struct fixture *f = *state;
	int64_t dev = add_device(f->st, f->prov, "+15550001", 1), gw = gateway(f->st, "gw", 60);
	struct store_wake_job j = job_for(dev, 1, T0), leased[2], got;
	struct store_device d;
	struct store_message m;
	struct evlist ev = {0};
	int64_t a = put(f->st, f->prov, dev, T0), t = T0, delay = 5000;
	struct store_webhook w = {.provider_id = f->prov};
	uint8_t secret[STORE_SECRET_LEN] = {1};
	int n;

	snprintf(w.url, sizeof(w.url), "https://example.com/hook");
	snprintf(w.events, sizeof(w.events),
		 ",message.wake_sent,message.sms_delivered,message.undeliverable,device.unreachable,");
	assert_int_equal(store_webhook_add(f->st, &w, secret, T0), STORE_OK);
	assert_int_equal(store_wake_job_add(f->st, &j, T0), STORE_OK);
	for (int i = 1; i <= 4; i++, delay *= 2) {
		assert_int_equal(store_wake_lease(f->st, gw, 2, 60000, t, leased, &n), STORE_OK);
		assert_int_equal(n, 1);
		assert_int_equal(leased[0].attempts, i);
		assert_int_equal(store_wake_report(f->st, gw, j.id, OUTCOME_FAILED, -1, "CMS ERROR 500", 0, t + 1),
				 STORE_OK);
		assert_int_equal(store_wake_job_get(f->st, j.id, &got), STORE_OK);
		assert_int_equal(got.state, JOB_QUEUED);
		assert_string_equal(got.error, "CMS ERROR 500");
		/* Back in the queue means nobody holds it... */
		assert_int_equal(store_wake_report(f->st, gw, j.id, OUTCOME_FAILED, -1, "x", 0, t + 2), STORE_NOTFOUND);
		/* ...and it is due again only after a back-off (5 s, doubling). */
		assert_int_equal(got.due_ms, t + 1 + delay);
		assert_int_equal(store_wake_lease(f->st, gw, 2, 60000, t + delay, leased, &n), STORE_OK);
		assert_int_equal(n, 0);
		t += 1 + delay;
	}
	assert_int_equal(store_wake_lease(f->st, gw, 2, 60000, t, leased, &n), STORE_OK);
	assert_int_equal(leased[0].attempts, 5);
	assert_int_equal(store_wake_report(f->st, gw, j.id, OUTCOME_FAILED, -1, "CMS ERROR 500", 0, t + 1), STORE_OK);
	assert_int_equal(store_wake_job_get(f->st, j.id, &got), STORE_OK);
	assert_int_equal(got.state, JOB_FAILED);
	/* No SMS ever left a modem: nothing counts against the device. */
	assert_int_equal(store_device_get(f->st, 0, dev, &d), STORE_OK);
	assert_int_equal(d.wake_state, WAKE_IDLE);
	assert_int_equal(d.wake_attempts, 0);
	assert_int_equal(msg_state(f->st, a), MSG_QUEUED);
	assert_int_equal(store_message_get(f->st, f->prov, a, &m, collect_event, &ev), STORE_OK);
	assert_int_equal(ev.n, 6); /* queued + 5 wake_failed notes */
	assert_string_equal(ev.e[5].what, "wake_failed");
	assert_int_equal(ev.e[5].state, -1);

	/* Undeliverable is final at once; a long error is cut to fit. */
	{
		struct store_wake_job k = job_for(dev, 2, t);
		char longerr[400];
		memset(longerr, 'e', sizeof(longerr) - 1);
		longerr[sizeof(longerr) - 1] = '\0';
		wake_sent(f->st, gw, dev, t, t);
		assert_int_equal(store_wake_job_add(f->st, &k, t), STORE_OK);
		assert_int_equal(store_wake_lease(f->st, gw, 2, 60000, t, leased, &n), STORE_OK);
		assert_int_equal(n, 1);
		assert_int_equal(store_wake_report(f->st, gw, k.id, OUTCOME_UNDELIVERABLE, -1, longerr, 0, t + 1),
				 STORE_OK);
		assert_int_equal(store_wake_job_get(f->st, k.id, &got), STORE_OK);
		assert_int_equal(got.state, JOB_UNDELIVERABLE);
		assert_int_equal(strlen(got.error), STORE_ERROR_MAX);
		assert_int_equal(store_device_get(f->st, 0, dev, &d), STORE_OK);
		assert_int_equal(d.wake_state, WAKE_UNREACHABLE);
	}
	/* The provider hears of the SMS, the network's refusal and the device left to its polls;
	 * the endpoint made before has each of them waiting in its outbox. */
	{
		struct typelist tl = {{0}};
		struct store_webhook w2;
		assert_int_equal(store_events_after(f->st, f->prov, 0, 100, collect_type, &tl), STORE_OK);
		assert_string_equal(tl.s, "message.wake_sent message.undeliverable device.unreachable");
		assert_int_equal(store_webhook_get(f->st, f->prov, w.id, &w2), STORE_OK);
		assert_int_equal(w2.backlog, 3);
		assert_int_equal(store_webhook_get(f->st, f->prov + 1, w.id, &w2), STORE_NOTFOUND);
	}
}

/* Is anyone taking the jobs? */
static void test_wake_backlog(void **state)
{
	struct fixture *f = *state;
	int64_t d1 = add_device(f->st, f->prov, "+15550001", 1), d2 = add_device(f->st, f->prov, "+15550002", 2);
	struct store_wake_job j1 = job_for(d1, 1, T0), j2 = job_for(d2, 1, T0 + 500), leased[2];
	struct store_wake_backlog b;
	int64_t gw;
	int n;

	assert_int_equal(store_wake_backlog(f->st, T0, &b), STORE_OK);
	assert_int_equal(b.waiting, 0);
	assert_int_equal(b.gateway_seen_ms, 0);
	put(f->st, f->prov, d1, T0);
	put(f->st, f->prov, d2, T0);
	assert_int_equal(store_wake_job_add(f->st, &j1, T0), STORE_OK);
	assert_int_equal(store_wake_job_add(f->st, &j2, T0), STORE_OK);
	assert_int_equal(store_wake_backlog(f->st, T0 + 100, &b), STORE_OK);
	assert_int_equal(b.waiting, 1); /* j2 is not due yet */
	assert_int_equal(b.oldest_ms, T0);
	assert_int_equal(store_wake_backlog(f->st, T0 + 1000, &b), STORE_OK);
	assert_int_equal(b.waiting, 2);
	gw = gateway(f->st, "gw", 60);
	assert_int_equal(store_wake_lease(f->st, gw, 1, 1000, T0 + 1000, leased, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(store_wake_backlog(f->st, T0 + 1500, &b), STORE_OK);
	assert_int_equal(b.waiting, 1);
	assert_int_equal(b.oldest_ms, T0 + 500);
	assert_int_equal(b.gateway_seen_ms, T0 + 1000);
	/* A lease that runs out puts its job back among the waiting ones. */
	assert_int_equal(store_wake_backlog(f->st, T0 + 2000, &b), STORE_OK);
	assert_int_equal(b.waiting, 2);
	assert_int_equal(b.oldest_ms, T0 + 500);
}

struct candlist {
	int n;
	struct store_wake_candidate c[8];
	struct store *st;
	int64_t add_job_for; /* the callback creates a job for this device, as the scheduler does */
};

static int collect_candidate(void *arg, const struct store_wake_candidate *c)
{
	struct candlist *l = arg;

	if (l->n < 8)
		l->c[l->n] = *c;
	l->n++;
	if (c->dev.id == l->add_job_for) {
		uint64_t ctr;
		struct store_wake_job j;
		assert_int_equal(store_wake_counter_next(l->st, c->dev.id, &ctr), STORE_OK);
		j = job_for(c->dev.id, ctr, T0);
		assert_int_equal(store_wake_job_add(l->st, &j, T0), STORE_OK);
	}
	return 0;
}

static void test_wake_candidates(void **state)
{
	struct fixture *f = *state;
	int64_t a = add_device(f->st, f->prov, "+15550001", 1);
	int64_t b = add_device(f->st, f->prov2, "+15550002", 2);
	int64_t c = add_device(f->st, f->prov, "+15550003", 3);
	struct candlist l = {.st = f->st};
	struct store_message m;
	struct store_device d;
	struct fetchlog fl = {0};
	int count;

	assert_int_equal(store_wake_candidates(f->st, T0, collect_candidate, &l), STORE_OK);
	assert_int_equal(l.n, 0);
	assert_int_equal(store_provider_set_budget(f->st, "other", 10), STORE_OK);
	{
		struct store_message_in in = {
			.device_id = a, .urgency = URG_HIGH, .ttl_s = 100, .body = (const uint8_t *)"x", .body_len = 1};
		assert_int_equal(store_message_put(f->st, f->prov, &in, T0 + 5, &m, NULL), STORE_OK);
		in.urgency = URG_LOW;
		in.ttl_s = 500;
		assert_int_equal(store_message_put(f->st, f->prov, &in, T0 + 1, &m, NULL), STORE_OK);
		in.ttl_s = 10;
		assert_int_equal(store_message_put(f->st, f->prov, &in, T0 + 7, &m, NULL), STORE_OK);
	}
	put(f->st, f->prov2, b, T0 + 2);
	put(f->st, f->prov, c, T0 + 3);
	/* c's only message is fetched: not a candidate. */
	assert_int_equal(store_device_fetch(f->st, c, 0, 10, T0 + 4, collect_msg, &fl, &count), STORE_OK);

	l.add_job_for = b;
	assert_int_equal(store_wake_candidates(f->st, T0 + 8, collect_candidate, &l), STORE_OK);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.c[0].dev.id, a);
	assert_int_equal(l.c[0].npending, 3);
	assert_int_equal(l.c[0].oldest_ms[URG_HIGH], T0 + 5);
	assert_int_equal(l.c[0].oldest_ms[URG_LOW], T0 + 1);
	assert_int_equal(l.c[0].oldest_ms[URG_NORMAL], 0);
	assert_int_equal(l.c[0].newest_expiry_ms, T0 + 1 + 500 * 1000);
	assert_int_equal(l.c[0].budget_day, 0);
	assert_int_equal(l.c[0].job_state, -1);
	assert_int_equal(l.c[1].dev.id, b);
	assert_int_equal(l.c[1].budget_day, 10);
	assert_int_equal(l.c[1].budget_used, 0);
	assert_int_equal(l.c[1].wakes_day, 0);

	/* The job made in the callback now counts; expired messages no longer do. */
	memset(&l, 0, sizeof(l));
	l.st = f->st;
	assert_int_equal(store_wake_candidates(f->st, T0 + 200 * 1000, collect_candidate, &l), STORE_OK);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.c[0].npending, 1);
	assert_int_equal(l.c[1].wakes_hour, 1);
	assert_int_equal(l.c[1].wakes_day, 1);
	assert_int_equal(l.c[1].budget_used, 1);
	assert_int_equal(l.c[1].dev.wake_state, WAKE_IDLE); /* a job is not an SMS sent */
	assert_int_equal(l.c[1].job_state, JOB_QUEUED);
	assert_int_equal(l.c[1].job_created_ms, T0);
	assert_int_equal(l.c[1].job_attempts, 0);
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_wake_candidates(f->st, T0 + 3600 * 1000 + 1, collect_candidate, &l), STORE_OK);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.c[0].wakes_hour, 0);
	assert_int_equal(l.c[0].wakes_day, 1);

	assert_int_equal(store_device_set_wake_state(f->st, b, WAKE_UNREACHABLE, T0), STORE_OK);
	assert_int_equal(store_device_get(f->st, 0, b, &d), STORE_OK);
	assert_int_equal(d.wake_state, WAKE_UNREACHABLE);
	assert_int_equal(d.wake_attempts, 0);
	assert_int_equal(store_device_set_wake_state(f->st, b, WAKE_IDLE, T0), STORE_OK);
	assert_int_equal(store_device_get(f->st, 0, b, &d), STORE_OK);
	assert_int_equal(d.wake_state, WAKE_IDLE);
	assert_int_equal(d.wake_attempts, 0);
	assert_int_equal(d.wake_sent_ms, 0);
	assert_int_equal(store_device_set_wake_state(f->st, b, 3, T0), STORE_ERROR);
	assert_int_equal(store_device_set_wake_state(f->st, b + 99, WAKE_IDLE, T0), STORE_NOTFOUND);
}

/* ---- wake decisions checked where the job is added (store_wake_job_add's guard) ---- */

struct seen {
	int64_t dev;
	int found;
	struct store_wake_candidate c;
};

static int find_candidate(void *arg, const struct store_wake_candidate *c)
{
	struct seen *s = arg;

	if (c->dev.id == s->dev) {
		s->c = *c;
		s->found = 1;
	}
	return 0;
}

/* The device's candidate as a scheduler pass at now reads it; STORE_NOTFOUND when it is none. */
static int snapshot(struct store *st, int64_t dev, int64_t now, struct store_wake_candidate *out)
{
	struct seen s = {.dev = dev};
	int rc = store_wake_candidates(st, now, find_candidate, &s);

	if (rc == STORE_OK && !s.found)
		rc = STORE_NOTFOUND;
	*out = s.c;
	return rc;
}

static struct store_wake_candidate candidate_of(struct store *st, int64_t dev, int64_t now)
{
	struct store_wake_candidate c;

	assert_int_equal(snapshot(st, dev, now, &c), STORE_OK);
	return c;
}

/* The payload of a test's guarded job: its counter, as the store gave it. */
static int counter_payload(void *arg, struct store_wake_job *job)
{
	(void)arg;
	memcpy(job->payload, &job->ctr, sizeof(job->ctr));
	job->payload_len = sizeof(job->ctr);
	return 0;
}

/* A job decided as the scheduler decides: from candidate c, guarded, its counter and payload
 * made where it is added. */
static int decide(struct store *st, const struct store_wake_candidate *c, int per_hour, int per_day, int64_t now,
		  struct store_wake_job *j)
{
	*j = job_for(c->dev.id, 0, now);
	j->payload_len = 0;
	j->guard.check = 1;
	j->guard.last_job_id = c->job_id;
	j->guard.per_hour = per_hour;
	j->guard.per_day = per_day;
	j->build = counter_payload;
	return store_wake_job_add(st, j, now);
}

/* The gateway leases the job (the only due one) and reports it delivered. */
static void finish(struct store *st, int64_t gw, int64_t job_id, int64_t now)
{
	struct store_wake_job leased[4];
	int n = 0;

	assert_int_equal(store_wake_lease(st, gw, 4, 60000, now, leased, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(leased[0].id, job_id);
	assert_int_equal(store_wake_report(st, gw, job_id, OUTCOME_DELIVERED, 7, NULL, now, now), STORE_OK);
}

static int64_t put_days(struct store *st, int64_t prov, int64_t dev, int64_t now)
{
	struct store_message m;

	assert_int_equal(put_full(st, prov, dev, NULL, NULL, 3 * 86400, now, &m, NULL), STORE_OK);
	return m.id;
}

/* A decision turns into a job only if it still holds where the job is added: the device's newest
 * job is the one the candidate saw, its limits and its provider's budget counted again. A
 * refusal adds nothing and spends no counter. */
static void test_wake_guard(void **state)
{
	struct fixture *f = *state;
	int64_t dev = add_device(f->st, f->prov, "+15550001", 1), dev2 = add_device(f->st, f->prov, "+15550002", 2);
	int64_t gw = gateway(f->st, "gw", 900), t = T0 + 10;
	struct store_wake_candidate old, cur;
	struct store_wake_job j1, j2, j3, x, got;
	struct store_device d;
	const char *err = NULL;
	struct store *other = reopen(f, &err);
	uint64_t ctr;

	put_days(f->st, f->prov, dev, T0);
	put_days(f->st, f->prov, dev2, T0);
	old = candidate_of(f->st, dev, T0 + 1);
	assert_int_equal(old.job_id, 0);
	assert_int_equal(old.job_state, -1);

	/* The decision holds: the job is added with the device's next counter, in its payload. */
	assert_int_equal(decide(f->st, &old, 0, 0, t, &j1), STORE_OK);
	assert_true(j1.id > 0);
	assert_int_equal(j1.refused, WAKE_REFUSED_NONE);
	assert_int_equal(j1.ctr, 1);
	assert_int_equal(store_wake_job_get(f->st, j1.id, &got), STORE_OK);
	assert_int_equal(got.ctr, 1);
	assert_int_equal(got.payload_len, sizeof(uint64_t));
	assert_memory_equal(got.payload, &j1.ctr, sizeof(uint64_t));

	/* Decided again from the old view, by another server on the same store, while the job is
	 * outstanding and once it is delivered: stale both times, no second job, no counter taken. */
	assert_non_null(other);
	assert_int_equal(decide(other, &old, 0, 0, t + 1, &x), STORE_STALE);
	assert_int_equal(x.refused, WAKE_REFUSED_STALE);
	finish(f->st, gw, j1.id, t + 2);
	assert_int_equal(decide(other, &old, 0, 0, t + 3, &x), STORE_STALE);
	assert_int_equal(x.refused, WAKE_REFUSED_STALE);
	assert_int_equal(x.id, 0);
	store_close(other);
	assert_int_equal(store_device_get(f->st, 0, dev, &d), STORE_OK);
	assert_int_equal(d.wake_ctr, 1);
	cur = candidate_of(f->st, dev, t + 4);
	assert_int_equal(cur.job_id, j1.id);
	assert_int_equal(cur.job_state, JOB_DELIVERED);
	assert_int_equal(cur.wakes_hour, 1);

	/* From the fresh view: the device's limits are counted where the job is added. */
	assert_int_equal(decide(f->st, &cur, 1, 0, t + 5, &x), STORE_STALE);
	assert_int_equal(x.refused, WAKE_REFUSED_DEVICE_LIMIT);
	assert_int_equal(decide(f->st, &cur, 0, 1, t + 5, &x), STORE_STALE);
	assert_int_equal(x.refused, WAKE_REFUSED_DEVICE_LIMIT);
	assert_int_equal(decide(f->st, &cur, 2, 2, t + 5, &j2), STORE_OK);
	assert_int_equal(j2.ctr, 2);
	finish(f->st, gw, j2.id, t + 6);
	/* An hour after the first two, the hourly limit has room again; the daily one does not. */
	cur = candidate_of(f->st, dev, t + 6 + 3600 * 1000LL);
	assert_int_equal(cur.job_id, j2.id);
	assert_int_equal(decide(f->st, &cur, 2, 2, t + 6 + 3600 * 1000LL, &x), STORE_STALE);
	assert_int_equal(x.refused, WAKE_REFUSED_DEVICE_LIMIT);
	assert_int_equal(decide(f->st, &cur, 2, 3, t + 6 + 3600 * 1000LL, &j3), STORE_OK);
	assert_int_equal(j3.ctr, 3);
	finish(f->st, gw, j3.id, t + 7 + 3600 * 1000LL);

	/* The provider's budget (3 jobs so far): spent for every device of the provider, the
	 * other provider's unaffected. */
	assert_int_equal(store_provider_set_budget(f->st, "acme", 3), STORE_OK);
	cur = candidate_of(f->st, dev2, t + 8 + 3600 * 1000LL);
	assert_int_equal(cur.job_id, 0);
	assert_int_equal(decide(f->st, &cur, 0, 0, t + 8 + 3600 * 1000LL, &x), STORE_STALE);
	assert_int_equal(x.refused, WAKE_REFUSED_BUDGET);
	assert_int_equal(store_provider_set_budget(f->st, "acme", 4), STORE_OK);
	assert_int_equal(decide(f->st, &cur, 0, 0, t + 8 + 3600 * 1000LL, &x), STORE_OK);
	assert_int_equal(x.ctr, 1); /* dev2's own first counter */
	/* A day after the first two, they have left the budget's window. */
	assert_int_equal(store_provider_set_budget(f->st, "acme", 3), STORE_OK);
	cur = candidate_of(f->st, dev, t + 86400 * 1000LL + 4);
	assert_int_equal(decide(f->st, &cur, 0, 0, t + 86400 * 1000LL + 4, &x), STORE_STALE);
	assert_int_equal(x.refused, WAKE_REFUSED_BUDGET);
	assert_int_equal(decide(f->st, &cur, 0, 0, t + 86400 * 1000LL + 5, &x), STORE_OK);

	/* Counters taken with store_wake_counter_next and a guarded job's keep one sequence. */
	assert_int_equal(store_wake_counter_next(f->st, dev2, &ctr), STORE_OK);
	assert_int_equal(ctr, 2);

	/* Misuse and unknown devices. */
	cur.dev.id = dev2 + 1000;
	assert_int_equal(decide(f->st, &cur, 0, 0, t, &x), STORE_NOTFOUND);
	cur.job_id = -1;
	assert_int_equal(decide(f->st, &cur, 0, 0, t, &x), STORE_ERROR);
}

/* A scheduler on each of nthreads stores (two threads per store here), deciding about one
 * device at the same moment, round after round: each round every thread takes its view, then
 * all add their job at once; the main thread finishes the round's job (lease, delivered). */
#define RACE_THREADS 6
#define RACE_ROUNDS 8

struct race {
	struct store *st[RACE_THREADS];
	int64_t dev;
	int per_hour, per_day;
	pthread_barrier_t bar;
	int rc[RACE_ROUNDS][RACE_THREADS];
	int refused[RACE_ROUNDS][RACE_THREADS];
	int64_t job[RACE_ROUNDS][RACE_THREADS];
};

struct race_arg {
	struct race *r;
	int i;
};

static void *race_worker(void *p)
{
	struct race_arg *a = p;
	struct race *r = a->r;

	for (int round = 0; round < RACE_ROUNDS; round++) {
		struct store_wake_candidate c;
		struct store_wake_job j = {0};
		int64_t now = T0 + 1000 + round * 1000;
		int rc;

		pthread_barrier_wait(&r->bar); /* the round begins */
		rc = snapshot(r->st[a->i], r->dev, now, &c);
		pthread_barrier_wait(&r->bar); /* every view is taken */
		if (rc == STORE_OK)
			rc = decide(r->st[a->i], &c, r->per_hour, r->per_day, now, &j);
		r->rc[round][a->i] = rc;
		r->refused[round][a->i] = j.refused;
		r->job[round][a->i] = rc == STORE_OK ? j.id : 0;
		pthread_barrier_wait(&r->bar); /* every decision is in */
	}
	return NULL;
}

/* Runs the rounds; the main thread checks each and finishes its job. *jobs: how many were made. */
static void race_run(struct fixture *f, struct race *r, int64_t gw, int *jobs)
{
	struct race_arg a[RACE_THREADS];
	pthread_t th[RACE_THREADS];
	const char *err = NULL;

	*jobs = 0;
	r->st[0] = f->st;
	for (int i = 1; i < RACE_THREADS; i++) {
		r->st[i] = i < 3 ? reopen(f, &err) : r->st[i - 3];
		assert_non_null(r->st[i]);
	}
	assert_int_equal(pthread_barrier_init(&r->bar, NULL, RACE_THREADS + 1), 0);
	for (int i = 0; i < RACE_THREADS; i++) {
		a[i] = (struct race_arg){r, i};
		assert_int_equal(pthread_create(&th[i], NULL, race_worker, &a[i]), 0);
	}
	for (int round = 0; round < RACE_ROUNDS; round++) {
		int64_t made = 0;
		int ok = 0;

		pthread_barrier_wait(&r->bar);
		pthread_barrier_wait(&r->bar);
		pthread_barrier_wait(&r->bar);
		for (int i = 0; i < RACE_THREADS; i++) {
			if (r->rc[round][i] == STORE_OK) {
				ok++;
				made = r->job[round][i];
			} else if (r->rc[round][i] != STORE_STALE) {
				fail_msg("round %d, thread %d: %s", round, i, store_strerror(r->rc[round][i]));
			}
		}
		if (ok > 1)
			fail_msg("round %d: %d jobs for one decision", round, ok);
		if (ok == 1) {
			finish(f->st, gw, made, T0 + 1500 + round * 1000);
			++*jobs;
		}
	}
	for (int i = 0; i < RACE_THREADS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&r->bar);
	for (int i = 1; i < 3; i++)
		store_close(r->st[i]);
}

/* Servers deciding about one device at the same moment make one job, whoever wins; the losers
 * are told the decision is stale (or the device busy), never a conflict or an error. */
static void test_wake_guard_race(void **state)
{
	struct fixture *f = *state;
	struct race *r = calloc(1, sizeof(*r));
	int64_t gw = gateway(f->st, "gw", 901);
	int jobs = 0;

	assert_non_null(r);
	r->dev = add_device(f->st, f->prov, "+15550001", 1);
	put_days(f->st, f->prov, r->dev, T0);
	race_run(f, r, gw, &jobs);
	assert_int_equal(jobs, RACE_ROUNDS);
	free(r);
}

/* The device's hourly limit holds across servers: 3 jobs in the hour, then every decision is
 * refused for the limit, whichever server makes it. */
static void test_wake_guard_limit_race(void **state)
{
	struct fixture *f = *state;
	struct race *r = calloc(1, sizeof(*r));
	int64_t gw = gateway(f->st, "gw", 902);
	struct store_wake_candidate c;
	int jobs = 0;

	assert_non_null(r);
	r->dev = add_device(f->st, f->prov, "+15550001", 1);
	r->per_hour = 3;
	put_days(f->st, f->prov, r->dev, T0);
	race_run(f, r, gw, &jobs);
	assert_int_equal(jobs, 3);
	for (int round = 3; round < RACE_ROUNDS; round++)
		for (int i = 0; i < RACE_THREADS; i++)
			if (r->refused[round][i] != WAKE_REFUSED_DEVICE_LIMIT &&
			    r->refused[round][i] != WAKE_REFUSED_BUSY)
				fail_msg("round %d, thread %d: refused %d, not for the limit", round, i,
					 r->refused[round][i]);
	c = candidate_of(f->st, r->dev, T0 + 10000);
	assert_int_equal(c.wakes_hour, 3);
	free(r);
}

/* Servers deciding at once over many devices of providers with a budget of K each: exactly K
 * jobs per provider, though every decision was made from a view in which the budgets were
 * untouched. Every thread goes through the providers in the same order (from its own device
 * within each), so that they all reach each provider's last job of the budget together. */
#define BUDGET_PROVIDERS 6
#define BUDGET_PER 8 /* devices per provider */
#define BUDGET_DEVICES (BUDGET_PROVIDERS * BUDGET_PER)
#define BUDGET_K 3
#define BUDGET_THREADS 6 /* on three stores */

struct candlist_all {
	int n;
	struct store_wake_candidate c[BUDGET_DEVICES];
};

struct budget_arg {
	struct store *st;
	struct candlist_all view;
	int offset;
	pthread_barrier_t *bar;
	int ok[BUDGET_PROVIDERS], refused[5], rc;
};

static int collect_all(void *arg, const struct store_wake_candidate *c)
{
	struct candlist_all *l = arg;

	if (l->n < BUDGET_DEVICES)
		l->c[l->n++] = *c;
	return 0;
}

static void *budget_worker(void *p)
{
	struct budget_arg *a = p;

	a->rc = store_wake_candidates(a->st, T0 + 1000, collect_all, &a->view);
	pthread_barrier_wait(a->bar);
	for (int k = 0; k < BUDGET_DEVICES && a->rc == STORE_OK && a->view.n == BUDGET_DEVICES; k++) {
		int prov = k / BUDGET_PER, i = prov * BUDGET_PER + (k + a->offset) % BUDGET_PER;
		const struct store_wake_candidate *c = &a->view.c[i];
		struct store_wake_job j = {0};
		int rc;

		if (c->budget_day > 0 && c->budget_used >= c->budget_day)
			continue; /* what the policy would say from this view: never here */
		rc = decide(a->st, c, 0, 0, T0 + 1000, &j);
		if (rc == STORE_OK)
			a->ok[prov]++;
		else if (rc == STORE_STALE && j.refused > 0 && j.refused < 5)
			a->refused[j.refused]++;
		else
			a->rc = rc;
	}
	return NULL;
}

static void test_wake_guard_budget_race(void **state)
{
	struct fixture *f = *state;
	struct budget_arg *a = calloc(BUDGET_THREADS, sizeof(*a));
	pthread_t th[BUDGET_THREADS];
	pthread_barrier_t bar;
	struct store *st[3] = {f->st};
	struct candlist_all *after = calloc(1, sizeof(*after));
	const char *err = NULL;
	int total[BUDGET_PROVIDERS] = {0}, budget = 0;

	assert_non_null(a);
	assert_non_null(after);
	for (int p = 0; p < BUDGET_PROVIDERS; p++) {
		char name[32];
		int64_t prov = f->prov;
		uint8_t h[STORE_HASH_LEN];

		snprintf(name, sizeof(name), "budget%d", p);
		hash_of(h, 700 + p);
		if (p > 0)
			assert_int_equal(store_provider_add(f->st, name, h, T0, &prov), STORE_OK);
		assert_int_equal(store_provider_set_budget(f->st, p > 0 ? name : "acme", BUDGET_K), STORE_OK);
		for (int i = 0; i < BUDGET_PER; i++) {
			char msisdn[32];
			int64_t dev;

			snprintf(msisdn, sizeof(msisdn), "+1555%04d", p * BUDGET_PER + i);
			dev = add_device(f->st, prov, msisdn, 10 + p * BUDGET_PER + i);
			put_days(f->st, prov, dev, T0);
		}
	}
	for (int i = 1; i < 3; i++) {
		st[i] = reopen(f, &err);
		assert_non_null(st[i]);
	}
	assert_int_equal(pthread_barrier_init(&bar, NULL, BUDGET_THREADS), 0);
	for (int i = 0; i < BUDGET_THREADS; i++) {
		a[i].st = st[i % 3];
		a[i].offset = i;
		a[i].bar = &bar;
		assert_int_equal(pthread_create(&th[i], NULL, budget_worker, &a[i]), 0);
	}
	for (int i = 0; i < BUDGET_THREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(a[i].rc, STORE_OK);
		assert_int_equal(a[i].view.n, BUDGET_DEVICES);
		for (int p = 0; p < BUDGET_PROVIDERS; p++)
			total[p] += a[i].ok[p];
		budget += a[i].refused[WAKE_REFUSED_BUDGET];
	}
	pthread_barrier_destroy(&bar);
	for (int i = 1; i < 3; i++)
		store_close(st[i]);
	for (int p = 0; p < BUDGET_PROVIDERS; p++)
		if (total[p] != BUDGET_K)
			fail_msg("provider %d: %d jobs on a budget of %d", p, total[p], BUDGET_K);
	assert_true(budget > 0);
	/* What the next view says: every budget used up, by exactly K jobs. */
	assert_int_equal(store_wake_candidates(f->st, T0 + 2000, collect_all, after), STORE_OK);
	assert_int_equal(after->n, BUDGET_DEVICES);
	for (int i = 0; i < after->n; i++)
		assert_int_equal(after->c[i].budget_used, BUDGET_K);
	free(after);
	free(a);
}

/* On PostgreSQL a device another transaction holds locked is not waited for: the decision is
 * refused as busy at once, and holds again once the lock is gone. */
static void test_pg_wake_guard_busy(void **state)
{
	struct fixture *f = *state;
	int64_t dev = add_device(f->st, f->prov, "+15550001", 1);
	struct store_wake_candidate c;
	struct store_wake_job j;
	char sql[96];
	PGconn *hold = PQconnectdb(f->path);
	PGresult *res;
	struct timespec t0, t1;

	put_days(f->st, f->prov, dev, T0);
	c = candidate_of(f->st, dev, T0 + 1);
	assert_int_equal(PQstatus(hold), CONNECTION_OK);
	res = PQexec(hold, "BEGIN");
	PQclear(res);
	snprintf(sql, sizeof(sql), "SELECT 1 FROM devices WHERE id = %lld FOR UPDATE", (long long)dev);
	res = PQexec(hold, sql);
	assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
	PQclear(res);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(decide(f->st, &c, 0, 0, T0 + 2, &j), STORE_STALE);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(j.refused, WAKE_REFUSED_BUSY);
	assert_true(t1.tv_sec - t0.tv_sec < 5); /* not waited for */
	res = PQexec(hold, "COMMIT");
	PQclear(res);
	PQfinish(hold);
	assert_int_equal(decide(f->st, &c, 0, 0, T0 + 3, &j), STORE_OK);
	assert_int_equal(j.ctr, 1);
}

/* ---- last seen ---- */

static void test_touch_flush(void **state)
{
	struct fixture *f = *state;
	int64_t dev = add_device(f->st, f->prov, "+15550001", 1);
	int64_t dev2 = add_device(f->st, f->prov, "+15550002", 2), gw = gateway(f->st, "gw", 60);
	struct store_device d;
	const char *err;

	put(f->st, f->prov, dev, T0);
	put(f->st, f->prov, dev2, T0);
	wake_sent(f->st, gw, dev, T0, T0);
	wake_sent(f->st, gw, dev2, T0 + 100, T0 + 100);
	store_device_touch(f->st, dev, T0 + 50);
	store_device_touch(f->st, dev, T0 + 40); /* older: ignored */
	/* Contact before the wakeup went out does not end it. */
	store_device_touch(f->st, dev2, T0 + 50);
	assert_int_equal(store_device_get(f->st, 0, dev, &d), STORE_OK);
	assert_int_equal(d.last_seen_ms, T0 + 50);
	assert_int_equal(d.wake_state, WAKE_IDLE);
	assert_int_equal(d.wake_attempts, 0);
	assert_int_equal(store_device_get(f->st, 0, dev2, &d), STORE_OK);
	assert_int_equal(d.last_seen_ms, T0 + 50);
	assert_int_equal(d.wake_state, WAKE_IN_FLIGHT);

	store_close(f->st);
	f->st = reopen(f, &err);
	assert_non_null(f->st);
	assert_int_equal(store_device_get(f->st, 0, dev, &d), STORE_OK);
	assert_int_equal(d.last_seen_ms, T0 + 50);
	assert_int_equal(d.wake_state, WAKE_IDLE);
	assert_int_equal(d.wake_attempts, 0);
	assert_int_equal(d.wake_sent_ms, 0);
	assert_int_equal(store_device_get(f->st, 0, dev2, &d), STORE_OK);
	assert_int_equal(d.last_seen_ms, T0 + 50);
	assert_int_equal(d.wake_state, WAKE_IN_FLIGHT);
	assert_int_equal(d.wake_attempts, 1);

	/* Many devices at once (the in-memory table grows several times). */
	{
		int64_t ids[300];
		for (int i = 0; i < 300; i++) {
			char msisdn[32];
			snprintf(msisdn, sizeof(msisdn), "+1666%04d", i);
			ids[i] = add_device(f->st, f->prov, msisdn, 1000 + i);
		}
		for (int i = 0; i < 300; i++)
			store_device_touch(f->st, ids[i], T0 + 1000 + i);
		put(f->st, f->prov, dev, T0);
		store_close(f->st);
		f->st = reopen(f, &err);
		assert_non_null(f->st);
		for (int i = 0; i < 300; i++) {
			assert_int_equal(store_device_get(f->st, 0, ids[i], &d), STORE_OK);
			assert_int_equal(d.last_seen_ms, T0 + 1000 + i);
		}
	}
}

static void test_touch_idle_flush(void **state)
{
	struct fixture *f = *state;
	int64_t dev = add_device(f->st, f->prov, "+15550001", 1);
	struct store_stats s0, s1;

	assert_int_equal(store_stats(f->st, &s0), STORE_OK);
	store_device_touch(f->st, dev, T0 + 5);
	/* No write comes; the writer saves it within about a second on its own. */
	for (int i = 0; i < 40; i++) {
		usleep(100 * 1000);
		assert_int_equal(store_stats(f->st, &s1), STORE_OK);
		if (s1.commits > s0.commits)
			break;
	}
	assert_true(s1.commits > s0.commits);
	assert_int_equal(s1.committed_ops, s0.committed_ops);
}

/* ---- group commit ---- */

#define GC_THREADS 8
#define GC_PUTS 500
#define GC_DEVICES 4

struct gc_arg {
	struct store *st;
	int64_t prov;
	int64_t dev[GC_DEVICES];
	int index;
	int failures;
};

static void *gc_worker(void *p)
{
	struct gc_arg *a = p;

	for (int i = 0; i < GC_PUTS; i++) {
		struct store_message m;
		struct store_message_in in = {
			.device_id = a->dev[(a->index + i) % GC_DEVICES],
			.urgency = URG_NORMAL,
			.ttl_s = 3600,
			.body = (const uint8_t *)"payload",
			.body_len = 7,
		};
		if (store_message_put(a->st, a->prov, &in, T0, &m, NULL) != STORE_OK)
			a->failures++;
		/* Reads run alongside on this thread's own connection. */
		if (store_device_has_pending(a->st, in.device_id, 0, T0) != 1)
			a->failures++;
	}
	return NULL;
}

struct notify_count {
	pthread_mutex_t lock;
	int messages;
	int jobs;
};

static void count_message(void *arg, int64_t device_id)
{
	struct notify_count *c = arg;

	(void)device_id;
	pthread_mutex_lock(&c->lock);
	c->messages++;
	pthread_mutex_unlock(&c->lock);
}

static void count_job(void *arg)
{
	struct notify_count *c = arg;

	pthread_mutex_lock(&c->lock);
	c->jobs++;
	pthread_mutex_unlock(&c->lock);
}

struct seqcheck {
	uint64_t next;
	int bad;
};

static int check_seq(void *arg, const struct store_message *m)
{
	struct seqcheck *c = arg;

	if (m->seq != c->next)
		c->bad++;
	c->next++;
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Asynchronous writes: one thread queues many without waiting; each callback runs once, after
 * its group's COMMIT (a read connection already sees the message), with the synchronous verb's
 * result; a thread that queues without waiting gets groups of more than one. */
#define ASYNC_PUTS 200

struct async_put {
	struct store *st;
	struct store_message_in in;
	struct store_message out;
	int replayed;
	int rc;
	int done; /* callbacks seen for this put */
	int seen; /* the message was readable from inside the callback */
};

static pthread_mutex_t async_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t async_cond = PTHREAD_COND_INITIALIZER;
static int async_done;

/* A callback's result, counted for async_wait. */
static void async_record(int *rc_out, int *done, int rc)
{
	pthread_mutex_lock(&async_lock);
	*rc_out = rc;
	(*done)++;
	async_done++;
	pthread_cond_broadcast(&async_cond);
	pthread_mutex_unlock(&async_lock);
}

static void async_put_done(void *arg, int rc)
{
	struct async_put *a = arg;
	struct store_message m;

	a->seen = rc == STORE_OK && store_message_get(a->st, 0, a->out.id, &m, NULL, NULL) == STORE_OK &&
		  m.seq == a->out.seq;
	async_record(&a->rc, &a->done, rc);
}

static void async_wait(int want)
{
	pthread_mutex_lock(&async_lock);
	while (async_done < want)
		pthread_cond_wait(&async_cond, &async_lock);
	pthread_mutex_unlock(&async_lock);
}

static void test_async_writes(void **state)
{
	struct fixture *f = *state;
	static struct async_put puts[ASYNC_PUTS];
	struct store_stats s0, s;
	struct store_device d = {0};
	uint8_t h[STORE_HASH_LEN];
	int64_t dev = add_device(f->st, f->prov, "+15550001000", 1);
	struct seqcheck sc = {.next = 1};
	int count = -1, want = 0;

	async_done = 0;
	assert_int_equal(store_stats(f->st, &s0), STORE_OK);
	for (int i = 0; i < ASYNC_PUTS; i++) {
		struct async_put *a = &puts[i];
		memset(a, 0, sizeof(*a));
		a->st = f->st;
		a->in.device_id = dev;
		a->in.urgency = URG_NORMAL;
		a->in.ttl_s = 3600;
		a->in.body = (const uint8_t *)"x";
		a->in.body_len = 1;
		a->rc = -1;
		assert_int_equal(
			store_message_put_async(f->st, f->prov, &a->in, T0, &a->out, &a->replayed, async_put_done, a),
			STORE_OK);
	}
	want += ASYNC_PUTS;
	async_wait(want);
	assert_int_equal(store_stats(f->st, &s), STORE_OK);
	print_message("async: %d puts queued by one thread in %llu commits, largest group %llu\n", ASYNC_PUTS,
		      (unsigned long long)(s.commits - s0.commits), (unsigned long long)s.largest_group);
	for (int i = 0; i < ASYNC_PUTS; i++) {
		assert_int_equal(puts[i].done, 1);
		assert_int_equal(puts[i].rc, STORE_OK);
		assert_true(puts[i].seen);
		assert_int_equal(puts[i].out.seq, i + 1); /* queued in order, committed in order */
	}
	assert_int_equal(s.committed_ops - s0.committed_ops, ASYNC_PUTS);
	assert_true(s.commits - s0.commits < ASYNC_PUTS);
	assert_true(s.largest_group > 1);

	/* A failed group: the callback gets STORE_UNAVAILABLE and nothing is kept. */
	store_debug_fail_commits(f->st, 1);
	memset(&puts[0], 0, sizeof(puts[0]));
	puts[0].st = f->st;
	puts[0].in = (struct store_message_in){.device_id = dev, .urgency = URG_NORMAL, .ttl_s = 60};
	assert_int_equal(store_message_put_async(f->st, f->prov, &puts[0].in, T0, &puts[0].out, &puts[0].replayed,
						 async_put_done, &puts[0]),
			 STORE_OK);
	async_wait(++want);
	assert_int_equal(puts[0].rc, STORE_UNAVAILABLE);
	assert_false(puts[0].seen);

	/* Bad input is refused at once, with no callback. */
	puts[1].in.urgency = URG_COUNT;
	assert_int_equal(store_message_put_async(f->st, f->prov, &puts[1].in, T0, &puts[1].out, &puts[1].replayed,
						 async_put_done, &puts[1]),
			 STORE_ERROR);

	/* The acknowledgement's count and a registration's id arrive with their callbacks. */
	memset(&puts[2], 0, sizeof(puts[2]));
	puts[2].st = f->st;
	assert_int_equal(store_device_fetch(f->st, dev, 0, 10, T0, check_seq, &sc, NULL), STORE_OK);
	assert_int_equal(sc.bad, 0);
	assert_int_equal(store_ack_async(f->st, dev, 5, 0, 0, T0, &count, async_put_done, &puts[2]), STORE_OK);
	async_wait(++want);
	assert_int_equal(puts[2].rc, STORE_OK);
	assert_int_equal(count, 5);
	d.provider_id = f->prov;
	snprintf(d.msisdn, sizeof(d.msisdn), "+15550001001");
	d.quiet_start_min = d.quiet_end_min = -1;
	hash_of(h, 7777);
	memset(&puts[3], 0, sizeof(puts[3]));
	puts[3].st = f->st;
	assert_int_equal(store_device_add_async(f->st, &d, h, T0, async_put_done, &puts[3]), STORE_OK);
	async_wait(++want);
	assert_int_equal(puts[3].rc, STORE_OK);
	assert_true(d.id > dev);
	assert_int_equal(async_done, want); /* nothing called back twice or for a refused write */
}

/* store_device_fetch_more_async: the messages come with the callback, already durable as
 * fetched; a group that fails hands over nothing and marks nothing; an unknown device is told
 * through the callback, bad input at once. On both backends. */
struct async_fetch {
	struct store *st;
	struct store_fetched *msgs;
	int64_t first_id; /* read from inside the callback: */
	int first_state;  /* the first message's state in the store then (-1: not read) */
	int count, more, rc, done;
};

static void async_fetch_done(void *arg, int rc)
{
	struct async_fetch *a = arg;
	struct store_message m;

	a->first_state = -1;
	if (a->first_id > 0 && store_message_get(a->st, 0, a->first_id, &m, NULL, NULL) == STORE_OK)
		a->first_state = m.state;
	async_record(&a->rc, &a->done, rc);
}

static void fetch_async_case(struct fixture *f, struct async_fetch *a, int64_t dev, uint64_t after, int max,
			     int64_t first_id)
{
	int want;

	pthread_mutex_lock(&async_lock);
	want = async_done + 1;
	pthread_mutex_unlock(&async_lock);
	store_fetched_free(a->msgs);
	*a = (struct async_fetch){.st = f->st, .first_id = first_id, .rc = -1, .count = -1, .more = -1};
	assert_int_equal(store_device_fetch_more_async(f->st, dev, after, max, T0 + 5, &a->msgs, &a->count, &a->more,
						       async_fetch_done, a),
			 STORE_OK);
	async_wait(want);
	assert_int_equal(a->done, 1);
}

static void test_fetch_async(void **state)
{
	struct fixture *f = *state;
	struct async_fetch a = {0};
	int64_t dev = add_device(f->st, f->prov, "+15550001200", 1), ids[6];
	struct store_fetched *m;
	int n = 0;

	for (int i = 0; i < 5; i++)
		ids[i] = put(f->st, f->prov, dev, T0);
	fetch_async_case(f, &a, dev, 0, 3, ids[0]);
	assert_int_equal(a.rc, STORE_OK);
	assert_int_equal(a.count, 3);
	assert_int_equal(a.more, 1);
	assert_int_equal(a.first_state, MSG_FETCHED); /* durable before the callback */
	for (m = a.msgs; m != NULL; m = m->next, n++) {
		assert_int_equal(m->m.seq, n + 1);
		assert_int_equal(m->m.id, ids[n]);
		assert_int_equal(m->m.state, MSG_FETCHED);
		assert_int_equal(m->m.updated_ms, T0 + 5);
		assert_int_equal(m->m.body_len, 5);
		assert_memory_equal(m->m.body, "hello", 5);
	}
	assert_int_equal(n, 3);
	assert_int_equal(msg_state(f->st, ids[3]), MSG_QUEUED);

	/* The rest, and nothing more after them. */
	fetch_async_case(f, &a, dev, 3, 10, ids[3]);
	assert_int_equal(a.rc, STORE_OK);
	assert_int_equal(a.count, 2);
	assert_int_equal(a.more, 0);
	assert_int_equal(a.msgs->m.seq, 4);
	assert_int_equal(a.msgs->next->m.seq, 5);
	assert_null(a.msgs->next->next);
	assert_int_equal(msg_state(f->st, ids[4]), MSG_FETCHED);

	/* A failed commit: no messages, and the new one is not marked. */
	ids[5] = put(f->st, f->prov, dev, T0);
	store_debug_fail_commits(f->st, 1);
	fetch_async_case(f, &a, dev, 5, 10, ids[5]);
	assert_int_equal(a.rc, STORE_UNAVAILABLE);
	assert_null(a.msgs);
	assert_int_equal(a.count, 0);
	assert_int_equal(a.more, 0);
	assert_int_equal(msg_state(f->st, ids[5]), MSG_QUEUED);

	/* An unknown device through the callback; bad input at once, with no callback. */
	fetch_async_case(f, &a, dev + 99, 0, 10, 0);
	assert_int_equal(a.rc, STORE_NOTFOUND);
	assert_null(a.msgs);
	assert_int_equal(a.count, 0);
	assert_int_equal(
		store_device_fetch_more_async(f->st, dev, 0, 0, T0, &a.msgs, &a.count, &a.more, async_fetch_done, &a),
		STORE_ERROR);
	assert_int_equal(store_device_fetch_more_async(f->st, dev, 0, 10, T0, &a.msgs, &a.count, &a.more, NULL, &a),
			 STORE_ERROR);
	assert_int_equal(a.done, 1);

	/* The one left: fetched now. */
	fetch_async_case(f, &a, dev, 5, 10, ids[5]);
	assert_int_equal(a.rc, STORE_OK);
	assert_int_equal(a.count, 1);
	assert_int_equal(a.first_state, MSG_FETCHED);
	store_fetched_free(a.msgs);
}

/* store_set_notify returns only once no callback of the notification it replaces is running:
 * the server frees what its callbacks reach right after (main.c). A slow callback is running
 * when the notification is cleared; the clearing waits for it, and nothing is called after. */
struct slow_notify {
	int running;
	int calls;
};

static void slow_added(void *arg, int64_t device_id)
{
	struct slow_notify *s = arg;

	(void)device_id;
	__atomic_store_n(&s->running, 1, __ATOMIC_SEQ_CST);
	usleep(200 * 1000);
	__atomic_add_fetch(&s->calls, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&s->running, 0, __ATOMIC_SEQ_CST);
}

static void test_notify_cleared_waits(void **state)
{
	struct fixture *f = *state;
	static struct slow_notify sn;
	struct store_notify nt = {.message_added = slow_added, .arg = &sn};
	int64_t dev = add_device(f->st, f->prov, "+15550007400", 74);
	int i, calls;

	memset(&sn, 0, sizeof(sn));
	store_set_notify(f->st, &nt);
	/* On PostgreSQL the notification comes through LISTEN, once its connection is up. */
	for (i = 0; i < 500 && !__atomic_load_n(&sn.running, __ATOMIC_SEQ_CST); i++) {
		if (i % 10 == 0)
			(void)put(f->st, f->prov, dev, T0 + i);
		usleep(10 * 1000);
	}
	assert_int_equal(__atomic_load_n(&sn.running, __ATOMIC_SEQ_CST), 1);
	store_set_notify(f->st, NULL);
	assert_int_equal(__atomic_load_n(&sn.running, __ATOMIC_SEQ_CST), 0);
	calls = __atomic_load_n(&sn.calls, __ATOMIC_SEQ_CST);
	assert_true(calls >= 1);
	(void)put(f->st, f->prov, dev, T0 + 1000);
	usleep(400 * 1000);
	assert_int_equal(__atomic_load_n(&sn.calls, __ATOMIC_SEQ_CST), calls);
	assert_int_equal(__atomic_load_n(&sn.running, __ATOMIC_SEQ_CST), 0);
}

/* One group of mixed asynchronous writes, held back behind a first write whose callback blocks the
 * writer (callbacks run on it): every operation gets its own result (an unknown device, a full
 * queue, a key of another device fail alone), callbacks come in queue order and after COMMIT (the
 * message is readable from inside), one device's submits are numbered in queue order without a
 * gap, and one idempotency key twice in the group is one message. A message_added notification
 * comes only once the message is readable. */
struct mixed_op {
	struct store *st;
	struct store_message_in in;
	struct store_message out;
	int replayed;
	int count;
	int rc;
	int order; /* the callback's place among all callbacks */
	int seen;  /* a successful, not replayed, submit was readable from its callback */
};

static pthread_mutex_t mixed_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t mixed_cond = PTHREAD_COND_INITIALIZER;
static int mixed_calls, mixed_gate_entered, mixed_gate_open;

static void mixed_done(void *arg, int rc)
{
	struct mixed_op *o = arg;
	struct store_message m;

	o->seen = rc == STORE_OK && o->in.device_id != 0 &&
		  store_message_get(o->st, 0, o->out.id, &m, NULL, NULL) == STORE_OK && m.seq == o->out.seq;
	pthread_mutex_lock(&mixed_lock);
	o->rc = rc;
	o->order = ++mixed_calls;
	pthread_cond_broadcast(&mixed_cond);
	pthread_mutex_unlock(&mixed_lock);
}

/* The first write's callback: holds the writer until the test opens the gate. */
static void mixed_gate_done(void *arg, int rc)
{
	mixed_done(arg, rc);
	pthread_mutex_lock(&mixed_lock);
	mixed_gate_entered = 1;
	pthread_cond_broadcast(&mixed_cond);
	while (!mixed_gate_open)
		pthread_cond_wait(&mixed_cond, &mixed_lock);
	pthread_mutex_unlock(&mixed_lock);
}

struct visible_check {
	struct store *st;
	pthread_mutex_t lock;
	int calls, unseen;
};

static void visible_added(void *arg, int64_t device_id)
{
	struct visible_check *v = arg;
	int pending = store_device_has_pending(v->st, device_id, 0, T0);

	pthread_mutex_lock(&v->lock);
	v->calls++;
	if (pending != 1)
		v->unseen++;
	pthread_mutex_unlock(&v->lock);
}

static void mixed_put(struct fixture *f, struct mixed_op *o, int64_t dev, const char *key, int max_pending)
{
	memset(o, 0, sizeof(*o));
	o->st = f->st;
	o->rc = -1;
	o->in = (struct store_message_in){.device_id = dev,
					  .urgency = URG_NORMAL,
					  .ttl_s = 3600,
					  .idempotency_key = key,
					  .max_pending = max_pending,
					  .body = (const uint8_t *)"m",
					  .body_len = 1};
}

/* Queues a first write to dev whose callback holds the writer (mixed_gate_done), and returns once
 * it does: what is queued next forms one group, let go by gate_open. */
static void gate_hold(struct fixture *f, struct mixed_op *gate, int64_t dev)
{
	mixed_calls = mixed_gate_entered = mixed_gate_open = 0;
	mixed_put(f, gate, dev, NULL, 0);
	assert_int_equal(store_message_put_async(f->st, f->prov, &gate->in, T0, &gate->out, &gate->replayed,
						 mixed_gate_done, gate),
			 STORE_OK);
	pthread_mutex_lock(&mixed_lock);
	while (!mixed_gate_entered)
		pthread_cond_wait(&mixed_cond, &mixed_lock);
	pthread_mutex_unlock(&mixed_lock);
}

/* Lets the writer go on, and waits for calls callbacks in all (the gate's included). */
static void gate_open(int calls)
{
	pthread_mutex_lock(&mixed_lock);
	mixed_gate_open = 1;
	pthread_cond_broadcast(&mixed_cond);
	while (mixed_calls < calls)
		pthread_cond_wait(&mixed_cond, &mixed_lock);
	pthread_mutex_unlock(&mixed_lock);
}

static void test_async_group_mixed(void **state)
{
	struct fixture *f = *state;
	int64_t dev1 = add_device(f->st, f->prov, "+15550001", 1), dev2 = add_device(f->st, f->prov, "+15550002", 2);
	/* Static: should an assertion end the test early, a late notification finds them. */
	static struct visible_check vc = {.lock = PTHREAD_MUTEX_INITIALIZER};
	static struct store_notify nt = {.message_added = visible_added, .arg = &vc};
	static struct mixed_op gate, op[10];
	struct store_stats s0, s;
	struct seqcheck sc = {.next = 1};
	int count = -1, n = 0;

	pthread_mutex_lock(&vc.lock);
	vc.st = f->st;
	vc.calls = vc.unseen = 0;
	pthread_mutex_unlock(&vc.lock);
	store_set_notify(f->st, &nt);
	gate_hold(f, &gate, dev1);
	assert_int_equal(store_stats(f->st, &s0), STORE_OK);

	mixed_put(f, &op[0], dev1, "k", 0);    /* ok, seq 2 */
	mixed_put(f, &op[1], 999999, NULL, 0); /* unknown device */
	mixed_put(f, &op[2], dev1, NULL, 0);   /* ok, seq 3 */
	mixed_put(f, &op[3], dev2, NULL, 1);   /* ok, dev2's seq 1 */
	mixed_put(f, &op[4], dev2, NULL, 1);   /* max_pending 1 reached */
	mixed_put(f, &op[5], dev1, "k", 0);    /* the same key again: op[0]'s message */
	mixed_put(f, &op[6], dev2, "k", 0);    /* the key is dev1's: conflict */
	mixed_put(f, &op[7], dev1, NULL, 0);   /* ok, seq 4 */
	for (int i = 0; i < 8; i++)
		assert_int_equal(store_message_put_async(f->st, f->prov, &op[i].in, T0, &op[i].out, &op[i].replayed,
							 mixed_done, &op[i]),
				 STORE_OK);
	memset(&op[8], 0, sizeof(op[8]));
	op[8].st = f->st;
	op[8].rc = -1;
	assert_int_equal(store_ack_async(f->st, 999999, 1, 0, 0, T0, &op[8].count, mixed_done, &op[8]), STORE_OK);
	memset(&op[9], 0, sizeof(op[9]));
	op[9].st = f->st;
	op[9].rc = -1;
	assert_int_equal(store_ack_async(f->st, dev2, 0, 0, 0, T0, &count, mixed_done, &op[9]), STORE_OK);
	n = 10;

	gate_open(n + 1);
	assert_int_equal(store_stats(f->st, &s), STORE_OK);

	assert_int_equal(gate.rc, STORE_OK);
	assert_int_equal(gate.out.seq, 1);
	for (int i = 0; i < n; i++)
		assert_int_equal(op[i].order, i + 2); /* queue order, after the gate's */
	assert_int_equal(op[0].rc, STORE_OK);
	assert_int_equal(op[0].out.seq, 2);
	assert_int_equal(op[0].replayed, 0);
	assert_int_equal(op[1].rc, STORE_NOTFOUND);
	assert_int_equal(op[2].rc, STORE_OK);
	assert_int_equal(op[2].out.seq, 3);
	assert_int_equal(op[3].rc, STORE_OK);
	assert_int_equal(op[3].out.seq, 1);
	assert_int_equal(op[4].rc, STORE_FULL);
	assert_int_equal(op[5].rc, STORE_OK);
	assert_int_equal(op[5].replayed, 1);
	assert_int_equal(op[5].out.id, op[0].out.id);
	assert_int_equal(op[5].out.seq, 2);
	assert_int_equal(op[6].rc, STORE_CONFLICT);
	assert_int_equal(op[7].rc, STORE_OK);
	assert_int_equal(op[7].out.seq, 4); /* no number was used by the failed or replayed ones */
	assert_int_equal(op[8].rc, STORE_NOTFOUND);
	assert_int_equal(op[8].count, 0);
	assert_int_equal(op[9].rc, STORE_OK);
	assert_int_equal(count, 0);
	for (int i = 0; i < 8; i++)
		if (op[i].rc == STORE_OK && !op[i].replayed)
			assert_true(op[i].seen);
	/* All ten in one group: one commit. */
	assert_int_equal(s.commits - s0.commits, 1);
	assert_int_equal(s.committed_ops - s0.committed_ops, n);
	assert_true(s.largest_group >= (uint64_t)n);

	assert_int_equal(store_device_fetch(f->st, dev1, 0, 100, T0, check_seq, &sc, &count), STORE_OK);
	assert_int_equal(count, 4);
	assert_int_equal(sc.bad, 0);
	/* Notifications: at least one per device written, each after its message was readable. */
	for (int i = 0; i < 200; i++) {
		pthread_mutex_lock(&vc.lock);
		int calls = vc.calls;
		pthread_mutex_unlock(&vc.lock);
		if (calls >= 2)
			break;
		usleep(10 * 1000);
	}
	store_set_notify(f->st, NULL);
	pthread_mutex_lock(&vc.lock);
	assert_true(vc.calls >= 2);
	assert_int_equal(vc.unseen, 0);
	pthread_mutex_unlock(&vc.lock);
}

static void test_group_commit(void **state)
{
	struct fixture *f = *state;
	pthread_t th[GC_THREADS];
	struct gc_arg args[GC_THREADS];
	struct notify_count nc = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct store_notify nt = {.message_added = count_message, .wake_job_added = count_job, .arg = &nc};
	struct store_stats s0, s;
	int64_t dev[GC_DEVICES];
	double t;

	for (int i = 0; i < GC_DEVICES; i++) {
		char msisdn[32];
		snprintf(msisdn, sizeof(msisdn), "+1555000%d", i);
		dev[i] = add_device(f->st, f->prov, msisdn, i + 1);
	}
	store_set_notify(f->st, &nt);
	assert_int_equal(store_stats(f->st, &s0), STORE_OK);
	t = now_s();
	for (int i = 0; i < GC_THREADS; i++) {
		args[i] = (struct gc_arg){.st = f->st, .prov = f->prov, .index = i};
		memcpy(args[i].dev, dev, sizeof(dev));
		assert_int_equal(pthread_create(&th[i], NULL, gc_worker, &args[i]), 0);
	}
	for (int i = 0; i < GC_THREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(args[i].failures, 0);
	}
	t = now_s() - t;
	assert_int_equal(store_stats(f->st, &s), STORE_OK);
	print_message("group commit: %d durable puts in %.3f s = %.0f puts/s; %llu commits, largest group %llu\n",
		      GC_THREADS * GC_PUTS, t, GC_THREADS * GC_PUTS / t, (unsigned long long)(s.commits - s0.commits),
		      (unsigned long long)s.largest_group);
	assert_int_equal(s.committed_ops - s0.committed_ops, GC_THREADS * GC_PUTS);
	assert_true(s.commits - s0.commits < (uint64_t)GC_THREADS * GC_PUTS);
	assert_true(s.largest_group > 1);
	assert_int_equal(s.messages[MSG_QUEUED], GC_THREADS * GC_PUTS);
	assert_int_equal(s.commit_failures, 0);

	/* Callers are woken before the writer notifies: the last group's calls may still be due. */
	for (int i = 0; i < 100; i++) {
		pthread_mutex_lock(&nc.lock);
		int done = nc.messages == GC_THREADS * GC_PUTS;
		pthread_mutex_unlock(&nc.lock);
		if (done)
			break;
		usleep(10 * 1000);
	}
	store_set_notify(f->st, NULL);
	assert_int_equal(nc.messages, GC_THREADS * GC_PUTS);
	for (int i = 0; i < GC_DEVICES; i++) {
		struct store_device d;
		struct seqcheck c = {.next = 1};
		int count;
		assert_int_equal(store_device_get(f->st, f->prov, dev[i], &d), STORE_OK);
		assert_int_equal(d.last_seq, GC_THREADS * GC_PUTS / GC_DEVICES);
		assert_int_equal(d.pending, GC_THREADS * GC_PUTS / GC_DEVICES);
		assert_int_equal(store_device_fetch(f->st, dev[i], 0, 1000, T0, check_seq, &c, &count), STORE_OK);
		assert_int_equal(count, GC_THREADS * GC_PUTS / GC_DEVICES);
		assert_int_equal(c.bad, 0);
		assert_int_equal(c.next, d.last_seq + 1);
	}
}

/* ---- commit failure ---- */

/* Holds the writer inside its notify callback so the next operations pile up into one group. */
struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int entered;
	int open;
};

static void gate_message(void *arg, int64_t device_id)
{
	struct gate *g = arg;

	(void)device_id;
	pthread_mutex_lock(&g->lock);
	g->entered = 1;
	pthread_cond_broadcast(&g->cond);
	while (!g->open)
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
}

struct put_arg {
	struct store *st;
	int64_t prov, dev;
	int rc;
	int64_t id;
};

static void *put_worker(void *p)
{
	struct put_arg *a = p;
	struct store_message m;

	a->rc = put_full(a->st, a->prov, a->dev, NULL, NULL, 3600, T0, &m, NULL);
	a->id = m.id;
	return NULL;
}

/* store_stats' message counts against a count of the messages table itself. */
static void assert_counts_match(const struct fixture *f)
{
	int64_t want[MSG_STATE_COUNT] = {0};
	struct store_stats s;
	sqlite3_stmt *q;
	sqlite3 *db;

	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT state, count(*) FROM messages GROUP BY state", -1, &q, NULL),
			 SQLITE_OK);
	while (sqlite3_step(q) == SQLITE_ROW) {
		int state = sqlite3_column_int(q, 0);
		assert_true(state >= 0 && state < MSG_STATE_COUNT);
		want[state] = sqlite3_column_int64(q, 1);
	}
	sqlite3_finalize(q);
	sqlite3_close(db);
	assert_int_equal(store_stats(f->st, &s), STORE_OK);
	for (int i = 0; i < MSG_STATE_COUNT; i++) {
		if (s.messages[i] != want[i])
			print_error("state %d: store_stats says %lld, the table holds %lld\n", i,
				    (long long)s.messages[i], (long long)want[i]);
		assert_int_equal(s.messages[i], want[i]);
	}
}

/* The writer counts a group's new messages once, before its COMMIT (schema v9), and only those
 * of operations that kept their writes: one that fails after its insert (here a topic
 * replacement refused by a trigger the test adds), an unknown device, a replay, a failed
 * commit and a batch must all leave store_stats equal to the table. */
static void test_counts_kept_by_group(void **state)
{
	struct fixture *f = *state;
	int64_t dev1 = add_device(f->st, f->prov, "+15550001", 1), dev2 = add_device(f->st, f->prov, "+15550002", 2);
	int64_t devs[2] = {dev1, dev2}, batch = 0, made = 0;
	static struct mixed_op gate, op[6];
	struct store_batch_in b = {.devices = devs,
				   .ndevices = 2,
				   .urgency = URG_NORMAL,
				   .ttl_s = 60,
				   .body = (const uint8_t *)"b",
				   .body_len = 1};
	struct store_stats s0, s;
	struct store_message m;
	sqlite3 *db;
	int count = -1;

	assert_int_equal(put_full(f->st, f->prov, dev1, "t", NULL, 3600, T0, &m, NULL), STORE_OK);
	assert_counts_match(f);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(
		sqlite3_exec(db,
			     "CREATE TRIGGER test_refuse_replace BEFORE INSERT ON message_events "
			     "WHEN NEW.what = 'replaced' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
			     NULL, NULL, NULL),
		SQLITE_OK);

	gate_hold(f, &gate, dev1);
	assert_int_equal(store_stats(f->st, &s0), STORE_OK);
	mixed_put(f, &op[0], dev1, NULL, 0); /* ok */
	mixed_put(f, &op[1], dev1, NULL, 0); /* inserts, then its topic's replacement is refused */
	op[1].in.topic = "t";
	mixed_put(f, &op[2], 999999, NULL, 0); /* unknown device */
	mixed_put(f, &op[3], dev2, "k", 0);    /* ok */
	mixed_put(f, &op[4], dev2, "k", 0);    /* a replay of op[3] */
	mixed_put(f, &op[5], dev2, NULL, 0);   /* ok */
	for (int i = 0; i < 6; i++)
		assert_int_equal(store_message_put_async(f->st, f->prov, &op[i].in, T0, &op[i].out, &op[i].replayed,
							 mixed_done, &op[i]),
				 STORE_OK);
	gate_open(7);
	assert_int_equal(store_stats(f->st, &s), STORE_OK);
	assert_int_equal(s.commits - s0.commits, 1); /* the six in one group */
	assert_int_equal(op[0].rc, STORE_OK);
	assert_true(op[1].rc != STORE_OK);
	assert_int_equal(op[2].rc, STORE_NOTFOUND);
	assert_int_equal(op[3].rc, STORE_OK);
	assert_int_equal(op[4].rc, STORE_OK);
	assert_int_equal(op[4].replayed, 1);
	assert_int_equal(op[5].rc, STORE_OK);
	assert_int_equal(op[5].out.seq, 2); /* dev2: op[3], then this */
	assert_int_equal(s.messages[MSG_QUEUED] - s0.messages[MSG_QUEUED], 3);
	assert_counts_match(f);

	/* A group whose commit fails counts nothing. */
	store_debug_fail_commits(f->st, 1);
	assert_int_equal(put_full(f->st, f->prov, dev2, NULL, NULL, 3600, T0, &m, NULL), STORE_UNAVAILABLE);
	assert_counts_match(f);

	/* A batch's fan-out, then its topic replacing within it, a cancel and the expiry sweep. */
	assert_int_equal(sqlite3_exec(db, "DROP TRIGGER test_refuse_replace", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_batch_put(f->st, f->prov, &b, T0 + 1, &batch, &made), STORE_OK);
	assert_int_equal(made, 2);
	assert_counts_match(f);
	b.topic = "t";
	assert_int_equal(store_batch_put(f->st, f->prov, &b, T0 + 2, &batch, &made), STORE_OK);
	assert_counts_match(f);
	assert_int_equal(store_message_cancel(f->st, f->prov, op[0].out.id, T0 + 3), STORE_OK);
	assert_counts_match(f);
	assert_int_equal(store_expire(f->st, T0 + 61 * 1000, &count), STORE_OK);
	assert_true(count >= 4);
	assert_counts_match(f);
}

/* A plain submit runs without a savepoint (writer.c, op_bare). One that fails after its first
 * change (here its insert, refused by a trigger the test adds, after its sequence number was
 * taken) takes its group down: every op of it fails, nothing of it is kept, and the device's
 * numbers stay without a gap. One that fails before any change (an unknown device) does not. */
static void test_bare_submit_failing_late(void **state)
{
	struct fixture *f = *state;
	int64_t dev1 = add_device(f->st, f->prov, "+15550001", 1);
	static struct mixed_op gate, op[4];
	struct store_message m;
	sqlite3 *db;

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(
		sqlite3_exec(db,
			     "CREATE TRIGGER test_refuse_insert BEFORE INSERT ON messages "
			     "WHEN NEW.body = CAST('poison' AS BLOB) BEGIN SELECT RAISE(ABORT, 'refused'); END",
			     NULL, NULL, NULL),
		SQLITE_OK);
	for (int round = 0; round < 2; round++) {
		gate_hold(f, &gate, dev1);
		mixed_put(f, &op[0], dev1, NULL, 0);
		mixed_put(f, &op[1], round == 0 ? dev1 : 999999, NULL, 0);
		if (round == 0) {
			op[1].in.body = (const uint8_t *)"poison";
			op[1].in.body_len = 6;
		}
		mixed_put(f, &op[2], dev1, NULL, 0);
		for (int i = 0; i < 3; i++)
			assert_int_equal(store_message_put_async(f->st, f->prov, &op[i].in, T0, &op[i].out,
								 &op[i].replayed, mixed_done, &op[i]),
					 STORE_OK);
		gate_open(4);
		assert_int_equal(gate.rc, STORE_OK);
		if (round == 0) {
			assert_int_equal(gate.out.seq, 1);
			for (int i = 0; i < 3; i++)
				assert_int_equal(op[i].rc, STORE_UNAVAILABLE);
		} else {
			assert_int_equal(gate.out.seq, 2); /* round 0's group left no number taken */
			assert_int_equal(op[0].rc, STORE_OK);
			assert_int_equal(op[0].out.seq, 3);
			assert_int_equal(op[1].rc, STORE_NOTFOUND);
			assert_int_equal(op[2].rc, STORE_OK);
			assert_int_equal(op[2].out.seq, 4);
		}
		assert_counts_match(f);
	}
	assert_int_equal(sqlite3_exec(db, "DROP TRIGGER test_refuse_insert", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(put_full(f->st, f->prov, dev1, NULL, NULL, 3600, T0, &m, NULL), STORE_OK);
	assert_int_equal(m.seq, 5);
	assert_counts_match(f);
}

static void test_commit_failure(void **state)
{
	struct fixture *f = *state;
	int64_t dev = add_device(f->st, f->prov, "+15550001", 1);
	struct store_message m;
	struct store_stats s;
	struct store_device d;
	int rc;

	/* One operation alone. */
	store_debug_fail_commits(f->st, 1);
	assert_int_equal(put_full(f->st, f->prov, dev, NULL, NULL, 3600, T0, &m, NULL), STORE_UNAVAILABLE);
	assert_int_equal(store_device_get(f->st, 0, dev, &d), STORE_OK);
	assert_int_equal(d.last_seq, 0);
	assert_int_equal(store_stats(f->st, &s), STORE_OK);
	assert_int_equal(s.commit_failures, 1);
	assert_int_equal(s.messages[MSG_QUEUED], 0);
	assert_int_equal(put_full(f->st, f->prov, dev, NULL, NULL, 3600, T0, &m, NULL), STORE_OK);
	assert_int_equal(m.seq, 1);

	/* A whole group: six puts queued while the writer is held, then one failed commit. */
	{
		struct gate g = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
		struct store_notify nt = {.message_added = gate_message, .arg = &g};
		struct put_arg first = {.st = f->st, .prov = f->prov, .dev = dev}, args[6];
		pthread_t t0, th[6];
		int64_t dev2 = add_device(f->st, f->prov, "+15550002", 2);

		store_set_notify(f->st, &nt);
		assert_int_equal(pthread_create(&t0, NULL, put_worker, &first), 0);
		pthread_mutex_lock(&g.lock);
		while (!g.entered)
			pthread_cond_wait(&g.cond, &g.lock);
		pthread_mutex_unlock(&g.lock);
		store_debug_fail_commits(f->st, 1);
		for (int i = 0; i < 6; i++) {
			args[i] = (struct put_arg){.st = f->st, .prov = f->prov, .dev = i % 2 ? dev : dev2};
			assert_int_equal(pthread_create(&th[i], NULL, put_worker, &args[i]), 0);
		}
		usleep(300 * 1000); /* let all six reach the queue */
		pthread_mutex_lock(&g.lock);
		g.open = 1;
		pthread_cond_broadcast(&g.cond);
		pthread_mutex_unlock(&g.lock);
		pthread_join(t0, NULL);
		assert_int_equal(first.rc, STORE_OK);
		for (int i = 0; i < 6; i++) {
			pthread_join(th[i], NULL);
			assert_int_equal(args[i].rc, STORE_UNAVAILABLE);
		}
		store_set_notify(f->st, NULL);
		assert_int_equal(store_stats(f->st, &s), STORE_OK);
		assert_int_equal(s.commit_failures, 2);
		assert_int_equal(s.messages[MSG_QUEUED], 2);
		assert_int_equal(store_device_get(f->st, 0, dev, &d), STORE_OK);
		assert_int_equal(d.last_seq, 2);
		assert_int_equal(store_device_get(f->st, 0, dev2, &d), STORE_OK);
		assert_int_equal(d.last_seq, 0);
	}

	/* And afterwards everything works, numbering without a gap. */
	rc = put_full(f->st, f->prov, dev, NULL, NULL, 3600, T0, &m, NULL);
	assert_int_equal(rc, STORE_OK);
	assert_int_equal(m.seq, 3);
	assert_int_equal(store_ping(f->st), STORE_OK);
}

/* ---- misc ---- */

static void test_stats_backup_ping(void **state)
{
	struct fixture *f = *state;
	int64_t dev = add_device(f->st, f->prov, "+15550001", 1);
	char path[PATH_MAX + 16];
	struct store_stats s;
	struct store *b;
	struct store_device d;
	const char *err;

	put(f->st, f->prov, dev, T0);
	assert_int_equal(store_message_cancel(f->st, f->prov, put(f->st, f->prov, dev, T0), T0), STORE_OK);
	assert_int_equal(store_stats(f->st, &s), STORE_OK);
	assert_int_equal(s.devices, 1);
	assert_int_equal(s.messages[MSG_QUEUED], 1);
	assert_int_equal(s.messages[MSG_CANCELLED], 1);
	assert_true(s.commits > 0);
	assert_int_equal(store_ping(f->st), STORE_OK);

	snprintf(path, sizeof(path), "%s/backup.db", f->dir);
	assert_int_equal(store_backup(f->st, path), STORE_OK);
	assert_int_equal(store_backup(f->st, path), STORE_ERROR); /* exists */
	b = open_at(path, &err);
	assert_non_null(b);
	assert_int_equal(store_device_get(b, f->prov, dev, &d), STORE_OK);
	assert_int_equal(d.last_seq, 2);
	store_close(b);

	assert_string_equal(store_strerror(STORE_UNAVAILABLE), "storage unavailable");
	assert_string_equal(store_msg_state_name(MSG_SMS_DELIVERED), "sms_delivered");
	assert_null(store_msg_state_name(MSG_STATE_COUNT));
	assert_int_equal(store_urgency_parse("very-low"), URG_VERY_LOW);
	assert_int_equal(store_urgency_parse("urgent"), -1);
	assert_string_equal(store_urgency_name(URG_HIGH), "high");
	assert_string_equal(store_wake_state_name(WAKE_UNREACHABLE), "unreachable");
	assert_int_equal(store_outcome_parse("undeliverable"), OUTCOME_UNDELIVERABLE);
	assert_int_equal(store_outcome_parse(NULL), -1);
}

struct reader_arg {
	struct store *st;
	int64_t dev;
	int bad;
};

static void *reader_worker(void *p)
{
	struct reader_arg *a = p;
	struct store_device d;

	for (int i = 0; i < 200; i++)
		if (store_device_get(a->st, 0, a->dev, &d) != STORE_OK ||
		    store_device_has_pending(a->st, a->dev, 0, T0) != 0)
			a->bad++;
	return NULL;
}

/* Threads come and go; their connections are reused and all closed at store_close (ASan and
 * the leak checker would notice otherwise). */
static void test_reader_threads(void **state)
{
	struct fixture *f = *state;
	int64_t dev = add_device(f->st, f->prov, "+15550001", 1);

	for (int round = 0; round < 5; round++) {
		pthread_t th[4];
		struct reader_arg a[4];
		for (int i = 0; i < 4; i++) {
			a[i] = (struct reader_arg){.st = f->st, .dev = dev};
			assert_int_equal(pthread_create(&th[i], NULL, reader_worker, &a[i]), 0);
		}
		for (int i = 0; i < 4; i++) {
			pthread_join(th[i], NULL);
			assert_int_equal(a[i].bad, 0);
		}
	}
}

static void test_fork_child_refused(void **state)
{
	struct fixture *f = *state;
	int status;
	pid_t pid;

	assert_int_equal(store_ping(f->st), STORE_OK);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int64_t id;
		uint8_t h[STORE_HASH_LEN];
		hash_of(h, 77);
		/* Nothing in the child may use the parent's connections or writer. */
		int ok = store_ping(f->st) == STORE_ERROR && store_device_has_pending(f->st, 1, 0, T0) == -1 &&
			 store_provider_add(f->st, "child", h, T0, &id) == STORE_ERROR;
		store_close(f->st);
		_exit(ok ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(store_ping(f->st), STORE_OK);
}

/* The empty-poll and wake queries must be answered from their indexes. */
static void test_query_plans(void **state)
{
	struct fixture *f = *state;
	static const struct {
		int q; /* enum rsql, or RS_COUNT + enum wsql */
		const char *index;
	} want[] = {
		{RS_HAS_PENDING, "COVERING INDEX messages_pending"},
		{RS_CANDIDATES, "messages_pending"},
		{RS_DEVICE_WAKES, "wake_jobs_device"},
		{RS_DEVICE_AUTH, "devices_token"},
		{RS_DEVICE_POLL_TOKEN, "devices_token"},
		{RS_DEVICE_POLL_TOKEN, "COVERING INDEX messages_pending"},

		{RS_PROVIDER_AUTH, "providers_token"},
		{RS_DEVICE_LAST_JOB, "wake_jobs_device"},
		{RS_WAKE_BACKLOG, "wake_jobs_due"},
		/* Writer statements, numbered after the read ones. */
		{RS_COUNT + WS_JOB_OUTSTANDING, "wake_jobs_device"},
		{RS_COUNT + WS_JOB_GUARD, "wake_jobs_device"},
		{RS_COUNT + WS_JOB_GUARD, "wake_jobs_provider"},
		{RS_COUNT + WS_EVENT_DELIVERED, "message_events_job"},
		{RS_COUNT + WS_MSG_DELIVERED, "message_events_job"},
		{RS_COUNT + WS_EVENT_WAKE_SENT, "messages_seq"},
		{RS_COUNT + WS_EVENT_EXPIRE, "messages_expiry"},
		{RS_COUNT + WS_PURGE_MSGS, "messages_final"},
	};
	sqlite3 *db;

	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		char sql[2048], plan[2048] = "";
		const char *q = want[i].q < RS_COUNT ? store_rsql[want[i].q] : store_wsql[want[i].q - RS_COUNT];
		sqlite3_stmt *s;
		snprintf(sql, sizeof(sql), "EXPLAIN QUERY PLAN %s", q);
		assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
		while (sqlite3_step(s) == SQLITE_ROW) {
			size_t n = strlen(plan);
			snprintf(plan + n, sizeof(plan) - n, "%s;", (const char *)sqlite3_column_text(s, 3));
		}
		sqlite3_finalize(s);
		if (strstr(plan, want[i].index) == NULL)
			fail_msg("plan of %s: %s", q, plan);
	}
	sqlite3_close(db);
}

/* What a submit, a fetch and an ack write builds no temporary table: SQLite makes one each time a
 * statement runs for a list of constants ("state IN (0,1,2,3)"), in a partial index's WHERE or a
 * trigger's WHEN as much as in the statement (schema v8). EXPLAIN lists each trigger's program
 * after the statement's, from an Init at address 0; a trigger's body (from its first Trace on)
 * runs only for the events it exports, and its INSERT ... SELECT into a table with triggers of its
 * own needs one, so only the statement and the triggers' WHEN clauses are counted. */
static void test_writes_without_temp_tables(void **state)
{
	struct fixture *f = *state;
	static const int ws[] = {WS_DEVICE_NEXT_SEQ, WS_DEVICE_LAST_SEQ, WS_MSG_INSERT,
				 WS_EVENT_ADD,       WS_MSG_SET_STATE,   WS_DEVICE_ACK};
	sqlite3 *db;

	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	for (size_t i = 0; i < sizeof(ws) / sizeof(ws[0]); i++) {
		char sql[2048];
		sqlite3_stmt *s;
		int ephemeral = 0;

		snprintf(sql, sizeof(sql), "EXPLAIN %s", store_wsql[ws[i]]);
		assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
		int in_trigger = 0, in_body = 0;
		while (sqlite3_step(s) == SQLITE_ROW) {
			const char *opcode = (const char *)sqlite3_column_text(s, 1);

			if (sqlite3_column_int(s, 0) == 0 && strcmp(opcode, "Init") == 0 && in_trigger++ > 0)
				in_body = 0; /* the next trigger's program */
			else if (in_trigger > 1 && strcmp(opcode, "Trace") == 0)
				in_body = 1;
			ephemeral += !in_body && strcmp(opcode, "OpenEphemeral") == 0;
		}
		sqlite3_finalize(s);
		if (ephemeral != 0)
			fail_msg("%d temporary tables in %s", ephemeral, store_wsql[ws[i]]);
	}
	sqlite3_close(db);
}

/* The writer keeps a read transaction of its own open between groups (writer.c), so that the
 * readers' WAL read locks are taken within this process; it must let go while it writes, or the
 * WAL could never start over from its beginning and would grow with every commit. Each submit
 * here is a commit of its own, with reads in between; the WAL's size stays near the checkpoint's
 * 1000 pages (4 MiB) instead of growing by every commit's pages (about 75 MiB in all, measured with the writer holding its read transaction throughout). */
#define WAL_COMMITS 3000
static void test_wal_starts_over(void **state)
{
	struct fixture *f = *state;
	int64_t dev = add_device(f->st, f->prov, "+15550007200", 72);
	uint8_t h[STORE_HASH_LEN];
	char wal[PATH_MAX + 80];
	off_t largest = 0;
	struct stat sb;

	hash_of(h, 100 + 72);
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	for (int i = 0; i < WAL_COMMITS; i++) {
		struct store_device d;
		int pending = -1;

		(void)put(f->st, f->prov, dev, T0 + i);
		assert_int_equal(store_device_poll_token(f->st, h, 0, T0 + i, &d, &pending), STORE_OK);
		assert_int_equal(d.id, dev);
		assert_int_equal(pending, 1);
		if (i % 50 == 0 && stat(wal, &sb) == 0 && sb.st_size > largest)
			largest = sb.st_size;
	}
	print_message("WAL: %d commits, largest %lld octets\n", WAL_COMMITS, (long long)largest);
	assert_true(largest > 0);
	assert_true(largest < 8 * 1024 * 1024);
}

/* The writer's idle read transaction changes nothing of what reads see: a commit by another
 * connection (smswakectl's, say) is seen by the very next read, and so is the writer's own. */
static void test_reads_see_commits_at_once(void **state)
{
	struct fixture *f = *state;
	int64_t dev = add_device(f->st, f->prov, "+15550007300", 73);
	struct store_device d;
	sqlite3 *db;
	char sql[128];

	assert_int_equal(store_device_get(f->st, f->prov, dev, &d), STORE_OK);
	usleep(50 * 1000); /* the writer is idle, holding its read transaction */
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	for (int i = 0; i < 20; i++) {
		snprintf(sql, sizeof(sql), "UPDATE devices SET name = 'other-%d' WHERE id = %lld", i, (long long)dev);
		assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
		assert_int_equal(store_device_get(f->st, f->prov, dev, &d), STORE_OK);
		snprintf(sql, sizeof(sql), "other-%d", i);
		assert_string_equal(d.name, sql);
		(void)put(f->st, f->prov, dev, T0 + i);
		assert_int_equal(store_device_get(f->st, f->prov, dev, &d), STORE_OK);
		assert_int_equal(d.last_seq, (uint64_t)i + 1);
	}
	sqlite3_close(db);
}

/* Since schema v8 a message's "queued" event is its row: it is still listed first, once; and a
 * message stored before v8, with a "queued" row of its own, shows that one and no other. */
static void test_queued_event_from_message_row(void **state)
{
	struct fixture *f = *state;
	int64_t dev = add_device(f->st, f->prov, "+15550007100", 71), a, b;
	struct store_message m;
	struct evlist ev = {0};
	sqlite3 *db;
	char sql[160];

	a = put(f->st, f->prov, dev, T0);
	b = put(f->st, f->prov, dev, T0 + 1);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO message_events(message_id, time_ms, state, what, detail) VALUES (%lld, %lld, 0, "
		 "'queued', 'before v8')",
		 (long long)b, (long long)T0 + 1);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	assert_int_equal(store_message_get(f->st, f->prov, a, &m, collect_event, &ev), STORE_OK);
	assert_int_equal(ev.n, 1);
	assert_string_equal(ev.e[0].what, "queued");
	assert_int_equal(ev.e[0].state, MSG_QUEUED);
	assert_int_equal(ev.e[0].time_ms, T0);
	assert_string_equal(ev.e[0].detail, "");
	memset(&ev, 0, sizeof(ev));
	assert_int_equal(store_message_get(f->st, f->prov, b, &m, collect_event, &ev), STORE_OK);
	assert_int_equal(ev.n, 1);
	assert_string_equal(ev.e[0].detail, "before v8");
}

/* ---- Several servers on one PostgreSQL database (each store handle stands for a server) ---- */

struct open_arg {
	const char *dsn;
	struct store *st;
	const char *err;
};

static void *open_worker(void *p)
{
	struct open_arg *a = p;
	struct store_options o = {.backend = STORE_BACKEND_POSTGRESQL, .dsn = a->dsn};

	if (store_open(&o, &a->st, &a->err) != STORE_OK)
		a->st = NULL;
	return NULL;
}

/* Three servers starting at once on an empty database: the migrations run once, under the
 * advisory lock, and all three open. */
static void test_pg_start_together(void **state)
{
	struct fixture *f = *state;
	char sql[64], dsn[sizeof(f->path)];
	struct open_arg a[3];
	pthread_t th[3];

	snprintf(sql, sizeof(sql), "CREATE DATABASE %s_x", f->pgdb);
	pg_admin(sql);
	snprintf(dsn, sizeof(dsn), "%s dbname=%s_x", pg_dsn, f->pgdb);
	for (int i = 0; i < 3; i++) {
		a[i] = (struct open_arg){.dsn = dsn};
		assert_int_equal(pthread_create(&th[i], NULL, open_worker, &a[i]), 0);
	}
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 3; i++) {
		if (a[i].st == NULL)
			fail_msg("server %d did not start: %s", i, a[i].err ? a[i].err : "?");
		assert_int_equal(store_user_version(a[i].st), schema_version(f));
	}
	for (int i = 0; i < 3; i++)
		store_close(a[i].st);
	snprintf(sql, sizeof(sql), "DROP DATABASE %s_x WITH (FORCE)", f->pgdb);
	pg_admin(sql);
}

#define MS_THREADS 4
#define MS_ROUNDS 25

struct ms_arg {
	struct store *st;
	int64_t dev, gw;
	uint64_t ctr[MS_ROUNDS];
	int64_t leased[MS_ROUNDS * 4];
	int nleased;
	int rc;
};

static void *counter_worker(void *p)
{
	struct ms_arg *a = p;

	for (int i = 0; i < MS_ROUNDS && a->rc == STORE_OK; i++)
		a->rc = store_wake_counter_next(a->st, a->dev, &a->ctr[i]);
	return NULL;
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

/* Wake counters taken by two servers at once are all different and each is committed: together
 * they are exactly 1..N. */
static void test_pg_counters_across_servers(void **state)
{
	struct fixture *f = *state;
	const char *err = NULL;
	struct store *other = reopen(f, &err);
	int64_t dev = add_device(f->st, f->prov, "+15550001", 1);
	struct ms_arg a[MS_THREADS];
	pthread_t th[MS_THREADS];
	uint64_t all[MS_THREADS * MS_ROUNDS];
	struct store_device d;

	assert_non_null(other);
	for (int i = 0; i < MS_THREADS; i++) {
		a[i] = (struct ms_arg){.st = i % 2 ? other : f->st, .dev = dev};
		assert_int_equal(pthread_create(&th[i], NULL, counter_worker, &a[i]), 0);
	}
	for (int i = 0; i < MS_THREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(a[i].rc, STORE_OK);
		for (int k = 1; k < MS_ROUNDS; k++)
			assert_true(a[i].ctr[k] > a[i].ctr[k - 1]); /* strictly increasing per caller */
		memcpy(all + i * MS_ROUNDS, a[i].ctr, sizeof(a[i].ctr));
	}
	qsort(all, MS_THREADS * MS_ROUNDS, sizeof(all[0]), cmp_u64);
	for (int i = 0; i < MS_THREADS * MS_ROUNDS; i++)
		assert_int_equal(all[i], (uint64_t)i + 1);
	assert_int_equal(store_device_get(other, 0, dev, &d), STORE_OK);
	assert_int_equal(d.wake_ctr, (uint64_t)MS_THREADS * MS_ROUNDS);
	store_close(other);
}

static void *lease_worker(void *p)
{
	struct ms_arg *a = p;

	for (int i = 0; i < MS_ROUNDS && a->rc == STORE_OK; i++) {
		struct store_wake_job jobs[4];
		int n = 0;

		a->rc = store_wake_lease(a->st, a->gw, 4, 60000, T0 + 10, jobs, &n);
		for (int k = 0; k < n && a->nleased < MS_ROUNDS * 4; k++)
			a->leased[a->nleased++] = jobs[k].id;
	}
	return NULL;
}

/* Gateways asking two servers at once: every due job is leased, and to exactly one of them. One
 * outstanding job per device holds whichever server adds it. */
static void test_pg_leases_across_servers(void **state)
{
	struct fixture *f = *state;
	const char *err = NULL;
	struct store *other = reopen(f, &err);
	struct ms_arg a[MS_THREADS];
	pthread_t th[MS_THREADS];
	int64_t jobs[40], gw[MS_THREADS];
	int seen[40] = {0}, total = 0;

	assert_non_null(other);
	for (int i = 0; i < 40; i++) {
		char msisdn[32];
		int64_t dev;
		struct store_wake_job j, again;

		snprintf(msisdn, sizeof(msisdn), "+1555%04d", i);
		dev = add_device(f->st, f->prov, msisdn, 100 + i);
		put(f->st, f->prov, dev, T0);
		j = job_for(dev, 0, T0);
		assert_int_equal(store_wake_job_add(i % 2 ? other : f->st, &j, T0), STORE_OK);
		again = job_for(dev, 0, T0);
		assert_int_equal(store_wake_job_add(i % 2 ? f->st : other, &again, T0), STORE_CONFLICT);
		jobs[i] = j.id;
	}
	for (int i = 0; i < MS_THREADS; i++) {
		char name[16];
		snprintf(name, sizeof(name), "gw%d", i);
		gw[i] = gateway(f->st, name, 500 + i);
		a[i] = (struct ms_arg){.st = i % 2 ? other : f->st, .gw = gw[i]};
	}
	for (int i = 0; i < MS_THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, lease_worker, &a[i]), 0);
	for (int i = 0; i < MS_THREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(a[i].rc, STORE_OK);
		for (int k = 0; k < a[i].nleased; k++) {
			int found = 0;
			for (int x = 0; x < 40; x++) {
				if (jobs[x] == a[i].leased[k]) {
					seen[x]++;
					found = 1;
				}
			}
			assert_true(found);
			total++;
		}
	}
	assert_int_equal(total, 40);
	for (int x = 0; x < 40; x++)
		assert_int_equal(seen[x], 1);
	store_close(other);
}

struct added {
	pthread_mutex_t lock;
	int64_t device_id;
};

static void added_cb(void *arg, int64_t device_id)
{
	struct added *a = arg;

	pthread_mutex_lock(&a->lock);
	a->device_id = device_id;
	pthread_mutex_unlock(&a->lock);
}

/* A submit on one server reaches the other's long-polls (its notify callback) within a second;
 * an idempotency key is one message whichever server sees it. */
static void test_pg_notify_idempotency_across_servers(void **state)
{
	struct fixture *f = *state;
	const char *err = NULL;
	struct store *other = reopen(f, &err);
	struct added got = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct store_notify nt = {.message_added = added_cb, .arg = &got};
	int64_t dev = add_device(f->st, f->prov, "+15550001", 1), seen = 0;
	struct store_message m1, m2;
	int replayed = -1;

	assert_non_null(other);
	store_set_notify(other, &nt);
	usleep(300 * 1000); /* the listener connects */
	put(f->st, f->prov, dev, T0);
	for (int i = 0; i < 100 && seen != dev; i++) {
		usleep(10 * 1000);
		pthread_mutex_lock(&got.lock);
		seen = got.device_id;
		pthread_mutex_unlock(&got.lock);
	}
	assert_int_equal(seen, dev);
	store_set_notify(other, NULL);

	assert_int_equal(put_full(f->st, f->prov, dev, NULL, "k1", 3600, T0, &m1, &replayed), STORE_OK);
	assert_int_equal(replayed, 0);
	assert_int_equal(put_full(other, f->prov, dev, NULL, "k1", 3600, T0 + 1, &m2, &replayed), STORE_OK);
	assert_int_equal(replayed, 1);
	assert_int_equal(m2.id, m1.id);
	assert_int_equal(m2.seq, m1.seq);
	store_close(other);
}

/* ---- group commit on PostgreSQL (store/pg/pg_writer.c) ---- */

/* A connection of the test's own to the fixture's database, to hold row locks. */
static PGconn *pg_side(const struct fixture *f)
{
	PGconn *c = PQconnectdb(f->path);

	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("PostgreSQL: %s", PQerrorMessage(c));
	return c;
}

static void pg_side_ok(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);

	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
}

/* Waits (10 s at most) until n writer connections of this database wait for a lock. */
static void pg_wait_writers_blocked(const struct fixture *f, int n)
{
	PGconn *c = pg_side(f);

	for (int i = 0; i < 1000; i++) {
		PGresult *r = PQexec(c, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
					"AND application_name = 'smswake-writer' AND wait_event_type = 'Lock'");
		int got = PQresultStatus(r) == PGRES_TUPLES_OK ? (int)strtol(PQgetvalue(r, 0, 0), NULL, 10) : -1;

		PQclear(r);
		if (got >= n) {
			PQfinish(c);
			return;
		}
		usleep(10 * 1000);
	}
	PQfinish(c);
	fail_msg("the writer never waited for the row lock");
}

/* A group that deadlocks with another transaction is rolled back and run again: its submits
 * succeed, nobody is told of the deadlock. The other transaction holds device 2 and then asks for
 * device 1, which the group (submits to 1 and 2, rows taken in id order) holds while it waits for
 * device 2; with a longer deadlock_timeout of its own, the group is the one PostgreSQL aborts. */
static void test_pg_group_deadlock_retry(void **state)
{
	struct fixture *f = *state;
	int64_t d1 = add_device(f->st, f->prov, "+15550001", 1), d2 = add_device(f->st, f->prov, "+15550002", 2),
		d3 = add_device(f->st, f->prov, "+15550003", 3);
	static struct mixed_op gate, op[2];
	PGconn *x = pg_side(f);
	char sql[160];
	PGresult *r;

	gate_hold(f, &gate, d3);
	pg_side_ok(x, "BEGIN");
	pg_side_ok(x, "SET LOCAL deadlock_timeout = '30s'");
	snprintf(sql, sizeof(sql), "SELECT 1 FROM devices WHERE id = %lld FOR UPDATE", (long long)d2);
	pg_side_ok(x, sql);
	mixed_put(f, &op[0], d1, NULL, 0);
	mixed_put(f, &op[1], d2, NULL, 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(store_message_put_async(f->st, f->prov, &op[i].in, T0, &op[i].out, &op[i].replayed,
							 mixed_done, &op[i]),
				 STORE_OK);
	pthread_mutex_lock(&mixed_lock);
	mixed_gate_open = 1;
	pthread_cond_broadcast(&mixed_cond);
	pthread_mutex_unlock(&mixed_lock);
	pg_wait_writers_blocked(f, 1); /* the group holds device 1 and waits for device 2 */
	snprintf(sql, sizeof(sql), "SELECT 1 FROM devices WHERE id = %lld FOR UPDATE", (long long)d1);
	r = PQexec(x, sql); /* waits until PostgreSQL aborts the group (its deadlock_timeout, 1 s) */
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	PQclear(r);
	pg_side_ok(x, "COMMIT");
	PQfinish(x);
	gate_open(3);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(op[i].rc, STORE_OK);
		assert_int_equal(op[i].out.seq, 1);
		assert_true(op[i].seen);
	}
}

/* The writer's connection dies before COMMIT (while the group waits for a row lock): the writer
 * connects again and runs the group again; the submit is stored once. */
static void test_pg_group_reconnect(void **state)
{
	struct fixture *f = *state;
	int64_t d1 = add_device(f->st, f->prov, "+15550001", 1);
	static struct mixed_op op;
	PGconn *x = pg_side(f);
	struct store_device d;
	char sql[160];

	mixed_calls = 0;
	pg_side_ok(x, "BEGIN");
	snprintf(sql, sizeof(sql), "SELECT 1 FROM devices WHERE id = %lld FOR UPDATE", (long long)d1);
	pg_side_ok(x, sql);
	mixed_put(f, &op, d1, NULL, 0);
	assert_int_equal(store_message_put_async(f->st, f->prov, &op.in, T0, &op.out, &op.replayed, mixed_done, &op),
			 STORE_OK);
	pg_wait_writers_blocked(f, 1);
	{
		PGconn *y = pg_side(f);
		pg_side_ok(y, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
			      "current_database() AND application_name = 'smswake-writer'");
		PQfinish(y);
	}
	pg_side_ok(x, "COMMIT");
	PQfinish(x);
	pthread_mutex_lock(&mixed_lock);
	while (mixed_calls < 1)
		pthread_cond_wait(&mixed_cond, &mixed_lock);
	pthread_mutex_unlock(&mixed_lock);
	assert_int_equal(op.rc, STORE_OK);
	assert_int_equal(op.out.seq, 1);
	assert_true(op.seen);
	assert_int_equal(store_device_get(f->st, 0, d1, &d), STORE_OK);
	assert_int_equal(d.last_seq, 1);
	assert_int_equal(d.pending, 1);
}

struct close_arg {
	struct store *st;
	int closed; /* under mixed_lock */
	int started;
};

static void *close_worker(void *p)
{
	struct close_arg *a = p;

	pthread_mutex_lock(&mixed_lock);
	a->started = 1;
	pthread_cond_broadcast(&mixed_cond);
	pthread_mutex_unlock(&mixed_lock);
	store_close(a->st);
	pthread_mutex_lock(&mixed_lock);
	a->closed = 1;
	pthread_mutex_unlock(&mixed_lock);
	return NULL;
}

static int close_seen_open;
static struct close_arg *close_current;

/* Records whether the store had finished closing when the callback ran. */
static void close_done(void *arg, int rc)
{
	pthread_mutex_lock(&mixed_lock);
	if (!close_current->closed)
		close_seen_open++;
	pthread_mutex_unlock(&mixed_lock);
	mixed_done(arg, rc);
}

/* store_close commits what is queued and answers it before it returns; a write queued while it
 * closes is refused through its callback. */
static void test_pg_writer_close(void **state)
{
	struct fixture *f = *state;
	int64_t d1 = add_device(f->st, f->prov, "+15550001", 1);
	static struct mixed_op w[6];
	struct close_arg ca = {.st = f->st};
	PGconn *x = pg_side(f);
	struct store_device d;
	const char *err = NULL;
	pthread_t th;
	char sql[160];

	mixed_calls = 0;
	close_seen_open = 0;
	close_current = &ca;
	pg_side_ok(x, "BEGIN");
	snprintf(sql, sizeof(sql), "SELECT 1 FROM devices WHERE id = %lld FOR UPDATE", (long long)d1);
	pg_side_ok(x, sql);
	for (int i = 0; i < 5; i++) {
		mixed_put(f, &w[i], d1, NULL, 0);
		assert_int_equal(store_message_put_async(f->st, f->prov, &w[i].in, T0, &w[i].out, &w[i].replayed,
							 close_done, &w[i]),
				 STORE_OK);
	}
	pg_wait_writers_blocked(f, 1);
	assert_int_equal(pthread_create(&th, NULL, close_worker, &ca), 0);
	pthread_mutex_lock(&mixed_lock);
	while (!ca.started)
		pthread_cond_wait(&mixed_cond, &mixed_lock);
	pthread_mutex_unlock(&mixed_lock);
	usleep(1000 * 1000); /* store_close has begun: the writer stops taking work */
	mixed_put(f, &w[5], d1, NULL, 0);
	assert_int_equal(
		store_message_put_async(f->st, f->prov, &w[5].in, T0, &w[5].out, &w[5].replayed, close_done, &w[5]),
		STORE_OK);
	assert_int_equal(w[5].rc, STORE_UNAVAILABLE); /* called back at once, nothing queued */
	assert_int_equal(mixed_calls, 1);
	pg_side_ok(x, "COMMIT");
	PQfinish(x);
	pthread_join(th, NULL);
	assert_int_equal(mixed_calls, 6);
	assert_int_equal(close_seen_open, 6); /* every callback ran before store_close returned */
	for (int i = 0; i < 5; i++) {
		assert_int_equal(w[i].rc, STORE_OK);
		assert_int_equal(w[i].out.seq, i + 1);
		assert_int_equal(w[i].order, i + 2);
	}
	f->st = reopen(f, &err);
	assert_non_null(f->st);
	assert_int_equal(store_device_get(f->st, 0, d1, &d), STORE_OK);
	assert_int_equal(d.last_seq, 5);
	assert_int_equal(d.pending, 5);
}

/* Two servers (two stores on one database), four threads each submitting asynchronously to the
 * same devices in different orders, with acknowledgements in between: every submit succeeds (no
 * deadlock or retry reaches a caller), each device's numbers are 1..N once each, a thread's
 * submits to one device are numbered in the order it queued them, and the groups hold more than
 * one operation on average. */
#define XS_THREADS 4
#define XS_DEVICES 5
#define XS_PUTS 150
#define XS_WINDOW 24

struct xs_put {
	struct store_message_in in;
	struct store_message out;
	int replayed, rc, done;
};

struct xs_arg {
	struct store *st;
	int64_t prov;
	const int64_t *dev;
	int index;
	struct xs_put put[XS_PUTS];
	int acks, ack_rc, ack_count[XS_PUTS];
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int outstanding;
	int failures;
};

struct xs_cb {
	struct xs_arg *a;
	struct xs_put *p; /* NULL: an acknowledgement */
	int rc;
};

static void xs_done(void *arg, int rc)
{
	struct xs_cb *cb = arg;
	struct xs_arg *a = cb->a;

	pthread_mutex_lock(&a->lock);
	if (cb->p != NULL) {
		cb->p->rc = rc;
		cb->p->done++;
	} else if (rc != STORE_OK) {
		a->ack_rc = rc;
	}
	a->outstanding--;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
	free(cb);
}

static void *xs_worker(void *p)
{
	struct xs_arg *a = p;

	for (int i = 0; i < XS_PUTS; i++) {
		struct xs_put *x = &a->put[i];
		struct xs_cb *cb = calloc(1, sizeof(*cb));
		int64_t dev = a->dev[(a->index % 2 ? XS_DEVICES - 1 - i % XS_DEVICES : i % XS_DEVICES)];

		pthread_mutex_lock(&a->lock);
		while (a->outstanding >= XS_WINDOW)
			pthread_cond_wait(&a->cond, &a->lock);
		a->outstanding++;
		pthread_mutex_unlock(&a->lock);
		cb->a = a;
		cb->p = x;
		x->in = (struct store_message_in){.device_id = dev,
						  .urgency = URG_NORMAL,
						  .ttl_s = 3600,
						  .body = (const uint8_t *)"x",
						  .body_len = 1};
		x->rc = -1;
		if (store_message_put_async(a->st, a->prov, &x->in, T0, &x->out, &x->replayed, xs_done, cb) !=
		    STORE_OK) {
			a->failures++;
			free(cb);
			pthread_mutex_lock(&a->lock);
			a->outstanding--;
			pthread_mutex_unlock(&a->lock);
			continue;
		}
		if (i % 10 == 9) {
			struct xs_cb *ack = calloc(1, sizeof(*ack));
			ack->a = a;
			pthread_mutex_lock(&a->lock);
			a->outstanding++;
			pthread_mutex_unlock(&a->lock);
			if (store_ack_async(a->st, dev, 0, 0, 0, T0, &a->ack_count[a->acks++], xs_done, ack) !=
			    STORE_OK) {
				a->failures++;
				free(ack);
				pthread_mutex_lock(&a->lock);
				a->outstanding--;
				pthread_mutex_unlock(&a->lock);
			}
		}
	}
	pthread_mutex_lock(&a->lock);
	while (a->outstanding > 0)
		pthread_cond_wait(&a->cond, &a->lock);
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

static void test_pg_groups_across_servers(void **state)
{
	struct fixture *f = *state;
	const char *err = NULL;
	struct store *other = reopen(f, &err);
	static struct xs_arg a[XS_THREADS];
	pthread_t th[XS_THREADS];
	int64_t dev[XS_DEVICES];
	int total[XS_DEVICES] = {0};
	struct store_stats s1, s2;
	double t;

	assert_non_null(other);
	for (int i = 0; i < XS_DEVICES; i++) {
		char msisdn[32];
		snprintf(msisdn, sizeof(msisdn), "+1555000%d", i);
		dev[i] = add_device(f->st, f->prov, msisdn, i + 1);
	}
	t = now_s();
	for (int i = 0; i < XS_THREADS; i++) {
		memset(&a[i], 0, sizeof(a[i]));
		a[i].st = i % 2 ? other : f->st;
		a[i].prov = f->prov;
		a[i].dev = dev;
		a[i].index = i / 2; /* each store has a thread going up the devices and one going down */
		pthread_mutex_init(&a[i].lock, NULL);
		pthread_cond_init(&a[i].cond, NULL);
		assert_int_equal(pthread_create(&th[i], NULL, xs_worker, &a[i]), 0);
	}
	for (int i = 0; i < XS_THREADS; i++)
		pthread_join(th[i], NULL);
	t = now_s() - t;
	assert_int_equal(store_stats(f->st, &s1), STORE_OK);
	assert_int_equal(store_stats(other, &s2), STORE_OK);
	print_message("two servers: %d async submits in %.2f s; %llu + %llu commits, largest groups %llu, %llu\n",
		      XS_THREADS * XS_PUTS, t, (unsigned long long)s1.commits, (unsigned long long)s2.commits,
		      (unsigned long long)s1.largest_group, (unsigned long long)s2.largest_group);
	for (int i = 0; i < XS_THREADS; i++) {
		int64_t last[XS_DEVICES] = {0};
		assert_int_equal(a[i].failures, 0);
		assert_int_equal(a[i].ack_rc, STORE_OK);
		for (int k = 0; k < XS_PUTS; k++) {
			struct xs_put *x = &a[i].put[k];
			int d = 0;
			assert_int_equal(x->done, 1);
			assert_int_equal(x->rc, STORE_OK);
			while (dev[d] != x->in.device_id)
				d++;
			assert_true((int64_t)x->out.seq > last[d]); /* this thread's order, per device */
			last[d] = (int64_t)x->out.seq;
			total[d]++;
		}
		pthread_mutex_destroy(&a[i].lock);
		pthread_cond_destroy(&a[i].cond);
	}
	for (int d = 0; d < XS_DEVICES; d++) {
		char *seen = calloc((size_t)total[d] + 1, 1);
		struct store_device sd;
		struct seqcheck c = {.next = 1};
		int count = 0;

		for (int i = 0; i < XS_THREADS; i++)
			for (int k = 0; k < XS_PUTS; k++)
				if (a[i].put[k].in.device_id == dev[d]) {
					uint64_t q = a[i].put[k].out.seq;
					assert_true(q >= 1 && q <= (uint64_t)total[d]);
					assert_int_equal(seen[q], 0); /* each number once */
					seen[q] = 1;
				}
		free(seen);
		assert_int_equal(store_device_get(other, 0, dev[d], &sd), STORE_OK);
		assert_int_equal(sd.last_seq, (uint64_t)total[d]);
		assert_int_equal(store_device_fetch(f->st, dev[d], 0, 1000, T0, check_seq, &c, &count), STORE_OK);
		assert_int_equal(count, total[d]);
		assert_int_equal(c.bad, 0);
	}
	/* Grouped: fewer commits than operations on each server. */
	assert_true(s1.committed_ops > s1.commits && s2.committed_ops > s2.commits);
	assert_true(s1.largest_group > 1 && s2.largest_group > 1);
	assert_int_equal(s1.commit_failures + s2.commit_failures, 0);
	store_close(other);
}

/* Starts a cluster of our own (tests/lib/pgtmp.sh) unless SMSWAKE_TEST_PG_DSN names one; NULL
 * when PostgreSQL is not installed. */
static char pg_own_dir[PATH_MAX];
static char pg_own_dsn[PATH_MAX + 64];

static const char *pg_cluster(void)
{
	const char *env = getenv("SMSWAKE_TEST_PG_DSN");
	char cmd[PATH_MAX + 64];
	FILE *p;

	if (env != NULL && *env != '\0')
		return env;
	if (system("sh tests/lib/pgtmp.sh available") != 0)
		return NULL;
	make_dir(pg_own_dir, sizeof(pg_own_dir));
	rmdir(pg_own_dir); /* pgtmp.sh creates it with the owner PostgreSQL needs */
	snprintf(cmd, sizeof(cmd), "sh tests/lib/pgtmp.sh start %s", pg_own_dir);
	p = popen(cmd, "r");
	if (p == NULL || fgets(pg_own_dsn, sizeof(pg_own_dsn), p) == NULL) {
		if (p != NULL)
			pclose(p);
		return NULL;
	}
	if (pclose(p) != 0)
		return NULL;
	pg_own_dsn[strcspn(pg_own_dsn, "\n")] = '\0';
	return pg_own_dsn;
}

static void pg_cluster_stop(void)
{
	char cmd[PATH_MAX + 64];

	if (pg_own_dir[0] == '\0')
		return;
	snprintf(cmd, sizeof(cmd), "sh tests/lib/pgtmp.sh stop %s", pg_own_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not stop the test cluster in %s\n", pg_own_dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_reopen, setup, teardown),
		cmocka_unit_test(test_migrate_v0),
		cmocka_unit_test(test_newer_schema_refused),
		cmocka_unit_test(test_corrupt_refused),
		cmocka_unit_test(test_bad_options),
		cmocka_unit_test_setup_teardown(test_providers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gateways, setup, teardown),
		cmocka_unit_test_setup_teardown(test_devices, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_add_many, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_seq_topic_idempotency, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_event, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fetch_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fetch_async, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_has_pending_expire, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expire_many, setup, teardown),
		cmocka_unit_test_setup_teardown(test_purge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_event, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wake_jobs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wake_report_after_fetch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wake_report_times, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wake_lease_drops_unneeded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wake_backlog, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wake_lease_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wake_failed_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wake_candidates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wake_guard, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wake_guard_race, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wake_guard_limit_race, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wake_guard_budget_race, setup, teardown),
		cmocka_unit_test_setup_teardown(test_touch_flush, setup, teardown),
		cmocka_unit_test_setup_teardown(test_poll_push_fleet, setup, teardown),
		cmocka_unit_test_setup_teardown(test_touch_idle_flush, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_async_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_async_group_mixed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counts_kept_by_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bare_submit_failing_late, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notify_cleared_waits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats_backup_ping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fork_child_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_plans, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writes_without_temp_tables, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wal_starts_over, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reads_see_commits_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_provider_keys_remembered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queued_event_from_message_row, setup, teardown),
	};
	/* The same cases on PostgreSQL (those that are not about SQLite files, pragmas or threads). */
	const struct CMUnitTest pg_tests[] = {
		cmocka_unit_test_setup_teardown(test_open_reopen, setup_pg, teardown),
		cmocka_unit_test_setup_teardown(test_providers, setup_pg, teardown),
		cmocka_unit_test_setup_teardown(test_gateways, setup_pg, teardown),
		cmocka_unit_test_setup_teardown(test_devices, setup_pg, teardown),
		cmocka_unit_test_setup_teardown(test_put_seq_topic_idempotency, setup_pg, teardown),
		cmocka_unit_test_setup_teardown(test_put_event, setup_pg, teardown),
		cmocka_unit_test_setup_teardown(test_fetch_ack, setup_pg, teardown),
		cmocka_unit_test_setup_teardown(test_fetch_async, setup_pg, teardown),
		cmocka_unit_test_setup_teardown(test_key_rotation, setup_pg, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup_pg, teardown),
		cmocka_unit_test_setup_teardown(test_has_pending_expire, setup_pg, teardown),
		cmocka_unit_test_setup_teardown(test_expire_many, setup_pg, teardown),
		cmocka_unit_test_setup_teardown(test_purge, setup_pg, teardown),
		cmocka_unit_test_setup_teardown(test_device_event, setup_pg, teardown),
		cmocka_unit_test_setup_teardown(test_wake_jobs, setup_pg, teardown),
		cmocka_unit_test_setup_teardown(test_wake_report_after_fetch, setup_pg, teardown),
		cmocka_unit_test_setup_teardown(test_wake_report_times, setup_pg, teardown),
		cmocka_unit_test_setup_teardown(test_wake_lease_drops_unneeded, setup_pg, teardown),
		cmocka_unit_test_setup_teardown(test_wake_backlog, setup_pg, teardown),
		cmocka_unit_test_setup_teardown(test_wake_lease_expiry, setup_pg, teardown),
		cmocka_unit_test_setup_teardown(test_wake_failed_retry, setup_pg, teardown),
		cmocka_unit_test_setup_teardown(test_wake_candidates, setup_pg, teardown),
		cmocka_unit_test_setup_teardown(test_wake_guard, setup_pg, teardown),
		cmocka_unit_test_setup_teardown(test_wake_guard_race, setup_pg, teardown),
		cmocka_unit_test_setup_teardown(test_wake_guard_limit_race, setup_pg, teardown),
		cmocka_unit_test_setup_teardown(test_wake_guard_budget_race, setup_pg, teardown),
		cmocka_unit_test_setup_teardown(test_pg_wake_guard_busy, setup_pg, teardown),
		cmocka_unit_test_setup_teardown(test_touch_flush, setup_pg, teardown),
		cmocka_unit_test_setup_teardown(test_poll_push_fleet, setup_pg, teardown),
		cmocka_unit_test_setup_teardown(test_max_pending, setup_pg, teardown),
		cmocka_unit_test_setup_teardown(test_device_add_many, setup_pg, teardown),
		cmocka_unit_test_setup_teardown(test_async_writes, setup_pg, teardown),
		cmocka_unit_test_setup_teardown(test_async_group_mixed, setup_pg, teardown),
		cmocka_unit_test_setup_teardown(test_notify_cleared_waits, setup_pg, teardown),
		cmocka_unit_test_setup_teardown(test_pg_start_together, setup_pg, teardown),
		cmocka_unit_test_setup_teardown(test_pg_counters_across_servers, setup_pg, teardown),
		cmocka_unit_test_setup_teardown(test_pg_leases_across_servers, setup_pg, teardown),
		cmocka_unit_test_setup_teardown(test_pg_notify_idempotency_across_servers, setup_pg, teardown),
		cmocka_unit_test_setup_teardown(test_pg_group_deadlock_retry, setup_pg, teardown),
		cmocka_unit_test_setup_teardown(test_pg_group_reconnect, setup_pg, teardown),
		cmocka_unit_test_setup_teardown(test_pg_writer_close, setup_pg, teardown),
		cmocka_unit_test_setup_teardown(test_pg_groups_across_servers, setup_pg, teardown),
	};
	int failed = cmocka_run_group_tests_name("store on sqlite", tests, NULL, NULL);

	pg_dsn = pg_cluster();
	if (pg_dsn == NULL) {
		printf("PostgreSQL is not installed: the store's PostgreSQL cases did not run\n");
		return failed;
	}
	failed += cmocka_run_group_tests_name("store on postgresql", pg_tests, NULL, NULL);
	pg_cluster_stop();
	return failed;
}
