/* SPDX-License-Identifier: GPL-2.0-or-later */
/* HTTP tests against a real smswake-server on an ephemeral port: every route of the provider,
 * device and gateway APIs, and each kind of bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "ece.h"
#include "ece_encrypt.h"
#include "encode.h"
#include "store.h"
#include "testsrv.h"

static struct testsrv ts;
static const char *const JSON_CT[] = {"Content-Type: application/json", NULL};

static json_t *body_json(const struct http_resp *r)
{
	return json_loadb(r->body, r->body_len, 0, NULL);
}

static long req(const char *method, const char *path, const char *tok, const char *body, json_t **out)
{
	struct http_resp r;
	assert_int_equal(http_do(&ts, method, path, tok, body ? JSON_CT : NULL, body, body ? strlen(body) : 0, &r), 0);
	if (out)
		*out = body_json(&r);
	long st = r.status;
	http_resp_free(&r);
	return st;
}

static const char *jstr(json_t *j, const char *k)
{
	json_t *v = json_object_get(j, k);
	return json_is_string(v) ? json_string_value(v) : "";
}

static int64_t jint(json_t *j, const char *k)
{
	return json_integer_value(json_object_get(j, k));
}

static int64_t submit(int64_t dev, const char *body, const char *const *headers, long *status, json_t **out)
{
	char path[64];
	struct http_resp r;
	snprintf(path, sizeof(path), "/v1/devices/%lld/messages", (long long)dev);
	assert_int_equal(http_do(&ts, "POST", path, ts.provider_key, headers, body, strlen(body), &r), 0);
	*status = r.status;
	json_t *j = body_json(&r);
	int64_t id = j ? jint(j, "id") : 0;
	if (out)
		*out = j;
	else
		json_decref(j);
	http_resp_free(&r);
	return id;
}

static int setup(void **state)
{
	(void)state;
	return testsrv_suite_start(&ts,
				   "push_origin = https://push.example.net\nmax_pending = 10\nconnection_timeout = 2\n"
				   "connection_limit = 64\nmax_fetch = 5\nlease_time = "
				   "3\n[scheduler]\nenabled = no\n");
}

static int teardown(void **state)
{
	(void)state;
	return testsrv_suite_stop(&ts);
}

static void test_health_and_metrics(void **state)
{
	(void)state;
	struct http_resp r;
	assert_int_equal(req("GET", "/healthz", NULL, NULL, NULL), 200);
	assert_int_equal(http_do(&ts, "GET", "/metrics", NULL, NULL, NULL, 0, &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "smswake_http_requests_total{route=\"healthz\",status=\"200\"}"));
	assert_non_null(strstr(r.body, "smswake_store_commits_total"));
	assert_non_null(strstr(r.body, "smswake_messages{state=\"queued\"}"));
	http_resp_free(&r);
}

static void test_auth(void **state)
{
	(void)state;
	json_t *j;
	assert_int_equal(req("GET", "/v1/devices", NULL, NULL, &j), 401);
	assert_string_equal(jstr(j, "error"), "unauthorized");
	json_decref(j);
	assert_int_equal(req("GET", "/v1/devices", "swp_wrong", NULL, NULL), 401);
	/* A gateway token is not a provider key, nor a provider key a device token. */
	assert_int_equal(req("GET", "/v1/devices", ts.gateway_key, NULL, NULL), 401);
	assert_int_equal(req("GET", "/v1/device/messages", ts.provider_key, NULL, NULL), 401);
	assert_int_equal(req("POST", "/v1/gateway/lease", ts.provider_key, "{}", NULL), 401);
}

static void test_routes_and_methods(void **state)
{
	(void)state;
	struct http_resp r;
	char allow[64];
	assert_int_equal(req("GET", "/nope", NULL, NULL, NULL), 404);
	assert_int_equal(req("GET", "/v1/devices/abc", ts.provider_key, NULL, NULL), 404);
	assert_int_equal(req("GET", "/v1/devices/1/other", ts.provider_key, NULL, NULL), 404);
	assert_int_equal(http_do(&ts, "PUT", "/v1/devices", ts.provider_key, NULL, NULL, 0, &r), 0);
	assert_int_equal(r.status, 405);
	assert_int_equal(http_resp_header(&r, "Allow", allow, sizeof(allow)), 0);
	assert_non_null(strstr(allow, "POST"));
	http_resp_free(&r);
	assert_int_equal(req("DELETE", "/v1/device/ack", NULL, NULL, NULL), 405);
}

static void test_device_crud(void **state)
{
	(void)state;
	json_t *j;
	struct http_resp r;
	char loc[64], path[64];
	const char *body =
		"{\"msisdn\":\"+15550001000\",\"name\":\"meter 1\",\"sms_format\":\"text\",\"poll_interval\":600}";

	assert_int_equal(http_do(&ts, "POST", "/v1/devices", ts.provider_key, JSON_CT, body, strlen(body), &r), 0);
	assert_int_equal(r.status, 201);
	j = body_json(&r);
	int64_t id = jint(j, "id");
	assert_true(id > 0);
	assert_true(strncmp(jstr(j, "token"), "swd_", 4) == 0);
	assert_int_equal(strlen(jstr(j, "wake_key")), 44); /* base64 of 32 octets */
	assert_string_equal(jstr(j, "sms_format"), "text");
	assert_int_equal(jint(j, "poll_interval"), 600);
	assert_int_equal(http_resp_header(&r, "Location", loc, sizeof(loc)), 0);
	snprintf(path, sizeof(path), "/v1/devices/%lld", (long long)id);
	assert_string_equal(loc, path);
	json_decref(j);
	http_resp_free(&r);

	/* Same msisdn again: conflict. */
	assert_int_equal(req("POST", "/v1/devices", ts.provider_key, body, NULL), 409);

	assert_int_equal(req("GET", path, ts.provider_key, NULL, &j), 200);
	assert_string_equal(jstr(j, "name"), "meter 1");
	assert_null(json_object_get(j, "token")); /* shown only at registration */
	assert_string_equal(jstr(j, "wake_state"), "idle");
	json_decref(j);

	assert_int_equal(req("PATCH", path, ts.provider_key,
			     "{\"name\":\"renamed\",\"quiet_hours\":{\"start\":\"22:00\",\"end\":\"06:30\"}}", &j),
			 200);
	assert_string_equal(jstr(j, "name"), "renamed");
	assert_string_equal(jstr(json_object_get(j, "quiet_hours"), "end"), "06:30");
	json_decref(j);

	assert_int_equal(req("GET", "/v1/devices", ts.provider_key, NULL, &j), 200);
	assert_true(json_array_size(json_object_get(j, "devices")) >= 1);
	json_decref(j);

	assert_int_equal(req("DELETE", path, ts.provider_key, NULL, NULL), 204);
	assert_int_equal(req("GET", path, ts.provider_key, NULL, NULL), 404);
	assert_int_equal(req("DELETE", path, ts.provider_key, NULL, NULL), 404);
}

static void test_device_bad_input(void **state)
{
	(void)state;
	json_t *j;
	assert_int_equal(req("POST", "/v1/devices", ts.provider_key, "{\"msisdn\":", &j), 400);
	assert_string_equal(jstr(j, "error"), "bad_json");
	assert_true(strlen(jstr(j, "message")) > 0);
	json_decref(j);
	assert_int_equal(req("POST", "/v1/devices", ts.provider_key, "[1,2]", NULL), 400);
	assert_int_equal(req("POST", "/v1/devices", ts.provider_key, "{\"msisdn\":15550001}", NULL), 400);
	assert_int_equal(req("POST", "/v1/devices", ts.provider_key, "{\"msisdn\":\"15550001\"}", &j), 400);
	assert_string_equal(jstr(j, "error"), "invalid_msisdn");
	json_decref(j);
	assert_int_equal(req("POST", "/v1/devices", ts.provider_key, "{\"msisdn\":\"+1555abc\"}", NULL), 400);
	assert_int_equal(req("POST", "/v1/devices", ts.provider_key, "{\"msisdn\":\"+1234567890123456\"}", NULL), 400);
	assert_int_equal(
		req("POST", "/v1/devices", ts.provider_key, "{\"msisdn\":\"+15550001\",\"colour\":\"red\"}", &j), 400);
	assert_string_equal(jstr(j, "error"), "unknown_field");
	json_decref(j);
	assert_int_equal(req("POST", "/v1/devices", ts.provider_key,
			     "{\"msisdn\":\"+15550001\",\"sms_format\":\"morse\"}", NULL),
			 400);
	assert_int_equal(
		req("POST", "/v1/devices", ts.provider_key, "{\"msisdn\":\"+15550001\",\"poll_interval\":-5}", NULL),
		400);
	assert_int_equal(
		req("POST", "/v1/devices", ts.provider_key, "{\"msisdn\":\"+15550001\",\"poll_interval\":\"5\"}", NULL),
		400);
	assert_int_equal(req("POST", "/v1/devices", ts.provider_key,
			     "{\"msisdn\":\"+15550001\",\"msisdn\":\"+15550002\"}", NULL),
			 400);
	assert_int_equal(req("POST", "/v1/devices", ts.provider_key, "{\"name\":\"no number\"}", NULL), 400);
	assert_int_equal(req("POST", "/v1/devices", ts.provider_key,
			     "{\"msisdn\":\"+15550001\",\"quiet_hours\":{\"start\":\"25:00\",\"end\":\"01:00\"}}",
			     NULL),
			 400);
	/* Wrong content type. */
	struct http_resp r;
	assert_int_equal(http_do(&ts, "POST", "/v1/devices", ts.provider_key,
				 (const char *const[]){"Content-Type: text/plain", NULL}, "{}", 2, &r),
			 0);
	assert_int_equal(r.status, 415);
	http_resp_free(&r);
}

