/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Connection accounting: a list of open connections and a table of counts by address, under one
 * mutex. Addresses are counted as IPv4 addresses and IPv6 /64 prefixes (one subscriber's network
 * has a whole /64). The reaper wakes at least every half second and shuts down the socket of
 * each connection whose request is late; libmicrohttpd then sees the connection fail and closes
 * it, which it reports (conntrack_close) before the descriptor is released, so the reaper never
 * touches a descriptor that was reused.
 *
 * libmicrohttpd accepts on several threads. The accept policy (conntrack_admit) counts the
 * connection at once, so that two threads cannot both take the last place; the same thread then
 * reports the connection started (conntrack_open), which takes that place over. If
 * libmicrohttpd drops the connection in between, the thread's next admit gives the place back. */
#include "conntrack.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define BUCKETS 4096
#define REAP_MS 500

struct addr_count {
	struct addr_count *next;
	uint8_t key[16];
	int active;  /* connections not waiting in a long-poll */
	int waiting; /* connections waiting in a long-poll */
};

struct conn {
	struct conn *prev, *next;
	struct addr_count *addr;
	int fd;
	int waiting;
	int cut; /* shut down by the reaper */
	/* Monotonic; 0: none. Set by the connection's own thread without the mutex (atomic): the
	 * reaper reads it under the mutex, and a value it read just before a new request began
	 * cuts the connection exactly at the deadline it had reached. */
	int64_t deadline_ms;
};

/* The place admitted on this thread and not yet taken over by conntrack_open. */
static __thread struct {
	struct conntrack *ct;
	struct addr_count *addr;
} admitted;

struct conntrack {
	struct conntrack_limits lim;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	pthread_t reaper;
	int stop;
	struct conn *head;
	int open;
	struct addr_count *table[BUCKETS];
	uint64_t refused_total, refused_address, deadline_cut, longpoll_refused;
};

static void addr_key(const struct sockaddr *sa, socklen_t len, uint8_t key[16])
{
	memset(key, 0, 16);
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const uint8_t *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		if (memcmp(a, mapped, 12) == 0)
			memcpy(key, a, 16);
		else
			memcpy(key, a, 8);
	}
}

static unsigned bucket(const uint8_t key[16])
{
	uint32_t h = 2166136261u;
	for (int i = 0; i < 16; i++)
		h = (h ^ key[i]) * 16777619u;
	return h % BUCKETS;
}

static struct addr_count *addr_find(struct conntrack *ct, const uint8_t key[16], int create)
{
	unsigned b = bucket(key);
	struct addr_count *a;

	for (a = ct->table[b]; a; a = a->next)
		if (memcmp(a->key, key, 16) == 0)
			return a;
	if (!create || (a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	memcpy(a->key, key, 16);
	a->next = ct->table[b];
	ct->table[b] = a;
	return a;
}

static void addr_release(struct conntrack *ct, struct addr_count *a)
{
	struct addr_count **pp;

	if (a->active > 0 || a->waiting > 0)
		return;
	for (pp = &ct->table[bucket(a->key)]; *pp; pp = &(*pp)->next)
		if (*pp == a) {
			*pp = a->next;
			free(a);
			return;
		}
}

static void *reaper_main(void *arg)
{
	struct conntrack *ct = arg;

	pthread_mutex_lock(&ct->mu);
	while (!ct->stop) {
		int64_t now = util_mono_ms(), next = now + REAP_MS;
		for (struct conn *c = ct->head; c; c = c->next) {
			int64_t deadline = __atomic_load_n(&c->deadline_ms, __ATOMIC_RELAXED);

			if (deadline == 0 || c->cut)
				continue;
			if (deadline <= now) {
				/* Both directions: libmicrohttpd's next read fails and it closes. */
				shutdown(c->fd, SHUT_RDWR);
				c->cut = 1;
				ct->deadline_cut++;
			} else if (deadline < next) {
				next = deadline;
			}
		}
		struct timespec ts = {.tv_sec = next / 1000, .tv_nsec = (next % 1000) * 1000000};
		pthread_cond_timedwait(&ct->cond, &ct->mu, &ts);
	}
	pthread_mutex_unlock(&ct->mu);
	return NULL;
}

struct conntrack *conntrack_new(const struct conntrack_limits *lim)
{
	struct conntrack *ct = calloc(1, sizeof(*ct));
	pthread_condattr_t ca;

	if (ct == NULL)
		return NULL;
	ct->lim = *lim;
	pthread_mutex_init(&ct->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ct->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&ct->reaper, NULL, reaper_main, ct) != 0) {
		pthread_cond_destroy(&ct->cond);
		pthread_mutex_destroy(&ct->mu);
		free(ct);
		return NULL;
	}
	pthread_setname_np(ct->reaper, "conn-reaper");
	return ct;
}

void conntrack_free(struct conntrack *ct)
{
	if (ct == NULL)
		return;
	pthread_mutex_lock(&ct->mu);
	ct->stop = 1;
	pthread_cond_signal(&ct->cond);
	pthread_mutex_unlock(&ct->mu);
	pthread_join(ct->reaper, NULL);
	for (int b = 0; b < BUCKETS; b++)
		while (ct->table[b]) {
			struct addr_count *a = ct->table[b];
			ct->table[b] = a->next;
			free(a);
		}
	while (ct->head) {
		struct conn *c = ct->head;
		ct->head = c->next;
		free(c);
	}
	pthread_cond_destroy(&ct->cond);
	pthread_mutex_destroy(&ct->mu);
	free(ct);
}

/* Gives back a place admitted on this thread that no connection took over. */
static void unadmit_locked(struct conntrack *ct)
{
	if (admitted.ct != ct || admitted.addr == NULL)
		return;
	admitted.addr->active--;
	addr_release(ct, admitted.addr);
	ct->open--;
	admitted.addr = NULL;
}

int conntrack_admit(struct conntrack *ct, const struct sockaddr *sa, socklen_t len)
{
	uint8_t key[16];
	struct addr_count *a;
	int ok = 0;

	addr_key(sa, len, key);
	pthread_mutex_lock(&ct->mu);
	unadmit_locked(ct);
	if (ct->open >= ct->lim.total) {
		ct->refused_total++;
	} else if ((a = addr_find(ct, key, 1)) == NULL) {
		ct->refused_total++; /* out of memory */
	} else if (ct->lim.per_address > 0 && a->active >= ct->lim.per_address) {
		ct->refused_address++;
	} else {
		a->active++;
		ct->open++;
		admitted.ct = ct;
		admitted.addr = a;
		ok = 1;
	}
	if (!ok && (a = addr_find(ct, key, 0)) != NULL)
		addr_release(ct, a);
	pthread_mutex_unlock(&ct->mu);
	return ok;
}

struct conn *conntrack_open(struct conntrack *ct, const struct sockaddr *sa, int fd)
{
	struct conn *c = calloc(1, sizeof(*c));
	uint8_t key[16];

