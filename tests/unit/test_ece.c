/* SPDX-License-Identifier: MIT */
/* Unit tests of aes128gcm (RFC 8188) and Web Push message encryption (RFC 8291): the RFCs'
 * published examples, and rejection of bad delimiters, record sizes, truncation and tags. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>

#include "ece.h"
#include "ece_encrypt.h"
#include "ece_internal.h"
#include "encode.h"

/* RFC 8291 appendix A. */
static const char *const a_plain = "When I grow up, I want to be a watermelon";
static const char *const a_ua_priv = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94";
static const char *const a_ua_pub =
	"BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
static const char *const a_as_priv = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw";
static const char *const a_as_pub =
	"BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8";
static const char *const a_auth = "BTBZMqHH6r4Tts7J_aSIgg";
static const char *const a_salt = "DGv6ra1nlYgDCS1FRnbzlw";
static const char *const a_body =
	"DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8w"
	"EqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN";

/* RFC 8188 sections 3.1 and 3.2. */
static const char *const walrus = "I am the walrus";
static const char *const e1_ikm = "yqdlZ-tYemfogSmv7Ws5PQ";
static const char *const e1_body = "I1BsxtFttlv3u_Oo94xnmwAAEAAA-NAVub2qFgBEuQKRapoZu-IxkIva3MEB1PD-ly8Thjg";
static const char *const e2_ikm = "BO3ZVPxUlnLORbVGMpbT1Q";
static const char *const e2_body =
	"uNCkWiNYzKTnBN9ji3-qWAAAABkCYTHOG8chz_gnvgOqdGYovxyjuqRyJFjEDyoF1Fvkj6hQPdPHI51OEUKEpgz3"
	"SsLWIqS_uA";

static size_t unb64(const char *s, uint8_t *out, size_t max)
{
	long n = enc_unb64(s, strlen(s), out, max, 1);
	assert_true(n >= 0);
	return (size_t)n;
}

struct keys {
	uint8_t priv[32], pub[65], auth[16];
};

static void rfc_keys(struct keys *k)
{
	assert_int_equal(unb64(a_ua_priv, k->priv, sizeof(k->priv)), 32);
	assert_int_equal(unb64(a_ua_pub, k->pub, sizeof(k->pub)), 65);
	assert_int_equal(unb64(a_auth, k->auth, sizeof(k->auth)), 16);
}

static void test_rfc8291_appendix_a_decrypts(void **state)
{
	struct keys k;
	uint8_t body[256], out[256];
	size_t len, n = 0;

	(void)state;
	rfc_keys(&k);
	len = unb64(a_body, body, sizeof(body));
	assert_int_equal(ece_webpush_decrypt(k.priv, k.pub, k.auth, body, len, out, sizeof(out), &n), ECE_OK);
	assert_int_equal(n, strlen(a_plain));
	assert_memory_equal(out, a_plain, n);
}

/* The test encryptor, given the example's sender key and salt, reproduces the body octet for octet. */
static void test_rfc8291_appendix_a_encrypts(void **state)
{
	struct keys k;
	uint8_t as_priv[32], as_pub[65], salt[16], want[256], got[256];
	size_t wlen, n = 0;

	(void)state;
	rfc_keys(&k);
	unb64(a_as_priv, as_priv, sizeof(as_priv));
	unb64(a_as_pub, as_pub, sizeof(as_pub));
	unb64(a_salt, salt, sizeof(salt));
	wlen = unb64(a_body, want, sizeof(want));
	assert_int_equal(ece_webpush_encrypt(k.pub, k.auth, as_priv, as_pub, salt, 4096, (const uint8_t *)a_plain,
					     strlen(a_plain), 0, got, sizeof(got), &n),
			 ECE_OK);
	assert_int_equal(n, wlen);
	assert_memory_equal(got, want, n);
}

