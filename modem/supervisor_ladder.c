/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Deadlines and the recovery ladder of the modem supervisor: the one timer, missed deadlines,
 * reconnect, restart, soft reset, back-off, and modems stopped for an operator. */
#include "supervisor_priv.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/timerfd.h>

#include "log.h"
#include "util.h"

void sv_set_state(struct sv_modem *m, int state, int healthy, const char *reason)
{
	if (m->state != state || m->healthy != healthy)
		m->notify = 1;
	m->state = state;
	m->healthy = healthy;
	if (reason != NULL) {
		/* Truncating a long reason is fine: it is for people. */
		size_t n = strnlen(reason, sizeof(m->reason) - 1);
		memmove(m->reason, reason, n);
		m->reason[n] = '\0';
	}
}

void sv_backoff(struct supervisor *sv, struct sv_modem *m, int delay_ms, const char *why)
{
	char reason[128];

	sv_worker_kill(sv, m);
	snprintf(reason, sizeof(reason), "%s; restart in %d ms", why, delay_ms);
	sv_set_state(m, SUPERVISOR_MODEM_BACKOFF, 0, reason);
	m->state_deadline = util_mono_ms() + delay_ms;
	/* Waiting messages go elsewhere rather than wait out the back-off. */
	sv_fail_queue(sv, m, MODEM_E_UNAVAILABLE, reason);
}

void sv_stop(struct supervisor *sv, struct sv_modem *m, int status, const char *why)
{
	char reason[160];

	sv_worker_kill(sv, m);
	snprintf(reason, sizeof(reason), "%s", why);
	log_error("modem %s STOPPED: %s. Not retried%s; fix the configuration or the SIM, then restart.", m->cfg.name,
		  why, status == MODEM_E_PIN_WRONG ? " (another wrong PIN could block the SIM and need the PUK)" : "");
	sv_set_state(m, SUPERVISOR_MODEM_STOPPED, 0, reason);
	sv_fail_queue(sv, m, status, reason);
}

/* Errors after which only an operator can help. */
int sv_is_stop_error(int status)
{
	return status == MODEM_E_PIN_WRONG || status == MODEM_E_PUK_REQUIRED || status == MODEM_E_PIN_REQUIRED ||
	       status == MODEM_E_CONFIG;
}

/* The recovery ladder, one step per trouble: 1 reconnect, 2 restart the worker, 3 soft reset,
 * then restarts with exponential back-off. A step that needs a live worker falls through to a
 * restart when the worker is gone. Any success puts the modem back on step 0. */
void sv_trouble(struct supervisor *sv, struct sv_modem *m, const char *why, int alive)
{
	m->level++;
	m->faults = 0;
	m->bad_checks = 0;
	sv_set_state(m, m->state, 0, why);
	if (alive && m->pid > 0 && m->level == 1) {
		log_warnx("modem %s: %s; reconnecting", m->cfg.name, why);
		sv_internal(sv, m, WP_OP_RECONNECT);
		return;
	}
	if (alive && m->pid > 0 && m->level == 3) {
		log_warnx("modem %s: %s; soft reset", m->cfg.name, why);
		sv_internal(sv, m, WP_OP_RESET);
		return;
	}
	if (m->level <= 3) {
		log_warnx("modem %s: %s; restarting its worker", m->cfg.name, why);
		sv_worker_kill(sv, m);
		if (sv_worker_start(sv, m) == 0)
			return;
		m->level = 4;
	}
	int64_t delay = sv->opt.backoff_min_ms;
	for (int i = 4; i < m->level && delay < sv->opt.backoff_max_ms; i++)
		delay *= 2;
	if (delay > sv->opt.backoff_max_ms)
		delay = sv->opt.backoff_max_ms;
	log_warnx("modem %s: %s; next attempt in %lld ms", m->cfg.name, why, (long long)delay);
	sv_backoff(sv, m, (int)delay, why);
}

void sv_arm(struct supervisor *sv)
{
	int64_t next = INT64_MAX;
	struct itimerspec its;

	for (int i = 0; i < sv->n; i++) {
		struct sv_modem *m = &sv->modems[i];
		if (m->running != NULL && m->job_deadline < next)
			next = m->job_deadline;
		if ((m->state == SUPERVISOR_MODEM_STARTING || m->state == SUPERVISOR_MODEM_BACKOFF) &&
		    m->state_deadline < next)
			next = m->state_deadline;
		if (m->state == SUPERVISOR_MODEM_READY && m->running == NULL && m->next_health < next)
			next = m->next_health;
		if (m->head != NULL && m->head->queued_at + sv->opt.queue_timeout_ms < next)
			next = m->head->queued_at + sv->opt.queue_timeout_ms;
		if (m->notify)
			next = 0;
	}
	memset(&its, 0, sizeof(its));
	if (next != INT64_MAX) {
		if (next < 1)
			next = 1;
		its.it_value.tv_sec = next / 1000;
		its.it_value.tv_nsec = (long)(next % 1000) * 1000000L;
	}
	if (timerfd_settime(sv->tfd, TFD_TIMER_ABSTIME, &its, NULL) != 0)
		log_warn("timerfd_settime");
}

void sv_timers(struct supervisor *sv)
{
	int64_t now = util_mono_ms();
	char why[160];

	for (int i = 0; i < sv->n; i++) {
		struct sv_modem *m = &sv->modems[i];
		if (m->running != NULL && now >= m->job_deadline) {
			struct sv_job *job = m->running;
			int timeout = job->wop == WP_OP_SEND ? sv->opt.send_timeout_ms : sv->opt.op_timeout_ms;
			m->running = NULL;
			m->kills++;
			if (job->wop == WP_OP_SEND)
				m->send_fails++;
			snprintf(why, sizeof(why), "%s missed its %d ms deadline; worker %d killed",
				 wp_op_name(job->wop), timeout, (int)m->pid);
			sv_trouble(sv, m, why, 0);
			sv_fail_job(sv, m, job, sv_lost_job_status(sv, m, job, MODEM_E_TIMEOUT), why);
		}
		if (m->state == SUPERVISOR_MODEM_STARTING && now >= m->state_deadline) {
			m->kills++;
			snprintf(why, sizeof(why), "modem not open within %d ms; worker %d killed",
				 sv->opt.init_timeout_ms, (int)m->pid);
			sv_trouble(sv, m, why, 0);
		}
		if (m->state == SUPERVISOR_MODEM_BACKOFF && now >= m->state_deadline) {
			if (sv_worker_start(sv, m) != 0)
				sv_trouble(sv, m, "cannot start a worker", 0);
		}
		if (m->state == SUPERVISOR_MODEM_READY && m->running == NULL && now >= m->next_health) {
			/* The next one is due an interval after this one ends (sv_on_health): on a modem
			 * slower than the interval, checks back to back would leave no turn for a send. */
			m->next_health = INT64_MAX;
			sv_health_check(sv, m);
		}
		/* Jobs that waited too long for a busy or restarting modem. */
		while (m->head != NULL && now >= m->head->queued_at + sv->opt.queue_timeout_ms) {
			struct sv_job *job = sv_pop(m);
			snprintf(why, sizeof(why), "waited %d ms for modem %s", sv->opt.queue_timeout_ms, m->cfg.name);
			sv_fail_job(sv, m, job, MODEM_E_UNAVAILABLE, why);
		}
	}
}
