/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Messages on PostgreSQL: durable submit (the device row's lock makes sequence numbers gap-free
 * whichever server submits), recall, events, the device API and maintenance. Contracts: store.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pg_int.h"
#include "pg_ops.h"

#define MSG_COLS                                                                                                       \
	"id, device_id, provider_id, seq, state, urgency, topic, content_type, "                                       \
	"created_ms, expires_ms, updated_ms, length(body), content_encoding"
#define EVENT_INSERT "INSERT INTO message_events(message_id, time_ms, state, what, detail) "

static void message_row(const PGresult *r, int i, struct store_message *m)
{
	memset(m, 0, sizeof(*m));
	m->id = pg_i64(r, i, 0);
	m->device_id = pg_i64(r, i, 1);
	m->provider_id = pg_i64(r, i, 2);
	m->seq = (uint64_t)pg_i64(r, i, 3);
	m->state = (int)pg_i64(r, i, 4);
	m->urgency = (int)pg_i64(r, i, 5);
	pg_text(m->topic, sizeof(m->topic), r, i, 6);
	pg_text(m->content_type, sizeof(m->content_type), r, i, 7);
	m->created_ms = pg_i64(r, i, 8);
	m->expires_ms = pg_i64(r, i, 9);
	m->updated_ms = pg_i64(r, i, 10);
	m->body_len = (size_t)pg_i64(r, i, 11);
	pg_text(m->content_encoding, sizeof(m->content_encoding), r, i, 12);
}

static int valid_topic(const char *t)
{
	size_t n = strnlen(t, STORE_TOPIC_MAX + 1);

	if (n < 1 || n > STORE_TOPIC_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = t[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		      c == '_'))
			return 0;
	}
	return 1;
}

static int message_load(PGconn *c, int64_t id, struct store_message *out)
{
	struct pg_params p = {0};
	PGresult *r;
	int rc;

	pgp_i64(&p, id);
	rc = pg_exec(c, "message load", "SELECT " MSG_COLS " FROM messages WHERE id = $1", &p, &r);
	if (rc == STORE_OK && PQntuples(r) != 1)
		rc = STORE_NOTFOUND;
	if (rc == STORE_OK)
		message_row(r, 0, out);
	PQclear(r);
	return rc;
}

static int event_add(PGconn *c, int64_t message_id, int64_t now_ms, int state, const char *what, const char *detail)
{
	struct pg_params p = {0};

	pgp_i64(&p, message_id);
	pgp_i64(&p, now_ms);
	pgp_i64(&p, state);
	pgp_text(&p, what);
	pgp_text(&p, detail);
	return pg_cmd(c, "event add", EVENT_INSERT "VALUES ($1, $2, $3, $4, $5)", &p);
}

struct put_arg {
	int64_t provider_id;
	const struct store_message_in *in;
	int64_t now_ms;
	struct store_message *out;
	int *replayed; /* NULL: the caller does not ask */
	int replayed_here;
};

/* With a known key, fills out with the first message (a key whose message is gone is dropped). */
static int idempotency_lookup(PGconn *c, struct put_arg *a, int *found)
{
	struct pg_params p = {0};
	PGresult *r;
	int64_t mid;
	int rc;

	*found = 0;
	pgp_i64(&p, a->provider_id);
	pgp_text(&p, a->in->idempotency_key);
	rc = pg_exec(c, "idempotency lookup",
		     "SELECT message_id FROM idempotency_keys WHERE provider_id = $1 AND key = $2", &p, &r);
	if (rc != STORE_OK || PQntuples(r) != 1) {
		PQclear(r);
		return rc;
	}
	mid = pg_i64(r, 0, 0);
	PQclear(r);
	rc = message_load(c, mid, a->out);
	if (rc == STORE_OK) {
		*found = 1;
		return STORE_OK;
	}
	if (rc != STORE_NOTFOUND)
		return rc;
	return pg_cmd(c, "idempotency drop", "DELETE FROM idempotency_keys WHERE provider_id = $1 AND key = $2", &p);
}

/* A submit's statements (store_message_put), in its own transaction or in the writer's group.
 * A replay of a known idempotency key is PG_UNDO (its sequence number is not used); a key
 * another server stored first, at the same moment, is PG_AGAIN (the next run finds its message). */
