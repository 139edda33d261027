/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the gateway says to Kannel's smsbox and reads back (gateway/kannel_msg.c): the sendsms
 * query of an 8-bit wakeup carries the modem path's port header and the payload byte for byte,
 * a text wakeup its UTF-8 text; smsbox's answers and the delivery-report callbacks map onto the
 * gateway's events; malformed callbacks are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "kannel_msg.h"
#include "pdu.h"

static const struct kannel_send_params params = {
	.username = "gw",
	.password = "p&ss=w rd",
	.from = "smswake",
	.smsc = "smpp1",
	.dlr_url = "http://127.0.0.1:8080/dlr?id=42&t=%d&k=abc",
	.dlr_mask = KANNEL_DLR_MASK,
};

static void binary_sms(struct modem_sms_out *sms)
{
	memset(sms, 0, sizeof(*sms));
	snprintf(sms->number, sizeof(sms->number), "+4915550001");
	sms->binary = 1;
	sms->dst_port = sms->src_port = 16537;
	for (int i = 0; i < 36; i++)
		sms->data[i] = (uint8_t)(i * 7 + 0x20 * (i & 1));
	sms->data[3] = '&';
	sms->data[4] = '%';
	sms->data[5] = 0;
	sms->data_len = 36;
	sms->validity_minutes = 10;
}

/* Decodes the value of name in a query (for checks only). */
static int value(const char *q, const char *name, uint8_t *out, size_t max)
{
	size_t nl = strlen(name), o = 0;
	const char *p = q;

	for (;;) {
		if (strncmp(p, name, nl) == 0 && p[nl] == '=')
			break;
		if ((p = strchr(p, '&')) == NULL)
			return -1;
		p++;
	}
	for (p += nl + 1; *p && *p != '&' && o < max; p++) {
		unsigned v;
		if (*p == '%') {
			assert_int_equal(sscanf(p + 1, "%2x", &v), 1);
			out[o++] = (uint8_t)v;
			p += 2;
		} else {
			out[o++] = (uint8_t)*p;
		}
	}
	return (int)o;
}

static void test_binary_query(void **state)
{
	struct modem_sms_out sms;
	char q[2048];
	uint8_t v[256], udh[PDU_PORT_UDH_LEN];
	int n;

	(void)state;
	binary_sms(&sms);
	assert_true(kannel_sendsms_query(&params, &sms, q, sizeof(q)) > 0);
	/* Only unreserved characters and escapes: nothing that could end a field early. */
	assert_null(strpbrk(q, " +#?\"<>"));
	assert_int_equal(value(q, "coding", v, sizeof(v)), 1);
	assert_int_equal(v[0], '1');
	n = value(q, "udh", v, sizeof(v));
	pdu_port_udh(udh, 16537, 16537);
	assert_int_equal(n, 7);
	assert_memory_equal(v, udh, 7);
	assert_memory_equal(v, "\x06\x05\x04\x40\x99\x40\x99", 7);
	assert_int_equal(value(q, "text", v, sizeof(v)), 36);
	assert_memory_equal(v, sms.data, 36);
	n = value(q, "password", v, sizeof(v));
	assert_int_equal(n, 9);
	assert_memory_equal(v, "p&ss=w rd", 9);
	n = value(q, "to", v, sizeof(v));
	assert_memory_equal(v, "+4915550001", (size_t)n);
	assert_int_equal(value(q, "validity", v, sizeof(v)), 2);
	assert_memory_equal(v, "10", 2);
	n = value(q, "smsc", v, sizeof(v));
	assert_memory_equal(v, "smpp1", (size_t)n);
	n = value(q, "dlr-mask", v, sizeof(v));
	assert_memory_equal(v, "23", (size_t)n);
	n = value(q, "dlr-url", v, sizeof(v));
	assert_int_equal(n, (int)strlen(params.dlr_url));
	assert_memory_equal(v, params.dlr_url, (size_t)n);
}

static void test_text_query(void **state)
{
	struct modem_sms_out sms;
	struct kannel_send_params p = params;
	char q[2048];
	uint8_t v[256];
	int n;

	(void)state;
	memset(&sms, 0, sizeof(sms));
	snprintf(sms.number, sizeof(sms.number), "+15550000002");
	snprintf(sms.text, sizeof(sms.text), "SW1 abc+/=");
	p.from = NULL;
	p.smsc = "";
	p.dlr_mask = 0;
	assert_true(kannel_sendsms_query(&p, &sms, q, sizeof(q)) > 0);
	n = value(q, "text", v, sizeof(v));
	assert_int_equal(n, 10);
	assert_memory_equal(v, "SW1 abc+/=", 10);
	assert_int_equal(value(q, "coding", v, sizeof(v)), 1);
	assert_int_equal(v[0], '0');
	n = value(q, "charset", v, sizeof(v));
	assert_memory_equal(v, "UTF-8", (size_t)n);
	/* No sender, smsc, validity or report asked when there is none. */
	assert_int_equal(value(q, "from", v, sizeof(v)), -1);
	assert_int_equal(value(q, "smsc", v, sizeof(v)), -1);
	assert_int_equal(value(q, "validity", v, sizeof(v)), -1);
	assert_int_equal(value(q, "dlr-url", v, sizeof(v)), -1);
}

