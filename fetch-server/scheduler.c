/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Wake scheduler placeholder: the policy arrives with the wakeup issue. Until then no wake job
 * is created by the server itself; the gateway API's lease and report work on jobs created
 * through the store. */
#include "scheduler.h"

#include <stdlib.h>

struct scheduler {
	struct server *srv;
};

struct scheduler *scheduler_start(struct server *srv)
{
	struct scheduler *s = calloc(1, sizeof(*s));
	if (s)
		s->srv = srv;
	return s;
}

void scheduler_stop(struct scheduler *s)
{
	free(s);
}

void scheduler_notify(struct scheduler *s, int64_t device_id)
{
	(void)s;
	(void)device_id;
}
