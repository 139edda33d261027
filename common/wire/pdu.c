/* SPDX-License-Identifier: MIT */
/* SMS PDU codec (3GPP TS 23.040, TS 23.038). The decoders parse input from modems and networks,
 * so every length octet is checked against the octets actually present before it is used. */
#include "pdu.h"

#include "encode.h"

#include <string.h>

/* Bounded reader and writer over a caller's buffer. */
struct pdu_rd {
	const uint8_t *p;
	size_t len;
	size_t pos;
};

struct pdu_wr {
	uint8_t *p;
	size_t max;
	size_t pos;
};

static const char *const pdu_errors[PDU_E_COUNT] = {
	[PDU_OK] = "success",
	[PDU_E_ARG] = "invalid argument",
	[PDU_E_TRUNCATED] = "PDU truncated",
	[PDU_E_TRAILING] = "octets after the user data",
	[PDU_E_SMSC_LEN] = "SMSC address length out of range",
	[PDU_E_MTI] = "unexpected message type",
	[PDU_E_ADDR_LEN] = "address longer than 20 digits",
	[PDU_E_ADDR_TOA] = "type of address without extension bit",
	[PDU_E_ADDR_DIGIT] = "bad digit or fill in address",
	[PDU_E_TIMESTAMP] = "bad timestamp",
	[PDU_E_VP] = "reserved validity period format",
	[PDU_E_DCS] = "unsupported data coding scheme",
	[PDU_E_UDL] = "user data length too large",
	[PDU_E_UD_LEN] = "user data shorter than its length",
	[PDU_E_UDH_LEN] = "user data header length out of range",
	[PDU_E_IE_LEN] = "information element overruns the header",
	[PDU_E_IE_VALUE] = "information element with bad length",
	[PDU_E_UCS2_ODD] = "odd number of UCS2 octets",
	[PDU_E_SPACE] = "output buffer too small",
	[PDU_E_TOO_LONG] = "user data too long",
	[PDU_E_CHARSET] = "character not in the GSM 7-bit alphabet",
	[PDU_E_HEX] = "bad hex",
	[PDU_E_NO_PORTS] = "no application-port element in the header",
};

const char *pdu_strerror(int err)
{
	if (err < 0 || err >= PDU_E_COUNT || pdu_errors[err] == NULL)
		return "unknown PDU error";
	return pdu_errors[err];
}

/* --- GSM 7-bit default alphabet (TS 23.038 6.2.1) --- */

static const uint16_t gsm7_basic[128] = {
	0x0040, 0x00A3, 0x0024, 0x00A5, 0x00E8, 0x00E9, 0x00F9, 0x00EC, 0x00F2, 0x00C7, 0x000A, 0x00D8, 0x00F8,
	0x000D, 0x00C5, 0x00E5, 0x0394, 0x005F, 0x03A6, 0x0393, 0x039B, 0x03A9, 0x03A0, 0x03A8, 0x03A3, 0x0398,
	0x039E, 0x00A0, 0x00C6, 0x00E6, 0x00DF, 0x00C9, 0x0020, 0x0021, 0x0022, 0x0023, 0x00A4, 0x0025, 0x0026,
	0x0027, 0x0028, 0x0029, 0x002A, 0x002B, 0x002C, 0x002D, 0x002E, 0x002F, 0x0030, 0x0031, 0x0032, 0x0033,
	0x0034, 0x0035, 0x0036, 0x0037, 0x0038, 0x0039, 0x003A, 0x003B, 0x003C, 0x003D, 0x003E, 0x003F, 0x00A1,
	0x0041, 0x0042, 0x0043, 0x0044, 0x0045, 0x0046, 0x0047, 0x0048, 0x0049, 0x004A, 0x004B, 0x004C, 0x004D,
	0x004E, 0x004F, 0x0050, 0x0051, 0x0052, 0x0053, 0x0054, 0x0055, 0x0056, 0x0057, 0x0058, 0x0059, 0x005A,
	0x00C4, 0x00D6, 0x00D1, 0x00DC, 0x00A7, 0x00BF, 0x0061, 0x0062, 0x0063, 0x0064, 0x0065, 0x0066, 0x0067,
	0x0068, 0x0069, 0x006A, 0x006B, 0x006C, 0x006D, 0x006E, 0x006F, 0x0070, 0x0071, 0x0072, 0x0073, 0x0074,
	0x0075, 0x0076, 0x0077, 0x0078, 0x0079, 0x007A, 0x00E4, 0x00F6, 0x00F1, 0x00FC, 0x00E0,
};

#define GSM7_ESC 0x1B

static const struct {
	uint8_t code;
	uint16_t ucs;
} gsm7_ext[] = {
	{0x0A, 0x000C}, {0x14, 0x005E}, {0x28, 0x007B}, {0x29, 0x007D}, {0x2F, 0x005C},
	{0x3C, 0x005B}, {0x3D, 0x007E}, {0x3E, 0x005D}, {0x40, 0x007C}, {0x65, 0x20AC},
};

