/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers shared by the API handlers: store errors to HTTP, JSON field readers. */
#ifndef SMSWAKE_API_COMMON_H
#define SMSWAKE_API_COMMON_H

#include "http.h"

/* Answers the HTTP status that fits a store error (404, 409, 503 with Retry-After, 500). */
enum MHD_Result api_store_error(struct request *r, int rc, const char *what);
/* Optional integer field in [min, max]: 0 absent, 1 present (in *out), -1 answered 400. */
int api_json_int(struct request *r, json_t *obj, const char *key, int64_t min, int64_t max, int64_t *out);
/* Optional string field of at most maxlen octets: 0 absent, 1 present, -1 answered 400. */
int api_json_str(struct request *r, json_t *obj, const char *key, size_t maxlen, const char **out);
/* "Next-Poll" advice for a device, in seconds. */
int64_t api_next_poll(struct server *srv, const struct store_device *d);
/* Resolves the bearer token to a device, provider or gateway; answers 401 and returns -1 when
 * it fails. */
int api_auth_device(struct request *r, int64_t *device_id);
/* api_auth_device and store_device_poll in one store read (a fetch, ROUTE_SELF_AUTH): 0 with
 * r->principal_id, *d and *pending set, or -1 with 401 or the store's error answered. */
int api_auth_device_poll(struct request *r, uint64_t after, int64_t now_ms, struct store_device *d, int *pending);
int api_auth_provider(struct request *r, struct store_principal *p);
int api_auth_gateway(struct request *r, struct store_principal *p);
/* Authenticates a request of one API (API_PROVIDER, API_DEVICE or API_GATEWAY) before its body
 * is read: fills r->principal and r->principal_id, or answers 401 and returns -1. */
int api_authenticate(struct request *r, unsigned api);

/* Device tags (api_fleet.c): the "tags" field of a registration or change. */
struct api_tags {
	int present;
	int n;
	char tag[STORE_TAGS_MAX][STORE_TAG_MAX + 1];
};
/* Reads "tags" (absent: t->present 0); 0, or -1 answered 400. */
int api_tags_parse(struct request *r, json_t *body, struct api_tags *t);
/* Stores them as the device's tags; a store rc. */
int api_tags_store(struct request *r, int64_t provider_id, int64_t device_id, const struct api_tags *t);
/* Adds "tags": [...] to a device's JSON. */
void api_tags_add(struct request *r, json_t *j, int64_t device_id);
/* Reads a registration (POST /v1/devices, or one item of a bulk one) into a new device of the
 * provider r->principal with the server's defaults, and its tags; 0, or -1 answered 400. */
int api_device_read(struct request *r, json_t *obj, struct store_device *d, struct api_tags *tags);
/* Adds what a registration shows once to out: "token", the "wake_key" derived for the stored
 * device d, its "key_id" and the SMS "port". -1 when the key cannot be derived. */
int api_device_secrets(struct request *r, const struct store_device *d, const char *token, json_t *out);
/* A device as the provider API shows it (api_provider.c), tags included. */
json_t *api_device_json(struct request *r, const struct store_device *d);

/* A message as the provider API shows it (api.md, "Messages"). */
json_t *api_message_json(const struct store_message *m);
/* The same object as api_message_json's compact text, for a message whose content type, topic
 * and content coding are printable ASCII, written without building it: the length it needs
 * (without the NUL); it fits when that is below len. */
#define API_MESSAGE_JSON_MAX 640
size_t api_message_json_text(const struct store_message *m, char *out, size_t len);

#endif
