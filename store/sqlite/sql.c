/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Every SQL statement the store runs after start-up, in one place so the schema and its queries
 * can be read side by side. Writer statements are prepared at open; read ones on first use. */
#include "store_int.h"

/* Message states: 0 queued, 1 wake_sent, 2 sms_delivered, 3 fetched, 4 acked, 5 expired,
 * 6 replaced, 7 cancelled. "state <= 3" (not yet final) and "state >= 4" (final) are spelled
 * exactly like the partial indexes' WHERE clauses so the planner can use them; narrower
 * filters are added after them. A list of constants ("state IN (0,1,2,3)") would make SQLite
 * build a temporary table each time a statement runs, and for every partial index an insert
 * or update touches (schema v8). */
#define MSG_COLS                                                                                                       \
	"id, device_id, provider_id, seq, state, urgency, topic, content_type, "                                       \
	"created_ms, expires_ms, updated_ms, length(body), content_encoding"
#define JOB_COLS                                                                                                       \
	"id, device_id, msisdn, sms_format, port, ctr, payload, validity_s, due_ms, "                                  \
	"lease_until_ms, state, attempts, reference, error"
#define DEVICE_COLS                                                                                                    \
	"d.id, d.provider_id, d.msisdn, d.name, d.sms_format, d.poll_interval_s, "                                     \
	"d.created_ms, d.last_seen_ms, d.last_seq, d.acked_seq, d.wake_ctr, d.wake_state, "                            \
	"d.wake_sent_ms, d.wake_attempts, "                                                                            \
	"(SELECT count(*) FROM messages m WHERE m.device_id = d.id AND m.state <= 3), "                                \
	"d.quiet_start_min, d.quiet_end_min, d.key_id, d.key_next, d.push_p256dh, d.push_auth, d.push_token"
/* DEVICE_COLS for a poll: the same columns, but "pending" is 1 if the device has a deliverable
 * message with seq > ?2 unexpired at ?3 (the empty-poll query's index alone), else 0. */
#define DEVICE_POLL_COLS                                                                                               \
	"d.id, d.provider_id, d.msisdn, d.name, d.sms_format, d.poll_interval_s, "                                     \
	"d.created_ms, d.last_seen_ms, d.last_seq, d.acked_seq, d.wake_ctr, d.wake_state, "                            \
	"d.wake_sent_ms, d.wake_attempts, "                                                                            \
	"EXISTS (SELECT 1 FROM messages m WHERE m.device_id = d.id AND m.state <= 3 "                                  \
	"AND m.seq > ?2 AND m.expires_ms >= ?3), "                                                                     \
	"d.quiet_start_min, d.quiet_end_min, d.key_id, d.key_next, d.push_p256dh, d.push_auth, d.push_token"
#define EVENT_INSERT "INSERT INTO message_events(message_id, time_ms, state, what, detail) "
/* Wake counters are unsigned 64-bit, stored as the signed 64-bit integer with the same bits
 * (SQLite has no unsigned type): values from 2^63 are negative in the table. U_GT compares two
 * such columns or parameters as unsigned: a > b. */
#define U_GT(a, b) "(CASE WHEN (" a " < 0) = (" b " < 0) THEN " a " > " b " ELSE " a " < 0 END)"

