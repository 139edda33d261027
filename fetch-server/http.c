/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libmicrohttpd glue: listeners, per-request state, body limits, routing, replies. Bodies are
 * read here with a cap (never MHD's post processor); handlers see a complete request. */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api_common.h"
#include "conntrack.h"
#include "json_u64.h"
#include "log.h"
#include "longpoll.h"
#include "metrics.h"
#include "routes.h"
#include "util.h"

#define DISCARD_MAX (64 * 1024)

/* Requests whose handler has been called and whose response has not ended: a graceful stop
 * waits for them. */
static int active_requests;
/* Writes queued by suspended requests whose store callback has not finished resuming them. */
static int pending_writes;

/* Resuming a connection writes to its worker thread's event descriptor, which wakes that thread.
 * Done by the store's writer for each committed write, that took a quarter of the writer's time
 * and woke each thread several times a group. So the writer resumes one connection of a thread
 * (and marks the thread signalled); the thread's other finished writes wait in its list, and the
 * thread resumes them itself the next time it runs one of the callbacks below: the resumed
 * connection's, at the latest. The writer adds to a list only while its thread is signalled,
 * that is before the thread's next look at it, so no write waits for a look that does not
 * come. A thread past WORKER_SLOTS has no list: its writes are each resumed by the writer. */
#define WORKER_SLOTS 256
struct resume_list {
	pthread_mutex_t mu;
	int signalled;
	struct request *head, **tail;
};
static struct resume_list resume_lists[WORKER_SLOTS];
static int worker_slots;
static __thread int my_slot = -1;

static int worker_slot(void)
{
	if (my_slot < 0) {
		int s = __atomic_fetch_add(&worker_slots, 1, __ATOMIC_RELAXED);
		my_slot = s < WORKER_SLOTS ? s : WORKER_SLOTS;
		if (my_slot < WORKER_SLOTS) {
			struct resume_list *l = &resume_lists[my_slot];
			pthread_mutex_init(&l->mu, NULL);
			l->tail = &l->head;
			__atomic_store_n(&l->signalled, 0, __ATOMIC_RELEASE);
		}
	}
	return my_slot < WORKER_SLOTS ? my_slot : -1;
}

static void resume_now(struct request *r)
{
	/* r may be gone once the connection runs again: nothing of it is touched after this. */
	MHD_resume_connection(r->conn);
	__atomic_sub_fetch(&pending_writes, 1, __ATOMIC_RELEASE);
}

static void resume_list_run(struct resume_list *l)
{
	struct request *r, *next;

	pthread_mutex_lock(&l->mu);
	r = l->head;
	l->head = NULL;
	l->tail = &l->head;
	__atomic_store_n(&l->signalled, 0, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&l->mu);
	for (; r != NULL; r = next) {
		next = r->resume_next;
		resume_now(r);
	}
}

/* On a worker thread, from each callback: resumes what the writer left to this thread. */
static void resume_mine(void)
{
	int s = worker_slot();

	if (s >= 0 && __atomic_load_n(&resume_lists[s].signalled, __ATOMIC_ACQUIRE))
		resume_list_run(&resume_lists[s]);
}

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Without gmtime_r, which takes glibc's time zone lock on every call: the proleptic Gregorian
 * date of a day count since 1970-01-01, in 400-year eras of 146097 days (each starting on
 * 1 March, so that a leap day ends its year). */
void http_time(int64_t ms, char out[32])
{
	int64_t secs = ms / 1000, msec = ms % 1000, days, sod;

	if (msec < 0) {
		msec += 1000;
		secs--;
	}
	days = secs / 86400;
	sod = secs % 86400;
	if (sod < 0) {
		sod += 86400;
		days--;
	}
	days += 719468; /* from 0000-03-01 */
	int64_t era = (days >= 0 ? days : days - 146096) / 146097;
	int64_t doe = days - era * 146097;                                   /* [0, 146096] */
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365] */
	int64_t mp = (5 * doy + 2) / 153;                                    /* [0, 11], March first */
	int64_t d = doy - (153 * mp + 2) / 5 + 1;
	int64_t m = mp < 10 ? mp + 3 : mp - 9;
	int64_t y = yoe + era * 400 + (m <= 2);

	/* RFC 3339 has four-digit years: a time outside them is shown at its bound. */
	if (y < 0 || y > 9999) {
		snprintf(out, 32, "%s", y < 0 ? "0000-01-01T00:00:00.000Z" : "9999-12-31T23:59:59.999Z");
		return;
	}
	/* Digit by digit: three of these answer each submit, and snprintf cost more than the rest. */
	const int64_t part[7] = {y, m, d, sod / 3600, sod / 60 % 60, sod % 60, msec};
	static const char width[7] = {4, 2, 2, 2, 2, 2, 3}, after[7] = {'-', '-', 'T', ':', ':', '.', 'Z'};
	char *p = out;

	for (int i = 0; i < 7; i++) {
		int64_t v = part[i];
		for (int k = width[i] - 1; k >= 0; k--) {
			p[k] = (char)('0' + v % 10);
			v /= 10;
		}
		p += width[i];
		*p++ = after[i];
	}
	*p = '\0';
}

