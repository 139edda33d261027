/* SPDX-License-Identifier: MIT */
/* aes128gcm records (RFC 8188) and Web Push key derivation (RFC 8291), receiver's side. Every
 * length comes from the body and is checked against what is left of it before use. */
#include "ece.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "crypto.h"
#include "ece_internal.h"

static const char cek_info[] = "Content-Encoding: aes128gcm"; /* and its NUL */
static const char nonce_info[] = "Content-Encoding: nonce";
static const char webpush_info[] = "WebPush: info";

const char *ece_strerror(int err)
{
	switch (err) {
	case ECE_OK: return "success";
	case ECE_ERR_HEADER: return "malformed aes128gcm header";
	case ECE_ERR_RS: return "record size below 18";
	case ECE_ERR_TRUNCATED: return "truncated aes128gcm body";
	case ECE_ERR_TAG: return "authentication failed (wrong key or altered ciphertext)";
	case ECE_ERR_PADDING: return "bad padding delimiter";
	case ECE_ERR_SPACE: return "plain text larger than the buffer";
	case ECE_ERR_KEY: return "not a valid P-256 key";
	case ECE_ERR_CRYPTO: return "cryptographic library failure";
	}
	return "unknown error";
}

int ece_parse_header(const uint8_t *body, size_t len, struct ece_header *h)
{
	if (body == NULL || len < ECE_HEADER_MIN)
		return ECE_ERR_HEADER;
	memcpy(h->salt, body, ECE_SALT_LEN);
	h->rs = (uint32_t)body[16] << 24 | (uint32_t)body[17] << 16 | (uint32_t)body[18] << 8 | body[19];
	h->idlen = body[20];
	if (len - ECE_HEADER_MIN < h->idlen)
		return ECE_ERR_HEADER;
	h->keyid = body + ECE_HEADER_MIN;
	h->len = ECE_HEADER_MIN + h->idlen;
	if (h->rs < ECE_RS_MIN)
		return ECE_ERR_RS;
	return ECE_OK;
}

int ece_derive(const uint8_t *ikm, size_t ikmlen, const uint8_t salt[ECE_SALT_LEN], uint8_t cek[16], uint8_t nonce[12])
{
	if (crypto_hkdf_sha256(ikm, ikmlen, salt, ECE_SALT_LEN, (const uint8_t *)cek_info, sizeof(cek_info), cek, 16) !=
		    0 ||
	    crypto_hkdf_sha256(ikm, ikmlen, salt, ECE_SALT_LEN, (const uint8_t *)nonce_info, sizeof(nonce_info), nonce,
			       12) != 0)
		return ECE_ERR_CRYPTO;
	return ECE_OK;
}

void ece_record_nonce(const uint8_t base[12], uint64_t seq, uint8_t nonce[12])
{
	memcpy(nonce, base, 12);
	for (int i = 0; i < 8; i++)
		nonce[11 - i] ^= (uint8_t)(seq >> (8 * i));
}

/* One record: ct is n octets of ciphertext and tag (n >= 17); plain receives n - 16 octets. */
static int decrypt_record(EVP_CIPHER_CTX *ctx, const uint8_t cek[16], const uint8_t nonce[12], const uint8_t *ct,
			  size_t n, uint8_t *plain)
{
	int got = 0, fin = 0;
	size_t clen = n - ECE_TAG_LEN;

	if (EVP_DecryptInit_ex(ctx, EVP_aes_128_gcm(), NULL, cek, nonce) != 1)
		return ECE_ERR_CRYPTO;
	if (EVP_DecryptUpdate(ctx, plain, &got, ct, (int)clen) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, ECE_TAG_LEN, (void *)(ct + clen)) != 1)
		return ECE_ERR_CRYPTO;
	if (EVP_DecryptFinal_ex(ctx, plain + got, &fin) != 1)
		return ECE_ERR_TAG;
	return (size_t)got + (size_t)fin == clen ? ECE_OK : ECE_ERR_CRYPTO;
}

