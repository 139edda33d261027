/* SPDX-License-Identifier: MIT */
/* libsmswake fetch tests against the in-test device API server (test_client_server.c): order,
 * paging, duplicates, cumulative acks, crash safety of the cursor, retries and Retry-After,
 * errors, keep-alive, and no request at all for a rejected wakeup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "encode.h"
#include "smswake.h"
#include "test_client_server.h"
#include "wake.h"

#define PORT 16537
#define MAXSEEN 64

struct seen {
	uint64_t seq[MAXSEEN];
	int redelivered[MAXSEEN];
	char body[MAXSEEN][64];
	char topic[MAXSEEN][16];
	size_t n;
	uint64_t stop_at; /* return non-zero for this seq */
	uint64_t die_at;  /* _exit the process at this seq (crash) */
};

struct fixture {
	char dir[64];
	char state[96];
	uint8_t key[WAKE_KEY_LEN];
	struct ts_server *ts;
	smswake_t *h;
	struct seen seen;
};

static int on_message(const struct smswake_message *m, void *ctx)
{
	struct seen *s = ctx;

	if (m->seq == s->die_at)
		_exit(42);
	if (s->n < MAXSEEN) {
		s->seq[s->n] = m->seq;
		s->redelivered[s->n] = m->redelivered;
		snprintf(s->body[s->n], sizeof(s->body[0]), "%.*s", (int)m->body_len, (const char *)m->body);
		snprintf(s->topic[s->n], sizeof(s->topic[0]), "%s", m->topic ? m->topic : "-");
		s->n++;
	}
	return m->seq == s->stop_at;
}

