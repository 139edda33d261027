/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Reads the server's INI file with inih. Unknown sections and keys are errors, so a typo never
 * silently leaves a default in place. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "inifile.h"
#include "log.h"
#include "store.h"
#include "util.h"
#include "wake.h"

struct parse_ctx {
	struct server_config *cfg;
	char *err;
	size_t errlen;
	int have_server_listen;
	int line_error;
};

void config_defaults(struct server_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->data_dir, sizeof(cfg->data_dir), "/var/lib/smswake");
	cfg->threads = 0; /* one per core (http_threads) */
	cfg->connection_limit = 4096;
	cfg->per_ip_connection_limit = 128;
	cfg->per_ip_longpoll_limit = 2048;
	cfg->connection_timeout_s = 30;
	cfg->request_timeout_s = 15;
	cfg->shutdown_grace_s = 10;
	cfg->log_level = LOG_LEVEL_INFO;
	cfg->synchronous_full = 1;
	cfg->default_ttl_s = 7 * 86400;
	cfg->max_ttl_s = 28 * 86400;
	cfg->max_pending = 10000;
	cfg->retention_s = 7 * 86400;
	cfg->sweep_interval_s = 10;
	cfg->lease_s = 60;
	cfg->default_poll_interval_s = 3600;
	cfg->max_fetch = 100;
	cfg->max_wait_s = 60;
	cfg->sched.enabled = 1;
	cfg->sched.port = WAKE_PORT_DEFAULT;
	cfg->sched.batch_window_s = 2;
	cfg->sched.low_max_wait_s = 6 * 3600;
	cfg->sched.poll_margin_s = 360;
	cfg->sched.grace_s = 120;
	cfg->sched.max_retries = 3;
	cfg->sched.retry_base_s = 60;
	cfg->sched.per_hour = 10;
	cfg->sched.per_day = 50;
	cfg->sched.max_validity_s = 3600;
	cfg->sched.tick_ms = 200;
	cfg->sched.status_report = 1; /* docs/operations.md, "Status reports" */
	cfg->webhooks.concurrency = 8;
	cfg->webhooks.timeout_s = 10;
	cfg->webhooks.retry_base_s = 5;
	cfg->webhooks.retry_for_s = 3 * 86400;
	cfg->webhooks.event_retention_s = 86400;
	cfg->webhooks.heartbeat_s = 15;
}

int config_parse_cidr(const char *s, struct config_cidr *out)
{
	char addr[64];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	int64_t bits = -1;
	struct in_addr a4;

	if (n == 0 || n >= sizeof(addr))
		return -1;
	memcpy(addr, s, n);
	addr[n] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, addr, &a4) == 1) {
		out->addr[10] = out->addr[11] = 0xff;
		memcpy(out->addr + 12, &a4, 4);
		if (slash && util_parse_i64(slash + 1, 0, 32, &bits) != 0)
			return -1;
		out->bits = slash ? 96 + (int)bits : 128;
	} else if (inet_pton(AF_INET6, addr, out->addr) == 1) {
		if (slash && util_parse_i64(slash + 1, 0, 128, &bits) != 0)
			return -1;
		out->bits = slash ? (int)bits : 128;
	} else {
		return -1;
	}
	return 0;
}

/* "10.0.0.0/8, 127.0.0.0/8": replaces the list. */
static int parse_cidrs(const char *v, struct webhook_config *w)
{
	char item[80];

	w->nallow = 0;
	while (*v) {
		size_t n;
		while (*v == ' ' || *v == ',' || *v == '\t')
			v++;
		n = strcspn(v, ", \t");
		if (n == 0)
			break;
		if (n >= sizeof(item) || w->nallow >= CONFIG_MAX_CIDRS)
			return -1;
		memcpy(item, v, n);
		item[n] = '\0';
		if (config_parse_cidr(item, &w->allow[w->nallow]) != 0)
			return -1;
		w->nallow++;
		v += n;
	}
	return 0;
}

