/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Wake jobs, counters and scheduling on PostgreSQL, safe with any number of servers: a device has
 * at most one outstanding job (a unique partial index), a scheduler's job is added only if the
 * decision it comes from still holds with the device row locked (job_guard), counters are
 * incremented on the locked device row and committed before a job can carry them, and due jobs
 * are leased with FOR UPDATE SKIP LOCKED so two gateways asking two servers never get the same
 * job. Contracts: store.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pg_int.h"
#include "pg_ops.h"

#define JOB_COLS                                                                                                       \
	"id, device_id, msisdn, sms_format, port, ctr, payload, validity_s, due_ms, "                                  \
	"lease_until_ms, state, attempts, reference, error"
/* a > b for wake counters stored as bigints with the bits of unsigned values. */
#define U_GT(a, b) "(CASE WHEN (" a " < 0) = (" b " < 0) THEN " a " > " b " ELSE " a " < 0 END)"
#define EVENT_INSERT "INSERT INTO message_events(message_id, time_ms, state, what, detail) "

static void job_row(const PGresult *r, int i, struct store_wake_job *j)
{
	memset(j, 0, sizeof(*j));
	j->id = pg_i64(r, i, 0);
	j->device_id = pg_i64(r, i, 1);
	pg_text(j->msisdn, sizeof(j->msisdn), r, i, 2);
	j->sms_format = (int)pg_i64(r, i, 3);
	j->port = (int)pg_i64(r, i, 4);
	j->ctr = (uint64_t)pg_i64(r, i, 5);
	j->payload_len = pg_bytes(j->payload, sizeof(j->payload), r, i, 6);
	j->validity_s = pg_i64(r, i, 7);
	j->due_ms = pg_i64(r, i, 8);
	j->lease_until_ms = pg_i64(r, i, 9);
	j->state = (int)pg_i64(r, i, 10);
	j->attempts = (int)pg_i64(r, i, 11);
	j->reference = pg_i64(r, i, 12);
	pg_text(j->error, sizeof(j->error), r, i, 13);
}

struct job_add_arg {
	struct store_wake_job *j;
	int64_t now_ms;
};

/* The class of the advisory locks that serialise guarded job adds per provider (the other
 * number is the provider's id); the events' order lock (pg_schema.c) is class 1936553825. */
#define PG_BUDGET_LOCK 1936548420

/* A refusal: nothing of the transaction is kept. */
static int refuse(struct store_wake_job *j, int why)
{
	j->refused = why;
	return STORE_STALE;
}

/* The guard of a scheduler's job (store.h, store_wake_job_add). The device row is locked first,
 * skipped rather than waited for when another transaction holds it (another server deciding
 * about the device, or an ack): every job add locks that row before it inserts, so the device's
 * newest job and its counts read next are final until this transaction ends. The provider's
 * budget is counted under a transaction-level advisory lock that every guarded add of the
 * provider takes, in a statement of its own after the lock (READ COMMITTED: it sees each job
 * committed before the lock was granted). Lock order is device row, then budget lock, and a
 * holder of the budget lock waits for nothing else, so two adds cannot deadlock. */
