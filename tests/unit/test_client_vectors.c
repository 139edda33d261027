/* SPDX-License-Identifier: MIT */
/* The test vectors of docs/protocol.md section 8, read out of the document itself so that the
 * document and the code cannot drift apart: every field of every vector is recomputed with the
 * codec (common/wire/wake.c, common/wire/pdu.c) and every wakeup goes through libsmswake's public functions
 * in each of its forms; every rejection vector is rejected for the reason the document gives.
 * tests/unit/test_protocol.py checks the same vectors with an implementation of its own.
 * The document is docs/protocol.md from the current directory, or $SMSWAKE_PROTOCOL_MD. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "crypto.h"
#include "encode.h"
#include "internal.h"
#include "pdu.h"
#include "smswake.h"
#include "wake.h"

#define MAX_FIELDS 40
#define MAX_VECTORS 8
#define MAX_REJECTS 40

struct field {
	char name[32];
	char value[400];
};

struct vector {
	char name[8];
	struct field f[MAX_FIELDS];
	size_t n;
};

struct reject {
	char name[8];
	int step;
	int text; /* the text form, else binary user data in hex */
	char input[400];
	uint64_t stored;
	char reason[16];
};

struct doc {
	char *text;
	struct vector v[MAX_VECTORS];
	size_t nv;
	struct reject r[MAX_REJECTS];
	size_t nr;
	char dir[64];
	char state[96];
};

/* --- reading the document --- */

static char *read_doc(void)
{
	const char *path = getenv("SMSWAKE_PROTOCOL_MD");
	FILE *fp;
	char *buf;
	long n;

	if (path == NULL || *path == '\0')
		path = "docs/protocol.md";
	fp = fopen(path, "rb");
	if (fp == NULL)
		fail_msg("cannot open %s (run from the source tree or set SMSWAKE_PROTOCOL_MD)", path);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	assert_true(n > 0);
	rewind(fp);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

/* Copies the text between p and end into out (max octets with the NUL), without surrounding
 * spaces. */
static void copy_trim(const char *p, const char *end, char *out, size_t max)
{
	while (p < end && *p == ' ')
		p++;
	while (end > p && end[-1] == ' ')
		end--;
	if ((size_t)(end - p) >= max)
		fail_msg("value too long: %.40s...", p);
	memcpy(out, p, (size_t)(end - p));
	out[end - p] = '\0';
}

/* "### Vector N ..." then a ```text block of "name value" lines. */
static void parse_vectors(struct doc *d)
{
	for (const char *p = strstr(d->text, "\n### Vector "); p != NULL; p = strstr(p + 1, "\n### Vector ")) {
		struct vector *v = &d->v[d->nv];
		const char *block = strstr(p, "\n```text\n"), *end;

		assert_true(d->nv < MAX_VECTORS);
		copy_trim(p + 12, p + 12 + strspn(p + 12, "0123456789"), v->name, sizeof(v->name));
		assert_non_null(block);
		block += 9;
		end = strstr(block, "\n```");
		assert_non_null(end);
		for (const char *line = block; line <= end;) {
			const char *nl = strchr(line, '\n'), *sp = strchr(line, ' ');
			struct field *f = &v->f[v->n];

			if (nl == line) {
				line++;
				continue;
			}
			assert_true(v->n < MAX_FIELDS);
			assert_true(sp != NULL && sp < nl);
			copy_trim(line, sp, f->name, sizeof(f->name));
			copy_trim(sp, nl, f->value, sizeof(f->value));
			v->n++;
			line = nl + 1;
		}
		d->nv++;
	}
}

/* "| R1 | step | form | `input` | stored | `REASON`: why |" */
static void parse_rejects(struct doc *d)
{
	for (const char *p = strstr(d->text, "\n| R"); p != NULL; p = strstr(p + 1, "\n| R")) {
		struct reject *r = &d->r[d->nr];
		const char *cell[7], *nl = strchr(p + 1, '\n');
		char tmp[32];
		int n = 0;

		assert_true(d->nr < MAX_REJECTS);
		for (const char *q = p + 1; q < nl && n < 7; q++)
			if (*q == '|')
				cell[n++] = q;
		assert_int_equal(n, 7);
		copy_trim(cell[0] + 1, cell[1], r->name, sizeof(r->name));
		copy_trim(cell[1] + 1, cell[2], tmp, sizeof(tmp));
		r->step = (int)strtol(tmp, NULL, 10);
		copy_trim(cell[2] + 1, cell[3], tmp, sizeof(tmp));
		r->text = strcmp(tmp, "text") == 0;
		assert_true(r->text || strcmp(tmp, "binary") == 0);
		{
			const char *a = memchr(cell[3], '`', (size_t)(cell[4] - cell[3])), *b;

			assert_non_null(a);
			b = memchr(a + 1, '`', (size_t)(cell[4] - a - 1));
			assert_non_null(b);
			/* Exactly what is between the backticks: a space inside is part of it. */
			assert_true((size_t)(b - a - 1) < sizeof(r->input));
			memcpy(r->input, a + 1, (size_t)(b - a - 1));
			r->input[b - a - 1] = '\0';
		}
		copy_trim(cell[4] + 1, cell[5], tmp, sizeof(tmp));
		r->stored = strtoull(tmp, NULL, 10);
		{
			const char *a = strchr(cell[5], '`'), *b = a != NULL ? strchr(a + 1, '`') : NULL;

			assert_true(a != NULL && b != NULL && b < nl);
			copy_trim(a + 1, b, r->reason, sizeof(r->reason));
		}
		d->nr++;
	}
}

static int setup(void **state)
{
	struct doc *d = calloc(1, sizeof(*d));

	assert_non_null(d);
	d->text = read_doc();
	parse_vectors(d);
	parse_rejects(d);
	snprintf(d->dir, sizeof(d->dir), "/tmp/test_client_vectors-XXXXXX");
	assert_non_null(mkdtemp(d->dir));
	snprintf(d->state, sizeof(d->state), "%s/state", d->dir);
	*state = d;
	return 0;
}

static void remove_state(const struct doc *d)
{
	char path[160];

	unlink(d->state);
	snprintf(path, sizeof(path), "%s.lock", d->state);
	unlink(path);
}

static int teardown(void **state)
{
	struct doc *d = *state;

	remove_state(d);
	rmdir(d->dir);
	free(d->text);
	free(d);
	return 0;
}

/* --- field access --- */

static const char *get(const struct vector *v, const char *name)
{
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->f[i].name, name) == 0)
			return v->f[i].value;
	return NULL;
}

