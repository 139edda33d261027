/* SPDX-License-Identifier: MIT */
/* The device's Web Push keys (RFC 8291): made and rotated in the state file, uploaded with
 * PUT /v1/device/push-keys, and used by fetch.c to decrypt aes128gcm message bodies. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "encode.h"
#include "internal.h"

static void public_parts(const struct sw_push_key *k, char *p256dh, char *auth)
{
	if (p256dh != NULL)
		enc_b64(k->pub, sizeof(k->pub), p256dh, 1);
	if (auth != NULL)
		enc_b64(k->auth, sizeof(k->auth), auth, 1);
}

/* Under the state lock: makes the current key if there is none, or a new one on rotate. */
static smswake_err ensure_keys(smswake_t *h, struct sw_state *st, int rotate)
{
	struct sw_push_key k;
	smswake_err err;

	if (st->have_push && !rotate)
		return SMSWAKE_OK;
	if (rotate && st->have_old_push)
		return sw_fail(h, SMSWAKE_EINVAL,
			       "the previous push key is still needed for messages not yet acknowledged");
	if (ece_webpush_keygen(k.priv, k.pub, k.auth) != ECE_OK)
		return sw_fail(h, SMSWAKE_ECRYPTO, "P-256 key generation failed");
	if (st->have_push) {
		st->old_push = st->push;
		st->have_old_push = 1;
		st->old_push_until = UINT64_MAX; /* known once the server has the new key */
	}
	st->push = k;
	st->have_push = 1;
	OPENSSL_cleanse(&k, sizeof(k));
	err = sw_state_store(h, st);
	return err;
}

smswake_err smswake_push_keys(smswake_t *h, int rotate, char p256dh[SMSWAKE_P256DH_MAX], char auth[SMSWAKE_AUTH_MAX])
{
	struct sw_state st;
	smswake_err err;

	if (h == NULL)
		return SMSWAKE_EINVAL;
	h->errmsg[0] = '\0';
	err = sw_state_begin(h, &st);
	if (err != SMSWAKE_OK)
		return err;
	err = ensure_keys(h, &st, rotate);
	if (err == SMSWAKE_OK)
		public_parts(&st.push, p256dh, auth);
	sw_state_end(h);
	OPENSSL_cleanse(&st, sizeof(st));
	return err;
}

/* The server answers with the last seq it assigned before the new key took effect: messages up
 * to it may be encrypted to the previous key, later ones are not (unless an application server
 * kept the old subscription, which then fails to decrypt as it would in a browser). */
static void take_switch_seq(struct sw_state *st, const struct sw_response *r)
{
	json_t *root, *seq;

	if (!st->have_old_push || st->old_push_until != UINT64_MAX || r->body == NULL || r->body_len == 0)
		return;
	root = json_loadb(r->body, r->body_len, 0, NULL);
	seq = json_object_get(root, "seq");
	if (json_is_integer(seq) && json_integer_value(seq) >= 0)
		st->old_push_until = (uint64_t)json_integer_value(seq);
	json_decref(root);
}

smswake_err smswake_push_upload(smswake_t *h)
{
	char p256dh[SMSWAKE_P256DH_MAX], auth[SMSWAKE_AUTH_MAX], body[160];
	struct sw_response r;
	struct sw_state st;
	smswake_err err;

	if (h == NULL)
		return SMSWAKE_EINVAL;
	h->errmsg[0] = '\0';
	err = smswake_check(h);
	if (err != SMSWAKE_OK)
		return err;
	err = sw_state_begin(h, &st);
	if (err != SMSWAKE_OK)
		return err;
	err = ensure_keys(h, &st, 0);
	if (err != SMSWAKE_OK)
		goto done;
	public_parts(&st.push, p256dh, auth);
	snprintf(body, sizeof(body), "{\"p256dh\":\"%s\",\"auth\":\"%s\"}", p256dh, auth);
	err = sw_http_request_method(h, "PUT", "/v1/device/push-keys", body, &r);
	if (err == SMSWAKE_OK && (r.status == 200 || r.status == 204)) {
		uint64_t before = st.old_push_until;

		take_switch_seq(&st, &r);
		if (st.old_push_until != before)
			err = sw_state_store(h, &st);
	} else if (err == SMSWAKE_OK) {
		err = sw_fail(h, r.status == 401 || r.status == 403 ? SMSWAKE_EAUTH : SMSWAKE_EHTTP,
			      "push-keys: HTTP %ld", r.status);
	}
	sw_response_free(&r);
	OPENSSL_cleanse(auth, sizeof(auth));
	OPENSSL_cleanse(body, sizeof(body));
done:
	sw_state_end(h);
	OPENSSL_cleanse(&st, sizeof(st));
	return err;
}

int sw_push_decrypt(const struct sw_state *st, const uint8_t *body, size_t len, uint8_t *out, size_t outmax,
		    size_t *outlen)
{
	int rc = ECE_ERR_KEY;

	if (st->have_push)
		rc = ece_webpush_decrypt(st->push.priv, st->push.pub, st->push.auth, body, len, out, outmax, outlen);
	/* The previous key, for what was encrypted before a rotation reached the sender. */
	if (rc != ECE_OK && st->have_old_push)
		rc = ece_webpush_decrypt(st->old_push.priv, st->old_push.pub, st->old_push.auth, body, len, out, outmax,
					 outlen);
	return rc;
}

unsigned smswake_undecryptable(const smswake_t *h)
{
	return h != NULL ? h->undecryptable : 0;
}
