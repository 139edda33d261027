/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The storage layer's narrow interface: the server's only way to reach durable state.
 * No SQLite type leaks out, so another backend (PostgreSQL) can implement the same verbs.
 *
 * Threading: every function may be called from any thread. Writes are handed to one writer
 * thread that commits them in groups; a write function returns only after its group's COMMIT
 * (durable with synchronous=FULL). Reads run on per-thread read connections.
 *
 * Asynchronous writes (the *_async verbs) queue the same operation and return at once; the
 * caller's store_done_cb runs once, on the writer thread, after the group's COMMIT (or with
 * STORE_UNAVAILABLE when the group failed): a caller answers its client from there without
 * holding a thread while the group commits. Every pointer passed to an *_async verb (inputs and
 * outputs) must stay valid until its callback ran. An *_async verb that returns anything but
 * STORE_OK queued nothing and never calls back.
 *
 * Return values: STORE_OK (0) or a positive enum store_rc; store_strerror() names it.
 * Times are milliseconds since the Unix epoch, passed in by the caller so tests control the
 * clock. */
#ifndef SMSWAKE_STORE_H
#define SMSWAKE_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct store;

/* Completion of an asynchronous write: rc is what the synchronous verb would have returned.
 * Runs on the writer thread outside the store's locks; it must be quick and must not call the
 * store's write verbs (their synchronous forms would wait for the writer itself). */
typedef void (*store_done_cb)(void *arg, int rc);

enum store_rc {
	STORE_OK = 0,
	STORE_NOTFOUND,    /* no such row, or it belongs to another provider */
	STORE_CONFLICT,    /* state does not allow it (cancel after fetch, duplicate name) */
	STORE_UNAVAILABLE, /* disk full, I/O error, database locked too long: answer 503, retry later */
	STORE_ERROR,       /* anything else (corruption, out of memory, misuse) */
	STORE_FULL,        /* the device has max_pending messages waiting already: answer 429 */
	STORE_GONE,        /* it existed and was deleted (a push endpoint): answer 410 */
	STORE_UNSUPPORTED, /* the store's backend does not have this operation yet: answer 501 */
	STORE_STALE,       /* the decision a call was made on no longer holds: nothing changed, not a
			    * failure (store_wake_job_add with a guard; the reason is in job->refused) */
};
const char *store_strerror(int rc);

#define STORE_HASH_LEN 32   /* SHA-256 of a bearer token */
#define STORE_MSISDN_MAX 16 /* "+" and up to 15 digits (E.164) */
#define STORE_NAME_MAX 64
#define STORE_P256DH_MAX 87     /* base64url of an uncompressed P-256 point (65 octets) */
#define STORE_PUSH_AUTH_MAX 22  /* base64url of the 16-octet auth secret */
#define STORE_PUSH_TOKEN_MAX 22 /* base64url of the endpoint's 16 random octets */
#define STORE_TOPIC_MAX 32
#define STORE_CTYPE_MAX 128
#define STORE_IDEMKEY_MAX 64
#define STORE_BODY_MAX 4096
#define STORE_WAKE_PAYLOAD_MAX 140
#define STORE_ERROR_MAX 128

enum store_msg_state {
	MSG_QUEUED = 0,
	MSG_WAKE_SENT,
	MSG_SMS_DELIVERED,
	MSG_FETCHED,
	MSG_ACKED,
	MSG_EXPIRED,
	MSG_REPLACED,
	MSG_CANCELLED,
	MSG_STATE_COUNT
};
/* "queued", "wake_sent", ...; NULL for an out-of-range value. */
const char *store_msg_state_name(int state);

enum store_urgency { URG_VERY_LOW = 0, URG_LOW, URG_NORMAL, URG_HIGH, URG_COUNT };
const char *store_urgency_name(int urgency); /* "very-low", "low", "normal", "high" */
int store_urgency_parse(const char *s);      /* -1 when unknown */

enum store_sms_format { SMS_FORMAT_BINARY = 0, SMS_FORMAT_TEXT = 1 };

enum store_wake_state { WAKE_IDLE = 0, WAKE_IN_FLIGHT, WAKE_UNREACHABLE };
const char *store_wake_state_name(int state); /* "idle", "in_flight", "unreachable" */

enum store_backend_kind { STORE_BACKEND_SQLITE = 0, STORE_BACKEND_POSTGRESQL };

struct store_options {
	int backend;               /* enum store_backend_kind; 0 (SQLite) by default */
	const char *path;          /* SQLite: database file; created with its schema when missing */
	const char *dsn;           /* PostgreSQL: libpq connection string ("host=/run/postgresql dbname=smswake") */
	const char *password_file; /* PostgreSQL: file holding the password (first line), or NULL */
	int synchronous_full;      /* 1 (default): PRAGMA synchronous=FULL; 0: NORMAL */
	int group_max;             /* most operations in one commit group; 0 means 512 */
	int busy_timeout_ms;       /* 0 means 5000 */
};

