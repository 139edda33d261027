/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Device API: fetch (with long-poll) and cumulative acknowledgement. An empty poll answers 204
 * with no body, so it costs the device as few octets as possible. During a master-key rotation a
 * fetch also carries the device's next wake key, and the ack that names it completes the move. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_common.h"
#include "crypto.h"
#include "ece_internal.h"
#include "encode.h"
#include "longpoll.h"
#include "metrics.h"
#include "scheduler.h"
#include "util.h"
#include "wake.h"

/* As many as the device reports in one ack (client/lib/fetch.c). */
#define ACK_UNDECRYPTABLE_MAX 64

struct fetch_ctx {
	json_t *arr;
};

static int fetch_one(void *arg, const struct store_message *m)
{
	struct fetch_ctx *fc = arg;
	char *b64 = malloc(ENC_B64_LEN(m->body_len));
	json_t *j;

	if (b64 == NULL)
		return -1;
	enc_b64(m->body, m->body_len, b64, 0);
	j = json_pack("{s:I, s:I, s:s, s:s, s:s}", "id", (json_int_t)m->id, "seq", (json_int_t)m->seq, "urgency",
		      store_urgency_name(m->urgency), "content_type", m->content_type, "body", b64);
	free(b64);
	if (m->topic[0])
		json_object_set_new(j, "topic", json_string(m->topic));
	if (m->content_encoding[0])
		json_object_set_new(j, "content_encoding", json_string(m->content_encoding));
	json_array_append_new(fc->arr, j);
	return 0;
}

/* Whether the device is being moved to a master key this server has loaded. */
static int moving_key(const struct server *srv, const struct store_device *d)
{
	return d->key_next != 0 && keys_master(&srv->keys, d->key_next) != NULL;
}

/* The wake key the device is being moved to, for a fetch answer; NULL if there is none to hand
 * over (no move, or its master key is not loaded in this server yet). */
static json_t *next_wake_key(struct server *srv, const struct store_device *d)
{
	const uint8_t *master = d->key_next != 0 ? keys_master(&srv->keys, d->key_next) : NULL;
	uint8_t key[WAKE_KEY_LEN];
	char b64[ENC_B64_LEN(WAKE_KEY_LEN)];
	json_t *j;

	if (master == NULL || wake_derive_key(master, MASTER_KEY_LEN, (uint8_t)d->key_next, (uint64_t)d->id, key) != 0)
		return NULL;
	enc_b64(key, sizeof(key), b64, 0);
	explicit_bzero(key, sizeof(key));
	j = json_pack("{s:i, s:s}", "key_id", d->key_next, "key", b64);
	explicit_bzero(b64, sizeof(b64));
	return j;
}

/* A fetch whose messages wait for their "fetched" state to commit (r->write_ctx). */
struct fetch_wait {
	struct server *srv;
	struct store_device d; /* as the poll read it: Next-Poll and the wake key come from it */
	struct store_fetched *msgs;
	int count, more;
	int followed; /* the scheduler was told the fetch began (scheduler_fetch_begin) */
};

/* With the request: a connection that closed before its answer leaves the scheduler told. */
static void fetch_wait_free(void *ctx)
{
	struct fetch_wait *fw = ctx;

	if (fw == NULL)
		return;
	store_fetched_free(fw->msgs);
	if (fw->followed)
		scheduler_fetch_end(fw->srv->scheduler, fw->d.id, 0);
	free(fw);
}

static enum MHD_Result fetch_reply(struct request *r, struct store_device *d, json_t *msgs, int more, const char *np)
{
	json_t *out = json_pack("{s:o, s:b, s:I}", "messages", msgs, "more", more, "next_poll",
				(json_int_t)api_next_poll(r->srv, d));
	json_t *wk = next_wake_key(r->srv, d);

	if (wk != NULL)
		json_object_set_new(out, "wake_key", wk);
	return http_reply_json(r, 200, out, (const char *const[]){"Next-Poll", np, NULL});
}

/* A query parameter of a fetch: an integer in [min, max], def when absent. */
struct query_param {
	const char *name;
	int64_t min, max, def;
};

/* Reads each parameter into out[]: NULL, or the first one that is not an integer in range. */
static const struct query_param *query_params(struct request *r, const struct query_param *q, size_t n, int64_t *out)
{
	for (size_t i = 0; i < n; i++) {
		const char *v = http_query(r, q[i].name);

		out[i] = q[i].def;
		if (v != NULL && util_parse_i64(v, q[i].min, q[i].max, &out[i]) != 0)
			return &q[i];
	}
	return NULL;
}

static enum MHD_Result fetch_answer(struct request *r, struct store_device *d, int pending, int64_t now, uint64_t gen,
				    int followed);

