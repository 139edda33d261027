/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The wake policy as a pure function: given one device's state, its pending messages and the
 * time, decide whether it gets a wakeup SMS now, later, or not at all, and why. No clock, no
 * store, no randomness of its own: the scheduler, the tests and the policy simulation all drive
 * the same code. */
#ifndef SMSWAKE_POLICY_H
#define SMSWAKE_POLICY_H

#include <stdint.h>

#include "config.h"
#include "store.h"

struct wake_input {
	int64_t now_ms;
	int64_t device_id;       /* seeds the retry jitter */
	int wake_state;          /* enum store_wake_state */
	int64_t wake_sent_ms;    /* when the in-flight wakeup was created */
	int wake_attempts;       /* wakeups since the device last made contact */
	int64_t last_seen_ms;    /* 0: never */
	int64_t poll_interval_s; /* 0: the device does not poll */
	int64_t quiet_start_min; /* -1: no quiet hours; minutes after midnight UTC */
	int64_t quiet_end_min;
	int wakes_hour;               /* wakeups created for the device in the last hour */
	int wakes_day;                /* ... in the last 24 hours */
	int64_t budget_day;           /* provider's wakeups per day, 0 = unlimited */
	int64_t budget_used;          /* provider's wakeups in the last 24 hours */
	int npending;                 /* deliverable messages not fetched yet */
	int64_t oldest_ms[URG_COUNT]; /* creation time of the oldest such message per urgency, 0: none */
	int64_t newest_expiry_ms;     /* expiry of the newest such message */
};

enum wake_verdict {
	VERDICT_NONE = 0, /* nothing to do */
	VERDICT_WAKE,     /* create a wake job now */
	VERDICT_WAIT,     /* not yet: look again at recheck_ms */
	VERDICT_GIVE_UP,  /* retries spent: mark the device unreachable by SMS */
};

enum wake_reason {
	REASON_NONE = 0,
	REASON_URGENT,      /* wake: high urgency */
	REASON_DUE,         /* wake: normal after its batching window, or low after its bound */
	REASON_RETRY,       /* wake: the last one went unanswered */
	REASON_BATCHING,    /* wait: normal urgency batching window */
	REASON_LOW_URGENCY, /* wait: low/very-low wait for the poll */
	REASON_IN_FLIGHT,   /* wait: a wakeup is out and the device has not fetched yet */
	REASON_POLL_SOON,   /* wait: the device polls within the margin anyway */
	REASON_QUIET,       /* wait: quiet hours */
	REASON_DEVICE_LIMIT,
	REASON_BUDGET,
	REASON_UNREACHABLE,
	REASON_RETRIES_SPENT,
	REASON_NO_KEY,            /* not from the policy: the device's master key is not loaded (scheduler) */
	REASON_COUNTER_EXHAUSTED, /* not from the policy: the wake counter reached 2^64 - 1 (scheduler) */
	REASON_COUNT
};
const char *policy_reason_name(int reason);

struct wake_decision {
	int verdict;        /* enum wake_verdict */
	int reason;         /* enum wake_reason */
	int64_t recheck_ms; /* VERDICT_WAIT: when the answer may change; 0 = only on new input */
	int64_t validity_s; /* VERDICT_WAKE: SMS validity period */
	int urgent;         /* VERDICT_WAKE: a high message is pending (the payload's urgent flag) */
};

void policy_decide(const struct scheduler_config *cfg, const struct wake_input *in, struct wake_decision *out);
/* Delay before retry number attempt (1-based) after a wakeup sent at 0, jitter included. */
int64_t policy_retry_delay_ms(const struct scheduler_config *cfg, int64_t device_id, int attempt);

#endif
