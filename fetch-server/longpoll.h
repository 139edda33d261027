/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Long-poll waits without a thread per waiter: a request with nothing to return is suspended in
 * libmicrohttpd and resumed when its key is notified or its deadline passes. */
#ifndef SMSWAKE_LONGPOLL_H
#define SMSWAKE_LONGPOLL_H

#include <stdint.h>

struct longpoll;
struct MHD_Connection;

struct longpoll *longpoll_new(void);
/* Resumes every waiter and stops the timer thread. */
void longpoll_free(struct longpoll *lp);
/* Notification generation: read it before checking for work, pass it to longpoll_wait. */
uint64_t longpoll_generation(struct longpoll *lp);
/* Suspends conn until key is notified or deadline_ms (monotonic) passes; the handler is called
 * again after resumption. Returns 0 when suspended, 1 without suspending when a notify happened
 * since gen was read (look again), -1 on failure. *flag is set to 1 when notified, 2 on
 * timeout; it must live until then (in the request state). */
int longpoll_wait(struct longpoll *lp, struct MHD_Connection *conn, int64_t key, int64_t deadline_ms, uint64_t gen,
		  volatile int *flag);
void longpoll_notify(struct longpoll *lp, int64_t key);
/* Resumes all waiters and refuses new ones (at shutdown). */
void longpoll_wake_all(struct longpoll *lp);
int longpoll_count(struct longpoll *lp);

#endif
