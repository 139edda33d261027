/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Internals shared by the SQLite store's files: the store object, queued write operations,
 * per-thread read connections and the cached SQL statements. Nothing here leaves store/. */
#ifndef SMSWAKE_STORE_INT_H
#define SMSWAKE_STORE_INT_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>

#include "backend.h"

/* A wake job leaves the queue for good after this many leases (failed reports or expired leases). */
#define STORE_JOB_MAX_ATTEMPTS 5
/* A failed job is due again after this, doubling with each attempt (5, 10, 20, 40 s): a modem
 * that refuses sends is not hammered, and another gateway gets its chance. */
#define STORE_JOB_RETRY_MS 5000
/* Upper bounds on what one call hands over, so one request cannot pin the writer. */
#define STORE_FETCH_MAX 1000
#define STORE_LEASE_MAX 256
/* Rows changed per maintenance operation; store_expire and store_purge loop over chunks. */
#define STORE_CHUNK 2000

/* Cached statements of the writer connection, all prepared at open so a typo fails there. */
enum wsql {
	WS_BEGIN,
	WS_DATA_VERSION,
	WS_COMMIT,
	WS_ROLLBACK,
	WS_SAVEPOINT,
	WS_ROLLBACK_TO,
	WS_RELEASE,
	WS_COUNT_QUEUED,
	WS_PROVIDER_ADD,
	WS_PROVIDER_ACTIVE,
	WS_PROVIDER_REVOKE,
	WS_PROVIDER_BUDGET,
	WS_GATEWAY_ADD,
	WS_GATEWAY_REVOKE,
	WS_GATEWAY_SEEN,
	WS_DEVICE_ADD,
	WS_DEVICE_OWNER,
	WS_DEVICE_UPDATE,
	WS_DEVICE_DEL_EVENTS,
	WS_DEVICE_DEL_IDEM,
	WS_DEVICE_DEL_MSGS,
	WS_DEVICE_DEL_JOBS,
	WS_DEVICE_DEL,
	WS_DEVICE_TOUCH,
	WS_DEVICE_NEXT_SEQ,
	WS_DEVICE_LAST_SEQ,
	WS_DEVICE_PENDING,
	WS_DEVICE_ACK,
	WS_KEY_ROLL,
	WS_DEVICE_WAKE,
	WS_DEVICE_SENT,
	WS_DEVICE_CTR_NEXT,
	WS_DEVICE_SET_WAKE,
	WS_DEVICE_SET_PUSH,
	WS_EVENT_SEQ,
	WS_DEVICE_UNREACHABLE,
	WS_IDEM_GET,
	WS_IDEM_DEL,
	WS_IDEM_ADD,
	WS_MSG_LOAD,
	WS_MSG_INSERT,
	WS_MSG_SET_STATE,
	WS_EVENT_ADD,
	WS_EVENT_REPLACE,
	WS_MSG_REPLACE,
	WS_EVENT_DEVICE_PENDING,
	WS_FETCH_SELECT,
	WS_EVENT_FETCH,
	WS_MSG_FETCH,
	WS_EVENT_ACK,
	WS_MSG_ACK,
	WS_EVENT_WAKE_SENT,
	WS_MSG_WAKE_SENT,
	WS_EVENT_DELIVERED,
	WS_MSG_DELIVERED,
	WS_EVENT_EXPIRE,
	WS_MSG_EXPIRE,
	WS_PURGE_EVENTS,
	WS_PURGE_MSGS,
	WS_PURGE_IDEM,
	WS_PURGE_JOBS,
	WS_JOB_ADD,
	WS_JOB_EXHAUST,
	WS_JOB_DUE,
	WS_JOB_LEASE,
	WS_JOB_CONTENT,
	WS_JOB_DROP,
	WS_JOB_OUTSTANDING,
	WS_JOB_GUARD,
	WS_JOB_STATE,
	WS_JOB_SUBMITTED,
	WS_JOB_DELIVERED,
	WS_JOB_REQUEUE,
	WS_JOB_FINAL,
	WS_COUNT
};

