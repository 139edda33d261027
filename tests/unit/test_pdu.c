/* SPDX-License-Identifier: MIT */
/* Unit tests for the SMS PDU codec: published vectors, round trips of every field, septet packing
 * with and without a header, validity-period forms, and rejection of each malformed length. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "pdu.h"

static size_t unhex(const char *hex, uint8_t *out, size_t max)
{
	long n = pdu_unhex(hex, strlen(hex), out, max);
	assert_true(n >= 0);
	return (size_t)n;
}

static void assert_hex(const uint8_t *buf, size_t len, const char *want)
{
	char hex[2 * PDU_MAX + 1];
	assert_true(len <= PDU_MAX);
	pdu_hex(buf, len, hex);
	assert_string_equal(hex, want);
}

/* The SMS-SUBMIT of "hellohello" widely used as a worked example (dreamfabric's "SMS and the
 * PDU format"): no SMSC, relative validity 0xAA, 7-bit. */
static void test_submit_known_vector(void **state)
{
	uint8_t buf[PDU_MAX];
	struct pdu_sms s;
	char text[PDU_TEXT_MAX];
	size_t n = unhex("0011000B916407281553F80000AA0AE8329BFD4697D9EC37", buf, sizeof(buf));

	(void)state;
	assert_int_equal(pdu_decode_submit(buf, n, 1, &s), PDU_OK);
	assert_int_equal(s.type, PDU_TYPE_SUBMIT);
	assert_string_equal(s.smsc.text, "");
	assert_int_equal(s.first_octet, 0x11);
	assert_int_equal(s.vpf, PDU_VPF_RELATIVE);
	assert_int_equal(s.vp[0], 0xAA);
	assert_int_equal(s.vp_seconds, 4 * 86400);
	assert_int_equal(s.mr, 0);
	assert_int_equal(s.addr.toa, 0x91);
	assert_string_equal(s.addr.text, "+46708251358");
	assert_int_equal(s.pid, 0);
	assert_int_equal(s.dcs, 0);
	assert_int_equal(s.coding, PDU_CODING_7BIT);
	assert_int_equal(s.msg_class, -1);
	assert_int_equal(s.udhi, 0);
	assert_int_equal(s.ud_len, 10);
	assert_int_equal(pdu_sms_text(&s, text, sizeof(text)), PDU_OK);
	assert_string_equal(text, "hellohello");
	assert_int_equal(s.status_report, 0);
	assert_int_equal(s.reject_duplicates, 0);

	/* Re-encoding gives the same octets. */
	{
		uint8_t out[PDU_MAX];
		size_t outlen;
		assert_int_equal(pdu_encode_submit(&s, 1, out, sizeof(out), &outlen), PDU_OK);
		assert_int_equal(outlen, n);
		assert_memory_equal(out, buf, n);
	}
}

/* The matching SMS-DELIVER example with an SMSC field and a national-format originator. */
static void test_deliver_known_vector(void **state)
{
	uint8_t buf[PDU_MAX], out[PDU_MAX];
	struct pdu_sms s;
	char text[PDU_TEXT_MAX];
	size_t outlen;
	size_t n = unhex("07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37", buf, sizeof(buf));

	(void)state;
	assert_int_equal(pdu_decode_deliver(buf, n, 1, &s), PDU_OK);
	assert_string_equal(s.smsc.text, "+27381000015");
	assert_int_equal(s.smsc.toa, 0x91);
	assert_int_equal(s.type, PDU_TYPE_DELIVER);
	assert_int_equal(s.more_messages, 0);
	assert_int_equal(s.addr.toa, 0xC8);
	assert_string_equal(s.addr.text, "27838890001");
	assert_int_equal(s.scts.year, 99);
	assert_int_equal(s.scts.month, 3);
	assert_int_equal(s.scts.day, 29);
	assert_int_equal(s.scts.hour, 15);
	assert_int_equal(s.scts.minute, 16);
	assert_int_equal(s.scts.second, 59);
	assert_int_equal(s.scts.tz_quarters, 8);
	assert_int_equal(pdu_sms_text(&s, text, sizeof(text)), PDU_OK);
	assert_string_equal(text, "hellohello");
	assert_int_equal(pdu_encode_deliver(&s, 1, out, sizeof(out), &outlen), PDU_OK);
	assert_int_equal(outlen, n);
	assert_memory_equal(out, buf, n);
	/* The generic service-centre decoder picks the same type. */
	assert_int_equal(pdu_decode_sc_to_ms(buf, n, 1, &s), PDU_OK);
	assert_int_equal(s.type, PDU_TYPE_DELIVER);
}

/* A status report as networks send it: delivered, no parameter indicator. */
static void test_status_report_known_vector(void **state)
{
	uint8_t buf[PDU_MAX], out[PDU_MAX];
	struct pdu_sms s;
	size_t outlen;
	size_t n = unhex("0006D70B911326880736F4111011719551401110117195714000", buf, sizeof(buf));

	(void)state;
	assert_int_equal(pdu_decode_status_report(buf, n, 1, &s), PDU_OK);
	assert_int_equal(s.type, PDU_TYPE_STATUS_REPORT);
	assert_int_equal(s.mr, 0xD7);
	assert_string_equal(s.addr.text, "+31628870634");
	assert_int_equal(s.scts.year, 11);
	assert_int_equal(s.scts.month, 1);
	assert_int_equal(s.scts.day, 11);
	assert_int_equal(s.scts.hour, 17);
	assert_int_equal(s.scts.minute, 59);
	assert_int_equal(s.scts.second, 15);
	assert_int_equal(s.scts.tz_quarters, 4);
	assert_int_equal(s.dt.second, 17);
	assert_int_equal(s.st, PDU_ST_DELIVERED);
	assert_int_equal(s.pi, 0);
	assert_int_equal(pdu_encode_status_report(&s, 1, out, sizeof(out), &outlen), PDU_OK);
	assert_int_equal(outlen, n);
	assert_memory_equal(out, buf, n);
	assert_int_equal(pdu_decode_sc_to_ms(buf, n, 1, &s), PDU_OK);
	assert_int_equal(s.type, PDU_TYPE_STATUS_REPORT);
	/* A status report is not a DELIVER. */
	assert_int_equal(pdu_decode_deliver(buf, n, 1, &s), PDU_E_MTI);
}

