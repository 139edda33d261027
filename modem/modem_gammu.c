/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The modem library over libgammu: the only file in smswake that includes gammu.h. Every Gammu
 * call is wrapped here and its GSM_Error mapped to enum modem_err. Callbacks only set flags: Gammu
 * must never be re-entered from inside one. */
#include "modem.h"

#include <dirent.h>
#include <errno.h>
#include <gammu.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

struct modem {
	GSM_StateMachine *sm;
	struct modem_config cfg;
	/* SMSC number in Gammu's UCS-2, read once at open when none is configured, so a send does
	 * not ask the modem (AT+CSCA?) every time; empty means let Gammu ask. */
	unsigned char smsc[(GSM_MAX_NUMBER_LENGTH + 1) * 2];
	/* Written by callbacks, read after the Gammu call that ran them returns. */
	int send_done, send_status, send_ref;
	int incoming;
	/* GSM_MultiSMSMessage is some 200 kB: kept here rather than on the stack. It also holds
	 * the position GSM_GetNextSMS continues from. */
	GSM_MultiSMSMessage *multi;
	GSM_SMSMessage out;
	struct modem_caps caps;
	int cap_strikes; /* MODEM_CAP_* refused once: one more refusal and the modem lacks it */
	/* Gammu's own descriptor of the device, found after it opened it, for the two queries
	 * libgammu 1.42 cannot make on their own (a direct AT+CREG? and AT+COPS?); -1 if none. */
	int raw_fd;
};

#define MODEM_RAW_TIMEOUT_MS 4000

int modem_error_from_gammu(int gsm_error)
{
	switch ((GSM_Error)gsm_error) {
	case ERR_NONE: return MODEM_OK;
	case ERR_DEVICEOPENERROR:
	case ERR_DEVICENOTEXIST:
	case ERR_DEVICENOPERMISSION:
	case ERR_DEVICENODRIVER:
	case ERR_DEVICENOTWORK:
	case ERR_DEVICEDTRRTSERROR:
	case ERR_DEVICECHANGESPEEDERROR:
	case ERR_DEVICEWRITEERROR:
	case ERR_DEVICEREADERROR:
	case ERR_DEVICEPARITYERROR:
	case ERR_NOTCONNECTED:
	case ERR_CANTOPENFILE: return MODEM_E_IO;
	case ERR_DEVICELOCKED:
	case ERR_DEVICEBUSY:
	case ERR_BUSY:
	case ERR_WORKINPROGRESS:
	case ERR_INSIDEPHONEMENU: return MODEM_E_BUSY;
	case ERR_TIMEOUT: return MODEM_E_TIMEOUT;
	case ERR_UNKNOWNCONNECTIONTYPESTRING:
	case ERR_UNKNOWNMODELSTRING:
	case ERR_UNCONFIGURED:
	case ERR_EMPTYSMSC:
	case ERR_DISABLED: return MODEM_E_CONFIG;
	case ERR_NOTSUPPORTED:
	case ERR_NOTIMPLEMENTED:
	case ERR_SOURCENOTAVAILABLE: return MODEM_E_NOT_SUPPORTED;
	case ERR_EMPTY:
	case ERR_INVALIDLOCATION: return MODEM_E_EMPTY;
	case ERR_SECURITYERROR: return MODEM_E_PIN_REQUIRED;
	case ERR_NOSIM: return MODEM_E_NO_SIM;
	case ERR_FULL: return MODEM_E_FULL;
	case ERR_MOREMEMORY: return MODEM_E_NOMEM;
	case ERR_NETWORK_ERROR:
	case ERR_NOSERVICE:
	case ERR_PHONEOFF: return MODEM_E_NETWORK;
	default: return MODEM_E_UNKNOWN;
	}
}

/* Maps and, on failure, says which call failed and what Gammu called the error. */
static int modem_gammu_fail(GSM_Error e, const char *what, char *errtext, size_t errlen)
{
	int rc = modem_error_from_gammu(e);
	if (rc != MODEM_OK && errtext != NULL && errlen > 0)
		snprintf(errtext, errlen, "%s: %s", what, GSM_ErrorString(e));
	return rc;
}

/* A connection that did not start: Gammu's text does not say which device, nor what to do. For a
 * device that cannot be opened, the system's own reason (errno of open) says more than Gammu's. */
static int modem_init_fail(struct modem *m, GSM_Error e, char *errtext, size_t errlen)
{
	int rc = modem_error_from_gammu(e);

	if (errtext == NULL || errlen == 0)
		return rc;
	switch (e) {
	case ERR_DEVICEOPENERROR:
	case ERR_DEVICENOTEXIST:
	case ERR_DEVICENOPERMISSION:
		if (m->cfg.device[0] == '/' && access(m->cfg.device, R_OK | W_OK) != 0) {
			int err = errno;
			snprintf(errtext, errlen, "device %.96s: %s (%s)", m->cfg.device, strerror(err),
				 modem_device_hint(err));
			return rc;
		}
		/* fall through */
	default: snprintf(errtext, errlen, "init on device %.96s: %s", m->cfg.device, GSM_ErrorString(e));
	}
	return rc;
}

/* UTF-8 (or ASCII) to Gammu's NUL-terminated big-endian UCS-2; code points above U+FFFF become
 * surrogate pairs. dstmax counts octets. Returns the number of UTF-16 units, or -1. */
