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

/* Runs fn inside BEGIN ... COMMIT on a pooled connection (ROLLBACK when fn fails). */
int pg_tx(struct pg_store *st, int (*fn)(PGconn *c, void *arg), void *arg);
/* One statement outside an explicit transaction: a read, or a write that commits on its own. */
int pg_read(struct pg_store *st, const char *what, const char *sql, const struct pg_params *p, PGresult **res);
int pg_write1(struct pg_store *st, const char *what, const char *sql, const struct pg_params *p, int *changed);
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
int pg_device_get(struct store *st, int64_t provider_id, int64_t id, struct store_device *out);
int pg_device_list(struct store *st, int64_t provider_id, store_device_cb cb, void *arg);
int pg_key_roll(struct store *st, int key_id, int *count);
int pg_device_update(struct store *st, int64_t provider_id, int64_t id, const struct store_device_patch *p);
int pg_device_delete(struct store *st, int64_t provider_id, int64_t id);
int pg_device_auth(struct store *st, const uint8_t hash[STORE_HASH_LEN], int64_t *device_id);
void pg_device_touch(struct store *st, int64_t device_id, int64_t now_ms);
int pg_message_put(struct store *st, int64_t provider_id, const struct store_message_in *in, int64_t now_ms,
		   struct store_message *out, int *replayed);
int pg_message_get(struct store *st, int64_t provider_id, int64_t id, struct store_message *out, store_event_cb ev,
		   void *arg);
int pg_message_cancel(struct store *st, int64_t provider_id, int64_t id, int64_t now_ms);
int pg_device_event(struct store *st, int64_t device_id, const char *what, const char *detail, int64_t now_ms);
int pg_device_has_pending(struct store *st, int64_t device_id, uint64_t after, int64_t now_ms);
int pg_device_fetch(struct store *st, int64_t device_id, uint64_t after, int max, int64_t now_ms, store_message_cb cb,
		    void *arg, int *count);
int pg_ack(struct store *st, int64_t device_id, uint64_t seq, uint64_t wake_ctr, int key_id, int64_t now_ms,
	   int *count);
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

#endif
