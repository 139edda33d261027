/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The public store_* functions: the backend named by the options opens the store, and every
 * other call goes through that backend's table of operations (backend.h). Also the names of
 * enum values and the input checks every backend shares. */
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "log.h"

/* A verb the store's backend does not have yet (a NULL entry in its table): logged once per verb,
 * answered STORE_UNSUPPORTED, which the API turns into a 501. */
static int unsupported(const struct store *st, const char *verb, int *warned)
{
	if (!__atomic_exchange_n(warned, 1, __ATOMIC_RELAXED))
		log_warnx("%s is not supported on the %s backend yet", verb, st->be->title);
	return STORE_UNSUPPORTED;
}

int store_open(const struct store_options *opt, struct store **out, const char **err)
{
	static const char *dummy;
	const struct store_backend *be;

	if (err == NULL)
		err = &dummy;
	*err = NULL;
	if (out == NULL || opt == NULL) {
		*err = "invalid store options";
		return STORE_ERROR;
	}
	*out = NULL;
	switch (opt->backend) {
	case STORE_BACKEND_SQLITE: be = &store_backend_sqlite; break;
	case STORE_BACKEND_POSTGRESQL: be = &store_backend_postgresql; break;
	default: *err = "unknown store backend"; return STORE_ERROR;
	}
	return be->open(opt, out, err);
}

int store_schema_version(void)
{
	return store_backend_sqlite.schema_version();
}

int store_backend_schema_version(int backend)
{
	switch (backend) {
	case STORE_BACKEND_SQLITE: return store_backend_sqlite.schema_version();
	case STORE_BACKEND_POSTGRESQL: return store_backend_postgresql.schema_version();
	default: return -1;
	}
}

void store_close(struct store *st)
{
	if (st != NULL)
		st->be->close(st);
}

int store_user_version(struct store *st)
{
	if (st == NULL)
		return -1;
	return st->be->user_version(st);
}

int store_ping(struct store *st)
{
	if (st == NULL)
		return STORE_ERROR;
	return st->be->ping(st);
}

int store_backup(struct store *st, const char *path)
{
	if (st == NULL)
		return STORE_ERROR;
	return st->be->backup(st, path);
}

void store_set_notify(struct store *st, const struct store_notify *n)
{
	if (st == NULL)
		return;
	st->be->set_notify(st, n);
}

int store_provider_add(struct store *st, const char *name, const uint8_t hash[STORE_HASH_LEN], int64_t now_ms,
		       int64_t *id)
{
	if (st == NULL)
		return STORE_ERROR;
	return st->be->provider_add(st, name, hash, now_ms, id);
}

int store_provider_list(struct store *st, store_principal_cb cb, void *arg)
{
	if (st == NULL)
		return STORE_ERROR;
	return st->be->provider_list(st, cb, arg);
}

int store_provider_revoke(struct store *st, const char *name)
{
	if (st == NULL)
		return STORE_ERROR;
	return st->be->provider_revoke(st, name);
}

int store_provider_set_budget(struct store *st, const char *name, int64_t sms_per_day)
{
	if (st == NULL)
		return STORE_ERROR;
	return st->be->provider_set_budget(st, name, sms_per_day);
}

int store_provider_auth(struct store *st, const uint8_t hash[STORE_HASH_LEN], struct store_principal *out)
{
	if (st == NULL)
		return STORE_ERROR;
	return st->be->provider_auth(st, hash, out);
}

int store_gateway_add(struct store *st, const char *name, const uint8_t hash[STORE_HASH_LEN], int64_t now_ms,
		      int64_t *id)
{
	if (st == NULL)
		return STORE_ERROR;
	return st->be->gateway_add(st, name, hash, now_ms, id);
}

int store_gateway_list(struct store *st, store_principal_cb cb, void *arg)
{
	if (st == NULL)
		return STORE_ERROR;
	return st->be->gateway_list(st, cb, arg);
}

int store_gateway_revoke(struct store *st, const char *name)
{
	if (st == NULL)
		return STORE_ERROR;
	return st->be->gateway_revoke(st, name);
}

