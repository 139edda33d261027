/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bench/modem-layer: the modem layer's side of the modem benchmark. Sends through supervisor.h,
 * so through worker processes, the socket protocol, the queue and the deadlines, exactly the path
 * the gateway takes, and times it against bench/modem-raw's bare Gammu loop.
 *
 *   modem-layer -t NUMBER -n COUNT [-k WINDOW] [-p PORT] [-r RUN] [-W WORKER] DEVICE...
 *
 * One modem per DEVICE; each sends COUNT port-addressed 8-bit SMS of the same shape as
 * modem-raw's. Each modem keeps WINDOW jobs queued (default 4) so that its worker always has the
 * next one waiting, as a gateway holding several leases would. Timing starts when every modem is
 * open and healthy and ends with the last job's result; prints one line
 * "layer modems=.. n=.. ok=.. seconds=.. sms_per_min=..". Exits 0 only if every send succeeded. */
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "supervisor.h"
#include "util.h"

#define LAYER_PAYLOAD 36
#define LAYER_MODEMS_MAX 16
#define LAYER_READY_TIMEOUT_MS 60000

struct layer_modem {
	int64_t submitted, done, ok;
};

struct layer {
	struct supervisor *sv;
	struct layer_modem m[LAYER_MODEMS_MAX];
	int nmodems;
	int64_t count; /* per modem */
	int window;
	char to[MODEM_NUMBER_MAX];
	uint16_t port;
	unsigned run;
	int64_t finished, failed, last_ms;
	int submit_error;
};

static volatile sig_atomic_t layer_stop;

static void layer_on_signal(int sig)
{
	(void)sig;
	layer_stop = 1;
}

/* Payload as in modem-raw: run, modem and sequence number first, so that the script can check on
 * the simulator that every message went out. */
static void layer_build(const struct layer *l, int modem, int64_t seq, struct modem_sms_out *msg)
{
	memset(msg, 0, sizeof(*msg));
	snprintf(msg->number, sizeof(msg->number), "%s", l->to);
	msg->binary = 1;
	msg->dst_port = l->port;
	msg->src_port = l->port;
	for (size_t i = 0; i < LAYER_PAYLOAD; i++)
		msg->data[i] = (uint8_t)(0xa5 ^ i);
	msg->data[0] = (uint8_t)(l->run >> 8);
	msg->data[1] = (uint8_t)l->run;
	msg->data[2] = (uint8_t)modem;
	msg->data[3] = (uint8_t)((uint64_t)seq >> 24);
	msg->data[4] = (uint8_t)((uint64_t)seq >> 16);
	msg->data[5] = (uint8_t)((uint64_t)seq >> 8);
	msg->data[6] = (uint8_t)seq;
	msg->data_len = LAYER_PAYLOAD;
}

/* Tops up one modem's queue to the window. Called from the event callback too, which the
 * supervisor allows, so the next job is queued before the worker finishes the current one. */
static void layer_fill(struct layer *l, int modem)
{
	struct layer_modem *lm = &l->m[modem];
	struct modem_sms_out msg;

	while (lm->submitted < l->count && lm->submitted - lm->done < l->window) {
		uint64_t cookie = (uint64_t)modem << 32 | (uint64_t)lm->submitted;
		int rc;
		layer_build(l, modem, lm->submitted, &msg);
		rc = supervisor_send(l->sv, modem, &msg, cookie, NULL);
		if (rc != MODEM_OK) {
			fprintf(stderr, "modem-layer: modem %d: submit refused: %s\n", modem, modem_strerror(rc));
			l->submit_error = 1;
			return;
		}
		lm->submitted++;
	}
}

static void layer_event(const struct supervisor_event *ev, void *arg)
{
	struct layer *l = arg;
	int modem;

	switch (ev->type) {
	case SUPERVISOR_EV_JOB:
		modem = (int)(ev->cookie >> 32);
		if (ev->op != SUPERVISOR_OP_SEND || modem < 0 || modem >= l->nmodems)
			return;
		l->m[modem].done++;
		l->finished++;
		l->last_ms = util_mono_ms();
		if (ev->status == MODEM_OK) {
			l->m[modem].ok++;
		} else {
			l->failed++;
			fprintf(stderr, "modem-layer: %s: send %llu failed: %s\n", ev->modem_name,
				(unsigned long long)(ev->cookie & 0xffffffffu),
				ev->error ? ev->error : modem_strerror(ev->status));
		}
		layer_fill(l, modem);
		break;
	case SUPERVISOR_EV_MODEM:
		/* Only worth a word once the run is on: a restart in the middle spoils the figure. */
		if (l->m[ev->modem].submitted > 0 && ev->state != SUPERVISOR_MODEM_READY)
			fprintf(stderr, "modem-layer: %s: %s%s%s\n", ev->modem_name, supervisor_state_name(ev->state),
				ev->reason ? ": " : "", ev->reason ? ev->reason : "");
		break;
	default: break; /* incoming SMS and reports: none expected on the sending modems */
	}
}

static int layer_all_ready(struct layer *l)
{
	struct supervisor_modem_info info;

	for (int i = 0; i < l->nmodems; i++) {
		if (supervisor_modem_info(l->sv, i, &info) != 0 || info.state != SUPERVISOR_MODEM_READY ||
		    !info.healthy)
			return 0;
	}
	return 1;
}

/* The worker sits next to the supervisor's program in an installed system, but the bench lives
 * in $(O)/bench/: look one directory up. */
static void layer_default_worker(char *out, size_t len)
{
	char self[512];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	out[0] = '\0';
	if (n <= 0)
		return;
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (slash == NULL)
		return;
	*slash = '\0';
	if ((size_t)snprintf(out, len, "%s/../smswake-modem-worker", self) >= len || access(out, X_OK) != 0)
		out[0] = '\0';
}