static int put_tx(PGconn *c, void *arg)
{
	struct put_arg *a = arg;
	const struct store_message_in *in = a->in;
	struct store_message *out = a->out;
	const char *ctype = in->content_type ? in->content_type : "application/octet-stream";
	int64_t seq, id, expires = a->now_ms + (in->ttl_s > 0 ? in->ttl_s * 1000 : 1000);
	int *replayed = a->replayed != NULL ? a->replayed : &a->replayed_here;
	struct pg_params p = {0};
	PGresult *r;
	int rc, found;

	*replayed = 0;
	/* Ownership check, gap-free sequence and the device row's lock in one statement: any
	 * other server submitting to this device waits here until this transaction ends. */
	pgp_i64(&p, in->device_id);
	pgp_i64(&p, a->provider_id);
	rc = pg_exec(c, "next seq",
		     "UPDATE devices SET last_seq = last_seq + 1 WHERE id = $1 AND provider_id = $2 RETURNING last_seq",
		     &p, &r);
	if (rc == STORE_OK && PQntuples(r) != 1)
		rc = STORE_NOTFOUND;
	seq = rc == STORE_OK ? pg_i64(r, 0, 0) : 0;
	PQclear(r);
	if (rc != STORE_OK)
		return rc;
	/* The cap on what waits for one device, counted under the device row's lock taken just
	 * above, so submits through several servers cannot pass it together; over it, the
	 * transaction (and the sequence number) is rolled back. */
	if (in->max_pending > 0) {
		p.n = 1;
		pgp_i64(&p, in->max_pending);
		rc = pg_exec(c, "pending count",
			     "SELECT count(*) FROM (SELECT 1 FROM messages WHERE device_id = $1 "
			     "AND state IN (0,1,2,3) LIMIT $2) x",
			     &p, &r);
		if (rc == STORE_OK && pg_i64(r, 0, 0) >= in->max_pending)
			rc = STORE_FULL;
		PQclear(r);
		if (rc != STORE_OK)
			return rc;
	}
	if (in->idempotency_key != NULL) {
		rc = idempotency_lookup(c, a, &found);
		if (rc != STORE_OK)
			return rc;
		if (found && out->device_id != in->device_id) {
			memset(out, 0, sizeof(*out));
			return STORE_CONFLICT;
		}
		if (found) {
			*replayed = 1;
			return PG_UNDO;
		}
	}

	memset(&p, 0, sizeof(p));
	pgp_i64(&p, in->device_id);
	pgp_i64(&p, a->provider_id);
	pgp_i64(&p, seq);
	pgp_i64(&p, in->urgency);
	pgp_text(&p, in->topic);
	pgp_text(&p, ctype);
	pgp_i64(&p, a->now_ms);
	pgp_i64(&p, expires);
	pgp_bytes(&p, in->body, in->body_len);
	pgp_text(&p, in->content_encoding);
	/* The message, its "queued" event and the notification (delivered to every listening server
	 * at COMMIT, not before) in one statement: one round trip of the writer's group. */
	rc = pg_exec(
		c, "message insert",
		"WITH m AS (INSERT INTO messages(device_id, provider_id, seq, state, urgency, topic, content_type, "
		"created_ms, expires_ms, updated_ms, body, content_encoding) "
		"VALUES ($1, $2, $3, 0, $4, $5, $6, $7, $8, $7, $9, $10) RETURNING id), "
		"e AS (" EVENT_INSERT "SELECT id, $7, 0, 'queued', '' FROM m) "
		"SELECT id, pg_notify('smswake_msg', ($1::bigint)::text) FROM m",
		&p, &r);
	id = rc == STORE_OK && PQntuples(r) == 1 ? pg_i64(r, 0, 0) : 0;
	PQclear(r);
	if (rc != STORE_OK)
		return rc == STORE_CONFLICT ? STORE_ERROR : rc;
	if (in->topic != NULL) {
		char detail[48];

		snprintf(detail, sizeof(detail), "by message %lld", (long long)id);
		memset(&p, 0, sizeof(p));
		pgp_i64(&p, in->device_id);
		pgp_text(&p, in->topic);
		pgp_i64(&p, a->now_ms);
		pgp_i64(&p, id);
		pgp_text(&p, detail);
		rc = pg_cmd(c, "replace",
			    "WITH u AS (UPDATE messages SET state = 6, updated_ms = $3 WHERE device_id = $1 "
			    "AND state IN (0,1,2) AND topic = $2 AND id <> $4 RETURNING id) " EVENT_INSERT
			    "SELECT id, $3, 6, 'replaced', $5 FROM u",
			    &p);
	}
	if (rc == STORE_OK && in->event_what != NULL) {
		memset(&p, 0, sizeof(p));
		pgp_i64(&p, id);
		pgp_i64(&p, a->now_ms);
		pgp_text(&p, in->event_what);
		pgp_text(&p, in->event_detail ? in->event_detail : "");
		rc = pg_cmd(c, "message event", EVENT_INSERT "VALUES ($1, $2, -1, $3, $4)", &p);
	}
	if (rc == STORE_OK && in->idempotency_key != NULL) {
		memset(&p, 0, sizeof(p));
		pgp_i64(&p, a->provider_id);
		pgp_text(&p, in->idempotency_key);
		pgp_i64(&p, id);
		pgp_i64(&p, a->now_ms);
		/* Another server storing the same key at the same moment: 23505 once it committed. */
		rc = pg_cmd(c, "idempotency add",
			    "INSERT INTO idempotency_keys(provider_id, key, message_id, created_ms) VALUES ($1, $2, "
			    "$3, $4)",
			    &p);
		if (rc == STORE_CONFLICT)
			return PG_AGAIN;
	}
	if (rc != STORE_OK)
		return rc;
	memset(out, 0, sizeof(*out));
	out->id = id;
	out->device_id = in->device_id;
	out->provider_id = a->provider_id;
	out->seq = (uint64_t)seq;
	out->state = MSG_QUEUED;
	out->urgency = in->urgency;
	if (in->topic != NULL)
		snprintf(out->topic, sizeof(out->topic), "%s", in->topic);
	snprintf(out->content_type, sizeof(out->content_type), "%s", ctype);
	if (in->content_encoding != NULL)
		snprintf(out->content_encoding, sizeof(out->content_encoding), "%s", in->content_encoding);
	out->created_ms = a->now_ms;
	out->expires_ms = expires;
	out->updated_ms = a->now_ms;
	out->body_len = in->body_len;
	return STORE_OK;
}

