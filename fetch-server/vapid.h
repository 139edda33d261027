/* SPDX-License-Identifier: GPL-2.0-or-later */
/* VAPID (RFC 8292): the application server's identity on a Web Push request. Pure functions: the
 * Authorization header and the time go in, the verified claims or a reason come out. */
#ifndef SMSWAKE_VAPID_H
#define SMSWAKE_VAPID_H

#include <stddef.h>
#include <stdint.h>

#define VAPID_KEY_LEN 65 /* uncompressed P-256 point */
#define VAPID_SUB_MAX 255
/* Longest Authorization value accepted: a JWT with a long sub and the key fit well inside. */
#define VAPID_HEADER_MAX 4096
/* RFC 8292 section 2: exp no more than 24 hours after the request. */
#define VAPID_EXP_MAX 86400

enum vapid_err {
	VAPID_OK = 0,
	VAPID_ERR_MISSING,   /* no Authorization, or not the vapid scheme */
	VAPID_ERR_SYNTAX,    /* malformed parameters, missing t or k, too long */
	VAPID_ERR_KEY,       /* k is not an uncompressed P-256 public key */
	VAPID_ERR_JWT,       /* t is not a JWS compact serialization of JSON objects */
	VAPID_ERR_ALG,       /* header alg other than ES256, or typ other than JWT */
	VAPID_ERR_SIGNATURE, /* the signature does not verify with k */
	VAPID_ERR_AUD,       /* aud missing or not the push resource's origin */
	VAPID_ERR_EXP,       /* exp missing, past, or more than 24 h ahead */
	VAPID_ERR_SUB,       /* sub present but not a string of at most 255 printable octets */
	VAPID_ERR_INTERNAL,  /* out of memory, OpenSSL failure */
};

struct vapid_claims {
	uint8_t key[VAPID_KEY_LEN]; /* the application server's public key (k) */
	int64_t exp;
	char sub[VAPID_SUB_MAX + 1]; /* empty when the token has no sub */
};

/* Splits "vapid t=<JWT>, k=<key>" (scheme case-insensitive, parameters in any order, values
 * bare or quoted) into the token and the decoded key. *t points into value. */
int vapid_parse_header(const char *value, const char **t, size_t *tlen, uint8_t key[VAPID_KEY_LEN]);

/* Verifies an Authorization value against the push resource's origin (scheme://host[:port],
 * as in the endpoint URL) at time now (Unix seconds). Fills *out on VAPID_OK. */
int vapid_verify(const char *authorization, const char *origin, int64_t now, struct vapid_claims *out);

const char *vapid_strerror(int err);

#endif
