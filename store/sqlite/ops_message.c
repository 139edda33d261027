/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Writes to messages: put (sequence, topic replacement, idempotency), cancel, device events,
 * fetch, cumulative ack, and the expiry and purge sweeps. Public verbs validate and queue;
 * op_* functions run on the writer inside the group's transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"
#include "util.h"

/* Topics are base64url: letters, digits, "-" and "_". */
static int event_add(struct sq_store *st, int64_t message_id, int64_t now_ms, int state, const char *what,
		     const char *detail)
{
	sqlite3_stmt *s = wstmt(st, WS_EVENT_ADD);

	sqlite3_bind_int64(s, 1, message_id);
	sqlite3_bind_int64(s, 2, now_ms);
	sqlite3_bind_int(s, 3, state);
	sqlite3_bind_text(s, 4, what, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, detail, -1, SQLITE_STATIC);
	return wstep_done(st, s, "event add");
}

/* Steps a bound statement expected to return one row; the caller reads it and resets. */
static int step_row(struct sq_store *st, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		return STORE_OK;
	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return STORE_NOTFOUND;
	store_log_sqlite(st->wdb, what, rc);
	rc = store_rc_sqlite(rc);
	return rc == STORE_CONFLICT ? STORE_ERROR : rc;
}

static int message_load(struct sq_store *st, int64_t id, struct store_message *out)
{
	sqlite3_stmt *s = wstmt(st, WS_MSG_LOAD);
	int rc;

	sqlite3_bind_int64(s, 1, id);
	rc = step_row(st, s, "message load");
	if (rc == STORE_OK) {
		store_message_row(s, out);
		sqlite3_reset(s);
	}
	return rc;
}

/* Checks a submit's input and fills op; STORE_ERROR on bad input. */
static int put_prepare(struct store_op *op, struct sq_store *st, int64_t provider_id, const struct store_message_in *in,
		       int64_t now_ms, struct store_message *out, int *replayed)
{
	if (st == NULL || in == NULL || out == NULL || replayed == NULL || provider_id <= 0 || now_ms < 0 ||
	    in->urgency < 0 || in->urgency >= URG_COUNT || in->ttl_s < 0 || in->ttl_s > (INT64_MAX - now_ms) / 1000 ||
	    in->body_len > STORE_BODY_MAX || (in->body == NULL && in->body_len > 0) ||
	    (in->topic != NULL && !util_is_b64url(in->topic, STORE_TOPIC_MAX)) ||
	    (in->content_type != NULL && !store_valid_text(in->content_type, 1, STORE_CTYPE_MAX, 1)) ||
	    (in->content_encoding != NULL && strcmp(in->content_encoding, "aes128gcm") != 0) ||
	    (in->idempotency_key != NULL && !store_valid_text(in->idempotency_key, 1, STORE_IDEMKEY_MAX, 1)) ||
	    !store_valid_event(in->event_what, in->event_detail))
		return STORE_ERROR;
	*op = (struct store_op){.kind = OP_MESSAGE_PUT, .now_ms = now_ms};
	op->u.put.provider_id = provider_id;
	op->u.put.in = in;
	op->u.put.out = out;
	op->u.put.replayed = replayed;
	*replayed = 0;
	return STORE_OK;
}

int sq_message_put(struct sq_store *st, int64_t provider_id, const struct store_message_in *in, int64_t now_ms,
		   struct store_message *out, int *replayed)
{
	struct store_op op;
	int local_replayed = 0;
	int rc = put_prepare(&op, st, provider_id, in, now_ms, out, replayed ? replayed : &local_replayed);

	return rc == STORE_OK ? writer_submit(st, &op) : rc;
}

int sq_message_put_async(struct sq_store *st, int64_t provider_id, const struct store_message_in *in, int64_t now_ms,
			 struct store_message *out, int *replayed, store_done_cb done, void *arg)
{
	struct store_op op;
	int rc = put_prepare(&op, st, provider_id, in, now_ms, out, replayed);

	return rc == STORE_OK ? writer_submit_async(st, &op, done, arg) : rc;
}

/* With a known key, fills out with the first message. A key whose message is gone (purged or
 * deleted with its device) no longer means anything and is dropped. */