static void test_status_report_with_pi(void **state)
{
	struct pdu_sms s, d;
	uint8_t out[PDU_MAX];
	size_t outlen;
	char text[PDU_TEXT_MAX];

	(void)state;
	memset(&s, 0, sizeof(s));
	s.mr = 42;
	snprintf(s.addr.text, sizeof(s.addr.text), "+15550000002");
	assert_int_equal(pdu_time_from_unix(1700000000, 0, &s.scts), PDU_OK);
	assert_int_equal(pdu_time_from_unix(1700000005, -20, &s.dt), PDU_OK);
	s.st = PDU_ST_VP_EXPIRED;
	s.pid = 0x41;
	assert_int_equal(pdu_set_text(&s, "gone"), PDU_OK);
	assert_int_equal(pdu_encode_status_report(&s, 0, out, sizeof(out), &outlen), PDU_OK);
	assert_int_equal(pdu_decode_status_report(out, outlen, 0, &d), PDU_OK);
	assert_int_equal(d.pi, 0x05); /* PID and UDL, DCS 0 left out */
	assert_int_equal(d.pid, 0x41);
	assert_int_equal(d.st, PDU_ST_VP_EXPIRED);
	assert_int_equal(d.mr, 42);
	assert_int_equal(d.dt.tz_quarters, -20);
	assert_int_equal(pdu_time_to_unix(&d.dt), 1700000005);
	assert_int_equal(pdu_time_to_unix(&d.scts), 1700000000);
	assert_int_equal(pdu_sms_text(&d, text, sizeof(text)), PDU_OK);
	assert_string_equal(text, "gone");
	/* A PI promising a PID that is not there is truncated; extra octets after PI are trailing. */
	assert_int_equal(pdu_decode_status_report(out, outlen - 6, 0, &d), PDU_E_TRUNCATED);
	{
		uint8_t bad[PDU_MAX];
		size_t m = unhex("0006D70B911326880736F41110117195514011101171957140000000", bad, sizeof(bad));
		assert_int_equal(pdu_decode_status_report(bad, m, 1, &d), PDU_E_TRAILING);
	}
}

static void test_gsm7_pack_vectors(void **state)
{
	uint8_t sep[PDU_UD_MAX_SEPTETS], out[PDU_UD_MAX_OCTETS], back[PDU_UD_MAX_SEPTETS];
	size_t n, octets;

	(void)state;
	assert_int_equal(pdu_gsm7_from_utf8("hellohello", sep, sizeof(sep), &n), PDU_OK);
	assert_int_equal(n, 10);
	assert_int_equal(pdu_gsm7_pack(sep, n, 0, out, sizeof(out), &octets), PDU_OK);
	assert_hex(out, octets, "E8329BFD4697D9EC37");
	/* Eight septets fill exactly seven octets. */
	assert_int_equal(pdu_gsm7_from_utf8("12345678", sep, sizeof(sep), &n), PDU_OK);
	assert_int_equal(pdu_gsm7_pack(sep, n, 0, out, sizeof(out), &octets), PDU_OK);
	assert_int_equal(octets, 7);
	assert_hex(out, octets, "31D98C56B3DD70");
	assert_int_equal(pdu_gsm7_unpack(out, octets, 0, 8, back), PDU_OK);
	assert_memory_equal(back, sep, 8);
	/* Unpacking more septets than the octets hold fails. */
	assert_int_equal(pdu_gsm7_unpack(out, octets, 0, 9, back), PDU_E_TRUNCATED);
	assert_int_equal(pdu_gsm7_pack(sep, 8, 0, out, 6, &octets), PDU_E_SPACE);
}

static void test_gsm7_alphabet(void **state)
{
	uint8_t sep[PDU_UD_MAX_SEPTETS];
	char text[PDU_TEXT_MAX];
	size_t n;
	const char *all = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
			  "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

	(void)state;
	assert_int_equal(pdu_gsm7_from_utf8(all, sep, sizeof(sep), &n), PDU_OK);
	assert_int_equal(n, 127); /* every basic code except the escape */
	for (size_t i = 0; i < n; i++)
		assert_int_equal(sep[i], i < 0x1B ? i : i + 1);
	assert_int_equal(pdu_gsm7_to_utf8(sep, n, text, sizeof(text)), PDU_OK);
	assert_string_equal(text, all);

	assert_int_equal(pdu_gsm7_from_utf8("{€}[~]|^\\\f", sep, sizeof(sep), &n), PDU_OK);
	assert_int_equal(n, 20);
	assert_int_equal(sep[0], 0x1B);
	assert_int_equal(sep[1], 0x28);
	assert_int_equal(sep[3], 0x65);
	assert_int_equal(pdu_gsm7_to_utf8(sep, n, text, sizeof(text)), PDU_OK);
	assert_string_equal(text, "{€}[~]|^\\\f");

	/* Outside the alphabet, bad UTF-8, and too little room. */
	assert_int_equal(pdu_gsm7_from_utf8("`", sep, sizeof(sep), &n), PDU_E_CHARSET);
	assert_int_equal(pdu_gsm7_from_utf8("ш", sep, sizeof(sep), &n), PDU_E_CHARSET);
	assert_int_equal(pdu_gsm7_from_utf8("\xC0\x80", sep, sizeof(sep), &n), PDU_E_CHARSET);
	assert_int_equal(pdu_gsm7_from_utf8("\xE2\x82", sep, sizeof(sep), &n), PDU_E_CHARSET);
	assert_int_equal(pdu_gsm7_from_utf8("abc", sep, 2, &n), PDU_E_TOO_LONG);
	assert_int_equal(pdu_gsm7_from_utf8("a€", sep, 2, &n), PDU_E_TOO_LONG);
	/* Unknown escapes show the basic character, a lone escape a space. */
	{
		uint8_t s2[] = {0x1B, 0x41, 0x42, 0x1B};
		assert_int_equal(pdu_gsm7_to_utf8(s2, 4, text, sizeof(text)), PDU_OK);
		assert_string_equal(text, "AB ");
		assert_int_equal(pdu_gsm7_to_utf8(s2, 4, text, 2), PDU_E_SPACE);
		assert_string_equal(text, "A");
	}
}

static void test_ucs2(void **state)
{
	uint8_t buf[PDU_UD_MAX_OCTETS];
	char text[PDU_TEXT_MAX];
	size_t n;

	(void)state;
	assert_int_equal(pdu_utf8_to_ucs2("Ащ😀", buf, sizeof(buf), &n), PDU_OK);
	assert_int_equal(n, 8);
	assert_hex(buf, n, "04100449D83DDE00");
	assert_int_equal(pdu_ucs2_to_utf8(buf, n, text, sizeof(text)), PDU_OK);
	assert_string_equal(text, "Ащ😀");
	assert_int_equal(pdu_ucs2_to_utf8(buf, 3, text, sizeof(text)), PDU_E_UCS2_ODD);
	assert_int_equal(pdu_utf8_to_ucs2("Ащ😀", buf, 7, &n), PDU_E_TOO_LONG);
}

