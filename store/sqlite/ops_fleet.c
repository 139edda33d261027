/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Fleets: device tags, filtered and paged device lists, and batches (one message to many
 * devices). A batch's fan-out is a few INSERT ... SELECT statements in the writer's transaction:
 * SQLite walks the devices, so a million of them cost no memory here, and each device gets its
 * own message and the next number of its own sequence in the same commit. */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

enum { FL_TAGS, FL_BATCH };

static int fl_tags(struct sq_store *st, struct store_op *op)
{
	sqlite3_stmt *s;
	int rc = store_device_owned(st, op->u.fleet.provider_id, op->u.fleet.device_id);

	if (rc != STORE_OK)
		return rc;
	s = store_prep(st->wdb, "DELETE FROM device_tags WHERE device_id = ?1");
	if (s == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, op->u.fleet.device_id);
	if ((rc = store_wrun(st, s, "tags clear", NULL)) != STORE_OK)
		return rc;
	for (int i = 0; i < op->u.fleet.ntags; i++) {
		s = store_prep(st->wdb, "INSERT OR IGNORE INTO device_tags(tag, device_id) VALUES (?1, ?2)");
		if (s == NULL)
			return STORE_ERROR;
		sqlite3_bind_text(s, 1, op->u.fleet.tags[i], -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, op->u.fleet.device_id);
		if ((rc = store_wrun(st, s, "tag add", NULL)) != STORE_OK)
			return rc;
	}
	return STORE_OK;
}

/* The devices of a batch: "d" rows of the provider, by tag or from temp.batch_devices. */
#define BATCH_DEVICES                                                                                                  \
	"FROM devices d WHERE d.provider_id = ?1 AND (CASE WHEN ?2 IS NULL THEN d.id IN "                              \
	"(SELECT id FROM temp.batch_devices) ELSE d.id IN (SELECT device_id FROM device_tags WHERE tag = ?2) END)"