static int modem_utf8_to_gammu(const char *src, unsigned char *dst, size_t dstmax)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t o = 0;
	int units = 0;

	while (*s != '\0') {
		unsigned cp;
		int n;
		if (s[0] < 0x80) {
			cp = s[0];
			n = 1;
		} else if ((s[0] & 0xe0) == 0xc0 && s[1] != 0) {
			cp = ((unsigned)(s[0] & 0x1f) << 6) | (s[1] & 0x3f);
			n = 2;
		} else if ((s[0] & 0xf0) == 0xe0 && s[1] != 0 && s[2] != 0) {
			cp = ((unsigned)(s[0] & 0x0f) << 12) | ((unsigned)(s[1] & 0x3f) << 6) | (s[2] & 0x3f);
			n = 3;
		} else if ((s[0] & 0xf8) == 0xf0 && s[1] != 0 && s[2] != 0 && s[3] != 0) {
			cp = ((unsigned)(s[0] & 0x07) << 18) | ((unsigned)(s[1] & 0x3f) << 12) |
			     ((unsigned)(s[2] & 0x3f) << 6) | (s[3] & 0x3f);
			n = 4;
		} else {
			return -1;
		}
		s += n;
		if (cp >= 0x10000) {
			unsigned v = cp - 0x10000, hi = 0xd800 | (v >> 10), lo = 0xdc00 | (v & 0x3ff);
			if (o + 6 > dstmax)
				return -1;
			dst[o++] = (unsigned char)(hi >> 8);
			dst[o++] = (unsigned char)hi;
			dst[o++] = (unsigned char)(lo >> 8);
			dst[o++] = (unsigned char)lo;
			units += 2;
		} else {
			if (o + 4 > dstmax)
				return -1;
			dst[o++] = (unsigned char)(cp >> 8);
			dst[o++] = (unsigned char)cp;
			units++;
		}
	}
	if (o + 2 > dstmax)
		return -1;
	dst[o++] = 0;
	dst[o] = 0;
	return units;
}

/* Gammu's UCS-2 (at most maxunits units, or up to its NUL) to UTF-8. Returns the bytes written
 * (without the NUL, which is always written when dstmax > 0). Unpaired surrogates become U+FFFD. */
