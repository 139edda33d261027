/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The route table and its matcher: exact paths, 405 with the path's methods, routes per API.
 * With --list it prints the table ("METHOD pattern" lines) for the OpenAPI comparison. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "config.h"
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
	/* Served without a bearer API: the sender signs with VAPID instead. */
	assert_non_null(route_match("/push/x", ROUTE_POST, 0, &id, &allowed));
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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
