/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The dispatcher: holds the jobs this gateway leased and sends each through a channel of a
 * transport (transport.h), under the channels' rate limits. A send that fails moves the job to
 * another channel; a channel that fails waits before it gets another (back-off); a job waits for
 * a usable channel as long as its lease allows, and is then reported failed so the server can
 * retry it later or elsewhere. Nothing is retried in a loop: waiting jobs are looked at again on
 * the next call to dispatch_run, which says when that should be. */
#ifndef SMSWAKE_GW_DISPATCH_H
#define SMSWAKE_GW_DISPATCH_H

#include <stdint.h>

#include "modem.h"
#include "transport.h"

struct gw_config;
struct reports;
struct dispatch;

/* Back-off of a channel after consecutive failed sends: 1 s, doubling, at most this. */
#define DISPATCH_BACKOFF_MAX_MS 60000
/* A job not sent this long before its lease ends is given back (reported failed). */
#define DISPATCH_LEASE_MARGIN_MS 5000

/* One job as the server leased it. */
struct dispatch_job {
	int64_t id;
	struct modem_sms_out sms; /* validity_minutes is set at each send from validity_s */
	int64_t validity_s;       /* at the lease */
	int64_t lease_s;          /* the lease's length */
};

/* cfg (limits, jobs per channel) and reports must outlive the dispatcher. NULL on failure. */
struct dispatch *dispatch_new(const struct gw_config *cfg, struct reports *reports);
void dispatch_free(struct dispatch *d);
/* Adds a transport's channels; per-channel limits come from the [modem NAME] section of the same
 * name. Returns 0, or -1 when there are too many channels (DISPATCH_CHANNELS_MAX). */
#define DISPATCH_CHANNELS_MAX 32
int dispatch_add_transport(struct dispatch *d, struct gw_transport *t);
/* The transports' event callback: pass it, with the dispatcher, to the transport's constructor. */
void dispatch_on_event(void *arg, const struct gw_tevent *ev);
/* How many more jobs to lease now: free places on channels that can send, minus jobs waiting. */
int dispatch_capacity(struct dispatch *d, int64_t now_ms);
/* Takes a leased job (now_ms: monotonic). 0; 1 if it is held already (a duplicate lease);
 * -1 if the table is full (the lease runs out and the server hands it out again). */
int dispatch_take(struct dispatch *d, const struct dispatch_job *job, int64_t now_ms);
/* Sends what can be sent, gives back what waited too long. Returns the milliseconds until it
 * has something to do again without new input (-1: nothing waits). */
int dispatch_run(struct dispatch *d, int64_t now_ms);
/* Jobs held, and of them waiting for a channel. */
void dispatch_counts(const struct dispatch *d, int *held, int *waiting);

struct dispatch_channel_stats {
	char name[32];
	int ready;
	int backoff; /* in back-off after failures */
	int queued;
	int signal;
	int restarts;
	int caps_probed, caps_present; /* MODEM_CAP_* bits, as struct gw_channel_info */
	uint64_t sent, failed, delivered, undeliverable;
};
/* 0, or -1 past the last channel. */
int dispatch_channel_stats(const struct dispatch *d, int channel, struct dispatch_channel_stats *out);
int dispatch_channel_count(const struct dispatch *d);

#endif
