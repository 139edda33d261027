/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Waiters live in one list under a mutex; a timer thread sleeps until the nearest deadline.
 * Devices are many but simultaneous long-polls are bounded by the connection limit, so a list
 * scanned on notify is enough; a hash by key would be the next step. */
#include "longpoll.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "util.h"

struct waiter {
	struct waiter *next;
	struct MHD_Connection *conn;
	int64_t key;
	int64_t deadline_ms;
	volatile int *flag;
};

struct longpoll {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	pthread_t timer;
	struct waiter *head;
	int count;
	int stop;
	uint64_t gen; /* bumped by every notify */
};

static void resume_locked(struct longpoll *lp, struct waiter **pp, int why)
{
	struct waiter *w = *pp;
	*pp = w->next;
	*w->flag = why;
	MHD_resume_connection(w->conn);
	lp->count--;
	free(w);
}

static void *timer_main(void *arg)
{
	struct longpoll *lp = arg;

	pthread_mutex_lock(&lp->mu);
	while (!lp->stop) {
		int64_t now = util_mono_ms(), next = now + 1000;
		struct waiter **pp = &lp->head;
		while (*pp) {
			if ((*pp)->deadline_ms <= now) {
				resume_locked(lp, pp, 2);
				continue;
			}
			if ((*pp)->deadline_ms < next)
				next = (*pp)->deadline_ms;
			pp = &(*pp)->next;
		}
		/* The condition variable uses the monotonic clock (set in longpoll_new). */
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
	return lp;
}

void longpoll_wake_all(struct longpoll *lp)
{
	pthread_mutex_lock(&lp->mu);
	lp->stop = 1;
	while (lp->head)
		resume_locked(lp, &lp->head, 2);
	pthread_mutex_unlock(&lp->mu);
}

void longpoll_free(struct longpoll *lp)
{
	if (lp == NULL)
		return;
	pthread_mutex_lock(&lp->mu);
	lp->stop = 1;
	while (lp->head)
		resume_locked(lp, &lp->head, 2);
	pthread_cond_signal(&lp->cond);
	pthread_mutex_unlock(&lp->mu);
	pthread_join(lp->timer, NULL);
	pthread_cond_destroy(&lp->cond);
	pthread_mutex_destroy(&lp->mu);
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
	if (lp->gen != gen) {
		/* Something was notified since the caller looked: let it look again. */
		pthread_mutex_unlock(&lp->mu);
		free(w);
		return 1;
	}
	/* Suspend under the lock so a notify cannot resume a connection not yet suspended. */
	MHD_suspend_connection(conn);
	w->next = lp->head;
	lp->head = w;
	lp->count++;
	pthread_cond_signal(&lp->cond);
	pthread_mutex_unlock(&lp->mu);
	return 0;
}

void longpoll_notify(struct longpoll *lp, int64_t key)
{
	pthread_mutex_lock(&lp->mu);
	__atomic_add_fetch(&lp->gen, 1, __ATOMIC_RELEASE);
	struct waiter **pp = &lp->head;
	while (*pp) {
		if ((*pp)->key == key)
			resume_locked(lp, pp, 1);
		else
			pp = &(*pp)->next;
	}
	pthread_mutex_unlock(&lp->mu);
}

int longpoll_count(struct longpoll *lp)
{
	pthread_mutex_lock(&lp->mu);
	int n = lp->count;
	pthread_mutex_unlock(&lp->mu);
	return n;
}
