/* SPDX-License-Identifier: MIT */
/* Unit tests of the wakeup codec: the published test vectors of docs/protocol.md, and rejection
 * of every damaged, misdirected or malformed payload. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "crypto.h"
#include "encode.h"
#include "wake.h"

struct vector {
	const char *master; /* hex */
	uint64_t device_id;
	uint8_t key_id;
	uint16_t port;
	uint8_t flags;
	uint64_t counter;
	uint32_t time;
	uint8_t pending;
	const char *k_dev;      /* hex */
	const char *device_tag; /* hex */
	const char *payload;    /* hex */
	const char *text;
};

/* Same values as docs/protocol.md, section "Test vectors" (test_client_vectors.c reads them out of
 * the document and test_protocol.py recomputes them with an implementation of its own). */
static const struct vector vectors[] = {
	{
		.master = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		.device_id = 12,
		.key_id = 1,
		.port = 16537,
		.flags = 0,
		.counter = 1,
		.time = 1700000000,
		.pending = 3,
		.k_dev = "2c8beba1745988fcd161f2fdb8014cd298a85645a80b6cea0428a7bed37b5570",
		.device_tag = "a946e2da",
		.payload = "010001a946e2da00000000000000016553f100032c0b8d488769f42d739ffeffb9d58e83",
		.text = "SMSWAKE:AQABqUbi2gAAAAAAAAABZVPxAAMsC41Ih2n0LXOf_v-51Y6D",
	},
	{
		.master = "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
		.device_id = 0x0123456789abcdefULL,
		.key_id = 7,
		.port = 16000,
		.flags = WAKE_F_URGENT,
		.counter = 0x0102030405060708ULL,
		.time = 0xfffffffeu,
		.pending = 255,
		.k_dev = "7e87e50220b42737f8b92d0e04c3e9101969affd4dd362ec83aff1483a52b5e1",
		.device_tag = "cd60fc1e",
		.payload = "010107cd60fc1e0102030405060708fffffffeff56ee7edced9982f784cd5c4f28440b24",
		.text = "SMSWAKE:AQEHzWD8HgECAwQFBgcI_____v9W7n7c7ZmC94TNXE8oRAsk",
	},
	{
		.master = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		.device_id = 13,
		.key_id = 1,
		.port = 16537,
		.flags = 0,
		.counter = 1,
		.time = 1700000000,
		.pending = 3,
		.k_dev = "77b3cd9b9067304fe76ce331edd706ef27edec3672d9b43aaf290ac169cfa36a",
		.device_tag = "2f8ccd3e",
		.payload = "0100012f8ccd3e00000000000000016553f1000383871d519279e00ead8971ec72af3ad7",
		.text = "SMSWAKE:AQABL4zNPgAAAAAAAAABZVPxAAODhx1RknngDq2JcexyrzrX",
	},
	{
		/* device id and counter with the top bit set, the last counter, key id 255 */
		.master = "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
		.device_id = 0xfedcba9876543210ULL,
		.key_id = 255,
		.port = 16999,
		.flags = WAKE_F_URGENT,
		.counter = UINT64_MAX,
		.time = 0,
		.pending = 0,
		.k_dev = "3384aa3145ff6d7fa72693e21ba696011b7df6c4152b73b4b76fa1122d26e763",
		.device_tag = "f90e04c0",
		.payload = "0101fff90e04c0ffffffffffffffff0000000000d0a91b5ccaacf4a51533f07224bfc639",
		.text = "SMSWAKE:AQH_-Q4EwP__________AAAAAADQqRtcyqz0pRUz8HIkv8Y5",
	},
};

static void unhex(const char *hex, uint8_t *out, size_t len)
{
	assert_int_equal(enc_unhex(hex, strlen(hex), out, len), (long)len);
}

static void vector_key(const struct vector *v, uint8_t key[WAKE_KEY_LEN])
{
	uint8_t master[32];

	unhex(v->master, master, sizeof(master));
	assert_int_equal(wake_derive_key(master, sizeof(master), v->key_id, v->device_id, key), 0);
}

static struct wake_msg vector_msg(const struct vector *v)
{
	struct wake_msg m = {
		.version = WAKE_VERSION,
		.flags = v->flags,
		.key_id = v->key_id,
		.counter = v->counter,
		.time = v->time,
		.pending = v->pending,
	};
	return m;
}

/* A valid payload of the first vector, for the rejection tests. */
static void valid_payload(uint8_t key[WAKE_KEY_LEN], uint8_t p[WAKE_PAYLOAD_LEN])
{
	vector_key(&vectors[0], key);
	unhex(vectors[0].payload, p, WAKE_PAYLOAD_LEN);
}