int config_parse_listen(const char *s, char *host, size_t hostlen, int *port)
{
	const char *colon;
	size_t n;
	int64_t p;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL || close[1] != ':')
			return -1;
		n = (size_t)(close - s - 1);
		if (n == 0 || n >= hostlen)
			return -1;
		memcpy(host, s + 1, n);
		host[n] = '\0';
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL)
			return -1;
		n = (size_t)(colon - s);
		if (n >= hostlen)
			return -1;
		if (n == 0)
			snprintf(host, hostlen, "0.0.0.0");
		else {
			memcpy(host, s, n);
			host[n] = '\0';
		}
	}
	if (util_parse_i64(colon + 1, 0, 65535, &p) != 0)
		return -1;
	*port = (int)p;
	return 0;
}

static int parse_apis(const char *v, unsigned *out)
{
	char buf[128];
	char *save = NULL, *tok;
	unsigned apis = 0;

	if (strlen(v) >= sizeof(buf))
		return -1;
	memcpy(buf, v, strlen(v) + 1);
	for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		if (strcmp(tok, "provider") == 0)
			apis |= API_PROVIDER;
		else if (strcmp(tok, "device") == 0)
			apis |= API_DEVICE;
		else if (strcmp(tok, "gateway") == 0)
			apis |= API_GATEWAY;
		else if (strcmp(tok, "push") == 0)
			apis |= API_PUSH;
		else if (strcmp(tok, "all") == 0)
			apis |= API_ALL;
		else
			return -1;
	}
	if (apis == 0)
		return -1;
	*out = apis;
	return 0;
}

