/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The Gammu-free half of the modem library: error names and classes, +CMS cause mapping, and the
 * SMS limits checked before anything reaches Gammu (so they can be unit-tested without a modem).
 * Octets of the SMS itself (port header, validity) come from common/wire/pdu.c. */
#include "modem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const modem_err_names[MODEM_E__COUNT] = {
	[MODEM_OK] = "success",
	[MODEM_E_INVAL] = "invalid argument",
	[MODEM_E_TOO_LONG] = "message too long for one SMS",
	[MODEM_E_TIMEOUT] = "modem did not answer in time",
	[MODEM_E_IO] = "device I/O error",
	[MODEM_E_BUSY] = "device busy or locked",
	[MODEM_E_NETWORK] = "network or service centre temporarily failing",
	[MODEM_E_REJECTED] = "message rejected by the network",
	[MODEM_E_NO_SIM] = "no usable SIM",
	[MODEM_E_PIN_REQUIRED] = "SIM PIN required but none configured",
	[MODEM_E_PIN_WRONG] = "SIM PIN refused (not retried, to protect the PUK)",
	[MODEM_E_PUK_REQUIRED] = "SIM blocked, PUK required",
	[MODEM_E_NOT_SUPPORTED] = "not supported by the modem",
	[MODEM_E_FULL] = "message storage full",
	[MODEM_E_EMPTY] = "no such message",
	[MODEM_E_CONFIG] = "bad modem configuration",
	[MODEM_E_NOMEM] = "out of memory",
	[MODEM_E_UNAVAILABLE] = "no modem available",
	[MODEM_E_QUEUE_FULL] = "too many jobs queued for the modem",
	[MODEM_E_UNKNOWN] = "modem error",
	[MODEM_E_MAYBE_SENT] = "no answer after the SMS was handed to the modem: it may have been sent",
};

const char *modem_strerror(int err)
{
	if (err < 0 || err >= MODEM_E__COUNT || modem_err_names[err] == NULL)
		return "unknown modem error code";
	return modem_err_names[err];
}

enum modem_err_class modem_err_class(int err)
{
	switch (err) {
	case MODEM_OK: return MODEM_CLASS_OK;
	case MODEM_E_INVAL:
	case MODEM_E_TOO_LONG:
	case MODEM_E_REJECTED:
	case MODEM_E_NOT_SUPPORTED: return MODEM_CLASS_PERMANENT;
	case MODEM_E_NO_SIM:
	case MODEM_E_PIN_REQUIRED:
	case MODEM_E_PIN_WRONG:
	case MODEM_E_PUK_REQUIRED:
	case MODEM_E_CONFIG: return MODEM_CLASS_MODEM;
	case MODEM_E_MAYBE_SENT: return MODEM_CLASS_UNKNOWN;
	default:
		/* Unknown codes too: retrying is the safe default for a wakeup, which is idempotent. */
		return MODEM_CLASS_RETRY;
	}
}

int modem_err_is_modem_fault(int err)
{
	switch (err) {
	case MODEM_E_TIMEOUT:
	case MODEM_E_IO:
	case MODEM_E_NETWORK:
	case MODEM_E_MAYBE_SENT:
	case MODEM_E_UNKNOWN: return 1;
	default: return 0;
	}
}

