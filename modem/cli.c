/* SPDX-License-Identifier: GPL-2.0-or-later */
/* smswake-modem: the modem layer from the command line, for operators troubleshooting a modem and
 * for tests. Goes through the supervisor and workers exactly as the gateway does. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "encode.h"
#include "log.h"
#include "modem_ini.h"
#include "supervisor.h"
#include "util.h"
#include "version.h"

#define EXIT_RETRY 75  /* EX_TEMPFAIL: the failure is worth retrying */
#define EXIT_UNKNOWN 3 /* the SMS may have been sent: sending it again may duplicate it */

struct cli {
	struct supervisor *sv;
	const char *only; /* -m NAME */
	int want;         /* modem index the command uses, or SUPERVISOR_ANY */
	uint32_t job;
	int job_done, job_status, job_ref;
	int reports_wanted, reports_seen;
	int not_sent; /* the job's outcome, unknown at first, turned out "not sent" */
	int sms_wanted, sms_seen;
	int report_status;
	const char *cmd;
};

static volatile sig_atomic_t cli_stop;

static void cli_on_signal(int sig)
{
	(void)sig;
	cli_stop = 1;
}

static void cli_print_in(const struct supervisor_event *ev)
{
	const struct modem_sms_in *in = ev->in;
	char hex[ENC_HEX_LEN(MODEM_TEXT_BYTES_MAX)];

	if (ev->type == SUPERVISOR_EV_REPORT) {
		printf("report modem=%s reference=%d recipient=%s status=0x%02x outcome=%s matched=%s", ev->modem_name,
		       in->reference, in->number, in->report_status,
		       ev->outcome == 0   ? "delivered"
		       : ev->outcome == 1 ? "pending"
					  : "failed",
		       ev->matched ? "yes" : "no");
		if (ev->matched)
			printf(" job=%u", ev->sent_job_id);
		printf("\n");
		fflush(stdout);
		return;
	}
	printf("sms modem=%s from=%s", ev->modem_name, in->number);
	if (in->has_ports)
		printf(" dst_port=%u src_port=%u", in->dst_port, in->src_port);
	if (in->udh_len > 0) {
		enc_hex(in->udh, in->udh_len, hex);
		printf(" udh=%s", hex);
	}
	if (in->binary) {
		enc_hex(in->data, in->data_len, hex);
		printf(" hex=%s\n", hex);
	} else {
		/* Text last and raw, so a script can take everything after "text=". */
		printf(" text=%.*s\n", (int)in->data_len, (const char *)in->data);
	}
	fflush(stdout);
}