static int job_guard(PGconn *c, struct job_add_arg *a)
{
	struct store_wake_job *j = a->j;
	struct pg_params p = {0};
	int64_t provider, last, hour, day, budget;
	PGresult *r;
	int rc;

	pgp_i64(&p, j->device_id);
	rc = pg_exec(c, "job guard", "SELECT provider_id FROM devices WHERE id = $1 FOR UPDATE SKIP LOCKED", &p, &r);
	if (rc != STORE_OK)
		return rc;
	if (PQntuples(r) != 1) {
		PQclear(r);
		rc = pg_exec(c, "job guard", "SELECT 1 FROM devices WHERE id = $1", &p, &r);
		if (rc == STORE_OK)
			rc = PQntuples(r) == 1 ? refuse(j, WAKE_REFUSED_BUSY) : STORE_NOTFOUND;
		PQclear(r);
		return rc;
	}
	provider = pg_i64(r, 0, 0);
	PQclear(r);
	pgp_i64(&p, a->now_ms - 3600 * 1000LL);
	pgp_i64(&p, a->now_ms - 86400 * 1000LL);
	rc = pg_exec(c, "job guard",
		     "SELECT (SELECT max(id) FROM wake_jobs WHERE device_id = $1), "
		     "count(*) FILTER (WHERE created_ms > $2), count(*) "
		     "FROM wake_jobs WHERE device_id = $1 AND created_ms > $3",
		     &p, &r);
	if (rc != STORE_OK)
		return rc;
	last = pg_i64(r, 0, 0);
	hour = pg_i64(r, 0, 1);
	day = pg_i64(r, 0, 2);
	PQclear(r);
	if (last != j->guard.last_job_id)
		return refuse(j, WAKE_REFUSED_STALE);
	if ((j->guard.per_hour > 0 && hour >= j->guard.per_hour) || (j->guard.per_day > 0 && day >= j->guard.per_day))
		return refuse(j, WAKE_REFUSED_DEVICE_LIMIT);

	memset(&p, 0, sizeof(p));
	pgp_i64(&p, provider);
	rc = pg_exec(c, "job guard", "SELECT sms_budget_day FROM providers WHERE id = $1", &p, &r);
	if (rc != STORE_OK)
		return rc;
	budget = PQntuples(r) == 1 ? pg_i64(r, 0, 0) : 0;
	PQclear(r);
	if (budget <= 0)
		return STORE_OK;
	pgp_i64(&p, PG_BUDGET_LOCK);
	rc = pg_cmd(c, "budget lock", "SELECT pg_advisory_xact_lock($2::integer, ($1::bigint % 2147483647)::integer)",
		    &p);
	if (rc != STORE_OK)
		return rc;
	p.n = 1;
	pgp_i64(&p, a->now_ms - 86400 * 1000LL);
	rc = pg_exec(c, "job guard",
		     "SELECT p.sms_budget_day, (SELECT count(*) FROM wake_jobs j WHERE j.provider_id = p.id "
		     "AND j.created_ms > $2) FROM providers p WHERE p.id = $1",
		     &p, &r);
	if (rc != STORE_OK)
		return rc;
	if (PQntuples(r) == 1 && pg_i64(r, 0, 0) > 0 && pg_i64(r, 0, 1) >= pg_i64(r, 0, 0))
		rc = refuse(j, WAKE_REFUSED_BUDGET);
	PQclear(r);
	return rc;
}

/* The device's next wake counter, taken in the job's own transaction (the row is locked until
 * it ends), and the payload built with it (store.h, job->build). */
static int job_build(PGconn *c, struct store_wake_job *j)
{
	struct pg_params p = {0};
	PGresult *r;
	int rc;

	pgp_i64(&p, j->device_id);
	rc = pg_exec(c, "job counter",
		     "UPDATE devices SET wake_ctr = CASE WHEN wake_ctr = 9223372036854775807 "
		     "THEN -9223372036854775808 ELSE wake_ctr + 1 END WHERE id = $1 AND wake_ctr <> -1 "
		     "RETURNING wake_ctr",
		     &p, &r);
	if (rc != STORE_OK)
		return rc;
	if (PQntuples(r) != 1) {
		PQclear(r);
		rc = pg_exec(c, "job counter", "SELECT 1 FROM devices WHERE id = $1", &p, &r);
		if (rc == STORE_OK)
			rc = PQntuples(r) == 1 ? STORE_CONFLICT : STORE_NOTFOUND; /* counter exhausted */
		PQclear(r);
		return rc;
	}
	j->ctr = (uint64_t)pg_i64(r, 0, 0);
	PQclear(r);
	if (j->build(j->build_arg, j) != 0 || j->payload_len > STORE_WAKE_PAYLOAD_MAX)
		return STORE_ERROR;
	return STORE_OK;
}

static int job_add_tx(PGconn *c, void *arg)
{
	struct job_add_arg *a = arg;
	struct store_wake_job *j = a->j;
	struct pg_params p = {0};
	PGresult *r;
	int64_t provider;
	int rc;

	if (j->guard.check && (rc = job_guard(c, a)) != STORE_OK)
		return rc;
	if (j->build != NULL && (rc = job_build(c, j)) != STORE_OK)
		return rc;
	pgp_i64(&p, j->device_id);
	pgp_i64(&p, (int64_t)j->ctr);
	/* The device row's lock orders this against counters, acks and other servers' jobs. */
	rc = pg_exec(
		c, "job add",
		"UPDATE devices SET wake_ctr = CASE WHEN " U_GT(
			"$2::bigint", "wake_ctr") " THEN $2::bigint "
						  "ELSE wake_ctr END WHERE id = $1 AND ($2::bigint = 0 OR NOT " U_GT(
							  "wake_ctr", "$2::bigint") ") "
										    "RETURNING msisdn, provider_id",
		&p, &r);
	if (rc != STORE_OK)
		return rc;
	if (PQntuples(r) != 1) {
		PQclear(r);
		p.n = 1;
		rc = pg_exec(c, "job add", "SELECT 1 FROM devices WHERE id = $1", &p, &r);
		if (rc == STORE_OK)
			rc = PQntuples(r) == 1 ? STORE_CONFLICT : STORE_NOTFOUND;
		PQclear(r);
		return rc;
	}
	if (j->msisdn[0] == '\0')
		pg_text(j->msisdn, sizeof(j->msisdn), r, 0, 0);
	provider = pg_i64(r, 0, 1);
	PQclear(r);
	memset(&p, 0, sizeof(p));
	pgp_i64(&p, j->device_id);
	pgp_text(&p, j->msisdn);
	pgp_i64(&p, j->sms_format);
	pgp_i64(&p, j->port);
	pgp_i64(&p, (int64_t)j->ctr);
	pgp_bytes(&p, j->payload, j->payload_len);
	pgp_i64(&p, j->validity_s);
	pgp_i64(&p, j->due_ms);
	pgp_i64(&p, a->now_ms);
	pgp_i64(&p, provider);
	/* A second outstanding job for the device violates wake_jobs_outstanding: STORE_CONFLICT. */
	rc = pg_exec(c, "job insert",
		     "INSERT INTO wake_jobs(device_id, provider_id, msisdn, sms_format, port, ctr, payload, "
		     "validity_s, due_ms, created_ms, updated_ms) "
		     "VALUES ($1, $10, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
		     &p, &r);
	if (rc == STORE_OK)
		j->id = pg_i64(r, 0, 0);
	PQclear(r);
	if (rc == STORE_OK)
		rc = pg_cmd(c, "notify", "SELECT pg_notify('smswake_job', '')", NULL);
	return rc;
}

