/* SPDX-License-Identifier: MIT */
/* In-test device API server for the libsmswake tests; see test_client_server.h. */
#include "test_client_server.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <microhttpd.h>

#include "encode.h"

struct ts_msg {
	uint64_t seq;
	char *body;
	size_t len;
	char *topic;
	char *encoding; /* content_encoding, NULL for plain */
};

struct ts_reply {
	int status;
	char *body;
	char *headers;
};

struct ts_server {
	struct MHD_Daemon *d;
	char url[64];
	pthread_mutex_t mu;
	struct ts_msg msgs[TS_MAX_MSGS];
	size_t nmsgs;
	uint64_t acked, wake_ctr;
	unsigned page_cap;
	int ignore_after, next_poll;
	struct ts_reply script[TS_MAX_SCRIPT];
	size_t nscript, script_pos;
	char *log[TS_MAX_LOG];
	size_t nlog;
	unsigned connections;
	char push_keys[256]; /* the last PUT /v1/device/push-keys body */
};

struct req {
	char *body;
	size_t len;
};

static void add_headers(struct MHD_Response *r, const char *headers)
{
	char buf[512], *line, *save = NULL;

	if (headers == NULL)
		return;
	snprintf(buf, sizeof(buf), "%s", headers);
	for (line = strtok_r(buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(line, ':');
		if (colon == NULL)
			continue;
		*colon = '\0';
		MHD_add_response_header(r, line, colon + 1 + (colon[1] == ' '));
	}
}

static enum MHD_Result reply(struct MHD_Connection *c, int status, const char *body, const char *headers, int next_poll)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(body ? strlen(body) : 0, (void *)(body ? body : ""),
								 MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;
	char np[32];

	if (body != NULL && body[0] != '\0')
		MHD_add_response_header(r, "Content-Type", "application/json");
	if (next_poll >= 0) {
		snprintf(np, sizeof(np), "%d", next_poll);
		MHD_add_response_header(r, "Next-Poll", np);
	}
	add_headers(r, headers);
	ret = MHD_queue_response(c, (unsigned)status, r);
	MHD_destroy_response(r);
	return ret;
}

static void log_request(struct ts_server *ts, const char *method, const char *url, struct MHD_Connection *c,
			const char *body)
{
	char line[1024];
	const char *after = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "after");
	const char *max = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "max");
	const char *wait = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "wait");

	if (strcmp(method, "GET") == 0)
		snprintf(line, sizeof(line), "GET %s?after=%s&max=%s%s%s", url, after ? after : "-", max ? max : "-",
			 wait ? "&wait=" : "", wait ? wait : "");
	else
		snprintf(line, sizeof(line), "%s %s %s", method, url, body ? body : "");
	if (ts->nlog < TS_MAX_LOG)
		ts->log[ts->nlog++] = strdup(line);
}

static enum MHD_Result model_get(struct ts_server *ts, struct MHD_Connection *c)
{
	const char *after_s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "after");
	const char *max_s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "max");
	uint64_t after = after_s ? strtoull(after_s, NULL, 10) : 0;
	unsigned max = max_s ? (unsigned)strtoul(max_s, NULL, 10) : 50, n = 0;
	json_t *root = json_object(), *arr = json_array();
	int more = 0;
	enum MHD_Result ret;
	char *text;

	if (ts->page_cap > 0 && max > ts->page_cap)
		max = ts->page_cap;
	for (size_t i = 0; i < ts->nmsgs; i++) {
		struct ts_msg *m = &ts->msgs[i];
		size_t bl = m->len;
		char *b64;
		json_t *o;

		if (m->seq <= ts->acked || (!ts->ignore_after && m->seq <= after))
			continue;
		if (n == max) {
			more = 1;
			break;
		}
		b64 = malloc(ENC_B64_LEN(bl));
		enc_b64((const uint8_t *)m->body, bl, b64, 0);
		o = json_pack("{s:I,s:I,s:s,s:s,s:s}", "id", (json_int_t)(1000 + m->seq), "seq", (json_int_t)m->seq,
			      "urgency", "normal", "content_type", "text/plain", "body", b64);
		if (m->topic != NULL)
			json_object_set_new(o, "topic", json_string(m->topic));
		if (m->encoding != NULL)
			json_object_set_new(o, "content_encoding", json_string(m->encoding));
		json_array_append_new(arr, o);
		free(b64);
		n++;
	}
	if (n == 0) {
		json_decref(arr);
		json_decref(root);
		return reply(c, 204, NULL, NULL, ts->next_poll);
	}
	json_object_set_new(root, "messages", arr);
	json_object_set_new(root, "more", json_boolean(more));
	json_object_set_new(root, "next_poll", json_integer(ts->next_poll));
	text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	ret = reply(c, 200, text, NULL, ts->next_poll);
	free(text);
	return ret;
}

