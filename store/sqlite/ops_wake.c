/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Wake jobs: created by the scheduler (at most one outstanding per device), leased by gateways,
 * finished by their reports. Each report that moves a device's messages (or fails to) leaves an
 * event on them, at the time it happened at the gateway. */
#include <stdio.h>
#include <string.h>

#include "store_int.h"

int sq_wake_job_add(struct sq_store *st, struct store_wake_job *job, int64_t now_ms)
{
	struct store_op op = {.kind = OP_JOB_ADD, .now_ms = now_ms};

	if (st == NULL || job == NULL || job->device_id <= 0 ||
	    (job->msisdn[0] != '\0' && !store_valid_msisdn(job->msisdn)) ||
	    (job->sms_format != SMS_FORMAT_BINARY && job->sms_format != SMS_FORMAT_TEXT) || job->port < 0 ||
	    job->port > 65535 || job->payload_len > STORE_WAKE_PAYLOAD_MAX || job->validity_s < 0 ||
	    (job->guard.check && (job->guard.last_job_id < 0 || job->guard.per_hour < 0 || job->guard.per_day < 0)))
		return STORE_ERROR;
	job->refused = WAKE_REFUSED_NONE;
	op.u.job_add.job = job;
	return writer_submit(st, &op);
}

/* The guard of a scheduler's job (store.h, store_wake_job_add), checked by the one writer inside
 * the group's write transaction, so nothing can change between the check and the insert: the
 * device's newest job must be the one decided on, its jobs of the last hour and day below its
 * limits, its provider's jobs of the last day below the budget. STORE_STALE (job->refused)
 * otherwise; a missing device is left to the insert path (STORE_NOTFOUND). */
static int job_guard(struct sq_store *st, struct store_wake_job *j, int64_t now_ms)
{
	sqlite3_stmt *s = wstmt(st, WS_JOB_GUARD);
	int64_t last, hour, day, budget, used;
	int rc;

	sqlite3_bind_int64(s, 1, j->device_id);
	sqlite3_bind_int64(s, 2, now_ms - 3600 * 1000LL);
	sqlite3_bind_int64(s, 3, now_ms - 86400 * 1000LL);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(s);
		return STORE_OK;
	}
	if (rc != SQLITE_ROW) {
		sqlite3_reset(s);
		store_log_sqlite(st->wdb, "job guard", rc);
		return store_rc_sqlite(rc);
	}
	last = sqlite3_column_int64(s, 0); /* NULL (no job) reads as 0 */
	hour = sqlite3_column_int64(s, 1);
	day = sqlite3_column_int64(s, 2);
	budget = sqlite3_column_int64(s, 3);
	used = sqlite3_column_int64(s, 4);
	sqlite3_reset(s);
	if (last != j->guard.last_job_id)
		j->refused = WAKE_REFUSED_STALE;
	else if ((j->guard.per_hour > 0 && hour >= j->guard.per_hour) ||
		 (j->guard.per_day > 0 && day >= j->guard.per_day))
		j->refused = WAKE_REFUSED_DEVICE_LIMIT;
	else if (budget > 0 && used >= budget)
		j->refused = WAKE_REFUSED_BUDGET;
	return j->refused != WAKE_REFUSED_NONE ? STORE_STALE : STORE_OK;
}

/* *yes: the device has a queued or leased job. */
static int job_outstanding(struct sq_store *st, int64_t device_id, int *yes)
{
	sqlite3_stmt *s = wstmt(st, WS_JOB_OUTSTANDING);
	int rc;

	sqlite3_bind_int64(s, 1, device_id);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	*yes = rc == SQLITE_ROW;
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return STORE_OK;
	store_log_sqlite(st->wdb, "job outstanding", rc);
	return store_rc_sqlite(rc);
}

/* The device's next wake counter, taken in the job's own savepoint, and the payload built with
 * it (store.h, job->build): they commit together. */
