/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target for VAPID Authorization headers (fetch-server/vapid.c): any octets, never a
 * crash, and nothing verifies without a valid signature (which fuzzing cannot forge). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vapid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vapid_claims c;
	const char *t;
	size_t tlen;
	uint8_t key[VAPID_KEY_LEN];
	char *s = malloc(size + 1);

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (vapid_parse_header(s, &t, &tlen, key) == VAPID_OK && (t < s || t + tlen > s + size))
		abort();
	(void)vapid_verify(s, "https://push.example.net", 1799996400, &c);
	free(s);
	return 0;
}
