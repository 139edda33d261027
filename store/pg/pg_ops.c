/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The store.h verbs on PostgreSQL: principals, devices, messages, the device API and
 * maintenance. Each write is one transaction, answered only after its COMMIT; row locks
 * (UPDATE ... RETURNING on the device row) serialise what must be serial per device across any
 * number of servers. Contracts: store.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pg_int.h"
#include "pg_ops.h"

int pg_tx(struct pg_store *st, pg_body_fn fn, void *arg)
{
	int rc;

	for (int run = 0;; run++) {
		PGconn *c = pg_conn(st);

		if (c == NULL)
			return STORE_UNAVAILABLE;
		rc = pg_begin(c);
		if (rc == STORE_OK)
			rc = fn(c, arg);
		if (rc == PG_UNDO || rc == PG_AGAIN) {
			(void)pg_cmd(c, "rollback", "ROLLBACK", NULL);
			pg_release(st, c);
			if (rc == PG_UNDO)
				return STORE_OK;
			if (run < 2)
				continue;
			return STORE_UNAVAILABLE; /* still racing another server: the client retries */
		}
		rc = pg_end(st, c, rc);
		pg_release(st, c);
		return rc;
	}
}

/* One statement on a pooled connection, committed on its own: a SELECT counts as a read (the
 * figure SQLite gives for its read connections); an INSERT, UPDATE or DELETE (... RETURNING), or
 * anything when write is set, as a commit of one operation if it changed a row (a claim that
 * found nothing to claim, every 250 ms, is no commit). */
static int run1(struct pg_store *st, int write, const char *what, const char *sql, const struct pg_params *p,
		PGresult **res)
{
	PGconn *c = pg_conn(st);
	int rc;

	*res = NULL;
	if (c == NULL)
		return STORE_UNAVAILABLE;
	rc = pg_exec(c, what, sql, p, res);
	pg_release(st, c);
	if (rc == STORE_OK) {
		write = write || strncmp(PQcmdStatus(*res), "SELECT", 6) != 0;
		pthread_mutex_lock(&st->lock);
		if (!write) {
			st->reads++;
		} else if (atoi_safe(PQcmdTuples(*res)) > 0) {
			st->commits++;
			st->committed_ops++;
			if (st->largest_group < 1)
				st->largest_group = 1;
		}
		pthread_mutex_unlock(&st->lock);
	}
	return rc;
}

int pg_read(struct pg_store *st, const char *what, const char *sql, const struct pg_params *p, PGresult **res)
{
	return run1(st, 0, what, sql, p, res);
}

int pg_write_rows(struct pg_store *st, const char *what, const char *sql, const struct pg_params *p, PGresult **res)
{
	return run1(st, 1, what, sql, p, res);
}

int pg_write1(struct pg_store *st, const char *what, const char *sql, const struct pg_params *p, int *changed)
{
	PGconn *c = pg_conn(st);
	PGresult *r;
	int rc;

	if (c == NULL)
		return STORE_UNAVAILABLE;
	rc = pg_exec(c, what, sql, p, &r);
	if (rc == STORE_OK && changed != NULL)
		*changed = atoi_safe(PQcmdTuples(r));
	PQclear(r);
	pthread_mutex_lock(&st->lock);
	if (rc == STORE_OK) {
		st->commits++;
		st->committed_ops++;
		if (st->largest_group < 1)
			st->largest_group = 1;
	}
	pthread_mutex_unlock(&st->lock);
	pg_release(st, c);
	return rc;
}

int atoi_safe(const char *s)
{
	long v = s ? strtol(s, NULL, 10) : 0;

	return v < 0 ? 0 : v > INT32_MAX ? INT32_MAX : (int)v;
}

/* ---- Principals ---- */

static int principal_add(struct pg_store *st, int gateway, const char *name, const uint8_t hash[STORE_HASH_LEN],
			 int64_t now_ms, int64_t *id)
{
	struct pg_params p = {0};
	PGresult *r;
	int rc;

	if (!store_valid_text(name, 1, STORE_NAME_MAX, 0) || hash == NULL)
		return STORE_ERROR;
	pgp_text(&p, name);
	pgp_bytes(&p, hash, STORE_HASH_LEN);
	pgp_i64(&p, now_ms);
	rc = pg_read(st, "principal add",
		     gateway ? "INSERT INTO gateways(name, token_hash, created_ms) VALUES ($1, $2, $3) RETURNING id"
			     : "INSERT INTO providers(name, token_hash, created_ms) VALUES ($1, $2, $3) RETURNING id",
		     &p, &r);
	if (rc == STORE_OK && id != NULL)
		*id = PQntuples(r) == 1 ? pg_i64(r, 0, 0) : 0;
	PQclear(r);
	return rc;
}

