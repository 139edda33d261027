/* SPDX-License-Identifier: MIT */
/* libsmswake's own HTTP client (client/lib/http*.c) against odd but legal and plainly illegal
 * servers: the server URL, chunk-size line and response head parsers, response framing read from a
 * socket the test fills (sw_http_read_fd), connection handling against a scripted raw TCP server
 * (sw_http_request), and the request deadline against servers that never finish an answer. The
 * well-behaved server is test_client_fetch.c's business. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "internal.h"
#include "smswake.h"

/* A string literal with its length, so literals may hold NUL octets. */
/* clang-format off */
#define LIT(s) {s, sizeof(s) - 1}
/* clang-format on */

struct lit {
	const char *s;
	size_t len;
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- the server URL --- */

struct url_ok {
	const char *url;
	int tls;
	const char *host, *port, *prefix;
	int host_is_ip;
};

static void test_url_accepted(void **state)
{
	static const struct url_ok ok[] = {
		{"http://example.com", 0, "example.com", "80", "", 0},
		{"https://example.com", 1, "example.com", "443", "", 0},
		{"http://example.com:8080", 0, "example.com", "8080", "", 0},
		{"https://sms-wake.example.org:8443/api/v2", 1, "sms-wake.example.org", "8443", "/api/v2", 0},
		{"http://h:1/", 0, "h", "1", "/", 0},
		{"http://h:65535/base", 0, "h", "65535", "/base", 0},
		{"http://h:0080", 0, "h", "80", "", 0},
		{"https://127.0.0.1", 1, "127.0.0.1", "443", "", 1},
		{"http://10.1.2.3:9000/x", 0, "10.1.2.3", "9000", "/x", 1},
		{"http://[::1]", 0, "::1", "80", "", 1},
		{"https://[2001:db8::1]:8443/base/path", 1, "2001:db8::1", "8443", "/base/path", 1},
		{"http://[::ffff:192.0.2.1]/p", 0, "::ffff:192.0.2.1", "80", "/p", 1},
		{"http://localhost/a-b_c.d~e", 0, "localhost", "80", "/a-b_c.d~e", 0},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		int tls = -1, ip = -1;
		char port[8] = "?";
		char *host = NULL, *prefix = NULL;

		if (sw_http_parse_url(ok[i].url, &tls, &host, port, sizeof(port), &prefix, &ip) != 0)
			fail_msg("%s: rejected", ok[i].url);
		if (tls != ok[i].tls || ip != ok[i].host_is_ip || strcmp(host, ok[i].host) != 0 ||
		    strcmp(port, ok[i].port) != 0 || strcmp(prefix, ok[i].prefix) != 0)
			fail_msg("%s: tls %d host \"%s\" (ip %d) port \"%s\" prefix \"%s\"", ok[i].url, tls, host, ip,
				 port, prefix);
		free(host);
		free(prefix);
	}
}

static void test_url_rejected(void **state)
{
	static const char *const bad[] = {
		"ftp://example.com",
		"example.com",
		"http:/example.com",
		"http//example.com",
		"http://",
		"https://",
		"http:///v1",
		"http://:8080",
		"http://:8080/base",
		"http://[]",
		"http://[]:80",
		"http://h:0",
		"http://h:00",
		"http://h:65536",
		"http://h:99999",
		"http://h:123456789012345678901234567890",
		"http://h:",
		"http://h:/base",
		"http://h:8a",
		"http://h:-1",
		"http://h:+80",
		"http://h:80x/",
		"http://user@h",
		"http://user:pass@h:80/",
		"http://h:80@evil.example/",
		"http://h?x=1",
		"http://h/path?x=1",
		"http://h#frag",
		"http://h/#frag",
		"http://[::1",
		"http://[::1/base",
		"http://[::1]x",
		"http://[::1]:",
		"http://[zz::1]",
		"http://[::1%25eth0]",
		"http://exa mple.com",
		"http://example.com /",
		"http://h/pa th",
		"http://h/a\tb",
		"http://h/a\x01",
		"http://h/a\x7f",
		"http://h/a\x80",
		"http://h\x01/",
		"http://h\xc3\xa9.example/",
		"http://h\\x/",
	};
	char big[300];
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]) + 2; i++) {
		const char *url = i < sizeof(bad) / sizeof(bad[0]) ? bad[i] : big;
		int tls = -1, ip = -1;
		char port[8] = "?";
		char *host = (char *)"unset", *prefix = (char *)"unset";

		if (i >= sizeof(bad) / sizeof(bad[0])) {
			/* A host name of 254 octets, then one of 253 made invalid by a space. */
			memcpy(big, "http://", 7);
			memset(big + 7, 'a', 254);
			big[7 + 254] = '\0';
			if (i == sizeof(bad) / sizeof(bad[0]) + 1) {
				big[7 + 100] = ' ';
				big[7 + 253] = '\0';
			}
		}
		if (sw_http_parse_url(url, &tls, &host, port, sizeof(port), &prefix, &ip) == 0)
			fail_msg("%s: accepted (host \"%s\" port \"%s\" prefix \"%s\")", url, host, port, prefix);
		/* Nothing to free on failure. */
		assert_null(host);
		assert_null(prefix);
	}

	/* 253 octets is the longest name. */
	{
		int tls, ip;
		char port[8], *host = NULL, *prefix = NULL;

		memset(big + 7, 'a', 253);
		big[7 + 253] = '\0';
		assert_int_equal(sw_http_parse_url(big, &tls, &host, port, sizeof(port), &prefix, &ip), 0);
		assert_int_equal(strlen(host), 253);
		free(host);
		free(prefix);
	}
}

/* --- chunk-size lines (http_parse.c) --- */

static void test_chunk_size_line(void **state)
{
	static const struct {
		const char *line;
		uint64_t size;
	} ok[] = {
		{"0", 0},
		{"00", 0},
		{"5", 5},
		{"1a2B", 0x1a2b},
		{"5;name=value", 5},
		{"5 \t;x", 5},
		{"5 ", 5},
		{"fffffffffffffff", 0xfffffffffffffffULL},
	};
	static const char *const bad[] = {
		"", " 5", ";5", "x", "5x", "5 x", "-1", "+5", "0x5", "5\r", "ffffffffffffffff", "fffffffffffffffff",
	};
	(void)state;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char why[64] = "";
		uint64_t n = 1234;

		if (sw_http_parse_chunk_size(ok[i].line, &n, why, sizeof(why)) != 0 || n != ok[i].size)
			fail_msg("\"%s\": %s, size %llu", ok[i].line, why, (unsigned long long)n);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char why[64] = "";
		uint64_t n = 1234;

		if (sw_http_parse_chunk_size(bad[i], &n, why, sizeof(why)) == 0)
			fail_msg("\"%s\": accepted as %llu", bad[i], (unsigned long long)n);
		assert_true(why[0] != '\0');
		assert_true(n == 1234);
	}
}

/* --- response heads --- */

/* Parses a head from an exact-size copy, so the sanitizers catch a read past its end. */
static int parse_head(const char *s, size_t len, struct sw_head_info *hd)
{
	char why[128] = "";
	char *copy = malloc(len ? len : 1);
	int rc;

	assert_non_null(copy);
	memcpy(copy, s, len);
	memset(hd, 0x5a, sizeof(*hd));
	rc = sw_http_parse_head(copy, len, hd, why, sizeof(why));
	free(copy);
	if (rc != 0 && why[0] == '\0')
		fail_msg("rejected without a reason");
	return rc;
}

#define HEAD(lit, hd) parse_head(lit, sizeof(lit) - 1, hd)

