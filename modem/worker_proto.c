/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Encoding and decoding of supervisor <-> worker frames (see worker_proto.h), table-driven so
 * every field is bounds-checked in one place. */
#include "worker_proto.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

enum wp_kind { K_I32, K_I64, K_STR, K_BYTES, K_U16 };

/* Groups say which frames carry a field. */
#define G_RESULT 0x01
#define G_CONFIG 0x02
#define G_SEND 0x04
#define G_STATUS 0x08
#define G_IDENT 0x10
#define G_IN 0x20
#define G_REPORT 0x40
#define G_HEADER 0x80 /* frames that carry nothing but their header (no field is in this group) */

struct wp_field {
	uint8_t tag;
	uint8_t kind;
	uint8_t groups;
	size_t off;     /* of the value in struct wp_msg */
	size_t size;    /* of the value's storage (strings: including the NUL) */
	size_t len_off; /* K_BYTES: offset of its size_t length */
};

#define F_I32(t, g, m)                                                                                                 \
	{                                                                                                              \
		t, K_I32, g, offsetof(struct wp_msg, m), sizeof(int32_t), 0                                            \
	}
#define F_INT(t, g, m)                                                                                                 \
	{                                                                                                              \
		t, K_I32, g, offsetof(struct wp_msg, m), sizeof(int), 0                                                \
	}
#define F_I64(t, g, m)                                                                                                 \
	{                                                                                                              \
		t, K_I64, g, offsetof(struct wp_msg, m), sizeof(int64_t), 0                                            \
	}
#define F_U16(t, g, m)                                                                                                 \
	{                                                                                                              \
		t, K_U16, g, offsetof(struct wp_msg, m), sizeof(uint16_t), 0                                           \
	}
#define F_STR(t, g, m)                                                                                                 \
	{                                                                                                              \
		t, K_STR, g, offsetof(struct wp_msg, m), sizeof(((struct wp_msg *)0)->m), 0                            \
	}
#define F_BYTES(t, g, m, l)                                                                                            \
	{                                                                                                              \
		t, K_BYTES, g, offsetof(struct wp_msg, m), sizeof(((struct wp_msg *)0)->m), offsetof(struct wp_msg, l) \
	}

_Static_assert(sizeof(int) == 4, "int fields are carried as 32-bit values");

static const struct wp_field wp_fields[] = {
	F_I32(1, G_RESULT, status),
	F_I32(2, G_RESULT, reference),
	F_STR(3, G_RESULT, text),
	F_INT(6, G_RESULT, caps.probed),
	F_INT(7, G_RESULT, caps.present),
	F_I32(4, G_SEND | G_CONFIG, timeout_ms),
	F_I32(5, G_CONFIG, poll_ms),
	F_STR(10, G_CONFIG, config.name),
	F_STR(11, G_CONFIG, config.device),
	F_STR(12, G_CONFIG, config.connection),
	F_STR(13, G_CONFIG, config.model),
	F_STR(14, G_CONFIG, config.pin),
	F_STR(15, G_CONFIG, config.smsc),
	F_STR(16, G_CONFIG, config.logfile),
	F_STR(20, G_SEND, out.number),
	F_INT(21, G_SEND, out.binary),
	F_U16(22, G_SEND, out.dst_port),
	F_U16(23, G_SEND, out.src_port),
	F_BYTES(24, G_SEND, out.data, out.data_len),
	F_STR(25, G_SEND, out.text),
	F_INT(26, G_SEND, out.validity_minutes),
	F_INT(27, G_SEND, out.status_report),
	F_INT(30, G_STATUS, st.sim),
	F_INT(31, G_STATUS, st.reg),
	F_INT(32, G_STATUS, st.signal_percent),
	F_INT(33, G_STATUS, st.signal_dbm),
	F_INT(34, G_STATUS, st.ber),
	F_INT(35, G_STATUS, st.sms_used),
	F_INT(36, G_STATUS, st.sms_size),
	F_STR(37, G_STATUS, st.network_code),
	F_STR(38, G_STATUS, st.network_name),
	F_INT(39, G_STATUS, st.error),
	F_STR(40, G_IDENT, id.manufacturer),
	F_STR(41, G_IDENT, id.model),
	F_STR(42, G_IDENT, id.firmware),
	F_STR(43, G_IDENT, id.imei),
	F_STR(44, G_IDENT, id.imsi),
	F_INT(50, G_IN | G_REPORT, in.type),
	F_STR(51, G_IN | G_REPORT, in.number),
	F_I64(52, G_IN | G_REPORT, in.time_ms),
	F_INT(53, G_IN, in.binary),
	F_INT(54, G_IN, in.has_ports),
	F_U16(55, G_IN, in.dst_port),
	F_U16(56, G_IN, in.src_port),
	F_BYTES(57, G_IN, in.udh, in.udh_len),
	F_BYTES(58, G_IN, in.data, in.data_len),
	F_INT(59, G_REPORT, in.reference),
	F_INT(60, G_REPORT, in.report_status),
};

