/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Simulator settings: defaults, the INI configuration file, and the per-modem "key value"
 * settings shared by the file and the control socket's "set" command. */
#include "sim.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inifile.h"
#include "log.h"
#include "util.h"

void sim_faults_clear(struct sim_faults *f)
{
	memset(f, 0, sizeof(*f));
	f->registered = 1;
	f->reorder_ms = 2000;
	f->cms_error_code = 500;
	f->answer_delay_ms = -1;
}

void sim_defaults_init(struct sim_net *net)
{
	struct sim_modem *d = &net->defaults;

	snprintf(net->smsc, sizeof(net->smsc), "+15559999999");
	net->default_validity_s = 3 * 86400;
	net->retry_ms = 1000;
	net->reset_ms = 1000;
	memset(d, 0, sizeof(*d));
	sim_profile_apply(d, sim_profile_default());
	snprintf(d->operator_name, sizeof(d->operator_name), "SMSWAKE SIM");
	snprintf(d->puk, sizeof(d->puk), "12345678");
	d->csq = 20;
	d->storage_size = 20;
	for (int i = 0; i < SIM_MEM_COUNT; i++)
		d->store[i].size = d->storage_size;
	sim_faults_clear(&d->faults);
}

int sim_number_valid(const char *s)
{
	size_t n = 0;

	if (*s == '+')
		s++;
	for (; *s; s++, n++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return n >= 1 && n <= PDU_ADDR_DIGITS_MAX;
}

static int sim_digits(const char *s, size_t min, size_t max)
{
	size_t n = strlen(s);

	if (n < min || n > max)
		return 0;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

/* A Luhn check digit makes the generated IMEIs look like real ones to tools that check. */
static char sim_luhn(const char *digits)
{
	size_t n = strlen(digits);
	int sum = 0;

	for (size_t i = 0; i < n; i++) {
		int d = digits[n - 1 - i] - '0';
		if (i % 2 == 0) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
	}
	return (char)('0' + (10 - sum % 10) % 10);
}

struct sim_modem *sim_modem_find(struct sim_net *net, const char *number)
{
	const char *a = number[0] == '+' ? number + 1 : number;

	/* "+1555" and "1555" name the same subscriber: compare the digits. */
	for (int i = 0; i < net->n_modems; i++) {
		const char *b = net->modem[i]->number;
		if (b[0] == '+')
			b++;
		if (strcmp(a, b) == 0)
			return net->modem[i];
	}
	return NULL;
}

struct sim_modem *sim_modem_add(struct sim_net *net, const char *number)
{
	struct sim_modem *m;
	const char *digits;
	char body[32];
	size_t n;

	if (!sim_number_valid(number) || strlen(number) >= SIM_NUMBER_MAX) {
		log_warnx("invalid modem number \"%s\"", number);
		return NULL;
	}
	if (sim_modem_find(net, number) != NULL) {
		log_warnx("modem %s defined twice", number);
		return NULL;
	}
	if (net->n_modems >= SIM_MODEMS_MAX) {
		log_warnx("too many modems (at most %d)", SIM_MODEMS_MAX);
		return NULL;
	}
	m = malloc(sizeof(*m));
	if (m == NULL)
		return NULL;
	memcpy(m, &net->defaults, sizeof(*m));
	m->sent.rec = calloc(SIM_RECORDS_MAX, sizeof(struct sim_record));
	m->received.rec = calloc(SIM_RECORDS_MAX, sizeof(struct sim_record));
	if (m->sent.rec == NULL || m->received.rec == NULL) {
		free(m->sent.rec);
		free(m->received.rec);
		free(m);
		return NULL;
	}
	m->net = net;
	m->index = net->n_modems;
	m->master = m->slave = -1;
	snprintf(m->number, sizeof(m->number), "%s", number);
	snprintf(m->smsc, sizeof(m->smsc), "%s", net->smsc);
	/* Identities derived from the position and the number, stable across runs. */
	snprintf(body, sizeof(body), "3520990%07d", m->index + 1);
	snprintf(m->imei, sizeof(m->imei), "%s%c", body, sim_luhn(body));
	digits = number[0] == '+' ? number + 1 : number;
	n = strlen(digits);
	snprintf(m->imsi, sizeof(m->imsi), "00101%010lu", strtoul(n > 10 ? digits + n - 10 : digits, NULL, 10));
	net->modem[net->n_modems++] = m;
	return m;
}

/* Milliseconds: "250", "250ms", "2s", "1m". */
static int sim_parse_ms(const char *s, int64_t *ms)
{
	char num[32];
	size_t n = strlen(s);
	int64_t mult = 1, v;

	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, s, n + 1);
	if (n > 2 && strcmp(num + n - 2, "ms") == 0) {
		num[n - 2] = '\0';
	} else if (num[n - 1] == 's') {
		mult = 1000;
		num[n - 1] = '\0';
	} else if (num[n - 1] == 'm') {
		mult = 60000;
		num[n - 1] = '\0';
	}
	if (util_parse_i64(num, 0, 86400000, &v) != 0)
		return -1;
	*ms = v * mult;
	return 0;
}

/* "0.25" or "25%". */
static int sim_parse_prob(const char *s, double *p)
{
	char *end;
	double v;

	if (*s == '\0' || !(isdigit((unsigned char)*s) || *s == '.'))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0)
		return -1;
	if (*end == '%') {
		v /= 100;
		end++;
	}
	if (*end != '\0' || v < 0 || v > 1)
		return -1;
	*p = v;
	return 0;
}

