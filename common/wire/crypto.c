/* SPDX-License-Identifier: MIT */
/* OpenSSL 3 wrappers. EVP_MAC/EVP_KDF objects are fetched per call: cheap enough for a wakeup
 * or a registration, and free of shared state between threads. SHA-256, which hashes every
 * request's bearer token, is fetched once. */
#include "crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

/* SHA-256 fetched from the default provider once: EVP_sha256() makes EVP_Digest look the
 * implementation up again on every call, a good part of hashing a short token. */
static EVP_MD *sha256_md(void)
{
	static EVP_MD *md;
	EVP_MD *m = __atomic_load_n(&md, __ATOMIC_ACQUIRE), *expected = NULL;

	if (m != NULL)
		return m;
	m = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (m == NULL)
		return NULL;
	if (!__atomic_compare_exchange_n(&md, &expected, m, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		EVP_MD_free(m); /* another thread's is in place */
		m = expected;
	}
	return m;
}

int crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_SHA256_LEN])
{
	EVP_MD *md = sha256_md();
	unsigned int n = 0;

	return md != NULL && EVP_Digest(data, len, out, &n, md, NULL) == 1 && n == CRYPTO_SHA256_LEN ? 0 : -1;
}

int crypto_hmac_sha256(const uint8_t *key, size_t keylen, const void *data, size_t len, uint8_t out[CRYPTO_SHA256_LEN])
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = NULL;
	OSSL_PARAM params[2];
	size_t outlen = 0;
	int rc = -1;

	if (mac == NULL)
		return -1;
	ctx = EVP_MAC_CTX_new(mac);
	if (ctx == NULL)
		goto done;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(ctx, key, keylen, params) != 1 || EVP_MAC_update(ctx, data, len) != 1 ||
	    EVP_MAC_final(ctx, out, &outlen, CRYPTO_SHA256_LEN) != 1 || outlen != CRYPTO_SHA256_LEN)
		goto done;
	rc = 0;
done:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return rc;
}

int crypto_hkdf_sha256(const uint8_t *ikm, size_t ikmlen, const uint8_t *salt, size_t saltlen, const uint8_t *info,
		       size_t infolen, uint8_t *out, size_t outlen)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *ctx = NULL;
	OSSL_PARAM params[5], *p = params;
	int rc = -1;

	if (kdf == NULL)
		return -1;
	ctx = EVP_KDF_CTX_new(kdf);
	if (ctx == NULL)
		goto done;
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikmlen);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, saltlen);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, infolen);
	*p = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(ctx, out, outlen, params) != 1)
		goto done;
	rc = 0;
done:
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return rc;
}

int crypto_random(void *out, size_t len)
{
	return RAND_bytes(out, (int)len) == 1 ? 0 : -1;
}

int crypto_equal(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}
