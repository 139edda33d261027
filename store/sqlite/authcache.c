/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Providers' keys, remembered: a provider submits thousands of messages a second under one key,
 * and looking the key up costs a read transaction each time. A small direct-mapped table of the
 * keys that authenticated, kept right as follows.
 *
 * - This process's own changes (a key added or revoked, a budget set) empty the table after
 *   their COMMIT and before their callers hear of it (writer.c).
 * - Another process's changes (smswakectl on the same file) are seen by the writer, which asks
 *   its connection for PRAGMA data_version every AUTH_CHECK_MS: the value changes exactly when
 *   another connection committed (this process's readers never write). Then the table is
 *   emptied too. The table answers only while the last check is younger than AUTH_FRESH_MS, so
 *   a writer held up in a slow commit cannot leave it stale; and a revocation or budget change
 *   returns to its caller only after AUTH_FRESH_MS (ops_device.c), so that by then every server
 *   on the file refuses the key.
 * - A lookup that missed reads the key in its own read transaction, which may be older than a
 *   change that empties the table meanwhile: it is remembered only if the table's epoch, read
 *   before the read began, is still the same. */
#include <string.h>

#include "store_int.h"
#include "util.h"

#define AUTH_CHECK_MS 100

void authcache_init(struct auth_cache *c)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
}

void authcache_destroy(struct auth_cache *c)
{
	pthread_mutex_destroy(&c->lock);
}

static struct auth_slot *slot_of(struct auth_cache *c, const uint8_t hash[STORE_HASH_LEN])
{
	return &c->slot[hash[0] % AUTH_CACHE_SLOTS];
}

int authcache_get(struct auth_cache *c, const uint8_t hash[STORE_HASH_LEN], struct store_principal *out,
		  uint64_t *epoch)
{
	struct auth_slot *s = slot_of(c, hash);
	int found = 0;

	pthread_mutex_lock(&c->lock);
	*epoch = c->epoch;
	if (util_mono_ms() - c->checked_ms <= AUTH_FRESH_MS && s->used && memcmp(s->hash, hash, STORE_HASH_LEN) == 0) {
		*out = s->p;
		found = 1;
		c->hits++;
	}
	pthread_mutex_unlock(&c->lock);
	return found;
}

void authcache_put(struct auth_cache *c, const uint8_t hash[STORE_HASH_LEN], const struct store_principal *p,
		   uint64_t epoch)
{
	struct auth_slot *s = slot_of(c, hash);

	pthread_mutex_lock(&c->lock);
	if (c->epoch == epoch) {
		memcpy(s->hash, hash, STORE_HASH_LEN);
		s->p = *p;
		s->used = 1;
	}
	pthread_mutex_unlock(&c->lock);
}

void authcache_flush(struct auth_cache *c)
{
	pthread_mutex_lock(&c->lock);
	for (int i = 0; i < AUTH_CACHE_SLOTS; i++)
		c->slot[i].used = 0;
	c->epoch++;
	pthread_mutex_unlock(&c->lock);
}

int authcache_check(struct sq_store *st, int force)
{
	struct auth_cache *c = &st->auth;
	int64_t start = util_mono_ms();
	sqlite3_stmt *s;
	int64_t v;
	int rc, changed;

	if (!force && start - c->checked_ms < AUTH_CHECK_MS)
		return 0;
	s = wstmt(st, WS_DATA_VERSION);
	rc = sqlite3_step(s);
	v = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
	sqlite3_reset(s);
	if (rc != SQLITE_ROW) {
		/* Unknown: answer from the file until a check succeeds. */
		authcache_flush(c);
		return -1;
	}
	pthread_mutex_lock(&c->lock);
	changed = v != c->data_version;
	if (changed) {
		for (int i = 0; i < AUTH_CACHE_SLOTS; i++)
			c->slot[i].used = 0;
		c->epoch++;
		c->data_version = v;
	}
	/* What committed before start is now accounted for. */
	c->checked_ms = start;
	pthread_mutex_unlock(&c->lock);
	return changed;
}
