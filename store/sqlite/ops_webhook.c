/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Webhook endpoints, their outbox and the provider's event log. Events and outbox rows are
 * written by triggers (schema.c, v5) in the transaction of the transition they tell of; this
 * file manages endpoints, hands due deliveries to the delivery worker and records outcomes.
 * Its statements are prepared per call: they run per delivery attempt, not per message. */
#include <string.h>

#include "store_int.h"

enum { WH_ADD, WH_DELETE, WH_RESULT, WH_PURGE };

sqlite3_stmt *store_prep(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);

	if (rc != SQLITE_OK) {
		store_log_sqlite(db, sql, rc);
		sqlite3_finalize(s);
		return NULL;
	}
	return s;
}

int store_wrun(struct sq_store *st, sqlite3_stmt *s, const char *what, int *changes)
{
	int rc;

	if (s == NULL)
		return STORE_ERROR;
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (changes)
		*changes = sqlite3_changes(st->wdb);
	if (rc == SQLITE_DONE)
		return STORE_OK;
	store_log_sqlite(st->wdb, what, rc);
	return store_rc_sqlite(rc);
}

static int wh_add(struct sq_store *st, struct store_op *op)
{
	struct store_webhook *w = op->u.webhook.w;
	sqlite3_stmt *s = store_prep(st->wdb, "INSERT INTO webhooks(provider_id, url, events, secret, created_ms) "
					      "VALUES (?1, ?2, ?3, ?4, ?5)");
	int rc;

	if (s == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, w->provider_id);
	sqlite3_bind_text(s, 2, w->url, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, w->events, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 4, op->u.webhook.secret, STORE_SECRET_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, op->now_ms);
	rc = store_wrun(st, s, "webhook add", NULL);
	if (rc == STORE_OK) {
		w->id = sqlite3_last_insert_rowid(st->wdb);
		w->created_ms = op->now_ms;
	}
	return rc;
}

static int wh_delete(struct sq_store *st, struct store_op *op)
{
	sqlite3_stmt *s = store_prep(st->wdb, "DELETE FROM webhooks WHERE id = ?1 AND provider_id = ?2");
	int rc, n = 0;

	if (s == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, op->u.webhook.id);
	sqlite3_bind_int64(s, 2, op->u.webhook.provider_id);
	rc = store_wrun(st, s, "webhook delete", &n);
	if (rc != STORE_OK)
		return rc;
	if (n == 0)
		return STORE_NOTFOUND;
	s = store_prep(st->wdb, "DELETE FROM webhook_outbox WHERE webhook_id = ?1");
	if (s == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, op->u.webhook.id);
	return store_wrun(st, s, "webhook delete outbox", NULL);
}

static int wh_result(struct sq_store *st, struct store_op *op)
{
	int ok = op->u.webhook.status >= 200 && op->u.webhook.status < 300;
	const char *err = op->u.webhook.error ? op->u.webhook.error : "";
	sqlite3_stmt *s;
	int rc;

	s = store_prep(st->wdb, "UPDATE webhooks SET last_status = ?2, last_error = ?3, last_attempt_ms = ?4, "
				"delivered = delivered + ?5, failures = failures + 1 - ?5, "
				"disabled_ms = CASE WHEN ?6 THEN ?4 ELSE disabled_ms END WHERE id = ?1");
	if (s == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, op->u.webhook.webhook_id);
	sqlite3_bind_int(s, 2, op->u.webhook.status);
	sqlite3_bind_text(s, 3, err, (int)strnlen(err, STORE_ERROR_MAX), SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, op->now_ms);
	sqlite3_bind_int(s, 5, ok);
	sqlite3_bind_int(s, 6, op->u.webhook.disable);
	rc = store_wrun(st, s, "webhook result", NULL);
	if (rc != STORE_OK)
		return rc;
	if (op->u.webhook.disable) {
		s = store_prep(st->wdb, "DELETE FROM webhook_outbox WHERE webhook_id = ?1");
		if (s == NULL)
			return STORE_ERROR;
		sqlite3_bind_int64(s, 1, op->u.webhook.webhook_id);
		return store_wrun(st, s, "webhook disable", NULL);
	}
	if (ok || op->u.webhook.retry_ms <= 0) {
		s = store_prep(st->wdb, "DELETE FROM webhook_outbox WHERE id = ?1");
		if (s == NULL)
			return STORE_ERROR;
		sqlite3_bind_int64(s, 1, op->u.webhook.id);
		return store_wrun(st, s, "webhook done", NULL);
	}
	s = store_prep(st->wdb, "UPDATE webhook_outbox SET attempts = attempts + 1, next_ms = ?2 WHERE id = ?1");
	if (s == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, op->u.webhook.id);
	sqlite3_bind_int64(s, 2, op->u.webhook.retry_ms);
	return store_wrun(st, s, "webhook retry", NULL);
}

