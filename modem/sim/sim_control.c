/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The control socket RUNDIR/control: a line protocol for tests and operators to inspect the
 * simulated network and inject faults, and the small client behind "--ctl". Every reply ends
 * with a line "OK" or "ERROR <why>". */
#include "sim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define CTL_CLIENTS_MAX 16
#define CTL_LINE_MAX 1024
#define CTL_OUT_MAX (4 * 1024 * 1024)
/* The client lets longer lines through so the server's own limit can be seen (and tested). */
#define CTL_CLIENT_LINE_MAX 8192

struct ctl_client {
	int fd;
	char in[CTL_LINE_MAX + 1];
	size_t in_len;
	char *out;
	size_t out_len, out_cap;
	int closing; /* close once the output is written */
};

static int ctl_fd = -1;
static char ctl_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static struct ctl_client ctl_clients[CTL_CLIENTS_MAX];
static int ctl_map[CTL_CLIENTS_MAX + 1]; /* pollfd slot -> client index, -1 for the listener */

static int ctl_addr(const char *rundir, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if ((size_t)snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/control", rundir) >= sizeof(sa->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int sim_control_open(struct sim_net *net)
{
	struct sockaddr_un sa;
	int fd;

	for (int i = 0; i < CTL_CLIENTS_MAX; i++)
		ctl_clients[i].fd = -1;
	if (ctl_addr(net->rundir, &sa) != 0) {
		log_warnx("control socket path too long under %s", net->rundir);
		return -1;
	}
	/* A socket left by a crashed run is removed; a live one means another simulator. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(fd);
		log_warnx("another simulator is running on %s", sa.sun_path);
		return -1;
	}
	if (fd >= 0)
		close(fd);
	unlink(sa.sun_path);
	ctl_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (ctl_fd < 0 || bind(ctl_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || chmod(sa.sun_path, 0600) != 0 ||
	    listen(ctl_fd, 8) != 0) {
		log_warn("control socket %s", sa.sun_path);
		if (ctl_fd >= 0)
			close(ctl_fd);
		ctl_fd = -1;
		return -1;
	}
	snprintf(ctl_path, sizeof(ctl_path), "%s", sa.sun_path);
	return 0;
}

static void ctl_drop(struct ctl_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

void sim_control_close(struct sim_net *net)
{
	(void)net;
	for (int i = 0; i < CTL_CLIENTS_MAX; i++)
		if (ctl_clients[i].fd >= 0)
			ctl_drop(&ctl_clients[i]);
	if (ctl_fd >= 0) {
		close(ctl_fd);
		unlink(ctl_path);
	}
	ctl_fd = -1;
}

static void ctl_printf(struct ctl_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ctl_printf(struct ctl_client *c, const char *fmt, ...)
{
	char line[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	if (c->out_len + (size_t)n + 1 > CTL_OUT_MAX) {
		c->closing = 1; /* a reply this large is a bug or an attack: give up */
		return;
	}
	if (c->out_len + (size_t)n + 1 > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		char *p;
		while (cap < c->out_len + (size_t)n + 1)
			cap *= 2;
		p = realloc(c->out, cap);
		if (p == NULL) {
			c->closing = 1;
			return;
		}
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, line, (size_t)n);
	c->out[c->out_len + (size_t)n] = '\n';
	c->out_len += (size_t)n + 1;
}

static void ctl_flush(struct ctl_client *c)
{
	while (c->out_len > 0) {
		ssize_t w = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				ctl_drop(c);
			return;
		}
		memmove(c->out, c->out + w, c->out_len - (size_t)w);
		c->out_len -= (size_t)w;
	}
	if (c->closing)
		ctl_drop(c);
}

/* --- commands --- */

static const char *ctl_state(const struct sim_modem *m)
{
	if (m->resetting)
		return "resetting";
	if (m->faults.hang)
		return "hung";
	if (m->busy)
		return "sending";
	return "ready";
}

static void ctl_list(struct ctl_client *c, struct sim_net *net)
{
	static const char *const pin[] = {"ready", "sim-pin", "sim-puk"};

	for (int i = 0; i < net->n_modems; i++) {
		struct sim_modem *m = net->modem[i];
		ctl_printf(c,
			   "%s pty=%s link=%s profile=%s state=%s registered=%d pin=%s cfun=%d "
			   "storage=SM:%d/%d,ME:%d/%d,SR:%d/%d",
			   m->number, m->master >= 0 ? m->pty_path : "-", m->link_path, m->profile->name, ctl_state(m),
			   m->faults.registered, pin[m->pin_state], m->cfun, sim_store_used(&m->store[SIM_MEM_SM]),
			   m->store[SIM_MEM_SM].size, sim_store_used(&m->store[SIM_MEM_ME]), m->store[SIM_MEM_ME].size,
			   sim_store_used(&m->store[SIM_MEM_SR]), m->store[SIM_MEM_SR].size);
	}
}