/* Cached statements of a read connection, prepared on first use. */
enum rsql {
	RS_PING,
	RS_USER_VERSION,
	RS_PROVIDER_AUTH,
	RS_GATEWAY_AUTH,
	RS_PROVIDER_LIST,
	RS_GATEWAY_LIST,
	RS_DEVICE_AUTH,
	RS_DEVICE_BY_PUSH,
	RS_DEVICE_GET,
	RS_DEVICE_LIST,
	RS_DEVICE_LIST_ALL,
	RS_HAS_PENDING,
	RS_DEVICE_POLL,
	RS_DEVICE_POLL_TOKEN,
	RS_FETCH_PRECHECK,
	RS_MSG_GET,
	RS_MSG_EVENTS,
	RS_JOB_GET,
	RS_CANDIDATES,
	RS_DEVICE_WAKES,
	RS_PROVIDER_WAKES,
	RS_DEVICE_LAST_JOB,
	RS_WAKE_BACKLOG,
	RS_STATS_MESSAGES,
	RS_STATS_OTHER,
	RS_COUNT
};

extern const char *const store_wsql[WS_COUNT];
extern const char *const store_rsql[RS_COUNT];

enum op_kind {
	OP_PING,
	OP_PRINCIPAL_ADD,
	OP_PRINCIPAL_REVOKE,
	OP_PROVIDER_BUDGET,
	OP_KEY_ROLL,
	OP_DEVICE_ADD,
	OP_DEVICE_ADD_MANY,
	OP_DEVICE_UPDATE,
	OP_DEVICE_DELETE,
	OP_MESSAGE_PUT,
	OP_MESSAGE_CANCEL,
	OP_DEVICE_EVENT,
	OP_FETCH,
	OP_ACK,
	OP_JOB_ADD,
	OP_COUNTER_NEXT,
	OP_SET_WAKE_STATE,
	OP_PUSH_KEYS,
	OP_SEQ_EVENT,
	OP_LEASE,
	OP_REPORT,
	OP_EXPIRE,
	OP_PURGE,
	OP_WEBHOOK,
	OP_FLEET,
};

/* One write request. It lives on the requesting thread's stack, which blocks until done is set;
 * pointers in u refer to the caller's memory and stay valid until then. */
