/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The wake policy under a controllable clock: every rule, its exceptions and their order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "config.h"
#include "policy.h"

static struct server_config cfg;
static const int64_t T0 = 1795000000000; /* 2026-11-18 11:06:40 UTC */

static struct wake_input base(void)
{
	struct wake_input in;
	memset(&in, 0, sizeof(in));
	in.now_ms = T0;
	in.device_id = 7;
	in.quiet_start_min = in.quiet_end_min = -1;
	in.poll_interval_s = 3600;
	in.last_seen_ms = T0 - 600000; /* next poll in 50 minutes */
	in.npending = 1;
	in.newest_expiry_ms = T0 + 86400000;
	return in;
}

static int setup(void **state)
{
	(void)state;
	config_defaults(&cfg);
	return 0;
}

static void test_nothing_pending(void **state)
{
	(void)state;
	struct wake_input in = base();
	struct wake_decision d;
	in.npending = 0;
	policy_decide(&cfg.sched, &in, &d);
	assert_int_equal(d.verdict, VERDICT_NONE);
	/* Pending but already expired: nothing either. */
	in = base();
	in.oldest_ms[URG_HIGH] = T0 - 1000;
	in.newest_expiry_ms = T0;
	policy_decide(&cfg.sched, &in, &d);
	assert_int_equal(d.verdict, VERDICT_NONE);
}

static void test_high_wakes_at_once(void **state)
{
	(void)state;
	struct wake_input in = base();
	struct wake_decision d;
	in.oldest_ms[URG_HIGH] = T0;
	policy_decide(&cfg.sched, &in, &d);
	assert_int_equal(d.verdict, VERDICT_WAKE);
	assert_int_equal(d.reason, REASON_URGENT);
	assert_true(d.urgent);
}

static void test_normal_batches(void **state)
{
	(void)state;
	struct wake_input in = base();
	struct wake_decision d;
	in.oldest_ms[URG_NORMAL] = T0;
	policy_decide(&cfg.sched, &in, &d);
	assert_int_equal(d.verdict, VERDICT_WAIT);
	assert_int_equal(d.reason, REASON_BATCHING);
	assert_int_equal(d.recheck_ms, T0 + cfg.sched.batch_window_s * 1000);
	in.now_ms = d.recheck_ms;
	policy_decide(&cfg.sched, &in, &d);
	assert_int_equal(d.verdict, VERDICT_WAKE);
	assert_int_equal(d.reason, REASON_DUE);
	assert_false(d.urgent);
}

static void test_low_waits_for_poll_then_bound(void **state)
{
	(void)state;
	struct wake_input in = base();
	struct wake_decision d;
	for (int u = URG_VERY_LOW; u <= URG_LOW; u++) {
		in = base();
		in.poll_interval_s = 0; /* a device that never polls still gets low messages, late */
		in.oldest_ms[u] = T0;
		policy_decide(&cfg.sched, &in, &d);
		assert_int_equal(d.verdict, VERDICT_WAIT);
		assert_int_equal(d.reason, REASON_LOW_URGENCY);
		assert_int_equal(d.recheck_ms, T0 + cfg.sched.low_max_wait_s * 1000);
		in.now_ms = d.recheck_ms;
		policy_decide(&cfg.sched, &in, &d);
		assert_int_equal(d.verdict, VERDICT_WAKE);
	}
}

static void test_mixed_urgency_earliest_due_wins(void **state)
{
	(void)state;
	struct wake_input in = base();
	struct wake_decision d;
	in.oldest_ms[URG_LOW] = T0 - 3600000;
	in.oldest_ms[URG_NORMAL] = T0 - 1000;
	policy_decide(&cfg.sched, &in, &d);
	assert_int_equal(d.verdict, VERDICT_WAIT);
	assert_int_equal(d.reason, REASON_BATCHING);
	assert_int_equal(d.recheck_ms, T0 - 1000 + cfg.sched.batch_window_s * 1000);
}

