/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The seam between store.h and the backends that implement it (SQLite in store/sqlite/,
 * PostgreSQL in store/pg/). A store is a backend's object whose first member is struct store;
 * every public store_* function dispatches through the backend's table of operations, each with
 * the public function's contract (store.h). Nothing here leaves store/. */
#ifndef SMSWAKE_STORE_BACKEND_H
#define SMSWAKE_STORE_BACKEND_H

#include <stddef.h>

#include "store.h"

struct store_backend;

struct store {
	const struct store_backend *be;
};

/* Every entry is required but those of the verbs store.h gained after the seam (the *_async
 * writes, poll, fetch_more, push keys, seq events, webhooks, events, fleets): a NULL one of these
 * answers STORE_UNSUPPORTED (logged once), and a NULL *_async entry runs the synchronous verb,
 * returning its error (no callback) or telling its success to the callback on the caller's thread. */
struct store_backend {
	const char *name;  /* "sqlite", "postgresql" */
	const char *title; /* "SQLite", "PostgreSQL": for messages */
	int (*open)(const struct store_options *opt, struct store **out, const char **err);
	int (*schema_version)(void);
	void (*close)(struct store *st);
	int (*user_version)(struct store *st);
	int (*ping)(struct store *st);
	int (*backup)(struct store *st, const char *path);
	void (*set_notify)(struct store *st, const struct store_notify *n);
	int (*provider_add)(struct store *st, const char *name, const uint8_t hash[STORE_HASH_LEN], int64_t now_ms,
			    int64_t *id);
	int (*provider_list)(struct store *st, store_principal_cb cb, void *arg);
	int (*provider_revoke)(struct store *st, const char *name);
	int (*provider_set_budget)(struct store *st, const char *name, int64_t sms_per_day);
	int (*provider_auth)(struct store *st, const uint8_t hash[STORE_HASH_LEN], struct store_principal *out);
	int (*gateway_add)(struct store *st, const char *name, const uint8_t hash[STORE_HASH_LEN], int64_t now_ms,
			   int64_t *id);
	int (*gateway_list)(struct store *st, store_principal_cb cb, void *arg);
	int (*gateway_revoke)(struct store *st, const char *name);
	int (*gateway_auth)(struct store *st, const uint8_t hash[STORE_HASH_LEN], struct store_principal *out);
	int (*device_add)(struct store *st, struct store_device *d, const uint8_t token_hash[STORE_HASH_LEN],
			  int64_t now_ms);
	int (*device_add_async)(struct store *st, struct store_device *d, const uint8_t token_hash[STORE_HASH_LEN],
				int64_t now_ms, store_done_cb done, void *arg);
	int (*device_add_many)(struct store *st, struct store_device_new *devs, size_t n, int64_t now_ms);
	int (*device_add_many_async)(struct store *st, struct store_device_new *devs, size_t n, int64_t now_ms,
				     store_done_cb done, void *arg);
	int (*device_get)(struct store *st, int64_t provider_id, int64_t id, struct store_device *out);
	int (*device_list)(struct store *st, int64_t provider_id, store_device_cb cb, void *arg);
	int (*key_roll)(struct store *st, int key_id, int *count);
	int (*device_update)(struct store *st, int64_t provider_id, int64_t id, const struct store_device_patch *p);
	int (*device_set_push_keys)(struct store *st, int64_t device_id, const char *p256dh, const char *auth,
				    const char *server_key, const char *token, uint64_t *last_seq);
	int (*device_delete)(struct store *st, int64_t provider_id, int64_t id);
	int (*device_auth)(struct store *st, const uint8_t hash[STORE_HASH_LEN], int64_t *device_id);
	int (*device_by_push_token)(struct store *st, const char *token, int64_t *device_id, int64_t *provider_id,
				    char server_key[STORE_P256DH_MAX + 1]);
	void (*device_touch)(struct store *st, int64_t device_id, int64_t now_ms);
	int (*message_put)(struct store *st, int64_t provider_id, const struct store_message_in *in, int64_t now_ms,
			   struct store_message *out, int *replayed);
	int (*message_put_async)(struct store *st, int64_t provider_id, const struct store_message_in *in,
				 int64_t now_ms, struct store_message *out, int *replayed, store_done_cb done,
				 void *arg);
	int (*message_get)(struct store *st, int64_t provider_id, int64_t id, struct store_message *out,
			   store_event_cb ev, void *arg);
	int (*message_cancel)(struct store *st, int64_t provider_id, int64_t id, int64_t now_ms);
	int (*device_event)(struct store *st, int64_t device_id, const char *what, const char *detail, int64_t now_ms);
	int (*seq_event)(struct store *st, int64_t device_id, const uint64_t *seqs, size_t n, const char *what,
			 const char *detail, int64_t now_ms);
	int (*device_has_pending)(struct store *st, int64_t device_id, uint64_t after, int64_t now_ms);
	int (*device_poll)(struct store *st, int64_t device_id, uint64_t after, int64_t now_ms,
			   struct store_device *out, int *pending);
	/* Optional: without it, store_device_poll_token is device_auth then device_poll. */
	int (*device_poll_token)(struct store *st, const uint8_t hash[STORE_HASH_LEN], uint64_t after, int64_t now_ms,
				 struct store_device *out, int *pending);
	int (*device_fetch)(struct store *st, int64_t device_id, uint64_t after, int max, int64_t now_ms,
			    store_message_cb cb, void *arg, int *count);
	int (*device_fetch_more)(struct store *st, int64_t device_id, uint64_t after, int max, int64_t now_ms,
				 store_message_cb cb, void *arg, int *count, int *more);
	int (*device_fetch_more_async)(struct store *st, int64_t device_id, uint64_t after, int max, int64_t now_ms,
				       struct store_fetched **out, int *count, int *more, store_done_cb done,
				       void *arg);
	int (*ack)(struct store *st, int64_t device_id, uint64_t seq, uint64_t wake_ctr, int key_id, int64_t now_ms,
		   int *count);
	int (*ack_async)(struct store *st, int64_t device_id, uint64_t seq, uint64_t wake_ctr, int key_id,
			 int64_t now_ms, int *count, store_done_cb done, void *arg);
	int (*wake_job_add)(struct store *st, struct store_wake_job *job, int64_t now_ms);
	int (*wake_lease)(struct store *st, int64_t gateway_id, int max, int64_t lease_ms, int64_t now_ms,
			  struct store_wake_job *jobs, int *n);
	int (*wake_report)(struct store *st, int64_t gateway_id, int64_t job_id, int outcome, int64_t reference,
			   const char *error, int64_t at_ms, int64_t now_ms);
	int (*wake_job_get)(struct store *st, int64_t job_id, struct store_wake_job *out);
	int (*wake_candidates)(struct store *st, int64_t now_ms, store_wake_candidate_cb cb, void *arg);
	int (*wake_counter_next)(struct store *st, int64_t device_id, uint64_t *ctr);
	int (*wake_backlog)(struct store *st, int64_t now_ms, struct store_wake_backlog *out);
	int (*device_set_wake_state)(struct store *st, int64_t device_id, int state, int64_t now_ms);
	int (*expire)(struct store *st, int64_t now_ms, int *count);
	int (*purge)(struct store *st, int64_t before_ms, int *count);
	int (*stats)(struct store *st, struct store_stats *out);
	int (*webhook_add)(struct store *st, struct store_webhook *w, const uint8_t secret[STORE_SECRET_LEN],
			   int64_t now_ms);
	int (*webhook_list)(struct store *st, int64_t provider_id, store_webhook_cb cb, void *arg);
	int (*webhook_get)(struct store *st, int64_t provider_id, int64_t id, struct store_webhook *w);
	int (*webhook_delete)(struct store *st, int64_t provider_id, int64_t id);
	int (*webhook_due)(struct store *st, int64_t now_ms, int max, store_delivery_cb cb, void *arg);
	int (*webhook_result)(struct store *st, int64_t outbox_id, int64_t webhook_id, int status, const char *error,
			      int64_t retry_ms, int disable, int64_t now_ms);
	int (*events_after)(struct store *st, int64_t provider_id, int64_t after_id, int max, store_event_out_cb cb,
			    void *arg);
	int (*events_last)(struct store *st, int64_t provider_id, int64_t *id);
	int (*events_oldest)(struct store *st, int64_t provider_id, int64_t *id);
	int (*events_purge)(struct store *st, int64_t before_ms, int *count);
	int (*device_query)(struct store *st, const struct store_device_query *q, store_device_cb cb, void *arg);
	int (*device_tags)(struct store *st, int64_t device_id, char tags[][STORE_TAG_MAX + 1], int *n);
	int (*device_set_tags)(struct store *st, int64_t provider_id, int64_t device_id, const char *const *tags,
			       int n);
	int (*batch_put)(struct store *st, int64_t provider_id, const struct store_batch_in *in, int64_t now_ms,
			 int64_t *batch_id, int64_t *count);
	int (*batch_get)(struct store *st, int64_t provider_id, int64_t batch_id, int64_t counts[MSG_STATE_COUNT],
			 int64_t *total, int64_t *created_ms);
	void (*debug_fail_commits)(struct store *st, int n);
};

extern const struct store_backend store_backend_sqlite;
extern const struct store_backend store_backend_postgresql;

/* store.c: checks shared by the backends. */
/* Length within [min, max] and no control characters; strict also refuses anything outside
 * printable ASCII (for keys and media types that end up in HTTP headers). */
int store_valid_text(const char *s, size_t min, size_t max, int strict);
/* A store_message_cb that appends a copy of m (its body in the same allocation) to a
 * store_fetched list; arg is the list's tail (struct store_fetched ***). -1 out of memory. */
int store_fetched_append(void *arg, const struct store_message *m);
/* A message's own event (store_message_in): none (what NULL), or a valid what and detail. */
int store_valid_event(const char *what, const char *detail);
/* E.164: an optional "+" and 1 to 15 digits. */
int store_valid_msisdn(const char *s);
/* A device row read from disk, brought up to a contact at seen_ms that may not be on disk yet:
 * the later last-seen time, and a wakeup answered by it is over. */
void store_device_seen(struct store_device *d, int64_t seen_ms);

#endif
