/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Provider API: webhook endpoints (api.md, "Webhooks"). An endpoint's secret is shown once, when
 * it is made; deliveries are the delivery worker's (webhooks.c). */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "api_common.h"
#include "crypto.h"
#include "encode.h"
#include "util.h"

#define WEBHOOKS_PER_PROVIDER 16

static const char *const event_types[] = {
	"message.wake_sent", "message.sms_delivered", "message.fetched",    "message.acked",
	"message.expired",   "message.undeliverable", "device.unreachable", NULL,
};

/* ",a,b," to a JSON array. */
static json_t *events_json(const char *list)
{
	json_t *a = json_array();
	const char *p = list;

	while (*p == ',' && p[1] != '\0') {
		size_t n = strcspn(p + 1, ",");
		json_array_append_new(a, json_stringn(p + 1, n));
		p += n + 1;
	}
	return a;
}

static json_t *webhook_json(const struct store_webhook *w, int detail)
{
	char at[32];
	json_t *j;

	http_time(w->created_ms, at);
	j = json_pack("{s:I, s:s, s:o, s:s, s:s}", "id", (json_int_t)w->id, "url", w->url, "events",
		      events_json(w->events), "created_at", at, "state", w->disabled_ms ? "disabled" : "active");
	if (!detail)
		return j;
	json_object_set_new(j, "backlog", json_integer(w->backlog));
	json_object_set_new(j, "delivered", json_integer(w->delivered));
	json_object_set_new(j, "failures", json_integer(w->failures));
	json_object_set_new(j, "last_status", w->last_attempt_ms ? json_integer(w->last_status) : json_null());
	json_object_set_new(j, "last_error", w->last_error[0] ? json_string(w->last_error) : json_null());
	if (w->last_attempt_ms) {
		http_time(w->last_attempt_ms, at);
		json_object_set_new(j, "last_attempt_at", json_string(at));
	} else {
		json_object_set_new(j, "last_attempt_at", json_null());
	}
	if (w->disabled_ms) {
		http_time(w->disabled_ms, at);
		json_object_set_new(j, "disabled_at", json_string(at));
	}
	return j;
}

