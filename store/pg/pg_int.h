/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Internals of the PostgreSQL store: the store object, its connection pool and the helpers that
 * run parameterised statements. Nothing here leaves store/. */
#ifndef SMSWAKE_STORE_PG_INT_H
#define SMSWAKE_STORE_PG_INT_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdint.h>

#include "backend.h"

/* The same limits as the SQLite store's (store/sqlite/store_int.h). */
#define PG_JOB_MAX_ATTEMPTS 5
#define PG_JOB_RETRY_MS 5000
#define PG_FETCH_MAX 1000
#define PG_LEASE_MAX 256
#define PG_CHUNK 2000
#define PG_POOL_MAX 16
#define PG_TOUCH_MAX 4096 /* last-seen times held before a flush is forced */
/* How long a server's claim on a due webhook delivery lasts (longer than any delivery attempt). */
#define PG_WEBHOOK_CLAIM_MS 120000
/* Most operations in one group commit (pg_writer.c). Each runs in a savepoint, a subtransaction
 * with a transaction id of its own; PostgreSQL keeps 64 of them per backend in shared memory
 * (PGPROC_MAX_CACHED_SUBXIDS) and past that every other session's snapshot checks pg_subtrans
 * on disk, so a group stays within 64. */
#define PG_GROUP_MAX 64
/* Runs of one group (deadlock, serialization failure, lost connection) before its operations
 * are told STORE_UNAVAILABLE. */
#define PG_GROUP_TRIES 8

struct pg_op; /* an operation queued for the writer (pg_writer.c) */

struct pg_touch {
	int64_t id;
	int64_t seen_ms;
};

struct pg_store {
	struct store base; /* first: the seam's view of this store (backend.h) */
	char *dsn;
	char *password; /* from password_file; never logged */

	pthread_mutex_t lock; /* guards the pool, notify, touches and the statistics */
	PGconn *idle[PG_POOL_MAX];
	int nidle;
	struct store_notify notify;
	int notifying;              /* notification callbacks running on the listener */
	pthread_cond_t notify_idle; /* notifying came back to 0 */
	int fail_commits;
	uint64_t commits, committed_ops, largest_group, commit_failures;
	uint64_t reads; /* statements that only read, outside a write transaction */

	/* Last-seen times recorded by store_device_touch and not yet written (one batch). */
	struct pg_touch *touch;
	size_t ntouch;

	/* The listener thread: LISTEN for other servers' commits, and flush touches. */
	pthread_t listener;
	int listener_running;
	int stopping;
	pthread_cond_t wake;

	/* The writer thread (pg_writer.c) and its queue of asynchronous writes, under lock. */
	pthread_t writer;
	int writer_running;
	int writer_stopping;
	pthread_cond_t work;
	struct pg_op *qhead, *qtail;
};

/* At most this many parameters in one statement. */
#define PG_PARAMS_MAX 16
struct pg_params {
	int n;
	const char *v[PG_PARAMS_MAX];
	int len[PG_PARAMS_MAX];
	int fmt[PG_PARAMS_MAX];
	char buf[PG_PARAMS_MAX][24];
};
void pgp_i64(struct pg_params *p, int64_t v);
void pgp_text(struct pg_params *p, const char *s); /* NULL: SQL NULL */
/* n integers as a bigint[] literal ("{1,2,3}"), each at(arr, i); malloc'd, NULL when out of
 * memory. */
char *pg_array_literal(const void *arr, size_t n, int64_t (*at)(const void *arr, size_t i));
void pgp_bytes(struct pg_params *p, const void *b, size_t n);

/* pg.c */
/* A new connection with the store's session settings, NULL when the server cannot be reached. */
PGconn *pg_connect(struct pg_store *st);
/* A connection of the pool (opened when none is idle), NULL when the server cannot be reached. */
PGconn *pg_conn(struct pg_store *st);
/* Returns the connection to the pool (closed instead if it broke). */
void pg_release(struct pg_store *st, PGconn *c);
/* Runs sql; STORE_OK with *res (caller PQclear()s) for a command or rows, else a store rc
 * (logged): 23505 (unique violation) is STORE_CONFLICT, a lost connection STORE_UNAVAILABLE. */
int pg_exec(PGconn *c, const char *what, const char *sql, const struct pg_params *p, PGresult **res);
/* 1 when this thread's last failed statement was a deadlock (40P01) or a serialization failure
 * (40001): its transaction can be run again and may then succeed. */
int pg_retryable(void);
void pg_retryable_reset(void);
/* Runs sql whose result is not needed. */
int pg_cmd(PGconn *c, const char *what, const char *sql, const struct pg_params *p);
int pg_begin(PGconn *c);
/* COMMIT (or ROLLBACK when rc is not STORE_OK); returns the final rc. Counts commit groups. */
int pg_end(struct pg_store *st, PGconn *c, int rc);
int64_t pg_i64(const PGresult *r, int row, int col);
/* Copies a text column (NUL-terminated, truncated to size - 1). */
void pg_text(char *dst, size_t size, const PGresult *r, int row, int col);
/* Decodes a bytea column in hex output form into dst (at most max bytes); the length. */
size_t pg_bytes(uint8_t *dst, size_t max, const PGresult *r, int row, int col);
/* Flushes the last-seen times recorded so far (one statement). */
int pg_touch_flush(struct pg_store *st);

int pg_open(const struct store_options *opt, struct store **out, const char **err);
void pg_close(struct pg_store *st);

/* pg_schema.c */
int pg_schema_version(void);
/* Applies the migrations under an advisory lock (several servers may start at once). */
int pg_migrate(PGconn *c, const char **err);

/* pg_ops.c: the store.h verbs. */
extern const struct store_backend store_backend_postgresql;

#endif
