/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Test harness around a real smswake-server process. */
#include "testsrv.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

int testsrv_ctl(struct testsrv *ts, const char *args, char *out, size_t outlen)
{
	char cmd[1024];
	FILE *p;
	int rc;

	snprintf(cmd, sizeof(cmd), "%s/smswakectl -c %s %s", ts->bin, ts->conf, args);
	p = popen(cmd, "r");
	if (p == NULL)
		return -1;
	if (out && outlen) {
		out[0] = '\0';
		if (fgets(out, (int)outlen, p) != NULL)
			out[strcspn(out, "\n")] = '\0';
	}
	while (fgetc(p) != EOF)
		;
	rc = pclose(p);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* SMSWAKE_TEST_PG_DSN (tests/integration/test_http_pg.sh): each server gets a database of its
 * own in that PostgreSQL cluster, made here with psql; its DSN into dsn. */
static int pg_database(char *dsn, size_t len)
{
	static int serial;
	const char *base = getenv("SMSWAKE_TEST_PG_DSN");
	char cmd[1024], name[48];

	if (base == NULL || base[0] == '\0')
		return 0;
	snprintf(name, sizeof(name), "ts_%d_%d", (int)getpid(), ++serial);
	snprintf(cmd, sizeof(cmd), "psql -X -q -v ON_ERROR_STOP=1 '%s' -c 'CREATE DATABASE %s' >/dev/null", base, name);
	if (system(cmd) != 0)
		return -1;
	snprintf(dsn, len, "%s dbname=%s", base, name);
	return 1;
}

int testsrv_init(struct testsrv *ts, const char *extra)
{
	const char *b = getenv("SMSWAKE_BUILD");
	const char *tmp = getenv("TMPDIR");
	int pg;
	FILE *f;

	memset(ts, 0, sizeof(*ts));
	snprintf(ts->bin, sizeof(ts->bin), "%s", b ? b : "build");
	snprintf(ts->dir, sizeof(ts->dir), "%s/smswake-test-XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(ts->dir) == NULL)
		return -1;
	snprintf(ts->conf, sizeof(ts->conf), "%s/smswake.conf", ts->dir);
	f = fopen(ts->conf, "w");
	if (f == NULL)
		return -1;
	fprintf(f, "[server]\nlisten = 127.0.0.1:0\ndata_dir = %s/data\n%s\n", ts->dir, extra ? extra : "");
	pg = pg_database(ts->pg_dsn, sizeof(ts->pg_dsn));
	if (pg > 0)
		fprintf(f, "[store]\nbackend = postgresql\ndsn = %s\n", ts->pg_dsn);
	fclose(f);
	if (pg < 0)
		return -1;
	if (testsrv_ctl(ts, "provider add test-provider", ts->provider_key, sizeof(ts->provider_key)) != 0 ||
	    testsrv_ctl(ts, "gateway add test-gateway", ts->gateway_key, sizeof(ts->gateway_key)) != 0)
		return -1;
	return 0;
}

int testsrv_start(struct testsrv *ts)
{
	char ports[300], server[300], log[300];
	struct http_resp r;

	snprintf(ports, sizeof(ports), "%s/data/ports", ts->dir);
	snprintf(server, sizeof(server), "%s/smswake-server", ts->bin);
	snprintf(log, sizeof(log), "%s/server.log", ts->dir);
	unlink(ports);
	ts->pid = fork();
	if (ts->pid < 0)
		return -1;
	if (ts->pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 2);
			close(fd);
		}
		execl(server, server, "-c", ts->conf, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		FILE *f = fopen(ports, "r");
		if (f) {
			char name[64];
			int port;
			if (fscanf(f, "%63s %d", name, &port) == 2)
				ts->port = port;
			fclose(f);
			if (ts->port > 0 && http_do(ts, "GET", "/healthz", NULL, NULL, NULL, 0, &r) == 0) {
				long st = r.status;
				http_resp_free(&r);
				if (st == 200)
					return 0;
			}
		}
		if (waitpid(ts->pid, NULL, WNOHANG) == ts->pid) {
			ts->pid = 0;
			return -1;
		}
		sleep_ms(50);
	}
	return -1;
}

void testsrv_stop(struct testsrv *ts, int sig)
{
	if (ts->pid <= 0)
		return;
	kill(ts->pid, sig);
	for (int i = 0; i < 200; i++) {
		if (waitpid(ts->pid, NULL, WNOHANG) == ts->pid) {
			ts->pid = 0;
			return;
		}
		sleep_ms(50);
	}
	kill(ts->pid, SIGKILL);
	waitpid(ts->pid, NULL, 0);
	ts->pid = 0;
}

void testsrv_cleanup(struct testsrv *ts)
{
	char cmd[512];
	testsrv_stop(ts, SIGTERM);
	if (ts->dir[0] && getenv("SMSWAKE_KEEP_TEST_DIRS") == NULL) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", ts->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", ts->dir);
	}
}

int testsrv_suite_start(struct testsrv *ts, const char *extra)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (testsrv_init(ts, extra) != 0)
		return -1;
	return testsrv_start(ts);
}

int testsrv_suite_stop(struct testsrv *ts)
{
	testsrv_cleanup(ts);
	curl_global_cleanup();
	return 0;
}

struct buf {
	char *data;
	size_t len;
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	char *d = realloc(b->data, b->len + size * n + 1);
	if (d == NULL)
		return 0;
	memcpy(d + b->len, p, size * n);
	b->len += size * n;
	d[b->len] = '\0';
	b->data = d;
	return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct http_resp *r = arg;
	size_t have = strlen(r->headers), add = size * n;
	if (have + add < sizeof(r->headers)) {
		memcpy(r->headers + have, p, add);
		r->headers[have + add] = '\0';
	}
	return size * n;
}