/* The value of "wake_ctr" as an unsigned 64-bit decimal, read from the text: jansson's integers
 * are signed and refuse the upper half of the counter's range. The digits are then replaced by a
 * 0 in the copy jansson parses. 0 if absent or not a plain number. */
static uint64_t ack_wake_ctr(char *body)
{
	char *p = strstr(body, "\"wake_ctr\":");
	uint64_t v = 0;

	if (p == NULL)
		return 0;
	p += 11;
	for (char *q = p; *q >= '0' && *q <= '9'; q++) {
		if (v > (UINT64_MAX - (uint64_t)(*q - '0')) / 10)
			return 0;
		v = v * 10 + (uint64_t)(*q - '0');
		*q = q == p ? '0' : ' ';
	}
	return v;
}

static enum MHD_Result model_ack(struct ts_server *ts, struct MHD_Connection *c, const char *body, size_t len)
{
	char *copy = malloc(len + 1);
	json_t *root = NULL, *seq;
	uint64_t ctr = 0;

	if (copy != NULL) {
		memcpy(copy, body, len);
		copy[len] = '\0';
		ctr = ack_wake_ctr(copy);
		root = json_loadb(copy, len, 0, NULL);
		free(copy);
	}
	seq = json_object_get(root, "seq");
	if (!json_is_integer(seq)) {
		json_decref(root);
		return reply(c, 400, "{\"error\":\"bad ack\"}", NULL, -1);
	}
	if ((uint64_t)json_integer_value(seq) > ts->acked)
		ts->acked = (uint64_t)json_integer_value(seq);
	if (ctr > ts->wake_ctr)
		ts->wake_ctr = ctr;
	json_decref(root);
	return reply(c, 204, NULL, NULL, ts->next_poll);
}

/* Keeps the keys; answers with the last seq queued before them, as the server does. */
static enum MHD_Result model_push_keys(struct ts_server *ts, struct MHD_Connection *c, const char *body)
{
	char answer[64];

	snprintf(ts->push_keys, sizeof(ts->push_keys), "%s", body);
	snprintf(answer, sizeof(answer), "{\"seq\":%" PRIu64 "}", ts->nmsgs > 0 ? ts->msgs[ts->nmsgs - 1].seq : 0);
	return reply(c, 200, answer, NULL, -1);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *upload, size_t *upload_size, void **req_cls)
{
	struct ts_server *ts = cls;
	struct req *rq = *req_cls;
	const char *auth;
	enum MHD_Result ret;

	(void)version;
	if (rq == NULL) {
		rq = calloc(1, sizeof(*rq));
		*req_cls = rq;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		rq->body = realloc(rq->body, rq->len + *upload_size + 1);
		memcpy(rq->body + rq->len, upload, *upload_size);
		rq->len += *upload_size;
		rq->body[rq->len] = '\0';
		*upload_size = 0;
		return MHD_YES;
	}

	pthread_mutex_lock(&ts->mu);
	log_request(ts, method, url, c, rq->body);
	if (ts->script_pos < ts->nscript && ts->script[ts->script_pos].status < 0) {
		ts->script_pos++; /* this one gets the model's answer */
	} else if (ts->script_pos < ts->nscript) {
		struct ts_reply *s = &ts->script[ts->script_pos++];
		if (s->status == 0) {
			pthread_mutex_unlock(&ts->mu);
			return MHD_NO; /* drop the connection */
		}
		ret = reply(c, s->status, s->body, s->headers, -1);
		pthread_mutex_unlock(&ts->mu);
		return ret;
	}
	auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	if (auth == NULL || strcmp(auth, "Bearer " TS_TOKEN) != 0)
		ret = reply(c, 401, "{\"error\":\"unauthorized\"}", NULL, -1);
	else if (strcmp(method, "GET") == 0 && strcmp(url, "/v1/device/messages") == 0)
		ret = model_get(ts, c);
	else if (strcmp(method, "POST") == 0 && strcmp(url, "/v1/device/ack") == 0)
		ret = model_ack(ts, c, rq->body ? rq->body : "", rq->len);
	else if (strcmp(method, "PUT") == 0 && strcmp(url, "/v1/device/push-keys") == 0)
		ret = model_push_keys(ts, c, rq->body ? rq->body : "");
	else
		ret = reply(c, 404, "{\"error\":\"not found\"}", NULL, -1);
	pthread_mutex_unlock(&ts->mu);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls, enum MHD_RequestTerminationCode toe)
{
	struct req *rq = *req_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (rq != NULL) {
		free(rq->body);
		free(rq);
		*req_cls = NULL;
	}
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
			  enum MHD_ConnectionNotificationCode code)
{
	struct ts_server *ts = cls;

	(void)c;
	(void)socket_ctx;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		pthread_mutex_lock(&ts->mu);
		ts->connections++;
		pthread_mutex_unlock(&ts->mu);
	}
}

struct ts_server *ts_start(void)
{
	struct ts_server *ts = calloc(1, sizeof(*ts));
	struct sockaddr_in sa;
	const union MHD_DaemonInfo *info;

