/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The modem supervisor: the API the gateway uses to send SMS through its modems. It runs one
 * worker process per modem (smswake-modem-worker, fork+exec), puts a deadline on every operation,
 * kills and restarts a worker that misses one, walks the recovery ladder, checks each modem's
 * health, and turns incoming SMS and status reports into events.
 *
 * Event loop model. The supervisor never blocks and never starts a thread. It owns one file
 * descriptor (supervisor_fd, an epoll descriptor holding the worker sockets and a timer) that
 * becomes readable whenever it has something to do; the caller polls it alongside its own
 * descriptors (an HTTP long-poll client, say) and then calls supervisor_process(), which handles
 * what is pending and reports results through the callback. The callback runs only inside
 * supervisor_process(), never inside a submit call, and may itself submit jobs. A caller with
 * nothing else to do can use supervisor_run() instead.
 *
 * Not thread-safe: call every function from one thread. */
#ifndef SMSWAKE_SUPERVISOR_H
#define SMSWAKE_SUPERVISOR_H

#include <stdint.h>

#include "modem.h"

struct supervisor;

struct supervisor_options {
	int health_interval_ms; /* SIM, registration, signal, storage check per modem; 60 s */
	int send_timeout_ms;    /* deadline of one send, from hand-over to the worker; 60 s */
	int op_timeout_ms;      /* deadline of status, identify, reconnect, drain; 30 s */
	int init_timeout_ms;    /* deadline for a new worker to open its modem; 60 s */
	int queue_timeout_ms;   /* a job still waiting for its modem after this fails; 120 s */
	int queue_max;          /* jobs waiting per modem; 64 */
	int reconnect_after;    /* consecutive modem faults that start the recovery ladder; 3 */
	int unhealthy_after;    /* consecutive failing health checks that start it; 2 */
	int backoff_min_ms;     /* first back-off delay; doubles each step; 5 s */
	int backoff_max_ms;     /* 300 s */
	int reset_wait_ms;      /* after a soft reset, wait this long before reopening; 20 s */
	int incoming_poll_ms;   /* how often a worker looks for stored messages anyway; 10 s */
	int report_keep_ms;     /* how long a sent message waits for its status report; 3 days */
	char worker_path[512];  /* smswake-modem-worker; empty: next to the running program */
	int worker_syslog;      /* workers log to syslog instead of stderr */
};

/* Fills the defaults above. */
void supervisor_options_init(struct supervisor_options *opt);
/* Sets one option from its INI key (health_interval, send_timeout, ... as in the man page);
 * durations accept util_parse_duration suffixes ("30s", "5m"). Returns 0, or -1 for an unknown key
 * or a bad value. */
int supervisor_options_set(struct supervisor_options *opt, const char *key, const char *value);

#define SUPERVISOR_ANY (-1) /* let the supervisor pick a healthy modem */

enum supervisor_op {
	SUPERVISOR_OP_SEND = 1,
	SUPERVISOR_OP_STATUS,
	SUPERVISOR_OP_IDENTIFY,
	SUPERVISOR_OP_RESET,
};

enum supervisor_modem_state {
	SUPERVISOR_MODEM_STARTING = 1, /* worker started, modem opening */
	SUPERVISOR_MODEM_READY,        /* worker has an open modem */
	SUPERVISOR_MODEM_BACKOFF,      /* waiting before the next restart */
	SUPERVISOR_MODEM_STOPPED,      /* needs an operator (wrong PIN, PUK, bad configuration) */
};

enum supervisor_event_type {
	SUPERVISOR_EV_JOB = 1, /* a submitted job finished (successfully or not) */
	SUPERVISOR_EV_SMS,     /* an SMS arrived on a modem; it has been deleted from the modem */
	SUPERVISOR_EV_REPORT,  /* a status report arrived, matched to a send when possible */
	SUPERVISOR_EV_MODEM,   /* a modem changed state or health */
	SUPERVISOR_EV_OUTCOME, /* a send that ended MODEM_E_MAYBE_SENT turned out sent or not (below) */
};

