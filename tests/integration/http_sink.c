/* SPDX-License-Identifier: GPL-2.0-or-later */
/* http-sink: a tiny loopback HTTP listener for the tests of other programs' callbacks (Kannel's
 * get-url and dlr-url): it answers every request 200 with an empty body and appends its request
 * line to a log. `http-sink --ports N` prints N ports that are free on 127.0.0.1 now, for
 * programs that need fixed ports in their configuration.
 *
 *   http-sink PORTFILE LOGFILE    listen on 127.0.0.1:0, write the port to PORTFILE, serve until
 *                                 SIGTERM */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SINK_HEAD_MAX 8192

static volatile sig_atomic_t sink_stop;

static void sink_on_signal(int sig)
{
	(void)sig;
	sink_stop = 1;
}

static int sink_listen(unsigned short *port)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 16) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

/* Reads one request head (a body, if any, is ignored) and answers 200. */
static void sink_serve(int c, FILE *log)
{
	static const char reply[] = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n"
				    "Connection: close\r\n\r\n";
	char buf[SINK_HEAD_MAX + 1];
	size_t len = 0;

	while (len < SINK_HEAD_MAX) {
		struct pollfd p = {.fd = c, .events = POLLIN};
		ssize_t r;
		if (poll(&p, 1, 5000) <= 0)
			break;
		r = read(c, buf + len, SINK_HEAD_MAX - len);
		if (r <= 0)
			break;
		len += (size_t)r;
		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\n") != NULL)
			break;
	}
	buf[len] = '\0';
	if (len > 0) {
		char *eol = strpbrk(buf, "\r\n");
		if (eol != NULL)
			*eol = '\0';
		fprintf(log, "%s\n", buf);
		fflush(log);
	}
	(void)!write(c, reply, sizeof(reply) - 1);
	close(c);
}

static int sink_ports(int n)
{
	int fds[64];
	unsigned short ports[64];

	if (n < 1 || n > 64)
		return 2;
	/* All held at once, so the ports printed are distinct. */
	for (int i = 0; i < n; i++) {
		fds[i] = sink_listen(&ports[i]);
		if (fds[i] < 0) {
			perror("http-sink");
			return 1;
		}
	}
	for (int i = 0; i < n; i++) {
		printf("%u\n", ports[i]);
		close(fds[i]);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	unsigned short port;
	FILE *pf, *log;
	int fd;

	if (argc == 3 && strcmp(argv[1], "--ports") == 0)
		return sink_ports((int)strtol(argv[2], NULL, 10));
	if (argc != 3) {
		fprintf(stderr, "usage: http-sink PORTFILE LOGFILE | http-sink --ports N\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sink_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	log = fopen(argv[2], "a");
	fd = sink_listen(&port);
	if (log == NULL || fd < 0) {
		perror("http-sink");
		if (log != NULL)
			fclose(log);
		if (fd >= 0)
			close(fd);
		return 1;
	}
	pf = fopen(argv[1], "w");
	if (pf != NULL && fprintf(pf, "%u\n", port) < 0) {
		fclose(pf);
		pf = NULL;
	}
	if (pf == NULL || fclose(pf) != 0) {
		perror(argv[1]);
		fclose(log);
		close(fd);
		return 1;
	}
	while (!sink_stop) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int c;
		if (poll(&p, 1, 200) <= 0)
			continue;
		c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		if (c >= 0)
			sink_serve(c, log);
		else if (errno != EINTR && errno != EAGAIN)
			break;
	}
	close(fd);
	fclose(log);
	return 0;
}
