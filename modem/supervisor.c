/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The modem supervisor (see supervisor.h): worker processes, deadlines, the recovery ladder,
 * health checks, and status-report matching. Single-threaded and non-blocking; everything it
 * waits for is a descriptor in one epoll set or a time on one timerfd. */
#include "supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "worker_proto.h"

#define SV_TIMER_TAG UINT32_MAX
#define SV_SENT_MAX 1024

struct sv_job {
	struct sv_job *next;
	uint32_t id;
	uint64_t cookie;
	int wop;      /* enum wp_op */
	int internal; /* ours (health check, recovery): no event */
	int64_t queued_at;
	struct modem_sms_out out;
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
	int starts, kills;
	uint64_t sent, failed;
	struct modem_status last_status;
	struct modem_ident ident;
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
	char worker_path[PATH_MAX];
};

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

static void sv_set_state(struct sv_modem *m, int state, int healthy, const char *reason)
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

static void sv_emit_job(struct supervisor *sv, struct sv_modem *m, struct sv_job *job, int status, int reference,
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
	ev.error = error != NULL && error[0] != '\0' ? error : (status ? modem_strerror(status) : "");
	ev.st = st;
	ev.id = id;
	sv->cb(&ev, sv->arg);
}

/* Finishes a job that never got (or lost) its answer. Frees the job. */
static void sv_fail_job(struct supervisor *sv, struct sv_modem *m, struct sv_job *job, int status, const char *error)
{
	if (!job->internal && job->wop == WP_OP_SEND)
		m->failed++;
	sv_emit_job(sv, m, job, status, -1, error, NULL, NULL);
	free(job);
}

/* Fails every queued job; the queue is detached first so a callback may submit new ones. */
static void sv_fail_queue(struct supervisor *sv, struct sv_modem *m, int status, const char *error)
{
	struct sv_job *j = m->head, *next;

	m->head = m->tail = NULL;
	m->queued = 0;
	for (; j != NULL; j = next) {
		next = j->next;
		sv_fail_job(sv, m, j, status, error);
	}
}

static void sv_push(struct sv_modem *m, struct sv_job *job, int front)
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

static struct sv_job *sv_pop(struct sv_modem *m)
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

static struct sv_job *sv_job_new(struct supervisor *sv, int wop, int internal, uint64_t cookie)
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

static void sv_internal(struct supervisor *sv, struct sv_modem *m, int wop)
{
	struct sv_job *j = sv_job_new(sv, wop, 1, 0);
	if (j != NULL)
		sv_push(m, j, 1); /* recovery and health checks go before waiting messages */
}

/* Ends the worker at once: SIGKILL, then reap (it cannot take long after SIGKILL). */
static void sv_worker_kill(struct supervisor *sv, struct sv_modem *m)
{
	if (m->fd >= 0) {
		(void)epoll_ctl(sv->epfd, EPOLL_CTL_DEL, m->fd, NULL);
		close(m->fd);
		m->fd = -1;
	}
	if (m->pid > 0) {
		int st;
		(void)kill(m->pid, SIGKILL);
		while (waitpid(m->pid, &st, 0) < 0 && errno == EINTR)
			;
		m->pid = 0;
	}
}

static void sv_join_argv(char *buf, size_t len, const char *const *argv)
{
	size_t o = 0;
	buf[0] = '\0';
	for (int i = 0; argv[i] != NULL && o < len; i++) {
		int w = snprintf(buf + o, len - o, "%s%s", i ? " " : "", argv[i]);
		if (w < 0)
			break;
		o += (size_t)w;
	}
}

/* fork+exec of smswake-modem-worker with its end of a SOCK_SEQPACKET pair on fd 3. exec rather
 * than fork alone: the worker starts with a fresh libgammu (its static buffers), no copy of the
 * gateway's threads, locks or descriptors, and its own sanitizer runtime. */
