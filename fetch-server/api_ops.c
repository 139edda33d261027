/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Operations endpoints: /healthz (is the store usable; are gateways taking the wakeups) and
 * /metrics (Prometheus text). */
#include <stdio.h>
#include <stdlib.h>

#include "api.h"
#include "api_common.h"
#include "conntrack.h"
#include "longpoll.h"
#include "metrics.h"
#include "scheduler.h"
#include "util.h"

#define METRICS_MAX (64 * 1024)

/* The store decides the status code. The gateways' part is a detail: the server works without
 * them (submits are taken, polls deliver), and restarting it would not bring one back. */
static enum MHD_Result healthz(struct request *r)
{
	struct scheduler_status st;
	int64_t now = util_now_ms();
	json_t *j, *w;
	int rc = store_ping(r->srv->store);

	if (rc != STORE_OK)
		return http_reply_error(r, 503, "unhealthy", "store: %s", store_strerror(rc));
	scheduler_status(r->srv->scheduler, &st);
	if (!st.known)
		return http_reply(r, 200, "application/json", HTTP_LIT("{\"status\":\"ok\"}"), NULL);
	w = json_pack("{s:s, s:i}", "gateways", st.no_gateway ? "none_taking_jobs" : "ok", "waiting", st.waiting);
	json_object_set_new(w, "oldest_waiting_s", json_integer(st.waiting > 0 ? (now - st.oldest_ms) / 1000 : 0));
	json_object_set_new(w, "gateway_last_seen_s",
			    st.gateway_seen_ms > 0 ? json_integer((now - st.gateway_seen_ms) / 1000) : json_null());
	j = json_pack("{s:s, s:o}", "status", "ok", "wakeups", w);
	return http_reply_json(r, 200, j, NULL);
}

static enum MHD_Result metrics(struct request *r)
{
	struct store_stats st;
	char *buf = malloc(METRICS_MAX);
	size_t n;
	enum MHD_Result ret;

	if (buf == NULL)
		return MHD_NO;
	n = metrics_render(buf, METRICS_MAX);
	if (store_stats(r->srv->store, &st) == STORE_OK) {
		n += (size_t)snprintf(
			buf + n, METRICS_MAX - n,
			"# HELP smswake_messages Messages in the store by state.\n# TYPE smswake_messages gauge\n");
		for (int s = 0; s < MSG_STATE_COUNT && n < METRICS_MAX; s++)
			n += (size_t)snprintf(buf + n, METRICS_MAX - n, "smswake_messages{state=\"%s\"} %lld\n",
					      store_msg_state_name(s), (long long)st.messages[s]);
		if (n < METRICS_MAX)
			n += (size_t)snprintf(
				buf + n, METRICS_MAX - n,
				"# HELP smswake_devices Registered devices.\n# TYPE smswake_devices "
				"gauge\nsmswake_devices %lld\n"
				"# HELP smswake_wake_jobs Wake jobs by state.\n# TYPE smswake_wake_jobs gauge\n"
				"smswake_wake_jobs{state=\"queued\"} %lld\nsmswake_wake_jobs{state=\"leased\"} %lld\n"
				"# HELP smswake_store_commits_total Group commits.\n# TYPE smswake_store_commits_total "
				"counter\n"
				"smswake_store_commits_total %llu\n"
				"# HELP smswake_store_committed_ops_total Operations in committed groups.\n"
				"# TYPE smswake_store_committed_ops_total counter\nsmswake_store_committed_ops_total "
				"%llu\n"
				"# HELP smswake_store_largest_group Most operations in one commit.\n"
				"# TYPE smswake_store_largest_group gauge\nsmswake_store_largest_group %llu\n"
				"# HELP smswake_store_commit_failures_total Commits that failed (disk full, I/O).\n"
				"# TYPE smswake_store_commit_failures_total "
				"counter\nsmswake_store_commit_failures_total %llu\n"
				"# HELP smswake_store_reads_total Queries on the store's read connections.\n"
				"# TYPE smswake_store_reads_total counter\nsmswake_store_reads_total %llu\n",
				(long long)st.devices, (long long)st.jobs_queued, (long long)st.jobs_leased,
				(unsigned long long)st.commits, (unsigned long long)st.committed_ops,
				(unsigned long long)st.largest_group, (unsigned long long)st.commit_failures,
				(unsigned long long)st.reads);
	}
	if (n < METRICS_MAX)
		n += (size_t)snprintf(
			buf + n, METRICS_MAX - n,
			"# HELP smswake_longpoll_waiting Requests waiting now.\n# TYPE smswake_longpoll_waiting gauge\n"
			"smswake_longpoll_waiting{api=\"device\"} %d\nsmswake_longpoll_waiting{api=\"gateway\"} %d\n",
			longpoll_count(r->srv->device_waits), longpoll_count(r->srv->gateway_waits));
	if (n < METRICS_MAX) {
		struct conntrack_stats cs;
		conntrack_get_stats(r->srv->conns, &cs);
		n += (size_t)snprintf(
			buf + n, METRICS_MAX - n,
			"# HELP smswake_connections_open HTTP connections open now.\n# TYPE smswake_connections_open "
			"gauge\n"
			"smswake_connections_open %d\n"
			"# HELP smswake_connections_refused_total Connections refused at accept, by reason.\n"
			"# TYPE smswake_connections_refused_total counter\n"
			"smswake_connections_refused_total{reason=\"server_full\"} %llu\n"
			"smswake_connections_refused_total{reason=\"address_limit\"} %llu\n"
			"# HELP smswake_requests_timed_out_total Connections closed because a request did not arrive "
			"complete within request_timeout.\n# TYPE smswake_requests_timed_out_total counter\n"
			"smswake_requests_timed_out_total %llu\n"
			"# HELP smswake_longpoll_refused_total Long-polls answered at once: their address had "
			"per_ip_longpoll_limit waiting.\n# TYPE smswake_longpoll_refused_total counter\n"
			"smswake_longpoll_refused_total %llu\n",
			cs.open, (unsigned long long)cs.refused_total, (unsigned long long)cs.refused_address,
			(unsigned long long)cs.deadline_cut, (unsigned long long)cs.longpoll_refused);
	}
	if (n > METRICS_MAX)
		n = METRICS_MAX;
	ret = http_reply(r, 200, "text/plain; version=0.0.4", buf, n, NULL);
	free(buf);
	return ret;
}

enum MHD_Result api_healthz(struct request *r)
{
	return healthz(r);
}

enum MHD_Result api_metrics(struct request *r)
{
	return metrics(r);
}
