/* SPDX-License-Identifier: GPL-2.0-or-later */
/* smswake-server configuration: one INI file, every setting but the two in [server] defaulted. */
#ifndef SMSWAKE_SERVER_CONFIG_H
#define SMSWAKE_SERVER_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CONFIG_MAX_LISTENERS 8
#define CONFIG_PATH_MAX 512

/* Bits of struct listener_config.apis. */
#define API_PROVIDER 1u
#define API_DEVICE 2u
#define API_GATEWAY 4u
#define API_PUSH 8u /* POST /push/{token}: Web Push senders, signed with VAPID (no bearer token) */
#define API_ALL (API_PROVIDER | API_DEVICE | API_GATEWAY | API_PUSH)

struct listener_config {
	char name[32];
	char host[128]; /* numeric address: 127.0.0.1, 0.0.0.0, ::1, :: */
	int port;       /* 0: any free port (tests); the bound one is written to data_dir/ports */
	unsigned apis;
	char tls_cert[CONFIG_PATH_MAX];
	char tls_key[CONFIG_PATH_MAX];
	char tls_priorities[256]; /* GnuTLS priority string */
};

/* TLS 1.2 and 1.3 only, forward-secret key exchange (ECDHE; TLS 1.3's own), AEAD ciphers only. */
#define CONFIG_TLS_PRIORITIES                                                                                          \
	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:-CIPHER-ALL:+AES-256-GCM:"         \
	"+AES-128-GCM:+CHACHA20-POLY1305:-MAC-ALL:+AEAD:%SERVER_PRECEDENCE"

struct scheduler_config {
	int enabled;
	int port;               /* destination application port of binary wakeups */
	int64_t batch_window_s; /* normal urgency waits this long so a burst shares one SMS */
	int64_t low_max_wait_s; /* low/very-low wake anyway after waiting this long */
	int64_t poll_margin_s;  /* skip the SMS if the device polls within this margin */
	int64_t grace_s;        /* a wakeup counts as in flight this long */
	int max_retries;        /* unanswered wakeups retried this many times */
	int64_t retry_base_s;   /* first retry after this, doubling, with jitter */
	int per_hour;           /* wakeups per device per hour, 0 = unlimited */
	int per_day;            /* wakeups per device per day, 0 = unlimited */
	int64_t max_validity_s; /* SMS validity period upper bound */
	int64_t tick_ms;        /* how often the scheduler looks for work */
	int status_report;      /* request SMS status reports */
};

/* An address range of [webhooks] allow; IPv4 is kept as IPv4-mapped IPv6 (::ffff:a.b.c.d). */
struct config_cidr {
	uint8_t addr[16];
	int bits; /* prefix length over the 128-bit form */
};
#define CONFIG_MAX_CIDRS 32

struct webhook_config {
	struct config_cidr allow[CONFIG_MAX_CIDRS]; /* ranges opened that are refused by default */
	int nallow;
	int concurrency;           /* deliveries in flight at once, over all endpoints */
	int64_t timeout_s;         /* one attempt's limit */
	int64_t retry_base_s;      /* first retry after this, doubling up to 4 h */
	int64_t retry_for_s;       /* an event is retried this long before it is given up */
	int64_t event_retention_s; /* events kept for the stream's resumption (Last-Event-ID) */
	int64_t heartbeat_s;       /* event stream: a comment line this often */
};

struct server_config {
	char path[CONFIG_PATH_MAX];
	char data_dir[CONFIG_PATH_MAX];
	char database[CONFIG_PATH_MAX];
	/* [store]: backend (enum store_backend_kind: SQLite, the default, or PostgreSQL), the libpq
	 * connection string and the file holding its password (never in the configuration, never
	 * logged). */
	int store_backend;
	char store_dsn[CONFIG_PATH_MAX];
	char store_password_file[CONFIG_PATH_MAX];
	char master_key_file[CONFIG_PATH_MAX];
	int nlisteners;
	struct listener_config listeners[CONFIG_MAX_LISTENERS];
	int threads;
	int connection_limit;
	int per_ip_connection_limit; /* connections from one address that are not waiting long-polls */
	int per_ip_longpoll_limit;   /* long-polls one address may have waiting */
	int64_t connection_timeout_s;
	int64_t request_timeout_s; /* a request must arrive complete this long after it may start */
	int64_t shutdown_grace_s;  /* at a stop, requests in progress get this long to finish */
	int log_level;
	int synchronous_full;
	char push_origin[256]; /* scheme://host[:port] of push endpoints (docs/webpush.md); "" = off */
	int64_t default_ttl_s;
	int64_t max_ttl_s;
	int max_pending; /* messages that may wait for one device (0: no cap) */
	int64_t retention_s;
	int64_t sweep_interval_s;
	int64_t lease_s;
	int64_t default_poll_interval_s;
	int max_fetch;
	int64_t max_wait_s;
	struct scheduler_config sched;
	struct webhook_config webhooks;
};

/* Fills defaults, then reads path. On error returns -1 and writes a one-line explanation
 * (with the file and line) into err. */
int config_load(struct server_config *cfg, const char *path, char *err, size_t errlen);
void config_defaults(struct server_config *cfg);
/* Parses "10.0.0.0/8", "fd00::/8" or a single address (a /32 or /128). */
int config_parse_cidr(const char *s, struct config_cidr *out);
/* Parses "host:port", "[v6]:port" or ":port". */
int config_parse_listen(const char *s, char *host, size_t hostlen, int *port);

/* What the store is, for messages: the SQLite file, or "PostgreSQL" (the DSN is not shown). */
const char *store_where(const struct server_config *cfg);

#endif
