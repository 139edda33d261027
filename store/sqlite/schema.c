/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The database schema and its migrations (PRAGMA user_version), plus the start-up pragmas and
 * integrity check, all run on the writer connection before the writer thread starts. */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "store_int.h"

/* Message states 0-3 (queued, wake_sent, sms_delivered, fetched) are the deliverable, pending
 * ones; 4-7 (acked, expired, replaced, cancelled) are final. Queries that want a partial index
 * must repeat its WHERE term literally ("state IN (0,1,2,3)"), or SQLite will not use it. */
static const char schema_v1[] = "CREATE TABLE providers ("
				" id INTEGER PRIMARY KEY,"
				" name TEXT NOT NULL,"
				" token_hash BLOB NOT NULL,"
				" created_ms INTEGER NOT NULL,"
				" revoked INTEGER NOT NULL DEFAULT 0,"
				" sms_budget_day INTEGER NOT NULL DEFAULT 0);"
				"CREATE UNIQUE INDEX providers_name ON providers(name) WHERE revoked = 0;"
				"CREATE UNIQUE INDEX providers_token ON providers(token_hash) WHERE revoked = 0;"

				"CREATE TABLE gateways ("
				" id INTEGER PRIMARY KEY,"
				" name TEXT NOT NULL,"
				" token_hash BLOB NOT NULL,"
				" created_ms INTEGER NOT NULL,"
				" last_seen_ms INTEGER NOT NULL DEFAULT 0,"
				" revoked INTEGER NOT NULL DEFAULT 0);"
				"CREATE UNIQUE INDEX gateways_name ON gateways(name) WHERE revoked = 0;"
				"CREATE UNIQUE INDEX gateways_token ON gateways(token_hash) WHERE revoked = 0;"

				"CREATE TABLE devices ("
				" id INTEGER PRIMARY KEY,"
				" provider_id INTEGER NOT NULL,"
				" msisdn TEXT NOT NULL,"
				" name TEXT NOT NULL,"
				" token_hash BLOB NOT NULL,"
				" sms_format INTEGER NOT NULL,"
				" poll_interval_s INTEGER NOT NULL,"
				" created_ms INTEGER NOT NULL,"
				" last_seen_ms INTEGER NOT NULL DEFAULT 0,"
				" last_seq INTEGER NOT NULL DEFAULT 0,"
				" acked_seq INTEGER NOT NULL DEFAULT 0,"
				" wake_ctr INTEGER NOT NULL DEFAULT 0,"
				" wake_state INTEGER NOT NULL DEFAULT 0,"
				" wake_sent_ms INTEGER NOT NULL DEFAULT 0,"
				" wake_attempts INTEGER NOT NULL DEFAULT 0,"
				" quiet_start_min INTEGER NOT NULL DEFAULT -1,"
				" quiet_end_min INTEGER NOT NULL DEFAULT -1);"
				"CREATE UNIQUE INDEX devices_msisdn ON devices(provider_id, msisdn);"
				"CREATE UNIQUE INDEX devices_token ON devices(token_hash);"

				"CREATE TABLE messages ("
				" id INTEGER PRIMARY KEY,"
				" device_id INTEGER NOT NULL,"
				" provider_id INTEGER NOT NULL,"
				" seq INTEGER NOT NULL,"
				" state INTEGER NOT NULL,"
				" urgency INTEGER NOT NULL,"
				" topic TEXT,"
				" content_type TEXT NOT NULL,"
				" created_ms INTEGER NOT NULL,"
				" expires_ms INTEGER NOT NULL,"
				" updated_ms INTEGER NOT NULL,"
				" body BLOB NOT NULL);"
				"CREATE UNIQUE INDEX messages_seq ON messages(device_id, seq);"
				/* Covering for has_pending: the empty poll never touches the table. */
				"CREATE INDEX messages_pending ON messages(device_id, seq, expires_ms, state)"
				" WHERE state IN (0,1,2,3);"
				"CREATE INDEX messages_expiry ON messages(expires_ms) WHERE state IN (0,1,2,3);"
				"CREATE INDEX messages_final ON messages(updated_ms) WHERE state IN (4,5,6,7);"

				"CREATE TABLE message_events ("
				" id INTEGER PRIMARY KEY,"
				" message_id INTEGER NOT NULL,"
				" time_ms INTEGER NOT NULL,"
				" state INTEGER NOT NULL,"
				" what TEXT NOT NULL,"
				" detail TEXT NOT NULL DEFAULT '');"
				"CREATE INDEX message_events_msg ON message_events(message_id);"

				/* Counts by state kept by triggers, so store_stats never scans messages. */
				"CREATE TABLE message_counts (state INTEGER PRIMARY KEY, n INTEGER NOT NULL);"
				"INSERT INTO message_counts VALUES (0,0),(1,0),(2,0),(3,0),(4,0),(5,0),(6,0),(7,0);"
				"CREATE TRIGGER messages_count_ins AFTER INSERT ON messages BEGIN"
				" UPDATE message_counts SET n = n + 1 WHERE state = new.state; END;"
				"CREATE TRIGGER messages_count_del AFTER DELETE ON messages BEGIN"
				" UPDATE message_counts SET n = n - 1 WHERE state = old.state; END;"
				"CREATE TRIGGER messages_count_upd AFTER UPDATE OF state ON messages"
				" WHEN old.state <> new.state BEGIN"
				" UPDATE message_counts SET n = n - 1 WHERE state = old.state;"
				" UPDATE message_counts SET n = n + 1 WHERE state = new.state; END;"

				"CREATE TABLE wake_jobs ("
				" id INTEGER PRIMARY KEY,"
				" device_id INTEGER NOT NULL,"
				" provider_id INTEGER NOT NULL,"
				" msisdn TEXT NOT NULL,"
				" sms_format INTEGER NOT NULL,"
				" port INTEGER NOT NULL,"
				" ctr INTEGER NOT NULL,"
				" payload BLOB NOT NULL,"
				" validity_s INTEGER NOT NULL,"
				" due_ms INTEGER NOT NULL,"
				" lease_until_ms INTEGER NOT NULL DEFAULT 0,"
				" gateway_id INTEGER NOT NULL DEFAULT 0,"
				" state INTEGER NOT NULL DEFAULT 0,"
				" attempts INTEGER NOT NULL DEFAULT 0,"
				" reference INTEGER NOT NULL DEFAULT -1,"
				" error TEXT NOT NULL DEFAULT '',"
				" created_ms INTEGER NOT NULL,"
				" updated_ms INTEGER NOT NULL);"
				"CREATE INDEX wake_jobs_due ON wake_jobs(due_ms) WHERE state = 0;"
				"CREATE INDEX wake_jobs_lease ON wake_jobs(lease_until_ms) WHERE state = 1;"
				"CREATE INDEX wake_jobs_done ON wake_jobs(updated_ms) WHERE state IN (2,3,4,5);"
				/* Wakeups per device and per provider in the last hour or day (limits, budgets). */
				"CREATE INDEX wake_jobs_device ON wake_jobs(device_id, created_ms);"
				"CREATE INDEX wake_jobs_provider ON wake_jobs(provider_id, created_ms);"

				"CREATE TABLE idempotency_keys ("
				" provider_id INTEGER NOT NULL,"
				" key TEXT NOT NULL,"
				" message_id INTEGER NOT NULL,"
				" created_ms INTEGER NOT NULL,"
				" PRIMARY KEY (provider_id, key)) WITHOUT ROWID;"
				"CREATE INDEX idempotency_created ON idempotency_keys(created_ms);"
				"CREATE INDEX idempotency_message ON idempotency_keys(message_id);";

