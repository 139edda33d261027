/* SPDX-License-Identifier: MIT */
/* HTTP for libsmswake: one libcurl easy handle per smswake handle, reused so an exchange (fetch
 * pages, ack) runs over one kept-alive connection; bounded response bodies; retries with
 * exponential back-off and jitter on network errors, 429 and 5xx, honouring Retry-After. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "crypto.h"
#include "internal.h"

struct sw_http {
	CURL *curl;
	struct curl_slist *get_headers, *post_headers;
	char *buf;
	size_t len, max;
	int overflow;
	long next_poll, retry_after;
};

void sw_response_free(struct sw_response *r)
{
	if (r != NULL) {
		free(r->body);
		r->body = NULL;
		r->body_len = 0;
	}
}

void sw_http_free(struct sw_http *http)
{
	if (http == NULL)
		return;
	if (http->curl != NULL)
		curl_easy_cleanup(http->curl);
	/* The Authorization header holds the token. */
	for (struct curl_slist *l = http->get_headers; l != NULL; l = l->next)
		memset(l->data, 0, strlen(l->data));
	for (struct curl_slist *l = http->post_headers; l != NULL; l = l->next)
		memset(l->data, 0, strlen(l->data));
	curl_slist_free_all(http->get_headers);
	curl_slist_free_all(http->post_headers);
	free(http->buf);
	free(http);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct sw_http *http = arg;
	size_t n = size * nmemb;
	char *p;

	if (n > http->max - http->len) {
		http->overflow = 1;
		return 0; /* makes libcurl fail with CURLE_WRITE_ERROR */
	}
	p = realloc(http->buf, http->len + n + 1);
	if (p == NULL)
		return 0;
	http->buf = p;
	memcpy(http->buf + http->len, data, n);
	http->len += n;
	http->buf[http->len] = '\0';
	return n;
}

/* Whole non-negative decimal seconds; Retry-After may also be an HTTP date. */
static long header_seconds(const char *v, size_t n, int allow_date)
{
	char tmp[64];
	long s = 0;
	size_t i;

	while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
		n--;
	while (n > 0 && (*v == ' ' || *v == '\t'))
		v++, n--;
	if (n == 0 || n >= sizeof(tmp))
		return -1;
	for (i = 0; i < n && v[i] >= '0' && v[i] <= '9'; i++) {
		if (s > 100000000)
			return -1;
		s = s * 10 + (v[i] - '0');
	}
	if (i == n)
		return s;
	if (!allow_date)
		return -1;
	memcpy(tmp, v, n);
	tmp[n] = '\0';
	{
		time_t t = curl_getdate(tmp, NULL), now = time(NULL);
		if (t < 0)
			return -1;
		return t > now ? (long)(t - now) : 0;
	}
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct sw_http *http = arg;
	size_t n = size * nmemb;

	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		/* A new response (after a 1xx or a retry): forget the previous one's headers. */
		http->next_poll = -1;
		http->retry_after = -1;
	} else if (n > 10 && strncasecmp(data, "Next-Poll:", 10) == 0) {
		http->next_poll = header_seconds(data + 10, n - 10, 0);
	} else if (n > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
		http->retry_after = header_seconds(data + 12, n - 12, 1);
	}
	return n;
}

