/* SPDX-License-Identifier: GPL-2.0-or-later */
/* smswake-gateway main loop: one thread polls the server connection (libcurl multi: one lease
 * long-poll and any number of reports) and the modem supervisor's descriptor together. Jobs go
 * to the least loaded healthy modem under its rate limits; a job that fails on one modem is
 * tried on another before it is reported failed. Reports that cannot reach the server are
 * retried with back-off; if the gateway dies, the server leases the jobs again. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "encode.h"
#include "gateway.h"
#include "gw_metrics.h"
#include "json_u64.h"
#include "log.h"
#include "util.h"

#define REPORT_MAX 1024

struct report {
	int used;
	int64_t job;
	const char *outcome;
	int reference;
	char error[128];
	int64_t not_before_ms;
	int tries;
	CURL *easy;
	char *body;
};

struct gw {
	struct gw_config cfg;
	struct supervisor *sv;
	CURLM *multi;
	struct curl_slist *headers;
	CURL *lease; /* the lease request in flight, or NULL */
	char *lease_body;
	char lease_resp[65536];
	size_t lease_len;
	int lease_overflow;
	int64_t lease_not_before_ms;
	int lease_backoff_ms;
	struct gw_job jobs[GW_MAX_JOBS];
	struct gw_modem modems[MODEM_INI_MAX];
	struct report reports[REPORT_MAX];
	int nmodems;
	int server_ok;
	uint64_t leases, leased_jobs, reports_sent, report_failures;
};

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

static void usage(void)
{
	fprintf(stderr, "usage: smswake-gateway [-dn] -c config\n");
	exit(2);
}

/* ---- rate limits and modem choice ---- */

static int modem_has_room(struct gw *g, int m, int64_t now)
{
	struct gw_modem *gm = &g->modems[m];
	struct supervisor_modem_info info;

	if (supervisor_modem_info(g->sv, m, &info) != 0 || info.state != SUPERVISOR_MODEM_READY || !info.healthy)
		return 0;
	if (now - gm->minute_start_ms >= 60000) {
		gm->minute_start_ms = now;
		gm->minute_count = 0;
	}
	if (now - gm->day_start_ms >= 86400000) {
		gm->day_start_ms = now;
		gm->day_count = 0;
	}
	if (g->cfg.per_minute[m] > 0 && gm->minute_count >= g->cfg.per_minute[m])
		return 0;
	if (g->cfg.per_day[m] > 0 && gm->day_count >= g->cfg.per_day[m])
		return 0;
	return gm->held < g->cfg.per_modem_jobs;
}

/* Least loaded healthy modem with room that has not failed this job yet; -1 if none. */
static int pick_modem(struct gw *g, uint32_t tried, int64_t now)
{
	int best = -1;
	for (int m = 0; m < g->nmodems; m++) {
		if ((tried & (1u << m)) || !modem_has_room(g, m, now))
			continue;
		if (best < 0 || g->modems[m].held < g->modems[best].held)
			best = m;
	}
	return best;
}

static int capacity(struct gw *g, int64_t now)
{
	int cap = 0, held = 0;
	for (int m = 0; m < g->nmodems; m++)
		if (modem_has_room(g, m, now))
			cap += g->cfg.per_modem_jobs - g->modems[m].held;
	for (int i = 0; i < GW_MAX_JOBS; i++)
		held += g->jobs[i].used && g->jobs[i].modem < 0;
	cap -= held;
	return cap > 0 ? cap : 0;
}

/* ---- reports ---- */

static void queue_report(struct gw *g, int64_t job, const char *outcome, int reference, const char *error)
{
	for (int i = 0; i < REPORT_MAX; i++) {
		struct report *r = &g->reports[i];
		if (r->used)
			continue;
		memset(r, 0, sizeof(*r));
		r->used = 1;
		r->job = job;
		r->outcome = outcome;
		r->reference = reference;
		snprintf(r->error, sizeof(r->error), "%s", error ? error : "");
		return;
	}
	log_warnx("report queue full: job %lld (%s) not reported; the server will lease it again", (long long)job,
		  outcome);
}

static size_t discard(char *p, size_t s, size_t n, void *arg)
{
	(void)p, (void)arg;
	return s * n;
}

