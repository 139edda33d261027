/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of the modem library's checks made before Gammu is called: the port header, the
 * 140-octet limit, text lengths, validity encoding, UDH parsing, and the classification of Gammu
 * and +CMS errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <gammu.h>

#include "modem.h"

static void binary_msg(struct modem_sms_out *m, size_t len)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->number, sizeof(m->number), "%s", "+15550000002");
	m->binary = 1;
	m->dst_port = 0x23f0;
	m->src_port = 0x1234;
	memset(m->data, 0xab, sizeof(m->data));
	m->data_len = len;
}

static void text_msg(struct modem_sms_out *m, const char *text)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->number, sizeof(m->number), "%s", "+15550000002");
	size_t n = strlen(text);
	assert_true(n < sizeof(m->text));
	memcpy(m->text, text, n + 1);
}

static void test_binary_limit(void **state)
{
	struct modem_sms_out m;

	(void)state;
	binary_msg(&m, 0);
	assert_int_equal(modem_sms_check(&m), MODEM_OK);
	binary_msg(&m, 133);
	assert_int_equal(modem_sms_check(&m), MODEM_OK);
	binary_msg(&m, 134);
	assert_int_equal(modem_sms_check(&m), MODEM_E_TOO_LONG);
	binary_msg(&m, 100000);
	assert_int_equal(modem_sms_check(&m), MODEM_E_TOO_LONG);
	assert_int_equal(modem_err_class(MODEM_E_TOO_LONG), MODEM_CLASS_PERMANENT);
	assert_int_equal(MODEM_BINARY_MAX + MODEM_PORT_UDH_LEN, 140);
}

static void test_number_check(void **state)
{
	struct modem_sms_out m;

	(void)state;
	binary_msg(&m, 10);
	snprintf(m.number, sizeof(m.number), "%s", "");
	assert_int_equal(modem_sms_check(&m), MODEM_E_INVAL);
	snprintf(m.number, sizeof(m.number), "%s", "+");
	assert_int_equal(modem_sms_check(&m), MODEM_E_INVAL);
	snprintf(m.number, sizeof(m.number), "%s", "+1555 0000");
	assert_int_equal(modem_sms_check(&m), MODEM_E_INVAL);
	snprintf(m.number, sizeof(m.number), "%s", "123456789012345678901");
	assert_int_equal(modem_sms_check(&m), MODEM_E_INVAL);
	snprintf(m.number, sizeof(m.number), "%s", "12345");
	assert_int_equal(modem_sms_check(&m), MODEM_OK);
	m.validity_minutes = -1;
	assert_int_equal(modem_sms_check(&m), MODEM_E_INVAL);
}

