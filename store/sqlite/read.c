/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Read-only verbs (authentication, device and message lookups, lists, the empty-poll check, the
 * scheduler's wake candidates), on cached statements of the calling thread's read connection. */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

/* Every statement is reset before returning so its read transaction ends and the next read
 * sees the latest commit. */
static int read_fail(sqlite3_stmt *s, int rc, const char *what)
{
	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return STORE_NOTFOUND;
	store_log_sqlite(sqlite3_db_handle(s), what, rc);
	rc = store_rc_sqlite(rc);
	return rc == STORE_OK || rc == STORE_CONFLICT ? STORE_ERROR : rc;
}

void store_copy_text(char *dst, size_t size, sqlite3_stmt *s, int col)
{
	const unsigned char *t = sqlite3_column_text(s, col);
	size_t n = t ? (size_t)sqlite3_column_bytes(s, col) : 0;

	if (n >= size)
		n = size - 1;
	if (n > 0)
		memcpy(dst, t, n);
	dst[n] = '\0';
}

/* Columns of MSG_COLS in sql.c. */
void store_message_row(sqlite3_stmt *s, struct store_message *m)
{
	memset(m, 0, sizeof(*m));
	m->id = sqlite3_column_int64(s, 0);
	m->device_id = sqlite3_column_int64(s, 1);
	m->provider_id = sqlite3_column_int64(s, 2);
	m->seq = (uint64_t)sqlite3_column_int64(s, 3);
	m->state = sqlite3_column_int(s, 4);
	m->urgency = sqlite3_column_int(s, 5);
	store_copy_text(m->topic, sizeof(m->topic), s, 6);
	store_copy_text(m->content_type, sizeof(m->content_type), s, 7);
	m->created_ms = sqlite3_column_int64(s, 8);
	m->expires_ms = sqlite3_column_int64(s, 9);
	m->updated_ms = sqlite3_column_int64(s, 10);
	m->body_len = (size_t)sqlite3_column_int64(s, 11);
	store_copy_text(m->content_encoding, sizeof(m->content_encoding), s, 12);
}

/* Columns of JOB_COLS in sql.c. */
void store_job_row(sqlite3_stmt *s, struct store_wake_job *j)
{
	const void *p;
	size_t n;

	memset(j, 0, sizeof(*j));
	j->id = sqlite3_column_int64(s, 0);
	j->device_id = sqlite3_column_int64(s, 1);
	store_copy_text(j->msisdn, sizeof(j->msisdn), s, 2);
	j->sms_format = sqlite3_column_int(s, 3);
	j->port = sqlite3_column_int(s, 4);
	j->ctr = (uint64_t)sqlite3_column_int64(s, 5);
	p = sqlite3_column_blob(s, 6);
	n = (size_t)sqlite3_column_bytes(s, 6);
	if (n > sizeof(j->payload))
		n = sizeof(j->payload);
	if (p != NULL && n > 0)
		memcpy(j->payload, p, n);
	j->payload_len = n;
	j->validity_s = sqlite3_column_int64(s, 7);
	j->due_ms = sqlite3_column_int64(s, 8);
	j->lease_until_ms = sqlite3_column_int64(s, 9);
	j->state = sqlite3_column_int(s, 10);
	j->attempts = sqlite3_column_int(s, 11);
	j->reference = sqlite3_column_int64(s, 12);
	store_copy_text(j->error, sizeof(j->error), s, 13);
}

static void principal_row(sqlite3_stmt *s, struct store_principal *p)
{
	memset(p, 0, sizeof(*p));
	p->id = sqlite3_column_int64(s, 0);
	store_copy_text(p->name, sizeof(p->name), s, 1);
	p->created_ms = sqlite3_column_int64(s, 2);
	p->last_seen_ms = sqlite3_column_int64(s, 3);
	p->revoked = sqlite3_column_int(s, 4);
	p->sms_budget_day = sqlite3_column_int64(s, 5);
}

static int principal_auth(struct sq_store *st, enum rsql q, const uint8_t hash[STORE_HASH_LEN],
			  struct store_principal *out)
{
	sqlite3_stmt *s;
	int rc;

	if (hash == NULL || out == NULL)
		return STORE_ERROR;
	s = rstmt(st, q);
	if (s == NULL)
		return STORE_UNAVAILABLE;
	sqlite3_bind_blob(s, 1, hash, STORE_HASH_LEN, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		return read_fail(s, rc, "auth");
	principal_row(s, out);
	sqlite3_reset(s);
	return STORE_OK;
}

int sq_provider_auth(struct sq_store *st, const uint8_t hash[STORE_HASH_LEN], struct store_principal *out)
{
	uint64_t epoch;
	int rc;

	if (hash == NULL || out == NULL)
		return STORE_ERROR;
	if (authcache_get(&st->auth, hash, out, &epoch))
		return STORE_OK;
	rc = principal_auth(st, RS_PROVIDER_AUTH, hash, out);
	if (rc == STORE_OK)
		authcache_put(&st->auth, hash, out, epoch);
	return rc;
}

int sq_gateway_auth(struct sq_store *st, const uint8_t hash[STORE_HASH_LEN], struct store_principal *out)
{
	return principal_auth(st, RS_GATEWAY_AUTH, hash, out);
}

static int principal_list(struct sq_store *st, enum rsql q, store_principal_cb cb, void *arg)
{
	struct store_principal p;
	sqlite3_stmt *s;
	int rc;

	if (cb == NULL)
		return STORE_ERROR;
	s = rstmt(st, q);
	if (s == NULL)
		return STORE_UNAVAILABLE;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		principal_row(s, &p);
		if (cb(arg, &p) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE)
		return read_fail(s, rc, "list");
	sqlite3_reset(s);
	return STORE_OK;
}

int sq_provider_list(struct sq_store *st, store_principal_cb cb, void *arg)
{
	return principal_list(st, RS_PROVIDER_LIST, cb, arg);
}

int sq_gateway_list(struct sq_store *st, store_principal_cb cb, void *arg)
{
	return principal_list(st, RS_GATEWAY_LIST, cb, arg);
}

/* Columns of DEVICE_COLS in sql.c, as they are on disk. */
static void device_cols(sqlite3_stmt *s, struct store_device *d)
{
	memset(d, 0, sizeof(*d));
	d->id = sqlite3_column_int64(s, 0);
	d->provider_id = sqlite3_column_int64(s, 1);
	store_copy_text(d->msisdn, sizeof(d->msisdn), s, 2);
	store_copy_text(d->name, sizeof(d->name), s, 3);
	d->sms_format = sqlite3_column_int(s, 4);
	d->poll_interval_s = sqlite3_column_int64(s, 5);
	d->created_ms = sqlite3_column_int64(s, 6);
	d->last_seen_ms = sqlite3_column_int64(s, 7);
	d->last_seq = (uint64_t)sqlite3_column_int64(s, 8);
	d->acked_seq = (uint64_t)sqlite3_column_int64(s, 9);
	d->wake_ctr = (uint64_t)sqlite3_column_int64(s, 10);
	d->wake_state = sqlite3_column_int(s, 11);
	d->wake_sent_ms = sqlite3_column_int64(s, 12);
	d->wake_attempts = sqlite3_column_int(s, 13);
	d->pending = sqlite3_column_int64(s, 14);
	d->quiet_start_min = sqlite3_column_int64(s, 15);
	d->quiet_end_min = sqlite3_column_int64(s, 16);
	d->key_id = sqlite3_column_int(s, 17);
	d->key_next = sqlite3_column_int(s, 18);
	store_copy_text(d->push_p256dh, sizeof(d->push_p256dh), s, 19);
	store_copy_text(d->push_auth, sizeof(d->push_auth), s, 20);
	store_copy_text(d->push_token, sizeof(d->push_token), s, 21);
}

/* The last-seen time and wake state on disk may lag behind a contact still held in memory;
 * report the fresher view. */
static void device_row(struct sq_store *st, sqlite3_stmt *s, struct store_device *d)
{
	device_cols(s, d);
	store_device_seen(d, touch_get(&st->touch, d->id));
}

int sq_device_get(struct sq_store *st, int64_t provider_id, int64_t id, struct store_device *out)
{
	sqlite3_stmt *s;
	int rc;

	if (out == NULL)
		return STORE_ERROR;
	s = rstmt(st, RS_DEVICE_GET);
	if (s == NULL)
		return STORE_UNAVAILABLE;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		return read_fail(s, rc, "device get");
	if (provider_id != 0 && sqlite3_column_int64(s, 1) != provider_id) {
		sqlite3_reset(s);
		return STORE_NOTFOUND;
	}
	device_row(st, s, out);
	sqlite3_reset(s);
	return STORE_OK;
}

int sq_device_list(struct sq_store *st, int64_t provider_id, store_device_cb cb, void *arg)
{
	struct store_device d;
	sqlite3_stmt *s;
	int rc;

	if (cb == NULL)
		return STORE_ERROR;
	s = rstmt(st, provider_id ? RS_DEVICE_LIST : RS_DEVICE_LIST_ALL);
	if (s == NULL)
		return STORE_UNAVAILABLE;
	if (provider_id)
		sqlite3_bind_int64(s, 1, provider_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		device_row(st, s, &d);
		if (cb(arg, &d) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE)
		return read_fail(s, rc, "device list");
	sqlite3_reset(s);
	return STORE_OK;
}

int sq_device_by_push_token(struct sq_store *st, const char *token, int64_t *device_id, int64_t *provider_id,
			    char server_key[STORE_P256DH_MAX + 1])
{
	sqlite3_stmt *s;
	int rc;

	if (token == NULL || device_id == NULL || provider_id == NULL)
		return STORE_ERROR;
	s = rstmt(st, RS_DEVICE_BY_PUSH);
	if (s == NULL)
		return STORE_UNAVAILABLE;
	sqlite3_bind_text(s, 1, token, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		return read_fail(s, rc, "device by push token");
	if (sqlite3_column_int(s, 3)) {
		sqlite3_reset(s);
		return STORE_GONE;
	}
	*device_id = sqlite3_column_int64(s, 0);
	*provider_id = sqlite3_column_int64(s, 1);
	store_copy_text(server_key, STORE_P256DH_MAX + 1, s, 2);
	sqlite3_reset(s);
	return STORE_OK;
}

int sq_device_auth(struct sq_store *st, const uint8_t hash[STORE_HASH_LEN], int64_t *device_id)
{
	sqlite3_stmt *s;
	int rc;

	if (hash == NULL || device_id == NULL)
		return STORE_ERROR;
	s = rstmt(st, RS_DEVICE_AUTH);
	if (s == NULL)
		return STORE_UNAVAILABLE;
	sqlite3_bind_blob(s, 1, hash, STORE_HASH_LEN, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		return read_fail(s, rc, "device auth");
	*device_id = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return STORE_OK;
}

/* The poll's one statement, its device (?1) bound already. The contact held in memory is not
 * looked up: the poll is a newer one (store.c records it). */
static int device_poll_run(sqlite3_stmt *s, uint64_t after, int64_t now_ms, struct store_device *out, int *pending)
{
	int rc;

	sqlite3_bind_int64(s, 2, after > INT64_MAX ? INT64_MAX : (int64_t)after);
	sqlite3_bind_int64(s, 3, now_ms);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		return read_fail(s, rc, "device poll");
	device_cols(s, out);
	sqlite3_reset(s);
	*pending = out->pending != 0;
	return STORE_OK;
}

int sq_device_poll(struct sq_store *st, int64_t device_id, uint64_t after, int64_t now_ms, struct store_device *out,
		   int *pending)
{
	sqlite3_stmt *s;

	if (out == NULL || pending == NULL)
		return STORE_ERROR;
	s = rstmt(st, RS_DEVICE_POLL);
	if (s == NULL)
		return STORE_UNAVAILABLE;
	sqlite3_bind_int64(s, 1, device_id);
	return device_poll_run(s, after, now_ms, out, pending);
}

int sq_device_poll_token(struct sq_store *st, const uint8_t hash[STORE_HASH_LEN], uint64_t after, int64_t now_ms,
			 struct store_device *out, int *pending)
{
	sqlite3_stmt *s;

	if (out == NULL || pending == NULL)
		return STORE_ERROR;
	s = rstmt(st, RS_DEVICE_POLL_TOKEN);
	if (s == NULL)
		return STORE_UNAVAILABLE;
	sqlite3_bind_blob(s, 1, hash, STORE_HASH_LEN, SQLITE_STATIC);
	return device_poll_run(s, after, now_ms, out, pending);
}

int sq_device_has_pending(struct sq_store *st, int64_t device_id, uint64_t after, int64_t now_ms)
{
	sqlite3_stmt *s;
	int rc;

	if (after > INT64_MAX)
		return 0;
	s = rstmt(st, RS_HAS_PENDING);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, device_id);
	sqlite3_bind_int64(s, 2, (int64_t)after);
	sqlite3_bind_int64(s, 3, now_ms);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	store_log_sqlite(sqlite3_db_handle(s), "has_pending", rc);
	return -1;
}

int store_fetch_precheck(struct sq_store *st, int64_t device_id, int64_t after, int64_t now_ms, int *pending)
{
	sqlite3_stmt *s = rstmt(st, RS_FETCH_PRECHECK);
	int rc, exists;

	if (s == NULL)
		return STORE_UNAVAILABLE;
	sqlite3_bind_int64(s, 1, device_id);
	sqlite3_bind_int64(s, 2, after);
	sqlite3_bind_int64(s, 3, now_ms);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		return read_fail(s, rc == SQLITE_DONE ? SQLITE_ERROR : rc, "fetch check");
	exists = sqlite3_column_int(s, 0);
	*pending = sqlite3_column_int(s, 1);
	sqlite3_reset(s);
	return exists ? STORE_OK : STORE_NOTFOUND;
}

int sq_message_get(struct sq_store *st, int64_t provider_id, int64_t id, struct store_message *out, store_event_cb ev,
		   void *arg)
{
	struct store_event e;
	sqlite3_stmt *s;
	int rc;

	if (out == NULL)
		return STORE_ERROR;
	s = rstmt(st, RS_MSG_GET);
	if (s == NULL)
		return STORE_UNAVAILABLE;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		return read_fail(s, rc, "message get");
	if (provider_id != 0 && sqlite3_column_int64(s, 2) != provider_id) {
		sqlite3_reset(s);
		return STORE_NOTFOUND;
	}
	store_message_row(s, out);
	sqlite3_reset(s);
	if (ev == NULL)
		return STORE_OK;

	s = rstmt(st, RS_MSG_EVENTS);
	if (s == NULL)
		return STORE_UNAVAILABLE;
	sqlite3_bind_int64(s, 1, id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&e, 0, sizeof(e));
		e.time_ms = sqlite3_column_int64(s, 0);
		e.state = sqlite3_column_int(s, 1);
		store_copy_text(e.what, sizeof(e.what), s, 2);
		store_copy_text(e.detail, sizeof(e.detail), s, 3);
		if (ev(arg, &e) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE)
		return read_fail(s, rc, "message events");
	sqlite3_reset(s);
	return STORE_OK;
}

int sq_wake_job_get(struct sq_store *st, int64_t job_id, struct store_wake_job *out)
{
	sqlite3_stmt *s;
	int rc;

	if (out == NULL)
		return STORE_ERROR;
	s = rstmt(st, RS_JOB_GET);
	if (s == NULL)
		return STORE_UNAVAILABLE;
	sqlite3_bind_int64(s, 1, job_id);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		return read_fail(s, rc, "job get");
	store_job_row(s, out);
	sqlite3_reset(s);
	return STORE_OK;
}

/* Aggregates of one candidate device, copied out so no statement stays open during callbacks. */
struct candidate_row {
	int64_t device_id;
	int npending;
	int64_t oldest_ms[URG_COUNT];
	int64_t newest_expiry_ms;
};

#define CANDIDATE_CHUNK 256
#define HOUR_MS (3600 * 1000LL)
#define DAY_MS (24 * HOUR_MS)

/* Fills the per-device and per-provider wakeup counts; each is a range on an index. */
static int candidate_counts(struct sq_store *st, struct store_wake_candidate *c, int64_t now_ms)
{
	sqlite3_stmt *s = rstmt(st, RS_DEVICE_WAKES);
	int rc;

	if (s == NULL)
		return STORE_UNAVAILABLE;
	sqlite3_bind_int64(s, 1, c->dev.id);
	sqlite3_bind_int64(s, 2, now_ms - HOUR_MS);
	sqlite3_bind_int64(s, 3, now_ms - DAY_MS);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		return read_fail(s, rc == SQLITE_DONE ? SQLITE_ERROR : rc, "device wakes");
	c->wakes_hour = sqlite3_column_int(s, 0);
	c->wakes_day = sqlite3_column_int(s, 1);
	sqlite3_reset(s);

	s = rstmt(st, RS_PROVIDER_WAKES);
	if (s == NULL)
		return STORE_UNAVAILABLE;
	sqlite3_bind_int64(s, 1, c->dev.provider_id);
	sqlite3_bind_int64(s, 2, now_ms - DAY_MS);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		c->budget_day = sqlite3_column_int64(s, 0);
		c->budget_used = sqlite3_column_int64(s, 1);
	} else if (rc != SQLITE_DONE) {
		return read_fail(s, rc, "provider wakes");
	}
	sqlite3_reset(s);
	return STORE_OK;
}

/* The device's newest job. Read before the device itself: a report that lands in between then
 * shows in the device's wake state too, so a job seen outstanding or a device seen in flight
 * always keeps the scheduler from making a second job. */
static int candidate_last_job(struct sq_store *st, struct store_wake_candidate *c, int64_t device_id)
{
	sqlite3_stmt *s = rstmt(st, RS_DEVICE_LAST_JOB);
	int rc;

	if (s == NULL)
		return STORE_UNAVAILABLE;
	sqlite3_bind_int64(s, 1, device_id);
	rc = sqlite3_step(s);
	c->job_state = -1;
	if (rc == SQLITE_ROW) {
		c->job_state = sqlite3_column_int(s, 0);
		c->job_created_ms = sqlite3_column_int64(s, 1);
		c->job_updated_ms = sqlite3_column_int64(s, 2);
		c->job_attempts = sqlite3_column_int(s, 3);
		c->job_id = sqlite3_column_int64(s, 4);
	} else if (rc != SQLITE_DONE) {
		return read_fail(s, rc, "last job");
	}
	sqlite3_reset(s);
	return STORE_OK;
}

int sq_wake_backlog(struct sq_store *st, int64_t now_ms, struct store_wake_backlog *out)
{
	sqlite3_stmt *s;
	int rc;

	if (st == NULL || out == NULL)
		return STORE_ERROR;
	memset(out, 0, sizeof(*out));
	s = rstmt(st, RS_WAKE_BACKLOG);
	if (s == NULL)
		return STORE_UNAVAILABLE;
	sqlite3_bind_int64(s, 1, now_ms);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		return read_fail(s, rc == SQLITE_DONE ? SQLITE_ERROR : rc, "wake backlog");
	out->waiting = sqlite3_column_int(s, 0);
	out->oldest_ms = sqlite3_column_int64(s, 1); /* NULL reads as 0 */
	out->gateway_seen_ms = sqlite3_column_int64(s, 2);
	sqlite3_reset(s);
	return STORE_OK;
}

int sq_wake_candidates(struct sq_store *st, int64_t now_ms, store_wake_candidate_cb cb, void *arg)
{
	struct candidate_row *rows;
	int64_t last = 0;
	int rc = STORE_OK, stop = 0;

	if (st == NULL || cb == NULL)
		return STORE_ERROR;
	rows = calloc(CANDIDATE_CHUNK, sizeof(*rows));
	if (rows == NULL)
		return STORE_ERROR;
	while (!stop && rc == STORE_OK) {
		sqlite3_stmt *s = rstmt(st, RS_CANDIDATES);
		int n = 0, step = SQLITE_DONE;

		if (s == NULL) {
			rc = STORE_UNAVAILABLE;
			break;
		}
		sqlite3_bind_int64(s, 1, last);
		sqlite3_bind_int64(s, 2, now_ms);
		sqlite3_bind_int(s, 3, CANDIDATE_CHUNK);
		while (n < CANDIDATE_CHUNK && (step = sqlite3_step(s)) == SQLITE_ROW) {
			struct candidate_row *r = &rows[n++];
			r->device_id = sqlite3_column_int64(s, 0);
			r->npending = sqlite3_column_int(s, 1);
			for (int u = 0; u < URG_COUNT; u++)
				r->oldest_ms[u] = sqlite3_column_int64(s, 2 + u); /* NULL reads as 0 */
			r->newest_expiry_ms = sqlite3_column_int64(s, 6);
		}
		if (n < CANDIDATE_CHUNK && step != SQLITE_DONE) {
			rc = read_fail(s, step, "wake candidates");
			break;
		}
		sqlite3_reset(s);
		for (int i = 0; i < n && !stop && rc == STORE_OK; i++) {
			struct store_wake_candidate c;

			memset(&c, 0, sizeof(c));
			rc = candidate_last_job(st, &c, rows[i].device_id);
			if (rc == STORE_OK)
				rc = sq_device_get(st, 0, rows[i].device_id, &c.dev);
			if (rc == STORE_NOTFOUND) { /* deleted since */
				rc = STORE_OK;
				continue;
			}
			if (rc == STORE_OK)
				rc = candidate_counts(st, &c, now_ms);
			if (rc != STORE_OK)
				break;
			c.npending = rows[i].npending;
			memcpy(c.oldest_ms, rows[i].oldest_ms, sizeof(c.oldest_ms));
			c.newest_expiry_ms = rows[i].newest_expiry_ms;
			stop = cb(arg, &c) != 0;
		}
		if (n < CANDIDATE_CHUNK)
			break;
		last = rows[n - 1].device_id;
	}
	free(rows);
	return rc;
}
