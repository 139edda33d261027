/* SPDX-License-Identifier: MIT */
/* A tiny in-test implementation of the smswake device API (GET /v1/device/messages, POST
 * /v1/device/ack) on libmicrohttpd, bound to 127.0.0.1 on an ephemeral port, with a queue model
 * and scripted answers, so the client tests do not need the real server. */
#ifndef TEST_CLIENT_SERVER_H
#define TEST_CLIENT_SERVER_H

#include <stddef.h>
#include <stdint.h>

#define TS_TOKEN "test-device-token"
#define TS_MAX_MSGS 256
#define TS_MAX_LOG 256
#define TS_MAX_SCRIPT 32

struct ts_server;

/* Starts the server; ts_url gives "http://127.0.0.1:PORT". */
struct ts_server *ts_start(void);
void ts_stop(struct ts_server *ts);
const char *ts_url(const struct ts_server *ts);

/* Queues a message for the device (seq must increase); body is raw text. */
void ts_add_message(struct ts_server *ts, uint64_t seq, const char *body, const char *topic);
/* The same with any octets as body and a content_encoding (NULL: none). */
void ts_add_message_raw(struct ts_server *ts, uint64_t seq, const uint8_t *body, size_t len, const char *encoding);
/* The body of the last PUT /v1/device/push-keys, "" if none (the server answers 200 with the
 * last queued seq). */
const char *ts_push_keys(struct ts_server *ts);
/* Server behaviour knobs. */
void ts_set_page_cap(struct ts_server *ts, unsigned cap); /* most messages per page */
void ts_set_ignore_after(struct ts_server *ts, int on);   /* answer every unacked message */
void ts_set_next_poll(struct ts_server *ts, int seconds);
/* The next requests get these answers instead of the model's, in order (headers: "Name: value"
 * lines separated by '\n', or NULL). status 0 closes the connection without answering; -1 lets
 * the model answer that request. */
void ts_script(struct ts_server *ts, int status, const char *body, const char *headers);

/* What the server saw. */
size_t ts_nrequests(struct ts_server *ts);
/* "GET /v1/device/messages?after=0&max=50" or "POST /v1/device/ack {...}" */
const char *ts_request(struct ts_server *ts, size_t i);
unsigned ts_connections(struct ts_server *ts);
uint64_t ts_acked(struct ts_server *ts);
uint64_t ts_wake_ctr(struct ts_server *ts);

#endif
