/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Reads [modems] and [modem NAME] sections (see modem_ini.h) with libinih. */
#include "modem_ini.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "inifile.h"
#include "util.h"

void modem_ini_init(struct modem_ini *ini)
{
	memset(ini, 0, sizeof(*ini));
	supervisor_options_init(&ini->opt);
}

static int modem_ini_set(char *dst, size_t size, const char *value)
{
	size_t n = strlen(value);
	if (n >= size)
		return -1;
	memcpy(dst, value, n + 1);
	return 0;
}

static int modem_ini_modem(struct modem_ini *ini, const char *name)
{
	for (int i = 0; i < ini->n; i++)
		if (strcmp(ini->modems[i].name, name) == 0)
			return i;
	if (ini->n >= MODEM_INI_MAX)
		return -1;
	modem_config_init(&ini->modems[ini->n]);
	if (modem_ini_set(ini->modems[ini->n].name, sizeof(ini->modems[0].name), name) != 0)
		return -1;
	ini->enabled[ini->n] = 1;
	return ini->n++;
}

int modem_ini_line(struct modem_ini *ini, const char *section, const char *key, const char *value)
{
	struct modem_config *c;
	int i, r = 0;

	if (strcmp(section, "modems") == 0) {
		if (supervisor_options_set(&ini->opt, key, value) != 0) {
			snprintf(ini->error, sizeof(ini->error), "[modems] %s: bad key or value", key);
			return -1;
		}
		return 1;
	}
	if (strncmp(section, "modem ", 6) != 0)
		return 0;
	const char *name = section + 6;
	while (*name == ' ')
		name++;
	if (*name == '\0' || strchr(name, ' ') != NULL) {
		snprintf(ini->error, sizeof(ini->error), "[%s]: a modem name is one word", section);
		return -1;
	}
	i = modem_ini_modem(ini, name);
	if (i < 0) {
		snprintf(ini->error, sizeof(ini->error), "[%s]: too many modems or name too long", section);
		return -1;
	}
	c = &ini->modems[i];
	/* Gammu spells it "port" too. */
	if (strcasecmp(key, "device") == 0 || strcasecmp(key, "port") == 0)
		r = modem_ini_set(c->device, sizeof(c->device), value);
	else if (strcasecmp(key, "connection") == 0)
		r = modem_ini_set(c->connection, sizeof(c->connection), value);
	else if (strcasecmp(key, "model") == 0)
		r = modem_ini_set(c->model, sizeof(c->model), strcmp(value, "auto") == 0 ? "" : value);
	else if (strcasecmp(key, "pin") == 0)
		r = modem_ini_set(c->pin, sizeof(c->pin), value);
	else if (strcasecmp(key, "smsc") == 0)
		r = value[0] != '\0' && !modem_number_valid(value) ? -1
								   : modem_ini_set(c->smsc, sizeof(c->smsc), value);
	else if (strcasecmp(key, "logfile") == 0)
		r = modem_ini_set(c->logfile, sizeof(c->logfile), value);
	else if (strcasecmp(key, "enabled") == 0)
		r = util_parse_bool(value, &ini->enabled[i]);
	else
		r = -1;
	if (r != 0) {
		/* Never echo the value: it may be the PIN. */
		snprintf(ini->error, sizeof(ini->error), "[%s] %s: unknown key or bad value", section, key);
		return -1;
	}
	return 1;
}

static int modem_ini_handler(void *user, const char *section, const char *key, const char *value)
{
	struct modem_ini *ini = user;
	/* Other sections belong to other parts of the configuration file. */
	return modem_ini_line(ini, section, key, value) < 0 ? 0 : 1;
}

int modem_ini_finish(struct modem_ini *ini)
{
	for (int i = 0; i < ini->n; i++) {
		if (ini->modems[i].device[0] == '\0') {
			snprintf(ini->error, sizeof(ini->error), "[modem %s]: no device", ini->modems[i].name);
			return -1;
		}
		for (int j = 0; j < i; j++) {
			if (strcmp(ini->modems[i].device, ini->modems[j].device) == 0) {
				/* Two state machines on one port garble each other's replies. */
				snprintf(ini->error, sizeof(ini->error), "[modem %s] and [modem %s] share a device",
					 ini->modems[j].name, ini->modems[i].name);
				return -1;
			}
		}
	}
	return 0;
}

int modem_ini_check_devices(struct modem_ini *ini)
{
	for (int i = 0; i < ini->n; i++) {
		const struct modem_config *m = &ini->modems[i];
		if (!ini->enabled[i] || m->device[0] != '/' || access(m->device, R_OK | W_OK) == 0)
			continue;
		int e = errno;
		snprintf(ini->error, sizeof(ini->error), "modem %.24s: device %.72s: %s (%s)", m->name, m->device,
			 strerror(e), modem_device_hint(e));
		return -1;
	}
	return 0;
}

int modem_ini_load(struct modem_ini *ini, const char *path)
{
	int r = inifile_parse(path, modem_ini_handler, ini);

	if (r < 0) {
		snprintf(ini->error, sizeof(ini->error), "%.128s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (r > 0) {
		char first[sizeof(ini->error)];
		memcpy(first, ini->error, sizeof(first));
		snprintf(ini->error, sizeof(ini->error), "%.64s:%d: %.160s", path, r,
			 first[0] ? first : "syntax error");
		return -1;
	}
	return modem_ini_finish(ini);
}

void modem_ini_clear(struct modem_ini *ini)
{
	for (int i = 0; i < ini->n; i++)
		explicit_bzero(ini->modems[i].pin, sizeof(ini->modems[i].pin));
}
