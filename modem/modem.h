/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The modem library: one GSM modem driven through libgammu, with Gammu's errors mapped to our own
 * small enum. Not thread-safe: one struct modem belongs to one thread (in smswake, one worker
 * process). This header does not include gammu.h; only modem_gammu.c does. */
#ifndef SMSWAKE_MODEM_H
#define SMSWAKE_MODEM_H

#include <stddef.h>
#include <stdint.h>

#include "pdu.h"

/* Zero is success. Every value has a class (modem_err_class) that says what a caller should do. */
enum modem_err {
	MODEM_OK = 0,
	MODEM_E_INVAL,         /* bad argument: a caller bug, permanent */
	MODEM_E_TOO_LONG,      /* user data over 140 octets (133 behind a port header): permanent */
	MODEM_E_TIMEOUT,       /* the modem did not answer in time: retryable */
	MODEM_E_IO,            /* device could not be opened, read or written: retryable */
	MODEM_E_BUSY,          /* device locked or busy: retryable */
	MODEM_E_NETWORK,       /* not registered, network or SMSC temporarily failing: retryable */
	MODEM_E_REJECTED,      /* the network refused this message (unknown number, barred): permanent */
	MODEM_E_NO_SIM,        /* no SIM or SIM failure: the modem is unusable */
	MODEM_E_PIN_REQUIRED,  /* SIM wants a PIN and none is configured: the modem is unusable */
	MODEM_E_PIN_WRONG,     /* the configured PIN was refused: never retry, it would burn the PUK */
	MODEM_E_PUK_REQUIRED,  /* SIM blocked: the modem is unusable */
	MODEM_E_NOT_SUPPORTED, /* the modem cannot do this: permanent */
	MODEM_E_FULL,          /* message storage full: retryable once it is drained */
	MODEM_E_EMPTY,         /* nothing there (no more stored messages) */
	MODEM_E_CONFIG,        /* bad configuration (unknown model or connection): the modem is unusable */
	MODEM_E_NOMEM,         /* out of memory: retryable */
	MODEM_E_UNAVAILABLE,   /* no healthy modem / modem stopped or restarting: retryable elsewhere */
	MODEM_E_QUEUE_FULL,    /* too many jobs waiting for this modem: retryable */
	MODEM_E_UNKNOWN,       /* any other Gammu or modem error: retryable */
	MODEM_E_MAYBE_SENT,    /* the SMS was handed to the modem, then no answer came: it may have gone out */
	MODEM_E__COUNT
};

enum modem_err_class {
	MODEM_CLASS_OK = 0,
	MODEM_CLASS_RETRY,     /* try again, here later or on another modem */
	MODEM_CLASS_PERMANENT, /* this request can never succeed as it is */
	MODEM_CLASS_MODEM,     /* the modem itself is unusable until an operator acts */
	MODEM_CLASS_UNKNOWN,   /* the outcome is unknown: do not send it again at once (a duplicate is as
				* likely as a loss); the supervisor may resolve it later (SUPERVISOR_EV_OUTCOME) */
};

const char *modem_strerror(int err);
enum modem_err_class modem_err_class(int err);
/* True for errors that say the modem (not the message) misbehaves: they feed the recovery ladder. */
int modem_err_is_modem_fault(int err);
/* Maps a GSM_Error value (as int, so callers need not include gammu.h). ERR_NONE gives MODEM_OK. */
int modem_error_from_gammu(int gsm_error);
/* Maps a +CMS ERROR code (TS 27.005 3.2.5 / TS 24.011 / TS 23.040 cause) from a failed send. */
int modem_error_from_cms(int cms);

/* Configuration of one modem, built in code or from a [modem NAME] INI section. The first three
 * are Gammu's own keys with Gammu's meaning. Strings are NUL-terminated; empty means unset. */
struct modem_config {
	char name[32];
	char device[256];    /* e.g. /dev/serial/by-id/usb-...-if00-port0 */
	char connection[32]; /* default "at" */
	char model[32];      /* default "at" (empty would make Gammu auto-detect, about 3 s slower) */
	char pin[16];        /* secret: never logged */
	char smsc[24];       /* SMSC number; empty: use the one stored on the SIM */
	char logfile[256];   /* Gammu's debug log (logformat textalldate); empty: none */
};

/* Fills defaults (connection and model "at"). */
void modem_config_init(struct modem_config *cfg);

/* Limits of one SMS (TS 23.040 9.2.3.24): 140 octets of user data, header included. */
#define MODEM_UD_MAX 140
#define MODEM_PORT_UDH_LEN PDU_PORT_UDH_LEN
#define MODEM_BINARY_MAX (MODEM_UD_MAX - MODEM_PORT_UDH_LEN) /* 133 */
#define MODEM_TEXT7_MAX 160
#define MODEM_TEXT_UCS2_MAX 70
#define MODEM_NUMBER_MAX 24
#define MODEM_TEXT_BYTES_MAX 640 /* UTF-8 bytes of a text SMS we accept at all */

