/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tcpcount: a byte-counting TCP relay for bench/bench-client.sh and bench-http.sh. Listens on 127.0.0.1 (an
 * ephemeral port, written to PORTFILE), relays every connection to 127.0.0.1:TARGET, and when
 * a connection opens or closes rewrites STATSFILE with "CLOSED UP DOWN OPENED": the connections
 * closed so far, the octets the clients sent and received on them, and the connections opened
 * so far. Octets are TCP payload only (what an HTTP or TLS exchange puts on the wire, not
 * the TCP/IP headers). Single-threaded, poll(2); runs until SIGTERM.
 *
 * usage: tcpcount TARGET_PORT PORTFILE STATSFILE */
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

#define MAX_CONN 32
#define BUF 16384

struct conn {
	int fd[2];               /* 0: client side, 1: server side */
	int eof[2];              /* that side sent FIN */
	unsigned long long n[2]; /* octets read from that side */
};

static struct conn conns[MAX_CONN];
static unsigned long long total_conns, total_up, total_down, total_opened;
static const char *stats_path;
static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void write_stats(void)
{
	char tmp[4096];
	FILE *f;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", stats_path) >= sizeof(tmp))
		return;
	f = fopen(tmp, "w");
	if (f == NULL)
		return;
	fprintf(f, "%llu %llu %llu %llu\n", total_conns, total_up, total_down, total_opened);
	if (fclose(f) == 0)
		rename(tmp, stats_path);
}

static void conn_close(struct conn *c)
{
	close(c->fd[0]);
	close(c->fd[1]);
	total_conns++;
	total_up += c->n[0];
	total_down += c->n[1];
	memset(c, 0, sizeof(*c));
	c->fd[0] = c->fd[1] = -1;
	write_stats();
}

static int dial(unsigned short port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Moves what one side has to the other; returns -1 when the connection is finished. */
static int relay(struct conn *c, int from)
{
	char buf[BUF];
	ssize_t r = read(c->fd[from], buf, sizeof(buf));

	if (r < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -1;
	if (r == 0) {
		c->eof[from] = 1;
		shutdown(c->fd[!from], SHUT_WR);
		return c->eof[!from] ? -1 : 0;
	}
	c->n[from] += (unsigned long long)r;
	for (ssize_t off = 0; off < r;) {
		ssize_t w = write(c->fd[!from], buf + off, (size_t)(r - off));
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += w;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t alen = sizeof(a);
	struct sigaction sa;
	unsigned long target;
	char *end;
	FILE *pf;
	int lfd, one = 1;

	if (argc != 4) {
		fprintf(stderr, "usage: tcpcount TARGET_PORT PORTFILE STATSFILE\n");
		return 2;
	}
	target = strtoul(argv[1], &end, 10);
	if (*end != '\0' || target == 0 || target > 65535) {
		fprintf(stderr, "tcpcount: bad port\n");
		return 2;
	}
	stats_path = argv[3];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < MAX_CONN; i++)
		conns[i].fd[0] = conns[i].fd[1] = -1;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(lfd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(lfd, 16) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &alen) != 0) {
		perror("tcpcount: listen");
		return 1;
	}
	write_stats();
	pf = fopen(argv[2], "w");
	if (pf == NULL || fprintf(pf, "%u\n", ntohs(a.sin_port)) < 0 || fclose(pf) != 0) {
		perror(argv[2]);
		return 1;
	}

	while (!stop) {
		struct pollfd p[1 + 2 * MAX_CONN];
		int idx[1 + 2 * MAX_CONN], n = 1;

		p[0] = (struct pollfd){.fd = lfd, .events = POLLIN};
		for (int i = 0; i < MAX_CONN; i++) {
			for (int s = 0; s < 2; s++) {
				if (conns[i].fd[s] < 0 || conns[i].eof[s])
					continue;
				p[n] = (struct pollfd){.fd = conns[i].fd[s], .events = POLLIN};
				idx[n++] = i * 2 + s;
			}
		}
		if (poll(p, (nfds_t)n, -1) < 0)
			continue;
		for (int k = 1; k < n; k++) {
			struct conn *c = &conns[idx[k] / 2];

			if (c->fd[0] < 0 || !(p[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (relay(c, idx[k] % 2) != 0)
				conn_close(c);
		}
		if (p[0].revents & POLLIN) {
			int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC), sfd, slot = -1;

			for (int i = 0; i < MAX_CONN && slot < 0; i++)
				if (conns[i].fd[0] < 0)
					slot = i;
			sfd = cfd >= 0 && slot >= 0 ? dial((unsigned short)target) : -1;
			if (sfd < 0) {
				if (cfd >= 0)
					close(cfd);
				continue;
			}
			conns[slot].fd[0] = cfd;
			conns[slot].fd[1] = sfd;
			total_opened++;
			write_stats();
		}
	}
	return 0;
}
