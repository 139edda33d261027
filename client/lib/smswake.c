/* SPDX-License-Identifier: MIT */
/* libsmswake handle: creation, options (parsed from their configuration-file strings so the CLI
 * and embedding applications validate them the same way), error texts. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include "encode.h"
#include "internal.h"

smswake_err sw_fail(smswake_t *h, smswake_err err, const char *fmt, ...)
{
	va_list ap;

	if (h != NULL) {
		va_start(ap, fmt);
		vsnprintf(h->errmsg, sizeof(h->errmsg), fmt, ap);
		va_end(ap);
	}
	return err;
}

const char *smswake_strerror(smswake_err err)
{
	switch (err) {
	case SMSWAKE_OK: return "success";
	case SMSWAKE_EINVAL: return "invalid argument";
	case SMSWAKE_ENOMEM: return "out of memory";
	case SMSWAKE_ECONFIG: return "configuration error";
	case SMSWAKE_ESTATE: return "state file error";
	case SMSWAKE_EREJECTED: return "not a valid wakeup for this device";
	case SMSWAKE_ESTALE: return "wakeup already seen or older than the last one";
	case SMSWAKE_ENETWORK: return "server unreachable";
	case SMSWAKE_EAUTH: return "server refused the device token";
	case SMSWAKE_EHTTP: return "unexpected HTTP status";
	case SMSWAKE_EPROTO: return "malformed server response";
	case SMSWAKE_EHANDLER: return "message handler stopped";
	case SMSWAKE_ECRYPTO: return "cryptographic library failure";
	}
	return "unknown error";
}

const char *smswake_errmsg(const smswake_t *h)
{
	return h != NULL ? h->errmsg : "";
}

smswake_err smswake_global_init(void)
{
	/* OpenSSL 3 initialises itself on first use, safely from any thread; this only lets an
	 * application pay for TLS up front. Plain-http devices never load it. */
	return OPENSSL_init_ssl(0, NULL) == 1 ? SMSWAKE_OK : SMSWAKE_ENOMEM;
}

smswake_err smswake_new(smswake_t **out)
{
	smswake_t *h;

	if (out == NULL)
		return SMSWAKE_EINVAL;
	*out = NULL;
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return SMSWAKE_ENOMEM;
	h->key_id = 1;
	h->port = WAKE_PORT_DEFAULT;
	h->poll_interval = 900;
	h->connect_timeout = 15;
	h->timeout = 60;
	h->batch = 50;
	h->retries = 4;
	h->retry_delay_ms = 1000;
	h->retry_max_ms = 60000;
	h->max_body = 1024 * 1024;
	h->lock_fd = -1;
	*out = h;
	return SMSWAKE_OK;
}

