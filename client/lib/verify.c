/* SPDX-License-Identifier: MIT */
/* Wakeup intake: turns a received SMS, in whichever form the device's stack delivers it, into a
 * verified wakeup, and stores its counter before telling the caller to fetch (docs/protocol.md,
 * section 6). Nothing here touches the network. */
#include <inttypes.h>
#include <string.h>

#include <openssl/crypto.h>

#include "encode.h"
#include "internal.h"

/* How far a candidate interpretation got, so that with several guesses (hex input) the error
 * reported is the most telling one. */
static int err_rank(enum wake_err e)
{
	switch (e) {
	case WAKE_OK: return 9;
	case WAKE_ETAG:
	case WAKE_EDEVICE:
	case WAKE_EKEYID:
	case WAKE_EFLAGS:
	case WAKE_EPORT: return 3;
	case WAKE_EVERSION:
	case WAKE_ELENGTH: return 2;
	default: return 1;
	}
}

/* The wake keys a wakeup may be made with: the device's current one (the configured key, or the
 * one a confirmed master-key rotation moved it to) and, while a move is under way, the key the
 * server handed over for it. A confirmed move retires the previous key: a rotation is how an
 * operator stops trusting the old master key. */
struct keys {
	int n;
	uint8_t id[2];
	uint8_t key[2][WAKE_KEY_LEN];
	uint16_t port;
};

static smswake_err load_keys(smswake_t *h, struct keys *k)
{
	struct sw_state st;
	smswake_err err = sw_state_peek(h, &st);

	if (err != SMSWAKE_OK)
		return err;
	k->n = 1;
	k->port = h->port;
	if (st.key_id != 0) {
		k->id[0] = st.key_id;
		memcpy(k->key[0], st.key, WAKE_KEY_LEN);
	} else {
		k->id[0] = h->key_id;
		memcpy(k->key[0], h->wake_key, WAKE_KEY_LEN);
	}
	if (st.next_key_id != 0 && st.next_key_id != k->id[0]) {
		k->id[1] = st.next_key_id;
		memcpy(k->key[1], st.next_key, WAKE_KEY_LEN);
		k->n = 2;
	}
	OPENSSL_cleanse(&st, sizeof(st));
	return SMSWAKE_OK;
}

/* The payload names its key id: the key with that id decides (the other gives WAKE_EKEYID). */
static enum wake_err decode_any(const struct keys *k, const uint8_t *ud, size_t ud_len, const char *text,
				size_t text_len, struct wake_msg *m)
{
	enum wake_err best = WAKE_EKEYID;

	for (int i = 0; i < k->n; i++) {
		enum wake_err e = text != NULL ? wake_decode_text(k->key[i], k->id[i], k->port, text, text_len, m)
					       : wake_decode(k->key[i], k->id[i], k->port, ud, ud_len, m);
		if (e == WAKE_OK || e != WAKE_EKEYID)
			return e;
		best = e;
	}
	return best;
}

static enum wake_err verify_binary(const struct keys *k, const uint8_t *udh, size_t udh_len, const uint8_t *ud,
				   size_t ud_len, struct wake_msg *m)
{
	uint16_t port;
	enum wake_err e;

	if (udh == NULL || udh_len == 0)
		return WAKE_EUDH;
	e = wake_udh_port(udh, udh_len, &port);
	if (e != WAKE_OK)
		return e;
	if (port != k->port)
		return WAKE_EPORT;
	return decode_any(k, ud, ud_len, NULL, 0, m);
}

/* The one allowance of docs/protocol.md, section 5: a single line end after the input, CR LF, LF
 * or CR, as a modem stack or a shell's echo adds it. Anything else around it (white space, a
 * second line end, a byte-order mark) stays and makes the input fail to decode. */
