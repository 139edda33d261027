/* SPDX-License-Identifier: GPL-2.0-or-later */
/* smswake-modem-sim: a simulated GSM network whose modems sit on pseudo-terminals and speak AT
 * commands, so that Gammu's real AT driver can be tested without hardware. */
#include "sim.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "version.h"

static volatile sig_atomic_t sim_stop;

static void sim_on_signal(int sig)
{
	(void)sig;
	sim_stop = 1;
}

static void sim_usage(FILE *f)
{
	char names[256];

	sim_profile_names(names, sizeof(names));
	fprintf(f,
		"usage: smswake-modem-sim -d RUNDIR [[-p PROFILE] -m NUMBER]... [-c FILE] [-s SEED] [-v] [-n] [-f]\n"
		"       smswake-modem-sim --ctl RUNDIR COMMAND [ARG]...\n"
		"  -d RUNDIR   where modem-NUMBER links, the control socket and the pid file go\n"
		"  -m NUMBER   add a modem with this MSISDN (repeatable)\n"
		"  -p PROFILE  modem profile of the -m modems that follow (%s; default 3gpp)\n"
		"  -c FILE     INI configuration ([network], [defaults], [modem NUMBER])\n"
		"  -s SEED     seed of the fault generator (default 1)\n"
		"  -v          log AT traffic and deliveries (debug level)\n"
		"  -n          check the configuration and exit\n"
		"  -f          stay in the foreground (always the case)\n"
		"  --ctl       send one control command, print the reply, exit 0 on OK\n"
		"  -h, --help  this text; --version: the version\n",
		names);
}

static void sim_cleanup(struct sim_net *net)
{
	char pidfile[PATH_MAX];

	sim_control_close(net);
	sim_net_free(net);
	for (int i = 0; i < net->n_modems; i++)
		sim_modem_free(net->modem[i]);
	net->n_modems = 0;
	if ((size_t)snprintf(pidfile, sizeof(pidfile), "%s/pid", net->rundir) < sizeof(pidfile))
		unlink(pidfile);
}

