/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Provider API: devices (register, list, read, change, delete) and messages (submit, read,
 * recall). A provider sees only its own devices and messages: anything else is 404. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_common.h"
#include "ece.h"
#include "encode.h"
#include "metrics.h"
#include "util.h"
#include "wake.h"

static int valid_msisdn(const char *s)
{
	size_t n = strlen(s);
	if (n < 2 || n > STORE_MSISDN_MAX || s[0] != '+' || s[1] == '0')
		return 0;
	for (size_t i = 1; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static int printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* A media type is ASCII (RFC 9110 section 8.3.1). */
static int printable_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

/* "HH:MM" to minutes after midnight. */
static int parse_hhmm(const char *s, int64_t *min)
{
	if (strlen(s) != 5 || s[2] != ':' || s[0] < '0' || s[0] > '2' || s[1] < '0' || s[1] > '9' || s[3] < '0' ||
	    s[3] > '5' || s[4] < '0' || s[4] > '9')
		return -1;
	int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
	if (h > 23)
		return -1;
	*min = h * 60 + m;
	return 0;
}

static json_t *device_json(const struct store_device *d, const char *push_origin)
{
	char created[32], seen[32];
	json_t *j;

	http_time(d->created_ms, created);
	http_time(d->last_seen_ms, seen);
	j = json_pack("{s:I, s:s, s:s, s:s, s:I, s:s, s:I, s:I, s:I, s:s, s:o, s:i}", "id", (json_int_t)d->id, "msisdn",
		      d->msisdn, "name", d->name, "sms_format", d->sms_format == SMS_FORMAT_TEXT ? "text" : "binary",
		      "poll_interval", (json_int_t)d->poll_interval_s, "created_at", created, "pending",
		      (json_int_t)d->pending, "last_seq", (json_int_t)d->last_seq, "acked_seq",
		      (json_int_t)d->acked_seq, "wake_state", store_wake_state_name(d->wake_state), "wake_counter",
		      http_json_u64(d->wake_ctr), "wake_attempts", d->wake_attempts);
	json_object_set_new(j, "last_seen_at", d->last_seen_ms ? json_string(seen) : json_null());
	/* Master key of its wake key, and the one it is being moved to (smswakectl key rotate). */
	json_object_set_new(j, "key_id", json_integer(d->key_id));
	json_object_set_new(j, "key_next", d->key_next ? json_integer(d->key_next) : json_null());
	if (d->quiet_start_min >= 0) {
		char a[8], b[8];
		snprintf(a, sizeof(a), "%02d:%02d", (int)(d->quiet_start_min / 60) % 100,
			 (int)(d->quiet_start_min % 60));
		snprintf(b, sizeof(b), "%02d:%02d", (int)(d->quiet_end_min / 60) % 100, (int)(d->quiet_end_min % 60));
		json_object_set_new(j, "quiet_hours", json_pack("{s:s, s:s}", "start", a, "end", b));
	} else {
		json_object_set_new(j, "quiet_hours", json_null());
	}
	/* As a browser's PushSubscription.toJSON(): hand it unchanged to a Web Push library. */
	if (push_origin[0] != '\0' && d->push_token[0] != '\0' && d->push_p256dh[0] != '\0') {
		char endpoint[sizeof(((struct server_config *)0)->push_origin) + 8 + STORE_PUSH_TOKEN_MAX];

		snprintf(endpoint, sizeof(endpoint), "%s/push/%s", push_origin, d->push_token);
		json_object_set_new(j, "push_subscription",
				    json_pack("{s:s, s:{s:s, s:s}}", "endpoint", endpoint, "keys", "p256dh",
					      d->push_p256dh, "auth", d->push_auth));
	} else {
		json_object_set_new(j, "push_subscription", json_null());
	}
	return j;
}

/* Reads the fields POST and PATCH share into a patch; answers 400 and returns -1 on bad input. */
static int device_fields(struct request *r, json_t *body, struct store_device_patch *p)
{
	static const char *const allowed[] = {"msisdn",      "name", "sms_format", "poll_interval",
					      "quiet_hours", "tags", NULL};
	const char *s;
	int64_t v;
	int rc;
	json_t *q;

	if (http_json_check_fields(r, body, allowed) != 0)
		return -1;
	if ((rc = api_json_str(r, body, "msisdn", 32, &s)) < 0)
		return -1;
	if (rc > 0) {
		if (!valid_msisdn(s)) {
			http_reply_error(r, 400, "invalid_msisdn", "'msisdn' must be E.164: '+' and up to 15 digits");
			return -1;
		}
		snprintf(p->msisdn, sizeof(p->msisdn), "%s", s);
		p->set |= STORE_PATCH_MSISDN;
	}
	if ((rc = api_json_str(r, body, "name", STORE_NAME_MAX, &s)) < 0)
		return -1;
	if (rc > 0) {
		if (!printable(s)) {
			http_reply_error(r, 400, "invalid_field", "'name' must not contain control characters");
			return -1;
		}
		snprintf(p->name, sizeof(p->name), "%s", s);
		p->set |= STORE_PATCH_NAME;
	}
	if ((rc = api_json_str(r, body, "sms_format", 16, &s)) < 0)
		return -1;
	if (rc > 0) {
		if (strcmp(s, "binary") == 0)
			p->sms_format = SMS_FORMAT_BINARY;
		else if (strcmp(s, "text") == 0)
			p->sms_format = SMS_FORMAT_TEXT;
		else {
			http_reply_error(r, 400, "invalid_field", "'sms_format' must be \"binary\" or \"text\"");
			return -1;
		}
		p->set |= STORE_PATCH_FORMAT;
	}
	if ((rc = api_json_int(r, body, "poll_interval", 0, 30 * 86400, &v)) < 0)
		return -1;
	if (rc > 0) {
		p->poll_interval_s = v;
		p->set |= STORE_PATCH_POLL;
	}
	q = json_object_get(body, "quiet_hours");
	if (q) {
		p->set |= STORE_PATCH_QUIET;
		p->quiet_start_min = p->quiet_end_min = -1;
		if (!json_is_null(q)) {
			json_t *a = json_object_get(q, "start"), *b = json_object_get(q, "end");
			if (!json_is_object(q) || json_object_size(q) != 2 || !json_is_string(a) ||
			    !json_is_string(b) || parse_hhmm(json_string_value(a), &p->quiet_start_min) != 0 ||
			    parse_hhmm(json_string_value(b), &p->quiet_end_min) != 0) {
				http_reply_error(r, 400, "invalid_field",
						 "'quiet_hours' must be null or {\"start\": \"HH:MM\", \"end\": "
						 "\"HH:MM\"} (UTC)");
				return -1;
			}
		}
	}
	return 0;
}

/* A registration across its group commit (r->write_ctx); the token is wiped when answered. */
struct create_ctx {
	struct store_device_new nd; /* the device, its token's hash and its tags: one commit */
	char token[96];
};

int api_device_read(struct request *r, json_t *obj, struct store_device *d, struct api_tags *tags)
{
	struct store_device_patch p = {0};

	if (device_fields(r, obj, &p) != 0 || api_tags_parse(r, obj, tags) != 0)
		return -1;
	if (!(p.set & STORE_PATCH_MSISDN)) {
		http_reply_error(r, 400, "missing_field", "'msisdn' is required");
		return -1;
	}
	memset(d, 0, sizeof(*d));
	d->provider_id = r->principal.id;
	memcpy(d->msisdn, p.msisdn, sizeof(d->msisdn));
	memcpy(d->name, p.name, sizeof(d->name));
	d->sms_format = p.set & STORE_PATCH_FORMAT ? p.sms_format : SMS_FORMAT_BINARY;
	d->poll_interval_s = p.set & STORE_PATCH_POLL ? p.poll_interval_s : r->srv->cfg.default_poll_interval_s;
	d->quiet_start_min = p.set & STORE_PATCH_QUIET ? p.quiet_start_min : -1;
	d->quiet_end_min = p.set & STORE_PATCH_QUIET ? p.quiet_end_min : -1;
	d->key_id = r->srv->keys.current;
	return 0;
}

int api_device_secrets(struct request *r, const struct store_device *d, const char *token, json_t *out)
{
	uint8_t key[WAKE_KEY_LEN];
	char keyb64[ENC_B64_LEN(WAKE_KEY_LEN)];

	if (wake_derive_key(keys_master(&r->srv->keys, d->key_id), MASTER_KEY_LEN, (uint8_t)d->key_id, (uint64_t)d->id,
			    key) != 0)
		return -1;
	enc_b64(key, sizeof(key), keyb64, 0);
	explicit_bzero(key, sizeof(key));
	json_object_set_new(out, "token", json_string(token));
	json_object_set_new(out, "wake_key", json_string(keyb64));
	json_object_set_new(out, "key_id", json_integer(d->key_id));
	json_object_set_new(out, "port", json_integer(r->srv->cfg.sched.port));
	explicit_bzero(keyb64, sizeof(keyb64));
	return 0;
}

/* Called again once the device's group committed: 201 only now, when it is durable. */
static enum MHD_Result device_created(struct request *r, const struct store_principal *prov, int rc)
{
	struct create_ctx *cc = r->write_ctx;
	struct store_device d;
	enum MHD_Result ret;
	char loc[64];
	json_t *out;

	if (rc == STORE_CONFLICT)
		ret = http_reply_error(r, 409, "conflict", "this provider already has a device with msisdn %s",
				       cc->nd.d.msisdn);
	else if (rc != STORE_OK)
		ret = api_store_error(r, rc, "device");
	else if (store_device_get(r->srv->store, prov->id, cc->nd.d.id, &d) != STORE_OK)
		ret = http_reply_error(r, 500, "internal", "cannot read back the device");
	else {
		out = api_device_json(r, &d);
		if (api_device_secrets(r, &d, cc->token, out) != 0) {
			json_decref(out);
			ret = http_reply_error(r, 500, "internal", "cannot derive the wake key");
		} else {
			snprintf(loc, sizeof(loc), "/v1/devices/%lld", (long long)d.id);
			ret = http_reply_json(r, 201, out, (const char *const[]){"Location", loc, NULL});
		}
	}
	explicit_bzero(cc->token, sizeof(cc->token));
	return ret;
}

static enum MHD_Result device_create(struct request *r, const struct store_principal *prov)
{
	struct create_ctx *cc;
	struct store_device d;
	struct api_tags tags;
	json_t *body;
	int rc;

	if (http_write_finished(r, &rc))
		return device_created(r, prov, rc);
	body = http_json_body(r);
	if (body == NULL)
		return MHD_YES;
	rc = api_device_read(r, body, &d, &tags);
	json_decref(body);
	if (rc != 0)
		return MHD_YES;
	cc = calloc(1, sizeof(*cc));
	if (cc == NULL)
		return http_reply_error(r, 500, "internal", "out of memory");
	r->write_ctx = cc;
	cc->nd.d = d;
	cc->nd.ntags = tags.present ? tags.n : 0;
	memcpy(cc->nd.tags, tags.tag, sizeof(cc->nd.tags));
	if (keys_new_token("swd", cc->token, sizeof(cc->token), cc->nd.token_hash) != 0)
		return http_reply_error(r, 500, "internal", "cannot create a token");
	/* The device and its tags in one commit, as a bulk registration of one. */
	http_write_begin(r);
	rc = store_device_add_many_async(r->srv->store, &cc->nd, 1, util_now_ms(), http_write_done, r);
	if (rc != STORE_OK)
		http_write_done(r, rc);
	return MHD_YES;
}

json_t *api_device_json(struct request *r, const struct store_device *d)
{
	json_t *j = device_json(d, r->srv->cfg.push_origin);
	api_tags_add(r, j, d->id);
	return j;
}

static enum MHD_Result device_get(struct request *r, const struct store_principal *prov)
{
	struct store_device d;
	int rc = store_device_get(r->srv->store, prov->id, r->id, &d);
	if (rc != STORE_OK)
		return api_store_error(r, rc, "device");
	return http_reply_json(r, 200, api_device_json(r, &d), NULL);
}

static enum MHD_Result device_patch(struct request *r, const struct store_principal *prov)
{
	struct store_device_patch p = {0};
	json_t *body = http_json_body(r);
	struct api_tags tags;
	int rc;

	if (body == NULL)
		return MHD_YES;
	rc = device_fields(r, body, &p);
	if (rc == 0 && api_tags_parse(r, body, &tags) < 0)
		rc = -1;
	json_decref(body);
	if (rc != 0)
		return MHD_YES;
	rc = store_device_update(r->srv->store, prov->id, r->id, &p);
	if (rc == STORE_OK && tags.present)
		rc = api_tags_store(r, prov->id, r->id, &tags);
	if (rc != STORE_OK)
		return api_store_error(r, rc, "device");
	return device_get(r, prov);
}

static enum MHD_Result device_delete(struct request *r, const struct store_principal *prov)
{
	int rc = store_device_delete(r->srv->store, prov->id, r->id);
	if (rc != STORE_OK)
		return api_store_error(r, rc, "device");
	return http_reply(r, 204, NULL, "", 0, NULL);
}

json_t *api_message_json(const struct store_message *m)
{
	char created[32], expires[32], updated[32];

	http_time(m->created_ms, created);
	http_time(m->expires_ms, expires);
	http_time(m->updated_ms, updated);
	json_t *j =
		json_pack("{s:I, s:I, s:I, s:s, s:s, s:s, s:I, s:s, s:s, s:s}", "id", (json_int_t)m->id, "device_id",
			  (json_int_t)m->device_id, "seq", (json_int_t)m->seq, "state", store_msg_state_name(m->state),
			  "urgency", store_urgency_name(m->urgency), "content_type", m->content_type, "size",
			  (json_int_t)m->body_len, "created_at", created, "expires_at", expires, "updated_at", updated);
	if (m->topic[0])
		json_object_set_new(j, "topic", json_string(m->topic));
	if (m->content_encoding[0])
		json_object_set_new(j, "content_encoding", json_string(m->content_encoding));
	return j;
}

/* Appends s as a JSON string; s is printable ASCII (api_message_json_text). */
static size_t json_ascii(char *out, size_t n, size_t len, const char *s)
{
	if (n < len)
		out[n] = '"';
	n++;
	for (; *s; s++) {
		if (*s == '"' || *s == '\\') {
			if (n < len)
				out[n] = '\\';
			n++;
		}
		if (n < len)
			out[n] = *s;
		n++;
	}
	if (n < len)
		out[n] = '"';
	return n + 1;
}

/* Appends k octets of s at n (as far as len allows); returns the new n. */
static size_t text_put(char *out, size_t n, size_t len, const char *s, size_t k)
{
	if (n < len)
		memcpy(out + n, s, k < len - n ? k : len - n);
	return n + k;
}

#define TEXT_LIT(out, n, len, s) text_put(out, n, len, s, sizeof(s) - 1)

static size_t text_u64(char *out, size_t n, size_t len, uint64_t v)
{
	char t[20];
	int i = (int)sizeof(t);

	do {
		t[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	return text_put(out, n, len, t + i, sizeof(t) - (size_t)i);
}

static size_t text_i64(char *out, size_t n, size_t len, int64_t v)
{
	if (v >= 0)
		return text_u64(out, n, len, (uint64_t)v);
	return text_u64(out, TEXT_LIT(out, n, len, "-"), len, -(uint64_t)v);
}

/* Written piece by piece, without snprintf, which cost more than the rest of the answer. */
size_t api_message_json_text(const struct store_message *m, char *out, size_t len)
{
	char t[32];
	size_t n = 0;

	n = TEXT_LIT(out, n, len, "{\"id\":");
	n = text_i64(out, n, len, m->id);
	n = TEXT_LIT(out, n, len, ",\"device_id\":");
	n = text_i64(out, n, len, m->device_id);
	n = TEXT_LIT(out, n, len, ",\"seq\":");
	n = text_u64(out, n, len, m->seq);
	n = TEXT_LIT(out, n, len, ",\"state\":");
	n = json_ascii(out, n, len, store_msg_state_name(m->state));
	n = TEXT_LIT(out, n, len, ",\"urgency\":");
	n = json_ascii(out, n, len, store_urgency_name(m->urgency));
	n = TEXT_LIT(out, n, len, ",\"content_type\":");
	n = json_ascii(out, n, len, m->content_type);
	n = TEXT_LIT(out, n, len, ",\"size\":");
	n = text_u64(out, n, len, m->body_len);
	http_time(m->created_ms, t);
	n = TEXT_LIT(out, n, len, ",\"created_at\":");
	n = json_ascii(out, n, len, t);
	http_time(m->expires_ms, t);
	n = TEXT_LIT(out, n, len, ",\"expires_at\":");
	n = json_ascii(out, n, len, t);
	http_time(m->updated_ms, t);
	n = TEXT_LIT(out, n, len, ",\"updated_at\":");
	n = json_ascii(out, n, len, t);
	if (m->topic[0]) {
		n = TEXT_LIT(out, n, len, ",\"topic\":");
		n = json_ascii(out, n, len, m->topic);
	}
	if (m->content_encoding[0]) {
		n = TEXT_LIT(out, n, len, ",\"content_encoding\":");
		n = json_ascii(out, n, len, m->content_encoding);
	}
	n = TEXT_LIT(out, n, len, "}");
	if (len > 0)
		out[n < len ? n : len - 1] = '\0';
	return n;
}

static int valid_idem_key(const char *k)
{
	size_t n = strlen(k);
	if (n == 0 || n > STORE_IDEMKEY_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (k[i] < 0x21 || k[i] > 0x7e)
			return 0;
	return 1;
}

/* A submit across its group commit (r->write_ctx). */
struct submit_ctx {
	struct store_message_in in;
	struct store_message m;
	int replayed;
	int64_t ttl_s;
};

/* Called again once the message's group committed: 201 only now, when it is durable. */
static enum MHD_Result message_submitted(struct request *r, int rc)
{
	struct submit_ctx *sc = r->write_ctx;
	char loc[64], ttlbuf[24], body[API_MESSAGE_JSON_MAX];
	size_t len;

	if (rc == STORE_CONFLICT)
		return http_reply_error(r, 422, "idempotency_key_reused",
					"this Idempotency-Key was used for a message to another device");
	if (rc != STORE_OK)
		return api_store_error(r, rc, "device");
	len = text_i64(loc, TEXT_LIT(loc, 0, sizeof(loc), "/v1/messages/"), sizeof(loc), sc->m.id);
	loc[len < sizeof(loc) ? len : sizeof(loc) - 1] = '\0';
	len = text_i64(ttlbuf, 0, sizeof(ttlbuf), sc->ttl_s);
	ttlbuf[len < sizeof(ttlbuf) ? len : sizeof(ttlbuf) - 1] = '\0';
	/* Written directly rather than through jansson: the answer of every submit. A replayed
	 * message stored by another route may have a content type outside ASCII. */
	len = printable_ascii(sc->m.content_type) ? api_message_json_text(&sc->m, body, sizeof(body)) : sizeof(body);
	if (len >= sizeof(body))
		return http_reply_json(r, 201, api_message_json(&sc->m),
				       (const char *const[]){"Location", loc, "TTL", ttlbuf,
							     sc->replayed ? "Idempotent-Replayed" : NULL, "true",
							     NULL});
	return http_reply(r, 201, "application/json", body, len,
			  (const char *const[]){"Location", loc, "TTL", ttlbuf,
						sc->replayed ? "Idempotent-Replayed" : NULL, "true", NULL});
}

static enum MHD_Result message_submit(struct request *r, const struct store_principal *prov)
{
	struct server *srv = r->srv;
	struct submit_ctx *sc;
	const char *ttl = http_header(r, "TTL"), *urg = http_header(r, "Urgency");
	const char *topic = http_header(r, "Topic"), *idem = http_header(r, "Idempotency-Key");
	const char *ctype = http_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
	const char *cenc = http_header(r, "Content-Encoding");
	int rc, urgency = URG_NORMAL;
	int64_t ttl_s = srv->cfg.default_ttl_s;

	if (http_write_finished(r, &rc))
		return message_submitted(r, rc);
	if (ttl && util_parse_i64(ttl, 0, INT32_MAX, &ttl_s) != 0)
		return http_reply_error(r, 400, "invalid_ttl", "'TTL' must be a number of seconds (0 or more)");
	/* RFC 8030 5.2: the service may shorten the TTL and says so in the response. */
	if (ttl_s > srv->cfg.max_ttl_s)
		ttl_s = srv->cfg.max_ttl_s;
	if (urg && (urgency = store_urgency_parse(urg)) < 0)
		return http_reply_error(r, 400, "invalid_urgency", "'Urgency' must be very-low, low, normal or high");
	if (topic && !util_is_b64url(topic, STORE_TOPIC_MAX))
		return http_reply_error(r, 400, "invalid_topic", "'Topic' must be 1 to 32 base64url characters");
	if (idem && !valid_idem_key(idem))
		return http_reply_error(r, 400, "invalid_idempotency_key",
					"'Idempotency-Key' must be 1 to 64 printable ASCII characters without spaces");
	if (ctype && (strlen(ctype) > STORE_CTYPE_MAX || !printable_ascii(ctype)))
		return http_reply_error(r, 400, "invalid_content_type",
					"'Content-Type' must be at most 128 printable ASCII characters");
	/* An end-to-end encrypted body (docs/webpush.md) is stored and relayed as it is; any other
	 * coding would reach the device as something it cannot read. */
	if (cenc && strcmp(cenc, "aes128gcm") != 0)
		return http_reply_error(r, 415, "unsupported_content_encoding",
					"'Content-Encoding' must be aes128gcm (RFC 8188) or absent");
	if (cenc && r->body_len < ECE_WEBPUSH_HEADER_LEN + ECE_TAG_LEN + 1)
		return http_reply_error(r, 400, "invalid_body",
					"an aes128gcm body is shorter than its header and one record");
	sc = calloc(1, sizeof(*sc));
	if (sc == NULL)
		return http_reply_error(r, 500, "internal", "out of memory");
	r->write_ctx = sc;
	sc->ttl_s = ttl_s;
	/* The headers and the body live as long as the request; the connection is suspended until
	 * the writer's callback, which therefore finds them all. */
	sc->in.urgency = urgency;
	sc->in.content_encoding = cenc;
	sc->in.max_pending = srv->cfg.max_pending;
	sc->in.device_id = r->id;
	sc->in.ttl_s = ttl_s;
	sc->in.topic = topic;
	sc->in.content_type = ctype;
	sc->in.idempotency_key = idem;
	sc->in.body = r->body;
	sc->in.body_len = r->body_len;
	http_write_begin(r);
	rc = store_message_put_async(srv->store, prov->id, &sc->in, util_now_ms(), &sc->m, &sc->replayed,
				     http_write_done, r);
	if (rc != STORE_OK)
		http_write_done(r, rc);
	return MHD_YES;
}

static int event_one(void *arg, const struct store_event *e)
{
	char at[32];
	http_time(e->time_ms, at);
	json_t *j = json_pack("{s:s, s:s}", "at", at, "event", e->what);
	if (e->state >= 0)
		json_object_set_new(j, "state", json_string(store_msg_state_name(e->state)));
	if (e->detail[0])
		json_object_set_new(j, "detail", json_string(e->detail));
	json_array_append_new(arg, j);
	return 0;
}

static enum MHD_Result message_get(struct request *r, const struct store_principal *prov)
{
	struct store_message m;
	json_t *events = json_array(), *j;
	int rc = store_message_get(r->srv->store, prov->id, r->id, &m, event_one, events);

	if (rc != STORE_OK) {
		json_decref(events);
		return api_store_error(r, rc, "message");
	}
	j = api_message_json(&m);
	json_object_set_new(j, "events", events);
	return http_reply_json(r, 200, j, NULL);
}

static enum MHD_Result message_delete(struct request *r, const struct store_principal *prov)
{
	int rc = store_message_cancel(r->srv->store, prov->id, r->id, util_now_ms());
	if (rc == STORE_CONFLICT)
		return http_reply_error(r, 409, "conflict", "the message was already fetched or is final");
	if (rc != STORE_OK)
		return api_store_error(r, rc, "message");
	return http_reply(r, 204, NULL, "", 0, NULL);
}

/* The route table's entries (routes.c). The request was authenticated before its body was read
 * (http.c): r->principal is the provider. */
enum MHD_Result api_device_create(struct request *r)
{
	return device_create(r, &r->principal);
}

enum MHD_Result api_device_get(struct request *r)
{
	return device_get(r, &r->principal);
}

enum MHD_Result api_device_patch(struct request *r)
{
	return device_patch(r, &r->principal);
}

enum MHD_Result api_device_delete(struct request *r)
{
	return device_delete(r, &r->principal);
}

enum MHD_Result api_message_submit(struct request *r)
{
	return message_submit(r, &r->principal);
}

enum MHD_Result api_message_get(struct request *r)
{
	return message_get(r, &r->principal);
}

enum MHD_Result api_message_delete(struct request *r)
{
	return message_delete(r, &r->principal);
}
