/* SPDX-License-Identifier: MIT */
/* The sender's side of aes128gcm and Web Push encryption, for tests and tools: smswake itself
 * never encrypts a message (the application server does), so libsmswake does not carry this. */
#ifndef SMSWAKE_ECE_ENCRYPT_H
#define SMSWAKE_ECE_ENCRYPT_H

#include <stddef.h>
#include <stdint.h>

#include "ece.h"

/* Encrypts plain into an aes128gcm body with records of rs octets, pad zero octets of padding in
 * the last record (which must fit in it). salt NULL: random. Returns ECE_OK or an ece_err
 * (ECE_ERR_RS when rs < 18 or the padding does not fit a record). */
int ece_encrypt(const uint8_t *ikm, size_t ikmlen, const uint8_t *salt, uint32_t rs, const uint8_t *keyid, size_t idlen,
		const uint8_t *plain, size_t plen, size_t pad, uint8_t *out, size_t outmax, size_t *outlen);

/* A Web Push message to the receiver (ua_pub, auth). The sender's key pair (as_priv, as_pub) and
 * salt may be given for reproducible output (RFC 8291 appendix A); NULL makes fresh ones. */
int ece_webpush_encrypt(const uint8_t ua_pub[ECE_P256_PUB_LEN], const uint8_t auth[ECE_AUTH_LEN],
			const uint8_t *as_priv, const uint8_t *as_pub, const uint8_t *salt, uint32_t rs,
			const uint8_t *plain, size_t plen, size_t pad, uint8_t *out, size_t outmax, size_t *outlen);

#endif
