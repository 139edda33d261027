/* SPDX-License-Identifier: GPL-2.0-or-later */
/* smswake-gateway: start-up, signals and the one loop that drives everything. One thread polls
 * the server connection (conn.c: a lease long-poll and the reports), the transports'
 * descriptors and a self-pipe for signals; then each part does what is due: leasing (lease.c),
 * sending and giving back (dispatch.c), reporting (report.c), the transports' own work. No part
 * sleeps or retries in place: each says when it wants to run again, and the loop's timeout is
 * the earliest of those. If the gateway dies, the server leases its jobs again. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "dispatch.h"
#include "gateway.h"
#include "gw_metrics.h"
#include "lease.h"
#include "log.h"
#include "report.h"
#include "transport.h"
#include "util.h"
#include "version.h"

/* The longest the loop sleeps: channels become ready without telling the dispatcher. */
#define LOOP_MAX_WAIT_MS 200

static volatile sig_atomic_t stop;
static int wake_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
	int saved = errno;
	(void)sig;
	stop = 1;
	if (wake_pipe[1] >= 0)
		(void)!write(wake_pipe[1], "x", 1);
	errno = saved;
}

/* --help prints this on stdout and exits 0; a mistake prints it on stderr and exits 2. */
static void usage(FILE *f, int status)
{
	fprintf(f, "usage: smswake-gateway [-dn] -c config\n"
		   "  -c, --config FILE  configuration file (required)\n"
		   "  -n, --check        check the configuration and exit\n"
		   "  -d, --debug        log debug messages\n"
		   "  -h, --help         this text\n"
		   "      --version      print the version and exit\n");
	exit(status);
}

static void publish_metrics(struct dispatch *d, struct lease *l, struct reports *r)
{
	struct gw_metrics_modem mm[DISPATCH_CHANNELS_MAX];
	uint64_t leases, jobs, sent, failures;
	int n = dispatch_channel_count(d);

	for (int c = 0; c < n; c++) {
		struct dispatch_channel_stats st;
		memset(&mm[c], 0, sizeof(mm[c]));
		if (dispatch_channel_stats(d, c, &st) != 0)
			continue;
		snprintf(mm[c].name, sizeof(mm[c].name), "%s", st.name);
		mm[c].healthy = st.ready;
		mm[c].signal = st.signal;
		mm[c].queued = st.queued;
		mm[c].restarts = st.restarts;
		mm[c].caps_probed = st.caps_probed;
		mm[c].caps_present = st.caps_present;
		mm[c].sent = st.sent;
		mm[c].failed = st.failed;
		mm[c].delivered = st.delivered;
		mm[c].undeliverable = st.undeliverable;
	}
	lease_counts(l, &leases, &jobs);
	reports_counts(r, &sent, &failures);
	gw_metrics_publish(mm, n, lease_server_ok(l), leases, jobs, sent, failures);
}

