/* SPDX-License-Identifier: MIT */
/* HTTP for libsmswake: a small HTTP/1.1 client over a socket, with TLS from OpenSSL's libssl.
 *
 * Why not libcurl: a device needs a handful of requests to one server, and a distribution's
 * libcurl brings its whole world into the process (Debian's loads 34 shared libraries, GnuTLS and
 * Kerberos among them, before doing anything): 10.5 MiB resident for a fetch, against 8 MiB for
 * the whole client as its budget (docs/client.md, "Why its own HTTP"). What this file does:
 *   - one connection per handle, kept alive across an exchange (pages, ack) and reopened
 *     transparently when the server closed it while idle;
 *   - responses framed by Content-Length, chunked transfer coding or the end of the connection,
 *     heads and bodies bounded, anything else refused as a protocol error;
 *   - https with certificate and host name (or IP address) verification, TLS 1.2 at least,
 *     optional public-key pins in libcurl's syntax, SIGPIPE never raised;
 *   - retries with exponential back-off and jitter on network errors, 429 and 5xx, honouring
 *     Retry-After. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "crypto.h"
#include "encode.h"
#include "internal.h"

#define HEAD_MAX (16 * 1024) /* status line and headers of one response */
#define LINE_MAX_CHUNK 256   /* a chunk-size line with its extensions */
#define RBUF_SIZE (16 * 1024)

/* Outcome of one I/O step or one attempt. */
enum io {
	IO_OK = 0,
	IO_NET = -1,     /* network failure: retryable */
	IO_TIMEOUT = -2, /* deadline passed: retryable */
	IO_FATAL = -3,   /* not worth retrying (TLS verification, pin, bad URL): message set */
	IO_PROTO = -4,   /* the server's answer broke HTTP: message set */
	IO_LARGE = -5,   /* the body exceeded the limit */
};

struct sw_http {
	/* the server, parsed from h->server once */
	int tls;
	char *host;     /* without brackets, for getaddrinfo, SNI and verification */
	char *hostport; /* the Host header's value */
	char port[8];
	char *prefix; /* path before /v1/..., "" if none */
	int host_is_ip;
	char *auth; /* "Authorization: Bearer ...\r\n" */

	/* the connection */
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	BIO_METHOD *bio_meth;
	unsigned requests; /* answered on this connection */

	/* received and not yet consumed */
	char *rbuf;
	size_t rpos, rlen;

	size_t max; /* body limit */
	char err[SW_ERRMSG_MAX];
};

/* --- time --- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int left_ms(int64_t deadline)
{
	int64_t d = deadline - now_ms();

	return d <= 0 ? 0 : d > 3600000 ? 3600000 : (int)d;
}

/* Waits for events on fd; IO_OK, IO_TIMEOUT or IO_NET. */
static enum io wait_fd(int fd, short events, int64_t deadline)
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