static void free_secret(char *s)
{
	if (s != NULL) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

void smswake_free(smswake_t *h)
{
	if (h == NULL)
		return;
	sw_http_free(h->http);
	free(h->server);
	free_secret(h->token);
	free(h->state_file);
	free(h->lock_file);
	free(h->ca_file);
	free(h->ca_path);
	free(h->pinned_pubkey);
	free(h->user_agent);
	OPENSSL_cleanse(h->wake_key, sizeof(h->wake_key));
	free(h);
}

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (s == NULL || *s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static smswake_err set_str(smswake_t *h, char **dst, const char *value, const char *name)
{
	char *copy;

	if (value[0] == '\0') {
		free(*dst);
		*dst = NULL;
		return SMSWAKE_OK;
	}
	copy = strdup(value);
	if (copy == NULL)
		return sw_fail(h, SMSWAKE_ENOMEM, "%s: out of memory", name);
	free(*dst);
	*dst = copy;
	return SMSWAKE_OK;
}

/* Unsigned options: name, where, bounds. */
struct uint_opt {
	const char *name;
	size_t off;
	unsigned min, max;
};

static const struct uint_opt uint_opts[] = {
	{.name = "poll_interval", .off = offsetof(struct smswake, poll_interval), .min = 0, .max = 86400 * 30},
	{.name = "connect_timeout", .off = offsetof(struct smswake, connect_timeout), .min = 1, .max = 600},
	{.name = "timeout", .off = offsetof(struct smswake, timeout), .min = 1, .max = 3600},
	{.name = "wait", .off = offsetof(struct smswake, wait), .min = 0, .max = 300},
	{.name = "batch", .off = offsetof(struct smswake, batch), .min = 1, .max = 1000},
	{.name = "retries", .off = offsetof(struct smswake, retries), .min = 0, .max = 20},
	{.name = "retry_delay_ms", .off = offsetof(struct smswake, retry_delay_ms), .min = 1, .max = 600000},
	{.name = "retry_max_ms", .off = offsetof(struct smswake, retry_max_ms), .min = 1, .max = 3600000},
};

smswake_err smswake_setopt(smswake_t *h, const char *name, const char *value)
{
	uint64_t v;

	if (h == NULL || name == NULL || value == NULL)
		return SMSWAKE_EINVAL;
	h->errmsg[0] = '\0';
	for (size_t i = 0; i < sizeof(uint_opts) / sizeof(uint_opts[0]); i++) {
		if (strcmp(name, uint_opts[i].name) != 0)
			continue;
		if (parse_u64(value, uint_opts[i].min, uint_opts[i].max, &v) != 0)
			return sw_fail(h, SMSWAKE_ECONFIG, "%s: expected a whole number in %u-%u", name,
				       uint_opts[i].min, uint_opts[i].max);
		*(unsigned *)((char *)h + uint_opts[i].off) = (unsigned)v;
		return SMSWAKE_OK;
	}
	if (strcmp(name, "server") == 0) {
		size_t n = strlen(value);
		smswake_err err;

		if (strncmp(value, "http://", 7) != 0 && strncmp(value, "https://", 8) != 0)
			return sw_fail(h, SMSWAKE_ECONFIG, "server: must start with http:// or https://");
		err = set_str(h, &h->server, value, name);
		/* Paths are appended as "/v1/...": drop trailing slashes once here. */
		while (err == SMSWAKE_OK && n > 8 && h->server[n - 1] == '/')
			h->server[--n] = '\0';
		return err;
	}
	if (strcmp(name, "device_id") == 0) {
		if (parse_u64(value, 0, UINT64_MAX, &v) != 0)
			return sw_fail(h, SMSWAKE_ECONFIG, "device_id: expected a decimal number");
		h->device_id = v;
		h->have_device_id = 1;
		return SMSWAKE_OK;
	}
	if (strcmp(name, "token") == 0) {
		for (const char *p = value; *p; p++)
			if (*p <= ' ' || *p > '~')
				return sw_fail(h, SMSWAKE_ECONFIG, "token: printable ASCII without spaces only");
		free_secret(h->token);
		h->token = NULL;
		return set_str(h, &h->token, value, name);
	}
	if (strcmp(name, "wake_key") == 0) {
		uint8_t key[WAKE_KEY_LEN + 3];
		long n = enc_unb64(value, strlen(value), key, sizeof(key), 0);

		if (n < 0)
			n = enc_unb64(value, strlen(value), key, sizeof(key), 1);
		if (n != WAKE_KEY_LEN) {
			OPENSSL_cleanse(key, sizeof(key));
			return sw_fail(h, SMSWAKE_ECONFIG, "wake_key: expected base64 of 32 octets");
		}
		memcpy(h->wake_key, key, WAKE_KEY_LEN);
		OPENSSL_cleanse(key, sizeof(key));
		h->have_key = 1;
		return SMSWAKE_OK;
	}
	if (strcmp(name, "key_id") == 0) {
		if (parse_u64(value, 1, 255, &v) != 0)
			return sw_fail(h, SMSWAKE_ECONFIG, "key_id: expected 1-255");
		h->key_id = (uint8_t)v;
		return SMSWAKE_OK;
	}
	if (strcmp(name, "port") == 0) {
		if (parse_u64(value, 0, 65535, &v) != 0)
			return sw_fail(h, SMSWAKE_ECONFIG, "port: expected 0-65535");
		h->port = (uint16_t)v;
		return SMSWAKE_OK;
	}
	if (strcmp(name, "sms_format") == 0) {
		if (strcmp(value, "binary") == 0)
			h->text_format = 0;
		else if (strcmp(value, "text") == 0)
			h->text_format = 1;
		else
			return sw_fail(h, SMSWAKE_ECONFIG, "sms_format: expected binary or text");
		return SMSWAKE_OK;
	}
	if (strcmp(name, "state_file") == 0) {
		size_t n = strlen(value);
		char *lock;

		if (n == 0)
			return sw_fail(h, SMSWAKE_ECONFIG, "state_file: empty");
		lock = malloc(n + sizeof(".lock"));
		if (lock == NULL)
			return sw_fail(h, SMSWAKE_ENOMEM, "state_file: out of memory");
		memcpy(lock, value, n);
		memcpy(lock + n, ".lock", sizeof(".lock"));
		if (set_str(h, &h->state_file, value, name) != SMSWAKE_OK) {
			free(lock);
			return SMSWAKE_ENOMEM;
		}
		free(h->lock_file);
		h->lock_file = lock;
		return SMSWAKE_OK;
	}
	if (strcmp(name, "max_body") == 0) {
		if (parse_u64(value, 1, 64 * 1024 * 1024, &v) != 0)
			return sw_fail(h, SMSWAKE_ECONFIG, "max_body: expected 1-67108864");
		h->max_body = (size_t)v;
		return SMSWAKE_OK;
	}
	if (strcmp(name, "ca_file") == 0)
		return set_str(h, &h->ca_file, value, name);
	if (strcmp(name, "ca_path") == 0)
		return set_str(h, &h->ca_path, value, name);
	if (strcmp(name, "pinned_pubkey") == 0)
		return set_str(h, &h->pinned_pubkey, value, name);
	if (strcmp(name, "user_agent") == 0) {
		/* It goes into every request's head as is. */
		for (const char *p = value; *p; p++)
			if (*p < ' ' || *p > '~')
				return sw_fail(h, SMSWAKE_ECONFIG, "user_agent: printable ASCII only");
		return set_str(h, &h->user_agent, value, name);
	}
	return sw_fail(h, SMSWAKE_ECONFIG, "unknown option \"%s\"", name);
}

smswake_err smswake_check(smswake_t *h)
{
	if (h == NULL)
		return SMSWAKE_EINVAL;
	if (h->server == NULL)
		return sw_fail(h, SMSWAKE_ECONFIG, "server is not set");
	if (!h->have_device_id)
		return sw_fail(h, SMSWAKE_ECONFIG, "device_id is not set");
	if (h->token == NULL)
		return sw_fail(h, SMSWAKE_ECONFIG, "token is not set");
	if (!h->have_key)
		return sw_fail(h, SMSWAKE_ECONFIG, "wake_key is not set");
	if (h->state_file == NULL)
		return sw_fail(h, SMSWAKE_ECONFIG, "state_file is not set");
	if (h->retry_max_ms < h->retry_delay_ms)
		return sw_fail(h, SMSWAKE_ECONFIG, "retry_max_ms is below retry_delay_ms");
	return SMSWAKE_OK;
}

unsigned smswake_poll_interval(const smswake_t *h)
{
	return h != NULL ? h->poll_interval : 0;
}

smswake_err smswake_get_state(smswake_t *h, uint64_t *counter, uint64_t *cursor)
{
	struct sw_state st;
	smswake_err err;

	if (h == NULL)
		return SMSWAKE_EINVAL;
	err = sw_state_begin(h, &st);
	if (err != SMSWAKE_OK)
		return err;
	sw_state_end(h);
	if (counter != NULL)
		*counter = st.counter;
	if (cursor != NULL)
		*cursor = st.cursor;
	return SMSWAKE_OK;
}
