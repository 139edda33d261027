/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Fleets on PostgreSQL: device tags, filtered and paged device lists, and batches (one message to
 * many devices). A batch's fan-out is one statement inside the database, so memory here does not
 * grow with the fleet; each device gets its own message and the next number of its own sequence
 * in the same commit, its row locked in id order (two batches never wait on each other in a
 * circle). Contracts: store.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_int.h"
#include "pg_ops.h"

struct tags_arg {
	int64_t provider_id, device_id;
	const char *const *tags;
	int n;
};

static int tags_tx(PGconn *c, void *arg)
{
	const struct tags_arg *a = arg;
	struct pg_params p = {0};
	PGresult *r;
	int rc;

	pgp_i64(&p, a->device_id);
	pgp_i64(&p, a->provider_id);
	rc = pg_exec(c, "tags owner", "SELECT 1 FROM devices WHERE id = $1 AND ($2 = 0 OR provider_id = $2) FOR UPDATE",
		     &p, &r);
	if (rc == STORE_OK && PQntuples(r) != 1)
		rc = STORE_NOTFOUND;
	PQclear(r);
	p.n = 1;
	if (rc == STORE_OK)
		rc = pg_cmd(c, "tags clear", "DELETE FROM device_tags WHERE device_id = $1", &p);
	for (int i = 0; rc == STORE_OK && i < a->n; i++) {
		p.n = 1;
		pgp_text(&p, a->tags[i]);
		rc = pg_cmd(c, "tag add",
			    "INSERT INTO device_tags(tag, device_id) VALUES ($2, $1) ON CONFLICT DO NOTHING", &p);
	}
	return rc;
}

struct many_arg {
	struct store_device_new *devs;
	size_t n;
	int64_t now_ms;
};

/* Every device is tried even after a conflict (ON CONFLICT DO NOTHING keeps the transaction
 * usable), so all the taken msisdns are named at once; any conflict rolls the whole back. Run
 * again from the start when the writer's group is. */
static int many_tx(PGconn *c, void *arg)
{
	const struct many_arg *a = arg;
	struct pg_params p = {0};
	PGresult *r;
	int rc, conflicts = 0;

	for (size_t i = 0; i < a->n; i++)
		a->devs[i].conflict = 0;

	pgp_i64(&p, a->devs[0].d.provider_id);
	rc = pg_exec(c, "provider active", "SELECT 1 FROM providers WHERE id = $1 AND revoked = 0", &p, &r);
	if (rc == STORE_OK && PQntuples(r) != 1)
		rc = STORE_NOTFOUND;
	PQclear(r);
	for (size_t i = 0; rc == STORE_OK && i < a->n; i++) {
		struct store_device *d = &a->devs[i].d;

		p.n = 0;
		pgp_i64(&p, d->provider_id);
		pgp_text(&p, d->msisdn);
		pgp_text(&p, d->name);
		pgp_bytes(&p, a->devs[i].token_hash, STORE_HASH_LEN);
		pgp_i64(&p, d->sms_format);
		pgp_i64(&p, d->poll_interval_s);
		pgp_i64(&p, a->now_ms);
		pgp_i64(&p, d->quiet_start_min);
		pgp_i64(&p, d->quiet_end_min);
		pgp_i64(&p, d->key_id ? d->key_id : 1);
		rc = pg_exec(c, "device add",
			     "INSERT INTO devices(provider_id, msisdn, name, token_hash, sms_format, poll_interval_s, "
			     "created_ms, quiet_start_min, quiet_end_min, key_id) "
			     "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
			     "ON CONFLICT (provider_id, msisdn) DO NOTHING RETURNING id",
			     &p, &r);
		if (rc == STORE_OK && PQntuples(r) != 1) {
			a->devs[i].conflict = 1;
			conflicts++;
		} else if (rc == STORE_OK) {
			d->id = pg_i64(r, 0, 0);
			d->created_ms = a->now_ms;
			if (d->key_id == 0)
				d->key_id = 1;
		}
		PQclear(r);
		for (int t = 0; rc == STORE_OK && !a->devs[i].conflict && t < a->devs[i].ntags; t++) {
			p.n = 0;
			pgp_i64(&p, d->id);
			pgp_text(&p, a->devs[i].tags[t]);
			rc = pg_cmd(c, "tag add",
				    "INSERT INTO device_tags(tag, device_id) VALUES ($2, $1) ON CONFLICT DO NOTHING",
				    &p);
		}
	}
	return rc == STORE_OK && conflicts > 0 ? STORE_CONFLICT : rc;
}