struct store_op {
	struct store_op *next;
	enum op_kind kind;
	int rc;
	int done;
	pthread_cond_t cond;
	/* Asynchronous ops (writer_submit_async): heap copies, freed by the writer after it called
	 * done_cb once the group committed or failed. NULL for a caller waiting on cond. */
	store_done_cb done_cb;
	void *done_arg;
	int64_t now_ms;
	union {
		struct {
			int gateway;
			const char *name;
			const uint8_t *hash;
			int64_t *id;
		} principal;
		struct {
			const char *name;
			int64_t budget;
		} budget;
		struct {
			struct store_device *d;
			const uint8_t *hash;
		} device_add;
		struct {
			struct store_device_new *devs;
			size_t n;
		} device_many;
		struct {
			int64_t provider_id;
			int64_t id;
			const struct store_device_patch *p;
		} device;
		struct {
			int64_t provider_id;
			const struct store_message_in *in;
			struct store_message *out;
			int *replayed;
		} put;
		struct {
			int64_t provider_id;
			int64_t id;
		} cancel;
		struct {
			int64_t device_id;
			const char *what;
			const char *detail;
		} event;
		struct {
			int64_t device_id;
			int64_t after;
			int max;
			int count;
			int more; /* a deliverable message remains past the last one handed over */
			/* Copied out of the transaction (store_fetched, store.h): handed to the callback on
			 * the caller's thread after the commit, or for an asynchronous fetch to *out. */
			struct store_fetched *head;
			struct store_fetched **out; /* asynchronous fetches: head, count and more copied */
			int *count_out;             /* to these before done_cb */
			int *more_out;
		} fetch;
		struct {
			int64_t device_id;
			int64_t seq;
			int64_t wake_ctr;
			int key_id;
			int count;
			int *count_out; /* asynchronous acks: count copied here before done_cb */
		} ack;
		struct {
			int key_id;
			int count;
		} key_roll;
		struct {
			struct store_wake_job *job;
		} job_add;
		struct {
			int64_t device_id;
			int state;
			uint64_t ctr;
		} wake;
		struct {
			int64_t gateway_id;
			int max;
			int64_t lease_ms;
			struct store_wake_job *jobs;
			int n;
		} lease;
		struct {
			int64_t gateway_id;
			int64_t job_id;
			int outcome;
			int64_t reference;
			const char *error;
			int64_t at_ms;
		} report;
		struct {
			int what; /* FL_TAGS, FL_BATCH (ops_fleet.c) */
			int64_t provider_id, device_id;
			const char *const *tags;
			int ntags;
			const struct store_batch_in *batch;
			int64_t *batch_id, *count;
		} fleet;
		struct {
			int what; /* WH_ADD, WH_DELETE, WH_RESULT, WH_PURGE (ops_webhook.c) */
			struct store_webhook *w;
			const uint8_t *secret;
			int64_t provider_id, id, webhook_id;
			int status, disable;
			const char *error;
			int64_t retry_ms;
			int count;
		} webhook;
		struct {
			int64_t device_id;
			const uint64_t *seqs;
			size_t n;
			const char *what, *detail;
		} seq_event;
		struct {
			int64_t device_id;
			const char *p256dh, *auth, *server_key, *token;
			uint64_t *last_seq;
		} push;
		struct {
			int64_t before_ms;
			int count; /* rows handled in this chunk (messages for purge) */
			int more;  /* a full chunk was handled: call again */
		} sweep;
	} u;
};

/* Last-seen times recorded by store_device_touch and not yet known to be on disk. An open
 * addressing table (linear probing, backward-shift deletion) under its own mutex. */
struct touch_slot {
	int64_t id; /* 0 = empty */
	int64_t seen_ms;
};
struct touch_item {
	int64_t id;
	int64_t seen_ms;
};
struct touch_map {
	pthread_mutex_t lock;
	struct touch_slot *slots;
	size_t mask; /* capacity - 1, capacity a power of two; 0 before the first touch */
	size_t used;
};

/* Providers' keys that authenticated (authcache.c). */
#define AUTH_CACHE_SLOTS 64
#define AUTH_FRESH_MS 250 /* the table answers only this long after the writer's last check */
struct auth_slot {
	uint8_t hash[STORE_HASH_LEN];
	struct store_principal p;
	int used;
};
struct auth_cache {
	pthread_mutex_t lock;
	uint64_t epoch;       /* +1 each time the table is emptied */
	int64_t data_version; /* the writer connection's PRAGMA data_version at the last check */
	int64_t checked_ms;   /* monotonic start of the last check; 0: none yet */
	uint64_t hits;
	struct auth_slot slot[AUTH_CACHE_SLOTS];
};

/* A read-only connection owned by one thread at a time (in_use), kept in the store's list so
 * store_close can close it. A thread's exit returns it for reuse by a newer thread. */
struct reader {
	struct reader *next;
	struct sq_store *st;
	sqlite3 *db;
	sqlite3_stmt *stmt[RS_COUNT];
	int in_use;
};

struct sq_store {
	struct store base; /* first: the seam's view of this store (backend.h) */
	char *path;
	int synchronous_full;
	int group_max;
	int busy_timeout_ms;
	unsigned fork_gen; /* store_fork_gen at open: a different value means we are in a fork child */

	/* Writer queue and thread; lock also guards stats, fail_commits and notify. */
	pthread_mutex_t lock;
	pthread_cond_t work;
	struct store_op *qhead, *qtail;
	int stopping;
	int writer_running;
	pthread_t writer;
	sqlite3 *wdb;
	sqlite3_stmt *wstmt[WS_COUNT];
	struct store_op **batch; /* group_max slots, used by the writer only */
	int64_t *notify_ids;     /* group_max slots, used by the writer only */
	/* Messages the running op inserted (queued); the writer adds a group's to message_counts
	 * once, before its COMMIT (schema v9). Used by the writer only. */
	int64_t op_queued;