static CURL *new_request(struct gw *g, const char *path, const char *body, int timeout_s)
{
	char url[GW_URL_MAX + 64];
	CURL *c = curl_easy_init();

	if (c == NULL)
		return NULL;
	snprintf(url, sizeof(url), "%s%s", g->cfg.server, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, g->headers);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)timeout_s);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (g->cfg.ca_file[0])
		curl_easy_setopt(c, CURLOPT_CAINFO, g->cfg.ca_file);
	return c;
}

static void start_reports(struct gw *g, int64_t now)
{
	for (int i = 0; i < REPORT_MAX; i++) {
		struct report *r = &g->reports[i];
		json_t *j;
		if (!r->used || r->easy || r->not_before_ms > now)
			continue;
		j = json_pack("{s:I, s:s}", "job", (json_int_t)r->job, "outcome", r->outcome);
		if (r->reference >= 0)
			json_object_set_new(j, "reference", json_integer(r->reference));
		if (r->error[0])
			json_object_set_new(j, "error", json_string(r->error));
		r->body = json_dumps(j, JSON_COMPACT);
		json_decref(j);
		r->easy = r->body ? new_request(g, "/v1/gateway/report", r->body, 15) : NULL;
		if (r->easy == NULL) {
			free(r->body);
			r->body = NULL;
			continue;
		}
		curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, discard);
		curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
		curl_multi_add_handle(g->multi, r->easy);
	}
}

static void report_done(struct gw *g, struct report *r, CURLcode rc)
{
	long status = 0;
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_multi_remove_handle(g->multi, r->easy);
	curl_easy_cleanup(r->easy);
	r->easy = NULL;
	free(r->body);
	r->body = NULL;
	if (rc == CURLE_OK && status >= 200 && status < 300) {
		g->reports_sent++;
		r->used = 0;
		return;
	}
	if (rc == CURLE_OK && status >= 400 && status < 500) {
		/* The server will not take it (lease lost to another gateway, job deleted): drop it. */
		log_warnx("server refused report on job %lld (%s): HTTP %ld", (long long)r->job, r->outcome, status);
		g->report_failures++;
		r->used = 0;
		return;
	}
	r->tries++;
	g->report_failures++;
	r->not_before_ms = util_mono_ms() + (r->tries < 6 ? 500 << r->tries : 30000);
}

/* ---- leases ---- */

static size_t lease_write(char *p, size_t s, size_t n, void *arg)
{
	struct gw *g = arg;
	size_t add = s * n;
	if (g->lease_len + add >= sizeof(g->lease_resp)) {
		g->lease_overflow = 1;
		return add;
	}
	memcpy(g->lease_resp + g->lease_len, p, add);
	g->lease_len += add;
	g->lease_resp[g->lease_len] = '\0';
	return add;
}

static void start_lease(struct gw *g, int64_t now)
{
	int cap;
	char body[64];

	if (g->lease || now < g->lease_not_before_ms || stop)
		return;
	cap = capacity(g, util_now_ms());
	if (cap <= 0)
		return;
	snprintf(body, sizeof(body), "{\"max\":%d,\"wait\":%d}", cap > 64 ? 64 : cap, g->cfg.lease_wait_s);
	free(g->lease_body);
	g->lease_body = strdup(body);
	g->lease = g->lease_body ? new_request(g, "/v1/gateway/lease", g->lease_body, g->cfg.lease_wait_s + 15) : NULL;
	if (g->lease == NULL)
		return;
	g->lease_len = 0;
	g->lease_overflow = 0;
	g->lease_resp[0] = '\0';
	curl_easy_setopt(g->lease, CURLOPT_WRITEFUNCTION, lease_write);
	curl_easy_setopt(g->lease, CURLOPT_WRITEDATA, g);
	curl_multi_add_handle(g->multi, g->lease);
}

static void lease_backoff(struct gw *g, const char *why)
{
	if (g->server_ok || g->lease_backoff_ms == 0)
		log_warnx("server: %s; retrying with back-off", why);
	g->server_ok = 0;
	g->lease_backoff_ms = g->lease_backoff_ms ? g->lease_backoff_ms * 2 : 500;
	if (g->lease_backoff_ms > 30000)
		g->lease_backoff_ms = 30000;
	g->lease_not_before_ms = util_mono_ms() + g->lease_backoff_ms / 2 + rand() % (g->lease_backoff_ms / 2 + 1);
}

static void dispatch_job(struct gw *g, struct gw_job *job);

/* Turns one leased job from the server's JSON into an SMS; answers NULL (and reports the job
 * failed) when it is malformed. */
