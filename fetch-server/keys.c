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

/* Reads one key file: 0, or -1 with err set (errno ENOENT kept for a missing file). */
static int read_key(const char *path, uint8_t key[MASTER_KEY_LEN], char *err, size_t errlen)
{
	char *data = NULL;
	size_t len = 0;
	struct stat sb;

	if (util_read_file(path, 4096, &data, &len) != 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		errno = e;
		return -1;
	}
	if (len != MASTER_KEY_LEN) {
		snprintf(err, errlen, "%s: master key must be exactly %d octets, found %zu", path, MASTER_KEY_LEN, len);
		explicit_bzero(data, len);
		free(data);
		errno = EINVAL;
		return -1;
	}
	memcpy(key, data, MASTER_KEY_LEN);
	explicit_bzero(data, len);
	free(data);
	/* A key others can read may already be theirs: refuse it rather than go on signing with it. */
	if (stat(path, &sb) == 0 && (sb.st_mode & 077) != 0) {
		explicit_bzero(key, MASTER_KEY_LEN);
		snprintf(err, errlen,
			 "%s: master key is readable by group or others (mode %04o); refusing it. If nobody else "
			 "could have read it, run chmod 600 %s; otherwise rotate it (docs/operations.md, \"Keys\")",
			 path, (unsigned)(sb.st_mode & 07777), path);
		errno = EPERM;
		return -1;
	}
	return 0;
}

static int key_path(char *out, size_t outlen, const char *path, int id)
{
	int n = id == 1 ? snprintf(out, outlen, "%s", path) : snprintf(out, outlen, "%s.%d", path, id);

	return n > 0 && (size_t)n < outlen ? 0 : -1;
}

int keys_load(const char *path, struct master_keys *mk, char *err, size_t errlen)
{
	char p[4096], warn[512] = "";
	int created = 0;

	memset(mk, 0, sizeof(*mk));
	err[0] = '\0';
	for (int id = 1; id <= MASTER_KEY_IDS; id++) {
		if (key_path(p, sizeof(p), path, id) != 0) {
			snprintf(err, errlen, "%s: path too long", path);
			return -1;
		}
		err[0] = '\0';
		if (read_key(p, mk->key[id], err, errlen) != 0) {
			if (errno != ENOENT)
				return -1;
			if (id > 1)
				continue;
			if (crypto_random(mk->key[1], MASTER_KEY_LEN) != 0) {
				snprintf(err, errlen, "cannot get random octets for the master key");
				return -1;
			}
			if (util_write_file_atomic(p, mk->key[1], MASTER_KEY_LEN, 0600) != 0) {
				snprintf(err, errlen, "%s: cannot create master key: %s", p, strerror(errno));
				return -1;
			}
			created = 1;
			err[0] = '\0';
		}
		if (err[0] != '\0' && warn[0] == '\0')
			snprintf(warn, sizeof(warn), "%s", err);
		mk->loaded[id] = 1;
		mk->current = id;
	}
	snprintf(err, errlen, "%s", warn);
	return created;
}

int keys_add(const char *path, struct master_keys *mk, char *err, size_t errlen)
{
	char p[4096];
	int id = mk->current + 1;
	struct stat sb;

	if (id > MASTER_KEY_IDS) {
		snprintf(err, errlen, "all %d master key ids are used", MASTER_KEY_IDS);
		return -1;
	}
	if (key_path(p, sizeof(p), path, id) != 0 || stat(p, &sb) == 0) {
		snprintf(err, errlen, "%s: exists already or the path is too long", p);
		return -1;
	}
	if (crypto_random(mk->key[id], MASTER_KEY_LEN) != 0) {
		snprintf(err, errlen, "cannot get random octets for the master key");
		return -1;
	}
	if (util_write_file_atomic(p, mk->key[id], MASTER_KEY_LEN, 0600) != 0) {
		snprintf(err, errlen, "%s: cannot create master key: %s", p, strerror(errno));
		explicit_bzero(mk->key[id], MASTER_KEY_LEN);
		return -1;
	}
	mk->loaded[id] = 1;
	mk->current = id;
	return id;
}

const uint8_t *keys_master(const struct master_keys *mk, int id)
{
	return id >= 1 && id <= MASTER_KEY_IDS && mk->loaded[id] ? mk->key[id] : NULL;
}

void keys_wipe(struct master_keys *mk)
{
	explicit_bzero(mk, sizeof(*mk));
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