static const char *need(const struct vector *v, const char *name)
{
	const char *s = get(v, name);

	if (s == NULL)
		fail_msg("vector %s has no %s", v->name, name);
	return s;
}

static uint64_t num(const struct vector *v, const char *name)
{
	const char *s = need(v, name);
	uint64_t n = 0;

	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9' || n > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			fail_msg("vector %s: %s is not a decimal number: %s", v->name, name, s);
		n = n * 10 + (uint64_t)(*p - '0');
	}
	return n;
}

/* Octets of a hex field; returns how many. */
static size_t octets(const struct vector *v, const char *name, uint8_t *out, size_t max)
{
	const char *s = need(v, name);
	long n = enc_unhex(s, strlen(s), out, max);

	if (n < 0)
		fail_msg("vector %s: %s is not hex octets", v->name, name);
	return (size_t)n;
}

/* Compares computed octets with a field when the vector has it; returns 1 if it had it. */
static int check_octets(const struct vector *v, const char *name, const uint8_t *got, size_t len)
{
	char hex[ENC_HEX_LEN(200)];

	if (get(v, name) == NULL)
		return 0;
	assert_true(len <= 200);
	enc_hex(got, len, hex);
	if (strcmp(hex, get(v, name)) != 0)
		fail_msg("vector %s %s: the document has %s, the code gives %s", v->name, name, get(v, name), hex);
	return 1;
}

/* --- the vectors --- */

struct params {
	uint8_t master[64];
	size_t master_len;
	uint64_t device_id, counter;
	uint8_t key_id, flags, pending;
	uint16_t port;
	uint32_t time;
	uint8_t key[WAKE_KEY_LEN];
};

static void params_of(const struct vector *v, struct params *p)
{
	memset(p, 0, sizeof(*p));
	p->master_len = octets(v, "master_key", p->master, sizeof(p->master));
	p->device_id = num(v, "device_id");
	assert_true(num(v, "key_id") <= 255 && num(v, "flags") <= 255 && num(v, "pending") <= 255 &&
		    num(v, "port") <= 65535 && num(v, "time") <= UINT32_MAX);
	p->key_id = (uint8_t)num(v, "key_id");
	p->port = (uint16_t)num(v, "port");
	p->flags = (uint8_t)num(v, "flags");
	p->counter = num(v, "counter");
	p->time = (uint32_t)num(v, "time");
	p->pending = (uint8_t)num(v, "pending");
	assert_int_equal(wake_derive_key(p->master, p->master_len, p->key_id, p->device_id, p->key), 0);
}

