/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target for the gateway's reading of a lease answer (gateway/lease.c): whatever the
 * server sends, every job either becomes an SMS that passes the modem layer's checks, with its
 * lengths in bounds, or is refused; the dispatcher then takes what was accepted. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "gateway.h"
#include "lease.h"
#include "log.h"
#include "report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gw_config cfg = {.per_modem_jobs = 2};
	static int quiet;
	struct reports *reports;
	struct dispatch *d;
	json_t *j, *o;
	size_t i;

	if (!quiet) {
		log_init("fuzz-lease", LOG_LEVEL_ERROR, 0);
		quiet = 1;
	}
	j = lease_load((const char *)data, size);
	if (j == NULL)
		return 0;
	reports = reports_new(NULL);
	d = dispatch_new(&cfg, reports);
	if (reports == NULL || d == NULL)
		abort();
	json_array_foreach (json_object_get(j, "jobs"), i, o) {
		struct dispatch_job job;
		int64_t id;

		if (lease_parse_job(o, &job, &id) != 0)
			continue;
		if (id <= 0 || modem_sms_check(&job.sms) != 0 || job.lease_s <= 0 || job.validity_s <= 0 ||
		    strnlen(job.sms.number, sizeof(job.sms.number)) == sizeof(job.sms.number) ||
		    job.sms.data_len > sizeof(job.sms.data))
			abort();
		(void)dispatch_take(d, &job, 0); /* a full table or a duplicate is refused, not a fault */
	}
	dispatch_free(d);
	reports_free(reports);
	json_decref(j);
	return 0;
}