/* Recomputes the tag of a hand-made payload, so a test can reach the check after the MAC. */
static void reseal(const uint8_t key[WAKE_KEY_LEN], uint16_t port, uint8_t p[WAKE_PAYLOAD_LEN])
{
	uint8_t buf[17 + 2 + 20], h[CRYPTO_SHA256_LEN];

	memcpy(buf, "smswake wakeup v1", 17);
	buf[17] = (uint8_t)(port >> 8);
	buf[18] = (uint8_t)port;
	memcpy(buf + 19, p, 20);
	assert_int_equal(crypto_hmac_sha256(key, WAKE_KEY_LEN, buf, sizeof(buf), h), 0);
	memcpy(p + 20, h, WAKE_MAC_LEN);
}

static void test_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const struct vector *v = &vectors[i];
		uint8_t key[WAKE_KEY_LEN], want_key[WAKE_KEY_LEN], tag[4], want_tag[4];
		uint8_t p[64], want_p[WAKE_PAYLOAD_LEN];
		char text[WAKE_TEXT_LEN + 1];
		struct wake_msg m = vector_msg(v), got;
		size_t len = 0;

		vector_key(v, key);
		unhex(v->k_dev, want_key, sizeof(want_key));
		assert_memory_equal(key, want_key, WAKE_KEY_LEN);
		assert_int_equal(wake_device_tag(key, tag), 0);
		unhex(v->device_tag, want_tag, sizeof(want_tag));
		assert_memory_equal(tag, want_tag, 4);

		assert_int_equal(wake_encode(key, v->port, &m, p, sizeof(p), &len), WAKE_OK);
		assert_int_equal(len, WAKE_PAYLOAD_LEN);
		unhex(v->payload, want_p, sizeof(want_p));
		assert_memory_equal(p, want_p, WAKE_PAYLOAD_LEN);

		assert_int_equal(wake_encode_text(key, v->port, &m, text, sizeof(text), &len), WAKE_OK);
		assert_int_equal(len, WAKE_TEXT_LEN);
		assert_string_equal(text, v->text);

		memset(&got, 0xa5, sizeof(got));
		assert_int_equal(wake_decode(key, v->key_id, v->port, want_p, WAKE_PAYLOAD_LEN, &got), WAKE_OK);
		assert_int_equal(got.version, WAKE_VERSION);
		assert_int_equal(got.flags, v->flags);
		assert_int_equal(got.key_id, v->key_id);
		assert_memory_equal(got.device_tag, want_tag, 4);
		assert_true(got.counter == v->counter);
		assert_int_equal(got.time, v->time);
		assert_int_equal(got.pending, v->pending);

		memset(&got, 0, sizeof(got));
		assert_int_equal(wake_decode_text(key, v->key_id, v->port, v->text, strlen(v->text), &got), WAKE_OK);
		assert_true(got.counter == v->counter);
	}
}

