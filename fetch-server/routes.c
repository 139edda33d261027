/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The one route table of smswake-server and its matcher. Paths match exactly as sent (no
 * percent-decoding, no trailing slash, no empty segment): anything else is no route. */
#include "routes.h"

#include <string.h>

#include "api.h"
#include "http.h"

const struct route routes[] = {
	{ROUTE_GET, "/healthz", 0, api_healthz, 0, "healthz", 0},
	{ROUTE_GET, "/metrics", 0, api_metrics, 0, "metrics", 0},
	{ROUTE_POST, "/v1/devices", API_PROVIDER, api_device_create, HTTP_JSON_MAX, "device_create", 0},
	{ROUTE_POST, "/v1/devices/bulk", API_PROVIDER, api_device_bulk, API_DEVICE_BULK_BODY_MAX, "device_bulk", 0},
	{ROUTE_GET, "/v1/devices", API_PROVIDER, api_device_list, HTTP_JSON_MAX, "device_list", 0},
	{ROUTE_GET, "/v1/devices/{id}", API_PROVIDER, api_device_get, HTTP_JSON_MAX, "device_get", 0},
	{ROUTE_PATCH, "/v1/devices/{id}", API_PROVIDER, api_device_patch, HTTP_JSON_MAX, "device_patch", 0},
	{ROUTE_DELETE, "/v1/devices/{id}", API_PROVIDER, api_device_delete, HTTP_JSON_MAX, "device_delete", 0},
	{ROUTE_POST, "/v1/devices/{id}/messages", API_PROVIDER, api_message_submit, STORE_BODY_MAX, "message_submit",
	 0},
	{ROUTE_POST, "/v1/messages", API_PROVIDER, api_batch_submit, 1 << 20, "batch_submit", 0},
	{ROUTE_GET, "/v1/batches/{id}", API_PROVIDER, api_batch_get, 0, "batch_get", 0},
	{ROUTE_GET, "/v1/messages/{id}", API_PROVIDER, api_message_get, 0, "message_get", 0},
	{ROUTE_DELETE, "/v1/messages/{id}", API_PROVIDER, api_message_delete, 0, "message_delete", 0},
	{ROUTE_POST, "/v1/webhooks", API_PROVIDER, api_webhook_create, HTTP_JSON_MAX, "webhook_create", 0},
	{ROUTE_GET, "/v1/webhooks", API_PROVIDER, api_webhook_list, 0, "webhook_list", 0},
	{ROUTE_GET, "/v1/webhooks/{id}", API_PROVIDER, api_webhook_get, 0, "webhook_get", 0},
	{ROUTE_DELETE, "/v1/webhooks/{id}", API_PROVIDER, api_webhook_delete, 0, "webhook_delete", 0},
	{ROUTE_GET, "/v1/events", API_PROVIDER, api_events, 0, "events", 0},
	{ROUTE_GET, "/v1/device/messages", API_DEVICE, api_device_fetch, 0, "device_fetch", ROUTE_SELF_AUTH},
	{ROUTE_POST, "/v1/device/ack", API_DEVICE, api_device_ack, HTTP_JSON_MAX, "device_ack", 0},
	{ROUTE_PUT, "/v1/device/push-keys", API_DEVICE, api_device_push_keys, HTTP_JSON_MAX, "device_push_keys", 0},
	/* Web Push (RFC 8030): the sender authenticates with VAPID in the handler, not a bearer token. */
	{ROUTE_POST, "/push/{token}", API_PUSH, api_webpush, STORE_BODY_MAX, "push", 0},
	{ROUTE_POST, "/v1/gateway/lease", API_GATEWAY, api_gateway_lease, HTTP_JSON_MAX, "gateway_lease", 0},
	{ROUTE_POST, "/v1/gateway/report", API_GATEWAY, api_gateway_report, HTTP_JSON_MAX, "gateway_report", 0},
};
const size_t routes_count = sizeof(routes) / sizeof(routes[0]);

_Static_assert(sizeof(routes) / sizeof(routes[0]) < ROUTES_MAX, "raise ROUTES_MAX");

unsigned route_method_bit(const char *m)
{
	if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0)
		return ROUTE_GET;
	if (strcmp(m, "POST") == 0)
		return ROUTE_POST;
	if (strcmp(m, "PATCH") == 0)
		return ROUTE_PATCH;
	if (strcmp(m, "DELETE") == 0)
		return ROUTE_DELETE;
	if (strcmp(m, "PUT") == 0)
		return ROUTE_PUT;
	return 0;
}

/* A decimal id segment of at most 18 digits without a leading zero (one spelling per id),
 * ending at '/' or the end: its length, or -1. */
static int parse_id(const char *s, int64_t *id)
{
	int64_t v = 0;
	int n = 0;

	if (s[0] == '0')
		return -1;
	while (s[n] >= '0' && s[n] <= '9' && n < 18) {
		v = v * 10 + (s[n] - '0');
		n++;
	}
	if (n == 0 || (s[n] != '\0' && s[n] != '/') || v <= 0)
		return -1;
	*id = v;
	return n;
}

/* 1 when path matches pattern exactly ({id} into *id), else 0. */
static int pattern_match(const char *pattern, const char *path, int64_t *id)
{
	const char *p = pattern, *s = path;

	while (*p) {
		if (*p == '{' && strcmp(p, "{token}") == 0)
			return s[0] != '\0' && strchr(s, '/') == NULL;
		if (*p == '{' && strncmp(p, "{id}", 4) == 0) {
			int n = parse_id(s, id);
			if (n < 0)
				return 0;
			p += 4;
			s += n;
			continue;
		}
		if (*p != *s)
			return 0;
		p++;
		s++;
	}
	return *s == '\0';
}

const struct route *route_match(const char *path, unsigned method, unsigned apis, int64_t *id, unsigned *allowed)
{
	const struct route *found = NULL;
	int64_t v = 0;

	*allowed = 0;
	for (size_t i = 0; i < routes_count; i++) {
		const struct route *rt = &routes[i];
		if (rt->api != 0 && !(rt->api & apis))
			continue;
		if (!pattern_match(rt->pattern, path, &v))
			continue;
		*allowed |= rt->method;
		if (rt->method == method && found == NULL) {
			found = rt;
			*id = v;
		}
	}
	return found;
}

void route_allow_header(unsigned allowed, char *out, size_t len)
{
	static const struct {
		unsigned bit;
		const char *text;
	} names[] = {{ROUTE_GET, "GET, HEAD"},
		     {ROUTE_POST, "POST"},
		     {ROUTE_PATCH, "PATCH"},
		     {ROUTE_DELETE, "DELETE"},
		     {ROUTE_PUT, "PUT"}};
	size_t n = 0;

	if (len == 0)
		return;
	out[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t t = strlen(names[i].text);
		if (!(allowed & names[i].bit))
			continue;
		if (n > 0 && n + 2 < len) {
			memcpy(out + n, ", ", 2);
			n += 2;
		}
		if (n + t >= len)
			break;
		memcpy(out + n, names[i].text, t);
		n += t;
		out[n] = '\0';
	}
	out[n] = '\0';
}

int route_slot(const struct route *rt)
{
	return rt ? (int)(rt - routes) + 1 : 0;
}

const char *route_slot_label(int slot)
{
	return slot > 0 && (size_t)slot <= routes_count ? routes[slot - 1].label : "unknown";
}
