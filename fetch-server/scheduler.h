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

#endif
