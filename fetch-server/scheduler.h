/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The wake scheduler: decides which device gets a wakeup SMS and when, and creates wake jobs
 * with authenticated payloads for the gateways to lease. */
#ifndef SMSWAKE_SCHEDULER_H
#define SMSWAKE_SCHEDULER_H

#include <stdint.h>

struct server;
struct scheduler;

/* Starts the scheduler thread; NULL on failure. */
struct scheduler *scheduler_start(struct server *srv);
/* Stops and frees it (NULL is fine). */
void scheduler_stop(struct scheduler *s);
/* A device got a new message: look at it soon. Called from the store's writer thread. */
void scheduler_notify(struct scheduler *s, int64_t device_id);
/* A device's fetch (GET /v1/device/messages) begins, and ends; answered: it was answered,
 * after its store commit, rather than suspended in a long-poll. A device whose last contact
 * was such a fetch, ended before a scheduler pass began, is looked at without waiting for the
 * contact to settle. Thread-safe; s may be NULL. */
void scheduler_fetch_begin(struct scheduler *s, int64_t device_id);
void scheduler_fetch_end(struct scheduler *s, int64_t device_id, int answered);

/* What the scheduler last saw of the gateways (looked at every second). */
struct scheduler_status {
	int known;               /* 0: not looked yet, or no scheduler */
	int waiting;             /* due wake jobs no gateway holds */
	int64_t oldest_ms;       /* since when the oldest of them is due (0: none) */
	int64_t gateway_seen_ms; /* last lease or report of any gateway (0: never) */
	int no_gateway;          /* wakeups have waited `grace` and no gateway came for as long */
	int64_t since_ms;        /* ... since then */
};
/* Thread-safe; s may be NULL (scheduler disabled): all zero. */
void scheduler_status(struct scheduler *s, struct scheduler_status *out);

#endif
