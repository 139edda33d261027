/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the wakeup codec decoders: binary payload, text form and the user data
 * header port parser, plus an encode/decode round trip that must always agree. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t master[32] = {1, 2, 3, 4, 5, 6, 7, 8};
	uint8_t key[WAKE_KEY_LEN], p[WAKE_PAYLOAD_LEN];
	char text[WAKE_TEXT_LEN + 1];
	struct wake_msg m, got;
	uint16_t port;

	if (wake_derive_key(master, sizeof(master), 1, 12, key) != 0)
		abort();
	(void)wake_decode(key, 1, WAKE_PORT_DEFAULT, data, size, &got);
	(void)wake_decode_text(key, 1, WAKE_PORT_DEFAULT, (const char *)data, size, &got);
	(void)wake_udh_port(data, size, &port);

	/* Round trip: any message the encoder accepts decodes to itself in both forms. */
	if (size >= 16) {
		memset(&m, 0, sizeof(m));
		m.flags = data[0] & WAKE_FLAGS_KNOWN;
		m.key_id = 1;
		memcpy(&m.counter, data + 1, 8);
		memcpy(&m.time, data + 9, 4);
		m.pending = data[13];
		port = (uint16_t)(data[14] << 8 | data[15]);
		if (wake_encode(key, port, &m, p, sizeof(p), NULL) != WAKE_OK ||
		    wake_decode(key, 1, port, p, sizeof(p), &got) != WAKE_OK || got.counter != m.counter ||
		    got.time != m.time || got.pending != m.pending || got.flags != m.flags)
			abort();
		if (wake_encode_text(key, port, &m, text, sizeof(text), NULL) != WAKE_OK ||
		    wake_decode_text(key, 1, port, text, WAKE_TEXT_LEN, &got) != WAKE_OK || got.counter != m.counter)
			abort();
	}
	return 0;
}
