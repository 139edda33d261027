/* SPDX-License-Identifier: GPL-2.0-or-later */
/* SMS source for `smswake-client run` on the device's own modem: the optional, gammu-linked part
 * of the client. It never calls libgammu itself: the modem supervisor (modem/supervisor.h) runs
 * one smswake-modem-worker process for the modem, which owns the libgammu state machine, reads
 * each arriving SMS, deletes it from the modem and hands it over as an event. This file is linked
 * into the smswake-client program only, never into libsmswake. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli.h"
#include "log.h"
#include "modem_ini.h"
#include "supervisor.h"

/* The client's modem is one [modem NAME] in modem_ini's terms; the name shows in log lines. */
#define MODEM_SECTION "modem sms"
/* SMS that arrive faster than the client verifies them wait here; a wakeup burst is never more
 * than a handful (the server sends one per device at a time). */
#define MODEM_QUEUE 16
#define MODEM_LINE_MAX (2 * MODEM_UD_MAX + 2 * MODEM_TEXT_BYTES_MAX + 1)

struct cli_modem {
	struct modem_ini ini;
};

struct modem_src {
	struct supervisor *sv;
	char queue[MODEM_QUEUE][MODEM_LINE_MAX];
	size_t head, count;
	int last_state;
};

/* Gammu's own keys, as in a gammurc [gammu] section, go to the modem; the rest are supervisor
 * options (worker, incoming_poll, health_interval, ...; see smswake-gateway(8)). */
static int is_modem_key(const char *key)
{
	static const char *const keys[] = {"device", "port", "connection", "model", "pin", "smsc", "logfile"};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcasecmp(key, keys[i]) == 0)
			return 1;
	return 0;
}

int cli_modem_ini(struct cli_config *cfg, const char *key, const char *value, char *err, size_t errmax)
{
	int r;

	if (cfg->modem == NULL) {
		cfg->modem = calloc(1, sizeof(*cfg->modem));
		if (cfg->modem == NULL) {
			snprintf(err, errmax, "out of memory");
			return -1;
		}
		modem_ini_init(&cfg->modem->ini);
	}
	r = modem_ini_line(&cfg->modem->ini, is_modem_key(key) ? MODEM_SECTION : "modems", key, value);
	if (r != 1) {
		/* modem_ini's message names the key, never the value (it may be the PIN). */
		snprintf(err, errmax, "[modem] %s: unknown key or bad value", key);
		return -1;
	}
	return 0;
}

int cli_modem_finish(struct cli_config *cfg, char *err, size_t errmax)
{
	if (cfg->modem == NULL)
		return 0;
	if (cfg->modem->ini.n != 1 || modem_ini_finish(&cfg->modem->ini) != 0) {
		snprintf(err, errmax, "[modem]: no device");
		return -1;
	}
	return 0;
}

int cli_modem_check(struct cli_config *cfg, char *err, size_t errmax)
{
	if (cfg->modem == NULL || modem_ini_check_devices(&cfg->modem->ini) == 0)
		return 0;
	snprintf(err, errmax, "%s", cfg->modem->ini.error);
	return -1;
}

void cli_modem_free(struct cli_config *cfg)
{
	if (cfg->modem != NULL) {
		modem_ini_clear(&cfg->modem->ini);
		free(cfg->modem);
		cfg->modem = NULL;
	}
}

