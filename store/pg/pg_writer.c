/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The PostgreSQL store's writer thread: the asynchronous writes (submits, acknowledgements,
 * registrations) queue their bodies here and return at once; the writer runs everything queued
 * (up to PG_GROUP_MAX) in one transaction on a connection of its own, each operation in a
 * savepoint, commits once, and only then tells each caller its result, in queue order. One
 * COMMIT, one WAL flush, covers many requests, as with the SQLite store's writer
 * (store/sqlite/writer.c); 201 still comes only after COMMIT.
 *
 * Several servers share the database and a group holds several device rows at once, so the rows
 * its operations will lock are taken first, in id order (as fleet batches take theirs): two
 * servers' groups then wait for each other instead of deadlocking. What is left, a deadlock with
 * some other transaction, a serialization failure or a connection lost before COMMIT, rolls the
 * whole group back and runs it again, a bounded number of times with a little jitter; only an
 * operation's own error (unknown device, conflict, max_pending reached) fails it alone. */
#include <errno.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "pg_int.h"
#include "pg_ops.h"

struct pg_op {
	struct pg_op *next;
	pg_body_fn body;
	void (*finish)(void *arg, int rc);
	store_done_cb done;
	void *done_arg;
	int64_t lock_device;
	int rc;
	alignas(max_align_t) unsigned char arg[]; /* the verb's argument, copied */
};

/* How a run of a group ended. */
enum run_end {
	RUN_COMMITTED,
	RUN_AGAIN,   /* rolled back (deadlock, serialization failure, lost connection): run it again */
	RUN_FAILED,  /* not committed, and running it again would not help */
	RUN_UNKNOWN, /* the connection broke during COMMIT: committed or not, nobody here knows */
};

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int cmp_i64(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;

	return a < b ? -1 : a > b;
}

static int64_t i64_at(const void *arr, size_t i)
{
	return ((const int64_t *)arr)[i];
}

/* "BEGIN", the rows the group's operations will lock taken in id order, and the first savepoint,
 * as one simple query (one round trip). The ids are our own integers, so the literal is safe to
 * put in the text. malloc'd, NULL when out of memory. */
static char *begin_sql(struct pg_op **ops, int n)
{
	static const char head[] = "BEGIN; SELECT 1 FROM devices WHERE id = ANY('",
			  tail[] = "'::bigint[]) ORDER BY id FOR NO KEY UPDATE; SAVEPOINT op";
	int64_t ids[PG_GROUP_MAX];
	size_t k = 0, len;
	char *list, *sql;

	for (int i = 0; i < n; i++)
		if (ops[i]->lock_device > 0)
			ids[k++] = ops[i]->lock_device;
	if (k == 0)
		return strdup("BEGIN; SAVEPOINT op");
	qsort(ids, k, sizeof(ids[0]), cmp_i64);
	list = pg_array_literal(ids, k, i64_at);
	if (list == NULL)
		return NULL;
	len = sizeof(head) + strlen(list) + sizeof(tail);
	sql = malloc(len);
	if (sql != NULL)
		snprintf(sql, len, "%s%s%s", head, list, tail);
	free(list);
	return sql;
}

/* Why a statement of the group failed: worth another run, or not. */
static enum run_end failed_how(PGconn *c)
{
	if (PQstatus(c) != CONNECTION_OK || pg_retryable())
		return RUN_AGAIN;
	return RUN_FAILED;
}

/* One operation inside the open savepoint "op": its body, then the savepoint released (kept) or
 * rolled back to (its own failure, or a replay that keeps nothing). A body asking to run again
 * (PG_AGAIN) gets two more runs. Returns RUN_COMMITTED when the group may go on. */
static enum run_end op_run(PGconn *c, struct pg_op *op, int last)
{
	int rc = PG_AGAIN;

