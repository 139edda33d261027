/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The PostgreSQL backend's table of operations, and its small verbs (ping, version, stats). */
#include <stdlib.h>
#include <string.h>

#include "pg_int.h"
#include "pg_ops.h"

void pg_close_store(struct store *st)
{
	pg_close(PG(st));
}

int pg_user_version(struct store *st)
{
	PGresult *r;
	int v = -1;

	if (pg_read(PG(st), "schema version", "SELECT coalesce(max(version), 0) FROM smswake_schema", NULL, &r) ==
	    STORE_OK) {
		if (PQntuples(r) == 1)
			v = (int)pg_i64(r, 0, 0);
		PQclear(r);
	}
	return v;
}

int pg_ping(struct store *st)
{
	PGresult *r;
	int rc = pg_read(PG(st), "ping", "SELECT 1", NULL, &r);

	PQclear(r);
	return rc;
}

/* A PostgreSQL database is backed up with its own tools (pg_dump, pg_basebackup; see
 * docs/operations.md), not through the server. */
int pg_backup(struct store *st, const char *path)
{
	(void)st;
	(void)path;
	return STORE_ERROR;
}

void pg_set_notify(struct store *sto, const struct store_notify *n)
{
	struct pg_store *st = PG(sto);

	pthread_mutex_lock(&st->lock);
	if (n != NULL)
		st->notify = *n;
	else
		memset(&st->notify, 0, sizeof(st->notify));
	/* Callbacks of the old one may be running on the listener: they end first. */
	while (st->notifying > 0 && !(st->listener_running && pthread_equal(pthread_self(), st->listener)))
		pthread_cond_wait(&st->notify_idle, &st->lock);
	pthread_mutex_unlock(&st->lock);
}

int pg_stats(struct store *sto, struct store_stats *out)
{
	struct pg_store *st = PG(sto);
	PGresult *r;
	int rc;

	if (out == NULL)
		return STORE_ERROR;
	memset(out, 0, sizeof(*out));
	rc = pg_read(st, "stats", "SELECT state, count(*) FROM messages GROUP BY state", NULL, &r);
	for (int i = 0; rc == STORE_OK && i < PQntuples(r); i++) {
		int s = (int)pg_i64(r, i, 0);
		if (s >= 0 && s < MSG_STATE_COUNT)
			out->messages[s] = pg_i64(r, i, 1);
	}
	PQclear(r);
	if (rc != STORE_OK)
		return rc;
	rc = pg_read(st, "stats",
		     "SELECT (SELECT count(*) FROM devices), (SELECT count(*) FROM wake_jobs WHERE state = 0), "
		     "(SELECT count(*) FROM wake_jobs WHERE state = 1)",
		     NULL, &r);
	if (rc == STORE_OK && PQntuples(r) == 1) {
		out->devices = pg_i64(r, 0, 0);
		out->jobs_queued = pg_i64(r, 0, 1);
		out->jobs_leased = pg_i64(r, 0, 2);
	}
	PQclear(r);
	pthread_mutex_lock(&st->lock);
	out->commits = st->commits;
	out->committed_ops = st->committed_ops;
	out->largest_group = st->largest_group;
	out->commit_failures = st->commit_failures;
	out->reads = st->reads;
	pthread_mutex_unlock(&st->lock);
	return rc;
}

void pg_debug_fail_commits(struct store *sto, int n)
{
	struct pg_store *st = PG(sto);

	pthread_mutex_lock(&st->lock);
	st->fail_commits = n > 0 ? n : 0;
	pthread_mutex_unlock(&st->lock);
}

const struct store_backend store_backend_postgresql = {
	.name = "postgresql",
	.title = "PostgreSQL",
	.open = pg_open,
	.schema_version = pg_schema_version,
	.close = pg_close_store,
	.user_version = pg_user_version,
	.ping = pg_ping,
	.backup = pg_backup,
	.set_notify = pg_set_notify,
	.provider_add = pg_provider_add,
	.provider_list = pg_provider_list,
	.provider_revoke = pg_provider_revoke,
	.provider_set_budget = pg_provider_set_budget,
	.provider_auth = pg_provider_auth,
	.gateway_add = pg_gateway_add,
	.gateway_list = pg_gateway_list,
	.gateway_revoke = pg_gateway_revoke,
	.gateway_auth = pg_gateway_auth,
	.device_add = pg_device_add,
	.device_add_async = pg_device_add_async,
	.device_add_many = pg_device_add_many,
	.device_add_many_async = pg_device_add_many_async,
	.device_get = pg_device_get,
	.device_list = pg_device_list,
	.key_roll = pg_key_roll,
	.device_update = pg_device_update,
	.device_delete = pg_device_delete,
	.device_auth = pg_device_auth,
	.device_touch = pg_device_touch,
	.message_put = pg_message_put,
	.message_put_async = pg_message_put_async,
	.message_get = pg_message_get,
	.message_cancel = pg_message_cancel,
	.device_event = pg_device_event,
	.device_has_pending = pg_device_has_pending,
	.device_fetch = pg_device_fetch,
	.ack = pg_ack,
	.ack_async = pg_ack_async,
	.wake_job_add = pg_wake_job_add,
	.wake_lease = pg_wake_lease,
	.wake_report = pg_wake_report,
	.wake_job_get = pg_wake_job_get,
	.wake_candidates = pg_wake_candidates,
	.wake_counter_next = pg_wake_counter_next,
	.wake_backlog = pg_wake_backlog,
	.device_set_wake_state = pg_device_set_wake_state,
	.expire = pg_expire,
	.purge = pg_purge,
	.stats = pg_stats,
	.debug_fail_commits = pg_debug_fail_commits,
	.device_set_push_keys = pg_device_set_push_keys,
	.device_by_push_token = pg_device_by_push_token,
	.seq_event = pg_seq_event,
	.device_poll = pg_device_poll,
	.device_poll_token = pg_device_poll_token,
	.device_fetch_more = pg_device_fetch_more,
	.device_fetch_more_async = pg_device_fetch_more_async,
	.webhook_add = pg_webhook_add,
	.webhook_list = pg_webhook_list,
	.webhook_get = pg_webhook_get,
	.webhook_delete = pg_webhook_delete,
	.webhook_due = pg_webhook_due,
	.webhook_result = pg_webhook_result,
	.events_after = pg_events_after,
	.events_last = pg_events_last,
	.events_oldest = pg_events_oldest,
	.events_purge = pg_events_purge,
	.device_query = pg_device_query,
	.device_tags = pg_device_tags,
	.device_set_tags = pg_device_set_tags,
	.batch_put = pg_batch_put,
	.batch_get = pg_batch_get,
};