static void hex(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789ABCDEF";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

/* Turns a received SMS into one input line of smswake_handle_input: hex of the header and the
 * user data for an 8-bit SMS, the text itself for a text SMS. Returns 0, or -1 for an SMS that
 * cannot be a wakeup in any form (it is dropped here). */
static int format_sms(const struct modem_sms_in *in, char *line)
{
	if (in->udh_len > MODEM_UD_MAX || in->data_len > sizeof(in->data))
		return -1;
	if (in->binary) {
		if (in->udh_len == 0 || in->udh_len + in->data_len > MODEM_UD_MAX)
			return -1; /* a binary wakeup always carries its port header */
		hex(in->udh, in->udh_len, line);
		hex(in->data, in->data_len, line + 2 * in->udh_len);
		return 0;
	}
	/* A text wakeup is one line of ASCII; a line break or NUL inside cannot be one. */
	for (size_t i = 0; i < in->data_len; i++)
		if (in->data[i] == '\0' || in->data[i] == '\n' || in->data[i] == '\r')
			return -1;
	memcpy(line, in->data, in->data_len);
	line[in->data_len] = '\0';
	return 0;
}

static void on_event(const struct supervisor_event *ev, void *arg)
{
	struct modem_src *s = arg;

	if (ev->type == SUPERVISOR_EV_MODEM) {
		/* Operators need to see a modem that stopped (wrong PIN, no SIM): polling goes on. */
		if (ev->state != s->last_state || !ev->healthy)
			log_info("modem %s: %s%s%s", ev->modem_name, supervisor_state_name(ev->state),
				 ev->reason != NULL && *ev->reason ? ": " : "", ev->reason != NULL ? ev->reason : "");
		if (ev->state == SUPERVISOR_MODEM_STOPPED)
			log_warnx("modem %s stopped: no SMS intake until it is fixed; polling goes on", ev->modem_name);
		s->last_state = ev->state;
		return;
	}
	if (ev->type != SUPERVISOR_EV_SMS || ev->in == NULL || ev->in->type != MODEM_IN_DELIVER)
		return;
	if (s->count == MODEM_QUEUE) {
		log_warnx("modem %s: SMS from %s dropped, %d waiting already", ev->modem_name, ev->in->number,
			  MODEM_QUEUE);
		return;
	}
	if (format_sms(ev->in, s->queue[(s->head + s->count) % MODEM_QUEUE]) != 0) {
		log_info("modem %s: SMS from %s is not a wakeup; dropped", ev->modem_name, ev->in->number);
		return;
	}
	log_debug("modem %s: SMS from %s", ev->modem_name, ev->in->number);
	s->count++;
}

static int modem_open_source(void **state, const struct cli_config *cfg)
{
	struct modem_src *s;

	if (cfg->modem == NULL || cfg->modem->ini.n != 1) {
		errno = EINVAL;
		return -1;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -1;
	if (supervisor_new(&s->sv, &cfg->modem->ini.opt, on_event, s) != 0 ||
	    supervisor_add_modem(s->sv, &cfg->modem->ini.modems[0]) < 0 || supervisor_start(s->sv) != 0) {
		supervisor_free(s->sv);
		free(s);
		return -1;
	}
	log_info("reading SMS from the modem on %s", cfg->modem->ini.modems[0].device);
	*state = s;
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int modem_wait(void *state, int timeout_ms, char *line, size_t max)
{
	struct modem_src *s = state;
	int64_t end = now_ms() + (timeout_ms < 0 ? 0 : timeout_ms);

	for (;;) {
		struct pollfd pfd = {.fd = supervisor_fd(s->sv), .events = POLLIN};
		int64_t left;
		int r;

		while (s->count > 0) {
			const char *q = s->queue[s->head];
			size_t n = strlen(q);

			s->head = (s->head + 1) % MODEM_QUEUE;
			s->count--;
			if (n < max) {
				memcpy(line, q, n + 1);
				return 1;
			}
		}
		left = end - now_ms();
		if (left < 0)
			left = 0;
		r = poll(&pfd, 1, (int)left);
		if (r < 0)
			return errno == EINTR ? -2 : -1;
		if (r > 0)
			supervisor_process(s->sv);
		else if (s->count == 0)
			return 0;
	}
}

static void modem_close_source(void *state)
{
	struct modem_src *s = state;

	if (s != NULL) {
		supervisor_free(s->sv);
		free(s);
	}
}

const struct sms_source_ops sms_source_modem = {
	.name = "modem",
	.open = modem_open_source,
	.wait = modem_wait,
	.close = modem_close_source,
};