/* Opens (creating if needed) the database, applies migrations, runs PRAGMA quick_check and
 * starts the writer thread. On failure *err (if not NULL) points to a static explanation. */
int store_open(const struct store_options *opt, struct store **out, const char **err);
/* Flushes pending writes (last-seen times included), stops the writer, closes everything. */
void store_close(struct store *st);
/* Schema version this code migrates to, and the one found in the file. */
int store_schema_version(void);
/* The same for a backend (enum store_backend_kind); -1 for an unknown one. */
int store_backend_schema_version(int backend);
int store_user_version(struct store *st);
/* STORE_OK when a trivial read and the writer thread both work. */
int store_ping(struct store *st);
/* Online copy of the whole database to path (VACUUM INTO); path must not exist. */
int store_backup(struct store *st, const char *path);
/* Copies this SQLite store into the empty PostgreSQL database of target (backend, dsn,
 * password_file): an online backup to backup_path first (kept), then every table from that
 * backup with its row ids, in one transaction that commits only when each table's row count is
 * the same on both sides. One line per table goes to report (may be NULL). STORE_CONFLICT when
 * the target already holds data. */
int store_migrate(struct store *st, const char *backup_path, const struct store_options *target, FILE *report,
		  const char **err);

/* Called by the writer thread after a commit that queued messages for a device or created
 * wake jobs, so the server can wake long-polling requests. Must not call back into the store.
 * Once store_set_notify returns, no callback of the notification it replaced is running or will
 * run (so its arg may go); it must not be called from such a callback. */
struct store_notify {
	void (*message_added)(void *arg, int64_t device_id);
	void (*wake_job_added)(void *arg);
	void *arg;
};
void store_set_notify(struct store *st, const struct store_notify *n);

/* ---- Providers and gateways: named principals with hashed bearer tokens. ---- */

struct store_principal {
	int64_t id;
	char name[STORE_NAME_MAX + 1];
	int64_t created_ms;
	int64_t last_seen_ms; /* gateways only */
	int revoked;
	int64_t sms_budget_day; /* providers only: wakeups per day, 0 = unlimited */
};
typedef int (*store_principal_cb)(void *arg, const struct store_principal *p);

/* STORE_CONFLICT when an active principal already has the name. */
int store_provider_add(struct store *st, const char *name, const uint8_t hash[STORE_HASH_LEN], int64_t now_ms,
		       int64_t *id);
int store_provider_list(struct store *st, store_principal_cb cb, void *arg);
/* Both return once a server running on the same store answers with the change: on SQLite,
 * which remembers providers' keys for a moment (store/sqlite/authcache.c), after 0.3 s. */
int store_provider_revoke(struct store *st, const char *name);
int store_provider_set_budget(struct store *st, const char *name, int64_t sms_per_day);
/* Finds the active provider whose key hashes to hash. STORE_NOTFOUND otherwise. */
int store_provider_auth(struct store *st, const uint8_t hash[STORE_HASH_LEN], struct store_principal *out);

int store_gateway_add(struct store *st, const char *name, const uint8_t hash[STORE_HASH_LEN], int64_t now_ms,
		      int64_t *id);
int store_gateway_list(struct store *st, store_principal_cb cb, void *arg);
int store_gateway_revoke(struct store *st, const char *name);
int store_gateway_auth(struct store *st, const uint8_t hash[STORE_HASH_LEN], struct store_principal *out);

/* ---- Devices ---- */

struct store_device {
	int64_t id;
	int64_t provider_id;
	char msisdn[STORE_MSISDN_MAX + 1];
	char name[STORE_NAME_MAX + 1];
	int sms_format;          /* enum store_sms_format */
	int64_t poll_interval_s; /* how often the device polls when no SMS comes; 0 = never */
	int64_t created_ms;
	int64_t last_seen_ms;    /* 0 = never */
	uint64_t last_seq;       /* highest sequence number assigned */
	uint64_t acked_seq;      /* highest cumulative acknowledgement */
	uint64_t wake_ctr;       /* last wake counter used (or reported by the device) */
	int wake_state;          /* enum store_wake_state */
	int64_t wake_sent_ms;    /* when the current in-flight wakeup went out, 0 if none */
	int wake_attempts;       /* unanswered wakeups since the device last made contact */
	int64_t pending;         /* messages not yet acked, expired, replaced or cancelled */
	int64_t quiet_start_min; /* quiet hours, minutes after midnight UTC; -1 = none */
	int64_t quiet_end_min;
	int key_id;   /* master key id the device's wake key is derived under (1-255) */
	int key_next; /* master key id the device is being moved to, 0 if none */
	/* Web Push subscription (docs/webpush.md); empty strings when the device has sent none. */
	char push_p256dh[STORE_P256DH_MAX + 1];
	char push_auth[STORE_PUSH_AUTH_MAX + 1];
	char push_token[STORE_PUSH_TOKEN_MAX + 1];
};
typedef int (*store_device_cb)(void *arg, const struct store_device *d);

