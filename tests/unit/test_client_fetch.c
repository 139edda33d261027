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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ece.h"
#include "ece_encrypt.h"
#include "encode.h"
#include "smswake.h"
#include "test_client_server.h"
#include "wake.h"

#define PORT 16537
#define MAXSEEN 64

struct seen {
	uint64_t seq[MAXSEEN];
	int redelivered[MAXSEEN];
	int encrypted[MAXSEEN];
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
		s->encrypted[s->n] = m->encrypted;
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

/* Encrypts text to the device's push key as an application server would (RFC 8291). */
static size_t encrypt_to(const char *p256dh, const char *auth64, const char *text, uint8_t *out, size_t max)
{
	uint8_t pub[ECE_P256_PUB_LEN], auth[ECE_AUTH_LEN];
	size_t len = 0;

	assert_int_equal(enc_unb64(p256dh, strlen(p256dh), pub, sizeof(pub), 1), ECE_P256_PUB_LEN);
	assert_int_equal(enc_unb64(auth64, strlen(auth64), auth, sizeof(auth), 1), ECE_AUTH_LEN);
	assert_int_equal(ece_webpush_encrypt(pub, auth, NULL, NULL, NULL, 4096, (const uint8_t *)text, strlen(text), 3,
					     out, max, &len),
			 ECE_OK);
	return len;
}

static int file_has(const char *path, const char *needle)
{
	char buf[4096];
	FILE *fp = fopen(path, "r");
	size_t n;

	assert_non_null(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	return strstr(buf, needle) != NULL;
}

/* The device's keys are made once, kept 0600 in the state file, and an aes128gcm body reaches
 * the handler decrypted and marked as end-to-end encrypted; a plain one beside it is unchanged. */
static void test_push_decrypts(void **state)
{
	struct fixture *f = *state;
	char p256dh[SMSWAKE_P256DH_MAX], auth[SMSWAKE_AUTH_MAX], again[SMSWAKE_P256DH_MAX];
	uint8_t body[512];
	struct stat sb;
	size_t len;

	assert_int_equal(smswake_push_keys(f->h, 0, p256dh, auth), SMSWAKE_OK);
	assert_int_equal(strlen(p256dh), 87);
	assert_int_equal(strlen(auth), 22);
	assert_int_equal(stat(f->state, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_true(file_has(f->state, "\npush_key "));
	assert_int_equal(smswake_push_keys(f->h, 0, again, NULL), SMSWAKE_OK);
	assert_string_equal(again, p256dh);

	len = encrypt_to(p256dh, auth, "meet at noon", body, sizeof(body));
	ts_add_message_raw(f->ts, 1, body, len, "aes128gcm");
	ts_add_message(f->ts, 2, "plain", NULL);
	assert_int_equal(smswake_fetch(f->h, on_message, &f->seen, NULL), SMSWAKE_OK);
	assert_int_equal(f->seen.n, 2);
	assert_string_equal(f->seen.body[0], "meet at noon");
	assert_int_equal(f->seen.encrypted[0], 1);
	assert_string_equal(f->seen.body[1], "plain");
	assert_int_equal(f->seen.encrypted[1], 0);
	assert_int_equal(smswake_undecryptable(f->h), 0);
	assert_string_equal(ts_request(f->ts, 1), "POST /v1/device/ack {\"seq\":2}");
}

/* Ciphertext for another key, an unknown coding, a damaged body, or no key at all: never handed
 * over, acknowledged with the undecryptable outcome; the plain message between them is. */
static void test_push_undecryptable(void **state)
{
	struct fixture *f = *state;
	char p256dh[SMSWAKE_P256DH_MAX], auth[SMSWAKE_AUTH_MAX];
	uint8_t body[512], other_priv[32], other_pub[65], other_auth[16];
	char op[ENC_B64_LEN(65)], oa[ENC_B64_LEN(16)];
	size_t len;

	/* Before the device has a key. */
	assert_int_equal(ece_webpush_keygen(other_priv, other_pub, other_auth), ECE_OK);
	enc_b64(other_pub, sizeof(other_pub), op, 1);
	enc_b64(other_auth, sizeof(other_auth), oa, 1);
	len = encrypt_to(op, oa, "for someone else", body, sizeof(body));
	ts_add_message_raw(f->ts, 1, body, len, "aes128gcm");
	assert_int_equal(smswake_fetch(f->h, on_message, &f->seen, NULL), SMSWAKE_OK);
	assert_int_equal(f->seen.n, 0);
	assert_int_equal(smswake_undecryptable(f->h), 1);
	assert_string_equal(ts_request(f->ts, 1), "POST /v1/device/ack {\"seq\":1,\"undecryptable\":[1]}");

	assert_int_equal(smswake_push_keys(f->h, 0, p256dh, auth), SMSWAKE_OK);
	ts_add_message_raw(f->ts, 2, body, len, "aes128gcm");
	ts_add_message(f->ts, 3, "plain", NULL);
	len = encrypt_to(p256dh, auth, "old coding", body, sizeof(body));
	ts_add_message_raw(f->ts, 4, body, len, "aesgcm");
	body[len - 1] ^= 1;
	ts_add_message_raw(f->ts, 5, body, len, "aes128gcm");
	ts_add_message_raw(f->ts, 6, (const uint8_t *)"short", 5, "aes128gcm");
	assert_int_equal(smswake_fetch(f->h, on_message, &f->seen, NULL), SMSWAKE_OK);
	assert_int_equal(f->seen.n, 1);
	assert_string_equal(f->seen.body[0], "plain");
	assert_int_equal(smswake_undecryptable(f->h), 4);
	assert_string_equal(ts_request(f->ts, 3), "POST /v1/device/ack {\"seq\":6,\"undecryptable\":[2,4,5,6]}");
	assert_true(ts_acked(f->ts) == 6);
}

/* Rotation: what was encrypted to the old key before the server had the new one still decrypts;
 * the old key is dropped once the server confirmed those messages acknowledged. */
static void test_push_rotation(void **state)
{
	struct fixture *f = *state;
	char p1[SMSWAKE_P256DH_MAX], a1[SMSWAKE_AUTH_MAX], p2[SMSWAKE_P256DH_MAX], a2[SMSWAKE_AUTH_MAX];
	char want[256];
	uint8_t body[512];
	size_t len;

	assert_int_equal(smswake_push_upload(f->h), SMSWAKE_OK);
	assert_int_equal(smswake_push_keys(f->h, 0, p1, a1), SMSWAKE_OK);
	snprintf(want, sizeof(want), "{\"p256dh\":\"%s\",\"auth\":\"%s\"}", p1, a1);
	assert_string_equal(ts_push_keys(f->ts), want);
	assert_int_equal(strncmp(ts_request(f->ts, 0), "PUT /v1/device/push-keys {", 26), 0);

	len = encrypt_to(p1, a1, "to the first key", body, sizeof(body));
	ts_add_message_raw(f->ts, 1, body, len, "aes128gcm");
	assert_int_equal(smswake_push_keys(f->h, 1, p2, a2), SMSWAKE_OK);
	assert_string_not_equal(p1, p2);
	assert_string_not_equal(a1, a2);
	/* Only one previous key is kept: no second rotation while it is needed. */
	assert_int_equal(smswake_push_keys(f->h, 1, NULL, NULL), SMSWAKE_EINVAL);
	assert_int_equal(smswake_push_upload(f->h), SMSWAKE_OK);
	snprintf(want, sizeof(want), "{\"p256dh\":\"%s\",\"auth\":\"%s\"}", p2, a2);
	assert_string_equal(ts_push_keys(f->ts), want);
	assert_true(file_has(f->state, "\nold_push_until 1\n"));

	len = encrypt_to(p2, a2, "to the second key", body, sizeof(body));
	ts_add_message_raw(f->ts, 2, body, len, "aes128gcm");
	assert_int_equal(smswake_fetch(f->h, on_message, &f->seen, NULL), SMSWAKE_OK);
	assert_int_equal(f->seen.n, 2);
	assert_string_equal(f->seen.body[0], "to the first key");
	assert_string_equal(f->seen.body[1], "to the second key");
	assert_true(f->seen.encrypted[0] && f->seen.encrypted[1]);
	assert_false(file_has(f->state, "old_push_key"));
	assert_true(file_has(f->state, "\npush_key "));

	/* After that, a message to the first key no longer decrypts, and rotating again works. */
	len = encrypt_to(p1, a1, "late", body, sizeof(body));
	ts_add_message_raw(f->ts, 3, body, len, "aes128gcm");
	assert_int_equal(smswake_fetch(f->h, on_message, &f->seen, NULL), SMSWAKE_OK);
	assert_int_equal(f->seen.n, 2);
	assert_int_equal(smswake_undecryptable(f->h), 1);
	assert_int_equal(smswake_push_keys(f->h, 1, NULL, NULL), SMSWAKE_OK);
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
		cmocka_unit_test_setup_teardown(test_push_decrypts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_push_undecryptable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_push_rotation, setup, teardown),
	};
	return cmocka_run_group_tests_name("client-fetch", tests, NULL, NULL);
}
