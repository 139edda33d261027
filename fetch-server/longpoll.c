/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Waiters are kept twice under one mutex: in a hash of keys, so that a notify touches only its
 * key's waiters, and in a heap of deadlines, so that the timer thread looks only at the nearest.
 * A submit's notify thus costs the same whether ten or ten thousand devices are waiting
 * (bench/bench-longpoll.sh measures it). */
#include "longpoll.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "util.h"

#define NBUCKETS 4096 /* a power of two */

struct waiter {
	struct waiter *next, *prev; /* in its key's bucket */
	size_t slot;                /* in the deadline heap */
	struct MHD_Connection *conn;
	int64_t key;
	int64_t deadline_ms;
	volatile int *flag;
};

struct bucket {
	struct waiter *head;
	uint64_t notified; /* the generation of the last notify of a key of this bucket */
};

struct longpoll {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	pthread_t timer;
	struct bucket buckets[NBUCKETS];
	struct waiter **heap; /* by deadline, nearest first */
	size_t count, cap;
	int stop;
	uint64_t gen; /* bumped by every notify */
};

static struct bucket *bucket_of(struct longpoll *lp, int64_t key)
{
	uint64_t h = (uint64_t)key * UINT64_C(0x9e3779b97f4a7c15);

	return &lp->buckets[(h >> 32) & (NBUCKETS - 1)];
}

static void heap_set(struct longpoll *lp, size_t i, struct waiter *w)
{
	lp->heap[i] = w;
	w->slot = i;
}

static void heap_up(struct longpoll *lp, size_t i)
{
	struct waiter *w = lp->heap[i];

	while (i > 0 && lp->heap[(i - 1) / 2]->deadline_ms > w->deadline_ms) {
		heap_set(lp, i, lp->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(lp, i, w);
}

static void heap_down(struct longpoll *lp, size_t i)
{
	struct waiter *w = lp->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= lp->count)
			break;
		if (c + 1 < lp->count && lp->heap[c + 1]->deadline_ms < lp->heap[c]->deadline_ms)
			c++;
		if (lp->heap[c]->deadline_ms >= w->deadline_ms)
			break;
		heap_set(lp, i, lp->heap[c]);
		i = c;
	}
	heap_set(lp, i, w);
}

static void heap_remove(struct longpoll *lp, struct waiter *w)
{
	size_t i = w->slot;
	struct waiter *last = lp->heap[--lp->count];

	if (last == w)
		return;
	heap_set(lp, i, last);
	heap_up(lp, i);
	heap_down(lp, last->slot);
}

/* Takes w out of both structures, tells its request why, resumes its connection. */
static void resume_locked(struct longpoll *lp, struct waiter *w, int why)
{
	struct bucket *b = bucket_of(lp, w->key);

	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		b->head = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	heap_remove(lp, w);
	*w->flag = why;
	MHD_resume_connection(w->conn);
	free(w);
}

static void *timer_main(void *arg)
{
	struct longpoll *lp = arg;

	pthread_mutex_lock(&lp->mu);
	while (!lp->stop) {
		int64_t now = util_mono_ms();

		while (lp->count > 0 && lp->heap[0]->deadline_ms <= now)
			resume_locked(lp, lp->heap[0], 2);
		if (lp->count == 0) {
			pthread_cond_wait(&lp->cond, &lp->mu);
			continue;
		}
		/* The condition variable uses the monotonic clock (set in longpoll_new); a new waiter
		 * due sooner than the nearest signals it. */
		int64_t next = lp->heap[0]->deadline_ms;
		struct timespec ts = {.tv_sec = next / 1000, .tv_nsec = (next % 1000) * 1000000};
		pthread_cond_timedwait(&lp->cond, &lp->mu, &ts);
	}
	pthread_mutex_unlock(&lp->mu);
	return NULL;
}

struct longpoll *longpoll_new(void)
{
	struct longpoll *lp = calloc(1, sizeof(*lp));
	pthread_condattr_t ca;

