/* SPDX-License-Identifier: MIT */
/* Minimal libsmswake integration: configure, verify a wakeup SMS handed over by the device's SMS
 * stack, fetch and print the messages.
 * Build: cc minimal.c $(pkg-config --cflags --libs smswake)   (or -lsmswake -lssl -lcrypto -ljansson) */
#include <stdio.h>
#include <string.h>

#include "smswake.h"

/* Called once per new message, in order. Return 0 once the message is safely handled (it is then
 * acknowledged), non-zero to stop and get it again next time. */
static int on_message(const struct smswake_message *m, void *ctx)
{
	(void)ctx;
	printf("seq %llu%s: %.*s\n", (unsigned long long)m->seq, m->redelivered ? " (maybe seen before)" : "",
	       (int)m->body_len, (const char *)m->body);
	return 0;
}

int main(int argc, char **argv)
{
	/* In a real device these come from its provisioning store. */
	static const char *const options[][2] = {
		{"server", "https://push.example.com"},
		{"device_id", "12"},
		{"token", "device-token-from-registration"},
		{"wake_key", "LIvroXRZiPzRYfL9uAFM0pioVkWoC2zqBCinvtN7VXA="},
		{"key_id", "1"},
		{"port", "16537"},
		{"state_file", "/tmp/smswake-minimal.state"},
	};
	struct smswake_fetch_result res;
	smswake_t *h;
	smswake_err err;

	if (smswake_new(&h) != SMSWAKE_OK)
		return 1;
	for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
		err = smswake_setopt(h, options[i][0], options[i][1]);
		if (err != SMSWAKE_OK) {
			fprintf(stderr, "%s\n", smswake_errmsg(h));
			smswake_free(h);
			return 1;
		}
	}

	/* argv[1]: the received SMS as a line (hex PDU, hex user data, or the text form). Without
	 * one, this is a timer poll. A rejected or stale SMS is dropped silently: no request. */
	if (argc > 1) {
		err = smswake_handle_input(h, argv[1], strlen(argv[1]), NULL);
		if (err != SMSWAKE_OK) {
			fprintf(stderr, "dropped: %s\n", smswake_errmsg(h));
			smswake_free(h);
			return 0;
		}
	}
	err = smswake_fetch(h, on_message, NULL, &res);
	if (err != SMSWAKE_OK)
		fprintf(stderr, "fetch: %s: %s\n", smswake_strerror(err), smswake_errmsg(h));
	else
		printf("next poll in %u s\n", res.next_poll);
	smswake_free(h);
	return err == SMSWAKE_OK ? 0 : 1;
}
