/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of VAPID verification (fetch-server/vapid.c): tokens signed by an independent
 * implementation (tests/unit/vapid_vectors.py, Python cryptography) verify, and every way a
 * token or header can be wrong is refused with its reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "encode.h"
#include "vapid.h"

/* Made by tests/unit/vapid_vectors.py: aud "https://push.example.net", exp 1800000000. */
static const char *const key_pub =
	"BLj_Zn3EiYk0Mrjj66F6PRGx4FafobLgXhn7kamIgj7iutr5N22-rck5ACIP7CCz4nB-_uqAh_7RPmapMdTIq5o";
static const char *const other_pub =
	"BIJ8DNImhpOC1_jHvlPgCaDE0-ayo0zRz0a8Tx3p_QUB9ef7H6fFmSUFDS6TO_N2v6OayJazlsuF9DMTVEfGZ5U";
static const char *const tok_good =
	"eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiJ9."
	"eyJhdWQiOiJodHRwczovL3B1c2guZXhhbXBsZS5uZXQiLCJleHAiOjE4MDAwMDAwMDAsInN1YiI6Im1haWx0bzpvcHNAZXhhbXBsZS5uZXQifQ"
	".1G1OZUVFcTM3V0-UKbIbJcS0XwozKs4LrLrISPwBdQXO1LgBVpcd6SnLPOf6UjEIjcwwZDNrp-dUGRSAuNuIJQ";
static const char *const tok_good_port_nosub =
	"eyJhbGciOiJFUzI1NiJ9.eyJhdWQiOiJodHRwczovL3B1c2guZXhhbXBsZS5uZXQ6ODQ0MyIsImV4cCI6MTgwMDAwMDAwMH0."
	"5A9hhgSASyd5N5UCQ8BlcnK3pMPMJ9IJomqbKCn6hhCreXXh6Zj0VTltbToo9CotoOTjVTiyvF6inry8mRyBbA";
static const char *const tok_alg_hs256 =
	"eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJhdWQiOiJodHRwczovL3B1c2guZXhhbXBsZS5uZXQiLCJleHAiOjE4MDAwMDAwMDB9."
	"4AJDd3d2w-NlaAZO8yMFaHst9ffvsBcnTe0Z8Wws1vaD9m5plcAsulDFoMTp98uFj__qfbis3G_D8B5MEM8hgg";
static const char *const tok_alg_none =
	"eyJhbGciOiJub25lIn0.eyJhdWQiOiJodHRwczovL3B1c2guZXhhbXBsZS5uZXQiLCJleHAiOjE4MDAwMDAwMDB9.e70N9c3hMFHsOBi7LZ_"
	"jPFO-9gLltUkD1Kt8o6y6W4PEDLZWJ7-S9WxzvLVBBTZh9uz3oKSnVOChoRm_jYahQg";
static const char *const tok_typ_other =
	"eyJ0eXAiOiJKT1NFK0pTT04iLCJhbGciOiJFUzI1NiJ9."
	"eyJhdWQiOiJodHRwczovL3B1c2guZXhhbXBsZS5uZXQiLCJleHAiOjE4MDAwMDAwMDB9.gs25vSU9ntQCf1PLSinbX7WiwawQSHM2F28f_"
	"sVoR2ziP9oTBlz7k2DzpljXsxZVqd8HAT_9U4nxrW_pR2K9zw";
static const char *const tok_other_key =
	"eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiJ9.eyJhdWQiOiJodHRwczovL3B1c2guZXhhbXBsZS5uZXQiLCJleHAiOjE4MDAwMDAwMDB9."
	"Wl1VdjRApc_oX3ljWiJFEUNeOWD7QYnyozCf_OCK5DcwpB_4YJ1darcv8ket6C5VB9wJld75GxUAdq2I9ad6oA";
static const char *const tok_no_aud =
	"eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiJ9.eyJleHAiOjE4MDAwMDAwMDB9."
	"AfAdYjf1leEhNOzRZf1vjWyjso3HwqiGTRHAaxzv4wBIlkmLyMdz8Pu7EI8w3MCFK-N5E0-TXVqdQeQ80LOpBQ";
