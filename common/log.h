/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Logging for smswake daemons and tools: stderr in the foreground (with syslog priorities when it
 * is the journal), syslog when asked.
 * Never pass secrets (keys, tokens, PINs) to these functions. */
#ifndef SMSWAKE_LOG_H
#define SMSWAKE_LOG_H

#include <stdarg.h>

enum log_level { LOG_LEVEL_ERROR = 0, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* Sets the program name, the level, and whether to log to syslog instead of stderr. */
void log_init(const char *progname, int level, int use_syslog);
void log_setlevel(int level);
int log_getlevel(void);
/* Parses "error", "warn", "info", "debug"; returns -1 for anything else. */
int log_level_parse(const char *s);

/* log_warn appends strerror(errno); log_warnx does not. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* For start-up failures only: logs and exits with status 1. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