/* A bulk body of n devices "+<base+i>", each with the tags given (NULL: none). */
static char *bulk_body(int n, long long base, const char *tags_json)
{
	json_t *devs = json_array(), *b;
	char *s;

	for (int i = 0; i < n; i++) {
		char msisdn[24];
		json_t *d;
		snprintf(msisdn, sizeof(msisdn), "+%lld", base + i);
		d = json_pack("{s:s, s:s}", "msisdn", msisdn, "name", "meter");
		if (tags_json)
			json_object_set_new(d, "tags", json_loads(tags_json, 0, NULL));
		json_array_append_new(devs, d);
	}
	b = json_pack("{s:o}", "devices", devs);
	s = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	assert_non_null(s);
	return s;
}

/* How many of this provider's devices have the msisdn (0 or 1). */
static size_t devices_with(const char *msisdn)
{
	char path[96];
	json_t *j;
	size_t n;

	snprintf(path, sizeof(path), "/v1/devices?msisdn=%%2B%s", msisdn + 1);
	assert_int_equal(req("GET", path, ts.provider_key, NULL, &j), 200);
	n = json_array_size(json_object_get(j, "devices"));
	json_decref(j);
	return n;
}

static void test_device_bulk(void **state)
{
	(void)state;
	char single_key[128], dev_token[128];
	const char *small = "{\"devices\":[{\"msisdn\":\"+15550008301\"}]}";
	json_t *j, *devs, *e;
	struct http_resp r;
	int64_t default_poll;
	char *body;

	/* Three devices: 201, in request order, each with its own token and wake key, shown once. */
	assert_int_equal(req("POST", "/v1/devices", ts.provider_key, "{\"msisdn\":\"+15550008500\"}", &j), 201);
	snprintf(single_key, sizeof(single_key), "%s", jstr(j, "wake_key"));
	default_poll = jint(j, "poll_interval");
	json_decref(j);
	assert_int_equal(
		req("POST", "/v1/devices/bulk", ts.provider_key,
		    "{\"devices\":[{\"msisdn\":\"+15550008001\",\"name\":\"m1\",\"tags\":[\"bulk-a\",\"v1\"]},"
		    "{\"msisdn\":\"+15550008002\",\"sms_format\":\"text\",\"poll_interval\":60,\"tags\":[\"bulk-a\"]},"
		    "{\"msisdn\":\"+15550008003\",\"quiet_hours\":{\"start\":\"22:00\",\"end\":\"06:00\"},"
		    "\"tags\":[\"bulk-a\"]}]}",
		    &j),
		201);
	devs = json_object_get(j, "devices");
	assert_int_equal(json_array_size(devs), 3);
	for (size_t i = 0; i < 3; i++) {
		json_t *d = json_array_get(devs, i);
		char msisdn[16];
		snprintf(msisdn, sizeof(msisdn), "+1555000800%zu", i + 1);
		assert_string_equal(jstr(d, "msisdn"), msisdn);
		assert_true(jint(d, "id") > 0);
		assert_true(strncmp(jstr(d, "token"), "swd_", 4) == 0);
		assert_int_equal(strlen(jstr(d, "wake_key")), strlen(single_key));
		assert_string_not_equal(jstr(d, "wake_key"), single_key);
		assert_true(jint(d, "key_id") >= 1);
		assert_non_null(json_object_get(d, "port"));
		for (size_t k = 0; k < i; k++) {
			json_t *o = json_array_get(devs, k);
			assert_string_not_equal(jstr(d, "wake_key"), jstr(o, "wake_key"));
			assert_string_not_equal(jstr(d, "token"), jstr(o, "token"));
			assert_true(jint(d, "id") > jint(o, "id"));
		}
	}
	assert_string_equal(jstr(json_array_get(devs, 0), "name"), "m1");
	assert_string_equal(jstr(json_array_get(devs, 1), "sms_format"), "text");
	assert_int_equal(jint(json_array_get(devs, 1), "poll_interval"), 60);
	assert_int_equal(jint(json_array_get(devs, 2), "poll_interval"), default_poll);
	assert_string_equal(jstr(json_object_get(json_array_get(devs, 2), "quiet_hours"), "start"), "22:00");
	assert_int_equal(json_array_size(json_object_get(json_array_get(devs, 0), "tags")), 2);
	/* Stored with their tags: the tag finds exactly them, a batch to it reaches each, and each
	 * token fetches its own device's message. */
	assert_int_equal(req("GET", "/v1/devices?tag=bulk-a", ts.provider_key, NULL, &e), 200);
	assert_int_equal(json_array_size(json_object_get(e, "devices")), 3);
	assert_null(json_object_get(json_array_get(json_object_get(e, "devices"), 0), "token"));
	json_decref(e);
	assert_int_equal(
		req("POST", "/v1/messages", ts.provider_key, "{\"to\":{\"tag\":\"bulk-a\"},\"body\":\"aGk=\"}", &e),
		202);
	assert_int_equal(jint(e, "messages"), 3);
	json_decref(e);
	for (size_t i = 0; i < 3; i++) {
		json_t *d = json_array_get(devs, i);
		assert_int_equal(req("GET", "/v1/device/messages", jstr(d, "token"), NULL, &e), 200);
		assert_int_equal(json_array_size(json_object_get(e, "messages")), 1);
		assert_string_equal(jstr(json_array_get(json_object_get(e, "messages"), 0), "body"), "aGk=");
		json_decref(e);
	}
	snprintf(dev_token, sizeof(dev_token), "%s", jstr(json_array_get(devs, 0), "token"));
	json_decref(j);

	/* A bad item: 400 naming its index, nothing stored (not even the good items before it). */
	assert_int_equal(req("POST", "/v1/devices/bulk", ts.provider_key,
			     "{\"devices\":[{\"msisdn\":\"+15550008101\"},{\"msisdn\":\"+1555abc\"}]}", &j),
			 400);
	assert_string_equal(jstr(j, "error"), "invalid_msisdn");
	assert_int_equal(jint(j, "index"), 1);
	assert_true(strncmp(jstr(j, "message"), "devices[1]: ", 12) == 0);
	json_decref(j);
	assert_int_equal(devices_with("+15550008101"), 0);
	static const char *const bad[] = {
		"{\"devices\":[{\"msisdn\":\"+15550008101\"},{\"msisdn\":\"+15550008102\",\"colour\":1}]}",
		"{\"devices\":[{\"msisdn\":\"+15550008101\"},{\"msisdn\":\"+15550008102\",\"tags\":[\"a b\"]}]}",
		"{\"devices\":[{\"msisdn\":\"+15550008101\"},{\"name\":\"no number\"}]}",
		"{\"devices\":[{\"msisdn\":\"+15550008101\"},\"+15550008102\"]}",
		"{\"devices\":[{\"msisdn\":\"+15550008101\"},{\"msisdn\":\"+15550008102\",\"poll_interval\":-1}]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(req("POST", "/v1/devices/bulk", ts.provider_key, bad[i], &j), 400);
		assert_int_equal(jint(j, "index"), 1);
		json_decref(j);
	}
	assert_int_equal(devices_with("+15550008101"), 0);
	assert_int_equal(req("POST", "/v1/devices/bulk", ts.provider_key, "{\"devices\":[]}", NULL), 400);
	assert_int_equal(req("POST", "/v1/devices/bulk", ts.provider_key, "{\"devices\":{}}", NULL), 400);
	assert_int_equal(req("POST", "/v1/devices/bulk", ts.provider_key, "{\"msisdn\":\"+15550008101\"}", NULL), 400);

	/* Taken msisdns, one already registered and one repeated in the request: 409 naming both,
	 * nothing stored. */
	assert_int_equal(req("POST", "/v1/devices/bulk", ts.provider_key,
			     "{\"devices\":[{\"msisdn\":\"+15550008201\"},{\"msisdn\":\"+15550008002\"},"
			     "{\"msisdn\":\"+15550008202\"},{\"msisdn\":\"+15550008201\"}]}",
			     &j),
			 409);
	assert_string_equal(jstr(j, "error"), "conflict");
	e = json_object_get(j, "indexes");
	assert_int_equal(json_array_size(e), 2);
	assert_int_equal(json_integer_value(json_array_get(e, 0)), 1);
	assert_int_equal(json_integer_value(json_array_get(e, 1)), 3);
	json_decref(j);
	assert_int_equal(devices_with("+15550008201"), 0);
	assert_int_equal(devices_with("+15550008202"), 0);

	/* At most 1000 devices: 1001 is 400 and stores nothing; 1000 of the largest kind (16 tags of
	 * 64 characters each) fit the body cap and are all stored. */
	body = bulk_body(1001, 15550100000LL, NULL);
	assert_int_equal(req("POST", "/v1/devices/bulk", ts.provider_key, body, &j), 400);
	assert_non_null(strstr(jstr(j, "message"), "1 to 1000"));
	json_decref(j);
	free(body);
	assert_int_equal(devices_with("+15550100000"), 0);
	char tags[16 * 68 + 4] = "[";
	for (int t = 0; t < 16; t++)
		snprintf(tags + strlen(tags), sizeof(tags) - strlen(tags), "%s\"t%02d%061d\"", t ? "," : "", t, 0);
	snprintf(tags + strlen(tags), sizeof(tags) - strlen(tags), "]");
	body = bulk_body(1000, 15550200000LL, tags);
	assert_int_equal(req("POST", "/v1/devices/bulk", ts.provider_key, body, &j), 201);
	free(body);
	assert_int_equal(json_array_size(json_object_get(j, "devices")), 1000);
	assert_int_equal(json_array_size(json_object_get(json_array_get(json_object_get(j, "devices"), 999), "tags")),
			 16);
	json_decref(j);
	assert_int_equal(devices_with("+15550200999"), 1);

	/* Principals and routes as elsewhere: 401 without a provider key, 404/405 off the route. */
	assert_int_equal(req("POST", "/v1/devices/bulk", NULL, small, NULL), 401);
	assert_int_equal(req("POST", "/v1/devices/bulk", ts.gateway_key, small, NULL), 401);
	assert_int_equal(req("POST", "/v1/devices/bulk", dev_token, small, NULL), 401);
	assert_int_equal(req("POST", "/v1/devices/bulk", "swp_wrong", small, NULL), 401);
	assert_int_equal(req("POST", "/v1/devices/bulk/1", ts.provider_key, small, NULL), 404);
	assert_int_equal(req("POST", "/v1/devices/bulks", ts.provider_key, small, NULL), 404);
	assert_int_equal(req("GET", "/v1/devices/bulk", ts.provider_key, NULL, NULL), 405);
	assert_int_equal(devices_with("+15550008301"), 0);
	assert_int_equal(http_do(&ts, "GET", "/metrics", NULL, NULL, NULL, 0, &r), 0);
	assert_non_null(strstr(r.body, "smswake_http_requests_total{route=\"device_bulk\",status=\"201\"} 2"));
	http_resp_free(&r);
}

