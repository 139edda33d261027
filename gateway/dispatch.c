/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Job dispatch: a table of leased jobs, each either sending on one channel or waiting. Waiting
 * jobs are looked at by dispatch_run, oldest first; a job goes to the least loaded usable
 * channel it has not failed on yet. A channel is usable when its transport says it is ready,
 * it is not in back-off, it has room (per_modem_jobs) and its rate limits allow one more. */
#include "dispatch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "log.h"
#include "report.h"
#include "util.h"

struct job {
	int used;
	struct dispatch_job in;
	int64_t taken_ms;      /* monotonic */
	int64_t give_up_ms;    /* report it failed if still unsent then */
	int64_t not_before_ms; /* waiting: next look */
	uint32_t tried;        /* channels that failed it */
	int chan;              /* sending on, -1 if waiting */
	char error[192];       /* the last failure */
};

struct chan {
	struct gw_transport *t;
	int index; /* within the transport */
	char name[32];
	int per_second, per_minute, per_day; /* 0: unlimited */
	int max_jobs;                        /* held at most (sending) */
	int64_t second_start_ms, minute_start_ms, day_start_ms;
	int second_count, minute_count, day_count;
	int held;
	int fails; /* consecutive failed sends */
	int64_t backoff_until_ms;
	uint64_t sent, failed, delivered, undeliverable;
};

struct dispatch {
	const struct gw_config *cfg;
	struct reports *reports;
	struct chan chan[DISPATCH_CHANNELS_MAX];
	int nchan;
	struct job jobs[GW_MAX_JOBS];
};

struct dispatch *dispatch_new(const struct gw_config *cfg, struct reports *reports)
{
	struct dispatch *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return NULL;
	d->cfg = cfg;
	d->reports = reports;
	return d;
}

void dispatch_free(struct dispatch *d)
{
	free(d);
}

int dispatch_add_transport(struct dispatch *d, struct gw_transport *t)
{
	int n = t->ops->channels(t);

	if (d->nchan + n > DISPATCH_CHANNELS_MAX)
		return -1;
	for (int i = 0; i < n; i++) {
		struct chan *c = &d->chan[d->nchan++];
		struct gw_channel_info info;

		memset(c, 0, sizeof(*c));
		c->t = t;
		c->index = i;
		c->max_jobs = d->cfg->per_modem_jobs;
		if (t->ops->channel_info(t, i, &info) == 0)
			snprintf(c->name, sizeof(c->name), "%s", info.name);
		if (strcmp(t->ops->name, "kannel") == 0) {
			c->max_jobs = d->cfg->kannel.concurrency;
			c->per_second = d->cfg->kannel.per_second;
			c->per_minute = d->cfg->kannel.per_minute;
			c->per_day = d->cfg->kannel.per_day;
			continue;
		}
		for (int m = 0; m < d->cfg->modems.n; m++)
			if (strcmp(d->cfg->modems.modems[m].name, c->name) == 0) {
				c->per_minute = d->cfg->per_minute[m];
				c->per_day = d->cfg->per_day[m];
			}
	}
	return 0;
}

/* May channel c take one more send now? */
static int chan_usable(struct dispatch *d, int c, int64_t now)
{
	struct chan *ch = &d->chan[c];
	struct gw_channel_info info;

	if (now < ch->backoff_until_ms || ch->held >= ch->max_jobs)
		return 0;
	if (ch->t->ops->channel_info(ch->t, ch->index, &info) != 0 || !info.ready)
		return 0;
	if (now - ch->second_start_ms >= 1000) {
		ch->second_start_ms = now;
		ch->second_count = 0;
	}
	if (ch->per_second > 0 && ch->second_count >= ch->per_second)
		return 0;
	if (now - ch->minute_start_ms >= 60000) {
		ch->minute_start_ms = now;
		ch->minute_count = 0;
	}
	if (now - ch->day_start_ms >= 86400000) {
		ch->day_start_ms = now;
		ch->day_count = 0;
	}
	if (ch->per_minute > 0 && ch->minute_count >= ch->per_minute)
		return 0;
	return ch->per_day <= 0 || ch->day_count < ch->per_day;
}

