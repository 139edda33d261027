/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The connection to smswake-server: each request owns its body and its response buffer, which
 * conn_perform frees after the callback. The bearer token is in one header list, built once. */
#include "conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"

struct req {
	struct req *next;
	struct conn *c;
	CURL *easy;
	char *body;
	char *resp;
	size_t len, cap;
	int truncated;
	conn_done_fn done;
	void *arg;
};

struct conn {
	const struct gw_config *cfg;
	CURLM *multi;
	struct curl_slist *headers;
	struct req *reqs;
};

struct conn *conn_new(const struct gw_config *cfg)
{
	struct conn *c = calloc(1, sizeof(*c));
	char auth[200];

	if (c == NULL)
		return NULL;
	c->cfg = cfg;
	c->multi = curl_multi_init();
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", cfg->token);
	c->headers = curl_slist_append(NULL, auth);
	c->headers = curl_slist_append(c->headers, "Content-Type: application/json");
	c->headers = curl_slist_append(c->headers, "Expect:");
	explicit_bzero(auth, sizeof(auth));
	if (c->multi == NULL || c->headers == NULL) {
		conn_free(c);
		return NULL;
	}
	return c;
}

static void req_free(struct req *r)
{
	if (r->easy) {
		curl_multi_remove_handle(r->c->multi, r->easy);
		curl_easy_cleanup(r->easy);
	}
	free(r->body);
	free(r->resp);
	free(r);
}

void conn_free(struct conn *c)
{
	if (c == NULL)
		return;
	while (c->reqs) {
		struct req *r = c->reqs;
		c->reqs = r->next;
		req_free(r);
	}
	curl_slist_free_all(c->headers);
	if (c->multi)
		curl_multi_cleanup(c->multi);
	free(c);
}

static size_t on_data(char *p, size_t s, size_t n, void *arg)
{
	struct req *r = arg;
	size_t add = s * n, room = r->cap - r->len;

	if (add > room) {
		r->truncated = 1;
		add = room;
	}
	memcpy(r->resp + r->len, p, add);
	r->len += add;
	r->resp[r->len] = '\0';
	return s * n;
}

int conn_post(struct conn *c, const char *path, const char *body, int timeout_s, size_t cap, conn_done_fn done,
	      void *arg)
{
	char url[GW_URL_MAX + 64];
	struct req *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return -1;
	r->c = c;
	r->cap = cap;
	r->done = done;
	r->arg = arg;
	r->body = strdup(body);
	r->resp = malloc(cap + 1);
	r->easy = curl_easy_init();
	if (r->body == NULL || r->resp == NULL || r->easy == NULL) {
		req_free(r);
		return -1;
	}
	r->resp[0] = '\0';
	snprintf(url, sizeof(url), "%s%s", c->cfg->server, path);
	curl_easy_setopt(r->easy, CURLOPT_URL, url);
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, c->headers);
	curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->body);
	curl_easy_setopt(r->easy, CURLOPT_TIMEOUT, (long)timeout_s);
	curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
	if (c->cfg->ca_file[0])
		curl_easy_setopt(r->easy, CURLOPT_CAINFO, c->cfg->ca_file);
	if (curl_multi_add_handle(c->multi, r->easy) != CURLM_OK) {
		curl_easy_cleanup(r->easy);
		r->easy = NULL;
		req_free(r);
		return -1;
	}
	r->next = c->reqs;
	c->reqs = r;
	return 0;
}

/* Unlinks a finished request; the caller frees it after its callback. */
static void unlink_req(struct conn *c, struct req *r)
{
	for (struct req **p = &c->reqs; *p; p = &(*p)->next)
		if (*p == r) {
			*p = r->next;
			return;
		}
}

void conn_perform(struct conn *c)
{
	CURLMsg *msg;
	int running, left;

	curl_multi_perform(c->multi, &running);
	while ((msg = curl_multi_info_read(c->multi, &left)) != NULL) {
		struct req *r = NULL;
		struct conn_result res = {0};

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		if (r == NULL)
			continue;
		res.rc = msg->data.result;
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &res.status);
		res.body = r->resp;
		res.len = r->len;
		res.truncated = r->truncated;
		unlink_req(c, r);
		r->done(r->arg, &res);
		req_free(r);
	}
}

void conn_wait(struct conn *c, struct curl_waitfd *extra, int nextra, int timeout_ms)
{
	curl_multi_poll(c->multi, extra, (unsigned)nextra, timeout_ms, NULL);
}
