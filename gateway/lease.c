/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The lease long-poll and the translation of leased jobs (JSON) into SMS for the dispatcher. */
#include "lease.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "dispatch.h"
#include "encode.h"
#include "gateway.h"
#include "json_u64.h"
#include "log.h"
#include "report.h"
#include "util.h"

#define LEASE_RESP_MAX 65536
/* An older server does not say how long its leases are: assume a short one. */
#define LEASE_DEFAULT_S 30

struct lease {
	const struct gw_config *cfg;
	struct conn *conn;
	struct dispatch *dispatch;
	struct reports *reports;
	int in_flight;
	int64_t not_before_ms;
	int backoff_ms;
	int server_ok;
	uint64_t leases, jobs;
	/* While the server cannot be used: since when, how many attempts failed, when it was last
	 * said (repeated at most every LEASE_WARN_EVERY_MS), and the last reason. */
	int64_t down_since_ms, warned_ms;
	uint64_t down_tries;
	char down_why[160];
};

#define LEASE_WARN_EVERY_MS 60000
#define LEASE_BACKOFF_MAX_MS 30000
/* A refused token does not mend itself: ask less often. */
#define LEASE_AUTH_BACKOFF_MAX_MS 60000

struct lease *lease_new(const struct gw_config *cfg, struct conn *c, struct dispatch *d, struct reports *r)
{
	struct lease *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return NULL;
	l->cfg = cfg;
	l->conn = c;
	l->dispatch = d;
	l->reports = r;
	l->server_ok = 1;
	return l;
}

void lease_free(struct lease *l)
{
	free(l);
}

/* What an operator does about a failed lease: by curl's error or the HTTP status. */
static const char *lease_hint(CURLcode rc, long status)
{
	switch (rc) {
	case CURLE_OK: break;
	case CURLE_COULDNT_CONNECT:
		return "is smswake-server running and listening there? check 'server' in the gateway's configuration";
	case CURLE_COULDNT_RESOLVE_HOST: return "check the host name in 'server'";
	case CURLE_OPERATION_TIMEDOUT: return "the server or the network is slow or down";
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CONNECT_ERROR: return "check 'ca_file' and the server's certificate";
	default: return "check 'server' and the network";
	}
	if (status == 401 || status == 403)
		return "the server does not know this gateway's token: put the token `smswakectl gateway add NAME` "
		       "printed there (or add a new gateway if it was revoked), then restart smswake-gateway";
	if (status == 404)
		return "check that 'server' is the base URL of smswake-server's gateway API";
	return "see the server's log";
}

/* One failed lease: back off (0.5 s doubling to 30 s, 60 s for a refused token). The first
 * failure is logged with the URL, the reason and what to do; while it lasts, again at most once a
 * minute; lease_done says when it is over. */
static void backoff(struct lease *l, CURLcode rc, long status, const char *why)
{
	int64_t now = util_mono_ms();
	int auth = rc == CURLE_OK && (status == 401 || status == 403);
	int max = auth ? LEASE_AUTH_BACKOFF_MAX_MS : LEASE_BACKOFF_MAX_MS;
	char what[1200];

	if (auth)
		snprintf(what, sizeof(what), "server %s refused %s (HTTP %ld)", l->cfg->server, l->cfg->token_from,
			 status);
	else
		snprintf(what, sizeof(what), "server %s: %s", l->cfg->server, why);
	if (l->server_ok) {
		l->down_since_ms = now;
		l->down_tries = 0;
		l->warned_ms = 0;
	}
	l->down_tries++;
	if (l->warned_ms == 0 || now - l->warned_ms >= LEASE_WARN_EVERY_MS || strcmp(why, l->down_why) != 0) {
		char msg[2048];
		if (l->warned_ms == 0 || strcmp(why, l->down_why) != 0)
			snprintf(msg, sizeof(msg), "%s; %s; retrying with back-off", what, lease_hint(rc, status));
		else
			snprintf(msg, sizeof(msg), "%s; still, for %lld s (%llu attempts); %s", what,
				 (long long)((now - l->down_since_ms) / 1000), (unsigned long long)l->down_tries,
				 lease_hint(rc, status));
		if (auth)
			log_error("%s", msg);
		else
			log_warnx("%s", msg);
		l->warned_ms = now;
		snprintf(l->down_why, sizeof(l->down_why), "%s", why);
	}
	l->server_ok = 0;
	l->backoff_ms = l->backoff_ms ? l->backoff_ms * 2 : 500;
	if (l->backoff_ms > max)
		l->backoff_ms = max;
	l->not_before_ms = now + l->backoff_ms / 2 + rand() % (l->backoff_ms / 2 + 1);
}

