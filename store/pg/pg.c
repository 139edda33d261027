/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The PostgreSQL store's life cycle: connection pool, statement helpers, the listener thread
 * (LISTEN for commits made by other servers, batched last-seen times) and open/close. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "pg_int.h"
#include "pg_ops.h"

void pgp_i64(struct pg_params *p, int64_t v)
{
	if (p->n >= PG_PARAMS_MAX)
		return;
	snprintf(p->buf[p->n], sizeof(p->buf[0]), "%lld", (long long)v);
	p->v[p->n] = p->buf[p->n];
	p->len[p->n] = 0;
	p->fmt[p->n] = 0;
	p->n++;
}

char *pg_array_literal(const void *arr, size_t n, int64_t (*at)(const void *arr, size_t i))
{
	size_t cap = n * 21 + 3, len = 0; /* "-9223372036854775808," is 21 */
	char *list = n <= (SIZE_MAX - 3) / 21 ? malloc(cap) : NULL;

	if (list == NULL)
		return NULL;
	list[len++] = '{';
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(list + len, cap - len, "%s%lld", i ? "," : "", (long long)at(arr, i));
	snprintf(list + len, cap - len, "}");
	return list;
}

void pgp_text(struct pg_params *p, const char *s)
{
	if (p->n >= PG_PARAMS_MAX)
		return;
	p->v[p->n] = s;
	p->len[p->n] = 0;
	p->fmt[p->n] = 0;
	p->n++;
}

void pgp_bytes(struct pg_params *p, const void *b, size_t n)
{
	if (p->n >= PG_PARAMS_MAX)
		return;
	p->v[p->n] = n > 0 ? (const char *)b : "";
	p->len[p->n] = (int)n;
	p->fmt[p->n] = 1; /* binary: bytea as raw bytes */
	p->n++;
}

PGconn *pg_connect(struct pg_store *st)
{
	const char *keys[] = {"dbname", st->password ? "password" : NULL, NULL};
	const char *vals[] = {st->dsn, st->password, NULL};
	PGconn *c = PQconnectdbParams(keys, vals, 1);

	if (c == NULL)
		return NULL;
	if (PQstatus(c) != CONNECTION_OK) {
		log_warnx("store: cannot connect to PostgreSQL: %s", PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	/* Times are passed in by the caller; the session's settings: durable commits, and no notices
	 * on stderr (the schema's IF NOT EXISTS says when it skips). */
	PQclear(PQexec(c, "SET synchronous_commit = on; SET client_min_messages = warning"));
	return c;
}

PGconn *pg_conn(struct pg_store *st)
{
	PGconn *c = NULL;

	pthread_mutex_lock(&st->lock);
	if (st->nidle > 0)
		c = st->idle[--st->nidle];
	pthread_mutex_unlock(&st->lock);
	return c != NULL ? c : pg_connect(st);
}

void pg_release(struct pg_store *st, PGconn *c)
{
	if (c == NULL)
		return;
	if (PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) == PQTRANS_IDLE) {
		pthread_mutex_lock(&st->lock);
		if (st->nidle < PG_POOL_MAX) {
			st->idle[st->nidle++] = c;
			c = NULL;
		}
		pthread_mutex_unlock(&st->lock);
	}
	if (c != NULL)
		PQfinish(c);
}

/* The SQLSTATE of this thread's last failed statement ("" when none, or when the connection
 * broke): the writer asks it whether a failed group is worth running again. */
static __thread char last_state[6];

int pg_retryable(void)
{
	return strcmp(last_state, "40001") == 0 || strcmp(last_state, "40P01") == 0;
}

void pg_retryable_reset(void)
{
	last_state[0] = '\0';
}

int pg_exec(PGconn *c, const char *what, const char *sql, const struct pg_params *p, PGresult **res)
{
	/* Without parameters, PQexec: a migration is several statements in one string. */
	PGresult *r = p ? PQexecParams(c, sql, p->n, NULL, p->v, p->len, p->fmt, 0) : PQexec(c, sql);
	ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	const char *state;

	*res = NULL;
	if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
		*res = r;
		return STORE_OK;
	}
	state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	snprintf(last_state, sizeof(last_state), "%s", state != NULL ? state : "");
	if (state != NULL && strcmp(state, "23505") == 0) {
		PQclear(r);
		return STORE_CONFLICT;
	}
	log_warnx("store: %s: %s", what, r ? PQresultErrorMessage(r) : PQerrorMessage(c));
	PQclear(r); /* state pointed into r: last_state is its copy */
	/* Class 08 (connection), 53 (resources), 57 (shutdown), 40 (serialization, deadlock):
	 * transient, answer 503 and let the client retry. */
	if (PQstatus(c) != CONNECTION_OK || strncmp(last_state, "08", 2) == 0 || strncmp(last_state, "53", 2) == 0 ||
	    strncmp(last_state, "57", 2) == 0 || strncmp(last_state, "40", 2) == 0)
		return STORE_UNAVAILABLE;
	return STORE_ERROR;
}

