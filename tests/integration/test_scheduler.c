/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The wake scheduler inside a real server, seen through the gateway API: which submits produce
 * wake jobs, how many, with what payload, and what the provider sees in the events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "encode.h"
#include "testsrv.h"
#include "wake.h"

static struct testsrv ts;

static json_t *call(const char *method, const char *path, const char *tok, const char *body, const char *const *hdrs,
		    long *status)
{
	struct http_resp r;
	json_t *j;
	assert_int_equal(http_do(&ts, method, path, tok, hdrs, body, body ? strlen(body) : 0, &r), 0);
	*status = r.status;
	j = json_loadb(r.body, r.body_len, 0, NULL);
	http_resp_free(&r);
	return j;
}

struct dev {
	int64_t id;
	char token[128];
	uint8_t key[WAKE_KEY_LEN];
	int port;
};

static void make_device(const char *msisdn, const char *extra, struct dev *d)
{
	char body[256];
	long st;
	json_t *j;

	snprintf(body, sizeof(body), "{\"msisdn\":\"%s\",\"poll_interval\":3600%s}", msisdn, extra ? extra : "");
	j = call("POST", "/v1/devices", ts.provider_key, body,
		 (const char *const[]){"Content-Type: application/json", NULL}, &st);
	assert_int_equal(st, 201);
	d->id = json_integer_value(json_object_get(j, "id"));
	snprintf(d->token, sizeof(d->token), "%s", json_string_value(json_object_get(j, "token")));
	const char *k = json_string_value(json_object_get(j, "wake_key"));
	assert_int_equal(enc_unb64(k, strlen(k), d->key, sizeof(d->key), 0), WAKE_KEY_LEN);
	d->port = (int)json_integer_value(json_object_get(j, "port"));
	json_decref(j);
}

static int64_t submit_ttl(const struct dev *d, const char *urgency, const char *ttl)
{
	char path[64], hdr[64], ttlh[64];
	long st;
	snprintf(path, sizeof(path), "/v1/devices/%lld/messages", (long long)d->id);
	snprintf(hdr, sizeof(hdr), "Urgency: %s", urgency);
	snprintf(ttlh, sizeof(ttlh), "TTL: %s", ttl ? ttl : "3600");
	json_t *j = call("POST", path, ts.provider_key, "payload", (const char *const[]){hdr, ttlh, NULL}, &st);
	assert_int_equal(st, 201);
	int64_t id = json_integer_value(json_object_get(j, "id"));
	json_decref(j);
	return id;
}

static int64_t submit(const struct dev *d, const char *urgency)
{
	return submit_ttl(d, urgency, NULL);
}

/* Leases for up to wait_s seconds and returns the jobs array (owned by the caller). */
static json_t *lease(int wait_s)
{
	char body[64];
	long st;
	snprintf(body, sizeof(body), "{\"max\":64,\"wait\":%d}", wait_s);
	json_t *j = call("POST", "/v1/gateway/lease", ts.gateway_key, body,
			 (const char *const[]){"Content-Type: application/json", NULL}, &st);
	assert_int_equal(st, 200);
	json_t *jobs = json_incref(json_object_get(j, "jobs"));
	json_decref(j);
	return jobs;
}

static int64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* A report as a gateway sends it: at_ms > 0 is when it happened there, 0 leaves it out (as an
 * older gateway does). */
static void report_at(int64_t job, const char *outcome, int64_t at_ms)
{
	char body[160];
	long st;
	if (at_ms > 0)
		snprintf(body, sizeof(body), "{\"job\":%lld,\"outcome\":\"%s\",\"reference\":1,\"at_ms\":%lld}",
			 (long long)job, outcome, (long long)at_ms);
	else
		snprintf(body, sizeof(body), "{\"job\":%lld,\"outcome\":\"%s\",\"reference\":1}", (long long)job,
			 outcome);
	json_decref(call("POST", "/v1/gateway/report", ts.gateway_key, body,
			 (const char *const[]){"Content-Type: application/json", NULL}, &st));
	assert_int_equal(st, 204);
}

static void report(int64_t job, const char *outcome)
{
	char body[128];
	long st;
	snprintf(body, sizeof(body), "{\"job\":%lld,\"outcome\":\"%s\",\"reference\":1}", (long long)job, outcome);
	json_decref(call("POST", "/v1/gateway/report", ts.gateway_key, body,
			 (const char *const[]){"Content-Type: application/json", NULL}, &st));
	assert_int_equal(st, 204);
}

