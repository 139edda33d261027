/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The simulated network: takes SMS-SUBMITs from modems, applies the sender's faults (loss,
 * duplication, delay, reordering), delivers SMS-DELIVERs to the destination's storage, keeps
 * what cannot be delivered yet until its validity period ends, and returns status reports. */
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

enum sim_msg_kind { MSG_SMS, MSG_REPORT };

struct sim_msg {
	struct sim_timer timer;
	struct sim_msg *prev, *next;
	struct sim_net *net;
	enum sim_msg_kind kind;
	int from;                   /* sender's modem index, -1 for injected messages */
	char to[SIM_NUMBER_MAX];    /* destination number */
	char peer[SIM_NUMBER_MAX];  /* what the recipient's history shows: OA, or RA of a report */
	uint8_t tpdu[PDU_TPDU_MAX]; /* the DELIVER or STATUS-REPORT to hand over */
	size_t len;
	int64_t submit_ms, expires_ms; /* wall clock */
	uint8_t mr;
	int want_report;
	int copy; /* a duplicate: it never triggers a status report */
	uint64_t sent_seq;
	int attempts;
};

/* --- deterministic random numbers (splitmix64) --- */

void sim_net_seed(struct sim_net *net, uint64_t seed)
{
	net->rng = seed;
}

static uint64_t sim_rand(struct sim_net *net)
{
	uint64_t z = (net->rng += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* Always draws, so the sequence depends only on the seed and the order of events. */
static int sim_chance(struct sim_net *net, double p)
{
	double x = (double)(sim_rand(net) >> 11) * (1.0 / 9007199254740992.0);
	return x < p;
}

static int64_t sim_delay(struct sim_net *net, const struct sim_faults *f)
{
	uint64_t r = sim_rand(net);
	int64_t span = f->delay_max_ms - f->delay_min_ms;

	return f->delay_min_ms + (span > 0 ? (int64_t)(r % (uint64_t)(span + 1)) : 0);
}

/* --- message list --- */

static void sim_msg_fire(struct sim_timer *t);

static struct sim_msg *sim_msg_new(struct sim_net *net, enum sim_msg_kind kind)
{
	struct sim_msg *msg;

	if (net->n_inflight >= SIM_INFLIGHT_MAX)
		return NULL;
	msg = calloc(1, sizeof(*msg));
	if (msg == NULL)
		return NULL;
	msg->net = net;
	msg->kind = kind;
	msg->from = -1;
	msg->timer.fire = sim_msg_fire;
	msg->timer.arg = msg;
	msg->next = net->inflight;
	if (net->inflight)
		net->inflight->prev = msg;
	net->inflight = msg;
	net->n_inflight++;
	return msg;
}

static void sim_msg_free(struct sim_msg *msg)
{
	struct sim_net *net = msg->net;

	sim_timer_cancel(&msg->timer);
	if (msg->prev)
		msg->prev->next = msg->next;
	else
		net->inflight = msg->next;
	if (msg->next)
		msg->next->prev = msg->prev;
	net->n_inflight--;
	free(msg);
}

void sim_net_free(struct sim_net *net)
{
	while (net->inflight)
		sim_msg_free(net->inflight);
}

int sim_net_pending(const struct sim_net *net)
{
	return net->n_inflight;
}

/* --- handing a TPDU to a modem --- */

static int sim_can_receive(const struct sim_modem *m)
{
	return m->master >= 0 && !m->resetting && m->faults.registered && m->cfun == 1 && m->pin_state == SIM_PIN_READY;
}

/* Stores or reports a TPDU at a modem as its CNMI settings ask. Returns 0, or -1 when the
 * modem cannot take it now (not registered, storage full), so the network keeps it. */
static int sim_deliver_to(struct sim_modem *m, const uint8_t *tpdu, size_t len, int is_report, const char *peer, int mr,
			  char *where, size_t wherelen)
{
	uint8_t pdu[PDU_MAX];
	char hex[2 * PDU_MAX + 1];
	size_t smsc_len;
	enum sim_mem mem = m->mem[2];
	int idx;

	if (!sim_can_receive(m))
		return -1;
	if (pdu_encode_smsc(m->smsc, pdu, sizeof(pdu), &smsc_len) != PDU_OK || smsc_len + len > sizeof(pdu))
		return -1;
	memcpy(pdu + smsc_len, tpdu, len);
	/* Direct delivery (+CMT, +CDS) needs no storage. */
	if ((!is_report && (m->cnmi[1] == 2 || m->cnmi[1] == 3)) || (is_report && m->cnmi[3] == 1)) {
		pdu_hex(pdu, smsc_len + len, hex);
		if (is_report)
			sim_at_urc(m, "+CDS: %zu\r\n%s", len, hex);
		else
			sim_at_urc(m, "+CMT: ,%zu\r\n%s", len, hex);
		sim_at_direct_shown(m);
		snprintf(where, wherelen, "direct");
	} else {
		if (m->faults.storage_full)
			return -1;
		idx = sim_store_put(&m->store[mem], SIM_STAT_UNREAD, pdu, smsc_len + len, len);
		if (idx < 0)
			return -1;
		/* Status reports share the receive memory so that Gammu, which reads SM and ME
		 * only, sees them; +CDSI names that memory. */
		idx = sim_at_index(m, idx);
		if (is_report && m->cnmi[3] == 2 && m->cnmi[0] != 0)
			sim_at_urc(m, "+CDSI: \"%s\",%d", sim_mem_name(mem), idx);
		else if (!is_report && m->cnmi[1] == 1 && m->cnmi[0] != 0)
			sim_at_urc(m, "+CMTI: \"%s\",%d", sim_mem_name(mem), idx);
		snprintf(where, wherelen, "stored:%s:%d", sim_mem_name(mem), idx);
	}
	sim_record_add(m->net, &m->received, peer, mr, tpdu, len, where);
	if (is_report)
		m->stats.reports_received++;
	else
		m->stats.received++;
	return 0;
}

static void sim_fate(struct sim_msg *msg, const char *status)
{
	if (msg->from >= 0 && msg->kind == MSG_SMS && !msg->copy)
		sim_record_set_status(&msg->net->modem[msg->from]->sent, msg->sent_seq, status);
}

/* Queues a status report for the sender of msg. */
static void sim_report(struct sim_msg *msg, uint8_t st)
{
	struct sim_net *net = msg->net;
	struct sim_modem *from;
	struct sim_msg *r;
	struct pdu_sms sr;

	if (!msg->want_report || msg->copy || msg->from < 0)
		return;
	from = net->modem[msg->from];
	memset(&sr, 0, sizeof(sr));
	sr.mr = msg->mr;
	snprintf(sr.addr.text, sizeof(sr.addr.text), "%s", msg->to);
	if (pdu_time_from_unix(msg->submit_ms / 1000, 0, &sr.scts) != PDU_OK ||
	    pdu_time_from_unix(util_now_ms() / 1000, 0, &sr.dt) != PDU_OK)
		return;
	sr.st = st;
	r = sim_msg_new(net, MSG_REPORT);
	if (r == NULL) {
		log_warnx("network full: status report to %s dropped", from->number);
		return;
	}
	if (pdu_encode_status_report(&sr, 0, r->tpdu, sizeof(r->tpdu), &r->len) != PDU_OK) {
		sim_msg_free(r);
		return;
	}
	snprintf(r->to, sizeof(r->to), "%s", from->number);
	snprintf(r->peer, sizeof(r->peer), "%s", msg->to);
	r->mr = msg->mr;
	r->submit_ms = util_now_ms();
	r->expires_ms = r->submit_ms + net->default_validity_s * 1000;
	sim_timer_arm(&r->timer, 0);
}

static void sim_msg_fire(struct sim_timer *t)
{
	struct sim_msg *msg = t->arg;
	struct sim_net *net = msg->net;
	struct sim_modem *dest = sim_modem_find(net, msg->to);
	const char *peer = msg->peer;
	char where[48];

	msg->attempts++;
	if (dest == NULL) {
		if (msg->kind == MSG_SMS) {
			log_info("%s -> %s: unknown destination", peer, msg->to);
			sim_fate(msg, "failed:unknown-destination");
			if (msg->from >= 0)
				net->modem[msg->from]->stats.unknown_dest++;
			sim_report(msg, PDU_ST_NOT_OBTAINABLE);
		}
		sim_msg_free(msg);
		return;
	}
	if (util_now_ms() > msg->expires_ms) {
		log_info("%s -> %s: validity period expired", peer, msg->to);
		if (msg->kind == MSG_SMS) {
			sim_fate(msg, "failed:expired");
			if (msg->from >= 0)
				net->modem[msg->from]->stats.expired++;
			sim_report(msg, PDU_ST_VP_EXPIRED);
		}
		sim_msg_free(msg);
		return;
	}
	if (msg->kind == MSG_REPORT) {
		if (sim_deliver_to(dest, msg->tpdu, msg->len, 1, peer, msg->mr, where, sizeof(where)) != 0) {
			sim_timer_arm(&msg->timer, net->retry_ms);
			return;
		}
		sim_msg_free(msg);
		return;
	}
	if (sim_deliver_to(dest, msg->tpdu, msg->len, 0, peer, msg->from >= 0 ? msg->mr : -1, where, sizeof(where)) !=
	    0) {
		/* The service centre keeps it and tries again, as a real one does. */
		if (msg->attempts == 1)
			sim_fate(msg, "pending");
		sim_timer_arm(&msg->timer, net->retry_ms);
		return;
	}
	log_debug("%s -> %s: delivered (%s)", peer, msg->to, where);
	sim_fate(msg, "delivered");
	if (msg->from >= 0 && !msg->copy)
		net->modem[msg->from]->stats.delivered_out++;
	sim_report(msg, PDU_ST_DELIVERED);
	sim_msg_free(msg);
}

void sim_net_kick(struct sim_modem *m)
{
	for (struct sim_msg *msg = m->net->inflight; msg != NULL; msg = msg->next) {
		/* Only retries: a message still in its delivery delay keeps its delay. */
		if (msg->attempts > 0 && msg->timer.armed && sim_modem_find(m->net, msg->to) == m)
			sim_timer_arm(&msg->timer, 0);
	}
}

/* Builds the SMS-DELIVER the destination will see from a decoded SUBMIT. */
static int sim_make_deliver(const struct sim_modem *from, const struct pdu_sms *sub, int64_t now_ms, uint8_t *out,
			    size_t outmax, size_t *outlen)
{
	struct pdu_sms d = *sub;

	d.type = PDU_TYPE_DELIVER;
	memset(&d.smsc, 0, sizeof(d.smsc));
	memset(&d.addr, 0, sizeof(d.addr));
	snprintf(d.addr.text, sizeof(d.addr.text), "%s", from->number);
	d.more_messages = 0;
	d.loop_prevention = 0;
	/* TP-SRI tells the recipient a report goes back to the sender. */
	d.status_report = sub->status_report;
	d.reply_path = sub->reply_path;
	if (pdu_time_from_unix(now_ms / 1000, 0, &d.scts) != PDU_OK)
		return -1;
	return pdu_encode_deliver(&d, 0, out, outmax, outlen) == PDU_OK ? 0 : -1;
}

static int64_t sim_validity_ms(const struct sim_net *net, const struct pdu_sms *s, int64_t now)
{
	switch (s->vpf) {
	case PDU_VPF_RELATIVE: return (int64_t)s->vp_seconds * 1000;
	case PDU_VPF_ENHANCED:
		if (s->vp_seconds > 0)
			return (int64_t)s->vp_seconds * 1000;
		break;
	case PDU_VPF_ABSOLUTE: return pdu_time_to_unix(&s->vp_time) * 1000 - now;
	default: break;
	}
	return net->default_validity_s * 1000;
}

int sim_net_submit(struct sim_modem *from, const uint8_t *pdu, size_t len, int tpdu_len)
{
	struct sim_net *net = from->net;
	struct pdu_sms sub;
	int smsc = pdu ? pdu_smsc_field_len(pdu, len) : -1;
	const uint8_t *tpdu = smsc >= 0 ? pdu + smsc : pdu;
	size_t tlen = smsc >= 0 ? len - (size_t)smsc : len;
	int64_t now = util_now_ms();
	char status[48];
	uint8_t mr;
	int rc, copies;

	if (!from->faults.registered || from->cfun != 1) {
		from->stats.send_errors++;
		sim_record_add(net, &from->sent, NULL, -1, tpdu, tlen, "error:331");
		return -331;
	}
	if (pdu == NULL)
		rc = PDU_E_HEX;
	else if (smsc < 0)
		rc = PDU_E_SMSC_LEN;
	else
		rc = pdu_decode_submit(pdu, len, 1, &sub);
	/* AT+CMGS=<length> must match the TPDU that follows. */
	if (rc == PDU_OK && tpdu_len >= 0 && (size_t)tpdu_len != tlen)
		rc = (size_t)tpdu_len < tlen ? PDU_E_TRAILING : PDU_E_TRUNCATED;
	if (rc != PDU_OK) {
		/* Record what arrived, so a test can see exactly what was refused. */
		from->stats.rejected++;
		snprintf(status, sizeof(status), "rejected:%d", rc);
		sim_record_add(net, &from->sent, NULL, -1, pdu, len, status);
		log_info("modem %s: malformed SUBMIT refused: %s", from->number, pdu_strerror(rc));
		return -304;
	}
	if (from->faults.cms_error_count > 0) {
		from->faults.cms_error_count--;
		from->stats.send_errors++;
		snprintf(status, sizeof(status), "error:%d", from->faults.cms_error_code);
		sim_record_add(net, &from->sent, sub.addr.text, -1, tpdu, tlen, status);
		return -from->faults.cms_error_code;
	}
	mr = from->next_mr++;
	from->stats.submitted++;
	{
		uint64_t seq = sim_record_add(net, &from->sent, sub.addr.text, mr, tpdu, tlen, "accepted");
		uint8_t dtpdu[PDU_TPDU_MAX];
		size_t dlen;
		int lost = sim_chance(net, from->faults.loss);
		int dup = sim_chance(net, from->faults.dup);

		if (sim_make_deliver(from, &sub, now, dtpdu, sizeof(dtpdu), &dlen) != 0) {
			sim_record_set_status(&from->sent, seq, "failed:encode");
			return mr;
		}
		if (lost) {
			from->stats.lost++;
			sim_record_set_status(&from->sent, seq, "lost");
			log_debug("%s -> %s: lost", from->number, sub.addr.text);
			return mr;
		}
		copies = dup ? 2 : 1;
		if (dup)
			from->stats.duplicated++;
		for (int c = 0; c < copies; c++) {
			struct sim_msg *msg = sim_msg_new(net, MSG_SMS);
			int64_t delay = sim_delay(net, &from->faults);
			if (sim_chance(net, from->faults.reorder))
				delay += from->faults.reorder_ms;
			if (msg == NULL) {
				log_warnx("network full: message from %s dropped", from->number);
				sim_record_set_status(&from->sent, seq, "failed:network-full");
				break;
			}
			msg->from = from->index;
			snprintf(msg->to, sizeof(msg->to), "%s", sub.addr.text);
			snprintf(msg->peer, sizeof(msg->peer), "%s", from->number);
			memcpy(msg->tpdu, dtpdu, dlen);
			msg->len = dlen;
			msg->submit_ms = now;
			msg->expires_ms = now + sim_validity_ms(net, &sub, now);
			msg->mr = mr;
			msg->want_report = sub.status_report;
			msg->copy = c > 0;
			msg->sent_seq = seq;
			sim_timer_arm(&msg->timer, delay);
		}
	}
	return mr;
}

int sim_net_inject(struct sim_modem *to, const uint8_t *tpdu, size_t len, char *where, size_t wherelen)
{
	struct pdu_sms s;
	struct sim_msg *msg;
	int is_report;

	if (len > PDU_TPDU_MAX || pdu_decode_sc_to_ms(tpdu, len, 0, &s) != PDU_OK)
		return -1;
	is_report = s.type == PDU_TYPE_STATUS_REPORT;
	if (sim_deliver_to(to, tpdu, len, is_report, s.addr.text, is_report ? s.mr : -1, where, wherelen) == 0)
		return 0;
	msg = sim_msg_new(to->net, is_report ? MSG_REPORT : MSG_SMS);
	if (msg == NULL)
		return -1;
	snprintf(msg->to, sizeof(msg->to), "%s", to->number);
	snprintf(msg->peer, sizeof(msg->peer), "%s", s.addr.text);
	memcpy(msg->tpdu, tpdu, len);
	msg->len = len;
	msg->submit_ms = util_now_ms();
	msg->expires_ms = msg->submit_ms + to->net->default_validity_s * 1000;
	msg->attempts = 1;
	sim_timer_arm(&msg->timer, to->net->retry_ms);
	snprintf(where, wherelen, "pending");
	return 0;
}