/* One SMS to send. Binary messages carry a 16-bit application-port header. */
struct modem_sms_out {
	char number[MODEM_NUMBER_MAX]; /* recipient, "+" and digits */
	int binary;                    /* 1: 8-bit data with port header; 0: text */
	uint16_t dst_port, src_port;
	uint8_t data[MODEM_BINARY_MAX]; /* binary payload */
	size_t data_len;
	char text[MODEM_TEXT_BYTES_MAX + 1]; /* text, UTF-8 */
	int validity_minutes;                /* 0: the network's maximum; else relative, rounded down */
	int status_report;                   /* request a status report */
};

/* Checks a message against the 140-octet limit and the number syntax, before any Gammu call.
 * Returns MODEM_OK, MODEM_E_TOO_LONG or MODEM_E_INVAL. */
int modem_sms_check(const struct modem_sms_out *msg);
/* TP-VP relative format (TS 23.040 9.2.3.12.1) for at most the given minutes, so the SMS never
 * outlives what it announces (5 minutes at least); 0 -> 0xff, the network's maximum. The rounding
 * is common/wire/pdu.c's (pdu_vp_relative_encode): one codec for every SMS smswake writes. */
int modem_validity_octet(int minutes);
/* Text coding needed by a UTF-8 string: 0 GSM 7-bit, 1 UCS-2. Sets *units to the septets or the
 * UTF-16 units it takes. Returns -1 on invalid UTF-8. */
int modem_text_units(const char *utf8, int *ucs2, int *units);
/* Light number syntax check: optional '+', 1 to 20 digits. */
int modem_number_valid(const char *number);

/* A received message or status report. */
enum modem_in_type { MODEM_IN_DELIVER = 1, MODEM_IN_STATUS_REPORT = 2 };

struct modem_sms_in {
	int type;                          /* enum modem_in_type; 0 for a stored outgoing message */
	char number[MODEM_NUMBER_MAX * 2]; /* sender, or for a status report the recipient */
	int64_t time_ms;                   /* service centre time stamp, 0 if unknown */
	int binary;                        /* 1: data holds raw 8-bit user data; 0: UTF-8 text */
	int has_ports;
	uint16_t dst_port, src_port;
	uint8_t udh[MODEM_UD_MAX]; /* whole UDH starting with its length octet */
	size_t udh_len;
	uint8_t data[MODEM_TEXT_BYTES_MAX]; /* payload behind the UDH (UTF-8 text for text messages) */
	size_t data_len;
	int reference;     /* status report: TP-MR of the message it reports on */
	int report_status; /* status report: TP-ST octet (0x00 delivered; see TS 23.040) */
	/* Where it is stored, to delete it; opaque to callers. */
	int folder, location;
};

/* Classifies a TP-Status octet: 0 delivered, 1 still trying (temporary), 2 failed (permanent). */
int modem_report_outcome(int tp_status);

/* Signal, registration, SIM and storage as reported by the modem. -1 means unknown. */
enum modem_sim_state {
	MODEM_SIM_UNKNOWN = 0,
	MODEM_SIM_READY,
	MODEM_SIM_PIN,
	MODEM_SIM_PUK,
	MODEM_SIM_ABSENT,
	MODEM_SIM_OTHER
};
enum modem_reg_state {
	MODEM_REG_UNKNOWN = 0,
	MODEM_REG_HOME,
	MODEM_REG_ROAMING,
	MODEM_REG_NONE,
	MODEM_REG_DENIED,
	MODEM_REG_SEARCHING
};

struct modem_status {
	int sim;                /* enum modem_sim_state */
	int reg;                /* enum modem_reg_state; unknown when the modem cannot tell */
	int signal_percent;     /* 0..100 or -1 */
	int signal_dbm;         /* or -1 when unknown (Gammu's convention) */
	int ber;                /* bit error rate in percent or -1 */
	int sms_used, sms_size; /* SIM and phone storage together, -1 unknown */
	char network_code[16];
	char network_name[48];
	/* The first error met while collecting, for the log; MODEM_OK if none. */
	int error;
};

struct modem_caps;

const char *modem_sim_name(int sim);
const char *modem_reg_name(int reg);
/* Whether the collected status means the modem can send: SIM ready, registered, storage not full
 * (signal is reported, not judged: some modems say 0 % while working). A modem that cannot report
 * its registration at all (caps says registration was probed and is lacking) passes on the SIM
 * alone: its sends will tell. */
int modem_status_healthy(const struct modem_status *st, const struct modem_caps *caps, char *why, size_t whylen);

struct modem_ident {
	char manufacturer[64];
	char model[64];
	char firmware[64];
	char imei[32];
	char imsi[32];
};

/* What a modem answers beyond what sending needs. Every optional query is tried once per
 * connection; what the modem refuses (ERROR, "not supported") is not asked again until the
 * connection is reopened, and never makes the modem unhealthy. */
