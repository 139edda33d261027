/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Web Push (RFC 8030, 8291, 8292): POST /push/<token> from an application server's Web Push
 * library. The sender proves its identity with VAPID; the body is ciphertext for the device
 * (aes128gcm), stored and relayed as it is. docs/webpush.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_common.h"
#include "ece.h"
#include "encode.h"
#include "log.h"
#include "metrics.h"
#include "util.h"
#include "vapid.h"

/* A push across its group commit (r->write_ctx). */
struct push_wait {
	struct store_message_in in;
	struct store_message m;
	int replayed;
	int64_t ttl_s;
	char sub[STORE_ERROR_MAX + 1]; /* the sender's VAPID contact, as its event keeps it */
};

/* Answered only now that the message (and its "vapid" event) is durable. */
static enum MHD_Result push_committed(struct request *r, int rc)
{
	struct push_wait *pw = r->write_ctx;
	char loc[64], ttlbuf[24];

	if (rc != STORE_OK)
		return api_store_error(r, rc, "push subscription");
	log_debug("push: message %lld for device %lld from %s", (long long)pw->m.id, (long long)pw->in.device_id,
		  pw->sub[0] ? pw->sub : "(no sub)");
	snprintf(loc, sizeof(loc), "/v1/messages/%lld", (long long)pw->m.id);
	snprintf(ttlbuf, sizeof(ttlbuf), "%lld", (long long)pw->ttl_s);
	return http_reply(r, 201, NULL, "", 0, (const char *const[]){"Location", loc, "TTL", ttlbuf, NULL});
}

enum MHD_Result api_webpush(struct request *r)
{
	struct server *srv = r->srv;
	const char *token = r->path + 6;
	const char *ttl = http_header(r, "TTL"), *urg = http_header(r, "Urgency"), *topic = http_header(r, "Topic");
	const char *cenc = http_header(r, "Content-Encoding"), *authz = http_header(r, "Authorization");
	struct store_message_in in = {0};
	struct vapid_claims claims;
	struct push_wait *pw;
	int64_t device_id, provider_id, ttl_s, now = util_now_ms();
	char server_key[STORE_P256DH_MAX + 1], k64[ENC_B64_LEN(VAPID_KEY_LEN)];
	int rc;

	if (http_write_finished(r, &rc))
		return push_committed(r, rc);
	/* An unknown endpoint, or push endpoints not configured: nothing to push to. */
	if (srv->cfg.push_origin[0] == '\0' || !util_is_b64url(token, STORE_PUSH_TOKEN_MAX))
		return http_reply_error(r, 404, "not_found", "no such push subscription");
	rc = store_device_by_push_token(srv->store, token, &device_id, &provider_id, server_key);
	if (rc != STORE_OK)
		return api_store_error(r, rc, "push subscription");
	rc = vapid_verify(authz, srv->cfg.push_origin, now / 1000, &claims);
	if (rc != VAPID_OK)
		return http_reply_error(r, 401, "unauthorized", "VAPID: %s", vapid_strerror(rc));
	/* A subscription bound to one application server key takes no other (RFC 8292 4.2). */
	enc_b64(claims.key, sizeof(claims.key), k64, 1);
	if (server_key[0] != '\0' && strcmp(server_key, k64) != 0)
		return http_reply_error(r, 403, "forbidden",
					"this subscription is bound to another application server key");
	/* RFC 8030 5.2: TTL is required. */
	if (ttl == NULL || util_parse_i64(ttl, 0, INT32_MAX, &ttl_s) != 0)
		return http_reply_error(r, 400, "invalid_ttl", "'TTL' is required: a number of seconds (0 or more)");
	if (ttl_s > srv->cfg.max_ttl_s)
		ttl_s = srv->cfg.max_ttl_s;
	in.urgency = URG_NORMAL;
	if (urg && (in.urgency = store_urgency_parse(urg)) < 0)
		return http_reply_error(r, 400, "invalid_urgency", "'Urgency' must be very-low, low, normal or high");
	if (topic && !util_is_b64url(topic, STORE_TOPIC_MAX))
		return http_reply_error(r, 400, "invalid_topic", "'Topic' must be 1 to 32 base64url characters");
	/* A payload is encrypted to the device (RFC 8291); an empty push is a bare wake. */
	if (r->body_len > 0 && (cenc == NULL || strcmp(cenc, "aes128gcm") != 0))
		return http_reply_error(r, 415, "unsupported_content_encoding",
					"a push payload must have 'Content-Encoding: aes128gcm'");
	if (r->body_len > 0 && r->body_len < ECE_WEBPUSH_HEADER_LEN + ECE_TAG_LEN + 1)
		return http_reply_error(r, 400, "invalid_body",
					"an aes128gcm body is shorter than its header and one record");
	in.device_id = device_id;
	in.ttl_s = ttl_s;
	in.topic = topic;
	in.content_encoding = r->body_len > 0 ? "aes128gcm" : NULL;
	in.body = r->body;
	in.body_len = r->body_len;
	in.max_pending = srv->cfg.max_pending;
	pw = calloc(1, sizeof(*pw));
	if (pw == NULL)
		return http_reply_error(r, 500, "internal", "out of memory");
	/* The application server's contact (VAPID sub, its first STORE_ERROR_MAX characters) stays
	 * in the message's history: an event stored with the message, in the same commit. */
	memcpy(pw->sub, claims.sub, strnlen(claims.sub, sizeof(pw->sub) - 1)); /* pw is zeroed */
	in.event_what = "vapid";
	in.event_detail = pw->sub;
	pw->in = in;
	pw->ttl_s = ttl_s;
	r->write_ctx = pw;
	http_write_begin(r);
	rc = store_message_put_async(srv->store, provider_id, &pw->in, now, &pw->m, &pw->replayed, http_write_done, r);
	if (rc != STORE_OK)
		http_write_done(r, rc);
	return MHD_YES;
}
