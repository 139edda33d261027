/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The gateway's /metrics endpoint: the main loop publishes a snapshot, a small libmicrohttpd
 * listener serves it in Prometheus text format. */
#ifndef SMSWAKE_GW_METRICS_H
#define SMSWAKE_GW_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct gw_metrics_modem {
	char name[32];
	int healthy;
	int signal; /* percent, -1 unknown */
	int queued;
	int restarts;
	uint64_t sent, failed, delivered, undeliverable;
	/* The modem's capabilities (struct modem_caps of supervisor_modem_info): one
	 * smswake_modem_capability line per probed MODEM_CAP_* bit. Zero: none shown. */
	int caps_probed, caps_present;
};

/* listen is "host:port" (port 0: any; the bound port is logged). */
int gw_metrics_start(const char *listen, char *err, size_t errlen);
void gw_metrics_publish(const struct gw_metrics_modem *m, int n, int server_ok, uint64_t leases, uint64_t jobs,
			uint64_t reports, uint64_t report_failures);
void gw_metrics_stop(void);

#endif