/* A fetch resumed from its long-poll (or woken while it waited): the device is read again.
 * followed as for fetch_answer. */
static enum MHD_Result fetch(struct request *r, int followed)
{
	struct store_device d;
	int64_t now = util_now_ms();
	uint64_t gen = longpoll_generation(r->srv->device_waits);
	int pending = 0;
	/* One read: the device and whether anything waits for it. */
	int rc = store_device_poll(r->srv->store, r->principal_id, r->after, now, &d, &pending);

	if (rc != STORE_OK)
		return rc == STORE_NOTFOUND ? http_reply_error(r, 401, "unauthorized", "device deleted")
					    : api_store_error(r, rc, "device");
	return fetch_answer(r, &d, pending, now, gen, followed);
}

/* followed: the scheduler was told this fetch began; a fetch that waits for its commit tells it
 * the end once answered (fetch_committed), any other the caller does. */
static enum MHD_Result fetch_answer(struct request *r, struct store_device *d, int pending, int64_t now, uint64_t gen,
				    int followed)
{
	struct server *srv = r->srv;
	struct fetch_wait *fw;
	char np[24];
	int rc;

	snprintf(np, sizeof(np), "%lld", (long long)api_next_poll(srv, d));
	if (!pending && moving_key(srv, d))
		return fetch_reply(r, d, json_array(), 0, np); /* nothing queued, but a key to hand over */
	if (!pending) {
		if (r->wait_deadline_ms > util_mono_ms() && r->wake_flag != 2 && !srv->stopping) {
			/* A waiting long-poll leaves its address's connection count (many devices share a
			 * carrier's address) up to the address's long-poll limit; past it the poll is
			 * answered now and the device polls again later. */
			if (http_wait_begin(r) != 0)
				return http_reply(r, 204, NULL, "", 0, (const char *const[]){"Next-Poll", np, NULL});
			rc = longpoll_wait(srv->device_waits, r->conn, r->principal_id, r->wait_deadline_ms, gen,
					   &r->wake_flag);
			if (rc != 0)
				http_wait_end(r);
			if (rc == 0) {
				if (!r->waited)
					metrics_add(CTR_LONGPOLL_WAITS, 1);
				r->waited = 1;
				return MHD_YES;
			}
			if (rc == 1)
				return fetch(r, followed);
		}
		return http_reply(r, 204, NULL, "", 0, (const char *const[]){"Next-Poll", np, NULL});
	}
	/* The messages are marked fetched in the writer's next group, and the connection waits for
	 * that commit without holding this thread (fetch_committed answers). */
	fw = calloc(1, sizeof(*fw));
	if (fw == NULL)
		return http_reply_error(r, 500, "internal", "out of memory");
	fw->srv = srv;
	fw->d = *d;
	fw->followed = followed;
	r->write_ctx = fw;
	r->write_free = fetch_wait_free;
	http_write_begin(r);
	rc = store_device_fetch_more_async(srv->store, r->principal_id, r->after, r->max, now, &fw->msgs, &fw->count,
					   &fw->more, http_write_done, r);
	if (rc != STORE_OK)
		http_write_done(r, rc);
	return MHD_YES;
}

/* The fetch's group has committed (or failed): its messages are durable as fetched. */
static enum MHD_Result fetch_committed(struct request *r, int rc)
{
	struct fetch_wait *fw = r->write_ctx;
	struct fetch_ctx fc = {0};
	enum MHD_Result ret;
	char np[24];

	snprintf(np, sizeof(np), "%lld", (long long)api_next_poll(r->srv, &fw->d));
	if (rc != STORE_OK) {
		ret = api_store_error(r, rc, "device");
	} else if (fw->count == 0 && !moving_key(r->srv, &fw->d)) {
		/* Expired or recalled between the check and the fetch. */
		ret = http_reply(r, 204, NULL, "", 0, (const char *const[]){"Next-Poll", np, NULL});
	} else {
		fc.arr = json_array();
		for (struct store_fetched *f = fw->msgs; f != NULL && fc.arr != NULL; f = f->next)
			if (fetch_one(&fc, &f->m) != 0) {
				json_decref(fc.arr);
				fc.arr = NULL;
			}
		ret = fc.arr != NULL ? fetch_reply(r, &fw->d, fc.arr, fw->more, np)
				     : http_reply_error(r, 500, "internal", "out of memory");
	}
	store_fetched_free(fw->msgs);
	fw->msgs = NULL;
	if (fw->followed) {
		scheduler_fetch_end(r->srv->scheduler, fw->d.id, r->status != 0);
		fw->followed = 0;
	}
	return ret;
}

/* An acknowledgement across its group commit (r->write_ctx). */
struct ack_ctx {
	int count;
	int64_t next_poll;
};