int store_gateway_auth(struct store *st, const uint8_t hash[STORE_HASH_LEN], struct store_principal *out)
{
	if (st == NULL)
		return STORE_ERROR;
	return st->be->gateway_auth(st, hash, out);
}

int store_device_add(struct store *st, struct store_device *d, const uint8_t token_hash[STORE_HASH_LEN], int64_t now_ms)
{
	if (st == NULL)
		return STORE_ERROR;
	return st->be->device_add(st, d, token_hash, now_ms);
}

int store_device_add_async(struct store *st, struct store_device *d, const uint8_t token_hash[STORE_HASH_LEN],
			   int64_t now_ms, store_done_cb done, void *arg)
{
	int rc;

	if (st == NULL || done == NULL)
		return STORE_ERROR;
	if (st->be->device_add_async != NULL)
		return st->be->device_add_async(st, d, token_hash, now_ms, done, arg);
	/* No asynchronous form: the synchronous verb; an error is returned (no callback, as when
	 * an asynchronous verb queues nothing), success is told to the callback on this thread. */
	rc = store_device_add(st, d, token_hash, now_ms);
	if (rc != STORE_OK)
		return rc;
	done(arg, STORE_OK);
	return STORE_OK;
}

int store_device_add_many(struct store *st, struct store_device_new *devs, size_t n, int64_t now_ms)
{
	static int warned;

	if (st == NULL)
		return STORE_ERROR;
	if (st->be->device_add_many == NULL)
		return unsupported(st, "store_device_add_many", &warned);
	return st->be->device_add_many(st, devs, n, now_ms);
}

int store_device_add_many_async(struct store *st, struct store_device_new *devs, size_t n, int64_t now_ms,
				store_done_cb done, void *arg)
{
	int rc;

	if (st == NULL || done == NULL)
		return STORE_ERROR;
	if (st->be->device_add_many_async != NULL)
		return st->be->device_add_many_async(st, devs, n, now_ms, done, arg);
	rc = store_device_add_many(st, devs, n, now_ms);
	if (rc != STORE_OK)
		return rc;
	done(arg, STORE_OK);
	return STORE_OK;
}

int store_device_get(struct store *st, int64_t provider_id, int64_t id, struct store_device *out)
{
	if (st == NULL)
		return STORE_ERROR;
	return st->be->device_get(st, provider_id, id, out);
}

int store_device_list(struct store *st, int64_t provider_id, store_device_cb cb, void *arg)
{
	if (st == NULL)
		return STORE_ERROR;
	return st->be->device_list(st, provider_id, cb, arg);
}

int store_key_roll(struct store *st, int key_id, int *count)
{
	if (st == NULL)
		return STORE_ERROR;
	return st->be->key_roll(st, key_id, count);
}

int store_device_update(struct store *st, int64_t provider_id, int64_t id, const struct store_device_patch *p)
{
	if (st == NULL)
		return STORE_ERROR;
	return st->be->device_update(st, provider_id, id, p);
}

int store_device_set_push_keys(struct store *st, int64_t device_id, const char *p256dh, const char *auth,
			       const char *server_key, const char *token, uint64_t *last_seq)
{
	static int warned;

	if (st == NULL)
		return STORE_ERROR;
	if (st->be->device_set_push_keys == NULL)
		return unsupported(st, "store_device_set_push_keys", &warned);
	return st->be->device_set_push_keys(st, device_id, p256dh, auth, server_key, token, last_seq);
}

int store_device_delete(struct store *st, int64_t provider_id, int64_t id)
{
	if (st == NULL)
		return STORE_ERROR;
	return st->be->device_delete(st, provider_id, id);
}

int store_device_auth(struct store *st, const uint8_t hash[STORE_HASH_LEN], int64_t *device_id)
{
	if (st == NULL)
		return STORE_ERROR;
	return st->be->device_auth(st, hash, device_id);
}