/* 7-bit text behind a concatenation header: 6 header octets need one fill bit, so the text
 * starts at septet 7; the packed octets below were worked out by hand from TS 23.040 9.2.3.24. */
static void test_gsm7_with_udh(void **state)
{
	struct pdu_sms s, d;
	uint8_t out[PDU_MAX];
	size_t outlen;
	char text[PDU_TEXT_MAX];
	const uint8_t concat[] = {0xCC, 0x02, 0x01};

	(void)state;
	memset(&s, 0, sizeof(s));
	snprintf(s.addr.text, sizeof(s.addr.text), "+15550000002");
	assert_int_equal(pdu_udh_add_ie(&s, PDU_IEI_CONCAT8, concat, 3), PDU_OK);
	assert_int_equal(s.has_concat, 1);
	assert_int_equal(pdu_set_text(&s, "Hi"), PDU_OK);
	assert_int_equal(pdu_encode_submit(&s, 0, out, sizeof(out), &outlen), PDU_OK);
	assert_hex(out, outlen, "41000B915155000000F2000009050003CC02019069");
	assert_int_equal(pdu_decode_submit(out, outlen, 0, &d), PDU_OK);
	assert_int_equal(d.udhi, 1);
	assert_int_equal(d.udh_len, 5);
	assert_int_equal(d.n_ie, 1);
	assert_int_equal(d.ie[0].iei, 0);
	assert_int_equal(d.ie[0].len, 3);
	assert_int_equal(d.has_concat, 1);
	assert_int_equal(d.concat_ref, 0xCC);
	assert_int_equal(d.concat_total, 2);
	assert_int_equal(d.concat_seq, 1);
	assert_int_equal(d.ud_len, 2);
	assert_int_equal(pdu_sms_text(&d, text, sizeof(text)), PDU_OK);
	assert_string_equal(text, "Hi");

	/* Every header length from 1 to 20 octets keeps its text intact (fill bits vary). */
	for (int extra = 0; extra < 18; extra++) {
		uint8_t data[18];
		memset(&s, 0, sizeof(s));
		memset(data, 0xA5, sizeof(data));
		snprintf(s.addr.text, sizeof(s.addr.text), "+15550000001");
		assert_int_equal(pdu_time_from_unix(1700000000, 4, &s.scts), PDU_OK);
		assert_int_equal(pdu_udh_add_ie(&s, 0x70, data, (uint8_t)extra), PDU_OK);
		assert_int_equal(pdu_set_text(&s, "The quick brown fox {jumps}"), PDU_OK);
		assert_int_equal(pdu_encode_deliver(&s, 0, out, sizeof(out), &outlen), PDU_OK);
		assert_int_equal(pdu_decode_deliver(out, outlen, 0, &d), PDU_OK);
		assert_int_equal(d.udh_len, extra + 2);
		assert_memory_equal(d.udh, s.udh, s.udh_len);
		assert_int_equal(pdu_sms_text(&d, text, sizeof(text)), PDU_OK);
		assert_string_equal(text, "The quick brown fox {jumps}");
	}
}

/* The wakeup shape: 8-bit, 16-bit ports in a 7-octet UDH (as Gammu writes UDH.Text), relative
 * validity of one day, status report requested. */
static const char *ports_submit = "71050B915155000000F20004A70A06050423F01234DEADBE";

static void test_ports_submit(void **state)
{
	uint8_t buf[PDU_MAX], out[PDU_MAX];
	struct pdu_sms s;
	size_t outlen, n = unhex(ports_submit, buf, sizeof(buf));
	char text[PDU_TEXT_MAX];

	(void)state;
	assert_int_equal(pdu_decode_submit(buf, n, 0, &s), PDU_OK);
	assert_int_equal(s.status_report, 1);
	assert_int_equal(s.udhi, 1);
	assert_int_equal(s.mr, 5);
	assert_int_equal(s.vpf, PDU_VPF_RELATIVE);
	assert_int_equal(s.vp_seconds, 86400);
	assert_int_equal(s.dcs, 0x04);
	assert_int_equal(s.coding, PDU_CODING_8BIT);
	assert_int_equal(s.udh_len, 6);
	assert_int_equal(s.n_ie, 1);
	assert_int_equal(s.ie[0].iei, PDU_IEI_PORTS16);
	assert_int_equal(s.ie[0].off, 2);
	assert_int_equal(s.has_ports, 1);
	assert_int_equal(s.port_bits, 16);
	assert_int_equal(s.dst_port, 0x23F0);
	assert_int_equal(s.src_port, 0x1234);
	assert_int_equal(s.ud_len, 3);
	assert_hex(s.ud, s.ud_len, "DEADBE");
	assert_int_equal(pdu_sms_text(&s, text, sizeof(text)), PDU_E_DCS);
	assert_int_equal(pdu_encode_submit(&s, 0, out, sizeof(out), &outlen), PDU_OK);
	assert_int_equal(outlen, n);
	assert_memory_equal(out, buf, n);

	/* Building the same message field by field gives the same octets. */
	memset(&s, 0, sizeof(s));
	s.mr = 5;
	s.status_report = 1;
	s.vpf = PDU_VPF_RELATIVE;
	s.vp_seconds = 86400;
	s.dcs = 0x04;
	snprintf(s.addr.text, sizeof(s.addr.text), "+15550000002");
	assert_int_equal(pdu_udh_add_ports(&s, 0x23F0, 0x1234), PDU_OK);
	s.ud[0] = 0xDE;
	s.ud[1] = 0xAD;
	s.ud[2] = 0xBE;
	s.ud_len = 3;
	assert_int_equal(pdu_encode_submit(&s, 0, out, sizeof(out), &outlen), PDU_OK);
	assert_hex(out, outlen, ports_submit);
	/* With an SMSC field in front. */
	snprintf(s.smsc.text, sizeof(s.smsc.text), "+15559999999");
	assert_int_equal(pdu_encode_submit(&s, 1, out, sizeof(out), &outlen), PDU_OK);
	assert_int_equal(pdu_smsc_field_len(out, outlen), 8);
	assert_int_equal(outlen, n + 8);
	assert_memory_equal(out + 8, buf, n);
	assert_int_equal(pdu_decode_submit(out, outlen, 1, &s), PDU_OK);
	assert_string_equal(s.smsc.text, "+15559999999");
}