static int job_build(struct sq_store *st, struct store_wake_job *j)
{
	sqlite3_stmt *s = wstmt(st, WS_DEVICE_CTR_NEXT);
	int rc;

	sqlite3_bind_int64(s, 1, j->device_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		j->ctr = (uint64_t)sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (rc == SQLITE_DONE) {
		/* The device is gone, or its counter reached 2^64 - 1. */
		rc = store_device_owned(st, 0, j->device_id);
		return rc == STORE_OK ? STORE_CONFLICT : rc;
	}
	if (rc != SQLITE_ROW) {
		store_log_sqlite(st->wdb, "job counter", rc);
		return store_rc_sqlite(rc);
	}
	if (j->build(j->build_arg, j) != 0 || j->payload_len > STORE_WAKE_PAYLOAD_MAX)
		return STORE_ERROR;
	return STORE_OK;
}

/* The counter comes from store_wake_counter_next (committed before the payload is built), or
 * from job_build, so it is at least the device's; one below it would be dropped by the device as
 * a replay and is refused (STORE_CONFLICT): the scheduler builds a new payload. A counter of 0
 * means the payload carries none. A second outstanding job for the device is refused too:
 * however long no gateway takes the first, the device gets one SMS when one does. A guarded
 * job's decision is checked first (job_guard). */
int op_job_add(struct sq_store *st, struct store_op *op)
{
	struct store_wake_job *j = op->u.job_add.job;
	sqlite3_stmt *s;
	int64_t provider = 0;
	int rc, busy = 0;

	if (j->guard.check && (rc = job_guard(st, j, op->now_ms)) != STORE_OK)
		return rc;
	rc = job_outstanding(st, j->device_id, &busy);
	if (rc != STORE_OK)
		return rc;
	if (busy)
		return STORE_CONFLICT;
	if (j->build != NULL && (rc = job_build(st, j)) != STORE_OK)
		return rc;
	s = wstmt(st, WS_DEVICE_WAKE);
	sqlite3_bind_int64(s, 1, j->device_id);
	sqlite3_bind_int64(s, 2, store_u64_bits(j->ctr));
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		if (j->msisdn[0] == '\0')
			store_copy_text(j->msisdn, sizeof(j->msisdn), s, 0);
		provider = sqlite3_column_int64(s, 1);
	}
	sqlite3_reset(s);
	if (rc == SQLITE_DONE) {
		rc = store_device_owned(st, 0, j->device_id);
		return rc == STORE_OK ? STORE_CONFLICT : rc;
	}
	if (rc != SQLITE_ROW) {
		store_log_sqlite(st->wdb, "job add", rc);
		return store_rc_sqlite(rc);
	}
	s = wstmt(st, WS_JOB_ADD);
	sqlite3_bind_int64(s, 1, j->device_id);
	sqlite3_bind_text(s, 2, j->msisdn, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 3, j->sms_format);
	sqlite3_bind_int(s, 4, j->port);
	sqlite3_bind_int64(s, 5, store_u64_bits(j->ctr));
	sqlite3_bind_blob(s, 6, j->payload, (int)j->payload_len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 7, j->validity_s);
	sqlite3_bind_int64(s, 8, j->due_ms);
	sqlite3_bind_int64(s, 9, op->now_ms);
	sqlite3_bind_int64(s, 10, provider);
	rc = wstep_done(st, s, "job insert");
	if (rc != STORE_OK)
		return rc == STORE_CONFLICT ? STORE_ERROR : rc;
	j->id = sqlite3_last_insert_rowid(st->wdb);
	j->state = JOB_QUEUED;
	j->attempts = 0;
	j->lease_until_ms = 0;
	j->reference = -1;
	j->error[0] = '\0';
	return STORE_OK;
}

int sq_wake_lease(struct sq_store *st, int64_t gateway_id, int max, int64_t lease_ms, int64_t now_ms,
		  struct store_wake_job *jobs, int *n)
{
	struct store_op op = {.kind = OP_LEASE, .now_ms = now_ms};
	int rc;

	if (n != NULL)
		*n = 0;
	if (st == NULL || gateway_id <= 0 || max <= 0 || jobs == NULL || n == NULL || lease_ms < 0 || now_ms < 0 ||
	    lease_ms > INT64_MAX - now_ms)
		return STORE_ERROR;
	op.u.lease.gateway_id = gateway_id;
	op.u.lease.max = max < STORE_LEASE_MAX ? max : STORE_LEASE_MAX;
	op.u.lease.lease_ms = lease_ms;
	op.u.lease.jobs = jobs;
	rc = writer_submit(st, &op);
	if (rc == STORE_OK)
		*n = op.u.lease.n;
	return rc;
}