int pg_wake_job_add(struct store *st, struct store_wake_job *job, int64_t now_ms)
{
	struct job_add_arg a = {job, now_ms};
	int rc;

	if (job == NULL || job->device_id <= 0 || (job->msisdn[0] != '\0' && !store_valid_msisdn(job->msisdn)) ||
	    (job->sms_format != SMS_FORMAT_BINARY && job->sms_format != SMS_FORMAT_TEXT) || job->port < 0 ||
	    job->port > 65535 || job->payload_len > STORE_WAKE_PAYLOAD_MAX || job->validity_s < 0 ||
	    (job->guard.check && (job->guard.last_job_id < 0 || job->guard.per_hour < 0 || job->guard.per_day < 0)))
		return STORE_ERROR;
	job->refused = WAKE_REFUSED_NONE;
	rc = pg_tx(PG(st), job_add_tx, &a);
	if (rc == STORE_OK) {
		job->state = JOB_QUEUED;
		job->attempts = 0;
		job->lease_until_ms = 0;
		job->reference = -1;
		job->error[0] = '\0';
	}
	return rc;
}

struct lease_arg {
	int64_t gateway_id, lease_ms, now_ms;
	int max, n;
	struct store_wake_job *jobs;
};

static int lease_tx(PGconn *c, void *arg)
{
	struct lease_arg *a = arg;
	struct pg_params p = {0};
	PGresult *r;
	int rc;

	pgp_i64(&p, a->now_ms);
	pgp_i64(&p, PG_JOB_MAX_ATTEMPTS);
	rc = pg_cmd(c, "lease exhausted",
		    "UPDATE wake_jobs SET state = 4, error = 'lease expired', updated_ms = $1 "
		    "WHERE state = 1 AND lease_until_ms <= $1 AND attempts >= $2",
		    &p);
	if (rc != STORE_OK)
		return rc;
	/* Jobs the device no longer needs go (see store.h); the rest are locked, skipping any that
	 * another server is leasing right now, and leased. */
	memset(&p, 0, sizeof(p));
	pgp_i64(&p, a->now_ms);
	pgp_i64(&p, a->max);
	pgp_i64(&p, a->gateway_id);
	pgp_i64(&p, a->now_ms + a->lease_ms);
	rc = pg_exec(c, "lease",
		     "WITH due AS (SELECT j.id, j.due_ms FROM wake_jobs j WHERE (j.state = 0 AND j.due_ms <= $1) "
		     "OR (j.state = 1 AND j.lease_until_ms <= $1) ORDER BY j.due_ms, j.id LIMIT $2 "
		     "FOR UPDATE SKIP LOCKED), "
		     "chk AS (SELECT j.id, (SELECT max(m.expires_ms) FROM messages m WHERE m.device_id = j.device_id "
		     "AND m.state IN (0,1,2) AND m.expires_ms > $1) AS expiry, "
		     "d.wake_state <> 2 AND j.msisdn = d.msisdn AND j.sms_format = d.sms_format "
		     "AND (j.ctr = 0 OR NOT " U_GT(
			     "d.wake_ctr", "j.ctr") ") AS ok "
						    "FROM due JOIN wake_jobs j ON j.id = due.id LEFT JOIN devices d ON "
						    "d.id = j.device_id), "
						    "dropped AS (DELETE FROM wake_jobs WHERE id IN (SELECT id FROM chk "
						    "WHERE ok IS NOT TRUE OR expiry IS NULL)) "
						    "UPDATE wake_jobs j SET state = 1, gateway_id = $3, lease_until_ms "
						    "= $4, attempts = attempts + 1, "
						    "updated_ms = $1, validity_s = least(j.validity_s, greatest(1, "
						    "(chk.expiry - $1) / 1000)) "
						    "FROM chk WHERE j.id = chk.id AND chk.ok AND chk.expiry IS NOT "
						    "NULL RETURNING j.id, j.device_id, "
						    "j.msisdn, j.sms_format, j.port, j.ctr, j.payload, j.validity_s, "
						    "j.due_ms, j.lease_until_ms, "
						    "j.state, j.attempts, j.reference, j.error",
		     &p, &r);
	if (rc != STORE_OK)
		return rc;
	a->n = PQntuples(r);
	for (int i = 0; i < a->n && i < a->max; i++)
		job_row(r, i, &a->jobs[i]);
	PQclear(r);
	memset(&p, 0, sizeof(p));
	pgp_i64(&p, a->gateway_id);
	pgp_i64(&p, a->now_ms);
	return pg_cmd(c, "gateway seen", "UPDATE gateways SET last_seen_ms = greatest(last_seen_ms, $2) WHERE id = $1",
		      &p);
}