static int fl_batch(struct sq_store *st, struct store_op *op)
{
	const struct store_batch_in *in = op->u.fleet.batch;
	const char *ctype = in->content_type ? in->content_type : "application/octet-stream";
	int64_t now = op->now_ms, expires = now + (in->ttl_s > 0 ? in->ttl_s * 1000 : 1000), batch;
	sqlite3_stmt *s;
	int rc, n = 0;

	/* The statements below name the list's table whichever form the batch has. */
	if (sqlite3_exec(st->wdb,
			 "CREATE TEMP TABLE IF NOT EXISTS batch_devices(id INTEGER PRIMARY KEY);"
			 "DELETE FROM temp.batch_devices;",
			 NULL, NULL, NULL) != SQLITE_OK)
		return STORE_ERROR;
	if (in->tag == NULL) {
		s = store_prep(st->wdb, "INSERT OR IGNORE INTO temp.batch_devices(id) VALUES (?1)");
		if (s == NULL)
			return STORE_ERROR;
		for (size_t i = 0; i < in->ndevices; i++) {
			sqlite3_reset(s);
			sqlite3_bind_int64(s, 1, in->devices[i]);
			if (sqlite3_step(s) != SQLITE_DONE) {
				sqlite3_finalize(s);
				return STORE_ERROR;
			}
		}
		sqlite3_finalize(s);
		/* Every listed device must be the provider's: none is silently left out. */
		s = store_prep(st->wdb,
			       "SELECT (SELECT count(*) FROM temp.batch_devices) - (SELECT count(*) FROM "
			       "devices WHERE provider_id = ?1 AND id IN (SELECT id FROM temp.batch_devices))");
		if (s == NULL)
			return STORE_ERROR;
		sqlite3_bind_int64(s, 1, op->u.fleet.provider_id);
		rc = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : -1;
		sqlite3_finalize(s);
		if (rc != 0)
			return rc < 0 ? STORE_ERROR : STORE_NOTFOUND;
	}
	s = store_prep(st->wdb, "INSERT INTO batches(provider_id, created_ms) VALUES (?1, ?2)");
	if (s == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, op->u.fleet.provider_id);
	sqlite3_bind_int64(s, 2, now);
	if ((rc = store_wrun(st, s, "batch add", NULL)) != STORE_OK)
		return rc;
	batch = sqlite3_last_insert_rowid(st->wdb);

	static const char *const steps[] = {
		"UPDATE devices SET last_seq = last_seq + 1 WHERE id IN (SELECT d.id " BATCH_DEVICES ")",
		"INSERT INTO messages(device_id, provider_id, seq, state, urgency, topic, content_type, created_ms, "
		"expires_ms, updated_ms, body, batch_id) SELECT d.id, d.provider_id, d.last_seq, 0, ?3, ?4, ?5, ?6, "
		"?7, ?6, "
		"?8, ?9 " BATCH_DEVICES,
		/* A topic replaces the devices' older pending message of that topic, as a single submit does. */
		"INSERT INTO message_events(message_id, time_ms, state, what, detail) SELECT m.id, ?6, 6, 'replaced', "
		"'by batch ' || ?9 FROM messages m WHERE ?4 IS NOT NULL AND m.topic = ?4 AND m.batch_id <> ?9 "
		"AND m.state IN (0,1,2) AND m.device_id IN (SELECT device_id FROM messages WHERE batch_id = ?9)",
		"UPDATE messages SET state = 6, updated_ms = ?6 WHERE ?4 IS NOT NULL AND topic = ?4 AND batch_id <> ?9 "
		"AND state IN (0,1,2) AND device_id IN (SELECT device_id FROM messages WHERE batch_id = ?9)",
	};
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		int changed = 0;
		s = store_prep(st->wdb, steps[i]);
		if (s == NULL)
			return STORE_ERROR;
		for (int p = 1; p <= sqlite3_bind_parameter_count(s); p++) {
			const char *name = sqlite3_bind_parameter_name(s, p);
			int k = name ? (int)strtol(name + 1, NULL, 10) : 0;
			switch (k) {
			case 1: sqlite3_bind_int64(s, p, op->u.fleet.provider_id); break;
			case 2:
				if (in->tag)
					sqlite3_bind_text(s, p, in->tag, -1, SQLITE_STATIC);
				else
					sqlite3_bind_null(s, p);
				break;
			case 3: sqlite3_bind_int(s, p, in->urgency); break;
			case 4:
				if (in->topic)
					sqlite3_bind_text(s, p, in->topic, -1, SQLITE_STATIC);
				else
					sqlite3_bind_null(s, p);
				break;
			case 5: sqlite3_bind_text(s, p, ctype, -1, SQLITE_STATIC); break;
			case 6: sqlite3_bind_int64(s, p, now); break;
			case 7: sqlite3_bind_int64(s, p, expires); break;
			case 8:
				sqlite3_bind_blob(s, p, in->body_len ? (const void *)in->body : "", (int)in->body_len,
						  SQLITE_STATIC);
				break;
			case 9: sqlite3_bind_int64(s, p, batch); break;
			default: break;
			}
		}
		if ((rc = store_wrun(st, s, "batch fan-out", &changed)) != STORE_OK)
			return rc;
		if (i == 1) {
			n = changed;
			st->op_queued += changed;
		}
	}
	s = store_prep(st->wdb, "UPDATE batches SET count = ?2 WHERE id = ?1");
	if (s == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, batch);
	sqlite3_bind_int64(s, 2, n);
	if ((rc = store_wrun(st, s, "batch count", NULL)) != STORE_OK)
		return rc;
	*op->u.fleet.batch_id = batch;
	*op->u.fleet.count = n;
	return STORE_OK;
}

int op_fleet(struct sq_store *st, struct store_op *op)
{
	switch (op->u.fleet.what) {
	case FL_TAGS: return fl_tags(st, op);
	case FL_BATCH: return fl_batch(st, op);
	}
	return STORE_ERROR;
}

int sq_device_set_tags(struct sq_store *st, int64_t provider_id, int64_t device_id, const char *const *tags, int n)
{
	struct store_op op = {.kind = OP_FLEET};

	if (st == NULL || n < 0 || n > STORE_TAGS_MAX)
		return STORE_ERROR;
	for (int i = 0; i < n; i++)
		if (!store_valid_text(tags[i], 1, STORE_TAG_MAX, 1))
			return STORE_ERROR;
	op.u.fleet.what = FL_TAGS;
	op.u.fleet.provider_id = provider_id;
	op.u.fleet.device_id = device_id;
	op.u.fleet.tags = tags;
	op.u.fleet.ntags = n;
	return writer_submit(st, &op);
}