static void sim_loop(struct sim_net *net)
{
	struct pollfd pfd[SIM_MODEMS_MAX + 32];
	sigset_t none;

	sigemptyset(&none);
	while (!sim_stop) {
		int n = 0, nm, timeout = sim_timer_timeout(), rc;
		struct timespec ts, *tsp = NULL;

		for (int i = 0; i < net->n_modems; i++) {
			struct sim_modem *m = net->modem[i];
			pfd[n].fd = m->master;
			pfd[n].events = 0;
			pfd[n].revents = 0;
			if (m->master >= 0) {
				if (!m->busy && !m->answering && !m->resetting && m->in_len < sizeof(m->in))
					pfd[n].events |= POLLIN;
				if (m->out_len > 0)
					pfd[n].events |= POLLOUT;
			}
			n++;
		}
		nm = n;
		n += sim_control_pollfds(pfd + n, (int)(sizeof(pfd) / sizeof(pfd[0])) - n);
		if (timeout >= 0) {
			ts.tv_sec = timeout / 1000;
			ts.tv_nsec = (long)(timeout % 1000) * 1000000;
			tsp = &ts;
		}
		/* Signals are blocked except inside ppoll, so a SIGTERM cannot slip in between the
		 * check of sim_stop and the wait. */
		rc = ppoll(pfd, (nfds_t)n, tsp, &none);
		if (rc < 0 && errno != EINTR)
			fatal("ppoll");
		if (sim_stop)
			break;
		if (rc > 0) {
			for (int i = 0; i < nm; i++) {
				struct sim_modem *m = net->modem[i];
				if (pfd[i].revents == 0 || m->master != pfd[i].fd)
					continue;
				if (pfd[i].revents & POLLOUT)
					sim_modem_flush(m);
				if (pfd[i].revents & POLLIN)
					sim_modem_read(m);
				else if (pfd[i].revents & (POLLHUP | POLLERR)) {
					/* We hold the slave open, so this should not happen; bounce
					 * the link rather than spin on it. */
					log_warnx("modem %s: hangup on the pty", m->number);
					sim_modem_reset(m);
				}
			}
			sim_control_events(net, pfd + nm, n - nm);
		}
		sim_timer_run_due();
		for (int i = 0; i < net->n_modems; i++)
			sim_at_flush_urc(net->modem[i]);
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"ctl", required_argument, NULL, 'C'},
		{"profile", required_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, OPT_VERSION},
		{NULL, 0, NULL, 0},
	};
	const char *rundir = NULL, *config = NULL, *ctl = NULL;
	const char *numbers[SIM_MODEMS_MAX], *profiles[SIM_MODEMS_MAX], *profile = NULL;
	int n_numbers = 0, check = 0, verbose = 0, seeded = 0, opt;
	int64_t seed = 1;
	struct sim_net *net;
	struct sigaction sa;
	sigset_t block;
	char pidfile[PATH_MAX], pidtext[32];

	while ((opt = getopt_long(argc, argv, "+d:m:p:c:s:vnfh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'd': rundir = optarg; break;
		case 'm':
			if (n_numbers >= SIM_MODEMS_MAX)
				fatalx("too many modems (at most %d)", SIM_MODEMS_MAX);
			profiles[n_numbers] = profile;
			numbers[n_numbers++] = optarg;
			break;
		case 'p':
			if (sim_profile_find(optarg) == NULL) {
				char names[256];
				sim_profile_names(names, sizeof(names));
				fatalx("unknown profile \"%s\" (known: %s)", optarg, names);
			}
			profile = optarg;
			break;
		case 'c': config = optarg; break;
		case 's':
			if (util_parse_i64(optarg, 0, INT64_MAX, &seed) != 0)
				fatalx("bad seed \"%s\"", optarg);
			seeded = 1;
			break;
		case 'v': verbose = 1; break;
		case 'n': check = 1; break;
		case 'f': break;
		case 'C': ctl = optarg; break;
		case 'h': sim_usage(stdout); return 0;
		case OPT_VERSION: return version_print("smswake-modem-sim");
		default: sim_usage(stderr); return 2;
		}
	}
	if (ctl != NULL) {
		/* The command may come as one argument or as several words. */
		char cmd[8192];
		size_t k = 0;
		if (optind >= argc) {
			sim_usage(stderr);
			return 2;
		}
		for (int i = optind; i < argc; i++) {
			size_t n = strlen(argv[i]);
			if (k + n + 2 > sizeof(cmd))
				fatalx("command too long");
			if (k > 0)
				cmd[k++] = ' ';
			memcpy(cmd + k, argv[i], n);
			k += n;
		}
		cmd[k] = '\0';
		return sim_control_client(ctl, cmd);
	}
	if (optind != argc) {
		fprintf(stderr, "smswake-modem-sim: unexpected argument '%s'\n", argv[optind]);
		sim_usage(stderr);
		return 2;
	}
	log_init("smswake-modem-sim", verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO, 0);
	if (rundir == NULL && !check)
		fatalx("-d RUNDIR is required");

	net = calloc(1, sizeof(*net));
	if (net == NULL)
		fatalx("out of memory");
	sim_defaults_init(net);
	sim_net_seed(net, (uint64_t)seed);
	if (rundir != NULL && (size_t)snprintf(net->rundir, sizeof(net->rundir), "%s", rundir) >= sizeof(net->rundir))
		fatalx("run directory path too long");
	if (config != NULL && sim_config_load(net, config) != 0)
		fatalx("configuration %s not loaded", config);
	if (seeded)
		sim_net_seed(net, (uint64_t)seed);
	for (int i = 0; i < n_numbers; i++) {
		struct sim_modem *m = sim_modem_find(net, numbers[i]);
		char why[256];
		if (m == NULL && (m = sim_modem_add(net, numbers[i])) == NULL)
			fatalx("cannot add modem %s", numbers[i]);
		if (profiles[i] != NULL && sim_modem_set(m, "profile", profiles[i], why, sizeof(why)) != 0)
			fatalx("modem %s: %s", numbers[i], why);
	}
	if (net->n_modems == 0)
		fatalx("no modems: give -m NUMBER or [modem NUMBER] sections");
	if (check) {
		printf("configuration OK: %d modem(s)\n", net->n_modems);
		sim_cleanup(net);
		free(net);
		return 0;
	}
	if (util_mkdir_p(net->rundir, 0700) != 0)
		fatal("%s", net->rundir);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sim_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, NULL);

	for (int i = 0; i < net->n_modems; i++) {
		sim_at_power_on(net->modem[i]);
		if (sim_pty_open(net->modem[i]) != 0) {
			sim_cleanup(net);
			fatalx("cannot create the pseudo-terminal of %s", net->modem[i]->number);
		}
	}
	if (sim_control_open(net) != 0) {
		sim_cleanup(net);
		fatalx("cannot open the control socket");
	}
	/* The pid file comes last: once it exists, everything else is ready. */
	snprintf(pidtext, sizeof(pidtext), "%ld\n", (long)getpid());
	if ((size_t)snprintf(pidfile, sizeof(pidfile), "%s/pid", net->rundir) >= sizeof(pidfile) ||
	    util_write_file_atomic(pidfile, pidtext, strlen(pidtext), 0644) != 0)
		log_warn("%s", pidfile);
	for (int i = 0; i < net->n_modems; i++)
		log_info("modem %s on %s (%s)", net->modem[i]->number, net->modem[i]->pty_path,
			 net->modem[i]->link_path);

	sim_loop(net);

	log_info("stopping");
	sim_cleanup(net);
	free(net);
	return 0;
}