/* In: provider_id, msisdn, name, sms_format, poll_interval_s, quiet hours, key_id (0 means 1).
 * Out: id, created_ms.
 * STORE_CONFLICT when the provider already has a device with this msisdn. */
int store_device_add(struct store *st, struct store_device *d, const uint8_t token_hash[STORE_HASH_LEN],
		     int64_t now_ms);
int store_device_add_async(struct store *st, struct store_device *d, const uint8_t token_hash[STORE_HASH_LEN],
			   int64_t now_ms, store_done_cb done, void *arg);
/* provider_id 0 means any provider (server-internal use). */
int store_device_get(struct store *st, int64_t provider_id, int64_t id, struct store_device *out);
int store_device_list(struct store *st, int64_t provider_id, store_device_cb cb, void *arg);
/* Starts moving every device to master key key_id (1-255): key_next = key_id, or 0 for devices
 * already on it. A device's move completes when it acknowledges with that key id (store_ack).
 * count: devices whose target changed. */
int store_key_roll(struct store *st, int key_id, int *count);

/* Fields a PATCH may change; a flag says which are set. */
struct store_device_patch {
	unsigned set; /* STORE_PATCH_* bits */
	char name[STORE_NAME_MAX + 1];
	char msisdn[STORE_MSISDN_MAX + 1];
	int sms_format;
	int64_t poll_interval_s;
	int64_t quiet_start_min, quiet_end_min;
};
#define STORE_PATCH_NAME 1u
#define STORE_PATCH_MSISDN 2u
#define STORE_PATCH_FORMAT 4u
#define STORE_PATCH_POLL 8u
#define STORE_PATCH_QUIET 16u
int store_device_update(struct store *st, int64_t provider_id, int64_t id, const struct store_device_patch *p);
/* Stores the device's Web Push public key and auth secret (base64url, checked by the caller) and,
 * if it has no endpoint token yet, token. *last_seq gets the last sequence number assigned before
 * the new keys: later messages are encrypted to them. server_key (NULL: none) binds the
 * subscription to one application server's VAPID key. STORE_NOTFOUND if the device is gone. */
int store_device_set_push_keys(struct store *st, int64_t device_id, const char *p256dh, const char *auth,
			       const char *server_key, const char *token, uint64_t *last_seq);
/* Deletes the device, its messages, events and wake jobs. */
int store_device_delete(struct store *st, int64_t provider_id, int64_t id);
/* Finds the device whose token hashes to hash. */
int store_device_auth(struct store *st, const uint8_t hash[STORE_HASH_LEN], int64_t *device_id);
/* The device whose push endpoint token this is. STORE_NOTFOUND if none. */
int store_device_by_push_token(struct store *st, const char *token, int64_t *device_id, int64_t *provider_id,
			       char server_key[STORE_P256DH_MAX + 1]);
/* Records contact in memory at once (no disk write on the request path); the writer thread
 * saves last-seen times in its next group and at close. Contact also ends an in-flight or
 * unreachable wake state. */
void store_device_touch(struct store *st, int64_t device_id, int64_t now_ms);

/* ---- Messages ---- */

struct store_message_in {
	int64_t device_id;
	int urgency;                  /* enum store_urgency */
	int64_t ttl_s;                /* 0: deliver now or never (kept one second for a waiting device) */
	const char *topic;            /* NULL or up to STORE_TOPIC_MAX base64url characters */
	const char *content_type;     /* NULL means application/octet-stream */
	const char *content_encoding; /* NULL for plain, or "aes128gcm" (end-to-end encrypted) */
	const char *idempotency_key;  /* NULL or up to STORE_IDEMKEY_MAX printable characters */
	const uint8_t *body;
	size_t body_len; /* at most STORE_BODY_MAX */
	int max_pending; /* > 0: STORE_FULL when the device has that many deliverable messages */
	/* An event of the message's own (state -1, as store_seq_event's), stored in the same commit
	 * as the message and not on a replay; NULL for none. The Web Push endpoint keeps the
	 * sender's VAPID contact so. */
	const char *event_what;   /* 1 to 31 printable characters */
	const char *event_detail; /* NULL or up to STORE_ERROR_MAX characters */
};