static int gateway_seen(struct sq_store *st, int64_t gateway_id, int64_t now_ms)
{
	sqlite3_stmt *s = wstmt(st, WS_GATEWAY_SEEN);

	sqlite3_bind_int64(s, 1, gateway_id);
	sqlite3_bind_int64(s, 2, now_ms);
	return wstep_done(st, s, "gateway seen");
}

static int device_unreachable(struct sq_store *st, int64_t device_id)
{
	sqlite3_stmt *s = wstmt(st, WS_DEVICE_UNREACHABLE);

	sqlite3_bind_int64(s, 1, device_id);
	return wstep_done(st, s, "device unreachable");
}

/* A job whose leases keep expiring (a gateway that dies holding it) is given up after
 * STORE_JOB_MAX_ATTEMPTS, like one whose sends keep failing; the device stays in flight and the
 * wake policy decides about retries. */
static int lease_exhausted(struct sq_store *st, int64_t now_ms)
{
	sqlite3_stmt *s = wstmt(st, WS_JOB_EXHAUST);

	sqlite3_bind_int64(s, 1, now_ms);
	sqlite3_bind_int(s, 2, STORE_JOB_MAX_ATTEMPTS);
	return wstep_done(st, s, "lease exhausted");
}

/* Looks at one due job before it goes out: *keep = 0 when the device no longer needs it (see
 * store_wake_lease), else *validity_s is what its newest pending message has left (rounded
 * down: the SMS must not outlive what it announces). */
static int job_check(struct sq_store *st, int64_t job_id, int64_t now_ms, int *keep, int64_t *validity_s)
{
	sqlite3_stmt *s = wstmt(st, WS_JOB_CONTENT);
	uint64_t dev_ctr = 0, job_ctr = 0; /* unsigned: stored with the same bits (sql.c) */
	int64_t expiry = 0;
	int rc, content = 0, unreachable = 0, same = 0;

	sqlite3_bind_int64(s, 1, job_id);
	sqlite3_bind_int64(s, 2, now_ms);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		dev_ctr = (uint64_t)sqlite3_column_int64(s, 0);
		job_ctr = (uint64_t)sqlite3_column_int64(s, 1);
		unreachable = sqlite3_column_int(s, 2) == WAKE_UNREACHABLE;
		same = sqlite3_column_int(s, 3);
		content = sqlite3_column_type(s, 4) != SQLITE_NULL;
		expiry = sqlite3_column_int64(s, 4);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store_log_sqlite(st->wdb, "lease check", rc);
		return store_rc_sqlite(rc);
	}
	*keep = rc == SQLITE_ROW && content && !unreachable && same && (job_ctr == 0 || dev_ctr <= job_ctr);
	*validity_s = content ? (expiry - now_ms) / 1000 : 0;
	if (*validity_s < 1)
		*validity_s = 1;
	return STORE_OK;
}

static int job_drop(struct sq_store *st, int64_t job_id)
{
	sqlite3_stmt *s = wstmt(st, WS_JOB_DROP);

	sqlite3_bind_int64(s, 1, job_id);
	return wstep_done(st, s, "job drop");
}

/* Due jobs are taken oldest first, a chunk at a time: a dropped job leaves the queue and a
 * leased one is no longer due, so each round finds new ones until max are leased or none is
 * left. */
