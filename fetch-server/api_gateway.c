/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Gateway API: lease wake jobs (long-poll) and report what became of them. The gateway keeps
 * no durable state: a job whose lease runs out unreported is leased again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_common.h"
#include "encode.h"
#include "longpoll.h"
#include "metrics.h"
#include "util.h"

#define LEASE_MAX 64

static json_t *job_json(const struct store_wake_job *j, int status_report, int64_t lease_s)
{
	char until[32], hex[ENC_HEX_LEN(STORE_WAKE_PAYLOAD_MAX)];
	json_t *o;

	http_time(j->lease_until_ms, until);
	o = json_pack("{s:I, s:s, s:s, s:o, s:I, s:s, s:i}", "job", (json_int_t)j->id, "msisdn", j->msisdn, "format",
		      j->sms_format == SMS_FORMAT_TEXT ? "text" : "binary", "counter", http_json_u64(j->ctr),
		      "validity", (json_int_t)j->validity_s, "lease_expires_at", until, "attempt", j->attempts);
	if (j->sms_format == SMS_FORMAT_TEXT) {
		json_object_set_new(o, "text", json_stringn((const char *)j->payload, j->payload_len));
	} else {
		enc_hex(j->payload, j->payload_len, hex);
		json_object_set_new(o, "payload", json_string(hex));
		json_object_set_new(o, "port", json_integer(j->port));
	}
	json_object_set_new(o, "status_report", json_boolean(status_report));
	json_object_set_new(o, "lease_time", json_integer(lease_s));
	return o;
}

/* Leases jobs; with nothing due it waits up to "wait" seconds, looking again at least every
 * second because leases of other gateways run out without any notification. */
static enum MHD_Result lease(struct request *r)
{
	static const char *const allowed[] = {"max", "wait", NULL};
	struct server *srv = r->srv;
	struct store_wake_job *jobs;
	json_t *arr;
	int n = 0, rc;
	uint64_t gen;

	if (!r->waited) {
		struct store_principal gw;
		int64_t max = 10, wait = 0;
		json_t *body;
		if (api_auth_gateway(r, &gw) != 0)
			return MHD_YES;
		body = r->body_len ? http_json_body(r) : json_object();
		if (body == NULL)
			return MHD_YES;
		if (http_json_check_fields(r, body, allowed) != 0 ||
		    api_json_int(r, body, "max", 1, LEASE_MAX, &max) < 0 ||
		    api_json_int(r, body, "wait", 0, srv->cfg.max_wait_s, &wait) < 0) {
			json_decref(body);
			return MHD_YES;
		}
		json_decref(body);
		r->max = (int)max;
		r->wait_deadline_ms = wait > 0 ? util_mono_ms() + wait * 1000 : 0;
	}
	gen = longpoll_generation(srv->gateway_waits);
	jobs = calloc((size_t)r->max, sizeof(*jobs));
	if (jobs == NULL)
		return MHD_NO;
	rc = store_wake_lease(srv->store, r->principal_id, r->max, srv->cfg.lease_s * 1000, util_now_ms(), jobs, &n);
	if (rc != STORE_OK) {
		free(jobs);
		return api_store_error(r, rc, "job");
	}
	if (n == 0) {
		int64_t now = util_mono_ms();
		free(jobs);
		if (r->wait_deadline_ms > now) {
			int64_t until = r->wait_deadline_ms < now + 1000 ? r->wait_deadline_ms : now + 1000;
			rc = longpoll_wait(srv->gateway_waits, r->conn, 0, until, gen, &r->wake_flag);
			if (rc == 0) {
				r->waited = 1;
				return MHD_YES;
			}
			if (rc == 1)
				return lease(r);
		}
		return http_reply(r, 200, "application/json", HTTP_LIT("{\"jobs\":[]}"), NULL);
	}
	arr = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(arr, job_json(&jobs[i], srv->cfg.sched.status_report, srv->cfg.lease_s));
	free(jobs);
	return http_reply_json(r, 200, json_pack("{s:o}", "jobs", arr), NULL);
}

static enum MHD_Result report(struct request *r)
{
	static const char *const allowed[] = {"job", "outcome", "reference", "error", "at_ms", NULL};
	struct store_principal gw;
	const char *outcome = NULL, *error = NULL;
	int64_t job = 0, ref = -1, at = 0;
	json_t *body;
	int oc, rc;

	if (api_auth_gateway(r, &gw) != 0)
		return MHD_YES;
	body = http_json_body(r);
	if (body == NULL)
		return MHD_YES;
	if (http_json_check_fields(r, body, allowed) != 0 || api_json_int(r, body, "job", 1, INT64_MAX, &job) < 0 ||
	    api_json_int(r, body, "reference", -1, 255, &ref) < 0 ||
	    api_json_int(r, body, "at_ms", 0, INT64_MAX, &at) < 0 ||
	    api_json_str(r, body, "outcome", 32, &outcome) < 0 ||
	    api_json_str(r, body, "error", STORE_ERROR_MAX, &error) < 0) {
		json_decref(body);
		return MHD_YES;
	}
	if (job == 0 || outcome == NULL) {
		json_decref(body);
		return http_reply_error(r, 400, "missing_field", "'job' and 'outcome' are required");
	}
	if ((oc = store_outcome_parse(outcome)) < 0) {
		json_decref(body);
		return http_reply_error(r, 400, "invalid_field",
					"'outcome' must be submitted, failed, delivered or undeliverable");
	}
	/* at_ms: when it happened at the gateway (older gateways do not say: now). */
	rc = store_wake_report(r->srv->store, gw.id, job, oc, ref, error, at, util_now_ms());
	json_decref(body);
	if (rc != STORE_OK)
		return api_store_error(r, rc, "job");
	return http_reply(r, 204, NULL, "", 0, NULL);
}

enum MHD_Result api_gateway_lease(struct request *r)
{
	return lease(r);
}

enum MHD_Result api_gateway_report(struct request *r)
{
	return report(r);
}