static void test_ports_8bit_and_concat16(void **state)
{
	struct pdu_sms s, d;
	uint8_t out[PDU_MAX];
	size_t outlen;
	const uint8_t p8[] = {0xE2, 0x10};
	const uint8_t c16[] = {0xBE, 0xEF, 0x03, 0x02};
	const uint8_t bad_concat[] = {0x01, 0x00, 0x01};

	(void)state;
	memset(&s, 0, sizeof(s));
	snprintf(s.addr.text, sizeof(s.addr.text), "12345");
	assert_int_equal(pdu_time_from_unix(1709208000, 8, &s.scts), PDU_OK);
	s.dcs = 0xF5; /* 8-bit, class 1 */
	assert_int_equal(pdu_udh_add_ie(&s, PDU_IEI_PORTS8, p8, 2), PDU_OK);
	assert_int_equal(pdu_udh_add_ie(&s, PDU_IEI_CONCAT16, c16, 4), PDU_OK);
	assert_int_equal(pdu_udh_add_ie(&s, PDU_IEI_CONCAT8, bad_concat, 3), PDU_OK);
	for (int i = 0; i < 100; i++)
		s.ud[i] = (uint8_t)(i * 7);
	s.ud_len = 100;
	s.status_report = 1;
	s.reply_path = 1;
	s.loop_prevention = 1;
	s.more_messages = 1;
	s.pid = 0x7F;
	assert_int_equal(pdu_encode_deliver(&s, 0, out, sizeof(out), &outlen), PDU_OK);
	assert_int_equal(out[0], 0xE8); /* RP, UDHI, SRI, LP; MMS clear: more are waiting */
	assert_int_equal(pdu_decode_deliver(out, outlen, 0, &d), PDU_OK);
	assert_int_equal(d.addr.toa, PDU_TOA_UNKNOWN);
	assert_string_equal(d.addr.text, "12345");
	assert_int_equal(d.status_report, 1);
	assert_int_equal(d.reply_path, 1);
	assert_int_equal(d.loop_prevention, 1);
	assert_int_equal(d.more_messages, 1);
	assert_int_equal(d.pid, 0x7F);
	assert_int_equal(d.coding, PDU_CODING_8BIT);
	assert_int_equal(d.msg_class, 1);
	assert_int_equal(d.n_ie, 3);
	assert_int_equal(d.has_ports, 1);
	assert_int_equal(d.port_bits, 8);
	assert_int_equal(d.dst_port, 0xE2);
	assert_int_equal(d.src_port, 0x10);
	/* The 8-bit concat element with sequence 0 is ignored, so the 16-bit one stands. */
	assert_int_equal(d.has_concat, 1);
	assert_int_equal(d.concat_ref, 0xBEEF);
	assert_int_equal(d.concat_total, 3);
	assert_int_equal(d.concat_seq, 2);
	assert_int_equal(d.ud_len, 100);
	assert_memory_equal(d.ud, s.ud, 100);
	assert_int_equal(d.scts.hour, 14);
	assert_int_equal(d.scts.day, 29);
	assert_int_equal(d.scts.month, 2);
	assert_int_equal(d.scts.year, 24);
	assert_int_equal(pdu_time_to_unix(&d.scts), 1709208000);
}

static void test_alphanumeric_address(void **state)
{
	struct pdu_sms s, d;
	uint8_t out[PDU_MAX];
	size_t outlen;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.addr.toa = PDU_TOA_ALPHANUMERIC;
	snprintf(s.addr.text, sizeof(s.addr.text), "SMSWake");
	assert_int_equal(pdu_time_from_unix(946684800, 0, &s.scts), PDU_OK);
	assert_int_equal(pdu_set_text(&s, "x"), PDU_OK);
	assert_int_equal(pdu_encode_deliver(&s, 0, out, sizeof(out), &outlen), PDU_OK);
	assert_int_equal(out[1], 13); /* 7 septets = 49 bits = 13 semi-octets */
	assert_int_equal(out[2], 0xD0);
	assert_int_equal(pdu_decode_deliver(out, outlen, 0, &d), PDU_OK);
	assert_string_equal(d.addr.text, "SMSWake");
	assert_int_equal(d.scts.year, 0);
	assert_int_equal(d.scts.month, 1);
	assert_int_equal(d.scts.day, 1);
	/* Eleven characters is the most that fits. */
	snprintf(s.addr.text, sizeof(s.addr.text), "ABCDEFGHIJK");
	assert_int_equal(pdu_encode_deliver(&s, 0, out, sizeof(out), &outlen), PDU_OK);
	assert_int_equal(out[1], 20);
	assert_int_equal(pdu_decode_deliver(out, outlen, 0, &d), PDU_OK);
	assert_string_equal(d.addr.text, "ABCDEFGHIJK");
	snprintf(s.addr.text, sizeof(s.addr.text), "ABCDEFGHIJKL");
	assert_int_equal(pdu_encode_deliver(&s, 0, out, sizeof(out), &outlen), PDU_E_ADDR_LEN);
	/* Digits with the extra BCD symbols. */
	s.addr.toa = 0;
	snprintf(s.addr.text, sizeof(s.addr.text), "*100#abc");
	assert_int_equal(pdu_encode_deliver(&s, 0, out, sizeof(out), &outlen), PDU_OK);
	assert_int_equal(pdu_decode_deliver(out, outlen, 0, &d), PDU_OK);
	assert_string_equal(d.addr.text, "*100#abc");
	snprintf(s.addr.text, sizeof(s.addr.text), "+12x");
	assert_int_equal(pdu_encode_deliver(&s, 0, out, sizeof(out), &outlen), PDU_E_ADDR_DIGIT);
	snprintf(s.addr.text, sizeof(s.addr.text), "+123456789012345678901");
	assert_int_equal(pdu_encode_deliver(&s, 0, out, sizeof(out), &outlen), PDU_E_ADDR_LEN);
	snprintf(s.addr.text, sizeof(s.addr.text), "+12345678901234567890");
	assert_int_equal(pdu_encode_deliver(&s, 0, out, sizeof(out), &outlen), PDU_OK);
	assert_int_equal(pdu_decode_deliver(out, outlen, 0, &d), PDU_OK);
	assert_string_equal(d.addr.text, "+12345678901234567890");
}

static void test_vp_relative_table(void **state)
{
	(void)state;
	assert_int_equal(pdu_vp_relative_seconds(0), 300);
	assert_int_equal(pdu_vp_relative_seconds(143), 43200);
	assert_int_equal(pdu_vp_relative_seconds(144), 45000);
	assert_int_equal(pdu_vp_relative_seconds(167), 86400);
	assert_int_equal(pdu_vp_relative_seconds(168), 2 * 86400);
	assert_int_equal(pdu_vp_relative_seconds(196), 30 * 86400);
	assert_int_equal(pdu_vp_relative_seconds(197), 5 * 604800);
	assert_int_equal(pdu_vp_relative_seconds(255), 63 * 604800);
	for (int v = 0; v < 256; v++)
		assert_int_equal(pdu_vp_relative_encode(pdu_vp_relative_seconds((uint8_t)v)), v);
}

