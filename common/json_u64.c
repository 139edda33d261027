/* SPDX-License-Identifier: GPL-2.0-or-later */
/* jansson holds integers as long long: above 2^63 - 1 its parser fails the whole document and it
 * cannot write such a number. Reading, large integer literals are lifted into strings before
 * parsing; writing, a value above 2^63 - 1 is a string with a private prefix (U+0001, a control
 * character no stored text may contain) that json_u64_dumps replaces by the bare digits. */
#include "json_u64.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MARK "\001u64:"
#define MARK_DUMPED "\"\\u0001u64:"

/* Whether the n digits at s spell a value from 2^63 to 2^64 - 1 without a leading zero. */
static int big_unsigned(const char *s, size_t n)
{
	uint64_t v = 0;

	if (n < 19 || n > 20 || s[0] == '0')
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return 0; /* above 2^64 - 1: left for the parser to refuse */
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	return v > (uint64_t)INT64_MAX;
}

char *json_u64_lift(const char *text, size_t len, size_t *outlen)
{
	/* At most one pair of quotes per 19 input octets. */
	char *out = malloc(len + len / 19 * 2 + 3);
	size_t o = 0, i = 0;
	int in_string = 0;

	if (out == NULL)
		return NULL;
	while (i < len) {
		char c = text[i];
		if (in_string) {
			out[o++] = c;
			i++;
			if (c == '\\' && i < len)
				out[o++] = text[i++];
			else if (c == '"')
				in_string = 0;
			continue;
		}
		if (c == '"') {
			in_string = 1;
			out[o++] = text[i++];
			continue;
		}
		if ((c >= '0' && c <= '9') || c == '-') {
			size_t n = 0;
			while (i + n < len && strchr("0123456789+-.eE", text[i + n]) != NULL && text[i + n] != '\0')
				n++;
			if (big_unsigned(text + i, n)) {
				out[o++] = '"';
				memcpy(out + o, text + i, n);
				o += n;
				out[o++] = '"';
			} else {
				memcpy(out + o, text + i, n);
				o += n;
			}
			i += n;
			continue;
		}
		out[o++] = text[i++];
	}
	out[o] = '\0';
	if (outlen)
		*outlen = o;
	return out;
}

int json_u64_value(const json_t *v, uint64_t *out)
{
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			return -1;
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		size_t n = json_string_length(v);
		if (!big_unsigned(s, n))
			return -1;
		*out = strtoull(s, NULL, 10);
		return 0;
	}
	return -1;
}

json_t *json_u64_new(uint64_t v)
{
	char buf[32];

	if (v <= (uint64_t)INT64_MAX)
		return json_integer((json_int_t)v);
	snprintf(buf, sizeof(buf), MARK "%llu", (unsigned long long)v);
	return json_string(buf);
}

char *json_u64_dumps(const json_t *j, size_t flags)
{
	char *s = json_dumps(j, flags), *p, *w;

	if (s == NULL || strstr(s, MARK_DUMPED) == NULL)
		return s;
	/* Rewrite in place: the output only shrinks. */
	for (p = w = s; *p;) {
		if (strncmp(p, MARK_DUMPED, sizeof(MARK_DUMPED) - 1) == 0) {
			const char *d = p + sizeof(MARK_DUMPED) - 1;
			size_t n = strspn(d, "0123456789");
			if (n > 0 && d[n] == '"') {
				memmove(w, d, n);
				w += n;
				p = (char *)d + n + 1;
				continue;
			}
		}
		*w++ = *p++;
	}
	*w = '\0';
	return s;
}