	pthread_mutex_init(&ts->mu, NULL);
	ts->next_poll = 900;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = 0;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ts->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, ts,
				 MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED,
				 on_completed, ts, MHD_OPTION_NOTIFY_CONNECTION, on_connection, ts, MHD_OPTION_END);
	if (ts->d == NULL) {
		free(ts);
		return NULL;
	}
	info = MHD_get_daemon_info(ts->d, MHD_DAEMON_INFO_BIND_PORT);
	snprintf(ts->url, sizeof(ts->url), "http://127.0.0.1:%u", (unsigned)info->port);
	return ts;
}

void ts_stop(struct ts_server *ts)
{
	if (ts == NULL)
		return;
	MHD_stop_daemon(ts->d);
	for (size_t i = 0; i < ts->nmsgs; i++) {
		free(ts->msgs[i].body);
		free(ts->msgs[i].topic);
		free(ts->msgs[i].encoding);
	}
	for (size_t i = 0; i < ts->nscript; i++) {
		free(ts->script[i].body);
		free(ts->script[i].headers);
	}
	for (size_t i = 0; i < ts->nlog; i++)
		free(ts->log[i]);
	pthread_mutex_destroy(&ts->mu);
	free(ts);
}

const char *ts_url(const struct ts_server *ts)
{
	return ts->url;
}

void ts_add_message(struct ts_server *ts, uint64_t seq, const char *body, const char *topic)
{
	ts_add_message_raw(ts, seq, (const uint8_t *)body, strlen(body), NULL);
	if (topic != NULL) {
		pthread_mutex_lock(&ts->mu);
		ts->msgs[ts->nmsgs - 1].topic = strdup(topic);
		pthread_mutex_unlock(&ts->mu);
	}
}

void ts_add_message_raw(struct ts_server *ts, uint64_t seq, const uint8_t *body, size_t len, const char *encoding)
{
	pthread_mutex_lock(&ts->mu);
	if (ts->nmsgs < TS_MAX_MSGS) {
		struct ts_msg *m = &ts->msgs[ts->nmsgs];

		m->seq = seq;
		m->body = malloc(len + 1);
		memcpy(m->body, body, len);
		m->body[len] = '\0';
		m->len = len;
		m->topic = NULL;
		m->encoding = encoding ? strdup(encoding) : NULL;
		ts->nmsgs++;
	}
	pthread_mutex_unlock(&ts->mu);
}

const char *ts_push_keys(struct ts_server *ts)
{
	return ts->push_keys;
}

void ts_set_page_cap(struct ts_server *ts, unsigned cap)
{
	pthread_mutex_lock(&ts->mu);
	ts->page_cap = cap;
	pthread_mutex_unlock(&ts->mu);
}

void ts_set_ignore_after(struct ts_server *ts, int on)
{
	pthread_mutex_lock(&ts->mu);
	ts->ignore_after = on;
	pthread_mutex_unlock(&ts->mu);
}

void ts_set_next_poll(struct ts_server *ts, int seconds)
{
	pthread_mutex_lock(&ts->mu);
	ts->next_poll = seconds;
	pthread_mutex_unlock(&ts->mu);
}

void ts_script(struct ts_server *ts, int status, const char *body, const char *headers)
{
	pthread_mutex_lock(&ts->mu);
	if (ts->nscript < TS_MAX_SCRIPT) {
		ts->script[ts->nscript].status = status;
		ts->script[ts->nscript].body = body ? strdup(body) : NULL;
		ts->script[ts->nscript].headers = headers ? strdup(headers) : NULL;
		ts->nscript++;
	}
	pthread_mutex_unlock(&ts->mu);
}

size_t ts_nrequests(struct ts_server *ts)
{
	size_t n;

	pthread_mutex_lock(&ts->mu);
	n = ts->nlog;
	pthread_mutex_unlock(&ts->mu);
	return n;
}

const char *ts_request(struct ts_server *ts, size_t i)
{
	const char *s;

	pthread_mutex_lock(&ts->mu);
	s = i < ts->nlog ? ts->log[i] : "";
	pthread_mutex_unlock(&ts->mu);
	return s;
}

unsigned ts_connections(struct ts_server *ts)
{
	unsigned n;

	pthread_mutex_lock(&ts->mu);
	n = ts->connections;
	pthread_mutex_unlock(&ts->mu);
	return n;
}

uint64_t ts_acked(struct ts_server *ts)
{
	uint64_t n;

	pthread_mutex_lock(&ts->mu);
	n = ts->acked;
	pthread_mutex_unlock(&ts->mu);
	return n;
}

uint64_t ts_wake_ctr(struct ts_server *ts)
{
	uint64_t n;

	pthread_mutex_lock(&ts->mu);
	n = ts->wake_ctr;
	pthread_mutex_unlock(&ts->mu);
	return n;
}
