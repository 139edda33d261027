/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The gateway's connection to smswake-server: authenticated JSON POSTs over one libcurl multi
 * handle, driven by the gateway's loop. Lease long-polls and reports share it. */
#ifndef SMSWAKE_GW_CONN_H
#define SMSWAKE_GW_CONN_H

#include <curl/curl.h>
#include <stddef.h>

struct gw_config;
struct conn;

/* A finished request: rc is libcurl's result, status the HTTP status (0 if none), body the
 * response (NUL-terminated, at most the request's cap octets; truncated says it was longer). */
struct conn_result {
	CURLcode rc;
	long status;
	const char *body;
	size_t len;
	int truncated;
};
typedef void (*conn_done_fn)(void *arg, const struct conn_result *res);

/* NULL on failure. The configuration must outlive the connection. */
struct conn *conn_new(const struct gw_config *cfg);
/* Cancels what is in flight (no callbacks) and frees everything. NULL is fine. */
void conn_free(struct conn *c);
/* Starts a POST of body (copied) to the server's path. done runs from conn_perform, once.
 * Returns 0, or -1 (nothing started, done never runs). */
int conn_post(struct conn *c, const char *path, const char *body, int timeout_s, size_t cap, conn_done_fn done,
	      void *arg);
/* Moves the transfers on and runs the callbacks of those that finished. */
void conn_perform(struct conn *c);
/* Sleeps until network activity, one of the extra descriptors, or timeout_ms. */
void conn_wait(struct conn *c, struct curl_waitfd *extra, int nextra, int timeout_ms);

#endif