static int put_arg_valid(struct put_arg *a, int64_t provider_id, const struct store_message_in *in, int64_t now_ms,
			 struct store_message *out, int *replayed)
{
	if (in == NULL || out == NULL || provider_id <= 0 || now_ms < 0 || in->urgency < 0 ||
	    in->urgency >= URG_COUNT || in->ttl_s < 0 || in->ttl_s > (INT64_MAX - now_ms) / 1000 ||
	    in->body_len > STORE_BODY_MAX || (in->body == NULL && in->body_len > 0) ||
	    (in->topic != NULL && !valid_topic(in->topic)) ||
	    (in->content_type != NULL && !store_valid_text(in->content_type, 1, STORE_CTYPE_MAX, 1)) ||
	    (in->content_encoding != NULL && strcmp(in->content_encoding, "aes128gcm") != 0) ||
	    (in->idempotency_key != NULL && !store_valid_text(in->idempotency_key, 1, STORE_IDEMKEY_MAX, 1)) ||
	    !store_valid_event(in->event_what, in->event_detail))
		return STORE_ERROR;
	*a = (struct put_arg){provider_id, in, now_ms, out, replayed, 0};
	return STORE_OK;
}

int pg_message_put(struct store *st, int64_t provider_id, const struct store_message_in *in, int64_t now_ms,
		   struct store_message *out, int *replayed)
{
	struct put_arg a;
	int rc = put_arg_valid(&a, provider_id, in, now_ms, out, replayed);

	return rc == STORE_OK ? pg_tx(PG(st), put_tx, &a) : rc;
}

/* Queued for the writer's group commit (pg_writer.c); the device's row is locked with the
 * group's others, in id order. */
