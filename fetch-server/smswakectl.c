/* SPDX-License-Identifier: GPL-2.0-or-later */
/* smswakectl: administration of providers and gateways (keys printed once, stored hashed),
 * master-key rotation and online backups. Works on the server's store directly; safe while the server runs, since
 * SQLite serialises the writers and the server's writer waits on its busy timeout. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "config.h"
#include "log.h"
#include "server.h"
#include "util.h"
#include "version.h"

/* --help prints this on stdout and exits 0; a mistake prints it on stderr and exits 2. */
static void usage_to(FILE *f, int status)
{
	fprintf(f, "usage: smswakectl [-c config] command ...\n"
		   "  provider add NAME         create a provider and print its API key once\n"
		   "  provider list             list providers\n"
		   "  provider revoke NAME      revoke a provider's key\n"
		   "  provider budget NAME N    limit a provider to N wakeup SMS per day (0: no limit)\n"
		   "  gateway add NAME          create a gateway and print its token once\n"
		   "  gateway list              list gateways\n"
		   "  gateway revoke NAME       revoke a gateway's token\n"
		   "  key list                  master keys and how many devices use each\n"
		   "  key rotate                create the next master key and move every device to it\n"
		   "  backup FILE               write an online copy of the database to FILE (SQLite)\n"
		   "  migrate --to DSN [--password-file FILE]\n"
		   "                            copy the SQLite store into an empty PostgreSQL database\n"
		   "  -c, --config FILE         configuration file (default /etc/smswake/smswake.conf)\n"
		   "  -h, --help                this text\n"
		   "      --version             print the version and exit\n");
	exit(status);
}

static void usage(void)
{
	usage_to(stderr, 2);
}

/* A command line that cannot be right names the word at fault before the usage. */
static void usage_word(const char *what, const char *word)
{
	if (word != NULL)
		fprintf(stderr, "smswakectl: unknown %s '%s'\n", what, word);
	else
		fprintf(stderr, "smswakectl: %s is missing\n", what);
	usage();
}

/* Checks the words and their count before anything is opened, so that a typo is answered as
 * one whatever the state of the configuration. */
static void check_command(int argc, char **argv)
{
	static const char *const principal[] = {"add", "list", "revoke", "budget", NULL};
	static const char *const key[] = {"list", "rotate", NULL};
	const char *const *subs = NULL;
	int i;

	if (strcmp(argv[0], "provider") == 0 || strcmp(argv[0], "gateway") == 0)
		subs = principal;
	else if (strcmp(argv[0], "key") == 0)
		subs = key;
	else if (strcmp(argv[0], "backup") == 0) {
		if (argc != 2)
			usage_word("backup's FILE", argc > 2 ? argv[2] : NULL);
		return;
	} else if (strcmp(argv[0], "migrate") == 0)
		return; /* migrate_cmd reads its options */
	else
		usage_word("command", argv[0]);
	if (argc < 2)
		usage_word("subcommand", NULL);
	for (i = 0; subs[i] != NULL; i++)
		if (strcmp(argv[1], subs[i]) == 0)
			break;
	if (subs[i] == NULL || (subs == principal && i == 3 && strcmp(argv[0], "provider") != 0))
		usage_word("subcommand", argv[1]);
}

static int print_principal(void *arg, const struct store_principal *p)
{
	char when[32];
	time_t t = (time_t)(p->created_ms / 1000);
	struct tm tm;
	(void)arg;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("%-24s %-8s created %s", p->name, p->revoked ? "revoked" : "active", when);
	if (p->sms_budget_day > 0)
		printf(" budget %lld/day", (long long)p->sms_budget_day);
	printf("\n");
	return 0;
}

static int valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > STORE_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '-' || s[i] == '_' || s[i] == '.'))
			return 0;
	return 1;
}

