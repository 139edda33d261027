/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The modem supervisor's public API (see supervisor.h): options, modems, start and stop, submitting
 * jobs, the event loop that runs everything else, and the state it shows callers. */
#include "supervisor_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

void supervisor_options_init(struct supervisor_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->health_interval_ms = 60000;
	opt->send_timeout_ms = 60000;
	opt->op_timeout_ms = 30000;
	opt->init_timeout_ms = 60000;
	opt->queue_timeout_ms = 120000;
	opt->queue_max = 64;
	opt->reconnect_after = 3;
	opt->unhealthy_after = 2;
	opt->backoff_min_ms = 5000;
	opt->backoff_max_ms = 300000;
	opt->reset_wait_ms = 20000;
	opt->incoming_poll_ms = 10000;
	opt->report_keep_ms = 3 * 86400 * 1000;
}

/* "250ms", or anything util_parse_duration takes. */
static int sv_parse_ms(const char *s, int *out)
{
	size_t n = strlen(s);
	int64_t v;

	if (n > 2 && strcmp(s + n - 2, "ms") == 0) {
		char num[24];
		if (n - 2 >= sizeof(num))
			return -1;
		memcpy(num, s, n - 2);
		num[n - 2] = '\0';
		if (util_parse_i64(num, 1, INT32_MAX, &v) != 0)
			return -1;
	} else {
		if (util_parse_duration(s, &v) != 0 || v < 1 || v > INT32_MAX / 1000)
			return -1;
		v *= 1000;
	}
	*out = (int)v;
	return 0;
}

int supervisor_options_set(struct supervisor_options *opt, const char *key, const char *value)
{
	static const struct {
		const char *key;
		size_t off;
		int count; /* 1: a plain number; 0: a duration */
	} keys[] = {
		{"health_interval", offsetof(struct supervisor_options, health_interval_ms), 0},
		{"send_timeout", offsetof(struct supervisor_options, send_timeout_ms), 0},
		{"op_timeout", offsetof(struct supervisor_options, op_timeout_ms), 0},
		{"init_timeout", offsetof(struct supervisor_options, init_timeout_ms), 0},
		{"queue_timeout", offsetof(struct supervisor_options, queue_timeout_ms), 0},
		{"backoff_min", offsetof(struct supervisor_options, backoff_min_ms), 0},
		{"backoff_max", offsetof(struct supervisor_options, backoff_max_ms), 0},
		{"reset_wait", offsetof(struct supervisor_options, reset_wait_ms), 0},
		{"incoming_poll", offsetof(struct supervisor_options, incoming_poll_ms), 0},
		{"report_keep", offsetof(struct supervisor_options, report_keep_ms), 0},
		{"queue_max", offsetof(struct supervisor_options, queue_max), 1},
		{"reconnect_after", offsetof(struct supervisor_options, reconnect_after), 1},
		{"unhealthy_after", offsetof(struct supervisor_options, unhealthy_after), 1},
	};
	int64_t v;
	int ms;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		int *field = (int *)(void *)((char *)opt + keys[i].off);
		if (strcmp(key, keys[i].key) != 0)
			continue;
		if (keys[i].count) {
			if (util_parse_i64(value, 1, 100000, &v) != 0)
				return -1;
			*field = (int)v;
		} else {
			if (sv_parse_ms(value, &ms) != 0)
				return -1;
			*field = ms;
		}
		return 0;
	}
	if (strcmp(key, "worker") == 0) {
		size_t n = strlen(value);
		if (n >= sizeof(opt->worker_path))
			return -1;
		memcpy(opt->worker_path, value, n + 1);
		return 0;
	}
	if (strcmp(key, "worker_syslog") == 0)
		return util_parse_bool(value, &opt->worker_syslog);
	return -1;
}