static const char *const tok_aud_path =
	"eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiJ9."
	"eyJhdWQiOiJodHRwczovL3B1c2guZXhhbXBsZS5uZXQvcHVzaC94IiwiZXhwIjoxODAwMDAwMDAwfQ.h0I80-"
	"xn7Dm7uarpBXE8xhRenvQV80o3J0qAt3RyIqTCAXeSaOZzC3fEh_uQOuofTjsbYg7IOr8FARqVy7M6PA";
static const char *const tok_exp_string =
	"eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiJ9.eyJhdWQiOiJodHRwczovL3B1c2guZXhhbXBsZS5uZXQiLCJleHAiOiIxODAwMDAwMDAwIn0.-"
	"8x0-XsIFp188snqIgz0BFDfHctUXm_s5aYc34pkqs_apTMfz76As0wrcbW91UmYATUUh7R2UqFu6fMKgNBqhg";
static const char *const tok_no_exp =
	"eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiJ9.eyJhdWQiOiJodHRwczovL3B1c2guZXhhbXBsZS5uZXQifQ."
	"PSJylIYSeFwyJqQ2FH8eVzqrLravUJUrJ5n62-YtlDI3vG2EkX3eWQiddI5heQrTOmHyvJutsujb_Eh-0NdFiQ";
static const char *const tok_sub_control =
	"eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiJ9."
	"eyJhdWQiOiJodHRwczovL3B1c2guZXhhbXBsZS5uZXQiLCJleHAiOjE4MDAwMDAwMDAsInN1YiI6Im1haWx0bzphQGJcbiJ9.dN6_"
	"b8j9plKQuPYg0Q6ZWzVDX6ZO09tBxiFMNEIaA6PQiBzWzkdsLTMZTLv8g9r4c9Pc0WodoTuO2-lHlOSZ4A";
static const char *const tok_sub_number =
	"eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiJ9."
	"eyJhdWQiOiJodHRwczovL3B1c2guZXhhbXBsZS5uZXQiLCJleHAiOjE4MDAwMDAwMDAsInN1YiI6N30.Wj9COraID9IS5rjC9T4igWjyUbQh0_"
	"kYYsGQ47mWhJ-JXDMZPKJeGT5kMwpH9vgkSXmay5gHeSGvprzZPEmbZQ";

#define AUD "https://push.example.net"
#define EXP 1800000000
#define NOW (EXP - 3600)

static char hdr[8192];

static const char *auth(const char *tok, const char *k)
{
	snprintf(hdr, sizeof(hdr), "vapid t=%s, k=%s", tok, k);
	return hdr;
}

static int verify(const char *tok, const char *k, const char *origin, int64_t now, struct vapid_claims *c)
{
	return vapid_verify(auth(tok, k), origin, now, c);
}

static void test_good_tokens(void **state)
{
	struct vapid_claims c;
	uint8_t key[VAPID_KEY_LEN];

	(void)state;
	assert_int_equal(verify(tok_good, key_pub, AUD, NOW, &c), VAPID_OK);
	assert_string_equal(c.sub, "mailto:ops@example.net");
	assert_int_equal(c.exp, EXP);
	assert_int_equal(enc_unb64(key_pub, strlen(key_pub), key, sizeof(key), 1), VAPID_KEY_LEN);
	assert_memory_equal(c.key, key, VAPID_KEY_LEN);
	/* No typ, no sub, an origin with a port. */
	assert_int_equal(verify(tok_good_port_nosub, key_pub, AUD ":8443", NOW, &c), VAPID_OK);
	assert_string_equal(c.sub, "");
	/* Header shapes RFC 7235 allows: parameters reversed, quoted, any case of scheme, extra
	 * parameters, padding on the key. */
	snprintf(hdr, sizeof(hdr), "VAPID k=\"%s\" ,t = %s ,x=y", key_pub, tok_good);
	assert_int_equal(vapid_verify(hdr, AUD, NOW, &c), VAPID_OK);
	snprintf(hdr, sizeof(hdr), "vapid t=\"%s\", k=%s=", tok_good, key_pub);
	assert_int_equal(vapid_verify(hdr, AUD, NOW, &c), VAPID_OK);
}

