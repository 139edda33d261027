/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers for integration tests: run smswake-server in a private directory on an ephemeral
 * port, make HTTP requests with libcurl, and speak raw HTTP when a test needs malformed input. */
#ifndef SMSWAKE_TESTSRV_H
#define SMSWAKE_TESTSRV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct testsrv {
	char dir[256];
	char conf[300];
	char bin[256]; /* directory with the programs */
	pid_t pid;
	int port;
	char provider_key[128];
	char gateway_key[128];
	char pg_dsn[768]; /* the server's PostgreSQL database (SMSWAKE_TEST_PG_DSN), "" on SQLite */
};

struct http_resp {
	long status;
	char *body; /* NUL-terminated, owned; free with http_resp_free */
	size_t body_len;
	char headers[4096];
};

/* Creates a private directory with a configuration (extra lines appended to [server]) and
 * a provider and gateway key. Returns 0 or -1. */
int testsrv_init(struct testsrv *ts, const char *extra_server_conf);
/* Starts the server and waits until /healthz answers. */
int testsrv_start(struct testsrv *ts);
/* SIGTERM (graceful) or SIGKILL, then waits for it. */
void testsrv_stop(struct testsrv *ts, int sig);
/* Stops it if running and removes the directory. */
void testsrv_cleanup(struct testsrv *ts);
/* A test group's set-up and tear-down: libcurl, then testsrv_init and testsrv_start (0 or -1);
 * testsrv_cleanup, then libcurl's clean-up. */
int testsrv_suite_start(struct testsrv *ts, const char *extra_server_conf);
int testsrv_suite_stop(struct testsrv *ts);
/* Runs smswakectl with the server's config; output (first line) into out. */
int testsrv_ctl(struct testsrv *ts, const char *args, char *out, size_t outlen);

/* One request. headers: NULL-terminated list of "Name: value". body may be NULL. */
int http_do(struct testsrv *ts, const char *method, const char *path, const char *token, const char *const *headers,
	    const void *body, size_t body_len, struct http_resp *resp);
void http_resp_free(struct http_resp *resp);
/* The value of a response header (case-insensitive), copied into out; 0 if found. */
int http_resp_header(const struct http_resp *resp, const char *name, char *out, size_t outlen);

/* Sends raw bytes on a new connection and reads the reply until the peer closes or timeout_ms
 * passes; returns the status code of the first response line, 0 when the connection closed
 * without an answer, -1 on error. */
int raw_http(int port, const char *req, size_t len, int timeout_ms, char *reply, size_t replylen);
int raw_connect(int port);
/* Connects from the local address src (any 127.0.0.0/8 address plays another client); with
 * nonblock the connect is started and the socket returned at once. -1 on error. */
int raw_connect_from(int port, const char *src, int nonblock);
/* Sends all of req, then reads until the peer closes or timeout_ms passes; returns the number of
 * octets read into reply (NUL-terminated), -1 on error. *closed is set to 1 when the peer closed. */
int raw_exchange(int port, const char *req, size_t len, int timeout_ms, char *reply, size_t replylen, int *closed);
/* Counts the HTTP status lines ("HTTP/1.x NNN") in a reply, wherever they start (a response
 * may follow the previous one's body directly). */
int raw_status_lines(const char *reply);

/* Raises this process's open file limit to its hard limit (children inherit it); returns it. */
long testsrv_raise_nofile(void);
/* The value of a /metrics line that starts with name (labels included), or -1. */
double testsrv_metric(struct testsrv *ts, const char *name);
/* Starts a server whose configuration has extra lines appended to [server] (a fresh directory
 * each time): testsrv_init + testsrv_start. */
int testsrv_launch(struct testsrv *ts, const char *extra_server_conf);

/* Creates a device for the provider and fills id and token; returns 0. */
int testsrv_device(struct testsrv *ts, const char *msisdn, int64_t *id, char *token, size_t toklen);

#endif
