/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The Kannel transport: one channel, "kannel", that hands each SMS to Kannel's smsbox with an
 * HTTP sendsms request, and a small HTTP listener for the delivery reports smsbox calls back
 * (dlr-url). Both run in the gateway's one thread: libcurl's multi interface on its socket API
 * and libmicrohttpd without a thread of its own, their descriptors gathered in one epoll set
 * whose descriptor is the transport's (ops->fd).
 *
 * What smsbox answers becomes the send's outcome (kannel_msg.h): accepted or queued by Kannel
 * is SENT (Kannel owns it then, as the network does a modem's SMS), refused (4xx), throttled
 * (5xx) and unreachable are SEND_FAILED, not permanent, so the dispatcher backs the channel
 * off and may move the job to a modem. A request that went out but got no answer in time is
 * counted as sent, like a modem's send of unknown outcome: a second request could cost a
 * second SMS, and a wakeup that was in fact lost is made good by the device's next poll.
 * Delivery reports carry the job id and a per-run random key in their URL; a report without
 * the key is refused. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <unistd.h>

#include "encode.h"
#include "gateway.h"
#include "kannel_msg.h"
#include "log.h"
#include "transport.h"
#include "util.h"

#define KANNEL_CHANNEL "kannel"
#define KANNEL_BODY_MAX 256
#define KANNEL_KEY_BYTES 16

struct kreq {
	CURL *easy;
	uint64_t cookie;
	char body[KANNEL_BODY_MAX];
	size_t body_len;
};

struct kannel_transport {
	struct gw_transport t;
	struct gw_kannel cfg;
	CURLM *multi;
	int epfd;
	int64_t curl_timer_at; /* monotonic; -1: none */
	struct MHD_Daemon *mhd;
	int mhd_fd;
	char dlr_base[GW_URL_MAX]; /* http://host:port/dlr; empty: no delivery reports */
	char key[KANNEL_KEY_BYTES * 2 + 1];
	struct kreq *reqs;
	int inflight;
	int last_ok; /* the last request reached smsbox */
	unsigned long dlrs, dlr_refused;
};

static struct kannel_transport *kt_of(const struct gw_transport *t)
{
	return t->impl;
}

static void emit(struct kannel_transport *k, struct gw_tevent *ev)
{
	ev->channel = 0;
	ev->name = KANNEL_CHANNEL;
	if (ev->at_ms == 0)
		ev->at_ms = util_now_ms();
	k->t.cb(k->t.cb_arg, ev);
}

/* --- libcurl's socket API onto the epoll set */

static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct kannel_transport *k = userp;
	struct epoll_event ev = {.data.fd = s};

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		(void)epoll_ctl(k->epfd, EPOLL_CTL_DEL, s, NULL);
		curl_multi_assign(k->multi, s, NULL);
		return 0;
	}
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	if (socketp == NULL) {
		if (epoll_ctl(k->epfd, EPOLL_CTL_ADD, s, &ev) != 0)
			return -1;
		curl_multi_assign(k->multi, s, k);
		return 0;
	}
	return epoll_ctl(k->epfd, EPOLL_CTL_MOD, s, &ev) == 0 ? 0 : -1;
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct kannel_transport *k = userp;

	(void)multi;
	k->curl_timer_at = timeout_ms < 0 ? -1 : util_mono_ms() + timeout_ms;
	return 0;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userp)
{
	struct kreq *r = userp;
	size_t n = size * nmemb, room = sizeof(r->body) - 1 - r->body_len;

	memcpy(r->body + r->body_len, ptr, n < room ? n : room);
	r->body_len += n < room ? n : room;
	r->body[r->body_len] = '\0';
	return n;
}