static int many_valid(struct store_device_new *devs, size_t n)
{
	if (devs == NULL || n == 0 || n > STORE_DEVICE_ADD_MANY_MAX)
		return STORE_ERROR;
	for (size_t i = 0; i < n; i++) {
		if (!pg_valid_new_device(&devs[i].d) || devs[i].d.provider_id != devs[0].d.provider_id ||
		    devs[i].ntags < 0 || devs[i].ntags > STORE_TAGS_MAX)
			return STORE_ERROR;
		for (int t = 0; t < devs[i].ntags; t++)
			if (!store_valid_text(devs[i].tags[t], 1, STORE_TAG_MAX, 1))
				return STORE_ERROR;
		devs[i].conflict = 0;
	}
	return STORE_OK;
}

int pg_device_add_many(struct store *st, struct store_device_new *devs, size_t n, int64_t now_ms)
{
	struct many_arg a = {devs, n, now_ms};
	int rc = many_valid(devs, n);

	return rc == STORE_OK ? pg_tx(PG(st), many_tx, &a) : rc;
}

/* Registrations (the API's POST /v1/devices, one device, and bulk ones) join the writer's group
 * commit like submits. */
int pg_device_add_many_async(struct store *st, struct store_device_new *devs, size_t n, int64_t now_ms,
			     store_done_cb done, void *arg)
{
	struct many_arg a = {devs, n, now_ms};
	int rc = many_valid(devs, n);

	if (rc != STORE_OK || done == NULL)
		return rc != STORE_OK ? rc : STORE_ERROR;
	return pg_writer_submit(PG(st), many_tx, &a, sizeof(a), 0, NULL, done, arg);
}

int pg_device_set_tags(struct store *st, int64_t provider_id, int64_t device_id, const char *const *tags, int n)
{
	struct tags_arg a = {provider_id, device_id, tags, n};

	if (n < 0 || n > STORE_TAGS_MAX || (n > 0 && tags == NULL))
		return STORE_ERROR;
	for (int i = 0; i < n; i++)
		if (!store_valid_text(tags[i], 1, STORE_TAG_MAX, 1))
			return STORE_ERROR;
	return pg_tx(PG(st), tags_tx, &a);
}

int pg_device_tags(struct store *st, int64_t device_id, char tags[][STORE_TAG_MAX + 1], int *n)
{
	struct pg_params p = {0};
	PGresult *r;
	int rc;

	if (n == NULL)
		return STORE_ERROR;
	*n = 0;
	pgp_i64(&p, device_id);
	rc = pg_read(PG(st), "device tags",
		     "SELECT tag FROM device_tags WHERE device_id = $1 ORDER BY tag COLLATE \"C\"", &p, &r);
	for (int i = 0; rc == STORE_OK && i < PQntuples(r) && *n < STORE_TAGS_MAX; i++)
		pg_text(tags[(*n)++], STORE_TAG_MAX + 1, r, i, 0);
	PQclear(r);
	return rc;
}

/* The ids first, then each device as store_device_get reads it (at most a page of 1000). */
int pg_device_query(struct store *st, const struct store_device_query *q, store_device_cb cb, void *arg)
{
	struct pg_params p = {0};
	int64_t *ids;
	PGresult *r;
	int rc, n = 0;

	if (q == NULL || cb == NULL)
		return STORE_ERROR;
	pgp_i64(&p, q->provider_id);
	pgp_i64(&p, q->after_id);
	pgp_text(&p, q->msisdn);
	pgp_text(&p, q->tag);
	pgp_i64(&p, q->limit > 0 && q->limit <= 1000 ? q->limit : 1000);
	rc = pg_read(PG(st), "device query",
		     "SELECT d.id FROM devices d WHERE d.provider_id = $1 AND d.id > $2 "
		     "AND ($3::text IS NULL OR d.msisdn = $3) AND ($4::text IS NULL OR d.id IN "
		     "(SELECT device_id FROM device_tags WHERE tag = $4)) ORDER BY d.id LIMIT $5",
		     &p, &r);
	if (rc != STORE_OK) {
		PQclear(r);
		return rc;
	}
	ids = malloc(sizeof(*ids) * (size_t)(PQntuples(r) > 0 ? PQntuples(r) : 1));
	if (ids == NULL) {
		PQclear(r);
		return STORE_ERROR;
	}
	for (int i = 0; i < PQntuples(r); i++)
		ids[n++] = pg_i64(r, i, 0);
	PQclear(r);
	for (int i = 0; i < n; i++) {
		struct store_device d;

		rc = pg_device_get(st, q->provider_id, ids[i], &d);
		if (rc == STORE_NOTFOUND) {
			rc = STORE_OK;
			continue; /* deleted meanwhile */
		}
		if (rc != STORE_OK || cb(arg, &d) != 0)
			break;
	}
	free(ids);
	return rc;
}