int pg_provider_add(struct store *st, const char *name, const uint8_t hash[STORE_HASH_LEN], int64_t now_ms, int64_t *id)
{
	return principal_add(PG(st), 0, name, hash, now_ms, id);
}

int pg_gateway_add(struct store *st, const char *name, const uint8_t hash[STORE_HASH_LEN], int64_t now_ms, int64_t *id)
{
	return principal_add(PG(st), 1, name, hash, now_ms, id);
}

static int principal_rows(PGresult *r, int gateway, store_principal_cb cb, void *arg)
{
	for (int i = 0; i < PQntuples(r); i++) {
		struct store_principal p;

		memset(&p, 0, sizeof(p));
		p.id = pg_i64(r, i, 0);
		pg_text(p.name, sizeof(p.name), r, i, 1);
		p.created_ms = pg_i64(r, i, 2);
		p.last_seen_ms = gateway ? pg_i64(r, i, 3) : 0;
		p.revoked = (int)pg_i64(r, i, 4);
		p.sms_budget_day = gateway ? 0 : pg_i64(r, i, 5);
		if (cb(arg, &p) != 0)
			break;
	}
	return STORE_OK;
}

static int principal_list(struct pg_store *st, int gateway, store_principal_cb cb, void *arg)
{
	PGresult *r;
	int rc;

	if (cb == NULL)
		return STORE_ERROR;
	rc = pg_read(st, "principal list",
		     gateway ? "SELECT id, name, created_ms, last_seen_ms, revoked, 0 FROM gateways ORDER BY id"
			     : "SELECT id, name, created_ms, 0, revoked, sms_budget_day FROM providers ORDER BY id",
		     NULL, &r);
	if (rc == STORE_OK)
		rc = principal_rows(r, gateway, cb, arg);
	PQclear(r);
	return rc;
}

int pg_provider_list(struct store *st, store_principal_cb cb, void *arg)
{
	return principal_list(PG(st), 0, cb, arg);
}

int pg_gateway_list(struct store *st, store_principal_cb cb, void *arg)
{
	return principal_list(PG(st), 1, cb, arg);
}

static int principal_revoke(struct pg_store *st, int gateway, const char *name)
{
	struct pg_params p = {0};
	int n = 0, rc;

	if (!store_valid_text(name, 1, STORE_NAME_MAX, 0))
		return STORE_ERROR;
	pgp_text(&p, name);
	rc = pg_write1(st, "revoke",
		       gateway ? "UPDATE gateways SET revoked = 1 WHERE name = $1 AND revoked = 0"
			       : "UPDATE providers SET revoked = 1 WHERE name = $1 AND revoked = 0",
		       &p, &n);
	return rc == STORE_OK && n == 0 ? STORE_NOTFOUND : rc;
}

int pg_provider_revoke(struct store *st, const char *name)
{
	return principal_revoke(PG(st), 0, name);
}

int pg_gateway_revoke(struct store *st, const char *name)
{
	return principal_revoke(PG(st), 1, name);
}

int pg_provider_set_budget(struct store *st, const char *name, int64_t sms_per_day)
{
	struct pg_params p = {0};
	int n = 0, rc;

	if (!store_valid_text(name, 1, STORE_NAME_MAX, 0) || sms_per_day < 0)
		return STORE_ERROR;
	pgp_text(&p, name);
	pgp_i64(&p, sms_per_day);
	rc = pg_write1(PG(st), "budget", "UPDATE providers SET sms_budget_day = $2 WHERE name = $1 AND revoked = 0", &p,
		       &n);
	return rc == STORE_OK && n == 0 ? STORE_NOTFOUND : rc;
}

static int principal_auth(struct pg_store *st, int gateway, const uint8_t hash[STORE_HASH_LEN],
			  struct store_principal *out)
{
	struct pg_params p = {0};
	PGresult *r;
	int rc;

