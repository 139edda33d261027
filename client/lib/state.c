/* SPDX-License-Identifier: MIT */
/* The device's state file: wake counter and message cursor, replaced atomically (temporary file,
 * fsync, rename, fsync of the directory) so that after a crash it holds either the old or the new
 * state, never a mix. A separate lock file serialises processes sharing it. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "encode.h"
#include "internal.h"

#define STATE_MAGIC "smswake-state 1"
#define STATE_MAX 2048

/* Appends "NAME_id N\nNAME B64\n" for a key slot in use; the new length, or -1. */
static int format_key(char *buf, size_t max, int n, const char *id_name, const char *key_name, uint8_t id,
		      const uint8_t key[WAKE_KEY_LEN])
{
	char b64[ENC_B64_LEN(WAKE_KEY_LEN)];
	int m;

	if (n < 0 || id == 0)
		return n;
	enc_b64(key, WAKE_KEY_LEN, b64, 0);
	m = snprintf(buf + n, max - (size_t)n, "%s %u\n%s %s\n", id_name, id, key_name, b64);
	OPENSSL_cleanse(b64, sizeof(b64));
	return m > 0 && (size_t)m < max - (size_t)n ? n + m : -1;
}

/* Appends "NAME PRIV.PUB.AUTH\n" (base64url of each part); the new length, or -1. */
static int format_push(char *buf, size_t max, int n, const char *name, const struct sw_push_key *k)
{
	char priv[ENC_B64_LEN(ECE_P256_PRIV_LEN)], pub[ENC_B64_LEN(ECE_P256_PUB_LEN)], auth[ENC_B64_LEN(ECE_AUTH_LEN)];
	int m;

	if (n < 0)
		return n;
	enc_b64(k->priv, sizeof(k->priv), priv, 1);
	enc_b64(k->pub, sizeof(k->pub), pub, 1);
	enc_b64(k->auth, sizeof(k->auth), auth, 1);
	m = snprintf(buf + n, max - (size_t)n, "%s %s.%s.%s\n", name, priv, pub, auth);
	OPENSSL_cleanse(priv, sizeof(priv));
	OPENSSL_cleanse(auth, sizeof(auth));
	return m > 0 && (size_t)m < max - (size_t)n ? n + m : -1;
}

/* Reads "PRIV.PUB.AUTH"; 0 or -1. Whether the key pair matches shows at the first decryption. */
static int parse_push(const char *v, size_t vl, struct sw_push_key *k)
{
	const char *d1 = memchr(v, '.', vl), *d2;

	if (d1 == NULL || (d2 = memchr(d1 + 1, '.', vl - (size_t)(d1 + 1 - v))) == NULL)
		return -1;
	if (enc_unb64(v, (size_t)(d1 - v), k->priv, sizeof(k->priv), 1) != ECE_P256_PRIV_LEN ||
	    enc_unb64(d1 + 1, (size_t)(d2 - d1 - 1), k->pub, sizeof(k->pub), 1) != ECE_P256_PUB_LEN ||
	    enc_unb64(d2 + 1, vl - (size_t)(d2 + 1 - v), k->auth, sizeof(k->auth), 1) != ECE_AUTH_LEN ||
	    k->pub[0] != 0x04)
		return -1;
	return 0;
}

size_t sw_state_format(const struct sw_state *st, char *buf, size_t max)
{
	int n = snprintf(buf, max,
			 STATE_MAGIC "\ndevice %" PRIu64 "\ncounter %" PRIu64 "\nreported %" PRIu64 "\ncursor %" PRIu64
				     "\nacked %" PRIu64 "\ninflight %" PRIu64 "\n",
			 st->device_id, st->counter, st->reported, st->cursor, st->acked, st->inflight);

	if (n <= 0 || (size_t)n >= max)
		return 0;
	/* Only after a key rotation; the file is mode 0600 like the configuration. */
	n = format_key(buf, max, n, "key_id", "wake_key", st->key_id, st->key);
	n = format_key(buf, max, n, "next_key_id", "next_wake_key", st->next_key_id, st->next_key);
	if (st->have_push)
		n = format_push(buf, max, n, "push_key", &st->push);
	if (st->have_old_push) {
		n = format_push(buf, max, n, "old_push_key", &st->old_push);
		if (n > 0) {
			int m = snprintf(buf + n, max - (size_t)n, "old_push_until %" PRIu64 "\n", st->old_push_until);
			n = m > 0 && (size_t)m < max - (size_t)n ? n + m : -1;
		}
	}
	return n > 0 && (size_t)n < max ? (size_t)n : 0;
}

