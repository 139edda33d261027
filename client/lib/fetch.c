/* SPDX-License-Identifier: MIT */
/* Fetch and acknowledge: pages through GET /v1/device/messages, hands new messages to the
 * application in seq order, and acknowledges cumulatively with POST /v1/device/ack.
 *
 * Order of effects per message, which is what makes a crash safe (docs/client.md):
 *   1. store {cursor = previous, inflight = seq}   (durable)
 *   2. callback                                    (the application's side effect)
 *   3. store {cursor = seq, inflight = 0}          (durable; merged with step 1 of the next
 *                                                   message or done at the end of the page)
 *   4. POST ack {seq: cursor}                      (only after the cursor is durable)
 * A crash before 3 makes the next run hand the message over again with redelivered = 1; a crash
 * after 3 never hands it over again (seq <= cursor is dropped); a crash before 4 only delays the
 * ack, which the next exchange sends. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "encode.h"
#include "internal.h"

#define FETCH_MAX_PAGES 1000
/* The server's poll advice: 0 means "no timed polls" (the device registered with
 * poll_interval 0), anything else is kept within the range the server itself accepts. */
#define NEXT_POLL_MIN 1
#define NEXT_POLL_MAX (30 * 86400)

static const char *opt_string(json_t *obj, const char *key, int *bad)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL || json_is_null(v))
		return NULL;
	if (!json_is_string(v)) {
		*bad = 1;
		return NULL;
	}
	return json_string_value(v);
}

smswake_err sw_parse_page(const char *json, size_t len, size_t max_body,
			  smswake_err (*each)(const struct smswake_message *msg, void *ctx), void *ctx,
			  struct sw_page *page, char *why, size_t whymax)
{
	json_error_t jerr;
	json_t *root, *msgs, *v;
	smswake_err err = SMSWAKE_OK;
	uint8_t *body = NULL;
	size_t i;

	memset(page, 0, sizeof(*page));
	page->next_poll = -1;
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		snprintf(why, whymax, "JSON: %s", jerr.text);
		return SMSWAKE_EPROTO;
	}
	msgs = json_object_get(root, "messages");
	if (!json_is_object(root) || !json_is_array(msgs)) {
		snprintf(why, whymax, "no \"messages\" array");
		err = SMSWAKE_EPROTO;
		goto done;
	}
	v = json_object_get(root, "more");
	if (v != NULL && !json_is_boolean(v)) {
		snprintf(why, whymax, "\"more\" is not a boolean");
		err = SMSWAKE_EPROTO;
		goto done;
	}
	page->more = json_is_true(v);
	v = json_object_get(root, "wake_key");
	if (v != NULL && !json_is_null(v)) {
		/* The device's wake key under the master key it is being moved to (protocol.md 7). */
		json_t *kid = json_object_get(v, "key_id"), *key = json_object_get(v, "key");

		if (!json_is_object(v) || !json_is_integer(kid) || json_integer_value(kid) < 1 ||
		    json_integer_value(kid) > 255 || !json_is_string(key) ||
		    enc_unb64(json_string_value(key), json_string_length(key), page->key, sizeof(page->key), 0) !=
			    WAKE_KEY_LEN) {
			snprintf(why, whymax, "\"wake_key\" is not a key id and a base64 key of %d octets",
				 WAKE_KEY_LEN);
			err = SMSWAKE_EPROTO;
			goto done;
		}
		page->key_id = (int)json_integer_value(kid);
	}
	v = json_object_get(root, "next_poll");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 0) {
			snprintf(why, whymax, "\"next_poll\" is not a non-negative integer");
			err = SMSWAKE_EPROTO;
			goto done;
		}
		page->next_poll = json_integer_value(v) > NEXT_POLL_MAX ? NEXT_POLL_MAX : (long)json_integer_value(v);
	}

	json_array_foreach (msgs, i, v) {
		json_t *id = json_object_get(v, "id"), *seq = json_object_get(v, "seq");
		const char *b64;
		struct smswake_message m;
		size_t blen;
		long n;
		int bad = 0;

		memset(&m, 0, sizeof(m));
		if (!json_is_object(v) || !json_is_integer(id) || json_integer_value(id) < 0 || !json_is_integer(seq) ||
		    json_integer_value(seq) < 1) {
			snprintf(why, whymax, "message %zu: bad id or seq", i);
			err = SMSWAKE_EPROTO;
			goto done;
		}
		m.id = (uint64_t)json_integer_value(id);
		m.seq = (uint64_t)json_integer_value(seq);
		m.urgency = opt_string(v, "urgency", &bad);
		m.topic = opt_string(v, "topic", &bad);
		m.content_type = opt_string(v, "content_type", &bad);
		m.content_encoding = opt_string(v, "content_encoding", &bad);
		b64 = opt_string(v, "body", &bad);
		if (bad) {
			snprintf(why, whymax, "message %zu: a field has the wrong type", i);
			err = SMSWAKE_EPROTO;
			goto done;
		}
		if (m.urgency == NULL)
			m.urgency = "normal";
		if (m.content_type == NULL)
			m.content_type = "application/octet-stream";
		blen = b64 != NULL ? json_string_length(json_object_get(v, "body")) : 0;
		if (blen / 4 * 3 > max_body + 2) {
			snprintf(why, whymax, "message %zu: body larger than max_body", i);
			err = SMSWAKE_EPROTO;
			goto done;
		}
		free(body);
		body = malloc(blen / 4 * 3 + 4);
		if (body == NULL) {
			snprintf(why, whymax, "out of memory");
			err = SMSWAKE_ENOMEM;
			goto done;
		}
		n = blen > 0 ? enc_unb64(b64, blen, body, blen / 4 * 3 + 3, 0) : 0;
		if (n < 0 || (size_t)n > max_body) {
			snprintf(why, whymax, "message %zu: body is not base64 or too large", i);
			err = SMSWAKE_EPROTO;
			goto done;
		}
		body[n] = '\0';
		m.body = body;
		m.body_len = (size_t)n;
		page->count++;
		err = each(&m, ctx);
		if (err != SMSWAKE_OK)
			goto done;
	}