int pg_cmd(PGconn *c, const char *what, const char *sql, const struct pg_params *p)
{
	PGresult *r;
	int rc = pg_exec(c, what, sql, p, &r);

	PQclear(r);
	return rc;
}

int pg_begin(PGconn *c)
{
	return pg_cmd(c, "begin", "BEGIN", NULL);
}

int pg_end(struct pg_store *st, PGconn *c, int rc)
{
	int fail = 0;

	if (rc == STORE_OK && st != NULL) {
		pthread_mutex_lock(&st->lock);
		if (st->fail_commits > 0) {
			st->fail_commits--;
			fail = 1;
		}
		pthread_mutex_unlock(&st->lock);
	}
	if (rc == STORE_OK && !fail) {
		rc = pg_cmd(c, "commit", "COMMIT", NULL);
		if (rc == STORE_CONFLICT)
			rc = STORE_UNAVAILABLE; /* a deferred check failed: nothing was stored */
	} else {
		if (PQtransactionStatus(c) != PQTRANS_IDLE)
			(void)pg_cmd(c, "rollback", "ROLLBACK", NULL);
		if (fail)
			rc = STORE_UNAVAILABLE;
	}
	if (st != NULL) {
		pthread_mutex_lock(&st->lock);
		if (rc == STORE_OK) {
			st->commits++;
			st->committed_ops++;
			if (st->largest_group < 1)
				st->largest_group = 1;
		} else if (fail || rc == STORE_UNAVAILABLE) {
			st->commit_failures++;
		}
		pthread_mutex_unlock(&st->lock);
	}
	return rc;
}