enum MHD_Result http_reply(struct request *r, int status, const char *ctype, const void *body, size_t len,
			   const char *const *headers)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	if (ctype)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	for (const char *const *h = headers; h && h[0]; h += 2)
		MHD_add_response_header(resp, h[0], h[1]);
	if (r->srv->stopping && MHD_get_response_header(resp, MHD_HTTP_HEADER_CONNECTION) == NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	r->status = status;
	ret = MHD_queue_response(r->conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

enum MHD_Result http_reply_json(struct request *r, int status, json_t *j, const char *const *headers)
{
	char *s = json_u64_dumps(j, JSON_COMPACT);
	enum MHD_Result ret;

	json_decref(j);
	if (s == NULL)
		return MHD_NO;
	ret = http_reply(r, status, "application/json", s, strlen(s), headers);
	free(s);
	return ret;
}

enum MHD_Result http_reply_error(struct request *r, int status, const char *code, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	json_t *j;
	int n = 0;

	if (r->item_key != NULL)
		n = snprintf(msg, sizeof(msg), "%s[%zu]: ", r->item_key, r->item);
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	j = json_pack("{s:s, s:s}", "error", code, "message", msg);
	if (r->item_key != NULL)
		json_object_set_new(j, "index", json_integer((json_int_t)r->item));
	return http_reply_json(r, status, j, NULL);
}

const char *http_header(struct request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *http_query(struct request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_bearer(struct request *r)
{
	const char *a = http_header(r, MHD_HTTP_HEADER_AUTHORIZATION);

	if (a == NULL) {
		http_reply(r, 401, "application/json",
			   HTTP_LIT("{\"error\":\"unauthorized\",\"message\":\"missing Authorization: Bearer token\"}"),
			   (const char *const[]){"WWW-Authenticate", "Bearer", NULL});
		return NULL;
	}
	if (strncasecmp(a, "Bearer ", 7) != 0 || a[7] == '\0' || strlen(a + 7) > 256) {
		http_reply(r, 401, "application/json",
			   HTTP_LIT("{\"error\":\"unauthorized\",\"message\":\"malformed Authorization header\"}"),
			   (const char *const[]){"WWW-Authenticate", "Bearer", NULL});
		return NULL;
	}
	return a + 7;
}

json_t *http_json_u64(uint64_t v)
{
	return json_u64_new(v);
}

int http_json_get_u64(struct request *r, json_t *obj, const char *key, uint64_t *out)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL)
		return 0;
	if (json_u64_value(v, out) != 0) {
		http_reply_error(r, 400, "invalid_field", "'%s' must be an integer from 0 to 18446744073709551615",
				 key);
		return -1;
	}
	return 1;
}

json_t *http_json_body(struct request *r)
{
	const char *ct = http_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
	json_error_t jerr;
	json_t *j;
	char *text;
	size_t len;

	if (ct != NULL && strncasecmp(ct, "application/json", 16) != 0) {
		http_reply_error(r, 415, "unsupported_media_type", "expected Content-Type: application/json");
		return NULL;
	}
	if (r->body_len == 0) {
		http_reply_error(r, 400, "bad_request", "a JSON object body is required");
		return NULL;
	}
	/* Integers up to 2^64 - 1 (wake counters) get through jansson as strings of digits. */
	text = json_u64_lift((const char *)r->body, r->body_len, &len);
	if (text == NULL) {
		http_reply_error(r, 500, "internal", "out of memory");
		return NULL;
	}
	j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	free(text);
	if (j == NULL) {
		http_reply_error(r, 400, "bad_json", "malformed JSON at line %d column %d: %s", jerr.line, jerr.column,
				 jerr.text);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		http_reply_error(r, 400, "bad_json", "the body must be a JSON object");
		return NULL;
	}
	return j;
}

int http_json_check_fields(struct request *r, json_t *obj, const char *const *allowed)
{
	const char *key;
	json_t *v;

	json_object_foreach (obj, key, v) {
		const char *const *a = allowed;
		while (*a && strcmp(*a, key) != 0)
			a++;
		if (*a == NULL) {
			http_reply_error(r, 400, "unknown_field", "unknown field '%.64s'", key);
			return -1;
		}
	}
	return 0;
}

/* RFC 9110 token characters: what a header name may be made of. */
static int is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Walks the request head as libmicrohttpd 0.9.75 leaves it in its read buffer: it parses the
 * head in place, turning each CR and LF of a line end and the colon after a name into NUL, and
 * points method, version, names and values into that buffer. A head sent with CRLF line ends
 * and no folded line is then, exactly: version, NUL NUL, and for each field its name, NUL,
 * optional blanks, its value, NUL NUL; then NUL NUL for the empty line. A bare LF leaves one
 * NUL where two belong; a folded line makes libmicrohttpd copy the field elsewhere, so its name
 * is not where the walk expects it. Either way the walk fails. */
struct head_walk {
	const char *cur, *end;
	int bad;
	int content_length, transfer_encoding;
};

static int two_nuls(const struct head_walk *w)
{
	return w->end - w->cur >= 2 && w->cur[0] == '\0' && w->cur[1] == '\0';
}

static enum MHD_Result walk_field(void *cls, enum MHD_ValueKind kind, const char *key, size_t klen, const char *value,
				  size_t vlen)
{
	struct head_walk *w = cls;
	(void)kind;

	if (w->bad)
		return MHD_NO;
	/* A name is a token (no blank before the colon, none inside); a value has no control
	 * character but HTAB. */
	if (klen == 0)
		w->bad = 1;
	for (size_t i = 0; i < klen && !w->bad; i++)
		if (!is_tchar((unsigned char)key[i]))
			w->bad = 1;
	for (size_t i = 0; i < vlen && !w->bad; i++)
		if (((unsigned char)value[i] < 0x20 && value[i] != '\t') || value[i] == 0x7f)
			w->bad = 1;
	if (w->bad)
		return MHD_NO;
	if (klen == 14 && strncasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH, 14) == 0)
		w->content_length++;
	else if (klen == 17 && strncasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING, 17) == 0)
		w->transfer_encoding++;
#if MHD_VERSION == 0x00097500
	if (key != w->cur || w->end - w->cur < (ptrdiff_t)klen + 1 || w->cur[klen] != '\0') {
		w->bad = 1;
		return MHD_NO;
	}
	w->cur += klen + 1;
	while (w->cur < w->end && (*w->cur == ' ' || *w->cur == '\t'))
		w->cur++;
	if (value != w->cur || w->end - w->cur < (ptrdiff_t)vlen) {
		w->bad = 1;
		return MHD_NO;
	}
	w->cur += vlen;
	if (!two_nuls(w)) {
		w->bad = 1;
		return MHD_NO;
	}
	w->cur += 2;
#endif
	return MHD_YES;
}