struct store_message {
	int64_t id;
	int64_t device_id;
	int64_t provider_id;
	uint64_t seq;
	int state;   /* enum store_msg_state */
	int urgency; /* enum store_urgency */
	char topic[STORE_TOPIC_MAX + 1];
	char content_type[STORE_CTYPE_MAX + 1];
	char content_encoding[16]; /* "" for plain */
	int64_t created_ms;
	int64_t expires_ms;
	int64_t updated_ms;
	const uint8_t *body; /* valid only during the callback that received it; NULL elsewhere */
	size_t body_len;
};
typedef int (*store_message_cb)(void *arg, const struct store_message *m);

struct store_event {
	int64_t time_ms;
	int state;     /* state entered, or -1 for an event that changes no state */
	char what[32]; /* "queued", "wake_sent", "wake_suppressed", ... */
	char detail[STORE_ERROR_MAX + 1];
};
typedef int (*store_event_cb)(void *arg, const struct store_event *e);

/* Queues a message for a device of this provider, durably, before returning.
 * - STORE_NOTFOUND if the device does not exist or belongs to another provider.
 * - With an idempotency key seen before for this provider and this device: fills out with the
 *   first message and sets *replayed = 1; nothing new is stored. The key seen before for
 *   another device of the provider: STORE_CONFLICT, nothing stored.
 * - With a topic: pending (not yet fetched) messages of the device with the same topic become
 *   MSG_REPLACED, with an event.
 * - Assigns the device's next sequence number (gap-free) and records a "queued" event.
 * out->body is NULL on return. */
int store_message_put(struct store *st, int64_t provider_id, const struct store_message_in *in, int64_t now_ms,
		      struct store_message *out, int *replayed);
int store_message_put_async(struct store *st, int64_t provider_id, const struct store_message_in *in, int64_t now_ms,
			    struct store_message *out, int *replayed, store_done_cb done, void *arg);
/* Reads a message of this provider (provider_id 0: any) and, if ev is not NULL, its events
 * oldest first. */
int store_message_get(struct store *st, int64_t provider_id, int64_t id, struct store_message *out, store_event_cb ev,
		      void *arg);
/* Recalls a message not yet fetched: MSG_CANCELLED. STORE_CONFLICT once fetched or final. */
int store_message_cancel(struct store *st, int64_t provider_id, int64_t id, int64_t now_ms);
/* Appends an event that changes no state (scheduler decisions) to every pending message of a
 * device. */
int store_device_event(struct store *st, int64_t device_id, const char *what, const char *detail, int64_t now_ms);
/* Appends an event that changes no state to the device's messages with these sequence numbers
 * (the device's "undecryptable" outcome); numbers with no message are skipped. */
int store_seq_event(struct store *st, int64_t device_id, const uint64_t *seqs, size_t n, const char *what,
		    const char *detail, int64_t now_ms);

/* ---- Device API ---- */

/* Cheap read-only check: 1 if the device has a deliverable message with seq > after, else 0
 * (or a negative value on error). Used for empty polls and long-poll wake-ups. */
int store_device_has_pending(struct store *st, int64_t device_id, uint64_t after, int64_t now_ms);
/* A poll's one read: the device (out->pending is 1 when it has a deliverable message with
 * seq > after, else 0, not a count) and *pending the same. STORE_NOTFOUND without the device.
 * The poll is the device's contact at now_ms: recorded as store_device_touch does, and *out
 * shows it (last_seen_ms at least now_ms, a wakeup sent before it answered). */
int store_device_poll(struct store *st, int64_t device_id, uint64_t after, int64_t now_ms, struct store_device *out,
		      int *pending);
/* store_device_poll for the device whose token hashes to hash: the authentication and the poll
 * in one read (one read transaction on SQLite). STORE_NOTFOUND when no device has the token. */
int store_device_poll_token(struct store *st, const uint8_t hash[STORE_HASH_LEN], uint64_t after, int64_t now_ms,
			    struct store_device *out, int *pending);
/* Hands deliverable (queued, wake_sent, sms_delivered or fetched; unexpired) messages with
 * seq > after to cb, oldest first, at most max, and marks them MSG_FETCHED with an event.
 * *count is the number handed over. */
int store_device_fetch(struct store *st, int64_t device_id, uint64_t after, int max, int64_t now_ms,
		       store_message_cb cb, void *arg, int *count);
/* store_device_fetch for a caller that has just seen a deliverable message (store_device_poll):
 * no read before the write, and *more is 1 when deliverable messages remain after the ones
 * handed over. */
int store_device_fetch_more(struct store *st, int64_t device_id, uint64_t after, int max, int64_t now_ms,
			    store_message_cb cb, void *arg, int *count, int *more);
/* A message handed over by store_device_fetch_more_async, in a list oldest first that the caller
 * owns and frees with store_fetched_free; m.body points into the same allocation. */
