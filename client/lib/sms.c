/* SPDX-License-Identifier: MIT */
/* Parsers for the forms in which a device receives an SMS: an SMS-DELIVER TPDU (3GPP TS 23.040)
 * and a gammu-smsd inbox file (Gammu's SMS backup format). Only what a wakeup needs is decoded, and
 * every length is checked against the octets present ("SMS of death" parsers trusted them).
 * The TPDU itself is decoded by common/wire/pdu.c (MIT, plain C, no libgammu). */
#include <string.h>
#include <strings.h>

#include "encode.h"
#include "internal.h"
#include "pdu.h"

/* A U+0000 would end the UTF-8 text early and hide what follows it: refuse such text instead. */
static int ucs2_has_nul(const uint8_t *in, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		if (in[i] == 0 && in[i + 1] == 0)
			return 1;
	return 0;
}

/* Converts a decoded DELIVER into what the verifier reads: the header with its UDHL octet back
 * in front, and the 8-bit user data after it, both copied into out->buf. */
static int from_pdu(const struct pdu_sms *p, struct sw_sms *out)
{
	size_t hdr = p->udhi ? (size_t)p->udh_len + 1 : 0;

	/* A compressed message is never a wakeup, and the decoder counts its user data in octets. */
	if (p->compressed)
		return -1;
	if (p->udhi) {
		out->buf[0] = p->udh_len;
		memcpy(out->buf + 1, p->udh, p->udh_len);
		out->udh = out->buf;
		out->udh_len = hdr;
	}
	if (p->coding != PDU_CODING_8BIT) {
		/* UTF-8; anything outside ASCII then fails the base64url decoder of the text form. */
		if (p->coding == PDU_CODING_UCS2 && ucs2_has_nul(p->ud, p->ud_len))
			return -1;
		if (pdu_sms_text(p, out->text, sizeof(out->text)) != PDU_OK)
			return -1;
		out->text_len = strlen(out->text);
		out->is_text = 1;
		return 0;
	}
	if (hdr + p->ud_len > sizeof(out->buf))
		return -1;
	memcpy(out->buf + hdr, p->ud, p->ud_len);
	out->ud = out->buf + hdr;
	out->ud_len = p->ud_len;
	return 0;
}

/* The decoder is common/wire/pdu.c, shared with the simulator and its tests: one parser of
 * SMS-DELIVER in the project. It checks every length against the octets present, rejects
 * trailing octets and malformed headers, and needs no allocation. */
int sw_parse_deliver(const uint8_t *pdu, size_t len, int with_smsc, struct sw_sms *out)
{
	struct pdu_sms p;

	memset(out, 0, sizeof(*out));
	if (pdu_decode_deliver(pdu, len, with_smsc, &p) != PDU_OK)
		return -1;
	return from_pdu(&p, out);
}

/* --- gammu-smsd inbox files --- */

#define SMSD_TEXT_PARTS 8
#define SMSD_HEX_MAX (4 * 160) /* UCS2 hex of 160 characters */

static void trim(const char **s, size_t *len)
{
	while (*len > 0 && (**s == ' ' || **s == '\t'))
		(*s)++, (*len)--;
	while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t' || (*s)[*len - 1] == '\r'))
		(*len)--;
}

/* Reads the one [SMSBackupNNN] section: UDH (hex, with its length octet), Text00, Text01, ...
 * (hex: raw octets for 8bit, UTF-16BE for the text codings) and Coding. Gammu writes one section
 * per SMS; more than one means a concatenated message, which is never a wakeup. */
