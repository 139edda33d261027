/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The route table and its matcher: exact paths, 405 with the path's methods, routes per API.
 * With --list it prints the table ("METHOD pattern" lines) for the OpenAPI comparison. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_common.h"
#include "config.h"
#include "http.h"
#include "json_u64.h"
#include "routes.h"

static const char *method_name(unsigned m)
{
	return m == ROUTE_GET     ? "GET"
	       : m == ROUTE_POST  ? "POST"
	       : m == ROUTE_PATCH ? "PATCH"
	       : m == ROUTE_PUT   ? "PUT"
				  : "DELETE";
}

/* The pattern with {id} spelled as 7. */
static void instance(const char *pattern, char *out, size_t len)
{
	size_t n = 0;
	for (const char *p = pattern; *p && n + 1 < len;) {
		if (strncmp(p, "{id}", 4) == 0) {
			out[n++] = '7';
			p += 4;
		} else {
			out[n++] = *p++;
		}
	}
	out[n] = '\0';
}

static void test_every_route_matches_itself(void **state)
{
	(void)state;
	assert_true(routes_count > 0 && routes_count < ROUTES_MAX);
	for (size_t i = 0; i < routes_count; i++) {
		char path[128];
		unsigned allowed;
		int64_t id = 0;
		instance(routes[i].pattern, path, sizeof(path));
		const struct route *rt = route_match(path, routes[i].method, API_ALL, &id, &allowed);
		assert_ptr_equal(rt, &routes[i]);
		assert_true(allowed & routes[i].method);
		if (strstr(routes[i].pattern, "{id}"))
			assert_int_equal(id, 7);
		assert_non_null(routes[i].handler);
		assert_non_null(routes[i].label);
		assert_int_equal(route_slot(rt), (int)i + 1);
		assert_string_equal(route_slot_label(route_slot(rt)), routes[i].label);
	}
	assert_string_equal(route_slot_label(0), "unknown");
	assert_string_equal(route_slot_label((int)routes_count + 1), "unknown");
}

static void test_labels_and_routes_unique(void **state)
{
	(void)state;
	for (size_t i = 0; i < routes_count; i++)
		for (size_t j = i + 1; j < routes_count; j++) {
			assert_string_not_equal(routes[i].label, routes[j].label);
			assert_false(routes[i].method == routes[j].method &&
				     strcmp(routes[i].pattern, routes[j].pattern) == 0);
		}
}

static void test_exact_paths_only(void **state)
{
	static const char *const bad[] = {
		"",
		"/",
		"/healthz/",
		"/healthz%00",
		"/HEALTHZ",
		"/v1/devices/",
		"/v1/devices//messages",
		"/v1/devices/07",
		"/v1/devices/0",
		"/v1/devices/7/",
		"/v1/devices/7/messages/",
		"/v1/devices/+7",
		"/v1/devices/7x",
		"/v1/devices/1234567890123456789",
		"/v1/messages/7/",
		"/v1//devices",
		"/v1/device/messages/",
		"/v1/devices/%37",
		"/v1/gateway/leas",
		"/v1/gateway/lease2",
		"/metricsx",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		unsigned allowed = 99;
		int64_t id = 0;
		assert_null(route_match(bad[i], ROUTE_GET, API_ALL, &id, &allowed));
		assert_null(route_match(bad[i], ROUTE_POST, API_ALL, &id, &allowed));
		if (allowed != 0)
			fail_msg("'%s' matched a route", bad[i]);
	}
}

static void test_method_not_allowed(void **state)
{
	unsigned allowed;
	int64_t id = 0;
	char allow[64];
	(void)state;

	assert_null(route_match("/v1/messages/12", ROUTE_POST, API_ALL, &id, &allowed));
	assert_int_equal(allowed, ROUTE_GET | ROUTE_DELETE);
	route_allow_header(allowed, allow, sizeof(allow));
	assert_string_equal(allow, "GET, HEAD, DELETE");
	assert_null(route_match("/v1/device/ack", ROUTE_DELETE, API_ALL, &id, &allowed));
	route_allow_header(allowed, allow, sizeof(allow));
	assert_string_equal(allow, "POST");
	assert_null(route_match("/v1/devices/3", ROUTE_POST, API_ALL, &id, &allowed));
	route_allow_header(allowed, allow, sizeof(allow));
	assert_string_equal(allow, "GET, HEAD, PATCH, DELETE");
	/* Unknown methods match no route; the path's methods are still known. */
	assert_null(route_match("/healthz", route_method_bit("PUT"), API_ALL, &id, &allowed));
	assert_int_equal(allowed, ROUTE_GET);
	assert_int_equal(route_method_bit("HEAD"), ROUTE_GET);
	assert_int_equal(route_method_bit("get"), 0);
	assert_null(route_match("/v1/device/push-keys", ROUTE_POST, API_ALL, &id, &allowed));
	route_allow_header(allowed, allow, sizeof(allow));
	assert_string_equal(allow, "PUT");
	assert_non_null(route_match("/v1/device/push-keys", route_method_bit("PUT"), API_DEVICE, &id, &allowed));
}