done:
	free(body);
	json_decref(root);
	return err;
}

/* Undecryptable messages reported in one ack; more in one exchange stop it (the rest next time). */
#define UNDECRYPTABLE_MAX 64

struct fetch {
	smswake_t *h;
	uint64_t undecryptable[UNDECRYPTABLE_MAX]; /* seqs acked with that outcome */
	size_t nundecryptable;
	struct sw_state *st;
	smswake_message_cb cb;
	void *ctx;
	struct smswake_fetch_result *res;
	uint64_t page_last; /* last seq seen in this page, for the order check */
	int dirty;          /* st->cursor moved since the last store */
	int progress;       /* the page had a message above the cursor */
};

static smswake_err deliver(struct fetch *f, struct smswake_message *mp);

static smswake_err on_message(const struct smswake_message *msg, void *arg)
{
	struct fetch *f = arg;
	struct smswake_message m = *msg;
	smswake_err err;

	if (m.seq <= f->page_last)
		return sw_fail(f->h, SMSWAKE_EPROTO, "messages not in increasing seq order");
	f->page_last = m.seq;
	if (m.seq <= f->st->cursor) {
		/* At-least-once delivery: the server may send again what we already handled. */
		f->res->duplicates++;
		return SMSWAKE_OK;
	}
	if (m.content_encoding != NULL) {
		uint8_t *plain = NULL;
		int rc = ECE_ERR_HEADER;
		size_t n = 0;

		if (f->nundecryptable == UNDECRYPTABLE_MAX)
			return sw_fail(f->h, SMSWAKE_EPROTO, "more than %d undecryptable messages in one exchange",
				       UNDECRYPTABLE_MAX);
		if (strcmp(m.content_encoding, "aes128gcm") == 0) {
			plain = malloc(m.body_len + 1);
			if (plain == NULL)
				return sw_fail(f->h, SMSWAKE_ENOMEM, "out of memory");
			rc = sw_push_decrypt(f->st, m.body, m.body_len, plain, m.body_len, &n);
		}
		if (rc != ECE_OK) {
			/* Never handed over as if it were plain: acknowledged with its outcome. */
			if (plain != NULL)
				OPENSSL_cleanse(plain, m.body_len + 1);
			free(plain);
			f->undecryptable[f->nundecryptable++] = m.seq;
			f->progress = 1;
			f->st->cursor = m.seq;
			f->st->inflight = 0;
			f->dirty = 1;
			f->h->undecryptable++;
			return SMSWAKE_OK;
		}
		plain[n] = '\0';
		m.body = plain;
		m.body_len = n;
		m.encrypted = 1;
		err = deliver(f, &m);
		OPENSSL_cleanse(plain, n + 1);
		free(plain);
		return err;
	}
	return deliver(f, &m);
}

