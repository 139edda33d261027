/* SPDX-License-Identifier: MIT */
/* libsmswake's HTTP client, shared between its files (internal.h has what the rest of the library,
 * the tests and the fuzz target use):
 *   http_url.c       the server's base URL
 *   http_conn.c      clock and deadline, TCP connection, reading and writing on it
 *   http_tls.c       TLS over that connection: trust anchors, verification, public-key pins
 *   http_parse.c     response heads and chunk-size lines (pure parsers, no I/O)
 *   http_response.c  one response read from a connection: interim heads, the three framings
 *   http.c           requests: building them, attempts on a kept-alive connection, retries
 *
 * Every operation on a connection takes an absolute deadline (a CLOCK_MONOTONIC time in
 * milliseconds, from sw_now_ms), set once per attempt and checked before every read and write,
 * not only while waiting: a server that keeps sending (interim heads without end, octet by octet)
 * cannot hold a request past it. */
#ifndef SMSWAKE_HTTP_INTERNAL_H
#define SMSWAKE_HTTP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "internal.h"

#define HEAD_MAX (16 * 1024) /* status line and headers of one response */
#define LINE_MAX_CHUNK 256   /* a chunk-size line with its extensions */
#define RBUF_SIZE (16 * 1024)

/* Outcome of one I/O step or one attempt. */
enum io {
	IO_OK = 0,
	IO_NET = -1,     /* network failure: retryable */
	IO_TIMEOUT = -2, /* deadline passed: retryable */
	IO_FATAL = -3,   /* not worth retrying (TLS verification, pin, bad URL): message set */
	IO_PROTO = -4,   /* the server's answer broke HTTP: message set */
	IO_LARGE = -5,   /* the body exceeded the limit */
};

struct sw_http {
	/* the server, parsed from h->server once */
	int tls;
	char *host;     /* without brackets, for getaddrinfo, SNI and verification */
	char *hostport; /* the Host header's value */
	char port[8];
	char *prefix; /* path before /v1/..., "" if none */
	int host_is_ip;
	char *auth; /* "Authorization: Bearer ...\r\n" */

	/* the connection */
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	BIO_METHOD *bio_meth;
	unsigned requests; /* answered on this connection */

	/* received and not yet consumed */
	char *rbuf;
	size_t rpos, rlen;

	size_t max; /* body limit */
	char err[SW_ERRMSG_MAX];
};

/* http_conn.c */
int64_t sw_now_ms(void);
int sw_deadline_passed(int64_t deadline);
/* Records the detail of a failure in http->err and returns rc. */
enum io sw_http_fail(struct sw_http *http, enum io rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Waits for events on fd until the deadline: IO_OK, IO_TIMEOUT or IO_NET. */
enum io sw_wait_fd(int fd, short events, int64_t deadline);
/* Connects (and, for https, runs the TLS handshake) before the deadline. */
enum io sw_conn_open(smswake_t *h, struct sw_http *http, int64_t deadline);
void sw_conn_close(struct sw_http *http);
enum io sw_conn_write(struct sw_http *http, const char *buf, size_t len, int64_t deadline);
/* Reads more into rbuf (compacting it first). IO_OK with at least one new octet, or IO_NET with
 * eof set when the server closed the connection cleanly, or IO_TIMEOUT once the deadline has
 * passed, whether or not octets are waiting. */
enum io sw_conn_fill(struct sw_http *http, int64_t deadline, int *eof);
/* Whether a kept-alive connection can carry the next request. */
int sw_conn_idle_ok(struct sw_http *http);

/* http_tls.c */
enum io sw_tls_handshake(smswake_t *h, struct sw_http *http, int64_t deadline);
/* Frees the TLS context and the socket BIO method (the connection's SSL goes with it). */
void sw_tls_free(struct sw_http *http);

/* http_response.c: reads one final response (skipping 1xx). *got_any tells whether any octet
 * arrived, which decides whether a request on a reused connection can be sent again. */
enum io sw_http_read_response(struct sw_http *http, int64_t deadline, struct sw_response *resp, int *got_any,
			      int *close_after);

#endif