int store_device_by_push_token(struct store *st, const char *token, int64_t *device_id, int64_t *provider_id,
			       char server_key[STORE_P256DH_MAX + 1])
{
	static int warned;

	if (st == NULL)
		return STORE_ERROR;
	if (st->be->device_by_push_token == NULL)
		return unsupported(st, "store_device_by_push_token", &warned);
	return st->be->device_by_push_token(st, token, device_id, provider_id, server_key);
}

void store_device_touch(struct store *st, int64_t device_id, int64_t now_ms)
{
	if (st == NULL)
		return;
	st->be->device_touch(st, device_id, now_ms);
}

int store_message_put(struct store *st, int64_t provider_id, const struct store_message_in *in, int64_t now_ms,
		      struct store_message *out, int *replayed)
{
	if (st == NULL)
		return STORE_ERROR;
	return st->be->message_put(st, provider_id, in, now_ms, out, replayed);
}

int store_message_put_async(struct store *st, int64_t provider_id, const struct store_message_in *in, int64_t now_ms,
			    struct store_message *out, int *replayed, store_done_cb done, void *arg)
{
	int rc;

	if (st == NULL || done == NULL)
		return STORE_ERROR;
	if (st->be->message_put_async != NULL)
		return st->be->message_put_async(st, provider_id, in, now_ms, out, replayed, done, arg);
	/* No asynchronous form: the synchronous verb; an error is returned (no callback, as when
	 * an asynchronous verb queues nothing), success is told to the callback on this thread. */
	rc = store_message_put(st, provider_id, in, now_ms, out, replayed);
	if (rc != STORE_OK)
		return rc;
	done(arg, STORE_OK);
	return STORE_OK;
}

int store_message_get(struct store *st, int64_t provider_id, int64_t id, struct store_message *out, store_event_cb ev,
		      void *arg)
{
	if (st == NULL)
		return STORE_ERROR;
	return st->be->message_get(st, provider_id, id, out, ev, arg);
}

int store_message_cancel(struct store *st, int64_t provider_id, int64_t id, int64_t now_ms)
{
	if (st == NULL)
		return STORE_ERROR;
	return st->be->message_cancel(st, provider_id, id, now_ms);
}

int store_device_event(struct store *st, int64_t device_id, const char *what, const char *detail, int64_t now_ms)
{
	if (st == NULL)
		return STORE_ERROR;
	return st->be->device_event(st, device_id, what, detail, now_ms);
}

int store_seq_event(struct store *st, int64_t device_id, const uint64_t *seqs, size_t n, const char *what,
		    const char *detail, int64_t now_ms)
{
	static int warned;

	if (st == NULL)
		return STORE_ERROR;
	if (st->be->seq_event == NULL)
		return unsupported(st, "store_seq_event", &warned);
	return st->be->seq_event(st, device_id, seqs, n, what, detail, now_ms);
}

int store_device_has_pending(struct store *st, int64_t device_id, uint64_t after, int64_t now_ms)
{
	if (st == NULL)
		return -1;
	return st->be->device_has_pending(st, device_id, after, now_ms);
}

/* A poll is the device's contact: recorded as store_device_touch does, and shown in *out. */
static int poll_contact(struct store *st, int rc, int64_t now_ms, struct store_device *out)
{
	if (rc == STORE_OK) {
		st->be->device_touch(st, out->id, now_ms);
		store_device_seen(out, now_ms);
	}
	return rc;
}

int store_device_poll(struct store *st, int64_t device_id, uint64_t after, int64_t now_ms, struct store_device *out,
		      int *pending)
{
	static int warned;

	if (st == NULL)
		return STORE_ERROR;
	if (st->be->device_poll == NULL)
		return unsupported(st, "store_device_poll", &warned);
	return poll_contact(st, st->be->device_poll(st, device_id, after, now_ms, out, pending), now_ms, out);
}

int store_device_poll_token(struct store *st, const uint8_t hash[STORE_HASH_LEN], uint64_t after, int64_t now_ms,
			    struct store_device *out, int *pending)
{
	int64_t id;
	int rc;

