/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Health checks of the modem supervisor: what a status answer means for a modem's health and for
 * its place on the recovery ladder. */
#include "supervisor_priv.h"

#include <stdio.h>

#include "log.h"
#include "util.h"

void sv_on_health(struct supervisor *sv, struct sv_modem *m, const struct wp_msg *msg)
{
	char why[128];

	m->next_health = util_mono_ms() + sv->opt.health_interval_ms;
	m->last_status = msg->st;
	if (msg->status != MODEM_OK) {
		snprintf(why, sizeof(why), "health check failed: %s", modem_strerror(msg->status));
		sv_set_state(m, m->state, 0, why);
		if (modem_err_is_modem_fault(msg->status) && ++m->faults >= sv->opt.reconnect_after)
			sv_trouble(sv, m, why, 1);
		return;
	}
	if (modem_status_healthy(&msg->st, &m->caps, why, sizeof(why))) {
		if (!m->healthy)
			log_info("modem %s: healthy (%s, signal %d%%)", m->cfg.name, modem_reg_name(msg->st.reg),
				 msg->st.signal_percent);
		m->bad_checks = 0;
		m->faults = 0;
		if (m->send_fails == 0)
			m->level = 0;
		sv_set_state(m, m->state, 1, "");
		return;
	}
	if (m->healthy)
		log_warnx("modem %s: unhealthy: %s", m->cfg.name, why);
	sv_set_state(m, m->state, 0, why);
	if (msg->st.sms_size > 0 && msg->st.sms_used >= msg->st.sms_size) {
		sv_internal(sv, m, WP_OP_DRAIN); /* storage full: read (and delete) now */
		return;
	}
	if (++m->bad_checks >= sv->opt.unhealthy_after)
		sv_trouble(sv, m, why, 1);
}