/* A failed send: the channel waits 1 s, 2 s, 4 s ... before it is used again. */
static void chan_failed(struct dispatch *d, int c, int64_t now, const char *why)
{
	struct chan *ch = &d->chan[c];
	int64_t wait = ch->fails < 16 ? 1000LL << ch->fails : DISPATCH_BACKOFF_MAX_MS;

	if (wait > DISPATCH_BACKOFF_MAX_MS)
		wait = DISPATCH_BACKOFF_MAX_MS;
	ch->fails++;
	ch->backoff_until_ms = now + wait;
	log_debug("%s: %s; not used for %lld ms", ch->name, why, (long long)wait);
}

int dispatch_capacity(struct dispatch *d, int64_t now)
{
	int cap = 0, waiting = 0;

	for (int c = 0; c < d->nchan; c++)
		if (chan_usable(d, c, now))
			cap += d->chan[c].max_jobs - d->chan[c].held;
	for (int i = 0; i < GW_MAX_JOBS; i++)
		waiting += d->jobs[i].used && d->jobs[i].chan < 0;
	cap -= waiting;
	return cap > 0 ? cap : 0;
}

int dispatch_take(struct dispatch *d, const struct dispatch_job *in, int64_t now)
{
	struct job *free_slot = NULL;
	int64_t lease = in->lease_s * 1000, margin = DISPATCH_LEASE_MARGIN_MS;

	for (int i = 0; i < GW_MAX_JOBS; i++) {
		if (d->jobs[i].used && d->jobs[i].in.id == in->id)
			return 1;
		if (!d->jobs[i].used && free_slot == NULL)
			free_slot = &d->jobs[i];
	}
	if (free_slot == NULL)
		return -1;
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->used = 1;
	free_slot->in = *in;
	free_slot->chan = -1;
	free_slot->taken_ms = now;
	if (margin > lease / 4)
		margin = lease / 4;
	free_slot->give_up_ms = now + lease - margin;
	return 0;
}

static struct job *find_job(struct dispatch *d, int64_t id)
{
	for (int i = 0; i < GW_MAX_JOBS; i++)
		if (d->jobs[i].used && d->jobs[i].in.id == id)
			return &d->jobs[i];
	return NULL;
}

static void give_back(struct dispatch *d, struct job *j, const char *why)
{
	log_warnx("job %lld to %s not sent: %s", (long long)j->in.id, j->in.sms.number, why);
	reports_add(d->reports, j->in.id, "failed", -1, why, util_now_ms());
	j->used = 0;
}

/* The validity left at the send, whole minutes rounded down (the SMS must not outlive what it
 * announces), at least one. */
static int validity_minutes(const struct job *j, int64_t now)
{
	int64_t left_ms = j->in.validity_s * 1000 - (now - j->taken_ms);
	int64_t min = left_ms / 60000;

	return min < 1 ? 1 : min > 635040 ? 635040 : (int)min;
}

const char *gw_route_for(const struct gw_config *cfg, const char *number)
{
	for (int i = 0; i < cfg->nroutes; i++)
		if (strncmp(number, cfg->routes[i].prefix, strlen(cfg->routes[i].prefix)) == 0)
			return cfg->routes[i].transport;
	return NULL;
}

/* Routing: 1 when channel c belongs to the transport the job's number is routed to (or no rule
 * routes it), 0 when it is another transport's. */
static int routed_to(const struct dispatch *d, const struct job *j, int c)
{
	const char *tr = gw_route_for(d->cfg, j->in.sms.number);

	return tr == NULL || strcmp(d->chan[c].t->ops->name, tr) == 0;
}

/* May the job go to channel c at all: its route's channels, or with failover any channel once
 * none of its route's channels is alive (ready, not in back-off, not failed on this job). A
 * routed channel that is only full or at its rate limit keeps the job waiting for it. */
