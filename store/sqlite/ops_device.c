/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Writes to principals (providers, gateways) and devices: the public verbs check their inputs
 * and queue an operation; the op_* functions run on the writer inside the group's transaction. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "store_int.h"

/* A provider's key or budget changed: back to the caller only once every other process on the
 * file (a running server) has stopped answering from its remembered keys (authcache.c). This
 * process's own table was emptied at the commit. */
static int provider_changed(int rc)
{
	if (rc == STORE_OK) {
		struct timespec ts = {0, (AUTH_FRESH_MS + 50) * 1000000L};
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
	}
	return rc;
}

static int principal_add(struct sq_store *st, int gateway, const char *name, const uint8_t hash[STORE_HASH_LEN],
			 int64_t now_ms, int64_t *id)
{
	struct store_op op = {.kind = OP_PRINCIPAL_ADD, .now_ms = now_ms};
	int64_t local;
	int rc;

	if (st == NULL || !store_valid_text(name, 1, STORE_NAME_MAX, 0) || hash == NULL)
		return STORE_ERROR;
	op.u.principal.gateway = gateway;
	op.u.principal.name = name;
	op.u.principal.hash = hash;
	op.u.principal.id = &local;
	rc = writer_submit(st, &op);
	if (rc == STORE_OK && id != NULL)
		*id = local;
	return rc;
}

int sq_provider_add(struct sq_store *st, const char *name, const uint8_t hash[STORE_HASH_LEN], int64_t now_ms,
		    int64_t *id)
{
	return principal_add(st, 0, name, hash, now_ms, id);
}

int sq_gateway_add(struct sq_store *st, const char *name, const uint8_t hash[STORE_HASH_LEN], int64_t now_ms,
		   int64_t *id)
{
	return principal_add(st, 1, name, hash, now_ms, id);
}

int op_principal_add(struct sq_store *st, struct store_op *op)
{
	sqlite3_stmt *s = wstmt(st, op->u.principal.gateway ? WS_GATEWAY_ADD : WS_PROVIDER_ADD);
	int rc;

	sqlite3_bind_text(s, 1, op->u.principal.name, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 2, op->u.principal.hash, STORE_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, op->now_ms);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc == SQLITE_DONE) {
		*op->u.principal.id = sqlite3_last_insert_rowid(st->wdb);
		return STORE_OK;
	}
	/* An active principal has the name (or, absurdly, the same token). */
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return STORE_CONFLICT;
	store_log_sqlite(st->wdb, "principal add", rc);
	return store_rc_sqlite(rc);
}

static int principal_revoke(struct sq_store *st, int gateway, const char *name)
{
	struct store_op op = {.kind = OP_PRINCIPAL_REVOKE};

	if (st == NULL || !store_valid_text(name, 1, STORE_NAME_MAX, 0))
		return STORE_ERROR;
	op.u.principal.gateway = gateway;
	op.u.principal.name = name;
	return writer_submit(st, &op);
}

int sq_provider_revoke(struct sq_store *st, const char *name)
{
	return provider_changed(principal_revoke(st, 0, name));
}

int sq_gateway_revoke(struct sq_store *st, const char *name)
{
	return principal_revoke(st, 1, name);
}

int op_principal_revoke(struct sq_store *st, struct store_op *op)
{
	sqlite3_stmt *s = wstmt(st, op->u.principal.gateway ? WS_GATEWAY_REVOKE : WS_PROVIDER_REVOKE);
	int rc;

	sqlite3_bind_text(s, 1, op->u.principal.name, -1, SQLITE_STATIC);
	rc = wstep_done(st, s, "revoke");
	if (rc == STORE_OK && sqlite3_changes(st->wdb) == 0)
		rc = STORE_NOTFOUND;
	return rc;
}

