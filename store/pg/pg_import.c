/* SPDX-License-Identifier: GPL-2.0-or-later */
/* store_migrate: an SQLite store copied into an empty PostgreSQL database. The copy is read
 * from an online backup (the server may keep running; what it accepts after the backup is not
 * copied, so stop it first for a final move), row ids are kept, and each table's row count is
 * compared at the end. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pg_int.h"
#include "pg_ops.h"

/* Same tables and column names on both backends (message_counts is SQLite's own). */
static const char *const tables[] = {
	"providers",   "gateways",         "devices",          "messages", "message_events",
	"wake_jobs",   "idempotency_keys", "webhooks",         "events",   "webhook_outbox",
	"device_tags", "batches",          "push_tokens_gone",
};
#define NTABLES (sizeof(tables) / sizeof(tables[0]))

/* Rows of one table from the backup into the target, in the target's open transaction. */
static int copy_table(sqlite3 *db, PGconn *c, const char *table, int64_t *rows, const char **err)
{
	char sql[2048], cols[1024], params[512];
	sqlite3_stmt *s = NULL;
	int n, rc = STORE_OK;
	size_t cl = 0, pl = 0;

	snprintf(sql, sizeof(sql), "SELECT * FROM %s", table);
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
		*err = "cannot read the backup";
		return STORE_ERROR;
	}
	n = sqlite3_column_count(s);
	if (n > PG_PARAMS_MAX + 8) {
		sqlite3_finalize(s);
		*err = "a table has more columns than expected";
		return STORE_ERROR;
	}
	cols[0] = params[0] = '\0';
	for (int i = 0; i < n; i++) {
		cl += (size_t)snprintf(cols + cl, sizeof(cols) - cl, "%s%s", i ? ", " : "", sqlite3_column_name(s, i));
		pl += (size_t)snprintf(params + pl, sizeof(params) - pl, "%s$%d", i ? ", " : "", i + 1);
		if (cl >= sizeof(cols) || pl >= sizeof(params)) {
			sqlite3_finalize(s);
			*err = "column list too long";
			return STORE_ERROR;
		}
	}
	snprintf(sql, sizeof(sql), "INSERT INTO %s (%s) VALUES (%s)", table, cols, params);
	*rows = 0;
	while (rc == STORE_OK && sqlite3_step(s) == SQLITE_ROW) {
		const char *v[32];
		int len[32], fmt[32];
		char num[32][24];
		PGresult *r;

		for (int i = 0; i < n; i++) {
			len[i] = fmt[i] = 0;
			switch (sqlite3_column_type(s, i)) {
			case SQLITE_NULL: v[i] = NULL; break;
			case SQLITE_INTEGER:
				snprintf(num[i], sizeof(num[i]), "%lld", (long long)sqlite3_column_int64(s, i));
				v[i] = num[i];
				break;
			case SQLITE_BLOB:
				v[i] = sqlite3_column_blob(s, i) ? (const char *)sqlite3_column_blob(s, i) : "";
				len[i] = sqlite3_column_bytes(s, i);
				fmt[i] = 1;
				break;
			default: v[i] = (const char *)sqlite3_column_text(s, i); break;
			}
		}
		r = PQexecParams(c, sql, n, NULL, v, len, fmt, 0);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			log_warnx("store: copying %s: %s", table, PQresultErrorMessage(r));
			*err = "a row could not be copied";
			rc = STORE_ERROR;
		}
		PQclear(r);
		(*rows)++;
	}
	sqlite3_finalize(s);
	return rc;
}