static smswake_t *new_handle(struct fixture *f, const char *url, const char *token)
{
	static const uint8_t master[32] = {1, 2, 3};
	char b64[ENC_B64_LEN(WAKE_KEY_LEN)];
	smswake_t *h;

	assert_int_equal(wake_derive_key(master, sizeof(master), 1, 12, f->key), 0);
	enc_b64(f->key, WAKE_KEY_LEN, b64, 0);
	assert_int_equal(smswake_new(&h), SMSWAKE_OK);
	assert_int_equal(smswake_setopt(h, "server", url), SMSWAKE_OK);
	assert_int_equal(smswake_setopt(h, "device_id", "12"), SMSWAKE_OK);
	assert_int_equal(smswake_setopt(h, "token", token), SMSWAKE_OK);
	assert_int_equal(smswake_setopt(h, "wake_key", b64), SMSWAKE_OK);
	assert_int_equal(smswake_setopt(h, "state_file", f->state), SMSWAKE_OK);
	assert_int_equal(smswake_setopt(h, "retry_delay_ms", "1"), SMSWAKE_OK);
	assert_int_equal(smswake_setopt(h, "retry_max_ms", "50"), SMSWAKE_OK);
	assert_int_equal(smswake_setopt(h, "retries", "3"), SMSWAKE_OK);
	assert_int_equal(smswake_setopt(h, "connect_timeout", "5"), SMSWAKE_OK);
	assert_int_equal(smswake_setopt(h, "timeout", "10"), SMSWAKE_OK);
	return h;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_client_fetch-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->state, sizeof(f->state), "%s/state", f->dir);
	f->ts = ts_start();
	assert_non_null(f->ts);
	f->h = new_handle(f, ts_url(f->ts), TS_TOKEN);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char path[160];

	smswake_free(f->h);
	ts_stop(f->ts);
	unlink(f->state);
	snprintf(path, sizeof(path), "%s.lock", f->state);
	unlink(path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void test_fetch_in_order(void **state)
{
	struct fixture *f = *state;
	struct smswake_fetch_result r;
	uint64_t ctr, cur;

	ts_add_message(f->ts, 1, "one", NULL);
	ts_add_message(f->ts, 2, "two", "alarm");
	ts_add_message(f->ts, 3, "", NULL);
	ts_set_next_poll(f->ts, 300);
	assert_int_equal(smswake_fetch(f->h, on_message, &f->seen, &r), SMSWAKE_OK);
	assert_int_equal(f->seen.n, 3);
	assert_true(f->seen.seq[0] == 1 && f->seen.seq[1] == 2 && f->seen.seq[2] == 3);
	assert_string_equal(f->seen.body[0], "one");
	assert_string_equal(f->seen.body[1], "two");
	assert_string_equal(f->seen.topic[1], "alarm");
	assert_string_equal(f->seen.topic[0], "-");
	assert_string_equal(f->seen.body[2], "");
	assert_int_equal(f->seen.redelivered[0], 0);
	assert_int_equal(r.delivered, 3);
	assert_int_equal(r.duplicates, 0);
	assert_true(r.cursor == 3);
	assert_int_equal(r.next_poll, 300);
	assert_int_equal(ts_nrequests(f->ts), 2);
	assert_string_equal(ts_request(f->ts, 0), "GET /v1/device/messages?after=0&max=50");
	assert_string_equal(ts_request(f->ts, 1), "POST /v1/device/ack {\"seq\":3}");
	assert_true(ts_acked(f->ts) == 3);
	assert_int_equal(ts_connections(f->ts), 1);
	assert_int_equal(smswake_get_state(f->h, &ctr, &cur), SMSWAKE_OK);
	assert_true(cur == 3);

	/* Nothing new: one GET answered 204, no ack. */
	assert_int_equal(smswake_fetch(f->h, on_message, &f->seen, &r), SMSWAKE_OK);
	assert_int_equal(r.delivered, 0);
	assert_int_equal(ts_nrequests(f->ts), 3);
	assert_string_equal(ts_request(f->ts, 2), "GET /v1/device/messages?after=3&max=50");
}

static void test_paging_one_connection(void **state)
{
	struct fixture *f = *state;
	struct smswake_fetch_result r;
	char body[16];

	for (int i = 1; i <= 5; i++) {
		snprintf(body, sizeof(body), "m%d", i);
		ts_add_message(f->ts, (uint64_t)i * 10, body, NULL); /* gaps are fine */
	}
	ts_set_page_cap(f->ts, 2);
	assert_int_equal(smswake_setopt(f->h, "wait", "20"), SMSWAKE_OK);
	assert_int_equal(smswake_fetch(f->h, on_message, &f->seen, &r), SMSWAKE_OK);
	assert_int_equal(f->seen.n, 5);
	assert_true(f->seen.seq[4] == 50);
	assert_string_equal(f->seen.body[4], "m5");
	assert_int_equal(ts_nrequests(f->ts), 4);
	assert_string_equal(ts_request(f->ts, 0), "GET /v1/device/messages?after=0&max=50&wait=20");
	assert_string_equal(ts_request(f->ts, 1), "GET /v1/device/messages?after=20&max=50");
	assert_string_equal(ts_request(f->ts, 2), "GET /v1/device/messages?after=40&max=50");
	assert_string_equal(ts_request(f->ts, 3), "POST /v1/device/ack {\"seq\":50}");
	assert_int_equal(ts_connections(f->ts), 1);
}

static void test_handler_stop(void **state)
{
	struct fixture *f = *state;
	struct smswake_fetch_result r;

	ts_add_message(f->ts, 1, "a", NULL);
	ts_add_message(f->ts, 2, "b", NULL);
	ts_add_message(f->ts, 3, "c", NULL);
	f->seen.stop_at = 2;
	assert_int_equal(smswake_fetch(f->h, on_message, &f->seen, &r), SMSWAKE_EHANDLER);
	assert_int_equal(r.delivered, 1);
	assert_true(r.cursor == 1);
	assert_true(ts_acked(f->ts) == 1);
	assert_string_equal(ts_request(f->ts, 1), "POST /v1/device/ack {\"seq\":1}");

	/* Next round: 2 again (marked, the callback saw it), then 3. */
	f->seen.stop_at = 0;
	f->seen.n = 0;
	assert_int_equal(smswake_fetch(f->h, on_message, &f->seen, &r), SMSWAKE_OK);
	assert_int_equal(f->seen.n, 2);
	assert_true(f->seen.seq[0] == 2 && f->seen.seq[1] == 3);
	assert_int_equal(f->seen.redelivered[0], 1);
	assert_int_equal(f->seen.redelivered[1], 0);
	assert_true(ts_acked(f->ts) == 3);
}

/* The ack is lost after the cursor was stored; the server then sends everything again. The
 * handler must not see any message twice. */
static void test_duplicates_after_lost_ack(void **state)
{
	struct fixture *f = *state;
	struct smswake_fetch_result r;

	assert_int_equal(smswake_setopt(f->h, "retries", "0"), SMSWAKE_OK);
	ts_add_message(f->ts, 1, "a", NULL);
	ts_add_message(f->ts, 2, "b", NULL);
	ts_add_message(f->ts, 3, "c", NULL);
	ts_script(f->ts, -1, NULL, NULL); /* GET: the model */
	ts_script(f->ts, 503, "", NULL);  /* ack: lost */
	assert_int_equal(smswake_fetch(f->h, on_message, &f->seen, &r), SMSWAKE_ENETWORK);
	assert_int_equal(f->seen.n, 3);
	assert_true(ts_acked(f->ts) == 0);

	ts_add_message(f->ts, 4, "d", NULL);
	ts_set_ignore_after(f->ts, 1);
	f->seen.n = 0;
	assert_int_equal(smswake_fetch(f->h, on_message, &f->seen, &r), SMSWAKE_OK);
	assert_int_equal(f->seen.n, 1);
	assert_true(f->seen.seq[0] == 4);
	assert_int_equal(r.duplicates, 3);
	assert_true(ts_acked(f->ts) == 4);

	/* The ack pending from a lost exchange is sent even when nothing new arrives. */
	ts_script(f->ts, -1, NULL, NULL);
	ts_script(f->ts, 504, "", NULL); /* ack: gateway timeout */
	ts_add_message(f->ts, 5, "e", NULL);
	assert_int_equal(smswake_fetch(f->h, on_message, &f->seen, &r), SMSWAKE_ENETWORK);
	assert_true(ts_acked(f->ts) == 4);
	ts_set_ignore_after(f->ts, 0);
	assert_int_equal(smswake_fetch(f->h, on_message, &f->seen, &r), SMSWAKE_OK);
	assert_int_equal(r.delivered, 0);
	assert_true(ts_acked(f->ts) == 5);
}

/* The process dies inside the handler (power loss): the next run hands that message over again,
 * marked as possibly seen, and never the ones before it. */
static void test_crash_in_handler(void **state)
{
	struct fixture *f = *state;
	struct smswake_fetch_result r;
	pid_t pid;
	int status;

	for (int i = 1; i <= 4; i++)
		ts_add_message(f->ts, (uint64_t)i, "x", NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		smswake_t *h = new_handle(f, ts_url(f->ts), TS_TOKEN);
		f->seen.die_at = 3;
		smswake_fetch(h, on_message, &f->seen, NULL);
		_exit(1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 42);
	assert_true(ts_acked(f->ts) == 0); /* it died before acknowledging */

	ts_set_ignore_after(f->ts, 1); /* the server sends 1..4 again */
	assert_int_equal(smswake_fetch(f->h, on_message, &f->seen, &r), SMSWAKE_OK);
	assert_int_equal(f->seen.n, 2);
	assert_true(f->seen.seq[0] == 3 && f->seen.seq[1] == 4);
	assert_int_equal(f->seen.redelivered[0], 1);
	assert_int_equal(f->seen.redelivered[1], 0);
	assert_int_equal(r.duplicates, 2);
	assert_true(ts_acked(f->ts) == 4);
}

static void test_retry_and_retry_after(void **state)
{
	struct fixture *f = *state;
	struct smswake_fetch_result r;

	ts_add_message(f->ts, 1, "a", NULL);
	ts_script(f->ts, 503, "", "Retry-After: 0");
	ts_script(f->ts, 0, NULL, NULL); /* connection dropped */
	ts_script(f->ts, 502, "", NULL);
	assert_int_equal(smswake_fetch(f->h, on_message, &f->seen, &r), SMSWAKE_OK);
	assert_int_equal(f->seen.n, 1);
	assert_int_equal(ts_nrequests(f->ts), 5); /* 4 GETs, 1 ack */

	/* A Retry-After beyond what we wait now: give up at once and report it. */
	ts_add_message(f->ts, 2, "b", NULL);
	ts_script(f->ts, 429, "", "Retry-After: 120");
	assert_int_equal(smswake_fetch(f->h, on_message, &f->seen, &r), SMSWAKE_ENETWORK);
	assert_int_equal(r.retry_after, 120);
	assert_int_equal(ts_nrequests(f->ts), 6);

	/* Retries run out. */
	for (int i = 0; i < 4; i++)
		ts_script(f->ts, 503, "", NULL);
	assert_int_equal(smswake_fetch(f->h, on_message, &f->seen, &r), SMSWAKE_ENETWORK);
	assert_int_equal(ts_nrequests(f->ts), 10);
	assert_int_equal(f->seen.n, 1);
}

static void test_unreachable(void **state)
{
	struct fixture *f = *state;
	struct ts_server *gone = ts_start();
	char url[64];
	smswake_t *h;

	snprintf(url, sizeof(url), "%s", ts_url(gone));
	ts_stop(gone);
	h = new_handle(f, url, TS_TOKEN);
	assert_int_equal(smswake_fetch(h, on_message, &f->seen, NULL), SMSWAKE_ENETWORK);
	assert_true(strlen(smswake_errmsg(h)) > 0);
	smswake_free(h);
}

static void test_errors(void **state)
{
	struct fixture *f = *state;
	struct smswake_fetch_result r;
	smswake_t *h = new_handle(f, ts_url(f->ts), "wrong-token");

	ts_add_message(f->ts, 1, "a", NULL);
	assert_int_equal(smswake_fetch(h, on_message, &f->seen, &r), SMSWAKE_EAUTH);
	assert_int_equal(ts_nrequests(f->ts), 1);
	smswake_free(h);

	ts_script(f->ts, 200,
		  "{\"messages\":[{\"id\":1,\"seq\":2,\"body\":\"YQ==\"},"
		  "{\"id\":2,\"seq\":1,\"body\":\"YQ==\"}],\"more\":false}",
		  NULL);
	ts_script(f->ts, -1, NULL, NULL); /* the ack of seq 2, which was handled */
	assert_int_equal(smswake_fetch(f->h, on_message, &f->seen, &r), SMSWAKE_EPROTO);
	ts_script(f->ts, 200, "{\"messages\":[{\"id\":1,\"seq\":1,\"body\":\"*\"}]}", NULL);
	assert_int_equal(smswake_fetch(f->h, on_message, &f->seen, &r), SMSWAKE_EPROTO);
	ts_script(f->ts, 200, "not json", NULL);
	assert_int_equal(smswake_fetch(f->h, on_message, &f->seen, &r), SMSWAKE_EPROTO);
	ts_script(f->ts, 200, "{\"messages\":[],\"messages\":[]}", NULL);
	assert_int_equal(smswake_fetch(f->h, on_message, &f->seen, &r), SMSWAKE_EPROTO);
	ts_script(f->ts, 404, "", NULL);
	assert_int_equal(smswake_fetch(f->h, on_message, &f->seen, &r), SMSWAKE_EHTTP);
	/* Only the first malformed page's message (seq 2) was handed over, then order failed. */
	assert_int_equal(f->seen.n, 1);
	assert_true(f->seen.seq[0] == 2);
	assert_int_equal(smswake_setopt(f->h, "max_body", "4"), SMSWAKE_OK);
	ts_add_message(f->ts, 3, "much too long", NULL);
	assert_int_equal(smswake_fetch(f->h, on_message, &f->seen, &r), SMSWAKE_EPROTO);
}

static void test_wakeup_then_fetch(void **state)
{
	struct fixture *f = *state;
	uint8_t udh[WAKE_UDH_LEN], p[WAKE_PAYLOAD_LEN];
	struct wake_msg m = {.version = 1, .key_id = 1, .counter = 5, .pending = 1};
	struct smswake_fetch_result r;

	wake_udh(PORT, udh);
	assert_int_equal(wake_encode(f->key, PORT, &m, p, sizeof(p), NULL), WAKE_OK);
	/* Forged and stale wakeups cost no request at all. */
	p[30] ^= 4;
	assert_int_equal(smswake_handle_sms(f->h, udh, sizeof(udh), p, sizeof(p), NULL), SMSWAKE_EREJECTED);
	p[30] ^= 4;
	assert_int_equal(smswake_handle_sms(f->h, udh, sizeof(udh), p, sizeof(p), NULL), SMSWAKE_OK);
	assert_int_equal(smswake_handle_sms(f->h, udh, sizeof(udh), p, sizeof(p), NULL), SMSWAKE_ESTALE);
	assert_int_equal(ts_nrequests(f->ts), 0);

	/* Nothing queued (204): the device still reports the wakeup it accepted. */
	ts_set_next_poll(f->ts, 120);
	assert_int_equal(smswake_fetch(f->h, on_message, &f->seen, &r), SMSWAKE_OK);
	assert_int_equal(ts_nrequests(f->ts), 2);
	assert_string_equal(ts_request(f->ts, 1), "POST /v1/device/ack {\"seq\":0,\"wake_ctr\":5}");
	assert_true(ts_wake_ctr(f->ts) == 5);
	assert_int_equal(r.next_poll, 120);
	/* Reported once only. */
	assert_int_equal(smswake_fetch(f->h, on_message, &f->seen, &r), SMSWAKE_OK);
	assert_int_equal(ts_nrequests(f->ts), 3);

	/* A message and a new wakeup: one ack carries both. */
	m.counter = 6;
	assert_int_equal(wake_encode(f->key, PORT, &m, p, sizeof(p), NULL), WAKE_OK);
	assert_int_equal(smswake_handle_sms(f->h, udh, sizeof(udh), p, sizeof(p), NULL), SMSWAKE_OK);
	ts_add_message(f->ts, 1, "hello", NULL);
	assert_int_equal(smswake_fetch(f->h, on_message, &f->seen, &r), SMSWAKE_OK);
	assert_string_equal(ts_request(f->ts, 4), "POST /v1/device/ack {\"seq\":1,\"wake_ctr\":6}");
}

/* Counters with the top bit set, up to the last one, travel in the ack as unsigned decimal JSON
 * numbers (docs/api.md; JSON has no integer range, only some parsers do). */
static void test_ack_counter_range(void **state)
{
	static const struct {
		uint64_t counter;
		const char *ack;
	} steps[] = {
		{9223372036854775808ULL, "POST /v1/device/ack {\"seq\":1,\"wake_ctr\":9223372036854775808}"},
		{18446744073709551614ULL, "POST /v1/device/ack {\"seq\":2,\"wake_ctr\":18446744073709551614}"},
		{18446744073709551615ULL, "POST /v1/device/ack {\"seq\":3,\"wake_ctr\":18446744073709551615}"},
	};
	struct fixture *f = *state;
	uint8_t udh[WAKE_UDH_LEN], p[WAKE_PAYLOAD_LEN];
	struct wake_msg m = {.version = 1, .key_id = 1};
	struct smswake_fetch_result r;
	size_t req = 0;

	wake_udh(PORT, udh);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		char body[8];

		m.counter = steps[i].counter;
		assert_int_equal(wake_encode(f->key, PORT, &m, p, sizeof(p), NULL), WAKE_OK);
		assert_int_equal(smswake_handle_sms(f->h, udh, sizeof(udh), p, sizeof(p), NULL), SMSWAKE_OK);
		snprintf(body, sizeof(body), "m%zu", i + 1);
		ts_add_message(f->ts, i + 1, body, NULL);
		assert_int_equal(smswake_fetch(f->h, on_message, &f->seen, &r), SMSWAKE_OK);
		req += 2;
		assert_int_equal(ts_nrequests(f->ts), req);
		assert_string_equal(ts_request(f->ts, req - 1), steps[i].ack);
		assert_true(ts_wake_ctr(f->ts) == steps[i].counter);
	}
	/* Exhausted: no wakeup passes any more, and fetching goes on; every ack repeats the last
	 * counter (the server keeps the largest it has seen). */
	assert_int_equal(smswake_handle_sms(f->h, udh, sizeof(udh), p, sizeof(p), NULL), SMSWAKE_ESTALE);
	ts_add_message(f->ts, 4, "m4", NULL);
	assert_int_equal(smswake_fetch(f->h, on_message, &f->seen, &r), SMSWAKE_OK);
	assert_int_equal(r.delivered, 1);
	assert_string_equal(ts_request(f->ts, req + 1),
			    "POST /v1/device/ack {\"seq\":4,\"wake_ctr\":18446744073709551615}");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fetch_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_paging_one_connection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handler_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicates_after_lost_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_in_handler, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_and_retry_after, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreachable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wakeup_then_fetch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ack_counter_range, setup, teardown),
	};
	return cmocka_run_group_tests_name("client-fetch", tests, NULL, NULL);
}