static int set_path(char *dst, const char *v)
{
	if (strlen(v) >= CONFIG_PATH_MAX)
		return -1;
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

/* An origin as browsers and VAPID's aud spell it: https://host or http://host, an optional port,
 * no path, no trailing slash. */
static int set_origin(char *dst, size_t max, const char *v)
{
	const char *host = strncmp(v, "https://", 8) == 0 ? v + 8 : strncmp(v, "http://", 7) == 0 ? v + 7 : NULL;

	if (host == NULL || *host == '\0' || strlen(v) >= max || strpbrk(host, "/?#@ \t") != NULL)
		return -1;
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

static int set_prio(struct listener_config *l, const char *v)
{
	if (strlen(v) == 0 || strlen(v) >= sizeof(l->tls_priorities))
		return -1;
	memcpy(l->tls_priorities, v, strlen(v) + 1);
	return 0;
}

static int set_int(const char *v, int64_t min, int64_t max, int *out)
{
	int64_t x;
	if (util_parse_i64(v, min, max, &x) != 0)
		return -1;
	*out = (int)x;
	return 0;
}

static int set_dur(const char *v, int64_t min, int64_t max, int64_t *out)
{
	int64_t x;
	if (util_parse_duration(v, &x) != 0 || x < min || x > max)
		return -1;
	*out = x;
	return 0;
}

static struct listener_config *listener_for(struct parse_ctx *ctx, const char *name)
{
	struct server_config *cfg = ctx->cfg;
	for (int i = 0; i < cfg->nlisteners; i++)
		if (strcmp(cfg->listeners[i].name, name) == 0)
			return &cfg->listeners[i];
	if (cfg->nlisteners == CONFIG_MAX_LISTENERS || strlen(name) >= sizeof(cfg->listeners[0].name))
		return NULL;
	struct listener_config *l = &cfg->listeners[cfg->nlisteners++];
	memset(l, 0, sizeof(*l));
	memcpy(l->name, name, strlen(name) + 1);
	l->apis = API_ALL;
	snprintf(l->tls_priorities, sizeof(l->tls_priorities), "%s", CONFIG_TLS_PRIORITIES);
	l->port = -1;
	return l;
}

static int server_key(struct parse_ctx *ctx, const char *key, const char *v)
{
	struct server_config *cfg = ctx->cfg;

	if (strcmp(key, "listen") == 0) {
		struct listener_config *l = listener_for(ctx, "main");
		ctx->have_server_listen = 1;
		return l ? config_parse_listen(v, l->host, sizeof(l->host), &l->port) : -1;
	}
	if (strcmp(key, "tls_cert") == 0)
		return listener_for(ctx, "main") ? set_path(listener_for(ctx, "main")->tls_cert, v) : -1;
	if (strcmp(key, "tls_key") == 0)
		return listener_for(ctx, "main") ? set_path(listener_for(ctx, "main")->tls_key, v) : -1;
	if (strcmp(key, "data_dir") == 0)
		return set_path(cfg->data_dir, v);
	if (strcmp(key, "database") == 0)
		return set_path(cfg->database, v);
	if (strcmp(key, "master_key_file") == 0)
		return set_path(cfg->master_key_file, v);
	if (strcmp(key, "threads") == 0)
		return set_int(v, 0, 64, &cfg->threads);
	if (strcmp(key, "connection_limit") == 0)
		return set_int(v, 1, 1000000, &cfg->connection_limit);
	if (strcmp(key, "per_ip_connection_limit") == 0)
		return set_int(v, 0, 1000000, &cfg->per_ip_connection_limit);
	if (strcmp(key, "per_ip_longpoll_limit") == 0)
		return set_int(v, 0, 1000000, &cfg->per_ip_longpoll_limit);
	if (strcmp(key, "connection_timeout") == 0)
		return set_dur(v, 1, 3600, &cfg->connection_timeout_s);
	if (strcmp(key, "request_timeout") == 0)
		return set_dur(v, 0, 3600, &cfg->request_timeout_s);
	if (strcmp(key, "shutdown_grace") == 0)
		return set_dur(v, 0, 600, &cfg->shutdown_grace_s);
	if (strcmp(key, "tls_priorities") == 0)
		return listener_for(ctx, "main") ? set_prio(listener_for(ctx, "main"), v) : -1;
	if (strcmp(key, "log_level") == 0)
		return (cfg->log_level = log_level_parse(v)) < 0 ? -1 : 0;
	if (strcmp(key, "synchronous") == 0) {
		if (strcmp(v, "full") == 0)
			cfg->synchronous_full = 1;
		else if (strcmp(v, "normal") == 0)
			cfg->synchronous_full = 0;
		else
			return -1;
		return 0;
	}
	if (strcmp(key, "push_origin") == 0)
		return set_origin(cfg->push_origin, sizeof(cfg->push_origin), v);
	if (strcmp(key, "default_ttl") == 0)
		return set_dur(v, 0, 365 * 86400, &cfg->default_ttl_s);
	if (strcmp(key, "max_ttl") == 0)
		return set_dur(v, 0, 365 * 86400, &cfg->max_ttl_s);
	if (strcmp(key, "max_pending") == 0)
		return set_int(v, 0, 1000000, &cfg->max_pending);
	if (strcmp(key, "retention") == 0)
		return set_dur(v, 0, 3650 * 86400LL, &cfg->retention_s);
	if (strcmp(key, "sweep_interval") == 0)
		return set_dur(v, 1, 3600, &cfg->sweep_interval_s);
	if (strcmp(key, "lease_time") == 0)
		return set_dur(v, 1, 3600, &cfg->lease_s);
	if (strcmp(key, "default_poll_interval") == 0)
		return set_dur(v, 0, 30 * 86400, &cfg->default_poll_interval_s);
	if (strcmp(key, "max_fetch") == 0)
		return set_int(v, 1, 1000, &cfg->max_fetch);
	if (strcmp(key, "max_wait") == 0)
		return set_dur(v, 0, 300, &cfg->max_wait_s);
	return -2;
}

/* [store]: which backend holds the state; the SQLite file stays [server] database. */
static int store_key(struct parse_ctx *ctx, const char *key, const char *v)
{
	struct server_config *cfg = ctx->cfg;

	if (strcmp(key, "backend") == 0) {
		if (strcmp(v, "sqlite") == 0)
			cfg->store_backend = STORE_BACKEND_SQLITE;
		else if (strcmp(v, "postgresql") == 0)
			cfg->store_backend = STORE_BACKEND_POSTGRESQL;
		else
			return -1;
		return 0;
	}
	if (strcmp(key, "dsn") == 0)
		return v[0] == '\0' ? -1 : set_path(cfg->store_dsn, v);
	if (strcmp(key, "password_file") == 0)
		return set_path(cfg->store_password_file, v);
	return -2;
}

static int scheduler_key(struct parse_ctx *ctx, const char *key, const char *v)
{
	struct scheduler_config *s = &ctx->cfg->sched;

	if (strcmp(key, "enabled") == 0)
		return util_parse_bool(v, &s->enabled);
	if (strcmp(key, "port") == 0)
		return set_int(v, 0, 65535, &s->port);
	if (strcmp(key, "batch_window") == 0)
		return set_dur(v, 0, 3600, &s->batch_window_s);
	if (strcmp(key, "low_max_wait") == 0)
		return set_dur(v, 0, 30 * 86400, &s->low_max_wait_s);
	if (strcmp(key, "poll_margin") == 0)
		return set_dur(v, 0, 86400, &s->poll_margin_s);
	if (strcmp(key, "grace") == 0)
		return set_dur(v, 1, 86400, &s->grace_s);
	if (strcmp(key, "max_retries") == 0)
		return set_int(v, 0, 100, &s->max_retries);
	if (strcmp(key, "retry_base") == 0)
		return set_dur(v, 1, 86400, &s->retry_base_s);
	if (strcmp(key, "per_hour") == 0)
		return set_int(v, 0, 100000, &s->per_hour);
	if (strcmp(key, "per_day") == 0)
		return set_int(v, 0, 1000000, &s->per_day);
	if (strcmp(key, "max_validity") == 0)
		return set_dur(v, 60, 7 * 86400, &s->max_validity_s);
	if (strcmp(key, "status_report") == 0)
		return util_parse_bool(v, &s->status_report);
	if (strcmp(key, "tick_ms") == 0) {
		int t;
		if (set_int(v, 10, 60000, &t) != 0)
			return -1;
		s->tick_ms = t;
		return 0;
	}
	return -2;
}

static int webhooks_key(struct parse_ctx *ctx, const char *key, const char *v)
{
	struct webhook_config *w = &ctx->cfg->webhooks;

	if (strcmp(key, "allow") == 0)
		return parse_cidrs(v, w);
	if (strcmp(key, "concurrency") == 0)
		return set_int(v, 1, 256, &w->concurrency);
	if (strcmp(key, "timeout") == 0)
		return set_dur(v, 1, 300, &w->timeout_s);
	if (strcmp(key, "retry_base") == 0)
		return set_dur(v, 1, 3600, &w->retry_base_s);
	if (strcmp(key, "retry_for") == 0)
		return set_dur(v, 86400, 30 * 86400, &w->retry_for_s);
	if (strcmp(key, "event_retention") == 0)
		return set_dur(v, 60, 30 * 86400, &w->event_retention_s);
	if (strcmp(key, "heartbeat") == 0)
		return set_dur(v, 1, 300, &w->heartbeat_s);
	return -2;
}

static int listener_key(struct parse_ctx *ctx, const char *name, const char *key, const char *v)
{
	struct listener_config *l = listener_for(ctx, name);

	if (l == NULL)
		return -1;
	if (strcmp(key, "listen") == 0)
		return config_parse_listen(v, l->host, sizeof(l->host), &l->port);
	if (strcmp(key, "apis") == 0)
		return parse_apis(v, &l->apis);
	if (strcmp(key, "tls_cert") == 0)
		return set_path(l->tls_cert, v);
	if (strcmp(key, "tls_key") == 0)
		return set_path(l->tls_key, v);
	if (strcmp(key, "tls_priorities") == 0)
		return set_prio(l, v);
	return -2;
}

static int on_entry(void *user, const char *section, const char *key, const char *value)
{
	struct parse_ctx *ctx = user;
	int rc;

	if (ctx->line_error)
		return 0;
	if (strcmp(section, "server") == 0)
		rc = server_key(ctx, key, value);
	else if (strcmp(section, "scheduler") == 0)
		rc = scheduler_key(ctx, key, value);
	else if (strcmp(section, "store") == 0)
		rc = store_key(ctx, key, value);
	else if (strcmp(section, "webhooks") == 0)
		rc = webhooks_key(ctx, key, value);
	else if (strncmp(section, "listener ", 9) == 0 && section[9] != '\0')
		rc = listener_key(ctx, section + 9, key, value);
	else {
		snprintf(ctx->err, ctx->errlen, "unknown section [%s]", section);
		ctx->line_error = 1;
		return 0;
	}
	if (rc == -2)
		snprintf(ctx->err, ctx->errlen, "unknown key '%s' in [%s]", key, section);
	else if (rc != 0)
		snprintf(ctx->err, ctx->errlen, "invalid value for '%s' in [%s]: '%s'", key, section, value);
	if (rc != 0) {
		ctx->line_error = 1;
		return 0;
	}
	return 1;
}

int config_load(struct server_config *cfg, const char *path, char *err, size_t errlen)
{
	struct parse_ctx ctx = {.cfg = cfg, .err = err, .errlen = errlen};
	char msg[256] = "";
	int line;

	config_defaults(cfg);
	if (strlen(path) >= sizeof(cfg->path)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	memcpy(cfg->path, path, strlen(path) + 1);
	ctx.err = msg;
	ctx.errlen = sizeof(msg);
	line = inifile_parse(path, on_entry, &ctx);
	if (line == -1) {
		snprintf(err, errlen,
			 "%s: cannot open: %s (name the configuration file with -c FILE; smswake.conf.example "
			 "in the documentation is a start)",
			 path, strerror(errno));
		return -1;
	}
	if (line != 0) {
		snprintf(err, errlen, "%s:%d: %s", path, line, msg[0] ? msg : "syntax error");
		return -1;
	}
	if (cfg->nlisteners == 0) {
		struct listener_config *l = listener_for(&ctx, "main");
		snprintf(l->host, sizeof(l->host), "127.0.0.1");
		l->port = 8080;
	}
	for (int i = 0; i < cfg->nlisteners; i++) {
		struct listener_config *l = &cfg->listeners[i];
		if (l->port < 0) {
			snprintf(err, errlen, "%s: listener '%s' has no 'listen' address", path, l->name);
			return -1;
		}
		if ((l->tls_cert[0] == '\0') != (l->tls_key[0] == '\0')) {
			snprintf(err, errlen, "%s: listener '%s' needs both tls_cert and tls_key", path, l->name);
			return -1;
		}
	}
	if (cfg->store_backend == STORE_BACKEND_POSTGRESQL && cfg->store_dsn[0] == '\0') {
		snprintf(err, errlen, "%s: [store] backend = postgresql needs a dsn", path);
		return -1;
	}
	if (cfg->default_ttl_s > cfg->max_ttl_s) {
		snprintf(err, errlen, "%s: default_ttl is larger than max_ttl", path);
		return -1;
	}
	if (cfg->database[0] == '\0' && snprintf(cfg->database, sizeof(cfg->database), "%s/smswake.db",
						 cfg->data_dir) >= (int)sizeof(cfg->database)) {
		snprintf(err, errlen, "%s: data_dir too long", path);
		return -1;
	}
	if (cfg->master_key_file[0] == '\0' &&
	    snprintf(cfg->master_key_file, sizeof(cfg->master_key_file), "%s/master.key", cfg->data_dir) >=
		    (int)sizeof(cfg->master_key_file)) {
		snprintf(err, errlen, "%s: data_dir too long", path);
		return -1;
	}
	return 0;
}

const char *store_where(const struct server_config *cfg)
{
	return cfg->store_backend == STORE_BACKEND_POSTGRESQL ? "PostgreSQL" : cfg->database;
}