	if (st == NULL || hash == NULL)
		return STORE_ERROR;
	if (st->be->device_poll_token != NULL)
		return poll_contact(st, st->be->device_poll_token(st, hash, after, now_ms, out, pending), now_ms, out);
	rc = store_device_auth(st, hash, &id);
	return rc == STORE_OK ? store_device_poll(st, id, after, now_ms, out, pending) : rc;
}

int store_device_fetch(struct store *st, int64_t device_id, uint64_t after, int max, int64_t now_ms,
		       store_message_cb cb, void *arg, int *count)
{
	if (st == NULL)
		return STORE_ERROR;
	return st->be->device_fetch(st, device_id, after, max, now_ms, cb, arg, count);
}

int store_device_fetch_more(struct store *st, int64_t device_id, uint64_t after, int max, int64_t now_ms,
			    store_message_cb cb, void *arg, int *count, int *more)
{
	static int warned;

	if (st == NULL)
		return STORE_ERROR;
	if (st->be->device_fetch_more == NULL)
		return unsupported(st, "store_device_fetch_more", &warned);
	return st->be->device_fetch_more(st, device_id, after, max, now_ms, cb, arg, count, more);
}

void store_fetched_free(struct store_fetched *f)
{
	while (f != NULL) {
		struct store_fetched *next = f->next;
		free(f);
		f = next;
	}
}

int store_fetched_append(void *arg, const struct store_message *m)
{
	struct store_fetched ***tail = arg;
	struct store_fetched *f = malloc(sizeof(*f) + m->body_len);

	if (f == NULL)
		return -1;
	f->next = NULL;
	f->m = *m;
	if (m->body_len > 0)
		memcpy(f + 1, m->body, m->body_len);
	f->m.body = (const uint8_t *)(f + 1);
	**tail = f;
	*tail = &f->next;
	return 0;
}

int store_device_fetch_more_async(struct store *st, int64_t device_id, uint64_t after, int max, int64_t now_ms,
				  struct store_fetched **out, int *count, int *more, store_done_cb done, void *arg)
{
	struct store_fetched **tail = out;
	int rc;

	if (st == NULL || out == NULL || count == NULL || more == NULL || done == NULL)
		return STORE_ERROR;
	*out = NULL;
	*count = 0;
	*more = 0;
	if (st->be->device_fetch_more_async != NULL)
		return st->be->device_fetch_more_async(st, device_id, after, max, now_ms, out, count, more, done, arg);
	/* No asynchronous form: the synchronous verb, as store_message_put_async does. */
	rc = store_device_fetch_more(st, device_id, after, max, now_ms, store_fetched_append, &tail, count, more);
	if (rc != STORE_OK) {
		store_fetched_free(*out);
		*out = NULL;
		*count = 0;
		*more = 0;
		return rc;
	}
	done(arg, STORE_OK);
	return STORE_OK;
}

int store_ack(struct store *st, int64_t device_id, uint64_t seq, uint64_t wake_ctr, int key_id, int64_t now_ms,
	      int *count)
{
	if (st == NULL)
		return STORE_ERROR;
	return st->be->ack(st, device_id, seq, wake_ctr, key_id, now_ms, count);
}

int store_ack_async(struct store *st, int64_t device_id, uint64_t seq, uint64_t wake_ctr, int key_id, int64_t now_ms,
		    int *count, store_done_cb done, void *arg)
{
	int rc;

	if (st == NULL || done == NULL)
		return STORE_ERROR;
	if (st->be->ack_async != NULL)
		return st->be->ack_async(st, device_id, seq, wake_ctr, key_id, now_ms, count, done, arg);
	/* No asynchronous form: the synchronous verb; an error is returned (no callback, as when
	 * an asynchronous verb queues nothing), success is told to the callback on this thread. */
	rc = store_ack(st, device_id, seq, wake_ctr, key_id, now_ms, count);
	if (rc != STORE_OK)
		return rc;
	done(arg, STORE_OK);
	return STORE_OK;
}

