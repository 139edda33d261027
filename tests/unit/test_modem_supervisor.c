/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Supervisor tests with real worker processes: Gammu's dummy driver for sends, incoming messages
 * and status reports; test faults (SMSWAKE_MODEM_TEST_FAULT) and a pseudo-terminal that never
 * answers for deadline -> kill -> restart -> job failed-retryable; a bad configuration that must
 * stop a modem for good. */
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "supervisor.h"
#include "util.h"

#define MAX_JOBS 64

struct job_seen {
	uint32_t id;
	int done; /* 0, or the order in which the job finished (1 first) */
	int status;
	int reference;
	uint64_t cookie;
	int retry_after_ms;
};

struct ctx {
	struct supervisor *sv;
	struct job_seen jobs[MAX_JOBS];
	int njobs;
	int finished;
	int sms;
	struct modem_sms_in last_in;
	int reports;
	int report_matched;
	uint64_t report_cookie;
	int report_outcome;
	int stopped_events;
	char dir[64];
};

static struct ctx C;

static void on_event(const struct supervisor_event *ev, void *arg)
{
	struct ctx *c = arg;

	switch (ev->type) {
	case SUPERVISOR_EV_JOB:
		for (int i = 0; i < c->njobs; i++) {
			if (c->jobs[i].id == ev->job_id) {
				c->jobs[i].done = ++c->finished;
				c->jobs[i].status = ev->status;
				c->jobs[i].reference = ev->reference;
				c->jobs[i].cookie = ev->cookie;
				c->jobs[i].retry_after_ms = ev->retry_after_ms;
			}
		}
		break;
	case SUPERVISOR_EV_SMS:
		c->sms++;
		c->last_in = *ev->in;
		break;
	case SUPERVISOR_EV_REPORT:
		c->reports++;
		c->last_in = *ev->in;
		c->report_matched = ev->matched;
		c->report_cookie = ev->sent_cookie;
		c->report_outcome = ev->outcome;
		break;
	case SUPERVISOR_EV_MODEM:
		if (ev->state == SUPERVISOR_MODEM_STOPPED)
			c->stopped_events++;
		break;
	}
}

static struct job_seen *track(uint32_t id)
{
	assert_true(C.njobs < MAX_JOBS);
	C.jobs[C.njobs].id = id;
	return &C.jobs[C.njobs++];
}

static void worker_path(struct supervisor_options *opt)
{
	const char *build = getenv("SMSWAKE_BUILD");
	char self[PATH_MAX];
	ssize_t n;

	/* The test runs from $(O)/tests/unit; the worker is $(O)/smswake-modem-worker. */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		for (int up = 0; up < 3; up++) {
			char *s = strrchr(self, '/');
			if (s != NULL)
				*s = '\0';
		}
		if ((size_t)snprintf(opt->worker_path, sizeof(opt->worker_path), "%.480s/smswake-modem-worker", self) <
			    sizeof(opt->worker_path) &&
		    access(opt->worker_path, X_OK) == 0)
			return;
	}
	snprintf(opt->worker_path, sizeof(opt->worker_path), "%s/smswake-modem-worker", build ? build : "build");
}

/* Short intervals so the recovery paths run within a test, but deadlines sized for a loaded
 * machine: Gammu's dummy driver opens a file for each of its 10000 locations per folder on
 * every storage status and every read of the storage, which takes a second or more under the
 * sanitizers on a busy CI host. A deadline a test does not mean to miss is never near that. */
static void fast_options(struct supervisor_options *opt)
{
	supervisor_options_init(opt);
	worker_path(opt);
	opt->health_interval_ms = 1000;
	opt->send_timeout_ms = 20000;
	opt->op_timeout_ms = 20000;
	opt->init_timeout_ms = 20000;
	opt->queue_timeout_ms = 30000;
	opt->backoff_min_ms = 200;
	opt->backoff_max_ms = 800;
	opt->reset_wait_ms = 300;
	opt->incoming_poll_ms = 500;
}

/* How long a test waits for something that happens within a second on an idle machine. */
#define LONG_WAIT_MS 30000