static void test_query_refuses(void **state)
{
	struct modem_sms_out sms;
	char q[2048];

	(void)state;
	binary_sms(&sms);
	/* Too small a buffer: refused, not cut. */
	for (size_t m = 0; m < 200; m += 7)
		assert_int_equal(kannel_sendsms_query(&params, &sms, q, m), -1);
	/* Not a number, and too long for one SMS. */
	snprintf(sms.number, sizeof(sms.number), "+49 155");
	assert_int_equal(kannel_sendsms_query(&params, &sms, q, sizeof(q)), -1);
	binary_sms(&sms);
	sms.data_len = 140;
	assert_int_equal(kannel_sendsms_query(&params, &sms, q, sizeof(q)), -1);
}

static void test_answers(void **state)
{
	char msg[64];

	(void)state;
	assert_int_equal(kannel_answer_parse(202, "0: Accepted for delivery", 24, msg, sizeof(msg)),
			 KANNEL_ANS_ACCEPTED);
	assert_string_equal(msg, "0: Accepted for delivery");
	assert_int_equal(kannel_answer_parse(202, "3: Queued for later delivery", 28, msg, sizeof(msg)),
			 KANNEL_ANS_QUEUED);
	assert_int_equal(kannel_answer_parse(403, "Authorization failed for sendsms", 32, msg, sizeof(msg)),
			 KANNEL_ANS_REFUSED);
	assert_string_equal(msg, "Authorization failed for sendsms");
	assert_int_equal(kannel_answer_parse(400, "Sender missing and no global set, rejected", 42, msg, sizeof(msg)),
			 KANNEL_ANS_REFUSED);
	assert_int_equal(kannel_answer_parse(503, "4: Message rejected by bearerbox, no router", 43, msg, 16),
			 KANNEL_ANS_THROTTLED);
	assert_string_equal(msg, "4: Message reje"); /* cut to the buffer */
	assert_int_equal(kannel_answer_parse(500, "", 0, msg, sizeof(msg)), KANNEL_ANS_THROTTLED);
	assert_string_equal(msg, "HTTP 500");
	/* Control characters never reach a log line. */
	assert_int_equal(kannel_answer_parse(403, "a\x1b[2Jb\nsecond", 13, msg, sizeof(msg)), KANNEL_ANS_REFUSED);
	assert_string_equal(msg, "a?[2Jb");
}

static void test_dlr_parse(void **state)
{
	uint64_t id = 0;
	int type = 0;
	char key[40];
	static const char *const bad[] = {
		"id=42&t=1",                                            /* no key */
		"id=42&k=abc",                                          /* no type */
		"t=1&k=abc",                                            /* no id */
		"id=0&t=1&k=abc",                                       /* no job is 0 */
		"id=-1&t=1&k=abc",                                      /* not a number */
		"id=42&t=1&k=abc&id=43",                                /* repeated */
		"id=18446744073709551616&t=1&k=a",                      /* past 64 bits */
		"id=42&t=256&k=abc",                                    /* not a type */
		"id=42&t=1&k=a%2",                                      /* cut escape */
		"id=42&t=1&k=a%00b",                                    /* NUL */
		"id=4%32&t=%&k=abc",                                    /* bad escape */
		"id=42&t=1&k=0123456789012345678901234567890123456789", /* key too long */
		"",
	};

	(void)state;
	assert_int_equal(kannel_dlr_parse("id=42&t=1&k=abc", 15, &id, &type, key, sizeof(key)), 0);
	assert_true(id == 42);
	assert_int_equal(type, 1);
	assert_string_equal(key, "abc");
	/* Any order, unknown fields ignored, escapes decoded. */
	assert_int_equal(
		kannel_dlr_parse("t=16&x=y&k=a%62c&id=18446744073709551615&z", 42, &id, &type, key, sizeof(key)), 0);
	assert_true(id == UINT64_MAX);
	assert_int_equal(type, 16);
	assert_string_equal(key, "abc");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(kannel_dlr_parse(bad[i], strlen(bad[i]), &id, &type, key, sizeof(key)), -1);
	/* The length is respected: what follows is not read. */
	assert_int_equal(kannel_dlr_parse("id=42&t=1&k=abcdef", 13, &id, &type, key, sizeof(key)), 0);
	assert_string_equal(key, "a");
}

static void test_dlr_outcome(void **state)
{
	(void)state;
	assert_int_equal(kannel_dlr_outcome(KANNEL_DLR_DELIVERED), 1);
	assert_int_equal(kannel_dlr_outcome(KANNEL_DLR_FAILED), -1);
	assert_int_equal(kannel_dlr_outcome(KANNEL_DLR_SMSC_REJECTED), -1);
	assert_int_equal(kannel_dlr_outcome(KANNEL_DLR_BUFFERED), 0);
	assert_int_equal(kannel_dlr_outcome(KANNEL_DLR_SMSC_ACCEPTED), 0);
	assert_int_equal(kannel_dlr_outcome(3), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_binary_query),  cmocka_unit_test(test_text_query),
		cmocka_unit_test(test_query_refuses), cmocka_unit_test(test_answers),
		cmocka_unit_test(test_dlr_parse),     cmocka_unit_test(test_dlr_outcome),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