static int count_for(json_t *jobs, const char *msisdn)
{
	size_t i;
	json_t *o;
	int n = 0;
	json_array_foreach (jobs, i, o)
		if (strcmp(json_string_value(json_object_get(o, "msisdn")), msisdn) == 0)
			n++;
	return n;
}

/* Leases for about `seconds`, reports every job submitted (other tests' devices keep getting
 * retries), and counts the jobs for one number. */
static int collect(const char *msisdn, int seconds, int stop_at_first)
{
	time_t end = time(NULL) + seconds;
	int n = 0;
	size_t i;
	json_t *o;
	while (time(NULL) < end) {
		json_t *jobs = lease(1);
		n += count_for(jobs, msisdn);
		json_array_foreach (jobs, i, o)
			report(json_integer_value(json_object_get(o, "job")), "submitted");
		json_decref(jobs);
		if (stop_at_first && n > 0)
			break;
	}
	return n;
}

static void test_high_message_one_verified_wakeup(void **state)
{
	(void)state;
	struct dev d;
	struct wake_msg m;
	uint8_t payload[64];
	json_t *jobs, *job;

	make_device("+15550300001", NULL, &d);
	submit(&d, "high");
	jobs = lease(5);
	assert_int_equal(json_array_size(jobs), 1);
	job = json_array_get(jobs, 0);
	assert_string_equal(json_string_value(json_object_get(job, "msisdn")), "+15550300001");
	assert_string_equal(json_string_value(json_object_get(job, "format")), "binary");
	const char *hex = json_string_value(json_object_get(job, "payload"));
	long n = enc_unhex(hex, strlen(hex), payload, sizeof(payload));
	assert_int_equal(n, WAKE_PAYLOAD_LEN);
	/* The payload verifies with the key the device got at registration... */
	assert_int_equal(wake_decode(d.key, 1, (uint16_t)d.port, payload, (size_t)n, &m), WAKE_OK);
	assert_int_equal(m.counter, 1);
	assert_true(m.flags & WAKE_F_URGENT);
	assert_int_equal(m.pending, 1);
	assert_true(llabs((long long)m.time - (long long)time(NULL)) < 30);
	/* ...and not with another device's key, nor for another port. */
	struct dev other;
	make_device("+15550300002", NULL, &other);
	assert_int_not_equal(wake_decode(other.key, 1, (uint16_t)d.port, payload, (size_t)n, &m), WAKE_OK);
	assert_int_not_equal(wake_decode(d.key, 1, (uint16_t)(d.port + 1), payload, (size_t)n, &m), WAKE_OK);
	/* Validity never longer than the configured maximum (1 h by default). */
	assert_true(json_integer_value(json_object_get(job, "validity")) <= 3600);
	report(json_integer_value(json_object_get(job, "job")), "submitted");
	json_decref(jobs);
	/* In flight (grace is 1 s here): no second wakeup for a second message. */
	submit(&d, "high");
	jobs = lease(0);
	assert_int_equal(count_for(jobs, "+15550300001"), 0);
	json_decref(jobs);
}

static void test_burst_shares_one_sms(void **state)
{
	(void)state;
	struct dev d;
	json_t *j;
	int total = 0;
	long st;

	make_device("+15550300010", NULL, &d);
	for (int i = 0; i < 50; i++)
		submit(&d, "normal");
	/* batch_window is 1 s here: one job for the whole burst... */
	total = collect("+15550300010", 4, 1);
	assert_int_equal(total, 1);
	/* ...the device answers it with one fetch of all 50, and no other SMS follows. */
	j = call("GET", "/v1/device/messages", d.token, NULL, NULL, &st);
	assert_int_equal(st, 200);
	assert_int_equal(json_array_size(json_object_get(j, "messages")), 50);
	json_decref(j);
	total += collect("+15550300010", 4, 0);
	assert_int_equal(total, 1);
}

