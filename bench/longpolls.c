/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Opens N device long-polls against a server and keeps them open: the load for
 * bench/bench-longpoll.sh, which reads the server's memory while they wait.
 * usage: longpolls PORT TOKEN N WAIT_SECONDS HOLD_SECONDS [tls] */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	struct rlimit rl;
	char req[512];
	int n, open_ok = 0, *fds;

	SSL_CTX *ctx = NULL;
	SSL **ssl;

	if (argc != 6 && !(argc == 7 && strcmp(argv[6], "tls") == 0))
		return 2;
	if (argc == 7 && (ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return 1;
	n = (int)strtol(argv[3], NULL, 10);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	fds = calloc((size_t)n, sizeof(*fds));
	ssl = calloc((size_t)n, sizeof(*ssl));
	if (fds == NULL || ssl == NULL)
		return 1;
	sa.sin_port = htons((uint16_t)strtol(argv[1], NULL, 10));
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	int len = snprintf(req, sizeof(req),
			   "GET /v1/device/messages?wait=%s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n",
			   argv[4], argv[2]);
	for (int i = 0; i < n; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM, 0);
		int sent = -1;
		if (fds[i] >= 0 && connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			if (ctx == NULL)
				sent = (int)send(fds[i], req, (size_t)len, MSG_NOSIGNAL);
			else if ((ssl[i] = SSL_new(ctx)) != NULL && SSL_set_fd(ssl[i], fds[i]) == 1 &&
				 SSL_connect(ssl[i]) == 1)
				sent = SSL_write(ssl[i], req, len);
		}
		if (sent != len) {
			if (fds[i] >= 0)
				close(fds[i]);
			fds[i] = -1;
			continue;
		}
		open_ok++;
	}
	printf("%d\n", open_ok);
	fflush(stdout);
	sleep((unsigned)strtol(argv[5], NULL, 10));
	for (int i = 0; i < n; i++) {
		if (ssl[i])
			SSL_free(ssl[i]);
		if (fds[i] >= 0)
			close(fds[i]);
	}
	SSL_CTX_free(ctx);
	free(ssl);
	free(fds);
	return 0;
}
