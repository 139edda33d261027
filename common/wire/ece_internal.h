/* SPDX-License-Identifier: MIT */
/* Pieces of ece.c that the sender's side (ece_encrypt.c) shares. */
#ifndef SMSWAKE_ECE_INTERNAL_H
#define SMSWAKE_ECE_INTERNAL_H

#include <stdint.h>

#include <openssl/evp.h>

#include "ece.h"

/* Content-encryption key and nonce base of RFC 8188 section 2.2 and 2.3. */
int ece_derive(const uint8_t *ikm, size_t ikmlen, const uint8_t salt[ECE_SALT_LEN], uint8_t cek[16], uint8_t nonce[12]);
/* The nonce of record seq: the base XOR the sequence number. */
void ece_record_nonce(const uint8_t base[12], uint64_t seq, uint8_t nonce[12]);
/* A P-256 key from its uncompressed public point, with its private scalar when priv is not NULL.
 * NULL when the point is not on the curve. */
EVP_PKEY *ece_p256_key(const uint8_t *priv, const uint8_t pub[ECE_P256_PUB_LEN]);
int ece_p256_keygen(uint8_t priv[ECE_P256_PRIV_LEN], uint8_t pub[ECE_P256_PUB_LEN]);
int ece_ecdh(EVP_PKEY *mine, const uint8_t peer_pub[ECE_P256_PUB_LEN], uint8_t secret[32]);
int ece_webpush_ikm_from_secret(const uint8_t secret[32], const uint8_t ua_pub[ECE_P256_PUB_LEN],
				const uint8_t as_pub[ECE_P256_PUB_LEN], const uint8_t auth[ECE_AUTH_LEN],
				uint8_t ikm[32]);

#endif
