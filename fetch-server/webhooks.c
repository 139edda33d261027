/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Webhook delivery worker. Due outbox rows are read from the store, signed per Standard Webhooks
 * and sent by one thread with libcurl's multi interface (at most [webhooks] concurrency at once);
 * each outcome goes back to the store: 2xx done, 410 disables the endpoint, anything else is
 * retried with exponential back-off until retry_for has passed since the event. Every address
 * libcurl is about to connect to passes webhooks_addr_allowed first (its open-socket callback),
 * so a name that resolves, or later rebinds, to an internal address is refused. */
#include "webhooks.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "encode.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "server.h"
#include "util.h"

#define RETRY_MAX_MS (4LL * 3600 * 1000)
#define SCAN_MS 250
#define PURGE_MS 60000

struct transfer {
	struct transfer *next;
	struct webhooks *wh;
	CURL *easy;
	struct curl_slist *headers;
	char *body;
	int64_t outbox_id, webhook_id, message_id, age_ms;
	int attempts;
	int refused; /* the open-socket check refused an address */
	char errbuf[CURL_ERROR_SIZE];
};

struct webhooks {
	struct server *srv;
	pthread_t thread;
	CURLM *multi;
	volatile int stopping;
	struct transfer *inflight;
	int ninflight;
};

/* ---- Address policy ---- */

static int in_range(const uint8_t a[16], const uint8_t net[16], int bits)
{
	int full = bits / 8, rest = bits % 8;

	if (memcmp(a, net, (size_t)full) != 0)
		return 0;
	return rest == 0 || ((a[full] ^ net[full]) & (0xff << (8 - rest))) == 0;
}

/* Ranges refused unless opened, as 128-bit prefixes (IPv4 as ::ffff:0:0/96 plus the v4 prefix). */
static const struct {
	const char *cidr;
} denied[] = {
	{"0.0.0.0/8"},     {"10.0.0.0/8"},   {"100.64.0.0/10"},  {"127.0.0.0/8"},    {"169.254.0.0/16"},
	{"172.16.0.0/12"}, {"192.0.0.0/24"}, {"192.168.0.0/16"}, {"198.18.0.0/15"},  {"224.0.0.0/4"},
	{"240.0.0.0/4"},   {"::/128"},       {"::1/128"},        {"fc00::/7"},       {"fe80::/10"},
	{"fec0::/10"},     {"ff00::/8"},     {"64:ff9b::/96"},   {"64:ff9b:1::/48"}, {"2002::/16"},
	{"::/96"},         {"100::/64"},     {"2001::/32"},
};

int webhooks_addr_allowed(const struct webhook_config *cfg, const struct sockaddr *sa)
{
	uint8_t a[16];

	memset(a, 0, sizeof(a));
	if (sa->sa_family == AF_INET) {
		a[10] = a[11] = 0xff;
		memcpy(a + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		memcpy(a, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	} else {
		return 0;
	}
	for (int i = 0; i < cfg->nallow; i++)
		if (in_range(a, cfg->allow[i].addr, cfg->allow[i].bits))
			return 1;
	for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
		struct config_cidr c;
		if (config_parse_cidr(denied[i].cidr, &c) == 0 && in_range(a, c.addr, c.bits))
			return 0;
	}
	return 1;
}

/* ---- Bodies and signatures ---- */

char *webhooks_event_body(const struct store_event_out *e)
{
	char at[32];
	json_t *data, *j;
	char *s;

	http_time(e->time_ms, at);
	if (e->message_id > 0)
		data = json_pack("{s:I, s:I, s:I, s:s}", "message_id", (json_int_t)e->message_id, "device_id",
				 (json_int_t)e->device_id, "seq", (json_int_t)e->seq, "state", e->state);
	else
		data = json_pack("{s:I, s:s}", "device_id", (json_int_t)e->device_id, "state", e->state);
	j = json_pack("{s:s, s:s, s:o}", "type", e->type, "timestamp", at, "data", data);
	if (j == NULL)
		return NULL;
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}

int webhooks_sign(const uint8_t *key, size_t keylen, const char *id, int64_t ts, const char *body, size_t len,
		  char *out, size_t outlen)
{
	uint8_t mac[CRYPTO_SHA256_LEN];
	char head[96];
	int n = snprintf(head, sizeof(head), "%s.%" PRId64 ".", id, ts);
	char *msg;
	int rc;

	if (n < 0 || (size_t)n >= sizeof(head) || outlen < 3 + ENC_B64_LEN(CRYPTO_SHA256_LEN))
		return -1;
	msg = malloc((size_t)n + len + 1);
	if (msg == NULL)
		return -1;
	memcpy(msg, head, (size_t)n);
	memcpy(msg + n, body, len);
	rc = crypto_hmac_sha256(key, keylen, msg, (size_t)n + len, mac);
	free(msg);
	if (rc != 0)
		return -1;
	memcpy(out, "v1,", 3);
	enc_b64(mac, sizeof(mac), out + 3, 0);
	return 0;
}

/* ---- Transfers ---- */

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

static curl_socket_t open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *addr)
{
	struct transfer *t = arg;

	if (purpose != CURLSOCKTYPE_IPCXN ||
	    !webhooks_addr_allowed(&t->wh->srv->cfg.webhooks, (const struct sockaddr *)&addr->addr)) {
		t->refused = 1;
		return CURL_SOCKET_BAD;
	}
	return socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
}