/* Migration i brings a database from user_version i to i + 1. Append only; never edit a step
 * that has shipped. */
/* v2: the master key each device's wake key comes from, and the one it is being moved to (0 if
 * none) during a key rotation (docs/operations.md, "Keys"). */
static const char schema_v2[] = "ALTER TABLE devices ADD COLUMN key_id INTEGER NOT NULL DEFAULT 1;"
				"ALTER TABLE devices ADD COLUMN key_next INTEGER NOT NULL DEFAULT 0;";

/* v3: wake counters hold all 64 bits, stored as signed integers with the same bits (sql.c). A
 * counter that an earlier version pushed past 2^63 - 1 became a REAL; it is the bit pattern of
 * 2^63 now, the counter that increment should have made. */
static const char schema_v3[] = "UPDATE devices SET wake_ctr = -9223372036854775808 WHERE typeof(wake_ctr) = 'real';";

/* v4: events know the wake job they come from (the delivery report of a job reaches exactly the
 * messages its SMS covered), and a job keeps the time its SMS left a modem (api.md, "Gateway
 * API"). */
static const char schema_v4[] = "ALTER TABLE message_events ADD COLUMN job_id INTEGER NOT NULL DEFAULT 0;"
				"CREATE INDEX message_events_job ON message_events(job_id) WHERE job_id > 0;"
				"ALTER TABLE wake_jobs ADD COLUMN sent_ms INTEGER NOT NULL DEFAULT 0;";