static size_t modem_gammu_to_utf8(const unsigned char *src, size_t maxunits, char *dst, size_t dstmax)
{
	size_t o = 0, i;

	if (dstmax == 0)
		return 0;
	for (i = 0; i < maxunits; i++) {
		unsigned cp = (unsigned)src[2 * i] << 8 | src[2 * i + 1];
		unsigned char buf[4];
		size_t n;
		if (cp == 0)
			break;
		if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < maxunits) {
			unsigned lo = (unsigned)src[2 * i + 2] << 8 | src[2 * i + 3];
			if (lo >= 0xdc00 && lo <= 0xdfff) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				i++;
			} else {
				cp = 0xfffd;
			}
		} else if (cp >= 0xd800 && cp <= 0xdfff) {
			cp = 0xfffd;
		}
		if (cp < 0x80) {
			buf[0] = (unsigned char)cp;
			n = 1;
		} else if (cp < 0x800) {
			buf[0] = (unsigned char)(0xc0 | cp >> 6);
			buf[1] = (unsigned char)(0x80 | (cp & 0x3f));
			n = 2;
		} else if (cp < 0x10000) {
			buf[0] = (unsigned char)(0xe0 | cp >> 12);
			buf[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
			buf[2] = (unsigned char)(0x80 | (cp & 0x3f));
			n = 3;
		} else {
			buf[0] = (unsigned char)(0xf0 | cp >> 18);
			buf[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
			buf[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
			buf[3] = (unsigned char)(0x80 | (cp & 0x3f));
			n = 4;
		}
		if (o + n + 1 > dstmax)
			break;
		memcpy(dst + o, buf, n);
		o += n;
	}
	dst[o] = '\0';
	return o;
}

static void modem_cb_send_status(GSM_StateMachine *sm, int status, int reference, void *user)
{
	struct modem *m = user;
	(void)sm;
	m->send_done = 1;
	m->send_status = status;
	m->send_ref = reference;
}

static void modem_cb_incoming_sms(GSM_StateMachine *sm, GSM_SMSMessage *sms, void *user)
{
	struct modem *m = user;
	(void)sm;
	(void)sms;
	/* Only a flag: the message is read with GSM_GetNextSMS outside the callback. */
	m->incoming = 1;
}

/* GSM_InitConnection resets every callback, so this runs after each (re)connection. */
static void modem_set_callbacks(struct modem *m)
{
	GSM_SetSendSMSStatusCallback(m->sm, modem_cb_send_status, m);
	GSM_SetIncomingSMSCallback(m->sm, modem_cb_incoming_sms, m);
}

static int modem_configure(struct modem *m)
{
	GSM_Config *gc = GSM_GetConfig(m->sm, 0);
	char *dev, *conn;

	if (gc == NULL)
		return MODEM_E_CONFIG;
	/* Fills the defaults (CNMIParams among them; left zeroed, GSM_SetIncomingSMS fails). It
	 * answers ERR_USING_DEFAULTS, which is what we want. */
	(void)GSM_ReadConfig(NULL, gc, 0);
	dev = strdup(m->cfg.device);
	conn = strdup(m->cfg.connection[0] ? m->cfg.connection : "at");
	if (dev == NULL || conn == NULL) {
		free(dev);
		free(conn);
		return MODEM_E_NOMEM;
	}
	free(gc->Device);
	gc->Device = dev;
	free(gc->Connection);
	gc->Connection = conn;
	snprintf(gc->Model, sizeof(gc->Model), "%s", m->cfg.model);
	gc->LockDevice = FALSE; /* one worker per device is enforced by us; stale locks block restarts */
	gc->SyncTime = FALSE;
	gc->StartInfo = FALSE;
	if (m->cfg.logfile[0] != '\0') {
		char *lf = strdup(m->cfg.logfile);
		if (lf == NULL)
			return MODEM_E_NOMEM;
		free(gc->DebugFile);
		gc->DebugFile = lf;
		snprintf(gc->DebugLevel, sizeof(gc->DebugLevel), "textalldate");
		gc->UseGlobalDebugFile = FALSE;
	}
	GSM_SetConfigNum(m->sm, 1);
	return MODEM_OK;
}

/* --- capabilities and the direct AT queries --- */

/* An answer that says the modem lacks the command (ERROR, "not supported"), as opposed to a
 * modem that did not answer or broke the connection. */
static int modem_gammu_unsupported(GSM_Error e)
{
	return e == ERR_NOTSUPPORTED || e == ERR_NOTIMPLEMENTED || e == ERR_UNKNOWN;
}

/* Whether an optional query is worth asking: not yet tried on this connection, or answered. */
static int modem_cap_try(const struct modem *m, int cap)
{
	return !(m->caps.probed & cap) || (m->caps.present & cap);
}

/* A modem lacks a command once it refused it twice in a row: one refusal may be an answer that
 * came late and was taken for the next command's (a slow modem, a busy host), and a modem wrongly
 * taken to lack GPRS or signal would stay so for the whole connection. */
static void modem_cap_set(struct modem *m, int cap, int present)
{
	if (!present && !(m->cap_strikes & cap) && !(m->caps.probed & cap)) {
		m->cap_strikes |= cap;
		log_debug("modem %s: %s refused once", m->cfg.name, modem_cap_name(cap));
		return;
	}
	m->cap_strikes &= ~cap;
	if (!(m->caps.probed & cap) || ((m->caps.present & cap) != 0) != present)
		log_debug("modem %s: %s %s", m->cfg.name, present ? "answers" : "lacks", modem_cap_name(cap));
	m->caps.probed |= cap;
	if (present)
		m->caps.present |= cap;
	else
		m->caps.present &= ~cap;
}

void modem_get_caps(const struct modem *m, struct modem_caps *caps)
{
	*caps = m->caps;
}

/* The descriptor Gammu opened the device with: the one of ours that is the same character
 * device. Only serial connections have one. */
static int modem_find_raw_fd(const struct modem *m)
{
	struct stat dev, st;
	struct dirent *e;
	DIR *d;
	int found = -1;

	if (strncmp(m->cfg.connection, "at", 2) != 0 || stat(m->cfg.device, &dev) != 0 || !S_ISCHR(dev.st_mode))
		return -1;
	d = opendir("/proc/self/fd");
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		int64_t v;
		if (util_parse_i64(e->d_name, 0, 1 << 20, &v) != 0 || (int)v == dirfd(d))
			continue;
		if (fstat((int)v, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == dev.st_rdev) {
			found = (int)v;
			break;
		}
	}
	closedir(d);
	return found;
}

/* One line of a direct query: the answer we want, a final result, or something to pass on. */
static int modem_raw_line(struct modem *m, const char *line, const char *cmd, const char *prefix, char *ans,
			  size_t anslen)
{
	if (line[0] == '\0' || strcmp(line, cmd) == 0)
		return -1; /* blank, or our echo */
	if (strcmp(line, "OK") == 0)
		return MODEM_OK;
	if (strcmp(line, "ERROR") == 0 || strncmp(line, "+CME ERROR", 10) == 0 ||
	    strncmp(line, "+CMS ERROR", 10) == 0 || strncmp(line, "COMMAND NOT SUPPORT", 19) == 0)
		return MODEM_E_NOT_SUPPORTED;
	if (strncmp(line, "+CMTI:", 6) == 0 || strncmp(line, "+CDSI:", 6) == 0)
		m->incoming = 1; /* an indication that came in the middle: read the storage soon */
	else if (prefix != NULL && ans[0] == '\0' && strncmp(line, prefix, strlen(prefix)) == 0 && anslen > 0) {
		/* An over-long answer is cut: the parsers read only its first fields. */
		size_t n = strnlen(line, anslen - 1);
		memcpy(ans, line, n);
		ans[n] = '\0';
	}
	return -1;
}

/* Sends one AT command on Gammu's descriptor while Gammu is idle and reads its answer up to the
 * final result; ans gets the first line starting with prefix. Unsolicited lines in between are
 * skipped (an incoming-message indication among them still leads to a storage read). Gammu is
 * given whatever was already waiting first, so nothing it should see is taken from it. Returns
 * MODEM_OK, MODEM_E_NOT_SUPPORTED (ERROR or no descriptor), MODEM_E_TIMEOUT or MODEM_E_IO. */
static int modem_at_query(struct modem *m, const char *cmd, const char *prefix, char *ans, size_t anslen)
{
	char buf[1024], line[sizeof(buf)];
	size_t len = 0, n = strlen(cmd);
	int64_t deadline = util_mono_ms() + MODEM_RAW_TIMEOUT_MS;

	if (anslen > 0)
		ans[0] = '\0';
	if (m->raw_fd < 0 || n + 1 >= sizeof(buf))
		return MODEM_E_NOT_SUPPORTED;
	for (int i = 0; i < 16 && GSM_ReadDevice(m->sm, FALSE) > 0; i++)
		;
	memcpy(buf, cmd, n);
	buf[n] = '\r';
	for (size_t off = 0; off < n + 1;) {
		ssize_t w = write(m->raw_fd, buf + off, n + 1 - off);
		if (w < 0 && (errno == EINTR || errno == EAGAIN)) {
			struct pollfd p = {.fd = m->raw_fd, .events = POLLOUT};
			if (util_mono_ms() >= deadline)
				return MODEM_E_TIMEOUT;
			(void)poll(&p, 1, 100);
			continue;
		}
		if (w <= 0)
			return MODEM_E_IO;
		off += (size_t)w;
	}
	for (;;) {
		struct pollfd p = {.fd = m->raw_fd, .events = POLLIN};
		int64_t left = deadline - util_mono_ms();
		char *end;
		ssize_t r;

		/* Complete lines first: the answer may already be in the buffer. */
		while ((end = memchr(buf, '\n', len)) != NULL || (end = memchr(buf, '\r', len)) != NULL) {
			size_t l = (size_t)(end - buf);
			int rc;
			memcpy(line, buf, l);
			line[l] = '\0';
			if (l > 0 && line[l - 1] == '\r')
				line[l - 1] = '\0';
			memmove(buf, end + 1, len - l - 1);
			len -= l + 1;
			rc = modem_raw_line(m, line, cmd, prefix, ans, anslen);
			if (rc >= 0)
				return rc;
		}
		if (len >= sizeof(buf) - 1)
			len = 0; /* a line this long is noise */
		if (left <= 0)
			return MODEM_E_TIMEOUT;
		if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
			return MODEM_E_IO;
		if (!(p.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		r = read(m->raw_fd, buf + len, sizeof(buf) - 1 - len);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			return MODEM_E_IO;
		len += (size_t)r;
	}
}

/* Connects, sets callbacks, unlocks the SIM, enables notifications and caches the SMSC. */
static int modem_connect(struct modem *m, char *errtext, size_t errlen)
{
	GSM_Error e;
	int rc;

	/* What the modem answers is learnt again on every connection (it may be another modem). */
	memset(&m->caps, 0, sizeof(m->caps));
	m->cap_strikes = 0;
	m->raw_fd = -1;
	/* One reply attempt: the supervisor retries, with its own deadlines and back-off. */
	e = GSM_InitConnection(m->sm, 1);
	if (e != ERR_NONE)
		return modem_init_fail(m, e, errtext, errlen);
	modem_set_callbacks(m);
	m->raw_fd = modem_find_raw_fd(m);

	rc = modem_unlock(m, errtext, errlen);
	if (rc != MODEM_OK)
		return rc;

	e = GSM_SetIncomingSMS(m->sm, TRUE);
	modem_cap_set(m, MODEM_CAP_SMS_NOTIFY, e == ERR_NONE);
	if (e != ERR_NONE)
		log_info("modem %s: no new-message notification (%s); polling storage only", m->cfg.name,
			 GSM_ErrorString(e));
	m->incoming = 1; /* read whatever arrived while nobody listened */

	m->smsc[0] = m->smsc[1] = 0;
	if (m->cfg.smsc[0] != '\0') {
		if (modem_utf8_to_gammu(m->cfg.smsc, m->smsc, sizeof(m->smsc)) < 0)
			return MODEM_E_CONFIG;
	} else {
		GSM_SMSC smsc;
		memset(&smsc, 0, sizeof(smsc));
		smsc.Location = 1;
		e = GSM_GetSMSC(m->sm, &smsc);
		if (e == ERR_NONE)
			memcpy(m->smsc, smsc.Number, sizeof(m->smsc));
		else
			log_debug("modem %s: SMSC not read (%s); Gammu will ask per message", m->cfg.name,
				  GSM_ErrorString(e));
	}
	return MODEM_OK;
}

int modem_open(struct modem **out, const struct modem_config *cfg, char *errtext, size_t errlen)
{
	struct modem *m;
	int rc;

	*out = NULL;
	if (errlen > 0)
		errtext[0] = '\0';
	if (cfg->device[0] == '\0') {
		snprintf(errtext, errlen, "no device configured");
		return MODEM_E_CONFIG;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return MODEM_E_NOMEM;
	m->cfg = *cfg;
	m->raw_fd = -1;
	m->multi = calloc(1, sizeof(*m->multi));
	m->sm = GSM_AllocStateMachine();
	if (m->multi == NULL || m->sm == NULL) {
		rc = MODEM_E_NOMEM;
		goto fail;
	}
	rc = modem_configure(m);
	if (rc != MODEM_OK) {
		snprintf(errtext, errlen, "configuration");
		goto fail;
	}
	rc = modem_connect(m, errtext, errlen);
	if (rc != MODEM_OK)
		goto fail;
	*out = m;
	return MODEM_OK;
fail:
	modem_close(m);
	return rc;
}

void modem_close(struct modem *m)
{
	if (m == NULL)
		return;
	if (m->sm != NULL) {
		if (GSM_IsConnected(m->sm))
			(void)GSM_TerminateConnection(m->sm);
		GSM_FreeStateMachine(m->sm);
	}
	free(m->multi);
	/* The PIN lived in our copy of the configuration. */
	explicit_bzero(&m->cfg, sizeof(m->cfg));
	free(m);
}

int modem_reconnect(struct modem *m, char *errtext, size_t errlen)
{
	if (GSM_IsConnected(m->sm))
		(void)GSM_TerminateConnection(m->sm);
	return modem_connect(m, errtext, errlen);
}

int modem_unlock(struct modem *m, char *errtext, size_t errlen)
{
	GSM_SecurityCodeType status = SEC_None;
	GSM_SecurityCode code;
	GSM_Error e;

	e = GSM_GetSecurityStatus(m->sm, &status);
	if (e == ERR_NOTSUPPORTED || e == ERR_NOTIMPLEMENTED)
		return MODEM_OK; /* the modem cannot tell: assume no code is needed */
	if (e != ERR_NONE)
		return modem_gammu_fail(e, "SIM status", errtext, errlen);
	switch (status) {
	case SEC_None: return MODEM_OK;
	case SEC_Pin: break;
	case SEC_Puk: snprintf(errtext, errlen, "SIM blocked: PUK required"); return MODEM_E_PUK_REQUIRED;
	default:
		snprintf(errtext, errlen, "SIM asks for a code other than the PIN (type %d)", (int)status);
		return MODEM_E_PIN_REQUIRED;
	}
	if (m->cfg.pin[0] == '\0') {
		snprintf(errtext, errlen, "SIM PIN required and no pin configured");
		return MODEM_E_PIN_REQUIRED;
	}
	memset(&code, 0, sizeof(code));
	code.Type = SEC_Pin;
	snprintf(code.Code, sizeof(code.Code), "%s", m->cfg.pin);
	e = GSM_EnterSecurityCode(m->sm, &code);
	explicit_bzero(&code, sizeof(code));
	if (e == ERR_NONE)
		return MODEM_OK;
	/* Whatever went wrong, the attempt may have counted: a second one could burn the PUK. */
	snprintf(errtext, errlen, "SIM PIN entry failed (%s); not retried", GSM_ErrorString(e));
	return MODEM_E_PIN_WRONG;
}

int modem_send_start(struct modem *m, const struct modem_sms_out *msg, char *errtext, size_t errlen)
{
	GSM_SMSMessage *sms = &m->out;
	GSM_Error e;
	int rc;

	if (errlen > 0)
		errtext[0] = '\0';
	m->send_done = 0;
	m->send_status = -1;
	m->send_ref = -1;
	rc = modem_sms_check(msg);
	if (rc != MODEM_OK) {
		snprintf(errtext, errlen, "%s", modem_strerror(rc));
		return rc;
	}

	memset(sms, 0, sizeof(*sms));
	GSM_SetDefaultSMSData(sms);
	if (modem_utf8_to_gammu(msg->number, sms->Number, sizeof(sms->Number)) < 0)
		return MODEM_E_INVAL;
	if (m->smsc[0] != 0 || m->smsc[1] != 0) {
		sms->SMSC.Location = 0;
		memcpy(sms->SMSC.Number, m->smsc, sizeof(sms->SMSC.Number));
	}
	/* Gammu's way to ask for a status report is this PDU type on a message being sent. */
	sms->PDU = msg->status_report ? SMS_Status_Report : SMS_Submit;
	sms->Class = -1;
	sms->SMSC.Validity.Format = SMS_Validity_RelativeFormat;
	sms->SMSC.Validity.Relative = (GSM_ValidityPeriod)modem_validity_octet(msg->validity_minutes);
	if (msg->binary) {
		sms->Coding = SMS_Coding_8bit;
		sms->UDH.Type = UDH_UserUDH;
		pdu_port_udh(sms->UDH.Text, msg->dst_port, msg->src_port);
		sms->UDH.Length = MODEM_PORT_UDH_LEN; /* counts the UDHL octet */
		memcpy(sms->Text, msg->data, msg->data_len);
		sms->Length = (int)msg->data_len;
	} else {
		int ucs2, units;
		(void)modem_text_units(msg->text, &ucs2, &units);
		sms->Coding = ucs2 ? SMS_Coding_Unicode_No_Compression : SMS_Coding_Default_No_Compression;
		sms->UDH.Type = UDH_NoUDH;
		if (modem_utf8_to_gammu(msg->text, sms->Text, sizeof(sms->Text)) < 0)
			return MODEM_E_TOO_LONG;
		sms->Length = (int)UnicodeLength(sms->Text);
	}

	/* Returns once the PDU and Ctrl-Z are written (the answer comes through the callback), or
	 * with an error when the modem gave no prompt: then nothing was sent. */
	e = GSM_SendSMS(m->sm, sms);
	if (e != ERR_NONE && !m->send_done)
		return modem_gammu_fail(e, "send", errtext, errlen);
	return MODEM_OK;
}

int modem_send_finish(struct modem *m, int timeout_ms, int *reference, char *errtext, size_t errlen)
{
	int64_t deadline = util_mono_ms() + timeout_ms;

	*reference = -1;
	if (errlen > 0)
		errtext[0] = '\0';
	/* The answer (+CMGS: <mr> or +CMS ERROR) arrives through the callback while we read. From
	 * here on the SMS is the modem's: silence does not mean it stayed here. */
	while (!m->send_done && util_mono_ms() < deadline) {
		if (GSM_ReadDevice(m->sm, TRUE) < 0) {
			snprintf(errtext, errlen, "connection lost after the SMS was handed to the modem");
			return MODEM_E_MAYBE_SENT;
		}
	}
	if (!m->send_done) {
		snprintf(errtext, errlen, "no answer within %d ms after the SMS was handed to the modem", timeout_ms);
		return MODEM_E_MAYBE_SENT;
	}
	if (m->send_status != 0) {
		snprintf(errtext, errlen, "+CMS ERROR: %d", m->send_status);
		return modem_error_from_cms(m->send_status);
	}
	*reference = m->send_ref >= 0 && m->send_ref <= 255 ? m->send_ref : -1;
	return MODEM_OK;
}

int modem_send(struct modem *m, const struct modem_sms_out *msg, int timeout_ms, int *reference, char *errtext,
	       size_t errlen)
{
	int64_t deadline = util_mono_ms() + timeout_ms;
	int rc;

	*reference = -1;
	rc = modem_send_start(m, msg, errtext, errlen);
	if (rc != MODEM_OK)
		return rc;
	return modem_send_finish(m, (int)(deadline > util_mono_ms() ? deadline - util_mono_ms() : 0), reference,
				 errtext, errlen);
}

void modem_poll(struct modem *m)
{
	if (GSM_IsConnected(m->sm))
		(void)GSM_ReadDevice(m->sm, FALSE);
}

int modem_fd(const struct modem *m)
{
	return GSM_IsConnected(m->sm) ? m->raw_fd : -1;
}

int modem_incoming_signalled(struct modem *m)
{
	int v = m->incoming;
	m->incoming = 0;
	return v;
}

/* Bounded copy that always terminates and truncates quietly (for display strings only). */
static void modem_copy_str(char *dst, size_t dstsize, const char *src)
{
	size_t n = strnlen(src, dstsize - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static int64_t modem_time_ms(const GSM_DateTime *dt)
{
	if (dt->Year == 0)
		return 0;
	return (int64_t)Fill_Time_T(*dt) * 1000;
}

static void modem_convert_in(const GSM_SMSMessage *s, struct modem_sms_in *in)
{
	memset(in, 0, sizeof(*in));
	in->folder = s->Folder;
	in->location = s->Location;
	modem_gammu_to_utf8(s->Number, GSM_MAX_NUMBER_LENGTH, in->number, sizeof(in->number));
	if (s->PDU == SMS_Status_Report) {
		in->type = MODEM_IN_STATUS_REPORT;
		in->reference = s->MessageReference;
		in->report_status = s->DeliveryStatus;
		in->time_ms = modem_time_ms(&s->DateTime);
		return;
	}
	if (s->PDU != SMS_Deliver) {
		in->type = 0; /* a stored outgoing message: not ours to report or delete */
		return;
	}
	in->type = MODEM_IN_DELIVER;
	in->time_ms = modem_time_ms(&s->DateTime);
	if (s->UDH.Type != UDH_NoUDH && s->UDH.Length > 0) {
		in->udh_len = (size_t)s->UDH.Length <= sizeof(in->udh) ? (size_t)s->UDH.Length : sizeof(in->udh);
		memcpy(in->udh, s->UDH.Text, in->udh_len);
		if (pdu_udh_ports(in->udh, in->udh_len, &in->dst_port, &in->src_port) == PDU_OK)
			in->has_ports = 1;
	}
	if (s->Coding == SMS_Coding_8bit) {
		size_t n = s->Length > 0 ? (size_t)s->Length : 0;
		in->binary = 1;
		if (n > sizeof(in->data))
			n = sizeof(in->data);
		memcpy(in->data, s->Text, n);
		in->data_len = n;
	} else {
		in->data_len = modem_gammu_to_utf8(s->Text, GSM_MAX_SMS_LENGTH, (char *)in->data, sizeof(in->data));
	}
}

int modem_read_next(struct modem *m, struct modem_sms_in *in, int start)
{
	GSM_Error e;

	if (start) {
		memset(m->multi, 0, sizeof(*m->multi));
	} else {
		/* GetNextSMS continues from the folder and location of the previous answer. */
		m->multi->Number = 0;
	}
	e = GSM_GetNextSMS(m->sm, m->multi, start ? TRUE : FALSE);
	if (e != ERR_NONE)
		return modem_error_from_gammu(e);
	if (m->multi->Number < 1)
		return MODEM_E_EMPTY;
	modem_convert_in(&m->multi->SMS[0], in);
	return MODEM_OK;
}

int modem_delete(struct modem *m, const struct modem_sms_in *in)
{
	GSM_SMSMessage sms;
	GSM_Error e;

	memset(&sms, 0, sizeof(sms));
	sms.Folder = in->folder;
	sms.Location = in->location;
	e = GSM_DeleteSMS(m->sm, &sms);
	return modem_error_from_gammu(e);
}

/* A query's failure counts only if it says the modem itself is in trouble. */
static void modem_note(struct modem_status *st, GSM_Error e)
{
	int rc = modem_error_from_gammu(e);
	if (rc == MODEM_OK || rc == MODEM_E_NOT_SUPPORTED)
		return;
	if (st->error == MODEM_OK)
		st->error = rc;
}

/* Registration through Gammu's network-info query, which also wants +CGREG and +CGATT. Returns
 * 1 when st->reg was filled, 0 when the direct +CREG? should tell instead. */
static int modem_status_netinfo(struct modem *m, struct modem_status *st)
{
	GSM_NetworkInfo ni;
	GSM_Error e;

	if (!modem_cap_try(m, MODEM_CAP_GPRS))
		return 0;
	memset(&ni, 0, sizeof(ni));
	e = GSM_GetNetworkInfo(m->sm, &ni);
	if (e == ERR_UNKNOWNRESPONSE)
		return 0; /* an unsolicited line in the middle of the answer: ask directly this time */
	if (modem_gammu_unsupported(e)) {
		/* A modem without the packet-domain commands (GSM-only, older modems): Gammu's query
		 * cannot work on it, so registration is read by +CREG? from now on. Gammu also says
		 * so when an unsolicited line (a Huawei's ^RSSI) broke into one of the answers, so
		 * +CGATT? asked directly, which skips such lines, decides where it can. A late
		 * final result of Gammu's query may still come and be taken for the first direct
		 * answer: a refusal is asked once more before it counts. */
		char ans[64];
		int rc = MODEM_E_NOT_SUPPORTED;

		for (int i = 0; i < 2 && rc == MODEM_E_NOT_SUPPORTED && m->raw_fd >= 0; i++) {
			rc = modem_at_query(m, "AT+CGATT?", "+CGATT:", ans, sizeof(ans));
			log_debug("modem %s: network query refused (%s), +CGATT? %s", m->cfg.name, GSM_ErrorName(e),
				  rc == MODEM_OK && ans[0] ? "answers" : modem_strerror(rc));
		}
		if (rc == MODEM_OK && ans[0] != '\0') {
			/* It has GPRS, whatever broke Gammu's query: read registration by +CREG? this
			 * once. */
			modem_cap_set(m, MODEM_CAP_GPRS, 1);
			return 0;
		}
		if (rc == MODEM_E_NOT_SUPPORTED && m->raw_fd >= 0)
			modem_cap_set(m, MODEM_CAP_GPRS, 0); /* refused twice directly: counts once more */
		modem_cap_set(m, MODEM_CAP_GPRS, 0);
		return 0;
	}
	if (e != ERR_NONE) {
		modem_note(st, e);
		return 1;
	}
	modem_cap_set(m, MODEM_CAP_GPRS, 1);
	modem_cap_set(m, MODEM_CAP_REGISTRATION, 1);
	switch (ni.State) {
	case GSM_HomeNetwork: st->reg = MODEM_REG_HOME; break;
	case GSM_RoamingNetwork: st->reg = MODEM_REG_ROAMING; break;
	case GSM_NoNetwork: st->reg = MODEM_REG_NONE; break;
	case GSM_RegistrationDenied: st->reg = MODEM_REG_DENIED; break;
	case GSM_RequestingNetwork: st->reg = MODEM_REG_SEARCHING; break;
	default: st->reg = MODEM_REG_UNKNOWN; break;
	}
	snprintf(st->network_code, sizeof(st->network_code), "%.*s", (int)sizeof(ni.NetworkCode), ni.NetworkCode);
	modem_gammu_to_utf8(ni.NetworkName, sizeof(ni.NetworkName) / 2, st->network_name, sizeof(st->network_name));
	if (st->reg == MODEM_REG_HOME || st->reg == MODEM_REG_ROAMING)
		modem_cap_set(m, MODEM_CAP_NETWORK_NAME, st->network_code[0] != '\0' || st->network_name[0] != '\0');
	return 1;
}

/* Registration (and the operator) asked directly, for modems Gammu's query does not work on. */
static void modem_status_creg(struct modem *m, struct modem_status *st)
{
	char line[256];
	int rc, reg;

	if (!modem_cap_try(m, MODEM_CAP_REGISTRATION))
		return;
	rc = modem_at_query(m, "AT+CREG?", "+CREG:", line, sizeof(line));
	if (rc == MODEM_E_NOT_SUPPORTED) {
		modem_cap_set(m, MODEM_CAP_REGISTRATION, 0);
		return;
	}
	if (rc != MODEM_OK) {
		if (st->error == MODEM_OK)
			st->error = rc;
		return;
	}
	reg = modem_parse_creg(line);
	if (reg < 0) {
		log_debug("modem %s: unreadable registration \"%.60s\"", m->cfg.name, line);
		return;
	}
	modem_cap_set(m, MODEM_CAP_REGISTRATION, 1);
	st->reg = reg;
	if ((reg == MODEM_REG_HOME || reg == MODEM_REG_ROAMING) && modem_cap_try(m, MODEM_CAP_NETWORK_NAME)) {
		rc = modem_at_query(m, "AT+COPS?", "+COPS:", line, sizeof(line));
		if (rc == MODEM_OK || rc == MODEM_E_NOT_SUPPORTED) {
			if (rc == MODEM_OK)
				modem_parse_cops(line, st);
			modem_cap_set(m, MODEM_CAP_NETWORK_NAME,
				      st->network_name[0] != '\0' || st->network_code[0] != '\0');
		}
	}
}

int modem_get_status(struct modem *m, struct modem_status *st)
{
	GSM_SecurityCodeType sec = SEC_None;
	GSM_SignalQuality sq;
	GSM_SMSMemoryStatus ms;
	GSM_Error e;

	memset(st, 0, sizeof(*st));
	st->signal_percent = st->signal_dbm = st->ber = -1;
	st->sms_used = st->sms_size = -1;

	/* What sending needs: the SIM... */
	st->sim = MODEM_SIM_READY; /* a modem that cannot say is assumed ready: sends will tell */
	if (modem_cap_try(m, MODEM_CAP_SIM_STATUS)) {
		e = GSM_GetSecurityStatus(m->sm, &sec);
		if (e == ERR_NONE) {
			modem_cap_set(m, MODEM_CAP_SIM_STATUS, 1);
			switch (sec) {
			case SEC_None: st->sim = MODEM_SIM_READY; break;
			case SEC_Pin: st->sim = MODEM_SIM_PIN; break;
			case SEC_Puk: st->sim = MODEM_SIM_PUK; break;
			default: st->sim = MODEM_SIM_OTHER; break;
			}
		} else if (e == ERR_NOSIM) {
			modem_cap_set(m, MODEM_CAP_SIM_STATUS, 1);
			st->sim = MODEM_SIM_ABSENT;
		} else if (modem_gammu_unsupported(e)) {
			modem_cap_set(m, MODEM_CAP_SIM_STATUS, 0);
		} else {
			st->sim = MODEM_SIM_UNKNOWN;
			modem_note(st, e);
		}
	}

	/* ... and registration, through Gammu when the modem has what its query asks for, else
	 * by +CREG? directly. */
	if (!modem_status_netinfo(m, st))
		modem_status_creg(m, st);
	if (m->raw_fd >= 0 && (m->caps.present & MODEM_CAP_GPRS))
		/* Gammu's query left +CREG: lines switched on: they would come in the middle of
		 * other answers at every cell change. */
		(void)modem_at_query(m, "AT+CREG=0", NULL, NULL, 0);

	/* What the modem tells besides, where it can. */
	if (modem_cap_try(m, MODEM_CAP_SIGNAL)) {
		memset(&sq, 0, sizeof(sq));
		e = GSM_GetSignalQuality(m->sm, &sq);
		if (e == ERR_NONE) {
			modem_cap_set(m, MODEM_CAP_SIGNAL, 1);
			st->signal_percent = sq.SignalPercent;
			st->signal_dbm = sq.SignalStrength;
			st->ber = sq.BitErrorRate;
		} else if (modem_gammu_unsupported(e)) {
			modem_cap_set(m, MODEM_CAP_SIGNAL, 0);
		} else {
			modem_note(st, e);
		}
	}
	if (modem_cap_try(m, MODEM_CAP_STORAGE)) {
		memset(&ms, 0, sizeof(ms));
		e = GSM_GetSMSStatus(m->sm, &ms);
		if (e == ERR_NONE) {
			modem_cap_set(m, MODEM_CAP_STORAGE, 1);
			st->sms_used = ms.SIMUsed + ms.PhoneUsed;
			st->sms_size = ms.SIMSize + ms.PhoneSize;
		} else if (modem_gammu_unsupported(e)) {
			modem_cap_set(m, MODEM_CAP_STORAGE, 0);
		} else {
			modem_note(st, e);
		}
	}
	return st->error;
}

/* One optional identity string: copied when the modem answers, remembered as lacking when it
 * refuses. Returns a modem error only for a modem that did not answer at all. */
static int modem_ident_part(struct modem *m, int cap, GSM_Error e, const char *value, char *dst, size_t dstsize)
{
	if (e == ERR_NONE) {
		if (cap)
			modem_cap_set(m, cap, value[0] != '\0');
		modem_copy_str(dst, dstsize, value);
		return MODEM_OK;
	}
	if (modem_gammu_unsupported(e) || e == ERR_EMPTY || e == ERR_SECURITYERROR || e == ERR_NOSIM) {
		if (cap)
			modem_cap_set(m, cap, 0);
		return MODEM_OK;
	}
	return modem_error_from_gammu(e);
}

int modem_identify(struct modem *m, struct modem_ident *id)
{
	char buf[GSM_MAX_VERSION_LENGTH + 1], date[GSM_MAX_VERSION_DATE_LENGTH + 1];
	double num = 0;
	GSM_Error e;
	int rc;

	memset(id, 0, sizeof(id[0]));
	memset(buf, 0, sizeof(buf));
	e = GSM_GetManufacturer(m->sm, buf);
	if ((rc = modem_ident_part(m, 0, e, buf, id->manufacturer, sizeof(id->manufacturer))) != MODEM_OK)
		return rc;
	memset(buf, 0, sizeof(buf));
	e = GSM_GetModel(m->sm, buf);
	if ((rc = modem_ident_part(m, 0, e, buf, id->model, sizeof(id->model))) != MODEM_OK)
		return rc;
	if (modem_cap_try(m, MODEM_CAP_FIRMWARE)) {
		memset(buf, 0, sizeof(buf));
		memset(date, 0, sizeof(date));
		e = GSM_GetFirmware(m->sm, buf, date, &num);
		if ((rc = modem_ident_part(m, MODEM_CAP_FIRMWARE, e, buf, id->firmware, sizeof(id->firmware))) !=
		    MODEM_OK)
			return rc;
	}
	if (modem_cap_try(m, MODEM_CAP_IMEI)) {
		memset(buf, 0, sizeof(buf));
		e = GSM_GetIMEI(m->sm, buf);
		if ((rc = modem_ident_part(m, MODEM_CAP_IMEI, e, buf, id->imei, sizeof(id->imei))) != MODEM_OK)
			return rc;
	}
	if (modem_cap_try(m, MODEM_CAP_IMSI)) {
		memset(buf, 0, sizeof(buf));
		e = GSM_GetSIMIMSI(m->sm, buf);
		if ((rc = modem_ident_part(m, MODEM_CAP_IMSI, e, buf, id->imsi, sizeof(id->imsi))) != MODEM_OK)
			return rc;
	}
	/* What the modem is includes what it answers: the status queries are tried here as well, so
	 * that identify tells what the modem lacks without waiting for health checks. */
	{
		struct modem_status st;
		(void)modem_get_status(m, &st);
	}
	return MODEM_OK;
}

int modem_reset(struct modem *m)
{
	return modem_error_from_gammu(GSM_Reset(m->sm, FALSE));
}