static void ctl_history(struct ctl_client *c, struct sim_modem *m, int sent)
{
	struct sim_ring *ring = sent ? &m->sent : &m->received;
	char line[4096];

	for (size_t i = 0; i < ring->count; i++) {
		sim_record_format(&ring->rec[(ring->head + i) % SIM_RECORDS_MAX], sent, line, sizeof(line));
		ctl_printf(c, "%s", line);
	}
}

static void ctl_storage(struct ctl_client *c, struct sim_modem *m)
{
	static const char *const stat[] = {"unread", "read", "unsent", "sent"};
	char hex[2 * PDU_MAX + 1];

	for (int mem = 0; mem < SIM_MEM_COUNT; mem++) {
		struct sim_storage *st = &m->store[mem];
		for (int i = 1; i <= st->size; i++) {
			struct sim_slot *s = sim_store_get(st, i);
			if (s == NULL)
				continue;
			pdu_hex(s->pdu, s->len, hex);
			ctl_printf(c, "%s %d %s %s", sim_mem_name((enum sim_mem)mem), i, stat[s->stat], hex);
		}
	}
}

static void ctl_stats(struct ctl_client *c, struct sim_net *net)
{
	for (int i = 0; i < net->n_modems; i++) {
		const struct sim_modem *m = net->modem[i];
		const struct sim_stats *s = &m->stats;
		ctl_printf(c,
			   "%s submitted=%lu rejected=%lu send_errors=%lu lost=%lu duplicated=%lu "
			   "delivered=%lu expired=%lu unknown_dest=%lu received=%lu reports=%lu "
			   "resets=%lu out_dropped=%lu",
			   m->number, s->submitted, s->rejected, s->send_errors, s->lost, s->duplicated,
			   s->delivered_out, s->expired, s->unknown_dest, s->received, s->reports_received, s->resets,
			   m->out_dropped);
	}
	ctl_printf(c, "network pending=%d", sim_net_pending(net));
}

static void ctl_help(struct ctl_client *c)
{
	ctl_printf(c, "list | stats | sent N | received N | storage N | inject N PDUHEX | ring N [CALLER [COUNT]]");
	ctl_printf(c, "set N|all KEY VALUE (delay loss dup reorder reorder_delay send_duration "
		      "registered pin cms_error hang reset storage_full csq profile answer_delay drop_answer "
		      "drop_submit no_prompt)");
	ctl_printf(c, "clear N|all | forget N|all | help");
}

/* Runs fn on one modem or, for "all", on each; replies ERROR for an unknown number. */
static int ctl_each(struct ctl_client *c, struct sim_net *net, const char *who, struct sim_modem **out, int *count)
{
	*count = 0;
	if (who == NULL) {
		ctl_printf(c, "ERROR missing modem number");
		return -1;
	}
	if (strcmp(who, "all") == 0) {
		for (int i = 0; i < net->n_modems; i++)
			out[(*count)++] = net->modem[i];
		return 0;
	}
	out[0] = sim_modem_find(net, who);
	if (out[0] == NULL) {
		ctl_printf(c, "ERROR unknown modem %.40s", who);
		return -1;
	}
	*count = 1;
	return 0;
}

