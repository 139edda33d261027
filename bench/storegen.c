/* SPDX-License-Identifier: GPL-2.0-or-later */
/* storegen: fills a store for bench/bench-scale.sh through the store's own write verbs (what the
 * server would write, nothing by hand), then prints the query plans of the hot queries on it.
 *
 * usage: storegen DATABASE PROVIDER_ID DEVICES MESSAGES
 *
 * Adds DEVICES devices to the provider, then MESSAGES messages of 32 octets spread over them
 * round-robin (TTL 7 days), queued asynchronously in batches so that groups commit as they would
 * under load. Prints "generated D devices, M messages in S s", then one "plan NAME: ..." line per
 * hot query (EXPLAIN QUERY PLAN, steps joined by " | "). */
#include <sqlite3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sqlite/store_int.h" /* the SQL text of the hot queries (plans) */

#define BATCH 4096

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static long done, failed;

static void on_done(void *arg, int rc)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	done++;
	if (rc != STORE_OK)
		failed++;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
}

static void wait_for(long n)
{
	pthread_mutex_lock(&lock);
	while (done < n)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_long(const char *s, long *out)
{
	char *end;

	*out = strtol(s, &end, 10);
	return *end != '\0' || *out < 0 ? -1 : 0;
}

static void plan(sqlite3 *db, const char *name, const char *sql)
{
	char q[4096];
	sqlite3_stmt *s;
	int first = 1;

	if ((size_t)snprintf(q, sizeof(q), "EXPLAIN QUERY PLAN %s", sql) >= sizeof(q) ||
	    sqlite3_prepare_v2(db, q, -1, &s, NULL) != SQLITE_OK) {
		printf("plan %s: cannot explain (%s)\n", name, sqlite3_errmsg(db));
		return;
	}
	printf("plan %s: ", name);
	while (sqlite3_step(s) == SQLITE_ROW) {
		printf("%s%s", first ? "" : " | ", (const char *)sqlite3_column_text(s, 3));
		first = 0;
	}
	printf("\n");
	sqlite3_finalize(s);
}

int main(int argc, char **argv)
{
	static struct store_device devs[BATCH];
	static struct store_message_in ins[BATCH];
	static struct store_message outs[BATCH];
	static int replayed[BATCH];
	static uint8_t hashes[BATCH][STORE_HASH_LEN];
	static const char body[] = "meter reading request 0123456789";
	struct store_options so = {0};
	struct store *st;
	const char *err = NULL;
	long prov, ndev, nmsg, queued = 0;
	int64_t first_id = 0, now = (int64_t)time(NULL) * 1000;
	double t0;
	sqlite3 *db;

	if (argc != 5 || parse_long(argv[2], &prov) != 0 || parse_long(argv[3], &ndev) != 0 ||
	    parse_long(argv[4], &nmsg) != 0 || prov <= 0 || (nmsg > 0 && ndev == 0)) {
		fprintf(stderr, "usage: storegen DATABASE PROVIDER_ID DEVICES MESSAGES\n");
		return 2;
	}
	so.path = argv[1];
	so.group_max = BATCH; /* what arrives meanwhile commits together, as under load */
	if (store_open(&so, &st, &err) != STORE_OK) {
		fprintf(stderr, "storegen: cannot open %s: %s\n", argv[1], err ? err : "?");
		return 1;
	}
	t0 = now_s();
	/* Devices: the token hash only has to be unique (nobody signs in with these). */
	for (long i = 0; i < ndev; i++) {
		struct store_device *d = &devs[i % BATCH];

		if (i % BATCH == 0)
			wait_for(queued);
		memset(d, 0, sizeof(*d));
		d->provider_id = prov;
		snprintf(d->msisdn, sizeof(d->msisdn), "+1%03d%08d", 200 + (int)(i / 100000000 % 800),
			 (int)(i % 100000000));
		d->sms_format = SMS_FORMAT_BINARY;
		d->poll_interval_s = 900;
		d->quiet_start_min = d->quiet_end_min = -1;
		/* Read when the op runs, so one per slot of the batch. */
		memset(hashes[i % BATCH], 0, STORE_HASH_LEN);
		memcpy(hashes[i % BATCH], "storegen", 8);
		memcpy(hashes[i % BATCH] + 8, &i, sizeof(i));
		if (store_device_add_async(st, d, hashes[i % BATCH], now, on_done, NULL) != STORE_OK) {
			fprintf(stderr, "storegen: cannot queue a device\n");
			return 1;
		}
		queued++;
		if (i % BATCH == BATCH - 1 || i == ndev - 1) {
			wait_for(queued);
			if (first_id == 0)
				first_id = devs[0].id;
		}
	}
	for (long i = 0; i < nmsg; i++) {
		struct store_message_in *in = &ins[i % BATCH];

		if (i % BATCH == 0)
			wait_for(queued);
		memset(in, 0, sizeof(*in));
		in->device_id = first_id + i % ndev;
		in->urgency = URG_NORMAL;
		in->ttl_s = 7 * 86400;
		in->content_type = "text/plain";
		in->body = (const uint8_t *)body;
		in->body_len = sizeof(body) - 1;
		if (store_message_put_async(st, prov, in, now, &outs[i % BATCH], &replayed[i % BATCH], on_done, NULL) !=
		    STORE_OK) {
			fprintf(stderr, "storegen: cannot queue a message\n");
			return 1;
		}
		queued++;
	}
	wait_for(queued);
	printf("generated %ld devices, %ld messages in %.1f s (%ld failed)\n", ndev, nmsg, now_s() - t0, failed);
	store_close(st);
	if (failed > 0)
		return 1;

	if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		fprintf(stderr, "storegen: cannot reopen %s\n", argv[1]);
		return 1;
	}
	plan(db, "device token (ack, push keys)", store_rsql[RS_DEVICE_AUTH]);
	plan(db, "device poll by token (fetch, empty poll: token, device and queue in one read)",
	     store_rsql[RS_DEVICE_POLL_TOKEN]);
	plan(db, "device poll (a long-poll woken)", store_rsql[RS_DEVICE_POLL]);
	plan(db, "fetch page", store_wsql[WS_FETCH_SELECT]);
	plan(db, "fetch mark", store_wsql[WS_MSG_FETCH]);
	plan(db, "submit (next sequence number)", store_wsql[WS_DEVICE_NEXT_SEQ]);
	plan(db, "submit (the number taken)", store_wsql[WS_DEVICE_LAST_SEQ]);
	plan(db, "ack", store_wsql[WS_MSG_ACK]);
	sqlite3_close(db);
	return 0;
}
