/* SPDX-License-Identifier: GPL-2.0-or-later */
/* smswake-client: the device-side program. Verifies a wakeup SMS given on stdin or in a
 * gammu-smsd inbox file, fetches and hands messages to a handler program, polls, or runs as a
 * daemon; writes its configuration from a registration. Uses libsmswake through smswake.h only. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "inifile.h"
#include "log.h"
#include "smswake.h"
#include "version.h"

#define DEFAULT_CONFIG "/etc/smswake/client.conf"
#define DEFAULT_STATE "/var/lib/smswake/client.state"
#define INPUT_MAX (64 * 1024)
#define SECTION "client"

static volatile sig_atomic_t stop_requested;

struct load {
	smswake_t *h;
	struct cli_config *cfg;
	const char *path;
	int failed;
};

static int set_cli_string(char **dst, const char *value)
{
	char *copy = strdup(value);

	if (copy == NULL)
		return -1;
	free(*dst);
	*dst = copy;
	return 0;
}

static int on_ini(void *arg, const char *section, const char *name, const char *value)
{
	struct load *l = arg;

	if (strcmp(section, "modem") == 0) {
		char err[128];

		if (cli_modem_ini(l->cfg, name, value, err, sizeof(err)) != 0) {
			log_warnx("%s: %s", l->path, err);
			l->failed = 1;
			return 0;
		}
		return 1;
	}
	if (strcmp(section, SECTION) != 0) {
		log_warnx("%s: [%s] %s: keys belong in section [" SECTION "] or [modem]", l->path, section, name);
		l->failed = 1;
		return 0;
	}
	if (strcmp(name, "handler") == 0)
		return set_cli_string(&l->cfg->handler, value) == 0;
	if (strcmp(name, "sms_fifo") == 0)
		return set_cli_string(&l->cfg->sms_fifo, value) == 0;
	if (strcmp(name, "smsd_inbox") == 0)
		return set_cli_string(&l->cfg->smsd_inbox, value) == 0;
	if (strcmp(name, "handler_timeout") == 0) {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0' || v < 1 || v > 86400) {
			log_warnx("%s: handler_timeout: expected 1-86400 seconds", l->path);
			l->failed = 1;
			return 0;
		}
		l->cfg->handler_timeout = (unsigned)v;
		return 1;
	}
	if (strcmp(name, "state_file") == 0 && set_cli_string(&l->cfg->state_file, value) != 0)
		return 0;
	if (smswake_setopt(l->h, name, value) != SMSWAKE_OK) {
		/* smswake_errmsg names the option and what is wrong, never the value. */
		log_warnx("%s: %s", l->path, smswake_errmsg(l->h));
		l->failed = 1;
		return 0;
	}
	return 1;
}