static void ctl_command(struct ctl_client *c, struct sim_net *net, char *line)
{
	struct sim_modem *ms[SIM_MODEMS_MAX];
	char *save = NULL, *cmd, *who, *rest;
	char why[128];
	int n;

	cmd = strtok_r(line, " \t", &save);
	if (cmd == NULL) {
		ctl_printf(c, "ERROR empty command");
		return;
	}
	if (strcmp(cmd, "list") == 0) {
		ctl_list(c, net);
		ctl_printf(c, "OK");
		return;
	}
	if (strcmp(cmd, "stats") == 0) {
		ctl_stats(c, net);
		ctl_printf(c, "OK");
		return;
	}
	if (strcmp(cmd, "help") == 0) {
		ctl_help(c);
		ctl_printf(c, "OK");
		return;
	}
	who = strtok_r(NULL, " \t", &save);
	rest = save;
	while (rest && (*rest == ' ' || *rest == '\t'))
		rest++;
	if (strcmp(cmd, "sent") == 0 || strcmp(cmd, "received") == 0 || strcmp(cmd, "storage") == 0) {
		if (who == NULL || strcmp(who, "all") == 0) {
			ctl_printf(c, "ERROR one modem number needed");
			return;
		}
		if (ctl_each(c, net, who, ms, &n) != 0)
			return;
		if (strcmp(cmd, "storage") == 0)
			ctl_storage(c, ms[0]);
		else
			ctl_history(c, ms[0], cmd[0] == 's');
		ctl_printf(c, "OK");
		return;
	}
	if (strcmp(cmd, "inject") == 0) {
		uint8_t tpdu[PDU_MAX];
		char where[48];
		long len;
		if (ctl_each(c, net, who, ms, &n) != 0)
			return;
		if (n != 1 || rest == NULL || *rest == '\0') {
			ctl_printf(c, "ERROR usage: inject NUMBER PDUHEX");
			return;
		}
		len = pdu_unhex(rest, strlen(rest), tpdu, sizeof(tpdu));
		if (len <= 0) {
			ctl_printf(c, "ERROR bad hex");
			return;
		}
		if (sim_net_inject(ms[0], tpdu, (size_t)len, where, sizeof(where)) != 0) {
			ctl_printf(c, "ERROR not a valid SMS-DELIVER or STATUS-REPORT TPDU");
			return;
		}
		ctl_printf(c, "%s", where);
		ctl_printf(c, "OK");
		return;
	}
	if (strcmp(cmd, "ring") == 0) {
		char *caller, *count, *save2 = NULL;
		int64_t k = 2;
		if (ctl_each(c, net, who, ms, &n) != 0)
			return;
		caller = rest ? strtok_r(rest, " \t", &save2) : NULL;
		count = caller ? strtok_r(NULL, " \t", &save2) : NULL;
		if ((caller != NULL && !sim_number_valid(caller)) ||
		    (count != NULL && util_parse_i64(count, 1, 100, &k) != 0)) {
			ctl_printf(c, "ERROR usage: ring NUMBER [CALLER [COUNT]]");
			return;
		}
		for (int i = 0; i < n; i++)
			sim_at_ring(ms[i], caller ? caller : "+15557770000", (int)k);
		ctl_printf(c, "OK");
		return;
	}
	if (strcmp(cmd, "set") == 0) {
		char *key, *value, *save2 = NULL;
		if (ctl_each(c, net, who, ms, &n) != 0)
			return;
		key = rest ? strtok_r(rest, " \t", &save2) : NULL;
		if (key == NULL) {
			ctl_printf(c, "ERROR usage: set NUMBER KEY VALUE");
			return;
		}
		value = save2 ? save2 : "";
		while (*value == ' ' || *value == '\t')
			value++;
		if (value[0] == '\0' && strcmp(key, "reset") != 0 && strcmp(key, "pin") != 0) {
			ctl_printf(c, "ERROR missing value for %.40s", key);
			return;
		}
		for (int i = 0; i < n; i++) {
			if (sim_modem_set(ms[i], key, value, why, sizeof(why)) != 0) {
				ctl_printf(c, "ERROR %s", why);
				return;
			}
		}
		ctl_printf(c, "OK");
		return;
	}
	if (strcmp(cmd, "clear") == 0) {
		if (ctl_each(c, net, who, ms, &n) != 0)
			return;
		for (int i = 0; i < n; i++) {
			int was_registered = ms[i]->faults.registered;
			int was_full = ms[i]->faults.storage_full;
			sim_faults_clear(&ms[i]->faults);
			ms[i]->line_len = 0;
			ms[i]->pdu_mode_input = 0;
			if (!was_registered && ms[i]->creg_n >= 1)
				sim_at_urc(ms[i], "+CREG: 1");
			if (!was_registered || was_full)
				sim_net_kick(ms[i]);
		}
		ctl_printf(c, "OK");
		return;
	}
	if (strcmp(cmd, "forget") == 0) {
		if (ctl_each(c, net, who, ms, &n) != 0)
			return;
		for (int i = 0; i < n; i++) {
			ms[i]->sent.head = ms[i]->sent.count = 0;
			ms[i]->received.head = ms[i]->received.count = 0;
		}
		ctl_printf(c, "OK");
		return;
	}
	ctl_printf(c, "ERROR unknown command %.40s", cmd);
}

