/* SPDX-License-Identifier: MIT */
/* libsmswake internals shared between its files: the handle, the state file, the HTTP layer and
 * the SMS parsers. Not installed; applications include smswake.h only. */
#ifndef SMSWAKE_INTERNAL_H
#define SMSWAKE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "ece.h"
#include "smswake.h"
#include "wake.h"

#define SW_ERRMSG_MAX 256
#define SW_UD_MAX 140 /* user data of one SMS, header included */

/* A P-256 key pair and auth secret to which application servers encrypt (RFC 8291). */
struct sw_push_key {
	uint8_t priv[ECE_P256_PRIV_LEN];
	uint8_t pub[ECE_P256_PUB_LEN];
	uint8_t auth[ECE_AUTH_LEN];
};

/* Persistent device state (docs/client.md, "State file"). */
struct sw_state {
	uint64_t device_id;
	uint64_t counter;  /* last wake counter accepted */
	uint64_t reported; /* last wake counter reported to the server in an ack */
	uint64_t cursor;   /* last seq handed to the callback and accepted */
	uint64_t acked;    /* last seq the server confirmed as acknowledged */
	uint64_t inflight; /* seq being handed to the callback, 0 if none */
	/* Wake keys from master-key rotations (docs/protocol.md, section 7); id 0: none.
	 * key: the device's current key when it is not the configured one (the server
	 * confirmed the move to it); next: handed over, not confirmed yet. Wakeups verify under
	 * the current key (this one, else the configured one) and the next one. */
	uint8_t key_id;
	uint8_t key[WAKE_KEY_LEN];
	uint8_t next_key_id;
	uint8_t next_key[WAKE_KEY_LEN];
	/* Web Push keys (docs/webpush.md): the current one, and after a rotation the previous
	 * one, kept until the server confirmed that every message up to old_push_until was
	 * acknowledged (UINT64_MAX until the upload of the new key told that seq). */
	int have_push, have_old_push;
	struct sw_push_key push, old_push;
	uint64_t old_push_until;
};

struct sw_http;

struct smswake {
	/* configuration */
	char *server; /* without trailing slash */
	uint64_t device_id;
	int have_device_id;
	char *token;
	uint8_t wake_key[WAKE_KEY_LEN];
	int have_key;
	uint8_t key_id;
	uint16_t port;
	int text_format;
	char *state_file;
	char *lock_file;
	unsigned poll_interval;
	unsigned connect_timeout;
	unsigned timeout;
	unsigned wait;
	unsigned batch;
	unsigned retries;
	unsigned retry_delay_ms;
	unsigned retry_max_ms;
	char *ca_file;
	char *ca_path;
	char *pinned_pubkey;
	size_t max_body;
	char *user_agent;

	/* runtime */
	int lock_fd;            /* held during one operation, -1 otherwise */
	struct sw_http *http;   /* the server's connection, kept open across an exchange */
	unsigned undecryptable; /* in the last fetch */
	char errmsg[SW_ERRMSG_MAX];
};