int pg_message_put_async(struct store *st, int64_t provider_id, const struct store_message_in *in, int64_t now_ms,
			 struct store_message *out, int *replayed, store_done_cb done, void *arg)
{
	struct put_arg a;
	int rc = put_arg_valid(&a, provider_id, in, now_ms, out, replayed);

	if (rc != STORE_OK || done == NULL)
		return rc != STORE_OK ? rc : STORE_ERROR;
	return pg_writer_submit(PG(st), put_tx, &a, sizeof(a), in->device_id, NULL, done, arg);
}

int pg_message_get(struct store *st, int64_t provider_id, int64_t id, struct store_message *out, store_event_cb ev,
		   void *arg)
{
	struct pg_params p = {0};
	PGresult *r;
	int rc;

	if (out == NULL)
		return STORE_ERROR;
	pgp_i64(&p, id);
	rc = pg_read(PG(st), "message get", "SELECT " MSG_COLS " FROM messages WHERE id = $1", &p, &r);
	if (rc == STORE_OK && (PQntuples(r) != 1 || (provider_id != 0 && pg_i64(r, 0, 2) != provider_id)))
		rc = STORE_NOTFOUND;
	if (rc == STORE_OK)
		message_row(r, 0, out);
	PQclear(r);
	if (rc != STORE_OK || ev == NULL)
		return rc;
	rc = pg_read(
		PG(st), "message events",
		"SELECT time_ms, state, what, detail FROM message_events WHERE message_id = $1 ORDER BY time_ms, id",
		&p, &r);
	for (int i = 0; rc == STORE_OK && i < PQntuples(r); i++) {
		struct store_event e;

		memset(&e, 0, sizeof(e));
		e.time_ms = pg_i64(r, i, 0);
		e.state = (int)pg_i64(r, i, 1);
		pg_text(e.what, sizeof(e.what), r, i, 2);
		pg_text(e.detail, sizeof(e.detail), r, i, 3);
		if (ev(arg, &e) != 0)
			break;
	}
	PQclear(r);
	return rc;
}

struct cancel_arg {
	int64_t provider_id, id, now_ms;
};

static int cancel_tx(PGconn *c, void *arg)
{
	const struct cancel_arg *a = arg;
	struct pg_params p = {0};
	PGresult *r;
	int rc, state;

	pgp_i64(&p, a->id);
	rc = pg_exec(c, "cancel", "SELECT provider_id, state FROM messages WHERE id = $1 FOR UPDATE", &p, &r);
	if (rc == STORE_OK && (PQntuples(r) != 1 || (a->provider_id != 0 && pg_i64(r, 0, 0) != a->provider_id)))
		rc = STORE_NOTFOUND;
	state = rc == STORE_OK ? (int)pg_i64(r, 0, 1) : -1;
	PQclear(r);
	if (rc != STORE_OK)
		return rc;
	if (state != MSG_QUEUED && state != MSG_WAKE_SENT && state != MSG_SMS_DELIVERED)
		return STORE_CONFLICT;
	pgp_i64(&p, a->now_ms);
	rc = pg_cmd(c, "cancel", "UPDATE messages SET state = 7, updated_ms = $2 WHERE id = $1", &p);
	return rc == STORE_OK ? event_add(c, a->id, a->now_ms, MSG_CANCELLED, "cancelled", "") : rc;
}

int pg_message_cancel(struct store *st, int64_t provider_id, int64_t id, int64_t now_ms)
{
	struct cancel_arg a = {provider_id, id, now_ms};

	return pg_tx(PG(st), cancel_tx, &a);
}

struct event_arg {
	int64_t device_id, now_ms;
	const char *what, *detail;
};

static int event_tx(PGconn *c, void *arg)
{
	const struct event_arg *a = arg;
	struct pg_params p = {0};
	PGresult *r;
	int rc;

	pgp_i64(&p, a->device_id);
	rc = pg_exec(c, "device event", "SELECT 1 FROM devices WHERE id = $1", &p, &r);
	if (rc == STORE_OK && PQntuples(r) != 1)
		rc = STORE_NOTFOUND;
	PQclear(r);
	if (rc != STORE_OK)
		return rc;
	pgp_i64(&p, a->now_ms);
	pgp_text(&p, a->what);
	pgp_text(&p, a->detail ? a->detail : "");
	return pg_cmd(
		c, "device event",
		EVENT_INSERT "SELECT id, $2, -1, $3, $4 FROM messages WHERE device_id = $1 AND state IN (0,1,2,3)", &p);
}