	for (int run = 0; run < 3 && rc == PG_AGAIN; run++) {
		if (run > 0 && pg_cmd(c, "rollback to savepoint", "ROLLBACK TO SAVEPOINT op", NULL) != STORE_OK)
			return failed_how(c);
		pg_retryable_reset();
		rc = op->body(c, op->arg);
	}
	if (rc == STORE_OK) {
		op->rc = STORE_OK;
		/* The next operation's savepoint in the same round trip. */
		if (!last && pg_cmd(c, "savepoint", "RELEASE SAVEPOINT op; SAVEPOINT op", NULL) != STORE_OK)
			return failed_how(c);
		return RUN_COMMITTED;
	}
	/* A deadlock or a broken connection is the group's, not the operation's. */
	if (rc != PG_UNDO && rc != PG_AGAIN && (PQstatus(c) != CONNECTION_OK || pg_retryable()))
		return RUN_AGAIN;
	op->rc = rc == PG_UNDO ? STORE_OK : rc == PG_AGAIN ? STORE_UNAVAILABLE : rc;
	/* ROLLBACK TO keeps the savepoint: the next operation runs inside it as if it were new. */
	if (pg_cmd(c, "rollback to savepoint", "ROLLBACK TO SAVEPOINT op", NULL) != STORE_OK)
		return failed_how(c);
	return RUN_COMMITTED;
}

/* One run of the group on c. */
static enum run_end group_once(struct pg_store *st, PGconn *c, struct pg_op **ops, int n)
{
	char *sql = begin_sql(ops, n);
	enum run_end end = RUN_COMMITTED;
	int rc, inject = 0;

	if (sql == NULL)
		return RUN_FAILED;
	if (PQtransactionStatus(c) != PQTRANS_IDLE)
		(void)pg_cmd(c, "rollback", "ROLLBACK", NULL);
	pg_retryable_reset();
	rc = pg_cmd(c, "group begin", sql, NULL);
	free(sql);
	if (rc != STORE_OK)
		end = failed_how(c);
	for (int i = 0; i < n && end == RUN_COMMITTED; i++)
		end = op_run(c, ops[i], i == n - 1);
	if (end == RUN_COMMITTED) {
		pthread_mutex_lock(&st->lock);
		if (st->fail_commits > 0) {
			st->fail_commits--;
			inject = 1;
		}
		pthread_mutex_unlock(&st->lock);
		if (inject) {
			end = RUN_FAILED;
		} else {
			pg_retryable_reset();
			if (pg_cmd(c, "commit", "COMMIT", NULL) == STORE_OK)
				return RUN_COMMITTED;
			/* No answer to COMMIT: it may have been applied or not. */
			if (PQstatus(c) != CONNECTION_OK)
				return RUN_UNKNOWN;
			return pg_retryable() ? RUN_AGAIN : RUN_FAILED; /* refused: nothing was kept */
		}
	}
	if (PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) != PQTRANS_IDLE)
		(void)pg_cmd(c, "rollback", "ROLLBACK", NULL);
	return end;
}

/* Runs the group until it commits, fails for good or has had PG_GROUP_TRIES runs; sets every
 * operation's rc. *conn is the writer's connection, opened again when it broke. */
static void group_run(struct pg_store *st, PGconn **conn, struct pg_op **ops, int n, unsigned *seed)
{
	enum run_end end = RUN_FAILED;

	for (int run = 0; run < PG_GROUP_TRIES; run++) {
		if (*conn == NULL) {
			*conn = pg_connect(st);
			if (*conn != NULL)
				PQclear(PQexec(*conn, "SET application_name = 'smswake-writer'"));
		}
		if (*conn == NULL) {
			end = RUN_AGAIN;
		} else {
			for (int i = 0; i < n; i++)
				ops[i]->rc = STORE_UNAVAILABLE;
			end = group_once(st, *conn, ops, n);
			if (PQstatus(*conn) != CONNECTION_OK) {
				PQfinish(*conn);
				*conn = NULL;
			}
		}
		if (end != RUN_AGAIN)
			break;
		/* A deadlock's other side, or the database coming back: wait a little, longer each
		 * time, and not in step with other servers. */
		log_info("store: a group of %d operations is run again (%s)", n,
			 *conn == NULL ? "connection lost or refused" : "deadlock or serialization failure");
		sleep_ms((*conn == NULL ? 50 << (run < 4 ? run : 4) : 2 + 5 * run) + (int)(rand_r(seed) % 10));
	}
	if (end == RUN_UNKNOWN)
		log_warnx("store: the connection broke during the COMMIT of %d operations: whether they were "
			  "stored is unknown, each is answered as unavailable",
			  n);
	else if (end != RUN_COMMITTED)
		log_warnx("store: a group of %d operations was not committed", n);
	pthread_mutex_lock(&st->lock);
	if (end == RUN_COMMITTED) {
		st->commits++;
		st->committed_ops += (uint64_t)n;
		if ((uint64_t)n > st->largest_group)
			st->largest_group = (uint64_t)n;
	} else {
		st->commit_failures++;
	}
	pthread_mutex_unlock(&st->lock);
	if (end != RUN_COMMITTED)
		for (int i = 0; i < n; i++)
			ops[i]->rc = STORE_UNAVAILABLE;
}