static void test_rfc8188_examples(void **state)
{
	const char *ikms[] = {e1_ikm, e2_ikm}, *bodies[] = {e1_body, e2_body};
	const uint8_t keyid2[] = {'a', '1'};
	uint8_t ikm[16], body[128], again[128];
	size_t len, m = 0;

	(void)state;
	for (int i = 0; i < 2; i++) {
		uint8_t out[128];
		size_t n = 0;
		struct ece_header h;

		assert_int_equal(unb64(ikms[i], ikm, sizeof(ikm)), 16);
		len = unb64(bodies[i], body, sizeof(body));
		assert_int_equal(ece_decrypt(ikm, 16, body, len, out, sizeof(out), &n), ECE_OK);
		assert_int_equal(n, strlen(walrus));
		assert_memory_equal(out, walrus, n);
		assert_int_equal(ece_parse_header(body, len, &h), ECE_OK);
		assert_int_equal(h.rs, i == 0 ? 4096 : 25);
		assert_int_equal(h.idlen, i == 0 ? 0 : 2);
		if (i == 1)
			assert_memory_equal(h.keyid, keyid2, 2);
	}
	/* The encryptor makes the body of 3.1 from its salt. (3.2 pads its first record, which the
	 * encryptor, padding only the last, does not do.) */
	assert_int_equal(unb64(e1_ikm, ikm, sizeof(ikm)), 16);
	len = unb64(e1_body, body, sizeof(body));
	assert_int_equal(ece_encrypt(ikm, 16, body, 4096, NULL, 0, (const uint8_t *)walrus, strlen(walrus), 0, again,
				     sizeof(again), &m),
			 ECE_OK);
	assert_int_equal(m, len);
	assert_memory_equal(again, body, len);
}

/* Seals records whose plain text (delimiter and padding included) the test chooses, so that
 * malformed padding can be given a valid tag. */
static size_t seal(const uint8_t ikm[16], uint32_t rs, const char *const *recs, const size_t *lens, int nrec,
		   uint8_t *out)
{
	uint8_t cek[16], base[12], nonce[12];
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	size_t pos = ECE_HEADER_MIN;

	memset(out, 0x5a, ECE_SALT_LEN);
	out[16] = (uint8_t)(rs >> 24);
	out[17] = (uint8_t)(rs >> 16);
	out[18] = (uint8_t)(rs >> 8);
	out[19] = (uint8_t)rs;
	out[20] = 0;
	assert_int_equal(ece_derive(ikm, 16, out, cek, base), ECE_OK);
	for (int i = 0; i < nrec; i++) {
		int got = 0, fin = 0;

		ece_record_nonce(base, (uint64_t)i, nonce);
		assert_int_equal(EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), NULL, cek, nonce), 1);
		assert_int_equal(EVP_EncryptUpdate(ctx, out + pos, &got, (const uint8_t *)recs[i], (int)lens[i]), 1);
		assert_int_equal(EVP_EncryptFinal_ex(ctx, out + pos + got, &fin), 1);
		assert_int_equal(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, out + pos + lens[i]), 1);
		pos += lens[i] + 16;
	}
	EVP_CIPHER_CTX_free(ctx);
	return pos;
}

static int open1(const char *rec, size_t reclen, uint32_t rs)
{
	static const uint8_t ikm[16] = {1, 2, 3};
	uint8_t body[512], out[512];
	size_t len, n = 0;

	len = seal(ikm, rs, &rec, &reclen, 1, body);
	return ece_decrypt(ikm, 16, body, len, out, sizeof(out), &n);
}

static void test_padding_delimiters(void **state)
{
	static const uint8_t ikm[16] = {1, 2, 3};
	const char *two[2];
	size_t lens[2];
	uint8_t body[512], out[512];
	size_t len, n = 0;

	(void)state;
	/* The well-formed shapes first, so that the rejections below are about the delimiter. */
	assert_int_equal(open1("hi\x02", 3, 4096), ECE_OK);
	assert_int_equal(open1("hi\x02\0\0\0", 6, 4096), ECE_OK);
	assert_int_equal(open1("\x02", 1, 4096), ECE_OK);
	/* No delimiter at all, only padding. */
	assert_int_equal(open1("\0\0\0", 3, 4096), ECE_ERR_PADDING);
	/* A delimiter that is neither 1 nor 2, or padding that is not zero. */
	assert_int_equal(open1("hi\x03", 3, 4096), ECE_ERR_PADDING);
	assert_int_equal(open1("hi\x02\0\x07", 5, 4096), ECE_ERR_PADDING);
	/* The last record carries 1 ("more follows"): the body was cut at a record boundary. */
	assert_int_equal(open1("hi\x01", 3, 4096), ECE_ERR_TRUNCATED);

	/* Two records of rs 20 (4 plain octets each): a 2 in the first is data after the end. */
	two[0] = "abc\x02";
	two[1] = "de\x02";
	lens[0] = 4;
	lens[1] = 3;
	len = seal(ikm, 20, two, lens, 2, body);
	assert_int_equal(ece_decrypt(ikm, 16, body, len, out, sizeof(out), &n), ECE_ERR_PADDING);
	two[0] = "abc\x01";
	len = seal(ikm, 20, two, lens, 2, body);
	assert_int_equal(ece_decrypt(ikm, 16, body, len, out, sizeof(out), &n), ECE_OK);
	assert_int_equal(n, 5);
	assert_memory_equal(out, "abcde", 5);
}