static void test_head_accepted(void **state)
{
	struct sw_head_info hd;
	(void)state;

	assert_int_equal(HEAD("HTTP/1.1 200 OK\r\nContent-Length: 42\r\n", &hd), 0);
	assert_int_equal(hd.status, 200);
	assert_int_equal(hd.length, 42);
	assert_int_equal(hd.chunked, 0);
	assert_int_equal(hd.close, 0);
	assert_int_equal(hd.next_poll, -1);
	assert_int_equal(hd.retry_after, -1);

	assert_int_equal(HEAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n", &hd), 0);
	assert_int_equal(hd.chunked, 1);
	assert_int_equal(hd.length, -1);
	assert_int_equal(hd.close, 0);
	/* Names are case-insensitive, optional white space around values is not part of them. */
	assert_int_equal(HEAD("HTTP/1.1 200 OK\r\ntransfer-encoding: \t Chunked \t\r\n", &hd), 0);
	assert_int_equal(hd.chunked, 1);
	assert_int_equal(HEAD("HTTP/1.1 200 OK\r\ncontent-length:7\r\n", &hd), 0);
	assert_int_equal(hd.length, 7);
	assert_int_equal(HEAD("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n", &hd), 0);
	assert_int_equal(hd.length, 0);
	/* The same length twice is harmless. */
	assert_int_equal(HEAD("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n", &hd), 0);
	assert_int_equal(hd.length, 5);

	/* No header at all, no reason phrase, an empty one, an unknown status class member. */
	assert_int_equal(HEAD("HTTP/1.1 204 No Content\r\n", &hd), 0);
	assert_int_equal(hd.status, 204);
	assert_int_equal(hd.length, -1);
	assert_int_equal(HEAD("HTTP/1.1 200\r\n", &hd), 0);
	assert_int_equal(hd.status, 200);
	assert_int_equal(HEAD("HTTP/1.1 404 \r\n", &hd), 0);
	assert_int_equal(hd.status, 404);
	assert_int_equal(HEAD("HTTP/1.1 599 Whatever\tit is\r\nX-Empty:\r\nX-Odd: \"a\" (b) <c>\r\n", &hd), 0);
	assert_int_equal(hd.status, 599);

	/* Persistence: HTTP/1.0 closes unless it says keep-alive; 1.1 keeps unless it says close. */
	assert_int_equal(HEAD("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n", &hd), 0);
	assert_int_equal(hd.close, 1);
	assert_int_equal(HEAD("HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive\r\n", &hd), 0);
	assert_int_equal(hd.close, 0);
	assert_int_equal(HEAD("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n", &hd), 0);
	assert_int_equal(hd.close, 0);
	assert_int_equal(HEAD("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n", &hd), 0);
	assert_int_equal(hd.close, 1);
	assert_int_equal(HEAD("HTTP/1.1 200 OK\r\nConnection: upgrade , CLOSE\r\n", &hd), 0);
	assert_int_equal(hd.close, 1);
	assert_int_equal(HEAD("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n", &hd), 0);
	assert_int_equal(hd.close, 0);
	assert_int_equal(HEAD("HTTP/1.1 200 OK\r\nConnection: closed\r\n", &hd), 0);
	assert_int_equal(hd.close, 0);

	/* Next-Poll and Retry-After in seconds; what cannot be read counts as absent. */
	assert_int_equal(HEAD("HTTP/1.1 200 OK\r\nNext-Poll: 300\r\nRetry-After:  7 \r\n", &hd), 0);
	assert_int_equal(hd.next_poll, 300);
	assert_int_equal(hd.retry_after, 7);
	assert_int_equal(HEAD("HTTP/1.1 503 Busy\r\nRetry-After: 0\r\nnext-poll: 0\r\n", &hd), 0);
	assert_int_equal(hd.retry_after, 0);
	assert_int_equal(hd.next_poll, 0);
	assert_int_equal(HEAD("HTTP/1.1 503 Busy\r\nRetry-After: soon\r\nNext-Poll: -5\r\n", &hd), 0);
	assert_int_equal(hd.retry_after, -1);
	assert_int_equal(hd.next_poll, -1);
	assert_int_equal(HEAD("HTTP/1.1 200 OK\r\nNext-Poll: Sun, 06 Nov 1994 08:49:37 GMT\r\n", &hd), 0);
	assert_int_equal(hd.next_poll, -1);
}

static void test_head_retry_after_date(void **state)
{
	struct sw_head_info hd;
	char date[64], head[160];
	struct tm tm;
	time_t t;
	int n;
	(void)state;

	/* An IMF-fixdate two minutes ahead: about 120 seconds. */
	t = time(NULL) + 120;
	gmtime_r(&t, &tm);
	assert_true(strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm) > 0);
	n = snprintf(head, sizeof(head), "HTTP/1.1 503 Busy\r\nRetry-After: %s\r\n", date);
	assert_int_equal(parse_head(head, (size_t)n, &hd), 0);
	assert_true(hd.retry_after > 100 && hd.retry_after <= 120);

	/* One in the past: retry now. */
	t = time(NULL) - 3600;
	gmtime_r(&t, &tm);
	assert_true(strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm) > 0);
	n = snprintf(head, sizeof(head), "HTTP/1.1 429 Slow down\r\nRetry-After: %s\r\n", date);
	assert_int_equal(parse_head(head, (size_t)n, &hd), 0);
	assert_int_equal(hd.retry_after, 0);

	/* RFC 9110's example, long past. */
	assert_int_equal(HEAD("HTTP/1.1 503 Busy\r\nRetry-After: Sun, 06 Nov 1994 08:49:37 GMT\r\n", &hd), 0);
	assert_int_equal(hd.retry_after, 0);
	/* Not a date. */
	assert_int_equal(HEAD("HTTP/1.1 503 Busy\r\nRetry-After: Sun, 06 Nov 1994 08:49:37 CET\r\n", &hd), 0);
	assert_int_equal(hd.retry_after, -1);
}

static void test_head_rejected(void **state)
{
	static const struct lit bad[] = {
		/* status line */
		LIT(""),
		LIT("HTTP/1.1 200 OK"),
		LIT("HTTP/2 200 OK\r\n"),
		LIT("HTTP/2.0 200 OK\r\n"),
		LIT("HTTP/1.2 200 OK\r\n"),
		LIT("HTTP/0.9 200 OK\r\n"),
		LIT("http/1.1 200 OK\r\n"),
		LIT("ICY 200 OK\r\n"),
		LIT("HTTP/1.1  200 OK\r\n"),
		LIT("HTTP/1.1 20 OK\r\n"),
		LIT("HTTP/1.1 2000 OK\r\n"),
		LIT("HTTP/1.1 2x0 OK\r\n"),
		LIT("HTTP/1.1 -20 OK\r\n"),
		LIT("HTTP/1.1 099 Low\r\n"),
		LIT("HTTP/1.1 600 High\r\n"),
		LIT("HTTP/1.1 200OK\r\n"),
		LIT("HTTP/1.1 200 O\x01K\r\n"),
		LIT("HTTP/1.1 200 O\0K\r\n"),
		/* line endings */
		LIT("HTTP/1.1 200 OK\n"),
		LIT("HTTP/1.1 200 OK\r"),
		LIT("HTTP/1.1 200 OK\rX\n"),
		LIT("HTTP/1.1 200 OK\r\nContent-Length: 5"),
		LIT("HTTP/1.1 200 OK\r\nContent-Length: 5\n"),
		LIT("HTTP/1.1 200 OK\r\nContent-Length: 5\r"),
		LIT("HTTP/1.1 200 OK\r\nX-A: a\rb\r\n"),
		/* folding, names */
		LIT("HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\n"),
		LIT("HTTP/1.1 200 OK\r\nX-A: a\r\n\tb\r\n"),
		LIT("HTTP/1.1 200 OK\r\n Content-Length: 5\r\n"),
		LIT("HTTP/1.1 200 OK\r\n: no name\r\n"),
		LIT("HTTP/1.1 200 OK\r\nNoColon\r\n"),
		LIT("HTTP/1.1 200 OK\r\n\r\n"),
		LIT("HTTP/1.1 200 OK\r\nContent-Length : 5\r\n"),
		LIT("HTTP/1.1 200 OK\r\nBad Name: x\r\n"),
		LIT("HTTP/1.1 200 OK\r\nBad(Name): x\r\n"),
		LIT("HTTP/1.1 200 OK\r\nX\x01Y: x\r\n"),
		LIT("HTTP/1.1 200 OK\r\nX\x80Y: x\r\n"),
		/* control characters in values */
		LIT("HTTP/1.1 200 OK\r\nX-A: a\x01b\r\n"),
		LIT("HTTP/1.1 200 OK\r\nX-A: a\x7f\r\n"),
		LIT("HTTP/1.1 200 OK\r\nX-A: a\nb\r\n"),
		LIT("HTTP/1.1 200 OK\r\nX-A: a\0b\r\n"),
		LIT("HTTP/1.1 200 OK\r\nContent-Length: 5\0\r\n"),
		/* Content-Length */
		LIT("HTTP/1.1 200 OK\r\nContent-Length:\r\n"),
		LIT("HTTP/1.1 200 OK\r\nContent-Length:  \r\n"),
		LIT("HTTP/1.1 200 OK\r\nContent-Length: abc\r\n"),
		LIT("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n"),
		LIT("HTTP/1.1 200 OK\r\nContent-Length: +5\r\n"),
		LIT("HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n"),
		LIT("HTTP/1.1 200 OK\r\nContent-Length: 5 5\r\n"),
		LIT("HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n"),
		LIT("HTTP/1.1 200 OK\r\nContent-Length: 1.5\r\n"),
		LIT("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n"),
		LIT("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n"),
		LIT("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 05x\r\n"),
		/* Transfer-Encoding */
		LIT("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n"),
		LIT("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n"),
		LIT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n"),
		LIT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n"),
		LIT("HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n"),
		LIT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked;q=1\r\n"),
		LIT("HTTP/1.1 200 OK\r\nTransfer-Encoding: xchunked\r\n"),
		LIT("HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\n"),
		LIT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"),
		LIT("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n"),
		/* both framings: a smuggling attempt */
		LIT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n"),
		LIT("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n"),
		LIT("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n"),
	};
	struct sw_head_info hd;
	unsigned wrong = 0;
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse_head(bad[i].s, bad[i].len, &hd) == 0) {
			print_message("head %zu accepted: \"%.*s\"\n", i, (int)bad[i].len, bad[i].s);
			wrong++;
		}
	assert_int_equal(wrong, 0);
}

/* --- response framing, read from a socket the test fills --- */

struct feeder {
	int fd;
	const char *data;
	size_t len;
};