static void *writer_main(void *arg)
{
	struct pg_store *st = arg;
	struct pg_op *ops[PG_GROUP_MAX];
	PGconn *c = NULL;
	unsigned seed = (unsigned)getpid() ^ (unsigned)time(NULL);

	pthread_mutex_lock(&st->lock);
	for (;;) {
		int n = 0;

		while (st->qhead == NULL && !st->writer_stopping)
			pthread_cond_wait(&st->work, &st->lock);
		while (st->qhead != NULL && n < PG_GROUP_MAX) {
			ops[n++] = st->qhead;
			st->qhead = st->qhead->next;
		}
		if (st->qhead == NULL)
			st->qtail = NULL;
		if (n == 0)
			break; /* stopping, and everything queued is answered */
		pthread_mutex_unlock(&st->lock);

		group_run(st, &c, ops, n, &seed);
		/* After COMMIT, outside every lock, in queue order. */
		for (int i = 0; i < n; i++) {
			if (ops[i]->finish != NULL)
				ops[i]->finish(ops[i]->arg, ops[i]->rc);
			ops[i]->done(ops[i]->done_arg, ops[i]->rc);
			free(ops[i]);
		}
		pthread_mutex_lock(&st->lock);
	}
	pthread_mutex_unlock(&st->lock);
	if (c != NULL)
		PQfinish(c);
	return NULL;
}

/* A write queued while the store closes is refused through its callback, on the caller's
 * thread, with STORE_UNAVAILABLE (as if its group had failed): the caller answers it the way it
 * answers every other write. */
int pg_writer_submit(struct pg_store *st, pg_body_fn body, const void *arg, size_t size, int64_t lock_device,
		     void (*finish)(void *arg, int rc), store_done_cb done, void *done_arg)
{
	struct pg_op *op;

	if (body == NULL || done == NULL || size > 4096)
		return STORE_ERROR;
	op = malloc(sizeof(*op) + size);
	if (op == NULL)
		return STORE_ERROR;
	memset(op, 0, sizeof(*op));
	op->body = body;
	op->finish = finish;
	op->done = done;
	op->done_arg = done_arg;
	op->lock_device = lock_device;
	op->rc = STORE_UNAVAILABLE;
	memcpy(op->arg, arg, size);
	pthread_mutex_lock(&st->lock);
	if (!st->writer_running || st->writer_stopping) {
		pthread_mutex_unlock(&st->lock);
		if (finish != NULL)
			finish(op->arg, STORE_UNAVAILABLE);
		free(op);
		done(done_arg, STORE_UNAVAILABLE);
		return STORE_OK;
	}
	if (st->qtail != NULL)
		st->qtail->next = op;
	else
		st->qhead = op;
	st->qtail = op;
	pthread_cond_signal(&st->work);
	pthread_mutex_unlock(&st->lock);
	return STORE_OK;
}

int pg_writer_start(struct pg_store *st)
{
	int rc = pthread_create(&st->writer, NULL, writer_main, st);

	if (rc != 0) {
		errno = rc;
		log_warn("store: cannot start the PostgreSQL writer thread");
		return -1;
	}
	pthread_setname_np(st->writer, "pg-writer");
	pthread_mutex_lock(&st->lock);
	st->writer_running = 1;
	pthread_mutex_unlock(&st->lock);
	return 0;
}

void pg_writer_stop(struct pg_store *st)
{
	int running;

	pthread_mutex_lock(&st->lock);
	running = st->writer_running;
	st->writer_stopping = 1;
	pthread_cond_signal(&st->work);
	pthread_mutex_unlock(&st->lock);
	if (running)
		pthread_join(st->writer, NULL);
}
