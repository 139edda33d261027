/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of the supervisor <-> worker framing: round trips of every frame type, rejection of
 * malformed frames, and frame boundaries over a real SOCK_SEQPACKET socketpair. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "worker_proto.h"

static struct wp_msg a, b;
static uint8_t buf[WP_MAX_FRAME + 64];

static void roundtrip(void)
{
	long n = wp_encode(&a, buf, sizeof(buf));
	assert_true(n >= WP_HEADER_LEN);
	assert_int_equal(wp_decode(buf, (size_t)n, &b), 0);
	assert_int_equal(b.type, a.type);
	assert_int_equal(b.op, a.op);
	assert_int_equal(b.job_id, a.job_id);
}

static void test_config(void **state)
{
	(void)state;
	wp_msg_init(&a, WP_CONFIG, WP_OP_NONE, 0);
	snprintf(a.config.name, sizeof(a.config.name), "%s", "gsm1");
	snprintf(a.config.device, sizeof(a.config.device), "%s", "/dev/serial/by-id/usb-Huawei-if00-port0");
	snprintf(a.config.connection, sizeof(a.config.connection), "%s", "at115200");
	snprintf(a.config.model, sizeof(a.config.model), "%s", "at");
	snprintf(a.config.pin, sizeof(a.config.pin), "%s", "1234");
	snprintf(a.config.smsc, sizeof(a.config.smsc), "%s", "+15559999999");
	a.poll_ms = 1234;
	a.timeout_ms = 60000;
	roundtrip();
	assert_memory_equal(&b.config, &a.config, sizeof(a.config));
	assert_int_equal(b.poll_ms, 1234);
	assert_int_equal(b.timeout_ms, 60000);
}

static void test_job_send(void **state)
{
	(void)state;
	wp_msg_init(&a, WP_JOB, WP_OP_SEND, 0xdeadbeef);
	snprintf(a.out.number, sizeof(a.out.number), "%s", "+15550000002");
	a.out.binary = 1;
	a.out.dst_port = 0xffff;
	a.out.src_port = 0;
	for (int i = 0; i < MODEM_BINARY_MAX; i++)
		a.out.data[i] = (uint8_t)(i * 7);
	a.out.data_len = MODEM_BINARY_MAX;
	a.out.validity_minutes = 1440;
	a.out.status_report = 1;
	a.timeout_ms = 45000;
	roundtrip();
	assert_memory_equal(&b.out, &a.out, sizeof(a.out));
	assert_int_equal(b.timeout_ms, 45000);
	assert_int_equal(b.job_id, 0xdeadbeef);
}

static void test_result(void **state)
{
	(void)state;
	wp_msg_init(&a, WP_RESULT, WP_OP_STATUS, 7);
	a.status = MODEM_E_NETWORK;
	a.reference = 255;
	snprintf(a.text, sizeof(a.text), "%s", "+CMS ERROR: 331");
	a.st.sim = MODEM_SIM_READY;
	a.st.reg = MODEM_REG_ROAMING;
	a.st.signal_percent = 61;
	a.st.signal_dbm = -81;
	a.st.ber = -1;
	a.st.sms_used = 3;
	a.st.sms_size = 30;
	snprintf(a.st.network_code, sizeof(a.st.network_code), "%s", "001 01");
	snprintf(a.st.network_name, sizeof(a.st.network_name), "%s", "Test \xc3\xa9");
	snprintf(a.id.imei, sizeof(a.id.imei), "%s", "490154203237518");
	roundtrip();
	assert_int_equal(b.status, MODEM_E_NETWORK);
	assert_int_equal(b.reference, 255);
	assert_string_equal(b.text, a.text);
	assert_memory_equal(&b.st, &a.st, sizeof(a.st));
	assert_string_equal(b.id.imei, a.id.imei);
}

