/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Webhook endpoints, their outbox and the provider's event log on PostgreSQL. Events and outbox
 * rows are written by triggers (pg_schema.c, v2) in the transaction of the transition they tell
 * of, whichever server makes it; this file manages endpoints, hands due deliveries to the
 * delivery worker and records outcomes. Contracts: store.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_int.h"
#include "pg_ops.h"

static int valid_events(const char *ev)
{
	size_t n = strlen(ev);

	return n >= 2 && n <= STORE_EVENTS_MAX && ev[0] == ',' && ev[n - 1] == ',';
}

int pg_webhook_add(struct store *st, struct store_webhook *w, const uint8_t secret[STORE_SECRET_LEN], int64_t now_ms)
{
	struct pg_params p = {0};
	PGresult *r;
	int rc;

	if (w == NULL || secret == NULL || w->provider_id <= 0 || !store_valid_text(w->url, 1, STORE_URL_MAX, 1) ||
	    !valid_events(w->events))
		return STORE_ERROR;
	pgp_i64(&p, w->provider_id);
	pgp_text(&p, w->url);
	pgp_text(&p, w->events);
	pgp_bytes(&p, secret, STORE_SECRET_LEN);
	pgp_i64(&p, now_ms);
	rc = pg_read(PG(st), "webhook add",
		     "INSERT INTO webhooks(provider_id, url, events, secret, created_ms) VALUES ($1, $2, $3, $4, $5) "
		     "RETURNING id",
		     &p, &r);
	if (rc == STORE_OK && PQntuples(r) != 1)
		rc = STORE_ERROR;
	if (rc == STORE_OK) {
		w->id = pg_i64(r, 0, 0);
		w->created_ms = now_ms;
	}
	PQclear(r);
	return rc;
}

struct wh_arg {
	int64_t provider_id, id, webhook_id, retry_ms, now_ms;
	int status, disable;
	const char *error;
};

static int delete_tx(PGconn *c, void *arg)
{
	const struct wh_arg *a = arg;
	struct pg_params p = {0};
	PGresult *r;
	int rc;

	pgp_i64(&p, a->id);
	pgp_i64(&p, a->provider_id);
	rc = pg_exec(c, "webhook delete", "DELETE FROM webhooks WHERE id = $1 AND provider_id = $2", &p, &r);
	if (rc == STORE_OK && atoi_safe(PQcmdTuples(r)) == 0)
		rc = STORE_NOTFOUND;
	PQclear(r);
	p.n = 1;
	return rc == STORE_OK
		       ? pg_cmd(c, "webhook delete outbox", "DELETE FROM webhook_outbox WHERE webhook_id = $1", &p)
		       : rc;
}

int pg_webhook_delete(struct store *st, int64_t provider_id, int64_t id)
{
	struct wh_arg a = {.provider_id = provider_id, .id = id};

	return pg_tx(PG(st), delete_tx, &a);
}

static int result_tx(PGconn *c, void *arg)
{
	const struct wh_arg *a = arg;
	int ok = a->status >= 200 && a->status < 300;
	const char *err = a->error ? a->error : "";
	char errbuf[STORE_ERROR_MAX + 1];
	struct pg_params p = {0};
	int rc;

	snprintf(errbuf, sizeof(errbuf), "%s", err);
	pgp_i64(&p, a->webhook_id);
	pgp_i64(&p, a->status);
	pgp_text(&p, errbuf);
	pgp_i64(&p, a->now_ms);
	pgp_i64(&p, ok);
	pgp_i64(&p, a->disable != 0);
	rc = pg_cmd(c, "webhook result",
		    "UPDATE webhooks SET last_status = $2, last_error = $3, last_attempt_ms = $4, "
		    "delivered = delivered + $5, failures = failures + 1 - $5, "
		    "disabled_ms = CASE WHEN $6 <> 0 THEN $4 ELSE disabled_ms END WHERE id = $1",
		    &p);
	if (rc != STORE_OK)
		return rc;
	memset(&p, 0, sizeof(p));
	if (a->disable) {
		pgp_i64(&p, a->webhook_id);
		return pg_cmd(c, "webhook disable", "DELETE FROM webhook_outbox WHERE webhook_id = $1", &p);
	}
	pgp_i64(&p, a->id);
	if (ok || a->retry_ms <= 0)
		return pg_cmd(c, "webhook done", "DELETE FROM webhook_outbox WHERE id = $1", &p);
	pgp_i64(&p, a->retry_ms);
	return pg_cmd(c, "webhook retry",
		      "UPDATE webhook_outbox SET attempts = attempts + 1, next_ms = $2 WHERE id = $1", &p);
}