static int wh_purge(struct sq_store *st, struct store_op *op)
{
	sqlite3_stmt *s =
		store_prep(st->wdb, "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE time_ms < ?1 "
				    "AND id NOT IN (SELECT event_id FROM webhook_outbox) ORDER BY id LIMIT ?2)");

	if (s == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, op->now_ms);
	sqlite3_bind_int(s, 2, STORE_CHUNK);
	return store_wrun(st, s, "events purge", &op->u.webhook.count);
}

int op_webhook(struct sq_store *st, struct store_op *op)
{
	switch (op->u.webhook.what) {
	case WH_ADD: return wh_add(st, op);
	case WH_DELETE: return wh_delete(st, op);
	case WH_RESULT: return wh_result(st, op);
	case WH_PURGE: return wh_purge(st, op);
	}
	return STORE_ERROR;
}

static int valid_events(const char *ev)
{
	size_t n = strlen(ev);
	return n >= 2 && n <= STORE_EVENTS_MAX && ev[0] == ',' && ev[n - 1] == ',';
}

int sq_webhook_add(struct sq_store *st, struct store_webhook *w, const uint8_t secret[STORE_SECRET_LEN], int64_t now_ms)
{
	struct store_op op = {.kind = OP_WEBHOOK, .now_ms = now_ms};

	if (st == NULL || w == NULL || secret == NULL || w->provider_id <= 0 ||
	    !store_valid_text(w->url, 1, STORE_URL_MAX, 1) || !valid_events(w->events))
		return STORE_ERROR;
	op.u.webhook.what = WH_ADD;
	op.u.webhook.w = w;
	op.u.webhook.secret = secret;
	return writer_submit(st, &op);
}

int sq_webhook_delete(struct sq_store *st, int64_t provider_id, int64_t id)
{
	struct store_op op = {.kind = OP_WEBHOOK};

	if (st == NULL)
		return STORE_ERROR;
	op.u.webhook.what = WH_DELETE;
	op.u.webhook.provider_id = provider_id;
	op.u.webhook.id = id;
	return writer_submit(st, &op);
}

int sq_webhook_result(struct sq_store *st, int64_t outbox_id, int64_t webhook_id, int status, const char *error,
		      int64_t retry_ms, int disable, int64_t now_ms)
{
	struct store_op op = {.kind = OP_WEBHOOK, .now_ms = now_ms};

	if (st == NULL)
		return STORE_ERROR;
	op.u.webhook.what = WH_RESULT;
	op.u.webhook.id = outbox_id;
	op.u.webhook.webhook_id = webhook_id;
	op.u.webhook.status = status;
	op.u.webhook.error = error;
	op.u.webhook.retry_ms = retry_ms;
	op.u.webhook.disable = disable;
	return writer_submit(st, &op);
}

int sq_events_purge(struct sq_store *st, int64_t before_ms, int *count)
{
	struct store_op op = {.kind = OP_WEBHOOK, .now_ms = before_ms};
	int rc;

	if (st == NULL)
		return STORE_ERROR;
	op.u.webhook.what = WH_PURGE;
	rc = writer_submit(st, &op);
	if (count)
		*count = rc == STORE_OK ? op.u.webhook.count : 0;
	return rc;
}