/* Hands one new message to the callback, with the cursor stored around it. */
static smswake_err deliver(struct fetch *f, struct smswake_message *mp)
{
	struct smswake_message m = *mp;
	smswake_err err;

	f->progress = 1;
	m.redelivered = f->st->inflight == m.seq;
	if (f->st->inflight != m.seq || f->dirty) {
		f->st->inflight = m.seq;
		err = sw_state_store(f->h, f->st);
		if (err != SMSWAKE_OK)
			return err;
		f->dirty = 0;
	}
	if (f->cb(&m, f->ctx) != 0)
		return sw_fail(f->h, SMSWAKE_EHANDLER, "handler stopped at seq %" PRIu64, m.seq);
	f->st->cursor = m.seq;
	f->st->inflight = 0;
	f->dirty = 1;
	f->res->delivered++;
	return SMSWAKE_OK;
}

static smswake_err flush(struct fetch *f)
{
	smswake_err err;

	if (!f->dirty)
		return SMSWAKE_OK;
	err = sw_state_store(f->h, f->st);
	if (err == SMSWAKE_OK)
		f->dirty = 0;
	return err;
}

static void take_next_poll(struct smswake_fetch_result *res, long v)
{
	if (v < 0)
		return;
	if (v > 0 && v < NEXT_POLL_MIN)
		v = NEXT_POLL_MIN;
	if (v > NEXT_POLL_MAX)
		v = NEXT_POLL_MAX;
	res->next_poll = (unsigned)v;
}

static smswake_err status_error(smswake_t *h, long status, const char *what)
{
	if (status == 401 || status == 403)
		return sw_fail(h, SMSWAKE_EAUTH, "%s: HTTP %ld", what, status);
	return sw_fail(h, SMSWAKE_EHTTP, "%s: HTTP %ld", what, status);
}

/* The previous push key is dropped once everything that may have been encrypted to it is
 * acknowledged. */
static smswake_err drop_old_push(struct fetch *f)
{
	struct sw_state *st = f->st;

	if (!st->have_old_push || st->acked < st->old_push_until)
		return SMSWAKE_OK;
	st->have_old_push = 0;
	st->old_push_until = 0;
	OPENSSL_cleanse(&st->old_push, sizeof(st->old_push));
	return sw_state_store(f->h, st);
}

/* Cumulative ack of everything up to the cursor, carrying the last wake counter so the server
 * can tell which wakeup arrived and resynchronise its counter. */
static smswake_err send_ack(struct fetch *f)
{
	struct sw_state *st = f->st;
	struct sw_response r;
	char body[128 + 22 * UNDECRYPTABLE_MAX];
	smswake_err err;

	int key = st->next_key_id != 0; /* a new wake key to confirm */
	int n;

	if (st->cursor <= st->acked && st->counter <= st->reported && !key)
		return drop_old_push(f);
	n = snprintf(body, sizeof(body), "{\"seq\":%" PRIu64, st->cursor);
	if (st->counter > 0)
		n += snprintf(body + n, sizeof(body) - (size_t)n, ",\"wake_ctr\":%" PRIu64, st->counter);
	if (key)
		n += snprintf(body + n, sizeof(body) - (size_t)n, ",\"key_id\":%u", st->next_key_id);
	for (size_t i = 0; i < f->nundecryptable; i++)
		n += snprintf(body + n, sizeof(body) - (size_t)n, "%s%" PRIu64, i == 0 ? ",\"undecryptable\":[" : ",",
			      f->undecryptable[i]);
	snprintf(body + n, sizeof(body) - (size_t)n, "%s}", f->nundecryptable > 0 ? "]" : "");
	err = sw_http_request(f->h, "/v1/device/ack", body, &r);
	if (err == SMSWAKE_ENETWORK && r.retry_after >= 0)
		f->res->retry_after = (unsigned)r.retry_after;
	if (err == SMSWAKE_OK && (r.status == 200 || r.status == 204)) {
		take_next_poll(f->res, r.next_poll);
		st->acked = st->cursor;
		st->reported = st->counter;
		if (key) {
			/* The move is done: from now on only the new key is accepted. */
			st->key_id = st->next_key_id;
			memcpy(st->key, st->next_key, WAKE_KEY_LEN);
			st->next_key_id = 0;
			OPENSSL_cleanse(st->next_key, WAKE_KEY_LEN);
		}
		f->nundecryptable = 0;
		err = sw_state_store(f->h, st);
		if (err == SMSWAKE_OK)
			err = drop_old_push(f);
	} else if (err == SMSWAKE_OK) {
		err = status_error(f->h, r.status, "ack");
	}
	sw_response_free(&r);
	return err;
}