static void test_low_sends_no_sms(void **state)
{
	(void)state;
	struct dev d;
	char path[64];
	long st;

	make_device("+15550300020", NULL, &d);
	int64_t mid = submit(&d, "low");
	submit(&d, "very-low");
	assert_int_equal(collect("+15550300020", 3, 0), 0);
	/* The decision is visible in the message's events. */
	snprintf(path, sizeof(path), "/v1/messages/%lld", (long long)mid);
	json_t *j = call("GET", path, ts.provider_key, NULL, NULL, &st);
	assert_int_equal(st, 200);
	char *dump = json_dumps(json_object_get(j, "events"), 0);
	assert_non_null(strstr(dump, "wake_suppressed"));
	assert_non_null(strstr(dump, "low_urgency"));
	free(dump);
	json_decref(j);
	/* The device's poll picks the messages up. */
	j = call("GET", "/v1/device/messages", d.token, NULL, NULL, &st);
	assert_int_equal(st, 200);
	assert_int_equal(json_array_size(json_object_get(j, "messages")), 2);
	json_decref(j);
}

static void test_unanswered_retries_then_unreachable(void **state)
{
	(void)state;
	struct dev d;
	json_t *jobs, *o;
	uint64_t last_ctr = 0;
	int total = 0;
	long st;
	size_t i;
	char path[64];

	make_device("+15550300030", NULL, &d);
	submit(&d, "high");
	/* max_retries = 2 and retry_base = grace = 1 s here: 3 wakeups in all, counters rising. */
	/* Loop on time, not rounds: leases return early when other devices' jobs come. */
	for (time_t end = time(NULL) + 10; time(NULL) < end;) {
		jobs = lease(1);
		json_array_foreach (jobs, i, o) {
			if (strcmp(json_string_value(json_object_get(o, "msisdn")), "+15550300030") != 0)
				continue;
			uint64_t ctr = (uint64_t)json_integer_value(json_object_get(o, "counter"));
			assert_true(ctr > last_ctr);
			last_ctr = ctr;
			total++;
		}
		json_array_foreach (jobs, i, o)
			report(json_integer_value(json_object_get(o, "job")), "submitted");
		json_decref(jobs);
	}
	assert_int_equal(total, 3);
	/* Given up once the last SMS has had its time (a retry's delay) to be answered. */
	snprintf(path, sizeof(path), "/v1/devices/%lld", (long long)d.id);
	json_t *j = NULL;
	for (time_t end = time(NULL) + 15; time(NULL) < end; usleep(200000)) {
		json_decref(j);
		j = call("GET", path, ts.provider_key, NULL, NULL, &st);
		if (strcmp(json_string_value(json_object_get(j, "wake_state")), "unreachable") == 0)
			break;
	}
	assert_string_equal(json_string_value(json_object_get(j, "wake_state")), "unreachable");
	json_decref(j);
	/* Contact ends it: the device polls and is reachable again. */
	json_decref(call("GET", "/v1/device/messages", d.token, NULL, NULL, &st));
	assert_int_equal(st, 200);
	usleep(1200000); /* last-seen reaches the store within a second */
	j = call("GET", path, ts.provider_key, NULL, NULL, &st);
	assert_string_equal(json_string_value(json_object_get(j, "wake_state")), "idle");
	json_decref(j);
}

static void test_fetch_resynchronises_counter(void **state)
{
	(void)state;
	struct dev d;
	json_t *jobs;
	long st;
	uint8_t payload[64];
	struct wake_msg m;

	make_device("+15550300040", ",\"sms_format\":\"text\"", &d);
	/* The device reports a counter above the server's (restored server backup, say). */
	json_decref(call("POST", "/v1/device/ack", d.token, "{\"seq\":0,\"wake_ctr\":41}",
			 (const char *const[]){"Content-Type: application/json", NULL}, &st));
	assert_int_equal(st, 204);
	submit(&d, "high");
	/* Other tests' devices may still get retries: lease until this device's job shows up. */
	json_t *job = NULL;
	for (time_t end = time(NULL) + 8; job == NULL && time(NULL) < end;) {
		size_t i;
		json_t *o;
		jobs = lease(1);
		json_array_foreach (jobs, i, o) {
			if (strcmp(json_string_value(json_object_get(o, "msisdn")), "+15550300040") == 0 && job == NULL)
				job = json_incref(o);
			report(json_integer_value(json_object_get(o, "job")), "submitted");
		}
		json_decref(jobs);
	}
	assert_non_null(job);
	assert_string_equal(json_string_value(json_object_get(job, "format")), "text");
	const char *text = json_string_value(json_object_get(job, "text"));
	assert_int_equal(strlen(text), WAKE_TEXT_LEN);
	assert_int_equal(wake_decode_text(d.key, 1, (uint16_t)d.port, text, strlen(text), &m), WAKE_OK);
	assert_int_equal(m.counter, 42);
	(void)payload;
	json_decref(job);
}

