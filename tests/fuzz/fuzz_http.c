/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target for the server's request handling: the real HTTP layer (libmicrohttpd with
 * smswake's head checks, limits and routing), the API handlers, JSON validation and the store
 * behind them. One server runs in process for the whole run; each input is handed to it as a
 * new connection over a socket pair (MHD_add_connection), so no TCP handshake, no port and no
 * TIME_WAIT cost anything. An input is one authenticated request (route, method, the
 * TTL/Urgency/Topic/Idempotency-Key headers, query and body taken from it), or raw bytes for the
 * HTTP parser (first byte 11; tests/fuzz/corpus/http has real requests for every route). Any 500
 * answer, crash or sanitizer report is a finding. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <ftw.h>
#include <unistd.h>

#include "http.h"
#include "log.h"
#include "longpoll.h"
#include "server.h"
#include "util.h"

static struct server srv;
static char provider_token[96], device_token[96], gateway_token[96];
static uint8_t device_hash[STORE_HASH_LEN];
static int64_t provider_id, device_id;

static char dir[] = "/tmp/smswake-fuzz-XXXXXX";

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

/* libFuzzer ends with exit(): stop the server and leave nothing behind in /tmp. */
static void teardown(void)
{
	http_stop(&srv);
	longpoll_free(srv.device_waits);
	longpoll_free(srv.gateway_waits);
	store_close(srv.store);
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* The device the device-API inputs speak as; made again when an input deleted it. */
static void ensure_device(void)
{
	struct store_device d = {0};

	if (device_id > 0 && store_device_get(srv.store, 0, device_id, &d) == STORE_OK)
		return;
	memset(&d, 0, sizeof(d));
	d.provider_id = provider_id;
	snprintf(d.msisdn, sizeof(d.msisdn), "+15550001234");
	d.poll_interval_s = 60;
	d.quiet_start_min = d.quiet_end_min = -1;
	if (store_device_add(srv.store, &d, device_hash, util_now_ms()) != STORE_OK)
		abort();
	device_id = d.id;
}

static void setup(void)
{
	char err[256];
	struct store_options so = {0};
	uint8_t h[STORE_HASH_LEN];
	const char *serr;
	int64_t gid;

	log_init("fuzz-http", LOG_LEVEL_ERROR, 0);
	if (mkdtemp(dir) == NULL)
		abort();
	config_defaults(&srv.cfg);
	snprintf(srv.cfg.data_dir, sizeof(srv.cfg.data_dir), "%s", dir);
	snprintf(srv.cfg.database, sizeof(srv.cfg.database), "%s/fuzz.db", dir);
	srv.cfg.synchronous_full = 0;
	srv.cfg.max_wait_s = 0;        /* no long-polls: every request answers at once */
	srv.cfg.request_timeout_s = 2; /* an input that never completes a request is cut */
	srv.cfg.threads = 2;
	/* Every input comes from one address, and an input that never completes its request lingers
	 * until the deadline: no per-address limit here. */
	srv.cfg.per_ip_connection_limit = 0;
	srv.cfg.nlisteners = 1;
	snprintf(srv.cfg.listeners[0].name, sizeof(srv.cfg.listeners[0].name), "main");
	snprintf(srv.cfg.listeners[0].host, sizeof(srv.cfg.listeners[0].host), "127.0.0.1");
	srv.cfg.listeners[0].apis = API_ALL;
	so.path = srv.cfg.database;
	if (store_open(&so, &srv.store, &serr) != STORE_OK)
		abort();
	memset(srv.keys.key[1], 7, MASTER_KEY_LEN);
	srv.keys.loaded[1] = 1;
	srv.keys.current = 1;
	srv.device_waits = longpoll_new();
	srv.gateway_waits = longpoll_new();
	keys_new_token("swp", provider_token, sizeof(provider_token), h);
	store_provider_add(srv.store, "fuzz", h, util_now_ms(), &provider_id);
	keys_new_token("swg", gateway_token, sizeof(gateway_token), h);
	store_gateway_add(srv.store, "fuzz", h, util_now_ms(), &gid);
	keys_new_token("swd", device_token, sizeof(device_token), device_hash);
	ensure_device();
	if (http_start(&srv, err, sizeof(err)) != 0)
		abort();
	atexit(teardown);
}

/* Copies a field of the input into a header value: printable, no CR or LF. */
static void field(const uint8_t **p, const uint8_t *end, char *out, size_t max)
{
	size_t n = 0;
	while (*p < end && **p != '\n' && n + 1 < max) {
		char c = (char)**p;
		out[n++] = (c >= 0x20 && c < 0x7f) ? c : '_';
		(*p)++;
	}
	if (*p < end)
		(*p)++;
	out[n] = '\0';
}

/* Hands one connection carrying req to the server and reads its answer until it closes; returns
 * the status of the first response (0 if none).
 *
 * The end of the input is signalled by shutting down the writing side, but only once the server
 * has answered or had a moment to read: libmicrohttpd 0.9.75 under epoll takes a short read for
 * "no more data", so an end of stream that arrives together with the data goes unseen, and the
 * connection would wait for its request deadline. */
static int exchange(const char *req, size_t len)
{
	struct sockaddr_in peer = {.sin_family = AF_INET, .sin_port = htons(40000)};
	char buf[8192];
	size_t got = 0, off = 0;
	int sv[2], status = 0, shut = 0;

	inet_pton(AF_INET, "127.0.0.9", &peer.sin_addr);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		abort();
	if (MHD_add_connection(srv.listeners[0].daemon, sv[1], (struct sockaddr *)&peer, sizeof(peer)) != MHD_YES) {
		close(sv[0]);
		return 0; /* refused (and closed) by the accept policy */
	}
	for (;;) {
		struct pollfd pfd = {sv[0], POLLIN | (off < len ? POLLOUT : 0), 0};
		int r = poll(&pfd, 1, off < len ? 3000 : shut ? 3000 : 5);
		if (r < 0)
			break;
		if (r == 0) {
			if (shut)
				break; /* no end in sight: leave it to the request deadline */
			shutdown(sv[0], SHUT_WR);
			shut = 1;
			continue;
		}
		if (pfd.revents & POLLOUT) {
			ssize_t w = send(sv[0], req + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (w > 0)
				off += (size_t)w;
			else if (w < 0)
				off = len; /* the server closed: read what it said */
		}
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = recv(sv[0], buf + got, sizeof(buf) - 1 - got, MSG_DONTWAIT);
			if (n == 0 || (n < 0 && !(pfd.revents & POLLIN)))
				break;
			if (n > 0)
				got += (size_t)n;
			buf[got] = '\0';
			if (status == 0)
				sscanf(buf, "HTTP/1.%*d %d", &status);
			if (got >= sizeof(buf) - 1)
				got = 0; /* only the first status line matters; keep reading to the end */
			if (!shut && off == len && n > 0) {
				shutdown(sv[0], SHUT_WR); /* an answer came: the server has read the input */
				shut = 1;
			}
		}
	}
	close(sv[0]);
	return status;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const methods[] = {"GET", "POST", "PATCH", "DELETE", "PUT", "HEAD"};
	static char *req;
	char path[256], ttl[64], urg[64], topic[64], idem[96], query[96], ctype[64], hdr[1024];
	const uint8_t *p = data, *end = data + size;
	const char *tok;
	size_t blen, n;
	int route, status;

	if (srv.store == NULL)
		setup();
	if (req == NULL && (req = malloc(16384)) == NULL)
		abort();
	if (size < 2)
		return 0;
	ensure_device();
	route = p[0] % 16;
	const char *method = methods[p[1] % 6];
	p += 2;
	if (route == 11) {
		/* Raw bytes straight to the HTTP parser. */
		n = size - 2 < 16000 ? size - 2 : 16000;
		status = exchange((const char *)p, n);
		if (status == 500)
			abort();
		return 0;
	}
	field(&p, end, ttl, sizeof(ttl));
	field(&p, end, urg, sizeof(urg));
	field(&p, end, topic, sizeof(topic));
	field(&p, end, idem, sizeof(idem));
	field(&p, end, query, sizeof(query));
	field(&p, end, ctype, sizeof(ctype));
	blen = (size_t)(end - p);
	if (blen > 8000)
		blen = 8000;
	tok = route >= 7 && route <= 8 ? device_token : route >= 9 && route <= 10 ? gateway_token : provider_token;
	switch (route) {
	case 0: snprintf(path, sizeof(path), "/v1/devices"); break;
	case 1: snprintf(path, sizeof(path), "/v1/devices/%lld", (long long)device_id); break;
	case 2: snprintf(path, sizeof(path), "/v1/devices/%lld/messages", (long long)device_id); break;
	case 3: snprintf(path, sizeof(path), "/v1/messages/%u", (unsigned)(query[0] % 16)); break;
	case 4: snprintf(path, sizeof(path), "/%s", query); break;
	case 5: snprintf(path, sizeof(path), "/healthz"); break;
	case 6: snprintf(path, sizeof(path), "/metrics"); break;
	case 7: snprintf(path, sizeof(path), "/v1/device/messages?%s", strstr(query, "wait") ? "" : query); break;
	case 8: snprintf(path, sizeof(path), "/v1/device/ack"); break;
	case 9: snprintf(path, sizeof(path), "/v1/gateway/lease"); break;
	case 10: snprintf(path, sizeof(path), "/v1/gateway/report"); break;
	case 12: snprintf(path, sizeof(path), "/v1/devices?%s", query); break;
	case 13: snprintf(path, sizeof(path), "/v1/messages"); break;
	case 14: snprintf(path, sizeof(path), "/v1/webhooks"); break;
	default: snprintf(path, sizeof(path), "/v1/batches/%u", (unsigned)(query[0] % 16)); break;
	}
	for (char *c = path; *c; c++)
		if (*c == ' ')
			*c = '_';
	n = (size_t)snprintf(
		hdr, sizeof(hdr),
		"%s %s HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\nAuthorization: Bearer %s\r\n"
		"TTL: %s\r\nUrgency: %s\r\nTopic: %s\r\nIdempotency-Key: %s\r\n%s%s%sContent-Length: %zu\r\n\r\n",
		method, path, tok, ttl, urg, topic, idem, ctype[0] ? "Content-Type: " : "", ctype,
		ctype[0] ? "\r\n" : "", blen);
	if (n >= sizeof(hdr))
		return 0;
	memcpy(req, hdr, n);
	memcpy(req + n, p, blen);
	status = exchange(req, n + blen);
	/* 500 means an unexpected failure inside the server: a finding. */
	if (status == 500)
		abort();
	return 0;
}