/* The SMS must never outlive what it announces: a validity period is rounded down to the longest
 * period the octet can say that does not exceed the one asked for. Only below the shortest one (5
 * minutes) is it longer, because the format cannot say less. */
static void test_vp_relative_rounds_down(void **state)
{
	(void)state;
	assert_int_equal(pdu_vp_relative_encode(0), 0);
	assert_int_equal(pdu_vp_relative_encode(299), 0);
	assert_int_equal(pdu_vp_relative_encode(301), 0);
	assert_int_equal(pdu_vp_relative_encode(599), 0);
	assert_int_equal(pdu_vp_relative_encode(600), 1);
	assert_int_equal(pdu_vp_relative_encode(3599), 10);   /* 55 minutes, not an hour */
	assert_int_equal(pdu_vp_relative_encode(44999), 143); /* 12 hours */
	assert_int_equal(pdu_vp_relative_encode(86401), 167); /* a day */
	assert_int_equal(pdu_vp_relative_encode(172799), 167);
	assert_int_equal(pdu_vp_relative_encode(5 * 604800 - 1), 196); /* 30 days */
	assert_int_equal(pdu_vp_relative_encode(63 * 604800 - 1), 254);
	assert_int_equal(pdu_vp_relative_encode(UINT32_MAX), 255);
	/* Every value from 5 minutes to 64 weeks: the largest octet not longer than asked. */
	for (uint32_t s = 300; s < 64u * 604800; s += 17) {
		uint8_t v = pdu_vp_relative_encode(s);
		assert_true(pdu_vp_relative_seconds(v) <= s);
		if (v < 255)
			assert_true(pdu_vp_relative_seconds((uint8_t)(v + 1)) > s);
	}
}

/* The port header every wakeup carries, and the parser both the modem layer and the client use. */
static void test_port_udh(void **state)
{
	uint8_t udh[PDU_PORT_UDH_LEN];
	const uint8_t want[] = {0x06, 0x05, 0x04, 0x23, 0xf0, 0x12, 0x34};
	/* Concatenation element first, then 16-bit ports. */
	const uint8_t concat_ports[] = {0x0b, 0x00, 0x03, 0x42, 0x02, 0x01, 0x05, 0x04, 0x0b, 0x84, 0x23, 0xf0};
	const uint8_t ports8[] = {0x04, 0x04, 0x02, 0xf5, 0x00};
	const uint8_t no_ports[] = {0x05, 0x00, 0x03, 0x42, 0x02, 0x01};
	const uint8_t truncated[] = {0x06, 0x05, 0x04, 0x23, 0xf0};
	const uint8_t bad_iedl[] = {0x03, 0x05, 0x09, 0x00};
	const uint8_t bad_ports_len[] = {0x05, 0x05, 0x03, 0x01, 0x02, 0x03};
	uint16_t d = 0, s = 0;

	(void)state;
	pdu_port_udh(udh, 0x23f0, 0x1234);
	assert_memory_equal(udh, want, sizeof(want));
	assert_int_equal(pdu_udh_ports(udh, sizeof(udh), &d, &s), PDU_OK);
	assert_int_equal(d, 0x23f0);
	assert_int_equal(s, 0x1234);
	assert_int_equal(pdu_udh_ports(concat_ports, sizeof(concat_ports), &d, &s), PDU_OK);
	assert_int_equal(d, 0x0b84);
	assert_int_equal(s, 0x23f0);
	assert_int_equal(pdu_udh_ports(ports8, sizeof(ports8), &d, &s), PDU_OK);
	assert_int_equal(d, 0xf5);
	assert_int_equal(s, 0);
	assert_int_equal(pdu_udh_ports(no_ports, sizeof(no_ports), &d, &s), PDU_E_NO_PORTS);
	assert_int_equal(pdu_udh_ports(truncated, sizeof(truncated), &d, &s), PDU_E_UDH_LEN);
	assert_int_equal(pdu_udh_ports(bad_iedl, sizeof(bad_iedl), &d, &s), PDU_E_IE_LEN);
	assert_int_equal(pdu_udh_ports(bad_ports_len, sizeof(bad_ports_len), &d, &s), PDU_E_IE_VALUE);
	assert_int_equal(pdu_udh_ports(NULL, 0, &d, &s), PDU_E_ARG);
}