	if (hash == NULL || out == NULL)
		return STORE_ERROR;
	pgp_bytes(&p, hash, STORE_HASH_LEN);
	rc = pg_read(st, "auth",
		     gateway ? "SELECT id, name, created_ms, last_seen_ms, revoked, 0 FROM gateways "
			       "WHERE token_hash = $1 AND revoked = 0"
			     : "SELECT id, name, created_ms, 0, revoked, sms_budget_day FROM providers "
			       "WHERE token_hash = $1 AND revoked = 0",
		     &p, &r);
	if (rc == STORE_OK && PQntuples(r) != 1)
		rc = STORE_NOTFOUND;
	if (rc == STORE_OK) {
		memset(out, 0, sizeof(*out));
		out->id = pg_i64(r, 0, 0);
		pg_text(out->name, sizeof(out->name), r, 0, 1);
		out->created_ms = pg_i64(r, 0, 2);
		out->last_seen_ms = pg_i64(r, 0, 3);
		out->revoked = (int)pg_i64(r, 0, 4);
		out->sms_budget_day = pg_i64(r, 0, 5);
	}
	PQclear(r);
	return rc;
}

int pg_provider_auth(struct store *st, const uint8_t hash[STORE_HASH_LEN], struct store_principal *out)
{
	return principal_auth(PG(st), 0, hash, out);
}

int pg_gateway_auth(struct store *st, const uint8_t hash[STORE_HASH_LEN], struct store_principal *out)
{
	return principal_auth(PG(st), 1, hash, out);
}

/* ---- Devices ---- */

#define DEVICE_COLS                                                                                                    \
	"d.id, d.provider_id, d.msisdn, d.name, d.sms_format, d.poll_interval_s, "                                     \
	"d.created_ms, d.last_seen_ms, d.last_seq, d.acked_seq, d.wake_ctr, d.wake_state, "                            \
	"d.wake_sent_ms, d.wake_attempts, "                                                                            \
	"(SELECT count(*) FROM messages m WHERE m.device_id = d.id AND m.state IN (0,1,2,3)), "                        \
	"d.quiet_start_min, d.quiet_end_min, d.key_id, d.key_next, d.push_p256dh, d.push_auth, d.push_token"
/* DEVICE_COLS for a poll: "pending" is 1 if the device has a deliverable message with seq > $2
 * unexpired at $3 (the empty-poll query's index alone), else 0. */
#define DEVICE_POLL_COLS                                                                                               \
	"d.id, d.provider_id, d.msisdn, d.name, d.sms_format, d.poll_interval_s, "                                     \
	"d.created_ms, d.last_seen_ms, d.last_seq, d.acked_seq, d.wake_ctr, d.wake_state, "                            \
	"d.wake_sent_ms, d.wake_attempts, "                                                                            \
	"EXISTS (SELECT 1 FROM messages m WHERE m.device_id = d.id AND m.state IN (0,1,2,3) "                          \
	"AND m.seq > $2 AND m.expires_ms >= $3)::integer, "                                                            \
	"d.quiet_start_min, d.quiet_end_min, d.key_id, d.key_next, d.push_p256dh, d.push_auth, d.push_token"

static int64_t touch_get(struct pg_store *st, int64_t id)
{
	int64_t seen = 0;

	pthread_mutex_lock(&st->lock);
	for (size_t i = 0; i < st->ntouch; i++)
		if (st->touch[i].id == id && st->touch[i].seen_ms > seen)
			seen = st->touch[i].seen_ms;
	pthread_mutex_unlock(&st->lock);
	return seen;
}