enum modem_cap {
	MODEM_CAP_GPRS = 1 << 0,         /* +CGREG/+CGATT: Gammu's whole network-info query needs them */
	MODEM_CAP_REGISTRATION = 1 << 1, /* +CREG?, through Gammu or asked directly */
	MODEM_CAP_NETWORK_NAME = 1 << 2, /* +COPS? */
	MODEM_CAP_SIGNAL = 1 << 3,       /* +CSQ */
	MODEM_CAP_STORAGE = 1 << 4,      /* +CPMS? counts */
	MODEM_CAP_SIM_STATUS = 1 << 5,   /* +CPIN? */
	MODEM_CAP_IMSI = 1 << 6,         /* +CIMI */
	MODEM_CAP_IMEI = 1 << 7,         /* +CGSN */
	MODEM_CAP_FIRMWARE = 1 << 8,     /* +CGMR */
	MODEM_CAP_SMS_NOTIFY = 1 << 9,   /* +CNMI: new messages announced (else storage is polled) */
	MODEM_CAP__ALL = (1 << 10) - 1
};

struct modem_caps {
	int probed;  /* MODEM_CAP_* bits asked on this connection */
	int present; /* of those, the ones the modem answered */
};

/* Name of one MODEM_CAP_* bit ("gprs", "registration", ...), or NULL. */
const char *modem_cap_name(int cap);
/* "supports=registration,signal,... lacks=gprs": what was probed; "" when nothing was. */
void modem_caps_format(const struct modem_caps *caps, char *out, size_t outlen);

struct modem;

/* Opens and initialises the modem, enters the PIN when the SIM asks for one and a PIN is
 * configured (once: a refused PIN gives MODEM_E_PIN_WRONG and is never tried again), and turns on
 * new-message notification. On failure *out is NULL and errtext says why. */
int modem_open(struct modem **out, const struct modem_config *cfg, char *errtext, size_t errlen);
/* Terminates the connection and frees everything. NULL is fine. */
void modem_close(struct modem *m);
/* Closes and opens the connection again on the same device. */
int modem_reconnect(struct modem *m, char *errtext, size_t errlen);

/* Sends one SMS and waits at most timeout_ms for the modem's answer. On success *reference is the
 * TP message reference (0..255, -1 if the modem gave none). errtext gets the modem's own reason
 * (e.g. "+CMS ERROR: 500"). A failure before the SMS reached the modem (no prompt, say) is an
 * ordinary error; once the PDU has been handed over, a missing answer is MODEM_E_MAYBE_SENT.
 * modem_send is modem_send_start and modem_send_finish in one. */
int modem_send(struct modem *m, const struct modem_sms_out *msg, int timeout_ms, int *reference, char *errtext,
	       size_t errlen);
/* Hands the SMS to the modem (AT+CMGS, the PDU, Ctrl-Z); MODEM_OK once it is the modem's. */
int modem_send_start(struct modem *m, const struct modem_sms_out *msg, char *errtext, size_t errlen);
/* Waits at most timeout_ms for the answer to the send modem_send_start handed over. */
int modem_send_finish(struct modem *m, int timeout_ms, int *reference, char *errtext, size_t errlen);

/* Lets Gammu read what the modem said unprompted (+CMTI, +CDSI); cheap, never blocks long
 * (up to 50 ms in Gammu when the modem said nothing). */
void modem_poll(struct modem *m);
/* The descriptor the modem is read from, to wait on with poll(2) before modem_poll; -1 when
 * there is none to wait on (not a serial connection): then call modem_poll now and then. */
int modem_fd(const struct modem *m);
/* True when a +CMTI/+CDSI was seen since the last call (clears the flag). */
int modem_incoming_signalled(struct modem *m);
/* Reads the first (start=1) or next stored incoming message or status report; MODEM_E_EMPTY
 * when none is left. The message stays stored until modem_delete, which may be called between
 * reads. */
int modem_read_next(struct modem *m, struct modem_sms_in *in, int start);
int modem_delete(struct modem *m, const struct modem_sms_in *in);

/* Status: what sending needs (SIM, registration by +CREG) and what the modem also answers
 * (signal, storage, network name); a query the modem lacks is skipped, not an error. */
int modem_get_status(struct modem *m, struct modem_status *st);
/* Identity; every part of it is optional (a modem without +CGSN still works). */
int modem_identify(struct modem *m, struct modem_ident *id);
/* Parsers of the two answers the worker asks for directly (modem input: bounded, never trusted).
 * "+CREG: <n>,<stat>[,<lac>,<ci>]" (or "+CREG: <stat>"): enum modem_reg_state, or -1 when the line
 * is not one. "+COPS: <mode>,<format>,"<oper>"": the operator into st->network_code (numeric
 * format) or st->network_name; nothing when it names none. */
int modem_parse_creg(const char *line);
void modem_parse_cops(const char *line, struct modem_status *st);
/* What an operator does about a modem device that open(2) refused with this errno. */
const char *modem_device_hint(int err);
/* What this connection found the modem answers so far. */
void modem_get_caps(const struct modem *m, struct modem_caps *caps);
/* Soft reset (AT+CFUN=1,1 on AT modems). The connection must be reopened afterwards. */
int modem_reset(struct modem *m);
/* Enters the configured PIN if the SIM asks for it; MODEM_OK if the SIM is ready. */
int modem_unlock(struct modem *m, char *errtext, size_t errlen);

#endif
