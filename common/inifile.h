/* SPDX-License-Identifier: GPL-2.0-or-later */
/* smswake's INI files, read through inih with one comment rule for every program, whatever
 * inih's compile-time options: '#' or ';' at the start of a line, or after a blank, starts a
 * comment that runs to the end of the line (smswake.conf(5), "SYNTAX"). */
#ifndef SMSWAKE_INIFILE_H
#define SMSWAKE_INIFILE_H

#include <ini.h>

/* Like ini_parse(): 0, the number of the first line with an error, or -1 if the file cannot be
 * opened (errno says why). */
int inifile_parse(const char *path, ini_handler handler, void *user);

#endif