int pg_device_event(struct store *st, int64_t device_id, const char *what, const char *detail, int64_t now_ms)
{
	struct event_arg a = {device_id, now_ms, what, detail};

	if (!store_valid_text(what, 1, sizeof(((struct store_event *)0)->what) - 1, 1) ||
	    (detail != NULL && !store_valid_text(detail, 0, STORE_ERROR_MAX, 0)))
		return STORE_ERROR;
	return pg_tx(PG(st), event_tx, &a);
}

int pg_device_has_pending(struct store *st, int64_t device_id, uint64_t after, int64_t now_ms)
{
	struct pg_params p = {0};
	PGresult *r;
	int rc;

	pgp_i64(&p, device_id);
	pgp_i64(&p, after > INT64_MAX ? INT64_MAX : (int64_t)after);
	pgp_i64(&p, now_ms);
	rc = pg_read(PG(st), "has pending",
		     "SELECT 1 FROM messages WHERE device_id = $1 AND state IN (0,1,2,3) AND seq > $2 "
		     "AND expires_ms >= $3 LIMIT 1",
		     &p, &r);
	if (rc != STORE_OK)
		return -1;
	rc = PQntuples(r) > 0;
	PQclear(r);
	return rc;
}

struct fetch_arg {
	int64_t device_id, after, now_ms;
	int max;
	PGresult *rows;
	int n;    /* rows of rows handed over (at most max) */
	int more; /* a deliverable message remains past them */
};

static int fetch_tx(PGconn *c, void *arg)
{
	struct fetch_arg *a = arg;
	struct pg_params p = {0};
	PGresult *r;
	int rc, n;

	/* A group that runs again starts over. */
	PQclear(a->rows);
	a->rows = NULL;
	a->n = 0;
	a->more = 0;
	pgp_i64(&p, a->device_id);
	rc = pg_exec(c, "fetch", "SELECT 1 FROM devices WHERE id = $1", &p, &r);
	if (rc == STORE_OK && PQntuples(r) != 1)
		rc = STORE_NOTFOUND;
	PQclear(r);
	if (rc != STORE_OK)
		return rc;
	pgp_i64(&p, a->after);
	pgp_i64(&p, a->now_ms);
	pgp_i64(&p, a->max + 1); /* one row past max says whether more remain; it is not marked */
	rc = pg_exec(c, "fetch",
		     "SELECT " MSG_COLS ", body FROM messages WHERE device_id = $1 AND state IN (0,1,2,3) "
		     "AND seq > $2 AND expires_ms >= $3 ORDER BY seq LIMIT $4 FOR UPDATE",
		     &p, &a->rows);
	if (rc != STORE_OK || (n = PQntuples(a->rows)) == 0)
		return rc;
	a->more = n > a->max;
	n = a->n = n > a->max ? a->max : n;
	p.n = 1;
	pgp_i64(&p, a->after);
	pgp_i64(&p, pg_i64(a->rows, n - 1, 3));
	pgp_i64(&p, a->now_ms);
	rc = pg_cmd(c, "fetch events",
		    EVENT_INSERT "SELECT id, $4, 3, 'fetched', '' FROM messages WHERE device_id = $1 "
				 "AND state IN (0,1,2) AND seq > $2 AND seq <= $3 AND expires_ms >= $4",
		    &p);
	if (rc == STORE_OK)
		rc = pg_cmd(c, "fetch mark",
			    "UPDATE messages SET state = 3, updated_ms = $4 WHERE device_id = $1 "
			    "AND state IN (0,1,2) AND seq > $2 AND seq <= $3 AND expires_ms >= $4",
			    &p);
	return rc;
}

/* Hands the fetch's rows to cb as messages in their fetched state until cb refuses one; the
 * number handed (the refused one included), or -1 out of memory. */
