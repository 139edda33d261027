/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Inline comments for smswake's INI files. Debian's inih ends a value at a ';' after a blank but
 * not at a '#', so "per_minute = 10   # per modem" was the value "10   # per modem"; the
 * annotated examples use '#' throughout. This reader cuts every line at the first '#' or ';'
 * that follows a blank before inih sees it, so both prefixes work alike everywhere. A value can
 * therefore not contain a blank followed by '#' or ';' (it never could for ';'). */
#include "inifile.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct reader {
	FILE *f;
	int in_comment; /* the rest of a line longer than inih's buffer is still comment */
};

static char *read_line(char *str, int num, void *stream)
{
	struct reader *r = stream;
	size_t n;
	int whole;

	if (fgets(str, num, r->f) == NULL)
		return NULL;
	n = strlen(str);
	whole = n > 0 && str[n - 1] == '\n';
	if (r->in_comment) {
		str[0] = '\0';
		r->in_comment = !whole;
		return str;
	}
	for (char *p = str + 1; *p != '\0'; p++) {
		if ((*p == '#' || *p == ';') && (p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			r->in_comment = !whole;
			break;
		}
	}
	return str;
}

int inifile_parse(const char *path, ini_handler handler, void *user)
{
	struct reader r = {0};
	int rc, saved;

	r.f = fopen(path, "re");
	if (r.f == NULL)
		return -1;
	rc = ini_parse_stream(read_line, &r, handler, user);
	saved = errno;
	fclose(r.f);
	errno = saved;
	return rc;
}