int pg_webhook_result(struct store *st, int64_t outbox_id, int64_t webhook_id, int status, const char *error,
		      int64_t retry_ms, int disable, int64_t now_ms)
{
	struct wh_arg a = {.id = outbox_id,
			   .webhook_id = webhook_id,
			   .status = status,
			   .error = error,
			   .retry_ms = retry_ms,
			   .disable = disable,
			   .now_ms = now_ms};

	return pg_tx(PG(st), result_tx, &a);
}

/* Chunks, as purge does, so that no statement holds many rows' locks for long. */
int pg_events_purge(struct store *st, int64_t before_ms, int *count)
{
	int64_t total = 0;
	int rc, n;

	do {
		struct pg_params p = {0};

		pgp_i64(&p, before_ms);
		pgp_i64(&p, PG_CHUNK);
		n = 0;
		rc = pg_write1(PG(st), "events purge",
			       "DELETE FROM events WHERE id IN (SELECT id FROM events e WHERE time_ms < $1 "
			       "AND NOT EXISTS (SELECT 1 FROM webhook_outbox o WHERE o.event_id = e.id) "
			       "ORDER BY id LIMIT $2)",
			       &p, &n);
		total += n;
	} while (rc == STORE_OK && n == PG_CHUNK);
	if (count != NULL)
		*count = rc == STORE_OK ? (total > INT32_MAX ? INT32_MAX : (int)total) : 0;
	return rc;
}

/* ---- Reads ---- */

#define WEBHOOK_COLS                                                                                                   \
	"w.id, w.provider_id, w.url, w.events, w.created_ms, w.disabled_ms, w.last_status, w.last_error, "             \
	"w.last_attempt_ms, w.delivered, w.failures, "                                                                 \
	"(SELECT count(*) FROM webhook_outbox o WHERE o.webhook_id = w.id)"

static void webhook_row(const PGresult *r, int i, struct store_webhook *w)
{
	memset(w, 0, sizeof(*w));
	w->id = pg_i64(r, i, 0);
	w->provider_id = pg_i64(r, i, 1);
	pg_text(w->url, sizeof(w->url), r, i, 2);
	pg_text(w->events, sizeof(w->events), r, i, 3);
	w->created_ms = pg_i64(r, i, 4);
	w->disabled_ms = pg_i64(r, i, 5);
	w->last_status = (int)pg_i64(r, i, 6);
	pg_text(w->last_error, sizeof(w->last_error), r, i, 7);
	w->last_attempt_ms = pg_i64(r, i, 8);
	w->delivered = pg_i64(r, i, 9);
	w->failures = pg_i64(r, i, 10);
	w->backlog = pg_i64(r, i, 11);
}

int pg_webhook_list(struct store *st, int64_t provider_id, store_webhook_cb cb, void *arg)
{
	struct pg_params p = {0};
	PGresult *r;
	int rc;

	if (cb == NULL)
		return STORE_ERROR;
	pgp_i64(&p, provider_id);
	rc = pg_read(PG(st), "webhook list",
		     "SELECT " WEBHOOK_COLS " FROM webhooks w WHERE w.provider_id = $1 ORDER BY w.id", &p, &r);
	for (int i = 0; rc == STORE_OK && i < PQntuples(r); i++) {
		struct store_webhook w;

		webhook_row(r, i, &w);
		if (cb(arg, &w) != 0)
			break;
	}
	PQclear(r);
	return rc;
}

int pg_webhook_get(struct store *st, int64_t provider_id, int64_t id, struct store_webhook *w)
{
	struct pg_params p = {0};
	PGresult *r;
	int rc;

	if (w == NULL)
		return STORE_ERROR;
	pgp_i64(&p, id);
	pgp_i64(&p, provider_id);
	rc = pg_read(PG(st), "webhook get",
		     "SELECT " WEBHOOK_COLS " FROM webhooks w WHERE w.id = $1 AND w.provider_id = $2", &p, &r);
	if (rc == STORE_OK && PQntuples(r) != 1)
		rc = STORE_NOTFOUND;
	if (rc == STORE_OK)
		webhook_row(r, 0, w);
	PQclear(r);
	return rc;
}

#define EVENT_COLS "e.id, e.provider_id, e.type, e.time_ms, e.message_id, e.device_id, e.seq, e.state"

static void event_row(const PGresult *r, int i, int col, struct store_event_out *e)
{
	memset(e, 0, sizeof(*e));
	e->id = pg_i64(r, i, col);
	e->provider_id = pg_i64(r, i, col + 1);
	pg_text(e->type, sizeof(e->type), r, i, col + 2);
	e->time_ms = pg_i64(r, i, col + 3);
	e->message_id = pg_i64(r, i, col + 4);
	e->device_id = pg_i64(r, i, col + 5);
	e->seq = pg_i64(r, i, col + 6);
	pg_text(e->state, sizeof(e->state), r, i, col + 7);
}