static void test_other_provider(void **state)
{
	(void)state;
	char key2[128], path[64];
	int64_t dev, msg;
	char tok[128];
	long st;

	assert_int_equal(testsrv_ctl(&ts, "provider add other", key2, sizeof(key2)), 0);
	assert_int_equal(testsrv_device(&ts, "+15550002000", &dev, tok, sizeof(tok)), 0);
	msg = submit(dev, "hello", NULL, &st, NULL);
	assert_int_equal(st, 201);
	snprintf(path, sizeof(path), "/v1/devices/%lld", (long long)dev);
	assert_int_equal(req("GET", path, key2, NULL, NULL), 404);
	assert_int_equal(req("PATCH", path, key2, "{\"name\":\"x\"}", NULL), 404);
	assert_int_equal(req("DELETE", path, key2, NULL, NULL), 404);
	snprintf(path, sizeof(path), "/v1/devices/%lld/messages", (long long)dev);
	assert_int_equal(req("POST", path, key2, "x", NULL), 404);
	snprintf(path, sizeof(path), "/v1/messages/%lld", (long long)msg);
	assert_int_equal(req("GET", path, key2, NULL, NULL), 404);
	assert_int_equal(req("DELETE", path, key2, NULL, NULL), 404);
	assert_int_equal(req("GET", path, ts.provider_key, NULL, NULL), 200);
	/* A revoked provider key stops working at once. */
	assert_int_equal(testsrv_ctl(&ts, "provider revoke other", NULL, 0), 0);
	assert_int_equal(req("GET", "/v1/devices", key2, NULL, NULL), 401);
}

static void test_submit_fetch_ack(void **state)
{
	(void)state;
	int64_t dev, m1, m2;
	char tok[128], path[96], np[16];
	struct http_resp r;
	json_t *j, *msgs;
	long st;

	assert_int_equal(testsrv_device(&ts, "+15550003000", &dev, tok, sizeof(tok)), 0);
	/* Nothing pending: 204 with no body and the poll advice. */
	assert_int_equal(http_do(&ts, "GET", "/v1/device/messages", tok, NULL, NULL, 0, &r), 0);
	assert_int_equal(r.status, 204);
	assert_int_equal(r.body_len, 0);
	assert_int_equal(http_resp_header(&r, "Next-Poll", np, sizeof(np)), 0);
	assert_string_equal(np, "900");
	http_resp_free(&r);

	m1 = submit(dev, "first", (const char *const[]){"Content-Type: text/plain", "Urgency: high", "TTL: 3600", NULL},
		    &st, &j);
	assert_int_equal(st, 201);
	assert_int_equal(jint(j, "seq"), 1);
	assert_string_equal(jstr(j, "state"), "queued");
	assert_string_equal(jstr(j, "urgency"), "high");
	assert_int_equal(jint(j, "size"), 5);
	json_decref(j);
	m2 = submit(dev, "second", (const char *const[]){"Content-Type:", NULL}, &st, &j);
	assert_int_equal(st, 201);
	assert_int_equal(jint(j, "seq"), 2);
	assert_string_equal(jstr(j, "content_type"), "application/octet-stream");
	json_decref(j);

	assert_int_equal(req("GET", "/v1/device/messages?after=0", tok, NULL, &j), 200);
	msgs = json_object_get(j, "messages");
	assert_int_equal(json_array_size(msgs), 2);
	assert_int_equal(jint(json_array_get(msgs, 0), "id"), m1);
	assert_string_equal(jstr(json_array_get(msgs, 0), "body"), "Zmlyc3Q="); /* "first" */
	assert_string_equal(jstr(json_array_get(msgs, 0), "content_type"), "text/plain");
	assert_int_equal(jint(json_array_get(msgs, 1), "id"), m2);
	assert_false(json_is_true(json_object_get(j, "more")));
	assert_int_equal(jint(j, "next_poll"), 900);
	json_decref(j);

	/* After the cursor: nothing. */
	assert_int_equal(req("GET", "/v1/device/messages?after=2", tok, NULL, NULL), 204);

	snprintf(path, sizeof(path), "/v1/messages/%lld", (long long)m1);
	assert_int_equal(req("GET", path, ts.provider_key, NULL, &j), 200);
	assert_string_equal(jstr(j, "state"), "fetched");
	assert_int_equal(jint(j, "size"), 5);
	assert_true(json_array_size(json_object_get(j, "events")) >= 2);
	json_decref(j);
	/* Recall after fetch: conflict. */
	assert_int_equal(req("DELETE", path, ts.provider_key, NULL, NULL), 409);

	assert_int_equal(req("POST", "/v1/device/ack", tok, "{\"seq\":2,\"wake_ctr\":0}", NULL), 204);
	assert_int_equal(req("GET", path, ts.provider_key, NULL, &j), 200);
	assert_string_equal(jstr(j, "state"), "acked");
	json_t *ev = json_object_get(j, "events");
	assert_string_equal(jstr(json_array_get(ev, json_array_size(ev) - 1), "state"), "acked");
	json_decref(j);

	/* Device's view at the provider. */
	snprintf(path, sizeof(path), "/v1/devices/%lld", (long long)dev);
	assert_int_equal(req("GET", path, ts.provider_key, NULL, &j), 200);
	assert_int_equal(jint(j, "acked_seq"), 2);
	assert_int_equal(jint(j, "pending"), 0);
	assert_true(json_is_string(json_object_get(j, "last_seen_at")));
	json_decref(j);

	/* Bad ack bodies. */
	assert_int_equal(req("POST", "/v1/device/ack", tok, "{\"sequence\":2}", NULL), 400);
	assert_int_equal(req("POST", "/v1/device/ack", tok, "{\"seq\":\"2\"}", NULL), 400);
	assert_int_equal(req("POST", "/v1/device/ack", tok, "{}", NULL), 400);
	assert_int_equal(req("GET", "/v1/device/messages?after=x", tok, NULL, NULL), 400);
	assert_int_equal(req("GET", "/v1/device/messages?max=0", tok, NULL, NULL), 400);
	assert_int_equal(req("GET", "/v1/device/messages?wait=3600", tok, NULL, NULL), 400);
	/* The token is checked first whatever the query (the fetch authenticates in its handler). */
	assert_int_equal(req("GET", "/v1/device/messages?max=0", "not-a-token", NULL, NULL), 401);
	assert_int_equal(req("GET", "/v1/device/messages", "not-a-token", NULL, NULL), 401);
	assert_int_equal(req("GET", "/v1/device/messages?max=0", ts.provider_key, NULL, NULL), 401);
	assert_int_equal(req("GET", "/v1/device/messages", NULL, NULL, NULL), 401);
}