static int idempotency_lookup(struct sq_store *st, struct store_op *op, int *found)
{
	sqlite3_stmt *s = wstmt(st, WS_IDEM_GET);
	int64_t mid;
	int rc;

	*found = 0;
	sqlite3_bind_int64(s, 1, op->u.put.provider_id);
	sqlite3_bind_text(s, 2, op->u.put.in->idempotency_key, -1, SQLITE_STATIC);
	rc = step_row(st, s, "idempotency lookup");
	if (rc == STORE_NOTFOUND)
		return STORE_OK;
	if (rc != STORE_OK)
		return rc;
	mid = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	rc = message_load(st, mid, op->u.put.out);
	if (rc == STORE_OK) {
		*found = 1;
		return STORE_OK;
	}
	if (rc != STORE_NOTFOUND)
		return rc;
	s = wstmt(st, WS_IDEM_DEL);
	sqlite3_bind_int64(s, 1, op->u.put.provider_id);
	sqlite3_bind_text(s, 2, op->u.put.in->idempotency_key, -1, SQLITE_STATIC);
	return wstep_done(st, s, "idempotency drop");
}

int op_message_put(struct sq_store *st, struct store_op *op)
{
	const struct store_message_in *in = op->u.put.in;
	struct store_message *out = op->u.put.out;
	const char *ctype = in->content_type ? in->content_type : "application/octet-stream";
	/* TTL 0 ("now or never", RFC 8030) keeps the message one second, long enough for a device
	 * that is long-polling right now to be woken and fetch it. */
	int64_t seq, id, expires = op->now_ms + (in->ttl_s > 0 ? in->ttl_s * 1000 : 1000);
	sqlite3_stmt *s;
	int rc, found;

	*op->u.put.replayed = 0;
	if (in->idempotency_key != NULL) {
		/* A key is the provider's and names one message to one device: another provider's
		 * device is not found whatever the key, and the key reused for another device of the
		 * provider is a conflict, never a replay of a message to somebody else. */
		rc = store_device_owned(st, op->u.put.provider_id, in->device_id);
		if (rc != STORE_OK)
			return rc;
		rc = idempotency_lookup(st, op, &found);
		if (rc != STORE_OK)
			return rc;
		if (found && out->device_id != in->device_id) {
			memset(out, 0, sizeof(*out));
			return STORE_CONFLICT;
		}
		if (found) {
			*op->u.put.replayed = 1;
			return STORE_OK;
		}
	}

	/* A device that does not fetch must not fill the disk: a cap on what waits for it. Counted
	 * in the writer, so concurrent submits cannot pass it together. */
	if (in->max_pending > 0) {
		s = wstmt(st, WS_DEVICE_PENDING);
		sqlite3_bind_int64(s, 1, in->device_id);
		sqlite3_bind_int(s, 2, in->max_pending);
		sqlite3_bind_int64(s, 3, op->u.put.provider_id);
		rc = step_row(st, s, "pending count");
		if (rc != STORE_OK)
			return rc;
		rc = sqlite3_column_int(s, 0) >= in->max_pending ? STORE_FULL : STORE_OK;
		sqlite3_reset(s);
		if (rc != STORE_OK)
			return rc;
	}

	/* Ownership check and gap-free sequence: no row changed, no such device of the provider. */
	s = wstmt(st, WS_DEVICE_NEXT_SEQ);
	sqlite3_bind_int64(s, 1, in->device_id);
	sqlite3_bind_int64(s, 2, op->u.put.provider_id);
	rc = wstep_done(st, s, "next seq");
	if (rc != STORE_OK)
		return rc == STORE_CONFLICT ? STORE_ERROR : rc;
	if (sqlite3_changes(st->wdb) != 1)
		return STORE_NOTFOUND;
	s = wstmt(st, WS_DEVICE_LAST_SEQ);
	sqlite3_bind_int64(s, 1, in->device_id);
	rc = step_row(st, s, "last seq");
	if (rc != STORE_OK)
		return rc == STORE_NOTFOUND ? STORE_ERROR : rc;
	seq = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);

	s = wstmt(st, WS_MSG_INSERT);
	sqlite3_bind_int64(s, 1, in->device_id);
	sqlite3_bind_int64(s, 2, op->u.put.provider_id);
	sqlite3_bind_int64(s, 3, seq);
	sqlite3_bind_int(s, 4, in->urgency);
	if (in->topic != NULL)
		sqlite3_bind_text(s, 5, in->topic, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 5);
	sqlite3_bind_text(s, 6, ctype, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 7, op->now_ms);
	sqlite3_bind_int64(s, 8, expires);
	sqlite3_bind_blob(s, 9, in->body_len ? (const void *)in->body : "", (int)in->body_len, SQLITE_STATIC);
	if (in->content_encoding != NULL)
		sqlite3_bind_text(s, 10, in->content_encoding, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 10);
	rc = wstep_done(st, s, "message insert");
	if (rc != STORE_OK)
		return rc == STORE_CONFLICT ? STORE_ERROR : rc;
	/* Its "queued" event is the message row itself (RS_MSG_EVENTS, schema v8). */
	id = sqlite3_last_insert_rowid(st->wdb);
	st->op_queued++;

	if (in->topic != NULL) {
		char detail[48];

		snprintf(detail, sizeof(detail), "by message %lld", (long long)id);
		s = wstmt(st, WS_EVENT_REPLACE);
		sqlite3_bind_int64(s, 1, in->device_id);
		sqlite3_bind_text(s, 2, in->topic, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 3, op->now_ms);
		sqlite3_bind_int64(s, 4, id);
		sqlite3_bind_text(s, 5, detail, -1, SQLITE_TRANSIENT);
		rc = wstep_done(st, s, "replace events");
		if (rc != STORE_OK)
			return rc;
		s = wstmt(st, WS_MSG_REPLACE);
		sqlite3_bind_int64(s, 1, in->device_id);
		sqlite3_bind_text(s, 2, in->topic, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 3, op->now_ms);
		sqlite3_bind_int64(s, 4, id);
		rc = wstep_done(st, s, "replace");
		if (rc != STORE_OK)
			return rc;
	}

	if (in->event_what != NULL) {
		s = wstmt(st, WS_EVENT_SEQ);
		sqlite3_bind_int64(s, 1, in->device_id);
		sqlite3_bind_int64(s, 2, seq);
		sqlite3_bind_int64(s, 3, op->now_ms);
		sqlite3_bind_text(s, 4, in->event_what, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 5, in->event_detail ? in->event_detail : "", -1, SQLITE_STATIC);
		rc = wstep_done(st, s, "message event");
		if (rc != STORE_OK)
			return rc;
	}

	if (in->idempotency_key != NULL) {
		s = wstmt(st, WS_IDEM_ADD);
		sqlite3_bind_int64(s, 1, op->u.put.provider_id);
		sqlite3_bind_text(s, 2, in->idempotency_key, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 3, id);
		sqlite3_bind_int64(s, 4, op->now_ms);
		rc = wstep_done(st, s, "idempotency add");
		if (rc != STORE_OK)
			return rc == STORE_CONFLICT ? STORE_ERROR : rc;
	}

	memset(out, 0, sizeof(*out));
	out->id = id;
	out->device_id = in->device_id;
	out->provider_id = op->u.put.provider_id;
	out->seq = (uint64_t)seq;
	out->state = MSG_QUEUED;
	out->urgency = in->urgency;
	if (in->topic != NULL)
		memcpy(out->topic, in->topic, strlen(in->topic) + 1);
	memcpy(out->content_type, ctype, strlen(ctype) + 1);
	if (in->content_encoding != NULL)
		snprintf(out->content_encoding, sizeof(out->content_encoding), "%s", in->content_encoding);
	out->created_ms = op->now_ms;
	out->expires_ms = expires;
	out->updated_ms = op->now_ms;
	out->body_len = in->body_len;
	return STORE_OK;
}

