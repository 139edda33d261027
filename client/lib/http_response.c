/* SPDX-License-Identifier: MIT */
/* One HTTP/1.1 response read from a connection: interim (1xx) heads skipped, then the final head
 * and its body, framed by Content-Length, the chunked transfer coding or the end of the
 * connection, each bounded. The parsing itself is in http_parse.c. */
#include <stdlib.h>
#include <string.h>

#include "http_internal.h"

void sw_response_free(struct sw_response *r)
{
	if (r != NULL) {
		free(r->body);
		r->body = NULL;
		r->body_len = 0;
	}
}

/* Finds the end of the head (the empty line) in rbuf, reading as needed. */
static enum io read_head(struct sw_http *http, int64_t deadline, size_t *head_len, int *got_any)
{
	size_t scanned = 0;
	int eof;

	for (;;) {
		const char *b = http->rbuf + http->rpos;
		size_t n = http->rlen - http->rpos;

		if (n > 0)
			*got_any = 1;
		for (size_t i = scanned > 3 ? scanned - 3 : 0; i + 3 < n; i++)
			if (b[i] == '\r' && b[i + 1] == '\n' && b[i + 2] == '\r' && b[i + 3] == '\n') {
				*head_len = i + 2;
				return IO_OK;
			}
		scanned = n;
		if (n >= HEAD_MAX)
			return sw_http_fail(http, IO_PROTO, "response head larger than %d octets", HEAD_MAX);
		{
			enum io rc = sw_conn_fill(http, deadline, &eof);
			if (rc != IO_OK)
				return rc;
		}
	}
}

/* Appends up to want octets of buffered or received data to the body. */
static enum io read_body_bytes(struct sw_http *http, int64_t deadline, char **body, size_t *blen, size_t *bcap,
			       uint64_t want, int until_eof)
{
	int eof;

	while (want > 0) {
		size_t avail = http->rlen - http->rpos, take;

		if (avail == 0) {
			enum io rc = sw_conn_fill(http, deadline, &eof);
			if (rc != IO_OK)
				return until_eof && eof ? IO_OK : rc;
			continue;
		}
		take = avail < want ? avail : (size_t)want;
		if (take > http->max - *blen)
			return sw_http_fail(http, IO_LARGE, "response larger than %zu octets", http->max);
		if (*blen + take + 1 > *bcap) {
			size_t cap = *bcap ? *bcap : 4096;
			char *nb;

			while (cap < *blen + take + 1)
				cap *= 2;
			nb = realloc(*body, cap);
			if (nb == NULL)
				return sw_http_fail(http, IO_FATAL, "out of memory");
			*body = nb;
			*bcap = cap;
		}
		memcpy(*body + *blen, http->rbuf + http->rpos, take);
		*blen += take;
		http->rpos += take;
		want -= take;
	}
	return IO_OK;
}

/* Reads one CRLF-terminated line (chunk sizes, trailers) into line. */
static enum io read_line(struct sw_http *http, int64_t deadline, char *line, size_t max)
{
	int eof;

	for (;;) {
		const char *b = http->rbuf + http->rpos;
		size_t n = http->rlen - http->rpos;
		const char *lf = memchr(b, '\n', n);

		if (lf != NULL) {
			size_t l = (size_t)(lf - b);
			/* Handed on as a C string: a NUL would hide what follows it. */
			if (l == 0 || b[l - 1] != '\r' || l - 1 >= max || memchr(b, '\0', l - 1) != NULL)
				return sw_http_fail(http, IO_PROTO, "bad line in a chunked body");
			memcpy(line, b, l - 1);
			line[l - 1] = '\0';
			http->rpos += l + 1;
			return IO_OK;
		}
		if (n >= max + 2)
			return sw_http_fail(http, IO_PROTO, "line too long in a chunked body");
		{
			enum io rc = sw_conn_fill(http, deadline, &eof);
			if (rc != IO_OK)
				return rc;
		}
	}
}

static enum io read_chunked(struct sw_http *http, int64_t deadline, char **body, size_t *blen, size_t *bcap)
{
	char line[LINE_MAX_CHUNK + 1];
	enum io rc;

	for (;;) {
		uint64_t size = 0;

		if ((rc = read_line(http, deadline, line, LINE_MAX_CHUNK)) != IO_OK)
			return rc;
		if (sw_http_parse_chunk_size(line, &size, http->err, sizeof(http->err)) != 0)
			return IO_PROTO;
		if (size == 0)
			break;
		if (size > http->max - *blen)
			return sw_http_fail(http, IO_LARGE, "response larger than %zu octets", http->max);
		if ((rc = read_body_bytes(http, deadline, body, blen, bcap, size, 0)) != IO_OK)
			return rc;
		if ((rc = read_line(http, deadline, line, LINE_MAX_CHUNK)) != IO_OK)
			return rc;
		if (line[0] != '\0')
			return sw_http_fail(http, IO_PROTO, "chunk longer than its size");
	}
	/* Trailer fields, ignored, up to the empty line. */
	for (unsigned n = 0;; n++) {
		if (n > 64)
			return sw_http_fail(http, IO_PROTO, "too many trailer fields");
		if ((rc = read_line(http, deadline, line, LINE_MAX_CHUNK)) != IO_OK)
			return rc;
		if (line[0] == '\0')
			return IO_OK;
	}
}

enum io sw_http_read_response(struct sw_http *http, int64_t deadline, struct sw_response *resp, int *got_any,
			      int *close_after)
{
	struct sw_head_info hd;
	size_t head_len = 0, blen = 0, bcap = 0;
	char *body = NULL;
	enum io rc;

	for (;;) {
		if ((rc = read_head(http, deadline, &head_len, got_any)) != IO_OK)
			return rc;
		if (sw_http_parse_head(http->rbuf + http->rpos, head_len, &hd, http->err, sizeof(http->err)) != 0)
			return IO_PROTO;
		http->rpos += head_len + 2;
		if (hd.status >= 200)
			break;
		if (hd.status == 101)
			return sw_http_fail(http, IO_PROTO, "unexpected protocol switch");
		/* Interim heads are allowed in any number, but only until the deadline, even when
		 * they are already buffered. */
		if (sw_deadline_passed(deadline))
			return sw_http_fail(http, IO_TIMEOUT, "waiting for %s timed out (interim responses only)",
					    http->hostport);
	}
	resp->status = hd.status;
	resp->next_poll = hd.next_poll;
	resp->retry_after = hd.retry_after;
	if (hd.status == 204 || hd.status == 304)
		rc = IO_OK;
	else if (hd.chunked)
		rc = read_chunked(http, deadline, &body, &blen, &bcap);
	else if (hd.length >= 0)
		rc = hd.length > (int64_t)http->max
			     ? sw_http_fail(http, IO_LARGE, "response larger than %zu octets", http->max)
			     : read_body_bytes(http, deadline, &body, &blen, &bcap, (uint64_t)hd.length, 0);
	else {
		/* Delimited by the end of the connection. Over TLS only a close_notify counts as
		 * that end (conn_fill reports a bare FIN as an error): truncation is not success. */
		rc = read_body_bytes(http, deadline, &body, &blen, &bcap, UINT64_MAX, 1);
		hd.close = 1;
	}
	if (rc != IO_OK) {
		free(body);
		return rc;
	}
	if (body == NULL)
		body = calloc(1, 1);
	if (body == NULL)
		return sw_http_fail(http, IO_FATAL, "out of memory");
	body[blen] = '\0';
	resp->body = body;
	resp->body_len = blen;
	*close_after = hd.close;
	return IO_OK;
}