static int eligible(struct dispatch *d, const struct job *j, int c, int64_t now)
{
	struct gw_channel_info info;

	if (routed_to(d, j, c))
		return 1;
	if (!d->cfg->failover)
		return 0;
	for (int o = 0; o < d->nchan; o++) {
		const struct chan *ch = &d->chan[o];
		if (!routed_to(d, j, o) || (j->tried & (1u << o)) || now < ch->backoff_until_ms)
			continue;
		if (ch->t->ops->channel_info(ch->t, ch->index, &info) == 0 && info.ready)
			return 0;
	}
	return 1;
}

/* Least loaded usable channel this job has not failed on; -1 if none. */
static int pick(struct dispatch *d, const struct job *j, int64_t now)
{
	int best = -1;

	for (int c = 0; c < d->nchan; c++) {
		if ((j->tried & (1u << c)) || !eligible(d, j, c, now) || !chan_usable(d, c, now))
			continue;
		if (best < 0 || d->chan[c].held < d->chan[best].held)
			best = c;
	}
	return best;
}

/* One waiting job: hand it to a channel, or say when to look again (0: gone or sending). */
static int64_t try_job(struct dispatch *d, struct job *j, int64_t now)
{
	char err[128];
	int64_t again = now + 1000;

	if (now >= j->give_up_ms) {
		char why[256];
		snprintf(why, sizeof(why), "no channel could send it within its lease%s%s", j->error[0] ? ": " : "",
			 j->error);
		give_back(d, j, why);
		return 0;
	}
	/* Each channel at most once per look: a refusal puts it in back-off, so pick moves on. */
	for (int tries = 0; tries < d->nchan; tries++) {
		int c = pick(d, j, now), rc;
		struct chan *ch;

		if (c < 0)
			break;
		ch = &d->chan[c];
		j->in.sms.validity_minutes = validity_minutes(j, now);
		rc = ch->t->ops->send(ch->t, ch->index, &j->in.sms, (uint64_t)j->in.id, err, sizeof(err));
		if (rc == GW_SEND_OK) {
			j->chan = c;
			ch->held++;
			ch->second_count++;
			ch->minute_count++;
			ch->day_count++;
			return 0;
		}
		if (rc == GW_SEND_BAD) {
			give_back(d, j, err);
			return 0;
		}
		snprintf(j->error, sizeof(j->error), "%s: %s", ch->name, err);
		chan_failed(d, c, now, err);
	}
	/* Nothing usable now. Every channel failed it: give it back, the server retries later. */
	{
		int untried = 0;
		for (int c = 0; c < d->nchan; c++) {
			if ((j->tried & (1u << c)) || (!routed_to(d, j, c) && !d->cfg->failover))
				continue;
			untried++;
			if (d->chan[c].backoff_until_ms > now && d->chan[c].backoff_until_ms < again)
				again = d->chan[c].backoff_until_ms;
		}
		if (untried == 0) {
			char why[256];
			snprintf(why, sizeof(why), "failed on every channel: %s", j->error);
			give_back(d, j, why);
			return 0;
		}
	}
	return again < j->give_up_ms ? again : j->give_up_ms;
}

int dispatch_run(struct dispatch *d, int64_t now)
{
	int64_t next = -1;

	for (;;) {
		struct job *oldest = NULL;
		/* Oldest first among those due now; each is looked at once per call. */
		for (int i = 0; i < GW_MAX_JOBS; i++) {
			struct job *j = &d->jobs[i];
			if (!j->used || j->chan >= 0 || j->not_before_ms > now)
				continue;
			if (oldest == NULL || j->taken_ms < oldest->taken_ms)
				oldest = j;
		}
		if (oldest == NULL)
			break;
		oldest->not_before_ms = try_job(d, oldest, now);
		if (oldest->used && oldest->chan < 0 && oldest->not_before_ms <= now)
			oldest->not_before_ms = now + 1; /* never the same job twice in one call */
	}
	for (int i = 0; i < GW_MAX_JOBS; i++) {
		const struct job *j = &d->jobs[i];
		if (j->used && j->chan < 0 && (next < 0 || j->not_before_ms - now < next))
			next = j->not_before_ms - now;
	}
	if (next > 1000)
		next = 1000; /* channels become ready without telling: look again */
	return next < 0 ? -1 : (int)next;
}