static void test_record_size(void **state)
{
	uint8_t ikm[16], body[128], out[128];
	size_t len, n = 0;

	(void)state;
	unb64(e1_ikm, ikm, sizeof(ikm));
	len = unb64(e1_body, body, sizeof(body));
	/* Below the smallest record RFC 8188 allows. */
	body[16] = body[17] = body[18] = 0;
	body[19] = 17;
	assert_int_equal(ece_decrypt(ikm, 16, body, len, out, sizeof(out), &n), ECE_ERR_RS);
	body[16] = body[17] = body[18] = body[19] = 0;
	assert_int_equal(ece_decrypt(ikm, 16, body, len, out, sizeof(out), &n), ECE_ERR_RS);
	/* An rs that leaves a last piece too short to hold a tag. */
	body[19] = (uint8_t)(len - ECE_HEADER_MIN - 5);
	assert_int_equal(ece_decrypt(ikm, 16, body, len, out, sizeof(out), &n), ECE_ERR_TRUNCATED);
	/* RFC 8188 3.2 (two records of 25) read with an rs of 50: the one record that makes does not
	 * authenticate (the salt is the same, so this is about rs alone). */
	unb64(e2_ikm, ikm, sizeof(ikm));
	len = unb64(e2_body, body, sizeof(body));
	assert_int_equal(ece_decrypt(ikm, 16, body, len, out, sizeof(out), &n), ECE_OK);
	body[19] = 50;
	assert_int_equal(ece_decrypt(ikm, 16, body, len, out, sizeof(out), &n), ECE_ERR_TAG);
	/* The encryptor refuses an rs below 18 or padding that does not fit. */
	assert_int_equal(ece_encrypt(ikm, 16, NULL, 17, NULL, 0, (const uint8_t *)"x", 1, 0, out, sizeof(out), &n),
			 ECE_ERR_RS);
	assert_int_equal(ece_encrypt(ikm, 16, NULL, 20, NULL, 0, (const uint8_t *)"x", 1, 3, out, sizeof(out), &n),
			 ECE_ERR_RS);
}

static void test_truncated(void **state)
{
	struct keys k;
	uint8_t ikm[16], body[256], out[256];
	size_t len, n = 0;

	(void)state;
	/* Cut inside the header, right after it, and inside the record. */
	unb64(e1_ikm, ikm, sizeof(ikm));
	len = unb64(e1_body, body, sizeof(body));
	assert_int_equal(ece_decrypt(ikm, 16, body, 0, out, sizeof(out), &n), ECE_ERR_HEADER);
	assert_int_equal(ece_decrypt(ikm, 16, body, ECE_HEADER_MIN - 1, out, sizeof(out), &n), ECE_ERR_HEADER);
	assert_int_equal(ece_decrypt(ikm, 16, body, ECE_HEADER_MIN, out, sizeof(out), &n), ECE_ERR_TRUNCATED);
	assert_int_equal(ece_decrypt(ikm, 16, body, ECE_HEADER_MIN + 10, out, sizeof(out), &n), ECE_ERR_TRUNCATED);
	assert_int_equal(ece_decrypt(ikm, 16, body, len - 1, out, sizeof(out), &n), ECE_ERR_TAG);
	/* RFC 8188 3.2 without its last record: the remaining one says more follows. */
	unb64(e2_ikm, ikm, sizeof(ikm));
	len = unb64(e2_body, body, sizeof(body));
	assert_int_equal(ece_decrypt(ikm, 16, body, ECE_HEADER_MIN + 2 + 25, out, sizeof(out), &n), ECE_ERR_TRUNCATED);
	/* A Web Push header whose keyid is cut short or is not a public key. */
	rfc_keys(&k);
	len = unb64(a_body, body, sizeof(body));
	assert_int_equal(ece_webpush_decrypt(k.priv, k.pub, k.auth, body, ECE_HEADER_MIN + 64, out, sizeof(out), &n),
			 ECE_ERR_HEADER);
	body[20] = 64;
	assert_int_equal(ece_webpush_decrypt(k.priv, k.pub, k.auth, body, len, out, sizeof(out), &n), ECE_ERR_HEADER);
	body[20] = 65;
	body[ECE_HEADER_MIN + 10] ^= 1; /* no longer a point on the curve */
	assert_int_equal(ece_webpush_decrypt(k.priv, k.pub, k.auth, body, len, out, sizeof(out), &n), ECE_ERR_KEY);
}

/* Every single-bit change anywhere in the body but rs, a wrong auth secret or a wrong private key:
 * never plain text. rs is not authenticated (RFC 8188): a change that leaves the one record whole
 * changes nothing, one that splits it fails its tag (test_record_size). */