static enum io fail(struct sw_http *http, enum io rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static enum io fail(struct sw_http *http, enum io rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(http->err, sizeof(http->err), fmt, ap);
	va_end(ap);
	return rc;
}

/* --- the server URL --- */

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

/* --- TLS --- */

/* OpenSSL's socket BIO writes with write(2), which raises SIGPIPE when the server has gone; a
 * library must not change the application's signal handling, so TLS goes through this BIO,
 * which uses send(MSG_NOSIGNAL). */
static int bio_write(BIO *b, const char *buf, int len)
{
	int fd = *(int *)BIO_get_data(b);
	ssize_t n = send(fd, buf, (size_t)len, MSG_NOSIGNAL);

	BIO_clear_retry_flags(b);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		BIO_set_retry_write(b);
	return (int)n;
}

static int bio_read(BIO *b, char *buf, int len)
{
	int fd = *(int *)BIO_get_data(b);
	ssize_t n = recv(fd, buf, (size_t)len, 0);

	BIO_clear_retry_flags(b);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		BIO_set_retry_read(b);
	return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b, (void)num, (void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static enum io tls_ctx_fail(struct sw_http *http, const char *what, const char *where)
{
	/* Not kept half made: the next attempt tries again and reports the same reason. */
	SSL_CTX_free(http->ctx);
	http->ctx = NULL;
	return fail(http, IO_FATAL, "TLS: %s%s", what, where);
}

static enum io tls_setup_ctx(smswake_t *h, struct sw_http *http)
{
	if (http->ctx != NULL)
		return IO_OK;
	http->ctx = SSL_CTX_new(TLS_client_method());
	if (http->ctx == NULL)
		return fail(http, IO_FATAL, "TLS: cannot create a context");
	SSL_CTX_set_min_proto_version(http->ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(http->ctx, SSL_VERIFY_PEER, NULL);
	if (h->ca_file != NULL || h->ca_path != NULL) {
		if (SSL_CTX_load_verify_locations(http->ctx, h->ca_file, h->ca_path) != 1)
			return tls_ctx_fail(http, "cannot load the trust anchors from ",
					    h->ca_file != NULL ? h->ca_file : h->ca_path);
	} else if (SSL_CTX_set_default_verify_paths(http->ctx) != 1) {
		return tls_ctx_fail(http, "cannot load the system's trust anchors", "");
	}
	if (http->bio_meth == NULL)
		http->bio_meth = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "smswake socket");
	if (http->bio_meth == NULL || !BIO_meth_set_write(http->bio_meth, bio_write) ||
	    !BIO_meth_set_read(http->bio_meth, bio_read) || !BIO_meth_set_ctrl(http->bio_meth, bio_ctrl) ||
	    !BIO_meth_set_create(http->bio_meth, bio_create))
		return tls_ctx_fail(http, "out of memory", "");
	ERR_clear_error();
	return IO_OK;
}

/* DER of the certificate's SubjectPublicKeyInfo; the caller frees it. */
static long spki_der(X509 *cert, unsigned char **der)
{
	int n;

	*der = NULL;
	n = i2d_PUBKEY(X509_get0_pubkey(cert), der);
	return n > 0 ? n : -1;
}

/* The pin in libcurl's CURLOPT_PINNEDPUBLICKEY syntax: "sha256//<base64>" entries separated by
 * ';', or the name of a file holding the public key in PEM or DER. 1 if the key matches, 0 if it
 * does not, -1 if the pin cannot be read. */
static int pin_matches(const char *pin, const unsigned char *der, size_t derlen)
{
	if (strncmp(pin, "sha256//", 8) == 0) {
		unsigned char md[CRYPTO_SHA256_LEN];
		char b64[64];

		if (crypto_sha256(der, derlen, md) != 0)
			return -1;
		enc_b64(md, sizeof(md), b64, 0);
		for (const char *p = pin; *p;) {
			size_t n = strcspn(p, ";");
			if (n > 8 && strncmp(p, "sha256//", 8) == 0 && n - 8 == strlen(b64) &&
			    CRYPTO_memcmp(p + 8, b64, n - 8) == 0)
				return 1;
			p += n;
			while (*p == ';' || *p == ' ')
				p++;
		}
		return 0;
	} else {
		BIO *f = BIO_new_file(pin, "rb");
		EVP_PKEY *k;
		unsigned char *fder = NULL;
		int n, r = -1;

		if (f == NULL)
			return -1;
		k = PEM_read_bio_PUBKEY(f, NULL, NULL, NULL);
		if (k == NULL) {
			(void)BIO_reset(f);
			k = d2i_PUBKEY_bio(f, NULL);
		}
		BIO_free(f);
		if (k == NULL)
			return -1;
		n = i2d_PUBKEY(k, &fder);
		if (n > 0)
			r = (size_t)n == derlen && CRYPTO_memcmp(fder, der, derlen) == 0;
		OPENSSL_free(fder);
		EVP_PKEY_free(k);
		return r;
	}
}

static enum io tls_handshake(smswake_t *h, struct sw_http *http, int64_t deadline)
{
	BIO *bio;
	X509 *cert;
	enum io rc = tls_setup_ctx(h, http);

	if (rc != IO_OK)
		return rc;
	http->ssl = SSL_new(http->ctx);
	bio = BIO_new(http->bio_meth);
	if (http->ssl == NULL || bio == NULL) {
		BIO_free(bio);
		return fail(http, IO_FATAL, "TLS: out of memory");
	}
	BIO_set_data(bio, &http->fd);
	SSL_set_bio(http->ssl, bio, bio);
	if (http->host_is_ip) {
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(http->ssl), http->host) != 1)
			return fail(http, IO_FATAL, "TLS: cannot verify address %s", http->host);
	} else if (SSL_set_tlsext_host_name(http->ssl, http->host) != 1 || SSL_set1_host(http->ssl, http->host) != 1) {
		return fail(http, IO_FATAL, "TLS: cannot verify host %s", http->host);
	}
	for (;;) {
		int r = SSL_connect(http->ssl), e;
		enum io w;

		if (r == 1)
			break;
		e = SSL_get_error(http->ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			w = wait_fd(http->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
			if (w == IO_TIMEOUT)
				return fail(http, IO_TIMEOUT, "TLS handshake with %s timed out", http->hostport);
			if (w != IO_OK)
				return fail(http, IO_NET, "TLS handshake with %s: %s", http->hostport, strerror(errno));
			continue;
		}
		if (SSL_get_verify_result(http->ssl) != X509_V_OK) {
			ERR_clear_error();
			return fail(http, IO_FATAL, "TLS: certificate of %s not accepted: %s", http->hostport,
				    X509_verify_cert_error_string(SSL_get_verify_result(http->ssl)));
		}
		{
			unsigned long ec = ERR_get_error();
			char buf[160];

			ERR_clear_error();
			if (ec == 0)
				return fail(http, IO_NET, "TLS handshake with %s failed: connection closed",
					    http->hostport);
			ERR_error_string_n(ec, buf, sizeof(buf));
			return fail(http, IO_NET, "TLS handshake with %s failed: %s", http->hostport, buf);
		}
	}
	if (h->pinned_pubkey != NULL) {
		unsigned char *der = NULL;
		long n;
		int m;

		cert = SSL_get1_peer_certificate(http->ssl);
		if (cert == NULL)
			return fail(http, IO_FATAL, "TLS: %s sent no certificate", http->hostport);
		n = spki_der(cert, &der);
		X509_free(cert);
		m = n > 0 ? pin_matches(h->pinned_pubkey, der, (size_t)n) : -1;
		OPENSSL_free(der);
		if (m < 0)
			return fail(http, IO_FATAL, "TLS: cannot read pinned_pubkey");
		if (m == 0)
			return fail(http, IO_FATAL, "TLS: the public key of %s does not match pinned_pubkey",
				    http->hostport);
	}
	return IO_OK;
}

/* --- the connection --- */

static void conn_close(struct sw_http *http)
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
		switch (wait_fd(fd, POLLOUT, deadline)) {
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
	int64_t cdeadline = now_ms() + (int64_t)h->connect_timeout * 1000;
	int rc, one = 1, err = ECONNREFUSED, fd = -1;
	unsigned left = 0;

	if (cdeadline > deadline)
		cdeadline = deadline;
	rc = getaddrinfo(http->host, http->port, &hints, &res);
	if (rc != 0)
		return fail(http, IO_NET, "cannot resolve %s: %s", http->host,
			    rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
	for (ai = res; ai != NULL; ai = ai->ai_next)
		left++;
	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next, left--) {
		int64_t now = now_ms();

		if (now >= cdeadline) {
			err = ETIMEDOUT;
			break;
		}
		fd = connect_one(ai, now + (cdeadline - now) / left, &err);
	}
	freeaddrinfo(res);
	if (fd < 0 && err == ETIMEDOUT)
		return fail(http, IO_TIMEOUT, "connecting to %s timed out", http->hostport);
	if (fd < 0)
		return fail(http, IO_NET, "cannot connect to %s: %s", http->hostport, strerror(err));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	http->fd = fd;
	return IO_OK;
}

static enum io conn_open(smswake_t *h, struct sw_http *http, int64_t deadline)
{
	enum io rc = tcp_connect(h, http, deadline);

	if (rc == IO_OK && http->tls)
		rc = tls_handshake(h, http, deadline);
	if (rc != IO_OK)
		conn_close(http);
	return rc;
}

static enum io conn_write(struct sw_http *http, const char *buf, size_t len, int64_t deadline)
{
	while (len > 0) {
		size_t done = 0;
		short ev = POLLOUT;

		if (http->ssl != NULL) {
			int r = SSL_write_ex(http->ssl, buf, len, &done), e;

			if (r != 1) {
				e = SSL_get_error(http->ssl, r);
				ERR_clear_error();
				if (e == SSL_ERROR_WANT_READ)
					ev = POLLIN;
				else if (e != SSL_ERROR_WANT_WRITE)
					return fail(http, IO_NET, "sending to %s failed", http->hostport);
				done = 0;
			}
		} else {
			ssize_t n = send(http->fd, buf, len, MSG_NOSIGNAL);

			if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				return fail(http, IO_NET, "sending to %s: %s", http->hostport, strerror(errno));
			done = n > 0 ? (size_t)n : 0;
		}
		buf += done;
		len -= done;
		if (len > 0 && done == 0) {
			enum io w = wait_fd(http->fd, ev, deadline);
			if (w != IO_OK)
				return fail(http, w, "sending to %s %s", http->hostport,
					    w == IO_TIMEOUT ? "timed out" : "failed");
		}
	}
	return IO_OK;
}

/* Reads more into rbuf (compacting it first). IO_OK with at least one new octet, or IO_NET with
 * eof set when the server closed the connection cleanly. */
static enum io conn_fill(struct sw_http *http, int64_t deadline, int *eof)
{
	*eof = 0;
	if (http->rpos > 0) {
		memmove(http->rbuf, http->rbuf + http->rpos, http->rlen - http->rpos);
		http->rlen -= http->rpos;
		http->rpos = 0;
	}
	if (http->rlen == RBUF_SIZE)
		return fail(http, IO_PROTO, "response head too large");
	for (;;) {
		size_t got = 0;
		short ev = POLLIN;
		enum io w;

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
				return fail(http, IO_NET, "%s closed the connection", http->hostport);
			}
			if (e == SSL_ERROR_WANT_WRITE)
				ev = POLLOUT;
			else if (e != SSL_ERROR_WANT_READ)
				return fail(http, IO_NET, "receiving from %s failed", http->hostport);
		} else {
			ssize_t n = read(http->fd, http->rbuf + http->rlen, RBUF_SIZE - http->rlen);

			if (n > 0) {
				http->rlen += (size_t)n;
				return IO_OK;
			}
			if (n == 0) {
				*eof = 1;
				return fail(http, IO_NET, "%s closed the connection", http->hostport);
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				return fail(http, IO_NET, "receiving from %s: %s", http->hostport, strerror(errno));
		}
		w = wait_fd(http->fd, ev, deadline);
		if (w != IO_OK)
			return fail(http, w, "waiting for %s %s", http->hostport,
				    w == IO_TIMEOUT ? "timed out" : "failed");
	}
}

/* --- responses --- */

void sw_response_free(struct sw_response *r)
{
	if (r != NULL) {
		free(r->body);
		r->body = NULL;
		r->body_len = 0;
	}
}

/* Whole non-negative decimal seconds; Retry-After may also be an HTTP date (IMF-fixdate). */
static long header_seconds(const char *v, size_t n, int allow_date)
{
	char tmp[64];
	long s = 0;
	size_t i;

	if (n == 0 || n >= sizeof(tmp))
		return -1;
	for (i = 0; i < n && v[i] >= '0' && v[i] <= '9'; i++) {
		if (s > 100000000)
			return -1;
		s = s * 10 + (v[i] - '0');
	}
	if (i == n)
		return s;
	if (!allow_date)
		return -1;
	memcpy(tmp, v, n);
	tmp[n] = '\0';
	{
		struct tm tm = {0};
		const char *end = strptime(tmp, "%a, %d %b %Y %H:%M:%S GMT", &tm);
		time_t t, now = time(NULL);

		if (end == NULL || *end != '\0')
			return -1;
		t = timegm(&tm);
		if (t == (time_t)-1)
			return -1;
		return t > now ? (long)(t - now) : 0;
	}
}

static int token_in_list(const char *v, size_t n, const char *token)
{
	size_t tl = strlen(token);

	for (size_t i = 0; i < n;) {
		size_t s, e;

		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		while (i < n && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - s == tl && strncasecmp(v + s, token, tl) == 0)
			return 1;
	}
	return 0;
}

static int is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Parses a response head (status line and header lines, each ending in CRLF, without the empty
 * line). 0, or -1 with why set. */
int sw_http_parse_head(const char *p, size_t len, struct sw_head_info *info, char *why, size_t whymax)
{
	struct sw_head_info hd = {.length = -1, .next_poll = -1, .retry_after = -1};
	const char *end = p + len, *eol;
	int minor, keep_alive = 0;

	if (len < 12 || memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1') || p[8] != ' ' || p[9] < '1' ||
	    p[9] > '5' || p[10] < '0' || p[10] > '9' || p[11] < '0' || p[11] > '9' ||
	    (len > 12 && p[12] != ' ' && p[12] != '\r')) {
		snprintf(why, whymax, "not an HTTP/1.x status line");
		return -1;
	}
	minor = p[7] - '0';
	hd.status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	eol = memchr(p, '\r', len);
	if (eol == NULL || eol + 1 >= end || eol[1] != '\n') {
		snprintf(why, whymax, "status line without CRLF");
		return -1;
	}
	for (size_t i = 12; p + i < eol; i++)
		if ((unsigned char)p[i] < ' ' && p[i] != '\t') {
			snprintf(why, whymax, "control character in the status line");
			return -1;
		}
	p = eol + 2;
	while (p < end) {
		const char *colon, *v, *ve;
		size_t nl;

		eol = memchr(p, '\r', (size_t)(end - p));
		if (eol == NULL || eol + 1 >= end || eol[1] != '\n') {
			snprintf(why, whymax, "header line without CRLF");
			return -1;
		}
		if (*p == ' ' || *p == '\t') {
			snprintf(why, whymax, "folded header line");
			return -1;
		}
		colon = memchr(p, ':', (size_t)(eol - p));
		if (colon == NULL || colon == p) {
			snprintf(why, whymax, "header line without a name");
			return -1;
		}
		for (const char *q = p; q < colon; q++)
			if (!is_tchar(*q)) {
				snprintf(why, whymax, "bad character in a header name");
				return -1;
			}
		nl = (size_t)(colon - p);
		v = colon + 1;
		ve = eol;
		for (const char *q = v; q < ve; q++)
			if (((unsigned char)*q < ' ' && *q != '\t') || *q == 0x7f) {
				snprintf(why, whymax, "control character in a header value");
				return -1;
			}
		while (v < ve && (*v == ' ' || *v == '\t'))
			v++;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		if (nl == 14 && strncasecmp(p, "Content-Length", 14) == 0) {
			int64_t n = 0;

			if (v == ve) {
				snprintf(why, whymax, "empty Content-Length");
				return -1;
			}
			for (const char *q = v; q < ve; q++) {
				if (*q < '0' || *q > '9' || n > INT64_MAX / 10 - 10) {
					snprintf(why, whymax, "bad Content-Length");
					return -1;
				}
				n = n * 10 + (*q - '0');
			}
			if (hd.length >= 0 && hd.length != n) {
				snprintf(why, whymax, "conflicting Content-Length headers");
				return -1;
			}
			hd.length = n;
		} else if (nl == 17 && strncasecmp(p, "Transfer-Encoding", 17) == 0) {
			/* Only "chunked" (no compression was asked for), and it must come last. */
			if (hd.chunked || !token_in_list(v, (size_t)(ve - v), "chunked") || (size_t)(ve - v) != 7) {
				snprintf(why, whymax, "unsupported Transfer-Encoding");
				return -1;
			}
			hd.chunked = 1;
		} else if (nl == 10 && strncasecmp(p, "Connection", 10) == 0) {
			if (token_in_list(v, (size_t)(ve - v), "close"))
				hd.close = 1;
			if (token_in_list(v, (size_t)(ve - v), "keep-alive"))
				keep_alive = 1;
		} else if (nl == 9 && strncasecmp(p, "Next-Poll", 9) == 0) {
			hd.next_poll = header_seconds(v, (size_t)(ve - v), 0);
		} else if (nl == 11 && strncasecmp(p, "Retry-After", 11) == 0) {
			hd.retry_after = header_seconds(v, (size_t)(ve - v), 1);
		}
		p = eol + 2;
	}
	if (hd.chunked && hd.length >= 0) {
		/* RFC 9112 6.3: a sign of request smuggling; the connection cannot be trusted. */
		snprintf(why, whymax, "both Transfer-Encoding and Content-Length");
		return -1;
	}
	if (minor == 0 && !keep_alive)
		hd.close = 1;
	*info = hd;
	return 0;
}

/* Finds the end of the head (the empty line) in rbuf, reading as needed. */
static enum io read_head(struct sw_http *http, int64_t deadline, size_t *head_len, int *got_any)
{
	size_t scanned = 0;
	int eof;

	for (;;) {
		const char *b = http->rbuf + http->rpos;
		size_t n = http->rlen - http->rpos;

		if (n > 0)
			*got_any = 1;
		for (size_t i = scanned > 3 ? scanned - 3 : 0; i + 3 < n; i++)
			if (b[i] == '\r' && b[i + 1] == '\n' && b[i + 2] == '\r' && b[i + 3] == '\n') {
				*head_len = i + 2;
				return IO_OK;
			}
		scanned = n;
		if (n >= HEAD_MAX)
			return fail(http, IO_PROTO, "response head larger than %d octets", HEAD_MAX);
		{
			enum io rc = conn_fill(http, deadline, &eof);
			if (rc != IO_OK)
				return rc;
		}
	}
}

/* Appends up to want octets of buffered or received data to the body. */
static enum io read_body_bytes(struct sw_http *http, int64_t deadline, char **body, size_t *blen, size_t *bcap,
			       uint64_t want, int until_eof)
{
	int eof;

	while (want > 0) {
		size_t avail = http->rlen - http->rpos, take;

		if (avail == 0) {
			enum io rc = conn_fill(http, deadline, &eof);
			if (rc != IO_OK)
				return until_eof && eof ? IO_OK : rc;
			continue;
		}
		take = avail < want ? avail : (size_t)want;
		if (take > http->max - *blen)
			return fail(http, IO_LARGE, "response larger than %zu octets", http->max);
		if (*blen + take + 1 > *bcap) {
			size_t cap = *bcap ? *bcap : 4096;
			char *nb;

			while (cap < *blen + take + 1)
				cap *= 2;
			nb = realloc(*body, cap);
			if (nb == NULL)
				return fail(http, IO_FATAL, "out of memory");
			*body = nb;
			*bcap = cap;
		}
		memcpy(*body + *blen, http->rbuf + http->rpos, take);
		*blen += take;
		http->rpos += take;
		want -= take;
	}
	return IO_OK;
}

/* Reads one CRLF-terminated line (chunk sizes, trailers) into line. */
static enum io read_line(struct sw_http *http, int64_t deadline, char *line, size_t max)
{
	int eof;

	for (;;) {
		const char *b = http->rbuf + http->rpos;
		size_t n = http->rlen - http->rpos;
		const char *lf = memchr(b, '\n', n);

		if (lf != NULL) {
			size_t l = (size_t)(lf - b);
			/* Handed on as a C string: a NUL would hide what follows it. */
			if (l == 0 || b[l - 1] != '\r' || l - 1 >= max || memchr(b, '\0', l - 1) != NULL)
				return fail(http, IO_PROTO, "bad line in a chunked body");
			memcpy(line, b, l - 1);
			line[l - 1] = '\0';
			http->rpos += l + 1;
			return IO_OK;
		}
		if (n >= max + 2)
			return fail(http, IO_PROTO, "line too long in a chunked body");
		{
			enum io rc = conn_fill(http, deadline, &eof);
			if (rc != IO_OK)
				return rc;
		}
	}
}

static enum io read_chunked(struct sw_http *http, int64_t deadline, char **body, size_t *blen, size_t *bcap)
{
	char line[LINE_MAX_CHUNK + 1];
	enum io rc;

	for (;;) {
		uint64_t size = 0;
		const char *p = line;

		if ((rc = read_line(http, deadline, line, LINE_MAX_CHUNK)) != IO_OK)
			return rc;
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F')))
			return fail(http, IO_PROTO, "bad chunk size");
		for (; (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F'); p++) {
			if (size > (UINT64_MAX >> 8))
				return fail(http, IO_PROTO, "chunk size too large");
			size = size * 16 + (uint64_t)(*p <= '9' ? *p - '0' : (*p | 0x20) - 'a' + 10);
		}
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '\0' && *p != ';')
			return fail(http, IO_PROTO, "bad chunk size");
		if (size == 0)
			break;
		if (size > http->max - *blen)
			return fail(http, IO_LARGE, "response larger than %zu octets", http->max);
		if ((rc = read_body_bytes(http, deadline, body, blen, bcap, size, 0)) != IO_OK)
			return rc;
		if ((rc = read_line(http, deadline, line, LINE_MAX_CHUNK)) != IO_OK)
			return rc;
		if (line[0] != '\0')
			return fail(http, IO_PROTO, "chunk longer than its size");
	}
	/* Trailer fields, ignored, up to the empty line. */
	for (unsigned n = 0;; n++) {
		if (n > 64)
			return fail(http, IO_PROTO, "too many trailer fields");
		if ((rc = read_line(http, deadline, line, LINE_MAX_CHUNK)) != IO_OK)
			return rc;
		if (line[0] == '\0')
			return IO_OK;
	}
}

/* Reads one final response (skipping 1xx). *got_any tells whether any octet arrived, which
 * decides whether a request on a reused connection can be sent again. */
static enum io read_response(struct sw_http *http, int64_t deadline, struct sw_response *resp, int *got_any,
			     int *close_after)
{
	struct sw_head_info hd;
	size_t head_len = 0, blen = 0, bcap = 0;
	char *body = NULL;
	enum io rc;

	for (;;) {
		if ((rc = read_head(http, deadline, &head_len, got_any)) != IO_OK)
			return rc;
		if (sw_http_parse_head(http->rbuf + http->rpos, head_len, &hd, http->err, sizeof(http->err)) != 0)
			return IO_PROTO;
		http->rpos += head_len + 2;
		if (hd.status >= 200)
			break;
		if (hd.status == 101)
			return fail(http, IO_PROTO, "unexpected protocol switch");
	}
	resp->status = hd.status;
	resp->next_poll = hd.next_poll;
	resp->retry_after = hd.retry_after;
	if (hd.status == 204 || hd.status == 304)
		rc = IO_OK;
	else if (hd.chunked)
		rc = read_chunked(http, deadline, &body, &blen, &bcap);
	else if (hd.length >= 0)
		rc = hd.length > (int64_t)http->max
			     ? fail(http, IO_LARGE, "response larger than %zu octets", http->max)
			     : read_body_bytes(http, deadline, &body, &blen, &bcap, (uint64_t)hd.length, 0);
	else {
		/* Delimited by the end of the connection. Over TLS only a close_notify counts as
		 * that end (conn_fill reports a bare FIN as an error): truncation is not success. */
		rc = read_body_bytes(http, deadline, &body, &blen, &bcap, UINT64_MAX, 1);
		hd.close = 1;
	}
	if (rc != IO_OK) {
		free(body);
		return rc;
	}
	if (body == NULL)
		body = calloc(1, 1);
	if (body == NULL)
		return fail(http, IO_FATAL, "out of memory");
	body[blen] = '\0';
	resp->body = body;
	resp->body_len = blen;
	*close_after = hd.close;
	return IO_OK;
}

/* --- requests --- */

/* Room for a page holding at least one largest message (base64 grows it by 4/3). */
static size_t body_limit(const smswake_t *h)
{
	return h->max_body * 2 + 64 * 1024;
}

void sw_http_free(struct sw_http *http)
{
	if (http == NULL)
		return;
	conn_close(http);
	SSL_CTX_free(http->ctx);
	BIO_meth_free(http->bio_meth);
	if (http->auth != NULL) {
		/* It holds the token. */
		OPENSSL_cleanse(http->auth, strlen(http->auth));
		free(http->auth);
	}
	free(http->host);
	free(http->hostport);
	free(http->prefix);
	free(http->rbuf);
	free(http);
}

static smswake_err http_setup(smswake_t *h)
{
	struct sw_http *http;
	size_t tl, hl;

	if (h->http != NULL)
		return SMSWAKE_OK;
	if (h->server == NULL || h->token == NULL)
		return sw_fail(h, SMSWAKE_ECONFIG, "server and token must be set to fetch");
	http = calloc(1, sizeof(*http));
	if (http == NULL)
		return sw_fail(h, SMSWAKE_ENOMEM, "out of memory");
	h->http = http;
	http->fd = -1;
	if (sw_http_parse_url(h->server, &http->tls, &http->host, http->port, sizeof(http->port), &http->prefix,
			      &http->host_is_ip) != 0)
		return sw_fail(h, SMSWAKE_ECONFIG, "server: not a usable http:// or https:// URL");
	hl = strlen(http->host);
	http->hostport = malloc(hl + sizeof(http->port) + 3);
	tl = strlen(h->token);
	http->auth = malloc(tl + sizeof("Authorization: Bearer \r\n"));
	http->rbuf = malloc(RBUF_SIZE);
	if (http->hostport == NULL || http->auth == NULL || http->rbuf == NULL)
		return sw_fail(h, SMSWAKE_ENOMEM, "out of memory");
	if (strcmp(http->port, http->tls ? "443" : "80") == 0)
		snprintf(http->hostport, hl + sizeof(http->port) + 3, strchr(http->host, ':') ? "[%s]" : "%s",
			 http->host);
	else
		snprintf(http->hostport, hl + sizeof(http->port) + 3, strchr(http->host, ':') ? "[%s]:%s" : "%s:%s",
			 http->host, http->port);
	snprintf(http->auth, tl + sizeof("Authorization: Bearer \r\n"), "Authorization: Bearer %s\r\n", h->token);
	http->max = body_limit(h);
	return SMSWAKE_OK;
}

static int retryable_status(long status)
{
	return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

/* Full-ish jitter: a random point in [d/2, d], so devices that failed together (a server restart)
 * do not come back together. */
static unsigned backoff_ms(const smswake_t *h, unsigned attempt)
{
	uint64_t d = h->retry_delay_ms;
	uint32_t r = 0;

	for (unsigned i = 0; i < attempt && d < h->retry_max_ms; i++)
		d *= 2;
	if (d > h->retry_max_ms)
		d = h->retry_max_ms;
	(void)crypto_random(&r, sizeof(r));
	return (unsigned)(d / 2 + (d - d / 2) * r / UINT32_MAX);
}

/* Returns -1 if a signal interrupted the sleep: the caller then stops retrying, so a daemon
 * asked to stop does not sit out the back-off. */
static int sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	return nanosleep(&ts, NULL) == 0 ? 0 : -1;
}

/* The request in one buffer: one write, one TLS record for a small request. */
static char *build_request(smswake_t *h, const struct sw_http *http, const char *path, const char *body, size_t *len)
{
	const char *ua = h->user_agent != NULL ? h->user_agent : "libsmswake/" SMSWAKE_VERSION;
	size_t bl = body != NULL ? strlen(body) : 0;
	size_t max = strlen(http->prefix) + strlen(path) + strlen(http->hostport) + strlen(ua) + strlen(http->auth) +
		     bl + 200;
	char *req = malloc(max);
	int n;

	if (req == NULL)
		return NULL;
	if (body != NULL)
		n = snprintf(req, max,
			     "POST %s%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n%sAccept: application/json\r\n"
			     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
			     http->prefix, path, http->hostport, ua, http->auth, bl, body);
	else
		n = snprintf(req, max,
			     "GET %s%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n%sAccept: application/json\r\n\r\n",
			     http->prefix, path, http->hostport, ua, http->auth);
	if (n < 0 || (size_t)n >= max) {
		free(req);
		return NULL;
	}
	*len = (size_t)n;
	return req;
}

/* Whether a kept-alive connection can carry the next request: nothing unread may be waiting.
 * Octets nobody asked for mean the framing cannot be trusted; an end of connection means the
 * server closed it while idle (noticed now, before a write that would be lost). Over TLS,
 * handshake messages that come late (TLS 1.3 session tickets) are fine and are consumed here. */
static int conn_idle_ok(struct sw_http *http)
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

/* One attempt: connects if needed, sends, reads the final response. A request sent on a kept-alive
 * connection that the server had already closed (nothing at all comes back) is sent once more on
 * a new connection: that is the normal end of an idle connection, not a failure. */
static enum io attempt(smswake_t *h, struct sw_http *http, const char *req, size_t len, int64_t deadline,
		       struct sw_response *resp)
{
	for (int again = 0;; again++) {
		int reused = http->fd >= 0, got_any = 0, close_after = 0;
		enum io rc = IO_OK;

		if (reused && !conn_idle_ok(http)) {
			conn_close(http);
			reused = 0;
		}
		if (!reused)
			rc = conn_open(h, http, deadline);
		if (rc == IO_OK)
			rc = conn_write(http, req, len, deadline);
		if (rc == IO_OK)
			rc = read_response(http, deadline, resp, &got_any, &close_after);
		if (rc == IO_OK) {
			http->requests++;
			if (close_after)
				conn_close(http);
			return IO_OK;
		}
		conn_close(http);
		if (!(reused && !got_any && rc == IO_NET && again == 0))
			return rc;
	}
}

smswake_err sw_http_request(smswake_t *h, const char *path, const char *body, struct sw_response *resp)
{
	struct sw_http *http;
	smswake_err err = http_setup(h);
	size_t len = 0;
	char *req;

	memset(resp, 0, sizeof(*resp));
	resp->next_poll = resp->retry_after = -1;
	if (err != SMSWAKE_OK)
		return err;
	http = h->http;
	req = build_request(h, http, path, body, &len);
	if (req == NULL)
		return sw_fail(h, SMSWAKE_ENOMEM, "out of memory");

	for (unsigned n = 0;; n++) {
		int64_t deadline = now_ms() + (int64_t)(h->timeout + (body == NULL ? h->wait : 0)) * 1000;
		enum io rc;
		unsigned delay;

		sw_response_free(resp);
		memset(resp, 0, sizeof(*resp));
		resp->next_poll = resp->retry_after = -1;
		rc = attempt(h, http, req, len, deadline, resp);
		if (rc == IO_LARGE) {
			resp->too_large = 1;
			err = sw_fail(h, SMSWAKE_EPROTO, "%s", http->err);
			break;
		}
		if (rc == IO_PROTO) {
			err = sw_fail(h, SMSWAKE_EPROTO, "%s: %s", http->hostport, http->err);
			break;
		}
		if (rc == IO_FATAL) {
			err = sw_fail(h, SMSWAKE_ENETWORK, "%s", http->err);
			break;
		}
		if (rc == IO_OK && !retryable_status(resp->status)) {
			err = SMSWAKE_OK;
			break;
		}
		if (rc != IO_OK)
			err = sw_fail(h, SMSWAKE_ENETWORK, "%s", http->err);
		else
			err = sw_fail(h, SMSWAKE_ENETWORK, "HTTP %ld", resp->status);
		if (n >= h->retries)
			break;
		if (rc == IO_OK && resp->retry_after >= 0) {
			/* The server knows best, unless it asks for more than we are willing to wait
			 * now: then give up and let the caller reschedule. */
			if ((unsigned long)resp->retry_after * 1000 > h->retry_max_ms)
				break;
			delay = (unsigned)resp->retry_after * 1000;
		} else {
			delay = backoff_ms(h, n);
		}
		if (sleep_ms(delay) != 0) {
			err = sw_fail(h, SMSWAKE_ENETWORK, "interrupted while waiting to retry");
			break;
		}
	}
	if (err != SMSWAKE_OK)
		sw_response_free(resp);
	OPENSSL_cleanse(req, len);
	free(req);
	return err;
}

smswake_err sw_http_read_fd(smswake_t *h, int fd, struct sw_response *resp, int *keep_alive)
{
	static char peer[] = "peer";
	struct sw_http http = {.fd = fd, .hostport = peer};
	int64_t deadline = now_ms() + (int64_t)h->timeout * 1000;
	int got_any = 0, close_after = 0;
	enum io rc;

	memset(resp, 0, sizeof(*resp));
	resp->next_poll = resp->retry_after = -1;
	http.max = body_limit(h);
	http.rbuf = malloc(RBUF_SIZE);
	if (http.rbuf == NULL)
		return sw_fail(h, SMSWAKE_ENOMEM, "out of memory");
	rc = read_response(&http, deadline, resp, &got_any, &close_after);
	free(http.rbuf);
	*keep_alive = !close_after;
	if (rc == IO_OK)
		return SMSWAKE_OK;
	resp->too_large = rc == IO_LARGE;
	sw_response_free(resp);
	return sw_fail(h, rc == IO_LARGE || rc == IO_PROTO ? SMSWAKE_EPROTO : SMSWAKE_ENETWORK, "%s", http.err);
}
