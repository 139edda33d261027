/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sendsms queries, smsbox's answers and delivery-report callbacks (kannel_msg.h). */
#include "kannel_msg.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pdu.h"

int kannel_urlencode(const uint8_t *in, size_t len, char *out, size_t outmax)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		uint8_t c = in[i];
		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
			if (o + 1 >= outmax)
				return -1;
			out[o++] = (char)c;
		} else {
			if (o + 3 >= outmax)
				return -1;
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	if (o >= outmax)
		return -1;
	out[o] = '\0';
	return (int)o;
}

/* Appends "&name=" and the encoded value; -1 when it does not fit. */
static int add(char *out, size_t outmax, size_t *o, const char *name, const uint8_t *v, size_t len)
{
	int n = snprintf(out + *o, outmax - *o, "%s%s=", *o ? "&" : "", name);

	if (n < 0 || (size_t)n >= outmax - *o)
		return -1;
	*o += (size_t)n;
	if ((n = kannel_urlencode(v, len, out + *o, outmax - *o)) < 0)
		return -1;
	*o += (size_t)n;
	return 0;
}

static int add_str(char *out, size_t outmax, size_t *o, const char *name, const char *v)
{
	return add(out, outmax, o, name, (const uint8_t *)v, strlen(v));
}

int kannel_sendsms_query(const struct kannel_send_params *p, const struct modem_sms_out *sms, char *out, size_t outmax)
{
	size_t o = 0;
	char num[16];

	if (outmax == 0 || modem_sms_check(sms) != MODEM_OK)
		return -1;
	out[0] = '\0';
	if (add_str(out, outmax, &o, "username", p->username) || add_str(out, outmax, &o, "password", p->password) ||
	    add_str(out, outmax, &o, "to", sms->number))
		return -1;
	if (p->from && p->from[0] && add_str(out, outmax, &o, "from", p->from))
		return -1;
	if (p->smsc && p->smsc[0] && add_str(out, outmax, &o, "smsc", p->smsc))
		return -1;
	if (sms->binary) {
		uint8_t udh[PDU_PORT_UDH_LEN];
		/* The same header a modem sends (common/pdu.c), length octet first as Kannel wants. */
		pdu_port_udh(udh, sms->dst_port, sms->src_port);
		if (add_str(out, outmax, &o, "coding", "1") || add(out, outmax, &o, "udh", udh, sizeof(udh)) ||
		    add(out, outmax, &o, "text", sms->data, sms->data_len))
			return -1;
	} else {
		int ucs2, units;
		if (modem_text_units(sms->text, &ucs2, &units) != 0)
			return -1;
		if (add_str(out, outmax, &o, "coding", ucs2 ? "2" : "0") ||
		    add_str(out, outmax, &o, "charset", "UTF-8") || add_str(out, outmax, &o, "text", sms->text))
			return -1;
	}
	if (sms->validity_minutes > 0) {
		snprintf(num, sizeof(num), "%d", sms->validity_minutes);
		if (add_str(out, outmax, &o, "validity", num))
			return -1;
	}
	if (p->dlr_mask > 0 && p->dlr_url && p->dlr_url[0]) {
		snprintf(num, sizeof(num), "%d", p->dlr_mask);
		if (add_str(out, outmax, &o, "dlr-mask", num) || add_str(out, outmax, &o, "dlr-url", p->dlr_url))
			return -1;
	}
	return (int)o;
}

int kannel_answer_parse(long status, const char *body, size_t len, char *msg, size_t msglen)
{
	size_t o = 0;
	int rc;

	if (msglen > 0) {
		for (size_t i = 0; i < len && body[i] != '\n' && body[i] != '\r' && o + 1 < msglen; i++)
			msg[o++] = isprint((unsigned char)body[i]) ? body[i] : '?';
		msg[o] = '\0';
		if (o == 0)
			snprintf(msg, msglen, "HTTP %ld", status);
	}
	if (status >= 200 && status < 300) {
		/* "3: Queued for later delivery": Kannel holds it until its SMSC link is back. */
		/* Any other 2xx is still an acceptance: smsbox took the request. */
		rc = len >= 2 && body[0] == '3' && body[1] == ':' ? KANNEL_ANS_QUEUED : KANNEL_ANS_ACCEPTED;
		return rc;
	}
	if (status >= 400 && status < 500)
		return KANNEL_ANS_REFUSED;
	return KANNEL_ANS_THROTTLED;
}

static int hexval(int c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

/* Decodes a percent-encoded value of len bytes into out; -1 when malformed or too long. */
static int urldecode(const char *in, size_t len, char *out, size_t outmax)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)in[i];
		if (c == '%') {
			int h, l;
			if (i + 2 >= len || (h = hexval(in[i + 1])) < 0 || (l = hexval(in[i + 2])) < 0)
				return -1;
			c = h * 16 + l;
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (c == 0 || o + 1 >= outmax)
			return -1;
		out[o++] = (char)c;
	}
	if (outmax == 0)
		return -1;
	out[o] = '\0';
	return (int)o;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (max - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

int kannel_dlr_parse(const char *q, size_t len, uint64_t *id, int *type, char *key, size_t keymax)
{
	int have_id = 0, have_t = 0, have_k = 0;
	size_t i = 0;

	while (i < len) {
		size_t end = i, eq;
		char val[128];
		uint64_t v;

		while (end < len && q[end] != '&')
			end++;
		for (eq = i; eq < end && q[eq] != '='; eq++)
			;
		if (eq < end) {
			const char *name = q + i;
			size_t nlen = eq - i;
			if (urldecode(q + eq + 1, end - eq - 1, val, sizeof(val)) < 0)
				return -1;
			if (nlen == 2 && memcmp(name, "id", 2) == 0) {
				if (have_id++ || parse_u64(val, UINT64_MAX, id) != 0 || *id == 0)
					return -1;
			} else if (nlen == 1 && name[0] == 't') {
				if (have_t++ || parse_u64(val, 255, &v) != 0)
					return -1;
				*type = (int)v;
			} else if (nlen == 1 && name[0] == 'k') {
				if (have_k++ || strlen(val) >= keymax)
					return -1;
				memcpy(key, val, strlen(val) + 1);
			}
		}
		i = end + 1;
	}
	return have_id == 1 && have_t == 1 && have_k == 1 ? 0 : -1;
}

int kannel_dlr_outcome(int type)
{
	if (type == KANNEL_DLR_DELIVERED)
		return 1;
	if (type == KANNEL_DLR_FAILED || type == KANNEL_DLR_SMSC_REJECTED)
		return -1;
	return 0;
}