/* Writes one code point as UTF-8; returns the octets used (1-4). */
static size_t utf8_put(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Reads one code point from NUL-terminated UTF-8, rejecting overlong forms, surrogates and
 * values above U+10FFFF. Returns 0 and advances *s, or -1. */
static int utf8_get(const char **s, uint32_t *cp)
{
	const unsigned char *p = (const unsigned char *)*s;
	uint32_t c = p[0], min;
	int n;

	if (c < 0x80) {
		n = 0;
		min = 0;
	} else if ((c & 0xE0) == 0xC0) {
		n = 1;
		c &= 0x1F;
		min = 0x80;
	} else if ((c & 0xF0) == 0xE0) {
		n = 2;
		c &= 0x0F;
		min = 0x800;
	} else if ((c & 0xF8) == 0xF0) {
		n = 3;
		c &= 0x07;
		min = 0x10000;
	} else {
		return -1;
	}
	for (int i = 1; i <= n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return -1;
		c = (c << 6) | (p[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return -1;
	*cp = c;
	*s += n + 1;
	return 0;
}

int pdu_gsm7_from_utf8(const char *utf8, uint8_t *septets, size_t max, size_t *n)
{
	size_t k = 0;

	if (utf8 == NULL || n == NULL || (septets == NULL && max > 0))
		return PDU_E_ARG;
	while (*utf8 != '\0') {
		uint32_t cp;
		int code = -1, ext = -1;

		if (utf8_get(&utf8, &cp) != 0)
			return PDU_E_CHARSET;
		for (int i = 0; i < 128; i++) {
			if (i != GSM7_ESC && gsm7_basic[i] == cp) {
				code = i;
				break;
			}
		}
		if (code < 0) {
			for (size_t i = 0; i < sizeof(gsm7_ext) / sizeof(gsm7_ext[0]); i++) {
				if (gsm7_ext[i].ucs == cp) {
					ext = gsm7_ext[i].code;
					break;
				}
			}
			if (ext < 0)
				return PDU_E_CHARSET;
			if (k + 2 > max)
				return PDU_E_TOO_LONG;
			septets[k++] = GSM7_ESC;
			septets[k++] = (uint8_t)ext;
		} else {
			if (k + 1 > max)
				return PDU_E_TOO_LONG;
			septets[k++] = (uint8_t)code;
		}
	}
	*n = k;
	return PDU_OK;
}

int pdu_gsm7_to_utf8(const uint8_t *septets, size_t n, char *out, size_t outmax)
{
	size_t k = 0;

	if (out == NULL || outmax == 0)
		return PDU_E_ARG;
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		uint32_t cp;
		char tmp[4];
		size_t m;

		if (septets[i] == GSM7_ESC) {
			if (i + 1 == n) {
				/* A lone trailing escape has no character; show a space. */
				cp = 0x20;
			} else {
				uint8_t c = septets[++i] & 0x7F;
				cp = gsm7_basic[c];
				for (size_t j = 0; j < sizeof(gsm7_ext) / sizeof(gsm7_ext[0]); j++) {
					if (gsm7_ext[j].code == c) {
						cp = gsm7_ext[j].ucs;
						break;
					}
				}
				if (c == GSM7_ESC)
					cp = 0x20;
			}
		} else {
			cp = gsm7_basic[septets[i] & 0x7F];
		}
		m = utf8_put(cp, tmp);
		if (k + m + 1 > outmax) {
			out[k] = '\0';
			return PDU_E_SPACE;
		}
		memcpy(out + k, tmp, m);
		k += m;
	}
	out[k] = '\0';
	return PDU_OK;
}

int pdu_gsm7_pack(const uint8_t *septets, size_t n, size_t first_septet, uint8_t *out, size_t outmax, size_t *octets)
{
	size_t start = 7 * first_septet;
	size_t total = (7 * (first_septet + n) + 7) / 8;

	if (out == NULL || octets == NULL || (septets == NULL && n > 0))
		return PDU_E_ARG;
	if (total > outmax)
		return PDU_E_SPACE;
	/* Keep the bits before the first septet (a header and its fill), clear the rest. */
	if (start / 8 < total) {
		out[start / 8] &= (uint8_t)((1u << (start % 8)) - 1);
		for (size_t i = start / 8 + 1; i < total; i++)
			out[i] = 0;
	}
	for (size_t i = 0; i < n; i++) {
		size_t bit = 7 * (first_septet + i);
		size_t byte = bit / 8, sh = bit % 8;
		unsigned v = septets[i] & 0x7F;

		out[byte] |= (uint8_t)(v << sh);
		if (sh > 1)
			out[byte + 1] |= (uint8_t)(v >> (8 - sh));
	}
	*octets = total;
	return PDU_OK;
}

int pdu_gsm7_unpack(const uint8_t *in, size_t inlen, size_t first_septet, size_t n, uint8_t *septets)
{
	if ((7 * (first_septet + n) + 7) / 8 > inlen)
		return PDU_E_TRUNCATED;
	for (size_t i = 0; i < n; i++) {
		size_t bit = 7 * (first_septet + i);
		size_t byte = bit / 8, sh = bit % 8;
		unsigned v = (unsigned)in[byte] >> sh;

		if (sh > 1)
			v |= (unsigned)in[byte + 1] << (8 - sh);
		septets[i] = (uint8_t)(v & 0x7F);
	}
	return PDU_OK;
}

int pdu_ucs2_to_utf8(const uint8_t *in, size_t len, char *out, size_t outmax)
{
	size_t k = 0;

	if (out == NULL || outmax == 0)
		return PDU_E_ARG;
	out[0] = '\0';
	if (len % 2)
		return PDU_E_UCS2_ODD;
	for (size_t i = 0; i < len; i += 2) {
		uint32_t cp = (uint32_t)in[i] << 8 | in[i + 1];
		char tmp[4];
		size_t m;

		if (cp >= 0xD800 && cp <= 0xDBFF && i + 3 < len) {
			uint32_t lo = (uint32_t)in[i + 2] << 8 | in[i + 3];
			if (lo >= 0xDC00 && lo <= 0xDFFF) {
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				i += 2;
			}
		}
		if (cp >= 0xD800 && cp <= 0xDFFF)
			cp = 0xFFFD; /* an unpaired surrogate cannot be written as UTF-8 */
		m = utf8_put(cp, tmp);
		if (k + m + 1 > outmax) {
			out[k] = '\0';
			return PDU_E_SPACE;
		}
		memcpy(out + k, tmp, m);
		k += m;
	}
	out[k] = '\0';
	return PDU_OK;
}

int pdu_utf8_to_ucs2(const char *utf8, uint8_t *out, size_t max, size_t *len)
{
	size_t k = 0;

	if (utf8 == NULL || len == NULL || (out == NULL && max > 0))
		return PDU_E_ARG;
	while (*utf8 != '\0') {
		uint32_t cp;

		if (utf8_get(&utf8, &cp) != 0)
			return PDU_E_CHARSET;
		if (cp >= 0x10000) {
			uint32_t v = cp - 0x10000, hi = 0xD800 + (v >> 10), lo = 0xDC00 + (v & 0x3FF);
			if (k + 4 > max)
				return PDU_E_TOO_LONG;
			out[k++] = (uint8_t)(hi >> 8);
			out[k++] = (uint8_t)hi;
			out[k++] = (uint8_t)(lo >> 8);
			out[k++] = (uint8_t)lo;
		} else {
			if (k + 2 > max)
				return PDU_E_TOO_LONG;
			out[k++] = (uint8_t)(cp >> 8);
			out[k++] = (uint8_t)cp;
		}
	}
	*len = k;
	return PDU_OK;
}

/* --- hex --- */

/* PDUs travel in upper-case hex on the AT interface; the codec itself is encode.c's. */
void pdu_hex(const uint8_t *in, size_t len, char *out)
{
	enc_hex_case(in, len, out, 1);
}

long pdu_unhex(const char *hex, size_t hexlen, uint8_t *out, size_t outmax)
{
	return hex == NULL ? -1 : enc_unhex(hex, hexlen, out, outmax);
}

/* --- time --- */

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t pdu_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

int pdu_time_from_unix(int64_t t, int tz_quarters, struct pdu_time *out)
{
	int64_t local, days, secs, era, y;
	unsigned doe, yoe, doy, mp, d, m;

	if (out == NULL || tz_quarters < -79 || tz_quarters > 79)
		return PDU_E_ARG;
	local = t + (int64_t)tz_quarters * 900;
	days = local / 86400;
	secs = local % 86400;
	if (secs < 0) {
		secs += 86400;
		days--;
	}
	days += 719468;
	era = (days >= 0 ? days : days - 146096) / 146097;
	doe = (unsigned)(days - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y += m <= 2;
	if (y < 2000 || y > 2099)
		return PDU_E_TIMESTAMP;
	out->year = (uint8_t)(y - 2000);
	out->month = (uint8_t)m;
	out->day = (uint8_t)d;
	out->hour = (uint8_t)(secs / 3600);
	out->minute = (uint8_t)(secs / 60 % 60);
	out->second = (uint8_t)(secs % 60);
	out->tz_quarters = (int8_t)tz_quarters;
	return PDU_OK;
}

int64_t pdu_time_to_unix(const struct pdu_time *t)
{
	int64_t days = pdu_days_from_civil(2000 + t->year, t->month, t->day);
	return days * 86400 + t->hour * 3600 + t->minute * 60 + t->second - (int64_t)t->tz_quarters * 900;
}

uint32_t pdu_vp_relative_seconds(uint8_t vp)
{
	if (vp <= 143)
		return ((uint32_t)vp + 1) * 300;
	if (vp <= 167)
		return 43200 + ((uint32_t)vp - 143) * 1800;
	if (vp <= 196)
		return ((uint32_t)vp - 166) * 86400;
	return ((uint32_t)vp - 192) * 604800;
}

uint8_t pdu_vp_relative_encode(uint32_t s)
{
	/* Each range runs up to the first period of the next range: below it, the longest period of
	 * this range is the longest one not exceeding s. */
	if (s < 600)
		return 0; /* 5 minutes, also for less: the shortest the octet can say */
	if (s < 45000)
		return (uint8_t)(s / 300 < 144 ? s / 300 - 1 : 143); /* 5-minute steps up to 12 hours */
	if (s < 2 * 86400)
		return (uint8_t)(143 + (s - 43200) / 1800 < 167 ? 143 + (s - 43200) / 1800 : 167); /* to a day */
	if (s < 5 * 604800)
		return (uint8_t)(166 + s / 86400 < 196 ? 166 + s / 86400 : 196); /* days, to 30 */
	if (s < 63u * 604800)
		return (uint8_t)(192 + s / 604800); /* weeks */
	return 255;
}

/* --- reader and writer --- */

static int rd_u8(struct pdu_rd *r, uint8_t *v)
{
	if (r->pos >= r->len)
		return PDU_E_TRUNCATED;
	*v = r->p[r->pos++];
	return PDU_OK;
}

static int rd_take(struct pdu_rd *r, size_t n, const uint8_t **v)
{
	if (r->len - r->pos < n)
		return PDU_E_TRUNCATED;
	*v = r->p + r->pos;
	r->pos += n;
	return PDU_OK;
}

static int wr_u8(struct pdu_wr *w, uint8_t v)
{
	if (w->pos >= w->max)
		return PDU_E_SPACE;
	w->p[w->pos++] = v;
	return PDU_OK;
}

static int wr_put(struct pdu_wr *w, const uint8_t *v, size_t n)
{
	if (w->max - w->pos < n)
		return PDU_E_SPACE;
	if (n > 0)
		memcpy(w->p + w->pos, v, n);
	w->pos += n;
	return PDU_OK;
}

#define TRY(x)                                                                                                         \
	do {                                                                                                           \
		int try_rc_ = (x);                                                                                     \
		if (try_rc_ != PDU_OK)                                                                                 \
			return try_rc_;                                                                                \
	} while (0)

/* --- addresses --- */

static const char pdu_bcd_digits[] = "0123456789*#abc";

/* Decodes n BCD semi-octets (low nibble first); a 0xF is allowed only as the fill nibble of an
 * odd count. */
static int pdu_bcd_decode(const uint8_t *oct, size_t n, char *out, size_t outmax)
{
	if (n + 1 > outmax)
		return PDU_E_ADDR_LEN;
	for (size_t i = 0; i < n; i++) {
		unsigned nib = i % 2 ? oct[i / 2] >> 4 : oct[i / 2] & 0x0F;
		if (nib == 0x0F)
			return PDU_E_ADDR_DIGIT;
		out[i] = pdu_bcd_digits[nib];
	}
	out[n] = '\0';
	if (n % 2 && (oct[n / 2] >> 4) != 0x0F)
		return PDU_E_ADDR_DIGIT;
	return PDU_OK;
}

static int rd_addr(struct pdu_rd *r, struct pdu_addr *a)
{
	uint8_t n, toa;
	const uint8_t *oct;

	TRY(rd_u8(r, &n));
	if (n > PDU_ADDR_DIGITS_MAX)
		return PDU_E_ADDR_LEN;
	TRY(rd_u8(r, &toa));
	if (!(toa & 0x80))
		return PDU_E_ADDR_TOA;
	TRY(rd_take(r, ((size_t)n + 1) / 2, &oct));
	a->toa = toa;
	if ((toa & 0x70) == 0x50) {
		/* Alphanumeric: GSM 7-bit packed; the length counts the semi-octets used. */
		uint8_t sep[PDU_ADDR_DIGITS_MAX];
		size_t ns = (size_t)n * 4 / 7;
		TRY(pdu_gsm7_unpack(oct, ((size_t)n + 1) / 2, 0, ns, sep));
		if (pdu_gsm7_to_utf8(sep, ns, a->text, sizeof(a->text)) != PDU_OK)
			return PDU_E_ADDR_LEN;
		return PDU_OK;
	}
	if ((toa & 0x70) == 0x10) {
		a->text[0] = '+';
		return pdu_bcd_decode(oct, n, a->text + 1, sizeof(a->text) - 1);
	}
	return pdu_bcd_decode(oct, n, a->text, sizeof(a->text));
}

static int rd_smsc(struct pdu_rd *r, struct pdu_addr *a)
{
	uint8_t l, toa;
	const uint8_t *oct;
	size_t n;

	TRY(rd_u8(r, &l));
	memset(a, 0, sizeof(*a));
	if (l == 0)
		return PDU_OK;
	if (l > PDU_SMSC_MAX - 1)
		return PDU_E_SMSC_LEN;
	TRY(rd_u8(r, &toa));
	if (!(toa & 0x80))
		return PDU_E_ADDR_TOA;
	TRY(rd_take(r, (size_t)l - 1, &oct));
	a->toa = toa;
	n = 2 * ((size_t)l - 1);
	if (n > 0 && (oct[n / 2 - 1] >> 4) == 0x0F)
		n--;
	if ((toa & 0x70) == 0x10) {
		a->text[0] = '+';
		return pdu_bcd_decode(oct, n, a->text + 1, sizeof(a->text) - 1);
	}
	return pdu_bcd_decode(oct, n, a->text, sizeof(a->text));
}

static int pdu_bcd_nibble(char c)
{
	switch (c) {
	case '*': return 0x0A;
	case '#': return 0x0B;
	case 'a':
	case 'A': return 0x0C;
	case 'b':
	case 'B': return 0x0D;
	case 'c':
	case 'C': return 0x0E;
	default: return c >= '0' && c <= '9' ? c - '0' : -1;
	}
}

/* Encodes the digits of a (after an optional '+') as BCD; returns the digit count or -error. */
static int pdu_bcd_encode(const struct pdu_addr *a, uint8_t *oct, size_t max)
{
	const char *s = a->text[0] == '+' ? a->text + 1 : a->text;
	size_t n = strlen(s);

	if (n > PDU_ADDR_DIGITS_MAX || (n + 1) / 2 > max)
		return -PDU_E_ADDR_LEN;
	memset(oct, 0xFF, (n + 1) / 2);
	for (size_t i = 0; i < n; i++) {
		int v = pdu_bcd_nibble(s[i]);
		if (v < 0)
			return -PDU_E_ADDR_DIGIT;
		if (i % 2)
			oct[i / 2] = (uint8_t)((oct[i / 2] & 0x0F) | v << 4);
		else
			oct[i / 2] = (uint8_t)((oct[i / 2] & 0xF0) | v);
	}
	return (int)n;
}

static uint8_t pdu_addr_toa(const struct pdu_addr *a)
{
	if (a->toa != 0)
		return a->toa;
	return a->text[0] == '+' ? PDU_TOA_INTERNATIONAL : PDU_TOA_UNKNOWN;
}

static int wr_addr(struct pdu_wr *w, const struct pdu_addr *a)
{
	uint8_t toa = pdu_addr_toa(a), oct[10];
	int n;

	if (!(toa & 0x80))
		return PDU_E_ADDR_TOA;
	if ((toa & 0x70) == 0x50) {
		uint8_t sep[PDU_ADDR_DIGITS_MAX];
		size_t ns, no;
		if (pdu_gsm7_from_utf8(a->text, sep, 11, &ns) != PDU_OK)
			return PDU_E_ADDR_LEN;
		TRY(pdu_gsm7_pack(sep, ns, 0, oct, sizeof(oct), &no));
		TRY(wr_u8(w, (uint8_t)((ns * 7 + 3) / 4)));
		TRY(wr_u8(w, toa));
		return wr_put(w, oct, no);
	}
	n = pdu_bcd_encode(a, oct, sizeof(oct));
	if (n < 0)
		return -n;
	TRY(wr_u8(w, (uint8_t)n));
	TRY(wr_u8(w, toa));
	return wr_put(w, oct, ((size_t)n + 1) / 2);
}

static int wr_smsc(struct pdu_wr *w, const struct pdu_addr *a)
{
	uint8_t oct[10];
	int n;

	if (a->text[0] == '\0' && a->toa == 0)
		return wr_u8(w, 0);
	if (!(pdu_addr_toa(a) & 0x80))
		return PDU_E_ADDR_TOA;
	n = pdu_bcd_encode(a, oct, sizeof(oct));
	if (n < 0)
		return -n;
	TRY(wr_u8(w, (uint8_t)(1 + (n + 1) / 2)));
	TRY(wr_u8(w, pdu_addr_toa(a)));
	return wr_put(w, oct, ((size_t)n + 1) / 2);
}

int pdu_encode_smsc(const char *number, uint8_t *out, size_t outmax, size_t *outlen)
{
	struct pdu_addr a;
	struct pdu_wr w;
	size_t n;

	if (number == NULL || out == NULL || outlen == NULL)
		return PDU_E_ARG;
	n = strlen(number);
	if (n >= sizeof(a.text))
		return PDU_E_ADDR_LEN;
	memset(&a, 0, sizeof(a));
	memcpy(a.text, number, n + 1);
	w.p = out;
	w.max = outmax;
	w.pos = 0;
	TRY(wr_smsc(&w, &a));
	*outlen = w.pos;
	return PDU_OK;
}

int pdu_smsc_field_len(const uint8_t *buf, size_t len)
{
	if (buf == NULL || len == 0 || buf[0] > PDU_SMSC_MAX - 1 || (size_t)buf[0] + 1 > len)
		return -1;
	return buf[0] + 1;
}

/* --- timestamps --- */

static int pdu_bcd2(uint8_t o, uint8_t *v)
{
	unsigned lo = o & 0x0F, hi = o >> 4;
	if (lo > 9 || hi > 9)
		return PDU_E_TIMESTAMP;
	*v = (uint8_t)(lo * 10 + hi);
	return PDU_OK;
}

static int pdu_time_check(const struct pdu_time *t)
{
	if (t->year > 99 || t->month < 1 || t->month > 12 || t->day < 1 || t->day > 31 || t->hour > 23 ||
	    t->minute > 59 || t->second > 59 || t->tz_quarters < -79 || t->tz_quarters > 79)
		return PDU_E_TIMESTAMP;
	return PDU_OK;
}

static int rd_time(struct pdu_rd *r, struct pdu_time *t)
{
	const uint8_t *o;
	unsigned tz;

	TRY(rd_take(r, 7, &o));
	TRY(pdu_bcd2(o[0], &t->year));
	TRY(pdu_bcd2(o[1], &t->month));
	TRY(pdu_bcd2(o[2], &t->day));
	TRY(pdu_bcd2(o[3], &t->hour));
	TRY(pdu_bcd2(o[4], &t->minute));
	TRY(pdu_bcd2(o[5], &t->second));
	/* The zone's tens digit shares its semi-octet with the sign bit. */
	if ((o[6] >> 4) > 9)
		return PDU_E_TIMESTAMP;
	tz = (o[6] & 0x07) * 10 + (o[6] >> 4);
	t->tz_quarters = (int8_t)((o[6] & 0x08) ? -(int)tz : (int)tz);
	return pdu_time_check(t);
}

static uint8_t pdu_tobcd2(unsigned v)
{
	return (uint8_t)((v % 10) << 4 | (v / 10));
}

static int wr_time(struct pdu_wr *w, const struct pdu_time *t)
{
	uint8_t o[7];
	unsigned tz = (unsigned)(t->tz_quarters < 0 ? -t->tz_quarters : t->tz_quarters);

	TRY(pdu_time_check(t));
	o[0] = pdu_tobcd2(t->year);
	o[1] = pdu_tobcd2(t->month);
	o[2] = pdu_tobcd2(t->day);
	o[3] = pdu_tobcd2(t->hour);
	o[4] = pdu_tobcd2(t->minute);
	o[5] = pdu_tobcd2(t->second);
	o[6] = (uint8_t)((tz % 10) << 4 | (tz / 10) | (t->tz_quarters < 0 ? 0x08 : 0));
	return wr_put(w, o, 7);
}

/* --- data coding scheme --- */

int pdu_dcs_parse(uint8_t dcs, enum pdu_coding *coding, int *msg_class, uint8_t *compressed)
{
	enum pdu_coding c = PDU_CODING_7BIT;
	int cls = -1;
	uint8_t comp = 0;

	switch (dcs >> 4) {
	case 0x0:
	case 0x1:
	case 0x2:
	case 0x3: /* general data coding */
	case 0x4:
	case 0x5:
	case 0x6:
	case 0x7: /* same, marked for automatic deletion */
		comp = (dcs & 0x20) != 0;
		if (dcs & 0x10)
			cls = dcs & 0x03;
		switch ((dcs >> 2) & 0x03) {
		case 1: c = PDU_CODING_8BIT; break;
		case 2: c = PDU_CODING_UCS2; break;
		default: c = PDU_CODING_7BIT; break; /* 3 is reserved: read as the default alphabet */
		}
		break;
	case 0xE: /* message waiting indication, store, UCS2 */ c = PDU_CODING_UCS2; break;
	case 0xF: /* data coding / message class */
		c = (dcs & 0x04) ? PDU_CODING_8BIT : PDU_CODING_7BIT;
		cls = dcs & 0x03;
		break;
	default: /* 0x8-0xB reserved, 0xC-0xD message waiting: default alphabet */ break;
	}
	if (coding)
		*coding = c;
	if (msg_class)
		*msg_class = cls;
	if (compressed)
		*compressed = comp;
	return PDU_OK;
}

/* --- user data header --- */

/* Parses s->udh into the element list and the fields derived from ports and concatenation IEs.
 * Repeated elements: the last one wins, as TS 23.040 9.2.3.24 asks. */
static int pdu_udh_parse(struct pdu_sms *s)
{
	size_t i = 0;

	s->n_ie = 0;
	s->has_ports = 0;
	s->port_bits = 0;
	s->dst_port = s->src_port = 0;
	s->has_concat = 0;
	s->concat_ref = 0;
	s->concat_total = s->concat_seq = 0;
	while (i < s->udh_len) {
		const uint8_t *d;
		uint8_t iei, l;

		if (s->udh_len - i < 2)
			return PDU_E_IE_LEN;
		iei = s->udh[i];
		l = s->udh[i + 1];
		if ((size_t)s->udh_len - i - 2 < l)
			return PDU_E_IE_LEN;
		if (s->n_ie >= PDU_IE_MAX)
			return PDU_E_IE_LEN;
		d = s->udh + i + 2;
		s->ie[s->n_ie].iei = iei;
		s->ie[s->n_ie].len = l;
		s->ie[s->n_ie].off = (uint8_t)(i + 2);
		s->n_ie++;
		switch (iei) {
		case PDU_IEI_PORTS16:
			if (l != 4)
				return PDU_E_IE_VALUE;
			s->has_ports = 1;
			s->port_bits = 16;
			s->dst_port = (uint16_t)(d[0] << 8 | d[1]);
			s->src_port = (uint16_t)(d[2] << 8 | d[3]);
			break;
		case PDU_IEI_PORTS8:
			if (l != 2)
				return PDU_E_IE_VALUE;
			s->has_ports = 1;
			s->port_bits = 8;
			s->dst_port = d[0];
			s->src_port = d[1];
			break;
		case PDU_IEI_CONCAT8:
		case PDU_IEI_CONCAT16: {
			size_t want = iei == PDU_IEI_CONCAT8 ? 3 : 4;
			uint8_t total, seq;
			if (l != want)
				return PDU_E_IE_VALUE;
			total = d[want - 2];
			seq = d[want - 1];
			/* A zero or out-of-range count makes the receiver ignore the element. */
			if (total == 0 || seq == 0 || seq > total)
				break;
			s->has_concat = 1;
			s->concat_ref = iei == PDU_IEI_CONCAT8 ? d[0] : (uint16_t)(d[0] << 8 | d[1]);
			s->concat_total = total;
			s->concat_seq = seq;
			break;
		}
		default: break;
		}
		i += 2 + (size_t)l;
	}
	return PDU_OK;
}

int pdu_udh_add_ie(struct pdu_sms *sms, uint8_t iei, const uint8_t *data, uint8_t len)
{
	if (sms == NULL || (data == NULL && len > 0))
		return PDU_E_ARG;
	/* The UDHL octet plus the elements must fit in 140 octets. */
	if ((size_t)sms->udh_len + 2 + len > PDU_UD_MAX_OCTETS - 1)
		return PDU_E_TOO_LONG;
	sms->udh[sms->udh_len] = iei;
	sms->udh[sms->udh_len + 1] = len;
	if (len > 0)
		memcpy(sms->udh + sms->udh_len + 2, data, len);
	sms->udh_len = (uint8_t)(sms->udh_len + 2 + len);
	sms->udhi = 1;
	return pdu_udh_parse(sms);
}

int pdu_udh_add_ports(struct pdu_sms *sms, uint16_t dst_port, uint16_t src_port)
{
	uint8_t d[4] = {(uint8_t)(dst_port >> 8), (uint8_t)dst_port, (uint8_t)(src_port >> 8), (uint8_t)src_port};
	return pdu_udh_add_ie(sms, PDU_IEI_PORTS16, d, sizeof(d));
}

void pdu_port_udh(uint8_t out[PDU_PORT_UDH_LEN], uint16_t dst_port, uint16_t src_port)
{
	out[0] = 0x06; /* UDHL: the octets after this one */
	out[1] = PDU_IEI_PORTS16;
	out[2] = 0x04; /* IEDL */
	out[3] = (uint8_t)(dst_port >> 8);
	out[4] = (uint8_t)dst_port;
	out[5] = (uint8_t)(src_port >> 8);
	out[6] = (uint8_t)src_port;
}

int pdu_udh_ports(const uint8_t *udh, size_t len, uint16_t *dst_port, uint16_t *src_port)
{
	struct pdu_sms s;
	int rc;

	if (udh == NULL || len < 1 || dst_port == NULL || src_port == NULL)
		return PDU_E_ARG;
	if ((size_t)udh[0] + 1 > len || udh[0] > PDU_UD_MAX_OCTETS - 1)
		return PDU_E_UDH_LEN;
	memset(&s, 0, sizeof(s));
	s.udh_len = udh[0];
	memcpy(s.udh, udh + 1, s.udh_len);
	rc = pdu_udh_parse(&s);
	if (rc != PDU_OK)
		return rc;
	if (!s.has_ports)
		return PDU_E_NO_PORTS;
	*dst_port = s.dst_port;
	*src_port = s.src_port;
	return PDU_OK;
}

/* --- user data --- */

static int rd_ud(struct pdu_rd *r, struct pdu_sms *s, int udhi)
{
	uint8_t udl;
	size_t octets, hdr_octets = 0, hdr_septets = 0, rest;
	const uint8_t *ud;
	int septets = s->coding == PDU_CODING_7BIT && !s->compressed;

	TRY(rd_u8(r, &udl));
	if (septets ? udl > PDU_UD_MAX_SEPTETS : udl > PDU_UD_MAX_OCTETS)
		return PDU_E_UDL;
	octets = septets ? ((size_t)udl * 7 + 7) / 8 : udl;
	rest = r->len - r->pos;
	if (rest < octets)
		return PDU_E_UD_LEN;
	if (rest > octets)
		return PDU_E_TRAILING;
	TRY(rd_take(r, octets, &ud));
	if (udhi) {
		if (octets == 0 || (size_t)ud[0] + 1 > octets)
			return PDU_E_UDH_LEN;
		hdr_octets = (size_t)ud[0] + 1;
		hdr_septets = (hdr_octets * 8 + 6) / 7;
		if (septets && hdr_septets > udl)
			return PDU_E_UDH_LEN;
		s->udh_len = ud[0];
		memcpy(s->udh, ud + 1, s->udh_len);
		TRY(pdu_udh_parse(s));
	}
	if (septets) {
		s->ud_len = (uint16_t)(udl - hdr_septets);
		return pdu_gsm7_unpack(ud, octets, hdr_septets, s->ud_len, s->ud);
	}
	s->ud_len = (uint16_t)(udl - hdr_octets);
	if (s->coding == PDU_CODING_UCS2 && s->ud_len % 2)
		return PDU_E_UCS2_ODD;
	memcpy(s->ud, ud + hdr_octets, s->ud_len);
	return PDU_OK;
}

static int wr_ud(struct pdu_wr *w, const struct pdu_sms *s)
{
	uint8_t ud[PDU_UD_MAX_OCTETS];
	size_t hdr_octets = s->udh_len ? (size_t)s->udh_len + 1 : 0, octets, udl;
	enum pdu_coding coding;
	uint8_t compressed;
	struct pdu_sms check;

	TRY(pdu_dcs_parse(s->dcs, &coding, NULL, &compressed));
	if (hdr_octets > PDU_UD_MAX_OCTETS)
		return PDU_E_TOO_LONG;
	if (s->udh_len) {
		/* Refuse to write a header a decoder would reject. */
		check.udh_len = s->udh_len;
		memcpy(check.udh, s->udh, s->udh_len);
		TRY(pdu_udh_parse(&check));
		ud[0] = s->udh_len;
		memcpy(ud + 1, s->udh, s->udh_len);
	}
	if (coding == PDU_CODING_7BIT && !compressed) {
		size_t hdr_septets = (hdr_octets * 8 + 6) / 7;
		if (s->ud_len > PDU_UD_MAX_SEPTETS || hdr_septets + s->ud_len > PDU_UD_MAX_SEPTETS)
			return PDU_E_TOO_LONG;
		for (size_t i = 0; i < s->ud_len; i++)
			if (s->ud[i] > 0x7F)
				return PDU_E_CHARSET;
		udl = hdr_septets + s->ud_len;
		if (hdr_octets < sizeof(ud))
			memset(ud + hdr_octets, 0, sizeof(ud) - hdr_octets);
		TRY(pdu_gsm7_pack(s->ud, s->ud_len, hdr_septets, ud, sizeof(ud), &octets));
		if (octets < hdr_octets)
			octets = hdr_octets;
	} else {
		if (s->ud_len > PDU_UD_MAX_OCTETS || hdr_octets + s->ud_len > PDU_UD_MAX_OCTETS)
			return PDU_E_TOO_LONG;
		if (coding == PDU_CODING_UCS2 && s->ud_len % 2)
			return PDU_E_UCS2_ODD;
		memcpy(ud + hdr_octets, s->ud, s->ud_len);
		udl = octets = hdr_octets + s->ud_len;
	}
	TRY(wr_u8(w, (uint8_t)udl));
	return wr_put(w, ud, octets);
}

/* --- decoders --- */

static void pdu_sms_init(struct pdu_sms *s, enum pdu_type type)
{
	memset(s, 0, sizeof(*s));
	s->type = type;
	s->msg_class = -1;
}

static int rd_dcs(struct pdu_rd *r, struct pdu_sms *s)
{
	TRY(rd_u8(r, &s->dcs));
	return pdu_dcs_parse(s->dcs, &s->coding, &s->msg_class, &s->compressed);
}

static int rd_vp(struct pdu_rd *r, struct pdu_sms *s)
{
	const uint8_t *o;

	switch (s->vpf) {
	case PDU_VPF_NONE: return PDU_OK;
	case PDU_VPF_RELATIVE:
		TRY(rd_take(r, 1, &o));
		s->vp[0] = o[0];
		s->vp_seconds = pdu_vp_relative_seconds(o[0]);
		return PDU_OK;
	case PDU_VPF_ABSOLUTE: {
		struct pdu_rd sub;
		TRY(rd_take(r, 7, &o));
		memcpy(s->vp, o, 7);
		sub.p = o;
		sub.len = 7;
		sub.pos = 0;
		return rd_time(&sub, &s->vp_time);
	}
	case PDU_VPF_ENHANCED:
		TRY(rd_take(r, 7, &o));
		memcpy(s->vp, o, 7);
		s->vp_single_shot = (o[0] & 0x40) != 0;
		switch (o[0] & 0x07) {
		case 0: /* no validity period specified */ break;
		case 1: s->vp_seconds = pdu_vp_relative_seconds(o[1]); break;
		case 2: s->vp_seconds = o[1]; break;
		case 3: {
			uint8_t h, m, sec;
			TRY(pdu_bcd2(o[1], &h));
			TRY(pdu_bcd2(o[2], &m));
			TRY(pdu_bcd2(o[3], &sec));
			if (m > 59 || sec > 59)
				return PDU_E_VP;
			s->vp_seconds = (uint32_t)h * 3600 + m * 60u + sec;
			break;
		}
		default: return PDU_E_VP;
		}
		return PDU_OK;
	}
	return PDU_E_VP;
}

static int pdu_begin(struct pdu_rd *r, const uint8_t *buf, size_t len, int with_smsc, struct pdu_sms *out,
		     enum pdu_type type, unsigned mti)
{
	if (out == NULL)
		return PDU_E_ARG;
	pdu_sms_init(out, type);
	if (buf == NULL)
		return PDU_E_ARG;
	r->p = buf;
	r->len = len;
	r->pos = 0;
	if (with_smsc)
		TRY(rd_smsc(r, &out->smsc));
	TRY(rd_u8(r, &out->first_octet));
	if ((out->first_octet & 0x03) != mti)
		return PDU_E_MTI;
	return PDU_OK;
}

int pdu_decode_submit(const uint8_t *buf, size_t len, int with_smsc, struct pdu_sms *out)
{
	struct pdu_rd r;
	uint8_t fo;

	TRY(pdu_begin(&r, buf, len, with_smsc, out, PDU_TYPE_SUBMIT, 1));
	fo = out->first_octet;
	out->reject_duplicates = (fo >> 2) & 1;
	out->vpf = (enum pdu_vpf)((fo >> 3) & 3);
	out->status_report = (fo >> 5) & 1;
	out->udhi = (fo >> 6) & 1;
	out->reply_path = (fo >> 7) & 1;
	TRY(rd_u8(&r, &out->mr));
	TRY(rd_addr(&r, &out->addr));
	TRY(rd_u8(&r, &out->pid));
	TRY(rd_dcs(&r, out));
	TRY(rd_vp(&r, out));
	return rd_ud(&r, out, out->udhi);
}

int pdu_decode_deliver(const uint8_t *buf, size_t len, int with_smsc, struct pdu_sms *out)
{
	struct pdu_rd r;
	uint8_t fo;

	TRY(pdu_begin(&r, buf, len, with_smsc, out, PDU_TYPE_DELIVER, 0));
	fo = out->first_octet;
	out->more_messages = !((fo >> 2) & 1);
	out->loop_prevention = (fo >> 3) & 1;
	out->status_report = (fo >> 5) & 1;
	out->udhi = (fo >> 6) & 1;
	out->reply_path = (fo >> 7) & 1;
	TRY(rd_addr(&r, &out->addr));
	TRY(rd_u8(&r, &out->pid));
	TRY(rd_dcs(&r, out));
	TRY(rd_time(&r, &out->scts));
	return rd_ud(&r, out, out->udhi);
}

int pdu_decode_status_report(const uint8_t *buf, size_t len, int with_smsc, struct pdu_sms *out)
{
	struct pdu_rd r;
	uint8_t fo, pi;

	TRY(pdu_begin(&r, buf, len, with_smsc, out, PDU_TYPE_STATUS_REPORT, 2));
	fo = out->first_octet;
	out->more_messages = !((fo >> 2) & 1);
	out->loop_prevention = (fo >> 3) & 1;
	out->status_report = (fo >> 5) & 1;
	out->udhi = (fo >> 6) & 1;
	TRY(rd_u8(&r, &out->mr));
	TRY(rd_addr(&r, &out->addr));
	TRY(rd_time(&r, &out->scts));
	TRY(rd_time(&r, &out->dt));
	TRY(rd_u8(&r, &out->st));
	if (r.pos == r.len)
		return PDU_OK;
	TRY(rd_u8(&r, &out->pi));
	/* Extension octets of TP-PI carry only reserved bits: skip them. */
	for (pi = out->pi; pi & 0x80;)
		TRY(rd_u8(&r, &pi));
	if (out->pi & 0x01)
		TRY(rd_u8(&r, &out->pid));
	if (out->pi & 0x02)
		TRY(rd_dcs(&r, out));
	if (out->pi & 0x04)
		return rd_ud(&r, out, out->udhi);
	return r.pos == r.len ? PDU_OK : PDU_E_TRAILING;
}

int pdu_decode_sc_to_ms(const uint8_t *buf, size_t len, int with_smsc, struct pdu_sms *out)
{
	size_t off = 0;

	if (buf == NULL || out == NULL)
		return PDU_E_ARG;
	if (with_smsc) {
		int l = pdu_smsc_field_len(buf, len);
		if (l < 0) {
			pdu_sms_init(out, PDU_TYPE_DELIVER);
			return len == 0 || buf[0] + 1u > len ? PDU_E_TRUNCATED : PDU_E_SMSC_LEN;
		}
		off = (size_t)l;
	}
	if (off >= len) {
		pdu_sms_init(out, PDU_TYPE_DELIVER);
		return PDU_E_TRUNCATED;
	}
	switch (buf[off] & 0x03) {
	case 0: return pdu_decode_deliver(buf, len, with_smsc, out);
	case 2: return pdu_decode_status_report(buf, len, with_smsc, out);
	default: pdu_sms_init(out, PDU_TYPE_DELIVER); return PDU_E_MTI;
	}
}

/* --- encoders --- */

static int pdu_wr_begin(struct pdu_wr *w, const struct pdu_sms *sms, int with_smsc, uint8_t *out, size_t outmax,
			size_t *outlen)
{
	if (sms == NULL || out == NULL || outlen == NULL)
		return PDU_E_ARG;
	w->p = out;
	w->max = outmax;
	w->pos = 0;
	if (with_smsc)
		return wr_smsc(w, &sms->smsc);
	return PDU_OK;
}

int pdu_encode_submit(const struct pdu_sms *sms, int with_smsc, uint8_t *out, size_t outmax, size_t *outlen)
{
	struct pdu_wr w;
	uint8_t fo;

	TRY(pdu_wr_begin(&w, sms, with_smsc, out, outmax, outlen));
	fo = (uint8_t)(0x01 | (sms->reject_duplicates ? 0x04 : 0) | (sms->vpf & 3) << 3 |
		       (sms->status_report ? 0x20 : 0) | (sms->udh_len ? 0x40 : 0) | (sms->reply_path ? 0x80 : 0));
	TRY(wr_u8(&w, fo));
	TRY(wr_u8(&w, sms->mr));
	TRY(wr_addr(&w, &sms->addr));
	TRY(wr_u8(&w, sms->pid));
	TRY(wr_u8(&w, sms->dcs));
	switch (sms->vpf) {
	case PDU_VPF_NONE: break;
	case PDU_VPF_RELATIVE: TRY(wr_u8(&w, pdu_vp_relative_encode(sms->vp_seconds))); break;
	case PDU_VPF_ABSOLUTE: TRY(wr_time(&w, &sms->vp_time)); break;
	case PDU_VPF_ENHANCED:
		if ((sms->vp[0] & 0x07) > 3)
			return PDU_E_VP;
		TRY(wr_put(&w, sms->vp, 7));
		break;
	default: return PDU_E_VP;
	}
	TRY(wr_ud(&w, sms));
	*outlen = w.pos;
	return PDU_OK;
}

int pdu_encode_deliver(const struct pdu_sms *sms, int with_smsc, uint8_t *out, size_t outmax, size_t *outlen)
{
	struct pdu_wr w;
	uint8_t fo;

	TRY(pdu_wr_begin(&w, sms, with_smsc, out, outmax, outlen));
	fo = (uint8_t)((sms->more_messages ? 0 : 0x04) | (sms->loop_prevention ? 0x08 : 0) |
		       (sms->status_report ? 0x20 : 0) | (sms->udh_len ? 0x40 : 0) | (sms->reply_path ? 0x80 : 0));
	TRY(wr_u8(&w, fo));
	TRY(wr_addr(&w, &sms->addr));
	TRY(wr_u8(&w, sms->pid));
	TRY(wr_u8(&w, sms->dcs));
	TRY(wr_time(&w, &sms->scts));
	TRY(wr_ud(&w, sms));
	*outlen = w.pos;
	return PDU_OK;
}

int pdu_encode_status_report(const struct pdu_sms *sms, int with_smsc, uint8_t *out, size_t outmax, size_t *outlen)
{
	struct pdu_wr w;
	uint8_t fo, pi;

	TRY(pdu_wr_begin(&w, sms, with_smsc, out, outmax, outlen));
	fo = (uint8_t)(0x02 | (sms->more_messages ? 0 : 0x04) | (sms->loop_prevention ? 0x08 : 0) |
		       (sms->status_report ? 0x20 : 0) | (sms->udh_len ? 0x40 : 0));
	TRY(wr_u8(&w, fo));
	TRY(wr_u8(&w, sms->mr));
	TRY(wr_addr(&w, &sms->addr));
	TRY(wr_time(&w, &sms->scts));
	TRY(wr_time(&w, &sms->dt));
	TRY(wr_u8(&w, sms->st));
	pi = (uint8_t)((sms->pid ? 0x01 : 0) | (sms->dcs ? 0x02 : 0) | (sms->ud_len || sms->udh_len ? 0x04 : 0));
	if (pi) {
		TRY(wr_u8(&w, pi));
		if (pi & 0x01)
			TRY(wr_u8(&w, sms->pid));
		if (pi & 0x02)
			TRY(wr_u8(&w, sms->dcs));
		if (pi & 0x04)
			TRY(wr_ud(&w, sms));
	}
	*outlen = w.pos;
	return PDU_OK;
}

/* --- text helpers --- */

int pdu_set_text(struct pdu_sms *sms, const char *utf8)
{
	uint8_t buf[PDU_UD_MAX_SEPTETS];
	size_t hdr_octets, n;
	int rc;

	if (sms == NULL || utf8 == NULL)
		return PDU_E_ARG;
	hdr_octets = sms->udh_len ? (size_t)sms->udh_len + 1 : 0;
	rc = pdu_gsm7_from_utf8(utf8, buf, PDU_UD_MAX_SEPTETS - (hdr_octets * 8 + 6) / 7, &n);
	if (rc == PDU_OK) {
		sms->dcs = 0x00;
		sms->coding = PDU_CODING_7BIT;
	} else if (rc == PDU_E_CHARSET) {
		rc = pdu_utf8_to_ucs2(utf8, buf, PDU_UD_MAX_OCTETS - hdr_octets, &n);
		if (rc != PDU_OK)
			return rc;
		sms->dcs = 0x08;
		sms->coding = PDU_CODING_UCS2;
	} else {
		return rc;
	}
	sms->msg_class = -1;
	sms->compressed = 0;
	memcpy(sms->ud, buf, n);
	sms->ud_len = (uint16_t)n;
	return PDU_OK;
}

int pdu_sms_text(const struct pdu_sms *sms, char *out, size_t outmax)
{
	enum pdu_coding coding;
	uint8_t compressed;

	if (sms == NULL || out == NULL || outmax == 0)
		return PDU_E_ARG;
	pdu_dcs_parse(sms->dcs, &coding, NULL, &compressed);
	out[0] = '\0';
	if (compressed)
		return PDU_E_DCS;
	if (coding == PDU_CODING_7BIT)
		return pdu_gsm7_to_utf8(sms->ud, sms->ud_len, out, outmax);
	if (coding == PDU_CODING_UCS2)
		return pdu_ucs2_to_utf8(sms->ud, sms->ud_len, out, outmax);
	return PDU_E_DCS;
}