int modem_error_from_cms(int cms)
{
	switch (cms) {
	case 0: return MODEM_OK;
	/* TS 24.011 E-2 RP causes that name the recipient or the subscription: never succeed. */
	case 1:
	case 8:
	case 10:
	case 21:
	case 28:
	case 29:
	case 30:
	case 50:
	case 69:
	case 95:
	case 96:
	case 97:
	case 98:
	case 99: return MODEM_E_REJECTED;
	/* Causes that pass: destination out of service, network out of order, congestion... */
	case 27:
	case 38:
	case 41:
	case 42:
	case 47:
	case 111:
	case 127: return MODEM_E_NETWORK;
	/* TS 23.040 TP-FCS values. */
	case 0xc0:
	case 0xc2:
	case 0xd4: return MODEM_E_NETWORK;
	case 0xc1:
	case 0xc3:
	case 0xc4:
	case 0xc5:
	case 0xc6:
	case 0xc7: return MODEM_E_REJECTED;
	case 0xd0:
	case 0xd3:
	case 322: return MODEM_E_FULL;
	/* TS 27.005 3.2.5 ME and network errors. */
	case 301:
	case 314: return MODEM_E_BUSY;
	case 302:
	case 303: return MODEM_E_NOT_SUPPORTED;
	case 304:
	case 305: return MODEM_E_INVAL;
	case 310:
	case 313:
	case 315: return MODEM_E_NO_SIM;
	case 311:
	case 312:
	case 317: return MODEM_E_PIN_REQUIRED;
	case 316:
	case 318: return MODEM_E_PUK_REQUIRED;
	case 321: return MODEM_E_EMPTY;
	case 330: return MODEM_E_CONFIG; /* SMSC address unknown: every send would fail */
	case 331:
	case 332: return MODEM_E_NETWORK;
	default:
		if (cms >= 0x80 && cms <= 0xff)
			return MODEM_E_REJECTED;
		return MODEM_E_UNKNOWN;
	}
}

void modem_config_init(struct modem_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->connection, sizeof(cfg->connection), "at");
	snprintf(cfg->model, sizeof(cfg->model), "at");
}

int modem_number_valid(const char *number)
{
	size_t i = 0, digits = 0;

	if (number[0] == '+')
		i = 1;
	for (; number[i] != '\0'; i++) {
		if (number[i] < '0' || number[i] > '9')
			return 0;
		digits++;
	}
	return digits >= 1 && digits <= 20;
}

/* Decodes one UTF-8 sequence; returns its length or -1 (overlong, surrogate, out of range). */
static int utf8_next(const unsigned char *s, unsigned *cp)
{
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0 && (s[1] & 0xc0) == 0x80) {
		*cp = ((unsigned)(s[0] & 0x1f) << 6) | (s[1] & 0x3f);
		return *cp >= 0x80 ? 2 : -1;
	}
	if ((s[0] & 0xf0) == 0xe0 && (s[1] & 0xc0) == 0x80 && (s[2] & 0xc0) == 0x80) {
		*cp = ((unsigned)(s[0] & 0x0f) << 12) | ((unsigned)(s[1] & 0x3f) << 6) | (s[2] & 0x3f);
		return (*cp >= 0x800 && (*cp < 0xd800 || *cp > 0xdfff)) ? 3 : -1;
	}
	if ((s[0] & 0xf8) == 0xf0 && (s[1] & 0xc0) == 0x80 && (s[2] & 0xc0) == 0x80 && (s[3] & 0xc0) == 0x80) {
		*cp = ((unsigned)(s[0] & 0x07) << 18) | ((unsigned)(s[1] & 0x3f) << 12) |
		      ((unsigned)(s[2] & 0x3f) << 6) | (s[3] & 0x3f);
		return (*cp >= 0x10000 && *cp <= 0x10ffff) ? 4 : -1;
	}
	return -1;
}

int modem_text_units(const char *utf8, int *ucs2, int *units)
{
	const unsigned char *s = (const unsigned char *)utf8;
	int septets = 0, utf16 = 0, need_ucs2 = 0;

	while (*s != '\0') {
		unsigned cp;
		int n = utf8_next(s, &cp);
		if (n < 0)
			return -1;
		s += n;
		utf16 += cp >= 0x10000 ? 2 : 1;
		/* We send 7-bit only for ASCII text the GSM default alphabet holds; anything else goes
		 * as UCS-2. That wastes room for a few accented letters but never garbles one. */
		if (cp == '\n' || cp == '\r' || (cp >= 0x20 && cp < 0x7f && cp != '`')) {
			septets += strchr("[\\]^{|}~", (int)cp) != NULL ? 2 : 1;
		} else {
			need_ucs2 = 1;
		}
	}
	*ucs2 = need_ucs2;
	*units = need_ucs2 ? utf16 : septets;
	return 0;
}