int sq_message_cancel(struct sq_store *st, int64_t provider_id, int64_t id, int64_t now_ms)
{
	struct store_op op = {.kind = OP_MESSAGE_CANCEL, .now_ms = now_ms};

	if (st == NULL)
		return STORE_ERROR;
	op.u.cancel.provider_id = provider_id;
	op.u.cancel.id = id;
	return writer_submit(st, &op);
}

int op_message_cancel(struct sq_store *st, struct store_op *op)
{
	struct store_message m;
	sqlite3_stmt *s;
	int rc = message_load(st, op->u.cancel.id, &m);

	if (rc != STORE_OK)
		return rc;
	if (op->u.cancel.provider_id != 0 && m.provider_id != op->u.cancel.provider_id)
		return STORE_NOTFOUND;
	if (m.state != MSG_QUEUED && m.state != MSG_WAKE_SENT && m.state != MSG_SMS_DELIVERED)
		return STORE_CONFLICT;
	s = wstmt(st, WS_MSG_SET_STATE);
	sqlite3_bind_int64(s, 1, m.id);
	sqlite3_bind_int(s, 2, MSG_CANCELLED);
	sqlite3_bind_int64(s, 3, op->now_ms);
	rc = wstep_done(st, s, "cancel");
	if (rc == STORE_OK)
		rc = event_add(st, m.id, op->now_ms, MSG_CANCELLED, "cancelled", "");
	return rc;
}

