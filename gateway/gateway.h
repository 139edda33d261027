/* SPDX-License-Identifier: GPL-2.0-or-later */
/* smswake-gateway: leases wake jobs from the server (lease.c), sends them through a transport
 * (dispatch.c, transport.h: the modems), and reports what became of them (report.c). It keeps
 * no durable state. This header holds its configuration (config.c). */
#ifndef SMSWAKE_GATEWAY_H
#define SMSWAKE_GATEWAY_H

#include <stdint.h>

#include "modem_ini.h"

#define GW_URL_MAX 512
#define GW_MAX_JOBS 256
/* The gateway's default for [modems] queue_timeout (the supervisor's is 120 s). */
#define GW_QUEUE_TIMEOUT_MS 30000

/* The [kannel] section: one channel, named "kannel", sending through Kannel's smsbox
 * (transport_kannel.c). */
struct gw_kannel {
	int enabled;
	char url[GW_URL_MAX];    /* smsbox's sendsms URL, http://host:port/cgi-bin/sendsms */
	char username[64];       /* sendsms-user */
	char password[128];      /* from password_file (secret) */
	char from[32];           /* sender; empty: smsbox's global-sender */
	char smsc[64];           /* smsc-id to route to; empty: Kannel's own routing */
	char dlr_listen[160];    /* host:port of the delivery-report listener; "no": none */
	char dlr_host[160];      /* host Kannel calls back; empty: the listener's address */
	int concurrency;         /* requests in flight (and jobs held) at most */
	int per_second;          /* sends a second at most, 0 = unlimited */
	int per_minute, per_day; /* as for a modem, 0 = unlimited */
	int timeout_ms;          /* one sendsms request */
};

/* A routing rule: numbers starting with prefix go to a transport first ("modem", "kannel"). */
#define GW_ROUTES_MAX 32
struct gw_route {
	char prefix[24]; /* "+49"; empty: every number (the default rule) */
	char transport[16];
};

struct gw_config {
	char server[GW_URL_MAX];  /* base URL of smswake-server's gateway API */
	char token[160];          /* gateway token (secret) */
	char token_from[600];     /* where it came from, for messages: "token_file PATH" or "token in PATH" */
	char ca_file[512];        /* CA bundle for HTTPS to the server; empty: system default */
	int lease_wait_s;         /* long-poll length of a lease request */
	int per_modem_jobs;       /* jobs held per healthy modem (sending + waiting) */
	char metrics_listen[160]; /* host:port for /metrics; empty: none */
	int log_level;
	int per_minute[MODEM_INI_MAX]; /* per-modem SMS per minute, 0 = unlimited */
	int per_day[MODEM_INI_MAX];    /* per-modem SMS per day, 0 = unlimited */
	struct modem_ini modems;
	struct gw_kannel kannel;
	struct gw_route routes[GW_ROUTES_MAX]; /* in the file's order; the first that matches */
	int nroutes;
	int failover; /* a routed job may go to the other transport when its own cannot send */
};

/* The transport a number is routed to first, or NULL when no rule matches (any channel).
 * In dispatch.c, which routes. */
const char *gw_route_for(const struct gw_config *cfg, const char *number);

/* Loads a gateway configuration; on error writes a one-line explanation into err. */
int gw_config_load(struct gw_config *cfg, const char *path, char *err, size_t errlen);

#endif