static int64_t count_sqlite(sqlite3 *db, const char *table)
{
	char sql[128];
	sqlite3_stmt *s;
	int64_t n = -1;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

static int64_t count_pg(PGconn *c, const char *table)
{
	char sql[128];
	PGresult *r;
	int64_t n = -1;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	if (pg_exec(c, "count", sql, NULL, &r) == STORE_OK) {
		n = pg_i64(r, 0, 0);
		PQclear(r);
	}
	return n;
}

int store_migrate(struct store *src, const char *backup_path, const struct store_options *target, FILE *report,
		  const char **err)
{
	static const char *dummy;
	struct store *dst = NULL;
	sqlite3 *db = NULL;
	PGconn *c = NULL;
	int rc;

	if (err == NULL)
		err = &dummy;
	*err = NULL;
	if (src == NULL || src->be != &store_backend_sqlite || backup_path == NULL || target == NULL ||
	    target->backend != STORE_BACKEND_POSTGRESQL) {
		*err = "migrate copies an SQLite store into PostgreSQL";
		return STORE_ERROR;
	}
	/* The target's schema first (its migrations, under their lock), then: is it empty? */
	rc = store_open(target, &dst, err);
	if (rc != STORE_OK)
		return rc;
	c = pg_conn(PG(dst));
	if (c == NULL) {
		*err = "cannot connect to the target";
		rc = STORE_UNAVAILABLE;
		goto out;
	}
	for (size_t t = 0; t < NTABLES; t++) {
		if (count_pg(c, tables[t]) != 0) {
			*err = "the target database is not empty";
			rc = STORE_CONFLICT;
			goto out;
		}
	}
	rc = store_backup(src, backup_path);
	if (rc != STORE_OK) {
		*err = "the online backup failed";
		goto out;
	}
	if (report)
		fprintf(report, "backup: %s\n", backup_path);
	if (sqlite3_open_v2(backup_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		*err = "cannot open the backup";
		rc = STORE_ERROR;
		goto out;
	}
	rc = pg_begin(c);
	/* The rows are copied as they are: the triggers that make events (pg_schema.c) stand aside. */
	if (rc == STORE_OK)
		rc = pg_cmd(c, "import mode", "SET LOCAL smswake.import = 'on'", NULL);
	for (size_t t = 0; rc == STORE_OK && t < NTABLES; t++) {
		int64_t rows = 0;
		char sql[256];

		rc = copy_table(db, c, tables[t], &rows, err);
		if (rc != STORE_OK || strcmp(tables[t], "idempotency_keys") == 0 ||
		    strcmp(tables[t], "device_tags") == 0 || strcmp(tables[t], "push_tokens_gone") == 0)
			continue; /* no id column */
		/* New rows continue after the copied ids. */
		snprintf(sql, sizeof(sql),
			 "SELECT setval(pg_get_serial_sequence('%s', 'id'), coalesce((SELECT max(id) FROM %s), 0) + 1, "
			 "false)",
			 tables[t], tables[t]);
		rc = pg_cmd(c, "sequence", sql, NULL);
	}
	/* Counts on both sides, inside the transaction: any difference and nothing is kept. */
	for (size_t t = 0; rc == STORE_OK && t < NTABLES; t++) {
		int64_t a = count_sqlite(db, tables[t]), b = count_pg(c, tables[t]);

		if (report)
			fprintf(report, "%-17s %lld -> %lld\n", tables[t], (long long)a, (long long)b);
		if (a < 0 || a != b) {
			*err = "row counts differ after the copy";
			rc = STORE_ERROR;
		}
	}
	/* SQLite keeps a message's "queued" event as the message row itself (schema v8): here it is
	 * a row, as PostgreSQL writes it. */
	if (rc == STORE_OK) {
		PGresult *r = NULL;

		rc = pg_exec(
			c, "queued events",
			"INSERT INTO message_events(message_id, time_ms, state, what, detail) "
			"SELECT m.id, m.created_ms, 0, 'queued', CASE WHEN m.batch_id > 0 THEN 'batch ' || m.batch_id "
			"ELSE '' END FROM messages m WHERE NOT EXISTS (SELECT 1 FROM message_events e "
			"WHERE e.message_id = m.id AND e.what = 'queued') ORDER BY m.id",
			NULL, &r);
		if (rc == STORE_OK && report)
			fprintf(report, "%-17s %s added\n", "queued events", PQcmdTuples(r));
		PQclear(r);
	}
	rc = pg_end(NULL, c, rc);
	if (rc != STORE_OK && *err == NULL)
		*err = "the copy could not be committed";
out:
	if (db != NULL)
		sqlite3_close(db);
	if (c != NULL)
		pg_release(PG(dst), c);
	store_close(dst);
	return rc;
}