int sq_provider_set_budget(struct sq_store *st, const char *name, int64_t sms_per_day)
{
	struct store_op op = {.kind = OP_PROVIDER_BUDGET};

	if (st == NULL || !store_valid_text(name, 1, STORE_NAME_MAX, 0) || sms_per_day < 0)
		return STORE_ERROR;
	op.u.budget.name = name;
	op.u.budget.budget = sms_per_day;
	return provider_changed(writer_submit(st, &op));
}

int op_provider_budget(struct sq_store *st, struct store_op *op)
{
	sqlite3_stmt *s = wstmt(st, WS_PROVIDER_BUDGET);
	int rc;

	sqlite3_bind_text(s, 1, op->u.budget.name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, op->u.budget.budget);
	rc = wstep_done(st, s, "provider budget");
	if (rc == STORE_OK && sqlite3_changes(st->wdb) == 0)
		rc = STORE_NOTFOUND;
	return rc;
}

int sq_key_roll(struct sq_store *st, int key_id, int *count)
{
	struct store_op op = {.kind = OP_KEY_ROLL};
	int rc;

	if (count != NULL)
		*count = 0;
	if (st == NULL || key_id < 1 || key_id > 255)
		return STORE_ERROR;
	op.u.key_roll.key_id = key_id;
	rc = writer_submit(st, &op);
	if (rc == STORE_OK && count != NULL)
		*count = op.u.key_roll.count;
	return rc;
}

int op_key_roll(struct sq_store *st, struct store_op *op)
{
	sqlite3_stmt *s = wstmt(st, WS_KEY_ROLL);
	int rc;

	sqlite3_bind_int(s, 1, op->u.key_roll.key_id);
	rc = wstep_done(st, s, "key roll");
	if (rc == STORE_OK)
		op->u.key_roll.count = sqlite3_changes(st->wdb);
	return rc;
}

/* Quiet hours are both unset (-1) or both minutes of a day. */
static int valid_quiet(int64_t start, int64_t end)
{
	if (start == -1 && end == -1)
		return 1;
	return start >= 0 && start < 1440 && end >= 0 && end < 1440;
}

static int valid_format(int f)
{
	return f == SMS_FORMAT_BINARY || f == SMS_FORMAT_TEXT;
}

/* What store_device_add checks of a new device before queuing it. */
static int valid_new_device(const struct store_device *d)
{
	return d->provider_id > 0 && store_valid_msisdn(d->msisdn) && store_valid_text(d->name, 0, STORE_NAME_MAX, 0) &&
	       valid_format(d->sms_format) && d->poll_interval_s >= 0 &&
	       valid_quiet(d->quiet_start_min, d->quiet_end_min) && d->key_id >= 0 && d->key_id <= 255;
}

static int device_add_prepare(struct store_op *op, struct sq_store *st, struct store_device *d,
			      const uint8_t token_hash[STORE_HASH_LEN], int64_t now_ms)
{
	if (st == NULL || d == NULL || token_hash == NULL || !valid_new_device(d))
		return STORE_ERROR;
	*op = (struct store_op){.kind = OP_DEVICE_ADD, .now_ms = now_ms};
	op->u.device_add.d = d;
	op->u.device_add.hash = token_hash;
	return STORE_OK;
}

int sq_device_add(struct sq_store *st, struct store_device *d, const uint8_t token_hash[STORE_HASH_LEN], int64_t now_ms)
{
	struct store_op op;
	int rc = device_add_prepare(&op, st, d, token_hash, now_ms);

	return rc == STORE_OK ? writer_submit(st, &op) : rc;
}

int sq_device_add_async(struct sq_store *st, struct store_device *d, const uint8_t token_hash[STORE_HASH_LEN],
			int64_t now_ms, store_done_cb done, void *arg)
{
	struct store_op op;
	int rc = device_add_prepare(&op, st, d, token_hash, now_ms);

	return rc == STORE_OK ? writer_submit_async(st, &op, done, arg) : rc;
}