int store_wake_job_add(struct store *st, struct store_wake_job *job, int64_t now_ms)
{
	if (st == NULL)
		return STORE_ERROR;
	return st->be->wake_job_add(st, job, now_ms);
}

int store_wake_lease(struct store *st, int64_t gateway_id, int max, int64_t lease_ms, int64_t now_ms,
		     struct store_wake_job *jobs, int *n)
{
	if (st == NULL)
		return STORE_ERROR;
	return st->be->wake_lease(st, gateway_id, max, lease_ms, now_ms, jobs, n);
}

int store_wake_report(struct store *st, int64_t gateway_id, int64_t job_id, int outcome, int64_t reference,
		      const char *error, int64_t at_ms, int64_t now_ms)
{
	if (st == NULL)
		return STORE_ERROR;
	return st->be->wake_report(st, gateway_id, job_id, outcome, reference, error, at_ms, now_ms);
}

int store_wake_job_get(struct store *st, int64_t job_id, struct store_wake_job *out)
{
	if (st == NULL)
		return STORE_ERROR;
	return st->be->wake_job_get(st, job_id, out);
}

int store_wake_candidates(struct store *st, int64_t now_ms, store_wake_candidate_cb cb, void *arg)
{
	if (st == NULL)
		return STORE_ERROR;
	return st->be->wake_candidates(st, now_ms, cb, arg);
}

int store_wake_counter_next(struct store *st, int64_t device_id, uint64_t *ctr)
{
	if (st == NULL)
		return STORE_ERROR;
	return st->be->wake_counter_next(st, device_id, ctr);
}

int store_wake_backlog(struct store *st, int64_t now_ms, struct store_wake_backlog *out)
{
	if (st == NULL)
		return STORE_ERROR;
	return st->be->wake_backlog(st, now_ms, out);
}

int store_device_set_wake_state(struct store *st, int64_t device_id, int state, int64_t now_ms)
{
	if (st == NULL)
		return STORE_ERROR;
	return st->be->device_set_wake_state(st, device_id, state, now_ms);
}

int store_expire(struct store *st, int64_t now_ms, int *count)
{
	if (st == NULL)
		return STORE_ERROR;
	return st->be->expire(st, now_ms, count);
}

int store_purge(struct store *st, int64_t before_ms, int *count)
{
	if (st == NULL)
		return STORE_ERROR;
	return st->be->purge(st, before_ms, count);
}

int store_stats(struct store *st, struct store_stats *out)
{
	if (st == NULL)
		return STORE_ERROR;
	return st->be->stats(st, out);
}

int store_webhook_add(struct store *st, struct store_webhook *w, const uint8_t secret[STORE_SECRET_LEN], int64_t now_ms)
{
	static int warned;

	if (st == NULL)
		return STORE_ERROR;
	if (st->be->webhook_add == NULL)
		return unsupported(st, "store_webhook_add", &warned);
	return st->be->webhook_add(st, w, secret, now_ms);
}

int store_webhook_list(struct store *st, int64_t provider_id, store_webhook_cb cb, void *arg)
{
	static int warned;

	if (st == NULL)
		return STORE_ERROR;
	if (st->be->webhook_list == NULL)
		return unsupported(st, "store_webhook_list", &warned);
	return st->be->webhook_list(st, provider_id, cb, arg);
}

int store_webhook_get(struct store *st, int64_t provider_id, int64_t id, struct store_webhook *w)
{
	static int warned;

	if (st == NULL)
		return STORE_ERROR;
	if (st->be->webhook_get == NULL)
		return unsupported(st, "store_webhook_get", &warned);
	return st->be->webhook_get(st, provider_id, id, w);
}

int store_webhook_delete(struct store *st, int64_t provider_id, int64_t id)
{
	static int warned;

	if (st == NULL)
		return STORE_ERROR;
	if (st->be->webhook_delete == NULL)
		return unsupported(st, "store_webhook_delete", &warned);
	return st->be->webhook_delete(st, provider_id, id);
}

