/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Sends of the modem supervisor whose outcome is unknown: the modem stopped answering after the
 * SMS was handed to it (MODEM_E_MAYBE_SENT). Resending would give the device a duplicate whenever
 * the network had taken it, so the supervisor looks for evidence instead and says what it finds
 * (SUPERVISOR_EV_OUTCOME): the message reference the modem gives its next send (a reference
 * skipped means a SUBMIT went out), or a status report for the recipient. */
#include "supervisor_priv.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "util.h"

/* References a modem hands out between two sends we see: more than this and the gap is not ours. */
#define SV_MAYBE_REF_WINDOW 16

void sv_on_progress(struct supervisor *sv, struct sv_modem *m, const struct wp_msg *msg)
{
	(void)sv;
	if (m->running != NULL && m->running->id == msg->job_id && m->running->wop == WP_OP_SEND)
		m->running->handed = 1;
}

void sv_maybe_add(struct supervisor *sv, struct sv_modem *m, const struct sv_job *job)
{
	struct sv_maybe *e = NULL;
	int64_t now = util_mono_ms();

	if (job->internal || job->wop != WP_OP_SEND)
		return;
	for (int i = 0; i < SV_MAYBE_MAX; i++) {
		struct sv_maybe *c = &sv->maybe[i];
		if (c->used && now - c->at > sv->opt.report_keep_ms)
			c->used = 0; /* nothing came: it stays unknown */
		if (!c->used && e == NULL)
			e = c;
	}
	if (e == NULL) {
		/* The oldest gives way. */
		e = &sv->maybe[0];
		for (int i = 1; i < SV_MAYBE_MAX; i++)
			if (sv->maybe[i].order < e->order)
				e = &sv->maybe[i];
	}
	memset(e, 0, sizeof(*e));
	if (sv_digits(job->out.number, e->digits, sizeof(e->digits)) != 0)
		return;
	e->used = 1;
	e->modem = m->index;
	e->job_id = job->id;
	e->cookie = job->cookie;
	e->ref_before = m->last_ref;
	e->epoch = m->epoch;
	e->report = job->out.status_report;
	e->order = ++sv->maybe_order;
	e->at = now;
	log_warnx("modem %s: job %u may have been sent (no answer after the handover); not sent again, "
		  "waiting for evidence",
		  m->cfg.name, job->id);
}

static void sv_outcome(struct supervisor *sv, struct sv_modem *m, struct sv_maybe *e, int status, int ref,
		       const char *why)
{
	struct supervisor_event ev;

	log_info("modem %s: job %u %s (%s)", m->cfg.name, e->job_id, status == MODEM_OK ? "was sent" : "was not sent",
		 why);
	e->used = 0;
	if (sv->cb == NULL)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.type = SUPERVISOR_EV_OUTCOME;
	ev.modem = m->index;
	ev.modem_name = m->cfg.name;
	ev.job_id = e->job_id;
	ev.cookie = e->cookie;
	ev.op = SUPERVISOR_OP_SEND;
	ev.status = status;
	ev.reference = ref;
	ev.error = why;
	ev.caps = &m->caps;
	sv->cb(&ev, sv->arg);
}

void sv_maybe_on_send(struct supervisor *sv, struct sv_modem *m, int status, int ref)
{
	struct sv_maybe *pending[SV_MAYBE_MAX];
	int k = 0, gap, before = m->last_ref;
	char why[128];

	if (status == MODEM_E_MAYBE_SENT)
		return; /* one more unknown: it joins the others */
	if (status != MODEM_OK || ref < 0) {
		/* A send the modem refused may or may not have used a reference: the references no
		 * longer tell. Only a status report can now. */
		for (int i = 0; i < SV_MAYBE_MAX; i++)
			if (sv->maybe[i].used && sv->maybe[i].modem == m->index)
				sv->maybe[i].ref_before = -1;
		if (status == MODEM_OK)
			m->last_ref = -1;
		return;
	}
	m->last_ref = ref;
	/* The unknown sends since the last successful one, in the order they were made. */
	for (int i = 0; i < SV_MAYBE_MAX; i++) {
		struct sv_maybe *e = &sv->maybe[i];
		if (!e->used || e->modem != m->index || e->epoch != m->epoch || e->ref_before < 0 ||
		    e->ref_before != before)
			continue;
		int j = k++;
		while (j > 0 && pending[j - 1]->order > e->order) {
			pending[j] = pending[j - 1];
			j--;
		}
		pending[j] = e;
	}
	if (k == 0 || before < 0)
		return;
	/* References the modem used in between: 0, none of them went out; all of them, they all
	 * did, in order; anything else tells nothing for sure. */
	gap = (ref - before - 1 + 256) % 256;
	if (gap == 0) {
		snprintf(why, sizeof(why), "the modem's next send took reference %d, right after %d", ref, before);
		for (int i = 0; i < k; i++)
			sv_outcome(sv, m, pending[i], MODEM_E_TIMEOUT, -1, why);
	} else if (gap == k) {
		for (int i = 0; i < k; i++) {
			int r = (before + 1 + i) % 256;
			snprintf(why, sizeof(why), "reference %d was used between %d and %d", r, before, ref);
			if (pending[i]->report)
				sv_remember_ref(sv, m->index, r, pending[i]->job_id, pending[i]->cookie,
						pending[i]->digits);
			sv_outcome(sv, m, pending[i], MODEM_OK, r, why);
		}
	} else {
		log_info("modem %s: %d reference(s) used between %d and %d for %d unknown send(s): no conclusion",
			 m->cfg.name, gap, before, ref, k);
		for (int i = 0; i < k; i++)
			pending[i]->ref_before = -1;
	}
}

int sv_maybe_on_report(struct supervisor *sv, struct sv_modem *m, const char *digits, int ref)
{
	struct sv_maybe *best = NULL;
	char why[128];

	for (int i = 0; i < SV_MAYBE_MAX; i++) {
		struct sv_maybe *e = &sv->maybe[i];
		if (!e->used || e->modem != m->index || !e->report || !sv_number_match(e->digits, digits))
			continue;
		/* With a reference known before it, the report's must come after, and close. */
		if (e->ref_before >= 0 && e->epoch == m->epoch &&
		    ((ref - e->ref_before + 256) % 256 == 0 || (ref - e->ref_before + 256) % 256 > SV_MAYBE_REF_WINDOW))
			continue;
		if (best == NULL || e->order < best->order)
			best = e;
	}
	if (best == NULL)
		return 0;
	snprintf(why, sizeof(why), "a status report for its recipient came with reference %d", ref);
	sv_remember_ref(sv, m->index, ref, best->job_id, best->cookie, best->digits);
	sv_outcome(sv, m, best, MODEM_OK, ref, why);
	return 1;
}

int sv_lost_job_status(struct supervisor *sv, struct sv_modem *m, const struct sv_job *job, int otherwise)
{
	if (job->wop != WP_OP_SEND || !job->handed)
		return otherwise;
	sv_maybe_add(sv, m, job);
	return MODEM_E_MAYBE_SENT;
}

void sv_maybe_reset(struct sv_modem *m)
{
	m->epoch++;
	m->last_ref = -1;
}