const char *supervisor_state_name(int state)
{
	switch (state) {
	case SUPERVISOR_MODEM_STARTING: return "starting";
	case SUPERVISOR_MODEM_READY: return "ready";
	case SUPERVISOR_MODEM_BACKOFF: return "backoff";
	case SUPERVISOR_MODEM_STOPPED: return "stopped";
	default: return "unknown";
	}
}

static void sv_notify(struct supervisor *sv)
{
	for (int i = 0; i < sv->n; i++) {
		struct sv_modem *m = &sv->modems[i];
		struct supervisor_event ev;
		if (!m->notify)
			continue;
		m->notify = 0;
		if (sv->cb == NULL)
			continue;
		memset(&ev, 0, sizeof(ev));
		ev.type = SUPERVISOR_EV_MODEM;
		ev.modem = m->index;
		ev.modem_name = m->cfg.name;
		ev.state = m->state;
		ev.healthy = m->healthy;
		ev.reason = m->reason;
		sv->cb(&ev, sv->arg);
	}
}

int supervisor_process(struct supervisor *sv)
{
	struct epoll_event evs[16];
	int n;

	if (!sv->started)
		return 0;
	n = epoll_wait(sv->epfd, evs, 16, 0);
	for (int i = 0; i < n; i++) {
		uint32_t tag = evs[i].data.u32;
		if (tag == SV_TIMER_TAG) {
			uint64_t ticks;
			(void)!read(sv->tfd, &ticks, sizeof(ticks));
			continue;
		}
		if ((int)tag < sv->n)
			sv_read_worker(sv, &sv->modems[tag]);
	}
	sv_timers(sv);
	for (int i = 0; i < sv->n; i++)
		sv_dispatch(sv, &sv->modems[i]);
	sv_notify(sv);
	/* The callbacks may have queued jobs. */
	for (int i = 0; i < sv->n; i++)
		sv_dispatch(sv, &sv->modems[i]);
	sv_arm(sv);
	return 0;
}

int supervisor_run(struct supervisor *sv, int timeout_ms)
{
	struct epoll_event ev;
	int t = supervisor_timeout_ms(sv);

	if (t < 0 || t > timeout_ms)
		t = timeout_ms;
	/* An epoll descriptor can itself be waited on with epoll_wait. */
	if (epoll_wait(sv->epfd, &ev, 1, t) < 0 && errno != EINTR)
		return -1;
	return supervisor_process(sv);
}

int supervisor_fd(const struct supervisor *sv)
{
	return sv->epfd;
}

int supervisor_timeout_ms(const struct supervisor *sv)
{
	struct itimerspec its;

	/* timerfd_gettime gives the time left, even for an absolute timer. */
	if (sv->tfd < 0 || timerfd_gettime(sv->tfd, &its) != 0)
		return -1;
	if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
		return -1;
	return (int)(its.it_value.tv_sec * 1000 + its.it_value.tv_nsec / 1000000);
}

int supervisor_new(struct supervisor **out, const struct supervisor_options *opt, supervisor_cb cb, void *arg)
{
	struct supervisor *sv = calloc(1, sizeof(*sv));

	*out = NULL;
	if (sv == NULL)
		return MODEM_E_NOMEM;
	sv->opt = *opt;
	sv->cb = cb;
	sv->arg = arg;
	sv->epfd = sv->tfd = -1;
	*out = sv;
	return MODEM_OK;
}

int supervisor_add_modem(struct supervisor *sv, const struct modem_config *cfg)
{
	struct sv_modem *mm;

	if (sv->started || cfg->device[0] == '\0' || cfg->name[0] == '\0' || supervisor_modem_find(sv, cfg->name) >= 0)
		return -1;
	mm = realloc(sv->modems, sizeof(*mm) * (size_t)(sv->n + 1));
	if (mm == NULL)
		return -1;
	sv->modems = mm;
	mm = &sv->modems[sv->n];
	memset(mm, 0, sizeof(*mm));
	mm->index = sv->n;
	mm->cfg = *cfg;
	mm->fd = -1;
	mm->last_ref = -1;
	mm->state = SUPERVISOR_MODEM_BACKOFF;
	mm->last_status.sim = MODEM_SIM_UNKNOWN;
	return sv->n++;
}