int modem_sms_check(const struct modem_sms_out *msg)
{
	if (!modem_number_valid(msg->number))
		return MODEM_E_INVAL;
	if (msg->validity_minutes < 0)
		return MODEM_E_INVAL;
	if (msg->binary) {
		if (msg->data_len > MODEM_BINARY_MAX)
			return MODEM_E_TOO_LONG;
		return MODEM_OK;
	}
	if (memchr(msg->text, '\0', sizeof(msg->text)) == NULL)
		return MODEM_E_TOO_LONG;
	int ucs2, units;
	if (modem_text_units(msg->text, &ucs2, &units) != 0)
		return MODEM_E_INVAL;
	if (units == 0)
		return MODEM_E_INVAL;
	if (units > (ucs2 ? MODEM_TEXT_UCS2_MAX : MODEM_TEXT7_MAX))
		return MODEM_E_TOO_LONG;
	return MODEM_OK;
}

int modem_validity_octet(int minutes)
{
	if (minutes <= 0)
		return 0xff;
	if (minutes >= 63 * 10080)
		return 255;
	return pdu_vp_relative_encode((uint32_t)minutes * 60);
}

int modem_report_outcome(int tp_status)
{
	/* TS 23.040 9.2.3.15: 0x00-0x1f transaction completed (delivered, or forwarded, or
	 * replaced); 0x20-0x3f temporary error, the SC is still trying; 0x40-0x7f the SC gave up,
	 * whether the error was permanent or temporary. */
	if (tp_status >= 0 && tp_status <= 0x1f)
		return 0;
	if (tp_status >= 0x20 && tp_status <= 0x3f)
		return 1;
	return 2;
}

const char *modem_sim_name(int sim)
{
	switch (sim) {
	case MODEM_SIM_READY: return "ready";
	case MODEM_SIM_PIN: return "pin-required";
	case MODEM_SIM_PUK: return "puk-required";
	case MODEM_SIM_ABSENT: return "absent";
	case MODEM_SIM_OTHER: return "other-code-required";
	default: return "unknown";
	}
}

static const char *const modem_cap_names[] = {
	"gprs",       "registration", "network-name", "signal",   "storage",
	"sim-status", "imsi",         "imei",         "firmware", "sms-notify",
};

const char *modem_cap_name(int cap)
{
	for (size_t i = 0; i < sizeof(modem_cap_names) / sizeof(modem_cap_names[0]); i++)
		if (cap == 1 << i)
			return modem_cap_names[i];
	return NULL;
}

/* Appends the names of the bits set in mask, comma-separated; returns the new length. */
static size_t modem_caps_list(int mask, char *out, size_t o, size_t outlen)
{
	int first = 1;

	for (size_t i = 0; i < sizeof(modem_cap_names) / sizeof(modem_cap_names[0]); i++) {
		int w;
		if (!(mask & (1 << i)) || o >= outlen)
			continue;
		w = snprintf(out + o, outlen - o, "%s%s", first ? "" : ",", modem_cap_names[i]);
		if (w < 0)
			break;
		o += (size_t)w < outlen - o ? (size_t)w : outlen - o - 1;
		first = 0;
	}
	return o;
}

void modem_caps_format(const struct modem_caps *caps, char *out, size_t outlen)
{
	int yes = caps->probed & caps->present & MODEM_CAP__ALL, no = caps->probed & ~caps->present & MODEM_CAP__ALL;
	size_t o = 0;
	int w;

	if (outlen == 0)
		return;
	out[0] = '\0';
	if (yes) {
		w = snprintf(out, outlen, "supports=");
		o = w > 0 && (size_t)w < outlen ? (size_t)w : 0;
		o = modem_caps_list(yes, out, o, outlen);
	}
	if (no && o + 1 < outlen) {
		w = snprintf(out + o, outlen - o, "%slacks=", o ? " " : "");
		o += w > 0 && (size_t)w < outlen - o ? (size_t)w : 0;
		modem_caps_list(no, out, o, outlen);
	}
}