static int parse_dec(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 20)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* Strict: the magic line, then each key exactly once, nothing else (a key slot's id and key
 * together or not at all). A state file that does not parse is an error, never a reset:
 * resetting the counter would let old wakeups through again. */
int sw_state_parse(const char *text, size_t len, struct sw_state *st)
{
	static const char *const keys[] = {"device",   "counter",      "reported",      "cursor",      "acked",
					   "inflight", "key_id",       "wake_key",      "next_key_id", "next_wake_key",
					   "push_key", "old_push_key", "old_push_until"};
	const unsigned nkeys = sizeof(keys) / sizeof(keys[0]);
	uint64_t *fields[8], ids[2] = {0, 0};
	unsigned seen = 0;
	size_t pos, ml = sizeof(STATE_MAGIC) - 1;
	struct sw_state s;

	memset(&s, 0, sizeof(s));
	fields[0] = &s.device_id;
	fields[1] = &s.counter;
	fields[2] = &s.reported;
	fields[3] = &s.cursor;
	fields[4] = &s.acked;
	fields[5] = &s.inflight;
	fields[6] = &ids[0];
	fields[7] = &ids[1];
	if (len < ml + 1 || memcmp(text, STATE_MAGIC "\n", ml + 1) != 0)
		goto bad;
	for (pos = ml + 1; pos < len;) {
		const char *line = text + pos, *nl = memchr(line, '\n', len - pos), *sp, *v;
		size_t ll, k, vl;

		if (nl == NULL)
			goto bad;
		ll = (size_t)(nl - line);
		sp = memchr(line, ' ', ll);
		if (sp == NULL)
			goto bad;
		for (k = 0; k < nkeys; k++)
			if ((size_t)(sp - line) == strlen(keys[k]) && memcmp(line, keys[k], strlen(keys[k])) == 0)
				break;
		if (k == nkeys || (seen & (1u << k)))
			goto bad;
		v = sp + 1;
		vl = ll - (size_t)(sp - line) - 1;
		if (k == 10 || k == 11) {
			if (parse_push(v, vl, k == 10 ? &s.push : &s.old_push) != 0)
				goto bad;
		} else if (k == 12) {
			if (parse_dec(v, vl, &s.old_push_until) != 0)
				goto bad;
		} else if (k == 7 || k == 9) {
			uint8_t *key = k == 7 ? s.key : s.next_key;
			if (enc_unb64(v, vl, key, WAKE_KEY_LEN, 0) != WAKE_KEY_LEN)
				goto bad;
		} else if (parse_dec(v, vl, fields[k < 6 ? k : k == 6 ? 6 : 7]) != 0) {
			goto bad;
		}
		seen |= 1u << k;
		pos += ll + 1;
	}
	if ((seen & 0x3f) != 0x3f || s.reported > s.counter || s.acked > s.cursor)
		goto bad;
	/* Each slot whole or absent, with an id of 1-255; the next key differs from the current. */
	if (((seen >> 6) & 1) != ((seen >> 7) & 1) || ((seen >> 8) & 1) != ((seen >> 9) & 1) ||
	    ((seen & 0x40) && (ids[0] < 1 || ids[0] > 255)) || ((seen & 0x100) && (ids[1] < 1 || ids[1] > 255)) ||
	    ((seen & 0x40) && (seen & 0x100) && ids[0] == ids[1]))
		goto bad;
	/* A previous push key only with a current one, and with its end. */
	if (((seen >> 11) & 1) != ((seen >> 12) & 1) || ((seen & 0x800) && !(seen & 0x400)))
		goto bad;
	s.have_push = (seen & 0x400) != 0;
	s.have_old_push = (seen & 0x800) != 0;
	s.key_id = (uint8_t)ids[0];
	s.next_key_id = (uint8_t)ids[1];
	*st = s;
	OPENSSL_cleanse(&s, sizeof(s));
	return 0;
bad:
	OPENSSL_cleanse(&s, sizeof(s));
	return -1;
}

/* Reads and checks the state file (a missing one is the first run's empty state: *missing is set
 * when missing is not NULL). */