static void ctl_readable(struct ctl_client *c, struct sim_net *net)
{
	for (;;) {
		ssize_t r;
		char *nl;

		if (c->in_len >= CTL_LINE_MAX) {
			ctl_printf(c, "ERROR line too long");
			c->closing = 1;
			return;
		}
		r = recv(c->fd, c->in + c->in_len, CTL_LINE_MAX - c->in_len, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				c->closing = 1;
			return;
		}
		if (r == 0) {
			c->closing = 1;
			return;
		}
		c->in_len += (size_t)r;
		while ((nl = memchr(c->in, '\n', c->in_len)) != NULL) {
			size_t used = (size_t)(nl - c->in) + 1, n = used - 1;
			if (n > 0 && c->in[n - 1] == '\r')
				n--;
			c->in[n] = '\0';
			if (memchr(c->in, '\0', n) != NULL)
				ctl_printf(c, "ERROR NUL in command");
			else
				ctl_command(c, net, c->in);
			memmove(c->in, c->in + used, c->in_len - used);
			c->in_len -= used;
		}
	}
}

int sim_control_pollfds(struct pollfd *pfd, int max)
{
	int n = 0, free_slot = 0;

	for (int i = 0; i < CTL_CLIENTS_MAX && n < max; i++) {
		struct ctl_client *c = &ctl_clients[i];
		if (c->fd < 0) {
			free_slot = 1;
			continue;
		}
		pfd[n].fd = c->fd;
		pfd[n].events = (short)((c->closing ? 0 : POLLIN) | (c->out_len ? POLLOUT : 0));
		pfd[n].revents = 0;
		ctl_map[n++] = i;
	}
	if (ctl_fd >= 0 && free_slot && n < max) {
		pfd[n].fd = ctl_fd;
		pfd[n].events = POLLIN;
		pfd[n].revents = 0;
		ctl_map[n++] = -1;
	}
	return n;
}

void sim_control_events(struct sim_net *net, const struct pollfd *pfd, int n)
{
	for (int k = 0; k < n; k++) {
		struct ctl_client *c;

		if (pfd[k].revents == 0)
			continue;
		if (ctl_map[k] < 0) {
			int fd = accept4(ctl_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
			if (fd < 0)
				continue;
			for (int i = 0; i < CTL_CLIENTS_MAX; i++) {
				if (ctl_clients[i].fd < 0) {
					memset(&ctl_clients[i], 0, sizeof(ctl_clients[i]));
					ctl_clients[i].fd = fd;
					fd = -1;
					break;
				}
			}
			if (fd >= 0)
				close(fd);
			continue;
		}
		c = &ctl_clients[ctl_map[k]];
		if (c->fd < 0)
			continue;
		if (pfd[k].revents & (POLLIN | POLLHUP | POLLERR))
			ctl_readable(c, net);
		if (c->fd >= 0)
			ctl_flush(c);
	}
}

/* --- the --ctl client --- */

int sim_control_client(const char *rundir, const char *command)
{
	struct sockaddr_un sa;
	char buf[CTL_CLIENT_LINE_MAX + 1], line[16384];
	size_t llen = 0;
	int fd, rc = 2;
	size_t clen = strlen(command);

	if (clen == 0 || clen >= CTL_CLIENT_LINE_MAX || strchr(command, '\n')) {
		fprintf(stderr, "smswake-modem-sim: bad command\n");
		return 2;
	}
	if (ctl_addr(rundir, &sa) != 0) {
		fprintf(stderr, "smswake-modem-sim: run directory path too long\n");
		return 2;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "smswake-modem-sim: %s: %s\n", sa.sun_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 2;
	}
	memcpy(buf, command, clen);
	buf[clen] = '\n';
	if (send(fd, buf, clen + 1, MSG_NOSIGNAL) != (ssize_t)(clen + 1)) {
		close(fd);
		return 2;
	}
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t r;
		if (poll(&p, 1, 30000) <= 0) {
			fprintf(stderr, "smswake-modem-sim: no reply\n");
			break;
		}
		r = recv(fd, buf, sizeof(buf), 0);
		if (r <= 0) {
			fprintf(stderr, "smswake-modem-sim: connection closed\n");
			break;
		}
		for (ssize_t i = 0; i < r; i++) {
			if (buf[i] != '\n') {
				if (llen < sizeof(line) - 1)
					line[llen++] = buf[i];
				continue;
			}
			line[llen] = '\0';
			llen = 0;
			if (strcmp(line, "OK") == 0) {
				rc = 0;
				goto done;
			}
			if (strncmp(line, "ERROR", 5) == 0) {
				fprintf(stderr, "%s\n", line);
				rc = 1;
				goto done;
			}
			printf("%s\n", line);
		}
	}
done:
	close(fd);
	fflush(stdout);
	return rc;
}