/* A fresh handle for the vector's device with an empty state file. */
static smswake_t *device(struct doc *d, uint64_t device_id, const uint8_t key[WAKE_KEY_LEN], uint8_t key_id,
			 uint16_t port)
{
	char b64[ENC_B64_LEN(WAKE_KEY_LEN)], num_s[24];
	smswake_t *h;

	remove_state(d);
	enc_b64(key, WAKE_KEY_LEN, b64, 0);
	assert_int_equal(smswake_new(&h), SMSWAKE_OK);
	snprintf(num_s, sizeof(num_s), "%llu", (unsigned long long)device_id);
	assert_int_equal(smswake_setopt(h, "device_id", num_s), SMSWAKE_OK);
	assert_int_equal(smswake_setopt(h, "wake_key", b64), SMSWAKE_OK);
	snprintf(num_s, sizeof(num_s), "%u", key_id);
	assert_int_equal(smswake_setopt(h, "key_id", num_s), SMSWAKE_OK);
	snprintf(num_s, sizeof(num_s), "%u", port);
	assert_int_equal(smswake_setopt(h, "port", num_s), SMSWAKE_OK);
	assert_int_equal(smswake_setopt(h, "state_file", d->state), SMSWAKE_OK);
	return h;
}

static void expect_wakeup(const struct vector *v, const struct params *p, smswake_t *h, smswake_err err,
			  const struct smswake_wakeup *w, int text_form, const char *how)
{
	if (err != SMSWAKE_OK)
		fail_msg("vector %s through %s: %s (%s)", v->name, how, smswake_strerror(err), smswake_errmsg(h));
	assert_true(w->counter == p->counter);
	assert_int_equal(w->time, p->time);
	assert_int_equal(w->pending, p->pending);
	assert_int_equal(w->urgent, (p->flags & WAKE_F_URGENT) != 0);
	assert_int_equal(w->text_form, text_form);
}

/* Every form the vector gives, through libsmswake, each on a fresh state; then once more is stale. */
static void check_intake(struct doc *d, const struct vector *v, const struct params *p)
{
	static const char *const forms[] = {"user_data", "text", "sms_deliver", "sms_deliver_text"};
	uint8_t buf[200];

	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		struct smswake_wakeup w;
		smswake_t *h;
		smswake_err err;
		size_t n = 0;
		int text = i == 1 || i == 3;

		if (get(v, forms[i]) == NULL)
			continue;
		h = device(d, p->device_id, p->key, p->key_id, p->port);
		if (i == 1) {
			err = smswake_handle_text(h, need(v, "text"), strlen(need(v, "text")), &w);
		} else {
			n = octets(v, forms[i], buf, sizeof(buf));
			if (i == 0)
				err = smswake_handle_sms(h, buf, (size_t)buf[0] + 1, buf + buf[0] + 1, n - buf[0] - 1,
							 &w);
			else
				err = smswake_handle_pdu(h, buf, n, &w);
		}
		expect_wakeup(v, p, h, err, &w, text, forms[i]);
		/* Accepted once: the same again is stale. */
		err = i == 1   ? smswake_handle_text(h, need(v, "text"), strlen(need(v, "text")), &w)
		      : i == 0 ? smswake_handle_sms(h, buf, (size_t)buf[0] + 1, buf + buf[0] + 1, n - buf[0] - 1, &w)
			       : smswake_handle_pdu(h, buf, n, &w);
		assert_int_equal(err, SMSWAKE_ESTALE);
		if (p->counter == UINT64_MAX)
			assert_string_equal(w.reason, "wake counter exhausted");
		smswake_free(h);
	}
}

