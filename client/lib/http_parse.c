/* SPDX-License-Identifier: MIT */
/* Parsers of what an HTTP/1.1 server sends libsmswake, without any I/O, so each can be tested and
 * fuzzed on its own: the response head (status line and header fields) and the chunk-size line of
 * the chunked transfer coding. Both are strict (RFC 9112): whatever could be read two ways, as in
 * request smuggling, is refused. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "internal.h"

/* Whole non-negative decimal seconds; Retry-After may also be an HTTP date (IMF-fixdate). */
static long header_seconds(const char *v, size_t n, int allow_date)
{
	char tmp[64];
	long s = 0;
	size_t i;

	if (n == 0 || n >= sizeof(tmp))
		return -1;
	for (i = 0; i < n && v[i] >= '0' && v[i] <= '9'; i++) {
		if (s > 100000000)
			return -1;
		s = s * 10 + (v[i] - '0');
	}
	if (i == n)
		return s;
	if (!allow_date)
		return -1;
	memcpy(tmp, v, n);
	tmp[n] = '\0';
	{
		struct tm tm = {0};
		const char *end = strptime(tmp, "%a, %d %b %Y %H:%M:%S GMT", &tm);
		time_t t, now = time(NULL);

		if (end == NULL || *end != '\0')
			return -1;
		t = timegm(&tm);
		if (t == (time_t)-1)
			return -1;
		return t > now ? (long)(t - now) : 0;
	}
}

static int token_in_list(const char *v, size_t n, const char *token)
{
	size_t tl = strlen(token);

	for (size_t i = 0; i < n;) {
		size_t s, e;

		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		while (i < n && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - s == tl && strncasecmp(v + s, token, tl) == 0)
			return 1;
	}
	return 0;
}

static int is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Parses a response head (status line and header lines, each ending in CRLF, without the empty
 * line). 0, or -1 with why set. */
int sw_http_parse_head(const char *p, size_t len, struct sw_head_info *info, char *why, size_t whymax)
{
	struct sw_head_info hd = {.length = -1, .next_poll = -1, .retry_after = -1};
	const char *end = p + len, *eol;
	int minor, keep_alive = 0;

	if (len < 12 || memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1') || p[8] != ' ' || p[9] < '1' ||
	    p[9] > '5' || p[10] < '0' || p[10] > '9' || p[11] < '0' || p[11] > '9' ||
	    (len > 12 && p[12] != ' ' && p[12] != '\r')) {
		snprintf(why, whymax, "not an HTTP/1.x status line");
		return -1;
	}
	minor = p[7] - '0';
	hd.status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	eol = memchr(p, '\r', len);
	if (eol == NULL || eol + 1 >= end || eol[1] != '\n') {
		snprintf(why, whymax, "status line without CRLF");
		return -1;
	}
	for (size_t i = 12; p + i < eol; i++)
		if ((unsigned char)p[i] < ' ' && p[i] != '\t') {
			snprintf(why, whymax, "control character in the status line");
			return -1;
		}
	p = eol + 2;
	while (p < end) {
		const char *colon, *v, *ve;
		size_t nl;

		eol = memchr(p, '\r', (size_t)(end - p));
		if (eol == NULL || eol + 1 >= end || eol[1] != '\n') {
			snprintf(why, whymax, "header line without CRLF");
			return -1;
		}
		if (*p == ' ' || *p == '\t') {
			snprintf(why, whymax, "folded header line");
			return -1;
		}
		colon = memchr(p, ':', (size_t)(eol - p));
		if (colon == NULL || colon == p) {
			snprintf(why, whymax, "header line without a name");
			return -1;
		}
		for (const char *q = p; q < colon; q++)
			if (!is_tchar(*q)) {
				snprintf(why, whymax, "bad character in a header name");
				return -1;
			}
		nl = (size_t)(colon - p);
		v = colon + 1;
		ve = eol;
		for (const char *q = v; q < ve; q++)
			if (((unsigned char)*q < ' ' && *q != '\t') || *q == 0x7f) {
				snprintf(why, whymax, "control character in a header value");
				return -1;
			}
		while (v < ve && (*v == ' ' || *v == '\t'))
			v++;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		if (nl == 14 && strncasecmp(p, "Content-Length", 14) == 0) {
			int64_t n = 0;

			if (v == ve) {
				snprintf(why, whymax, "empty Content-Length");
				return -1;
			}
			for (const char *q = v; q < ve; q++) {
				if (*q < '0' || *q > '9' || n > INT64_MAX / 10 - 10) {
					snprintf(why, whymax, "bad Content-Length");
					return -1;
				}
				n = n * 10 + (*q - '0');
			}
			if (hd.length >= 0 && hd.length != n) {
				snprintf(why, whymax, "conflicting Content-Length headers");
				return -1;
			}
			hd.length = n;
		} else if (nl == 17 && strncasecmp(p, "Transfer-Encoding", 17) == 0) {
			/* Only "chunked" (no compression was asked for), and it must come last. */
			if (hd.chunked || !token_in_list(v, (size_t)(ve - v), "chunked") || (size_t)(ve - v) != 7) {
				snprintf(why, whymax, "unsupported Transfer-Encoding");
				return -1;
			}
			hd.chunked = 1;
		} else if (nl == 10 && strncasecmp(p, "Connection", 10) == 0) {
			if (token_in_list(v, (size_t)(ve - v), "close"))
				hd.close = 1;
			if (token_in_list(v, (size_t)(ve - v), "keep-alive"))
				keep_alive = 1;
		} else if (nl == 9 && strncasecmp(p, "Next-Poll", 9) == 0) {
			hd.next_poll = header_seconds(v, (size_t)(ve - v), 0);
		} else if (nl == 11 && strncasecmp(p, "Retry-After", 11) == 0) {
			hd.retry_after = header_seconds(v, (size_t)(ve - v), 1);
		}
		p = eol + 2;
	}
	if (hd.chunked && hd.length >= 0) {
		/* RFC 9112 6.3: a sign of request smuggling; the connection cannot be trusted. */
		snprintf(why, whymax, "both Transfer-Encoding and Content-Length");
		return -1;
	}
	if (minor == 0 && !keep_alive)
		hd.close = 1;
	*info = hd;
	return 0;
}

static int hex_digit(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

int sw_http_parse_chunk_size(const char *line, uint64_t *size, char *why, size_t whymax)
{
	const char *p = line;
	uint64_t n = 0;

	if (hex_digit(*p) < 0) {
		snprintf(why, whymax, "bad chunk size");
		return -1;
	}
	for (; hex_digit(*p) >= 0; p++) {
		if (n > (UINT64_MAX >> 8)) {
			snprintf(why, whymax, "chunk size too large");
			return -1;
		}
		n = n * 16 + (uint64_t)hex_digit(*p);
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '\0' && *p != ';') {
		snprintf(why, whymax, "bad chunk size");
		return -1;
	}
	*size = n;
	return 0;
}