smswake_err smswake_fetch(smswake_t *h, smswake_message_cb cb, void *ctx, struct smswake_fetch_result *res)
{
	struct smswake_fetch_result dummy;
	struct sw_state st;
	struct fetch f;
	unsigned batch, pages = 0;
	smswake_err err, ack_err;

	if (h == NULL || cb == NULL)
		return SMSWAKE_EINVAL;
	if (res == NULL)
		res = &dummy;
	memset(res, 0, sizeof(*res));
	h->errmsg[0] = '\0';
	h->undecryptable = 0;
	res->next_poll = h->poll_interval;
	err = smswake_check(h);
	if (err != SMSWAKE_OK)
		return err;
	err = sw_state_begin(h, &st);
	if (err != SMSWAKE_OK)
		return err;
	memset(&f, 0, sizeof(f));
	f.h = h;
	f.st = &st;
	f.cb = cb;
	f.ctx = ctx;
	f.res = res;
	batch = h->batch;

	for (;;) {
		char path[128];
		struct sw_response r;
		struct sw_page page;
		char why[160] = "";

		/* Long-poll only on the first page: later pages exist because more is waiting. */
		if (pages == 0 && h->wait > 0)
			snprintf(path, sizeof(path), "/v1/device/messages?after=%" PRIu64 "&max=%u&wait=%u", st.cursor,
				 batch, h->wait);
		else
			snprintf(path, sizeof(path), "/v1/device/messages?after=%" PRIu64 "&max=%u", st.cursor, batch);
		err = sw_http_request(h, path, NULL, &r);
		if (err == SMSWAKE_EPROTO && r.too_large && batch > 1) {
			/* One page did not fit in memory: ask for fewer messages at a time. */
			batch = batch / 2;
			continue;
		}
		if (err != SMSWAKE_OK) {
			if (r.retry_after >= 0)
				res->retry_after = (unsigned)r.retry_after;
			sw_response_free(&r);
			break;
		}
		pages++;
		if (r.status == 204) {
			take_next_poll(res, r.next_poll);
			sw_response_free(&r);
			break;
		}
		if (r.status != 200) {
			err = status_error(h, r.status, "fetch");
			sw_response_free(&r);
			break;
		}
		take_next_poll(res, r.next_poll);
		f.page_last = 0;
		f.progress = 0;
		err = sw_parse_page(r.body, r.body_len, h->max_body, on_message, &f, &page, why, sizeof(why));
		sw_response_free(&r);
		if (err == SMSWAKE_EPROTO && why[0] != '\0')
			sw_fail(h, err, "fetch: %s", why);
		if (err != SMSWAKE_OK)
			break;
		take_next_poll(res, page.next_poll);
		err = flush(&f);
		if (err == SMSWAKE_OK && page.key_id != 0 && page.key_id != (st.key_id ? st.key_id : h->key_id) &&
		    (page.key_id != st.next_key_id || CRYPTO_memcmp(page.key, st.next_key, WAKE_KEY_LEN) != 0)) {
			/* Durable before the ack that tells the server to switch. */
			st.next_key_id = (uint8_t)page.key_id;
			memcpy(st.next_key, page.key, WAKE_KEY_LEN);
			err = sw_state_store(h, &st);
		}
		OPENSSL_cleanse(page.key, sizeof(page.key));
		if (err != SMSWAKE_OK)
			break;
		/* "more" without anything new would loop forever against a confused server. */
		if (!page.more || !f.progress || pages >= FETCH_MAX_PAGES)
			break;
	}

	/* Whatever happened, make the cursor durable before acknowledging, and acknowledge what
	 * the application accepted unless the server is unreachable or refused us. */
	if (flush(&f) != SMSWAKE_OK && err == SMSWAKE_OK)
		err = SMSWAKE_ESTATE;
	if (err != SMSWAKE_ENETWORK && err != SMSWAKE_EAUTH && err != SMSWAKE_ESTATE) {
		char keep[SW_ERRMSG_MAX];

		memcpy(keep, h->errmsg, sizeof(keep));
		ack_err = send_ack(&f);
		if (err == SMSWAKE_OK)
			err = ack_err;
		else
			memcpy(h->errmsg, keep, sizeof(keep)); /* report the first failure */
	}
	res->cursor = st.cursor;
	sw_state_end(h);
	return err;
}
