/* SPDX-License-Identifier: MIT */
/* TLS for libsmswake's HTTP client, from OpenSSL's libssl: TLS 1.2 at least, the server's
 * certificate verified against the configured or the system's trust anchors and its host name
 * (or IP address), optional public-key pins in libcurl's syntax, and a socket BIO that never
 * raises SIGPIPE. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "crypto.h"
#include "encode.h"
#include "http_internal.h"

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
	return sw_http_fail(http, IO_FATAL, "TLS: %s%s", what, where);
}

static enum io tls_setup_ctx(smswake_t *h, struct sw_http *http)
{
	if (http->ctx != NULL)
		return IO_OK;
	http->ctx = SSL_CTX_new(TLS_client_method());
	if (http->ctx == NULL)
		return sw_http_fail(http, IO_FATAL, "TLS: cannot create a context");
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

enum io sw_tls_handshake(smswake_t *h, struct sw_http *http, int64_t deadline)
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
		return sw_http_fail(http, IO_FATAL, "TLS: out of memory");
	}
	BIO_set_data(bio, &http->fd);
	SSL_set_bio(http->ssl, bio, bio);
	if (http->host_is_ip) {
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(http->ssl), http->host) != 1)
			return sw_http_fail(http, IO_FATAL, "TLS: cannot verify address %s", http->host);
	} else if (SSL_set_tlsext_host_name(http->ssl, http->host) != 1 || SSL_set1_host(http->ssl, http->host) != 1) {
		return sw_http_fail(http, IO_FATAL, "TLS: cannot verify host %s", http->host);
	}
	for (;;) {
		int r, e;
		enum io w;

		if (sw_deadline_passed(deadline))
			return sw_http_fail(http, IO_TIMEOUT, "TLS handshake with %s timed out", http->hostport);
		r = SSL_connect(http->ssl);
		if (r == 1)
			break;
		e = SSL_get_error(http->ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			w = sw_wait_fd(http->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
			if (w == IO_TIMEOUT)
				return sw_http_fail(http, IO_TIMEOUT, "TLS handshake with %s timed out",
						    http->hostport);
			if (w != IO_OK)
				return sw_http_fail(http, IO_NET, "TLS handshake with %s: %s", http->hostport,
						    strerror(errno));
			continue;
		}
		if (SSL_get_verify_result(http->ssl) != X509_V_OK) {
			ERR_clear_error();
			return sw_http_fail(http, IO_FATAL, "TLS: certificate of %s not accepted: %s", http->hostport,
					    X509_verify_cert_error_string(SSL_get_verify_result(http->ssl)));
		}
		{
			unsigned long ec = ERR_get_error();
			char buf[160];

			ERR_clear_error();
			if (ec == 0)
				return sw_http_fail(http, IO_NET, "TLS handshake with %s failed: connection closed",
						    http->hostport);
			ERR_error_string_n(ec, buf, sizeof(buf));
			return sw_http_fail(http, IO_NET, "TLS handshake with %s failed: %s", http->hostport, buf);
		}
	}
	if (h->pinned_pubkey != NULL) {
		unsigned char *der = NULL;
		long n;
		int m;

		cert = SSL_get1_peer_certificate(http->ssl);
		if (cert == NULL)
			return sw_http_fail(http, IO_FATAL, "TLS: %s sent no certificate", http->hostport);
		n = spki_der(cert, &der);
		X509_free(cert);
		m = n > 0 ? pin_matches(h->pinned_pubkey, der, (size_t)n) : -1;
		OPENSSL_free(der);
		if (m < 0)
			return sw_http_fail(http, IO_FATAL, "TLS: cannot read pinned_pubkey");
		if (m == 0)
			return sw_http_fail(http, IO_FATAL, "TLS: the public key of %s does not match pinned_pubkey",
					    http->hostport);
	}
	return IO_OK;
}

void sw_tls_free(struct sw_http *http)
{
	SSL_CTX_free(http->ctx);
	http->ctx = NULL;
	BIO_meth_free(http->bio_meth);
	http->bio_meth = NULL;
}