static struct gw_job *take_job(struct gw *g, json_t *o)
{
	json_t *id = json_object_get(o, "job"), *num = json_object_get(o, "msisdn");
	const char *format = json_string_value(json_object_get(o, "format"));
	struct gw_job *job = NULL;

	if (!json_is_integer(id) || !json_is_string(num) || format == NULL)
		return NULL;
	for (int i = 0; i < GW_MAX_JOBS; i++) {
		if (g->jobs[i].used && g->jobs[i].id == json_integer_value(id))
			return NULL; /* already held: a duplicate lease of a job we still work on */
		if (!g->jobs[i].used && job == NULL)
			job = &g->jobs[i];
	}
	if (job == NULL)
		return NULL;
	memset(job, 0, sizeof(*job));
	job->id = json_integer_value(id);
	job->modem = -1;
	snprintf(job->sms.number, sizeof(job->sms.number), "%s", json_string_value(num));
	job->sms.validity_minutes = (int)((json_integer_value(json_object_get(o, "validity")) + 59) / 60);
	if (job->sms.validity_minutes <= 0)
		job->sms.validity_minutes = 5;
	job->sms.status_report = json_is_true(json_object_get(o, "status_report"));
	if (strcmp(format, "text") == 0) {
		const char *t = json_string_value(json_object_get(o, "text"));
		if (t == NULL || strlen(t) > MODEM_TEXT_BYTES_MAX)
			goto bad;
		snprintf(job->sms.text, sizeof(job->sms.text), "%s", t);
	} else {
		const char *hex = json_string_value(json_object_get(o, "payload"));
		json_t *port = json_object_get(o, "port");
		long n;
		if (hex == NULL || !json_is_integer(port) || json_integer_value(port) < 0 ||
		    json_integer_value(port) > 65535)
			goto bad;
		n = enc_unhex(hex, strlen(hex), job->sms.data, sizeof(job->sms.data));
		if (n < 0)
			goto bad;
		job->sms.binary = 1;
		job->sms.data_len = (size_t)n;
		job->sms.dst_port = job->sms.src_port = (uint16_t)json_integer_value(port);
	}
	if (modem_sms_check(&job->sms) != 0)
		goto bad;
	job->used = 1;
	return job;
bad:
	queue_report(g, job->id, "failed", -1, "gateway: malformed job");
	return NULL;
}

static void lease_done(struct gw *g, CURLcode rc)
{
	long status = 0;
	json_t *j, *jobs, *o;
	size_t i, lifted_len = 0;
	char *lifted;

	curl_easy_getinfo(g->lease, CURLINFO_RESPONSE_CODE, &status);
	curl_multi_remove_handle(g->multi, g->lease);
	curl_easy_cleanup(g->lease);
	g->lease = NULL;
	if (rc != CURLE_OK) {
		lease_backoff(g, curl_easy_strerror(rc));
		return;
	}
	if (status != 200 || g->lease_overflow) {
		char why[64];
		snprintf(why, sizeof(why), "lease answered HTTP %ld", status);
		lease_backoff(g, why);
		return;
	}
	if (!g->server_ok)
		log_info("server %s reachable", g->cfg.server);
	g->server_ok = 1;
	g->lease_backoff_ms = 0;
	g->leases++;
	/* A job's counter may be above 2^63 - 1, which jansson cannot hold: such integers are
	 * read as strings (the gateway does not use the counter). */
	lifted = json_u64_lift(g->lease_resp, g->lease_len, &lifted_len);
	j = lifted ? json_loadb(lifted, lifted_len, 0, NULL) : NULL;
	free(lifted);
	jobs = json_object_get(j, "jobs");
	json_array_foreach (jobs, i, o) {
		struct gw_job *job = take_job(g, o);
		if (job) {
			g->leased_jobs++;
			dispatch_job(g, job);
		}
	}
	json_decref(j);
}

/* ---- modems ---- */