void dispatch_on_event(void *arg, const struct gw_tevent *ev)
{
	struct dispatch *d = arg;
	int64_t now = util_mono_ms();
	struct job *j;
	int c = -1;

	/* Channel names are unique across transports (they name the configuration's sections). */
	for (int i = 0; i < d->nchan && c < 0; i++)
		if (ev->name != NULL && strcmp(d->chan[i].name, ev->name) == 0)
			c = i;
	switch (ev->type) {
	case GW_TEV_SENT:
	case GW_TEV_SEND_FAILED:
		if ((j = find_job(d, (int64_t)ev->cookie)) == NULL)
			return;
		if (j->chan >= 0)
			d->chan[j->chan].held--;
		c = j->chan >= 0 ? j->chan : c;
		j->chan = -1;
		if (ev->type == GW_TEV_SENT) {
			if (c >= 0) { /* the channel works: no more back-off */
				d->chan[c].sent++;
				d->chan[c].fails = 0;
				d->chan[c].backoff_until_ms = 0;
			}
			log_info("job %lld sent to %s via %s (reference %d)", (long long)j->in.id, j->in.sms.number,
				 ev->name, ev->reference);
			reports_add(d->reports, j->in.id, "submitted", ev->reference, NULL, ev->at_ms);
			j->used = 0;
			return;
		}
		log_warnx("job %lld failed on %s: %s", (long long)j->in.id, ev->name, ev->error ? ev->error : "");
		snprintf(j->error, sizeof(j->error), "%s: %s", ev->name, ev->error ? ev->error : "failed");
		if (c >= 0) {
			d->chan[c].failed++;
			j->tried |= 1u << c;
		}
		if (ev->permanent) {
			give_back(d, j, j->error);
			return;
		}
		if (c >= 0)
			chan_failed(d, c, now, ev->error ? ev->error : "send failed");
		j->not_before_ms = now; /* another channel may take it at once */
		return;
	case GW_TEV_DELIVERED:
	case GW_TEV_UNDELIVERABLE:
		if (c >= 0) {
			if (ev->type == GW_TEV_DELIVERED)
				d->chan[c].delivered++;
			else
				d->chan[c].undeliverable++;
		}
		reports_add(d->reports, (int64_t)ev->cookie,
			    ev->type == GW_TEV_DELIVERED ? "delivered" : "undeliverable", ev->reference, NULL,
			    ev->at_ms);
		return;
	case GW_TEV_CHANNEL: /* the transport logs its channels' changes in its own words */
		log_debug("%s: %s", ev->name, ev->ready ? "ready" : ev->reason ? ev->reason : "not ready");
		return;
	default: return;
	}
}

void dispatch_counts(const struct dispatch *d, int *held, int *waiting)
{
	*held = *waiting = 0;
	for (int i = 0; i < GW_MAX_JOBS; i++)
		if (d->jobs[i].used) {
			(*held)++;
			*waiting += d->jobs[i].chan < 0;
		}
}

int dispatch_channel_count(const struct dispatch *d)
{
	return d->nchan;
}

int dispatch_channel_stats(const struct dispatch *d, int c, struct dispatch_channel_stats *out)
{
	const struct chan *ch;
	struct gw_channel_info info;

	if (c < 0 || c >= d->nchan)
		return -1;
	ch = &d->chan[c];
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", ch->name);
	if (ch->t->ops->channel_info(ch->t, ch->index, &info) == 0) {
		out->ready = info.ready;
		out->queued = info.queued;
		out->signal = info.signal;
		out->restarts = info.restarts;
		out->caps_probed = info.caps_probed;
		out->caps_present = info.caps_present;
	} else {
		out->signal = -1;
	}
	out->backoff = util_mono_ms() < ch->backoff_until_ms;
	out->sent = ch->sent;
	out->failed = ch->failed;
	out->delivered = ch->delivered;
	out->undeliverable = ch->undeliverable;
	return 0;
}