static smswake_err http_setup(smswake_t *h)
{
	struct sw_http *http;
	char *auth;
	size_t tl;
	CURL *c;

	if (h->http != NULL)
		return SMSWAKE_OK;
	if (h->server == NULL || h->token == NULL)
		return sw_fail(h, SMSWAKE_ECONFIG, "server and token must be set to fetch");
	http = calloc(1, sizeof(*http));
	if (http == NULL)
		return sw_fail(h, SMSWAKE_ENOMEM, "out of memory");
	h->http = http;
	http->curl = c = curl_easy_init();
	tl = strlen(h->token);
	auth = malloc(tl + sizeof("Authorization: Bearer "));
	if (c == NULL || auth == NULL) {
		free(auth);
		return sw_fail(h, SMSWAKE_ENOMEM, "out of memory");
	}
	memcpy(auth, "Authorization: Bearer ", sizeof("Authorization: Bearer ") - 1);
	memcpy(auth + sizeof("Authorization: Bearer ") - 1, h->token, tl + 1);
	http->get_headers = curl_slist_append(NULL, auth);
	http->get_headers = curl_slist_append(http->get_headers, "Accept: application/json");
	http->post_headers = curl_slist_append(NULL, auth);
	http->post_headers = curl_slist_append(http->post_headers, "Accept: application/json");
	http->post_headers = curl_slist_append(http->post_headers, "Content-Type: application/json");
	http->post_headers = curl_slist_append(http->post_headers, "Expect:");
	memset(auth, 0, tl);
	free(auth);
	if (http->get_headers == NULL || http->post_headers == NULL)
		return sw_fail(h, SMSWAKE_ENOMEM, "out of memory");

	/* Room for a page holding at least one largest message (base64 grows it by 4/3). */
	http->max = h->max_body * 2 + 64 * 1024;
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)h->connect_timeout);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, http);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, http);
	curl_easy_setopt(c, CURLOPT_USERAGENT, h->user_agent != NULL ? h->user_agent : "libsmswake/" SMSWAKE_VERSION);
	if (h->ca_file != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_file);
	if (h->ca_path != NULL)
		curl_easy_setopt(c, CURLOPT_CAPATH, h->ca_path);
	if (h->pinned_pubkey != NULL && curl_easy_setopt(c, CURLOPT_PINNEDPUBLICKEY, h->pinned_pubkey) != CURLE_OK)
		return sw_fail(h, SMSWAKE_ECONFIG, "pinned_pubkey is not supported by this libcurl");
	return SMSWAKE_OK;
}

static int retryable_curl(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR: return 1;
	default: return 0;
	}
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

smswake_err sw_http_request(smswake_t *h, const char *path, const char *body, struct sw_response *resp)
{
	struct sw_http *http;
	char *url;
	size_t sl, pl;
	smswake_err err = http_setup(h);
	CURL *c;

	memset(resp, 0, sizeof(*resp));
	resp->next_poll = resp->retry_after = -1;
	if (err != SMSWAKE_OK)
		return err;
	http = h->http;
	c = http->curl;
	sl = strlen(h->server);
	pl = strlen(path);
	url = malloc(sl + pl + 1);
	if (url == NULL)
		return sw_fail(h, SMSWAKE_ENOMEM, "out of memory");
	memcpy(url, h->server, sl);
	memcpy(url + sl, path, pl + 1);
	curl_easy_setopt(c, CURLOPT_URL, url);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, http->post_headers);
		curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)h->timeout);
	} else {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, http->get_headers);
		curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)(h->timeout + h->wait));
	}

	for (unsigned attempt = 0;; attempt++) {
		CURLcode rc;
		long status = 0;
		unsigned delay;

		free(http->buf);
		http->buf = NULL;
		http->len = 0;
		http->overflow = 0;
		http->next_poll = http->retry_after = -1;
		rc = curl_easy_perform(c);
		if (rc == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		resp->status = status;
		resp->next_poll = http->next_poll;
		resp->retry_after = http->retry_after;
		if (rc == CURLE_WRITE_ERROR && http->overflow) {
			resp->too_large = 1;
			err = sw_fail(h, SMSWAKE_EPROTO, "response larger than %zu octets", http->max);
			break;
		}
		if (rc != CURLE_OK && !retryable_curl(rc)) {
			err = sw_fail(h, SMSWAKE_ENETWORK, "%s", curl_easy_strerror(rc));
			break;
		}
		if (rc == CURLE_OK && !retryable_status(status)) {
			resp->body = http->buf != NULL ? http->buf : strdup("");
			resp->body_len = http->len;
			http->buf = NULL;
			err = resp->body != NULL ? SMSWAKE_OK : sw_fail(h, SMSWAKE_ENOMEM, "out of memory");
			break;
		}
		if (rc != CURLE_OK)
			err = sw_fail(h, SMSWAKE_ENETWORK, "%s", curl_easy_strerror(rc));
		else
			err = sw_fail(h, SMSWAKE_ENETWORK, "HTTP %ld", status);
		if (attempt >= h->retries)
			break;
		if (http->retry_after >= 0) {
			/* The server knows best, unless it asks for more than we are willing to wait
			 * now: then give up and let the caller reschedule. */
			if ((unsigned long)http->retry_after * 1000 > h->retry_max_ms)
				break;
			delay = (unsigned)http->retry_after * 1000;
		} else {
			delay = backoff_ms(h, attempt);
		}
		if (sleep_ms(delay) != 0) {
			err = sw_fail(h, SMSWAKE_ENETWORK, "interrupted while waiting to retry");
			break;
		}
	}
	free(url);
	return err;
}