struct batch_arg {
	int64_t provider_id, now_ms;
	const struct store_batch_in *in;
	const char *list; /* "{1,2,3}" for a listed batch, NULL for a tag */
	int64_t batch_id, count;
};

static int batch_tx(PGconn *c, void *arg)
{
	struct batch_arg *a = arg;
	const struct store_batch_in *in = a->in;
	const char *ctype = in->content_type ? in->content_type : "application/octet-stream";
	int64_t expires = a->now_ms + (in->ttl_s > 0 ? in->ttl_s * 1000 : 1000);
	struct pg_params p = {0};
	PGresult *r;
	int rc;

	if (a->list != NULL) {
		/* Every listed device must be the provider's: none is silently left out. */
		pgp_i64(&p, a->provider_id);
		pgp_text(&p, a->list);
		rc = pg_exec(c, "batch devices",
			     "SELECT (SELECT count(DISTINCT x) FROM unnest($2::bigint[]) x) - (SELECT count(*) FROM "
			     "devices WHERE provider_id = $1 AND id = ANY($2::bigint[]))",
			     &p, &r);
		if (rc == STORE_OK && (PQntuples(r) != 1 || pg_i64(r, 0, 0) != 0))
			rc = PQntuples(r) == 1 ? STORE_NOTFOUND : STORE_ERROR;
		PQclear(r);
		if (rc != STORE_OK)
			return rc;
		memset(&p, 0, sizeof(p));
	}
	pgp_i64(&p, a->provider_id);
	pgp_i64(&p, a->now_ms);
	rc = pg_exec(c, "batch add", "INSERT INTO batches(provider_id, created_ms) VALUES ($1, $2) RETURNING id", &p,
		     &r);
	if (rc == STORE_OK && PQntuples(r) != 1)
		rc = STORE_ERROR;
	a->batch_id = rc == STORE_OK ? pg_i64(r, 0, 0) : 0;
	PQclear(r);
	if (rc != STORE_OK)
		return rc;

	memset(&p, 0, sizeof(p));
	pgp_i64(&p, a->provider_id);
	pgp_text(&p, in->tag);
	pgp_i64(&p, in->urgency);
	pgp_text(&p, in->topic);
	pgp_text(&p, ctype);
	pgp_i64(&p, a->now_ms);
	pgp_i64(&p, expires);
	pgp_bytes(&p, in->body, in->body_len);
	pgp_i64(&p, a->batch_id);
	pgp_text(&p, a->list);
	/* A topic replaces the devices' older pending message of that topic, as a single submit
	 * does; the new messages are not visible to that UPDATE (one statement, one snapshot). */
	rc = pg_exec(c, "batch fan-out",
		     "WITH d AS (SELECT id FROM devices WHERE provider_id = $1 AND CASE WHEN $2::text IS NULL "
		     "THEN id = ANY($10::bigint[]) ELSE id IN (SELECT device_id FROM device_tags WHERE tag = $2) END "
		     "ORDER BY id FOR UPDATE), "
		     "u AS (UPDATE devices x SET last_seq = x.last_seq + 1 FROM d WHERE x.id = d.id "
		     "RETURNING x.id, x.provider_id, x.last_seq), "
		     "m AS (INSERT INTO messages(device_id, provider_id, seq, state, urgency, topic, content_type, "
		     "created_ms, expires_ms, updated_ms, body, batch_id) SELECT u.id, u.provider_id, u.last_seq, 0, "
		     "$3, $4::text, $5, $6, $7, $6, $8, $9 FROM u ORDER BY u.id RETURNING id), "
		     "o AS (UPDATE messages SET state = 6, updated_ms = $6 WHERE $4::text IS NOT NULL AND topic = $4 "
		     "AND state IN (0,1,2) AND device_id IN (SELECT id FROM u) RETURNING id), "
		     "e AS (INSERT INTO message_events(message_id, time_ms, state, what, detail) "
		     "SELECT id, $6, 0, 'queued', 'batch ' || $9 FROM m UNION ALL "
		     "SELECT id, $6, 6, 'replaced', 'by batch ' || $9 FROM o) "
		     "SELECT count(*) FROM m",
		     &p, &r);
	if (rc == STORE_OK && PQntuples(r) != 1)
		rc = STORE_ERROR;
	a->count = rc == STORE_OK ? pg_i64(r, 0, 0) : 0;
	PQclear(r);
	if (rc != STORE_OK)
		return rc;
	memset(&p, 0, sizeof(p));
	pgp_i64(&p, a->batch_id);
	pgp_i64(&p, a->count);
	return pg_cmd(c, "batch count", "UPDATE batches SET count = $2 WHERE id = $1", &p);
}

