/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The SQLite backend's table of operations: each entry hands the seam's struct store to the
 * SQLite function of the same verb. */
#include "store_int.h"

static struct sq_store *SQ(struct store *st)
{
	return (struct sq_store *)st; /* base is the first member */
}

static int a_open(const struct store_options *opt, struct store **out, const char **err)
{
	struct sq_store *st;
	int rc = sq_open(opt, &st, err);

	if (rc != STORE_OK)
		return rc;
	st->base.be = &store_backend_sqlite;
	*out = &st->base;
	return STORE_OK;
}

static void a_close(struct store *st)
{
	sq_close(SQ(st));
}

static int a_user_version(struct store *st)
{
	return sq_user_version(SQ(st));
}

static int a_ping(struct store *st)
{
	return sq_ping(SQ(st));
}

static int a_backup(struct store *st, const char *path)
{
	return sq_backup(SQ(st), path);
}

static void a_set_notify(struct store *st, const struct store_notify *n)
{
	sq_set_notify(SQ(st), n);
}

static int a_provider_add(struct store *st, const char *name, const uint8_t hash[STORE_HASH_LEN], int64_t now_ms,
			  int64_t *id)
{
	return sq_provider_add(SQ(st), name, hash, now_ms, id);
}

static int a_provider_list(struct store *st, store_principal_cb cb, void *arg)
{
	return sq_provider_list(SQ(st), cb, arg);
}

static int a_provider_revoke(struct store *st, const char *name)
{
	return sq_provider_revoke(SQ(st), name);
}

static int a_provider_set_budget(struct store *st, const char *name, int64_t sms_per_day)
{
	return sq_provider_set_budget(SQ(st), name, sms_per_day);
}

static int a_provider_auth(struct store *st, const uint8_t hash[STORE_HASH_LEN], struct store_principal *out)
{
	return sq_provider_auth(SQ(st), hash, out);
}

static int a_gateway_add(struct store *st, const char *name, const uint8_t hash[STORE_HASH_LEN], int64_t now_ms,
			 int64_t *id)
{
	return sq_gateway_add(SQ(st), name, hash, now_ms, id);
}

static int a_gateway_list(struct store *st, store_principal_cb cb, void *arg)
{
	return sq_gateway_list(SQ(st), cb, arg);
}

static int a_gateway_revoke(struct store *st, const char *name)
{
	return sq_gateway_revoke(SQ(st), name);
}

static int a_gateway_auth(struct store *st, const uint8_t hash[STORE_HASH_LEN], struct store_principal *out)
{
	return sq_gateway_auth(SQ(st), hash, out);
}

static int a_device_add(struct store *st, struct store_device *d, const uint8_t token_hash[STORE_HASH_LEN],
			int64_t now_ms)
{
	return sq_device_add(SQ(st), d, token_hash, now_ms);
}

static int a_device_add_async(struct store *st, struct store_device *d, const uint8_t token_hash[STORE_HASH_LEN],
			      int64_t now_ms, store_done_cb done, void *arg)
{
	return sq_device_add_async(SQ(st), d, token_hash, now_ms, done, arg);
}

static int a_device_add_many(struct store *st, struct store_device_new *devs, size_t n, int64_t now_ms)
{
	return sq_device_add_many(SQ(st), devs, n, now_ms);
}

static int a_device_add_many_async(struct store *st, struct store_device_new *devs, size_t n, int64_t now_ms,
				   store_done_cb done, void *arg)
{
	return sq_device_add_many_async(SQ(st), devs, n, now_ms, done, arg);
}

static int a_device_get(struct store *st, int64_t provider_id, int64_t id, struct store_device *out)
{
	return sq_device_get(SQ(st), provider_id, id, out);
}

static int a_device_list(struct store *st, int64_t provider_id, store_device_cb cb, void *arg)
{
	return sq_device_list(SQ(st), provider_id, cb, arg);
}

static int a_key_roll(struct store *st, int key_id, int *count)
{
	return sq_key_roll(SQ(st), key_id, count);
}

static int a_device_update(struct store *st, int64_t provider_id, int64_t id, const struct store_device_patch *p)
{
	return sq_device_update(SQ(st), provider_id, id, p);
}