static void test_vectors(void **state)
{
	struct doc *d = *state;
	int top_bits = 0;

	assert_true(d->nv >= 4);
	for (size_t i = 0; i < d->nv; i++) {
		const struct vector *v = &d->v[i];
		struct params p;
		struct wake_msg m, got;
		uint8_t buf[200], prk[CRYPTO_SHA256_LEN], h[CRYPTO_SHA256_LEN], tag[WAKE_DEVICE_TAG_LEN];
		uint8_t payload[WAKE_PAYLOAD_LEN], info[28], mac_in[39], t2[2 * WAKE_KEY_LEN];
		char text[WAKE_TEXT_LEN + 1];
		size_t n, checked = 0;

		params_of(v, &p);
		print_message("vector %s: device %llu, counter %llu\n", v->name, (unsigned long long)p.device_id,
			      (unsigned long long)p.counter);
		top_bits |= (p.device_id >> 63) && (p.counter >> 63);
		checked += check_octets(v, "k_dev", p.key, WAKE_KEY_LEN);

		/* HKDF in its two steps, from the document's salt and info. */
		checked += check_octets(v, "hkdf_salt", (const uint8_t *)"smswake wake salt v1", 20);
		memcpy(info, "smswake wake key v1", 19);
		info[19] = p.key_id;
		for (int k = 0; k < 8; k++)
			info[20 + k] = (uint8_t)(p.device_id >> (56 - 8 * k));
		checked += check_octets(v, "hkdf_info", info, sizeof(info));
		assert_int_equal(
			crypto_hmac_sha256((const uint8_t *)"smswake wake salt v1", 20, p.master, p.master_len, prk),
			0);
		checked += check_octets(v, "hkdf_prk", prk, sizeof(prk));
		memcpy(t2, info, sizeof(info));
		t2[sizeof(info)] = 0x01;
		assert_int_equal(crypto_hmac_sha256(prk, sizeof(prk), t2, sizeof(info) + 1, h), 0);
		assert_memory_equal(h, p.key, WAKE_KEY_LEN);

		assert_int_equal(wake_device_tag(p.key, tag), 0);
		checked += check_octets(v, "device_tag", tag, sizeof(tag));
		assert_int_equal(crypto_hmac_sha256(p.key, WAKE_KEY_LEN, "smswake device tag v1", 21, h), 0);
		assert_memory_equal(h, tag, sizeof(tag));
		checked += check_octets(v, "device_tag_hmac", h, sizeof(h));

		memset(&m, 0, sizeof(m));
		m.version = WAKE_VERSION;
		m.flags = p.flags;
		m.key_id = p.key_id;
		m.counter = p.counter;
		m.time = p.time;
		m.pending = p.pending;
		assert_int_equal(wake_encode(p.key, p.port, &m, payload, sizeof(payload), &n), WAKE_OK);
		checked += check_octets(v, "payload", payload, sizeof(payload));
		memset(&got, 0, sizeof(got));
		assert_int_equal(wake_decode(p.key, p.key_id, p.port, payload, sizeof(payload), &got), WAKE_OK);
		assert_true(got.counter == p.counter && got.time == p.time && got.flags == p.flags &&
			    got.pending == p.pending);

		/* M and its HMAC, whose first 16 octets are the payload's tag. */
		memcpy(mac_in, "smswake wakeup v1", 17);
		mac_in[17] = (uint8_t)(p.port >> 8);
		mac_in[18] = (uint8_t)p.port;
		memcpy(mac_in + 19, payload, 20);
		checked += check_octets(v, "mac_input", mac_in, sizeof(mac_in));
		assert_int_equal(crypto_hmac_sha256(p.key, WAKE_KEY_LEN, mac_in, sizeof(mac_in), h), 0);
		assert_memory_equal(h, payload + 20, WAKE_MAC_LEN);
		checked += check_octets(v, "mac_hmac", h, sizeof(h));

		wake_udh(p.port, buf);
		memcpy(buf + WAKE_UDH_LEN, payload, sizeof(payload));
		checked += check_octets(v, "user_data", buf, WAKE_UDH_LEN + sizeof(payload));

		assert_int_equal(wake_encode_text(p.key, p.port, &m, text, sizeof(text), &n), WAKE_OK);
		if (strcmp(need(v, "text"), text) != 0)
			fail_msg("vector %s text: the document has %s, the code gives %s", v->name, need(v, "text"),
				 text);
		checked++;
		{
			uint8_t sep[WAKE_TEXT_LEN];
			size_t ns = 0, no = 0;

			assert_int_equal(pdu_gsm7_from_utf8(text, sep, sizeof(sep), &ns), PDU_OK);
			assert_int_equal(ns, WAKE_TEXT_LEN);
			for (size_t k = 0; k < ns; k++)
				assert_int_equal(sep[k], text[k] == '_' ? 0x11 : (uint8_t)text[k]);
			assert_int_equal(pdu_gsm7_pack(sep, ns, 0, buf, sizeof(buf), &no), PDU_OK);
			checked += check_octets(v, "text_septets", buf, no);
		}
		/* The SMS-DELIVERs: decoded, they carry exactly the user data of this vector. */
		if (get(v, "sms_deliver") != NULL) {
			struct pdu_sms s;

			n = octets(v, "sms_deliver", buf, sizeof(buf));
			assert_int_equal(pdu_decode_deliver(buf, n, 1, &s), PDU_OK);
			assert_string_equal(s.smsc.text, need(v, "smsc"));
			assert_string_equal(s.addr.text, need(v, "originator"));
			assert_int_equal(s.dcs, 0x04);
			assert_int_equal(s.udh_len + 1 + s.ud_len, WAKE_UDH_LEN + WAKE_PAYLOAD_LEN);
			assert_memory_equal(s.ud, payload, WAKE_PAYLOAD_LEN);
			assert_true(s.has_ports && s.dst_port == p.port);
			n = octets(v, "sms_deliver_text", buf, sizeof(buf));
			assert_int_equal(pdu_decode_deliver(buf, n, 1, &s), PDU_OK);
			assert_int_equal(s.coding, PDU_CODING_7BIT);
			assert_int_equal(pdu_sms_text(&s, text, sizeof(text)), PDU_OK);
			assert_string_equal(text, need(v, "text"));
			checked += 2;
		}
		print_message("  %zu fields match\n", checked);
		check_intake(d, v, &p);
	}
	assert_true(top_bits);
}