static int sim_set_string(char *dst, size_t dstlen, const char *value, char *why, size_t whylen)
{
	size_t n = strlen(value);

	if (n >= dstlen) {
		snprintf(why, whylen, "value too long");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		/* Shown inside quoted AT responses: keep it printable and quote-free. */
		if (!isprint((unsigned char)value[i]) || value[i] == '"') {
			snprintf(why, whylen, "value must be printable ASCII without quotes");
			return -1;
		}
	}
	memcpy(dst, value, n + 1);
	return 0;
}

static void sim_set_registered(struct sim_modem *m, int on)
{
	int was = m->faults.registered;

	m->faults.registered = on;
	if (was != on && m->master >= 0) {
		if (m->creg_n >= 1)
			sim_at_urc(m, "+CREG: %d", on ? 1 : 0);
		if (on)
			sim_net_kick(m);
	}
}

int sim_modem_set(struct sim_modem *m, const char *key, const char *value, char *why, size_t whylen)
{
	struct sim_faults *f = &m->faults;
	int64_t v;
	int b;

	if (strcmp(key, "profile") == 0) {
		const struct sim_profile *p = sim_profile_find(value);
		if (p == NULL) {
			char names[256];
			sim_profile_names(names, sizeof(names));
			snprintf(why, whylen, "unknown profile \"%.40s\" (known: %s)", value, names);
			return -1;
		}
		/* The identity follows; the AT settings change at the modem's next power-on. */
		sim_profile_apply(m, p);
	} else if (strcmp(key, "delay") == 0) {
		char a[32];
		const char *dash = strchr(value, '-');
		int64_t lo, hi;
		if (dash == NULL) {
			if (sim_parse_ms(value, &lo) != 0)
				goto bad;
			hi = lo;
		} else {
			if ((size_t)(dash - value) >= sizeof(a))
				goto bad;
			memcpy(a, value, (size_t)(dash - value));
			a[dash - value] = '\0';
			if (sim_parse_ms(a, &lo) != 0 || sim_parse_ms(dash + 1, &hi) != 0 || hi < lo)
				goto bad;
		}
		f->delay_min_ms = lo;
		f->delay_max_ms = hi;
	} else if (strcmp(key, "loss") == 0) {
		if (sim_parse_prob(value, &f->loss) != 0)
			goto bad;
	} else if (strcmp(key, "dup") == 0) {
		if (sim_parse_prob(value, &f->dup) != 0)
			goto bad;
	} else if (strcmp(key, "reorder") == 0) {
		if (sim_parse_prob(value, &f->reorder) != 0)
			goto bad;
	} else if (strcmp(key, "reorder_delay") == 0) {
		if (sim_parse_ms(value, &f->reorder_ms) != 0)
			goto bad;
	} else if (strcmp(key, "drop_answer") == 0 || strcmp(key, "drop_submit") == 0 ||
		   strcmp(key, "no_prompt") == 0) {
		if (util_parse_i64(value, 0, 1000000, &v) != 0)
			goto bad;
		if (key[0] == 'n')
			f->no_prompt = (int)v;
		else if (key[5] == 'a')
			f->drop_answer = (int)v;
		else
			f->drop_submit = (int)v;
	} else if (strcmp(key, "answer_delay") == 0) {
		if (strcmp(value, "profile") == 0)
			f->answer_delay_ms = -1;
		else if (sim_parse_ms(value, &f->answer_delay_ms) != 0)
			goto bad;
	} else if (strcmp(key, "send_duration") == 0) {
		if (sim_parse_ms(value, &f->send_duration_ms) != 0)
			goto bad;
	} else if (strcmp(key, "registered") == 0) {
		if (util_parse_bool(value, &b) != 0)
			goto bad;
		sim_set_registered(m, b);
	} else if (strcmp(key, "cms_error") == 0) {
		char a[32];
		const char *sp = strchr(value, ' ');
		int64_t code = 500;
		size_t n = sp ? (size_t)(sp - value) : strlen(value);
		if (n >= sizeof(a))
			goto bad;
		memcpy(a, value, n);
		a[n] = '\0';
		if (util_parse_i64(a, 0, 1000000, &v) != 0)
			goto bad;
		if (sp != NULL && util_parse_i64(sp + 1, 0, 511, &code) != 0)
			goto bad;
		f->cms_error_count = (int)v;
		f->cms_error_code = (int)code;
	} else if (strcmp(key, "hang") == 0) {
		if (util_parse_bool(value, &b) != 0)
			goto bad;
		if (f->hang && !b) {
			/* Whatever arrived while hung was thrown away; start from a clean line. */
			m->line_len = 0;
			m->line_overflow = 0;
			m->pdu_mode_input = 0;
		}
		f->hang = b;
	} else if (strcmp(key, "storage_full") == 0) {
		if (util_parse_bool(value, &b) != 0)
			goto bad;
		f->storage_full = b;
		if (!b && m->master >= 0)
			sim_net_kick(m);
	} else if (strcmp(key, "reset") == 0) {
		if (m->master < 0 && !m->resetting) {
			snprintf(why, whylen, "reset only applies to a running modem");
			return -1;
		}
		sim_modem_reset(m);
	} else if (strcmp(key, "pin") == 0) {
		if (strcmp(value, "none") == 0 || value[0] == '\0') {
			m->pin[0] = '\0';
			m->pin_state = SIM_PIN_READY;
		} else {
			if (!sim_digits(value, 4, 8))
				goto bad;
			snprintf(m->pin, sizeof(m->pin), "%s", value);
			m->pin_state = SIM_PIN_SIM_PIN;
			m->pin_attempts = 3;
		}
	} else if (strcmp(key, "puk") == 0) {
		if (!sim_digits(value, 8, 8))
			goto bad;
		snprintf(m->puk, sizeof(m->puk), "%s", value);
	} else if (strcmp(key, "csq") == 0) {
		if (util_parse_i64(value, 0, 99, &v) != 0 || (v > 31 && v != 99))
			goto bad;
		m->csq = (int)v;
	} else if (strcmp(key, "storage_size") == 0) {
		if (util_parse_i64(value, 1, SIM_STORE_MAX, &v) != 0)
			goto bad;
		for (int i = 0; i < SIM_MEM_COUNT; i++) {
			for (int k = (int)v; k < SIM_STORE_MAX; k++) {
				if (m->store[i].slot[k].used) {
					snprintf(why, whylen, "messages stored above %d", (int)v);
					return -1;
				}
			}
		}
		m->storage_size = (int)v;
		for (int i = 0; i < SIM_MEM_COUNT; i++)
			m->store[i].size = (int)v;
	} else if (strcmp(key, "imsi") == 0) {
		if (!sim_digits(value, 6, 15))
			goto bad;
		snprintf(m->imsi, sizeof(m->imsi), "%s", value);
	} else if (strcmp(key, "imei") == 0) {
		if (!sim_digits(value, 14, 17))
			goto bad;
		snprintf(m->imei, sizeof(m->imei), "%s", value);
	} else if (strcmp(key, "smsc") == 0) {
		if (!sim_number_valid(value) || strlen(value) >= sizeof(m->smsc))
			goto bad;
		snprintf(m->smsc, sizeof(m->smsc), "%s", value);
	} else if (strcmp(key, "manufacturer") == 0) {
		return sim_set_string(m->manufacturer, sizeof(m->manufacturer), value, why, whylen);
	} else if (strcmp(key, "model") == 0) {
		return sim_set_string(m->model, sizeof(m->model), value, why, whylen);
	} else if (strcmp(key, "revision") == 0) {
		return sim_set_string(m->revision, sizeof(m->revision), value, why, whylen);
	} else if (strcmp(key, "operator") == 0) {
		return sim_set_string(m->operator_name, sizeof(m->operator_name), value, why, whylen);
	} else {
		snprintf(why, whylen, "unknown key \"%.40s\"", key);
		return -1;
	}
	return 0;
bad:
	snprintf(why, whylen, "bad value for %.40s", key);
	return -1;
}

