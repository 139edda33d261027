/* SPDX-License-Identifier: GPL-2.0-or-later */
/* smswake-server: reads the configuration, opens the store, starts the HTTP listeners and the
 * wake scheduler, and runs the periodic expiry and purge until SIGTERM or SIGINT. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "log.h"
#include "longpoll.h"
#include "metrics.h"
#include "scheduler.h"
#include "util.h"
#include "version.h"
#include "webhooks.h"

#define DEFAULT_CONFIG "/etc/smswake/smswake.conf"

/* --help prints this on stdout and exits 0; a mistake prints it on stderr and exits 2. */
static void usage(FILE *f, int status)
{
	fprintf(f, "usage: smswake-server [-dn] [-c config]\n"
		   "  -c, --config FILE  configuration file (default " DEFAULT_CONFIG ")\n"
		   "  -n, --check        check the configuration and exit\n"
		   "  -d, --debug        log debug messages\n"
		   "  -h, --help         this text\n"
		   "      --version      print the version and exit\n");
	exit(status);
}

static void on_message_added(void *arg, int64_t device_id)
{
	struct server *srv = arg;
	longpoll_notify(srv->device_waits, device_id);
	if (srv->scheduler)
		scheduler_notify(srv->scheduler, device_id);
}

static void on_wake_job_added(void *arg)
{
	struct server *srv = arg;
	longpoll_notify(srv->gateway_waits, 0);
}

/* Each connection is a descriptor: take the hard limit, and hold connection_limit to what it
 * allows next to the store, logs and listeners. */
static void raise_nofile(struct server_config *cfg)
{
	struct rlimit rl;
	const int reserve = 256;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)cfg->connection_limit + reserve > rl.rlim_cur) {
		int limit = rl.rlim_cur > (rlim_t)reserve * 2 ? (int)(rl.rlim_cur - reserve) : (int)rl.rlim_cur / 2;
		log_warnx("connection_limit %d is more than the open file limit (%llu) allows; using %d (raise "
			  "LimitNOFILE)",
			  cfg->connection_limit, (unsigned long long)rl.rlim_cur, limit);
		cfg->connection_limit = limit;
	}
}

/* -n: data_dir can be used by this user: it is a writable directory, or the nearest directory
 * above it that exists is writable (the server creates the rest). 0, or -1 with errno set. */