static void test_poll_soon_suppresses_except_high(void **state)
{
	(void)state;
	struct wake_input in = base();
	struct wake_decision d;
	in.last_seen_ms = T0 - 3600000 + 30000; /* next poll in 30 s, inside the 60 s margin */
	in.oldest_ms[URG_NORMAL] = T0 - 10000;
	policy_decide(&cfg.sched, &in, &d);
	assert_int_equal(d.verdict, VERDICT_WAIT);
	assert_int_equal(d.reason, REASON_POLL_SOON);
	assert_int_equal(d.recheck_ms, in.last_seen_ms + 3600000 + cfg.sched.grace_s * 1000);
	/* The poll did not come: at the recheck time it wakes. */
	in.now_ms = d.recheck_ms;
	policy_decide(&cfg.sched, &in, &d);
	assert_int_equal(d.verdict, VERDICT_WAKE);
	/* High does not wait for the poll. */
	in = base();
	in.last_seen_ms = T0 - 3600000 + 30000;
	in.oldest_ms[URG_HIGH] = T0;
	policy_decide(&cfg.sched, &in, &d);
	assert_int_equal(d.verdict, VERDICT_WAKE);
}

static void test_in_flight_retry_and_give_up(void **state)
{
	(void)state;
	struct wake_input in = base();
	struct wake_decision d;
	int64_t sent = T0;

	in.oldest_ms[URG_HIGH] = T0 - 5000;
	in.wake_state = WAKE_IN_FLIGHT;
	in.wake_sent_ms = sent;
	for (int attempt = 1; attempt <= cfg.sched.max_retries; attempt++) {
		in.wake_attempts = attempt;
		in.now_ms = sent + 1000;
		policy_decide(&cfg.sched, &in, &d);
		assert_int_equal(d.verdict, VERDICT_WAIT);
		assert_int_equal(d.reason, REASON_IN_FLIGHT);
		assert_int_equal(d.recheck_ms, sent + policy_retry_delay_ms(&cfg.sched, 7, attempt));
		in.now_ms = d.recheck_ms;
		policy_decide(&cfg.sched, &in, &d);
		assert_int_equal(d.verdict, VERDICT_WAKE);
		assert_int_equal(d.reason, REASON_RETRY);
		sent = in.now_ms;
		in.wake_sent_ms = sent;
	}
	/* The last SMS gets as long as a retry would have waited before the device is given up. */
	in.wake_attempts = cfg.sched.max_retries + 1;
	in.now_ms = sent + 1;
	policy_decide(&cfg.sched, &in, &d);
	assert_int_equal(d.verdict, VERDICT_WAIT);
	assert_int_equal(d.reason, REASON_IN_FLIGHT);
	assert_int_equal(d.recheck_ms, sent + policy_retry_delay_ms(&cfg.sched, 7, cfg.sched.max_retries + 1));
	in.now_ms = d.recheck_ms;
	policy_decide(&cfg.sched, &in, &d);
	assert_int_equal(d.verdict, VERDICT_GIVE_UP);
	in.wake_state = WAKE_UNREACHABLE;
	policy_decide(&cfg.sched, &in, &d);
	assert_int_equal(d.verdict, VERDICT_WAIT);
	assert_int_equal(d.reason, REASON_UNREACHABLE);
}

static void test_retry_backoff_grows_with_jitter(void **state)
{
	(void)state;
	for (int64_t dev = 1; dev < 200; dev++) {
		int64_t prev = 0;
		for (int a = 1; a <= 5; a++) {
			int64_t d = policy_retry_delay_ms(&cfg.sched, dev, a);
			int64_t nominal = cfg.sched.retry_base_s * 1000 << (a - 1);
			assert_true(d >= cfg.sched.grace_s * 1000);
			assert_true(d >= nominal * 80 / 100 || d == cfg.sched.grace_s * 1000);
			assert_true(d <= nominal * 120 / 100 || d == cfg.sched.grace_s * 1000);
			if (a >= 3)
				assert_true(d > prev);
			prev = d;
		}
	}
	/* Jitter spreads devices: not all the same delay. */
	assert_true(policy_retry_delay_ms(&cfg.sched, 1, 4) != policy_retry_delay_ms(&cfg.sched, 2, 4) ||
		    policy_retry_delay_ms(&cfg.sched, 3, 4) != policy_retry_delay_ms(&cfg.sched, 4, 4));
}