/* One request is over: its outcome becomes the send's event. */
static void request_done(struct kannel_transport *k, struct kreq *r, CURLcode res)
{
	struct gw_tevent ev = {.cookie = r->cookie, .reference = -1};
	char msg[160];
	long status = 0;
	curl_off_t sent_bytes = 0;

	curl_multi_remove_handle(k->multi, r->easy);
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(r->easy, CURLINFO_REQUEST_SIZE, &sent_bytes);
	curl_easy_cleanup(r->easy);
	r->easy = NULL;
	k->inflight--;
	if (res != CURLE_OK) {
		if (res == CURLE_OPERATION_TIMEDOUT && sent_bytes > 0) {
			log_warnx(
				"kannel: job %llu: no answer from smsbox in time; Kannel may have it, counted as sent",
				(unsigned long long)r->cookie);
			ev.type = GW_TEV_SENT;
		} else {
			snprintf(msg, sizeof(msg), "smsbox unreachable: %s", curl_easy_strerror(res));
			if (k->last_ok)
				log_warnx("kannel: %s", msg);
			k->last_ok = 0;
			ev.type = GW_TEV_SEND_FAILED;
			ev.error = msg;
		}
		emit(k, &ev);
		return;
	}
	if (!k->last_ok)
		log_info("kannel: smsbox answers again");
	k->last_ok = 1;
	switch (kannel_answer_parse(status, r->body, r->body_len, msg, sizeof(msg))) {
	case KANNEL_ANS_ACCEPTED: ev.type = GW_TEV_SENT; break;
	case KANNEL_ANS_QUEUED:
		log_info("kannel: job %llu queued by Kannel (%s)", (unsigned long long)r->cookie, msg);
		ev.type = GW_TEV_SENT;
		break;
	case KANNEL_ANS_REFUSED:
		log_warnx("kannel: job %llu refused by smsbox: HTTP %ld %s", (unsigned long long)r->cookie, status,
			  msg);
		ev.type = GW_TEV_SEND_FAILED;
		ev.error = msg;
		break;
	default:
		log_warnx("kannel: job %llu not taken (HTTP %ld %s)", (unsigned long long)r->cookie, status, msg);
		ev.type = GW_TEV_SEND_FAILED;
		ev.error = msg;
		break;
	}
	emit(k, &ev);
}

static void drain_curl(struct kannel_transport *k)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(k->multi, &left)) != NULL) {
		struct kreq *r = NULL;
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		if (r != NULL)
			request_done(k, r, m->data.result);
	}
}

/* --- the delivery-report listener */

/* Keeps the raw URI (with its query) for the handler: libmicrohttpd only hands it the path. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	(void)cls;
	(void)conn;
	return strdup(uri);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls, enum MHD_RequestTerminationCode code)
{
	(void)cls;
	(void)conn;
	(void)code;
	free(*req_cls);
	*req_cls = NULL;
}

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned status, const char *text)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(strlen(text), (void *)(uintptr_t)text, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", "text/plain");
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static int key_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned diff = la != lb;

	for (size_t i = 0; i < la && i < lb; i++)
		diff |= (unsigned)(a[i] ^ b[i]);
	return diff == 0;
}

static enum MHD_Result on_dlr(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
			      const char *version, const char *upload, size_t *upload_len, void **req_cls)
{
	struct kannel_transport *k = cls;
	const char *uri = *req_cls, *q;
	char key[64];
	uint64_t id;
	int type, outcome;

	(void)version;
	(void)upload;
	if (*upload_len != 0) {
		*upload_len = 0; /* a body is not expected; ignored */
		return MHD_YES;
	}
	if (strcmp(method, "GET") != 0)
		return answer(conn, 405, "GET only\n");
	if (strcmp(url, "/dlr") != 0 || uri == NULL)
		return answer(conn, 404, "not found\n");
	q = strchr(uri, '?');
	if (q == NULL || kannel_dlr_parse(q + 1, strlen(q + 1), &id, &type, key, sizeof(key)) != 0) {
		log_warnx("kannel: malformed delivery report refused");
		k->dlr_refused++;
		return answer(conn, 400, "malformed delivery report\n");
	}
	if (!key_equal(key, k->key)) {
		log_warnx("kannel: delivery report with a wrong key refused (job %llu)", (unsigned long long)id);
		k->dlr_refused++;
		return answer(conn, 403, "wrong key\n");
	}
	k->dlrs++;
	outcome = kannel_dlr_outcome(type);
	log_debug("kannel: delivery report for job %llu: type %d", (unsigned long long)id, type);
	if (outcome != 0) {
		struct gw_tevent ev = {
			.type = outcome > 0 ? GW_TEV_DELIVERED : GW_TEV_UNDELIVERABLE, .cookie = id, .reference = -1};
		emit(k, &ev);
	}
	return answer(conn, 200, "ok\n");
}