/* PUT /v1/device/push-keys keeps the device's Web Push public key and auth secret, answers the
 * last seq assigned before them, and refuses anything that is not a P-256 point and 16 octets. */
static void test_push_keys(void **state)
{
	(void)state;
	uint8_t priv[ECE_P256_PRIV_LEN], pub[ECE_P256_PUB_LEN], auth[ECE_AUTH_LEN];
	char p64[ENC_B64_LEN(ECE_P256_PUB_LEN)], a64[ENC_B64_LEN(ECE_AUTH_LEN)], body[256], tok[128];
	int64_t dev;
	json_t *j;
	long st;

	assert_int_equal(testsrv_device(&ts, "+15550003900", &dev, tok, sizeof(tok)), 0);
	assert_int_equal(ece_webpush_keygen(priv, pub, auth), ECE_OK);
	enc_b64(pub, sizeof(pub), p64, 1);
	enc_b64(auth, sizeof(auth), a64, 1);
	snprintf(body, sizeof(body), "{\"p256dh\":\"%s\",\"auth\":\"%s\"}", p64, a64);
	assert_int_equal(req("PUT", "/v1/device/push-keys", tok, body, &j), 200);
	assert_int_equal(jint(j, "seq"), 0);
	json_decref(j);
	submit(dev, "one", NULL, &st, NULL);
	assert_int_equal(st, 201);
	submit(dev, "two", NULL, &st, NULL);
	assert_int_equal(st, 201);
	assert_int_equal(req("PUT", "/v1/device/push-keys", tok, body, &j), 200);
	assert_int_equal(jint(j, "seq"), 2);
	json_decref(j);

	/* Without the device's token, with another method, or with keys that are not keys. */
	assert_int_equal(req("PUT", "/v1/device/push-keys", NULL, body, NULL), 401);
	assert_int_equal(req("PUT", "/v1/device/push-keys", ts.provider_key, body, NULL), 401);
	assert_int_equal(req("POST", "/v1/device/push-keys", tok, body, NULL), 405);
	snprintf(body, sizeof(body), "{\"p256dh\":\"%s\"}", p64);
	assert_int_equal(req("PUT", "/v1/device/push-keys", tok, body, NULL), 400);
	snprintf(body, sizeof(body), "{\"p256dh\":\"%s\",\"auth\":\"%sAA\"}", p64, a64);
	assert_int_equal(req("PUT", "/v1/device/push-keys", tok, body, NULL), 400);
	p64[40] = p64[40] == 'A' ? 'B' : 'A'; /* off the curve */
	snprintf(body, sizeof(body), "{\"p256dh\":\"%s\",\"auth\":\"%s\"}", p64, a64);
	assert_int_equal(req("PUT", "/v1/device/push-keys", tok, body, NULL), 400);
	snprintf(body, sizeof(body), "{\"p256dh\":\"%s\",\"auth\":\"%s\",\"x\":1}", p64, a64);
	assert_int_equal(req("PUT", "/v1/device/push-keys", tok, body, NULL), 400);
	assert_int_equal(req("PUT", "/v1/device/push-keys", tok, "[1]", NULL), 400);
}

/* An aes128gcm body (end-to-end encrypted to the device) is stored and relayed as it is, marked
 * with its content coding; other codings are refused; the device's undecryptable outcome becomes
 * an event of the message. */
static void test_encrypted_message(void **state)
{
	(void)state;
	uint8_t priv[ECE_P256_PRIV_LEN], pub[ECE_P256_PUB_LEN], auth[ECE_AUTH_LEN], ct[256];
	const char *plain = "the plain text of an encrypted message";
	char tok[128], path[64], *b64;
	struct http_resp r;
	size_t len = 0;
	int64_t dev, id;
	json_t *j, *m, *ev;
	int found = 0;

	assert_int_equal(testsrv_device(&ts, "+15550003901", &dev, tok, sizeof(tok)), 0);
	assert_int_equal(ece_webpush_keygen(priv, pub, auth), ECE_OK);
	assert_int_equal(ece_webpush_encrypt(pub, auth, NULL, NULL, NULL, 4096, (const uint8_t *)plain, strlen(plain),
					     0, ct, sizeof(ct), &len),
			 ECE_OK);
	snprintf(path, sizeof(path), "/v1/devices/%lld/messages", (long long)dev);
	assert_int_equal(http_do(&ts, "POST", path, ts.provider_key,
				 (const char *const[]){"Content-Encoding: aes128gcm", NULL}, (const char *)ct, len, &r),
			 0);
	assert_int_equal(r.status, 201);
	j = body_json(&r);
	http_resp_free(&r);
	assert_string_equal(jstr(j, "content_encoding"), "aes128gcm");
	id = jint(j, "id");
	json_decref(j);
	/* Another coding, or a body too short to be aes128gcm. */
	assert_int_equal(http_do(&ts, "POST", path, ts.provider_key,
				 (const char *const[]){"Content-Encoding: gzip", NULL}, (const char *)ct, len, &r),
			 0);
	assert_int_equal(r.status, 415);
	http_resp_free(&r);
	assert_int_equal(http_do(&ts, "POST", path, ts.provider_key,
				 (const char *const[]){"Content-Encoding: aes128gcm", NULL}, "short", 5, &r),
			 0);
	assert_int_equal(r.status, 400);
	http_resp_free(&r);

	assert_int_equal(req("GET", "/v1/device/messages?after=0", tok, NULL, &j), 200);
	m = json_array_get(json_object_get(j, "messages"), 0);
	assert_int_equal(jint(m, "id"), id);
	assert_string_equal(jstr(m, "content_encoding"), "aes128gcm");
	b64 = malloc(ENC_B64_LEN(len));
	enc_b64(ct, len, b64, 0);
	assert_string_equal(jstr(m, "body"), b64);
	free(b64);
	json_decref(j);

	assert_int_equal(req("POST", "/v1/device/ack", tok, "{\"seq\":1,\"undecryptable\":[2]}", NULL), 400);
	assert_int_equal(req("POST", "/v1/device/ack", tok, "{\"seq\":1,\"undecryptable\":1}", NULL), 400);
	assert_int_equal(req("POST", "/v1/device/ack", tok, "{\"seq\":1,\"undecryptable\":[1]}", NULL), 204);
	snprintf(path, sizeof(path), "/v1/messages/%lld", (long long)id);
	assert_int_equal(req("GET", path, ts.provider_key, NULL, &j), 200);
	assert_string_equal(jstr(j, "state"), "acked");
	ev = json_object_get(j, "events");
	for (size_t i = 0; i < json_array_size(ev); i++)
		found += strcmp(jstr(json_array_get(ev, i), "event"), "undecryptable") == 0;
	assert_int_equal(found, 1);
	json_decref(j);
}

