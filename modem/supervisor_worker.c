/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Worker processes of the modem supervisor: fork+exec of smswake-modem-worker, its socket, handing
 * it one job at a time, and what it answers (open, results, a worker that went away). */
#include "supervisor_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

/* Ends the worker at once: SIGKILL, then reap (it cannot take long after SIGKILL). */
void sv_worker_kill(struct supervisor *sv, struct sv_modem *m)
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
int sv_worker_start(struct supervisor *sv, struct sv_modem *m)
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

void sv_on_ready(struct supervisor *sv, struct sv_modem *m, const struct wp_msg *msg)
{
	char why[WP_TEXT_MAX + 64];

	if (m->state != SUPERVISOR_MODEM_STARTING) {
		log_warnx("modem %s: unexpected READY from the worker", m->cfg.name);
		return;
	}
	if (msg->status == MODEM_OK) {
		char caps[256];
		m->ident = msg->id;
		m->caps = msg->caps;
		modem_caps_format(&m->caps, caps, sizeof(caps));
		if (caps[0] != '\0')
			log_info("modem %s: %s", m->cfg.name, caps);
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

void sv_on_result(struct supervisor *sv, struct sv_modem *m, const struct wp_msg *msg)
{
	struct sv_job *job = m->running;
	char why[WP_TEXT_MAX + 64];

	if (job == NULL || job->id != msg->job_id) {
		log_warnx("modem %s: result for job %u, which is not running", m->cfg.name, msg->job_id);
		return;
	}
	m->running = NULL;
	if (msg->caps.probed != 0 && memcmp(&msg->caps, &m->caps, sizeof(m->caps)) != 0) {
		char caps[256];
		m->caps = msg->caps;
		modem_caps_format(&m->caps, caps, sizeof(caps));
		log_info("modem %s: %s", m->cfg.name, caps);
	}

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
		} else if (msg->status == MODEM_E_MAYBE_SENT) {
			m->send_fails++;
			sv_maybe_add(sv, m, job);
		} else {
			m->failed++;
			if (modem_err_is_modem_fault(msg->status))
				m->send_fails++;
			log_info("modem %s: send to job %u failed: %s", m->cfg.name, job->id, msg->text);
		}
		/* What reached the modem used a message reference, or may have: the references tell
		 * what became of sends whose outcome is unknown. */
		if (job->handed || msg->status == MODEM_OK)
			sv_maybe_on_send(sv, m, msg->status, msg->reference);
	}
	if (job->wop == WP_OP_RESET)
		sv_maybe_reset(m);
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
			sv_fail_job(sv, m, job, sv_lost_job_status(sv, m, job, MODEM_E_UNAVAILABLE), why);
		return;
	}
	sv_trouble(sv, m, why, 0);
	if (job != NULL)
		sv_fail_job(sv, m, job, sv_lost_job_status(sv, m, job, MODEM_E_IO), why);
}

void sv_read_worker(struct supervisor *sv, struct sv_modem *m)
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
		case WP_PROGRESS: sv_on_progress(sv, m, msg); break;
		default: log_warnx("modem %s: unexpected frame type %d from the worker", m->cfg.name, msg->type); break;
		}
	}
	free(msg);
}

void sv_dispatch(struct supervisor *sv, struct sv_modem *m)
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
	} else if (job->wop == WP_OP_SEND) {
		log_debug("modem %s: job %llu handed to the worker as %u", m->cfg.name, (unsigned long long)job->cookie,
			  job->id);
	}
	free(msg);
}
