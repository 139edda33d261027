/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Policy simulation: the real wake policy (fetch-server/policy.c) driven by a virtual clock in a
 * discrete-event run, next to the naive policy of one SMS per message, on the same trace:
 * 1,000 devices polling every 15 minutes, 10,000 messages at random times over a day (10 % high,
 * 60 % normal, 30 % low or very-low), one modem at 3 s per SMS and 20 SMS per minute.
 * Prints SMS per delivered message and delivery latency (p50, p99) per urgency class; with -t it
 * prints tab-separated rows for bench/run-bench.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "policy.h"

#define NDEV 1000
#define NMSG 10000
#define DAY_MS (86400LL * 1000)
#define POLL_MS (15LL * 60 * 1000)
#define SMS_SEND_MS 3000   /* modem time per SMS */
#define SMS_NET_MS 4000    /* network delivery after the modem is done */
#define WAKE_FETCH_MS 2000 /* device wakes, connects and fetches */
#define T0 1767225600000LL /* 2026-01-01T00:00:00Z */

enum ev_type { EV_SUBMIT, EV_POLL, EV_CHECK, EV_SMS_ARRIVES };

struct event {
	int64_t t;
	int type;
	int dev;
	int msg;
};

struct heap {
	struct event *e;
	int n, cap;
};

static void push(struct heap *h, struct event ev)
{
	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 1024;
		h->e = realloc(h->e, sizeof(*h->e) * (size_t)h->cap);
		if (h->e == NULL)
			exit(1);
	}
	int i = h->n++;
	while (i > 0 && h->e[(i - 1) / 2].t > ev.t) {
		h->e[i] = h->e[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h->e[i] = ev;
}

static struct event pop(struct heap *h)
{
	struct event top = h->e[0], last = h->e[--h->n];
	int i = 0;
	for (;;) {
		int c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->e[c + 1].t < h->e[c].t)
			c++;
		if (h->e[c].t >= last.t)
			break;
		h->e[i] = h->e[c];
		i = c;
	}
	h->e[i] = last;
	return top;
}

struct msg {
	int dev;
	int urgency;
	int64_t created;
	int64_t delivered; /* 0 until fetched */
};

struct dev {
	int64_t last_seen;
	int64_t poll_phase;
	int wake_state;
	int64_t wake_sent;
	int attempts;
	int64_t next_check; /* the one EV_CHECK that counts */
	int64_t wakes[64];  /* times of recent wakeups (ring) */
	int nwakes;
};

struct sim {
	struct msg msgs[NMSG];
	struct dev devs[NDEV];
	struct heap h;
	int64_t modem_free; /* when the modem can start the next SMS */
	int64_t minute_start;
	int minute_count;
	int sms;
	int naive;
	struct scheduler_config cfg;
};

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Queues one SMS on the modem (FIFO at 3 s each, at most 20 a minute); returns arrival time. */
static int64_t send_sms(struct sim *s, int64_t now)
{
	int64_t start = now > s->modem_free ? now : s->modem_free;
	if (start - s->minute_start >= 60000) {
		s->minute_start = start;
		s->minute_count = 0;
	}
	if (s->minute_count >= 20) {
		start = s->minute_start + 60000;
		s->minute_start = start;
		s->minute_count = 0;
	}
	s->minute_count++;
	s->modem_free = start + SMS_SEND_MS;
	s->sms++;
	return s->modem_free + SMS_NET_MS;
}

static void fetch(struct sim *s, int d, int64_t now)
{
	for (int i = 0; i < NMSG; i++)
		if (s->msgs[i].dev == d && s->msgs[i].created <= now && s->msgs[i].delivered == 0)
			s->msgs[i].delivered = now;
	s->devs[d].last_seen = now;
	s->devs[d].wake_state = WAKE_IDLE;
	s->devs[d].attempts = 0;
}

static void schedule_check(struct sim *s, int d, int64_t t)
{
	if (s->devs[d].next_check != 0 && s->devs[d].next_check <= t)
		return;
	s->devs[d].next_check = t;
	push(&s->h, (struct event){.t = t, .type = EV_CHECK, .dev = d});
}

