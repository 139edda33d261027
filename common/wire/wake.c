/* SPDX-License-Identifier: MIT */
/* Wakeup SMS codec: builds and verifies the authenticated payload of docs/protocol.md. Shared by
 * the server (which holds the keys and encodes) and libsmswake (which decodes). */
#include "wake.h"

#include <string.h>

#include "crypto.h"
#include "encode.h"

/* Fixed strings of the protocol; their lengths are part of the format, so no NUL is hashed. */
static const char hkdf_salt[] = "smswake wake salt v1";
static const char hkdf_label[] = "smswake wake key v1";
static const char tag_label[] = "smswake device tag v1";
static const char mac_label[] = "smswake wakeup v1";

/* Payload offsets (version 1). */
enum {
	OFF_VERSION = 0,
	OFF_FLAGS = 1,
	OFF_KEYID = 2,
	OFF_DEVTAG = 3,
	OFF_COUNTER = 7,
	OFF_TIME = 15,
	OFF_PENDING = 19,
	OFF_MAC = 20,
};

#define B64_PAYLOAD_LEN 48 /* 36 octets -> 48 base64url characters, no padding */

int wake_derive_key(const uint8_t *master, size_t master_len, uint8_t key_id, uint64_t device_id,
		    uint8_t out[WAKE_KEY_LEN])
{
	uint8_t info[sizeof(hkdf_label) - 1 + 1 + 8];
	size_t n = sizeof(hkdf_label) - 1;

	if (master == NULL || master_len == 0 || out == NULL)
		return -1;
	memcpy(info, hkdf_label, n);
	info[n++] = key_id;
	for (int i = 7; i >= 0; i--)
		info[n++] = (uint8_t)(device_id >> (8 * i));
	return crypto_hkdf_sha256(master, master_len, (const uint8_t *)hkdf_salt, sizeof(hkdf_salt) - 1, info, n, out,
				  WAKE_KEY_LEN);
}

int wake_device_tag(const uint8_t key[WAKE_KEY_LEN], uint8_t tag[WAKE_DEVICE_TAG_LEN])
{
	uint8_t h[CRYPTO_SHA256_LEN];

	if (key == NULL || tag == NULL ||
	    crypto_hmac_sha256(key, WAKE_KEY_LEN, tag_label, sizeof(tag_label) - 1, h) != 0)
		return -1;
	memcpy(tag, h, WAKE_DEVICE_TAG_LEN);
	return 0;
}

/* Tag = HMAC-SHA256(K_dev, mac_label || port (2 octets BE) || payload[0..OFF_MAC)), truncated.
 * The port is covered so a wakeup for one application cannot be replayed to another listening on
 * a different port of the same device under the same key. */
static int compute_mac(const uint8_t key[WAKE_KEY_LEN], uint16_t port, const uint8_t *payload,
		       uint8_t mac[WAKE_MAC_LEN])
{
	uint8_t buf[sizeof(mac_label) - 1 + 2 + OFF_MAC];
	uint8_t h[CRYPTO_SHA256_LEN];
	size_t n = sizeof(mac_label) - 1;

	memcpy(buf, mac_label, n);
	buf[n++] = (uint8_t)(port >> 8);
	buf[n++] = (uint8_t)port;
	memcpy(buf + n, payload, OFF_MAC);
	n += OFF_MAC;
	if (crypto_hmac_sha256(key, WAKE_KEY_LEN, buf, n, h) != 0)
		return -1;
	memcpy(mac, h, WAKE_MAC_LEN);
	return 0;
}