int ece_decrypt(const uint8_t *ikm, size_t ikmlen, const uint8_t *body, size_t len, uint8_t *out, size_t outmax,
		size_t *outlen)
{
	struct ece_header h;
	uint8_t cek[16], base[12], nonce[12];
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t *plain = NULL;
	size_t pos, total = 0, maxrec;
	uint64_t seq = 0;
	int rc;

	rc = ece_parse_header(body, len, &h);
	if (rc != ECE_OK)
		return rc;
	pos = h.len;
	/* Every record holds at least its delimiter and its tag; only the last may be shorter than
	 * rs, so the layout is known before any decryption. */
	if (pos == len || ((len - pos) % h.rs != 0 && (len - pos) % h.rs < ECE_TAG_LEN + 1))
		return ECE_ERR_TRUNCATED;
	rc = ece_derive(ikm, ikmlen, h.salt, cek, base);
	if (rc != ECE_OK)
		goto done;
	maxrec = len - pos < h.rs ? len - pos : h.rs;
	plain = malloc(maxrec);
	ctx = EVP_CIPHER_CTX_new();
	if (plain == NULL || ctx == NULL) {
		rc = ECE_ERR_CRYPTO;
		goto done;
	}
	while (pos < len) {
		size_t n = len - pos < h.rs ? len - pos : h.rs;
		int last = pos + n == len;
		size_t i;

		ece_record_nonce(base, seq++, nonce);
		rc = decrypt_record(ctx, cek, nonce, body + pos, n, plain);
		if (rc != ECE_OK)
			goto done;
		/* Padding is zeros after the delimiter: 1 ends every record but the last, 2 the last. */
		i = n - ECE_TAG_LEN;
		while (i > 0 && plain[i - 1] == 0)
			i--;
		if (i == 0) {
			rc = ECE_ERR_PADDING;
			goto done;
		}
		i--;
		if (last && plain[i] == 1) {
			rc = ECE_ERR_TRUNCATED;
			goto done;
		}
		if (plain[i] != (last ? 2 : 1)) {
			rc = ECE_ERR_PADDING;
			goto done;
		}
		if (outmax - total < i) {
			rc = ECE_ERR_SPACE;
			goto done;
		}
		if (i > 0)
			memcpy(out + total, plain, i);
		total += i;
		pos += n;
	}
	*outlen = total;
	rc = ECE_OK;
done:
	if (plain != NULL)
		OPENSSL_cleanse(plain, maxrec);
	free(plain);
	EVP_CIPHER_CTX_free(ctx);
	OPENSSL_cleanse(cek, sizeof(cek));
	OPENSSL_cleanse(base, sizeof(base));
	return rc;
}

EVP_PKEY *ece_p256_key(const uint8_t *priv, const uint8_t pub[ECE_P256_PUB_LEN])
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *d = NULL;

	if (bld == NULL || pub[0] != 0x04)
		goto done;
	if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, ECE_P256_PUB_LEN) != 1)
		goto done;
	if (priv != NULL) {
		d = BN_secure_new();
		if (d == NULL || BN_bin2bn(priv, ECE_P256_PRIV_LEN, d) == NULL ||
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) != 1)
			goto done;
	}
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, priv != NULL ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
done:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(d);
	return pkey;
}

int ece_ecdh(EVP_PKEY *mine, const uint8_t peer_pub[ECE_P256_PUB_LEN], uint8_t secret[32])
{
	EVP_PKEY *peer = ece_p256_key(NULL, peer_pub);
	EVP_PKEY_CTX *ctx = NULL;
	size_t n = 32;
	int rc = ECE_ERR_KEY;

	if (peer == NULL)
		return ECE_ERR_KEY;
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, mine, NULL);
	if (ctx == NULL || EVP_PKEY_derive_init(ctx) != 1 || EVP_PKEY_derive_set_peer(ctx, peer) != 1)
		goto done;
	rc = EVP_PKEY_derive(ctx, secret, &n) == 1 && n == 32 ? ECE_OK : ECE_ERR_CRYPTO;
done:
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(peer);
	return rc;
}

