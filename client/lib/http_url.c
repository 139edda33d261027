/* SPDX-License-Identifier: MIT */
/* The server's base URL as libsmswake accepts it: http:// or https://, a host name or an IP address
 * (IPv6 in brackets), an optional port, an optional path prefix; nothing else. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static char *dup_n(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d != NULL) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

int sw_http_parse_url(const char *url, int *tls, char **host, char *port, size_t portmax, char **prefix,
		      int *host_is_ip)
{
	const char *p, *hs, *he, *ps;
	size_t hl;
	unsigned long pn;
	struct in6_addr a6;
	struct in_addr a4;

	*host = *prefix = NULL;
	if (strncmp(url, "http://", 7) == 0) {
		*tls = 0;
		p = url + 7;
	} else if (strncmp(url, "https://", 8) == 0) {
		*tls = 1;
		p = url + 8;
	} else {
		return -1;
	}
	if (*p == '[') {
		hs = p + 1;
		he = strchr(hs, ']');
		if (he == NULL)
			return -1;
		p = he + 1;
	} else {
		hs = p;
		p += strcspn(p, ":/?#@");
		he = p;
	}
	hl = (size_t)(he - hs);
	if (hl == 0 || hl > 253)
		return -1;
	for (size_t i = 0; i < hl; i++) {
		char c = hs[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		      c == '.' || c == ':'))
			return -1;
	}
	if (*p == ':') {
		ps = ++p;
		pn = 0;
		while (*p >= '0' && *p <= '9' && pn <= 65535)
			pn = pn * 10 + (unsigned long)(*p++ - '0');
		if (p == ps || pn == 0 || pn > 65535)
			return -1;
		snprintf(port, portmax, "%lu", pn);
	} else {
		snprintf(port, portmax, "%s", *tls ? "443" : "80");
	}
	if (*p != '\0' && *p != '/')
		return -1; /* user information, query or fragment: not a server base URL */
	for (const char *q = p; *q; q++)
		if (*q <= ' ' || *q > '~' || *q == '?' || *q == '#')
			return -1;
	*host = dup_n(hs, hl);
	*prefix = strdup(p);
	if (*host == NULL || *prefix == NULL) {
		free(*host);
		free(*prefix);
		*host = *prefix = NULL;
		return -1;
	}
	if (strchr(*host, ':') != NULL && inet_pton(AF_INET6, *host, &a6) != 1) {
		free(*host);
		free(*prefix);
		*host = *prefix = NULL;
		return -1;
	}
	*host_is_ip = inet_pton(AF_INET6, *host, &a6) == 1 || inet_pton(AF_INET, *host, &a4) == 1;
	return 0;
}
