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
/* A device as the provider API shows it (api_provider.c), tags included. */
json_t *api_device_json(struct request *r, const struct store_device *d);

#endif