static void test_exp_window(void **state)
{
	struct vapid_claims c;

	(void)state;
	/* exp must be in the future and at most 24 hours ahead. */
	assert_int_equal(verify(tok_good, key_pub, AUD, EXP - 1, &c), VAPID_OK);
	assert_int_equal(verify(tok_good, key_pub, AUD, EXP, &c), VAPID_ERR_EXP);
	assert_int_equal(verify(tok_good, key_pub, AUD, EXP + 100000, &c), VAPID_ERR_EXP);
	assert_int_equal(verify(tok_good, key_pub, AUD, EXP - VAPID_EXP_MAX, &c), VAPID_OK);
	assert_int_equal(verify(tok_good, key_pub, AUD, EXP - VAPID_EXP_MAX - 1, &c), VAPID_ERR_EXP);
	assert_int_equal(verify(tok_exp_string, key_pub, AUD, NOW, &c), VAPID_ERR_EXP);
	assert_int_equal(verify(tok_no_exp, key_pub, AUD, NOW, &c), VAPID_ERR_EXP);
}

static void test_audience(void **state)
{
	struct vapid_claims c;

	(void)state;
	assert_int_equal(verify(tok_good, key_pub, "https://push.example.org", NOW, &c), VAPID_ERR_AUD);
	assert_int_equal(verify(tok_good, key_pub, "http://push.example.net", NOW, &c), VAPID_ERR_AUD);
	assert_int_equal(verify(tok_good, key_pub, AUD ":443", NOW, &c), VAPID_ERR_AUD);
	assert_int_equal(verify(tok_good_port_nosub, key_pub, AUD, NOW, &c), VAPID_ERR_AUD);
	assert_int_equal(verify(tok_no_aud, key_pub, AUD, NOW, &c), VAPID_ERR_AUD);
	assert_int_equal(verify(tok_aud_path, key_pub, AUD, NOW, &c), VAPID_ERR_AUD);
}

static void test_signature(void **state)
{
	struct vapid_claims c;
	char tok[1024];
	size_t n = strlen(tok_good);

	(void)state;
	/* Signed by another key than k, or k not the signer. */
	assert_int_equal(verify(tok_other_key, key_pub, AUD, NOW, &c), VAPID_ERR_SIGNATURE);
	assert_int_equal(verify(tok_good, other_pub, AUD, NOW, &c), VAPID_ERR_SIGNATURE);
	assert_int_equal(verify(tok_other_key, other_pub, AUD, NOW, &c), VAPID_OK);
	/* Any changed character of the signing input or the signature fails (a change may also
	 * break the base64url or the JSON; it must never verify). */
	for (size_t i = 0; i < n; i++) {
		if (tok_good[i] == '.')
			continue;
		memcpy(tok, tok_good, n + 1);
		tok[i] = tok[i] == 'A' ? 'B' : 'A';
		assert_int_not_equal(verify(tok, key_pub, AUD, NOW, &c), VAPID_OK);
	}
	/* Claims of one token with the signature of another. */
	memcpy(tok, tok_good, n + 1);
	memcpy(strrchr(tok, '.'), strrchr(tok_no_aud, '.'), strlen(strrchr(tok_no_aud, '.')) + 1);
	assert_int_equal(verify(tok, key_pub, AUD, NOW, &c), VAPID_ERR_SIGNATURE);
	/* A zero signature (r = s = 0 is never valid). */
	memcpy(tok, tok_good, n + 1);
	memset(strrchr(tok, '.') + 1, 'A', 86);
	assert_int_equal(verify(tok, key_pub, AUD, NOW, &c), VAPID_ERR_SIGNATURE);
}