int store_webhook_due(struct store *st, int64_t now_ms, int max, store_delivery_cb cb, void *arg)
{
	static int warned;

	if (st == NULL)
		return STORE_ERROR;
	if (st->be->webhook_due == NULL)
		return unsupported(st, "store_webhook_due", &warned);
	return st->be->webhook_due(st, now_ms, max, cb, arg);
}

int store_webhook_result(struct store *st, int64_t outbox_id, int64_t webhook_id, int status, const char *error,
			 int64_t retry_ms, int disable, int64_t now_ms)
{
	static int warned;

	if (st == NULL)
		return STORE_ERROR;
	if (st->be->webhook_result == NULL)
		return unsupported(st, "store_webhook_result", &warned);
	return st->be->webhook_result(st, outbox_id, webhook_id, status, error, retry_ms, disable, now_ms);
}

int store_events_after(struct store *st, int64_t provider_id, int64_t after_id, int max, store_event_out_cb cb,
		       void *arg)
{
	static int warned;

	if (st == NULL)
		return STORE_ERROR;
	if (st->be->events_after == NULL)
		return unsupported(st, "store_events_after", &warned);
	return st->be->events_after(st, provider_id, after_id, max, cb, arg);
}

int store_events_last(struct store *st, int64_t provider_id, int64_t *id)
{
	static int warned;

	if (st == NULL)
		return STORE_ERROR;
	if (st->be->events_last == NULL)
		return unsupported(st, "store_events_last", &warned);
	return st->be->events_last(st, provider_id, id);
}

int store_events_oldest(struct store *st, int64_t provider_id, int64_t *id)
{
	static int warned;

	if (st == NULL)
		return STORE_ERROR;
	if (st->be->events_oldest == NULL)
		return unsupported(st, "store_events_oldest", &warned);
	return st->be->events_oldest(st, provider_id, id);
}

int store_events_purge(struct store *st, int64_t before_ms, int *count)
{
	static int warned;

	if (st == NULL)
		return STORE_ERROR;
	if (st->be->events_purge == NULL)
		return unsupported(st, "store_events_purge", &warned);
	return st->be->events_purge(st, before_ms, count);
}

int store_device_query(struct store *st, const struct store_device_query *q, store_device_cb cb, void *arg)
{
	static int warned;

	if (st == NULL)
		return STORE_ERROR;
	if (st->be->device_query == NULL)
		return unsupported(st, "store_device_query", &warned);
	return st->be->device_query(st, q, cb, arg);
}

int store_device_tags(struct store *st, int64_t device_id, char tags[][STORE_TAG_MAX + 1], int *n)
{
	static int warned;

	if (st == NULL)
		return STORE_ERROR;
	if (st->be->device_tags == NULL)
		return unsupported(st, "store_device_tags", &warned);
	return st->be->device_tags(st, device_id, tags, n);
}

int store_device_set_tags(struct store *st, int64_t provider_id, int64_t device_id, const char *const *tags, int n)
{
	static int warned;

	if (st == NULL)
		return STORE_ERROR;
	if (st->be->device_set_tags == NULL)
		return unsupported(st, "store_device_set_tags", &warned);
	return st->be->device_set_tags(st, provider_id, device_id, tags, n);
}

int store_batch_put(struct store *st, int64_t provider_id, const struct store_batch_in *in, int64_t now_ms,
		    int64_t *batch_id, int64_t *count)
{
	static int warned;

	if (st == NULL)
		return STORE_ERROR;
	if (st->be->batch_put == NULL)
		return unsupported(st, "store_batch_put", &warned);
	return st->be->batch_put(st, provider_id, in, now_ms, batch_id, count);
}

int store_batch_get(struct store *st, int64_t provider_id, int64_t batch_id, int64_t counts[MSG_STATE_COUNT],
		    int64_t *total, int64_t *created_ms)
{
	static int warned;

	if (st == NULL)
		return STORE_ERROR;
	if (st->be->batch_get == NULL)
		return unsupported(st, "store_batch_get", &warned);
	return st->be->batch_get(st, provider_id, batch_id, counts, total, created_ms);
}

