/* SPDX-License-Identifier: GPL-2.0-or-later */
/* smswake-modem-worker: one modem, one libgammu state machine, one process, one thread. Started by
 * the supervisor with its end of a socketpair on fd 3; takes jobs one at a time, and between jobs
 * reads, reports and deletes stored incoming messages and status reports. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "modem.h"
#include "util.h"
#include "version.h"
#include "worker_proto.h"

#define WORKER_TICK_MS 200
#define WORKER_DRAIN_MAX 16

/* Faults for the supervisor's tests, named in SMSWAKE_MODEM_TEST_FAULT as "NAME:FAULT,...":
 * hang-init, hang-send (before the SMS reaches the modem), hang-after-handover (after it did),
 * hang-status, crash-send. Never set in production. */
struct worker_faults {
	int hang_init, hang_send, hang_after_handover, hang_status, crash_send;
};

struct worker {
	int fd;
	struct modem *m;
	struct modem_config cfg;
	int poll_ms;
	int64_t next_drain;
	struct worker_faults faults;
};

static void worker_hang(const char *what)
{
	log_warnx("test fault: hanging in %s", what);
	for (;;)
		pause();
}

static void worker_read_faults(struct worker *w)
{
	const char *env = getenv("SMSWAKE_MODEM_TEST_FAULT");
	char buf[256], *save = NULL, *tok;

	if (env == NULL || strlen(env) >= sizeof(buf))
		return;
	memcpy(buf, env, strlen(env) + 1);
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(tok, ':');
		if (colon == NULL)
			continue;
		*colon = '\0';
		if (strcmp(tok, w->cfg.name) != 0 && strcmp(tok, "*") != 0)
			continue;
		if (strcmp(colon + 1, "hang-init") == 0)
			w->faults.hang_init = 1;
		else if (strcmp(colon + 1, "hang-send") == 0)
			w->faults.hang_send = 1;
		else if (strcmp(colon + 1, "hang-after-handover") == 0)
			w->faults.hang_after_handover = 1;
		else if (strcmp(colon + 1, "hang-status") == 0)
			w->faults.hang_status = 1;
		else if (strcmp(colon + 1, "crash-send") == 0)
			w->faults.crash_send = 1;
	}
}

static int worker_reply(struct worker *w, struct wp_msg *msg)
{
	if (wp_send(w->fd, msg) != 0) {
		log_warn("worker %s: writing to the supervisor", w->cfg.name);
		return -1;
	}
	return 0;
}

/* Whether the supervisor has handed over a job, without taking it. */
static int worker_job_waiting(const struct worker *w)
{
	struct pollfd pfd = {.fd = w->fd, .events = POLLIN};
	return poll(&pfd, 1, 0) > 0;
}

/* Reads stored messages, reports each, and deletes it only once the report is written: a crash
 * in between means the message is reported twice, never lost. A job that arrives meanwhile is
 * not kept waiting for the rest of the storage: the supervisor's deadline for it is already
 * running, so the drain stops after the message at hand (returning 1) and resumes once the job
 * is done. Returns 0 when the storage was read to its end, -1 when the supervisor is gone. */
static int worker_drain(struct worker *w)
{
	struct modem_sms_in *in = malloc(sizeof(*in));
	struct wp_msg *ev = malloc(sizeof(*ev));
	int rc, n = 0, ret = 0;

	if (in == NULL || ev == NULL) {
		free(in);
		free(ev);
		return 0;
	}
	memset(in, 0, sizeof(*in));
	rc = modem_read_next(w->m, in, 1);
	while (rc == MODEM_OK && n < WORKER_DRAIN_MAX) {
		if (in->type == MODEM_IN_DELIVER || in->type == MODEM_IN_STATUS_REPORT) {
			wp_msg_init(ev, in->type == MODEM_IN_DELIVER ? WP_EV_SMS : WP_EV_REPORT, WP_OP_NONE, 0);
			ev->in = *in;
			if (worker_reply(w, ev) != 0) {
				ret = -1;
				break;
			}
			int d = modem_delete(w->m, in);
			if (d != MODEM_OK) {
				log_warnx("worker %s: deleting message %d: %s", w->cfg.name, in->location,
					  modem_strerror(d));
				break;
			}
			n++;
		}
		if (worker_job_waiting(w)) {
			ret = 1;
			rc = MODEM_E_EMPTY;
			break;
		}
		rc = modem_read_next(w->m, in, 0);
	}
	if (rc != MODEM_OK && rc != MODEM_E_EMPTY && rc != MODEM_E_NOT_SUPPORTED)
		log_debug("worker %s: reading stored messages: %s", w->cfg.name, modem_strerror(rc));
	if (n > 0)
		log_debug("worker %s: %d stored message(s) reported and deleted", w->cfg.name, n);
	free(in);
	free(ev);
	return ret;
}