static int load_config(const char *path, smswake_t *h, struct cli_config *cfg)
{
	struct load l = {.h = h, .cfg = cfg, .path = path};
	struct stat st;
	char err[128];
	int rc;

	cfg->handler_timeout = 300;
	if (stat(path, &st) != 0) {
		log_warnx("%s: cannot open: %s (name the configuration file with -c FILE; provision writes one)", path,
			  strerror(errno));
		return -1;
	}
	if (st.st_mode & 077)
		log_warnx("%s: readable by others, but it holds the device token and key (chmod 600)", path);
	rc = inifile_parse(path, on_ini, &l);
	if (rc < 0) {
		log_warnx("%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (rc > 0) {
		if (!l.failed)
			log_warnx("%s: line %d: syntax error", path, rc);
		else
			log_warnx("%s: error at line %d", path, rc);
		return -1;
	}
	if (smswake_check(h) != SMSWAKE_OK) {
		log_warnx("%s: %s", path, smswake_errmsg(h));
		return -1;
	}
	if (cli_modem_finish(cfg, err, sizeof(err)) != 0) {
		log_warnx("%s: %s", path, err);
		return -1;
	}
	if (cfg->modem != NULL && cfg->sms_fifo != NULL) {
		log_warnx("%s: sms_fifo and [modem] are two SMS sources; `run` reads one", path);
		return -1;
	}
	return 0;
}

/* -n: what the commands will need at once, beyond the syntax: the state file's directory, the
 * handler and the modem device. Each problem is logged; returns 0 when there is none. */
static int check_environment(const char *path, struct cli_config *cfg)
{
	char err[512], dir[4096];
	const char *slash;
	int bad = 0;

	if (cfg->state_file != NULL) {
		slash = strrchr(cfg->state_file, '/');
		if (slash == NULL)
			snprintf(dir, sizeof(dir), ".");
		else
			snprintf(dir, sizeof(dir), "%.*s",
				 slash == cfg->state_file ? 1 : (int)(slash - cfg->state_file), cfg->state_file);
		if (access(dir, W_OK | X_OK) != 0) {
			log_warnx("%s: state_file %s: directory %s: %s (create it, writable by the user the client "
				  "runs as)",
				  path, cfg->state_file, dir, strerror(errno));
			bad = 1;
		}
	}
	if (cli_handler_check(cfg, err, sizeof(err)) != 0) {
		log_warnx("%s: %s", path, err);
		bad = 1;
	}
	if (cli_modem_check(cfg, err, sizeof(err)) != 0) {
		log_warnx("%s: %s", path, err);
		bad = 1;
	}
	return bad ? -1 : 0;
}

/* The library takes a missing state file for the first run (counter and cursor 0) and writes one
 * at its first use; the lock file next to it stays. A state file missing next to its lock file was
 * deleted: say so, since the device then accepts old wakeups again and fetches from cursor 0. */
static void warn_state_missing(const struct cli_config *cfg)
{
	char lock[4096];
	struct stat st;

	if (cfg->state_file == NULL || stat(cfg->state_file, &st) == 0 || errno != ENOENT)
		return;
	if ((size_t)snprintf(lock, sizeof(lock), "%s.lock", cfg->state_file) >= sizeof(lock) || stat(lock, &st) != 0)
		return;
	log_warnx("state file %s is missing but was in use (its lock file is there): the wake counter and the "
		  "message cursor start again from 0; restore the file from a backup if there is one",
		  cfg->state_file);
}

static int exit_code(smswake_err err)
{
	switch (err) {
	case SMSWAKE_OK: return CLI_OK;
	case SMSWAKE_ECONFIG: return CLI_ECONFIG;
	case SMSWAKE_EREJECTED: return CLI_EREJECTED;
	case SMSWAKE_ESTALE: return CLI_ESTALE;
	case SMSWAKE_ENETWORK: return CLI_ENETWORK;
	case SMSWAKE_EAUTH:
	case SMSWAKE_EHTTP:
	case SMSWAKE_EPROTO: return CLI_ESERVER;
	case SMSWAKE_EHANDLER: return CLI_EHANDLER;
	default: return CLI_EFAIL;
	}
}

static void report(smswake_t *h, const char *what, smswake_err err)
{
	const char *detail = smswake_errmsg(h);

	/* A stale wakeup is normal (late, duplicated); an exhausted counter needs the operator. */
	if (err == SMSWAKE_ESTALE && strncmp(detail, "wake counter exhausted", 22) == 0)
		log_warnx("%s: %s", what, detail);
	else if (err == SMSWAKE_EREJECTED || err == SMSWAKE_ESTALE)
		log_info("%s: %s%s%s", what, smswake_strerror(err), *detail ? ": " : "", detail);
	else if (err != SMSWAKE_OK)
		log_warnx("%s: %s%s%s", what, smswake_strerror(err), *detail ? ": " : "", detail);
}

static int on_message(const struct smswake_message *m, void *ctx)
{
	const struct cli_config *cfg = ctx;

	log_debug("message seq %" PRIu64 " id %" PRIu64 " (%zu octets)", m->seq, m->id, m->body_len);
	return cli_run_handler(cfg, m);
}

static smswake_err do_fetch(smswake_t *h, struct cli_config *cfg, struct smswake_fetch_result *res)
{
	smswake_err err = smswake_fetch(h, on_message, cfg, res);

	report(h, "fetch", err);
	if (err == SMSWAKE_OK || err == SMSWAKE_EHANDLER)
		log_info("fetched %u new message(s), %u duplicate(s); next poll in %u s", res->delivered,
			 res->duplicates, res->next_poll);
	return err;
}

static int read_all(FILE *fp, char **out, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);

	if (buf == NULL)
		return -1;
	for (;;) {
		size_t r;

		if (n == cap) {
			char *p;
			if (cap >= INPUT_MAX) {
				free(buf);
				errno = EFBIG;
				return -1;
			}
			cap *= 2;
			p = realloc(buf, cap + 1);
			if (p == NULL) {
				free(buf);
				return -1;
			}
			buf = p;
		}
		r = fread(buf + n, 1, cap - n, fp);
		n += r;
		if (r == 0) {
			if (ferror(fp)) {
				free(buf);
				return -1;
			}
			break;
		}
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

static int cmd_sms(smswake_t *h, struct cli_config *cfg)
{
	struct smswake_fetch_result res;
	struct smswake_wakeup w;
	char *input;
	size_t len;
	smswake_err err;

	if (read_all(stdin, &input, &len) != 0) {
		log_warn("stdin");
		return CLI_EFAIL;
	}
	err = smswake_handle_input(h, input, len, &w);
	free(input);
	report(h, "sms", err);
	if (err != SMSWAKE_OK)
		return exit_code(err);
	log_info("wakeup %" PRIu64 " accepted%s, %u pending", w.counter, w.urgent ? " (urgent)" : "", w.pending);
	return exit_code(do_fetch(h, cfg, &res));
}

static int cmd_smsd(smswake_t *h, struct cli_config *cfg, int argc, char **argv)
{
	struct smswake_fetch_result res;
	int accepted = 0, rc = CLI_OK;

	if (argc < 1) {
		log_warnx("smsd: expected the inbox file name(s) gammu-smsd passes");
		return CLI_EUSAGE;
	}
	for (int i = 0; i < argc; i++) {
		char path[4096], *data;
		size_t len;
		FILE *fp;
		smswake_err err;

		if (strchr(argv[i], '/') == NULL && cfg->smsd_inbox != NULL)
			snprintf(path, sizeof(path), "%s/%s", cfg->smsd_inbox, argv[i]);
		else
			snprintf(path, sizeof(path), "%s", argv[i]);
		fp = fopen(path, "rb");
		if (fp == NULL) {
			log_warn("%s", path);
			rc = CLI_EFAIL;
			continue;
		}
		if (read_all(fp, &data, &len) != 0) {
			log_warn("%s", path);
			fclose(fp);
			rc = CLI_EFAIL;
			continue;
		}
		fclose(fp);
		err = smswake_handle_smsd_file(h, data, len, NULL);
		free(data);
		report(h, path, err);
		if (err == SMSWAKE_OK)
			accepted = 1;
		else if (rc == CLI_OK)
			rc = exit_code(err);
	}
	if (!accepted)
		return rc;
	return exit_code(do_fetch(h, cfg, &res));
}

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static unsigned jitter(unsigned seconds)
{
	/* +-10 %: devices provisioned together must not poll together. */
	unsigned spread = seconds / 10;
	return spread == 0 ? seconds : seconds - spread + (unsigned)(random() % (2 * spread + 1));
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The daemon: polls on the server's advised interval, and fetches at once when a verified
 * wakeup arrives from the SMS source. */
static int cmd_run(smswake_t *h, struct cli_config *cfg)
{
	const struct sms_source_ops *src = NULL;
	void *src_state = NULL;
	struct sigaction sa;
	int64_t next = 0;
	unsigned failures = 0;
	/* The fallback when the server gives no advice; 0 (no timed polls) still needs a bound for
	 * retrying a failing server. */
	unsigned poll_s = smswake_poll_interval(h) > 0 ? smswake_poll_interval(h) : 3600;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	srandom((unsigned)(time(NULL) ^ getpid()));
	if (cfg->modem != NULL || cfg->sms_fifo != NULL) {
		src = sms_source_find(cfg->modem != NULL ? "modem" : "fifo");
		if (src == NULL || src->open(&src_state, cfg) != 0) {
			log_warn("%s", cfg->modem != NULL ? "[modem]" : cfg->sms_fifo);
			return CLI_ECONFIG;
		}
		if (cfg->sms_fifo != NULL)
			log_info("reading SMS from %s", cfg->sms_fifo);
	}

	while (!stop_requested) {
		int64_t now = mono_ms();
		int fetch_now = now >= next;

		if (!fetch_now && src != NULL) {
			char line[1024];
			int64_t left = next - now;
			int r = src->wait(src_state, left > 600000 ? 600000 : (int)left, line, sizeof(line));

			if (r == 1) {
				struct smswake_wakeup w;
				smswake_err err = smswake_handle_input(h, line, strlen(line), &w);

				report(h, "sms", err);
				if (err == SMSWAKE_OK)
					log_info("wakeup %" PRIu64 " accepted%s", w.counter,
						 w.urgent ? " (urgent)" : "");
				fetch_now = err == SMSWAKE_OK;
			} else if (r == -1) {
				log_warn("%s: SMS source failed; polling only", src->name);
				src->close(src_state);
				src = NULL;
				/* Without the source, "only on wakeups" would mean never. */
				if (next - now > (int64_t)poll_s * 1000)
					next = now + (int64_t)poll_s * 1000;
			}
		} else if (!fetch_now) {
			struct timespec ts;
			int64_t left = next - now;

			ts.tv_sec = left / 1000;
			ts.tv_nsec = (long)(left % 1000) * 1000000L;
			nanosleep(&ts, NULL); /* a signal ends it early */
		}
		if (fetch_now && !stop_requested) {
			struct smswake_fetch_result res;
			smswake_err err = do_fetch(h, cfg, &res);
			unsigned wait_s;

			if (err == SMSWAKE_ENETWORK || err == SMSWAKE_EHTTP || err == SMSWAKE_EPROTO) {
				/* Back off from a failing server, but never beyond the normal interval. */
				failures++;
				wait_s = 30u << (failures > 5 ? 5 : failures - 1);
				if (res.retry_after > wait_s)
					wait_s = res.retry_after;
				if (wait_s > poll_s && res.retry_after == 0)
					wait_s = poll_s;
			} else if (err == SMSWAKE_EAUTH || err == SMSWAKE_ESTATE) {
				failures++;
				wait_s = poll_s;
			} else {
				failures = 0;
				wait_s = res.next_poll;
			}
			if (wait_s == 0 && src != NULL) {
				/* No timed polls (poll_interval 0): only a wakeup starts a fetch. */
				next = INT64_MAX / 2;
			} else {
				if (wait_s == 0) {
					log_warnx("no timed polls advised and no SMS source: polling "
						  "hourly");
					wait_s = 3600;
				}
				next = mono_ms() + (int64_t)jitter(wait_s) * 1000;
			}
		}
	}
	if (src != NULL)
		src->close(src_state);
	log_info("stopping");
	return CLI_OK;
}

/* Makes the device's Web Push keys if it has none (or new ones on rotate), uploads them unless
 * told not to, and prints them as a PushSubscription's "keys" object. */
static int push_keys(smswake_t *h, int rotate, int upload)
{
	char p256dh[SMSWAKE_P256DH_MAX], auth[SMSWAKE_AUTH_MAX];
	smswake_err err = smswake_push_keys(h, rotate, p256dh, auth);

	if (err == SMSWAKE_OK && upload)
		err = smswake_push_upload(h);
	report(h, "push-keys", err);
	if (err != SMSWAKE_OK)
		return exit_code(err);
	printf("{\"p256dh\":\"%s\",\"auth\":\"%s\"}\n", p256dh, auth);
	return fflush(stdout) == 0 ? CLI_OK : CLI_EFAIL;
}

static int cmd_push_keys(smswake_t *h, int argc, char **argv)
{
	static const struct option opts[] = {
		{"rotate", no_argument, NULL, 'r'},
		{"no-upload", no_argument, NULL, 'N'},
		{NULL, 0, NULL, 0},
	};
	int c, rotate = 0, upload = 1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r': rotate = 1; break;
		case 'N': upload = 0; break;
		default: return CLI_EUSAGE;
		}
	}
	if (optind != argc) {
		log_warnx("usage: smswake-client [-c FILE] push-keys [--rotate] [--no-upload]");
		return CLI_EUSAGE;
	}
	return push_keys(h, rotate, upload);
}

static int cmd_provision(int argc, char **argv)
{
	static const struct option opts[] = {
		{"server", required_argument, NULL, 's'},
		{"state", required_argument, NULL, 'S'},
		{"handler", required_argument, NULL, 'H'},
		{"push-keys", no_argument, NULL, 'P'},
		{NULL, 0, NULL, 0},
	};
	const char *server = NULL, *state = DEFAULT_STATE, *handler = NULL;
	char *json, *out, err[256];
	smswake_t *h = NULL;
	size_t len;
	struct stat st;
	int c, keys = 0, rc = CLI_OK;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': server = optarg; break;
		case 'S': state = optarg; break;
		case 'H': handler = optarg; break;
		case 'P': keys = 1; break;
		default: return CLI_EUSAGE;
		}
	}
	if (server == NULL || optind != argc) {
		log_warnx("usage: smswake-client provision --server URL [--state FILE] "
			  "[--handler PATH] [--push-keys] < registration.json > client.conf");
		return CLI_EUSAGE;
	}
	if (read_all(stdin, &json, &len) != 0) {
		log_warn("stdin");
		return CLI_EFAIL;
	}
	if (cli_provision_handle(json, len, server, state, handler, &out, keys ? &h : NULL, err, sizeof(err)) != 0) {
		free(json);
		log_warnx("provision: %s", err);
		return CLI_ECONFIG;
	}
	free(json);
	/* The file holds secrets: restrict it when stdout is a file we just created. */
	if (fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode))
		(void)fchmod(STDOUT_FILENO, 0600);
	if (fputs(out, stdout) == EOF || fflush(stdout) != 0) {
		log_warn("stdout");
		free(out);
		smswake_free(h);
		return CLI_EFAIL;
	}
	free(out);
	/* On the device itself: its Web Push key pair into the state file, the public part to the
	 * server. The configuration is written either way; `push-keys` can do this later. */
	if (h != NULL) {
		char p256dh[SMSWAKE_P256DH_MAX], auth[SMSWAKE_AUTH_MAX];
		smswake_err e = smswake_push_keys(h, 0, p256dh, auth);

		if (e == SMSWAKE_OK)
			e = smswake_push_upload(h);
		if (e != SMSWAKE_OK) {
			log_warnx("provision: push keys: %s (run smswake-client push-keys later)",
				  smswake_errmsg(h)[0] ? smswake_errmsg(h) : smswake_strerror(e));
			rc = exit_code(e);
		}
		smswake_free(h);
	}
	return rc;
}