/* Several servers' delivery workers share the outbox: the due rows are claimed (their next_ms
 * moved PG_WEBHOOK_CLAIM_MS ahead, SKIP LOCKED) in the statement that reads them, so one server
 * delivers each; a server that dies before recording the outcome leaves the row due again when
 * the claim runs out. An older row of the same endpoint and message, claimed or waiting, keeps a
 * newer one back (one message's events reach an endpoint in order). */
int pg_webhook_due(struct store *st, int64_t now_ms, int max, store_delivery_cb cb, void *arg)
{
	struct pg_params p = {0};
	struct store_delivery d;
	PGresult *r;
	int rc;

	if (cb == NULL || max <= 0)
		return STORE_ERROR;
	pgp_i64(&p, now_ms);
	pgp_i64(&p, max);
	pgp_i64(&p, now_ms + PG_WEBHOOK_CLAIM_MS);
	rc = pg_write_rows(
		PG(st), "webhook due",
		"WITH due AS (SELECT o.id FROM webhook_outbox o JOIN webhooks w ON w.id = o.webhook_id "
		"WHERE o.next_ms <= $1 AND w.disabled_ms = 0 AND NOT EXISTS (SELECT 1 FROM webhook_outbox q "
		"WHERE q.webhook_id = o.webhook_id AND q.message_id = o.message_id AND q.id < o.id) "
		"ORDER BY o.id LIMIT $2 FOR UPDATE OF o SKIP LOCKED), "
		"c AS (UPDATE webhook_outbox o SET next_ms = $3 FROM due WHERE o.id = due.id "
		"RETURNING o.id, o.webhook_id, o.attempts, o.event_id) "
		"SELECT c.id, c.webhook_id, c.attempts, w.url, w.secret, " EVENT_COLS
		" FROM c JOIN webhooks w ON w.id = c.webhook_id JOIN events e ON e.id = c.event_id ORDER BY c.id",
		&p, &r);
	for (int i = 0; rc == STORE_OK && i < PQntuples(r); i++) {
		memset(&d, 0, sizeof(d));
		d.outbox_id = pg_i64(r, i, 0);
		d.webhook_id = pg_i64(r, i, 1);
		d.attempts = (int)pg_i64(r, i, 2);
		pg_text(d.url, sizeof(d.url), r, i, 3);
		if (pg_bytes(d.secret, STORE_SECRET_LEN, r, i, 4) != STORE_SECRET_LEN)
			memset(d.secret, 0, sizeof(d.secret));
		event_row(r, i, 5, &d.ev);
		d.age_ms = now_ms - d.ev.time_ms;
		if (cb(arg, &d) != 0)
			break;
	}
	explicit_bzero(&d, sizeof(d));
	PQclear(r);
	return rc;
}

int pg_events_after(struct store *st, int64_t provider_id, int64_t after_id, int max, store_event_out_cb cb, void *arg)
{
	struct pg_params p = {0};
	PGresult *r;
	int rc;

	if (cb == NULL || max <= 0)
		return STORE_ERROR;
	pgp_i64(&p, provider_id);
	pgp_i64(&p, after_id);
	pgp_i64(&p, max);
	rc = pg_read(PG(st), "events",
		     "SELECT " EVENT_COLS
		     " FROM events e WHERE e.provider_id = $1 AND e.id > $2 ORDER BY e.id LIMIT $3",
		     &p, &r);
	for (int i = 0; rc == STORE_OK && i < PQntuples(r); i++) {
		struct store_event_out e;

		event_row(r, i, 0, &e);
		if (cb(arg, &e) != 0)
			break;
	}
	PQclear(r);
	return rc;
}

static int events_bound(struct store *st, const char *what, const char *sql, int64_t provider_id, int64_t *id)
{
	struct pg_params p = {0};
	PGresult *r;
	int rc;

	if (id == NULL)
		return STORE_ERROR;
	pgp_i64(&p, provider_id);
	rc = pg_read(PG(st), what, sql, &p, &r);
	if (rc == STORE_OK && PQntuples(r) != 1)
		rc = STORE_ERROR;
	if (rc == STORE_OK)
		*id = pg_i64(r, 0, 0);
	PQclear(r);
	return rc;
}

int pg_events_last(struct store *st, int64_t provider_id, int64_t *id)
{
	return events_bound(st, "events last", "SELECT coalesce(max(id), 0) FROM events WHERE provider_id = $1",
			    provider_id, id);
}

int pg_events_oldest(struct store *st, int64_t provider_id, int64_t *id)
{
	return events_bound(st, "events oldest", "SELECT coalesce(min(id), 0) FROM events WHERE provider_id = $1",
			    provider_id, id);
}