	struct store_notify notify;
	int notifying;              /* notification callbacks running on the writer */
	pthread_cond_t notify_idle; /* notifying came back to 0 */
	int fail_commits;
	uint64_t commits, committed_ops, largest_group, commit_failures;
	uint64_t reads; /* statements run on read connections (atomic) */

	struct touch_map touch;
	struct auth_cache auth;

	pthread_mutex_t readers_lock;
	struct reader *readers;
	pthread_key_t reader_key;
	int reader_key_ok;
};

/* store_sqlite.c */
/* Nonzero in a child process forked after the store was opened: nothing may touch SQLite. */
int store_forked(const struct sq_store *st);
int store_rc_sqlite(int rc);
void store_log_sqlite(sqlite3 *db, const char *what, int rc);

/* schema.c: pragmas, quick_check and migrations on the writer connection. */
int schema_prepare(sqlite3 *db, int synchronous_full, int busy_timeout_ms, const char **err);
int schema_migrate(sqlite3 *db, const char **err);

/* writer.c */
int writer_start(struct sq_store *st, const char **err);
void writer_stop(struct sq_store *st);
/* Queues op and waits for its group's commit; returns op->rc. */
int writer_submit(struct sq_store *st, struct store_op *op);
/* Queues a copy of op and returns STORE_OK at once, or an error without queuing (done is then
 * never called). done(arg, rc) runs on the writer thread after the group's COMMIT. */
int writer_submit_async(struct sq_store *st, const struct store_op *op, store_done_cb done, void *arg);
/* The writer's cached statement, reset and ready for binding. */
sqlite3_stmt *wstmt(struct sq_store *st, enum wsql id);

/* Write operations, run by the writer inside the group's transaction and the op's savepoint. */
/* STORE_OK if the device exists and belongs to provider_id (0: any provider). */
int store_device_owned(struct sq_store *st, int64_t provider_id, int64_t id);
/* An unsigned 64-bit value as the signed 64-bit integer with the same bits, as wake counters are
 * stored (sql.c); reading back, (uint64_t) of the column gives the value. */
static inline int64_t store_u64_bits(uint64_t v)
{
	return v <= (uint64_t)INT64_MAX ? (int64_t)v : -(int64_t)(UINT64_MAX - v) - 1;
}
int op_principal_add(struct sq_store *st, struct store_op *op);
int op_principal_revoke(struct sq_store *st, struct store_op *op);
int op_provider_budget(struct sq_store *st, struct store_op *op);
int op_key_roll(struct sq_store *st, struct store_op *op);
int op_device_add(struct sq_store *st, struct store_op *op);
int op_device_add_many(struct sq_store *st, struct store_op *op);
int op_device_update(struct sq_store *st, struct store_op *op);
int op_device_delete(struct sq_store *st, struct store_op *op);
int op_device_touch(struct sq_store *st, const struct touch_item *t);
int op_message_put(struct sq_store *st, struct store_op *op);
int op_message_cancel(struct sq_store *st, struct store_op *op);
int op_device_event(struct sq_store *st, struct store_op *op);
int op_fetch(struct sq_store *st, struct store_op *op);
int op_ack(struct sq_store *st, struct store_op *op);
int op_expire(struct sq_store *st, struct store_op *op);
int op_purge(struct sq_store *st, struct store_op *op);
int op_job_add(struct sq_store *st, struct store_op *op);
int op_counter_next(struct sq_store *st, struct store_op *op);
int op_set_wake_state(struct sq_store *st, struct store_op *op);
int op_push_keys(struct sq_store *st, struct store_op *op);
int op_seq_event(struct sq_store *st, struct store_op *op);
int op_lease(struct sq_store *st, struct store_op *op);
int op_report(struct sq_store *st, struct store_op *op);
int op_webhook(struct sq_store *st, struct store_op *op);
int op_fleet(struct sq_store *st, struct store_op *op);