static int sv_worker_start(struct supervisor *sv, struct sv_modem *m)
{
	static const char *const level_names[] = {"error", "warn", "info", "debug"};
	const char *argv[10];
	struct epoll_event ee;
	struct wp_msg *cfg;
	int sp[2], argc = 0, lvl = log_getlevel();
	pid_t pid;
	char cmd[256];

	argv[argc++] = sv->worker_path;
	argv[argc++] = "--fd";
	argv[argc++] = "3";
	argv[argc++] = "--log-level";
	argv[argc++] = level_names[lvl >= 0 && lvl <= 3 ? lvl : 2];
	argv[argc++] = "--name";
	argv[argc++] = m->cfg.name;
	if (sv->opt.worker_syslog)
		argv[argc++] = "--syslog";
	argv[argc] = NULL;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) != 0) {
		log_warn("modem %s: socketpair", m->cfg.name);
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		log_warn("modem %s: fork", m->cfg.name);
		close(sp[0]);
		close(sp[1]);
		return -1;
	}
	if (pid == 0) {
		/* Only async-signal-safe calls from here to exec. */
		sigset_t all;
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		/* A worker outlives a killed supervisor only as long as it takes to notice. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (sp[1] == 3) {
			int fl = fcntl(3, F_GETFD);
			fcntl(3, F_SETFD, fl & ~FD_CLOEXEC);
		} else if (dup2(sp[1], 3) < 0) {
			_exit(127);
		}
		syscall(SYS_close_range, 4U, ~0U, 0U);
		if (strchr(argv[0], '/') != NULL)
			execv(argv[0], (char *const *)argv);
		else
			execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(sp[1]);
	m->fd = sp[0];
	m->pid = pid;
	fcntl(m->fd, F_SETFL, fcntl(m->fd, F_GETFL) | O_NONBLOCK);
	memset(&ee, 0, sizeof(ee));
	ee.events = EPOLLIN;
	ee.data.u32 = (uint32_t)m->index;
	if (epoll_ctl(sv->epfd, EPOLL_CTL_ADD, m->fd, &ee) != 0) {
		log_warn("modem %s: epoll_ctl", m->cfg.name);
		sv_worker_kill(sv, m);
		return -1;
	}
	if (m->starts++ > 0)
		log_info("modem %s: worker restarted (pid %d)", m->cfg.name, (int)pid);
	sv_join_argv(cmd, sizeof(cmd), argv);
	log_debug("modem %s: started %s as pid %d", m->cfg.name, cmd, (int)pid);

	cfg = malloc(sizeof(*cfg));
	if (cfg == NULL) {
		sv_worker_kill(sv, m);
		return -1;
	}
	wp_msg_init(cfg, WP_CONFIG, WP_OP_NONE, 0);
	cfg->config = m->cfg;
	cfg->poll_ms = sv->opt.incoming_poll_ms;
	cfg->timeout_ms = sv->opt.init_timeout_ms;
	int rc = wp_send(m->fd, cfg);
	explicit_bzero(cfg, sizeof(*cfg));
	free(cfg);
	if (rc != 0) {
		log_warn("modem %s: sending the configuration to the worker", m->cfg.name);
		sv_worker_kill(sv, m);
		return -1;
	}
	sv_set_state(m, SUPERVISOR_MODEM_STARTING, 0, "opening");
	m->state_deadline = util_mono_ms() + sv->opt.init_timeout_ms;
	return 0;
}

static void sv_backoff(struct supervisor *sv, struct sv_modem *m, int delay_ms, const char *why)
{
	char reason[128];

	sv_worker_kill(sv, m);
	snprintf(reason, sizeof(reason), "%s; restart in %d ms", why, delay_ms);
	sv_set_state(m, SUPERVISOR_MODEM_BACKOFF, 0, reason);
	m->state_deadline = util_mono_ms() + delay_ms;
	/* Waiting messages go elsewhere rather than wait out the back-off. */
	sv_fail_queue(sv, m, MODEM_E_UNAVAILABLE, reason);
}

static void sv_stop(struct supervisor *sv, struct sv_modem *m, int status, const char *why)
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
static int sv_is_stop_error(int status)
{
	return status == MODEM_E_PIN_WRONG || status == MODEM_E_PUK_REQUIRED || status == MODEM_E_PIN_REQUIRED ||
	       status == MODEM_E_CONFIG;
}

/* The recovery ladder, one step per trouble: 1 reconnect, 2 restart the worker, 3 soft reset,
 * then restarts with exponential back-off. A step that needs a live worker falls through to a
 * restart when the worker is gone. Any success puts the modem back on step 0. */
static void sv_trouble(struct supervisor *sv, struct sv_modem *m, const char *why, int alive)
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

static int sv_digits(const char *number, char *out, size_t max)
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
static int sv_number_match(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), n = la < lb ? la : lb;
	if (la == lb)
		return strcmp(a, b) == 0;
	if (n < 7)
		return 0;
	return strcmp(a + la - n, b + lb - n) == 0;
}

