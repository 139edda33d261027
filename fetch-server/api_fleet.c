/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Provider API for fleets (api.md, "Fleets"): device tags, the device list with filters and
 * a cursor, batches (POST /v1/messages: one message to listed or tagged devices) and their
 * counts (GET /v1/batches/{id}). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_common.h"
#include "encode.h"
#include "util.h"

#define LIST_DEFAULT 100
#define LIST_MAX 1000

static int valid_tag(const char *t)
{
	size_t n = strlen(t);
	if (n == 0 || n > STORE_TAG_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = t[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		      c == '_' || c == '.' || c == ':'))
			return 0;
	}
	return 1;
}

int api_tags_parse(struct request *r, json_t *body, struct api_tags *t)
{
	json_t *a = json_object_get(body, "tags"), *v;
	size_t i;

	memset(t, 0, sizeof(*t));
	if (a == NULL)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > STORE_TAGS_MAX)
		goto bad;
	json_array_foreach (a, i, v) {
		const char *s = json_string_value(v);
		if (s == NULL || !valid_tag(s))
			goto bad;
		snprintf(t->tag[t->n++], STORE_TAG_MAX + 1, "%s", s);
	}
	t->present = 1;
	return 0;
bad:
	http_reply_error(r, 400, "invalid_tags",
			 "'tags' must be an array of at most %d tags of 1 to %d characters A-Z a-z 0-9 - _ . :",
			 STORE_TAGS_MAX, STORE_TAG_MAX);
	return -1;
}

int api_tags_store(struct request *r, int64_t provider_id, int64_t device_id, const struct api_tags *t)
{
	const char *p[STORE_TAGS_MAX];

	for (int i = 0; i < t->n; i++)
		p[i] = t->tag[i];
	return store_device_set_tags(r->srv->store, provider_id, device_id, p, t->n);
}

void api_tags_add(struct request *r, json_t *j, int64_t device_id)
{
	char tags[STORE_TAGS_MAX][STORE_TAG_MAX + 1];
	json_t *a = json_array();
	int n = 0;

	if (store_device_tags(r->srv->store, device_id, tags, &n) == STORE_OK)
		for (int i = 0; i < n; i++)
			json_array_append_new(a, json_string(tags[i]));
	json_object_set_new(j, "tags", a);
}

/* ---- GET /v1/devices ---- */

struct qcheck {
	const char *const *allowed;
	const char *unknown;
};

static enum MHD_Result check_key(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct qcheck *q = cls;
	(void)kind;
	(void)value;
	for (const char *const *a = q->allowed; *a; a++)
		if (strcmp(*a, key) == 0)
			return MHD_YES;
	q->unknown = key;
	return MHD_NO;
}

/* Answers 400 naming the first query parameter not in allowed; 0 when all are known. */
static int check_query(struct request *r, const char *const *allowed)
{
	struct qcheck q = {allowed, NULL};

	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, check_key, &q);
	if (q.unknown == NULL)
		return 0;
	http_reply_error(r, 400, "unknown_parameter", "unknown query parameter '%.64s'", q.unknown);
	return -1;
}

struct page {
	struct request *r;
	json_t *arr;
	int limit, n;
	int64_t last;
};

static int page_one(void *arg, const struct store_device *d)
{
	struct page *p = arg;
	if (p->n == p->limit)
		return 1; /* the one past the page: there is more */
	json_array_append_new(p->arr, api_device_json(p->r, d));
	p->last = d->id;
	p->n++;
	return 0;
}

enum MHD_Result api_device_list(struct request *r)
{
	static const char *const allowed[] = {"msisdn", "tag", "limit", "cursor", NULL};
	struct store_device_query q = {.provider_id = r->principal.id};
	const char *limit = http_query(r, "limit"), *cursor = http_query(r, "cursor");
	struct page p = {.r = r, .limit = LIST_DEFAULT};
	int64_t v;
	json_t *out;
	int rc;

	if (check_query(r, allowed) != 0)
		return MHD_YES;
	q.msisdn = http_query(r, "msisdn");
	q.tag = http_query(r, "tag");
	if (limit) {
		if (util_parse_i64(limit, 1, LIST_MAX, &v) != 0)
			return http_reply_error(r, 400, "invalid_parameter", "'limit' must be an integer from 1 to %d",
						LIST_MAX);
		p.limit = (int)v;
	}
	if (cursor && (util_parse_i64(cursor, 0, INT64_MAX, &q.after_id) != 0))
		return http_reply_error(r, 400, "invalid_parameter", "'cursor' must be a next_cursor of this list");
	if (q.tag && !valid_tag(q.tag))
		return http_reply_error(r, 400, "invalid_parameter", "'tag' is not a valid tag");
	q.limit = p.limit + 1;
	p.arr = json_array();
	rc = store_device_query(r->srv->store, &q, page_one, &p);
	if (rc != STORE_OK) {
		json_decref(p.arr);
		return api_store_error(r, rc, "device");
	}
	out = json_pack("{s:o}", "devices", p.arr);
	if (p.n == p.limit && json_array_size(p.arr) > 0) {
		char next[24];
		/* More may follow: the cursor is where this page ended. */
		snprintf(next, sizeof(next), "%lld", (long long)p.last);
		json_object_set_new(out, "next_cursor", json_string(next));
	} else {
		json_object_set_new(out, "next_cursor", json_null());
	}
	return http_reply_json(r, 200, out, NULL);
}

/* ---- POST /v1/messages, GET /v1/batches/{id} ---- */