const char *const store_wsql[WS_COUNT] = {
	[WS_BEGIN] = "BEGIN IMMEDIATE",
	/* Changes when another connection (another process) committed (authcache.c). */
	[WS_DATA_VERSION] = "PRAGMA data_version",
	[WS_COMMIT] = "COMMIT",
	[WS_ROLLBACK] = "ROLLBACK",
	[WS_SAVEPOINT] = "SAVEPOINT op",
	[WS_ROLLBACK_TO] = "ROLLBACK TO op",
	[WS_RELEASE] = "RELEASE op",
	/* The messages a group inserted, all queued (state 0): one update a group (schema v9). */
	[WS_COUNT_QUEUED] = "UPDATE message_counts SET n = n + ?1 WHERE state = 0",

	[WS_PROVIDER_ADD] = "INSERT INTO providers(name, token_hash, created_ms) VALUES (?1, ?2, ?3)",
	[WS_PROVIDER_ACTIVE] = "SELECT 1 FROM providers WHERE id = ?1 AND revoked = 0",
	[WS_PROVIDER_REVOKE] = "UPDATE providers SET revoked = 1 WHERE name = ?1 AND revoked = 0",
	[WS_PROVIDER_BUDGET] = "UPDATE providers SET sms_budget_day = ?2 WHERE name = ?1 AND revoked = 0",
	[WS_GATEWAY_ADD] = "INSERT INTO gateways(name, token_hash, created_ms) VALUES (?1, ?2, ?3)",
	[WS_GATEWAY_REVOKE] = "UPDATE gateways SET revoked = 1 WHERE name = ?1 AND revoked = 0",
	[WS_GATEWAY_SEEN] = "UPDATE gateways SET last_seen_ms = max(last_seen_ms, ?2) WHERE id = ?1",

	[WS_DEVICE_ADD] = "INSERT INTO devices(provider_id, msisdn, name, token_hash, sms_format, "
			  "poll_interval_s, created_ms, quiet_start_min, quiet_end_min, key_id) "
			  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[WS_DEVICE_OWNER] = "SELECT provider_id FROM devices WHERE id = ?1",
	[WS_DEVICE_UPDATE] = "UPDATE devices SET "
			     "name = CASE WHEN ?2 & 1 THEN ?3 ELSE name END, "
			     "msisdn = CASE WHEN ?2 & 2 THEN ?4 ELSE msisdn END, "
			     "sms_format = CASE WHEN ?2 & 4 THEN ?5 ELSE sms_format END, "
			     "poll_interval_s = CASE WHEN ?2 & 8 THEN ?6 ELSE poll_interval_s END, "
			     "quiet_start_min = CASE WHEN ?2 & 16 THEN ?7 ELSE quiet_start_min END, "
			     "quiet_end_min = CASE WHEN ?2 & 16 THEN ?8 ELSE quiet_end_min END "
			     "WHERE id = ?1",
	[WS_DEVICE_DEL_EVENTS] = "DELETE FROM message_events WHERE message_id IN "
				 "(SELECT id FROM messages WHERE device_id = ?1)",
	[WS_DEVICE_DEL_IDEM] = "DELETE FROM idempotency_keys WHERE message_id IN "
			       "(SELECT id FROM messages WHERE device_id = ?1)",
	[WS_DEVICE_DEL_MSGS] = "DELETE FROM messages WHERE device_id = ?1",
	[WS_DEVICE_DEL_JOBS] = "DELETE FROM wake_jobs WHERE device_id = ?1",
	[WS_DEVICE_DEL] = "DELETE FROM devices WHERE id = ?1",
	/* Contact ends the wake state only if it came after the wakeup went out. */
	[WS_DEVICE_TOUCH] = "UPDATE devices SET last_seen_ms = max(last_seen_ms, ?2), "
			    "wake_state = CASE WHEN wake_sent_ms <= ?2 THEN 0 ELSE wake_state END, "
			    "wake_attempts = CASE WHEN wake_sent_ms <= ?2 THEN 0 ELSE wake_attempts END, "
			    "wake_sent_ms = CASE WHEN wake_sent_ms <= ?2 THEN 0 ELSE wake_sent_ms END "
			    "WHERE id = ?1",
	/* Deliverable messages of provider ?3's device ?1, counted up to ?2 at most (the pending
	 * index alone); 0 for another provider's device, which the next statement then refuses. */
	[WS_DEVICE_PENDING] = "SELECT CASE WHEN (SELECT provider_id FROM devices WHERE id = ?1) = ?3 THEN "
			      "(SELECT count(*) FROM (SELECT 1 FROM messages WHERE device_id = ?1 "
			      "AND state <= 3 LIMIT ?2)) ELSE 0 END",
	/* Then WS_DEVICE_LAST_SEQ: RETURNING would build and drop a temporary table each time. */
	[WS_DEVICE_NEXT_SEQ] = "UPDATE devices SET last_seq = last_seq + 1 WHERE id = ?1 AND provider_id = ?2",
	[WS_DEVICE_LAST_SEQ] = "SELECT last_seq FROM devices WHERE id = ?1",
	/* ?4: the key the device says it holds; it completes a move to that key. */
	[WS_DEVICE_ACK] =
		"UPDATE devices SET acked_seq = max(acked_seq, min(?2, last_seq)), "
		"wake_ctr = CASE WHEN " U_GT(
			"?3", "wake_ctr") " THEN ?3 ELSE wake_ctr END, "
					  "key_id = CASE WHEN ?4 != 0 AND ?4 = key_next THEN ?4 ELSE key_id END, "
					  "key_next = CASE WHEN ?4 != 0 AND ?4 = key_next THEN 0 ELSE key_next END "
					  "WHERE id = ?1",
	[WS_KEY_ROLL] = "UPDATE devices SET key_next = CASE WHEN key_id = ?1 THEN 0 ELSE ?1 END "
			"WHERE key_next != CASE WHEN key_id = ?1 THEN 0 ELSE ?1 END",
	/* A new job changes no wake state: only an SMS a modem accepted does (WS_DEVICE_SENT). The
	 * device's counter only ever grows (unsigned, U_GT). */
	[WS_DEVICE_WAKE] = "UPDATE devices SET wake_ctr = CASE WHEN " U_GT(
		"?2", "wake_ctr") " THEN ?2 ELSE wake_ctr END "
				  "WHERE id = ?1 AND (?2 = 0 OR NOT " U_GT("wake_ctr",
									   "?2") ") RETURNING msisdn, provider_id",
	/* An SMS left a modem at ?2: one more unanswered wakeup, unless the device made contact
	 * after the job was leased at ?5 (it answered before the report came). */
	[WS_DEVICE_SENT] = "UPDATE devices SET wake_state = CASE WHEN wake_state = 2 THEN 2 ELSE 1 END, "
			   "wake_sent_ms = max(wake_sent_ms, ?2), wake_attempts = wake_attempts + 1 "
			   "WHERE id = ?1 AND last_seen_ms < ?5",
	/* The next counter, unsigned: 2^63 - 1 is followed by 2^63 (stored as the smallest signed
	 * value); 2^64 - 1 (stored as -1) is the last, and then no row changes. */
	[WS_DEVICE_CTR_NEXT] = "UPDATE devices SET wake_ctr = CASE WHEN wake_ctr = 9223372036854775807 "
			       "THEN -9223372036854775808 ELSE wake_ctr + 1 END "
			       "WHERE id = ?1 AND wake_ctr <> -1 RETURNING wake_ctr",
	/* The endpoint token is made once and kept across key rotations (the subscription stays). */
	[WS_DEVICE_SET_PUSH] =
		"UPDATE devices SET push_p256dh = ?2, push_auth = ?3, "
		"push_token = coalesce(push_token, ?4), push_server_key = ?5 WHERE id = ?1 RETURNING last_seq",
	[WS_DEVICE_SET_WAKE] = "UPDATE devices SET wake_state = ?2, "
			       "wake_attempts = CASE WHEN ?2 = 0 THEN 0 ELSE wake_attempts END, "
			       "wake_sent_ms = CASE ?2 WHEN 0 THEN 0 WHEN 1 THEN ?3 ELSE wake_sent_ms END "
			       "WHERE id = ?1",
	[WS_DEVICE_UNREACHABLE] = "UPDATE devices SET wake_state = 2 WHERE id = ?1 AND wake_state = 1",

	[WS_IDEM_GET] = "SELECT message_id FROM idempotency_keys WHERE provider_id = ?1 AND key = ?2",
	[WS_IDEM_DEL] = "DELETE FROM idempotency_keys WHERE provider_id = ?1 AND key = ?2",
	[WS_IDEM_ADD] = "INSERT INTO idempotency_keys(provider_id, key, message_id, created_ms) "
			"VALUES (?1, ?2, ?3, ?4)",

	[WS_MSG_LOAD] = "SELECT " MSG_COLS " FROM messages WHERE id = ?1",
	[WS_MSG_INSERT] = "INSERT INTO messages(device_id, provider_id, seq, state, urgency, topic, "
			  "content_type, created_ms, expires_ms, updated_ms, body, content_encoding) "
			  "VALUES (?1, ?2, ?3, 0, ?4, ?5, ?6, ?7, ?8, ?7, ?9, ?10)",
	[WS_MSG_SET_STATE] = "UPDATE messages SET state = ?2, updated_ms = ?3 WHERE id = ?1",
	[WS_EVENT_ADD] = EVENT_INSERT "VALUES (?1, ?2, ?3, ?4, ?5)",
	[WS_EVENT_REPLACE] = EVENT_INSERT "SELECT id, ?3, 6, 'replaced', ?5 FROM messages "
					  "WHERE device_id = ?1 AND state <= 3 AND state <> 3 "
					  "AND topic = ?2 AND id <> ?4",
	[WS_MSG_REPLACE] = "UPDATE messages SET state = 6, updated_ms = ?3 "
			   "WHERE device_id = ?1 AND state <= 3 AND state <> 3 "
			   "AND topic = ?2 AND id <> ?4",
	[WS_EVENT_DEVICE_PENDING] = EVENT_INSERT "SELECT id, ?2, -1, ?3, ?4 FROM messages "
						 "WHERE device_id = ?1 AND state <= 3",

	[WS_EVENT_SEQ] = EVENT_INSERT "SELECT id, ?3, -1, ?4, ?5 FROM messages WHERE device_id = ?1 AND seq = ?2",
	[WS_FETCH_SELECT] = "SELECT " MSG_COLS ", body FROM messages "
			    "WHERE device_id = ?1 AND state <= 3 AND seq > ?2 "
			    "AND expires_ms >= ?3 ORDER BY seq LIMIT ?4",
	[WS_EVENT_FETCH] = EVENT_INSERT "SELECT id, ?4, 3, 'fetched', '' FROM messages "
					"WHERE device_id = ?1 AND state <= 3 AND state <> 3 "
					"AND seq > ?2 AND seq <= ?3 AND expires_ms >= ?4",
	[WS_MSG_FETCH] = "UPDATE messages SET state = 3, updated_ms = ?4 "
			 "WHERE device_id = ?1 AND state <= 3 AND state <> 3 "
			 "AND seq > ?2 AND seq <= ?3 AND expires_ms >= ?4",
	[WS_EVENT_ACK] = EVENT_INSERT "SELECT id, ?3, 4, 'acked', '' FROM messages "
				      "WHERE device_id = ?1 AND state <= 3 AND state = 3 AND seq <= ?2",
	[WS_MSG_ACK] = "UPDATE messages SET state = 4, updated_ms = ?3 "
		       "WHERE device_id = ?1 AND state <= 3 AND state = 3 AND seq <= ?2",
	/* The SMS of job ?4 left a modem by ?2, the gateway says; the job was leased at ?5. The
	 * messages it covers: those created by ?2 and neither fetched nor finished before ?5, even
	 * if the device has fetched them since (it answered before the report came). The gateway
	 * learns of a send only when the modem answers, so a device can fetch first: the event is
	 * placed at ?2 or just before that fetch, whichever is earlier. Only the first SMS of a message
	 * enters the state; a retry's event carries no state (-1). */
	[WS_EVENT_WAKE_SENT] = "INSERT INTO message_events(message_id, time_ms, state, what, detail, job_id) "
			       "SELECT m.id, min(?2, coalesce((SELECT min(e.time_ms) - 1 FROM message_events e "
			       "WHERE e.message_id = m.id AND e.state >= 3), ?2)), "
			       "CASE WHEN EXISTS (SELECT 1 FROM message_events e "
			       "WHERE e.message_id = m.id AND e.state = 1) THEN -1 ELSE 1 END, 'wake_sent', ?3, ?4 "
			       "FROM messages m WHERE m.device_id = ?1 AND m.created_ms <= ?2 "
			       "AND (m.state <= 2 OR m.updated_ms >= ?5) "
			       "AND NOT EXISTS (SELECT 1 FROM message_events e WHERE e.message_id = m.id "
			       "AND e.state >= 3 AND e.time_ms < ?5)",
	[WS_MSG_WAKE_SENT] = "UPDATE messages SET state = 1, updated_ms = ?2 "
			     "WHERE device_id = ?1 AND state <= 3 AND state = 0 AND created_ms <= ?2",
	/* Job ?1's SMS was delivered at ?2: the messages its wake_sent events name. */
	[WS_EVENT_DELIVERED] = "INSERT INTO message_events(message_id, time_ms, state, what, detail, job_id) "
			       "SELECT e.message_id, ?2, CASE WHEN EXISTS (SELECT 1 FROM message_events x "
			       "WHERE x.message_id = e.message_id AND x.state = 2) THEN -1 ELSE 2 END, "
			       "'sms_delivered', ?3, ?1 FROM message_events e "
			       "WHERE e.job_id = ?1 AND e.job_id > 0 AND e.what = 'wake_sent' "
			       "AND NOT EXISTS (SELECT 1 FROM message_events x WHERE x.message_id = e.message_id "
			       "AND x.job_id = ?1 AND x.job_id > 0 AND x.what = 'sms_delivered')",
	[WS_MSG_DELIVERED] = "UPDATE messages SET state = 2, updated_ms = ?2 "
			     "WHERE state <= 3 AND state = 1 AND id IN (SELECT message_id "
			     "FROM message_events WHERE job_id = ?1 AND job_id > 0 AND what = 'wake_sent')",

	/* Both statements of a chunk pick the same rows: same data, same plan, same order. */
	[WS_EVENT_EXPIRE] = EVENT_INSERT "SELECT id, ?1, 5, 'expired', '' FROM messages "
					 "WHERE state <= 3 AND expires_ms < ?1 ORDER BY expires_ms LIMIT ?2",
	[WS_MSG_EXPIRE] = "UPDATE messages SET state = 5, updated_ms = ?1 WHERE id IN "
			  "(SELECT id FROM messages WHERE state <= 3 AND expires_ms < ?1 "
			  "ORDER BY expires_ms LIMIT ?2)",
	[WS_PURGE_EVENTS] = "DELETE FROM message_events WHERE message_id IN "
			    "(SELECT id FROM messages WHERE state >= 4 AND updated_ms < ?1 "
			    "ORDER BY updated_ms LIMIT ?2)",
	[WS_PURGE_MSGS] = "DELETE FROM messages WHERE id IN "
			  "(SELECT id FROM messages WHERE state >= 4 AND updated_ms < ?1 "
			  "ORDER BY updated_ms LIMIT ?2)",
	[WS_PURGE_IDEM] = "DELETE FROM idempotency_keys WHERE (provider_id, key) IN "
			  "(SELECT provider_id, key FROM idempotency_keys WHERE created_ms < ?1 LIMIT ?2)",
	[WS_PURGE_JOBS] = "DELETE FROM wake_jobs WHERE id IN "
			  "(SELECT id FROM wake_jobs WHERE state IN (2,3,4,5) AND updated_ms < ?1 LIMIT ?2)",

	[WS_JOB_ADD] = "INSERT INTO wake_jobs(device_id, provider_id, msisdn, sms_format, port, ctr, "
		       "payload, validity_s, due_ms, created_ms, updated_ms) "
		       "VALUES (?1, ?10, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
	[WS_JOB_EXHAUST] = "UPDATE wake_jobs SET state = 4, error = 'lease expired', updated_ms = ?1 "
			   "WHERE state = 1 AND lease_until_ms <= ?1 AND attempts >= ?2",
	[WS_JOB_DUE] = "SELECT id FROM ("
		       "SELECT id, due_ms FROM wake_jobs WHERE state = 0 AND due_ms <= ?1 UNION ALL "
		       "SELECT id, due_ms FROM wake_jobs WHERE state = 1 AND lease_until_ms <= ?1) "
		       "ORDER BY due_ms, id LIMIT ?2",
	/* ?5: the validity the content still allows (it never outlives the newest message). */
	[WS_JOB_LEASE] = "UPDATE wake_jobs SET state = 1, gateway_id = ?2, lease_until_ms = ?3, "
			 "attempts = attempts + 1, updated_ms = ?4, validity_s = min(validity_s, ?5) "
			 "WHERE id = ?1 RETURNING " JOB_COLS,
	/* What a due job would wake the device for: the device's counter, the job's, its wake state,
	 * whether the job still has the device's number and SMS format (a PATCH may have changed
	 * them while it waited), and its newest pending, unfetched message's expiry (NULL: none). */
	[WS_JOB_CONTENT] =
		"SELECT d.wake_ctr, j.ctr, d.wake_state, "
		"j.msisdn = d.msisdn AND j.sms_format = d.sms_format, (SELECT max(m.expires_ms) FROM messages m "
		"WHERE m.device_id = j.device_id AND m.state <= 3 AND m.state <> 3 "
		"AND m.expires_ms > ?2) FROM wake_jobs j JOIN devices d ON d.id = j.device_id "
		"WHERE j.id = ?1",
	[WS_JOB_DROP] = "DELETE FROM wake_jobs WHERE id = ?1",
	[WS_JOB_OUTSTANDING] = "SELECT 1 FROM wake_jobs WHERE device_id = ?1 AND state IN (0,1) LIMIT 1",
	/* A guarded job's decision, again (op_job_add): the device's newest job, its jobs of the
	 * last hour (?2) and day (?3), its provider's budget and jobs of the last day. No row: no
	 * device. */
	[WS_JOB_GUARD] = "SELECT (SELECT max(id) FROM wake_jobs WHERE device_id = ?1), "
			 "(SELECT count(*) FROM wake_jobs WHERE device_id = ?1 AND created_ms > ?2), "
			 "(SELECT count(*) FROM wake_jobs WHERE device_id = ?1 AND created_ms > ?3), "
			 "p.sms_budget_day, CASE WHEN p.sms_budget_day > 0 THEN (SELECT count(*) FROM wake_jobs j "
			 "WHERE j.provider_id = p.id AND j.created_ms > ?3) ELSE 0 END "
			 "FROM devices d LEFT JOIN providers p ON p.id = d.provider_id WHERE d.id = ?1",
	[WS_JOB_STATE] = "SELECT device_id, state, gateway_id, attempts, reference, updated_ms, sent_ms "
			 "FROM wake_jobs WHERE id = ?1",
	[WS_JOB_SUBMITTED] = "UPDATE wake_jobs SET state = 2, reference = ?2, updated_ms = ?3, sent_ms = ?4 "
			     "WHERE id = ?1",
	[WS_JOB_DELIVERED] = "UPDATE wake_jobs SET state = 3, "
			     "reference = CASE WHEN ?2 >= 0 THEN ?2 ELSE reference END, updated_ms = ?3 "
			     "WHERE id = ?1",
	[WS_JOB_REQUEUE] = "UPDATE wake_jobs SET state = 0, gateway_id = 0, lease_until_ms = 0, "
			   "due_ms = ?4, error = ?3, updated_ms = ?2 WHERE id = ?1",
	[WS_JOB_FINAL] = "UPDATE wake_jobs SET state = ?2, error = ?3, updated_ms = ?4 WHERE id = ?1",
};

