/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The protocol between the supervisor and a modem worker process, over a SOCK_SEQPACKET
 * socketpair: one frame per packet, so the socket keeps frame boundaries and no frame is ever read
 * in halves.
 *
 * Frame: "SW" magic, version (1), type, op, job id (32-bit big-endian), then fields, each a tag
 * octet, a 16-bit big-endian length and the value. Integers are big-endian (4 or 8 octets),
 * strings carry no NUL. Unknown tags are skipped (a newer peer may add fields); a known tag with a
 * bad length, a string with a NUL, or a frame over WP_MAX_FRAME is an error.
 *
 * Conversation:
 *   parent -> worker  CONFIG (modem configuration, PIN included: never on the command line)
 *   worker -> parent  READY (status MODEM_OK and the modem's identity, or the open error; after
 *                     an error the worker exits)
 *   parent -> worker  JOB (job id, op, arguments); one at a time per worker
 *   worker -> parent  PROGRESS (job id) of a send, once the SMS has been handed to the modem: a
 *                     send that dies after this may have gone out
 *   worker -> parent  RESULT (job id, status, reference, error text, op-specific fields)
 *   worker -> parent  SMS / REPORT events whenever the worker drained stored messages; the
 *                     worker deletes a message only after its event was written
 * Closing the socket asks the worker to close the modem and exit. */
#ifndef SMSWAKE_WORKER_PROTO_H
#define SMSWAKE_WORKER_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "modem.h"

#define WP_VERSION 1
#define WP_MAX_FRAME 4096
#define WP_HEADER_LEN 9
#define WP_TEXT_MAX 256

enum wp_type { WP_CONFIG = 1, WP_READY, WP_JOB, WP_RESULT, WP_EV_SMS, WP_EV_REPORT, WP_PROGRESS, WP_TYPE__MAX };

enum wp_op {
	WP_OP_NONE = 0,
	WP_OP_SEND,
	WP_OP_STATUS, /* SIM, registration, signal, storage */
	WP_OP_IDENTIFY,
	WP_OP_RESET,     /* soft reset; the worker exits afterwards (the modem reboots) */
	WP_OP_RECONNECT, /* close and reopen the connection */
	WP_OP_DRAIN,     /* read and delete stored messages now */
	WP_OP__MAX
};

/* One frame, decoded. Which fields mean something depends on type and op. */
struct wp_msg {
	uint8_t type;
	uint8_t op;
	uint32_t job_id;
	int32_t status;    /* enum modem_err */
	int32_t reference; /* TP-MR, -1 if none */
	int32_t timeout_ms;
	int32_t poll_ms;        /* CONFIG: how often to look for stored messages */
	char text[WP_TEXT_MAX]; /* error text */
	struct modem_config config;
	struct modem_sms_out out;
	struct modem_status st;
	struct modem_ident id;
	struct modem_caps caps; /* READY and RESULT: what the connection found the modem answers */
	struct modem_sms_in in;
};

/* Resets a message to its empty form (reference -1, unknown status values -1). */
void wp_msg_init(struct wp_msg *msg, int type, int op, uint32_t job_id);
/* Encodes into buf; returns the length, or -1 if it would not fit in max. */
long wp_encode(const struct wp_msg *msg, uint8_t *buf, size_t max);
/* Decodes one frame; returns 0 or -1 on any malformation. */
int wp_decode(const uint8_t *buf, size_t len, struct wp_msg *msg);
/* One frame per send/recv on a SOCK_SEQPACKET socket. wp_recv returns 0, 1 at end of stream,
 * or -1 (errno EAGAIN when nothing is waiting on a non-blocking socket, EPROTO on a bad frame). */
int wp_send(int fd, const struct wp_msg *msg);
int wp_recv(int fd, struct wp_msg *msg);
const char *wp_op_name(int op);

#endif