static void device_row(struct pg_store *st, const PGresult *r, int i, struct store_device *d)
{
	memset(d, 0, sizeof(*d));
	d->id = pg_i64(r, i, 0);
	d->provider_id = pg_i64(r, i, 1);
	pg_text(d->msisdn, sizeof(d->msisdn), r, i, 2);
	pg_text(d->name, sizeof(d->name), r, i, 3);
	d->sms_format = (int)pg_i64(r, i, 4);
	d->poll_interval_s = pg_i64(r, i, 5);
	d->created_ms = pg_i64(r, i, 6);
	d->last_seen_ms = pg_i64(r, i, 7);
	d->last_seq = (uint64_t)pg_i64(r, i, 8);
	d->acked_seq = (uint64_t)pg_i64(r, i, 9);
	d->wake_ctr = (uint64_t)pg_i64(r, i, 10);
	d->wake_state = (int)pg_i64(r, i, 11);
	d->wake_sent_ms = pg_i64(r, i, 12);
	d->wake_attempts = (int)pg_i64(r, i, 13);
	d->pending = pg_i64(r, i, 14);
	d->quiet_start_min = pg_i64(r, i, 15);
	d->quiet_end_min = pg_i64(r, i, 16);
	d->key_id = (int)pg_i64(r, i, 17);
	d->key_next = (int)pg_i64(r, i, 18);
	pg_text(d->push_p256dh, sizeof(d->push_p256dh), r, i, 19);
	pg_text(d->push_auth, sizeof(d->push_auth), r, i, 20);
	pg_text(d->push_token, sizeof(d->push_token), r, i, 21);
	store_device_seen(d, touch_get(st, d->id));
}

static int valid_format(int f)
{
	return f == SMS_FORMAT_BINARY || f == SMS_FORMAT_TEXT;
}

static int valid_quiet(int64_t a, int64_t b)
{
	return (a == -1 && b == -1) || (a >= 0 && a < 1440 && b >= 0 && b < 1440);
}

int pg_valid_new_device(const struct store_device *d)
{
	return d->provider_id > 0 && store_valid_msisdn(d->msisdn) && store_valid_text(d->name, 0, STORE_NAME_MAX, 0) &&
	       valid_format(d->sms_format) && d->poll_interval_s >= 0 &&
	       valid_quiet(d->quiet_start_min, d->quiet_end_min) && d->key_id >= 0 && d->key_id <= 255;
}

struct add_arg {
	struct store_device *d;
	uint8_t token_hash[STORE_HASH_LEN];
	int64_t now_ms;
};

static int device_add_tx(PGconn *c, void *arg)
{
	struct add_arg *a = arg;
	struct store_device *d = a->d;
	struct pg_params p = {0};
	PGresult *r;
	int rc;

	pgp_i64(&p, d->provider_id);
	pgp_text(&p, d->msisdn);
	pgp_text(&p, d->name);
	pgp_bytes(&p, a->token_hash, STORE_HASH_LEN);
	pgp_i64(&p, d->sms_format);
	pgp_i64(&p, d->poll_interval_s);
	pgp_i64(&p, a->now_ms);
	pgp_i64(&p, d->quiet_start_min);
	pgp_i64(&p, d->quiet_end_min);
	pgp_i64(&p, d->key_id ? d->key_id : 1);
	rc = pg_exec(c, "device add",
		     "INSERT INTO devices(provider_id, msisdn, name, token_hash, sms_format, poll_interval_s, "
		     "created_ms, quiet_start_min, quiet_end_min, key_id) "
		     "SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 "
		     "WHERE EXISTS (SELECT 1 FROM providers WHERE id = $1 AND revoked = 0) RETURNING id",
		     &p, &r);
	if (rc == STORE_OK && PQntuples(r) != 1)
		rc = STORE_NOTFOUND;
	if (rc == STORE_OK) {
		d->id = pg_i64(r, 0, 0);
		d->created_ms = a->now_ms;
		if (d->key_id == 0)
			d->key_id = 1;
	}
	PQclear(r);
	return rc;
}

static int device_add_arg(struct add_arg *a, struct store_device *d, const uint8_t token_hash[STORE_HASH_LEN],
			  int64_t now_ms)
{
	if (d == NULL || token_hash == NULL || !pg_valid_new_device(d))
		return STORE_ERROR;
	a->d = d;
	memcpy(a->token_hash, token_hash, STORE_HASH_LEN);
	a->now_ms = now_ms;
	return STORE_OK;
}

int pg_device_add(struct store *st, struct store_device *d, const uint8_t token_hash[STORE_HASH_LEN], int64_t now_ms)
{
	struct add_arg a;
	int rc = device_add_arg(&a, d, token_hash, now_ms);

	return rc == STORE_OK ? pg_tx(PG(st), device_add_tx, &a) : rc;
}