static void cli_event(const struct supervisor_event *ev, void *arg)
{
	struct cli *c = arg;

	switch (ev->type) {
	case SUPERVISOR_EV_JOB:
		if (ev->job_id != c->job)
			break;
		c->job_done = 1;
		c->job_status = ev->status;
		c->job_ref = ev->reference;
		if (ev->status == MODEM_E_MAYBE_SENT) {
			printf("maybe-sent modem=%s job=%u class=unknown error=%s\n", ev->modem_name, ev->job_id,
			       ev->error);
		} else if (ev->status != MODEM_OK) {
			printf("failed modem=%s status=%s class=%s error=%s\n", ev->modem_name,
			       modem_strerror(ev->status),
			       modem_err_class(ev->status) == MODEM_CLASS_RETRY       ? "retry"
			       : modem_err_class(ev->status) == MODEM_CLASS_PERMANENT ? "permanent"
										      : "modem",
			       ev->error);
		} else if (ev->op == SUPERVISOR_OP_SEND) {
			printf("sent modem=%s job=%u reference=%d\n", ev->modem_name, ev->job_id, ev->reference);
		} else if (ev->op == SUPERVISOR_OP_IDENTIFY && ev->id != NULL) {
			char caps[256] = "";
			if (ev->caps != NULL)
				modem_caps_format(ev->caps, caps, sizeof(caps));
			printf("modem=%s manufacturer=%s model=%s firmware=%s imei=%s imsi=%s%s%s\n", ev->modem_name,
			       ev->id->manufacturer, ev->id->model, ev->id->firmware, ev->id->imei, ev->id->imsi,
			       caps[0] ? " " : "", caps);
		} else if (ev->op == SUPERVISOR_OP_STATUS && ev->st != NULL) {
			printf("modem=%s sim=%s registration=%s signal=%d%% storage=%d/%d network=%s\n", ev->modem_name,
			       modem_sim_name(ev->st->sim), modem_reg_name(ev->st->reg), ev->st->signal_percent,
			       ev->st->sms_used, ev->st->sms_size,
			       ev->st->network_code[0] ? ev->st->network_code : ev->st->network_name);
		} else if (ev->op == SUPERVISOR_OP_RESET) {
			printf("reset modem=%s\n", ev->modem_name);
		}
		fflush(stdout);
		break;
	case SUPERVISOR_EV_REPORT:
		/* Printed whatever the command: the worker has deleted it from the modem. */
		cli_print_in(ev);
		if (ev->outcome != 1 &&
		    (strcmp(c->cmd, "listen") == 0 || (ev->matched && c->job != 0 && ev->sent_job_id == c->job))) {
			c->reports_seen++;
			c->report_status = ev->in->report_status;
		}
		break;
	case SUPERVISOR_EV_SMS:
		cli_print_in(ev);
		c->sms_seen++;
		break;
	case SUPERVISOR_EV_OUTCOME:
		if (ev->job_id == c->job && ev->status != MODEM_OK)
			c->not_sent = 1;
		printf("outcome modem=%s job=%u sent=%s reference=%d reason=%s\n", ev->modem_name, ev->job_id,
		       ev->status == MODEM_OK ? "yes" : "no", ev->reference, ev->error ? ev->error : "");
		fflush(stdout);
		break;
	case SUPERVISOR_EV_MODEM:
		log_info("modem %s: %s%s%s%s", ev->modem_name, supervisor_state_name(ev->state),
			 ev->healthy ? ", healthy" : "", ev->reason && ev->reason[0] ? ": " : "",
			 ev->reason ? ev->reason : "");
		break;
	}
}

/* Runs the supervisor until done() or the deadline; returns 0 if done. */
static int cli_wait(struct cli *c, int64_t deadline, int (*done)(struct cli *))
{
	while (!done(c)) {
		int64_t left = deadline - util_mono_ms();
		if (left <= 0 || cli_stop)
			return -1;
		supervisor_run(c->sv, left > 200 ? 200 : (int)left);
	}
	return 0;
}

/* The modem(s) the command uses are ready and healthy, or can no longer become so. */
static int cli_settled(struct cli *c)
{
	struct supervisor_modem_info info;
	int n = supervisor_modem_count(c->sv), any_starting = 0;

	for (int i = 0; i < n; i++) {
		if (c->want != SUPERVISOR_ANY && i != c->want)
			continue;
		supervisor_modem_info(c->sv, i, &info);
		if (info.state == SUPERVISOR_MODEM_READY && info.healthy)
			return 1;
		if (info.state == SUPERVISOR_MODEM_STARTING || info.state == SUPERVISOR_MODEM_READY ||
		    info.state == SUPERVISOR_MODEM_BACKOFF)
			any_starting = 1;
	}
	return !any_starting;
}

static int cli_all_stopped(struct cli *c)
{
	struct supervisor_modem_info info;
	for (int i = 0; i < supervisor_modem_count(c->sv); i++) {
		if (c->want != SUPERVISOR_ANY && i != c->want)
			continue;
		supervisor_modem_info(c->sv, i, &info);
		if (info.state != SUPERVISOR_MODEM_STOPPED)
			return 0;
	}
	return 1;
}

static int cli_job_done(struct cli *c)
{
	return c->job_done;
}

static int cli_reports_done(struct cli *c)
{
	return c->reports_seen >= c->reports_wanted || c->not_sent;
}

static int cli_listen_done(struct cli *c)
{
	return c->sms_wanted > 0 && c->sms_seen + c->reports_seen >= c->sms_wanted;
}

