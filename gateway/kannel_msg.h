/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the Kannel transport says to Kannel's smsbox and reads back, without any I/O: the query
 * of a sendsms request, the meaning of smsbox's answer, and the query of a delivery-report
 * callback (the dlr-url smsbox calls). Unit-tested and fuzzed on their own. */
#ifndef SMSWAKE_GW_KANNEL_MSG_H
#define SMSWAKE_GW_KANNEL_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "modem.h"

/* dlr-mask asked for: 1 delivered to the phone, 2 not delivered to the phone, 4 buffered (the
 * SMSC still tries), 16 rejected by the SMSC. 8 (accepted by the SMSC) is not asked: smsbox's
 * answer already says the SMS was taken. */
#define KANNEL_DLR_MASK 23

/* Kannel's delivery-report types (the %d of a dlr-url). */
enum {
	KANNEL_DLR_DELIVERED = 1,
	KANNEL_DLR_FAILED = 2,
	KANNEL_DLR_BUFFERED = 4,
	KANNEL_DLR_SMSC_ACCEPTED = 8,
	KANNEL_DLR_SMSC_REJECTED = 16,
};

struct kannel_send_params {
	const char *username, *password; /* sendsms-user */
	const char *from;                /* sender; NULL or empty: smsbox's global-sender */
	const char *smsc;                /* smsc-id to route to; NULL or empty: Kannel's routing */
	const char *dlr_url;             /* the gateway's callback, with its job id in it */
	int dlr_mask;                    /* 0: no delivery reports */
};

/* Percent-encodes len bytes (everything but unreserved characters) into out. Returns the
 * length written, or -1 when out (with its NUL) is too small. */
int kannel_urlencode(const uint8_t *in, size_t len, char *out, size_t outmax);

/* The query string (after "?") of a sendsms request for one SMS: an 8-bit SMS as coding=1 with
 * the 16-bit port UDH of common/pdu.c and the payload as it is; a text SMS as UTF-8 text
 * (charset=UTF-8). validity in minutes when sms->validity_minutes > 0. Returns the length, or
 * -1 when out is too small or the SMS is not one smswake sends. */
int kannel_sendsms_query(const struct kannel_send_params *p, const struct modem_sms_out *sms, char *out, size_t outmax);

/* smsbox's answer to a sendsms request. */
enum kannel_answer {
	KANNEL_ANS_ACCEPTED = 0, /* "0: Accepted for delivery" (202) */
	KANNEL_ANS_QUEUED,       /* "3: Queued for later delivery" (202): Kannel keeps it */
	KANNEL_ANS_THROTTLED,    /* 503 and other 5xx: try later, this channel waits */
	KANNEL_ANS_REFUSED,      /* 4xx: this request is refused (authorization, sender, lists) */
};
/* Classifies an HTTP status and body; msg gets a one-line description for logs (the body's
 * first line, printable characters only). */
int kannel_answer_parse(long http_status, const char *body, size_t len, char *msg, size_t msglen);

/* A delivery-report callback's query: "id=JOB&t=TYPE&k=KEY" in any order, other fields
 * ignored. Returns 0 with *id and *type set and key copied (NUL-terminated), or -1 when a field
 * is missing, malformed or repeated. */
int kannel_dlr_parse(const char *query, size_t len, uint64_t *id, int *type, char *key, size_t keymax);

/* What a delivery-report type means for the message history: 1 delivered, -1 undeliverable,
 * 0 nothing (buffered, accepted by the SMSC, or a type not asked for). */
int kannel_dlr_outcome(int type);

#endif
