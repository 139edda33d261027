/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The release string, compiled in from the VERSION file (the Makefile defines SMSWAKE_VERSION). */
#include "version.h"

#include <stdio.h>

#ifndef SMSWAKE_VERSION
#error "SMSWAKE_VERSION is defined by the Makefile from the VERSION file"
#endif

const char *version_string(void)
{
	return SMSWAKE_VERSION;
}

int version_print(const char *prog)
{
	printf("%s %s\n", prog, SMSWAKE_VERSION);
	return fflush(stdout) != 0 || ferror(stdout) ? 1 : 0;
}
