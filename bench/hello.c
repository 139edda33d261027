/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Baseline for the HTTP benchmarks: libmicrohttpd answering "hello" with the same threading
 * model as smswake-server (internal epoll, thread pool). Prints its port, runs until killed.
 *
 * The response is queued on the second call for a request, as smswake-server's handlers do:
 * libmicrohttpd 0.9.75 answers "Connection: close" to a response queued on the first call, and
 * a baseline that opens a TCP connection per request is several times too slow to compare a
 * keep-alive server against. bench/bench-http.sh refuses a baseline that closes.
 *
 * usage: hello [THREADS [GROUP_US]]. With GROUP_US, each request is suspended once it has been
 * read, as smswake-server suspends a durable write, and a second thread resumes every request
 * waiting in groups, GROUP_US microseconds after it takes them: the cost of libmicrohttpd's
 * suspend and resume plus a group commit's latency, with no work and no write. It is the
 * ceiling of a server built so, on this machine. */
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A request's state: read, waiting in the group, resumed. */
struct req {
	struct req *next;
	struct MHD_Connection *conn;
	int waited;
};

static pthread_mutex_t group_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t group_cond = PTHREAD_COND_INITIALIZER;
static struct req *waiting;
static long group_us;

static void *group_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&group_mu);
	for (;;) {
		struct req *g;

		while (waiting == NULL)
			pthread_cond_wait(&group_cond, &group_mu);
		g = waiting;
		waiting = NULL;
		pthread_mutex_unlock(&group_mu);
		usleep((useconds_t)group_us);
		while (g != NULL) {
			struct req *next = g->next;
			MHD_resume_connection(g->conn);
			g = next;
		}
		pthread_mutex_lock(&group_mu);
	}
	return NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **req_cls)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	struct req *r = *req_cls;
	(void)cls, (void)url, (void)method, (void)version, (void)upload_data;
	if (r == NULL) {
		r = calloc(1, sizeof(*r));
		if (r == NULL)
			return MHD_NO;
		r->conn = conn;
		*req_cls = r;
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		*upload_data_size = 0; /* a body is read and dropped */
		return MHD_YES;
	}
	if (group_us > 0 && !r->waited) {
		r->waited = 1;
		MHD_suspend_connection(conn);
		pthread_mutex_lock(&group_mu);
		r->next = waiting;
		waiting = r;
		pthread_cond_signal(&group_cond);
		pthread_mutex_unlock(&group_mu);
		return MHD_YES;
	}
	/* One response per request, as a real handler makes (a shared one contends on its lock). */
	resp = MHD_create_response_from_buffer(5, (void *)"hello", MHD_RESPMEM_PERSISTENT);
	ret = MHD_queue_response(conn, 200, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls, enum MHD_RequestTerminationCode toe)
{
	(void)cls, (void)conn, (void)toe;
	free(*req_cls);
	*req_cls = NULL;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 2;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;
	struct MHD_Daemon *d;
	pthread_t group;
	sigset_t s;
	int sig;

	group_us = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
	if (threads < 1 || group_us < 0 || group_us > 1000000) {
		fprintf(stderr, "usage: hello [THREADS [GROUP_US]]\n");
		return 2;
	}
	if (group_us > 0) {
		flags |= MHD_ALLOW_SUSPEND_RESUME;
		if (pthread_create(&group, NULL, group_main, NULL) != 0)
			return 1;
	}
	d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, NULL, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads,
			     MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_CONNECTION_LIMIT, 4096u,
			     MHD_OPTION_END);
	if (d == NULL)
		return 1;
	printf("%u\n", (unsigned)MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port);
	fflush(stdout);
	sigemptyset(&s);
	sigaddset(&s, SIGTERM);
	sigaddset(&s, SIGINT);
	sigprocmask(SIG_BLOCK, &s, NULL);
	sigwait(&s, &sig);
	/* Requests may still wait in a group: the process ends without stopping the daemon. */
	if (group_us == 0)
		MHD_stop_daemon(d);
	return 0;
}
