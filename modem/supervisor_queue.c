/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Jobs of the modem supervisor: the per-modem queue, job ids, internal jobs (health checks,
 * recovery) and the SUPERVISOR_EV_JOB events that finish a job. */
#include "supervisor_priv.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

static int sv_op_from_wp(int wop)
{
	switch (wop) {
	case WP_OP_SEND: return SUPERVISOR_OP_SEND;
	case WP_OP_STATUS: return SUPERVISOR_OP_STATUS;
	case WP_OP_IDENTIFY: return SUPERVISOR_OP_IDENTIFY;
	case WP_OP_RESET: return SUPERVISOR_OP_RESET;
	default: return 0;
	}
}

void sv_emit_job(struct supervisor *sv, struct sv_modem *m, struct sv_job *job, int status, int reference,
		 const char *error, const struct modem_status *st, const struct modem_ident *id)
{
	struct supervisor_event ev;

	if (job->internal || sv->cb == NULL)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.type = SUPERVISOR_EV_JOB;
	ev.modem = m->index;
	ev.modem_name = m->cfg.name;
	ev.job_id = job->id;
	ev.cookie = job->cookie;
	ev.op = sv_op_from_wp(job->wop);
	ev.status = status;
	ev.reference = reference;
	ev.retry_after_ms = status == MODEM_OK ? 0 : supervisor_retry_after_ms(sv, m->index);
	ev.error = error != NULL && error[0] != '\0' ? error : (status ? modem_strerror(status) : "");
	ev.st = st;
	ev.id = id;
	ev.caps = &m->caps;
	sv->cb(&ev, sv->arg);
}

/* Finishes a job that never got (or lost) its answer. Frees the job. */
void sv_fail_job(struct supervisor *sv, struct sv_modem *m, struct sv_job *job, int status, const char *error)
{
	if (!job->internal && job->wop == WP_OP_SEND && status != MODEM_E_MAYBE_SENT)
		m->failed++; /* an unknown outcome is not counted as a failure */
	if (job->internal && job->wop == WP_OP_STATUS)
		m->next_health = util_mono_ms() + sv->opt.health_interval_ms; /* the check never ran */
	sv_emit_job(sv, m, job, status, -1, error, NULL, NULL);
	free(job);
}

/* Fails every queued job; the queue is detached first so a callback may submit new ones. */
void sv_fail_queue(struct supervisor *sv, struct sv_modem *m, int status, const char *error)
{
	struct sv_job *j = m->head, *next;

	m->head = m->tail = NULL;
	m->queued = 0;
	for (; j != NULL; j = next) {
		next = j->next;
		sv_fail_job(sv, m, j, status, error);
	}
}

void sv_push(struct sv_modem *m, struct sv_job *job, int front)
{
	job->next = NULL;
	if (front) {
		job->next = m->head;
		m->head = job;
		if (m->tail == NULL)
			m->tail = job;
	} else {
		if (m->tail != NULL)
			m->tail->next = job;
		else
			m->head = job;
		m->tail = job;
	}
	m->queued++;
}

struct sv_job *sv_pop(struct sv_modem *m)
{
	struct sv_job *j = m->head;
	if (j == NULL)
		return NULL;
	m->head = j->next;
	if (m->head == NULL)
		m->tail = NULL;
	m->queued--;
	j->next = NULL;
	return j;
}

struct sv_job *sv_job_new(struct supervisor *sv, int wop, int internal, uint64_t cookie)
{
	struct sv_job *j = calloc(1, sizeof(*j));
	if (j == NULL)
		return NULL;
	j->id = ++sv->next_job_id;
	if (j->id == 0)
		j->id = ++sv->next_job_id;
	j->wop = wop;
	j->internal = internal;
	j->cookie = cookie;
	j->queued_at = util_mono_ms();
	return j;
}

void sv_internal(struct supervisor *sv, struct sv_modem *m, int wop)
{
	struct sv_job *j = sv_job_new(sv, wop, 1, 0);
	if (j != NULL)
		sv_push(m, j, 1); /* recovery goes before waiting messages */
}

void sv_health_check(struct supervisor *sv, struct sv_modem *m)
{
	struct sv_job *j = sv_job_new(sv, WP_OP_STATUS, 1, 0);
	/* Behind the messages already waiting: each of them tells the modem's health as well. */
	if (j != NULL)
		sv_push(m, j, 0);
}