/* An absolute http or https URL with a host and no credentials; 0 or -1 (answered 400). */
static int check_url(struct request *r, const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *user = NULL;
	int ok;

	if (u == NULL) {
		http_reply_error(r, 500, "internal", "out of memory");
		return -1;
	}
	ok = curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	     curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	     curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host[0] != '\0' &&
	     (strcmp(scheme, "https") == 0 || strcmp(scheme, "http") == 0) &&
	     curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_NO_USER;
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	curl_url_cleanup(u);
	for (const char *p = url; ok && *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			ok = 0;
	if (!ok) {
		http_reply_error(r, 400, "invalid_url",
				 "'url' must be an absolute http:// or https:// URL with a host and no user name");
		return -1;
	}
	return 0;
}

/* The "events" array to ",a,b,"; 0 or -1 (answered 400). */
static int parse_events(struct request *r, json_t *arr, char *out, size_t outlen)
{
	size_t i, n = 1;
	json_t *v;

	if (!json_is_array(arr) || json_array_size(arr) == 0) {
		http_reply_error(r, 400, "invalid_field", "'events' must be a non-empty array of event types");
		return -1;
	}
	out[0] = ',';
	out[1] = '\0';
	json_array_foreach (arr, i, v) {
		const char *t = json_string_value(v);
		const char *const *k = event_types;
		char item[40];
		while (t && *k && strcmp(*k, t) != 0)
			k++;
		if (t == NULL || *k == NULL) {
			http_reply_error(r, 400, "invalid_event_type",
					 "unknown event type in 'events'; known: message.wake_sent, "
					 "message.sms_delivered, message.fetched, message.acked, message.expired, "
					 "message.undeliverable, device.unreachable");
			return -1;
		}
		snprintf(item, sizeof(item), ",%s,", t);
		if (strstr(out, item) != NULL)
			continue;
		if (n + strlen(t) + 2 > outlen)
			return -1;
		memcpy(out + n, t, strlen(t));
		n += strlen(t);
		out[n++] = ',';
		out[n] = '\0';
	}
	return 0;
}

static int count_one(void *arg, const struct store_webhook *w)
{
	(void)w;
	(*(int *)arg)++;
	return 0;
}

enum MHD_Result api_webhook_create(struct request *r)
{
	static const char *const allowed[] = {"url", "events", NULL};
	struct store_webhook w;
	uint8_t secret[STORE_SECRET_LEN];
	char shown[8 + ENC_B64_LEN(STORE_SECRET_LEN)], loc[64];
	const char *url = NULL;
	json_t *body = http_json_body(r), *out;
	int rc, n = 0;

	if (body == NULL)
		return MHD_YES;
	memset(&w, 0, sizeof(w));
	if (http_json_check_fields(r, body, allowed) != 0 || api_json_str(r, body, "url", STORE_URL_MAX, &url) < 0)
		goto answered;
	if (url == NULL) {
		http_reply_error(r, 400, "missing_field", "'url' is required");
		goto answered;
	}
	if (check_url(r, url) != 0 || parse_events(r, json_object_get(body, "events"), w.events, sizeof(w.events)) != 0)
		goto answered;
	snprintf(w.url, sizeof(w.url), "%s", url);
	json_decref(body);
	rc = store_webhook_list(r->srv->store, r->principal.id, count_one, &n);
	if (rc != STORE_OK)
		return api_store_error(r, rc, "webhook");
	if (n >= WEBHOOKS_PER_PROVIDER)
		return http_reply_error(r, 409, "too_many_webhooks", "a provider has at most %d webhook endpoints",
					WEBHOOKS_PER_PROVIDER);
	w.provider_id = r->principal.id;
	if (crypto_random(secret, sizeof(secret)) != 0)
		return http_reply_error(r, 500, "internal", "cannot make a secret");
	rc = store_webhook_add(r->srv->store, &w, secret, util_now_ms());
	if (rc != STORE_OK) {
		explicit_bzero(secret, sizeof(secret));
		return api_store_error(r, rc, "webhook");
	}
	memcpy(shown, "whsec_", 6);
	enc_b64(secret, sizeof(secret), shown + 6, 0);
	explicit_bzero(secret, sizeof(secret));
	out = webhook_json(&w, 0);
	json_object_set_new(out, "secret", json_string(shown));
	explicit_bzero(shown, sizeof(shown));
	snprintf(loc, sizeof(loc), "/v1/webhooks/%lld", (long long)w.id);
	return http_reply_json(r, 201, out, (const char *const[]){"Location", loc, NULL});
answered:
	json_decref(body);
	return MHD_YES;
}

static int list_one(void *arg, const struct store_webhook *w)
{
	json_array_append_new(arg, webhook_json(w, 1));
	return 0;
}

enum MHD_Result api_webhook_list(struct request *r)
{
	json_t *arr = json_array();
	int rc = store_webhook_list(r->srv->store, r->principal.id, list_one, arr);

	if (rc != STORE_OK) {
		json_decref(arr);
		return api_store_error(r, rc, "webhook");
	}
	return http_reply_json(r, 200, json_pack("{s:o}", "webhooks", arr), NULL);
}

enum MHD_Result api_webhook_get(struct request *r)
{
	struct store_webhook w;
	int rc = store_webhook_get(r->srv->store, r->principal.id, r->id, &w);

	if (rc != STORE_OK)
		return api_store_error(r, rc, "webhook");
	return http_reply_json(r, 200, webhook_json(&w, 1), NULL);
}

enum MHD_Result api_webhook_delete(struct request *r)
{
	int rc = store_webhook_delete(r->srv->store, r->principal.id, r->id);

	if (rc != STORE_OK)
		return api_store_error(r, rc, "webhook");
	return http_reply(r, 204, NULL, "", 0, NULL);
}
