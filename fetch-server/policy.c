/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Wake policy: the rules of DESIGN.md and docs/operations.md, in the order they are checked. */
#include "policy.h"

static const char *reason_names[REASON_COUNT] = {
	[REASON_NONE] = "none",
	[REASON_URGENT] = "urgent",
	[REASON_DUE] = "due",
	[REASON_RETRY] = "retry",
	[REASON_BATCHING] = "batching",
	[REASON_LOW_URGENCY] = "low_urgency",
	[REASON_IN_FLIGHT] = "in_flight",
	[REASON_POLL_SOON] = "poll_soon",
	[REASON_QUIET] = "quiet_hours",
	[REASON_DEVICE_LIMIT] = "device_limit",
	[REASON_BUDGET] = "provider_budget",
	[REASON_UNREACHABLE] = "unreachable",
	[REASON_RETRIES_SPENT] = "retries_spent",
	[REASON_NO_KEY] = "master_key_missing",
	[REASON_COUNTER_EXHAUSTED] = "counter_exhausted",
};

const char *policy_reason_name(int reason)
{
	return reason >= 0 && reason < REASON_COUNT ? reason_names[reason] : "unknown";
}

/* Jitter of -20%..+20% derived from the device and attempt, so that devices woken together do
 * not retry together, yet a run is reproducible. */
int64_t policy_retry_delay_ms(const struct scheduler_config *cfg, int64_t device_id, int attempt)
{
	uint64_t h = (uint64_t)device_id * 0x9E3779B97F4A7C15ull ^ (uint64_t)attempt * 0xC2B2AE3D27D4EB4Full;
	int64_t base = cfg->retry_base_s * 1000, grace = cfg->grace_s * 1000;
	int shift = attempt > 1 ? attempt - 1 : 0;

	h ^= h >> 31;
	h *= 0xBF58476D1CE4E5B9ull;
	h ^= h >> 29;
	if (shift > 20)
		shift = 20;
	base <<= shift;
	base += base * ((int64_t)(h % 41) - 20) / 100;
	return base > grace ? base : grace;
}

static void wait_until(struct wake_decision *out, int reason, int64_t when)
{
	out->verdict = VERDICT_WAIT;
	out->reason = reason;
	out->recheck_ms = when;
}

/* Minutes after midnight UTC, and whether now is inside [start, end) (which may wrap). */
static int in_quiet(const struct wake_input *in, int64_t *end_ms)
{
	int64_t day = 86400000, now = in->now_ms, mins = (now % day) / 60000;
	int64_t s = in->quiet_start_min, e = in->quiet_end_min, midnight = now - now % day;
	int inside;

	if (s < 0 || e < 0 || s == e)
		return 0;
	inside = s < e ? (mins >= s && mins < e) : (mins >= s || mins < e);
	if (!inside)
		return 0;
	*end_ms = midnight + e * 60000;
	if (*end_ms <= now)
		*end_ms += day;
	return 1;
}

void policy_decide(const struct scheduler_config *cfg, const struct wake_input *in, struct wake_decision *out)
{
	int64_t now = in->now_ms, due = INT64_MAX, quiet_end = 0;
	int high = in->oldest_ms[URG_HIGH] != 0, reason = REASON_DUE, wait_reason = REASON_LOW_URGENCY;

	*out = (struct wake_decision){0};
	if (in->npending <= 0 || in->newest_expiry_ms <= now)
		return;
	if (in->wake_state == WAKE_UNREACHABLE) {
		out->verdict = VERDICT_WAIT;
		out->reason = REASON_UNREACHABLE;
		return;
	}

	if (in->wake_state == WAKE_IN_FLIGHT && in->wake_attempts > 0) {
		/* An answered wakeup ends with a fetch, which clears the in-flight state. */
		if (in->wake_attempts > cfg->max_retries) {
			out->verdict = VERDICT_GIVE_UP;
			out->reason = REASON_RETRIES_SPENT;
			return;
		}
		int64_t retry_at = in->wake_sent_ms + policy_retry_delay_ms(cfg, in->device_id, in->wake_attempts);
		if (now < retry_at) {
			wait_until(out, REASON_IN_FLIGHT, retry_at);
			return;
		}
		reason = REASON_RETRY;
		due = now;
	} else {
		/* When is each urgency class due for an SMS? */
		if (high)
			due = in->oldest_ms[URG_HIGH], reason = REASON_URGENT;
		if (in->oldest_ms[URG_NORMAL] && in->oldest_ms[URG_NORMAL] + cfg->batch_window_s * 1000 < due) {
			due = in->oldest_ms[URG_NORMAL] + cfg->batch_window_s * 1000;
			reason = REASON_DUE;
			wait_reason = REASON_BATCHING;
		}
		for (int u = URG_VERY_LOW; u <= URG_LOW; u++)
			if (in->oldest_ms[u] && in->oldest_ms[u] + cfg->low_max_wait_s * 1000 < due) {
				due = in->oldest_ms[u] + cfg->low_max_wait_s * 1000;
				reason = REASON_DUE;
				wait_reason = REASON_LOW_URGENCY;
			}
		if (now < due) {
			wait_until(out, wait_reason, due);
			return;
		}
		/* The device will poll soon anyway: save the SMS, except for high urgency. */
		if (!high && in->poll_interval_s > 0 && in->last_seen_ms > 0) {
			int64_t next_poll = in->last_seen_ms + in->poll_interval_s * 1000;
			if (next_poll - now <= cfg->poll_margin_s * 1000 && now < next_poll + cfg->grace_s * 1000) {
				/* If the poll does not come, think again a grace time after it was due. */
				wait_until(out, REASON_POLL_SOON, next_poll + cfg->grace_s * 1000);
				return;
			}
		}
	}
	if (!high && in_quiet(in, &quiet_end)) {
		wait_until(out, REASON_QUIET, quiet_end);
		return;
	}
	if ((cfg->per_hour > 0 && in->wakes_hour >= cfg->per_hour) ||
	    (cfg->per_day > 0 && in->wakes_day >= cfg->per_day)) {
		wait_until(out, REASON_DEVICE_LIMIT, now + 60000);
		return;
	}
	if (in->budget_day > 0 && in->budget_used >= in->budget_day) {
		wait_until(out, REASON_BUDGET, now + 60000);
		return;
	}
	out->verdict = VERDICT_WAKE;
	out->reason = reason;
	out->urgent = high;
	out->validity_s = cfg->max_validity_s;
	if ((in->newest_expiry_ms - now) / 1000 < out->validity_s)
		out->validity_s = (in->newest_expiry_ms - now + 999) / 1000;
	/* The relative validity period's smallest step is 5 minutes; the encoder rounds up. */
	if (out->validity_s < 1)
		out->validity_s = 1;
}
