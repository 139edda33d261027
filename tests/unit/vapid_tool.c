/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vapid_verify from the command line, for interoperability tests with Web Push libraries:
 *   vapid-tool ORIGIN [NOW] < "vapid t=..., k=..."
 * prints "sub=<sub> exp=<exp>" and exits 0 when the header verifies, else prints the reason and
 * exits 1. NOW defaults to the current time. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vapid.h"

int main(int argc, char **argv)
{
	char buf[VAPID_HEADER_MAX + 2];
	struct vapid_claims c;
	int64_t now = (int64_t)time(NULL);
	size_t n;
	int rc;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: vapid-tool ORIGIN [NOW] < authorization\n");
		return 2;
	}
	if (argc == 3)
		now = strtoll(argv[2], NULL, 10);
	n = fread(buf, 1, sizeof(buf) - 1, stdin);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	rc = vapid_verify(buf, argv[1], now, &c);
	if (rc != VAPID_OK) {
		printf("%s\n", vapid_strerror(rc));
		return 1;
	}
	printf("sub=%s exp=%" PRId64 "\n", c.sub, c.exp);
	return 0;
}
