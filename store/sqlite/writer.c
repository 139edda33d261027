/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The store's single writer thread: request threads queue operations and sleep, or queue them
 * with a completion callback and go on (writer_submit_async); the writer runs everything queued
 * in one transaction (one savepoint per operation), commits once, then wakes each waiting caller
 * with its result and calls each callback. One fsync thus covers a whole group, and with
 * callbacks a group is not bounded by the number of threads that can wait. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "store_int.h"
#include "util.h"

/* How often pending last-seen times reach the disk when no other write comes along. */
#define TOUCH_FLUSH_MS 1000
#define PIN_SETTLE_MS 2

sqlite3_stmt *wstmt(struct sq_store *st, enum wsql id)
{
	sqlite3_stmt *s = st->wstmt[id];

	sqlite3_reset(s);
	return s;
}

int wstep_done(struct sq_store *st, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return STORE_OK;
	store_log_sqlite(st->wdb, what, rc);
	return store_rc_sqlite(rc);
}

/* Runs a statement without parameters (transaction control); returns the SQLite code. */
static int wexec(struct sq_store *st, enum wsql id)
{
	sqlite3_stmt *s = wstmt(st, id);
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		return SQLITE_OK;
	store_log_sqlite(st->wdb, store_wsql[id], rc);
	return rc;
}

static int run_op(struct sq_store *st, struct store_op *op)
{
	switch (op->kind) {
	case OP_PING: return STORE_OK;
	case OP_PRINCIPAL_ADD: return op_principal_add(st, op);
	case OP_PRINCIPAL_REVOKE: return op_principal_revoke(st, op);
	case OP_PROVIDER_BUDGET: return op_provider_budget(st, op);
	case OP_KEY_ROLL: return op_key_roll(st, op);
	case OP_DEVICE_ADD: return op_device_add(st, op);
	case OP_DEVICE_ADD_MANY: return op_device_add_many(st, op);
	case OP_DEVICE_UPDATE: return op_device_update(st, op);
	case OP_DEVICE_DELETE: return op_device_delete(st, op);
	case OP_MESSAGE_PUT: return op_message_put(st, op);
	case OP_MESSAGE_CANCEL: return op_message_cancel(st, op);
	case OP_DEVICE_EVENT: return op_device_event(st, op);
	case OP_FETCH: return op_fetch(st, op);
	case OP_ACK: return op_ack(st, op);
	case OP_JOB_ADD: return op_job_add(st, op);
	case OP_COUNTER_NEXT: return op_counter_next(st, op);
	case OP_SET_WAKE_STATE: return op_set_wake_state(st, op);
	case OP_PUSH_KEYS: return op_push_keys(st, op);
	case OP_SEQ_EVENT: return op_seq_event(st, op);
	case OP_LEASE: return op_lease(st, op);
	case OP_REPORT: return op_report(st, op);
	case OP_EXPIRE: return op_expire(st, op);
	case OP_PURGE: return op_purge(st, op);
	case OP_WEBHOOK: return op_webhook(st, op);
	case OP_FLEET: return op_fleet(st, op);
	}
	return STORE_ERROR;
}

/* Results an operation produced inside a transaction that did not commit are void. */
static void op_discard(struct store_op *op)
{
	op->rc = STORE_UNAVAILABLE;
	if (op->kind == OP_FETCH) {
		store_fetched_free(op->u.fetch.head);
		op->u.fetch.head = NULL;
		op->u.fetch.count = 0;
	}
}

/* Saves the in-memory last-seen times in their own savepoint: if that fails they stay in
 * memory for the next group and the operations still commit. */
static void flush_touches(struct sq_store *st, const struct touch_item *t, size_t n, int *saved)
{
	size_t i;

	*saved = 0;
	if (n == 0 || wexec(st, WS_SAVEPOINT) != SQLITE_OK)
		return;
	for (i = 0; i < n; i++)
		if (op_device_touch(st, &t[i]) != STORE_OK)
			break;
	if (i < n && !sqlite3_get_autocommit(st->wdb))
		wexec(st, WS_ROLLBACK_TO);
	if (!sqlite3_get_autocommit(st->wdb) && wexec(st, WS_RELEASE) == SQLITE_OK)
		*saved = i == n;
}

