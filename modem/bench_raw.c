/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bench/modem-raw: the baseline of the modem-layer benchmark. A bare loop of GSM_SendSMS calls on
 * one libgammu state machine, with none of smswake's processes, queues or deadlines, so that
 * bench/bench-modem.sh can say how much the layer adds to Gammu's own cost. It lives in modem/
 * because only modem/ may include gammu.h.
 *
 *   modem-raw -d DEVICE -t NUMBER -n COUNT [-p PORT] [-r RUN] [-l LOGFILE]
 *
 * Sends COUNT port-addressed 8-bit SMS (36-octet payload behind the 7-octet port header, the
 * shape of a wakeup) and prints one line "raw n=.. ok=.. seconds=.. sms_per_min=..". Exits 0 only
 * if every send was answered with a message reference. */
#include <gammu.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modem.h"
#include "util.h"

#define RAW_PAYLOAD 36
#define RAW_SEND_TIMEOUT_MS 30000

struct raw {
	int done, status, ref;
};

/* Only records the outcome: Gammu must not be re-entered from a callback. */
static void raw_cb_send_status(GSM_StateMachine *sm, int status, int reference, void *user)
{
	struct raw *r = user;
	(void)sm;
	r->done = 1;
	r->status = status;
	r->ref = reference;
}

/* ASCII to Gammu's NUL-terminated big-endian UCS-2 (numbers only, so no conversion needed). */
static int raw_ascii_to_gammu(const char *src, unsigned char *dst, size_t dstmax)
{
	size_t n = strlen(src);

	if (2 * n + 2 > dstmax)
		return -1;
	for (size_t i = 0; i < n; i++) {
		dst[2 * i] = 0;
		dst[2 * i + 1] = (unsigned char)src[i];
	}
	dst[2 * n] = dst[2 * n + 1] = 0;
	return 0;
}

/* The same Gammu configuration modem_gammu.c builds, so both sides pay for the same driver. */
static int raw_configure(GSM_StateMachine *sm, const char *device, const char *logfile)
{
	GSM_Config *gc = GSM_GetConfig(sm, 0);

	if (gc == NULL)
		return -1;
	(void)GSM_ReadConfig(NULL, gc, 0); /* fills the defaults; answers ERR_USING_DEFAULTS */
	free(gc->Device);
	gc->Device = strdup(device);
	free(gc->Connection);
	gc->Connection = strdup("at");
	if (gc->Device == NULL || gc->Connection == NULL)
		return -1;
	snprintf(gc->Model, sizeof(gc->Model), "at");
	gc->LockDevice = FALSE;
	gc->SyncTime = FALSE;
	gc->StartInfo = FALSE;
	if (logfile != NULL) {
		free(gc->DebugFile);
		gc->DebugFile = strdup(logfile);
		if (gc->DebugFile == NULL)
			return -1;
		snprintf(gc->DebugLevel, sizeof(gc->DebugLevel), "textalldate");
		gc->UseGlobalDebugFile = FALSE;
	}
	GSM_SetConfigNum(sm, 1);
	return 0;
}

/* Fills one wakeup-shaped SMS. The payload carries the run and the sequence number so that the
 * script can check on the simulator that every message went out exactly as sent. */
static void raw_build(GSM_SMSMessage *sms, const unsigned char *number, const unsigned char *smsc, uint16_t port,
		      unsigned run, unsigned seq)
{
	uint8_t data[RAW_PAYLOAD];

	memset(sms, 0, sizeof(*sms));
	GSM_SetDefaultSMSData(sms);
	memcpy(sms->Number, number, sizeof(sms->Number));
	if (smsc[0] != 0 || smsc[1] != 0) {
		sms->SMSC.Location = 0;
		memcpy(sms->SMSC.Number, smsc, sizeof(sms->SMSC.Number));
	}
	sms->PDU = SMS_Submit;
	sms->Class = -1;
	sms->SMSC.Validity.Format = SMS_Validity_RelativeFormat;
	sms->SMSC.Validity.Relative = (GSM_ValidityPeriod)modem_validity_octet(0);
	sms->Coding = SMS_Coding_8bit;
	sms->UDH.Type = UDH_UserUDH;
	pdu_port_udh(sms->UDH.Text, port, port);
	sms->UDH.Length = MODEM_PORT_UDH_LEN; /* counts the UDHL octet */
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(0xa5 ^ i);
	data[0] = (uint8_t)(run >> 8);
	data[1] = (uint8_t)run;
	data[2] = 0; /* modem index in bench/modem-layer; one modem here */
	data[3] = (uint8_t)(seq >> 24);
	data[4] = (uint8_t)(seq >> 16);
	data[5] = (uint8_t)(seq >> 8);
	data[6] = (uint8_t)seq;
	memcpy(sms->Text, data, sizeof(data));
	sms->Length = (int)sizeof(data);
}

