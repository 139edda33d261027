/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the SMS PDU decoders: every decoder, with and without the SMSC field,
 * and a re-encode of whatever decodes, which must decode again to the same message; and the
 * application-port reader of a whole user data header. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pdu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_roundtrip(const struct pdu_sms *s)
{
	uint8_t out[PDU_MAX];
	size_t len;
	struct pdu_sms again;
	char text[4 * PDU_UD_MAX_SEPTETS + 1];
	int rc;

	pdu_sms_text(s, text, sizeof(text));
	switch (s->type) {
	case PDU_TYPE_SUBMIT:
		rc = pdu_encode_submit(s, 1, out, sizeof(out), &len);
		if (rc == PDU_OK && pdu_decode_submit(out, len, 1, &again) != PDU_OK)
			abort();
		break;
	case PDU_TYPE_DELIVER:
		rc = pdu_encode_deliver(s, 1, out, sizeof(out), &len);
		if (rc == PDU_OK && pdu_decode_deliver(out, len, 1, &again) != PDU_OK)
			abort();
		break;
	default:
		rc = pdu_encode_status_report(s, 1, out, sizeof(out), &len);
		if (rc == PDU_OK && pdu_decode_status_report(out, len, 1, &again) != PDU_OK)
			abort();
		break;
	}
	/* What decoded and re-encoded must carry the same user data. */
	if (rc == PDU_OK && (again.ud_len != s->ud_len || memcmp(again.ud, s->ud, s->ud_len) != 0 ||
			     again.udh_len != s->udh_len || memcmp(again.udh, s->udh, s->udh_len) != 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pdu_sms s;
	char hex[2 * 256 + 1];
	uint8_t bin[256];

	for (int smsc = 0; smsc <= 1; smsc++) {
		if (pdu_decode_submit(data, size, smsc, &s) == PDU_OK)
			fuzz_roundtrip(&s);
		if (pdu_decode_deliver(data, size, smsc, &s) == PDU_OK)
			fuzz_roundtrip(&s);
		if (pdu_decode_status_report(data, size, smsc, &s) == PDU_OK)
			fuzz_roundtrip(&s);
		if (pdu_decode_sc_to_ms(data, size, smsc, &s) == PDU_OK)
			fuzz_roundtrip(&s);
	}
	pdu_smsc_field_len(data, size);
	{
		/* A whole user data header as a modem reports it (UDHL octet first). */
		uint16_t dport, sport;
		if (size > 0 && pdu_udh_ports(data, size, &dport, &sport) == PDU_OK && size < 5)
			abort();
	}
	/* The text helpers take outside input too. */
	{
		char text[4 * 256 + 1];
		uint8_t sep[256];
		size_t n = size < 256 ? size : 256, m;
		char *z = malloc(n + 1);
		if (z != NULL) {
			memcpy(z, data, n);
			z[n] = '\0';
			pdu_gsm7_from_utf8(z, sep, sizeof(sep), &m);
			pdu_utf8_to_ucs2(z, bin, sizeof(bin), &m);
			free(z);
		}
		pdu_gsm7_to_utf8(data, n, text, sizeof(text));
		pdu_ucs2_to_utf8(data, n & ~(size_t)1, text, sizeof(text));
		if (n <= 128) {
			pdu_hex(data, n, hex);
			if (pdu_unhex(hex, 2 * n, bin, sizeof(bin)) != (long)n || memcmp(bin, data, n))
				abort();
		}
	}
	return 0;
}