/* --help prints this on stdout (exit 0), a mistake on stderr (exit 2). */
static void usage_to(FILE *f)
{
	fprintf(f, "usage: smswake-client [-c FILE] [-n] [-v] COMMAND [ARGS]\n"
		   "  sms              verify one SMS from stdin (hex PDU, hex user data or text), fetch\n"
		   "  smsd FILE...     verify a gammu-smsd inbox file (RunOnReceive), fetch\n"
		   "  poll             fetch once\n"
		   "  run              daemon: poll on the advised interval, fetch on wakeups\n"
		   "                   (from sms_fifo or the [modem] section's modem)\n"
		   "  state            print the stored wake counter and cursor\n"
		   "  push-keys [--rotate] [--no-upload]\n"
		   "                   make the device's Web Push keys (once, or anew with --rotate),\n"
		   "                   send them to the server, print them\n"
		   "  provision --server URL [--state FILE] [--handler PATH] [--push-keys] < reg.json > conf\n"
		   "  -c FILE  configuration (default " DEFAULT_CONFIG ")\n"
		   "  -n       check the configuration and exit\n"
		   "  -v       more logging (repeat for debug)\n"
		   "  -h, --help  this text; --version: the version\n");
}

static void usage(void)
{
	usage_to(stderr);
}

static int known_command(const char *cmd)
{
	static const char *const cmds[] = {"sms", "smsd", "poll", "run", "state", "push-keys", "provision"};

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(cmd, cmds[i]) == 0)
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	const char *config = DEFAULT_CONFIG, *cmd;
	struct cli_config cfg = {0};
	smswake_t *h = NULL;
	int c, verbose = 0, check_only = 0, rc;

	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},    {"check", no_argument, NULL, 'n'},
		{"verbose", no_argument, NULL, 'v'},         {"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, OPT_VERSION}, {NULL, 0, NULL, 0},
	};

	log_init("smswake-client", LOG_LEVEL_WARN, 0);
	while ((c = getopt_long(argc, argv, "+c:nvh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'n': check_only = 1; break;
		case 'v': verbose++; break;
		case 'h': usage_to(stdout); return CLI_OK;
		case OPT_VERSION: return version_print("smswake-client");
		default: usage(); return CLI_EUSAGE; /* getopt named the option */
		}
	}
	log_setlevel(verbose >= 2 ? LOG_LEVEL_DEBUG : verbose == 1 ? LOG_LEVEL_INFO : LOG_LEVEL_WARN);
	if (optind >= argc && !check_only) {
		usage();
		return CLI_EUSAGE;
	}
	cmd = optind < argc ? argv[optind] : "";
	if (cmd[0] != '\0' && !known_command(cmd)) {
		log_warnx("unknown command '%s'", cmd);
		usage();
		return CLI_EUSAGE;
	}
	if (strcmp(cmd, "provision") == 0)
		return cmd_provision(argc - optind, argv + optind);

	if (smswake_new(&h) != SMSWAKE_OK) {
		log_warnx("out of memory");
		return CLI_EFAIL;
	}
	if (load_config(config, h, &cfg) != 0) {
		rc = CLI_ECONFIG;
		goto done;
	}
	if (check_only) {
		rc = check_environment(config, &cfg) == 0 ? CLI_OK : CLI_ECONFIG;
		goto done;
	}
	warn_state_missing(&cfg);
	if (strcmp(cmd, "sms") == 0 && optind + 1 == argc) {
		rc = cmd_sms(h, &cfg);
	} else if (strcmp(cmd, "smsd") == 0) {
		rc = cmd_smsd(h, &cfg, argc - optind - 1, argv + optind + 1);
	} else if (strcmp(cmd, "poll") == 0 && optind + 1 == argc) {
		struct smswake_fetch_result res;
		rc = exit_code(do_fetch(h, &cfg, &res));
	} else if (strcmp(cmd, "run") == 0 && optind + 1 == argc) {
		if (verbose == 0)
			log_setlevel(LOG_LEVEL_INFO);
		rc = cmd_run(h, &cfg);
	} else if (strcmp(cmd, "push-keys") == 0) {
		rc = cmd_push_keys(h, argc - optind, argv + optind);
	} else if (strcmp(cmd, "state") == 0 && optind + 1 == argc) {
		uint64_t counter, cursor;
		smswake_err err = smswake_get_state(h, &counter, &cursor);

		report(h, "state", err);
		if (err == SMSWAKE_OK)
			printf("wake_counter %" PRIu64 "\ncursor %" PRIu64 "\n", counter, cursor);
		rc = exit_code(err);
	} else {
		usage();
		rc = CLI_EUSAGE;
	}
done:
	free(cfg.handler);
	free(cfg.sms_fifo);
	free(cfg.smsd_inbox);
	free(cfg.state_file);
	cli_modem_free(&cfg);
	smswake_free(h);
	return rc;
}
