/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The long-poll registry (fetch-server/longpoll.c) on its own: a notify resumes its key's
 * waiters and no other, another key's notify does not send a caller to look again, deadlines
 * end waits in their order (a nearer one added later included), and every waiter is resumed
 * exactly once, with many waiting. libmicrohttpd's suspend and resume are replaced here by
 * functions that count, on connections that are only addresses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <microhttpd.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "longpoll.h"
#include "util.h"

#define MAXW 20000

static char conns[MAXW];
static volatile int flags[MAXW];
static int suspended[MAXW], resumed[MAXW];
static int64_t resumed_at[MAXW];
static int order[MAXW], norder;
static pthread_mutex_t fake_mu = PTHREAD_MUTEX_INITIALIZER;

static int idx(struct MHD_Connection *c)
{
	return (int)((char *)c - conns);
}

void MHD_suspend_connection(struct MHD_Connection *c)
{
	pthread_mutex_lock(&fake_mu);
	suspended[idx(c)]++;
	pthread_mutex_unlock(&fake_mu);
}

void MHD_resume_connection(struct MHD_Connection *c)
{
	pthread_mutex_lock(&fake_mu);
	resumed[idx(c)]++;
	resumed_at[idx(c)] = util_mono_ms();
	order[norder++] = idx(c);
	pthread_mutex_unlock(&fake_mu);
}

static struct MHD_Connection *conn(int i)
{
	return (struct MHD_Connection *)&conns[i];
}

static int reset(void **state)
{
	(void)state;
	memset(suspended, 0, sizeof(suspended));
	memset(resumed, 0, sizeof(resumed));
	memset(resumed_at, 0, sizeof(resumed_at));
	for (int i = 0; i < MAXW; i++)
		flags[i] = -1;
	norder = 0;
	return 0;
}

static int resumed_count(int i)
{
	pthread_mutex_lock(&fake_mu);
	int n = resumed[i];
	pthread_mutex_unlock(&fake_mu);
	return n;
}

/* Waits up to ms for connection i to be resumed. */
static int wait_resumed(int i, int ms)
{
	for (int t = 0; t < ms && resumed_count(i) == 0; t += 5)
		usleep(5000);
	return resumed_count(i);
}

static int wait_on(struct longpoll *lp, int i, int64_t key, int64_t deadline)
{
	return longpoll_wait(lp, conn(i), key, deadline, longpoll_generation(lp), &flags[i]);
}

static void test_notify_resumes_its_key_only(void **state)
{
	struct longpoll *lp = longpoll_new();
	int64_t far = util_mono_ms() + 60000;
	(void)state;

	assert_non_null(lp);
	for (int i = 0; i < 200; i++)
		assert_int_equal(wait_on(lp, i, i / 2, far), 0); /* two waiters a key */
	assert_int_equal(longpoll_count(lp), 200);
	longpoll_notify(lp, 50);
	longpoll_notify(lp, 1000); /* nobody waits for it */
	for (int i = 0; i < 200; i++) {
		assert_int_equal(suspended[i], 1);
		assert_int_equal(resumed[i], i / 2 == 50 ? 1 : 0);
		assert_int_equal(flags[i], i / 2 == 50 ? 1 : 0);
	}
	assert_int_equal(longpoll_count(lp), 198);
	longpoll_notify(lp, 50);
	assert_int_equal(resumed[100] + resumed[101], 2);
	longpoll_free(lp);
	for (int i = 0; i < 200; i++) {
		assert_int_equal(resumed[i], 1);
		assert_int_equal(flags[i], i / 2 == 50 ? 1 : 2);
	}
}

/* A caller reads the generation, looks for work, then waits: a notify of its own key in between
 * sends it to look again; with thousands of devices, other keys' notifies must not. */
static void test_generation_is_per_key(void **state)
{
	struct longpoll *lp = longpoll_new();
	int64_t far = util_mono_ms() + 60000;
	uint64_t gen;
	(void)state;

	assert_non_null(lp);
	gen = longpoll_generation(lp);
	longpoll_notify(lp, 7);
	assert_int_equal(longpoll_wait(lp, conn(0), 8, far, gen, &flags[0]), 0);
	assert_int_equal(suspended[0], 1);
	assert_int_equal(longpoll_wait(lp, conn(1), 7, far, gen, &flags[1]), 1);
	assert_int_equal(suspended[1], 0);
	assert_int_equal(longpoll_count(lp), 1);
	/* Read after the notify, the generation lets it wait. */
	assert_int_equal(longpoll_wait(lp, conn(1), 7, far, longpoll_generation(lp), &flags[1]), 0);
	assert_int_equal(longpoll_count(lp), 2);
	longpoll_notify(lp, 7);
	assert_int_equal(resumed[1], 1);
	assert_int_equal(resumed[0], 0);
	longpoll_free(lp);
}

static void test_deadlines_in_order(void **state)
{
	struct longpoll *lp = longpoll_new();
	int64_t now = util_mono_ms(), d[4] = {now + 3000, now + 2000, now + 2500, now + 30000};
	(void)state;

	assert_non_null(lp);
	for (int i = 0; i < 4; i++)
		assert_int_equal(wait_on(lp, i, 100 + i, d[i]), 0);
	/* Added last, due first, while the timer sleeps until the 2 s one: it must wake. (The margins
	 * leave a loaded machine a second and more to stall.) */
	usleep(100000);
	now = util_mono_ms();
	assert_int_equal(wait_on(lp, 4, 200, now + 50), 0);
	assert_int_equal(wait_resumed(0, 20000), 1);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(resumed[i], 1);
		assert_int_equal(flags[i], 2);
		assert_true(resumed_at[i] >= d[i]);
	}
	assert_int_equal(resumed[4], 1);
	assert_int_equal(flags[4], 2);
	assert_true(resumed_at[4] >= now + 50 && resumed_at[4] < d[1]);
	assert_int_equal(norder, 4);
	assert_int_equal(order[0], 4);
	assert_int_equal(order[1], 1);
	assert_int_equal(order[2], 2);
	assert_int_equal(order[3], 0);
	assert_int_equal(resumed[3], 0);
	assert_int_equal(longpoll_count(lp), 1);
	longpoll_free(lp);
	assert_int_equal(resumed[3], 1);
}