int lease_parse_job(json_t *o, struct dispatch_job *job, int64_t *id)
{
	json_t *jid = json_object_get(o, "job"), *num = json_object_get(o, "msisdn");
	json_t *lt = json_object_get(o, "lease_time");
	const char *format = json_string_value(json_object_get(o, "format"));

	*id = json_is_integer(jid) ? json_integer_value(jid) : 0;
	memset(job, 0, sizeof(*job));
	if (*id <= 0 || !json_is_string(num) || format == NULL ||
	    strlen(json_string_value(num)) >= sizeof(job->sms.number))
		return -1;
	job->id = *id;
	snprintf(job->sms.number, sizeof(job->sms.number), "%s", json_string_value(num));
	job->validity_s = json_integer_value(json_object_get(o, "validity"));
	if (job->validity_s <= 0)
		job->validity_s = 300;
	job->lease_s = json_is_integer(lt) && json_integer_value(lt) > 0 && json_integer_value(lt) < 86400
			       ? json_integer_value(lt)
			       : LEASE_DEFAULT_S;
	job->sms.status_report = json_is_true(json_object_get(o, "status_report"));
	if (strcmp(format, "text") == 0) {
		const char *t = json_string_value(json_object_get(o, "text"));
		if (t == NULL || strlen(t) > MODEM_TEXT_BYTES_MAX)
			return -1;
		snprintf(job->sms.text, sizeof(job->sms.text), "%s", t);
	} else {
		const char *hex = json_string_value(json_object_get(o, "payload"));
		json_t *port = json_object_get(o, "port");
		long n;
		if (hex == NULL || !json_is_integer(port) || json_integer_value(port) < 0 ||
		    json_integer_value(port) > 65535)
			return -1;
		n = enc_unhex(hex, strlen(hex), job->sms.data, sizeof(job->sms.data));
		if (n < 0)
			return -1;
		job->sms.binary = 1;
		job->sms.data_len = (size_t)n;
		job->sms.dst_port = job->sms.src_port = (uint16_t)json_integer_value(port);
	}
	job->sms.validity_minutes = (int)(job->validity_s / 60 > 0 ? job->validity_s / 60 : 1);
	return modem_sms_check(&job->sms) == 0 ? 0 : -1;
}

json_t *lease_load(const char *body, size_t len)
{
	size_t lifted_len = 0;
	char *lifted = json_u64_lift(body, len, &lifted_len);
	json_t *j = lifted ? json_loadb(lifted, lifted_len, 0, NULL) : NULL;

	free(lifted);
	return j;
}

static void lease_done(void *arg, const struct conn_result *res)
{
	struct lease *l = arg;
	int64_t now = util_mono_ms();
	json_t *j, *jobs, *o;
	size_t i;

	l->in_flight = 0;
	if (res->rc != CURLE_OK) {
		backoff(l, res->rc, 0, curl_easy_strerror(res->rc));
		return;
	}
	if (res->status != 200 || res->truncated) {
		char why[64];
		snprintf(why, sizeof(why), "lease answered HTTP %ld%s", res->status,
			 res->truncated ? " (too long)" : "");
		backoff(l, CURLE_OK, res->status, why);
		return;
	}
	if (!l->server_ok)
		log_info("server %s reachable again after %lld s (%llu failed attempts)", l->cfg->server,
			 (long long)((now - l->down_since_ms) / 1000), (unsigned long long)l->down_tries);
	l->server_ok = 1;
	l->backoff_ms = 0;
	l->leases++;
	j = lease_load(res->body, res->len);
	jobs = json_object_get(j, "jobs");
	json_array_foreach (jobs, i, o) {
		struct dispatch_job job;
		int64_t id;
		int rc;

		if (lease_parse_job(o, &job, &id) != 0) {
			if (id > 0)
				reports_add(l->reports, id, "failed", -1, "gateway: malformed job", util_now_ms());
			continue;
		}
		rc = dispatch_take(l->dispatch, &job, now);
		if (rc == 0) {
			l->jobs++;
			log_debug("job %lld leased", (long long)id);
		} else if (rc < 0)
			log_warnx("job %lld: no room; its lease will run out and the server hands it out again",
				  (long long)id);
	}
	json_decref(j);
}

void lease_run(struct lease *l, int64_t now, int stopping)
{
	int cap;
	char body[64];

	if (l->in_flight || now < l->not_before_ms || stopping)
		return;
	cap = dispatch_capacity(l->dispatch, now);
	if (cap <= 0)
		return;
	snprintf(body, sizeof(body), "{\"max\":%d,\"wait\":%d}", cap > 64 ? 64 : cap, l->cfg->lease_wait_s);
	if (conn_post(l->conn, "/v1/gateway/lease", body, l->cfg->lease_wait_s + 15, LEASE_RESP_MAX, lease_done, l) ==
	    0)
		l->in_flight = 1;
}

int lease_server_ok(const struct lease *l)
{
	return l->server_ok;
}

void lease_counts(const struct lease *l, uint64_t *leases, uint64_t *jobs)
{
	*leases = l->leases;
	*jobs = l->jobs;
}
