/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared pieces of the provider, device and gateway APIs. */
#include "api_common.h"

#include <string.h>

#include "log.h"

enum MHD_Result api_store_error(struct request *r, int rc, const char *what)
{
	switch (rc) {
	case STORE_NOTFOUND: return http_reply_error(r, 404, "not_found", "no such %s", what);
	case STORE_CONFLICT: return http_reply_error(r, 409, "conflict", "the %s's state does not allow this", what);
	case STORE_GONE: return http_reply_error(r, 410, "gone", "this %s was deleted", what);
	case STORE_FULL:
		/* RFC 8030 section 8.4 and RFC 6585: the device has too much waiting; its next fetch
		 * makes room. */
		return http_reply(r, 429, "application/json",
				  HTTP_LIT("{\"error\":\"too_many_pending\",\"message\":\"the device has max_pending "
					   "messages waiting; retry once it has fetched\"}"),
				  (const char *const[]){"Retry-After", "60", NULL});
	case STORE_UNAVAILABLE:
		return http_reply(
			r, 503, "application/json",
			HTTP_LIT("{\"error\":\"unavailable\",\"message\":\"storage unavailable, retry later\"}"),
			(const char *const[]){"Retry-After", "1", NULL});
	case STORE_UNSUPPORTED:
		return http_reply_error(r, 501, "not_implemented", "this server's store backend cannot do this yet");
	default:
		log_warnx("store error on %s: %s", what, store_strerror(rc));
		return http_reply_error(r, 500, "internal", "internal error");
	}
}

int api_json_int(struct request *r, json_t *obj, const char *key, int64_t min, int64_t max, int64_t *out)
{
	json_t *v = json_object_get(obj, key);
	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
		http_reply_error(r, 400, "invalid_field", "'%s' must be an integer from %lld to %lld", key,
				 (long long)min, (long long)max);
		return -1;
	}
	*out = json_integer_value(v);
	return 1;
}

int api_json_str(struct request *r, json_t *obj, const char *key, size_t maxlen, const char **out)
{
	json_t *v = json_object_get(obj, key);
	if (v == NULL)
		return 0;
	if (!json_is_string(v) || json_string_length(v) > maxlen ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		http_reply_error(r, 400, "invalid_field", "'%s' must be a string of at most %zu octets", key, maxlen);
		return -1;
	}
	*out = json_string_value(v);
	return 1;
}

int64_t api_next_poll(struct server *srv, const struct store_device *d)
{
	(void)srv;
	return d->poll_interval_s;
}

static int auth_fail(struct request *r)
{
	http_reply(r, 401, "application/json", HTTP_LIT("{\"error\":\"unauthorized\",\"message\":\"invalid token\"}"),
		   (const char *const[]){"WWW-Authenticate", "Bearer error=\"invalid_token\"", NULL});
	return -1;
}

/* Hashes the request's bearer token; -1 (401 answered) when there is none. */
static int bearer_hash(struct request *r, uint8_t h[STORE_HASH_LEN])
{
	const char *tok = http_bearer(r);

	if (tok == NULL)
		return -1;
	keys_hash_token(tok, strlen(tok), h);
	return 0;
}

/* Turns a store lookup's result into 0, or -1 with 401 or the store's error answered. */
static int auth_result(struct request *r, int rc, const char *what)
{
	if (rc == STORE_NOTFOUND)
		return auth_fail(r);
	if (rc != STORE_OK) {
		api_store_error(r, rc, what);
		return -1;
	}
	return 0;
}

int api_auth_device(struct request *r, int64_t *device_id)
{
	uint8_t h[STORE_HASH_LEN];

	if (bearer_hash(r, h) != 0 || auth_result(r, store_device_auth(r->srv->store, h, device_id), "device") != 0)
		return -1;
	r->principal_id = *device_id;
	return 0;
}

int api_auth_device_poll(struct request *r, uint64_t after, int64_t now_ms, struct store_device *d, int *pending)
{
	uint8_t h[STORE_HASH_LEN];

	if (bearer_hash(r, h) != 0 ||
	    auth_result(r, store_device_poll_token(r->srv->store, h, after, now_ms, d, pending), "device") != 0)
		return -1;
	r->principal_id = d->id;
	return 0;
}

typedef int (*principal_auth_fn)(struct store *, const uint8_t *, struct store_principal *);

static int auth_principal(struct request *r, principal_auth_fn fn, struct store_principal *p, const char *what)
{
	uint8_t h[STORE_HASH_LEN];

	if (bearer_hash(r, h) != 0 || auth_result(r, fn(r->srv->store, h, p), what) != 0)
		return -1;
	r->principal_id = p->id;
	return 0;
}

int api_auth_provider(struct request *r, struct store_principal *p)
{
	return auth_principal(r, store_provider_auth, p, "provider");
}

int api_auth_gateway(struct request *r, struct store_principal *p)
{
	return auth_principal(r, store_gateway_auth, p, "gateway");
}

int api_authenticate(struct request *r, unsigned api)
{
	int64_t id;

	switch (api) {
	case API_PROVIDER: return api_auth_provider(r, &r->principal);
	case API_GATEWAY: return api_auth_gateway(r, &r->principal);
	case API_DEVICE:
		if (api_auth_device(r, &id) != 0)
			return -1;
		r->principal.id = id;
		return 0;
	default: return 0; /* API_PUSH: the handler verifies the sender's VAPID signature */
	}
}