/* 0 when the head is well formed (docs/security.md, "Request smuggling"), else -1. */
static int check_head(struct request *r, const char *method, const char *version, struct head_walk *w)
{
	memset(w, 0, sizeof(*w));
#if MHD_VERSION == 0x00097500
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
	size_t vlen = strlen(version);

	if (ci == NULL || ci->header_size == 0 || version < method || version + vlen > method + ci->header_size)
		return -1;
	w->end = method + ci->header_size;
	w->cur = version + vlen;
	if (!two_nuls(w))
		return -1;
	w->cur += 2;
#else
	(void)method;
	(void)version;
#endif
	MHD_get_connection_values_n(r->conn, MHD_HEADER_KIND, walk_field, w);
	if (w->bad)
		return -1;
#if MHD_VERSION == 0x00097500
	if (!two_nuls(w) || w->cur + 2 != w->end)
		return -1;
#endif
	return 0;
}

/* An early error that also ends the connection: what follows the head cannot be trusted. */
static enum MHD_Result reply_close(struct request *r, int status, const char *code, const char *msg)
{
	return http_reply_json(r, status, json_pack("{s:s, s:s}", "error", code, "message", msg),
			       (const char *const[]){MHD_HTTP_HEADER_CONNECTION, "close", NULL});
}

/* First call for a request: check the head, route it, authenticate it and refuse what can be
 * refused before a body is read, so that "Expect: 100-continue" gets its 100 only when the body
 * would be taken. */
