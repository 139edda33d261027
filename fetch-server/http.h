/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The request object handed to API handlers, and the ways to answer it. */
#ifndef SMSWAKE_HTTP_H
#define SMSWAKE_HTTP_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdint.h>

#include "server.h"

#define HTTP_JSON_MAX 16384 /* cap on JSON request bodies */
/* A string literal and its length, for http_reply's body arguments. */
#define HTTP_LIT(s) s, sizeof(s) - 1

struct request {
	struct server *srv;
	struct listener *lst;
	struct MHD_Connection *conn;
	const char *method;
	int route;
	int64_t id; /* {id} from the path */
	int64_t start_us;
	uint8_t *body;
	size_t body_len;
	size_t body_cap;
	size_t too_large;       /* octets discarded past the cap */
	int status;             /* answered status, for metrics */
	volatile int wake_flag; /* long-poll: 1 notified, 2 timed out */
	int waited;             /* long-poll: suspended at least once */
	int64_t wait_deadline_ms;
	int64_t principal_id; /* provider, device or gateway id after authentication */
	uint64_t after;       /* device fetch parameters kept across a long-poll */
	int max;
};

/* Each queues a response and returns MHD_YES (or MHD_NO on an internal failure). */
enum MHD_Result http_reply(struct request *r, int status, const char *ctype, const void *body, size_t len,
			   const char *const *headers);
/* Serializes and releases j. */
enum MHD_Result http_reply_json(struct request *r, int status, json_t *j, const char *const *headers);
/* JSON error body {"error": code, "message": ...}. */
enum MHD_Result http_reply_error(struct request *r, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Parses the request body as a JSON object. On failure it has already answered 400 or 415 and
 * returns NULL. */
json_t *http_json_body(struct request *r);
/* Answers 400 and returns -1 if obj has a key not in the NULL-terminated list allowed. */
int http_json_check_fields(struct request *r, json_t *obj, const char *const *allowed);

const char *http_header(struct request *r, const char *name);
const char *http_query(struct request *r, const char *name);
/* Extracts the bearer token; answers 401 and returns NULL when missing or malformed. */
const char *http_bearer(struct request *r);

/* api_*.c */
enum MHD_Result api_provider(struct request *r);
enum MHD_Result api_device(struct request *r);
enum MHD_Result api_gateway(struct request *r);
enum MHD_Result api_ops(struct request *r);

/* Formats a time in milliseconds as RFC 3339 UTC with milliseconds into out (32 octets). */
void http_time(int64_t ms, char out[32]);

#endif