static size_t without_line_end(const char *s, size_t len)
{
	if (len >= 2 && s[len - 2] == '\r' && s[len - 1] == '\n')
		return len - 2;
	if (len >= 1 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		return len - 1;
	return len;
}

static enum wake_err verify_text(const struct keys *k, const char *text, size_t len, struct wake_msg *m)
{
	return decode_any(k, NULL, 0, text, without_line_end(text, len), m);
}

static enum wake_err verify_sms(const struct keys *k, const struct sw_sms *sms, struct wake_msg *m, int *text_form)
{
	*text_form = sms->is_text;
	if (sms->is_text)
		return verify_text(k, sms->text, sms->text_len, m);
	return verify_binary(k, sms->udh, sms->udh_len, sms->ud, sms->ud_len, m);
}

static smswake_err rejected(smswake_t *h, enum wake_err e, struct smswake_wakeup *out)
{
	if (e == WAKE_ECRYPTO)
		return sw_fail(h, SMSWAKE_ECRYPTO, "libcrypto failed");
	if (e == WAKE_EINVAL)
		return sw_fail(h, SMSWAKE_EINVAL, "invalid argument");
	if (out != NULL)
		out->reason = wake_strerror(e);
	return sw_fail(h, SMSWAKE_EREJECTED, "%s", wake_strerror(e));
}

/* The counter rule: strictly above the stored one, and stored durably before the caller acts. */
static smswake_err accept(smswake_t *h, const struct wake_msg *m, int text_form, struct smswake_wakeup *out)
{
	struct sw_state st;
	smswake_err err = sw_state_begin(h, &st);

	if (err != SMSWAKE_OK)
		return err;
	if (st.counter == UINT64_MAX) {
		/* 2^64-1 is the last counter (docs/protocol.md, section 3): no wakeup can follow it.
		 * Polls still deliver; registering the device again starts a new counter. */
		sw_state_end(h);
		if (out != NULL)
			out->reason = "wake counter exhausted";
		return sw_fail(h, SMSWAKE_ESTALE,
			       "wake counter exhausted: %" PRIu64 " was accepted and is the last one; no wakeup "
			       "can follow until the device is registered again (polls still deliver)",
			       st.counter);
	}
	if (m->counter <= st.counter) {
		sw_state_end(h);
		if (out != NULL)
			out->reason = m->counter == st.counter ? "already seen" : "older than the last one";
		return sw_fail(h, SMSWAKE_ESTALE, "wake counter %" PRIu64 " not above %" PRIu64, m->counter,
			       st.counter);
	}
	st.counter = m->counter;
	err = sw_state_store(h, &st);
	sw_state_end(h);
	if (err != SMSWAKE_OK)
		return err;
	if (out != NULL) {
		out->counter = m->counter;
		out->time = m->time;
		out->pending = m->pending;
		out->urgent = (m->flags & WAKE_F_URGENT) != 0;
		out->text_form = text_form;
		out->reason = NULL;
	}
	return SMSWAKE_OK;
}

static smswake_err start(smswake_t *h, struct smswake_wakeup *out, struct keys *k)
{
	if (h == NULL)
		return SMSWAKE_EINVAL;
	h->errmsg[0] = '\0';
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (!h->have_key)
		return sw_fail(h, SMSWAKE_ECONFIG, "wake_key is not set");
	return load_keys(h, k);
}

smswake_err smswake_handle_sms(smswake_t *h, const uint8_t *udh, size_t udh_len, const uint8_t *ud, size_t ud_len,
			       struct smswake_wakeup *out)
{
	struct wake_msg m;
	struct keys k;
	enum wake_err e;
	smswake_err err = start(h, out, &k);

	if (err != SMSWAKE_OK)
		return err;
	if (ud == NULL && ud_len > 0)
		return SMSWAKE_EINVAL;
	e = verify_binary(&k, udh, udh_len, ud, ud_len, &m);
	if (e != WAKE_OK)
		return rejected(h, e, out);
	return accept(h, &m, 0, out);
}

smswake_err smswake_handle_text(smswake_t *h, const char *text, size_t len, struct smswake_wakeup *out)
{
	struct wake_msg m;
	struct keys k;
	enum wake_err e;
	smswake_err err = start(h, out, &k);

	if (err != SMSWAKE_OK)
		return err;
	if (text == NULL && len > 0)
		return SMSWAKE_EINVAL;
	e = verify_text(&k, text, len, &m);
	if (e != WAKE_OK)
		return rejected(h, e, out);
	return accept(h, &m, 1, out);
}

/* Tries the PDU with and without the SMSC field: both are strict enough (exact lengths, no
 * trailing octets) that a wrong guess fails, and the tag decides in the end anyway. */
static enum wake_err verify_pdu(const struct keys *k, const uint8_t *pdu, size_t len, struct wake_msg *m,
				int *text_form)
{
	struct sw_sms sms;
	enum wake_err best = WAKE_EFORMAT;

	for (int with_smsc = 1; with_smsc >= 0; with_smsc--) {
		enum wake_err e;

		if (sw_parse_deliver(pdu, len, with_smsc, &sms) != 0)
			continue;
		e = verify_sms(k, &sms, m, text_form);
		if (e == WAKE_OK)
			return e;
		if (err_rank(e) > err_rank(best))
			best = e;
	}
	return best;
}

smswake_err smswake_handle_pdu(smswake_t *h, const uint8_t *pdu, size_t len, struct smswake_wakeup *out)
{
	struct wake_msg m;
	struct keys k;
	enum wake_err e;
	int text_form = 0;
	smswake_err err = start(h, out, &k);

	if (err != SMSWAKE_OK)
		return err;
	if (pdu == NULL && len > 0)
		return SMSWAKE_EINVAL;
	e = verify_pdu(&k, pdu, len, &m, &text_form);
	if (e != WAKE_OK)
		return rejected(h, e, out);
	return accept(h, &m, text_form, out);
}

smswake_err smswake_handle_input(smswake_t *h, const char *input, size_t len, struct smswake_wakeup *out)
{
	uint8_t buf[12 + 176];
	struct wake_msg m;
	struct keys k;
	enum wake_err e, best;
	int text_form = 0;
	long n;
	smswake_err err = start(h, out, &k);

	if (err != SMSWAKE_OK)
		return err;
	if (input == NULL && len > 0)
		return SMSWAKE_EINVAL;
	/* One rule for every form of the line: at most one line end after it, nothing else. */
	len = without_line_end(input, len);
	if (len >= WAKE_TEXT_PREFIX_LEN && memcmp(input, WAKE_TEXT_PREFIX, WAKE_TEXT_PREFIX_LEN) == 0) {
		e = decode_any(&k, NULL, 0, input, len, &m);
		return e == WAKE_OK ? accept(h, &m, 1, out) : rejected(h, e, out);
	}

	n = enc_unhex(input, len, buf, sizeof(buf));
	if (n <= 0)
		return rejected(h, WAKE_EFORMAT, out);
	/* An SMS-DELIVER (with or without SMSC), or user data that starts with its header. */
	best = verify_pdu(&k, buf, (size_t)n, &m, &text_form);
	if (best == WAKE_OK)
		return accept(h, &m, text_form, out);
	if ((size_t)buf[0] + 1 <= (size_t)n) {
		e = verify_binary(&k, buf, (size_t)buf[0] + 1, buf + buf[0] + 1, (size_t)n - buf[0] - 1, &m);
		if (e == WAKE_OK)
			return accept(h, &m, 0, out);
		if (err_rank(e) >= err_rank(best))
			best = e;
	}
	return rejected(h, best, out);
}

smswake_err smswake_handle_smsd_file(smswake_t *h, const char *data, size_t len, struct smswake_wakeup *out)
{
	struct sw_sms sms;
	struct wake_msg m;
	struct keys k;
	enum wake_err e;
	int text_form;
	smswake_err err = start(h, out, &k);

	if (err != SMSWAKE_OK)
		return err;
	if (data == NULL && len > 0)
		return SMSWAKE_EINVAL;
	if (sw_parse_smsd(data, len, &sms) != 0)
		return rejected(h, WAKE_EFORMAT, out);
	e = verify_sms(&k, &sms, &m, &text_form);
	if (e != WAKE_OK)
		return rejected(h, e, out);
	return accept(h, &m, text_form, out);
}