static enum MHD_Result first_call(struct request *r, const char *method, const char *version)
{
	struct head_walk hw;
	const struct route *rt;
	unsigned allowed;
	char allow[64];
	const char *cl;

	r->called = 1;
	__atomic_add_fetch(&active_requests, 1, __ATOMIC_RELAXED);
	if (r->reject == 414)
		return reply_close(r, 414, "uri_too_long",
				   "the path or the query is too long, or has too many parameters");
	if (check_head(r, method, version, &hw) != 0)
		return reply_close(r, 400, "bad_request",
				   "malformed request head (blank or control character in a header, folded line or "
				   "bare LF)");
	if (hw.content_length > 1)
		return reply_close(r, 400, "bad_request", "more than one Content-Length header");
	if (hw.content_length && hw.transfer_encoding)
		return reply_close(r, 400, "bad_request", "Content-Length together with Transfer-Encoding");
	rt = route_match(r->path, route_method_bit(method), r->lst->cfg->apis, &r->id, &allowed);
	if (allowed == 0)
		return http_reply_error(r, 404, "not_found", "no such route");
	if (rt == NULL) {
		route_allow_header(allowed, allow, sizeof(allow));
		return http_reply_json(r, 405,
				       json_pack("{s:s, s:s}", "error", "method_not_allowed", "message",
						 "method not allowed on this route"),
				       (const char *const[]){"Allow", allow, NULL});
	}
	r->rt = rt;
	r->route = route_slot(rt);
	r->body_cap = rt->body_max;
	cl = http_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl) {
		int64_t n;
		if (util_parse_i64(cl, 0, INT64_MAX, &n) != 0 || cl[0] == '-')
			return reply_close(r, 400, "bad_request", "invalid Content-Length");
		if ((uint64_t)n > r->body_cap)
			return http_reply_error(r, 413, "too_large", "body larger than %zu octets", r->body_cap);
	}
	if (rt->api != 0 && !(rt->flags & ROUTE_SELF_AUTH) && api_authenticate(r, rt->api) != 0)
		return MHD_YES; /* 401 answered */
	return MHD_YES;
}

static enum MHD_Result dispatch(struct request *r)
{
	conntrack_request_done(r->srv->conns, r->ct);
	return r->rt->handler(r);
}

static struct request *request_new(struct listener *lst, struct MHD_Connection *conn)
{
	struct request *r = calloc(1, sizeof(*r));
	const union MHD_ConnectionInfo *ci;

	if (r == NULL)
		return NULL;
	r->srv = lst->srv;
	r->lst = lst;
	r->conn = conn;
	r->start_us = now_us();
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	r->ct = ci ? ci->socket_context : NULL;
	return r;
}

