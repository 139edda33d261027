/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Devices' last-seen times kept in memory between writer flushes, so a poll costs no disk write.
 * An open-addressing hash (linear probing, backward-shift deletion) under one mutex. */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_int.h"

#define TOUCH_MIN_CAP 64

static size_t touch_hash(int64_t id, size_t mask)
{
	uint64_t x = (uint64_t)id;

	/* splitmix64 finaliser: device ids are sequential, the slots should not be. */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return (size_t)x & mask;
}

void touch_init(struct touch_map *t)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->lock, NULL);
}

void touch_destroy(struct touch_map *t)
{
	free(t->slots);
	t->slots = NULL;
	pthread_mutex_destroy(&t->lock);
}

static struct touch_slot *touch_find(struct touch_map *t, int64_t id)
{
	size_t i;

	if (t->slots == NULL)
		return NULL;
	for (i = touch_hash(id, t->mask);; i = (i + 1) & t->mask) {
		if (t->slots[i].id == id)
			return &t->slots[i];
		if (t->slots[i].id == 0)
			return NULL;
	}
}

static void touch_insert(struct touch_slot *slots, size_t mask, int64_t id, int64_t seen_ms)
{
	size_t i = touch_hash(id, mask);

	while (slots[i].id != 0 && slots[i].id != id)
		i = (i + 1) & mask;
	slots[i].id = id;
	slots[i].seen_ms = seen_ms;
}

/* Keeps the load factor at or below one half. */
static int touch_grow(struct touch_map *t)
{
	size_t cap = t->slots ? (t->mask + 1) * 2 : TOUCH_MIN_CAP;
	struct touch_slot *n = calloc(cap, sizeof(*n));

	if (n == NULL)
		return -1;
	for (size_t i = 0; t->slots && i <= t->mask; i++)
		if (t->slots[i].id != 0)
			touch_insert(n, cap - 1, t->slots[i].id, t->slots[i].seen_ms);
	free(t->slots);
	t->slots = n;
	t->mask = cap - 1;
	return 0;
}

void touch_set(struct touch_map *t, int64_t id, int64_t seen_ms)
{
	struct touch_slot *s;

	if (id <= 0)
		return;
	pthread_mutex_lock(&t->lock);
	s = touch_find(t, id);
	if (s != NULL) {
		if (seen_ms > s->seen_ms)
			s->seen_ms = seen_ms;
	} else if ((t->slots == NULL || (t->used + 1) * 2 > t->mask + 1) && touch_grow(t) != 0) {
		/* Losing a last-seen time is harmless; the next contact records it again. */
		log_warnx("store: out of memory recording device contact");
	} else {
		touch_insert(t->slots, t->mask, id, seen_ms);
		t->used++;
	}
	pthread_mutex_unlock(&t->lock);
}

int64_t touch_get(struct touch_map *t, int64_t id)
{
	struct touch_slot *s;
	int64_t v = 0;

	pthread_mutex_lock(&t->lock);
	s = touch_find(t, id);
	if (s != NULL)
		v = s->seen_ms;
	pthread_mutex_unlock(&t->lock);
	return v;
}

void touch_snapshot(struct touch_map *t, struct touch_item **items, size_t *n)
{
	struct touch_item *v = NULL;
	size_t k = 0;

	pthread_mutex_lock(&t->lock);
	if (t->used > 0 && (v = malloc(t->used * sizeof(*v))) != NULL) {
		for (size_t i = 0; i <= t->mask; i++) {
			if (t->slots[i].id != 0) {
				v[k].id = t->slots[i].id;
				v[k].seen_ms = t->slots[i].seen_ms;
				k++;
			}
		}
	}
	pthread_mutex_unlock(&t->lock);
	*items = v;
	*n = k;
}

/* Removes slot i and shifts later members of its probe run back, so lookups never stop early
 * at a hole. */
static void touch_delete(struct touch_map *t, size_t i)
{
	size_t j = i;

	for (;;) {
		size_t k;

		j = (j + 1) & t->mask;
		if (t->slots[j].id == 0)
			break;
		k = touch_hash(t->slots[j].id, t->mask);
		/* Slot j may move to i only if its home k is not cyclically within (i, j]. */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		t->slots[i] = t->slots[j];
		i = j;
	}
	t->slots[i].id = 0;
	t->slots[i].seen_ms = 0;
	t->used--;
}

void touch_forget(struct touch_map *t, const struct touch_item *items, size_t n)
{
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < n; i++) {
		struct touch_slot *s = touch_find(t, items[i].id);
		/* A newer contact arrived during the flush: keep it for the next one. */
		if (s != NULL && s->seen_ms == items[i].seen_ms)
			touch_delete(t, (size_t)(s - t->slots));
	}
	pthread_mutex_unlock(&t->lock);
}