static void dummy_modem(struct modem_config *cfg, const char *name)
{
	char path[128];

	modem_config_init(cfg);
	snprintf(cfg->name, sizeof(cfg->name), "%s", name);
	snprintf(path, sizeof(path), "%s/%s", C.dir, name);
	assert_int_equal(util_mkdir_p(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/%s/sms/1", C.dir, name);
	assert_int_equal(util_mkdir_p(path, 0700), 0);
	snprintf(cfg->device, sizeof(cfg->device), "%s/%s", C.dir, name);
	snprintf(cfg->model, sizeof(cfg->model), "dummy");
	snprintf(cfg->connection, sizeof(cfg->connection), "none");
}

static int setup(void **state)
{
	(void)state;
	memset(&C, 0, sizeof(C));
	snprintf(C.dir, sizeof(C.dir), "/tmp/test_modem_sv.XXXXXX");
	assert_non_null(mkdtemp(C.dir));
	unsetenv("SMSWAKE_MODEM_TEST_FAULT");
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	supervisor_free(C.sv);
	C.sv = NULL;
	unsetenv("SMSWAKE_MODEM_TEST_FAULT");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", C.dir);
	if (system(cmd) != 0)
		return -1;
	return 0;
}

static void start(const struct supervisor_options *opt, const struct modem_config *cfgs, int n)
{
	assert_int_equal(supervisor_new(&C.sv, opt, on_event, &C), 0);
	for (int i = 0; i < n; i++)
		assert_int_equal(supervisor_add_modem(C.sv, &cfgs[i]), i);
	assert_int_equal(supervisor_start(C.sv), 0);
}

/* Runs the supervisor until cond holds or timeout_ms pass; returns whether it held. */
#define WAIT_FOR(cond, timeout_ms)                                                                                     \
	({                                                                                                             \
		int64_t until_ = util_mono_ms() + (timeout_ms);                                                        \
		while (!(cond) && util_mono_ms() < until_)                                                             \
			supervisor_run(C.sv, 50);                                                                      \
		(cond);                                                                                                \
	})

static int healthy(int i)
{
	struct supervisor_modem_info info;
	supervisor_modem_info(C.sv, i, &info);
	return info.state == SUPERVISOR_MODEM_READY && info.healthy;
}

static struct supervisor_modem_info info_of(int i)
{
	struct supervisor_modem_info info;
	assert_int_equal(supervisor_modem_info(C.sv, i, &info), 0);
	return info;
}

static void port_msg(struct modem_sms_out *m, size_t len)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->number, sizeof(m->number), "+15550000002");
	m->binary = 1;
	m->dst_port = 0x23f0;
	m->src_port = 0x1234;
	for (size_t i = 0; i < len && i < sizeof(m->data); i++)
		m->data[i] = (uint8_t)(0xa0 + i);
	m->data_len = len; /* may claim more than fits: the length check must catch it */
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_send_receive_report(void **state)
{
	struct supervisor_options opt;
	struct modem_config cfg[2];
	struct modem_sms_out m;
	struct job_seen *j;
	uint32_t id;
	char path[160];

	(void)state;
	fast_options(&opt);
	dummy_modem(&cfg[0], "a");
	dummy_modem(&cfg[1], "b");
	start(&opt, cfg, 2);
	assert_true(WAIT_FOR(healthy(0) && healthy(1), LONG_WAIT_MS));

	/* Over the limit: refused before any queue, let alone Gammu. */
	port_msg(&m, 134);
	assert_int_equal(supervisor_send(C.sv, SUPERVISOR_ANY, &m, 1, &id), MODEM_E_TOO_LONG);

	port_msg(&m, 133);
	assert_int_equal(supervisor_send(C.sv, SUPERVISOR_ANY, &m, 5, &id), 0);
	j = track(id);
	assert_true(WAIT_FOR(j->done, LONG_WAIT_MS));
	assert_int_equal(j->status, MODEM_OK);
	assert_int_equal(j->reference, 255); /* what the dummy driver answers */
	assert_true(j->cookie == 5);

	/* An incoming port-addressed SMS is reported with its ports and deleted from the modem. */
	snprintf(path, sizeof(path), "%s/a/sms/1/1", C.dir);
	write_file(path, "[SMSBackup000]\nSMSC = \"+15559999999\"\nNumber = \"+15550000001\"\n"
			 "Coding = 8bit\nUDH = 06050423F01234\nText00 = 00FF7F80\nFolder = 1\nPDU = Deliver\n");
	assert_true(WAIT_FOR(C.sms == 1, LONG_WAIT_MS));
	assert_string_equal(C.last_in.number, "+15550000001");
	assert_int_equal(C.last_in.has_ports, 1);
	assert_int_equal(C.last_in.dst_port, 0x23f0);
	assert_int_equal(C.last_in.src_port, 0x1234);
	assert_int_equal(C.last_in.binary, 1);
	assert_int_equal(C.last_in.data_len, 4);
	assert_memory_equal(C.last_in.data, "\x00\xff\x7f\x80", 4);
	/* The worker deletes it right after reporting it (a crash may duplicate, never lose). */
	assert_true(WAIT_FOR(access(path, F_OK) == -1, LONG_WAIT_MS));

	/* A status report is matched to its send by modem, reference and recipient. */
	port_msg(&m, 10);
	m.status_report = 1;
	assert_int_equal(supervisor_send(C.sv, 1, &m, 77, &id), 0);
	j = track(id);
	assert_true(WAIT_FOR(j->done, LONG_WAIT_MS));
	assert_int_equal(j->status, MODEM_OK);
	snprintf(path, sizeof(path), "%s/b/sms/1/1", C.dir);
	/* The recipient in national format still matches. */
	write_file(path, "[SMSBackup000]\nNumber = \"5550000002\"\nPDU = Status_Report\n"
			 "MessageReference = 255\nFolder = 1\n");
	assert_true(WAIT_FOR(C.reports == 1, LONG_WAIT_MS));
	assert_int_equal(C.report_matched, 1);
	assert_true(C.report_cookie == 77);
	assert_int_equal(C.report_outcome, 0);
	/* The same report again matches nothing: the first one was final. (Another file: the
	 * worker may still be deleting the first.) */
	snprintf(path, sizeof(path), "%s/b/sms/1/2", C.dir);
	write_file(path, "[SMSBackup000]\nNumber = \"+15550000002\"\nPDU = Status_Report\n"
			 "MessageReference = 255\nFolder = 1\n");
	assert_true(WAIT_FOR(C.reports == 2, LONG_WAIT_MS));
	assert_int_equal(C.report_matched, 0);

	/* Status and identify through the same path. */
	assert_int_equal(supervisor_request(C.sv, 0, SUPERVISOR_OP_IDENTIFY, 0, &id), 0);
	j = track(id);
	assert_true(WAIT_FOR(j->done, LONG_WAIT_MS));
	assert_int_equal(j->status, MODEM_OK);
	assert_string_equal(info_of(0).ident.model, "Dummy");
	assert_int_equal(info_of(0).restarts, 0);
	assert_int_equal(info_of(0).kills, 0);
}

/* A send that hangs inside the worker: the deadline kills it, the job fails retryable, the
 * worker comes back, and the other modem never waited. */
static void test_hang_send(void **state)
{
	struct supervisor_options opt;
	struct modem_config cfg[2];
	struct modem_sms_out m;
	struct job_seen *hung, *other, *after;
	uint32_t id;
	int64_t t0;
	int first_pid;

	(void)state;
	fast_options(&opt);
	/* The deadline under test. Once both modems are healthy nothing else runs on them (no health
	 * check, no storage read), so the send on the other modem is done long before it. */
	opt.send_timeout_ms = 3000;
	opt.health_interval_ms = 600000;
	opt.incoming_poll_ms = 600000;
	dummy_modem(&cfg[0], "h");
	dummy_modem(&cfg[1], "ok");
	setenv("SMSWAKE_MODEM_TEST_FAULT", "h:hang-send", 1);
	start(&opt, cfg, 2);
	assert_true(WAIT_FOR(healthy(0) && healthy(1), LONG_WAIT_MS));
	/* Workers read the fault at start: the restarted one will not hang. */
	unsetenv("SMSWAKE_MODEM_TEST_FAULT");
	first_pid = info_of(0).pid;

	port_msg(&m, 20);
	t0 = util_mono_ms();
	assert_int_equal(supervisor_send(C.sv, 0, &m, 1, &id), 0);
	hung = track(id);
	assert_int_equal(supervisor_send(C.sv, 1, &m, 2, &id), 0);
	other = track(id);
	assert_true(WAIT_FOR(other->done && hung->done, LONG_WAIT_MS));
	assert_int_equal(other->status, MODEM_OK);
	assert_true(other->done < hung->done); /* the other modem never waited for the hung one */

	assert_int_equal(hung->status, MODEM_E_TIMEOUT);
	assert_int_equal(modem_err_class(hung->status), MODEM_CLASS_RETRY);
	assert_true(util_mono_ms() - t0 >= opt.send_timeout_ms);
	assert_int_equal(info_of(0).kills, 1);
	assert_int_not_equal(info_of(0).pid, first_pid);
	assert_int_equal(kill(first_pid, 0), -1); /* reaped, not a zombie */

	assert_true(WAIT_FOR(healthy(0), LONG_WAIT_MS));
	assert_true(info_of(0).restarts >= 1);
	assert_int_equal(supervisor_send(C.sv, 0, &m, 3, &id), 0);
	after = track(id);
	assert_true(WAIT_FOR(after->done, LONG_WAIT_MS));
	assert_int_equal(after->status, MODEM_OK);
}

/* A send whose worker hangs after the SMS was handed to the modem: the deadline kills it as
 * before, but the send is reported maybe-sent (class unknown), not failed: resending it could
 * duplicate it. A hang before the handover stays a timeout (test_hang_send). */
static void test_hang_after_handover(void **state)
{
	struct supervisor_options opt;
	struct modem_config cfg;
	struct modem_sms_out m;
	struct job_seen *j;
	uint32_t id;

	(void)state;
	fast_options(&opt);
	opt.send_timeout_ms = 3000;
	opt.health_interval_ms = 600000;
	opt.incoming_poll_ms = 600000;
	dummy_modem(&cfg, "hh");
	setenv("SMSWAKE_MODEM_TEST_FAULT", "hh:hang-after-handover", 1);
	start(&opt, &cfg, 1);
	assert_true(WAIT_FOR(healthy(0), LONG_WAIT_MS));
	unsetenv("SMSWAKE_MODEM_TEST_FAULT");
	port_msg(&m, 5);
	assert_int_equal(supervisor_send(C.sv, 0, &m, 9, &id), 0);
	j = track(id);
	assert_true(WAIT_FOR(j->done, LONG_WAIT_MS));
	assert_int_equal(j->status, MODEM_E_MAYBE_SENT);
	assert_int_equal(modem_err_class(j->status), MODEM_CLASS_UNKNOWN);
	assert_true(j->cookie == 9);
	assert_int_equal(info_of(0).kills, 1);
	assert_true(info_of(0).failed == 0); /* unknown is not counted as failed */
	/* The restarted worker sends again. */
	assert_true(WAIT_FOR(healthy(0), LONG_WAIT_MS));
	assert_int_equal(supervisor_send(C.sv, 0, &m, 10, &id), 0);
	j = track(id);
	assert_true(WAIT_FOR(j->done, LONG_WAIT_MS));
	assert_int_equal(j->status, MODEM_OK);
}

/* A worker that dies in the middle of a send. */
static void test_crash_send(void **state)
{
	struct supervisor_options opt;
	struct modem_config cfg;
	struct modem_sms_out m;
	struct job_seen *j;
	uint32_t id;

	(void)state;
	fast_options(&opt);
	dummy_modem(&cfg, "c");
	setenv("SMSWAKE_MODEM_TEST_FAULT", "c:crash-send", 1);
	/* The worker aborts on purpose: keep the sanitizer's report short. */
	setenv("ASAN_OPTIONS", "detect_leaks=0:handle_abort=0", 1);
	start(&opt, &cfg, 1);
	assert_true(WAIT_FOR(healthy(0), LONG_WAIT_MS));
	unsetenv("SMSWAKE_MODEM_TEST_FAULT");
	port_msg(&m, 5);
	assert_int_equal(supervisor_send(C.sv, 0, &m, 1, &id), 0);
	j = track(id);
	assert_true(WAIT_FOR(j->done, LONG_WAIT_MS));
	assert_int_equal(j->status, MODEM_E_IO);
	assert_int_equal(modem_err_class(j->status), MODEM_CLASS_RETRY);
	assert_int_equal(info_of(0).kills, 0);
	assert_true(WAIT_FOR(healthy(0), LONG_WAIT_MS));
	assert_int_equal(supervisor_send(C.sv, 0, &m, 1, &id), 0);
	j = track(id);
	assert_true(WAIT_FOR(j->done, LONG_WAIT_MS));
	assert_int_equal(j->status, MODEM_OK);
}

/* A modem that never opens: killed at each open deadline, restarted, then backed off; jobs are
 * refused while it backs off and it recovers when the fault goes. */
static void test_hang_init(void **state)
{
	struct supervisor_options opt;
	struct modem_config cfg;
	struct modem_sms_out m;
	struct job_seen *waiting;
	uint32_t id;

	(void)state;
	fast_options(&opt);
	opt.init_timeout_ms = 4000; /* missed on purpose while the fault lasts; ample without it, even loaded */
	opt.backoff_min_ms = 3000;
	opt.backoff_max_ms = 3000;
	dummy_modem(&cfg, "i");
	setenv("SMSWAKE_MODEM_TEST_FAULT", "i:hang-init", 1);
	start(&opt, &cfg, 1);
	/* A job queued while the modem opens is failed when it goes into back-off, with the time
	 * the modem will take nothing: a caller spaces its next attempt, never burns it at once. */
	port_msg(&m, 5);
	assert_int_equal(supervisor_send(C.sv, 0, &m, 1, &id), 0);
	waiting = track(id);
	assert_true(WAIT_FOR(info_of(0).state == SUPERVISOR_MODEM_BACKOFF, LONG_WAIT_MS));
	assert_true(info_of(0).kills >= 3);
	assert_false(healthy(0));
	assert_true(waiting->done);
	assert_int_equal(waiting->status, MODEM_E_UNAVAILABLE);
	assert_true(waiting->retry_after_ms > 0 && waiting->retry_after_ms <= 3000);
	assert_true(supervisor_retry_after_ms(C.sv, 0) > 0);
	assert_true(info_of(0).retry_in_ms > 0);
	assert_int_equal(supervisor_send(C.sv, 0, &m, 1, &id), MODEM_E_UNAVAILABLE);
	assert_int_equal(supervisor_send(C.sv, SUPERVISOR_ANY, &m, 1, &id), MODEM_E_UNAVAILABLE);
	unsetenv("SMSWAKE_MODEM_TEST_FAULT");
	assert_true(WAIT_FOR(healthy(0), LONG_WAIT_MS));
	assert_int_equal(supervisor_retry_after_ms(C.sv, 0), 0);
}

/* A real AT connection to a pseudo-terminal nobody answers. */
static void test_silent_pty(void **state)
{
	struct supervisor_options opt;
	struct modem_config cfg;
	struct modem_sms_out m;
	struct job_seen *j;
	uint32_t id;
	int master;

	(void)state;
	fast_options(&opt);
	opt.init_timeout_ms = 1500; /* nobody answers: missed whatever the load */
	opt.queue_timeout_ms = 1000;
	master = posix_openpt(O_RDWR | O_NOCTTY);
	assert_true(master >= 0);
	assert_int_equal(grantpt(master), 0);
	assert_int_equal(unlockpt(master), 0);
	modem_config_init(&cfg);
	snprintf(cfg.name, sizeof(cfg.name), "silent");
	snprintf(cfg.device, sizeof(cfg.device), "%s", ptsname(master));
	start(&opt, &cfg, 1);
	/* Queued while the modem opens: fails retryable when it has waited long enough. */
	port_msg(&m, 5);
	assert_int_equal(supervisor_send(C.sv, 0, &m, 1, &id), 0);
	j = track(id);
	assert_true(WAIT_FOR(j->done, LONG_WAIT_MS));
	assert_int_equal(modem_err_class(j->status), MODEM_CLASS_RETRY);
	assert_true(WAIT_FOR(info_of(0).restarts >= 1, LONG_WAIT_MS));
	assert_false(healthy(0));
	assert_int_not_equal(info_of(0).state, SUPERVISOR_MODEM_STOPPED);
	supervisor_free(C.sv);
	C.sv = NULL;
	close(master);
}

/* A configuration error stops the modem: no restart, ever, and one loud event. */
static void test_stop_on_config(void **state)
{
	struct supervisor_options opt;
	struct modem_config cfg;

	(void)state;
	fast_options(&opt);
	dummy_modem(&cfg, "bad");
	snprintf(cfg.connection, sizeof(cfg.connection), "no-such-connection");
	start(&opt, &cfg, 1);
	assert_true(WAIT_FOR(info_of(0).state == SUPERVISOR_MODEM_STOPPED, LONG_WAIT_MS));
	/* Give it time it would need to restart. */
	WAIT_FOR(0, 1500);
	assert_int_equal(info_of(0).state, SUPERVISOR_MODEM_STOPPED);
	assert_int_equal(info_of(0).restarts, 0);
	assert_int_equal(info_of(0).pid, 0);
	assert_int_equal(C.stopped_events, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_send_receive_report, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hang_send, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hang_after_handover, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_send, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hang_init, setup, teardown),
		cmocka_unit_test_setup_teardown(test_silent_pty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_on_config, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