static void check(struct sim *s, int d, int64_t now)
{
	struct dev *dv = &s->devs[d];
	struct wake_input in;
	struct wake_decision dec;

	memset(&in, 0, sizeof(in));
	in.now_ms = now;
	in.device_id = d + 1;
	in.wake_state = dv->wake_state;
	in.wake_sent_ms = dv->wake_sent;
	in.wake_attempts = dv->attempts;
	in.last_seen_ms = dv->last_seen;
	in.poll_interval_s = POLL_MS / 1000;
	in.quiet_start_min = in.quiet_end_min = -1;
	for (int k = 0; k < dv->nwakes && k < 64; k++) {
		int64_t w = dv->wakes[k];
		in.wakes_hour += now - w < 3600000;
		in.wakes_day += now - w < DAY_MS;
	}
	for (int i = 0; i < NMSG; i++) {
		struct msg *m = &s->msgs[i];
		if (m->dev != d || m->created > now || m->delivered)
			continue;
		in.npending++;
		if (in.oldest_ms[m->urgency] == 0 || m->created < in.oldest_ms[m->urgency])
			in.oldest_ms[m->urgency] = m->created;
		if (m->created + 7 * DAY_MS > in.newest_expiry_ms)
			in.newest_expiry_ms = m->created + 7 * DAY_MS;
	}
	policy_decide(&s->cfg, &in, &dec);
	if (dec.verdict == VERDICT_WAKE) {
		int64_t arrive = send_sms(s, now);
		dv->wake_state = WAKE_IN_FLIGHT;
		dv->wake_sent = now;
		dv->attempts++;
		dv->wakes[dv->nwakes++ % 64] = now;
		push(&s->h, (struct event){.t = arrive, .type = EV_SMS_ARRIVES, .dev = d});
		/* Look again when a retry could fall due. */
		schedule_check(s, d, now + policy_retry_delay_ms(&s->cfg, d + 1, dv->attempts));
	} else if (dec.verdict == VERDICT_GIVE_UP) {
		dv->wake_state = WAKE_UNREACHABLE;
	} else if (dec.verdict == VERDICT_WAIT && dec.recheck_ms > now) {
		schedule_check(s, d, dec.recheck_ms);
	}
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

struct result {
	int sms, delivered;
	double p50[3], p99[3]; /* high, normal, low+very-low; seconds */
};

static void run(int naive, const struct scheduler_config *cfg, struct result *res)
{
	struct sim *s = calloc(1, sizeof(*s));
	if (s == NULL)
		exit(1);
	s->naive = naive;
	s->cfg = *cfg;
	rng = 88172645463325252ull;
	for (int d = 0; d < NDEV; d++) {
		s->devs[d].poll_phase = (int64_t)(rnd() % POLL_MS);
		s->devs[d].last_seen = T0 - POLL_MS + s->devs[d].poll_phase;
		push(&s->h, (struct event){.t = T0 + s->devs[d].poll_phase, .type = EV_POLL, .dev = d});
	}
	for (int i = 0; i < NMSG; i++) {
		uint64_t r = rnd() % 100;
		s->msgs[i].dev = (int)(rnd() % NDEV);
		s->msgs[i].created = T0 + (int64_t)(rnd() % DAY_MS);
		s->msgs[i].urgency = r < 10 ? URG_HIGH : r < 70 ? URG_NORMAL : r < 85 ? URG_LOW : URG_VERY_LOW;
		push(&s->h,
		     (struct event){.t = s->msgs[i].created, .type = EV_SUBMIT, .dev = s->msgs[i].dev, .msg = i});
	}
	while (s->h.n > 0) {
		struct event ev = pop(&s->h);
		if (ev.t > T0 + 2 * DAY_MS)
			break;
		switch (ev.type) {
		case EV_SUBMIT:
			if (naive)
				push(&s->h,
				     (struct event){.t = send_sms(s, ev.t), .type = EV_SMS_ARRIVES, .dev = ev.dev});
			else
				check(s, ev.dev, ev.t);
			break;
		case EV_POLL:
			fetch(s, ev.dev, ev.t);
			push(&s->h, (struct event){.t = ev.t + POLL_MS, .type = EV_POLL, .dev = ev.dev});
			break;
		case EV_SMS_ARRIVES: fetch(s, ev.dev, ev.t + WAKE_FETCH_MS); break;
		case EV_CHECK:
			if (s->devs[ev.dev].next_check != ev.t)
				break; /* superseded */
			s->devs[ev.dev].next_check = 0;
			check(s, ev.dev, ev.t);
			break;
		}
	}
	int64_t *lat[3];
	int nlat[3] = {0, 0, 0};
	for (int c = 0; c < 3; c++)
		lat[c] = malloc(sizeof(int64_t) * NMSG);
	res->delivered = 0;
	for (int i = 0; i < NMSG; i++) {
		struct msg *m = &s->msgs[i];
		int c = m->urgency == URG_HIGH ? 0 : m->urgency == URG_NORMAL ? 1 : 2;
		if (!m->delivered)
			continue;
		res->delivered++;
		lat[c][nlat[c]++] = m->delivered - m->created;
	}
	for (int c = 0; c < 3; c++) {
		qsort(lat[c], (size_t)nlat[c], sizeof(int64_t), cmp64);
		res->p50[c] = nlat[c] ? (double)lat[c][nlat[c] / 2] / 1000.0 : 0;
		res->p99[c] = nlat[c] ? (double)lat[c][(nlat[c] * 99) / 100] / 1000.0 : 0;
		free(lat[c]);
	}
	res->sms = s->sms;
	free(s->h.e);
	free(s);
}

int main(int argc, char **argv)
{
	struct server_config cfg;
	struct result smart, naive;
	int tsv = argc > 1 && strcmp(argv[1], "-t") == 0;
	static const char *cls[3] = {"high", "normal", "low+very-low"};

	config_defaults(&cfg);
	/* The modem's 20 SMS per minute is the system's limit here, not a per-device one. */
	run(0, &cfg.sched, &smart);
	run(1, &cfg.sched, &naive);
	if (!tsv) {
		printf("%-28s %12s %12s\n", "", "smswake", "naive");
		printf("%-28s %12d %12d\n", "SMS sent", smart.sms, naive.sms);
		printf("%-28s %12d %12d\n", "messages delivered", smart.delivered, naive.delivered);
		printf("%-28s %12.3f %12.3f\n", "SMS per delivered message", (double)smart.sms / smart.delivered,
		       (double)naive.sms / naive.delivered);
		for (int c = 0; c < 3; c++)
			printf("latency %-12s p50/p99 %7.1f/%-7.1f %7.1f/%-7.1f s\n", cls[c], smart.p50[c],
			       smart.p99[c], naive.p50[c], naive.p99[c]);
		return 0;
	}
	double ratio = (double)smart.sms / naive.sms;
	printf("policy sim: SMS per delivered message, smswake\t%.3f\tSMS/msg\t-\t-\n",
	       (double)smart.sms / smart.delivered);
	printf("policy sim: SMS per delivered message, naive\t%.3f\tSMS/msg\t-\t-\n",
	       (double)naive.sms / naive.delivered);
	printf("policy sim: smswake SMS / naive SMS\t%.3f\tratio\t<= 0.5\t%s\n", ratio, ratio <= 0.5 ? "yes" : "no");
	for (int c = 0; c < 3; c++)
		printf("policy sim: %s latency p50 / p99, smswake (naive)\t%.0f/%.0f (%.0f/%.0f)\ts\t%s\t%s\n", cls[c],
		       smart.p50[c], smart.p99[c], naive.p50[c], naive.p99[c], c == 0 ? "<= naive" : "-",
		       c == 0 ? (smart.p50[0] <= naive.p50[0] && smart.p99[0] <= naive.p99[0] ? "yes" : "no") : "-");
	printf("policy sim: messages delivered (of %d)\t%d\tmsgs\t= %d\t%s\n", NMSG, smart.delivered, NMSG,
	       smart.delivered == NMSG && naive.delivered == NMSG ? "yes" : "no");
	return 0;
}
