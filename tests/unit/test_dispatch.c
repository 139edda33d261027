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
	int64_t now;        /* the time the test pretends it is, for the send log */
	const char *prefix; /* of its channels' names; NULL: "ch" */
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
	snprintf(out->name, sizeof(out->name), "%s%d", f->prefix ? f->prefix : "ch", ch);
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

#define FAKE_OPS(NAME)                                                                                                 \
	{                                                                                                              \
		.name = NAME, .start = f_start, .free = f_free, .fd = f_fd, .timeout_ms = f_timeout,                   \
		.process = f_process, .channels = f_channels, .channel_info = f_info, .send = f_send,                  \
	}
static const struct gw_transport_ops fake_ops = FAKE_OPS("fake");
/* As the gateway's two transports, for routing. */
static const struct gw_transport_ops modem_ops = FAKE_OPS("modem");
static const struct gw_transport_ops kannel_ops = FAKE_OPS("kannel");

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

/* Routing: two transports, "modem" (channel m0) and "kannel" (channel k0). */
struct routed {
	struct gw_config cfg;
	struct fake modem, kannel;
	struct reports *reports;
	struct dispatch *d;
};

static void routed_setup(struct routed *r, int failover)
{
	memset(r, 0, sizeof(*r));
	r->cfg.per_modem_jobs = 2;
	r->cfg.failover = failover;
	r->cfg.kannel.concurrency = 8;
	r->cfg.kannel.per_second = 2;
	snprintf(r->cfg.routes[0].prefix, sizeof(r->cfg.routes[0].prefix), "+49");
	snprintf(r->cfg.routes[0].transport, sizeof(r->cfg.routes[0].transport), "kannel");
	snprintf(r->cfg.routes[1].transport, sizeof(r->cfg.routes[1].transport), "modem"); /* default */
	r->cfg.nroutes = 2;
	r->modem.t.ops = &modem_ops;
	r->modem.prefix = "m";
	r->kannel.t.ops = &kannel_ops;
	r->kannel.prefix = "k";
	r->reports = reports_new(NULL);
	r->d = dispatch_new(&r->cfg, r->reports);
	for (struct fake *f = &r->modem; f <= &r->kannel; f++) {
		f->nch = 1;
		f->ready[0] = 1;
		f->t.impl = f;
		f->t.cb = dispatch_on_event;
		f->t.cb_arg = r->d;
		assert_int_equal(dispatch_add_transport(r->d, &f->t), 0);
	}
}

static void routed_free(struct routed *r)
{
	dispatch_free(r->d);
	reports_free(r->reports);
}

static struct dispatch_job routed_job(int64_t id, const char *number)
{
	struct dispatch_job j = job(id, 60);
	snprintf(j.sms.number, sizeof(j.sms.number), "%s", number);
	return j;
}

/* Numbers go to the transport their route names; the Kannel channel takes up to its
 * concurrency, at most per_second a second, and a job over its rate waits for it rather than
 * going to a modem. */
static void test_routes_by_prefix(void **state)
{
	static struct routed r;
	int64_t t0 = util_mono_ms();
	struct dispatch_job a = routed_job(1, "+4915550001"), b = routed_job(2, "+15550002"),
			    c = routed_job(3, "+4915550003"), d = routed_job(4, "+4915550004");

	(void)state;
	routed_setup(&r, 1);
	assert_int_equal(dispatch_capacity(r.d, t0), 2 + 8);
	assert_int_equal(dispatch_take(r.d, &a, t0), 0);
	assert_int_equal(dispatch_take(r.d, &b, t0), 0);
	assert_int_equal(dispatch_take(r.d, &c, t0), 0);
	assert_int_equal(dispatch_take(r.d, &d, t0), 0);
	dispatch_run(r.d, t0);
	assert_int_equal(r.modem.nsends, 1);
	assert_true(r.modem.sends[0].cookie == 2);
	assert_int_equal(r.kannel.nsends, 2); /* per_second = 2 */
	assert_true(r.kannel.sends[0].cookie == 1 && r.kannel.sends[1].cookie == 3);
	for (int64_t dt = 0; dt < 900; dt += 50)
		dispatch_run(r.d, t0 + dt);
	assert_int_equal(r.modem.nsends, 1); /* job 4 waits for Kannel */
	dispatch_run(r.d, t0 + 1000);
	assert_int_equal(r.kannel.nsends, 3);
	assert_true(r.kannel.sends[2].cookie == 4);
	routed_free(&r);
}

/* With Kannel not ready, a job routed to it goes to a modem (failover); without failover it
 * waits for Kannel and is given back when its lease runs out. */
static void test_failover(void **state)
{
	static struct routed r;
	int64_t t0 = util_mono_ms();
	struct dispatch_job a = routed_job(1, "+4915550001");

	(void)state;
	routed_setup(&r, 1);
	r.kannel.ready[0] = 0;
	assert_int_equal(dispatch_take(r.d, &a, t0), 0);
	dispatch_run(r.d, t0);
	assert_int_equal(r.kannel.nsends, 0);
	assert_int_equal(r.modem.nsends, 1);
	routed_free(&r);

	routed_setup(&r, 0);
	r.kannel.ready[0] = 0;
	assert_int_equal(dispatch_take(r.d, &a, t0), 0);
	for (int64_t dt = 0; dt < 54000; dt += 500)
		dispatch_run(r.d, t0 + dt);
	assert_int_equal(r.modem.nsends, 0);
	assert_false(reports_find(r.reports, 1, "failed", NULL, NULL, 0));
	dispatch_run(r.d, t0 + 55000);
	assert_true(reports_find(r.reports, 1, "failed", NULL, NULL, 0));
	assert_int_equal(r.modem.nsends + r.kannel.nsends, 0);
	routed_free(&r);

	/* A Kannel channel that failed the job: with failover, the modem takes it at once. */
	routed_setup(&r, 1);
	assert_int_equal(dispatch_take(r.d, &a, t0), 0);
	dispatch_run(r.d, t0);
	assert_int_equal(r.kannel.nsends, 1);
	{
		struct gw_tevent ev = {.type = GW_TEV_SEND_FAILED, .name = "k0", .cookie = 1, .error = "HTTP 503"};
		dispatch_on_event(r.d, &ev);
	}
	dispatch_run(r.d, util_mono_ms());
	assert_int_equal(r.modem.nsends, 1);
	routed_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_failed_send_moves_to_another_channel, setup2, teardown),
		cmocka_unit_test_setup_teardown(test_failing_channel_backs_off, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_refusing_channel_spaced_then_sends, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_given_back_before_lease_ends, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_reports_carry_the_time, setup2, teardown),
		cmocka_unit_test(test_routes_by_prefix),
		cmocka_unit_test(test_failover),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