/* v5: what a provider is told (api.md, "Webhooks" and "Event stream"). Each transition a provider
 * hears of becomes a row of events, and a row of webhook_outbox for each of its endpoints that
 * asked for that type, by triggers: in the same transaction as the transition, whichever
 * operation made it. A message event's state is the state it entered (or, for a failed SMS, the
 * message's). */
#define STATE_NAME(x)                                                                                                  \
	"CASE " x " WHEN 0 THEN 'queued' WHEN 1 THEN 'wake_sent' WHEN 2 THEN 'sms_delivered' WHEN 3 THEN 'fetched' "   \
	"WHEN 4 THEN 'acked' WHEN 5 THEN 'expired' WHEN 6 THEN 'replaced' WHEN 7 THEN 'cancelled' ELSE '' END"
/* What message_event_out does (v5; v8 changes only its WHEN). */
#define MESSAGE_EVENT_OUT_BODY                                                                                         \
	" BEGIN INSERT INTO events(provider_id, type, time_ms, message_id, device_id, seq, state) "                    \
	"SELECT m.provider_id, CASE NEW.what WHEN 'wake_undeliverable' THEN 'message.undeliverable' "                  \
	"ELSE 'message.' || NEW.what END, NEW.time_ms, m.id, m.device_id, m.seq, CASE WHEN NEW.state >= 0 "            \
	"THEN " STATE_NAME("NEW.state") " ELSE " STATE_NAME(                                                           \
		"m.state") " END FROM messages m WHERE m.id = NEW.message_id; END;"
/* clang-format off */
static const char schema_v5[] =
	"CREATE TABLE webhooks ( id INTEGER PRIMARY KEY, provider_id INTEGER NOT NULL, url TEXT NOT "
	"NULL, events TEXT NOT NULL, secret BLOB NOT NULL, created_ms INTEGER NOT NULL, disabled_ms "
	"INTEGER NOT NULL DEFAULT 0, last_status INTEGER NOT NULL DEFAULT 0, last_error TEXT NOT NULL "
	"DEFAULT '', last_attempt_ms INTEGER NOT NULL DEFAULT 0, delivered INTEGER NOT NULL DEFAULT 0, "
	"failures INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX webhooks_provider ON webhooks(provider_id);"
	"CREATE TABLE events ( id INTEGER PRIMARY KEY AUTOINCREMENT, provider_id INTEGER NOT NULL, type "
	"TEXT NOT NULL, time_ms INTEGER NOT NULL, message_id INTEGER NOT NULL, device_id INTEGER NOT "
	"NULL, seq INTEGER NOT NULL, state TEXT NOT NULL);"
	"CREATE INDEX events_provider ON events(provider_id, id);"
	"CREATE INDEX events_time ON events(time_ms);"
	"CREATE TABLE webhook_outbox ( id INTEGER PRIMARY KEY, webhook_id INTEGER NOT NULL, event_id "
	"INTEGER NOT NULL, message_id INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_ms "
	"INTEGER NOT NULL, created_ms INTEGER NOT NULL);"
	"CREATE INDEX webhook_outbox_due ON webhook_outbox(next_ms);"
	"CREATE INDEX webhook_outbox_order ON webhook_outbox(webhook_id, message_id, id);"
	"CREATE INDEX webhook_outbox_event ON webhook_outbox(event_id);"
	"CREATE TRIGGER message_event_out AFTER INSERT ON message_events WHEN NEW.what IN ('fetched', "
	"'acked', 'expired', 'wake_undeliverable') OR (NEW.what = 'wake_sent' AND NEW.state = 1) OR "
	"(NEW.what = 'sms_delivered' AND NEW.state = 2)" MESSAGE_EVENT_OUT_BODY
	"CREATE TRIGGER device_unreachable_out AFTER UPDATE OF wake_state ON devices WHEN NEW.wake_state "
	"= 2 AND OLD.wake_state <> 2 BEGIN INSERT INTO events(provider_id, type, time_ms, message_id, "
	"device_id, seq, state) VALUES (NEW.provider_id, 'device.unreachable', CAST((julianday('now') - "
	"2440587.5) * 86400000 AS INTEGER), 0, NEW.id, NEW.last_seq, 'unreachable');"
	" END;"
	"CREATE TRIGGER event_outbox AFTER INSERT ON events BEGIN INSERT INTO webhook_outbox(webhook_id, "
	"event_id, message_id, next_ms, created_ms) SELECT w.id, NEW.id, NEW.message_id, 0, NEW.time_ms "
	"FROM webhooks w WHERE w.provider_id = NEW.provider_id AND w.disabled_ms = 0 AND instr(w.events, "
	"',' || NEW.type || ',') > 0;"
	" END;"
	/* Fleets (api.md, "Fleets"): tags, and messages sent to many devices at once. */
	"CREATE TABLE device_tags (tag TEXT NOT NULL, device_id INTEGER NOT NULL, PRIMARY KEY (tag, "
	"device_id)) WITHOUT ROWID;"
	"CREATE INDEX device_tags_device ON device_tags(device_id);"
	"CREATE TRIGGER device_tags_gone AFTER DELETE ON devices BEGIN DELETE FROM device_tags WHERE "
	"device_id = OLD.id;"
	" END;"
	"CREATE TABLE batches (id INTEGER PRIMARY KEY, provider_id INTEGER NOT NULL, created_ms INTEGER "
	"NOT NULL, count INTEGER NOT NULL DEFAULT 0);"
	"ALTER TABLE messages ADD COLUMN batch_id INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX messages_batch ON messages(batch_id) WHERE batch_id > 0;";