/* A send in two steps, with the supervisor told in between that the SMS is the modem's now: if
 * this worker dies before the modem answers, the send must not be called failed (it may have
 * gone out). */
static int worker_send(struct worker *w, const struct wp_msg *job, struct wp_msg *res, int timeout)
{
	int64_t deadline = util_mono_ms() + timeout, left;
	struct wp_msg *progress;
	int rc;

	log_debug("worker %s: job %u: sending", w->cfg.name, job->job_id);
	rc = modem_send_start(w->m, &job->out, res->text, sizeof(res->text));
	if (rc != MODEM_OK)
		return rc;
	log_debug("worker %s: job %u: handed to the modem", w->cfg.name, job->job_id);
	progress = malloc(sizeof(*progress));
	if (progress != NULL) {
		wp_msg_init(progress, WP_PROGRESS, WP_OP_SEND, job->job_id);
		(void)worker_reply(w, progress);
		free(progress);
	}
	if (w->faults.hang_after_handover)
		worker_hang("send, after the handover");
	left = deadline - util_mono_ms();
	rc = modem_send_finish(w->m, left > 0 ? (int)left : 0, &res->reference, res->text, sizeof(res->text));
	log_debug("worker %s: job %u: the modem answered: %s", w->cfg.name, job->job_id, modem_strerror(rc));
	return rc;
}

/* Runs one job and answers it. Returns 1 when the worker must exit afterwards. */
static int worker_job(struct worker *w, const struct wp_msg *job)
{
	struct wp_msg *res = malloc(sizeof(*res));
	int rc = MODEM_OK, exit_after = 0;
	int timeout = job->timeout_ms > 0 ? job->timeout_ms : 30000;

	if (res == NULL)
		return 1;
	wp_msg_init(res, WP_RESULT, job->op, job->job_id);
	switch (job->op) {
	case WP_OP_SEND:
		if (w->faults.crash_send)
			abort();
		if (w->faults.hang_send)
			worker_hang("send");
		rc = worker_send(w, job, res, timeout);
		break;
	case WP_OP_STATUS:
		if (w->faults.hang_status)
			worker_hang("status");
		rc = modem_get_status(w->m, &res->st);
		break;
	case WP_OP_IDENTIFY: rc = modem_identify(w->m, &res->id); break;
	case WP_OP_RESET:
		rc = modem_reset(w->m);
		/* The modem reboots (a USB modem even leaves the bus): this connection is done. */
		exit_after = 1;
		break;
	case WP_OP_RECONNECT:
		rc = modem_reconnect(w->m, res->text, sizeof(res->text));
		if (rc != MODEM_OK)
			exit_after = 1;
		break;
	case WP_OP_DRAIN: w->next_drain = 0; break;
	default: rc = MODEM_E_INVAL; break;
	}
	res->status = rc;
	if (rc != MODEM_OK && res->text[0] == '\0')
		snprintf(res->text, sizeof(res->text), "%s", modem_strerror(rc));
	modem_get_caps(w->m, &res->caps);
	if (worker_reply(w, res) != 0)
		exit_after = 1;
	free(res);
	return exit_after;
}

static int worker_read_config(struct worker *w)
{
	struct wp_msg *msg = malloc(sizeof(*msg));
	struct pollfd pfd = {.fd = w->fd, .events = POLLIN};
	int ret = -1;

	if (msg == NULL)
		return -1;
	if (poll(&pfd, 1, 30000) == 1 && wp_recv(w->fd, msg) == 0 && msg->type == WP_CONFIG) {
		w->cfg = msg->config;
		w->poll_ms = msg->poll_ms > 0 ? msg->poll_ms : 10000;
		ret = 0;
	}
	explicit_bzero(msg, sizeof(*msg));
	free(msg);
	return ret;
}

static int worker_open(struct worker *w)
{
	struct wp_msg *ready = malloc(sizeof(*ready));
	int rc;

	if (ready == NULL)
		return -1;
	wp_msg_init(ready, WP_READY, WP_OP_NONE, 0);
	if (w->faults.hang_init)
		worker_hang("init");
	rc = modem_open(&w->m, &w->cfg, ready->text, sizeof(ready->text));
	/* Our copy of the PIN is no longer needed; the modem library keeps its own. */
	explicit_bzero(w->cfg.pin, sizeof(w->cfg.pin));
	if (rc == MODEM_OK && modem_identify(w->m, &ready->id) != MODEM_OK)
		memset(&ready->id, 0, sizeof(ready->id));
	if (rc == MODEM_OK)
		modem_get_caps(w->m, &ready->caps);
	ready->status = rc;
	if (rc != MODEM_OK && ready->text[0] == '\0')
		snprintf(ready->text, sizeof(ready->text), "%s", modem_strerror(rc));
	if (worker_reply(w, ready) != 0 && rc == MODEM_OK)
		rc = MODEM_E_IO;
	free(ready);
	return rc;
}

