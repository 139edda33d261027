/* SPDX-License-Identifier: MIT */
/* libFuzzer target for everything in the client that parses outside input: SMS in each form
 * (line, PDU, text, gammu-smsd file), the server's message pages, the state file, the
 * registration JSON, and the HTTP layer (a server's response stream read through the framing of
 * http_response.c; and on their own the server URL, response head and chunk-size line parsers).
 * The first octet picks the parser. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "internal.h"
#include "smswake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static smswake_t *h_state;
static char dir[] = "/tmp/fuzz-client-XXXXXX";

/* libFuzzer ends with exit(): leave nothing behind in /tmp. */
static void teardown(void)
{
	char path[64];

	smswake_free(h_state);
	snprintf(path, sizeof(path), "%s/state", dir);
	(void)unlink(path);
	snprintf(path, sizeof(path), "%s/state.lock", dir);
	(void)unlink(path);
	(void)rmdir(dir);
}

static smswake_t *handle(void)
{
	smswake_t *h;
	char path[64];

	if (h_state != NULL)
		return h_state;
	if (mkdtemp(dir) == NULL || smswake_new(&h) != SMSWAKE_OK)
		abort();
	h_state = h;
	atexit(teardown);
	snprintf(path, sizeof(path), "%s/state", dir);
	if (smswake_setopt(h, "device_id", "12") || smswake_setopt(h, "state_file", path) ||
	    smswake_setopt(h, "wake_key", "LIvroXRZiPzRYfL9uAFM0pioVkWoC2zqBCinvtN7VXA="))
		abort();
	return h;
}

/* The HTTP layer's own handle: a max_body of 1 makes the body limit 65538 octets, within reach
 * of -max_len=70000. */
static smswake_t *http_handle(void)
{
	static smswake_t *h;

	if (h != NULL)
		return h;
	if (smswake_new(&h) != SMSWAKE_OK || smswake_setopt(h, "max_body", "1") || smswake_setopt(h, "timeout", "5"))
		abort();
	return h;
}

/* Keeps the octet sums below from being optimized away. */
static volatile unsigned body_sum;

/* Feeds the input as everything a server sent on a connection, then its end. The pipe holds the
 * whole input, so the write never blocks. */
static void http_stream(const char *s, size_t size)
{
	struct sw_response resp;
	unsigned sum = 0;
	int p[2], ka;
	long cap;

	if (pipe2(p, O_CLOEXEC) != 0)
		abort();
	(void)fcntl(p[1], F_SETPIPE_SZ, 1024 * 1024);
	cap = fcntl(p[1], F_GETPIPE_SZ);
	if (cap <= 0)
		abort();
	if (size > (size_t)cap)
		size = (size_t)cap;
	if (size > 0 && write(p[1], s, size) != (ssize_t)size)
		abort();
	close(p[1]);
	if (sw_http_read_fd(http_handle(), p[0], &resp, &ka) == SMSWAKE_OK) {
		/* Every octet of the body and its terminating NUL, so the sanitizers check the
		 * bounds; the NUL must be there. */
		for (size_t i = 0; i <= resp.body_len; i++)
			sum += (unsigned char)resp.body[i];
		if (resp.body[resp.body_len] != '\0' || (resp.status < 200 || resp.status > 599) || resp.too_large ||
		    (ka != 0 && ka != 1))
			abort();
		sw_response_free(&resp);
	} else if (resp.body != NULL) {
		abort();
	}
	body_sum = sum;
	close(p[0]);
}

/* A server URL, NUL-terminated as the option arrives (client/lib/http_url.c). */
static void http_url(const char *s, size_t size)
{
	char *z = malloc(size + 1), port[8], *host, *prefix;
	int tls, ip;

	if (z == NULL)
		return;
	memcpy(z, s, size);
	z[size] = '\0';
	if (sw_http_parse_url(z, &tls, &host, port, sizeof(port), &prefix, &ip) == 0) {
		size_t hl = strlen(host);

		if (hl == 0 || hl > 253 || (prefix[0] != '\0' && prefix[0] != '/') || port[0] < '1' || port[0] > '9' ||
		    strpbrk(host, "/?#@[] ") != NULL || strpbrk(prefix, "?# ") != NULL || (tls != 0 && tls != 1))
			abort();
		free(host);
		free(prefix);
	} else if (host != NULL || prefix != NULL) {
		abort();
	}
	free(z);
}

/* A response head, the exact octets so a read past their end is caught (http_parse.c). */
static void http_head(const char *s, size_t size)
{
	struct sw_head_info hd;
	char why[128] = "";

	if (sw_http_parse_head(s, size, &hd, why, sizeof(why)) == 0) {
		if (hd.status < 100 || hd.status > 599 || (hd.chunked && hd.length >= 0) || hd.length < -1 ||
		    hd.next_poll < -1 || hd.retry_after < -1)
			abort();
	} else if (why[0] == '\0') {
		abort();
	}
}

/* A chunk-size line, NUL-terminated as the reader hands it over (http_parse.c). */
static void http_chunk_line(const char *s, size_t size)
{
	char *z = malloc(size + 1), why[128] = "";
	uint64_t n = 0;

	if (z == NULL)
		return;
	memcpy(z, s, size);
	z[size] = '\0';
	if (sw_http_parse_chunk_size(z, &n, why, sizeof(why)) != 0 && why[0] == '\0')
		abort();
	free(z);
}

static smswake_err count(const struct smswake_message *m, void *ctx)
{
	/* Touch every octet so the sanitizers check the bounds the parser promised. */
	unsigned *sum = ctx;
	for (size_t i = 0; i <= m->body_len; i++)
		*sum += m->body[i];
	*sum += (unsigned)strlen(m->urgency) + (unsigned)strlen(m->content_type) +
		(m->topic ? (unsigned)strlen(m->topic) : 0);
	return SMSWAKE_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	smswake_t *h = handle();
	const char *s;
	char *copy, *out = NULL, err[128];
	struct sw_state st;
	struct sw_page page;
	unsigned sum = 0;

	if (size < 1)
		return 0;
	/* A private copy, so reads past the end are caught even for parsers given a length. */
	copy = malloc(size - 1 ? size - 1 : 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, data + 1, size - 1);
	s = copy;
	size--;
	/* 7 to 10 pick the HTTP layer, each of its parsers on its own; every other octet keeps the
	 * choice it has always made (tests/fuzz/corpus/client relies on it). */
	switch (data[0] >= 7 && data[0] <= 10 ? data[0] : data[0] % 7) {
	case 0: (void)smswake_handle_input(h, s, size, NULL); break;
	case 1: (void)smswake_handle_pdu(h, (const uint8_t *)s, size, NULL); break;
	case 2: (void)smswake_handle_smsd_file(h, s, size, NULL); break;
	case 3: (void)smswake_handle_text(h, s, size, NULL); break;
	case 4: (void)sw_parse_page(s, size, 4096, count, &sum, &page, err, sizeof(err)); break;
	case 5: (void)sw_state_parse(s, size, &st); break;
	case 6:
		if (cli_provision(s, size, "https://example.com", "/tmp/state", NULL, &out, err, sizeof(err)) == 0)
			free(out);
		break;
	case 7: http_stream(s, size); break;
	case 8: http_url(s, size); break;
	case 9: http_head(s, size); break;
	case 10: http_chunk_line(s, size); break;
	}
	free(copy);
	return 0;
}
