/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What a simulated modem remembers: its message storages (SM, ME, SR) as AT+CPMS names them,
 * and the sent/received history the control socket shows. */
#include "sim.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util.h"

static const char *const sim_mem_names[SIM_MEM_COUNT] = {"SM", "ME", "SR"};

const char *sim_mem_name(enum sim_mem mem)
{
	return sim_mem_names[mem];
}

int sim_mem_parse(const char *name)
{
	for (int i = 0; i < SIM_MEM_COUNT; i++)
		if (strcasecmp(name, sim_mem_names[i]) == 0)
			return i;
	return -1;
}

int sim_store_used(const struct sim_storage *st)
{
	int n = 0;

	for (int i = 0; i < st->size; i++)
		n += st->slot[i].used;
	return n;
}

int sim_store_put(struct sim_storage *st, enum sim_stat stat, const uint8_t *pdu, size_t len, size_t tpdu_len)
{
	if (len > sizeof(st->slot[0].pdu))
		return -1;
	for (int i = 0; i < st->size; i++) {
		struct sim_slot *s = &st->slot[i];
		if (s->used)
			continue;
		s->used = 1;
		s->stat = stat;
		memcpy(s->pdu, pdu, len);
		s->len = len;
		s->tpdu_len = tpdu_len;
		return i + 1;
	}
	return -1;
}

struct sim_slot *sim_store_get(struct sim_storage *st, int index)
{
	if (index < 1 || index > st->size || !st->slot[index - 1].used)
		return NULL;
	return &st->slot[index - 1];
}

/* --- history --- */

uint64_t sim_record_add(struct sim_net *net, struct sim_ring *ring, const char *peer, int mr, const uint8_t *tpdu,
			size_t len, const char *status)
{
	struct sim_record *r;

	if (ring->count < SIM_RECORDS_MAX) {
		r = &ring->rec[(ring->head + ring->count) % SIM_RECORDS_MAX];
		ring->count++;
	} else {
		/* Full: the oldest record gives way. */
		r = &ring->rec[ring->head];
		ring->head = (ring->head + 1) % SIM_RECORDS_MAX;
	}
	memset(r, 0, sizeof(*r));
	r->seq = ++net->seq;
	r->time_ms = util_now_ms();
	snprintf(r->peer, sizeof(r->peer), "%s", peer && peer[0] ? peer : "-");
	snprintf(r->status, sizeof(r->status), "%s", status);
	r->mr = mr;
	if (tpdu != NULL && len > 0) {
		r->len = len > sizeof(r->tpdu) ? sizeof(r->tpdu) : len;
		memcpy(r->tpdu, tpdu, r->len);
	}
	return r->seq;
}

void sim_record_set_status(struct sim_ring *ring, uint64_t seq, const char *status)
{
	for (size_t i = 0; i < ring->count; i++) {
		struct sim_record *r = &ring->rec[(ring->head + i) % SIM_RECORDS_MAX];
		if (r->seq == seq) {
			snprintf(r->status, sizeof(r->status), "%s", status);
			return;
		}
	}
}

/* Appends to out at *k, never past outmax; output is cut rather than overrun. */
static void fmt_add(char *out, size_t outmax, size_t *k, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void fmt_add(char *out, size_t outmax, size_t *k, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*k >= outmax)
		return;
	va_start(ap, fmt);
	n = vsnprintf(out + *k, outmax - *k, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	*k += (size_t)n < outmax - *k ? (size_t)n : outmax - *k - 1;
}

static void fmt_hex(char *out, size_t outmax, size_t *k, const char *key, const uint8_t *b, size_t n)
{
	char hex[2 * PDU_MAX + 1];

	if (n > PDU_MAX)
		n = PDU_MAX;
	pdu_hex(b, n, hex);
	fmt_add(out, outmax, k, " %s=%s", key, n ? hex : "-");
}

/* Text in double quotes with backslash escapes, so a record stays one line. */
static void fmt_text(char *out, size_t outmax, size_t *k, const char *text)
{
	fmt_add(out, outmax, k, " text=\"");
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (*p == '"' || *p == '\\')
			fmt_add(out, outmax, k, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7F)
			fmt_add(out, outmax, k, "\\x%02X", *p);
		else
			fmt_add(out, outmax, k, "%c", *p);
	}
	fmt_add(out, outmax, k, "\"");
}