/* ---- Reads, on the calling thread's read connection ---- */

int store_rfail(sqlite3_stmt *s, int rc, const char *what)
{
	sqlite3 *db = s ? sqlite3_db_handle(s) : NULL;

	if (db)
		store_log_sqlite(db, what, rc);
	sqlite3_finalize(s);
	rc = store_rc_sqlite(rc);
	return rc == STORE_OK || rc == STORE_CONFLICT ? STORE_ERROR : rc;
}

sqlite3_stmt *store_rprep(struct sq_store *st, const char *sql)
{
	sqlite3 *db;

	if (st == NULL || store_forked(st) || (db = reader_conn(st)) == NULL)
		return NULL;
	return store_prep(db, sql);
}

#define WEBHOOK_COLS                                                                                                   \
	"w.id, w.provider_id, w.url, w.events, w.created_ms, w.disabled_ms, w.last_status, w.last_error, "             \
	"w.last_attempt_ms, w.delivered, w.failures, "                                                                 \
	"(SELECT count(*) FROM webhook_outbox o WHERE o.webhook_id = w.id)"

static void webhook_row(sqlite3_stmt *s, struct store_webhook *w)
{
	memset(w, 0, sizeof(*w));
	w->id = sqlite3_column_int64(s, 0);
	w->provider_id = sqlite3_column_int64(s, 1);
	store_copy_text(w->url, sizeof(w->url), s, 2);
	store_copy_text(w->events, sizeof(w->events), s, 3);
	w->created_ms = sqlite3_column_int64(s, 4);
	w->disabled_ms = sqlite3_column_int64(s, 5);
	w->last_status = sqlite3_column_int(s, 6);
	store_copy_text(w->last_error, sizeof(w->last_error), s, 7);
	w->last_attempt_ms = sqlite3_column_int64(s, 8);
	w->delivered = sqlite3_column_int64(s, 9);
	w->failures = sqlite3_column_int64(s, 10);
	w->backlog = sqlite3_column_int64(s, 11);
}

int sq_webhook_list(struct sq_store *st, int64_t provider_id, store_webhook_cb cb, void *arg)
{
	sqlite3_stmt *s =
		store_rprep(st, "SELECT " WEBHOOK_COLS " FROM webhooks w WHERE w.provider_id = ?1 ORDER BY w.id");
	struct store_webhook w;
	int rc;

	if (s == NULL)
		return STORE_UNAVAILABLE;
	sqlite3_bind_int64(s, 1, provider_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		webhook_row(s, &w);
		if (cb(arg, &w) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE)
		return store_rfail(s, rc, "webhook list");
	sqlite3_finalize(s);
	return STORE_OK;
}

int sq_webhook_get(struct sq_store *st, int64_t provider_id, int64_t id, struct store_webhook *w)
{
	sqlite3_stmt *s =
		store_rprep(st, "SELECT " WEBHOOK_COLS " FROM webhooks w WHERE w.id = ?1 AND w.provider_id = ?2");
	int rc;

	if (s == NULL)
		return STORE_UNAVAILABLE;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, provider_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		sqlite3_finalize(s);
		return STORE_NOTFOUND;
	}
	if (rc != SQLITE_ROW)
		return store_rfail(s, rc, "webhook get");
	webhook_row(s, w);
	sqlite3_finalize(s);
	return STORE_OK;
}

#define EVENT_COLS "e.id, e.provider_id, e.type, e.time_ms, e.message_id, e.device_id, e.seq, e.state"