#define WP_NFIELDS (sizeof(wp_fields) / sizeof(wp_fields[0]))

static unsigned wp_groups(int type)
{
	switch (type) {
	case WP_CONFIG: return G_CONFIG;
	case WP_READY: return G_RESULT | G_IDENT;
	case WP_JOB: return G_SEND;
	case WP_RESULT: return G_RESULT | G_STATUS | G_IDENT;
	case WP_EV_SMS: return G_IN;
	case WP_EV_REPORT: return G_REPORT;
	case WP_PROGRESS: return G_HEADER;
	default: return 0;
	}
}

void wp_msg_init(struct wp_msg *msg, int type, int op, uint32_t job_id)
{
	memset(msg, 0, sizeof(*msg));
	msg->type = (uint8_t)type;
	msg->op = (uint8_t)op;
	msg->job_id = job_id;
	msg->reference = -1;
	msg->st.signal_percent = msg->st.signal_dbm = msg->st.ber = -1;
	msg->st.sms_used = msg->st.sms_size = -1;
}

static void put_be(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static uint64_t get_be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

long wp_encode(const struct wp_msg *msg, uint8_t *buf, size_t max)
{
	const unsigned char *base = (const unsigned char *)msg;
	unsigned groups = wp_groups(msg->type);
	size_t o = WP_HEADER_LEN;

	if (groups == 0 || max < WP_HEADER_LEN)
		return -1;
	buf[0] = 'S';
	buf[1] = 'W';
	buf[2] = WP_VERSION;
	buf[3] = msg->type;
	buf[4] = msg->op;
	put_be(buf + 5, msg->job_id, 4);
	for (size_t i = 0; i < WP_NFIELDS; i++) {
		const struct wp_field *f = &wp_fields[i];
		const unsigned char *v = base + f->off;
		size_t len;
		if (!(f->groups & groups))
			continue;
		switch (f->kind) {
		case K_I32: len = 4; break;
		case K_I64: len = 8; break;
		case K_U16: len = 2; break;
		case K_STR:
			len = strnlen((const char *)v, f->size);
			if (len == f->size)
				return -1; /* not terminated: refuse rather than truncate */
			if (len == 0)
				continue;
			break;
		default: {
			size_t n;
			memcpy(&n, base + f->len_off, sizeof(n));
			if (n > f->size)
				return -1;
			if (n == 0)
				continue;
			len = n;
			break;
		}
		}
		if (o + 3 + len > max)
			return -1;
		buf[o] = f->tag;
		put_be(buf + o + 1, len, 2);
		o += 3;
		switch (f->kind) {
		case K_I32: {
			int32_t x;
			memcpy(&x, v, 4);
			put_be(buf + o, (uint32_t)x, 4);
			break;
		}
		case K_I64: {
			int64_t x;
			memcpy(&x, v, 8);
			put_be(buf + o, (uint64_t)x, 8);
			break;
		}
		case K_U16: {
			uint16_t x;
			memcpy(&x, v, 2);
			put_be(buf + o, x, 2);
			break;
		}
		default: memcpy(buf + o, v, len); break;
		}
		o += len;
	}
	return (long)o;
}

static const struct wp_field *wp_field_by_tag(uint8_t tag)
{
	for (size_t i = 0; i < WP_NFIELDS; i++)
		if (wp_fields[i].tag == tag)
			return &wp_fields[i];
	return NULL;
}

int wp_decode(const uint8_t *buf, size_t len, struct wp_msg *msg)
{
	unsigned char *base = (unsigned char *)msg;
	size_t o = WP_HEADER_LEN;

	if (len < WP_HEADER_LEN || len > WP_MAX_FRAME || buf[0] != 'S' || buf[1] != 'W' || buf[2] != WP_VERSION)
		return -1;
	if (buf[3] == 0 || buf[3] >= WP_TYPE__MAX || buf[4] >= WP_OP__MAX)
		return -1;
	wp_msg_init(msg, buf[3], buf[4], (uint32_t)get_be(buf + 5, 4));
	if (msg->type == WP_JOB && msg->op == WP_OP_NONE)
		return -1;
	while (o < len) {
		const struct wp_field *f;
		size_t flen;
		if (len - o < 3)
			return -1;
		flen = (size_t)get_be(buf + o + 1, 2);
		if (flen > len - o - 3)
			return -1;
		f = wp_field_by_tag(buf[o]);
		o += 3;
		if (f == NULL) {
			o += flen; /* a field from a newer peer */
			continue;
		}
		unsigned char *v = base + f->off;
		switch (f->kind) {
		case K_I32: {
			if (flen != 4)
				return -1;
			int32_t x = (int32_t)(uint32_t)get_be(buf + o, 4);
			memcpy(v, &x, 4);
			break;
		}
		case K_I64: {
			if (flen != 8)
				return -1;
			int64_t x = (int64_t)get_be(buf + o, 8);
			memcpy(v, &x, 8);
			break;
		}
		case K_U16: {
			if (flen != 2)
				return -1;
			uint16_t x = (uint16_t)get_be(buf + o, 2);
			memcpy(v, &x, 2);
			break;
		}
		case K_STR:
			if (flen >= f->size || memchr(buf + o, '\0', flen) != NULL)
				return -1;
			memcpy(v, buf + o, flen);
			v[flen] = '\0';
			break;
		default:
			if (flen > f->size)
				return -1;
			memcpy(v, buf + o, flen);
			memcpy(base + f->len_off, &flen, sizeof(flen));
			break;
		}
		o += flen;
	}
	return 0;
}

int wp_send(int fd, const struct wp_msg *msg)
{
	uint8_t buf[WP_MAX_FRAME];
	long n = wp_encode(msg, buf, sizeof(buf));
	ssize_t w;

	if (n < 0) {
		errno = EMSGSIZE;
		return -1;
	}
	do {
		w = send(fd, buf, (size_t)n, MSG_NOSIGNAL);
	} while (w < 0 && errno == EINTR);
	explicit_bzero(buf, (size_t)n); /* a CONFIG frame carries the PIN */
	if (w != n)
		return -1;
	return 0;
}

int wp_recv(int fd, struct wp_msg *msg)
{
	uint8_t buf[WP_MAX_FRAME + 1];
	ssize_t r;

	do {
		r = recv(fd, buf, sizeof(buf), MSG_TRUNC);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -1;
	if (r == 0)
		return 1;
	if ((size_t)r > WP_MAX_FRAME || wp_decode(buf, (size_t)r, msg) != 0) {
		errno = EPROTO;
		return -1;
	}
	return 0;
}

const char *wp_op_name(int op)
{
	switch (op) {
	case WP_OP_SEND: return "send";
	case WP_OP_STATUS: return "status";
	case WP_OP_IDENTIFY: return "identify";
	case WP_OP_RESET: return "reset";
	case WP_OP_RECONNECT: return "reconnect";
	case WP_OP_DRAIN: return "drain";
	default: return "none";
	}
}
