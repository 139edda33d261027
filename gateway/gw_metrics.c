/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Renders the gateway's snapshot as Prometheus text and serves it on GET /metrics. */
#include "gw_metrics.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "modem.h"
#include "util.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char text[32768];
static size_t text_len;
static struct MHD_Daemon *daemon_;

static void add(size_t *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(size_t *n, const char *fmt, ...)
{
	va_list ap;
	int w;
	if (*n >= sizeof(text))
		return;
	va_start(ap, fmt);
	w = vsnprintf(text + *n, sizeof(text) - *n, fmt, ap);
	va_end(ap);
	if (w > 0)
		*n = *n + (size_t)w < sizeof(text) ? *n + (size_t)w : sizeof(text);
}

void gw_metrics_publish(const struct gw_metrics_modem *m, int nm, int server_ok, uint64_t leases, uint64_t jobs,
			uint64_t reports, uint64_t report_failures)
{
	size_t n = 0;
	pthread_mutex_lock(&mu);
	add(&n, "# TYPE smswake_gateway_server_up gauge\nsmswake_gateway_server_up %d\n", server_ok);
	add(&n, "# TYPE smswake_gateway_leases_total counter\nsmswake_gateway_leases_total %llu\n",
	    (unsigned long long)leases);
	add(&n, "# TYPE smswake_gateway_jobs_leased_total counter\nsmswake_gateway_jobs_leased_total %llu\n",
	    (unsigned long long)jobs);
	add(&n, "# TYPE smswake_gateway_reports_total counter\nsmswake_gateway_reports_total %llu\n",
	    (unsigned long long)reports);
	add(&n, "# TYPE smswake_gateway_report_failures_total counter\nsmswake_gateway_report_failures_total %llu\n",
	    (unsigned long long)report_failures);
	add(&n, "# TYPE smswake_modem_healthy gauge\n# TYPE smswake_modem_signal_percent gauge\n"
		"# TYPE smswake_modem_queue gauge\n# TYPE smswake_modem_restarts_total counter\n"
		"# TYPE smswake_modem_sms_total counter\n# TYPE smswake_modem_capability gauge\n");
	for (int i = 0; i < nm; i++) {
		const char *q = m[i].name;
		add(&n, "smswake_modem_healthy{modem=\"%s\"} %d\n", q, m[i].healthy);
		add(&n, "smswake_modem_signal_percent{modem=\"%s\"} %d\n", q, m[i].signal);
		add(&n, "smswake_modem_queue{modem=\"%s\"} %d\n", q, m[i].queued);
		add(&n, "smswake_modem_restarts_total{modem=\"%s\"} %d\n", q, m[i].restarts);
		add(&n, "smswake_modem_sms_total{modem=\"%s\",outcome=\"sent\"} %llu\n", q,
		    (unsigned long long)m[i].sent);
		add(&n, "smswake_modem_sms_total{modem=\"%s\",outcome=\"failed\"} %llu\n", q,
		    (unsigned long long)m[i].failed);
		add(&n, "smswake_modem_sms_total{modem=\"%s\",outcome=\"delivered\"} %llu\n", q,
		    (unsigned long long)m[i].delivered);
		add(&n, "smswake_modem_sms_total{modem=\"%s\",outcome=\"undeliverable\"} %llu\n", q,
		    (unsigned long long)m[i].undeliverable);
		/* What the modem answers beyond sending (1) or lacks (0), once its worker asked. */
		for (int cap = 1; cap & MODEM_CAP__ALL; cap <<= 1)
			if (m[i].caps_probed & cap)
				add(&n, "smswake_modem_capability{modem=\"%s\",capability=\"%s\"} %d\n", q,
				    modem_cap_name(cap), (m[i].caps_present & cap) ? 1 : 0);
	}
	text_len = n;
	pthread_mutex_unlock(&mu);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **req_cls)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	(void)cls, (void)version, (void)upload_data, (void)upload_data_size, (void)req_cls;

	if (strcmp(method, "GET") != 0 || strcmp(url, "/metrics") != 0) {
		resp = MHD_create_response_from_buffer(10, (void *)"not found\n", MHD_RESPMEM_PERSISTENT);
		ret = MHD_queue_response(conn, 404, resp);
		MHD_destroy_response(resp);
		return ret;
	}
	pthread_mutex_lock(&mu);
	resp = MHD_create_response_from_buffer(text_len, text, MHD_RESPMEM_MUST_COPY);
	pthread_mutex_unlock(&mu);
	MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4");
	ret = MHD_queue_response(conn, 200, resp);
	MHD_destroy_response(resp);
	return ret;
}

int gw_metrics_start(const char *listen, char *err, size_t errlen)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	char host[64];
	const char *colon = strrchr(listen, ':');
	int64_t port;

	if (colon == NULL || (size_t)(colon - listen) >= sizeof(host) ||
	    util_parse_i64(colon + 1, 0, 65535, &port) != 0) {
		snprintf(err, errlen, "metrics_listen '%s' is not host:port", listen);
		return -1;
	}
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		snprintf(err, errlen, "metrics_listen '%s': host must be a numeric IPv4 address", listen);
		return -1;
	}
	sa.sin_port = htons((uint16_t)port);
	daemon_ = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, on_request, NULL,
				   MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
	if (daemon_ == NULL) {
		snprintf(err, errlen, "metrics_listen '%s': cannot listen", listen);
		return -1;
	}
	log_info("metrics on %s:%u/metrics", host,
		 (unsigned)MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT)->port);
	return 0;
}

void gw_metrics_stop(void)
{
	if (daemon_)
		MHD_stop_daemon(daemon_);
	daemon_ = NULL;
}
