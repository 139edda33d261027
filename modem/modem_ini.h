/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Modem configuration from an INI file: a [modems] section with supervisor options and one
 * [modem NAME] section per modem with Gammu's own keys (device, connection, model) plus pin and
 * smsc. The gateway can feed its own INI handler's lines to modem_ini_line. */
#ifndef SMSWAKE_MODEM_INI_H
#define SMSWAKE_MODEM_INI_H

#include <stddef.h>

#include "modem.h"
#include "supervisor.h"

#define MODEM_INI_MAX 32

struct modem_ini {
	struct supervisor_options opt;
	struct modem_config modems[MODEM_INI_MAX];
	int enabled[MODEM_INI_MAX];
	int n;
	char error[256]; /* first error, with its line when known */
};

void modem_ini_init(struct modem_ini *ini);
/* Handles one key; returns 1 if the section is ours and the line was taken, 0 if the section is
 * not ours, -1 on a bad key or value (ini->error says which). */
int modem_ini_line(struct modem_ini *ini, const char *section, const char *key, const char *value);
/* Parses a whole file. Returns 0, or -1 with ini->error set. Checks that every modem has a device
 * and that names and devices are unique. */
int modem_ini_load(struct modem_ini *ini, const char *path);
/* Final checks after the last line (also run by modem_ini_load). */
int modem_ini_finish(struct modem_ini *ini);
/* For -n: every enabled modem's device that is a path can be opened for reading and writing now.
 * Returns 0, or -1 with ini->error naming the modem, the device, errno's text and what to do. A
 * daemon that starts does not check: a modem may be plugged in later, its worker retries. */
int modem_ini_check_devices(struct modem_ini *ini);
/* Wipes the PINs. */
void modem_ini_clear(struct modem_ini *ini);

#endif
