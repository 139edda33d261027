/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Webhook delivery (Standard Webhooks): one thread drives every attempt with libcurl's multi
 * interface; the outbox in the store says what is due. */
#ifndef SMSWAKE_WEBHOOKS_H
#define SMSWAKE_WEBHOOKS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config.h"
#include "store.h"

struct server;
struct webhooks;

/* Starts the delivery thread; NULL on failure (logged). */
struct webhooks *webhooks_start(struct server *srv);
void webhooks_stop(struct webhooks *wh);

/* 1 when a delivery may connect to this address: refused are loopback, link-local, private,
 * unique-local, multicast, unspecified, broadcast and other special ranges (v4, v6 and v4 in
 * v6), unless a range of [webhooks] allow covers the address. */
int webhooks_addr_allowed(const struct webhook_config *cfg, const struct sockaddr *sa);
/* The event as the JSON object providers receive (webhook body, stream data); malloc'ed. */
char *webhooks_event_body(const struct store_event_out *e);
/* "v1,<base64 of HMAC-SHA256(key, id.timestamp.body)>" into out; 0 or -1. */
int webhooks_sign(const uint8_t *key, size_t keylen, const char *id, int64_t ts, const char *body, size_t len,
		  char *out, size_t outlen);

#endif