/* clang-format on */

/* v6: a device's Web Push subscription (docs/webpush.md): its public key and auth secret
 * (base64url, as the device uploads them; neither can decrypt) and the opaque token of its push
 * endpoint; and the content coding of each message. */
static const char schema_v6[] =
	"ALTER TABLE devices ADD COLUMN push_p256dh TEXT;"
	"ALTER TABLE devices ADD COLUMN push_auth TEXT;"
	"ALTER TABLE devices ADD COLUMN push_token TEXT;"
	"CREATE UNIQUE INDEX devices_push_token ON devices(push_token) WHERE push_token IS NOT NULL;"
	/* The content coding of an end-to-end encrypted body ("aes128gcm"), NULL for plain. */
	"ALTER TABLE messages ADD COLUMN content_encoding TEXT;"
	/* The one application server key a subscription is bound to (browsers' applicationServerKey),
	 * NULL when any VAPID key may send. */
	"ALTER TABLE devices ADD COLUMN push_server_key TEXT;";

/* v7: the push endpoints of deleted devices, so a sender is told 410 Gone (RFC 8030 section 7.3:
 * the subscription expired) rather than 404, and drops it. Filled by the deletion itself. */
static const char schema_v7[] =
	"CREATE TABLE push_tokens_gone (token TEXT PRIMARY KEY, gone_ms INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TRIGGER device_push_gone AFTER DELETE ON devices WHEN OLD.push_token IS NOT NULL"
	" BEGIN INSERT OR REPLACE INTO push_tokens_gone(token, gone_ms)"
	" VALUES (OLD.push_token, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)); END;";

/* v8: no list of constants where a row is written. SQLite builds a temporary table for
 * "state IN (0,1,2,3)" each time a statement runs, and for each partial index an insert or an
 * update of a message touches: three per submitted message, and one more for each event through
 * message_event_out's WHEN. The partial indexes now say "state <= 3" and "state >= 4" (states
 * are 0 to 7, store.h), as do the queries that use them (sql.c); the trigger compares. */
/* clang-format off */
static const char schema_v8[] =
	"DROP INDEX messages_pending;"
	"CREATE INDEX messages_pending ON messages(device_id, seq, expires_ms, state) WHERE state <= 3;"
	"DROP INDEX messages_expiry;"
	"CREATE INDEX messages_expiry ON messages(expires_ms) WHERE state <= 3;"
	"DROP INDEX messages_final;"
	"CREATE INDEX messages_final ON messages(updated_ms) WHERE state >= 4;"
	"DROP TRIGGER message_event_out;"
	"CREATE TRIGGER message_event_out AFTER INSERT ON message_events WHEN NEW.what = 'fetched' OR "
	"NEW.what = 'acked' OR NEW.what = 'expired' OR NEW.what = 'wake_undeliverable' OR "
	"(NEW.what = 'wake_sent' AND NEW.state = 1) OR "
	"(NEW.what = 'sms_delivered' AND NEW.state = 2)" MESSAGE_EVENT_OUT_BODY;
/* clang-format on */

/* v9: a message's insert no longer fires a trigger to count it: running the trigger's program
 * took a fifth of the writer's time per submit. Every insert is of a queued message, and the
 * writer adds what a group's committed operations inserted to message_counts once, in the same
 * transaction, before COMMIT (writer.c). Deletes and state changes are still counted by their
 * triggers. */
