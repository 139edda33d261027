/* SPDX-License-Identifier: MIT */
/* libsmswake's HTTP connection (http_internal.h): the clock every deadline is measured on, the TCP
 * connection to the server, and reading and writing on it, in plain text or through TLS. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "http_internal.h"

int64_t sw_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int sw_deadline_passed(int64_t deadline)
{
	return sw_now_ms() >= deadline;
}

static int left_ms(int64_t deadline)
{
	int64_t d = deadline - sw_now_ms();

	return d <= 0 ? 0 : d > 3600000 ? 3600000 : (int)d;
}

enum io sw_wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = {.fd = fd, .events = events};

	for (;;) {
		int ms = left_ms(deadline);
		int n;

		if (ms == 0)
			return IO_TIMEOUT;
		n = poll(&p, 1, ms);
		if (n > 0)
			return IO_OK;
		if (n == 0)
			return IO_TIMEOUT;
		if (errno != EINTR)
			return IO_NET;
	}
}

enum io sw_http_fail(struct sw_http *http, enum io rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(http->err, sizeof(http->err), fmt, ap);
	va_end(ap);
	return rc;
}

/* --- the connection --- */

void sw_conn_close(struct sw_http *http)
{
	if (http->ssl != NULL) {
		/* No close_notify: the server learns from the FIN; waiting for its answer is a
		 * round trip a device has no use for. */
		SSL_free(http->ssl);
		http->ssl = NULL;
	}
	if (http->fd >= 0)
		close(http->fd);
	http->fd = -1;
	http->requests = 0;
	http->rpos = http->rlen = 0;
}

/* Connects to one address before deadline: the descriptor, or -1 with *err set (ETIMEDOUT when
 * the deadline passed). */
static int connect_one(const struct addrinfo *ai, int64_t deadline, int *err)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol), e = 0;
	socklen_t sl = sizeof(e);

	if (fd < 0) {
		*err = errno;
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		e = errno;
	} else {
		switch (sw_wait_fd(fd, POLLOUT, deadline)) {
		case IO_OK:
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) != 0)
				e = errno;
			break;
		case IO_TIMEOUT: e = ETIMEDOUT; break;
		default: e = errno; break;
		}
	}
	if (e == 0)
		return fd;
	close(fd);
	*err = e;
	return -1;
}

/* Tries the resolver's addresses in its order, each with an equal share of what is left of
 * connect_timeout, so one that drops packets (an IPv6 route that goes nowhere) leaves time for
 * the next. */
static enum io tcp_connect(smswake_t *h, struct sw_http *http, int64_t deadline)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res, *ai;
	int64_t cdeadline = sw_now_ms() + (int64_t)h->connect_timeout * 1000;
	int rc, one = 1, err = ECONNREFUSED, fd = -1;
	unsigned left = 0;

	if (cdeadline > deadline)
		cdeadline = deadline;
	rc = getaddrinfo(http->host, http->port, &hints, &res);
	if (rc != 0)
		return sw_http_fail(http, IO_NET, "cannot resolve %s: %s", http->host,
				    rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
	for (ai = res; ai != NULL; ai = ai->ai_next)
		left++;
	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next, left--) {
		int64_t now = sw_now_ms();

		if (now >= cdeadline) {
			err = ETIMEDOUT;
			break;
		}
		fd = connect_one(ai, now + (cdeadline - now) / left, &err);
	}
	freeaddrinfo(res);
	if (fd < 0 && err == ETIMEDOUT)
		return sw_http_fail(http, IO_TIMEOUT, "connecting to %s timed out", http->hostport);
	if (fd < 0)
		return sw_http_fail(http, IO_NET, "cannot connect to %s: %s", http->hostport, strerror(err));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	http->fd = fd;
	return IO_OK;
}

enum io sw_conn_open(smswake_t *h, struct sw_http *http, int64_t deadline)
{
	enum io rc = tcp_connect(h, http, deadline);

	if (rc == IO_OK && http->tls)
		rc = sw_tls_handshake(h, http, deadline);
	if (rc != IO_OK)
		sw_conn_close(http);
	return rc;
}