	if (lp == NULL)
		return NULL;
	pthread_mutex_init(&lp->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&lp->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&lp->timer, NULL, timer_main, lp) != 0) {
		pthread_cond_destroy(&lp->cond);
		pthread_mutex_destroy(&lp->mu);
		free(lp);
		return NULL;
	}
	pthread_setname_np(lp->timer, "longpoll");
	return lp;
}

static void stop_locked(struct longpoll *lp)
{
	lp->stop = 1;
	while (lp->count > 0)
		resume_locked(lp, lp->heap[lp->count - 1], 2);
	pthread_cond_signal(&lp->cond);
}

void longpoll_wake_all(struct longpoll *lp)
{
	pthread_mutex_lock(&lp->mu);
	stop_locked(lp);
	pthread_mutex_unlock(&lp->mu);
}

void longpoll_free(struct longpoll *lp)
{
	if (lp == NULL)
		return;
	pthread_mutex_lock(&lp->mu);
	stop_locked(lp);
	pthread_mutex_unlock(&lp->mu);
	pthread_join(lp->timer, NULL);
	pthread_cond_destroy(&lp->cond);
	pthread_mutex_destroy(&lp->mu);
	free(lp->heap);
	free(lp);
}

uint64_t longpoll_generation(struct longpoll *lp)
{
	return __atomic_load_n(&lp->gen, __ATOMIC_ACQUIRE);
}

int longpoll_wait(struct longpoll *lp, struct MHD_Connection *conn, int64_t key, int64_t deadline_ms, uint64_t gen,
		  volatile int *flag)
{
	struct waiter *w = calloc(1, sizeof(*w));
	struct bucket *b;

	if (w == NULL)
		return -1;
	w->conn = conn;
	w->key = key;
	w->deadline_ms = deadline_ms;
	w->flag = flag;
	*flag = 0;
	pthread_mutex_lock(&lp->mu);
	if (lp->stop) {
		pthread_mutex_unlock(&lp->mu);
		free(w);
		return -1;
	}
	b = bucket_of(lp, key);
	if (b->notified > gen) {
		/* This key (or one sharing its bucket) was notified since the caller looked: let it
		 * look again. Other keys' notifies do not matter. */
		pthread_mutex_unlock(&lp->mu);
		free(w);
		return 1;
	}
	if (lp->count == lp->cap) {
		size_t cap = lp->cap ? lp->cap * 2 : 64;
		struct waiter **h = realloc(lp->heap, cap * sizeof(*h));

		if (h == NULL) {
			pthread_mutex_unlock(&lp->mu);
			free(w);
			return -1;
		}
		lp->heap = h;
		lp->cap = cap;
	}
	/* Suspend under the lock so a notify cannot resume a connection not yet suspended. */
	MHD_suspend_connection(conn);
	w->next = b->head;
	if (b->head != NULL)
		b->head->prev = w;
	b->head = w;
	heap_set(lp, lp->count++, w);
	heap_up(lp, w->slot);
	if (w->slot == 0)
		pthread_cond_signal(&lp->cond); /* the timer's nearest deadline changed */
	pthread_mutex_unlock(&lp->mu);
	return 0;
}

void longpoll_notify(struct longpoll *lp, int64_t key)
{
	struct bucket *b;
	struct waiter *w, *next;

	pthread_mutex_lock(&lp->mu);
	b = bucket_of(lp, key);
	b->notified = __atomic_add_fetch(&lp->gen, 1, __ATOMIC_RELEASE);
	for (w = b->head; w != NULL; w = next) {
		next = w->next;
		if (w->key == key)
			resume_locked(lp, w, 1);
	}
	pthread_mutex_unlock(&lp->mu);
}

int longpoll_count(struct longpoll *lp)
{
	pthread_mutex_lock(&lp->mu);
	int n = (int)lp->count;
	pthread_mutex_unlock(&lp->mu);
	return n;
}