struct sim_ini_ctx {
	struct sim_net *net;
	struct sim_modem *cur;
	char section[64];
	char why[128];
	int failed;
};

static int sim_ini_network(struct sim_net *net, const char *name, const char *value, char *why, size_t whylen)
{
	int64_t v;

	if (strcmp(name, "seed") == 0) {
		if (util_parse_i64(value, 0, INT64_MAX, &v) != 0)
			goto bad;
		sim_net_seed(net, (uint64_t)v);
	} else if (strcmp(name, "smsc") == 0) {
		if (!sim_number_valid(value) || strlen(value) >= sizeof(net->smsc))
			goto bad;
		snprintf(net->smsc, sizeof(net->smsc), "%s", value);
	} else if (strcmp(name, "validity") == 0) {
		if (util_parse_duration(value, &v) != 0 || v == 0)
			goto bad;
		net->default_validity_s = v;
	} else if (strcmp(name, "retry_interval") == 0) {
		if (sim_parse_ms(value, &v) != 0 || v < 10)
			goto bad;
		net->retry_ms = v;
	} else if (strcmp(name, "reset_duration") == 0) {
		if (sim_parse_ms(value, &v) != 0)
			goto bad;
		net->reset_ms = v;
	} else {
		snprintf(why, whylen, "unknown key \"%.40s\"", name);
		return -1;
	}
	return 0;
bad:
	snprintf(why, whylen, "bad value for %.40s", name);
	return -1;
}

