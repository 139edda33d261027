/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The SQLite store's life cycle (open, close, fork safety), error mapping, names of enum values
 * and the small maintenance entry points (ping, backup, stats, notify). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "store_int.h"

/* Bumped in every child after fork(): a store opened before sees a different value and refuses
 * to touch SQLite, whose connections, locks and writer thread belong to the parent. */
static volatile unsigned store_fork_gen;
static pthread_once_t store_init_once = PTHREAD_ONCE_INIT;

static void store_atfork_child(void)
{
	store_fork_gen++;
}

/* The database holds message bodies and token hashes: owner only, whatever the umask or the
 * directory's mode. SQLite creates the -wal and -shm files with the mode of the database file,
 * so the database file is created 0600 before SQLite opens it; files an older version left
 * readable by others are tightened by path (never opened and closed here: that would drop the
 * POSIX locks of a connection this process may already hold on them). */
static int private_files(const char *path)
{
	static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
	char p[4096];
	struct stat sb;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd >= 0) {
		(void)fchmod(fd, 0600); /* exact, whatever the umask */
		close(fd);
	} else if (errno != EEXIST) {
		log_warn("store: cannot create %s", path);
		return -1;
	}
	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		if (snprintf(p, sizeof(p), "%s%s", path, suffix[i]) >= (int)sizeof(p))
			return -1;
		if (stat(p, &sb) != 0 || (sb.st_mode & 077) == 0 || !S_ISREG(sb.st_mode))
			continue;
		if (chmod(p, 0600) != 0) {
			log_warn("store: %s is readable by others and cannot be made private", p);
			return -1;
		}
		log_info("store: %s was readable by group or others; made private (0600)", p);
	}
	return 0;
}

/* Once per process, before the first connection: fork safety, and no global memory statistics
 * (they take a process-wide mutex on every allocation of every thread). The latter fails
 * harmlessly if the program already used SQLite. */
static void store_process_init(void)
{
	pthread_atfork(NULL, NULL, store_atfork_child);
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int store_forked(const struct sq_store *st)
{
	return st->fork_gen != store_fork_gen;
}

/* Transient conditions (full disk, I/O error, lock held too long) become STORE_UNAVAILABLE so
 * the HTTP layer answers 503 and the client retries; everything else is STORE_ERROR. */
int store_rc_sqlite(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE: return STORE_OK;
	case SQLITE_FULL:
	case SQLITE_IOERR:
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY: return STORE_UNAVAILABLE;
	case SQLITE_CONSTRAINT: return STORE_CONFLICT;
	default: return STORE_ERROR;
	}
}

void store_log_sqlite(sqlite3 *db, const char *what, int rc)
{
	log_warnx("store: %s: %s (%d)", what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc), rc);
}

static void store_free(struct sq_store *st)
{
	if (st->wdb != NULL) {
		int rc = sqlite3_close(st->wdb);
		if (rc != SQLITE_OK)
			store_log_sqlite(st->wdb, "close", rc);
	}
	touch_destroy(&st->touch);
	pthread_mutex_destroy(&st->readers_lock);
	authcache_destroy(&st->auth);
	pthread_cond_destroy(&st->work);
	pthread_cond_destroy(&st->notify_idle);
	pthread_mutex_destroy(&st->lock);
	free(st->path);
	free(st);
}

int sq_open(const struct store_options *opt, struct sq_store **out, const char **err)
{
	static const char *dummy;
	pthread_condattr_t ca;
	struct sq_store *st;
	int rc;

	if (err == NULL)
		err = &dummy;
	*err = NULL;
	if (out == NULL || opt == NULL || opt->path == NULL || opt->path[0] == '\0' || opt->group_max < 0 ||
	    opt->busy_timeout_ms < 0) {
		*err = "invalid store options";
		return STORE_ERROR;
	}
	*out = NULL;
	pthread_once(&store_init_once, store_process_init);
	st = calloc(1, sizeof(*st));
	if (st == NULL || (st->path = strdup(opt->path)) == NULL) {
		free(st);
		*err = "out of memory";
		return STORE_ERROR;
	}
	st->fork_gen = store_fork_gen;
	st->synchronous_full = opt->synchronous_full;
	st->group_max = opt->group_max ? opt->group_max : 512;
	st->busy_timeout_ms = opt->busy_timeout_ms ? opt->busy_timeout_ms : 5000;
	pthread_mutex_init(&st->lock, NULL);
	pthread_mutex_init(&st->readers_lock, NULL);
	pthread_cond_init(&st->notify_idle, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&st->work, &ca);
	pthread_condattr_destroy(&ca);
	touch_init(&st->touch);
	authcache_init(&st->auth);

	if (private_files(st->path) != 0) {
		*err = "cannot create the database file with owner-only access";
		goto fail;
	}
	rc = sqlite3_open_v2(st->path, &st->wdb, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			     NULL);
	if (rc != SQLITE_OK) {
		store_log_sqlite(st->wdb, st->path, rc);
		*err = "cannot open or create the database file";
		goto fail;
	}
	if (schema_prepare(st->wdb, st->synchronous_full, st->busy_timeout_ms, err) != 0 ||
	    schema_migrate(st->wdb, err) != 0)
		goto fail;
	if (reader_init(st) != 0) {
		*err = "cannot create thread-local storage for read connections";
		goto fail;
	}
	if (writer_start(st, err) != 0)
		goto fail;
	*out = st;
	return STORE_OK;
fail:
	writer_stop(st);
	reader_close_all(st);
	store_free(st);
	return STORE_ERROR;
}