static int cli_never(struct cli *c)
{
	(void)c;
	return 0;
}

static int cli_exit_for(int status)
{
	if (status == MODEM_OK)
		return 0;
	if (modem_err_class(status) == MODEM_CLASS_UNKNOWN)
		return EXIT_UNKNOWN;
	return modem_err_class(status) == MODEM_CLASS_RETRY ? EXIT_RETRY : 1;
}

/* Prints every selected modem's state; used when a command cannot find a usable modem. */
static void cli_print_states(struct cli *c)
{
	struct supervisor_modem_info info;
	for (int i = 0; i < supervisor_modem_count(c->sv); i++) {
		if (c->want != SUPERVISOR_ANY && i != c->want)
			continue;
		supervisor_modem_info(c->sv, i, &info);
		printf("modem=%s state=%s healthy=%d restarts=%d kills=%d reason=%s\n", info.name,
		       supervisor_state_name(info.state), info.healthy, info.restarts, info.kills, info.reason);
	}
	fflush(stdout);
}

/* One send, or several in a row (--repeat) for troubleshooting and tests: each gets its own
 * deadline; the exit status is the worst seen. */
static int cli_send(struct cli *c, const struct modem_sms_out *msg, int64_t repeat, int64_t interval_ms,
		    int wait_report, int64_t timeout_s)
{
	int worst = 0;

	for (int64_t i = 0; i < repeat && !cli_stop; i++) {
		int64_t deadline = util_mono_ms() + timeout_s * 1000, next = util_mono_ms() + interval_ms;
		int rc;
		c->job_done = 0;
		c->reports_seen = 0;
		c->not_sent = 0;
		rc = supervisor_send(c->sv, c->want, msg, (uint64_t)i, &c->job);
		if (rc != MODEM_OK) {
			printf("failed status=%s class=%s\n", modem_strerror(rc),
			       modem_err_class(rc) == MODEM_CLASS_RETRY ? "retry" : "permanent");
			fflush(stdout);
			rc = cli_exit_for(rc);
		} else if (cli_wait(c, deadline, cli_job_done) != 0) {
			printf("failed status=timeout error=no answer within %lld s\n", (long long)timeout_s);
			fflush(stdout);
			rc = EXIT_RETRY;
		} else {
			rc = cli_exit_for(c->job_status);
			/* An unknown outcome waits too: the report, if it comes, says the SMS went out. */
			if ((rc == 0 || rc == EXIT_UNKNOWN) && wait_report) {
				c->reports_wanted = 1;
				if (cli_wait(c, deadline, cli_reports_done) != 0) {
					printf("failed status=timeout error=no status report within %lld s\n",
					       (long long)timeout_s);
					rc = rc == 0 ? EXIT_RETRY : rc;
				} else if (c->not_sent) {
					rc = EXIT_RETRY;
				} else {
					rc = modem_report_outcome(c->report_status) == 0 ? 0 : 1;
				}
			}
		}
		/* Permanent (1) outranks unknown (3), which outranks retryable (75). */
		if (rc == 1 || (rc == EXIT_UNKNOWN && worst != 1) || (rc != 0 && worst == 0))
			worst = rc;
		if (i + 1 < repeat)
			cli_wait(c, next, cli_never);
	}
	return worst;
}

/* --help prints this on stdout (exit 0), a mistake on stderr (exit 2). */
static void usage_to(FILE *f)
{
	fprintf(f, "usage: smswake-modem [-c FILE | -d DEVICE [-C CONNECTION] [-M MODEL]] [-m NAME]\n"
		   "                     [-o KEY=VALUE]... [-t SECONDS] [-v] [-n] COMMAND [ARGS]\n"
		   "commands:\n"
		   "  identify                       manufacturer, model, firmware, IMEI\n"
		   "  status                         SIM, registration, signal, storage\n"
		   "  send NUMBER (--hex DATA --port PORT [--src-port PORT] | --text TEXT)\n"
		   "       [--validity MINUTES] [--report] [--wait-report] [--repeat N [--interval MS]]\n"
		   "  listen [--count N]             print incoming SMS and status reports\n"
		   "  reset                          soft reset\n"
		   "  workers                        start, wait, print each modem's state\n"
		   "  -h, --help                     this text; --version: the version\n"
		   "exit status: 0 success, 1 permanent failure, 2 usage or configuration, 3 outcome unknown\n"
		   "             (the SMS may have gone out: do not resend blindly), 75 retryable\n");
}

