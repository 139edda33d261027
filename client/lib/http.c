/* SPDX-License-Identifier: MIT */
/* HTTP for libsmswake: a small HTTP/1.1 client over a socket, with TLS from OpenSSL's libssl.
 *
 * Why not libcurl: a device needs a handful of requests to one server, and a distribution's
 * libcurl brings its whole world into the process (Debian's loads 34 shared libraries, GnuTLS and
 * Kerberos among them, before doing anything): 10.5 MiB resident for a fetch, against 8 MiB for
 * the whole client as its budget (docs/client.md, "Why its own HTTP"). What it does (http_internal.h
 * says which file does what):
 *   - one connection per handle, kept alive across an exchange (pages, ack) and reopened
 *     transparently when the server closed it while idle;
 *   - responses framed by Content-Length, chunked transfer coding or the end of the connection,
 *     heads and bodies bounded, anything else refused as a protocol error;
 *   - https with certificate and host name (or IP address) verification, TLS 1.2 at least,
 *     optional public-key pins in libcurl's syntax, SIGPIPE never raised;
 *   - retries with exponential back-off and jitter on network errors, 429 and 5xx, honouring
 *     Retry-After. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "crypto.h"
#include "http_internal.h"

/* Room for a page holding at least one largest message (base64 grows it by 4/3). */
static size_t body_limit(const smswake_t *h)
{
	return h->max_body * 2 + 64 * 1024;
}

void sw_http_free(struct sw_http *http)
{
	if (http == NULL)
		return;
	sw_conn_close(http);
	sw_tls_free(http);
	if (http->auth != NULL) {
		/* It holds the token. */
		OPENSSL_cleanse(http->auth, strlen(http->auth));
		free(http->auth);
	}
	free(http->host);
	free(http->hostport);
	free(http->prefix);
	free(http->rbuf);
	free(http);
}

static smswake_err http_setup(smswake_t *h)
{
	struct sw_http *http;
	size_t tl, hl;

	if (h->http != NULL)
		return SMSWAKE_OK;
	if (h->server == NULL || h->token == NULL)
		return sw_fail(h, SMSWAKE_ECONFIG, "server and token must be set to fetch");
	http = calloc(1, sizeof(*http));
	if (http == NULL)
		return sw_fail(h, SMSWAKE_ENOMEM, "out of memory");
	h->http = http;
	http->fd = -1;
	if (sw_http_parse_url(h->server, &http->tls, &http->host, http->port, sizeof(http->port), &http->prefix,
			      &http->host_is_ip) != 0)
		return sw_fail(h, SMSWAKE_ECONFIG, "server: not a usable http:// or https:// URL");
	hl = strlen(http->host);
	http->hostport = malloc(hl + sizeof(http->port) + 3);
	tl = strlen(h->token);
	http->auth = malloc(tl + sizeof("Authorization: Bearer \r\n"));
	http->rbuf = malloc(RBUF_SIZE);
	if (http->hostport == NULL || http->auth == NULL || http->rbuf == NULL)
		return sw_fail(h, SMSWAKE_ENOMEM, "out of memory");
	if (strcmp(http->port, http->tls ? "443" : "80") == 0)
		snprintf(http->hostport, hl + sizeof(http->port) + 3, strchr(http->host, ':') ? "[%s]" : "%s",
			 http->host);
	else
		snprintf(http->hostport, hl + sizeof(http->port) + 3, strchr(http->host, ':') ? "[%s]:%s" : "%s:%s",
			 http->host, http->port);
	snprintf(http->auth, tl + sizeof("Authorization: Bearer \r\n"), "Authorization: Bearer %s\r\n", h->token);
	http->max = body_limit(h);
	return SMSWAKE_OK;
}

static int retryable_status(long status)
{
	return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

/* Full-ish jitter: a random point in [d/2, d], so devices that failed together (a server restart)
 * do not come back together. */
static unsigned backoff_ms(const smswake_t *h, unsigned attempt)
{
	uint64_t d = h->retry_delay_ms;
	uint32_t r = 0;

	for (unsigned i = 0; i < attempt && d < h->retry_max_ms; i++)
		d *= 2;
	if (d > h->retry_max_ms)
		d = h->retry_max_ms;
	(void)crypto_random(&r, sizeof(r));
	return (unsigned)(d / 2 + (d - d / 2) * r / UINT32_MAX);
}

/* Returns -1 if a signal interrupted the sleep: the caller then stops retrying, so a daemon
 * asked to stop does not sit out the back-off. */
static int sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	return nanosleep(&ts, NULL) == 0 ? 0 : -1;
}

/* The request in one buffer: one write, one TLS record for a small request. */
static char *build_request(smswake_t *h, const struct sw_http *http, const char *method, const char *path,
			   const char *body, size_t *len)
{
	const char *ua = h->user_agent != NULL ? h->user_agent : "libsmswake/" SMSWAKE_VERSION;
	size_t bl = body != NULL ? strlen(body) : 0;
	size_t max = strlen(http->prefix) + strlen(path) + strlen(http->hostport) + strlen(ua) + strlen(http->auth) +
		     bl + 200;
	char *req = malloc(max);
	int n;

	if (req == NULL)
		return NULL;
	if (body != NULL)
		n = snprintf(req, max,
			     "%s %s%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n%sAccept: application/json\r\n"
			     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
			     method, http->prefix, path, http->hostport, ua, http->auth, bl, body);
	else
		n = snprintf(req, max,
			     "GET %s%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n%sAccept: application/json\r\n\r\n",
			     http->prefix, path, http->hostport, ua, http->auth);
	if (n < 0 || (size_t)n >= max) {
		free(req);
		return NULL;
	}
	*len = (size_t)n;
	return req;
}

