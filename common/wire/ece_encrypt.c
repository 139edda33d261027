/* SPDX-License-Identifier: MIT */
/* aes128gcm and Web Push encryption (RFC 8188, RFC 8291), the sender's side, for tests and
 * tools. */
#include "ece_encrypt.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "crypto.h"
#include "ece_internal.h"

static int encrypt_record(EVP_CIPHER_CTX *ctx, const uint8_t cek[16], const uint8_t nonce[12], const uint8_t *plain,
			  size_t n, uint8_t *out)
{
	int got = 0, fin = 0;

	if (EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), NULL, cek, nonce) != 1 ||
	    EVP_EncryptUpdate(ctx, out, &got, plain, (int)n) != 1 || EVP_EncryptFinal_ex(ctx, out + got, &fin) != 1 ||
	    (size_t)got + (size_t)fin != n ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, ECE_TAG_LEN, out + n) != 1)
		return ECE_ERR_CRYPTO;
	return ECE_OK;
}

int ece_encrypt(const uint8_t *ikm, size_t ikmlen, const uint8_t *salt, uint32_t rs, const uint8_t *keyid, size_t idlen,
		const uint8_t *plain, size_t plen, size_t pad, uint8_t *out, size_t outmax, size_t *outlen)
{
	uint8_t cek[16], base[12], nonce[12];
	size_t per, nrec, pos = 0, inpos = 0, need;
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t *buf = NULL;
	int rc;

	if (rs < ECE_RS_MIN)
		return ECE_ERR_RS;
	if (idlen > 255)
		return ECE_ERR_HEADER;
	per = rs - ECE_TAG_LEN - 1; /* data octets in a full record */
	nrec = plen == 0 ? 1 : (plen + per - 1) / per;
	if (plen - (nrec - 1) * per + 1 + pad > rs - ECE_TAG_LEN)
		return ECE_ERR_RS;
	need = ECE_HEADER_MIN + idlen + plen + nrec * (1 + ECE_TAG_LEN) + pad;
	if (need > outmax)
		return ECE_ERR_SPACE;
	if (salt != NULL)
		memcpy(out, salt, ECE_SALT_LEN);
	else if (crypto_random(out, ECE_SALT_LEN) != 0)
		return ECE_ERR_CRYPTO;
	out[16] = (uint8_t)(rs >> 24);
	out[17] = (uint8_t)(rs >> 16);
	out[18] = (uint8_t)(rs >> 8);
	out[19] = (uint8_t)rs;
	out[20] = (uint8_t)idlen;
	if (idlen > 0)
		memcpy(out + ECE_HEADER_MIN, keyid, idlen);
	pos = ECE_HEADER_MIN + idlen;
	rc = ece_derive(ikm, ikmlen, out, cek, base);
	if (rc != ECE_OK)
		return rc;
	ctx = EVP_CIPHER_CTX_new();
	buf = OPENSSL_malloc(rs);
	if (ctx == NULL || buf == NULL) {
		rc = ECE_ERR_CRYPTO;
		goto done;
	}
	for (size_t seq = 0; seq < nrec; seq++) {
		int last = seq + 1 == nrec;
		size_t n = last ? plen - inpos : per;
		size_t m = n + 1 + (last ? pad : 0);

		if (n > 0)
			memcpy(buf, plain + inpos, n);
		buf[n] = last ? 2 : 1;
		memset(buf + n + 1, 0, m - n - 1);
		ece_record_nonce(base, seq, nonce);
		rc = encrypt_record(ctx, cek, nonce, buf, m, out + pos);
		if (rc != ECE_OK)
			goto done;
		inpos += n;
		pos += m + ECE_TAG_LEN;
	}
	*outlen = pos;
	rc = ECE_OK;
done:
	OPENSSL_clear_free(buf, rs);
	EVP_CIPHER_CTX_free(ctx);
	OPENSSL_cleanse(cek, sizeof(cek));
	OPENSSL_cleanse(base, sizeof(base));
	return rc;
}

int ece_webpush_encrypt(const uint8_t ua_pub[ECE_P256_PUB_LEN], const uint8_t auth[ECE_AUTH_LEN],
			const uint8_t *as_priv, const uint8_t *as_pub, const uint8_t *salt, uint32_t rs,
			const uint8_t *plain, size_t plen, size_t pad, uint8_t *out, size_t outmax, size_t *outlen)
{
	uint8_t priv[ECE_P256_PRIV_LEN], pub[ECE_P256_PUB_LEN], secret[32], ikm[32];
	EVP_PKEY *as = NULL;
	int rc;

	if ((as_priv == NULL) != (as_pub == NULL))
		return ECE_ERR_KEY;
	if (as_priv != NULL) {
		memcpy(priv, as_priv, sizeof(priv));
		memcpy(pub, as_pub, sizeof(pub));
	} else if ((rc = ece_p256_keygen(priv, pub)) != ECE_OK) {
		return rc;
	}
	as = ece_p256_key(priv, pub);
	if (as == NULL) {
		rc = ECE_ERR_KEY;
		goto done;
	}
	rc = ece_ecdh(as, ua_pub, secret);
	if (rc == ECE_OK)
		rc = ece_webpush_ikm_from_secret(secret, ua_pub, pub, auth, ikm);
	if (rc == ECE_OK)
		rc = ece_encrypt(ikm, sizeof(ikm), salt, rs, pub, sizeof(pub), plain, plen, pad, out, outmax, outlen);
done:
	EVP_PKEY_free(as);
	OPENSSL_cleanse(priv, sizeof(priv));
	OPENSSL_cleanse(secret, sizeof(secret));
	OPENSSL_cleanse(ikm, sizeof(ikm));
	return rc;
}
