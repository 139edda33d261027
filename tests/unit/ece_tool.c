/* SPDX-License-Identifier: MIT */
/* Command-line access to common/ece.c and the test encryptor, for the interoperability test with
 * an independent implementation (test_ece_python.py). Keys and bodies are base64url.
 *   ece-tool keygen                  prints "PRIV PUB AUTH"
 *   ece-tool encrypt PUB AUTH        plain text on stdin, body on stdout
 *   ece-tool decrypt PRIV PUB AUTH   body on stdin, plain text on stdout */
#include <stdio.h>
#include <string.h>

#include "ece.h"
#include "ece_encrypt.h"
#include "encode.h"

#define MAXBODY 8192

static int key(const char *s, uint8_t *out, size_t len)
{
	if (enc_unb64(s, strlen(s), out, len, 1) != (long)len) {
		fprintf(stderr, "ece-tool: bad key %s\n", s);
		return -1;
	}
	return 0;
}

static size_t slurp(uint8_t *buf, size_t max)
{
	size_t n = fread(buf, 1, max, stdin);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	return n;
}

int main(int argc, char **argv)
{
	static uint8_t in[MAXBODY], body[MAXBODY + 128], text[ENC_B64_LEN(MAXBODY + 128)];
	uint8_t priv[ECE_P256_PRIV_LEN], pub[ECE_P256_PUB_LEN], auth[ECE_AUTH_LEN];
	size_t n, len = 0;
	int rc;

	if (argc == 2 && strcmp(argv[1], "keygen") == 0) {
		char a[ENC_B64_LEN(32)], b[ENC_B64_LEN(65)], c[ENC_B64_LEN(16)];
		if (ece_webpush_keygen(priv, pub, auth) != ECE_OK)
			return 1;
		enc_b64(priv, sizeof(priv), a, 1);
		enc_b64(pub, sizeof(pub), b, 1);
		enc_b64(auth, sizeof(auth), c, 1);
		printf("%s %s %s\n", a, b, c);
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "encrypt") == 0) {
		if (key(argv[2], pub, sizeof(pub)) != 0 || key(argv[3], auth, sizeof(auth)) != 0)
			return 2;
		n = fread(in, 1, sizeof(in), stdin);
		rc = ece_webpush_encrypt(pub, auth, NULL, NULL, NULL, 4096, in, n, 7, body, sizeof(body), &len);
		if (rc != ECE_OK) {
			fprintf(stderr, "ece-tool: %s\n", ece_strerror(rc));
			return 1;
		}
		enc_b64(body, len, (char *)text, 1);
		printf("%s\n", (char *)text);
		return 0;
	}
	if (argc == 5 && strcmp(argv[1], "decrypt") == 0) {
		long m;
		if (key(argv[2], priv, sizeof(priv)) != 0 || key(argv[3], pub, sizeof(pub)) != 0 ||
		    key(argv[4], auth, sizeof(auth)) != 0)
			return 2;
		n = slurp(text, sizeof(text) - 1);
		m = enc_unb64((const char *)text, n, body, sizeof(body), 1);
		if (m < 0) {
			fprintf(stderr, "ece-tool: body is not base64url\n");
			return 2;
		}
		rc = ece_webpush_decrypt(priv, pub, auth, body, (size_t)m, in, sizeof(in), &len);
		if (rc != ECE_OK) {
			fprintf(stderr, "ece-tool: %s\n", ece_strerror(rc));
			return 1;
		}
		fwrite(in, 1, len, stdout);
		return 0;
	}
	fprintf(stderr, "usage: ece-tool keygen | encrypt PUB AUTH | decrypt PRIV PUB AUTH\n");
	return 2;
}
