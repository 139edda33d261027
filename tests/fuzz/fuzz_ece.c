/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the aes128gcm and Web Push decryptor (common/ece.c): bodies come from the
 * server, which relays what any application server sent. Never a crash, never plain text from a
 * body that did not authenticate. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ece.h"
#include "encode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* RFC 8291 appendix A's receiver, so seeds made from its example reach the record layer. */
	static const char priv64[] = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94";
	static const char pub64[] =
		"BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
	static const char auth64[] = "BTBZMqHH6r4Tts7J_aSIgg";
	static const uint8_t ikm[16] = {0};
	uint8_t priv[32], pub[65], auth[16], out[512];
	size_t n = 0;

	if (enc_unb64(priv64, strlen(priv64), priv, sizeof(priv), 1) != 32 ||
	    enc_unb64(pub64, strlen(pub64), pub, sizeof(pub), 1) != 65 ||
	    enc_unb64(auth64, strlen(auth64), auth, sizeof(auth), 1) != 16)
		abort();
	if (ece_webpush_decrypt(priv, pub, auth, data, size, out, sizeof(out), &n) == ECE_OK && n > sizeof(out))
		abort();
	n = 0;
	if (ece_decrypt(ikm, sizeof(ikm), data, size, out, sizeof(out), &n) == ECE_OK && n > sizeof(out))
		abort();
	return 0;
}