static void test_quiet_hours(void **state)
{
	(void)state;
	struct wake_input in = base();
	struct wake_decision d;
	int64_t mins = (T0 % 86400000) / 60000; /* 11:06 */

	in.oldest_ms[URG_NORMAL] = T0 - 60000;
	in.quiet_start_min = mins - 60;
	in.quiet_end_min = mins + 60;
	policy_decide(&cfg.sched, &in, &d);
	assert_int_equal(d.verdict, VERDICT_WAIT);
	assert_int_equal(d.reason, REASON_QUIET);
	assert_int_equal(d.recheck_ms, T0 - T0 % 86400000 + (mins + 60) * 60000);
	/* Window wrapping midnight (22:00-12:00) also covers 11:06. */
	in.quiet_start_min = 22 * 60;
	in.quiet_end_min = 12 * 60;
	policy_decide(&cfg.sched, &in, &d);
	assert_int_equal(d.reason, REASON_QUIET);
	/* Outside the window: wakes. */
	in.quiet_start_min = 22 * 60;
	in.quiet_end_min = 6 * 60;
	policy_decide(&cfg.sched, &in, &d);
	assert_int_equal(d.verdict, VERDICT_WAKE);
	/* High overrides quiet hours. */
	in.quiet_end_min = 12 * 60;
	in.oldest_ms[URG_HIGH] = T0;
	policy_decide(&cfg.sched, &in, &d);
	assert_int_equal(d.verdict, VERDICT_WAKE);
}

static void test_limits_and_budget(void **state)
{
	(void)state;
	struct wake_input in = base();
	struct wake_decision d;

	in.oldest_ms[URG_HIGH] = T0;
	in.wakes_hour = cfg.sched.per_hour;
	policy_decide(&cfg.sched, &in, &d);
	assert_int_equal(d.verdict, VERDICT_WAIT);
	assert_int_equal(d.reason, REASON_DEVICE_LIMIT);
	in.wakes_hour = 0;
	in.wakes_day = cfg.sched.per_day;
	policy_decide(&cfg.sched, &in, &d);
	assert_int_equal(d.reason, REASON_DEVICE_LIMIT);
	in.wakes_day = 0;
	in.budget_day = 100;
	in.budget_used = 100;
	policy_decide(&cfg.sched, &in, &d);
	assert_int_equal(d.verdict, VERDICT_WAIT);
	assert_int_equal(d.reason, REASON_BUDGET);
	in.budget_used = 99;
	policy_decide(&cfg.sched, &in, &d);
	assert_int_equal(d.verdict, VERDICT_WAKE);
	/* Zero means unlimited. */
	struct scheduler_config unl = cfg.sched;
	unl.per_hour = unl.per_day = 0;
	in.wakes_hour = in.wakes_day = 1000;
	policy_decide(&unl, &in, &d);
	assert_int_equal(d.verdict, VERDICT_WAKE);
}

static void test_validity_never_outlives_content(void **state)
{
	(void)state;
	struct wake_input in = base();
	struct wake_decision d;
	in.oldest_ms[URG_HIGH] = T0;
	policy_decide(&cfg.sched, &in, &d);
	assert_int_equal(d.validity_s, cfg.sched.max_validity_s);
	/* Rounded down: the SMS never outlives the content. */
	in.newest_expiry_ms = T0 + 600500;
	policy_decide(&cfg.sched, &in, &d);
	assert_int_equal(d.validity_s, 600);
	in.newest_expiry_ms = T0 + 400;
	policy_decide(&cfg.sched, &in, &d);
	assert_int_equal(d.validity_s, 1);
}

