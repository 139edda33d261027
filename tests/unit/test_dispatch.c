/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The gateway's dispatcher against a scripted transport (the transport seam of
 * gateway/transport.h): failed sends move to another channel, a failing channel backs off
 * instead of being retried in a loop, a job waits for a channel only as long as its lease
 * allows, and what happened is reported with the time it happened. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "dispatch.h"
#include "gateway.h"
#include "report.h"
#include "transport.h"
#include "util.h"

#define NCH 2
#define SENDS_MAX 64

struct fake {
	struct gw_transport t;
	int nch;
	int ready[NCH];
	int refuse[NCH]; /* send answers this (GW_SEND_BUSY, GW_SEND_BAD), 0: takes it */
	int nsends;      /* sends taken or refused */
	struct {
		int ch;
		uint64_t cookie;
		int64_t at;
		int validity_minutes;
		int taken;
	} sends[SENDS_MAX];
	int64_t now; /* the time the test pretends it is, for the send log */
};

static int f_start(struct gw_transport *t)
{
	(void)t;
	return 0;
}
static void f_free(struct gw_transport *t)
{
	(void)t;
}
static int f_fd(const struct gw_transport *t)
{
	(void)t;
	return -1;
}
static int f_timeout(const struct gw_transport *t)
{
	(void)t;
	return -1;
}
static void f_process(struct gw_transport *t)
{
	(void)t;
}
static int f_channels(const struct gw_transport *t)
{
	return ((const struct fake *)t->impl)->nch;
}
static int f_info(const struct gw_transport *t, int ch, struct gw_channel_info *out)
{
	const struct fake *f = t->impl;
	memset(out, 0, sizeof(*out));
	if (ch < 0 || ch >= f->nch)
		return -1;
	snprintf(out->name, sizeof(out->name), "ch%d", ch);
	out->ready = f->ready[ch];
	out->signal = -1;
	return 0;
}
static int f_send(struct gw_transport *t, int ch, const struct modem_sms_out *sms, uint64_t cookie, char *err,
		  size_t errlen)
{
	struct fake *f = t->impl;
	assert_true(f->nsends < SENDS_MAX);
	f->sends[f->nsends].ch = ch;
	f->sends[f->nsends].cookie = cookie;
	f->sends[f->nsends].at = f->now;
	f->sends[f->nsends].validity_minutes = sms->validity_minutes;
	f->sends[f->nsends].taken = f->refuse[ch] == 0;
	f->nsends++;
	if (f->refuse[ch]) {
		snprintf(err, errlen, "scripted refusal");
		return f->refuse[ch];
	}
	return GW_SEND_OK;
}

static const struct gw_transport_ops fake_ops = {
	.name = "fake",
	.start = f_start,
	.free = f_free,
	.fd = f_fd,
	.timeout_ms = f_timeout,
	.process = f_process,
	.channels = f_channels,
	.channel_info = f_info,
	.send = f_send,
};

struct fixture {
	struct gw_config cfg;
	struct fake fake;
	struct reports *reports;
	struct dispatch *d;
};

static int setup_n(void **state, int nch)
{
	static struct fixture fx;
	memset(&fx, 0, sizeof(fx));
	fx.cfg.per_modem_jobs = 2;
	fx.fake.nch = nch;
	for (int c = 0; c < nch; c++)
		fx.fake.ready[c] = 1;
	fx.fake.t.ops = &fake_ops;
	fx.fake.t.impl = &fx.fake;
	fx.reports = reports_new(NULL);
	fx.d = dispatch_new(&fx.cfg, fx.reports);
	fx.fake.t.cb = dispatch_on_event;
	fx.fake.t.cb_arg = fx.d;
	assert_int_equal(dispatch_add_transport(fx.d, &fx.fake.t), 0);
	*state = &fx;
	return 0;
}
static int setup1(void **state)
{
	return setup_n(state, 1);
}
static int setup2(void **state)
{
	return setup_n(state, 2);
}
static int teardown(void **state)
{
	struct fixture *fx = *state;
	dispatch_free(fx->d);
	reports_free(fx->reports);
	return 0;
}

static struct dispatch_job job(int64_t id, int64_t lease_s)
{
	struct dispatch_job j;
	memset(&j, 0, sizeof(j));
	j.id = id;
	snprintf(j.sms.number, sizeof(j.sms.number), "+15550000%03lld", (long long)id);
	snprintf(j.sms.text, sizeof(j.sms.text), "wake");
	j.validity_s = 600;
	j.lease_s = lease_s;
	return j;
}