/* Called by libmicrohttpd with the request target exactly as sent, once the request line is in
 * and before it decodes or parses anything of it; what it returns becomes the request's state.
 * The path is kept as sent, so that routing matches it exactly ("/v1/devices/2%00x" is no
 * device 2). */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct request *r = request_new(cls, conn);
	const char *q;
	size_t plen;

	if (r == NULL)
		return NULL;
	q = strchr(uri, '?');
	plen = q ? (size_t)(q - uri) : strlen(uri);
	if (plen > HTTP_PATH_MAX)
		r->reject = 414;
	else
		memcpy(r->path, uri, plen);
	if (q != NULL) {
		size_t params = q[1] != '\0';
		for (const char *p = q + 1; *p; p++)
			params += *p == '&';
		if (params > HTTP_QUERY_PARAMS_MAX || strlen(q + 1) > HTTP_QUERY_MAX) {
			/* libmicrohttpd 0.9.75 stores every parameter in the connection's memory pool and,
			 * when the pool runs out half way, leaves the connection without an answer until
			 * its timeout. The request is refused anyway: end the query before it is parsed
			 * (uri points into libmicrohttpd's writable read buffer). */
			r->reject = 414;
			((char *)q)[1] = '\0';
		}
	}
	return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **req_cls)
{
	struct request *r = *req_cls;
	(void)cls;
	(void)conn;
	(void)url;

	resume_mine();
	if (r == NULL) {
		/* on_uri could not allocate: refuse rather than route an unchecked path. */
		return MHD_NO;
	}
	if (!r->called) {
		r->method = method;
		return first_call(r, method, version);
	}
	if (r->waiting)
		http_wait_end(r);
	if (__atomic_load_n(&r->write_state, __ATOMIC_ACQUIRE) == 1)
		return MHD_YES; /* still waiting for its commit (not called while suspended) */
	if (r->status != 0) {
		/* Already answered (early error): swallow whatever body still arrives. */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (r->too_large || r->body_len + *upload_data_size > r->body_cap) {
			/* libmicrohttpd cannot answer in the middle of a body, so a chunked body over the
			 * cap is discarded until it ends and then answered 413; past DISCARD_MAX the
			 * connection is simply closed. */
			r->too_large += *upload_data_size;
			*upload_data_size = 0;
			return r->too_large > DISCARD_MAX ? MHD_NO : MHD_YES;
		}
		if (r->body == NULL) {
			r->body = malloc(r->body_cap ? r->body_cap : 1);
			if (r->body == NULL)
				return MHD_NO;
		}
		memcpy(r->body + r->body_len, upload_data, *upload_data_size);
		r->body_len += *upload_data_size;
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (r->too_large)
		return http_reply_error(r, 413, "too_large", "body larger than %zu octets", r->body_cap);
	return dispatch(r);
}

int http_wait_begin(struct request *r)
{
	if (conntrack_wait_begin(r->srv->conns, r->ct) != 0)
		return -1;
	r->waiting = 1;
	return 0;
}

void http_wait_end(struct request *r)
{
	if (!r->waiting)
		return;
	conntrack_wait_end(r->srv->conns, r->ct);
	r->waiting = 0;
}

void http_write_begin(struct request *r)
{
	__atomic_add_fetch(&pending_writes, 1, __ATOMIC_RELAXED);
	r->write_state = 1;
	r->worker = worker_slot();
	MHD_suspend_connection(r->conn);
}

void http_write_done(void *arg, int rc)
{
	struct request *r = arg;
	struct resume_list *l;

	r->write_rc = rc;
	__atomic_store_n(&r->write_state, 2, __ATOMIC_RELEASE);
	if (r->worker >= 0 && r->worker != my_slot) {
		l = &resume_lists[r->worker];
		pthread_mutex_lock(&l->mu);
		if (l->signalled) {
			r->resume_next = NULL;
			*l->tail = r;
			l->tail = &r->resume_next;
			pthread_mutex_unlock(&l->mu);
			return;
		}
		__atomic_store_n(&l->signalled, 1, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&l->mu);
	}
	resume_now(r);
}

int http_write_finished(struct request *r, int *rc)
{
	if (__atomic_load_n(&r->write_state, __ATOMIC_ACQUIRE) != 2)
		return 0;
	*rc = r->write_rc;
	return 1;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls, enum MHD_RequestTerminationCode toe)
{
	struct request *r = *req_cls;
	(void)cls;
	(void)conn;
	resume_mine();
	if (r == NULL)
		return;
	http_wait_end(r);
	if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
		conntrack_response_done(r->srv->conns, r->ct);
	if (r->called) {
		metrics_request(r->route, r->status, now_us() - r->start_us);
		__atomic_sub_fetch(&active_requests, 1, __ATOMIC_RELAXED);
	}
	free(r->body);
	if (r->write_free != NULL)
		r->write_free(r->write_ctx);
	else
		free(r->write_ctx);
	free(r);
	*req_cls = NULL;
}

int http_threads(const struct server_config *cfg)
{
	long n;

	if (cfg->threads > 0)
		return cfg->threads;
	/* No request waits for a commit on its thread but the rarer writes (docs/performance.md),
	 * so a thread per core keeps every core busy; two at least, so that such a write leaves
	 * another thread serving. */
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 2 ? 2 : n > 64 ? 64 : (int)n;
}

/* Accept policy: the connection limits (conntrack.c) decide before anything is read. */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	struct listener *l = cls;
	return conntrack_admit(l->srv->conns, addr, addrlen) ? MHD_YES : MHD_NO;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct listener *l = cls;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *fd = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		const union MHD_ConnectionInfo *ad = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		*socket_context = conntrack_open(l->srv->conns, ad ? ad->client_addr : NULL, fd ? fd->connect_fd : -1);
	} else {
		conntrack_close(l->srv->conns, *socket_context);
		*socket_context = NULL;
	}
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_debug("http: %s", msg);
}