/* A VAPID Authorization value for aud, signed with a fresh P-256 key (ES256: DER from OpenSSL
 * turned into JOSE's raw r||s). The verifier is checked against independent signers in
 * test_vapid.c and test_webpush_node.sh; this one only drives the endpoint. */
static void vapid_header(const char *aud, long exp_in, char *out, size_t max, char *kout, size_t kmax)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t pub[65], der[80], raw[64];
	const unsigned char *dp = der;
	char h64[64], c64[512], s64[ENC_B64_LEN(64)], k64[ENC_B64_LEN(65)], claims[256], input[700];
	size_t publen = 0, derlen = sizeof(der);
	ECDSA_SIG *sig;
	const BIGNUM *r, *s;

	assert_non_null(k);
	assert_int_equal(EVP_PKEY_get_octet_string_param(k, "encoded-pub-key", pub, sizeof(pub), &publen), 1);
	enc_b64((const uint8_t *)"{\"typ\":\"JWT\",\"alg\":\"ES256\"}", 27, h64, 1);
	snprintf(claims, sizeof(claims), "{\"aud\":\"%s\",\"exp\":%ld,\"sub\":\"mailto:ops@example.net\"}", aud,
		 (long)time(NULL) + exp_in);
	enc_b64((const uint8_t *)claims, strlen(claims), c64, 1);
	snprintf(input, sizeof(input), "%s.%s", h64, c64);
	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k), 1);
	assert_int_equal(EVP_DigestSign(md, der, &derlen, (const uint8_t *)input, strlen(input)), 1);
	sig = d2i_ECDSA_SIG(NULL, &dp, (long)derlen);
	assert_non_null(sig);
	ECDSA_SIG_get0(sig, &r, &s);
	assert_int_equal(BN_bn2binpad(r, raw, 32), 32);
	assert_int_equal(BN_bn2binpad(s, raw + 32, 32), 32);
	enc_b64(raw, 64, s64, 1);
	enc_b64(pub, publen, k64, 1);
	snprintf(out, max, "Authorization: vapid t=%s.%s, k=%s", input, s64, k64);
	if (kout != NULL)
		snprintf(kout, kmax, "%s", k64);
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(k);
}

/* POST /push/<token> (RFC 8030) from a Web Push sender: VAPID for this origin, TTL, aes128gcm. The
 * provider sees the device's subscription in the shape of PushSubscription.toJSON(). */
static void test_push_endpoint(void **state)
{
	(void)state;
	uint8_t priv[ECE_P256_PRIV_LEN], pub[ECE_P256_PUB_LEN], auth[ECE_AUTH_LEN], ct[256], big[5000];
	char p64[ENC_B64_LEN(ECE_P256_PUB_LEN)], a64[ENC_B64_LEN(ECE_AUTH_LEN)], body[256], tok[128], path[128];
	char vapid[1024], other[1024], expired[1024], stranger[1024], vkey[128], loc[64], bound[512], ptoken[64];
	const char *endpoint, *slash;
	struct http_resp r;
	size_t len = 0;
	int64_t dev;
	json_t *j, *sub, *m, *ev;
	int found = 0;

	assert_int_equal(testsrv_device(&ts, "+15550003902", &dev, tok, sizeof(tok)), 0);
	snprintf(path, sizeof(path), "/v1/devices/%lld", (long long)dev);
	assert_int_equal(req("GET", path, ts.provider_key, NULL, &j), 200);
	assert_true(json_is_null(json_object_get(j, "push_subscription")));
	json_decref(j);
	assert_int_equal(ece_webpush_keygen(priv, pub, auth), ECE_OK);
	enc_b64(pub, sizeof(pub), p64, 1);
	enc_b64(auth, sizeof(auth), a64, 1);
	snprintf(body, sizeof(body), "{\"p256dh\":\"%s\",\"auth\":\"%s\"}", p64, a64);
	assert_int_equal(req("PUT", "/v1/device/push-keys", tok, body, NULL), 200);
	assert_int_equal(req("GET", path, ts.provider_key, NULL, &j), 200);
	sub = json_object_get(j, "push_subscription");
	endpoint = jstr(sub, "endpoint");
	assert_int_equal(strncmp(endpoint, "https://push.example.net/push/", 30), 0);
	assert_int_equal(strlen(endpoint), 30 + 22);
	/* The token names neither the device nor the provider. */
	assert_null(strstr(endpoint + 30, "3902"));
	assert_string_equal(jstr(json_object_get(sub, "keys"), "p256dh"), p64);
	assert_string_equal(jstr(json_object_get(sub, "keys"), "auth"), a64);
	slash = strrchr(endpoint, '/');
	snprintf(ptoken, sizeof(ptoken), "%s", slash + 1);
	snprintf(path, sizeof(path), "/push/%s", ptoken);
	json_decref(j);

	assert_int_equal(ece_webpush_encrypt(pub, auth, NULL, NULL, NULL, 4096, (const uint8_t *)"pushed", 6, 0, ct,
					     sizeof(ct), &len),
			 ECE_OK);
	vapid_header("https://push.example.net", 3600, vapid, sizeof(vapid), vkey, sizeof(vkey));
	vapid_header("https://push.example.org", 3600, other, sizeof(other), NULL, 0);
	vapid_header("https://push.example.net", -10, expired, sizeof(expired), NULL, 0);
	vapid_header("https://push.example.net", 3600, stranger, sizeof(stranger), NULL, 0);
	assert_int_equal(
		http_do(&ts, "POST", path, NULL,
			(const char *const[]){vapid, "TTL: 60", "Urgency: high", "Content-Encoding: aes128gcm", NULL},
			(const char *)ct, len, &r),
		0);
	assert_int_equal(r.status, 201);
	assert_int_equal(http_resp_header(&r, "Location", loc, sizeof(loc)), 0);
	assert_int_equal(strncmp(loc, "/v1/messages/", 13), 0);
	http_resp_free(&r);
	/* Refusals: no VAPID, VAPID for another origin or expired, no TTL, another coding, an
	 * unknown endpoint, a body over 4096 octets. */
	assert_int_equal(http_do(&ts, "POST", path, NULL,
				 (const char *const[]){"TTL: 60", "Content-Encoding: aes128gcm", NULL},
				 (const char *)ct, len, &r),
			 0);
	assert_int_equal(r.status, 401);
	http_resp_free(&r);
	assert_int_equal(http_do(&ts, "POST", path, NULL,
				 (const char *const[]){other, "TTL: 60", "Content-Encoding: aes128gcm", NULL},
				 (const char *)ct, len, &r),
			 0);
	assert_int_equal(r.status, 401);
	http_resp_free(&r);
	assert_int_equal(http_do(&ts, "POST", path, NULL,
				 (const char *const[]){expired, "TTL: 60", "Content-Encoding: aes128gcm", NULL},
				 (const char *)ct, len, &r),
			 0);
	assert_int_equal(r.status, 401);
	http_resp_free(&r);
	assert_int_equal(http_do(&ts, "POST", path, NULL,
				 (const char *const[]){vapid, "Content-Encoding: aes128gcm", NULL}, (const char *)ct,
				 len, &r),
			 0);
	assert_int_equal(r.status, 400);
	http_resp_free(&r);
	assert_int_equal(http_do(&ts, "POST", path, NULL,
				 (const char *const[]){vapid, "TTL: 60", "Content-Encoding: aesgcm", NULL},
				 (const char *)ct, len, &r),
			 0);
	assert_int_equal(r.status, 415);
	http_resp_free(&r);
	memset(big, 'x', sizeof(big));
	assert_int_equal(http_do(&ts, "POST", path, NULL,
				 (const char *const[]){vapid, "TTL: 60", "Content-Encoding: aes128gcm", NULL},
				 (const char *)big, sizeof(big), &r),
			 0);
	assert_int_equal(r.status, 413);
	http_resp_free(&r);
	snprintf(path, sizeof(path), "/push/AAAAAAAAAAAAAAAAAAAAAA");
	assert_int_equal(http_do(&ts, "POST", path, NULL,
				 (const char *const[]){vapid, "TTL: 60", "Content-Encoding: aes128gcm", NULL},
				 (const char *)ct, len, &r),
			 0);
	assert_int_equal(r.status, 404);
	http_resp_free(&r);

	/* Bound to one application server key (applicationServerKey): others get 403. */
	snprintf(bound, sizeof(bound), "{\"p256dh\":\"%s\",\"auth\":\"%s\",\"application_server_key\":\"%s\"}", p64,
		 a64, vkey);
	assert_int_equal(req("PUT", "/v1/device/push-keys", tok, bound, NULL), 200);
	snprintf(path, sizeof(path), "/push/%s", ptoken);
	assert_int_equal(http_do(&ts, "POST", path, NULL,
				 (const char *const[]){stranger, "TTL: 60", "Content-Encoding: aes128gcm", NULL},
				 (const char *)ct, len, &r),
			 0);
	assert_int_equal(r.status, 403);
	http_resp_free(&r);
	assert_int_equal(http_do(&ts, "POST", path, NULL,
				 (const char *const[]){vapid, "TTL: 60", "Content-Encoding: aes128gcm", NULL},
				 (const char *)ct, len, &r),
			 0);
	assert_int_equal(r.status, 201);
	http_resp_free(&r);
	snprintf(bound, sizeof(bound), "{\"p256dh\":\"%s\",\"auth\":\"%s\",\"application_server_key\":\"AAAA\"}", p64,
		 a64);
	assert_int_equal(req("PUT", "/v1/device/push-keys", tok, bound, NULL), 400);

	/* The device gets the ciphertext, marked; the message's history names the sender. */
	assert_int_equal(req("GET", "/v1/device/messages?after=0", tok, NULL, &j), 200);
	m = json_array_get(json_object_get(j, "messages"), 0);
	assert_string_equal(jstr(m, "content_encoding"), "aes128gcm");
	assert_string_equal(jstr(m, "urgency"), "high");
	json_decref(j);
	assert_int_equal(req("GET", loc, ts.provider_key, NULL, &j), 200);
	ev = json_object_get(j, "events");
	for (size_t i = 0; i < json_array_size(ev); i++)
		found += strcmp(jstr(json_array_get(ev, i), "event"), "vapid") == 0 &&
			 strcmp(jstr(json_array_get(ev, i), "detail"), "mailto:ops@example.net") == 0;
	assert_int_equal(found, 1);
	json_decref(j);

	/* Once the device is deleted its endpoint is gone: 410, which Web Push libraries take as
	 * "drop this subscription", not 404. */
	snprintf(bound, sizeof(bound), "/v1/devices/%lld", (long long)dev);
	assert_int_equal(req("DELETE", bound, ts.provider_key, NULL, NULL), 204);
	snprintf(path, sizeof(path), "/push/%s", ptoken);
	assert_int_equal(http_do(&ts, "POST", path, NULL,
				 (const char *const[]){vapid, "TTL: 60", "Content-Encoding: aes128gcm", NULL},
				 (const char *)ct, len, &r),
			 0);
	assert_int_equal(r.status, 410);
	assert_non_null(strstr(r.body, "\"error\":\"gone\""));
	http_resp_free(&r);
}

