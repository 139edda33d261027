/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Crash test: clients submit concurrently while the server is killed with SIGKILL. After a
 * restart every message answered 201 must be there, with its sequence number, and every
 * device's sequence must have no gap. The second case runs many more clients than the server
 * has HTTP threads: submits waiting for their group commit hold no thread, so a group grows past
 * the thread count (one fsync for many submits), and a 201 still never precedes its COMMIT. The
 * third does the same for device fetches that return messages (each marks them fetched). The
 * fourth does the submits' case on PostgreSQL (a throw-away cluster, tests/lib/pgtmp.sh): its writer's
 * group commit (store/pg/pg_writer.c) must not answer 201 before COMMIT either. */
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
#include <sys/stat.h>
#include <unistd.h>

#include "testsrv.h"

#define NDEV 4
#define NTHREADS 8
#define MANY_THREADS 48 /* clients of the second case, against a server of 2 HTTP threads */
#define SERVER_THREADS 2
/* The largest group a server whose HTTP threads waited for their commits could not reach. */
#define SHARED_GROUP_MIN (4 * SERVER_THREADS)
#define MAXREC 200000

static struct testsrv ts, ts2, ts3;
static struct testsrv *cur = &ts; /* the server the submitters talk to */
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

	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", cur->provider_key);
	hl = curl_slist_append(hl, auth);
	hl = curl_slist_append(hl, "Expect:");
	for (int i = 0; !stop; i++) {
		int d = (t + i) % NDEV;
		struct http_resp r;
		snprintf(url, sizeof(url), "/v1/devices/%lld/messages", (long long)dev_id[d]);
		snprintf(body, sizeof(body), "t%d-%d", t, i);
		if (http_do(cur, "POST", url, cur->provider_key, NULL, body, strlen(body), &r) != 0) {
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

/* After a restart: every message answered 201 is there with its sequence number, and each
 * device's queue is 1..N without a gap, N covering every 201. */
static void check_after_restart(struct testsrv *t)
{
	for (int i = 0; i < nrecs; i++) {
		char path[64];
		struct http_resp r;
		snprintf(path, sizeof(path), "/v1/messages/%lld", (long long)recs[i].id);
		assert_int_equal(http_do(t, "GET", path, t->provider_key, NULL, NULL, 0, &r), 0);
		assert_int_equal(r.status, 200);
		json_t *j = json_loads(r.body, 0, NULL);
		assert_int_equal(json_integer_value(json_object_get(j, "seq")), recs[i].seq);
		assert_int_equal(json_integer_value(json_object_get(j, "device_id")), dev_id[recs[i].dev]);
		json_decref(j);
		http_resp_free(&r);
	}
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
			assert_int_equal(http_do(t, "GET", path, dev_tok[d], NULL, NULL, 0, &r), 0);
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

static void make_devices(struct testsrv *t)
{
	char msisdn[32];

	for (int d = 0; d < NDEV; d++) {
		snprintf(msisdn, sizeof(msisdn), "+1555010%04d", d);
		assert_int_equal(testsrv_device(t, msisdn, &dev_id[d], dev_tok[d], sizeof(dev_tok[d])), 0);
	}
}

static void test_sigkill_during_submits(void **state)
{
	(void)state;
	pthread_t th[NTHREADS];

	cur = &ts;
	nrecs = 0;
	stop = 0;
	make_devices(&ts);
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
	check_after_restart(&ts);
}

/* Starts MANY_THREADS clients running fn against t and waits until the server's largest group
 * reaches SHARED_GROUP_MIN (1 s at least; generous, 30 s at most: on a loaded machine the first
 * groups may be small). Returns the largest group seen; the clients go on until stop. */
static double clients_until_groups(struct testsrv *t, pthread_t *th, void *(*fn)(void *))
{
	double largest = 0;

	stop = 0;
	for (int i = 0; i < MANY_THREADS; i++)
		pthread_create(&th[i], NULL, fn, (void *)(intptr_t)i);
	for (int polls = 0; polls < 300; polls++) {
		usleep(100000);
		largest = testsrv_metric(t, "smswake_store_largest_group");
		if (largest >= SHARED_GROUP_MIN && polls >= 10)
			break;
	}
	return largest;
}

/* 48 clients, 2 HTTP threads: a submit waiting for its commit must not hold a thread, so groups
 * grow well past 2 operations. A server whose HTTP threads wait for their commits has at most 2
 * submits in a group, plus its own housekeeping writes (expiry, purge): at most 3 seen in 30 s
 * of this load. Then SIGKILL under that load: every 201 is durable. */
static void test_shared_commits_sigkill(void **state)
{
	(void)state;
	pthread_t th[MANY_THREADS];
	double largest = 0, commits = 0, ops = 0;

	assert_int_equal(testsrv_launch(&ts2, "threads = 2\nmax_fetch = 1000\n[scheduler]\nenabled = no\n"), 0);
	cur = &ts2;
	nrecs = 0;
	make_devices(&ts2);
	largest = clients_until_groups(&ts2, th, submitter);
	commits = testsrv_metric(&ts2, "smswake_store_commits_total");
	ops = testsrv_metric(&ts2, "smswake_store_committed_ops_total");
	testsrv_stop(&ts2, SIGKILL);
	stop = 1;
	for (int t = 0; t < MANY_THREADS; t++)
		pthread_join(th[t], NULL);
	print_message("%d messages answered 201 before SIGKILL; %.0f operations in %.0f commits, largest group %.0f "
		      "(HTTP threads: %d)\n",
		      nrecs, ops, commits, largest, SERVER_THREADS);
	assert_true(nrecs > 50);
	assert_true(largest >= SHARED_GROUP_MIN);
	/* On average too, a commit covers more submits than there are threads. */
	assert_true(commits > 0 && ops / commits > SERVER_THREADS);

	assert_int_equal(testsrv_start(&ts2), 0);
	check_after_restart(&ts2);
	testsrv_cleanup(&ts2);
	ts2.dir[0] = '\0';
	cur = &ts;
}

/* Device fetches that return messages: 48 clients fetch the message queued for their device,
 * again and again (a fetched, unacknowledged message is handed over again, and each fetch is a
 * write). A fetch waiting for its commit must not hold one of the 2 HTTP threads either, so
 * groups grow past 2 operations as they do for submits. Every answer is 200, and after a SIGKILL
 * each message answered is still fetched. */
static struct testsrv ts4;
static int64_t fetched_id[NDEV];
static int fetch_ok, fetch_bad;

static void *fetcher(void *arg)
{
	int d = (int)(intptr_t)arg % NDEV;

	while (!stop) {
		struct http_resp r;
		json_t *j;

		if (http_do(&ts4, "GET", "/v1/device/messages?max=1", dev_tok[d], NULL, NULL, 0, &r) != 0) {
			http_resp_free(&r);
			break; /* server gone */
		}
		j = r.status == 200 ? json_loads(r.body, 0, NULL) : NULL;
		pthread_mutex_lock(&mu);
		if (j != NULL && json_integer_value(json_object_get(json_array_get(json_object_get(j, "messages"), 0),
								    "id")) == fetched_id[d])
			fetch_ok++;
		else
			fetch_bad++;
		pthread_mutex_unlock(&mu);
		json_decref(j);
		http_resp_free(&r);
	}
	return NULL;
}

static void test_shared_fetch_commits(void **state)
{
	(void)state;
	pthread_t th[MANY_THREADS];
	double largest = 0;
	char path[64];

	assert_int_equal(testsrv_launch(&ts4, "threads = 2\n[scheduler]\nenabled = no\n"), 0);
	make_devices(&ts4);
	for (int d = 0; d < NDEV; d++) {
		struct http_resp r;
		json_t *j;

		snprintf(path, sizeof(path), "/v1/devices/%lld/messages", (long long)dev_id[d]);
		assert_int_equal(http_do(&ts4, "POST", path, ts4.provider_key, NULL, "m", 1, &r), 0);
		assert_int_equal(r.status, 201);
		j = json_loads(r.body, 0, NULL);
		fetched_id[d] = json_integer_value(json_object_get(j, "id"));
		json_decref(j);
		http_resp_free(&r);
	}
	fetch_ok = fetch_bad = 0;
	largest = clients_until_groups(&ts4, th, fetcher);
	testsrv_stop(&ts4, SIGKILL);
	stop = 1;
	for (int t = 0; t < MANY_THREADS; t++)
		pthread_join(th[t], NULL);
	print_message("%d fetches answered 200 before SIGKILL, largest group %.0f (HTTP threads: %d)\n", fetch_ok,
		      largest, SERVER_THREADS);
	assert_true(fetch_ok > 50);
	/* A fetch cut off by the SIGKILL is no answer; every answer before it was the message. */
	assert_true(fetch_bad <= MANY_THREADS);
	assert_true(largest >= SHARED_GROUP_MIN);

	assert_int_equal(testsrv_start(&ts4), 0);
	for (int d = 0; d < NDEV; d++) {
		struct http_resp r;
		json_t *j;

		snprintf(path, sizeof(path), "/v1/messages/%lld", (long long)fetched_id[d]);
		assert_int_equal(http_do(&ts4, "GET", path, ts4.provider_key, NULL, NULL, 0, &r), 0);
		assert_int_equal(r.status, 200);
		j = json_loads(r.body, 0, NULL);
		assert_string_equal(json_string_value(json_object_get(j, "state")), "fetched");
		json_decref(j);
		http_resp_free(&r);
	}
	testsrv_cleanup(&ts4);
	ts4.dir[0] = '\0';
}

/* The same on PostgreSQL: a server with 2 HTTP threads on a cluster of the test's own, 48
 * clients, SIGKILL; after a restart every 201 is there, and the groups held more submits than the
 * server has threads. */
static char pg_dir[300];

static void pg_stop(void)
{
	char cmd[400];

	if (pg_dir[0] == '\0')
		return;
	snprintf(cmd, sizeof(cmd), "sh tests/lib/pgtmp.sh stop %s/pg", pg_dir);
	if (system(cmd) != 0 || rmdir(pg_dir) != 0)
		fprintf(stderr, "could not remove the test cluster in %s\n", pg_dir);
	pg_dir[0] = '\0';
}

static void test_pg_shared_commits_sigkill(void **state)
{
	(void)state;
	const char *tmp = getenv("TMPDIR");
	char cmd[400], dsn[400], conf[1024];
	pthread_t th[MANY_THREADS];
	double largest = 0, commits = 0, ops = 0;
	FILE *p;

	if (system("sh tests/lib/pgtmp.sh available") != 0) {
		print_message("SKIP test_pg_shared_commits_sigkill: PostgreSQL is not installed\n");
		skip();
	}
	snprintf(pg_dir, sizeof(pg_dir), "%s/smswake-crash-pg.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(pg_dir));
	chmod(pg_dir, 0755); /* the cluster's owner (postgres when run as root) must reach it */
	snprintf(cmd, sizeof(cmd), "sh tests/lib/pgtmp.sh start %s/pg", pg_dir);
	p = popen(cmd, "r");
	assert_non_null(p);
	if (fgets(dsn, sizeof(dsn), p) == NULL)
		dsn[0] = '\0';
	assert_int_equal(pclose(p), 0);
	dsn[strcspn(dsn, "\n")] = '\0';
	snprintf(conf, sizeof(conf),
		 "threads = 2\nmax_fetch = 1000\n[scheduler]\nenabled = no\n[store]\nbackend = postgresql\ndsn = %s\n",
		 dsn);
	assert_int_equal(testsrv_launch(&ts3, conf), 0);
	cur = &ts3;
	nrecs = 0;
	make_devices(&ts3);
	largest = clients_until_groups(&ts3, th, submitter);
	commits = testsrv_metric(&ts3, "smswake_store_commits_total");
	ops = testsrv_metric(&ts3, "smswake_store_committed_ops_total");
	testsrv_stop(&ts3, SIGKILL);
	stop = 1;
	for (int t = 0; t < MANY_THREADS; t++)
		pthread_join(th[t], NULL);
	print_message("PostgreSQL: %d messages answered 201 before SIGKILL; %.0f operations in %.0f commits, "
		      "largest group %.0f (HTTP threads: %d)\n",
		      nrecs, ops, commits, largest, SERVER_THREADS);
	assert_true(nrecs > 50);
	assert_true(largest >= SHARED_GROUP_MIN);
	assert_true(commits > 0 && ops / commits > SERVER_THREADS);

	assert_int_equal(testsrv_start(&ts3), 0);
	check_after_restart(&ts3);
	testsrv_cleanup(&ts3);
	ts3.dir[0] = '\0';
	cur = &ts;
	pg_stop();
}

static int setup(void **state)
{
	(void)state;
	return testsrv_suite_start(&ts, "max_fetch = 1000\n");
}

static int teardown(void **state)
{
	(void)state;
	if (ts2.dir[0]) /* a failed second case */
		testsrv_cleanup(&ts2);
	if (ts3.dir[0]) /* a failed third case */
		testsrv_cleanup(&ts3);
	if (ts4.dir[0]) /* a failed fetch case */
		testsrv_cleanup(&ts4);
	pg_stop();
	return testsrv_suite_stop(&ts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sigkill_during_submits),
		cmocka_unit_test(test_shared_commits_sigkill),
		cmocka_unit_test(test_shared_fetch_commits),
		cmocka_unit_test(test_pg_shared_commits_sigkill),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