static json_t *get_json(const char *fmt, int64_t id)
{
	char path[64];
	long st;
	json_t *j;
	snprintf(path, sizeof(path), fmt, (long long)id);
	j = call("GET", path, ts.provider_key, NULL, NULL, &st);
	assert_int_equal(st, 200);
	return j;
}

static const char *wake_state_of(const struct dev *d, char *buf, size_t len)
{
	json_t *j = get_json("/v1/devices/%lld", d->id);
	snprintf(buf, len, "%s", json_string_value(json_object_get(j, "wake_state")));
	json_decref(j);
	return buf;
}

/* Counts the message's events named what, and checks they come in time order. */
static int events_named(int64_t msg, const char *what, const char *const *order)
{
	json_t *j = get_json("/v1/messages/%lld", msg), *e;
	const char *prev = "";
	size_t i;
	int n = 0, k = 0;

	json_array_foreach (json_object_get(j, "events"), i, e) {
		const char *at = json_string_value(json_object_get(e, "at"));
		const char *ev = json_string_value(json_object_get(e, "event"));
		assert_true(strcmp(prev, at) <= 0); /* RFC 3339 with milliseconds sorts as text */
		prev = at;
		n += strcmp(ev, what) == 0;
		if (order && order[k] && strcmp(ev, order[k]) == 0)
			k++;
	}
	if (order)
		assert_null(order[k]); /* every named event, in this order */
	json_decref(j);
	return n;
}

/* No gateway leases for longer than the whole retry schedule (1 s + 1 s + 2 s here): the device
 * keeps one wake job, is not declared unreachable, and the server says no gateway takes jobs.
 * Once a gateway leases, it gets that one job. */
static void test_no_gateway_one_job(void **state)
{
	(void)state;
	struct dev d;
	char ws[32];
	struct http_resp r;
	json_t *jobs, *o;
	size_t i;
	int found = 0;

	make_device("+15550300050", NULL, &d);
	submit(&d, "high");
	sleep(7);
	assert_string_not_equal(wake_state_of(&d, ws, sizeof(ws)), "unreachable");
	assert_int_equal(http_do(&ts, "GET", "/healthz", NULL, NULL, NULL, 0, &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"gateways\":\"none_taking_jobs\""));
	http_resp_free(&r);
	assert_int_equal(http_do(&ts, "GET", "/metrics", NULL, NULL, NULL, 0, &r), 0);
	assert_non_null(strstr(r.body, "smswake_wake_no_gateway 1"));
	assert_non_null(strstr(r.body, "smswake_wake_delayed_total{reason=\"no_gateway\"} "));
	http_resp_free(&r);

	jobs = lease(5);
	json_array_foreach (jobs, i, o) {
		if (strcmp(json_string_value(json_object_get(o, "msisdn")), "+15550300050") == 0)
			found++;
		report(json_integer_value(json_object_get(o, "job")), "submitted");
	}
	json_decref(jobs);
	assert_int_equal(found, 1);
	/* Now an SMS is out: in flight, with its retries ahead of it. */
	assert_string_equal(wake_state_of(&d, ws, sizeof(ws)), "in_flight");
	assert_int_equal(collect("+15550300050", 0, 0), 0);
}

/* The device fetches (and acks) before the gateway's report arrives: the history still shows
 * the wakeup, once, at the time the gateway sent it, before the fetch. An older gateway that
 * sends no time: the wakeup is still recorded once, no later than the fetch. */
static void test_history_when_fetch_precedes_report(void **state)
{
	(void)state;
	static const char *const order[] = {"queued", "wake_sent", "fetched", "acked", NULL};
	for (int old = 1; old >= 0; old--) {
		struct dev d;
		json_t *job = NULL, *jobs, *o, *j;
		int64_t msg, sent_at;
		size_t i;
		long st;
		char body[64];

		make_device(old ? "+15550300061" : "+15550300060", NULL, &d);
		msg = submit(&d, "high");
		for (time_t end = time(NULL) + 8; job == NULL && time(NULL) < end;) {
			jobs = lease(1);
			json_array_foreach (jobs, i, o) {
				if (job == NULL && json_integer_value(json_object_get(o, "counter")) > 0 &&
				    strcmp(json_string_value(json_object_get(o, "msisdn")),
					   old ? "+15550300061" : "+15550300060") == 0)
					job = json_incref(o);
				else
					report(json_integer_value(json_object_get(o, "job")), "submitted");
			}
			json_decref(jobs);
		}
		assert_non_null(job);
		sent_at = now_ms();
		usleep(20000);
		j = call("GET", "/v1/device/messages", d.token, NULL, NULL, &st);
		assert_int_equal(st, 200);
		json_decref(j);
		snprintf(body, sizeof(body), "{\"seq\":1}");
		json_decref(call("POST", "/v1/device/ack", d.token, body,
				 (const char *const[]){"Content-Type: application/json", NULL}, &st));
		assert_int_equal(st, 204);
		usleep(20000);
		report_at(json_integer_value(json_object_get(job, "job")), "submitted", old ? 0 : sent_at);
		json_decref(job);
		assert_int_equal(events_named(msg, "wake_sent", order), 1);
	}
}

