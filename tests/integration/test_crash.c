/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Crash test: clients submit concurrently while the server is killed with SIGKILL. After a
 * restart every message answered 201 must be there, with its sequence number, and every
 * device's sequence must have no gap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testsrv.h"

#define NDEV 4
#define NTHREADS 8
#define MAXREC 200000

static struct testsrv ts;
static int64_t dev_id[NDEV];
static char dev_tok[NDEV][128];

struct rec {
	int dev;
	int64_t id;
	int64_t seq;
};
static struct rec recs[MAXREC];
static int nrecs;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static volatile int stop;

static void *submitter(void *arg)
{
	int t = (int)(intptr_t)arg;
	char url[128], auth[200], body[64];
	struct curl_slist *hl = NULL;

	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", ts.provider_key);
	hl = curl_slist_append(hl, auth);
	hl = curl_slist_append(hl, "Expect:");
	for (int i = 0; !stop; i++) {
		int d = (t + i) % NDEV;
		struct http_resp r;
		snprintf(url, sizeof(url), "/v1/devices/%lld/messages", (long long)dev_id[d]);
		snprintf(body, sizeof(body), "t%d-%d", t, i);
		if (http_do(&ts, "POST", url, ts.provider_key, NULL, body, strlen(body), &r) != 0) {
			http_resp_free(&r);
			break; /* server gone */
		}
		if (r.status == 201) {
			json_t *j = json_loads(r.body, 0, NULL);
			pthread_mutex_lock(&mu);
			if (j && nrecs < MAXREC)
				recs[nrecs++] = (struct rec){d, json_integer_value(json_object_get(j, "id")),
							     json_integer_value(json_object_get(j, "seq"))};
			pthread_mutex_unlock(&mu);
			json_decref(j);
		}
		http_resp_free(&r);
	}
	curl_slist_free_all(hl);
	return NULL;
}

static void test_sigkill_during_submits(void **state)
{
	(void)state;
	pthread_t th[NTHREADS];
	char msisdn[32];

	for (int d = 0; d < NDEV; d++) {
		snprintf(msisdn, sizeof(msisdn), "+1555010%04d", d);
		assert_int_equal(testsrv_device(&ts, msisdn, &dev_id[d], dev_tok[d], sizeof(dev_tok[d])), 0);
	}
	for (int t = 0; t < NTHREADS; t++)
		pthread_create(&th[t], NULL, submitter, (void *)(intptr_t)t);
	usleep(1500000);
	testsrv_stop(&ts, SIGKILL);
	stop = 1;
	for (int t = 0; t < NTHREADS; t++)
		pthread_join(th[t], NULL);
	print_message("%d messages answered 201 before SIGKILL\n", nrecs);
	assert_true(nrecs > 50);

	assert_int_equal(testsrv_start(&ts), 0);
	/* Each acknowledged submit is present with its sequence number. */
	for (int i = 0; i < nrecs; i++) {
		char path[64];
		struct http_resp r;
		snprintf(path, sizeof(path), "/v1/messages/%lld", (long long)recs[i].id);
		assert_int_equal(http_do(&ts, "GET", path, ts.provider_key, NULL, NULL, 0, &r), 0);
		assert_int_equal(r.status, 200);
		json_t *j = json_loads(r.body, 0, NULL);
		assert_int_equal(json_integer_value(json_object_get(j, "seq")), recs[i].seq);
		assert_int_equal(json_integer_value(json_object_get(j, "device_id")), dev_id[recs[i].dev]);
		json_decref(j);
		http_resp_free(&r);
	}
	/* Each device's queue is 1..N without a gap, oldest first, and N covers every 201. */
	for (int d = 0; d < NDEV; d++) {
		int64_t want = 1, maxrec = 0;
		int more = 1;
		for (int i = 0; i < nrecs; i++)
			if (recs[i].dev == d && recs[i].seq > maxrec)
				maxrec = recs[i].seq;
		while (more) {
			char path[96];
			struct http_resp r;
			snprintf(path, sizeof(path), "/v1/device/messages?after=%lld&max=1000", (long long)(want - 1));
			assert_int_equal(http_do(&ts, "GET", path, dev_tok[d], NULL, NULL, 0, &r), 0);
			if (r.status == 204) {
				http_resp_free(&r);
				break;
			}
			assert_int_equal(r.status, 200);
			json_t *j = json_loads(r.body, 0, NULL), *m;
			size_t k;
			json_array_foreach (json_object_get(j, "messages"), k, m) {
				assert_int_equal(json_integer_value(json_object_get(m, "seq")), want);
				want++;
			}
			more = json_is_true(json_object_get(j, "more"));
			json_decref(j);
			http_resp_free(&r);
		}
		assert_true(want - 1 >= maxrec);
	}
}

static int setup(void **state)
{
	(void)state;
	return testsrv_suite_start(&ts, "max_fetch = 1000\n");
}

static int teardown(void **state)
{
	(void)state;
	return testsrv_suite_stop(&ts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sigkill_during_submits),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