struct store_fetched {
	struct store_fetched *next;
	struct store_message m;
};
void store_fetched_free(struct store_fetched *f);
/* store_device_fetch_more without holding the caller's thread while the messages' "fetched" state
 * commits: done(arg, rc) runs once it is durable (or the write failed), and by then *out holds
 * the messages handed over (NULL on any error), *count their number and *more as for
 * store_device_fetch_more. An error returned here queued nothing and calls no callback. */
int store_device_fetch_more_async(struct store *st, int64_t device_id, uint64_t after, int max, int64_t now_ms,
				  struct store_fetched **out, int *count, int *more, store_done_cb done, void *arg);
/* Cumulative acknowledgement: messages with seq <= seq that were fetched become MSG_ACKED.
 * wake_ctr (0 = not reported; any value up to 2^64 - 1) resynchronises the device's counter:
 * wake_ctr = max(both).
 * *count is the number acknowledged. */
/* key_id: the master key id of the wake key the device holds (0: not said); equal to the
 * device's key_next, it completes the device's move to that key. */
int store_ack(struct store *st, int64_t device_id, uint64_t seq, uint64_t wake_ctr, int key_id, int64_t now_ms,
	      int *count);
int store_ack_async(struct store *st, int64_t device_id, uint64_t seq, uint64_t wake_ctr, int key_id, int64_t now_ms,
		    int *count, store_done_cb done, void *arg);

/* ---- Wake jobs (leased by gateways) ---- */

enum store_job_state { JOB_QUEUED = 0, JOB_LEASED, JOB_SUBMITTED, JOB_DELIVERED, JOB_FAILED, JOB_UNDELIVERABLE };
enum store_job_outcome { OUTCOME_SUBMITTED = 0, OUTCOME_FAILED, OUTCOME_DELIVERED, OUTCOME_UNDELIVERABLE };
int store_outcome_parse(const char *s); /* -1 when unknown */

struct store_wake_job {
	int64_t id;
	int64_t device_id;
	char msisdn[STORE_MSISDN_MAX + 1];
	int sms_format; /* binary (port-addressed) or text */
	int port;       /* destination application port for the binary form */
	uint64_t ctr;   /* wake counter inside the payload */
	uint8_t payload[STORE_WAKE_PAYLOAD_MAX];
	size_t payload_len;
	int64_t validity_s;
	int64_t due_ms;
	int64_t lease_until_ms;
	int state;         /* enum store_job_state */
	int attempts;      /* leases so far */
	int64_t reference; /* message reference reported by the gateway, -1 if none */
	char error[STORE_ERROR_MAX + 1];
	/* In, store_wake_job_add only (zero in a test's or a tool's job: added unchecked, with
	 * the caller's counter and payload). guard: the decision the job comes from, checked again
	 * where the job is added. build: the payload is made there too, see store_wake_job_add. */
	struct store_wake_guard {
		int check;           /* nonzero: check the rest */
		int64_t last_job_id; /* the device's newest job when decided (candidate's job_id), 0: none */
		int per_hour;        /* the device's wakeups per hour and per day, 0: unlimited */
		int per_day;
	} guard;
	int (*build)(void *arg, struct store_wake_job *job);
	void *build_arg;
	int refused; /* out: enum store_wake_refusal when store_wake_job_add answers STORE_STALE */
};

/* Why a guarded wake job was not added (STORE_STALE). */
enum store_wake_refusal {
	WAKE_REFUSED_NONE = 0,
	WAKE_REFUSED_STALE,        /* the device's newest job is no longer the one decided on */
	WAKE_REFUSED_BUSY,         /* the device is locked by another writer (another server deciding) */
	WAKE_REFUSED_DEVICE_LIMIT, /* the device's wakeups of the last hour or day reached its limit */
	WAKE_REFUSED_BUDGET,       /* the provider's wakeups of the last 24 hours reached its budget */
};