static enum MHD_Result ack(struct request *r)
{
	static const char *const allowed[] = {"seq", "wake_ctr", "key_id", "undecryptable", NULL};
	uint64_t undec[ACK_UNDECRYPTABLE_MAX];
	size_t nundec = 0;
	json_t *u;
	struct server *srv = r->srv;
	struct store_device d;
	struct ack_ctx *ac;
	int64_t device_id = r->principal_id, seq = 0, kid = 0, now = util_now_ms();
	uint64_t ctr = 0;
	json_t *body;
	char np[24];
	int rc;

	if (http_write_finished(r, &rc)) {
		/* Answered only now that the acknowledgement is durable. */
		if (rc != STORE_OK)
			return api_store_error(r, rc, "device");
		ac = r->write_ctx;
		snprintf(np, sizeof(np), "%lld", (long long)ac->next_poll);
		return http_reply(r, 204, NULL, "", 0, (const char *const[]){"Next-Poll", np, NULL});
	}
	store_device_touch(srv->store, device_id, now);
	body = http_json_body(r);
	if (body == NULL)
		return MHD_YES;
	if (http_json_check_fields(r, body, allowed) != 0 || api_json_int(r, body, "seq", 0, INT64_MAX, &seq) < 0 ||
	    http_json_get_u64(r, body, "wake_ctr", &ctr) < 0 ||
	    api_json_int(r, body, "key_id", 1, MASTER_KEY_IDS, &kid) < 0) {
		json_decref(body);
		return MHD_YES;
	}
	if (json_object_get(body, "seq") == NULL) {
		json_decref(body);
		return http_reply_error(r, 400, "missing_field", "'seq' is required");
	}
	/* Messages the device could not decrypt (docs/webpush.md): acknowledged like the others,
	 * with that outcome recorded for the provider. */
	u = json_object_get(body, "undecryptable");
	if (u != NULL) {
		size_t i;
		json_t *v;

		if (!json_is_array(u) || json_array_size(u) > ACK_UNDECRYPTABLE_MAX) {
			json_decref(body);
			return http_reply_error(r, 400, "invalid_field",
						"'undecryptable' must be an array of at most %d sequence numbers",
						ACK_UNDECRYPTABLE_MAX);
		}
		json_array_foreach (u, i, v) {
			if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > seq) {
				json_decref(body);
				return http_reply_error(r, 400, "invalid_field",
							"'undecryptable' holds sequence numbers from 1 to 'seq'");
			}
			undec[nundec++] = (uint64_t)json_integer_value(v);
		}
	}
	json_decref(body);
	/* One read of the device: the key it holds must be its current one or the one it is moving
	 * to, and its poll interval is the answer's Next-Poll (an ack changes neither). */
	rc = store_device_get(srv->store, 0, device_id, &d);
	if (rc != STORE_OK)
		return api_store_error(r, rc, "device");
	if (kid != 0 && kid != d.key_id && kid != d.key_next)
		return http_reply_error(r, 409, "conflict", "key_id %lld is not a wake key of this device",
					(long long)kid);
	rc = store_seq_event(srv->store, device_id, undec, nundec, "undecryptable", NULL, now);
	if (rc != STORE_OK)
		return api_store_error(r, rc, "device");
	ac = calloc(1, sizeof(*ac));
	if (ac == NULL)
		return http_reply_error(r, 500, "internal", "out of memory");
	ac->next_poll = api_next_poll(srv, &d);
	r->write_ctx = ac;
	http_write_begin(r);
	rc = store_ack_async(srv->store, device_id, (uint64_t)seq, ctr, (int)kid, now, &ac->count, http_write_done, r);
	if (rc != STORE_OK)
		http_write_done(r, rc);
	return MHD_YES;
}

/* The scheduler is told when a fetch's first call begins and ends: answered then, its messages
 * are committed as fetched, and a new message need not wait for the contact to settle. A
 * long-poll that was suspended is not followed further (it waits, as any contact). */
enum MHD_Result api_device_fetch(struct request *r)
{
	struct server *srv = r->srv;
	const struct query_param q[] = {
		{"after", 0, INT64_MAX, 0},
		{"max", 1, srv->cfg.max_fetch, srv->cfg.max_fetch},
		{"wait", 0, srv->cfg.max_wait_s, 0},
	};
	const struct query_param *bad;
	struct store_device d;
	enum MHD_Result ret;
	int64_t v[3], now, id;
	uint64_t gen;
	int pending = 0, rc;