/* A submit without a topic or an idempotency key runs without a savepoint of its own: opening
 * one, and copying each page the op first touches into its journal, took a fifth of the writer's
 * time per submit. Such an op fails either before it changed anything (an unknown device, a full
 * queue) or, on a failing disk, after: then the group cannot keep the others without it, and the
 * whole group is given up, as a failed COMMIT would be (group_run). */
static int op_bare(const struct store_op *op)
{
	return op->kind == OP_MESSAGE_PUT && op->u.put.in->topic == NULL && op->u.put.in->idempotency_key == NULL;
}

/* What the group's committed ops inserted, in message_counts at once: a trigger on each insert
 * cost the writer more than any other statement of a submit (schema v9). */
static int count_queued(struct sq_store *st, int64_t n)
{
	sqlite3_stmt *s = wstmt(st, WS_COUNT_QUEUED);

	sqlite3_bind_int64(s, 1, n);
	return wstep_done(st, s, "count queued");
}

/* One group: BEGIN IMMEDIATE, each op in a savepoint (but bare ones), touches, COMMIT. Returns 1
 * if committed.
 * A failed COMMIT (or a transaction SQLite rolled back on its own after an I/O error or a full
 * disk) voids every op of the group: each gets STORE_UNAVAILABLE and nothing of it is kept. */
static int group_run(struct sq_store *st, struct store_op **ops, int n)
{
	struct touch_item *touches = NULL;
	size_t ntouch = 0;
	int64_t queued = 0;
	int i, rc, broken = 0, inject = 0, touches_saved = 0;

	touch_snapshot(&st->touch, &touches, &ntouch);
	if (n == 0 && ntouch == 0)
		return 0;
	rc = wexec(st, WS_BEGIN);
	if (rc != SQLITE_OK)
		broken = 1;
	for (i = 0; i < n && !broken; i++) {
		int bare = op_bare(ops[i]);
		sqlite3_int64 changes = sqlite3_total_changes64(st->wdb);

		if (!bare && wexec(st, WS_SAVEPOINT) != SQLITE_OK) {
			broken = 1;
			break;
		}
		st->op_queued = 0;
		ops[i]->rc = run_op(st, ops[i]);
		if (sqlite3_get_autocommit(st->wdb)) {
			/* SQLite dropped the whole transaction (I/O error, disk full, out of memory). */
			broken = 1;
			break;
		}
		if (bare) {
			if (ops[i]->rc == STORE_OK)
				queued += st->op_queued;
			else if (sqlite3_total_changes64(st->wdb) != changes)
				broken = 1; /* it failed after a change of its own that nothing can undo alone */
			continue;
		}
		if (ops[i]->rc != STORE_OK && wexec(st, WS_ROLLBACK_TO) != SQLITE_OK)
			broken = 1;
		else if (wexec(st, WS_RELEASE) != SQLITE_OK)
			broken = 1;
		else if (ops[i]->rc == STORE_OK)
			queued += st->op_queued;
	}
	if (!broken && queued > 0)
		broken = count_queued(st, queued) != STORE_OK;
	if (!broken)
		flush_touches(st, touches, ntouch, &touches_saved);
	if (!broken && sqlite3_get_autocommit(st->wdb))
		broken = 1;
	if (!broken) {
		pthread_mutex_lock(&st->lock);
		if (st->fail_commits > 0) {
			st->fail_commits--;
			inject = 1;
		}
		pthread_mutex_unlock(&st->lock);
		rc = inject ? SQLITE_FULL : wexec(st, WS_COMMIT);
		if (rc != SQLITE_OK)
			broken = 1;
	}
	if (broken) {
		if (!sqlite3_get_autocommit(st->wdb) && wexec(st, WS_ROLLBACK) != SQLITE_OK)
			log_warnx("store: cannot roll back a failed group");
		if (!inject)
			log_warnx("store: commit of a group of %d operations failed", n);
		for (i = 0; i < n; i++)
			op_discard(ops[i]);
	} else if (touches_saved) {
		touch_forget(&st->touch, touches, ntouch);
	}
	free(touches);

	pthread_mutex_lock(&st->lock);
	if (broken) {
		st->commit_failures++;
	} else {
		st->commits++;
		st->committed_ops += (uint64_t)n;
		if ((uint64_t)n > st->largest_group)
			st->largest_group = (uint64_t)n;
	}
	pthread_mutex_unlock(&st->lock);
	return !broken;
}

