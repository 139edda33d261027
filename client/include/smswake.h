/* SPDX-License-Identifier: MIT */
/* libsmswake: the device side of smswake. Verifies wakeup SMS, fetches and acknowledges queued
 * messages over HTTP(S), and keeps a crash-safe state file. The only header an application needs.
 *
 * Typical use (see client/examples/minimal.c and docs/client.md):
 *
 *	smswake_t *h;
 *	smswake_new(&h);
 *	smswake_setopt(h, "server", "https://push.example.com");  ... more options ...
 *	if (smswake_handle_sms(h, udh, udh_len, ud, ud_len, NULL) == SMSWAKE_OK)
 *		smswake_fetch(h, on_message, app, &result);
 *	smswake_free(h);
 *
 * Every function returns an smswake_err: 0 is success. The library keeps no global state (apart
 * from OpenSSL's own), never exits, never aborts and never prints. A handle is
 * not thread-safe; use one per thread. Several processes may share one state file: every
 * operation takes an exclusive lock on it. */
#ifndef SMSWAKE_H
#define SMSWAKE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SMSWAKE_VERSION "1.0.0"

typedef struct smswake smswake_t;

typedef enum {
	SMSWAKE_OK = 0,
	SMSWAKE_EINVAL,    /* bad argument */
	SMSWAKE_ENOMEM,    /* out of memory */
	SMSWAKE_ECONFIG,   /* unknown option, bad option value, or a required option missing */
	SMSWAKE_ESTATE,    /* state file unreadable, corrupt, for another device, or unwritable */
	SMSWAKE_EREJECTED, /* the SMS is not a valid wakeup for this device: drop it */
	SMSWAKE_ESTALE,    /* a valid wakeup whose counter is not above the stored one: drop it */
	SMSWAKE_ENETWORK,  /* server unreachable, timed out or overloaded after all retries */
	SMSWAKE_EAUTH,     /* the server refused the device token (401/403) */
	SMSWAKE_EHTTP,     /* unexpected HTTP status */
	SMSWAKE_EPROTO,    /* the server's answer does not follow the device API */
	SMSWAKE_EHANDLER,  /* the message callback stopped; the rest stays queued */
	SMSWAKE_ECRYPTO,   /* libcrypto failed */
} smswake_err;

/* Static English text for an error code. */
const char *smswake_strerror(smswake_err err);
/* Detail of the last failure on this handle (no secrets), or "" if none. Valid until the next
 * call on the handle. */
const char *smswake_errmsg(const smswake_t *h);

/* Optional: initialises OpenSSL's TLS now rather than at the first https exchange. OpenSSL
 * initialises itself safely from any thread, so no application has to call it. */
smswake_err smswake_global_init(void);

smswake_err smswake_new(smswake_t **out);
void smswake_free(smswake_t *h);

/* Sets one option from its string form, as it appears in the configuration file:
 *
 *   server           base URL, http:// or https:// (required for fetching)
 *   device_id        decimal device id (required)
 *   token            device bearer token (required for fetching)
 *   wake_key         base64 K_dev, 32 octets (required for SMS verification)
 *   key_id           1-255 (default 1)
 *   port             destination port of the wakeup SMS (default 16537)
 *   sms_format       binary | text: what the server sends; both forms are accepted
 *   state_file       path of the state file (required)
 *   poll_interval    seconds between polls when the server does not advise (default 900;
 *                    0: no timed polls, as the server's poll_interval 0)
 *   connect_timeout  seconds (default 15)
 *   timeout          seconds for one attempt of an HTTP request, an absolute bound from
 *                    connecting to the last octet of the answer (default 60; the long-poll wait
 *                    is added); an attempt that runs out is retried as a network error
 *   wait             long-poll seconds the server may hold a fetch (default 0)
 *   batch            messages per page, 1-1000 (default 50)
 *   retries          attempts after the first on network errors, 429 and 5xx (default 4)
 *   retry_delay_ms   first back-off delay in milliseconds (default 1000; doubles, with jitter)
 *   retry_max_ms     largest back-off delay and largest Retry-After honoured (default 60000)
 *   ca_file          CA bundle for https
 *   ca_path          CA directory for https
 *   pinned_pubkey    "sha256//<base64>" list (libcurl's syntax) or a PEM/DER public-key file
 *   max_body         largest message body accepted, octets (default 1 MiB)
 *   user_agent       HTTP User-Agent (default "libsmswake/VERSION")
 *
 * Secrets are copied and wiped on smswake_free. */
smswake_err smswake_setopt(smswake_t *h, const char *name, const char *value);

/* Checks that the options needed to verify SMS and to fetch are all set and consistent. */
smswake_err smswake_check(smswake_t *h);

/* What a verified wakeup said. */
struct smswake_wakeup {
	uint64_t counter;
	uint32_t time;      /* server's Unix time when it built the wakeup */
	unsigned pending;   /* hint: messages waiting, 255 means 255 or more */
	int urgent;         /* the server holds urgent messages */
	int text_form;      /* it came in the text form */
	const char *reason; /* on EREJECTED/ESTALE: why, in a few words; NULL otherwise */
};

/* Verifies a received binary wakeup: udh is the user data header starting with its length octet
 * (udh_len = UDHL + 1), ud the user data after it. On SMSWAKE_OK the new counter is already
 * durably stored and the caller should call smswake_fetch now. SMSWAKE_EREJECTED and
 * SMSWAKE_ESTALE mean: drop the SMS silently. Makes no network request. out may be NULL. */
