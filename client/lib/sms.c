/* SPDX-License-Identifier: MIT */
/* Parsers for the forms in which a device receives an SMS: an SMS-DELIVER TPDU (3GPP TS 23.040)
 * and a gammu-smsd inbox file (Gammu's SMS backup format). Only what a wakeup needs is decoded, and
 * every length is checked against the octets present ("SMS of death" parsers trusted them).
 * TODO: switch sw_parse_deliver to common/pdu.c's pdu_decode_deliver once that is merged. */
#include <string.h>
#include <strings.h>

#include "encode.h"
#include "internal.h"

enum coding { CODING_GSM7, CODING_8BIT, CODING_UCS2 };

/* 3GPP TS 23.038 section 4; reserved groups read as the default alphabet, as it asks. */
static int dcs_coding(uint8_t dcs, enum coding *c)
{
	switch (dcs >> 4) {
	case 0x0: case 0x1: case 0x2: case 0x3:	/* general data coding */
	case 0x4: case 0x5: case 0x6: case 0x7:	/* same, marked for automatic deletion */
		if (dcs & 0x20)
			return -1; /* compressed: never a wakeup */
		switch ((dcs >> 2) & 3) {
		case 1: *c = CODING_8BIT; break;
		case 2: *c = CODING_UCS2; break;
		default: *c = CODING_GSM7; break;
		}
		return 0;
	case 0xe:
		*c = CODING_UCS2;
		return 0;
	case 0xf:
		*c = (dcs & 0x04) ? CODING_8BIT : CODING_GSM7;
		return 0;
	default:
		*c = CODING_GSM7;
		return 0;
	}
}

/* GSM 7-bit default alphabet to ASCII, for the characters a text-form wakeup can contain; the
 * rest become '?' so they can never pass the base64url decoder. */
static char gsm7_ascii(uint8_t s)
{
	if ((s >= 0x41 && s <= 0x5a) || (s >= 0x61 && s <= 0x7a) || (s >= 0x20 && s <= 0x3f && s != 0x24))
		return (char)s;
	switch (s) {
	case 0x00: return '@';
	case 0x02: return '$';
	case 0x11: return '_';
	case 0x0a: return '\n';
	case 0x0d: return '\r';
	default: return '?';
	}
}

static void unpack_gsm7(const uint8_t *in, size_t first, size_t n, struct sw_sms *out)
{
	size_t o = 0;

	for (size_t i = first; i < first + n && o < sizeof(out->text) - 1; i++) {
		size_t bit = i * 7, byte = bit / 8, shift = bit % 8;
		unsigned v = in[byte] >> shift;

		if (shift > 1)
			v |= (unsigned)in[byte + 1] << (8 - shift);
		v &= 0x7f;
		if (v == 0x1b) { /* escape to the extension table: not in a wakeup */
			out->text[o++] = '?';
			i++;
			continue;
		}
		out->text[o++] = gsm7_ascii((uint8_t)v);
	}
	out->text[o] = '\0';
	out->text_len = o;
}

static int ucs2_ascii(const uint8_t *in, size_t len, struct sw_sms *out)
{
	size_t o = 0;

	if (len % 2 != 0 || len / 2 >= sizeof(out->text))
		return -1;
	for (size_t i = 0; i < len; i += 2) {
		unsigned u = (unsigned)in[i] << 8 | in[i + 1];
		out->text[o++] = u < 0x80 && u != 0 ? (char)u : '?';
	}
	out->text[o] = '\0';
	out->text_len = o;
	return 0;
}

int sw_parse_deliver(const uint8_t *pdu, size_t len, int with_smsc, struct sw_sms *out)
{
	size_t pos = 0, rest;
	uint8_t fo, oalen, toa, dcs, udl;
	enum coding c;
	int udhi;

	memset(out, 0, sizeof(*out));
	if (with_smsc) {
		if (len < 1 || pdu[0] > 11 || (size_t)pdu[0] + 1 > len)
			return -1;
		pos = (size_t)pdu[0] + 1;
	}
	/* first octet, OA length, TOA */
	if (len - pos < 3)
		return -1;
	fo = pdu[pos++];
	if ((fo & 0x03) != 0x00) /* TP-MTI: SMS-DELIVER */
		return -1;
	udhi = (fo & 0x40) != 0;
	oalen = pdu[pos++];
	toa = pdu[pos++];
	if (oalen > 20 || !(toa & 0x80))
		return -1;
	/* address digits, PID, DCS, SCTS (7), UDL */
	if (len - pos < (size_t)(oalen + 1) / 2 + 1 + 1 + 7 + 1)
		return -1;
	pos += (size_t)(oalen + 1) / 2;
	pos++; /* TP-PID: any value; 0x40 (Type 0) is discarded by the modem before it gets here */
	dcs = pdu[pos++];
	pos += 7;
	udl = pdu[pos++];
	rest = len - pos;
	if (dcs_coding(dcs, &c) != 0)
		return -1;

	if (c == CODING_GSM7) {
		size_t hdr_septets = 0, udhl = 0;

		if (udl > 160 || rest != ((size_t)udl * 7 + 7) / 8)
			return -1;
		if (udhi) {
			if (rest < 1)
				return -1;
			udhl = pdu[pos];
			if (udhl + 1 > rest)
				return -1;
			hdr_septets = ((udhl + 1) * 8 + 6) / 7;
			if (hdr_septets > udl)
				return -1;
			out->udh = pdu + pos;
			out->udh_len = udhl + 1;
		}
		unpack_gsm7(pdu + pos, hdr_septets, udl - hdr_septets, out);
		out->is_text = 1;
		return 0;
	}

	if (udl > 140 || rest != udl)
		return -1;
	if (udhi) {
		size_t udhl;

		if (rest < 1)
			return -1;
		udhl = pdu[pos];
		if (udhl + 1 > rest)
			return -1;
		out->udh = pdu + pos;
		out->udh_len = udhl + 1;
		pos += udhl + 1;
		rest -= udhl + 1;
	}
	if (c == CODING_UCS2) {
		out->is_text = 1;
		return ucs2_ascii(pdu + pos, rest, out);
	}
	out->ud = pdu + pos;
	out->ud_len = rest;
	return 0;
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
		out->is_text = 1;
		return ucs2_ascii(ucs2, (size_t)n, out);
	}
	n = enc_unhex(hex, hexlen, out->buf + out->udh_len, SW_UD_MAX - out->udh_len);
	if (n < 0)
		return -1;
	out->ud = out->buf + out->udh_len;
	out->ud_len = (size_t)n;
	return 0;
}