void sq_close(struct sq_store *st)
{
	if (st == NULL)
		return;
	/* In a fork child the parent's connections must not even be closed (closing could
	 * checkpoint or delete the parent's WAL); the memory is simply left behind. */
	if (store_forked(st))
		return;
	writer_stop(st);
	reader_close_all(st);
	store_free(st);
}

void sq_set_notify(struct sq_store *st, const struct store_notify *n)
{
	pthread_mutex_lock(&st->lock);
	if (n != NULL)
		st->notify = *n;
	else
		memset(&st->notify, 0, sizeof(st->notify));
	/* Callbacks of the old one may be running on the writer: they end first. */
	while (st->notifying > 0 && !(st->writer_running && pthread_equal(pthread_self(), st->writer)))
		pthread_cond_wait(&st->notify_idle, &st->lock);
	pthread_mutex_unlock(&st->lock);
}

int sq_user_version(struct sq_store *st)
{
	sqlite3_stmt *s = rstmt(st, RS_USER_VERSION);
	int v = -1;

	if (s == NULL)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_reset(s);
	return v;
}

int sq_ping(struct sq_store *st)
{
	struct store_op op = {.kind = OP_PING};
	sqlite3_stmt *s;
	int rc;

	if (store_forked(st))
		return STORE_ERROR;
	s = rstmt(st, RS_PING);
	if (s == NULL)
		return STORE_UNAVAILABLE;
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_ROW)
		return store_rc_sqlite(rc) == STORE_OK ? STORE_ERROR : store_rc_sqlite(rc);
	return writer_submit(st, &op);
}

/* VACUUM INTO runs on the caller's read connection: a consistent snapshot, and the writer is
 * not held up while the copy is written. */
int sq_backup(struct sq_store *st, const char *path)
{
	sqlite3_stmt *s = NULL;
	sqlite3 *db;
	int rc;

	if (path == NULL || path[0] == '\0' || access(path, F_OK) == 0)
		return STORE_ERROR;
	db = reader_conn(st);
	if (db == NULL)
		return STORE_UNAVAILABLE;
	rc = sqlite3_prepare_v2(db, "VACUUM INTO ?1", -1, &s, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(s, 1, path, -1, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc == SQLITE_DONE)
		return STORE_OK;
	store_log_sqlite(db, "backup", rc);
	rc = store_rc_sqlite(rc);
	return rc == STORE_CONFLICT || rc == STORE_OK ? STORE_ERROR : rc;
}

int sq_stats(struct sq_store *st, struct store_stats *out)
{
	sqlite3_stmt *s;
	int rc;

	memset(out, 0, sizeof(*out));
	s = rstmt(st, RS_STATS_MESSAGES);
	if (s == NULL)
		return STORE_UNAVAILABLE;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int state = sqlite3_column_int(s, 0);
		if (state >= 0 && state < MSG_STATE_COUNT)
			out->messages[state] = sqlite3_column_int64(s, 1);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		goto fail;
	s = rstmt(st, RS_STATS_OTHER);
	if (s == NULL)
		return STORE_UNAVAILABLE;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		out->devices = sqlite3_column_int64(s, 0);
		out->jobs_queued = sqlite3_column_int64(s, 1);
		out->jobs_leased = sqlite3_column_int64(s, 2);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW)
		goto fail;
	pthread_mutex_lock(&st->lock);
	out->commits = st->commits;
	out->committed_ops = st->committed_ops;
	out->largest_group = st->largest_group;
	out->commit_failures = st->commit_failures;
	out->reads = __atomic_load_n(&st->reads, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&st->lock);
	return STORE_OK;
fail:
	rc = store_rc_sqlite(rc);
	return rc == STORE_OK || rc == STORE_CONFLICT ? STORE_ERROR : rc;
}