static void dispatch_job(struct gw *g, struct gw_job *job)
{
	int64_t now = util_now_ms();
	int m = pick_modem(g, job->tried, now);
	uint32_t sv_job;
	int rc;

	if (m < 0) {
		int untried = 0;
		for (int i = 0; i < g->nmodems; i++)
			untried += !(job->tried & (1u << i));
		if (untried == 0) {
			queue_report(g, job->id, "failed", -1, "failed on every modem");
			job->used = 0;
		}
		return; /* wait for room on a modem; the lease covers a while */
	}
	rc = supervisor_send(g->sv, m, &job->sms, (uint64_t)job->id, &sv_job);
	if (rc != 0) {
		job->tried |= 1u << m;
		if (modem_err_class(rc) == MODEM_CLASS_PERMANENT) {
			queue_report(g, job->id, "failed", -1, modem_strerror(rc));
			job->used = 0;
			return;
		}
		dispatch_job(g, job);
		return;
	}
	job->modem = m;
	g->modems[m].held++;
	g->modems[m].minute_count++;
	g->modems[m].day_count++;
}

static struct gw_job *find_job(struct gw *g, int64_t id)
{
	for (int i = 0; i < GW_MAX_JOBS; i++)
		if (g->jobs[i].used && g->jobs[i].id == id)
			return &g->jobs[i];
	return NULL;
}

static void on_event(const struct supervisor_event *ev, void *arg)
{
	struct gw *g = arg;
	struct gw_job *job;

	switch (ev->type) {
	case SUPERVISOR_EV_JOB:
		if (ev->op != SUPERVISOR_OP_SEND || (job = find_job(g, (int64_t)ev->cookie)) == NULL)
			return;
		if (job->modem >= 0)
			g->modems[job->modem].held--;
		if (ev->status == 0) {
			g->modems[ev->modem].sent++;
			log_info("job %lld sent to %s via %s (reference %d)", (long long)job->id, job->sms.number,
				 ev->modem_name, ev->reference);
			queue_report(g, job->id, "submitted", ev->reference, NULL);
			job->used = 0;
			return;
		}
		g->modems[ev->modem].failed++;
		log_warnx("job %lld failed on %s: %s", (long long)job->id, ev->modem_name, ev->error ? ev->error : "");
		job->tried |= 1u << ev->modem;
		job->modem = -1;
		if (modem_err_class(ev->status) == MODEM_CLASS_PERMANENT) {
			queue_report(g, job->id, "failed", -1, ev->error);
			job->used = 0;
			return;
		}
		dispatch_job(g, job);
		return;
	case SUPERVISOR_EV_REPORT:
		if (!ev->matched || ev->outcome == 1)
			return;
		if (ev->outcome == 0)
			g->modems[ev->modem].delivered++;
		else
			g->modems[ev->modem].undeliverable++;
		queue_report(g, (int64_t)ev->sent_cookie, ev->outcome == 0 ? "delivered" : "undeliverable",
			     ev->in ? ev->in->reference : -1, NULL);
		return;
	case SUPERVISOR_EV_MODEM:
		if (ev->healthy)
			log_info("modem %s: %s, healthy", ev->modem_name, supervisor_state_name(ev->state));
		else
			log_warnx("modem %s: %s, not healthy: %s", ev->modem_name, supervisor_state_name(ev->state),
				  ev->reason ? ev->reason : "");
		return;
	default: return; /* incoming SMS on a gateway modem: already deleted by the supervisor */
	}
}

/* Jobs waiting for a modem get another chance each loop (room frees up, limits reset). */
static void retry_waiting(struct gw *g)
{
	for (int i = 0; i < GW_MAX_JOBS; i++)
		if (g->jobs[i].used && g->jobs[i].modem < 0)
			dispatch_job(g, &g->jobs[i]);
}

static void publish_metrics(struct gw *g)
{
	struct gw_metrics_modem mm[MODEM_INI_MAX];
	for (int m = 0; m < g->nmodems; m++) {
		struct supervisor_modem_info info;
		memset(&mm[m], 0, sizeof(mm[m]));
		if (supervisor_modem_info(g->sv, m, &info) == 0) {
			snprintf(mm[m].name, sizeof(mm[m].name), "%s", info.name);
			mm[m].healthy = info.healthy && info.state == SUPERVISOR_MODEM_READY;
			mm[m].signal = info.last_status.signal_percent;
			mm[m].queued = info.queued;
			mm[m].restarts = info.restarts;
		}
		mm[m].sent = g->modems[m].sent;
		mm[m].failed = g->modems[m].failed;
		mm[m].delivered = g->modems[m].delivered;
		mm[m].undeliverable = g->modems[m].undeliverable;
	}
	gw_metrics_publish(mm, g->nmodems, g->server_ok, g->leases, g->leased_jobs, g->reports_sent,
			   g->report_failures);
}