static void sv_remember_sent(struct supervisor *sv, struct sv_modem *m, struct sv_job *job, int ref)
{
	struct sv_sent *s = &sv->sent[sv->sent_next];

	if (ref < 0 || !job->out.status_report)
		return;
	memset(s, 0, sizeof(*s));
	if (sv_digits(job->out.number, s->digits, sizeof(s->digits)) != 0)
		return;
	s->used = 1;
	s->modem = m->index;
	s->reference = ref;
	s->job_id = job->id;
	s->cookie = job->cookie;
	s->at = util_mono_ms();
	sv->sent_next = (sv->sent_next + 1) % SV_SENT_MAX;
}

static void sv_on_report(struct supervisor *sv, struct sv_modem *m, const struct wp_msg *msg)
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

static void sv_on_sms(struct supervisor *sv, struct sv_modem *m, const struct wp_msg *msg)
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

static void sv_on_ready(struct supervisor *sv, struct sv_modem *m, const struct wp_msg *msg)
{
	char why[WP_TEXT_MAX + 64];

	if (m->state != SUPERVISOR_MODEM_STARTING) {
		log_warnx("modem %s: unexpected READY from the worker", m->cfg.name);
		return;
	}
	if (msg->status == MODEM_OK) {
		m->ident = msg->id;
		log_info("modem %s: open (%s %s)", m->cfg.name, m->ident.manufacturer, m->ident.model);
		sv_set_state(m, SUPERVISOR_MODEM_READY, 0, "checking health");
		m->next_health = 0; /* healthy only once a health check says so */
		return;
	}
	snprintf(why, sizeof(why), "open failed: %s", msg->text[0] ? msg->text : modem_strerror(msg->status));
	if (sv_is_stop_error(msg->status)) {
		sv_stop(sv, m, msg->status, why);
		return;
	}
	sv_trouble(sv, m, why, 0);
}