int ece_webpush_ikm_from_secret(const uint8_t secret[32], const uint8_t ua_pub[ECE_P256_PUB_LEN],
				const uint8_t as_pub[ECE_P256_PUB_LEN], const uint8_t auth[ECE_AUTH_LEN],
				uint8_t ikm[32])
{
	uint8_t info[sizeof(webpush_info) + 2 * ECE_P256_PUB_LEN];

	memcpy(info, webpush_info, sizeof(webpush_info));
	memcpy(info + sizeof(webpush_info), ua_pub, ECE_P256_PUB_LEN);
	memcpy(info + sizeof(webpush_info) + ECE_P256_PUB_LEN, as_pub, ECE_P256_PUB_LEN);
	return crypto_hkdf_sha256(secret, 32, auth, ECE_AUTH_LEN, info, sizeof(info), ikm, 32) == 0 ? ECE_OK
												    : ECE_ERR_CRYPTO;
}

int ece_webpush_ikm(const uint8_t ua_priv[ECE_P256_PRIV_LEN], const uint8_t ua_pub[ECE_P256_PUB_LEN],
		    const uint8_t as_pub[ECE_P256_PUB_LEN], const uint8_t auth[ECE_AUTH_LEN], uint8_t ikm[32])
{
	EVP_PKEY *ua = ece_p256_key(ua_priv, ua_pub);
	uint8_t secret[32];
	int rc;

	if (ua == NULL)
		return ECE_ERR_KEY;
	rc = ece_ecdh(ua, as_pub, secret);
	if (rc == ECE_OK)
		rc = ece_webpush_ikm_from_secret(secret, ua_pub, as_pub, auth, ikm);
	OPENSSL_cleanse(secret, sizeof(secret));
	EVP_PKEY_free(ua);
	return rc;
}

int ece_webpush_decrypt(const uint8_t ua_priv[ECE_P256_PRIV_LEN], const uint8_t ua_pub[ECE_P256_PUB_LEN],
			const uint8_t auth[ECE_AUTH_LEN], const uint8_t *body, size_t len, uint8_t *out, size_t outmax,
			size_t *outlen)
{
	struct ece_header h;
	uint8_t ikm[32];
	int rc;

	rc = ece_parse_header(body, len, &h);
	if (rc != ECE_OK)
		return rc;
	/* RFC 8291 section 4: the keyid is the sender's uncompressed public key. */
	if (h.idlen != ECE_P256_PUB_LEN || h.keyid[0] != 0x04)
		return ECE_ERR_HEADER;
	rc = ece_webpush_ikm(ua_priv, ua_pub, h.keyid, auth, ikm);
	if (rc == ECE_OK)
		rc = ece_decrypt(ikm, sizeof(ikm), body, len, out, outmax, outlen);
	OPENSSL_cleanse(ikm, sizeof(ikm));
	return rc;
}

int ece_p256_keygen(uint8_t priv[ECE_P256_PRIV_LEN], uint8_t pub[ECE_P256_PUB_LEN])
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	BIGNUM *d = NULL;
	size_t n = 0;
	int rc = ECE_ERR_CRYPTO;

	if (pkey == NULL)
		return ECE_ERR_CRYPTO;
	if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &d) != 1 ||
	    BN_bn2binpad(d, priv, ECE_P256_PRIV_LEN) != ECE_P256_PRIV_LEN ||
	    EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, pub, ECE_P256_PUB_LEN, &n) != 1 ||
	    n != ECE_P256_PUB_LEN || pub[0] != 0x04)
		goto done;
	rc = ECE_OK;
done:
	BN_clear_free(d);
	EVP_PKEY_free(pkey);
	return rc;
}

int ece_webpush_keygen(uint8_t priv[ECE_P256_PRIV_LEN], uint8_t pub[ECE_P256_PUB_LEN], uint8_t auth[ECE_AUTH_LEN])
{
	int rc = ece_p256_keygen(priv, pub);

	if (rc == ECE_OK && crypto_random(auth, ECE_AUTH_LEN) != 0)
		rc = ECE_ERR_CRYPTO;
	if (rc != ECE_OK)
		OPENSSL_cleanse(priv, ECE_P256_PRIV_LEN);
	return rc;
}