int op_lease(struct sq_store *st, struct store_op *op)
{
	int64_t ids[STORE_LEASE_MAX];
	int n = 0, rc;
	sqlite3_stmt *s;

	op->u.lease.n = 0;
	rc = lease_exhausted(st, op->now_ms);
	if (rc != STORE_OK)
		return rc;
	while (n < op->u.lease.max) {
		int found = 0, want = op->u.lease.max - n;

		s = wstmt(st, WS_JOB_DUE);
		sqlite3_bind_int64(s, 1, op->now_ms);
		sqlite3_bind_int(s, 2, want);
		while (found < want && (rc = sqlite3_step(s)) == SQLITE_ROW)
			ids[found++] = sqlite3_column_int64(s, 0);
		sqlite3_reset(s);
		if (found < want && rc != SQLITE_DONE) {
			store_log_sqlite(st->wdb, "lease select", rc);
			return store_rc_sqlite(rc);
		}
		if (found == 0)
			break;
		for (int k = 0; k < found; k++) {
			int64_t validity = 0;
			int keep = 0;

			rc = job_check(st, ids[k], op->now_ms, &keep, &validity);
			if (rc == STORE_OK && !keep)
				rc = job_drop(st, ids[k]);
			if (rc != STORE_OK)
				return rc;
			if (!keep)
				continue;
			s = wstmt(st, WS_JOB_LEASE);
			sqlite3_bind_int64(s, 1, ids[k]);
			sqlite3_bind_int64(s, 2, op->u.lease.gateway_id);
			sqlite3_bind_int64(s, 3, op->now_ms + op->u.lease.lease_ms);
			sqlite3_bind_int64(s, 4, op->now_ms);
			sqlite3_bind_int64(s, 5, validity);
			rc = sqlite3_step(s);
			if (rc == SQLITE_ROW)
				store_job_row(s, &op->u.lease.jobs[n]);
			sqlite3_reset(s);
			if (rc != SQLITE_ROW) {
				store_log_sqlite(st->wdb, "lease", rc);
				return rc == SQLITE_DONE ? STORE_ERROR : store_rc_sqlite(rc);
			}
			n++;
		}
	}
	op->u.lease.n = n;
	return gateway_seen(st, op->u.lease.gateway_id, op->now_ms);
}

/* Error text from a gateway, cut to STORE_ERROR_MAX bytes without splitting a UTF-8 sequence. */
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

int sq_wake_report(struct sq_store *st, int64_t gateway_id, int64_t job_id, int outcome, int64_t reference,
		   const char *error, int64_t at_ms, int64_t now_ms)
{
	struct store_op op = {.kind = OP_REPORT, .now_ms = now_ms};

	if (st == NULL || gateway_id <= 0 || outcome < OUTCOME_SUBMITTED || outcome > OUTCOME_UNDELIVERABLE ||
	    at_ms < 0)
		return STORE_ERROR;
	op.u.report.gateway_id = gateway_id;
	op.u.report.job_id = job_id;
	op.u.report.outcome = outcome;
	op.u.report.reference = reference;
	op.u.report.error = error;
	op.u.report.at_ms = at_ms;
	return writer_submit(st, &op);
}

/* An event that changes no state, on every pending message of the device. */
static int device_note(struct sq_store *st, int64_t device_id, int64_t now_ms, const char *what, const char *detail)
{
	sqlite3_stmt *s = wstmt(st, WS_EVENT_DEVICE_PENDING);

	sqlite3_bind_int64(s, 1, device_id);
	sqlite3_bind_int64(s, 2, now_ms);
	sqlite3_bind_text(s, 3, what, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, detail, -1, SQLITE_TRANSIENT);
	return wstep_done(st, s, "report note");
}

/* Runs one of the report statements that take (key, time[, detail][, job][, lease time]): key
 * is the device or, for the delivery statements, the job. A parameter a statement lacks is not
 * bound. */
static int report_step(struct sq_store *st, enum wsql id, int64_t key, int64_t at_ms, const char *detail, int64_t job,
		       int64_t leased_ms)
{
	sqlite3_stmt *s = wstmt(st, id);

	sqlite3_bind_int64(s, 1, key);
	sqlite3_bind_int64(s, 2, at_ms);
	if (sqlite3_bind_parameter_index(s, "?3"))
		sqlite3_bind_text(s, 3, detail, -1, SQLITE_TRANSIENT);
	if (sqlite3_bind_parameter_index(s, "?4"))
		sqlite3_bind_int64(s, 4, job);
	if (sqlite3_bind_parameter_index(s, "?5"))
		sqlite3_bind_int64(s, 5, leased_ms);
	return wstep_done(st, s, "report");
}

/* The SMS of a job leased at leased_ms left a modem by at_ms. A device that made contact since
 * the lease (a contact still in memory included) answered it: no unanswered wakeup counts. */
static int job_submitted(struct sq_store *st, int64_t id, int64_t device, int64_t ref, int64_t at_ms, int64_t leased_ms,
			 int64_t now_ms)
{
	sqlite3_stmt *s = wstmt(st, WS_JOB_SUBMITTED);
	char detail[64];
	int rc;

	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, ref);
	sqlite3_bind_int64(s, 3, now_ms);
	sqlite3_bind_int64(s, 4, at_ms);
	rc = wstep_done(st, s, "report submitted");
	snprintf(detail, sizeof(detail), "job %lld ref %lld", (long long)id, (long long)ref);
	if (rc == STORE_OK)
		rc = report_step(st, WS_EVENT_WAKE_SENT, device, at_ms, detail, id, leased_ms);
	if (rc == STORE_OK)
		rc = report_step(st, WS_MSG_WAKE_SENT, device, at_ms, NULL, 0, 0);
	if (rc == STORE_OK && touch_get(&st->touch, device) < leased_ms)
		rc = report_step(st, WS_DEVICE_SENT, device, at_ms, NULL, 0, leased_ms);
	return rc;
}