/* What the transport says about a send, as it would from its process call. */
static void emit(struct fixture *fx, int type, int ch, int64_t id, int permanent)
{
	char name[8];
	struct gw_tevent ev = {.type = type,
			       .channel = ch,
			       .cookie = (uint64_t)id,
			       .reference = 5,
			       .permanent = permanent,
			       .error = "+CMS ERROR: 500",
			       .at_ms = 1234567};
	snprintf(name, sizeof(name), "ch%d", ch);
	ev.name = name;
	fx->fake.t.cb(fx->fake.t.cb_arg, &ev);
}

static int run(struct fixture *fx, int64_t now)
{
	fx->fake.now = now;
	return dispatch_run(fx->d, now);
}

static void test_failed_send_moves_to_another_channel(void **state)
{
	struct fixture *fx = *state;
	int64_t now = util_mono_ms();
	struct dispatch_job a = job(1, 60), b = job(2, 60);

	assert_int_equal(dispatch_capacity(fx->d, now), 4);
	assert_int_equal(dispatch_take(fx->d, &a, now), 0);
	assert_int_equal(dispatch_take(fx->d, &a, now), 1); /* a duplicate lease */
	run(fx, now);
	assert_int_equal(fx->fake.nsends, 1);
	assert_int_equal(fx->fake.sends[0].ch, 0);
	emit(fx, GW_TEV_SEND_FAILED, 0, 1, 0);
	/* At once on the other channel, not again on the failing one. */
	run(fx, util_mono_ms());
	assert_int_equal(fx->fake.nsends, 2);
	assert_int_equal(fx->fake.sends[1].ch, 1);
	/* The failing channel rests: a new job goes to the busier one meanwhile. */
	assert_int_equal(dispatch_take(fx->d, &b, util_mono_ms()), 0);
	run(fx, util_mono_ms());
	assert_int_equal(fx->fake.nsends, 3);
	assert_int_equal(fx->fake.sends[2].ch, 1);
	assert_int_equal(dispatch_capacity(fx->d, util_mono_ms()), 0); /* ch1 full, ch0 resting */
	emit(fx, GW_TEV_SENT, 1, 1, 0);
	assert_true(reports_find(fx->reports, 1, "submitted", NULL, NULL, 0));
	assert_false(reports_find(fx->reports, 1, "failed", NULL, NULL, 0));
}

/* The one modem fails a send: the job goes back to the server (which retries it after a
 * back-off), and the modem is not used again for a second. Never two sends in a row. */
static void test_failing_channel_backs_off(void **state)
{
	struct fixture *fx = *state;
	int64_t t0 = util_mono_ms(), t;
	struct dispatch_job a = job(1, 60), b = job(2, 60);
	char err[128];

	assert_int_equal(dispatch_take(fx->d, &a, t0), 0);
	run(fx, t0);
	assert_int_equal(fx->fake.nsends, 1);
	emit(fx, GW_TEV_SEND_FAILED, 0, 1, 0);
	t = util_mono_ms();
	run(fx, t);
	assert_true(reports_find(fx->reports, 1, "failed", NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "+CMS ERROR: 500"));
	assert_int_equal(fx->fake.nsends, 1);
	assert_int_equal(dispatch_take(fx->d, &b, t), 0);
	for (int64_t dt = 0; dt < 500; dt += 10)
		run(fx, t + dt);
	assert_int_equal(fx->fake.nsends, 1);
	run(fx, t + 1100);
	assert_int_equal(fx->fake.nsends, 2);
	assert_int_equal(fx->fake.sends[1].cookie, 2);
	/* A second failure doubles the wait. */
	emit(fx, GW_TEV_SEND_FAILED, 0, 2, 0);
	t = util_mono_ms();
	{
		struct dispatch_job c = job(3, 60);
		assert_int_equal(dispatch_take(fx->d, &c, t), 0);
	}
	run(fx, t + 1500);
	assert_int_equal(fx->fake.nsends, 2);
	run(fx, t + 2100);
	assert_int_equal(fx->fake.nsends, 3);
	/* A success ends the back-off. */
	emit(fx, GW_TEV_SENT, 0, 3, 0);
	{
		struct dispatch_job e = job(4, 60);
		assert_int_equal(dispatch_take(fx->d, &e, util_mono_ms()), 0);
		run(fx, util_mono_ms());
		assert_int_equal(fx->fake.nsends, 4);
	}
}