static void test_vp_forms(void **state)
{
	struct pdu_sms s, d;
	uint8_t out[PDU_MAX];
	size_t outlen;

	(void)state;
	memset(&s, 0, sizeof(s));
	snprintf(s.addr.text, sizeof(s.addr.text), "+15550000002");
	assert_int_equal(pdu_set_text(&s, "vp"), PDU_OK);

	/* None: no VP octet at all. */
	s.vpf = PDU_VPF_NONE;
	assert_int_equal(pdu_encode_submit(&s, 0, out, sizeof(out), &outlen), PDU_OK);
	assert_hex(out, outlen, "01000B915155000000F20000027638");
	assert_int_equal(pdu_decode_submit(out, outlen, 0, &d), PDU_OK);
	assert_int_equal(d.vpf, PDU_VPF_NONE);
	assert_int_equal(d.vp_seconds, 0);

	/* Relative: one octet. */
	s.vpf = PDU_VPF_RELATIVE;
	s.vp_seconds = 3600;
	assert_int_equal(pdu_encode_submit(&s, 0, out, sizeof(out), &outlen), PDU_OK);
	assert_hex(out, outlen, "11000B915155000000F200000B027638");
	assert_int_equal(pdu_decode_submit(out, outlen, 0, &d), PDU_OK);
	assert_int_equal(d.vp_seconds, 3600);

	/* Absolute: a timestamp. */
	s.vpf = PDU_VPF_ABSOLUTE;
	assert_int_equal(pdu_time_from_unix(1700000000, -16, &s.vp_time), PDU_OK);
	assert_int_equal(pdu_encode_submit(&s, 0, out, sizeof(out), &outlen), PDU_OK);
	assert_int_equal(out[0], 0x19);
	assert_int_equal(outlen, 22);
	assert_int_equal(pdu_decode_submit(out, outlen, 0, &d), PDU_OK);
	assert_int_equal(d.vpf, PDU_VPF_ABSOLUTE);
	assert_int_equal(d.vp_time.tz_quarters, -16);
	assert_int_equal(pdu_time_to_unix(&d.vp_time), 1700000000);

	/* Enhanced: integer seconds, semi-octet HHMMSS, relative with single shot, none. */
	s.vpf = PDU_VPF_ENHANCED;
	memset(s.vp, 0, sizeof(s.vp));
	s.vp[0] = 0x02;
	s.vp[1] = 120;
	assert_int_equal(pdu_encode_submit(&s, 0, out, sizeof(out), &outlen), PDU_OK);
	assert_int_equal(out[0], 0x09);
	assert_int_equal(pdu_decode_submit(out, outlen, 0, &d), PDU_OK);
	assert_int_equal(d.vpf, PDU_VPF_ENHANCED);
	assert_int_equal(d.vp_seconds, 120);
	assert_int_equal(d.vp_single_shot, 0);
	s.vp[0] = 0x03;
	s.vp[1] = 0x10;
	s.vp[2] = 0x30;
	s.vp[3] = 0x51;
	assert_int_equal(pdu_encode_submit(&s, 0, out, sizeof(out), &outlen), PDU_OK);
	assert_int_equal(pdu_decode_submit(out, outlen, 0, &d), PDU_OK);
	assert_int_equal(d.vp_seconds, 3600 + 3 * 60 + 15);
	s.vp[0] = 0x41;
	s.vp[1] = 0xAA;
	assert_int_equal(pdu_encode_submit(&s, 0, out, sizeof(out), &outlen), PDU_OK);
	assert_int_equal(pdu_decode_submit(out, outlen, 0, &d), PDU_OK);
	assert_int_equal(d.vp_seconds, 4 * 86400);
	assert_int_equal(d.vp_single_shot, 1);
	s.vp[0] = 0x00;
	assert_int_equal(pdu_encode_submit(&s, 0, out, sizeof(out), &outlen), PDU_OK);
	assert_int_equal(pdu_decode_submit(out, outlen, 0, &d), PDU_OK);
	assert_int_equal(d.vp_seconds, 0);
	/* Reserved formats are refused both ways; a bad HHMMSS digit too. */
	s.vp[0] = 0x05;
	assert_int_equal(pdu_encode_submit(&s, 0, out, sizeof(out), &outlen), PDU_E_VP);
	s.vp[0] = 0x03;
	assert_int_equal(pdu_encode_submit(&s, 0, out, sizeof(out), &outlen), PDU_OK);
	out[12] = 0x05;
	assert_int_equal(pdu_decode_submit(out, outlen, 0, &d), PDU_E_VP);
	out[12] = 0x03;
	out[13] = 0x0A;
	assert_int_equal(pdu_decode_submit(out, outlen, 0, &d), PDU_E_TIMESTAMP);
}

static void test_time(void **state)
{
	struct pdu_time t;

	(void)state;
	assert_int_equal(pdu_time_from_unix(0, 0, &t), PDU_E_TIMESTAMP);
	assert_int_equal(pdu_time_from_unix(4102444800, 0, &t), PDU_E_TIMESTAMP); /* 2100 */
	assert_int_equal(pdu_time_from_unix(4102444799, 0, &t), PDU_OK);
	assert_int_equal(t.year, 99);
	assert_int_equal(t.month, 12);
	assert_int_equal(t.day, 31);
	assert_int_equal(t.second, 59);
	assert_int_equal(pdu_time_from_unix(1700000000, 80, &t), PDU_E_ARG);
	/* Negative zone crossing midnight backwards. */
	assert_int_equal(pdu_time_from_unix(1704067200, -4, &t), PDU_OK); /* 2024-01-01 00:00Z */
	assert_int_equal(t.year, 23);
	assert_int_equal(t.month, 12);
	assert_int_equal(t.day, 31);
	assert_int_equal(t.hour, 23);
	assert_int_equal(pdu_time_to_unix(&t), 1704067200);
}

/* Every way a length or field can disagree with the octets present. */
static void test_malformed_submit(void **state)
{
	uint8_t good[PDU_MAX], b[PDU_MAX + 8];
	struct pdu_sms s;
	size_t n = unhex(ports_submit, good, sizeof(good));

	(void)state;
	/* Each shorter prefix fails: inside a field it is truncated, inside the UD too short. */
	for (size_t i = 0; i < n; i++) {
		int rc = pdu_decode_submit(good, i, 0, &s);
		assert_int_equal(rc, i < 14 ? PDU_E_TRUNCATED : PDU_E_UD_LEN);
	}
	memcpy(b, good, n);
	b[n] = 0;
	assert_int_equal(pdu_decode_submit(b, n + 1, 0, &s), PDU_E_TRAILING);

#define MUT(off, val, want)                                                                                            \
	do {                                                                                                           \
		memcpy(b, good, n);                                                                                    \
		b[off] = (val);                                                                                        \
		assert_int_equal(pdu_decode_submit(b, n, 0, &s), (want));                                              \
	} while (0)
	MUT(0, 0x72, PDU_E_MTI);        /* MTI 10 is a command */
	MUT(0, 0x70, PDU_E_MTI);        /* MTI 00 from the phone is a deliver-report */
	MUT(2, 0x15, PDU_E_ADDR_LEN);   /* 21 digits */
	MUT(2, 0x0C, PDU_E_ADDR_DIGIT); /* even count leaves the F fill as a digit */
	MUT(3, 0x11, PDU_E_ADDR_TOA);
	MUT(5, 0xF5, PDU_E_ADDR_DIGIT); /* F in the middle */
	MUT(9, 0x02, PDU_E_ADDR_DIGIT); /* odd count without F fill */
	MUT(13, 0x8D, PDU_E_UDL);       /* 141 octets */
	MUT(13, 0x0B, PDU_E_UD_LEN);    /* one more than present */
	MUT(13, 0x09, PDU_E_TRAILING);  /* one less than present */
	MUT(13, 0x00, PDU_E_TRAILING);
	MUT(14, 0x0A, PDU_E_UDH_LEN);  /* header as long as the UD */
	MUT(14, 0x09, PDU_E_IE_LEN);   /* header longer than its elements */
	MUT(16, 0x05, PDU_E_IE_LEN);   /* element runs past the header */
	MUT(16, 0x03, PDU_E_IE_VALUE); /* 16-bit ports need 4 octets */
	MUT(15, 0x04, PDU_E_IE_VALUE); /* 8-bit ports need 2 */
	MUT(11, 0x08, PDU_E_UCS2_ODD); /* UCS2, 3 octets after the header */
#undef MUT
	/* 7-bit: UDL above 160 septets; header septets above UDL; UDHI with UDL 0. */
	n = unhex("0011000B916407281553F80000AAA1E8329BFD4697D9EC37", b, sizeof(b));
	assert_int_equal(pdu_decode_submit(b, n, 1, &s), PDU_E_UDL);
	n = unhex("0051000B916407281553F80000AA03020000", b, sizeof(b));
	assert_int_equal(pdu_decode_submit(b, n, 1, &s), PDU_E_UDH_LEN);
	n = unhex("0051000B916407281553F80000AA00", b, sizeof(b));
	assert_int_equal(pdu_decode_submit(b, n, 1, &s), PDU_E_UDH_LEN);
	/* SMSC field: longer than 11, or running past the end. */
	n = unhex("0C91515599999999999999999911", b, sizeof(b));
	assert_int_equal(pdu_decode_submit(b, n, 1, &s), PDU_E_SMSC_LEN);
	assert_int_equal(pdu_smsc_field_len(b, n), -1);
	n = unhex("0791515599", b, sizeof(b));
	assert_int_equal(pdu_decode_submit(b, n, 1, &s), PDU_E_TRUNCATED);
	assert_int_equal(pdu_decode_submit(b, 0, 1, &s), PDU_E_TRUNCATED);
	assert_int_equal(pdu_decode_submit(NULL, 0, 1, &s), PDU_E_ARG);
	assert_int_equal(pdu_decode_submit(b, n, 1, NULL), PDU_E_ARG);
}