/* STORE_OK when the provider exists and is not revoked, else STORE_NOTFOUND or an error. */
static int provider_active(struct sq_store *st, int64_t provider_id)
{
	sqlite3_stmt *s = wstmt(st, WS_PROVIDER_ACTIVE);
	int rc;

	sqlite3_bind_int64(s, 1, provider_id);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return STORE_NOTFOUND;
	if (rc != SQLITE_ROW) {
		store_log_sqlite(st->wdb, "device add", rc);
		return store_rc_sqlite(rc);
	}
	return STORE_OK;
}

/* Inserts one device row; STORE_CONFLICT when the provider already has its msisdn. Fills in
 * d->id and d->created_ms. */
static int device_insert(struct sq_store *st, struct store_device *d, const uint8_t *hash, int64_t now_ms)
{
	sqlite3_stmt *s = wstmt(st, WS_DEVICE_ADD);
	int rc;

	sqlite3_bind_int64(s, 1, d->provider_id);
	sqlite3_bind_text(s, 2, d->msisdn, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, d->name, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 4, hash, STORE_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int(s, 5, d->sms_format);
	sqlite3_bind_int64(s, 6, d->poll_interval_s);
	sqlite3_bind_int64(s, 7, now_ms);
	sqlite3_bind_int64(s, 8, d->quiet_start_min);
	sqlite3_bind_int64(s, 9, d->quiet_end_min);
	sqlite3_bind_int(s, 10, d->key_id > 0 ? d->key_id : 1);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return STORE_CONFLICT;
	if (rc != SQLITE_DONE) {
		store_log_sqlite(st->wdb, "device add", rc);
		return store_rc_sqlite(rc);
	}
	d->id = sqlite3_last_insert_rowid(st->wdb);
	d->created_ms = now_ms;
	return STORE_OK;
}

int op_device_add(struct sq_store *st, struct store_op *op)
{
	int rc = provider_active(st, op->u.device_add.d->provider_id);

	if (rc != STORE_OK)
		return rc;
	return device_insert(st, op->u.device_add.d, op->u.device_add.hash, op->now_ms);
}

static int device_many_prepare(struct store_op *op, struct sq_store *st, struct store_device_new *devs, size_t n,
			       int64_t now_ms)
{
	if (st == NULL || devs == NULL || n == 0 || n > STORE_DEVICE_ADD_MANY_MAX)
		return STORE_ERROR;
	for (size_t i = 0; i < n; i++) {
		if (!valid_new_device(&devs[i].d) || devs[i].d.provider_id != devs[0].d.provider_id ||
		    devs[i].ntags < 0 || devs[i].ntags > STORE_TAGS_MAX)
			return STORE_ERROR;
		for (int t = 0; t < devs[i].ntags; t++)
			if (!store_valid_text(devs[i].tags[t], 1, STORE_TAG_MAX, 1))
				return STORE_ERROR;
		devs[i].conflict = 0;
	}
	*op = (struct store_op){.kind = OP_DEVICE_ADD_MANY, .now_ms = now_ms};
	op->u.device_many.devs = devs;
	op->u.device_many.n = n;
	return STORE_OK;
}

int sq_device_add_many(struct sq_store *st, struct store_device_new *devs, size_t n, int64_t now_ms)
{
	struct store_op op;
	int rc = device_many_prepare(&op, st, devs, n, now_ms);

	return rc == STORE_OK ? writer_submit(st, &op) : rc;
}

int sq_device_add_many_async(struct sq_store *st, struct store_device_new *devs, size_t n, int64_t now_ms,
			     store_done_cb done, void *arg)
{
	struct store_op op;
	int rc = device_many_prepare(&op, st, devs, n, now_ms);

	return rc == STORE_OK ? writer_submit_async(st, &op, done, arg) : rc;
}

/* Every device is tried even after a conflict, so the answer names all the taken msisdns at
 * once; any conflict then fails the op and its savepoint takes back the rows already added. */
int op_device_add_many(struct sq_store *st, struct store_op *op)
{
	struct store_device_new *devs = op->u.device_many.devs;
	sqlite3_stmt *tag;
	int rc = provider_active(st, devs[0].d.provider_id), conflicts = 0;

	if (rc != STORE_OK)
		return rc;
	tag = store_prep(st->wdb, "INSERT OR IGNORE INTO device_tags(tag, device_id) VALUES (?1, ?2)");
	if (tag == NULL)
		return STORE_ERROR;
	for (size_t i = 0; i < op->u.device_many.n && rc == STORE_OK; i++) {
		rc = device_insert(st, &devs[i].d, devs[i].token_hash, op->now_ms);
		if (rc == STORE_CONFLICT) {
			devs[i].conflict = 1;
			conflicts++;
			rc = STORE_OK;
			continue;
		}
		for (int t = 0; rc == STORE_OK && t < devs[i].ntags; t++) {
			sqlite3_reset(tag);
			sqlite3_bind_text(tag, 1, devs[i].tags[t], -1, SQLITE_STATIC);
			sqlite3_bind_int64(tag, 2, devs[i].d.id);
			if ((rc = sqlite3_step(tag)) == SQLITE_DONE) {
				rc = STORE_OK;
			} else {
				store_log_sqlite(st->wdb, "device tags", rc);
				rc = store_rc_sqlite(rc) == STORE_UNAVAILABLE ? STORE_UNAVAILABLE : STORE_ERROR;
			}
		}
	}
	sqlite3_finalize(tag);
	return rc == STORE_OK && conflicts > 0 ? STORE_CONFLICT : rc;
}

int store_device_owned(struct sq_store *st, int64_t provider_id, int64_t id)
{
	sqlite3_stmt *s = wstmt(st, WS_DEVICE_OWNER);
	int rc;
	int64_t owner;

	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	owner = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return STORE_NOTFOUND;
	if (rc != SQLITE_ROW) {
		store_log_sqlite(st->wdb, "device owner", rc);
		return store_rc_sqlite(rc);
	}
	return provider_id == 0 || owner == provider_id ? STORE_OK : STORE_NOTFOUND;
}

int sq_device_update(struct sq_store *st, int64_t provider_id, int64_t id, const struct store_device_patch *p)
{
	struct store_op op = {.kind = OP_DEVICE_UPDATE};

	if (st == NULL || p == NULL)
		return STORE_ERROR;
	if (((p->set & STORE_PATCH_NAME) && !store_valid_text(p->name, 0, STORE_NAME_MAX, 0)) ||
	    ((p->set & STORE_PATCH_MSISDN) && !store_valid_msisdn(p->msisdn)) ||
	    ((p->set & STORE_PATCH_FORMAT) && !valid_format(p->sms_format)) ||
	    ((p->set & STORE_PATCH_POLL) && p->poll_interval_s < 0) ||
	    ((p->set & STORE_PATCH_QUIET) && !valid_quiet(p->quiet_start_min, p->quiet_end_min)))
		return STORE_ERROR;
	op.u.device.provider_id = provider_id;
	op.u.device.id = id;
	op.u.device.p = p;
	return writer_submit(st, &op);
}

int op_device_update(struct sq_store *st, struct store_op *op)
{
	const struct store_device_patch *p = op->u.device.p;
	sqlite3_stmt *s;
	int rc = store_device_owned(st, op->u.device.provider_id, op->u.device.id);

	if (rc != STORE_OK)
		return rc;
	s = wstmt(st, WS_DEVICE_UPDATE);
	sqlite3_bind_int64(s, 1, op->u.device.id);
	sqlite3_bind_int(s, 2, (int)(p->set & 31u));
	sqlite3_bind_text(s, 3, p->name, (int)strnlen(p->name, STORE_NAME_MAX), SQLITE_STATIC);
	sqlite3_bind_text(s, 4, p->msisdn, (int)strnlen(p->msisdn, STORE_MSISDN_MAX), SQLITE_STATIC);
	sqlite3_bind_int(s, 5, p->sms_format);
	sqlite3_bind_int64(s, 6, p->poll_interval_s);
	sqlite3_bind_int64(s, 7, p->quiet_start_min);
	sqlite3_bind_int64(s, 8, p->quiet_end_min);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return STORE_OK;
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return STORE_CONFLICT;
	store_log_sqlite(st->wdb, "device update", rc);
	return store_rc_sqlite(rc);
}

int sq_device_delete(struct sq_store *st, int64_t provider_id, int64_t id)
{
	struct store_op op = {.kind = OP_DEVICE_DELETE};

	if (st == NULL)
		return STORE_ERROR;
	op.u.device.provider_id = provider_id;
	op.u.device.id = id;
	return writer_submit(st, &op);
}

int op_device_delete(struct sq_store *st, struct store_op *op)
{
	static const enum wsql steps[] = {
		WS_DEVICE_DEL_EVENTS, WS_DEVICE_DEL_IDEM, WS_DEVICE_DEL_MSGS, WS_DEVICE_DEL_JOBS, WS_DEVICE_DEL,
	};
	int rc = store_device_owned(st, op->u.device.provider_id, op->u.device.id);

	for (size_t i = 0; rc == STORE_OK && i < sizeof(steps) / sizeof(steps[0]); i++) {
		sqlite3_stmt *s = wstmt(st, steps[i]);
		sqlite3_bind_int64(s, 1, op->u.device.id);
		rc = wstep_done(st, s, "device delete");
	}
	return rc;
}

void sq_device_touch(struct sq_store *st, int64_t device_id, int64_t now_ms)
{
	if (st != NULL && !store_forked(st))
		touch_set(&st->touch, device_id, now_ms);
}

int op_device_touch(struct sq_store *st, const struct touch_item *t)
{
	sqlite3_stmt *s = wstmt(st, WS_DEVICE_TOUCH);

	sqlite3_bind_int64(s, 1, t->id);
	sqlite3_bind_int64(s, 2, t->seen_ms);
	return wstep_done(st, s, "device touch");
}

int sq_device_set_push_keys(struct sq_store *st, int64_t device_id, const char *p256dh, const char *auth,
			    const char *server_key, const char *token, uint64_t *last_seq)
{
	struct store_op op = {.kind = OP_PUSH_KEYS};

	if (st == NULL || p256dh == NULL || auth == NULL || token == NULL || last_seq == NULL ||
	    strlen(p256dh) > STORE_P256DH_MAX || strlen(auth) > STORE_PUSH_AUTH_MAX ||
	    strlen(token) > STORE_PUSH_TOKEN_MAX || (server_key != NULL && strlen(server_key) > STORE_P256DH_MAX))
		return STORE_ERROR;
	op.u.push.device_id = device_id;
	op.u.push.p256dh = p256dh;
	op.u.push.auth = auth;
	op.u.push.token = token;
	op.u.push.server_key = server_key;
	op.u.push.last_seq = last_seq;
	return writer_submit(st, &op);
}

int op_push_keys(struct sq_store *st, struct store_op *op)
{
	sqlite3_stmt *s = wstmt(st, WS_DEVICE_SET_PUSH);
	int rc;

	sqlite3_bind_int64(s, 1, op->u.push.device_id);
	sqlite3_bind_text(s, 2, op->u.push.p256dh, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, op->u.push.auth, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, op->u.push.token, -1, SQLITE_STATIC);
	if (op->u.push.server_key != NULL)
		sqlite3_bind_text(s, 5, op->u.push.server_key, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 5);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*op->u.push.last_seq = (uint64_t)sqlite3_column_int64(s, 0);
		rc = sqlite3_step(s);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		store_log_sqlite(st->wdb, "push keys", rc);
		return store_rc_sqlite(rc);
	}
	return sqlite3_changes(st->wdb) == 0 ? STORE_NOTFOUND : STORE_OK;
}