enum wake_err wake_encode(const uint8_t key[WAKE_KEY_LEN], uint16_t port, const struct wake_msg *msg, uint8_t *out,
			  size_t outmax, size_t *len)
{
	uint8_t p[WAKE_PAYLOAD_LEN];

	if (key == NULL || msg == NULL || out == NULL)
		return WAKE_EINVAL;
	if ((msg->version != 0 && msg->version != WAKE_VERSION) || (msg->flags & ~WAKE_FLAGS_KNOWN))
		return WAKE_EINVAL;
	if (outmax < WAKE_PAYLOAD_LEN)
		return WAKE_ESPACE;
	p[OFF_VERSION] = WAKE_VERSION;
	p[OFF_FLAGS] = msg->flags;
	p[OFF_KEYID] = msg->key_id;
	if (wake_device_tag(key, p + OFF_DEVTAG) != 0)
		return WAKE_ECRYPTO;
	for (int i = 0; i < 8; i++)
		p[OFF_COUNTER + i] = (uint8_t)(msg->counter >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		p[OFF_TIME + i] = (uint8_t)(msg->time >> (24 - 8 * i));
	p[OFF_PENDING] = msg->pending;
	if (compute_mac(key, port, p, p + OFF_MAC) != 0)
		return WAKE_ECRYPTO;
	memcpy(out, p, WAKE_PAYLOAD_LEN);
	if (len != NULL)
		*len = WAKE_PAYLOAD_LEN;
	return WAKE_OK;
}

enum wake_err wake_encode_text(const uint8_t key[WAKE_KEY_LEN], uint16_t port, const struct wake_msg *msg, char *out,
			       size_t outmax, size_t *len)
{
	uint8_t p[WAKE_PAYLOAD_LEN];
	enum wake_err err;

	if (out == NULL)
		return WAKE_EINVAL;
	if (outmax < WAKE_TEXT_LEN + 1)
		return WAKE_ESPACE;
	err = wake_encode(key, port, msg, p, sizeof(p), NULL);
	if (err != WAKE_OK)
		return err;
	memcpy(out, WAKE_TEXT_PREFIX, WAKE_TEXT_PREFIX_LEN);
	enc_b64(p, sizeof(p), out + WAKE_TEXT_PREFIX_LEN, 1);
	if (len != NULL)
		*len = WAKE_TEXT_LEN;
	return WAKE_OK;
}

/* Checks in the order of the layout so the error names the first thing wrong; the device tag is
 * public (it is in every wakeup), so checking it before the MAC leaks nothing. */
enum wake_err wake_decode(const uint8_t key[WAKE_KEY_LEN], uint8_t key_id, uint16_t port, const uint8_t *payload,
			  size_t len, struct wake_msg *msg)
{
	uint8_t devtag[WAKE_DEVICE_TAG_LEN], mac[WAKE_MAC_LEN];
	struct wake_msg m;

	if (key == NULL || msg == NULL || (payload == NULL && len > 0))
		return WAKE_EINVAL;
	if (len == 0)
		return WAKE_ELENGTH;
	if (payload[OFF_VERSION] != WAKE_VERSION)
		return WAKE_EVERSION;
	if (len != WAKE_PAYLOAD_LEN)
		return WAKE_ELENGTH;
	if (payload[OFF_FLAGS] & ~WAKE_FLAGS_KNOWN)
		return WAKE_EFLAGS;
	if (payload[OFF_KEYID] != key_id)
		return WAKE_EKEYID;
	if (wake_device_tag(key, devtag) != 0)
		return WAKE_ECRYPTO;
	if (memcmp(devtag, payload + OFF_DEVTAG, WAKE_DEVICE_TAG_LEN) != 0)
		return WAKE_EDEVICE;
	if (compute_mac(key, port, payload, mac) != 0)
		return WAKE_ECRYPTO;
	if (!crypto_equal(mac, payload + OFF_MAC, WAKE_MAC_LEN))
		return WAKE_ETAG;

	memset(&m, 0, sizeof(m));
	m.version = payload[OFF_VERSION];
	m.flags = payload[OFF_FLAGS];
	m.key_id = payload[OFF_KEYID];
	memcpy(m.device_tag, payload + OFF_DEVTAG, WAKE_DEVICE_TAG_LEN);
	for (int i = 0; i < 8; i++)
		m.counter = m.counter << 8 | payload[OFF_COUNTER + i];
	for (int i = 0; i < 4; i++)
		m.time = m.time << 8 | payload[OFF_TIME + i];
	m.pending = payload[OFF_PENDING];
	*msg = m;
	return WAKE_OK;
}

enum wake_err wake_decode_text(const uint8_t key[WAKE_KEY_LEN], uint8_t key_id, uint16_t port, const char *text,
			       size_t len, struct wake_msg *msg)
{
	uint8_t p[WAKE_PAYLOAD_LEN + 3];
	long n;

	if (key == NULL || msg == NULL || (text == NULL && len > 0))
		return WAKE_EINVAL;
	if (len < WAKE_TEXT_PREFIX_LEN || memcmp(text, WAKE_TEXT_PREFIX, WAKE_TEXT_PREFIX_LEN) != 0)
		return WAKE_EFORMAT;
	/* Decode whatever length follows the prefix (bounded by the buffer) so a wrong length
	 * reports as a length error, like the binary form. */
	if (len - WAKE_TEXT_PREFIX_LEN > ENC_B64_LEN(sizeof(p)))
		return WAKE_ELENGTH;
	n = enc_unb64(text + WAKE_TEXT_PREFIX_LEN, len - WAKE_TEXT_PREFIX_LEN, p, sizeof(p), 1);
	if (n < 0)
		return WAKE_EFORMAT;
	return wake_decode(key, key_id, port, p, (size_t)n, msg);
}

void wake_udh(uint16_t port, uint8_t out[WAKE_UDH_LEN])
{
	out[0] = 6;    /* UDHL: octets that follow */
	out[1] = 0x05; /* IEI: application port addressing, 16-bit */
	out[2] = 4;    /* IEDL */
	out[3] = (uint8_t)(port >> 8);
	out[4] = (uint8_t)port;
	out[5] = (uint8_t)(port >> 8);
	out[6] = (uint8_t)port;
}

enum wake_err wake_udh_port(const uint8_t *udh, size_t len, uint16_t *dport)
{
	size_t i;
	int found = 0;
	uint16_t port = 0;

	if (udh == NULL || dport == NULL)
		return WAKE_EINVAL;
	if (len < 1 || (size_t)udh[0] + 1 != len)
		return WAKE_EUDH;
	/* Walk the information elements; each IEDL must fit inside the header exactly. */
	for (i = 1; i < len;) {
		uint8_t iei, iedl;

		if (len - i < 2)
			return WAKE_EUDH;
		iei = udh[i];
		iedl = udh[i + 1];
		if ((size_t)iedl > len - i - 2)
			return WAKE_EUDH;
		switch (iei) {
		case 0x05:
			if (iedl != 4 || found)
				return WAKE_EUDH;
			port = (uint16_t)(udh[i + 2] << 8 | udh[i + 3]);
			found = 1;
			break;
		case 0x04: /* 8-bit ports: ambiguous next to a 16-bit element, never ours */
		case 0x00: /* concatenation, 8-bit reference */
		case 0x08: /* concatenation, 16-bit reference */ return WAKE_EUDH;
		default: break;
		}
		i += 2 + (size_t)iedl;
	}
	if (!found)
		return WAKE_EUDH;
	*dport = port;
	return WAKE_OK;
}

const char *wake_strerror(enum wake_err err)
{
	switch (err) {
	case WAKE_OK: return "success";
	case WAKE_EINVAL: return "invalid argument";
	case WAKE_ESPACE: return "output buffer too small";
	case WAKE_ECRYPTO: return "cryptographic library failure";
	case WAKE_EFORMAT: return "text form malformed";
	case WAKE_EVERSION: return "unknown wakeup version";
	case WAKE_ELENGTH: return "wakeup payload has the wrong length";
	case WAKE_EFLAGS: return "unknown flag set";
	case WAKE_EKEYID: return "key id does not match";
	case WAKE_EDEVICE: return "wakeup is for another device";
	case WAKE_ETAG: return "authentication tag does not verify";
	case WAKE_EUDH: return "user data header malformed or without port";
	case WAKE_EPORT: return "wrong destination port";
	}
	return "unknown error";
}