int sq_device_event(struct sq_store *st, int64_t device_id, const char *what, const char *detail, int64_t now_ms)
{
	struct store_op op = {.kind = OP_DEVICE_EVENT, .now_ms = now_ms};

	if (st == NULL || !store_valid_text(what, 1, sizeof(((struct store_event *)0)->what) - 1, 1) ||
	    (detail != NULL && !store_valid_text(detail, 0, STORE_ERROR_MAX, 0)))
		return STORE_ERROR;
	op.u.event.device_id = device_id;
	op.u.event.what = what;
	op.u.event.detail = detail ? detail : "";
	return writer_submit(st, &op);
}

int op_device_event(struct sq_store *st, struct store_op *op)
{
	sqlite3_stmt *s;
	int rc = store_device_owned(st, 0, op->u.event.device_id);

	if (rc != STORE_OK)
		return rc;
	s = wstmt(st, WS_EVENT_DEVICE_PENDING);
	sqlite3_bind_int64(s, 1, op->u.event.device_id);
	sqlite3_bind_int64(s, 2, op->now_ms);
	sqlite3_bind_text(s, 3, op->u.event.what, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, op->u.event.detail, -1, SQLITE_STATIC);
	return wstep_done(st, s, "device event");
}

int sq_seq_event(struct sq_store *st, int64_t device_id, const uint64_t *seqs, size_t n, const char *what,
		 const char *detail, int64_t now_ms)
{
	struct store_op op = {.kind = OP_SEQ_EVENT, .now_ms = now_ms};

	if (st == NULL || (n > 0 && seqs == NULL) ||
	    !store_valid_text(what, 1, sizeof(((struct store_event *)0)->what) - 1, 1) ||
	    (detail != NULL && !store_valid_text(detail, 0, STORE_ERROR_MAX, 0)))
		return STORE_ERROR;
	if (n == 0)
		return STORE_OK;
	op.u.seq_event.device_id = device_id;
	op.u.seq_event.seqs = seqs;
	op.u.seq_event.n = n;
	op.u.seq_event.what = what;
	op.u.seq_event.detail = detail ? detail : "";
	return writer_submit(st, &op);
}

int op_seq_event(struct sq_store *st, struct store_op *op)
{
	int rc = STORE_OK;

	for (size_t i = 0; rc == STORE_OK && i < op->u.seq_event.n; i++) {
		sqlite3_stmt *s = wstmt(st, WS_EVENT_SEQ);

		sqlite3_bind_int64(s, 1, op->u.seq_event.device_id);
		sqlite3_bind_int64(s, 2, (int64_t)op->u.seq_event.seqs[i]);
		sqlite3_bind_int64(s, 3, op->now_ms);
		sqlite3_bind_text(s, 4, op->u.seq_event.what, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 5, op->u.seq_event.detail, -1, SQLITE_STATIC);
		rc = wstep_done(st, s, "seq event");
	}
	return rc;
}