static void test_malformed_deliver(void **state)
{
	uint8_t good[PDU_MAX], b[PDU_MAX];
	struct pdu_sms s;
	size_t n =
		unhex("07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37", good, sizeof(good));

#define MUT(off, val, want)                                                                                            \
	do {                                                                                                           \
		memcpy(b, good, n);                                                                                    \
		b[off] = (val);                                                                                        \
		assert_int_equal(pdu_decode_deliver(b, n, 1, &s), (want));                                             \
	} while (0)
	(void)state;
	MUT(20, 0x31, PDU_E_TIMESTAMP); /* month 13 */
	MUT(20, 0x00, PDU_E_TIMESTAMP); /* month 0 */
	MUT(21, 0x23, PDU_E_TIMESTAMP); /* day 32 */
	MUT(22, 0x42, PDU_E_TIMESTAMP); /* hour 24 */
	MUT(23, 0x06, PDU_E_TIMESTAMP); /* minute 60 */
	MUT(24, 0xA1, PDU_E_TIMESTAMP); /* not a decimal digit */
	MUT(25, 0xA0, PDU_E_TIMESTAMP); /* zone units not decimal */
	MUT(8, 0x01, PDU_E_MTI);
	MUT(0, 0x0C, PDU_E_SMSC_LEN);
#undef MUT
	for (size_t i = 0; i < n; i++)
		assert_int_not_equal(pdu_decode_deliver(good, i, 1, &s), PDU_OK);
	/* Submit and submit-report types are not what a service centre delivers. */
	memcpy(b, good, n);
	b[8] = 0x01;
	assert_int_equal(pdu_decode_sc_to_ms(b, n, 1, &s), PDU_E_MTI);
	assert_int_equal(pdu_decode_sc_to_ms(b, 8, 1, &s), PDU_E_TRUNCATED);
	assert_int_equal(pdu_decode_sc_to_ms(b, 0, 1, &s), PDU_E_TRUNCATED);
	b[0] = 0x0C;
	assert_int_equal(pdu_decode_sc_to_ms(b, n, 1, &s), PDU_E_SMSC_LEN);
}

static void test_encode_limits(void **state)
{
	struct pdu_sms s;
	uint8_t out[PDU_MAX];
	size_t outlen;

	(void)state;
	memset(&s, 0, sizeof(s));
	snprintf(s.addr.text, sizeof(s.addr.text), "+15550000002");
	s.dcs = 0x04;
	s.ud_len = 140;
	assert_int_equal(pdu_encode_submit(&s, 1, out, sizeof(out), &outlen), PDU_OK);
	s.ud_len = 141;
	assert_int_equal(pdu_encode_submit(&s, 1, out, sizeof(out), &outlen), PDU_E_TOO_LONG);
	/* 7-octet port header plus 134 octets is one too many (Gammu would send UDL 141). */
	assert_int_equal(pdu_udh_add_ports(&s, 1, 2), PDU_OK);
	s.ud_len = 134;
	assert_int_equal(pdu_encode_submit(&s, 1, out, sizeof(out), &outlen), PDU_E_TOO_LONG);
	s.ud_len = 133;
	assert_int_equal(pdu_encode_submit(&s, 1, out, sizeof(out), &outlen), PDU_OK);
	assert_int_equal(pdu_encode_submit(&s, 1, out, 20, &outlen), PDU_E_SPACE);
	/* 7-bit: 160 septets alone, 153 behind a 6-octet concat header. */
	memset(&s, 0, sizeof(s));
	snprintf(s.addr.text, sizeof(s.addr.text), "+15550000002");
	memset(s.ud, 'a' - 0x40, sizeof(s.ud));
	s.ud_len = 160;
	assert_int_equal(pdu_encode_submit(&s, 0, out, sizeof(out), &outlen), PDU_OK);
	assert_int_equal(out[outlen - 141], 160);
	s.ud_len = 161;
	assert_int_equal(pdu_encode_submit(&s, 0, out, sizeof(out), &outlen), PDU_E_TOO_LONG);
	{
		const uint8_t c[] = {1, 2, 1};
		assert_int_equal(pdu_udh_add_ie(&s, PDU_IEI_CONCAT8, c, 3), PDU_OK);
	}
	s.ud_len = 153;
	assert_int_equal(pdu_encode_submit(&s, 0, out, sizeof(out), &outlen), PDU_OK);
	s.ud_len = 154;
	assert_int_equal(pdu_encode_submit(&s, 0, out, sizeof(out), &outlen), PDU_E_TOO_LONG);
	s.ud_len = 10;
	s.ud[0] = 0x80;
	assert_int_equal(pdu_encode_submit(&s, 0, out, sizeof(out), &outlen), PDU_E_CHARSET);
	s.ud[0] = 0x01;
	/* A hand-made header that a decoder would reject is refused. */
	s.udh[1] = 9;
	assert_int_equal(pdu_encode_submit(&s, 0, out, sizeof(out), &outlen), PDU_E_IE_LEN);
	/* Text that does not fit. */
	memset(&s, 0, sizeof(s));
	{
		char big[200];
		memset(big, 'x', 161);
		big[161] = '\0';
		assert_int_equal(pdu_set_text(&s, big), PDU_E_TOO_LONG);
		big[160] = '\0';
		assert_int_equal(pdu_set_text(&s, big), PDU_OK);
		assert_int_equal(s.ud_len, 160);
		assert_int_equal(pdu_set_text(&s, "ш"), PDU_OK);
		assert_int_equal(s.dcs, 0x08);
		assert_int_equal(s.coding, PDU_CODING_UCS2);
	}
	/* UDH that cannot fit at all. */
	memset(&s, 0, sizeof(s));
	{
		uint8_t d[137] = {0};
		assert_int_equal(pdu_udh_add_ie(&s, 0x70, d, 137), PDU_OK);
		assert_int_equal(pdu_udh_add_ie(&s, 0x70, d, 0), PDU_E_TOO_LONG);
	}
}

