/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Lock-free request metrics: one counter per route and status, one histogram per route. */
#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "routes.h"

static const int status_codes[] = {200, 201, 202, 204, 400, 401, 403, 404, 405, 409,
				   410, 413, 414, 415, 422, 429, 500, 501, 503};
#define NSTATUS (sizeof(status_codes) / sizeof(status_codes[0]) + 1) /* last slot: other */
static const int64_t bucket_us[] = {250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000, 5000000};
#define NBUCKET (sizeof(bucket_us) / sizeof(bucket_us[0]))
#define NSLOT (ROUTES_MAX + 1) /* slot 0: no route */

static uint64_t req_count[NSLOT][NSTATUS];
static uint64_t lat_bucket[NSLOT][NBUCKET + 1];
static uint64_t lat_sum_us[NSLOT];
static uint64_t counters[CTR_COUNT];
static int64_t gauges[GAUGE_COUNT];
static int gauge_set[GAUGE_COUNT];

static const struct {
	const char *name;
	const char *help;
} counter_info[CTR_COUNT] = {
	[CTR_WAKE_JOBS_CREATED] = {"smswake_wake_jobs_created_total", "Wakeup SMS jobs created by the scheduler."},
	[CTR_WAKE_SUPPRESSED_IN_FLIGHT] = {"smswake_wake_suppressed_total{reason=\"in_flight\"}",
					   "Wakeups not sent, by reason."},
	[CTR_WAKE_SUPPRESSED_POLL_SOON] = {"smswake_wake_suppressed_total{reason=\"poll_soon\"}", NULL},
	[CTR_WAKE_SUPPRESSED_LIMIT] = {"smswake_wake_suppressed_total{reason=\"device_limit\"}", NULL},
	[CTR_WAKE_SUPPRESSED_BUDGET] = {"smswake_wake_suppressed_total{reason=\"provider_budget\"}", NULL},
	[CTR_WAKE_SUPPRESSED_QUIET] = {"smswake_wake_suppressed_total{reason=\"quiet_hours\"}", NULL},
	[CTR_WAKE_SUPPRESSED_UNREACHABLE] = {"smswake_wake_suppressed_total{reason=\"unreachable\"}", NULL},
	[CTR_WAKE_SUPPRESSED_URGENCY] = {"smswake_wake_suppressed_total{reason=\"low_urgency\"}", NULL},
	[CTR_WAKE_SUPPRESSED_COUNTER] = {"smswake_wake_suppressed_total{reason=\"counter_exhausted\"}", NULL},
	[CTR_WAKE_SUPPRESSED_STALE] = {"smswake_wake_suppressed_total{reason=\"stale\"}", NULL},
	[CTR_WAKE_DELAYED_NO_GATEWAY] = {"smswake_wake_delayed_total{reason=\"no_gateway\"}",
					 "Wakeups held up by the gateways, not by the policy, by reason."},
	[CTR_WAKE_DELAYED_SEND_FAILED] = {"smswake_wake_delayed_total{reason=\"send_failed\"}", NULL},
	[CTR_WAKE_NO_GATEWAY_PERIODS] = {"smswake_wake_no_gateway_periods_total",
					 "Times wakeups began waiting with no gateway taking them."},
	[CTR_WAKE_RETRIES] = {"smswake_wake_retries_total", "Wakeups sent again after no fetch followed."},
	[CTR_WAKE_GAVE_UP] = {"smswake_wake_unreachable_total", "Devices marked unreachable by SMS."},
	[CTR_MESSAGES_EXPIRED] = {"smswake_messages_expired_total", "Messages whose TTL ran out."},
	[CTR_MESSAGES_PURGED] = {"smswake_messages_purged_total", "Finished messages deleted after retention."},
	[CTR_LONGPOLL_WAITS] = {"smswake_longpoll_waits_total", "Requests that waited (long-poll)."},
	[CTR_WEBHOOK_DELIVERED] = {"smswake_webhook_attempts_total{result=\"delivered\"}",
				   "Webhook delivery attempts, by result."},
	[CTR_WEBHOOK_FAILED] = {"smswake_webhook_attempts_total{result=\"failed\"}", NULL},
	[CTR_WEBHOOK_REFUSED] = {"smswake_webhook_attempts_total{result=\"address_refused\"}", NULL},
	[CTR_WEBHOOK_DISABLED] = {"smswake_webhook_endpoints_disabled_total", "Webhook endpoints disabled by a 410."},
	[CTR_WEBHOOK_GAVE_UP] = {"smswake_webhook_events_given_up_total",
				 "Webhook events dropped after retry_for without a 2xx."},
};

static const struct {
	const char *name;
	const char *help;
} gauge_info[GAUGE_COUNT] = {
	[GAUGE_WAKE_WAITING] = {"smswake_wake_jobs_waiting", "Due wake jobs no gateway holds."},
	[GAUGE_WAKE_OLDEST_WAITING_S] = {"smswake_wake_oldest_waiting_seconds",
					 "How long the oldest due wake job has waited for a gateway."},
	[GAUGE_GATEWAY_LAST_SEEN_AGO_S] = {"smswake_gateway_last_seen_seconds",
					   "Seconds since any gateway leased or reported."},
	[GAUGE_WAKE_NO_GATEWAY] = {"smswake_wake_no_gateway",
				   "1 while wakeups wait longer than grace and no gateway takes them."},
};