/* The fetch's operation, or an error with nothing to queue (*pending 0: nothing to fetch). */
static int fetch_prepare(struct store_op *op, struct sq_store *st, int64_t device_id, uint64_t after, int max,
			 int64_t now_ms, int precheck, int *pending)
{
	int rc;

	*pending = 1;
	*op = (struct store_op){.kind = OP_FETCH, .now_ms = now_ms};
	if (st == NULL || max <= 0)
		return STORE_ERROR;
	if (after > INT64_MAX)
		after = INT64_MAX;
	if (precheck) {
		rc = store_fetch_precheck(st, device_id, (int64_t)after, now_ms, pending);
		if (rc != STORE_OK)
			return rc;
	}
	op->u.fetch.device_id = device_id;
	op->u.fetch.after = (int64_t)after;
	op->u.fetch.max = max < STORE_FETCH_MAX ? max : STORE_FETCH_MAX;
	return STORE_OK;
}

/* Messages are copied out of the transaction and handed to the callback on the caller's thread
 * after the commit: a slow callback never holds up the writer, and a message is handed over
 * only once its "fetched" state is durable. An empty poll never reaches the writer. */
static int device_fetch(struct sq_store *st, int64_t device_id, uint64_t after, int max, int64_t now_ms,
			store_message_cb cb, void *arg, int *count, int *more, int precheck)
{
	struct store_op op;
	int rc, pending, handed = 0;

	if (count != NULL)
		*count = 0;
	if (more != NULL)
		*more = 0;
	if (cb == NULL)
		return STORE_ERROR;
	rc = fetch_prepare(&op, st, device_id, after, max, now_ms, precheck, &pending);
	if (rc != STORE_OK || !pending)
		return rc;
	rc = writer_submit(st, &op);
	if (rc == STORE_OK) {
		for (struct store_fetched *f = op.u.fetch.head; f != NULL; f = f->next) {
			handed++;
			if (cb(arg, &f->m) != 0)
				break;
		}
		if (count != NULL)
			*count = handed;
		if (more != NULL)
			*more = op.u.fetch.more || handed < op.u.fetch.count;
	}
	store_fetched_free(op.u.fetch.head);
	return rc;
}

int sq_device_fetch(struct sq_store *st, int64_t device_id, uint64_t after, int max, int64_t now_ms,
		    store_message_cb cb, void *arg, int *count)
{
	return device_fetch(st, device_id, after, max, now_ms, cb, arg, count, NULL, 1);
}

int sq_device_fetch_more(struct sq_store *st, int64_t device_id, uint64_t after, int max, int64_t now_ms,
			 store_message_cb cb, void *arg, int *count, int *more)
{
	return device_fetch(st, device_id, after, max, now_ms, cb, arg, count, more, 0);
}

int sq_device_fetch_more_async(struct sq_store *st, int64_t device_id, uint64_t after, int max, int64_t now_ms,
			       struct store_fetched **out, int *count, int *more, store_done_cb done, void *arg)
{
	struct store_op op;
	int pending, rc = fetch_prepare(&op, st, device_id, after, max, now_ms, 0, &pending);

	if (rc != STORE_OK)
		return rc;
	op.u.fetch.out = out;
	op.u.fetch.count_out = count;
	op.u.fetch.more_out = more;
	return writer_submit_async(st, &op, done, arg);
}

void fetch_hand_over(struct store_op *op)
{
	if (op->rc != STORE_OK) {
		store_fetched_free(op->u.fetch.head);
		op->u.fetch.head = NULL;
		op->u.fetch.count = 0;
		op->u.fetch.more = 0;
	}
	*op->u.fetch.out = op->u.fetch.head;
	*op->u.fetch.count_out = op->u.fetch.count;
	*op->u.fetch.more_out = op->u.fetch.more;
	op->u.fetch.head = NULL;
}