static int a_device_set_push_keys(struct store *st, int64_t device_id, const char *p256dh, const char *auth,
				  const char *server_key, const char *token, uint64_t *last_seq)
{
	return sq_device_set_push_keys(SQ(st), device_id, p256dh, auth, server_key, token, last_seq);
}

static int a_device_delete(struct store *st, int64_t provider_id, int64_t id)
{
	return sq_device_delete(SQ(st), provider_id, id);
}

static int a_device_auth(struct store *st, const uint8_t hash[STORE_HASH_LEN], int64_t *device_id)
{
	return sq_device_auth(SQ(st), hash, device_id);
}

static int a_device_by_push_token(struct store *st, const char *token, int64_t *device_id, int64_t *provider_id,
				  char server_key[STORE_P256DH_MAX + 1])
{
	return sq_device_by_push_token(SQ(st), token, device_id, provider_id, server_key);
}

static void a_device_touch(struct store *st, int64_t device_id, int64_t now_ms)
{
	sq_device_touch(SQ(st), device_id, now_ms);
}

static int a_message_put(struct store *st, int64_t provider_id, const struct store_message_in *in, int64_t now_ms,
			 struct store_message *out, int *replayed)
{
	return sq_message_put(SQ(st), provider_id, in, now_ms, out, replayed);
}

static int a_message_put_async(struct store *st, int64_t provider_id, const struct store_message_in *in, int64_t now_ms,
			       struct store_message *out, int *replayed, store_done_cb done, void *arg)
{
	return sq_message_put_async(SQ(st), provider_id, in, now_ms, out, replayed, done, arg);
}

static int a_message_get(struct store *st, int64_t provider_id, int64_t id, struct store_message *out,
			 store_event_cb ev, void *arg)
{
	return sq_message_get(SQ(st), provider_id, id, out, ev, arg);
}

static int a_message_cancel(struct store *st, int64_t provider_id, int64_t id, int64_t now_ms)
{
	return sq_message_cancel(SQ(st), provider_id, id, now_ms);
}

static int a_device_event(struct store *st, int64_t device_id, const char *what, const char *detail, int64_t now_ms)
{
	return sq_device_event(SQ(st), device_id, what, detail, now_ms);
}

static int a_seq_event(struct store *st, int64_t device_id, const uint64_t *seqs, size_t n, const char *what,
		       const char *detail, int64_t now_ms)
{
	return sq_seq_event(SQ(st), device_id, seqs, n, what, detail, now_ms);
}

static int a_device_has_pending(struct store *st, int64_t device_id, uint64_t after, int64_t now_ms)
{
	return sq_device_has_pending(SQ(st), device_id, after, now_ms);
}

static int a_device_poll_token(struct store *st, const uint8_t hash[STORE_HASH_LEN], uint64_t after, int64_t now_ms,
			       struct store_device *out, int *pending)
{
	return sq_device_poll_token(SQ(st), hash, after, now_ms, out, pending);
}

static int a_device_poll(struct store *st, int64_t device_id, uint64_t after, int64_t now_ms, struct store_device *out,
			 int *pending)
{
	return sq_device_poll(SQ(st), device_id, after, now_ms, out, pending);
}

static int a_device_fetch(struct store *st, int64_t device_id, uint64_t after, int max, int64_t now_ms,
			  store_message_cb cb, void *arg, int *count)
{
	return sq_device_fetch(SQ(st), device_id, after, max, now_ms, cb, arg, count);
}

static int a_device_fetch_more(struct store *st, int64_t device_id, uint64_t after, int max, int64_t now_ms,
			       store_message_cb cb, void *arg, int *count, int *more)
{
	return sq_device_fetch_more(SQ(st), device_id, after, max, now_ms, cb, arg, count, more);
}

static int a_device_fetch_more_async(struct store *st, int64_t device_id, uint64_t after, int max, int64_t now_ms,
				     struct store_fetched **out, int *count, int *more, store_done_cb done, void *arg)
{
	return sq_device_fetch_more_async(SQ(st), device_id, after, max, now_ms, out, count, more, done, arg);
}

static int a_ack(struct store *st, int64_t device_id, uint64_t seq, uint64_t wake_ctr, int key_id, int64_t now_ms,
		 int *count)
{
	return sq_ack(SQ(st), device_id, seq, wake_ctr, key_id, now_ms, count);
}