static int sim_ini_handler(void *user, const char *section, const char *name, const char *value)
{
	struct sim_ini_ctx *c = user;

	if (c->failed)
		return 0;
	if (strcmp(section, c->section) != 0) {
		snprintf(c->section, sizeof(c->section), "%s", section);
		c->cur = NULL;
		if (strncmp(section, "modem ", 6) == 0) {
			c->cur = sim_modem_find(c->net, section + 6);
			if (c->cur == NULL)
				c->cur = sim_modem_add(c->net, section + 6);
			if (c->cur == NULL) {
				snprintf(c->why, sizeof(c->why), "bad modem section [%.40s]", section);
				goto fail;
			}
		} else if (strcmp(section, "network") != 0 && strcmp(section, "defaults") != 0) {
			snprintf(c->why, sizeof(c->why), "unknown section [%.40s]", section);
			goto fail;
		}
	}
	if (name == NULL)
		return 1;
	if (strcmp(section, "network") == 0) {
		if (sim_ini_network(c->net, name, value, c->why, sizeof(c->why)) != 0)
			goto fail;
	} else if (strcmp(name, "reset") == 0) {
		snprintf(c->why, sizeof(c->why), "reset is a run-time action");
		goto fail;
	} else if (sim_modem_set(c->cur ? c->cur : &c->net->defaults, name, value, c->why, sizeof(c->why)) != 0) {
		goto fail;
	}
	return 1;
fail:
	c->failed = 1;
	return 0;
}

int sim_config_load(struct sim_net *net, const char *path)
{
	struct sim_ini_ctx c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.net = net;
	rc = inifile_parse(path, sim_ini_handler, &c);
	if (rc < 0) {
		log_warn("%s", path);
		return -1;
	}
	if (rc > 0) {
		log_warnx("%s:%d: %s", path, rc, c.why[0] ? c.why : "syntax error");
		return -1;
	}
	return 0;
}
