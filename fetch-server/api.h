/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The API handlers the route table (routes.c) names: one function per route. A handler answers
 * the request it is given and returns MHD_YES, or MHD_NO on an internal failure. */
#ifndef SMSWAKE_API_H
#define SMSWAKE_API_H

#include <microhttpd.h>

struct request;

/* api_ops.c */
enum MHD_Result api_healthz(struct request *r);
enum MHD_Result api_metrics(struct request *r);

/* api_provider.c (the request was authenticated as a provider: r->principal) */
enum MHD_Result api_device_create(struct request *r);
enum MHD_Result api_device_list(struct request *r);
enum MHD_Result api_device_get(struct request *r);
enum MHD_Result api_device_patch(struct request *r);
enum MHD_Result api_device_delete(struct request *r);
enum MHD_Result api_message_submit(struct request *r);
enum MHD_Result api_message_get(struct request *r);
enum MHD_Result api_message_delete(struct request *r);

/* api_webhooks.c (provider) */
enum MHD_Result api_webhook_create(struct request *r);
enum MHD_Result api_webhook_list(struct request *r);
enum MHD_Result api_webhook_get(struct request *r);
enum MHD_Result api_webhook_delete(struct request *r);

/* api_fleet.c (provider) */
enum MHD_Result api_batch_submit(struct request *r);
enum MHD_Result api_batch_get(struct request *r);

/* api_events.c (provider) */
enum MHD_Result api_events(struct request *r);

/* api_device.c (authenticated as a device: r->principal_id) */
enum MHD_Result api_device_fetch(struct request *r);
enum MHD_Result api_device_ack(struct request *r);
enum MHD_Result api_device_push_keys(struct request *r);

/* api_webpush.c (no bearer token: the sender's VAPID signature) */
enum MHD_Result api_webpush(struct request *r);

/* api_gateway.c */
enum MHD_Result api_gateway_lease(struct request *r);
enum MHD_Result api_gateway_report(struct request *r);

#endif