static smswake_err state_read(smswake_t *h, struct sw_state *st, int *missing)
{
	char buf[STATE_MAX + 1];
	ssize_t n;
	size_t len = 0;
	int fd = open(h->state_file, O_RDONLY | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT) {
		/* First run: nothing accepted yet. */
		memset(st, 0, sizeof(*st));
		st->device_id = h->device_id;
		if (missing != NULL)
			*missing = 1;
		return SMSWAKE_OK;
	}
	if (fd < 0)
		return sw_fail(h, SMSWAKE_ESTATE, "%s: %s", h->state_file, strerror(errno));
	while (len < sizeof(buf) && (n = read(fd, buf + len, sizeof(buf) - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		len += (size_t)n;
	}
	close(fd);
	if (len > STATE_MAX || sw_state_parse(buf, len, st) != 0) {
		OPENSSL_cleanse(buf, sizeof(buf));
		return sw_fail(h, SMSWAKE_ESTATE, "%s: corrupt; remove it only after re-registering", h->state_file);
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	if (st->device_id != h->device_id)
		return sw_fail(h, SMSWAKE_ESTATE, "%s: belongs to device %" PRIu64 ", not %" PRIu64, h->state_file,
			       st->device_id, h->device_id);
	return SMSWAKE_OK;
}

static smswake_err state_check_config(smswake_t *h)
{
	if (h->state_file == NULL)
		return sw_fail(h, SMSWAKE_ECONFIG, "state_file is not set");
	if (!h->have_device_id)
		return sw_fail(h, SMSWAKE_ECONFIG, "device_id is not set");
	return SMSWAKE_OK;
}

smswake_err sw_state_peek(smswake_t *h, struct sw_state *st)
{
	smswake_err err = state_check_config(h);

	return err != SMSWAKE_OK ? err : state_read(h, st, NULL);
}

smswake_err sw_state_begin(smswake_t *h, struct sw_state *st)
{
	smswake_err err = state_check_config(h);
	int missing = 0;

	if (err != SMSWAKE_OK)
		return err;
	if (h->lock_fd >= 0)
		return sw_fail(h, SMSWAKE_EINVAL, "state already locked (re-entrant call from a callback?)");
	h->lock_fd = open(h->lock_file, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (h->lock_fd < 0)
		return sw_fail(h, SMSWAKE_ESTATE, "%s: %s", h->lock_file, strerror(errno));
	while (flock(h->lock_fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			int e = errno;
			sw_state_end(h);
			return sw_fail(h, SMSWAKE_ESTATE, "%s: lock: %s", h->lock_file, strerror(e));
		}
	}
	err = state_read(h, st, &missing);
	/* The first locked use writes the empty state, so that from then on the state file exists
	 * next to its lock file: one missing later was deleted, and the application can tell. */
	if (err == SMSWAKE_OK && missing)
		err = sw_state_store(h, st);
	if (err != SMSWAKE_OK)
		sw_state_end(h);
	return err;
}

void sw_state_end(smswake_t *h)
{
	if (h->lock_fd >= 0) {
		close(h->lock_fd); /* releases the flock */
		h->lock_fd = -1;
	}
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The rename is the commit point; fsync of the file before it makes the new contents durable
 * first, fsync of the directory after it makes the rename itself durable. */
smswake_err sw_state_store(smswake_t *h, const struct sw_state *st)
{
	char buf[STATE_MAX], *tmp, *slash;
	size_t len = sw_state_format(st, buf, sizeof(buf)), n = strlen(h->state_file);
	int fd, dfd, e;

	if (len == 0)
		return sw_fail(h, SMSWAKE_ESTATE, "state too large");
	tmp = malloc(n + sizeof(".tmp"));
	if (tmp == NULL)
		return sw_fail(h, SMSWAKE_ENOMEM, "out of memory");
	memcpy(tmp, h->state_file, n);
	memcpy(tmp + n, ".tmp", sizeof(".tmp"));
	/* A temporary file left by a crash holds nothing we need, and may have another mode. */
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		goto fail;
	if (write_all(fd, buf, len) != 0 || fsync(fd) != 0) {
		e = errno;
		close(fd);
		unlink(tmp);
		errno = e;
		goto fail;
	}
	if (close(fd) != 0 || rename(tmp, h->state_file) != 0) {
		e = errno;
		unlink(tmp);
		errno = e;
		goto fail;
	}
	free(tmp);

	slash = strrchr(h->state_file, '/');
	if (slash == NULL) {
		dfd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	} else if (slash == h->state_file) {
		dfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	} else {
		*slash = '\0';
		dfd = open(h->state_file, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		*slash = '/';
	}
	if (dfd < 0 || fsync(dfd) != 0) {
		e = errno;
		if (dfd >= 0)
			close(dfd);
		return sw_fail(h, SMSWAKE_ESTATE, "%s: directory fsync: %s", h->state_file, strerror(e));
	}
	close(dfd);
	return SMSWAKE_OK;
fail:
	e = errno;
	free(tmp);
	return sw_fail(h, SMSWAKE_ESTATE, "%s: %s", h->state_file, strerror(e));
}
