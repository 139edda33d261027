/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Inside the modem supervisor: its state and the functions its files share (supervisor.c is the
 * public API; see supervisor.h for the model). Single-threaded and non-blocking; everything it
 * waits for is a descriptor in one epoll set or a time on one timerfd. Not for other modules. */
#ifndef SMSWAKE_SUPERVISOR_PRIV_H
#define SMSWAKE_SUPERVISOR_PRIV_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "supervisor.h"
#include "worker_proto.h"

#define SV_TIMER_TAG UINT32_MAX
#define SV_SENT_MAX 1024
#define SV_MAYBE_MAX 64

struct sv_job {
	struct sv_job *next;
	uint32_t id;
	uint64_t cookie;
	int wop;      /* enum wp_op */
	int internal; /* ours (health check, recovery): no event */
	int handed;   /* send: the worker said the SMS is the modem's (WP_PROGRESS) */
	int64_t queued_at;
	struct modem_sms_out out;
};

/* A send whose outcome is unknown (MODEM_E_MAYBE_SENT), until evidence says whether it went out:
 * the message reference the modem gives the next send, or a status report for its recipient. */
struct sv_maybe {
	int used;
	int modem;
	uint32_t job_id;
	uint64_t cookie;
	int ref_before; /* reference of the last successful send before it on that modem, or -1 */
	unsigned epoch; /* the modem's reset count then: a reset may restart its references */
	int report;     /* a status report was asked for */
	uint64_t order; /* among the unknown sends of one modem */
	int64_t at;
	char digits[MODEM_NUMBER_MAX];
};

/* A sent message waiting for its status report. */
struct sv_sent {
	int used;
	int modem;
	int reference;
	uint32_t job_id;
	uint64_t cookie;
	int64_t at;
	char digits[MODEM_NUMBER_MAX];
};

struct sv_modem {
	int index;
	struct modem_config cfg;
	int state;
	int healthy;
	int notify; /* state or health changed since the last SUPERVISOR_EV_MODEM */
	char reason[128];
	pid_t pid;
	int fd;
	int64_t state_deadline; /* STARTING: open deadline; BACKOFF: restart time */
	struct sv_job *running;
	int64_t job_deadline;
	struct sv_job *head, *tail;
	int queued;
	int faults;     /* consecutive operations that failed because of the modem */
	int level;      /* recovery ladder step reached; 0 when all is well */
	int bad_checks; /* consecutive failing health checks */
	int send_fails; /* consecutive sends failed by the modem; a passing health check does not
			 * clear the ladder while this is set, so a modem that answers queries but
			 * cannot send still climbs to back-off */
	int64_t next_health;
	int last_ref;   /* reference of the last successful send on this modem, -1 unknown */
	unsigned epoch; /* soft resets so far */
	int starts, kills;
	uint64_t sent, failed;
	struct modem_status last_status;
	struct modem_ident ident;
	struct modem_caps caps;
};

struct supervisor {
	struct supervisor_options opt;
	supervisor_cb cb;
	void *arg;
	struct sv_modem *modems;
	int n;
	int epfd, tfd;
	int started;
	uint32_t next_job_id;
	struct sv_sent sent[SV_SENT_MAX];
	size_t sent_next;
	struct sv_maybe maybe[SV_MAYBE_MAX];
	uint64_t maybe_order;
	char worker_path[PATH_MAX];
};

/* supervisor_queue.c */
void sv_emit_job(struct supervisor *sv, struct sv_modem *m, struct sv_job *job, int status, int reference,
		 const char *error, const struct modem_status *st, const struct modem_ident *id);
void sv_fail_job(struct supervisor *sv, struct sv_modem *m, struct sv_job *job, int status, const char *error);
void sv_fail_queue(struct supervisor *sv, struct sv_modem *m, int status, const char *error);
void sv_push(struct sv_modem *m, struct sv_job *job, int front);
struct sv_job *sv_pop(struct sv_modem *m);
struct sv_job *sv_job_new(struct supervisor *sv, int wop, int internal, uint64_t cookie);
void sv_internal(struct supervisor *sv, struct sv_modem *m, int wop);
void sv_health_check(struct supervisor *sv, struct sv_modem *m);

/* supervisor_worker.c */
void sv_worker_kill(struct supervisor *sv, struct sv_modem *m);
int sv_worker_start(struct supervisor *sv, struct sv_modem *m);
void sv_on_ready(struct supervisor *sv, struct sv_modem *m, const struct wp_msg *msg);
void sv_on_result(struct supervisor *sv, struct sv_modem *m, const struct wp_msg *msg);
void sv_read_worker(struct supervisor *sv, struct sv_modem *m);
void sv_dispatch(struct supervisor *sv, struct sv_modem *m);

/* supervisor_ladder.c */
void sv_set_state(struct sv_modem *m, int state, int healthy, const char *reason);
void sv_backoff(struct supervisor *sv, struct sv_modem *m, int delay_ms, const char *why);
void sv_stop(struct supervisor *sv, struct sv_modem *m, int status, const char *why);
int sv_is_stop_error(int status);
void sv_trouble(struct supervisor *sv, struct sv_modem *m, const char *why, int alive);
void sv_arm(struct supervisor *sv);
void sv_timers(struct supervisor *sv);

/* supervisor_health.c */
void sv_on_health(struct supervisor *sv, struct sv_modem *m, const struct wp_msg *msg);

/* supervisor_reports.c */
int sv_digits(const char *number, char *out, size_t max);
int sv_number_match(const char *a, const char *b);
void sv_remember_sent(struct supervisor *sv, struct sv_modem *m, struct sv_job *job, int ref);
void sv_remember_ref(struct supervisor *sv, int modem, int ref, uint32_t job_id, uint64_t cookie, const char *digits);
void sv_on_report(struct supervisor *sv, struct sv_modem *m, const struct wp_msg *msg);
void sv_on_sms(struct supervisor *sv, struct sv_modem *m, const struct wp_msg *msg);

/* supervisor_outcome.c */
/* The worker said a send's SMS is the modem's now. */
void sv_on_progress(struct supervisor *sv, struct sv_modem *m, const struct wp_msg *msg);
/* A send ended MODEM_E_MAYBE_SENT: remember it for the evidence to come. */
void sv_maybe_add(struct supervisor *sv, struct sv_modem *m, const struct sv_job *job);
/* A send on the modem ended: its reference (on success) may tell what became of unknown ones. */
void sv_maybe_on_send(struct supervisor *sv, struct sv_modem *m, int status, int ref);
/* A status report matched no send: it may be the one of an unknown send. Returns 1 when it was
 * (the report can now be matched to it), else 0. */
int sv_maybe_on_report(struct supervisor *sv, struct sv_modem *m, const char *digits, int ref);
/* The status of a job whose worker died or missed its deadline: otherwise, or for a send the
 * modem already had, MODEM_E_MAYBE_SENT (and it is remembered as unknown). */
int sv_lost_job_status(struct supervisor *sv, struct sv_modem *m, const struct sv_job *job, int otherwise);
/* The modem was reset: its references may start over. */
void sv_maybe_reset(struct sv_modem *m);

#endif