/* Creates a wake job (the scheduler's, or a test's) due at job->due_ms; sets job->id.
 * A device has at most one outstanding job (queued or leased): another is STORE_CONFLICT.
 * The device's wake state does not change until a modem accepts the SMS (the submitted report).
 * job->ctr comes from store_wake_counter_next (0: the payload carries no counter); a counter
 * below the device's is STORE_CONFLICT. An empty job->msisdn is filled from the device.
 * With job->guard.check, the add is a compare-and-set on the decision, made with the device
 * locked (and on PostgreSQL, with the provider's budget locked), so that servers sharing the
 * store never make two jobs for one decision nor overshoot a limit: the device's newest job
 * (highest id, 0: none) must still be guard.last_job_id, the device's jobs of the last hour and
 * 24 hours (counted at now_ms) must be below guard.per_hour and guard.per_day, and the
 * provider's jobs of the last 24 hours below its sms_budget_day. Otherwise nothing is added,
 * job->refused says which did not hold, and the answer is STORE_STALE. On PostgreSQL a device
 * that another transaction holds locked is not waited for: STORE_STALE, WAKE_REFUSED_BUSY.
 * With job->build, the store takes the device's next wake counter itself (as
 * store_wake_counter_next does) in the transaction that adds the job, after the guard, sets
 * job->ctr and calls build(build_arg, job) to fill payload and payload_len; build nonzero is
 * STORE_ERROR and nothing is kept. The counter and the job are committed together, so a
 * counter is spent only on a job that exists, and no counter taken for a refused decision
 * overtakes the device's outstanding job (a lease drops a job below the device's counter).
 * build runs while the device is locked (on SQLite, on the writer thread): it must be quick,
 * must not call the store, and must not touch what the caller's thread changes meanwhile. */
int store_wake_job_add(struct store *st, struct store_wake_job *job, int64_t now_ms);
/* Leases up to max jobs that are due (queued, or leased with an expired lease) to a gateway
 * until now_ms + lease_ms. *n is the number filled into jobs[]. A due job the device no longer
 * needs is deleted instead: nothing pending and unfetched is left (the device polled, the
 * messages expired or were recalled), the device is WAKE_UNREACHABLE (an undeliverable report
 * came meanwhile), its number or SMS format changed, or it reported a counter above the job's
 * (its payload would be refused as a replay). The scheduler builds a fresh one if needed. A leased job's
 * validity is cut to what its newest pending message has left. */
int store_wake_lease(struct store *st, int64_t gateway_id, int max, int64_t lease_ms, int64_t now_ms,
		     struct store_wake_job *jobs, int *n);
/* Records a gateway's report on a job it holds. at_ms is when it happened at the gateway (0:
 * now_ms); it is kept between the job's lease (or send, for delivered) and now_ms.
 * submitted: a wake_sent event (job id in the detail) on every message of the device that was
 * pending at at_ms, fetched since or not; queued ones among them become MSG_WAKE_SENT; the
 * device is WAKE_IN_FLIGHT (wake_sent_ms = at_ms, wake_attempts + 1) unless it made contact
 * after at_ms. delivered: an sms_delivered event on the messages the job's wake_sent events
 * name; wake_sent ones become MSG_SMS_DELIVERED (delivered on a job still leased counts as
 * submitted at at_ms first). Only a message's first wake_sent / sms_delivered event enters the
 * state; later ones (retries) carry state -1. failed: the job is queued again after a back-off
 * (5 s, doubling) until its attempts run out, then JOB_FAILED; undeliverable: JOB_UNDELIVERABLE.
 * STORE_NOTFOUND for another gateway's job or an unknown one.
 * Details: a report on a finished job is STORE_OK and changes nothing; a re-queued job is held
 * by no gateway; a job is also given up (JOB_FAILED, "lease expired") when its lease runs out
 * after 5 leases; undeliverable marks the device WAKE_UNREACHABLE; failures add a
 * "wake_failed"/"wake_undeliverable" event (state -1) to the device's pending messages. */
int store_wake_report(struct store *st, int64_t gateway_id, int64_t job_id, int outcome, int64_t reference,
		      const char *error, int64_t at_ms, int64_t now_ms);
int store_wake_job_get(struct store *st, int64_t job_id, struct store_wake_job *out);

/* ---- Wake scheduling ---- */

/* A device with messages that are neither fetched nor final, and what the wake policy needs to
 * decide about it. */
struct store_wake_candidate {
	struct store_device dev;      /* as store_device_get reports it (freshest last-seen time) */
	int npending;                 /* queued, wake_sent or sms_delivered, and unexpired */
	int64_t oldest_ms[URG_COUNT]; /* creation time of the oldest such message per urgency, 0 = none */
	int64_t newest_expiry_ms;     /* the latest expiry among them */
	int wakes_hour;               /* wake jobs created for the device in the last hour */
	int wakes_day;                /* ... in the last 24 hours */
	int64_t budget_day;           /* the provider's wakeups per day, 0 = unlimited */
	int64_t budget_used;          /* the provider's wake jobs of the last 24 hours (0 if unlimited) */
	/* The device's newest wake job (the highest id; the guard of a job made from this
	 * candidate, store_wake_job_add): its id (0: none), state (-1: none), creation, last change
	 * and leases. */
	int64_t job_id;
	int job_state;
	int64_t job_created_ms;
	int64_t job_updated_ms;
	int job_attempts;
};
typedef int (*store_wake_candidate_cb)(void *arg, const struct store_wake_candidate *c);
/* Hands every candidate to cb in device id order; cb returning nonzero stops. No statement is
 * open while cb runs, so cb may call other store functions (create jobs, add events). */
