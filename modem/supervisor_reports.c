/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Incoming SMS and status reports of the modem supervisor: events for what a worker read, and the
 * matching of a report to the send it reports on. */
#include "supervisor_priv.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "util.h"

int sv_digits(const char *number, char *out, size_t max)
{
	size_t o = 0;
	for (; *number != '\0'; number++) {
		if (*number >= '0' && *number <= '9') {
			if (o + 1 >= max)
				return -1;
			out[o++] = *number;
		}
	}
	out[o] = '\0';
	return 0;
}

/* A report may give the recipient in national format where we sent international (or the other
 * way round): equal digits, or one a suffix of the other with at least 7 digits in common. */
int sv_number_match(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), n = la < lb ? la : lb;
	if (la == lb)
		return strcmp(a, b) == 0;
	if (n < 7)
		return 0;
	return strcmp(a + la - n, b + lb - n) == 0;
}

void sv_remember_ref(struct supervisor *sv, int modem, int ref, uint32_t job_id, uint64_t cookie, const char *digits)
{
	struct sv_sent *s = &sv->sent[sv->sent_next];

	if (ref < 0)
		return;
	memset(s, 0, sizeof(*s));
	snprintf(s->digits, sizeof(s->digits), "%s", digits);
	s->used = 1;
	s->modem = modem;
	s->reference = ref;
	s->job_id = job_id;
	s->cookie = cookie;
	s->at = util_mono_ms();
	sv->sent_next = (sv->sent_next + 1) % SV_SENT_MAX;
}

void sv_remember_sent(struct supervisor *sv, struct sv_modem *m, struct sv_job *job, int ref)
{
	char digits[MODEM_NUMBER_MAX];

	if (ref < 0 || !job->out.status_report || sv_digits(job->out.number, digits, sizeof(digits)) != 0)
		return;
	sv_remember_ref(sv, m->index, ref, job->id, job->cookie, digits);
}

void sv_on_report(struct supervisor *sv, struct sv_modem *m, const struct wp_msg *msg)
{
	struct supervisor_event ev;
	char digits[sizeof(msg->in.number)];
	int64_t now = util_mono_ms();

	memset(&ev, 0, sizeof(ev));
	ev.type = SUPERVISOR_EV_REPORT;
	ev.modem = m->index;
	ev.modem_name = m->cfg.name;
	ev.in = &msg->in;
	ev.reference = msg->in.reference;
	ev.outcome = modem_report_outcome(msg->in.report_status);
	if (sv_digits(msg->in.number, digits, sizeof(digits)) == 0) {
		int known = 0;
		for (size_t k = 0; k < SV_SENT_MAX && !known; k++) {
			const struct sv_sent *s = &sv->sent[k];
			known = s->used && s->modem == m->index && s->reference == msg->in.reference &&
				sv_number_match(s->digits, digits);
		}
		/* A report for no send we know of may be the proof that an unknown one went out. */
		if (!known)
			(void)sv_maybe_on_report(sv, m, digits, msg->in.reference);
		/* Newest first: references wrap at 256. */
		for (size_t k = 0; k < SV_SENT_MAX; k++) {
			struct sv_sent *s = &sv->sent[(sv->sent_next + SV_SENT_MAX - 1 - k) % SV_SENT_MAX];
			if (!s->used || s->modem != m->index || s->reference != msg->in.reference)
				continue;
			if (now - s->at > sv->opt.report_keep_ms) {
				s->used = 0;
				continue;
			}
			if (!sv_number_match(s->digits, digits))
				continue;
			ev.matched = 1;
			ev.sent_job_id = s->job_id;
			ev.sent_cookie = s->cookie;
			if (ev.outcome != 1)
				s->used = 0; /* final: a later report with this reference is another message */
			break;
		}
	}
	if (!ev.matched)
		log_info("modem %s: status report for reference %d matches no recent send", m->cfg.name,
			 msg->in.reference);
	if (sv->cb != NULL)
		sv->cb(&ev, sv->arg);
}

void sv_on_sms(struct supervisor *sv, struct sv_modem *m, const struct wp_msg *msg)
{
	struct supervisor_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = SUPERVISOR_EV_SMS;
	ev.modem = m->index;
	ev.modem_name = m->cfg.name;
	ev.in = &msg->in;
	if (sv->cb != NULL)
		sv->cb(&ev, sv->arg);
}