static int principal_cmd(struct store *st, int is_provider, int argc, char **argv)
{
	const char *what = is_provider ? "provider" : "gateway";
	uint8_t hash[STORE_HASH_LEN];
	char token[96];
	int64_t id;
	int rc;

	if (argc < 1)
		usage();
	if (strcmp(argv[0], "list") == 0 && argc == 1)
		rc = is_provider ? store_provider_list(st, print_principal, NULL)
				 : store_gateway_list(st, print_principal, NULL);
	else if (argc >= 2 && !valid_name(argv[1])) {
		fprintf(stderr, "smswakectl: a %s name is 1 to %d letters, digits, '-', '_' or '.'\n", what,
			STORE_NAME_MAX);
		return 1;
	} else if (strcmp(argv[0], "add") == 0 && argc == 2) {
		if (keys_new_token(is_provider ? "swp" : "swg", token, sizeof(token), hash) != 0) {
			fprintf(stderr, "smswakectl: cannot create a key\n");
			return 1;
		}
		rc = is_provider ? store_provider_add(st, argv[1], hash, util_now_ms(), &id)
				 : store_gateway_add(st, argv[1], hash, util_now_ms(), &id);
		if (rc == STORE_OK)
			printf("%s\n", token);
		explicit_bzero(token, sizeof(token));
		if (rc == STORE_CONFLICT) {
			fprintf(stderr, "smswakectl: an active %s named '%s' exists already\n", what, argv[1]);
			return 1;
		}
	} else if (strcmp(argv[0], "revoke") == 0 && argc == 2) {
		rc = is_provider ? store_provider_revoke(st, argv[1]) : store_gateway_revoke(st, argv[1]);
	} else if (is_provider && strcmp(argv[0], "budget") == 0 && argc == 3) {
		int64_t n;
		if (util_parse_i64(argv[2], 0, 100000000, &n) != 0) {
			fprintf(stderr, "smswakectl: the budget is a number of SMS per day\n");
			return 1;
		}
		rc = store_provider_set_budget(st, argv[1], n);
	} else
		usage();
	if (rc == STORE_NOTFOUND) {
		fprintf(stderr, "smswakectl: no active %s named '%s'\n", what, argc > 1 ? argv[1] : "");
		return 1;
	}
	if (rc != STORE_OK) {
		fprintf(stderr, "smswakectl: %s\n", store_strerror(rc));
		return 1;
	}
	return 0;
}

struct key_use {
	int on[MASTER_KEY_IDS + 1];
	int moving[MASTER_KEY_IDS + 1];
};

static int count_key(void *arg, const struct store_device *d)
{
	struct key_use *u = arg;

	if (d->key_id >= 1 && d->key_id <= MASTER_KEY_IDS)
		u->on[d->key_id]++;
	if (d->key_next >= 1 && d->key_next <= MASTER_KEY_IDS)
		u->moving[d->key_next]++;
	return 0;
}

/* A rotation: key N+1 is created next to the others and every device is marked to move to it.
 * The server hands each device its new wake key in its next fetch (after a restart has loaded
 * the key) and keeps waking it with the old one until the device's ack names the new one. */
static int key_cmd(const struct server_config *cfg, struct store *st, int argc, char **argv)
{
	struct master_keys *mk = calloc(1, sizeof(*mk));
	struct key_use *u = calloc(1, sizeof(*u));
	char err[512];
	int rc = 1, id, count = 0;

	if (mk == NULL || u == NULL || argc != 2) {
		free(mk);
		free(u);
		if (argc != 2)
			usage();
		return 1;
	}
	if (keys_load(cfg->master_key_file, mk, err, sizeof(err)) < 0) {
		fprintf(stderr, "smswakectl: %s\n", err);
		goto out;
	}
	if (err[0])
		fprintf(stderr, "smswakectl: warning: %s\n", err);
	if (strcmp(argv[1], "list") == 0) {
		if (store_device_list(st, 0, count_key, u) != STORE_OK) {
			fprintf(stderr, "smswakectl: cannot list devices\n");
			goto out;
		}
		for (id = 1; id <= MASTER_KEY_IDS; id++)
			if (mk->loaded[id] || u->on[id] || u->moving[id])
				printf("key %-3d %-8s devices %d, moving to it %d%s\n", id,
				       mk->loaded[id] ? "present" : "MISSING", u->on[id], u->moving[id],
				       id == mk->current ? " (newest: new devices get it)" : "");
		rc = 0;
	} else if (strcmp(argv[1], "rotate") == 0) {
		id = keys_add(cfg->master_key_file, mk, err, sizeof(err));
		if (id < 0) {
			fprintf(stderr, "smswakectl: %s\n", err);
			goto out;
		}
		if (store_key_roll(st, id, &count) != STORE_OK) {
			fprintf(stderr,
				"smswakectl: key %d created but the devices could not be marked; run it again\n", id);
			goto out;
		}
		printf("master key %d created in %s.%d; %d devices will move to it as they next fetch.\n"
		       "Back it up with the others, then restart smswake-server to load it.\n",
		       id, cfg->master_key_file, id, count);
		rc = 0;
	} else {
		usage();
	}
out:
	keys_wipe(mk);
	free(mk);
	free(u);
	return rc;
}