static void test_every_bit_flip_rejected(void **state)
{
	uint8_t key[WAKE_KEY_LEN], p[WAKE_PAYLOAD_LEN];
	struct wake_msg m;

	(void)state;
	valid_payload(key, p);
	for (size_t i = 0; i < WAKE_PAYLOAD_LEN * 8; i++) {
		p[i / 8] ^= (uint8_t)(1u << (i % 8));
		assert_int_not_equal(wake_decode(key, 1, 16537, p, sizeof(p), &m), WAKE_OK);
		p[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	assert_int_equal(wake_decode(key, 1, 16537, p, sizeof(p), &m), WAKE_OK);
}

static void test_wrong_fields_rejected(void **state)
{
	uint8_t key[WAKE_KEY_LEN], other[WAKE_KEY_LEN], p[WAKE_PAYLOAD_LEN], q[WAKE_PAYLOAD_LEN];
	struct wake_msg m;

	(void)state;
	valid_payload(key, p);
	vector_key(&vectors[2], other);

	assert_int_equal(wake_decode(key, 1, 16538, p, sizeof(p), &m), WAKE_ETAG);
	assert_int_equal(wake_decode(key, 1, 0, p, sizeof(p), &m), WAKE_ETAG);
	assert_int_equal(wake_decode(key, 2, 16537, p, sizeof(p), &m), WAKE_EKEYID);
	assert_int_equal(wake_decode(other, 1, 16537, p, sizeof(p), &m), WAKE_EDEVICE);

	/* Version 2, flags and a foreign device tag, each with a correct MAC so only that check
	 * can reject it. */
	memcpy(q, p, sizeof(q));
	q[0] = 2;
	reseal(key, 16537, q);
	assert_int_equal(wake_decode(key, 1, 16537, q, sizeof(q), &m), WAKE_EVERSION);
	memcpy(q, p, sizeof(q));
	q[1] = 0x80;
	reseal(key, 16537, q);
	assert_int_equal(wake_decode(key, 1, 16537, q, sizeof(q), &m), WAKE_EFLAGS);
	memcpy(q, p, sizeof(q));
	assert_int_equal(wake_device_tag(other, q + 3), 0);
	reseal(key, 16537, q);
	assert_int_equal(wake_decode(key, 1, 16537, q, sizeof(q), &m), WAKE_EDEVICE);
	/* Same key and port but a tag from a different port: the MAC binds the port. */
	memcpy(q, p, sizeof(q));
	reseal(key, 16000, q);
	assert_int_equal(wake_decode(key, 1, 16537, q, sizeof(q), &m), WAKE_ETAG);
	assert_int_equal(wake_decode(key, 1, 16000, q, sizeof(q), &m), WAKE_OK);
}

static void test_length_rejected(void **state)
{
	uint8_t key[WAKE_KEY_LEN], p[WAKE_PAYLOAD_LEN + 8];
	struct wake_msg m;

	(void)state;
	valid_payload(key, p);
	memset(p + WAKE_PAYLOAD_LEN, 0, 8);
	for (size_t len = 0; len < sizeof(p); len++) {
		if (len == WAKE_PAYLOAD_LEN)
			continue;
		assert_int_equal(wake_decode(key, 1, 16537, p, len, &m), WAKE_ELENGTH);
	}
	assert_int_equal(wake_decode(key, 1, 16537, NULL, 0, &m), WAKE_ELENGTH);
	assert_int_equal(wake_decode(key, 1, 16537, p, WAKE_PAYLOAD_LEN, &m), WAKE_OK);
}

static void test_text_form(void **state)
{
	uint8_t key[WAKE_KEY_LEN];
	char text[WAKE_TEXT_LEN + 16], small[WAKE_TEXT_LEN];
	struct wake_msg m = vector_msg(&vectors[0]), got;
	const char *t = vectors[0].text;
	size_t len;

	(void)state;
	vector_key(&vectors[0], key);
	/* Round trip over several counters. */
	for (uint64_t c = 1; c < 2000; c += 97) {
		m.counter = c;
		m.pending = (uint8_t)c;
		assert_int_equal(wake_encode_text(key, 16537, &m, text, sizeof(text), &len), WAKE_OK);
		assert_int_equal(strlen(text), WAKE_TEXT_LEN);
		/* GSM 7-bit default alphabet: letters, digits, ':', '-' and '_' only. */
		for (size_t i = 0; i < len; i++)
			assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					       "0123456789:-_",
					       text[i]));
		assert_int_equal(wake_decode_text(key, 1, 16537, text, len, &got), WAKE_OK);
		assert_true(got.counter == c);
		assert_int_equal(got.pending, (uint8_t)c);
	}
	assert_int_equal(wake_encode_text(key, 16537, &m, small, sizeof(small), &len), WAKE_ESPACE);

	/* Junk: wrong prefix, lower-case prefix, padding, whitespace, truncation, extension, wrong
	 * alphabet, empty. */
	memcpy(text, t, WAKE_TEXT_LEN + 1);
	assert_int_equal(wake_decode_text(key, 1, 16537, text, WAKE_TEXT_LEN, &got), WAKE_OK);
	assert_int_equal(wake_decode_text(key, 1, 16537, "", 0, &got), WAKE_EFORMAT);
	assert_int_equal(wake_decode_text(key, 1, 16537, "SMSWAKE", 7, &got), WAKE_EFORMAT);
	assert_int_equal(wake_decode_text(key, 1, 16537, "SMSWAKE:", 8, &got), WAKE_ELENGTH);
	text[0] = 's';
	assert_int_equal(wake_decode_text(key, 1, 16537, text, WAKE_TEXT_LEN, &got), WAKE_EFORMAT);
	memcpy(text, t, WAKE_TEXT_LEN + 1);
	text[20] = '+';
	assert_int_equal(wake_decode_text(key, 1, 16537, text, WAKE_TEXT_LEN, &got), WAKE_EFORMAT);
	memcpy(text, t, WAKE_TEXT_LEN + 1);
	text[20] = ' ';
	assert_int_equal(wake_decode_text(key, 1, 16537, text, WAKE_TEXT_LEN, &got), WAKE_EFORMAT);
	memcpy(text, t, WAKE_TEXT_LEN + 1);
	for (size_t n = 0; n < WAKE_TEXT_LEN; n++)
		assert_int_not_equal(wake_decode_text(key, 1, 16537, text, n, &got), WAKE_OK);
	memcpy(text + WAKE_TEXT_LEN, "AAAA==\r\n", 9);
	for (size_t n = WAKE_TEXT_LEN + 1; n <= WAKE_TEXT_LEN + 8; n++)
		assert_int_not_equal(wake_decode_text(key, 1, 16537, text, n, &got), WAKE_OK);
	/* A character changed anywhere after the prefix. */
	memcpy(text, t, WAKE_TEXT_LEN + 1);
	for (size_t i = WAKE_TEXT_PREFIX_LEN; i < WAKE_TEXT_LEN; i++) {
		char c = text[i];
		text[i] = c == 'A' ? 'B' : 'A';
		assert_int_not_equal(wake_decode_text(key, 1, 16537, text, WAKE_TEXT_LEN, &got), WAKE_OK);
		text[i] = c;
	}
	assert_int_equal(wake_decode_text(key, 1, 16538, t, strlen(t), &got), WAKE_ETAG);
}