static void deadline_after(struct timespec *ts, int64_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* The writer's own read transaction, held while it waits for work. SQLite takes a WAL read lock
 * (an fcntl pair on the -shm file) at the start and end of every read transaction, unless another
 * connection of the same process already holds that lock: then it only counts. With the writer
 * holding one on the newest snapshot, a read on any thread costs no system call until the next
 * commit. It is taken when the queue is empty, and let go before every group: a read transaction
 * held while the WAL fills would keep it from starting over at its beginning (test_store's
 * test_wal_starts_over). It is let go too when another process has committed, to be taken again
 * on the newest snapshot. What any reader sees is unchanged: each still begins its own
 * transaction on the newest commit.
 * Which lock a read takes is not fixed by the commit alone: the first readers after it race to
 * mark a slot with the new snapshot, several may do so, and later readers all take the highest
 * marked one. So the writer takes its transaction once more when it has been idle PIN_SETTLE_MS
 * after a commit: the marks have settled by then, and it lands where the readers are. */
struct pin {
	sqlite3 *db;
	sqlite3_stmt *read;
	int held;
	int settled; /* taken again since the last commit */
};

static void pin_open(struct sq_store *st, struct pin *p)
{
	memset(p, 0, sizeof(*p));
	if (sqlite3_open_v2(st->path, &p->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(p->db, "SELECT 1 FROM sqlite_schema LIMIT 1", -1, &p->read, NULL) != SQLITE_OK) {
		log_debug("store: no read transaction for the writer: %s", sqlite3_errmsg(p->db));
		sqlite3_close(p->db);
		p->db = NULL;
	}
}

static void pin_release(struct pin *p)
{
	if (p->held)
		sqlite3_exec(p->db, "COMMIT", NULL, NULL, NULL);
	p->held = 0;
}

static void pin_take(struct pin *p)
{
	if (p->db == NULL || p->held)
		return;
	if (sqlite3_exec(p->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return;
	sqlite3_step(p->read);
	sqlite3_reset(p->read);
	p->held = 1;
}

/* At a wake-up with nothing to do: the second take after a commit. */
static void pin_settle(struct pin *p)
{
	if (!p->held || p->settled)
		return;
	pin_release(p);
	pin_take(p);
	p->settled = 1;
}

static void *writer_main(void *arg)
{
	struct sq_store *st = arg;
	int64_t last_flush = util_mono_ms();
	struct pin pin;

	pin_open(st, &pin);

	pthread_mutex_lock(&st->lock);
	for (;;) {
		struct store_notify nt;
		struct store_op *async;
		int n = 0, nids = 0, jobs_added = 0, keys_changed = 0, committed, last, pin_tried = 0;

		while (st->qhead == NULL && !st->stopping) {
			int64_t wait = last_flush + TOUCH_FLUSH_MS - util_mono_ms();
			struct timespec ts;

			if (wait <= 0)
				break;
			if (!pin.held && !pin_tried++) {
				pthread_mutex_unlock(&st->lock);
				pin_take(&pin);
				pthread_mutex_lock(&st->lock);
				continue;
			}
			/* Woken for the remembered keys' check too (authcache.c). */
			if (wait > AUTH_FRESH_MS / 2)
				wait = AUTH_FRESH_MS / 2;
			if (pin.held && !pin.settled && wait > PIN_SETTLE_MS)
				wait = PIN_SETTLE_MS;
			deadline_after(&ts, wait);
			if (pthread_cond_timedwait(&st->work, &st->lock, &ts) != 0)
				break;
		}
		while (st->qhead != NULL && n < st->group_max) {
			st->batch[n++] = st->qhead;
			st->qhead = st->qhead->next;
		}
		if (st->qhead == NULL)
			st->qtail = NULL;
		last = st->stopping && st->qhead == NULL;
		pthread_mutex_unlock(&st->lock);

		if (authcache_check(st, 0) > 0)
			pin_release(&pin); /* on another process's commit: taken again on the newest */
		if (n == 0 && !last && util_mono_ms() - last_flush < TOUCH_FLUSH_MS) {
			/* Woken only for the check: the last-seen times wait for their second. */
			pin_settle(&pin);
			pthread_mutex_lock(&st->lock);
			continue;
		}
		pin_release(&pin);
		committed = group_run(st, st->batch, n);
		pin.settled = 0;
		last_flush = util_mono_ms();
		/* Read what notifications need before the callers, and their ops, go away. */
		for (int i = 0; committed && i < n; i++) {
			struct store_op *op = st->batch[i];
			if (op->rc != STORE_OK)
				continue;
			if (op->kind == OP_MESSAGE_PUT && !*op->u.put.replayed)
				st->notify_ids[nids++] = op->u.put.out->device_id;
			else if (op->kind == OP_JOB_ADD)
				jobs_added = 1;
			else if (op->kind == OP_PRINCIPAL_ADD || op->kind == OP_PRINCIPAL_REVOKE ||
				 op->kind == OP_PROVIDER_BUDGET)
				keys_changed = 1;
		}
		/* Before anybody hears of the change (authcache.c). */
		if (keys_changed)
			authcache_flush(&st->auth);

		/* Callbacks are taken aside first: a waiting caller's op is gone once it is woken. */
		async = NULL;
		for (int i = n - 1; i >= 0; i--) {
			if (st->batch[i]->done_cb != NULL) {
				st->batch[i]->next = async;
				async = st->batch[i];
			}
		}
		pthread_mutex_lock(&st->lock);
		for (int i = 0; i < n; i++) {
			if (st->batch[i]->done_cb != NULL)
				continue;
			st->batch[i]->done = 1;
			pthread_cond_signal(&st->batch[i]->cond);
		}
		nt = st->notify;
		st->notifying++; /* store_set_notify waits for these callbacks */
		pthread_mutex_unlock(&st->lock);

		/* Outside every lock: the callee may take its own locks or call pthread functions. */
		for (int i = 0; i < nids && nt.message_added; i++)
			nt.message_added(nt.arg, st->notify_ids[i]);
		if (jobs_added && nt.wake_job_added)
			nt.wake_job_added(nt.arg);
		pthread_mutex_lock(&st->lock);
		if (--st->notifying == 0)
			pthread_cond_broadcast(&st->notify_idle);
		pthread_mutex_unlock(&st->lock);
		while (async != NULL) {
			struct store_op *op = async;
			async = op->next;
			if (op->kind == OP_ACK && op->u.ack.count_out != NULL)
				*op->u.ack.count_out = op->rc == STORE_OK ? op->u.ack.count : 0;
			else if (op->kind == OP_FETCH)
				fetch_hand_over(op);
			op->done_cb(op->done_arg, op->rc);
			free(op);
		}

		pthread_mutex_lock(&st->lock);
		if (last)
			break;
	}
	pthread_mutex_unlock(&st->lock);
	pin_release(&pin);
	sqlite3_finalize(pin.read);
	sqlite3_close(pin.db);
	return NULL;
}

int writer_submit(struct sq_store *st, struct store_op *op)
{
	int rc;

	if (store_forked(st))
		return STORE_ERROR;
	/* A notify callback calling back in would wait for itself. */
	if (st->writer_running && pthread_equal(pthread_self(), st->writer))
		return STORE_ERROR;
	op->next = NULL;
	op->done = 0;
	op->rc = STORE_ERROR;
	op->done_cb = NULL;
	if (pthread_cond_init(&op->cond, NULL) != 0)
		return STORE_ERROR;
	pthread_mutex_lock(&st->lock);
	if (st->stopping || !st->writer_running) {
		pthread_mutex_unlock(&st->lock);
		pthread_cond_destroy(&op->cond);
		return STORE_UNAVAILABLE;
	}
	if (st->qtail != NULL)
		st->qtail->next = op;
	else
		st->qhead = op;
	st->qtail = op;
	pthread_cond_signal(&st->work);
	while (!op->done)
		pthread_cond_wait(&op->cond, &st->lock);
	rc = op->rc;
	pthread_mutex_unlock(&st->lock);
	pthread_cond_destroy(&op->cond);
	return rc;
}

int writer_submit_async(struct sq_store *st, const struct store_op *tmpl, store_done_cb done, void *arg)
{
	struct store_op *op;

	if (done == NULL || store_forked(st))
		return STORE_ERROR;
	/* A callback queuing more work would be fine, but nothing needs it: keep the rule simple. */
	if (st->writer_running && pthread_equal(pthread_self(), st->writer))
		return STORE_ERROR;
	op = malloc(sizeof(*op));
	if (op == NULL)
		return STORE_ERROR;
	*op = *tmpl;
	op->next = NULL;
	op->done = 0;
	op->rc = STORE_ERROR;
	op->done_cb = done;
	op->done_arg = arg;
	pthread_mutex_lock(&st->lock);
	if (st->stopping || !st->writer_running) {
		pthread_mutex_unlock(&st->lock);
		free(op);
		return STORE_UNAVAILABLE;
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

int writer_start(struct sq_store *st, const char **err)
{
	int rc;

	for (int i = 0; i < WS_COUNT; i++) {
		rc = sqlite3_prepare_v3(st->wdb, store_wsql[i], -1, SQLITE_PREPARE_PERSISTENT, &st->wstmt[i], NULL);
		if (rc != SQLITE_OK) {
			store_log_sqlite(st->wdb, store_wsql[i], rc);
			*err = "cannot prepare the store's statements";
			return -1;
		}
	}
	st->batch = calloc((size_t)st->group_max, sizeof(*st->batch));
	st->notify_ids = calloc((size_t)st->group_max, sizeof(*st->notify_ids));
	if (st->batch == NULL || st->notify_ids == NULL) {
		*err = "out of memory";
		return -1;
	}
	rc = pthread_create(&st->writer, NULL, writer_main, st);
	if (rc != 0) {
		errno = rc;
		log_warn("store: cannot start the writer thread");
		*err = "cannot start the writer thread";
		return -1;
	}
	pthread_setname_np(st->writer, "store-writer");
	st->writer_running = 1;
	return 0;
}

/* Lets the writer drain the queue and save last-seen times, then joins it. Statements are
 * finalized here; the connection is closed by the caller. */
void writer_stop(struct sq_store *st)
{
	if (st->writer_running) {
		pthread_mutex_lock(&st->lock);
		st->stopping = 1;
		pthread_cond_signal(&st->work);
		pthread_mutex_unlock(&st->lock);
		pthread_join(st->writer, NULL);
		st->writer_running = 0;
	}
	for (int i = 0; i < WS_COUNT; i++) {
		sqlite3_finalize(st->wstmt[i]);
		st->wstmt[i] = NULL;
	}
	free(st->batch);
	free(st->notify_ids);
	st->batch = NULL;
	st->notify_ids = NULL;
}

void sq_debug_fail_commits(struct sq_store *st, int n)
{
	pthread_mutex_lock(&st->lock);
	st->fail_commits = n > 0 ? n : 0;
	pthread_mutex_unlock(&st->lock);
}
