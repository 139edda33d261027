/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target for the gateway's Kannel delivery-report callback (gateway/kannel_msg.c):
 * whatever query reaches the listener, it is either refused or yields a job id, a type and a
 * key within bounds; the first input byte splits the rest into a query and an smsbox answer,
 * whose description stays one printable line. Also builds a sendsms query from the same bytes
 * and checks it carries only URL-safe characters. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kannel_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char key[40], msg[64], q[1024];
	uint64_t id = 0;
	int type = -1;
	size_t split;
	struct modem_sms_out sms;
	struct kannel_send_params p = {.username = "u", .password = "p", .dlr_url = "http://h/d", .dlr_mask = 23};

	if (size == 0)
		return 0;
	split = data[0] % (size);
	if (kannel_dlr_parse((const char *)data + 1, split, &id, &type, key, sizeof(key)) == 0) {
		if (id == 0 || type < 0 || type > 255 || strlen(key) >= sizeof(key))
			abort();
		(void)kannel_dlr_outcome(type);
	}
	if ((unsigned)kannel_answer_parse(200 + data[0], (const char *)data + 1 + split, size - 1 - split, msg,
					  sizeof(msg)) > KANNEL_ANS_REFUSED)
		abort();
	for (const char *m = msg; *m; m++)
		if (!isprint((unsigned char)*m))
			abort();
	memset(&sms, 0, sizeof(sms));
	memcpy(sms.number, "+491555", 8);
	sms.binary = 1;
	sms.dst_port = 16537;
	sms.data_len = size - 1 < 140 ? size - 1 : 140;
	memcpy(sms.data, data + 1, sms.data_len);
	if (kannel_sendsms_query(&p, &sms, q, sizeof(q)) >= 0)
		for (const char *c = q; *c; c++)
			if (!isalnum((unsigned char)*c) && !strchr("-._~%&=", *c))
				abort();
	return 0;
}