int main(int argc, char **argv)
{
	static struct gw g;
	const char *cfgpath = NULL;
	char err[512];
	int ch, check = 0, debug = 0;
	int64_t last_metrics = 0;
	char auth[200];

	while ((ch = getopt(argc, argv, "c:dnh")) != -1) {
		switch (ch) {
		case 'c': cfgpath = optarg; break;
		case 'd': debug = 1; break;
		case 'n': check = 1; break;
		default: usage();
		}
	}
	if (cfgpath == NULL || optind != argc)
		usage();
	log_init("smswake-gateway", LOG_LEVEL_INFO, 0);
	if (gw_config_load(&g.cfg, cfgpath, err, sizeof(err)) != 0)
		fatalx("%s", err);
	if (check) {
		printf("%s: configuration OK (%d modems)\n", cfgpath, g.cfg.modems.n);
		return 0;
	}
	log_setlevel(debug ? LOG_LEVEL_DEBUG : g.cfg.log_level);
	srand((unsigned)(util_now_ms() ^ getpid()));
	if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
		fatal("pipe");
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);

	if (supervisor_new(&g.sv, &g.cfg.modems.opt, on_event, &g) != 0)
		fatalx("cannot create the modem supervisor");
	for (int m = 0; m < g.cfg.modems.n; m++)
		if (g.cfg.modems.enabled[m] && supervisor_add_modem(g.sv, &g.cfg.modems.modems[m]) >= 0)
			g.nmodems++;
	modem_ini_clear(&g.cfg.modems);
	if (supervisor_start(g.sv) != 0)
		fatal("cannot start the modem workers");
	if (g.cfg.metrics_listen[0] && gw_metrics_start(g.cfg.metrics_listen, err, sizeof(err)) != 0)
		fatalx("%s", err);

	curl_global_init(CURL_GLOBAL_DEFAULT);
	g.multi = curl_multi_init();
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", g.cfg.token);
	g.headers = curl_slist_append(NULL, auth);
	g.headers = curl_slist_append(g.headers, "Content-Type: application/json");
	g.headers = curl_slist_append(g.headers, "Expect:");
	explicit_bzero(auth, sizeof(auth));
	g.server_ok = 1;
	log_info("gateway started: %d modems, server %s", g.nmodems, g.cfg.server);

	while (!stop) {
		struct curl_waitfd extra[2] = {
			{.fd = supervisor_fd(g.sv), .events = CURL_WAIT_POLLIN},
			{.fd = wake_pipe[0], .events = CURL_WAIT_POLLIN},
		};
		int running, timeout = supervisor_timeout_ms(g.sv), msgs;
		int64_t now = util_mono_ms();
		CURLMsg *msg;

		retry_waiting(&g);
		start_lease(&g, now);
		start_reports(&g, now);
		curl_multi_perform(g.multi, &running);
		while ((msg = curl_multi_info_read(g.multi, &msgs)) != NULL) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			if (msg->easy_handle == g.lease) {
				lease_done(&g, msg->data.result);
			} else {
				struct report *r = NULL;
				curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
				if (r)
					report_done(&g, r, msg->data.result);
			}
		}
		if (timeout < 0 || timeout > 200)
			timeout = 200;
		curl_multi_poll(g.multi, extra, 2, timeout, NULL);
		{
			char buf[16];
			while (read(wake_pipe[0], buf, sizeof(buf)) > 0)
				;
		}
		supervisor_process(g.sv);
		if (util_mono_ms() - last_metrics >= 1000) {
			publish_metrics(&g);
			last_metrics = util_mono_ms();
		}
	}
	log_info("stopping: unreported jobs go back to the server when their leases run out");
	if (g.lease) {
		curl_multi_remove_handle(g.multi, g.lease);
		curl_easy_cleanup(g.lease);
	}
	for (int i = 0; i < REPORT_MAX; i++)
		if (g.reports[i].easy) {
			curl_multi_remove_handle(g.multi, g.reports[i].easy);
			curl_easy_cleanup(g.reports[i].easy);
			free(g.reports[i].body);
		}
	free(g.lease_body);
	curl_slist_free_all(g.headers);
	curl_multi_cleanup(g.multi);
	curl_global_cleanup();
	gw_metrics_stop();
	supervisor_free(g.sv);
	explicit_bzero(g.cfg.token, sizeof(g.cfg.token));
	return 0;
}