static int bind_socket(const struct listener_config *lc, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (strchr(lc->host, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)lc->port);
		if (inet_pton(AF_INET6, lc->host, &s6->sin6_addr) != 1)
			goto badaddr;
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)lc->port);
		if (inet_pton(AF_INET, lc->host, &s4->sin_addr) != 1)
			goto badaddr;
		sl = sizeof(*s4);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 1024) != 0) {
		snprintf(err, errlen, "listener '%s' cannot listen on %s:%d: %s", lc->name, lc->host, lc->port,
			 strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
badaddr:
	snprintf(err, errlen, "listener '%s': '%s' is not a numeric IPv4 or IPv6 address", lc->name, lc->host);
	return -1;
}

static int bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
		return -1;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* Writes "name port" lines to data_dir/ports so tests and scripts can find ephemeral ports. */
static void write_ports(struct server *srv)
{
	char buf[1024], path[CONFIG_PATH_MAX + 16];
	size_t n = 0;

	for (int i = 0; i < srv->nlisteners; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s %d\n", srv->listeners[i].cfg->name,
				      srv->listeners[i].port);
	snprintf(path, sizeof(path), "%s/ports", srv->cfg.data_dir);
	if (util_write_file_atomic(path, buf, n, 0600) != 0)
		log_warn("%s", path);
}

int http_start(struct server *srv, char *err, size_t errlen)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	struct conntrack_limits lim = {
		.total = srv->cfg.connection_limit,
		.per_address = srv->cfg.per_ip_connection_limit,
		.longpolls_per_address = srv->cfg.per_ip_longpoll_limit,
		.request_ms = srv->cfg.request_timeout_s * 1000,
	};

	srv->conns = conntrack_new(&lim);
	if (srv->conns == NULL) {
		snprintf(err, errlen, "cannot start the connection reaper");
		return -1;
	}
	for (int i = 0; i < srv->cfg.nlisteners; i++) {
		struct listener *l = &srv->listeners[i];
		const struct listener_config *lc = &srv->cfg.listeners[i];
		struct MHD_OptionItem opts[20];
		int o = 0, fd;
		unsigned f = flags;

		opts[o++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, NULL};
		l->cfg = lc;
		l->srv = srv;
		srv->nlisteners = i + 1;
		if (lc->tls_cert[0]) {
			if (util_read_file(lc->tls_cert, 1 << 20, &l->tls_cert_pem, NULL) != 0 ||
			    util_read_file(lc->tls_key, 1 << 20, &l->tls_key_pem, NULL) != 0) {
				snprintf(err, errlen, "listener '%s': cannot read TLS certificate or key: %s", lc->name,
					 strerror(errno));
				return -1;
			}
			f |= MHD_USE_TLS;
			opts[o++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, l->tls_cert_pem};
			opts[o++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, l->tls_key_pem};
			opts[o++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)lc->tls_priorities};
		}
		fd = bind_socket(lc, err, errlen);
		if (fd < 0)
			return -1;
		l->port = bound_port(fd);
		opts[o++] = (struct MHD_OptionItem){MHD_OPTION_LISTEN_SOCKET, fd, NULL};
		opts[o++] =
			(struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)http_threads(&srv->cfg), NULL};
		/* libmicrohttpd stops accepting at its own limit and leaves connections in the listen
		 * backlog; ours (the accept policy) refuses them at once, so its limit stays above. */
		opts[o++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT,
						    (intptr_t)srv->cfg.connection_limit * 2 + 64, NULL};
		opts[o++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT,
						    (intptr_t)srv->cfg.connection_timeout_s, NULL};
		opts[o++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT, 32 * 1024, NULL};
		opts[o++] = (struct MHD_OptionItem){MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)on_uri, l};
		opts[o++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, NULL};
		opts[o++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, l};
		/* Spaces in the request target and HTTP/1.1 without Host are refused. */
		opts[o++] = (struct MHD_OptionItem){MHD_OPTION_STRICT_FOR_CLIENT, 1, NULL};
		opts[o++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
		l->daemon = MHD_start_daemon(f, 0, on_accept, l, on_request, l, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
		if (l->daemon == NULL) {
			close(fd);
			snprintf(err, errlen,
				 "listener '%s': libmicrohttpd refused to start (TLS files valid? tls_priorities "
				 "a valid GnuTLS priority string?)",
				 lc->name);
			return -1;
		}
		log_info("listening on %s:%d (%s%s%s%s)%s", lc->host, l->port,
			 lc->apis & API_PROVIDER ? "provider " : "", lc->apis & API_DEVICE ? "device " : "",
			 lc->apis & API_GATEWAY ? "gateway " : "", lc->apis & API_PUSH ? "push" : "",
			 lc->tls_cert[0] ? " with TLS" : "");
	}
	write_ports(srv);
	return 0;
}