static void test_wrong_tag(void **state)
{
	struct keys k, other;
	uint8_t body[256], out[256];
	size_t len, n = 0;

	(void)state;
	rfc_keys(&k);
	len = unb64(a_body, body, sizeof(body));
	for (size_t i = 0; i < len; i++) {
		if (i >= ECE_SALT_LEN && i < ECE_SALT_LEN + 4)
			continue;
		for (int b = 0; b < 8; b++) {
			n = 12345;
			body[i] ^= (uint8_t)(1u << b);
			assert_int_not_equal(
				ece_webpush_decrypt(k.priv, k.pub, k.auth, body, len, out, sizeof(out), &n), ECE_OK);
			assert_int_equal(n, 12345);
			body[i] ^= (uint8_t)(1u << b);
		}
	}
	other = k;
	other.auth[0] ^= 1;
	assert_int_equal(ece_webpush_decrypt(other.priv, other.pub, other.auth, body, len, out, sizeof(out), &n),
			 ECE_ERR_TAG);
	assert_int_equal(ece_webpush_keygen(other.priv, other.pub, other.auth), ECE_OK);
	assert_int_equal(ece_webpush_decrypt(other.priv, other.pub, k.auth, body, len, out, sizeof(out), &n),
			 ECE_ERR_TAG);
	/* The tag alone altered in the last octet. */
	body[len - 1] ^= 0x80;
	assert_int_equal(ece_webpush_decrypt(k.priv, k.pub, k.auth, body, len, out, sizeof(out), &n), ECE_ERR_TAG);
}

static void test_round_trip(void **state)
{
	struct keys k;
	uint8_t plain[3000], body[4096], out[3000];
	size_t len = 0, n = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(plain); i++)
		plain[i] = (uint8_t)(i * 7);
	assert_int_equal(ece_webpush_keygen(k.priv, k.pub, k.auth), ECE_OK);
	/* One record with padding, as Web Push senders make them. */
	assert_int_equal(ece_webpush_encrypt(k.pub, k.auth, NULL, NULL, NULL, 4096, plain, sizeof(plain), 100, body,
					     sizeof(body), &len),
			 ECE_OK);
	assert_int_equal(len, ECE_WEBPUSH_HEADER_LEN + sizeof(plain) + 1 + 100 + 16);
	assert_int_equal(ece_webpush_decrypt(k.priv, k.pub, k.auth, body, len, out, sizeof(out), &n), ECE_OK);
	assert_int_equal(n, sizeof(plain));
	assert_memory_equal(out, plain, n);
	/* Many records. */
	assert_int_equal(
		ece_webpush_encrypt(k.pub, k.auth, NULL, NULL, NULL, 100, plain, 1000, 0, body, sizeof(body), &len),
		ECE_OK);
	assert_int_equal(ece_webpush_decrypt(k.priv, k.pub, k.auth, body, len, out, sizeof(out), &n), ECE_OK);
	assert_int_equal(n, 1000);
	assert_memory_equal(out, plain, n);
	/* An empty message. */
	assert_int_equal(
		ece_webpush_encrypt(k.pub, k.auth, NULL, NULL, NULL, 4096, plain, 0, 0, body, sizeof(body), &len),
		ECE_OK);
	n = 99;
	assert_int_equal(ece_webpush_decrypt(k.priv, k.pub, k.auth, body, len, out, sizeof(out), &n), ECE_OK);
	assert_int_equal(n, 0);
	/* Output space is respected. */
	assert_int_equal(
		ece_webpush_encrypt(k.pub, k.auth, NULL, NULL, NULL, 4096, plain, 50, 0, body, sizeof(body), &len),
		ECE_OK);
	assert_int_equal(ece_webpush_decrypt(k.priv, k.pub, k.auth, body, len, out, 49, &n), ECE_ERR_SPACE);
	assert_int_equal(ece_webpush_decrypt(k.priv, k.pub, k.auth, body, len, out, 50, &n), ECE_OK);
	/* The encryptor refuses a receiver key that is not on the curve. */
	k.pub[40] ^= 1;
	assert_int_equal(
		ece_webpush_encrypt(k.pub, k.auth, NULL, NULL, NULL, 4096, plain, 10, 0, body, sizeof(body), &len),
		ECE_ERR_KEY);
	for (int e = ECE_OK; e <= ECE_ERR_CRYPTO; e++)
		assert_non_null(ece_strerror(e));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc8291_appendix_a_decrypts),
		cmocka_unit_test(test_rfc8291_appendix_a_encrypts),
		cmocka_unit_test(test_rfc8188_examples),
		cmocka_unit_test(test_padding_delimiters),
		cmocka_unit_test(test_record_size),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_wrong_tag),
		cmocka_unit_test(test_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