static int job_delivered(struct sq_store *st, int64_t id, int64_t reference, int64_t ref, int64_t at_ms, int64_t now_ms)
{
	sqlite3_stmt *s = wstmt(st, WS_JOB_DELIVERED);
	char detail[64];
	int rc;

	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, reference);
	sqlite3_bind_int64(s, 3, now_ms);
	rc = wstep_done(st, s, "report delivered");
	snprintf(detail, sizeof(detail), "job %lld ref %lld", (long long)id, (long long)ref);
	if (rc == STORE_OK)
		rc = report_step(st, WS_EVENT_DELIVERED, id, at_ms, detail, 0, 0);
	if (rc == STORE_OK)
		rc = report_step(st, WS_MSG_DELIVERED, id, at_ms, NULL, 0, 0);
	return rc;
}

/* Keeps the gateway's time of an event between what the server knows: not before the job was
 * leased (or sent), not after the report arrived. A gateway with a wrong clock thus misplaces
 * its events by at most the report's delay. */
static int64_t report_time(int64_t at_ms, int64_t lo, int64_t now_ms)
{
	if (at_ms <= 0 || at_ms > now_ms)
		at_ms = now_ms;
	return at_ms < lo ? (lo < now_ms ? lo : now_ms) : at_ms;
}

int op_report(struct sq_store *st, struct store_op *op)
{
	int64_t id = op->u.report.job_id, device, gw, ref, now = op->now_ms, leased_ms, sent_ms, at;
	const char *err = op->u.report.error ? op->u.report.error : "";
	int state, attempts, final, elen = error_len(op->u.report.error), rc;
	char detail[STORE_ERROR_MAX + 1];
	sqlite3_stmt *s = wstmt(st, WS_JOB_STATE);

	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(s);
		if (rc == SQLITE_DONE)
			return STORE_NOTFOUND;
		store_log_sqlite(st->wdb, "report", rc);
		return store_rc_sqlite(rc);
	}
	device = sqlite3_column_int64(s, 0);
	state = sqlite3_column_int(s, 1);
	gw = sqlite3_column_int64(s, 2);
	attempts = sqlite3_column_int(s, 3);
	ref = sqlite3_column_int64(s, 4);
	leased_ms = sqlite3_column_int64(s, 5); /* updated_ms: the lease, while leased */
	sent_ms = sqlite3_column_int64(s, 6);
	sqlite3_reset(s);

	/* Only the holder may report; a repeated report on a finished job changes nothing. */
	if (gw != op->u.report.gateway_id || state == JOB_QUEUED)
		return STORE_NOTFOUND;
	if (state == JOB_DELIVERED || state == JOB_FAILED || state == JOB_UNDELIVERABLE)
		return STORE_OK;
	if (op->u.report.reference >= 0)
		ref = op->u.report.reference;

	switch (op->u.report.outcome) {
	case OUTCOME_SUBMITTED:
		if (state == JOB_SUBMITTED)
			return STORE_OK;
		rc = job_submitted(st, id, device, ref, report_time(op->u.report.at_ms, leased_ms, now), leased_ms,
				   now);
		break;
	case OUTCOME_DELIVERED:
		rc = STORE_OK;
		if (state == JOB_LEASED) {
			/* The submitted report is late or lost: the SMS left no later than this. */
			sent_ms = report_time(op->u.report.at_ms, leased_ms, now);
			rc = job_submitted(st, id, device, ref, sent_ms, leased_ms, now);
		}
		at = report_time(op->u.report.at_ms, sent_ms, now);
		if (rc == STORE_OK)
			rc = job_delivered(st, id, op->u.report.reference, ref, at, now);
		break;
	case OUTCOME_FAILED:
	case OUTCOME_UNDELIVERABLE:
		if (op->u.report.outcome == OUTCOME_FAILED && attempts < STORE_JOB_MAX_ATTEMPTS) {
			/* Retryable: back in the queue after a back-off, for any gateway. */
			int64_t delay = (int64_t)STORE_JOB_RETRY_MS << (attempts > 1 ? attempts - 1 : 0);
			s = wstmt(st, WS_JOB_REQUEUE);
			sqlite3_bind_int64(s, 1, id);
			sqlite3_bind_int64(s, 2, now);
			sqlite3_bind_text(s, 3, err, elen, SQLITE_STATIC);
			sqlite3_bind_int64(s, 4, now + delay);
			rc = wstep_done(st, s, "report failed");
			snprintf(detail, sizeof(detail), "job %lld attempt %d, retrying in %lld s: %.*s", (long long)id,
				 attempts, (long long)(delay / 1000), elen, err);
			if (rc == STORE_OK)
				rc = device_note(st, device, now, "wake_failed", detail);
			break;
		}
		final = op->u.report.outcome == OUTCOME_FAILED ? JOB_FAILED : JOB_UNDELIVERABLE;
		s = wstmt(st, WS_JOB_FINAL);
		sqlite3_bind_int64(s, 1, id);
		sqlite3_bind_int(s, 2, final);
		sqlite3_bind_text(s, 3, err, elen, SQLITE_STATIC);
		sqlite3_bind_int64(s, 4, now);
		rc = wstep_done(st, s, "report final");
		snprintf(detail, sizeof(detail), "job %lld: %.*s", (long long)id, elen, err);
		if (rc == STORE_OK)
			rc = device_note(st, device, now, final == JOB_FAILED ? "wake_failed" : "wake_undeliverable",
					 detail);
		/* The network says the number cannot receive SMS: the device is left to its polls.
		 * A send that kept failing is the wake policy's to judge (it retries with back-off). */
		if (rc == STORE_OK && final == JOB_UNDELIVERABLE)
			rc = device_unreachable(st, device);
		break;
	default: return STORE_ERROR;
	}
	if (rc == STORE_OK)
		rc = gateway_seen(st, op->u.report.gateway_id, now);
	return rc;
}