static void transfer_free(struct transfer *t)
{
	if (t->easy)
		curl_easy_cleanup(t->easy);
	curl_slist_free_all(t->headers);
	free(t->body);
	free(t);
}

static int busy(const struct webhooks *wh, const struct store_delivery *d)
{
	for (const struct transfer *t = wh->inflight; t; t = t->next)
		if (t->outbox_id == d->outbox_id ||
		    (t->webhook_id == d->webhook_id && t->message_id == d->ev.message_id))
			return 1;
	return 0;
}

static int start_one(void *arg, const struct store_delivery *d)
{
	struct webhooks *wh = arg;
	const struct webhook_config *cfg = &wh->srv->cfg.webhooks;
	struct transfer *t;
	char id[40], ts[24], sig[80], hdr[128];
	int64_t now_s = util_now_ms() / 1000;

	if (wh->ninflight >= cfg->concurrency)
		return 1;
	if (busy(wh, d))
		return 0;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return 1;
	t->wh = wh;
	t->outbox_id = d->outbox_id;
	t->webhook_id = d->webhook_id;
	t->message_id = d->ev.message_id;
	t->attempts = d->attempts;
	t->age_ms = d->age_ms;
	t->body = webhooks_event_body(&d->ev);
	snprintf(id, sizeof(id), "evt_%" PRId64, d->ev.id);
	snprintf(ts, sizeof(ts), "%" PRId64, now_s);
	if (t->body == NULL ||
	    webhooks_sign(d->secret, STORE_SECRET_LEN, id, now_s, t->body, strlen(t->body), sig, sizeof(sig)) != 0 ||
	    (t->easy = curl_easy_init()) == NULL) {
		transfer_free(t);
		return 1;
	}
	snprintf(hdr, sizeof(hdr), "webhook-id: %s", id);
	t->headers = curl_slist_append(t->headers, hdr);
	snprintf(hdr, sizeof(hdr), "webhook-timestamp: %s", ts);
	t->headers = curl_slist_append(t->headers, hdr);
	snprintf(hdr, sizeof(hdr), "webhook-signature: %s", sig);
	t->headers = curl_slist_append(t->headers, hdr);
	t->headers = curl_slist_append(t->headers, "Content-Type: application/json");
	t->headers = curl_slist_append(t->headers, "User-Agent: smswake-webhooks");
	t->headers = curl_slist_append(t->headers, "Expect:");
	curl_easy_setopt(t->easy, CURLOPT_URL, d->url);
	curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t);
	curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, t->headers);
	curl_easy_setopt(t->easy, CURLOPT_POSTFIELDS, t->body);
	curl_easy_setopt(t->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(t->body));
	curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(t->easy, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	curl_easy_setopt(t->easy, CURLOPT_OPENSOCKETDATA, t);
	curl_easy_setopt(t->easy, CURLOPT_ERRORBUFFER, t->errbuf);
	curl_easy_setopt(t->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(t->easy, CURLOPT_TIMEOUT_MS, (long)(cfg->timeout_s * 1000));
	curl_easy_setopt(t->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(t->easy, CURLOPT_PROXY, "");
	curl_easy_setopt(t->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(t->easy, CURLOPT_NOPROGRESS, 1L);
	if (curl_multi_add_handle(wh->multi, t->easy) != CURLM_OK) {
		transfer_free(t);
		return 1;
	}
	t->next = wh->inflight;
	wh->inflight = t;
	wh->ninflight++;
	return 0;
}

static void finish(struct webhooks *wh, CURL *easy, CURLcode res)
{
	const struct webhook_config *cfg = &wh->srv->cfg.webhooks;
	struct transfer *t = NULL, **pp;
	long status = 0;
	char err[STORE_ERROR_MAX + 1];
	int64_t now = util_now_ms(), retry = 0;
	int disable = 0, rc;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t);
	for (pp = &wh->inflight; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			wh->ninflight--;
			break;
		}
	curl_multi_remove_handle(wh->multi, easy);
	err[0] = '\0';
	if (res == CURLE_OK)
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	else if (t->refused)
		snprintf(err, sizeof(err), "address not allowed (server-side request forgery guard; [webhooks] allow)");
	else
		snprintf(err, sizeof(err), "%.120s", t->errbuf[0] ? t->errbuf : curl_easy_strerror(res));
	if (status >= 200 && status < 300) {
		metrics_add(CTR_WEBHOOK_DELIVERED, 1);
	} else {
		if (status > 0 && err[0] == '\0')
			snprintf(err, sizeof(err), "HTTP status %ld", status);
		metrics_add(t->refused ? CTR_WEBHOOK_REFUSED : CTR_WEBHOOK_FAILED, 1);
		if (status == 410) {
			disable = 1;
			metrics_add(CTR_WEBHOOK_DISABLED, 1);
			log_warnx("webhook %" PRId64 ": 410 Gone, endpoint disabled", t->webhook_id);
		} else if (t->age_ms + cfg->retry_base_s * 1000 > cfg->retry_for_s * 1000) {
			metrics_add(CTR_WEBHOOK_GAVE_UP, 1);
			log_warnx("webhook %" PRId64 ": event given up after %d attempts: %s", t->webhook_id,
				  t->attempts + 1, err);
		} else {
			int64_t delay = cfg->retry_base_s * 1000 << (t->attempts < 20 ? t->attempts : 20);
			retry = now + (delay < RETRY_MAX_MS ? delay : RETRY_MAX_MS);
		}
	}
	rc = store_webhook_result(wh->srv->store, t->outbox_id, t->webhook_id, (int)status, err, retry, disable, now);
	if (rc != STORE_OK)
		log_warnx("webhook %" PRId64 ": cannot record the outcome: %s", t->webhook_id, store_strerror(rc));
	transfer_free(t);
}

static void *run(void *arg)
{
	struct webhooks *wh = arg;
	int64_t next_scan = 0, next_purge = 0;

	while (!wh->stopping) {
		int64_t now = util_mono_ms();
		CURLMsg *m;
		int left, still = 0;

		if (now >= next_scan) {
			if (wh->ninflight < wh->srv->cfg.webhooks.concurrency)
				store_webhook_due(wh->srv->store, util_now_ms(), wh->srv->cfg.webhooks.concurrency * 4,
						  start_one, wh);
			next_scan = now + SCAN_MS;
		}
		if (now >= next_purge) {
			int n = 0;
			store_events_purge(wh->srv->store,
					   util_now_ms() - wh->srv->cfg.webhooks.event_retention_s * 1000, &n);
			next_purge = now + (n > 0 ? 1000 : PURGE_MS);
		}
		curl_multi_perform(wh->multi, &still);
		while ((m = curl_multi_info_read(wh->multi, &left)) != NULL)
			if (m->msg == CURLMSG_DONE)
				finish(wh, m->easy_handle, m->data.result);
		curl_multi_poll(wh->multi, NULL, 0, SCAN_MS, NULL);
	}
	return NULL;
}

struct webhooks *webhooks_start(struct server *srv)
{
	struct webhooks *wh = calloc(1, sizeof(*wh));

	if (wh == NULL)
		return NULL;
	wh->srv = srv;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		free(wh);
		return NULL;
	}
	wh->multi = curl_multi_init();
	if (wh->multi == NULL) {
		curl_global_cleanup();
		free(wh);
		return NULL;
	}
	if (pthread_create(&wh->thread, NULL, run, wh) != 0) {
		curl_multi_cleanup(wh->multi);
		curl_global_cleanup();
		free(wh);
		return NULL;
	}
	pthread_setname_np(wh->thread, "webhooks");
	return wh;
}

void webhooks_stop(struct webhooks *wh)
{
	if (wh == NULL)
		return;
	wh->stopping = 1;
	curl_multi_wakeup(wh->multi);
	pthread_join(wh->thread, NULL);
	while (wh->inflight) {
		struct transfer *t = wh->inflight;
		wh->inflight = t->next;
		curl_multi_remove_handle(wh->multi, t->easy);
		transfer_free(t); /* not recorded: delivered again after a restart (at least once) */
	}
	curl_multi_cleanup(wh->multi);
	curl_global_cleanup();
	free(wh);
}