static void test_text_limits(void **state)
{
	struct modem_sms_out m;
	char buf[700];
	int ucs2, units;

	(void)state;
	memset(buf, 'a', 160);
	buf[160] = '\0';
	text_msg(&m, buf);
	assert_int_equal(modem_sms_check(&m), MODEM_OK);
	buf[160] = 'a';
	buf[161] = '\0';
	text_msg(&m, buf);
	assert_int_equal(modem_sms_check(&m), MODEM_E_TOO_LONG);

	/* Extension characters take two septets. */
	memset(buf, '{', 80);
	buf[80] = '\0';
	text_msg(&m, buf);
	assert_int_equal(modem_sms_check(&m), MODEM_OK);
	assert_int_equal(modem_text_units(buf, &ucs2, &units), 0);
	assert_int_equal(ucs2, 0);
	assert_int_equal(units, 160);
	snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s", "x");
	text_msg(&m, buf);
	assert_int_equal(modem_sms_check(&m), MODEM_E_TOO_LONG);

	/* Anything outside ASCII goes as UCS-2: 70 units. */
	buf[0] = '\0';
	for (int i = 0; i < 70; i++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s", "\xc3\xa9"); /* e acute */
	text_msg(&m, buf);
	assert_int_equal(modem_sms_check(&m), MODEM_OK);
	snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s", "a");
	text_msg(&m, buf);
	assert_int_equal(modem_sms_check(&m), MODEM_E_TOO_LONG);

	/* A code point beyond the BMP takes two UTF-16 units. */
	assert_int_equal(modem_text_units("\xf0\x9f\x98\x80"
					  "a",
					  &ucs2, &units),
			 0);
	assert_int_equal(ucs2, 1);
	assert_int_equal(units, 3);
	/* The backtick is not in the GSM alphabet. */
	assert_int_equal(modem_text_units("`", &ucs2, &units), 0);
	assert_int_equal(ucs2, 1);

	/* Invalid UTF-8: overlong, surrogate, truncated. */
	text_msg(&m, "\xc0\xaf");
	assert_int_equal(modem_sms_check(&m), MODEM_E_INVAL);
	text_msg(&m, "\xed\xa0\x80");
	assert_int_equal(modem_sms_check(&m), MODEM_E_INVAL);
	text_msg(&m, "ab\xe2\x82");
	assert_int_equal(modem_sms_check(&m), MODEM_E_INVAL);
	text_msg(&m, "");
	assert_int_equal(modem_sms_check(&m), MODEM_E_INVAL);
	/* Unterminated text buffer. */
	text_msg(&m, "x");
	memset(m.text, 'a', sizeof(m.text));
	assert_int_equal(modem_sms_check(&m), MODEM_E_TOO_LONG);
}

static void test_validity(void **state)
{
	(void)state;
	assert_int_equal(modem_validity_octet(0), 0xff);
	assert_int_equal(modem_validity_octet(1), 0); /* the minimum the format can say */
	assert_int_equal(modem_validity_octet(5), 0);
	assert_int_equal(modem_validity_octet(9), 0);
	assert_int_equal(modem_validity_octet(10), 1);
	assert_int_equal(modem_validity_octet(59), 10); /* 55 minutes: never longer than asked */
	assert_int_equal(modem_validity_octet(60), SMS_VALID_1_Hour);
	assert_int_equal(modem_validity_octet(6 * 60), SMS_VALID_6_Hours);
	assert_int_equal(modem_validity_octet(720), 143);
	assert_int_equal(modem_validity_octet(749), 143);
	assert_int_equal(modem_validity_octet(750), 144);
	assert_int_equal(modem_validity_octet(1440), SMS_VALID_1_Day);
	assert_int_equal(modem_validity_octet(2879), 167);
	assert_int_equal(modem_validity_octet(3 * 1440), SMS_VALID_3_Days);
	assert_int_equal(modem_validity_octet(7 * 1440), SMS_VALID_1_Week);
	assert_int_equal(modem_validity_octet(30 * 1440), 196);
	assert_int_equal(modem_validity_octet(5 * 10080 - 1), 196);
	assert_int_equal(modem_validity_octet(5 * 10080), 197);
	assert_int_equal(modem_validity_octet(63 * 10080), 255);
	assert_int_equal(modem_validity_octet(64 * 10080), 255);
	/* Monotonic: more time asked never gives less; and it is the PDU codec's octet exactly. */
	for (int m = 1, last = 0; m < 64 * 10080; m += 7) {
		int v = modem_validity_octet(m);
		assert_true(v >= last);
		assert_int_equal(v, pdu_vp_relative_encode((uint32_t)m * 60));
		last = v;
	}
}

static void test_gammu_errors(void **state)
{
	static const struct {
		int gammu, ours;
	} map[] = {
		{ERR_NONE, MODEM_OK},
		{ERR_TIMEOUT, MODEM_E_TIMEOUT},
		{ERR_DEVICEOPENERROR, MODEM_E_IO},
		{ERR_DEVICENOTEXIST, MODEM_E_IO},
		{ERR_DEVICEWRITEERROR, MODEM_E_IO},
		{ERR_NOTCONNECTED, MODEM_E_IO},
		{ERR_DEVICELOCKED, MODEM_E_BUSY},
		{ERR_UNKNOWNMODELSTRING, MODEM_E_CONFIG},
		{ERR_UNKNOWNCONNECTIONTYPESTRING, MODEM_E_CONFIG},
		{ERR_EMPTYSMSC, MODEM_E_CONFIG},
		{ERR_NOTSUPPORTED, MODEM_E_NOT_SUPPORTED},
		{ERR_NOTIMPLEMENTED, MODEM_E_NOT_SUPPORTED},
		{ERR_EMPTY, MODEM_E_EMPTY},
		{ERR_SECURITYERROR, MODEM_E_PIN_REQUIRED},
		{ERR_NOSIM, MODEM_E_NO_SIM},
		{ERR_FULL, MODEM_E_FULL},
		{ERR_NETWORK_ERROR, MODEM_E_NETWORK},
		{ERR_MOREMEMORY, MODEM_E_NOMEM},
		{ERR_UNKNOWNRESPONSE, MODEM_E_UNKNOWN},
		{ERR_BUG, MODEM_E_UNKNOWN},
		{9999, MODEM_E_UNKNOWN},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		assert_int_equal(modem_error_from_gammu(map[i].gammu), map[i].ours);
}

static void test_cms_errors(void **state)
{
	(void)state;
	assert_int_equal(modem_error_from_cms(0), MODEM_OK);
	assert_int_equal(modem_error_from_cms(1), MODEM_E_REJECTED);    /* unassigned number */
	assert_int_equal(modem_error_from_cms(21), MODEM_E_REJECTED);   /* transfer rejected */
	assert_int_equal(modem_error_from_cms(38), MODEM_E_NETWORK);    /* network out of order */
	assert_int_equal(modem_error_from_cms(42), MODEM_E_NETWORK);    /* congestion */
	assert_int_equal(modem_error_from_cms(0xc3), MODEM_E_REJECTED); /* invalid SME address */
	assert_int_equal(modem_error_from_cms(0xc0), MODEM_E_NETWORK);  /* SC busy */
	assert_int_equal(modem_error_from_cms(304), MODEM_E_INVAL);
	assert_int_equal(modem_error_from_cms(310), MODEM_E_NO_SIM);
	assert_int_equal(modem_error_from_cms(311), MODEM_E_PIN_REQUIRED);
	assert_int_equal(modem_error_from_cms(316), MODEM_E_PUK_REQUIRED);
	assert_int_equal(modem_error_from_cms(322), MODEM_E_FULL);
	assert_int_equal(modem_error_from_cms(330), MODEM_E_CONFIG);
	assert_int_equal(modem_error_from_cms(331), MODEM_E_NETWORK);
	assert_int_equal(modem_error_from_cms(500), MODEM_E_UNKNOWN);
	assert_int_equal(modem_error_from_cms(-1), MODEM_E_UNKNOWN);
	assert_int_equal(modem_error_from_cms(512), MODEM_E_UNKNOWN);
}

static void test_classes(void **state)
{
	(void)state;
	assert_int_equal(modem_err_class(MODEM_OK), MODEM_CLASS_OK);
	assert_int_equal(modem_err_class(MODEM_E_TIMEOUT), MODEM_CLASS_RETRY);
	assert_int_equal(modem_err_class(MODEM_E_NETWORK), MODEM_CLASS_RETRY);
	assert_int_equal(modem_err_class(MODEM_E_UNKNOWN), MODEM_CLASS_RETRY);
	assert_int_equal(modem_err_class(MODEM_E_UNAVAILABLE), MODEM_CLASS_RETRY);
	assert_int_equal(modem_err_class(MODEM_E_REJECTED), MODEM_CLASS_PERMANENT);
	assert_int_equal(modem_err_class(MODEM_E_INVAL), MODEM_CLASS_PERMANENT);
	assert_int_equal(modem_err_class(MODEM_E_PIN_WRONG), MODEM_CLASS_MODEM);
	assert_int_equal(modem_err_class(MODEM_E_PUK_REQUIRED), MODEM_CLASS_MODEM);
	assert_int_equal(modem_err_class(MODEM_E_CONFIG), MODEM_CLASS_MODEM);
	assert_int_equal(modem_err_class(12345), MODEM_CLASS_RETRY);
	assert_true(modem_err_is_modem_fault(MODEM_E_TIMEOUT));
	assert_true(modem_err_is_modem_fault(MODEM_E_IO));
	assert_false(modem_err_is_modem_fault(MODEM_E_REJECTED));
	assert_false(modem_err_is_modem_fault(MODEM_E_TOO_LONG));
	assert_false(modem_err_is_modem_fault(MODEM_OK));
	for (int e = 0; e < MODEM_E__COUNT; e++) {
		assert_non_null(modem_strerror(e));
		assert_string_not_equal(modem_strerror(e), "unknown modem error code");
	}
	assert_string_equal(modem_strerror(-1), "unknown modem error code");
	assert_string_equal(modem_strerror(MODEM_E__COUNT), "unknown modem error code");
}

static void test_report_outcome(void **state)
{
	(void)state;
	assert_int_equal(modem_report_outcome(0x00), 0);
	assert_int_equal(modem_report_outcome(0x02), 0);
	assert_int_equal(modem_report_outcome(0x20), 1);
	assert_int_equal(modem_report_outcome(0x3f), 1);
	assert_int_equal(modem_report_outcome(0x40), 2);
	assert_int_equal(modem_report_outcome(0x45), 2);
	assert_int_equal(modem_report_outcome(0x60), 2);
	assert_int_equal(modem_report_outcome(0x7f), 2);
}

static void test_status_healthy(void **state)
{
	struct modem_status st;
	char why[64];

	(void)state;
	memset(&st, 0, sizeof(st));
	st.sim = MODEM_SIM_READY;
	st.reg = MODEM_REG_HOME;
	st.sms_used = 3;
	st.sms_size = 30;
	assert_true(modem_status_healthy(&st, NULL, why, sizeof(why)));
	st.reg = MODEM_REG_ROAMING;
	assert_true(modem_status_healthy(&st, NULL, why, sizeof(why)));
	st.reg = MODEM_REG_NONE;
	assert_false(modem_status_healthy(&st, NULL, why, sizeof(why)));
	assert_non_null(strstr(why, "not-registered"));
	st.reg = MODEM_REG_HOME;
	st.sim = MODEM_SIM_PIN;
	assert_false(modem_status_healthy(&st, NULL, why, sizeof(why)));
	st.sim = MODEM_SIM_READY;
	st.sms_used = 30;
	assert_false(modem_status_healthy(&st, NULL, why, sizeof(why)));
	assert_non_null(strstr(why, "full"));
}

/* Registration decides health when the modem can tell it; a modem that cannot (it lacks +CREG?
 * altogether) is judged by its SIM, and a registration merely not read this time is not enough. */
static void test_status_healthy_caps(void **state)
{
	struct modem_status st;
	struct modem_caps caps;
	char why[64];

	(void)state;
	memset(&st, 0, sizeof(st));
	memset(&caps, 0, sizeof(caps));
	st.sim = MODEM_SIM_READY;
	st.reg = MODEM_REG_UNKNOWN;
	st.sms_used = st.sms_size = -1;
	assert_false(modem_status_healthy(&st, &caps, why, sizeof(why)));
	caps.probed = MODEM_CAP_REGISTRATION;
	assert_true(modem_status_healthy(&st, &caps, why, sizeof(why)));
	caps.present = MODEM_CAP_REGISTRATION;
	assert_false(modem_status_healthy(&st, &caps, why, sizeof(why)));
	st.sim = MODEM_SIM_PIN;
	caps.present = 0;
	assert_false(modem_status_healthy(&st, &caps, why, sizeof(why)));
}

/* The two answers the worker reads itself, from modems that may say anything. */
static void test_parse_creg_cops(void **state)
{
	struct modem_status st;

	(void)state;
	assert_int_equal(modem_parse_creg("+CREG: 0,1"), MODEM_REG_HOME);
	assert_int_equal(modem_parse_creg("+CREG: 2,5,\"00A1\",\"1001\""), MODEM_REG_ROAMING);
	assert_int_equal(modem_parse_creg("+CREG: 1,2"), MODEM_REG_SEARCHING);
	assert_int_equal(modem_parse_creg("+CREG: 0,3"), MODEM_REG_DENIED);
	assert_int_equal(modem_parse_creg("+CREG: 0,0"), MODEM_REG_NONE);
	assert_int_equal(modem_parse_creg("+CREG: 1"), MODEM_REG_HOME); /* unsolicited form */
	assert_int_equal(modem_parse_creg("+CREG: 0,6"), MODEM_REG_HOME);
	assert_int_equal(modem_parse_creg("+CREG: 0,99"), MODEM_REG_UNKNOWN);
	assert_int_equal(modem_parse_creg("+CREG: x"), -1);
	assert_int_equal(modem_parse_creg("+CREG: 0,"), -1);
	assert_int_equal(modem_parse_creg("+CGREG: 0,1"), -1);
	assert_int_equal(modem_parse_creg(""), -1);
	memset(&st, 0, sizeof(st));
	modem_parse_cops("+COPS: 0,0,\"SMSWAKE SIM\",0", &st);
	assert_string_equal(st.network_name, "SMSWAKE SIM");
	modem_parse_cops("+COPS: 0, 2, \"00101\"", &st);
	assert_string_equal(st.network_code, "00101");
	memset(&st, 0, sizeof(st));
	modem_parse_cops("+COPS: 0", &st);
	modem_parse_cops("+COPS: 0,0,\"unterminated", &st);
	modem_parse_cops("RING", &st);
	assert_string_equal(st.network_name, "");
	assert_string_equal(st.network_code, "");
}

static void test_caps_format(void **state)
{
	struct modem_caps caps = {.probed = MODEM_CAP_GPRS | MODEM_CAP_REGISTRATION | MODEM_CAP_SIGNAL,
				  .present = MODEM_CAP_REGISTRATION | MODEM_CAP_SIGNAL | MODEM_CAP_IMSI};
	char out[128], tiny[8];

	(void)state;
	modem_caps_format(&caps, out, sizeof(out));
	assert_string_equal(out, "supports=registration,signal lacks=gprs");
	caps.probed = 0;
	modem_caps_format(&caps, out, sizeof(out));
	assert_string_equal(out, "");
	caps.probed = caps.present = MODEM_CAP__ALL;
	modem_caps_format(&caps, tiny, sizeof(tiny));
	assert_true(strlen(tiny) < sizeof(tiny));
	assert_string_equal(modem_cap_name(MODEM_CAP_SMS_NOTIFY), "sms-notify");
	assert_null(modem_cap_name(3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_binary_limit),   cmocka_unit_test(test_number_check),
		cmocka_unit_test(test_text_limits),    cmocka_unit_test(test_validity),
		cmocka_unit_test(test_gammu_errors),   cmocka_unit_test(test_cms_errors),
		cmocka_unit_test(test_classes),        cmocka_unit_test(test_report_outcome),
		cmocka_unit_test(test_status_healthy), cmocka_unit_test(test_status_healthy_caps),
		cmocka_unit_test(test_caps_format),    cmocka_unit_test(test_parse_creg_cops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