int http_do(struct testsrv *ts, const char *method, const char *path, const char *token, const char *const *headers,
	    const void *body, size_t body_len, struct http_resp *resp)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hl = NULL;
	struct buf b = {NULL, 0};
	char url[512], auth[300];
	CURLcode rc;

	memset(resp, 0, sizeof(*resp));
	if (c == NULL)
		return -1;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", ts->port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		hl = curl_slist_append(hl, auth);
	}
	for (const char *const *h = headers; h && *h; h++)
		hl = curl_slist_append(hl, *h);
	hl = curl_slist_append(hl, "Expect:");
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, resp);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 90L);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
	resp->body = b.data ? b.data : calloc(1, 1);
	resp->body_len = b.len;
	return rc == CURLE_OK ? 0 : -1;
}

void http_resp_free(struct http_resp *resp)
{
	free(resp->body);
	resp->body = NULL;
}

int http_resp_header(const struct http_resp *resp, const char *name, char *out, size_t outlen)
{
	const char *p = resp->headers;
	size_t n = strlen(name);
	while (p && *p) {
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1;
			while (*v == ' ')
				v++;
			size_t l = strcspn(v, "\r\n");
			if (l >= outlen)
				l = outlen - 1;
			memcpy(out, v, l);
			out[l] = '\0';
			return 0;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -1;
}

int raw_connect(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int raw_http(int port, const char *req, size_t len, int timeout_ms, char *reply, size_t replylen)
{
	int fd = raw_connect(port), status = -1;
	size_t got = 0;

	if (fd < 0)
		return -1;
	if (send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	reply[0] = '\0';
	for (;;) {
		struct pollfd pfd = {fd, POLLIN, 0};
		if (poll(&pfd, 1, timeout_ms) <= 0)
			break;
		ssize_t n = recv(fd, reply + got, replylen - 1 - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
		reply[got] = '\0';
		if (got >= replylen - 1 || strstr(reply, "\r\n\r\n"))
			break;
	}
	close(fd);
	if (got == 0)
		return 0;
	if (sscanf(reply, "HTTP/1.%*d %d", &status) != 1)
		return -1;
	return status;
}

int testsrv_device(struct testsrv *ts, const char *msisdn, int64_t *id, char *token, size_t toklen)
{
	char body[128];
	struct http_resp r;
	json_t *j;
	int rc = -1;

	snprintf(body, sizeof(body), "{\"msisdn\":\"%s\",\"name\":\"t\",\"poll_interval\":900}", msisdn);
	if (http_do(ts, "POST", "/v1/devices", ts->provider_key,
		    (const char *const[]){"Content-Type: application/json", NULL}, body, strlen(body), &r) != 0)
		return -1;
	j = json_loads(r.body, 0, NULL);
	if (r.status == 201 && j && json_is_integer(json_object_get(j, "id")) &&
	    json_is_string(json_object_get(j, "token"))) {
		*id = json_integer_value(json_object_get(j, "id"));
		snprintf(token, toklen, "%s", json_string_value(json_object_get(j, "token")));
		rc = 0;
	}
	json_decref(j);
	http_resp_free(&r);
	return rc;
}

int raw_connect_from(int port, const char *src, int nonblock)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct sockaddr_in la = {.sin_family = AF_INET, .sin_port = 0};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
	if (fd < 0)
		return -1;
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	inet_pton(AF_INET, src, &la.sin_addr);
	if (bind(fd, (struct sockaddr *)&la, sizeof(la)) != 0 ||
	    (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 && !(nonblock && errno == EINPROGRESS))) {
		close(fd);
		return -1;
	}
	return fd;
}

int raw_exchange(int port, const char *req, size_t len, int timeout_ms, char *reply, size_t replylen, int *closed)
{
	int fd = raw_connect(port);
	size_t got = 0;
	struct timespec t0, t1;

	*closed = 0;
	if (fd < 0)
		return -1;
	if (send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	reply[0] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd pfd = {fd, POLLIN, 0};
		clock_gettime(CLOCK_MONOTONIC, &t1);
		long left = timeout_ms - ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			break;
		ssize_t n = recv(fd, reply + got, replylen - 1 - got, 0);
		if (n <= 0) {
			*closed = 1;
			break;
		}
		got += (size_t)n;
		reply[got] = '\0';
		if (got >= replylen - 1)
			break;
	}
	close(fd);
	return (int)got;
}

int raw_status_lines(const char *reply)
{
	int n = 0;
	for (const char *p = reply; (p = strstr(p, "HTTP/1.")) != NULL; p += 7)
		if (p[7] != '\0' && p[8] == ' ' && p[9] >= '1' && p[9] <= '5')
			n++;
	return n;
}

long testsrv_raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return -1;
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	getrlimit(RLIMIT_NOFILE, &rl);
	return (long)rl.rlim_cur;
}

double testsrv_metric(struct testsrv *ts, const char *name)
{
	struct http_resp r;
	double v = -1;
	size_t n = strlen(name);

	if (http_do(ts, "GET", "/metrics", NULL, NULL, NULL, 0, &r) != 0) {
		http_resp_free(&r);
		return -1;
	}
	for (const char *p = r.body; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, name, n) == 0 && p[n] == ' ') {
			v = strtod(p + n + 1, NULL);
			break;
		}
	http_resp_free(&r);
	return v;
}

int testsrv_launch(struct testsrv *ts, const char *extra)
{
	if (testsrv_init(ts, extra) != 0)
		return -1;
	return testsrv_start(ts);
}
