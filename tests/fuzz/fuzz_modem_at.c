/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target for the answers the modem worker reads itself from a modem (+CREG, +COPS):
 * any line a modem may send must parse or be refused, never crash or overrun. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "modem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[1024];
	struct modem_status st;
	int reg;

	/* The worker hands over one line at most this long, NUL-terminated. */
	if (size >= sizeof(line))
		size = sizeof(line) - 1;
	memcpy(line, data, size);
	line[size] = '\0';
	reg = modem_parse_creg(line);
	if (reg < -1 || reg > MODEM_REG_SEARCHING)
		abort();
	memset(&st, 0, sizeof(st));
	modem_parse_cops(line, &st);
	if (memchr(st.network_name, '\0', sizeof(st.network_name)) == NULL ||
	    memchr(st.network_code, '\0', sizeof(st.network_code)) == NULL)
		abort();
	return 0;
}
