/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Leasing: one long-poll at a time asks the server for as many wake jobs as the dispatcher has
 * room for, turns each into an SMS and hands it over. Malformed jobs are reported failed. While
 * the server cannot be reached, leasing backs off (0.5 s doubling to 30 s, with jitter). */
#ifndef SMSWAKE_GW_LEASE_H
#define SMSWAKE_GW_LEASE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct gw_config;
struct conn;
struct dispatch;
struct reports;
struct lease;

struct lease *lease_new(const struct gw_config *cfg, struct conn *c, struct dispatch *d, struct reports *r);
void lease_free(struct lease *l);
/* Starts a lease request when none is in flight, the back-off allows and the dispatcher has
 * room. now_ms is monotonic. stopping: start nothing new. */
void lease_run(struct lease *l, int64_t now_ms, int stopping);
/* Parses a lease answer. A job's counter may be above 2^63 - 1, which jansson cannot hold:
 * such integers are read as strings (the gateway does not use the counter). NULL if it is no
 * JSON. */
json_t *lease_load(const char *body, size_t len);
/* Turns one job of a lease answer into an SMS for the dispatcher. 0, or -1 when it is malformed
 * (*id is set when the job at least has an id, so it can be reported failed). */
struct dispatch_job;
int lease_parse_job(json_t *o, struct dispatch_job *job, int64_t *id);
/* Whether the last exchange with the server worked, and the counts for the metrics. */
int lease_server_ok(const struct lease *l);
void lease_counts(const struct lease *l, uint64_t *leases, uint64_t *jobs);

#endif
