/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The serial side of a simulated modem: its pseudo-terminal, the stable RUNDIR/modem-NUMBER
 * symlink, buffered non-blocking I/O, and the link drop of a reset. */
#include "sim.h"

#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "log.h"

int sim_pty_open(struct sim_modem *m)
{
	struct termios tio;
	char tmp[PATH_MAX + 8];
	int fl;

	if (openpty(&m->master, &m->slave, NULL, NULL, NULL) != 0) {
		log_warn("modem %s: openpty", m->number);
		m->master = m->slave = -1;
		return -1;
	}
	fcntl(m->master, F_SETFD, FD_CLOEXEC);
	fcntl(m->slave, F_SETFD, FD_CLOEXEC);
	fl = fcntl(m->master, F_GETFL);
	fcntl(m->master, F_SETFL, fl | O_NONBLOCK);
	/* Raw, so the line discipline neither echoes nor translates: the modem does its own echo. */
	if (tcgetattr(m->slave, &tio) == 0) {
		cfmakeraw(&tio);
		cfsetispeed(&tio, B115200);
		cfsetospeed(&tio, B115200);
		tcsetattr(m->slave, TCSANOW, &tio);
	}
	if (ptsname_r(m->master, m->pty_path, sizeof(m->pty_path)) != 0) {
		log_warn("modem %s: ptsname", m->number);
		goto fail;
	}
	if ((size_t)snprintf(m->link_path, sizeof(m->link_path), "%s/modem-%s", m->net->rundir, m->number) >=
	    sizeof(m->link_path)) {
		log_warnx("modem %s: run directory path too long", m->number);
		goto fail;
	}
	/* Replace the link atomically so a client never finds it missing outside a reset. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", m->link_path);
	unlink(tmp);
	if (symlink(m->pty_path, tmp) != 0 || rename(tmp, m->link_path) != 0) {
		log_warn("modem %s: symlink %s", m->number, m->link_path);
		unlink(tmp);
		goto fail;
	}
	log_debug("modem %s on %s", m->number, m->pty_path);
	return 0;
fail:
	close(m->master);
	close(m->slave);
	m->master = m->slave = -1;
	return -1;
}

void sim_pty_close(struct sim_modem *m)
{
	if (m->link_path[0] != '\0')
		unlink(m->link_path);
	if (m->master >= 0)
		close(m->master);
	if (m->slave >= 0)
		close(m->slave);
	m->master = m->slave = -1;
}

void sim_modem_flush(struct sim_modem *m)
{
	size_t off = 0;

	while (m->master >= 0 && off < m->out_len) {
		ssize_t w = write(m->master, m->out + off, m->out_len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				log_warn("modem %s: write", m->number);
			break;
		}
		off += (size_t)w;
	}
	if (off > 0) {
		memmove(m->out, m->out + off, m->out_len - off);
		m->out_len -= off;
	}
}

void sim_modem_write(struct sim_modem *m, const char *buf, size_t len)
{
	if (m->master < 0)
		return;
	/* Nobody reads the slave side: the oldest unread output is what a new client least
	 * wants, but dropping the newest keeps this simple and bounded. */
	if (len > sizeof(m->out) - m->out_len) {
		m->out_dropped += len;
		return;
	}
	memcpy(m->out + m->out_len, buf, len);
	m->out_len += len;
	sim_modem_flush(m);
}

void sim_modem_process(struct sim_modem *m)
{
	size_t used;

	if (m->in_len == 0)
		return;
	used = sim_at_input(m, m->in, m->in_len);
	memmove(m->in, m->in + used, m->in_len - used);
	m->in_len -= used;
}

void sim_modem_read(struct sim_modem *m)
{
	for (;;) {
		ssize_t r;

		if (m->master < 0 || m->busy || m->answering || m->resetting || m->in_len >= sizeof(m->in))
			return;
		r = read(m->master, m->in + m->in_len, sizeof(m->in) - m->in_len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EIO)
				log_warn("modem %s: read", m->number);
			return;
		}
		if (r == 0)
			return;
		m->in_len += (size_t)r;
		sim_modem_process(m);
	}
}

static void sim_reset_back(struct sim_timer *t)
{
	struct sim_modem *m = t->arg;

	m->resetting = 0;
	if (sim_pty_open(m) != 0) {
		/* Try again rather than lose the modem. */
		m->resetting = 1;
		sim_timer_arm(&m->reset_timer, 1000);
		return;
	}
	sim_at_power_on(m);
	log_info("modem %s is back on %s", m->number, m->pty_path);
	sim_net_kick(m);
}

void sim_modem_reset(struct sim_modem *m)
{
	if (m->resetting)
		return;
	log_info("modem %s: reset, link down for %lld ms", m->number, (long long)m->net->reset_ms);
	m->stats.resets++;
	sim_timer_cancel(&m->busy_timer);
	sim_timer_cancel(&m->answer_timer);
	sim_timer_cancel(&m->noise_timer);
	sim_timer_cancel(&m->ring_timer);
	sim_pty_close(m);
	m->resetting = 1;
	m->busy = 0;
	m->answering = 0;
	m->in_len = m->out_len = m->urc_len = 0;
	m->line_len = 0;
	m->pdu_mode_input = 0;
	m->reset_timer.fire = sim_reset_back;
	m->reset_timer.arg = m;
	sim_timer_arm(&m->reset_timer, m->net->reset_ms);
}

void sim_modem_free(struct sim_modem *m)
{
	sim_timer_cancel(&m->busy_timer);
	sim_timer_cancel(&m->answer_timer);
	sim_timer_cancel(&m->noise_timer);
	sim_timer_cancel(&m->ring_timer);
	sim_timer_cancel(&m->reset_timer);
	sim_pty_close(m);
	free(m->sent.rec);
	free(m->received.rec);
	free(m);
}