/* A job that waited is handed out with the validity its content has left, never more. */
static void test_validity_cut_at_lease(void **state)
{
	(void)state;
	struct dev d;
	json_t *jobs, *o;
	size_t i;
	int64_t validity = -1;

	make_device("+15550300070", NULL, &d);
	submit_ttl(&d, "high", "100");
	sleep(4); /* no gateway meanwhile */
	jobs = lease(5);
	json_array_foreach (jobs, i, o) {
		if (strcmp(json_string_value(json_object_get(o, "msisdn")), "+15550300070") == 0)
			validity = json_integer_value(json_object_get(o, "validity"));
		report(json_integer_value(json_object_get(o, "job")), "submitted");
	}
	json_decref(jobs);
	assert_true(validity > 0);
	assert_true(validity <= 96);
}

/* A device that polled while its wakeup waited for a gateway gets no SMS for nothing. */
static void test_waiting_job_dropped_after_poll(void **state)
{
	(void)state;
	struct dev d;
	json_t *j;
	long st;

	make_device("+15550300080", NULL, &d);
	submit(&d, "high");
	usleep(500000); /* the scheduler makes the job */
	j = call("GET", "/v1/device/messages", d.token, NULL, NULL, &st);
	assert_int_equal(st, 200);
	assert_int_equal(json_array_size(json_object_get(j, "messages")), 1);
	json_decref(j);
	assert_int_equal(collect("+15550300080", 3, 0), 0);
}

/* A device whose fetch was answered (committed) is woken for a new message at once, not only
 * once a second has passed since that contact (the wait for a fetch that may be under way). */
static void test_wake_right_after_fetch(void **state)
{
	(void)state;
	struct dev d;
	json_t *j;
	long st;
	int64_t fetched_ms, job_ms = 0;

	make_device("+15550300090", NULL, &d);
	submit(&d, "high");
	assert_int_equal(collect("+15550300090", 4, 1), 1);
	j = call("GET", "/v1/device/messages", d.token, NULL, NULL, &st);
	assert_int_equal(st, 200);
	json_decref(j);
	fetched_ms = now_ms();
	submit(&d, "high");
	for (time_t end = time(NULL) + 4; job_ms == 0 && time(NULL) < end;) {
		json_t *jobs = lease(1), *o;
		size_t i;
		if (count_for(jobs, "+15550300090") > 0)
			job_ms = now_ms();
		json_array_foreach (jobs, i, o)
			report(json_integer_value(json_object_get(o, "job")), "submitted");
		json_decref(jobs);
	}
	assert_true(job_ms > 0);
	assert_true(job_ms - fetched_ms < 900);
}

static int setup(void **state)
{
	(void)state;
	return testsrv_suite_start(&ts, "lease_time = 30\n[scheduler]\nbatch_window = 1\ngrace = 1\nretry_base = 1\n"
					"max_retries = 2\ntick_ms = 50\n");
}

static int teardown(void **state)
{
	(void)state;
	return testsrv_suite_stop(&ts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_high_message_one_verified_wakeup),
		cmocka_unit_test(test_burst_shares_one_sms),
		cmocka_unit_test(test_low_sends_no_sms),
		cmocka_unit_test(test_unanswered_retries_then_unreachable),
		cmocka_unit_test(test_fetch_resynchronises_counter),
		cmocka_unit_test(test_no_gateway_one_job),
		cmocka_unit_test(test_history_when_fetch_precedes_report),
		cmocka_unit_test(test_validity_cut_at_lease),
		cmocka_unit_test(test_waiting_job_dropped_after_poll),
		cmocka_unit_test(test_wake_right_after_fetch),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