static void test_events(void **state)
{
	(void)state;
	wp_msg_init(&a, WP_EV_SMS, WP_OP_NONE, 0);
	a.in.type = MODEM_IN_DELIVER;
	snprintf(a.in.number, sizeof(a.in.number), "%s", "+15550000001");
	a.in.time_ms = 1700000000123LL;
	a.in.binary = 1;
	a.in.has_ports = 1;
	a.in.dst_port = 0x23f0;
	a.in.src_port = 0x1234;
	pdu_port_udh(a.in.udh, 0x23f0, 0x1234);
	a.in.udh_len = MODEM_PORT_UDH_LEN;
	for (size_t i = 0; i < sizeof(a.in.data); i++)
		a.in.data[i] = (uint8_t)i;
	a.in.data_len = sizeof(a.in.data);
	roundtrip();
	assert_int_equal(b.in.type, MODEM_IN_DELIVER);
	assert_string_equal(b.in.number, a.in.number);
	assert_true(b.in.time_ms == a.in.time_ms);
	assert_int_equal(b.in.has_ports, 1);
	assert_int_equal(b.in.dst_port, 0x23f0);
	assert_int_equal(b.in.udh_len, MODEM_PORT_UDH_LEN);
	assert_memory_equal(b.in.udh, a.in.udh, MODEM_PORT_UDH_LEN);
	assert_int_equal(b.in.data_len, sizeof(a.in.data));
	assert_memory_equal(b.in.data, a.in.data, sizeof(a.in.data));

	wp_msg_init(&a, WP_EV_REPORT, WP_OP_NONE, 0);
	a.in.type = MODEM_IN_STATUS_REPORT;
	snprintf(a.in.number, sizeof(a.in.number), "%s", "+15550000002");
	a.in.reference = 42;
	a.in.report_status = 0x46;
	roundtrip();
	assert_int_equal(b.in.type, MODEM_IN_STATUS_REPORT);
	assert_int_equal(b.in.reference, 42);
	assert_int_equal(b.in.report_status, 0x46);
	assert_string_equal(b.in.number, "+15550000002");
}

/* A valid frame, then damaged copies of it. */
static void test_reject(void **state)
{
	uint8_t bad[WP_MAX_FRAME + 8];
	long n;

	(void)state;
	wp_msg_init(&a, WP_RESULT, WP_OP_SEND, 1);
	a.status = 0;
	snprintf(a.text, sizeof(a.text), "%s", "ok");
	n = wp_encode(&a, buf, sizeof(buf));
	assert_true(n > WP_HEADER_LEN);

	memcpy(bad, buf, (size_t)n);
	bad[0] = 'X';
	assert_int_equal(wp_decode(bad, (size_t)n, &b), -1);
	memcpy(bad, buf, (size_t)n);
	bad[2] = WP_VERSION + 1;
	assert_int_equal(wp_decode(bad, (size_t)n, &b), -1);
	memcpy(bad, buf, (size_t)n);
	bad[3] = WP_TYPE__MAX;
	assert_int_equal(wp_decode(bad, (size_t)n, &b), -1);
	memcpy(bad, buf, (size_t)n);
	bad[4] = WP_OP__MAX;
	assert_int_equal(wp_decode(bad, (size_t)n, &b), -1);
	/* A cut inside a field is caught; a cut between fields is a shorter valid frame (the
	 * socket keeps frames whole, so that cannot happen in transit). */
	{
		int boundary[WP_MAX_FRAME + 1] = {0};
		for (long o = WP_HEADER_LEN; o < n; o += 3 + (buf[o + 1] << 8 | buf[o + 2]))
			boundary[o] = 1;
		boundary[n] = 1;
		for (long cut = 0; cut < n; cut++)
			assert_int_equal(wp_decode(buf, (size_t)cut, &b), boundary[cut] ? 0 : -1);
	}
	/* A job without an op. */
	wp_msg_init(&a, WP_JOB, WP_OP_NONE, 1);
	memcpy(bad, "SW\x01\x03\x00\x00\x00\x00\x01", WP_HEADER_LEN);
	assert_int_equal(wp_decode(bad, WP_HEADER_LEN, &b), -1);

	/* Field-level damage. */
	static const uint8_t hdr[] = {'S', 'W', WP_VERSION, WP_RESULT, WP_OP_SEND, 0, 0, 0, 1};
	struct {
		const uint8_t *field;
		size_t len;
		int ok;
	} cases[] = {
		{(const uint8_t *)"\x01\x00\x04\x00\x00\x00\x05", 7, 1}, /* status 5 */
		{(const uint8_t *)"\x01\x00\x03\x00\x00\x05", 6, 0},     /* int of 3 octets */
		{(const uint8_t *)"\x03\x00\x02o\x00", 5, 0},            /* NUL in a string */
		{(const uint8_t *)"\x03\x00\x05ok", 5, 0},               /* length past the end */
		{(const uint8_t *)"\xee\x00\x02zz", 5, 1},               /* unknown tag: skipped */
		{(const uint8_t *)"\x01\x00", 2, 0},                     /* tag without length */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memcpy(bad, hdr, sizeof(hdr));
		memcpy(bad + sizeof(hdr), cases[i].field, cases[i].len);
		assert_int_equal(wp_decode(bad, sizeof(hdr) + cases[i].len, &b), cases[i].ok ? 0 : -1);
	}
	/* A string as long as its storage (no room for the NUL). */
	memcpy(bad, hdr, sizeof(hdr));
	bad[sizeof(hdr)] = 3;
	bad[sizeof(hdr) + 1] = (uint8_t)(WP_TEXT_MAX >> 8);
	bad[sizeof(hdr) + 2] = (uint8_t)WP_TEXT_MAX;
	memset(bad + sizeof(hdr) + 3, 'x', WP_TEXT_MAX);
	assert_int_equal(wp_decode(bad, sizeof(hdr) + 3 + WP_TEXT_MAX, &b), -1);
	/* Over the frame limit. */
	assert_int_equal(wp_decode(bad, WP_MAX_FRAME + 1, &b), -1);
	/* Encoding into too small a buffer. */
	wp_msg_init(&a, WP_RESULT, WP_OP_SEND, 1);
	snprintf(a.text, sizeof(a.text), "%s", "a long enough error text");
	assert_int_equal(wp_encode(&a, buf, 12), -1);
}