/* Everything an event points to lives until the callback returns. */
struct supervisor_event {
	int type;
	int modem; /* index in the order modems were added */
	const char *modem_name;
	/* SUPERVISOR_EV_JOB, and SUPERVISOR_EV_OUTCOME with the same job id and cookie: status MODEM_OK
	 * and the reference the SMS went out with, or a retryable error when it did not go out (so
	 * sending it again cannot duplicate it); error says what the supervisor concluded from. An
	 * unknown send no evidence settles gets no OUTCOME: after report_keep it stays unknown. */
	uint32_t job_id;
	uint64_t cookie;               /* as given at submit */
	int op;                        /* enum supervisor_op */
	int status;                    /* enum modem_err; modem_err_class() says whether to retry */
	int retry_after_ms;            /* a retryable failure: 0, another modem may take it now (or this
					* one, once healthy); > 0, this modem takes nothing before then
					* (back-off); -1, not before an operator acts */
	int reference;                 /* send: TP-MR, or -1 */
	const char *error;             /* human-readable reason when status != 0 */
	const struct modem_status *st; /* OP_STATUS */
	const struct modem_ident *id;  /* OP_IDENTIFY */
	const struct modem_caps *caps; /* what the modem answers, as far as its worker found out */
	/* SUPERVISOR_EV_SMS and SUPERVISOR_EV_REPORT */
	const struct modem_sms_in *in;
	/* SUPERVISOR_EV_REPORT: the send it reports on, matched by modem, reference and recipient */
	int matched;
	uint32_t sent_job_id;
	uint64_t sent_cookie;
	int outcome; /* modem_report_outcome(): 0 delivered, 1 pending, 2 failed */
	/* SUPERVISOR_EV_MODEM */
	int state; /* enum supervisor_modem_state */
	int healthy;
	const char *reason;
};

typedef void (*supervisor_cb)(const struct supervisor_event *ev, void *arg);

/* Creates a supervisor with no modems. The options are copied. Returns 0 or a modem_err. */
int supervisor_new(struct supervisor **out, const struct supervisor_options *opt, supervisor_cb cb, void *arg);
/* Adds a modem (before supervisor_start); the configuration is copied. Returns its index, or -1. */
int supervisor_add_modem(struct supervisor *sv, const struct modem_config *cfg);
/* Starts every worker. Returns 0, or -1 (errno) if the supervisor's own descriptors fail. */
int supervisor_start(struct supervisor *sv);
/* Stops every worker (closing its socket lets it close the modem; stragglers are killed after two
 * seconds) and frees everything. Jobs still queued are dropped without events. NULL is fine. */
void supervisor_free(struct supervisor *sv);

/* Readable when supervisor_process() has work. */
int supervisor_fd(const struct supervisor *sv);
/* Milliseconds until the next deadline or timer (-1: none); for callers that prefer a timeout to
 * polling supervisor_fd. */
int supervisor_timeout_ms(const struct supervisor *sv);
/* Handles whatever is pending without blocking; calls the callback. Returns 0. */
int supervisor_process(struct supervisor *sv);
/* Waits at most timeout_ms for work, then processes it. For callers without their own loop. */
int supervisor_run(struct supervisor *sv, int timeout_ms);

/* Queues one SMS on a modem (an index, or SUPERVISOR_ANY for the healthy modem with the shortest
 * queue). The message is checked first: a message over 140 octets fails here with
 * MODEM_E_TOO_LONG, as does any other immediate refusal (MODEM_E_UNAVAILABLE when no modem is
 * healthy, MODEM_E_QUEUE_FULL). On 0, *job_id identifies the SUPERVISOR_EV_JOB to come. */
int supervisor_send(struct supervisor *sv, int modem, const struct modem_sms_out *msg, uint64_t cookie,
		    uint32_t *job_id);
/* Queues a status, identify or reset request on one modem. */
int supervisor_request(struct supervisor *sv, int modem, int op, uint64_t cookie, uint32_t *job_id);

struct supervisor_modem_info {
	char name[32];
	int state; /* enum supervisor_modem_state */
	int healthy;
	char reason[128]; /* why not healthy, or the last error */
	int pid;          /* worker, 0 if none */
	int queued;       /* jobs waiting, the running one included */
	int restarts;     /* workers started after the first */
	int kills;        /* workers killed for missing a deadline */
	uint64_t sent, failed;
	struct modem_status last_status; /* from the last health check */
	struct modem_ident ident;        /* as read when the modem opened */
	struct modem_caps caps;          /* optional commands the modem answers (or lacks) */
	int retry_in_ms;                 /* as supervisor_retry_after_ms() */
};

int supervisor_modem_count(const struct supervisor *sv);
/* Index of the modem with that name, or -1. */
int supervisor_modem_find(const struct supervisor *sv, const char *name);
int supervisor_modem_info(const struct supervisor *sv, int modem, struct supervisor_modem_info *info);
/* When a modem can take a job: 0 now (ready; healthy or about to be checked, or still opening),
 * > 0 milliseconds until its back-off ends, -1 never without an operator (stopped). A caller with
 * a job no modem takes now waits for the smallest of these rather than failing the job: an
 * attempt that never reached a modem is not an attempt. */
int supervisor_retry_after_ms(const struct supervisor *sv, int modem);
const char *supervisor_state_name(int state);

#endif