	if (http_write_finished(r, &rc))
		return fetch_committed(r, rc);
	if (r->waited)
		return fetch(r, 0);
	bad = query_params(r, q, 3, v);
	if (bad != NULL) {
		/* An unknown token is 401 whatever its query. */
		if (api_auth_device(r, &id) != 0)
			return MHD_YES;
		return http_reply_error(r, 400, "invalid_parameter", "'%s' must be an integer from %lld to %lld",
					bad->name, (long long)bad->min, (long long)bad->max);
	}
	r->after = (uint64_t)v[0];
	r->max = (int)v[1];
	r->wait_deadline_ms = v[2] > 0 ? util_mono_ms() + v[2] * 1000 : 0;
	now = util_now_ms();
	gen = longpoll_generation(srv->device_waits);
	/* The token, the device and whether anything waits for it: one store read (ROUTE_SELF_AUTH),
	 * which also records the device's contact (store_device_poll_token). */
	if (api_auth_device_poll(r, r->after, now, &d, &pending) != 0)
		return MHD_YES;
	scheduler_fetch_begin(srv->scheduler, d.id);
	ret = fetch_answer(r, &d, pending, now, gen, 1);
	if (r->write_ctx == NULL) /* answered now, or waiting in a long-poll */
		scheduler_fetch_end(srv->scheduler, d.id, !r->waited && r->status != 0);
	return ret;
}

enum MHD_Result api_device_ack(struct request *r)
{
	return ack(r);
}

/* PUT /v1/device/push-keys {"p256dh", "auth"}: the device's Web Push public key (an uncompressed
 * P-256 point on the curve) and auth secret (16 octets), both base64url. Neither can decrypt.
 * Answers the last seq assigned before them: the device keeps its previous key until those
 * messages are acknowledged. */
static enum MHD_Result push_keys(struct request *r)
{
	static const char *const allowed[] = {"p256dh", "auth", "application_server_key", NULL};
	uint8_t pub[ECE_P256_PUB_LEN], auth[ECE_AUTH_LEN], rnd[16];
	char token[ENC_B64_LEN(sizeof(rnd))], answer[48];
	const char *p, *a;
	uint64_t last_seq = 0;
	const char *server_key = NULL;
	EVP_PKEY *key;
	json_t *body, *sk;
	int rc;

	store_device_touch(r->srv->store, r->principal_id, util_now_ms());
	body = http_json_body(r);
	if (body == NULL)
		return MHD_YES;
	if (http_json_check_fields(r, body, allowed) != 0) {
		json_decref(body);
		return MHD_YES;
	}
	p = json_string_value(json_object_get(body, "p256dh"));
	a = json_string_value(json_object_get(body, "auth"));
	key = p != NULL && enc_unb64(p, strlen(p), pub, sizeof(pub), 1) == ECE_P256_PUB_LEN ? ece_p256_key(NULL, pub)
											    : NULL;
	if (key == NULL) {
		json_decref(body);
		return http_reply_error(r, 400, "invalid_field",
					"'p256dh' must be an uncompressed P-256 public key in base64url");
	}
	EVP_PKEY_free(key);
	if (a == NULL || enc_unb64(a, strlen(a), auth, sizeof(auth), 1) != ECE_AUTH_LEN) {
		json_decref(body);
		return http_reply_error(r, 400, "invalid_field", "'auth' must be 16 octets in base64url");
	}
	/* Used only when the device has no endpoint yet: 128 random bits, naming neither the device
	 * nor its provider. */
	if (crypto_random(rnd, sizeof(rnd)) != 0) {
		json_decref(body);
		return http_reply_error(r, 500, "internal", "no random octets");
	}
	/* As browsers' applicationServerKey: only this VAPID key may then send (403 for others). */
	sk = json_object_get(body, "application_server_key");
	if (sk != NULL && !json_is_null(sk)) {
		const char *v = json_string_value(sk);
		uint8_t k[ECE_P256_PUB_LEN];

		key = v != NULL && enc_unb64(v, strlen(v), k, sizeof(k), 1) == ECE_P256_PUB_LEN ? ece_p256_key(NULL, k)
												: NULL;
		if (key == NULL) {
			json_decref(body);
			return http_reply_error(r, 400, "invalid_field",
						"'application_server_key' must be an uncompressed P-256 public key in "
						"base64url");
		}
		EVP_PKEY_free(key);
		server_key = v;
	}
	enc_b64(rnd, sizeof(rnd), token, 1);
	rc = store_device_set_push_keys(r->srv->store, r->principal_id, p, a, server_key, token, &last_seq);
	json_decref(body);
	if (rc != STORE_OK)
		return api_store_error(r, rc, "device");
	snprintf(answer, sizeof(answer), "{\"seq\":%llu}", (unsigned long long)last_seq);
	return http_reply(r, 200, "application/json", answer, strlen(answer), NULL);
}

enum MHD_Result api_device_push_keys(struct request *r)
{
	return push_keys(r);
}