static void test_paging(void **state)
{
	(void)state;
	int64_t dev;
	char tok[128];
	json_t *j;
	long st;

	assert_int_equal(testsrv_device(&ts, "+15550004000", &dev, tok, sizeof(tok)), 0);
	for (int i = 0; i < 7; i++)
		submit(dev, "m", NULL, &st, NULL);
	/* max_fetch is 5 in this server's configuration. */
	assert_int_equal(req("GET", "/v1/device/messages", tok, NULL, &j), 200);
	assert_int_equal(json_array_size(json_object_get(j, "messages")), 5);
	assert_true(json_is_true(json_object_get(j, "more")));
	json_decref(j);
	assert_int_equal(req("GET", "/v1/device/messages?after=5&max=10", tok, NULL, NULL), 400);
	assert_int_equal(req("GET", "/v1/device/messages?after=5&max=2", tok, NULL, &j), 200);
	assert_int_equal(json_array_size(json_object_get(j, "messages")), 2);
	assert_int_equal(jint(json_array_get(json_object_get(j, "messages"), 0), "seq"), 6);
	assert_false(json_is_true(json_object_get(j, "more")));
	json_decref(j);
}

/* max_pending (10 in this server's configuration): the eleventh message waiting for one device
 * is 429 with Retry-After; once the device has fetched and acknowledged, there is room again. */
static void test_max_pending(void **state)
{
	(void)state;
	struct http_resp r;
	char tok[128], path[64];
	int64_t dev;
	json_t *j;
	long st;

	assert_int_equal(testsrv_device(&ts, "+15550004100", &dev, tok, sizeof(tok)), 0);
	for (int i = 0; i < 10; i++) {
		submit(dev, "m", NULL, &st, NULL);
		assert_int_equal(st, 201);
	}
	snprintf(path, sizeof(path), "/v1/devices/%lld/messages", (long long)dev);
	assert_int_equal(http_do(&ts, "POST", path, ts.provider_key, NULL, "m", 1, &r), 0);
	assert_int_equal(r.status, 429);
	assert_non_null(strcasestr(r.headers, "\nRetry-After: 60"));
	assert_non_null(strstr(r.body, "\"error\":\"too_many_pending\""));
	http_resp_free(&r);
	assert_int_equal(req("GET", "/v1/device/messages?max=5", tok, NULL, &j), 200);
	json_decref(j);
	assert_int_equal(req("POST", "/v1/device/ack", tok, "{\"seq\":5}", NULL), 204);
	submit(dev, "m", NULL, &st, NULL);
	assert_int_equal(st, 201);
}

/* The store's read and write counters from one /metrics answer. */
static void store_counters(double *reads, double *ops)
{
	struct http_resp r;
	const char *p;

	assert_int_equal(http_do(&ts, "GET", "/metrics", NULL, NULL, NULL, 0, &r), 0);
	assert_int_equal(r.status, 200);
	p = strstr(r.body, "\nsmswake_store_reads_total ");
	assert_non_null(p);
	*reads = strtod(p + strlen("\nsmswake_store_reads_total "), NULL);
	p = strstr(r.body, "\nsmswake_store_committed_ops_total ");
	assert_non_null(p);
	*ops = strtod(p + strlen("\nsmswake_store_committed_ops_total "), NULL);
	http_resp_free(&r);
}

/* Store reads one request costs: /metrics' own reads (measured between two answers) taken out. */
static int reads_of(const char *method, const char *path, const char *tok, const char *body, long want)
{
	double r0, r1, r2, o0, o1, o2;

	store_counters(&r0, &o0);
	store_counters(&r1, &o1);
	assert_int_equal(req(method, path, tok, body, NULL), want);
	store_counters(&r2, &o2);
	print_message("%s %s: %.0f store reads, %.0f writes\n", method, path, (r2 - r1) - (r1 - r0), o2 - o1);
	return (int)((r2 - r1) - (r1 - r0));
}

/* A device fetch reads the store once, its token's lookup included, empty or not; an ack
 * looks its token up and reads the device once. */
static void test_fetch_store_reads(void **state)
{
	(void)state;
	int64_t dev;
	char tok[128], path[64], ackbody[64];
	json_t *j;
	long st;
	int kid;

	assert_int_equal(testsrv_device(&ts, "+15550004500", &dev, tok, sizeof(tok)), 0);
	snprintf(path, sizeof(path), "/v1/devices/%lld", (long long)dev);
	assert_int_equal(req("GET", path, ts.provider_key, NULL, &j), 200);
	kid = (int)jint(j, "key_id");
	json_decref(j);
	assert_int_equal(reads_of("GET", "/v1/device/messages", tok, NULL, 204), 1);
	for (int i = 0; i < 7; i++)
		submit(dev, "m", NULL, &st, NULL);
	/* max_fetch is 5: a page with more after it, then the rest. */
	assert_int_equal(reads_of("GET", "/v1/device/messages", tok, NULL, 200), 1);
	assert_int_equal(reads_of("GET", "/v1/device/messages?after=5", tok, NULL, 200), 1);
	snprintf(ackbody, sizeof(ackbody), "{\"seq\":7,\"key_id\":%d}", kid);
	assert_int_equal(reads_of("POST", "/v1/device/ack", tok, ackbody, 204), 2);
	assert_int_equal(reads_of("GET", "/v1/device/messages?after=7", tok, NULL, 204), 1);
}

