/* SPDX-License-Identifier: GPL-2.0-or-later */
/* smswake-client internals shared by its files: exit codes, the message handler runner, the
 * provisioning writer and the SMS sources of the `run` daemon. */
#ifndef SMSWAKE_CLI_H
#define SMSWAKE_CLI_H

#include <stddef.h>

#include "smswake.h"

/* Exit codes, documented in docs/man/smswake-client.1. */
enum cli_exit {
	CLI_OK = 0,        /* handled (or nothing to do) */
	CLI_EFAIL = 1,     /* local failure: state file, memory, handler could not start */
	CLI_EUSAGE = 2,    /* bad command line */
	CLI_ECONFIG = 3,   /* configuration file missing, unreadable or invalid */
	CLI_EREJECTED = 4, /* the SMS is not a valid wakeup for this device */
	CLI_ESTALE = 5,    /* a valid wakeup already seen or older than the last one */
	CLI_ENETWORK = 6,  /* server unreachable after retries */
	CLI_ESERVER = 7,   /* server refused the token or answered outside the API */
	CLI_EHANDLER = 8,  /* the handler failed; the message stays queued for the next round */
};

struct cli_modem;

struct cli_config {
	char *handler;            /* program run per message; NULL prints JSON lines on stdout */
	unsigned handler_timeout; /* seconds before the handler is killed */
	char *sms_fifo;           /* `run`: FIFO delivering SMS lines, NULL for none */
	char *smsd_inbox;         /* `smsd`: directory that relative file names are in */
	char *state_file;         /* the library's state_file, for -n and the missing-file warning */
	struct cli_modem *modem;  /* `run`: the [modem] section (cli_source_modem.c), NULL for none */
};

/* Hands one message to the handler program: body on stdin, metadata in SMSWAKE_* environment
 * variables. Returns 0 if it exited 0, else non-zero (the message stays unacknowledged). */
int cli_run_handler(const struct cli_config *cfg, const struct smswake_message *m);
/* For -n: the handler, if one is set, can be executed now. 0, or -1 with the path, errno's text
 * and what to do in err. */
int cli_handler_check(const struct cli_config *cfg, char *err, size_t errmax);
/* What to do about a handler that exec refused with this errno. */
const char *cli_handler_hint(int err);

/* Turns the registration JSON of POST /v1/devices into a configuration file. Every value is
 * checked with smswake_setopt before it is written, so the result always loads. On success *out
 * is a malloc'ed NUL-terminated text owned by the caller. Returns 0, or -1 with a reason in err. */
int cli_provision(const char *json, size_t len, const char *server, const char *state_file, const char *handler,
		  char **out, char *err, size_t errmax);
/* The same, handing the configured handle to the caller in *hout on success (to make and upload
 * the device's push keys right after provisioning). */
int cli_provision_handle(const char *json, size_t len, const char *server, const char *state_file, const char *handler,
			 char **out, smswake_t **hout, char *err, size_t errmax);

/* A source of received SMS for `run`, one line per SMS in any form smswake_handle_input takes:
 * a FIFO (cli_source.c) or the device's own modem (cli_source_modem.c). */
struct sms_source_ops {
	const char *name;
	/* Takes what it needs from the configuration. Returns 0, or -1 with errno. */
	int (*open)(void **state, const struct cli_config *cfg);
	/* Waits up to timeout_ms for one SMS. Returns 1 with a NUL-terminated line, 0 on timeout,
	 * -1 on error, -2 when a signal interrupted the wait. */
	int (*wait)(void *state, int timeout_ms, char *line, size_t max);
	void (*close)(void *state);
};

extern const struct sms_source_ops sms_source_fifo;
extern const struct sms_source_ops sms_source_modem;
const struct sms_source_ops *sms_source_find(const char *name);

/* cli_source_modem.c: the [modem] section, Gammu's keys (device, connection, model, pin, smsc,
 * logfile) and the modem supervisor's options (worker, incoming_poll, ...). cli_modem_ini takes
 * one key, cli_modem_finish checks the section once the file is read; both return 0, or -1 with a
 * reason in err that never holds a value. cli_modem_free wipes the PIN. */
int cli_modem_ini(struct cli_config *cfg, const char *key, const char *value, char *err, size_t errmax);
int cli_modem_finish(struct cli_config *cfg, char *err, size_t errmax);
void cli_modem_free(struct cli_config *cfg);
/* For -n: the [modem] section's device can be opened now (0, or -1 with the reason in err). */
int cli_modem_check(struct cli_config *cfg, char *err, size_t errmax);

#endif