static int64_t device_at(const void *arr, size_t i)
{
	return ((const int64_t *)arr)[i];
}

int pg_batch_put(struct store *st, int64_t provider_id, const struct store_batch_in *in, int64_t now_ms,
		 int64_t *batch_id, int64_t *count)
{
	struct batch_arg a = {.provider_id = provider_id, .now_ms = now_ms, .in = in};
	char *list = NULL;
	int rc;

	if (in == NULL || provider_id <= 0 || (in->tag == NULL) == (in->devices == NULL) ||
	    in->ndevices > STORE_BATCH_DEVICES_MAX || in->body_len > STORE_BODY_MAX || in->urgency < 0 ||
	    in->urgency >= URG_COUNT || (in->body == NULL && in->body_len > 0) || in->ttl_s < 0 ||
	    in->ttl_s > (INT64_MAX - now_ms) / 1000)
		return STORE_ERROR;
	if (in->devices != NULL) {
		list = pg_array_literal(in->devices, in->ndevices, device_at);
		if (list == NULL)
			return STORE_ERROR;
		a.list = list;
	}
	rc = pg_tx(PG(st), batch_tx, &a);
	free(list);
	if (rc == STORE_OK) {
		if (batch_id != NULL)
			*batch_id = a.batch_id;
		if (count != NULL)
			*count = a.count;
	}
	return rc;
}

int pg_batch_get(struct store *st, int64_t provider_id, int64_t batch_id, int64_t counts[MSG_STATE_COUNT],
		 int64_t *total, int64_t *created_ms)
{
	struct pg_params p = {0};
	PGresult *r;
	int rc;

	if (counts == NULL || total == NULL || created_ms == NULL)
		return STORE_ERROR;
	pgp_i64(&p, batch_id);
	pgp_i64(&p, provider_id);
	rc = pg_read(PG(st), "batch", "SELECT created_ms, count FROM batches WHERE id = $1 AND provider_id = $2", &p,
		     &r);
	if (rc == STORE_OK && PQntuples(r) != 1)
		rc = STORE_NOTFOUND;
	if (rc == STORE_OK) {
		*created_ms = pg_i64(r, 0, 0);
		*total = pg_i64(r, 0, 1);
	}
	PQclear(r);
	if (rc != STORE_OK)
		return rc;
	memset(counts, 0, sizeof(int64_t) * MSG_STATE_COUNT);
	p.n = 1;
	rc = pg_read(PG(st), "batch states", "SELECT state, count(*) FROM messages WHERE batch_id = $1 GROUP BY state",
		     &p, &r);
	for (int i = 0; rc == STORE_OK && i < PQntuples(r); i++) {
		int state = (int)pg_i64(r, i, 0);

		if (state >= 0 && state < MSG_STATE_COUNT)
			counts[state] = pg_i64(r, i, 1);
	}
	PQclear(r);
	return rc;
}
