/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target for the server's request handling: the real HTTP layer, routing, header and
 * JSON validation and the store behind them, in process on a loopback port. Each input becomes
 * one authenticated request (route, method, TTL/Urgency/Topic/Idempotency-Key headers, query and
 * body taken from the input), or is sent raw to exercise the HTTP parser. Any 500 answer, crash
 * or sanitizer report is a finding. */
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
static int64_t device_id;

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

static void setup(void)
{
	char err[256];
	struct store_options so = {0};
	struct store_device d = {0};
	uint8_t h[STORE_HASH_LEN];
	const char *serr;
	int64_t pid, gid;

	log_init("fuzz-http", LOG_LEVEL_ERROR, 0);
	if (mkdtemp(dir) == NULL)
		abort();
	config_defaults(&srv.cfg);
	snprintf(srv.cfg.data_dir, sizeof(srv.cfg.data_dir), "%s", dir);
	snprintf(srv.cfg.database, sizeof(srv.cfg.database), "%s/fuzz.db", dir);
	srv.cfg.synchronous_full = 0;
	srv.cfg.max_wait_s = 0; /* no long-polls: every request answers at once */
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
	store_provider_add(srv.store, "fuzz", h, util_now_ms(), &pid);
	keys_new_token("swg", gateway_token, sizeof(gateway_token), h);
	store_gateway_add(srv.store, "fuzz", h, util_now_ms(), &gid);
	keys_new_token("swd", device_token, sizeof(device_token), h);
	d.provider_id = pid;
	snprintf(d.msisdn, sizeof(d.msisdn), "+15550001234");
	d.poll_interval_s = 60;
	d.quiet_start_min = d.quiet_end_min = -1;
	if (store_device_add(srv.store, &d, h, util_now_ms()) != STORE_OK)
		abort();
	device_id = d.id;
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

static int exchange(const char *req, size_t len)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)srv.listeners[0].port)};
	char buf[8192];
	size_t got = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0), status = 0;

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		abort();
	(void)!send(fd, req, len, MSG_NOSIGNAL);
	shutdown(fd, SHUT_WR);
	for (;;) {
		struct pollfd pfd = {fd, POLLIN, 0};
		if (poll(&pfd, 1, 2000) <= 0)
			break;
		ssize_t n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got >= sizeof(buf) - 1)
			break;
	}
	buf[got] = '\0';
	close(fd);
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
		status = 0;
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
	route = p[0] % 12;
	const char *method = methods[p[1] % 6];
	p += 2;
	if (route == 11) {
		/* Raw bytes straight to the HTTP parser. */
		n = size - 2 < 16000 ? size - 2 : 16000;
		exchange((const char *)p, n);
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
	tok = route >= 7 && route <= 8 ? device_token : route >= 9 ? gateway_token : provider_token;
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
	default: snprintf(path, sizeof(path), "/v1/gateway/report"); break;
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
