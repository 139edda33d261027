/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One-shot timers for the simulator's poll loop (delivery delays, send durations, resets).
 * A plain list is enough: a handful of modems and the messages in flight. */
#include "sim.h"

#include "util.h"

static struct sim_timer *timers;
static uint64_t timer_round;

void sim_timer_cancel(struct sim_timer *t)
{
	struct sim_timer **pp;

	if (!t->armed)
		return;
	for (pp = &timers; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	}
	t->armed = 0;
	t->next = NULL;
}

void sim_timer_arm(struct sim_timer *t, int64_t delay_ms)
{
	sim_timer_cancel(t);
	t->due = util_mono_ms() + (delay_ms > 0 ? delay_ms : 0);
	t->round = timer_round;
	t->armed = 1;
	t->next = timers;
	timers = t;
}

int sim_timer_timeout(void)
{
	int64_t now = util_mono_ms(), best = -1;

	for (struct sim_timer *t = timers; t != NULL; t = t->next) {
		int64_t left = t->due - now;
		if (left < 0)
			left = 0;
		if (best < 0 || left < best)
			best = left;
	}
	if (best > 60000)
		best = 60000;
	return (int)best;
}

/* Fires every timer that is due. A callback may arm or cancel any timer, itself included, so
 * the list is rescanned after each one. Timers armed by a callback for "now" wait for the next
 * loop turn, so that a zero delay cannot starve input. */
void sim_timer_run_due(void)
{
	int64_t now = util_mono_ms();
	uint64_t round = timer_round++;
	int fired;

	do {
		fired = 0;
		for (struct sim_timer *t = timers; t != NULL; t = t->next) {
			if (t->due <= now && t->round <= round) {
				sim_timer_cancel(t);
				t->fire(t);
				fired = 1;
				break;
			}
		}
	} while (fired);
}