static void sv_on_health(struct supervisor *sv, struct sv_modem *m, const struct wp_msg *msg)
{
	char why[128];

	m->last_status = msg->st;
	if (msg->status != MODEM_OK) {
		snprintf(why, sizeof(why), "health check failed: %s", modem_strerror(msg->status));
		sv_set_state(m, m->state, 0, why);
		if (modem_err_is_modem_fault(msg->status) && ++m->faults >= sv->opt.reconnect_after)
			sv_trouble(sv, m, why, 1);
		return;
	}
	if (modem_status_healthy(&msg->st, why, sizeof(why))) {
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

static void sv_on_result(struct supervisor *sv, struct sv_modem *m, const struct wp_msg *msg)
{
	struct sv_job *job = m->running;
	char why[WP_TEXT_MAX + 64];

	if (job == NULL || job->id != msg->job_id) {
		log_warnx("modem %s: result for job %u, which is not running", m->cfg.name, msg->job_id);
		return;
	}
	m->running = NULL;

	if (job->wop == WP_OP_STATUS && job->internal) {
		sv_on_health(sv, m, msg);
		free(job);
		return;
	}
	if (job->wop == WP_OP_SEND) {
		if (msg->status == MODEM_OK) {
			m->sent++;
			m->send_fails = 0;
			sv_remember_sent(sv, m, job, msg->reference);
		} else {
			m->failed++;
			if (modem_err_is_modem_fault(msg->status))
				m->send_fails++;
			log_info("modem %s: send to job %u failed: %s", m->cfg.name, job->id, msg->text);
		}
	}
	if (job->wop == WP_OP_STATUS)
		m->last_status = msg->st;
	if (msg->status == MODEM_OK && job->wop != WP_OP_RESET)
		m->faults = 0;
	if (msg->status == MODEM_OK && (job->wop == WP_OP_SEND || job->wop == WP_OP_IDENTIFY))
		m->level = 0;

	/* Recovery first, so that the callback sees the modem as it now is. */
	snprintf(why, sizeof(why), "%s failed: %s", wp_op_name(job->wop),
		 msg->text[0] ? msg->text : modem_strerror(msg->status));
	if (job->wop == WP_OP_RESET) {
		/* The worker exits after a reset; reopen once the modem has rebooted. */
		log_info("modem %s: soft reset %s; reopening in %d ms", m->cfg.name,
			 msg->status == MODEM_OK ? "done" : "failed", sv->opt.reset_wait_ms);
		sv_backoff(sv, m, sv->opt.reset_wait_ms, "soft reset");
	} else if (job->wop == WP_OP_RECONNECT && msg->status != MODEM_OK) {
		if (sv_is_stop_error(msg->status))
			sv_stop(sv, m, msg->status, why);
		else
			sv_trouble(sv, m, why, 0); /* the worker exits after a failed reconnect */
	} else if (msg->status == MODEM_E_PIN_REQUIRED || msg->status == MODEM_E_NO_SIM ||
		   msg->status == MODEM_E_PUK_REQUIRED) {
		/* The SIM lost its unlocked state (the modem rebooted on its own?): reopening
		 * enters the PIN once more, which is safe because it worked before. */
		if (msg->status == MODEM_E_PUK_REQUIRED)
			sv_stop(sv, m, msg->status, why);
		else
			sv_trouble(sv, m, why, 1);
	} else if (modem_err_is_modem_fault(msg->status) && ++m->faults >= sv->opt.reconnect_after) {
		sv_trouble(sv, m, why, 1);
	}
	sv_emit_job(sv, m, job, msg->status, msg->reference, msg->status != MODEM_OK ? msg->text : NULL, &msg->st,
		    &msg->id);
	free(job);
}

/* The worker's socket closed or broke: it exited or was killed behind our back. */
static void sv_on_worker_gone(struct supervisor *sv, struct sv_modem *m, const char *why)
{
	struct sv_job *job = m->running;

	m->running = NULL;
	sv_worker_kill(sv, m);
	if (m->state == SUPERVISOR_MODEM_STOPPED || m->state == SUPERVISOR_MODEM_BACKOFF) {
		if (job != NULL)
			sv_fail_job(sv, m, job, MODEM_E_UNAVAILABLE, why);
		return;
	}
	sv_trouble(sv, m, why, 0);
	if (job != NULL)
		sv_fail_job(sv, m, job, MODEM_E_IO, why);
}

static void sv_read_worker(struct supervisor *sv, struct sv_modem *m)
{
	struct wp_msg *msg = malloc(sizeof(*msg));
	int fd = m->fd;

	if (msg == NULL)
		return;
	/* Stop if the handling replaced the worker: the new one's frames come with its own event. */
	while (m->fd == fd && fd >= 0) {
		int rc = wp_recv(fd, msg);
		if (rc < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (rc != 0) {
			sv_on_worker_gone(sv, m, rc == 1 ? "worker exited" : "worker sent a bad frame");
			break;
		}
		switch (msg->type) {
		case WP_READY: sv_on_ready(sv, m, msg); break;
		case WP_RESULT: sv_on_result(sv, m, msg); break;
		case WP_EV_SMS: sv_on_sms(sv, m, msg); break;
		case WP_EV_REPORT: sv_on_report(sv, m, msg); break;
		default: log_warnx("modem %s: unexpected frame type %d from the worker", m->cfg.name, msg->type); break;
		}
	}
	free(msg);
}

static void sv_dispatch(struct supervisor *sv, struct sv_modem *m)
{
	struct wp_msg *msg;
	struct sv_job *job;
	int64_t now = util_mono_ms();
	int timeout;

	if (m->state != SUPERVISOR_MODEM_READY || m->running != NULL || m->head == NULL || m->fd < 0)
		return;
	msg = malloc(sizeof(*msg));
	if (msg == NULL)
		return;
	job = sv_pop(m);
	timeout = job->wop == WP_OP_SEND ? sv->opt.send_timeout_ms : sv->opt.op_timeout_ms;
	wp_msg_init(msg, WP_JOB, job->wop, job->id);
	/* The worker gives up a little before our deadline, so it normally answers with a timeout
	 * itself; the kill is for a worker stuck where it cannot. */
	msg->timeout_ms = timeout - timeout / 4;
	if (job->wop == WP_OP_SEND)
		msg->out = job->out;
	m->running = job;
	m->job_deadline = now + timeout;
	if (wp_send(m->fd, msg) != 0) {
		/* The worker is gone; the descriptor's hang-up will tell sv_read_worker. Make sure
		 * the deadline comes now in case it does not. */
		log_warn("modem %s: handing job %u to the worker", m->cfg.name, job->id);
		m->job_deadline = now;
	}
	free(msg);
}

static void sv_arm(struct supervisor *sv)
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

static void sv_timers(struct supervisor *sv)
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
			sv_fail_job(sv, m, job, MODEM_E_TIMEOUT, why);
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
			m->next_health = now + sv->opt.health_interval_ms;
			sv_internal(sv, m, WP_OP_STATUS);
		}
		/* Jobs that waited too long for a busy or restarting modem. */
		while (m->head != NULL && now >= m->head->queued_at + sv->opt.queue_timeout_ms) {
			struct sv_job *job = sv_pop(m);
			snprintf(why, sizeof(why), "waited %d ms for modem %s", sv->opt.queue_timeout_ms, m->cfg.name);
			sv_fail_job(sv, m, job, MODEM_E_UNAVAILABLE, why);
		}
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
	return 0;
}