/* A notify takes a waiter out of the middle of the deadline heap: the waiter moved into its place
 * may belong nearer the top. This order of deadlines (found by search) ends the waits out of
 * order when it is only moved down. */
static void test_removal_keeps_deadline_order(void **state)
{
	static const int rank[] = {16, 1, 10, 19, 8, 6, 3};
	struct longpoll *lp = longpoll_new();
	int64_t now = util_mono_ms();
	int n = (int)(sizeof(rank) / sizeof(rank[0]));
	(void)state;

	assert_non_null(lp);
	for (int i = 0; i < n; i++)
		assert_int_equal(wait_on(lp, i, 300 + i, now + 1000 + 30 * rank[i]), 0);
	longpoll_notify(lp, 303); /* rank 19 */
	for (int i = 0; i < n; i++)
		assert_int_equal(wait_resumed(i, 20000), 1);
	assert_int_equal(norder, n);
	assert_int_equal(order[0], 3);
	for (int j = 2; j < norder; j++)
		assert_true(rank[order[j]] > rank[order[j - 1]]);
	longpoll_free(lp);
}

/* Many waiters on many keys, some timing out while others are notified: each is resumed once,
 * for the right reason, never before its deadline. */
static void test_many_waiters(void **state)
{
	struct longpoll *lp = longpoll_new();
	int64_t now = util_mono_ms();
	static int64_t deadline[MAXW];
	int nkeys = 5000;
	(void)state;

	assert_non_null(lp);
	srand(12345);
	for (int i = 0; i < MAXW; i++) {
		/* A third end soon (1 to 1.3 s: all are waiting by then, even on a loaded machine), the
		 * rest wait for a minute. */
		deadline[i] = i % 3 == 0 ? now + 1000 + rand() % 300 : now + 60000 + rand() % 1000;
		assert_int_equal(wait_on(lp, i, i % nkeys, deadline[i]), 0);
	}
	assert_int_equal(longpoll_count(lp), MAXW);
	for (int k = 0; k < nkeys; k += 2)
		longpoll_notify(lp, k);
	/* Keys are i % nkeys: the even ones were notified. */
	for (int i = 0; i < MAXW; i++) {
		if ((i % nkeys) % 2 != 0 && i % 3 == 0)
			assert_int_equal(wait_resumed(i, 20000), 1);
	}
	for (int i = 0; i < MAXW; i++) {
		int notified = (i % nkeys) % 2 == 0;

		pthread_mutex_lock(&fake_mu);
		int n = resumed[i], f = flags[i];
		int64_t at = resumed_at[i];
		pthread_mutex_unlock(&fake_mu);
		if (notified) {
			/* Notified, unless its deadline came first. */
			assert_int_equal(n, 1);
			if (f == 2)
				assert_true(i % 3 == 0 && at >= deadline[i]);
			else
				assert_int_equal(f, 1);
		} else if (i % 3 == 0) {
			assert_int_equal(n, 1);
			assert_int_equal(f, 2);
			assert_true(at >= deadline[i]);
		} else {
			assert_int_equal(n, 0);
		}
	}
	/* The timer ended waits nearest deadline first. */
	pthread_mutex_lock(&fake_mu);
	for (int j = 0, prev = -1; j < norder; j++) {
		if (flags[order[j]] != 2)
			continue;
		if (prev >= 0)
			assert_true(deadline[order[j]] >= deadline[prev]);
		prev = order[j];
	}
	pthread_mutex_unlock(&fake_mu);
	longpoll_free(lp);
	for (int i = 0; i < MAXW; i++) {
		assert_int_equal(suspended[i], 1);
		assert_int_equal(resumed[i], 1);
	}
}

static void test_stopped_refuses(void **state)
{
	struct longpoll *lp = longpoll_new();
	int64_t far = util_mono_ms() + 60000;
	(void)state;

	assert_non_null(lp);
	assert_int_equal(wait_on(lp, 0, 1, far), 0);
	assert_int_equal(wait_on(lp, 1, 2, far), 0);
	longpoll_wake_all(lp);
	assert_int_equal(resumed[0], 1);
	assert_int_equal(resumed[1], 1);
	assert_int_equal(flags[0], 2);
	assert_int_equal(longpoll_count(lp), 0);
	assert_int_equal(wait_on(lp, 2, 1, far), -1);
	assert_int_equal(suspended[2], 0);
	longpoll_free(lp);
	assert_int_equal(resumed[0], 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_notify_resumes_its_key_only, reset),
		cmocka_unit_test_setup(test_generation_is_per_key, reset),
		cmocka_unit_test_setup(test_deadlines_in_order, reset),
		cmocka_unit_test_setup(test_removal_keeps_deadline_order, reset),
		cmocka_unit_test_setup(test_many_waiters, reset),
		cmocka_unit_test_setup(test_stopped_refuses, reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