/* ops_webhook.c: statements prepared per call, for operations that run rarely. */
/* Prepares sql on db; NULL (logged) on failure. */
sqlite3_stmt *store_prep(sqlite3 *db, const char *sql);
/* Steps a write statement to its end and finalizes it; *changes gets the rows changed. */
int store_wrun(struct sq_store *st, sqlite3_stmt *s, const char *what, int *changes);
/* Prepares sql on the calling thread's read connection; NULL when there is none. */
sqlite3_stmt *store_rprep(struct sq_store *st, const char *sql);
/* Logs a failed read step, finalizes s and returns a store rc other than OK. */
int store_rfail(sqlite3_stmt *s, int rc, const char *what);

/* Steps a bound write statement that returns no rows; resets it; returns a store rc. */
int wstep_done(struct sq_store *st, sqlite3_stmt *s, const char *what);

/* reader.c */
int reader_init(struct sq_store *st);
void reader_close_all(struct sq_store *st);
/* The calling thread's read connection and its cached statement, or NULL (logged). */
sqlite3_stmt *rstmt(struct sq_store *st, enum rsql id);
sqlite3 *reader_conn(struct sq_store *st);

/* read.c: row decoders shared with the writer (same column lists, see sql.c). */
void store_copy_text(char *dst, size_t size, sqlite3_stmt *s, int col);
void store_message_row(sqlite3_stmt *s, struct store_message *m);
void store_job_row(sqlite3_stmt *s, struct store_wake_job *j);
/* STORE_NOTFOUND for an unknown device; else *pending says whether a fetch would find anything. */
int store_fetch_precheck(struct sq_store *st, int64_t device_id, int64_t after, int64_t now_ms, int *pending);

/* authcache.c */
void authcache_init(struct auth_cache *c);
void authcache_destroy(struct auth_cache *c);
/* 1 with *out when the key is remembered; *epoch is for authcache_put after a read. */
int authcache_get(struct auth_cache *c, const uint8_t hash[STORE_HASH_LEN], struct store_principal *out,
		  uint64_t *epoch);
void authcache_put(struct auth_cache *c, const uint8_t hash[STORE_HASH_LEN], const struct store_principal *p,
		   uint64_t epoch);
void authcache_flush(struct auth_cache *c);
/* Writer thread only, outside a transaction: empties the table when another connection has
 * committed since the last check. Checks at most every AUTH_CHECK_MS unless force. Returns 1
 * when another connection has committed, 0 when not or not checked, -1 when the check failed. */
int authcache_check(struct sq_store *st, int force);

/* touch.c */
void touch_init(struct touch_map *t);
void touch_destroy(struct touch_map *t);
void touch_set(struct touch_map *t, int64_t id, int64_t seen_ms);
int64_t touch_get(struct touch_map *t, int64_t id);
/* Copies every entry into a malloc'ed array (NULL, 0 when empty or out of memory). */
void touch_snapshot(struct touch_map *t, struct touch_item **items, size_t *n);
/* Drops the entries that still hold the time that was just saved to disk. */
void touch_forget(struct touch_map *t, const struct touch_item *items, size_t n);

/* The store.h verbs on SQLite (backend.c puts them into the table of operations). */
int sq_open(const struct store_options *opt, struct sq_store **out, const char **err);
int sq_schema_version(void);
void sq_close(struct sq_store *st);
int sq_user_version(struct sq_store *st);
int sq_ping(struct sq_store *st);
int sq_backup(struct sq_store *st, const char *path);
void sq_set_notify(struct sq_store *st, const struct store_notify *n);
int sq_provider_add(struct sq_store *st, const char *name, const uint8_t hash[STORE_HASH_LEN], int64_t now_ms,
		    int64_t *id);
