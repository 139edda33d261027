/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The AT command interpreter of a simulated modem (3GPP TS 27.007 and TS 27.005, PDU mode):
 * what Gammu's AT driver and gammu-smsd send, answered the way real modems answer. */
#include "sim.h"

#include <ctype.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "util.h"

/* Handler results. CME/CMS errors turn into plain ERROR unless AT+CMEE is 1 or 2. */
#define AT_OK 0
#define AT_ERROR 1
#define AT_DEFER 2   /* the command answers later: SMS prompt, send duration, reset */
#define AT_UNKNOWN 3 /* a command this modem does not have: answered as its profile says */
#define AT_CME(n) (0x10000 | (n))
#define AT_CMS(n) (0x20000 | (n))

/* CME and CMS error numbers used here. */
#define CME_NOT_ALLOWED 3
#define CME_NOT_SUPPORTED 4
#define CME_SIM_PIN 11
#define CME_SIM_PUK 12
#define CME_BAD_PASSWORD 16
#define CME_INVALID_INDEX 21
#define CME_INVALID_CHARS 25
#define CME_NO_NETWORK 30
#define CME_UNKNOWN 100
#define CMS_NOT_SUPPORTED 303
#define CMS_INVALID_PDU 304
#define CMS_SIM_PIN 311
#define CMS_SIM_PUK 316
#define CMS_MEM_FAILURE 320
#define CMS_INVALID_INDEX 321
#define CMS_MEM_FULL 322
#define CMS_NO_NETWORK 331
#define CMS_NOT_ALLOWED 302
#define CMS_NO_CNMA 340

#define CTRL_Z 0x1A
#define ESC 0x1B

enum at_op { AT_EXEC, AT_READ, AT_TEST, AT_SET };

/* Characters sets of AT+CSCS; they only change how quoted strings are written. */
enum { CSCS_GSM = 0, CSCS_UCS2, CSCS_IRA };
static const char *const cscs_names[] = {"GSM", "UCS2", "IRA"};

/* What the prompt is collecting: a message to send or one to write to storage. */
enum { PROMPT_CMGS = 1, PROMPT_CMGW = 2 };

static void at_out(struct sim_modem *m, const char *s)
{
	sim_modem_write(m, s, strlen(s));
}

