/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Request counters and latency histograms kept with atomics, rendered as Prometheus text. */
#ifndef SMSWAKE_METRICS_H
#define SMSWAKE_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* Counters that are not per request; add as the scheduler grows. */
enum counter {
	CTR_WAKE_JOBS_CREATED = 0,
	CTR_WAKE_SUPPRESSED_IN_FLIGHT,
	CTR_WAKE_SUPPRESSED_POLL_SOON,
	CTR_WAKE_SUPPRESSED_LIMIT,
	CTR_WAKE_SUPPRESSED_BUDGET,
	CTR_WAKE_SUPPRESSED_QUIET,
	CTR_WAKE_SUPPRESSED_UNREACHABLE,
	CTR_WAKE_SUPPRESSED_URGENCY,
	CTR_WAKE_SUPPRESSED_COUNTER,
	CTR_WAKE_SUPPRESSED_STALE,
	CTR_WAKE_DELAYED_NO_GATEWAY,
	CTR_WAKE_DELAYED_SEND_FAILED,
	CTR_WAKE_NO_GATEWAY_PERIODS,
	CTR_WAKE_RETRIES,
	CTR_WAKE_GAVE_UP,
	CTR_MESSAGES_EXPIRED,
	CTR_MESSAGES_PURGED,
	CTR_LONGPOLL_WAITS,
	CTR_WEBHOOK_DELIVERED,
	CTR_WEBHOOK_FAILED,
	CTR_WEBHOOK_REFUSED,
	CTR_WEBHOOK_DISABLED,
	CTR_WEBHOOK_GAVE_UP,
	CTR_COUNT
};

/* Values set by whoever knows them (the scheduler); a gauge never set is not rendered. */
enum gauge {
	GAUGE_WAKE_WAITING = 0,        /* due wake jobs no gateway holds */
	GAUGE_WAKE_OLDEST_WAITING_S,   /* how long the oldest of them has waited */
	GAUGE_GATEWAY_LAST_SEEN_AGO_S, /* since any gateway leased or reported */
	GAUGE_WAKE_NO_GATEWAY,         /* 1 while wakeups wait and no gateway takes them */
	GAUGE_COUNT
};

/* One answered request of a route's metrics slot (route_slot(), routes.h). */
void metrics_request(int slot, int status, int64_t micros);
void metrics_gauge_set(int gauge, int64_t value);
/* Forgets a gauge's value (it is rendered again once set). */
void metrics_gauge_clear(int gauge);
void metrics_add(int counter, uint64_t n);
uint64_t metrics_get(int counter);
/* Appends the request and counter metrics to buf (at most cap octets); returns the length
 * written. Store figures are added by the caller. */
size_t metrics_render(char *buf, size_t cap);

#endif