/* Records a detail message for smswake_errmsg and returns err. */
smswake_err sw_fail(smswake_t *h, smswake_err err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* state.c: the lock is taken by sw_state_begin and released by sw_state_end. */
smswake_err sw_state_begin(smswake_t *h, struct sw_state *st);
/* Reads the state without the lock (the file is only ever replaced whole): for a look at the
 * keys before verification. Creates nothing. */
smswake_err sw_state_peek(smswake_t *h, struct sw_state *st);
void sw_state_end(smswake_t *h);
smswake_err sw_state_store(smswake_t *h, const struct sw_state *st);
/* Parses a state file's text; 0 or -1. Exposed for tests and the fuzz target. */
int sw_state_parse(const char *text, size_t len, struct sw_state *st);
/* Formats a state; returns the length, or 0 if buf is too small. */
size_t sw_state_format(const struct sw_state *st, char *buf, size_t max);

/* push.c: decrypts an aes128gcm body with the current push key, else the previous one. Returns
 * ECE_OK or the ece_err of the last attempt (ECE_ERR_KEY when the device has no key). */
int sw_push_decrypt(const struct sw_state *st, const uint8_t *body, size_t len, uint8_t *out, size_t outmax,
		    size_t *outlen);

/* sms.c: SMS parsers (no verification, no state). */
struct sw_sms {
	const uint8_t *udh; /* with its UDHL octet; NULL when there is none */
	size_t udh_len;
	const uint8_t *ud; /* 8-bit user data after the header */
	size_t ud_len;
	char text[2 * 160 + 1]; /* 7-bit or UCS2 text as UTF-8 */
	size_t text_len;
	int is_text;
	uint8_t buf[SW_UD_MAX]; /* backing store for udh/ud when they had to be copied */
};
/* Parses an SMS-DELIVER TPDU with (with_smsc = 1) or without the SMSC field. 0 or -1. */
int sw_parse_deliver(const uint8_t *pdu, size_t len, int with_smsc, struct sw_sms *out);
/* Parses a gammu-smsd backup file. 0 or -1. */
int sw_parse_smsd(const char *data, size_t len, struct sw_sms *out);

/* http*.c (http_internal.h says which file does what) */
struct sw_response {
	long status;
	char *body; /* NUL-terminated, malloc'ed, owned by the response */
	size_t body_len;
	long next_poll;   /* Next-Poll header, -1 if absent */
	long retry_after; /* Retry-After header in seconds, -1 if absent */
	int too_large;    /* the body exceeded the limit (SMSWAKE_EPROTO) */
};
void sw_response_free(struct sw_response *r);
/* A response head as sw_http_parse_head understands it. */
struct sw_head_info {
	int status;
	int chunked;
	int64_t length; /* Content-Length, -1 if absent */
	int close;      /* the server closes the connection after this response */
	long next_poll, retry_after;
};
/* Parses a response head: status line and header lines each ending in CRLF, without the empty
 * line. 0, or -1 with why set. Exposed for tests and the fuzz target. */
int sw_http_parse_head(const char *head, size_t len, struct sw_head_info *info, char *why, size_t whymax);
/* Parses a chunk-size line of the chunked transfer coding (without its CRLF, NUL-terminated):
 * hexadecimal digits, optional white space, optional extensions after ';' (ignored). 0, or -1
 * with why set. Exposed for tests and the fuzz target. */
int sw_http_parse_chunk_size(const char *line, uint64_t *size, char *why, size_t whymax);
/* Splits a server base URL: scheme, host (IPv6 without brackets), port (default filled in), path
 * prefix. 0 or -1 (anything but http:// or https:// with a host, optional port and path). */
int sw_http_parse_url(const char *url, int *tls, char **host, char *port, size_t portmax, char **prefix,
		      int *host_is_ip);
/* Reads one response from a plain descriptor (socket or pipe) exactly as from a server: for tests
 * and the fuzz target. keep_alive tells whether the connection could carry another request. */
smswake_err sw_http_read_fd(smswake_t *h, int fd, struct sw_response *resp, int *keep_alive);
/* Sends one request with retries (network errors, 429, 502, 503, 504). body NULL means GET.
 * On SMSWAKE_OK the response holds a final status (which may still be 4xx). */
smswake_err sw_http_request(smswake_t *h, const char *path, const char *body, struct sw_response *resp);
/* The same with another method for a request with a JSON body (PUT). */
smswake_err sw_http_request_method(smswake_t *h, const char *method, const char *path, const char *body,
				   struct sw_response *resp);
void sw_http_free(struct sw_http *http);

/* fetch.c: parses one GET /v1/device/messages answer. Exposed for tests and the fuzz target.
 * Calls each(msg, ctx) for every message in order; returns SMSWAKE_OK, SMSWAKE_EPROTO or
 * whatever each returned. */
struct sw_page {
	int more;
	long next_poll; /* -1 if absent */
	size_t count;
	int key_id; /* "wake_key" handed over in a key rotation; 0 if none */
	uint8_t key[WAKE_KEY_LEN];
};
smswake_err sw_parse_page(const char *json, size_t len, size_t max_body,
			  smswake_err (*each)(const struct smswake_message *msg, void *ctx), void *ctx,
			  struct sw_page *page, char *why, size_t whymax);

#endif
