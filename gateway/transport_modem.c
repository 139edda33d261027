/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The modem transport: the gateway's modems through the modem supervisor (modem/supervisor.h),
 * one channel per enabled [modem NAME] section. It only translates: deadlines, restarts,
 * health checks and status-report matching are the supervisor's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "modem_ini.h"
#include "supervisor.h"
#include "transport.h"
#include "util.h"

struct modem_transport {
	struct gw_transport t;
	struct supervisor *sv;
};

static struct supervisor *sv_of(const struct gw_transport *t)
{
	return ((const struct modem_transport *)t->impl)->sv;
}

static void on_supervisor(const struct supervisor_event *ev, void *arg)
{
	struct gw_transport *t = arg;
	struct gw_tevent te = {.channel = ev->modem, .name = ev->modem_name, .reference = -1, .at_ms = util_now_ms()};

	switch (ev->type) {
	case SUPERVISOR_EV_JOB:
		if (ev->op != SUPERVISOR_OP_SEND)
			return;
		te.cookie = ev->cookie;
		if (ev->status == 0) {
			te.type = GW_TEV_SENT;
			te.reference = ev->reference;
		} else if (ev->status == MODEM_E_MAYBE_SENT) {
			/* The SMS was handed to the modem and no answer came: it most likely went out.
			 * Taken as sent: sending it again could cost a second SMS for one wakeup, and a
			 * wakeup that was in fact lost is made good by the device's next poll. The
			 * supervisor may settle it later (SUPERVISOR_EV_OUTCOME, logged below). */
			log_warnx("modem %s: job %llu outcome unknown (%s); counted as sent", ev->modem_name,
				  (unsigned long long)ev->cookie, ev->error ? ev->error : modem_strerror(ev->status));
			te.type = GW_TEV_SENT;
		} else {
			te.type = GW_TEV_SEND_FAILED;
			te.permanent = modem_err_class(ev->status) == MODEM_CLASS_PERMANENT;
			te.error = ev->error ? ev->error : modem_strerror(ev->status);
		}
		break;
	case SUPERVISOR_EV_OUTCOME:
		if (ev->status == 0)
			log_info("modem %s: job %llu of unknown outcome was sent (reference %d)", ev->modem_name,
				 (unsigned long long)ev->cookie, ev->reference);
		else
			log_warnx("modem %s: job %llu of unknown outcome was not sent (%s); the device's next poll "
				  "brings its messages",
				  ev->modem_name, (unsigned long long)ev->cookie,
				  ev->error ? ev->error : modem_strerror(ev->status));
		return;
	case SUPERVISOR_EV_REPORT:
		/* Intermediate reports (the SMSC still trying) change nothing. */
		if (!ev->matched || ev->outcome == 1)
			return;
		te.type = ev->outcome == 0 ? GW_TEV_DELIVERED : GW_TEV_UNDELIVERABLE;
		te.cookie = ev->sent_cookie;
		te.reference = ev->in ? ev->in->reference : -1;
		break;
	case SUPERVISOR_EV_MODEM:
		/* The lines operators (and the demo) look for, as the gateway always wrote them. */
		if (ev->healthy)
			log_info("modem %s: %s, healthy", ev->modem_name, supervisor_state_name(ev->state));
		else
			log_warnx("modem %s: %s, not healthy: %s", ev->modem_name, supervisor_state_name(ev->state),
				  ev->reason ? ev->reason : "");
		te.type = GW_TEV_CHANNEL;
		te.ready = ev->healthy && ev->state == SUPERVISOR_MODEM_READY;
		te.reason = ev->reason ? ev->reason : supervisor_state_name(ev->state);
		break;
	default: return; /* an SMS to a gateway modem: the supervisor has deleted it */
	}
	t->cb(t->cb_arg, &te);
}

static int tm_start(struct gw_transport *t)
{
	if (supervisor_start(sv_of(t)) != 0) {
		log_warn("cannot start the modem workers");
		return -1;
	}
	return 0;
}

static void tm_free(struct gw_transport *t)
{
	struct modem_transport *mt;

	if (t == NULL)
		return;
	mt = t->impl;
	supervisor_free(mt->sv);
	free(mt);
}

static int tm_fd(const struct gw_transport *t)
{
	return supervisor_fd(sv_of(t));
}

static int tm_timeout_ms(const struct gw_transport *t)
{
	return supervisor_timeout_ms(sv_of(t));
}

static void tm_process(struct gw_transport *t)
{
	supervisor_process(sv_of(t));
}

static int tm_channels(const struct gw_transport *t)
{
	return supervisor_modem_count(sv_of(t));
}

static int tm_channel_info(const struct gw_transport *t, int ch, struct gw_channel_info *out)
{
	struct supervisor_modem_info info;

	memset(out, 0, sizeof(*out));
	if (supervisor_modem_info(sv_of(t), ch, &info) != 0)
		return -1;
	snprintf(out->name, sizeof(out->name), "%s", info.name);
	out->ready = info.state == SUPERVISOR_MODEM_READY && info.healthy;
	out->queued = info.queued;
	out->signal = info.last_status.signal_percent;
	out->restarts = info.restarts;
	out->caps_probed = info.caps.probed;
	out->caps_present = info.caps.present;
	return 0;
}

static int tm_send(struct gw_transport *t, int ch, const struct modem_sms_out *sms, uint64_t cookie, char *err,
		   size_t errlen)
{
	uint32_t job;
	int rc = supervisor_send(sv_of(t), ch, sms, cookie, &job);

	if (rc == 0)
		return GW_SEND_OK;
	snprintf(err, errlen, "%s", modem_strerror(rc));
	return modem_err_class(rc) == MODEM_CLASS_PERMANENT ? GW_SEND_BAD : GW_SEND_BUSY;
}

static const struct gw_transport_ops tm_ops = {
	.name = "modem",
	.start = tm_start,
	.free = tm_free,
	.fd = tm_fd,
	.timeout_ms = tm_timeout_ms,
	.process = tm_process,
	.channels = tm_channels,
	.channel_info = tm_channel_info,
	.send = tm_send,
};

struct gw_transport *transport_modem_new(const struct modem_ini *ini, gw_tevent_cb cb, void *arg)
{
	struct modem_transport *mt = calloc(1, sizeof(*mt));

	if (mt == NULL)
		return NULL;
	mt->t.ops = &tm_ops;
	mt->t.cb = cb;
	mt->t.cb_arg = arg;
	mt->t.impl = mt;
	if (supervisor_new(&mt->sv, &ini->opt, on_supervisor, &mt->t) != 0) {
		free(mt);
		return NULL;
	}
	for (int m = 0; m < ini->n; m++)
		if (ini->enabled[m] && supervisor_add_modem(mt->sv, &ini->modems[m]) < 0)
			log_warnx("modem %s: cannot be added", ini->modems[m].name);
	return &mt->t;
}