static void usage(void)
{
	fprintf(stderr, "usage: modem-layer -t NUMBER -n COUNT [-k WINDOW] [-p PORT] [-r RUN] [-W WORKER] "
			"[-v] DEVICE...\n");
}

int main(int argc, char **argv)
{
	static struct layer l;
	struct supervisor_options opt;
	struct sigaction sa;
	const char *worker = NULL;
	int64_t v, t0, deadline;
	int c, verbose = 0, rc = 1;
	double secs;

	l.window = 4;
	l.port = 2948;
	while ((c = getopt(argc, argv, "t:n:k:p:r:W:v")) != -1) {
		switch (c) {
		case 't':
			if (!modem_number_valid(optarg) || strlen(optarg) >= sizeof(l.to)) {
				usage();
				return 2;
			}
			snprintf(l.to, sizeof(l.to), "%s", optarg);
			break;
		case 'W': worker = optarg; break;
		case 'v': verbose++; break;
		case 'n':
		case 'k':
		case 'p':
		case 'r':
			if (util_parse_i64(optarg, c == 'r' ? 0 : 1, c == 'n' ? 1000000 : 65535, &v) != 0) {
				usage();
				return 2;
			}
			if (c == 'n')
				l.count = v;
			else if (c == 'k')
				l.window = (int)v;
			else if (c == 'p')
				l.port = (uint16_t)v;
			else
				l.run = (unsigned)v;
			break;
		default: usage(); return 2;
		}
	}
	l.nmodems = argc - optind;
	if (l.to[0] == '\0' || l.count <= 0 || l.nmodems < 1 || l.nmodems > LAYER_MODEMS_MAX) {
		usage();
		return 2;
	}
	log_init("modem-layer", verbose > 1 ? LOG_LEVEL_DEBUG : verbose ? LOG_LEVEL_INFO : LOG_LEVEL_WARN, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = layer_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	/* Production defaults: the figure is for the layer as the gateway runs it. */
	supervisor_options_init(&opt);
	if (worker != NULL)
		snprintf(opt.worker_path, sizeof(opt.worker_path), "%s", worker);
	else
		layer_default_worker(opt.worker_path, sizeof(opt.worker_path));
	if (l.window > opt.queue_max)
		l.window = opt.queue_max;
	if (supervisor_new(&l.sv, &opt, layer_event, &l) != 0) {
		fprintf(stderr, "modem-layer: out of memory\n");
		return 1;
	}
	for (int i = 0; i < l.nmodems; i++) {
		struct modem_config cfg;
		modem_config_init(&cfg);
		snprintf(cfg.name, sizeof(cfg.name), "bench%d", i);
		if ((size_t)snprintf(cfg.device, sizeof(cfg.device), "%s", argv[optind + i]) >= sizeof(cfg.device) ||
		    supervisor_add_modem(l.sv, &cfg) < 0) {
			fprintf(stderr, "modem-layer: cannot add modem %s\n", argv[optind + i]);
			goto out;
		}
	}
	if (supervisor_start(l.sv) != 0) {
		fprintf(stderr, "modem-layer: cannot start the supervisor\n");
		goto out;
	}

	/* Opening (about 3.3 s per modem in Gammu's AT driver) and the first health check are not
	 * part of the figure: a gateway pays them once. */
	deadline = util_mono_ms() + LAYER_READY_TIMEOUT_MS;
	while (!layer_all_ready(&l) && !layer_stop) {
		if (util_mono_ms() >= deadline) {
			fprintf(stderr, "modem-layer: modems not ready within %d s\n", LAYER_READY_TIMEOUT_MS / 1000);
			for (int i = 0; i < l.nmodems; i++) {
				struct supervisor_modem_info info;
				supervisor_modem_info(l.sv, i, &info);
				fprintf(stderr, "modem-layer: %s: %s healthy=%d %s\n", info.name,
					supervisor_state_name(info.state), info.healthy, info.reason);
			}
			goto out;
		}
		supervisor_run(l.sv, 200);
	}

	t0 = util_mono_ms();
	l.last_ms = t0;
	for (int i = 0; i < l.nmodems; i++)
		layer_fill(&l, i);
	/* Generous: the send timeout per message, as if every one ran into it. */
	deadline = t0 + (int64_t)opt.send_timeout_ms + l.count * 10000;
	while (l.finished < l.count * l.nmodems && !l.submit_error && !layer_stop) {
		if (util_mono_ms() >= deadline) {
			fprintf(stderr, "modem-layer: run did not finish in time\n");
			break;
		}
		supervisor_run(l.sv, 200);
	}

	secs = (double)(l.last_ms - t0) / 1000.0;
	for (int i = 0; i < l.nmodems; i++) {
		struct supervisor_modem_info info;
		supervisor_modem_info(l.sv, i, &info);
		fprintf(stderr, "modem-layer: %s (%s): ok=%lld of %lld restarts=%d kills=%d\n", info.name,
			argv[optind + i], (long long)l.m[i].ok, (long long)l.count, info.restarts, info.kills);
	}
	int64_t ok = l.finished - l.failed;
	printf("layer modems=%d n=%lld ok=%lld failed=%lld seconds=%.3f sms_per_min=%.2f\n", l.nmodems,
	       (long long)(l.count * l.nmodems), (long long)ok, (long long)l.failed, secs,
	       secs > 0 ? (double)ok * 60.0 / secs : 0.0);
	rc = ok == l.count * l.nmodems ? 0 : 1;
out:
	supervisor_free(l.sv);
	return rc;
}
