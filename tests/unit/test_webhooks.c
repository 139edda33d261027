/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The webhook address guard (server-side request forgery) and the event body. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "webhooks.h"

static int allowed(const struct webhook_config *c, const char *addr)
{
	struct sockaddr_in s4 = {.sin_family = AF_INET};
	struct sockaddr_in6 s6 = {.sin6_family = AF_INET6};

	if (inet_pton(AF_INET, addr, &s4.sin_addr) == 1)
		return webhooks_addr_allowed(c, (struct sockaddr *)&s4);
	assert_int_equal(inet_pton(AF_INET6, addr, &s6.sin6_addr), 1);
	return webhooks_addr_allowed(c, (struct sockaddr *)&s6);
}

static void test_refused_by_default(void **state)
{
	static const char *const bad[] = {
		"127.0.0.1",
		"127.1.2.3",
		"10.1.2.3",
		"172.16.0.1",
		"172.31.255.255",
		"192.168.1.1",
		"169.254.169.254",
		"0.0.0.0",
		"100.64.0.1",
		"224.0.0.1",
		"255.255.255.255",
		"::1",
		"::",
		"fe80::1",
		"fc00::1",
		"fd12:3456::1",
		"ff02::1",
		"::ffff:127.0.0.1",
		"::ffff:10.0.0.1",
		"::ffff:169.254.169.254",
		"64:ff9b::7f00:1",
		"2002:7f00:1::1",
		"::127.0.0.1",
	};
	static const char *const good[] = {"93.184.216.34", "8.8.8.8", "172.32.0.1", "2606:4700::1111",
					   "::ffff:93.184.216.34"};
	struct webhook_config c = {0};
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (allowed(&c, bad[i]))
			fail_msg("%s allowed", bad[i]);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!allowed(&c, good[i]))
			fail_msg("%s refused", good[i]);
}

static void test_operator_opens_ranges(void **state)
{
	struct webhook_config c = {0};
	(void)state;

	assert_int_equal(config_parse_cidr("127.0.0.0/8", &c.allow[0]), 0);
	assert_int_equal(config_parse_cidr("fd00::/8", &c.allow[1]), 0);
	c.nallow = 2;
	assert_true(allowed(&c, "127.0.0.1"));
	assert_true(allowed(&c, "::ffff:127.0.0.2")); /* the same address, v4-mapped */
	assert_true(allowed(&c, "fd00::5"));
	assert_false(allowed(&c, "10.0.0.1"));
	assert_false(allowed(&c, "::1"));
	assert_false(allowed(&c, "fc00::1"));
	assert_int_equal(config_parse_cidr("10.0.0.0/33", &c.allow[0]), -1);
	assert_int_equal(config_parse_cidr("10.0.0/8", &c.allow[0]), -1);
	assert_int_equal(config_parse_cidr("::/129", &c.allow[0]), -1);
	assert_int_equal(config_parse_cidr("/8", &c.allow[0]), -1);
}

static void test_event_body(void **state)
{
	struct store_event_out e = {.id = 9,
				    .provider_id = 1,
				    .type = "message.acked",
				    .time_ms = 1795000000123,
				    .message_id = 42,
				    .device_id = 7,
				    .seq = 3,
				    .state = "acked"};
	char *s;
	(void)state;

	s = webhooks_event_body(&e);
	assert_non_null(s);
	assert_string_equal(s, "{\"type\":\"message.acked\",\"timestamp\":\"2026-11-18T11:06:40.123Z\",\"data\":{"
			       "\"message_id\":42,\"device_id\":7,\"seq\":3,\"state\":\"acked\"}}");
	free(s);
	e.message_id = 0;
	snprintf(e.type, sizeof(e.type), "device.unreachable");
	snprintf(e.state, sizeof(e.state), "unreachable");
	s = webhooks_event_body(&e);
	assert_string_equal(s, "{\"type\":\"device.unreachable\",\"timestamp\":\"2026-11-18T11:06:40.123Z\",\"data\":{"
			       "\"device_id\":7,\"state\":\"unreachable\"}}");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refused_by_default),
		cmocka_unit_test(test_operator_opens_ranges),
		cmocka_unit_test(test_event_body),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