	if (c == NULL)
		return NULL;
	addr_key(sa, sa && sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in), key);
	c->fd = fd;
	pthread_mutex_lock(&ct->mu);
	if (admitted.ct == ct && admitted.addr != NULL && memcmp(admitted.addr->key, key, 16) == 0) {
		c->addr = admitted.addr; /* the place conntrack_admit took */
		admitted.addr = NULL;
	} else {
		/* Not through the accept policy (a connection handed over directly). */
		c->addr = addr_find(ct, key, 1);
		if (c->addr == NULL) {
			pthread_mutex_unlock(&ct->mu);
			free(c);
			return NULL;
		}
		c->addr->active++;
		ct->open++;
	}
	c->deadline_ms = ct->lim.request_ms > 0 ? util_mono_ms() + ct->lim.request_ms : 0;
	c->next = ct->head;
	if (ct->head)
		ct->head->prev = c;
	ct->head = c;
	pthread_mutex_unlock(&ct->mu);
	return c;
}

void conntrack_close(struct conntrack *ct, struct conn *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&ct->mu);
	if (c->waiting)
		c->addr->waiting--;
	else
		c->addr->active--;
	addr_release(ct, c->addr);
	if (c->prev)
		c->prev->next = c->next;
	else
		ct->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	ct->open--;
	pthread_mutex_unlock(&ct->mu);
	free(c);
}

void conntrack_request_done(struct conntrack *ct, struct conn *c)
{
	(void)ct;
	if (c == NULL)
		return;
	__atomic_store_n(&c->deadline_ms, 0, __ATOMIC_RELAXED);
}

void conntrack_response_done(struct conntrack *ct, struct conn *c)
{
	if (c == NULL || ct->lim.request_ms <= 0)
		return;
	__atomic_store_n(&c->deadline_ms, util_mono_ms() + ct->lim.request_ms, __ATOMIC_RELAXED);
}

int conntrack_wait_begin(struct conntrack *ct, struct conn *c)
{
	int rc = 0;

	if (c == NULL)
		return 0;
	pthread_mutex_lock(&ct->mu);
	if (!c->waiting) {
		if (ct->lim.longpolls_per_address > 0 && c->addr->waiting >= ct->lim.longpolls_per_address) {
			ct->longpoll_refused++;
			rc = -1;
		} else {
			c->waiting = 1;
			c->addr->active--;
			c->addr->waiting++;
		}
	}
	pthread_mutex_unlock(&ct->mu);
	return rc;
}

void conntrack_wait_end(struct conntrack *ct, struct conn *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&ct->mu);
	if (c->waiting) {
		c->waiting = 0;
		c->addr->waiting--;
		c->addr->active++;
	}
	pthread_mutex_unlock(&ct->mu);
}

void conntrack_get_stats(struct conntrack *ct, struct conntrack_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (ct == NULL)
		return;
	pthread_mutex_lock(&ct->mu);
	out->open = ct->open;
	out->refused_total = ct->refused_total;
	out->refused_address = ct->refused_address;
	out->deadline_cut = ct->deadline_cut;
	out->longpoll_refused = ct->longpoll_refused;
	pthread_mutex_unlock(&ct->mu);
}