int sq_wake_counter_next(struct sq_store *st, int64_t device_id, uint64_t *ctr)
{
	struct store_op op = {.kind = OP_COUNTER_NEXT};
	int rc;

	if (st == NULL || ctr == NULL)
		return STORE_ERROR;
	op.u.wake.device_id = device_id;
	rc = writer_submit(st, &op);
	if (rc == STORE_OK)
		*ctr = op.u.wake.ctr;
	return rc;
}

int op_counter_next(struct sq_store *st, struct store_op *op)
{
	sqlite3_stmt *s = wstmt(st, WS_DEVICE_CTR_NEXT);
	int rc;

	sqlite3_bind_int64(s, 1, op->u.wake.device_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		op->u.wake.ctr = (uint64_t)sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return STORE_OK;
	if (rc == SQLITE_DONE) {
		/* The device is gone, or its counter reached 2^64 - 1. */
		rc = store_device_owned(st, 0, op->u.wake.device_id);
		return rc == STORE_OK ? STORE_CONFLICT : rc;
	}
	store_log_sqlite(st->wdb, "wake counter", rc);
	return store_rc_sqlite(rc);
}

int sq_device_set_wake_state(struct sq_store *st, int64_t device_id, int state, int64_t now_ms)
{
	struct store_op op = {.kind = OP_SET_WAKE_STATE, .now_ms = now_ms};

	if (st == NULL || state < WAKE_IDLE || state > WAKE_UNREACHABLE)
		return STORE_ERROR;
	op.u.wake.device_id = device_id;
	op.u.wake.state = state;
	return writer_submit(st, &op);
}

int op_set_wake_state(struct sq_store *st, struct store_op *op)
{
	sqlite3_stmt *s = wstmt(st, WS_DEVICE_SET_WAKE);
	int rc;

	sqlite3_bind_int64(s, 1, op->u.wake.device_id);
	sqlite3_bind_int(s, 2, op->u.wake.state);
	sqlite3_bind_int64(s, 3, op->now_ms);
	rc = wstep_done(st, s, "set wake state");
	if (rc == STORE_OK && sqlite3_changes(st->wdb) == 0)
		rc = STORE_NOTFOUND;
	return rc;
}