static int start_listener(struct kannel_transport *k)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	const char *listen = k->cfg.dlr_listen, *colon = strrchr(listen, ':');
	const union MHD_DaemonInfo *info;
	char host[64];
	int64_t port;
	struct epoll_event ev = {.events = EPOLLIN};

	if (colon == NULL || (size_t)(colon - listen) >= sizeof(host) ||
	    util_parse_i64(colon + 1, 0, 65535, &port) != 0) {
		log_warnx("kannel: dlr_listen '%s' is not host:port", listen);
		return -1;
	}
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		log_warnx("kannel: dlr_listen '%s': host must be a numeric IPv4 address", listen);
		return -1;
	}
	sa.sin_port = htons((uint16_t)port);
	k->mhd = MHD_start_daemon(MHD_USE_EPOLL, 0, NULL, NULL, on_dlr, k, MHD_OPTION_SOCK_ADDR, &sa,
				  MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
				  NULL, MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_CONNECTION_LIMIT, 64u,
				  MHD_OPTION_END);
	if (k->mhd == NULL) {
		log_warnx("kannel: cannot listen on %s for delivery reports", listen);
		return -1;
	}
	if ((info = MHD_get_daemon_info(k->mhd, MHD_DAEMON_INFO_EPOLL_FD)) == NULL)
		return -1;
	k->mhd_fd = info->epoll_fd;
	ev.data.fd = k->mhd_fd;
	if (epoll_ctl(k->epfd, EPOLL_CTL_ADD, k->mhd_fd, &ev) != 0)
		return -1;
	port = MHD_get_daemon_info(k->mhd, MHD_DAEMON_INFO_BIND_PORT)->port;
	snprintf(k->dlr_base, sizeof(k->dlr_base), "http://%s:%d/dlr", k->cfg.dlr_host[0] ? k->cfg.dlr_host : host,
		 (int)port);
	log_info("kannel: delivery reports on %s:%d", host, (int)port);
	return 0;
}

/* --- the transport's operations */