/* One attempt: connects if needed, sends, reads the final response. A request sent on a kept-alive
 * connection that the server had already closed (nothing at all comes back) is sent once more on
 * a new connection: that is the normal end of an idle connection, not a failure. */
static enum io attempt(smswake_t *h, struct sw_http *http, const char *req, size_t len, int64_t deadline,
		       struct sw_response *resp)
{
	for (int again = 0;; again++) {
		int reused = http->fd >= 0, got_any = 0, close_after = 0;
		enum io rc = IO_OK;

		if (reused && !sw_conn_idle_ok(http)) {
			sw_conn_close(http);
			reused = 0;
		}
		if (!reused)
			rc = sw_conn_open(h, http, deadline);
		if (rc == IO_OK)
			rc = sw_conn_write(http, req, len, deadline);
		if (rc == IO_OK)
			rc = sw_http_read_response(http, deadline, resp, &got_any, &close_after);
		if (rc == IO_OK) {
			http->requests++;
			if (close_after)
				sw_conn_close(http);
			return IO_OK;
		}
		sw_conn_close(http);
		if (!(reused && !got_any && rc == IO_NET && again == 0))
			return rc;
	}
}

smswake_err sw_http_request(smswake_t *h, const char *path, const char *body, struct sw_response *resp)
{
	return sw_http_request_method(h, body != NULL ? "POST" : "GET", path, body, resp);
}

smswake_err sw_http_request_method(smswake_t *h, const char *method, const char *path, const char *body,
				   struct sw_response *resp)
{
	struct sw_http *http;
	smswake_err err = http_setup(h);
	size_t len = 0;
	char *req;

	memset(resp, 0, sizeof(*resp));
	resp->next_poll = resp->retry_after = -1;
	if (err != SMSWAKE_OK)
		return err;
	http = h->http;
	req = build_request(h, http, method, path, body, &len);
	if (req == NULL)
		return sw_fail(h, SMSWAKE_ENOMEM, "out of memory");

	for (unsigned n = 0;; n++) {
		int64_t deadline = sw_now_ms() + (int64_t)(h->timeout + (body == NULL ? h->wait : 0)) * 1000;
		enum io rc;
		unsigned delay;

		sw_response_free(resp);
		memset(resp, 0, sizeof(*resp));
		resp->next_poll = resp->retry_after = -1;
		rc = attempt(h, http, req, len, deadline, resp);
		if (rc == IO_LARGE) {
			resp->too_large = 1;
			err = sw_fail(h, SMSWAKE_EPROTO, "%s", http->err);
			break;
		}
		if (rc == IO_PROTO) {
			err = sw_fail(h, SMSWAKE_EPROTO, "%s: %s", http->hostport, http->err);
			break;
		}
		if (rc == IO_FATAL) {
			err = sw_fail(h, SMSWAKE_ENETWORK, "%s", http->err);
			break;
		}
		if (rc == IO_OK && !retryable_status(resp->status)) {
			err = SMSWAKE_OK;
			break;
		}
		if (rc != IO_OK)
			err = sw_fail(h, SMSWAKE_ENETWORK, "%s", http->err);
		else
			err = sw_fail(h, SMSWAKE_ENETWORK, "HTTP %ld", resp->status);
		if (n >= h->retries)
			break;
		if (rc == IO_OK && resp->retry_after >= 0) {
			/* The server knows best, unless it asks for more than we are willing to wait
			 * now: then give up and let the caller reschedule. */
			if ((unsigned long)resp->retry_after * 1000 > h->retry_max_ms)
				break;
			delay = (unsigned)resp->retry_after * 1000;
		} else {
			delay = backoff_ms(h, n);
		}
		if (sleep_ms(delay) != 0) {
			err = sw_fail(h, SMSWAKE_ENETWORK, "interrupted while waiting to retry");
			break;
		}
	}
	if (err != SMSWAKE_OK)
		sw_response_free(resp);
	OPENSSL_cleanse(req, len);
	free(req);
	return err;
}

smswake_err sw_http_read_fd(smswake_t *h, int fd, struct sw_response *resp, int *keep_alive)
{
	static char peer[] = "peer";
	struct sw_http http = {.fd = fd, .hostport = peer};
	int64_t deadline = sw_now_ms() + (int64_t)h->timeout * 1000;
	int got_any = 0, close_after = 0;
	enum io rc;

	memset(resp, 0, sizeof(*resp));
	resp->next_poll = resp->retry_after = -1;
	http.max = body_limit(h);
	http.rbuf = malloc(RBUF_SIZE);
	if (http.rbuf == NULL)
		return sw_fail(h, SMSWAKE_ENOMEM, "out of memory");
	rc = sw_http_read_response(&http, deadline, resp, &got_any, &close_after);
	free(http.rbuf);
	*keep_alive = !close_after;
	if (rc == IO_OK)
		return SMSWAKE_OK;
	resp->too_large = rc == IO_LARGE;
	sw_response_free(resp);
	return sw_fail(h, rc == IO_LARGE || rc == IO_PROTO ? SMSWAKE_EPROTO : SMSWAKE_ENETWORK, "%s", http.err);
}