static int valid_topic(const char *t)
{
	size_t n = strlen(t);
	if (n == 0 || n > STORE_TOPIC_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = t[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		      c == '_'))
			return 0;
	}
	return 1;
}

enum MHD_Result api_batch_submit(struct request *r)
{
	static const char *const allowed[] = {"to", "body", "content_type", "ttl", "urgency", "topic", NULL};
	struct store_batch_in in = {.urgency = URG_NORMAL, .ttl_s = r->srv->cfg.default_ttl_s};
	json_t *body = http_json_body(r), *to, *devs, *v;
	const char *b64 = NULL, *ctype = NULL, *urg = NULL, *topic = NULL, *tag = NULL;
	uint8_t msg[STORE_BODY_MAX];
	int64_t *ids = NULL, batch = 0, count = 0, ttl;
	long mlen = 0;
	char loc[64];
	size_t i;
	int rc;

	if (body == NULL)
		return MHD_YES;
	if (http_json_check_fields(r, body, allowed) != 0 ||
	    api_json_str(r, body, "body", 2 * STORE_BODY_MAX, &b64) < 0 ||
	    api_json_str(r, body, "content_type", STORE_CTYPE_MAX, &ctype) < 0 ||
	    api_json_str(r, body, "urgency", 16, &urg) < 0 ||
	    api_json_str(r, body, "topic", STORE_TOPIC_MAX, &topic) < 0)
		goto answered;
	if ((rc = api_json_int(r, body, "ttl", 0, INT32_MAX, &ttl)) < 0)
		goto answered;
	if (rc > 0)
		in.ttl_s = ttl;
	if (in.ttl_s > r->srv->cfg.max_ttl_s)
		in.ttl_s = r->srv->cfg.max_ttl_s;
	if (urg && (in.urgency = store_urgency_parse(urg)) < 0) {
		http_reply_error(r, 400, "invalid_urgency", "'urgency' must be very-low, low, normal or high");
		goto answered;
	}
	if (topic && !valid_topic(topic)) {
		http_reply_error(r, 400, "invalid_topic", "'topic' must be 1 to 32 base64url characters");
		goto answered;
	}
	if (b64 && (mlen = enc_unb64(b64, strlen(b64), msg, sizeof(msg), 0)) < 0) {
		http_reply_error(r, 400, "invalid_body", "'body' must be base64 of at most %d octets", STORE_BODY_MAX);
		goto answered;
	}
	to = json_object_get(body, "to");
	devs = json_object_get(to, "devices");
	if (!json_is_object(to) || json_object_size(to) != 1 ||
	    (devs == NULL && api_json_str(r, to, "tag", STORE_TAG_MAX, &tag) <= 0)) {
		if (r->status == 0)
			http_reply_error(r, 400, "invalid_field",
					 "'to' must be {\"devices\": [id, ...]} or {\"tag\": \"...\"}");
		goto answered;
	}
	if (tag && !valid_tag(tag)) {
		http_reply_error(r, 400, "invalid_field", "'to.tag' is not a valid tag");
		goto answered;
	}
	if (devs) {
		if (!json_is_array(devs) || json_array_size(devs) == 0 ||
		    json_array_size(devs) > STORE_BATCH_DEVICES_MAX) {
			http_reply_error(r, 400, "invalid_field", "'to.devices' must list 1 to %d device ids",
					 STORE_BATCH_DEVICES_MAX);
			goto answered;
		}
		ids = malloc(json_array_size(devs) * sizeof(*ids));
		if (ids == NULL) {
			http_reply_error(r, 500, "internal", "out of memory");
			goto answered;
		}
		json_array_foreach (devs, i, v) {
			if (!json_is_integer(v) || json_integer_value(v) <= 0) {
				http_reply_error(r, 400, "invalid_field", "'to.devices' must hold device ids");
				goto answered;
			}
			ids[i] = json_integer_value(v);
		}
		in.devices = ids;
		in.ndevices = json_array_size(devs);
	}
	in.tag = tag;
	in.topic = topic;
	in.content_type = ctype;
	in.body = msg;
	in.body_len = (size_t)mlen;
	rc = store_batch_put(r->srv->store, r->principal.id, &in, util_now_ms(), &batch, &count);
	json_decref(body);
	free(ids);
	if (rc == STORE_NOTFOUND)
		return http_reply_error(r, 404, "not_found", "a listed device is not one of this provider's");
	if (rc != STORE_OK)
		return api_store_error(r, rc, "batch");
	snprintf(loc, sizeof(loc), "/v1/batches/%lld", (long long)batch);
	return http_reply_json(r, 202,
			       json_pack("{s:I, s:I}", "batch", (json_int_t)batch, "messages", (json_int_t)count),
			       (const char *const[]){"Location", loc, NULL});
answered:
	json_decref(body);
	free(ids);
	return MHD_YES;
}

enum MHD_Result api_batch_get(struct request *r)
{
	int64_t counts[MSG_STATE_COUNT], total = 0, created = 0;
	char at[32];
	json_t *states;
	int rc = store_batch_get(r->srv->store, r->principal.id, r->id, counts, &total, &created);

	if (rc != STORE_OK)
		return api_store_error(r, rc, "batch");
	states = json_object();
	for (int s = 0; s < MSG_STATE_COUNT; s++)
		json_object_set_new(states, store_msg_state_name(s), json_integer(counts[s]));
	http_time(created, at);
	return http_reply_json(r, 200,
			       json_pack("{s:I, s:s, s:I, s:o}", "id", (json_int_t)r->id, "created_at", at, "messages",
					 (json_int_t)total, "states", states),
			       NULL);
}
