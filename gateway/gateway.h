/* SPDX-License-Identifier: GPL-2.0-or-later */
/* smswake-gateway: leases wake jobs from the server, sends them through the modem supervisor,
 * and reports what became of them. It keeps no durable state. */
#ifndef SMSWAKE_GATEWAY_H
#define SMSWAKE_GATEWAY_H

#include <stdint.h>

#include "modem_ini.h"
#include "supervisor.h"

#define GW_URL_MAX 512
#define GW_MAX_JOBS 256

struct gw_config {
	char server[GW_URL_MAX];  /* base URL of smswake-server's gateway API */
	char token[160];          /* gateway token (secret) */
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

/* A job leased from the server and not finished yet. */
struct gw_job {
	int64_t id;
	int used;
	struct modem_sms_out sms;
	uint32_t tried; /* bitmask of modems that failed it */
	int modem;      /* modem it is queued on, -1 if none */
	int64_t lease_until_ms;
};

/* Per-modem send accounting for the rate limits and the metrics. */
struct gw_modem {
	int64_t minute_start_ms;
	int minute_count;
	int64_t day_start_ms;
	int day_count;
	int held; /* jobs queued on it now */
	uint64_t sent, failed, delivered, undeliverable;
};

#endif