/* Random damage must never crash the decoder (meaningful under ASan). */
static void test_mutations(void **state)
{
	uint8_t bad[WP_MAX_FRAME];
	long n;

	(void)state;
	srand(1);
	wp_msg_init(&a, WP_EV_SMS, WP_OP_NONE, 0);
	snprintf(a.in.number, sizeof(a.in.number), "%s", "+15550000001");
	a.in.data_len = 200;
	a.in.udh_len = 7;
	n = wp_encode(&a, buf, sizeof(buf));
	assert_true(n > 0);
	for (int round = 0; round < 20000; round++) {
		size_t len = (size_t)n;
		memcpy(bad, buf, len);
		for (int k = 0; k < 1 + rand() % 4; k++)
			bad[WP_HEADER_LEN + (size_t)rand() % (len - WP_HEADER_LEN)] = (uint8_t)rand();
		if (rand() % 4 == 0)
			len = WP_HEADER_LEN + (size_t)rand() % (len - WP_HEADER_LEN);
		if (wp_decode(bad, len, &b) == 0) {
			assert_true(b.in.data_len <= sizeof(b.in.data));
			assert_true(b.in.udh_len <= sizeof(b.in.udh));
			assert_true(memchr(b.in.number, '\0', sizeof(b.in.number)) != NULL);
		}
	}
}

/* The worker's word that a send's SMS is the modem's: a header and nothing else. Capabilities ride
 * on results and READY. */
static void test_progress_and_caps(void **state)
{
	(void)state;
	wp_msg_init(&a, WP_PROGRESS, WP_OP_SEND, 77);
	roundtrip();
	assert_int_equal(wp_encode(&a, buf, sizeof(buf)), WP_HEADER_LEN);
	wp_msg_init(&a, WP_RESULT, WP_OP_STATUS, 78);
	a.caps.probed = MODEM_CAP__ALL;
	a.caps.present = MODEM_CAP__ALL & ~MODEM_CAP_GPRS;
	snprintf(a.id.imsi, sizeof(a.id.imsi), "%s", "001015550000001");
	roundtrip();
	assert_int_equal(b.caps.probed, MODEM_CAP__ALL);
	assert_int_equal(b.caps.present, MODEM_CAP__ALL & ~MODEM_CAP_GPRS);
	assert_string_equal(b.id.imsi, "001015550000001");
}

static void test_socket(void **state)
{
	int sp[2];
	uint8_t big[WP_MAX_FRAME + 100];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp), 0);
	wp_msg_init(&a, WP_JOB, WP_OP_STATUS, 1);
	assert_int_equal(wp_send(sp[0], &a), 0);
	wp_msg_init(&a, WP_JOB, WP_OP_IDENTIFY, 2);
	assert_int_equal(wp_send(sp[0], &a), 0);
	/* Two frames, read one at a time. */
	assert_int_equal(wp_recv(sp[1], &b), 0);
	assert_int_equal(b.op, WP_OP_STATUS);
	assert_int_equal(wp_recv(sp[1], &b), 0);
	assert_int_equal(b.op, WP_OP_IDENTIFY);
	assert_int_equal(b.job_id, 2);
	/* An oversized packet is a protocol error, not a truncated frame. */
	memset(big, 0, sizeof(big));
	memcpy(big, "SW\x01\x04\x01\x00\x00\x00\x01", WP_HEADER_LEN);
	assert_int_equal(send(sp[0], big, sizeof(big), 0), (ssize_t)sizeof(big));
	errno = 0;
	assert_int_equal(wp_recv(sp[1], &b), -1);
	assert_int_equal(errno, EPROTO);
	/* End of stream. */
	close(sp[0]);
	assert_int_equal(wp_recv(sp[1], &b), 1);
	close(sp[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config), cmocka_unit_test(test_job_send),
		cmocka_unit_test(test_result), cmocka_unit_test(test_events),
		cmocka_unit_test(test_reject), cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_socket), cmocka_unit_test(test_progress_and_caps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