static int tk_start(struct gw_transport *t)
{
	struct kannel_transport *k = kt_of(t);
	uint8_t raw[KANNEL_KEY_BYTES];

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
		log_warn("kannel: getrandom");
		return -1;
	}
	enc_hex(raw, sizeof(raw), k->key);
	if ((k->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 || (k->multi = curl_multi_init()) == NULL) {
		log_warn("kannel: cannot set up");
		return -1;
	}
	curl_multi_setopt(k->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(k->multi, CURLMOPT_SOCKETDATA, k);
	curl_multi_setopt(k->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(k->multi, CURLMOPT_TIMERDATA, k);
	/* Keep-alive connections to smsbox, at most one per request in flight. */
	curl_multi_setopt(k->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)k->cfg.concurrency);
	if (strcmp(k->cfg.dlr_listen, "no") != 0 && start_listener(k) != 0)
		return -1;
	log_info("kannel: sending through %s%s%s (at most %d at a time%s)", k->cfg.url, k->cfg.smsc[0] ? ", smsc " : "",
		 k->cfg.smsc, k->cfg.concurrency, k->dlr_base[0] ? ", delivery reports asked" : "");
	return 0;
}

static void tk_free(struct gw_transport *t)
{
	struct kannel_transport *k;

	if (t == NULL)
		return;
	k = kt_of(t);
	for (int i = 0; i < k->cfg.concurrency; i++)
		if (k->reqs[i].easy != NULL) {
			curl_multi_remove_handle(k->multi, k->reqs[i].easy);
			curl_easy_cleanup(k->reqs[i].easy);
		}
	if (k->multi != NULL)
		curl_multi_cleanup(k->multi);
	if (k->mhd != NULL)
		MHD_stop_daemon(k->mhd);
	if (k->epfd >= 0)
		close(k->epfd);
	explicit_bzero(k->cfg.password, sizeof(k->cfg.password));
	explicit_bzero(k->key, sizeof(k->key));
	free(k->reqs);
	free(k);
}

static int tk_fd(const struct gw_transport *t)
{
	return kt_of(t)->epfd;
}

static int tk_timeout_ms(const struct gw_transport *t)
{
	const struct kannel_transport *k = kt_of(t);
	int64_t wait = -1;
	MHD_UNSIGNED_LONG_LONG mhd_wait;

	if (k->curl_timer_at >= 0) {
		wait = k->curl_timer_at - util_mono_ms();
		if (wait < 0)
			wait = 0;
	}
	if (k->mhd != NULL && MHD_get_timeout(k->mhd, &mhd_wait) == MHD_YES && (wait < 0 || (int64_t)mhd_wait < wait))
		wait = (int64_t)mhd_wait;
	return wait > 1000 ? 1000 : (int)wait;
}

static void tk_process(struct gw_transport *t)
{
	struct kannel_transport *k = kt_of(t);
	struct epoll_event evs[32];
	int n, running;

	n = epoll_wait(k->epfd, evs, 32, 0);
	for (int i = 0; i < n; i++) {
		int flags = 0;
		if (k->mhd != NULL && evs[i].data.fd == k->mhd_fd)
			continue;
		flags |= evs[i].events & EPOLLIN ? CURL_CSELECT_IN : 0;
		flags |= evs[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0;
		flags |= evs[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0;
		curl_multi_socket_action(k->multi, evs[i].data.fd, flags, &running);
	}
	if (k->curl_timer_at >= 0 && util_mono_ms() >= k->curl_timer_at) {
		k->curl_timer_at = -1;
		curl_multi_socket_action(k->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	}
	drain_curl(k);
	if (k->mhd != NULL)
		MHD_run(k->mhd);
}

static int tk_channels(const struct gw_transport *t)
{
	(void)t;
	return 1;
}

static int tk_channel_info(const struct gw_transport *t, int ch, struct gw_channel_info *out)
{
	const struct kannel_transport *k = kt_of(t);

	memset(out, 0, sizeof(*out));
	if (ch != 0)
		return -1;
	snprintf(out->name, sizeof(out->name), "%s", KANNEL_CHANNEL);
	out->ready = k->multi != NULL;
	out->queued = k->inflight;
	out->signal = -1;
	return 0;
}

static int tk_send(struct gw_transport *t, int ch, const struct modem_sms_out *sms, uint64_t cookie, char *err,
		   size_t errlen)
{
	struct kannel_transport *k = kt_of(t);
	struct kannel_send_params p = {
		.username = k->cfg.username,
		.password = k->cfg.password,
		.from = k->cfg.from,
		.smsc = k->cfg.smsc,
		.dlr_mask = k->dlr_base[0] && sms->status_report ? KANNEL_DLR_MASK : 0,
	};
	char dlr[GW_URL_MAX + 128];
	char *url;
	size_t base = strlen(k->cfg.url), max = base + 4096;
	struct kreq *r = NULL;
	int n;

	if (ch != 0 || k->multi == NULL) {
		snprintf(err, errlen, "no such channel");
		return GW_SEND_BUSY;
	}
	for (int i = 0; i < k->cfg.concurrency && r == NULL; i++)
		if (k->reqs[i].easy == NULL)
			r = &k->reqs[i];
	if (r == NULL) {
		snprintf(err, errlen, "%d requests in flight", k->inflight);
		return GW_SEND_BUSY;
	}
	/* Kannel puts the report's type where %d is; the id and key are ours. */
	snprintf(dlr, sizeof(dlr), "%s?id=%llu&t=%%d&k=%s", k->dlr_base, (unsigned long long)cookie, k->key);
	p.dlr_url = dlr;
	if ((url = malloc(max)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return GW_SEND_BUSY;
	}
	memcpy(url, k->cfg.url, base);
	url[base] = strchr(k->cfg.url, '?') ? '&' : '?';
	n = kannel_sendsms_query(&p, sms, url + base + 1, max - base - 1);
	explicit_bzero(dlr, sizeof(dlr));
	if (n < 0) {
		free(url);
		snprintf(err, errlen, "not an SMS Kannel can send (number, length or text)");
		return GW_SEND_BAD;
	}
	memset(r, 0, sizeof(*r));
	if ((r->easy = curl_easy_init()) == NULL) {
		free(url);
		snprintf(err, errlen, "out of memory");
		return GW_SEND_BUSY;
	}
	r->cookie = cookie;
	curl_easy_setopt(r->easy, CURLOPT_URL, url);
	explicit_bzero(url, max);
	free(url); /* libcurl keeps its own copy */
	curl_easy_setopt(r->easy, CURLOPT_PRIVATE, (char *)r);
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, (long)k->cfg.timeout_ms);
	curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)(k->cfg.timeout_ms < 5000 ? k->cfg.timeout_ms : 5000));
	curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	if (curl_multi_add_handle(k->multi, r->easy) != CURLM_OK) {
		curl_easy_cleanup(r->easy);
		r->easy = NULL;
		snprintf(err, errlen, "cannot start a request");
		return GW_SEND_BUSY;
	}
	k->inflight++;
	return GW_SEND_OK;
}

static const struct gw_transport_ops tk_ops = {
	.name = "kannel",
	.start = tk_start,
	.free = tk_free,
	.fd = tk_fd,
	.timeout_ms = tk_timeout_ms,
	.process = tk_process,
	.channels = tk_channels,
	.channel_info = tk_channel_info,
	.send = tk_send,
};

struct gw_transport *transport_kannel_new(const struct gw_kannel *cfg, gw_tevent_cb cb, void *arg)
{
	struct kannel_transport *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return NULL;
	k->t.ops = &tk_ops;
	k->t.cb = cb;
	k->t.cb_arg = arg;
	k->t.impl = k;
	k->cfg = *cfg;
	k->epfd = -1;
	k->mhd_fd = -1;
	k->curl_timer_at = -1;
	k->last_ok = 1;
	if ((k->reqs = calloc((size_t)cfg->concurrency, sizeof(*k->reqs))) == NULL) {
		free(k);
		return NULL;
	}
	return &k->t;
}