static int a_ack_async(struct store *st, int64_t device_id, uint64_t seq, uint64_t wake_ctr, int key_id, int64_t now_ms,
		       int *count, store_done_cb done, void *arg)
{
	return sq_ack_async(SQ(st), device_id, seq, wake_ctr, key_id, now_ms, count, done, arg);
}

static int a_wake_job_add(struct store *st, struct store_wake_job *job, int64_t now_ms)
{
	return sq_wake_job_add(SQ(st), job, now_ms);
}

static int a_wake_lease(struct store *st, int64_t gateway_id, int max, int64_t lease_ms, int64_t now_ms,
			struct store_wake_job *jobs, int *n)
{
	return sq_wake_lease(SQ(st), gateway_id, max, lease_ms, now_ms, jobs, n);
}

static int a_wake_report(struct store *st, int64_t gateway_id, int64_t job_id, int outcome, int64_t reference,
			 const char *error, int64_t at_ms, int64_t now_ms)
{
	return sq_wake_report(SQ(st), gateway_id, job_id, outcome, reference, error, at_ms, now_ms);
}

static int a_wake_job_get(struct store *st, int64_t job_id, struct store_wake_job *out)
{
	return sq_wake_job_get(SQ(st), job_id, out);
}

static int a_wake_candidates(struct store *st, int64_t now_ms, store_wake_candidate_cb cb, void *arg)
{
	return sq_wake_candidates(SQ(st), now_ms, cb, arg);
}

static int a_wake_counter_next(struct store *st, int64_t device_id, uint64_t *ctr)
{
	return sq_wake_counter_next(SQ(st), device_id, ctr);
}

static int a_wake_backlog(struct store *st, int64_t now_ms, struct store_wake_backlog *out)
{
	return sq_wake_backlog(SQ(st), now_ms, out);
}

static int a_device_set_wake_state(struct store *st, int64_t device_id, int state, int64_t now_ms)
{
	return sq_device_set_wake_state(SQ(st), device_id, state, now_ms);
}

static int a_expire(struct store *st, int64_t now_ms, int *count)
{
	return sq_expire(SQ(st), now_ms, count);
}

static int a_purge(struct store *st, int64_t before_ms, int *count)
{
	return sq_purge(SQ(st), before_ms, count);
}

static int a_stats(struct store *st, struct store_stats *out)
{
	return sq_stats(SQ(st), out);
}

static int a_webhook_add(struct store *st, struct store_webhook *w, const uint8_t secret[STORE_SECRET_LEN],
			 int64_t now_ms)
{
	return sq_webhook_add(SQ(st), w, secret, now_ms);
}

static int a_webhook_list(struct store *st, int64_t provider_id, store_webhook_cb cb, void *arg)
{
	return sq_webhook_list(SQ(st), provider_id, cb, arg);
}

static int a_webhook_get(struct store *st, int64_t provider_id, int64_t id, struct store_webhook *w)
{
	return sq_webhook_get(SQ(st), provider_id, id, w);
}

static int a_webhook_delete(struct store *st, int64_t provider_id, int64_t id)
{
	return sq_webhook_delete(SQ(st), provider_id, id);
}

static int a_webhook_due(struct store *st, int64_t now_ms, int max, store_delivery_cb cb, void *arg)
{
	return sq_webhook_due(SQ(st), now_ms, max, cb, arg);
}

static int a_webhook_result(struct store *st, int64_t outbox_id, int64_t webhook_id, int status, const char *error,
			    int64_t retry_ms, int disable, int64_t now_ms)
{
	return sq_webhook_result(SQ(st), outbox_id, webhook_id, status, error, retry_ms, disable, now_ms);
}

static int a_events_after(struct store *st, int64_t provider_id, int64_t after_id, int max, store_event_out_cb cb,
			  void *arg)
{
	return sq_events_after(SQ(st), provider_id, after_id, max, cb, arg);
}

static int a_events_last(struct store *st, int64_t provider_id, int64_t *id)
{
	return sq_events_last(SQ(st), provider_id, id);
}

static int a_events_oldest(struct store *st, int64_t provider_id, int64_t *id)
{
	return sq_events_oldest(SQ(st), provider_id, id);
}

static int a_events_purge(struct store *st, int64_t before_ms, int *count)
{
	return sq_events_purge(SQ(st), before_ms, count);
}

