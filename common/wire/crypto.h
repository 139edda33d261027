/* SPDX-License-Identifier: MIT */
/* Thin wrappers over OpenSSL 3's libcrypto: SHA-256, HMAC-SHA256, HKDF-SHA256, random octets and
 * constant-time comparison. All return 0 on success, -1 on failure. */
#ifndef SMSWAKE_CRYPTO_H
#define SMSWAKE_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define CRYPTO_SHA256_LEN 32

int crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_SHA256_LEN]);
int crypto_hmac_sha256(const uint8_t *key, size_t keylen, const void *data, size_t len, uint8_t out[CRYPTO_SHA256_LEN]);
int crypto_hkdf_sha256(const uint8_t *ikm, size_t ikmlen, const uint8_t *salt, size_t saltlen, const uint8_t *info,
		       size_t infolen, uint8_t *out, size_t outlen);
int crypto_random(void *out, size_t len);
/* 1 when equal, 0 otherwise; time depends only on len. */
int crypto_equal(const void *a, const void *b, size_t len);

#endif
