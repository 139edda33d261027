/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The store.h verbs on PostgreSQL, as the backend table (pg_backend.c) lists them, and the
 * transaction helpers the files implementing them share. */
#ifndef SMSWAKE_STORE_PG_OPS_H
#define SMSWAKE_STORE_PG_OPS_H

#include "pg_int.h"

static inline struct pg_store *PG(struct store *st)
{
	return (struct pg_store *)st; /* base is the first member */
}

/* The body of a write: its statements, run on c inside a transaction its caller began (its own,
 * pg_tx, or a savepoint of the writer's group, pg_writer.c). Returns a store rc, or PG_UNDO: done,
 * and nothing it changed is kept (an idempotent replay), which its caller reports as STORE_OK; or
 * PG_AGAIN: another server committed first what it needed to add (a unique key), so it is undone
 * and run once more, when it sees that server's row. */
#define PG_UNDO (-1)
#define PG_AGAIN (-2)
typedef int (*pg_body_fn)(PGconn *c, void *arg);
/* Runs fn inside BEGIN ... COMMIT on a pooled connection (ROLLBACK when fn fails). */
int pg_tx(struct pg_store *st, pg_body_fn fn, void *arg);
/* One statement outside an explicit transaction: a read, or a write that commits on its own. */
int pg_read(struct pg_store *st, const char *what, const char *sql, const struct pg_params *p, PGresult **res);
int pg_write1(struct pg_store *st, const char *what, const char *sql, const struct pg_params *p, int *changed);
/* A write of one statement whose rows are wanted (a claim written as WITH ... UPDATE ...
 * RETURNING): committed on its own, counted as a commit; the caller PQclear()s *res. */
int pg_write_rows(struct pg_store *st, const char *what, const char *sql, const struct pg_params *p, PGresult **res);
/* pg_writer.c: the group commit of the asynchronous writes. */
/* Queues body for the writer's next group: arg (size bytes) is copied and the copy is what body
 * and finish get. lock_device (0: none) is the device row body locks: the group locks its rows
 * first, in id order. After the group's COMMIT (or its failure) finish(copy, rc), if not NULL,
 * copies results out, then done(done_arg, rc) runs, on the writer thread. STORE_OK, or an error
 * with nothing queued and no callback. While the store closes, the write is refused through its
 * callbacks at once, on the caller's thread, with STORE_UNAVAILABLE (and STORE_OK is returned). */
int pg_writer_submit(struct pg_store *st, pg_body_fn body, const void *arg, size_t size, int64_t lock_device,
		     void (*finish)(void *arg, int rc), store_done_cb done, void *done_arg);
int pg_writer_start(struct pg_store *st);
/* Commits what is queued, then stops the writer. */
void pg_writer_stop(struct pg_store *st);
/* A row count from PQcmdTuples. */
int atoi_safe(const char *s);

void pg_close_store(struct store *st);
int pg_user_version(struct store *st);
int pg_ping(struct store *st);
int pg_backup(struct store *st, const char *path);
void pg_set_notify(struct store *st, const struct store_notify *n);
int pg_provider_add(struct store *st, const char *name, const uint8_t hash[STORE_HASH_LEN], int64_t now_ms,
		    int64_t *id);
int pg_provider_list(struct store *st, store_principal_cb cb, void *arg);
int pg_provider_revoke(struct store *st, const char *name);
int pg_provider_set_budget(struct store *st, const char *name, int64_t sms_per_day);
int pg_provider_auth(struct store *st, const uint8_t hash[STORE_HASH_LEN], struct store_principal *out);
int pg_gateway_add(struct store *st, const char *name, const uint8_t hash[STORE_HASH_LEN], int64_t now_ms, int64_t *id);
int pg_gateway_list(struct store *st, store_principal_cb cb, void *arg);
int pg_gateway_revoke(struct store *st, const char *name);
int pg_gateway_auth(struct store *st, const uint8_t hash[STORE_HASH_LEN], struct store_principal *out);
int pg_device_add(struct store *st, struct store_device *d, const uint8_t token_hash[STORE_HASH_LEN], int64_t now_ms);
int pg_device_add_async(struct store *st, struct store_device *d, const uint8_t token_hash[STORE_HASH_LEN],
			int64_t now_ms, store_done_cb done, void *arg);
/* What a new device must be (store_device_add's checks). */
int pg_valid_new_device(const struct store_device *d);
int pg_device_add_many(struct store *st, struct store_device_new *devs, size_t n, int64_t now_ms);
int pg_device_add_many_async(struct store *st, struct store_device_new *devs, size_t n, int64_t now_ms,
			     store_done_cb done, void *arg);
int pg_device_get(struct store *st, int64_t provider_id, int64_t id, struct store_device *out);
int pg_device_list(struct store *st, int64_t provider_id, store_device_cb cb, void *arg);
int pg_key_roll(struct store *st, int key_id, int *count);
int pg_device_update(struct store *st, int64_t provider_id, int64_t id, const struct store_device_patch *p);
int pg_device_delete(struct store *st, int64_t provider_id, int64_t id);
int pg_device_auth(struct store *st, const uint8_t hash[STORE_HASH_LEN], int64_t *device_id);
void pg_device_touch(struct store *st, int64_t device_id, int64_t now_ms);
int pg_message_put(struct store *st, int64_t provider_id, const struct store_message_in *in, int64_t now_ms,
		   struct store_message *out, int *replayed);
