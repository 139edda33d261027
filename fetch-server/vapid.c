/* SPDX-License-Identifier: GPL-2.0-or-later */
/* VAPID (RFC 8292) verification: the header's syntax (RFC 7235 auth-params), the JWT (RFC 7515
 * compact form, ES256 of RFC 7518 with its raw r||s signature) and the claims aud, exp, sub. The
 * signature is checked before any claim is believed. */
#include "vapid.h"

#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "ece_internal.h"
#include "encode.h"

#define JWT_PART_MAX 2048 /* decoded header or claims */

const char *vapid_strerror(int err)
{
	switch (err) {
	case VAPID_OK: return "success";
	case VAPID_ERR_MISSING: return "no vapid Authorization";
	case VAPID_ERR_SYNTAX: return "malformed vapid Authorization (expected: vapid t=<JWT>, k=<key>)";
	case VAPID_ERR_KEY: return "k is not an uncompressed P-256 public key in base64url";
	case VAPID_ERR_JWT: return "t is not a JWT";
	case VAPID_ERR_ALG: return "JWT alg is not ES256";
	case VAPID_ERR_SIGNATURE: return "JWT signature does not verify with k";
	case VAPID_ERR_AUD: return "JWT aud is not this push service's origin";
	case VAPID_ERR_EXP: return "JWT exp is missing, past, or more than 24 hours ahead";
	case VAPID_ERR_SUB: return "JWT sub is not a short printable string";
	case VAPID_ERR_INTERNAL: return "internal error";
	}
	return "unknown error";
}

static int is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* The characters of a token68 value (RFC 7235 section 2.1); a JWT and base64url keys use a subset. */
static int is_value_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
	       c == '_' || c == '~' || c == '+' || c == '/' || c == '=';
}

static int decode_key(const char *s, size_t n, uint8_t key[VAPID_KEY_LEN])
{
	/* Some senders pad base64url; the padding carries nothing. */
	while (n > 0 && s[n - 1] == '=')
		n--;
	if (enc_unb64(s, n, key, VAPID_KEY_LEN, 1) != VAPID_KEY_LEN || key[0] != 0x04)
		return VAPID_ERR_KEY;
	return VAPID_OK;
}

int vapid_parse_header(const char *value, const char **t, size_t *tlen, uint8_t key[VAPID_KEY_LEN])
{
	const char *p = value, *k = NULL;
	size_t klen = 0;

	*t = NULL;
	*tlen = 0;
	if (value == NULL)
		return VAPID_ERR_MISSING;
	if (strlen(value) > VAPID_HEADER_MAX)
		return VAPID_ERR_SYNTAX;
	while (is_ows(*p))
		p++;
	if (strncasecmp(p, "vapid", 5) != 0 || !is_ows(p[5]))
		return VAPID_ERR_MISSING;
	p += 5;
	for (;;) {
		const char *name, *val;
		size_t nlen, vlen;

		while (is_ows(*p) || *p == ',')
			p++;
		if (*p == '\0')
			break;
		name = p;
		while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		       *p == '_')
			p++;
		nlen = (size_t)(p - name);
		while (is_ows(*p))
			p++;
		if (nlen == 0 || *p != '=')
			return VAPID_ERR_SYNTAX;
		p++;
		while (is_ows(*p))
			p++;
		if (*p == '"') {
			val = ++p;
			while (is_value_char(*p))
				p++;
			if (*p != '"')
				return VAPID_ERR_SYNTAX;
			vlen = (size_t)(p - val);
			p++;
		} else {
			val = p;
			while (is_value_char(*p))
				p++;
			vlen = (size_t)(p - val);
		}
		while (is_ows(*p))
			p++;
		if (vlen == 0 || (*p != ',' && *p != '\0'))
			return VAPID_ERR_SYNTAX;
		if (nlen == 1 && (name[0] == 't' || name[0] == 'T')) {
			if (*t != NULL)
				return VAPID_ERR_SYNTAX;
			*t = val;
			*tlen = vlen;
		} else if (nlen == 1 && (name[0] == 'k' || name[0] == 'K')) {
			if (k != NULL)
				return VAPID_ERR_SYNTAX;
			k = val;
			klen = vlen;
		}
		/* Other parameters are ignored, as RFC 7235 asks of unknown ones. */
	}
	if (*t == NULL || k == NULL)
		return VAPID_ERR_SYNTAX;
	return decode_key(k, klen, key);
}

/* Decodes one base64url part of the JWT into a NUL-terminated buffer. */
static long jwt_part(const char *s, size_t n, uint8_t *out, size_t max)
{
	long got = enc_unb64(s, n, out, max - 1, 1);
	if (got >= 0)
		out[got] = '\0';
	return got;
}