enum io sw_conn_write(struct sw_http *http, const char *buf, size_t len, int64_t deadline)
{
	while (len > 0) {
		size_t done = 0;
		short ev = POLLOUT;

		if (sw_deadline_passed(deadline))
			return sw_http_fail(http, IO_TIMEOUT, "sending to %s timed out", http->hostport);
		if (http->ssl != NULL) {
			int r = SSL_write_ex(http->ssl, buf, len, &done), e;

			if (r != 1) {
				e = SSL_get_error(http->ssl, r);
				ERR_clear_error();
				if (e == SSL_ERROR_WANT_READ)
					ev = POLLIN;
				else if (e != SSL_ERROR_WANT_WRITE)
					return sw_http_fail(http, IO_NET, "sending to %s failed", http->hostport);
				done = 0;
			}
		} else {
			ssize_t n = send(http->fd, buf, len, MSG_NOSIGNAL);

			if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				return sw_http_fail(http, IO_NET, "sending to %s: %s", http->hostport, strerror(errno));
			done = n > 0 ? (size_t)n : 0;
		}
		buf += done;
		len -= done;
		if (len > 0 && done == 0) {
			enum io w = sw_wait_fd(http->fd, ev, deadline);
			if (w != IO_OK)
				return sw_http_fail(http, w, "sending to %s %s", http->hostport,
						    w == IO_TIMEOUT ? "timed out" : "failed");
		}
	}
	return IO_OK;
}

enum io sw_conn_fill(struct sw_http *http, int64_t deadline, int *eof)
{
	*eof = 0;
	if (http->rpos > 0) {
		memmove(http->rbuf, http->rbuf + http->rpos, http->rlen - http->rpos);
		http->rlen -= http->rpos;
		http->rpos = 0;
	}
	if (http->rlen == RBUF_SIZE)
		return sw_http_fail(http, IO_PROTO, "response head too large");
	for (;;) {
		size_t got = 0;
		short ev = POLLIN;
		enum io w;

		/* Before every read, not only before waiting: octets that are always there (a
		 * server sending without end, or a process that was not scheduled for a while)
		 * must not let a request run past its deadline. */
		if (sw_deadline_passed(deadline))
			return sw_http_fail(http, IO_TIMEOUT, "waiting for %s timed out", http->hostport);
		if (http->ssl != NULL) {
			int r = SSL_read_ex(http->ssl, http->rbuf + http->rlen, RBUF_SIZE - http->rlen, &got), e;

			if (r == 1) {
				http->rlen += got;
				return IO_OK;
			}
			e = SSL_get_error(http->ssl, r);
			ERR_clear_error();
			if (e == SSL_ERROR_ZERO_RETURN) {
				*eof = 1;
				return sw_http_fail(http, IO_NET, "%s closed the connection", http->hostport);
			}
			if (e == SSL_ERROR_WANT_WRITE)
				ev = POLLOUT;
			else if (e != SSL_ERROR_WANT_READ)
				return sw_http_fail(http, IO_NET, "receiving from %s failed", http->hostport);
		} else {
			ssize_t n = read(http->fd, http->rbuf + http->rlen, RBUF_SIZE - http->rlen);

			if (n > 0) {
				http->rlen += (size_t)n;
				return IO_OK;
			}
			if (n == 0) {
				*eof = 1;
				return sw_http_fail(http, IO_NET, "%s closed the connection", http->hostport);
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				return sw_http_fail(http, IO_NET, "receiving from %s: %s", http->hostport,
						    strerror(errno));
		}
		w = sw_wait_fd(http->fd, ev, deadline);
		if (w != IO_OK)
			return sw_http_fail(http, w, "waiting for %s %s", http->hostport,
					    w == IO_TIMEOUT ? "timed out" : "failed");
	}
}

/* Whether a kept-alive connection can carry the next request: nothing unread may be waiting.
 * Octets nobody asked for mean the framing cannot be trusted; an end of connection means the
 * server closed it while idle (noticed now, before a write that would be lost). Over TLS,
 * handshake messages that come late (TLS 1.3 session tickets) are fine and are consumed here. */
int sw_conn_idle_ok(struct sw_http *http)
{
	struct pollfd p = {.fd = http->fd, .events = POLLIN};
	size_t n;
	char c;
	int r;

	if (http->rlen > http->rpos)
		return 0;
	if (poll(&p, 1, 0) == 0)
		return 1;
	if (http->ssl == NULL)
		return 0;
	r = SSL_peek_ex(http->ssl, &c, 1, &n);
	if (r == 1)
		return 0;
	r = SSL_get_error(http->ssl, r);
	ERR_clear_error();
	return r == SSL_ERROR_WANT_READ;
}