static void usage(void)
{
	fprintf(stderr, "usage: modem-raw -d DEVICE -t NUMBER -n COUNT [-p PORT] [-r RUN] [-l LOGFILE]\n");
}

int main(int argc, char **argv)
{
	const char *device = NULL, *to = NULL, *logfile = NULL;
	unsigned char number[(GSM_MAX_NUMBER_LENGTH + 1) * 2], smsc[(GSM_MAX_NUMBER_LENGTH + 1) * 2];
	int64_t count = 0, port = 2948, run = 0, v, t0, t1;
	GSM_StateMachine *sm;
	GSM_SMSMessage *sms;
	GSM_SMSC sc;
	GSM_Error e;
	struct raw r;
	int c, ok = 0, failed = 0;
	double secs;

	while ((c = getopt(argc, argv, "d:t:n:p:r:l:")) != -1) {
		switch (c) {
		case 'd': device = optarg; break;
		case 't': to = optarg; break;
		case 'l': logfile = optarg; break;
		case 'n':
		case 'p':
		case 'r':
			if (util_parse_i64(optarg, 0, c == 'n' ? 1000000 : 65535, &v) != 0) {
				usage();
				return 2;
			}
			if (c == 'n')
				count = v;
			else if (c == 'p')
				port = v;
			else
				run = v;
			break;
		default: usage(); return 2;
		}
	}
	if (device == NULL || to == NULL || count <= 0 || !modem_number_valid(to) ||
	    raw_ascii_to_gammu(to, number, sizeof(number)) != 0) {
		usage();
		return 2;
	}

	sm = GSM_AllocStateMachine();
	/* GSM_SMSMessage is a few kB: off the stack. */
	sms = calloc(1, sizeof(*sms));
	if (sm == NULL || sms == NULL || raw_configure(sm, device, logfile) != 0) {
		fprintf(stderr, "modem-raw: out of memory\n");
		if (sm != NULL)
			GSM_FreeStateMachine(sm);
		free(sms);
		return 1;
	}
	e = GSM_InitConnection(sm, 1);
	if (e != ERR_NONE) {
		fprintf(stderr, "modem-raw: init %s: %s\n", device, GSM_ErrorString(e));
		GSM_FreeStateMachine(sm);
		free(sms);
		return 1;
	}
	/* GSM_InitConnection resets the callbacks. */
	GSM_SetSendSMSStatusCallback(sm, raw_cb_send_status, &r);
	/* Read the SMSC once, as modem_gammu.c does at open: otherwise Gammu asks the modem
	 * (AT+CSCA?) on every send and the baseline would pay for a round trip the layer avoids. */
	memset(smsc, 0, sizeof(smsc));
	memset(&sc, 0, sizeof(sc));
	sc.Location = 1;
	if (GSM_GetSMSC(sm, &sc) == ERR_NONE)
		memcpy(smsc, sc.Number, sizeof(smsc));

	t0 = util_mono_ms();
	for (int64_t i = 0; i < count; i++) {
		int64_t deadline;

		raw_build(sms, number, smsc, (uint16_t)port, (unsigned)run, (unsigned)i);
		r.done = 0;
		r.status = -1;
		r.ref = -1;
		deadline = util_mono_ms() + RAW_SEND_TIMEOUT_MS;
		e = GSM_SendSMS(sm, sms);
		if (e != ERR_NONE && !r.done) {
			fprintf(stderr, "modem-raw: send %lld: %s\n", (long long)i, GSM_ErrorString(e));
			failed++;
			continue;
		}
		/* The answer (+CMGS: <mr> or +CMS ERROR) comes through the callback while we read. */
		while (!r.done && util_mono_ms() < deadline) {
			if (GSM_ReadDevice(sm, TRUE) < 0)
				break;
		}
		if (r.done && r.status == 0) {
			ok++;
		} else {
			fprintf(stderr, "modem-raw: send %lld: %s\n", (long long)i,
				r.done ? "+CMS ERROR" : "no answer");
			failed++;
		}
	}
	t1 = util_mono_ms();

	(void)GSM_TerminateConnection(sm);
	GSM_FreeStateMachine(sm);
	free(sms);

	secs = (double)(t1 - t0) / 1000.0;
	printf("raw n=%lld ok=%d failed=%d seconds=%.3f sms_per_min=%.2f\n", (long long)count, ok, failed, secs,
	       secs > 0 ? ok * 60.0 / secs : 0.0);
	return failed == 0 ? 0 : 1;
}