int sq_provider_list(struct sq_store *st, store_principal_cb cb, void *arg);
int sq_provider_revoke(struct sq_store *st, const char *name);
int sq_provider_set_budget(struct sq_store *st, const char *name, int64_t sms_per_day);
int sq_provider_auth(struct sq_store *st, const uint8_t hash[STORE_HASH_LEN], struct store_principal *out);
int sq_gateway_add(struct sq_store *st, const char *name, const uint8_t hash[STORE_HASH_LEN], int64_t now_ms,
		   int64_t *id);
int sq_gateway_list(struct sq_store *st, store_principal_cb cb, void *arg);
int sq_gateway_revoke(struct sq_store *st, const char *name);
int sq_gateway_auth(struct sq_store *st, const uint8_t hash[STORE_HASH_LEN], struct store_principal *out);
int sq_device_add(struct sq_store *st, struct store_device *d, const uint8_t token_hash[STORE_HASH_LEN],
		  int64_t now_ms);
int sq_device_add_async(struct sq_store *st, struct store_device *d, const uint8_t token_hash[STORE_HASH_LEN],
			int64_t now_ms, store_done_cb done, void *arg);
int sq_device_add_many(struct sq_store *st, struct store_device_new *devs, size_t n, int64_t now_ms);
int sq_device_add_many_async(struct sq_store *st, struct store_device_new *devs, size_t n, int64_t now_ms,
			     store_done_cb done, void *arg);
int sq_device_get(struct sq_store *st, int64_t provider_id, int64_t id, struct store_device *out);
int sq_device_list(struct sq_store *st, int64_t provider_id, store_device_cb cb, void *arg);
int sq_key_roll(struct sq_store *st, int key_id, int *count);
int sq_device_update(struct sq_store *st, int64_t provider_id, int64_t id, const struct store_device_patch *p);
int sq_device_set_push_keys(struct sq_store *st, int64_t device_id, const char *p256dh, const char *auth,
			    const char *server_key, const char *token, uint64_t *last_seq);
int sq_device_delete(struct sq_store *st, int64_t provider_id, int64_t id);
int sq_device_auth(struct sq_store *st, const uint8_t hash[STORE_HASH_LEN], int64_t *device_id);
int sq_device_by_push_token(struct sq_store *st, const char *token, int64_t *device_id, int64_t *provider_id,
			    char server_key[STORE_P256DH_MAX + 1]);
void sq_device_touch(struct sq_store *st, int64_t device_id, int64_t now_ms);
int sq_message_put(struct sq_store *st, int64_t provider_id, const struct store_message_in *in, int64_t now_ms,
		   struct store_message *out, int *replayed);
int sq_message_put_async(struct sq_store *st, int64_t provider_id, const struct store_message_in *in, int64_t now_ms,
			 struct store_message *out, int *replayed, store_done_cb done, void *arg);
int sq_message_get(struct sq_store *st, int64_t provider_id, int64_t id, struct store_message *out, store_event_cb ev,
		   void *arg);
int sq_message_cancel(struct sq_store *st, int64_t provider_id, int64_t id, int64_t now_ms);
int sq_device_event(struct sq_store *st, int64_t device_id, const char *what, const char *detail, int64_t now_ms);
int sq_seq_event(struct sq_store *st, int64_t device_id, const uint64_t *seqs, size_t n, const char *what,
		 const char *detail, int64_t now_ms);
int sq_device_has_pending(struct sq_store *st, int64_t device_id, uint64_t after, int64_t now_ms);
int sq_device_poll(struct sq_store *st, int64_t device_id, uint64_t after, int64_t now_ms, struct store_device *out,
		   int *pending);
int sq_device_poll_token(struct sq_store *st, const uint8_t hash[STORE_HASH_LEN], uint64_t after, int64_t now_ms,
			 struct store_device *out, int *pending);
int sq_device_fetch(struct sq_store *st, int64_t device_id, uint64_t after, int max, int64_t now_ms,
		    store_message_cb cb, void *arg, int *count);
int sq_device_fetch_more(struct sq_store *st, int64_t device_id, uint64_t after, int max, int64_t now_ms,
			 store_message_cb cb, void *arg, int *count, int *more);
