/* SPDX-License-Identifier: GPL-2.0-or-later */
/* State shared by the parts of smswake-server: configuration, store, keys, listeners. */
#ifndef SMSWAKE_SERVER_H
#define SMSWAKE_SERVER_H

#include <pthread.h>
#include <stdint.h>

#include "config.h"
#include "store.h"

#define MASTER_KEY_LEN 32
#define CURRENT_KEY_ID 1

struct longpoll;
struct scheduler;
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
	uint8_t master_key[MASTER_KEY_LEN];
	struct listener listeners[CONFIG_MAX_LISTENERS];
	int nlisteners;
	struct longpoll *device_waits;  /* long-polling device fetches, keyed by device id */
	struct longpoll *gateway_waits; /* long-polling gateway leases, one key (0) */
	struct scheduler *scheduler;
	volatile int stopping;
};

/* keys.c: master key file, bearer tokens. */
int keys_load_or_create_master(const char *path, uint8_t key[MASTER_KEY_LEN], char *err, size_t errlen);
/* Writes a new random token "<prefix>_<base64url>" (NUL-terminated) into out (at least 64
 * octets) and its hash into hash. */
int keys_new_token(const char *prefix, char *out, size_t outlen, uint8_t hash[STORE_HASH_LEN]);
void keys_hash_token(const char *token, size_t len, uint8_t hash[STORE_HASH_LEN]);

/* http.c */
int http_start(struct server *srv, char *err, size_t errlen);
void http_stop(struct server *srv);

#endif