int op_fetch(struct sq_store *st, struct store_op *op)
{
	struct store_fetched *head = NULL, **tail = &head;
	sqlite3_stmt *s;
	int64_t last = 0;
	int rc = store_device_owned(st, 0, op->u.fetch.device_id);

	op->u.fetch.head = NULL;
	op->u.fetch.count = 0;
	op->u.fetch.more = 0;
	if (rc != STORE_OK)
		return rc;
	s = wstmt(st, WS_FETCH_SELECT);
	sqlite3_bind_int64(s, 1, op->u.fetch.device_id);
	sqlite3_bind_int64(s, 2, op->u.fetch.after);
	sqlite3_bind_int64(s, 3, op->now_ms);
	/* One row past max says whether more remain; it is neither copied nor marked. */
	sqlite3_bind_int(s, 4, op->u.fetch.max + 1);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (op->u.fetch.count == op->u.fetch.max) {
			op->u.fetch.more = 1;
			continue;
		}
		struct store_message m;

		store_message_row(s, &m);
		m.body = sqlite3_column_blob(s, 13);
		m.body_len = (size_t)sqlite3_column_bytes(s, 13);
		if (m.state != MSG_FETCHED) {
			m.state = MSG_FETCHED;
			m.updated_ms = op->now_ms;
		}
		if (store_fetched_append(&tail, &m) != 0) {
			sqlite3_reset(s);
			store_fetched_free(head);
			return STORE_ERROR;
		}
		last = (int64_t)m.seq;
		op->u.fetch.count++;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		store_log_sqlite(st->wdb, "fetch", rc);
		store_fetched_free(head);
		op->u.fetch.count = 0;
		return store_rc_sqlite(rc) == STORE_UNAVAILABLE ? STORE_UNAVAILABLE : STORE_ERROR;
	}
	if (head != NULL) {
		static const enum wsql steps[] = {WS_EVENT_FETCH, WS_MSG_FETCH};
		for (size_t i = 0; rc == SQLITE_DONE && i < 2; i++) {
			s = wstmt(st, steps[i]);
			sqlite3_bind_int64(s, 1, op->u.fetch.device_id);
			sqlite3_bind_int64(s, 2, op->u.fetch.after);
			sqlite3_bind_int64(s, 3, last);
			sqlite3_bind_int64(s, 4, op->now_ms);
			if (wstep_done(st, s, "fetch mark") != STORE_OK)
				rc = SQLITE_ERROR;
		}
		if (rc != SQLITE_DONE) {
			store_fetched_free(head);
			op->u.fetch.count = 0;
			return STORE_UNAVAILABLE;
		}
	}
	op->u.fetch.head = head;
	return STORE_OK;
}

static int ack_prepare(struct store_op *op, struct sq_store *st, int64_t device_id, uint64_t seq, uint64_t wake_ctr,
		       int key_id, int64_t now_ms, int *count)
{
	if (count != NULL)
		*count = 0;
	if (st == NULL || key_id < 0 || key_id > 255)
		return STORE_ERROR;
	*op = (struct store_op){.kind = OP_ACK, .now_ms = now_ms};
	op->u.ack.device_id = device_id;
	op->u.ack.seq = seq > INT64_MAX ? INT64_MAX : (int64_t)seq;
	op->u.ack.wake_ctr = store_u64_bits(wake_ctr);
	op->u.ack.key_id = key_id;
	op->u.ack.count_out = count;
	return STORE_OK;
}

int sq_ack(struct sq_store *st, int64_t device_id, uint64_t seq, uint64_t wake_ctr, int key_id, int64_t now_ms,
	   int *count)
{
	struct store_op op;
	int rc = ack_prepare(&op, st, device_id, seq, wake_ctr, key_id, now_ms, count);

	if (rc == STORE_OK)
		rc = writer_submit(st, &op);
	if (rc == STORE_OK && count != NULL)
		*count = op.u.ack.count;
	return rc;
}

int sq_ack_async(struct sq_store *st, int64_t device_id, uint64_t seq, uint64_t wake_ctr, int key_id, int64_t now_ms,
		 int *count, store_done_cb done, void *arg)
{
	struct store_op op;
	int rc = ack_prepare(&op, st, device_id, seq, wake_ctr, key_id, now_ms, count);

	return rc == STORE_OK ? writer_submit_async(st, &op, done, arg) : rc;
}

