/* SPDX-License-Identifier: MIT */
/* Hex and base64 codecs. Strict decoders: every character and length is checked, because they
 * parse outside input (SMS text form, HTTP bodies, configuration). */
#include "encode.h"

#include <string.h>

static const char hexdig[] = "0123456789abcdef";
static const char hexdig_upper[] = "0123456789ABCDEF";
static const char b64std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void enc_hex_case(const uint8_t *in, size_t len, char *out, int upper)
{
	const char *dig = upper ? hexdig_upper : hexdig;

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = dig[in[i] >> 4];
		out[2 * i + 1] = dig[in[i] & 15];
	}
	out[2 * len] = '\0';
}

void enc_hex(const uint8_t *in, size_t len, char *out)
{
	enc_hex_case(in, len, out, 0);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long enc_unhex(const char *in, size_t inlen, uint8_t *out, size_t outmax)
{
	if (inlen % 2 != 0 || inlen / 2 > outmax)
		return -1;
	for (size_t i = 0; i < inlen / 2; i++) {
		int hi = hexval(in[2 * i]), lo = hexval(in[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (long)(inlen / 2);
}

size_t enc_b64(const uint8_t *in, size_t len, char *out, int url)
{
	const char *tab = url ? b64url : b64std;
	size_t o = 0, i = 0;

	for (; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = tab[(v >> 6) & 63];
		out[o++] = tab[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		if (!url) {
			out[o++] = '=';
			out[o++] = '=';
		}
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = tab[(v >> 6) & 63];
		if (!url)
			out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

static int b64val(char c, int url)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == (url ? '-' : '+'))
		return 62;
	if (c == (url ? '_' : '/'))
		return 63;
	return -1;
}

long enc_unb64(const char *in, size_t inlen, uint8_t *out, size_t outmax, int url)
{
	size_t o = 0, n = inlen;
	uint32_t acc = 0;
	int bits = 0;

	if (!url && n % 4 == 0 && n > 0) {
		if (in[n - 1] == '=')
			n--;
		if (in[n - 1] == '=')
			n--;
	}
	if (n % 4 == 1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int v = b64val(in[i], url);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= outmax)
				return -1;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	/* Leftover bits must be zero, so each octet string has exactly one encoding. */
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
		return -1;
	return (long)o;
}