static int dir_usable(const char *path)
{
	char p[PATH_MAX];
	struct stat st;
	char *slash;

	if ((size_t)snprintf(p, sizeof(p), "%s", path) >= sizeof(p)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (;;) {
		if (stat(p, &st) == 0) {
			if (!S_ISDIR(st.st_mode)) {
				errno = ENOTDIR;
				return -1;
			}
			return access(p, W_OK | X_OK);
		}
		if (errno != ENOENT)
			return -1;
		slash = strrchr(p, '/');
		if (slash == NULL)
			return access(".", W_OK | X_OK);
		if (slash == p) {
			p[1] = '\0';
			continue;
		}
		*slash = '\0';
	}
}

/* Expiry every sweep_interval, purge of finished rows every hour. */
static void maintenance(struct server *srv, int64_t *next_purge)
{
	int64_t now = util_now_ms();
	int n = 0;

	if (store_expire(srv->store, now, &n) == STORE_OK && n > 0) {
		metrics_add(CTR_MESSAGES_EXPIRED, (uint64_t)n);
		log_debug("expired %d messages", n);
	}
	if (now >= *next_purge) {
		n = 0;
		if (store_purge(srv->store, now - srv->cfg.retention_s * 1000, &n) == STORE_OK && n > 0) {
			metrics_add(CTR_MESSAGES_PURGED, (uint64_t)n);
			log_info("purged %d finished messages older than the retention time", n);
		}
		*next_purge = now + 3600 * 1000;
	}
}

int main(int argc, char **argv)
{
	static struct server srv;
	const char *cfgpath = DEFAULT_CONFIG, *serr = NULL;
	struct store_options so = {0};
	struct store_notify sn;
	char err[512] = "";
	int check_only = 0, debug = 0, ch, rc;
	int64_t next_purge = 0;
	sigset_t sigs;
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},    {"debug", no_argument, NULL, 'd'},
		{"check", no_argument, NULL, 'n'},           {"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, OPT_VERSION}, {NULL, 0, NULL, 0},
	};

	while ((ch = getopt_long(argc, argv, "c:dnh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': cfgpath = optarg; break;
		case 'd': debug = 1; break;
		case 'n': check_only = 1; break;
		case 'h': usage(stdout, 0); break;
		case OPT_VERSION: return version_print("smswake-server");
		default: usage(stderr, 2); /* getopt named the option */
		}
	}
	if (optind != argc) {
		fprintf(stderr, "smswake-server: unexpected argument '%s'\n", argv[optind]);
		usage(stderr, 2);
	}
	log_init("smswake-server", LOG_LEVEL_INFO, 0);
	if (config_load(&srv.cfg, cfgpath, err, sizeof(err)) != 0)
		fatalx("%s", err);
	if (check_only) {
		/* What the server needs at once beyond the syntax: a data_dir it can write. */
		if (dir_usable(srv.cfg.data_dir) != 0)
			fatalx("%s: data_dir %s: %s (create it, writable by the user smswake-server runs as)", cfgpath,
			       srv.cfg.data_dir, strerror(errno));
		printf("%s: configuration OK\n", cfgpath);
		return 0;
	}
	log_setlevel(debug ? LOG_LEVEL_DEBUG : srv.cfg.log_level);
	/* Whatever the server creates (database, -wal, -shm, keys, ports file) is the owner's alone. */
	umask(077);
	raise_nofile(&srv.cfg);

	/* Signals are taken synchronously by the main thread; every other thread inherits the mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (util_mkdir_p(srv.cfg.data_dir, 0700) != 0)
		fatal("data_dir %s", srv.cfg.data_dir);
	rc = keys_load(srv.cfg.master_key_file, &srv.keys, err, sizeof(err));
	if (rc < 0)
		fatalx("%s", err);
	if (rc == 1)
		log_info("created a new master key in %s", srv.cfg.master_key_file);
	else if (err[0])
		log_warnx("%s", err);
	if (srv.keys.current > 1)
		log_info("master keys loaded; new devices and key moves use key id %d", srv.keys.current);

	so.backend = srv.cfg.store_backend;
	so.path = srv.cfg.database;
	so.dsn = srv.cfg.store_dsn;
	so.password_file = srv.cfg.store_password_file;
	so.synchronous_full = srv.cfg.synchronous_full;
	/* The connection string is not logged: it might hold a password after all. */
	if (store_open(&so, &srv.store, &serr) != STORE_OK)
		fatalx("cannot open the store %s: %s", store_where(&srv.cfg), serr ? serr : "unknown error");
	srv.device_waits = longpoll_new();
	srv.gateway_waits = longpoll_new();
	srv.event_waits = longpoll_new();
	if (srv.device_waits == NULL || srv.gateway_waits == NULL || srv.event_waits == NULL)
		fatalx("cannot start the long-poll timers");
	if (srv.cfg.sched.enabled && (srv.scheduler = scheduler_start(&srv)) == NULL)
		fatalx("cannot start the wake scheduler");
	sn = (struct store_notify){.message_added = on_message_added, .wake_job_added = on_wake_job_added, .arg = &srv};
	store_set_notify(srv.store, &sn);
	if ((srv.webhooks = webhooks_start(&srv)) == NULL)
		fatalx("cannot start the webhook delivery thread");
	if (http_start(&srv, err, sizeof(err)) != 0) {
		log_error("%s", err);
		http_stop(&srv);
		store_set_notify(srv.store, &(struct store_notify){0});
		webhooks_stop(srv.webhooks);
		scheduler_stop(srv.scheduler);
		store_close(srv.store);
		return 1;
	}
	log_info("smswake-server ready (store %s, schema %d, %d HTTP threads a listener)", store_where(&srv.cfg),
		 store_user_version(srv.store), http_threads(&srv.cfg));

	for (;;) {
		struct timespec ts = {.tv_sec = srv.cfg.sweep_interval_s, .tv_nsec = 0};
		int sig = sigtimedwait(&sigs, NULL, &ts);
		if (sig == SIGINT || sig == SIGTERM)
			break;
		if (sig == SIGHUP)
			log_info("SIGHUP: configuration reload is not supported; restart to apply changes");
		maintenance(&srv, &next_purge);
	}
	log_info("shutting down");
	srv.stopping = 1;
	http_stop(&srv);
	/* Before what the notifications reach goes: it returns once none is running any more. */
	store_set_notify(srv.store, &(struct store_notify){0});
	webhooks_stop(srv.webhooks);
	scheduler_stop(srv.scheduler);
	longpoll_free(srv.device_waits);
	longpoll_free(srv.gateway_waits);
	longpoll_free(srv.event_waits);
	store_close(srv.store);
	keys_wipe(&srv.keys);
	return 0;
}