static void *feed(void *arg)
{
	struct feeder *f = arg;
	size_t off = 0;

	while (off < f->len) {
		ssize_t n = send(f->fd, f->data + off, f->len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* the reader stopped early and closed its end */
		off += (size_t)n;
	}
	shutdown(f->fd, SHUT_WR);
	return NULL;
}

/* Serves data, then the end of the connection, to sw_http_read_fd. A writer thread lets inputs
 * be larger than the socket's buffer. */
static smswake_err read_canned(smswake_t *h, const char *data, size_t len, struct sw_response *resp, int *ka)
{
	struct feeder f = {.data = data, .len = len};
	pthread_t t;
	smswake_err err;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	f.fd = sv[1];
	assert_int_equal(pthread_create(&t, NULL, feed, &f), 0);
	*ka = -1;
	err = sw_http_read_fd(h, sv[0], resp, ka);
	close(sv[0]);
	assert_int_equal(pthread_join(t, NULL), 0);
	close(sv[1]);
	if (err == SMSWAKE_OK) {
		assert_non_null(resp->body);
		assert_int_equal(resp->body[resp->body_len], '\0');
		assert_true(*ka == 0 || *ka == 1);
	} else {
		assert_null(resp->body);
		assert_int_equal(resp->body_len, 0);
	}
	return err;
}

#define CANNED(h, lit, resp, ka) read_canned(h, lit, sizeof(lit) - 1, resp, ka)

static int setup_reader(void **state)
{
	smswake_t *h;

	assert_int_equal(smswake_new(&h), SMSWAKE_OK);
	/* A reader waiting for octets that never come fails in seconds, not a minute. */
	assert_int_equal(smswake_setopt(h, "timeout", "5"), SMSWAKE_OK);
	*state = h;
	return 0;
}

static int teardown_reader(void **state)
{
	smswake_free(*state);
	return 0;
}

static void test_read_content_length(void **state)
{
	smswake_t *h = *state;
	struct sw_response r;
	int ka;

	assert_int_equal(CANNED(h, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nNext-Poll: 30\r\n\r\nhello", &r, &ka),
			 SMSWAKE_OK);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, 5);
	assert_string_equal(r.body, "hello");
	assert_int_equal(r.next_poll, 30);
	assert_int_equal(r.retry_after, -1);
	assert_int_equal(r.too_large, 0);
	assert_int_equal(ka, 1);
	sw_response_free(&r);

	/* Binary content, NUL octets included, and nothing past the length is taken. */
	assert_int_equal(CANNED(h, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\na\0bEXTRA", &r, &ka), SMSWAKE_OK);
	assert_int_equal(r.body_len, 3);
	assert_memory_equal(r.body, "a\0b", 4);
	sw_response_free(&r);

	assert_int_equal(CANNED(h, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", &r, &ka), SMSWAKE_OK);
	assert_int_equal(r.status, 404);
	assert_int_equal(r.body_len, 0);
	assert_int_equal(ka, 1);
	sw_response_free(&r);

	/* Closing after a framed body, by HTTP/1.0 default or Connection: close. */
	assert_int_equal(CANNED(h, "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", &r, &ka), SMSWAKE_OK);
	assert_string_equal(r.body, "ok");
	assert_int_equal(ka, 0);
	sw_response_free(&r);
	assert_int_equal(CANNED(h, "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok", &r, &ka),
			 SMSWAKE_OK);
	assert_int_equal(ka, 1);
	sw_response_free(&r);
	assert_int_equal(CANNED(h, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", &r, &ka),
			 SMSWAKE_OK);
	assert_int_equal(ka, 0);
	sw_response_free(&r);
}

static void test_read_chunked(void **state)
{
	smswake_t *h = *state;
	struct sw_response r;
	int ka;

	/* Extensions, white space before them, upper-case hex, an empty-looking chunk of one
	 * space, trailer fields. */
	assert_int_equal(CANNED(h,
				"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nRetry-After: 3\r\n\r\n"
				"5;name=value\r\nhello\r\n"
				"1 ; ext\r\n \r\n"
				"6\t;a=\"b;c\"\r\nworld!\r\n"
				"A\r\n0123456789\r\n"
				"00000001\r\nZ\r\n"
				"0;last=1\r\nX-Trailer: yes\r\nX-Other: 1\r\n\r\n",
				&r, &ka),
			 SMSWAKE_OK);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, 23);
	assert_string_equal(r.body, "hello world!0123456789Z");
	assert_int_equal(r.retry_after, 3);
	assert_int_equal(ka, 1);
	sw_response_free(&r);

	/* No chunk at all. */
	assert_int_equal(CANNED(h, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", &r, &ka),
			 SMSWAKE_OK);
	assert_int_equal(r.body_len, 0);
	assert_string_equal(r.body, "");
	sw_response_free(&r);

	/* HTTP/1.0 with chunks still closes. */
	assert_int_equal(
		CANNED(h, "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", &r, &ka),
		SMSWAKE_OK);
	assert_string_equal(r.body, "ok");
	assert_int_equal(ka, 0);
	sw_response_free(&r);
}

/* Chunks of many sizes, across the reader's buffer boundaries: the body comes back exactly. */
static void test_read_chunked_large(void **state)
{
	static const size_t sizes[] = {1, 7, 4095, 16384, 16383, 20000, 2, 65536, 3, 16385};
	smswake_t *h = *state;
	struct sw_response r;
	size_t total = 0, cap = 0, len = 0;
	char *body, *msg;
	int ka;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		total += sizes[i];
	body = malloc(total);
	assert_non_null(body);
	for (size_t i = 0; i < total; i++)
		body[i] = (char)('a' + (i * 7 + i / 13) % 26);
	cap = total + 4096;
	msg = malloc(cap);
	assert_non_null(msg);
	len = (size_t)snprintf(msg, cap, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
	for (size_t i = 0, off = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		if (i % 2)
			len += (size_t)snprintf(msg + len, cap - len, "%zx;i=%zu\r\n", sizes[i], i);
		else
			len += (size_t)snprintf(msg + len, cap - len, "%zX\r\n", sizes[i]);
		memcpy(msg + len, body + off, sizes[i]);
		len += sizes[i];
		off += sizes[i];
		memcpy(msg + len, "\r\n", 2);
		len += 2;
	}
	len += (size_t)snprintf(msg + len, cap - len, "0\r\n\r\n");
	assert_int_equal(read_canned(h, msg, len, &r, &ka), SMSWAKE_OK);
	assert_int_equal(r.body_len, total);
	assert_memory_equal(r.body, body, total);
	sw_response_free(&r);
	free(msg);
	free(body);
}

static void test_read_until_close(void **state)
{
	smswake_t *h = *state;
	struct sw_response r;
	size_t n = 100000, hl;
	char *msg;
	int ka;

	assert_int_equal(CANNED(h, "HTTP/1.1 200 OK\r\nNext-Poll: 5\r\n\r\nuntil the end", &r, &ka), SMSWAKE_OK);
	assert_int_equal(r.body_len, 13);
	assert_string_equal(r.body, "until the end");
	assert_int_equal(ka, 0);
	sw_response_free(&r);

	assert_int_equal(CANNED(h, "HTTP/1.0 200 OK\r\n\r\n", &r, &ka), SMSWAKE_OK);
	assert_int_equal(r.body_len, 0);
	assert_int_equal(ka, 0);
	sw_response_free(&r);

	/* Longer than the reader's buffer. */
	msg = malloc(n + 64);
	assert_non_null(msg);
	hl = (size_t)snprintf(msg, 64, "HTTP/1.1 200 OK\r\n\r\n");
	for (size_t i = 0; i < n; i++)
		msg[hl + i] = (char)('0' + i % 10);
	assert_int_equal(read_canned(h, msg, hl + n, &r, &ka), SMSWAKE_OK);
	assert_int_equal(r.body_len, n);
	assert_memory_equal(r.body, msg + hl, n);
	assert_int_equal(ka, 0);
	sw_response_free(&r);
	free(msg);
}

static void test_read_interim(void **state)
{
	smswake_t *h = *state;
	struct sw_response r;
	int ka;

	assert_int_equal(CANNED(h,
				"HTTP/1.1 100 Continue\r\n\r\n"
				"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
				"HTTP/1.1 102 Processing\r\nNext-Poll: 1\r\n\r\n"
				"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
				&r, &ka),
			 SMSWAKE_OK);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "ok");
	/* The interim response's headers are not the final one's. */
	assert_int_equal(r.next_poll, -1);
	assert_int_equal(ka, 1);
	sw_response_free(&r);

	/* A bad interim head is still a bad head. */
	assert_int_equal(CANNED(h,
				"HTTP/1.1 100 Continue\r\nX y: z\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
				&r, &ka),
			 SMSWAKE_EPROTO);

	/* Nobody asked for a protocol switch. */
	assert_int_equal(CANNED(h,
				"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
				&r, &ka),
			 SMSWAKE_EPROTO);
	assert_int_equal(CANNED(h,
				"HTTP/1.1 101 Switching Protocols\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
				&r, &ka),
			 SMSWAKE_EPROTO);
	/* Only interim responses, then the end. */
	assert_int_equal(CANNED(h, "HTTP/1.1 100 Continue\r\n\r\n", &r, &ka), SMSWAKE_ENETWORK);
}

static void test_read_no_body(void **state)
{
	static const char head[] = "HTTP/1.1 204 No Content\r\nNext-Poll: 60\r\n\r\n";
	smswake_t *h = *state;
	struct sw_response r;
	int64_t t0;
	int ka, sv[2];

	/* 204 and 304 have no body, whatever follows or whatever the head says. */
	assert_int_equal(CANNED(h, "HTTP/1.1 204 No Content\r\nNext-Poll: 60\r\n\r\nGARBAGE", &r, &ka), SMSWAKE_OK);
	assert_int_equal(r.status, 204);
	assert_int_equal(r.body_len, 0);
	assert_string_equal(r.body, "");
	assert_int_equal(r.next_poll, 60);
	assert_int_equal(ka, 1);
	sw_response_free(&r);
	assert_int_equal(CANNED(h, "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello", &r, &ka), SMSWAKE_OK);
	assert_int_equal(r.body_len, 0);
	sw_response_free(&r);
	assert_int_equal(CANNED(h, "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", &r, &ka),
			 SMSWAKE_OK);
	assert_int_equal(r.status, 304);
	assert_int_equal(r.body_len, 0);
	sw_response_free(&r);

	/* The reader does not wait for a body that is not coming: the peer keeps the connection
	 * open, and what it sends next stays there to be read. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(send(sv[1], head, sizeof(head) - 1, MSG_NOSIGNAL), (ssize_t)(sizeof(head) - 1));
	t0 = mono_ms();
	assert_int_equal(sw_http_read_fd(h, sv[0], &r, &ka), SMSWAKE_OK);
	assert_true(mono_ms() - t0 < 2000);
	assert_int_equal(r.status, 204);
	assert_int_equal(r.body_len, 0);
	assert_int_equal(ka, 1);
	sw_response_free(&r);
	{
		char buf[8];

		assert_int_equal(send(sv[1], "next", 4, MSG_NOSIGNAL), 4);
		assert_int_equal(recv(sv[0], buf, sizeof(buf), 0), 4);
		assert_memory_equal(buf, "next", 4);
	}
	close(sv[0]);
	close(sv[1]);
}

/* "HTTP/1.1 200 OK" with the given framing and n octets of body. */
static char *make_response(const char *framing, size_t n, size_t *len)
{
	char *m = malloc(n + 256);
	size_t hl;

	assert_non_null(m);
	hl = (size_t)snprintf(m, 256, "HTTP/1.1 200 OK\r\n%s\r\n", framing);
	memset(m + hl, 'x', n);
	*len = hl + n;
	return m;
}

/* The body limit is max_body * 2 + 64 KiB: 65538 octets for a max_body of 1. */
static void test_read_too_large(void **state)
{
	smswake_t *h = *state;
	struct sw_response r;
	char framing[64], *m;
	size_t len;
	int ka;

	assert_int_equal(smswake_setopt(h, "max_body", "1"), SMSWAKE_OK);

	snprintf(framing, sizeof(framing), "Content-Length: %d\r\n", 65538);
	m = make_response(framing, 65538, &len);
	assert_int_equal(read_canned(h, m, len, &r, &ka), SMSWAKE_OK);
	assert_int_equal(r.body_len, 65538);
	assert_int_equal(r.too_large, 0);
	sw_response_free(&r);
	free(m);

	/* Refused from the head alone, body or not. */
	snprintf(framing, sizeof(framing), "Content-Length: %d\r\n", 65539);
	m = make_response(framing, 65539, &len);
	assert_int_equal(read_canned(h, m, len, &r, &ka), SMSWAKE_EPROTO);
	assert_int_equal(r.too_large, 1);
	free(m);
	assert_int_equal(CANNED(h, "HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n", &r, &ka), SMSWAKE_EPROTO);
	assert_int_equal(r.too_large, 1);

	/* Delimited by the end of the connection. */
	m = make_response("", 65538, &len);
	assert_int_equal(read_canned(h, m, len, &r, &ka), SMSWAKE_OK);
	assert_int_equal(r.body_len, 65538);
	sw_response_free(&r);
	free(m);
	m = make_response("", 65539, &len);
	assert_int_equal(read_canned(h, m, len, &r, &ka), SMSWAKE_EPROTO);
	assert_int_equal(r.too_large, 1);
	free(m);
	m = make_response("", 300000, &len);
	assert_int_equal(read_canned(h, m, len, &r, &ka), SMSWAKE_EPROTO);
	assert_int_equal(r.too_large, 1);
	free(m);

	/* Chunked: one chunk too large, or chunks adding up to too much. */
	assert_int_equal(CANNED(h, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10003\r\n", &r, &ka),
			 SMSWAKE_EPROTO);
	assert_int_equal(r.too_large, 1);
	assert_int_equal(CANNED(h, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffff\r\n", &r, &ka),
			 SMSWAKE_EPROTO);
	assert_int_equal(r.too_large, 1);
	{
		size_t n = 65538 + 1, off;
		char *c = malloc(n + 256);

		assert_non_null(c);
		off = (size_t)snprintf(c, 256, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n", 65000);
		memset(c + off, 'y', 65000);
		off += 65000;
		off += (size_t)snprintf(c + off, 256, "\r\n%x\r\n", 539);
		memset(c + off, 'z', 539);
		off += 539;
		off += (size_t)snprintf(c + off, 256, "\r\n0\r\n\r\n");
		assert_int_equal(read_canned(h, c, off, &r, &ka), SMSWAKE_EPROTO);
		assert_int_equal(r.too_large, 1);
		free(c);
	}

	/* A protocol error is not "too large". */
	assert_int_equal(CANNED(h, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", &r, &ka),
			 SMSWAKE_EPROTO);
	assert_int_equal(r.too_large, 0);
}

/* The connection ends before the response does: an error, never a short success. */
static void test_read_truncated(void **state)
{
	static const struct lit cut[] = {
		LIT(""),
		LIT("HTTP/1.1 200 OK\r\n"),
		LIT("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n"),
		LIT("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r"),
		LIT("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"),
		LIT("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"),
		LIT("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n123456789"),
		LIT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
		LIT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5"),
		LIT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel"),
		LIT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello"),
		LIT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"),
		LIT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n"),
		LIT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-Trailer: 1\r\n"),
		LIT("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n"),
	};
	smswake_t *h = *state;
	struct sw_response r;
	int ka;

	for (size_t i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
		smswake_err err = read_canned(h, cut[i].s, cut[i].len, &r, &ka);

		if (err != SMSWAKE_ENETWORK)
			fail_msg("cut %zu: %s, not a network error: \"%s\"", i, smswake_strerror(err), cut[i].s);
		assert_int_equal(r.too_large, 0);
	}
}

/* Reads each chunked body after a good head; returns how many were not protocol errors. */
static unsigned read_bad_chunks(smswake_t *h, const struct lit *bad, size_t nbad)
{
	static const char head[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
	struct sw_response r;
	unsigned wrong = 0;
	char buf[512];
	int ka;

	for (size_t i = 0; i < nbad; i++) {
		smswake_err err;

		assert_true(sizeof(head) - 1 + bad[i].len <= sizeof(buf));
		memcpy(buf, head, sizeof(head) - 1);
		memcpy(buf + sizeof(head) - 1, bad[i].s, bad[i].len);
		err = read_canned(h, buf, sizeof(head) - 1 + bad[i].len, &r, &ka);
		if (err == SMSWAKE_OK)
			sw_response_free(&r);
		if (err != SMSWAKE_EPROTO) {
			print_message("chunks %zu: %s, not a protocol error: \"%.*s\"\n", i, smswake_strerror(err),
				      (int)bad[i].len, bad[i].s);
			wrong++;
		}
	}
	return wrong;
}

static void test_read_bad_chunks(void **state)
{
	static const struct lit bad[] = {
		LIT("zz\r\n"),
		LIT("\r\n"),
		LIT("-1\r\n"),
		LIT("0x5\r\nhello\r\n0\r\n\r\n"),
		LIT("+5\r\nhello\r\n0\r\n\r\n"),
		LIT(" 5\r\nhello\r\n0\r\n\r\n"),
		LIT("5 x\r\nhello\r\n0\r\n\r\n"),
		LIT("5\n"),
		LIT("5\nhello\r\n0\r\n\r\n"),
		LIT("5\r\r\nhello\r\n0\r\n\r\n"),
		LIT("fffffffffffffffffff\r\n"),
		/* a chunk line longer than any sane extension */
		LIT("5;aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n"
		    "hello\r\n0\r\n\r\n"),
		/* data longer than its size, or not followed by CRLF */
		LIT("3\r\nhello\r\n0\r\n\r\n"),
		LIT("5\r\nhello0\r\n\r\n"),
		LIT("5\r\nhello\n0\r\n\r\n"),
		LIT("5\r\nhello\r0\r\n\r\n"),
		/* a trailer section that never ends properly */
		LIT("0\r\nX-T: 1\n\r\n"),
	};
	assert_int_equal(read_bad_chunks(*state, bad, sizeof(bad) / sizeof(bad[0])), 0);
}

/* The head's limit: 16 KiB with its empty line. */
static void test_read_large_head(void **state)
{
	static const char start[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Pad: ";
	smswake_t *h = *state;
	struct sw_response r;
	size_t pad = 16384 - 4 - (sizeof(start) - 1), len;
	char *m = malloc(64 * 1024);
	int ka;

	assert_non_null(m);
	memcpy(m, start, sizeof(start) - 1);
	memset(m + sizeof(start) - 1, 'p', pad);
	len = sizeof(start) - 1 + pad;
	memcpy(m + len, "\r\n\r\nok", 6);
	assert_int_equal(read_canned(h, m, len + 6, &r, &ka), SMSWAKE_OK);
	assert_string_equal(r.body, "ok");
	sw_response_free(&r);

	/* One octet more. */
	memset(m + sizeof(start) - 1, 'p', pad + 1);
	memcpy(m + len + 1, "\r\n\r\nok", 6);
	assert_int_equal(read_canned(h, m, len + 7, &r, &ka), SMSWAKE_EPROTO);

	/* Many header lines, never ending. */
	len = 0;
	len += (size_t)snprintf(m, 64, "HTTP/1.1 200 OK\r\n");
	while (len + 32 < 64 * 1024)
		len += (size_t)snprintf(m + len, 64 * 1024 - len, "X-Header-%zu: value\r\n", len);
	assert_int_equal(read_canned(h, m, len, &r, &ka), SMSWAKE_EPROTO);
	free(m);
}

/* --- requests against a scripted raw TCP server --- */

#define SRV_MAX 8
#define SRV_WAIT_MS 5000

/* What the server does for one request. */
struct step {
	const char *reply; /* sent as is after reading a request; NULL: nothing */
	int close;         /* then close the connection */
	int rst;           /* close it with a reset (SO_LINGER 0) rather than a FIN */
	int no_read;       /* do not wait for a request: act as soon as the connection is there */
};

struct srv {
	int lfd;
	unsigned port;
	pthread_t thread;
	int running;
	const struct step *steps;
	size_t nsteps;
	/* results, to read after srv_stop */
	unsigned accepts;
	size_t nreq;
	char *req[SRV_MAX]; /* head and body, NUL-terminated */
	size_t req_len[SRV_MAX], req_head[SRV_MAX];
	unsigned req_conn[SRV_MAX]; /* the connection (1, 2, ...) it came on */
	size_t leftover;            /* octets after a request's body: a wrong Content-Length */
	const char *error;
};

static int srv_wait(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, SRV_WAIT_MS) == 1 ? 0 : -1;
}

static size_t request_body_len(const char *head)
{
	const char *cl = strcasestr(head, "\r\nContent-Length:");

	return cl != NULL ? strtoul(cl + 17, NULL, 10) : 0;
}

/* Reads one request: 1 when recorded, 0 when the client closed the connection before sending
 * anything, -1 on anything else. */
static int srv_read_request(struct srv *s, int cfd, unsigned conn, char **buf, size_t *len, size_t *cap)
{
	for (;;) {
		char *end = *len > 0 ? strstr(*buf, "\r\n\r\n") : NULL;
		ssize_t n;

		if (end != NULL) {
			size_t head, body;

			end[2] = '\0';
			body = request_body_len(*buf);
			end[2] = '\r';
			head = (size_t)(end + 4 - *buf);
			if (*len >= head + body) {
				if (s->nreq == SRV_MAX)
					return -1;
				s->req[s->nreq] = malloc(head + body + 1);
				if (s->req[s->nreq] == NULL)
					return -1;
				memcpy(s->req[s->nreq], *buf, head + body);
				s->req[s->nreq][head + body] = '\0';
				s->req_len[s->nreq] = head + body;
				s->req_head[s->nreq] = head;
				s->req_conn[s->nreq] = conn;
				s->nreq++;
				*len -= head + body;
				memmove(*buf, *buf + head + body, *len);
				(*buf)[*len] = '\0';
				if (*len > s->leftover)
					s->leftover = *len;
				return 1;
			}
		}
		if (*len == *cap) {
			size_t ncap = *cap ? *cap * 2 : 4096;
			char *nb = ncap <= 64 * 1024 * 1024 ? realloc(*buf, ncap + 1) : NULL;

			if (nb == NULL)
				return -1;
			*buf = nb;
			*cap = ncap;
		}
		if (srv_wait(cfd) != 0)
			return -1;
		n = recv(cfd, *buf + *len, *cap - *len, 0);
		if (n <= 0)
			return *len == 0 && (n == 0 || errno == ECONNRESET) ? 0 : -1;
		*len += (size_t)n;
		(*buf)[*len] = '\0';
	}
}

static int srv_send(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void srv_close(int fd, int rst)
{
	if (rst) {
		struct linger l = {.l_onoff = 1, .l_linger = 0};

		(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	}
	close(fd);
}

/* Plays the steps in order, one request each, accepting a new connection whenever there is none
 * or the client closed the current one. */
static void *srv_main(void *arg)
{
	struct srv *s = arg;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int cfd = -1;

	for (size_t i = 0; i < s->nsteps;) {
		const struct step *st = &s->steps[i];

		if (cfd < 0) {
			if (srv_wait(s->lfd) != 0 || (cfd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC)) < 0) {
				s->error = "no connection came";
				break;
			}
			s->accepts++;
			len = 0;
		}
		if (!st->no_read) {
			int r = srv_read_request(s, cfd, s->accepts, &buf, &len, &cap);

			if (r == 0) {
				close(cfd);
				cfd = -1;
				continue;
			}
			if (r < 0) {
				s->error = "no complete request came";
				break;
			}
		}
		if (st->reply != NULL && srv_send(cfd, st->reply, strlen(st->reply)) != 0) {
			s->error = "cannot send the reply";
			break;
		}
		i++;
		if (st->close) {
			srv_close(cfd, st->rst);
			cfd = -1;
		}
	}
	if (cfd >= 0)
		close(cfd);
	free(buf);
	return NULL;
}

/* Listens on an ephemeral port of 127.0.0.1 (or ::1); 0, or -1 if that address is unusable. */
static int srv_start_on(struct srv *s, const struct step *steps, size_t nsteps, int v6)
{
	struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	struct sockaddr *a = v6 ? (struct sockaddr *)&a6 : (struct sockaddr *)&a4;
	socklen_t al = v6 ? sizeof(a6) : sizeof(a4);

	memset(s, 0, sizeof(*s));
	s->steps = steps;
	s->nsteps = nsteps;
	s->lfd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->lfd < 0 || bind(s->lfd, a, al) != 0) {
		if (s->lfd >= 0)
			close(s->lfd);
		return -1;
	}
	assert_int_equal(listen(s->lfd, 8), 0);
	assert_int_equal(getsockname(s->lfd, a, &al), 0);
	s->port = ntohs(v6 ? a6.sin6_port : a4.sin_port);
	assert_int_equal(pthread_create(&s->thread, NULL, srv_main, s), 0);
	s->running = 1;
	return 0;
}

static void srv_start(struct srv *s, const struct step *steps, size_t nsteps)
{
	assert_int_equal(srv_start_on(s, steps, nsteps, 0), 0);
}

/* Joins the server; its results are readable afterwards. */
static void srv_stop(struct srv *s)
{
	if (s->running) {
		pthread_join(s->thread, NULL);
		s->running = 0;
		close(s->lfd);
	}
}

static void srv_free(struct srv *s)
{
	srv_stop(s);
	for (size_t i = 0; i < s->nreq; i++)
		free(s->req[i]);
	s->nreq = 0;
}

struct net {
	char dir[64];
	char state[96];
	smswake_t *h;
	struct srv srv;
};

static int setup_net(void **state)
{
	struct net *n = calloc(1, sizeof(*n));

	assert_non_null(n);
	snprintf(n->dir, sizeof(n->dir), "/tmp/test_client_http-XXXXXX");
	assert_non_null(mkdtemp(n->dir));
	snprintf(n->state, sizeof(n->state), "%s/state", n->dir);
	*state = n;
	return 0;
}

static int teardown_net(void **state)
{
	struct net *n = *state;
	char path[160];

	smswake_free(n->h);
	srv_free(&n->srv);
	unlink(n->state);
	snprintf(path, sizeof(path), "%s.lock", n->state);
	unlink(path);
	rmdir(n->dir);
	free(n);
	return 0;
}

/* A handle for the test's server (path appended to its URL as given), retrying as told. */
static smswake_t *net_handle_host(struct net *n, const char *host, const char *path, const char *retries,
				  const char *delay_ms)
{
	char url[96];
	smswake_t *h;

	snprintf(url, sizeof(url), "http://%s:%u%s", host, n->srv.port, path);
	assert_int_equal(smswake_new(&h), SMSWAKE_OK);
	assert_int_equal(smswake_setopt(h, "server", url), SMSWAKE_OK);
	assert_int_equal(smswake_setopt(h, "device_id", "12"), SMSWAKE_OK);
	assert_int_equal(smswake_setopt(h, "token", "tok-123.secret"), SMSWAKE_OK);
	assert_int_equal(smswake_setopt(h, "state_file", n->state), SMSWAKE_OK);
	assert_int_equal(smswake_setopt(h, "retries", retries), SMSWAKE_OK);
	assert_int_equal(smswake_setopt(h, "retry_delay_ms", delay_ms), SMSWAKE_OK);
	assert_int_equal(smswake_setopt(h, "retry_max_ms", delay_ms), SMSWAKE_OK);
	assert_int_equal(smswake_setopt(h, "connect_timeout", "5"), SMSWAKE_OK);
	assert_int_equal(smswake_setopt(h, "timeout", "5"), SMSWAKE_OK);
	n->h = h;
	return h;
}

static smswake_t *net_handle(struct net *n, const char *path, const char *retries, const char *delay_ms)
{
	return net_handle_host(n, "127.0.0.1", path, retries, delay_ms);
}

#define R_ONE "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none"
#define R_TWO "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\ntwo"
#define R_THREE "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nthree"
#define START(n, steps) srv_start(&(n)->srv, steps, sizeof(steps) / sizeof(steps[0]))

/* GET path, expecting 200 with body. */
static void get_ok(smswake_t *h, const char *path, const char *body)
{
	struct sw_response r;
	smswake_err err = sw_http_request(h, path, NULL, &r);

	if (err != SMSWAKE_OK)
		fail_msg("GET %s: %s: %s", path, smswake_strerror(err), smswake_errmsg(h));
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, body);
	sw_response_free(&r);
}

static void test_keep_alive(void **state)
{
	static const struct step steps[] = {{.reply = R_ONE}, {.reply = R_TWO}, {.reply = R_THREE}};
	struct net *n = *state;
	smswake_t *h;
	struct sw_response r;

	START(n, steps);
	h = net_handle(n, "", "0", "1");
	get_ok(h, "/v1/device/messages", "one");
	assert_int_equal(sw_http_request(h, "/v1/device/ack", "{}", &r), SMSWAKE_OK);
	assert_string_equal(r.body, "two");
	sw_response_free(&r);
	get_ok(h, "/v1/device/messages?after=2", "three");
	srv_stop(&n->srv);
	assert_null(n->srv.error);
	assert_int_equal(n->srv.accepts, 1);
	assert_int_equal(n->srv.nreq, 3);
	assert_int_equal(n->srv.req_conn[2], 1);
}

/* The server ends an idle kept-alive connection (FIN after its answer, or a reset when the next
 * request comes): the next request goes out again on a new connection at once, even with no
 * retries allowed, and without a back-off. */
static void test_stale_keep_alive(void **state)
{
	static const struct step fin[] = {{.reply = R_ONE, .close = 1}, {.reply = R_TWO}, {.reply = R_THREE}};
	static const struct step fin2[] = {{.reply = R_ONE, .close = 1}, {.reply = R_TWO}};
	static const struct step rst[] = {{.reply = R_ONE}, {.close = 1, .rst = 1}, {.reply = R_TWO}};
	struct net *n = *state;
	smswake_t *h;
	int64_t t0;

	/* A back-off would sleep at least ten seconds here; the bounds below leave room for a busy
	 * machine under the sanitizers. */
	START(n, fin);
	h = net_handle(n, "", "3", "20000");
	get_ok(h, "/v1/device/messages", "one");
	usleep(50 * 1000); /* the FIN has arrived */
	t0 = mono_ms();
	get_ok(h, "/v1/device/messages", "two");
	assert_true(mono_ms() - t0 < 5000);
	get_ok(h, "/v1/device/messages", "three");
	srv_stop(&n->srv);
	assert_null(n->srv.error);
	assert_int_equal(n->srv.accepts, 2);
	assert_int_equal(n->srv.nreq, 3);
	assert_int_equal(n->srv.req_conn[1], 2);
	assert_int_equal(n->srv.req_conn[2], 2);
	smswake_free(h);
	n->h = NULL;
	srv_free(&n->srv);

	START(n, fin2);
	h = net_handle(n, "", "0", "1");
	get_ok(h, "/v1/device/messages", "one");
	usleep(50 * 1000);
	get_ok(h, "/v1/device/messages", "two");
	srv_stop(&n->srv);
	smswake_free(h);
	n->h = NULL;
	assert_null(n->srv.error);
	assert_int_equal(n->srv.accepts, 2);
	srv_free(&n->srv);

	/* The request reaches the old connection and is answered by a reset: sent again. */
	START(n, rst);
	h = net_handle(n, "", "0", "1");
	get_ok(h, "/v1/device/messages", "one");
	t0 = mono_ms();
	get_ok(h, "/v1/device/messages?x", "two");
	assert_true(mono_ms() - t0 < 5000);
	srv_stop(&n->srv);
	assert_null(n->srv.error);
	assert_int_equal(n->srv.accepts, 2);
	assert_int_equal(n->srv.nreq, 3);
	assert_int_equal(n->srv.req_conn[1], 1);
	assert_int_equal(n->srv.req_conn[2], 2);
	assert_string_equal(n->srv.req[1], n->srv.req[2]);
}

/* "Connection: close" in an answer: the next request opens a new connection even though this
 * server would have kept the old one open. */
static void test_connection_close(void **state)
{
	static const struct step steps[] = {
		{.reply = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\none"},
		{.reply = "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\ntwo"},
		{.reply = "HTTP/1.1 200 OK\r\n\r\nthree", .close = 1},
		{.reply = R_ONE},
	};
	struct net *n = *state;
	smswake_t *h;

	START(n, steps);
	h = net_handle(n, "", "0", "1");
	get_ok(h, "/v1/device/messages", "one");
	get_ok(h, "/v1/device/messages", "two");
	/* Body delimited by the end of the connection: the server closes when the client does. */
	get_ok(h, "/v1/device/messages", "three");
	get_ok(h, "/v1/device/messages", "one");
	srv_stop(&n->srv);
	assert_null(n->srv.error);
	assert_int_equal(n->srv.accepts, 4);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(n->srv.req_conn[i], i + 1);
}

static int has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void test_request_format(void **state)
{
	static const struct step steps[] = {{.reply = R_ONE}, {.reply = R_TWO}, {.reply = R_THREE}};
	struct net *n = *state;
	struct sw_response r;
	char want[128], *big;
	const char *req;
	smswake_t *h;
	size_t bl = 100000;

	START(n, steps);
	h = net_handle(n, "/base", "0", "1");
	get_ok(h, "/v1/device/messages?after=0&max=50", "one");
	assert_int_equal(sw_http_request(h, "/v1/device/ack", "{\"seq\":3}", &r), SMSWAKE_OK);
	assert_string_equal(r.body, "two");
	sw_response_free(&r);
	big = malloc(bl + 3);
	assert_non_null(big);
	big[0] = '"';
	memset(big + 1, 'b', bl);
	big[bl + 1] = '"';
	big[bl + 2] = '\0';
	assert_int_equal(sw_http_request(h, "/v1/device/ack", big, &r), SMSWAKE_OK);
	assert_string_equal(r.body, "three");
	sw_response_free(&r);
	srv_stop(&n->srv);
	assert_null(n->srv.error);
	assert_int_equal(n->srv.nreq, 3);
	assert_int_equal(n->srv.leftover, 0);

	req = n->srv.req[0];
	assert_true(has_prefix(req, "GET /base/v1/device/messages?after=0&max=50 HTTP/1.1\r\n"));
	snprintf(want, sizeof(want), "\r\nHost: 127.0.0.1:%u\r\n", n->srv.port);
	assert_non_null(strstr(req, want));
	assert_non_null(strstr(req, "\r\nAuthorization: Bearer tok-123.secret\r\n"));
	assert_null(strcasestr(req, "Content-Length"));
	assert_int_equal(n->srv.req_len[0], n->srv.req_head[0]);

	req = n->srv.req[1];
	assert_true(has_prefix(req, "POST /base/v1/device/ack HTTP/1.1\r\n"));
	assert_non_null(strstr(req, want));
	assert_non_null(strstr(req, "\r\nAuthorization: Bearer tok-123.secret\r\n"));
	assert_non_null(strstr(req, "\r\nContent-Length: 9\r\n"));
	assert_non_null(strstr(req, "\r\nContent-Type: application/json\r\n"));
	assert_string_equal(req + n->srv.req_head[1], "{\"seq\":3}");

	req = n->srv.req[2];
	snprintf(want, sizeof(want), "\r\nContent-Length: %zu\r\n", bl + 2);
	assert_non_null(strstr(req, want));
	assert_int_equal(n->srv.req_len[2] - n->srv.req_head[2], bl + 2);
	assert_string_equal(req + n->srv.req_head[2], big);
	free(big);
}

/* An IPv6 literal: connected to, and named in brackets in the Host header. */
static void test_ipv6_host(void **state)
{
	static const struct step steps[] = {{.reply = R_ONE}};
	struct net *n = *state;
	char want[64];
	smswake_t *h;

	if (srv_start_on(&n->srv, steps, 1, 1) != 0)
		skip(); /* no IPv6 loopback here */
	h = net_handle_host(n, "[::1]", "/base", "0", "1");
	get_ok(h, "/v1/device/messages", "one");
	srv_stop(&n->srv);
	assert_null(n->srv.error);
	assert_int_equal(n->srv.nreq, 1);
	assert_true(has_prefix(n->srv.req[0], "GET /base/v1/device/messages HTTP/1.1\r\n"));
	snprintf(want, sizeof(want), "\r\nHost: [::1]:%u\r\n", n->srv.port);
	assert_non_null(strstr(n->srv.req[0], want));
}

/* Octets after a complete response (a body a 204 must not have, or plain garbage) cannot be the
 * next request's answer: that request goes out on a new connection. */
static void test_excess_after_response(void **state)
{
	static const struct step junk[] = {{.reply = R_ONE "junk"}, {.reply = R_TWO}};
	static const struct step no_content[] = {
		{.reply = "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello"},
		{.reply = R_TWO},
	};
	static const struct step spare[] = {{.reply = R_ONE R_THREE}, {.reply = R_TWO}};
	struct net *n = *state;
	struct sw_response r;
	smswake_t *h;

	START(n, junk);
	h = net_handle(n, "", "0", "1");
	get_ok(h, "/v1/device/messages", "one");
	get_ok(h, "/v1/device/messages", "two");
	smswake_free(h);
	n->h = NULL;
	srv_stop(&n->srv);
	assert_null(n->srv.error);
	assert_int_equal(n->srv.accepts, 2);
	srv_free(&n->srv);

	START(n, no_content);
	h = net_handle(n, "", "0", "1");
	assert_int_equal(sw_http_request(h, "/v1/device/messages", NULL, &r), SMSWAKE_OK);
	assert_int_equal(r.status, 204);
	assert_int_equal(r.body_len, 0);
	sw_response_free(&r);
	get_ok(h, "/v1/device/messages", "two");
	smswake_free(h);
	n->h = NULL;
	srv_stop(&n->srv);
	assert_null(n->srv.error);
	assert_int_equal(n->srv.accepts, 2);
	srv_free(&n->srv);

	/* A whole unsolicited response is not taken as the answer to the next request. */
	START(n, spare);
	h = net_handle(n, "", "0", "1");
	get_ok(h, "/v1/device/messages", "one");
	get_ok(h, "/v1/device/messages", "two");
	smswake_free(h);
	n->h = NULL;
	srv_stop(&n->srv);
	assert_null(n->srv.error);
	assert_int_equal(n->srv.accepts, 2);
}

/* The server dies in the middle of a body on a fresh connection: a network error once the
 * retries are spent, each retry on a new connection. */
static void test_close_mid_body(void **state)
{
	static const struct step cut[] = {
		{.reply = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial", .close = 1},
		{.reply = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\npart", .close = 1},
	};
	static const struct step reused[] = {
		{.reply = R_ONE},
		{.reply = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial", .close = 1},
	};
	struct net *n = *state;
	struct sw_response r;
	smswake_t *h;

	START(n, cut);
	h = net_handle(n, "", "1", "1");
	assert_int_equal(sw_http_request(h, "/v1/device/messages", NULL, &r), SMSWAKE_ENETWORK);
	assert_null(r.body);
	srv_stop(&n->srv);
	assert_null(n->srv.error);
	assert_int_equal(n->srv.accepts, 2);
	assert_int_equal(n->srv.nreq, 2);
	smswake_free(h);
	n->h = NULL;
	srv_free(&n->srv);

	/* On a reused connection too: something came back, so it is not the quiet end of an idle
	 * connection, and with no retries allowed the request is not sent again. */
	START(n, reused);
	h = net_handle(n, "", "0", "1");
	get_ok(h, "/v1/device/messages", "one");
	assert_int_equal(sw_http_request(h, "/v1/device/ack", "{}", &r), SMSWAKE_ENETWORK);
	assert_null(r.body);
	smswake_free(h);
	n->h = NULL;
	srv_stop(&n->srv);
	assert_null(n->srv.error);
	assert_int_equal(n->srv.accepts, 1);
	assert_int_equal(n->srv.nreq, 2);
}

/* A protocol error is the server's fault, not the network's: no retry. */
static void test_protocol_error_not_retried(void **state)
{
	static const struct step steps[] = {
		{.reply = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", .close = 1},
		{.reply = R_ONE},
	};
	struct net *n = *state;
	struct sw_response r;
	smswake_t *h;

	START(n, steps);
	h = net_handle(n, "", "3", "1");
	assert_int_equal(sw_http_request(h, "/v1/device/messages", NULL, &r), SMSWAKE_EPROTO);
	assert_null(r.body);
	/* The handle still works, on a new connection. */
	get_ok(h, "/v1/device/messages", "one");
	srv_stop(&n->srv);
	assert_null(n->srv.error);
	assert_int_equal(n->srv.nreq, 2);
	assert_int_equal(n->srv.accepts, 2);
}

/* With SIGPIPE at its default (terminate), a server that drops the connection while a large POST
 * is being sent must cost a network error, not the process. */
static void test_no_sigpipe(void **state)
{
	static const struct step rst[] = {{.no_read = 1, .close = 1, .rst = 1}};
	static const struct step fin[] = {{.no_read = 1, .close = 1}};
	static const struct step reused[] = {{.reply = R_ONE, .close = 1}, {.no_read = 1, .close = 1, .rst = 1}};
	struct net *n = *state;
	struct sw_response r;
	struct sigaction dfl = {.sa_handler = SIG_DFL}, old;
	size_t bl = 8 * 1024 * 1024;
	char *big = malloc(bl + 1);
	smswake_t *h;

	assert_non_null(big);
	memset(big, 'x', bl);
	big[bl] = '\0';
	assert_int_equal(sigaction(SIGPIPE, &dfl, &old), 0);

	START(n, rst);
	h = net_handle(n, "", "0", "1");
	assert_int_equal(sw_http_request(h, "/v1/device/ack", big, &r), SMSWAKE_ENETWORK);
	smswake_free(h);
	n->h = NULL;
	srv_free(&n->srv);
	assert_null(n->srv.error);

	START(n, fin);
	h = net_handle(n, "", "0", "1");
	assert_int_equal(sw_http_request(h, "/v1/device/ack", big, &r), SMSWAKE_ENETWORK);
	smswake_free(h);
	n->h = NULL;
	srv_free(&n->srv);
	assert_null(n->srv.error);

	/* The stale connection's replacement is dropped too. */
	START(n, reused);
	h = net_handle(n, "", "0", "1");
	get_ok(h, "/v1/device/messages", "one");
	usleep(50 * 1000);
	assert_int_equal(sw_http_request(h, "/v1/device/ack", big, &r), SMSWAKE_ENETWORK);
	srv_stop(&n->srv);
	assert_null(n->srv.error);
	assert_int_equal(n->srv.accepts, 2);

	assert_int_equal(sigaction(SIGPIPE, &old, NULL), 0);
	free(big);
}

static void test_closed_port(void **state)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	struct net *n = *state;
	struct sw_response r;
	char url[64];
	smswake_t *h;
	int64_t t0;
	int fd;

	/* A port that was free a moment ago and has no listener. */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	close(fd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", ntohs(a.sin_port));
	assert_int_equal(smswake_new(&h), SMSWAKE_OK);
	n->h = h;
	assert_int_equal(smswake_setopt(h, "server", url), SMSWAKE_OK);
	assert_int_equal(smswake_setopt(h, "token", "t"), SMSWAKE_OK);
	assert_int_equal(smswake_setopt(h, "retries", "2"), SMSWAKE_OK);
	assert_int_equal(smswake_setopt(h, "retry_delay_ms", "1"), SMSWAKE_OK);
	assert_int_equal(smswake_setopt(h, "retry_max_ms", "10"), SMSWAKE_OK);
	t0 = mono_ms();
	assert_int_equal(sw_http_request(h, "/v1/device/messages", NULL, &r), SMSWAKE_ENETWORK);
	assert_true(mono_ms() - t0 < 5000); /* refused at once, not after connect_timeout (15 s) */
	assert_null(r.body);
	assert_non_null(strstr(smswake_errmsg(h), "127.0.0.1"));
}

/* --- the request deadline against servers that never finish --- */

/* How a hostile server answers (after reading the request head, except STALL_READ). */
enum evil_mode {
	EVIL_FLOOD_1XX,  /* "100 Continue" heads, as fast as the socket takes them */
	EVIL_SLOW_1XX,   /* one "100 Continue" head every 200 ms */
	EVIL_DRIP_HEAD,  /* a final response head, one octet per second */
	EVIL_DRIP_BODY,  /* a whole head with Content-Length: 1000, then one body octet per second */
	EVIL_DRIP_CHUNK, /* a chunked head, then a chunked body one octet per second */
	EVIL_STALL_READ, /* never reads: a large request stops in the socket buffers */
};

#define EVIL_CAP_MS 20000 /* the server gives up on its own after this */

struct evil {
	int lfd;
	unsigned port;
	pthread_t thread;
	enum evil_mode mode;
	unsigned connections;
	size_t sent; /* octets of the answer sent */
};

/* 1 when the client has closed its end (or reset it). */
static int client_gone(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char buf[4096];
	ssize_t n;

	while (poll(&p, 1, 0) == 1) {
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return 1;
		if (n < 0)
			return 0;
	}
	return 0;
}

/* Sends within the server's own time cap; -1 once the client has gone or the cap passed. */
static int evil_send(int fd, const char *p, size_t len, int64_t end)
{
	while (len > 0) {
		ssize_t n;

		if (mono_ms() >= end)
			return -1;
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Sends s one octet a second, stopping when the client goes. */
static int evil_drip(struct evil *e, int fd, const char *s, int64_t end)
{
	for (; *s; s++) {
		if (evil_send(fd, s, 1, end) != 0)
			return -1;
		e->sent++;
		for (int64_t t = mono_ms() + 1000; mono_ms() < t;) {
			if (client_gone(fd) || mono_ms() >= end)
				return -1;
			usleep(20 * 1000);
		}
	}
	return 0;
}

static void *evil_main(void *arg)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	struct evil *e = arg;
	int64_t end = mono_ms() + EVIL_CAP_MS;
	struct timeval tv = {.tv_sec = 0, .tv_usec = 200 * 1000};
	char req[8192], flood[10000 * (sizeof(cont) - 1)];
	size_t rl = 0;
	int fd;

	if (srv_wait(e->lfd) != 0 || (fd = accept4(e->lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
		return NULL;
	e->connections++;
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (e->mode == EVIL_STALL_READ) {
		/* Notices the client's end without reading a single octet. */
		struct pollfd p = {.fd = fd, .events = POLLRDHUP};

		while (mono_ms() < end && !(poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR))))
			usleep(50 * 1000);
		close(fd);
		return NULL;
	}
	/* The request head. */
	while (rl < sizeof(req) - 1 && mono_ms() < end) {
		ssize_t n = recv(fd, req + rl, sizeof(req) - 1 - rl, 0);

		if (n == 0)
			break;
		if (n > 0) {
			rl += (size_t)n;
			req[rl] = '\0';
			if (strstr(req, "\r\n\r\n") != NULL)
				break;
		}
	}
	switch (e->mode) {
	case EVIL_FLOOD_1XX:
		for (size_t i = 0; i < sizeof(flood); i += sizeof(cont) - 1)
			memcpy(flood + i, cont, sizeof(cont) - 1);
		while (!client_gone(fd) && evil_send(fd, flood, sizeof(flood), end) == 0)
			e->sent += sizeof(flood);
		break;
	case EVIL_SLOW_1XX:
		while (!client_gone(fd) && evil_send(fd, cont, sizeof(cont) - 1, end) == 0) {
			e->sent += sizeof(cont) - 1;
			usleep(200 * 1000);
		}
		break;
	case EVIL_DRIP_HEAD: (void)evil_drip(e, fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", end); break;
	case EVIL_DRIP_BODY: {
		static const char head[] = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
		char body[1001];

		memset(body, 'b', 1000);
		body[1000] = '\0';
		if (evil_send(fd, head, sizeof(head) - 1, end) == 0)
			(void)evil_drip(e, fd, body, end);
		break;
	}
	case EVIL_DRIP_CHUNK: {
		static const char head[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";

		if (evil_send(fd, head, sizeof(head) - 1, end) == 0)
			(void)evil_drip(e, fd, "1\r\na\r\n1\r\nb\r\n1\r\nc\r\n1\r\nd\r\n1\r\ne\r\n1\r\nf\r\n0\r\n\r\n",
					end);
		break;
	}
	case EVIL_STALL_READ: break;
	}
	close(fd);
	return NULL;
}

static void evil_start(struct evil *e, enum evil_mode mode)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);

	memset(e, 0, sizeof(*e));
	e->mode = mode;
	e->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(e->lfd >= 0);
	assert_int_equal(bind(e->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(e->lfd, 8), 0);
	assert_int_equal(getsockname(e->lfd, (struct sockaddr *)&a, &al), 0);
	e->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&e->thread, NULL, evil_main, e), 0);
}

static void evil_stop(struct evil *e)
{
	pthread_join(e->thread, NULL);
	close(e->lfd);
}

#define DEADLINE_TIMEOUT_S 2
#define DEADLINE_MARGIN_MS 3000 /* room for a loaded machine under the sanitizers */

/* One request against a hostile server, with timeout 2 s and no retries: it must end with a
 * network error (a timeout) within the timeout and a margin, whatever the server keeps sending.
 * Returns the time it took in milliseconds. */
static int64_t hostile_request(struct net *n, enum evil_mode mode, const char *what)
{
	struct evil e;
	struct sw_response r;
	char url[64], num[16];
	smswake_t *h;
	smswake_err err;
	int64_t t0, took;
	size_t bl = 32 * 1024 * 1024;
	char *big = NULL;

	evil_start(&e, mode);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", e.port);
	snprintf(num, sizeof(num), "%d", DEADLINE_TIMEOUT_S);
	assert_int_equal(smswake_new(&h), SMSWAKE_OK);
	n->h = h;
	assert_int_equal(smswake_setopt(h, "server", url), SMSWAKE_OK);
	assert_int_equal(smswake_setopt(h, "token", "t"), SMSWAKE_OK);
	assert_int_equal(smswake_setopt(h, "retries", "0"), SMSWAKE_OK);
	assert_int_equal(smswake_setopt(h, "timeout", num), SMSWAKE_OK);
	assert_int_equal(smswake_setopt(h, "connect_timeout", num), SMSWAKE_OK);
	if (mode == EVIL_STALL_READ) {
		/* More than the socket buffers on both sides hold. */
		big = malloc(bl + 1);
		assert_non_null(big);
		memset(big, 'x', bl);
		big[bl] = '\0';
	}
	t0 = mono_ms();
	err = sw_http_request(h, "/v1/device/messages", big, &r);
	took = mono_ms() - t0;
	free(big);
	evil_stop(&e);
	print_message("%-46s %s after %lld ms (%s); the server sent %zu octets\n", what, smswake_strerror(err),
		      (long long)took, smswake_errmsg(h), e.sent);
	smswake_free(h);
	n->h = NULL;
	assert_int_equal(err, SMSWAKE_ENETWORK);
	assert_null(r.body);
	assert_true(took < DEADLINE_TIMEOUT_S * 1000 + DEADLINE_MARGIN_MS);
	assert_int_equal(e.connections, 1);
	return took;
}

static void test_deadline_flood_1xx(void **state)
{
	hostile_request(*state, EVIL_FLOOD_1XX, "endless 100 Continue heads, flooded:");
}

static void test_deadline_slow_1xx(void **state)
{
	hostile_request(*state, EVIL_SLOW_1XX, "a 100 Continue head every 200 ms:");
}

static void test_deadline_drip_head(void **state)
{
	hostile_request(*state, EVIL_DRIP_HEAD, "response head, one octet a second:");
}

static void test_deadline_drip_body(void **state)
{
	hostile_request(*state, EVIL_DRIP_BODY, "Content-Length body, one octet a second:");
}

static void test_deadline_drip_chunked(void **state)
{
	hostile_request(*state, EVIL_DRIP_CHUNK, "chunked body, one octet a second:");
}

static void test_deadline_stalled_send(void **state)
{
	hostile_request(*state, EVIL_STALL_READ, "32 MiB request to a server that never reads:");
}

/* The process state letter of /proc/PID/stat ('S' sleeping, 'T' stopped), or '?'. */
static char proc_state(pid_t pid)
{
	char path[64], buf[256], *rp;
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fp = fopen(path, "r");
	if (fp == NULL)
		return '?';
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	rp = strrchr(buf, ')');
	return rp != NULL && rp[1] == ' ' ? rp[2] : '?';
}

/* Deterministic form of the flood: the client is stopped (SIGSTOP) while it waits for more of a
 * response, its deadline passes, the rest of the response (a hundred more interim heads and a
 * final 200) is queued, and then it continues. Everything it reads from then on is ready at once,
 * so a deadline looked at only when there is nothing to read is never looked at again: the
 * response was accepted 1.5 s after the deadline. It must end in a timeout instead. */
/* Ends a test_deadline_after_stop that cannot go on: the child is killed and reaped. */
static void child_gone(pid_t pid, int fd)
{
	int st;

	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	close(fd);
}

static void test_deadline_after_stop(void **state)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	static const char final[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	int sv[2], ready[2], st = 0, queued = 1;
	pid_t pid;
	int64_t t0;
	char c;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* The client: 0 for a network error (the timeout), 1 for a response taken after its
		 * deadline, 2 for anything else. */
		smswake_t *h;
		struct sw_response r;
		int ka, rc = 2;

		close(sv[1]);
		close(ready[0]);
		if (smswake_new(&h) == SMSWAKE_OK && smswake_setopt(h, "timeout", "1") == SMSWAKE_OK &&
		    write(ready[1], "r", 1) == 1) {
			smswake_err err = sw_http_read_fd(h, sv[0], &r, &ka);

			rc = err == SMSWAKE_ENETWORK ? 0 : err == SMSWAKE_OK ? 1 : 2;
			if (err == SMSWAKE_OK)
				sw_response_free(&r);
		}
		smswake_free(h);
		close(sv[0]);
		close(ready[1]);
		_exit(rc);
	}
	close(sv[0]);
	close(ready[1]);
	/* The client's deadline starts now; one interim head, then wait until the client has read
	 * it (nothing left in this end's send queue) and sleeps waiting for more. */
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	t0 = mono_ms();
	assert_int_equal(send(sv[1], cont, sizeof(cont) - 1, MSG_NOSIGNAL), (ssize_t)(sizeof(cont) - 1));
	for (;;) {
		int unsent = -1;

		if (ioctl(sv[1], TIOCOUTQ, &unsent) == 0 && unsent == 0 && proc_state(pid) == 'S')
			break;
		if (mono_ms() - t0 > 700) {
			/* The machine is so busy that the client may be past its deadline before it
			 * can be stopped inside it: this run proves nothing. */
			child_gone(pid, sv[1]);
			skip();
		}
		usleep(2 * 1000);
	}
	assert_int_equal(kill(pid, SIGSTOP), 0);
	for (;;) {
		char ps = proc_state(pid);

		if (ps == 'T')
			break;
		if (ps == 'Z' || ps == '?' || mono_ms() - t0 > 20000) {
			child_gone(pid, sv[1]);
			fail_msg("the client did not stop (state %c)", ps);
		}
		usleep(1000);
	}
	usleep(1500 * 1000); /* its deadline (1 s) passes while it is stopped */
	for (int i = 0; i < 100; i++)
		queued &= send(sv[1], cont, sizeof(cont) - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof(cont) - 1);
	queued &= send(sv[1], final, sizeof(final) - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof(final) - 1);
	assert_int_equal(kill(pid, SIGCONT), 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	close(sv[1]);
	assert_true(queued);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) == 1)
		print_message("a response completed 1.5 s after the deadline was accepted\n");
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* --- found by this suite, fixed --- */

/* A NUL octet is not a token character, and a line holding one is neither an empty line nor a
 * chunk size. Both were once accepted: strchr() finds the terminating NUL, and chunk and trailer
 * lines are handed on as C strings, which a NUL cuts short. */
static void test_nul_octets(void **state)
{
	static const struct lit chunks[] = {
		/* chunk data longer than its size, the excess starting with a NUL */
		LIT("3\r\nabc\0junk\r\n0\r\n\r\n"),
		/* garbage after a NUL in a chunk size line */
		LIT("5\0zz\r\nhello\r\n0\r\n\r\n"),
		/* a trailer line starting with a NUL is not the end of the trailer section */
		LIT("0\r\n\0junk\r\n\r\n"),
	};
	struct sw_head_info hd;
	unsigned wrong;

	wrong = read_bad_chunks(*state, chunks, sizeof(chunks) / sizeof(chunks[0]));
	if (HEAD("HTTP/1.1 200 OK\r\nX\0Y: x\r\n", &hd) == 0) {
		print_message("a header name with a NUL accepted\n");
		wrong++;
	}
	if (HEAD("HTTP/1.1 200 OK\r\n\0: x\r\n", &hd) == 0) {
		print_message("a header name of one NUL accepted\n");
		wrong++;
	}
	assert_int_equal(wrong, 0);
}

/* user_agent goes into every request's head: CR LF in it would add header lines (or a whole
 * request). Either the option is refused or the request is; no injected line reaches the server. */
static void test_user_agent_injection(void **state)
{
	static const struct step steps[] = {{.reply = R_ONE}};
	struct net *n = *state;
	struct sw_response r;
	smswake_t *h;

	START(n, steps);
	h = net_handle(n, "", "0", "1");
	if (smswake_setopt(h, "user_agent", "agent/1\r\nX-Injected: 1") != SMSWAKE_OK)
		return;
	if (sw_http_request(h, "/v1/device/messages", NULL, &r) == SMSWAKE_OK)
		sw_response_free(&r);
	smswake_free(h);
	n->h = NULL;
	srv_stop(&n->srv);
	for (size_t i = 0; i < n->srv.nreq; i++)
		assert_null(strstr(n->srv.req[i], "\r\nX-Injected:"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_accepted),
		cmocka_unit_test(test_url_rejected),
		cmocka_unit_test(test_chunk_size_line),
		cmocka_unit_test(test_head_accepted),
		cmocka_unit_test(test_head_retry_after_date),
		cmocka_unit_test(test_head_rejected),
		cmocka_unit_test_setup_teardown(test_read_content_length, setup_reader, teardown_reader),
		cmocka_unit_test_setup_teardown(test_read_chunked, setup_reader, teardown_reader),
		cmocka_unit_test_setup_teardown(test_read_chunked_large, setup_reader, teardown_reader),
		cmocka_unit_test_setup_teardown(test_read_until_close, setup_reader, teardown_reader),
		cmocka_unit_test_setup_teardown(test_read_interim, setup_reader, teardown_reader),
		cmocka_unit_test_setup_teardown(test_read_no_body, setup_reader, teardown_reader),
		cmocka_unit_test_setup_teardown(test_read_too_large, setup_reader, teardown_reader),
		cmocka_unit_test_setup_teardown(test_read_truncated, setup_reader, teardown_reader),
		cmocka_unit_test_setup_teardown(test_read_bad_chunks, setup_reader, teardown_reader),
		cmocka_unit_test_setup_teardown(test_read_large_head, setup_reader, teardown_reader),
		cmocka_unit_test_setup_teardown(test_keep_alive, setup_net, teardown_net),
		cmocka_unit_test_setup_teardown(test_stale_keep_alive, setup_net, teardown_net),
		cmocka_unit_test_setup_teardown(test_connection_close, setup_net, teardown_net),
		cmocka_unit_test_setup_teardown(test_request_format, setup_net, teardown_net),
		cmocka_unit_test_setup_teardown(test_ipv6_host, setup_net, teardown_net),
		cmocka_unit_test_setup_teardown(test_excess_after_response, setup_net, teardown_net),
		cmocka_unit_test_setup_teardown(test_close_mid_body, setup_net, teardown_net),
		cmocka_unit_test_setup_teardown(test_protocol_error_not_retried, setup_net, teardown_net),
		cmocka_unit_test_setup_teardown(test_no_sigpipe, setup_net, teardown_net),
		cmocka_unit_test_setup_teardown(test_closed_port, setup_net, teardown_net),
		cmocka_unit_test_setup_teardown(test_deadline_flood_1xx, setup_net, teardown_net),
		cmocka_unit_test_setup_teardown(test_deadline_slow_1xx, setup_net, teardown_net),
		cmocka_unit_test_setup_teardown(test_deadline_drip_head, setup_net, teardown_net),
		cmocka_unit_test_setup_teardown(test_deadline_drip_body, setup_net, teardown_net),
		cmocka_unit_test_setup_teardown(test_deadline_drip_chunked, setup_net, teardown_net),
		cmocka_unit_test_setup_teardown(test_deadline_stalled_send, setup_net, teardown_net),
		cmocka_unit_test(test_deadline_after_stop),
		cmocka_unit_test_setup_teardown(test_nul_octets, setup_reader, teardown_reader),
		cmocka_unit_test_setup_teardown(test_user_agent_injection, setup_net, teardown_net),
	};
	return cmocka_run_group_tests_name("client-http", tests, NULL, NULL);
}