static void test_header_and_alg(void **state)
{
	struct vapid_claims c;

	(void)state;
	assert_int_equal(verify(tok_alg_hs256, key_pub, AUD, NOW, &c), VAPID_ERR_ALG);
	assert_int_equal(verify(tok_alg_none, key_pub, AUD, NOW, &c), VAPID_ERR_ALG);
	assert_int_equal(verify(tok_typ_other, key_pub, AUD, NOW, &c), VAPID_ERR_ALG);
	assert_int_equal(verify(tok_sub_control, key_pub, AUD, NOW, &c), VAPID_ERR_SUB);
	assert_int_equal(verify(tok_sub_number, key_pub, AUD, NOW, &c), VAPID_ERR_SUB);
	/* Not the vapid scheme, or no header. */
	assert_int_equal(vapid_verify(NULL, AUD, NOW, &c), VAPID_ERR_MISSING);
	assert_int_equal(vapid_verify("Bearer abc", AUD, NOW, &c), VAPID_ERR_MISSING);
	assert_int_equal(vapid_verify("vapidt=x, k=y", AUD, NOW, &c), VAPID_ERR_MISSING);
	/* Missing, repeated or malformed parameters. */
	snprintf(hdr, sizeof(hdr), "vapid t=%s", tok_good);
	assert_int_equal(vapid_verify(hdr, AUD, NOW, &c), VAPID_ERR_SYNTAX);
	snprintf(hdr, sizeof(hdr), "vapid k=%s", key_pub);
	assert_int_equal(vapid_verify(hdr, AUD, NOW, &c), VAPID_ERR_SYNTAX);
	snprintf(hdr, sizeof(hdr), "vapid t=%s, t=%s, k=%s", tok_good, tok_good, key_pub);
	assert_int_equal(vapid_verify(hdr, AUD, NOW, &c), VAPID_ERR_SYNTAX);
	snprintf(hdr, sizeof(hdr), "vapid t=%s k=%s", tok_good, key_pub);
	assert_int_equal(vapid_verify(hdr, AUD, NOW, &c), VAPID_ERR_SYNTAX);
	snprintf(hdr, sizeof(hdr), "vapid t=\"%s, k=%s", tok_good, key_pub);
	assert_int_equal(vapid_verify(hdr, AUD, NOW, &c), VAPID_ERR_SYNTAX);
	assert_int_equal(vapid_verify("vapid t=, k=", AUD, NOW, &c), VAPID_ERR_SYNTAX);
	/* Keys that are not an uncompressed P-256 point. */
	assert_int_equal(verify(tok_good, "AAAA", AUD, NOW, &c), VAPID_ERR_KEY);
	{
		char k[128];
		snprintf(k, sizeof(k), "%s", key_pub);
		k[0] = 'A'; /* 0x00... instead of 0x04 */
		assert_int_equal(verify(tok_good, k, AUD, NOW, &c), VAPID_ERR_KEY);
		snprintf(k, sizeof(k), "%s", key_pub);
		k[40] = k[40] == 'A' ? 'B' : 'A'; /* not on the curve */
		assert_int_equal(verify(tok_good, k, AUD, NOW, &c), VAPID_ERR_KEY);
	}
	/* The JWT's own shape. */
	assert_int_equal(verify("abc", key_pub, AUD, NOW, &c), VAPID_ERR_JWT);
	assert_int_equal(verify("a.b", key_pub, AUD, NOW, &c), VAPID_ERR_JWT);
	assert_int_equal(verify("a.b.c.d", key_pub, AUD, NOW, &c), VAPID_ERR_JWT);
	assert_int_equal(verify("..", key_pub, AUD, NOW, &c), VAPID_ERR_JWT);
	/* JSON that is not an object. */
	assert_int_equal(verify("WzFd.WzFd.AAAA", key_pub, AUD, NOW, &c), VAPID_ERR_JWT);
	/* Longer than any real header. */
	{
		static char big[VAPID_HEADER_MAX + 100];
		memset(big, 'a', sizeof(big) - 1);
		memcpy(big, "vapid t=", 8);
		assert_int_equal(vapid_verify(big, AUD, NOW, &c), VAPID_ERR_SYNTAX);
	}
	for (int e = VAPID_OK; e <= VAPID_ERR_INTERNAL; e++)
		assert_non_null(vapid_strerror(e));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_tokens),    cmocka_unit_test(test_exp_window),
		cmocka_unit_test(test_audience),       cmocka_unit_test(test_signature),
		cmocka_unit_test(test_header_and_alg),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
