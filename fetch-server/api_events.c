/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Provider API: GET /v1/events, the provider's events as Server-Sent Events (api.md, "Event
 * stream"). A stream with nothing to send is suspended in libmicrohttpd (longpoll.c) and looks
 * again after a second or at its heartbeat: no thread per stream. Each event carries its id;
 * a client that reconnects with Last-Event-ID gets what came after it, for as long as the store
 * keeps events ([webhooks] event_retention). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_common.h"
#include "longpoll.h"
#include "util.h"
#include "webhooks.h"

#define STREAM_BUF 65536
#define STREAM_BATCH 100
#define STREAM_LOOK_MS 1000

struct stream {
	struct server *srv;
	struct MHD_Connection *conn;
	int64_t provider_id;
	int64_t last_id;
	int64_t next_heartbeat_ms;
	char *buf;
	size_t len, off;
	volatile int flag;
};

static int add_event(void *arg, const struct store_event_out *e)
{
	struct stream *s = arg;
	char *body = webhooks_event_body(e);
	int n;

	if (body == NULL)
		return 1;
	n = snprintf(s->buf + s->len, STREAM_BUF - s->len, "id: %" PRId64 "\nevent: %s\ndata: %s\n\n", e->id, e->type,
		     body);
	free(body);
	if (n < 0 || (size_t)n >= STREAM_BUF - s->len) {
		s->buf[s->len] = '\0';
		return 1; /* no room: the rest comes with the next read */
	}
	s->len += (size_t)n;
	s->last_id = e->id;
	return 0;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct stream *s = cls;
	(void)pos;

	for (;;) {
		if (s->off < s->len) {
			size_t n = s->len - s->off < max ? s->len - s->off : max;
			memcpy(out, s->buf + s->off, n);
			s->off += n;
			return (ssize_t)n;
		}
		s->off = s->len = 0;
		if (s->srv->stopping)
			return MHD_CONTENT_READER_END_OF_STREAM;
		uint64_t gen = longpoll_generation(s->srv->event_waits);
		if (store_events_after(s->srv->store, s->provider_id, s->last_id, STREAM_BATCH, add_event, s) !=
		    STORE_OK)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (s->len > 0)
			continue;
		int64_t now = util_mono_ms();
		if (now >= s->next_heartbeat_ms) {
			s->len = (size_t)snprintf(s->buf, STREAM_BUF, ": heartbeat\n\n");
			s->next_heartbeat_ms = now + s->srv->cfg.webhooks.heartbeat_s * 1000;
			continue;
		}
		int64_t until =
			now + STREAM_LOOK_MS < s->next_heartbeat_ms ? now + STREAM_LOOK_MS : s->next_heartbeat_ms;
		int rc = longpoll_wait(s->srv->event_waits, s->conn, s->provider_id, until, gen, &s->flag);
		if (rc == 0)
			return 0; /* suspended; called again once resumed */
		if (rc < 0)
			return MHD_CONTENT_READER_END_OF_STREAM;
	}
}

static void stream_free(void *cls)
{
	struct stream *s = cls;
	free(s->buf);
	free(s);
}

enum MHD_Result api_events(struct request *r)
{
	const char *accept = http_header(r, MHD_HTTP_HEADER_ACCEPT);
	const char *last = http_header(r, "Last-Event-ID");
	struct MHD_Response *resp;
	struct stream *s;
	int64_t after = 0, oldest = 0;
	enum MHD_Result ret;
	int rc;

	if (r->srv->event_waits == NULL)
		return http_reply_error(r, 503, "unavailable", "the event stream is not running");
	if (accept == NULL || strstr(accept, "text/event-stream") == NULL)
		return http_reply_error(r, 406, "not_acceptable", "this route answers Accept: text/event-stream");
	if (last != NULL && util_parse_i64(last, 0, INT64_MAX, &after) != 0)
		return http_reply_error(r, 400, "invalid_header",
					"'Last-Event-ID' must be an event id from this stream");
	if (last == NULL) {
		/* A new stream starts with what happens from now on. */
		rc = store_events_last(r->srv->store, r->principal.id, &after);
		if (rc != STORE_OK)
			return api_store_error(r, rc, "event");
	} else {
		rc = store_events_oldest(r->srv->store, r->principal.id, &oldest);
		if (rc != STORE_OK)
			return api_store_error(r, rc, "event");
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL || (s->buf = malloc(STREAM_BUF)) == NULL) {
		free(s);
		return http_reply_error(r, 500, "internal", "out of memory");
	}
	s->srv = r->srv;
	s->conn = r->conn;
	s->provider_id = r->principal.id;
	s->last_id = after;
	s->next_heartbeat_ms = util_mono_ms() + r->srv->cfg.webhooks.heartbeat_s * 1000;
	/* The retry hint, and a gap when events after Last-Event-ID are no longer kept. */
	s->len = (size_t)snprintf(s->buf, STREAM_BUF, "retry: 2000\n\n");
	if (last != NULL && oldest > after + 1)
		s->len += (size_t)snprintf(s->buf + s->len, STREAM_BUF - s->len,
					   "event: gap\ndata: {\"after\":%" PRId64 ",\"oldest\":%" PRId64 "}\n\n",
					   after, oldest);
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, s, stream_free);
	if (resp == NULL) {
		stream_free(s);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(resp, "X-Accel-Buffering", "no");
	r->status = 200;
	ret = MHD_queue_response(r->conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}
