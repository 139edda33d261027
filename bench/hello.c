/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Baseline for the HTTP benchmarks: libmicrohttpd answering "hello" with the same threading
 * model as smswake-server (internal epoll, thread pool). Prints its port, runs until killed.
 *
 * The response is queued on the second call for a request, as smswake-server's handlers do:
 * libmicrohttpd 0.9.75 answers "Connection: close" to a response queued on the first call, and
 * a baseline that opens a TCP connection per request is several times too slow to compare a
 * keep-alive server against. bench/bench-http.sh refuses a baseline that closes. */
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **req_cls)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	static int seen; /* any non-NULL address marks the request as seen */
	(void)cls, (void)url, (void)method, (void)version, (void)upload_data;
	if (*req_cls == NULL) {
		*req_cls = &seen;
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		*upload_data_size = 0; /* a body is read and dropped */
		return MHD_YES;
	}
	/* One response per request, as a real handler makes (a shared one contends on its lock). */
	resp = MHD_create_response_from_buffer(5, (void *)"hello", MHD_RESPMEM_PERSISTENT);
	ret = MHD_queue_response(conn, 200, resp);
	MHD_destroy_response(resp);
	return ret;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 2;
	struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL,
						on_request, NULL, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads,
						MHD_OPTION_CONNECTION_LIMIT, 4096u, MHD_OPTION_END);
	sigset_t s;
	int sig;

	if (d == NULL)
		return 1;
	printf("%u\n", (unsigned)MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port);
	fflush(stdout);
	sigemptyset(&s);
	sigaddset(&s, SIGTERM);
	sigaddset(&s, SIGINT);
	sigprocmask(SIG_BLOCK, &s, NULL);
	sigwait(&s, &sig);
	MHD_stop_daemon(d);
	return 0;
}
