/* SPDX-License-Identifier: MIT */
/* Wakeup SMS codec (docs/protocol.md is the normative text): per-device key derivation, the
 * authenticated 36-octet payload in its binary and text forms, and the port header around it. */
#ifndef SMSWAKE_WAKE_H
#define SMSWAKE_WAKE_H

#include <stddef.h>
#include <stdint.h>

#define WAKE_KEY_LEN 32 /* K_dev, HKDF-SHA256 output */
#define WAKE_DEVICE_TAG_LEN 4
#define WAKE_MAC_LEN 16 /* HMAC-SHA256 truncated to its first 16 octets */
#define WAKE_VERSION 1
#define WAKE_PAYLOAD_LEN 36 /* binary payload of version 1, tag included */
#define WAKE_TEXT_PREFIX "SMSWAKE:"
#define WAKE_TEXT_PREFIX_LEN 8
#define WAKE_TEXT_LEN 56        /* prefix + 48 base64url characters */
#define WAKE_UDH_LEN 7          /* 06 05 04 dport sport: UDHL, IEI, IEDL, two 16-bit ports */
#define WAKE_PORT_DEFAULT 16537 /* in 3GPP TS 23.040's 16000-16999 free range */

/* Flag bits; every bit outside WAKE_FLAGS_KNOWN must be zero. */
#define WAKE_F_URGENT 0x01 /* the server holds urgent messages: fetch at once */
#define WAKE_FLAGS_KNOWN 0x01

enum wake_err {
	WAKE_OK = 0,
	WAKE_EINVAL,   /* bad argument (NULL pointer, unknown flag when encoding) */
	WAKE_ESPACE,   /* output buffer too small */
	WAKE_ECRYPTO,  /* libcrypto failed */
	WAKE_EFORMAT,  /* text form: wrong prefix or not base64url */
	WAKE_EVERSION, /* unknown payload version */
	WAKE_ELENGTH,  /* payload not exactly WAKE_PAYLOAD_LEN octets */
	WAKE_EFLAGS,   /* unknown flag bit set */
	WAKE_EKEYID,   /* key id differs from the device's */
	WAKE_EDEVICE,  /* device tag is another device's */
	WAKE_ETAG,     /* authentication tag wrong: forged, damaged, or wrong key or port */
	WAKE_EUDH,     /* user data header malformed or without a 16-bit port element */
	WAKE_EPORT,    /* destination port differs from the configured one */
};

struct wake_msg {
	uint8_t version;                         /* WAKE_VERSION */
	uint8_t flags;                           /* WAKE_F_* */
	uint8_t key_id;                          /* which master key K_dev derives from */
	uint8_t device_tag[WAKE_DEVICE_TAG_LEN]; /* filled in by wake_encode/wake_decode */
	uint64_t counter;                        /* strictly increasing per device, starts at 1 */
	uint32_t time;                           /* server's Unix time in seconds when it built the wakeup */
	uint8_t pending;                         /* hint: messages waiting, saturating at 255 */
};

/* K_dev = HKDF-SHA256(IKM = master, salt = "smswake wake salt v1",
 *                     info = "smswake wake key v1" || key_id || device_id as 8 octets BE).
 * Returns 0 or -1. */
int wake_derive_key(const uint8_t *master, size_t master_len, uint8_t key_id, uint64_t device_id,
		    uint8_t out[WAKE_KEY_LEN]);

/* Device tag = first 4 octets of HMAC-SHA256(K_dev, "smswake device tag v1"). Returns 0 or -1. */
int wake_device_tag(const uint8_t key[WAKE_KEY_LEN], uint8_t tag[WAKE_DEVICE_TAG_LEN]);

/* Builds the binary payload (WAKE_PAYLOAD_LEN octets) for destination port `port`.
 * msg->version must be WAKE_VERSION (or 0, meaning the same); msg->device_tag is ignored and
 * computed from the key. */
enum wake_err wake_encode(const uint8_t key[WAKE_KEY_LEN], uint16_t port, const struct wake_msg *msg, uint8_t *out,
			  size_t outmax, size_t *len);

/* Builds the text form: WAKE_TEXT_PREFIX + base64url(payload), NUL-terminated, WAKE_TEXT_LEN
 * characters, all in the GSM 7-bit default alphabet. outmax must be at least WAKE_TEXT_LEN + 1.
 * `port` is the device's configured destination port: the tag covers it in both forms. */
enum wake_err wake_encode_text(const uint8_t key[WAKE_KEY_LEN], uint16_t port, const struct wake_msg *msg, char *out,
			       size_t outmax, size_t *len);

/* Verifies a binary payload for the device with this key, key id and destination port: length,
 * version, flags, key id, device tag and tag (constant time). Fills *msg only on WAKE_OK.
 * Does NOT check the counter: the caller compares it with the stored one. */
enum wake_err wake_decode(const uint8_t key[WAKE_KEY_LEN], uint8_t key_id, uint16_t port, const uint8_t *payload,
			  size_t len, struct wake_msg *msg);

/* Same for the text form (exactly WAKE_TEXT_LEN characters, no NUL needed). */
enum wake_err wake_decode_text(const uint8_t key[WAKE_KEY_LEN], uint8_t key_id, uint16_t port, const char *text,
			       size_t len, struct wake_msg *msg);

/* Writes the 7-octet user data header 06 05 04 <port> <port>: the 16-bit application port
 * element with source port equal to the destination port. */
void wake_udh(uint16_t port, uint8_t out[WAKE_UDH_LEN]);

/* Parses a user data header (starting with its UDHL octet, len = UDHL + 1) and returns the
 * destination port of its one 16-bit application port element. Rejects lengths that disagree,
 * a missing or repeated port element, an 8-bit port element, and concatenation elements
 * (a wakeup is always a single SMS). */
enum wake_err wake_udh_port(const uint8_t *udh, size_t len, uint16_t *dport);

const char *wake_strerror(enum wake_err err);

#endif