const char *const store_rsql[RS_COUNT] = {
	[RS_PING] = "SELECT 1",
	[RS_USER_VERSION] = "PRAGMA user_version",
	[RS_PROVIDER_AUTH] = "SELECT id, name, created_ms, 0, revoked, sms_budget_day FROM providers "
			     "WHERE token_hash = ?1 AND revoked = 0",
	[RS_GATEWAY_AUTH] = "SELECT id, name, created_ms, last_seen_ms, revoked, 0 FROM gateways "
			    "WHERE token_hash = ?1 AND revoked = 0",
	[RS_PROVIDER_LIST] = "SELECT id, name, created_ms, 0, revoked, sms_budget_day FROM providers "
			     "ORDER BY id",
	[RS_GATEWAY_LIST] = "SELECT id, name, created_ms, last_seen_ms, revoked, 0 FROM gateways "
			    "ORDER BY id",
	[RS_DEVICE_AUTH] = "SELECT id FROM devices WHERE token_hash = ?1",
	/* The device, or (last column 1) a deleted device's endpoint. */
	[RS_DEVICE_BY_PUSH] = "SELECT id, provider_id, push_server_key, 0 FROM devices WHERE push_token = ?1 "
			      "UNION ALL SELECT 0, 0, NULL, 1 FROM push_tokens_gone WHERE token = ?1 LIMIT 1",
	[RS_DEVICE_GET] = "SELECT " DEVICE_COLS " FROM devices d WHERE d.id = ?1",
	[RS_DEVICE_LIST] = "SELECT " DEVICE_COLS " FROM devices d WHERE d.provider_id = ?1 ORDER BY d.id",
	[RS_DEVICE_LIST_ALL] = "SELECT " DEVICE_COLS " FROM devices d ORDER BY d.id",
	/* The empty-poll query: answered from the covering partial index alone. */
	[RS_HAS_PENDING] = "SELECT 1 FROM messages WHERE device_id = ?1 AND state <= 3 "
			   "AND seq > ?2 AND expires_ms >= ?3 LIMIT 1",
	[RS_DEVICE_POLL] = "SELECT " DEVICE_POLL_COLS " FROM devices d WHERE d.id = ?1",
	[RS_DEVICE_POLL_TOKEN] = "SELECT " DEVICE_POLL_COLS " FROM devices d WHERE d.token_hash = ?1",
	[RS_FETCH_PRECHECK] = "SELECT EXISTS (SELECT 1 FROM devices WHERE id = ?1), "
			      "EXISTS (SELECT 1 FROM messages WHERE device_id = ?1 AND state <= 3 "
			      "AND seq > ?2 AND expires_ms >= ?3)",
	[RS_MSG_GET] = "SELECT " MSG_COLS " FROM messages WHERE id = ?1",
	/* In the order things happened; a report may record an event after a later one. The
	 * "queued" event is the message row's creation: since schema v8 it is not written as a row
	 * of its own (a database from before has one, which is then shown instead). */
	[RS_MSG_EVENTS] = "SELECT created_ms, 0, 'queued', CASE WHEN batch_id > 0 THEN 'batch ' || batch_id ELSE '' "
			  "END, 0 FROM messages WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM message_events "
			  "WHERE message_id = ?1 AND what = 'queued') "
			  "UNION ALL SELECT time_ms, state, what, detail, id FROM message_events "
			  "WHERE message_id = ?1 ORDER BY 1, 5",
	[RS_JOB_GET] = "SELECT " JOB_COLS " FROM wake_jobs WHERE id = ?1",
	/* Devices with messages that are neither fetched nor final, one chunk at a time. */
	[RS_CANDIDATES] = "SELECT device_id, count(*), "
			  "min(CASE WHEN urgency = 0 THEN created_ms END), "
			  "min(CASE WHEN urgency = 1 THEN created_ms END), "
			  "min(CASE WHEN urgency = 2 THEN created_ms END), "
			  "min(CASE WHEN urgency = 3 THEN created_ms END), max(expires_ms) "
			  "FROM messages WHERE device_id > ?1 AND state <= 3 AND state <> 3 "
			  "AND expires_ms >= ?2 GROUP BY device_id ORDER BY device_id LIMIT ?3",
	[RS_DEVICE_WAKES] = "SELECT count(*) FILTER (WHERE created_ms > ?2), count(*) FROM wake_jobs "
			    "WHERE device_id = ?1 AND created_ms > ?3",
	/* Counted only under a budget, which also bounds the count. */
	[RS_PROVIDER_WAKES] = "SELECT p.sms_budget_day, CASE WHEN p.sms_budget_day > 0 THEN "
			      "(SELECT count(*) FROM wake_jobs j WHERE j.provider_id = p.id "
			      "AND j.created_ms > ?2) ELSE 0 END FROM providers p WHERE p.id = ?1",
	/* The device's newest wake job (the highest id: a guarded job add compares it): is one
	 * outstanding, and how did the last one end. */
	[RS_DEVICE_LAST_JOB] = "SELECT state, created_ms, updated_ms, attempts, id FROM wake_jobs "
			       "WHERE id = (SELECT max(id) FROM wake_jobs WHERE device_id = ?1)",
	/* Due jobs no gateway holds, since when the oldest waits, and the last gateway contact. */
	[RS_WAKE_BACKLOG] = "SELECT count(*), min(w), (SELECT max(last_seen_ms) FROM gateways WHERE revoked = 0) "
			    "FROM (SELECT due_ms AS w FROM wake_jobs WHERE state = 0 AND due_ms <= ?1 UNION ALL "
			    "SELECT lease_until_ms FROM wake_jobs WHERE state = 1 AND lease_until_ms <= ?1)",
	[RS_STATS_MESSAGES] = "SELECT state, n FROM message_counts",
	[RS_STATS_OTHER] = "SELECT (SELECT count(*) FROM devices), "
			   "(SELECT count(*) FROM wake_jobs WHERE state = 0), "
			   "(SELECT count(*) FROM wake_jobs WHERE state = 1)",
};
