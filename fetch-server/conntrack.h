/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Connection accounting for the HTTP listeners: who may connect (a total and a per-address
 * limit, waiting long-polls counted apart), and an absolute deadline for each request to arrive
 * complete, enforced by a reaper thread (docs/security.md, "Connection floods"). */
#ifndef SMSWAKE_CONNTRACK_H
#define SMSWAKE_CONNTRACK_H

#include <stdint.h>
#include <sys/socket.h>

struct conntrack;
struct conn;

struct conntrack_limits {
	int total;                 /* connections open at once, all listeners */
	int per_address;           /* connections from one address that are not waiting long-polls; 0: none */
	int longpolls_per_address; /* long-polls one address may have waiting; 0: none */
	int64_t request_ms;        /* a request must arrive complete this long after the connection
				   * opened or the previous response ended; 0: no deadline */
};

struct conntrack_stats {
	int open;                  /* connections open now */
	uint64_t refused_total;    /* refused because the server was full */
	uint64_t refused_address;  /* refused because their address had too many */
	uint64_t deadline_cut;     /* closed because a request was not complete in time */
	uint64_t longpoll_refused; /* long-polls answered at once: their address had too many waiting */
};

struct conntrack *conntrack_new(const struct conntrack_limits *lim);
/* Stops the reaper. Every connection must have been closed (conntrack_close) before. */
void conntrack_free(struct conntrack *ct);
/* The accept policy: 1 to take a connection from this address, 0 to refuse it at once. */
int conntrack_admit(struct conntrack *ct, const struct sockaddr *sa, socklen_t len);
/* A connection was accepted (fd is its socket) and closed; conntrack_open returns NULL when out
 * of memory, and the connection is then not tracked. */
struct conn *conntrack_open(struct conntrack *ct, const struct sockaddr *sa, int fd);
void conntrack_close(struct conntrack *ct, struct conn *c);
/* The request on c has arrived complete: no deadline while it is handled. */
void conntrack_request_done(struct conntrack *ct, struct conn *c);
/* A response on c ended: the next request's deadline starts now. */
void conntrack_response_done(struct conntrack *ct, struct conn *c);
/* A long-poll on c starts or stops waiting. Waiting connections leave their address's count;
 * begin returns -1 (and changes nothing) when the address already has its most long-polls. */
int conntrack_wait_begin(struct conntrack *ct, struct conn *c);
void conntrack_wait_end(struct conntrack *ct, struct conn *c);
void conntrack_get_stats(struct conntrack *ct, struct conntrack_stats *out);

#endif
