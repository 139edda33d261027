/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The seam between the dispatcher and whatever carries the SMS: a transport has channels (a
 * modem each for the modem transport; an SMSC link, say), takes one SMS at a time on a channel,
 * and tells what became of it through events. The dispatcher knows nothing else about it.
 *
 * Event loop model: like the modem supervisor, a transport never blocks and starts no thread
 * the dispatcher would see. Its descriptor (ops->fd) becomes readable, or its timer
 * (ops->timeout_ms) runs out, when it has work; the gateway's loop then calls ops->process,
 * which reports through the callback given at creation. The callback runs only inside
 * ops->process, never inside ops->send, and may call ops->send itself.
 *
 * A transport reports every send it accepted exactly once, SENT or SEND_FAILED, and later
 * DELIVERED or UNDELIVERABLE when the network says so (if it can). Not thread-safe: one
 * thread calls everything. */
#ifndef SMSWAKE_GW_TRANSPORT_H
#define SMSWAKE_GW_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "modem.h"

struct gw_transport;

enum gw_tevent_type {
	GW_TEV_SENT = 1,      /* the network accepted the SMS (reference: its TP-MR, or -1) */
	GW_TEV_SEND_FAILED,   /* it did not; permanent says retrying the same SMS cannot help */
	GW_TEV_DELIVERED,     /* a delivery report: it reached the handset */
	GW_TEV_UNDELIVERABLE, /* a delivery report: it never will */
	GW_TEV_CHANNEL,       /* a channel became ready, or stopped being ready (reason) */
};

/* Everything an event points to lives until the callback returns. */
struct gw_tevent {
	int type;           /* enum gw_tevent_type */
	int channel;        /* index within the transport, 0 .. ops->channels() - 1 */
	const char *name;   /* the channel's name */
	uint64_t cookie;    /* as given to ops->send (SENT, SEND_FAILED, DELIVERED, UNDELIVERABLE) */
	int reference;      /* SENT, DELIVERED, UNDELIVERABLE: the SMS's reference, or -1 */
	int permanent;      /* SEND_FAILED */
	const char *error;  /* SEND_FAILED: why, for logs and the server */
	int64_t at_ms;      /* wall-clock time it happened */
	int ready;          /* CHANNEL */
	const char *reason; /* CHANNEL: why not ready */
};
typedef void (*gw_tevent_cb)(void *arg, const struct gw_tevent *ev);

struct gw_channel_info {
	char name[32];
	int ready;    /* it can take a send now (connected, healthy) */
	int queued;   /* sends it holds, the running one included */
	int signal;   /* percent, -1 unknown */
	int restarts; /* reconnections or worker restarts so far */
	/* Optional commands a modem was asked (probed) and answers (present): MODEM_CAP_* bits;
	 * zero for a transport without such things. */
	int caps_probed, caps_present;
};

/* ops->send's answer when it does not take the SMS. */
enum gw_send_rc {
	GW_SEND_OK = 0,
	GW_SEND_BUSY, /* the channel cannot take it now (not ready, queue full): try another, later */
	GW_SEND_BAD,  /* this SMS can never be sent as it is (too long, malformed) */
};

/* A transport's operations. Write a table with designated initializers; every member is set. */
struct gw_transport_ops {
	const char *name; /* "modem", ... */
	/* Starts it (opens channels, spawns what it needs). 0, or -1 with a log line. */
	int (*start)(struct gw_transport *t);
	/* Stops it and frees it; sends still held are dropped without events (the server leases
	 * their jobs again). */
	void (*free)(struct gw_transport *t);
	/* Descriptor that becomes readable when process has work, or -1. */
	int (*fd)(const struct gw_transport *t);
	/* Milliseconds until process must run even without input, or -1. */
	int (*timeout_ms)(const struct gw_transport *t);
	/* Handles what is pending without blocking; events go to the callback. */
	void (*process)(struct gw_transport *t);
	int (*channels)(const struct gw_transport *t);
	/* 0, or -1 for a channel that does not exist. */
	int (*channel_info)(const struct gw_transport *t, int channel, struct gw_channel_info *out);
	/* Takes one SMS for a channel; the outcome comes later as SENT or SEND_FAILED with cookie.
	 * On GW_SEND_BUSY or GW_SEND_BAD nothing was taken and err (NUL-terminated) says why. */
	int (*send)(struct gw_transport *t, int channel, const struct modem_sms_out *sms, uint64_t cookie, char *err,
		    size_t errlen);
};

/* What every transport starts with; its own state follows behind impl. */
struct gw_transport {
	const struct gw_transport_ops *ops;
	gw_tevent_cb cb;
	void *cb_arg;
	void *impl;
};

/* The modems of a gateway configuration, through the modem supervisor (transport_modem.c).
 * Only enabled modems become channels, in configuration order. NULL on failure. */
struct modem_ini;
struct gw_transport *transport_modem_new(const struct modem_ini *ini, gw_tevent_cb cb, void *arg);
/* Kannel's smsbox as one channel named "kannel" (transport_kannel.c). NULL on failure. */
struct gw_kannel;
struct gw_transport *transport_kannel_new(const struct gw_kannel *cfg, gw_tevent_cb cb, void *arg);

#endif