static void event_row(sqlite3_stmt *s, int col, struct store_event_out *e)
{
	memset(e, 0, sizeof(*e));
	e->id = sqlite3_column_int64(s, col);
	e->provider_id = sqlite3_column_int64(s, col + 1);
	store_copy_text(e->type, sizeof(e->type), s, col + 2);
	e->time_ms = sqlite3_column_int64(s, col + 3);
	e->message_id = sqlite3_column_int64(s, col + 4);
	e->device_id = sqlite3_column_int64(s, col + 5);
	e->seq = sqlite3_column_int64(s, col + 6);
	store_copy_text(e->state, sizeof(e->state), s, col + 7);
}

int sq_webhook_due(struct sq_store *st, int64_t now_ms, int max, store_delivery_cb cb, void *arg)
{
	sqlite3_stmt *s =
		store_rprep(st, "SELECT o.id, o.webhook_id, o.attempts, w.url, w.secret, " EVENT_COLS
				" FROM webhook_outbox o JOIN webhooks w ON w.id = o.webhook_id "
				"JOIN events e ON e.id = o.event_id "
				"WHERE o.next_ms <= ?1 AND w.disabled_ms = 0 AND NOT EXISTS (SELECT 1 FROM "
				"webhook_outbox p WHERE p.webhook_id = o.webhook_id AND p.message_id = o.message_id "
				"AND p.id < o.id) ORDER BY o.id LIMIT ?2");
	struct store_delivery d;
	int rc;

	if (s == NULL)
		return STORE_UNAVAILABLE;
	sqlite3_bind_int64(s, 1, now_ms);
	sqlite3_bind_int(s, 2, max);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&d, 0, sizeof(d));
		d.outbox_id = sqlite3_column_int64(s, 0);
		d.webhook_id = sqlite3_column_int64(s, 1);
		d.attempts = sqlite3_column_int(s, 2);
		store_copy_text(d.url, sizeof(d.url), s, 3);
		if (sqlite3_column_bytes(s, 4) == STORE_SECRET_LEN)
			memcpy(d.secret, sqlite3_column_blob(s, 4), STORE_SECRET_LEN);
		event_row(s, 5, &d.ev);
		d.age_ms = now_ms - d.ev.time_ms;
		if (cb(arg, &d) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	explicit_bzero(&d, sizeof(d));
	if (rc != SQLITE_DONE)
		return store_rfail(s, rc, "webhook due");
	sqlite3_finalize(s);
	return STORE_OK;
}

int sq_events_after(struct sq_store *st, int64_t provider_id, int64_t after_id, int max, store_event_out_cb cb,
		    void *arg)
{
	sqlite3_stmt *s = store_rprep(st, "SELECT " EVENT_COLS " FROM events e WHERE e.provider_id = ?1 AND e.id > ?2 "
					  "ORDER BY e.id LIMIT ?3");
	struct store_event_out e;
	int rc;

	if (s == NULL)
		return STORE_UNAVAILABLE;
	sqlite3_bind_int64(s, 1, provider_id);
	sqlite3_bind_int64(s, 2, after_id);
	sqlite3_bind_int(s, 3, max);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		event_row(s, 0, &e);
		if (cb(arg, &e) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE)
		return store_rfail(s, rc, "events");
	sqlite3_finalize(s);
	return STORE_OK;
}

int sq_events_oldest(struct sq_store *st, int64_t provider_id, int64_t *id)
{
	sqlite3_stmt *s = store_rprep(st, "SELECT coalesce(min(id), 0) FROM events WHERE provider_id = ?1");
	int rc;

	if (s == NULL)
		return STORE_UNAVAILABLE;
	sqlite3_bind_int64(s, 1, provider_id);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		return store_rfail(s, rc, "events oldest");
	*id = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return STORE_OK;
}

int sq_events_last(struct sq_store *st, int64_t provider_id, int64_t *id)
{
	sqlite3_stmt *s = store_rprep(st, "SELECT coalesce(max(id), 0) FROM events WHERE provider_id = ?1");
	int rc;

	if (s == NULL)
		return STORE_UNAVAILABLE;
	sqlite3_bind_int64(s, 1, provider_id);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		return store_rfail(s, rc, "events last");
	*id = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return STORE_OK;
}
