/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The request object handed to API handlers, and the ways to answer it. */
#ifndef SMSWAKE_HTTP_H
#define SMSWAKE_HTTP_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdint.h>

#include "server.h"

#define HTTP_JSON_MAX 16384      /* cap on JSON request bodies */
#define HTTP_PATH_MAX 256        /* longest path (without the query) a route can have */
#define HTTP_QUERY_MAX 512       /* longest query string */
#define HTTP_QUERY_PARAMS_MAX 16 /* most query parameters; routes take at most three */
/* A string literal and its length, for http_reply's body arguments. */
#define HTTP_LIT(s) s, sizeof(s) - 1

struct conn;
struct route;

struct request {
	struct server *srv;
	struct listener *lst;
	struct MHD_Connection *conn;
	struct conn *ct; /* the connection's accounting (conntrack.c); may be NULL */
	const char *method;
	char path[HTTP_PATH_MAX + 1]; /* the path exactly as sent: no percent-decoding */
	int reject;                   /* refused before routing: 414 (URI too large) */
	int called;                   /* the handler has been called for this request */
	int waiting;                  /* suspended in a long-poll and counted so (conntrack.c) */
	const struct route *rt;       /* the matched route (routes.c); NULL until routed */
	int route;                    /* its metrics slot (route_slot()); 0 when no route matched */
	int64_t id;                   /* {id} from the path */
	int64_t start_us;
	uint8_t *body;
	size_t body_len;
	size_t body_cap;
	size_t too_large;       /* octets discarded past the cap */
	int status;             /* answered status, for metrics */
	volatile int wake_flag; /* long-poll: 1 notified, 2 timed out */
	int waited;             /* long-poll: suspended at least once */
	int64_t wait_deadline_ms;
	int64_t principal_id;             /* provider, device or gateway id after authentication */
	struct store_principal principal; /* the provider or gateway, after authentication */
	uint64_t after;                   /* device fetch parameters kept across a long-poll */
	int max;
	/* A durable write queued with a store *_async verb: the connection is suspended until the
	 * group commits, then the route's handler is called again (http_write_begin). */
	int write_state; /* 0 none, 1 queued, 2 done: write_rc holds the store's result */
	int write_rc;
	void *write_ctx;               /* the route's state across the suspension; freed with the request */
	void (*write_free)(void *ctx); /* how write_ctx is freed (NULL: free) */
	int worker;                    /* the slot of the thread that suspended it (http.c); -1 none */
	struct request *resume_next;
	/* While a handler reads one item of an array in the body (item_key NULL: none), errors
	 * name it: "devices[3]: ..." in the message and "index": 3. */
	const char *item_key;
	size_t item;
};

/* Each queues a response and returns MHD_YES (or MHD_NO on an internal failure). */
enum MHD_Result http_reply(struct request *r, int status, const char *ctype, const void *body, size_t len,
			   const char *const *headers);
/* Serializes and releases j. */
enum MHD_Result http_reply_json(struct request *r, int status, json_t *j, const char *const *headers);
/* JSON error body {"error": code, "message": ...}, with "index" while an item is read. */
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

/* A long-poll is about to wait: 0, or -1 when its address already has its most waiting
 * long-polls (the caller answers at once instead). After 0, a wait that did not start must be
 * ended with http_wait_end; a resumed request is ended by the HTTP layer. */
int http_wait_begin(struct request *r);
void http_wait_end(struct request *r);

/* The HTTP threads of each listener: the configured count, or (threads = 0, the default) one
 * per core, at least 2 and at most 64. */
int http_threads(const struct server_config *cfg);

/* A write that waits for its group commit without holding a thread: http_write_begin suspends
 * the connection (call it before queuing the write) and http_write_done, the store_done_cb to
 * queue it with, resumes it; the handler is then called again with r->write_state == 2 and
 * r->write_rc, and answers. When the write could not be queued, call http_write_done(r, rc)
 * at once. */
void http_write_begin(struct request *r);
void http_write_done(void *arg, int rc);
/* 1 when the handler is called back after its write, with its result in *rc. */
int http_write_finished(struct request *r, int *rc);

/* jansson's integers are signed 64-bit; wake counters are unsigned 64-bit. A value made by
 * http_json_u64 is written by http_reply_json as a bare unsigned decimal. */
json_t *http_json_u64(uint64_t v);
/* Reads an unsigned 64-bit integer field of a body read by http_json_body (which lets integers
 * up to 2^64 - 1 through): 0 absent, 1 present (in *out), -1 answered 400. */
int http_json_get_u64(struct request *r, json_t *obj, const char *key, uint64_t *out);

/* Formats a time in milliseconds as RFC 3339 UTC with milliseconds into out (32 octets). */
void http_time(int64_t ms, char out[32]);

#endif