void http_stop(struct server *srv)
{
	int64_t until = util_mono_ms() + srv->cfg.shutdown_grace_s * 1000;
	MHD_socket quiet[CONFIG_MAX_LISTENERS];

	/* No new connections (those still queued are reset when the socket closes after the daemon
	 * stops); the open ones are served to the end of what they asked. */
	for (int i = 0; i < srv->nlisteners; i++)
		quiet[i] = srv->listeners[i].daemon ? MHD_quiesce_daemon(srv->listeners[i].daemon) : MHD_INVALID_SOCKET;
	/* Every waiting long-poll answers now (204, or what came for it), and no request waits again;
	 * a daemon may stop only with no connection suspended. */
	if (srv->device_waits)
		longpoll_wake_all(srv->device_waits);
	if (srv->gateway_waits)
		longpoll_wake_all(srv->gateway_waits);
	if (srv->event_waits)
		longpoll_wake_all(srv->event_waits);
	while (__atomic_load_n(&active_requests, __ATOMIC_RELAXED) > 0 && util_mono_ms() < until) {
		struct timespec ts = {0, 20 * 1000000};
		nanosleep(&ts, NULL);
	}
	if (__atomic_load_n(&active_requests, __ATOMIC_RELAXED) > 0)
		log_warnx("%d requests still unanswered after %llds; closing them",
			  __atomic_load_n(&active_requests, __ATOMIC_RELAXED), (long long)srv->cfg.shutdown_grace_s);
	/* A write the store accepted is answered once it commits (the writer runs until the store
	 * closes, after this): a daemon may not stop with its connection suspended, nor be resumed
	 * once stopped. Only a store that cannot write at all keeps this waiting. */
	if (__atomic_load_n(&pending_writes, __ATOMIC_ACQUIRE) > 0)
		log_warnx("waiting for %d writes to commit", __atomic_load_n(&pending_writes, __ATOMIC_RELAXED));
	while (__atomic_load_n(&pending_writes, __ATOMIC_ACQUIRE) > 0) {
		struct timespec ts = {0, 20 * 1000000};
		/* The threads resume their own, but nothing is left to a thread that might not look. */
		for (int i = 0; i < WORKER_SLOTS && i < __atomic_load_n(&worker_slots, __ATOMIC_ACQUIRE); i++)
			if (__atomic_load_n(&resume_lists[i].signalled, __ATOMIC_ACQUIRE))
				resume_list_run(&resume_lists[i]);
		nanosleep(&ts, NULL);
	}
	for (int i = 0; i < srv->nlisteners; i++) {
		struct listener *l = &srv->listeners[i];
		if (l->daemon)
			MHD_stop_daemon(l->daemon);
		l->daemon = NULL;
		if (quiet[i] != MHD_INVALID_SOCKET)
			close(quiet[i]);
		free(l->tls_cert_pem);
		free(l->tls_key_pem);
		l->tls_cert_pem = l->tls_key_pem = NULL;
	}
	conntrack_free(srv->conns);
	srv->conns = NULL;
}