int pg_device_add_async(struct store *st, struct store_device *d, const uint8_t token_hash[STORE_HASH_LEN],
			int64_t now_ms, store_done_cb done, void *arg)
{
	struct add_arg a;
	int rc = device_add_arg(&a, d, token_hash, now_ms);

	if (rc != STORE_OK || done == NULL)
		return rc != STORE_OK ? rc : STORE_ERROR;
	return pg_writer_submit(PG(st), device_add_tx, &a, sizeof(a), 0, NULL, done, arg);
}

int pg_device_get(struct store *st, int64_t provider_id, int64_t id, struct store_device *out)
{
	struct pg_params p = {0};
	PGresult *r;
	int rc;

	if (out == NULL)
		return STORE_ERROR;
	pgp_i64(&p, id);
	rc = pg_read(PG(st), "device get", "SELECT " DEVICE_COLS " FROM devices d WHERE d.id = $1", &p, &r);
	if (rc == STORE_OK && (PQntuples(r) != 1 || (provider_id != 0 && pg_i64(r, 0, 1) != provider_id)))
		rc = STORE_NOTFOUND;
	if (rc == STORE_OK)
		device_row(PG(st), r, 0, out);
	PQclear(r);
	return rc;
}

int pg_device_poll(struct store *st, int64_t device_id, uint64_t after, int64_t now_ms, struct store_device *out,
		   int *pending)
{
	struct pg_params p = {0};
	PGresult *r;
	int rc;

	if (out == NULL || pending == NULL)
		return STORE_ERROR;
	pgp_i64(&p, device_id);
	pgp_i64(&p, after > INT64_MAX ? INT64_MAX : (int64_t)after);
	pgp_i64(&p, now_ms);
	rc = pg_read(PG(st), "device poll", "SELECT " DEVICE_POLL_COLS " FROM devices d WHERE d.id = $1", &p, &r);
	if (rc == STORE_OK && PQntuples(r) != 1)
		rc = STORE_NOTFOUND;
	if (rc == STORE_OK) {
		device_row(PG(st), r, 0, out);
		*pending = out->pending != 0;
	}
	PQclear(r);
	return rc;
}

/* The token's device and whether it has something deliverable, in one statement: a poll is one
 * round trip (and one read). */
int pg_device_poll_token(struct store *st, const uint8_t hash[STORE_HASH_LEN], uint64_t after, int64_t now_ms,
			 struct store_device *out, int *pending)
{
	struct pg_params p = {0};
	PGresult *r;
	int rc;

	if (hash == NULL || out == NULL || pending == NULL)
		return STORE_ERROR;
	pgp_bytes(&p, hash, STORE_HASH_LEN);
	pgp_i64(&p, after > INT64_MAX ? INT64_MAX : (int64_t)after);
	pgp_i64(&p, now_ms);
	rc = pg_read(PG(st), "device poll", "SELECT " DEVICE_POLL_COLS " FROM devices d WHERE d.token_hash = $1", &p,
		     &r);
	if (rc == STORE_OK && PQntuples(r) != 1)
		rc = STORE_NOTFOUND;
	if (rc == STORE_OK) {
		device_row(PG(st), r, 0, out);
		*pending = out->pending != 0;
	}
	PQclear(r);
	return rc;
}

int pg_device_list(struct store *st, int64_t provider_id, store_device_cb cb, void *arg)
{
	struct pg_params p = {0};
	PGresult *r;
	int rc;

	if (cb == NULL)
		return STORE_ERROR;
	pgp_i64(&p, provider_id);
	rc = pg_read(PG(st), "device list",
		     "SELECT " DEVICE_COLS " FROM devices d WHERE $1 = 0 OR d.provider_id = $1 ORDER BY d.id", &p, &r);
	for (int i = 0; rc == STORE_OK && i < PQntuples(r); i++) {
		struct store_device d;

		device_row(PG(st), r, i, &d);
		if (cb(arg, &d) != 0)
			break;
	}
	PQclear(r);
	return rc;
}

int pg_key_roll(struct store *st, int key_id, int *count)
{
	struct pg_params p = {0};
	int n = 0, rc;

	if (count != NULL)
		*count = 0;
	if (key_id < 1 || key_id > 255)
		return STORE_ERROR;
	pgp_i64(&p, key_id);
	rc = pg_write1(PG(st), "key roll",
		       "UPDATE devices SET key_next = CASE WHEN key_id = $1::integer THEN 0 ELSE $1::integer END "
		       "WHERE key_next <> CASE WHEN key_id = $1::integer THEN 0 ELSE $1::integer END",
		       &p, &n);
	if (rc == STORE_OK && count != NULL)
		*count = n;
	return rc;
}