/* A channel that refuses to take sends (restarting after a reset) keeps the job while the lease
 * allows, trying again after 1, 2, 4, 8 s, and sends it once the channel takes it. */
static void test_refusing_channel_spaced_then_sends(void **state)
{
	struct fixture *fx = *state;
	int64_t t0 = util_mono_ms(), last = -1;
	struct dispatch_job a = job(1, 60);

	fx->fake.refuse[0] = GW_SEND_BUSY;
	assert_int_equal(dispatch_take(fx->d, &a, t0), 0);
	for (int64_t dt = 0; dt < 10000; dt += 10)
		run(fx, t0 + dt);
	assert_int_equal(fx->fake.nsends, 4); /* at 0, 1, 3 and 7 s: spaced, not a loop */
	for (int i = 0; i < fx->fake.nsends; i++) {
		if (last >= 0)
			assert_true(fx->fake.sends[i].at - last >= 1000);
		last = fx->fake.sends[i].at;
	}
	assert_false(reports_find(fx->reports, 1, "failed", NULL, NULL, 0));
	fx->fake.refuse[0] = 0;
	for (int64_t dt = 10000; dt < 20000 && !fx->fake.sends[fx->fake.nsends - 1].taken; dt += 10)
		run(fx, t0 + dt);
	assert_true(fx->fake.sends[fx->fake.nsends - 1].taken);
	/* Its validity counts down from the lease: 600 s, less the 15 s it waited, in minutes. */
	assert_int_equal(fx->fake.sends[fx->fake.nsends - 1].validity_minutes, 9);
}

/* No channel can send: the job is given back before its lease runs out, so the server knows. */
static void test_given_back_before_lease_ends(void **state)
{
	struct fixture *fx = *state;
	int64_t t0 = util_mono_ms();
	struct dispatch_job a = job(1, 20);
	char err[128];

	fx->fake.ready[0] = 0;
	assert_int_equal(dispatch_capacity(fx->d, t0), 0);
	assert_int_equal(dispatch_take(fx->d, &a, t0), 0);
	for (int64_t dt = 0; dt < 14990; dt += 100)
		run(fx, t0 + dt);
	assert_false(reports_find(fx->reports, 1, "failed", NULL, NULL, 0));
	run(fx, t0 + 15000); /* the lease's last 5 s are left for the report */
	assert_true(reports_find(fx->reports, 1, "failed", NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "within its lease"));
	assert_int_equal(fx->fake.nsends, 0);
}

/* What the transport says is reported with its own time; a permanent failure is given back at
 * once; reports of delivery go to the job they name. */
static void test_reports_carry_the_time(void **state)
{
	struct fixture *fx = *state;
	int64_t t0 = util_mono_ms(), at = 0;
	struct dispatch_job a = job(1, 60), b = job(2, 60);

	assert_int_equal(dispatch_take(fx->d, &a, t0), 0);
	assert_int_equal(dispatch_take(fx->d, &b, t0), 0);
	run(fx, t0);
	assert_int_equal(fx->fake.nsends, 2);
	emit(fx, GW_TEV_SENT, 0, 1, 0);
	assert_true(reports_find(fx->reports, 1, "submitted", &at, NULL, 0));
	assert_int_equal(at, 1234567);
	emit(fx, GW_TEV_DELIVERED, 0, 1, 0);
	assert_true(reports_find(fx->reports, 1, "delivered", &at, NULL, 0));
	emit(fx, GW_TEV_SEND_FAILED, fx->fake.sends[1].ch, 2, 1);
	assert_true(reports_find(fx->reports, 2, "failed", NULL, NULL, 0));
	run(fx, util_mono_ms());
	assert_int_equal(fx->fake.nsends, 2); /* permanent: not tried elsewhere */
	{
		struct dispatch_channel_stats st;
		assert_int_equal(dispatch_channel_stats(fx->d, 0, &st), 0);
		assert_int_equal(st.sent, 1);
		assert_int_equal(st.delivered, 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_failed_send_moves_to_another_channel, setup2, teardown),
		cmocka_unit_test_setup_teardown(test_failing_channel_backs_off, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_refusing_channel_spaced_then_sends, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_given_back_before_lease_ends, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_reports_carry_the_time, setup2, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