/* Default worker: next to the running program, else found on PATH. */
static void sv_find_worker(struct supervisor *sv)
{
	char self[PATH_MAX];
	ssize_t n;

	if (sv->opt.worker_path[0] != '\0') {
		snprintf(sv->worker_path, sizeof(sv->worker_path), "%s", sv->opt.worker_path);
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash != NULL) {
			*slash = '\0';
			if ((size_t)snprintf(sv->worker_path, sizeof(sv->worker_path), "%s/smswake-modem-worker",
					     self) < sizeof(sv->worker_path) &&
			    access(sv->worker_path, X_OK) == 0)
				return;
		}
	}
	snprintf(sv->worker_path, sizeof(sv->worker_path), "smswake-modem-worker");
}

int supervisor_start(struct supervisor *sv)
{
	struct epoll_event ee;

	if (sv->started)
		return 0;
	sv_find_worker(sv);
	sv->epfd = epoll_create1(EPOLL_CLOEXEC);
	sv->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (sv->epfd < 0 || sv->tfd < 0)
		return -1;
	memset(&ee, 0, sizeof(ee));
	ee.events = EPOLLIN;
	ee.data.u32 = SV_TIMER_TAG;
	if (epoll_ctl(sv->epfd, EPOLL_CTL_ADD, sv->tfd, &ee) != 0)
		return -1;
	sv->started = 1;
	for (int i = 0; i < sv->n; i++) {
		struct sv_modem *m = &sv->modems[i];
		if (sv_worker_start(sv, m) != 0)
			sv_trouble(sv, m, "cannot start a worker", 0);
	}
	sv_arm(sv);
	return 0;
}

void supervisor_free(struct supervisor *sv)
{
	int64_t until;

	if (sv == NULL)
		return;
	/* Closing the socket asks each worker to close its modem and exit. */
	for (int i = 0; i < sv->n; i++) {
		struct sv_modem *m = &sv->modems[i];
		if (m->fd >= 0) {
			close(m->fd);
			m->fd = -1;
		}
	}
	until = util_mono_ms() + 2000;
	for (int i = 0; i < sv->n; i++) {
		struct sv_modem *m = &sv->modems[i];
		while (m->pid > 0) {
			int st;
			pid_t r = waitpid(m->pid, &st, WNOHANG);
			if (r == m->pid || (r < 0 && errno != EINTR)) {
				m->pid = 0;
				break;
			}
			if (util_mono_ms() >= until) {
				kill(m->pid, SIGKILL);
				while (waitpid(m->pid, &st, 0) < 0 && errno == EINTR)
					;
				m->pid = 0;
				break;
			}
			usleep(10000);
		}
		struct sv_job *j = m->head, *next;
		for (; j != NULL; j = next) {
			next = j->next;
			free(j);
		}
		free(m->running);
		explicit_bzero(m->cfg.pin, sizeof(m->cfg.pin));
	}
	if (sv->epfd >= 0)
		close(sv->epfd);
	if (sv->tfd >= 0)
		close(sv->tfd);
	free(sv->modems);
	free(sv);
}

static int sv_pick(struct supervisor *sv)
{
	int best = -1;
	for (int i = 0; i < sv->n; i++) {
		struct sv_modem *m = &sv->modems[i];
		int load = m->queued + (m->running != NULL);
		if (m->state != SUPERVISOR_MODEM_READY || !m->healthy || m->queued >= sv->opt.queue_max)
			continue;
		if (best < 0 || load < sv->modems[best].queued + (sv->modems[best].running != NULL))
			best = i;
	}
	return best;
}