void metrics_gauge_set(int gauge, int64_t value)
{
	if (gauge < 0 || gauge >= GAUGE_COUNT)
		return;
	__atomic_store_n(&gauges[gauge], value, __ATOMIC_RELAXED);
	__atomic_store_n(&gauge_set[gauge], 1, __ATOMIC_RELEASE);
}

void metrics_gauge_clear(int gauge)
{
	if (gauge >= 0 && gauge < GAUGE_COUNT)
		__atomic_store_n(&gauge_set[gauge], 0, __ATOMIC_RELEASE);
}

void metrics_request(int slot, int status, int64_t micros)
{
	size_t s = NSTATUS - 1, b = NBUCKET;

	if (slot < 0 || slot >= NSLOT)
		slot = 0;
	for (size_t i = 0; i < NSTATUS - 1; i++)
		if (status_codes[i] == status) {
			s = i;
			break;
		}
	for (size_t i = 0; i < NBUCKET; i++)
		if (micros <= bucket_us[i]) {
			b = i;
			break;
		}
	__atomic_fetch_add(&req_count[slot][s], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&lat_bucket[slot][b], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&lat_sum_us[slot], (uint64_t)(micros > 0 ? micros : 0), __ATOMIC_RELAXED);
}

void metrics_add(int counter, uint64_t n)
{
	if (counter >= 0 && counter < CTR_COUNT)
		__atomic_fetch_add(&counters[counter], n, __ATOMIC_RELAXED);
}

uint64_t metrics_get(int counter)
{
	return counter >= 0 && counter < CTR_COUNT ? __atomic_load_n(&counters[counter], __ATOMIC_RELAXED) : 0;
}

struct out {
	char *buf;
	size_t cap, len;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->len >= o->cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	o->len += (size_t)n;
	if (o->len > o->cap)
		o->len = o->cap;
}

size_t metrics_render(char *buf, size_t cap)
{
	struct out o = {buf, cap, 0};

	put(&o, "# HELP smswake_http_requests_total HTTP requests by route and status.\n");
	put(&o, "# TYPE smswake_http_requests_total counter\n");
	for (int r = 0; r <= (int)routes_count; r++)
		for (size_t s = 0; s < NSTATUS; s++) {
			uint64_t n = __atomic_load_n(&req_count[r][s], __ATOMIC_RELAXED);
			if (n == 0)
				continue;
			if (s < NSTATUS - 1)
				put(&o, "smswake_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
				    route_slot_label(r), status_codes[s], (unsigned long long)n);
			else
				put(&o, "smswake_http_requests_total{route=\"%s\",status=\"other\"} %llu\n",
				    route_slot_label(r), (unsigned long long)n);
		}
	put(&o, "# HELP smswake_http_request_duration_seconds Time from request to response.\n");
	put(&o, "# TYPE smswake_http_request_duration_seconds histogram\n");
	for (int r = 0; r <= (int)routes_count; r++) {
		uint64_t cum = 0, total = 0;
		for (size_t b = 0; b <= NBUCKET; b++)
			total += __atomic_load_n(&lat_bucket[r][b], __ATOMIC_RELAXED);
		if (total == 0)
			continue;
		for (size_t b = 0; b < NBUCKET; b++) {
			cum += __atomic_load_n(&lat_bucket[r][b], __ATOMIC_RELAXED);
			put(&o, "smswake_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
			    route_slot_label(r), (double)bucket_us[b] / 1e6, (unsigned long long)cum);
		}
		put(&o, "smswake_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
		    route_slot_label(r), (unsigned long long)total);
		put(&o, "smswake_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", route_slot_label(r),
		    (double)__atomic_load_n(&lat_sum_us[r], __ATOMIC_RELAXED) / 1e6);
		put(&o, "smswake_http_request_duration_seconds_count{route=\"%s\"} %llu\n", route_slot_label(r),
		    (unsigned long long)total);
	}
	for (int c = 0; c < CTR_COUNT; c++) {
		const char *name = counter_info[c].name;
		if (counter_info[c].help)
			put(&o, "# HELP %.*s %s\n# TYPE %.*s counter\n", (int)strcspn(name, "{"), name,
			    counter_info[c].help, (int)strcspn(name, "{"), name);
		put(&o, "%s %llu\n", name, (unsigned long long)metrics_get(c));
	}
	for (int g = 0; g < GAUGE_COUNT; g++) {
		if (!__atomic_load_n(&gauge_set[g], __ATOMIC_ACQUIRE))
			continue;
		put(&o, "# HELP %s %s\n# TYPE %s gauge\n%s %lld\n", gauge_info[g].name, gauge_info[g].help,
		    gauge_info[g].name, gauge_info[g].name, (long long)__atomic_load_n(&gauges[g], __ATOMIC_RELAXED));
	}
	return o.len;
}