static int fetch_rows(const struct fetch_arg *a, store_message_cb cb, void *arg)
{
	uint8_t *body;
	int handed = 0;

	if (a->rows == NULL || a->n == 0)
		return 0;
	body = malloc(STORE_BODY_MAX + 1);
	if (body == NULL)
		return -1;
	for (int i = 0; i < a->n; i++) {
		struct store_message m;

		message_row(a->rows, i, &m);
		m.body_len = pg_bytes(body, STORE_BODY_MAX, a->rows, i, 13);
		m.body = body;
		if (m.state != MSG_FETCHED) {
			m.state = MSG_FETCHED;
			m.updated_ms = a->now_ms;
		}
		handed++;
		if (cb(arg, &m) != 0)
			break;
	}
	free(body);
	return handed;
}

static int device_fetch(struct store *st, int64_t device_id, uint64_t after, int max, int64_t now_ms,
			store_message_cb cb, void *arg, int *count, int *more)
{
	struct fetch_arg a = {device_id, after > INT64_MAX ? INT64_MAX : (int64_t)after, now_ms, 0, NULL, 0, 0};
	int rc, handed = 0;

	if (count != NULL)
		*count = 0;
	if (more != NULL)
		*more = 0;
	if (cb == NULL || max <= 0)
		return STORE_ERROR;
	a.max = max < PG_FETCH_MAX ? max : PG_FETCH_MAX;
	rc = pg_tx(PG(st), fetch_tx, &a);
	if (rc == STORE_OK && (handed = fetch_rows(&a, cb, arg)) < 0)
		rc = STORE_ERROR;
	PQclear(a.rows);
	if (rc == STORE_OK && count != NULL)
		*count = handed;
	if (rc == STORE_OK && more != NULL)
		*more = a.more || handed < a.n;
	return rc;
}

int pg_device_fetch(struct store *st, int64_t device_id, uint64_t after, int max, int64_t now_ms, store_message_cb cb,
		    void *arg, int *count)
{
	return device_fetch(st, device_id, after, max, now_ms, cb, arg, count, NULL);
}

/* One transaction either way on PostgreSQL: fetch_more only adds *more. */
int pg_device_fetch_more(struct store *st, int64_t device_id, uint64_t after, int max, int64_t now_ms,
			 store_message_cb cb, void *arg, int *count, int *more)
{
	return device_fetch(st, device_id, after, max, now_ms, cb, arg, count, more);
}

/* An asynchronous fetch: the writer's transaction, then its rows copied to the caller's list. */
struct fetch_async_arg {
	struct fetch_arg a;
	struct store_fetched **out;
	int *count, *more;
};

static int fetch_async_tx(PGconn *c, void *arg)
{
	return fetch_tx(c, &((struct fetch_async_arg *)arg)->a);
}

static void fetch_async_finish(void *arg, int rc)
{
	struct fetch_async_arg *fa = arg;
	struct store_fetched **tail = fa->out;
	int n = 0;

	if (rc == STORE_OK)
		(void)fetch_rows(&fa->a, store_fetched_append, &tail);
	PQclear(fa->a.rows);
	fa->a.rows = NULL;
	for (struct store_fetched *f = *fa->out; f != NULL; f = f->next)
		n++;
	/* A message that could not be copied is committed as fetched all the same, and stays
	 * deliverable: "more" sends the device back for it. */
	*fa->count = n;
	*fa->more = rc == STORE_OK && (fa->a.more || n < fa->a.n);
}

int pg_device_fetch_more_async(struct store *st, int64_t device_id, uint64_t after, int max, int64_t now_ms,
			       struct store_fetched **out, int *count, int *more, store_done_cb done, void *arg)
{
	struct fetch_async_arg fa = {
		{device_id, after > INT64_MAX ? INT64_MAX : (int64_t)after, now_ms, 0, NULL, 0, 0}, out, count, more};

	if (max <= 0)
		return STORE_ERROR;
	fa.a.max = max < PG_FETCH_MAX ? max : PG_FETCH_MAX;
	return pg_writer_submit(PG(st), fetch_async_tx, &fa, sizeof(fa), device_id, fetch_async_finish, done, arg);
}