int sq_batch_put(struct sq_store *st, int64_t provider_id, const struct store_batch_in *in, int64_t now_ms,
		 int64_t *batch_id, int64_t *count)
{
	struct store_op op = {.kind = OP_FLEET, .now_ms = now_ms};

	if (st == NULL || in == NULL || provider_id <= 0 || (in->tag == NULL) == (in->devices == NULL) ||
	    in->ndevices > STORE_BATCH_DEVICES_MAX || in->body_len > STORE_BODY_MAX || in->urgency < 0 ||
	    in->urgency >= URG_COUNT)
		return STORE_ERROR;
	op.u.fleet.what = FL_BATCH;
	op.u.fleet.provider_id = provider_id;
	op.u.fleet.batch = in;
	op.u.fleet.batch_id = batch_id;
	op.u.fleet.count = count;
	return writer_submit(st, &op);
}

int sq_device_query(struct sq_store *st, const struct store_device_query *q, store_device_cb cb, void *arg)
{
	sqlite3_stmt *s = store_rprep(st, "SELECT d.id FROM devices d WHERE d.provider_id = ?1 AND d.id > ?2 "
					  "AND (?3 IS NULL OR d.msisdn = ?3) AND (?4 IS NULL OR d.id IN "
					  "(SELECT device_id FROM device_tags WHERE tag = ?4)) ORDER BY d.id LIMIT ?5");
	int64_t ids[1000];
	int n = 0, rc;

	if (s == NULL)
		return STORE_UNAVAILABLE;
	sqlite3_bind_int64(s, 1, q->provider_id);
	sqlite3_bind_int64(s, 2, q->after_id);
	if (q->msisdn)
		sqlite3_bind_text(s, 3, q->msisdn, -1, SQLITE_STATIC);
	if (q->tag)
		sqlite3_bind_text(s, 4, q->tag, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 5, q->limit > 0 && q->limit <= 1000 ? q->limit : 1000);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && n < 1000)
		ids[n++] = sqlite3_column_int64(s, 0);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return store_rfail(s, rc, "device query");
	sqlite3_finalize(s);
	for (int i = 0; i < n; i++) {
		struct store_device d;
		rc = sq_device_get(st, q->provider_id, ids[i], &d);
		if (rc == STORE_NOTFOUND)
			continue; /* deleted meanwhile */
		if (rc != STORE_OK)
			return rc;
		if (cb(arg, &d) != 0)
			break;
	}
	return STORE_OK;
}

int sq_device_tags(struct sq_store *st, int64_t device_id, char tags[][STORE_TAG_MAX + 1], int *n)
{
	sqlite3_stmt *s = store_rprep(st, "SELECT tag FROM device_tags WHERE device_id = ?1 ORDER BY tag");
	int rc;

	*n = 0;
	if (s == NULL)
		return STORE_UNAVAILABLE;
	sqlite3_bind_int64(s, 1, device_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && *n < STORE_TAGS_MAX)
		store_copy_text(tags[(*n)++], STORE_TAG_MAX + 1, s, 0);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return store_rfail(s, rc, "device tags");
	sqlite3_finalize(s);
	return STORE_OK;
}

int sq_batch_get(struct sq_store *st, int64_t provider_id, int64_t batch_id, int64_t counts[MSG_STATE_COUNT],
		 int64_t *total, int64_t *created_ms)
{
	sqlite3_stmt *s = store_rprep(st, "SELECT created_ms, count FROM batches WHERE id = ?1 AND provider_id = ?2");
	int rc;

	if (s == NULL)
		return STORE_UNAVAILABLE;
	sqlite3_bind_int64(s, 1, batch_id);
	sqlite3_bind_int64(s, 2, provider_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		sqlite3_finalize(s);
		return STORE_NOTFOUND;
	}
	if (rc != SQLITE_ROW)
		return store_rfail(s, rc, "batch");
	*created_ms = sqlite3_column_int64(s, 0);
	*total = sqlite3_column_int64(s, 1);
	sqlite3_finalize(s);
	memset(counts, 0, sizeof(int64_t) * MSG_STATE_COUNT);
	s = store_rprep(st, "SELECT state, count(*) FROM messages WHERE batch_id = ?1 GROUP BY state");
	if (s == NULL)
		return STORE_UNAVAILABLE;
	sqlite3_bind_int64(s, 1, batch_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int state = sqlite3_column_int(s, 0);
		if (state >= 0 && state < MSG_STATE_COUNT)
			counts[state] = sqlite3_column_int64(s, 1);
	}
	if (rc != SQLITE_DONE)
		return store_rfail(s, rc, "batch states");
	sqlite3_finalize(s);
	return STORE_OK;
}
