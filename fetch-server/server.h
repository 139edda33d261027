/* SPDX-License-Identifier: GPL-2.0-or-later */
/* State shared by the parts of smswake-server: configuration, store, keys, listeners. */
#ifndef SMSWAKE_SERVER_H
#define SMSWAKE_SERVER_H

#include <pthread.h>
#include <stdint.h>

#include "config.h"
#include "store.h"

#define MASTER_KEY_LEN 32
#define MASTER_KEY_IDS 255 /* key ids 1-255 (one octet in the wakeup) */

/* The master keys (docs/operations.md, "Keys"): id 1 in master_key_file, id N > 1 in
 * master_key_file.N. New devices get the newest; a rotation moves the others to it. */
struct master_keys {
	uint8_t key[MASTER_KEY_IDS + 1][MASTER_KEY_LEN];
	uint8_t loaded[MASTER_KEY_IDS + 1];
	int current; /* the highest id loaded */
};

struct conntrack;
struct longpoll;
struct scheduler;
struct webhooks;
struct MHD_Daemon;

struct server;

struct listener {
	struct server *srv;
	const struct listener_config *cfg;
	struct MHD_Daemon *daemon;
	int port; /* bound port */
	char *tls_cert_pem;
	char *tls_key_pem;
};

struct server {
	struct server_config cfg;
	struct store *store;
	struct master_keys keys;
	struct listener listeners[CONFIG_MAX_LISTENERS];
	int nlisteners;
	struct longpoll *device_waits;  /* long-polling device fetches, keyed by device id */
	struct longpoll *gateway_waits; /* long-polling gateway leases, one key (0) */
	struct longpoll *event_waits;   /* event streams with nothing to send, keyed by provider id */
	struct scheduler *scheduler;
	struct webhooks *webhooks; /* delivery worker (webhooks.c) */
	struct conntrack *conns;   /* connection limits and request deadlines (conntrack.c) */
	volatile int stopping;
};

/* keys.c: master key files, bearer tokens. */
/* Loads key 1 from path (creating it on first start: returns 1 then) and every path.N present.
 * 0 or 1; -1 with err set. A warning (loose permissions) may be left in err on success. */
int keys_load(const char *path, struct master_keys *mk, char *err, size_t errlen);
/* Creates path.N for the next id N = current + 1 and loads it; returns N, or -1 with err set. */
int keys_add(const char *path, struct master_keys *mk, char *err, size_t errlen);
/* The master key with this id, or NULL if it is not loaded. */
const uint8_t *keys_master(const struct master_keys *mk, int id);
void keys_wipe(struct master_keys *mk);
/* Writes a new random token "<prefix>_<base64url>" (NUL-terminated) into out (at least 64
 * octets) and its hash into hash. */
int keys_new_token(const char *prefix, char *out, size_t outlen, uint8_t hash[STORE_HASH_LEN]);
void keys_hash_token(const char *token, size_t len, uint8_t hash[STORE_HASH_LEN]);

/* http.c */
int http_start(struct server *srv, char *err, size_t errlen);
void http_stop(struct server *srv);

#endif