int store_wake_candidates(struct store *st, int64_t now_ms, store_wake_candidate_cb cb, void *arg);
/* Increments the device's wake counter and returns the new value, durably, so the payload built
 * with it is never repeated even across a crash. store_wake_job_add then takes that counter.
 * Counters are unsigned 64-bit: after 2^64 - 1 there is none, and this is STORE_CONFLICT. */
int store_wake_counter_next(struct store *st, int64_t device_id, uint64_t *ctr);
/* Due wake jobs no gateway holds, and the gateways' last contact: is anyone taking jobs? */
struct store_wake_backlog {
	int waiting;             /* due jobs, queued or with an expired lease */
	int64_t oldest_ms;       /* since when the oldest of them is due (0: none) */
	int64_t gateway_seen_ms; /* the latest lease or report of any active gateway (0: never) */
};
int store_wake_backlog(struct store *st, int64_t now_ms, struct store_wake_backlog *out);
/* Sets the device's wake state (the scheduler gives up: WAKE_UNREACHABLE). WAKE_IDLE also clears
 * wake_attempts and wake_sent_ms; WAKE_IN_FLIGHT sets wake_sent_ms to now_ms. */
int store_device_set_wake_state(struct store *st, int64_t device_id, int state, int64_t now_ms);

/* ---- Maintenance ---- */

/* Marks deliverable messages whose expiry has passed MSG_EXPIRED (with events). */
int store_expire(struct store *st, int64_t now_ms, int *count);
/* Deletes acked, expired, replaced and cancelled messages (and their events), finished wake
 * jobs and idempotency keys older than before_ms. */
int store_purge(struct store *st, int64_t before_ms, int *count);

struct store_stats {
	int64_t messages[MSG_STATE_COUNT];
	int64_t devices;
	int64_t jobs_queued;
	int64_t jobs_leased;
	uint64_t commits;       /* groups committed */
	uint64_t committed_ops; /* operations in those groups */
	uint64_t largest_group;
	uint64_t commit_failures;
	uint64_t reads; /* queries run on read connections, store_stats' own included */
};
int store_stats(struct store *st, struct store_stats *out);

/* ---- Webhooks, events (api.md, "Webhooks", "Event stream") ---- */

#define STORE_URL_MAX 512
#define STORE_EVENTS_MAX 256 /* ",type,type,": the event types an endpoint asked for */
#define STORE_SECRET_LEN 32  /* webhook signing key */
#define STORE_EVENT_TYPE_MAX 32

struct store_webhook {
	int64_t id;
	int64_t provider_id;
	char url[STORE_URL_MAX + 1];
	char events[STORE_EVENTS_MAX + 1]; /* ",message.acked,message.fetched," */
	int64_t created_ms;
	int64_t disabled_ms; /* 0: active; else when a 410 disabled it */
	int last_status;     /* HTTP status of the last attempt; 0: none yet or no answer */
	char last_error[STORE_ERROR_MAX + 1];
	int64_t last_attempt_ms;
	int64_t delivered; /* deliveries answered 2xx */
	int64_t failures;  /* attempts that failed */
	int64_t backlog;   /* events waiting for it */
};
typedef int (*store_webhook_cb)(void *arg, const struct store_webhook *w);

/* One event a provider hears of. message_id is 0 for device events. */
struct store_event_out {
	int64_t id;
	int64_t provider_id;
	char type[STORE_EVENT_TYPE_MAX + 1];
	int64_t time_ms;
	int64_t message_id;
	int64_t device_id;
	int64_t seq;
	char state[16];
};
typedef int (*store_event_out_cb)(void *arg, const struct store_event_out *e);

/* A due delivery: the event, its endpoint and its signing key. */
struct store_delivery {
	int64_t outbox_id;
	int64_t webhook_id;
	int attempts;   /* made before this one */
	int64_t age_ms; /* since the event */
	char url[STORE_URL_MAX + 1];
	uint8_t secret[STORE_SECRET_LEN];
	struct store_event_out ev;
};
typedef int (*store_delivery_cb)(void *arg, const struct store_delivery *d);

/* Adds an endpoint of w->provider_id (url, events); sets w->id and w->created_ms. */
int store_webhook_add(struct store *st, struct store_webhook *w, const uint8_t secret[STORE_SECRET_LEN],
		      int64_t now_ms);
/* The provider's endpoints, oldest first, with their backlog. */
int store_webhook_list(struct store *st, int64_t provider_id, store_webhook_cb cb, void *arg);
int store_webhook_get(struct store *st, int64_t provider_id, int64_t id, struct store_webhook *w);
/* Deletes the endpoint and what waits for it; STORE_NOTFOUND if it is not the provider's. */
int store_webhook_delete(struct store *st, int64_t provider_id, int64_t id);
/* Deliveries due at now_ms, oldest first, at most max, and for each endpoint and message only the
 * oldest waiting (one message's events reach an endpoint in order). */