const char *modem_reg_name(int reg)
{
	switch (reg) {
	case MODEM_REG_HOME: return "home";
	case MODEM_REG_ROAMING: return "roaming";
	case MODEM_REG_NONE: return "not-registered";
	case MODEM_REG_DENIED: return "denied";
	case MODEM_REG_SEARCHING: return "searching";
	default: return "unknown";
	}
}

int modem_status_healthy(const struct modem_status *st, const struct modem_caps *caps, char *why, size_t whylen)
{
	if (st->sim != MODEM_SIM_READY) {
		snprintf(why, whylen, "SIM %s", modem_sim_name(st->sim));
		return 0;
	}
	if (st->reg == MODEM_REG_UNKNOWN && caps != NULL && (caps->probed & MODEM_CAP_REGISTRATION) &&
	    !(caps->present & MODEM_CAP_REGISTRATION)) {
		/* Nothing to judge by: the sends will tell (a refused one climbs the ladder). */
	} else if (st->reg != MODEM_REG_HOME && st->reg != MODEM_REG_ROAMING) {
		snprintf(why, whylen, "network %s", modem_reg_name(st->reg));
		return 0;
	}
	if (st->sms_size > 0 && st->sms_used >= st->sms_size) {
		snprintf(why, whylen, "message storage full (%d/%d)", st->sms_used, st->sms_size);
		return 0;
	}
	if (whylen > 0)
		why[0] = '\0';
	return 1;
}

/* "+CREG: <n>,<stat>[,...]" (the read form) to our registration state, or -1. */
int modem_parse_creg(const char *line)
{
	const char *p = line + 6;
	char *end;
	long a, b;

	if (strncmp(line, "+CREG:", 6) != 0)
		return -1;
	a = strtol(p, &end, 10);
	if (end == p)
		return -1;
	if (*end == ',') {
		p = end + 1;
		b = strtol(p, &end, 10);
		if (end == p)
			return -1;
		a = b;
	}
	switch (a) {
	case 0: return MODEM_REG_NONE;
	case 1:
	case 6: /* registered for SMS only (E-UTRAN) */ return MODEM_REG_HOME;
	case 2: return MODEM_REG_SEARCHING;
	case 3: return MODEM_REG_DENIED;
	case 5:
	case 7: return MODEM_REG_ROAMING;
	default: return MODEM_REG_UNKNOWN;
	}
}

/* "+COPS: <mode>,<format>,"<oper>"[,<AcT>]": the operator, as a code (format 2) or a name. */
void modem_parse_cops(const char *line, struct modem_status *st)
{
	const char *q1 = strchr(line, '"'), *q2 = q1 ? strchr(q1 + 1, '"') : NULL, *comma = strchr(line, ',');

	if (strncmp(line, "+COPS:", 6) != 0 || q1 == NULL || q2 == NULL)
		return;
	while (comma != NULL && comma[1] == ' ')
		comma++;
	if (comma != NULL && comma < q1 && comma[1] == '2')
		snprintf(st->network_code, sizeof(st->network_code), "%.*s", (int)(q2 - q1 - 1), q1 + 1);
	else
		snprintf(st->network_name, sizeof(st->network_name), "%.*s", (int)(q2 - q1 - 1), q1 + 1);
}

const char *modem_device_hint(int err)
{
	switch (err) {
	case ENOENT:
	case ENODEV:
	case ENXIO: return "check the modem's device = path and that the modem is plugged in";
	case EACCES:
	case EPERM:
	case EROFS: return "the user needs read and write access to it (the dialout group, or a udev rule)";
	default: return "check the modem's device = path and its permissions";
	}
}