static int sv_submit(struct supervisor *sv, int modem, struct sv_job *job)
{
	struct sv_modem *m;

	if (modem == SUPERVISOR_ANY) {
		modem = sv_pick(sv);
		if (modem < 0) {
			free(job);
			return MODEM_E_UNAVAILABLE;
		}
	}
	if (modem < 0 || modem >= sv->n) {
		free(job);
		return MODEM_E_INVAL;
	}
	m = &sv->modems[modem];
	if (!sv->started || m->state == SUPERVISOR_MODEM_BACKOFF || m->state == SUPERVISOR_MODEM_STOPPED) {
		free(job);
		return MODEM_E_UNAVAILABLE;
	}
	if (m->queued >= sv->opt.queue_max) {
		free(job);
		return MODEM_E_QUEUE_FULL;
	}
	sv_push(m, job, 0);
	sv_dispatch(sv, m);
	sv_arm(sv);
	return MODEM_OK;
}

int supervisor_send(struct supervisor *sv, int modem, const struct modem_sms_out *msg, uint64_t cookie,
		    uint32_t *job_id)
{
	struct sv_job *job;
	int rc;

	/* Refuse what can never be sent before it takes a place in any queue. */
	rc = modem_sms_check(msg);
	if (rc != MODEM_OK)
		return rc;
	job = sv_job_new(sv, WP_OP_SEND, 0, cookie);
	if (job == NULL)
		return MODEM_E_NOMEM;
	job->out = *msg;
	if (job_id != NULL)
		*job_id = job->id;
	return sv_submit(sv, modem, job);
}

int supervisor_request(struct supervisor *sv, int modem, int op, uint64_t cookie, uint32_t *job_id)
{
	struct sv_job *job;
	int wop;

	switch (op) {
	case SUPERVISOR_OP_STATUS: wop = WP_OP_STATUS; break;
	case SUPERVISOR_OP_IDENTIFY: wop = WP_OP_IDENTIFY; break;
	case SUPERVISOR_OP_RESET: wop = WP_OP_RESET; break;
	default: return MODEM_E_INVAL;
	}
	if (modem == SUPERVISOR_ANY)
		return MODEM_E_INVAL;
	job = sv_job_new(sv, wop, 0, cookie);
	if (job == NULL)
		return MODEM_E_NOMEM;
	if (job_id != NULL)
		*job_id = job->id;
	return sv_submit(sv, modem, job);
}

int supervisor_modem_count(const struct supervisor *sv)
{
	return sv->n;
}

int supervisor_modem_find(const struct supervisor *sv, const char *name)
{
	for (int i = 0; i < sv->n; i++)
		if (strcmp(sv->modems[i].cfg.name, name) == 0)
			return i;
	return -1;
}

int supervisor_modem_info(const struct supervisor *sv, int modem, struct supervisor_modem_info *info)
{
	const struct sv_modem *m;

	if (modem < 0 || modem >= sv->n)
		return -1;
	m = &sv->modems[modem];
	memset(info, 0, sizeof(*info));
	snprintf(info->name, sizeof(info->name), "%s", m->cfg.name);
	info->state = m->state;
	info->healthy = m->healthy;
	snprintf(info->reason, sizeof(info->reason), "%s", m->reason);
	info->pid = (int)m->pid;
	info->queued = m->queued + (m->running != NULL);
	info->restarts = m->starts > 0 ? m->starts - 1 : 0;
	info->kills = m->kills;
	info->sent = m->sent;
	info->failed = m->failed;
	info->last_status = m->last_status;
	info->ident = m->ident;
	info->caps = m->caps;
	info->retry_in_ms = supervisor_retry_after_ms(sv, modem);
	return 0;
}

int supervisor_retry_after_ms(const struct supervisor *sv, int modem)
{
	const struct sv_modem *m;
	int64_t left;

	if (modem < 0 || modem >= sv->n)
		return -1;
	m = &sv->modems[modem];
	switch (m->state) {
	case SUPERVISOR_MODEM_STOPPED: return -1;
	case SUPERVISOR_MODEM_BACKOFF: left = m->state_deadline - util_mono_ms(); return left > 0 ? (int)left : 1;
	default: return 0;
	}
}