int pg_device_update(struct store *st, int64_t provider_id, int64_t id, const struct store_device_patch *pa)
{
	struct pg_params p = {0};
	int n = 0, rc;

	if (pa == NULL || ((pa->set & STORE_PATCH_NAME) && !store_valid_text(pa->name, 0, STORE_NAME_MAX, 0)) ||
	    ((pa->set & STORE_PATCH_MSISDN) && !store_valid_msisdn(pa->msisdn)) ||
	    ((pa->set & STORE_PATCH_FORMAT) && !valid_format(pa->sms_format)) ||
	    ((pa->set & STORE_PATCH_POLL) && pa->poll_interval_s < 0) ||
	    ((pa->set & STORE_PATCH_QUIET) && !valid_quiet(pa->quiet_start_min, pa->quiet_end_min)))
		return STORE_ERROR;
	pgp_i64(&p, id);
	pgp_i64(&p, (int64_t)pa->set);
	pgp_text(&p, pa->name);
	pgp_text(&p, pa->msisdn);
	pgp_i64(&p, pa->sms_format);
	pgp_i64(&p, pa->poll_interval_s);
	pgp_i64(&p, pa->quiet_start_min);
	pgp_i64(&p, pa->quiet_end_min);
	pgp_i64(&p, provider_id);
	rc = pg_write1(PG(st), "device update",
		       "UPDATE devices SET "
		       "name = CASE WHEN $2::integer & 1 <> 0 THEN $3 ELSE name END, "
		       "msisdn = CASE WHEN $2::integer & 2 <> 0 THEN $4 ELSE msisdn END, "
		       "sms_format = CASE WHEN $2::integer & 4 <> 0 THEN $5::integer ELSE sms_format END, "
		       "poll_interval_s = CASE WHEN $2::integer & 8 <> 0 THEN $6::bigint ELSE poll_interval_s END, "
		       "quiet_start_min = CASE WHEN $2::integer & 16 <> 0 THEN $7::bigint ELSE quiet_start_min END, "
		       "quiet_end_min = CASE WHEN $2::integer & 16 <> 0 THEN $8::bigint ELSE quiet_end_min END "
		       "WHERE id = $1 AND ($9 = 0 OR provider_id = $9)",
		       &p, &n);
	return rc == STORE_OK && n == 0 ? STORE_NOTFOUND : rc;
}

struct del_arg {
	int64_t provider_id, id;
};

static int device_delete_tx(PGconn *c, void *arg)
{
	const struct del_arg *a = arg;
	static const char *const steps[] = {
		"DELETE FROM message_events WHERE message_id IN (SELECT id FROM messages WHERE device_id = $1)",
		"DELETE FROM idempotency_keys WHERE message_id IN (SELECT id FROM messages WHERE device_id = $1)",
		"DELETE FROM messages WHERE device_id = $1",
		"DELETE FROM wake_jobs WHERE device_id = $1",
	};
	struct pg_params p = {0};
	PGresult *r;
	int rc;

	pgp_i64(&p, a->id);
	pgp_i64(&p, a->provider_id);
	rc = pg_exec(c, "device delete", "DELETE FROM devices WHERE id = $1 AND ($2 = 0 OR provider_id = $2)", &p, &r);
	if (rc == STORE_OK && atoi_safe(PQcmdTuples(r)) == 0)
		rc = STORE_NOTFOUND;
	PQclear(r);
	p.n = 1;
	for (size_t i = 0; rc == STORE_OK && i < sizeof(steps) / sizeof(steps[0]); i++)
		rc = pg_cmd(c, "device delete", steps[i], &p);
	return rc;
}

int pg_device_delete(struct store *st, int64_t provider_id, int64_t id)
{
	struct del_arg a = {provider_id, id};

	return pg_tx(PG(st), device_delete_tx, &a);
}

