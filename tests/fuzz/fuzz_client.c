/* SPDX-License-Identifier: MIT */
/* libFuzzer target for everything in the client that parses outside input: SMS in each form
 * (line, PDU, text, gammu-smsd file), the server's message pages, the state file and the
 * registration JSON. The first octet picks the parser. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "internal.h"
#include "smswake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static smswake_t *handle(void)
{
	static smswake_t *h;
	static char dir[] = "/tmp/fuzz-client-XXXXXX";
	char path[64];

	if (h != NULL)
		return h;
	if (mkdtemp(dir) == NULL || smswake_new(&h) != SMSWAKE_OK)
		abort();
	snprintf(path, sizeof(path), "%s/state", dir);
	if (smswake_setopt(h, "device_id", "12") || smswake_setopt(h, "state_file", path) ||
	    smswake_setopt(h, "wake_key", "LIvroXRZiPzRYfL9uAFM0pioVkWoC2zqBCinvtN7VXA="))
		abort();
	return h;
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
	switch (data[0] % 7) {
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
	}
	free(copy);
	return 0;
}
