/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The release every smswake program reports with --version; it comes from the VERSION file at the
 * top of the source tree, through the Makefile. */
#ifndef SMSWAKE_VERSION_H
#define SMSWAKE_VERSION_H

/* Long options every program takes; values outside any short option's range. */
enum { OPT_HELP = 0x100, OPT_VERSION };

/* The release, "1.2.3". */
const char *version_string(void);

/* Prints "PROG VERSION" on stdout for --version; 0, or 1 when stdout cannot be written. */
int version_print(const char *prog);

#endif
