/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The server's master key file and the bearer tokens it hands out (stored only as hashes). */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "crypto.h"
#include "encode.h"
#include "server.h"
#include "util.h"

int keys_load_or_create_master(const char *path, uint8_t key[MASTER_KEY_LEN], char *err, size_t errlen)
{
	char *data = NULL;
	size_t len = 0;
	struct stat sb;

	if (util_read_file(path, 4096, &data, &len) == 0) {
		if (len != MASTER_KEY_LEN) {
			snprintf(err, errlen, "%s: master key must be exactly %d octets, found %zu", path,
				 MASTER_KEY_LEN, len);
			free(data);
			return -1;
		}
		if (stat(path, &sb) == 0 && (sb.st_mode & 077) != 0)
			snprintf(err, errlen, "%s: readable by group or others; run chmod 600", path);
		memcpy(key, data, MASTER_KEY_LEN);
		explicit_bzero(data, len);
		free(data);
		return 0;
	}
	if (errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (crypto_random(key, MASTER_KEY_LEN) != 0) {
		snprintf(err, errlen, "cannot get random octets for the master key");
		return -1;
	}
	if (util_write_file_atomic(path, key, MASTER_KEY_LEN, 0600) != 0) {
		snprintf(err, errlen, "%s: cannot create master key: %s", path, strerror(errno));
		return -1;
	}
	return 1;
}

int keys_new_token(const char *prefix, char *out, size_t outlen, uint8_t hash[STORE_HASH_LEN])
{
	uint8_t raw[32];
	char b64[ENC_B64_LEN(32)];
	int n;

	if (crypto_random(raw, sizeof(raw)) != 0)
		return -1;
	enc_b64(raw, sizeof(raw), b64, 1);
	n = snprintf(out, outlen, "%s_%s", prefix, b64);
	explicit_bzero(raw, sizeof(raw));
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	keys_hash_token(out, (size_t)n, hash);
	return 0;
}

void keys_hash_token(const char *token, size_t len, uint8_t hash[STORE_HASH_LEN])
{
	if (crypto_sha256(token, len, hash) != 0)
		memset(hash, 0, STORE_HASH_LEN);
}
