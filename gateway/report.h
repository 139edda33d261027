/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Reports to smswake-server: what became of each leased job (submitted, failed, delivered,
 * undeliverable) and when, queued in memory and retried with back-off until the server takes
 * them. A report that cannot be delivered is only lost with the process: the server then
 * leases the job again when its lease runs out. */
#ifndef SMSWAKE_GW_REPORT_H
#define SMSWAKE_GW_REPORT_H

#include <stddef.h>
#include <stdint.h>

struct conn;
struct reports;

struct reports *reports_new(struct conn *c);
void reports_free(struct reports *r);
/* Queues a report. outcome: "submitted", "failed", "delivered" or "undeliverable" (a string
 * literal); reference -1 if none; error may be NULL; at_ms is the wall-clock time it happened. */
void reports_add(struct reports *r, int64_t job, const char *outcome, int reference, const char *error, int64_t at_ms);
/* Starts the reports that are due; returns milliseconds until the next one is (-1: none). */
int reports_run(struct reports *r, int64_t now_ms);
/* Whether a report on job with this outcome is queued (for tests and diagnostics); its time and
 * error are copied out when the pointers are not NULL. */
int reports_find(const struct reports *r, int64_t job, const char *outcome, int64_t *at_ms, char *error, size_t errlen);
/* Reports the server took, and attempts that failed, so far. */
void reports_counts(const struct reports *r, uint64_t *sent, uint64_t *failures);

#endif