int64_t pg_i64(const PGresult *r, int row, int col)
{
	if (PQgetisnull(r, row, col))
		return 0;
	return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

void pg_text(char *dst, size_t size, const PGresult *r, int row, int col)
{
	const char *s = PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col);

	snprintf(dst, size, "%s", s);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t pg_bytes(uint8_t *dst, size_t max, const PGresult *r, int row, int col)
{
	const char *s = PQgetvalue(r, row, col);
	size_t n = 0;

	if (PQgetisnull(r, row, col) || s[0] != '\\' || s[1] != 'x')
		return 0;
	for (s += 2; s[0] != '\0' && s[1] != '\0' && n < max; s += 2) {
		int hi = hexval(s[0]), lo = hexval(s[1]);
		if (hi < 0 || lo < 0)
			break;
		dst[n++] = (uint8_t)(hi << 4 | lo);
	}
	return n;
}

/* ---- Last-seen times: recorded in memory, written in batches. ---- */

int pg_touch_flush(struct pg_store *st)
{
	struct pg_touch *items;
	size_t n;
	char *ids = NULL, *times = NULL;
	size_t isz = 0, tsz = 0;
	FILE *fi, *ft;
	PGconn *c;
	int rc = STORE_OK;

	pthread_mutex_lock(&st->lock);
	items = st->touch;
	n = st->ntouch;
	st->touch = NULL;
	st->ntouch = 0;
	pthread_mutex_unlock(&st->lock);
	if (n == 0)
		return STORE_OK;
	fi = open_memstream(&ids, &isz);
	ft = open_memstream(&times, &tsz);
	if (fi == NULL || ft == NULL) {
		if (fi)
			fclose(fi);
		if (ft)
			fclose(ft);
		free(ids);
		free(times);
		free(items);
		return STORE_ERROR;
	}
	fputc('{', fi);
	fputc('{', ft);
	for (size_t i = 0; i < n; i++) {
		fprintf(fi, "%s%lld", i ? "," : "", (long long)items[i].id);
		fprintf(ft, "%s%lld", i ? "," : "", (long long)items[i].seen_ms);
	}
	fputc('}', fi);
	fputc('}', ft);
	fclose(fi);
	fclose(ft);
	c = pg_conn(st);
	if (c == NULL) {
		rc = STORE_UNAVAILABLE;
	} else {
		struct pg_params p = {0};

		pgp_text(&p, ids);
		/* The rows in id order first, as the writer's groups take theirs (pg_writer.c): an
		 * UPDATE ... FROM locks them in whatever order its join yields, and could deadlock
		 * with a group holding some of them. */
		rc = pg_begin(c);
		if (rc == STORE_OK)
			rc = pg_cmd(c, "last-seen lock",
				    "SELECT 1 FROM devices WHERE id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE",
				    &p);
		pgp_text(&p, times);
		/* Contact ends the wake state only if it came after the wakeup went out. */
		if (rc == STORE_OK)
			rc = pg_cmd(
				c, "last-seen batch",
				"UPDATE devices d SET last_seen_ms = greatest(d.last_seen_ms, t.seen), "
				"wake_state = CASE WHEN d.wake_sent_ms <= t.seen THEN 0 ELSE d.wake_state END, "
				"wake_attempts = CASE WHEN d.wake_sent_ms <= t.seen THEN 0 ELSE d.wake_attempts END, "
				"wake_sent_ms = CASE WHEN d.wake_sent_ms <= t.seen THEN 0 ELSE d.wake_sent_ms END "
				"FROM (SELECT id, max(seen) AS seen FROM unnest($1::bigint[], $2::bigint[]) AS u(id, "
				"seen) "
				"GROUP BY id) t WHERE d.id = t.id",
				&p);
		rc = pg_end(NULL, c, rc);
		pg_release(st, c);
	}
	free(ids);
	free(times);
	free(items);
	return rc;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* LISTEN smswake_msg (payload: device id) and smswake_job; each notification reaches this
 * server's long-polls and scheduler as if the commit had been its own. Also writes the batch of
 * last-seen times about once a second. */
static void *listener_main(void *arg)
{
	struct pg_store *st = arg;
	PGconn *c = NULL;
	int64_t last_flush = mono_ms();

	for (;;) {
		struct pollfd pfd;
		PGnotify *n;
		int stop;

		pthread_mutex_lock(&st->lock);
		stop = st->stopping;
		pthread_mutex_unlock(&st->lock);
		if (stop)
			break;
		if (mono_ms() - last_flush >= 1000) {
			(void)pg_touch_flush(st);
			last_flush = mono_ms();
		}
		if (c == NULL) {
			c = pg_conn(st);
			if (c != NULL &&
			    pg_cmd(c, "listen", "LISTEN smswake_msg; LISTEN smswake_job", NULL) != STORE_OK) {
				PQfinish(c);
				c = NULL;
			}
			if (c == NULL) {
				poll(NULL, 0, 200);
				continue;
			}
		}
		pfd.fd = PQsocket(c);
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 100) < 0 && errno != EINTR)
			break;
		if (!PQconsumeInput(c)) {
			log_warnx("store: notification connection lost: %s", PQerrorMessage(c));
			PQfinish(c);
			c = NULL;
			continue;
		}
		while ((n = PQnotifies(c)) != NULL) {
			struct store_notify nt;

			pthread_mutex_lock(&st->lock);
			nt = st->notify;
			st->notifying++; /* pg_set_notify waits for these callbacks */
			pthread_mutex_unlock(&st->lock);
			if (strcmp(n->relname, "smswake_msg") == 0 && nt.message_added)
				nt.message_added(nt.arg, strtoll(n->extra, NULL, 10));
			else if (strcmp(n->relname, "smswake_job") == 0 && nt.wake_job_added)
				nt.wake_job_added(nt.arg);
			pthread_mutex_lock(&st->lock);
			if (--st->notifying == 0)
				pthread_cond_broadcast(&st->notify_idle);
			pthread_mutex_unlock(&st->lock);
			PQfreemem(n);
		}
	}
	if (c != NULL)
		PQfinish(c);
	return NULL;
}