int sq_device_fetch_more_async(struct sq_store *st, int64_t device_id, uint64_t after, int max, int64_t now_ms,
			       struct store_fetched **out, int *count, int *more, store_done_cb done, void *arg);
/* An asynchronous fetch's results, copied to its caller's pointers once its group ended (the
 * writer, before done_cb); the messages are the caller's from then on. */
void fetch_hand_over(struct store_op *op);
int sq_ack(struct sq_store *st, int64_t device_id, uint64_t seq, uint64_t wake_ctr, int key_id, int64_t now_ms,
	   int *count);
int sq_ack_async(struct sq_store *st, int64_t device_id, uint64_t seq, uint64_t wake_ctr, int key_id, int64_t now_ms,
		 int *count, store_done_cb done, void *arg);
int sq_wake_job_add(struct sq_store *st, struct store_wake_job *job, int64_t now_ms);
int sq_wake_lease(struct sq_store *st, int64_t gateway_id, int max, int64_t lease_ms, int64_t now_ms,
		  struct store_wake_job *jobs, int *n);
int sq_wake_report(struct sq_store *st, int64_t gateway_id, int64_t job_id, int outcome, int64_t reference,
		   const char *error, int64_t at_ms, int64_t now_ms);
int sq_wake_job_get(struct sq_store *st, int64_t job_id, struct store_wake_job *out);
int sq_wake_candidates(struct sq_store *st, int64_t now_ms, store_wake_candidate_cb cb, void *arg);
int sq_wake_counter_next(struct sq_store *st, int64_t device_id, uint64_t *ctr);
int sq_wake_backlog(struct sq_store *st, int64_t now_ms, struct store_wake_backlog *out);
int sq_device_set_wake_state(struct sq_store *st, int64_t device_id, int state, int64_t now_ms);
int sq_expire(struct sq_store *st, int64_t now_ms, int *count);
int sq_purge(struct sq_store *st, int64_t before_ms, int *count);
int sq_stats(struct sq_store *st, struct store_stats *out);
int sq_webhook_add(struct sq_store *st, struct store_webhook *w, const uint8_t secret[STORE_SECRET_LEN],
		   int64_t now_ms);
int sq_webhook_list(struct sq_store *st, int64_t provider_id, store_webhook_cb cb, void *arg);
int sq_webhook_get(struct sq_store *st, int64_t provider_id, int64_t id, struct store_webhook *w);
int sq_webhook_delete(struct sq_store *st, int64_t provider_id, int64_t id);
int sq_webhook_due(struct sq_store *st, int64_t now_ms, int max, store_delivery_cb cb, void *arg);
int sq_webhook_result(struct sq_store *st, int64_t outbox_id, int64_t webhook_id, int status, const char *error,
		      int64_t retry_ms, int disable, int64_t now_ms);
int sq_events_after(struct sq_store *st, int64_t provider_id, int64_t after_id, int max, store_event_out_cb cb,
		    void *arg);
int sq_events_last(struct sq_store *st, int64_t provider_id, int64_t *id);
int sq_events_oldest(struct sq_store *st, int64_t provider_id, int64_t *id);
int sq_events_purge(struct sq_store *st, int64_t before_ms, int *count);
int sq_device_query(struct sq_store *st, const struct store_device_query *q, store_device_cb cb, void *arg);
int sq_device_tags(struct sq_store *st, int64_t device_id, char tags[][STORE_TAG_MAX + 1], int *n);
int sq_device_set_tags(struct sq_store *st, int64_t provider_id, int64_t device_id, const char *const *tags, int n);
int sq_batch_put(struct sq_store *st, int64_t provider_id, const struct store_batch_in *in, int64_t now_ms,
		 int64_t *batch_id, int64_t *count);
int sq_batch_get(struct sq_store *st, int64_t provider_id, int64_t batch_id, int64_t counts[MSG_STATE_COUNT],
		 int64_t *total, int64_t *created_ms);
void sq_debug_fail_commits(struct sq_store *st, int n);

#endif