void store_debug_fail_commits(struct store *st, int n)
{
	if (st == NULL)
		return;
	st->be->debug_fail_commits(st, n);
}

const char *store_strerror(int rc)
{
	switch (rc) {
	case STORE_OK: return "success";
	case STORE_NOTFOUND: return "not found";
	case STORE_CONFLICT: return "conflict";
	case STORE_UNAVAILABLE: return "storage unavailable";
	case STORE_ERROR: return "storage error";
	case STORE_UNSUPPORTED: return "not supported by the store's backend";
	case STORE_FULL: return "too many messages waiting";
	case STORE_GONE: return "gone";
	case STORE_STALE: return "the decision no longer holds";
	default: return "unknown store error";
	}
}

const char *store_msg_state_name(int state)
{
	static const char *const names[MSG_STATE_COUNT] = {
		[MSG_QUEUED] = "queued",     [MSG_WAKE_SENT] = "wake_sent", [MSG_SMS_DELIVERED] = "sms_delivered",
		[MSG_FETCHED] = "fetched",   [MSG_ACKED] = "acked",         [MSG_EXPIRED] = "expired",
		[MSG_REPLACED] = "replaced", [MSG_CANCELLED] = "cancelled",
	};
	return state >= 0 && state < MSG_STATE_COUNT ? names[state] : NULL;
}

static const char *const urgency_names[URG_COUNT] = {
	[URG_VERY_LOW] = "very-low",
	[URG_LOW] = "low",
	[URG_NORMAL] = "normal",
	[URG_HIGH] = "high",
};

const char *store_urgency_name(int urgency)
{
	return urgency >= 0 && urgency < URG_COUNT ? urgency_names[urgency] : NULL;
}

int store_urgency_parse(const char *s)
{
	for (int i = 0; s != NULL && i < URG_COUNT; i++)
		if (strcmp(s, urgency_names[i]) == 0)
			return i;
	return -1;
}

const char *store_wake_state_name(int state)
{
	switch (state) {
	case WAKE_IDLE: return "idle";
	case WAKE_IN_FLIGHT: return "in_flight";
	case WAKE_UNREACHABLE: return "unreachable";
	default: return NULL;
	}
}

int store_outcome_parse(const char *s)
{
	static const char *const names[] = {
		[OUTCOME_SUBMITTED] = "submitted",
		[OUTCOME_FAILED] = "failed",
		[OUTCOME_DELIVERED] = "delivered",
		[OUTCOME_UNDELIVERABLE] = "undeliverable",
	};
	for (int i = 0; s != NULL && i < (int)(sizeof(names) / sizeof(names[0])); i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

void store_device_seen(struct store_device *d, int64_t seen_ms)
{
	if (seen_ms <= d->last_seen_ms)
		return;
	d->last_seen_ms = seen_ms;
	if (d->wake_state != WAKE_IDLE && d->wake_sent_ms <= seen_ms) {
		d->wake_state = WAKE_IDLE;
		d->wake_attempts = 0;
		d->wake_sent_ms = 0;
	}
}

/* Length within [min, max] and no control characters; strict also refuses anything outside
 * printable ASCII (for keys and media types that end up in HTTP headers). */
int store_valid_text(const char *s, size_t min, size_t max, int strict)
{
	size_t n;

	if (s == NULL)
		return 0;
	n = strnlen(s, max + 1);
	if (n < min || n > max)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f || (strict && c > 0x7e))
			return 0;
	}
	return 1;
}

int store_valid_event(const char *what, const char *detail)
{
	return what == NULL || (store_valid_text(what, 1, sizeof(((struct store_event *)0)->what) - 1, 1) &&
				(detail == NULL || store_valid_text(detail, 0, STORE_ERROR_MAX, 0)));
}

/* E.164: an optional "+" and 1 to 15 digits. */
int store_valid_msisdn(const char *s)
{
	size_t n;

	if (s == NULL)
		return 0;
	if (*s == '+')
		s++;
	n = strnlen(s, 16);
	if (n < 1 || n > 15)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}