struct ack_arg {
	int64_t device_id, seq, wake_ctr, now_ms;
	int key_id, count;
	int *count_out; /* the caller's, set after COMMIT (pg_ack_async) */
};

static int ack_tx(PGconn *c, void *arg)
{
	struct ack_arg *a = arg;
	struct pg_params p = {0};
	PGresult *r;
	int rc;

	pgp_i64(&p, a->device_id);
	pgp_i64(&p, a->seq);
	pgp_i64(&p, a->wake_ctr);
	pgp_i64(&p, a->key_id);
	/* Wake counters compare as unsigned (same bits in a bigint): a > b. */
	rc = pg_exec(c, "ack device",
		     "UPDATE devices SET acked_seq = greatest(acked_seq, least($2::bigint, last_seq)), "
		     "wake_ctr = CASE WHEN (CASE WHEN ($3::bigint < 0) = (wake_ctr < 0) THEN $3::bigint > wake_ctr "
		     "ELSE $3::bigint < 0 END) THEN $3::bigint ELSE wake_ctr END, "
		     "key_id = CASE WHEN $4::integer <> 0 AND $4::integer = key_next THEN $4::integer ELSE key_id END, "
		     "key_next = CASE WHEN $4::integer <> 0 AND $4::integer = key_next THEN 0 ELSE key_next END "
		     "WHERE id = $1",
		     &p, &r);
	if (rc == STORE_OK && atoi_safe(PQcmdTuples(r)) == 0)
		rc = STORE_NOTFOUND;
	PQclear(r);
	if (rc != STORE_OK)
		return rc;
	p.n = 2;
	pgp_i64(&p, a->now_ms);
	rc = pg_cmd(c, "ack events",
		    EVENT_INSERT "SELECT id, $3, 4, 'acked', '' FROM messages WHERE device_id = $1 AND state = 3 "
				 "AND seq <= $2",
		    &p);
	if (rc != STORE_OK)
		return rc;
	rc = pg_exec(c, "ack",
		     "UPDATE messages SET state = 4, updated_ms = $3 WHERE device_id = $1 AND state = 3 AND seq <= $2",
		     &p, &r);
	if (rc == STORE_OK)
		a->count = atoi_safe(PQcmdTuples(r));
	PQclear(r);
	return rc;
}

int pg_ack(struct store *st, int64_t device_id, uint64_t seq, uint64_t wake_ctr, int key_id, int64_t now_ms, int *count)
{
	struct ack_arg a = {device_id, seq > INT64_MAX ? INT64_MAX : (int64_t)seq, (int64_t)wake_ctr, now_ms, key_id, 0,
			    NULL};
	int rc;

	if (count != NULL)
		*count = 0;
	if (key_id < 0 || key_id > 255)
		return STORE_ERROR;
	rc = pg_tx(PG(st), ack_tx, &a);
	if (rc == STORE_OK && count != NULL)
		*count = a.count;
	return rc;
}

static void ack_finish(void *arg, int rc)
{
	struct ack_arg *a = arg;

	if (a->count_out != NULL)
		*a->count_out = rc == STORE_OK ? a->count : 0;
}

int pg_ack_async(struct store *st, int64_t device_id, uint64_t seq, uint64_t wake_ctr, int key_id, int64_t now_ms,
		 int *count, store_done_cb done, void *arg)
{
	struct ack_arg a = {device_id, seq > INT64_MAX ? INT64_MAX : (int64_t)seq, (int64_t)wake_ctr, now_ms, key_id, 0,
			    count};

	if (key_id < 0 || key_id > 255 || done == NULL)
		return STORE_ERROR;
	return pg_writer_submit(PG(st), ack_tx, &a, sizeof(a), device_id, ack_finish, done, arg);
}

struct sweep_arg {
	int purge;
	int64_t t_ms;
	int count;
};