static enum wake_err reason_code(const char *reason)
{
	static const struct {
		const char *name;
		enum wake_err e;
	} map[] = {
		{"EFORMAT", WAKE_EFORMAT}, {"EVERSION", WAKE_EVERSION}, {"ELENGTH", WAKE_ELENGTH},
		{"EFLAGS", WAKE_EFLAGS},   {"EKEYID", WAKE_EKEYID},     {"EDEVICE", WAKE_EDEVICE},
		{"ETAG", WAKE_ETAG},       {"EUDH", WAKE_EUDH},         {"EPORT", WAKE_EPORT},
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].name, reason) == 0)
			return map[i].e;
	fail_msg("unknown reason %s", reason);
	return WAKE_OK;
}

static void test_rejections(void **state)
{
	struct doc *d = *state;
	const struct vector *v1 = NULL;
	struct params p;
	unsigned steps = 0;

	for (size_t i = 0; i < d->nv; i++)
		if (strcmp(d->v[i].name, "1") == 0)
			v1 = &d->v[i];
	assert_non_null(v1);
	params_of(v1, &p);
	assert_true(d->nr >= 5);
	for (size_t i = 0; i < d->nr; i++) {
		const struct reject *r = &d->r[i];
		struct sw_state st = {.device_id = p.device_id, .counter = r->stored, .reported = r->stored};
		struct smswake_wakeup w;
		char file[512];
		smswake_t *h = device(d, p.device_id, p.key, p.key_id, p.port);
		smswake_err err;
		size_t n;
		FILE *fp;

		/* The stored counter, as a state file. */
		n = sw_state_format(&st, file, sizeof(file));
		assert_true(n > 0);
		fp = fopen(d->state, "w");
		assert_non_null(fp);
		assert_int_equal(fwrite(file, 1, n, fp), n);
		fclose(fp);
		if (r->text) {
			err = smswake_handle_text(h, r->input, strlen(r->input), &w);
		} else {
			uint8_t ud[200];
			long len = enc_unhex(r->input, strlen(r->input), ud, sizeof(ud));

			assert_true(len > 0 && (size_t)ud[0] + 1 <= (size_t)len);
			err = smswake_handle_sms(h, ud, (size_t)ud[0] + 1, ud + ud[0] + 1, (size_t)len - ud[0] - 1, &w);
		}
		print_message("%-4s step %d %-8s %s: %s\n", r->name, r->step, r->reason, smswake_strerror(err),
			      w.reason != NULL ? w.reason : "-");
		if (strcmp(r->reason, "ESTALE") == 0) {
			assert_int_equal(err, SMSWAKE_ESTALE);
		} else {
			assert_int_equal(err, SMSWAKE_EREJECTED);
			assert_string_equal(w.reason, wake_strerror(reason_code(r->reason)));
		}
		assert_true(r->step >= 1 && r->step <= 5);
		steps |= 1u << r->step;
		smswake_free(h);
	}
	/* One vector or more for each step of section 6 that can reject. */
	assert_int_equal(steps, 0x3e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_vectors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rejections, setup, teardown),
	};
	return cmocka_run_group_tests_name("client-vectors", tests, NULL, NULL);
}