static json_t *jwt_json(const uint8_t *buf, long len)
{
	json_t *j = json_loadb((const char *)buf, (size_t)len, JSON_REJECT_DUPLICATES, NULL);
	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* ES256 (RFC 7518 section 3.4): the signature is r||s, 32 octets each; OpenSSL wants DER. */
static int verify_es256(const uint8_t key[VAPID_KEY_LEN], const char *msg, size_t msglen, const uint8_t sig[64])
{
	EVP_PKEY *pkey = ece_p256_key(NULL, key);
	EVP_MD_CTX *md = NULL;
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *der = NULL;
	int derlen, rc = VAPID_ERR_INTERNAL;

	if (pkey == NULL)
		return VAPID_ERR_KEY;
	es = ECDSA_SIG_new();
	r = BN_bin2bn(sig, 32, NULL);
	s = BN_bin2bn(sig + 32, 32, NULL);
	if (es == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1)
		goto done;
	r = s = NULL; /* owned by es now */
	derlen = i2d_ECDSA_SIG(es, &der);
	md = EVP_MD_CTX_new();
	if (derlen <= 0 || md == NULL || EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey) != 1)
		goto done;
	rc = EVP_DigestVerify(md, der, (size_t)derlen, (const unsigned char *)msg, msglen) == 1 ? VAPID_OK
												: VAPID_ERR_SIGNATURE;
done:
	OPENSSL_free(der);
	EVP_MD_CTX_free(md);
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	EVP_PKEY_free(pkey);
	return rc;
}

static int check_claims(json_t *claims, const char *origin, int64_t now, struct vapid_claims *out)
{
	json_t *aud = json_object_get(claims, "aud"), *exp = json_object_get(claims, "exp");
	json_t *sub = json_object_get(claims, "sub");
	double e;

	if (!json_is_string(aud) || origin == NULL || strcmp(json_string_value(aud), origin) != 0)
		return VAPID_ERR_AUD;
	/* NumericDate may have a fraction; whole seconds are what is compared. */
	if (!json_is_number(exp))
		return VAPID_ERR_EXP;
	e = json_number_value(exp);
	if (!(e > (double)now && e <= (double)now + VAPID_EXP_MAX))
		return VAPID_ERR_EXP;
	out->exp = (int64_t)e;
	out->sub[0] = '\0';
	if (sub != NULL) {
		const char *v = json_string_value(sub);
		size_t n;

		if (v == NULL || (n = json_string_length(sub)) > VAPID_SUB_MAX)
			return VAPID_ERR_SUB;
		for (size_t i = 0; i < n; i++)
			if (v[i] < 0x20 || v[i] > 0x7e)
				return VAPID_ERR_SUB;
		memcpy(out->sub, v, n + 1);
	}
	return VAPID_OK;
}

int vapid_verify(const char *authorization, const char *origin, int64_t now, struct vapid_claims *out)
{
	uint8_t key[VAPID_KEY_LEN], hdr[JWT_PART_MAX + 1], body[JWT_PART_MAX + 1], sig[65];
	const char *t, *dot1, *dot2;
	size_t tlen;
	json_t *h = NULL, *c = NULL;
	const char *alg, *typ;
	long hl, bl;
	int rc;

	rc = vapid_parse_header(authorization, &t, &tlen, key);
	if (rc != VAPID_OK)
		return rc;
	dot1 = memchr(t, '.', tlen);
	dot2 = dot1 != NULL ? memchr(dot1 + 1, '.', tlen - (size_t)(dot1 + 1 - t)) : NULL;
	if (dot2 == NULL || memchr(dot2 + 1, '.', tlen - (size_t)(dot2 + 1 - t)) != NULL)
		return VAPID_ERR_JWT;
	hl = jwt_part(t, (size_t)(dot1 - t), hdr, sizeof(hdr));
	bl = jwt_part(dot1 + 1, (size_t)(dot2 - dot1 - 1), body, sizeof(body));
	if (hl <= 0 || bl <= 0 || enc_unb64(dot2 + 1, tlen - (size_t)(dot2 + 1 - t), sig, sizeof(sig), 1) != 64)
		return VAPID_ERR_JWT;
	h = jwt_json(hdr, hl);
	c = jwt_json(body, bl);
	if (h == NULL || c == NULL) {
		rc = VAPID_ERR_JWT;
		goto done;
	}
	alg = json_string_value(json_object_get(h, "alg"));
	typ = json_string_value(json_object_get(h, "typ"));
	if (alg == NULL || strcmp(alg, "ES256") != 0 ||
	    (json_object_get(h, "typ") != NULL && (typ == NULL || strcasecmp(typ, "JWT") != 0))) {
		rc = VAPID_ERR_ALG;
		goto done;
	}
	rc = verify_es256(key, t, (size_t)(dot2 - t), sig);
	if (rc != VAPID_OK)
		goto done;
	rc = check_claims(c, origin, now, out);
	if (rc == VAPID_OK)
		memcpy(out->key, key, VAPID_KEY_LEN);
done:
	json_decref(h);
	json_decref(c);
	return rc;
}