int store_webhook_due(struct store *st, int64_t now_ms, int max, store_delivery_cb cb, void *arg);
/* The outcome of one attempt: status is the HTTP status (0: no answer; error says why). A 2xx
 * removes the delivery; retry_ms > 0 makes it due again then; retry_ms == 0 otherwise drops it
 * (given up); disable (a 410) disables the endpoint and drops everything waiting for it. */
int store_webhook_result(struct store *st, int64_t outbox_id, int64_t webhook_id, int status, const char *error,
			 int64_t retry_ms, int disable, int64_t now_ms);
/* The provider's events after after_id, oldest first, at most max. */
int store_events_after(struct store *st, int64_t provider_id, int64_t after_id, int max, store_event_out_cb cb,
		       void *arg);
/* The newest event id the provider has (0: none). */
int store_events_last(struct store *st, int64_t provider_id, int64_t *id);
/* The oldest event id the provider still has (0: none). */
int store_events_oldest(struct store *st, int64_t provider_id, int64_t *id);
/* Deletes events older than before_ms that no delivery waits for. */
int store_events_purge(struct store *st, int64_t before_ms, int *count);

/* ---- Fleets (api.md, "Fleets") ---- */

#define STORE_TAG_MAX 64
#define STORE_TAGS_MAX 16
#define STORE_BATCH_DEVICES_MAX 100000 /* ids in one list-addressed batch */

/* Devices of a provider, by id, after after_id, at most limit; msisdn and tag (NULL: any) filter. */
struct store_device_query {
	int64_t provider_id;
	const char *msisdn;
	const char *tag;
	int64_t after_id;
	int limit;
};
int store_device_query(struct store *st, const struct store_device_query *q, store_device_cb cb, void *arg);
/* The device's tags, sorted, into tags (at most STORE_TAGS_MAX); *n gets their number. */
int store_device_tags(struct store *st, int64_t device_id, char tags[][STORE_TAG_MAX + 1], int *n);
/* Replaces the device's tags; STORE_NOTFOUND if it is not the provider's. */
int store_device_set_tags(struct store *st, int64_t provider_id, int64_t device_id, const char *const *tags, int n);

/* One device of a bulk registration (store_device_add_many). */
struct store_device_new {
	struct store_device d; /* in and out as for store_device_add */
	uint8_t token_hash[STORE_HASH_LEN];
	int ntags;
	char tags[STORE_TAGS_MAX][STORE_TAG_MAX + 1];
	int conflict; /* out: set on STORE_CONFLICT for each device whose msisdn is taken */
};
#define STORE_DEVICE_ADD_MANY_MAX 1000
/* Adds n devices (1 to STORE_DEVICE_ADD_MANY_MAX) of one provider (devs[0].d.provider_id) and
 * their tags in one transaction: all of them or none. STORE_CONFLICT when a device's msisdn is
 * already the provider's or an earlier device's of devs: each such device has conflict set and
 * nothing is stored. STORE_NOTFOUND when the provider is not active. */
int store_device_add_many(struct store *st, struct store_device_new *devs, size_t n, int64_t now_ms);
int store_device_add_many_async(struct store *st, struct store_device_new *devs, size_t n, int64_t now_ms,
				store_done_cb done, void *arg);

/* One message to many devices: either the listed devices (every one must be the provider's) or
 * every device with the tag. Each device gets its own message and sequence number, all in one
 * commit; the fan-out runs inside the database, so memory does not grow with the fleet. */
struct store_batch_in {
	const int64_t *devices;
	size_t ndevices;
	const char *tag;
	int urgency;
	int64_t ttl_s;
	const char *topic;
	const char *content_type;
	const uint8_t *body;
	size_t body_len;
};
/* *batch_id and *count (messages made) on success; STORE_NOTFOUND when a listed device is not
 * the provider's. */
int store_batch_put(struct store *st, int64_t provider_id, const struct store_batch_in *in, int64_t now_ms,
		    int64_t *batch_id, int64_t *count);
/* The batch's messages by state; STORE_NOTFOUND if it is not the provider's. */
int store_batch_get(struct store *st, int64_t provider_id, int64_t batch_id, int64_t counts[MSG_STATE_COUNT],
		    int64_t *total, int64_t *created_ms);

/* Test hook, not for production code: the next n group commits fail as if COMMIT returned
 * SQLITE_FULL (the group is rolled back and each of its operations gets STORE_UNAVAILABLE).
 * n <= 0 cancels what is left. */
void store_debug_fail_commits(struct store *st, int n);

#endif