int sw_parse_smsd(const char *data, size_t len, struct sw_sms *out)
{
	const char *udh = NULL, *coding = NULL, *text[SMSD_TEXT_PARTS] = {NULL};
	size_t udh_len = 0, coding_len = 0, text_len[SMSD_TEXT_PARTS] = {0};
	char hex[SMSD_HEX_MAX + 1];
	size_t hexlen = 0, pos = 0, nparts;
	int sections = 0, in_sms = 0, is_8bit;
	long n;

	memset(out, 0, sizeof(*out));
	while (pos < len) {
		const char *line = data + pos, *nl = memchr(line, '\n', len - pos), *eq;
		size_t ll = nl ? (size_t)(nl - line) : len - pos, kl, vl;
		const char *key, *val;

		pos += ll + (nl ? 1 : 0);
		trim(&line, &ll);
		if (ll == 0 || line[0] == ';' || line[0] == '#')
			continue;
		if (memchr(line, '\0', ll) != NULL)
			return -1;
		if (line[0] == '[') {
			if (line[ll - 1] != ']')
				return -1;
			in_sms = ll - 2 >= 9 && strncasecmp(line + 1, "SMSBackup", 9) == 0;
			if (in_sms && ++sections > 1)
				return -1;
			continue;
		}
		eq = memchr(line, '=', ll);
		if (eq == NULL)
			return -1;
		if (!in_sms)
			continue;
		key = line;
		kl = (size_t)(eq - line);
		val = eq + 1;
		vl = ll - kl - 1;
		trim(&key, &kl);
		trim(&val, &vl);
		if (kl == 3 && strncasecmp(key, "UDH", 3) == 0) {
			if (udh != NULL)
				return -1;
			udh = val;
			udh_len = vl;
		} else if (kl == 6 && strncasecmp(key, "Coding", 6) == 0) {
			if (coding != NULL)
				return -1;
			coding = val;
			coding_len = vl;
		} else if (kl == 6 && strncasecmp(key, "Text", 4) == 0 && key[4] >= '0' && key[4] <= '9' &&
			   key[5] >= '0' && key[5] <= '9') {
			int i = (key[4] - '0') * 10 + (key[5] - '0');
			if (i >= SMSD_TEXT_PARTS || text[i] != NULL)
				return -1;
			text[i] = val;
			text_len[i] = vl;
		}
	}
	if (sections != 1)
		return -1;
	/* Text00, Text01, ... must be contiguous. */
	for (nparts = 0; nparts < SMSD_TEXT_PARTS && text[nparts] != NULL; nparts++) {
		if (hexlen + text_len[nparts] > SMSD_HEX_MAX)
			return -1;
		memcpy(hex + hexlen, text[nparts], text_len[nparts]);
		hexlen += text_len[nparts];
	}
	for (size_t i = nparts; i < SMSD_TEXT_PARTS; i++)
		if (text[i] != NULL)
			return -1;
	hex[hexlen] = '\0';

	if (coding == NULL || (coding_len == 4 && strncasecmp(coding, "8bit", 4) == 0))
		is_8bit = 1; /* Gammu's default when Coding is missing */
	else if ((coding_len == 22 && strncasecmp(coding, "Default_No_Compression", 22) == 0) ||
		 (coding_len == 22 && strncasecmp(coding, "Unicode_No_Compression", 22) == 0))
		is_8bit = 0;
	else
		return -1;

	if (udh != NULL) {
		n = enc_unhex(udh, udh_len, out->buf, SW_UD_MAX);
		if (n < 1 || (size_t)out->buf[0] + 1 != (size_t)n)
			return -1;
		out->udh = out->buf;
		out->udh_len = (size_t)n;
	}
	if (!is_8bit) {
		uint8_t ucs2[SMSD_HEX_MAX / 2];

		n = enc_unhex(hex, hexlen, ucs2, sizeof(ucs2));
		if (n < 0 || (size_t)n > 2 * 160)
			return -1;
		if (ucs2_has_nul(ucs2, (size_t)n) ||
		    pdu_ucs2_to_utf8(ucs2, (size_t)n, out->text, sizeof(out->text)) != PDU_OK)
			return -1;
		out->text_len = strlen(out->text);
		out->is_text = 1;
		return 0;
	}
	n = enc_unhex(hex, hexlen, out->buf + out->udh_len, SW_UD_MAX - out->udh_len);
	if (n < 0)
		return -1;
	out->ud = out->buf + out->udh_len;
	out->ud_len = (size_t)n;
	return 0;
}