static void test_ucs2_message_round_trip(void **state)
{
	struct pdu_sms s, d;
	uint8_t out[PDU_MAX];
	size_t outlen;
	char text[PDU_TEXT_MAX];

	(void)state;
	memset(&s, 0, sizeof(s));
	snprintf(s.addr.text, sizeof(s.addr.text), "+15550000002");
	s.reject_duplicates = 1;
	s.reply_path = 1;
	s.mr = 255;
	s.pid = 0x41;
	assert_int_equal(pdu_set_text(&s, "Привет, мир"), PDU_OK);
	s.dcs = 0x18; /* UCS2, class 0 */
	assert_int_equal(pdu_encode_submit(&s, 0, out, sizeof(out), &outlen), PDU_OK);
	assert_int_equal(out[0], 0x85);
	assert_int_equal(pdu_decode_submit(out, outlen, 0, &d), PDU_OK);
	assert_int_equal(d.reject_duplicates, 1);
	assert_int_equal(d.reply_path, 1);
	assert_int_equal(d.mr, 255);
	assert_int_equal(d.pid, 0x41);
	assert_int_equal(d.coding, PDU_CODING_UCS2);
	assert_int_equal(d.msg_class, 0);
	assert_int_equal(pdu_sms_text(&d, text, sizeof(text)), PDU_OK);
	assert_string_equal(text, "Привет, мир");
}

static void test_dcs(void **state)
{
	enum pdu_coding c;
	int cls;
	uint8_t comp;

	(void)state;
	pdu_dcs_parse(0x00, &c, &cls, &comp);
	assert_true(c == PDU_CODING_7BIT && cls == -1 && comp == 0);
	pdu_dcs_parse(0x04, &c, &cls, &comp);
	assert_true(c == PDU_CODING_8BIT && cls == -1);
	pdu_dcs_parse(0x08, &c, &cls, &comp);
	assert_true(c == PDU_CODING_UCS2);
	pdu_dcs_parse(0x16, &c, &cls, &comp);
	assert_true(c == PDU_CODING_8BIT && cls == 2);
	pdu_dcs_parse(0x24, &c, &cls, &comp);
	assert_true(c == PDU_CODING_8BIT && comp == 1);
	pdu_dcs_parse(0x0C, &c, &cls, &comp); /* reserved alphabet: default */
	assert_true(c == PDU_CODING_7BIT);
	pdu_dcs_parse(0xF6, &c, &cls, &comp);
	assert_true(c == PDU_CODING_8BIT && cls == 2);
	pdu_dcs_parse(0xF0, &c, &cls, &comp);
	assert_true(c == PDU_CODING_7BIT && cls == 0);
	pdu_dcs_parse(0xE0, &c, &cls, &comp);
	assert_true(c == PDU_CODING_UCS2 && cls == -1);
	pdu_dcs_parse(0xC0, &c, &cls, &comp);
	assert_true(c == PDU_CODING_7BIT);
	/* Compressed data is counted in octets, so 141 is too many even though it is 7-bit. */
	{
		uint8_t b[PDU_MAX];
		struct pdu_sms s;
		size_t n = unhex("0100038121F30020050102030405", b, sizeof(b));
		assert_int_equal(pdu_decode_submit(b, n, 0, &s), PDU_OK);
		assert_int_equal(s.compressed, 1);
		assert_int_equal(s.ud_len, 5);
		n = unhex("0100038121F30020060102030405", b, sizeof(b));
		assert_int_equal(pdu_decode_submit(b, n, 0, &s), PDU_E_UD_LEN);
	}
}

static void test_hex_and_strerror(void **state)
{
	uint8_t b[4];
	char hex[9];

	(void)state;
	assert_int_equal(pdu_unhex("0aFf", 4, b, sizeof(b)), 2);
	assert_int_equal(b[0], 0x0A);
	assert_int_equal(b[1], 0xFF);
	pdu_hex(b, 2, hex);
	assert_string_equal(hex, "0AFF");
	assert_int_equal(pdu_unhex("0aF", 3, b, sizeof(b)), -1);
	assert_int_equal(pdu_unhex("0g", 2, b, sizeof(b)), -1);
	assert_int_equal(pdu_unhex("0011223344", 10, b, sizeof(b)), -1);
	for (int e = 0; e < PDU_E_COUNT; e++) {
		assert_non_null(pdu_strerror(e));
		assert_string_not_equal(pdu_strerror(e), "unknown PDU error");
		for (int f = 0; f < e; f++)
			assert_string_not_equal(pdu_strerror(e), pdu_strerror(f));
	}
	assert_string_equal(pdu_strerror(-1), "unknown PDU error");
	assert_string_equal(pdu_strerror(PDU_E_COUNT), "unknown PDU error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_submit_known_vector),
		cmocka_unit_test(test_deliver_known_vector),
		cmocka_unit_test(test_status_report_known_vector),
		cmocka_unit_test(test_status_report_with_pi),
		cmocka_unit_test(test_gsm7_pack_vectors),
		cmocka_unit_test(test_gsm7_alphabet),
		cmocka_unit_test(test_ucs2),
		cmocka_unit_test(test_gsm7_with_udh),
		cmocka_unit_test(test_ports_submit),
		cmocka_unit_test(test_ports_8bit_and_concat16),
		cmocka_unit_test(test_alphanumeric_address),
		cmocka_unit_test(test_vp_relative_table),
		cmocka_unit_test(test_vp_relative_rounds_down),
		cmocka_unit_test(test_port_udh),
		cmocka_unit_test(test_vp_forms),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_malformed_submit),
		cmocka_unit_test(test_malformed_deliver),
		cmocka_unit_test(test_encode_limits),
		cmocka_unit_test(test_ucs2_message_round_trip),
		cmocka_unit_test(test_dcs),
		cmocka_unit_test(test_hex_and_strerror),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