int op_ack(struct sq_store *st, struct store_op *op)
{
	sqlite3_stmt *s = wstmt(st, WS_DEVICE_ACK);
	int rc;

	op->u.ack.count = 0;
	sqlite3_bind_int64(s, 1, op->u.ack.device_id);
	sqlite3_bind_int64(s, 2, op->u.ack.seq);
	sqlite3_bind_int64(s, 3, op->u.ack.wake_ctr);
	sqlite3_bind_int(s, 4, op->u.ack.key_id);
	rc = wstep_done(st, s, "ack device");
	if (rc != STORE_OK)
		return rc;
	if (sqlite3_changes(st->wdb) == 0)
		return STORE_NOTFOUND;
	s = wstmt(st, WS_EVENT_ACK);
	sqlite3_bind_int64(s, 1, op->u.ack.device_id);
	sqlite3_bind_int64(s, 2, op->u.ack.seq);
	sqlite3_bind_int64(s, 3, op->now_ms);
	rc = wstep_done(st, s, "ack events");
	if (rc != STORE_OK)
		return rc;
	s = wstmt(st, WS_MSG_ACK);
	sqlite3_bind_int64(s, 1, op->u.ack.device_id);
	sqlite3_bind_int64(s, 2, op->u.ack.seq);
	sqlite3_bind_int64(s, 3, op->now_ms);
	rc = wstep_done(st, s, "ack");
	if (rc == STORE_OK)
		op->u.ack.count = sqlite3_changes(st->wdb);
	return rc;
}

/* Sweeps run in chunks, each its own operation (and so its own group), so a large backlog
 * never holds the writer for long while requests wait behind it. */
static int sweep(struct sq_store *st, enum op_kind kind, int64_t t_ms, int *count)
{
	int64_t total = 0;
	int rc;

	if (count != NULL)
		*count = 0;
	if (st == NULL)
		return STORE_ERROR;
	do {
		struct store_op op = {.kind = kind, .now_ms = t_ms};

		op.u.sweep.before_ms = t_ms;
		rc = writer_submit(st, &op);
		if (rc == STORE_OK)
			total += op.u.sweep.count;
		if (rc != STORE_OK || !op.u.sweep.more)
			break;
	} while (1);
	if (count != NULL)
		*count = total > INT32_MAX ? INT32_MAX : (int)total;
	return rc;
}

int sq_expire(struct sq_store *st, int64_t now_ms, int *count)
{
	return sweep(st, OP_EXPIRE, now_ms, count);
}

int sq_purge(struct sq_store *st, int64_t before_ms, int *count)
{
	return sweep(st, OP_PURGE, before_ms, count);
}

/* Runs the chunk statements in order; each takes (time, limit). *changes gets each one's count. */
static int chunk_run(struct sq_store *st, const enum wsql *steps, size_t n, int64_t t_ms, int *changes)
{
	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *s = wstmt(st, steps[i]);
		int rc;

		sqlite3_bind_int64(s, 1, t_ms);
		sqlite3_bind_int(s, 2, STORE_CHUNK);
		rc = wstep_done(st, s, "sweep");
		if (rc != STORE_OK)
			return rc;
		changes[i] = sqlite3_changes(st->wdb);
	}
	return STORE_OK;
}

int op_expire(struct sq_store *st, struct store_op *op)
{
	static const enum wsql steps[] = {WS_EVENT_EXPIRE, WS_MSG_EXPIRE};
	int changes[2] = {0, 0};
	int rc = chunk_run(st, steps, 2, op->u.sweep.before_ms, changes);

	op->u.sweep.count = changes[1];
	op->u.sweep.more = changes[1] == STORE_CHUNK;
	return rc;
}

int op_purge(struct sq_store *st, struct store_op *op)
{
	static const enum wsql steps[] = {WS_PURGE_EVENTS, WS_PURGE_MSGS, WS_PURGE_IDEM, WS_PURGE_JOBS};
	int changes[4] = {0, 0, 0, 0};
	int rc = chunk_run(st, steps, 4, op->u.sweep.before_ms, changes);

	op->u.sweep.count = changes[1];
	op->u.sweep.more = changes[1] == STORE_CHUNK || changes[2] == STORE_CHUNK || changes[3] == STORE_CHUNK;
	return rc;
}