static void test_encode_args(void **state)
{
	uint8_t key[WAKE_KEY_LEN], p[WAKE_PAYLOAD_LEN];
	struct wake_msg m = vector_msg(&vectors[0]);

	(void)state;
	vector_key(&vectors[0], key);
	assert_int_equal(wake_encode(key, 1, &m, p, sizeof(p) - 1, NULL), WAKE_ESPACE);
	m.flags = 0x02;
	assert_int_equal(wake_encode(key, 1, &m, p, sizeof(p), NULL), WAKE_EINVAL);
	m.flags = 0;
	m.version = 2;
	assert_int_equal(wake_encode(key, 1, &m, p, sizeof(p), NULL), WAKE_EINVAL);
	m.version = 0;
	assert_int_equal(wake_encode(key, 1, &m, p, sizeof(p), NULL), WAKE_OK);
	assert_int_equal(p[0], WAKE_VERSION);
	assert_int_equal(wake_derive_key(NULL, 0, 1, 1, key), -1);
	assert_string_equal(wake_strerror(WAKE_ETAG), "authentication tag does not verify");
	assert_string_equal(wake_strerror((enum wake_err)999), "unknown error");
}

static void test_udh(void **state)
{
	uint8_t u[WAKE_UDH_LEN];
	uint16_t port = 0;

	(void)state;
	wake_udh(16537, u);
	assert_int_equal(wake_udh_port(u, sizeof(u), &port), WAKE_OK);
	assert_int_equal(port, 16537);
	{
		static const uint8_t wap[] = {0x06, 0x05, 0x04, 0x23, 0xf0, 0x12, 0x34};
		assert_int_equal(wake_udh_port(wap, sizeof(wap), &port), WAKE_OK);
		assert_int_equal(port, 0x23f0);
	}
	{
		/* An unrelated element before the port element is skipped. */
		static const uint8_t two[] = {0x09, 0x24, 0x01, 0x00, 0x05, 0x04, 0x40, 0x99, 0x40, 0x99};
		assert_int_equal(wake_udh_port(two, sizeof(two), &port), WAKE_OK);
		assert_int_equal(port, 16537);
	}
	{
		static const uint8_t bad[][12] = {
			{0x05, 0x05, 0x04, 0x40, 0x99, 0x40},             /* IEDL runs past UDHL */
			{0x07, 0x05, 0x04, 0x40, 0x99, 0x40, 0x99, 0x01}, /* dangling octet */
			{0x05, 0x05, 0x03, 0x40, 0x99, 0x40},             /* wrong IEDL */
			{0x04, 0x04, 0x02, 0xf0, 0xf0},                   /* 8-bit ports only */
			{0x0b, 0x00, 0x03, 0x01, 0x02, 0x01, 0x05, 0x04, 0x40, 0x99, 0x40, 0x99},
			{0x02, 0x24, 0x00}, /* no port element */
		};
		static const size_t lens[] = {6, 8, 6, 5, 12, 3};
		for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
			assert_int_equal(wake_udh_port(bad[i], lens[i], &port), WAKE_EUDH);
	}
	{
		static const uint8_t dup[] = {0x0c, 0x05, 0x04, 0x40, 0x99, 0x40, 0x99,
					      0x05, 0x04, 0x40, 0x99, 0x40, 0x99};
		assert_int_equal(wake_udh_port(dup, sizeof(dup), &port), WAKE_EUDH);
	}
	assert_int_equal(wake_udh_port(u, sizeof(u) - 1, &port), WAKE_EUDH);
	assert_int_equal(wake_udh_port(u, 0, &port), WAKE_EUDH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_every_bit_flip_rejected),
		cmocka_unit_test(test_wrong_fields_rejected),
		cmocka_unit_test(test_length_rejected),
		cmocka_unit_test(test_text_form),
		cmocka_unit_test(test_encode_args),
		cmocka_unit_test(test_udh),
	};
	return cmocka_run_group_tests_name("wake", tests, NULL, NULL);
}
