/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The report queue: a fixed table of pending reports, each posted on its own request and
 * retried with back-off (0.5 s doubling to 30 s) while the server cannot be reached. A 4xx
 * answer drops it (the lease went to another gateway, the job is gone), except an older
 * server's refusal of the "at_ms" field: the gateway then stops sending it. */
#include "report.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "log.h"
#include "util.h"

#define REPORT_MAX 1024

struct report {
	int used;
	int busy; /* a request is in flight */
	int64_t job;
	const char *outcome;
	int reference;
	char error[128];
	int64_t at_ms;
	int64_t not_before_ms;
	int tries;
	struct reports *owner;
};

struct reports {
	struct conn *conn;
	int no_at; /* the server refused "at_ms": an older server */
	uint64_t sent, failures;
	struct report r[REPORT_MAX];
};

struct reports *reports_new(struct conn *c)
{
	struct reports *rs = calloc(1, sizeof(*rs));

	if (rs == NULL)
		return NULL;
	rs->conn = c;
	for (int i = 0; i < REPORT_MAX; i++)
		rs->r[i].owner = rs;
	return rs;
}

void reports_free(struct reports *rs)
{
	free(rs);
}

void reports_add(struct reports *rs, int64_t job, const char *outcome, int reference, const char *error, int64_t at_ms)
{
	for (int i = 0; i < REPORT_MAX; i++) {
		struct report *r = &rs->r[i];
		if (r->used)
			continue;
		r->used = 1;
		r->busy = 0;
		r->job = job;
		r->outcome = outcome;
		r->reference = reference;
		snprintf(r->error, sizeof(r->error), "%s", error ? error : "");
		r->at_ms = at_ms;
		r->not_before_ms = 0;
		r->tries = 0;
		return;
	}
	log_warnx("report queue full: job %lld (%s) not reported; the server will lease it again", (long long)job,
		  outcome);
}

static void report_done(void *arg, const struct conn_result *res)
{
	struct report *r = arg;
	struct reports *rs = r->owner;

	r->busy = 0;
	if (res->rc == CURLE_OK && res->status >= 200 && res->status < 300) {
		rs->sent++;
		r->used = 0;
		return;
	}
	if (res->rc == CURLE_OK && res->status == 400 && !rs->no_at && strstr(res->body, "unknown_field") &&
	    strstr(res->body, "at_ms")) {
		log_info("the server does not take event times in reports (an older server): sending without");
		rs->no_at = 1;
		return; /* again at once, without the field */
	}
	if (res->rc == CURLE_OK && res->status >= 400 && res->status < 500) {
		/* The server will not take it (lease lost to another gateway, job deleted): drop it. */
		log_warnx("server refused report on job %lld (%s): HTTP %ld", (long long)r->job, r->outcome,
			  res->status);
		rs->failures++;
		r->used = 0;
		return;
	}
	r->tries++;
	rs->failures++;
	r->not_before_ms = util_mono_ms() + (r->tries < 6 ? 500 << r->tries : 30000);
}

static char *report_body(const struct reports *rs, const struct report *r)
{
	json_t *j = json_pack("{s:I, s:s}", "job", (json_int_t)r->job, "outcome", r->outcome);
	char *body;

	if (j == NULL)
		return NULL;
	if (r->reference >= 0)
		json_object_set_new(j, "reference", json_integer(r->reference));
	if (r->error[0])
		json_object_set_new(j, "error", json_string(r->error));
	if (!rs->no_at && r->at_ms > 0)
		json_object_set_new(j, "at_ms", json_integer(r->at_ms));
	body = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return body;
}

int reports_run(struct reports *rs, int64_t now_ms)
{
	int64_t next = -1;

	for (int i = 0; i < REPORT_MAX; i++) {
		struct report *r = &rs->r[i];
		char *body;

		if (!r->used || r->busy)
			continue;
		if (r->not_before_ms > now_ms) {
			if (next < 0 || r->not_before_ms - now_ms < next)
				next = r->not_before_ms - now_ms;
			continue;
		}
		body = report_body(rs, r);
		if (body != NULL && conn_post(rs->conn, "/v1/gateway/report", body, 15, 1024, report_done, r) == 0)
			r->busy = 1;
		else
			r->not_before_ms = now_ms + 1000;
		free(body);
	}
	return next > INT32_MAX ? INT32_MAX : (int)next;
}

int reports_find(const struct reports *rs, int64_t job, const char *outcome, int64_t *at_ms, char *error, size_t errlen)
{
	for (int i = 0; i < REPORT_MAX; i++) {
		const struct report *r = &rs->r[i];
		if (!r->used || r->job != job || strcmp(r->outcome, outcome) != 0)
			continue;
		if (at_ms)
			*at_ms = r->at_ms;
		if (error && errlen)
			snprintf(error, errlen, "%s", r->error);
		return 1;
	}
	return 0;
}

void reports_counts(const struct reports *rs, uint64_t *sent, uint64_t *failures)
{
	*sent = rs->sent;
	*failures = rs->failures;
}
