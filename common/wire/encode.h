/* SPDX-License-Identifier: MIT */
/* Hex and base64 (standard and URL-safe) codecs with explicit lengths, shared by the server and
 * libsmswake. */
#ifndef SMSWAKE_ENCODE_H
#define SMSWAKE_ENCODE_H

#include <stddef.h>
#include <stdint.h>

/* Output sizes including the terminating NUL. */
#define ENC_HEX_LEN(n) ((n)*2 + 1)
#define ENC_B64_LEN(n) ((((n) + 2) / 3) * 4 + 1)

/* Writes 2*len lowercase hex digits and a NUL into out. */
void enc_hex(const uint8_t *in, size_t len, char *out);
/* The same with upper-case digits when upper is non-zero (as AT commands carry PDUs). */
void enc_hex_case(const uint8_t *in, size_t len, char *out, int upper);
/* Decodes exactly inlen hex digits (upper or lower case) into at most outmax octets.
 * Returns the number of octets, or -1 on an odd length, a non-hex digit or overflow. */
long enc_unhex(const char *in, size_t inlen, uint8_t *out, size_t outmax);

/* Base64: url=0 is RFC 4648 section 4 with padding; url=1 is section 5 (base64url) without
 * padding. Writes a NUL-terminated string; returns its length. */
size_t enc_b64(const uint8_t *in, size_t len, char *out, int url);
/* Decodes base64 (url=0: standard, padding optional) or base64url (url=1, no padding) of
 * exactly inlen characters. Rejects any other character and non-canonical trailing bits.
 * Returns the number of octets, or -1. */
long enc_unb64(const char *in, size_t inlen, uint8_t *out, size_t outmax, int url);

#endif