/* An information line: the first one of a response opens with CR LF, every one ends with it. */
static void at_info(struct sim_modem *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void at_info(struct sim_modem *m, const char *fmt, ...)
{
	char line[2 * PDU_MAX + 64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (!m->resp_started)
		at_out(m, "\r\n");
	m->resp_started = 1;
	at_out(m, line);
	at_out(m, "\r\n");
}

static const char *at_cme_text(int code)
{
	switch (code) {
	case CME_NOT_ALLOWED: return "operation not allowed";
	case CME_NOT_SUPPORTED: return "operation not supported";
	case CME_SIM_PIN: return "SIM PIN required";
	case CME_SIM_PUK: return "SIM PUK required";
	case CME_BAD_PASSWORD: return "incorrect password";
	case CME_INVALID_INDEX: return "invalid index";
	case CME_INVALID_CHARS: return "invalid characters in text string";
	case CME_NO_NETWORK: return "no network service";
	default: return "unknown";
	}
}

static void at_final(struct sim_modem *m, int result)
{
	char buf[80];

	m->resp_started = 0;
	if (result == AT_OK) {
		at_out(m, "\r\nOK\r\n");
	} else if (result == AT_UNKNOWN && m->profile->unknown == SIM_UNKNOWN_NOT_SUPPORT) {
		at_out(m, "\r\nCOMMAND NOT SUPPORT\r\n");
	} else if ((result & 0x10000) && m->cmee == 1) {
		snprintf(buf, sizeof(buf), "\r\n+CME ERROR: %d\r\n", result & 0xFFFF);
		at_out(m, buf);
	} else if ((result & 0x10000) && m->cmee == 2) {
		snprintf(buf, sizeof(buf), "\r\n+CME ERROR: %s\r\n", at_cme_text(result & 0xFFFF));
		at_out(m, buf);
	} else if ((result & 0x20000) && m->cmee != 0) {
		/* 27.005 has no verbose form for +CMS ERROR; numbers in both modes. */
		snprintf(buf, sizeof(buf), "\r\n+CMS ERROR: %d\r\n", result & 0xFFFF);
		at_out(m, buf);
	} else {
		at_out(m, "\r\nERROR\r\n");
	}
}

int sim_at_idle(const struct sim_modem *m)
{
	return !m->busy && !m->answering && !m->pdu_mode_input && m->line_len == 0 && !m->resetting &&
	       !m->faults.hang && m->master >= 0;
}

/* Real modems put unsolicited lines between responses; some also between a command's echo and
 * its answer, which is where the profile's answer delay leaves room for them. */
static int at_urc_may_go(const struct sim_modem *m)
{
	if (sim_at_idle(m))
		return 1;
	return m->answering && m->profile->urc_in_command && !m->busy && !m->pdu_mode_input && !m->resetting &&
	       !m->faults.hang && m->master >= 0;
}

void sim_at_flush_urc(struct sim_modem *m)
{
	if (m->urc_len == 0 || !at_urc_may_go(m))
		return;
	sim_modem_write(m, m->urc, m->urc_len);
	m->urc_len = 0;
}

void sim_at_urc(struct sim_modem *m, const char *fmt, ...)
{
	char line[2 * PDU_MAX + 64];
	va_list ap;
	int n;

	/* A hung or absent modem loses its indications, as a wedged firmware would. */
	if (m->faults.hang || m->resetting || m->master < 0)
		return;
	/* So does a port nobody reads: a real one drops what arrives while it is closed. (Here the
	 * simulator holds the port open itself, so unread output would pile up for the next
	 * client to wade through.) */
	{
		int unread = 0;
		if (m->slave >= 0 && ioctl(m->slave, FIONREAD, &unread) == 0 && unread > SIM_URC_UNREAD_MAX)
			return;
	}
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	if (m->urc_len + (size_t)n + 4 > sizeof(m->urc)) {
		log_warnx("modem %s: unsolicited result dropped (queue full)", m->number);
		return;
	}
	memcpy(m->urc + m->urc_len, "\r\n", 2);
	memcpy(m->urc + m->urc_len + 2, line, (size_t)n);
	memcpy(m->urc + m->urc_len + 2 + n, "\r\n", 2);
	m->urc_len += (size_t)n + 4;
	sim_at_flush_urc(m);
}

/* The settings ATZ and AT&F restore (no AT&W here: the user profile is the factory one). The
 * SIM's PIN state and the radio are not settings: they survive both. */
static void at_defaults(struct sim_modem *m)
{
	m->echo = 1;
	m->cmee = m->profile->cmee_default;
	m->cscs = CSCS_GSM;
	m->cmgf = 0;
	m->creg_n = 0;
	m->cgreg_n = 0;
	m->cmms = 0;
	m->csms = 0;
	m->clip = 0;
	m->crc = 0;
	m->curc = 1;
	m->ifc_dce = 2;
	m->ifc_dte = 2;
	m->cnmi[0] = 1;
	m->cnmi[1] = 1;
	m->cnmi[2] = 0;
	m->cnmi[3] = 0;
	m->cnmi[4] = 0;
	m->cnma_due = 0;
}

/* A splitmix64 of the modem's own, so the profile's chatter never shifts the network's seeded
 * losses and delays. */
static uint64_t at_noise_rand(struct sim_modem *m)
{
	uint64_t z = (m->noise_rng += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static void at_noise_fire(struct sim_timer *t)
{
	struct sim_modem *m = t->arg;
	const struct sim_profile *p = m->profile;
	int reg = m->faults.registered && m->cfun == 1 && m->pin_state == SIM_PIN_READY;

	if (p->huawei_urcs && m->curc) {
		switch (at_noise_rand(m) % 3) {
		case 0: sim_at_urc(m, "^RSSI: %d", reg ? m->csq : 99); break;
		case 1: sim_at_urc(m, "^HCSQ: \"LTE\",%d,%d,%d,%d", 40 + m->csq / 2, 30 + m->csq, 160, 24); break;
		default: sim_at_urc(m, "^MODE: %d,%d", reg ? 7 : 0, reg ? 17 : 0); break;
		}
	}
	if (p->cell_urcs && m->creg_n == 2 && reg) {
		m->cell = (m->cell + 1) & 0xFFFF;
		sim_at_urc(m, "+CREG: 1,\"00A1\",\"%04X\"", m->cell);
	}
	sim_timer_arm(&m->noise_timer, 1500 + (int64_t)(at_noise_rand(m) % 2500));
}

/* Power-on state (also after AT+CFUN=1,1 and the control socket's "reset"). */
void sim_at_power_on(struct sim_modem *m)
{
	if (m->profile == NULL)
		m->profile = sim_profile_default();
	sim_timer_cancel(&m->answer_timer);
	sim_timer_cancel(&m->ring_timer);
	m->line_len = 0;
	m->line_overflow = 0;
	m->pdu_mode_input = 0;
	m->pdu_hex_len = 0;
	m->resp_started = 0;
	m->busy = 0;
	m->answering = 0;
	m->rings_left = 0;
	at_defaults(m);
	m->cfun = 1;
	m->cell = 0x1000 + m->index;
	m->noise_rng = 0x5157u + (uint64_t)m->index * 7919u;
	m->mem[0] = m->mem[1] = m->mem[2] = SIM_MEM_SM;
	m->pin_state = m->pin[0] ? SIM_PIN_SIM_PIN : SIM_PIN_READY;
	m->pin_attempts = 3;
	m->puk_attempts = 10;
	m->urc_len = 0;
	for (const char *const *b = m->profile->boot; b != NULL && *b != NULL; b++) {
		/* A SIM that wants its PIN does not say it is ready. */
		if (m->pin_state != SIM_PIN_READY && strstr(*b, "READY") != NULL)
			continue;
		sim_at_urc(m, "%s", *b);
	}
	m->noise_timer.fire = at_noise_fire;
	m->noise_timer.arg = m;
	if (m->profile->huawei_urcs || m->profile->cell_urcs)
		sim_timer_arm(&m->noise_timer, 1000);
	else
		sim_timer_cancel(&m->noise_timer);
}

int sim_at_index(const struct sim_modem *m, int slot)
{
	return slot - 1 + m->profile->index_base;
}

/* The slot of an index as the modem shows it, or -1 if no index can be that. */
static int at_slot(const struct sim_modem *m, int index)
{
	return index + 1 - m->profile->index_base;
}

static void at_ring_fire(struct sim_timer *t)
{
	struct sim_modem *m = t->arg;

	if (m->rings_left <= 0)
		return;
	m->rings_left--;
	sim_at_urc(m, "%s", m->crc ? "+CRING: VOICE" : "RING");
	if (m->clip)
		sim_at_urc(m, "+CLIP: \"%s\",%d,,,,0", m->caller, m->caller[0] == '+' ? 145 : 129);
	if (m->rings_left > 0)
		sim_timer_arm(&m->ring_timer, 2000);
}

void sim_at_ring(struct sim_modem *m, const char *caller, int count)
{
	snprintf(m->caller, sizeof(m->caller), "%s", caller);
	m->rings_left = count;
	m->ring_timer.fire = at_ring_fire;
	m->ring_timer.arg = m;
	sim_timer_arm(&m->ring_timer, 0);
}

void sim_at_direct_shown(struct sim_modem *m)
{
	if (m->csms == 1)
		m->cnma_due++;
}

/* --- parameters --- */

/* Splits "a,\"b,c\",d" into trimmed, unquoted fields. Returns the count, or -1 on an unclosed
 * quote or too many fields. An omitted field is an empty string. */
static int at_params(char *args, char **out, int max)
{
	int n = 0;
	char *p = args;

	if (args == NULL || *args == '\0')
		return 0;
	for (;;) {
		char *start, *w;
		int quoted = 0;

		if (n >= max)
			return -1;
		while (*p == ' ')
			p++;
		start = w = p;
		while (*p && (quoted || *p != ',')) {
			if (*p == '"')
				quoted = !quoted;
			else
				*w++ = *p;
			p++;
		}
		if (quoted)
			return -1;
		while (w > start && w[-1] == ' ')
			w--;
		out[n++] = start;
		if (*p == ',') {
			*w = '\0';
			p++;
			continue;
		}
		*w = '\0';
		return n;
	}
}

static int at_int(const char *s, int min, int max, int *v)
{
	int64_t x;

	if (util_parse_i64(s, min, max, &x) != 0)
		return -1;
	*v = (int)x;
	return 0;
}

/* Quoted strings follow AT+CSCS: UCS2 means four hex digits per character. */
static void at_quote(const struct sim_modem *m, const char *s, char *out, size_t outmax)
{
	size_t k = 0;

	if (m->cscs != CSCS_UCS2) {
		snprintf(out, outmax, "%s", s);
		return;
	}
	for (; *s && k + 5 <= outmax; s++, k += 4)
		snprintf(out + k, outmax - k, "%04X", (unsigned char)*s);
	out[k] = '\0';
}

static int at_unquote(const struct sim_modem *m, const char *s, char *out, size_t outmax)
{
	size_t n = strlen(s), k = 0;

	if (m->cscs != CSCS_UCS2) {
		if (n >= outmax)
			return -1;
		memcpy(out, s, n + 1);
		return 0;
	}
	if (n % 4 || n / 4 >= outmax)
		return -1;
	for (size_t i = 0; i < n; i += 4) {
		uint8_t b[2];
		if (pdu_unhex(s + i, 4, b, 2) != 2 || b[0] != 0 || b[1] == 0 || b[1] > 0x7E)
			return -1;
		out[k++] = (char)b[1];
	}
	out[k] = '\0';
	return 0;
}

/* --- gates --- */

static int at_sim_ready(const struct sim_modem *m, int sms)
{
	if (m->pin_state == SIM_PIN_SIM_PIN)
		return sms ? AT_CMS(CMS_SIM_PIN) : AT_CME(CME_SIM_PIN);
	if (m->pin_state == SIM_PIN_SIM_PUK)
		return sms ? AT_CMS(CMS_SIM_PUK) : AT_CME(CME_SIM_PUK);
	return AT_OK;
}

static int at_registered(const struct sim_modem *m)
{
	return m->faults.registered && m->cfun == 1 && m->pin_state == SIM_PIN_READY;
}

/* --- identification and general commands --- */

static int at_plain(struct sim_modem *m, enum at_op op, const char *value)
{
	if (op == AT_TEST)
		return AT_OK;
	if (op != AT_EXEC)
		return AT_ERROR;
	at_info(m, "%s", value);
	return AT_OK;
}

static int at_cgmi(struct sim_modem *m, enum at_op op, char *args)
{
	(void)args;
	return at_plain(m, op, m->manufacturer);
}

static int at_cgmm(struct sim_modem *m, enum at_op op, char *args)
{
	(void)args;
	return at_plain(m, op, m->model);
}

static int at_cgmr(struct sim_modem *m, enum at_op op, char *args)
{
	(void)args;
	return at_plain(m, op, m->revision);
}

static int at_cgsn(struct sim_modem *m, enum at_op op, char *args)
{
	(void)args;
	return at_plain(m, op, m->imei);
}

static int at_cimi(struct sim_modem *m, enum at_op op, char *args)
{
	int rc;

	(void)args;
	if (op == AT_EXEC && (rc = at_sim_ready(m, 0)) != AT_OK)
		return rc;
	return at_plain(m, op, m->imsi);
}

static int at_cmee(struct sim_modem *m, enum at_op op, char *args)
{
	int v;

	switch (op) {
	case AT_READ: at_info(m, "+CMEE: %d", m->cmee); return AT_OK;
	case AT_TEST: at_info(m, "+CMEE: (0-2)"); return AT_OK;
	case AT_SET:
		if (at_int(args, 0, 2, &v) != 0)
			return AT_CME(CME_NOT_SUPPORTED);
		m->cmee = v;
		return AT_OK;
	default: m->cmee = 0; return AT_OK;
	}
}

static int at_cscs(struct sim_modem *m, enum at_op op, char *args)
{
	char *p[2];

	switch (op) {
	case AT_READ: at_info(m, "+CSCS: \"%s\"", cscs_names[m->cscs]); return AT_OK;
	case AT_TEST: at_info(m, "+CSCS: (\"GSM\",\"UCS2\",\"IRA\")"); return AT_OK;
	case AT_SET:
		if (at_params(args, p, 2) != 1)
			return AT_CME(CME_NOT_SUPPORTED);
		for (int i = 0; i < 3; i++) {
			if (strcasecmp(p[0], cscs_names[i]) == 0) {
				m->cscs = i;
				return AT_OK;
			}
		}
		return AT_CME(CME_NOT_SUPPORTED);
	default: return AT_ERROR;
	}
}

static void at_reset_fire(struct sim_timer *t)
{
	sim_modem_reset(t->arg);
}

static int at_cfun(struct sim_modem *m, enum at_op op, char *args)
{
	char *p[3];
	int n, fun, rst = 0, was;

	switch (op) {
	case AT_READ: at_info(m, "+CFUN: %d", m->cfun); return AT_OK;
	case AT_TEST: at_info(m, "+CFUN: (0,1,4),(0-1)"); return AT_OK;
	case AT_SET:
		n = at_params(args, p, 3);
		if (n < 1 || n > 2 || at_int(p[0], 0, 4, &fun) != 0 || fun == 2 || fun == 3)
			return AT_CME(CME_NOT_SUPPORTED);
		if (n == 2 && at_int(p[1], 0, 1, &rst) != 0)
			return AT_CME(CME_NOT_SUPPORTED);
		was = at_registered(m);
		m->cfun = fun;
		if (rst) {
			/* Answer first, then drop the line as a USB modem does when it reboots. */
			at_final(m, AT_OK);
			m->busy = 1;
			m->reset_timer.fire = at_reset_fire;
			m->reset_timer.arg = m;
			sim_timer_arm(&m->reset_timer, 100);
			return AT_DEFER;
		}
		if (was != at_registered(m) && m->creg_n >= 1)
			sim_at_urc(m, "+CREG: %d", at_registered(m) ? 1 : 0);
		if (at_registered(m))
			sim_net_kick(m);
		return AT_OK;
	default: return AT_ERROR;
	}
}

static int at_cpin(struct sim_modem *m, enum at_op op, char *args)
{
	static const char *const state[] = {"READY", "SIM PIN", "SIM PUK"};
	char *p[3];
	int n;

	switch (op) {
	case AT_READ: at_info(m, "+CPIN: %s", state[m->pin_state]); return AT_OK;
	case AT_TEST: return AT_OK;
	case AT_SET:
		n = at_params(args, p, 3);
		if (n < 1 || n > 2)
			return AT_CME(CME_NOT_SUPPORTED);
		if (m->pin_state == SIM_PIN_READY)
			return AT_CME(CME_NOT_ALLOWED);
		if (m->pin_state == SIM_PIN_SIM_PIN) {
			if (strcmp(p[0], m->pin) == 0) {
				m->pin_state = SIM_PIN_READY;
				m->pin_attempts = 3;
				sim_net_kick(m);
				return AT_OK;
			}
			if (--m->pin_attempts <= 0)
				m->pin_state = SIM_PIN_SIM_PUK;
			return AT_CME(CME_BAD_PASSWORD);
		}
		/* SIM PUK: "puk","newpin". */
		if (n == 2 && strcmp(p[0], m->puk) == 0 && strlen(p[1]) >= 4 && strlen(p[1]) < sizeof(m->pin)) {
			snprintf(m->pin, sizeof(m->pin), "%s", p[1]);
			m->pin_state = SIM_PIN_READY;
			m->pin_attempts = 3;
			m->puk_attempts = 10;
			sim_net_kick(m);
			return AT_OK;
		}
		if (m->puk_attempts > 0)
			m->puk_attempts--;
		return AT_CME(CME_BAD_PASSWORD);
	default: return AT_ERROR;
	}
}

static int at_csq(struct sim_modem *m, enum at_op op, char *args)
{
	(void)args;
	if (op == AT_TEST) {
		at_info(m, "+CSQ: (0-31,99),(0-7,99)");
		return AT_OK;
	}
	if (op != AT_EXEC)
		return AT_ERROR;
	at_info(m, "+CSQ: %d,99", at_registered(m) ? m->csq : 99);
	return AT_OK;
}

/* AT+CREG and AT+CGREG: circuit and packet registration look the same here. */
static int at_reg(struct sim_modem *m, enum at_op op, char *args, const char *name, int *n)
{
	int v, reg = at_registered(m);

	switch (op) {
	case AT_READ:
		if (*n == 2 && reg)
			at_info(m, "%s: 2,1,\"00A1\",\"%04X\"", name, m->cell);
		else
			at_info(m, "%s: %d,%d", name, *n, reg ? 1 : 0);
		return AT_OK;
	case AT_TEST: at_info(m, "%s: (0-2)", name); return AT_OK;
	case AT_SET:
		if (at_int(args, 0, 2, &v) != 0)
			return AT_CME(CME_NOT_SUPPORTED);
		*n = v;
		return AT_OK;
	default: *n = 0; return AT_OK;
	}
}

static int at_creg(struct sim_modem *m, enum at_op op, char *args)
{
	return at_reg(m, op, args, "+CREG", &m->creg_n);
}

static int at_cgreg(struct sim_modem *m, enum at_op op, char *args)
{
	if (!m->profile->gprs)
		return AT_UNKNOWN;
	return at_reg(m, op, args, "+CGREG", &m->cgreg_n);
}

static int at_cgatt(struct sim_modem *m, enum at_op op, char *args)
{
	int v;

	if (!m->profile->gprs)
		return AT_UNKNOWN;
	switch (op) {
	case AT_READ: at_info(m, "+CGATT: %d", at_registered(m) ? 1 : 0); return AT_OK;
	case AT_TEST: at_info(m, "+CGATT: (0,1)"); return AT_OK;
	case AT_SET: return at_int(args, 0, 1, &v) == 0 ? AT_OK : AT_CME(CME_NOT_SUPPORTED);
	default: return AT_ERROR;
	}
}

static int at_cops(struct sim_modem *m, enum at_op op, char *args)
{
	char q[4 * SIM_STR_MAX + 1], *p[4];
	int n, mode;

	switch (op) {
	case AT_READ:
		if (!at_registered(m)) {
			at_info(m, "+COPS: 0");
			return AT_OK;
		}
		at_quote(m, m->operator_name, q, sizeof(q));
		at_info(m, "+COPS: 0,0,\"%s\"", q);
		return AT_OK;
	case AT_TEST:
		at_quote(m, m->operator_name, q, sizeof(q));
		at_info(m, "+COPS: (2,\"%s\",\"SMSWAKE\",\"00101\",0),,(0-4),(0-2)", q);
		return AT_OK;
	case AT_SET:
		n = at_params(args, p, 4);
		if (n < 1 || at_int(p[0], 0, 4, &mode) != 0)
			return AT_CME(CME_NOT_SUPPORTED);
		return AT_OK;
	default: return AT_ERROR;
	}
}

static int at_csca(struct sim_modem *m, enum at_op op, char *args)
{
	char q[4 * SIM_NUMBER_MAX + 1], num[SIM_NUMBER_MAX], *p[2];
	int rc, n, type;

	if ((rc = at_sim_ready(m, 1)) != AT_OK && op != AT_TEST)
		return rc;
	switch (op) {
	case AT_READ:
		at_quote(m, m->smsc, q, sizeof(q));
		at_info(m, "+CSCA: \"%s\",%d", q, m->smsc[0] == '+' ? 145 : 129);
		return AT_OK;
	case AT_TEST: return AT_OK;
	case AT_SET:
		n = at_params(args, p, 2);
		if (n < 1 || at_unquote(m, p[0], num, sizeof(num)) != 0 || !sim_number_valid(num))
			return AT_CMS(CMS_NOT_ALLOWED);
		if (n == 2 && at_int(p[1], 0, 255, &type) != 0)
			return AT_CMS(CMS_NOT_ALLOWED);
		snprintf(m->smsc, sizeof(m->smsc), "%s", num);
		return AT_OK;
	default: return AT_ERROR;
	}
}

/* --- SMS settings --- */

static int at_cmgf(struct sim_modem *m, enum at_op op, char *args)
{
	int v;

	switch (op) {
	case AT_READ: at_info(m, "+CMGF: %d", m->cmgf); return AT_OK;
	case AT_TEST:
		/* PDU mode only: text mode cannot carry the 8-bit port-addressed messages smswake
		 * sends, and saying so lets Gammu pick PDU mode at once. */
		at_info(m, "+CMGF: (0)");
		return AT_OK;
	case AT_SET:
		if (at_int(args, 0, 1, &v) != 0)
			return AT_CMS(CMS_NOT_ALLOWED);
		if (v != 0)
			return AT_CMS(CMS_NOT_SUPPORTED);
		m->cmgf = 0;
		return AT_OK;
	default: return AT_ERROR;
	}
}

static int at_csms(struct sim_modem *m, enum at_op op, char *args)
{
	int v;

	switch (op) {
	case AT_READ: at_info(m, "+CSMS: %d,1,1,1", m->csms); return AT_OK;
	case AT_TEST: at_info(m, "+CSMS: (0,1)"); return AT_OK;
	case AT_SET:
		if (at_int(args, 0, 1, &v) != 0)
			return AT_CMS(CMS_NOT_SUPPORTED);
		m->csms = v;
		m->cnma_due = 0;
		at_info(m, "+CSMS: 1,1,1");
		return AT_OK;
	default: return AT_ERROR;
	}
}

static int at_cmms(struct sim_modem *m, enum at_op op, char *args)
{
	int v;

	switch (op) {
	case AT_READ: at_info(m, "+CMMS: %d", m->cmms); return AT_OK;
	case AT_TEST: at_info(m, "+CMMS: (0-2)"); return AT_OK;
	case AT_SET:
		if (at_int(args, 0, 2, &v) != 0)
			return AT_CMS(CMS_NOT_ALLOWED);
		m->cmms = v;
		return AT_OK;
	default: return AT_ERROR;
	}
}

static int at_cnmi(struct sim_modem *m, enum at_op op, char *args)
{
	static const int max[5] = {3, 3, 3, 2, 1};
	char *p[5];
	int n, v[5];

	switch (op) {
	case AT_READ:
		at_info(m, "+CNMI: %d,%d,%d,%d,%d", m->cnmi[0], m->cnmi[1], m->cnmi[2], m->cnmi[3], m->cnmi[4]);
		return AT_OK;
	case AT_TEST: at_info(m, "+CNMI: (0-2),(0-3),(0,2),(0-2),(0,1)"); return AT_OK;
	case AT_SET:
		n = at_params(args, p, 5);
		if (n < 1)
			return AT_CMS(CMS_NOT_ALLOWED);
		memcpy(v, m->cnmi, sizeof(v));
		for (int i = 0; i < n; i++) {
			if (p[i][0] == '\0')
				continue;
			if (at_int(p[i], 0, max[i], &v[i]) != 0)
				return AT_CMS(CMS_NOT_SUPPORTED);
		}
		memcpy(m->cnmi, v, sizeof(v));
		return AT_OK;
	default: return AT_ERROR;
	}
}

static void at_cpms_counts(struct sim_modem *m, char *out, size_t outmax, int names)
{
	size_t k = 0;

	out[0] = '\0';
	for (int i = 0; i < 3 && k < outmax; i++) {
		const struct sim_storage *st = &m->store[m->mem[i]];
		int w;
		if (names)
			w = snprintf(out + k, outmax - k, "%s\"%s\",%d,%d", i ? "," : "", sim_mem_name(m->mem[i]),
				     sim_store_used(st), st->size);
		else
			w = snprintf(out + k, outmax - k, "%s%d,%d", i ? "," : "", sim_store_used(st), st->size);
		if (w < 0)
			return;
		k += (size_t)w;
	}
}

static int at_cpms(struct sim_modem *m, enum at_op op, char *args)
{
	char buf[128], *p[3];
	int n, mem[3], rc;

	if (op != AT_TEST && (rc = at_sim_ready(m, 1)) != AT_OK)
		return rc;
	switch (op) {
	case AT_READ:
		at_cpms_counts(m, buf, sizeof(buf), 1);
		at_info(m, "+CPMS: %s", buf);
		return AT_OK;
	case AT_TEST: at_info(m, "+CPMS: (\"SM\",\"ME\",\"SR\"),(\"SM\",\"ME\"),(\"SM\",\"ME\")"); return AT_OK;
	case AT_SET:
		n = at_params(args, p, 3);
		if (n < 1)
			return AT_CMS(CMS_NOT_ALLOWED);
		for (int i = 0; i < 3; i++)
			mem[i] = m->mem[i];
		for (int i = 0; i < n; i++) {
			int v = sim_mem_parse(p[i]);
			/* Only the read/delete memory may be SR, as the test answer says. */
			if (v < 0 || (i > 0 && v == SIM_MEM_SR))
				return AT_CMS(CMS_NOT_ALLOWED);
			mem[i] = v;
		}
		for (int i = 0; i < 3; i++)
			m->mem[i] = (enum sim_mem)mem[i];
		at_cpms_counts(m, buf, sizeof(buf), 0);
		at_info(m, "+CPMS: %s", buf);
		return AT_OK;
	default: return AT_ERROR;
	}
}

/* --- reading, listing, deleting --- */

static void at_show_slot(struct sim_modem *m, const char *prefix, int index, struct sim_slot *s)
{
	char hex[2 * PDU_MAX + 1];

	pdu_hex(s->pdu, s->len, hex);
	if (index > 0)
		at_info(m, "%s: %d,%d,,%zu", prefix, sim_at_index(m, index), (int)s->stat, s->tpdu_len);
	else
		at_info(m, "%s: %d,,%zu", prefix, (int)s->stat, s->tpdu_len);
	at_info(m, "%s", hex);
	if (s->stat == SIM_STAT_UNREAD)
		s->stat = SIM_STAT_READ;
}

static int at_cmgr(struct sim_modem *m, enum at_op op, char *args)
{
	struct sim_slot *s;
	int idx, rc;

	if (op == AT_TEST)
		return AT_OK;
	if (op != AT_SET)
		return AT_ERROR;
	if ((rc = at_sim_ready(m, 1)) != AT_OK)
		return rc;
	if (at_int(args, 0, SIM_STORE_MAX, &idx) != 0)
		return AT_CMS(CMS_INVALID_INDEX);
	s = sim_store_get(&m->store[m->mem[0]], at_slot(m, idx));
	if (s == NULL)
		return AT_CMS(CMS_INVALID_INDEX);
	at_show_slot(m, "+CMGR", 0, s);
	return AT_OK;
}

static int at_cmgl(struct sim_modem *m, enum at_op op, char *args)
{
	struct sim_storage *st = &m->store[m->mem[0]];
	int want = SIM_STAT_UNREAD, rc;

	if (op == AT_TEST) {
		at_info(m, "+CMGL: (0-4)");
		return AT_OK;
	}
	if (op == AT_READ)
		return AT_ERROR;
	if ((rc = at_sim_ready(m, 1)) != AT_OK)
		return rc;
	if (op == AT_SET && at_int(args, 0, 4, &want) != 0)
		return AT_CMS(CMS_NOT_ALLOWED);
	for (int i = 1; i <= st->size; i++) {
		struct sim_slot *s = sim_store_get(st, i);
		if (s != NULL && (want == 4 || (int)s->stat == want))
			at_show_slot(m, "+CMGL", i, s);
	}
	return AT_OK;
}

static int at_cmgd(struct sim_modem *m, enum at_op op, char *args)
{
	struct sim_storage *st = &m->store[m->mem[0]];
	char *p[2];
	int n, idx, flag = 0, rc;

	if (op == AT_TEST) {
		char buf[4 * SIM_STORE_MAX + 8];
		size_t k = 0;
		buf[0] = '\0';
		for (int i = 1; i <= st->size && k + 6 < sizeof(buf); i++)
			if (sim_store_get(st, i) != NULL)
				k += (size_t)snprintf(buf + k, sizeof(buf) - k, "%s%d", k ? "," : "",
						      sim_at_index(m, i));
		at_info(m, "+CMGD: (%s),(0-4)", buf);
		return AT_OK;
	}
	if (op != AT_SET)
		return AT_ERROR;
	if ((rc = at_sim_ready(m, 1)) != AT_OK)
		return rc;
	n = at_params(args, p, 2);
	if (n < 1 || at_int(p[0], 0, SIM_STORE_MAX, &idx) != 0)
		return AT_CMS(CMS_INVALID_INDEX);
	if (n == 2 && p[1][0] != '\0' && at_int(p[1], 0, 4, &flag) != 0)
		return AT_CMS(CMS_NOT_ALLOWED);
	if (flag == 0) {
		idx = at_slot(m, idx);
		if (idx < 1 || idx > st->size)
			return AT_CMS(CMS_INVALID_INDEX);
		st->slot[idx - 1].used = 0;
	} else {
		/* 1: read; 2: read and sent; 3: also unsent; 4: everything. */
		for (int i = 0; i < st->size; i++) {
			struct sim_slot *s = &st->slot[i];
			if (!s->used)
				continue;
			if (flag == 4 || s->stat == SIM_STAT_READ || (flag >= 2 && s->stat == SIM_STAT_SENT) ||
			    (flag >= 3 && s->stat == SIM_STAT_UNSENT))
				s->used = 0;
		}
	}
	/* Freed space may let the network deliver what it holds for us. */
	sim_net_kick(m);
	return AT_OK;
}

/* --- sending and writing: the "> " prompt --- */

static int at_prompt(struct sim_modem *m, enum at_op op, char *args, int kind)
{
	char *p[2];
	int n, len, rc, stat = SIM_STAT_UNSENT;

	if (op == AT_TEST)
		return AT_OK;
	if (op != AT_SET)
		return AT_ERROR;
	if ((rc = at_sim_ready(m, 1)) != AT_OK)
		return rc;
	n = at_params(args, p, 2);
	if (n < 1 || at_int(p[0], 1, PDU_TPDU_MAX, &len) != 0)
		return AT_CMS(CMS_INVALID_PDU);
	if (kind == PROMPT_CMGW && n == 2 && p[1][0] != '\0' && at_int(p[1], 0, 3, &stat) != 0)
		return AT_CMS(CMS_NOT_ALLOWED);
	if (kind == PROMPT_CMGS && m->faults.no_prompt > 0 && --m->faults.no_prompt == 0) {
		log_info("modem %s: fault: AT+CMGS swallowed, no prompt", m->number);
		return AT_DEFER;
	}
	m->pdu_mode_input = kind | stat << 4;
	m->pdu_expect = len;
	m->pdu_hex_len = 0;
	m->pdu_overflow = 0;
	at_out(m, m->profile->prompt == SIM_PROMPT_BARE ? "> " : "\r\n> ");
	return AT_DEFER;
}

static int at_cmgs(struct sim_modem *m, enum at_op op, char *args)
{
	return at_prompt(m, op, args, PROMPT_CMGS);
}

static int at_cmgw(struct sim_modem *m, enum at_op op, char *args)
{
	return at_prompt(m, op, args, PROMPT_CMGW);
}

static void at_busy_fire(struct sim_timer *t)
{
	struct sim_modem *m = t->arg;

	m->busy = 0;
	/* A modem that hung while sending never answers the send. */
	if (m->faults.hang)
		return;
	if (m->busy_cms == 0) {
		at_info(m, "+CMGS: %d", m->busy_mr);
		at_final(m, AT_OK);
	} else {
		at_final(m, AT_CMS(m->busy_cms));
	}
	/* Commands typed while we were sending are served now. */
	sim_modem_process(m);
	sim_at_flush_urc(m);
}

/* Answers a send after the configured send duration; the modem takes no input meanwhile. */
static void at_send_result(struct sim_modem *m, int mr_or_cms, int64_t delay_ms)
{
	m->busy_mr = mr_or_cms >= 0 ? mr_or_cms : 0;
	m->busy_cms = mr_or_cms >= 0 ? 0 : -mr_or_cms;
	m->busy = 1;
	m->busy_timer.fire = at_busy_fire;
	m->busy_timer.arg = m;
	sim_timer_arm(&m->busy_timer, delay_ms);
}

static void at_pdu_done(struct sim_modem *m)
{
	uint8_t pdu[PDU_MAX];
	int kind = m->pdu_mode_input & 0x0F, stat = m->pdu_mode_input >> 4;
	long n = -1;
	int smsc = -1;

	m->pdu_mode_input = 0;
	if (!m->pdu_overflow)
		n = pdu_unhex(m->pdu_hex, m->pdu_hex_len, pdu, sizeof(pdu));
	if (n > 0)
		smsc = pdu_smsc_field_len(pdu, (size_t)n);
	if (kind == PROMPT_CMGS) {
		int drop_answer = m->faults.drop_answer > 0 && --m->faults.drop_answer == 0;
		int rc;
		if (m->faults.drop_submit > 0 && --m->faults.drop_submit == 0) {
			log_info("modem %s: fault: this SMS never reaches the network, and nothing answers", m->number);
			return;
		}
		rc = sim_net_submit(m, n > 0 ? pdu : NULL, n > 0 ? (size_t)n : 0, m->pdu_expect);
		if (drop_answer && rc >= 0) {
			log_info("modem %s: fault: the network took the SMS (reference %d); its answer is lost",
				 m->number, rc);
			return;
		}
		/* A malformed PDU is refused at once; everything else takes the send duration. */
		if (rc == -CMS_INVALID_PDU) {
			at_final(m, AT_CMS(CMS_INVALID_PDU));
			return;
		}
		at_send_result(m, rc,
			       m->faults.send_duration_ms > 0 ? m->faults.send_duration_ms
							      : m->profile->send_duration_ms);
		return;
	}
	/* AT+CMGW: store a SUBMIT or a DELIVER in the write memory. */
	{
		struct pdu_sms sms;
		int idx;
		if (n <= 0 || smsc < 0 || n - smsc != m->pdu_expect ||
		    (pdu_decode_submit(pdu, (size_t)n, 1, &sms) != PDU_OK &&
		     pdu_decode_sc_to_ms(pdu, (size_t)n, 1, &sms) != PDU_OK)) {
			at_final(m, AT_CMS(CMS_INVALID_PDU));
			return;
		}
		if (m->faults.storage_full) {
			at_final(m, AT_CMS(CMS_MEM_FULL));
			return;
		}
		idx = sim_store_put(&m->store[m->mem[1]], (enum sim_stat)stat, pdu, (size_t)n, (size_t)(n - smsc));
		if (idx < 0) {
			at_final(m, AT_CMS(CMS_MEM_FULL));
			return;
		}
		at_info(m, "+CMGW: %d", sim_at_index(m, idx));
		at_final(m, AT_OK);
	}
}

static int at_cusd(struct sim_modem *m, enum at_op op, char *args)
{
	(void)m;
	(void)op;
	(void)args;
	/* No USSD on this network; gammu-smsd only tries to switch it on. */
	return AT_CME(CME_NOT_SUPPORTED);
}

/* --- settings a client sets at start-up and a strict modem accepts --- */

static int at_ifc(struct sim_modem *m, enum at_op op, char *args)
{
	char *p[2];
	int n, dce = 2, dte = 2;

	if (!m->profile->ifc)
		return AT_UNKNOWN;
	switch (op) {
	case AT_READ: at_info(m, "+IFC: %d,%d", m->ifc_dce, m->ifc_dte); return AT_OK;
	case AT_TEST: at_info(m, "+IFC: (0-3),(0-2)"); return AT_OK;
	case AT_SET:
		/* Accepted and shown, not simulated: a pseudo-terminal has no RTS/CTS lines. */
		n = at_params(args, p, 2);
		if (n < 1 || at_int(p[0], 0, 3, &dce) != 0 || (n == 2 && at_int(p[1], 0, 2, &dte) != 0))
			return AT_CME(CME_NOT_SUPPORTED);
		m->ifc_dce = dce;
		m->ifc_dte = n == 2 ? dte : m->ifc_dte;
		return AT_OK;
	default: return AT_ERROR;
	}
}

/* AT+CNMA acknowledges a +CMT or +CDS shown while AT+CSMS=1 (TS 27.005 3.4.4); with nothing to
 * acknowledge it answers +CMS ERROR: 340. */
static int at_cnma(struct sim_modem *m, enum at_op op, char *args)
{
	int v = 0;

	if (!m->profile->cnma)
		return AT_UNKNOWN;
	if (op == AT_TEST) {
		at_info(m, "+CNMA: (0-2)");
		return AT_OK;
	}
	if (op == AT_READ)
		return AT_ERROR;
	if (op == AT_SET && at_int(args, 0, 2, &v) != 0)
		return AT_CMS(CMS_NOT_ALLOWED);
	if (m->csms != 1 || m->cnma_due == 0)
		return AT_CMS(CMS_NO_CNMA);
	m->cnma_due--;
	return AT_OK;
}

/* AT+CLIP and AT+CRC: how an incoming call is announced (+CLIP lines, +CRING instead of RING). */
static int at_flag(struct sim_modem *m, enum at_op op, char *args, const char *name, int *flag, int read_extra)
{
	int v;

	if (!m->profile->clip_crc)
		return AT_UNKNOWN;
	switch (op) {
	case AT_READ:
		if (read_extra)
			at_info(m, "%s: %d,1", name, *flag);
		else
			at_info(m, "%s: %d", name, *flag);
		return AT_OK;
	case AT_TEST: at_info(m, "%s: (0,1)", name); return AT_OK;
	case AT_SET:
		if (at_int(args, 0, 1, &v) != 0)
			return AT_CME(CME_NOT_SUPPORTED);
		*flag = v;
		return AT_OK;
	default: return AT_ERROR;
	}
}

static int at_clip(struct sim_modem *m, enum at_op op, char *args)
{
	return at_flag(m, op, args, "+CLIP", &m->clip, 1);
}

static int at_crc(struct sim_modem *m, enum at_op op, char *args)
{
	return at_flag(m, op, args, "+CRC", &m->crc, 0);
}

/* Huawei: AT^CURC switches the periodic ^RSSI/^HCSQ/^MODE lines; AT^PORTSEL picks the port the
 * unsolicited lines go to (Gammu sends both for the sticks it knows). */
static int at_curc(struct sim_modem *m, enum at_op op, char *args)
{
	int v;

	if (!m->profile->huawei_urcs)
		return AT_UNKNOWN;
	switch (op) {
	case AT_READ: at_info(m, "^CURC: %d", m->curc); return AT_OK;
	case AT_TEST: at_info(m, "^CURC: (0-1)"); return AT_OK;
	case AT_SET:
		if (at_int(args, 0, 1, &v) != 0)
			return AT_CME(CME_NOT_SUPPORTED);
		m->curc = v;
		return AT_OK;
	default: return AT_ERROR;
	}
}

static int at_portsel(struct sim_modem *m, enum at_op op, char *args)
{
	int v;

	if (!m->profile->huawei_urcs)
		return AT_UNKNOWN;
	if (op == AT_SET)
		return at_int(args, 0, 1, &v) == 0 ? AT_OK : AT_CME(CME_NOT_SUPPORTED);
	if (op == AT_READ)
		at_info(m, "^PORTSEL: 1");
	return AT_OK;
}

static int at_chup(struct sim_modem *m, enum at_op op, char *args)
{
	(void)args;
	if (op != AT_EXEC && op != AT_TEST)
		return AT_ERROR;
	if (op == AT_EXEC) {
		m->rings_left = 0;
		sim_timer_cancel(&m->ring_timer);
	}
	return AT_OK;
}

/* --- dispatch --- */

struct at_cmd {
	const char *name;
	int (*fn)(struct sim_modem *m, enum at_op op, char *args);
};

static const struct at_cmd at_cmds[] = {
	{.name = "+CGMI", .fn = at_cgmi},   {.name = "+GMI", .fn = at_cgmi},    {.name = "+CGMM", .fn = at_cgmm},
	{.name = "+GMM", .fn = at_cgmm},    {.name = "+CGMR", .fn = at_cgmr},   {.name = "+GMR", .fn = at_cgmr},
	{.name = "+CGSN", .fn = at_cgsn},   {.name = "+GSN", .fn = at_cgsn},    {.name = "+CIMI", .fn = at_cimi},
	{.name = "+CMEE", .fn = at_cmee},   {.name = "+CSCS", .fn = at_cscs},   {.name = "+CFUN", .fn = at_cfun},
	{.name = "+CPIN", .fn = at_cpin},   {.name = "+CSQ", .fn = at_csq},     {.name = "+CREG", .fn = at_creg},
	{.name = "+CGREG", .fn = at_cgreg}, {.name = "+CGATT", .fn = at_cgatt}, {.name = "+COPS", .fn = at_cops},
	{.name = "+CSCA", .fn = at_csca},   {.name = "+CMGF", .fn = at_cmgf},   {.name = "+CSMS", .fn = at_csms},
	{.name = "+CMMS", .fn = at_cmms},   {.name = "+CNMI", .fn = at_cnmi},   {.name = "+CPMS", .fn = at_cpms},
	{.name = "+CMGR", .fn = at_cmgr},   {.name = "+CMGL", .fn = at_cmgl},   {.name = "+CMGD", .fn = at_cmgd},
	{.name = "+CMGS", .fn = at_cmgs},   {.name = "+CMGW", .fn = at_cmgw},   {.name = "+CUSD", .fn = at_cusd},
	{.name = "+IFC", .fn = at_ifc},     {.name = "+CNMA", .fn = at_cnma},   {.name = "+CLIP", .fn = at_clip},
	{.name = "+CRC", .fn = at_crc},     {.name = "^CURC", .fn = at_curc},   {.name = "^PORTSEL", .fn = at_portsel},
	{.name = "+CHUP", .fn = at_chup},
};

static int at_extended(struct sim_modem *m, const char **pp)
{
	const char *p = *pp, *start = p;
	char name[32], args[SIM_AT_LINE_MAX + 1];
	enum at_op op = AT_EXEC;
	size_t n = 0, k = 0;
	int quoted = 0;

	while (*p && *p != '=' && *p != '?' && *p != ';') {
		if (n + 1 >= sizeof(name))
			return AT_ERROR;
		name[n++] = (char)toupper((unsigned char)*p++);
	}
	name[n] = '\0';
	if (p[0] == '=' && p[1] == '?') {
		op = AT_TEST;
		p += 2;
	} else if (p[0] == '=') {
		op = AT_SET;
		p++;
		while (*p && (quoted || *p != ';')) {
			if (*p == '"')
				quoted = !quoted;
			args[k++] = *p++;
		}
	} else if (p[0] == '?') {
		op = AT_READ;
		p++;
	}
	args[k] = '\0';
	*pp = p;
	(void)start;
	for (size_t i = 0; i < sizeof(at_cmds) / sizeof(at_cmds[0]); i++)
		if (strcmp(name, at_cmds[i].name) == 0)
			return at_cmds[i].fn(m, op, args);
	/* Unknown: ERROR (or the profile's own words). Gammu probes with commands such as
	 * AT+CPROT=? and must not be told they exist. */
	return AT_UNKNOWN;
}

static void at_ati(struct sim_modem *m)
{
	switch (m->profile->ati) {
	case SIM_ATI_PRODUCT: at_info(m, "%s", m->profile->ati_product); break;
	case SIM_ATI_LABELLED:
		at_info(m, "Manufacturer: %s", m->manufacturer);
		at_info(m, "Model: %s", m->model);
		at_info(m, "Revision: %s", m->revision);
		at_info(m, "IMEI: %s", m->imei);
		at_info(m, "+GCAP: +CGSM,+DS,+ES");
		break;
	case SIM_ATI_PLAIN_REV:
		at_info(m, "%s", m->manufacturer);
		at_info(m, "%s", m->model);
		at_info(m, "%s", m->revision);
		break;
	default:
		at_info(m, "%s", m->manufacturer);
		at_info(m, "%s", m->model);
		at_info(m, "Revision: %s", m->revision);
		break;
	}
}

/* Basic (V.250) commands: a letter or &letter and an optional number. */
static int at_basic(struct sim_modem *m, const char **pp)
{
	const char *p = *pp;
	char c = (char)toupper((unsigned char)*p++);
	int amp = 0, v = 0, has = 0;

	if (c == '&') {
		amp = 1;
		c = (char)toupper((unsigned char)*p++);
		if (c == '\0')
			return AT_ERROR;
	}
	if (!amp && c == 'S') {
		/* S-registers: Sn=v or Sn?; accepted, not kept. */
		while (isdigit((unsigned char)*p))
			p++;
		if (*p == '?') {
			p++;
			at_info(m, "000");
		} else if (*p == '=') {
			p++;
			while (isdigit((unsigned char)*p))
				p++;
		}
		*pp = p;
		return AT_OK;
	}
	while (isdigit((unsigned char)*p) && v < 1000) {
		v = v * 10 + (*p++ - '0');
		has = 1;
	}
	*pp = p;
	if (amp) {
		if (c == 'F') {
			at_defaults(m); /* factory settings: echo on again, as ATZ */
			return AT_OK;
		}
		return strchr("CDKW", c) ? AT_OK : AT_ERROR;
	}
	switch (c) {
	case 'E':
		if (v > 1)
			return AT_ERROR;
		m->echo = v;
		return AT_OK;
	case 'V':
		/* Numeric result codes are not simulated. */
		return (has && v == 0) ? AT_ERROR : AT_OK;
	case 'Q': return v == 0 ? AT_OK : AT_ERROR;
	case 'Z':
		/* The stored user profile, which is the factory one here: echo is on again. */
		at_defaults(m);
		return AT_OK;
	case 'I': at_ati(m); return AT_OK;
	case 'H':
		m->rings_left = 0;
		sim_timer_cancel(&m->ring_timer);
		return AT_OK;
	case 'L':
	case 'M':
	case 'X': return AT_OK;
	case '\\': {
		/* Siemens AT\Q<n>: flow control, accepted as AT+IFC is. */
		char q = (char)toupper((unsigned char)**pp);
		if (!m->profile->siemens_q || q != 'Q')
			return AT_UNKNOWN;
		(*pp)++;
		while (isdigit((unsigned char)**pp))
			(*pp)++;
		return AT_OK;
	}
	default: return AT_UNKNOWN;
	}
}

static void at_execute(struct sim_modem *m, const char *line)
{
	const char *p = line;
	int rc = AT_OK;

	m->resp_started = 0;
	while (*p == ' ')
		p++;
	if (strncasecmp(p, "AT", 2) != 0) {
		at_final(m, AT_ERROR);
		return;
	}
	p += 2;
	while (*p) {
		if (*p == ';' || *p == ' ') {
			p++;
			continue;
		}
		if (strchr("+$^*%#!", *p))
			rc = at_extended(m, &p);
		else
			rc = at_basic(m, &p);
		if (rc != AT_OK)
			break;
	}
	if (rc != AT_DEFER)
		at_final(m, rc);
}

/* Logs a command line with anything unprintable shown as '.', so line noise stays readable. */
static void at_log_line(const struct sim_modem *m)
{
	char buf[SIM_AT_LINE_MAX + 1];
	size_t i;

	for (i = 0; i < SIM_AT_LINE_MAX && m->line[i] != '\0'; i++)
		buf[i] = isprint((unsigned char)m->line[i]) ? m->line[i] : '.';
	buf[i] = '\0';
	log_debug("modem %s: <- %s", m->number, buf);
}

/* The profile's answer delay is over: the command line runs now. */
static void at_answer_fire(struct sim_timer *t)
{
	struct sim_modem *m = t->arg;

	m->answering = 0;
	if (m->faults.hang || m->resetting)
		return;
	at_execute(m, m->pending_line);
	sim_at_flush_urc(m);
	/* Commands typed meanwhile are served now. */
	sim_modem_process(m);
	sim_at_flush_urc(m);
}

/* Feeds bytes through the line editor. A command line ends at CR; after the "> " prompt, hex
 * digits collect until Ctrl-Z sends and ESC cancels. */
size_t sim_at_input(struct sim_modem *m, const uint8_t *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len && !m->busy && !m->answering && !m->resetting; i++) {
		uint8_t c = buf[i];

		if (m->faults.hang)
			continue;
		if (m->pdu_mode_input) {
			if (c == CTRL_Z) {
				if (m->echo)
					sim_modem_write(m, "\x1a", 1);
				at_pdu_done(m);
			} else if (c == ESC) {
				m->pdu_mode_input = 0;
				at_final(m, AT_OK);
			} else if (c == '\r' || c == '\n') {
				/* Line breaks inside the PDU are not part of it. */
			} else {
				if (m->echo)
					sim_modem_write(m, (const char *)&c, 1);
				if (m->pdu_hex_len < SIM_PDU_HEX_MAX)
					m->pdu_hex[m->pdu_hex_len++] = (char)c;
				else
					m->pdu_overflow = 1;
			}
			continue;
		}
		if (c == ESC || c == CTRL_Z || c == '\n' || c == '\0')
			continue;
		if (m->echo)
			sim_modem_write(m, (const char *)&c, 1);
		if (c == '\r') {
			int overflow = m->line_overflow;
			m->line[m->line_len] = '\0';
			m->line_len = 0;
			m->line_overflow = 0;
			if (overflow) {
				log_debug("modem %s: command line too long", m->number);
				at_final(m, AT_ERROR);
			} else if (m->line[0] != '\0') {
				if (log_getlevel() >= LOG_LEVEL_DEBUG)
					at_log_line(m);
				int64_t delay = m->faults.answer_delay_ms >= 0 ? m->faults.answer_delay_ms
									       : m->profile->answer_delay_ms;
				if (delay > 0) {
					/* A real modem takes its time; input waits meanwhile. */
					memcpy(m->pending_line, m->line, sizeof(m->pending_line));
					m->answering = 1;
					m->answer_timer.fire = at_answer_fire;
					m->answer_timer.arg = m;
					sim_timer_arm(&m->answer_timer, delay);
				} else {
					at_execute(m, m->line);
				}
			}
			sim_at_flush_urc(m);
			continue;
		}
		if (c == 0x08 || c == 0x7F) {
			if (m->line_len > 0)
				m->line_len--;
			continue;
		}
		if (m->line_len < SIM_AT_LINE_MAX)
			m->line[m->line_len++] = (char)c;
		else
			m->line_overflow = 1;
	}
	return i;
}