void sim_record_format(const struct sim_record *r, int is_sent, char *out, size_t outmax)
{
	static const char *const codings[] = {"7bit", "8bit", "ucs2"};
	struct pdu_sms s;
	size_t k = 0;
	int rc;

	fmt_add(out, outmax, &k, "time=%" PRId64 ".%03d peer=%s mr=%d status=%s", r->time_ms / 1000,
		(int)(r->time_ms % 1000), r->peer, r->mr, r->status);
	fmt_hex(out, outmax, &k, "pdu", r->tpdu, r->len);
	if (r->len == 0)
		return;
	rc = is_sent ? pdu_decode_submit(r->tpdu, r->len, 0, &s) : pdu_decode_sc_to_ms(r->tpdu, r->len, 0, &s);
	if (rc != PDU_OK) {
		fmt_add(out, outmax, &k, " error=\"%s\"", pdu_strerror(rc));
		return;
	}
	fmt_add(out, outmax, &k, " type=%s fo=0x%02X",
		s.type == PDU_TYPE_SUBMIT    ? "submit"
		: s.type == PDU_TYPE_DELIVER ? "deliver"
					     : "status-report",
		s.first_octet);
	if (s.type == PDU_TYPE_SUBMIT) {
		fmt_add(out, outmax, &k, " da=%s srr=%d", s.addr.text, s.status_report);
		switch (s.vpf) {
		case PDU_VPF_NONE: fmt_add(out, outmax, &k, " vp=none"); break;
		case PDU_VPF_RELATIVE: fmt_add(out, outmax, &k, " vp=relative:%" PRIu32, s.vp_seconds); break;
		case PDU_VPF_ENHANCED: fmt_add(out, outmax, &k, " vp=enhanced:%" PRIu32, s.vp_seconds); break;
		case PDU_VPF_ABSOLUTE:
			fmt_add(out, outmax, &k, " vp=absolute:%" PRId64, pdu_time_to_unix(&s.vp_time));
			break;
		}
	} else if (s.type == PDU_TYPE_DELIVER) {
		fmt_add(out, outmax, &k, " oa=%s sri=%d scts=%" PRId64, s.addr.text, s.status_report,
			pdu_time_to_unix(&s.scts));
	} else {
		fmt_add(out, outmax, &k, " ra=%s st=0x%02X scts=%" PRId64 " dt=%" PRId64, s.addr.text, s.st,
			pdu_time_to_unix(&s.scts), pdu_time_to_unix(&s.dt));
		if (!(s.pi & 0x04))
			return;
	}
	fmt_add(out, outmax, &k, " pid=0x%02X dcs=0x%02X coding=%s class=%d", s.pid, s.dcs, codings[s.coding],
		s.msg_class);
	if (s.udh_len > 0) {
		uint8_t udh[PDU_UD_MAX_OCTETS + 1];
		udh[0] = s.udh_len;
		memcpy(udh + 1, s.udh, s.udh_len);
		fmt_hex(out, outmax, &k, "udh", udh, (size_t)s.udh_len + 1);
	}
	if (s.has_ports)
		fmt_add(out, outmax, &k, " dport=%u sport=%u", s.dst_port, s.src_port);
	if (s.has_concat)
		fmt_add(out, outmax, &k, " concat=%u/%u/%u", s.concat_ref, s.concat_seq, s.concat_total);
	fmt_hex(out, outmax, &k, "ud", s.ud, s.ud_len);
	if (s.coding != PDU_CODING_8BIT && !s.compressed) {
		char text[3 * PDU_UD_MAX_SEPTETS + 1];
		if (pdu_sms_text(&s, text, sizeof(text)) == PDU_OK)
			fmt_text(out, outmax, &k, text);
	}
}