static int min_wait(int a, int b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

int main(int argc, char **argv)
{
	static struct gw_config cfg;
	struct gw_transport *tr[2];
	int ntr = 0;
	struct dispatch *dispatch;
	struct reports *reports;
	struct lease *lease;
	struct conn *conn;
	const char *cfgpath = NULL;
	char err[512];
	int ch, check = 0, debug = 0;
	int64_t last_metrics = 0;

	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},    {"debug", no_argument, NULL, 'd'},
		{"check", no_argument, NULL, 'n'},           {"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, OPT_VERSION}, {NULL, 0, NULL, 0},
	};

	while ((ch = getopt_long(argc, argv, "c:dnh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': cfgpath = optarg; break;
		case 'd': debug = 1; break;
		case 'n': check = 1; break;
		case 'h': usage(stdout, 0); break;
		case OPT_VERSION: return version_print("smswake-gateway");
		default: usage(stderr, 2); /* getopt named the option */
		}
	}
	if (optind != argc) {
		fprintf(stderr, "smswake-gateway: unexpected argument '%s'\n", argv[optind]);
		usage(stderr, 2);
	}
	if (cfgpath == NULL) {
		fprintf(stderr, "smswake-gateway: -c FILE is required\n");
		usage(stderr, 2);
	}
	log_init("smswake-gateway", LOG_LEVEL_INFO, 0);
	if (gw_config_load(&cfg, cfgpath, err, sizeof(err)) != 0)
		fatalx("%s", err);
	if (check) {
		/* -n also checks what the running gateway would need at once: its modems' devices. */
		if (modem_ini_check_devices(&cfg.modems) != 0)
			fatalx("%s: %s", cfgpath, cfg.modems.error);
		printf("%s: configuration OK (%d modems%s)\n", cfgpath, cfg.modems.n,
		       cfg.kannel.enabled ? ", kannel" : "");
		return 0;
	}
	log_setlevel(debug ? LOG_LEVEL_DEBUG : cfg.log_level);
	srand((unsigned)(util_now_ms() ^ getpid()));
	if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
		fatal("pipe");
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);

	curl_global_init(CURL_GLOBAL_DEFAULT);
	if ((conn = conn_new(&cfg)) == NULL || (reports = reports_new(conn)) == NULL ||
	    (dispatch = dispatch_new(&cfg, reports)) == NULL ||
	    (lease = lease_new(&cfg, conn, dispatch, reports)) == NULL)
		fatalx("out of memory");
	if (cfg.modems.n > 0 && (tr[ntr++] = transport_modem_new(&cfg.modems, dispatch_on_event, dispatch)) == NULL)
		fatalx("cannot create the modem supervisor");
	modem_ini_clear(&cfg.modems);
	if (cfg.kannel.enabled && (tr[ntr++] = transport_kannel_new(&cfg.kannel, dispatch_on_event, dispatch)) == NULL)
		fatalx("cannot create the Kannel transport");
	explicit_bzero(cfg.kannel.password, sizeof(cfg.kannel.password));
	for (int i = 0; i < ntr; i++) {
		if (tr[i]->ops->start(tr[i]) != 0)
			fatalx("cannot start the %s transport", tr[i]->ops->name);
		if (dispatch_add_transport(dispatch, tr[i]) != 0)
			fatalx("too many channels (at most %d)", DISPATCH_CHANNELS_MAX);
	}
	if (cfg.metrics_listen[0] && gw_metrics_start(cfg.metrics_listen, err, sizeof(err)) != 0)
		fatalx("%s", err);
	log_info("gateway started: %d modems%s, server %s", cfg.modems.n, cfg.kannel.enabled ? " and Kannel" : "",
		 cfg.server);

	while (!stop) {
		struct curl_waitfd extra[3] = {{.fd = wake_pipe[0], .events = CURL_WAIT_POLLIN}};
		int64_t now = util_mono_ms();
		int timeout = LOOP_MAX_WAIT_MS;
		char buf[16];

		timeout = min_wait(timeout, dispatch_run(dispatch, now));
		lease_run(lease, now, stop);
		timeout = min_wait(timeout, reports_run(reports, now));
		conn_perform(conn);
		for (int i = 0; i < ntr; i++) {
			extra[1 + i] = (struct curl_waitfd){.fd = tr[i]->ops->fd(tr[i]), .events = CURL_WAIT_POLLIN};
			timeout = min_wait(timeout, tr[i]->ops->timeout_ms(tr[i]));
		}
		conn_wait(conn, extra, 1 + ntr, timeout);
		while (read(wake_pipe[0], buf, sizeof(buf)) > 0)
			;
		for (int i = 0; i < ntr; i++)
			tr[i]->ops->process(tr[i]);
		conn_perform(conn);
		if (util_mono_ms() - last_metrics >= 1000) {
			publish_metrics(dispatch, lease, reports);
			last_metrics = util_mono_ms();
		}
	}
	log_info("stopping: unreported jobs go back to the server when their leases run out");
	conn_free(conn);
	gw_metrics_stop();
	for (int i = 0; i < ntr; i++)
		tr[i]->ops->free(tr[i]);
	lease_free(lease);
	dispatch_free(dispatch);
	reports_free(reports);
	curl_global_cleanup();
	explicit_bzero(cfg.token, sizeof(cfg.token));
	return 0;
}
