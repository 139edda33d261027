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
};

/* Loads a gateway configuration; on error writes a one-line explanation into err. */
int gw_config_load(struct gw_config *cfg, const char *path, char *err, size_t errlen);

#endif
