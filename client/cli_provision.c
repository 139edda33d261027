/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `smswake-client provision`: turns the registration answer of POST /v1/devices into the
 * client's configuration file. Every value goes through smswake_setopt first, so a hostile or
 * broken registration can neither inject configuration lines nor produce a file that fails later. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"

#define PROVISION_JSON_MAX (64 * 1024)

static int fail(char *err, size_t errmax, const char *what)
{
	snprintf(err, errmax, "%s", what);
	return -1;
}

/* Configuration lines are "key = value\n": a value may not hold a line break or a NUL, and must
 * not start or end with white space, which the reader would strip. */
static int line_safe(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t')
		return 0;
	for (; *s; s++)
		if (*s == '\n' || *s == '\r' || (unsigned char)*s < 0x20)
			return 0;
	return 1;
}

struct kv {
	const char *key;
	char value[1024];
};

int cli_provision(const char *json, size_t len, const char *server, const char *state_file, const char *handler,
		  char **out, char *err, size_t errmax)
{
	return cli_provision_handle(json, len, server, state_file, handler, out, NULL, err, errmax);
}

int cli_provision_handle(const char *json, size_t len, const char *server, const char *state_file, const char *handler,
			 char **out, smswake_t **hout, char *err, size_t errmax)
{
	struct kv kv[10];
	size_t nkv = 0, cap, used = 0;
	json_error_t jerr;
	json_t *root = NULL, *v;
	smswake_t *h = NULL;
	char *text = NULL;
	int rc = -1;

	*out = NULL;
	if (len > PROVISION_JSON_MAX)
		return fail(err, errmax, "registration larger than 64 KiB");
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL || !json_is_object(root)) {
		snprintf(err, errmax, "registration is not a JSON object%s%s", root ? "" : ": ", root ? "" : jerr.text);
		goto done;
	}
	if (smswake_new(&h) != SMSWAKE_OK) {
		fail(err, errmax, "out of memory");
		goto done;
	}

#define ADD(k, fmt, val)                                                                                               \
	do {                                                                                                           \
		kv[nkv].key = (k);                                                                                     \
		snprintf(kv[nkv].value, sizeof(kv[nkv].value), fmt, val);                                              \
		nkv++;                                                                                                 \
	} while (0)

	ADD("server", "%s", server);
	v = json_object_get(root, "id");
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		fail(err, errmax, "\"id\" missing or not a non-negative integer");
		goto done;
	}
	ADD("device_id", "%" PRId64, (int64_t)json_integer_value(v));
	v = json_object_get(root, "token");
	if (!json_is_string(v) || json_string_length(v) >= sizeof(kv[0].value)) {
		fail(err, errmax, "\"token\" missing or not a string");
		goto done;
	}
	ADD("token", "%s", json_string_value(v));
	v = json_object_get(root, "wake_key");
	if (!json_is_string(v) || json_string_length(v) >= sizeof(kv[0].value)) {
		fail(err, errmax, "\"wake_key\" missing or not a string");
		goto done;
	}
	ADD("wake_key", "%s", json_string_value(v));
	/* Optional fields keep the library's defaults when absent. */
	v = json_object_get(root, "key_id");
	if (v != NULL) {
		if (!json_is_integer(v)) {
			fail(err, errmax, "\"key_id\" is not an integer");
			goto done;
		}
		ADD("key_id", "%" PRId64, (int64_t)json_integer_value(v));
	}
	v = json_object_get(root, "port");
	if (v != NULL) {
		if (!json_is_integer(v)) {
			fail(err, errmax, "\"port\" is not an integer");
			goto done;
		}
		ADD("port", "%" PRId64, (int64_t)json_integer_value(v));
	}
	v = json_object_get(root, "sms_format");
	if (v != NULL) {
		if (!json_is_string(v) || json_string_length(v) >= sizeof(kv[0].value)) {
			fail(err, errmax, "\"sms_format\" is not a string");
			goto done;
		}
		ADD("sms_format", "%s", json_string_value(v));
	}
	v = json_object_get(root, "poll_interval");
	if (v != NULL) {
		if (!json_is_integer(v)) {
			fail(err, errmax, "\"poll_interval\" is not an integer");
			goto done;
		}
		ADD("poll_interval", "%" PRId64, (int64_t)json_integer_value(v));
	}
	ADD("state_file", "%s", state_file);
#undef ADD

	for (size_t i = 0; i < nkv; i++) {
		if (!line_safe(kv[i].value) || smswake_setopt(h, kv[i].key, kv[i].value) != SMSWAKE_OK) {
			snprintf(err, errmax, "%s: %s", kv[i].key,
				 line_safe(kv[i].value) ? smswake_errmsg(h) : "not a single-line value");
			goto done;
		}
	}
	if (smswake_check(h) != SMSWAKE_OK) {
		snprintf(err, errmax, "%s", smswake_errmsg(h));
		goto done;
	}
	if (handler != NULL && !line_safe(handler)) {
		fail(err, errmax, "handler: not a single-line value");
		goto done;
	}

	cap = 512 + (handler ? strlen(handler) : 0);
	for (size_t i = 0; i < nkv; i++)
		cap += strlen(kv[i].key) + strlen(kv[i].value) + 4;
	text = malloc(cap);
	if (text == NULL) {
		fail(err, errmax, "out of memory");
		goto done;
	}
	used = (size_t)snprintf(text, cap,
				"# smswake-client configuration for device %s, written by "
				"smswake-client provision.\n"
				"# It holds the device's token and wakeup key: keep it mode 0600.\n"
				"[client]\n",
				kv[1].value);
	for (size_t i = 0; i < nkv; i++)
		used += (size_t)snprintf(text + used, cap - used, "%s = %s\n", kv[i].key, kv[i].value);
	if (handler != NULL)
		used += (size_t)snprintf(text + used, cap - used, "handler = %s\n", handler);
	*out = text;
	text = NULL;
	if (hout != NULL) {
		*hout = h;
		h = NULL;
	}
	rc = 0;
done:
	for (size_t i = 0; i < nkv; i++)
		memset(kv[i].value, 0, sizeof(kv[i].value));
	free(text);
	smswake_free(h);
	json_decref(root);
	return rc;
}