static void worker_loop(struct worker *w)
{
	struct wp_msg *job = malloc(sizeof(*job));
	int modem_hup = 0;

	if (job == NULL)
		return;
	w->next_drain = 0;
	for (;;) {
		/* The modem's descriptor is waited on with the supervisor's: Gammu's own read waits up
		 * to 50 ms when the modem is silent, and a job arriving meanwhile would wait as long.
		 * Once it hangs up, Gammu is asked every tick as without one (no busy loop). */
		struct pollfd pfd[2] = {{.fd = w->fd, .events = POLLIN},
					{.fd = modem_hup ? -1 : modem_fd(w->m), .events = POLLIN}};
		int r = poll(pfd, 2, WORKER_TICK_MS);
		if (r < 0 && errno != EINTR)
			break;
		if (pfd[1].revents & (POLLERR | POLLHUP | POLLNVAL))
			modem_hup = 1;
		if (r > 0 && (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			int rc = wp_recv(w->fd, job);
			if (rc == 1)
				break; /* the supervisor closed: we are done */
			if (rc < 0) {
				if (errno == EAGAIN || errno == EINTR)
					continue;
				log_warn("worker %s: reading a job", w->cfg.name);
				break;
			}
			if (job->type != WP_JOB) {
				log_warnx("worker %s: unexpected frame type %d", w->cfg.name, job->type);
				continue;
			}
			if (worker_job(w, job))
				break;
		} else if (pfd[1].fd < 0 || pfd[1].revents != 0) {
			/* Let Gammu see unsolicited +CMTI/+CDSI lines. */
			modem_poll(w->m);
		}
		if (!worker_job_waiting(w) && (modem_incoming_signalled(w->m) || util_mono_ms() >= w->next_drain)) {
			int d = worker_drain(w);
			if (d < 0)
				break;
			/* The poll interval runs from the end of a drain (a slow modem's can take seconds);
			 * a drain cut short for a job goes on right after it. */
			w->next_drain = d == 1 ? 0 : util_mono_ms() + w->poll_ms;
		}
	}
	free(job);
}

/* --help prints this on stdout (exit 0), a mistake on stderr (exit 2). */
static void usage_to(FILE *f)
{
	fprintf(f, "usage: smswake-modem-worker [--fd N] [--log-level LEVEL] [--syslog] [--name NAME]\n"
		   "       smswake-modem-worker --help | --version\n"
		   "Started by the smswake modem supervisor, not by hand.\n");
}

static void usage(void)
{
	usage_to(stderr);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"fd", required_argument, NULL, 'f'},
		{"log-level", required_argument, NULL, 'l'},
		{"syslog", no_argument, NULL, 's'},
		{"name", required_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, OPT_VERSION},
		{NULL, 0, NULL, 0},
	};
	struct worker w;
	int64_t v;
	int c, level = LOG_LEVEL_INFO, use_syslog = 0, rc;

	memset(&w, 0, sizeof(w));
	w.fd = 3;
	while ((c = getopt_long(argc, argv, "f:l:sn:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (util_parse_i64(optarg, 0, 1 << 20, &v) != 0) {
				usage();
				return 2;
			}
			w.fd = (int)v;
			break;
		case 'l':
			level = log_level_parse(optarg);
			if (level < 0) {
				usage();
				return 2;
			}
			break;
		case 's': use_syslog = 1; break;
		case 'n': break; /* only to make ps(1) output readable */
		case 'h': usage_to(stdout); return 0;
		case OPT_VERSION: return version_print("smswake-modem-worker");
		default: usage(); return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "smswake-modem-worker: unexpected argument '%s'\n", argv[optind]);
		usage();
		return 2;
	}
	log_init("smswake-modem-worker", level, use_syslog);
	signal(SIGPIPE, SIG_IGN);

	if (worker_read_config(&w) != 0) {
		log_warnx("no configuration from the supervisor");
		return 2;
	}
	worker_read_faults(&w);
	rc = worker_open(&w);
	if (rc != MODEM_OK) {
		modem_close(w.m);
		return 1;
	}
	log_debug("worker %s: modem open", w.cfg.name);
	worker_loop(&w);
	modem_close(w.m);
	close(w.fd);
	return 0;
}