smswake_err smswake_handle_sms(smswake_t *h, const uint8_t *udh, size_t udh_len, const uint8_t *ud, size_t ud_len,
			       struct smswake_wakeup *out);
/* Same for the text form: "SMSWAKE:" and 48 base64url characters, optionally followed by exactly
 * one line end (CR LF, LF or CR); any other white space before, inside or after it rejects it. */
smswake_err smswake_handle_text(smswake_t *h, const char *text, size_t len, struct smswake_wakeup *out);
/* Same for a binary SMS-DELIVER TPDU, with or without the leading SMSC address field (as
 * AT+CMGR and +CMT in PDU mode give it). 8-bit with a port header, or 7-bit/UCS2 text form. */
smswake_err smswake_handle_pdu(smswake_t *h, const uint8_t *pdu, size_t len, struct smswake_wakeup *out);
/* Same for a line of input in any of these forms, auto-detected: the text form; hex of an
 * SMS-DELIVER (with or without SMSC); hex of user data that starts with its header. As for the
 * text form, one line end (CR LF, LF or CR) may follow the line; nothing else may surround it. */
smswake_err smswake_handle_input(smswake_t *h, const char *input, size_t len, struct smswake_wakeup *out);
/* Same for the contents of a gammu-smsd inbox file (files backend, InboxFormat = detail: Gammu's
 * SMS backup format with UDH, Text00... and Coding). */
smswake_err smswake_handle_smsd_file(smswake_t *h, const char *data, size_t len, struct smswake_wakeup *out);

/* One fetched message, valid only during the callback. */
struct smswake_message {
	uint64_t id;         /* server-wide message id */
	uint64_t seq;        /* per-device sequence number, increasing */
	const char *urgency; /* "very-low", "low", "normal" or "high" */
	const char *topic;   /* NULL when the message has none */
	const char *content_type;
	const uint8_t *body; /* body_len octets, followed by a NUL that is not part of it */
	size_t body_len;
	/* 1 when a previous run may have handed this message to the callback already and stopped
	 * (crashed or lost power) before recording that it was done. See docs/client.md. */
	int redelivered;
	/* 1 when the body was end-to-end encrypted to this device (Web Push, aes128gcm; see
	 * docs/webpush.md) and body is the decrypted plain text. A message that does not decrypt is
	 * never handed over: it is acknowledged as undecryptable. */
	int encrypted;
	/* The content coding the server relayed the body with: NULL for plain, "aes128gcm" for an
	 * end-to-end encrypted one. */
	const char *content_encoding;
};

/* Returns 0 to accept the message (it will be acknowledged), non-zero to stop: this message and
 * the ones after it stay queued on the server for the next fetch. */
typedef int (*smswake_message_cb)(const struct smswake_message *msg, void *ctx);

struct smswake_fetch_result {
	unsigned delivered;   /* messages the callback accepted */
	unsigned duplicates;  /* messages dropped because their seq was at or below the cursor */
	uint64_t cursor;      /* last seq handled */
	unsigned next_poll;   /* seconds until the next poll, as the server advised; 0: none */
	unsigned retry_after; /* on ENETWORK: seconds the server asked to wait, else 0 */
};

/* Fetches every message after the stored cursor, page by page, hands each new one to cb in seq
 * order, stores the cursor after each accepted message, and acknowledges cumulatively, reporting
 * the last wake counter. One HTTP connection is reused for the whole exchange. res may be NULL. */
smswake_err smswake_fetch(smswake_t *h, smswake_message_cb cb, void *ctx, struct smswake_fetch_result *res);

/* End-to-end encrypted messages (docs/webpush.md). Application servers encrypt to the device's
 * P-256 key and auth secret (RFC 8291); the server relays ciphertext it cannot read, and
 * smswake_fetch decrypts before the callback. Sizes of the base64url forms with their NUL: */
#define SMSWAKE_P256DH_MAX 88
#define SMSWAKE_AUTH_MAX 23

/* The device's Web Push public key and auth secret in base64url, as a browser's
 * PushSubscription.toJSON() gives them. Makes the key pair and secret when the state has none,
 * or new ones when rotate is non-zero; the private parts are durably in the state file (mode
 * 0600) before this returns. After a rotation the previous key still decrypts what was encrypted
 * to it, until the server confirms those messages acknowledged; a second rotation before then is
 * refused (SMSWAKE_EINVAL). No network request: smswake_push_upload sends the keys. p256dh and
 * auth may be NULL. */
smswake_err smswake_push_keys(smswake_t *h, int rotate, char p256dh[SMSWAKE_P256DH_MAX], char auth[SMSWAKE_AUTH_MAX]);
/* Encrypted messages the last smswake_fetch on this handle acknowledged as undecryptable (not
 * handed to the callback); the provider sees them as such. */
unsigned smswake_undecryptable(const smswake_t *h);
/* Sends the current keys to the server (PUT /v1/device/push-keys), making them first if there
 * are none. */
smswake_err smswake_push_upload(smswake_t *h);

/* The stored state, for diagnostics. */
smswake_err smswake_get_state(smswake_t *h, uint64_t *counter, uint64_t *cursor);
/* Poll interval from the configuration, in seconds (0: no timed polls). */
unsigned smswake_poll_interval(const smswake_t *h);

#ifdef __cplusplus
}
#endif

#endif