static int by_due(const void *x, const void *y)
{
	const struct store_wake_job *a = x, *b = y;

	if (a->due_ms != b->due_ms)
		return a->due_ms < b->due_ms ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

int pg_wake_lease(struct store *st, int64_t gateway_id, int max, int64_t lease_ms, int64_t now_ms,
		  struct store_wake_job *jobs, int *n)
{
	struct lease_arg a = {gateway_id, lease_ms, now_ms, 0, 0, jobs};
	int rc;

	if (n != NULL)
		*n = 0;
	if (gateway_id <= 0 || max <= 0 || jobs == NULL || n == NULL || lease_ms < 0 || now_ms < 0 ||
	    lease_ms > INT64_MAX - now_ms)
		return STORE_ERROR;
	a.max = max < PG_LEASE_MAX ? max : PG_LEASE_MAX;
	/* Dropped jobs leave room: a few rounds fill up to max while due jobs remain. */
	for (int round = 0; round < 4 && *n < a.max; round++) {
		a.jobs = jobs + *n;
		a.max = (max < PG_LEASE_MAX ? max : PG_LEASE_MAX) - *n;
		a.n = 0;
		rc = pg_tx(PG(st), lease_tx, &a);
		if (rc != STORE_OK)
			return *n > 0 ? STORE_OK : rc;
		*n += a.n;
		if (a.n == 0)
			break;
	}
	qsort(jobs, (size_t)*n, sizeof(*jobs), by_due);
	return STORE_OK;
}

static int error_len(const char *e)
{
	size_t n;

	if (e == NULL)
		return 0;
	n = strnlen(e, STORE_ERROR_MAX + 1);
	if (n > STORE_ERROR_MAX) {
		n = STORE_ERROR_MAX;
		while (n > 0 && ((unsigned char)e[n] & 0xc0) == 0x80)
			n--;
	}
	return (int)n;
}

static int64_t report_time(int64_t at_ms, int64_t lo, int64_t now_ms)
{
	if (at_ms <= 0 || at_ms > now_ms)
		at_ms = now_ms;
	return at_ms < lo ? (lo < now_ms ? lo : now_ms) : at_ms;
}

struct report_arg {
	struct pg_store *st;
	int64_t gateway_id, job_id, reference, at_ms, now_ms;
	int outcome;
	const char *error;
};

static int device_note(PGconn *c, int64_t device, int64_t now_ms, const char *what, const char *detail)
{
	struct pg_params p = {0};

	pgp_i64(&p, device);
	pgp_i64(&p, now_ms);
	pgp_text(&p, what);
	pgp_text(&p, detail);
	return pg_cmd(
		c, "report note",
		EVENT_INSERT "SELECT id, $2, -1, $3, $4 FROM messages WHERE device_id = $1 AND state IN (0,1,2,3)", &p);
}

static int64_t touch_seen(struct pg_store *st, int64_t id)
{
	int64_t seen = 0;

	pthread_mutex_lock(&st->lock);
	for (size_t i = 0; i < st->ntouch; i++)
		if (st->touch[i].id == id && st->touch[i].seen_ms > seen)
			seen = st->touch[i].seen_ms;
	pthread_mutex_unlock(&st->lock);
	return seen;
}

static int job_submitted(struct report_arg *a, PGconn *c, int64_t device, int64_t ref, int64_t at_ms, int64_t leased_ms)
{
	struct pg_params p = {0};
	char detail[64];
	int rc;

	pgp_i64(&p, a->job_id);
	pgp_i64(&p, ref);
	pgp_i64(&p, a->now_ms);
	pgp_i64(&p, at_ms);
	rc = pg_cmd(c, "report submitted",
		    "UPDATE wake_jobs SET state = 2, reference = $2, updated_ms = $3, sent_ms = $4 WHERE id = $1", &p);
	if (rc != STORE_OK)
		return rc;
	snprintf(detail, sizeof(detail), "job %lld ref %lld", (long long)a->job_id, (long long)ref);
	memset(&p, 0, sizeof(p));
	pgp_i64(&p, device);
	pgp_i64(&p, at_ms);
	pgp_text(&p, detail);
	pgp_i64(&p, a->job_id);
	pgp_i64(&p, leased_ms);
	rc = pg_cmd(c, "report wake_sent",
		    "INSERT INTO message_events(message_id, time_ms, state, what, detail, job_id) "
		    "SELECT m.id, least($2, coalesce((SELECT min(e.time_ms) - 1 FROM message_events e "
		    "WHERE e.message_id = m.id AND e.state >= 3), $2)), "
		    "CASE WHEN EXISTS (SELECT 1 FROM message_events e WHERE e.message_id = m.id AND e.state = 1) "
		    "THEN -1 ELSE 1 END, 'wake_sent', $3, $4 "
		    "FROM messages m WHERE m.device_id = $1 AND m.created_ms <= $2 "
		    "AND (m.state IN (0,1,2) OR m.updated_ms >= $5) "
		    "AND NOT EXISTS (SELECT 1 FROM message_events e WHERE e.message_id = m.id "
		    "AND e.state >= 3 AND e.time_ms < $5)",
		    &p);
	p.n = 2;
	if (rc == STORE_OK)
		rc = pg_cmd(c, "report wake_sent",
			    "UPDATE messages SET state = 1, updated_ms = $2 WHERE device_id = $1 AND state = 0 "
			    "AND created_ms <= $2",
			    &p);
	if (rc == STORE_OK && touch_seen(a->st, device) < leased_ms) {
		memset(&p, 0, sizeof(p));
		pgp_i64(&p, device);
		pgp_i64(&p, at_ms);
		pgp_i64(&p, leased_ms);
		rc = pg_cmd(c, "report device sent",
			    "UPDATE devices SET wake_state = CASE WHEN wake_state = 2 THEN 2 ELSE 1 END, "
			    "wake_sent_ms = greatest(wake_sent_ms, $2), wake_attempts = wake_attempts + 1 "
			    "WHERE id = $1 AND last_seen_ms < $3",
			    &p);
	}
	return rc;
}

static int job_delivered(struct report_arg *a, PGconn *c, int64_t ref, int64_t at_ms)
{
	struct pg_params p = {0};
	char detail[64];
	int rc;

	pgp_i64(&p, a->job_id);
	pgp_i64(&p, a->reference);
	pgp_i64(&p, a->now_ms);
	rc = pg_cmd(c, "report delivered",
		    "UPDATE wake_jobs SET state = 3, reference = CASE WHEN $2 >= 0 THEN $2 ELSE reference END, "
		    "updated_ms = $3 WHERE id = $1",
		    &p);
	if (rc != STORE_OK)
		return rc;
	snprintf(detail, sizeof(detail), "job %lld ref %lld", (long long)a->job_id, (long long)ref);
	memset(&p, 0, sizeof(p));
	pgp_i64(&p, a->job_id);
	pgp_i64(&p, at_ms);
	pgp_text(&p, detail);
	rc = pg_cmd(c, "report sms_delivered",
		    "INSERT INTO message_events(message_id, time_ms, state, what, detail, job_id) "
		    "SELECT e.message_id, $2, CASE WHEN EXISTS (SELECT 1 FROM message_events x "
		    "WHERE x.message_id = e.message_id AND x.state = 2) THEN -1 ELSE 2 END, 'sms_delivered', $3, $1 "
		    "FROM message_events e WHERE e.job_id = $1 AND e.job_id > 0 AND e.what = 'wake_sent' "
		    "AND NOT EXISTS (SELECT 1 FROM message_events x WHERE x.message_id = e.message_id "
		    "AND x.job_id = $1 AND x.what = 'sms_delivered')",
		    &p);
	p.n = 2;
	if (rc == STORE_OK)
		rc = pg_cmd(
			c, "report delivered",
			"UPDATE messages SET state = 2, updated_ms = $2 WHERE state = 1 AND id IN (SELECT message_id "
			"FROM message_events WHERE job_id = $1 AND job_id > 0 AND what = 'wake_sent')",
			&p);
	return rc;
}

static int report_tx(PGconn *c, void *arg)
{
	struct report_arg *a = arg;
	const char *err = a->error ? a->error : "";
	int elen = error_len(a->error), state, attempts, rc;
	int64_t device, gw, ref, leased_ms, sent_ms, now = a->now_ms;
	char detail[STORE_ERROR_MAX + 1];
	struct pg_params p = {0};
	PGresult *r;

	pgp_i64(&p, a->job_id);
	/* The job's row lock: a report racing a lease or another report waits. */
	rc = pg_exec(c, "report",
		     "SELECT device_id, state, gateway_id, attempts, reference, updated_ms, sent_ms "
		     "FROM wake_jobs WHERE id = $1 FOR UPDATE",
		     &p, &r);
	if (rc == STORE_OK && PQntuples(r) != 1)
		rc = STORE_NOTFOUND;
	if (rc != STORE_OK) {
		PQclear(r);
		return rc;
	}
	device = pg_i64(r, 0, 0);
	state = (int)pg_i64(r, 0, 1);
	gw = pg_i64(r, 0, 2);
	attempts = (int)pg_i64(r, 0, 3);
	ref = pg_i64(r, 0, 4);
	leased_ms = pg_i64(r, 0, 5);
	sent_ms = pg_i64(r, 0, 6);
	PQclear(r);
	if (gw != a->gateway_id || state == JOB_QUEUED)
		return STORE_NOTFOUND;
	if (state == JOB_DELIVERED || state == JOB_FAILED || state == JOB_UNDELIVERABLE)
		return STORE_OK;
	if (a->reference >= 0)
		ref = a->reference;
	switch (a->outcome) {
	case OUTCOME_SUBMITTED:
		if (state == JOB_SUBMITTED)
			return STORE_OK;
		rc = job_submitted(a, c, device, ref, report_time(a->at_ms, leased_ms, now), leased_ms);
		break;
	case OUTCOME_DELIVERED:
		rc = STORE_OK;
		if (state == JOB_LEASED) {
			sent_ms = report_time(a->at_ms, leased_ms, now);
			rc = job_submitted(a, c, device, ref, sent_ms, leased_ms);
		}
		if (rc == STORE_OK)
			rc = job_delivered(a, c, ref, report_time(a->at_ms, sent_ms, now));
		break;
	case OUTCOME_FAILED:
	case OUTCOME_UNDELIVERABLE:
		memset(&p, 0, sizeof(p));
		pgp_i64(&p, a->job_id);
		pgp_i64(&p, now);
		if (a->outcome == OUTCOME_FAILED && attempts < PG_JOB_MAX_ATTEMPTS) {
			int64_t delay = (int64_t)PG_JOB_RETRY_MS << (attempts > 1 ? attempts - 1 : 0);

			snprintf(detail, sizeof(detail), "%.*s", elen, err);
			pgp_text(&p, detail);
			pgp_i64(&p, now + delay);
			rc = pg_cmd(c, "report failed",
				    "UPDATE wake_jobs SET state = 0, gateway_id = 0, lease_until_ms = 0, due_ms = $4, "
				    "error = $3, updated_ms = $2 WHERE id = $1",
				    &p);
			snprintf(detail, sizeof(detail), "job %lld attempt %d, retrying in %lld s: %.*s",
				 (long long)a->job_id, attempts, (long long)(delay / 1000), elen, err);
			if (rc == STORE_OK)
				rc = device_note(c, device, now, "wake_failed", detail);
			break;
		}
		snprintf(detail, sizeof(detail), "%.*s", elen, err);
		pgp_text(&p, detail);
		pgp_i64(&p, a->outcome == OUTCOME_FAILED ? JOB_FAILED : JOB_UNDELIVERABLE);
		rc = pg_cmd(c, "report final",
			    "UPDATE wake_jobs SET state = $4, error = $3, updated_ms = $2 WHERE id = $1", &p);
		snprintf(detail, sizeof(detail), "job %lld: %.*s", (long long)a->job_id, elen, err);
		if (rc == STORE_OK)
			rc = device_note(c, device, now,
					 a->outcome == OUTCOME_FAILED ? "wake_failed" : "wake_undeliverable", detail);
		if (rc == STORE_OK && a->outcome == OUTCOME_UNDELIVERABLE) {
			memset(&p, 0, sizeof(p));
			pgp_i64(&p, device);
			rc = pg_cmd(c, "device unreachable",
				    "UPDATE devices SET wake_state = 2 WHERE id = $1 AND wake_state = 1", &p);
		}
		break;
	default: return STORE_ERROR;
	}
	if (rc == STORE_OK) {
		memset(&p, 0, sizeof(p));
		pgp_i64(&p, a->gateway_id);
		pgp_i64(&p, now);
		rc = pg_cmd(c, "gateway seen",
			    "UPDATE gateways SET last_seen_ms = greatest(last_seen_ms, $2) WHERE id = $1", &p);
	}
	return rc;
}

int pg_wake_report(struct store *st, int64_t gateway_id, int64_t job_id, int outcome, int64_t reference,
		   const char *error, int64_t at_ms, int64_t now_ms)
{
	struct report_arg a = {PG(st), gateway_id, job_id, reference, at_ms, now_ms, outcome, error};

	if (gateway_id <= 0 || outcome < OUTCOME_SUBMITTED || outcome > OUTCOME_UNDELIVERABLE || at_ms < 0)
		return STORE_ERROR;
	return pg_tx(PG(st), report_tx, &a);
}

int pg_wake_job_get(struct store *st, int64_t job_id, struct store_wake_job *out)
{
	struct pg_params p = {0};
	PGresult *r;
	int rc;

	if (out == NULL)
		return STORE_ERROR;
	pgp_i64(&p, job_id);
	rc = pg_read(PG(st), "job get", "SELECT " JOB_COLS " FROM wake_jobs WHERE id = $1", &p, &r);
	if (rc == STORE_OK && PQntuples(r) != 1)
		rc = STORE_NOTFOUND;
	if (rc == STORE_OK)
		job_row(r, 0, out);
	PQclear(r);
	return rc;
}

int pg_wake_counter_next(struct store *st, int64_t device_id, uint64_t *ctr)
{
	struct pg_params p = {0};
	PGresult *r;
	int rc;

	if (ctr == NULL)
		return STORE_ERROR;
	pgp_i64(&p, device_id);
	/* One statement, one transaction: committed before it returns, so a payload built with the
	 * counter is never repeated, whichever server builds the next one. */
	rc = pg_read(PG(st), "wake counter",
		     "UPDATE devices SET wake_ctr = CASE WHEN wake_ctr = 9223372036854775807 "
		     "THEN -9223372036854775808 ELSE wake_ctr + 1 END WHERE id = $1 AND wake_ctr <> -1 "
		     "RETURNING wake_ctr",
		     &p, &r);
	if (rc == STORE_OK && PQntuples(r) == 1) {
		*ctr = (uint64_t)pg_i64(r, 0, 0);
		PQclear(r);
		return STORE_OK;
	}
	PQclear(r);
	if (rc != STORE_OK)
		return rc;
	rc = pg_read(PG(st), "wake counter", "SELECT 1 FROM devices WHERE id = $1", &p, &r);
	if (rc == STORE_OK)
		rc = PQntuples(r) == 1 ? STORE_CONFLICT : STORE_NOTFOUND;
	PQclear(r);
	return rc;
}

int pg_device_set_wake_state(struct store *st, int64_t device_id, int state, int64_t now_ms)
{
	struct pg_params p = {0};
	int n = 0, rc;

	if (state < WAKE_IDLE || state > WAKE_UNREACHABLE)
		return STORE_ERROR;
	pgp_i64(&p, device_id);
	pgp_i64(&p, state);
	pgp_i64(&p, now_ms);
	rc = pg_write1(PG(st), "set wake state",
		       "UPDATE devices SET wake_state = $2::integer, "
		       "wake_attempts = CASE WHEN $2::integer = 0 THEN 0 ELSE wake_attempts END, "
		       "wake_sent_ms = CASE $2::integer WHEN 0 THEN 0 WHEN 1 THEN $3::bigint ELSE wake_sent_ms END "
		       "WHERE id = $1",
		       &p, &n);
	return rc == STORE_OK && n == 0 ? STORE_NOTFOUND : rc;
}

int pg_wake_backlog(struct store *st, int64_t now_ms, struct store_wake_backlog *out)
{
	struct pg_params p = {0};
	PGresult *r;
	int rc;

	if (out == NULL)
		return STORE_ERROR;
	memset(out, 0, sizeof(*out));
	pgp_i64(&p, now_ms);
	rc = pg_read(PG(st), "wake backlog",
		     "SELECT count(*), min(w), (SELECT max(last_seen_ms) FROM gateways WHERE revoked = 0) "
		     "FROM (SELECT due_ms AS w FROM wake_jobs WHERE state = 0 AND due_ms <= $1 UNION ALL "
		     "SELECT lease_until_ms FROM wake_jobs WHERE state = 1 AND lease_until_ms <= $1) x",
		     &p, &r);
	if (rc == STORE_OK && PQntuples(r) == 1) {
		out->waiting = (int)pg_i64(r, 0, 0);
		out->oldest_ms = pg_i64(r, 0, 1);
		out->gateway_seen_ms = pg_i64(r, 0, 2);
	}
	PQclear(r);
	return rc;
}

#define CANDIDATE_CHUNK 256

/* Candidates a chunk at a time, with no statement open while cb runs (cb may write). What is
 * read here is a snapshot other servers may change before cb's decision turns into a job: the
 * device's newest job (by id, the order jobs of one device are inserted in under its row lock)
 * goes with the candidate, and the job's guard (job_guard) checks it and the limits again. */
int pg_wake_candidates(struct store *st, int64_t now_ms, store_wake_candidate_cb cb, void *arg)
{
	int64_t last = 0;
	int rc = STORE_OK, stop = 0;

	if (cb == NULL)
		return STORE_ERROR;
	while (!stop && rc == STORE_OK) {
		struct pg_params p = {0};
		PGresult *r;
		int n;

		pgp_i64(&p, last);
		pgp_i64(&p, now_ms);
		pgp_i64(&p, CANDIDATE_CHUNK);
		pgp_i64(&p, now_ms - 3600 * 1000LL);
		pgp_i64(&p, now_ms - 86400 * 1000LL);
		rc = pg_read(
			PG(st), "wake candidates",
			"SELECT c.device_id, c.n, c.o0, c.o1, c.o2, c.o3, c.exp, "
			"(SELECT count(*) FILTER (WHERE created_ms > $4) FROM wake_jobs w "
			"WHERE w.device_id = c.device_id AND w.created_ms > $5), "
			"(SELECT count(*) FROM wake_jobs w WHERE w.device_id = c.device_id AND w.created_ms > $5), "
			"pr.sms_budget_day, CASE WHEN pr.sms_budget_day > 0 THEN (SELECT count(*) FROM wake_jobs w "
			"WHERE w.provider_id = pr.id AND w.created_ms > $5) ELSE 0 END, "
			"lj.state, lj.created_ms, lj.updated_ms, lj.attempts, lj.id "
			"FROM (SELECT device_id, count(*) AS n, "
			"min(CASE WHEN urgency = 0 THEN created_ms END) AS o0, "
			"min(CASE WHEN urgency = 1 THEN created_ms END) AS o1, "
			"min(CASE WHEN urgency = 2 THEN created_ms END) AS o2, "
			"min(CASE WHEN urgency = 3 THEN created_ms END) AS o3, max(expires_ms) AS exp "
			"FROM messages WHERE device_id > $1 AND state IN (0,1,2) AND expires_ms >= $2 "
			"GROUP BY device_id ORDER BY device_id LIMIT $3) c "
			"JOIN devices d ON d.id = c.device_id LEFT JOIN providers pr ON pr.id = d.provider_id "
			"LEFT JOIN LATERAL (SELECT id, state, created_ms, updated_ms, attempts FROM wake_jobs w "
			"WHERE w.id = (SELECT max(id) FROM wake_jobs x WHERE x.device_id = c.device_id)) lj ON true "
			"ORDER BY c.device_id",
			&p, &r);
		if (rc != STORE_OK)
			break;
		n = PQntuples(r);
		for (int i = 0; i < n && !stop && rc == STORE_OK; i++) {
			struct store_wake_candidate c;

			memset(&c, 0, sizeof(c));
			rc = pg_device_get(st, 0, pg_i64(r, i, 0), &c.dev);
			if (rc == STORE_NOTFOUND) {
				rc = STORE_OK;
				continue;
			}
			if (rc != STORE_OK)
				break;
			c.npending = (int)pg_i64(r, i, 1);
			for (int u = 0; u < URG_COUNT; u++)
				c.oldest_ms[u] = pg_i64(r, i, 2 + u);
			c.newest_expiry_ms = pg_i64(r, i, 6);
			c.wakes_hour = (int)pg_i64(r, i, 7);
			c.wakes_day = (int)pg_i64(r, i, 8);
			c.budget_day = pg_i64(r, i, 9);
			c.budget_used = pg_i64(r, i, 10);
			c.job_state = PQgetisnull(r, i, 11) ? -1 : (int)pg_i64(r, i, 11);
			c.job_created_ms = pg_i64(r, i, 12);
			c.job_updated_ms = pg_i64(r, i, 13);
			c.job_attempts = (int)pg_i64(r, i, 14);
			c.job_id = pg_i64(r, i, 15);
			stop = cb(arg, &c) != 0;
		}
		if (n > 0)
			last = pg_i64(r, n - 1, 0);
		PQclear(r);
		if (n < CANDIDATE_CHUNK)
			break;
	}
	return rc;
}