static void usage(void)
{
	usage_to(stderr);
}

static int known_command(const char *cmd)
{
	static const char *const cmds[] = {"identify", "status", "send", "listen", "reset", "workers", "check"};

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(cmd, cmds[i]) == 0)
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"device", required_argument, NULL, 'd'},
		{"connection", required_argument, NULL, 'C'},
		{"model", required_argument, NULL, 'M'},
		{"modem", required_argument, NULL, 'm'},
		{"option", required_argument, NULL, 'o'},
		{"timeout", required_argument, NULL, 't'},
		{"verbose", no_argument, NULL, 'v'},
		{"check", no_argument, NULL, 'n'},
		{"hex", required_argument, NULL, 'H'},
		{"text", required_argument, NULL, 'T'},
		{"port", required_argument, NULL, 'P'},
		{"src-port", required_argument, NULL, 'S'},
		{"validity", required_argument, NULL, 'V'},
		{"report", no_argument, NULL, 'R'},
		{"wait-report", no_argument, NULL, 'W'},
		{"count", required_argument, NULL, 'N'},
		{"repeat", required_argument, NULL, 'X'},
		{"interval", required_argument, NULL, 'I'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, OPT_VERSION},
		{NULL, 0, NULL, 0},
	};
	static struct modem_ini ini;
	struct modem_sms_out msg;
	struct cli c;
	const char *config = NULL, *device = NULL, *connection = NULL, *model = NULL;
	const char *hex = NULL, *text = NULL;
	int verbose = 0, check_only = 0, wait_report = 0, ch, rc = 0, have_port = 0;
	int64_t timeout_s = 60, v, repeat = 1, interval_ms = 1000;
	char *opt_kv[32];
	int nopt = 0;

	memset(&c, 0, sizeof(c));
	memset(&msg, 0, sizeof(msg));
	c.want = SUPERVISOR_ANY;
	while ((ch = getopt_long(argc, argv, "+c:d:C:M:m:o:t:vnh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 'd': device = optarg; break;
		case 'C': connection = optarg; break;
		case 'M': model = optarg; break;
		case 'm': c.only = optarg; break;
		case 'o':
			if (nopt >= 32) {
				usage();
				return 2;
			}
			opt_kv[nopt++] = optarg;
			break;
		case 't':
			if (util_parse_duration(optarg, &timeout_s) != 0) {
				usage();
				return 2;
			}
			break;
		case 'v': verbose++; break;
		case 'n': check_only = 1; break;
		case 'h': usage_to(stdout); return 0;
		case OPT_VERSION: return version_print("smswake-modem");
		default: usage(); return 2;
		}
	}
	log_init("smswake-modem", verbose > 1 ? LOG_LEVEL_DEBUG : verbose ? LOG_LEVEL_INFO : LOG_LEVEL_WARN, 0);
	if (optind >= argc && !check_only) {
		usage();
		return 2;
	}
	c.cmd = optind < argc ? argv[optind++] : "check";
	if (!known_command(c.cmd)) {
		fprintf(stderr, "smswake-modem: unknown command '%s'\n", c.cmd);
		usage();
		return 2;
	}

	/* Command options after the command, in any order with its arguments: scan the tail as if
	 * it were a command line of its own (optind 0 makes getopt start afresh). */
	argc -= optind - 1;
	argv += optind - 1;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'H': hex = optarg; break;
		case 'T': text = optarg; break;
		case 'P':
			if (util_parse_i64(optarg, 0, 65535, &v) != 0) {
				usage();
				return 2;
			}
			msg.dst_port = (uint16_t)v;
			have_port = 1;
			break;
		case 'S':
			if (util_parse_i64(optarg, 0, 65535, &v) != 0) {
				usage();
				return 2;
			}
			msg.src_port = (uint16_t)v;
			break;
		case 'V':
			if (util_parse_i64(optarg, 0, 63 * 10080, &v) != 0) {
				usage();
				return 2;
			}
			msg.validity_minutes = (int)v;
			break;
		case 'R': msg.status_report = 1; break;
		case 'W':
			wait_report = 1;
			msg.status_report = 1;
			break;
		case 'X':
			if (util_parse_i64(optarg, 1, 100000, &repeat) != 0) {
				usage();
				return 2;
			}
			break;
		case 'I':
			if (util_parse_i64(optarg, 0, 3600000, &interval_ms) != 0) {
				usage();
				return 2;
			}
			break;
		case 'N':
			if (util_parse_i64(optarg, 1, 1000000, &v) != 0) {
				usage();
				return 2;
			}
			c.sms_wanted = (int)v;
			break;
		default: usage(); return 2;
		}
	}

	modem_ini_init(&ini);
	if (config != NULL && modem_ini_load(&ini, config) != 0) {
		fprintf(stderr, "smswake-modem: %s\n", ini.error);
		return 2;
	}
	if (device != NULL) {
		if (modem_ini_line(&ini, "modem cli", "device", device) < 0 ||
		    (connection && modem_ini_line(&ini, "modem cli", "connection", connection) < 0) ||
		    (model && modem_ini_line(&ini, "modem cli", "model", model) < 0)) {
			fprintf(stderr, "smswake-modem: %s\n", ini.error);
			return 2;
		}
	}
	for (int i = 0; i < nopt; i++) {
		char *eq = strchr(opt_kv[i], '=');
		if (eq == NULL) {
			usage();
			return 2;
		}
		*eq = '\0';
		if (supervisor_options_set(&ini.opt, opt_kv[i], eq + 1) != 0) {
			fprintf(stderr, "smswake-modem: option %s: unknown or bad value\n", opt_kv[i]);
			return 2;
		}
	}
	if (modem_ini_finish(&ini) != 0) {
		fprintf(stderr, "smswake-modem: %s\n", ini.error);
		return 2;
	}
	if (ini.n == 0) {
		fprintf(stderr, "smswake-modem: no modem configured (-c FILE or -d DEVICE)\n");
		return 2;
	}
	if (check_only || strcmp(c.cmd, "check") == 0) {
		if (modem_ini_check_devices(&ini) != 0) {
			fprintf(stderr, "smswake-modem: %s\n", ini.error);
			return 2;
		}
		printf("configuration ok: %d modem(s)\n", ini.n);
		return 0;
	}

	if (strcmp(c.cmd, "send") == 0) {
		if (optind >= argc || strlen(argv[optind]) >= sizeof(msg.number) || (hex == NULL) == (text == NULL)) {
			usage();
			return 2;
		}
		memcpy(msg.number, argv[optind], strlen(argv[optind]) + 1);
		if (hex != NULL) {
			long n;
			if (!have_port) {
				fprintf(stderr, "smswake-modem: --hex needs --port\n");
				return 2;
			}
			msg.binary = 1;
			/* Decode into a roomy buffer first, so an overlong payload gets the modem
			 * layer's own "too long" answer rather than a hex error. */
			uint8_t big[1024];
			n = enc_unhex(hex, strlen(hex), big, sizeof(big));
			if (n < 0) {
				fprintf(stderr, "smswake-modem: --hex: bad hex\n");
				return 2;
			}
			if ((size_t)n > sizeof(msg.data)) {
				printf("failed status=%s class=permanent error=%ld octets, at most %d behind the port "
				       "header\n",
				       modem_strerror(MODEM_E_TOO_LONG), n, MODEM_BINARY_MAX);
				return 1;
			}
			memcpy(msg.data, big, (size_t)n);
			msg.data_len = (size_t)n;
		} else {
			if (strlen(text) >= sizeof(msg.text)) {
				printf("failed status=%s class=permanent\n", modem_strerror(MODEM_E_TOO_LONG));
				return 1;
			}
			memcpy(msg.text, text, strlen(text) + 1);
		}
		rc = modem_sms_check(&msg);
		if (rc != MODEM_OK) {
			printf("failed status=%s class=permanent\n", modem_strerror(rc));
			return 1;
		}
	}

	signal(SIGINT, cli_on_signal);
	signal(SIGTERM, cli_on_signal);
	signal(SIGPIPE, SIG_IGN);
	if (supervisor_new(&c.sv, &ini.opt, cli_event, &c) != 0)
		return 1;
	/* With -m only that modem is opened: the others' stored messages stay where they are. */
	for (int i = 0; i < ini.n; i++)
		if (c.only != NULL ? strcmp(ini.modems[i].name, c.only) == 0 : ini.enabled[i])
			supervisor_add_modem(c.sv, &ini.modems[i]);
	modem_ini_clear(&ini);
	if (c.only != NULL) {
		c.want = supervisor_modem_find(c.sv, c.only);
		if (c.want < 0) {
			fprintf(stderr, "smswake-modem: no modem named %s\n", c.only);
			supervisor_free(c.sv);
			return 2;
		}
	} else if (strcmp(c.cmd, "send") != 0 && strcmp(c.cmd, "listen") != 0 && strcmp(c.cmd, "workers") != 0) {
		c.want = 0; /* identify, status, reset: the first modem unless -m says */
	}
	if (supervisor_start(c.sv) != 0) {
		log_warn("starting the supervisor");
		supervisor_free(c.sv);
		return 1;
	}

	int64_t deadline = util_mono_ms() + timeout_s * 1000;
	if (cli_wait(&c, deadline, cli_settled) != 0 && strcmp(c.cmd, "workers") != 0 && strcmp(c.cmd, "listen") != 0) {
		cli_print_states(&c);
		rc = EXIT_RETRY;
		goto out;
	}
	if (strcmp(c.cmd, "workers") == 0) {
		cli_print_states(&c);
		goto out;
	}
	if (cli_all_stopped(&c)) {
		/* Only an operator can help: say why, and do not suggest a retry. */
		cli_print_states(&c);
		rc = 1;
		goto out;
	}
	if (strcmp(c.cmd, "listen") == 0) {
		/* Until the count is reached, the timeout passes or a signal comes. */
		cli_wait(&c, deadline, c.sms_wanted > 0 ? cli_listen_done : cli_never);
		rc = c.sms_wanted > 0 && c.sms_seen + c.reports_seen < c.sms_wanted ? 1 : 0;
		goto out;
	}
	if (strcmp(c.cmd, "send") == 0) {
		rc = cli_send(&c, &msg, repeat, interval_ms, wait_report, timeout_s);
		goto out;
	} else if (strcmp(c.cmd, "identify") == 0) {
		rc = supervisor_request(c.sv, c.want, SUPERVISOR_OP_IDENTIFY, 0, &c.job);
	} else if (strcmp(c.cmd, "status") == 0) {
		rc = supervisor_request(c.sv, c.want, SUPERVISOR_OP_STATUS, 0, &c.job);
	} else if (strcmp(c.cmd, "reset") == 0) {
		rc = supervisor_request(c.sv, c.want, SUPERVISOR_OP_RESET, 0, &c.job);
	} else {
		usage();
		rc = 2;
		goto out;
	}
	if (rc != MODEM_OK) {
		printf("failed status=%s\n", modem_strerror(rc));
		cli_print_states(&c);
		rc = cli_exit_for(rc);
		goto out;
	}
	if (cli_wait(&c, deadline, cli_job_done) != 0) {
		printf("failed status=timeout error=no answer within %lld s\n", (long long)timeout_s);
		rc = EXIT_RETRY;
		goto out;
	}
	rc = cli_exit_for(c.job_status);
out:
	supervisor_free(c.sv);
	return rc;
}
