/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Per-thread read-only connections with their cached statements. A thread gets one on its first
 * read and keeps it; when the thread exits the connection goes back to a pool for the next thread;
 * store_close closes them all. */
#include <stdlib.h>

#include "log.h"
#include "store_int.h"

static void reader_release(void *p)
{
	struct reader *r = p;

	pthread_mutex_lock(&r->st->readers_lock);
	r->in_use = 0;
	pthread_mutex_unlock(&r->st->readers_lock);
}

int reader_init(struct sq_store *st)
{
	if (pthread_key_create(&st->reader_key, reader_release) != 0)
		return -1;
	st->reader_key_ok = 1;
	return 0;
}

static void reader_free(struct reader *r)
{
	for (int i = 0; i < RS_COUNT; i++)
		sqlite3_finalize(r->stmt[i]);
	if (r->db != NULL) {
		int rc = sqlite3_close(r->db);
		if (rc != SQLITE_OK)
			store_log_sqlite(r->db, "close read connection", rc);
	}
	free(r);
}

/* Opens a connection for the pool; called with readers_lock held. */
static struct reader *reader_new(struct sq_store *st)
{
	struct reader *r = calloc(1, sizeof(*r));
	int rc;

	if (r == NULL)
		return NULL;
	r->st = st;
	rc = sqlite3_open_v2(st->path, &r->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		store_log_sqlite(r->db, "open read connection", rc);
		reader_free(r);
		return NULL;
	}
	sqlite3_extended_result_codes(r->db, 1);
	sqlite3_busy_timeout(r->db, st->busy_timeout_ms);
	r->next = st->readers;
	st->readers = r;
	return r;
}

static struct reader *reader_get(struct sq_store *st)
{
	struct reader *r;

	if (store_forked(st) || !st->reader_key_ok)
		return NULL;
	r = pthread_getspecific(st->reader_key);
	if (r != NULL)
		return r;
	pthread_mutex_lock(&st->readers_lock);
	for (r = st->readers; r != NULL && r->in_use; r = r->next)
		;
	if (r == NULL)
		r = reader_new(st);
	if (r != NULL)
		r->in_use = 1;
	pthread_mutex_unlock(&st->readers_lock);
	if (r != NULL && pthread_setspecific(st->reader_key, r) != 0) {
		reader_release(r);
		r = NULL;
	}
	return r;
}

sqlite3 *reader_conn(struct sq_store *st)
{
	struct reader *r = reader_get(st);

	return r ? r->db : NULL;
}

sqlite3_stmt *rstmt(struct sq_store *st, enum rsql id)
{
	struct reader *r = reader_get(st);
	sqlite3_stmt *s;
	int rc;

	if (r == NULL)
		return NULL;
	__atomic_add_fetch(&st->reads, 1, __ATOMIC_RELAXED);
	s = r->stmt[id];
	if (s == NULL) {
		rc = sqlite3_prepare_v3(r->db, store_rsql[id], -1, SQLITE_PREPARE_PERSISTENT, &s, NULL);
		if (rc != SQLITE_OK) {
			store_log_sqlite(r->db, store_rsql[id], rc);
			return NULL;
		}
		r->stmt[id] = s;
	} else if (sqlite3_stmt_busy(s)) {
		/* A callback of this very statement called back into the same query. */
		log_warnx("store: read statement re-entered from its own callback");
		return NULL;
	}
	return s;
}

void reader_close_all(struct sq_store *st)
{
	struct reader *r, *next;

	/* After the key is gone no thread exit touches the pool any more. */
	if (st->reader_key_ok) {
		pthread_key_delete(st->reader_key);
		st->reader_key_ok = 0;
	}
	pthread_mutex_lock(&st->readers_lock);
	for (r = st->readers; r != NULL; r = next) {
		next = r->next;
		reader_free(r);
	}
	st->readers = NULL;
	pthread_mutex_unlock(&st->readers_lock);
}
