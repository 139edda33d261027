/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Small helpers shared by every part: clocks, bounded number parsing, file helpers. */
#ifndef SMSWAKE_UTIL_H
#define SMSWAKE_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Milliseconds since the Unix epoch (wall clock) and since an arbitrary point (monotonic). */
int64_t util_now_ms(void);
int64_t util_mono_ms(void);

/* Parses a whole decimal string into [min, max]; returns 0, or -1 on any junk or overflow. */
int util_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);
/* 1 when s is 1 to max characters of the base64url alphabet (A-Z a-z 0-9 - _): an RFC 8030 Topic,
 * a push endpoint's token. */
int util_is_b64url(const char *s, size_t max);
/* Parses a duration such as "30", "30s", "5m", "2h", "1d" into seconds. */
int util_parse_duration(const char *s, int64_t *seconds);
/* Parses "yes/no/true/false/on/off/1/0". */
int util_parse_bool(const char *s, int *out);

/* Writes len bytes to path atomically (temporary file, fsync, rename, fsync of the directory)
 * with the given mode. Returns 0 or -1 with errno set. */
int util_write_file_atomic(const char *path, const void *data, size_t len, unsigned mode);
/* Reads at most max bytes of a file into a malloc'ed, NUL-terminated buffer owned by the caller.
 * Returns 0, or -1 with errno set (EFBIG when the file is larger than max). */
int util_read_file(const char *path, size_t max, char **data, size_t *len);
/* Creates a directory and its parents (mode for the new ones); 0 if it already exists. */
int util_mkdir_p(const char *path, unsigned mode);

#endif
