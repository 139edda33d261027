/* SPDX-License-Identifier: MIT */
/* Encrypted content coding "aes128gcm" (RFC 8188) and Web Push message encryption (RFC 8291):
 * the receiver's side, built into libsmswake so a device decrypts what an application server
 * encrypted to its P-256 key. OpenSSL 3 EVP only. The sender's side, for tests and tools, is
 * in ece_encrypt.c. */
#ifndef SMSWAKE_ECE_H
#define SMSWAKE_ECE_H

#include <stddef.h>
#include <stdint.h>

#define ECE_SALT_LEN 16
#define ECE_P256_PUB_LEN 65 /* uncompressed point: 0x04 || X || Y */
#define ECE_P256_PRIV_LEN 32
#define ECE_AUTH_LEN 16
#define ECE_TAG_LEN 16
#define ECE_HEADER_MIN (ECE_SALT_LEN + 4 + 1)
/* Smallest record size RFC 8188 allows: a delimiter octet and the tag. */
#define ECE_RS_MIN 18
/* Header of a Web Push message: salt, rs, idlen and the sender's public key as keyid. */
#define ECE_WEBPUSH_HEADER_LEN (ECE_HEADER_MIN + ECE_P256_PUB_LEN)

enum ece_err {
	ECE_OK = 0,
	ECE_ERR_HEADER,    /* shorter than its header, or keyid not what the scheme needs */
	ECE_ERR_RS,        /* record size below 18 */
	ECE_ERR_TRUNCATED, /* no record, a record too short for its tag, or last record missing */
	ECE_ERR_TAG,       /* authentication failed: wrong key, or altered ciphertext */
	ECE_ERR_PADDING,   /* no delimiter, or a delimiter that does not fit the record's place */
	ECE_ERR_SPACE,     /* plain text larger than the output buffer */
	ECE_ERR_KEY,       /* a public or private key that is not a valid P-256 key */
	ECE_ERR_CRYPTO,    /* OpenSSL failed (out of memory) */
};

const char *ece_strerror(int err);

/* The parsed aes128gcm header; keyid points into the body given to ece_parse_header. */
struct ece_header {
	uint8_t salt[ECE_SALT_LEN];
	uint32_t rs;
	const uint8_t *keyid;
	size_t idlen;
	size_t len; /* octets of header; records start here */
};

int ece_parse_header(const uint8_t *body, size_t len, struct ece_header *h);

/* Decrypts an aes128gcm body with input keying material ikm (RFC 8188 section 2.2). Writes the
 * plain text, padding removed, into out (at most outmax octets) and its length into *outlen.
 * The output is the concatenation of all records' data; nothing is written to *outlen unless the
 * whole body authenticated, but out may hold partial plain text on failure: callers discard it.
 * Returns ECE_OK or an ece_err. */
int ece_decrypt(const uint8_t *ikm, size_t ikmlen, const uint8_t *body, size_t len, uint8_t *out, size_t outmax,
		size_t *outlen);

/* Web Push (RFC 8291 section 3.4): IKM from ECDH between the receiver's key pair (ua_priv,
 * ua_pub) and the sender's public key (the body's keyid), with the receiver's auth secret. */
int ece_webpush_ikm(const uint8_t ua_priv[ECE_P256_PRIV_LEN], const uint8_t ua_pub[ECE_P256_PUB_LEN],
		    const uint8_t as_pub[ECE_P256_PUB_LEN], const uint8_t auth[ECE_AUTH_LEN], uint8_t ikm[32]);

/* Decrypts a Web Push message body (aes128gcm with the sender's key as keyid). */
int ece_webpush_decrypt(const uint8_t ua_priv[ECE_P256_PRIV_LEN], const uint8_t ua_pub[ECE_P256_PUB_LEN],
			const uint8_t auth[ECE_AUTH_LEN], const uint8_t *body, size_t len, uint8_t *out, size_t outmax,
			size_t *outlen);

/* A new receiver key pair (private scalar and uncompressed public point) and auth secret. */
int ece_webpush_keygen(uint8_t priv[ECE_P256_PRIV_LEN], uint8_t pub[ECE_P256_PUB_LEN], uint8_t auth[ECE_AUTH_LEN]);

#endif