static const char schema_v9[] = "DROP TRIGGER messages_count_ins;";

static const char *const migrations[] = {
	schema_v1, schema_v2, schema_v3, schema_v4, schema_v5, schema_v6, schema_v7, schema_v8, schema_v9,
};
#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

int sq_schema_version(void)
{
	return SCHEMA_VERSION;
}

static int exec_sql(sqlite3 *db, const char *sql, const char *what)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		store_log_sqlite(db, what, rc);
	return rc;
}

/* Reads one integer from a pragma or query; -1 on failure. */
static int64_t query_int(sqlite3 *db, const char *sql, int *rcp)
{
	sqlite3_stmt *s = NULL;
	int64_t v = -1;
	int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);

	if (rc == SQLITE_OK) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			v = sqlite3_column_int64(s, 0);
			rc = SQLITE_OK;
		}
	}
	sqlite3_finalize(s);
	if (rcp)
		*rcp = rc;
	return v;
}

/* quick_check returns one row "ok" or up to N rows describing problems. Its first row is
 * logged so an operator knows where to start. */
static int integrity_check(sqlite3 *db, const char **err)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(10)", -1, &s, NULL);
	int ok = 0;

	if (rc == SQLITE_OK) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			const unsigned char *t = sqlite3_column_text(s, 0);
			if (t && strcmp((const char *)t, "ok") == 0) {
				ok = 1;
			} else {
				log_error("store: PRAGMA quick_check: %s", t ? (const char *)t : "(null)");
				*err = "database integrity check (PRAGMA quick_check) failed; restore a backup";
			}
			rc = SQLITE_OK;
		}
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_OK) {
		store_log_sqlite(db, "PRAGMA quick_check", rc);
		if ((rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CORRUPT)
			*err = "database file is corrupt or not an SQLite database";
		else
			*err = "cannot check the database (PRAGMA quick_check)";
		return -1;
	}
	return ok ? 0 : -1;
}

int schema_prepare(sqlite3 *db, int synchronous_full, int busy_timeout_ms, const char **err)
{
	sqlite3_stmt *s = NULL;
	const unsigned char *mode;
	int rc, wal = 0;

	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, busy_timeout_ms);
	/* The first real read of the file happens here: a non-database fails now. */
	if (integrity_check(db, err) != 0)
		return -1;
	rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &s, NULL);
	if (rc == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW) {
		mode = sqlite3_column_text(s, 0);
		wal = mode && strcmp((const char *)mode, "wal") == 0;
	}
	sqlite3_finalize(s);
	if (!wal) {
		*err = "cannot switch the database to WAL mode (is it on a local file system?)";
		return -1;
	}
	if (exec_sql(db, synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
		     "PRAGMA synchronous") != SQLITE_OK ||
	    exec_sql(db, "PRAGMA temp_store=MEMORY", "PRAGMA temp_store") != SQLITE_OK) {
		*err = "cannot set database pragmas";
		return -1;
	}
	return 0;
}

/* Each step runs in its own transaction with the user_version bump, so a crash between steps
 * leaves a database at a well-defined version. */
int schema_migrate(sqlite3 *db, const char **err)
{
	char sql[64];
	int rc;
	int64_t v = query_int(db, "PRAGMA user_version", &rc);

	if (rc != SQLITE_OK || v < 0) {
		*err = "cannot read the schema version (PRAGMA user_version)";
		return -1;
	}
	if (v > SCHEMA_VERSION) {
		log_error("store: database schema version %lld is newer than this program's (%d)", (long long)v,
			  SCHEMA_VERSION);
		*err = "database schema is newer than this program; upgrade smswake";
		return -1;
	}
	for (; v < SCHEMA_VERSION; v++) {
		if (exec_sql(db, "BEGIN IMMEDIATE", "migration BEGIN") != SQLITE_OK)
			goto fail;
		snprintf(sql, sizeof(sql), "PRAGMA user_version=%lld", (long long)v + 1);
		if (exec_sql(db, migrations[v], "migration") != SQLITE_OK ||
		    exec_sql(db, sql, "migration user_version") != SQLITE_OK ||
		    exec_sql(db, "COMMIT", "migration COMMIT") != SQLITE_OK) {
			if (!sqlite3_get_autocommit(db))
				sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			goto fail;
		}
		log_info("store: database schema migrated to version %lld", (long long)v + 1);
	}
	return 0;
fail:
	*err = "database schema migration failed";
	return -1;
}