int pg_message_put_async(struct store *st, int64_t provider_id, const struct store_message_in *in, int64_t now_ms,
			 struct store_message *out, int *replayed, store_done_cb done, void *arg);
int pg_message_get(struct store *st, int64_t provider_id, int64_t id, struct store_message *out, store_event_cb ev,
		   void *arg);
int pg_message_cancel(struct store *st, int64_t provider_id, int64_t id, int64_t now_ms);
int pg_device_event(struct store *st, int64_t device_id, const char *what, const char *detail, int64_t now_ms);
int pg_device_has_pending(struct store *st, int64_t device_id, uint64_t after, int64_t now_ms);
int pg_device_fetch(struct store *st, int64_t device_id, uint64_t after, int max, int64_t now_ms, store_message_cb cb,
		    void *arg, int *count);
int pg_ack(struct store *st, int64_t device_id, uint64_t seq, uint64_t wake_ctr, int key_id, int64_t now_ms,
	   int *count);
int pg_ack_async(struct store *st, int64_t device_id, uint64_t seq, uint64_t wake_ctr, int key_id, int64_t now_ms,
		 int *count, store_done_cb done, void *arg);
int pg_wake_job_add(struct store *st, struct store_wake_job *job, int64_t now_ms);
int pg_wake_lease(struct store *st, int64_t gateway_id, int max, int64_t lease_ms, int64_t now_ms,
		  struct store_wake_job *jobs, int *n);
int pg_wake_report(struct store *st, int64_t gateway_id, int64_t job_id, int outcome, int64_t reference,
		   const char *error, int64_t at_ms, int64_t now_ms);
int pg_wake_job_get(struct store *st, int64_t job_id, struct store_wake_job *out);
int pg_wake_candidates(struct store *st, int64_t now_ms, store_wake_candidate_cb cb, void *arg);
int pg_wake_counter_next(struct store *st, int64_t device_id, uint64_t *ctr);
int pg_wake_backlog(struct store *st, int64_t now_ms, struct store_wake_backlog *out);
int pg_device_set_wake_state(struct store *st, int64_t device_id, int state, int64_t now_ms);
int pg_expire(struct store *st, int64_t now_ms, int *count);
int pg_purge(struct store *st, int64_t before_ms, int *count);
int pg_stats(struct store *st, struct store_stats *out);
void pg_debug_fail_commits(struct store *st, int n);
/* The verbs store.h gained after the seam. */
int pg_device_set_push_keys(struct store *st, int64_t device_id, const char *p256dh, const char *auth,
			    const char *server_key, const char *token, uint64_t *last_seq);
int pg_device_by_push_token(struct store *st, const char *token, int64_t *device_id, int64_t *provider_id,
			    char server_key[STORE_P256DH_MAX + 1]);
int pg_seq_event(struct store *st, int64_t device_id, const uint64_t *seqs, size_t n, const char *what,
		 const char *detail, int64_t now_ms);
int pg_device_poll(struct store *st, int64_t device_id, uint64_t after, int64_t now_ms, struct store_device *out,
		   int *pending);
int pg_device_poll_token(struct store *st, const uint8_t hash[STORE_HASH_LEN], uint64_t after, int64_t now_ms,
			 struct store_device *out, int *pending);
int pg_device_fetch_more(struct store *st, int64_t device_id, uint64_t after, int max, int64_t now_ms,
			 store_message_cb cb, void *arg, int *count, int *more);
int pg_device_fetch_more_async(struct store *st, int64_t device_id, uint64_t after, int max, int64_t now_ms,
			       struct store_fetched **out, int *count, int *more, store_done_cb done, void *arg);
int pg_webhook_add(struct store *st, struct store_webhook *w, const uint8_t secret[STORE_SECRET_LEN], int64_t now_ms);
int pg_webhook_list(struct store *st, int64_t provider_id, store_webhook_cb cb, void *arg);
int pg_webhook_get(struct store *st, int64_t provider_id, int64_t id, struct store_webhook *w);
int pg_webhook_delete(struct store *st, int64_t provider_id, int64_t id);
int pg_webhook_due(struct store *st, int64_t now_ms, int max, store_delivery_cb cb, void *arg);
int pg_webhook_result(struct store *st, int64_t outbox_id, int64_t webhook_id, int status, const char *error,
		      int64_t retry_ms, int disable, int64_t now_ms);
int pg_events_after(struct store *st, int64_t provider_id, int64_t after_id, int max, store_event_out_cb cb, void *arg);
int pg_events_last(struct store *st, int64_t provider_id, int64_t *id);
int pg_events_oldest(struct store *st, int64_t provider_id, int64_t *id);
int pg_events_purge(struct store *st, int64_t before_ms, int *count);
int pg_device_query(struct store *st, const struct store_device_query *q, store_device_cb cb, void *arg);
int pg_device_tags(struct store *st, int64_t device_id, char tags[][STORE_TAG_MAX + 1], int *n);
int pg_device_set_tags(struct store *st, int64_t provider_id, int64_t device_id, const char *const *tags, int n);
int pg_batch_put(struct store *st, int64_t provider_id, const struct store_batch_in *in, int64_t now_ms,
		 int64_t *batch_id, int64_t *count);
int pg_batch_get(struct store *st, int64_t provider_id, int64_t batch_id, int64_t counts[MSG_STATE_COUNT],
		 int64_t *total, int64_t *created_ms);

#endif