static int sweep_tx(PGconn *c, void *arg)
{
	struct sweep_arg *a = arg;
	struct pg_params p = {0};
	PGresult *r;
	int rc;

	pgp_i64(&p, a->t_ms);
	pgp_i64(&p, PG_CHUNK);
	if (!a->purge) {
		rc = pg_exec(c, "expire",
			     "WITH x AS (SELECT id FROM messages WHERE state IN (0,1,2,3) AND expires_ms < $1 "
			     "ORDER BY expires_ms LIMIT $2 FOR UPDATE SKIP LOCKED), "
			     "u AS (UPDATE messages m SET state = 5, updated_ms = $1 FROM x WHERE m.id = x.id "
			     "RETURNING m.id) " EVENT_INSERT "SELECT id, $1, 5, 'expired', '' FROM u",
			     &p, &r);
	} else {
		rc = pg_exec(c, "purge",
			     "WITH x AS (SELECT id FROM messages WHERE state IN (4,5,6,7) AND updated_ms < $1 "
			     "ORDER BY updated_ms LIMIT $2 FOR UPDATE SKIP LOCKED), "
			     "e AS (DELETE FROM message_events WHERE message_id IN (SELECT id FROM x)) "
			     "DELETE FROM messages WHERE id IN (SELECT id FROM x)",
			     &p, &r);
		if (rc == STORE_OK) {
			a->count = atoi_safe(PQcmdTuples(r));
			PQclear(r);
			rc = pg_cmd(c, "purge keys",
				    "DELETE FROM idempotency_keys WHERE (provider_id, key) IN (SELECT provider_id, key "
				    "FROM idempotency_keys WHERE created_ms < $1 LIMIT $2)",
				    &p);
			if (rc == STORE_OK)
				rc = pg_cmd(c, "purge jobs",
					    "DELETE FROM wake_jobs WHERE id IN (SELECT id FROM wake_jobs "
					    "WHERE state IN (2,3,4,5) AND updated_ms < $1 LIMIT $2)",
					    &p);
			return rc;
		}
	}
	if (rc == STORE_OK)
		a->count = atoi_safe(PQcmdTuples(r));
	PQclear(r);
	return rc;
}

static int sweep(struct pg_store *st, int purge, int64_t t_ms, int *count)
{
	int64_t total = 0;
	int rc;

	if (count != NULL)
		*count = 0;
	do {
		struct sweep_arg a = {purge, t_ms, 0};

		rc = pg_tx(st, sweep_tx, &a);
		if (rc != STORE_OK)
			break;
		total += a.count;
		if (a.count < PG_CHUNK)
			break;
	} while (1);
	if (count != NULL)
		*count = total > INT32_MAX ? INT32_MAX : (int)total;
	return rc;
}

int pg_expire(struct store *st, int64_t now_ms, int *count)
{
	return sweep(PG(st), 0, now_ms, count);
}

int pg_purge(struct store *st, int64_t before_ms, int *count)
{
	return sweep(PG(st), 1, before_ms, count);
}

/* The sequence numbers go as one array parameter ("{1,2,3}"): one statement whatever n is. */
/* A sequence number as the signed bigint PostgreSQL compares it as (the last one above INT64_MAX
 * matches no message). */
static int64_t seq_at(const void *arr, size_t i)
{
	uint64_t v = ((const uint64_t *)arr)[i];

	return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

int pg_seq_event(struct store *st, int64_t device_id, const uint64_t *seqs, size_t n, const char *what,
		 const char *detail, int64_t now_ms)
{
	struct pg_params p = {0};
	char *list;
	int rc;

	if ((n > 0 && seqs == NULL) || !store_valid_text(what, 1, sizeof(((struct store_event *)0)->what) - 1, 1) ||
	    (detail != NULL && !store_valid_text(detail, 0, STORE_ERROR_MAX, 0)) || n > SIZE_MAX / 24 - 2)
		return STORE_ERROR;
	if (n == 0)
		return STORE_OK;
	list = pg_array_literal(seqs, n, seq_at);
	if (list == NULL)
		return STORE_ERROR;
	pgp_i64(&p, device_id);
	pgp_text(&p, list);
	pgp_i64(&p, now_ms);
	pgp_text(&p, what);
	pgp_text(&p, detail ? detail : "");
	rc = pg_write1(PG(st), "seq event",
		       EVENT_INSERT "SELECT id, $3, -1, $4, $5 FROM messages WHERE device_id = $1 "
				    "AND seq = ANY($2::bigint[]) ORDER BY seq",
		       &p, NULL);
	free(list);
	return rc;
}
