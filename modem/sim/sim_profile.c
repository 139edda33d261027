/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Modem profiles: how a family of real modems answers where the standards leave room or where the
 * firmware departs from them (identity, missing commands, error style, prompt, unsolicited
 * lines, speed), modelled on the families' public AT command manuals and on traces of them. */
#include "sim.h"

#include <stdio.h>
#include <string.h>

static const char *const boot_simcom[] = {"RDY", "+CFUN: 1", "+CPIN: READY", "Call Ready", "SMS Ready", NULL};
static const char *const boot_quectel[] = {"RDY", NULL};
static const char *const boot_huawei[] = {"^BOOT:27710117,0,0,0,75", NULL};
static const char *const boot_siemens[] = {"^SYSSTART", NULL};

static const struct sim_profile sim_profiles[] = {
	{
		/* The strict 3GPP TS 27.007/27.005 modem smswake was first tested against. */
		.name = "3gpp",
		.summary = "strict 3GPP TS 27.007/27.005 modem (the default)",
		.manufacturer = "smswake",
		.model = "smswake-modem-sim",
		.revision = "1.0",
		.ati = SIM_ATI_PLAIN,
		.gprs = 1,
		.cnma = 1,
		.clip_crc = 1,
		.ifc = 1,
		.cmee_default = 0,
		.unknown = SIM_UNKNOWN_ERROR,
		.prompt = SIM_PROMPT_CRLF,
		.index_base = 1,
	},
	{
		/* A GSM-only (circuit-switched) modem: no packet-domain commands at all. */
		.name = "gsm-only",
		.summary = "3GPP modem without GPRS: AT+CGREG, AT+CGATT answer ERROR",
		.manufacturer = "smswake",
		.model = "smswake-modem-sim-gsm",
		.revision = "1.0",
		.ati = SIM_ATI_PLAIN,
		.gprs = 0,
		.cnma = 1,
		.clip_crc = 1,
		.ifc = 1,
		.cmee_default = 0,
		.unknown = SIM_UNKNOWN_ERROR,
		.prompt = SIM_PROMPT_CRLF,
		.index_base = 1,
	},
	{
		/* SIMCom SIM800: ATI gives the product and firmware on one line; power-on lines up to
		 * "SMS Ready"; the cell shows in +CREG: lines when AT+CREG=2. */
		.name = "sim800",
		.summary = "SIMCom SIM800 (GSM/GPRS module)",
		.manufacturer = "SIMCOM_Ltd",
		.model = "SIMCOM_SIM800",
		.revision = "Revision:1418B04SIM800C24",
		.ati = SIM_ATI_PRODUCT,
		.ati_product = "SIM800 R14.18",
		.gprs = 1,
		.cnma = 1,
		.clip_crc = 1,
		.ifc = 1,
		.cmee_default = 0,
		.unknown = SIM_UNKNOWN_ERROR,
		.prompt = SIM_PROMPT_CRLF,
		.answer_delay_ms = 20,
		.urc_in_command = 1,
		.index_base = 1,
		.cell_urcs = 1,
		.boot = boot_simcom,
	},
	{
		/* Quectel EC2x/BG9x: numeric +CME ERROR from power-on, "RDY" at boot. */
		.name = "quectel",
		.summary = "Quectel EC25/BG96 (LTE modules)",
		.manufacturer = "Quectel",
		.model = "EC25",
		.revision = "EC25EFAR06A11M4G",
		.ati = SIM_ATI_PLAIN,
		.gprs = 1,
		.cnma = 1,
		.clip_crc = 1,
		.ifc = 1,
		.cmee_default = 1,
		.unknown = SIM_UNKNOWN_ERROR,
		.prompt = SIM_PROMPT_CRLF,
		.answer_delay_ms = 40,
		.urc_in_command = 1,
		.index_base = 1,
		.cell_urcs = 1,
		.boot = boot_quectel,
	},
	{
		/* Huawei E3xx sticks: "COMMAND NOT SUPPORT" for unknown commands, verbose errors,
		 * storage indexes from 0, ^RSSI/^HCSQ/^MODE lines until AT^CURC=0, no AT+IFC (a USB
		 * device has no RTS/CTS). */
		.name = "huawei",
		.summary = "Huawei E3372 (USB stick)",
		.manufacturer = "huawei",
		.model = "E3372",
		.revision = "22.329.63.00.74",
		.ati = SIM_ATI_LABELLED,
		.gprs = 1,
		.cnma = 1,
		.clip_crc = 1,
		.ifc = 0,
		.cmee_default = 2,
		.unknown = SIM_UNKNOWN_NOT_SUPPORT,
		.prompt = SIM_PROMPT_CRLF,
		.answer_delay_ms = 30,
		.urc_in_command = 1,
		.index_base = 0,
		.huawei_urcs = 1,
		.boot = boot_huawei,
	},
	{
		/* Siemens/Cinterion TC35: GSM only, slow, "^SYSSTART" at power-on, the SMS prompt
		 * without a line break before it, and AT\Q for flow control. */
		.name = "tc35",
		.summary = "Siemens/Cinterion TC35 (GSM-only terminal)",
		.manufacturer = "SIEMENS",
		.model = "TC35",
		.revision = "REVISION 04.00",
		.ati = SIM_ATI_PLAIN_REV,
		.gprs = 0,
		.cnma = 1,
		.clip_crc = 1,
		.ifc = 1,
		.siemens_q = 1,
		.cmee_default = 0,
		.unknown = SIM_UNKNOWN_ERROR,
		.prompt = SIM_PROMPT_BARE,
		.answer_delay_ms = 120,
		.send_duration_ms = 1000,
		.urc_in_command = 1,
		.index_base = 1,
		.boot = boot_siemens,
	},
};

const struct sim_profile *sim_profile_default(void)
{
	return &sim_profiles[0];
}

const struct sim_profile *sim_profile_find(const char *name)
{
	for (size_t i = 0; i < sizeof(sim_profiles) / sizeof(sim_profiles[0]); i++)
		if (strcmp(sim_profiles[i].name, name) == 0)
			return &sim_profiles[i];
	return NULL;
}

void sim_profile_names(char *out, size_t outmax)
{
	size_t k = 0;

	if (outmax == 0)
		return;
	out[0] = '\0';
	for (size_t i = 0; i < sizeof(sim_profiles) / sizeof(sim_profiles[0]); i++) {
		int w = snprintf(out + k, outmax - k, "%s%s", i ? " " : "", sim_profiles[i].name);
		if (w < 0 || (size_t)w >= outmax - k)
			return;
		k += (size_t)w;
	}
}

void sim_profile_apply(struct sim_modem *m, const struct sim_profile *p)
{
	m->profile = p;
	snprintf(m->manufacturer, sizeof(m->manufacturer), "%s", p->manufacturer);
	snprintf(m->model, sizeof(m->model), "%s", p->model);
	snprintf(m->revision, sizeof(m->revision), "%s", p->revision);
}