int pg_device_auth(struct store *st, const uint8_t hash[STORE_HASH_LEN], int64_t *device_id)
{
	struct pg_params p = {0};
	PGresult *r;
	int rc;

	if (hash == NULL || device_id == NULL)
		return STORE_ERROR;
	pgp_bytes(&p, hash, STORE_HASH_LEN);
	rc = pg_read(PG(st), "device auth", "SELECT id FROM devices WHERE token_hash = $1", &p, &r);
	if (rc == STORE_OK && PQntuples(r) != 1)
		rc = STORE_NOTFOUND;
	if (rc == STORE_OK)
		*device_id = pg_i64(r, 0, 0);
	PQclear(r);
	return rc;
}

/* The endpoint token is made once and kept across key rotations (the subscription stays). */
int pg_device_set_push_keys(struct store *st, int64_t device_id, const char *p256dh, const char *auth,
			    const char *server_key, const char *token, uint64_t *last_seq)
{
	struct pg_params p = {0};
	PGresult *r;
	int rc;

	if (p256dh == NULL || auth == NULL || token == NULL || last_seq == NULL || strlen(p256dh) > STORE_P256DH_MAX ||
	    strlen(auth) > STORE_PUSH_AUTH_MAX || strlen(token) > STORE_PUSH_TOKEN_MAX ||
	    (server_key != NULL && strlen(server_key) > STORE_P256DH_MAX))
		return STORE_ERROR;
	pgp_i64(&p, device_id);
	pgp_text(&p, p256dh);
	pgp_text(&p, auth);
	pgp_text(&p, token);
	pgp_text(&p, server_key);
	/* One statement, so it commits on its own; the row lock orders it after any submit. */
	rc = pg_read(PG(st), "push keys",
		     "UPDATE devices SET push_p256dh = $2, push_auth = $3, push_token = coalesce(push_token, $4), "
		     "push_server_key = $5 WHERE id = $1 RETURNING last_seq",
		     &p, &r);
	if (rc == STORE_OK && PQntuples(r) != 1)
		rc = STORE_NOTFOUND;
	if (rc == STORE_OK)
		*last_seq = (uint64_t)pg_i64(r, 0, 0);
	PQclear(r);
	return rc;
}

int pg_device_by_push_token(struct store *st, const char *token, int64_t *device_id, int64_t *provider_id,
			    char server_key[STORE_P256DH_MAX + 1])
{
	struct pg_params p = {0};
	PGresult *r;
	int rc;

	if (token == NULL || device_id == NULL || provider_id == NULL)
		return STORE_ERROR;
	pgp_text(&p, token);
	/* The device, or (last column 1) a deleted device's endpoint. */
	rc = pg_read(PG(st), "device by push token",
		     "SELECT id, provider_id, push_server_key, 0 FROM devices WHERE push_token = $1 "
		     "UNION ALL SELECT 0, 0, NULL, 1 FROM push_tokens_gone WHERE token = $1 LIMIT 1",
		     &p, &r);
	if (rc == STORE_OK && PQntuples(r) != 1)
		rc = STORE_NOTFOUND;
	else if (rc == STORE_OK && pg_i64(r, 0, 3) == 1)
		rc = STORE_GONE;
	if (rc == STORE_OK) {
		*device_id = pg_i64(r, 0, 0);
		*provider_id = pg_i64(r, 0, 1);
		if (server_key != NULL)
			pg_text(server_key, STORE_P256DH_MAX + 1, r, 0, 2);
	}
	PQclear(r);
	return rc;
}

void pg_device_touch(struct store *sto, int64_t device_id, int64_t now_ms)
{
	struct pg_store *st = PG(sto);
	int full = 0;

	pthread_mutex_lock(&st->lock);
	for (size_t i = 0; i < st->ntouch; i++) {
		if (st->touch[i].id == device_id) {
			if (now_ms > st->touch[i].seen_ms)
				st->touch[i].seen_ms = now_ms;
			pthread_mutex_unlock(&st->lock);
			return;
		}
	}
	if (st->touch == NULL)
		st->touch = calloc(PG_TOUCH_MAX, sizeof(*st->touch));
	if (st->touch != NULL && st->ntouch < PG_TOUCH_MAX) {
		st->touch[st->ntouch].id = device_id;
		st->touch[st->ntouch].seen_ms = now_ms;
		st->ntouch++;
	}
	full = st->ntouch >= PG_TOUCH_MAX;
	pthread_mutex_unlock(&st->lock);
	if (full)
		(void)pg_touch_flush(st);
}