static void test_headers_ttl_topic_idempotency(void **state)
{
	(void)state;
	int64_t dev, a, b, c;
	char tok[128], path[64];
	json_t *j;
	long st;

	assert_int_equal(testsrv_device(&ts, "+15550005000", &dev, tok, sizeof(tok)), 0);
	submit(dev, "x", (const char *const[]){"TTL: -1", NULL}, &st, NULL);
	assert_int_equal(st, 400);
	submit(dev, "x", (const char *const[]){"TTL: ten", NULL}, &st, NULL);
	assert_int_equal(st, 400);
	submit(dev, "x", (const char *const[]){"Urgency: urgent", NULL}, &st, NULL);
	assert_int_equal(st, 400);
	submit(dev, "x", (const char *const[]){"Topic: has space", NULL}, &st, NULL);
	assert_int_equal(st, 400);
	submit(dev, "x", (const char *const[]){"Topic: 0123456789abcdef0123456789abcdefX", NULL}, &st, NULL);
	assert_int_equal(st, 400);
	submit(dev, "x", (const char *const[]){"Idempotency-Key: a b", NULL}, &st, NULL);
	assert_int_equal(st, 400);
	/* A media type is ASCII (RFC 9110 8.3.1). */
	submit(dev, "x", (const char *const[]){"Content-Type: text/plain; name=\"caf\xc3\xa9\"", NULL}, &st, NULL);
	assert_int_equal(st, 400);

	/* Topic: a newer message replaces the pending one. */
	a = submit(dev, "v1", (const char *const[]){"Topic: status", NULL}, &st, NULL);
	assert_int_equal(st, 201);
	b = submit(dev, "v2", (const char *const[]){"Topic: status", NULL}, &st, NULL);
	assert_int_equal(st, 201);
	snprintf(path, sizeof(path), "/v1/messages/%lld", (long long)a);
	assert_int_equal(req("GET", path, ts.provider_key, NULL, &j), 200);
	assert_string_equal(jstr(j, "state"), "replaced");
	json_decref(j);
	assert_int_equal(req("GET", "/v1/device/messages", tok, NULL, &j), 200);
	assert_int_equal(json_array_size(json_object_get(j, "messages")), 1);
	assert_int_equal(jint(json_array_get(json_object_get(j, "messages"), 0), "id"), b);
	json_decref(j);

	/* Idempotency: the same key returns the first message. */
	c = submit(dev, "once", (const char *const[]){"Idempotency-Key: req-42", NULL}, &st, NULL);
	assert_int_equal(st, 201);
	assert_int_equal(submit(dev, "once", (const char *const[]){"Idempotency-Key: req-42", NULL}, &st, NULL), c);
	assert_int_equal(st, 201);

	/* Recall before fetch. */
	snprintf(path, sizeof(path), "/v1/messages/%lld", (long long)c);
	assert_int_equal(req("DELETE", path, ts.provider_key, NULL, NULL), 204);
	assert_int_equal(req("GET", path, ts.provider_key, NULL, &j), 200);
	assert_string_equal(jstr(j, "state"), "cancelled");
	json_decref(j);
	assert_int_equal(req("GET", "/v1/device/messages?after=0", tok, NULL, &j), 200);
	assert_int_equal(json_array_size(json_object_get(j, "messages")), 1); /* b only (fetched, not acked) */
	json_decref(j);
	assert_int_equal(req("GET", "/v1/messages/999999", ts.provider_key, NULL, NULL), 404);
}

static void test_body_limits(void **state)
{
	(void)state;
	int64_t dev;
	char tok[128], path[64], reply[2048], reqbuf[8192];
	char *big = malloc(5000);
	long st;
	int n;

	assert_int_equal(testsrv_device(&ts, "+15550006000", &dev, tok, sizeof(tok)), 0);
	memset(big, 'a', 4096);
	big[4096] = '\0';
	submit(dev, big, NULL, &st, NULL);
	assert_int_equal(st, 201);
	big[4096] = 'a';
	big[4097] = '\0';
	submit(dev, big, NULL, &st, NULL);
	assert_int_equal(st, 413);
	free(big);

	/* 413 is answered from the header alone, before the body is sent. */
	snprintf(path, sizeof(path), "/v1/devices/%lld/messages", (long long)dev);
	n = snprintf(reqbuf, sizeof(reqbuf),
		     "POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: 100000\r\n\r\n", path,
		     ts.provider_key);
	assert_int_equal(raw_http(ts.port, reqbuf, (size_t)n, 3000, reply, sizeof(reply)), 413);

	/* Chunked bodies are counted as they arrive. */
	n = snprintf(reqbuf, sizeof(reqbuf),
		     "POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nTransfer-Encoding: chunked\r\n\r\n",
		     path, ts.provider_key);
	for (int i = 0; i < 5; i++)
		n += snprintf(reqbuf + n, sizeof(reqbuf) - (size_t)n, "3e8\r\n%01000d\r\n", 0);
	n += snprintf(reqbuf + n, sizeof(reqbuf) - (size_t)n, "0\r\n\r\n");
	assert_int_equal(raw_http(ts.port, reqbuf, (size_t)n, 3000, reply, sizeof(reply)), 413);

	/* Request smuggling shapes. */
	n = snprintf(reqbuf, sizeof(reqbuf),
		     "POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: 2\r\nContent-Length: "
		     "5\r\n\r\nhi",
		     path, ts.provider_key);
	assert_int_equal(raw_http(ts.port, reqbuf, (size_t)n, 3000, reply, sizeof(reply)), 400);
	n = snprintf(reqbuf, sizeof(reqbuf),
		     "POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: "
		     "7\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
		     path, ts.provider_key);
	long s2 = raw_http(ts.port, reqbuf, (size_t)n, 3000, reply, sizeof(reply));
	assert_true(s2 == 400);
	/* Garbage instead of HTTP. */
	assert_true(raw_http(ts.port, "\x01\x02garbage\r\n\r\n", 13, 3000, reply, sizeof(reply)) != 200);
	assert_int_equal(req("GET", "/healthz", NULL, NULL, NULL), 200);
}

