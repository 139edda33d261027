/* SPDX-License-Identifier: MIT */
/* libsmswake unit tests without a network: wakeup verification in every input form (binary,
 * text, SMS-DELIVER PDU, hex line, gammu-smsd file), the counter rule, options and the state
 * file. Fetching is tested in test_client_fetch.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ece.h"
#include "encode.h"
#include "internal.h"
#include "smswake.h"
#include "wake.h"

#define PORT 16537

struct fixture {
	char dir[64];
	char state[96];
	uint8_t key[WAKE_KEY_LEN];   /* device 12 */
	uint8_t other[WAKE_KEY_LEN]; /* device 13 */
	smswake_t *h;
};

static const uint8_t master[32] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char b64[ENC_B64_LEN(WAKE_KEY_LEN)];

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_client-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->state, sizeof(f->state), "%s/state", f->dir);
	assert_int_equal(wake_derive_key(master, sizeof(master), 1, 12, f->key), 0);
	assert_int_equal(wake_derive_key(master, sizeof(master), 1, 13, f->other), 0);
	assert_int_equal(smswake_new(&f->h), SMSWAKE_OK);
	enc_b64(f->key, WAKE_KEY_LEN, b64, 0);
	assert_int_equal(smswake_setopt(f->h, "server", "http://127.0.0.1:9"), SMSWAKE_OK);
	assert_int_equal(smswake_setopt(f->h, "device_id", "12"), SMSWAKE_OK);
	assert_int_equal(smswake_setopt(f->h, "token", "t"), SMSWAKE_OK);
	assert_int_equal(smswake_setopt(f->h, "wake_key", b64), SMSWAKE_OK);
	assert_int_equal(smswake_setopt(f->h, "state_file", f->state), SMSWAKE_OK);
	assert_int_equal(smswake_check(f->h), SMSWAKE_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char path[160];

	smswake_free(f->h);
	unlink(f->state);
	snprintf(path, sizeof(path), "%s.lock", f->state);
	unlink(path);
	snprintf(path, sizeof(path), "%s.tmp", f->state);
	unlink(path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void payload(const uint8_t *key, uint16_t port, uint64_t counter, uint8_t *p)
{
	struct wake_msg m = {.version = 1, .key_id = 1, .counter = counter, .time = 1700000000, .pending = 2};
	assert_int_equal(wake_encode(key, port, &m, p, WAKE_PAYLOAD_LEN, NULL), WAKE_OK);
}

static uint64_t stored_counter(smswake_t *h)
{
	uint64_t c = 99, cur;

	assert_int_equal(smswake_get_state(h, &c, &cur), SMSWAKE_OK);
	return c;
}

/* The whole of a small file as a string. */
static void read_file(const char *path, char *buf, size_t max)
{
	FILE *fp = fopen(path, "r");
	size_t n;

	assert_non_null(fp);
	n = fread(buf, 1, max - 1, fp);
	fclose(fp);
	buf[n] = '\0';
}

static void test_valid_binary(void **state)
{
	struct fixture *f = *state;
	uint8_t udh[WAKE_UDH_LEN], p[WAKE_PAYLOAD_LEN];
	struct smswake_wakeup w;

	wake_udh(PORT, udh);
	payload(f->key, PORT, 7, p);
	assert_int_equal(smswake_handle_sms(f->h, udh, sizeof(udh), p, sizeof(p), &w), SMSWAKE_OK);
	assert_true(w.counter == 7);
	assert_int_equal(w.pending, 2);
	assert_int_equal(w.urgent, 0);
	assert_int_equal(w.text_form, 0);
	assert_null(w.reason);
	assert_true(stored_counter(f->h) == 7);
}

static void test_forged_and_damaged(void **state)
{
	struct fixture *f = *state;
	uint8_t udh[WAKE_UDH_LEN], p[WAKE_PAYLOAD_LEN + 1];
	struct smswake_wakeup w;

	wake_udh(PORT, udh);
	payload(f->key, PORT, 3, p);
	p[WAKE_PAYLOAD_LEN - 1] ^= 1; /* forged tag */
	assert_int_equal(smswake_handle_sms(f->h, udh, sizeof(udh), p, WAKE_PAYLOAD_LEN, &w), SMSWAKE_EREJECTED);
	assert_string_equal(w.reason, "authentication tag does not verify");
	p[WAKE_PAYLOAD_LEN - 1] ^= 1;
	/* truncated and extended */
	assert_int_equal(smswake_handle_sms(f->h, udh, sizeof(udh), p, WAKE_PAYLOAD_LEN - 1, &w), SMSWAKE_EREJECTED);
	p[WAKE_PAYLOAD_LEN] = 0;
	assert_int_equal(smswake_handle_sms(f->h, udh, sizeof(udh), p, WAKE_PAYLOAD_LEN + 1, &w), SMSWAKE_EREJECTED);
	/* no header, truncated header */
	assert_int_equal(smswake_handle_sms(f->h, NULL, 0, p, WAKE_PAYLOAD_LEN, &w), SMSWAKE_EREJECTED);
	assert_int_equal(smswake_handle_sms(f->h, udh, sizeof(udh) - 1, p, WAKE_PAYLOAD_LEN, &w), SMSWAKE_EREJECTED);
	/* Signed by device 13's key: wrong device. */
	payload(f->other, PORT, 3, p);
	assert_int_equal(smswake_handle_sms(f->h, udh, sizeof(udh), p, WAKE_PAYLOAD_LEN, &w), SMSWAKE_EREJECTED);
	assert_string_equal(w.reason, "wakeup is for another device");
	assert_true(stored_counter(f->h) == 0);
	/* Nothing stored: a genuine one with that counter still passes. */
	payload(f->key, PORT, 3, p);
	assert_int_equal(smswake_handle_sms(f->h, udh, sizeof(udh), p, WAKE_PAYLOAD_LEN, &w), SMSWAKE_OK);
}

static void test_wrong_port(void **state)
{
	struct fixture *f = *state;
	uint8_t udh[WAKE_UDH_LEN], p[WAKE_PAYLOAD_LEN];
	struct smswake_wakeup w;

	/* Addressed and signed for another port. */
	wake_udh(PORT + 1, udh);
	payload(f->key, PORT + 1, 5, p);
	assert_int_equal(smswake_handle_sms(f->h, udh, sizeof(udh), p, sizeof(p), &w), SMSWAKE_EREJECTED);
	assert_string_equal(w.reason, "wrong destination port");
	/* Signed for another port, re-addressed to ours. */
	wake_udh(PORT, udh);
	assert_int_equal(smswake_handle_sms(f->h, udh, sizeof(udh), p, sizeof(p), &w), SMSWAKE_EREJECTED);
	assert_string_equal(w.reason, "authentication tag does not verify");
	assert_true(stored_counter(f->h) == 0);
}

static void test_replay_and_stale(void **state)
{
	struct fixture *f = *state;
	uint8_t udh[WAKE_UDH_LEN], p5[WAKE_PAYLOAD_LEN], p3[WAKE_PAYLOAD_LEN], p6[WAKE_PAYLOAD_LEN];
	struct smswake_wakeup w;

	wake_udh(PORT, udh);
	payload(f->key, PORT, 5, p5);
	payload(f->key, PORT, 3, p3);
	payload(f->key, PORT, 6, p6);
	assert_int_equal(smswake_handle_sms(f->h, udh, sizeof(udh), p5, sizeof(p5), &w), SMSWAKE_OK);
	assert_int_equal(smswake_handle_sms(f->h, udh, sizeof(udh), p5, sizeof(p5), &w), SMSWAKE_ESTALE);
	assert_string_equal(w.reason, "already seen");
	assert_int_equal(smswake_handle_sms(f->h, udh, sizeof(udh), p3, sizeof(p3), &w), SMSWAKE_ESTALE);
	assert_string_equal(w.reason, "older than the last one");
	assert_true(stored_counter(f->h) == 5);
	assert_int_equal(smswake_handle_sms(f->h, udh, sizeof(udh), p6, sizeof(p6), &w), SMSWAKE_OK);
	assert_true(stored_counter(f->h) == 6);

	/* A second handle (another process in real life) sees the stored counter. */
	{
		smswake_t *h2;
		char b64[ENC_B64_LEN(WAKE_KEY_LEN)];

		enc_b64(f->key, WAKE_KEY_LEN, b64, 0);
		assert_int_equal(smswake_new(&h2), SMSWAKE_OK);
		assert_int_equal(smswake_setopt(h2, "device_id", "12"), SMSWAKE_OK);
		assert_int_equal(smswake_setopt(h2, "wake_key", b64), SMSWAKE_OK);
		assert_int_equal(smswake_setopt(h2, "state_file", f->state), SMSWAKE_OK);
		assert_int_equal(smswake_handle_sms(h2, udh, sizeof(udh), p6, sizeof(p6), &w), SMSWAKE_ESTALE);
		smswake_free(h2);
	}
}

/* The counter is 8 octets unsigned (docs/protocol.md, section 3): values with the top bit set are
 * ordinary, and 2^64-1 is the last one. The device accepts it once; after it no wakeup can pass
 * the counter rule, and the reason says so. */
static void test_counter_range(void **state)
{
	static const uint64_t counters[] = {
		INT64_MAX - 1, INT64_MAX, (uint64_t)INT64_MAX + 1, 0x8000000000000005ULL, UINT64_MAX - 1, UINT64_MAX,
	};
	struct fixture *f = *state;
	uint8_t udh[WAKE_UDH_LEN], p[WAKE_PAYLOAD_LEN];
	struct wake_msg m = {.version = 1, .key_id = 1, .counter = UINT64_MAX};
	char text[WAKE_TEXT_LEN + 1], file[1100];
	struct smswake_wakeup w;
	smswake_t *h2;

	wake_udh(PORT, udh);
	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		payload(f->key, PORT, counters[i], p);
		assert_int_equal(smswake_handle_sms(f->h, udh, sizeof(udh), p, sizeof(p), &w), SMSWAKE_OK);
		assert_true(w.counter == counters[i]);
		assert_true(stored_counter(f->h) == counters[i]);
		/* A lower value with the top bit clear is older, not larger. */
		payload(f->key, PORT, 1, p);
		assert_int_equal(smswake_handle_sms(f->h, udh, sizeof(udh), p, sizeof(p), &w), SMSWAKE_ESTALE);
	}
	/* In the state file as unsigned decimal, and read back by another handle. */
	read_file(f->state, file, sizeof(file));
	assert_non_null(strstr(file, "\ncounter 18446744073709551615\n"));
	assert_int_equal(smswake_new(&h2), SMSWAKE_OK);
	assert_int_equal(smswake_setopt(h2, "device_id", "12"), SMSWAKE_OK);
	assert_int_equal(smswake_setopt(h2, "state_file", f->state), SMSWAKE_OK);
	assert_true(stored_counter(h2) == UINT64_MAX);
	smswake_free(h2);

	/* Exhausted: the same wakeup again, in the other form, and anything lower are stale, with
	 * a reason an operator can act on. */
	assert_int_equal(wake_encode_text(f->key, PORT, &m, text, sizeof(text), NULL), WAKE_OK);
	assert_int_equal(smswake_handle_text(f->h, text, WAKE_TEXT_LEN, &w), SMSWAKE_ESTALE);
	assert_string_equal(w.reason, "wake counter exhausted");
	assert_non_null(strstr(smswake_errmsg(f->h), "18446744073709551615"));
	payload(f->key, PORT, UINT64_MAX - 1, p);
	assert_int_equal(smswake_handle_sms(f->h, udh, sizeof(udh), p, sizeof(p), &w), SMSWAKE_ESTALE);
	assert_string_equal(w.reason, "wake counter exhausted");
	assert_true(stored_counter(f->h) == UINT64_MAX);
}

static void test_text_form(void **state)
{
	struct fixture *f = *state;
	struct wake_msg m = {.version = 1, .key_id = 1, .flags = WAKE_F_URGENT, .counter = 9};
	char text[WAKE_TEXT_LEN + 3];
	struct smswake_wakeup w;

	assert_int_equal(wake_encode_text(f->key, PORT, &m, text, sizeof(text), NULL), WAKE_OK);
	memcpy(text + WAKE_TEXT_LEN, "\r\n", 3);
	assert_int_equal(smswake_handle_text(f->h, text, WAKE_TEXT_LEN + 2, &w), SMSWAKE_OK);
	assert_int_equal(w.urgent, 1);
	assert_int_equal(w.text_form, 1);
	assert_int_equal(smswake_handle_text(f->h, text, WAKE_TEXT_LEN, &w), SMSWAKE_ESTALE);
	m.counter = 10;
	assert_int_equal(wake_encode_text(f->key, PORT, &m, text, sizeof(text), NULL), WAKE_OK);
	text[30] = text[30] == 'A' ? 'B' : 'A';
	assert_int_equal(smswake_handle_text(f->h, text, WAKE_TEXT_LEN, &w), SMSWAKE_EREJECTED);
	assert_int_equal(smswake_handle_text(f->h, "Hello, are you there?", 21, &w), SMSWAKE_EREJECTED);
	assert_int_equal(smswake_handle_text(f->h, "", 0, &w), SMSWAKE_EREJECTED);
	assert_true(stored_counter(f->h) == 9);
}

/* Octets with their length, so they may hold a NUL. */
struct around {
	const char *before, *after;
	size_t before_len, after_len;
};
/* clang-format off */
#define AROUND(b, a) {b, a, sizeof(b) - 1, sizeof(a) - 1}
/* clang-format on */

/* One wakeup (counter c) in form 0 (text, smswake_handle_text), 1 (text, smswake_handle_input) or
 * 2 (hex user data, smswake_handle_input), with octets before and after it. */
static smswake_err input_around(struct fixture *f, int form, uint64_t c, const struct around *ar)
{
	struct wake_msg m = {.version = 1, .key_id = 1, .counter = c};
	uint8_t ud[WAKE_UDH_LEN + WAKE_PAYLOAD_LEN];
	char core[ENC_HEX_LEN(sizeof(ud))], line[200];
	size_t n = 0, cl;

	if (form == 2) {
		wake_udh(PORT, ud);
		payload(f->key, PORT, c, ud + WAKE_UDH_LEN);
		enc_hex(ud, sizeof(ud), core);
	} else {
		assert_int_equal(wake_encode_text(f->key, PORT, &m, core, sizeof(core), NULL), WAKE_OK);
	}
	cl = strlen(core);
	memcpy(line + n, ar->before, ar->before_len);
	n += ar->before_len;
	memcpy(line + n, core, cl);
	n += cl;
	memcpy(line + n, ar->after, ar->after_len);
	n += ar->after_len;
	return form == 0 ? smswake_handle_text(f->h, line, n, NULL) : smswake_handle_input(f->h, line, n, NULL);
}

/* The text form's one allowance (docs/protocol.md, section 5): exactly one line end after the 56
 * characters, CR LF, LF or CR, as a stack or the CLI's stdin adds it. Nothing else around it, and
 * the same rule for every form smswake_handle_input takes. */
static void test_text_whitespace(void **state)
{
	static const struct around ok[] = {AROUND("", ""), AROUND("", "\n"), AROUND("", "\r\n"), AROUND("", "\r")};
	static const struct around bad[] = {
		AROUND(" ", ""),      AROUND("\t", ""),     AROUND("\n", ""),   AROUND("\r\n", ""),
		AROUND("", " "),      AROUND("", "\t"),     AROUND("", "\v"),   AROUND("", "\f"),
		AROUND("", "\n\n"),   AROUND("", "\r\r"),   AROUND("", "\n\r"), AROUND("", "\r\n\r\n"),
		AROUND("", " \n"),    AROUND("", "\t\r\n"), AROUND("", "\n "),  AROUND(" ", "\n"),
		AROUND("", "\r\n\n"), AROUND("", "\0"),     AROUND("", "\n\0"), AROUND("\xef\xbb\xbf", ""),
	};
	static const char *const form_name[] = {"smswake_handle_text", "smswake_handle_input, text",
						"smswake_handle_input, hex"};
	struct fixture *f = *state;
	uint64_t c = 100;
	unsigned wrong = 0;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		for (int form = 0; form < 3; form++)
			if (input_around(f, form, ++c, &ok[i]) != SMSWAKE_OK) {
				print_message("%s, accepted form %zu refused: %s\n", form_name[form], i,
					      smswake_errmsg(f->h));
				wrong++;
			}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		for (int form = 0; form < 3; form++)
			if (input_around(f, form, ++c, &bad[i]) != SMSWAKE_EREJECTED) {
				print_message("%s, white space case %zu not rejected\n", form_name[form], i);
				wrong++;
			}
	assert_int_equal(wrong, 0);
}

/* --- PDUs --- */

static size_t make_deliver(uint8_t *out, int with_smsc, uint8_t dcs, int udhi, uint8_t udl, const uint8_t *ud,
			   size_t ud_octets)
{
	static const uint8_t smsc[] = {0x07, 0x91, 0x44, 0x77, 0x58, 0x10, 0x06, 0x50};
	static const uint8_t oa[] = {0x0b, 0x91, 0x44, 0x77, 0x12, 0x34, 0x56, 0xf7};
	static const uint8_t scts[] = {0x42, 0x11, 0x62, 0x10, 0x50, 0x00, 0x40};
	size_t n = 0;

	if (with_smsc) {
		memcpy(out, smsc, sizeof(smsc));
		n = sizeof(smsc);
	}
	out[n++] = (uint8_t)(0x04 | (udhi ? 0x40 : 0));
	memcpy(out + n, oa, sizeof(oa));
	n += sizeof(oa);
	out[n++] = 0x00;
	out[n++] = dcs;
	memcpy(out + n, scts, sizeof(scts));
	n += sizeof(scts);
	out[n++] = udl;
	memcpy(out + n, ud, ud_octets);
	return n + ud_octets;
}

static size_t pack_gsm7(const char *text, uint8_t *out)
{
	size_t n = strlen(text), bits = 0;

	memset(out, 0, (n * 7 + 7) / 8);
	for (size_t i = 0; i < n; i++) {
		unsigned s = text[i] == '_' ? 0x11 : (unsigned char)text[i];
		out[bits / 8] |= (uint8_t)(s << (bits % 8));
		if (bits % 8 > 1)
			out[bits / 8 + 1] |= (uint8_t)(s >> (8 - bits % 8));
		bits += 7;
	}
	return (n * 7 + 7) / 8;
}

static void test_pdu_forms(void **state)
{
	struct fixture *f = *state;
	uint8_t ud[140], pdu[200];
	char hex[420], text[WAKE_TEXT_LEN + 1];
	struct wake_msg m = {.version = 1, .key_id = 1};
	struct smswake_wakeup w;
	size_t n, udn;

	/* 8-bit with port header, with and without SMSC. */
	wake_udh(PORT, ud);
	payload(f->key, PORT, 1, ud + WAKE_UDH_LEN);
	n = make_deliver(pdu, 1, 0x04, 1, 43, ud, 43);
	assert_int_equal(smswake_handle_pdu(f->h, pdu, n, &w), SMSWAKE_OK);
	payload(f->key, PORT, 2, ud + WAKE_UDH_LEN);
	n = make_deliver(pdu, 0, 0x04, 1, 43, ud, 43);
	assert_int_equal(smswake_handle_pdu(f->h, pdu, n, &w), SMSWAKE_OK);
	/* UDL that disagrees with the octets present, trailing octet, missing UDHI. */
	payload(f->key, PORT, 3, ud + WAKE_UDH_LEN);
	n = make_deliver(pdu, 0, 0x04, 1, 44, ud, 43);
	assert_int_equal(smswake_handle_pdu(f->h, pdu, n, &w), SMSWAKE_EREJECTED);
	n = make_deliver(pdu, 0, 0x04, 1, 42, ud, 43);
	assert_int_equal(smswake_handle_pdu(f->h, pdu, n, &w), SMSWAKE_EREJECTED);
	n = make_deliver(pdu, 0, 0x04, 0, 43, ud, 43);
	assert_int_equal(smswake_handle_pdu(f->h, pdu, n, &w), SMSWAKE_EREJECTED);
	/* Every truncation of a valid PDU is rejected without reading past the end. */
	n = make_deliver(pdu, 1, 0x04, 1, 43, ud, 43);
	for (size_t k = 0; k < n; k++) {
		uint8_t *copy = malloc(k ? k : 1);
		memcpy(copy, pdu, k);
		assert_int_equal(smswake_handle_pdu(f->h, copy, k, &w), SMSWAKE_EREJECTED);
		free(copy);
	}

	/* Text form in the GSM 7-bit alphabet (with '_' at septet 0x11). */
	m.counter = 4;
	for (;; m.counter++) {
		assert_int_equal(wake_encode_text(f->key, PORT, &m, text, sizeof(text), NULL), WAKE_OK);
		if (strchr(text, '_') != NULL || m.counter > 4000)
			break;
	}
	assert_non_null(strchr(text, '_'));
	udn = pack_gsm7(text, ud);
	n = make_deliver(pdu, 1, 0x00, 0, WAKE_TEXT_LEN, ud, udn);
	assert_int_equal(smswake_handle_pdu(f->h, pdu, n, &w), SMSWAKE_OK);
	assert_int_equal(w.text_form, 1);

	/* Text form in UCS2, as hex on a line (the CLI's input). */
	m.counter++;
	assert_int_equal(wake_encode_text(f->key, PORT, &m, text, sizeof(text), NULL), WAKE_OK);
	for (size_t i = 0; i < WAKE_TEXT_LEN; i++) {
		ud[2 * i] = 0;
		ud[2 * i + 1] = (uint8_t)text[i];
	}
	n = make_deliver(pdu, 0, 0x08, 0, 2 * WAKE_TEXT_LEN, ud, 2 * WAKE_TEXT_LEN);
	enc_hex(pdu, n, hex);
	assert_int_equal(smswake_handle_input(f->h, hex, strlen(hex), &w), SMSWAKE_OK);
	assert_int_equal(smswake_handle_input(f->h, hex, strlen(hex), &w), SMSWAKE_ESTALE);

	/* A U+0000 after a valid text form must not cut the text short and hide the rest. */
	m.counter++;
	assert_int_equal(wake_encode_text(f->key, PORT, &m, text, sizeof(text), NULL), WAKE_OK);
	for (size_t i = 0; i < WAKE_TEXT_LEN; i++) {
		ud[2 * i] = 0;
		ud[2 * i + 1] = (uint8_t)text[i];
	}
	memcpy(ud + 2 * WAKE_TEXT_LEN, "\0\0\0A", 4);
	n = make_deliver(pdu, 0, 0x08, 0, 2 * WAKE_TEXT_LEN + 4, ud, 2 * WAKE_TEXT_LEN + 4);
	assert_int_equal(smswake_handle_pdu(f->h, pdu, n, &w), SMSWAKE_EREJECTED);
	n = make_deliver(pdu, 0, 0x08, 0, 2 * WAKE_TEXT_LEN, ud, 2 * WAKE_TEXT_LEN);
	assert_int_equal(smswake_handle_pdu(f->h, pdu, n, &w), SMSWAKE_OK);

	/* A compressed 8-bit message (DCS 0x24) is never a wakeup, even with a valid payload. */
	wake_udh(PORT, ud);
	payload(f->key, PORT, m.counter + 1, ud + WAKE_UDH_LEN);
	n = make_deliver(pdu, 0, 0x24, 1, 43, ud, 43);
	assert_int_equal(smswake_handle_pdu(f->h, pdu, n, &w), SMSWAKE_EREJECTED);
	n = make_deliver(pdu, 0, 0x04, 1, 43, ud, 43);
	assert_int_equal(smswake_handle_pdu(f->h, pdu, n, &w), SMSWAKE_OK);
}

static void test_input_line(void **state)
{
	struct fixture *f = *state;
	uint8_t ud[WAKE_UDH_LEN + WAKE_PAYLOAD_LEN];
	char hex[ENC_HEX_LEN(sizeof(ud)) + 4], text[WAKE_TEXT_LEN + 1], line[100];
	struct wake_msg m = {.version = 1, .key_id = 1, .counter = 20};
	struct smswake_wakeup w;

	/* Hex user data that starts with its header, upper case, with a line end (what else may
	 * surround a line is test_text_whitespace's business). */
	wake_udh(PORT, ud);
	payload(f->key, PORT, 11, ud + WAKE_UDH_LEN);
	enc_hex(ud, sizeof(ud), hex);
	for (char *p = hex; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	memcpy(hex + strlen(hex), "\r\n", 3);
	assert_int_equal(smswake_handle_input(f->h, hex, strlen(hex), &w), SMSWAKE_OK);
	assert_true(w.counter == 11);
	/* The text form. */
	assert_int_equal(wake_encode_text(f->key, PORT, &m, text, sizeof(text), NULL), WAKE_OK);
	snprintf(line, sizeof(line), "%s\n", text);
	assert_int_equal(smswake_handle_input(f->h, line, strlen(line), &w), SMSWAKE_OK);
	/* Junk. */
	assert_int_equal(smswake_handle_input(f->h, "zz", 2, &w), SMSWAKE_EREJECTED);
	assert_int_equal(smswake_handle_input(f->h, "", 0, &w), SMSWAKE_EREJECTED);
	assert_int_equal(smswake_handle_input(f->h, "0", 1, &w), SMSWAKE_EREJECTED);
	assert_int_equal(smswake_handle_input(f->h, "ff", 2, &w), SMSWAKE_EREJECTED);
	assert_true(stored_counter(f->h) == 20);
}

static void test_smsd_file(void **state)
{
	struct fixture *f = *state;
	uint8_t p[WAKE_PAYLOAD_LEN];
	char hex[ENC_HEX_LEN(WAKE_PAYLOAD_LEN)], file[2048], text[WAKE_TEXT_LEN + 1], ucs[4 * 60 + 1];
	struct wake_msg m = {.version = 1, .key_id = 1, .counter = 31};
	struct smswake_wakeup w;

	/* As gammu-smsd writes it: comment lines, quoted strings, CRLF after Text lines. */
	payload(f->key, PORT, 30, p);
	enc_hex(p, sizeof(p), hex);
	snprintf(file, sizeof(file),
		 "; This file was generated by Gammu\n\n[SMSBackup000]\nSMSC = \"+447785016005\"\n"
		 "SMSCUnicode = 002B\nPDU = Deliver\nState = UnRead\nNumber = \"+447721436587\"\n"
		 "NumberUnicode = 002B\nName = \"\"\nNameUnicode = \nUDH = 06050440994099\n"
		 "Text00 = %.40s\r\nText01 = %s\r\nCoding = 8bit\nFolder = 1\nLength = 36\nClass = -1\n"
		 "ReplySMSC = False\nRejectDuplicates = False\nReplaceMessage = 0\n"
		 "MessageReference = 0\n\n",
		 hex, hex + 40);
	assert_int_equal(smswake_handle_smsd_file(f->h, file, strlen(file), &w), SMSWAKE_OK);
	assert_true(w.counter == 30);
	assert_int_equal(smswake_handle_smsd_file(f->h, file, strlen(file), &w), SMSWAKE_ESTALE);

	/* The text form: Gammu stores 7-bit text as UTF-16BE hex. */
	assert_int_equal(wake_encode_text(f->key, PORT, &m, text, sizeof(text), NULL), WAKE_OK);
	for (size_t i = 0; i < WAKE_TEXT_LEN; i++)
		snprintf(ucs + 4 * i, 5, "%04X", (unsigned)text[i]);
	snprintf(file, sizeof(file),
		 "[SMSBackup000]\n; %s\nNumber = \"+1\"\nText00 = %s\nCoding = Default_No_Compression\n", text, ucs);
	assert_int_equal(smswake_handle_smsd_file(f->h, file, strlen(file), &w), SMSWAKE_OK);
	assert_int_equal(w.text_form, 1);

	/* Two sections (a concatenated message), no UDH, a bad UDH length, unknown coding. */
	payload(f->key, PORT, 40, p);
	enc_hex(p, sizeof(p), hex);
	snprintf(file, sizeof(file),
		 "[SMSBackup000]\nUDH = 06050440994099\nText00 = %s\n"
		 "[SMSBackup001]\nUDH = 06050440994099\nText00 = %s\n",
		 hex, hex);
	assert_int_equal(smswake_handle_smsd_file(f->h, file, strlen(file), &w), SMSWAKE_EREJECTED);
	snprintf(file, sizeof(file), "[SMSBackup000]\nText00 = %s\nCoding = 8bit\n", hex);
	assert_int_equal(smswake_handle_smsd_file(f->h, file, strlen(file), &w), SMSWAKE_EREJECTED);
	snprintf(file, sizeof(file), "[SMSBackup000]\nUDH = 070504409940\nText00 = %s\n", hex);
	assert_int_equal(smswake_handle_smsd_file(f->h, file, strlen(file), &w), SMSWAKE_EREJECTED);
	snprintf(file, sizeof(file),
		 "[SMSBackup000]\nUDH = 06050440994099\nText00 = %s\n"
		 "Coding = Unicode_Compression\n",
		 hex);
	assert_int_equal(smswake_handle_smsd_file(f->h, file, strlen(file), &w), SMSWAKE_EREJECTED);
	snprintf(file, sizeof(file), "[SMSBackup000]\nUDH = 06050440994099\nText00 = %s\nText02 = 00\n", hex);
	assert_int_equal(smswake_handle_smsd_file(f->h, file, strlen(file), &w), SMSWAKE_EREJECTED);
	/* Coding missing means 8bit, as in Gammu. */
	snprintf(file, sizeof(file), "[SMSBackup000]\nUDH = 06050440994099\nText00 = %s\n", hex);
	assert_int_equal(smswake_handle_smsd_file(f->h, file, strlen(file), &w), SMSWAKE_OK);
}

static void test_options(void **state)
{
	struct fixture *f = *state;
	smswake_t *h;

	assert_int_equal(smswake_setopt(f->h, "server", "ftp://x"), SMSWAKE_ECONFIG);
	assert_int_equal(smswake_setopt(f->h, "device_id", "-1"), SMSWAKE_ECONFIG);
	assert_int_equal(smswake_setopt(f->h, "device_id", "18446744073709551616"), SMSWAKE_ECONFIG);
	assert_int_equal(smswake_setopt(f->h, "key_id", "0"), SMSWAKE_ECONFIG);
	assert_int_equal(smswake_setopt(f->h, "port", "65536"), SMSWAKE_ECONFIG);
	assert_int_equal(smswake_setopt(f->h, "wake_key", "c2hvcnQ="), SMSWAKE_ECONFIG);
	assert_int_equal(smswake_setopt(f->h, "token", "has space"), SMSWAKE_ECONFIG);
	assert_int_equal(smswake_setopt(f->h, "poll_interval", "5x"), SMSWAKE_ECONFIG);
	assert_int_equal(smswake_setopt(f->h, "sms_format", "morse"), SMSWAKE_ECONFIG);
	assert_int_equal(smswake_setopt(f->h, "colour", "blue"), SMSWAKE_ECONFIG);
	assert_string_equal(smswake_errmsg(f->h), "unknown option \"colour\"");
	assert_int_equal(smswake_setopt(f->h, "server", "https://example.com///"), SMSWAKE_OK);
	assert_int_equal(smswake_setopt(f->h, "poll_interval", "60"), SMSWAKE_OK);
	assert_int_equal(smswake_poll_interval(f->h), 60);
	assert_int_equal(smswake_check(f->h), SMSWAKE_OK);

	assert_int_equal(smswake_new(&h), SMSWAKE_OK);
	assert_int_equal(smswake_check(h), SMSWAKE_ECONFIG);
	assert_int_equal(smswake_handle_text(h, "x", 1, NULL), SMSWAKE_ECONFIG);
	smswake_free(h);
	smswake_free(NULL);
	assert_int_equal(smswake_new(NULL), SMSWAKE_EINVAL);
	assert_string_equal(smswake_strerror(SMSWAKE_ESTALE), "wakeup already seen or older than the last one");
	assert_string_equal(smswake_strerror((smswake_err)77), "unknown error");
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void test_state_file(void **state)
{
	struct fixture *f = *state;
	uint8_t udh[WAKE_UDH_LEN], p[WAKE_PAYLOAD_LEN];
	struct sw_state st = {.device_id = 12, .counter = 5, .reported = 4, .cursor = 9, .acked = 8, .inflight = 10},
			back;
	char buf[512], tmp[160];
	size_t n;
	uint64_t c, cur;

	/* Round trip and strictness of the format. */
	n = sw_state_format(&st, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(sw_state_parse(buf, n, &back), 0);
	assert_memory_equal(&st, &back, sizeof(st));
	for (size_t k = 0; k < n; k++)
		assert_int_not_equal(sw_state_parse(buf, k, &back), 0); /* every truncation */
	assert_int_not_equal(sw_state_parse("smswake-state 1\ndevice 12\n", 26, &back), 0);
	write_file(f->state, "smswake-state 1\ndevice 12\ncounter 5\ncounter 6\nreported 0\ncursor 0\n"
			     "acked 0\ninflight 0\n");
	assert_int_equal(smswake_get_state(f->h, &c, &cur), SMSWAKE_ESTATE);

	/* Corrupt: never silently reset (that would re-open the replay window). */
	write_file(f->state, "garbage");
	wake_udh(PORT, udh);
	payload(f->key, PORT, 1, p);
	assert_int_equal(smswake_handle_sms(f->h, udh, sizeof(udh), p, sizeof(p), NULL), SMSWAKE_ESTATE);
	/* Another device's state. */
	st.device_id = 13;
	n = sw_state_format(&st, buf, sizeof(buf));
	write_file(f->state, buf);
	assert_int_equal(smswake_handle_sms(f->h, udh, sizeof(udh), p, sizeof(p), NULL), SMSWAKE_ESTATE);
	assert_non_null(strstr(smswake_errmsg(f->h), "belongs to device 13"));

	/* A temporary file left by a crash mid-write is ignored and replaced. */
	unlink(f->state);
	snprintf(tmp, sizeof(tmp), "%s.tmp", f->state);
	write_file(tmp, "smswake-state 1\ndevice 12\ncounter 9");
	assert_int_equal(smswake_handle_sms(f->h, udh, sizeof(udh), p, sizeof(p), NULL), SMSWAKE_OK);
	assert_int_equal(access(tmp, F_OK), -1);
	{
		struct stat sb;
		assert_int_equal(stat(f->state, &sb), 0);
		assert_int_equal(sb.st_mode & 0777, 0600);
	}

	/* The counter is durable before the call returns: a process that dies right after
	 * smswake_handle_sms leaves it stored. */
	{
		pid_t pid = fork();
		int status;

		assert_true(pid >= 0);
		if (pid == 0) {
			payload(f->key, PORT, 2, p);
			_exit(smswake_handle_sms(f->h, udh, sizeof(udh), p, sizeof(p), NULL) == SMSWAKE_OK ? 0 : 1);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	assert_true(stored_counter(f->h) == 2);

	/* Unwritable directory: the wakeup is not acted on. */
	if (geteuid() != 0) {
		chmod(f->dir, 0500);
		payload(f->key, PORT, 3, p);
		assert_int_equal(smswake_handle_sms(f->h, udh, sizeof(udh), p, sizeof(p), NULL), SMSWAKE_ESTATE);
		chmod(f->dir, 0700);
	}
}

static void payload_key(const uint8_t *key, uint8_t key_id, uint64_t counter, uint8_t *p)
{
	struct wake_msg m = {.version = 1, .key_id = key_id, .counter = counter, .time = 1700000000};
	assert_int_equal(wake_encode(key, PORT, &m, p, WAKE_PAYLOAD_LEN, NULL), WAKE_OK);
}

static smswake_err noop_message(const struct smswake_message *m, void *ctx)
{
	(void)m, (void)ctx;
	return SMSWAKE_OK;
}

/* After a master-key rotation the state file holds the key the server handed over: wakeups
 * under it verify; until the server confirmed the move the configured key still does, after it
 * no longer (the old master key is what the operator stopped trusting). */
/* Push keys in the state file: both slots round-trip; the previous key only with the current one
 * and its end; a damaged key line is a corrupt state, never a silent reset. */
static void test_state_push_keys(void **state)
{
	struct sw_state st = {.device_id = 12, .counter = 3, .reported = 3, .cursor = 9, .acked = 9}, back;
	char buf[2048], bad[2048], *p;
	size_t n;

	(void)state;
	assert_int_equal(ece_webpush_keygen(st.push.priv, st.push.pub, st.push.auth), ECE_OK);
	st.have_push = 1;
	n = sw_state_format(&st, buf, sizeof(buf));
	assert_true(n > 0);
	memset(&back, 0xee, sizeof(back));
	assert_int_equal(sw_state_parse(buf, n, &back), 0);
	assert_int_equal(back.have_push, 1);
	assert_int_equal(back.have_old_push, 0);
	assert_memory_equal(&back.push, &st.push, sizeof(st.push));

	st.old_push = st.push;
	assert_int_equal(ece_webpush_keygen(st.push.priv, st.push.pub, st.push.auth), ECE_OK);
	st.have_old_push = 1;
	st.old_push_until = UINT64_MAX;
	n = sw_state_format(&st, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(sw_state_parse(buf, n, &back), 0);
	assert_int_equal(back.have_old_push, 1);
	assert_true(back.old_push_until == UINT64_MAX);
	assert_memory_equal(&back.old_push, &st.old_push, sizeof(st.old_push));
	assert_memory_equal(&back.push, &st.push, sizeof(st.push));
	/* Every truncation but those that drop whole optional lines (a state without push keys, or
	 * without the previous one, is valid). */
	for (size_t k = 0; k < n; k++)
		if (!(k > 0 && buf[k - 1] == '\n' && (size_t)(strstr(buf, "\npush_key ") - buf) < k))
			assert_int_not_equal(sw_state_parse(buf, k, &back), 0);

	/* Without its end, or without a current key. */
	memcpy(bad, buf, n + 1);
	p = strstr(bad, "old_push_until");
	*p = '\0';
	assert_int_not_equal(sw_state_parse(bad, strlen(bad), &back), 0);
	memcpy(bad, buf, n + 1);
	p = strstr(bad, "\npush_key ");
	memmove(p + 1, strchr(p + 1, '\n') + 1, strlen(strchr(p + 1, '\n') + 1) + 1);
	assert_int_not_equal(sw_state_parse(bad, strlen(bad), &back), 0);
	/* A key part of the wrong length, a public key that is not uncompressed, a missing part. */
	memcpy(bad, buf, n + 1);
	p = strstr(bad, "\npush_key ") + 11;
	memmove(p, p + 1, strlen(p + 1) + 1);
	assert_int_not_equal(sw_state_parse(bad, strlen(bad), &back), 0);
	memcpy(bad, buf, n + 1);
	p = strchr(strstr(bad, "\npush_key ") + 11, '.') + 1;
	*p = 'A';
	assert_int_not_equal(sw_state_parse(bad, strlen(bad), &back), 0);
	memcpy(bad, buf, n + 1);
	p = strchr(strstr(bad, "\npush_key ") + 11, '.');
	*p = '_';
	assert_int_not_equal(sw_state_parse(bad, strlen(bad), &back), 0);
}

static void test_rotated_key(void **state)
{
	static const uint8_t master2[32] = {2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
					    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2};
	static const uint8_t master3[32] = {3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
					    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3};
	struct fixture *f = *state;
	struct sw_state st = {.device_id = 12, .counter = 4, .reported = 4, .next_key_id = 2}, back;
	uint8_t udh[WAKE_UDH_LEN], p[WAKE_PAYLOAD_LEN], key2[WAKE_KEY_LEN], key3[WAKE_KEY_LEN];
	struct sw_page page;
	char buf[512], why[160], json[256], b64[ENC_B64_LEN(WAKE_KEY_LEN)];
	size_t n;

	assert_int_equal(wake_derive_key(master2, sizeof(master2), 2, 12, key2), 0);
	assert_int_equal(wake_derive_key(master3, sizeof(master3), 3, 12, key3), 0);
	memcpy(st.next_key, key2, WAKE_KEY_LEN);
	wake_udh(PORT, udh);
	n = sw_state_format(&st, buf, sizeof(buf));
	assert_true(n > 0);
	assert_non_null(strstr(buf, "\nnext_key_id 2\nnext_wake_key "));
	assert_null(strstr(buf, "\nkey_id"));
	assert_int_equal(sw_state_parse(buf, n, &back), 0);
	assert_memory_equal(&st, &back, sizeof(st));
	write_file(f->state, buf);

	/* Moving to key 2: both the configured key (1) and key 2 verify. */
	payload_key(f->key, 1, 5, p);
	assert_int_equal(smswake_handle_sms(f->h, udh, sizeof(udh), p, sizeof(p), NULL), SMSWAKE_OK);
	payload_key(key2, 2, 6, p);
	assert_int_equal(smswake_handle_sms(f->h, udh, sizeof(udh), p, sizeof(p), NULL), SMSWAKE_OK);
	payload_key(f->key, 2, 7, p); /* key id 2, made with the wrong key */
	assert_int_equal(smswake_handle_sms(f->h, udh, sizeof(udh), p, sizeof(p), NULL), SMSWAKE_EREJECTED);
	payload_key(key2, 3, 7, p); /* a key id the device does not have */
	assert_int_equal(smswake_handle_sms(f->h, udh, sizeof(udh), p, sizeof(p), NULL), SMSWAKE_EREJECTED);
	assert_true(stored_counter(f->h) == 6);

	/* The server confirmed the move: key 2 only. */
	st.counter = st.reported = 6;
	st.key_id = 2;
	memcpy(st.key, key2, WAKE_KEY_LEN);
	st.next_key_id = 0;
	memset(st.next_key, 0, WAKE_KEY_LEN);
	n = sw_state_format(&st, buf, sizeof(buf));
	write_file(f->state, buf);
	payload_key(f->key, 1, 7, p);
	assert_int_equal(smswake_handle_sms(f->h, udh, sizeof(udh), p, sizeof(p), NULL), SMSWAKE_EREJECTED);
	payload_key(key2, 2, 8, p);
	assert_int_equal(smswake_handle_sms(f->h, udh, sizeof(udh), p, sizeof(p), NULL), SMSWAKE_OK);

	/* A second rotation under way: key 2 (what the server still uses) and key 3, never key 1. */
	st.counter = st.reported = 8;
	st.next_key_id = 3;
	memcpy(st.next_key, key3, WAKE_KEY_LEN);
	n = sw_state_format(&st, buf, sizeof(buf));
	assert_int_equal(sw_state_parse(buf, n, &back), 0);
	assert_memory_equal(&st, &back, sizeof(st));
	write_file(f->state, buf);
	payload_key(key2, 2, 9, p);
	assert_int_equal(smswake_handle_sms(f->h, udh, sizeof(udh), p, sizeof(p), NULL), SMSWAKE_OK);
	payload_key(key3, 3, 10, p);
	assert_int_equal(smswake_handle_sms(f->h, udh, sizeof(udh), p, sizeof(p), NULL), SMSWAKE_OK);
	payload_key(f->key, 1, 11, p);
	assert_int_equal(smswake_handle_sms(f->h, udh, sizeof(udh), p, sizeof(p), NULL), SMSWAKE_EREJECTED);
	assert_true(stored_counter(f->h) == 10);

	/* Each slot's two lines together or not at all, with sane values. */
	{
		static const char *const cut[] = {"key_id 2\n", "next_key_id 3\n"};
		for (size_t i = 0; i < 2; i++) {
			char *at = strstr(buf, cut[i]), copy[512];
			size_t l;

			assert_non_null(at);
			l = (size_t)(at - buf);
			memcpy(copy, buf, l);
			memcpy(copy + l, at + strlen(cut[i]), n - l - strlen(cut[i]) + 1);
			assert_int_not_equal(sw_state_parse(copy, strlen(copy), &back), 0);
		}
	}
	{
		static const char *const swap[][2] = {
			{"\nkey_id 2\n", "\nkey_id 0\n"},
			{"next_key_id 3\n", "next_key_id 2\n"},
			{"next_key_id 3\n", "next_key_id 256"},
			{"wake_key ", "wake_key !"},
		};
		for (size_t i = 0; i < sizeof(swap) / sizeof(swap[0]); i++) {
			char copy[512], *at;

			snprintf(copy, sizeof(copy), "%s", buf);
			at = strstr(copy, swap[i][0]);
			assert_non_null(at);
			memcpy(at, swap[i][1], strlen(swap[i][1]));
			assert_int_not_equal(sw_state_parse(copy, strlen(copy), &back), 0);
		}
	}

	enc_b64(key2, WAKE_KEY_LEN, b64, 0);
	/* The fetch answer's "wake_key": taken when well formed, a protocol error otherwise. */
	snprintf(json, sizeof(json), "{\"messages\":[],\"more\":false,\"wake_key\":{\"key_id\":2,\"key\":\"%s\"}}",
		 b64);
	assert_int_equal(sw_parse_page(json, strlen(json), 1024, noop_message, NULL, &page, why, sizeof(why)),
			 SMSWAKE_OK);
	assert_int_equal(page.key_id, 2);
	assert_memory_equal(page.key, key2, WAKE_KEY_LEN);
	{
		static const char *const bad[] = {
			"{\"messages\":[],\"wake_key\":2}",
			"{\"messages\":[],\"wake_key\":{\"key_id\":0,\"key\":\"%s\"}}",
			"{\"messages\":[],\"wake_key\":{\"key_id\":256,\"key\":\"%s\"}}",
			"{\"messages\":[],\"wake_key\":{\"key_id\":\"2\",\"key\":\"%s\"}}",
			"{\"messages\":[],\"wake_key\":{\"key_id\":2,\"key\":\"AAAA\"}}",
			"{\"messages\":[],\"wake_key\":{\"key_id\":2}}",
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			snprintf(json, sizeof(json), bad[i], b64);
			assert_int_equal(
				sw_parse_page(json, strlen(json), 1024, noop_message, NULL, &page, why, sizeof(why)),
				SMSWAKE_EPROTO);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_valid_binary, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forged_and_damaged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_port, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_and_stale, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counter_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_text_form, setup, teardown),
		cmocka_unit_test_setup_teardown(test_text_whitespace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pdu_forms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_input_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_smsd_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_options, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotated_key, setup, teardown),
		cmocka_unit_test(test_state_push_keys),
	};
	return cmocka_run_group_tests_name("client", tests, NULL, NULL);
}