static int a_device_query(struct store *st, const struct store_device_query *q, store_device_cb cb, void *arg)
{
	return sq_device_query(SQ(st), q, cb, arg);
}

static int a_device_tags(struct store *st, int64_t device_id, char tags[][STORE_TAG_MAX + 1], int *n)
{
	return sq_device_tags(SQ(st), device_id, tags, n);
}

static int a_device_set_tags(struct store *st, int64_t provider_id, int64_t device_id, const char *const *tags, int n)
{
	return sq_device_set_tags(SQ(st), provider_id, device_id, tags, n);
}

static int a_batch_put(struct store *st, int64_t provider_id, const struct store_batch_in *in, int64_t now_ms,
		       int64_t *batch_id, int64_t *count)
{
	return sq_batch_put(SQ(st), provider_id, in, now_ms, batch_id, count);
}

static int a_batch_get(struct store *st, int64_t provider_id, int64_t batch_id, int64_t counts[MSG_STATE_COUNT],
		       int64_t *total, int64_t *created_ms)
{
	return sq_batch_get(SQ(st), provider_id, batch_id, counts, total, created_ms);
}

static void a_debug_fail_commits(struct store *st, int n)
{
	sq_debug_fail_commits(SQ(st), n);
}

const struct store_backend store_backend_sqlite = {
	.name = "sqlite",
	.title = "SQLite",
	.open = a_open,
	.schema_version = sq_schema_version,
	.close = a_close,
	.user_version = a_user_version,
	.ping = a_ping,
	.backup = a_backup,
	.set_notify = a_set_notify,
	.provider_add = a_provider_add,
	.provider_list = a_provider_list,
	.provider_revoke = a_provider_revoke,
	.provider_set_budget = a_provider_set_budget,
	.provider_auth = a_provider_auth,
	.gateway_add = a_gateway_add,
	.gateway_list = a_gateway_list,
	.gateway_revoke = a_gateway_revoke,
	.gateway_auth = a_gateway_auth,
	.device_add = a_device_add,
	.device_add_async = a_device_add_async,
	.device_add_many = a_device_add_many,
	.device_add_many_async = a_device_add_many_async,
	.device_get = a_device_get,
	.device_list = a_device_list,
	.key_roll = a_key_roll,
	.device_update = a_device_update,
	.device_set_push_keys = a_device_set_push_keys,
	.device_delete = a_device_delete,
	.device_auth = a_device_auth,
	.device_by_push_token = a_device_by_push_token,
	.device_touch = a_device_touch,
	.message_put = a_message_put,
	.message_put_async = a_message_put_async,
	.message_get = a_message_get,
	.message_cancel = a_message_cancel,
	.device_event = a_device_event,
	.seq_event = a_seq_event,
	.device_has_pending = a_device_has_pending,
	.device_poll = a_device_poll,
	.device_poll_token = a_device_poll_token,
	.device_fetch = a_device_fetch,
	.device_fetch_more = a_device_fetch_more,
	.device_fetch_more_async = a_device_fetch_more_async,
	.ack = a_ack,
	.ack_async = a_ack_async,
	.wake_job_add = a_wake_job_add,
	.wake_lease = a_wake_lease,
	.wake_report = a_wake_report,
	.wake_job_get = a_wake_job_get,
	.wake_candidates = a_wake_candidates,
	.wake_counter_next = a_wake_counter_next,
	.wake_backlog = a_wake_backlog,
	.device_set_wake_state = a_device_set_wake_state,
	.expire = a_expire,
	.purge = a_purge,
	.stats = a_stats,
	.webhook_add = a_webhook_add,
	.webhook_list = a_webhook_list,
	.webhook_get = a_webhook_get,
	.webhook_delete = a_webhook_delete,
	.webhook_due = a_webhook_due,
	.webhook_result = a_webhook_result,
	.events_after = a_events_after,
	.events_last = a_events_last,
	.events_oldest = a_events_oldest,
	.events_purge = a_events_purge,
	.device_query = a_device_query,
	.device_tags = a_device_tags,
	.device_set_tags = a_device_set_tags,
	.batch_put = a_batch_put,
	.batch_get = a_batch_get,
	.debug_fail_commits = a_debug_fail_commits,
};