/* A push endpoint's token is one non-empty segment: nothing shorter or deeper is a route. */
static void test_token_segment(void **state)
{
	static const char *const bad[] = {"/push/", "/push", "/push/abc/", "/push/abc/def", "/pushabc"};
	const struct route *rt;
	unsigned allowed;
	int64_t id = 0;
	(void)state;

	rt = route_match("/push/AbC-_09", ROUTE_POST, API_ALL, &id, &allowed);
	assert_non_null(rt);
	assert_string_equal(rt->label, "push");
	/* Only on listeners that serve the push API (the sender signs with VAPID, no bearer). */
	assert_non_null(route_match("/push/x", ROUTE_POST, API_PUSH, &id, &allowed));
	assert_null(route_match("/push/x", ROUTE_POST, API_DEVICE | API_PROVIDER, &id, &allowed));
	assert_int_equal(allowed, 0);
	assert_null(route_match("/push/x", ROUTE_GET, API_ALL, &id, &allowed));
	assert_int_equal(allowed, ROUTE_POST);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_null(route_match(bad[i], ROUTE_POST, API_ALL, &id, &allowed));
		if (allowed != 0)
			fail_msg("'%s' matched a route", bad[i]);
	}
}

static void test_routes_per_api(void **state)
{
	unsigned allowed;
	int64_t id = 0;
	(void)state;

	/* A listener without the provider API has no provider routes: 404, not 405. */
	assert_null(route_match("/v1/devices", ROUTE_GET, API_DEVICE, &id, &allowed));
	assert_int_equal(allowed, 0);
	assert_non_null(route_match("/v1/device/messages", ROUTE_GET, API_DEVICE, &id, &allowed));
	assert_null(route_match("/v1/gateway/lease", ROUTE_POST, API_PROVIDER | API_DEVICE, &id, &allowed));
	assert_int_equal(allowed, 0);
	/* Operations routes are on every listener. */
	assert_non_null(route_match("/healthz", ROUTE_GET, API_GATEWAY, &id, &allowed));
	assert_non_null(route_match("/metrics", ROUTE_GET, 0, &id, &allowed));
}

/* http_time against glibc's gmtime_r and strftime: the epoch, leap days of the 400-, 100- and
 * 4-year rules, the ends of years and months, and pseudo-random times up to 9999. */
static void test_http_time_matches_gmtime(void **state)
{
	static const int64_t fixed[] = {0,
					999,
					1000,
					86399999,
					86400000,
					951782400000,
					951868800000,
					4107542400000,
					4107456000000,
					4102444799999,
					1709164800000,
					1709251199999,
					2147483647000,
					253402300799999};
	uint64_t x = 88172645463325252ull;
	(void)state;

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]) + 20000; i++) {
		int64_t ms;
		char ours[32], want[32];
		struct tm tm;
		time_t s;
		size_t n;

		if (i < sizeof(fixed) / sizeof(fixed[0])) {
			ms = fixed[i];
		} else {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			ms = (int64_t)(x % 253402300800000ull);
		}
		s = (time_t)(ms / 1000);
		assert_non_null(gmtime_r(&s, &tm));
		n = strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(want + n, sizeof(want) - n, ".%03dZ", (int)(ms % 1000));
		http_time(ms, ours);
		if (strcmp(ours, want) != 0)
			fail_msg("%lld ms: %s, gmtime_r says %s", (long long)ms, ours, want);
	}
}

/* The submit's answer written by hand is byte for byte what jansson writes for api_message_json,
 * with and without the optional fields, and with the characters JSON escapes. */
static void test_message_json_text_matches_jansson(void **state)
{
	static const char *const ctypes[] = {"text/plain", "application/octet-stream", "text/plain; charset=\"utf-8\"",
					     "a\\b", ""};
	(void)state;

	for (size_t i = 0; i < sizeof(ctypes) / sizeof(ctypes[0]) * 4; i++) {
		struct store_message m = {.id = 123456789012 + (int64_t)i,
					  .device_id = 42,
					  .seq = 9223372036854775807ull - i,
					  .state = (int)(i % 8),
					  .urgency = (int)(i % 4),
					  .created_ms = 1764800000123 + (int64_t)i,
					  .expires_ms = 1764886400456,
					  .updated_ms = 1764800000789,
					  .body_len = 4096 * i};
		char ours[API_MESSAGE_JSON_MAX];
		json_t *j;
		char *want;
		size_t n;

		snprintf(m.content_type, sizeof(m.content_type), "%s", ctypes[i % 5]);
		if (i & 1)
			snprintf(m.topic, sizeof(m.topic), "status-%zu_x", i);
		if (i & 2)
			snprintf(m.content_encoding, sizeof(m.content_encoding), "aes128gcm");
		n = api_message_json_text(&m, ours, sizeof(ours));
		assert_true(n < sizeof(ours));
		assert_int_equal(strlen(ours), n);
		j = api_message_json(&m);
		want = json_u64_dumps(j, JSON_COMPACT);
		json_decref(j);
		assert_non_null(want);
		if (strcmp(ours, want) != 0)
			fail_msg("ours:    %s\njansson: %s", ours, want);
		/* Too small a buffer: the length needed, and a terminated prefix. */
		assert_int_equal(api_message_json_text(&m, ours, 10), n);
		assert_int_equal(strlen(ours), 9);
		free(want);
	}
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--list") == 0) {
		for (size_t i = 0; i < routes_count; i++)
			printf("%s %s\n", method_name(routes[i].method), routes[i].pattern);
		return 0;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_route_matches_itself),
		cmocka_unit_test(test_labels_and_routes_unique),
		cmocka_unit_test(test_exact_paths_only),
		cmocka_unit_test(test_method_not_allowed),
		cmocka_unit_test(test_token_segment),
		cmocka_unit_test(test_routes_per_api),
		cmocka_unit_test(test_http_time_matches_gmtime),
		cmocka_unit_test(test_message_json_text_matches_jansson),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