static void test_slow_client(void **state)
{
	(void)state;
	/* connection_timeout is 2 s: a client that stops mid-header is disconnected. */
	int fd = raw_connect(ts.port);
	char c;
	assert_true(fd >= 0);
	assert_int_equal(send(fd, "GET /healthz HTTP/1.1\r\nHost:", 28, MSG_NOSIGNAL), 28);
	struct timeval tv = {6, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	time_t t0 = time(NULL);
	ssize_t n = recv(fd, &c, 1, 0);
	assert_true(n <= 0);
	assert_true(time(NULL) - t0 < 6);
	close(fd);
	assert_int_equal(req("GET", "/healthz", NULL, NULL, NULL), 200);
}

static void test_too_many_connections(void **state)
{
	(void)state;
	int fds[80], refused = 0, kept = 0;
	char c;
	/* connection_limit is 64: connections past it are refused at once (closed, not left in the
	 * listen backlog), and the server keeps answering those it has. */
	for (int i = 0; i < 80; i++)
		fds[i] = raw_connect(ts.port);
	usleep(500000);
	for (int i = 0; i < 80; i++) {
		if (fds[i] < 0) {
			refused++;
			continue;
		}
		ssize_t n = recv(fds[i], &c, 1, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN))
			refused++;
		else
			kept++;
	}
	assert_true(refused >= 16);
	assert_true(kept <= 64);
	/* One that was kept is still served. */
	for (int i = 0; i < 80; i++) {
		char reply[256];
		struct timeval tv = {3, 0};
		ssize_t peek = fds[i] < 0 ? 0 : recv(fds[i], &c, 1, MSG_DONTWAIT | MSG_PEEK);
		if (peek == 0 || (peek < 0 && errno != EAGAIN))
			continue; /* refused */
		setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (send(fds[i], "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 34, MSG_NOSIGNAL) == 34) {
			ssize_t n = recv(fds[i], reply, sizeof(reply) - 1, 0);
			assert_true(n > 12);
			assert_memory_equal(reply, "HTTP/1.1 200", 12);
			break;
		}
	}
	for (int i = 0; i < 80; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	/* Their places free again once they close. */
	usleep(300000);
	assert_int_equal(req("GET", "/healthz", NULL, NULL, NULL), 200);
}

struct lp_arg {
	const char *tok;
	long status;
	double secs;
	json_t *j;
};

static void *longpoll_thread(void *p)
{
	struct lp_arg *a = p;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct http_resp r;
	if (http_do(&ts, "GET", "/v1/device/messages?wait=20", a->tok, NULL, NULL, 0, &r) == 0) {
		a->status = r.status;
		a->j = json_loadb(r.body, r.body_len, 0, NULL);
		http_resp_free(&r);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	a->secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	return NULL;
}

static void test_long_poll(void **state)
{
	(void)state;
	int64_t dev;
	char tok[128];
	pthread_t th;
	struct lp_arg a = {0};
	long st;
	struct timespec t0, t1;

	assert_int_equal(testsrv_device(&ts, "+15550007000", &dev, tok, sizeof(tok)), 0);
	a.tok = tok;
	pthread_create(&th, NULL, longpoll_thread, &a);
	usleep(700000);
	submit(dev, "wake up", NULL, &st, NULL);
	assert_int_equal(st, 201);
	pthread_join(th, NULL);
	assert_int_equal(a.status, 200);
	assert_true(a.secs < 5.0);
	assert_int_equal(json_array_size(json_object_get(a.j, "messages")), 1);
	json_decref(a.j);

	/* With nothing arriving, the wait ends with 204 after about its length. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(req("GET", "/v1/device/messages?after=1&wait=1", tok, NULL, NULL), 204);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec >= 0 && (t1.tv_sec - t0.tv_sec) < 4);
}

/* Wake jobs are made by the scheduler later; here the test creates them through the store, as
 * the gateway API's mechanics do not depend on who made the job. */
static int64_t add_job(int64_t dev, const char *msisdn)
{
	char db[300];
	struct store_options so = {0};
	struct store *st;
	struct store_wake_job job;
	const char *err = NULL;

	snprintf(db, sizeof(db), "%s/data/smswake.db", ts.dir);
	so.path = db;
	so.synchronous_full = 1;
	if (ts.pg_dsn[0] != '\0') { /* test_http_pg.sh */
		so.backend = STORE_BACKEND_POSTGRESQL;
		so.dsn = ts.pg_dsn;
	}
	assert_int_equal(store_open(&so, &st, &err), STORE_OK);
	memset(&job, 0, sizeof(job));
	job.device_id = dev;
	snprintf(job.msisdn, sizeof(job.msisdn), "%s", msisdn);
	job.port = 16537;
	job.ctr = 1;
	memcpy(job.payload, "\x01\x02\x03", 3);
	job.payload_len = 3;
	job.validity_s = 600;
	job.due_ms = 0;
	assert_int_equal(store_wake_job_add(st, &job, (int64_t)time(NULL) * 1000), STORE_OK);
	store_close(st);
	return job.id;
}

static void test_gateway_lease_report(void **state)
{
	(void)state;
	int64_t dev, job, msg;
	char tok[128], body[256], path[64];
	json_t *j, *jobs;
	long st;

	assert_int_equal(testsrv_device(&ts, "+15550008000", &dev, tok, sizeof(tok)), 0);
	msg = submit(dev, "hi", NULL, &st, NULL);
	job = add_job(dev, "+15550008000");

	assert_int_equal(req("POST", "/v1/gateway/lease", ts.gateway_key, "{\"max\":4,\"wait\":2}", &j), 200);
	jobs = json_object_get(j, "jobs");
	assert_int_equal(json_array_size(jobs), 1);
	assert_int_equal(jint(json_array_get(jobs, 0), "job"), job);
	assert_string_equal(jstr(json_array_get(jobs, 0), "msisdn"), "+15550008000");
	assert_string_equal(jstr(json_array_get(jobs, 0), "payload"), "010203");
	assert_int_equal(jint(json_array_get(jobs, 0), "port"), 16537);
	json_decref(j);
	/* Leased: a second lease gets nothing (after waiting a little). */
	assert_int_equal(req("POST", "/v1/gateway/lease", ts.gateway_key, "{\"wait\":1}", &j), 200);
	assert_int_equal(json_array_size(json_object_get(j, "jobs")), 0);
	json_decref(j);

	snprintf(body, sizeof(body), "{\"job\":%lld,\"outcome\":\"submitted\",\"reference\":17}", (long long)job);
	assert_int_equal(req("POST", "/v1/gateway/report", ts.gateway_key, body, NULL), 204);
	snprintf(path, sizeof(path), "/v1/messages/%lld", (long long)msg);
	assert_int_equal(req("GET", path, ts.provider_key, NULL, &j), 200);
	assert_string_equal(jstr(j, "state"), "wake_sent");
	json_decref(j);
	snprintf(body, sizeof(body), "{\"job\":%lld,\"outcome\":\"delivered\",\"reference\":17}", (long long)job);
	assert_int_equal(req("POST", "/v1/gateway/report", ts.gateway_key, body, NULL), 204);
	assert_int_equal(req("GET", path, ts.provider_key, NULL, &j), 200);
	assert_string_equal(jstr(j, "state"), "sms_delivered");
	json_decref(j);

	/* Bad reports. */
	assert_int_equal(req("POST", "/v1/gateway/report", ts.gateway_key, "{\"job\":1}", NULL), 400);
	snprintf(body, sizeof(body), "{\"job\":%lld,\"outcome\":\"exploded\"}", (long long)job);
	assert_int_equal(req("POST", "/v1/gateway/report", ts.gateway_key, body, NULL), 400);
	assert_int_equal(
		req("POST", "/v1/gateway/report", ts.gateway_key, "{\"job\":999999,\"outcome\":\"failed\"}", NULL),
		404);
	assert_int_equal(req("POST", "/v1/gateway/lease", ts.gateway_key, "{\"max\":0}", NULL), 400);
	assert_int_equal(req("POST", "/v1/gateway/lease", ts.gateway_key, "{\"max\":2,\"extra\":1}", NULL), 400);
}

static void test_gateway_lease_expiry(void **state)
{
	(void)state;
	int64_t dev, job;
	char tok[128], gw2[128], body[128];
	json_t *j;
	long st;

	assert_int_equal(testsrv_device(&ts, "+15550009000", &dev, tok, sizeof(tok)), 0);
	assert_int_equal(testsrv_ctl(&ts, "gateway add second", gw2, sizeof(gw2)), 0);
	submit(dev, "hi", NULL, &st, NULL); /* a job with nothing to wake the device for is dropped */
	job = add_job(dev, "+15550009000");
	assert_int_equal(req("POST", "/v1/gateway/lease", ts.gateway_key, "{\"max\":1}", &j), 200);
	assert_int_equal(json_array_size(json_object_get(j, "jobs")), 1);
	json_decref(j);
	/* Another gateway may not report on it. */
	snprintf(body, sizeof(body), "{\"job\":%lld,\"outcome\":\"submitted\",\"reference\":1}", (long long)job);
	assert_int_equal(req("POST", "/v1/gateway/report", gw2, body, NULL), 404);
	/* lease_time is 3 s in this server: the unreported job goes to whoever asks next. */
	assert_int_equal(req("POST", "/v1/gateway/lease", gw2, "{\"max\":1,\"wait\":8}", &j), 200);
	assert_int_equal(json_array_size(json_object_get(j, "jobs")), 1);
	assert_int_equal(jint(json_array_get(json_object_get(j, "jobs"), 0), "job"), job);
	assert_int_equal(jint(json_array_get(json_object_get(j, "jobs"), 0), "attempt"), 2);
	json_decref(j);
	assert_int_equal(req("POST", "/v1/gateway/report", gw2, body, NULL), 204);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_health_and_metrics),   cmocka_unit_test(test_auth),
		cmocka_unit_test(test_routes_and_methods),   cmocka_unit_test(test_device_crud),
		cmocka_unit_test(test_device_bad_input),     cmocka_unit_test(test_other_provider),
		cmocka_unit_test(test_submit_fetch_ack),     cmocka_unit_test(test_paging),
		cmocka_unit_test(test_fetch_store_reads),    cmocka_unit_test(test_headers_ttl_topic_idempotency),
		cmocka_unit_test(test_body_limits),          cmocka_unit_test(test_slow_client),
		cmocka_unit_test(test_too_many_connections), cmocka_unit_test(test_long_poll),
		cmocka_unit_test(test_gateway_lease_report), cmocka_unit_test(test_gateway_lease_expiry),
		cmocka_unit_test(test_max_pending),          cmocka_unit_test(test_push_keys),
		cmocka_unit_test(test_encrypted_message),    cmocka_unit_test(test_push_endpoint),
		cmocka_unit_test(test_device_bulk),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
