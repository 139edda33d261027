/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unsigned 64-bit integers in JSON with jansson, whose integers are signed 64-bit: a wake
 * counter may be anything up to 2^64 - 1 (docs/protocol.md) and travels as a bare decimal. */
#ifndef SMSWAKE_JSON_U64_H
#define SMSWAKE_JSON_U64_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Copies JSON text, turning every integer literal from 2^63 to 2^64 - 1 into a string of the same
 * digits, so that jansson parses the document (it refuses integers it cannot hold). Nothing else
 * changes. Returns a malloc'd NUL-terminated copy (length in *outlen), or NULL out of memory. */
char *json_u64_lift(const char *text, size_t len, size_t *outlen);
/* An unsigned value from a parsed document: a JSON integer from 0, or a string of decimal digits
 * above 2^63 - 1 as json_u64_lift makes them. 0, or -1 when v is neither. */
int json_u64_value(const json_t *v, uint64_t *out);
/* A value that json_u64_dumps writes as a bare unsigned decimal (new reference). */
json_t *json_u64_new(uint64_t v);
/* json_dumps, with the values of json_u64_new written as numbers. Free the result with free(). */
char *json_u64_dumps(const json_t *j, size_t flags);

#endif
