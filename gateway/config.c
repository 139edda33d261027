/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The gateway's INI file: a [gateway] section (with its routing rules), a [modems] section of
 * supervisor options, one [modem NAME] section per modem with Gammu's keys plus per_minute and
 * per_day, and a [kannel] section for Kannel's smsbox. */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "inifile.h"
#include "log.h"
#include "util.h"

struct ctx {
	struct gw_config *cfg;
	char msg[256];
};

static int copy(char *dst, size_t size, const char *v)
{
	if (strlen(v) >= size)
		return -1;
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

static int gateway_key(struct gw_config *cfg, const char *key, const char *v)
{
	int64_t n;

	if (strcmp(key, "server") == 0)
		return strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0
			       ? -1
			       : copy(cfg->server, sizeof(cfg->server), v);
	if (strcmp(key, "token") == 0) {
		cfg->token_from[0] = '\0'; /* named by gw_config_load, which knows the file */
		return copy(cfg->token, sizeof(cfg->token), v);
	}
	if (strcmp(key, "token_file") == 0) {
		snprintf(cfg->token_from, sizeof(cfg->token_from), "token_file %.500s", v);
		char *data;
		size_t len;
		if (util_read_file(v, sizeof(cfg->token) - 1, &data, &len) != 0)
			return -1;
		data[strcspn(data, "\r\n")] = '\0';
		int rc = copy(cfg->token, sizeof(cfg->token), data);
		explicit_bzero(data, len);
		free(data);
		return rc;
	}
	if (strcmp(key, "ca_file") == 0)
		return copy(cfg->ca_file, sizeof(cfg->ca_file), v);
	if (strcmp(key, "lease_wait") == 0) {
		if (util_parse_duration(v, &n) != 0 || n > 60)
			return -1;
		cfg->lease_wait_s = (int)n;
		return 0;
	}
	if (strcmp(key, "per_modem_jobs") == 0) {
		if (util_parse_i64(v, 1, 16, &n) != 0)
			return -1;
		cfg->per_modem_jobs = (int)n;
		return 0;
	}
	if (strcmp(key, "metrics_listen") == 0)
		return copy(cfg->metrics_listen, sizeof(cfg->metrics_listen), v);
	if (strcmp(key, "log_level") == 0)
		return (cfg->log_level = log_level_parse(v)) < 0 ? -1 : 0;
	if (strcmp(key, "failover") == 0)
		return util_parse_bool(v, &cfg->failover);
	if (strcmp(key, "route") == 0) {
		/* "prefix:+49 kannel" or "default modem" */
		struct gw_route *r = &cfg->routes[cfg->nroutes];
		const char *sp = strchr(v, ' ');
		const char *tr;
		size_t plen;
		if (cfg->nroutes == GW_ROUTES_MAX || sp == NULL)
			return -1;
		for (tr = sp; *tr == ' '; tr++)
			;
		if (strcmp(tr, "modem") != 0 && strcmp(tr, "kannel") != 0)
			return -1;
		memset(r, 0, sizeof(*r));
		if (strncmp(v, "prefix:", 7) == 0) {
			plen = (size_t)(sp - v) - 7;
			if (plen == 0 || plen >= sizeof(r->prefix) || strspn(v + 7, "+0123456789") < plen)
				return -1;
			memcpy(r->prefix, v + 7, plen);
		} else if ((size_t)(sp - v) != 7 || strncmp(v, "default", 7) != 0) {
			return -1;
		}
		memcpy(r->transport, tr, strlen(tr) + 1);
		cfg->nroutes++;
		return 0;
	}
	return -2;
}

static int kannel_key(struct gw_kannel *k, const char *key, const char *v)
{
	int64_t n;

	k->enabled = 1;
	if (strcmp(key, "url") == 0)
		return strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0
			       ? -1
			       : copy(k->url, sizeof(k->url), v);
	if (strcmp(key, "username") == 0)
		return v[0] == '\0' ? -1 : copy(k->username, sizeof(k->username), v);
	if (strcmp(key, "password_file") == 0) {
		struct stat st;
		char *data;
		size_t len;
		int rc;
		/* Like the gateway token: a password others can read is refused, not used. */
		if (stat(v, &st) != 0 || (st.st_mode & 077) != 0)
			return -3;
		if (util_read_file(v, sizeof(k->password) - 1, &data, &len) != 0)
			return -1;
		data[strcspn(data, "\r\n")] = '\0';
		rc = copy(k->password, sizeof(k->password), data);
		explicit_bzero(data, len);
		free(data);
		return rc;
	}
	if (strcmp(key, "from") == 0)
		return copy(k->from, sizeof(k->from), v);
	if (strcmp(key, "smsc") == 0)
		return copy(k->smsc, sizeof(k->smsc), v);
	if (strcmp(key, "dlr_listen") == 0)
		return copy(k->dlr_listen, sizeof(k->dlr_listen), v);
	if (strcmp(key, "dlr_host") == 0)
		return copy(k->dlr_host, sizeof(k->dlr_host), v);
	if (strcmp(key, "concurrency") == 0) {
		if (util_parse_i64(v, 1, 128, &n) != 0)
			return -1;
		k->concurrency = (int)n;
		return 0;
	}
	if (strcmp(key, "per_second") == 0 || strcmp(key, "per_minute") == 0 || strcmp(key, "per_day") == 0) {
		if (util_parse_i64(v, 0, 1000000, &n) != 0)
			return -1;
		if (key[4] == 's')
			k->per_second = (int)n;
		else if (key[4] == 'm')
			k->per_minute = (int)n;
		else
			k->per_day = (int)n;
		return 0;
	}
	if (strcmp(key, "timeout") == 0) {
		if (util_parse_duration(v, &n) != 0 || n < 1 || n > 300)
			return -1;
		k->timeout_ms = (int)n * 1000;
		return 0;
	}
	return -2;
}

/* per_minute and per_day belong to the gateway; the modem layer takes every other key. Limits
 * are kept by modem name and matched to the modem layer's indexes once the file is read. */
struct limit {
	char name[32];
	int per_minute, per_day;
};
static struct limit limits[MODEM_INI_MAX];
static int nlimits;

static int modem_limit(const char *section, const char *key, const char *v)
{
	const char *name = section + 6;
	int64_t n;
	int i;

	if (strncmp(section, "modem ", 6) != 0 || (strcmp(key, "per_minute") != 0 && strcmp(key, "per_day") != 0))
		return 0;
	if (util_parse_i64(v, 0, 1000000, &n) != 0 || strlen(name) >= sizeof(limits[0].name))
		return -1;
	for (i = 0; i < nlimits && strcmp(limits[i].name, name) != 0; i++)
		;
	if (i == nlimits) {
		if (nlimits == MODEM_INI_MAX)
			return -1;
		memset(&limits[i], 0, sizeof(limits[i]));
		memcpy(limits[i].name, name, strlen(name) + 1);
		nlimits++;
	}
	if (strcmp(key, "per_minute") == 0)
		limits[i].per_minute = (int)n;
	else
		limits[i].per_day = (int)n;
	return 1;
}

static int on_entry(void *user, const char *section, const char *key, const char *value)
{
	struct ctx *c = user;
	int rc;

	if (strcmp(section, "gateway") == 0) {
		rc = gateway_key(c->cfg, key, value);
		if (rc == -2)
			snprintf(c->msg, sizeof(c->msg), "unknown key '%s' in [gateway]", key);
		else if (rc != 0)
			snprintf(c->msg, sizeof(c->msg), "invalid value for '%s' in [gateway]", key);
		return rc == 0;
	}
	if (strcmp(section, "kannel") == 0) {
		rc = kannel_key(&c->cfg->kannel, key, value);
		if (rc == -2)
			snprintf(c->msg, sizeof(c->msg), "unknown key '%s' in [kannel]", key);
		else if (rc == -3)
			snprintf(c->msg, sizeof(c->msg),
				 "password_file %s: missing, or readable by group or others (chmod 600)", value);
		else if (rc != 0)
			snprintf(c->msg, sizeof(c->msg), "invalid value for '%s' in [kannel]", key);
		return rc == 0;
	}
	rc = modem_limit(section, key, value);
	if (rc == 0)
		rc = modem_ini_line(&c->cfg->modems, section, key, value);
	if (rc == 0) {
		snprintf(c->msg, sizeof(c->msg), "unknown section [%s]", section);
		return 0;
	}
	if (rc < 0) {
		snprintf(c->msg, sizeof(c->msg), "%s",
			 c->cfg->modems.error[0] ? c->cfg->modems.error : "invalid value");
		return 0;
	}
	return 1;
}

int gw_config_load(struct gw_config *cfg, const char *path, char *err, size_t errlen)
{
	struct ctx c = {.cfg = cfg};
	int line;

	memset(cfg, 0, sizeof(*cfg));
	cfg->lease_wait_s = 25;
	cfg->per_modem_jobs = 2;
	cfg->log_level = LOG_LEVEL_INFO;
	cfg->failover = 1;
	cfg->kannel.concurrency = 8;
	cfg->kannel.timeout_ms = 10000;
	snprintf(cfg->kannel.dlr_listen, sizeof(cfg->kannel.dlr_listen), "127.0.0.1:0");
	modem_ini_init(&cfg->modems);
	/* A job waiting for a busy modem (one stuck in a health check, say) is better moved to
	 * another modem or gateway well before its lease (60 s by default) runs out than after the
	 * supervisor's own default of 120 s. [modems] queue_timeout still overrides it. */
	cfg->modems.opt.queue_timeout_ms = GW_QUEUE_TIMEOUT_MS;
	nlimits = 0;
	line = inifile_parse(path, on_entry, &c);
	if (line == -1) {
		snprintf(err, errlen,
			 "%s: cannot open: %s (name the configuration file with -c FILE; gateway.conf.example "
			 "in the documentation is a start)",
			 path, strerror(errno));
		return -1;
	}
	if (line != 0) {
		snprintf(err, errlen, "%s:%d: %s", path, line, c.msg[0] ? c.msg : "syntax error");
		return -1;
	}
	if (cfg->server[0] == '\0' || cfg->token[0] == '\0') {
		snprintf(err, errlen, "%s: [gateway] needs 'server' and 'token' (or 'token_file')", path);
		return -1;
	}
	if (cfg->token_from[0] == '\0')
		snprintf(cfg->token_from, sizeof(cfg->token_from), "the token in [gateway] of %.500s", path);
	if (modem_ini_finish(&cfg->modems) != 0) {
		snprintf(err, errlen, "%s: %s", path, cfg->modems.error);
		return -1;
	}
	if (cfg->modems.n == 0 && !cfg->kannel.enabled) {
		snprintf(err, errlen, "%s: no [modem NAME] section and no [kannel] section", path);
		return -1;
	}
	if (cfg->kannel.enabled) {
		if (cfg->kannel.url[0] == '\0' || cfg->kannel.username[0] == '\0' || cfg->kannel.password[0] == '\0') {
			snprintf(err, errlen, "%s: [kannel] needs 'url', 'username' and 'password_file'", path);
			return -1;
		}
		for (int m = 0; m < cfg->modems.n; m++)
			if (strcmp(cfg->modems.modems[m].name, "kannel") == 0) {
				snprintf(err, errlen, "%s: [modem kannel]: the name belongs to the [kannel] channel",
					 path);
				return -1;
			}
	}
	for (int i = 0; i < cfg->nroutes; i++)
		if ((strcmp(cfg->routes[i].transport, "kannel") == 0 && !cfg->kannel.enabled) ||
		    (strcmp(cfg->routes[i].transport, "modem") == 0 && cfg->modems.n == 0)) {
			snprintf(err, errlen, "%s: route to '%s', which is not configured", path,
				 cfg->routes[i].transport);
			return -1;
		}
	for (int i = 0; i < nlimits; i++) {
		int found = 0;
		for (int m = 0; m < cfg->modems.n; m++)
			if (strcmp(cfg->modems.modems[m].name, limits[i].name) == 0) {
				cfg->per_minute[m] = limits[i].per_minute;
				cfg->per_day[m] = limits[i].per_day;
				found = 1;
			}
		if (!found) {
			snprintf(err, errlen, "%s: [modem %s] has limits but no device", path, limits[i].name);
			return -1;
		}
	}
	return 0;
}
