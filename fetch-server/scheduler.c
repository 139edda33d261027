/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The wake scheduler thread: looks at devices with unfetched messages, asks the policy what to
 * do, and turns "wake" into a wake job with an authenticated payload (its counter is taken and
 * committed together with the job, so no two SMS ever carry the same counter). Every server
 * sharing a store may run one: the job is added only if the decision still holds
 * (store_wake_job_add's guard), so a device gets one decision at a time and limits and budgets
 * hold across servers.
 * Decisions that hold a message back are recorded as message events once per change, and
 * counted in /metrics. It also watches the gateways: wakeups that wait with no gateway taking
 * them are said in the log, /metrics and /healthz, and never count against a device. */
#include "scheduler.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "metrics.h"
#include "policy.h"
#include "server.h"
#include "util.h"
#include "wake.h"

#define MEMO_SLOTS 4096 /* last recorded reason per device, hashed; a collision costs one event */
#define BACKLOG_EVERY_MS 1000
/* A device that made contact this recently may be fetching right now: its messages can still
 * look pending to this pass. It is looked at again once the fetch has settled, unless this
 * server saw that fetch end before the pass began (struct contact). */
#define CONTACT_SETTLE_MS 1000
/* A decision the store refused as stale, or a device another server held locked, is made again
 * from a fresh view this soon. */
#define STALE_RECHECK_MS 250

struct scheduler {
	struct server *srv;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	int stop;
	int kicked;
	int64_t next_ms;                /* earliest recheck the last pass asked for */
	int64_t backlog_ms;             /* last look at the gateways (scheduler thread only) */
	struct scheduler_status status; /* under mu */
	struct {
		int64_t device_id;
		int reason;
		int64_t since_ms;
	} memo[MEMO_SLOTS];
	/* Device fetches on this server, hashed like memo: how many are under way, and when the
	 * last one ended (after its store commit). A slot two devices share while fetching says
	 * nothing (device_id -1) until it is idle again. */
	pthread_mutex_t contact_mu;
	struct contact {
		int64_t device_id;
		int under_way;
		int64_t ended_ms;
	} contact[MEMO_SLOTS];
};

struct pass {
	struct scheduler *s;
	int64_t now;
	int64_t next;
};

static int reason_counter(int reason)
{
	switch (reason) {
	case REASON_IN_FLIGHT: return CTR_WAKE_SUPPRESSED_IN_FLIGHT;
	case REASON_POLL_SOON: return CTR_WAKE_SUPPRESSED_POLL_SOON;
	case REASON_DEVICE_LIMIT: return CTR_WAKE_SUPPRESSED_LIMIT;
	case REASON_BUDGET: return CTR_WAKE_SUPPRESSED_BUDGET;
	case REASON_QUIET: return CTR_WAKE_SUPPRESSED_QUIET;
	case REASON_UNREACHABLE: return CTR_WAKE_SUPPRESSED_UNREACHABLE;
	case REASON_LOW_URGENCY: return CTR_WAKE_SUPPRESSED_URGENCY;
	case REASON_COUNTER_EXHAUSTED: return CTR_WAKE_SUPPRESSED_COUNTER;
	case REASON_NO_GATEWAY: return CTR_WAKE_DELAYED_NO_GATEWAY;
	case REASON_SEND_FAILED: return CTR_WAKE_DELAYED_SEND_FAILED;
	default: return -1;
	}
}

/* Records a hold-back decision as an event and a metric, once per device and reason. The
 * policy's own reasons are "wake_suppressed"; waiting for the gateways is "wake_delayed". */
static void note_reason(struct pass *p, int64_t device_id, int reason)
{
	unsigned slot = (unsigned)((uint64_t)device_id * 2654435761u) % MEMO_SLOTS;
	struct scheduler *s = p->s;
	int ctr = reason_counter(reason);

	if (s->memo[slot].device_id == device_id && s->memo[slot].reason == reason)
		return;
	s->memo[slot].device_id = device_id;
	s->memo[slot].reason = reason;
	s->memo[slot].since_ms = p->now;
	if (reason == REASON_NO_KEY)
		log_warnx("device %lld: its master key is not loaded (a key file removed too early?); no wakeup "
			  "until it is back, polls still deliver",
			  (long long)device_id);
	else if (reason == REASON_COUNTER_EXHAUSTED)
		log_warnx("device %lld: its wake counter reached 2^64 - 1; no wakeup any more, polls still deliver "
			  "(register the device again for a new key and counter)",
			  (long long)device_id);
	else if (ctr < 0)
		return; /* batching is not a suppression: the wake follows within the window */
	if (ctr >= 0)
		metrics_add(ctr, 1);
	store_device_event(s->srv->store, device_id,
			   reason == REASON_NO_GATEWAY || reason == REASON_SEND_FAILED ? "wake_delayed"
										       : "wake_suppressed",
			   policy_reason_name(reason), p->now);
}

/* After a wakeup the device is in flight because of it: that is no suppression worth an
 * event, and messages arriving meanwhile are covered by the same wakeup. */
static void remember_in_flight(struct scheduler *s, int64_t device_id, int64_t now)
{
	unsigned slot = (unsigned)((uint64_t)device_id * 2654435761u) % MEMO_SLOTS;
	s->memo[slot].device_id = device_id;
	s->memo[slot].reason = REASON_IN_FLIGHT;
	s->memo[slot].since_ms = now;
}

static const char *refusal_name(int refused)
{
	switch (refused) {
	case WAKE_REFUSED_STALE: return "another job came first";
	case WAKE_REFUSED_BUSY: return "the device is locked by another writer";
	case WAKE_REFUSED_DEVICE_LIMIT: return "device limit reached";
	case WAKE_REFUSED_BUDGET: return "provider budget spent";
	default: return "unknown";
	}
}

/* What a wakeup payload is built from, but its counter: the store takes that in the transaction
 * that adds the job and calls build_payload (on SQLite, on the writer thread). */
struct payload_src {
	uint8_t key[WAKE_KEY_LEN];
	struct wake_msg msg;
	int text;
	uint16_t port;
	int64_t device_id;
};

static int build_payload(void *arg, struct store_wake_job *job)
{
	struct payload_src *src = arg;
	size_t len = 0;
	int rc;

	src->msg.counter = job->ctr;
	if (src->text)
		rc = wake_encode_text(src->key, src->port, &src->msg, (char *)job->payload, sizeof(job->payload), &len);
	else
		rc = wake_encode(src->key, src->port, &src->msg, job->payload, sizeof(job->payload), &len);
	if (rc != WAKE_OK) {
		log_warnx("device %lld: cannot encode a wakeup: %s", (long long)src->device_id, wake_strerror(rc));
		return -1;
	}
	job->payload_len = len;
	return 0;
}

/* Builds and adds the job; STORE_STALE (with *refused) when the store found the decision no
 * longer holds. */
static int make_job(struct pass *p, const struct store_wake_candidate *c, const struct wake_decision *d, int *refused)
{
	struct server *srv = p->s->srv;
	struct store_wake_job job;
	struct payload_src src = {0};
	int rc;

	/* The key the device holds: its move to a newer key completes only when it says so. */
	if (wake_derive_key(keys_master(&srv->keys, c->dev.key_id), MASTER_KEY_LEN, (uint8_t)c->dev.key_id,
			    (uint64_t)c->dev.id, src.key) != 0)
		return STORE_ERROR;
	src.msg.version = WAKE_VERSION;
	src.msg.flags = d->urgent ? WAKE_F_URGENT : 0;
	src.msg.key_id = (uint8_t)c->dev.key_id;
	src.msg.time = (uint32_t)(p->now / 1000);
	src.msg.pending = (uint8_t)(c->npending > 255 ? 255 : c->npending);
	src.text = c->dev.sms_format == SMS_FORMAT_TEXT;
	src.port = (uint16_t)srv->cfg.sched.port;
	src.device_id = c->dev.id;
	memset(&job, 0, sizeof(job));
	job.device_id = c->dev.id;
	memcpy(job.msisdn, c->dev.msisdn, sizeof(job.msisdn));
	job.sms_format = c->dev.sms_format;
	job.port = srv->cfg.sched.port;
	job.validity_s = d->validity_s;
	job.due_ms = p->now;
	/* What the decision was made on, checked again where the job is added: another server may
	 * have decided about the device, or spent the limits, since this pass read them. The
	 * counter is taken there too, only once the decision holds. */
	job.guard.check = 1;
	job.guard.last_job_id = c->job_id;
	job.guard.per_hour = srv->cfg.sched.per_hour;
	job.guard.per_day = srv->cfg.sched.per_day;
	job.build = build_payload;
	job.build_arg = &src;
	rc = store_wake_job_add(srv->store, &job, p->now);
	explicit_bzero(&src, sizeof(src));
	if (rc == STORE_STALE) {
		*refused = job.refused;
		log_debug("device %lld: decision refused by the store: %s", (long long)c->dev.id,
			  refusal_name(job.refused));
		return rc;
	}
	if (rc == STORE_CONFLICT) {
		/* The device's counter is exhausted, or a job added without a guard (a tool's) is
		 * outstanding: no job from this decision. */
		log_debug("device %lld: the store refused the wake job (counter or outstanding job)",
			  (long long)c->dev.id);
		return STORE_OK;
	}
	if (rc != STORE_OK)
		return rc;
	metrics_add(CTR_WAKE_JOBS_CREATED, 1);
	if (d->reason == REASON_RETRY)
		metrics_add(CTR_WAKE_RETRIES, 1);
	log_debug("device %lld: wake job %lld (counter %llu, %s)", (long long)c->dev.id, (long long)job.id,
		  (unsigned long long)job.ctr, policy_reason_name(d->reason));
	return STORE_OK;
}

static struct contact *contact_slot(struct scheduler *s, int64_t device_id)
{
	return &s->contact[(unsigned)((uint64_t)device_id * 2654435761u) % MEMO_SLOTS];
}

/* Has the device's last contact settled before this pass took its view of the pending
 * messages? Only when it was a fetch on this server that ended (committed) before the pass
 * began and none is under way; any other contact waits out CONTACT_SETTLE_MS. */
static int contact_settled(struct pass *p, const struct store_wake_candidate *c)
{
	struct contact *ct = contact_slot(p->s, c->dev.id);
	int settled;

	pthread_mutex_lock(&p->s->contact_mu);
	settled = ct->device_id == c->dev.id && ct->under_way == 0 && ct->ended_ms >= c->dev.last_seen_ms &&
		  ct->ended_ms < p->now;
	pthread_mutex_unlock(&p->s->contact_mu);
	return settled;
}

void scheduler_fetch_begin(struct scheduler *s, int64_t device_id)
{
	struct contact *ct;

	if (s == NULL)
		return;
	ct = contact_slot(s, device_id);
	pthread_mutex_lock(&s->contact_mu);
	if (ct->under_way == 0 && ct->device_id != device_id) {
		ct->device_id = device_id;
		ct->ended_ms = 0;
	} else if (ct->device_id != device_id) {
		ct->device_id = -1;
	}
	ct->under_way++;
	pthread_mutex_unlock(&s->contact_mu);
}

void scheduler_fetch_end(struct scheduler *s, int64_t device_id, int answered)
{
	struct contact *ct;
	int64_t now = util_now_ms();

	if (s == NULL)
		return;
	ct = contact_slot(s, device_id);
	pthread_mutex_lock(&s->contact_mu);
	if (ct->under_way > 0)
		ct->under_way--;
	if (answered && ct->device_id == device_id && now > ct->ended_ms)
		ct->ended_ms = now;
	pthread_mutex_unlock(&s->contact_mu);
}

/* The store refused a wake decision: what it found is what the policy would have said from a
 * fresh view. A limit or a budget spent meanwhile (by other servers' jobs) is a suppression like
 * the policy's own; a newer job than the pass saw means another server decided first, and its
 * job covers the messages: a suppressed duplicate, counted as "stale", with no event (the other
 * server's job makes them). A device locked by another writer is looked at again shortly. */
static void refused_decision(struct pass *p, const struct store_wake_candidate *c, int refused)
{
	int64_t recheck = p->now + STALE_RECHECK_MS;

	switch (refused) {
	case WAKE_REFUSED_DEVICE_LIMIT:
		note_reason(p, c->dev.id, REASON_DEVICE_LIMIT);
		recheck = p->now + 60000;
		break;
	case WAKE_REFUSED_BUDGET:
		note_reason(p, c->dev.id, REASON_BUDGET);
		recheck = p->now + 60000;
		break;
	case WAKE_REFUSED_STALE: metrics_add(CTR_WAKE_SUPPRESSED_STALE, 1); break;
	default: break;
	}
	if (recheck < p->next)
		p->next = recheck;
}

static int consider(void *arg, const struct store_wake_candidate *c)
{
	struct pass *p = arg;
	struct wake_input in;
	struct wake_decision d;
	int rc, refused = WAKE_REFUSED_NONE;

	if (c->dev.last_seen_ms > p->now - CONTACT_SETTLE_MS && !contact_settled(p, c)) {
		if (c->dev.last_seen_ms + CONTACT_SETTLE_MS < p->next)
			p->next = c->dev.last_seen_ms + CONTACT_SETTLE_MS;
		return 0;
	}
	memset(&in, 0, sizeof(in));
	in.now_ms = p->now;
	in.device_id = c->dev.id;
	in.wake_state = c->dev.wake_state;
	in.wake_sent_ms = c->dev.wake_sent_ms;
	in.wake_attempts = c->dev.wake_attempts;
	in.last_seen_ms = c->dev.last_seen_ms;
	in.poll_interval_s = c->dev.poll_interval_s;
	in.quiet_start_min = c->dev.quiet_start_min;
	in.quiet_end_min = c->dev.quiet_end_min;
	in.wakes_hour = c->wakes_hour;
	in.wakes_day = c->wakes_day;
	in.budget_day = c->budget_day;
	in.budget_used = c->budget_used;
	in.npending = c->npending;
	memcpy(in.oldest_ms, c->oldest_ms, sizeof(in.oldest_ms));
	in.newest_expiry_ms = c->newest_expiry_ms;
	in.job_outstanding = c->job_state == JOB_QUEUED || c->job_state == JOB_LEASED;
	in.job_leased = in.job_outstanding && c->job_attempts > 0;
	in.job_queued_ms = c->job_created_ms;
	in.job_failed_ms = c->job_state == JOB_FAILED ? c->job_updated_ms : 0;
	policy_decide(&p->s->srv->cfg.sched, &in, &d);

	switch (d.verdict) {
	case VERDICT_WAKE:
		if (keys_master(&p->s->srv->keys, c->dev.key_id) == NULL) {
			note_reason(p, c->dev.id, REASON_NO_KEY);
			break;
		}
		if (c->dev.wake_ctr == UINT64_MAX) {
			note_reason(p, c->dev.id, REASON_COUNTER_EXHAUSTED);
			break;
		}
		rc = make_job(p, c, &d, &refused);
		if (rc == STORE_OK)
			remember_in_flight(p->s, c->dev.id, p->now);
		else if (rc == STORE_STALE)
			refused_decision(p, c, refused);
		else if (rc != STORE_CONFLICT)
			p->next = p->now + 1000; /* the store refused (disk full?): try again soon */
		break;
	case VERDICT_GIVE_UP:
		if (store_device_set_wake_state(p->s->srv->store, c->dev.id, WAKE_UNREACHABLE, p->now) == STORE_OK) {
			metrics_add(CTR_WAKE_GAVE_UP, 1);
			store_device_event(p->s->srv->store, c->dev.id, "wake_unreachable",
					   "no fetch after the last retry; waiting for the device's poll", p->now);
			log_info("device %lld unreachable by SMS after %d wakeups; waiting for its poll",
				 (long long)c->dev.id, c->dev.wake_attempts);
		}
		break;
	case VERDICT_WAIT:
		if (d.reason == REASON_IN_FLIGHT && in.job_outstanding)
			remember_in_flight(p->s, c->dev.id, p->now); /* the job is the wakeup: no event */
		else
			note_reason(p, c->dev.id, d.reason);
		if (d.recheck_ms > 0 && d.recheck_ms < p->next)
			p->next = d.recheck_ms;
		break;
	default: break;
	}
	return 0;
}

/* Is any gateway taking the wake jobs? Wakeups that have waited `grace` while no gateway has
 * leased (or reported) for as long mean none is running, or none has a modem it can send with.
 * The devices are not failed for it: their jobs wait and go out once, when one comes back. */
static void watch_gateways(struct scheduler *s, int64_t now)
{
	struct store_wake_backlog b;
	struct scheduler_status st = {.known = 1, .gateway_seen_ms = 0};
	int64_t grace = s->srv->cfg.sched.grace_s * 1000;
	int was;

	if (now - s->backlog_ms < BACKLOG_EVERY_MS && now >= s->backlog_ms)
		return;
	s->backlog_ms = now;
	if (store_wake_backlog(s->srv->store, now, &b) != STORE_OK)
		return;
	st.waiting = b.waiting;
	st.oldest_ms = b.waiting > 0 ? b.oldest_ms : 0;
	st.gateway_seen_ms = b.gateway_seen_ms;
	st.no_gateway = b.waiting > 0 && now - b.oldest_ms >= grace && now - b.gateway_seen_ms >= grace;

	pthread_mutex_lock(&s->mu);
	was = s->status.no_gateway;
	st.since_ms = st.no_gateway ? (was ? s->status.since_ms : now) : 0;
	s->status = st;
	pthread_mutex_unlock(&s->mu);

	metrics_gauge_set(GAUGE_WAKE_WAITING, st.waiting);
	metrics_gauge_set(GAUGE_WAKE_OLDEST_WAITING_S, st.waiting > 0 ? (now - st.oldest_ms) / 1000 : 0);
	if (st.gateway_seen_ms > 0)
		metrics_gauge_set(GAUGE_GATEWAY_LAST_SEEN_AGO_S, (now - st.gateway_seen_ms) / 1000);
	else
		metrics_gauge_clear(GAUGE_GATEWAY_LAST_SEEN_AGO_S);
	metrics_gauge_set(GAUGE_WAKE_NO_GATEWAY, st.no_gateway);
	if (st.no_gateway && !was) {
		metrics_add(CTR_WAKE_NO_GATEWAY_PERIODS, 1);
		if (st.gateway_seen_ms > 0)
			log_warnx("no gateway is taking wake jobs: %d wakeups waiting, the oldest for %lld s; the last "
				  "gateway contact was %lld s ago (none running, or none with a healthy modem?)",
				  st.waiting, (long long)((now - st.oldest_ms) / 1000),
				  (long long)((now - st.gateway_seen_ms) / 1000));
		else
			log_warnx("no gateway is taking wake jobs: %d wakeups waiting, the oldest for %lld s; no "
				  "gateway has ever connected (smswakectl gateway add, then start smswake-gateway)",
				  st.waiting, (long long)((now - st.oldest_ms) / 1000));
	} else if (!st.no_gateway && was) {
		log_info("a gateway is taking wake jobs again (%d still waiting)", st.waiting);
	}
}

void scheduler_status(struct scheduler *s, struct scheduler_status *out)
{
	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	*out = s->status;
	pthread_mutex_unlock(&s->mu);
}

static void *scheduler_main(void *arg)
{
	struct scheduler *s = arg;
	int64_t tick = s->srv->cfg.sched.tick_ms;

	pthread_mutex_lock(&s->mu);
	while (!s->stop) {
		struct pass p = {.s = s};
		s->kicked = 0;
		pthread_mutex_unlock(&s->mu);
		p.now = util_now_ms();
		p.next = p.now + 60000;
		if (store_wake_candidates(s->srv->store, p.now, consider, &p) != STORE_OK)
			p.next = p.now + 1000;
		watch_gateways(s, p.now);
		if (p.next > s->backlog_ms + BACKLOG_EVERY_MS)
			p.next = s->backlog_ms + BACKLOG_EVERY_MS;
		pthread_mutex_lock(&s->mu);
		/* Sleep until the earliest recheck, a new message, or the tick (which bounds how late a
		 * change made elsewhere, a lease running out say, is noticed). */
		int64_t wait_ms = p.next - util_now_ms();
		if (wait_ms > tick)
			wait_ms = tick;
		if (!s->kicked && !s->stop && wait_ms > 0) {
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			int64_t ns = ts.tv_nsec + (wait_ms % 1000) * 1000000;
			ts.tv_sec += wait_ms / 1000 + ns / 1000000000;
			ts.tv_nsec = ns % 1000000000;
			pthread_cond_timedwait(&s->cond, &s->mu, &ts);
		}
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

struct scheduler *scheduler_start(struct server *srv)
{
	struct scheduler *s = calloc(1, sizeof(*s));
	pthread_condattr_t ca;

	if (s == NULL)
		return NULL;
	s->srv = srv;
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->contact_mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&s->thread, NULL, scheduler_main, s) != 0) {
		pthread_cond_destroy(&s->cond);
		pthread_mutex_destroy(&s->mu);
		pthread_mutex_destroy(&s->contact_mu);
		free(s);
		return NULL;
	}
	pthread_setname_np(s->thread, "scheduler");
	return s;
}

void scheduler_stop(struct scheduler *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = 1;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->mu);
	pthread_mutex_destroy(&s->contact_mu);
	free(s);
}

void scheduler_notify(struct scheduler *s, int64_t device_id)
{
	(void)device_id;
	pthread_mutex_lock(&s->mu);
	s->kicked = 1;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->mu);
}