static char *read_password(const char *path, const char **err)
{
	FILE *f = fopen(path, "re");
	char buf[1024];
	size_t n;

	if (f == NULL) {
		*err = "cannot read the PostgreSQL password file";
		return NULL;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	return strdup(buf);
}

static void pg_free(struct pg_store *st)
{
	for (int i = 0; i < st->nidle; i++)
		PQfinish(st->idle[i]);
	if (st->password != NULL) {
		explicit_bzero(st->password, strlen(st->password));
		free(st->password);
	}
	free(st->touch);
	free(st->dsn);
	pthread_cond_destroy(&st->work);
	pthread_cond_destroy(&st->wake);
	pthread_cond_destroy(&st->notify_idle);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

int pg_open(const struct store_options *opt, struct store **out, const char **err)
{
	struct pg_store *st;
	PGconn *c;

	if (opt->dsn == NULL || opt->dsn[0] == '\0') {
		*err = "the postgresql backend needs a dsn";
		return STORE_ERROR;
	}
	st = calloc(1, sizeof(*st));
	if (st == NULL || (st->dsn = strdup(opt->dsn)) == NULL) {
		free(st);
		*err = "out of memory";
		return STORE_ERROR;
	}
	st->base.be = &store_backend_postgresql;
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->wake, NULL);
	pthread_cond_init(&st->notify_idle, NULL);
	pthread_cond_init(&st->work, NULL);
	if (opt->password_file != NULL && opt->password_file[0] != '\0' &&
	    (st->password = read_password(opt->password_file, err)) == NULL) {
		pg_free(st);
		return STORE_ERROR;
	}
	c = pg_connect(st);
	if (c == NULL) {
		*err = "cannot connect to PostgreSQL";
		pg_free(st);
		return STORE_UNAVAILABLE;
	}
	if (pg_migrate(c, err) != STORE_OK) {
		PQfinish(c);
		pg_free(st);
		return STORE_ERROR;
	}
	pg_release(st, c);
	if (pg_writer_start(st) != 0) {
		*err = "cannot start the writer thread";
		pg_free(st);
		return STORE_ERROR;
	}
	if (pthread_create(&st->listener, NULL, listener_main, st) != 0) {
		*err = "cannot start the notification thread";
		pg_writer_stop(st);
		pg_free(st);
		return STORE_ERROR;
	}
	pthread_setname_np(st->listener, "pg-listen");
	st->listener_running = 1;
	*out = &st->base;
	return STORE_OK;
}

/* The writer first: what is queued is committed and answered before anything else stops. */
void pg_close(struct pg_store *st)
{
	pg_writer_stop(st);
	if (st->listener_running) {
		pthread_mutex_lock(&st->lock);
		st->stopping = 1;
		pthread_mutex_unlock(&st->lock);
		pthread_join(st->listener, NULL);
	}
	(void)pg_touch_flush(st);
	pg_free(st);
}