/* migrate --to DSN [--password-file FILE]: the backup goes next to the database, named by the
 * time, and is kept. */
static int migrate_cmd(const struct server_config *cfg, struct store *st, int argc, char **argv)
{
	struct store_options to = {.backend = STORE_BACKEND_POSTGRESQL};
	const char *serr = NULL;
	char backup[CONFIG_PATH_MAX + 64];
	time_t now = time(NULL);
	struct tm tm;
	int rc;

	for (int i = 1; i < argc; i += 2) {
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--to") == 0)
			to.dsn = argv[i + 1];
		else if (strcmp(argv[i], "--password-file") == 0)
			to.password_file = argv[i + 1];
		else
			usage();
	}
	if (to.dsn == NULL || to.dsn[0] == '\0')
		usage();
	if (cfg->store_backend != STORE_BACKEND_SQLITE) {
		fprintf(stderr, "smswakectl: migrate copies an SQLite store; this configuration uses PostgreSQL\n");
		return 1;
	}
	gmtime_r(&now, &tm);
	snprintf(backup, sizeof(backup), "%s.migrate-%04d%02d%02dT%02d%02d%02dZ", cfg->database, tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	rc = store_migrate(st, backup, &to, stdout, &serr);
	if (rc != STORE_OK) {
		fprintf(stderr, "smswakectl: migrate failed: %s\n", serr ? serr : store_strerror(rc));
		return 1;
	}
	printf("copied; set [store] backend = postgresql and dsn in the configuration\n");
	return 0;
}

int main(int argc, char **argv)
{
	const char *cfgpath = "/etc/smswake/smswake.conf", *serr = NULL;
	struct server_config cfg;
	struct store_options so = {0};
	struct store *st;
	char err[512];
	int ch, rc;

	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, OPT_VERSION},
		{NULL, 0, NULL, 0},
	};

	while ((ch = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': cfgpath = optarg; break;
		case 'h': usage_to(stdout, 0); break;
		case OPT_VERSION: return version_print("smswakectl");
		default: usage(); /* getopt named the option */
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage_word("command", NULL);
	check_command(argc, argv);
	log_init("smswakectl", LOG_LEVEL_WARN, 0);
	umask(077); /* the database and keys it may create are the owner's alone */
	if (config_load(&cfg, cfgpath, err, sizeof(err)) != 0) {
		fprintf(stderr, "smswakectl: %s\n", err);
		return 1;
	}
	if (util_mkdir_p(cfg.data_dir, 0700) != 0) {
		fprintf(stderr, "smswakectl: cannot create %s\n", cfg.data_dir);
		return 1;
	}
	so.backend = cfg.store_backend;
	so.path = cfg.database;
	so.dsn = cfg.store_dsn;
	so.password_file = cfg.store_password_file;
	so.synchronous_full = cfg.synchronous_full;
	if (store_open(&so, &st, &serr) != STORE_OK) {
		fprintf(stderr, "smswakectl: cannot open the store %s: %s\n", store_where(&cfg),
			serr ? serr : "unknown error");
		return 1;
	}
	if (strcmp(argv[0], "provider") == 0)
		rc = principal_cmd(st, 1, argc - 1, argv + 1);
	else if (strcmp(argv[0], "gateway") == 0)
		rc = principal_cmd(st, 0, argc - 1, argv + 1);
	else if (strcmp(argv[0], "key") == 0)
		rc = key_cmd(&cfg, st, argc, argv);
	else if (strcmp(argv[0], "backup") == 0 && argc == 2) {
		rc = store_backup(st, argv[1]);
		if (rc != STORE_OK)
			fprintf(stderr, "smswakectl: backup to %s failed: %s\n", argv[1], store_strerror(rc));
		rc = rc != STORE_OK;
	} else if (strcmp(argv[0], "migrate") == 0) {
		rc = migrate_cmd(&cfg, st, argc, argv);
	} else {
		store_close(st);
		usage();
	}
	store_close(st);
	return rc;
}