/* One wake job at a time: while it waits for a gateway, nothing more is decided for the device,
 * whatever the retry schedule says, and it is never given up for it. */
static void test_outstanding_job_waits(void **state)
{
	(void)state;
	struct wake_input in = base();
	struct wake_decision d;

	in.oldest_ms[URG_HIGH] = T0 - 3600000;
	in.job_outstanding = 1;
	in.job_queued_ms = T0 - 1000;
	policy_decide(&cfg.sched, &in, &d);
	assert_int_equal(d.verdict, VERDICT_WAIT);
	assert_int_equal(d.reason, REASON_IN_FLIGHT);
	assert_int_equal(d.recheck_ms, T0 - 1000 + cfg.sched.grace_s * 1000);
	/* Not taken by any gateway within grace: said so, still waiting. */
	in.now_ms = T0 + 3600000;
	policy_decide(&cfg.sched, &in, &d);
	assert_int_equal(d.verdict, VERDICT_WAIT);
	assert_int_equal(d.reason, REASON_NO_GATEWAY);
	/* A device whose retries would long be spent (in flight from an earlier SMS) is not given
	 * up while its next wakeup waits for a gateway. */
	in.wake_state = WAKE_IN_FLIGHT;
	in.wake_attempts = cfg.sched.max_retries + 1;
	in.wake_sent_ms = T0 - 3600000;
	policy_decide(&cfg.sched, &in, &d);
	assert_int_equal(d.verdict, VERDICT_WAIT);
	assert_int_equal(d.reason, REASON_NO_GATEWAY);
	/* Leased: in flight, whatever its age. */
	in.job_leased = 1;
	policy_decide(&cfg.sched, &in, &d);
	assert_int_equal(d.verdict, VERDICT_WAIT);
	assert_int_equal(d.reason, REASON_IN_FLIGHT);
	/* Once sent, the retry schedule starts from the send. */
	in = base();
	in.oldest_ms[URG_HIGH] = T0 - 3600000;
	in.wake_state = WAKE_IN_FLIGHT;
	in.wake_attempts = 1;
	in.wake_sent_ms = T0;
	policy_decide(&cfg.sched, &in, &d);
	assert_int_equal(d.verdict, VERDICT_WAIT);
	assert_int_equal(d.recheck_ms, T0 + policy_retry_delay_ms(&cfg.sched, 7, 1));
}

/* A job that failed on every modem is not replaced at once. */
static void test_failed_job_backs_off(void **state)
{
	(void)state;
	struct wake_input in = base();
	struct wake_decision d;
	int64_t back = policy_retry_delay_ms(&cfg.sched, 7, 1);

	in.oldest_ms[URG_HIGH] = T0 - 60000;
	in.job_failed_ms = T0 - 1000;
	policy_decide(&cfg.sched, &in, &d);
	assert_int_equal(d.verdict, VERDICT_WAIT);
	assert_int_equal(d.reason, REASON_SEND_FAILED);
	assert_int_equal(d.recheck_ms, T0 - 1000 + back);
	in.now_ms = d.recheck_ms;
	policy_decide(&cfg.sched, &in, &d);
	assert_int_equal(d.verdict, VERDICT_WAKE);
	assert_true(back >= cfg.sched.grace_s * 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nothing_pending),
		cmocka_unit_test(test_high_wakes_at_once),
		cmocka_unit_test(test_normal_batches),
		cmocka_unit_test(test_low_waits_for_poll_then_bound),
		cmocka_unit_test(test_mixed_urgency_earliest_due_wins),
		cmocka_unit_test(test_poll_soon_suppresses_except_high),
		cmocka_unit_test(test_in_flight_retry_and_give_up),
		cmocka_unit_test(test_retry_backoff_grows_with_jitter),
		cmocka_unit_test(test_quiet_hours),
		cmocka_unit_test(test_limits_and_budget),
		cmocka_unit_test(test_validity_never_outlives_content),
		cmocka_unit_test(test_outstanding_job_waits),
		cmocka_unit_test(test_failed_job_backs_off),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
