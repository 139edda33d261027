/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The HTTP API in one table: each route's method, path pattern, API, handler, body cap and
 * metrics label. The HTTP layer matches a request against it; handlers know nothing of it. */
#ifndef SMSWAKE_ROUTES_H
#define SMSWAKE_ROUTES_H

#include <microhttpd.h>
#include <stddef.h>
#include <stdint.h>

struct request;

/* Methods, one bit each; HEAD is taken as GET. */
#define ROUTE_GET 1u
#define ROUTE_POST 2u
#define ROUTE_PATCH 4u
#define ROUTE_DELETE 8u
#define ROUTE_PUT 16u

/* Most routes the table may hold (metrics keep a slot per route, plus one for "unknown"). */
#define ROUTES_MAX 48

typedef enum MHD_Result (*route_handler)(struct request *r);

struct route {
	unsigned method;       /* one ROUTE_* bit */
	const char *pattern;   /* literal segments, "{id}" (a decimal id without a leading zero) and a last
				* "{token}" (one non-empty segment, read by the handler from the path) */
	unsigned api;          /* API_PROVIDER, API_DEVICE, API_GATEWAY, API_PUSH; 0: operations, every listener */
	route_handler handler; /* called once the body is in (again after a long-poll resumes) */
	size_t body_max;       /* largest body taken, octets (0: none) */
	const char *label;     /* the route="..." label of the request metrics */
	unsigned flags;        /* ROUTE_SELF_AUTH */
};

/* The handler authenticates the bearer token itself (http.c does not): a device fetch reads the
 * token's device and its queue in one store read. */
#define ROUTE_SELF_AUTH 1u

/* The table, in the order the documentation lists it. */
extern const struct route routes[];
extern const size_t routes_count;

/* The ROUTE_* bit of an HTTP method, or 0 for one no route takes. */
unsigned route_method_bit(const char *method);
/* Matches path (exactly as sent) and method against the routes of the APIs in apis (operations
 * routes always count). Returns the route, or NULL; *allowed gets the methods the path takes
 * (0: no such path, answer 404; otherwise 405 with those in Allow). {id} goes into *id. */
const struct route *route_match(const char *path, unsigned method, unsigned apis, int64_t *id, unsigned *allowed);
/* "GET, HEAD, POST" for an Allow header. */
void route_allow_header(unsigned allowed, char *out, size_t len);
/* The metrics slot of a route: 1 + its index; 0 for no route. */
int route_slot(const struct route *rt);
/* The metrics label of a slot ("unknown" for 0 or out of range). */
const char *route_slot_label(int slot);

#endif
